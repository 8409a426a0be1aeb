//! The container's root filesystem, set up by the init inside its new mount
//! namespace, in this order:
//!
//! 1. propagation of `/` (default `rslave`: nothing leaks back to the host);
//! 2. the rootfs bound onto itself, so that it is a mount point to pivot to;
//! 3. the configured mounts, each destination resolved inside the rootfs
//!    without following symlinks out of it ([`mounts`]);
//! 4. device nodes ([`devices`]), `/dev/ptmx`, the `/dev/fd|stdin|stdout|stderr`
//!    links, `/dev/console` for a terminal;
//! 5. `pivot_root` (or `MS_MOVE` + `chroot`) ([`pivot`]);
//! 6. after the switch: read-only and masked paths, read-only root ([`paths`]).

// The MS_* flags are c_ulong, which is u64 only on 64-bit targets: the casts
// are needed elsewhere.
#![allow(clippy::unnecessary_cast)]

pub mod bind;
pub mod devices;
pub mod mounts;
pub mod paths;
pub mod pivot;
pub mod resolve;

use std::ffi::CString;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::path::Path;

use nix::mount::MsFlags;

use crate::error::{SysError, SysResult};

/// `mount(2)` with raw flags, mapping the error to a [`SysError`] of `step`.
pub fn mount(
    step: &str,
    source: Option<&str>,
    target: &Path,
    fstype: Option<&str>,
    flags: u64,
    data: Option<&str>,
) -> SysResult<()> {
    let flags = MsFlags::from_bits_retain(flags as libc::c_ulong);
    nix::mount::mount(source, target, fstype, flags, data).map_err(|e| {
        let mut err = SysError::new(step, "mount", e as i32).with_path(target);
        if let Some(src) = source {
            err = err.with_detail(format!(
                "source {src:?}, type {:?}, data {:?}",
                fstype.unwrap_or(""),
                data.unwrap_or("")
            ));
        }
        err
    })
}

/// The path through which a mount can target an already-resolved fd: the
/// magic link `/proc/self/fd/N` (valid before the pivot, while the host's
/// `/proc` is still reachable).
pub fn fd_path(fd: BorrowedFd<'_>) -> std::path::PathBuf {
    std::path::PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

/// Converts a libpathrs error into a [`SysError`] naming `path`.
pub fn pathrs_err(step: &str, path: &Path, e: pathrs::error::Error) -> SysError {
    let errno = match e.kind() {
        pathrs::error::ErrorKind::OsError(Some(n)) => n,
        _ => 0,
    };
    let mut err = SysError::new(step, "resolve", errno).with_path(path);
    // The chain explains safety violations that have no errno.
    let mut detail = e.to_string();
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        detail.push_str(": ");
        detail.push_str(&s.to_string());
        src = s.source();
    }
    if errno == 0 {
        err = err.with_detail(detail);
    }
    err
}

/// The flags a read-only (or other) bind remount of `path` must keep: a mount
/// whose flags are locked by a user namespace refuses a remount that would
/// clear them.
pub fn locked_flags(path: &Path) -> u64 {
    nix::sys::statvfs::statvfs(path)
        .map(|st| crate::spawn::mount_flags_of(st.flags()) as u64)
        .unwrap_or(0)
}

/// A C string for a path.
pub fn cpath(path: &Path) -> SysResult<CString> {
    crate::spawn::cstring(path.as_os_str())
}

/// Joins a container path (absolute) onto the rootfs.
pub fn in_rootfs(rootfs: &Path, container_path: &str) -> std::path::PathBuf {
    rootfs.join(container_path.trim_start_matches('/'))
}
