//! Counters of a container's network interfaces.

use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use nix::sys::statfs::{statfs, SYSFS_MAGIC};
use serde::{Deserialize, Serialize};

use super::NetworkError;

/// Traffic counters of one interface, as in `/sys/class/net/<if>/statistics`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct InterfaceStats {
    /// Interface name inside the container.
    pub name: String,
    /// Bytes received.
    pub rx_bytes: u64,
    /// Packets received.
    pub rx_packets: u64,
    /// Receive errors.
    pub rx_errors: u64,
    /// Received packets dropped.
    pub rx_dropped: u64,
    /// Bytes sent.
    pub tx_bytes: u64,
    /// Packets sent.
    pub tx_packets: u64,
    /// Transmit errors.
    pub tx_errors: u64,
    /// Packets dropped on transmit.
    pub tx_dropped: u64,
}

/// Where the counters of a container's interfaces are read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Source {
    /// `/proc/<pid>/root/sys/class/net`: the container mounted its own sysfs.
    Sysfs(PathBuf),
    /// `/proc/<pid>/net/dev`, which always shows the network namespace of `pid`.
    ProcNetDev(PathBuf),
}

/// Reads the counters of the interfaces `names` of the container whose init is
/// `pid` (every interface except `lo` when `names` is empty, sorted by name).
///
/// The counters come from `/proc/<pid>/root/sys/class/net/<if>/statistics/*`
/// when the container mounted a sysfs of its own (a sysfs superblock other than
/// the runtime's, i.e. one made in another network namespace); otherwise, e.g.
/// when `/sys` is absent or bound from the host, from `/proc/<pid>/net/dev`,
/// which always describes the network namespace of `pid`. In that file
/// `rx_dropped` also counts the packets the device missed.
///
/// An interface that is asked for by name and does not exist is an error.
///
/// ```no_run
/// use nsinit_runtime::network::interface_stats;
///
/// for s in interface_stats(4242, &[])? {
///     println!("{}: {} bytes in, {} bytes out", s.name, s.rx_bytes, s.tx_bytes);
/// }
/// # Ok::<(), nsinit_runtime::network::NetworkError>(())
/// ```
pub fn interface_stats(pid: i32, names: &[String]) -> Result<Vec<InterfaceStats>, NetworkError> {
    if pid <= 0 {
        return Err(NetworkError::InvalidConfig {
            field: "pid".to_string(),
            value: pid.to_string(),
            reason: "not a process id".to_string(),
        });
    }
    match source(pid) {
        Source::Sysfs(dir) => from_sysfs(pid, &dir, names),
        Source::ProcNetDev(path) => {
            let text = fs::read_to_string(&path).map_err(|source| stats_err(pid, &path, source))?;
            let all = parse_proc_net_dev(&text).map_err(|detail| {
                stats_err(
                    pid,
                    &path,
                    io::Error::new(io::ErrorKind::InvalidData, detail),
                )
            })?;
            select(pid, all, names)
        }
    }
}

/// Picks the source for `pid` (see [`interface_stats`]): the container's
/// `/sys/class/net` when it is on a sysfs (not a directory of the rootfs) whose
/// superblock differs from ours. sysfs has one superblock per network
/// namespace, so a different one was mounted for another namespace; a `/sys`
/// bound from the host shares ours.
pub(super) fn source(pid: i32) -> Source {
    let sys_net = PathBuf::from(format!("/proc/{pid}/root/sys/class/net"));
    let on_sysfs = statfs(&sys_net).is_ok_and(|s| s.filesystem_type() == SYSFS_MAGIC);
    let own = fs::metadata(&sys_net).map(|m| m.dev());
    let ours = fs::metadata("/sys/class/net").map(|m| m.dev());
    match (own, ours) {
        (Ok(own), Ok(ours)) if on_sysfs && own != ours => Source::Sysfs(sys_net),
        _ => Source::ProcNetDev(PathBuf::from(format!("/proc/{pid}/net/dev"))),
    }
}

fn stats_err(pid: i32, path: &Path, source: io::Error) -> NetworkError {
    NetworkError::Stats {
        pid,
        path: path.to_path_buf(),
        source,
    }
}

fn not_found(pid: i32, name: &str) -> NetworkError {
    NetworkError::NotFound {
        what: "interface",
        name: name.to_string(),
        place: format!("in the network namespace of pid {pid}"),
    }
}

fn from_sysfs(pid: i32, dir: &Path, names: &[String]) -> Result<Vec<InterfaceStats>, NetworkError> {
    let mut wanted: Vec<String> = names.to_vec();
    if wanted.is_empty() {
        let entries = fs::read_dir(dir).map_err(|e| stats_err(pid, dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| stats_err(pid, dir, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            // Skips `lo` and plain files such as `bonding_masters`.
            if name != "lo" && entry.path().join("statistics").is_dir() {
                wanted.push(name);
            }
        }
        wanted.sort();
    }
    wanted
        .into_iter()
        .map(|name| {
            let stats_dir = dir.join(&name).join("statistics");
            if !stats_dir.is_dir() {
                return Err(not_found(pid, &name));
            }
            let read = |counter: &str| -> Result<u64, NetworkError> {
                let path = stats_dir.join(counter);
                let text = fs::read_to_string(&path).map_err(|e| stats_err(pid, &path, e))?;
                text.trim().parse().map_err(|_| {
                    stats_err(
                        pid,
                        &path,
                        io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!("not a counter: {:?}", text.trim()),
                        ),
                    )
                })
            };
            Ok(InterfaceStats {
                rx_bytes: read("rx_bytes")?,
                rx_packets: read("rx_packets")?,
                rx_errors: read("rx_errors")?,
                rx_dropped: read("rx_dropped")?,
                tx_bytes: read("tx_bytes")?,
                tx_packets: read("tx_packets")?,
                tx_errors: read("tx_errors")?,
                tx_dropped: read("tx_dropped")?,
                name,
            })
        })
        .collect()
}

fn select(
    pid: i32,
    mut all: Vec<InterfaceStats>,
    names: &[String],
) -> Result<Vec<InterfaceStats>, NetworkError> {
    if names.is_empty() {
        all.retain(|s| s.name != "lo");
        all.sort_by(|a, b| a.name.cmp(&b.name));
        return Ok(all);
    }
    names
        .iter()
        .map(|name| {
            all.iter()
                .find(|s| &s.name == name)
                .cloned()
                .ok_or_else(|| not_found(pid, name))
        })
        .collect()
}

/// Parses `/proc/net/dev`: two header lines, then `name: 8 rx counters 8 tx counters`.
pub(super) fn parse_proc_net_dev(text: &str) -> Result<Vec<InterfaceStats>, String> {
    let mut out = Vec::new();
    for line in text.lines().skip(2) {
        if line.trim().is_empty() {
            continue;
        }
        let (name, counters) = line
            .split_once(':')
            .ok_or_else(|| format!("no ':' in line {line:?}"))?;
        let values = counters
            .split_whitespace()
            .map(str::parse::<u64>)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("bad counter in line {line:?}: {e}"))?;
        if values.len() < 16 {
            return Err(format!("expected 16 counters in line {line:?}"));
        }
        out.push(InterfaceStats {
            name: name.trim().to_string(),
            rx_bytes: values[0],
            rx_packets: values[1],
            rx_errors: values[2],
            rx_dropped: values[3],
            tx_bytes: values[8],
            tx_packets: values[9],
            tx_errors: values[10],
            tx_dropped: values[11],
        });
    }
    Ok(out)
}
