#!/usr/bin/env bash
# Builds the guest to OUT (default: ./panic-unwind.wasm), cargo's outputs in
# TARGET_DIR (default: next to OUT), with Debian's Rust 1.96 (rustc-web,
# LLVM 22: emits exnref exception handling when told to), std from source
# with unwinding, linked against Debian's wasi-libc.
#   build.sh [OUT [TARGET_DIR]]
# Installs what is missing first (rustc-web cargo-web rust-web-src lld wasi-libc).
set -euo pipefail
out=$(realpath -m "${1:-panic-unwind.wasm}")
guest_target=$(realpath -m "${2:-$(dirname "$out")/panic-unwind-target}")
cd "$(dirname "$0")"
need=()
/usr/bin/rustc --version 2>/dev/null | grep -q '^rustc 1\.9[6-9]' || need+=(rustc-web cargo-web)
[ -d /usr/lib/rustlib/src/rust/library ] || need+=(rust-web-src)
command -v wasm-ld >/dev/null || need+=(lld)
[ -f /usr/lib/wasm32-wasi/libc.a ] || need+=(wasi-libc)
if [ ${#need[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi
export PATH="/usr/bin:/bin:$PATH" RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1
# Never an inherited CARGO_TARGET_DIR: under `xcargo` that is a relative
# path, which after the `cd` above would land in this source tree.
export CARGO_TARGET_DIR="$guest_target"
export CARGO_TARGET_WASM32_WASIP1_LINKER=wasm-ld
# -wasm-use-legacy-eh=false: without it LLVM emits the legacy try/catch
# instructions, which wasmtier does not run.
export RUSTFLAGS="-C panic=unwind -C target-feature=+exception-handling \
 -C llvm-args=-wasm-use-legacy-eh=false \
 -C link-self-contained=no -L native=/usr/lib/wasm32-wasi \
 -C link-arg=/usr/lib/wasm32-wasi/crt1-command.o -C link-arg=-lc"
/usr/bin/cargo build --quiet --release --locked -Zbuild-std=std,panic_unwind --target wasm32-wasip1
cp "$CARGO_TARGET_DIR/wasm32-wasip1/release/panic-unwind.wasm" "$out"
