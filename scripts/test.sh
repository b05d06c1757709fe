#!/usr/bin/env bash
# The whole test run, on a fresh machine or this one: installs what the
# tests need and is missing (Debian packages for the C → wasm32-wasi test
# programs and benchmark workloads), then runs every check CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."

# Some sandboxes hand out /dev/null as a plain file. Everything that writes
# "to nowhere" then fills it, and cargo's target probe (`rustc -`, stdin from
# /dev/null) compiles what it holds: CI failed twice that way. Put the device
# back when we can.
if [ ! -c /dev/null ]; then
  if [ "$(id -u)" -eq 0 ] && rm -f /dev/null && mknod -m 666 /dev/null c 1 3; then
    echo "/dev/null was a plain file: replaced by the null device"
  else
    echo "warning: /dev/null is not the null device and cannot be replaced here" >&2
  fi
fi

need_pkgs=()
command -v clang >/dev/null || need_pkgs+=(clang)
command -v wasm-ld >/dev/null || need_pkgs+=(lld)
[ -f /usr/lib/wasm32-wasi/libc.a ] || need_pkgs+=(wasi-libc)
ls /usr/lib/llvm-14/lib/clang/14*/lib/wasi/libclang_rt.builtins-wasm32.a >/dev/null 2>&1 \
  || need_pkgs+=(libclang-rt-14-dev-wasm32)
# The containerd shim: runwasi's client generates code with protoc, youki
# links libseccomp; the end-to-end test runs Debian's containerd.
command -v protoc >/dev/null || need_pkgs+=(protobuf-compiler)
[ -f /usr/include/seccomp.h ] || need_pkgs+=(libseccomp-dev)
# libseccomp's build script asks pkg-config for the library's version;
# without it libcontainer fails to compile (`get_notify_fd` not found).
command -v pkg-config >/dev/null || need_pkgs+=(pkg-config)
command -v containerd >/dev/null || need_pkgs+=(containerd)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  echo "installing: ${need_pkgs[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq "${need_pkgs[@]}"
fi

# Each phase's start, with the seconds since this script began and the disk
# space left: CI's log then tells where the time and the space went.
step() { echo "== test.sh, ${SECONDS}s, $(df -h --output=avail . | tail -1 | tr -d ' ') free: $*"; }

# The test builds carry no debug information. Line tables and their .dwp
# packages made every test binary three to four times larger (about 20 MB
# of code, 35 MB of line tables, 40 MB of .dwp), and a fresh clone's run
# writes dozens of them for three targets: CI once ran out of disk in the
# last phase (the linker died with SIGBUS). The release profile itself
# keeps them for profilers and panic backtraces.
export CARGO_PROFILE_RELEASE_DEBUG=false
export CARGO_PROFILE_RELEASE_SPLIT_DEBUGINFO=off

step "format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --release -- -D warnings
# The embedding API documents every public item, with no broken links.
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps -p wasmtier

# Everything the workspace builds, once, with one feature set: the tests,
# the benchmark harness and the containerd shim. (Each `cargo run -p` or
# `cargo build -p` of a single package would resolve features for that
# package alone and rebuild Cranelift, wasmtime-wasi and their dependents:
# CI spent 13 minutes on those rebuilds.)
step "build"
cargo build --workspace --release --all-targets

# The workspace tests. They include fuzz-diff's bounded differential
# replay (fixed seeds, every engine), the damaged-module and damaged-
# artifact corpora, and the edge cases (huge memories, bulk operations
# under fuel, deadlines).
step "workspace tests"
cargo test --workspace --release

# Benchmark smoke: every workload once, small, on every engine; checksums must
# match the native build. The CLI binary is the one built above.
step "benchmark smoke"
target/release/wasmtier-benches --smoke

# The containerd shim's end-to-end test with a private containerd (it sets
# up namespaces and mounts: root only).
step "containerd shim"
if [ "$(id -u)" -eq 0 ]; then
  shim/tests/containerd-e2e.sh
else
  echo "containerd-e2e: skipped (needs root)"
fi

# Raspberry Pi targets under qemu (Debian's cross toolchains; installs what is
# missing): aarch64 runs the spec suite on the compiled tiers and the engine and CLI
# tests; armv7 the interpreter-only build's CLI and spec tests (the build
# small boards run; its tests no longer run a second time on x86-64, where
# they took ten minutes, most of it building).
step "Raspberry Pi targets"
scripts/cross-test.sh
# CI (.ci/run) drops the cross builds once their tests passed: nothing
# after this reads them, and they are the largest part of the target
# directory. A local run keeps them for the next one.
if [ -n "${WASMTIER_TEST_PRUNE:-}" ]; then
  rm -rf target/cross
fi

step "all passed"
