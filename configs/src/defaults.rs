//! The libcontainer defaults: what `nsinit config` prints and what the OCI
//! conversion and the runtime build on.
//!
//! | piece | default |
//! |---|---|
//! | `rootfs` | `"rootfs"` (relative: [`load`](crate::load()) resolves it against the config file's directory) |
//! | `hostname` | `"nsinit"` |
//! | `namespaces` | `NEWNS NEWUTS NEWIPC NEWPID NEWNET` ([`default_namespaces`]) |
//! | `networks` | loopback ([`default_networks`]) |
//! | `mounts` | `/proc /dev /dev/pts /dev/shm /dev/mqueue /sys /sys/fs/cgroup` ([`default_mounts`]) |
//! | `devices` | null zero full tty random urandom ([`default_devices`]) |
//! | `cgroups` | parent `/nsinit`, the runc device allow list ([`default_cgroups`], [`default_allowed_devices`]) |
//! | `capabilities` | Docker's 14 ([`default_capabilities`]) |
//! | `mask_paths`, `readonly_paths` | the runc sets ([`default_mask_paths`], [`default_readonly_paths`]) |
//! | `rlimits` | `RLIMIT_NOFILE` 1024/1024 ([`default_rlimits`]) |
//! | `process` | `/bin/sh`, `PATH` and `TERM=xterm`, cwd `/`, user `0:0` ([`default_process`]) |
//!
//! The default process runs as user `"0:0"` (root) rather than the name `"root"`:
//! a numeric user needs no `/etc/passwd` in the root filesystem, so the default
//! config also works on a bare busybox rootfs.
//!
//! ```
//! let config = nsinit_configs::default_config();
//! assert_eq!(config.hostname, "nsinit");
//! assert_eq!(config.cgroups.parent, "/nsinit");
//! assert!(config.capabilities.bounding.contains(&"CAP_CHOWN".to_string()));
//! ```

use crate::model::*;

/// `PATH` of the default process environment.
pub const DEFAULT_PATH_ENV: &str =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// `TERM` of the default process environment.
pub const DEFAULT_TERM_ENV: &str = "TERM=xterm";

/// The default hostname.
pub const DEFAULT_HOSTNAME: &str = "nsinit";

/// The default cgroup parent; a container's cgroup is `<parent>/<id>`.
pub const DEFAULT_CGROUP_PARENT: &str = "/nsinit";

/// A complete default config (see the module documentation for its contents).
pub fn default_config() -> Config {
    Config {
        rootfs: "rootfs".to_string(),
        hostname: DEFAULT_HOSTNAME.to_string(),
        namespaces: default_namespaces(),
        networks: default_networks(),
        mounts: default_mounts(),
        devices: default_devices(),
        cgroups: default_cgroups(),
        capabilities: default_capabilities(),
        mask_paths: default_mask_paths(),
        readonly_paths: default_readonly_paths(),
        rlimits: default_rlimits(),
        process: Some(default_process()),
        ..Config::default()
    }
}

/// The namespaces a default container creates: mount, UTS, IPC, PID and network.
/// The user and cgroup namespaces are shared with the runtime.
pub fn default_namespaces() -> Vec<Namespace> {
    [
        NamespaceType::Mount,
        NamespaceType::Uts,
        NamespaceType::Ipc,
        NamespaceType::Pid,
        NamespaceType::Net,
    ]
    .into_iter()
    .map(Namespace::new)
    .collect()
}

/// The networks of a new network namespace: only the loopback interface.
pub fn default_networks() -> Vec<Network> {
    vec![Network::loopback()]
}

fn flags(names: &[&str]) -> MountFlags {
    let mut f = MountFlags::default();
    for n in names {
        // Every name used here is in the flag table; an unknown one would be a
        // programming error caught by the tests.
        let known = f.parse_option(n);
        debug_assert!(known, "{n} is not a mount flag");
    }
    f
}

fn mount(source: &str, destination: &str, device: &str, fl: &[&str], data: &str) -> Mount {
    Mount {
        source: source.to_string(),
        destination: destination.to_string(),
        device: device.to_string(),
        flags: flags(fl),
        propagation_flags: Vec::new(),
        data: data.to_string(),
        relabel: String::new(),
    }
}

/// The libcontainer default mounts, in mount order.
///
/// | destination | type | flags | data |
/// |---|---|---|---|
/// | `/proc` | proc | nosuid noexec nodev | |
/// | `/dev` | tmpfs | nosuid strictatime | `mode=755,size=65536k` |
/// | `/dev/pts` | devpts | nosuid noexec | `newinstance,ptmxmode=0666,mode=0620,gid=5` |
/// | `/dev/shm` | tmpfs | nosuid noexec nodev | `mode=1777,size=65536k` |
/// | `/dev/mqueue` | mqueue | nosuid noexec nodev | |
/// | `/sys` | sysfs | nosuid noexec nodev ro | |
/// | `/sys/fs/cgroup` | cgroup | nosuid noexec nodev relatime ro | |
pub fn default_mounts() -> Vec<Mount> {
    vec![
        mount("proc", "/proc", "proc", &["nosuid", "noexec", "nodev"], ""),
        mount(
            "tmpfs",
            "/dev",
            "tmpfs",
            &["nosuid", "strictatime"],
            "mode=755,size=65536k",
        ),
        mount(
            "devpts",
            "/dev/pts",
            "devpts",
            &["nosuid", "noexec"],
            "newinstance,ptmxmode=0666,mode=0620,gid=5",
        ),
        mount(
            "shm",
            "/dev/shm",
            "tmpfs",
            &["nosuid", "noexec", "nodev"],
            "mode=1777,size=65536k",
        ),
        mount(
            "mqueue",
            "/dev/mqueue",
            "mqueue",
            &["nosuid", "noexec", "nodev"],
            "",
        ),
        mount(
            "sysfs",
            "/sys",
            "sysfs",
            &["nosuid", "noexec", "nodev", "ro"],
            "",
        ),
        mount(
            "cgroup",
            "/sys/fs/cgroup",
            "cgroup",
            &["nosuid", "noexec", "nodev", "relatime", "ro"],
            "",
        ),
    ]
}

/// A character device node with mode 0666, owned by root, cgroup access `rwm`.
pub fn char_device(path: &str, major: i64, minor: i64) -> Device {
    Device {
        kind: DeviceType::Char,
        path: path.to_string(),
        major,
        minor,
        permissions: "rwm".to_string(),
        file_mode: 0o666,
        uid: 0,
        gid: 0,
        allow: true,
    }
}

/// The device nodes every container gets under `/dev` (the rootfs must not
/// provide them): null 1:3, zero 1:5, full 1:7, tty 5:0, random 1:8, urandom 1:9.
pub fn default_devices() -> Vec<Device> {
    vec![
        char_device("/dev/null", 1, 3),
        char_device("/dev/zero", 1, 5),
        char_device("/dev/full", 1, 7),
        char_device("/dev/tty", 5, 0),
        char_device("/dev/random", 1, 8),
        char_device("/dev/urandom", 1, 9),
    ]
}

/// A device cgroup rule (no node path). `-1` is the `*` wildcard.
pub fn device_rule(kind: DeviceType, major: i64, minor: i64, permissions: &str) -> Device {
    Device {
        kind,
        path: String::new(),
        major,
        minor,
        permissions: permissions.to_string(),
        file_mode: 0,
        uid: 0,
        gid: 0,
        allow: true,
    }
}

/// The default device cgroup allow list (the runc / libcontainer one), applied
/// after everything is denied:
///
/// `c *:* m`, `b *:* m` (mknod of any node; using it still needs an allow rule),
/// the six default devices `rwm`, `/dev/console` 5:1, `/dev/ptmx` 5:2,
/// `/dev/pts/*` 136:*, and `/dev/net/tun` 10:200.
pub fn default_allowed_devices() -> Vec<Device> {
    let mut rules = vec![
        device_rule(DeviceType::Char, -1, -1, "m"),
        device_rule(DeviceType::Block, -1, -1, "m"),
    ];
    rules.extend(
        default_devices()
            .iter()
            .map(|d| device_rule(d.kind, d.major, d.minor, "rwm")),
    );
    rules.extend([
        device_rule(DeviceType::Char, 5, 1, "rwm"),
        device_rule(DeviceType::Char, 5, 2, "rwm"),
        device_rule(DeviceType::Char, 136, -1, "rwm"),
        device_rule(DeviceType::Char, 10, 200, "rwm"),
    ]);
    rules
}

/// Cgroups of a default container: parent `/nsinit` (the name defaults to the
/// container id), the default device allow list, no resource limits.
pub fn default_cgroups() -> Cgroups {
    Cgroups {
        parent: DEFAULT_CGROUP_PARENT.to_string(),
        allowed_devices: default_allowed_devices(),
        ..Cgroups::default()
    }
}

/// Docker's default capability whitelist (14 capabilities).
pub const DEFAULT_CAPABILITIES: [&str; 14] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// [`DEFAULT_CAPABILITIES`] in the whitelist form (bounding, effective,
/// permitted and inheritable; no ambient).
pub fn default_capabilities() -> Capabilities {
    Capabilities::from_list(DEFAULT_CAPABILITIES.iter().map(|c| c.to_string()).collect())
}

/// Paths masked by default (the runc set).
pub fn default_mask_paths() -> Vec<String> {
    [
        "/proc/acpi",
        "/proc/asound",
        "/proc/kcore",
        "/proc/keys",
        "/proc/latency_stats",
        "/proc/timer_list",
        "/proc/timer_stats",
        "/proc/sched_debug",
        "/sys/firmware",
        "/proc/scsi",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Paths made read-only by default (the runc set).
pub fn default_readonly_paths() -> Vec<String> {
    [
        "/proc/bus",
        "/proc/fs",
        "/proc/irq",
        "/proc/sys",
        "/proc/sysrq-trigger",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// `RLIMIT_NOFILE` soft and hard 1024.
pub fn default_rlimits() -> Vec<Rlimit> {
    vec![Rlimit {
        kind: RlimitType::Nofile,
        hard: 1024,
        soft: 1024,
    }]
}

/// The default process: `/bin/sh` as root (`0:0`) in `/`, with `PATH` and
/// `TERM=xterm`, no terminal.
pub fn default_process() -> ProcessDefaults {
    ProcessDefaults {
        args: vec!["/bin/sh".to_string()],
        env: vec![DEFAULT_PATH_ENV.to_string(), DEFAULT_TERM_ENV.to_string()],
        cwd: "/".to_string(),
        user: "0:0".to_string(),
        terminal: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid_and_complete() {
        let c = default_config();
        crate::validate(&c).unwrap();
        assert_eq!(c.mounts.len(), 7);
        assert_eq!(c.devices.len(), 6);
        assert_eq!(c.cgroups.allowed_devices.len(), 12);
        assert!(c.capabilities.is_list_form());
    }

    #[test]
    fn default_mount_flags() {
        let m = default_mounts();
        assert!(m[5].flags.contains(libc::MS_RDONLY | libc::MS_NOSUID));
        assert!(m[1].flags.contains(libc::MS_STRICTATIME));
        assert_eq!(m[2].data, "newinstance,ptmxmode=0666,mode=0620,gid=5");
    }

    #[test]
    fn allowed_devices_rules() {
        let rules: Vec<String> = default_allowed_devices()
            .iter()
            .map(|d| d.cgroup_rule())
            .collect();
        assert_eq!(
            rules,
            [
                "c *:* m",
                "b *:* m",
                "c 1:3 rwm",
                "c 1:5 rwm",
                "c 1:7 rwm",
                "c 5:0 rwm",
                "c 1:8 rwm",
                "c 1:9 rwm",
                "c 5:1 rwm",
                "c 5:2 rwm",
                "c 136:* rwm",
                "c 10:200 rwm"
            ]
        );
    }
}
