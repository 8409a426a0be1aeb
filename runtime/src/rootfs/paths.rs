//! After the switch of root: read-only paths, masked paths, read-only root.
//! These run inside the container's view, so paths cannot escape it.

use std::path::Path;

use super::bind::{bind, Target};
use super::mount;
use crate::error::SysResult;

const MS_RDONLY: u64 = libc::MS_RDONLY as u64;
const MS_BIND: u64 = libc::MS_BIND as u64;
const MS_REC: u64 = libc::MS_REC as u64;
const MS_REMOUNT: u64 = libc::MS_REMOUNT as u64;

/// Binds each existing path read-only onto itself (missing paths are skipped).
pub fn readonly_paths(paths: &[String]) -> SysResult<()> {
    for p in paths {
        let path = Path::new(p);
        if std::fs::symlink_metadata(path).is_err() {
            continue;
        }
        let step = format!("make {p} read-only");
        bind(&step, path, Target::Path(path), MS_REC | MS_RDONLY)?;
    }
    Ok(())
}

/// Hides each existing path: `/dev/null` over a file, an empty read-only tmpfs
/// over a directory (missing paths are skipped).
pub fn mask_paths(paths: &[String]) -> SysResult<()> {
    for p in paths {
        let path = Path::new(p);
        let meta = match std::fs::symlink_metadata(path) {
            Ok(m) => m,
            Err(_) => continue,
        };
        let step = format!("mask {p}");
        if meta.is_dir() {
            mount(
                &step,
                Some("tmpfs"),
                path,
                Some("tmpfs"),
                MS_RDONLY,
                Some("size=0,mode=000"),
            )?;
        } else {
            mount(&step, Some("/dev/null"), path, None, MS_BIND, None)?;
        }
    }
    Ok(())
}

/// Remounts `/` read-only.
pub fn readonly_root() -> SysResult<()> {
    let keep = super::locked_flags(Path::new("/"));
    mount(
        "make the root read-only",
        None,
        Path::new("/"),
        None,
        MS_BIND | MS_REMOUNT | MS_RDONLY | keep,
        None,
    )
}
