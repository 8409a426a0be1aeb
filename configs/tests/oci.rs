//! Conversion of OCI runtime specs: the one `runc spec` writes, a richer one,
//! and everything that must be refused.

use std::path::{Path, PathBuf};

use nsinit_configs::defaults::{
    default_allowed_devices, default_devices, default_mask_paths, default_mounts,
    default_readonly_paths, device_rule,
};
use nsinit_configs::oci::from_oci_json;
use nsinit_configs::*;
use serde_json::{json, Value};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn read(name: &str) -> String {
    std::fs::read_to_string(fixture(name)).unwrap()
}

fn convert(json: &str) -> Config {
    from_oci_json(json, "config.json").unwrap_or_else(|e| panic!("{e}"))
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn runc_spec_converts() {
    let c = convert(&read("runc-spec.json"));

    assert_eq!(c.rootfs, "rootfs");
    assert!(c.readonlyfs);
    assert_eq!(c.hostname, "runc");

    let kinds: Vec<NamespaceType> = c.namespaces.iter().map(|n| n.kind).collect();
    assert_eq!(
        kinds,
        [
            NamespaceType::Pid,
            NamespaceType::Net,
            NamespaceType::Ipc,
            NamespaceType::Uts,
            NamespaceType::Mount
        ]
    );
    assert!(c.namespaces.iter().all(|n| n.path.is_empty()));
    assert_eq!(c.networks, vec![Network::loopback()]);

    // The runc mounts are the libcontainer defaults, except that runc's /proc
    // carries no options.
    assert_eq!(c.mounts.len(), 7);
    assert_eq!(c.mounts[0].destination, "/proc");
    assert_eq!(c.mounts[0].device, "proc");
    assert_eq!(c.mounts[0].flags, MountFlags::default());
    assert_eq!(c.mounts[1..], default_mounts()[1..]);
    assert_eq!(
        c.mounts[2].data,
        "newinstance,ptmxmode=0666,mode=0620,gid=5"
    );
    assert!(c.mounts[5]
        .flags
        .contains(libc::MS_RDONLY | libc::MS_NOSUID));

    assert_eq!(c.devices, default_devices());

    let caps = strings(&["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE"]);
    assert_eq!(c.capabilities.bounding, caps);
    assert_eq!(c.capabilities.effective, caps);
    assert_eq!(c.capabilities.permitted, caps);
    assert!(c.capabilities.inheritable.is_empty());
    // runc spec lists ambient capabilities without inheritable ones; the kernel
    // would refuse to raise them, so they are left out.
    assert!(c.capabilities.ambient.is_empty());

    // Deny everything, then the default allow list.
    let mut expected = vec![Device {
        allow: false,
        ..device_rule(DeviceType::All, -1, -1, "rwm")
    }];
    expected.extend(default_allowed_devices());
    assert_eq!(c.cgroups.allowed_devices, expected);
    assert_eq!(c.cgroups.parent, "/nsinit");
    assert!(c.cgroups.path.is_empty());
    assert_eq!(c.cgroups.memory, None);
    assert_eq!(c.cgroups.pids_limit, None);

    let p = c.process.as_ref().unwrap();
    assert_eq!(p.args, ["sh"]);
    assert_eq!(
        p.env,
        [
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "TERM=xterm"
        ]
    );
    assert_eq!(p.cwd, "/");
    assert_eq!(p.user, "0:0");
    assert!(p.terminal);
    assert!(c.additional_groups.is_empty());

    assert_eq!(
        c.rlimits,
        [Rlimit {
            kind: RlimitType::Nofile,
            hard: 1024,
            soft: 1024
        }]
    );
    assert!(c.no_new_privileges);
    assert_eq!(c.mask_paths, default_mask_paths());
    assert_eq!(c.readonly_paths, default_readonly_paths());
    assert!(c.hooks.is_empty());
    assert!(c.seccomp.is_none());
    assert!(c.uid_mappings.is_empty());

    validate(&c).unwrap();
}

#[test]
fn rich_spec_converts() {
    let c = convert(&read("oci-rich.json"));

    assert_eq!(c.rootfs, "rootfs");
    assert!(!c.readonlyfs);
    assert_eq!(c.hostname, "rich");
    assert_eq!(c.sysctl["kernel.domainname"], "example.org");
    assert_eq!(c.sysctl["net.ipv4.ip_forward"], "1");
    assert_eq!(c.sysctl["kernel.shmmax"], "68719476736");

    // namespaces, with a loopback network for the new network namespace
    let kinds: Vec<&str> = c.namespaces.iter().map(|n| n.kind.config_name()).collect();
    assert_eq!(
        kinds,
        [
            "NEWPID",
            "NEWNET",
            "NEWIPC",
            "NEWUTS",
            "NEWNS",
            "NEWUSER",
            "NEWCGROUP"
        ]
    );
    assert_eq!(c.networks.len(), 1);
    assert_eq!(
        c.uid_mappings,
        [IdMap {
            container_id: 0,
            host_id: 100000,
            size: 65536
        }]
    );
    assert_eq!(c.gid_mappings, c.uid_mappings);

    // mounts
    assert_eq!(c.mounts.len(), 6);
    let data = &c.mounts[3];
    assert_eq!(data.device, "bind");
    assert_eq!(data.source, "/srv/data");
    assert_eq!(data.destination, "/data");
    assert!(data
        .flags
        .contains(libc::MS_BIND | libc::MS_REC | libc::MS_RDONLY));
    assert_eq!(data.propagation_flags, [Propagation::Rprivate]);
    assert!(data.data.is_empty());
    let shared = &c.mounts[4];
    assert_eq!(shared.device, "bind");
    assert_eq!(shared.source, "shared"); // resolved by `load`, see below
    assert!(shared.flags.contains(libc::MS_BIND | libc::MS_NOSUID));
    assert!(!shared.flags.contains(libc::MS_REC));
    let tmp = &c.mounts[5];
    assert_eq!(
        (tmp.source.as_str(), tmp.device.as_str()),
        ("tmpfs", "tmpfs")
    );
    assert_eq!(tmp.data, "mode=1777,size=64m");
    assert!(tmp.flags.contains(libc::MS_NOSUID | libc::MS_NODEV));
    assert_eq!(c.rootfs_propagation, Some(Propagation::Rslave));
    assert_eq!(c.mount_label, "system_u:object_r:container_file_t:s0:c1,c2");

    // devices: defaults with /dev/null replaced in place, /dev/fuse added with
    // the file type bits stripped from its mode
    assert_eq!(c.devices.len(), 7);
    assert_eq!(c.devices[0].path, "/dev/null");
    assert_eq!(c.devices[0].file_mode, 0o660);
    let fuse = c.devices.last().unwrap();
    assert_eq!(
        (fuse.path.as_str(), fuse.major, fuse.minor),
        ("/dev/fuse", 10, 229)
    );
    assert_eq!(fuse.kind, DeviceType::Char);
    assert_eq!(fuse.file_mode, 0o666);

    // device cgroup: spec rules, the default list, then the spec's nodes
    let rules: Vec<(bool, String)> = c
        .cgroups
        .allowed_devices
        .iter()
        .map(|d| (d.allow, d.cgroup_rule()))
        .collect();
    assert_eq!(rules[0], (false, "a".to_string()));
    assert_eq!(rules[1], (true, "c 10:229 rw".to_string()));
    assert_eq!(rules[2], (true, "b 8:* r".to_string()));
    assert_eq!(rules.len(), 3 + default_allowed_devices().len() + 2);
    assert_eq!(rules[rules.len() - 2], (true, "c 10:229 rwm".to_string()));
    assert_eq!(rules[rules.len() - 1], (true, "c 1:3 rwm".to_string()));

    // cgroup resources
    let cg = &c.cgroups;
    assert_eq!(cg.path, "/nsinit-test/rich");
    assert_eq!(cg.memory, Some(536_870_912));
    assert_eq!(cg.memory_reservation, Some(268_435_456));
    assert_eq!(cg.memory_swap, Some(1_073_741_824));
    assert_eq!(cg.memory_swappiness, Some(20));
    assert!(!cg.oom_kill_disable);
    assert_eq!(cg.cpu_shares, Some(1024));
    assert_eq!(cg.cpu_quota, Some(50000));
    assert_eq!(cg.cpu_period, Some(100000));
    assert_eq!(cg.cpu_rt_runtime, Some(950000));
    assert_eq!(cg.cpu_rt_period, Some(1000000));
    assert_eq!(cg.cpuset_cpus, "0-1");
    assert_eq!(cg.cpuset_mems, "0");
    assert_eq!(cg.pids_limit, Some(128));
    assert_eq!(cg.blkio_weight, Some(500));
    assert_eq!(
        cg.blkio_throttle_read_bps_device,
        [BlkioDeviceLimit {
            major: 8,
            minor: 0,
            rate: 1_048_576
        }]
    );
    assert_eq!(
        cg.blkio_throttle_write_iops_device,
        [BlkioDeviceLimit {
            major: 8,
            minor: 0,
            rate: 100
        }]
    );

    // process
    let p = c.process.as_ref().unwrap();
    assert_eq!(p.args, ["/bin/app", "--serve", "--port=8080"]);
    assert_eq!(
        p.env,
        [
            "PATH=/usr/local/bin:/usr/bin:/bin",
            "HOME=/home/app",
            "LANG=C.UTF-8"
        ]
    );
    assert_eq!(p.cwd, "/srv/app");
    assert_eq!(p.user, "1000:1000");
    assert!(!p.terminal);
    assert_eq!(c.additional_groups, ["10", "20"]);
    assert!(c.no_new_privileges);
    assert_eq!(c.oom_score_adj, Some(100));
    assert_eq!(c.apparmor_profile, "nsinit-app");
    assert_eq!(c.process_label, "system_u:system_r:container_t:s0:c1,c2");

    // capabilities, sorted by number; ambient keeps only what is also
    // permitted and inheritable
    let caps = &c.capabilities;
    assert_eq!(
        caps.bounding,
        strings(&[
            "CAP_CHOWN",
            "CAP_KILL",
            "CAP_SETGID",
            "CAP_SETUID",
            "CAP_NET_BIND_SERVICE"
        ])
    );
    assert_eq!(
        caps.effective,
        strings(&["CAP_KILL", "CAP_NET_BIND_SERVICE"])
    );
    assert_eq!(
        caps.permitted,
        strings(&["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"])
    );
    assert_eq!(
        caps.inheritable,
        strings(&["CAP_KILL", "CAP_NET_BIND_SERVICE"])
    );
    assert_eq!(caps.ambient, strings(&["CAP_NET_BIND_SERVICE"]));

    // rlimits
    assert_eq!(
        c.rlimits,
        [
            Rlimit {
                kind: RlimitType::Nofile,
                hard: 4096,
                soft: 2048
            },
            Rlimit {
                kind: RlimitType::Nproc,
                hard: 512,
                soft: 512
            },
            Rlimit {
                kind: RlimitType::Core,
                hard: 0,
                soft: 0
            },
        ]
    );

    // hooks, all six kinds
    let h = &c.hooks;
    assert_eq!(h.prestart.len(), 1);
    assert_eq!(h.prestart[0].path, "/usr/lib/nsinit/hooks/prestart");
    assert_eq!(h.prestart[0].args, ["prestart", "--net"]);
    assert_eq!(h.prestart[0].env, ["HOOK=prestart"]);
    assert_eq!(h.prestart[0].timeout, Some(5));
    assert_eq!(
        h.create_runtime[0].path,
        "/usr/lib/nsinit/hooks/create-runtime"
    );
    assert_eq!(h.create_runtime[0].timeout, None);
    assert_eq!(h.create_container[0].timeout, Some(3));
    assert_eq!(h.start_container[0].path, "/bin/true");
    assert_eq!(h.poststart[0].args, ["logger", "started"]);
    assert_eq!(h.poststop[0].timeout, Some(10));

    // seccomp
    let s = c.seccomp.as_ref().unwrap();
    assert_eq!(s.default_action, SeccompAction::Errno);
    assert_eq!(s.default_errno_ret, Some(1));
    assert_eq!(
        s.architectures,
        ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
    );
    assert_eq!(s.flags, ["SECCOMP_FILTER_FLAG_LOG"]);
    assert_eq!(s.syscalls.len(), 3);
    assert_eq!(
        s.syscalls[0].names,
        ["read", "write", "exit_group", "execve"]
    );
    assert_eq!(s.syscalls[0].action, SeccompAction::Allow);
    assert_eq!(
        s.syscalls[1].args,
        [SeccompArg {
            index: 0,
            value: 0,
            value_two: 0,
            op: SeccompOp::Equal
        }]
    );
    assert_eq!(s.syscalls[2].action, SeccompAction::Errno);
    assert_eq!(s.syscalls[2].errno_ret, Some(13));

    assert_eq!(c.mask_paths, ["/proc/kcore", "/sys/firmware"]);
    assert_eq!(c.readonly_paths, ["/proc/sys", "/proc/sysrq-trigger"]);

    // Only the relative bind source is left, which `load` resolves against the
    // bundle directory (see `load_converts_a_bundle_and_resolves_paths`).
    assert_eq!(
        validate(&c).unwrap_err().to_string(),
        "mounts[4].source: a bind mount needs an absolute source path"
    );
    // The converted config is an ordinary config: it round-trips.
    let text = serde_json::to_string(&c).unwrap();
    assert_eq!(parse(&text).unwrap(), c);
}

#[test]
fn load_converts_a_bundle_and_resolves_paths() {
    let dir = std::env::temp_dir().join(format!("nsinit-oci-bundle-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(fixture("oci-rich.json"), dir.join("config.json")).unwrap();
    let c = load(&dir.join("config.json")).unwrap();
    let base = std::fs::canonicalize(&dir).unwrap();
    assert_eq!(Path::new(&c.rootfs), base.join("rootfs"));
    assert_eq!(Path::new(&c.mounts[4].source), base.join("shared"));
    assert_eq!(c.mounts[3].source, "/srv/data");
    validate(&c).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The runc spec with a JSON change applied.
fn runc_with(change: impl FnOnce(&mut Value)) -> String {
    let mut v: Value = serde_json::from_str(&read("runc-spec.json")).unwrap();
    change(&mut v);
    v.to_string()
}

fn rejected(json: &str) -> String {
    match from_oci_json(json, "config.json") {
        Err(LoadError::Oci { origin, message }) => {
            assert_eq!(origin, "config.json");
            message
        }
        other => panic!("expected an OCI error, got {other:?}"),
    }
}

type Change = Box<dyn FnOnce(&mut Value)>;

#[test]
fn unsupported_features_are_refused_with_their_key() {
    let cases: Vec<(Change, &str)> = vec![
        (
            Box::new(|v| {
                v.as_object_mut().unwrap().remove("root");
            }),
            "root: is required",
        ),
        (
            Box::new(|v| v["windows"] = json!({"layerFolders": []})),
            "windows: this platform section",
        ),
        (
            Box::new(|v| v["vm"] = json!({"kernel": {"path": "/k"}})),
            "vm: this platform section",
        ),
        (
            Box::new(|v| v["linux"]["namespaces"] = json!([{"type": "mount"}, {"type": "time"}])),
            "linux.namespaces[1]: the time namespace is not supported",
        ),
        (
            Box::new(|v| v["linux"]["cgroupsPath"] = json!("system.slice:nsinit:box")),
            "linux.cgroupsPath: \"system.slice:nsinit:box\" is a systemd slice path",
        ),
        (
            Box::new(|v| v["linux"]["cgroupsPath"] = json!("nsinit/box")),
            "linux.cgroupsPath: \"nsinit/box\" must be an absolute path",
        ),
        (
            Box::new(|v| {
                v["linux"]["resources"]["hugepageLimits"] = json!([{"pageSize": "2MB", "limit": 1}])
            }),
            "linux.resources.hugepageLimits: hugetlb limits are not supported",
        ),
        (
            Box::new(|v| v["linux"]["resources"]["unified"] = json!({"memory.high": "1G"})),
            "linux.resources.unified:",
        ),
        (
            Box::new(|v| v["linux"]["resources"]["rdma"] = json!({"mlx5_1": {"hcaHandles": 3}})),
            "linux.resources.rdma:",
        ),
        (
            Box::new(|v| v["linux"]["resources"]["network"] = json!({"classID": 1048577})),
            "linux.resources.network:",
        ),
        (
            Box::new(|v| v["linux"]["resources"]["memory"] = json!({"kernelTCP": 1000000})),
            "linux.resources.memory.kernelTCP:",
        ),
        (
            Box::new(|v| v["linux"]["resources"]["cpu"] = json!({"idle": 1})),
            "linux.resources.cpu.idle:",
        ),
        (
            Box::new(|v| v["linux"]["resources"]["cpu"] = json!({"burst": 1000})),
            "linux.resources.cpu.burst:",
        ),
        (
            Box::new(|v| v["linux"]["resources"]["blockIO"] = json!({"leafWeight": 10})),
            "linux.resources.blockIO.leafWeight:",
        ),
        (
            Box::new(|v| {
                v["linux"]["resources"]["blockIO"] =
                    json!({"weightDevice": [{"major": 8, "minor": 0, "weight": 10}]})
            }),
            "linux.resources.blockIO.weightDevice:",
        ),
        (
            Box::new(|v| {
                v["linux"]["resources"]["blockIO"] =
                    json!({"throttleReadBpsDevice": [{"major": -1, "minor": 0, "rate": 1}]})
            }),
            "linux.resources.blockIO.throttleReadBpsDevice[0]: device numbers must not be negative",
        ),
        (
            Box::new(|v| v["linux"]["netDevices"] = json!({"eth1": {}})),
            "linux.netDevices:",
        ),
        (
            Box::new(|v| v["linux"]["intelRdt"] = json!({"closID": "a"})),
            "linux.intelRdt:",
        ),
        (
            Box::new(|v| v["linux"]["timeOffsets"] = json!({"monotonic": {"secs": 1}})),
            "linux.timeOffsets:",
        ),
        (
            Box::new(|v| v["linux"]["personality"] = json!({"domain": "LINUX32"})),
            "linux.personality:",
        ),
        (
            Box::new(|v| v["linux"]["rootfsPropagation"] = json!("sideways")),
            "linux.rootfsPropagation: unknown propagation \"sideways\"",
        ),
        (
            Box::new(|v| {
                v["linux"]["seccomp"] =
                    json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/l.sock"})
            }),
            "linux.seccomp.listenerPath:",
        ),
        (
            Box::new(|v| v["process"]["user"]["umask"] = json!(63)),
            "process.user.umask: 0o77 is not supported",
        ),
        (
            Box::new(|v| {
                v["process"]["ioPriority"] = json!({"class": "IOPRIO_CLASS_IDLE", "priority": 0})
            }),
            "process.ioPriority:",
        ),
        (
            Box::new(|v| {
                v["process"]["scheduler"] = json!({"policy": "SCHED_FIFO", "priority": 1})
            }),
            "process.scheduler:",
        ),
        (
            Box::new(|v| v["process"]["execCPUAffinity"] = json!({"initial": "0"})),
            "process.execCPUAffinity:",
        ),
        (
            Box::new(|v| v["hooks"] = json!({"poststop": [{"path": "/bin/true", "timeout": 0}]})),
            "hooks.poststop[0].timeout: 0 must be greater than 0",
        ),
        (
            Box::new(|v| {
                v["mounts"][0]["uidMappings"] =
                    json!([{"containerID": 0, "hostID": 1000, "size": 1}])
            }),
            "mounts[0]: idmapped mounts",
        ),
        (
            Box::new(|v| v["mounts"][1]["options"] = json!(["nosuid", "tmpcopyup"])),
            "mounts[1].options: the runc extension \"tmpcopyup\" is not supported",
        ),
        (
            Box::new(|v| v["mounts"][1]["options"] = json!(["rro"])),
            "mounts[1].options: recursive mount attribute \"rro\" is not supported",
        ),
        (
            Box::new(|v| {
                v["mounts"][0].as_object_mut().unwrap().remove("type");
            }),
            "mounts[0].type: a mount without a type must be a bind mount",
        ),
        (
            Box::new(|v| {
                v["domainname"] = json!("a.example");
                v["linux"]["sysctl"] = json!({"kernel.domainname": "b.example"});
            }),
            "domainname: \"a.example\" conflicts with linux.sysctl",
        ),
    ];
    for (i, (change, expected)) in cases.into_iter().enumerate() {
        let json = runc_with(change);
        let message = rejected(&json);
        assert!(
            message.contains(expected),
            "case {i}: {message:?} lacks {expected:?}"
        );
    }
}

#[test]
fn every_problem_is_named_at_once() {
    let json = runc_with(|v| {
        v["linux"]["intelRdt"] = json!({"closID": "a"});
        v["process"]["scheduler"] = json!({"policy": "SCHED_FIFO"});
    });
    let message = rejected(&json);
    assert!(message.contains("linux.intelRdt: "), "{message}");
    assert!(message.contains("; process.scheduler: "), "{message}");
    let e = from_oci_json(&json, "bundle/config.json").unwrap_err();
    assert!(e
        .to_string()
        .starts_with("bundle/config.json: OCI config: "));
}

#[test]
fn harmless_keys_are_ignored() {
    let json = runc_with(|v| {
        v["annotations"] = json!({"org.example": "x"});
        v["futureKey"] = json!({"anything": [1, 2]});
        v["process"]["consoleSize"] = json!({"height": 10, "width": 20});
        v["process"]["user"]["umask"] = json!(18);
        v["linux"]["resources"]["memory"] = json!({"kernel": 1000000, "useHierarchy": true});
        v["linux"]["personality"] = json!({"domain": "LINUX"});
    });
    let c = convert(&json);
    validate(&c).unwrap();
}

#[test]
fn details_of_the_mapping() {
    // pids: > 0 as is, < 0 unlimited, 0 unset
    for (limit, expected) in [(5, Some(5)), (-1, Some(-1)), (-7, Some(-1)), (0, None)] {
        let c = convert(&runc_with(|v| {
            v["linux"]["resources"]["pids"] = json!({"limit": limit})
        }));
        assert_eq!(c.cgroups.pids_limit, expected, "{limit}");
    }
    // joining a network namespace: no loopback to set up
    let c = convert(&runc_with(|v| {
        v["linux"]["namespaces"] =
            json!([{"type": "mount"}, {"type": "network", "path": "/run/netns/x"}]);
    }));
    assert!(c.networks.is_empty());
    assert_eq!(
        c.namespace(NamespaceType::Net).unwrap().path,
        "/run/netns/x"
    );
    // domainname becomes the UTS sysctl
    let c = convert(&runc_with(|v| v["domainname"] = json!("example.org")));
    assert_eq!(c.sysctl["kernel.domainname"], "example.org");
    // a bind mount written with type "none"
    let c = convert(&runc_with(|v| {
        v["mounts"] = json!([{"destination": "/x", "type": "none", "source": "/y", "options": ["rbind", "rshared", "size=1"]}]);
    }));
    assert_eq!(c.mounts[0].device, "bind");
    assert_eq!(c.mounts[0].propagation_flags, [Propagation::Rshared]);
    assert_eq!(c.mounts[0].data, "size=1");
    // no process: no default process
    let c = convert(&runc_with(|v| {
        v.as_object_mut().unwrap().remove("process");
    }));
    assert!(c.process.is_none());
}

#[test]
fn oci_syntax_errors_have_line_and_column() {
    let json = "{\n  \"ociVersion\": \"1.0.2\",\n  \"root\": {\"path\": 5}\n}";
    match from_oci_json(json, "config.json") {
        Err(LoadError::Syntax {
            line,
            column,
            message,
            ..
        }) => {
            assert_eq!(line, 3);
            assert!(column > 0);
            assert!(message.contains("invalid type"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let json = "{\"ociVersion\": \"1.0.2\", \"linux\": {\"namespaces\": [{\"type\": \"bogus\"}]}}";
    assert!(matches!(
        from_oci_json(json, "c"),
        Err(LoadError::Syntax { .. })
    ));
    let truncated = &read("runc-spec.json")[..500];
    assert!(matches!(
        from_oci_json(truncated, "c"),
        Err(LoadError::Syntax { .. })
    ));
}
