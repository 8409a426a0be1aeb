//! Static validation of a [`Config`]: every problem is collected and reported
//! with its JSON path and a reason. Nothing here touches the filesystem or the
//! kernel, so a config can be checked on any machine.
//!
//! ```
//! let mut config = nsinit_configs::default_config();
//! config.mounts[2].destination = "dev/pts".into();
//! config.cgroups.memory = Some(12);
//! let errors = nsinit_configs::validate(&config).unwrap_err();
//! assert_eq!(
//!     errors.to_string(),
//!     "mounts[2].destination: must be an absolute path\n\
//!      cgroups.memory: 12 is below the kernel minimum of 4096 bytes"
//! );
//! ```
//!
//! # Rules
//!
//! | path | rule | example message |
//! |---|---|---|
//! | `rootfs` | not empty | `rootfs: must not be empty` |
//! | `pivot_dir` | absolute when set | `pivot_dir: must be an absolute path` |
//! | `parent_death_signal` | 0 (none) or a signal number | `parent_death_signal: 99 is not a signal number (1..=64)` |
//! | `namespaces` | `NEWNS` present | `namespaces: NEWNS is required (...)` |
//! | `namespaces[i].type` | no type twice | `namespaces[3].type: duplicate namespace NEWPID (also namespaces[1])` |
//! | `namespaces[i].path` | absolute when set | `namespaces[1].path: must be an absolute path` |
//! | `namespaces` | a new `NEWUSER` needs both mappings | `namespaces: NEWUSER requires uid_mappings` |
//! | `uid_mappings`, `gid_mappings` | only with `NEWUSER` | `uid_mappings: requires the NEWUSER namespace` |
//! | `uid_mappings`, `gid_mappings` | not when joining a user namespace | `gid_mappings: cannot be set when joining an existing user namespace` |
//! | `uid_mappings` | at most 340 ranges | `uid_mappings: at most 340 ranges are allowed (the kernel limit)` |
//! | `uid_mappings[i].size` | greater than 0 | `uid_mappings[0].size: must be greater than 0` |
//! | `uid_mappings[i]` | ranges within 32 bits | `uid_mappings[0]: host_id 4294967295 + size 2 exceeds the 32-bit id range` |
//! | `uid_mappings[i]` | ranges do not overlap | `uid_mappings[1]: container ids 0..=9 overlap uid_mappings[0]` |
//! | `hostname` | needs `NEWUTS` | `hostname: requires the NEWUTS namespace` |
//! | `hostname` | at most 64 characters | `hostname: is 70 characters long; at most 64 are allowed` |
//! | `hostname` | letters, digits, `-`, `.`; labels not empty, not starting or ending with `-` | `hostname: "a_b" may only contain letters, digits, '-' and '.'` |
//! | `mounts[i].destination` | absolute | `mounts[2].destination: must be an absolute path` |
//! | `mounts[i].destination` | no `..` | `mounts[2].destination: must not contain ".." components` |
//! | `mounts[i].device` | not empty | `mounts[0].device: must not be empty (a filesystem type or "bind")` |
//! | `mounts[i].source` | bind mounts: absolute | `mounts[7].source: a bind mount needs an absolute source path` |
//! | `mounts[i].data` | tmpfs `mode=` octal, `size=` a size | `mounts[1].data: tmpfs mode "abc" is not an octal mode` |
//! | `devices[i].path` | absolute | `devices[0].path: must be an absolute path` |
//! | `devices[i].path` | no path twice | `devices[6].path: duplicate device /dev/null (also devices[0])` |
//! | `devices[i].type` | not `a` | `devices[0].type: "a" is only valid in cgroups.allowed_devices` |
//! | `devices[i].major`, `.minor` | not negative | `devices[0].major: must not be negative` |
//! | `devices[i].file_mode` | at most `0o7777` | `devices[0].file_mode: 0o10666 is not a permission mode (at most 0o7777)` |
//! | `devices[i].permissions` | only `r`, `w`, `m` | `devices[0].permissions: "rwx" may only contain r, w and m` |
//! | `capabilities...` | known names with the `CAP_` prefix | `capabilities[1]: unknown capability "CAP_FLY"` |
//! | `capabilities.ambient[i]` | also in permitted and inheritable | `capabilities.ambient[0]: CAP_KILL must also be in permitted and inheritable` |
//! | `networks[i].type` | needs `NEWNET` | `networks[1].type: veth requires the NEWNET namespace` |
//! | `networks[i].name`, `.bridge`, `.host_interface_name` | valid interface names, at most 15 characters | `networks[1].name: "averyveryverylongname" is longer than 15 characters` |
//! | `networks[i].name` | no veth name twice | `networks[2].name: duplicate interface name eth0 (also networks[1])` |
//! | `networks[i].address`, `.ipv6_address` | address with prefix | `networks[1].address: "10.0.0.2" is not an IPv4 address with a prefix length (e.g. 10.0.0.2/24)` |
//! | `networks[i].gateway`, `.ipv6_gateway` | an address | `networks[1].gateway: "x" is not an IPv4 address` |
//! | `networks[i].mac_address` | a unicast MAC | `networks[1].mac_address: "zz" is not a MAC address (e.g. 02:42:ac:11:00:02)` |
//! | `networks[i].mtu` | 0 (default) or 68..=65535 | `networks[1].mtu: 20 is outside 68..=65535` |
//! | `routes` | needs `NEWNET` | `routes: routes require the NEWNET namespace` |
//! | `routes[i].destination` | address with prefix | `routes[0].destination: "x" is not an address with a prefix length (e.g. 0.0.0.0/0)` |
//! | `routes[i].gateway`, `.source` | an address | `routes[0].gateway: "x" is not an IP address` |
//! | `routes[i].interface_name` | a valid interface name | `routes[0].interface_name: "a/b" is not a valid interface name` |
//! | `cgroups.memory` | -1 or at least 4096 | `cgroups.memory: 12 is below the kernel minimum of 4096 bytes` |
//! | `cgroups.memory_reservation` | -1 or at least 4096, not above `memory` | `cgroups.memory_reservation: 9000 is above cgroups.memory (8192)` |
//! | `cgroups.memory_swap` | -1, or needs `memory` and at least `memory` | `cgroups.memory_swap: requires a cgroups.memory limit` |
//! | `cgroups.memory_swappiness` | at most 100 | `cgroups.memory_swappiness: 150 is above 100` |
//! | `cgroups.cpu_shares` | 2..=262144 | `cgroups.cpu_shares: 1 is outside 2..=262144` |
//! | `cgroups.cpu_quota` | -1 or at least 1000 | `cgroups.cpu_quota: 500 must be -1 (unlimited) or at least 1000 microseconds` |
//! | `cgroups.cpu_period` | 1000..=1000000 | `cgroups.cpu_period: 100 is outside 1000..=1000000 microseconds` |
//! | `cgroups.cpu_rt_runtime` | -1 or not above `cpu_rt_period` | `cgroups.cpu_rt_runtime: 2000 exceeds cgroups.cpu_rt_period (1000)` |
//! | `cgroups.cpu_rt_period` | greater than 0 | `cgroups.cpu_rt_period: must be greater than 0` |
//! | `cgroups.cpuset_cpus`, `.cpuset_mems` | list syntax `0-2,4` | `cgroups.cpuset_cpus: "0-" is not a CPU list (e.g. 0-2,4)` |
//! | `cgroups.blkio_weight` | 10..=1000 | `cgroups.blkio_weight: 5 is outside 10..=1000` |
//! | `cgroups.pids_limit` | -1 or greater than 0 | `cgroups.pids_limit: 0 must be -1 (unlimited) or greater than 0` |
//! | `cgroups.path` | absolute, no `..` | `cgroups.path: must be an absolute path` |
//! | `cgroups.parent` | no `..` | `cgroups.parent: must not contain ".." components` |
//! | `cgroups.name` | no `/`, not `..` | `cgroups.name: must be a single path component` |
//! | `cgroups.allowed_devices[i].permissions` | only `r`, `w`, `m` | `cgroups.allowed_devices[2].permissions: "rwx" may only contain r, w and m` |
//! | `cgroups.allowed_devices[i].type` | `a`, `b` or `c` | `cgroups.allowed_devices[0].type: "p" is not valid in a device cgroup rule (use a, b or c)` |
//! | `cgroups.allowed_devices[i].major`, `.minor` | -1 or a number | `cgroups.allowed_devices[0].major: must be -1 (any) or a device number` |
//! | `rlimits[i]` | soft not above hard | `rlimits[0]: soft limit 2048 exceeds hard limit 1024` |
//! | `rlimits[i].type` | no type twice | `rlimits[1].type: duplicate RLIMIT_NOFILE (also rlimits[0])` |
//! | `mask_paths[i]`, `readonly_paths[i]` | absolute | `mask_paths[0]: must be an absolute path` |
//! | `sysctl["key"]` | a namespaced sysctl | `sysctl["vm.swappiness"]: not a namespaced sysctl (...)` |
//! | `sysctl["key"]` | its namespace is present | `sysctl["net.ipv4.ip_forward"]: requires the NEWNET namespace` |
//! | `seccomp.syscalls[i].names` | not empty, no empty name | `seccomp.syscalls[0].names: must not be empty` |
//! | `seccomp.default_errno_ret`, `seccomp.syscalls[i].errno_ret` | only with `SCMP_ACT_ERRNO` / `SCMP_ACT_TRACE` | `seccomp.syscalls[0].errno_ret: only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE` |
//! | `seccomp.syscalls[i].args[j].index` | 0..=5 | `seccomp.syscalls[0].args[0].index: 6 is out of range (system calls have arguments 0..=5)` |
//! | `seccomp.architectures[i]` | a known architecture | `seccomp.architectures[0]: unknown architecture "SCMP_ARCH_VAX"` |
//! | `seccomp.flags[i]` | a known filter flag | `seccomp.flags[0]: unknown seccomp filter flag "X"` |
//! | `hooks.<kind>[i].path` | absolute | `hooks.prestart[0].path: must be an absolute path` |
//! | `hooks.<kind>[i].timeout` | greater than 0 | `hooks.poststop[0].timeout: must be greater than 0` |
//! | `hooks.<kind>[i].env[j]`, `process.env[j]` | `KEY=VALUE` | `process.env[1]: "FOO" is not of the form KEY=VALUE` |
//! | `oom_score_adj` | -1000..=1000 | `oom_score_adj: 2000 is outside -1000..=1000` |
//! | `process.cwd` | absolute when set | `process.cwd: must be an absolute path` |
//! | `process.user` | `uid`, `uid:gid`, `name` or `name:group` | `process.user: "0:" is not a user (uid, uid:gid, name or name:group)` |
//! | `additional_groups[i]` | not empty | `additional_groups[0]: must not be empty` |

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::caps;
use crate::model::*;

/// One problem: where in the JSON and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    /// JSON path, e.g. `mounts[2].destination`.
    pub path: String,
    /// Reason, e.g. `must be an absolute path`.
    pub reason: String,
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.reason)
    }
}

/// Every problem found in a config, one per line when displayed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ValidationErrors(pub Vec<ValidationError>);

impl ValidationErrors {
    /// Number of problems.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there is no problem (never the case for an `Err` of [`validate`]).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The problems in the order they were found.
    pub fn iter(&self) -> std::slice::Iter<'_, ValidationError> {
        self.0.iter()
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl<'a> IntoIterator for &'a ValidationErrors {
    type Item = &'a ValidationError;
    type IntoIter = std::slice::Iter<'a, ValidationError>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// Checks a config; returns every problem found (see the module documentation
/// for the rules).
pub fn validate(config: &Config) -> Result<(), ValidationErrors> {
    let problems = problems(config);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ValidationErrors(problems))
    }
}

/// Checks only the cgroup settings (e.g. the resources given to
/// `Container::set` of a running container); paths start with `cgroups.`.
///
/// ```
/// let mut cgroups = nsinit_configs::defaults::default_cgroups();
/// cgroups.cpu_shares = Some(1);
/// let e = nsinit_configs::validate::validate_cgroups(&cgroups).unwrap_err();
/// assert_eq!(e.to_string(), "cgroups.cpu_shares: 1 is outside 2..=262144");
/// ```
pub fn validate_cgroups(cgroups: &Cgroups) -> Result<(), ValidationErrors> {
    let mut r = Report::default();
    check_cgroups(cgroups, &mut r);
    if r.0.is_empty() {
        Ok(())
    } else {
        Err(ValidationErrors(r.0))
    }
}

/// Every problem of a config, in the order of the config's keys (empty when
/// the config is valid).
pub fn problems(config: &Config) -> Vec<ValidationError> {
    let mut r = Report::default();
    check_top(config, &mut r);
    check_namespaces(config, &mut r);
    check_id_mappings(config, &mut r);
    check_hostname(config, &mut r);
    check_mounts(&config.mounts, &mut r);
    check_devices(&config.devices, &mut r);
    check_capabilities(&config.capabilities, &mut r);
    check_networks(config, &mut r);
    check_routes(config, &mut r);
    check_cgroups(&config.cgroups, &mut r);
    check_rlimits(&config.rlimits, &mut r);
    check_paths("mask_paths", &config.mask_paths, &mut r);
    check_paths("readonly_paths", &config.readonly_paths, &mut r);
    check_sysctl(config, &mut r);
    if let Some(seccomp) = &config.seccomp {
        check_seccomp(seccomp, &mut r);
    }
    check_hooks(&config.hooks, &mut r);
    check_process(config, &mut r);
    r.0
}

#[derive(Default)]
struct Report(Vec<ValidationError>);

impl Report {
    fn add(&mut self, path: impl Into<String>, reason: impl Into<String>) {
        self.0.push(ValidationError {
            path: path.into(),
            reason: reason.into(),
        });
    }
}

const MUST_BE_ABSOLUTE: &str = "must be an absolute path";
const NO_DOTDOT: &str = "must not contain \"..\" components";

fn is_absolute(p: &str) -> bool {
    p.starts_with('/')
}

fn has_dotdot(p: &str) -> bool {
    p.split('/').any(|c| c == "..")
}

// ---------------------------------------------------------------- top level

fn check_top(c: &Config, r: &mut Report) {
    if c.rootfs.is_empty() {
        r.add("rootfs", "must not be empty");
    }
    if !c.pivot_dir.is_empty() && !is_absolute(&c.pivot_dir) {
        r.add("pivot_dir", MUST_BE_ABSOLUTE);
    }
    let sig = c.parent_death_signal.0;
    let max = libc::SIGRTMAX();
    if sig != 0 && !(1..=max).contains(&sig) {
        r.add(
            "parent_death_signal",
            format!("{sig} is not a signal number (1..={max})"),
        );
    }
    if let Some(adj) = c.oom_score_adj {
        if !(-1000..=1000).contains(&adj) {
            r.add("oom_score_adj", format!("{adj} is outside -1000..=1000"));
        }
    }
}

// ---------------------------------------------------------------- namespaces

fn check_namespaces(c: &Config, r: &mut Report) {
    if !c.has_namespace(NamespaceType::Mount) {
        r.add(
            "namespaces",
            "NEWNS is required (the runtime sets up the root filesystem in the container's own mount namespace)",
        );
    }
    let mut seen: HashMap<NamespaceType, usize> = HashMap::new();
    for (i, ns) in c.namespaces.iter().enumerate() {
        if let Some(first) = seen.get(&ns.kind) {
            r.add(
                format!("namespaces[{i}].type"),
                format!("duplicate namespace {} (also namespaces[{first}])", ns.kind),
            );
        } else {
            seen.insert(ns.kind, i);
        }
        if !ns.path.is_empty() && !is_absolute(&ns.path) {
            r.add(format!("namespaces[{i}].path"), MUST_BE_ABSOLUTE);
        }
    }
}

/// The kernel's limit on the number of ranges in a uid or gid map.
pub const MAX_ID_MAP_RANGES: usize = 340;

fn check_id_mappings(c: &Config, r: &mut Report) {
    let maps = [
        ("uid_mappings", &c.uid_mappings),
        ("gid_mappings", &c.gid_mappings),
    ];
    match c.namespace(NamespaceType::User) {
        Some(ns) if ns.path.is_empty() => {
            for (name, map) in maps {
                if map.is_empty() {
                    r.add("namespaces", format!("NEWUSER requires {name}"));
                }
            }
        }
        Some(_) => {
            for (name, map) in maps {
                if !map.is_empty() {
                    r.add(
                        name,
                        "cannot be set when joining an existing user namespace",
                    );
                }
            }
        }
        None => {
            for (name, map) in maps {
                if !map.is_empty() {
                    r.add(name, "requires the NEWUSER namespace");
                }
            }
        }
    }
    for (name, map) in maps {
        check_id_map(name, map, r);
    }
}

fn check_id_map(name: &str, map: &[IdMap], r: &mut Report) {
    if map.len() > MAX_ID_MAP_RANGES {
        r.add(
            name,
            format!("at most {MAX_ID_MAP_RANGES} ranges are allowed (the kernel limit)"),
        );
    }
    const LIMIT: u64 = 1 << 32;
    let mut good: Vec<(usize, &IdMap)> = Vec::new();
    for (i, m) in map.iter().enumerate() {
        if m.size == 0 {
            r.add(format!("{name}[{i}].size"), "must be greater than 0");
            continue;
        }
        let mut ok = true;
        for (field, start) in [("container_id", m.container_id), ("host_id", m.host_id)] {
            if u64::from(start) + u64::from(m.size) > LIMIT {
                r.add(
                    format!("{name}[{i}]"),
                    format!(
                        "{field} {start} + size {} exceeds the 32-bit id range",
                        m.size
                    ),
                );
                ok = false;
            }
        }
        if !ok {
            continue;
        }
        for (j, other) in &good {
            let container = ranges_overlap(m.container_id, m.size, other.container_id, other.size);
            let host = ranges_overlap(m.host_id, m.size, other.host_id, other.size);
            if container || host {
                let (kind, start) = if container {
                    ("container", m.container_id)
                } else {
                    ("host", m.host_id)
                };
                let end = u64::from(start) + u64::from(m.size) - 1;
                r.add(
                    format!("{name}[{i}]"),
                    format!("{kind} ids {start}..={end} overlap {name}[{j}]"),
                );
                break;
            }
        }
        good.push((i, m));
    }
}

fn ranges_overlap(a: u32, a_size: u32, b: u32, b_size: u32) -> bool {
    let (a, b) = (u64::from(a), u64::from(b));
    a < b + u64::from(b_size) && b < a + u64::from(a_size)
}

// ---------------------------------------------------------------- hostname

/// The kernel's limit on the length of a hostname.
pub const HOST_NAME_MAX: usize = 64;

fn check_hostname(c: &Config, r: &mut Report) {
    let h = &c.hostname;
    if h.is_empty() {
        return;
    }
    if !c.has_namespace(NamespaceType::Uts) {
        r.add("hostname", "requires the NEWUTS namespace");
    }
    if let Err(reason) = hostname_problem(h) {
        r.add("hostname", reason);
    }
}

/// Checks a hostname: at most 64 characters of letters, digits, `-` and `.`,
/// made of non-empty labels that neither start nor end with `-`.
pub fn hostname_problem(h: &str) -> Result<(), String> {
    if h.len() > HOST_NAME_MAX {
        return Err(format!(
            "is {} characters long; at most {HOST_NAME_MAX} are allowed",
            h.len()
        ));
    }
    if !h
        .chars()
        .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '.')
    {
        return Err(format!(
            "{h:?} may only contain letters, digits, '-' and '.'"
        ));
    }
    for label in h.split('.') {
        if label.is_empty() {
            return Err(format!("{h:?} has an empty label"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!("{h:?} has a label that starts or ends with '-'"));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- mounts

fn check_mounts(mounts: &[Mount], r: &mut Report) {
    for (i, m) in mounts.iter().enumerate() {
        let p = format!("mounts[{i}]");
        if !is_absolute(&m.destination) {
            r.add(format!("{p}.destination"), MUST_BE_ABSOLUTE);
        } else if has_dotdot(&m.destination) {
            r.add(format!("{p}.destination"), NO_DOTDOT);
        }
        if m.device.is_empty() {
            r.add(
                format!("{p}.device"),
                "must not be empty (a filesystem type or \"bind\")",
            );
        }
        if m.is_bind() && !is_absolute(&m.source) {
            r.add(
                format!("{p}.source"),
                "a bind mount needs an absolute source path",
            );
        }
        if m.device == "tmpfs" && !m.is_bind() {
            if let Err(reason) = tmpfs_data_problem(&m.data) {
                r.add(format!("{p}.data"), reason);
            }
        }
    }
}

fn tmpfs_data_problem(data: &str) -> Result<(), String> {
    for opt in data.split(',').filter(|o| !o.is_empty()) {
        if let Some(mode) = opt.strip_prefix("mode=") {
            let ok = !mode.is_empty() && u32::from_str_radix(mode, 8).is_ok_and(|m| m <= 0o7777);
            if !ok {
                return Err(format!("tmpfs mode {mode:?} is not an octal mode"));
            }
        } else if let Some(size) = opt.strip_prefix("size=") {
            let digits = size.trim_end_matches([
                'k', 'K', 'm', 'M', 'g', 'G', 't', 'T', 'p', 'P', 'e', 'E', '%',
            ]);
            let suffix_len = size.len() - digits.len();
            let ok =
                !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) && suffix_len <= 1;
            if !ok {
                return Err(format!(
                    "tmpfs size {size:?} is not a size (bytes with an optional k, m or g suffix, or a percentage)"
                ));
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- devices

fn check_permissions(path: String, perms: &str, r: &mut Report) {
    if !perms.chars().all(|c| matches!(c, 'r' | 'w' | 'm')) {
        r.add(path, format!("{perms:?} may only contain r, w and m"));
    }
}

fn check_devices(devices: &[Device], r: &mut Report) {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, d) in devices.iter().enumerate() {
        let p = format!("devices[{i}]");
        if !is_absolute(&d.path) {
            r.add(format!("{p}.path"), MUST_BE_ABSOLUTE);
        } else if let Some(first) = seen.get(d.path.as_str()) {
            r.add(
                format!("{p}.path"),
                format!("duplicate device {} (also devices[{first}])", d.path),
            );
        } else {
            seen.insert(&d.path, i);
        }
        if d.kind == DeviceType::All {
            r.add(
                format!("{p}.type"),
                "\"a\" is only valid in cgroups.allowed_devices",
            );
        }
        if d.major < 0 {
            r.add(format!("{p}.major"), "must not be negative");
        }
        if d.minor < 0 {
            r.add(format!("{p}.minor"), "must not be negative");
        }
        if d.file_mode > 0o7777 {
            r.add(
                format!("{p}.file_mode"),
                format!(
                    "{:#o} is not a permission mode (at most 0o7777)",
                    d.file_mode
                ),
            );
        }
        check_permissions(format!("{p}.permissions"), &d.permissions, r);
    }
}

// ---------------------------------------------------------------- capabilities

fn capability_problem(name: &str) -> Option<String> {
    if caps::is_known(name) {
        return None;
    }
    Some(match caps::canonical(name) {
        Some(c) => format!("unknown capability {name:?} (names take the CAP_ prefix: {c:?})"),
        None => format!("unknown capability {name:?}"),
    })
}

fn check_capabilities(c: &Capabilities, r: &mut Report) {
    if c.is_list_form() {
        for (i, name) in c.bounding.iter().enumerate() {
            if let Some(reason) = capability_problem(name) {
                r.add(format!("capabilities[{i}]"), reason);
            }
        }
        return;
    }
    for (set, list) in c.sets() {
        for (i, name) in list.iter().enumerate() {
            if let Some(reason) = capability_problem(name) {
                r.add(format!("capabilities.{set}[{i}]"), reason);
            }
        }
    }
    for (i, name) in c.ambient.iter().enumerate() {
        if caps::is_known(name) && !(c.permitted.contains(name) && c.inheritable.contains(name)) {
            r.add(
                format!("capabilities.ambient[{i}]"),
                format!("{name} must also be in permitted and inheritable"),
            );
        }
    }
}

// ---------------------------------------------------------------- network

/// The longest interface name Linux accepts (`IFNAMSIZ` - 1).
pub const MAX_IFNAME: usize = 15;

/// Checks a network interface name the way the kernel does.
pub fn interface_name_problem(name: &str) -> Result<(), String> {
    if name.len() > MAX_IFNAME {
        return Err(format!("{name:?} is longer than {MAX_IFNAME} characters"));
    }
    if name.is_empty()
        || name == "."
        || name == ".."
        || name
            .chars()
            .any(|c| c == '/' || c == ':' || c.is_whitespace() || c.is_control())
    {
        return Err(format!("{name:?} is not a valid interface name"));
    }
    Ok(())
}

/// Parses `address/prefix`, checking the prefix against the address family.
pub fn parse_cidr(s: &str) -> Option<(IpAddr, u8)> {
    let (addr, prefix) = s.split_once('/')?;
    let addr: IpAddr = addr.parse().ok()?;
    if prefix.is_empty() || !prefix.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let prefix: u8 = prefix.parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    (prefix <= max).then_some((addr, prefix))
}

fn is_mac(s: &str) -> bool {
    let parts: Vec<&str> = s.split(':').collect();
    parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_hexdigit()))
}

fn check_networks(c: &Config, r: &mut Report) {
    let has_net = c.has_namespace(NamespaceType::Net);
    let mut names: HashMap<String, usize> = HashMap::new();
    for (i, n) in c.networks.iter().enumerate() {
        let p = format!("networks[{i}]");
        let kind = match n.kind {
            NetworkType::Loopback => "loopback",
            NetworkType::Veth => "veth",
        };
        if !has_net {
            r.add(
                format!("{p}.type"),
                format!("{kind} requires the NEWNET namespace"),
            );
        }
        for (field, value) in [
            ("name", &n.name),
            ("bridge", &n.bridge),
            ("host_interface_name", &n.host_interface_name),
        ] {
            if !value.is_empty() {
                if let Err(reason) = interface_name_problem(value) {
                    r.add(format!("{p}.{field}"), reason);
                }
            }
        }
        if n.kind == NetworkType::Veth {
            let name = if n.name.is_empty() { "eth0" } else { &n.name };
            if let Some(first) = names.get(name) {
                r.add(
                    format!("{p}.name"),
                    format!("duplicate interface name {name} (also networks[{first}])"),
                );
            } else {
                names.insert(name.to_string(), i);
            }
        }
        if !n.mac_address.is_empty() {
            if !is_mac(&n.mac_address) {
                r.add(
                    format!("{p}.mac_address"),
                    format!(
                        "{:?} is not a MAC address (e.g. 02:42:ac:11:00:02)",
                        n.mac_address
                    ),
                );
            } else if u8::from_str_radix(&n.mac_address[..2], 16).is_ok_and(|b| b & 1 == 1) {
                r.add(
                    format!("{p}.mac_address"),
                    format!("{} is a multicast address", n.mac_address),
                );
            }
        }
        if !n.address.is_empty() && !parse_cidr(&n.address).is_some_and(|(a, _)| a.is_ipv4()) {
            r.add(
                format!("{p}.address"),
                format!(
                    "{:?} is not an IPv4 address with a prefix length (e.g. 10.0.0.2/24)",
                    n.address
                ),
            );
        }
        if !n.ipv6_address.is_empty()
            && !parse_cidr(&n.ipv6_address).is_some_and(|(a, _)| a.is_ipv6())
        {
            r.add(
                format!("{p}.ipv6_address"),
                format!(
                    "{:?} is not an IPv6 address with a prefix length (e.g. fd00::2/64)",
                    n.ipv6_address
                ),
            );
        }
        if !n.gateway.is_empty() && n.gateway.parse::<Ipv4Addr>().is_err() {
            r.add(
                format!("{p}.gateway"),
                format!("{:?} is not an IPv4 address", n.gateway),
            );
        }
        if !n.ipv6_gateway.is_empty() && n.ipv6_gateway.parse::<Ipv6Addr>().is_err() {
            r.add(
                format!("{p}.ipv6_gateway"),
                format!("{:?} is not an IPv6 address", n.ipv6_gateway),
            );
        }
        if n.mtu != 0 && !(68..=65535).contains(&n.mtu) {
            r.add(
                format!("{p}.mtu"),
                format!("{} is outside 68..=65535", n.mtu),
            );
        }
    }
}

fn check_routes(c: &Config, r: &mut Report) {
    if !c.routes.is_empty() && !c.has_namespace(NamespaceType::Net) {
        r.add("routes", "routes require the NEWNET namespace");
    }
    for (i, route) in c.routes.iter().enumerate() {
        let p = format!("routes[{i}]");
        if parse_cidr(&route.destination).is_none() {
            r.add(
                format!("{p}.destination"),
                format!(
                    "{:?} is not an address with a prefix length (e.g. 0.0.0.0/0)",
                    route.destination
                ),
            );
        }
        for (field, value) in [("gateway", &route.gateway), ("source", &route.source)] {
            if !value.is_empty() && value.parse::<IpAddr>().is_err() {
                r.add(
                    format!("{p}.{field}"),
                    format!("{value:?} is not an IP address"),
                );
            }
        }
        if !route.interface_name.is_empty() {
            if let Err(reason) = interface_name_problem(&route.interface_name) {
                r.add(format!("{p}.interface_name"), reason);
            }
        }
    }
}

// ---------------------------------------------------------------- cgroups

/// The smallest memory limit the kernel accepts (one page).
pub const MIN_MEMORY: i64 = 4096;

fn memory_problem(v: i64) -> Option<String> {
    if v == -1 {
        None
    } else if v < 0 {
        Some(format!("{v} is negative (use -1 for unlimited)"))
    } else if v < MIN_MEMORY {
        Some(format!(
            "{v} is below the kernel minimum of {MIN_MEMORY} bytes"
        ))
    } else {
        None
    }
}

/// Whether `s` is a CPU or memory node list such as `0-2,4`.
pub fn is_cpu_list(s: &str) -> bool {
    !s.is_empty()
        && s.split(',').all(|part| {
            let num = |x: &str| -> Option<u32> {
                (!x.is_empty() && x.chars().all(|c| c.is_ascii_digit()))
                    .then(|| x.parse().ok())
                    .flatten()
            };
            match part.split_once('-') {
                Some((a, b)) => matches!((num(a), num(b)), (Some(a), Some(b)) if a <= b),
                None => num(part).is_some(),
            }
        })
}

fn check_cgroups(cg: &Cgroups, r: &mut Report) {
    if !cg.path.is_empty() {
        if !is_absolute(&cg.path) {
            r.add("cgroups.path", MUST_BE_ABSOLUTE);
        } else if has_dotdot(&cg.path) {
            r.add("cgroups.path", NO_DOTDOT);
        }
    }
    if has_dotdot(&cg.parent) {
        r.add("cgroups.parent", NO_DOTDOT);
    }
    if cg.name.contains('/') || cg.name == ".." || cg.name == "." {
        r.add("cgroups.name", "must be a single path component");
    }
    for (i, d) in cg.allowed_devices.iter().enumerate() {
        let p = format!("cgroups.allowed_devices[{i}]");
        if d.kind == DeviceType::Fifo {
            r.add(
                format!("{p}.type"),
                "\"p\" is not valid in a device cgroup rule (use a, b or c)",
            );
        }
        for (field, v) in [("major", d.major), ("minor", d.minor)] {
            if v < -1 {
                r.add(
                    format!("{p}.{field}"),
                    "must be -1 (any) or a device number",
                );
            }
        }
        check_permissions(format!("{p}.permissions"), &d.permissions, r);
    }

    let memory = cg.memory;
    if let Some(m) = memory {
        if let Some(reason) = memory_problem(m) {
            r.add("cgroups.memory", reason);
        }
    }
    if let Some(res) = cg.memory_reservation {
        if let Some(reason) = memory_problem(res) {
            r.add("cgroups.memory_reservation", reason);
        } else if let Some(m) = memory.filter(|m| *m >= 0) {
            if res > m {
                r.add(
                    "cgroups.memory_reservation",
                    format!("{res} is above cgroups.memory ({m})"),
                );
            }
        }
    }
    if let Some(swap) = cg.memory_swap {
        if swap < -1 {
            r.add(
                "cgroups.memory_swap",
                format!("{swap} is negative (use -1 for unlimited)"),
            );
        } else if swap != -1 {
            match memory.filter(|m| *m >= 0) {
                None => r.add("cgroups.memory_swap", "requires a cgroups.memory limit"),
                Some(m) if swap < m => r.add(
                    "cgroups.memory_swap",
                    format!(
                        "{swap} is below cgroups.memory ({m}); memory_swap limits memory plus swap"
                    ),
                ),
                Some(_) => {}
            }
        }
    }
    if let Some(s) = cg.memory_swappiness {
        if s > 100 {
            r.add("cgroups.memory_swappiness", format!("{s} is above 100"));
        }
    }
    if let Some(s) = cg.cpu_shares {
        if !(2..=262_144).contains(&s) {
            r.add("cgroups.cpu_shares", format!("{s} is outside 2..=262144"));
        }
    }
    if let Some(q) = cg.cpu_quota {
        if q != -1 && q < 1000 {
            r.add(
                "cgroups.cpu_quota",
                format!("{q} must be -1 (unlimited) or at least 1000 microseconds"),
            );
        }
    }
    if let Some(p) = cg.cpu_period {
        if !(1000..=1_000_000).contains(&p) {
            r.add(
                "cgroups.cpu_period",
                format!("{p} is outside 1000..=1000000 microseconds"),
            );
        }
    }
    if let Some(p) = cg.cpu_rt_period {
        if p == 0 {
            r.add("cgroups.cpu_rt_period", "must be greater than 0");
        }
    }
    if let Some(rt) = cg.cpu_rt_runtime {
        if rt < -1 {
            r.add(
                "cgroups.cpu_rt_runtime",
                format!("{rt} must be -1 (unlimited) or a number of microseconds"),
            );
        } else if let Some(p) = cg.cpu_rt_period.filter(|p| *p > 0) {
            if rt > 0 && rt.unsigned_abs() > p {
                r.add(
                    "cgroups.cpu_rt_runtime",
                    format!("{rt} exceeds cgroups.cpu_rt_period ({p})"),
                );
            }
        }
    }
    if !cg.cpuset_cpus.is_empty() && !is_cpu_list(&cg.cpuset_cpus) {
        r.add(
            "cgroups.cpuset_cpus",
            format!("{:?} is not a CPU list (e.g. 0-2,4)", cg.cpuset_cpus),
        );
    }
    if !cg.cpuset_mems.is_empty() && !is_cpu_list(&cg.cpuset_mems) {
        r.add(
            "cgroups.cpuset_mems",
            format!("{:?} is not a memory node list (e.g. 0-1)", cg.cpuset_mems),
        );
    }
    if let Some(w) = cg.blkio_weight {
        if !(10..=1000).contains(&w) {
            r.add("cgroups.blkio_weight", format!("{w} is outside 10..=1000"));
        }
    }
    if let Some(p) = cg.pids_limit {
        if p != -1 && p <= 0 {
            r.add(
                "cgroups.pids_limit",
                format!("{p} must be -1 (unlimited) or greater than 0"),
            );
        }
    }
}

// ---------------------------------------------------------------- rlimits, paths

fn limit(v: u64) -> String {
    if v == u64::MAX {
        "unlimited".to_string()
    } else {
        v.to_string()
    }
}

fn check_rlimits(rlimits: &[Rlimit], r: &mut Report) {
    let mut seen: HashMap<RlimitType, usize> = HashMap::new();
    for (i, rl) in rlimits.iter().enumerate() {
        if rl.soft > rl.hard {
            r.add(
                format!("rlimits[{i}]"),
                format!(
                    "soft limit {} exceeds hard limit {}",
                    limit(rl.soft),
                    limit(rl.hard)
                ),
            );
        }
        if let Some(first) = seen.get(&rl.kind) {
            r.add(
                format!("rlimits[{i}].type"),
                format!("duplicate {} (also rlimits[{first}])", rl.kind.name()),
            );
        } else {
            seen.insert(rl.kind, i);
        }
    }
}

fn check_paths(name: &str, paths: &[String], r: &mut Report) {
    for (i, p) in paths.iter().enumerate() {
        if !is_absolute(p) {
            r.add(format!("{name}[{i}]"), MUST_BE_ABSOLUTE);
        }
    }
}

// ---------------------------------------------------------------- sysctl

/// The IPC sysctls that are namespaced (besides `fs.mqueue.*`).
pub const IPC_SYSCTLS: [&str; 8] = [
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
];

/// The namespace a sysctl belongs to, or `None` when it is not namespaced (and
/// setting it from a container would change the host).
///
/// ```
/// use nsinit_configs::{validate::sysctl_namespace, NamespaceType};
/// assert_eq!(sysctl_namespace("net.ipv4.ip_forward"), Some(NamespaceType::Net));
/// assert_eq!(sysctl_namespace("kernel.shmmax"), Some(NamespaceType::Ipc));
/// assert_eq!(sysctl_namespace("vm.swappiness"), None);
/// ```
pub fn sysctl_namespace(key: &str) -> Option<NamespaceType> {
    if IPC_SYSCTLS.contains(&key) || key.starts_with("fs.mqueue.") {
        Some(NamespaceType::Ipc)
    } else if key.starts_with("net.") {
        Some(NamespaceType::Net)
    } else if key == "kernel.hostname" || key == "kernel.domainname" {
        Some(NamespaceType::Uts)
    } else {
        None
    }
}

fn check_sysctl(c: &Config, r: &mut Report) {
    let sysctl: &BTreeMap<String, String> = &c.sysctl;
    for key in sysctl.keys() {
        let p = format!("sysctl[{key:?}]");
        match sysctl_namespace(key) {
            None => r.add(
                p,
                "not a namespaced sysctl (allowed: kernel.msgmax, kernel.msgmnb, kernel.msgmni, \
                 kernel.sem, kernel.shmall, kernel.shmmax, kernel.shmmni, kernel.shm_rmid_forced, \
                 kernel.hostname, kernel.domainname, fs.mqueue.*, net.*)",
            ),
            Some(ns) if !c.has_namespace(ns) => {
                r.add(p, format!("requires the {ns} namespace"));
            }
            Some(_) => {}
        }
    }
}

// ---------------------------------------------------------------- seccomp

/// The architecture names of seccomp filters (libseccomp's).
pub const SECCOMP_ARCHES: [&str; 24] = [
    "SCMP_ARCH_NATIVE",
    "SCMP_ARCH_X86",
    "SCMP_ARCH_X86_64",
    "SCMP_ARCH_X32",
    "SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64",
    "SCMP_ARCH_MIPS",
    "SCMP_ARCH_MIPS64",
    "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",
    "SCMP_ARCH_MIPSEL64",
    "SCMP_ARCH_MIPSEL64N32",
    "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",
    "SCMP_ARCH_PPC64LE",
    "SCMP_ARCH_S390",
    "SCMP_ARCH_S390X",
    "SCMP_ARCH_PARISC",
    "SCMP_ARCH_PARISC64",
    "SCMP_ARCH_RISCV64",
    "SCMP_ARCH_LOONGARCH64",
    "SCMP_ARCH_M68K",
    "SCMP_ARCH_SH",
    "SCMP_ARCH_SHEB",
];

/// The seccomp filter flags a config may ask for.
pub const SECCOMP_FLAGS: [&str; 4] = [
    "SECCOMP_FILTER_FLAG_TSYNC",
    "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
];

fn takes_errno(a: SeccompAction) -> bool {
    matches!(a, SeccompAction::Errno | SeccompAction::Trace)
}

const ERRNO_ONLY: &str = "only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE";

fn check_seccomp(s: &Seccomp, r: &mut Report) {
    if s.default_errno_ret.is_some() && !takes_errno(s.default_action) {
        r.add("seccomp.default_errno_ret", ERRNO_ONLY);
    }
    for (i, arch) in s.architectures.iter().enumerate() {
        if !SECCOMP_ARCHES.contains(&arch.as_str()) {
            r.add(
                format!("seccomp.architectures[{i}]"),
                format!("unknown architecture {arch:?}"),
            );
        }
    }
    for (i, flag) in s.flags.iter().enumerate() {
        if !SECCOMP_FLAGS.contains(&flag.as_str()) {
            r.add(
                format!("seccomp.flags[{i}]"),
                format!("unknown seccomp filter flag {flag:?}"),
            );
        }
    }
    for (i, sc) in s.syscalls.iter().enumerate() {
        let p = format!("seccomp.syscalls[{i}]");
        if sc.names.is_empty() {
            r.add(format!("{p}.names"), "must not be empty");
        }
        for (j, n) in sc.names.iter().enumerate() {
            if n.is_empty() {
                r.add(format!("{p}.names[{j}]"), "must not be empty");
            }
        }
        if sc.errno_ret.is_some() && !takes_errno(sc.action) {
            r.add(format!("{p}.errno_ret"), ERRNO_ONLY);
        }
        for (j, a) in sc.args.iter().enumerate() {
            if a.index >= 6 {
                r.add(
                    format!("{p}.args[{j}].index"),
                    format!(
                        "{} is out of range (system calls have arguments 0..=5)",
                        a.index
                    ),
                );
            }
        }
    }
}

// ---------------------------------------------------------------- hooks, process

fn check_env(path: &str, env: &[String], r: &mut Report) {
    for (i, e) in env.iter().enumerate() {
        let ok = matches!(e.split_once('='), Some((k, _)) if !k.is_empty()) && !e.contains('\0');
        if !ok {
            r.add(
                format!("{path}[{i}]"),
                format!("{e:?} is not of the form KEY=VALUE"),
            );
        }
    }
}

fn check_hooks(h: &Hooks, r: &mut Report) {
    let kinds = [
        ("prestart", &h.prestart),
        ("create_runtime", &h.create_runtime),
        ("create_container", &h.create_container),
        ("start_container", &h.start_container),
        ("poststart", &h.poststart),
        ("poststop", &h.poststop),
    ];
    for (kind, hooks) in kinds {
        for (i, hook) in hooks.iter().enumerate() {
            let p = format!("hooks.{kind}[{i}]");
            if !is_absolute(&hook.path) {
                r.add(format!("{p}.path"), MUST_BE_ABSOLUTE);
            }
            if hook.timeout == Some(0) {
                r.add(format!("{p}.timeout"), "must be greater than 0");
            }
            check_env(&format!("{p}.env"), &hook.env, r);
        }
    }
}

fn user_is_valid(u: &str) -> bool {
    let part_ok = |s: &str| !s.is_empty() && !s.chars().any(|c| c.is_whitespace() || c == ':');
    match u.split_once(':') {
        Some((user, group)) => part_ok(user) && part_ok(group),
        None => part_ok(u),
    }
}

fn check_process(c: &Config, r: &mut Report) {
    for (i, g) in c.additional_groups.iter().enumerate() {
        if g.is_empty() {
            r.add(format!("additional_groups[{i}]"), "must not be empty");
        }
    }
    let Some(p) = &c.process else {
        return;
    };
    if !p.cwd.is_empty() && !is_absolute(&p.cwd) {
        r.add("process.cwd", MUST_BE_ABSOLUTE);
    }
    check_env("process.env", &p.env, r);
    if !p.user.is_empty() && !user_is_valid(&p.user) {
        r.add(
            "process.user",
            format!(
                "{:?} is not a user (uid, uid:gid, name or name:group)",
                p.user
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr() {
        assert!(parse_cidr("10.0.0.2/24").is_some());
        assert!(parse_cidr("fd00::1/64").is_some());
        assert!(parse_cidr("10.0.0.2/33").is_none());
        assert!(parse_cidr("10.0.0.2").is_none());
        assert!(parse_cidr("10.0.0.2/+4").is_none());
    }

    #[test]
    fn cpu_lists() {
        for ok in ["0", "0-2", "0-2,4", "1,3,5-7"] {
            assert!(is_cpu_list(ok), "{ok}");
        }
        for bad in ["", "0-", "-1", "2-1", "a", "0,,1", "0 - 1"] {
            assert!(!is_cpu_list(bad), "{bad}");
        }
    }

    #[test]
    fn hostnames() {
        assert!(hostname_problem("a-b.example").is_ok());
        assert!(hostname_problem("a..b").is_err());
        assert!(hostname_problem("-a").is_err());
        assert!(hostname_problem(&"a".repeat(65)).is_err());
    }

    #[test]
    fn users() {
        for ok in ["0", "0:0", "root", "app:staff", "1000:100"] {
            assert!(user_is_valid(ok), "{ok}");
        }
        for bad in ["0:", ":0", "a:b:c", "a b"] {
            assert!(!user_is_valid(bad), "{bad}");
        }
    }
}
