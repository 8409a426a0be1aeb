//! What the runtime records next to CRIU's images, and how it finds what a
//! dump must treat as external: mounts from the host, stdio opened outside
//! the container, veths.

use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use nsinit_configs::{Config, NamespaceType};
use serde::{Deserialize, Serialize};

use crate::error::{Context, SysError, SysResult};

/// The runtime's file in an image directory.
pub const CHECKPOINT_INFO: &str = "nsinit-checkpoint.json";

/// Format version of [`CheckpointInfo`].
const FORMAT: u32 = 1;

/// What `nsinit-checkpoint.json` holds: enough to restore the container
/// without its original state.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckpointInfo {
    /// Format version (1).
    pub format: u32,
    /// The id the container had.
    pub id: String,
    /// When the checkpoint was taken (RFC 3339, UTC).
    pub checkpointed: String,
    /// The container's config (with resources changed since creation).
    pub config: Config,
    /// Its bundle directory (for hooks).
    #[serde(default)]
    pub bundle: String,
    /// Mounts whose source lies outside the container.
    #[serde(default)]
    pub mounts: Vec<ExternalMount>,
    /// The init's fds 0-2.
    #[serde(default)]
    pub stdio: Vec<StdioFile>,
    /// Veth pairs (their host ends are outside the container).
    #[serde(default)]
    pub veths: Vec<ExternalVeth>,
    /// Namespaces the container joined rather than created.
    #[serde(default)]
    pub namespaces: Vec<ExternalNamespace>,
    /// What was saved of the network namespace.
    #[serde(default)]
    pub network: SavedNetwork,
}

/// What a checkpoint holds of the container's (own) network namespace.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SavedNetwork {
    /// CRIU's images of it (or the container has no network namespace of
    /// its own).
    #[default]
    Criu,
    /// Nothing: the restore sets it up from the config.
    Config,
}

impl CheckpointInfo {
    /// A record for container `id`.
    pub fn new(id: &str, config: Config, bundle: &str) -> CheckpointInfo {
        CheckpointInfo {
            format: FORMAT,
            id: id.to_string(),
            checkpointed: crate::container::state::now_rfc3339(),
            config,
            bundle: bundle.to_string(),
            mounts: Vec::new(),
            stdio: Vec::new(),
            veths: Vec::new(),
            namespaces: Vec::new(),
            network: SavedNetwork::Criu,
        }
    }

    /// Writes it into `dir`.
    pub fn write(&self, dir: &Path) -> SysResult<()> {
        let path = dir.join(CHECKPOINT_INFO);
        let body = serde_json::to_vec_pretty(self).map_err(|e| {
            SysError::msg("write checkpoint record", e.to_string()).with_path(&path)
        })?;
        std::fs::write(&path, body).ctx_path("write checkpoint record", "write", &path)
    }

    /// Reads it from `dir`.
    pub fn read(dir: &Path) -> SysResult<CheckpointInfo> {
        let path = dir.join(CHECKPOINT_INFO);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            let err = SysError::io("read checkpoint record", "open", &e).with_path(&path);
            if e.kind() == std::io::ErrorKind::NotFound {
                err.with_detail("not a checkpoint taken by nsinit")
            } else {
                err
            }
        })?;
        let info: CheckpointInfo = serde_json::from_str(&text)
            .map_err(|e| SysError::msg("read checkpoint record", e.to_string()).with_path(&path))?;
        if info.format != FORMAT {
            return Err(SysError::msg(
                "read checkpoint record",
                format!(
                    "format {} is not known (this nsinit reads {FORMAT})",
                    info.format
                ),
            )
            .with_path(&path));
        }
        Ok(info)
    }
}

/// A mount of the container whose source is outside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalMount {
    /// Where it is mounted inside the container (also CRIU's key for it).
    pub mountpoint: String,
    /// What it is.
    #[serde(flatten)]
    pub kind: MountKind,
}

/// Kinds of [`ExternalMount`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum MountKind {
    /// The container's own directory of a cgroup hierarchy: restored from
    /// the new container's cgroup of one of these keys (controller names as
    /// in [`CgroupPaths`](crate::cgroups::CgroupPaths), `unified` for v2).
    Cgroup {
        /// Controllers of the hierarchy.
        controllers: Vec<String>,
    },
    /// A bind mount of a host path (the config's bind source on restore
    /// when the config has a bind at this mountpoint, else this path).
    Bind {
        /// The host path at dump time.
        source: String,
    },
}

/// One of the init's stdio descriptors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StdioFile {
    /// 0, 1 or 2.
    pub fd: i32,
    /// What it is.
    pub kind: StdioKind,
    /// CRIU's key for it (`file[mnt:ino]`, `tty[rdev:dev]`, `pipe:[ino]`);
    /// empty when CRIU needs none.
    #[serde(default)]
    pub key: String,
    /// What it pointed to (`/dev/null`, `/var/log/app.log`, `pipe:[123]`).
    #[serde(default)]
    pub path: String,
    /// Its open flags (`O_WRONLY | O_APPEND`...), for opening the same file
    /// again on restore.
    #[serde(default)]
    pub flags: i32,
}

/// Kinds of [`StdioFile`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StdioKind {
    /// A file opened outside the container (e.g. the host's `/dev/null`, a
    /// log file): external on dump, inherited on restore.
    File,
    /// A terminal outside the container: external on dump, inherited on
    /// restore.
    Tty,
    /// A pipe: dumped, and connected to an inherited fd on restore.
    Pipe,
    /// Something CRIU dumps and restores by itself (a file inside the
    /// container, a socket).
    Internal,
}

impl StdioKind {
    /// Whether the dump names it as external.
    pub fn external_on_dump(self) -> bool {
        matches!(self, StdioKind::File | StdioKind::Tty)
    }
    /// Whether the restore hands an fd over for it.
    pub fn inherited_on_restore(self) -> bool {
        matches!(self, StdioKind::File | StdioKind::Tty | StdioKind::Pipe)
    }
}

/// A veth pair of the container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalVeth {
    /// The name inside the container.
    pub inside: String,
    /// The host end's name.
    pub host: String,
    /// The bridge the host end joins (empty: none).
    #[serde(default)]
    pub bridge: String,
}

/// A namespace the container joined by path (CRIU does not dump it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalNamespace {
    /// Its type.
    #[serde(rename = "type")]
    pub kind: NamespaceType,
    /// CRIU's key (`extRootNetNS`).
    pub key: String,
}

/// One line of `/proc/<pid>/mountinfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MountInfo {
    pub id: u32,
    pub dev: (u32, u32),
    pub root: String,
    pub mountpoint: String,
    pub fstype: String,
    pub super_opts: String,
}

/// Parses mountinfo text (bad lines are skipped).
pub(crate) fn parse_mountinfo(text: &str) -> Vec<MountInfo> {
    text.lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let f: Vec<&str> = left.split(' ').collect();
            let r: Vec<&str> = right.split(' ').collect();
            if f.len() < 6 || r.len() < 3 {
                return None;
            }
            let (maj, min) = f[2].split_once(':')?;
            Some(MountInfo {
                id: f[0].parse().ok()?,
                dev: (maj.parse().ok()?, min.parse().ok()?),
                root: crate::mountinfo::unescape(f[3]),
                mountpoint: crate::mountinfo::unescape(f[4]),
                fstype: r[0].to_string(),
                super_opts: r[2].to_string(),
            })
        })
        .collect()
}

/// Whether `prefix` is `path` or a directory above it.
fn path_within(path: &str, prefix: &str) -> bool {
    prefix == "/"
        || path == prefix
        || (path.starts_with(prefix) && path.as_bytes().get(prefix.len()) == Some(&b'/'))
}

/// The mounts of a container (its mountinfo, `container`) whose source is
/// outside of it, with their host sources found in the runtime's own mount
/// table (`host`). A mount is internal when it is the root, when it mounts a
/// whole filesystem (root `/`: proc, a tmpfs, devpts...), or when another
/// mount of the container shows the directory it binds; everything else
/// (bind mounts of host paths, the cgroup hierarchies, device nodes bound
/// from the host) is external.
pub(crate) fn classify_mounts(container: &[MountInfo], host: &[MountInfo]) -> Vec<ExternalMount> {
    let Some(root) = container.iter().find(|m| m.mountpoint == "/") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for m in container {
        if m.id == root.id || m.root == "/" {
            continue;
        }
        let shown_inside = container.iter().any(|n| {
            n.id != m.id
                && n.dev == m.dev
                && (n.root == "/" || n.id == root.id)
                && path_within(&m.root, &n.root)
        });
        if shown_inside {
            continue;
        }
        let kind = if m.fstype == "cgroup2" {
            MountKind::Cgroup {
                controllers: vec![crate::cgroups::UNIFIED.to_string()],
            }
        } else if m.fstype == "cgroup" {
            let controllers = m
                .super_opts
                .split(',')
                .filter(|o| {
                    let flag = matches!(
                        *o,
                        "rw" | "ro" | "xattr" | "noprefix" | "clone_children" | "cpuset_v2_mode"
                    );
                    o.starts_with("name=") || (!flag && !o.contains('='))
                })
                .map(str::to_string)
                .collect();
            MountKind::Cgroup { controllers }
        } else {
            MountKind::Bind {
                source: host_source(m, host),
            }
        };
        out.push(ExternalMount {
            mountpoint: m.mountpoint.clone(),
            kind,
        });
    }
    out
}

/// The host path of what `m` binds: a host mount of the same filesystem
/// whose root contains `m`'s root (the longest such root), plus the rest.
fn host_source(m: &MountInfo, host: &[MountInfo]) -> String {
    host.iter()
        .filter(|h| h.dev == m.dev && path_within(&m.root, &h.root))
        .max_by_key(|h| h.root.len())
        .map(|h| {
            let rest = m.root[h.root.len().min(m.root.len())..].trim_start_matches('/');
            let base = Path::new(&h.mountpoint);
            if rest.is_empty() {
                base.display().to_string()
            } else {
                base.join(rest).display().to_string()
            }
        })
        .unwrap_or_default()
}

/// The external mounts of the container whose init is `pid`.
pub(crate) fn external_mounts(pid: i32) -> SysResult<Vec<ExternalMount>> {
    let path = format!("/proc/{pid}/mountinfo");
    let container = std::fs::read_to_string(&path).ctx_path("read mounts", "read", &path)?;
    let host = std::fs::read_to_string("/proc/self/mountinfo").ctx_path(
        "read mounts",
        "read",
        "/proc/self/mountinfo",
    )?;
    Ok(classify_mounts(
        &parse_mountinfo(&container),
        &parse_mountinfo(&host),
    ))
}

/// Whether a character device is a terminal: the pty slaves (136-143), the
/// virtual consoles and `/dev/tty`, `/dev/console` (4, 5), serial (204).
fn is_tty_dev(rdev: u64) -> bool {
    let major = libc::major(rdev);
    matches!(major, 4 | 5 | 136..=143 | 204)
}

/// The init's stdio (fds 0-2 of `pid`) and what each is for CRIU; the
/// container's mount ids tell files inside from files outside.
pub(crate) fn stdio_files(pid: i32) -> SysResult<Vec<StdioFile>> {
    let path = format!("/proc/{pid}/mountinfo");
    let mounts = std::fs::read_to_string(&path).ctx_path("read mounts", "read", &path)?;
    let inside: Vec<u32> = parse_mountinfo(&mounts).iter().map(|m| m.id).collect();
    let mut out = Vec::new();
    for fd in 0..3 {
        let link_path = PathBuf::from(format!("/proc/{pid}/fd/{fd}"));
        let Ok(link) = std::fs::read_link(&link_path) else {
            continue; // closed
        };
        let link = link.display().to_string();
        let info_path = format!("/proc/{pid}/fdinfo/{fd}");
        let info =
            std::fs::read_to_string(&info_path).ctx_path("inspect stdio", "read", &info_path)?;
        let field = |name: &str| {
            info.lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|v| v.trim().to_string())
        };
        let flags = field("flags:")
            .and_then(|v| i32::from_str_radix(&v, 8).ok())
            .unwrap_or(0);
        let entry = |kind, key: String| StdioFile {
            fd,
            kind,
            key,
            path: link.clone(),
            flags,
        };
        if link.starts_with("pipe:") {
            out.push(entry(StdioKind::Pipe, link.clone()));
            continue;
        }
        if link.starts_with("socket:") || link.starts_with("anon_inode:") {
            out.push(entry(StdioKind::Internal, String::new()));
            continue;
        }
        let meta = std::fs::metadata(&link_path).ctx_path("inspect stdio", "stat", &link_path)?;
        if meta.file_type().is_char_device() && is_tty_dev(meta.rdev()) {
            let key = format!("tty[{:x}:{:x}]", meta.rdev(), meta.dev());
            out.push(entry(StdioKind::Tty, key));
            continue;
        }
        let mnt_id: Option<u32> = field("mnt_id:").and_then(|v| v.parse().ok());
        match mnt_id {
            Some(id) if !inside.contains(&id) => {
                let key = format!("file[{:x}:{:x}]", id, meta.ino());
                out.push(entry(StdioKind::File, key));
            }
            _ => out.push(entry(StdioKind::Internal, String::new())),
        }
    }
    Ok(out)
}

/// Brings the host interface `name` up (a restored veth's host end comes
/// back down).
pub(crate) fn veth_up(name: &str) -> SysResult<()> {
    let step = "bring up the host end of a veth";
    if name.is_empty() || name.len() >= libc::IFNAMSIZ {
        return Err(SysError::new(step, "", libc::EINVAL).with_detail(name.to_string()));
    }
    let sock = nix::sys::socket::socket(
        nix::sys::socket::AddressFamily::Inet,
        nix::sys::socket::SockType::Datagram,
        nix::sys::socket::SockFlag::SOCK_CLOEXEC,
        None,
    )
    .ctx(step, "socket")?;
    // SAFETY: ifreq is plain old data; all zeroes is a valid value.
    let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in ifr.ifr_name.iter_mut().zip(name.bytes()) {
        *dst = src as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS on our socket with a valid, NUL-terminated ifreq.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut ifr) } < 0 {
        return Err(
            SysError::new(step, "ioctl SIOCGIFFLAGS", nix::errno::Errno::last_raw())
                .with_detail(name.to_string()),
        );
    }
    // SAFETY: the union member SIOCGIFFLAGS filled in.
    let flags = unsafe { ifr.ifr_ifru.ifru_flags };
    ifr.ifr_ifru.ifru_flags = flags | libc::IFF_UP as libc::c_short;
    // SAFETY: SIOCSIFFLAGS on our socket with the ifreq read above.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &ifr) } < 0 {
        return Err(
            SysError::new(step, "ioctl SIOCSIFFLAGS", nix::errno::Errno::last_raw())
                .with_detail(name.to_string()),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONTAINER: &str = "\
120 52 254:0 /tmp/cx/rootfs / rw,relatime - ext4 /dev/vda rw
122 120 0:59 / /proc rw,nosuid - proc proc rw
123 120 0:60 / /dev rw,nosuid - tmpfs tmpfs rw,mode=755
124 123 0:61 / /dev/pts rw - devpts devpts rw,gid=5
128 127 0:64 / /sys/fs/cgroup ro - tmpfs tmpfs ro,mode=755
129 128 0:35 /nsinit/t1 /sys/fs/cgroup/blkio ro - cgroup cgroup rw,blkio
130 128 0:29 /nsinit/t1 /sys/fs/cgroup/cpu,cpuacct ro - cgroup cgroup rw,cpu,cpuacct
131 128 0:37 /nsinit/t1 /sys/fs/cgroup/systemd ro - cgroup cgroup rw,xattr,name=systemd
137 128 0:38 /nsinit/t1 /sys/fs/cgroup/unified ro - cgroup2 cgroup2 rw
62 122 0:59 /bus /proc/bus ro - proc proc rw
85 122 0:60 /null /proc/keys rw - tmpfs tmpfs rw
90 120 254:0 /srv/my\\040data /data rw - ext4 /dev/vda rw
91 120 254:0 /tmp/cx/rootfs/a /b rw - ext4 /dev/vda rw
92 123 0:5 /null /dev/null rw - devtmpfs udev rw
";
    const HOST: &str = "\
23 1 254:0 / / rw - ext4 /dev/vda rw
24 23 0:5 / /dev rw - devtmpfs udev rw
38 31 0:35 / /sys/fs/cgroup/blkio rw - cgroup cgroup rw,blkio
";

    #[test]
    fn finds_external_mounts() {
        let ext = classify_mounts(&parse_mountinfo(CONTAINER), &parse_mountinfo(HOST));
        let points: Vec<&str> = ext.iter().map(|m| m.mountpoint.as_str()).collect();
        assert_eq!(
            points,
            [
                "/sys/fs/cgroup/blkio",
                "/sys/fs/cgroup/cpu,cpuacct",
                "/sys/fs/cgroup/systemd",
                "/sys/fs/cgroup/unified",
                "/data",
                "/dev/null"
            ]
        );
        assert_eq!(
            ext[1].kind,
            MountKind::Cgroup {
                controllers: vec!["cpu".into(), "cpuacct".into()]
            }
        );
        assert_eq!(
            ext[2].kind,
            MountKind::Cgroup {
                controllers: vec!["name=systemd".into()]
            }
        );
        assert_eq!(
            ext[4].kind,
            MountKind::Bind {
                source: "/srv/my data".into()
            }
        );
        assert_eq!(
            ext[5].kind,
            MountKind::Bind {
                source: "/dev/null".into()
            }
        );
    }

    #[test]
    fn prefixes() {
        assert!(path_within("/a/b", "/a"));
        assert!(path_within("/a", "/a"));
        assert!(!path_within("/ab", "/a"));
        assert!(path_within("/x", "/"));
    }

    #[test]
    fn record_round_trip() {
        let dir = std::env::temp_dir().join(format!("nsinit-ckpt-info-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut info = CheckpointInfo::new("c1", Config::default(), "/b");
        info.mounts.push(ExternalMount {
            mountpoint: "/sys/fs/cgroup/pids".into(),
            kind: MountKind::Cgroup {
                controllers: vec!["pids".into()],
            },
        });
        info.stdio.push(StdioFile {
            fd: 1,
            kind: StdioKind::File,
            key: "file[18:3]".into(),
            path: "/dev/null".into(),
            flags: libc::O_RDWR,
        });
        info.write(&dir).unwrap();
        let back = CheckpointInfo::read(&dir).unwrap();
        assert_eq!(back.mounts, info.mounts);
        assert_eq!(back.stdio, info.stdio);
        std::fs::remove_dir_all(&dir).unwrap();
        let e = CheckpointInfo::read(&dir).unwrap_err().to_string();
        assert!(e.contains("not a checkpoint taken by nsinit"), "{e}");
    }
}
