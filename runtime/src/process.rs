//! A process of a container: what to run, and after start, a handle on it.

use std::fmt;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nsinit_configs::{Capabilities, Rlimit};

use crate::error::{Context, Error, Result, SysError};

/// Where a stdio stream of the process comes from.
#[derive(Debug, Default)]
pub enum Stdio {
    /// The caller's own stream (fd 0, 1 or 2).
    #[default]
    Inherit,
    /// `/dev/null`.
    Null,
    /// A file descriptor handed over to the process.
    Fd(OwnedFd),
}

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Exited with this code.
    Exited(i32),
    /// Killed by this signal.
    Signaled(i32),
}

impl ExitStatus {
    /// The shell convention: the exit code, or 128 + the signal number.
    pub fn code(self) -> i32 {
        match self {
            ExitStatus::Exited(c) => c,
            ExitStatus::Signaled(s) => 128 + s,
        }
    }

    /// Decodes a `waitpid` status word.
    pub fn from_wait_status(status: i32) -> ExitStatus {
        if libc::WIFSIGNALED(status) {
            ExitStatus::Signaled(libc::WTERMSIG(status))
        } else {
            ExitStatus::Exited(libc::WEXITSTATUS(status))
        }
    }
}

impl fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitStatus::Exited(c) => write!(f, "exit status {c}"),
            ExitStatus::Signaled(s) => {
                let name = nsinit_configs::Signal(*s).name().unwrap_or("signal");
                write!(f, "killed by {name} ({s})")
            }
        }
    }
}

/// A process to start in a container, and once started, its handle.
///
/// Every unset field takes the container's default (the config's `process`
/// section, capabilities, rlimits, no_new_privileges).
///
/// ```no_run
/// use nsinit_runtime::{Factory, Process};
/// # fn main() -> nsinit_runtime::Result<()> {
/// let factory = Factory::new("/run/nsinit")?;
/// let container = factory.load("web")?;
/// let mut p = Process::new(["/bin/sh", "-c", "echo hi"]).user("1000:1000").cwd("/tmp");
/// container.start(&mut p)?;
/// let status = p.wait()?;
/// println!("{status}");
/// # Ok(()) }
/// ```
#[derive(Debug, Default)]
pub struct Process {
    /// Program and arguments.
    pub args: Vec<String>,
    /// Environment (`KEY=VALUE`); `None` takes the config's.
    pub env: Option<Vec<String>>,
    /// Working directory.
    pub cwd: Option<String>,
    /// User: `uid`, `uid:gid`, `name`, `name:group`.
    pub user: Option<String>,
    /// Supplementary groups in addition to the user's own.
    pub additional_groups: Vec<String>,
    /// Capability sets (default: the container's).
    pub capabilities: Option<Capabilities>,
    /// `no_new_privileges` (default: the container's).
    pub no_new_privileges: Option<bool>,
    /// Resource limits (default: the container's).
    pub rlimits: Option<Vec<Rlimit>>,
    /// Allocate a pseudo terminal; its master is available from
    /// [`Process::console`] after start.
    pub terminal: bool,
    /// Size of the terminal (rows, columns) at start.
    pub terminal_size: Option<(u16, u16)>,
    /// Standard input.
    pub stdin: Stdio,
    /// Standard output.
    pub stdout: Stdio,
    /// Standard error.
    pub stderr: Stdio,
    /// Extra fds passed to the program as 3, 4, ...
    pub extra_fds: Vec<OwnedFd>,
    pub(crate) handle: Option<Handle>,
}

/// The running side of a process.
#[derive(Debug)]
pub(crate) struct Handle {
    pub pid: i32,
    pub start_time: u64,
    pub pidfd: Option<OwnedFd>,
    /// The process is our child (it can be waited for).
    pub is_child: bool,
    pub console: Option<OwnedFd>,
    pub exit: Option<ExitStatus>,
}

impl Process {
    /// A process running `args`.
    pub fn new<I, S>(args: I) -> Process
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Process {
            args: args.into_iter().map(Into::into).collect(),
            ..Process::default()
        }
    }

    /// Sets the environment.
    pub fn env<I, S>(mut self, env: I) -> Process
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.env = Some(env.into_iter().map(Into::into).collect());
        self
    }

    /// Sets the working directory.
    pub fn cwd(mut self, cwd: impl Into<String>) -> Process {
        self.cwd = Some(cwd.into());
        self
    }

    /// Sets the user.
    pub fn user(mut self, user: impl Into<String>) -> Process {
        self.user = Some(user.into());
        self
    }

    /// Asks for a pseudo terminal.
    pub fn terminal(mut self, on: bool) -> Process {
        self.terminal = on;
        self
    }

    /// The host pid, once started.
    pub fn pid(&self) -> Option<i32> {
        self.handle.as_ref().map(|h| h.pid)
    }

    /// Start time of the process in clock ticks since boot, once started.
    pub fn start_time(&self) -> Option<u64> {
        self.handle.as_ref().map(|h| h.start_time)
    }

    /// A pidfd of the process (readable when it exits), once started.
    pub fn pidfd(&self) -> Option<BorrowedFd<'_>> {
        self.handle
            .as_ref()
            .and_then(|h| h.pidfd.as_ref())
            .map(|f| f.as_fd())
    }

    /// The master side of the terminal, when `terminal` was set.
    pub fn console(&self) -> Option<BorrowedFd<'_>> {
        self.handle
            .as_ref()
            .and_then(|h| h.console.as_ref())
            .map(|f| f.as_fd())
    }

    /// Takes the terminal master out of the process (e.g. to hand it to another
    /// program).
    pub fn take_console(&mut self) -> Option<OwnedFd> {
        self.handle.as_mut().and_then(|h| h.console.take())
    }

    fn started(&self) -> Result<&Handle> {
        self.handle
            .as_ref()
            .ok_or_else(|| Error::Unsupported("the process has not been started".into()))
    }

    /// Waits for the process to end. Only a process started by this program can
    /// be waited for.
    pub fn wait(&mut self) -> Result<ExitStatus> {
        let h = self
            .handle
            .as_mut()
            .ok_or_else(|| Error::Unsupported("the process has not been started".into()))?;
        if let Some(s) = h.exit {
            return Ok(s);
        }
        if !h.is_child {
            return Err(Error::Unsupported(format!(
                "process {} was not started by this program and cannot be waited for",
                h.pid
            )));
        }
        let s = wait_pid(h.pid)?;
        h.exit = Some(s);
        Ok(s)
    }

    /// Checks without blocking whether the process ended.
    pub fn try_wait(&mut self) -> Result<Option<ExitStatus>> {
        let h = self
            .handle
            .as_mut()
            .ok_or_else(|| Error::Unsupported("the process has not been started".into()))?;
        if h.exit.is_some() || !h.is_child {
            return Ok(h.exit);
        }
        let mut status = 0;
        // SAFETY: waitpid on our own child with a valid status pointer.
        let r = unsafe { libc::waitpid(h.pid, &mut status, libc::WNOHANG) };
        if r < 0 {
            return Err(SysError::new(
                "wait for process",
                "waitpid",
                nix::errno::Errno::last_raw(),
            )
            .into());
        }
        if r == h.pid {
            h.exit = Some(ExitStatus::from_wait_status(status));
        }
        Ok(h.exit)
    }

    /// Sends `signal` to the process.
    pub fn signal(&self, signal: i32) -> Result<()> {
        let h = self.started()?;
        if h.exit.is_some() {
            return Ok(());
        }
        send_signal(h.pid, h.pidfd.as_ref().map(|f| f.as_raw_fd()), signal)
    }

    /// Kills the process (SIGKILL).
    pub fn terminate(&self) -> Result<()> {
        self.signal(libc::SIGKILL)
    }
}

/// Blocks until child `pid` ends.
pub(crate) fn wait_pid(pid: i32) -> Result<ExitStatus> {
    let mut status = 0;
    loop {
        // SAFETY: waitpid on a child pid with a valid status pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid {
            return Ok(ExitStatus::from_wait_status(status));
        }
        let errno = nix::errno::Errno::last_raw();
        if r < 0 && errno != libc::EINTR {
            return Err(SysError::new(format!("wait for process {pid}"), "waitpid", errno).into());
        }
    }
}

/// Sends a signal through the pidfd when there is one (immune to pid reuse).
pub(crate) fn send_signal(pid: i32, pidfd: Option<RawFd>, signal: i32) -> Result<()> {
    let r = match pidfd {
        // SAFETY: pidfd_send_signal with a pidfd we own, no siginfo, no flags.
        Some(fd) => unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                fd,
                signal,
                std::ptr::null::<u8>(),
                0,
            )
        },
        // SAFETY: kill with plain integers.
        None => unsafe { libc::kill(pid, signal) as libc::c_long },
    };
    if r < 0 {
        let errno = nix::errno::Errno::last_raw();
        if errno == libc::ESRCH {
            return Ok(());
        }
        return Err(
            SysError::new(format!("signal {signal} to process {pid}"), "kill", errno).into(),
        );
    }
    Ok(())
}

/// A pidfd for `pid` (None if the kernel has none).
pub(crate) fn pidfd_open(pid: i32) -> Option<OwnedFd> {
    // SAFETY: pidfd_open with plain integers; a non-negative result is a new fd
    // that we own.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return None;
    }
    // SAFETY: see above: a fresh fd owned by nobody else.
    Some(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// Opens `/dev/null` for a `Stdio::Null` stream.
pub(crate) fn dev_null() -> Result<OwnedFd> {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
        .ctx_path("open stdio", "open", "/dev/null")?;
    Ok(OwnedFd::from(f))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes() {
        assert_eq!(ExitStatus::Exited(3).code(), 3);
        assert_eq!(ExitStatus::Signaled(9).code(), 137);
        assert_eq!(
            ExitStatus::Signaled(15).to_string(),
            "killed by SIGTERM (15)"
        );
    }
}
