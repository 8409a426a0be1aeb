//! The configured mounts.
//!
//! Each destination is created and resolved inside the rootfs with libpathrs,
//! so a symlink planted in the image cannot redirect a mount onto the host; the
//! mount then targets the resolved fd through `/proc/self/fd/N`.

use std::os::fd::AsFd;
use std::path::Path;

use nsinit_configs::Mount;
use pathrs::Root;

use super::bind::{bind, Target};
use super::{fd_path, mount, pathrs_err};
use crate::cgroups::HierarchyMount;
use crate::error::{SysError, SysResult};

/// What the mounts need to know about the container.
#[derive(Debug, Clone, Copy)]
pub struct MountContext<'a> {
    /// The container has its own user namespace (sysfs and device nodes need
    /// care there).
    pub in_userns: bool,
    /// The container has a new cgroup namespace.
    pub cgroupns: bool,
    /// The container has its own network namespace.
    pub netns: bool,
    /// The container's cgroup hierarchies (host mount points and directories).
    pub cgroups: &'a [HierarchyMount],
}

const MS_BIND: u64 = libc::MS_BIND as u64;
const MS_REC: u64 = libc::MS_REC as u64;
const MS_REMOUNT: u64 = libc::MS_REMOUNT as u64;
const MS_RDONLY: u64 = libc::MS_RDONLY as u64;

/// Flags that only make sense on the first mount call of a bind, not on its
/// remount.
const BIND_ONLY: u64 = MS_BIND | MS_REC;

/// Performs one configured mount inside `root`.
pub fn mount_one(root: &Root, m: &Mount, ctx: &MountContext<'_>) -> SysResult<()> {
    let step = format!("mount {}", m.destination);
    match m.device.as_str() {
        "cgroup" | "cgroup2" => return mount_cgroups(root, m, ctx),
        _ if m.is_bind() => return mount_bind(root, m, &step),
        _ => {}
    }
    let dest = Path::new(&m.destination);
    let handle = super::resolve::dir_all(root, &step, dest, 0o755)?;
    let target = fd_path(handle.as_fd());
    let data = (!m.data.is_empty()).then_some(m.data.as_str());
    let source = if m.source.is_empty() {
        m.device.as_str()
    } else {
        m.source.as_str()
    };
    let res = mount(
        &step,
        Some(source),
        &target,
        Some(&m.device),
        m.flags.0,
        data,
    );
    match res {
        Err(e)
            if m.device == "sysfs" && e.errno == libc::EPERM && (ctx.in_userns && !ctx.netns) =>
        {
            // A user namespace without its own network namespace may not mount
            // sysfs; bind the host's instead, read-only.
            bind(
                &step,
                Path::new("/sys"),
                Target::Fd(handle.as_fd()),
                m.flags.0 | MS_REC | MS_RDONLY,
            )?;
        }
        other => other?,
    }
    propagate(&step, &target, m)
}

fn propagate(step: &str, target: &Path, m: &Mount) -> SysResult<()> {
    for p in &m.propagation_flags {
        mount(step, None, target, None, p.ms_flags(), None)?;
    }
    Ok(())
}

/// A bind mount: the source is a host path (file or directory).
fn mount_bind(root: &Root, m: &Mount, step: &str) -> SysResult<()> {
    let src = Path::new(&m.source);
    let meta = std::fs::metadata(src).map_err(|e| SysError::io(step, "stat", &e).with_path(src))?;
    let dest = Path::new(&m.destination);
    let handle = if meta.is_dir() {
        super::resolve::dir_all(root, step, dest, 0o755)?
    } else {
        ensure_file(root, dest, step)?
    };
    bind(step, src, Target::Fd(handle.as_fd()), m.flags.0)?;
    // Propagation applies to the new mount: resolve again to reach it.
    if !m.propagation_flags.is_empty() {
        let mounted = root.resolve(dest).map_err(|e| pathrs_err(step, dest, e))?;
        propagate(step, &fd_path(mounted.as_fd()), m)?;
    }
    Ok(())
}

/// Creates (if needed) and resolves a file inside the root to mount onto.
pub fn ensure_file(root: &Root, dest: &Path, step: &str) -> SysResult<pathrs::Handle> {
    super::resolve::file(root, step, dest)
}

/// `/sys/fs/cgroup`: on a v1 or hybrid host a tmpfs holding one directory per
/// hierarchy; on a v2 host the unified tree. With a cgroup namespace each
/// hierarchy is mounted fresh (its root is the container's cgroup); without one
/// the container's own cgroup directories are bound from the host.
fn mount_cgroups(root: &Root, m: &Mount, ctx: &MountContext<'_>) -> SysResult<()> {
    let step = format!("mount {}", m.destination);
    let dest = Path::new(&m.destination);
    let handle = super::resolve::dir_all(root, &step, dest, 0o755)?;
    let target = fd_path(handle.as_fd());
    let ro = m.flags.0 & MS_RDONLY;
    let base_flags = m.flags.0 & !(MS_RDONLY | BIND_ONLY | MS_REMOUNT);

    let is_v2 = |h: &HierarchyMount| h.keys.iter().any(|k| k == crate::cgroups::UNIFIED);
    if let [only] = ctx.cgroups {
        if is_v2(only) {
            if ctx.cgroupns {
                mount(
                    &step,
                    Some("cgroup2"),
                    &target,
                    Some("cgroup2"),
                    base_flags | ro,
                    None,
                )?;
            } else {
                bind(
                    &step,
                    &only.dir,
                    Target::Fd(handle.as_fd()),
                    base_flags | ro,
                )?;
            }
            return Ok(());
        }
    }

    mount(
        &step,
        Some("tmpfs"),
        &target,
        Some("tmpfs"),
        base_flags,
        Some("mode=755"),
    )?;
    // One directory per hierarchy, named after its mount point on the host: a
    // co-mounted hierarchy (cpu,cpuacct) is one directory.
    for h in ctx.cgroups {
        let dir_name = match h.mount_point.file_name() {
            Some(n) => n.to_string_lossy().into_owned(),
            None => continue,
        };
        let sub = dest.join(&dir_name);
        let sub_handle = super::resolve::dir_all(root, &step, &sub, 0o755)?;
        let sub_target = fd_path(sub_handle.as_fd());
        if ctx.cgroupns {
            // A named hierarchy (name=systemd) has no controllers: "none".
            let data = if h.keys.iter().all(|k| k.starts_with("name=")) {
                format!("none,{}", h.keys.join(","))
            } else {
                h.keys.join(",")
            };
            let (fstype, data) = if is_v2(h) {
                ("cgroup2", None)
            } else {
                ("cgroup", Some(data.as_str()))
            };
            mount(
                &step,
                Some("cgroup"),
                &sub_target,
                Some(fstype),
                base_flags | ro,
                data,
            )?;
        } else {
            bind(
                &step,
                &h.dir,
                Target::Fd(sub_handle.as_fd()),
                base_flags | ro,
            )?;
        }
        // Co-mounted controllers get the usual convenience links (cpu -> cpu,cpuacct).
        if dir_name.contains(',') {
            for part in dir_name.split(',') {
                let link = dest.join(part);
                super::resolve::symlink(root, &step, &link, &dir_name, false)?;
            }
        }
    }
    if ro != 0 {
        // The handle above names the directory the tmpfs covers; resolve again
        // to reach the tmpfs itself.
        let mounted = root.resolve(dest).map_err(|e| pathrs_err(&step, dest, e))?;
        mount(
            &step,
            None,
            &fd_path(mounted.as_fd()),
            None,
            MS_REMOUNT | MS_RDONLY | base_flags,
            Some("mode=755"),
        )?;
    }
    Ok(())
}
