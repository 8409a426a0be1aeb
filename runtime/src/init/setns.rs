//! The init of a process joining a running container. Before exec it already
//! joined every namespace but the mount namespace (and, being the second stage,
//! sits in the container's pid namespace); the parent placed it into the
//! container's cgroups.

use std::convert::Infallible;

use nix::sys::stat::Mode;

use super::standard::{apply_labels, become_terminal_owner, join_mount_ns};
use super::{finalize, InitRequest};
use crate::error::{SysError, SysResult};
use crate::sync::{Message, SyncChannel};

/// Runs the setns init; returns only with an error.
pub fn run(req: &InitRequest, chan: &mut SyncChannel) -> SysResult<Infallible> {
    if let Some(fd) = req.mount_ns_fd {
        join_mount_ns(fd)?;
    }
    // setns(mnt) sets the root and cwd to the namespace's root.
    nix::unistd::chdir("/")
        .map_err(|e| SysError::new("enter container root", "chdir", e as i32))?;
    nix::sys::stat::umask(Mode::from_bits_truncate(0o022));
    if req.process.terminal {
        become_terminal_owner()?;
    }
    apply_labels(&req.process.apparmor_profile, &req.process.process_label)?;
    let seccomp = crate::seccomp::stage_filter(req.seccomp.clone(), &req.process)?;
    let prepared = finalize::prepare(&req.process)?;
    chan.send(&Message::Ready)?;
    super::wait_start(chan)?;
    seccomp.load()?;
    finalize::exec(&prepared, &req.process)
}
