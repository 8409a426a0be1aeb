//! The error type of the cgroup layer.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

/// An error of the cgroup layer.
///
/// Every variant names the step, the file or directory, the value written when
/// there is one, and the kernel's answer, so that its one-line `Display` is
/// enough to understand what went wrong, e.g.
///
/// ```text
/// set cgroup cpuset.cpus to "99" (/sys/fs/cgroup/cpuset/nsinit/x/cpuset.cpus): Invalid argument (os error 22)
/// ```
#[derive(thiserror::Error, Debug)]
pub enum CgroupError {
    /// The mount table could not be read.
    #[error("read mount table {}: {source}", path.display())]
    MountInfo {
        /// Usually `/proc/self/mountinfo`.
        path: PathBuf,
        /// What the kernel said.
        source: io::Error,
    },

    /// Neither a `cgroup` nor a `cgroup2` filesystem is mounted.
    #[error(
        "no cgroup filesystem is mounted (the mount table has no usable cgroup or cgroup2 entry)"
    )]
    NoCgroupFs,

    /// The configured cgroup path cannot be used.
    #[error("invalid cgroup path {path:?}: {reason}")]
    InvalidPath {
        /// The path as configured.
        path: String,
        /// Why it was refused.
        reason: &'static str,
    },

    /// The cgroup directories (e.g. from `state.json`) cannot be used.
    #[error("invalid cgroup directories: {reason}")]
    InvalidPaths {
        /// Why they were refused.
        reason: String,
    },

    /// A cgroup directory could not be made.
    #[error("create cgroup {}: {source}", path.display())]
    Create {
        /// The directory.
        path: PathBuf,
        /// What the kernel said.
        source: io::Error,
    },

    /// A value could not be written to a cgroup file.
    #[error("set cgroup {file} to {value:?} ({}): {source}", path.display())]
    Set {
        /// The file name, e.g. `memory.limit_in_bytes`.
        file: String,
        /// The exact text written.
        value: String,
        /// The full path of the file.
        path: PathBuf,
        /// What the kernel said.
        source: io::Error,
    },

    /// A cgroup file could not be read.
    #[error("read cgroup file {}: {source}", path.display())]
    Read {
        /// The full path of the file.
        path: PathBuf,
        /// What the kernel said.
        source: io::Error,
    },

    /// A cgroup file holds something this code does not understand.
    #[error("parse cgroup file {}: unexpected content {content:?}", path.display())]
    Parse {
        /// The full path of the file.
        path: PathBuf,
        /// The offending content (or line).
        content: String,
    },

    /// A process could not be moved into a cgroup.
    #[error("add pid {pid} to cgroup ({}): {source}", path.display())]
    AddPid {
        /// The process.
        pid: i32,
        /// The `cgroup.procs` file written.
        path: PathBuf,
        /// What the kernel said.
        source: io::Error,
    },

    /// A cgroup directory could not be removed.
    #[error("remove cgroup {}: {source}", path.display())]
    Remove {
        /// The directory.
        path: PathBuf,
        /// What the kernel said (after retries for `EBUSY`).
        source: io::Error,
    },

    /// A setting needs a controller that is not available here.
    #[error("{setting} needs the {controller} cgroup controller, which is not mounted")]
    MissingController {
        /// The controller, e.g. `memory`.
        controller: &'static str,
        /// The config key that needs it, e.g. `memory`.
        setting: &'static str,
    },

    /// A setting has no equivalent in cgroup v2.
    #[error("{setting} = {value} is not supported on cgroup v2: {reason}")]
    UnsupportedV2 {
        /// The config key.
        setting: &'static str,
        /// Its value.
        value: String,
        /// Why.
        reason: &'static str,
    },

    /// A setting has a value that cannot be applied.
    #[error("invalid cgroup setting {setting} = {value}: {reason}")]
    InvalidValue {
        /// The config key.
        setting: &'static str,
        /// Its value.
        value: String,
        /// Why it was refused.
        reason: String,
    },

    /// A state change did not complete in time.
    #[error("{action} cgroup {}: still {state} after {} ms", path.display(), waited.as_millis())]
    Timeout {
        /// What was attempted, e.g. `freeze`.
        action: &'static str,
        /// The directory.
        path: PathBuf,
        /// The state it is stuck in.
        state: String,
        /// How long it was waited for.
        waited: Duration,
    },

    /// A process of the cgroup could not be killed.
    #[error("send SIGKILL to pid {pid} of cgroup {}: {source}", path.display())]
    Kill {
        /// The process.
        pid: i32,
        /// The cgroup directory it was found in.
        path: PathBuf,
        /// What the kernel said.
        source: nix::errno::Errno,
    },

    /// The cgroup does not exist (any more).
    #[error("cgroup {} does not exist", path.display())]
    NotFound {
        /// The directory looked for.
        path: PathBuf,
    },

    /// An OOM notifier could not be set up or waited on.
    #[error("OOM notification for {}: {step}: {source}", path.display())]
    Oom {
        /// The step, e.g. `register eventfd`.
        step: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// What the kernel said.
        source: io::Error,
    },

    /// The cgroup v2 device filter (an eBPF program) could not be installed.
    #[error("device rules for cgroup {} (cgroup v2 eBPF): {step}: {source}", path.display())]
    DeviceFilter {
        /// The step, e.g. `load program`.
        step: String,
        /// The cgroup directory.
        path: PathBuf,
        /// What the kernel said.
        source: io::Error,
    },
}

impl CgroupError {
    /// The errno behind this error, when the kernel refused something.
    ///
    /// ```
    /// # use nsinit_runtime::cgroups::CgroupError;
    /// let e = CgroupError::NotFound { path: "/sys/fs/cgroup/pids/x".into() };
    /// assert_eq!(e.raw_os_error(), None);
    /// ```
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            CgroupError::MountInfo { source, .. }
            | CgroupError::Create { source, .. }
            | CgroupError::Set { source, .. }
            | CgroupError::Read { source, .. }
            | CgroupError::AddPid { source, .. }
            | CgroupError::Remove { source, .. }
            | CgroupError::Oom { source, .. }
            | CgroupError::DeviceFilter { source, .. } => source.raw_os_error(),
            CgroupError::Kill { source, .. } => Some(*source as i32),
            _ => None,
        }
    }
}

/// Turns an error of `cgroups-rs` into the io error behind it, so our own
/// variants can carry the errno (`cgroups-rs` keeps it as the error's source).
pub(crate) fn io_cause(err: &cgroups_rs::fs::error::Error) -> io::Error {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(err);
    while let Some(c) = cause {
        if let Some(io) = c.downcast_ref::<io::Error>() {
            return match io.raw_os_error() {
                Some(code) => io::Error::from_raw_os_error(code),
                None => io::Error::new(io.kind(), io.to_string()),
            };
        }
        cause = c.source();
    }
    io::Error::other(err.to_string())
}
