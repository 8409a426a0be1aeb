//! Seccomp filters: the config's `seccomp` section compiled with libseccomp
//! and loaded into the container's process just before it executes the user
//! program.
//!
//! # Compiling
//!
//! [`Filter::compile`] builds the filter with libseccomp: the default action
//! (and its errno), the native architecture plus the configured
//! `architectures`, one rule per system call name with its action, errno and
//! argument conditions. libseccomp turns that into a classic BPF program,
//! which the [`Filter`] keeps together with the `seccomp(2)` flags; loading is
//! then a single system call that allocates nothing. Each architecture is
//! compiled on its own and the programs are chained (twice as fast as one
//! multi-architecture context; see `compile.rs`), and a [`Cache`] can keep
//! compiled filters on disk for a process that compiles ahead of the init.
//! The meaning follows the OCI runtime spec and runc:
//!
//! - `SCMP_ACT_ERRNO` / `SCMP_ACT_TRACE` without `errno_ret` use `EPERM`;
//! - a rule whose action equals the default action is dropped (libseccomp
//!   refuses it and it changes nothing);
//! - conditions on distinct arguments must all hold; several conditions on the
//!   same argument make one rule each, any of which may match
//!   ([`translate::condition_sets`]);
//! - `SCMP_CMP_MASKED_EQ` is `(arg & value) == value_two`;
//! - a system call name newer than this libseccomp but numbered alike on
//!   every architecture (Linux 5.1 onwards: `fchmodat2`, `cachestat`, ...)
//!   gets its rule in a short program in front of libseccomp's (`newer.rs`),
//!   when it has no argument conditions;
//! - when the default action denies, a call numbered above every call the
//!   profile names for its architecture gets `ENOSYS`, as with runc, so that
//!   programs fall back from system calls newer than the profile
//!   (`enosys.rs`);
//! - any other name this libseccomp does not know (newer than it, or a
//!   typo) is skipped, not an error ([`Filter::skipped_syscalls`]); so is an
//!   architecture it cannot filter (its system calls then meet the bad-arch
//!   action, which kills);
//! - `SCMP_ACT_NOTIFY` is refused: it needs a listener that receives the
//!   notifications, and this runtime has none — a filter using it would hang
//!   the container on the first such call;
//! - a filter that does not let `execve` through is refused, since no program
//!   could start under it.
//!
//! # When the filter is loaded
//!
//! The kernel loads a filter only for a process that has `no_new_privileges`
//! set or `CAP_SYS_ADMIN` in its user namespace (`EACCES` otherwise). The init
//! gives the user's process its capabilities (usually without
//! `CAP_SYS_ADMIN`) in `finalize::prepare`, so [`stage`], called just before
//! that, chooses:
//!
//! - `no_new_privileges` set, or `CAP_SYS_ADMIN` kept in the process's
//!   effective and permitted sets: the filter is compiled now and loaded by
//!   [`Staged::load`] right before `execve`, so that as few of the runtime's own
//!   system calls as possible run under it (with `no_new_privileges` the bit is
//!   set just before loading). After it the init still makes
//!   `prctl(PR_SET_NO_NEW_PRIVS)` (again), `rt_sigaction`, `close_range` and
//!   `execve`;
//! - otherwise: compiled and loaded now, while the init still holds every
//!   capability. The rest of the init (user and group switch, capabilities,
//!   `startContainer` hooks, waiting for `start`, `execve`) then runs under the
//!   filter, so the profile must allow those system calls — as with runc, which
//!   chooses the same way; Docker's default profile does.
//!
//! Either way every error of compiling happens before the init reports ready.
//!
//! ```
//! use nsinit_configs::{Seccomp, SeccompAction, SeccompSyscall};
//! use nsinit_runtime::seccomp::{bpf::SeccompData, Filter};
//!
//! // Everything allowed but mkdir, which fails with EPERM.
//! let cfg = Seccomp {
//!     default_action: SeccompAction::Allow,
//!     default_errno_ret: None,
//!     architectures: vec![],
//!     flags: vec![],
//!     syscalls: vec![SeccompSyscall {
//!         names: vec!["mkdir".into(), "mkdirat".into(), "no_such_call".into()],
//!         action: SeccompAction::Errno,
//!         errno_ret: None,
//!         args: vec![],
//!     }],
//! };
//! let filter = Filter::compile(&cfg).unwrap();
//! assert_eq!(filter.skipped_syscalls(), ["no_such_call"]);
//! # #[cfg(target_arch = "x86_64")] {
//! let call = |nr| SeccompData {
//!     nr: nr as i32,
//!     arch: nsinit_runtime::seccomp::bpf::audit_arch::X86_64,
//!     ..Default::default()
//! };
//! assert_eq!(filter.verdict(&call(libc::SYS_mkdir)), Some(libc::SECCOMP_RET_ERRNO | 1));
//! assert_eq!(filter.verdict(&call(libc::SYS_getpid)), Some(libc::SECCOMP_RET_ALLOW));
//! # }
//! // In the container's init: `stage(...)` before the capabilities are applied,
//! // `Staged::load()` right before execve; or all at once:
//! // nsinit_runtime::seccomp::install(Some(&cfg))?;
//! ```

pub mod bpf;
mod cache;
mod compile;
mod enosys;
mod newer;
pub mod translate;

pub use cache::Cache;

use nsinit_configs::{Capabilities, Seccomp};
use serde::{Deserialize, Serialize};

use crate::error::{Context, SysError, SysResult};
use crate::init::ProcessSpec;
use bpf::{Insn, SeccompData};

const COMPILE: &str = "build seccomp filter";
const LOAD: &str = "load seccomp filter";

/// A compiled filter: the BPF program and the `seccomp(2)` flags to load it
/// with. It can be serialized, e.g. to be compiled in one process and loaded
/// in another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filter {
    #[serde(with = "bpf::hex_program")]
    program: Vec<Insn>,
    flags: u64,
    skipped_syscalls: Vec<String>,
    skipped_arches: Vec<String>,
}

impl Filter {
    /// Compiles the config's filter. Errors name the entry at fault
    /// (`syscalls[3]`, `default_action`, ...) and why.
    pub fn compile(cfg: &Seccomp) -> SysResult<Filter> {
        Filter::checked(compile::compile(cfg)?)
    }

    fn checked(c: compile::Compiled) -> SysResult<Filter> {
        let filter = Filter {
            program: c.program,
            flags: c.flags,
            skipped_syscalls: c.skipped_syscalls,
            skipped_arches: c.skipped_arches,
        };
        filter.validate()?;
        Ok(filter)
    }

    /// Checks a filter (compiled here or received from elsewhere) before it
    /// is trusted: a length the kernel loads, and `execve` let through.
    pub fn validate(&self) -> SysResult<()> {
        if self.program.is_empty() || self.program.len() > bpf::MAX_INSNS {
            return Err(too_long(self.program.len()));
        }
        self.check_execve()
    }

    /// The BPF program.
    pub fn program(&self) -> &[Insn] {
        &self.program
    }

    /// The `SECCOMP_FILTER_FLAG_*` bits it is loaded with.
    pub fn flags(&self) -> u64 {
        self.flags
    }

    /// System call names of the config this libseccomp does not know; they got
    /// no rule (calls to them meet the default action).
    pub fn skipped_syscalls(&self) -> &[String] {
        &self.skipped_syscalls
    }

    /// Architectures of the config this libseccomp cannot filter.
    pub fn skipped_arches(&self) -> &[String] {
        &self.skipped_arches
    }

    /// What the filter decides for a system call: `SECCOMP_RET_*` with its
    /// data, or `None` if the program would not reach a verdict.
    pub fn verdict(&self, call: &SeccompData) -> Option<u32> {
        bpf::evaluate(&self.program, call)
    }

    /// Loads the filter into the calling thread (every thread with
    /// `SECCOMP_FILTER_FLAG_TSYNC`), after setting `no_new_privileges` if
    /// asked. Without `no_new_privileges` the caller needs `CAP_SYS_ADMIN`.
    pub fn load(&self, set_no_new_privs: bool) -> SysResult<()> {
        let len = match u16::try_from(self.program.len()) {
            Ok(n) if (1..=bpf::MAX_INSNS).contains(&self.program.len()) => n,
            _ => return Err(too_long(self.program.len())),
        };
        if set_no_new_privs {
            nix::sys::prctl::set_no_new_privs()
                .ctx("set no_new_privileges", "prctl PR_SET_NO_NEW_PRIVS")?;
        }
        let prog = libc::sock_fprog {
            len,
            // The kernel only reads the program; Insn has sock_filter's layout
            // (checked at compile time in bpf.rs).
            filter: self.program.as_ptr().cast_mut().cast::<libc::sock_filter>(),
        };
        // SAFETY: seccomp(SECCOMP_SET_MODE_FILTER, flags, &prog) reads `len`
        // instructions through `prog.filter`, which points into
        // `self.program`, alive and unchanged for the duration of the call.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                self.flags,
                &prog as *const libc::sock_fprog,
            )
        };
        match rc {
            0 => Ok(()),
            rc if rc < 0 => {
                let errno = nix::errno::Errno::last_raw();
                let e = SysError::new(LOAD, "seccomp SECCOMP_SET_MODE_FILTER", errno);
                Err(match errno {
                    libc::EACCES => {
                        e.with_detail("the process has neither no_new_privileges nor CAP_SYS_ADMIN")
                    }
                    libc::EINVAL if self.flags != 0 => e.with_detail(format!(
                        "the kernel refused the filter or its flags ({:#x})",
                        self.flags
                    )),
                    _ => e,
                })
            }
            // With SECCOMP_FILTER_FLAG_TSYNC: the id of a thread that could
            // not take the filter.
            tid => Err(SysError::msg(
                LOAD,
                format!("thread {tid} could not be synchronized (SECCOMP_FILTER_FLAG_TSYNC)"),
            )),
        }
    }

    /// Refuses a filter under which the user program could not be executed.
    /// The arguments of `execve` are pointers, so the verdict is taken for two
    /// extreme argument sets and the filter refused only if both deny.
    fn check_execve(&self) -> SysResult<()> {
        let Some(arch) = bpf::audit_arch::native() else {
            return Ok(());
        };
        let Ok(nr) = i32::try_from(libc::SYS_execve) else {
            return Ok(());
        };
        let mut denied = None;
        for fill in [0, u64::MAX] {
            let call = SeccompData {
                nr,
                arch,
                instruction_pointer: 0,
                args: [fill; 6],
            };
            match self.verdict(&call) {
                Some(v) if lets_through(v) => return Ok(()),
                v => denied = v,
            }
        }
        Err(SysError::msg(
            COMPILE,
            format!(
                "the filter does not allow execve ({}), so the container's program could not be started",
                denied.map_or_else(|| "no verdict".to_string(), describe)
            ),
        ))
    }
}

/// Whether a verdict lets the system call run.
fn lets_through(verdict: u32) -> bool {
    matches!(
        bpf::action_of(verdict),
        libc::SECCOMP_RET_ALLOW | libc::SECCOMP_RET_LOG
    )
}

/// A verdict in the config's words, e.g. `SCMP_ACT_ERRNO(1)`.
pub fn describe(verdict: u32) -> String {
    let data = verdict & libc::SECCOMP_RET_DATA;
    match bpf::action_of(verdict) {
        libc::SECCOMP_RET_KILL_PROCESS => "SCMP_ACT_KILL_PROCESS".into(),
        libc::SECCOMP_RET_KILL_THREAD => "SCMP_ACT_KILL_THREAD".into(),
        libc::SECCOMP_RET_TRAP => "SCMP_ACT_TRAP".into(),
        libc::SECCOMP_RET_ERRNO => format!("SCMP_ACT_ERRNO({data})"),
        libc::SECCOMP_RET_USER_NOTIF => "SCMP_ACT_NOTIFY".into(),
        libc::SECCOMP_RET_TRACE => format!("SCMP_ACT_TRACE({data})"),
        libc::SECCOMP_RET_LOG => "SCMP_ACT_LOG".into(),
        libc::SECCOMP_RET_ALLOW => "SCMP_ACT_ALLOW".into(),
        other => format!("action {other:#x}"),
    }
}

fn too_long(n: usize) -> SysError {
    SysError::msg(
        COMPILE,
        format!(
            "the filter has {n} BPF instructions; the kernel loads 1..={}",
            bpf::MAX_INSNS
        ),
    )
}

/// Compiles and loads the filter, if any, into the calling thread now. It
/// needs `no_new_privileges` or `CAP_SYS_ADMIN` already (it sets neither).
/// The container's init uses [`stage`] instead, which picks the moment.
///
/// ```no_run
/// # fn f(cfg: &nsinit_configs::Config) -> nsinit_runtime::error::SysResult<()> {
/// nsinit_runtime::seccomp::install(cfg.seccomp.as_ref())?;
/// # Ok(()) }
/// ```
pub fn install(filter: Option<&Seccomp>) -> SysResult<()> {
    match filter {
        None => Ok(()),
        Some(cfg) => Filter::compile(cfg)?.load(false),
    }
}

/// A filter compiled by [`stage`] and waiting to be loaded right before exec.
#[derive(Debug, Default)]
#[must_use = "the filter is loaded by Staged::load"]
pub struct Staged {
    pending: Option<Filter>,
    no_new_privs: bool,
}

impl Staged {
    /// Loads the staged filter, if any (setting `no_new_privileges` first when
    /// the process asked for it). Call it as the last step before `execve`.
    pub fn load(self) -> SysResult<()> {
        match self.pending {
            Some(f) => f.load(self.no_new_privs),
            None => Ok(()),
        }
    }

    /// Whether a filter waits to be loaded (false when there is none or it was
    /// loaded by [`stage`] already).
    pub fn is_pending(&self) -> bool {
        self.pending.is_some()
    }
}

/// Compiles the filter for `process` and loads it now if it must be loaded
/// before the process loses `CAP_SYS_ADMIN` (see the module documentation);
/// otherwise keeps it for [`Staged::load`]. Call it in the init before
/// `finalize::prepare`.
pub fn stage(filter: Option<&Seccomp>, process: &ProcessSpec) -> SysResult<Staged> {
    stage_filter(filter.map(Filter::compile).transpose()?, process)
}

/// [`stage`] for a filter compiled beforehand (e.g. by the runtime's parent
/// process, or taken from a [`Cache`]).
pub fn stage_filter(filter: Option<Filter>, process: &ProcessSpec) -> SysResult<Staged> {
    let Some(compiled) = filter else {
        return Ok(Staged::default());
    };
    // Cheap, and a filter from elsewhere has not been checked here yet.
    compiled.validate()?;
    if loads_late(process) {
        Ok(Staged {
            pending: Some(compiled),
            no_new_privs: process.no_new_privileges,
        })
    } else {
        compiled.load(false)?;
        Ok(Staged::default())
    }
}

/// Whether the process can still load a filter right before `execve`.
pub fn loads_late(process: &ProcessSpec) -> bool {
    process.no_new_privileges || keeps_sys_admin(&process.capabilities)
}

fn keeps_sys_admin(c: &Capabilities) -> bool {
    let has = |set: &[String]| {
        set.iter()
            .any(|n| nsinit_configs::caps::canonical(n) == Some("CAP_SYS_ADMIN"))
    };
    has(&c.effective) && has(&c.permitted)
}

#[cfg(test)]
mod tests;
