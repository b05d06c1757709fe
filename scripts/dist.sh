#!/usr/bin/env bash
# The binary to ship: a release build with its debug information split
# out. `target/dist/wasmtier` keeps its symbols (perf and backtraces name
# functions) but no DWARF; `target/dist/wasmtier.debug` holds the DWARF,
# found by debuggers and `perf` through the binary's GNU debuglink.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p wasmtier-cli "$@"
mkdir -p target/dist
cp target/release/wasmtier target/dist/wasmtier.full
objcopy --only-keep-debug target/dist/wasmtier.full target/dist/wasmtier.debug
objcopy --strip-debug --add-gnu-debuglink=target/dist/wasmtier.debug \
  target/dist/wasmtier.full target/dist/wasmtier
rm target/dist/wasmtier.full
ls -l target/dist/wasmtier target/dist/wasmtier.debug
