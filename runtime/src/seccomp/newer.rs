//! Rules for system calls newer than the libseccomp the runtime links.
//!
//! libseccomp resolves a name through its own tables, so a name newer than
//! the library (Debian bookworm's 2.5.4 knows nothing after
//! `set_mempolicy_home_node`, 450) gets no rule: the call meets the default
//! action. With Docker's profile that is `EPERM` for `fchmodat2`, `cachestat`,
//! `futex_wait`, `mseal`, ... which the profile allows — and glibc falls back
//! to older calls only on `ENOSYS`, so programs fail.
//!
//! Since Linux 5.1 a new system call gets one number on every architecture
//! (424, `pidfd_send_signal`, onwards; x32 adds its bit 30), so these names
//! have known numbers without libseccomp. Their rules, when they carry no
//! argument conditions, go into a short [`prefix`] in front of libseccomp's
//! program, one group per architecture of the filter:
//!
//! ```text
//!   ld  [arch]
//!   jeq AUDIT_ARCH_<a>, +1, +0
//!   ja  <past this group>
//!   ld  [nr]
//!   jeq <nr>, +0, +1      ┐ one pair per rule
//!   ret <action>          ┘
//! ```
//!
//! libseccomp's program has no rule for these numbers, so deciding them first
//! changes nothing else; a call that no group decides goes on to it.

use libseccomp::{ScmpAction, ScmpArch};

use super::bpf::{audit_arch, Insn, DATA_ARCH, DATA_NR};

/// System calls numbered alike on every architecture (Linux 5.1 onwards).
const UNIFIED: &[(&str, u32)] = &[
    ("pidfd_send_signal", 424),
    ("io_uring_setup", 425),
    ("io_uring_enter", 426),
    ("io_uring_register", 427),
    ("open_tree", 428),
    ("move_mount", 429),
    ("fsopen", 430),
    ("fsconfig", 431),
    ("fsmount", 432),
    ("fspick", 433),
    ("pidfd_open", 434),
    ("clone3", 435),
    ("close_range", 436),
    ("openat2", 437),
    ("pidfd_getfd", 438),
    ("faccessat2", 439),
    ("process_madvise", 440),
    ("epoll_pwait2", 441),
    ("mount_setattr", 442),
    ("quotactl_fd", 443),
    ("landlock_create_ruleset", 444),
    ("landlock_add_rule", 445),
    ("landlock_restrict_self", 446),
    ("memfd_secret", 447),
    ("process_mrelease", 448),
    ("futex_waitv", 449),
    ("set_mempolicy_home_node", 450),
    ("cachestat", 451),
    ("fchmodat2", 452),
    ("map_shadow_stack", 453),
    ("futex_wake", 454),
    ("futex_wait", 455),
    ("futex_requeue", 456),
    ("statmount", 457),
    ("listmount", 458),
    ("lsm_get_self_attr", 459),
    ("lsm_set_self_attr", 460),
    ("lsm_list_modules", 461),
    ("mseal", 462),
    ("setxattrat", 463),
    ("getxattrat", 464),
    ("listxattrat", 465),
    ("removexattrat", 466),
    ("open_tree_attr", 467),
    ("file_getattr", 468),
    ("file_setattr", 469),
];

/// The x32 ABI's bit in the system call number.
pub(super) const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// The unified number of a system call name, if it is one.
pub(super) fn number(name: &str) -> Option<u32> {
    UNIFIED.iter().find(|(n, _)| *n == name).map(|(_, nr)| *nr)
}

/// How an architecture's calls look in `seccomp_data`: its `AUDIT_ARCH_*`
/// and the bits its numbers carry; `None` for one this module does not cover.
pub(super) fn target(arch: ScmpArch) -> Option<(u32, u32)> {
    const ARCH_64BIT: u32 = 0x8000_0000;
    const ARCH_LE: u32 = 0x4000_0000;
    Some(match arch {
        ScmpArch::X8664 => (audit_arch::X86_64, 0),
        ScmpArch::X32 => (audit_arch::X86_64, X32_SYSCALL_BIT),
        ScmpArch::X86 => (audit_arch::I386, 0),
        ScmpArch::Aarch64 => (audit_arch::AARCH64, 0),
        // EM_ARM (40), EABI numbering.
        ScmpArch::Arm => (40 | ARCH_LE, 0),
        // EM_RISCV (243).
        ScmpArch::Riscv64 => (243 | ARCH_64BIT | ARCH_LE, 0),
        _ => return None,
    })
}

/// Whether [`prefix`] can cover every one of `arches`.
pub(super) fn covers(arches: &[ScmpArch]) -> bool {
    arches.iter().all(|a| target(*a).is_some())
}

/// A rule for a system call this libseccomp does not know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Rule {
    /// Its unified number.
    pub nr: u32,
    /// What the filter returns for it.
    pub action: ScmpAction,
}

/// The prefix deciding `rules` for each of `arches` (all [`covers`]ed); empty
/// when there are no rules. The first rule of a number wins.
pub(super) fn prefix(arches: &[ScmpArch], rules: &[Rule]) -> Vec<Insn> {
    let mut unique: Vec<&Rule> = Vec::new();
    for r in rules {
        if !unique.iter().any(|u| u.nr == r.nr) {
            unique.push(r);
        }
    }
    if unique.is_empty() {
        return Vec::new();
    }
    // Groups by AUDIT_ARCH: x86-64 and x32 share one, told apart by the bit.
    let mut groups: Vec<(u32, Vec<u32>)> = Vec::new();
    for (audit, bits) in arches.iter().filter_map(|a| target(*a)) {
        match groups.iter_mut().find(|(g, _)| *g == audit) {
            Some((_, b)) if !b.contains(&bits) => b.push(bits),
            Some(_) => {}
            None => groups.push((audit, vec![bits])),
        }
    }
    let mut out = Vec::new();
    for (audit, bits) in groups {
        let checks: Vec<Insn> = bits
            .iter()
            .flat_map(|b| {
                unique.iter().flat_map(move |r| {
                    [
                        Insn::jeq(r.nr | b, 0, 1),
                        Insn::ret(kernel_action(r.action)),
                    ]
                })
            })
            .collect();
        out.extend(arch_group(audit, checks));
    }
    out
}

/// `body` run for the calls of one `AUDIT_ARCH_*` only, with the system call
/// number in A; other calls skip past it:
/// `ld [arch]; jeq audit, +1, +0; ja <past>; ld [nr]; body...`.
pub(super) fn arch_group(audit: u32, body: Vec<Insn>) -> Vec<Insn> {
    let mut out = Vec::with_capacity(body.len() + 4);
    out.push(Insn::load(DATA_ARCH));
    out.push(Insn::jeq(audit, 1, 0));
    // A count of instructions, far below u32::MAX (BPF_MAXINSNS is 4096).
    out.push(Insn::jump((body.len() + 1) as u32));
    out.push(Insn::load(DATA_NR));
    out.extend(body);
    out
}

/// What the kernel receives from a filter returning `action`.
pub(super) fn kernel_action(action: ScmpAction) -> u32 {
    match action {
        ScmpAction::KillProcess => libc::SECCOMP_RET_KILL_PROCESS,
        ScmpAction::KillThread => libc::SECCOMP_RET_KILL_THREAD,
        ScmpAction::Trap => libc::SECCOMP_RET_TRAP,
        // Errno values were checked to be within 0..=MAX_ERRNO.
        ScmpAction::Errno(e) => libc::SECCOMP_RET_ERRNO | (e as u32 & libc::SECCOMP_RET_DATA),
        ScmpAction::Trace(m) => libc::SECCOMP_RET_TRACE | u32::from(m),
        ScmpAction::Log => libc::SECCOMP_RET_LOG,
        ScmpAction::Allow => libc::SECCOMP_RET_ALLOW,
        // Notify is refused by translate::action, which makes no other
        // action; anything else must not pass either.
        _ => libc::SECCOMP_RET_KILL_PROCESS,
    }
}

/// What returns when a prefix under test lets a call through to the rest.
#[cfg(test)]
pub(super) const FALLTHROUGH: u32 = 0x7777;

/// The verdict of `prefix` followed by a stand-in for libseccomp's program
/// (which returns [`FALLTHROUGH`]).
#[cfg(test)]
pub(super) fn run_prefix(prefix: &[Insn], nr: u32, arch: u32) -> Option<u32> {
    let mut prog = prefix.to_vec();
    prog.push(Insn::ret(FALLTHROUGH));
    super::bpf::evaluate(
        &prog,
        &super::bpf::SeccompData {
            nr: nr as i32,
            arch,
            ..Default::default()
        },
    )
}

#[cfg(test)]
mod tests {
    use super::run_prefix as run;
    use super::*;

    #[test]
    fn table_is_the_unified_numbering() {
        for (i, (name, nr)) in UNIFIED.iter().enumerate() {
            assert_eq!(*nr, 424 + i as u32, "{name}");
        }
        assert_eq!(number("fchmodat2"), Some(452));
        assert_eq!(number("read"), None);
        #[cfg(target_arch = "x86_64")]
        {
            assert_eq!(number("fchmodat2"), Some(libc::SYS_fchmodat2 as u32));
            assert_eq!(number("mseal"), Some(libc::SYS_mseal as u32));
            assert_eq!(number("clone3"), Some(libc::SYS_clone3 as u32));
        }
    }

    #[test]
    fn prefix_decides_its_numbers_per_architecture() {
        let rules = [
            Rule {
                nr: 452,
                action: ScmpAction::Allow,
            },
            Rule {
                nr: 462,
                action: ScmpAction::Errno(38),
            },
            // A second rule for 452 loses to the first.
            Rule {
                nr: 452,
                action: ScmpAction::KillProcess,
            },
        ];
        let p = prefix(&[ScmpArch::X8664, ScmpArch::X86], &rules);
        let allow = Some(libc::SECCOMP_RET_ALLOW);
        let enosys = Some(libc::SECCOMP_RET_ERRNO | 38);
        assert_eq!(run(&p, 452, audit_arch::X86_64), allow);
        assert_eq!(run(&p, 462, audit_arch::X86_64), enosys);
        assert_eq!(run(&p, 452, audit_arch::I386), allow);
        assert_eq!(run(&p, 462, audit_arch::I386), enosys);
        // Anything else goes on to libseccomp's program.
        assert_eq!(run(&p, 453, audit_arch::X86_64), Some(FALLTHROUGH));
        assert_eq!(run(&p, 0, audit_arch::I386), Some(FALLTHROUGH));
        // x32 was not asked for: its numbers are not decided here.
        assert_eq!(
            run(&p, 452 | X32_SYSCALL_BIT, audit_arch::X86_64),
            Some(FALLTHROUGH)
        );
        // An architecture outside the filter is not decided either.
        assert_eq!(run(&p, 452, audit_arch::AARCH64), Some(FALLTHROUGH));

        let p = prefix(&[ScmpArch::X8664, ScmpArch::X32], &rules);
        assert_eq!(run(&p, 452 | X32_SYSCALL_BIT, audit_arch::X86_64), allow);
        assert_eq!(run(&p, 452, audit_arch::X86_64), allow);
        assert_eq!(run(&p, 452, audit_arch::I386), Some(FALLTHROUGH));
    }

    #[test]
    fn nothing_to_decide_adds_nothing() {
        assert!(prefix(&[ScmpArch::X8664], &[]).is_empty());
        assert!(covers(&[ScmpArch::X8664, ScmpArch::X32, ScmpArch::X86]));
        assert!(!covers(&[ScmpArch::X8664, ScmpArch::S390X]));
    }
}
