//! Forwarding signals to a container's process while waiting for it.
//!
//! The signals a terminal or a supervisor sends are blocked and read from a
//! signalfd; the wait polls that and the process's pidfd together, so nothing
//! runs in a signal handler.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nsinit_runtime::{ExitStatus, Process};

/// Signals passed on to the container.
pub const FORWARDED: &[Signal] = &[
    Signal::SIGHUP,
    Signal::SIGINT,
    Signal::SIGQUIT,
    Signal::SIGTERM,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGWINCH,
    Signal::SIGCONT,
];

/// Blocks the forwarded signals and returns a signalfd reading them. Call this
/// before starting the process (the runtime resets the mask in the child).
pub fn block() -> Result<SignalFd, String> {
    let mut set = SigSet::empty();
    for s in FORWARDED {
        set.add(*s);
    }
    set.thread_block()
        .map_err(|e| format!("block signals: sigprocmask: {e}"))?;
    SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
        .map_err(|e| format!("block signals: signalfd: {e}"))
}

/// Restores the signal mask.
pub fn unblock() {
    let mut set = SigSet::empty();
    for s in FORWARDED {
        set.add(*s);
    }
    let _ = set.thread_unblock();
}

/// Something to do besides forwarding while waiting (the terminal copier).
pub trait WaitHook {
    /// Extra fds to poll.
    fn fds(&self) -> Vec<BorrowedFd<'_>>;
    /// Called when one of `fds()` is ready (index into it, and its revents).
    fn ready(&mut self, index: usize, events: PollFlags);
    /// Called for SIGWINCH before it is forwarded.
    fn winch(&mut self) {}
    /// Called once the process has exited, to drain what is left.
    fn finish(&mut self) {}
}

/// No extra work.
pub struct NoHook;

impl WaitHook for NoHook {
    fn fds(&self) -> Vec<BorrowedFd<'_>> {
        Vec::new()
    }
    fn ready(&mut self, _index: usize, _events: PollFlags) {}
}

/// Waits for `process`, forwarding signals read from `sfd` to it.
pub fn wait_forwarding(
    process: &mut Process,
    sfd: &mut SignalFd,
    hook: &mut dyn WaitHook,
) -> Result<ExitStatus, String> {
    loop {
        if let Some(status) = process.try_wait().map_err(|e| e.to_string())? {
            hook.finish();
            return Ok(status);
        }
        let (n_extra, revents) = {
            let pidfd = process
                .pidfd()
                .ok_or_else(|| "the process has no pidfd".to_string())?;
            let mut fds = vec![
                PollFd::new(pidfd, PollFlags::POLLIN),
                PollFd::new(sfd.as_fd(), PollFlags::POLLIN),
            ];
            let extra = hook.fds();
            for f in &extra {
                fds.push(PollFd::new(*f, PollFlags::POLLIN));
            }
            match poll(&mut fds, PollTimeout::NONE) {
                Ok(_) => {}
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(format!("wait for the container: poll: {e}")),
            }
            let revents: Vec<PollFlags> = fds
                .iter()
                .map(|f| f.revents().unwrap_or(PollFlags::empty()))
                .collect();
            (extra.len(), revents)
        };
        for i in 0..n_extra {
            let ev = revents[2 + i];
            if !ev.is_empty() {
                hook.ready(i, ev);
            }
        }
        if revents[1].contains(PollFlags::POLLIN) {
            while let Ok(Some(info)) = sfd.read_signal() {
                let sig = info.ssi_signo as i32;
                if sig == libc::SIGWINCH {
                    hook.winch();
                }
                // The process may just have exited; that is fine.
                let _ = process.signal(sig);
            }
        }
        let _ = sfd.as_raw_fd();
    }
}
