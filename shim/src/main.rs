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
    // runwasi's entry point unwraps its flag parser's result: a flag
    // containerd never passes would end in a panic. Refuse it here first.
    const USAGE: &str = "usage: containerd-shim-wasmtier-v1 [-v] [-debug] [-namespace NS] [-id ID] \
        [-address ADDR] [-publish-binary PATH] [-bundle DIR] [-socket PATH] [start|delete]\n\
        (containerd starts this program for the runtime io.containerd.wasmtier.v1)";
    let args: Vec<_> = std::env::args_os().skip(1).collect();
    let flags = match containerd_shim::parse(&args) {
        Ok(flags) => flags,
        Err(e) => {
            eprintln!("containerd-shim-wasmtier-v1: {e}\n{USAGE}");
            std::process::exit(2);
        }
    };
    // containerd starts the shim in the container's bundle, where it has
    // made the `log` FIFO the shim logs to; runwasi's logger set-up panics
    // without it. Anything but `-v` and `-info` needs it.
    if !flags.version && !flags.info && !std::path::Path::new("log").exists() {
        eprintln!(
            "containerd-shim-wasmtier-v1: no `log` FIFO in the working directory: \
             not started by containerd in a bundle\n{USAGE}"
        );
        std::process::exit(2);
    }
    // Before any container exists: its process inherits the descriptor.
    cache::open_host_dir();
    sandbox::WasmtierShim::run(None);
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("containerd-shim-wasmtier-v1 runs on Linux only");
    std::process::exit(1);
}
