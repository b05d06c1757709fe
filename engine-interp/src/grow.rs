//! The host functions a rewritten module's grows call (`rewrite/` says
//! why): one per grown memory or table, made for each instance and put in
//! its hidden helper table before any of its code runs.

use wasmi::{AsContextMut, Extern, Func, Instance, Nullable, Ref, Val};

use crate::convert;
use crate::rewrite::{GrowHelpers, GrowTarget};

/// The result of a failed grow, at either address width.
const FAILED: i64 = -1;

/// Why the helpers could not be installed: the rewritten module does not
/// export what the rewrite promised, a bug in this crate.
#[derive(Debug, thiserror::Error)]
pub(crate) enum InstallError {
    #[error("the grow helper table is not exported")]
    NoTable,
    #[error("{0:?} is not exported")]
    NotExported(GrowTarget),
    #[error("{0:?} is exported as another kind")]
    WrongKind(GrowTarget),
    #[error("filling the grow helper table: {0}")]
    Fill(#[from] wasmi::errors::TableError),
}

/// Fills `instance`'s helper table with host functions that grow its
/// memories and tables.
pub(crate) fn install<T>(
    mut store: impl AsContextMut<Data = T>,
    instance: Instance,
    helpers: &GrowHelpers,
) -> Result<(), InstallError> {
    let table = instance
        .get_table(&store, &helpers.table)
        .ok_or(InstallError::NoTable)?;
    for (slot, helper) in helpers.slots.iter().enumerate() {
        let target = instance
            .get_export(&store, &helper.export)
            .ok_or(InstallError::NotExported(helper.target))?;
        let ty = convert::func_type(&helper.ty);
        let func = match (helper.target, target) {
            (GrowTarget::Memory(_), Extern::Memory(memory)) => {
                Func::new(&mut store, ty, move |mut caller, params, results| {
                    let Some(delta) = params.first().map(unsigned) else {
                        return Err(wasmi::Error::new("memory.grow helper without a delta"));
                    };
                    let old = memory.grow(&mut caller, delta).ok();
                    results[0] = address(params[0].clone(), old);
                    Ok(())
                })
            }
            (GrowTarget::Table(_), Extern::Table(grown)) => {
                Func::new(&mut store, ty, move |mut caller, params, results| {
                    let [init, delta] = params else {
                        return Err(wasmi::Error::new("table.grow helper without operands"));
                    };
                    let init = match init {
                        Val::FuncRef(func) => Ref::Func(*func),
                        Val::ExternRef(ext) => Ref::Extern(*ext),
                        _ => {
                            return Err(wasmi::Error::new("table.grow helper without a reference"));
                        }
                    };
                    let old = grown.grow(&mut caller, unsigned(delta), init).ok();
                    results[0] = address(delta.clone(), old);
                    Ok(())
                })
            }
            (target, _) => return Err(InstallError::WrongKind(target)),
        };
        table.set(&mut store, slot as u64, Ref::Func(Nullable::Val(func)))?;
    }
    Ok(())
}

/// A grow's delta operand, which the spec reads as unsigned.
fn unsigned(value: &Val) -> u64 {
    match value {
        Val::I32(delta) => u64::from(*delta as u32),
        Val::I64(delta) => *delta as u64,
        // The helper's type admits only the two above.
        _ => u64::MAX,
    }
}

/// The old size, or -1, at the width of `operand` (the grow's address type).
fn address(operand: Val, old_size: Option<u64>) -> Val {
    let old = old_size.map_or(FAILED, |size| size as i64);
    match operand {
        Val::I64(_) => Val::I64(old),
        _ => Val::I32(old as i32),
    }
}
