//! Switching the root: `pivot_root`, or `MS_MOVE` + `chroot` where pivoting is
//! impossible (a ramfs root) or not wanted (`no_pivot_root`).

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;
use nix::mount::MntFlags;
use nix::sys::stat::Mode;

use super::mount;
use crate::error::{Context, SysError, SysResult};

fn open_dir(step: &str, path: &Path) -> SysResult<OwnedFd> {
    let fd = nix::fcntl::open(
        path,
        OFlag::O_DIRECTORY | OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .ctx_path(step, "open", path)?;
    // SAFETY: fd was just opened and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Makes `rootfs` the root with `pivot_root(".", ".")`: the old root ends up
/// stacked on the new one and is detached at once, so no directory inside the
/// rootfs is needed for it. Returns `EINVAL` as an error when the current root
/// cannot be pivoted (the caller then moves the root instead).
pub fn pivot_root(rootfs: &Path) -> SysResult<()> {
    let step = "pivot_root";
    let old = open_dir(step, Path::new("/"))?;
    let new = open_dir(step, rootfs)?;
    nix::unistd::fchdir(new.as_raw_fd()).ctx_path(step, "fchdir", rootfs)?;
    nix::unistd::pivot_root(".", ".").ctx_path(step, "pivot_root", rootfs)?;
    // The old root is now mounted over the new one; step onto it and detach it.
    nix::unistd::fchdir(old.as_raw_fd()).ctx(step, "fchdir old root")?;
    mount(
        step,
        None,
        Path::new("."),
        None,
        (libc::MS_SLAVE | libc::MS_REC) as u64,
        None,
    )?;
    nix::mount::umount2(".", MntFlags::MNT_DETACH).ctx(step, "umount2 old root")?;
    nix::unistd::chdir("/").ctx(step, "chdir /")?;
    Ok(())
}

/// Moves `rootfs` onto `/` and chroots into it. The host's mounts outside the
/// rootfs are detached first so that the container's mount table holds nothing
/// of the host's (those that cannot be detached stay, unreachable).
pub fn move_root(rootfs: &Path) -> SysResult<()> {
    let step = "move root (MS_MOVE + chroot)";
    detach_host_mounts(rootfs);
    nix::unistd::chdir(rootfs).ctx_path(step, "chdir", rootfs)?;
    mount(
        step,
        Some(&rootfs.to_string_lossy()),
        Path::new("/"),
        None,
        libc::MS_MOVE as u64,
        None,
    )?;
    nix::unistd::chroot(".").ctx_path(step, "chroot", rootfs)?;
    nix::unistd::chdir("/").ctx(step, "chdir /")?;
    Ok(())
}

/// Detaches every mount that is neither inside `rootfs` nor one of its
/// ancestors, deepest first.
fn detach_host_mounts(rootfs: &Path) {
    let info = match std::fs::read_to_string("/proc/self/mountinfo") {
        Ok(s) => s,
        Err(_) => return,
    };
    let mut points: Vec<PathBuf> = info
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|p| PathBuf::from(crate::mountinfo::unescape(p)))
        .filter(|p| !p.starts_with(rootfs) && !rootfs.starts_with(p))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    points.dedup();
    for p in points {
        let _ = nix::mount::umount2(&p, MntFlags::MNT_DETACH);
    }
}

/// Whether `err` means "this root cannot be pivoted" (then move it instead).
pub fn cannot_pivot(err: &SysError) -> bool {
    err.syscall == "pivot_root" && err.errno == libc::EINVAL
}
