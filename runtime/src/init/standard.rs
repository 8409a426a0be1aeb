//! The init of a new container, in the order of libcontainer's standard init.

// The MS_* flags are c_ulong, which is u64 only on 64-bit targets: the casts
// are needed elsewhere.
#![allow(clippy::unnecessary_cast)]

use std::convert::Infallible;
use std::io::Read;
use std::os::fd::BorrowedFd;
use std::path::Path;

use nix::sched::CloneFlags;
use nix::sys::stat::Mode;
use nsinit_configs::{Config, NamespaceType, NetworkType, Propagation};
use pathrs::Root;

use super::{finalize, InitRequest};
use crate::error::{Context, SysError, SysResult};
use crate::rootfs::{self, devices, mounts, paths, pivot};
use crate::sync::{Message, SyncChannel};
use crate::{hooks, network};

/// Runs the standard init; returns only with an error.
pub fn run(req: &InitRequest, chan: &mut SyncChannel) -> SysResult<Infallible> {
    let cfg = &req.config;
    // Exact modes for the nodes and directories we create; 0022 comes back
    // before the user program runs.
    nix::sys::stat::umask(Mode::empty());

    if let Some(fd) = req.mount_ns_fd {
        join_mount_ns(fd)?;
    }
    if req.unshare_cgroupns {
        nix::sched::unshare(CloneFlags::CLONE_NEWCGROUP)
            .ctx("create cgroup namespace", "unshare CLONE_NEWCGROUP")?;
    }
    // Opened now, while the state directory is reachable; waited on at the end.
    let fifo = match &req.exec_fifo {
        Some(p) => Some(
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(p)
                .ctx_path("open exec fifo", "open", p)?,
        ),
        None => None,
    };
    if req.process.terminal {
        become_terminal_owner()?;
    } else {
        // Session leader in any case (as runc's init): CRIU refuses to dump a
        // pid namespace whose init belongs to a session outside of it.
        nix::unistd::setsid().ctx("create a session", "setsid")?;
    }

    let new_netns = cfg
        .namespace(NamespaceType::Net)
        .is_some_and(|n| n.path.is_empty());
    if new_netns {
        network::setup_inside(&cfg.networks, &req.veths, &cfg.routes)
            .map_err(|e| SysError::msg("set up network", e.to_string()))?;
    } else if cfg.networks.iter().any(|n| n.kind == NetworkType::Veth) {
        return Err(SysError::msg(
            "set up network",
            "veth networks need a new network namespace (NEWNET without a path)",
        ));
    }

    let new_mountns = req.mount_ns_fd.is_none();
    let rootfs = Path::new(&cfg.rootfs);
    if new_mountns {
        prepare_rootfs(req, rootfs)?;
    }

    if req.parent_hooks {
        chan.send(&Message::RunHooks)?;
        match chan.recv_message("wait for the runtime's hooks")? {
            Message::HooksDone => {}
            other => {
                return Err(SysError::msg(
                    "wait for the runtime's hooks",
                    format!("unexpected message {other:?}"),
                ))
            }
        }
    }
    hooks::run(
        "createContainer",
        &cfg.hooks.create_container,
        &req.hook_state,
    )?;

    if new_mountns {
        switch_root(cfg, rootfs)?;
        finish_rootfs(cfg)?;
    }

    if !cfg.hostname.is_empty() {
        nix::unistd::sethostname(&cfg.hostname).map_err(|e| {
            SysError::new("set hostname", "sethostname", e as i32).with_detail(cfg.hostname.clone())
        })?;
    }
    write_sysctls(cfg)?;
    paths::readonly_paths(&cfg.readonly_paths)?;
    paths::mask_paths(&cfg.mask_paths)?;
    if cfg.readonlyfs {
        paths::readonly_root()?;
    }
    nix::sys::stat::umask(Mode::from_bits_truncate(0o022));
    if let Some(adj) = cfg.oom_score_adj {
        std::fs::write("/proc/self/oom_score_adj", adj.to_string()).ctx_path(
            "set oom_score_adj",
            "write",
            "/proc/self/oom_score_adj",
        )?;
    }
    apply_labels(&req.process.apparmor_profile, &req.process.process_label)?;

    let seccomp = crate::seccomp::stage_filter(req.seccomp.clone(), &req.process)?;
    let prepared = finalize::prepare(&req.process)?;
    chan.send(&Message::Ready)?;
    match fifo {
        Some(mut f) => {
            let mut b = [0u8; 1];
            f.read_exact(&mut b)
                .ctx("wait for start (exec fifo)", "read")?;
        }
        None => super::wait_start(chan)?,
    }
    hooks::run(
        "startContainer",
        &cfg.hooks.start_container,
        &req.hook_state,
    )?;
    seccomp.load()?;
    finalize::exec(&prepared, &req.process)
}

/// Joins the mount namespace open at `fd`.
pub fn join_mount_ns(fd: i32) -> SysResult<()> {
    // SAFETY: the runtime placed an open namespace fd at this number.
    let bfd = unsafe { BorrowedFd::borrow_raw(fd) };
    nix::sched::setns(bfd, CloneFlags::CLONE_NEWNS).ctx("join mount namespace", "setns")?;
    let _ = nix::unistd::close(fd);
    Ok(())
}

/// Makes the terminal on stdin our controlling terminal, in a new session.
pub fn become_terminal_owner() -> SysResult<()> {
    nix::unistd::setsid().ctx("set up terminal", "setsid")?;
    // SAFETY: TIOCSCTTY on fd 0 with argument 0 (do not steal).
    if unsafe { libc::ioctl(0, libc::TIOCSCTTY, 0) } < 0 {
        return Err(SysError::new(
            "set up terminal",
            "ioctl TIOCSCTTY",
            nix::errno::Errno::last_raw(),
        ));
    }
    Ok(())
}

/// Steps 1-4 of the rootfs: propagation, self-bind, mounts, devices, links.
fn prepare_rootfs(req: &InitRequest, rootfs: &Path) -> SysResult<()> {
    let cfg = &req.config;
    let meta = std::fs::metadata(rootfs).ctx_path("open rootfs", "stat", rootfs)?;
    if !meta.is_dir() {
        return Err(SysError::new("open rootfs", "stat", libc::ENOTDIR).with_path(rootfs));
    }
    let prop = cfg.rootfs_propagation.unwrap_or(Propagation::Rslave);
    let base = match prop {
        Propagation::Shared | Propagation::Rshared => Propagation::Rslave,
        p => p,
    };
    rootfs::mount(
        "set root propagation",
        None,
        Path::new("/"),
        None,
        base.ms_flags() | libc::MS_REC as u64,
        None,
    )?;
    let rootfs_s = rootfs.to_string_lossy();
    rootfs::mount(
        "bind rootfs onto itself",
        Some(&rootfs_s),
        rootfs,
        None,
        (libc::MS_BIND | libc::MS_REC) as u64,
        None,
    )?;
    let root = Root::open(rootfs).map_err(|e| rootfs::pathrs_err("open rootfs", rootfs, e))?;
    let in_userns = cfg.has_namespace(NamespaceType::User);
    let ctx = mounts::MountContext {
        in_userns,
        cgroupns: cfg.has_namespace(NamespaceType::Cgroup),
        netns: cfg.has_namespace(NamespaceType::Net),
        cgroups: &req.cgroups,
    };
    for m in &cfg.mounts {
        mounts::mount_one(&root, m, &ctx)?;
    }
    devices::create_devices(&root, &cfg.devices, in_userns)?;
    devices::create_links(&root)?;
    if req.process.terminal {
        devices::bind_console(&root, 0)?;
    }
    Ok(())
}

/// Step 5: pivot_root, or move + chroot.
fn switch_root(cfg: &Config, rootfs: &Path) -> SysResult<()> {
    if cfg.no_pivot_root {
        return pivot::move_root(rootfs);
    }
    match pivot::pivot_root(rootfs) {
        Err(e) if pivot::cannot_pivot(&e) => pivot::move_root(rootfs),
        other => other,
    }
}

/// After the switch: a shared root if asked for.
fn finish_rootfs(cfg: &Config) -> SysResult<()> {
    if let Some(p @ (Propagation::Shared | Propagation::Rshared)) = cfg.rootfs_propagation {
        rootfs::mount(
            "set root propagation",
            None,
            Path::new("/"),
            None,
            p.ms_flags(),
            None,
        )?;
    }
    Ok(())
}

/// Writes each sysctl under `/proc/sys` of the container.
fn write_sysctls(cfg: &Config) -> SysResult<()> {
    for (key, value) in &cfg.sysctl {
        let path = Path::new("/proc/sys").join(key.replace('.', "/"));
        std::fs::write(&path, value.as_bytes()).ctx_path(
            &format!("set sysctl {key}={value}"),
            "write",
            &path,
        )?;
    }
    Ok(())
}

/// AppArmor profile and SELinux label for the exec, where the host has them.
pub fn apply_labels(apparmor: &str, selinux: &str) -> SysResult<()> {
    if !apparmor.is_empty() {
        let enabled = std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
            .map(|s| s.trim() == "Y")
            .unwrap_or(false);
        if !enabled {
            return Err(SysError::msg(
                "apply AppArmor profile",
                format!("profile {apparmor:?} requested but AppArmor is not enabled on this host"),
            ));
        }
        let attr = if Path::new("/proc/self/attr/apparmor/exec").exists() {
            "/proc/self/attr/apparmor/exec"
        } else {
            "/proc/self/attr/exec"
        };
        std::fs::write(attr, format!("exec {apparmor}")).ctx_path(
            "apply AppArmor profile",
            "write",
            attr,
        )?;
    }
    if !selinux.is_empty() {
        if !Path::new("/sys/fs/selinux/enforce").exists() {
            return Err(SysError::msg(
                "apply SELinux label",
                format!("label {selinux:?} requested but SELinux is not enabled on this host"),
            ));
        }
        std::fs::write("/proc/self/attr/exec", selinux).ctx_path(
            "apply SELinux label",
            "write",
            "/proc/self/attr/exec",
        )?;
    }
    Ok(())
}
