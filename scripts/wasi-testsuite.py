#!/usr/bin/env python3
"""Runs the official WASI preview1 test suite (WebAssembly/wasi-testsuite,
its prebuilt `prod/testsuite-base` branch) through the `wasmtier` CLI.

The suite is not part of this repository; check it out anywhere and point
this script at it:

    scripts/wasi-testsuite.py /path/to/wasi-testsuite --engine jit
    scripts/wasi-testsuite.py /path/to/wasi-testsuite --engine interp --wasmtier target/release/wasmtier

It follows the suite's documented test specification (doc/specification.md):
every `*.wasm` under `tests/*/testsuite/wasm32-wasip1/` is a test; a `.json`
beside it gives args, env, a root directory to preopen as `/`, the expected
exit code and stdout, either directly (legacy form) or as `run` / `wait` /
`read` operations. `*.cleanup` leftovers are removed before each test.
"""

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path


def load_spec(wasm: Path) -> dict:
    path = wasm.with_suffix(".json")
    raw = json.loads(path.read_text()) if path.exists() else {}
    spec = {"args": [], "env": {}, "root": None, "exit_code": 0, "stdout": None, "stderr": None}
    if "operations" in raw:
        for op in raw["operations"]:
            kind = op.get("type")
            if kind == "run":
                spec.update({k: op[k] for k in ("args", "env", "root") if k in op})
            elif kind == "wait":
                spec["exit_code"] = op.get("exit_code", 0)
            elif kind == "read":
                spec[op.get("id", "stdout")] = op.get("payload", "")
            else:
                spec["unsupported"] = kind
    else:
        spec.update({k: raw[k] for k in ("args", "env", "root", "exit_code", "stdout", "stderr") if k in raw})
    return spec


def remove_cleanups(directory: Path) -> None:
    for leftover in directory.rglob("*.cleanup"):
        if leftover.is_dir():
            shutil.rmtree(leftover)
        else:
            leftover.unlink()


def run_test(wasmtier: str, engine: str, wasm: Path, timeout: float) -> tuple[bool, str]:
    spec = load_spec(wasm)
    if "unsupported" in spec:
        return False, f"unsupported operation {spec['unsupported']!r}"
    remove_cleanups(wasm.parent)
    argv = [wasmtier, "run", f"--engine={engine}"]
    for key, value in spec["env"].items():
        argv += ["--env", f"{key}={value}"]
    if spec["root"]:
        argv += ["--dir", f"{spec['root']}::/"]
    argv += [str(wasm), "--", *spec["args"]]
    try:
        done = subprocess.run(argv, cwd=wasm.parent, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, f"timed out after {timeout} s"
    finally:
        remove_cleanups(wasm.parent)
    problems = []
    if done.returncode != spec["exit_code"]:
        problems.append(f"exit {done.returncode}, expected {spec['exit_code']}")
    if spec["stdout"] is not None and done.stdout != spec["stdout"]:
        problems.append(f"stdout {done.stdout!r}, expected {spec['stdout']!r}")
    if spec["stderr"] is not None and spec["stderr"] and done.stderr != spec["stderr"]:
        problems.append(f"stderr {done.stderr!r}, expected {spec['stderr']!r}")
    if problems and done.stderr:
        problems.append("stderr: " + done.stderr.strip().splitlines()[-1])
    return not problems, "; ".join(problems)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("suite", type=Path, help="a checkout of wasi-testsuite's prod/testsuite-base branch")
    parser.add_argument("--engine", default="jit")
    parser.add_argument("--wasmtier", default=str(Path(__file__).resolve().parent.parent / "target/release/wasmtier"))
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per test")
    args = parser.parse_args()

    tests = sorted(args.suite.glob("tests/*/testsuite/wasm32-wasip1/*.wasm"))
    if not tests:
        print(f"no tests under {args.suite}/tests/*/testsuite/wasm32-wasip1", file=sys.stderr)
        return 2
    failed = 0
    by_language: dict[str, list[int]] = {}
    for wasm in tests:
        language = wasm.parts[-4]
        ok, why = run_test(args.wasmtier, args.engine, wasm.resolve(), args.timeout)
        tally = by_language.setdefault(language, [0, 0])
        tally[0 if ok else 1] += 1
        if not ok:
            failed += 1
            print(f"FAIL {language}/{wasm.name}: {why}")
    for language, (passed, failing) in sorted(by_language.items()):
        print(f"{args.engine} {language}: {passed} passed, {failing} failed")
    print(f"{len(tests) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
