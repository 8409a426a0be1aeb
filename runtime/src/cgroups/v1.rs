//! cgroup v1: applying the config through the typed controllers of
//! `cgroups-rs` (one directory per hierarchy).
//!
//! The setters of `cgroups-rs` are called one by one rather than through its
//! `Cgroup::apply(&Resources)`: that entry point discards the errors of the
//! memory, cpuset and blkio controllers (`let _ = ...`) and reports a cpu
//! failure without the file or value, so a value the kernel refuses would go
//! unnoticed. Calling the setters keeps every kernel error, and
//! [`fsutil::crate_set`] adds the file, the value and the errno.

use std::path::{Path, PathBuf};

use cgroups_rs::fs::blkio::BlkIoController;
use cgroups_rs::fs::cpu::CpuController;
use cgroups_rs::fs::cpuacct::CpuAcctController;
use cgroups_rs::fs::cpuset::CpuSetController;
use cgroups_rs::fs::devices::{DevicePermissions, DeviceType, DevicesController};
use cgroups_rs::fs::freezer::FreezerController;
use cgroups_rs::fs::memory::MemController;
use cgroups_rs::fs::pid::PidController;
use cgroups_rs::fs::{Controller, MaxValue};
use nsinit_configs::{Cgroups, DeviceType as ConfigDeviceType};

use super::error::CgroupError;
use super::fsutil::{self, crate_set};
use super::CgroupPaths;

/// Handles on the `cgroups-rs` controllers of one container, each pointing at
/// the container's directory of that controller. On v2 the ones that work
/// there (freezer, pids, memory and cpu statistics) point at the unified
/// directory.
#[derive(Debug, Clone, Default)]
pub(crate) struct Controllers {
    pub cpu: Option<CpuController>,
    pub cpuacct: Option<CpuAcctController>,
    pub cpuset: Option<CpuSetController>,
    pub memory: Option<MemController>,
    pub devices: Option<DevicesController>,
    pub freezer: Option<FreezerController>,
    pub blkio: Option<BlkIoController>,
    pub pids: Option<PidController>,
}

impl Controllers {
    /// The v1 controllers found in `paths`.
    pub fn v1(paths: &CgroupPaths) -> Self {
        let dir = |k: &str| paths.get(k).map(Path::to_path_buf);
        let base = PathBuf::from("/");
        Controllers {
            cpu: dir("cpu").map(|d| CpuController::new(d, base.clone(), false)),
            cpuacct: dir("cpuacct").map(|d| CpuAcctController::new(d, base.clone())),
            cpuset: dir("cpuset").map(|d| CpuSetController::new(d, base.clone(), false)),
            memory: dir("memory").map(|d| MemController::new(d, base.clone(), false)),
            devices: dir("devices").map(|d| DevicesController::new(d, base.clone())),
            freezer: dir("freezer").map(|d| FreezerController::new(d, base.clone(), false)),
            blkio: dir("blkio").map(|d| BlkIoController::new(d, base.clone(), false)),
            pids: dir("pids").map(|d| PidController::new(d, base.clone(), false)),
        }
    }

    /// The controllers used on a v2 cgroup `dir` (freezer and pids; the
    /// resource files are written by `v2.rs`).
    pub fn v2(dir: &Path) -> Self {
        let base = PathBuf::from("/");
        Controllers {
            freezer: Some(FreezerController::new(
                dir.to_path_buf(),
                base.clone(),
                true,
            )),
            pids: Some(PidController::new(dir.to_path_buf(), base, true)),
            ..Default::default()
        }
    }
}

/// The controller a setting needs, or a clear error when it is not mounted.
fn need<'a, T>(
    c: &'a Option<T>,
    controller: &'static str,
    setting: &'static str,
) -> Result<&'a T, CgroupError> {
    c.as_ref().ok_or(CgroupError::MissingController {
        controller,
        setting,
    })
}

/// Applies everything of `r` that is set (`Some`, non-zero, non-empty) to
/// the v1 hierarchies. A value of 0 counts as "not set", as in runc.
pub(crate) fn apply(c: &Controllers, r: &Cgroups) -> Result<(), CgroupError> {
    cpuset(c, r)?;
    memory(c, r)?;
    cpu(c, r)?;
    blkio(c, r)?;
    pids(c, r)?;
    devices(c, r)
}

fn cpuset(c: &Controllers, r: &Cgroups) -> Result<(), CgroupError> {
    if !r.cpuset_cpus.is_empty() {
        let cs = need(&c.cpuset, "cpuset", "cpuset_cpus")?;
        crate_set(
            cs.path(),
            "cpuset.cpus",
            &r.cpuset_cpus,
            cs.set_cpus(&r.cpuset_cpus),
        )?;
    }
    if !r.cpuset_mems.is_empty() {
        let cs = need(&c.cpuset, "cpuset", "cpuset_mems")?;
        crate_set(
            cs.path(),
            "cpuset.mems",
            &r.cpuset_mems,
            cs.set_mems(&r.cpuset_mems),
        )?;
    }
    Ok(())
}

fn memory(c: &Controllers, r: &Cgroups) -> Result<(), CgroupError> {
    let limit = r.memory.filter(|&v| v != 0);
    let swap = r.memory_swap.filter(|&v| v != 0);
    let reservation = r.memory_reservation.filter(|&v| v != 0);
    if limit.is_none()
        && swap.is_none()
        && reservation.is_none()
        && r.memory_swappiness.is_none()
        && !r.oom_kill_disable
    {
        return Ok(());
    }
    let setting = [
        ("memory", limit.is_some()),
        ("memory_swap", swap.is_some()),
        ("memory_reservation", reservation.is_some()),
        ("memory_swappiness", r.memory_swappiness.is_some()),
    ]
    .iter()
    .find(|(_, set)| *set)
    .map_or("oom_kill_disable", |(name, _)| *name);
    let mc = need(&c.memory, "memory", setting)?;
    let dir = mc.path();
    let set_limit = |v: i64| {
        crate_set(
            dir,
            "memory.limit_in_bytes",
            &v.to_string(),
            mc.set_limit(v),
        )
    };
    let set_swap = |v: i64| {
        crate_set(
            dir,
            "memory.memsw.limit_in_bytes",
            &v.to_string(),
            mc.set_memswap_limit(v),
        )
    };
    match (limit, swap) {
        (Some(l), None) => set_limit(l)?,
        (l, Some(s)) => {
            // The kernel keeps memsw >= memory at every step: raise memsw
            // first when it grows past the current memory limit, else lower
            // the memory limit first.
            let current = fsutil::read_file(dir, "memory.limit_in_bytes")?;
            let current: u64 = fsutil::parse_u64(dir, "memory.limit_in_bytes", &current)?;
            let swap_first = s < 0 || u64::try_from(s).map_or(true, |s| s >= current);
            if swap_first {
                set_swap(s)?;
                if let Some(l) = l {
                    set_limit(l)?;
                }
            } else {
                if let Some(l) = l {
                    set_limit(l)?;
                }
                set_swap(s)?;
            }
        }
        (None, None) => {}
    }
    if let Some(v) = reservation {
        crate_set(
            dir,
            "memory.soft_limit_in_bytes",
            &v.to_string(),
            mc.set_soft_limit(v),
        )?;
    }
    if let Some(v) = r.memory_swappiness {
        if v > 100 {
            return Err(CgroupError::InvalidValue {
                setting: "memory_swappiness",
                value: v.to_string(),
                reason: "must be 0..=100".to_string(),
            });
        }
        crate_set(
            dir,
            "memory.swappiness",
            &v.to_string(),
            mc.set_swappiness(v),
        )?;
    }
    if r.oom_kill_disable {
        crate_set(dir, "memory.oom_control", "1", mc.disable_oom_killer())?;
    }
    Ok(())
}

fn cpu(c: &Controllers, r: &Cgroups) -> Result<(), CgroupError> {
    let nz_u = |v: Option<u64>| v.filter(|&v| v != 0);
    let nz_i = |v: Option<i64>| v.filter(|&v| v != 0);
    let settings = [
        ("cpu_shares", nz_u(r.cpu_shares).is_some()),
        ("cpu_period", nz_u(r.cpu_period).is_some()),
        ("cpu_quota", nz_i(r.cpu_quota).is_some()),
        ("cpu_rt_period", nz_u(r.cpu_rt_period).is_some()),
        ("cpu_rt_runtime", nz_i(r.cpu_rt_runtime).is_some()),
    ];
    let Some((first, _)) = settings.iter().find(|(_, set)| *set) else {
        return Ok(());
    };
    let cc = need(&c.cpu, "cpu", first)?;
    let dir = cc.path();
    if let Some(v) = nz_u(r.cpu_shares) {
        crate_set(dir, "cpu.shares", &v.to_string(), cc.set_shares(v))?;
    }
    // Period before quota, as the quota is checked against it.
    if let Some(v) = nz_u(r.cpu_period) {
        crate_set(
            dir,
            "cpu.cfs_period_us",
            &v.to_string(),
            cc.set_cfs_period(v),
        )?;
    }
    if let Some(v) = nz_i(r.cpu_quota) {
        let v = if v < 0 { -1 } else { v };
        crate_set(dir, "cpu.cfs_quota_us", &v.to_string(), cc.set_cfs_quota(v))?;
    }
    if let Some(v) = nz_u(r.cpu_rt_period) {
        crate_set(
            dir,
            "cpu.rt_period_us",
            &v.to_string(),
            cc.set_rt_period_us(v),
        )?;
    }
    if let Some(v) = nz_i(r.cpu_rt_runtime) {
        crate_set(
            dir,
            "cpu.rt_runtime_us",
            &v.to_string(),
            cc.set_rt_runtime(v),
        )?;
    }
    Ok(())
}

fn blkio(c: &Controllers, r: &Cgroups) -> Result<(), CgroupError> {
    let weight = r.blkio_weight.filter(|&w| w != 0);
    let lists = [
        (
            &r.blkio_throttle_read_bps_device,
            "blkio.throttle.read_bps_device",
        ),
        (
            &r.blkio_throttle_write_bps_device,
            "blkio.throttle.write_bps_device",
        ),
        (
            &r.blkio_throttle_read_iops_device,
            "blkio.throttle.read_iops_device",
        ),
        (
            &r.blkio_throttle_write_iops_device,
            "blkio.throttle.write_iops_device",
        ),
    ];
    if weight.is_none() && lists.iter().all(|(l, _)| l.is_empty()) {
        return Ok(());
    }
    let setting = if weight.is_some() {
        "blkio_weight"
    } else {
        "blkio_throttle_*_device"
    };
    let bc = need(&c.blkio, "blkio", setting)?;
    let dir = bc.path();
    if let Some(w) = weight {
        let value = w.to_string();
        if !dir.join("blkio.weight").exists() && dir.join("blkio.bfq.weight").exists() {
            // CFQ's blkio.weight, the only weight file cgroups-rs knows on
            // v1, is gone since Linux 5.0; BFQ's file takes the same scale.
            fsutil::write_file(dir, "blkio.bfq.weight", &value)?;
        } else {
            crate_set(dir, "blkio.weight", &value, bc.set_weight(u64::from(w)))?;
        }
    }
    for (list, file) in lists {
        for d in list {
            let value = format!("{}:{} {}", d.major, d.minor, d.rate);
            let result = match file {
                "blkio.throttle.read_bps_device" => {
                    bc.throttle_read_bps_for_device(d.major, d.minor, d.rate)
                }
                "blkio.throttle.write_bps_device" => {
                    bc.throttle_write_bps_for_device(d.major, d.minor, d.rate)
                }
                "blkio.throttle.read_iops_device" => {
                    bc.throttle_read_iops_for_device(d.major, d.minor, d.rate)
                }
                _ => bc.throttle_write_iops_for_device(d.major, d.minor, d.rate),
            };
            crate_set(dir, file, &value, result)?;
        }
    }
    Ok(())
}

fn pids(c: &Controllers, r: &Cgroups) -> Result<(), CgroupError> {
    let max = match r.pids_limit {
        Some(n) if n > 0 => MaxValue::Value(n),
        Some(n) if n < 0 => MaxValue::Max,
        _ => return Ok(()),
    };
    let pc = need(&c.pids, "pids", "pids_limit")?;
    crate_set(pc.path(), "pids.max", &max.to_string(), pc.set_pid_max(max))
}

/// The text `cgroups-rs` writes for a rule (`c 1:3 rwm`, `a *:* rwm`).
fn rule_text(kind: char, major: i64, minor: i64, perms: &str) -> String {
    let num = |n: i64| {
        if n < 0 {
            "*".to_string()
        } else {
            n.to_string()
        }
    };
    format!("{kind} {}:{} {perms}", num(major), num(minor))
}

/// Device rules: unless `allow_all_devices`, everything is denied first and
/// then each rule is applied in order (`allow: false` rules deny). FIFO
/// rules are skipped: the devices controller does not govern FIFOs. With no
/// rules and `allow_all_devices` false nothing is touched (a live update that
/// does not mention devices).
fn devices(c: &Controllers, r: &Cgroups) -> Result<(), CgroupError> {
    if !r.allow_all_devices && r.allowed_devices.is_empty() {
        return Ok(());
    }
    let setting = if r.allow_all_devices {
        "allow_all_devices"
    } else {
        "allowed_devices"
    };
    let dc = need(&c.devices, "devices", setting)?;
    let dir = dc.path();
    let all = DevicePermissions::all();
    if r.allow_all_devices {
        let text = rule_text('a', -1, -1, "rwm");
        return crate_set(
            dir,
            "devices.allow",
            &text,
            dc.allow_device(DeviceType::All, -1, -1, &all),
        );
    }
    let text = rule_text('a', -1, -1, "rwm");
    crate_set(
        dir,
        "devices.deny",
        &text,
        dc.deny_device(DeviceType::All, -1, -1, &all),
    )?;
    for d in &r.allowed_devices {
        let kind = match d.kind {
            ConfigDeviceType::Char => DeviceType::Char,
            ConfigDeviceType::Block => DeviceType::Block,
            ConfigDeviceType::All => DeviceType::All,
            ConfigDeviceType::Fifo => continue,
        };
        let perms_text = if d.permissions.is_empty() {
            "rwm"
        } else {
            d.permissions.as_str()
        };
        let perms =
            DevicePermissions::from_str(perms_text).map_err(|_| CgroupError::InvalidValue {
                setting: "allowed_devices",
                value: d.cgroup_rule(),
                reason: "permissions must be made of r, w and m".to_string(),
            })?;
        let major = if d.major < 0 { -1 } else { d.major };
        let minor = if d.minor < 0 { -1 } else { d.minor };
        let text = rule_text(kind.to_char(), major, minor, perms_text);
        if d.allow {
            crate_set(
                dir,
                "devices.allow",
                &text,
                dc.allow_device(kind, major, minor, &perms),
            )?;
        } else {
            crate_set(
                dir,
                "devices.deny",
                &text,
                dc.deny_device(kind, major, minor, &perms),
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_texts() {
        assert_eq!(rule_text('c', 1, 3, "rwm"), "c 1:3 rwm");
        assert_eq!(rule_text('c', 136, -1, "rw"), "c 136:* rw");
        assert_eq!(rule_text('a', -1, -1, "rwm"), "a *:* rwm");
    }

    #[test]
    fn missing_controller_is_named() {
        let r = Cgroups {
            pids_limit: Some(10),
            ..Default::default()
        };
        let e = apply(&Controllers::default(), &r).unwrap_err();
        assert_eq!(
            e.to_string(),
            "pids_limit needs the pids cgroup controller, which is not mounted"
        );
    }
}
