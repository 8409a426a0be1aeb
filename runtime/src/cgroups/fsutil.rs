//! Small file-system helpers for cgroup directories, each turning failures
//! into a [`CgroupError`] that names the file, the value and the errno.
//!
//! Written by hand because these are the operations `cgroups-rs` either does
//! not offer for every directory a container joins (the `name=systemd`
//! hierarchy, the v2 part of a hybrid host) or offers without the context the
//! error messages need: `cgroups-rs` opens files with `O_CREAT|O_TRUNC`, which
//! turns a missing cgroup file into `EACCES`, and it drops the path.

use std::collections::HashMap;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::error::{io_cause, CgroupError};

/// Writes `value` to `dir/file` in one `write(2)` (cgroup files take one
/// command per write), without creating or truncating anything.
pub(crate) fn write_file(dir: &Path, file: &str, value: &str) -> Result<(), CgroupError> {
    let path = dir.join(file);
    let result = OpenOptions::new()
        .write(true)
        .open(&path)
        .and_then(|mut f| f.write_all(value.as_bytes()));
    result.map_err(|source| CgroupError::Set {
        file: file.to_string(),
        value: value.to_string(),
        path,
        source,
    })
}

/// Maps the result of a `cgroups-rs` setter that wrote `value` to
/// `dir/file` onto [`CgroupError::Set`].
pub(crate) fn crate_set(
    dir: &Path,
    file: &str,
    value: &str,
    result: cgroups_rs::fs::error::Result<()>,
) -> Result<(), CgroupError> {
    result.map_err(|e| {
        let path = dir.join(file);
        // `cgroups-rs` opens with O_CREAT, which cgroupfs answers with EACCES
        // for a file that does not exist: say what really happened.
        let source = if path.exists() {
            io_cause(&e)
        } else {
            io::Error::from_raw_os_error(libc::ENOENT)
        };
        CgroupError::Set {
            file: file.to_string(),
            value: value.to_string(),
            path,
            source,
        }
    })
}

/// Reads `dir/file`, trimmed.
pub(crate) fn read_file(dir: &Path, file: &str) -> Result<String, CgroupError> {
    let path = dir.join(file);
    match fs::read_to_string(&path) {
        Ok(s) => Ok(s.trim().to_string()),
        Err(source) => Err(CgroupError::Read { path, source }),
    }
}

/// Reads `dir/file`, trimmed; `None` when the file does not exist.
pub(crate) fn read_opt(dir: &Path, file: &str) -> Result<Option<String>, CgroupError> {
    let path = dir.join(file);
    match fs::read_to_string(&path) {
        Ok(s) => Ok(Some(s.trim().to_string())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(CgroupError::Read { path, source }),
    }
}

/// Parses an integer cgroup value, naming the file on failure.
pub(crate) fn parse_u64(dir: &Path, file: &str, text: &str) -> Result<u64, CgroupError> {
    text.trim().parse().map_err(|_| CgroupError::Parse {
        path: dir.join(file),
        content: text.to_string(),
    })
}

/// `KEY VALUE` lines (e.g. `memory.events`, `cpu.stat`) as a map; lines that
/// are not of that shape are skipped.
pub(crate) fn flat_keyed(text: &str) -> HashMap<&str, u64> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            let (k, v) = (it.next()?, it.next()?);
            Some((k, v.parse().ok()?))
        })
        .collect()
}

/// Makes `dir` and any missing parents, appending each directory it really
/// made to `created` (outermost first).
pub(crate) fn mkdir_tracked(dir: &Path, created: &mut Vec<PathBuf>) -> Result<(), CgroupError> {
    let mut missing = Vec::new();
    let mut cur = Some(dir);
    while let Some(d) = cur {
        if d.is_dir() {
            break;
        }
        missing.push(d);
        cur = d.parent();
    }
    for d in missing.into_iter().rev() {
        match fs::create_dir(d) {
            Ok(()) => created.push(d.to_path_buf()),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(source) => {
                return Err(CgroupError::Create {
                    path: d.to_path_buf(),
                    source,
                })
            }
        }
    }
    Ok(())
}

/// Removes the cgroup directory `dir` and any cgroups below it. A directory
/// that is already gone is fine. `EBUSY` (processes still leaving) is retried
/// for about a second before giving up.
pub(crate) fn remove_cgroup_dir(dir: &Path) -> Result<(), CgroupError> {
    // Children first: a cgroup with sub-cgroups cannot be removed.
    match fs::read_dir(dir) {
        Ok(entries) => {
            for entry in entries.flatten() {
                if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                    remove_cgroup_dir(&entry.path())?;
                }
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(CgroupError::Remove {
                path: dir.to_path_buf(),
                source,
            })
        }
    }
    let mut delay = Duration::from_millis(2);
    let mut waited = Duration::ZERO;
    loop {
        match fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && waited < Duration::from_secs(1) => {
                std::thread::sleep(delay);
                waited += delay;
                delay = (delay * 2).min(Duration::from_millis(100));
            }
            Err(source) => {
                return Err(CgroupError::Remove {
                    path: dir.to_path_buf(),
                    source,
                })
            }
        }
    }
}

/// The processes (thread group ids) listed in `dir/cgroup.procs`.
pub(crate) fn read_procs(dir: &Path) -> Result<Vec<i32>, CgroupError> {
    let text = read_file(dir, "cgroup.procs")?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            l.trim().parse().map_err(|_| CgroupError::Parse {
                path: dir.join("cgroup.procs"),
                content: l.to_string(),
            })
        })
        .collect()
}

/// The processes of `dir` and of every cgroup below it. Sub-cgroups that
/// vanish while being walked are skipped.
pub(crate) fn read_procs_recursive(dir: &Path, out: &mut Vec<i32>) -> Result<(), CgroupError> {
    out.extend(read_procs(dir)?);
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(CgroupError::Read {
                path: dir.to_path_buf(),
                source,
            })
        }
    };
    for entry in entries.flatten() {
        if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            match read_procs_recursive(&entry.path(), out) {
                Err(CgroupError::Read { source, .. })
                    if source.kind() == io::ErrorKind::NotFound
                        || source.raw_os_error() == Some(libc::ENODEV) => {}
                r => r?,
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_keyed_skips_odd_lines() {
        let m = flat_keyed("low 0\nhigh 3\noom 2\noom_kill 1\nbogus\nx y\n");
        assert_eq!(m.get("oom"), Some(&2));
        assert_eq!(m.get("oom_kill"), Some(&1));
        assert_eq!(m.len(), 4);
    }

    #[test]
    fn mkdir_tracked_reports_only_what_it_made() {
        let base = std::env::temp_dir().join(format!("cg-mkdir-{}", std::process::id()));
        let _ = fs::remove_dir_all(&base);
        fs::create_dir(&base).unwrap();
        let mut made = Vec::new();
        mkdir_tracked(&base.join("a/b"), &mut made).unwrap();
        assert_eq!(made, vec![base.join("a"), base.join("a/b")]);
        made.clear();
        mkdir_tracked(&base.join("a/c"), &mut made).unwrap();
        assert_eq!(made, vec![base.join("a/c")]);
        fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn write_file_error_names_file_value_and_errno() {
        let err = write_file(Path::new("/nonexistent-dir"), "pids.max", "10").unwrap_err();
        assert_eq!(
            err.to_string(),
            "set cgroup pids.max to \"10\" (/nonexistent-dir/pids.max): No such file or directory (os error 2)"
        );
        assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
    }
}
