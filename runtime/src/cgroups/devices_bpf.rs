//! cgroup v2 device rules: an eBPF program of type `BPF_PROG_TYPE_CGROUP_DEVICE`
//! attached to the container's cgroup.
//!
//! cgroup v2 has no `devices.allow`/`devices.deny` files: the kernel asks the
//! eBPF programs attached to the cgroup (and its ancestors) whether a device
//! may be opened or made. `cgroups-rs` has no support for this, so it is
//! written here: the rules are compiled into a short program, loaded with
//! `bpf(BPF_PROG_LOAD)`, attached with `BPF_F_ALLOW_MULTI`, and then the
//! programs attached before (an earlier `apply`) are detached, so a live
//! update never leaves a moment without rules.
//!
//! The program sees `{access_type, major, minor}` (access_type: device type
//! in the low 16 bits, `1` block / `2` char; access in the high 16 bits,
//! `1` mknod / `2` read / `4` write). Rules are tried from the last to the
//! first and the first that matches decides, so later rules override earlier
//! ones as they do when written one by one to v1's files; nothing matching
//! means deny (the v1 "deny all, then allow" model). A rule matches when the
//! type and numbers fit (`-1` is a wildcard) and the access asked for is
//! within the rule's permissions; a rule of type `a` matches every device.

use std::ffi::c_void;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

use nsinit_configs::{Device, DeviceType};

use super::error::CgroupError;

/// One eBPF instruction (`struct bpf_insn`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Insn {
    code: u8,
    /// dst register in the low nibble, src register in the high one.
    regs: u8,
    off: i16,
    imm: i32,
}

const fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        regs: (src << 4) | (dst & 0x0f),
        off,
        imm,
    }
}

// Opcodes (class | size/op | source) from linux/bpf_common.h and linux/bpf.h.
const LDX_MEM_W: u8 = 0x61; // BPF_LDX | BPF_MEM | BPF_W
const ALU32_AND_K: u8 = 0x54; // BPF_ALU | BPF_AND | BPF_K
const ALU32_RSH_K: u8 = 0x74; // BPF_ALU | BPF_RSH | BPF_K
const MOV64_X: u8 = 0xbf; // BPF_ALU64 | BPF_MOV | BPF_X
const MOV64_K: u8 = 0xb7; // BPF_ALU64 | BPF_MOV | BPF_K
const JNE_K: u8 = 0x55; // BPF_JMP | BPF_JNE | BPF_K
const JNE_X: u8 = 0x5d; // BPF_JMP | BPF_JNE | BPF_X
const EXIT: u8 = 0x95; // BPF_JMP | BPF_EXIT

// bpf(2) commands and constants.
const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_DETACH: libc::c_long = 9;
const BPF_PROG_GET_FD_BY_ID: libc::c_long = 13;
const BPF_PROG_QUERY: libc::c_long = 16;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;

const DEV_BLOCK: i32 = 1;
const DEV_CHAR: i32 = 2;
const ACC_MKNOD: i32 = 1;
const ACC_READ: i32 = 2;
const ACC_WRITE: i32 = 4;

/// The access bits of a permission string (`rwm`; empty means all).
fn access_bits(perms: &str) -> Option<i32> {
    if perms.is_empty() {
        return Some(ACC_MKNOD | ACC_READ | ACC_WRITE);
    }
    perms.chars().try_fold(0, |acc, c| match c {
        'r' => Some(acc | ACC_READ),
        'w' => Some(acc | ACC_WRITE),
        'm' => Some(acc | ACC_MKNOD),
        _ => None,
    })
}

/// Compiles the rules into a program. `allow_all` gives a program that
/// allows everything (the v1 `a` allow).
pub(crate) fn program(rules: &[Device], allow_all: bool) -> Result<Vec<Insn>, CgroupError> {
    if allow_all {
        return Ok(vec![insn(MOV64_K, 0, 0, 0, 1), insn(EXIT, 0, 0, 0, 0)]);
    }
    // r1 = ctx; r2 = type, r3 = access, r4 = major, r5 = minor.
    let mut prog = vec![
        insn(LDX_MEM_W, 2, 1, 0, 0),
        insn(ALU32_AND_K, 2, 0, 0, 0xffff),
        insn(LDX_MEM_W, 3, 1, 0, 0),
        insn(ALU32_RSH_K, 3, 0, 0, 16),
        insn(LDX_MEM_W, 4, 1, 4, 0),
        insn(LDX_MEM_W, 5, 1, 8, 0),
    ];
    for d in rules.iter().rev() {
        let mut block = Vec::new();
        match d.kind {
            // FIFOs are not device-controlled.
            DeviceType::Fifo => continue,
            DeviceType::All => {}
            kind => {
                let ty = if kind == DeviceType::Block {
                    DEV_BLOCK
                } else {
                    DEV_CHAR
                };
                block.push(insn(JNE_K, 2, 0, 0, ty));
                let bits =
                    access_bits(&d.permissions).ok_or_else(|| CgroupError::InvalidValue {
                        setting: "allowed_devices",
                        value: d.cgroup_rule(),
                        reason: "permissions must be made of r, w and m".to_string(),
                    })?;
                if bits != ACC_MKNOD | ACC_READ | ACC_WRITE {
                    // Allowed only when (access & bits) == access.
                    block.push(insn(MOV64_X, 1, 3, 0, 0));
                    block.push(insn(ALU32_AND_K, 1, 0, 0, bits));
                    block.push(insn(JNE_X, 1, 3, 0, 0));
                }
                for (reg, n) in [(4u8, d.major), (5u8, d.minor)] {
                    if n >= 0 {
                        let n = i32::try_from(n).map_err(|_| CgroupError::InvalidValue {
                            setting: "allowed_devices",
                            value: d.cgroup_rule(),
                            reason: "device number out of range".to_string(),
                        })?;
                        block.push(insn(JNE_K, reg, 0, 0, n));
                    }
                }
            }
        }
        block.push(insn(MOV64_K, 0, 0, 0, i32::from(d.allow)));
        block.push(insn(EXIT, 0, 0, 0, 0));
        // Each test jumps past the end of its block when it fails.
        let len = block.len();
        for (i, ins) in block.iter_mut().enumerate() {
            if ins.code == JNE_K || ins.code == JNE_X {
                // Blocks are at most 9 instructions long, so this fits.
                ins.off = i16::try_from(len - 1 - i).unwrap_or(i16::MAX);
            }
        }
        prog.extend(block);
    }
    prog.push(insn(MOV64_K, 0, 0, 0, 0));
    prog.push(insn(EXIT, 0, 0, 0, 0));
    Ok(prog)
}

#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

#[repr(C)]
#[derive(Default)]
struct AttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
}

#[repr(C)]
#[derive(Default)]
struct QueryAttr {
    target_fd: u32,
    attach_type: u32,
    query_flags: u32,
    attach_flags: u32,
    prog_ids: u64,
    prog_cnt: u32,
    _pad: u32,
}

#[repr(C)]
#[derive(Default)]
struct GetFdByIdAttr {
    prog_id: u32,
    next_id: u32,
    open_flags: u32,
}

/// Calls `bpf(cmd, attr, sizeof attr)`.
fn bpf<T>(cmd: libc::c_long, attr: &mut T) -> io::Result<libc::c_long> {
    // SAFETY: `attr` is one of the #[repr(C)] attribute structs above, fully
    // initialised and alive for the call; the size passed is its own, and
    // every pointer stored in it refers to a buffer that outlives the call
    // with the length stored next to it.
    let r = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut T as *mut c_void,
            std::mem::size_of::<T>() as libc::c_uint,
        )
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn owned_fd(r: libc::c_long) -> io::Result<OwnedFd> {
    let fd = RawFd::try_from(r).map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?;
    // SAFETY: the kernel just returned this new fd to us and nothing else
    // owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn fd_u32(fd: &impl AsRawFd) -> u32 {
    // fds are never negative once opened.
    u32::try_from(fd.as_raw_fd()).unwrap_or(u32::MAX)
}

fn load(prog: &[Insn], log: Option<&mut Vec<u8>>) -> io::Result<OwnedFd> {
    let license = b"Apache-2.0\0";
    let mut attr = ProgLoadAttr {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: u32::try_from(prog.len())
            .map_err(|_| io::Error::from_raw_os_error(libc::E2BIG))?,
        insns: prog.as_ptr() as u64,
        license: license.as_ptr() as u64,
        ..Default::default()
    };
    attr.prog_name[..7].copy_from_slice(b"nsinit\0");
    if let Some(buf) = log {
        attr.log_level = 1;
        attr.log_size = u32::try_from(buf.len()).unwrap_or(u32::MAX);
        attr.log_buf = buf.as_mut_ptr() as u64;
    }
    owned_fd(bpf(BPF_PROG_LOAD, &mut attr)?)
}

/// The ids of the device programs attached to the cgroup itself.
fn attached(dir: &File) -> io::Result<Vec<u32>> {
    let mut ids = vec![0u32; 64];
    loop {
        let mut attr = QueryAttr {
            target_fd: fd_u32(dir),
            attach_type: BPF_CGROUP_DEVICE,
            prog_ids: ids.as_mut_ptr() as u64,
            prog_cnt: u32::try_from(ids.len()).unwrap_or(u32::MAX),
            ..Default::default()
        };
        match bpf(BPF_PROG_QUERY, &mut attr) {
            Ok(_) => {
                ids.truncate(attr.prog_cnt as usize);
                return Ok(ids);
            }
            Err(e) if e.raw_os_error() == Some(libc::ENOSPC) && ids.len() < 65536 => {
                ids = vec![0; ids.len() * 4];
            }
            Err(e) => return Err(e),
        }
    }
}

/// Installs the rules as the device filter of the v2 cgroup `dir`,
/// replacing the one installed before.
pub(crate) fn install(dir: &Path, rules: &[Device], allow_all: bool) -> Result<(), CgroupError> {
    let fail = |step: &str| {
        let step = step.to_string();
        move |source: io::Error| CgroupError::DeviceFilter {
            step,
            path: dir.to_path_buf(),
            source,
        }
    };
    let prog = program(rules, allow_all)?;
    let cgroup = File::open(dir).map_err(fail("open cgroup directory"))?;
    let old = attached(&cgroup).map_err(fail("query attached programs"))?;
    let fd = match load(&prog, None) {
        Ok(fd) => fd,
        Err(e) => {
            // Load again with the verifier's log, to say why.
            let mut log = vec![0u8; 64 * 1024];
            let _ = load(&prog, Some(&mut log));
            let text = String::from_utf8_lossy(&log);
            let first = text
                .trim_matches('\0')
                .lines()
                .last()
                .unwrap_or("")
                .to_string();
            return Err(fail(&format!(
                "load program ({} instructions; verifier: {first})",
                prog.len()
            ))(e));
        }
    };
    let mut attach = AttachAttr {
        target_fd: fd_u32(&cgroup),
        attach_bpf_fd: fd_u32(&fd),
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
        ..Default::default()
    };
    bpf(BPF_PROG_ATTACH, &mut attach).map_err(fail("attach program"))?;
    for id in old {
        let mut get = GetFdByIdAttr {
            prog_id: id,
            ..Default::default()
        };
        let old_fd = match bpf(BPF_PROG_GET_FD_BY_ID, &mut get).and_then(owned_fd) {
            Ok(fd) => fd,
            // Already gone.
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => continue,
            Err(e) => return Err(fail("open previous program")(e)),
        };
        let mut detach = AttachAttr {
            target_fd: fd_u32(&cgroup),
            attach_bpf_fd: fd_u32(&old_fd),
            attach_type: BPF_CGROUP_DEVICE,
            ..Default::default()
        };
        match bpf(BPF_PROG_DETACH, &mut detach) {
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
            Err(e) => return Err(fail("detach previous program")(e)),
        }
    }
    Ok(())
}

/// Ids of the device programs attached to `dir` (for tests and diagnostics).
#[cfg(test)]
pub(crate) fn attached_ids(dir: &Path) -> io::Result<Vec<u32>> {
    attached(&File::open(dir)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use nsinit_configs::defaults::default_allowed_devices;

    fn rule(kind: DeviceType, major: i64, minor: i64, perms: &str, allow: bool) -> Device {
        Device {
            kind,
            path: String::new(),
            major,
            minor,
            permissions: perms.into(),
            file_mode: 0,
            uid: 0,
            gid: 0,
            allow,
        }
    }

    /// A tiny interpreter of the instructions this module emits, to check
    /// the program's decisions without a kernel.
    fn run(prog: &[Insn], ty: i32, access: i32, major: i32, minor: i32) -> i64 {
        let ctx = [(access << 16) | ty, major, minor];
        let mut r = [0i64; 11];
        let mut pc = 0usize;
        loop {
            let i = prog[pc];
            let (dst, src) = ((i.regs & 0xf) as usize, (i.regs >> 4) as usize);
            pc += 1;
            match i.code {
                LDX_MEM_W => r[dst] = i64::from(ctx[(i.off / 4) as usize] as u32),
                ALU32_AND_K => r[dst] = i64::from((r[dst] as u32) & (i.imm as u32)),
                ALU32_RSH_K => r[dst] = i64::from((r[dst] as u32) >> i.imm),
                MOV64_X => r[dst] = r[src],
                MOV64_K => r[dst] = i64::from(i.imm),
                JNE_K if r[dst] != i64::from(i.imm) => pc += i.off as usize,
                JNE_X if r[dst] != r[src] => pc += i.off as usize,
                JNE_K | JNE_X => {}
                EXIT => return r[0],
                c => panic!("unexpected opcode {c:#x}"),
            }
        }
    }

    #[test]
    fn default_rules_allow_the_default_devices_only() {
        let p = program(&default_allowed_devices(), false).unwrap();
        // /dev/null read+write, /dev/zero read.
        assert_eq!(run(&p, DEV_CHAR, ACC_READ | ACC_WRITE, 1, 3), 1);
        assert_eq!(run(&p, DEV_CHAR, ACC_READ, 1, 5), 1);
        // mknod of anything, but not opening it.
        assert_eq!(run(&p, DEV_BLOCK, ACC_MKNOD, 8, 0), 1);
        assert_eq!(run(&p, DEV_BLOCK, ACC_READ, 8, 0), 0);
        // /dev/pts/N.
        assert_eq!(run(&p, DEV_CHAR, ACC_WRITE, 136, 7), 1);
        // /dev/mem is not in the list.
        assert_eq!(run(&p, DEV_CHAR, ACC_READ, 1, 1), 0);
    }

    #[test]
    fn later_rules_override_earlier_ones() {
        let rules = [
            rule(DeviceType::All, -1, -1, "rwm", true),
            rule(DeviceType::Char, 1, 3, "w", false),
        ];
        let p = program(&rules, false).unwrap();
        assert_eq!(run(&p, DEV_CHAR, ACC_WRITE, 1, 3), 0);
        assert_eq!(run(&p, DEV_CHAR, ACC_READ, 1, 3), 1);
        assert_eq!(run(&p, DEV_BLOCK, ACC_READ, 8, 0), 1);
        let p = program(&rules[..1], false).unwrap();
        assert_eq!(run(&p, DEV_CHAR, ACC_READ, 4, 4), 1);
    }

    #[test]
    fn partial_permissions_and_allow_all() {
        let p = program(&[rule(DeviceType::Char, 1, 9, "r", true)], false).unwrap();
        assert_eq!(run(&p, DEV_CHAR, ACC_READ, 1, 9), 1);
        assert_eq!(run(&p, DEV_CHAR, ACC_READ | ACC_WRITE, 1, 9), 0);
        let p = program(&[], true).unwrap();
        assert_eq!(run(&p, DEV_BLOCK, ACC_WRITE, 8, 0), 1);
        let p = program(&[], false).unwrap();
        assert_eq!(run(&p, DEV_CHAR, ACC_READ, 1, 3), 0);
    }

    #[test]
    fn bad_permissions_are_refused() {
        let e = program(&[rule(DeviceType::Char, 1, 3, "rx", true)], false).unwrap_err();
        assert!(e.to_string().contains("c 1:3 rx"), "{e}");
    }
}
