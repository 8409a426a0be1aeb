//! `ENOSYS` for system calls newer than the profile, as runc answers them.
//!
//! A profile names the system calls that existed when it was written. A call
//! the kernel gained later meets the profile's default action, and when that
//! denies (`EPERM`, kill, trap) programs that try the new call and fall back
//! on `ENOSYS` — glibc's `clone3` in `pthread_create`, `fchmodat2`,
//! `faccessat2`, ... — break instead of using the older call. So, as runc
//! does, a call numbered above the largest number the profile names for its
//! architecture returns `ENOSYS`, what a kernel without it would say.
//!
//! The [`stub`] runs before everything else, one group per architecture:
//!
//! ```text
//!   ld  [arch]
//!   jeq AUDIT_ARCH_<a>, +1, +0
//!   ja  <past this group>
//!   ld  [nr]
//!   jge 0x40000000, <past>, +0   (x86-64 only: x32 calls are left to the rest)
//!   jgt <largest named>, +0, +1
//!   ret ERRNO(ENOSYS)
//! ```
//!
//! It is left out when the default action lets calls through (allow, log),
//! hands them to a tracer, or already is `ENOSYS`.

use libseccomp::{ScmpAction, ScmpArch, ScmpSyscall};

use super::bpf::{audit_arch, Insn};
use super::newer;

/// Whether a filter with this default action gets the stub.
pub(super) fn wanted(default: ScmpAction) -> bool {
    match default {
        ScmpAction::Errno(e) => e != libc::ENOSYS,
        ScmpAction::KillThread | ScmpAction::KillProcess | ScmpAction::Trap => true,
        _ => false,
    }
}

/// The largest number any of `names` has on `arch` (through libseccomp, or
/// the unified numbering of newer calls); `None` when none has one there.
pub(super) fn largest(arch: ScmpArch, names: &[&str]) -> Option<u32> {
    names
        .iter()
        .filter_map(|name| match ScmpSyscall::from_name_by_arch(name, arch) {
            // Negative numbers are libseccomp's pseudo system calls (a call
            // the architecture lacks, or multiplexes).
            Ok(nr) => u32::try_from(nr.as_raw_syscall()).ok(),
            Err(_) => newer::number(name),
        })
        .max()
}

/// The stub for `arches`, each with the largest number the profile names
/// there. Architectures it cannot place (x32, which shares x86-64's
/// `AUDIT_ARCH`, and those `newer.rs` does not cover) are left out.
pub(super) fn stub(arches: &[(ScmpArch, u32)]) -> Vec<Insn> {
    let enosys = Insn::ret(libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32);
    let mut out = Vec::new();
    for (arch, max) in arches {
        let Some((audit, 0)) = newer::target(*arch) else {
            continue;
        };
        let mut body = Vec::new();
        if audit == audit_arch::X86_64 {
            body.push(Insn::jge(newer::X32_SYSCALL_BIT, 2, 0));
        }
        body.push(Insn::jgt(*max, 0, 1));
        body.push(enosys);
        out.extend(newer::arch_group(audit, body));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seccomp::newer::{run_prefix as run, FALLTHROUGH as REST};

    #[test]
    fn only_denying_defaults_get_it() {
        assert!(wanted(ScmpAction::Errno(libc::EPERM)));
        assert!(wanted(ScmpAction::KillProcess));
        assert!(wanted(ScmpAction::KillThread));
        assert!(wanted(ScmpAction::Trap));
        assert!(!wanted(ScmpAction::Errno(libc::ENOSYS)));
        assert!(!wanted(ScmpAction::Allow));
        assert!(!wanted(ScmpAction::Log));
        assert!(!wanted(ScmpAction::Trace(1)));
    }

    #[test]
    fn largest_named_number_per_architecture() {
        let names = ["read", "mkdir", "no_such_call", "mseal"];
        // mseal is 462 everywhere, whether libseccomp knows it or not.
        assert_eq!(largest(ScmpArch::X8664, &names), Some(462));
        assert_eq!(largest(ScmpArch::X86, &names), Some(462));
        // read (0) and mkdir (83) on x86-64; mkdir is 39 on i386.
        assert_eq!(largest(ScmpArch::X8664, &["read", "mkdir"]), Some(83));
        assert_eq!(largest(ScmpArch::X86, &["read", "mkdir"]), Some(39));
        assert_eq!(largest(ScmpArch::X8664, &["no_such_call"]), None);
    }

    #[test]
    fn calls_above_the_largest_get_enosys() {
        let s = stub(&[
            (ScmpArch::X8664, 300),
            (ScmpArch::X86, 200),
            (ScmpArch::X32, 9),
        ]);
        let enosys = Some(libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32);
        assert_eq!(run(&s, 300, audit_arch::X86_64), Some(REST));
        assert_eq!(run(&s, 301, audit_arch::X86_64), enosys);
        assert_eq!(run(&s, 200, audit_arch::I386), Some(REST));
        assert_eq!(run(&s, 201, audit_arch::I386), enosys);
        // x32 calls go on to the rest of the filter.
        assert_eq!(run(&s, 0x4000_0000 | 500, audit_arch::X86_64), Some(REST));
        // So do calls of an architecture outside the filter.
        assert_eq!(run(&s, 1000, audit_arch::AARCH64), Some(REST));
    }
}
