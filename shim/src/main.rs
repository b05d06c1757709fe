//! `containerd-shim-wasmtier-v1`: containerd's runtime v2 shim for WASI
//! modules, built on runwasi's `containerd-shim-wasm`. containerd starts it
//! for a container whose runtime is `io.containerd.wasmtier.v1`; runwasi's
//! library sets the container up (namespaces, cgroups, the image's rootfs
//! as `/`, stdio) and hands the module to [`sandbox::WasmtierSandbox`],
//! which runs it with the same loader, engines and WASI layer as
//! `wasmtier run`.

#[cfg(target_os = "linux")]
mod cache;
#[cfg(target_os = "linux")]
mod sandbox;

#[cfg(target_os = "linux")]
fn main() {
    use containerd_shim_wasm::shim::Cli;
    // Before any container exists: its process inherits the descriptor.
    cache::open_host_dir();
    sandbox::WasmtierShim::run(None);
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("containerd-shim-wasmtier-v1 runs on Linux only");
    std::process::exit(1);
}
