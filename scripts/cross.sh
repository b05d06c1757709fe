#!/usr/bin/env bash
# Cross-building wasmtier for Raspberry Pi class hosts on an x86-64 Debian 12
# machine, with Debian packages only (rustup cannot add targets here):
#   - Debian's rustc 1.96 (rustc-web) and its std sources (rust-web-src):
#     `cargo -Zbuild-std` builds std for the target (RUSTC_BOOTSTRAP=1 allows
#     -Z on a stable rustc);
#   - gcc cross linkers and glibc for aarch64 (64-bit Pi OS) and armhf
#     (32-bit Pi OS);
#   - qemu-user, which runs the target's binaries (and the JIT's code).
#
#   source scripts/cross.sh          # installs what is missing, defines xcargo
#   xcargo aarch64 build --release -p wasmtier-cli
#   xcargo aarch64 test --release -p wasmtier-spec-tests    # runs under qemu-aarch64
#   xcargo armv7 test --release -p wasmtier-cli --no-default-features --features interp
#
# Outputs go to target/cross (XCARGO_TARGET_DIR overrides). The workspace
# itself keeps building with the rustup toolchain (rust-version 1.95).
set -u
_xpkgs=()
[ -x /usr/bin/rustc ] && /usr/bin/rustc --version 2>/dev/null | grep -q '^rustc 1\.9[6-9]' \
    || _xpkgs+=(rustc-web cargo-web)
[ -d /usr/lib/rustlib/src/rust/library ] || _xpkgs+=(rust-web-src)
command -v aarch64-linux-gnu-gcc >/dev/null || _xpkgs+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
command -v arm-linux-gnueabihf-gcc >/dev/null || _xpkgs+=(gcc-arm-linux-gnueabihf libc6-dev-armhf-cross)
command -v qemu-aarch64 >/dev/null || _xpkgs+=(qemu-user)
[ -f /usr/lib/binfmt.d/qemu-aarch64.conf ] || _xpkgs+=(qemu-user-binfmt)
if [ ${#_xpkgs[@]} -gt 0 ]; then
    echo "cross setup: installing ${_xpkgs[*]}" >&2
    _sudo=""
    [ "$(id -u)" -eq 0 ] || _sudo="sudo"
    $_sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $_sudo apt-get install -y -qq "${_xpkgs[@]}" >/dev/null
    unset _sudo
fi
unset _xpkgs

# Test binaries run the CLI binary they test: the kernel must hand foreign
# ELF files to qemu itself (binfmt_misc; QEMU_LD_PREFIX, set by xcargo,
# points qemu at the target's libraries).
if [ -d /proc/sys/fs/binfmt_misc ] && [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null \
        || echo "cross setup: cannot mount binfmt_misc; CLI tests cannot start target binaries" >&2
fi
for _conf in qemu-aarch64 qemu-arm; do
    if [ -e /proc/sys/fs/binfmt_misc/register ] && [ ! -e "/proc/sys/fs/binfmt_misc/$_conf" ] \
        && [ -f "/usr/lib/binfmt.d/$_conf.conf" ]; then
        cat "/usr/lib/binfmt.d/$_conf.conf" > /proc/sys/fs/binfmt_misc/register 2>/dev/null \
            || echo "cross setup: cannot register $_conf with binfmt_misc" >&2
    fi
done
unset _conf

# xcargo aarch64|armv7 CARGO-ARGS...: Debian's cargo and rustc, std built
# from source (with panic_abort too, for the release-small profile), the
# target's gcc as linker and qemu as the runner.
xcargo() {
    local arch=$1; shift
    local triple linker qemu sysroot
    case "$arch" in
        aarch64) triple=aarch64-unknown-linux-gnu; linker=aarch64-linux-gnu-gcc
                 qemu=qemu-aarch64; sysroot=/usr/aarch64-linux-gnu ;;
        armv7)   triple=armv7-unknown-linux-gnueabihf; linker=arm-linux-gnueabihf-gcc
                 qemu=qemu-arm; sysroot=/usr/arm-linux-gnueabihf ;;
        *) echo "xcargo: aarch64 or armv7" >&2; return 2 ;;
    esac
    local tvar; tvar=$(echo "$triple" | tr 'a-z-' 'A-Z_')
    env PATH="/usr/bin:/bin:$PATH" RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1 \
        "CARGO_TARGET_${tvar}_LINKER=$linker" \
        "CARGO_TARGET_${tvar}_RUNNER=$qemu -L $sysroot" \
        QEMU_LD_PREFIX="$sysroot" WASMTIER_TEST_EMULATOR="$qemu" \
        CARGO_TARGET_DIR="${XCARGO_TARGET_DIR:-target/cross}" \
        /usr/bin/cargo "$1" -Zbuild-std=std,panic_abort --target "$triple" "${@:2}"
}
