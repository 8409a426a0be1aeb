//! cgroup v2: how the config's values become writes to the unified tree, and
//! how a cgroup is made so that its controllers are available.
//!
//! Written by hand rather than through `cgroups-rs`:
//! - its v2 hierarchy and `Cgroup::create` are hard-wired to `/sys/fs/cgroup`
//!   (a tree mounted elsewhere cannot be used) and enable controllers read
//!   from that fixed path;
//! - several of its v2 writers put v1 values into v2 files unchanged: cpu
//!   shares into `cpu.weight` (a different scale), memory+swap into
//!   `memory.swap.max` (which is swap only), swappiness into
//!   `memory.swap.max`, `-1` into `memory.low`;
//! - keeping the formatting in pure functions ([`plan`]) makes every value
//!   testable on a machine that has no v2 controllers.
//!
//! The conversions follow runc's (`ConvertCPUSharesToCgroupV2Value`,
//! `ConvertMemorySwapToCgroupV2Value`, `ConvertBlkIOToIOWeightValue`).

use std::path::Path;

use nsinit_configs::Cgroups;

use super::error::CgroupError;
use super::fsutil;
use super::mountinfo::in_cgroupfs;

/// One write of the plan: the text `value` into the file `file` of the
/// container's cgroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Write {
    pub file: &'static str,
    pub value: String,
}

fn w(file: &'static str, value: impl Into<String>) -> Write {
    Write {
        file,
        value: value.into(),
    }
}

/// Reads a file of the cgroup as it is now (`None`: no such file); the few
/// settings whose v2 value depends on the current state ask through this.
pub(crate) type Current<'a> = &'a dyn Fn(&'static str) -> Result<Option<String>, CgroupError>;

/// Converts v1 cpu shares (2..=262144, default 1024) to v2 `cpu.weight`
/// (1..=10000, default 100), linearly as runc does; 0 means "not set".
///
/// `1024` becomes `39`, the extremes map onto each other.
pub(crate) fn cpu_shares_to_weight(shares: u64) -> u64 {
    if shares == 0 {
        return 0;
    }
    let s = shares.clamp(2, 262_144);
    1 + ((s - 2) * 9999) / 262_142
}

/// Converts a v1 blkio weight (10..=1000) to v2 `io.weight` (1..=10000).
pub(crate) fn blkio_weight_to_io_weight(weight: u16) -> u64 {
    let w = u64::from(weight.clamp(10, 1000));
    1 + ((w - 10) * 9999) / 990
}

/// A byte limit for a v2 `*.max` / `memory.low` file: `-1` is `max`.
fn limit_value(setting: &'static str, v: i64) -> Result<String, CgroupError> {
    match v {
        -1 => Ok("max".to_string()),
        v if v < 0 => Err(CgroupError::InvalidValue {
            setting,
            value: v.to_string(),
            reason: "must be -1 (unlimited) or a number of bytes".to_string(),
        }),
        v => Ok(v.to_string()),
    }
}

/// The quota half of `cpu.max`: a positive quota, or `max` (unlimited).
fn quota_token(q: i64) -> String {
    if q > 0 {
        q.to_string()
    } else {
        "max".to_string()
    }
}

/// `memory.swap.max` from the config's memory+swap limit (`memory_swap`) and
/// memory limit, both as v1 understands them (`-1`: unlimited).
pub(crate) fn swap_max_value(memory_swap: i64, memory: i64) -> Result<String, CgroupError> {
    let bad = |reason: &str| CgroupError::InvalidValue {
        setting: "memory_swap",
        value: memory_swap.to_string(),
        reason: reason.to_string(),
    };
    match (memory_swap, memory) {
        (-1, _) => Ok("max".to_string()),
        (s, _) if s < 0 => Err(bad("must be -1 (unlimited) or a number of bytes")),
        (_, m) if m <= 0 => Err(bad(
            "on cgroup v2 a swap limit needs a memory limit (memory.swap.max = memory_swap - memory)",
        )),
        (s, m) if s < m => Err(bad(&format!("must be at least the memory limit ({m})"))),
        (s, m) => Ok((s - m).to_string()),
    }
}

/// The writes that apply `r` to a v2 cgroup, in order. Only what is set
/// (`Some`, non-zero, non-empty) is written, so the same plan serves the
/// first setup and live updates. Device rules and the freezer are not part of
/// it (see `devices_bpf` and the freezer module).
pub(crate) fn plan(r: &Cgroups, current: Current<'_>) -> Result<Vec<Write>, CgroupError> {
    let mut out = Vec::new();
    let unsupported = |setting: &'static str, value: String, reason: &'static str| {
        Err(CgroupError::UnsupportedV2 {
            setting,
            value,
            reason,
        })
    };

    if !r.cpuset_cpus.is_empty() {
        out.push(w("cpuset.cpus", r.cpuset_cpus.clone()));
    }
    if !r.cpuset_mems.is_empty() {
        out.push(w("cpuset.mems", r.cpuset_mems.clone()));
    }

    // memory
    let memory = r.memory.filter(|&m| m != 0);
    if let Some(m) = memory {
        out.push(w("memory.max", limit_value("memory", m)?));
    }
    if let Some(s) = r.memory_swap.filter(|&s| s != 0) {
        let mem = match memory {
            Some(m) => m,
            None => match current("memory.max")? {
                Some(v) if v == "max" => -1,
                Some(v) => v.parse().unwrap_or(-1),
                None => -1,
            },
        };
        out.push(w("memory.swap.max", swap_max_value(s, mem)?));
    }
    if let Some(res) = r.memory_reservation.filter(|&v| v != 0) {
        out.push(w("memory.low", limit_value("memory_reservation", res)?));
    }
    if let Some(s) = r.memory_swappiness {
        return unsupported(
            "memory_swappiness",
            s.to_string(),
            "cgroup v2 has no per-cgroup swappiness",
        );
    }
    if r.oom_kill_disable {
        return unsupported(
            "oom_kill_disable",
            "true".to_string(),
            "cgroup v2 cannot disable the OOM killer",
        );
    }

    // cpu
    if let Some(shares) = r.cpu_shares.filter(|&s| s != 0) {
        out.push(w("cpu.weight", cpu_shares_to_weight(shares).to_string()));
    }
    match (
        r.cpu_quota.filter(|&q| q != 0),
        r.cpu_period.filter(|&p| p != 0),
    ) {
        (None, None) => {}
        (Some(q), Some(p)) => out.push(w("cpu.max", format!("{} {p}", quota_token(q)))),
        // One number updates only the quota; the kernel keeps the period.
        (Some(q), None) => out.push(w("cpu.max", quota_token(q))),
        // The period alone cannot be written: keep the current quota.
        (None, Some(p)) => {
            let cur = current("cpu.max")?.unwrap_or_default();
            let q = cur.split_whitespace().next().unwrap_or("max").to_string();
            out.push(w("cpu.max", format!("{q} {p}")));
        }
    }
    if let Some(v) = r.cpu_rt_runtime {
        return unsupported(
            "cpu_rt_runtime",
            v.to_string(),
            "cgroup v2 has no real-time bandwidth control",
        );
    }
    if let Some(v) = r.cpu_rt_period {
        return unsupported(
            "cpu_rt_period",
            v.to_string(),
            "cgroup v2 has no real-time bandwidth control",
        );
    }

    // io (blkio)
    if let Some(weight) = r.blkio_weight.filter(|&w| w != 0) {
        if current("io.bfq.weight")?.is_some() {
            // BFQ takes the v1 scale as it is.
            out.push(w("io.bfq.weight", weight.to_string()));
        } else {
            out.push(w(
                "io.weight",
                blkio_weight_to_io_weight(weight).to_string(),
            ));
        }
    }
    for (list, key) in [
        (&r.blkio_throttle_read_bps_device, "rbps"),
        (&r.blkio_throttle_write_bps_device, "wbps"),
        (&r.blkio_throttle_read_iops_device, "riops"),
        (&r.blkio_throttle_write_iops_device, "wiops"),
    ] {
        for d in list {
            // 0 removes a v1 throttle; in v2 that is `max`.
            let rate = if d.rate == 0 {
                "max".to_string()
            } else {
                d.rate.to_string()
            };
            out.push(w("io.max", format!("{}:{} {key}={rate}", d.major, d.minor)));
        }
    }

    // pids: 0 means "not set" (as in runc), any negative value is unlimited.
    match r.pids_limit {
        Some(n) if n > 0 => out.push(w("pids.max", n.to_string())),
        Some(n) if n < 0 => out.push(w("pids.max", "max")),
        _ => {}
    }
    Ok(out)
}

/// Applies `r` to the v2 cgroup `dir` (everything of [`plan`]).
pub(crate) fn apply(dir: &Path, r: &Cgroups) -> Result<(), CgroupError> {
    let current = |file: &'static str| fsutil::read_opt(dir, file);
    for write in plan(r, &current)? {
        fsutil::write_file(dir, write.file, &write.value)?;
    }
    Ok(())
}

/// Makes the controllers available in `leaf`: every cgroup above it, from the
/// top of the tree down, gets all the controllers it has enabled for its
/// children (`+cpu +memory ...` into `cgroup.subtree_control`).
///
/// Failures are ignored here, as runc does: a controller that cannot be
/// enabled (e.g. a parent with processes of its own, or one not delegated)
/// shows up as a clear "No such file" error when a limit needing it is set.
pub(crate) fn enable_controllers(leaf: &Path) {
    let mut chain: Vec<&Path> = leaf
        .ancestors()
        .skip(1)
        .take_while(|a| in_cgroupfs(a))
        .collect();
    chain.reverse();
    for dir in chain {
        let Ok(Some(available)) = fsutil::read_opt(dir, "cgroup.controllers") else {
            continue;
        };
        let enabled = fsutil::read_opt(dir, "cgroup.subtree_control")
            .ok()
            .flatten()
            .unwrap_or_default();
        let missing: Vec<&str> = available
            .split_whitespace()
            .filter(|c| !enabled.split_whitespace().any(|e| e == *c))
            .collect();
        if missing.is_empty() {
            continue;
        }
        let all: Vec<String> = missing.iter().map(|c| format!("+{c}")).collect();
        if fsutil::write_file(dir, "cgroup.subtree_control", &all.join(" ")).is_err() {
            for c in all {
                let _ = fsutil::write_file(dir, "cgroup.subtree_control", &c);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nsinit_configs::BlkioDeviceLimit;
    use std::collections::HashMap;

    fn plan_with(r: &Cgroups, files: &[(&'static str, &str)]) -> Result<Vec<Write>, CgroupError> {
        let files: HashMap<&str, String> = files.iter().map(|(k, v)| (*k, v.to_string())).collect();
        let current = move |f: &'static str| Ok(files.get(f).cloned());
        plan(r, &current)
    }

    fn pairs(p: &[Write]) -> Vec<(&str, &str)> {
        p.iter().map(|w| (w.file, w.value.as_str())).collect()
    }

    #[test]
    fn shares_to_weight_as_runc() {
        assert_eq!(cpu_shares_to_weight(0), 0);
        assert_eq!(cpu_shares_to_weight(2), 1);
        assert_eq!(cpu_shares_to_weight(1024), 39);
        assert_eq!(cpu_shares_to_weight(512), 20);
        assert_eq!(cpu_shares_to_weight(262_144), 10_000);
        assert_eq!(
            cpu_shares_to_weight(1),
            1,
            "clamped like the kernel does in v1"
        );
        assert_eq!(cpu_shares_to_weight(1_000_000), 10_000);
    }

    #[test]
    fn blkio_weight_to_io_weight_as_runc() {
        assert_eq!(blkio_weight_to_io_weight(10), 1);
        assert_eq!(blkio_weight_to_io_weight(500), 4950);
        assert_eq!(blkio_weight_to_io_weight(1000), 10_000);
    }

    #[test]
    fn cpu_max_quota_and_period() {
        let r = Cgroups {
            cpu_quota: Some(50_000),
            cpu_period: Some(100_000),
            ..Default::default()
        };
        assert_eq!(
            pairs(&plan_with(&r, &[]).unwrap()),
            [("cpu.max", "50000 100000")]
        );
        let r = Cgroups {
            cpu_quota: Some(-1),
            cpu_period: Some(20_000),
            ..Default::default()
        };
        assert_eq!(
            pairs(&plan_with(&r, &[]).unwrap()),
            [("cpu.max", "max 20000")]
        );
        let r = Cgroups {
            cpu_quota: Some(25_000),
            ..Default::default()
        };
        assert_eq!(pairs(&plan_with(&r, &[]).unwrap()), [("cpu.max", "25000")]);
        // Period alone keeps the current quota.
        let r = Cgroups {
            cpu_period: Some(50_000),
            ..Default::default()
        };
        let p = plan_with(&r, &[("cpu.max", "30000 100000")]).unwrap();
        assert_eq!(pairs(&p), [("cpu.max", "30000 50000")]);
    }

    #[test]
    fn memory_files() {
        let r = Cgroups {
            memory: Some(-1),
            memory_reservation: Some(1 << 20),
            ..Default::default()
        };
        assert_eq!(
            pairs(&plan_with(&r, &[]).unwrap()),
            [("memory.max", "max"), ("memory.low", "1048576")]
        );
        let r = Cgroups {
            memory: Some(10 << 20),
            memory_swap: Some(30 << 20),
            ..Default::default()
        };
        assert_eq!(
            pairs(&plan_with(&r, &[]).unwrap()),
            [("memory.max", "10485760"), ("memory.swap.max", "20971520")]
        );
        // Swap alone is converted against the current memory.max.
        let r = Cgroups {
            memory_swap: Some(3000),
            ..Default::default()
        };
        let p = plan_with(&r, &[("memory.max", "1000")]).unwrap();
        assert_eq!(pairs(&p), [("memory.swap.max", "2000")]);
        assert!(plan_with(&r, &[("memory.max", "max")]).is_err());
        let r = Cgroups {
            memory: Some(100),
            memory_swap: Some(-1),
            ..Default::default()
        };
        assert_eq!(
            pairs(&plan_with(&r, &[]).unwrap()),
            [("memory.max", "100"), ("memory.swap.max", "max")]
        );
    }

    #[test]
    fn swap_below_memory_is_refused_with_a_reason() {
        let r = Cgroups {
            memory: Some(200),
            memory_swap: Some(100),
            ..Default::default()
        };
        let e = plan_with(&r, &[]).unwrap_err().to_string();
        assert_eq!(
            e,
            "invalid cgroup setting memory_swap = 100: must be at least the memory limit (200)"
        );
    }

    #[test]
    fn pids_max() {
        let lim = |n| Cgroups {
            pids_limit: Some(n),
            ..Default::default()
        };
        assert_eq!(
            pairs(&plan_with(&lim(-1), &[]).unwrap()),
            [("pids.max", "max")]
        );
        assert_eq!(
            pairs(&plan_with(&lim(64), &[]).unwrap()),
            [("pids.max", "64")]
        );
        assert!(plan_with(&lim(0), &[]).unwrap().is_empty());
    }

    #[test]
    fn weights_cpuset_and_io() {
        let r = Cgroups {
            cpu_shares: Some(1024),
            cpuset_cpus: "0-1".into(),
            cpuset_mems: "0".into(),
            blkio_weight: Some(500),
            blkio_throttle_read_bps_device: vec![BlkioDeviceLimit {
                major: 8,
                minor: 0,
                rate: 1_048_576,
            }],
            blkio_throttle_write_iops_device: vec![BlkioDeviceLimit {
                major: 8,
                minor: 16,
                rate: 0,
            }],
            ..Default::default()
        };
        assert_eq!(
            pairs(&plan_with(&r, &[]).unwrap()),
            [
                ("cpuset.cpus", "0-1"),
                ("cpuset.mems", "0"),
                ("cpu.weight", "39"),
                ("io.weight", "4950"),
                ("io.max", "8:0 rbps=1048576"),
                ("io.max", "8:16 wiops=max"),
            ]
        );
        // With BFQ the weight keeps its v1 scale.
        let p = plan_with(&r, &[("io.bfq.weight", "default 100")]).unwrap();
        assert!(pairs(&p).contains(&("io.bfq.weight", "500")));
    }

    #[test]
    fn v1_only_settings_are_refused_clearly() {
        let r = Cgroups {
            memory_swappiness: Some(10),
            ..Default::default()
        };
        assert_eq!(
            plan_with(&r, &[]).unwrap_err().to_string(),
            "memory_swappiness = 10 is not supported on cgroup v2: cgroup v2 has no per-cgroup swappiness"
        );
        let r = Cgroups {
            cpu_rt_runtime: Some(1000),
            ..Default::default()
        };
        assert!(matches!(
            plan_with(&r, &[]),
            Err(CgroupError::UnsupportedV2 { .. })
        ));
    }

    #[test]
    fn nothing_set_writes_nothing() {
        assert!(plan_with(&Cgroups::default(), &[]).unwrap().is_empty());
    }
}
