//! Changes applied on top of a config, as given on the `nsinit config` command
//! line (the flags of the original libcontainer `nsinit config`).
//!
//! Every value type parses from the command-line spelling with [`FromStr`], so a
//! command-line parser can use them directly:
//!
//! ```
//! use nsinit_configs::overrides::{BindMount, ByteSize, Overrides};
//! let mut config = nsinit_configs::default_config();
//! let overrides = Overrides {
//!     hostname: Some("box".into()),
//!     binds: vec!["/srv/data:/data:ro".parse().unwrap()],
//!     memory_limit: Some("512m".parse().unwrap()),
//!     ..Overrides::default()
//! };
//! overrides.apply(&mut config);
//! assert_eq!(config.hostname, "box");
//! assert_eq!(config.cgroups.memory, Some(512 << 20));
//! assert_eq!(config.mounts.last().unwrap().destination, "/data");
//! nsinit_configs::validate(&config).unwrap();
//! ```

use std::path::Path;
use std::str::FromStr;

use crate::model::*;

/// Why a command-line value could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError(msg.into()))
}

/// `SRC:DST[:ro|rw]`: a recursive bind mount of a host path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindMount {
    /// Host path (relative: to the current directory).
    pub source: String,
    /// Path inside the container.
    pub destination: String,
    /// Mount read-only (`:ro`).
    pub readonly: bool,
}

impl FromStr for BindMount {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        let parts: Vec<&str> = s.splitn(3, ':').collect();
        let (source, destination, mode) = match parts.as_slice() {
            [src, dst] => (*src, *dst, None),
            [src, dst, mode] => (*src, *dst, Some(*mode)),
            _ => return err(format!("bind mount {s:?} is not SRC:DST[:ro]")),
        };
        if source.is_empty() || destination.is_empty() {
            return err(format!("bind mount {s:?} is not SRC:DST[:ro]"));
        }
        let readonly = match mode {
            None | Some("rw") => false,
            Some("ro") => true,
            Some(other) => {
                return err(format!(
                    "bind mount mode {other:?} is neither \"ro\" nor \"rw\""
                ))
            }
        };
        Ok(BindMount {
            source: source.to_string(),
            destination: destination.to_string(),
            readonly,
        })
    }
}

impl BindMount {
    /// The mount entry: device `bind`, flags `bind rec` (+ `ro`). A relative
    /// source is made absolute against the current directory.
    pub fn to_mount(&self) -> Mount {
        let mut flags = MountFlags::default();
        flags.parse_option("rbind");
        if self.readonly {
            flags.parse_option("ro");
        }
        let source = if Path::new(&self.source).is_relative() {
            std::path::absolute(&self.source)
                .map(|p| p.display().to_string())
                .unwrap_or_else(|_| self.source.clone())
        } else {
            self.source.clone()
        };
        Mount {
            source,
            destination: self.destination.clone(),
            device: "bind".to_string(),
            flags,
            ..Mount::default()
        }
    }
}

/// `DST[:OPTIONS]`: a tmpfs mount. Mount flags start as `nosuid,nodev,noexec`;
/// `OPTIONS` (comma-separated) may change them (`exec`, `ro`, ...), set a
/// propagation (`rprivate`, ...) or pass filesystem options (`size=64m,mode=1777`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TmpfsMount {
    /// Path inside the container.
    pub destination: String,
    /// Comma-separated options as written after the `:`.
    pub options: String,
}

impl FromStr for TmpfsMount {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        let (destination, options) = s.split_once(':').unwrap_or((s, ""));
        if destination.is_empty() {
            return err(format!("tmpfs mount {s:?} is not DST[:OPTIONS]"));
        }
        Ok(TmpfsMount {
            destination: destination.to_string(),
            options: options.to_string(),
        })
    }
}

impl TmpfsMount {
    /// The mount entry.
    pub fn to_mount(&self) -> Mount {
        let mut flags = MountFlags::default();
        for f in ["nosuid", "nodev", "noexec"] {
            flags.parse_option(f);
        }
        let mut propagation_flags = Vec::new();
        let mut data = Vec::new();
        for opt in self.options.split(',').filter(|o| !o.is_empty()) {
            if let Some(p) = Propagation::from_name(opt) {
                propagation_flags.push(p);
            } else if !flags.parse_option(opt) {
                data.push(opt);
            }
        }
        Mount {
            source: "tmpfs".to_string(),
            destination: self.destination.clone(),
            device: "tmpfs".to_string(),
            flags,
            propagation_flags,
            data: data.join(","),
            relabel: String::new(),
        }
    }
}

/// `KEY=VALUE`: a sysctl.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sysctl {
    /// Name, e.g. `net.ipv4.ip_forward`.
    pub key: String,
    /// Value written to `/proc/sys/...`.
    pub value: String,
}

impl FromStr for Sysctl {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        match s.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok(Sysctl {
                key: k.to_string(),
                value: v.to_string(),
            }),
            _ => err(format!("sysctl {s:?} is not KEY=VALUE")),
        }
    }
}

/// A number of bytes with an optional binary suffix `k`, `m`, `g` or `t`
/// (optionally followed by `b`), or `-1` for unlimited.
///
/// ```
/// use nsinit_configs::overrides::ByteSize;
/// assert_eq!("64k".parse::<ByteSize>().unwrap().0, 65536);
/// assert_eq!("1G".parse::<ByteSize>().unwrap().0, 1 << 30);
/// assert_eq!("-1".parse::<ByteSize>().unwrap().0, -1);
/// assert!("12x".parse::<ByteSize>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteSize(pub i64);

impl FromStr for ByteSize {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        if s == "-1" {
            return Ok(ByteSize(-1));
        }
        let bad = || {
            ParseError(format!(
                "{s:?} is not a size (e.g. 4096, 64k, 512m, 2g, or -1)"
            ))
        };
        let lower = s.to_ascii_lowercase();
        let body = lower.strip_suffix('b').unwrap_or(&lower);
        let (digits, shift) = match body.char_indices().last() {
            Some((i, 'k')) => (&body[..i], 10),
            Some((i, 'm')) => (&body[..i], 20),
            Some((i, 'g')) => (&body[..i], 30),
            Some((i, 't')) => (&body[..i], 40),
            _ => (body, 0),
        };
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(bad());
        }
        let n: i64 = digits.parse().map_err(|_| bad())?;
        n.checked_mul(1i64 << shift).map(ByteSize).ok_or_else(bad)
    }
}

/// What to do with one namespace: share the host's, create a new one, or join
/// the one at a path (`/proc/<pid>/ns/<type>` or a bind mount of it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamespaceMode {
    /// `host`: no namespace of this type (shared with the runtime).
    Host,
    /// `private`: a new namespace.
    New,
    /// Any other value: join the namespace at this path.
    Join(String),
}

impl FromStr for NamespaceMode {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        match s {
            "" => err("a namespace is \"host\", \"private\" or a path"),
            "host" => Ok(NamespaceMode::Host),
            "private" | "new" => Ok(NamespaceMode::New),
            path => Ok(NamespaceMode::Join(path.to_string())),
        }
    }
}

/// Parses a signal name (`SIGKILL`, `KILL`) or number, for command-line parsers.
pub fn parse_signal(s: &str) -> Result<Signal, ParseError> {
    Signal::parse(s).ok_or_else(|| ParseError(format!("{s:?} is not a signal")))
}

/// Size of the id ranges that `--userns-root-uid` maps.
pub const USERNS_MAP_SIZE: u32 = 65536;

/// Changes to apply to a config. Empty / `None` fields change nothing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    /// Root filesystem path.
    pub rootfs: Option<String>,
    /// Hostname.
    pub hostname: Option<String>,
    /// Make the root filesystem read-only.
    pub read_only: bool,
    /// Bind mounts to add.
    pub binds: Vec<BindMount>,
    /// tmpfs mounts to add.
    pub tmpfs: Vec<TmpfsMount>,
    /// Sysctls to set.
    pub sysctls: Vec<Sysctl>,
    /// Additional groups to add.
    pub groups: Vec<String>,
    /// `cgroups.memory`.
    pub memory_limit: Option<ByteSize>,
    /// `cgroups.memory_swap`.
    pub memory_swap: Option<ByteSize>,
    /// `cgroups.cpu_shares`.
    pub cpu_shares: Option<u64>,
    /// `cgroups.cpuset_cpus`.
    pub cpuset_cpus: Option<String>,
    /// `cgroups.cpuset_mems`.
    pub cpuset_mems: Option<String>,
    /// `cgroups.pids_limit`.
    pub pids_limit: Option<i64>,
    /// `cgroups.parent`.
    pub cgroup_parent: Option<String>,
    /// `cgroups.path`.
    pub cgroup_path: Option<String>,
    /// Per-type namespace changes, applied in order.
    pub namespaces: Vec<(NamespaceType, NamespaceMode)>,
    /// Create a user namespace whose root is this host uid (and gid), mapping
    /// [`USERNS_MAP_SIZE`] ids.
    pub userns_root_uid: Option<u32>,
    /// Host bridge of a veth network.
    pub veth_bridge: Option<String>,
    /// IPv4 address with prefix of the veth network.
    pub veth_address: Option<String>,
    /// IPv4 gateway of the veth network.
    pub veth_gateway: Option<String>,
    /// MTU of the veth network.
    pub veth_mtu: Option<u32>,
    /// `parent_death_signal`.
    pub parent_death_signal: Option<Signal>,
    /// `apparmor_profile`.
    pub apparmor_profile: Option<String>,
    /// `process_label`.
    pub process_label: Option<String>,
    /// `mount_label`.
    pub mount_label: Option<String>,
}

impl Overrides {
    /// Whether a veth network is asked for (any `veth_*` field is set).
    pub fn wants_veth(&self) -> bool {
        self.veth_bridge.is_some()
            || self.veth_address.is_some()
            || self.veth_gateway.is_some()
            || self.veth_mtu.is_some()
    }

    /// Applies the changes. Namespace changes keep the config consistent:
    /// `host` for the network namespace drops the networks and routes, `host`
    /// for UTS drops the hostname (unless one is given), joining a network
    /// namespace drops the networks (the joined namespace is already set up),
    /// a new network namespace gets a loopback network.
    pub fn apply(&self, c: &mut Config) {
        if let Some(r) = &self.rootfs {
            c.rootfs = r.clone();
        }
        if self.read_only {
            c.readonlyfs = true;
        }
        for (kind, mode) in &self.namespaces {
            apply_namespace(c, *kind, mode);
            if *kind == NamespaceType::Uts && *mode == NamespaceMode::Host {
                c.hostname.clear();
            }
        }
        if let Some(h) = &self.hostname {
            c.hostname = h.clone();
        }
        if let Some(uid) = self.userns_root_uid {
            apply_namespace(c, NamespaceType::User, &NamespaceMode::New);
            let map = IdMap {
                container_id: 0,
                host_id: uid,
                size: USERNS_MAP_SIZE,
            };
            c.uid_mappings = vec![map];
            c.gid_mappings = vec![map];
        }
        c.mounts.extend(self.binds.iter().map(BindMount::to_mount));
        c.mounts.extend(self.tmpfs.iter().map(TmpfsMount::to_mount));
        for s in &self.sysctls {
            c.sysctl.insert(s.key.clone(), s.value.clone());
        }
        c.additional_groups.extend(self.groups.iter().cloned());

        let cg = &mut c.cgroups;
        if let Some(m) = self.memory_limit {
            cg.memory = Some(m.0);
        }
        if let Some(m) = self.memory_swap {
            cg.memory_swap = Some(m.0);
        }
        if let Some(s) = self.cpu_shares {
            cg.cpu_shares = Some(s);
        }
        if let Some(s) = &self.cpuset_cpus {
            cg.cpuset_cpus = s.clone();
        }
        if let Some(s) = &self.cpuset_mems {
            cg.cpuset_mems = s.clone();
        }
        if let Some(p) = self.pids_limit {
            cg.pids_limit = Some(p);
        }
        if let Some(p) = &self.cgroup_parent {
            cg.parent = p.clone();
        }
        if let Some(p) = &self.cgroup_path {
            cg.path = p.clone();
        }

        if self.wants_veth() {
            let mut net = Network::loopback();
            net.kind = NetworkType::Veth;
            net.name = "eth0".to_string();
            net.bridge = self.veth_bridge.clone().unwrap_or_default();
            net.address = self.veth_address.clone().unwrap_or_default();
            net.gateway = self.veth_gateway.clone().unwrap_or_default();
            net.mtu = self.veth_mtu.unwrap_or(0);
            c.networks.push(net);
        }
        if let Some(s) = self.parent_death_signal {
            c.parent_death_signal = s;
        }
        if let Some(p) = &self.apparmor_profile {
            c.apparmor_profile = p.clone();
        }
        if let Some(p) = &self.process_label {
            c.process_label = p.clone();
        }
        if let Some(p) = &self.mount_label {
            c.mount_label = p.clone();
        }
    }
}

fn apply_namespace(c: &mut Config, kind: NamespaceType, mode: &NamespaceMode) {
    let pos = c.namespaces.iter().position(|n| n.kind == kind);
    match mode {
        NamespaceMode::Host => {
            c.namespaces.retain(|n| n.kind != kind);
            if kind == NamespaceType::Net {
                c.networks.clear();
                c.routes.clear();
            }
        }
        NamespaceMode::New | NamespaceMode::Join(_) => {
            let path = match mode {
                NamespaceMode::Join(p) => p.clone(),
                _ => String::new(),
            };
            match pos {
                Some(i) => c.namespaces[i].path = path.clone(),
                None => c.namespaces.push(Namespace {
                    kind,
                    path: path.clone(),
                }),
            }
            if kind == NamespaceType::Net {
                if path.is_empty() {
                    if !c.networks.iter().any(|n| n.kind == NetworkType::Loopback) {
                        c.networks.insert(0, Network::loopback());
                    }
                } else {
                    c.networks.clear();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_specs() {
        let b: BindMount = "/a:/b:ro".parse().unwrap();
        assert!(b.readonly);
        let m = b.to_mount();
        assert!(m
            .flags
            .contains(libc::MS_BIND | libc::MS_REC | libc::MS_RDONLY));
        assert!("/a".parse::<BindMount>().is_err());
        assert!("/a:/b:rx".parse::<BindMount>().is_err());
        assert!(":/b".parse::<BindMount>().is_err());
        let rel = "data:/data".parse::<BindMount>().unwrap().to_mount();
        assert!(rel.source.starts_with('/'), "{}", rel.source);
    }

    #[test]
    fn tmpfs_specs() {
        let m = "/run:exec,size=64m,mode=755,rshared"
            .parse::<TmpfsMount>()
            .unwrap()
            .to_mount();
        assert!(m.flags.contains(libc::MS_NOSUID | libc::MS_NODEV));
        assert!(!m.flags.contains(libc::MS_NOEXEC));
        assert_eq!(m.data, "size=64m,mode=755");
        assert_eq!(m.propagation_flags, vec![Propagation::Rshared]);
        assert!("".parse::<TmpfsMount>().is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!("4096".parse::<ByteSize>().unwrap().0, 4096);
        assert_eq!("512mb".parse::<ByteSize>().unwrap().0, 512 << 20);
        assert!("k".parse::<ByteSize>().is_err());
        assert!("-2".parse::<ByteSize>().is_err());
        assert!("99999999999t".parse::<ByteSize>().is_err());
    }

    #[test]
    fn namespaces_stay_consistent() {
        let mut c = crate::default_config();
        Overrides {
            namespaces: vec![
                (NamespaceType::Net, NamespaceMode::Host),
                (NamespaceType::Uts, NamespaceMode::Host),
                (
                    NamespaceType::Pid,
                    NamespaceMode::Join("/proc/1/ns/pid".into()),
                ),
            ],
            ..Overrides::default()
        }
        .apply(&mut c);
        assert!(c.networks.is_empty());
        assert!(c.hostname.is_empty());
        assert_eq!(
            c.namespace(NamespaceType::Pid).unwrap().path,
            "/proc/1/ns/pid"
        );
        crate::validate(&c).unwrap();
    }

    #[test]
    fn userns_and_veth() {
        let mut c = crate::default_config();
        Overrides {
            userns_root_uid: Some(100000),
            veth_bridge: Some("br0".into()),
            veth_address: Some("10.0.0.2/24".into()),
            veth_gateway: Some("10.0.0.1".into()),
            veth_mtu: Some(1500),
            ..Overrides::default()
        }
        .apply(&mut c);
        assert_eq!(c.uid_mappings[0].host_id, 100000);
        assert_eq!(c.gid_mappings[0].size, USERNS_MAP_SIZE);
        assert!(c.has_namespace(NamespaceType::User));
        assert_eq!(c.networks[1].kind, NetworkType::Veth);
        crate::validate(&c).unwrap();
    }
}
