//! Tests on the real cgroups of this machine. They need root (they fail
//! loudly without it) and make their cgroups under a unique parent
//! (`/nsinit-test-<pid>-<n>`), which a guard removes with everything below
//! it even when a test fails.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use nsinit_configs::defaults::default_allowed_devices;
use nsinit_configs::{BlkioDeviceLimit, Cgroups, Device, DeviceType, FreezerState};

use super::*;

static SEQ: AtomicU32 = AtomicU32::new(0);

fn require_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "these tests make real cgroups and need root"
    );
}

/// A container cgroup `<unique parent>/c`, removed (with its parent) on drop.
struct TestCg {
    cg: CgroupManager,
    parent: String,
    parent_dirs: Vec<PathBuf>,
    children: Vec<Child>,
}

impl TestCg {
    fn new(mut config: Cgroups) -> Self {
        require_root();
        let parent = format!(
            "/nsinit-test-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        config.parent = parent.clone();
        config.name = "c".into();
        let mounts = CgroupMounts::read().unwrap();
        let parent_dirs: Vec<PathBuf> = mounts
            .dirs(&parent)
            .iter()
            .map(|(_, d)| d.to_path_buf())
            .collect();
        let cg = CgroupManager::with_mounts(&config, "ignored", &mounts).unwrap();
        TestCg {
            cg,
            parent,
            parent_dirs,
            children: Vec::new(),
        }
    }

    /// Starts `sh -c 'read go; SCRIPT'`, puts it into the cgroup, then lets
    /// it go. Returns its pid and stdout.
    fn spawn(&mut self, script: &str) -> (i32, BufReader<ChildStdout>) {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(format!("read go; {script}"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let pid = i32::try_from(child.id()).unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        self.children.push(child);
        self.cg.add_pid(pid).unwrap();
        self.go(pid);
        (pid, stdout)
    }

    /// Sends a line to the stdin of a child started by `spawn`.
    fn go(&mut self, pid: i32) {
        let child = self.child(pid);
        let stdin = child.stdin.as_mut().unwrap();
        stdin.write_all(b"\n").unwrap();
        stdin.flush().unwrap();
    }

    fn child(&mut self, pid: i32) -> &mut Child {
        self.children
            .iter_mut()
            .find(|c| c.id() == pid as u32)
            .unwrap()
    }

    fn dir(&self, key: &str) -> PathBuf {
        self.cg.paths().get(key).unwrap().to_path_buf()
    }

    fn read(&self, key: &str, file: &str) -> String {
        std::fs::read_to_string(self.dir(key).join(file))
            .unwrap()
            .trim()
            .to_string()
    }
}

impl Drop for TestCg {
    fn drop(&mut self) {
        // Thaw first: a frozen v1 task does not die until thawed.
        let _ = self.cg.thaw();
        for c in &mut self.children {
            let _ = c.kill(); // SIGKILL to this child's own pid
        }
        // Anything they started in the cgroup.
        let _ = self.cg.kill_all();
        for c in &mut self.children {
            let _ = c.wait();
        }
        let _ = self.cg.destroy();
        for d in &self.parent_dirs {
            let _ = fsutil::remove_cgroup_dir(d);
        }
    }
}

/// `(major, minor)` of some block device of this machine (for throttles).
fn some_block_device() -> (u64, u64) {
    let mut devs: Vec<String> = std::fs::read_dir("/sys/block")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path().join("dev")).ok())
        .collect();
    devs.sort();
    let dev = devs.first().expect("this test needs a block device");
    let (major, minor) = dev.trim().split_once(':').unwrap();
    (major.parse().unwrap(), minor.parse().unwrap())
}

fn v1_like() -> bool {
    CgroupMounts::read().unwrap().layout() != Layout::V2
}

#[test]
fn manager_is_clone_debug_send_sync() {
    fn check<T: Clone + std::fmt::Debug + Send + Sync>() {}
    check::<CgroupManager>();
    fn send_sync<T: Send + Sync>() {}
    send_sync::<OomNotifier>();
}

#[test]
fn full_lifecycle_on_this_host() {
    assert!(v1_like(), "this test reads v1 files");
    let (major, minor) = some_block_device();
    let config = Cgroups {
        memory: Some(64 << 20),
        memory_reservation: Some(32 << 20),
        memory_swap: Some(128 << 20),
        memory_swappiness: Some(10),
        cpu_shares: Some(512),
        cpu_quota: Some(50_000),
        cpu_period: Some(100_000),
        cpuset_cpus: "0".into(),
        cpuset_mems: "0".into(),
        pids_limit: Some(32),
        blkio_weight: Some(300),
        blkio_throttle_read_bps_device: vec![BlkioDeviceLimit {
            major,
            minor,
            rate: 1 << 20,
        }],
        allowed_devices: default_allowed_devices(),
        ..Default::default()
    };
    let mut t = TestCg::new(config.clone());
    assert!(!t.cg.exists());
    t.cg.create().unwrap();
    assert!(t.cg.exists());
    t.cg.apply(&config).unwrap();

    assert_eq!(t.read("memory", "memory.limit_in_bytes"), "67108864");
    assert_eq!(t.read("memory", "memory.soft_limit_in_bytes"), "33554432");
    assert_eq!(t.read("memory", "memory.memsw.limit_in_bytes"), "134217728");
    assert_eq!(t.read("memory", "memory.swappiness"), "10");
    assert_eq!(t.read("cpu", "cpu.shares"), "512");
    assert_eq!(t.read("cpu", "cpu.cfs_quota_us"), "50000");
    assert_eq!(t.read("cpu", "cpu.cfs_period_us"), "100000");
    assert_eq!(t.read("cpuset", "cpuset.cpus"), "0");
    assert_eq!(t.read("pids", "pids.max"), "32");
    assert!(t.read("blkio", "blkio.bfq.weight").contains("300"));
    assert_eq!(
        t.read("blkio", "blkio.throttle.read_bps_device"),
        format!("{major}:{minor} 1048576")
    );
    let devices = t.read("devices", "devices.list");
    assert!(devices.contains("c 1:3 rwm"), "{devices}");
    assert!(devices.contains("c 136:* rwm"), "{devices}");
    assert!(!devices.contains("a *:* rwm"), "{devices}");

    let (pid, _out) = t.spawn("exec sleep 1000");
    assert_eq!(t.cg.pids().unwrap(), vec![pid]);
    let own = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    for key in [
        "memory",
        "cpu",
        "cpuacct",
        "pids",
        "freezer",
        "name=systemd",
    ] {
        let line = own
            .lines()
            .find(|l| l.split(':').nth(1) == Some(key))
            .unwrap_or_else(|| panic!("{key} missing in {own}"));
        assert!(line.ends_with("/c"), "{line}");
    }
    if t.cg.layout() == Layout::Hybrid {
        assert!(
            own.lines()
                .any(|l| l.starts_with("0::") && l.ends_with("/c")),
            "{own}"
        );
    }

    t.cg.freeze().unwrap();
    assert_eq!(t.cg.freezer_state().unwrap(), FreezerState::Frozen);
    assert_eq!(t.read("freezer", "freezer.state"), "FROZEN");
    t.cg.thaw().unwrap();
    assert_eq!(t.cg.freezer_state().unwrap(), FreezerState::Thawed);
    assert_eq!(t.read("freezer", "freezer.state"), "THAWED");

    t.cg.kill_all().unwrap();
    let status = t.child(pid).wait().unwrap();
    assert_eq!(status.signal(), Some(libc::SIGKILL));
    assert!(t.cg.pids().unwrap().is_empty());

    t.cg.destroy().unwrap();
    assert!(!t.cg.exists());
    for (_, dir) in t.cg.paths().iter() {
        assert!(!dir.exists(), "{} left behind", dir.display());
    }
    // A second destroy is fine.
    t.cg.destroy().unwrap();
}

#[test]
fn test_guard_leaves_nothing_behind_even_after_a_panic_while_frozen() {
    let mut dirs = Vec::new();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut t = TestCg::new(Cgroups::default());
        t.cg.create().unwrap();
        t.spawn("sleep 1000 & exec sleep 1000");
        dirs = t.parent_dirs.clone();
        assert!(dirs.iter().all(|d| d.is_dir()));
        t.cg.freeze().unwrap();
        panic!("a failing test");
    }));
    assert!(result.is_err());
    assert!(!dirs.is_empty());
    for d in dirs {
        assert!(!d.exists(), "{} left behind", d.display());
    }
}

#[test]
fn a_value_the_kernel_refuses_is_a_clear_error() {
    assert!(v1_like());
    let config = Cgroups {
        cpuset_cpus: "99".into(),
        ..Default::default()
    };
    let t = TestCg::new(config.clone());
    t.cg.create().unwrap();
    let err = t.cg.apply(&config).unwrap_err();
    let file = t.dir("cpuset").join("cpuset.cpus");
    // A CPU number beyond the machine's: ERANGE here ("Numerical result out
    // of range"); older kernels said EINVAL.
    let errno = err.raw_os_error().unwrap();
    assert!(errno == libc::ERANGE || errno == libc::EINVAL, "{err}");
    assert_eq!(
        err.to_string(),
        format!(
            "set cgroup cpuset.cpus to \"99\" ({}): {}",
            file.display(),
            std::io::Error::from_raw_os_error(errno)
        )
    );
    println!("{err}");
}

#[test]
fn a_missing_file_is_reported_as_missing() {
    assert!(v1_like());
    // cgroups-rs opens with O_CREAT, which cgroupfs answers with EACCES for
    // a file that does not exist (here: a v2 file in a v1 directory); the
    // error must say ENOENT.
    let t = TestCg::new(Cgroups::default());
    t.cg.create().unwrap();
    let dir = t.dir("memory");
    let mc = cgroups_rs::fs::memory::MemController::new(dir.clone(), "/".into(), true);
    let err = fsutil::crate_set(&dir, "memory.max", "1", mc.set_limit(1)).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ENOENT), "{err}");
}

#[test]
fn cpuset_of_a_new_cgroup_is_filled_from_the_parent() {
    assert!(v1_like());
    let t = TestCg::new(Cgroups::default());
    t.cg.create().unwrap();
    let root = std::fs::read_to_string("/sys/fs/cgroup/cpuset/cpuset.cpus").unwrap();
    assert_eq!(t.read("cpuset", "cpuset.cpus"), root.trim());
    assert!(!t.read("cpuset", "cpuset.mems").is_empty());
    // And a task can join.
    let mut t = t;
    let (pid, _) = t.spawn("exec sleep 1000");
    assert_eq!(t.cg.pids().unwrap(), vec![pid]);
}

#[test]
fn live_updates_touch_only_what_is_set() {
    assert!(v1_like());
    let first = Cgroups {
        memory: Some(64 << 20),
        memory_swap: Some(64 << 20),
        pids_limit: Some(10),
        ..Default::default()
    };
    let t = TestCg::new(first.clone());
    t.cg.create().unwrap();
    t.cg.apply(&first).unwrap();
    // Only pids: memory untouched.
    t.cg.apply(&Cgroups {
        pids_limit: Some(-1),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(t.read("pids", "pids.max"), "max");
    assert_eq!(t.read("memory", "memory.limit_in_bytes"), "67108864");
    // Raise both above the current memsw (memsw must go first) ...
    t.cg.apply(&Cgroups {
        memory: Some(256 << 20),
        memory_swap: Some(512 << 20),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(t.read("memory", "memory.limit_in_bytes"), "268435456");
    assert_eq!(t.read("memory", "memory.memsw.limit_in_bytes"), "536870912");
    // ... and lower both below the current memory limit (memory first).
    t.cg.apply(&Cgroups {
        memory: Some(16 << 20),
        memory_swap: Some(32 << 20),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(t.read("memory", "memory.limit_in_bytes"), "16777216");
    assert_eq!(t.read("memory", "memory.memsw.limit_in_bytes"), "33554432");
    // Unlimited again.
    t.cg.apply(&Cgroups {
        memory: Some(-1),
        memory_swap: Some(-1),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(
        t.read("memory", "memory.limit_in_bytes"),
        "9223372036854771712"
    );
    // Freeze and thaw through apply.
    t.cg.apply(&Cgroups {
        freezer: Some(FreezerState::Frozen),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(t.cg.freezer_state().unwrap(), FreezerState::Frozen);
    t.cg.apply(&Cgroups {
        freezer: Some(FreezerState::Thawed),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(t.cg.freezer_state().unwrap(), FreezerState::Thawed);
}

#[test]
fn oom_kills_the_allocating_child_and_the_notifier_fires() {
    let config = Cgroups {
        memory: Some(10 << 20),
        memory_swap: Some(10 << 20),
        ..Default::default()
    };
    let mut t = TestCg::new(config.clone());
    t.cg.create().unwrap();
    t.cg.apply(&config).unwrap();
    let notifier = t.cg.oom_notifier().unwrap();
    assert_eq!(
        notifier.wait_timeout(Duration::from_millis(10)).unwrap(),
        OomWait::TimedOut
    );
    let (pid, _out) = t.spawn(r#"x=$(head -c 50000000 /dev/zero | tr "\0" a); echo survived"#);
    let event = match notifier.wait_timeout(Duration::from_secs(30)).unwrap() {
        OomWait::Oom(e) => e,
        other => panic!("expected an OOM event, got {other:?}"),
    };
    assert!(event.count >= 1);
    let _ = t.child(pid).wait();
    let stats = t.cg.stats().unwrap();
    assert!(stats.memory.oom_kill >= 1, "{:?}", stats.memory);
    // The limit was reached (memory.failcnt may stay 0: with memory+swap
    // limited to the same value, the memsw counter is the one that fails).
    assert!(stats.memory.max_usage >= 9 << 20, "{:?}", stats.memory);
    assert_eq!(stats.memory.limit, Some(10 << 20));
    // Removing the cgroup ends the stream.
    t.cg.kill_all().unwrap();
    t.cg.destroy().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match notifier.wait_timeout(Duration::from_secs(10)).unwrap() {
            OomWait::Gone => break,
            // Events still queued from the OOM are fine.
            OomWait::Oom(_) if Instant::now() < deadline => {}
            other => panic!("expected the end of events, got {other:?}"),
        }
    }
    assert_eq!(notifier.wait().unwrap(), None);
}

#[test]
fn stats_reflect_memory_and_cpu_usage() {
    let config = Cgroups {
        memory: Some(256 << 20),
        pids_limit: Some(50),
        ..Default::default()
    };
    let mut t = TestCg::new(config.clone());
    t.cg.create().unwrap();
    t.cg.apply(&config).unwrap();
    let before = t.cg.stats().unwrap();
    let (_pid, mut out) =
        t.spawn(r#"x=$(head -c 30000000 /dev/zero | tr "\0" a); echo ready; read y"#);
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ready");
    let after = t.cg.stats().unwrap();
    assert!(
        after.memory.usage >= before.memory.usage + 25_000_000,
        "before {:?} after {:?}",
        before.memory,
        after.memory
    );
    assert!(after.memory.max_usage >= after.memory.usage);
    assert!(after.memory.rss >= 25_000_000, "{:?}", after.memory);
    assert_eq!(after.memory.limit, Some(256 << 20));
    assert!(after.cpu.usage.total_ns > before.cpu.usage.total_ns);
    assert!(after.cpu.usage.user_ns + after.cpu.usage.system_ns > 0);
    if t.cg.layout() != Layout::V2 {
        assert_eq!(
            after.cpu.usage.percpu_ns.len(),
            std::thread::available_parallelism().unwrap().get()
        );
    }
    assert_eq!(after.pids.current, 1);
    assert_eq!(after.pids.limit, Some(50));
    let json = serde_json::to_value(&after).unwrap();
    assert!(json["memory"]["usage"].as_u64().unwrap() > 0);
}

#[test]
fn create_removes_what_it_made_when_it_fails() {
    assert!(v1_like());
    let t = TestCg::new(Cgroups::default());
    let pids_dir = t.dir("pids");
    let mut paths = CgroupPaths::new();
    paths.insert("pids", &pids_dir);
    // A directory that cannot be made: /proc refuses mkdir.
    paths.insert("memory", "/proc/nsinit-test-cannot-exist/c");
    let cg = CgroupManager::from_paths(&paths).unwrap();
    let err = cg.create().unwrap_err();
    assert!(matches!(err, CgroupError::Create { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("create cgroup /proc/nsinit-test-cannot-exist"),
        "{err}"
    );
    assert!(!pids_dir.exists());
    assert!(
        !pids_dir.parent().unwrap().exists(),
        "the new parent is removed too"
    );
}

#[test]
fn a_manager_rebuilt_from_state_json_manages_the_same_cgroup() {
    let config = Cgroups {
        pids_limit: Some(20),
        ..Default::default()
    };
    let mut t = TestCg::new(config.clone());
    t.cg.create().unwrap();
    t.cg.apply(&config).unwrap();
    let (pid, _) = t.spawn("exec sleep 1000");
    let json = serde_json::to_string(t.cg.paths()).unwrap();
    let paths: CgroupPaths = serde_json::from_str(&json).unwrap();
    let again = CgroupManager::from_paths(&paths).unwrap();
    assert_eq!(again.layout(), t.cg.layout());
    assert_eq!(again.paths(), t.cg.paths());
    assert_eq!(again.pids().unwrap(), vec![pid]);
    assert_eq!(again.stats().unwrap().pids.limit, Some(20));
    again.freeze().unwrap();
    assert_eq!(t.cg.freezer_state().unwrap(), FreezerState::Frozen);
    again.kill_all().unwrap();
    again.destroy().unwrap();
    assert!(!t.cg.exists());
}

#[test]
fn kill_all_kills_a_forking_tree_in_nested_cgroups() {
    assert!(v1_like());
    let mut t = TestCg::new(Cgroups::default());
    t.cg.create().unwrap();
    let (pid, mut out) = t.spawn("sleep 1000 & sleep 1000 & echo started; wait");
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(t.cg.pids().unwrap().len(), 3);
    // A sub-cgroup with a process of its own (as a nested runtime would make).
    let sub = t.dir("freezer").join("sub");
    std::fs::create_dir(&sub).unwrap();
    let sleeper =
        t.cg.pids()
            .unwrap()
            .into_iter()
            .find(|p| *p != pid)
            .unwrap();
    std::fs::write(sub.join("cgroup.procs"), sleeper.to_string()).unwrap();
    assert_eq!(t.cg.pids().unwrap().len(), 3, "recursive listing");
    t.cg.kill_all().unwrap();
    assert!(t.cg.pids().unwrap().is_empty());
    t.cg.destroy().unwrap();
    assert!(!sub.exists());
    assert!(!t.cg.exists());
}

#[test]
fn operations_on_a_missing_cgroup() {
    let t = TestCg::new(Cgroups::default());
    assert!(matches!(t.cg.stats(), Err(CgroupError::NotFound { .. })));
    assert!(matches!(t.cg.pids(), Err(CgroupError::NotFound { .. })));
    assert!(matches!(t.cg.freeze(), Err(CgroupError::NotFound { .. })));
    assert!(matches!(
        t.cg.apply(&Cgroups::default()),
        Err(CgroupError::NotFound { .. })
    ));
    assert!(t.cg.oom_notifier().is_err());
    t.cg.kill_all().unwrap();
    t.cg.destroy().unwrap();
    let e = t.cg.add_pid(1).unwrap_err();
    assert!(e.to_string().starts_with("add pid 1 to cgroup ("), "{e}");
}

#[test]
fn v1_device_rules_are_enforced() {
    assert!(v1_like());
    let config = Cgroups {
        allowed_devices: default_allowed_devices(),
        ..Default::default()
    };
    let mut t = TestCg::new(config.clone());
    t.cg.create().unwrap();
    t.cg.apply(&config).unwrap();
    let (_, mut out) = t.spawn(
        "head -c1 /dev/zero >/dev/null && echo zero-ok; \
         head -c1 /dev/kmsg >/dev/null 2>&1 || echo kmsg-denied",
    );
    let mut text = String::new();
    for _ in 0..2 {
        out.read_line(&mut text).unwrap();
    }
    assert_eq!(text, "zero-ok\nkmsg-denied\n");
    // Allow everything again (live).
    t.cg.apply(&Cgroups {
        allow_all_devices: true,
        ..Default::default()
    })
    .unwrap();
    assert_eq!(t.read("devices", "devices.list"), "a *:* rwm");
}

/// The v2 device filter, for real: on a hybrid host the kernel consults the
/// eBPF programs of a task's v2 cgroup as well, so the v2 code path runs here
/// on the unified part.
#[test]
fn v2_device_filter_is_enforced_on_the_unified_tree() {
    let mut t = TestCg::new(Cgroups::default());
    assert!(
        t.cg.paths().get(UNIFIED).is_some(),
        "needs a cgroup2 tree (hybrid or v2 host)"
    );
    t.cg.create().unwrap();
    let dir = t.dir(UNIFIED);
    let null = Device {
        kind: DeviceType::Char,
        path: String::new(),
        major: 1,
        minor: 3,
        permissions: "rwm".into(),
        file_mode: 0,
        uid: 0,
        gid: 0,
        allow: true,
    };
    devices_bpf::install(&dir, std::slice::from_ref(&null), false).unwrap();
    assert_eq!(devices_bpf::attached_ids(&dir).unwrap().len(), 1);
    let (_, mut out) = t.spawn(
        "echo x >/dev/null && echo null-ok; \
         head -c1 /dev/zero >/dev/null 2>&1 || echo zero-denied",
    );
    let mut text = String::new();
    for _ in 0..2 {
        out.read_line(&mut text).unwrap();
    }
    assert_eq!(text, "null-ok\nzero-denied\n");
    // A new rule set replaces the old program.
    let zero = Device { minor: 5, ..null };
    devices_bpf::install(&dir, &[zero], false).unwrap();
    assert_eq!(devices_bpf::attached_ids(&dir).unwrap().len(), 1);
    let (_, mut out) = t.spawn("head -c1 /dev/zero | wc -c; echo x >/dev/null || echo null-denied");
    let mut text = String::new();
    for _ in 0..2 {
        out.read_line(&mut text).unwrap();
    }
    assert_eq!(text, "1\nnull-denied\n");
    devices_bpf::install(&dir, &[], true).unwrap();
    assert_eq!(devices_bpf::attached_ids(&dir).unwrap().len(), 1);
}

/// The v2 notifier's machinery (POLLPRI on a flat-keyed file, counters,
/// the end on removal) on `cgroup.events`, which the unified tree has here.
#[test]
fn v2_counter_watch_fires_and_ends_when_the_cgroup_goes() {
    let mut t = TestCg::new(Cgroups::default());
    assert!(t.cg.paths().get(UNIFIED).is_some(), "needs a cgroup2 tree");
    t.cg.create().unwrap();
    let dir = t.dir(UNIFIED);
    let watch = OomNotifier::watch_counters(&dir, "cgroup.events", &["populated"]).unwrap();
    assert_eq!(
        watch.wait_timeout(Duration::from_millis(20)).unwrap(),
        OomWait::TimedOut
    );
    t.spawn("exec sleep 1000");
    match watch.wait_timeout(Duration::from_secs(5)).unwrap() {
        OomWait::Oom(e) => assert_eq!(e.oom_kills, Some(1)),
        other => panic!("expected a change, got {other:?}"),
    }
    t.cg.kill_all().unwrap();
    // populated 1 -> 0 is no event; removal ends the stream.
    t.cg.destroy().unwrap();
    assert_eq!(
        watch.wait_timeout(Duration::from_secs(5)).unwrap(),
        OomWait::Gone
    );
    assert_eq!(watch.wait_timeout(Duration::ZERO).unwrap(), OomWait::Gone);
}

/// The complete v2 write path (plan, conversions, writer) against a
/// fabricated cgroup directory: what lands in each file.
#[test]
fn v2_apply_writes_the_expected_files() {
    let dir = std::env::temp_dir().join(format!("nsinit-v2-apply-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for f in [
        "cpuset.cpus",
        "cpuset.mems",
        "memory.max",
        "memory.swap.max",
        "memory.low",
        "cpu.weight",
        "cpu.max",
        "io.weight",
        "io.max",
        "pids.max",
    ] {
        std::fs::write(dir.join(f), "").unwrap();
    }
    let config = Cgroups {
        memory: Some(10 << 20),
        memory_swap: Some(30 << 20),
        memory_reservation: Some(-1),
        cpu_shares: Some(1024),
        cpu_quota: Some(50_000),
        cpu_period: Some(100_000),
        cpuset_cpus: "0-1".into(),
        cpuset_mems: "0".into(),
        blkio_weight: Some(1000),
        blkio_throttle_write_bps_device: vec![BlkioDeviceLimit {
            major: 8,
            minor: 0,
            rate: 4096,
        }],
        pids_limit: Some(-1),
        ..Default::default()
    };
    let result = v2::apply(&dir, &config);
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
    let files: Vec<(String, String)> = [
        "cpuset.cpus",
        "cpuset.mems",
        "memory.max",
        "memory.swap.max",
        "memory.low",
        "cpu.weight",
        "cpu.max",
        "io.weight",
        "io.max",
        "pids.max",
    ]
    .iter()
    .map(|f| (f.to_string(), read(f)))
    .collect();
    std::fs::remove_dir_all(&dir).unwrap();
    result.unwrap();
    let expect = [
        ("cpuset.cpus", "0-1"),
        ("cpuset.mems", "0"),
        ("memory.max", "10485760"),
        ("memory.swap.max", "20971520"),
        ("memory.low", "max"),
        ("cpu.weight", "39"),
        ("cpu.max", "50000 100000"),
        ("io.weight", "10000"),
        ("io.max", "8:0 wbps=4096"),
        ("pids.max", "max"),
    ];
    for ((f, got), (ef, want)) in files.iter().zip(expect) {
        assert_eq!((f.as_str(), got.as_str()), (ef, want));
    }
}

/// A manager computed for a fabricated pure-v2 host: paths, layout, and the
/// controller handles used there.
#[test]
fn v2_manager_paths_from_a_fabricated_mount_table() {
    let mounts = CgroupMounts::parse(
        "29 1 0:26 / /run/cg2 rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate\n",
    )
    .unwrap();
    let config = Cgroups {
        path: "/k8s/pod1/ctr".into(),
        ..Default::default()
    };
    let cg = CgroupManager::with_mounts(&config, "x", &mounts).unwrap();
    assert_eq!(cg.layout(), Layout::V2);
    assert_eq!(cg.paths().len(), 1);
    assert_eq!(
        cg.paths().get(UNIFIED).unwrap(),
        Path::new("/run/cg2/k8s/pod1/ctr")
    );
    assert!(cg.ctl.freezer.is_some() && cg.ctl.memory.is_none());
    assert!(!cg.exists());
    let back = CgroupManager::from_paths(cg.paths()).unwrap();
    assert_eq!(back.layout(), Layout::V2);
}

/// Not a test: the cost of the cgroup part of a container start on this
/// host (the parent, like `/nsinit`, exists already).
/// `cargo test -p nsinit-runtime --release --lib -- --ignored --nocapture cost`
#[test]
#[ignore]
fn cost_of_create_apply_add_pid_destroy() {
    let guard = TestCg::new(Cgroups::default());
    guard.cg.create().unwrap();
    let config = Cgroups {
        parent: guard.parent.clone(),
        memory: Some(64 << 20),
        pids_limit: Some(100),
        cpu_shares: Some(512),
        allowed_devices: default_allowed_devices(),
        ..Default::default()
    };
    let rounds = 200u32;
    let mut totals = [Duration::ZERO; 6];
    for i in 0..rounds {
        let mut child = Command::new("sleep").arg("1000").spawn().unwrap();
        let pid = i32::try_from(child.id()).unwrap();
        let t0 = Instant::now();
        let cg = CgroupManager::new(&config, &format!("r{i}")).unwrap();
        let t1 = Instant::now();
        cg.create().unwrap();
        let t2 = Instant::now();
        cg.apply(&config).unwrap();
        let t3 = Instant::now();
        cg.add_pid(pid).unwrap();
        let t4 = Instant::now();
        child.kill().unwrap(); // SIGKILL to our own child's pid
        child.wait().unwrap();
        let t5 = Instant::now();
        cg.destroy().unwrap();
        let t6 = Instant::now();
        let laps = [
            t1 - t0,
            t2 - t1,
            t3 - t2,
            t4 - t3,
            t6 - t5,
            (t4 - t0) + (t6 - t5),
        ];
        for (total, lap) in totals.iter_mut().zip(laps) {
            *total += lap;
        }
    }
    let names = ["new", "create", "apply", "add_pid", "destroy", "total"];
    for (n, d) in names.iter().zip(totals) {
        println!(
            "{n:>8}: {:>7.1} us",
            d.as_secs_f64() * 1e6 / f64::from(rounds)
        );
    }
}
