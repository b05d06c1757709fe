#!/usr/bin/env python3
"""Builds the low-memory wasmtier: interpreter only, size profile, static
non-PIE, with the code a run actually executes laid out together.

    python3 scripts/build-lowmem.py            # -> target/x86_64-unknown-linux-gnu/release-small/wasmtier

Why: peak RSS of a small guest is mostly the binary's own pages, and the
kernel maps file pages in 64 KiB "fault-around" blocks. Code executed on a run
is scattered across the whole .text, so nearly every block of it ends up
resident. This script

  1. links the binary once with symbols (lld, static, non-PIE),
  2. runs a few small guests under valgrind's lackey tool, which reports every
     instruction and data address touched,
  3. writes the touched symbols, in first-touch order, to an ordering file,
  4. links again with `--symbol-ordering-file`, so that code is contiguous.

The link steps only redo the final crate (LTO + link, ~20 s on one core);
dependencies stay cached. x86-64 only (valgrind traces the binary on the
host); it says so when given another target triple. Needs: x86-64 Linux with glibc's static libraries,
ld.lld, valgrind, clang for wasm32-wasi (the benches' workloads), nm. A symbol
that is missing from a later build is skipped, so a stale ordering costs
memory, never correctness. See engine-interp/RATIONALE.md, "Low-memory build".
"""

import bisect
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = "x86_64-unknown-linux-gnu"
OUT = ROOT / "target" / TARGET / "release-small" / "wasmtier"
WORK = ROOT / "target" / "lowmem-layout"
# Small runs that cover start-up, WASI output, the interpreter's common
# handlers, memory growth (sieve outgrows the initial 128 KiB) and calls:
# (workload, arguments).
PROFILE_RUNS = [("hello", []), ("sieve", ["200000", "1"]), ("fib", ["15", "12"])]
# glibc picks string routines by CPU at start-up (IFUNC), and valgrind's CPU
# lacks AVX-512, so a traced run may execute `__memchr_avx2` where a native
# one runs `__memchr_evex`: every variant of a traced routine is kept together.
IFUNC_VARIANT = re.compile(r"^(__\w+?)_(sse2|ssse3|sse4_[12]|avx|avx2|evex|avx512)(_|$)")


def cargo(extra):
    env = dict(os.environ)
    env["RUSTFLAGS"] = "-C target-feature=+crt-static -C relocation-model=static"
    env.setdefault("CARGO_BUILD_JOBS", "1")
    cmd = [
        "cargo", "rustc", "--profile", "release-small", "--target", TARGET,
        "-p", "wasmtier-cli", "--no-default-features", "--features", "interp",
        "--bin", "wasmtier", "--", "-C", "link-arg=-fuse-ld=lld", *extra,
    ]
    subprocess.run(cmd, cwd=ROOT, env=env, check=True)


def build_workload(name):
    wasm = WORK / f"{name}.wasm"
    source = ROOT / "benches" / "workloads" / f"{name}.c"
    subprocess.run(
        ["clang", "--target=wasm32-wasi", "-O2", "-o", str(wasm), str(source)], check=True
    )
    return wasm


def symbols(binary):
    """(start, end, name) of every sized symbol, sorted by address."""
    out = subprocess.run(
        ["nm", "-n", "-S", "--defined-only", str(binary)],
        capture_output=True, text=True, check=True,
    ).stdout
    syms = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4 and int(parts[1], 16) > 0:
            start = int(parts[0], 16)
            syms.append((start, start + int(parts[1], 16), parts[3]))
    syms.sort()
    return syms


def touched(binary, wasm, args, syms, starts, seen, order):
    """Appends the symbols a traced run touches, in first-touch order."""
    with tempfile.NamedTemporaryFile(dir=WORK, suffix=".lackey") as log:
        subprocess.run(
            ["valgrind", "--tool=lackey", "--trace-mem=yes", f"--log-file={log.name}",
             str(binary), "run", "--low-memory", str(wasm), "--", *args],
            cwd=WORK, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
        )
        with open(log.name) as lines:
            for line in lines:
                parts = line.split()
                # "I  addr,size" for instructions, " L|S|M addr,size" for data.
                if len(parts) != 2 or parts[0] not in ("I", "L", "S", "M"):
                    continue
                addr = int(parts[1].split(",")[0], 16)
                i = bisect.bisect_right(starts, addr) - 1
                if i >= 0 and addr < syms[i][1] and syms[i][2] not in seen:
                    seen.add(syms[i][2])
                    order.append(syms[i][2])


def with_ifunc_variants(order, syms):
    names = [s[2] for s in syms]
    extended, seen = [], set()
    for name in order:
        group = [name]
        match = IFUNC_VARIANT.match(name)
        if match:
            stem = match.group(1) + "_"
            group += [n for n in names if n.startswith(stem) and IFUNC_VARIANT.match(n)]
        for n in group:
            if n not in seen:
                seen.add(n)
                extended.append(n)
    return extended


def main():
    if len(sys.argv) > 1 and sys.argv[1] != TARGET:
        # The layout is traced with valgrind on the host, running the binary
        # it lays out: only possible for the host's own target.
        sys.exit(
            f"build-lowmem: the layout step is x86-64 only (asked for {sys.argv[1]}); "
            "for armv7 or aarch64 boards build the plain small binary: "
            "source scripts/cross.sh && xcargo armv7 build --profile release-small "
            "-p wasmtier-cli --no-default-features --features interp"
        )
    for tool in ("ld.lld", "valgrind", "clang", "nm"):
        if shutil.which(tool) is None:
            sys.exit(f"build-lowmem: `{tool}` not found on PATH")
    WORK.mkdir(parents=True, exist_ok=True)
    print("build-lowmem: linking a profiling binary (with symbols)", flush=True)
    cargo(["-C", "strip=none"])
    profiled = WORK / "wasmtier-profile"
    shutil.copy2(OUT, profiled)
    syms = symbols(profiled)
    starts = [s[0] for s in syms]
    seen, order = set(), []
    for name, args in PROFILE_RUNS:
        print(f"build-lowmem: tracing {name} {' '.join(args)}", flush=True)
        touched(profiled, build_workload(name), args, syms, starts, seen, order)
    order = with_ifunc_variants(order, syms)
    ordering = WORK / "symbol-order.txt"
    ordering.write_text("\n".join(order) + "\n")
    print(f"build-lowmem: {len(order)} symbols first; linking {OUT}", flush=True)
    cargo([
        "-C", f"link-arg=-Wl,--symbol-ordering-file={ordering}",
        "-C", "link-arg=-Wl,--no-warn-symbol-ordering",
    ])
    print(f"build-lowmem: {OUT} ({OUT.stat().st_size / 2**20:.2f} MiB)")


if __name__ == "__main__":
    main()
