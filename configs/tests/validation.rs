//! One failing config per validation rule, each asserting the exact message and
//! that it is the only problem reported.

use nsinit_configs::defaults::{default_config, device_rule};
use nsinit_configs::*;

fn problems(c: &Config) -> Vec<String> {
    match validate(c) {
        Ok(()) => Vec::new(),
        Err(e) => e.iter().map(|e| e.to_string()).collect(),
    }
}

/// Applies `change` to the default config and expects exactly `expected`.
fn only(change: impl FnOnce(&mut Config), expected: &str) {
    let mut c = default_config();
    change(&mut c);
    assert_eq!(problems(&c), vec![expected.to_string()]);
}

/// Applies `change` to the default config and expects it to stay valid.
fn valid(change: impl FnOnce(&mut Config)) {
    let mut c = default_config();
    change(&mut c);
    assert_eq!(problems(&c), Vec::<String>::new());
}

macro_rules! rule {
    ($name:ident, $msg:expr, |$c:ident| $body:expr) => {
        #[test]
        fn $name() {
            only(|$c: &mut Config| $body, $msg);
        }
    };
}

fn without(c: &mut Config, kind: NamespaceType) {
    c.namespaces.retain(|n| n.kind != kind);
}

fn id(container_id: u32, host_id: u32, size: u32) -> IdMap {
    IdMap {
        container_id,
        host_id,
        size,
    }
}

fn userns(c: &mut Config) {
    c.namespaces.push(Namespace::new(NamespaceType::User));
    c.uid_mappings = vec![id(0, 100000, 65536)];
    c.gid_mappings = vec![id(0, 100000, 65536)];
}

fn veth(c: &mut Config) -> &mut Network {
    let mut n = Network::loopback();
    n.kind = NetworkType::Veth;
    n.name = "eth0".into();
    c.networks.push(n);
    c.networks.last_mut().unwrap()
}

fn seccomp(c: &mut Config) -> &mut Seccomp {
    c.seccomp = Some(Seccomp {
        default_action: SeccompAction::Errno,
        default_errno_ret: Some(1),
        architectures: vec!["SCMP_ARCH_X86_64".into()],
        flags: vec![],
        syscalls: vec![SeccompSyscall {
            names: vec!["read".into(), "write".into()],
            action: SeccompAction::Allow,
            errno_ret: None,
            args: vec![],
        }],
    });
    c.seccomp.as_mut().unwrap()
}

fn hook(path: &str) -> Hook {
    Hook {
        path: path.into(),
        ..Hook::default()
    }
}

#[test]
fn default_config_is_valid() {
    valid(|_| {});
}

#[test]
fn three_distinct_errors_give_exactly_three() {
    let mut c = default_config();
    c.mounts[2].destination = "dev/pts".into();
    c.hostname = "bad_host".into();
    c.cgroups.memory = Some(12);
    let e = validate(&c).unwrap_err();
    assert_eq!(e.len(), 3);
    let paths: Vec<&str> = e.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        ["hostname", "mounts[2].destination", "cgroups.memory"]
    );
    assert_eq!(
        e.to_string(),
        "hostname: \"bad_host\" may only contain letters, digits, '-' and '.'\n\
         mounts[2].destination: must be an absolute path\n\
         cgroups.memory: 12 is below the kernel minimum of 4096 bytes"
    );
}

#[test]
fn every_problem_is_collected() {
    let mut c = default_config();
    c.rootfs.clear();
    c.namespaces.clear();
    c.cgroups.cpu_shares = Some(1);
    c.rlimits.push(c.rlimits[0]);
    // rootfs, NEWNS, hostname needs NEWUTS, loopback needs NEWNET, cpu_shares, rlimits
    assert_eq!(problems(&c).len(), 6, "{:#?}", problems(&c));
}

#[test]
fn boundaries_are_accepted() {
    valid(|c| {
        c.cgroups.memory = Some(4096);
        c.cgroups.memory_reservation = Some(4096);
        c.cgroups.memory_swap = Some(4096);
        c.cgroups.memory_swappiness = Some(100);
        c.cgroups.cpu_shares = Some(262_144);
        c.cgroups.cpu_quota = Some(1000);
        c.cgroups.cpu_period = Some(1_000_000);
        c.cgroups.blkio_weight = Some(10);
        c.cgroups.pids_limit = Some(-1);
        c.oom_score_adj = Some(-1000);
        c.hostname = "a".repeat(64);
        veth(c).mtu = 68;
    });
    valid(|c| {
        c.cgroups.memory = Some(-1);
        c.cgroups.memory_swap = Some(-1);
        c.cgroups.cpu_quota = Some(-1);
        c.cgroups.cpu_shares = Some(2);
        c.cgroups.blkio_weight = Some(1000);
        c.cgroups.cpu_rt_runtime = Some(-1);
        c.cgroups.cpuset_cpus = "0-2,4".into();
        c.parent_death_signal = Signal(libc::SIGRTMAX());
        veth(c).mtu = 65535;
    });
    valid(|c| {
        userns(c);
        c.uid_mappings = vec![id(0, 100000, 1), id(1, 100001, 65535)];
        c.uid_mappings.push(id(u32::MAX, 1, 1));
        c.sysctl.insert("net.ipv4.ip_forward".into(), "1".into());
        c.sysctl.insert("fs.mqueue.msg_max".into(), "10".into());
        c.sysctl
            .insert("kernel.domainname".into(), "example.org".into());
        c.capabilities.ambient = vec!["CAP_KILL".into()];
        c.no_new_privileges = true;
    });
}

// ------------------------------------------------------------------ top level

rule!(rootfs_not_empty, "rootfs: must not be empty", |c| c
    .rootfs
    .clear());
rule!(
    pivot_dir_absolute,
    "pivot_dir: must be an absolute path",
    |c| c.pivot_dir = "tmp".into()
);
rule!(
    parent_death_signal_range,
    "parent_death_signal: 99 is not a signal number (1..=64)",
    |c| c.parent_death_signal = Signal(99)
);
rule!(
    oom_score_adj_range,
    "oom_score_adj: 2000 is outside -1000..=1000",
    |c| c.oom_score_adj = Some(2000)
);

// ------------------------------------------------------------------ namespaces

rule!(
    newns_required,
    "namespaces: NEWNS is required (the runtime sets up the root filesystem in the container's own mount namespace)",
    |c| without(c, NamespaceType::Mount)
);
rule!(
    duplicate_namespace,
    "namespaces[5].type: duplicate namespace NEWPID (also namespaces[3])",
    |c| c.namespaces.push(Namespace::new(NamespaceType::Pid))
);
rule!(
    namespace_path_absolute,
    "namespaces[3].path: must be an absolute path",
    |c| c.namespaces[3].path = "proc/1/ns/pid".into()
);
rule!(
    newuser_requires_uid_mappings,
    "namespaces: NEWUSER requires uid_mappings",
    |c| {
        userns(c);
        c.uid_mappings.clear();
    }
);
rule!(
    newuser_requires_gid_mappings,
    "namespaces: NEWUSER requires gid_mappings",
    |c| {
        userns(c);
        c.gid_mappings.clear();
    }
);
rule!(
    mappings_require_newuser,
    "uid_mappings: requires the NEWUSER namespace",
    |c| c.uid_mappings = vec![id(0, 1000, 1)]
);
rule!(
    no_mappings_when_joining_userns,
    "gid_mappings: cannot be set when joining an existing user namespace",
    |c| {
        c.namespaces.push(Namespace {
            kind: NamespaceType::User,
            path: "/proc/1/ns/user".into(),
        });
        c.gid_mappings = vec![id(0, 1000, 1)];
    }
);
rule!(
    at_most_340_ranges,
    "uid_mappings: at most 340 ranges are allowed (the kernel limit)",
    |c| {
        userns(c);
        c.uid_mappings = (0..341).map(|i| id(i, 100000 + i, 1)).collect();
    }
);
rule!(
    mapping_size_positive,
    "uid_mappings[0].size: must be greater than 0",
    |c| {
        userns(c);
        c.uid_mappings = vec![id(0, 100000, 0)];
    }
);
rule!(
    mapping_host_overflow,
    "uid_mappings[0]: host_id 4294967295 + size 2 exceeds the 32-bit id range",
    |c| {
        userns(c);
        c.uid_mappings = vec![id(0, u32::MAX, 2)];
    }
);
rule!(
    mapping_container_overflow,
    "gid_mappings[0]: container_id 4294967290 + size 10 exceeds the 32-bit id range",
    |c| {
        userns(c);
        c.gid_mappings = vec![id(u32::MAX - 5, 0, 10)];
    }
);
rule!(
    mapping_container_overlap,
    "uid_mappings[1]: container ids 5..=14 overlap uid_mappings[0]",
    |c| {
        userns(c);
        c.uid_mappings = vec![id(0, 100000, 10), id(5, 200000, 10)];
    }
);
rule!(
    mapping_host_overlap,
    "gid_mappings[1]: host ids 100005..=100014 overlap gid_mappings[0]",
    |c| {
        userns(c);
        c.gid_mappings = vec![id(0, 100000, 10), id(10, 100005, 10)];
    }
);

// ------------------------------------------------------------------ hostname

rule!(
    hostname_requires_newuts,
    "hostname: requires the NEWUTS namespace",
    |c| without(c, NamespaceType::Uts)
);
rule!(
    hostname_length,
    "hostname: is 65 characters long; at most 64 are allowed",
    |c| c.hostname = "a".repeat(65)
);
rule!(
    hostname_characters,
    "hostname: \"bad_name\" may only contain letters, digits, '-' and '.'",
    |c| c.hostname = "bad_name".into()
);
rule!(
    hostname_empty_label,
    "hostname: \"a..b\" has an empty label",
    |c| c.hostname = "a..b".into()
);
rule!(
    hostname_label_dash,
    "hostname: \"-a.b\" has a label that starts or ends with '-'",
    |c| c.hostname = "-a.b".into()
);

// ------------------------------------------------------------------ mounts

rule!(
    mount_destination_absolute,
    "mounts[2].destination: must be an absolute path",
    |c| c.mounts[2].destination = "dev/pts".into()
);
rule!(
    mount_destination_no_dotdot,
    "mounts[2].destination: must not contain \"..\" components",
    |c| c.mounts[2].destination = "/dev/../etc".into()
);
rule!(
    mount_device_not_empty,
    "mounts[0].device: must not be empty (a filesystem type or \"bind\")",
    |c| c.mounts[0].device.clear()
);
rule!(
    bind_source_absolute,
    "mounts[7].source: a bind mount needs an absolute source path",
    |c| c.mounts.push(Mount {
        source: "data".into(),
        destination: "/data".into(),
        device: "bind".into(),
        ..Mount::default()
    })
);
rule!(
    bind_flag_source_absolute,
    "mounts[7].source: a bind mount needs an absolute source path",
    |c| {
        let mut flags = MountFlags::default();
        flags.parse_option("rbind");
        c.mounts.push(Mount {
            destination: "/data".into(),
            device: "none".into(),
            flags,
            ..Mount::default()
        })
    }
);
rule!(
    tmpfs_mode_octal,
    "mounts[1].data: tmpfs mode \"abc\" is not an octal mode",
    |c| c.mounts[1].data = "mode=abc,size=65536k".into()
);
rule!(
    tmpfs_size,
    "mounts[3].data: tmpfs size \"lots\" is not a size (bytes with an optional k, m or g suffix, or a percentage)",
    |c| c.mounts[3].data = "mode=1777,size=lots".into()
);

// ------------------------------------------------------------------ devices

rule!(
    device_path_absolute,
    "devices[0].path: must be an absolute path",
    |c| c.devices[0].path = "dev/null".into()
);
rule!(
    device_path_unique,
    "devices[6].path: duplicate device /dev/null (also devices[0])",
    |c| c.devices.push(c.devices[0].clone())
);
rule!(
    device_type_not_all,
    "devices[0].type: \"a\" is only valid in cgroups.allowed_devices",
    |c| c.devices[0].kind = DeviceType::All
);
rule!(
    device_major_not_negative,
    "devices[0].major: must not be negative",
    |c| c.devices[0].major = -1
);
rule!(
    device_minor_not_negative,
    "devices[1].minor: must not be negative",
    |c| c.devices[1].minor = -1
);
rule!(
    device_file_mode,
    "devices[0].file_mode: 0o10666 is not a permission mode (at most 0o7777)",
    |c| c.devices[0].file_mode = 0o10666
);
rule!(
    device_permissions,
    "devices[0].permissions: \"rwx\" may only contain r, w and m",
    |c| c.devices[0].permissions = "rwx".into()
);

// ------------------------------------------------------------------ capabilities

rule!(
    capability_unknown,
    "capabilities[1]: unknown capability \"CAP_FLY\"",
    |c| c.capabilities = Capabilities::from_list(vec!["CAP_CHOWN".into(), "CAP_FLY".into()])
);
rule!(
    capability_needs_prefix,
    "capabilities[0]: unknown capability \"CHOWN\" (names take the CAP_ prefix: \"CAP_CHOWN\")",
    |c| c.capabilities = Capabilities::from_list(vec!["CHOWN".into()])
);
rule!(
    capability_unknown_in_a_set,
    "capabilities.effective[0]: unknown capability \"CAP_FLY\"",
    |c| c.capabilities.effective = vec!["CAP_FLY".into()]
);
rule!(
    ambient_subset_of_permitted_and_inheritable,
    "capabilities.ambient[0]: CAP_KILL must also be in permitted and inheritable",
    |c| {
        c.capabilities.inheritable.clear();
        c.capabilities.ambient = vec!["CAP_KILL".into()];
    }
);

// ------------------------------------------------------------------ networks

rule!(
    network_requires_newnet,
    "networks[0].type: loopback requires the NEWNET namespace",
    |c| without(c, NamespaceType::Net)
);
rule!(
    veth_requires_newnet,
    "networks[0].type: veth requires the NEWNET namespace",
    |c| {
        without(c, NamespaceType::Net);
        c.networks.clear();
        veth(c);
    }
);
rule!(
    interface_name_length,
    "networks[1].name: \"averyveryverylongname\" is longer than 15 characters",
    |c| veth(c).name = "averyveryverylongname".into()
);
rule!(
    interface_name_characters,
    "networks[1].name: \"eth/0\" is not a valid interface name",
    |c| veth(c).name = "eth/0".into()
);
rule!(
    bridge_name,
    "networks[1].bridge: \"br 0\" is not a valid interface name",
    |c| veth(c).bridge = "br 0".into()
);
rule!(
    host_interface_name,
    "networks[1].host_interface_name: \"veth-for-container-1\" is longer than 15 characters",
    |c| veth(c).host_interface_name = "veth-for-container-1".into()
);
rule!(
    veth_names_unique,
    "networks[2].name: duplicate interface name eth0 (also networks[1])",
    |c| {
        veth(c);
        veth(c).name.clear();
    }
);
rule!(
    address_cidr,
    "networks[1].address: \"10.0.0.2\" is not an IPv4 address with a prefix length (e.g. 10.0.0.2/24)",
    |c| veth(c).address = "10.0.0.2".into()
);
rule!(
    ipv6_address_cidr,
    "networks[1].ipv6_address: \"fd00::2/129\" is not an IPv6 address with a prefix length (e.g. fd00::2/64)",
    |c| veth(c).ipv6_address = "fd00::2/129".into()
);
rule!(
    gateway_ip,
    "networks[1].gateway: \"x\" is not an IPv4 address",
    |c| veth(c).gateway = "x".into()
);
rule!(
    ipv6_gateway_ip,
    "networks[1].ipv6_gateway: \"10.0.0.1\" is not an IPv6 address",
    |c| veth(c).ipv6_gateway = "10.0.0.1".into()
);
rule!(
    mac_format,
    "networks[1].mac_address: \"zz\" is not a MAC address (e.g. 02:42:ac:11:00:02)",
    |c| veth(c).mac_address = "zz".into()
);
rule!(
    mac_unicast,
    "networks[1].mac_address: 01:00:5e:00:00:01 is a multicast address",
    |c| veth(c).mac_address = "01:00:5e:00:00:01".into()
);
rule!(
    mtu_range,
    "networks[1].mtu: 20 is outside 68..=65535",
    |c| veth(c).mtu = 20
);

// ------------------------------------------------------------------ routes

fn route(destination: &str) -> Route {
    Route {
        destination: destination.into(),
        gateway: "10.0.0.1".into(),
        ..Route::default()
    }
}

rule!(
    routes_require_newnet,
    "routes: routes require the NEWNET namespace",
    |c| {
        without(c, NamespaceType::Net);
        c.networks.clear();
        c.routes.push(route("0.0.0.0/0"));
    }
);
rule!(
    route_destination_cidr,
    "routes[0].destination: \"x\" is not an address with a prefix length (e.g. 0.0.0.0/0)",
    |c| c.routes.push(route("x"))
);
rule!(
    route_gateway_ip,
    "routes[0].gateway: \"x\" is not an IP address",
    |c| {
        let mut r = route("10.1.0.0/16");
        r.gateway = "x".into();
        c.routes.push(r);
    }
);
rule!(
    route_source_ip,
    "routes[0].source: \"10.0.0.300\" is not an IP address",
    |c| {
        let mut r = route("fd00::/8");
        r.gateway.clear();
        r.source = "10.0.0.300".into();
        c.routes.push(r);
    }
);
rule!(
    route_interface_name,
    "routes[0].interface_name: \"a/b\" is not a valid interface name",
    |c| {
        let mut r = route("10.1.0.0/16");
        r.interface_name = "a/b".into();
        c.routes.push(r);
    }
);

// ------------------------------------------------------------------ cgroups

rule!(
    memory_minimum,
    "cgroups.memory: 12 is below the kernel minimum of 4096 bytes",
    |c| c.cgroups.memory = Some(12)
);
rule!(
    memory_negative,
    "cgroups.memory: -5 is negative (use -1 for unlimited)",
    |c| c.cgroups.memory = Some(-5)
);
rule!(
    memory_reservation_minimum,
    "cgroups.memory_reservation: 100 is below the kernel minimum of 4096 bytes",
    |c| c.cgroups.memory_reservation = Some(100)
);
rule!(
    memory_reservation_not_above_memory,
    "cgroups.memory_reservation: 9000 is above cgroups.memory (8192)",
    |c| {
        c.cgroups.memory = Some(8192);
        c.cgroups.memory_reservation = Some(9000);
    }
);
rule!(
    memory_swap_needs_memory,
    "cgroups.memory_swap: requires a cgroups.memory limit",
    |c| c.cgroups.memory_swap = Some(1 << 30)
);
rule!(
    memory_swap_at_least_memory,
    "cgroups.memory_swap: 4096 is below cgroups.memory (8192); memory_swap limits memory plus swap",
    |c| {
        c.cgroups.memory = Some(8192);
        c.cgroups.memory_swap = Some(4096);
    }
);
rule!(
    memory_swap_negative,
    "cgroups.memory_swap: -2 is negative (use -1 for unlimited)",
    |c| c.cgroups.memory_swap = Some(-2)
);
rule!(
    swappiness_range,
    "cgroups.memory_swappiness: 150 is above 100",
    |c| c.cgroups.memory_swappiness = Some(150)
);
rule!(
    cpu_shares_range,
    "cgroups.cpu_shares: 1 is outside 2..=262144",
    |c| c.cgroups.cpu_shares = Some(1)
);
rule!(
    cpu_quota_minimum,
    "cgroups.cpu_quota: 500 must be -1 (unlimited) or at least 1000 microseconds",
    |c| c.cgroups.cpu_quota = Some(500)
);
rule!(
    cpu_period_range,
    "cgroups.cpu_period: 100 is outside 1000..=1000000 microseconds",
    |c| c.cgroups.cpu_period = Some(100)
);
rule!(
    cpu_rt_period_positive,
    "cgroups.cpu_rt_period: must be greater than 0",
    |c| c.cgroups.cpu_rt_period = Some(0)
);
rule!(
    cpu_rt_runtime_within_period,
    "cgroups.cpu_rt_runtime: 2000 exceeds cgroups.cpu_rt_period (1000)",
    |c| {
        c.cgroups.cpu_rt_period = Some(1000);
        c.cgroups.cpu_rt_runtime = Some(2000);
    }
);
rule!(
    cpu_rt_runtime_negative,
    "cgroups.cpu_rt_runtime: -5 must be -1 (unlimited) or a number of microseconds",
    |c| c.cgroups.cpu_rt_runtime = Some(-5)
);
rule!(
    cpuset_cpus_syntax,
    "cgroups.cpuset_cpus: \"0-\" is not a CPU list (e.g. 0-2,4)",
    |c| c.cgroups.cpuset_cpus = "0-".into()
);
rule!(
    cpuset_mems_syntax,
    "cgroups.cpuset_mems: \"1-0\" is not a memory node list (e.g. 0-1)",
    |c| c.cgroups.cpuset_mems = "1-0".into()
);
rule!(
    blkio_weight_range,
    "cgroups.blkio_weight: 5 is outside 10..=1000",
    |c| c.cgroups.blkio_weight = Some(5)
);
rule!(
    pids_limit_positive,
    "cgroups.pids_limit: 0 must be -1 (unlimited) or greater than 0",
    |c| c.cgroups.pids_limit = Some(0)
);
rule!(
    cgroup_path_absolute,
    "cgroups.path: must be an absolute path",
    |c| c.cgroups.path = "nsinit/box".into()
);
rule!(
    cgroup_path_no_dotdot,
    "cgroups.path: must not contain \"..\" components",
    |c| c.cgroups.path = "/nsinit/../box".into()
);
rule!(
    cgroup_parent_no_dotdot,
    "cgroups.parent: must not contain \"..\" components",
    |c| c.cgroups.parent = "../escape".into()
);
rule!(
    cgroup_name_single_component,
    "cgroups.name: must be a single path component",
    |c| c.cgroups.name = "a/b".into()
);
rule!(
    allowed_device_permissions,
    "cgroups.allowed_devices[2].permissions: \"rwx\" may only contain r, w and m",
    |c| c.cgroups.allowed_devices[2].permissions = "rwx".into()
);
rule!(
    allowed_device_type,
    "cgroups.allowed_devices[12].type: \"p\" is not valid in a device cgroup rule (use a, b or c)",
    |c| c
        .cgroups
        .allowed_devices
        .push(device_rule(DeviceType::Fifo, 1, 1, "rw"))
);
rule!(
    allowed_device_numbers,
    "cgroups.allowed_devices[0].major: must be -1 (any) or a device number",
    |c| c.cgroups.allowed_devices[0].major = -2
);

// ------------------------------------------------------------------ rlimits, paths

rule!(
    rlimit_soft_not_above_hard,
    "rlimits[0]: soft limit 2048 exceeds hard limit 1024",
    |c| c.rlimits[0].soft = 2048
);
rule!(
    rlimit_soft_unlimited,
    "rlimits[0]: soft limit unlimited exceeds hard limit 1024",
    |c| c.rlimits[0].soft = u64::MAX
);
rule!(
    rlimit_unique,
    "rlimits[1].type: duplicate RLIMIT_NOFILE (also rlimits[0])",
    |c| c.rlimits.push(c.rlimits[0])
);
rule!(
    mask_paths_absolute,
    "mask_paths[0]: must be an absolute path",
    |c| c.mask_paths[0] = "proc/kcore".into()
);
rule!(
    readonly_paths_absolute,
    "readonly_paths[4]: must be an absolute path",
    |c| c.readonly_paths[4] = "sysrq-trigger".into()
);

// ------------------------------------------------------------------ sysctl

rule!(
    sysctl_namespaced_only,
    "sysctl[\"vm.swappiness\"]: not a namespaced sysctl (allowed: kernel.msgmax, kernel.msgmnb, kernel.msgmni, kernel.sem, kernel.shmall, kernel.shmmax, kernel.shmmni, kernel.shm_rmid_forced, kernel.hostname, kernel.domainname, fs.mqueue.*, net.*)",
    |c| {
        c.sysctl.insert("vm.swappiness".into(), "10".into());
    }
);
rule!(
    sysctl_net_requires_newnet,
    "sysctl[\"net.ipv4.ip_forward\"]: requires the NEWNET namespace",
    |c| {
        without(c, NamespaceType::Net);
        c.networks.clear();
        c.sysctl.insert("net.ipv4.ip_forward".into(), "1".into());
    }
);
rule!(
    sysctl_ipc_requires_newipc,
    "sysctl[\"kernel.shmmax\"]: requires the NEWIPC namespace",
    |c| {
        without(c, NamespaceType::Ipc);
        c.sysctl.insert("kernel.shmmax".into(), "4096".into());
    }
);
rule!(
    sysctl_mqueue_requires_newipc,
    "sysctl[\"fs.mqueue.msg_max\"]: requires the NEWIPC namespace",
    |c| {
        without(c, NamespaceType::Ipc);
        c.sysctl.insert("fs.mqueue.msg_max".into(), "10".into());
    }
);
rule!(
    sysctl_uts_requires_newuts,
    "sysctl[\"kernel.domainname\"]: requires the NEWUTS namespace",
    |c| {
        without(c, NamespaceType::Uts);
        c.hostname.clear();
        c.sysctl
            .insert("kernel.domainname".into(), "example.org".into());
    }
);

// ------------------------------------------------------------------ seccomp

#[test]
fn seccomp_sample_is_valid() {
    valid(|c| {
        seccomp(c);
    });
}

rule!(
    seccomp_names_not_empty,
    "seccomp.syscalls[0].names: must not be empty",
    |c| seccomp(c).syscalls[0].names.clear()
);
rule!(
    seccomp_name_not_empty,
    "seccomp.syscalls[0].names[1]: must not be empty",
    |c| seccomp(c).syscalls[0].names[1].clear()
);
rule!(
    seccomp_errno_only_with_errno,
    "seccomp.syscalls[0].errno_ret: only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE",
    |c| seccomp(c).syscalls[0].errno_ret = Some(1)
);
rule!(
    seccomp_default_errno_only_with_errno,
    "seccomp.default_errno_ret: only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE",
    |c| seccomp(c).default_action = SeccompAction::KillProcess
);
rule!(
    seccomp_arg_index,
    "seccomp.syscalls[0].args[0].index: 6 is out of range (system calls have arguments 0..=5)",
    |c| seccomp(c).syscalls[0].args.push(SeccompArg {
        index: 6,
        value: 0,
        value_two: 0,
        op: SeccompOp::Equal,
    })
);
rule!(
    seccomp_architecture,
    "seccomp.architectures[1]: unknown architecture \"SCMP_ARCH_VAX\"",
    |c| seccomp(c).architectures.push("SCMP_ARCH_VAX".into())
);
rule!(
    seccomp_flag,
    "seccomp.flags[0]: unknown seccomp filter flag \"SECCOMP_FILTER_FLAG_X\"",
    |c| seccomp(c).flags.push("SECCOMP_FILTER_FLAG_X".into())
);

// ------------------------------------------------------------------ hooks

rule!(
    hook_path_absolute,
    "hooks.prestart[0].path: must be an absolute path",
    |c| c.hooks.prestart.push(hook("bin/hook"))
);
rule!(
    hook_timeout_positive,
    "hooks.poststop[1].timeout: must be greater than 0",
    |c| {
        c.hooks.poststop.push(hook("/bin/true"));
        c.hooks.poststop.push(Hook {
            timeout: Some(0),
            ..hook("/bin/true")
        });
    }
);
rule!(
    hook_env_form,
    "hooks.create_runtime[0].env[0]: \"NOEQUALS\" is not of the form KEY=VALUE",
    |c| c.hooks.create_runtime.push(Hook {
        env: vec!["NOEQUALS".into()],
        ..hook("/bin/true")
    })
);

// ------------------------------------------------------------------ process

rule!(
    process_cwd_absolute,
    "process.cwd: must be an absolute path",
    |c| c.process.as_mut().unwrap().cwd = "srv".into()
);
rule!(
    process_env_form,
    "process.env[1]: \"FOO\" is not of the form KEY=VALUE",
    |c| c.process.as_mut().unwrap().env[1] = "FOO".into()
);
rule!(
    process_env_key_not_empty,
    "process.env[2]: \"=value\" is not of the form KEY=VALUE",
    |c| c.process.as_mut().unwrap().env.push("=value".into())
);
rule!(
    process_user_form,
    "process.user: \"0:\" is not a user (uid, uid:gid, name or name:group)",
    |c| c.process.as_mut().unwrap().user = "0:".into()
);
rule!(
    additional_groups_not_empty,
    "additional_groups[0]: must not be empty",
    |c| c.additional_groups.push(String::new())
);
