//! A quick pass over a body's instructions that rules out most bodies
//! before the full scan ([`super::body::scan`]) decodes them.
//!
//! The loader used to note these bodies while validating, nearly for free.
//! Decoding every body again with wasmparser here made
//! `InterpEngine::compile` ~10× slower on the 20,000-function module
//! (RATIONALE.md, "Finding what to rewrite"), so this pass only steps over
//! immediates, reading the few it needs. It answers `true` for every body
//! the scan would edit, and for any instruction it does not know (those of
//! proposals wasmtier leaves off, say), which sends the body to the scan: a
//! wrong guess costs time, never a missed edit.

use wasmtier_core::FuncType;

/// Whether the scan might find something to edit in `code` (a body's
/// instructions, after its locals); `types` is the module's type section.
pub(super) fn may_need_edits(code: &[u8], types: &[FuncType]) -> bool {
    let mut reader = Skimmer { code, at: 0 };
    let mut after_zero_test = false;
    while reader.at < code.len() {
        match reader.instruction(types) {
            Some(Seen::Edit) | None => return true,
            Some(Seen::Nop) => {}
            Some(Seen::ZeroTest) => after_zero_test = true,
            Some(Seen::Select) if after_zero_test => return true,
            Some(Seen::Select | Seen::Other) => after_zero_test = false,
        }
    }
    false
}

/// What one instruction is, as far as the scan cares.
enum Seen {
    /// Something the scan edits: a grow, a block with parameters, a store
    /// with a far memory argument (the scan decides whether its operands
    /// are the same local).
    Edit,
    Nop,
    /// `i32.eqz`, `i32.eq` or `i32.ne`.
    ZeroTest,
    Select,
    Other,
}

struct Skimmer<'a> {
    code: &'a [u8],
    at: usize,
}

impl Skimmer<'_> {
    fn byte(&mut self) -> Option<u8> {
        let byte = *self.code.get(self.at)?;
        self.at += 1;
        Some(byte)
    }

    fn skip(&mut self, bytes: usize) -> Option<()> {
        self.at += bytes;
        (self.at <= self.code.len()).then_some(())
    }

    /// An LEB128 number, signed or not, as its low 64 bits.
    fn leb(&mut self) -> Option<u64> {
        let mut value = 0u64;
        for shift in (0..70).step_by(7) {
            let byte = self.byte()?;
            value |= u64::from(byte & 0x7f).checked_shl(shift).unwrap_or(0);
            if byte & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    }

    /// A memory argument: whether it names a memory other than 0 or an
    /// offset above 65535.
    fn memarg_is_far(&mut self) -> Option<bool> {
        let flags = self.leb()?;
        let memory = if flags & 0x40 != 0 { self.leb()? } else { 0 };
        let offset = self.leb()?;
        Some(memory != 0 || offset > u64::from(u16::MAX))
    }

    /// Steps over one instruction; `None` when it is unknown here.
    fn instruction(&mut self, types: &[FuncType]) -> Option<Seen> {
        let opcode = self.byte()?;
        let seen = match opcode {
            0x01 => Seen::Nop,
            // unreachable, else, end, return, drop; numeric operators.
            0x00 | 0x05 | 0x0b | 0x0f | 0x1a | 0x48..=0xc4 | 0xd1 => Seen::Other,
            0x45..=0x47 => Seen::ZeroTest,
            0x1b => Seen::Select,
            0x1c => {
                for _ in 0..self.leb()? {
                    self.value_type()?;
                }
                Seen::Select
            }
            // block, loop, if
            0x02..=0x04 => return self.block_type(types),
            0x0c | 0x0d | 0x10 | 0x12 | 0x20..=0x26 | 0x3f | 0xd2 => {
                self.leb()?;
                Seen::Other
            }
            0x0e => {
                for _ in 0..=self.leb()? {
                    self.leb()?;
                }
                Seen::Other
            }
            0x11 | 0x13 => {
                self.leb()?;
                self.leb()?;
                Seen::Other
            }
            // Integer stores.
            0x36 | 0x37 | 0x3a..=0x3e => match self.memarg_is_far()? {
                true => Seen::Edit,
                false => Seen::Other,
            },
            // Loads and float stores.
            0x28..=0x35 | 0x38 | 0x39 => {
                self.memarg_is_far()?;
                Seen::Other
            }
            // memory.grow
            0x40 => Seen::Edit,
            0x41 | 0x42 => {
                self.leb()?;
                Seen::Other
            }
            0x43 => {
                self.skip(4)?;
                Seen::Other
            }
            0x44 => {
                self.skip(8)?;
                Seen::Other
            }
            // ref.null of an abstract heap type (one byte).
            0xd0 => {
                self.value_type()?;
                Seen::Other
            }
            0xfc => return self.misc(),
            0xfd => return self.simd(),
            _ => return None,
        };
        Some(seen)
    }

    /// A one-byte value or abstract heap type; `None` for longer ones.
    fn value_type(&mut self) -> Option<()> {
        (self.byte()? & 0xc0 == 0x40).then_some(())
    }

    /// A block type; a type index with parameters is an edit.
    fn block_type(&mut self, types: &[FuncType]) -> Option<Seen> {
        let first = *self.code.get(self.at)?;
        if first & 0xc0 == 0x40 {
            // Empty, or one value type.
            self.at += 1;
            return Some(Seen::Other);
        }
        let start = self.at;
        let index = self.leb()?;
        // A negative s33 here would be a longer type (not enabled).
        if self.code[self.at - 1] & 0x40 != 0 || self.at - start > 5 {
            return None;
        }
        let ty = types.get(usize::try_from(index).ok()?)?;
        Some(if ty.params.is_empty() {
            Seen::Other
        } else {
            Seen::Edit
        })
    }

    /// After the 0xfc prefix: saturating truncations, bulk memory and
    /// table instructions.
    fn misc(&mut self) -> Option<Seen> {
        let immediates = match self.leb()? {
            0..=7 => 0,
            9 | 11 | 13 | 16 | 17 => 1,
            8 | 10 | 12 | 14 => 2,
            // table.grow
            15 => return Some(Seen::Edit),
            _ => return None,
        };
        for _ in 0..immediates {
            self.leb()?;
        }
        Some(Seen::Other)
    }

    /// After the 0xfd prefix: SIMD and relaxed SIMD.
    fn simd(&mut self) -> Option<Seen> {
        match self.leb()? {
            // Loads and stores.
            0x00..=0x0b | 0x5c | 0x5d => {
                self.memarg_is_far()?;
            }
            // v128.const, i8x16.shuffle
            0x0c | 0x0d => self.skip(16)?,
            // Lane extraction and replacement.
            0x15..=0x22 => self.skip(1)?,
            // Lane loads and stores.
            0x54..=0x5b => {
                self.memarg_is_far()?;
                self.skip(1)?;
            }
            0x0e..=0x113 => {}
            _ => return None,
        }
        Some(Seen::Other)
    }
}
