//! Bind mounts through the new mount API: the tree is cloned detached
//! (`open_tree`), its flags set while detached (`mount_setattr`), then attached
//! (`move_mount`). Setting flags before attaching avoids the remount of the
//! classic API, which cannot target a mount through the fd of the directory it
//! was mounted on (that fd names the covered directory, not the new mount).
//! Kernels without these calls (before 5.12) fall back to `mount(2)` and a
//! remount of the path.

use std::ffi::CString;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

use super::{cpath, locked_flags, mount};
use crate::error::{SysError, SysResult};

const OPEN_TREE_CLONE: u32 = 1;
const AT_RECURSIVE: u32 = 0x8000;
const MOVE_MOUNT_F_EMPTY_PATH: u32 = 0x4;
const MOVE_MOUNT_T_EMPTY_PATH: u32 = 0x40;
const MOUNT_ATTR_RDONLY: u64 = 0x1;
const MOUNT_ATTR_NOSUID: u64 = 0x2;
const MOUNT_ATTR_NODEV: u64 = 0x4;
const MOUNT_ATTR_NOEXEC: u64 = 0x8;
const MOUNT_ATTR__ATIME: u64 = 0x70;
const MOUNT_ATTR_NOATIME: u64 = 0x10;
const MOUNT_ATTR_STRICTATIME: u64 = 0x20;
const MOUNT_ATTR_NODIRATIME: u64 = 0x80;

#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// The `MOUNT_ATTR_*` bits for `MS_*` flags.
fn attrs_of(flags: u64) -> (u64, u64) {
    let f = |b: libc::c_ulong| flags & b as u64 != 0;
    let mut set = 0;
    let mut clr = 0;
    for (ms, attr) in [
        (libc::MS_RDONLY, MOUNT_ATTR_RDONLY),
        (libc::MS_NOSUID, MOUNT_ATTR_NOSUID),
        (libc::MS_NODEV, MOUNT_ATTR_NODEV),
        (libc::MS_NOEXEC, MOUNT_ATTR_NOEXEC),
        (libc::MS_NODIRATIME, MOUNT_ATTR_NODIRATIME),
    ] {
        if f(ms) {
            set |= attr;
        }
    }
    if f(libc::MS_NOATIME) {
        set |= MOUNT_ATTR_NOATIME;
        clr |= MOUNT_ATTR__ATIME;
    } else if f(libc::MS_STRICTATIME) {
        set |= MOUNT_ATTR_STRICTATIME;
        clr |= MOUNT_ATTR__ATIME;
    }
    (set, clr)
}

fn last_errno() -> i32 {
    nix::errno::Errno::last_raw()
}

/// Where a bind mount goes.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// An already resolved directory or file (an `O_PATH` handle).
    Fd(BorrowedFd<'a>),
    /// A path, resolved by the kernel.
    Path(&'a Path),
}

impl Target<'_> {
    fn display_path(&self) -> std::path::PathBuf {
        match self {
            Target::Fd(fd) => super::fd_path(*fd),
            Target::Path(p) => p.to_path_buf(),
        }
    }
}

/// Binds `src` onto `target` with `flags` (`MS_REC` for a recursive bind, plus
/// `MS_RDONLY`, `MS_NOSUID` ... applied to the new mount).
pub fn bind(step: &str, src: &Path, target: Target<'_>, flags: u64) -> SysResult<()> {
    let rec = flags & libc::MS_REC as u64 != 0;
    let csrc = cpath(src)?;
    let target_path = target.display_path();
    let tree = match open_tree(&csrc, rec) {
        Ok(fd) => fd,
        Err(libc::ENOSYS) => return bind_classic(step, src, &target_path, flags),
        Err(errno) => return Err(SysError::new(step, "open_tree", errno).with_path(src)),
    };
    let (set, clr) = attrs_of(flags);
    if set != 0 || clr != 0 {
        let attr = MountAttr {
            attr_set: set,
            attr_clr: clr,
            propagation: 0,
            userns_fd: 0,
        };
        let at_flags = libc::AT_EMPTY_PATH as u32 | if rec { AT_RECURSIVE } else { 0 };
        // SAFETY: mount_setattr on a mount fd we own, an empty path, and a
        // fully initialised mount_attr of the size passed.
        let r = unsafe {
            libc::syscall(
                libc::SYS_mount_setattr,
                tree_fd(&tree),
                c"".as_ptr(),
                at_flags,
                &attr as *const MountAttr,
                std::mem::size_of::<MountAttr>(),
            )
        };
        if r < 0 {
            return Err(SysError::new(step, "mount_setattr", last_errno())
                .with_path(&target_path)
                .with_detail(format!("flags {set:#x} on a bind of {}", src.display())));
        }
    }
    let r = match target {
        // SAFETY: move_mount from our detached tree fd onto an fd we borrow,
        // both with empty paths.
        Target::Fd(fd) => unsafe {
            libc::syscall(
                libc::SYS_move_mount,
                tree_fd(&tree),
                c"".as_ptr(),
                fd.as_raw_fd(),
                c"".as_ptr(),
                MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH,
            )
        },
        Target::Path(p) => {
            let cp = cpath(p)?;
            // SAFETY: move_mount from our detached tree fd onto a valid C path.
            unsafe {
                libc::syscall(
                    libc::SYS_move_mount,
                    tree_fd(&tree),
                    c"".as_ptr(),
                    libc::AT_FDCWD,
                    cp.as_ptr(),
                    MOVE_MOUNT_F_EMPTY_PATH,
                )
            }
        }
    };
    if r < 0 {
        return Err(SysError::new(step, "move_mount", last_errno())
            .with_path(&target_path)
            .with_detail(format!("bind of {}", src.display())));
    }
    Ok(())
}

fn tree_fd(fd: &OwnedFd) -> RawFd {
    fd.as_raw_fd()
}

fn open_tree(src: &CString, rec: bool) -> Result<OwnedFd, i32> {
    let flags = OPEN_TREE_CLONE | libc::O_CLOEXEC as u32 | if rec { AT_RECURSIVE } else { 0 };
    // SAFETY: open_tree with a valid C path; a non-negative result is a new fd.
    let fd = unsafe { libc::syscall(libc::SYS_open_tree, libc::AT_FDCWD, src.as_ptr(), flags) };
    if fd < 0 {
        return Err(last_errno());
    }
    // SAFETY: a fresh fd owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// `mount(2)` bind, then a remount of the *path* with the extra flags (for
/// kernels without the new mount API; the target must then be a plain path).
fn bind_classic(step: &str, src: &Path, target: &Path, flags: u64) -> SysResult<()> {
    let bind_bits = (libc::MS_BIND | libc::MS_REC) as u64;
    mount(
        step,
        Some(&src.to_string_lossy()),
        target,
        None,
        libc::MS_BIND as u64 | (flags & libc::MS_REC as u64),
        None,
    )?;
    let extra = flags & !(bind_bits | libc::MS_REMOUNT as u64);
    if extra != 0 {
        let keep = locked_flags(target);
        mount(
            step,
            None,
            target,
            None,
            (libc::MS_BIND | libc::MS_REMOUNT) as u64 | extra | keep,
            None,
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::attrs_of;

    #[test]
    fn flag_translation() {
        let (set, clr) = attrs_of((libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NOATIME) as u64);
        assert_eq!(set, 0x1 | 0x2 | 0x10);
        assert_eq!(clr, 0x70);
        assert_eq!(attrs_of(libc::MS_BIND as u64), (0, 0));
    }
}
