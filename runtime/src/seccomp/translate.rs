//! The config's seccomp vocabulary in libseccomp's and the kernel's terms:
//! actions, architectures, comparison operators, argument conditions and
//! filter flags. Pure functions, no system calls.

use libseccomp::{ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp};
use nsinit_configs::{SeccompAction, SeccompArg, SeccompOp};

/// The errno of `SCMP_ACT_ERRNO` (and the message of `SCMP_ACT_TRACE`) when the
/// config names none, as runc does.
pub const DEFAULT_ERRNO: u32 = libc::EPERM as u32;

/// The largest errno of an `ERRNO` action: libseccomp takes values below the
/// kernel's `MAX_ERRNO` (4095).
pub const MAX_ERRNO: u32 = 4094;

/// Number of arguments a system call has (conditions index 0..=5).
pub const MAX_ARGS: u32 = 6;

/// Why a rule cannot be expressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// `SCMP_ACT_NOTIFY`: needs a listener the runtime does not provide.
    Notify,
    /// An errno outside what the kernel can return.
    Errno(u32),
    /// A `SCMP_ACT_TRACE` message that does not fit 16 bits.
    TraceMessage(u32),
    /// An argument index past the sixth argument.
    ArgIndex(u32),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Notify => f.write_str(
                "SCMP_ACT_NOTIFY needs a seccomp notify listener, which nsinit does not provide \
                 (use SCMP_ACT_ERRNO, SCMP_ACT_TRACE or SCMP_ACT_KILL_PROCESS instead)",
            ),
            Refusal::Errno(e) => write!(f, "errno {e} is out of range (0..={MAX_ERRNO})"),
            Refusal::TraceMessage(m) => {
                write!(f, "SCMP_ACT_TRACE message {m} is out of range (0..=65535)")
            }
            Refusal::ArgIndex(i) => write!(
                f,
                "argument index {i} is out of range (system calls have arguments 0..=5)"
            ),
        }
    }
}

/// The libseccomp action of a config action. `errno` is the rule's
/// `errno_ret` (the errno of `SCMP_ACT_ERRNO`, the message of
/// `SCMP_ACT_TRACE`; [`DEFAULT_ERRNO`] when absent, ignored by the others).
///
/// ```
/// use libseccomp::ScmpAction;
/// use nsinit_configs::SeccompAction;
/// use nsinit_runtime::seccomp::translate::action;
/// assert_eq!(action(SeccompAction::Errno, Some(38)), Ok(ScmpAction::Errno(38)));
/// assert_eq!(action(SeccompAction::Errno, None), Ok(ScmpAction::Errno(libc::EPERM)));
/// assert!(action(SeccompAction::Notify, None).is_err());
/// ```
pub fn action(a: SeccompAction, errno: Option<u32>) -> Result<ScmpAction, Refusal> {
    let value = errno.unwrap_or(DEFAULT_ERRNO);
    Ok(match a {
        // SCMP_ACT_KILL is libseccomp's old name of SCMP_ACT_KILL_THREAD.
        SeccompAction::Kill | SeccompAction::KillThread => ScmpAction::KillThread,
        SeccompAction::KillProcess => ScmpAction::KillProcess,
        SeccompAction::Trap => ScmpAction::Trap,
        SeccompAction::Errno => {
            if value > MAX_ERRNO {
                return Err(Refusal::Errno(value));
            }
            // Fits: value <= MAX_ERRNO < i32::MAX.
            ScmpAction::Errno(value as i32)
        }
        SeccompAction::Trace => {
            ScmpAction::Trace(u16::try_from(value).map_err(|_| Refusal::TraceMessage(value))?)
        }
        SeccompAction::Allow => ScmpAction::Allow,
        SeccompAction::Log => ScmpAction::Log,
        SeccompAction::Notify => return Err(Refusal::Notify),
    })
}

/// What an architecture name means for the filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    /// The architecture the runtime runs on (always in the filter).
    Native,
    /// Another architecture whose system calls the filter also covers.
    Other(ScmpArch),
}

/// The architecture of a libseccomp name such as `SCMP_ARCH_X86_64`; `None`
/// for a name that is not one.
///
/// ```
/// use libseccomp::ScmpArch;
/// use nsinit_runtime::seccomp::translate::{arch, Arch};
/// assert_eq!(arch("SCMP_ARCH_X32"), Some(Arch::Other(ScmpArch::X32)));
/// assert_eq!(arch("SCMP_ARCH_NATIVE"), Some(Arch::Native));
/// assert_eq!(arch("x86_64"), None);
/// ```
pub fn arch(name: &str) -> Option<Arch> {
    let a = match name {
        "SCMP_ARCH_NATIVE" => return Some(Arch::Native),
        "SCMP_ARCH_X86" => ScmpArch::X86,
        "SCMP_ARCH_X86_64" => ScmpArch::X8664,
        "SCMP_ARCH_X32" => ScmpArch::X32,
        "SCMP_ARCH_ARM" => ScmpArch::Arm,
        "SCMP_ARCH_AARCH64" => ScmpArch::Aarch64,
        "SCMP_ARCH_LOONGARCH64" => ScmpArch::Loongarch64,
        "SCMP_ARCH_M68K" => ScmpArch::M68k,
        "SCMP_ARCH_MIPS" => ScmpArch::Mips,
        "SCMP_ARCH_MIPS64" => ScmpArch::Mips64,
        "SCMP_ARCH_MIPS64N32" => ScmpArch::Mips64N32,
        "SCMP_ARCH_MIPSEL" => ScmpArch::Mipsel,
        "SCMP_ARCH_MIPSEL64" => ScmpArch::Mipsel64,
        "SCMP_ARCH_MIPSEL64N32" => ScmpArch::Mipsel64N32,
        "SCMP_ARCH_PPC" => ScmpArch::Ppc,
        "SCMP_ARCH_PPC64" => ScmpArch::Ppc64,
        "SCMP_ARCH_PPC64LE" => ScmpArch::Ppc64Le,
        "SCMP_ARCH_S390" => ScmpArch::S390,
        "SCMP_ARCH_S390X" => ScmpArch::S390X,
        "SCMP_ARCH_PARISC" => ScmpArch::Parisc,
        "SCMP_ARCH_PARISC64" => ScmpArch::Parisc64,
        "SCMP_ARCH_RISCV64" => ScmpArch::Riscv64,
        "SCMP_ARCH_SH" => ScmpArch::Sh,
        "SCMP_ARCH_SHEB" => ScmpArch::Sheb,
        _ => return None,
    };
    Some(Arch::Other(a))
}

/// One argument condition in libseccomp's terms. For `SCMP_CMP_MASKED_EQ`
/// the condition is `(arg & value) == value_two`, as in the OCI spec and
/// runc: `value` is the mask.
///
/// ```
/// use libseccomp::{ScmpArgCompare, ScmpCompareOp};
/// use nsinit_configs::{SeccompArg, SeccompOp};
/// use nsinit_runtime::seccomp::translate::condition;
/// let c = SeccompArg { index: 0, value: 0x7E020000, value_two: 0, op: SeccompOp::MaskedEqual };
/// assert_eq!(
///     condition(&c),
///     Ok(ScmpArgCompare::new(0, ScmpCompareOp::MaskedEqual(0x7E020000), 0))
/// );
/// ```
pub fn condition(a: &SeccompArg) -> Result<ScmpArgCompare, Refusal> {
    if a.index >= MAX_ARGS {
        return Err(Refusal::ArgIndex(a.index));
    }
    let (op, datum) = match a.op {
        SeccompOp::NotEqual => (ScmpCompareOp::NotEqual, a.value),
        SeccompOp::LessThan => (ScmpCompareOp::Less, a.value),
        SeccompOp::LessOrEqual => (ScmpCompareOp::LessOrEqual, a.value),
        SeccompOp::Equal => (ScmpCompareOp::Equal, a.value),
        SeccompOp::GreaterOrEqual => (ScmpCompareOp::GreaterEqual, a.value),
        SeccompOp::GreaterThan => (ScmpCompareOp::Greater, a.value),
        SeccompOp::MaskedEqual => (ScmpCompareOp::MaskedEqual(a.value), a.value_two),
    };
    Ok(ScmpArgCompare::new(a.index, op, datum))
}

/// The condition sets of one rule, each added as its own libseccomp rule.
///
/// libseccomp ANDs the conditions of a rule and allows one condition per
/// argument. Conditions on distinct arguments therefore form one rule (all
/// must hold); when two or more conditions name the same argument, each
/// becomes a rule of its own (any may hold) — the meaning runc gives such
/// profiles, which Docker's default profile relies on.
///
/// ```
/// use nsinit_configs::{SeccompArg, SeccompOp};
/// use nsinit_runtime::seccomp::translate::condition_sets;
/// let eq = |index, value| SeccompArg { index, value, value_two: 0, op: SeccompOp::Equal };
/// assert_eq!(condition_sets(&[]).unwrap().len(), 1); // one rule, no condition
/// assert_eq!(condition_sets(&[eq(0, 1), eq(1, 2)]).unwrap().len(), 1); // AND
/// assert_eq!(condition_sets(&[eq(0, 1), eq(0, 2)]).unwrap().len(), 2); // OR
/// ```
pub fn condition_sets(args: &[SeccompArg]) -> Result<Vec<Vec<ScmpArgCompare>>, Refusal> {
    let conds = args.iter().map(condition).collect::<Result<Vec<_>, _>>()?;
    let mut seen = [false; MAX_ARGS as usize];
    let mut repeated = false;
    for a in args {
        // In range: condition() above refused every index >= MAX_ARGS.
        let slot = &mut seen[a.index as usize];
        repeated |= *slot;
        *slot = true;
    }
    Ok(if repeated {
        conds.into_iter().map(|c| vec![c]).collect()
    } else {
        vec![conds]
    })
}

/// What a filter flag asks of the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flag {
    /// A `SECCOMP_FILTER_FLAG_*` bit passed to `seccomp(2)`.
    Kernel(u64),
    /// Accepted and without effect here: `SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV`
    /// changes how a notify listener waits, and filters of this runtime never
    /// have a listener (the kernel refuses the flag without one).
    NoListener,
}

/// The meaning of a filter flag name; `None` for a name that is not one.
///
/// ```
/// use nsinit_runtime::seccomp::translate::{flag, Flag};
/// assert_eq!(flag("SECCOMP_FILTER_FLAG_LOG"), Some(Flag::Kernel(libc::SECCOMP_FILTER_FLAG_LOG as u64)));
/// assert_eq!(flag("LOG"), None);
/// ```
pub fn flag(name: &str) -> Option<Flag> {
    let bit = match name {
        "SECCOMP_FILTER_FLAG_TSYNC" => libc::SECCOMP_FILTER_FLAG_TSYNC,
        "SECCOMP_FILTER_FLAG_LOG" => libc::SECCOMP_FILTER_FLAG_LOG,
        "SECCOMP_FILTER_FLAG_SPEC_ALLOW" => libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW,
        "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV" => return Some(Flag::NoListener),
        _ => return None,
    };
    // c_ulong is u64 on 64-bit targets and u32 on 32-bit ones: widening only.
    #[allow(clippy::useless_conversion)]
    Some(Flag::Kernel(u64::from(bit)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use nsinit_configs::validate::{SECCOMP_ARCHES, SECCOMP_FLAGS};

    #[test]
    fn every_action_translates() {
        let cases = [
            (SeccompAction::Kill, ScmpAction::KillThread),
            (SeccompAction::KillThread, ScmpAction::KillThread),
            (SeccompAction::KillProcess, ScmpAction::KillProcess),
            (SeccompAction::Trap, ScmpAction::Trap),
            (SeccompAction::Errno, ScmpAction::Errno(libc::EPERM)),
            (SeccompAction::Trace, ScmpAction::Trace(libc::EPERM as u16)),
            (SeccompAction::Allow, ScmpAction::Allow),
            (SeccompAction::Log, ScmpAction::Log),
        ];
        for (a, want) in cases {
            assert_eq!(action(a, None), Ok(want), "{a:?}");
        }
        assert_eq!(action(SeccompAction::Notify, None), Err(Refusal::Notify));
    }

    #[test]
    fn errno_values_and_limits() {
        assert_eq!(
            action(SeccompAction::Errno, Some(0)),
            Ok(ScmpAction::Errno(0))
        );
        assert_eq!(
            action(SeccompAction::Errno, Some(4094)),
            Ok(ScmpAction::Errno(4094))
        );
        assert_eq!(
            action(SeccompAction::Errno, Some(4095)),
            Err(Refusal::Errno(4095))
        );
        assert_eq!(
            action(SeccompAction::Trace, Some(65535)),
            Ok(ScmpAction::Trace(65535))
        );
        assert_eq!(
            action(SeccompAction::Trace, Some(65536)),
            Err(Refusal::TraceMessage(65536))
        );
        // The others ignore errno_ret (validation reports it).
        assert_eq!(
            action(SeccompAction::Allow, Some(99_999)),
            Ok(ScmpAction::Allow)
        );
    }

    #[test]
    fn every_validated_arch_is_known() {
        for name in SECCOMP_ARCHES {
            assert!(arch(name).is_some(), "{name}");
        }
        assert_eq!(arch("SCMP_ARCH_X86"), Some(Arch::Other(ScmpArch::X86)));
        assert_eq!(arch("SCMP_ARCH_X86_64"), Some(Arch::Other(ScmpArch::X8664)));
        assert_eq!(
            arch("SCMP_ARCH_AARCH64"),
            Some(Arch::Other(ScmpArch::Aarch64))
        );
        assert_eq!(arch("SCMP_ARCH_VAX"), None);
    }

    #[test]
    fn every_validated_flag_is_known() {
        for name in SECCOMP_FLAGS {
            assert!(flag(name).is_some(), "{name}");
        }
        assert_eq!(flag("SECCOMP_FILTER_FLAG_TSYNC"), Some(Flag::Kernel(1)));
        assert_eq!(flag("SECCOMP_FILTER_FLAG_LOG"), Some(Flag::Kernel(2)));
        assert_eq!(
            flag("SECCOMP_FILTER_FLAG_SPEC_ALLOW"),
            Some(Flag::Kernel(4))
        );
        assert_eq!(
            flag("SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"),
            Some(Flag::NoListener)
        );
        assert_eq!(flag("SECCOMP_FILTER_FLAG_NEW_LISTENER"), None);
    }

    #[test]
    fn every_op_translates() {
        let arg = |op| SeccompArg {
            index: 2,
            value: 7,
            value_two: 3,
            op,
        };
        let cases = [
            (SeccompOp::NotEqual, ScmpCompareOp::NotEqual, 7),
            (SeccompOp::LessThan, ScmpCompareOp::Less, 7),
            (SeccompOp::LessOrEqual, ScmpCompareOp::LessOrEqual, 7),
            (SeccompOp::Equal, ScmpCompareOp::Equal, 7),
            (SeccompOp::GreaterOrEqual, ScmpCompareOp::GreaterEqual, 7),
            (SeccompOp::GreaterThan, ScmpCompareOp::Greater, 7),
            // Mask 7, compared with 3.
            (SeccompOp::MaskedEqual, ScmpCompareOp::MaskedEqual(7), 3),
        ];
        for (op, want, datum) in cases {
            assert_eq!(
                condition(&arg(op)),
                Ok(ScmpArgCompare::new(2, want, datum)),
                "{op:?}"
            );
        }
        let mut bad = arg(SeccompOp::Equal);
        bad.index = 6;
        assert_eq!(condition(&bad), Err(Refusal::ArgIndex(6)));
    }

    #[test]
    fn same_argument_twice_means_any() {
        let eq = |index, value| SeccompArg {
            index,
            value,
            value_two: 0,
            op: SeccompOp::Equal,
        };
        let sets = condition_sets(&[eq(0, 1), eq(2, 5), eq(0, 3)]).unwrap();
        assert_eq!(sets.len(), 3);
        assert!(sets.iter().all(|s| s.len() == 1));
        let sets = condition_sets(&[eq(0, 1), eq(2, 5)]).unwrap();
        assert_eq!(sets.len(), 1);
        assert_eq!(sets[0].len(), 2);
        assert_eq!(
            condition_sets(&[eq(0, 1), eq(9, 1)]),
            Err(Refusal::ArgIndex(9))
        );
    }

    #[test]
    fn refusals_read_well() {
        assert!(Refusal::Notify
            .to_string()
            .starts_with("SCMP_ACT_NOTIFY needs"));
        assert_eq!(
            Refusal::Errno(5000).to_string(),
            "errno 5000 is out of range (0..=4094)"
        );
    }
}
