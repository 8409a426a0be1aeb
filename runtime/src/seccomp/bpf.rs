//! Classic BPF as seccomp uses it: the instruction type the kernel loads and an
//! evaluator that runs a program on a made-up system call.
//!
//! The evaluator lets the runtime check a compiled filter before loading it
//! (does it let `execve` through?) and lets the tests check what a filter
//! decides for a system call, its architecture and arguments, without
//! installing anything.

use serde::{Deserialize, Serialize};

/// One instruction, laid out exactly like the kernel's `struct sock_filter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[repr(C)]
pub struct Insn {
    /// Opcode: class, size/operation, mode/source.
    pub code: u16,
    /// Jump offset when the condition holds.
    pub jt: u8,
    /// Jump offset when it does not.
    pub jf: u8,
    /// Constant operand.
    pub k: u32,
}

// The program is handed to the kernel as an array of `sock_filter`.
const _: () = {
    assert!(std::mem::size_of::<Insn>() == std::mem::size_of::<libc::sock_filter>());
    assert!(std::mem::align_of::<Insn>() == std::mem::align_of::<libc::sock_filter>());
    assert!(std::mem::offset_of!(Insn, jt) == std::mem::offset_of!(libc::sock_filter, jt));
    assert!(std::mem::offset_of!(Insn, jf) == std::mem::offset_of!(libc::sock_filter, jf));
    assert!(std::mem::offset_of!(Insn, k) == std::mem::offset_of!(libc::sock_filter, k));
};

/// Size of one instruction in the byte form libseccomp exports.
pub const INSN_SIZE: usize = 8;

/// Largest program the kernel accepts (`BPF_MAXINSNS`).
pub const MAX_INSNS: usize = 4096;

/// Offset of `nr` in `struct seccomp_data`.
pub const DATA_NR: u32 = 0;
/// Offset of `arch` in `struct seccomp_data`.
pub const DATA_ARCH: u32 = 4;

impl Insn {
    const fn new(code: u16, jt: u8, jf: u8, k: u32) -> Insn {
        Insn { code, jt, jf, k }
    }

    /// `ld [offset]`: a 32-bit word of `seccomp_data` into A.
    pub const fn load(offset: u32) -> Insn {
        Insn::new(0x20, 0, 0, offset)
    }

    /// `ja +k`: skip the next `k` instructions.
    pub const fn jump(k: u32) -> Insn {
        Insn::new(0x05, 0, 0, k)
    }

    /// `jeq #k`: skip `jt` instructions when A == k, else `jf`.
    pub const fn jeq(k: u32, jt: u8, jf: u8) -> Insn {
        Insn::new(0x15, jt, jf, k)
    }

    /// `jgt #k`: skip `jt` instructions when A > k, else `jf`.
    pub const fn jgt(k: u32, jt: u8, jf: u8) -> Insn {
        Insn::new(0x25, jt, jf, k)
    }

    /// `jge #k`: skip `jt` instructions when A >= k, else `jf`.
    pub const fn jge(k: u32, jt: u8, jf: u8) -> Insn {
        Insn::new(0x35, jt, jf, k)
    }

    /// `ret #k`: the filter's verdict.
    pub const fn ret(k: u32) -> Insn {
        Insn::new(0x06, 0, 0, k)
    }

    /// Decodes the exported (native byte order) form of a program; `None` when
    /// the length is not a whole number of instructions.
    pub fn parse_program(bytes: &[u8]) -> Option<Vec<Insn>> {
        let chunks = bytes.chunks_exact(INSN_SIZE);
        if !chunks.remainder().is_empty() {
            return None;
        }
        Some(
            chunks
                .map(|c| Insn {
                    code: u16::from_ne_bytes([c[0], c[1]]),
                    jt: c[2],
                    jf: c[3],
                    k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
                })
                .collect(),
        )
    }
}

/// Serde of a program as one string of hex digits, 16 per instruction
/// (`code`, `jt`, `jf`, `k`): compact, and independent of byte order.
///
/// ```
/// use nsinit_runtime::seccomp::bpf::{hex_program, Insn};
/// let prog = vec![Insn { code: 0x06, jt: 0, jf: 0, k: 0x7fff_0000 }];
/// let mut out = Vec::new();
/// hex_program::serialize(&prog, &mut serde_json::Serializer::new(&mut out)).unwrap();
/// assert_eq!(out, b"\"000600007fff0000\"");
/// ```
pub mod hex_program {
    use std::fmt::Write;

    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    use super::Insn;

    /// Writes the program as hex.
    pub fn serialize<S: Serializer>(program: &[Insn], s: S) -> Result<S::Ok, S::Error> {
        let mut out = String::with_capacity(program.len() * 16);
        for i in program {
            // Writing into a String cannot fail.
            let _ = write!(out, "{:04x}{:02x}{:02x}{:08x}", i.code, i.jt, i.jf, i.k);
        }
        s.serialize_str(&out)
    }

    /// Reads a program written by [`serialize`].
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Insn>, D::Error> {
        let text = String::deserialize(d)?;
        parse(&text).ok_or_else(|| D::Error::custom("not a BPF program in hex"))
    }

    fn parse(text: &str) -> Option<Vec<Insn>> {
        let bytes = text.as_bytes();
        let chunks = bytes.chunks_exact(16);
        if !chunks.remainder().is_empty() {
            return None;
        }
        chunks
            .map(|c| {
                let field = |r: std::ops::Range<usize>| {
                    std::str::from_utf8(&c[r])
                        .ok()
                        .filter(|f| f.bytes().all(|b| b.is_ascii_hexdigit()))
                        .and_then(|f| u32::from_str_radix(f, 16).ok())
                };
                Some(Insn {
                    code: u16::try_from(field(0..4)?).ok()?,
                    jt: u8::try_from(field(4..6)?).ok()?,
                    jf: u8::try_from(field(6..8)?).ok()?,
                    k: field(8..16)?,
                })
            })
            .collect()
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn round_trip_and_garbage() {
            let prog = vec![
                Insn {
                    code: 0x20,
                    jt: 0,
                    jf: 0,
                    k: 4,
                },
                Insn {
                    code: 0x15,
                    jt: 255,
                    jf: 7,
                    k: 0xc000_003e,
                },
            ];
            let mut out = Vec::new();
            serialize(&prog, &mut serde_json::Serializer::new(&mut out)).unwrap();
            let text: String = serde_json::from_slice(&out).unwrap();
            assert_eq!(parse(&text), Some(prog));
            assert_eq!(parse("0006"), None);
            assert_eq!(parse("00060000+fff0000"), None);
            assert_eq!(parse("0006000g7fff0000"), None);
            assert_eq!(parse(""), Some(vec![]));
        }
    }
}

/// `AUDIT_ARCH_*` values (the `arch` field of `struct seccomp_data`).
pub mod audit_arch {
    const ARCH_64BIT: u32 = 0x8000_0000;
    const ARCH_LE: u32 = 0x4000_0000;
    /// x86-64 (and x32, told apart by bit 30 of the system call number).
    pub const X86_64: u32 = 62 | ARCH_64BIT | ARCH_LE;
    /// i386.
    pub const I386: u32 = 3 | ARCH_LE;
    /// arm64.
    pub const AARCH64: u32 = 183 | ARCH_64BIT | ARCH_LE;

    /// The architecture this runtime is built for, where the runtime knows it.
    pub fn native() -> Option<u32> {
        if cfg!(target_arch = "x86_64") {
            Some(X86_64)
        } else if cfg!(target_arch = "aarch64") {
            Some(AARCH64)
        } else if cfg!(target_arch = "x86") {
            Some(I386)
        } else {
            None
        }
    }
}

/// The input of a filter: `struct seccomp_data`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SeccompData {
    /// System call number.
    pub nr: i32,
    /// `AUDIT_ARCH_*` of the calling convention.
    pub arch: u32,
    /// Instruction pointer.
    pub instruction_pointer: u64,
    /// The six arguments.
    pub args: [u64; 6],
}

impl SeccompData {
    fn bytes(&self) -> [u8; 64] {
        let mut b = [0u8; 64];
        b[0..4].copy_from_slice(&self.nr.to_ne_bytes());
        b[4..8].copy_from_slice(&self.arch.to_ne_bytes());
        b[8..16].copy_from_slice(&self.instruction_pointer.to_ne_bytes());
        for (i, a) in self.args.iter().enumerate() {
            b[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_ne_bytes());
        }
        b
    }
}

// Opcode fields.
const CLASS_LD: u16 = 0x00;
const CLASS_LDX: u16 = 0x01;
const CLASS_ST: u16 = 0x02;
const CLASS_STX: u16 = 0x03;
const CLASS_ALU: u16 = 0x04;
const CLASS_JMP: u16 = 0x05;
const CLASS_RET: u16 = 0x06;
const CLASS_MISC: u16 = 0x07;
const MODE_IMM: u16 = 0x00;
const MODE_ABS: u16 = 0x20;
const MODE_MEM: u16 = 0x60;
const MODE_LEN: u16 = 0x80;
const SIZE_W: u16 = 0x00;
const SRC_X: u16 = 0x08;
const RVAL_A: u16 = 0x10;

/// Runs `program` on `data` like the kernel does and returns the filter's
/// verdict (`SECCOMP_RET_*` with its data). `None` for a program the kernel
/// would not run to a verdict: an unknown or malformed instruction, a jump
/// out of the program, a load out of `seccomp_data`, a division by zero.
///
/// ```
/// use nsinit_runtime::seccomp::bpf::{evaluate, Insn, SeccompData};
/// // ld [0] (nr); jeq #39, allow, errno(1)
/// let prog = [
///     Insn { code: 0x20, jt: 0, jf: 0, k: 0 },
///     Insn { code: 0x15, jt: 0, jf: 1, k: 39 },
///     Insn { code: 0x06, jt: 0, jf: 0, k: libc::SECCOMP_RET_ALLOW },
///     Insn { code: 0x06, jt: 0, jf: 0, k: libc::SECCOMP_RET_ERRNO | 1 },
/// ];
/// let call = |nr| SeccompData { nr, ..SeccompData::default() };
/// assert_eq!(evaluate(&prog, &call(39)), Some(libc::SECCOMP_RET_ALLOW));
/// assert_eq!(evaluate(&prog, &call(40)), Some(libc::SECCOMP_RET_ERRNO | 1));
/// ```
pub fn evaluate(program: &[Insn], data: &SeccompData) -> Option<u32> {
    let input = data.bytes();
    let word = |k: u32| -> Option<u32> {
        let k = usize::try_from(k).ok()?;
        // Only aligned 32-bit words of seccomp_data may be loaded.
        if k & 3 != 0 {
            return None;
        }
        let b = input.get(k..k.checked_add(4)?)?;
        Some(u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
    };
    let (mut a, mut x) = (0u32, 0u32);
    let mut mem = [0u32; 16];
    let mut pc = 0usize;
    // Jumps only go forward, so every step moves pc on: the loop ends.
    loop {
        let i = *program.get(pc)?;
        pc += 1;
        let slot = || usize::try_from(i.k).ok().filter(|s| *s < mem.len());
        match i.code & 0x07 {
            CLASS_LD | CLASS_LDX => {
                let v = match i.code & 0xe0 {
                    MODE_IMM => i.k,
                    MODE_ABS if i.code & 0x18 == SIZE_W && i.code & 0x07 == CLASS_LD => word(i.k)?,
                    MODE_MEM => mem[slot()?],
                    MODE_LEN => 64,
                    _ => return None,
                };
                if i.code & 0x07 == CLASS_LD {
                    a = v;
                } else {
                    x = v;
                }
            }
            CLASS_ST => mem[slot()?] = a,
            CLASS_STX => mem[slot()?] = x,
            CLASS_ALU => {
                let src = if i.code & SRC_X != 0 { x } else { i.k };
                a = match i.code & 0xf0 {
                    0x00 => a.wrapping_add(src),
                    0x10 => a.wrapping_sub(src),
                    0x20 => a.wrapping_mul(src),
                    0x30 => a.checked_div(src)?,
                    0x40 => a | src,
                    0x50 => a & src,
                    0x60 => a.checked_shl(src).unwrap_or(0),
                    0x70 => a.checked_shr(src).unwrap_or(0),
                    0x80 => a.wrapping_neg(),
                    0x90 => a.checked_rem(src)?,
                    0xa0 => a ^ src,
                    _ => return None,
                };
            }
            CLASS_JMP => {
                let src = if i.code & SRC_X != 0 { x } else { i.k };
                let hit = match i.code & 0xf0 {
                    0x00 => {
                        pc = pc.checked_add(usize::try_from(i.k).ok()?)?;
                        continue;
                    }
                    0x10 => a == src,
                    0x20 => a > src,
                    0x30 => a >= src,
                    0x40 => a & src != 0,
                    _ => return None,
                };
                pc += usize::from(if hit { i.jt } else { i.jf });
            }
            CLASS_RET => {
                return Some(match i.code & 0x18 {
                    0x00 => i.k,
                    RVAL_A => a,
                    _ => return None,
                })
            }
            CLASS_MISC => match i.code & 0xf8 {
                0x00 => x = a,
                0x80 => a = x,
                _ => return None,
            },
            _ => return None,
        }
    }
}

/// The action part of a verdict (`SECCOMP_RET_ACTION_FULL`).
pub fn action_of(verdict: u32) -> u32 {
    verdict & libc::SECCOMP_RET_ACTION_FULL
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ins(code: u16, jt: u8, jf: u8, k: u32) -> Insn {
        Insn { code, jt, jf, k }
    }

    #[test]
    fn parses_exported_bytes() {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&0x20u16.to_ne_bytes());
        bytes.extend_from_slice(&[1, 2]);
        bytes.extend_from_slice(&16u32.to_ne_bytes());
        assert_eq!(Insn::parse_program(&bytes), Some(vec![ins(0x20, 1, 2, 16)]));
        assert_eq!(Insn::parse_program(&bytes[..7]), None);
    }

    #[test]
    fn loads_fields_of_seccomp_data() {
        let d = SeccompData {
            nr: 41,
            arch: audit_arch::X86_64,
            instruction_pointer: 0,
            args: [2, 0xdead_beef_0000_0001, 0, 0, 0, 0],
        };
        let ret_a = ins(0x16, 0, 0, 0);
        for (off, want) in [
            (0, 41),
            (4, audit_arch::X86_64),
            (16, 2),
            // args[1], low and high words (little-endian hosts keep the low word first).
            (
                24,
                if cfg!(target_endian = "little") {
                    1
                } else {
                    0xdead_beef
                },
            ),
        ] {
            assert_eq!(evaluate(&[ins(0x20, 0, 0, off), ret_a], &d), Some(want));
        }
        // Outside seccomp_data, or unaligned: no verdict.
        assert_eq!(evaluate(&[ins(0x20, 0, 0, 64), ret_a], &d), None);
        assert_eq!(evaluate(&[ins(0x20, 0, 0, 2), ret_a], &d), None);
    }

    #[test]
    fn jumps_alu_and_scratch() {
        // A = nr & 0xf0; M[3] = A; X = 0x30 (via A); A = M[3]; jgt X? 1 : 2
        let prog = [
            ins(0x20, 0, 0, 0),
            ins(0x54, 0, 0, 0xf0),
            ins(0x02, 0, 0, 3),
            ins(0x00, 0, 0, 0x30),
            ins(0x07, 0, 0, 0),
            ins(0x60, 0, 0, 3),
            ins(0x2d, 0, 1, 0),
            ins(0x06, 0, 0, 1),
            ins(0x06, 0, 0, 2),
        ];
        let call = |nr| SeccompData {
            nr,
            ..SeccompData::default()
        };
        assert_eq!(evaluate(&prog, &call(0x4f)), Some(1));
        assert_eq!(evaluate(&prog, &call(0x3f)), Some(2));
        // ja past the end.
        assert_eq!(evaluate(&[ins(0x05, 0, 0, 5)], &call(0)), None);
        // Falling off the end.
        assert_eq!(evaluate(&[ins(0x20, 0, 0, 0)], &call(0)), None);
    }
}
