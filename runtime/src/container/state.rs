//! `state.json` and the state directory `<root>/<id>/`.
//!
//! Writes are atomic (a temporary file renamed over the old one); operations on
//! one container hold an `flock` on its directory so that two `nsinit`
//! processes cannot interleave; a stale init (gone, or its pid reused) is told
//! apart by the start time recorded from `/proc/<pid>/stat`.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use nsinit_configs::Config;
use serde::{Deserialize, Serialize};

use crate::cgroups::CgroupPaths;
use crate::error::{Context, Error, Result, SysError};

/// The name of the state file inside the container's directory.
pub const STATE_FILE: &str = "state.json";
/// The fifo a created init waits on until `start`.
pub const EXEC_FIFO: &str = "exec.fifo";

/// Everything recorded about a container.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    /// Container id.
    pub id: String,
    /// Pid of the init (the container's pid 1) on the host; 0 before start.
    #[serde(default)]
    pub init_process_pid: i32,
    /// Start time of the init in clock ticks since boot (`/proc/<pid>/stat`).
    #[serde(default)]
    pub init_process_start: u64,
    /// When the container was created (RFC 3339, UTC).
    pub created: String,
    /// The container's config.
    pub config: Config,
    /// Directory the config came from (the OCI bundle), if known.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub bundle: String,
    /// The container's cgroup directories.
    #[serde(default)]
    pub cgroup_paths: CgroupPaths,
    /// Namespace files of the init by type (`NEWNET` -> `/proc/<pid>/ns/net`).
    #[serde(default)]
    pub namespace_paths: BTreeMap<String, String>,
    /// Host ends of the container's veth pairs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub external_veths: Vec<String>,
}

/// The container's directory, locked for the lifetime of this value.
#[derive(Debug)]
pub struct StateDir {
    dir: PathBuf,
    id: String,
    lock: File,
}

impl StateDir {
    /// Creates `<root>/<id>` (fails with [`Error::Exists`] if it is there) and
    /// locks it.
    pub fn create(root: &Path, id: &str) -> Result<StateDir> {
        let dir = root.join(id);
        match std::fs::create_dir(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(Error::Exists(id.to_string()))
            }
            Err(e) => {
                return Err(SysError::io("create state directory", "mkdir", &e)
                    .with_path(&dir)
                    .into())
            }
        }
        // Others may traverse (a user-namespaced init opens the exec fifo).
        let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o711));
        StateDir::lock(dir, id, true)
    }

    /// Opens and locks the existing directory of `id`.
    pub fn open(root: &Path, id: &str, exclusive: bool) -> Result<StateDir> {
        let dir = root.join(id);
        let sd = match StateDir::lock(dir, id, exclusive) {
            Err(Error::Sys(e)) if e.errno == libc::ENOENT => {
                return Err(Error::NotFound(id.to_string()))
            }
            other => other?,
        };
        // Destroyed while we waited for the lock.
        if !sd.dir.join(STATE_FILE).exists() {
            return Err(Error::NotFound(id.to_string()));
        }
        Ok(sd)
    }

    fn lock(dir: PathBuf, id: &str, exclusive: bool) -> Result<StateDir> {
        let lock = File::open(&dir).ctx_path("lock container", "open", &dir)?;
        let op = if exclusive {
            libc::LOCK_EX
        } else {
            libc::LOCK_SH
        };
        loop {
            // SAFETY: flock on an fd we own.
            let r = unsafe { libc::flock(lock.as_raw_fd(), op) };
            if r == 0 {
                break;
            }
            let errno = nix::errno::Errno::last_raw();
            if errno != libc::EINTR {
                return Err(SysError::new("lock container", "flock", errno)
                    .with_path(&dir)
                    .into());
            }
        }
        Ok(StateDir {
            dir,
            id: id.to_string(),
            lock,
        })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Path of the exec fifo.
    pub fn fifo(&self) -> PathBuf {
        self.dir.join(EXEC_FIFO)
    }

    /// Reads `state.json`.
    pub fn read(&self) -> Result<State> {
        let path = self.dir.join(STATE_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::NotFound(self.id.clone())
            } else {
                SysError::io("read state", "read", &e)
                    .with_path(&path)
                    .into()
            }
        })?;
        serde_json::from_str(&text).map_err(|e| Error::State {
            id: self.id.clone(),
            path,
            reason: e.to_string(),
        })
    }

    /// Writes `state.json` atomically.
    ///
    /// `state.json` is a symlink to the current generation, `state.<n>.json`:
    /// a write creates the next generation under a new name, swaps the
    /// symlink with a rename (atomic), and removes the old generation. The
    /// indirection matters for speed: renaming a *regular* file over an
    /// existing one makes ext4 allocate its blocks at once (`auto_da_alloc`),
    /// and removing allocated blocks later costs ~1.2 ms on a filesystem
    /// mounted with `discard` (measured on these machines, where /run is such
    /// an ext4), a sixth of a whole container start. Generation files are never
    /// renamed over, so a short-lived container's state never reaches the disk.
    pub fn write(&self, state: &State) -> Result<()> {
        let path = self.dir.join(STATE_FILE);
        let body = serde_json::to_vec(state).map_err(|e| Error::State {
            id: self.id.clone(),
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let old = std::fs::read_link(&path).ok();
        let gen = old
            .as_ref()
            .and_then(|p| generation_of(p))
            .map_or(0, |g| g + 1);
        let name = format!("state.{gen}.json");
        let file = self.dir.join(&name);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&file)
            .ctx_path("write state", "create", &file)?;
        f.write_all(&body).ctx_path("write state", "write", &file)?;
        drop(f);
        let link = self.dir.join(format!(".{STATE_FILE}.new"));
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&name, &link).ctx_path("write state", "symlink", &link)?;
        std::fs::rename(&link, &path).ctx_path("write state", "rename", &path)?;
        if let Some(old) = old {
            if old != Path::new(&name) {
                let _ = std::fs::remove_file(self.dir.join(old));
            }
        }
        Ok(())
    }

    /// Removes the directory and everything in it (the lock goes with it).
    pub fn remove(self) -> Result<()> {
        std::fs::remove_dir_all(&self.dir).ctx_path("remove state", "rmdir", &self.dir)?;
        drop(self.lock);
        Ok(())
    }
}

/// The generation number of a `state.<n>.json` name.
fn generation_of(name: &Path) -> Option<u64> {
    name.to_str()?
        .strip_prefix("state.")?
        .strip_suffix(".json")?
        .parse()
        .ok()
}

/// Start time of `pid` in clock ticks since boot, or None if it is gone.
pub fn process_start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields start after the
    // last ')'. Field 22 (starttime) is the 20th after it.
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split(' ').nth(19)?.parse().ok()
}

/// The state letter of `pid` (`R`, `S`, `Z`, ...), or None if it is gone.
pub fn process_state(pid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 2..].chars().next()
}

/// Whether `pid` is the process that started at `start` and has not exited.
pub fn is_alive(pid: i32, start: u64) -> bool {
    pid > 0
        && process_start_time(pid) == Some(start)
        && !matches!(process_state(pid), Some('Z') | Some('X') | None)
}

/// Now as RFC 3339 UTC with nanoseconds.
pub fn now_rfc3339() -> String {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, day) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}.{:09}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_nanos()
    )
}

/// Proleptic Gregorian date of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(20_513), (2026, 3, 1));
        assert!(now_rfc3339().ends_with('Z'));
    }

    #[test]
    fn own_start_time() {
        let me = std::process::id() as i32;
        let t = process_start_time(me).unwrap();
        assert!(is_alive(me, t));
        assert!(!is_alive(me, t + 1));
    }

    #[test]
    fn state_round_trip_and_lock() {
        let root = std::env::temp_dir().join(format!("nsinit-state-test-{}", std::process::id()));
        std::fs::create_dir_all(&root).unwrap();
        let sd = StateDir::create(&root, "c1").unwrap();
        assert!(matches!(
            StateDir::create(&root, "c1"),
            Err(Error::Exists(_))
        ));
        let st = State {
            id: "c1".into(),
            init_process_pid: 0,
            init_process_start: 0,
            created: now_rfc3339(),
            config: Config::default(),
            bundle: String::new(),
            cgroup_paths: Default::default(),
            namespace_paths: Default::default(),
            external_veths: vec![],
        };
        sd.write(&st).unwrap();
        assert_eq!(sd.read().unwrap().id, "c1");
        // Rewrites swap generations and leave only the current one.
        sd.write(&State {
            init_process_pid: 7,
            ..st.clone()
        })
        .unwrap();
        assert_eq!(sd.read().unwrap().init_process_pid, 7);
        let mut names: Vec<String> = std::fs::read_dir(sd.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["state.1.json", "state.json"]);
        assert_eq!(
            std::fs::read_link(sd.path().join("state.json")).unwrap(),
            Path::new("state.1.json")
        );
        sd.remove().unwrap();
        assert!(matches!(
            StateDir::open(&root, "c1", false),
            Err(Error::NotFound(_))
        ));
        std::fs::remove_dir_all(&root).unwrap();
    }
}
