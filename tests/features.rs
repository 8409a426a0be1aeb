//! The config's later additions, each looked at from inside (or around) a real
//! container: sysctl, oom_score_adj, no_new_privileges, parent death signal,
//! hooks, read-only bind mounts, a veth network.

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{assert_ok, Env};
use nsinit_configs::{Hook, Mount, MountFlags, Network, NetworkType, Signal};

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn sysctl_oom_score_adj_and_no_new_privileges() {
    let env = Env::new("knobs");
    let mut c = env.config();
    c.sysctl.insert("net.ipv4.ip_forward".into(), "1".into());
    c.sysctl.insert("kernel.msgmax".into(), "12345".into());
    c.oom_score_adj = Some(500);
    c.no_new_privileges = true;
    let (out, err, code) = env.sh(
        &c,
        "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/msgmax /proc/self/oom_score_adj; \
         grep NoNewPrivs /proc/self/status",
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "1\n12345\n500\nNoNewPrivs:\t1\n");
    // The host's values are untouched (the sysctls are namespaced).
    let host = std::fs::read_to_string("/proc/sys/kernel/msgmax").unwrap();
    assert_ne!(host.trim(), "12345");
}

#[test]
fn parent_death_signal_reaches_the_init() {
    let env = Env::new("pdeath");
    let mut c = env.config();
    c.parent_death_signal = Signal(libc::SIGKILL);
    let cfg = env.write_config(&c);
    let mut child = env
        .cmd()
        .args(["exec", "--id", &env.id, "--config"])
        .arg(&cfg)
        .args(["--", "sleep", "60"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut init = 0;
    wait_until("the container to run", || {
        let o = env.cmd().args(["state", &env.id]).output().unwrap();
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
        init = v["init_process_pid"].as_i64().unwrap_or(0) as i32;
        v["status"] == "running"
    });
    // The runtime dies without a chance to clean up ...
    child.kill().unwrap();
    child.wait().unwrap();
    // ... and the container's init gets SIGKILL from the kernel.
    wait_until("the init to die", || {
        let stat = std::fs::read_to_string(format!("/proc/{init}/stat")).unwrap_or_default();
        stat.is_empty()
            || stat
                .rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
    });
    assert_ok(&env.cmd().args(["delete", &env.id]).output().unwrap());
    env.assert_no_leftovers(&env.id);
}

#[test]
fn hooks_run_at_their_points_with_the_state() {
    let env = Env::with_copy("hooks");
    let log = env.work.join("hooks.log");
    let mut c = env.config();
    let host_hook = |name: &str| Hook {
        path: "/bin/sh".into(),
        args: vec![
            "sh".into(),
            "-c".into(),
            format!("read -r state; echo \"{name} $state\" >> {}", log.display()),
        ],
        ..Default::default()
    };
    c.hooks.prestart.push(host_hook("prestart"));
    c.hooks.create_runtime.push(host_hook("createRuntime"));
    c.hooks.poststart.push(host_hook("poststart"));
    c.hooks.poststop.push(host_hook("poststop"));
    // createContainer runs in the container's namespaces before the pivot
    // (host paths still visible); startContainer inside the container.
    c.hooks.create_container.push(Hook {
        path: "/bin/sh".into(),
        args: vec![
            "sh".into(),
            "-c".into(),
            format!(
                "echo createContainer $(readlink /proc/self/ns/mnt) >> {}",
                log.display()
            ),
        ],
        ..Default::default()
    });
    c.hooks.start_container.push(Hook {
        path: "/bin/sh".into(),
        args: vec![
            "sh".into(),
            "-c".into(),
            "echo started > /tmp/start-hook".into(),
        ],
        ..Default::default()
    });
    let (out, err, code) = env.sh(&c, "cat /tmp/start-hook; echo $$");
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "started\n1\n");
    let text = std::fs::read_to_string(&log).unwrap();
    let kinds: Vec<&str> = text.lines().map(|l| l.split(' ').next().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "prestart",
            "createRuntime",
            "createContainer",
            "poststart",
            "poststop"
        ],
        "{text}"
    );
    // createContainer ran in the container's mount namespace, not the host's.
    let host_mnt = std::fs::read_link("/proc/self/ns/mnt").unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("createContainer"))
        .unwrap();
    assert!(line.contains("mnt:["), "{line}");
    assert!(!line.contains(&*host_mnt.to_string_lossy()), "{line}");
    // The hooks on the host got the OCI state with the id and the init's pid.
    let prestart: serde_json::Value =
        serde_json::from_str(text.lines().next().unwrap().split_once(' ').unwrap().1).unwrap();
    assert_eq!(prestart["id"], env.id.as_str());
    assert!(prestart["pid"].as_i64().unwrap() > 1);
    let poststop = text.lines().last().unwrap();
    assert!(poststop.contains("\"status\":\"stopped\""), "{poststop}");
}

#[test]
fn failing_prestart_hook_is_a_clear_error_and_nothing_is_left() {
    let env = Env::with_copy("badhook");
    let mut c = env.config();
    c.hooks.prestart.push(Hook {
        path: "/bin/sh".into(),
        args: vec![
            "sh".into(),
            "-c".into(),
            "echo no network for you >&2; exit 3".into(),
        ],
        ..Default::default()
    });
    let (_, err, code) = env.sh(&c, "true");
    assert_ne!(code, 0);
    assert!(err.contains("prestart hook /bin/sh"), "{err}");
    assert!(err.contains("no network for you"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    env.assert_no_leftovers(&env.id);
}

#[test]
fn read_only_bind_mount() {
    let env = Env::with_copy("robind");
    let data = env.work.join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::write(data.join("hello"), "from the host\n").unwrap();
    let mut c = env.config();
    let mut flags = MountFlags::default();
    for f in ["bind", "rec", "ro", "nosuid", "nodev"] {
        flags.parse_option(f);
    }
    c.mounts.push(Mount {
        source: data.display().to_string(),
        destination: "/data".into(),
        device: "bind".into(),
        flags,
        ..Default::default()
    });
    let (out, err, code) = env.sh(
        &c,
        "cat /data/hello; touch /data/x 2>&1; grep ' /data ' /proc/self/mountinfo",
    );
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "from the host");
    assert!(lines[1].contains("Read-only file system"), "{out}");
    assert!(lines[2].contains(" ro,nosuid,nodev"), "{out}");
    assert!(!data.join("x").exists());
}

#[test]
fn veth_network_inside_the_container() {
    let env = Env::new("veth");
    let mut c = env.config();
    let mut veth = Network::loopback();
    veth.kind = NetworkType::Veth;
    veth.name = "eth0".into();
    veth.address = "10.213.7.2/24".into();
    veth.gateway = "10.213.7.1".into();
    veth.mtu = 1400;
    veth.host_interface_name = format!("vt{}", std::process::id() % 100000);
    c.networks.push(veth.clone());
    let (out, err, code) = env.sh(
        &c,
        "ip -o addr show eth0 | grep -o 'inet [0-9./]*'; cat /sys/class/net/eth0/mtu; \
         cat /sys/class/net/eth0/operstate; ip route | grep default; ip link show lo | grep -c UP",
    );
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "inet 10.213.7.2/24", "{out}");
    assert_eq!(lines[1], "1400");
    assert!(
        ["up", "lowerlayerdown", "unknown"].contains(&lines[2]),
        "{out}"
    );
    assert!(
        lines[3].starts_with("default via 10.213.7.1 dev eth0"),
        "{out}"
    );
    assert_eq!(lines[4], "1", "lo is not up: {out}");
    // The host end is gone with the container.
    wait_until("the host end to disappear", || {
        !std::path::Path::new("/sys/class/net")
            .join(&veth.host_interface_name)
            .exists()
    });
}
