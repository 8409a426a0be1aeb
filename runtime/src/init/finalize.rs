//! The last steps of every init: limits, user, capabilities, working
//! directory, then exec of the user program.

use std::convert::Infallible;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::unistd::{AccessFlags, Gid, Uid};

use super::ProcessSpec;
use crate::error::{Context, SysError, SysResult};
use crate::{capabilities, rlimits, spawn, user};

/// The default search path when the process has no `PATH`.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A program ready to be executed.
#[derive(Debug)]
pub struct Prepared {
    path: CString,
    argv: Vec<CString>,
    envp: Vec<CString>,
}

/// Switches to the process's identity inside the container and resolves the
/// program, so that every error happens before the init reports ready.
pub fn prepare(p: &ProcessSpec) -> SysResult<Prepared> {
    rlimits::apply(&p.rlimits)?;
    let u = user::resolve_in_container(&p.user, &p.additional_groups)?;

    capabilities::drop_bounding(&p.capabilities)?;
    keep_caps(true)?;
    let groups: Vec<Gid> = u.groups.iter().map(|g| Gid::from_raw(*g)).collect();
    match nix::unistd::setgroups(&groups) {
        Ok(()) => {}
        // A user namespace whose setgroups is denied: keep what we have unless
        // groups were asked for.
        Err(nix::errno::Errno::EPERM) if groups.is_empty() => {}
        Err(e) => {
            return Err(
                SysError::new("set supplementary groups", "setgroups", e as i32)
                    .with_detail(format!("groups {:?}", u.groups)),
            )
        }
    }
    let gid = Gid::from_raw(u.gid);
    nix::unistd::setresgid(gid, gid, gid)
        .map_err(|e| SysError::new(format!("set gid {}", u.gid), "setresgid", e as i32))?;
    let uid = Uid::from_raw(u.uid);
    nix::unistd::setresuid(uid, uid, uid)
        .map_err(|e| SysError::new(format!("set uid {}", u.uid), "setresuid", e as i32))?;
    keep_caps(false)?;
    capabilities::apply_sets(&p.capabilities)?;

    let mut env: Vec<String> = p.env.clone();
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        env.push(format!("HOME={}", u.home));
    }
    let cwd = if p.cwd.is_empty() {
        "/"
    } else {
        p.cwd.as_str()
    };
    nix::unistd::chdir(cwd).ctx_path("change to the working directory", "chdir", cwd)?;

    let program = p
        .args
        .first()
        .ok_or_else(|| SysError::msg("exec", "no command given"))?;
    let path_var = env
        .iter()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or(DEFAULT_PATH)
        .to_string();
    let path = lookup(program, &path_var)?;

    if p.parent_death_signal != 0 {
        // After the switch of ids, which clears the setting.
        nix::sys::prctl::set_pdeathsig(
            nix::sys::signal::Signal::try_from(p.parent_death_signal).ok(),
        )
        .ctx("set parent death signal", "prctl PR_SET_PDEATHSIG")?;
    }

    let c = |s: &str| spawn::cstring(std::ffi::OsStr::new(s));
    Ok(Prepared {
        path: spawn::cstring(path.as_os_str())?,
        argv: p.args.iter().map(|a| c(a)).collect::<SysResult<_>>()?,
        envp: env.iter().map(|e| c(e)).collect::<SysResult<_>>()?,
    })
}

fn keep_caps(on: bool) -> SysResult<()> {
    nix::sys::prctl::set_keepcaps(on)
        .ctx("keep capabilities across setuid", "prctl PR_SET_KEEPCAPS")
}

/// Finds `program` like a shell: a name with a slash is used as is, otherwise
/// the first executable file of that name in `path_var`.
pub fn lookup(program: &str, path_var: &str) -> SysResult<PathBuf> {
    let check = |p: &Path| -> Result<(), i32> {
        let meta = std::fs::metadata(p).map_err(|e| e.raw_os_error().unwrap_or(libc::ENOENT))?;
        if meta.is_dir() {
            return Err(libc::EISDIR);
        }
        nix::unistd::access(p, AccessFlags::X_OK).map_err(|e| e as i32)
    };
    if program.contains('/') {
        let p = PathBuf::from(program);
        return match check(&p) {
            Ok(()) => Ok(p),
            Err(errno) => Err(SysError::new(format!("exec {program:?}"), "stat", errno)
                .with_detail("the program cannot be executed in the container")),
        };
    }
    let mut denied = None;
    for dir in path_var.split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let candidate = Path::new(dir).join(program);
        match check(&candidate) {
            Ok(()) => return Ok(candidate),
            Err(libc::EACCES) => denied = Some(candidate),
            Err(_) => {}
        }
    }
    Err(match denied {
        Some(p) => SysError::new(format!("exec {program:?}"), "access", libc::EACCES).with_path(p),
        None => SysError::msg(
            format!("exec {program:?}"),
            format!("executable file not found in $PATH ({path_var})"),
        ),
    })
}

/// The final step: no_new_privileges, default signal dispositions, stray fds
/// closed, then `execve`. Returns only on failure.
pub fn exec(prepared: &Prepared, p: &ProcessSpec) -> SysResult<Infallible> {
    if p.no_new_privileges {
        nix::sys::prctl::set_no_new_privs()
            .ctx("set no_new_privileges", "prctl PR_SET_NO_NEW_PRIVS")?;
    }
    // The Rust runtime ignores SIGPIPE; an ignored signal survives exec, so hand
    // the program the default.
    // SAFETY: installing SIG_DFL for SIGPIPE is always sound.
    unsafe {
        let _ = nix::sys::signal::signal(
            nix::sys::signal::Signal::SIGPIPE,
            nix::sys::signal::SigHandler::SigDfl,
        );
    }
    // Nothing of ours beyond stdio and the preserved fds may reach the program.
    let first = 3 + p.preserved_fds.max(0) as libc::c_uint;
    // SAFETY: close_range only marks fds close-on-exec; no memory is involved.
    unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first,
            libc::c_uint::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        );
    }
    let err = nix::unistd::execve(&prepared.path, &prepared.argv, &prepared.envp)
        .err()
        .map(|e| e as i32)
        .unwrap_or(0);
    Err(SysError::new(
        format!(
            "exec {:?}",
            prepared
                .argv
                .first()
                .map(|a| a.to_string_lossy().into_owned())
                .unwrap_or_default()
        ),
        "execve",
        err,
    )
    .with_path(Path::new(std::ffi::OsStr::from_bytes(
        prepared.path.as_bytes(),
    ))))
}
