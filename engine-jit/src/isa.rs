//! Cranelift's instruction sets and flags for each pipeline: the
//! optimizing one (every tier's final code, the AOT tier's) and the
//! baseline one (the tiered JIT's first compile), for the host or a
//! `--target` triple.

use cranelift_codegen::isa::{OwnedTargetIsa, TargetIsa};
use cranelift_codegen::settings::{self, Configurable};

use crate::error::IsaError;

/// The host's instruction set with the flags every tier shares.
pub fn host_isa() -> Result<OwnedTargetIsa, IsaError> {
    target_isa(None)
}

/// The instruction set for `triple` (the host's, with the host CPU's
/// features, when `None`; the triple's baseline features otherwise) with
/// the flags every tier shares.
pub fn target_isa(triple: Option<&str>) -> Result<OwnedTargetIsa, IsaError> {
    isa_for(triple, Pipeline::Optimizing)
}

/// The host's instruction set for the tiered JIT's first compile of each
/// function: no mid-end optimizations and the single-pass register
/// allocator (on the benches' generated module: 10× less compile time
/// than the optimizing pipeline, see `RATIONALE.md`).
pub fn baseline_isa() -> Result<OwnedTargetIsa, IsaError> {
    isa_for(None, Pipeline::Baseline)
}

/// The baseline pipeline for the target of `isa` (the host's, with its
/// CPU features, when `isa` is the host's).
pub(crate) fn baseline_like(isa: &dyn TargetIsa) -> Result<OwnedTargetIsa, IsaError> {
    if *isa.triple() == target_lexicon::Triple::host() {
        baseline_isa()
    } else {
        isa_for(Some(&isa.triple().to_string()), Pipeline::Baseline)
    }
}

/// Cranelift's settings for one tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pipeline {
    Optimizing,
    Baseline,
}

fn isa_for(triple: Option<&str>, pipeline: Pipeline) -> Result<OwnedTargetIsa, IsaError> {
    let mut flags = settings::builder();
    let set = |flags: &mut settings::Builder, name: &'static str, value: &'static str| {
        flags.set(name, value).map_err(|e| IsaError::Flag {
            name,
            value,
            message: e.to_string(),
        })
    };
    match pipeline {
        Pipeline::Optimizing => set(&mut flags, "opt_level", "speed")?,
        Pipeline::Baseline => {
            set(&mut flags, "opt_level", "none")?;
            set(&mut flags, "regalloc_algorithm", "single_pass")?;
        }
    }
    // Frame pointers let the signal handler walk Wasm frames for backtraces.
    set(&mut flags, "preserve_frame_pointers", "true")?;
    // More results than registers go through a hidden return area.
    set(&mut flags, "enable_multi_ret_implicit_sret", "true")?;
    // Block offsets and edges, to place each function's hot loop well.
    set(&mut flags, "machine_code_cfg_info", "true")?;
    set(
        &mut flags,
        "enable_verifier",
        if cfg!(debug_assertions) {
            "true"
        } else {
            "false"
        },
    )?;
    let builder = match triple {
        None => cranelift_native::builder().map_err(|e| IsaError::Host(e.to_string()))?,
        Some(name) => {
            let triple =
                name.parse::<target_lexicon::Triple>()
                    .map_err(|e| IsaError::UnknownTarget {
                        name: name.to_string(),
                        message: e.to_string(),
                    })?;
            let supported = |triple: &target_lexicon::Triple| {
                crate::arch::TARGETS.iter().any(|t| {
                    t.parse::<target_lexicon::Triple>().is_ok_and(|t| {
                        t.architecture == triple.architecture
                            && t.operating_system == triple.operating_system
                    })
                })
            };
            if !supported(&triple) {
                // Cranelift may well generate the code; our runtime (trap
                // handling, unwinding, trampolines) exists for these only.
                return Err(IsaError::UnsupportedTarget {
                    name: name.to_string(),
                    message: format!(
                        "the compiled tiers run on {}",
                        crate::arch::TARGETS.join(" and ")
                    ),
                });
            }
            cranelift_codegen::isa::lookup(triple).map_err(|e| IsaError::UnsupportedTarget {
                name: name.to_string(),
                message: e.to_string(),
            })?
        }
    };
    builder
        .finish(settings::Flags::new(flags))
        .map_err(|e| IsaError::Flags(e.to_string()))
}
