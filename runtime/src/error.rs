//! Errors of the runtime.
//!
//! Every failure names the step it happened in and, when the kernel refused
//! something, the system call, the path and the errno. Errors raised inside the
//! container's init travel to the parent as a [`SysError`] and surface there as
//! [`Error::Init`], so the user sees one line whichever side failed.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::cgroups::CgroupError;
use crate::network::NetworkError;

/// A failed step: what was being done, the system call, the path and the errno.
///
/// ```
/// use nsinit_runtime::SysError;
/// let e = SysError::new("mount /proc", "mount", libc::EPERM).with_path("/rootfs/proc");
/// assert_eq!(e.to_string(), "mount /proc: mount /rootfs/proc: Operation not permitted (errno 1)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub struct SysError {
    /// The step of the lifecycle, e.g. `pivot_root` or `set hostname`.
    pub step: String,
    /// The system call that failed (empty when the failure is not a syscall).
    #[serde(default)]
    pub syscall: String,
    /// The path the call was about, if any.
    #[serde(default)]
    pub path: Option<String>,
    /// The errno (0 when not applicable).
    #[serde(default)]
    pub errno: i32,
    /// Extra words when errno alone does not explain it.
    #[serde(default)]
    pub detail: Option<String>,
}

impl SysError {
    /// A failed system call.
    pub fn new(step: impl Into<String>, syscall: &str, errno: i32) -> SysError {
        SysError {
            step: step.into(),
            syscall: syscall.to_string(),
            path: None,
            errno,
            detail: None,
        }
    }

    /// A failure that is not an errno, e.g. a missing user.
    pub fn msg(step: impl Into<String>, detail: impl Into<String>) -> SysError {
        SysError {
            step: step.into(),
            syscall: String::new(),
            path: None,
            errno: 0,
            detail: Some(detail.into()),
        }
    }

    /// From a `std::io::Error` of a call.
    pub fn io(step: impl Into<String>, syscall: &str, e: &std::io::Error) -> SysError {
        match e.raw_os_error() {
            Some(errno) => SysError::new(step, syscall, errno),
            None => SysError {
                step: step.into(),
                syscall: syscall.to_string(),
                path: None,
                errno: 0,
                detail: Some(e.to_string()),
            },
        }
    }

    /// Adds the path the call was about.
    pub fn with_path(mut self, path: impl AsRef<std::path::Path>) -> SysError {
        self.path = Some(path.as_ref().display().to_string());
        self
    }

    /// Adds explanatory words.
    pub fn with_detail(mut self, detail: impl Into<String>) -> SysError {
        self.detail = Some(detail.into());
        self
    }
}

impl fmt::Display for SysError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.step)?;
        let mut sep = ": ";
        if !self.syscall.is_empty() {
            write!(f, "{sep}{}", self.syscall)?;
            sep = " ";
        }
        if let Some(p) = &self.path {
            write!(f, "{sep}{p}")?;
        }
        if self.errno != 0 {
            write!(
                f,
                ": {} (errno {})",
                nix::errno::Errno::from_raw(self.errno).desc(),
                self.errno
            )?;
        }
        if let Some(d) = &self.detail {
            write!(f, ": {d}")?;
        }
        Ok(())
    }
}

/// Result alias of the runtime's kernel-facing code.
pub type SysResult<T> = std::result::Result<T, SysError>;

/// Attaches a step, syscall and path to the errno of a failed call.
pub trait Context<T> {
    /// Wraps the error as a [`SysError`] of `step` / `syscall`.
    fn ctx(self, step: &str, syscall: &str) -> SysResult<T>;
    /// Same, naming the path the call was about.
    fn ctx_path(self, step: &str, syscall: &str, path: impl AsRef<std::path::Path>)
        -> SysResult<T>;
}

impl<T> Context<T> for nix::Result<T> {
    fn ctx(self, step: &str, syscall: &str) -> SysResult<T> {
        self.map_err(|e| SysError::new(step, syscall, e as i32))
    }
    fn ctx_path(
        self,
        step: &str,
        syscall: &str,
        path: impl AsRef<std::path::Path>,
    ) -> SysResult<T> {
        self.map_err(|e| SysError::new(step, syscall, e as i32).with_path(path))
    }
}

impl<T> Context<T> for std::io::Result<T> {
    fn ctx(self, step: &str, syscall: &str) -> SysResult<T> {
        self.map_err(|e| SysError::io(step, syscall, &e))
    }
    fn ctx_path(
        self,
        step: &str,
        syscall: &str,
        path: impl AsRef<std::path::Path>,
    ) -> SysResult<T> {
        self.map_err(|e| SysError::io(step, syscall, &e).with_path(path))
    }
}

/// Every error the library returns.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The container id breaks the id rules.
    #[error("invalid container id {id:?}: {reason}")]
    InvalidId { id: String, reason: &'static str },
    /// A container with this id already exists.
    #[error("container {0:?} already exists")]
    Exists(String),
    /// No container with this id.
    #[error("container {0:?} does not exist")]
    NotFound(String),
    /// The config does not validate; every problem, joined with `; `.
    #[error("invalid config: {}", .0.0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
    InvalidConfig(#[from] nsinit_configs::ValidationErrors),
    /// The config file could not be read.
    #[error(transparent)]
    Load(#[from] nsinit_configs::LoadError),
    /// The operation does not fit the container's status.
    #[error("container {id:?} is {status}: cannot {operation}")]
    BadStatus {
        id: String,
        status: crate::Status,
        operation: &'static str,
    },
    /// A step of the runtime failed in the runtime's own process.
    #[error(transparent)]
    Sys(#[from] SysError),
    /// A step failed inside the container's init; the message comes from there.
    #[error("container init: {0}")]
    Init(SysError),
    /// The init went away without saying why.
    #[error("container init exited during setup ({0})")]
    InitDied(String),
    /// A cgroup operation failed.
    #[error(transparent)]
    Cgroup(#[from] CgroupError),
    /// A network operation failed.
    #[error(transparent)]
    Network(#[from] NetworkError),
    /// The state file is unreadable or inconsistent.
    #[error("state of container {id:?} ({path}): {reason}")]
    State {
        id: String,
        path: PathBuf,
        reason: String,
    },
    /// Checkpoint or restore through CRIU failed.
    #[error(transparent)]
    Criu(#[from] crate::criu::CriuError),
    /// A feature the caller asked for is not available.
    #[error("{0}")]
    Unsupported(String),
}

/// Result alias of the library.
pub type Result<T> = std::result::Result<T, Error>;
