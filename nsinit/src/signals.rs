//! Forwarding signals to a container's process while waiting for it.
//!
//! The signals a terminal or a supervisor sends are blocked and read from a
//! signalfd; the wait polls that and the process's pidfd together (plus the
//! fds of a [`WaitHook`], e.g. the terminal relay of `--tty`), so nothing runs
//! in a signal handler.
//!
//! The signals stay blocked until `nsinit` exits: once the process has ended
//! there is nobody to forward them to, and a SIGTERM arriving while the
//! container is being destroyed must not cut the clean-up short (nor kill
//! `nsinit` before it restored the terminal).

use std::os::fd::{AsFd, BorrowedFd};
use std::time::Duration;

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

/// Reads and discards the signals pending on `sfd` (they arrived after the
/// process ended: there is nobody left to forward them to).
pub fn discard_pending(sfd: &mut SignalFd) {
    while let Ok(Some(_)) = sfd.read_signal() {}
}

/// Something to do besides forwarding while waiting (the terminal relay).
pub trait WaitHook {
    /// Extra fds to poll and the events wanted on each; the answers come back
    /// to [`WaitHook::ready`] in the same order.
    fn poll_fds(&self) -> Vec<(BorrowedFd<'_>, PollFlags)>;
    /// How long the wait may sleep at most (`None`: until something happens).
    fn timeout(&self) -> Option<Duration> {
        None
    }
    /// Called after every wake-up with the `revents` of each fd that
    /// [`WaitHook::poll_fds`] returned (empty flags for the quiet ones, all
    /// empty after a timeout).
    fn ready(&mut self, revents: &[PollFlags]);
    /// Called for every signal that arrives, before it is forwarded; returns
    /// true when the hook consumed it (it is then not forwarded).
    fn signal(&mut self, _signo: i32) -> bool {
        false
    }
    /// Called once the process has exited, to drain what is left.
    fn finish(&mut self) {}
}

/// No extra work.
pub struct NoHook;

impl WaitHook for NoHook {
    fn poll_fds(&self) -> Vec<(BorrowedFd<'_>, PollFlags)> {
        Vec::new()
    }
    fn ready(&mut self, _revents: &[PollFlags]) {}
}

/// Waits for `process`, forwarding signals read from `sfd` to it and letting
/// `hook` do its work in between.
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
        let revents = {
            let pidfd = process
                .pidfd()
                .ok_or_else(|| "wait for the container: the process has no pidfd".to_string())?;
            let mut fds = vec![
                PollFd::new(pidfd, PollFlags::POLLIN),
                PollFd::new(sfd.as_fd(), PollFlags::POLLIN),
            ];
            for (fd, events) in hook.poll_fds() {
                fds.push(PollFd::new(fd, events));
            }
            let timeout = match hook.timeout() {
                // Round up so a short timeout does not become a busy loop.
                // (at most 60 s, so the cast to u16 cannot truncate).
                Some(d) => PollTimeout::from(d.as_millis().clamp(1, 60_000) as u16),
                None => PollTimeout::NONE,
            };
            match poll(&mut fds, timeout) {
                Ok(_) => {}
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(format!("wait for the container: poll: {e}")),
            }
            fds.iter()
                .map(|f| f.revents().unwrap_or(PollFlags::empty()))
                .collect::<Vec<_>>()
        };
        // Signals first: a resize that arrived together with keystrokes must
        // reach the terminal before the program reads the keys.
        if revents[1].contains(PollFlags::POLLIN) {
            while let Ok(Some(info)) = sfd.read_signal() {
                let sig = info.ssi_signo as i32;
                if hook.signal(sig) {
                    continue;
                }
                // The process may just have exited; that is fine.
                let _ = process.signal(sig);
            }
        }
        hook.ready(&revents[2..]);
    }
}
