//! Compiling filters and reading their verdicts back with the BPF evaluator;
//! loading one in a forked child.

use libseccomp::ScmpSyscall;
use nsinit_configs::{SeccompAction, SeccompArg, SeccompOp, SeccompSyscall};

use super::bpf::{audit_arch, SeccompData};
use super::*;

const ALLOW: u32 = libc::SECCOMP_RET_ALLOW;
const KILL_THREAD: u32 = libc::SECCOMP_RET_KILL_THREAD;

fn errno(e: i32) -> u32 {
    libc::SECCOMP_RET_ERRNO | e as u32
}

fn filter(default_action: SeccompAction, syscalls: Vec<SeccompSyscall>) -> Seccomp {
    Seccomp {
        default_action,
        default_errno_ret: None,
        architectures: vec![],
        flags: vec![],
        syscalls,
    }
}

fn rule(names: &[&str], action: SeccompAction) -> SeccompSyscall {
    SeccompSyscall {
        names: names.iter().map(|n| n.to_string()).collect(),
        action,
        errno_ret: None,
        args: vec![],
    }
}

fn arg(index: u32, op: SeccompOp, value: u64, value_two: u64) -> SeccompArg {
    SeccompArg {
        index,
        value,
        value_two,
        op,
    }
}

fn call(arch: u32, nr: i64, args: [u64; 6]) -> SeccompData {
    SeccompData {
        nr: i32::try_from(nr).unwrap(),
        arch,
        instruction_pointer: 0,
        args,
    }
}

/// A call of the native x86-64 ABI.
fn x64(nr: i64, args: [u64; 6]) -> SeccompData {
    call(audit_arch::X86_64, nr, args)
}

/// Names of x86-64 system calls (numbers 0..=334 and the newer 424..) that
/// libseccomp knows, for big allow lists.
fn native_names(n: usize) -> Vec<String> {
    (0..460)
        .filter_map(|nr| ScmpSyscall::from(nr).get_name().ok())
        .take(n)
        .collect()
}

#[cfg(target_arch = "x86_64")]
mod x86_64 {
    use super::*;

    // i386 system call numbers (arch/x86/entry/syscalls/syscall_32.tbl).
    const I386_MKDIR: i64 = 39;
    const I386_SOCKETCALL: i64 = 102;
    const X32_BIT: i64 = 0x4000_0000;

    #[test]
    fn errno_rule_and_default_allow() {
        let f = Filter::compile(&filter(
            SeccompAction::Allow,
            vec![rule(&["mkdir", "mkdirat"], SeccompAction::Errno)],
        ))
        .unwrap();
        assert_eq!(
            f.verdict(&x64(libc::SYS_mkdir, [0; 6])),
            Some(errno(libc::EPERM))
        );
        assert_eq!(
            f.verdict(&x64(libc::SYS_mkdirat, [0; 6])),
            Some(errno(libc::EPERM))
        );
        assert_eq!(f.verdict(&x64(libc::SYS_getpid, [0; 6])), Some(ALLOW));
        assert_eq!(f.verdict(&x64(libc::SYS_execve, [0; 6])), Some(ALLOW));
        assert_eq!(f.flags(), 0);
        assert!(f.skipped_syscalls().is_empty());
    }

    #[test]
    fn custom_errno_and_default_errno() {
        let mut cfg = filter(
            SeccompAction::Errno,
            vec![
                rule(&["execve", "exit_group", "getpid"], SeccompAction::Allow),
                SeccompSyscall {
                    errno_ret: Some(libc::ENOSYS as u32),
                    ..rule(&["uname"], SeccompAction::Errno)
                },
            ],
        );
        cfg.default_errno_ret = Some(libc::EACCES as u32);
        let f = Filter::compile(&cfg).unwrap();
        assert_eq!(
            f.verdict(&x64(libc::SYS_uname, [0; 6])),
            Some(errno(libc::ENOSYS))
        );
        assert_eq!(f.verdict(&x64(libc::SYS_getpid, [0; 6])), Some(ALLOW));
        assert_eq!(
            f.verdict(&x64(libc::SYS_mkdir, [0; 6])),
            Some(errno(libc::EACCES))
        );
    }

    #[test]
    fn argument_conditions() {
        // socket(AF_INET, ...) fails with EACCES; other domains pass.
        let f = Filter::compile(&filter(
            SeccompAction::Allow,
            vec![SeccompSyscall {
                errno_ret: Some(libc::EACCES as u32),
                args: vec![arg(0, SeccompOp::Equal, libc::AF_INET as u64, 0)],
                ..rule(&["socket"], SeccompAction::Errno)
            }],
        ))
        .unwrap();
        let socket = |domain: i32| x64(libc::SYS_socket, [domain as u64, 1, 0, 0, 0, 0]);
        assert_eq!(f.verdict(&socket(libc::AF_INET)), Some(errno(libc::EACCES)));
        assert_eq!(f.verdict(&socket(libc::AF_UNIX)), Some(ALLOW));
        assert_eq!(f.verdict(&socket(libc::AF_INET6)), Some(ALLOW));
        // The whole 64 bits are compared.
        let high = x64(
            libc::SYS_socket,
            [(1 << 32) | libc::AF_INET as u64, 0, 0, 0, 0, 0],
        );
        assert_eq!(f.verdict(&high), Some(ALLOW));
    }

    /// An operator, its value and value_two, and probes of argument 1 with
    /// whether the condition holds.
    type OpCase = (SeccompOp, u64, u64, &'static [(u64, bool)]);

    #[test]
    fn every_comparison_operator() {
        let cases: [OpCase; 7] = [
            (SeccompOp::Equal, 5, 0, &[(5, true), (4, false)]),
            (SeccompOp::NotEqual, 5, 0, &[(5, false), (6, true)]),
            (SeccompOp::LessThan, 5, 0, &[(4, true), (5, false)]),
            (SeccompOp::LessOrEqual, 5, 0, &[(5, true), (6, false)]),
            (SeccompOp::GreaterThan, 5, 0, &[(6, true), (5, false)]),
            (SeccompOp::GreaterOrEqual, 5, 0, &[(5, true), (4, false)]),
            // (arg & 0xf0) == 0x20
            (
                SeccompOp::MaskedEqual,
                0xf0,
                0x20,
                &[(0x2f, true), (0x20, true), (0x30, false), (0x0f, false)],
            ),
        ];
        for (op, value, value_two, probes) in cases {
            let f = Filter::compile(&filter(
                SeccompAction::Allow,
                vec![SeccompSyscall {
                    args: vec![arg(1, op, value, value_two)],
                    ..rule(&["personality"], SeccompAction::Errno)
                }],
            ))
            .unwrap();
            for (probe, hit) in probes {
                let v = f.verdict(&x64(libc::SYS_personality, [0, *probe, 0, 0, 0, 0]));
                let want = if *hit { errno(libc::EPERM) } else { ALLOW };
                assert_eq!(
                    v,
                    Some(want),
                    "{op:?} {value:#x}/{value_two:#x} on {probe:#x}"
                );
            }
        }
    }

    #[test]
    fn conditions_on_distinct_args_and_same_arg() {
        // Distinct arguments: all must hold.
        let f = Filter::compile(&filter(
            SeccompAction::Allow,
            vec![SeccompSyscall {
                args: vec![
                    arg(0, SeccompOp::Equal, 1, 0),
                    arg(2, SeccompOp::Equal, 3, 0),
                ],
                ..rule(&["personality"], SeccompAction::Errno)
            }],
        ))
        .unwrap();
        let p = |a0, a2| x64(libc::SYS_personality, [a0, 0, a2, 0, 0, 0]);
        assert_eq!(f.verdict(&p(1, 3)), Some(errno(libc::EPERM)));
        assert_eq!(f.verdict(&p(1, 4)), Some(ALLOW));
        assert_eq!(f.verdict(&p(2, 3)), Some(ALLOW));
        // The same argument twice: either may match (runc's meaning).
        let f = Filter::compile(&filter(
            SeccompAction::Errno,
            vec![
                rule(&["execve"], SeccompAction::Allow),
                SeccompSyscall {
                    args: vec![
                        arg(0, SeccompOp::Equal, 0, 0),
                        arg(0, SeccompOp::Equal, 8, 0),
                    ],
                    ..rule(&["personality"], SeccompAction::Allow)
                },
            ],
        ))
        .unwrap();
        assert_eq!(f.verdict(&p(0, 0)), Some(ALLOW));
        assert_eq!(f.verdict(&p(8, 0)), Some(ALLOW));
        assert_eq!(f.verdict(&p(4, 0)), Some(errno(libc::EPERM)));
    }

    #[test]
    fn kill_trap_log_trace_actions() {
        let f = Filter::compile(&filter(
            SeccompAction::Allow,
            vec![
                rule(&["uname"], SeccompAction::KillProcess),
                rule(&["getppid"], SeccompAction::Kill),
                rule(&["getuid"], SeccompAction::KillThread),
                rule(&["getgid"], SeccompAction::Trap),
                rule(&["geteuid"], SeccompAction::Log),
                SeccompSyscall {
                    errno_ret: Some(7),
                    ..rule(&["getegid"], SeccompAction::Trace)
                },
            ],
        ))
        .unwrap();
        let v = |nr| f.verdict(&x64(nr, [0; 6]));
        assert_eq!(v(libc::SYS_uname), Some(libc::SECCOMP_RET_KILL_PROCESS));
        assert_eq!(v(libc::SYS_getppid), Some(KILL_THREAD));
        assert_eq!(v(libc::SYS_getuid), Some(KILL_THREAD));
        assert_eq!(v(libc::SYS_getgid), Some(libc::SECCOMP_RET_TRAP));
        assert_eq!(v(libc::SYS_geteuid), Some(libc::SECCOMP_RET_LOG));
        assert_eq!(v(libc::SYS_getegid), Some(libc::SECCOMP_RET_TRACE | 7));
    }

    #[test]
    fn architectures() {
        let rules = vec![rule(&["mkdir"], SeccompAction::Errno)];
        // Native only: an i386 or x32 call meets the bad-arch action (kill).
        let native = Filter::compile(&filter(SeccompAction::Allow, rules.clone())).unwrap();
        assert_eq!(
            native.verdict(&call(audit_arch::I386, I386_MKDIR, [0; 6])),
            Some(KILL_THREAD)
        );
        assert_eq!(
            native.verdict(&x64(X32_BIT | libc::SYS_mkdir, [0; 6])),
            Some(KILL_THREAD)
        );
        // With the 32-bit ABIs the rule follows each one's numbering.
        let mut cfg = filter(SeccompAction::Allow, rules);
        cfg.architectures = vec![
            "SCMP_ARCH_X86_64".into(),
            "SCMP_ARCH_X86".into(),
            "SCMP_ARCH_X32".into(),
        ];
        let multi = Filter::compile(&cfg).unwrap();
        assert!(multi.skipped_arches().is_empty());
        assert_eq!(
            multi.verdict(&call(audit_arch::I386, I386_MKDIR, [0; 6])),
            Some(errno(libc::EPERM))
        );
        assert_eq!(
            multi.verdict(&call(audit_arch::I386, I386_SOCKETCALL, [0; 6])),
            Some(ALLOW)
        );
        assert_eq!(
            multi.verdict(&x64(X32_BIT | libc::SYS_mkdir, [0; 6])),
            Some(errno(libc::EPERM))
        );
        assert_eq!(
            multi.verdict(&x64(libc::SYS_mkdir, [0; 6])),
            Some(errno(libc::EPERM))
        );
        assert_eq!(
            multi.verdict(&call(audit_arch::AARCH64, 34, [0; 6])),
            Some(KILL_THREAD)
        );
    }

    #[test]
    fn socket_rules_cover_i386_socketcall() {
        // On i386, socket() may arrive as socketcall(SYS_SOCKET=1, args);
        // libseccomp rewrites the rule for it.
        let mut cfg = filter(
            SeccompAction::Allow,
            vec![rule(&["socket"], SeccompAction::Errno)],
        );
        cfg.architectures = vec!["SCMP_ARCH_X86".into()];
        let f = Filter::compile(&cfg).unwrap();
        assert_eq!(
            f.verdict(&call(audit_arch::I386, I386_SOCKETCALL, [1, 0, 0, 0, 0, 0])),
            Some(errno(libc::EPERM))
        );
    }

    #[test]
    fn unknown_names_are_skipped() {
        let f = Filter::compile(&filter(
            SeccompAction::Errno,
            vec![rule(
                &["execve", "no_such_syscall", "getpid", "also_not_one"],
                SeccompAction::Allow,
            )],
        ))
        .unwrap();
        assert_eq!(f.skipped_syscalls(), ["no_such_syscall", "also_not_one"]);
        assert_eq!(f.verdict(&x64(libc::SYS_getpid, [0; 6])), Some(ALLOW));
    }

    /// Names newer than the linked libseccomp keep their rules (`newer.rs`;
    /// bookworm's 2.5.4 stops at `futex_requeue`, 456): under a default EPERM,
    /// `fchmodat2`, `mseal` and `listmount` are allowed and `lsm_list_modules`
    /// gets its own errno, on every architecture of the filter.
    #[test]
    fn names_newer_than_libseccomp_keep_their_rules() {
        let mut cfg = filter(
            SeccompAction::Errno,
            vec![
                rule(
                    &["execve", "fchmodat2", "mseal", "listmount"],
                    SeccompAction::Allow,
                ),
                SeccompSyscall {
                    errno_ret: Some(libc::ENOSYS as u32),
                    ..rule(&["lsm_list_modules"], SeccompAction::Errno)
                },
                SeccompSyscall {
                    args: vec![arg(0, SeccompOp::Equal, 1, 0)],
                    ..rule(&["file_getattr"], SeccompAction::Allow)
                },
            ],
        );
        cfg.architectures = ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
            .map(String::from)
            .to_vec();
        let f = Filter::compile(&cfg).unwrap();
        for (arch, bits) in [
            (audit_arch::X86_64, 0),
            (audit_arch::I386, 0),
            (audit_arch::X86_64, X32_BIT),
        ] {
            let v = |nr: i64| f.verdict(&call(arch, nr | bits, [0; 6]));
            assert_eq!(v(452), Some(ALLOW), "fchmodat2, arch {arch:#x} {bits:#x}");
            assert_eq!(v(462), Some(ALLOW), "mseal, arch {arch:#x} {bits:#x}");
            assert_eq!(v(458), Some(ALLOW), "listmount, arch {arch:#x} {bits:#x}");
            assert_eq!(v(461), Some(errno(libc::ENOSYS)), "lsm_list_modules");
            assert_eq!(v(454), Some(errno(libc::EPERM)), "futex_wake: default");
            assert_eq!(v(463), Some(errno(libc::EPERM)), "setxattrat: default");
        }
        // A rule with conditions needs libseccomp to know the name.
        if ScmpSyscall::from_name("file_getattr").is_err() {
            assert_eq!(f.skipped_syscalls(), ["file_getattr"]);
        } else {
            assert!(f.skipped_syscalls().is_empty());
        }
        // Same verdicts from one multi-architecture context.
        let combined = super::compile::compile_combined(&cfg).unwrap();
        for nr in 424..480 {
            for (arch, bits) in [(audit_arch::X86_64, 0), (audit_arch::I386, 0)] {
                let c = call(arch, nr | bits, [0; 6]);
                assert_eq!(
                    bpf::evaluate(&combined.program, &c),
                    f.verdict(&c),
                    "nr {nr}"
                );
            }
        }
    }

    /// Under a denying default, calls above the largest number the profile
    /// names for their architecture get ENOSYS; named-range calls keep the
    /// default; x32 calls are left to libseccomp's program.
    #[test]
    fn calls_newer_than_the_profile_get_enosys() {
        let mut cfg = filter(
            SeccompAction::Errno,
            vec![rule(&["execve", "mkdir", "clone"], SeccompAction::Allow)],
        );
        cfg.architectures = ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]
            .map(String::from)
            .to_vec();
        let f = Filter::compile(&cfg).unwrap();
        // x86-64: execve 59, mkdir 83, clone 56.
        assert_eq!(f.verdict(&x64(libc::SYS_mkdir, [0; 6])), Some(ALLOW));
        assert_eq!(f.verdict(&x64(60, [0; 6])), Some(errno(libc::EPERM)));
        assert_eq!(f.verdict(&x64(84, [0; 6])), Some(errno(libc::ENOSYS)));
        assert_eq!(f.verdict(&x64(435, [0; 6])), Some(errno(libc::ENOSYS)));
        // i386: mkdir 39, execve 11, clone 120.
        let i386 = |nr| f.verdict(&call(audit_arch::I386, nr, [0; 6]));
        assert_eq!(i386(I386_MKDIR), Some(ALLOW));
        assert_eq!(i386(100), Some(errno(libc::EPERM)));
        assert_eq!(i386(121), Some(errno(libc::ENOSYS)));
        // x32 keeps libseccomp's verdicts: its mkdir allowed, others EPERM.
        assert_eq!(
            f.verdict(&x64(X32_BIT | libc::SYS_mkdir, [0; 6])),
            Some(ALLOW)
        );
        assert_eq!(
            f.verdict(&x64(X32_BIT | 435, [0; 6])),
            Some(errno(libc::EPERM))
        );
        // No stub under a default that already lets calls through.
        let f = Filter::compile(&filter(
            SeccompAction::Allow,
            vec![rule(&["mkdir"], SeccompAction::Errno)],
        ))
        .unwrap();
        assert_eq!(f.verdict(&x64(435, [0; 6])), Some(ALLOW));
    }

    #[test]
    fn rules_equal_to_the_default_are_dropped() {
        let f = Filter::compile(&filter(
            SeccompAction::Errno,
            vec![
                rule(&["execve"], SeccompAction::Allow),
                rule(&["mkdir"], SeccompAction::Errno),
            ],
        ))
        .unwrap();
        assert_eq!(
            f.verdict(&x64(libc::SYS_mkdir, [0; 6])),
            Some(errno(libc::EPERM))
        );
        // Same action with another errno is a real rule.
        let f = Filter::compile(&filter(
            SeccompAction::Errno,
            vec![
                rule(&["execve"], SeccompAction::Allow),
                SeccompSyscall {
                    errno_ret: Some(libc::ENOSYS as u32),
                    ..rule(&["mkdir"], SeccompAction::Errno)
                },
            ],
        ))
        .unwrap();
        assert_eq!(
            f.verdict(&x64(libc::SYS_mkdir, [0; 6])),
            Some(errno(libc::ENOSYS))
        );
    }

    #[test]
    fn a_filter_without_execve_is_refused() {
        // (mkdir, 83, keeps execve, 59, below the ENOSYS stub's bound.)
        let e = Filter::compile(&filter(
            SeccompAction::Errno,
            vec![rule(&["read", "write", "mkdir"], SeccompAction::Allow)],
        ))
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "build seccomp filter: the filter does not allow execve (SCMP_ACT_ERRNO(1)), \
             so the container's program could not be started"
        );
        let e = Filter::compile(&filter(
            SeccompAction::Allow,
            vec![rule(&["execve"], SeccompAction::KillProcess)],
        ))
        .unwrap_err();
        assert!(e.to_string().contains("(SCMP_ACT_KILL_PROCESS)"), "{e}");
        // Allowed for some arguments only: accepted.
        Filter::compile(&filter(
            SeccompAction::Allow,
            vec![SeccompSyscall {
                args: vec![arg(2, SeccompOp::NotEqual, 0, 0)],
                ..rule(&["execve"], SeccompAction::Errno)
            }],
        ))
        .unwrap();
    }

    /// A profile of Docker's default shape: default ERRNO, a long allow list,
    /// argument conditions (same argument twice, masked), other actions.
    fn docker_like(arches: &[&str]) -> Seccomp {
        let mut names = native_names(300);
        names.retain(|n| {
            !["personality", "socket", "clone", "uname", "mkdir"].contains(&n.as_str())
        });
        let mut cfg = filter(
            SeccompAction::Errno,
            vec![
                SeccompSyscall {
                    names,
                    ..rule(&[], SeccompAction::Allow)
                },
                SeccompSyscall {
                    args: vec![
                        arg(0, SeccompOp::Equal, 0, 0),
                        arg(0, SeccompOp::Equal, 8, 0),
                        arg(0, SeccompOp::Equal, 0xffff_ffff, 0),
                    ],
                    ..rule(&["personality"], SeccompAction::Allow)
                },
                SeccompSyscall {
                    args: vec![arg(0, SeccompOp::MaskedEqual, 0x7E02_0000, 0)],
                    ..rule(&["clone"], SeccompAction::Allow)
                },
                SeccompSyscall {
                    args: vec![
                        arg(0, SeccompOp::NotEqual, libc::AF_INET as u64, 0),
                        arg(1, SeccompOp::LessThan, 4, 0),
                    ],
                    ..rule(&["socket"], SeccompAction::Allow)
                },
                SeccompSyscall {
                    errno_ret: Some(libc::ENOSYS as u32),
                    ..rule(&["clone3", "no_such_call"], SeccompAction::Errno)
                },
                rule(&["uname"], SeccompAction::KillProcess),
                SeccompSyscall {
                    errno_ret: Some(3),
                    ..rule(&["mkdir"], SeccompAction::Trace)
                },
            ],
        );
        cfg.architectures = arches.iter().map(|a| a.to_string()).collect();
        cfg
    }

    /// Every system call number of every architecture, with a few argument
    /// patterns, gets the same verdict from the chained per-architecture
    /// programs as from libseccomp's multi-architecture program.
    #[test]
    fn chained_programs_decide_like_one_multi_arch_program() {
        let arg_sets: [[u64; 6]; 5] = [
            [0; 6],
            [8, 1, 2, 3, 4, 5],
            [libc::AF_INET as u64, 1, 0, 0, 0, 0],
            [0x7E02_0000 | 0x11, 3, 0, 0, 0, 0],
            [u64::MAX; 6],
        ];
        for arches in [
            &["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"][..],
            &["SCMP_ARCH_X86", "SCMP_ARCH_X86_64"][..],
            &["SCMP_ARCH_X32"][..],
            &["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"][..],
            &[][..],
        ] {
            let cfg = docker_like(arches);
            let chained = compile::compile(&cfg).unwrap();
            let combined = compile::compile_combined(&cfg).unwrap();
            assert_eq!(chained.skipped_syscalls, ["no_such_call"]);
            let mut probes = 0;
            for arch in [
                audit_arch::X86_64,
                audit_arch::I386,
                audit_arch::AARCH64,
                0x4000_0028, // arm
                0,
            ] {
                let nrs = (-2..600)
                    .chain((-2..600).map(|n| n | X32_BIT))
                    .chain([0x7fff_ffff]);
                for nr in nrs {
                    for args in arg_sets {
                        let c = call(arch, nr, args);
                        let want = bpf::evaluate(&combined.program, &c);
                        assert!(want.is_some(), "{arches:?} {c:?}");
                        assert_eq!(
                            bpf::evaluate(&chained.program, &c),
                            want,
                            "{arches:?}: {c:?}"
                        );
                        probes += 1;
                    }
                }
            }
            assert!(probes > 10_000);
        }
    }

    #[test]
    fn a_long_allow_list_compiles() {
        let names = native_names(300);
        assert_eq!(names.len(), 300);
        let mut cfg = filter(
            SeccompAction::Errno,
            vec![SeccompSyscall {
                names: names.clone(),
                ..rule(&[], SeccompAction::Allow)
            }],
        );
        cfg.architectures = vec![
            "SCMP_ARCH_X86_64".into(),
            "SCMP_ARCH_X86".into(),
            "SCMP_ARCH_X32".into(),
        ];
        let f = Filter::compile(&cfg).unwrap();
        for n in &names {
            let nr = ScmpSyscall::from_name(n).unwrap().as_raw_syscall();
            assert_eq!(f.verdict(&x64(nr.into(), [0; 6])), Some(ALLOW), "{n}");
        }
        assert!(f.program().len() <= bpf::MAX_INSNS);
    }
}

#[test]
fn notify_is_refused_with_one_clear_line() {
    let e = Filter::compile(&filter(
        SeccompAction::Allow,
        vec![
            rule(&["mkdir"], SeccompAction::Errno),
            rule(&["getpid", "getppid"], SeccompAction::Notify),
        ],
    ))
    .unwrap_err();
    let text = e.to_string();
    assert!(
        text.starts_with(
            "build seccomp filter: syscalls[1] [\"getpid\", \"getppid\"]: SCMP_ACT_NOTIFY needs a seccomp notify listener"
        ),
        "{text}"
    );
    assert!(!text.contains('\n'));
    let e = Filter::compile(&filter(SeccompAction::Notify, vec![])).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("build seccomp filter: default_action: SCMP_ACT_NOTIFY needs"),
        "{e}"
    );
}

#[test]
fn bad_values_are_refused_with_their_place() {
    let e = Filter::compile(&filter(
        SeccompAction::Allow,
        vec![SeccompSyscall {
            errno_ret: Some(70_000),
            ..rule(&["mkdir"], SeccompAction::Errno)
        }],
    ))
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "build seccomp filter: syscalls[0] [\"mkdir\"]: errno 70000 is out of range (0..=4094)"
    );
    let e = Filter::compile(&filter(
        SeccompAction::Allow,
        vec![SeccompSyscall {
            args: vec![arg(6, SeccompOp::Equal, 0, 0)],
            ..rule(&["mkdir"], SeccompAction::Errno)
        }],
    ))
    .unwrap_err();
    assert!(
        e.to_string().contains("argument index 6 is out of range"),
        "{e}"
    );
    let mut cfg = filter(SeccompAction::Allow, vec![]);
    cfg.architectures = vec!["SCMP_ARCH_VAX".into()];
    let e = Filter::compile(&cfg).unwrap_err();
    assert!(
        e.to_string()
            .contains("architectures[0]: unknown architecture"),
        "{e}"
    );
    let mut cfg = filter(SeccompAction::Allow, vec![]);
    cfg.flags = vec!["SECCOMP_FILTER_FLAG_NOPE".into()];
    let e = Filter::compile(&cfg).unwrap_err();
    assert!(
        e.to_string()
            .contains("flags[0]: unknown seccomp filter flag"),
        "{e}"
    );
}

#[test]
fn flags_become_seccomp_bits() {
    let mut cfg = filter(SeccompAction::Allow, vec![]);
    cfg.flags = vec![
        "SECCOMP_FILTER_FLAG_LOG".into(),
        "SECCOMP_FILTER_FLAG_SPEC_ALLOW".into(),
        "SECCOMP_FILTER_FLAG_TSYNC".into(),
        "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV".into(),
    ];
    let f = Filter::compile(&cfg).unwrap();
    let want = libc::SECCOMP_FILTER_FLAG_LOG
        | libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW
        | libc::SECCOMP_FILTER_FLAG_TSYNC;
    // c_ulong: u64 here, u32 on 32-bit targets.
    #[allow(clippy::unnecessary_cast)]
    let want = want as u64;
    assert_eq!(f.flags(), want);
}

#[test]
fn native_arch_names_are_harmless() {
    let mut cfg = filter(SeccompAction::Allow, vec![]);
    cfg.architectures = vec!["SCMP_ARCH_NATIVE".into()];
    if cfg!(target_arch = "x86_64") {
        cfg.architectures.push("SCMP_ARCH_X86_64".into());
    }
    let f = Filter::compile(&cfg).unwrap();
    assert!(f.skipped_arches().is_empty());
}

#[test]
fn a_filter_survives_serialization() {
    let f = Filter::compile(&filter(
        SeccompAction::Allow,
        vec![rule(&["mkdir", "nope_nope"], SeccompAction::Errno)],
    ))
    .unwrap();
    let back: Filter = serde_json::from_str(&serde_json::to_string(&f).unwrap()).unwrap();
    assert_eq!(back, f);
}

#[test]
fn late_loading_needs_nnp_or_sys_admin() {
    let mut p = ProcessSpec::default();
    assert!(!loads_late(&p));
    p.no_new_privileges = true;
    assert!(loads_late(&p));
    p.no_new_privileges = false;
    p.capabilities = Capabilities::from_list(vec!["CAP_CHOWN".into(), "sys_admin".into()]);
    assert!(loads_late(&p));
    // Effective alone is not enough (it cannot exceed permitted).
    p.capabilities.permitted = vec!["CAP_CHOWN".into()];
    assert!(!loads_late(&p));
}

#[test]
fn staging_without_a_filter_does_nothing() {
    let s = stage(None, &ProcessSpec::default()).unwrap();
    assert!(!s.is_pending());
    s.load().unwrap();
}

#[test]
fn staging_keeps_the_filter_for_exec_when_nnp_is_set() {
    let p = ProcessSpec {
        no_new_privileges: true,
        ..ProcessSpec::default()
    };
    let cfg = filter(
        SeccompAction::Allow,
        vec![rule(&["mkdir"], SeccompAction::Errno)],
    );
    let s = stage(Some(&cfg), &p).unwrap();
    assert!(s.is_pending());
    // Compile errors come out of stage(), before anything is loaded.
    let bad = filter(
        SeccompAction::Allow,
        vec![rule(&["mkdir"], SeccompAction::Notify)],
    );
    assert!(stage(Some(&bad), &p).is_err());
}

/// Forks, loads `f` in the child (setting no_new_privs first when `nnp`),
/// runs `body` under it and exits with what it returns (1 when the load
/// failed); returns that exit code. `body` must make only async-signal-safe
/// calls on memory prepared before the fork.
fn exit_code_under_filter(f: &Filter, nnp: bool, body: impl FnOnce() -> i32) -> i32 {
    // SAFETY: the child makes only async-signal-safe calls (prctl, seccomp,
    // those of `body`, _exit) on memory prepared before the fork.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        let code = match f.load(nnp) {
            Err(_) => 1,
            Ok(()) => body(),
        };
        // SAFETY: ends the forked child without running the test harness.
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    // SAFETY: waits for the child just forked; status is a valid out pointer.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert!(libc::WIFEXITED(status), "status {status:#x}");
    libc::WEXITSTATUS(status)
}

/// Loads a filter in a forked child (only raw system calls there) and reports
/// how mkdir fared and whether no_new_privs was set.
#[test]
fn a_loaded_filter_acts_in_the_child() {
    let cfg = filter(
        SeccompAction::Allow,
        vec![SeccompSyscall {
            errno_ret: Some(libc::EXDEV as u32),
            ..rule(&["mkdir", "mkdirat"], SeccompAction::Errno)
        }],
    );
    let f = Filter::compile(&cfg).unwrap();
    let dir = c"/nonexistent-nsinit-seccomp-test/x";
    for nnp in [true, false] {
        let code = exit_code_under_filter(&f, nnp, || {
            // SAFETY: plain system calls on a valid C string.
            let rc = unsafe { libc::mkdir(dir.as_ptr(), 0o755) };
            let e = std::io::Error::last_os_error().raw_os_error();
            // SAFETY: prctl(PR_GET_NO_NEW_PRIVS) takes no pointers.
            let got_nnp = unsafe { libc::prctl(libc::PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) };
            match (rc, e, got_nnp == i32::from(nnp)) {
                (-1, Some(libc::EXDEV), true) => 0,
                (_, _, false) => 3,
                _ => 2,
            }
        });
        // Without nnp the child needs CAP_SYS_ADMIN: the tests run as root.
        assert_eq!(code, 0, "nnp {nnp}");
    }
}

/// A system call newer than libseccomp, allowed by number under a default
/// EPERM, reaches the kernel: `mseal` of an unaligned address says EINVAL.
#[cfg(target_arch = "x86_64")]
#[test]
fn a_newer_system_call_allowed_by_number_reaches_the_kernel() {
    let cfg = filter(
        SeccompAction::Errno,
        vec![rule(
            &["execve", "exit", "exit_group", "mseal"],
            SeccompAction::Allow,
        )],
    );
    let f = Filter::compile(&cfg).unwrap();
    let code = exit_code_under_filter(&f, true, || {
        // SAFETY: mseal(1, 4096, 0) is refused for the unaligned address
        // before anything is sealed.
        let rc = unsafe { libc::syscall(libc::SYS_mseal, 1usize, 4096usize, 0usize) };
        match (rc, std::io::Error::last_os_error().raw_os_error()) {
            (-1, Some(libc::EINVAL)) => 0,
            (-1, Some(libc::EPERM)) => 2,
            _ => 3,
        }
    });
    assert_eq!(code, 0, "2: EPERM from the filter");
}

/// On the real kernel, a call newer than the profile says ENOSYS (as if the
/// kernel lacked it) and an older unnamed one the default EPERM.
#[cfg(target_arch = "x86_64")]
#[test]
fn a_call_newer_than_the_profile_says_enosys() {
    let cfg = filter(
        SeccompAction::Errno,
        vec![rule(
            &["execve", "exit", "exit_group", "mkdir"],
            SeccompAction::Allow,
        )],
    );
    let f = Filter::compile(&cfg).unwrap();
    let code = exit_code_under_filter(&f, true, || {
        // SAFETY: clone3 with a null argument fails before doing anything
        // (if it ever ran); getppid takes none.
        let rc = unsafe { libc::syscall(libc::SYS_clone3, 0usize, 0usize) };
        let e1 = std::io::Error::last_os_error().raw_os_error();
        // SAFETY: as above.
        let rc2 = unsafe { libc::syscall(libc::SYS_getppid) };
        let e2 = std::io::Error::last_os_error().raw_os_error();
        match (rc, e1, rc2, e2) {
            (-1, Some(libc::ENOSYS), -1, Some(libc::EPERM)) => 0,
            (-1, Some(libc::EPERM), _, _) => 2,
            _ => 3,
        }
    });
    assert_eq!(code, 0, "2: clone3 got EPERM");
}

/// Time to compile and load a Docker-like profile (default ERRNO, 300 allowed
/// system calls). A measurement, not a test: run with
/// `cargo test -p nsinit-runtime --release seccomp::tests::measure -- --ignored --nocapture`.
#[test]
#[ignore]
fn measure_compile_and_load() {
    let cpu = || {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime writes into the timespec we own.
        unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
        ts.tv_sec as f64 * 1e6 + ts.tv_nsec as f64 / 1e3
    };
    for arches in [
        vec![],
        vec![
            "SCMP_ARCH_X86_64".to_string(),
            "SCMP_ARCH_X86".into(),
            "SCMP_ARCH_X32".into(),
        ],
    ] {
        let mut cfg = filter(
            SeccompAction::Errno,
            vec![SeccompSyscall {
                names: native_names(300),
                ..rule(&[], SeccompAction::Allow)
            }],
        );
        cfg.architectures = arches.clone();
        let mut samples = Vec::new();
        for _ in 0..20 {
            let (t0, w0) = (cpu(), std::time::Instant::now());
            let f = Filter::compile(&cfg).unwrap();
            samples.push((
                cpu() - t0,
                w0.elapsed().as_secs_f64() * 1e6,
                f.program().len(),
            ));
        }
        samples.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (c, w, len) = samples[samples.len() / 2];
        // A cache hit.
        let dir =
            std::env::temp_dir().join(format!("nsinit-seccomp-measure-{}", std::process::id()));
        let cache = Cache::new(&dir);
        cache.compile(&cfg).unwrap();
        let mut hits: Vec<f64> = (0..20)
            .map(|_| {
                let t0 = cpu();
                cache.compile(&cfg).unwrap();
                cpu() - t0
            })
            .collect();
        hits.sort_by(f64::total_cmp);
        let hit = hits[hits.len() / 2];
        let _ = std::fs::remove_dir_all(&dir);
        // Loading: in a child, once.
        let f = Filter::compile(&cfg).unwrap();
        let mut pipe = [0i32; 2];
        // SAFETY: pipe writes two fds into the array.
        assert_eq!(unsafe { libc::pipe(pipe.as_mut_ptr()) }, 0);
        // SAFETY: the child makes only raw system calls before _exit.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            let t0 = std::time::Instant::now();
            let ok = f.load(true).is_ok();
            let us = if ok {
                t0.elapsed().as_nanos() as u64 / 1000
            } else {
                u64::MAX
            };
            // SAFETY: writes 8 bytes from a local into the pipe, then exits.
            unsafe {
                libc::write(pipe[1], (&us as *const u64).cast(), 8);
                libc::_exit(0);
            }
        }
        let mut us = 0u64;
        // SAFETY: reads 8 bytes into a local; waits for the child.
        unsafe {
            libc::read(pipe[0], (&mut us as *mut u64).cast(), 8);
            libc::waitpid(pid, std::ptr::null_mut(), 0);
            libc::close(pipe[0]);
            libc::close(pipe[1]);
        }
        println!(
            "arches {arches:?}: compile median {c:.0} us cpu / {w:.0} us wall, {len} insns; \
             cache hit {hit:.0} us cpu; load {us} us"
        );
    }
}
