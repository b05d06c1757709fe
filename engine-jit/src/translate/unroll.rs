//! Loop unrolling in optimized code: an innermost loop's body translated
//! several times in a row, each copy's branch back going to the next
//! copy's header and the last copy's to the first.
//!
//! No trip count is needed: every copy keeps its own exits (its `br_if`
//! out of the loop, its fall-through), so any number of iterations leaves
//! at the same point as before. What it buys is in the register
//! allocator: values that rotate through locals from one iteration to the
//! next (SHA-256's eight working variables, a list walk's `prev = head;
//! head = next`) are copied on every back edge of a one-copy loop, while
//! between copies they are the same SSA values and need no move; only the
//! edge back to the first copy still moves them. See `RATIONALE.md`,
//! "Loop unrolling".

use cranelift_codegen::ir::{Block, BlockArg, InstBuilder};
use wasmparser::{BlockType, Operator, OperatorsReader};

use super::control::{Frame, FrameKind};
use super::dispatch::family_of;
use super::{TranslateError, Translator};

/// How far innermost loops are unrolled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoopUnrolling {
    /// The most copies of a body (1: loops are not unrolled).
    pub max_copies: usize,
    /// Copies are made while, together, they stay within this many Wasm
    /// operators: a power of two no greater than `max_copies`.
    pub max_operators: usize,
    /// Loops are unrolled only in function bodies of at most this many
    /// bytes of Wasm.
    pub max_function_bytes: usize,
}

impl LoopUnrolling {
    pub const NONE: Self = Self {
        max_copies: 1,
        max_operators: 0,
        max_function_bytes: 0,
    };
    /// The JIT's setting, bounded by compile time: two copies of bodies of
    /// up to 100 operators, in functions of up to 1 KiB. Large functions
    /// (musl's `printf_core`, `dlmalloc`, `memcpy`) hold most of a C
    /// program's loops and are rarely its kernels: unrolling theirs too
    /// cost 9–12% more compile work, against 1% without them.
    pub const JIT: Self = Self {
        max_copies: 2,
        max_operators: 200,
        max_function_bytes: 1024,
    };
    /// The tiered JIT's, whose optimized code is for hot functions only:
    /// the JIT's copies in functions of any size.
    pub const JIT_HOT: Self = Self {
        max_function_bytes: usize::MAX,
        ..Self::JIT
    };
    /// `wasmtier compile`'s, where compile time matters less: up to four
    /// copies, 400 operators, in every function.
    pub const AHEAD_OF_TIME: Self = Self {
        max_copies: 4,
        max_operators: 400,
        max_function_bytes: usize::MAX,
    };

    /// The setting for a function body of `bytes` bytes.
    pub(super) fn for_body(self, bytes: usize) -> Self {
        if bytes <= self.max_function_bytes {
            self
        } else {
            Self::NONE
        }
    }

    /// How many copies to make of the loop whose body `body` starts (just
    /// after the `loop` operator); `None` to translate it once. Only
    /// innermost loops of straight computation are unrolled: a body with a
    /// loop inside, a call, an exception operator or a GC operator is not
    /// (a call's cost dwarfs what unrolling saves, and copies of it only
    /// grow the code), nor one that never branches back to its header.
    pub(super) fn copies(
        self,
        body: &OperatorsReader<'_>,
    ) -> Result<Option<usize>, TranslateError> {
        if self.max_copies < 2 {
            return Ok(None);
        }
        let limit = self.max_operators / 2;
        let mut reader = body.clone();
        let mut depth = 0u32;
        let mut operators = 0usize;
        let mut branches_back = false;
        loop {
            let op = reader.read()?;
            operators += 1;
            let computation = family_of(&op).is_computation();
            if operators > limit || !computation {
                return Ok(None);
            }
            match op {
                Operator::Loop { .. } => return Ok(None),
                Operator::Block { .. } | Operator::If { .. } => depth += 1,
                Operator::End if depth == 0 => break,
                Operator::End => depth -= 1,
                Operator::Br { relative_depth }
                | Operator::BrIf { relative_depth }
                | Operator::BrOnNull { relative_depth }
                | Operator::BrOnNonNull { relative_depth } => {
                    branches_back |= relative_depth == depth;
                }
                Operator::BrTable { ref targets } => {
                    for target in targets.targets() {
                        branches_back |= target? == depth;
                    }
                    branches_back |= targets.default() == depth;
                }
                _ => {}
            }
        }
        let mut copies = self.max_copies;
        while copies > 1 && copies * operators > self.max_operators {
            copies /= 2;
        }
        Ok((branches_back && copies > 1).then_some(copies))
    }
}

/// How a copy of a loop body ended.
enum CopyEnd {
    /// At the loop's `end`, reachable or not.
    End,
    /// At a `br_if 0; end`, translated as one branch that also leaves the
    /// loop.
    ExitOrNextCopy,
}

impl Translator<'_, '_> {
    /// Translates the loop whose body `reader` is at (just after its
    /// `loop` operator) as `copies` copies, leaving `reader` after the
    /// loop's `end`. Not used with fuel metering (whose charges this
    /// walk does not make).
    pub(super) fn unrolled_loop(
        &mut self,
        blockty: BlockType,
        reader: &mut OperatorsReader<'_>,
        copies: usize,
    ) -> Result<(), TranslateError> {
        debug_assert!(!self.env.fuel_enabled());
        let (params, results) = self.block_type(blockty);
        self.loops_seen += 1;
        let headers: Vec<Block> = (0..copies)
            .map(|_| self.block_with_params(&params))
            .collect();
        let next = self.block_with_params(&results);
        let args = self.popn(params.len());
        self.jump(headers[0], &args);
        let height = self.stack.len();
        let body = reader.clone();
        let mut exit_reachable = false;
        for (copy, &header) in headers.iter().enumerate() {
            self.b.switch_to_block(header);
            if copy == 0 {
                // One check per pass through all copies bounds the time to
                // notice an interrupt as well as one per iteration does.
                self.check_interrupt();
            } else {
                // Its only predecessor is the copy before, translated.
                self.b.seal_block(header);
            }
            let loop_params = self.b.block_params(header).to_vec();
            self.stack.extend_from_slice(&loop_params);
            self.reachable = true;
            self.frames.push(Frame {
                kind: FrameKind::Loop,
                header: Some(headers[(copy + 1) % copies]),
                next,
                params: params.clone(),
                results: results.clone(),
                height,
                exit_branched: false,
            });
            // The last copy reads from the walk's own reader, which so
            // ends up after the loop.
            let mut copy_reader = body.clone();
            let operators = if copy + 1 == copies {
                &mut *reader
            } else {
                &mut copy_reader
            };
            let end = self.loop_body_copy(operators)?;
            let frame = self.frames.pop().expect("the loop's frame");
            exit_reachable |= frame.exit_branched;
            match end {
                CopyEnd::ExitOrNextCopy => exit_reachable = true,
                CopyEnd::End if self.reachable => {
                    let values = self.popn(results.len());
                    self.jump(next, &values);
                    exit_reachable = true;
                }
                CopyEnd::End => {}
            }
            self.stack.truncate(height);
        }
        self.b.seal_block(headers[0]);
        self.b.switch_to_block(next);
        self.b.seal_block(next);
        self.go_on_after(next, exit_reachable);
        Ok(())
    }

    /// Translates one copy of the body of the loop whose frame is on top,
    /// up to and including its `end`.
    fn loop_body_copy(
        &mut self,
        operators: &mut OperatorsReader<'_>,
    ) -> Result<CopyEnd, TranslateError> {
        let depth = self.frames.len();
        loop {
            let op = operators.read()?;
            let at_loop_level = self.frames.len() == depth && self.dead_depth == 0;
            if matches!(op, Operator::End) && at_loop_level {
                return Ok(CopyEnd::End);
            }
            if let Operator::BrIf { relative_depth: 0 } = op
                && at_loop_level
                && self.reachable
            {
                let mut ahead = operators.clone();
                if let Operator::End = ahead.read()? {
                    *operators = ahead;
                    self.exit_or_next_copy();
                    return Ok(CopyEnd::ExitOrNextCopy);
                }
            }
            self.operator(&op)?;
        }
    }

    /// A copy's closing `br_if 0; end` as one branch: to the next copy's
    /// header, or out of the loop with the results. Written as `br_if`'s
    /// branch and a fall-through block jumping out, the values leaving the
    /// loop would be used first in that block and in the next copy,
    /// neither of which this copy's code dominates; Cranelift computes a
    /// pure value where it is first used, so this copy's arithmetic (a dot
    /// product's multiplications) would move into the copies after it,
    /// keeping all their operands live at once (CoreMark's matrix loop:
    /// spilled, and 1.10× the time of the loop not unrolled). Used by this
    /// branch, they are computed in the copy.
    fn exit_or_next_copy(&mut self) {
        let frame = self.frames.last().expect("the loop's frame");
        let (next_header, next) = (frame.branch_target(), frame.next);
        let (params, results) = (frame.params.len(), frame.results.len());
        let condition = self.pop();
        let back: Vec<BlockArg> = self.peekn(params).iter().map(|v| (*v).into()).collect();
        let out: Vec<BlockArg> = self.peekn(results).iter().map(|v| (*v).into()).collect();
        self.b.ins().brif(condition, next_header, &back, next, &out);
        self.reachable = false;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use cranelift_codegen::ir::Opcode;
    use cranelift_frontend::FunctionBuilderContext;
    use wasmtier_core::{Compilation, EngineConfig, Features, ValidatedModule};

    use super::LoopUnrolling;
    use crate::compile::host_isa;
    use crate::module_info::ModuleInfo;
    use crate::translate::{CodeTier, StackCheck, translate_function};

    /// How many `brif`s the translation of defined function `defined` has:
    /// one per copy of each of the loops below.
    fn branches(text: &str, defined: u32, unrolling: LoopUnrolling, tier: CodeTier) -> usize {
        let bytes = wat::parse_str(text).unwrap();
        let module = Arc::new(ValidatedModule::new(&bytes, Features::default()).unwrap());
        let mut info = ModuleInfo::new(module, &EngineConfig::default()).unwrap();
        info.loop_unrolling = unrolling;
        let isa = host_isa().unwrap();
        let func = translate_function(
            &info,
            defined,
            &mut FunctionBuilderContext::new(),
            isa.frontend_config(),
            tier,
            StackCheck::AfterPrologue,
        )
        .unwrap();
        func.layout
            .blocks()
            .flat_map(|block| func.layout.block_insts(block))
            .filter(|&inst| func.dfg.insts[inst].opcode() == Opcode::Brif)
            .count()
    }

    const LOOPS: &str = r#"(module
        (func $leaf)
        ;; 0: a small loop: copies.
        (func (param i32)
          (loop $l (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1))))))
        ;; 1: a loop that calls: once.
        (func (param i32)
          (loop $l (call $leaf) (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1))))))
        ;; 2: nested: the inner loop only.
        (func (param i32 i32)
          (loop $outer
            (loop $inner (br_if $inner (local.tee 1 (i32.sub (local.get 1) (i32.const 1)))))
            (br_if $outer (local.tee 0 (i32.sub (local.get 0) (i32.const 1))))))
        ;; 3: no branch back: not a loop at all.
        (func (param i32)
          (loop $l (local.set 0 (i32.add (local.get 0) (i32.const 1))))))"#;

    #[test]
    fn small_innermost_loops_are_copied_as_far_as_the_setting_allows() {
        let optimized =
            |defined, unrolling| branches(LOOPS, defined, unrolling, CodeTier::Optimized);
        for (unrolling, copies) in [
            (LoopUnrolling::NONE, 1),
            (LoopUnrolling::JIT, 2),
            (LoopUnrolling::AHEAD_OF_TIME, 4),
        ] {
            assert_eq!(optimized(1, unrolling), copies, "{unrolling:?}");
            assert_eq!(optimized(2, unrolling), 1, "a call inside: {unrolling:?}");
            assert_eq!(optimized(3, unrolling), copies + 1, "nested: {unrolling:?}");
            assert_eq!(optimized(4, unrolling), 0, "no branch back: {unrolling:?}");
        }
        let baseline = CodeTier::Baseline {
            tier_up_counter: None,
        };
        assert_eq!(
            branches(LOOPS, 1, LoopUnrolling::AHEAD_OF_TIME, baseline),
            1
        );
    }

    #[test]
    fn the_jit_unrolls_in_small_functions_only() {
        // 1,200 one-byte `nop`s make the body longer than 1 KiB.
        let nops = "(nop)".repeat(300);
        let text = format!(
            r#"(module (func (param i32)
                 (block {nops} {nops} {nops} {nops})
                 (loop $l (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))))"#
        );
        let optimized = |unrolling| branches(&text, 0, unrolling, CodeTier::Optimized);
        assert_eq!(optimized(LoopUnrolling::JIT), 1);
        assert_eq!(optimized(LoopUnrolling::JIT_HOT), 2);
        assert_eq!(optimized(LoopUnrolling::AHEAD_OF_TIME), 4);
    }

    #[test]
    fn tiered_optimized_code_is_unrolled_whatever_the_function_size() {
        let module = Arc::new(
            ValidatedModule::new(&wat::parse_str("(module)").unwrap(), Features::default())
                .unwrap(),
        );
        let setting = |compilation| {
            let config = EngineConfig {
                compilation,
                ..EngineConfig::default()
            };
            ModuleInfo::new(module.clone(), &config)
                .unwrap()
                .loop_unrolling
        };
        assert_eq!(setting(Compilation::tiered()), LoopUnrolling::JIT_HOT);
        for compilation in [
            Compilation::Eager,
            Compilation::Lazy,
            Compilation::Concurrent,
        ] {
            assert_eq!(setting(compilation), LoopUnrolling::JIT, "{compilation:?}");
        }
    }

    #[test]
    fn a_body_over_the_budget_gets_fewer_copies_or_none() {
        // Six operators (`end` included) around 2 × 47 `nop`s: 100.
        let nops = "(nop)".repeat(47);
        let text = format!(
            r#"(module (func (param i32)
                 (loop $l {nops} {nops}
                   (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))))"#
        );
        let optimized = |unrolling| branches(&text, 0, unrolling, CodeTier::Optimized);
        assert_eq!(optimized(LoopUnrolling::AHEAD_OF_TIME), 4);
        let nops = "(nop)".repeat(60);
        let text = text.replace("(nop)".repeat(47).as_str(), &nops);
        let optimized = |unrolling| branches(&text, 0, unrolling, CodeTier::Optimized);
        assert_eq!(optimized(LoopUnrolling::AHEAD_OF_TIME), 2);
        assert_eq!(optimized(LoopUnrolling::JIT), 1);
    }
}
