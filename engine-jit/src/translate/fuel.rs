//! Fuel metering (when `EngineConfig::fuel` is set): every operator costs
//! one unit. Costs are summed over straight-line code and charged to
//! `VMStoreContext::fuel` before each control transfer (branch, call,
//! return, block boundary), so a loop pays on every iteration; when the
//! counter drops below zero the code traps with "all fuel consumed".

use cranelift_codegen::ir::{InstBuilder, MemFlagsData, condcodes::IntCC, types};
use wasmparser::Operator;

use super::Translator;
use crate::traps;

/// Operators after which straight-line code ends.
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
            | Operator::Unreachable
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

    fn charge_fuel(&mut self) {
        if self.pending_fuel == 0 {
            return;
        }
        let store = self.env.store_context(&mut self.b);
        let offset = crate::vmcontext::offsets::STORE_FUEL;
        let fuel = self
            .b
            .ins()
            .load(types::I64, MemFlagsData::trusted(), store, offset);
        let left = self.b.ins().iadd_imm_s(fuel, -self.pending_fuel);
        self.b
            .ins()
            .store(MemFlagsData::trusted(), left, store, offset);
        let out = self.b.ins().icmp_imm_s(IntCC::SignedLessThan, left, 0);
        self.b.ins().trapnz(out, traps::OUT_OF_FUEL);
        self.pending_fuel = 0;
    }
}
