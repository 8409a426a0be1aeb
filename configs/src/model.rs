//! The serde types of the libcontainer `container.json` format.
//!
//! Every struct rejects unknown keys, so a misspelt key is an error with a line
//! and a column rather than a silently ignored setting. Optional keys have
//! defaults so that a minimal config is short.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

pub use crate::flags::{MountFlags, Propagation};

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero_u32(v: &u32) -> bool {
    *v == 0
}

/// A whole container configuration (`container.json`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Path of the root filesystem. A relative path is taken relative to the
    /// directory of the config file.
    pub rootfs: String,

    /// Make the root filesystem read-only.
    #[serde(default, skip_serializing_if = "is_false")]
    pub readonlyfs: bool,

    /// Use `MS_MOVE` + `chroot` instead of `pivot_root`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub no_pivot_root: bool,

    /// Kept for compatibility with libcontainer configs; the runtime pivots without
    /// a helper directory, so a value here is only validated.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub pivot_dir: String,

    /// Signal the init receives when the process that started it dies (0: none).
    #[serde(default, skip_serializing_if = "Signal::is_none")]
    pub parent_death_signal: Signal,

    /// Propagation of the container's root mount (default: `rslave`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rootfs_propagation: Option<Propagation>,

    /// Mounts made inside the rootfs, in order.
    #[serde(default)]
    pub mounts: Vec<Mount>,

    /// Device nodes created under `/dev`.
    #[serde(default)]
    pub devices: Vec<Device>,

    /// SELinux label of the mounts (recorded; labels need an SELinux host).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub mount_label: String,

    /// Hostname inside the container (needs `NEWUTS`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hostname: String,

    /// Namespaces to create, or to join when a path is given. A type that is not
    /// listed is shared with the runtime.
    #[serde(default)]
    pub namespaces: Vec<Namespace>,

    /// Capabilities the container keeps; everything else is dropped.
    #[serde(default)]
    pub capabilities: Capabilities,

    /// Network interfaces set up in a new network namespace.
    #[serde(default)]
    pub networks: Vec<Network>,

    /// Routes added inside the container after its interfaces are up.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<Route>,

    /// Control groups of the container and their resource limits.
    #[serde(default)]
    pub cgroups: Cgroups,

    /// AppArmor profile applied at exec (needs an AppArmor host).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub apparmor_profile: String,

    /// SELinux label of the process (needs an SELinux host).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub process_label: String,

    /// Resource limits of the container's processes.
    #[serde(default)]
    pub rlimits: Vec<Rlimit>,

    /// `/proc/self/oom_score_adj` of the init.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oom_score_adj: Option<i32>,

    /// Supplementary groups (names from the container's `/etc/group`, or numbers).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub additional_groups: Vec<String>,

    /// User namespace uid mappings (needs `NEWUSER`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uid_mappings: Vec<IdMap>,

    /// User namespace gid mappings (needs `NEWUSER`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gid_mappings: Vec<IdMap>,

    /// Paths made unreadable by binding `/dev/null` (files) or an empty read-only
    /// tmpfs (directories) over them.
    #[serde(default)]
    pub mask_paths: Vec<String>,

    /// Paths bound read-only onto themselves.
    #[serde(default)]
    pub readonly_paths: Vec<String>,

    /// Kernel parameters set in the container's namespaces, e.g.
    /// `{"net.ipv4.ip_forward": "1"}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sysctl: BTreeMap<String, String>,

    /// A seccomp filter installed just before exec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seccomp: Option<Seccomp>,

    /// Commands run by the runtime at points of the container's life.
    #[serde(default, skip_serializing_if = "Hooks::is_empty")]
    pub hooks: Hooks,

    /// Set `PR_SET_NO_NEW_PRIVS` before exec.
    #[serde(default, skip_serializing_if = "is_false")]
    pub no_new_privileges: bool,

    /// The process the container runs when the command line names none (filled
    /// in by the OCI conversion from the bundle's `process`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<ProcessDefaults>,
}

impl Config {
    /// The entry of `namespaces` of this type, if any.
    pub fn namespace(&self, kind: NamespaceType) -> Option<&Namespace> {
        self.namespaces.iter().find(|n| n.kind == kind)
    }

    /// Whether the container has (creates or joins) a namespace of this type.
    pub fn has_namespace(&self, kind: NamespaceType) -> bool {
        self.namespace(kind).is_some()
    }
}

/// The default process of a container: what to run when no command is given.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessDefaults {
    /// Program and arguments; the program is looked up in the container's `PATH`.
    #[serde(default)]
    pub args: Vec<String>,
    /// Environment as `KEY=VALUE`.
    #[serde(default)]
    pub env: Vec<String>,
    /// Working directory inside the container.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cwd: String,
    /// `uid`, `uid:gid`, `name` or `name:group`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub user: String,
    /// Allocate a pseudo terminal.
    #[serde(default, skip_serializing_if = "is_false")]
    pub terminal: bool,
}

/// One mount inside the rootfs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mount {
    /// Source: a host path for bind mounts, a device or a name otherwise.
    #[serde(default)]
    pub source: String,
    /// Absolute path inside the container.
    pub destination: String,
    /// Filesystem type (`proc`, `tmpfs`, ...), or `bind`.
    #[serde(alias = "type")]
    pub device: String,
    /// `MS_*` flags, as a number or a list of names.
    #[serde(default)]
    pub flags: MountFlags,
    /// Propagation applied to the mount point after mounting.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub propagation_flags: Vec<Propagation>,
    /// Filesystem-specific options, e.g. `"mode=755,size=65536k"`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub data: String,
    /// SELinux relabelling (`z` / `Z`); recorded only.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub relabel: String,
}

impl Mount {
    /// Whether this is a bind mount (`device` is `bind`, or `MS_BIND` is set).
    pub fn is_bind(&self) -> bool {
        self.device == "bind" || self.flags.contains(libc::MS_BIND)
    }
}

/// Kind of a device node or device cgroup rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceType {
    /// `c`: character device.
    Char,
    /// `b`: block device.
    Block,
    /// `p`: FIFO.
    Fifo,
    /// `a`: every device (cgroup rules only).
    All,
}

impl DeviceType {
    /// The letter used in the config and in `devices.allow`.
    pub fn letter(self) -> char {
        match self {
            DeviceType::Char => 'c',
            DeviceType::Block => 'b',
            DeviceType::Fifo => 'p',
            DeviceType::All => 'a',
        }
    }

    /// Parses the letter form (also accepts the libcontainer rune code, e.g. 99).
    pub fn from_letter(c: char) -> Option<DeviceType> {
        match c {
            'c' | 'u' => Some(DeviceType::Char),
            'b' => Some(DeviceType::Block),
            'p' => Some(DeviceType::Fifo),
            'a' => Some(DeviceType::All),
            _ => None,
        }
    }
}

impl Serialize for DeviceType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.letter().to_string())
    }
}

impl<'de> Deserialize<'de> for DeviceType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = DeviceType;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a device type: \"c\", \"b\", \"p\" or \"a\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<DeviceType, E> {
                let mut chars = v.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => DeviceType::from_letter(c),
                    _ => None,
                }
                .ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<DeviceType, E> {
                u32::try_from(v)
                    .ok()
                    .and_then(char::from_u32)
                    .and_then(DeviceType::from_letter)
                    .ok_or_else(|| E::invalid_value(de::Unexpected::Unsigned(v), &self))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<DeviceType, E> {
                u64::try_from(v)
                    .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
                    .and_then(|v| self.visit_u64(v))
            }
        }
        d.deserialize_any(V)
    }
}

fn default_true() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

/// A device node to create, or (in `cgroups.allowed_devices`) a device cgroup rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Device {
    /// `c`, `b`, `p`, or `a` (rules only).
    #[serde(rename = "type")]
    pub kind: DeviceType,
    /// Path of the node inside the container (empty for a pure cgroup rule).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub path: String,
    /// Major number; `-1` is the wildcard `*` in cgroup rules.
    #[serde(default)]
    pub major: i64,
    /// Minor number; `-1` is the wildcard `*` in cgroup rules.
    #[serde(default)]
    pub minor: i64,
    /// Cgroup access: any of `r`, `w`, `m`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub permissions: String,
    /// Mode bits of the node (e.g. 438 = 0o666).
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub file_mode: u32,
    /// Owner of the node, as seen inside the container.
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub uid: u32,
    /// Group of the node, as seen inside the container.
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub gid: u32,
    /// For cgroup rules: allow (true) or deny (false).
    #[serde(default = "default_true", skip_serializing_if = "is_true")]
    pub allow: bool,
}

impl Device {
    /// The `devices.allow` / `devices.deny` line of this rule, e.g. `c 1:3 rwm`.
    pub fn cgroup_rule(&self) -> String {
        let num = |n: i64| {
            if n < 0 {
                "*".to_string()
            } else {
                n.to_string()
            }
        };
        if self.kind == DeviceType::All {
            return "a".to_string();
        }
        let perms = if self.permissions.is_empty() {
            "rwm"
        } else {
            self.permissions.as_str()
        };
        format!(
            "{} {}:{} {}",
            self.kind.letter(),
            num(self.major),
            num(self.minor),
            perms
        )
    }
}

/// A namespace type of the libcontainer format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum NamespaceType {
    #[serde(rename = "NEWNS")]
    Mount,
    #[serde(rename = "NEWUTS")]
    Uts,
    #[serde(rename = "NEWIPC")]
    Ipc,
    #[serde(rename = "NEWPID")]
    Pid,
    #[serde(rename = "NEWNET")]
    Net,
    #[serde(rename = "NEWUSER")]
    User,
    #[serde(rename = "NEWCGROUP")]
    Cgroup,
}

impl NamespaceType {
    /// All types, in the order in which a joining process enters them (user first).
    pub const ALL: [NamespaceType; 7] = [
        NamespaceType::User,
        NamespaceType::Ipc,
        NamespaceType::Uts,
        NamespaceType::Net,
        NamespaceType::Pid,
        NamespaceType::Mount,
        NamespaceType::Cgroup,
    ];

    /// The `CLONE_NEW*` flag.
    pub fn clone_flag(self) -> i32 {
        match self {
            NamespaceType::Mount => libc::CLONE_NEWNS,
            NamespaceType::Uts => libc::CLONE_NEWUTS,
            NamespaceType::Ipc => libc::CLONE_NEWIPC,
            NamespaceType::Pid => libc::CLONE_NEWPID,
            NamespaceType::Net => libc::CLONE_NEWNET,
            NamespaceType::User => libc::CLONE_NEWUSER,
            NamespaceType::Cgroup => libc::CLONE_NEWCGROUP,
        }
    }

    /// The file name under `/proc/<pid>/ns/`.
    pub fn proc_name(self) -> &'static str {
        match self {
            NamespaceType::Mount => "mnt",
            NamespaceType::Uts => "uts",
            NamespaceType::Ipc => "ipc",
            NamespaceType::Pid => "pid",
            NamespaceType::Net => "net",
            NamespaceType::User => "user",
            NamespaceType::Cgroup => "cgroup",
        }
    }

    /// The name as written in the config (`NEWNS`, ...).
    pub fn config_name(self) -> &'static str {
        match self {
            NamespaceType::Mount => "NEWNS",
            NamespaceType::Uts => "NEWUTS",
            NamespaceType::Ipc => "NEWIPC",
            NamespaceType::Pid => "NEWPID",
            NamespaceType::Net => "NEWNET",
            NamespaceType::User => "NEWUSER",
            NamespaceType::Cgroup => "NEWCGROUP",
        }
    }
}

impl fmt::Display for NamespaceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.config_name())
    }
}

/// A namespace to create (no path) or to join (path of a `/proc/<pid>/ns/*` file
/// or a bind mount of one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Namespace {
    #[serde(rename = "type")]
    pub kind: NamespaceType,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub path: String,
}

impl Namespace {
    /// A namespace of this type that the container creates.
    pub fn new(kind: NamespaceType) -> Namespace {
        Namespace {
            kind,
            path: String::new(),
        }
    }
}

/// The capability sets the container keeps. In JSON either a list of names
/// (libcontainer's whitelist: bounding, effective, permitted and inheritable get
/// the list, ambient stays empty) or an object with the five sets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities {
    pub bounding: Vec<String>,
    pub effective: Vec<String>,
    pub permitted: Vec<String>,
    pub inheritable: Vec<String>,
    pub ambient: Vec<String>,
}

impl Capabilities {
    /// The libcontainer whitelist form: one list for every set but ambient.
    pub fn from_list(list: Vec<String>) -> Capabilities {
        Capabilities {
            bounding: list.clone(),
            effective: list.clone(),
            permitted: list.clone(),
            inheritable: list,
            ambient: Vec::new(),
        }
    }

    /// Whether the sets have the whitelist shape (written back as a plain list).
    pub fn is_list_form(&self) -> bool {
        self.ambient.is_empty()
            && self.effective == self.bounding
            && self.permitted == self.bounding
            && self.inheritable == self.bounding
    }

    /// Every set with its name, for validation and reporting.
    pub fn sets(&self) -> [(&'static str, &Vec<String>); 5] {
        [
            ("bounding", &self.bounding),
            ("effective", &self.effective),
            ("permitted", &self.permitted),
            ("inheritable", &self.inheritable),
            ("ambient", &self.ambient),
        ]
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CapabilitySets {
    #[serde(default)]
    bounding: Vec<String>,
    #[serde(default)]
    effective: Vec<String>,
    #[serde(default)]
    permitted: Vec<String>,
    #[serde(default)]
    inheritable: Vec<String>,
    #[serde(default)]
    ambient: Vec<String>,
}

impl Serialize for Capabilities {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.is_list_form() {
            return self.bounding.serialize(s);
        }
        CapabilitySets {
            bounding: self.bounding.clone(),
            effective: self.effective.clone(),
            permitted: self.permitted.clone(),
            inheritable: self.inheritable.clone(),
            ambient: self.ambient.clone(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Capabilities {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Capabilities;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of capability names or an object of capability sets")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Capabilities, A::Error> {
                let list = Vec::<String>::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
                Ok(Capabilities::from_list(list))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Capabilities, A::Error> {
                let s = CapabilitySets::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(Capabilities {
                    bounding: s.bounding,
                    effective: s.effective,
                    permitted: s.permitted,
                    inheritable: s.inheritable,
                    ambient: s.ambient,
                })
            }
        }
        d.deserialize_any(V)
    }
}

/// Kind of a network interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NetworkType {
    /// The namespace's `lo`, brought up.
    Loopback,
    /// A veth pair: one end on the host (optionally in a bridge), one inside.
    Veth,
}

/// A network interface of the container.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    #[serde(rename = "type")]
    pub kind: NetworkType,
    /// Interface name inside the container (veth; default `eth0`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Host bridge the host end joins.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub bridge: String,
    /// MAC address of the inside end.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub mac_address: String,
    /// IPv4 address with prefix, e.g. `10.0.0.2/24`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub address: String,
    /// IPv4 default gateway.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub gateway: String,
    /// IPv6 address with prefix.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ipv6_address: String,
    /// IPv6 default gateway.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ipv6_gateway: String,
    /// MTU of both ends (0: kernel default).
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub mtu: u32,
    /// Transmit queue length (0: kernel default).
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub txqueuelen: u32,
    /// Name of the host end (default: generated from the container id).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub host_interface_name: String,
    /// Hairpin mode on the bridge port.
    #[serde(default, skip_serializing_if = "is_false")]
    pub hairpin_mode: bool,
}

impl Network {
    /// The loopback entry.
    pub fn loopback() -> Network {
        Network {
            kind: NetworkType::Loopback,
            name: String::new(),
            bridge: String::new(),
            mac_address: String::new(),
            address: String::new(),
            gateway: String::new(),
            ipv6_address: String::new(),
            ipv6_gateway: String::new(),
            mtu: 0,
            txqueuelen: 0,
            host_interface_name: String::new(),
            hairpin_mode: false,
        }
    }
}

/// A route inside the container.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// Destination with prefix (`0.0.0.0/0` for a default route).
    pub destination: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub gateway: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub interface_name: String,
}

/// A throttle or weight entry for one block device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlkioDeviceLimit {
    pub major: u64,
    pub minor: u64,
    /// Bytes or operations per second (throttle), or a weight.
    pub rate: u64,
}

/// Control groups of the container. The cgroup path is `path` when set, else
/// `<parent>/<name>` where name defaults to the container id and parent to
/// `/nsinit`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cgroups {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub parent: String,
    /// Full cgroup path (overrides parent/name), e.g. `/mygroup/ctr1`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub path: String,

    /// Allow every device (no device cgroup rules).
    #[serde(default, skip_serializing_if = "is_false")]
    pub allow_all_devices: bool,
    /// Device cgroup rules, applied in order after denying everything.
    #[serde(default)]
    pub allowed_devices: Vec<Device>,

    /// Memory limit in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<i64>,
    /// Soft memory limit in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_reservation: Option<i64>,
    /// Memory + swap limit in bytes (-1: unlimited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_swap: Option<i64>,
    /// Swappiness 0..=100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_swappiness: Option<u64>,
    /// Disable the OOM killer for the cgroup.
    #[serde(default, skip_serializing_if = "is_false")]
    pub oom_kill_disable: bool,

    /// Relative CPU weight (v1 shares, 2..=262144).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_shares: Option<u64>,
    /// CPU time in microseconds per period (-1: unlimited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_quota: Option<i64>,
    /// CFS period in microseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_period: Option<u64>,
    /// Real-time runtime in microseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_rt_runtime: Option<i64>,
    /// Real-time period in microseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_rt_period: Option<u64>,
    /// CPUs the container may use, e.g. `0-1`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cpuset_cpus: String,
    /// Memory nodes the container may use, e.g. `0`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cpuset_mems: String,

    /// Block I/O weight 10..=1000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blkio_weight: Option<u16>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blkio_throttle_read_bps_device: Vec<BlkioDeviceLimit>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blkio_throttle_write_bps_device: Vec<BlkioDeviceLimit>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blkio_throttle_read_iops_device: Vec<BlkioDeviceLimit>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blkio_throttle_write_iops_device: Vec<BlkioDeviceLimit>,

    /// Maximum number of tasks (-1 or absent: unlimited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pids_limit: Option<i64>,

    /// Initial freezer state (`FROZEN` or `THAWED`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freezer: Option<FreezerState>,
}

/// Freezer state of a cgroup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum FreezerState {
    Frozen,
    Thawed,
}

/// A resource limit. `type` is a name (`RLIMIT_NOFILE`) or the number of the
/// resource as libcontainer wrote it; `hard`/`soft` take `-1` for unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rlimit {
    #[serde(rename = "type")]
    pub kind: RlimitType,
    #[serde(deserialize_with = "de_rlim")]
    pub hard: u64,
    #[serde(deserialize_with = "de_rlim")]
    pub soft: u64,
}

fn de_rlim<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    struct V;
    impl Visitor<'_> for V {
        type Value = u64;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a non-negative limit or -1 for unlimited")
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
            Ok(v)
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
            match v {
                -1 => Ok(u64::MAX),
                v if v >= 0 => Ok(v as u64),
                _ => Err(E::invalid_value(de::Unexpected::Signed(v), &self)),
            }
        }
    }
    d.deserialize_any(V)
}

/// The resources of `setrlimit(2)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RlimitType {
    Cpu,
    Fsize,
    Data,
    Stack,
    Core,
    Rss,
    Nproc,
    Nofile,
    Memlock,
    As,
    Locks,
    Sigpending,
    Msgqueue,
    Nice,
    Rtprio,
    Rttime,
}

impl RlimitType {
    /// Every type, in the kernel's numbering order (`RLIMIT_CPU` = 0 ...).
    pub const ALL: [RlimitType; 16] = [
        RlimitType::Cpu,
        RlimitType::Fsize,
        RlimitType::Data,
        RlimitType::Stack,
        RlimitType::Core,
        RlimitType::Rss,
        RlimitType::Nproc,
        RlimitType::Nofile,
        RlimitType::Memlock,
        RlimitType::As,
        RlimitType::Locks,
        RlimitType::Sigpending,
        RlimitType::Msgqueue,
        RlimitType::Nice,
        RlimitType::Rtprio,
        RlimitType::Rttime,
    ];

    /// The resource number passed to `setrlimit(2)` on Linux.
    pub fn resource(self) -> u32 {
        self as u32
    }

    /// The name, e.g. `RLIMIT_NOFILE`.
    pub fn name(self) -> &'static str {
        match self {
            RlimitType::Cpu => "RLIMIT_CPU",
            RlimitType::Fsize => "RLIMIT_FSIZE",
            RlimitType::Data => "RLIMIT_DATA",
            RlimitType::Stack => "RLIMIT_STACK",
            RlimitType::Core => "RLIMIT_CORE",
            RlimitType::Rss => "RLIMIT_RSS",
            RlimitType::Nproc => "RLIMIT_NPROC",
            RlimitType::Nofile => "RLIMIT_NOFILE",
            RlimitType::Memlock => "RLIMIT_MEMLOCK",
            RlimitType::As => "RLIMIT_AS",
            RlimitType::Locks => "RLIMIT_LOCKS",
            RlimitType::Sigpending => "RLIMIT_SIGPENDING",
            RlimitType::Msgqueue => "RLIMIT_MSGQUEUE",
            RlimitType::Nice => "RLIMIT_NICE",
            RlimitType::Rtprio => "RLIMIT_RTPRIO",
            RlimitType::Rttime => "RLIMIT_RTTIME",
        }
    }

    /// Parses `RLIMIT_NOFILE` or `nofile` (any case).
    pub fn from_name(name: &str) -> Option<RlimitType> {
        let upper = name.to_ascii_uppercase();
        let full = if upper.starts_with("RLIMIT_") {
            upper
        } else {
            format!("RLIMIT_{upper}")
        };
        RlimitType::ALL.into_iter().find(|t| t.name() == full)
    }
}

impl Serialize for RlimitType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for RlimitType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = RlimitType;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an rlimit name such as \"RLIMIT_NOFILE\" or its number")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RlimitType, E> {
                RlimitType::from_name(v)
                    .ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RlimitType, E> {
                usize::try_from(v)
                    .ok()
                    .and_then(|i| RlimitType::ALL.get(i).copied())
                    .ok_or_else(|| E::invalid_value(de::Unexpected::Unsigned(v), &self))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RlimitType, E> {
                u64::try_from(v)
                    .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
                    .and_then(|v| self.visit_u64(v))
            }
        }
        d.deserialize_any(V)
    }
}

/// A signal, written as a number or a name (`SIGKILL`, `KILL`); 0 means none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Signal(pub i32);

/// Signal names and numbers on Linux (x86_64 / aarch64 numbering).
pub const SIGNAL_NAMES: &[(&str, i32)] = &[
    ("SIGHUP", libc::SIGHUP),
    ("SIGINT", libc::SIGINT),
    ("SIGQUIT", libc::SIGQUIT),
    ("SIGILL", libc::SIGILL),
    ("SIGTRAP", libc::SIGTRAP),
    ("SIGABRT", libc::SIGABRT),
    ("SIGBUS", libc::SIGBUS),
    ("SIGFPE", libc::SIGFPE),
    ("SIGKILL", libc::SIGKILL),
    ("SIGUSR1", libc::SIGUSR1),
    ("SIGSEGV", libc::SIGSEGV),
    ("SIGUSR2", libc::SIGUSR2),
    ("SIGPIPE", libc::SIGPIPE),
    ("SIGALRM", libc::SIGALRM),
    ("SIGTERM", libc::SIGTERM),
    ("SIGSTKFLT", libc::SIGSTKFLT),
    ("SIGCHLD", libc::SIGCHLD),
    ("SIGCONT", libc::SIGCONT),
    ("SIGSTOP", libc::SIGSTOP),
    ("SIGTSTP", libc::SIGTSTP),
    ("SIGTTIN", libc::SIGTTIN),
    ("SIGTTOU", libc::SIGTTOU),
    ("SIGURG", libc::SIGURG),
    ("SIGXCPU", libc::SIGXCPU),
    ("SIGXFSZ", libc::SIGXFSZ),
    ("SIGVTALRM", libc::SIGVTALRM),
    ("SIGPROF", libc::SIGPROF),
    ("SIGWINCH", libc::SIGWINCH),
    ("SIGIO", libc::SIGIO),
    ("SIGPWR", libc::SIGPWR),
    ("SIGSYS", libc::SIGSYS),
];

impl Signal {
    /// No signal.
    pub fn is_none(&self) -> bool {
        self.0 == 0
    }

    /// Parses `SIGKILL`, `KILL`, `kill`, `9`, or a real-time `SIGRTMIN+3`.
    pub fn parse(s: &str) -> Option<Signal> {
        if let Ok(n) = s.parse::<i32>() {
            return (0..=libc::SIGRTMAX()).contains(&n).then_some(Signal(n));
        }
        let upper = s.to_ascii_uppercase();
        let full = if upper.starts_with("SIG") {
            upper
        } else {
            format!("SIG{upper}")
        };
        if let Some(rest) = full.strip_prefix("SIGRTMIN") {
            let off = if rest.is_empty() {
                0
            } else {
                rest.strip_prefix('+')?.parse::<i32>().ok()?
            };
            let n = libc::SIGRTMIN() + off;
            return (n <= libc::SIGRTMAX()).then_some(Signal(n));
        }
        SIGNAL_NAMES
            .iter()
            .find(|(name, _)| *name == full)
            .map(|(_, n)| Signal(*n))
    }

    /// The name of the signal, if it has one.
    pub fn name(self) -> Option<&'static str> {
        SIGNAL_NAMES
            .iter()
            .find(|(_, n)| *n == self.0)
            .map(|(name, _)| *name)
    }
}

impl Serialize for Signal {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.name() {
            Some(n) => s.serialize_str(n),
            None => s.serialize_i32(self.0),
        }
    }
}

impl<'de> Deserialize<'de> for Signal {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Signal;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a signal name such as \"SIGKILL\" or its number")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Signal, E> {
                Signal::parse(v).ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Signal, E> {
                i32::try_from(v)
                    .ok()
                    .filter(|n| *n <= libc::SIGRTMAX())
                    .map(Signal)
                    .ok_or_else(|| E::invalid_value(de::Unexpected::Unsigned(v), &self))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Signal, E> {
                u64::try_from(v)
                    .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
                    .and_then(|v| self.visit_u64(v))
            }
        }
        d.deserialize_any(V)
    }
}

/// One uid or gid mapping of a user namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdMap {
    /// First id inside the container.
    pub container_id: u32,
    /// First id on the host.
    pub host_id: u32,
    /// Number of ids mapped.
    pub size: u32,
}

/// Commands the runtime runs at points of the container's life (OCI semantics).
/// Each hook gets the container state as JSON on stdin.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hooks {
    /// Runtime namespace, after the container's namespaces exist, before pivot.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prestart: Vec<Hook>,
    /// Runtime namespace, same point as `prestart`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub create_runtime: Vec<Hook>,
    /// Container namespaces, before pivot.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub create_container: Vec<Hook>,
    /// Container namespaces, just before the user program is executed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub start_container: Vec<Hook>,
    /// Runtime namespace, after the user program started.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub poststart: Vec<Hook>,
    /// Runtime namespace, after the container was destroyed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub poststop: Vec<Hook>,
}

impl Hooks {
    /// No hook at all.
    pub fn is_empty(&self) -> bool {
        self.prestart.is_empty()
            && self.create_runtime.is_empty()
            && self.create_container.is_empty()
            && self.start_container.is_empty()
            && self.poststart.is_empty()
            && self.poststop.is_empty()
    }
}

/// One hook command.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hook {
    /// Absolute path of the program.
    pub path: String,
    /// Arguments including `argv[0]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Environment as `KEY=VALUE`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<String>,
    /// Working directory.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub dir: String,
    /// Seconds before the hook is killed (absent: no limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u64>,
}

/// A seccomp filter (names and values follow libseccomp / the OCI spec).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seccomp {
    pub default_action: SeccompAction,
    /// errno returned by `SCMP_ACT_ERRNO` / `SCMP_ACT_TRACE` as the default action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_errno_ret: Option<u32>,
    /// Extra architectures, e.g. `SCMP_ARCH_X86`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub architectures: Vec<String>,
    /// Filter flags, e.g. `SECCOMP_FILTER_FLAG_LOG`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
    #[serde(default)]
    pub syscalls: Vec<SeccompSyscall>,
}

/// Actions of a seccomp rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SeccompAction {
    #[serde(rename = "SCMP_ACT_KILL")]
    Kill,
    #[serde(rename = "SCMP_ACT_KILL_PROCESS")]
    KillProcess,
    #[serde(rename = "SCMP_ACT_KILL_THREAD")]
    KillThread,
    #[serde(rename = "SCMP_ACT_TRAP")]
    Trap,
    #[serde(rename = "SCMP_ACT_ERRNO")]
    Errno,
    #[serde(rename = "SCMP_ACT_TRACE")]
    Trace,
    #[serde(rename = "SCMP_ACT_ALLOW")]
    Allow,
    #[serde(rename = "SCMP_ACT_LOG")]
    Log,
    #[serde(rename = "SCMP_ACT_NOTIFY")]
    Notify,
}

/// A rule for one or more system calls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeccompSyscall {
    pub names: Vec<String>,
    pub action: SeccompAction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errno_ret: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<SeccompArg>,
}

/// A condition on one argument of a system call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeccompArg {
    pub index: u32,
    pub value: u64,
    #[serde(default)]
    pub value_two: u64,
    pub op: SeccompOp,
}

/// Comparison operators of seccomp argument conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SeccompOp {
    #[serde(rename = "SCMP_CMP_NE")]
    NotEqual,
    #[serde(rename = "SCMP_CMP_LT")]
    LessThan,
    #[serde(rename = "SCMP_CMP_LE")]
    LessOrEqual,
    #[serde(rename = "SCMP_CMP_EQ")]
    Equal,
    #[serde(rename = "SCMP_CMP_GE")]
    GreaterOrEqual,
    #[serde(rename = "SCMP_CMP_GT")]
    GreaterThan,
    #[serde(rename = "SCMP_CMP_MASKED_EQ")]
    MaskedEqual,
}
