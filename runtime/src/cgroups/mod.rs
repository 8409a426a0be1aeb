//! Control groups of a container: creating them, applying the resource
//! limits of the config, placing processes, freezing, killing, statistics,
//! OOM notification, and removal.
//!
//! The layout of the host is read from `/proc/self/mountinfo` (never
//! assumed): pure v1 (including co-mounted hierarchies such as
//! `cpu,cpuacct`), hybrid (v1 controllers plus a `cgroup2` tree, typically at
//! `/sys/fs/cgroup/unified`, that containers join too), and pure v2 wherever
//! the `cgroup2` filesystem is mounted. See [`Layout`] and [`CgroupMounts`].
//!
//! The controller work goes through `cgroups-rs` (its `cgroups_rs::fs`
//! controllers) where it does the job; what it cannot do is written here and
//! each module says why:
//!
//! | concern | how |
//! |---|---|
//! | layout and directories | by hand (`mountinfo.rs`): `cgroups-rs` only knows v1 or v2 at `/sys/fs/cgroup` |
//! | making directories, joining, removal | by hand (`fsutil.rs`): needs rollback of what was made and every hierarchy, incl. `name=systemd` and the v2 part of a hybrid host |
//! | v1 limits | `cgroups-rs` setters (`v1.rs`), each error kept with file, value and errno |
//! | v2 limits | by hand (`v2.rs`): `cgroups-rs`' v2 writers are bound to `/sys/fs/cgroup` and mis-convert several values |
//! | v2 device rules | by hand (`devices_bpf.rs`): an eBPF program, which `cgroups-rs` does not offer |
//! | freezer | `cgroups-rs` writes; the wait for FROZEN/THAWED by hand (`freezer.rs`) |
//! | statistics | `cgroups-rs` readers on v1, by hand for v2 and blkio (`stats.rs`) |
//! | OOM notification | by hand (`oom.rs`): `cgroups-rs`' notifier thread cannot be stopped and is wrong on v2 |
//! | undoing a refused live update | by hand (`rollback.rs`): `cgroups-rs` cannot undo a write |
//!
//! A typical life:
//!
//! ```no_run
//! use nsinit_runtime::cgroups::CgroupManager;
//! # fn main() -> Result<(), nsinit_runtime::cgroups::CgroupError> {
//! let config = nsinit_configs::Cgroups {
//!     memory: Some(64 << 20),
//!     pids_limit: Some(100),
//!     ..Default::default()
//! };
//! let cg = CgroupManager::new(&config, "web")?; // /nsinit/web
//! cg.create()?;
//! cg.apply(&config)?;
//! # let init_pid = 1;
//! cg.add_pid(init_pid)?; // before the init proceeds
//! // ... state.json keeps cg.paths(); later: CgroupManager::from_paths(&paths)
//! cg.kill_all()?;
//! cg.destroy()?;
//! # Ok(()) }
//! ```

mod devices_bpf;
mod error;
mod freezer;
mod fsutil;
mod mountinfo;
mod oom;
mod rollback;
mod stats;
mod v1;
mod v2;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use nsinit_configs::{Cgroups, FreezerState};
use serde::{Deserialize, Serialize};

pub use error::CgroupError;
pub use mountinfo::{detect_layout, CgroupMount, CgroupMounts, Layout, MOUNTINFO};
pub use oom::{OomEvent, OomNotifier, OomWait};
pub use rollback::ResourceSnapshot;
pub use stats::{
    BlkioEntry, BlkioStats, CgroupStats, CpuStats, CpuUsage, MemoryStats, PidsStats, ThrottlingData,
};

/// The key of [`CgroupPaths`] for the cgroup v2 directory (the whole cgroup
/// on a v2 host, the v2 part on a hybrid one).
pub const UNIFIED: &str = "unified";

/// The parent of a container's cgroup when the config names none.
pub const DEFAULT_PARENT: &str = "/nsinit";

/// How long [`CgroupManager::kill_all`] waits for the cgroup to empty.
const KILL_TIMEOUT: Duration = Duration::from_secs(10);

/// The directories of one container's cgroup: controller name (`memory`,
/// `cpu`, `name=systemd`, ...) to absolute directory, and [`UNIFIED`] for
/// the v2 directory. Co-mounted controllers (`cpu`, `cpuacct`) map to the
/// same directory. Serialises as a plain JSON object, as kept in the
/// container's `state.json`.
///
/// ```
/// use nsinit_runtime::cgroups::CgroupPaths;
/// let mut p = CgroupPaths::new();
/// p.insert("memory", "/sys/fs/cgroup/memory/nsinit/web");
/// assert_eq!(
///     serde_json::to_string(&p).unwrap(),
///     r#"{"memory":"/sys/fs/cgroup/memory/nsinit/web"}"#
/// );
/// ```
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(transparent)]
pub struct CgroupPaths {
    dirs: BTreeMap<String, PathBuf>,
}

impl CgroupPaths {
    /// No directories.
    pub fn new() -> Self {
        Self::default()
    }

    /// The directory of a controller (or [`UNIFIED`]).
    pub fn get(&self, key: &str) -> Option<&Path> {
        self.dirs.get(key).map(PathBuf::as_path)
    }

    /// Sets the directory of a controller; returns the one it replaces.
    pub fn insert(&mut self, key: impl Into<String>, dir: impl Into<PathBuf>) -> Option<PathBuf> {
        self.dirs.insert(key.into(), dir.into())
    }

    /// All entries, sorted by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Path)> {
        self.dirs.iter().map(|(k, v)| (k.as_str(), v.as_path()))
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.dirs.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.dirs.is_empty()
    }
}

impl<K: Into<String>, V: Into<PathBuf>> FromIterator<(K, V)> for CgroupPaths {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        CgroupPaths {
            dirs: iter
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }
}

/// The cgroup path (absolute within each hierarchy) of a container: the
/// config's `path` when set, else `<parent or /nsinit>/<name or id>`,
/// normalised (no empty or `.` components). `..` and the root itself are
/// refused.
///
/// ```
/// use nsinit_runtime::cgroups::cgroup_path;
/// let mut c = nsinit_configs::Cgroups::default();
/// assert_eq!(cgroup_path(&c, "web").unwrap(), "/nsinit/web");
/// c.parent = "/machines/".into();
/// c.name = "db".into();
/// assert_eq!(cgroup_path(&c, "web").unwrap(), "/machines/db");
/// c.path = "custom//x".into();
/// assert_eq!(cgroup_path(&c, "web").unwrap(), "/custom/x");
/// c.path = "/a/../b".into();
/// assert!(cgroup_path(&c, "web").is_err());
/// ```
pub fn cgroup_path(config: &Cgroups, id: &str) -> Result<String, CgroupError> {
    let raw = if !config.path.is_empty() {
        config.path.clone()
    } else {
        let parent = if config.parent.is_empty() {
            DEFAULT_PARENT
        } else {
            config.parent.as_str()
        };
        let name = if config.name.is_empty() {
            id
        } else {
            config.name.as_str()
        };
        if name.is_empty() {
            return Err(CgroupError::InvalidPath {
                path: format!("{parent}/"),
                reason: "neither a cgroup name nor a container id is given",
            });
        }
        format!("{parent}/{name}")
    };
    let mut out = String::new();
    for part in raw.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                return Err(CgroupError::InvalidPath {
                    path: raw,
                    reason: "`..` is not allowed",
                })
            }
            p => {
                out.push('/');
                out.push_str(p);
            }
        }
    }
    if out.is_empty() {
        return Err(CgroupError::InvalidPath {
            path: raw,
            reason: "the root cgroup cannot be a container's cgroup",
        });
    }
    Ok(out)
}

/// The order in which a process joins the hierarchies: blkio before memory
/// (cgroup writeback pairs them), the v2 directory last.
const JOIN_ORDER: [&str; 8] = [
    "blkio", "memory", "pids", "cpuset", "cpuacct", "cpu", "devices", "freezer",
];

/// The cgroup of one container, on every hierarchy of the host.
///
/// Cheap to clone, `Send + Sync`; holds only paths, so any number of
/// managers (in any number of processes) may work on the same cgroup.
#[derive(Clone, Debug)]
pub struct CgroupManager {
    layout: Layout,
    paths: CgroupPaths,
    /// Distinct directories, in join order.
    members: Vec<PathBuf>,
    /// `cgroup.procs` of each member (precomputed: `add_pid` is on the
    /// container start path).
    procs: Vec<PathBuf>,
    ctl: v1::Controllers,
    /// The v2 directory (pure v2, or the v2 part of a hybrid host).
    unified: Option<PathBuf>,
    /// The hierarchies with their host mount points (known when the manager
    /// was built from the mount table; empty when rebuilt from state.json).
    hierarchies: Vec<HierarchyMount>,
}

/// One hierarchy of the container's cgroups, as the init needs it to build
/// `/sys/fs/cgroup` inside the container without reading the mount table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HierarchyMount {
    /// Controllers served (`["cpu", "cpuacct"]`, `["name=systemd"]`), or
    /// `["unified"]` for the v2 tree.
    pub keys: Vec<String>,
    /// Where the host mounts the hierarchy, e.g. `/sys/fs/cgroup/memory`.
    pub mount_point: PathBuf,
    /// The container's cgroup directory in it.
    pub dir: PathBuf,
}

impl CgroupManager {
    /// The manager of the container `id`'s cgroup on this host: reads the
    /// mount table and computes the directories (see [`cgroup_path`]).
    /// Creates nothing.
    pub fn new(config: &Cgroups, id: &str) -> Result<Self, CgroupError> {
        Self::with_mounts(config, id, &CgroupMounts::read()?)
    }

    /// Like [`new`](Self::new), with the cgroup mounts given (e.g. parsed
    /// once and reused, or fabricated in a test).
    ///
    /// ```
    /// use nsinit_runtime::cgroups::{CgroupManager, CgroupMounts, Layout};
    /// let mounts = CgroupMounts::parse(
    ///     "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
    /// ).unwrap();
    /// let cg = CgroupManager::with_mounts(&Default::default(), "web", &mounts).unwrap();
    /// assert_eq!(cg.layout(), Layout::V2);
    /// assert_eq!(cg.paths().get("unified").unwrap(), std::path::Path::new("/sys/fs/cgroup/nsinit/web"));
    /// ```
    pub fn with_mounts(
        config: &Cgroups,
        id: &str,
        mounts: &CgroupMounts,
    ) -> Result<Self, CgroupError> {
        let path = cgroup_path(config, id)?;
        let mut cg = Self::build(mounts.layout(), mounts.dirs(&path));
        cg.hierarchies = mounts
            .hierarchies()
            .iter()
            .chain(mounts.unified())
            .map(|m| HierarchyMount {
                keys: m.keys.clone(),
                mount_point: m.mount_point.clone(),
                dir: m.dir_of(&path),
            })
            .collect();
        Ok(cg)
    }

    /// The manager of a cgroup whose directories were recorded before
    /// (`state.json`). The layout follows from the keys: only [`UNIFIED`] is
    /// v2, [`UNIFIED`] and controllers is hybrid, controllers only is v1.
    ///
    /// ```
    /// use nsinit_runtime::cgroups::{CgroupManager, CgroupPaths, Layout};
    /// let paths: CgroupPaths = serde_json::from_str(
    ///     r#"{"memory": "/sys/fs/cgroup/memory/nsinit/web", "pids": "/sys/fs/cgroup/pids/nsinit/web"}"#,
    /// ).unwrap();
    /// let cg = CgroupManager::from_paths(&paths).unwrap();
    /// assert_eq!(cg.layout(), Layout::V1);
    /// assert!(CgroupManager::from_paths(&CgroupPaths::new()).is_err());
    /// ```
    pub fn from_paths(paths: &CgroupPaths) -> Result<Self, CgroupError> {
        if paths.is_empty() {
            return Err(CgroupError::InvalidPaths {
                reason: "no directories recorded".to_string(),
            });
        }
        for (key, dir) in paths.iter() {
            let bad = !dir.is_absolute()
                || dir.components().any(|c| c == Component::ParentDir)
                || dir.parent().is_none();
            if bad {
                return Err(CgroupError::InvalidPaths {
                    reason: format!(
                        "{key}: {:?} is not an absolute cgroup directory",
                        dir.display()
                    ),
                });
            }
        }
        let has_unified = paths.get(UNIFIED).is_some();
        let layout = match (has_unified, paths.len() > 1) {
            (true, true) => Layout::Hybrid,
            (true, false) => Layout::V2,
            (false, _) => Layout::V1,
        };
        Ok(Self::build(layout, paths.clone()))
    }

    fn build(layout: Layout, paths: CgroupPaths) -> Self {
        let mut keys: Vec<&str> = paths.iter().map(|(k, _)| k).collect();
        let rank = |k: &str| match JOIN_ORDER.iter().position(|j| *j == k) {
            Some(i) => i,
            None if k == UNIFIED => JOIN_ORDER.len() + 1,
            None => JOIN_ORDER.len(),
        };
        keys.sort_by_key(|k| rank(k));
        let mut members: Vec<PathBuf> = Vec::new();
        for k in keys {
            if let Some(dir) = paths.get(k) {
                if !members.iter().any(|m| m == dir) {
                    members.push(dir.to_path_buf());
                }
            }
        }
        let unified = paths.get(UNIFIED).map(Path::to_path_buf);
        let ctl = match (&layout, &unified) {
            (Layout::V2, Some(dir)) => v1::Controllers::v2(dir),
            _ => v1::Controllers::v1(&paths),
        };
        let procs = members.iter().map(|d| d.join("cgroup.procs")).collect();
        CgroupManager {
            layout,
            paths,
            members,
            procs,
            ctl,
            unified,
            hierarchies: Vec::new(),
        }
    }

    /// The directories, for `state.json`.
    pub fn paths(&self) -> &CgroupPaths {
        &self.paths
    }

    /// The hierarchies with their mount points (empty for a manager rebuilt
    /// from state.json).
    pub fn hierarchy_mounts(&self) -> &[HierarchyMount] {
        &self.hierarchies
    }

    /// `(key, directory)` of every entry of [`paths`](Self::paths), sorted by
    /// key: what the init needs to set up `/sys/fs/cgroup` inside the
    /// container (co-mounted controllers appear once per key, with the same
    /// directory; [`UNIFIED`] is the v2 directory).
    pub fn hierarchy_dirs(&self) -> Vec<(String, PathBuf)> {
        self.paths
            .iter()
            .map(|(k, d)| (k.to_string(), d.to_path_buf()))
            .collect()
    }

    /// The host's layout this manager works with.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// Whether any of the cgroup's directories exists.
    pub fn exists(&self) -> bool {
        self.members.iter().any(|d| d.is_dir())
    }

    fn must_exist(&self) -> Result<(), CgroupError> {
        if self.exists() {
            Ok(())
        } else {
            Err(CgroupError::NotFound {
                path: self.members.first().cloned().unwrap_or_default(),
            })
        }
    }

    /// Makes the cgroup in every hierarchy (and the v2 part of a hybrid
    /// host). Directories that exist already are kept. On v1 an empty
    /// `cpuset.cpus`/`cpuset.mems` (new cpuset cgroups start empty, and no
    /// task can join them so) is filled from the nearest ancestor that has
    /// them; on v2 the controllers are enabled down to the cgroup. On error
    /// everything this call made is removed again.
    pub fn create(&self) -> Result<(), CgroupError> {
        let mut created = Vec::new();
        let result = self.create_inner(&mut created);
        if result.is_err() {
            for dir in created.iter().rev() {
                let _ = std::fs::remove_dir(dir);
            }
        }
        result
    }

    fn create_inner(&self, created: &mut Vec<PathBuf>) -> Result<(), CgroupError> {
        for dir in &self.members {
            fsutil::mkdir_tracked(dir, created)?;
        }
        match self.layout {
            Layout::V2 => {
                if let Some(dir) = &self.unified {
                    v2::enable_controllers(dir);
                }
            }
            Layout::V1 | Layout::Hybrid => {
                if let Some(dir) = self.paths.get("cpuset") {
                    fill_cpuset(dir)?;
                }
            }
        }
        Ok(())
    }

    /// Applies the resource limits of `resources`: memory (limit,
    /// reservation, memory+swap, swappiness, `oom_kill_disable`), cpu
    /// (shares, quota/period, real-time), cpuset, blkio (weight, throttles),
    /// pids, devices and the freezer state. Only what is set (`Some`,
    /// non-zero, non-empty, `true`) is touched, so this also serves live
    /// updates (`Container::set`).
    ///
    /// Devices: on v1 everything is denied, then each rule is written in
    /// order (unless `allow_all_devices`). On v2, which has no device files,
    /// the rules become an eBPF program attached to the cgroup, replacing the
    /// previous one (see `devices_bpf.rs`). On v2, settings without an
    /// equivalent (swappiness, real-time cpu, `oom_kill_disable`) are refused
    /// with [`CgroupError::UnsupportedV2`] rather than ignored.
    pub fn apply(&self, resources: &Cgroups) -> Result<(), CgroupError> {
        self.must_exist()?;
        match (self.layout, &self.unified) {
            (Layout::V2, Some(dir)) => {
                v2::apply(dir, resources)?;
                if resources.allow_all_devices || !resources.allowed_devices.is_empty() {
                    devices_bpf::install(
                        dir,
                        &resources.allowed_devices,
                        resources.allow_all_devices,
                    )?;
                }
            }
            _ => v1::apply(&self.ctl, resources)?,
        }
        match resources.freezer {
            Some(FreezerState::Frozen) => self.freeze(),
            Some(FreezerState::Thawed) => self.thaw(),
            None => Ok(()),
        }
    }

    /// Reads the resource files a live update may change (limits, weights,
    /// cpusets; not device rules or the freezer), to write them back later
    /// with [`restore_resources`](Self::restore_resources).
    pub fn snapshot_resources(&self) -> Result<ResourceSnapshot, CgroupError> {
        self.must_exist()?;
        let v2 = match (self.layout, &self.unified) {
            (Layout::V2, Some(dir)) => Some(dir.as_path()),
            _ => None,
        };
        ResourceSnapshot::read(|c| self.paths.get(c), v2)
    }

    /// Writes back every file of `snapshot` whose content changed since.
    pub fn restore_resources(&self, snapshot: &ResourceSnapshot) -> Result<(), CgroupError> {
        snapshot.restore()
    }

    /// Moves the process `pid` (all its threads) into the cgroup, in every
    /// hierarchy.
    pub fn add_pid(&self, pid: i32) -> Result<(), CgroupError> {
        use std::io::Write;
        let text = pid.to_string();
        for procs in &self.procs {
            std::fs::OpenOptions::new()
                .write(true)
                .open(procs)
                .and_then(|mut f| f.write_all(text.as_bytes()))
                .map_err(|source| CgroupError::AddPid {
                    pid,
                    path: procs.clone(),
                    source,
                })?;
        }
        Ok(())
    }

    /// The directory whose process list is authoritative.
    fn procs_dir(&self) -> &Path {
        if let (Layout::V2, Some(dir)) = (self.layout, &self.unified) {
            return dir;
        }
        ["freezer", "pids", "memory"]
            .iter()
            .find_map(|k| self.paths.get(k))
            .or(self.members.first().map(PathBuf::as_path))
            .unwrap_or(Path::new("/"))
    }

    /// Every process in the cgroup and in the cgroups below it, sorted. Only
    /// exact while the cgroup is frozen.
    pub fn pids(&self) -> Result<Vec<i32>, CgroupError> {
        let dir = self.procs_dir();
        if !dir.is_dir() {
            return Err(CgroupError::NotFound {
                path: dir.to_path_buf(),
            });
        }
        let mut pids = Vec::new();
        match fsutil::read_procs_recursive(dir, &mut pids) {
            // Removed while being read.
            Err(CgroupError::Read { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound
                    || source.raw_os_error() == Some(libc::ENODEV) =>
            {
                return Err(CgroupError::NotFound {
                    path: dir.to_path_buf(),
                })
            }
            r => r?,
        }
        pids.sort_unstable();
        pids.dedup();
        Ok(pids)
    }

    fn freezer(&self) -> Result<&cgroups_rs::fs::freezer::FreezerController, CgroupError> {
        self.ctl
            .freezer
            .as_ref()
            .ok_or(CgroupError::MissingController {
                controller: "freezer",
                setting: "freezer",
            })
    }

    /// Freezes every process of the cgroup and returns once the kernel
    /// reports the cgroup frozen (v1 `FROZEN` after `FREEZING`; v2 `frozen 1`
    /// in `cgroup.events`). Gives up (and thaws) after a few seconds.
    pub fn freeze(&self) -> Result<(), CgroupError> {
        self.must_exist()?;
        freezer::freeze(self.freezer()?, self.layout == Layout::V2)
    }

    /// Thaws the cgroup and returns once no process is frozen. Without a
    /// freezer there is nothing to thaw.
    pub fn thaw(&self) -> Result<(), CgroupError> {
        self.must_exist()?;
        match &self.ctl.freezer {
            Some(fc) => freezer::thaw(fc, self.layout == Layout::V2),
            None => Ok(()),
        }
    }

    /// Whether the cgroup is frozen. A cgroup on its way to frozen counts as
    /// frozen; without a freezer the cgroup is always thawed.
    pub fn freezer_state(&self) -> Result<FreezerState, CgroupError> {
        self.must_exist()?;
        match &self.ctl.freezer {
            Some(fc) => freezer::state(fc, self.layout == Layout::V2),
            None => Ok(FreezerState::Thawed),
        }
    }

    /// Kills every process of the cgroup (and below) with SIGKILL and waits,
    /// up to 10 seconds, until the cgroup is empty. On v2 with `cgroup.kill`
    /// (Linux 5.14+) the kernel does it in one step; otherwise the cgroup is
    /// frozen first so that nothing forks or exits (reusing a pid) between
    /// listing and killing, then thawed so the signals take effect. A cgroup
    /// that does not exist is empty.
    pub fn kill_all(&self) -> Result<(), CgroupError> {
        if !self.exists() {
            return Ok(());
        }
        // Nothing to kill (the usual case once a container's pid 1 has exited):
        // skip the freeze/thaw round trip.
        match self.pids() {
            Ok(p) if p.is_empty() => return Ok(()),
            Err(CgroupError::NotFound { .. }) => return Ok(()),
            _ => {}
        }
        let start = Instant::now();
        let v2_kill_dir = self
            .unified
            .as_ref()
            .filter(|d| self.layout == Layout::V2 && d.join("cgroup.kill").exists());
        if let Some(dir) = v2_kill_dir {
            fsutil::write_file(dir, "cgroup.kill", "1")?;
        } else {
            let frozen = self.ctl.freezer.is_some() && self.freeze().is_ok();
            let result = self.signal_all();
            if frozen {
                self.thaw()?;
            }
            result?;
        }
        let mut delay = Duration::from_micros(100);
        let mut last_kill = Instant::now();
        loop {
            let pids = match self.pids() {
                Ok(p) => p,
                Err(CgroupError::NotFound { .. }) => return Ok(()),
                Err(e) => return Err(e),
            };
            if pids.is_empty() {
                return Ok(());
            }
            if start.elapsed() > KILL_TIMEOUT {
                return Err(CgroupError::Timeout {
                    action: "kill all processes of",
                    path: self.procs_dir().to_path_buf(),
                    state: format!("populated (pids {pids:?})"),
                    waited: start.elapsed(),
                });
            }
            // Something forked between listing and killing: kill again.
            if last_kill.elapsed() > Duration::from_millis(100) {
                self.signal_all()?;
                last_kill = Instant::now();
            }
            std::thread::sleep(delay);
            delay = (delay * 2).min(Duration::from_millis(20));
        }
    }

    /// SIGKILL to every process listed now.
    fn signal_all(&self) -> Result<(), CgroupError> {
        let pids = match self.pids() {
            Ok(p) => p,
            Err(CgroupError::NotFound { .. }) => return Ok(()),
            Err(e) => return Err(e),
        };
        for pid in pids {
            match kill(Pid::from_raw(pid), Signal::SIGKILL) {
                Ok(()) | Err(Errno::ESRCH) => {}
                Err(source) => {
                    return Err(CgroupError::Kill {
                        pid,
                        path: self.procs_dir().to_path_buf(),
                        source,
                    })
                }
            }
        }
        Ok(())
    }

    /// Removes the cgroup's directory in every hierarchy (and any cgroups
    /// below them). Directories already gone are fine; `EBUSY` (processes
    /// still leaving) is retried for about a second. The parent directories
    /// (e.g. `/nsinit`) are left in place, as runc does: other containers
    /// may share them. Every directory is tried; the first error is returned.
    pub fn destroy(&self) -> Result<(), CgroupError> {
        let mut first = None;
        for dir in self.members.iter().rev() {
            if let Err(e) = fsutil::remove_cgroup_dir(dir) {
                first.get_or_insert(e);
            }
        }
        first.map_or(Ok(()), Err)
    }

    /// CPU, memory, pids and block I/O statistics of the cgroup.
    pub fn stats(&self) -> Result<CgroupStats, CgroupError> {
        self.must_exist()?;
        match (self.layout, &self.unified) {
            (Layout::V2, Some(dir)) => stats::collect_v2(dir),
            _ => stats::collect_v1(&self.ctl),
        }
    }

    /// A notifier that fires each time the cgroup hits its memory limit (see
    /// [`OomNotifier`]).
    pub fn oom_notifier(&self) -> Result<OomNotifier, CgroupError> {
        self.must_exist()?;
        match (self.layout, &self.unified) {
            (Layout::V2, Some(dir)) => OomNotifier::v2(dir),
            _ => {
                let dir = self
                    .paths
                    .get("memory")
                    .ok_or(CgroupError::MissingController {
                        controller: "memory",
                        setting: "OOM notification",
                    })?;
                OomNotifier::v1(dir)
            }
        }
    }
}

/// Fills empty `cpuset.cpus` / `cpuset.mems` of `leaf` and of its empty
/// ancestors with the value of the nearest ancestor that has one (outermost
/// first, as a child's set must lie within its parent's).
///
/// By hand: `cgroups-rs` does this in `Controller::create`, but only logs a
/// failure, and the directories here are made by `create` itself.
fn fill_cpuset(leaf: &Path) -> Result<(), CgroupError> {
    for file in ["cpuset.cpus", "cpuset.mems"] {
        let mut empty = Vec::new();
        let mut dir = leaf;
        let value = loop {
            let v = fsutil::read_file(dir, file)?;
            if !v.is_empty() {
                break v;
            }
            empty.push(dir);
            match dir.parent() {
                Some(p) if mountinfo::in_cgroupfs(p) => dir = p,
                _ => {
                    return Err(CgroupError::Parse {
                        path: leaf.join(file),
                        content: "(empty, and so are all its ancestors)".to_string(),
                    })
                }
            }
        };
        for d in empty.iter().rev() {
            fsutil::write_file(d, file, &value)?;
        }
    }
    Ok(())
}
