#!/usr/bin/env bash
# The Raspberry Pi targets' tests under qemu (scripts/cross.sh): each
# target's test binaries are built once, then run.
#   aarch64 (Pi 4/5, 64-bit Pi OS): every engine. The spec suite runs one
#     file per process: qemu-user 7.2 keeps bookkeeping for every guest page
#     a mapping ever covered (about 100 MB per 8 GiB linear-memory
#     reservation), so one process running the whole suite needs tens of GiB.
#   armv7 (Pi Zero 2/3, 32-bit Pi OS): the interpreter-only build.
#   small: armv7's size build (release-small); not run by default.
# Usage: scripts/cross-test.sh [aarch64|armv7|small]...   (default: aarch64 armv7)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/cross.sh

# Each phase's start with the seconds since this script began, so CI's log
# tells where the time went.
phase() { echo "== cross-test.sh, ${SECONDS}s: $*"; }

# Builds every test binary of `xcargo TARGET test ARGS` in one cargo run
# (one feature set: a second run selecting other packages would rebuild most
# dependencies) and prints one line per binary:
# "PACKAGE-DIR EXECUTABLE NAME PACKAGE-NAME PACKAGE-VERSION".
test_binaries() {
    local target=$1; shift
    xcargo "$target" test --release --no-run --message-format=json-render-diagnostics "$@" \
        | python3 -c '
import json, os, sys
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["profile"]["test"]:
        # package_id: "path+file:///…/cli#wasmtier-cli@0.1.0"
        package, _, version = m["package_id"].rpartition("#")[2].partition("@")
        print(os.path.dirname(m["manifest_path"]), m["executable"], m["target"]["name"],
              package, version)
'
}

# Runs the test binaries listed (test_binaries' lines) whose package
# directory ends in one of the given names, each as `cargo test` would: in
# its package's directory, with the variables cargo sets for a test run,
# under qemu.
run_binaries() {
    local arch=$1 runner=$2 list=$3; shift 3
    local dir exe name package version
    while read -r dir exe name package version; do
        [[ " $* " == *" ${dir##*/} "* ]] || continue
        echo "-- $package: $name"
        (cd "$dir" && env CARGO_MANIFEST_DIR="$dir" CARGO_MANIFEST_PATH="$dir/Cargo.toml" \
            CARGO_PKG_NAME="$package" CARGO_PKG_VERSION="$version" \
            CARGO_CRATE_NAME="${name//-/_}" CARGO_PRIMARY_PACKAGE=1 \
            WASMTIER_TEST_EMULATOR="${runner%% *}" QEMU_LD_PREFIX="/usr/$arch" \
            $runner "$exe" --quiet)
    done <<< "$list"
}

# Runs every trial of a libtest binary in its own process, two at a time;
# fails if any does.
each_trial() {
    local runner=$1 binary=$2
    local list failed
    list=$(mktemp); failed=$(mktemp)
    $runner "$binary" --list 2>/dev/null | sed -n 's/: test$//p' | grep -v -E "${SKIP_TRIALS:-^$}" > "$list"
    echo "$(wc -l < "$list") trials, one process each"
    xargs -P 2 -I{} sh -c "$runner '$binary' --exact '{}' --quiet >/dev/null 2>&1 || echo '{}'" \
        < "$list" > "$failed" || true
    if [ -s "$failed" ]; then
        echo "failed trials:"; cat "$failed"
        for trial in $(head -3 "$failed"); do $runner "$binary" --exact "$trial" || true; done
        rm -f "$list" "$failed"
        return 1
    fi
    rm -f "$list" "$failed"
}

run_aarch64() {
    local qemu="qemu-aarch64 -L /usr/aarch64-linux-gnu"
    phase "aarch64: building the test binaries"
    local binaries spec
    binaries=$(test_binaries aarch64 -p wasmtier-spec-tests -p wasmtier-engines \
        -p wasmtier-engine-jit -p wasmtier-cli)
    spec=$(awk '$3 == "spec" { print $2 }' <<< "$binaries")
    phase "aarch64: spec suite, the compiled tiers"
    # jit and aot. The lazy JIT's configurations (concurrent, tiered, baseline-only)
    # run the suite on x86-64; here the engine's and the CLI's tiering tests
    # cover them, which keeps this step's qemu time down. (What is
    # CPU-specific in them, flushing the instruction cache for code written
    # late, qemu could not show wrong anyway: it retranslates code that is
    # written.) The interpreter, wasmi, has no code of its own per CPU: it
    # runs the suite on x86-64, and on armv7 below, the 32-bit host.
    (cd spec-tests && SKIP_TRIALS='^(jit-concurrent|jit-baseline|jit-tiered|interp)::' each_trial "$qemu" "$spec")
    phase "aarch64: engine and CLI tests"
    if [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
        run_binaries aarch64-linux-gnu "$qemu" "$binaries" engines engine-jit cli
        local arm host benches scratch
        arm=$(realpath target/cross/aarch64-unknown-linux-gnu/release/wasmtier)
        host=target/release/wasmtier
        benches=target/release/wasmtier-benches
        # scripts/test.sh built both with the whole workspace; on their own
        # they take a build each.
        [ -x "$host" ] || cargo build --release -p wasmtier-cli
        [ -x "$benches" ] || cargo build --release -p wasmtier-benches
        phase "aarch64: hello, the benchmark smoke run, and an artifact made on x86-64"
        export QEMU_LD_PREFIX=/usr/aarch64-linux-gnu
        "$arm" run examples/hello.wat
        "$benches" --smoke --wasmtier "$arm"
        scratch=$(mktemp -d)
        "$host" compile --target aarch64-unknown-linux-gnu benches/workloads/throwcatch.wat \
            -o "$scratch/throwcatch.cwasm"
        "$arm" run --allow-precompiled "$scratch/throwcatch.cwasm" 20000 > "$scratch/aot.out"
        "$arm" run --engine jit benches/workloads/throwcatch.wat 20000 > "$scratch/jit.out"
        diff "$scratch/aot.out" "$scratch/jit.out"
        echo "x86-64 artifact on aarch64: $(cat "$scratch/aot.out"), as the aarch64 JIT"
        rm -rf "$scratch"
    else
        # The CLI's tests start the binary under test, which needs the kernel
        # to hand aarch64 programs to qemu.
        echo "skipping the CLI tests: this kernel cannot start aarch64 programs (no binfmt_misc)"
        run_binaries aarch64-linux-gnu "$qemu" "$binaries" engines engine-jit
    fi
}

# `small`: the interpreter-only size build a board ships (`release-small`:
# panic=abort, LTO, stripped) for armv7 runs hello in low-memory mode, and its
# size is reported. Not in CI's default run: building std and every
# dependency once more, with LTO, took it eight minutes (and six more for
# aarch64), a quarter of the time left under CI's limit.
run_small() {
    local qemu="qemu-arm -L /usr/arm-linux-gnueabihf"
    phase "armv7: the small build"
    xcargo armv7 build --profile release-small -p wasmtier-cli --no-default-features --features interp
    local small="target/cross/armv7-unknown-linux-gnueabihf/release-small/wasmtier"
    $qemu "$small" run --low-memory examples/hello.wat
    echo "armv7 release-small: $(stat -c %s "$small") bytes"
}

run_armv7() {
    local qemu="qemu-arm -L /usr/arm-linux-gnueabihf"
    phase "armv7: interpreter-only build, spec and CLI tests"
    local binaries
    binaries=$(test_binaries armv7 -p wasmtier-spec-tests -p wasmtier-cli \
        --no-default-features --features wasmtier-cli/interp)
    if [ -e /proc/sys/fs/binfmt_misc/qemu-arm ]; then
        run_binaries arm-linux-gnueabihf "$qemu" "$binaries" spec-tests cli
    else
        echo "skipping the CLI tests: this kernel cannot start armv7 programs (no binfmt_misc)"
        run_binaries arm-linux-gnueabihf "$qemu" "$binaries" spec-tests
    fi
}

for target in "${@:-aarch64 armv7}"; do
    for t in $target; do "run_$t"; done
done
