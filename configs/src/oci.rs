//! Conversion from the OCI runtime spec (a bundle's `config.json`, as written by
//! `runc spec`) into a [`Config`], so that a bundle runs too.
//!
//! The spec is parsed with `serde_json` into [`oci_spec::runtime::Spec`], so a
//! malformed file is a [`LoadError::Syntax`] with a line and a column. Whatever the
//! model cannot express is a [`LoadError::Oci`] naming every such key (joined
//! with `; `), never silently dropped — except for the harmless keys listed below.
//!
//! # What maps where
//!
//! | OCI | config |
//! |---|---|
//! | `root.path`, `root.readonly` | `rootfs` (relative paths resolve against the bundle when read with [`load`](crate::load())), `readonlyfs` |
//! | `hostname` | `hostname` |
//! | `domainname` | `sysctl["kernel.domainname"]` (the UTS namespace's domain name) |
//! | `mounts[]` | `mounts[]`: option names of `MS_*` flags → `flags`, propagation names → `propagation_flags`, everything else → `data` (comma-joined); `bind`/`rbind` (or type `bind`) → device `"bind"`; a missing `source` of a non-bind mount becomes the type name |
//! | `linux.namespaces[]` | `namespaces[]` with paths; a new network namespace gets a loopback network |
//! | `linux.devices[]` | the default devices plus these (same path: the spec's entry wins); missing `fileMode` is 0666 |
//! | `linux.resources.devices[]` | `cgroups.allowed_devices`, in order, followed by the default allow list and an `rwm` rule for each of `linux.devices` (as runc does) |
//! | `linux.resources.memory` | `memory`, `memory_reservation`, `memory_swap`, `memory_swappiness`, `oom_kill_disable` |
//! | `linux.resources.cpu` | `cpu_shares`, `cpu_quota`, `cpu_period`, `cpu_rt_runtime`, `cpu_rt_period`, `cpuset_cpus`, `cpuset_mems` |
//! | `linux.resources.pids.limit` | `pids_limit` (> 0 as is, < 0 → -1, 0 → unset) |
//! | `linux.resources.blockIO` | `blkio_weight`, `blkio_throttle_*_device` |
//! | `linux.cgroupsPath` | `cgroups.path` (absolute paths only); without it, parent `/nsinit` |
//! | `linux.uidMappings`, `gidMappings` | `uid_mappings`, `gid_mappings` |
//! | `linux.maskedPaths`, `readonlyPaths`, `sysctl`, `mountLabel`, `rootfsPropagation`, `seccomp` | the same keys |
//! | `process.args`, `env`, `cwd`, `terminal`, `user.uid`/`gid` | `process` (`user` is `"uid:gid"`) |
//! | `process.user.additionalGids` | `additional_groups` |
//! | `process.capabilities` | `capabilities` (sets sorted by capability number) |
//! | `process.rlimits`, `noNewPrivileges`, `oomScoreAdj`, `apparmorProfile`, `selinuxLabel` | `rlimits`, `no_new_privileges`, `oom_score_adj`, `apparmor_profile`, `process_label` |
//! | `hooks` (all six kinds) | `hooks` |
//!
//! # Rejected (a [`LoadError::Oci`])
//!
//! A missing `root`; the `solaris`, `windows`, `vm` and `zos` sections;
//! `linux.netDevices`, `intelRdt`, `memoryPolicy`, `timeOffsets`, a
//! `personality` other than plain `LINUX`, the `time` namespace; relative or
//! systemd-style (`slice:prefix:name`) `cgroupsPath`; `resources.hugepageLimits`,
//! `network`, `rdma`, `unified`, `memory.kernelTCP`, `cpu.idle`, `cpu.burst`,
//! `blockIO.leafWeight`, `blockIO.weightDevice`, negative throttle device numbers;
//! idmapped mounts (`uidMappings`/`gidMappings` on a mount), a mount without a type
//! that is not a bind mount, the runc-only mount options `tmpcopyup`, `idmap`,
//! `ridmap` and recursive attributes (`rro`, `rnosuid`, ...); an unknown
//! `rootfsPropagation`; `seccomp.listenerPath` / `listenerMetadata`;
//! `process.user.umask` other than 0022 (the container always starts with umask
//! 0022), `process.ioPriority`, `scheduler`, `execCPUAffinity`; a hook `timeout`
//! that is not positive.
//!
//! # Ignored (harmless)
//!
//! `ociVersion`; `annotations` (metadata by definition); unknown keys (the OCI spec
//! requires runtimes to ignore them); the Windows-only `process.commandLine` and
//! `process.user.username`; `process.consoleSize` (only the initial size of the
//! terminal); `resources.memory.kernel` (kernel memory limits are obsolete and gone
//! from current kernels), `memory.useHierarchy` (always on) and
//! `memory.checkBeforeUpdate` (only meaningful for updates); ambient capabilities
//! that are not also permitted and inheritable (the kernel refuses to raise them,
//! and runc leaves them out the same way).
//!
//! ```
//! let json = r#"{
//!   "ociVersion": "1.0.2",
//!   "root": {"path": "rootfs", "readonly": true},
//!   "process": {"user": {"uid": 1000, "gid": 100}, "args": ["sh"], "cwd": "/"},
//!   "linux": {"namespaces": [{"type": "mount"}, {"type": "network"}]}
//! }"#;
//! let config = nsinit_configs::oci::from_oci_json(json, "config.json").unwrap();
//! assert!(config.readonlyfs);
//! assert_eq!(config.process.unwrap().user, "1000:100");
//! assert_eq!(config.networks.len(), 1); // loopback of the new network namespace
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use oci_spec::runtime as oci;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::caps;
use crate::defaults;
use crate::flags::mount_flag;
use crate::load::LoadError;
use crate::model::*;

/// Converts an OCI `config.json` text into a [`Config`]. `origin` names the file
/// in errors.
pub fn from_oci_json(json: &str, origin: &str) -> Result<Config, LoadError> {
    let spec: oci::Spec = serde_json::from_str(json).map_err(|e| LoadError::syntax(origin, &e))?;
    from_oci_spec(&spec, origin)
}

/// Converts a parsed OCI runtime spec into a [`Config`]. `origin` names the file
/// in errors.
pub fn from_oci_spec(spec: &oci::Spec, origin: &str) -> Result<Config, LoadError> {
    let mut conv = Converter::default();
    let config = conv.spec(spec);
    if conv.problems.is_empty() {
        Ok(config)
    } else {
        Err(LoadError::Oci {
            origin: origin.to_string(),
            message: conv.problems.join("; "),
        })
    }
}

#[derive(Default)]
struct Converter {
    problems: Vec<String>,
}

fn text(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Moves a value between two serde types that share their string form (the OCI
/// enums and the model's enums are both named after libseccomp / the kernel).
fn via_serde<A: Serialize, B: DeserializeOwned>(a: &A) -> Option<B> {
    serde_json::to_value(a)
        .ok()
        .and_then(|v| serde_json::from_value(v).ok())
}

fn serde_name<A: Serialize>(a: &A) -> String {
    match serde_json::to_value(a) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(e) => e.to_string(),
    }
}

fn device_type(t: oci::LinuxDeviceType) -> DeviceType {
    match t {
        oci::LinuxDeviceType::A => DeviceType::All,
        oci::LinuxDeviceType::B => DeviceType::Block,
        oci::LinuxDeviceType::C | oci::LinuxDeviceType::U => DeviceType::Char,
        oci::LinuxDeviceType::P => DeviceType::Fifo,
    }
}

impl Converter {
    fn reject(&mut self, path: impl AsRef<str>, why: impl AsRef<str>) {
        self.problems
            .push(format!("{}: {}", path.as_ref(), why.as_ref()));
    }

    fn spec(&mut self, spec: &oci::Spec) -> Config {
        let mut c = Config {
            cgroups: Cgroups {
                parent: defaults::DEFAULT_CGROUP_PARENT.to_string(),
                ..Cgroups::default()
            },
            ..Config::default()
        };

        match spec.root() {
            Some(root) => {
                c.rootfs = text(root.path());
                c.readonlyfs = root.readonly().unwrap_or(false);
            }
            None => self.reject("root", "is required (the container's root filesystem)"),
        }
        if let Some(h) = spec.hostname() {
            c.hostname = h.clone();
        }
        for (key, present) in [
            ("solaris", spec.solaris().is_some()),
            ("windows", spec.windows().is_some()),
            ("vm", spec.vm().is_some()),
            ("zos", spec.zos().is_some()),
        ] {
            if present {
                self.reject(
                    key,
                    "this platform section is not supported by a Linux runtime",
                );
            }
        }

        c.mounts = spec
            .mounts()
            .iter()
            .flatten()
            .enumerate()
            .filter_map(|(i, m)| self.mount(i, m))
            .collect();

        let mut node_rules = Vec::new();
        c.devices = defaults::default_devices();
        if let Some(linux) = spec.linux() {
            self.linux(linux, &mut c, &mut node_rules);
        }
        let mut allowed = std::mem::take(&mut c.cgroups.allowed_devices);
        allowed.extend(defaults::default_allowed_devices());
        allowed.extend(node_rules);
        c.cgroups.allowed_devices = allowed;

        if let Some(d) = spec.domainname().as_deref().filter(|d| !d.is_empty()) {
            match c.sysctl.get("kernel.domainname") {
                Some(v) if v != d => self.reject(
                    "domainname",
                    format!("{d:?} conflicts with linux.sysctl[\"kernel.domainname\"] = {v:?}"),
                ),
                _ => {
                    c.sysctl
                        .insert("kernel.domainname".to_string(), d.to_string());
                }
            }
        }

        if let Some(p) = spec.process() {
            self.process(p, &mut c);
        }
        if let Some(h) = spec.hooks() {
            c.hooks = self.hooks(h);
        }
        c
    }

    fn mount(&mut self, i: usize, m: &oci::Mount) -> Option<Mount> {
        let p = format!("mounts[{i}]");
        if m.uid_mappings().as_ref().is_some_and(|v| !v.is_empty())
            || m.gid_mappings().as_ref().is_some_and(|v| !v.is_empty())
        {
            self.reject(
                &p,
                "idmapped mounts (uidMappings / gidMappings) are not supported",
            );
        }
        let typ = m.typ().clone().unwrap_or_default();
        let mut flags = MountFlags::default();
        let mut propagation = Vec::new();
        let mut data: Vec<&str> = Vec::new();
        for opt in m.options().iter().flatten() {
            if let Some(pr) = Propagation::from_name(opt) {
                propagation.push(pr);
            } else if flags.parse_option(opt) {
                // a mount flag
            } else if matches!(opt.as_str(), "tmpcopyup" | "idmap" | "ridmap") {
                self.reject(
                    format!("{p}.options"),
                    format!("the runc extension {opt:?} is not supported"),
                );
            } else if opt
                .strip_prefix('r')
                .is_some_and(|rest| mount_flag(rest).is_some())
            {
                self.reject(
                    format!("{p}.options"),
                    format!("recursive mount attribute {opt:?} is not supported"),
                );
            } else {
                data.push(opt);
            }
        }
        let bind = typ == "bind" || flags.contains(libc::MS_BIND);
        if bind {
            flags.parse_option("bind");
        } else if typ.is_empty() {
            self.reject(
                format!("{p}.type"),
                "a mount without a type must be a bind mount (options \"bind\" or \"rbind\")",
            );
            return None;
        }
        let device = if bind { "bind".to_string() } else { typ };
        let source = match m.source() {
            Some(s) => text(s),
            None if bind => String::new(),
            None => device.clone(),
        };
        Some(Mount {
            source,
            destination: text(m.destination()),
            device,
            flags,
            propagation_flags: propagation,
            data: data.join(","),
            relabel: String::new(),
        })
    }

    fn linux(&mut self, linux: &oci::Linux, c: &mut Config, node_rules: &mut Vec<Device>) {
        for (i, ns) in linux.namespaces().iter().flatten().enumerate() {
            let kind = match ns.typ() {
                oci::LinuxNamespaceType::Mount => NamespaceType::Mount,
                oci::LinuxNamespaceType::Cgroup => NamespaceType::Cgroup,
                oci::LinuxNamespaceType::Uts => NamespaceType::Uts,
                oci::LinuxNamespaceType::Ipc => NamespaceType::Ipc,
                oci::LinuxNamespaceType::User => NamespaceType::User,
                oci::LinuxNamespaceType::Pid => NamespaceType::Pid,
                oci::LinuxNamespaceType::Network => NamespaceType::Net,
                oci::LinuxNamespaceType::Time => {
                    self.reject(
                        format!("linux.namespaces[{i}]"),
                        "the time namespace is not supported",
                    );
                    continue;
                }
            };
            let path = ns.path().as_deref().map(text).unwrap_or_default();
            if kind == NamespaceType::Net && path.is_empty() {
                c.networks = defaults::default_networks();
            }
            c.namespaces.push(Namespace { kind, path });
        }

        for d in linux.devices().iter().flatten() {
            let kind = device_type(d.typ());
            let node = Device {
                kind,
                path: text(d.path()),
                major: d.major(),
                minor: d.minor(),
                permissions: "rwm".to_string(),
                file_mode: d.file_mode().unwrap_or(0o666) & !libc::S_IFMT,
                uid: d.uid().unwrap_or(0),
                gid: d.gid().unwrap_or(0),
                allow: true,
            };
            node_rules.push(defaults::device_rule(kind, node.major, node.minor, "rwm"));
            match c.devices.iter().position(|x| x.path == node.path) {
                Some(pos) => c.devices[pos] = node,
                None => c.devices.push(node),
            }
        }

        if let Some(res) = linux.resources() {
            self.resources(res, &mut c.cgroups);
        }
        if let Some(path) = linux.cgroups_path() {
            let path = text(path);
            if path.contains(':') {
                self.reject(
                    "linux.cgroupsPath",
                    format!("{path:?} is a systemd slice path; only cgroupfs paths are supported"),
                );
            } else if !path.starts_with('/') {
                self.reject(
                    "linux.cgroupsPath",
                    format!("{path:?} must be an absolute path (relative paths are not supported)"),
                );
            } else {
                c.cgroups.path = path;
            }
        }

        let idmaps = |maps: &Option<Vec<oci::LinuxIdMapping>>| -> Vec<IdMap> {
            maps.iter()
                .flatten()
                .map(|m| IdMap {
                    container_id: m.container_id(),
                    host_id: m.host_id(),
                    size: m.size(),
                })
                .collect()
        };
        c.uid_mappings = idmaps(linux.uid_mappings());
        c.gid_mappings = idmaps(linux.gid_mappings());

        if let Some(sysctl) = linux.sysctl() {
            c.sysctl.extend(
                sysctl
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect::<BTreeMap<_, _>>(),
            );
        }
        if let Some(s) = linux.seccomp() {
            c.seccomp = Some(self.seccomp(s));
        }
        if let Some(prop) = linux
            .rootfs_propagation()
            .as_deref()
            .filter(|p| !p.is_empty())
        {
            match Propagation::from_name(prop) {
                Some(p) => c.rootfs_propagation = Some(p),
                None => self.reject(
                    "linux.rootfsPropagation",
                    format!("unknown propagation {prop:?}"),
                ),
            }
        }
        c.mask_paths = linux.masked_paths().clone().unwrap_or_default();
        c.readonly_paths = linux.readonly_paths().clone().unwrap_or_default();
        c.mount_label = linux.mount_label().clone().unwrap_or_default();

        if linux.net_devices().as_ref().is_some_and(|d| !d.is_empty()) {
            self.reject(
                "linux.netDevices",
                "moving host network devices into the container is not supported",
            );
        }
        if linux.intel_rdt().is_some() {
            self.reject("linux.intelRdt", "Intel RDT is not supported");
        }
        if linux.memory_policy().is_some() {
            self.reject(
                "linux.memoryPolicy",
                "NUMA memory policies are not supported",
            );
        }
        if linux.time_offsets().as_ref().is_some_and(|t| !t.is_empty()) {
            self.reject("linux.timeOffsets", "the time namespace is not supported");
        }
        if let Some(p) = linux.personality() {
            let plain = p.domain() == oci::LinuxPersonalityDomain::PerLinux
                && p.flags().as_ref().is_none_or(|f| f.is_empty());
            if !plain {
                self.reject(
                    "linux.personality",
                    "only the plain LINUX personality is supported",
                );
            }
        }
    }

    fn resources(&mut self, res: &oci::LinuxResources, cg: &mut Cgroups) {
        for d in res.devices().iter().flatten() {
            cg.allowed_devices.push(Device {
                kind: d.typ().map(device_type).unwrap_or(DeviceType::All),
                path: String::new(),
                major: d.major().unwrap_or(-1),
                minor: d.minor().unwrap_or(-1),
                permissions: d.access().clone().unwrap_or_else(|| "rwm".to_string()),
                file_mode: 0,
                uid: 0,
                gid: 0,
                allow: d.allow(),
            });
        }

        if let Some(m) = res.memory() {
            cg.memory = m.limit();
            cg.memory_reservation = m.reservation();
            cg.memory_swap = m.swap();
            cg.memory_swappiness = m.swappiness();
            cg.oom_kill_disable = m.disable_oom_killer().unwrap_or(false);
            if m.kernel_tcp().is_some() {
                self.reject(
                    "linux.resources.memory.kernelTCP",
                    "kernel TCP memory limits are not supported",
                );
            }
        }

        if let Some(cpu) = res.cpu() {
            cg.cpu_shares = cpu.shares();
            cg.cpu_quota = cpu.quota();
            cg.cpu_period = cpu.period();
            cg.cpu_rt_runtime = cpu.realtime_runtime();
            cg.cpu_rt_period = cpu.realtime_period();
            cg.cpuset_cpus = cpu.cpus().clone().unwrap_or_default();
            cg.cpuset_mems = cpu.mems().clone().unwrap_or_default();
            if cpu.idle().is_some() {
                self.reject(
                    "linux.resources.cpu.idle",
                    "SCHED_IDLE cgroups are not supported",
                );
            }
            if cpu.burst().is_some() {
                self.reject("linux.resources.cpu.burst", "CPU burst is not supported");
            }
        }

        if let Some(pids) = res.pids() {
            let limit = pids.limit();
            cg.pids_limit = match limit {
                0 => None,
                l if l < 0 => Some(-1),
                l => Some(l),
            };
        }

        if let Some(b) = res.block_io() {
            cg.blkio_weight = b.weight();
            if b.leaf_weight().is_some() {
                self.reject(
                    "linux.resources.blockIO.leafWeight",
                    "leaf weights are not supported",
                );
            }
            if b.weight_device().as_ref().is_some_and(|w| !w.is_empty()) {
                self.reject(
                    "linux.resources.blockIO.weightDevice",
                    "per-device weights are not supported",
                );
            }
            let mut throttle = |name: &str, list: &Option<Vec<oci::LinuxThrottleDevice>>| {
                let mut out = Vec::new();
                for (i, d) in list.iter().flatten().enumerate() {
                    match (u64::try_from(d.major()), u64::try_from(d.minor())) {
                        (Ok(major), Ok(minor)) => out.push(BlkioDeviceLimit {
                            major,
                            minor,
                            rate: d.rate(),
                        }),
                        _ => self.reject(
                            format!("linux.resources.blockIO.{name}[{i}]"),
                            "device numbers must not be negative",
                        ),
                    }
                }
                out
            };
            cg.blkio_throttle_read_bps_device =
                throttle("throttleReadBpsDevice", b.throttle_read_bps_device());
            cg.blkio_throttle_write_bps_device =
                throttle("throttleWriteBpsDevice", b.throttle_write_bps_device());
            cg.blkio_throttle_read_iops_device =
                throttle("throttleReadIOPSDevice", b.throttle_read_iops_device());
            cg.blkio_throttle_write_iops_device =
                throttle("throttleWriteIOPSDevice", b.throttle_write_iops_device());
        }

        if res
            .hugepage_limits()
            .as_ref()
            .is_some_and(|h| !h.is_empty())
        {
            self.reject(
                "linux.resources.hugepageLimits",
                "hugetlb limits are not supported",
            );
        }
        if let Some(n) = res.network() {
            if n.class_id().is_some() || n.priorities().as_ref().is_some_and(|p| !p.is_empty()) {
                self.reject(
                    "linux.resources.network",
                    "net_cls / net_prio settings are not supported",
                );
            }
        }
        if res.rdma().as_ref().is_some_and(|r| !r.is_empty()) {
            self.reject("linux.resources.rdma", "RDMA limits are not supported");
        }
        if res.unified().as_ref().is_some_and(|u| !u.is_empty()) {
            self.reject(
                "linux.resources.unified",
                "raw cgroup v2 settings are not supported",
            );
        }
    }

    fn seccomp(&mut self, s: &oci::LinuxSeccomp) -> Seccomp {
        if s.listener_path().is_some() {
            self.reject(
                "linux.seccomp.listenerPath",
                "seccomp notify listeners are not supported",
            );
        }
        if s.listener_metadata().is_some() {
            self.reject(
                "linux.seccomp.listenerMetadata",
                "seccomp notify listeners are not supported",
            );
        }
        let mut action = |path: String, a: &oci::LinuxSeccompAction| -> SeccompAction {
            via_serde(a).unwrap_or_else(|| {
                self.reject(path, format!("unsupported action {}", serde_name(a)));
                SeccompAction::Allow
            })
        };
        let default_action = action("linux.seccomp.defaultAction".into(), &s.default_action());
        let mut syscalls = Vec::new();
        for (i, sc) in s.syscalls().iter().flatten().enumerate() {
            let act = action(format!("linux.seccomp.syscalls[{i}].action"), &sc.action());
            let args = sc
                .args()
                .iter()
                .flatten()
                .map(|a| SeccompArg {
                    // An index that does not fit is reported by validation as out of range.
                    index: u32::try_from(a.index()).unwrap_or(u32::MAX),
                    value: a.value(),
                    value_two: a.value_two().unwrap_or(0),
                    op: via_serde(&a.op()).unwrap_or(SeccompOp::Equal),
                })
                .collect();
            syscalls.push(SeccompSyscall {
                names: sc.names().clone(),
                action: act,
                errno_ret: sc.errno_ret(),
                args,
            });
        }
        Seccomp {
            default_action,
            default_errno_ret: s.default_errno_ret(),
            architectures: s.architectures().iter().flatten().map(serde_name).collect(),
            flags: s.flags().iter().flatten().map(serde_name).collect(),
            syscalls,
        }
    }

    fn process(&mut self, p: &oci::Process, c: &mut Config) {
        let user = p.user();
        c.process = Some(ProcessDefaults {
            args: p.args().clone().unwrap_or_default(),
            env: p.env().clone().unwrap_or_default(),
            cwd: text(p.cwd()),
            user: format!("{}:{}", user.uid(), user.gid()),
            terminal: p.terminal().unwrap_or(false),
        });
        c.additional_groups = user
            .additional_gids()
            .iter()
            .flatten()
            .map(|g| g.to_string())
            .collect();
        if let Some(umask) = user.umask() {
            if umask != 0o022 {
                self.reject(
                    "process.user.umask",
                    format!(
                        "{umask:#o} is not supported (the container always starts with umask 0022)"
                    ),
                );
            }
        }

        if let Some(caps) = p.capabilities() {
            let set = |s: &Option<oci::Capabilities>| -> Vec<String> {
                let mut names: Vec<String> = s.iter().flatten().map(serde_name).collect();
                names.sort_by_key(|n| (caps::number(n).unwrap_or(u32::MAX), n.clone()));
                names
            };
            let permitted = set(caps.permitted());
            let inheritable = set(caps.inheritable());
            let ambient = set(caps.ambient())
                .into_iter()
                .filter(|n| permitted.contains(n) && inheritable.contains(n))
                .collect();
            c.capabilities = Capabilities {
                bounding: set(caps.bounding()),
                effective: set(caps.effective()),
                permitted,
                inheritable,
                ambient,
            };
        }

        for (i, rl) in p.rlimits().iter().flatten().enumerate() {
            match via_serde::<_, RlimitType>(&rl.typ()) {
                Some(kind) => c.rlimits.push(Rlimit {
                    kind,
                    hard: rl.hard(),
                    soft: rl.soft(),
                }),
                None => self.reject(
                    format!("process.rlimits[{i}].type"),
                    format!("unsupported rlimit {}", serde_name(&rl.typ())),
                ),
            }
        }
        c.no_new_privileges = p.no_new_privileges().unwrap_or(false);
        c.oom_score_adj = p.oom_score_adj();
        c.apparmor_profile = p.apparmor_profile().clone().unwrap_or_default();
        c.process_label = p.selinux_label().clone().unwrap_or_default();

        if p.io_priority().is_some() {
            self.reject("process.ioPriority", "I/O priorities are not supported");
        }
        if p.scheduler().is_some() {
            self.reject("process.scheduler", "scheduler policies are not supported");
        }
        if p.exec_cpu_affinity().is_some() {
            self.reject(
                "process.execCPUAffinity",
                "exec CPU affinity is not supported",
            );
        }
    }

    fn hook_list(&mut self, kind: &str, list: &Option<Vec<oci::Hook>>) -> Vec<Hook> {
        let mut out = Vec::new();
        for (i, h) in list.iter().flatten().enumerate() {
            let timeout = match h.timeout() {
                None => None,
                Some(t) if t > 0 => Some(t.unsigned_abs()),
                Some(t) => {
                    self.reject(
                        format!("hooks.{kind}[{i}].timeout"),
                        format!("{t} must be greater than 0"),
                    );
                    None
                }
            };
            out.push(Hook {
                path: text(h.path()),
                args: h.args().clone().unwrap_or_default(),
                env: h.env().clone().unwrap_or_default(),
                dir: String::new(),
                timeout,
            });
        }
        out
    }

    #[allow(deprecated)] // `prestart` is deprecated in the spec but still used and supported
    fn hooks(&mut self, h: &oci::Hooks) -> Hooks {
        Hooks {
            prestart: self.hook_list("prestart", h.prestart()),
            create_runtime: self.hook_list("createRuntime", h.create_runtime()),
            create_container: self.hook_list("createContainer", h.create_container()),
            start_container: self.hook_list("startContainer", h.start_container()),
            poststart: self.hook_list("poststart", h.poststart()),
            poststop: self.hook_list("poststop", h.poststop()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seccomp_enums_share_names() {
        for a in [
            oci::LinuxSeccompAction::ScmpActKill,
            oci::LinuxSeccompAction::ScmpActKillThread,
            oci::LinuxSeccompAction::ScmpActKillProcess,
            oci::LinuxSeccompAction::ScmpActTrap,
            oci::LinuxSeccompAction::ScmpActErrno,
            oci::LinuxSeccompAction::ScmpActNotify,
            oci::LinuxSeccompAction::ScmpActTrace,
            oci::LinuxSeccompAction::ScmpActLog,
            oci::LinuxSeccompAction::ScmpActAllow,
        ] {
            assert!(via_serde::<_, SeccompAction>(&a).is_some(), "{a:?}");
        }
        for o in [
            oci::LinuxSeccompOperator::ScmpCmpNe,
            oci::LinuxSeccompOperator::ScmpCmpLt,
            oci::LinuxSeccompOperator::ScmpCmpLe,
            oci::LinuxSeccompOperator::ScmpCmpEq,
            oci::LinuxSeccompOperator::ScmpCmpGe,
            oci::LinuxSeccompOperator::ScmpCmpGt,
            oci::LinuxSeccompOperator::ScmpCmpMaskedEq,
        ] {
            assert!(via_serde::<_, SeccompOp>(&o).is_some(), "{o:?}");
        }
    }

    #[test]
    fn oci_arches_and_flags_are_known_to_validation() {
        use crate::validate::{SECCOMP_ARCHES, SECCOMP_FLAGS};
        let arches: Vec<oci::Arch> =
            serde_json::from_value(serde_json::json!(SECCOMP_ARCHES)).unwrap();
        assert_eq!(arches.len(), SECCOMP_ARCHES.len());
        let flags: Vec<oci::LinuxSeccompFilterFlag> =
            serde_json::from_value(serde_json::json!(SECCOMP_FLAGS)).unwrap();
        for f in &flags {
            assert!(SECCOMP_FLAGS.contains(&serde_name(f).as_str()));
        }
    }

    #[test]
    fn every_oci_capability_is_in_the_table() {
        for name in caps::CAPABILITIES {
            let c: oci::Capability = serde_json::from_value(serde_json::json!(name)).unwrap();
            assert_eq!(serde_name(&c), name);
        }
    }

    #[test]
    fn every_oci_rlimit_converts() {
        for t in RlimitType::ALL {
            let o: oci::PosixRlimitType =
                serde_json::from_value(serde_json::json!(t.name())).unwrap();
            assert_eq!(via_serde::<_, RlimitType>(&o), Some(t));
        }
    }
}
