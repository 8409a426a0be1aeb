//! The pseudo terminal of a process started with `terminal`.
//!
//! A new container gets a pty of the runtime's devpts: the init binds the
//! slave onto `/dev/console`. A process joining a running container gets a pty
//! of the *container's* devpts (`/dev/pts/ptmx` inside its root), so that
//! `tty` and `ttyname()` find its slave under the container's `/dev/pts`, as
//! for any shell started inside it; the host's pty is the fallback.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use nsinit_configs::{Config, NamespaceType};

use crate::error::{Result, SysError};

const DEVPTS_SUPER_MAGIC: i64 = 0x1cd1;
const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
const RESOLVE_IN_ROOT: u64 = 0x10;

#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

/// Opens a pty for a process (of the container of `join_pid` when given);
/// returns (master, slave), both close-on-exec, the slave owned by the
/// container's root.
pub fn open(
    size: Option<(u16, u16)>,
    join_pid: Option<i32>,
    config: &Config,
) -> Result<(OwnedFd, OwnedFd)> {
    let (master, slave) = match join_pid.and_then(open_in_container) {
        Some(pair) => pair,
        None => open_host()?,
    };
    if let Some((rows, cols)) = size {
        let ws = libc::winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ on a pty fd we own with a pointer to a winsize.
        unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
    }
    chown_to_root(&slave, config)?;
    Ok((master, slave))
}

fn open_host() -> Result<(OwnedFd, OwnedFd)> {
    let pty = nix::pty::openpty(None, None)
        .map_err(|e| SysError::new("allocate terminal", "openpty", e as i32))?;
    for fd in [&pty.master, &pty.slave] {
        let _ = nix::fcntl::fcntl(
            fd.as_raw_fd(),
            nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
        );
    }
    Ok((pty.master, pty.slave))
}

fn owned(fd: libc::c_long) -> Option<OwnedFd> {
    // SAFETY: a non-negative result of an open-like syscall is a new fd that
    // nobody else owns.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// A pty of the devpts mounted at `/dev/pts` inside the container of `pid`,
/// resolved without leaving its root; None when there is none.
fn open_in_container(pid: i32) -> Option<(OwnedFd, OwnedFd)> {
    let root = std::fs::File::open(format!("/proc/{pid}/root")).ok()?;
    let how = OpenHow {
        flags: (libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC) as u64,
        mode: 0,
        resolve: RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
    };
    // SAFETY: openat2 with a dirfd we own, a C string and an initialised
    // open_how of the size passed.
    let master = owned(unsafe {
        libc::syscall(
            libc::SYS_openat2,
            root.as_raw_fd(),
            c"dev/pts/ptmx".as_ptr(),
            &how as *const OpenHow,
            std::mem::size_of::<OpenHow>(),
        )
    })?;
    let st = nix::sys::statfs::fstatfs(&master).ok()?;
    if st.filesystem_type().0 as i64 != DEVPTS_SUPER_MAGIC {
        return None;
    }
    let unlock: libc::c_int = 0;
    // SAFETY: TIOCSPTLCK / TIOCGPTPEER on the master we own; the first takes a
    // pointer to an int, the second open flags.
    let slave = unsafe {
        if libc::ioctl(master.as_raw_fd(), libc::TIOCSPTLCK, &unlock) < 0 {
            return None;
        }
        libc::ioctl(
            master.as_raw_fd(),
            libc::TIOCGPTPEER,
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        )
    };
    Some((master, owned(slave as libc::c_long)?))
}

/// With a user namespace, gives the slave to the host ids the container's
/// root maps to: the init of a new container opens it again by path (to bind
/// it onto `/dev/console`), and as root of a user namespace it may only open
/// a terminal it owns.
fn chown_to_root(slave: &OwnedFd, config: &Config) -> Result<()> {
    if !config.has_namespace(NamespaceType::User) || config.uid_mappings.is_empty() {
        return Ok(());
    }
    let uid = crate::namespaces::host_id(&config.uid_mappings, 0);
    let gid = crate::namespaces::host_id(&config.gid_mappings, 0);
    nix::unistd::fchown(
        slave.as_raw_fd(),
        uid.map(nix::unistd::Uid::from_raw),
        gid.map(nix::unistd::Gid::from_raw),
    )
    .map_err(|e| SysError::new("allocate terminal", "fchown", e as i32).into())
}
