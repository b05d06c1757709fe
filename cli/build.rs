//! The `wasmtier_jit` / `wasmtier_aot` cfgs, as the engine registry
//! (`wasmtier-engines`) decided them for this build and host.

fn main() {
    for tier in ["jit", "aot"] {
        println!("cargo::rustc-check-cfg=cfg(wasmtier_{tier})");
        let key = format!("DEP_WASMTIER_ENGINES_{}", tier.to_uppercase());
        if std::env::var(key).is_ok_and(|v| v == "1") {
            println!("cargo::rustc-cfg=wasmtier_{tier}");
        }
    }
}
