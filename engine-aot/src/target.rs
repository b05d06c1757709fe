//! What the code depends on besides the module: the instruction set, its
//! CPU features, Cranelift's flags, and the engine settings that change
//! generated code. Recorded in every artifact and part of the cache key.

use cranelift_codegen::isa::TargetIsa;
use wasmtier_core::EngineConfig;

/// The code-relevant description of a compilation target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetInfo {
    /// e.g. `x86_64-unknown-linux-gnu`.
    pub triple: String,
    /// The instruction-set flags, `name=value` joined by `,`.
    pub cpu_features: String,
    /// Cranelift's shared flags and the engine settings that change code,
    /// `name=value` joined by `,`.
    pub flags: String,
}

impl TargetInfo {
    pub fn of(isa: &dyn TargetIsa, config: &EngineConfig) -> Self {
        let cpu_features = isa
            .isa_flags()
            .iter()
            .map(|v| format!("{}={}", v.name, v.value_string()))
            .collect::<Vec<_>>()
            .join(",");
        let mut flags: Vec<String> = isa
            .flags()
            .iter()
            .map(|v| format!("{}={}", v.name, v.value_string()))
            .collect();
        flags.extend(codegen_settings(config));
        Self {
            triple: isa.triple().to_string(),
            cpu_features,
            flags: flags.join(","),
        }
    }

    /// Why code for `self` cannot run where `host` describes, if it cannot.
    /// The triple must be equal; every CPU feature the code may use must be
    /// present on the host (other settings equal); the flags equal.
    pub fn incompatibility(&self, host: &TargetInfo) -> Option<Mismatch> {
        if self.triple != host.triple {
            return Some(Mismatch::Target);
        }
        let host_features: Vec<(&str, &str)> = pairs(&host.cpu_features).collect();
        for (name, value) in pairs(&self.cpu_features) {
            let found = host_features.iter().find(|(n, _)| *n == name).map(|f| f.1);
            let ok = match (value, found) {
                // A feature the code does not use never matters.
                ("false", _) => true,
                (value, Some(found)) => value == found,
                (_, None) => false,
            };
            if !ok {
                return Some(Mismatch::Cpu(name.to_string()));
            }
        }
        (self.flags != host.flags).then_some(Mismatch::Flags)
    }
}

/// How an artifact's target differs from the host's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mismatch {
    Target,
    /// The first CPU feature the code needs that the host lacks.
    Cpu(String),
    Flags,
}

fn pairs(list: &str) -> impl Iterator<Item = (&str, &str)> {
    list.split(',')
        .filter(|s| !s.is_empty())
        .map(|s| s.split_once('=').unwrap_or((s, "")))
}

/// The engine settings that change generated code (not mere runtime
/// limits, which the store applies).
fn codegen_settings(config: &EngineConfig) -> Vec<String> {
    vec![
        // Code reads the VM context at fixed offsets: a build with another
        // layout must not run it (same wasmtier version during development).
        format!(
            "wasmtier_vm_layout={}",
            wasmtier_engine_jit::VM_LAYOUT_VERSION
        ),
        format!("wasmtier_fuel={}", config.fuel.is_some()),
        format!("wasmtier_interrupts={}", config.timeout.is_some()),
        format!("wasmtier_low_memory={}", config.low_memory),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(cpu: &str) -> TargetInfo {
        TargetInfo {
            triple: "x86_64-unknown-linux-gnu".into(),
            cpu_features: cpu.into(),
            flags: "opt_level=speed".into(),
        }
    }

    #[test]
    fn fewer_cpu_features_run_on_more() {
        let host = info("has_sse41=true,has_avx=true");
        assert_eq!(
            info("has_sse41=true,has_avx=false").incompatibility(&host),
            None
        );
        let needs_avx512 = info("has_avx512f=true");
        assert_eq!(
            needs_avx512.incompatibility(&host),
            Some(Mismatch::Cpu("has_avx512f".into()))
        );
    }

    #[test]
    fn triples_and_flags_must_match() {
        let host = info("");
        let mut other = info("");
        other.triple = "aarch64-unknown-linux-gnu".into();
        assert_eq!(other.incompatibility(&host), Some(Mismatch::Target));
        let mut other = info("");
        other.flags = "opt_level=none".into();
        assert_eq!(other.incompatibility(&host), Some(Mismatch::Flags));
    }
}
