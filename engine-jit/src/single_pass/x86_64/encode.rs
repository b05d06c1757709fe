//! A minimal x86-64 encoder: the instruction forms the single-pass
//! compiler emits, branches through labels patched at the end, and the
//! trap sites it records.
//!
//! Every memory operand uses a 32-bit displacement (`mod = 10`), so `rbp`
//! and `r13` bases need no special case; `rsp` and `r12` bases get the SIB
//! byte they require.

/// General-purpose registers by hardware encoding.
pub const RAX: u8 = 0;
pub const RCX: u8 = 1;
pub const RDX: u8 = 2;
pub const RSP: u8 = 4;
pub const RBP: u8 = 5;
pub const RSI: u8 = 6;
pub const RDI: u8 = 7;
pub const R8: u8 = 8;
pub const R9: u8 = 9;
pub const R10: u8 = 10;
pub const R11: u8 = 11;
pub const XMM8: u8 = 8;

/// Condition codes (the low nibble of `jcc`/`setcc`/`cmovcc`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cond {
    Below = 0x2,
    AboveEqual = 0x3,
    Equal = 0x4,
    NotEqual = 0x5,
    BelowEqual = 0x6,
    Above = 0x7,
    Parity = 0xa,
    NoParity = 0xb,
    Less = 0xc,
    GreaterEqual = 0xd,
    LessEqual = 0xe,
    Greater = 0xf,
    Sign = 0x8,
    NotSign = 0x9,
}

impl Cond {
    /// The condition that holds exactly when `self` does not.
    pub fn negate(self) -> Self {
        match self {
            Cond::Below => Cond::AboveEqual,
            Cond::AboveEqual => Cond::Below,
            Cond::Equal => Cond::NotEqual,
            Cond::NotEqual => Cond::Equal,
            Cond::BelowEqual => Cond::Above,
            Cond::Above => Cond::BelowEqual,
            Cond::Parity => Cond::NoParity,
            Cond::NoParity => Cond::Parity,
            Cond::Less => Cond::GreaterEqual,
            Cond::GreaterEqual => Cond::Less,
            Cond::LessEqual => Cond::Greater,
            Cond::Greater => Cond::LessEqual,
            Cond::Sign => Cond::NotSign,
            Cond::NotSign => Cond::Sign,
        }
    }
}

/// A memory operand: `[base + index + disp]`.
#[derive(Debug, Clone, Copy)]
pub struct Mem {
    pub base: u8,
    pub index: Option<u8>,
    pub disp: i32,
    /// A 32-bit displacement even when it would fit 8 bits (a field
    /// patched later).
    pub wide: bool,
}

impl Mem {
    pub fn at(base: u8, disp: i32) -> Self {
        Self {
            base,
            index: None,
            disp,
            wide: false,
        }
    }

    /// `[base + disp]` with a 32-bit displacement field, to patch.
    pub fn patchable(base: u8) -> Self {
        Self {
            wide: true,
            ..Self::at(base, 0)
        }
    }

    pub fn indexed(base: u8, index: u8, disp: i32) -> Self {
        debug_assert_ne!(index, RSP, "rsp cannot be an index");
        Self {
            base,
            index: Some(index),
            disp,
            wide: false,
        }
    }
}

/// `(offset, raw trap code)` of the instructions that may trap.
pub type TrapSites = Vec<(u32, u8)>;

/// A branch target, bound to an offset once known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Label(usize);

#[derive(Default)]
pub struct Asm {
    pub code: Vec<u8>,
    pub labels: Vec<Option<usize>>,
    /// `(offset of a rel32 field, label)`: patched by [`Asm::finish`].
    pub fixups: Vec<(usize, Label)>,
    pub traps: TrapSites,
}

impl Asm {
    /// An assembler whose buffer starts with room for `bytes`, with
    /// (empty) label lists to reuse.
    pub fn with_capacity(
        bytes: usize,
        labels: Vec<Option<usize>>,
        fixups: Vec<(usize, Label)>,
    ) -> Self {
        Self {
            code: Vec::with_capacity(bytes),
            labels,
            fixups,
            traps: TrapSites::new(),
        }
    }

    pub fn offset(&self) -> usize {
        self.code.len()
    }

    pub fn label(&mut self) -> Label {
        self.labels.push(None);
        Label(self.labels.len() - 1)
    }

    pub fn bind(&mut self, label: Label) {
        debug_assert!(self.labels[label.0].is_none(), "label bound twice");
        self.labels[label.0] = Some(self.code.len());
    }

    /// Records that the next instruction may trap with `code`.
    pub fn trap_here(&mut self, code: u8) {
        self.traps.push((self.code.len() as u32, code));
    }

    /// Resolves every branch and takes the code and its trap sites out
    /// (the label lists stay, to reuse); `None` if a used label was never
    /// bound.
    pub fn finish(&mut self) -> Option<(Vec<u8>, TrapSites)> {
        for &(at, label) in &self.fixups {
            let target = self.labels[label.0]?;
            let rel = target as i64 - (at as i64 + 4);
            let rel = i32::try_from(rel).ok()?;
            self.code[at..at + 4].copy_from_slice(&rel.to_le_bytes());
        }
        self.traps.sort_unstable();
        Some((
            std::mem::take(&mut self.code),
            std::mem::take(&mut self.traps),
        ))
    }

    pub fn patch_u32(&mut self, at: usize, value: u32) {
        self.code[at..at + 4].copy_from_slice(&value.to_le_bytes());
    }

    fn byte(&mut self, b: u8) {
        self.code.push(b);
    }

    fn imm32(&mut self, v: i32) {
        self.code.extend_from_slice(&v.to_le_bytes());
    }

    /// Appends an instruction built in a register. Appending byte by byte
    /// re-read the vector after each byte (a byte store may alias its
    /// length) and made `op_mem` a tenth of a compile; all 16 bytes are
    /// stored at once (a fixed-size copy, no `memcpy` call) and the vector
    /// cut back to the instruction's length.
    #[inline(always)]
    fn put(&mut self, inst: Inst) {
        let end = self.code.len() + inst.len;
        self.code.extend_from_slice(&inst.bytes.to_le_bytes());
        self.code.truncate(end);
    }

    fn rex(&mut self, w: bool, reg: u8, index: u8, base: u8) {
        let mut inst = Inst::default();
        inst.rex(w, reg, index, base);
        self.put(inst);
    }

    /// `[prefix] [REX] opcode modrm(reg, mem)`.
    #[inline(always)]
    pub fn op_mem(&mut self, prefix: Option<u8>, w: bool, opcode: &[u8], reg: u8, mem: Mem) {
        self.put(Inst::mem(prefix, w, opcode, reg, mem));
    }

    /// `[prefix] [REX] opcode modrm(reg, rm)` with a register `rm`.
    #[inline(always)]
    pub fn op_reg(&mut self, prefix: Option<u8>, w: bool, opcode: &[u8], reg: u8, rm: u8) {
        self.put(Inst::reg(prefix, w, opcode, reg, rm));
    }

    // --- moves ---

    /// `mov reg, [mem]` (64 or 32 bits; 32 zero-extends).
    pub fn load(&mut self, w: bool, reg: u8, mem: Mem) {
        self.op_mem(None, w, &[0x8b], reg, mem);
    }

    /// `mov [mem], reg` (64 or 32 bits).
    pub fn store(&mut self, w: bool, mem: Mem, reg: u8) {
        self.op_mem(None, w, &[0x89], reg, mem);
    }

    pub fn store16(&mut self, mem: Mem, reg: u8) {
        self.op_mem(Some(0x66), false, &[0x89], reg, mem);
    }

    /// `mov byte [mem], reg8`; `reg` must be one of al, cl, dl, bl.
    pub fn store8(&mut self, mem: Mem, reg: u8) {
        debug_assert!(reg < 4);
        self.op_mem(None, false, &[0x88], reg, mem);
    }

    /// `movzx`/`movsx` of 8 or 16 bits from memory into a 32- or 64-bit
    /// register.
    pub fn load_narrow(&mut self, w: bool, bits: u8, signed: bool, reg: u8, mem: Mem) {
        self.op_mem(None, w, &[0x0f, extend_opcode(bits, signed)], reg, mem);
    }

    /// `movsxd reg64, dword [mem]`.
    pub fn load_sx32(&mut self, reg: u8, mem: Mem) {
        self.op_mem(None, true, &[0x63], reg, mem);
    }

    pub fn mov_rr(&mut self, w: bool, dst: u8, src: u8) {
        self.op_reg(None, w, &[0x89], src, dst);
    }

    /// `reg = value`, in the shortest form: `mov r32, imm32` (which
    /// zero-extends), `mov r64, simm32`, or `movabs`.
    pub fn mov_imm64(&mut self, reg: u8, value: u64) {
        if let Ok(value) = u32::try_from(value) {
            return self.mov_imm32(reg, value);
        }
        if let Ok(value) = i32::try_from(value as i64) {
            let mut inst = Inst::reg(None, true, &[0xc7], 0, reg);
            inst.extend(&value.to_le_bytes());
            return self.put(inst);
        }
        let mut inst = Inst::default();
        inst.rex(true, 0, 0, reg);
        inst.push(0xb8 | (reg & 7));
        inst.extend(&value.to_le_bytes());
        self.put(inst);
    }

    pub fn mov_imm32(&mut self, reg: u8, value: u32) {
        let mut inst = Inst::default();
        inst.rex(false, 0, 0, reg);
        inst.push(0xb8 | (reg & 7));
        inst.extend(&value.to_le_bytes());
        self.put(inst);
    }

    pub fn lea(&mut self, reg: u8, mem: Mem) {
        self.op_mem(None, true, &[0x8d], reg, mem);
    }

    /// `lea reg, [rip + disp]` where the address is `target` bytes into
    /// this code.
    pub fn lea_code(&mut self, reg: u8, target: usize) {
        self.rex(true, reg, 0, 0);
        self.byte(0x8d);
        self.byte((reg & 7) << 3 | 0b101);
        let end = self.code.len() + 4;
        self.imm32((target as i64 - end as i64) as i32);
    }

    // --- integer arithmetic ---

    /// `op rm, reg` for the ALU group: add 0x01, or 0x09, and 0x21,
    /// sub 0x29, xor 0x31, cmp 0x39, test 0x85.
    pub fn alu_rr(&mut self, w: bool, opcode: u8, rm: u8, reg: u8) {
        self.op_reg(None, w, &[opcode], reg, rm);
    }

    /// `op rm, imm` for the 0x81 group (`ext`: add 0, or 1, and 4,
    /// sub 5, xor 6, cmp 7), with an 8-bit immediate (0x83) when it fits.
    pub fn alu_imm(&mut self, w: bool, ext: u8, rm: u8, imm: i32) {
        match i8::try_from(imm) {
            Ok(short) => {
                let mut inst = Inst::reg(None, w, &[0x83], ext, rm);
                inst.push(short as u8);
                self.put(inst);
            }
            Err(_) => self.alu_imm32(w, ext, rm, imm),
        }
    }

    /// `op rm, imm32` always with a 32-bit field (one patched later).
    pub fn alu_imm32(&mut self, w: bool, ext: u8, rm: u8, imm: i32) {
        let mut inst = Inst::reg(None, w, &[0x81], ext, rm);
        inst.extend(&imm.to_le_bytes());
        self.put(inst);
    }

    /// `op dword/qword [mem], imm` for the 0x81 group, short when it fits.
    pub fn alu_mem_imm(&mut self, w: bool, ext: u8, mem: Mem, imm: i32) {
        match i8::try_from(imm) {
            Ok(short) => {
                let mut inst = Inst::mem(None, w, &[0x83], ext, mem);
                inst.push(short as u8);
                self.put(inst);
            }
            Err(_) => {
                let mut inst = Inst::mem(None, w, &[0x81], ext, mem);
                inst.extend(&imm.to_le_bytes());
                self.put(inst);
            }
        }
    }

    /// `mov dword/qword [mem], imm32` (the qword form sign-extends it).
    pub fn store_imm(&mut self, w: bool, mem: Mem, imm: i32) {
        let mut inst = Inst::mem(None, w, &[0xc7], 0, mem);
        inst.extend(&imm.to_le_bytes());
        self.put(inst);
    }

    /// `imul dst, [mem]`.
    pub fn imul_mem(&mut self, w: bool, dst: u8, mem: Mem) {
        self.op_mem(None, w, &[0x0f, 0xaf], dst, mem);
    }

    /// `dst op= [mem]` for an ALU opcode given in its `r/m op= reg` form
    /// (`add` 0x01, `cmp` 0x39, ...): the `reg op= r/m` form is one above.
    pub fn alu_mem(&mut self, w: bool, opcode: u8, dst: u8, mem: Mem) {
        self.op_mem(None, w, &[opcode | 2], dst, mem);
    }

    /// `imul dst, src, imm` (a 64-bit one sign-extends the immediate),
    /// with an 8-bit immediate when it fits.
    pub fn imul_imm(&mut self, w: bool, dst: u8, src: u8, imm: i32) {
        let inst = match i8::try_from(imm) {
            Ok(short) => {
                let mut inst = Inst::reg(None, w, &[0x6b], dst, src);
                inst.push(short as u8);
                inst
            }
            Err(_) => {
                let mut inst = Inst::reg(None, w, &[0x69], dst, src);
                inst.extend(&imm.to_le_bytes());
                inst
            }
        };
        self.put(inst);
    }

    /// The 0xF7 group on a register: not 2, neg 3, div 6, idiv 7.
    pub fn unary(&mut self, w: bool, ext: u8, rm: u8) {
        self.op_reg(None, w, &[0xf7], ext, rm);
    }

    /// Shift or rotate `rm` by `cl`: rol 0, ror 1, shl 4, shr 5, sar 7.
    pub fn shift_cl(&mut self, w: bool, ext: u8, rm: u8) {
        self.op_reg(None, w, &[0xd3], ext, rm);
    }

    /// Shift or rotate `rm` by an immediate (the same `ext` as
    /// [`Asm::shift_cl`]).
    pub fn shift_imm(&mut self, w: bool, ext: u8, rm: u8, by: u8) {
        self.op_reg(None, w, &[0xc1], ext, rm);
        self.byte(by);
    }

    /// `cdq` / `cqo`: sign-extend eax/rax into edx/rdx.
    pub fn sign_extend_ax(&mut self, w: bool) {
        self.rex(w, 0, 0, 0);
        self.byte(0x99);
    }

    /// lzcnt 0xbd, tzcnt 0xbc, popcnt 0xb8 (all F3-prefixed).
    pub fn bit_count(&mut self, w: bool, opcode: u8, dst: u8, src: u8) {
        self.op_reg(Some(0xf3), w, &[0x0f, opcode], dst, src);
    }

    /// `movsx`/`movzx` register forms: 8 or 16 bits of `src`.
    pub fn extend_rr(&mut self, w: bool, bits: u8, signed: bool, dst: u8, src: u8) {
        self.op_reg(None, w, &[0x0f, extend_opcode(bits, signed)], dst, src);
    }

    /// `setcc al` then `movzx eax, al`.
    pub fn set_eax(&mut self, cond: Cond) {
        self.op_reg(None, false, &[0x0f, 0x90 | cond as u8], 0, RAX);
        self.op_reg(None, false, &[0x0f, 0xb6], RAX, RAX);
    }

    /// `setcc cl`.
    pub fn set_cl(&mut self, cond: Cond) {
        self.op_reg(None, false, &[0x0f, 0x90 | cond as u8], 0, RCX);
    }

    pub fn cmov(&mut self, cond: Cond, dst: u8, src: u8) {
        self.op_reg(None, true, &[0x0f, 0x40 | cond as u8], dst, src);
    }

    // --- SSE (scalar) ---

    /// `op xmm, xmm/m` with a mandatory prefix (F2 for f64, F3 for f32,
    /// 66 for ucomisd) and `0F opcode`.
    pub fn sse_rr(&mut self, prefix: Option<u8>, w: bool, opcode: u8, dst: u8, src: u8) {
        self.op_reg(prefix, w, &[0x0f, opcode], dst, src);
    }

    pub fn sse_mem(&mut self, prefix: Option<u8>, opcode: u8, reg: u8, mem: Mem) {
        self.op_mem(prefix, false, &[0x0f, opcode], reg, mem);
    }

    /// `roundss`/`roundsd xmm, xmm, mode`.
    pub fn round(&mut self, double: bool, dst: u8, src: u8, mode: u8) {
        let op = if double { 0x0b } else { 0x0a };
        self.op_reg(Some(0x66), false, &[0x0f, 0x3a, op], dst, src);
        self.byte(mode);
    }

    /// `movq r64, xmm`.
    pub fn movq_from_xmm(&mut self, reg: u8, xmm: u8) {
        self.op_reg(Some(0x66), true, &[0x0f, 0x7e], xmm, reg);
    }

    /// `movq xmm, r64`.
    pub fn movq_to_xmm(&mut self, xmm: u8, reg: u8) {
        self.op_reg(Some(0x66), true, &[0x0f, 0x6e], xmm, reg);
    }

    // --- control ---

    pub fn jmp(&mut self, target: Label) {
        self.fixups.push((self.code.len() + 1, target));
        let mut inst = Inst::default();
        inst.extend(&[0xe9, 0, 0, 0, 0]);
        self.put(inst);
    }

    pub fn jcc(&mut self, cond: Cond, target: Label) {
        self.fixups.push((self.code.len() + 2, target));
        let mut inst = Inst::default();
        inst.extend(&[0x0f, 0x80 | cond as u8, 0, 0, 0, 0]);
        self.put(inst);
    }

    /// `call [mem]`.
    pub fn call_mem(&mut self, mem: Mem) {
        self.op_mem(None, false, &[0xff], 2, mem);
    }

    /// `jmp reg`.
    pub fn jmp_reg(&mut self, reg: u8) {
        self.op_reg(None, false, &[0xff], 4, reg);
    }

    pub fn push_rbp(&mut self) {
        self.byte(0x55);
    }

    pub fn pop_rbp(&mut self) {
        self.byte(0x5d);
    }

    /// `ret`, popping `bytes` of stack arguments too.
    pub fn ret(&mut self, bytes: u16) {
        if bytes == 0 {
            self.byte(0xc3);
        } else {
            self.byte(0xc2);
            self.code.extend_from_slice(&bytes.to_le_bytes());
        }
    }

    pub fn ud2(&mut self) {
        self.byte(0x0f);
        self.byte(0x0b);
    }

    /// `rep stosq`.
    pub fn rep_stosq(&mut self) {
        self.code.extend_from_slice(&[0xf3, 0x48, 0xab]);
    }
}

/// One instruction's bytes (x86 instructions are at most 15), kept in a
/// register: bytes stored one at a time into a stack buffer and then
/// copied out as 16 stalled on store forwarding in every instruction.
#[derive(Default)]
struct Inst {
    bytes: u128,
    len: usize,
}

impl Inst {
    fn push(&mut self, b: u8) {
        self.bytes |= u128::from(b) << (8 * self.len);
        self.len += 1;
    }

    fn extend(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.push(b);
        }
    }

    fn rex(&mut self, w: bool, reg: u8, index: u8, base: u8) {
        let rex = rex_byte(w, reg, index, base);
        if rex != 0x40 {
            self.push(rex);
        }
    }

    /// `[prefix] [REX] opcode`. Built with a few shifts by whole bytes,
    /// not byte by byte: every instruction starts here.
    #[inline(always)]
    fn opcode(prefix: Option<u8>, w: bool, opcode: &[u8], reg: u8, index: u8, base: u8) -> Self {
        let mut bytes = 0u64;
        let mut len = 0;
        if let Some(p) = prefix {
            bytes = u64::from(p);
            len = 1;
        }
        let rex = rex_byte(w, reg, index, base);
        if rex != 0x40 {
            bytes |= u64::from(rex) << (8 * len);
            len += 1;
        }
        // One or two opcode bytes (three for a few SSE4 ones).
        for &b in opcode {
            bytes |= u64::from(b) << (8 * len);
            len += 1;
        }
        Self {
            bytes: u128::from(bytes),
            len,
        }
    }

    /// `[prefix] [REX] opcode modrm(reg, mem)`: the ModRM (and SIB)
    /// bytes and displacement of `mem`, 8 bits when it fits (most frame
    /// slots), else 32. The tail (at most six bytes) is built apart and
    /// joined with one shift.
    #[inline(always)]
    fn mem(prefix: Option<u8>, w: bool, opcode: &[u8], reg: u8, mem: Mem) -> Self {
        let mut inst = Self::opcode(prefix, w, opcode, reg, mem.index.unwrap_or(0), mem.base);
        let short = !mem.wide && i8::try_from(mem.disp).is_ok();
        let mode: u64 = if short { 0x40 } else { 0x80 };
        let reg_bits = u64::from(reg & 7) << 3;
        let (address, address_len) = match mem.index {
            None if mem.base & 7 == RSP => (mode | reg_bits | 0b100 | 0x24 << 8, 2),
            None => (mode | reg_bits | u64::from(mem.base & 7), 1),
            Some(index) => {
                let sib = u64::from((index & 7) << 3 | (mem.base & 7));
                (mode | reg_bits | 0b100 | sib << 8, 2)
            }
        };
        let (disp, disp_len) = if short {
            (u64::from(mem.disp as u8), 1)
        } else {
            (u64::from(mem.disp as u32), 4)
        };
        let tail = address | disp << (8 * address_len);
        inst.bytes |= u128::from(tail) << (8 * inst.len);
        inst.len += address_len + disp_len;
        inst
    }

    /// `[prefix] [REX] opcode modrm(reg, rm)` with a register `rm`.
    #[inline(always)]
    fn reg(prefix: Option<u8>, w: bool, opcode: &[u8], reg: u8, rm: u8) -> Self {
        let mut inst = Self::opcode(prefix, w, opcode, reg, 0, rm);
        inst.push(0xc0 | (reg & 7) << 3 | (rm & 7));
        inst
    }
}

/// The REX prefix for 64-bit operand size `w` and the high bits of the
/// registers; 0x40 alone means none is needed.
fn rex_byte(w: bool, reg: u8, index: u8, base: u8) -> u8 {
    0x40 | (u8::from(w) << 3) | ((reg >> 3) & 1) << 2 | ((index >> 3) & 1) << 1 | ((base >> 3) & 1)
}

/// The second opcode byte of `movzx`/`movsx` from 8 or 16 bits.
fn extend_opcode(bits: u8, signed: bool) -> u8 {
    match (bits, signed) {
        (8, false) => 0xb6,
        (16, false) => 0xb7,
        (8, true) => 0xbe,
        _ => 0xbf,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(f: impl FnOnce(&mut Asm)) -> Vec<u8> {
        let mut a = Asm::default();
        f(&mut a);
        a.code
    }

    #[test]
    fn encodings_match_the_manual() {
        // mov rax, [rbp - 8]
        assert_eq!(
            bytes(|a| a.load(true, RAX, Mem::at(RBP, -8))),
            [0x48, 0x8b, 0x45, 0xf8]
        );
        // mov rax, [rbp - 4096]
        assert_eq!(
            bytes(|a| a.load(true, RAX, Mem::at(RBP, -4096))),
            [0x48, 0x8b, 0x85, 0x00, 0xf0, 0xff, 0xff]
        );
        // mov [rsp + 0], r9d
        assert_eq!(
            bytes(|a| a.store(false, Mem::at(RSP, 0), R9)),
            [0x44, 0x89, 0x4c, 0x24, 0]
        );
        // lea rax, [rsp + 0] with a 32-bit field
        assert_eq!(
            bytes(|a| a.lea(RAX, Mem::patchable(RSP))),
            [0x48, 0x8d, 0x84, 0x24, 0, 0, 0, 0]
        );
        // mov edx, [rcx + rax + 16]
        assert_eq!(
            bytes(|a| a.load(false, RDX, Mem::indexed(RCX, RAX, 16))),
            [0x8b, 0x54, 0x01, 16]
        );
        // add rax, rcx
        assert_eq!(
            bytes(|a| a.alu_rr(true, 0x01, RAX, RCX)),
            [0x48, 0x01, 0xc8]
        );
        // add rax, 8 / cmp ecx, 1000 / sub dword [rax], 1 / mov qword [rbp - 8], -2
        assert_eq!(bytes(|a| a.alu_imm(true, 0, RAX, 8)), [0x48, 0x83, 0xc0, 8]);
        assert_eq!(
            bytes(|a| a.alu_imm(false, 7, RCX, 1000)),
            [0x81, 0xf9, 0xe8, 0x03, 0, 0]
        );
        assert_eq!(
            bytes(|a| a.alu_mem_imm(false, 5, Mem::at(RAX, 0), 1)),
            [0x83, 0x68, 0, 1]
        );
        assert_eq!(
            bytes(|a| a.store_imm(true, Mem::at(RBP, -8), -2)),
            [0x48, 0xc7, 0x45, 0xf8, 0xfe, 0xff, 0xff, 0xff]
        );
        // imul eax, ecx / imul rax, rax, 247 / imul eax, eax, 5
        // imul eax, [rbp - 8]; add rax, [rbp - 16]; cmp eax, [rsp + 8]
        assert_eq!(
            bytes(|a| a.imul_mem(false, RAX, Mem::at(RBP, -8))),
            [0x0f, 0xaf, 0x45, 0xf8]
        );
        assert_eq!(
            bytes(|a| a.alu_mem(true, 0x01, RAX, Mem::at(RBP, -16))),
            [0x48, 0x03, 0x45, 0xf0]
        );
        assert_eq!(
            bytes(|a| a.alu_mem(false, 0x39, RAX, Mem::at(RSP, 8))),
            [0x3b, 0x44, 0x24, 0x08]
        );
        assert_eq!(
            bytes(|a| a.imul_imm(true, RAX, RAX, 247)),
            [0x48, 0x69, 0xc0, 0xf7, 0, 0, 0]
        );
        assert_eq!(bytes(|a| a.imul_imm(false, RAX, RAX, 5)), [0x6b, 0xc0, 5]);
        // shl rax, cl
        assert_eq!(bytes(|a| a.shift_cl(true, 4, RAX)), [0x48, 0xd3, 0xe0]);
        // addsd xmm0, xmm1
        assert_eq!(
            bytes(|a| a.sse_rr(Some(0xf2), false, 0x58, 0, 1)),
            [0xf2, 0x0f, 0x58, 0xc1]
        );
        // cvtsi2sd xmm0, rax
        assert_eq!(
            bytes(|a| a.sse_rr(Some(0xf2), true, 0x2a, 0, RAX)),
            [0xf2, 0x48, 0x0f, 0x2a, 0xc0]
        );
        // mov r11d, 1 / mov rax, -1 / movabs r11, 2^40
        assert_eq!(bytes(|a| a.mov_imm64(R11, 1)), [0x41, 0xbb, 1, 0, 0, 0]);
        assert_eq!(
            bytes(|a| a.mov_imm64(RAX, u64::MAX)),
            [0x48, 0xc7, 0xc0, 0xff, 0xff, 0xff, 0xff]
        );
        assert_eq!(
            bytes(|a| a.mov_imm64(R11, 1 << 40)),
            [0x49, 0xbb, 0, 0, 0, 0, 0, 1, 0, 0]
        );
        // call [r11 + 8]
        assert_eq!(
            bytes(|a| a.call_mem(Mem::at(R11, 8))),
            [0x41, 0xff, 0x53, 8]
        );
        // sete al; movzx eax, al
        assert_eq!(
            bytes(|a| a.set_eax(Cond::Equal)),
            [0x0f, 0x94, 0xc0, 0x0f, 0xb6, 0xc0]
        );
    }

    /// Instructions are appended whole: each starts where the last ended,
    /// however long (an 11-byte store of an immediate at a 32-bit
    /// displacement, then a 3-byte one).
    #[test]
    fn consecutive_instructions_are_appended_at_their_lengths() {
        let code = bytes(|a| {
            a.store_imm(true, Mem::at(RBP, -4096), 0x1234_5678);
            a.alu_rr(true, 0x01, RAX, RCX);
            a.jcc(Cond::Equal, Label(0));
        });
        assert_eq!(
            code,
            [
                0x48, 0xc7, 0x85, 0x00, 0xf0, 0xff, 0xff, 0x78, 0x56, 0x34, 0x12, // mov
                0x48, 0x01, 0xc8, // add
                0x0f, 0x84, 0, 0, 0, 0, // je (unpatched)
            ]
        );
    }

    /// x86 encodes each condition and its negation in pairs that differ
    /// in the lowest bit.
    #[test]
    fn a_negated_condition_is_its_pair() {
        use Cond::*;
        for cond in [
            Below,
            AboveEqual,
            Equal,
            NotEqual,
            BelowEqual,
            Above,
            Sign,
            NotSign,
            Parity,
            NoParity,
            Less,
            GreaterEqual,
            LessEqual,
            Greater,
        ] {
            assert_eq!(cond.negate() as u8, cond as u8 ^ 1, "{cond:?}");
            assert_eq!(cond.negate().negate(), cond);
        }
    }

    #[test]
    fn branches_are_patched_relative_to_their_end() {
        let mut a = Asm::default();
        let l = a.label();
        a.jmp(l);
        a.ud2();
        a.bind(l);
        let (code, _) = a.finish().expect("bound");
        assert_eq!(a.labels.len(), 1, "label lists stay for reuse");
        assert_eq!(code, [0xe9, 2, 0, 0, 0, 0x0f, 0x0b]);
    }
}
