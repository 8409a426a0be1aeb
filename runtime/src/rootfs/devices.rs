//! Device nodes under `/dev`, the pts and fd links, and the console.
//!
//! Outside a user namespace the nodes are made with `mknod`; inside one the
//! kernel refuses device nodes, so the host's nodes are bound onto empty files.

use std::os::fd::{AsFd, AsRawFd};
use std::path::{Path, PathBuf};

use nix::sys::stat::{Mode, SFlag};
use nsinit_configs::{Device, DeviceType};
use pathrs::Root;

use super::bind::{bind, Target};
use super::mounts::ensure_file;
use crate::error::{Context, SysError, SysResult};

/// Creates every configured device node inside `root`.
pub fn create_devices(root: &Root, devices: &[Device], bind: bool) -> SysResult<()> {
    for d in devices {
        if d.path.is_empty() {
            continue;
        }
        if bind {
            bind_device(root, d)?;
        } else {
            match mknod_device(root, d) {
                Err(e) if e.errno == libc::EPERM => bind_device(root, d)?,
                other => other?,
            }
        }
    }
    Ok(())
}

fn bind_device(root: &Root, d: &Device) -> SysResult<()> {
    let step = format!("create device {}", d.path);
    let dest = Path::new(&d.path);
    let handle = ensure_file(root, dest, &step)?;
    bind(&step, dest, Target::Fd(handle.as_fd()), 0)
}

fn mknod_device(root: &Root, d: &Device) -> SysResult<()> {
    let step = format!("create device {}", d.path);
    let dest = Path::new(&d.path);
    let (parent, name) = match (dest.parent(), dest.file_name()) {
        (Some(p), Some(n)) => (p, n),
        _ => return Err(SysError::msg(step, "device path has no file name")),
    };
    let dir = super::resolve::dir_all(root, &step, parent, 0o755)?;
    let kind = match d.kind {
        DeviceType::Char => SFlag::S_IFCHR,
        DeviceType::Block => SFlag::S_IFBLK,
        DeviceType::Fifo => SFlag::S_IFIFO,
        DeviceType::All => {
            return Err(SysError::msg(
                step,
                "type \"a\" is only valid in cgroup rules",
            ))
        }
    };
    let mode = Mode::from_bits_truncate(if d.file_mode == 0 { 0o666 } else { d.file_mode });
    let dev = nix::sys::stat::makedev(d.major.max(0) as u64, d.minor.max(0) as u64);
    // An O_PATH directory fd serves as the dirfd of the *at calls.
    let dfd = dir.as_fd().as_raw_fd();
    match nix::sys::stat::mknodat(Some(dfd), name, kind, mode, dev) {
        Ok(()) => {}
        Err(nix::errno::Errno::EEXIST) => {
            // A node already there (e.g. /dev not a fresh tmpfs): replace it
            // unless it is already the same device.
            let st =
                nix::sys::stat::fstatat(Some(dfd), name, nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW)
                    .ctx_path(&step, "stat", dest)?;
            let same = st.st_rdev == dev && (st.st_mode & libc::S_IFMT) == kind.bits();
            if !same {
                nix::unistd::unlinkat(Some(dfd), name, nix::unistd::UnlinkatFlags::NoRemoveDir)
                    .ctx_path(&step, "unlink", dest)?;
                nix::sys::stat::mknodat(Some(dfd), name, kind, mode, dev)
                    .ctx_path(&step, "mknod", dest)?;
            }
        }
        Err(e) => return Err(SysError::new(&step, "mknod", e as i32).with_path(dest)),
    }
    nix::unistd::fchownat(
        Some(dfd),
        name,
        Some(nix::unistd::Uid::from_raw(d.uid)),
        Some(nix::unistd::Gid::from_raw(d.gid)),
        nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
    )
    .ctx_path(&step, "chown", dest)?;
    Ok(())
}

/// `/dev/ptmx` as a link to `pts/ptmx`, and `/dev/fd`, `/dev/stdin`,
/// `/dev/stdout`, `/dev/stderr` into `/proc/self/fd`.
pub fn create_links(root: &Root) -> SysResult<()> {
    let links: [(&str, &str); 5] = [
        ("/dev/ptmx", "pts/ptmx"),
        ("/dev/fd", "/proc/self/fd"),
        ("/dev/stdin", "/proc/self/fd/0"),
        ("/dev/stdout", "/proc/self/fd/1"),
        ("/dev/stderr", "/proc/self/fd/2"),
    ];
    for (link, target) in links {
        let step = format!("create link {link}");
        let path = Path::new(link);
        // Replace whatever the image or a device entry put at /dev/ptmx.
        super::resolve::symlink(root, &step, path, target, link == "/dev/ptmx")?;
    }
    Ok(())
}

/// Binds the terminal on fd `console_fd` (the pty slave) onto `/dev/console`.
pub fn bind_console(root: &Root, console_fd: i32) -> SysResult<()> {
    let step = "set up /dev/console";
    let dest = Path::new("/dev/console");
    let handle = ensure_file(root, dest, step)?;
    // Binding the magic link binds the terminal the fd refers to. The parent
    // opened the slave in its own mount namespace, and the kernel refuses to
    // bind from a mount outside ours (EINVAL): open the same terminal again by
    // its path, which here (before the pivot) resolves in our copy of the
    // parent's mounts, and bind that one. The fd itself is the fallback (e.g.
    // a mount namespace joined by path).
    let here = reopen_here(console_fd);
    let fd = here.as_ref().map_or(console_fd, |f| f.as_raw_fd());
    let src = PathBuf::from(format!("/proc/self/fd/{fd}"));
    bind(step, &src, Target::Fd(handle.as_fd()), 0)
}

/// Opens the file on `fd` again by its path in our mount namespace, if that
/// path still names the same file.
fn reopen_here(fd: i32) -> Option<std::os::fd::OwnedFd> {
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    let path = std::fs::read_link(format!("/proc/self/fd/{fd}")).ok()?;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY)
        .open(&path)
        .ok()?;
    let ours = std::fs::metadata(format!("/proc/self/fd/{fd}")).ok()?;
    let found = f.metadata().ok()?;
    (ours.dev() == found.dev() && ours.ino() == found.ino() && ours.rdev() == found.rdev())
        .then(|| f.into())
}
