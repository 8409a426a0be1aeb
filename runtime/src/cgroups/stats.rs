//! Resource usage of a cgroup ([`CgroupStats`]).
//!
//! v1 reads the cpu, cpuacct, memory and pids figures through the
//! controllers of `cgroups-rs`. Written by hand: the blkio lists
//! (`cgroups-rs` stores device numbers as `i16` and drops the whole list
//! when one minor number does not fit), the user/system split from
//! `cpuacct.stat` ticks, and all of v2 (`cgroups-rs` parses the v2
//! `memory.stat` with the v1 key names, so cache and rss come out as 0).

use std::path::Path;

use cgroups_rs::fs::Controller;
use serde::{Deserialize, Serialize};

use super::error::{io_cause, CgroupError};
use super::fsutil::{self, flat_keyed};
use super::v1::Controllers;

/// CPU, memory, pids and block I/O usage of a cgroup (and the cgroups below
/// it). Serialises to JSON for `nsinit stats`.
///
/// ```
/// # use nsinit_runtime::cgroups::CgroupStats;
/// let s = CgroupStats::default();
/// let json = serde_json::to_string(&s).unwrap();
/// assert!(json.contains("\"cpu\""));
/// ```
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct CgroupStats {
    /// CPU time and CFS throttling.
    pub cpu: CpuStats,
    /// Memory use and limits.
    pub memory: MemoryStats,
    /// Number of tasks.
    pub pids: PidsStats,
    /// Block I/O per device.
    pub blkio: BlkioStats,
}

/// CPU figures.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct CpuStats {
    /// CPU time used.
    pub usage: CpuUsage,
    /// CFS bandwidth throttling.
    pub throttling: ThrottlingData,
}

/// CPU time used, in nanoseconds.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct CpuUsage {
    /// Total CPU time.
    pub total_ns: u64,
    /// CPU time per CPU (v1 only; empty on v2, which does not report it).
    pub percpu_ns: Vec<u64>,
    /// Time in user mode.
    pub user_ns: u64,
    /// Time in kernel mode.
    pub system_ns: u64,
}

/// CFS bandwidth throttling.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct ThrottlingData {
    /// Enforcement periods that have elapsed.
    pub periods: u64,
    /// Periods in which the cgroup was throttled.
    pub throttled_periods: u64,
    /// Total time throttled, in nanoseconds.
    pub throttled_time_ns: u64,
}

/// Memory figures, in bytes. A limit of `None` means "no limit".
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct MemoryStats {
    /// Memory in use now.
    pub usage: u64,
    /// The highest use recorded (v2: `memory.peak`, 0 on kernels without it).
    pub max_usage: u64,
    /// The memory limit.
    pub limit: Option<u64>,
    /// Page cache (v1 `total_cache`, v2 `file`).
    pub cache: u64,
    /// Anonymous memory (v1 `total_rss`, v2 `anon`).
    pub rss: u64,
    /// Swap in use (swap only, not memory + swap).
    pub swap_usage: u64,
    /// The memory + swap limit, in the config's `memory_swap` sense.
    pub memory_swap_limit: Option<u64>,
    /// How often the limit was hit (v1 `memory.failcnt`, v2 `max` events).
    pub failcnt: u64,
    /// Processes killed by the OOM killer in this cgroup.
    pub oom_kill: u64,
}

/// Task counts.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct PidsStats {
    /// Tasks in the cgroup now.
    pub current: u64,
    /// The limit (`pids.max`).
    pub limit: Option<u64>,
}

/// Block I/O, per device and operation.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct BlkioStats {
    /// Bytes transferred.
    pub io_service_bytes_recursive: Vec<BlkioEntry>,
    /// Operations done.
    pub io_serviced_recursive: Vec<BlkioEntry>,
}

/// One figure of one device.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct BlkioEntry {
    /// Device major number.
    pub major: u64,
    /// Device minor number.
    pub minor: u64,
    /// `Read`, `Write`, `Sync`, `Async`, `Discard` or `Total`.
    pub op: String,
    /// The figure.
    pub value: u64,
}

/// v1 reports "unlimited" as the largest page-aligned `long`.
fn v1_limit(v: u64) -> Option<u64> {
    (v < 0x7FFF_FFFF_FFFF_0000).then_some(v)
}

/// A v2 limit file: `max` or a number.
fn v2_limit(text: Option<&str>) -> Option<u64> {
    text.and_then(|t| if t == "max" { None } else { t.parse().ok() })
}

/// Parses v1 blkio lists: `8:0 Read 4096` lines (and a final `Total N`).
pub(crate) fn parse_blkio_v1(text: &str) -> Vec<BlkioEntry> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            let (dev, op, value) = (it.next()?, it.next()?, it.next()?);
            let (major, minor) = dev.split_once(':')?;
            Some(BlkioEntry {
                major: major.parse().ok()?,
                minor: minor.parse().ok()?,
                op: op.to_string(),
                value: value.parse().ok()?,
            })
        })
        .collect()
}

/// Parses v2 `io.stat` (`8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0`)
/// into the v1 shape: (bytes, operations).
pub(crate) fn parse_io_stat(text: &str) -> (Vec<BlkioEntry>, Vec<BlkioEntry>) {
    let mut bytes = Vec::new();
    let mut ios = Vec::new();
    for line in text.lines() {
        let mut it = line.split_whitespace();
        let Some((major, minor)) = it.next().and_then(|d| d.split_once(':')) else {
            continue;
        };
        let (Ok(major), Ok(minor)) = (major.parse::<u64>(), minor.parse::<u64>()) else {
            continue;
        };
        let kv: std::collections::HashMap<&str, u64> = it
            .filter_map(|f| {
                let (k, v) = f.split_once('=')?;
                Some((k, v.parse().ok()?))
            })
            .collect();
        let entry = |op: &str, value: u64| BlkioEntry {
            major,
            minor,
            op: op.to_string(),
            value,
        };
        for (list, r, w, d) in [
            (&mut bytes, "rbytes", "wbytes", "dbytes"),
            (&mut ios, "rios", "wios", "dios"),
        ] {
            let get = |k: &str| kv.get(k).copied();
            let (rv, wv, dv) = (get(r), get(w), get(d));
            if let Some(v) = rv {
                list.push(entry("Read", v));
            }
            if let Some(v) = wv {
                list.push(entry("Write", v));
            }
            if let Some(v) = dv {
                list.push(entry("Discard", v));
            }
            list.push(entry(
                "Total",
                rv.unwrap_or(0) + wv.unwrap_or(0) + dv.unwrap_or(0),
            ));
        }
    }
    (bytes, ios)
}

/// Clock ticks per second, the unit of `cpuacct.stat`.
fn clock_ticks() -> u64 {
    // SAFETY: sysconf only reads a configuration value; it has no memory
    // preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(t).ok().filter(|&t| t > 0).unwrap_or(100)
}

/// Statistics of the v1 hierarchies in `c`.
pub(crate) fn collect_v1(c: &Controllers) -> Result<CgroupStats, CgroupError> {
    let mut s = CgroupStats::default();
    if let Some(acct) = &c.cpuacct {
        let a = acct.cpuacct();
        s.cpu.usage.total_ns = a.usage;
        s.cpu.usage.percpu_ns = a
            .usage_percpu
            .split_whitespace()
            .filter_map(|v| v.parse().ok())
            .collect();
        s.cpu.usage.user_ns = a.usage_user;
        s.cpu.usage.system_ns = a.usage_sys;
        if a.usage_user == 0 && a.usage_sys == 0 {
            // Older kernels only have the tick counts of cpuacct.stat.
            let ticks = flat_keyed(&a.stat);
            let ns = 1_000_000_000 / clock_ticks();
            s.cpu.usage.user_ns = ticks.get("user").copied().unwrap_or(0) * ns;
            s.cpu.usage.system_ns = ticks.get("system").copied().unwrap_or(0) * ns;
        }
    }
    if let Some(cpu) = &c.cpu {
        let stat = cpu.cpu().stat;
        let kv = flat_keyed(&stat);
        s.cpu.throttling = ThrottlingData {
            periods: kv.get("nr_periods").copied().unwrap_or(0),
            throttled_periods: kv.get("nr_throttled").copied().unwrap_or(0),
            throttled_time_ns: kv.get("throttled_time").copied().unwrap_or(0),
        };
    }
    if let Some(mem) = &c.memory {
        let m = mem.memory_stat();
        s.memory.usage = m.usage_in_bytes;
        s.memory.max_usage = m.max_usage_in_bytes;
        s.memory.limit = u64::try_from(m.limit_in_bytes).ok().and_then(v1_limit);
        s.memory.cache = m.stat.total_cache;
        s.memory.rss = m.stat.total_rss;
        s.memory.failcnt = m.fail_cnt;
        s.memory.oom_kill = m.oom_control.oom_kill;
        if mem.path().join("memory.memsw.usage_in_bytes").exists() {
            let sw = mem.memswap();
            s.memory.swap_usage = sw.usage_in_bytes.saturating_sub(m.usage_in_bytes);
            s.memory.memory_swap_limit = u64::try_from(sw.limit_in_bytes).ok().and_then(v1_limit);
        }
    }
    if let Some(p) = &c.pids {
        s.pids = pids_stats(p)?;
    }
    if let Some(b) = &c.blkio {
        let dir = b.path();
        let first_non_empty = |files: [&str; 3]| -> Result<Vec<BlkioEntry>, CgroupError> {
            for f in files {
                if let Some(text) = fsutil::read_opt(dir, f)? {
                    let entries = parse_blkio_v1(&text);
                    if !entries.is_empty() {
                        return Ok(entries);
                    }
                }
            }
            Ok(Vec::new())
        };
        // The scheduler's own figures first (CFQ, BFQ), as runc does, then
        // the throttling layer's, which every kernel with blkio has.
        s.blkio.io_service_bytes_recursive = first_non_empty([
            "blkio.io_service_bytes_recursive",
            "blkio.bfq.io_service_bytes_recursive",
            "blkio.throttle.io_service_bytes_recursive",
        ])?;
        s.blkio.io_serviced_recursive = first_non_empty([
            "blkio.io_serviced_recursive",
            "blkio.bfq.io_serviced_recursive",
            "blkio.throttle.io_serviced_recursive",
        ])?;
    }
    Ok(s)
}

fn pids_stats(p: &cgroups_rs::fs::pid::PidController) -> Result<PidsStats, CgroupError> {
    let read_err = |file: &str, e: cgroups_rs::fs::error::Error| CgroupError::Read {
        path: p.path().join(file),
        source: io_cause(&e),
    };
    let current = p
        .get_pid_current()
        .map_err(|e| read_err("pids.current", e))?;
    let limit = match p.get_pid_max().map_err(|e| read_err("pids.max", e))? {
        cgroups_rs::fs::MaxValue::Max => None,
        cgroups_rs::fs::MaxValue::Value(v) => u64::try_from(v).ok(),
    };
    Ok(PidsStats { current, limit })
}

/// Statistics of the v2 cgroup `dir`; figures of controllers that are not
/// enabled there stay 0.
pub(crate) fn collect_v2(dir: &Path) -> Result<CgroupStats, CgroupError> {
    let mut s = CgroupStats::default();
    let read = |f: &str| fsutil::read_opt(dir, f);
    let num = |f: &str| -> Result<u64, CgroupError> {
        match read(f)? {
            Some(t) => fsutil::parse_u64(dir, f, &t),
            None => Ok(0),
        }
    };

    if let Some(text) = read("cpu.stat")? {
        let kv = flat_keyed(&text);
        let us = |k: &str| kv.get(k).copied().unwrap_or(0) * 1000;
        s.cpu.usage.total_ns = us("usage_usec");
        s.cpu.usage.user_ns = us("user_usec");
        s.cpu.usage.system_ns = us("system_usec");
        s.cpu.throttling = ThrottlingData {
            periods: kv.get("nr_periods").copied().unwrap_or(0),
            throttled_periods: kv.get("nr_throttled").copied().unwrap_or(0),
            throttled_time_ns: us("throttled_usec"),
        };
    }

    s.memory.usage = num("memory.current")?;
    s.memory.max_usage = num("memory.peak")?;
    let mem_max = read("memory.max")?;
    s.memory.limit = v2_limit(mem_max.as_deref());
    if let Some(text) = read("memory.stat")? {
        let kv = flat_keyed(&text);
        s.memory.cache = kv.get("file").copied().unwrap_or(0);
        s.memory.rss = kv.get("anon").copied().unwrap_or(0);
    }
    s.memory.swap_usage = num("memory.swap.current")?;
    let swap_max = read("memory.swap.max")?;
    s.memory.memory_swap_limit = match (s.memory.limit, v2_limit(swap_max.as_deref())) {
        (Some(m), Some(sw)) => Some(m.saturating_add(sw)),
        _ => None,
    };
    if let Some(text) = read("memory.events")? {
        let kv = flat_keyed(&text);
        s.memory.failcnt = kv.get("max").copied().unwrap_or(0);
        s.memory.oom_kill = kv.get("oom_kill").copied().unwrap_or(0);
    }

    s.pids.current = num("pids.current")?;
    s.pids.limit = v2_limit(read("pids.max")?.as_deref());

    if let Some(text) = read("io.stat")? {
        let (bytes, ios) = parse_io_stat(&text);
        s.blkio.io_service_bytes_recursive = bytes;
        s.blkio.io_serviced_recursive = ios;
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blkio_v1_lines() {
        let text = "8:0 Read 4096\n8:0 Write 0\n253:1048575 Total 7\nTotal 4103\n";
        let e = parse_blkio_v1(text);
        assert_eq!(e.len(), 3);
        assert_eq!(e[2].minor, 1_048_575, "minors above i16 are kept");
        assert_eq!(e[0].op, "Read");
        assert_eq!(e[0].value, 4096);
    }

    #[test]
    fn io_stat_v2() {
        let (b, i) = parse_io_stat("8:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n");
        assert_eq!(
            b.iter()
                .map(|e| (e.op.as_str(), e.value))
                .collect::<Vec<_>>(),
            [("Read", 10), ("Write", 20), ("Discard", 0), ("Total", 30)]
        );
        assert_eq!(i[3].value, 3);
    }

    #[test]
    fn limits() {
        assert_eq!(v1_limit(9_223_372_036_854_771_712), None);
        assert_eq!(v1_limit(10 << 20), Some(10 << 20));
        assert_eq!(v2_limit(Some("max")), None);
        assert_eq!(v2_limit(Some("4096")), Some(4096));
    }

    /// The whole v2 reader against a fabricated cgroup directory.
    #[test]
    fn v2_stats_from_files() {
        let dir = std::env::temp_dir().join(format!("cg-v2stats-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let files = [
            ("cpu.stat", "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 10\nnr_throttled 2\nthrottled_usec 7\n"),
            ("memory.current", "8192\n"),
            ("memory.peak", "16384\n"),
            ("memory.max", "1048576\n"),
            ("memory.stat", "anon 4096\nfile 2048\nkernel 100\n"),
            ("memory.swap.current", "0\n"),
            ("memory.swap.max", "1048576\n"),
            ("memory.events", "low 0\nhigh 0\nmax 5\noom 1\noom_kill 1\noom_group_kill 0\n"),
            ("pids.current", "3\n"),
            ("pids.max", "max\n"),
        ];
        for (f, c) in files {
            std::fs::write(dir.join(f), c).unwrap();
        }
        let s = collect_v2(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(s.cpu.usage.total_ns, 1_500_000);
        assert_eq!(s.cpu.throttling.throttled_time_ns, 7000);
        assert_eq!(s.memory.usage, 8192);
        assert_eq!(s.memory.max_usage, 16384);
        assert_eq!(s.memory.limit, Some(1_048_576));
        assert_eq!(s.memory.memory_swap_limit, Some(2_097_152));
        assert_eq!((s.memory.rss, s.memory.cache), (4096, 2048));
        assert_eq!((s.memory.failcnt, s.memory.oom_kill), (5, 1));
        assert_eq!(
            s.pids,
            PidsStats {
                current: 3,
                limit: None
            }
        );
        assert!(s.blkio.io_service_bytes_recursive.is_empty());
    }
}
