//! Which compiled tiers this build has for its target: a feature asked for
//! them, and the target is one they run on (the same hosts as the target
//! dependencies in `Cargo.toml`).

fn main() {
    println!("cargo::rustc-check-cfg=cfg(wasmtier_jit)");
    println!("cargo::rustc-check-cfg=cfg(wasmtier_aot)");
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let compiled_tiers_run_here = matches!(
        (arch.as_str(), os.as_str()),
        ("x86_64" | "aarch64", "linux")
    );
    let feature = |name: &str| std::env::var_os(format!("CARGO_FEATURE_{name}")).is_some();
    for (tier, feature_name) in [("jit", "JIT"), ("aot", "AOT")] {
        let present = compiled_tiers_run_here && feature(feature_name);
        if present {
            println!("cargo::rustc-cfg=wasmtier_{tier}");
        }
        // For crates that need the cfg on items macros cannot wrap (enum
        // variants, match arms): their build scripts forward it.
        println!("cargo::metadata={tier}={}", u8::from(present));
    }
}
