//! Operations on a running container through the command line: joining it
//! (`nsinit exec --id`), pause / unpause, stats, update, OOM notification and
//! events, and what each does with bad input.
//!
//! Every test runs a real container detached (`nsinit create` + `nsinit
//! start`) from the busybox rootfs, under a private state root with a unique
//! id; the `Env` destroys whatever is left when the test ends, and background
//! commands are killed by pid when their guard drops.

mod common;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

use common::{assert_clear_error, assert_ok, Env};
use nsinit_configs::{Config, Network, NetworkType};
use serde_json::Value;

// ------------------------------------------------------------------ helpers

/// Polls `f` every 20 ms until it holds; panics with `what` after `timeout`.
fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    loop {
        if f() {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A background command, killed (by its pid) and reaped when dropped.
struct Bg {
    child: Child,
    out: PathBuf,
    err: PathBuf,
}

impl Bg {
    /// Runs `cmd` with stdout and stderr into `<work>/<name>.out|.err`.
    fn spawn(env: &Env, name: &str, mut cmd: Command) -> Bg {
        let out = env.work.join(format!("{name}.out"));
        let err = env.work.join(format!("{name}.err"));
        let child = cmd
            .stdout(File::create(&out).unwrap())
            .stderr(File::create(&err).unwrap())
            .spawn()
            .unwrap();
        Bg { child, out, err }
    }

    fn stdout(&self) -> String {
        std::fs::read_to_string(&self.out).unwrap_or_default()
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.err).unwrap_or_default()
    }

    /// The exit code once the command ended, waiting at most `timeout`.
    fn exit_code(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return Some(st.code().unwrap_or(-1));
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Bg {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `nsinit --root <root> ARGS`, collected.
fn nsinit(env: &Env, args: &[&str]) -> Output {
    env.cmd().args(args).output().unwrap()
}

/// `nsinit exec --id <id> -- ARGS` (joins the running container).
fn join_cmd(env: &Env, args: &[&str]) -> Command {
    let mut c = env.cmd();
    c.args(["exec", "--id", &env.id, "--"]).args(args);
    c
}

fn join(env: &Env, args: &[&str]) -> Output {
    join_cmd(env, args).output().unwrap()
}

/// Creates and starts the container detached with `args` as its pid 1 and
/// returns the init's host pid.
fn start(env: &Env, config: &Config, args: &[&str]) -> i32 {
    let cfg = env.write_config(config);
    let (ok, err) = env.create(&cfg, args);
    assert!(ok, "nsinit create failed: {err}");
    assert_ok(&nsinit(env, &["start", &env.id]));
    let pid = state(env)["init_process_pid"].as_i64().unwrap();
    i32::try_from(pid).unwrap()
}

/// `nsinit state` as JSON (with `status`).
fn state(env: &Env) -> Value {
    serde_json::from_str(&assert_ok(&nsinit(env, &["state", &env.id]))).unwrap()
}

fn status(env: &Env) -> String {
    state(env)["status"].as_str().unwrap().to_string()
}

/// `nsinit stats` as JSON.
fn stats(env: &Env) -> Value {
    serde_json::from_str(&assert_ok(&nsinit(env, &["stats", &env.id]))).unwrap()
}

/// Whether `pid` exists and is not a zombie.
fn alive(pid: i32) -> bool {
    proc_state(pid).is_some_and(|s| s != 'Z' && s != 'X')
}

/// The state letter of `/proc/<pid>/stat` (`R`, `S`, `D`, `Z` ...).
fn proc_state(pid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

/// Host pids of the container's processes whose command line contains `needle`.
fn pids_running(env: &Env, needle: &str) -> Vec<i32> {
    let procs = cgroup_file(env, "pids", "cgroup.procs");
    procs
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .filter(|pid: &i32| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| String::from_utf8_lossy(&c).contains(needle))
                .unwrap_or(false)
        })
        .collect()
}

/// The container's cgroup directory of `controller`, as the brief of the
/// layout says: `/sys/fs/cgroup/<controller>/nsinit/<id>`.
fn cgroup_dir(env: &Env, controller: &str) -> PathBuf {
    Path::new("/sys/fs/cgroup")
        .join(controller)
        .join("nsinit")
        .join(&env.id)
}

fn cgroup_file(env: &Env, controller: &str, file: &str) -> String {
    let p = cgroup_dir(env, controller).join(file);
    std::fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
        .trim()
        .to_string()
}

/// Parses a counter file written by a shell loop; `None` while it is being
/// rewritten (empty or partial).
fn counter(path: &Path) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

const SLEEPER: [&str; 2] = ["/bin/sleep", "1000"];

// ------------------------------------------------------------------ joining

#[test]
fn joined_process_shares_namespaces_mounts_and_leaves_the_container_running() {
    let env = Env::new("join");
    let pid = start(
        &env,
        &env.config(),
        &[
            "/bin/sh",
            "-c",
            "echo from-init > /dev/shm/marker; exec sleep 1000",
        ],
    );
    wait_for(
        "the init's marker in its tmpfs",
        Duration::from_secs(10),
        || {
            std::fs::read_to_string(format!("/proc/{pid}/root/dev/shm/marker"))
                .is_ok_and(|s| s == "from-init\n")
        },
    );

    let o = join(
        &env,
        &[
            "/bin/sh",
            "-c",
            "readlink /proc/self/ns/pid; readlink /proc/1/ns/pid; hostname; \
             cat /dev/shm/marker; echo from-joined > /dev/shm/back; ps -o pid,args",
        ],
    );
    let out = assert_ok(&o);
    let lines: Vec<&str> = out.lines().collect();
    let init_ns = std::fs::read_link(format!("/proc/{pid}/ns/pid")).unwrap();
    let host_ns = std::fs::read_link("/proc/self/ns/pid").unwrap();
    assert_eq!(lines[0], init_ns.to_str().unwrap(), "{out}");
    assert_eq!(lines[1], lines[0], "{out}");
    assert_ne!(lines[0], host_ns.to_str().unwrap(), "{out}");
    assert_eq!(lines[2], "nsinit-test", "{out}");
    assert_eq!(lines[3], "from-init", "{out}");
    assert!(
        lines[4..]
            .iter()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["1", "sleep", "1000"]),
        "pid 1 is not the init in ps:\n{out}"
    );
    // The other direction: the init's mount namespace sees the joined write.
    assert_eq!(
        std::fs::read_to_string(format!("/proc/{pid}/root/dev/shm/back")).unwrap(),
        "from-joined\n"
    );

    // The same mount namespace, seen from the host.
    let joined_mnt = assert_ok(&join(&env, &["readlink", "/proc/self/ns/mnt"]));
    let init_mnt = std::fs::read_link(format!("/proc/{pid}/ns/mnt")).unwrap();
    assert_eq!(joined_mnt.trim(), init_mnt.to_str().unwrap());

    // The joined command's exit code comes back, and the container runs on.
    let o = join(&env, &["/bin/sh", "-c", "exit 7"]);
    assert_eq!(o.status.code(), Some(7), "{o:?}");
    assert_eq!(status(&env), "running");
    assert!(alive(pid), "the init died with a joined process");
    assert_eq!(
        state(&env)["init_process_pid"].as_i64(),
        Some(i64::from(pid))
    );
}

#[test]
fn joined_process_dies_with_the_containers_pid_1() {
    let env = Env::new("joindie");
    let pid = start(&env, &env.config(), &SLEEPER);
    let mut bg = Bg::spawn(
        &env,
        "joined",
        join_cmd(&env, &["/bin/sh", "-c", "echo started; exec sleep 999"]),
    );
    wait_for("the joined process", Duration::from_secs(10), || {
        !pids_running(&env, "999").is_empty()
    });
    let joined = pids_running(&env, "999")[0];

    assert_ok(&nsinit(&env, &["kill", "-s", "KILL", &env.id]));
    wait_for("the init to die", Duration::from_secs(10), || !alive(pid));
    wait_for("the joined process to die", Duration::from_secs(10), || {
        !alive(joined)
    });
    let code = bg.exit_code(Duration::from_secs(10));
    assert_eq!(
        code,
        Some(137),
        "nsinit exec of the joined process: {}",
        bg.stderr()
    );
    assert_eq!(status(&env), "stopped");
    assert_eq!(cgroup_file(&env, "pids", "cgroup.procs"), "");
}

// ------------------------------------------------------------------ pause

#[test]
fn pause_freezes_the_container_and_a_joined_process_and_unpause_resumes() {
    let env = Env::with_copy("pause");
    let counter_loop =
        |file: &str| format!("i=0; while :; do i=$((i+1)); echo $i > {file}; sleep 0.01; done");
    start(
        &env,
        &env.config(),
        &["/bin/sh", "-c", &counter_loop("/counter")],
    );
    let _joined = Bg::spawn(
        &env,
        "joined",
        join_cmd(&env, &["/bin/sh", "-c", &counter_loop("/joined-counter")]),
    );
    let c1 = env.rootfs.join("counter");
    let c2 = env.rootfs.join("joined-counter");
    wait_for("both counters to count", Duration::from_secs(10), || {
        counter(&c1).is_some_and(|n| n > 3) && counter(&c2).is_some_and(|n| n > 3)
    });
    let joined_pids = pids_running(&env, "joined-counter");
    assert!(!joined_pids.is_empty());

    assert_ok(&nsinit(&env, &["pause", &env.id]));
    assert_eq!(status(&env), "paused");
    assert_eq!(cgroup_file(&env, "freezer", "freezer.state"), "FROZEN");
    for pid in &joined_pids {
        assert_eq!(
            proc_state(*pid),
            Some('D'),
            "joined pid {pid} is not frozen"
        );
    }
    let frozen = (
        std::fs::read_to_string(&c1).unwrap(),
        std::fs::read_to_string(&c2).unwrap(),
    );
    // A counter that moves every 10 ms would have moved many times.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        (
            std::fs::read_to_string(&c1).unwrap(),
            std::fs::read_to_string(&c2).unwrap()
        ),
        frozen,
        "a counter moved while paused"
    );
    // Pausing again is refused and changes nothing.
    assert_clear_error(&nsinit(&env, &["pause", &env.id]), "is paused");
    assert_eq!(status(&env), "paused");

    assert_ok(&nsinit(&env, &["unpause", &env.id]));
    assert_eq!(status(&env), "running");
    let base = |s: &str| s.trim().parse::<u64>().unwrap_or(0);
    let (b1, b2) = (base(&frozen.0), base(&frozen.1));
    wait_for("both counters to go on", Duration::from_secs(10), || {
        counter(&c1).is_some_and(|n| n > b1 + 3) && counter(&c2).is_some_and(|n| n > b2 + 3)
    });
    // Unpausing a running container is refused.
    assert_clear_error(&nsinit(&env, &["unpause", &env.id]), "not paused");
    assert_eq!(status(&env), "running");
}

// ------------------------------------------------------------------ stats

#[test]
fn stats_report_cpu_memory_pids_and_grow_with_an_allocation() {
    let env = Env::new("stats");
    start(&env, &env.config(), &SLEEPER);
    let before = stats(&env);
    for key in ["cpu", "memory", "pids", "blkio", "interfaces"] {
        assert!(before.get(key).is_some(), "no {key} in {before:#}");
    }
    assert!(before["cpu"]["usage"]["total_ns"].as_u64().unwrap() > 0);
    assert!(!before["cpu"]["usage"]["percpu_ns"]
        .as_array()
        .unwrap()
        .is_empty());
    for key in ["user_ns", "system_ns"] {
        assert!(before["cpu"]["usage"][key].is_u64(), "{before:#}");
    }
    for key in ["periods", "throttled_periods", "throttled_time_ns"] {
        assert!(before["cpu"]["throttling"][key].is_u64(), "{before:#}");
    }
    for key in ["usage", "max_usage", "cache", "swap_usage"] {
        assert!(before["memory"][key].is_u64(), "{before:#}");
    }
    assert!(before["memory"]["limit"].is_null(), "no limit configured");
    assert_eq!(before["pids"]["current"].as_u64(), Some(1));
    assert!(before["blkio"]["io_service_bytes_recursive"].is_array());
    let usage0 = before["memory"]["usage"].as_u64().unwrap();

    // 30 MB in a shell variable of a joined process, held while it sleeps.
    let _alloc = Bg::spawn(
        &env,
        "alloc",
        join_cmd(
            &env,
            &[
                "/bin/sh",
                "-c",
                "x=$(head -c 30000000 /dev/zero | tr '\\0' a); sleep 30; echo ${#x}",
            ],
        ),
    );
    let mut last = Value::Null;
    wait_for(
        "memory usage to grow by 25 MB",
        Duration::from_secs(30),
        || {
            last = stats(&env);
            last["memory"]["usage"].as_u64().unwrap() > usage0 + 25_000_000
        },
    );
    assert!(
        last["memory"]["max_usage"].as_u64().unwrap() >= last["memory"]["usage"].as_u64().unwrap()
    );
    assert!(last["pids"]["current"].as_u64().unwrap() >= 2, "{last:#}");
}

#[test]
fn stats_report_the_containers_interfaces() {
    let env = Env::new("netstats");
    let mut c = env.config();
    let mut veth = Network::loopback();
    veth.kind = NetworkType::Veth;
    veth.name = "eth0".into();
    veth.address = "10.231.77.2/24".into();
    c.networks.push(veth);
    start(&env, &c, &SLEEPER);
    // Some traffic (nobody answers), then the counters as the container sees them.
    let inside = assert_ok(&join(
        &env,
        &[
            "/bin/sh",
            "-c",
            "ping -c 1 -W 1 10.231.77.1 >/dev/null 2>&1; \
             cat /sys/class/net/eth0/statistics/tx_packets",
        ],
    ));
    let tx_inside: u64 = inside.trim().parse().unwrap();
    assert!(tx_inside >= 1, "{inside}");
    let s = stats(&env);
    let ifs = s["interfaces"].as_array().unwrap();
    assert_eq!(ifs.len(), 1, "{s:#}");
    assert_eq!(ifs[0]["name"], "eth0");
    assert!(ifs[0]["tx_packets"].as_u64().unwrap() >= tx_inside, "{s:#}");
    assert!(ifs[0]["tx_bytes"].as_u64().unwrap() > 0, "{s:#}");
}

// ------------------------------------------------------------------ update

#[test]
fn update_changes_the_cgroup_files_inside_and_out_and_the_state() {
    let env = Env::new("update");
    start(&env, &env.config(), &SLEEPER);
    assert_ok(&nsinit(
        &env,
        &[
            "update",
            &env.id,
            "--memory",
            "64m",
            "--memory-swap",
            "1G",
            "--memory-reservation",
            "32768k",
            "--cpu-shares",
            "512",
            "--cpu-period",
            "100000",
            "--cpu-quota",
            "50000",
            "--cpuset-cpus",
            "0",
            "--cpuset-mems",
            "0",
            "--pids-limit",
            "50",
            "--blkio-weight",
            "500",
        ],
    ));
    let expected = [
        ("memory", "memory.limit_in_bytes", "67108864"),
        ("memory", "memory.memsw.limit_in_bytes", "1073741824"),
        ("memory", "memory.soft_limit_in_bytes", "33554432"),
        ("cpu", "cpu.shares", "512"),
        ("cpu", "cpu.cfs_period_us", "100000"),
        ("cpu", "cpu.cfs_quota_us", "50000"),
        ("cpuset", "cpuset.cpus", "0"),
        ("cpuset", "cpuset.mems", "0"),
        ("pids", "pids.max", "50"),
    ];
    let mut script = String::new();
    for (ctrl, file, want) in expected {
        assert_eq!(cgroup_file(&env, ctrl, file), want, "host {ctrl}/{file}");
        script.push_str(&format!("cat /sys/fs/cgroup/{ctrl}/{file}; "));
    }
    // The same files through the container's own /sys/fs/cgroup.
    let inside = assert_ok(&join(&env, &["/bin/sh", "-c", &script]));
    let want: Vec<&str> = expected.iter().map(|(_, _, w)| *w).collect();
    assert_eq!(inside.lines().collect::<Vec<_>>(), want);
    let weight_file = ["blkio.bfq.weight", "blkio.weight"]
        .into_iter()
        .find(|f| cgroup_dir(&env, "blkio").join(f).exists())
        .expect("a blkio weight file");
    assert!(
        cgroup_file(&env, "blkio", weight_file).contains("500"),
        "{weight_file}"
    );

    let cg = &state(&env)["config"]["cgroups"];
    assert_eq!(cg["memory"], 67_108_864);
    assert_eq!(cg["memory_swap"], 1_073_741_824);
    assert_eq!(cg["memory_reservation"], 33_554_432);
    assert_eq!(cg["cpu_shares"], 512);
    assert_eq!(cg["cpu_period"], 100_000);
    assert_eq!(cg["cpu_quota"], 50_000);
    assert_eq!(cg["cpuset_cpus"], "0");
    assert_eq!(cg["cpuset_mems"], "0");
    assert_eq!(cg["pids_limit"], 50);
    assert_eq!(cg["blkio_weight"], 500);

    // A second update changes only what it names.
    assert_ok(&nsinit(&env, &["update", &env.id, "--pids-limit", "-1"]));
    assert_eq!(cgroup_file(&env, "pids", "pids.max"), "max");
    assert_eq!(cgroup_file(&env, "cpu", "cpu.shares"), "512");
    let cg = &state(&env)["config"]["cgroups"];
    assert_eq!(cg["pids_limit"], -1);
    assert_eq!(cg["cpu_shares"], 512);
    // stats see the new limits.
    let s = stats(&env);
    assert_eq!(s["memory"]["limit"], 67_108_864);
    assert!(s["pids"]["limit"].is_null());
    assert_eq!(status(&env), "running");
}

/// The cgroup files and the recorded resources of a container, to compare
/// before and after a refused update.
fn resources_snapshot(env: &Env) -> (Vec<String>, Value) {
    let files = [
        ("memory", "memory.limit_in_bytes"),
        ("memory", "memory.memsw.limit_in_bytes"),
        ("cpu", "cpu.shares"),
        ("cpu", "cpu.cfs_quota_us"),
        ("cpuset", "cpuset.cpus"),
        ("pids", "pids.max"),
    ];
    (
        files.iter().map(|(c, f)| cgroup_file(env, c, f)).collect(),
        state(env)["config"]["cgroups"].clone(),
    )
}

#[test]
fn update_with_invalid_values_fails_and_changes_nothing() {
    let env = Env::new("badupdate");
    start(&env, &env.config(), &SLEEPER);
    assert_ok(&nsinit(&env, &["update", &env.id, "--cpu-shares", "300"]));
    let before = resources_snapshot(&env);

    let cases: [(&[&str], &str); 8] = [
        (&["--memory", "12"], "--memory: 12 is below"),
        (&["--cpu-shares", "1"], "--cpu-shares: 1 is outside"),
        (&["--cpu-quota", "10"], "--cpu-quota"),
        (&["--pids-limit", "0"], "--pids-limit"),
        (&["--memory-swap", "64m"], "--memory-swap"),
        (&["--cpuset-cpus", "zero"], "--cpuset-cpus"),
        // Valid syntax, refused by the kernel: no such CPU.
        (&["--cpuset-cpus", "4095"], "cpuset.cpus"),
        // The first value is fine, the second refused by validation.
        (
            &["--pids-limit", "10", "--blkio-weight", "5"],
            "--blkio-weight",
        ),
    ];
    for (flags, needle) in cases {
        let mut args = vec!["update", env.id.as_str()];
        args.extend_from_slice(flags);
        assert_clear_error(&nsinit(&env, &args), needle);
        assert_eq!(resources_snapshot(&env), before, "after update {flags:?}");
    }
    // Not a size at all: refused by the argument parser.
    let o = nsinit(&env, &["update", &env.id, "--memory", "12x"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("is not a size"));
    // No flag at all.
    assert_clear_error(&nsinit(&env, &["update", &env.id]), "nothing to update");
    assert_eq!(resources_snapshot(&env), before);
    assert_eq!(status(&env), "running");
}

#[test]
fn update_refused_halfway_by_the_kernel_is_rolled_back() {
    let env = Env::new("rollback");
    start(&env, &env.config(), &SLEEPER);
    let _alloc = Bg::spawn(
        &env,
        "alloc",
        join_cmd(
            &env,
            &[
                "/bin/sh",
                "-c",
                "x=$(head -c 30000000 /dev/zero | tr '\\0' a); sleep 60; echo ${#x}",
            ],
        ),
    );
    wait_for("30 MB in use", Duration::from_secs(30), || {
        cgroup_file(&env, "memory", "memory.usage_in_bytes")
            .parse::<u64>()
            .unwrap()
            > 30_000_000
    });
    let before = resources_snapshot(&env);
    let cpus_before = cgroup_file(&env, "cpuset", "cpuset.cpus");
    // cpuset.cpus is written first and accepted; the memory limit below the
    // usage is then refused (EBUSY): the cpuset must go back.
    let o = nsinit(
        &env,
        &[
            "update",
            &env.id,
            "--cpuset-cpus",
            "0",
            "--memory",
            "4m",
            "--pids-limit",
            "30",
        ],
    );
    assert_clear_error(&o, "memory.limit_in_bytes");
    assert_eq!(cgroup_file(&env, "cpuset", "cpuset.cpus"), cpus_before);
    assert_eq!(resources_snapshot(&env), before);
    assert_eq!(status(&env), "running");
}

// ------------------------------------------------------------------ OOM, events

#[test]
fn oom_inside_the_container_is_reported_by_oom_and_events() {
    let env = Env::new("oom");
    let mut c = env.config();
    c.cgroups.memory = Some(32 << 20);
    c.cgroups.memory_swap = Some(32 << 20);
    start(&env, &c, &SLEEPER);
    let mut oom = Bg::spawn(&env, "oom", {
        let mut cmd = env.cmd();
        cmd.args(["oom", &env.id]);
        cmd
    });
    let mut events = Bg::spawn(&env, "events", {
        let mut cmd = env.cmd();
        cmd.args(["events", &env.id, "--interval", "200ms"]);
        cmd
    });
    // The first stats line comes after the OOM watch is set up.
    wait_for("the first stats event", Duration::from_secs(10), || {
        events.stdout().contains(r#""type":"stats""#)
    });
    // Allocate past the limit until `nsinit oom` (whose registration cannot
    // be observed) has reported it; each attempt is killed by the OOM killer.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !oom.stdout().contains(r#""type":"oom""#) {
        assert!(
            Instant::now() < deadline,
            "no oom event; oom stderr: {}",
            oom.stderr()
        );
        let o = join(
            &env,
            &[
                "/bin/sh",
                "-c",
                "x=$(head -c 80000000 /dev/zero | tr '\\0' a); echo ${#x}",
            ],
        );
        assert_eq!(
            o.status.code(),
            Some(137),
            "the allocation was not OOM-killed: {o:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let first: Value = serde_json::from_str(oom.stdout().lines().next().unwrap()).unwrap();
    assert_eq!(first["type"], "oom");
    assert_eq!(first["id"], env.id.as_str());
    assert!(first["count"].as_u64().unwrap() >= 1);
    wait_for("an oom line in events", Duration::from_secs(10), || {
        events.stdout().contains(r#""type":"oom""#)
    });
    // Another stats line after the OOM shows it in the counters.
    wait_for(
        "stats counting the OOM kill",
        Duration::from_secs(10),
        || {
            events.stdout().lines().rev().any(|l| {
                let v: Value = serde_json::from_str(l).unwrap_or(Value::Null);
                v["type"] == "stats" && v["data"]["memory"]["oom_kill"].as_u64() > Some(0)
            })
        },
    );
    for line in events.stdout().lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["id"], env.id.as_str(), "{line}");
        match v["type"].as_str() {
            Some("stats") => assert_eq!(v["data"]["memory"]["limit"], 32 << 20, "{line}"),
            Some("oom") => assert!(v["count"].as_u64().unwrap() >= 1),
            other => panic!("unexpected event type {other:?}: {line}"),
        }
    }
    assert_eq!(status(&env), "running", "only the allocation was killed");

    // Both streams end (exit 0) when the container goes.
    assert_ok(&nsinit(&env, &["delete", "--force", &env.id]));
    assert_eq!(
        oom.exit_code(Duration::from_secs(10)),
        Some(0),
        "{}",
        oom.stderr()
    );
    assert_eq!(
        events.exit_code(Duration::from_secs(10)),
        Some(0),
        "{}",
        events.stderr()
    );
    env.assert_no_leftovers(&env.id);
}

#[test]
fn events_stats_only_streams_stats_and_ends_when_the_init_exits() {
    let env = Env::new("events");
    let pid = start(&env, &env.config(), &SLEEPER);
    let mut events = Bg::spawn(&env, "events", {
        let mut cmd = env.cmd();
        cmd.args(["events", &env.id, "--interval", "100ms", "--stats-only"]);
        cmd
    });
    wait_for("three stats events", Duration::from_secs(10), || {
        events.stdout().lines().count() >= 3
    });
    assert_ok(&nsinit(&env, &["kill", "-s", "KILL", &env.id]));
    wait_for("the init to die", Duration::from_secs(10), || !alive(pid));
    assert_eq!(
        events.exit_code(Duration::from_secs(10)),
        Some(0),
        "{}",
        events.stderr()
    );
    for line in events.stdout().lines() {
        assert!(line.starts_with(r#"{"type":"stats","id":"#), "{line}");
        let v: Value = serde_json::from_str(line).unwrap();
        assert!(v["data"]["pids"]["current"].is_u64(), "{line}");
    }
}

// ------------------------------------------------------------------ bad input

#[test]
fn operations_on_an_unknown_id_fail_clearly() {
    let env = Env::new("unknown");
    let id = format!("{}-none", env.id);
    let o = env
        .cmd()
        .args(["exec", "--id", &id, "--", "/bin/true"])
        .current_dir(&env.work)
        .output()
        .unwrap();
    assert_clear_error(&o, "container.json");
    assert!(!env.root.join(&id).exists(), "exec left a state dir behind");
    for cmd in ["pause", "unpause", "stats", "oom", "events"] {
        assert_clear_error(&nsinit(&env, &[cmd, &id]), "does not exist");
    }
    assert_clear_error(
        &nsinit(&env, &["update", &id, "--memory", "64m"]),
        "does not exist",
    );
    assert!(!env.root.join(&id).exists());
}

#[test]
fn operations_on_a_stopped_container_fail_and_change_nothing() {
    let env = Env::new("stopped");
    let pid = start(&env, &env.config(), &["/bin/true"]);
    wait_for("the init to exit", Duration::from_secs(10), || !alive(pid));
    assert_eq!(status(&env), "stopped");
    let state_file = env.root.join(&env.id).join("state.json");
    let before = std::fs::read(&state_file).unwrap();

    assert_clear_error(&nsinit(&env, &["pause", &env.id]), "is stopped");
    assert_eq!(status(&env), "stopped");
    assert_eq!(cgroup_file(&env, "freezer", "freezer.state"), "THAWED");
    assert_clear_error(&nsinit(&env, &["unpause", &env.id]), "is stopped");
    assert_clear_error(&nsinit(&env, &["stats", &env.id]), "is stopped");
    assert_clear_error(&nsinit(&env, &["oom", &env.id]), "is stopped");
    assert_clear_error(&nsinit(&env, &["events", &env.id]), "is stopped");
    let limit = cgroup_file(&env, "memory", "memory.limit_in_bytes");
    assert_clear_error(
        &nsinit(&env, &["update", &env.id, "--memory", "64m"]),
        "is stopped",
    );
    assert_eq!(cgroup_file(&env, "memory", "memory.limit_in_bytes"), limit);
    let o = env
        .cmd()
        .args(["exec", "--id", &env.id, "--", "/bin/true"])
        .output()
        .unwrap();
    assert_clear_error(&o, "is stopped");

    assert_eq!(std::fs::read(&state_file).unwrap(), before);
    assert_eq!(status(&env), "stopped");
    // It can still be deleted, and nothing remains.
    assert_ok(&nsinit(&env, &["delete", &env.id]));
    env.assert_no_leftovers(&env.id);
}

#[test]
fn library_set_refuses_fixed_fields_and_accepts_the_recorded_cgroups_back() {
    let env = Env::new("libset");
    start(&env, &env.config(), &SLEEPER);
    let factory = nsinit_runtime::Factory::new(&env.root).unwrap();
    let c = factory.load(&env.id).unwrap();
    let before = resources_snapshot(&env);

    // The cgroup's place cannot move.
    let mut moved = c.config().unwrap().cgroups;
    moved.parent = "/elsewhere".into();
    let e = c.set(&moved).unwrap_err();
    assert!(matches!(e, nsinit_runtime::Error::Unsupported(_)), "{e:?}");
    assert!(e.to_string().contains("cgroups.parent"), "{e}");
    assert_eq!(resources_snapshot(&env), before);

    // The whole recorded cgroups with one limit changed: only that changes.
    let mut all = c.config().unwrap().cgroups;
    all.pids_limit = Some(42);
    c.set(&all).unwrap();
    assert_eq!(cgroup_file(&env, "pids", "pids.max"), "42");
    assert_eq!(c.config().unwrap().cgroups, all);
    assert_eq!(c.status().unwrap(), nsinit_runtime::Status::Running);
}
