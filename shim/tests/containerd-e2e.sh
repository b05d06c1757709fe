#!/usr/bin/env bash
# End-to-end test of containerd-shim-wasmtier-v1 with a real containerd:
# Debian's containerd runs as a plain process with its own root, state and
# socket in a temporary directory (stopped and removed at the end); an OCI
# image made here (oci_image.py) holds a WASI program and a file; `ctr`
# imports it and runs it through the shim, and the output, the exit status,
# the engine choice, a trap, `ctr task kill` and deletion are checked.
#
#   shim/tests/containerd-e2e.sh    (as root, after
#                                    cargo build --release -p wasmtier-shim)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
shim_dir="${SHIM_DIR:-$root/target/release}"
here="$root/shim/tests"
[ -x "$shim_dir/containerd-shim-wasmtier-v1" ] \
    || { echo "no $shim_dir/containerd-shim-wasmtier-v1: cargo build --release -p wasmtier-shim" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "containerd-e2e: needs root (containerd sets up namespaces and mounts)" >&2; exit 1; }
need=()
command -v containerd >/dev/null || need+=(containerd)
command -v clang >/dev/null || need+=(clang lld wasi-libc libclang-rt-14-dev-wasm32)
if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

work=$(mktemp -d /tmp/wasmtier-containerd.XXXXXX)
containerd_pid=""
cleanup() {
    if [ -n "$containerd_pid" ]; then
        kill "$containerd_pid" 2>/dev/null || true
        wait "$containerd_pid" 2>/dev/null || true
    fi
    # Snapshots and task state may still be mounted under the root.
    grep -o " $work[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
    [ -n "${KEEP_WORK:-}" ] && echo "kept $work" >&2 || rm -rf "$work"
}
trap cleanup EXIT

cat > "$work/config.toml" <<TOML
version = 2
root = "$work/root"
state = "$work/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs"]
[grpc]
  address = "$work/containerd.sock"
[ttrpc]
  address = "$work/containerd.sock.ttrpc"
[debug]
  address = "$work/debug.sock"
[metrics]
  address = ""
TOML
# containerd finds `containerd-shim-<name>-v1` on its PATH; the shim
# inherits containerd's environment (its AOT cache goes under $work).
PATH="$shim_dir:$PATH" WASMTIER_SHIM_CACHE_DIR="$work/aot-cache" setsid containerd --config "$work/config.toml" >"$work/containerd.log" 2>&1 &
containerd_pid=$!
ctr() { command ctr --address "$work/containerd.sock" "$@"; }
for _ in $(seq 100); do ctr version >/dev/null 2>&1 && break; sleep 0.1; done
ctr version >/dev/null || { cat "$work/containerd.log" >&2; echo "containerd did not start" >&2; exit 1; }

clang --target=wasm32-wasi -O2 -o "$work/hello.wasm" "$here/hello.c"
echo "read from the image's rootfs" > "$work/message.txt"
python3 "$here/oci_image.py" "$work/hello.tar" docker.io/wasmtier/hello:test /hello.wasm \
    "$work/hello.wasm=/hello.wasm" "$work/message.txt=/message.txt"
ctr image import --snapshotter native "$work/hello.tar" >/dev/null

failures=0
check() { # what expected actual
    if [ "$2" == "$3" ]; then echo "ok: $1"; else
        echo "FAILED: $1"; echo "  expected: $(printf %q "$2")"; echo "  got:      $(printf %q "$3")"
        failures=$((failures + 1)); fi
}
run_container() { # id args...: stdout in $out, status in $status
    local id=$1; shift
    set +e
    out=$(ctr run --rm --snapshotter native --runtime io.containerd.wasmtier.v1 "$@" 2>"$work/$id.err")
    status=$?
    set -e
}

expected="hello from a wasmtier container
message: read from the image's rootfs
GREETING=hi
args: one 7"
for engine in "" jit aot interp; do
    env_args=(--env GREETING=hi)
    [ -n "$engine" ] && env_args+=(--env "WASMTIER_ENGINE=$engine")
    run_container "hello-${engine:-default}" "${env_args[@]}" docker.io/wasmtier/hello:test \
        "hello-${engine:-default}" /hello.wasm one 7
    check "output (engine ${engine:-default})" "$expected" "$out"
    check "exit status (engine ${engine:-default})" 7 "$status"
done

# The aot engine compiled into the shim's cache once: the second aot
# container loaded that artifact (one entry, written by the first).
check "one cache entry for the aot runs" 1 "$(ls "$work/aot-cache" | grep -c '\.cwasm$')"
run_container hello-aot-again --env WASMTIER_ENGINE=aot docker.io/wasmtier/hello:test \
    hello-aot-again /hello.wasm 0
check "a third aot container still runs from the cache" 0 "$status"
check "... without another entry" 1 "$(ls "$work/aot-cache" | grep -c '\.cwasm$')"

# Native code inside an image is refused, as `wasmtier run` refuses it
# without --allow-precompiled (runwasi's check that the entrypoint is a
# module already turns it away: "can't handle spec").
if [ -x "$shim_dir/wasmtier" ]; then
    "$shim_dir/wasmtier" compile -o "$work/hello.cwasm" "$work/hello.wasm"
    python3 "$here/oci_image.py" "$work/native.tar" docker.io/wasmtier/native:test /hello.cwasm \
        "$work/hello.cwasm=/hello.cwasm" "$work/message.txt=/message.txt"
    ctr image import --snapshotter native "$work/native.tar" >/dev/null
    run_container native docker.io/wasmtier/native:test native /hello.cwasm 0
    check "an image's precompiled artifact is refused" 1 "$((status != 0))"
    grep -q "can't handle spec" "$work/native.err" \
        && echo "ok: the refusal says why" \
        || { echo "FAILED: no refusal message for the artifact"; failures=$((failures + 1)); }
fi

run_container bad-engine --env WASMTIER_ENGINE=warp docker.io/wasmtier/hello:test bad-engine /hello.wasm
check "an unknown engine fails the container" 1 "$((status != 0))"
grep -q "WASMTIER_ENGINE=warp: no such engine" "$work/containerd.log" "$work/bad-engine.err" \
    && echo "ok: the unknown engine is named" \
    || { echo "FAILED: no message naming WASMTIER_ENGINE=warp"; failures=$((failures + 1)); }

# A guest that spins for ever (the text format: the shim, like `wasmtier
# run`, reads both): `ctr task kill` stops it, and the stopped container
# deletes cleanly.
python3 "$here/oci_image.py" "$work/spin.tar" docker.io/wasmtier/spin:test /spin.wat \
    "$here/spin.wat=/spin.wat"
ctr image import --snapshotter native "$work/spin.tar" >/dev/null
ctr run -d --snapshotter native --runtime io.containerd.wasmtier.v1 \
    docker.io/wasmtier/spin:test spin >/dev/null
for _ in $(seq 100); do
    [ "$(ctr task ls | awk '$1 == "spin" {print $3}')" == RUNNING ] && break; sleep 0.1
done
check "the spinning task runs" RUNNING "$(ctr task ls | awk '$1 == "spin" {print $3}')"
ctr task kill --signal SIGKILL spin
for _ in $(seq 100); do
    [ "$(ctr task ls | awk '$1 == "spin" {print $3}')" == STOPPED ] && break; sleep 0.1
done
check "ctr task kill stops it" STOPPED "$(ctr task ls | awk '$1 == "spin" {print $3}')"
ctr task delete spin >/dev/null
ctr container delete spin
check "the container is gone" "" "$(ctr container ls -q | grep -x spin || true)"

# `BENCH=N`: start-up of N containers of a cached module (aot, from the
# shim's cache), interleaved with N runs of the same module by `wasmtier
# run --engine aot` from its cache (what the shim adds: containerd, the
# shim process, the container's namespaces and mounts); one unmeasured run
# of each fills the caches first. Medians in seconds.
if [ -n "${BENCH:-}" ]; then
    mkdir -p "$work/rootfs"
    cp "$work/hello.wasm" "$work/message.txt" "$work/rootfs/"
    python3 - "$BENCH" "$work" "$shim_dir/wasmtier" <<'PY'
import statistics, subprocess, sys, time
n, work, wasmtier = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctr = ["ctr", "--address", f"{work}/containerd.sock"]
def container(i):
    subprocess.run(ctr + ["run", "--rm", "--snapshotter", "native", "--runtime",
        "io.containerd.wasmtier.v1", "--env", "WASMTIER_ENGINE=aot",
        "docker.io/wasmtier/hello:test", f"bench-{i}", "/hello.wasm", "0"],
        check=True, stdout=subprocess.DEVNULL)
def direct(i):
    subprocess.run([wasmtier, "run", "--engine", "aot", "--cache-dir", f"{work}/run-cache",
        "--dir", f"{work}/rootfs::/", f"{work}/rootfs/hello.wasm", "0"],
        check=True, stdout=subprocess.DEVNULL)
container("warm-up"); direct("warm-up")
times = {"container": [], "run": []}
for i in range(n):
    for name, f in (("container", container), ("run", direct))[:: 1 if i % 2 == 0 else -1]:
        t = time.perf_counter(); f(i); times[name].append(time.perf_counter() - t)
c, r = statistics.median(times["container"]), statistics.median(times["run"])
print(f"bench: ctr run (shim, aot from its cache) median {c:.3f} s (min {min(times['container']):.3f}, max {max(times['container']):.3f}); "
      f"wasmtier run --engine aot (cached) median {r:.3f} s (min {min(times['run']):.3f}, max {max(times['run']):.3f}); "
      f"shim overhead {c - r:.3f} s over {n} interleaved runs each")
PY
fi

if [ "$failures" -gt 0 ]; then
    echo "containerd-e2e: $failures check(s) failed" >&2
    for err in "$work"/*.err; do
        [ -s "$err" ] && { echo "--- stderr of ctr run ($(basename "$err" .err)):" >&2; cat "$err" >&2; }
    done
    echo "--- containerd's log (errors):" >&2
    grep -iE "level=(error|fatal)|panic" "$work/containerd.log" | tail -20 >&2
    exit 1
fi
echo "containerd-e2e: all checks passed"
