//! What runs inside the container: the init.
//!
//! The parent executes the runtime binary again (argv `[<exe>, "init"]`, the
//! environment variable [`INIT_ENV`] naming the sync
//! fd); that process calls [`start_initialization`], which reads an
//! [`InitRequest`] from the sync socket and becomes the container's process:
//! - [`standard`] for a new container (rootfs, devices, pivot, ...);
//! - [`setns`] for a process joining a running container.
//!
//! Both end in [`finalize`] (rlimits, user, capabilities, exec). Any error is
//! sent to the parent as one [`SysError`] and the init exits.

pub mod finalize;
pub mod setns;
pub mod standard;

use std::os::fd::{FromRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

use nsinit_configs::{Capabilities, Config, Rlimit};
use serde::{Deserialize, Serialize};

use crate::error::SysError;
use crate::network::HostVeth;
use crate::spawn::INIT_ENV;
use crate::sync::{Message, SyncChannel};

/// Which kind of init.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InitKind {
    /// The first process of a new container.
    Standard,
    /// A process joining a running container.
    Setns,
}

/// The process the init becomes, with every default already resolved.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ProcessSpec {
    /// Program and arguments (the program is looked up in `PATH` of `env`).
    pub args: Vec<String>,
    /// Environment, `KEY=VALUE`.
    pub env: Vec<String>,
    /// Working directory inside the container.
    pub cwd: String,
    /// `uid[:gid]` or `name[:group]`.
    pub user: String,
    /// Supplementary groups (names or numbers).
    pub additional_groups: Vec<String>,
    /// Capability sets.
    pub capabilities: Capabilities,
    /// `PR_SET_NO_NEW_PRIVS`.
    pub no_new_privileges: bool,
    /// Resource limits.
    pub rlimits: Vec<Rlimit>,
    /// Stdio is a terminal: become its session leader.
    pub terminal: bool,
    /// AppArmor profile at exec.
    pub apparmor_profile: String,
    /// SELinux label at exec.
    pub process_label: String,
    /// Signal on the death of the runtime (0: none).
    pub parent_death_signal: i32,
    /// Number of fds after stdio passed through to the program (3..3+n).
    pub preserved_fds: i32,
}

/// Everything the init needs, sent by the parent in the bootstrap message.
#[derive(Debug, Serialize, Deserialize)]
pub struct InitRequest {
    pub kind: InitKind,
    /// Container id.
    pub id: String,
    /// The container's config.
    pub config: Config,
    /// The process to become.
    pub process: ProcessSpec,
    /// The container's cgroup directories by hierarchy (for `/sys/fs/cgroup`).
    pub cgroups: Vec<crate::cgroups::HierarchyMount>,
    /// Veth peers moved into the container, in the order of the veth networks.
    pub veths: Vec<HostVeth>,
    /// Create mode: block on this fifo (opened before the pivot) until started.
    pub exec_fifo: Option<PathBuf>,
    /// fd (in the init) of a mount namespace to join first.
    pub mount_ns_fd: Option<RawFd>,
    /// Unshare a new cgroup namespace (the parent has placed us in our cgroups).
    pub unshare_cgroupns: bool,
    /// Stop at the hook point and let the parent run its hooks.
    pub parent_hooks: bool,
    /// OCI state JSON given to hooks the init runs itself.
    pub hook_state: String,
    /// The config's seccomp filter, compiled by the parent.
    #[serde(default)]
    pub seccomp: Option<crate::seccomp::Filter>,
}

/// Blocks until the parent says start.
fn wait_start(chan: &mut SyncChannel) -> crate::error::SysResult<()> {
    match chan.recv_message("wait for start")? {
        Message::Start => Ok(()),
        other => Err(SysError::msg(
            "wait for start",
            format!("unexpected message {other:?}"),
        )),
    }
}

/// Whether this process was started as an nsinit init. An embedding program
/// that re-executes itself calls this first thing in `main`:
///
/// ```no_run
/// // First thing in the engine's main:
/// if nsinit_runtime::init::is_init_process() {
///     nsinit_runtime::init::start_initialization();
/// }
/// ```
pub fn is_init_process() -> bool {
    std::env::var_os(INIT_ENV).is_some()
}

/// The entry point inside the container. Never returns: it executes the user
/// program or exits after reporting the failure to the parent.
pub fn start_initialization() -> ! {
    let fd: RawFd = match std::env::var(INIT_ENV).ok().and_then(|v| v.parse().ok()) {
        Some(fd) => fd,
        None => {
            eprintln!("nsinit init: must be started by the nsinit runtime ({INIT_ENV} is not set)");
            std::process::exit(1);
        }
    };
    std::env::remove_var(INIT_ENV);
    // SAFETY: the runtime placed the sync socket at this fd before executing us
    // and nothing else in this process owns it.
    let stream = unsafe { UnixStream::from_raw_fd(fd) };
    // Close-on-exec: the user program must not inherit it, and its closing tells
    // the parent that the exec succeeded.
    let _ = nix::fcntl::fcntl(
        fd,
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
    );
    let mut chan = SyncChannel::new(stream);
    let err = match chan.recv_message("init: receive bootstrap") {
        Ok(Message::Bootstrap(req)) => match req.kind {
            InitKind::Standard => standard::run(&req, &mut chan),
            InitKind::Setns => setns::run(&req, &mut chan),
        }
        .err(),
        Ok(other) => Some(SysError::msg(
            "init: receive bootstrap",
            format!("unexpected message {other:?}"),
        )),
        Err(e) => Some(e),
    };
    if let Some(e) = err {
        if chan.send(&Message::Error(e.clone())).is_err() {
            // No parent to tell (created container started later): say it here.
            eprintln!("nsinit init: {e}");
        }
    }
    std::process::exit(1)
}
