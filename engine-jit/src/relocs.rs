//! The relocations generated code may carry: references from one function
//! of a module to another (calls, and a function's own address), patched
//! once the module's code is laid out. Anything else is refused, which keeps
//! code position-independent (see RATIONALE.md, "Calling convention").
//!
//! These depend on the *target* instruction set, which for
//! `wasmtier compile --target` is not the host's, so they live here rather
//! than in `arch/`.

use cranelift_codegen::binemit::Reloc;

use crate::error::LayoutError;

/// How a reference inside the module is patched once its target is placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallReloc {
    /// x86-64: a 32-bit little-endian `target - site + addend`.
    PcRel32,
    /// aarch64 `bl`: `(target - site + addend) / 4` in the low 26 bits.
    Arm64Call,
    /// aarch64 `adrp`: the 4 KiB page of `target + addend` relative to the
    /// site's page, in the instruction's split 21-bit immediate.
    Arm64AdrPage21,
    /// aarch64 `add` (immediate) after an `adrp`: the low 12 bits of
    /// `target + addend`.
    Arm64AddLo12,
}

impl CallReloc {
    pub fn of(kind: Reloc) -> Option<Self> {
        match kind {
            Reloc::X86CallPCRel4 | Reloc::X86PCRel4 => Some(Self::PcRel32),
            Reloc::Arm64Call => Some(Self::Arm64Call),
            Reloc::Aarch64AdrPrelPgHi21 => Some(Self::Arm64AdrPage21),
            Reloc::Aarch64AddAbsLo12Nc => Some(Self::Arm64AddLo12),
            _ => None,
        }
    }

    /// Patches the reference at `site` (an offset into `code`) to `target`
    /// (an offset too). Page-relative forms assume the code is loaded at a
    /// 4 KiB-aligned address, which every code mapping is.
    pub fn apply(
        self,
        code: &mut [u8],
        site: usize,
        target: usize,
        addend: i64,
    ) -> Result<(), LayoutError> {
        self.apply_at(code, site, target, addend, 0)
    }

    /// [`Self::apply`] for `code` that will lie at `origin` bytes past a
    /// 4 KiB-aligned address (the lazy JIT places each function on its own
    /// inside a page-aligned arena).
    pub fn apply_at(
        self,
        code: &mut [u8],
        site: usize,
        target: usize,
        addend: i64,
        origin: usize,
    ) -> Result<(), LayoutError> {
        let destination = (origin + target) as i64 + addend;
        let at = (origin + site) as i64;
        let delta = destination - at;
        let bytes: &mut [u8; 4] = code
            .get_mut(site..site + 4)
            .and_then(|b| b.try_into().ok())
            .ok_or(LayoutError::RelocationOutside)?;
        let insn = u32::from_le_bytes(*bytes);
        let patched = match self {
            Self::PcRel32 => {
                let value = i32::try_from(delta).map_err(|_| LayoutError::RelocationRange)?;
                value as u32
            }
            Self::Arm64Call => {
                if delta % 4 != 0 || !(-(1 << 27)..(1 << 27)).contains(&delta) {
                    return Err(LayoutError::RelocationRange);
                }
                let imm = ((delta >> 2) as u32) & 0x03ff_ffff;
                (insn & !0x03ff_ffff) | imm
            }
            Self::Arm64AdrPage21 => {
                let pages = (destination >> 12) - (at >> 12);
                if !(-(1 << 20)..(1 << 20)).contains(&pages) {
                    return Err(LayoutError::RelocationRange);
                }
                let imm = pages as u32;
                let (immlo, immhi) = (imm & 0x3, (imm >> 2) & 0x7_ffff);
                (insn & !((0x3 << 29) | (0x7_ffff << 5))) | (immlo << 29) | (immhi << 5)
            }
            Self::Arm64AddLo12 => {
                let lo12 = (destination as u32) & 0xfff;
                (insn & !(0xfff << 10)) | (lo12 << 10)
            }
        };
        *bytes = patched.to_le_bytes();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patch(kind: CallReloc, insn: u32, site: usize, target: usize) -> u32 {
        let mut code = vec![0u8; 0x10000];
        code[site..site + 4].copy_from_slice(&insn.to_le_bytes());
        kind.apply(&mut code, site, target, 0).unwrap();
        u32::from_le_bytes(code[site..site + 4].try_into().unwrap())
    }

    #[test]
    fn x86_and_arm_calls_are_pc_relative() {
        assert_eq!(patch(CallReloc::PcRel32, 0, 0x100, 0x80), (-0x80i32) as u32);
        // `bl` with imm26 = (0x2000 - 0x1000) / 4.
        assert_eq!(
            patch(CallReloc::Arm64Call, 0x9400_0000, 0x1000, 0x2000),
            0x9400_0400
        );
    }

    #[test]
    fn adrp_and_add_split_a_target_into_its_page_and_offset() {
        // `adrp x0, <page>`: two pages ahead.
        let adrp = patch(CallReloc::Arm64AdrPage21, 0x9000_0000, 0x1ffc, 0x3abc);
        let imm = ((adrp >> 29) & 3) | (((adrp >> 5) & 0x7_ffff) << 2);
        assert_eq!(imm, 2);
        assert_eq!(adrp & 0x1f, 0, "the destination register is kept");
        // `add x0, x0, #lo12`.
        let add = patch(CallReloc::Arm64AddLo12, 0x9100_0000, 0x2000, 0x3abc);
        assert_eq!((add >> 10) & 0xfff, 0xabc);
        assert_eq!(add & !(0xfff << 10), 0x9100_0000);
    }

    #[test]
    fn out_of_range_and_outside_the_code_are_refused() {
        let mut code = vec![0u8; 8];
        assert!(matches!(
            CallReloc::Arm64Call.apply(&mut code, 0, 1 << 28, 0),
            Err(LayoutError::RelocationRange)
        ));
        assert!(matches!(
            CallReloc::PcRel32.apply(&mut code, 6, 0, 0),
            Err(LayoutError::RelocationOutside)
        ));
    }
}
