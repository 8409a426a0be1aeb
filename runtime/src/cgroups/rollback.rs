//! All-or-nothing resource updates: the values of a cgroup's resource files
//! are read before an update ([`ResourceSnapshot`]) and written back when the
//! kernel refuses one of the new values halfway (e.g. `cpuset.cpus` accepted,
//! then `memory.limit_in_bytes` refused with `EBUSY` because the processes
//! use more than the new limit).
//!
//! By hand: `cgroups-rs` has no notion of undoing a write.

use std::path::{Path, PathBuf};

use super::error::CgroupError;
use super::fsutil;

/// The resource files a live update may write on cgroup v1, per controller
/// (the files `v1.rs` writes, minus device rules and `memory.oom_control`,
/// which a live update does not change).
const V1_FILES: [(&str, &[&str]); 5] = [
    ("cpuset", &["cpuset.cpus", "cpuset.mems"]),
    (
        "memory",
        &[
            "memory.limit_in_bytes",
            "memory.memsw.limit_in_bytes",
            "memory.soft_limit_in_bytes",
            "memory.swappiness",
        ],
    ),
    (
        "cpu",
        &[
            "cpu.shares",
            "cpu.cfs_period_us",
            "cpu.cfs_quota_us",
            "cpu.rt_period_us",
            "cpu.rt_runtime_us",
        ],
    ),
    ("blkio", &["blkio.weight", "blkio.bfq.weight"]),
    ("pids", &["pids.max"]),
];

/// The same on cgroup v2 (the files `v2.rs` writes).
const V2_FILES: [&str; 10] = [
    "cpuset.cpus",
    "cpuset.mems",
    "memory.max",
    "memory.swap.max",
    "memory.low",
    "cpu.weight",
    "cpu.max",
    "io.weight",
    "io.bfq.weight",
    "pids.max",
];

/// How often the restore goes over the files that could not be written back:
/// some values depend on each other (v1 `memory.memsw.limit_in_bytes` must
/// stay at or above `memory.limit_in_bytes`), so a refused write may succeed
/// once another file is back.
const RESTORE_PASSES: usize = 3;

/// The content of a cgroup's resource files at one moment. Made by
/// [`CgroupManager::snapshot_resources`](super::CgroupManager::snapshot_resources),
/// written back by
/// [`CgroupManager::restore_resources`](super::CgroupManager::restore_resources).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourceSnapshot {
    /// (file, content as read, trimmed), in the order they are written back.
    files: Vec<(PathBuf, String)>,
}

impl ResourceSnapshot {
    /// Reads the v1 files of the controllers in `dirs` (controller name to
    /// directory) or, with `v2`, the v2 files of the single directory given.
    /// Files the kernel does not offer here are skipped.
    pub(crate) fn read<'a>(
        dirs: impl Fn(&str) -> Option<&'a Path>,
        v2: Option<&Path>,
    ) -> Result<Self, CgroupError> {
        let mut files = Vec::new();
        let mut take = |dir: &Path, file: &str| -> Result<(), CgroupError> {
            if let Some(text) = fsutil::read_opt(dir, file)? {
                files.push((dir.join(file), text));
            }
            Ok(())
        };
        match v2 {
            Some(dir) => {
                for file in V2_FILES {
                    take(dir, file)?;
                }
            }
            None => {
                for (controller, names) in V1_FILES {
                    if let Some(dir) = dirs(controller) {
                        for file in names {
                            take(dir, file)?;
                        }
                    }
                }
            }
        }
        Ok(ResourceSnapshot { files })
    }

    /// The files recorded, with their content.
    pub fn files(&self) -> impl Iterator<Item = (&Path, &str)> {
        self.files.iter().map(|(p, t)| (p.as_path(), t.as_str()))
    }

    /// Writes back every file whose content differs from the snapshot. Files
    /// refused by the kernel are retried (up to [`RESTORE_PASSES`] passes)
    /// after the others; the first error of the last pass is returned.
    pub(crate) fn restore(&self) -> Result<(), CgroupError> {
        let mut pending: Vec<&(PathBuf, String)> = Vec::new();
        for entry in &self.files {
            let (path, old) = entry;
            let (dir, file) = split(path);
            match fsutil::read_opt(dir, file)? {
                Some(now) if now != *old => pending.push(entry),
                _ => {}
            }
        }
        for _ in 0..RESTORE_PASSES {
            let mut failed = Vec::new();
            let mut first_error = None;
            for entry in &pending {
                let (path, old) = entry;
                let (dir, file) = split(path);
                if let Err(e) = fsutil::write_file(dir, file, &restore_text(file, old)) {
                    first_error.get_or_insert(e);
                    failed.push(*entry);
                }
            }
            match first_error {
                None => return Ok(()),
                Some(e) if failed.len() == pending.len() => return Err(e),
                Some(_) => pending = failed,
            }
        }
        // Every pass made progress but some files are still refused: one
        // last try reports the error of the first of them.
        for (path, old) in &pending {
            let (dir, file) = split(path);
            fsutil::write_file(dir, file, &restore_text(file, old))?;
        }
        Ok(())
    }
}

fn split(path: &Path) -> (&Path, &str) {
    let dir = path.parent().unwrap_or(Path::new("/"));
    let file = path.file_name().and_then(|f| f.to_str()).unwrap_or("");
    (dir, file)
}

/// What to write to get back the content `old` that was read. The files read
/// back in the form they accept, except the weights whose reading is
/// `default N` (plus per-device lines), which take `default N` as well; only
/// the first line is written.
fn restore_text(file: &str, old: &str) -> String {
    let first = old.lines().next().unwrap_or("");
    match file {
        "blkio.bfq.weight" | "io.bfq.weight" | "io.weight" => first.to_string(),
        _ => old.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmpdir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("cg-rollback-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// A snapshot of fabricated files, changed, then restored.
    #[test]
    fn restores_changed_files_only() {
        let mem = tmpdir("mem");
        let pids = tmpdir("pids");
        std::fs::write(mem.join("memory.limit_in_bytes"), "9223372036854771712\n").unwrap();
        std::fs::write(mem.join("memory.soft_limit_in_bytes"), "4096\n").unwrap();
        std::fs::write(pids.join("pids.max"), "max\n").unwrap();
        let snap = ResourceSnapshot::read(
            |c| match c {
                "memory" => Some(mem.as_path()),
                "pids" => Some(pids.as_path()),
                _ => None,
            },
            None,
        )
        .unwrap();
        assert_eq!(snap.files().count(), 3, "absent files are skipped");
        // (Restoring writes without truncating, as cgroupfs needs: the new
        // contents here are no longer than the old ones.)
        std::fs::write(mem.join("memory.limit_in_bytes"), "1048576\n").unwrap();
        std::fs::write(pids.join("pids.max"), "10\n").unwrap();
        let soft = mem.join("memory.soft_limit_in_bytes");
        snap.restore().unwrap();
        assert_eq!(
            std::fs::read_to_string(mem.join("memory.limit_in_bytes")).unwrap(),
            "9223372036854771712"
        );
        assert_eq!(
            std::fs::read_to_string(pids.join("pids.max")).unwrap(),
            "max"
        );
        assert_eq!(std::fs::read_to_string(soft).unwrap(), "4096\n");
        std::fs::remove_dir_all(&mem).unwrap();
        std::fs::remove_dir_all(&pids).unwrap();
    }

    #[test]
    fn weights_are_written_back_as_their_first_line() {
        assert_eq!(
            restore_text("io.weight", "default 100\n8:0 200"),
            "default 100"
        );
        assert_eq!(restore_text("cpu.max", "max 100000"), "max 100000");
    }
}
