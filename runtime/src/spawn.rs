//! Cloning the init and everything the child does before it executes.
//!
//! The runtime may live inside a multithreaded program, so between `clone` and
//! `execve` the child only makes raw system calls on memory prepared by the
//! parent beforehand: no allocation, no locks, no Rust std I/O. Everything the
//! child needs (paths, argv, envp, the fd plan) is built into a [`SpawnPlan`]
//! before the clone.
//!
//! The child:
//! 1. joins the namespaces given by path (user first) and, if any were joined,
//!    clones a second stage (with `CLONE_PARENT`, so the runtime stays its
//!    parent) into the new namespaces — joining a pid namespace only affects
//!    children, and namespaces created after joining a user namespace belong to
//!    it. The first stage reports the second's pid and exits;
//! 2. with a new user namespace, waits until the parent has written the uid/gid
//!    maps, then becomes root of that namespace;
//! 3. protects the runtime binary (see [`ExeGuard`]);
//! 4. puts stdio, the sync socket and the extra fds in place, closes every other
//!    fd, and executes the init.

use std::ffi::{CString, OsStr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::error::{Context, SysError, SysResult};
use crate::sync::{encode_pre_frame, pre_exec_step as step, FRAME_PID, FRAME_PRE_ERROR};

/// The environment variable that marks a process as an nsinit init; its value is
/// the number of the sync socket's fd.
pub const INIT_ENV: &str = "_NSINIT_INIT";

/// How the runtime binary is kept from being overwritten through
/// `/proc/<init>/exe` while the init runs it (the class of CVE-2019-5736).
#[derive(Debug)]
pub enum ExeGuard {
    /// In the child's private mount namespace, bind the binary read-only onto
    /// itself and execute that path: an open for writing through the init's
    /// `/proc/<pid>/exe` then fails with `EROFS`, and the read-only mount is not
    /// reachable from the container to be remounted. Costs three syscalls.
    ReadOnlyBind {
        /// The binary's canonical path.
        path: CString,
        /// Flags of the mount the binary lives on, kept on the read-only
        /// remount (a user namespace may not clear locked flags).
        keep_flags: libc::c_ulong,
    },
    /// A sealed memfd copy of the binary, executed by fd (used when the binary's
    /// path is gone, e.g. replaced while running).
    SealedMemfd(OwnedFd),
}

impl ExeGuard {
    /// Chooses the guard for executing `exe`.
    pub fn for_binary(exe: &Path) -> SysResult<ExeGuard> {
        let path = std::fs::canonicalize(exe);
        match path {
            Ok(p) if p.is_file() => {
                let st = nix::sys::statvfs::statvfs(&p).ctx_path("guard binary", "statvfs", &p)?;
                let keep = mount_flags_of(st.flags());
                Ok(ExeGuard::ReadOnlyBind {
                    path: cstring(p.as_os_str())?,
                    keep_flags: keep,
                })
            }
            _ => Ok(ExeGuard::SealedMemfd(sealed_memfd_copy(exe)?)),
        }
    }
}

/// Converts statvfs flags to the `MS_*` flags a bind remount has to keep.
pub fn mount_flags_of(f: nix::sys::statvfs::FsFlags) -> libc::c_ulong {
    use nix::sys::statvfs::FsFlags;
    let mut out = 0;
    for (fs, ms) in [
        (FsFlags::ST_RDONLY, libc::MS_RDONLY),
        (FsFlags::ST_NOSUID, libc::MS_NOSUID),
        (FsFlags::ST_NODEV, libc::MS_NODEV),
        (FsFlags::ST_NOEXEC, libc::MS_NOEXEC),
        (FsFlags::ST_NOATIME, libc::MS_NOATIME),
        (FsFlags::ST_NODIRATIME, libc::MS_NODIRATIME),
        (FsFlags::ST_RELATIME, libc::MS_RELATIME),
    ] {
        if f.contains(fs) {
            out |= ms;
        }
    }
    out
}

/// Copies a binary into a memfd and seals it against any change.
fn sealed_memfd_copy(exe: &Path) -> SysResult<OwnedFd> {
    let step = "guard binary (memfd copy)";
    let name = c"nsinit";
    // SAFETY: memfd_create takes a valid NUL-terminated name and flags; the fd it
    // returns is owned by us from here on.
    let fd = unsafe {
        libc::memfd_create(
            name.as_ptr(),
            libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING | libc::MFD_EXEC,
        )
    };
    if fd < 0 {
        return Err(SysError::new(
            step,
            "memfd_create",
            nix::errno::Errno::last_raw(),
        ));
    }
    // SAFETY: fd was just returned by memfd_create and is not owned elsewhere.
    let mem = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut src = std::fs::File::open("/proc/self/exe").ctx_path(step, "open", exe)?;
    let mut dst = std::fs::File::from(mem.try_clone().ctx(step, "dup")?);
    std::io::copy(&mut src, &mut dst).ctx_path(step, "copy", exe)?;
    let seals = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
    // SAFETY: F_ADD_SEALS on a valid memfd with a plain integer argument.
    if unsafe { libc::fcntl(mem.as_raw_fd(), libc::F_ADD_SEALS, seals) } < 0 {
        return Err(SysError::new(
            step,
            "fcntl F_ADD_SEALS",
            nix::errno::Errno::last_raw(),
        ));
    }
    Ok(mem)
}

/// A namespace the child joins before cloning the second stage.
#[derive(Debug)]
pub struct Join {
    /// `CLONE_NEW*` of the namespace.
    pub nstype: i32,
    /// Open namespace file.
    pub fd: OwnedFd,
}

/// Where an fd of the init comes from.
#[derive(Debug, Clone, Copy)]
pub struct FdMap {
    /// fd in the parent.
    pub source: RawFd,
    /// fd number in the init.
    pub target: RawFd,
}

/// Everything the child needs, prepared before the clone.
#[derive(Debug)]
pub struct SpawnPlan {
    /// Namespaces to join (user first); non-empty means two stages.
    pub joins: Vec<Join>,
    /// `CLONE_NEW*` flags of the final child.
    pub new_flags: i32,
    /// Wait for the uid/gid maps (the final child has a new user namespace).
    pub wait_maps: bool,
    /// Become root of the user namespace (new or joined) before exec.
    pub become_root: bool,
    /// The binary protection.
    pub guard: ExeGuard,
    /// Path executed (the guard's path) when not executing a memfd.
    exe: CString,
    argv: Vec<CString>,
    argv_ptrs: Vec<*const libc::c_char>,
    envp: Vec<CString>,
    envp_ptrs: Vec<*const libc::c_char>,
    /// fd plan; targets must be 0..n contiguous.
    fds: Vec<FdMap>,
}

// SAFETY: the raw pointers in argv_ptrs/envp_ptrs point into the CStrings owned by
// the same plan, which never move (their heap buffers are stable) while the
// plan lives; the plan is only read.
unsafe impl Send for SpawnPlan {}

impl SpawnPlan {
    /// Builds a plan to execute `exe` with `args` (`argv[0]` included) as the init.
    /// `fds` must cover every target 0..n (stdio, preserved fds, the sync socket
    /// at `sync_target`, then the init's own extra fds).
    pub fn new(
        exe: &Path,
        args: &[String],
        guard: ExeGuard,
        mut fds: Vec<FdMap>,
        sync_target: RawFd,
    ) -> SysResult<SpawnPlan> {
        let exe_c = match &guard {
            ExeGuard::ReadOnlyBind { path, .. } => path.clone(),
            ExeGuard::SealedMemfd(_) => cstring(exe.as_os_str())?,
        };
        let argv: Vec<CString> = args
            .iter()
            .map(|a| cstring(OsStr::new(a)))
            .collect::<SysResult<_>>()?;
        let envp = vec![cstring(OsStr::new(&format!("{INIT_ENV}={sync_target}")))?];
        fds.sort_by_key(|f| f.target);
        for (i, f) in fds.iter().enumerate() {
            if f.target != i as RawFd {
                return Err(SysError::msg(
                    "plan init fds",
                    format!("fd targets must be contiguous from 0, found {}", f.target),
                ));
            }
        }
        let mut plan = SpawnPlan {
            joins: Vec::new(),
            new_flags: 0,
            wait_maps: false,
            become_root: false,
            guard,
            exe: exe_c,
            argv,
            argv_ptrs: Vec::new(),
            envp,
            envp_ptrs: Vec::new(),
            fds,
        };
        plan.argv_ptrs = plan.argv.iter().map(|s| s.as_ptr()).collect();
        plan.argv_ptrs.push(std::ptr::null());
        plan.envp_ptrs = plan.envp.iter().map(|s| s.as_ptr()).collect();
        plan.envp_ptrs.push(std::ptr::null());
        Ok(plan)
    }
}

/// A C string from an OS string, with a clear error for an interior NUL.
pub fn cstring(s: &OsStr) -> SysResult<CString> {
    CString::new(s.as_bytes()).map_err(|_| {
        SysError::msg(
            "prepare path",
            format!("{:?} contains a NUL byte", s.to_string_lossy()),
        )
    })
}

/// The cloned child.
#[derive(Debug)]
pub struct Spawned {
    /// Pid of the child that will execute the init (first stage's pid while a
    /// second stage is still being reported).
    pub pid: i32,
    /// Whether a first stage exists that reports the final pid on the socket.
    pub two_stage: bool,
}

/// Clones the child according to `plan`. `sync` is the child's end of the sync
/// socket (it must be one of the plan's fd sources).
pub fn spawn(plan: &SpawnPlan, sync: RawFd) -> SysResult<Spawned> {
    let two_stage = !plan.joins.is_empty();
    let first_flags = if two_stage { 0 } else { plan.new_flags };
    let pid = clone_child(first_flags as u64)
        .map_err(|errno| SysError::new("clone the container init", "clone3", errno))?;
    if pid == 0 {
        // SAFETY: we are the freshly cloned child; child_main only performs raw
        // syscalls on memory prepared by the parent and never returns.
        unsafe { child_main(plan, sync, two_stage) }
    }
    Ok(Spawned { pid, two_stage })
}

#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// `clone3` with fork semantics (no new stack), falling back to `clone`.
/// Returns 0 in the child, the pid in the parent, or the errno.
fn clone_child(flags: u64) -> Result<i32, i32> {
    // clone3 refuses an exit signal with CLONE_PARENT: the child then reports
    // to the parent with the caller's own exit signal (SIGCHLD).
    let exit_signal = if flags & libc::CLONE_PARENT as u64 != 0 {
        0
    } else {
        libc::SIGCHLD as u64
    };
    let args = CloneArgs {
        flags,
        exit_signal,
        ..Default::default()
    };
    // SAFETY: clone3 with a valid, fully initialised clone_args of the size passed
    // and no stack behaves like fork: the child continues on a copy of our stack.
    let r = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &args as *const CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    if r >= 0 {
        return Ok(r as i32);
    }
    let errno = nix::errno::Errno::last_raw();
    if errno != libc::ENOSYS {
        return Err(errno);
    }
    // SAFETY: legacy clone with a null stack also has fork semantics; the other
    // pointer arguments are unused without the matching flags.
    let r = unsafe {
        libc::syscall(
            libc::SYS_clone,
            flags | exit_signal,
            0usize,
            0usize,
            0usize,
            0usize,
        )
    };
    if r >= 0 {
        Ok(r as i32)
    } else {
        Err(nix::errno::Errno::last_raw())
    }
}

/// Reports a pre-exec failure on `fd` and exits. Async-signal-safe.
unsafe fn die(fd: RawFd, code: i32) -> ! {
    let errno = nix::errno::Errno::last_raw();
    let mut buf = [0u8; 16];
    let n = encode_pre_frame(FRAME_PRE_ERROR, code, errno, &mut buf);
    // SAFETY: buf is a valid buffer of at least n bytes; _exit never returns.
    unsafe {
        libc::write(fd, buf.as_ptr().cast(), n);
        libc::_exit(127)
    }
}

/// The child between clone and exec. Only raw syscalls; never returns.
///
/// # Safety
/// Must only be called in a freshly cloned child process.
unsafe fn child_main(plan: &SpawnPlan, sync: RawFd, two_stage: bool) -> ! {
    // SAFETY (for every call below): raw system calls on fds and C strings
    // prepared by the parent before the clone; nothing allocates or locks.
    unsafe {
        if two_stage {
            for j in &plan.joins {
                if libc::setns(j.fd.as_raw_fd(), j.nstype) < 0 {
                    die(sync, step::SETNS);
                }
            }
            match clone_stage2(plan.new_flags as u64) {
                Err(_) => die(sync, step::CLONE_STAGE2),
                Ok(0) => {}
                Ok(pid) => {
                    let mut buf = [0u8; 16];
                    let n = encode_pre_frame(FRAME_PID, pid, 0, &mut buf);
                    libc::write(sync, buf.as_ptr().cast(), n);
                    libc::_exit(0);
                }
            }
        }

        // A clean signal mask: the parent may block signals for a signalfd.
        let empty: libc::sigset_t = std::mem::zeroed();
        if libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK,
            &empty as *const libc::sigset_t,
            std::ptr::null::<libc::sigset_t>(),
            8usize,
        ) < 0
        {
            die(sync, step::SIGMASK);
        }

        if plan.wait_maps {
            let mut b = [0u8; 1];
            loop {
                let n = libc::read(sync, b.as_mut_ptr().cast(), 1);
                if n == 1 {
                    break;
                }
                if n < 0 && nix::errno::Errno::last_raw() == libc::EINTR {
                    continue;
                }
                libc::_exit(127);
            }
        }
        if plan.become_root {
            if libc::syscall(libc::SYS_setresgid, 0, 0, 0) < 0
                || libc::syscall(libc::SYS_setresuid, 0, 0, 0) < 0
            {
                die(sync, step::SET_IDS);
            }
            // Drop the groups inherited from the host where the kernel lets us
            // (it refuses when setgroups is denied; the init sets groups later).
            libc::syscall(libc::SYS_setgroups, 0, std::ptr::null::<libc::gid_t>());
        }

        if let ExeGuard::ReadOnlyBind { path, keep_flags } = &plan.guard {
            // Our mounts are copies of the host's; make sure nothing we do
            // propagates back before binding anything.
            if libc::mount(
                std::ptr::null(),
                c"/".as_ptr(),
                std::ptr::null(),
                libc::MS_SLAVE | libc::MS_REC,
                std::ptr::null(),
            ) < 0
            {
                die(sync, step::MOUNT_PRIVATE);
            }
            if libc::mount(
                path.as_ptr(),
                path.as_ptr(),
                std::ptr::null(),
                libc::MS_BIND,
                std::ptr::null(),
            ) < 0
            {
                die(sync, step::GUARD_BIND);
            }
            if libc::mount(
                std::ptr::null(),
                path.as_ptr(),
                std::ptr::null(),
                libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY | keep_flags,
                std::ptr::null(),
            ) < 0
            {
                die(sync, step::GUARD_RDONLY);
            }
        }

        let sync_target = arrange_fds(&plan.fds, sync);

        match &plan.guard {
            ExeGuard::ReadOnlyBind { .. } => {
                libc::execve(
                    plan.exe.as_ptr(),
                    plan.argv_ptrs.as_ptr(),
                    plan.envp_ptrs.as_ptr(),
                );
            }
            ExeGuard::SealedMemfd(fd) => {
                // The memfd was not moved by arrange_fds only if it is below the
                // plan's range; it is CLOEXEC and closed by close_range otherwise,
                // so execute it before close: arrange_fds keeps it (see there).
                libc::syscall(
                    libc::SYS_execveat,
                    fd.as_raw_fd(),
                    c"".as_ptr(),
                    plan.argv_ptrs.as_ptr(),
                    plan.envp_ptrs.as_ptr(),
                    libc::AT_EMPTY_PATH,
                );
            }
        }
        die(sync_target, step::EXEC)
    }
}

/// Second stage clone: fork semantics, `CLONE_PARENT` so the runtime is its
/// parent, plus the new namespaces.
fn clone_stage2(new_flags: u64) -> Result<i32, i32> {
    clone_child(new_flags | libc::CLONE_PARENT as u64)
}

/// Moves every planned fd to its target, clears close-on-exec on them, and
/// closes everything else except a memfd guard (which is close-on-exec).
/// Returns the fd where the sync socket now is. Async-signal-safe.
///
/// # Safety
/// Only in the child before exec.
unsafe fn arrange_fds(fds: &[FdMap], sync: RawFd) -> RawFd {
    let n = fds.len() as RawFd;
    // First park every source above the target range, so that moving one into
    // place can never clobber another source.
    let mut parked = [-1 as RawFd; 64];
    // SAFETY: raw fcntl/dup3/close_range calls on plain integers.
    unsafe {
        for (i, f) in fds.iter().enumerate().take(parked.len()) {
            let p = libc::fcntl(f.source, libc::F_DUPFD_CLOEXEC, n.max(64));
            if p < 0 {
                die(sync, step::FDS);
            }
            parked[i] = p;
        }
        for (i, f) in fds.iter().enumerate().take(parked.len()) {
            if libc::dup3(parked[i], f.target, 0) < 0 {
                die(sync, step::FDS);
            }
        }
        let sync_target = fds
            .iter()
            .find(|f| f.source == sync)
            .map(|f| f.target)
            .unwrap_or(sync);
        // Close everything above the plan, except fds the exec itself needs:
        // those are close-on-exec anyway (parked copies, a memfd), so closing
        // the range with CLOSE_RANGE_CLOEXEC marks the rest instead of closing
        // a memfd we still have to execute.
        libc::syscall(
            libc::SYS_close_range,
            n as libc::c_uint,
            libc::c_uint::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        );
        sync_target
    }
}

/// Opens a namespace file for joining.
pub fn open_namespace(path: &Path) -> SysResult<OwnedFd> {
    let fd = nix::fcntl::open(
        path,
        nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .ctx_path("open namespace", "open", path)?;
    // SAFETY: fd was just opened and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The path of the running binary, for re-executing it as the init.
pub fn current_exe() -> SysResult<PathBuf> {
    std::fs::read_link("/proc/self/exe").ctx_path("find own binary", "readlink", "/proc/self/exe")
}
