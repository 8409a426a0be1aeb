//! A new container, looked at from inside: pid 1, hostname, mounts,
//! namespaces, user namespace maps, cgroups and a memory limit, capabilities,
//! read-only and masked paths, devices, rlimits, users, exit codes and signals,
//! no_pivot_root.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::{assert_ok, Env};
use nsinit_configs::{Capabilities, IdMap, Namespace, NamespaceType, Rlimit, RlimitType};

#[test]
fn command_is_pid_1() {
    let env = Env::new("pid1");
    let (out, err, code) = env.sh(&env.config(), "echo $$; cat /proc/1/cmdline | tr '\\0' ' '");
    assert_eq!(code, 0, "{err}");
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("1"));
    assert_eq!(
        lines.next().map(str::trim),
        Some("/bin/sh -c echo $$; cat /proc/1/cmdline | tr '\\0' ' '")
    );
    env.assert_no_leftovers(&env.id);
}

#[test]
fn hostname_is_set() {
    let env = Env::new("host");
    let mut c = env.config();
    c.hostname = "box-42".into();
    let (out, err, code) = env.sh(&c, "hostname; cat /proc/sys/kernel/hostname");
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "box-42\nbox-42\n");
}

#[test]
fn mount_table_is_private_and_as_configured() {
    let env = Env::new("mounts");
    let c = env.config();
    let (out, err, code) = env.sh(&c, "cat /proc/self/mountinfo");
    assert_eq!(code, 0, "{err}");
    let mut allowed: Vec<String> = c.mounts.iter().map(|m| m.destination.clone()).collect();
    allowed.extend(c.readonly_paths.iter().cloned());
    allowed.extend(c.mask_paths.iter().cloned());
    allowed.push("/".into());
    let mut seen_proc = false;
    for line in out.lines() {
        let point = line.split(' ').nth(4).unwrap();
        seen_proc |= point == "/proc";
        assert!(
            allowed
                .iter()
                .any(|a| point == a || point.starts_with(&format!("{a}/"))),
            "unexpected mount {point} in the container:\n{out}"
        );
    }
    assert!(seen_proc, "{out}");
    // The host's mounts are not there.
    let host = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(host.lines().any(|l| l.contains(" /sys/fs/cgroup/memory ")));
    assert!(!out.contains("/work"), "{out}");
}

#[test]
fn namespaces_differ_from_the_host() {
    let env = Env::new("ns");
    let mut c = env.config();
    c.namespaces.push(Namespace::new(NamespaceType::Cgroup));
    let (out, err, code) = env.sh(
        &c,
        "for n in mnt uts ipc pid net cgroup; do readlink /proc/self/ns/$n; done",
    );
    assert_eq!(code, 0, "{err}");
    let inside: Vec<&str> = out.lines().collect();
    assert_eq!(inside.len(), 6, "{out}");
    for (n, ns) in ["mnt", "uts", "ipc", "pid", "net", "cgroup"]
        .iter()
        .zip(&inside)
    {
        let host = std::fs::read_link(format!("/proc/self/ns/{n}")).unwrap();
        assert_ne!(host.to_string_lossy(), *ns, "{n} namespace is the host's");
    }
    // The cgroup namespace is rooted at the container's cgroup.
    let (out, err, code) = env.sh(
        &c,
        "cat /proc/self/cgroup; ls /sys/fs/cgroup; cat /sys/fs/cgroup/memory/cgroup.procs",
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.lines()
            .any(|l| l.ends_with(":/") && l.contains("memory")),
        "{out}"
    );
    // /sys/fs/cgroup holds the container's own hierarchies, mounted fresh.
    for h in ["memory", "pids", "systemd", "unified"] {
        assert!(out.lines().any(|l| l == h), "{h} missing: {out}");
    }
    assert!(
        out.lines().any(|l| l == "1"),
        "pid 1 not in its memory cgroup: {out}"
    );
}

#[test]
fn namespace_path_is_joined() {
    let env = Env::new("joinns");
    // A network namespace made by the test, held by a sleeping process.
    let mut holder = std::process::Command::new("unshare")
        .args(["--net", "sleep", "60"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let ns_path = format!("/proc/{}/ns/net", holder.id());
    let mut want = String::new();
    for _ in 0..200 {
        want = std::fs::read_link(&ns_path)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if want
            != std::fs::read_link("/proc/self/ns/net")
                .unwrap()
                .to_string_lossy()
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut c = env.config();
    c.namespaces.retain(|n| n.kind != NamespaceType::Net);
    c.namespaces.push(Namespace {
        kind: NamespaceType::Net,
        path: ns_path.clone(),
    });
    c.networks.clear();
    let (out, err, code) = env.sh(&c, "readlink /proc/self/ns/net; echo $$");
    holder.kill().unwrap();
    holder.wait().unwrap();
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, format!("{want}\n1\n"));
}

#[test]
fn user_namespace_maps() {
    let env = Env::new("userns");
    let mut c = env.config();
    c.namespaces.push(Namespace::new(NamespaceType::User));
    c.uid_mappings = vec![IdMap {
        container_id: 0,
        host_id: 200000,
        size: 65536,
    }];
    c.gid_mappings = vec![IdMap {
        container_id: 0,
        host_id: 300000,
        size: 65536,
    }];
    let (out, err, code) = env.sh(
        &c,
        "cat /proc/self/uid_map /proc/self/gid_map; id -u; id -g",
    );
    assert_eq!(code, 0, "{err}");
    let words: Vec<Vec<&str>> = out
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(words[0], ["0", "200000", "65536"], "{out}");
    assert_eq!(words[1], ["0", "300000", "65536"], "{out}");
    assert_eq!(words[2], ["0"]);
    assert_eq!(words[3], ["0"]);
    env.assert_no_leftovers(&env.id);
}

#[test]
fn cgroups_and_memory_limit() {
    let env = Env::new("mem");
    let mut c = env.config();
    c.cgroups.memory = Some(32 << 20);
    c.cgroups.memory_swap = Some(32 << 20);
    c.cgroups.pids_limit = Some(64);
    let (out, err, code) = env.sh(
        &c,
        "grep -E ':(memory|pids):' /proc/self/cgroup; cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max",
    );
    assert_eq!(code, 0, "{err}");
    let want = format!("/nsinit/{}", env.id);
    assert!(
        out.lines().filter(|l| l.ends_with(&want)).count() == 2,
        "{out}"
    );
    assert!(out.contains(&format!("{}\n64\n", 32 << 20)), "{out}");
    // Host view: the limit is on the container's cgroup.
    // Allocating past the limit gets the process OOM-killed.
    let (_, err, code) = env.sh(
        &c,
        "x=$(head -c 100000000 /dev/zero | tr '\\0' a); echo survived",
    );
    assert_eq!(code, 137, "expected an OOM kill (SIGKILL), stderr: {err}");
    env.assert_no_leftovers(&env.id);
}

#[test]
fn capabilities_equal_the_configured_set() {
    let env = Env::new("caps");
    let mut c = env.config();
    c.capabilities = Capabilities::from_list(vec!["CAP_CHOWN".into(), "CAP_KILL".into()]);
    let (out, err, code) = env.sh(&c, "grep ^Cap /proc/self/status");
    assert_eq!(code, 0, "{err}");
    for set in ["CapInh", "CapPrm", "CapEff", "CapBnd"] {
        assert!(
            out.contains(&format!("{set}:\t0000000000000021")),
            "{set}: {out}"
        );
    }
    assert!(out.contains("CapAmb:\t0000000000000000"), "{out}");
    // Separate sets, with an ambient capability for a non-root user.
    c.capabilities = Capabilities {
        bounding: vec![
            "CAP_CHOWN".into(),
            "CAP_NET_BIND_SERVICE".into(),
            "CAP_KILL".into(),
        ],
        effective: vec!["CAP_NET_BIND_SERVICE".into()],
        permitted: vec!["CAP_NET_BIND_SERVICE".into()],
        inheritable: vec!["CAP_NET_BIND_SERVICE".into()],
        ambient: vec!["CAP_NET_BIND_SERVICE".into()],
    };
    let cfg = env.write_config(&c);
    let o = env
        .cmd()
        .args(["exec", "--user", "1000", "--id", &env.id, "--config"])
        .arg(&cfg)
        .args(["--", "grep", "^Cap", "/proc/self/status"])
        .output()
        .unwrap();
    let out = assert_ok(&o);
    // CAP_NET_BIND_SERVICE = 10 -> 0x400; bounding 0x400|0x21.
    assert!(out.contains("CapEff:\t0000000000000400"), "{out}");
    assert!(out.contains("CapAmb:\t0000000000000400"), "{out}");
    assert!(out.contains("CapBnd:\t0000000000000421"), "{out}");
}

#[test]
fn readonly_root_and_paths() {
    let env = Env::new("ro");
    let mut c = env.config();
    c.readonlyfs = true;
    c.readonly_paths.push("/etc".into());
    let (out, err, code) = env.sh(
        &c,
        "touch /x 2>&1; (echo 1 > /proc/sys/kernel/domainname) 2>&1; \
         wc -c < /proc/timer_list; ls -A /sys/firmware | wc -l; \
         touch /dev/shm/ok && echo shm-writable",
    );
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].contains("Read-only file system"), "{out}");
    assert!(lines[1].contains("Read-only file system"), "{out}");
    assert_eq!(
        lines[2].trim(),
        "0",
        "masked /proc/timer_list must read empty: {out}"
    );
    assert_eq!(
        lines[3].trim(),
        "0",
        "masked /sys/firmware must be empty: {out}"
    );
    assert_eq!(lines[4], "shm-writable");
}

#[test]
fn default_devices_exist_with_modes() {
    let env = Env::new("dev");
    let (out, err, code) = env.sh(
        &env.config(),
        "for d in null zero full tty random urandom; do stat -c '%n %F %t:%T %a' /dev/$d; done; \
         for l in ptmx fd stdin stdout stderr; do readlink /dev/$l; done; \
         stat -c '%F' /dev/pts/ptmx; echo hi > /dev/null && head -c 4 /dev/zero | wc -c",
    );
    assert_eq!(code, 0, "{err}");
    let want = [
        "/dev/null character special file 1:3 666",
        "/dev/zero character special file 1:5 666",
        "/dev/full character special file 1:7 666",
        "/dev/tty character special file 5:0 666",
        "/dev/random character special file 1:8 666",
        "/dev/urandom character special file 1:9 666",
        "pts/ptmx",
        "/proc/self/fd",
        "/proc/self/fd/0",
        "/proc/self/fd/1",
        "/proc/self/fd/2",
        "character special file",
        "4",
    ];
    let got: Vec<&str> = out.lines().map(str::trim).collect();
    assert_eq!(got, want, "{out}");
}

#[test]
fn rlimits_user_and_groups_apply() {
    let env = Env::new("user");
    let mut c = env.config();
    c.rlimits = vec![Rlimit {
        kind: RlimitType::Nofile,
        hard: 1000,
        soft: 512,
    }];
    c.additional_groups = vec!["nogroup".into()];
    let cfg = env.write_config(&c);
    let o = env
        .cmd()
        .args(["exec", "--user", "user", "--id", &env.id, "--config"])
        .arg(&cfg)
        .args([
            "--",
            "/bin/sh",
            "-c",
            "ulimit -n; ulimit -Hn; id; echo $HOME; pwd",
        ])
        .output()
        .unwrap();
    let out = assert_ok(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "512");
    assert_eq!(lines[1], "1000");
    assert_eq!(
        lines[2],
        "uid=1000(user) gid=1000(user) groups=10(wheel),29(audio),65534(nogroup)"
    );
    assert_eq!(lines[3], "/home/user");
    assert_eq!(lines[4], "/");
    // uid:gid form and cwd.
    let o = env
        .cmd()
        .args([
            "exec", "--user", "1000:10", "--cwd", "/tmp", "--id", &env.id, "--config",
        ])
        .arg(&cfg)
        .args(["--", "/bin/sh", "-c", "id -u; id -g; pwd"])
        .output()
        .unwrap();
    assert_eq!(assert_ok(&o), "1000\n10\n/tmp\n");
}

#[test]
fn exit_code_propagates() {
    let env = Env::new("exit");
    let (_, _, code) = env.sh(&env.config(), "exit 7");
    assert_eq!(code, 7);
    env.assert_no_leftovers(&env.id);
}

#[test]
fn signal_death_propagates() {
    let env = Env::new("sig");
    let cfg = env.write_config(&env.config());
    let child = env
        .cmd()
        .args(["exec", "--id", &env.id, "--config"])
        .arg(&cfg)
        .args(["--", "sleep", "30"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until it runs, then kill its pid 1 from outside.
    let mut running = false;
    for _ in 0..500 {
        let o = env.cmd().args(["state", &env.id]).output().unwrap();
        if String::from_utf8_lossy(&o.stdout).contains("\"status\": \"running\"") {
            running = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(running, "container never reached running");
    let o = env
        .cmd()
        .args(["kill", "--signal", "KILL", &env.id])
        .output()
        .unwrap();
    assert_ok(&o);
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(137),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    env.assert_no_leftovers(&env.id);
}

#[test]
fn no_pivot_root_works() {
    let env = Env::new("nopivot");
    let mut c = env.config();
    c.no_pivot_root = true;
    let (out, err, code) = env.sh(&c, "ls /bin/busybox; test -e /work && echo host-visible; cat /proc/self/mountinfo | wc -l; echo $$");
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("/bin/busybox\n"), "{out}");
    assert!(!out.contains("host-visible"), "{out}");
    assert!(out.ends_with("\n1\n"), "{out}");
}
