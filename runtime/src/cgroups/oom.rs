//! Notification when a cgroup hits its memory limit ([`OomNotifier`]).
//!
//! Written by hand: `cgroups-rs`'s `register_oom_event` spawns a thread per
//! notifier that can never be stopped, panics (`unwrap` on a closed channel)
//! when the receiver is dropped, and on v2 registers on
//! `memory.oom_control`, a file v2 does not have.
//!
//! - v1: an eventfd registered on `memory.oom_control` through
//!   `cgroup.event_control`. The kernel signals it at each OOM of the cgroup,
//!   and once more when the cgroup is removed; the two are told apart by
//!   checking whether the cgroup still exists.
//! - v2: `memory.events` is polled for `POLLPRI` (the kernel's "file
//!   changed" notification, the same one inotify reports), and its `oom` and
//!   `oom_kill` counters are compared with the previous reading. Reading a
//!   file of a removed cgroup fails with `ENODEV`, which ends the stream.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::eventfd::{EfdFlags, EventFd};
use serde::{Deserialize, Serialize};

use super::error::CgroupError;
use super::fsutil::{self, flat_keyed};

/// One notification: the cgroup ran out of memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OomEvent {
    /// How many OOM situations this event stands for (several can be
    /// reported at once when they come faster than they are read); at least 1.
    pub count: u64,
    /// Processes of the cgroup killed by the OOM killer so far, when the
    /// kernel reports it (v1 `oom_kill` of `memory.oom_control`, v2 of
    /// `memory.events`).
    pub oom_kills: Option<u64>,
}

/// The outcome of [`OomNotifier::wait_timeout`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OomWait {
    /// The cgroup hit its limit.
    Oom(OomEvent),
    /// Nothing happened within the time given.
    TimedOut,
    /// The cgroup was removed: there will be no more events.
    Gone,
}

enum Kind {
    V1 {
        eventfd: EventFd,
        /// Kept open for the life of the registration.
        _oom_control: File,
    },
    V2 {
        events: File,
        path: PathBuf,
        keys: &'static [&'static str],
        last: Mutex<Vec<u64>>,
    },
}

/// Waits for OOM events of one cgroup. Made by
/// [`CgroupManager::oom_notifier`](super::CgroupManager::oom_notifier).
///
/// It can be waited on from any thread, and it is an iterator of events that
/// ends when the cgroup is removed:
///
/// ```no_run
/// # fn main() -> Result<(), nsinit_runtime::cgroups::CgroupError> {
/// # let manager = nsinit_runtime::cgroups::CgroupManager::new(&Default::default(), "web")?;
/// for event in manager.oom_notifier()? {
///     println!("OOM ({} processes killed so far)", event?.oom_kills.unwrap_or(0));
/// }
/// // The cgroup is gone.
/// # Ok(()) }
/// ```
pub struct OomNotifier {
    kind: Kind,
    /// The memory cgroup directory.
    dir: PathBuf,
    gone: AtomicBool,
}

impl std::fmt::Debug for OomNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OomNotifier")
            .field("dir", &self.dir)
            .field("v2", &matches!(self.kind, Kind::V2 { .. }))
            .finish()
    }
}

fn oom_err<'a>(
    step: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> CgroupError + 'a {
    move |source| CgroupError::Oom {
        step,
        path: path.to_path_buf(),
        source,
    }
}

fn errno_io(e: Errno) -> std::io::Error {
    std::io::Error::from_raw_os_error(e as i32)
}

impl OomNotifier {
    /// Registers for the OOM events of the v1 memory cgroup `dir`.
    pub(crate) fn v1(dir: &Path) -> Result<Self, CgroupError> {
        let control = dir.join("memory.oom_control");
        let oom_control = File::open(&control).map_err(oom_err("open", &control))?;
        let eventfd = EventFd::from_flags(EfdFlags::EFD_CLOEXEC)
            .map_err(|e| oom_err("create eventfd", &control)(errno_io(e)))?;
        let line = format!("{} {}", eventfd.as_raw_fd(), oom_control.as_raw_fd());
        let ctl = dir.join("cgroup.event_control");
        fsutil::write_file(dir, "cgroup.event_control", &line).map_err(|e| match e {
            CgroupError::Set { source, .. } => {
                oom_err("register in cgroup.event_control", &ctl)(source)
            }
            other => other,
        })?;
        Ok(OomNotifier {
            kind: Kind::V1 {
                eventfd,
                _oom_control: oom_control,
            },
            dir: dir.to_path_buf(),
            gone: AtomicBool::new(false),
        })
    }

    /// Watches the v2 memory cgroup `dir` (`memory.events`).
    pub(crate) fn v2(dir: &Path) -> Result<Self, CgroupError> {
        Self::watch_counters(dir, "memory.events", &["oom", "oom_kill"])
    }

    /// Watches counters in a flat-keyed file of a v2 cgroup: an event is
    /// reported whenever one of `keys` grows. `keys[0]` is the event count,
    /// the last key the kill count.
    pub(crate) fn watch_counters(
        dir: &Path,
        file: &str,
        keys: &'static [&'static str],
    ) -> Result<Self, CgroupError> {
        let path = dir.join(file);
        let events = File::open(&path).map_err(oom_err("open", &path))?;
        let notifier = OomNotifier {
            kind: Kind::V2 {
                events,
                path,
                keys,
                last: Mutex::new(Vec::new()),
            },
            dir: dir.to_path_buf(),
            gone: AtomicBool::new(false),
        };
        if let Kind::V2 {
            events, path, last, ..
        } = &notifier.kind
        {
            let first =
                read_counters(events, path, keys)?.ok_or_else(|| CgroupError::NotFound {
                    path: dir.to_path_buf(),
                })?;
            *last.lock().unwrap_or_else(|p| p.into_inner()) = first;
        }
        Ok(notifier)
    }

    /// The memory cgroup directory watched.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Blocks until the cgroup hits its memory limit (`Some`), or until the
    /// cgroup is removed (`None`; every later call returns `None` at once).
    pub fn wait(&self) -> Result<Option<OomEvent>, CgroupError> {
        loop {
            match self.wait_until(None)? {
                OomWait::Oom(e) => return Ok(Some(e)),
                OomWait::Gone => return Ok(None),
                OomWait::TimedOut => {}
            }
        }
    }

    /// Like [`wait`](Self::wait), but gives up after `timeout`.
    pub fn wait_timeout(&self, timeout: Duration) -> Result<OomWait, CgroupError> {
        self.wait_until(Some(Instant::now() + timeout))
    }

    fn wait_until(&self, deadline: Option<Instant>) -> Result<OomWait, CgroupError> {
        if self.gone.load(Ordering::Relaxed) {
            return Ok(OomWait::Gone);
        }
        loop {
            let timeout = match deadline {
                None => PollTimeout::NONE,
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    PollTimeout::try_from(left).unwrap_or(PollTimeout::MAX)
                }
            };
            let (fd, flags) = match &self.kind {
                Kind::V1 { eventfd, .. } => (eventfd.as_fd(), PollFlags::POLLIN),
                Kind::V2 { events, .. } => (events.as_fd(), PollFlags::POLLPRI),
            };
            let mut fds = [PollFd::new(fd, flags)];
            match poll(&mut fds, timeout) {
                Ok(0) => {
                    if deadline.is_some_and(|d| Instant::now() >= d) {
                        return Ok(OomWait::TimedOut);
                    }
                    continue;
                }
                Ok(_) => {}
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(oom_err("poll", &self.dir)(errno_io(e))),
            }
            if let Some(outcome) = self.on_ready()? {
                if outcome == OomWait::Gone {
                    self.gone.store(true, Ordering::Relaxed);
                }
                return Ok(outcome);
            }
            // A change that was not an OOM (another counter): wait again.
        }
    }

    /// After the fd became ready: what happened (`None`: nothing of interest).
    fn on_ready(&self) -> Result<Option<OomWait>, CgroupError> {
        match &self.kind {
            Kind::V1 { eventfd, .. } => {
                let count = eventfd
                    .read()
                    .map_err(|e| oom_err("read eventfd", &self.dir)(errno_io(e)))?;
                // The kernel also signals the eventfd when the cgroup goes.
                if !self.dir.join("cgroup.event_control").exists() {
                    return Ok(Some(OomWait::Gone));
                }
                let oom_kills = fsutil::read_opt(&self.dir, "memory.oom_control")
                    .ok()
                    .flatten()
                    .and_then(|t| flat_keyed(&t).get("oom_kill").copied());
                Ok(Some(OomWait::Oom(OomEvent {
                    count: count.max(1),
                    oom_kills,
                })))
            }
            Kind::V2 {
                events,
                path,
                keys,
                last,
            } => {
                let Some(now) = read_counters(events, path, keys)? else {
                    return Ok(Some(OomWait::Gone));
                };
                let mut last = last.lock().unwrap_or_else(|p| p.into_inner());
                let grew = now.iter().zip(last.iter()).any(|(n, l)| n > l);
                let count = now[0].saturating_sub(last.first().copied().unwrap_or(0));
                let kills = now.last().copied();
                *last = now;
                if !grew {
                    return Ok(None);
                }
                Ok(Some(OomWait::Oom(OomEvent {
                    count: count.max(1),
                    oom_kills: kills,
                })))
            }
        }
    }
}

/// The current values of `keys` in the flat-keyed file `file` (at `path`),
/// or `None` when its cgroup is gone.
fn read_counters(
    mut file: &File,
    path: &Path,
    keys: &[&str],
) -> Result<Option<Vec<u64>>, CgroupError> {
    let mut text = String::new();
    let read = file
        .seek(SeekFrom::Start(0))
        .and_then(|_| file.read_to_string(&mut text));
    match read {
        Ok(_) => {
            let kv = flat_keyed(&text);
            Ok(Some(
                keys.iter()
                    .map(|k| kv.get(k).copied().unwrap_or(0))
                    .collect(),
            ))
        }
        Err(e)
            if e.raw_os_error() == Some(libc::ENODEV)
                || e.kind() == std::io::ErrorKind::NotFound =>
        {
            Ok(None)
        }
        Err(e) => Err(oom_err("read", path)(e)),
    }
}

impl AsFd for OomNotifier {
    /// The fd to poll (`POLLIN` on v1, `POLLPRI` on v2) when the notifier is
    /// part of a larger event loop; call [`OomNotifier::wait_timeout`] with a
    /// zero timeout when it is ready.
    fn as_fd(&self) -> BorrowedFd<'_> {
        match &self.kind {
            Kind::V1 { eventfd, .. } => eventfd.as_fd(),
            Kind::V2 { events, .. } => events.as_fd(),
        }
    }
}

impl Iterator for OomNotifier {
    type Item = Result<OomEvent, CgroupError>;

    /// The next OOM event; `None` once the cgroup is removed.
    fn next(&mut self) -> Option<Self::Item> {
        self.wait().transpose()
    }
}
