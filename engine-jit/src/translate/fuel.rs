//! The guest's budgets: fuel and interruption.
//!
//! Fuel metering (when `EngineConfig::fuel` is set): every operator costs
//! one unit, and bulk operations also cost by length, charged in their
//! builtins before any work (`builtins.rs`, `charge_bulk`). Costs are summed over straight-line code and charged to
//! `VMStoreContext::fuel` before each control transfer (branch, call,
//! return, block boundary), so a loop pays on every iteration; when the
//! counter drops below zero the code traps with "all fuel consumed".
//!
//! Interruption (when `EngineConfig::timeout` is set): at function entry
//! and at every loop header the code reads the store's interrupt counter,
//! which a timer thread bumps at the deadline, and traps with
//! "interrupted" when it is not zero. Every unbounded execution passes
//! through one of the two (recursion through entries, iteration through
//! headers), so the guest stops within one loop iteration or call.

use cranelift_codegen::ir::{InstBuilder, condcodes::IntCC};
use wasmparser::Operator;

use super::Translator;
use crate::traps;

/// Operators after which straight-line code ends. A throw transfers
/// control too (to a handler, possibly a loop header in this function), so
/// it charges what came before it like a branch.
fn ends_region(op: &Operator<'_>) -> bool {
    matches!(
        op,
        Operator::Block { .. }
            | Operator::Loop { .. }
            | Operator::If { .. }
            | Operator::Else
            | Operator::End
            | Operator::Br { .. }
            | Operator::BrIf { .. }
            | Operator::BrTable { .. }
            | Operator::Return
            | Operator::Call { .. }
            | Operator::CallIndirect { .. }
            | Operator::ReturnCall { .. }
            | Operator::ReturnCallIndirect { .. }
            | Operator::CallRef { .. }
            | Operator::ReturnCallRef { .. }
            | Operator::BrOnNull { .. }
            | Operator::BrOnNonNull { .. }
            | Operator::Unreachable
            | Operator::TryTable { .. }
            | Operator::Throw { .. }
            | Operator::ThrowRef
    )
}

impl Translator<'_, '_> {
    /// Accounts for `op`, which is about to be translated in reachable code.
    pub(super) fn consume_fuel(&mut self, op: &Operator<'_>) {
        if !self.env.fuel_enabled() {
            return;
        }
        self.pending_fuel += 1;
        if ends_region(op) {
            self.charge_fuel();
        }
    }

    /// Traps with "interrupted" if the deadline has passed.
    pub(super) fn check_interrupt(&mut self) {
        if !self.env.interrupts_enabled() {
            return;
        }
        let count = self.env.interrupt_count(&mut self.b);
        self.b.ins().trapnz(count, traps::INTERRUPTED);
    }

    fn charge_fuel(&mut self) {
        if self.pending_fuel == 0 {
            return;
        }
        let (store, fuel) = self.env.fuel(&mut self.b);
        let left = self.b.ins().iadd_imm_s(fuel, -self.pending_fuel);
        self.env.set_fuel(&mut self.b, store, left);
        let out = self.b.ins().icmp_imm_s(IntCC::SignedLessThan, left, 0);
        self.b.ins().trapnz(out, traps::OUT_OF_FUEL);
        self.pending_fuel = 0;
    }
}
