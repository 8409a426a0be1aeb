//! Checkpoint and restore through CRIU, with real containers and the real
//! criu (`NSINIT_CRIU`, as `scripts/test.sh` sets it, else the fixed path of
//! `scripts/criu-setup.sh`). A missing criu fails every test here loudly.
//!
//! The containers run detached with their stdio on files of the test's work
//! directory (never pipes: the restored init gets the restoring process's
//! stdio, and a pipe held by a detached container would never close).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{assert_ok, Env};

/// The criu under test.
fn criu() -> PathBuf {
    let p = std::env::var_os("NSINIT_CRIU")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/cache/nsinit/criu/criu"));
    assert!(
        p.exists(),
        "no criu at {} — run ./scripts/criu-setup.sh (or ./scripts/test.sh)",
        p.display()
    );
    p
}

/// Counts into `/count` (written whole, then renamed) every 50 ms.
const COUNTER: &str =
    "i=0; while :; do i=$((i+1)); echo $i > /count.new; mv /count.new /count; sleep 0.05; done";

/// One test's containers, images and outputs.
struct Ckpt {
    env: Env,
    n: std::cell::Cell<u32>,
}

impl Ckpt {
    fn new(name: &str) -> Ckpt {
        Ckpt {
            env: Env::with_copy(name),
            n: std::cell::Cell::new(0),
        }
    }

    fn id(&self) -> &str {
        &self.env.id
    }

    /// `nsinit --criu <criu> --root <root> ARGS` with stdio on fresh files;
    /// returns (success, stdout, stderr).
    fn run(&self, args: &[&str]) -> (bool, String, String) {
        self.run_with(&criu(), args)
    }

    fn run_with(&self, criu: &Path, args: &[&str]) -> (bool, String, String) {
        let n = self.n.get();
        self.n.set(n + 1);
        let out = self.env.work.join(format!("cmd-{n}.out"));
        let err = self.env.work.join(format!("cmd-{n}.err"));
        let st = self
            .env
            .cmd()
            .arg("--criu")
            .arg(criu)
            .args(args)
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&err).unwrap())
            .status()
            .unwrap();
        (
            st.success(),
            std::fs::read_to_string(&out).unwrap_or_default(),
            std::fs::read_to_string(&err).unwrap_or_default(),
        )
    }

    /// Creates and starts a detached container running `script`.
    fn start(&self, config: &nsinit_configs::Config, script: &str) {
        let cfg = self.env.write_config(config);
        let (ok, err) = self.env.create(&cfg, &["/bin/sh", "-c", script]);
        assert!(ok, "create: {err}");
        let (ok, _, err) = self.run(&["start", self.id()]);
        assert!(ok, "start: {err}");
    }

    fn start_counter(&self) {
        self.start(&self.env.config(), COUNTER);
        self.wait_count_above(20);
    }

    fn image(&self, name: &str) -> PathBuf {
        self.env.work.join(name)
    }

    fn checkpoint(&self, image: &Path, extra: &[&str]) -> (bool, String) {
        let mut args = vec!["checkpoint", "--id", self.id(), "--image-path"];
        let image = image.display().to_string();
        args.push(&image);
        args.extend_from_slice(extra);
        let (ok, _, err) = self.run(&args);
        (ok, err)
    }

    fn restore(&self, image: &Path, extra: &[&str]) -> (bool, String) {
        let mut args = vec!["restore", "--id", self.id(), "--detach", "--image-path"];
        let image = image.display().to_string();
        args.push(&image);
        args.extend_from_slice(extra);
        let (ok, _, err) = self.run(&args);
        (ok, err)
    }

    /// `nsinit state` as JSON, or None when the container does not exist.
    fn state(&self) -> Option<serde_json::Value> {
        let (ok, out, err) = self.run(&["state", self.id()]);
        if !ok {
            assert!(err.contains("does not exist"), "state: {err}");
            return None;
        }
        Some(serde_json::from_str(&out).unwrap())
    }

    fn status(&self) -> String {
        self.state()
            .map(|s| s["status"].as_str().unwrap().to_string())
            .unwrap_or_else(|| "gone".into())
    }

    fn pid(&self) -> i64 {
        self.state().unwrap()["init_process_pid"].as_i64().unwrap()
    }

    /// The counter the container wrote last.
    fn count(&self) -> u64 {
        self.read_number("count")
    }

    fn read_number(&self, file: &str) -> u64 {
        let p = self.env.rootfs.join(file);
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(n) = std::fs::read_to_string(&p)
                .ok()
                .and_then(|t| t.trim().parse().ok())
            {
                return n;
            }
            assert!(Instant::now() < deadline, "no number in {}", p.display());
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn wait_count_above(&self, n: u64) -> u64 {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let c = std::fs::read_to_string(self.env.rootfs.join("count"))
                .ok()
                .and_then(|t| t.trim().parse().ok())
                .unwrap_or(0);
            if c > n {
                return c;
            }
            assert!(
                Instant::now() < deadline,
                "the count stays at {c} (waited for > {n})"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Asserts the count does not move for a while (nothing runs).
    fn assert_count_still(&self) -> u64 {
        let a = self.count();
        std::thread::sleep(Duration::from_millis(300));
        let b = self.count();
        assert_eq!(a, b, "the count moved without a container");
        a
    }

    fn delete(&self) {
        let (ok, _, err) = self.run(&["delete", "--force", self.id()]);
        assert!(ok, "delete: {err}");
    }
}

fn image_has_dump(dir: &Path) -> bool {
    dir.join("inventory.img").is_file()
        && dir.join("pstree.img").is_file()
        && dir.join("nsinit-checkpoint.json").is_file()
}

#[test]
fn checkpoint_then_restore_continues_counting() {
    let t = Ckpt::new("ckpt");
    t.start_counter();
    let old_pid = t.pid();
    let image = t.image("img");

    let (ok, err) = t.checkpoint(&image, &[]);
    assert!(ok, "checkpoint: {err}");
    assert!(image_has_dump(&image), "image directory not populated");
    assert_eq!(t.status(), "gone");
    let at_dump = t.assert_count_still();
    t.env.assert_no_leftovers(t.id());

    let (ok, err) = t.restore(&image, &[]);
    assert!(ok, "restore: {err}");
    // Continues from where it stopped, not from zero.
    let first = t.wait_count_above(at_dump);
    assert!(
        first <= at_dump + 10,
        "count jumped from {at_dump} to {first}"
    );
    let st = t.state().unwrap();
    assert_eq!(st["status"], "running");
    let pid = st["init_process_pid"].as_i64().unwrap();
    assert!(
        pid > 0 && pid != old_pid,
        "restored pid {pid} (was {old_pid})"
    );
    assert!(st["init_process_start"].as_u64().unwrap() > 0);
    assert_eq!(
        st["namespace_paths"]["NEWPID"],
        format!("/proc/{pid}/ns/pid").as_str()
    );
    assert!(Path::new(st["cgroup_paths"]["pids"].as_str().unwrap()).is_dir());

    // Every other command works on the restored container.
    let (ok, out, err) = t.run(&["ps", t.id()]);
    assert!(ok && out.contains(&pid.to_string()), "ps: {out} {err}");
    let (ok, out, err) = t.run(&["exec", "--id", t.id(), "cat", "/count"]);
    assert!(ok, "exec: {err}");
    assert!(
        out.trim().parse::<u64>().unwrap() > at_dump,
        "exec saw {out}"
    );
    let (ok, _, err) = t.run(&["pause", t.id()]);
    assert!(ok, "pause: {err}");
    assert_eq!(t.status(), "paused");
    let (ok, _, err) = t.run(&["unpause", t.id()]);
    assert!(ok, "unpause: {err}");
    let (ok, _, err) = t.run(&["kill", "-s", "KILL", t.id()]);
    assert!(ok, "kill: {err}");
    let deadline = Instant::now() + Duration::from_secs(5);
    while t.status() != "stopped" {
        assert!(
            Instant::now() < deadline,
            "still {} after SIGKILL",
            t.status()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let (ok, _, err) = t.run(&["delete", t.id()]);
    assert!(ok, "delete: {err}");
    assert_eq!(t.status(), "gone");
    t.env.assert_no_leftovers(t.id());
}

#[test]
fn leave_running_keeps_counting() {
    let t = Ckpt::new("ckpt-leave");
    t.start_counter();
    let pid = t.pid();
    let image = t.image("img");
    let (ok, err) = t.checkpoint(&image, &["--leave-running"]);
    assert!(ok, "checkpoint: {err}");
    assert!(image_has_dump(&image));
    let at_dump = t.count();
    t.wait_count_above(at_dump + 3);
    assert_eq!(t.status(), "running");
    assert_eq!(t.pid(), pid);

    // The image is a good one: restored after the original is gone, the
    // count goes on from the checkpoint's value.
    t.delete();
    let (ok, err) = t.restore(&image, &[]);
    assert!(ok, "restore: {err}");
    let seen = t.wait_count_above(0);
    assert!(seen >= at_dump, "restored count {seen} below {at_dump}");
    t.delete();
    t.env.assert_no_leftovers(t.id());
}

/// Whether this kernel lets CRIU track memory changes (soft-dirty bits).
fn memory_tracking() -> bool {
    Command::new(criu())
        .args(["check", "--feature", "mem_dirty_track"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success()
}

#[test]
fn pre_dump_then_dump() {
    let t = Ckpt::new("ckpt-pre");
    t.start_counter();
    let pid = t.pid();
    let pre = t.image("pre");
    let img = t.image("img");
    let (ok, err) = t.checkpoint(&pre, &["--pre-dump"]);
    if !memory_tracking() {
        // This kernel has no soft-dirty tracking (CONFIG_MEM_SOFT_DIRTY):
        // CRIU cannot pre-dump (criu 4.x even aborts on a BUG()). nsinit
        // says so before CRIU runs, and the container is untouched.
        assert!(!ok, "pre-dump without memory tracking succeeded?");
        assert!(
            err.contains("cannot track memory changes") && err.contains("CONFIG_MEM_SOFT_DIRTY"),
            "{err}"
        );
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        let (ok, err) = t.checkpoint(&img, &["--parent-path", "../pre"]);
        assert!(!ok && err.contains("cannot track memory changes"), "{err}");
        assert!(!pre.exists() && !img.exists(), "image dirs left behind");
        assert_eq!(t.status(), "running");
        assert_eq!(t.pid(), pid);
        t.wait_count_above(t.count() + 3);
        t.delete();
        return;
    }
    assert!(ok, "pre-dump: {err}");
    assert_eq!(t.status(), "running");
    t.wait_count_above(t.count() + 3);
    let (ok, err) = t.checkpoint(&img, &["--parent-path", "../pre"]);
    assert!(ok, "dump: {err}");
    assert!(img.join("parent").exists());
    let at_dump = t.assert_count_still();
    let (ok, err) = t.restore(&img, &[]);
    assert!(ok, "restore: {err}");
    let first = t.wait_count_above(at_dump);
    assert!(first <= at_dump + 10);
    t.delete();
}

#[test]
fn tcp_connection_survives_with_tcp_established() {
    let t = Ckpt::new("ckpt-tcp");
    // A server sends numbered lines; a client in the same container writes
    // what it receives to /recv.
    let script =
        "(i=0; while :; do i=$((i+1)); echo $i; sleep 0.05; done) | nc -l -p 5000 >/dev/null & \
                  sleep 0.3; sleep 100000 | nc 127.0.0.1 5000 > /recv";
    t.start(&t.env.config(), script);
    let recv = t.env.rootfs.join("recv");
    let last_line = || -> u64 {
        std::fs::read_to_string(&recv)
            .unwrap_or_default()
            .lines()
            .last()
            .and_then(|l| l.trim().parse().ok())
            .unwrap_or(0)
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while last_line() < 10 {
        assert!(Instant::now() < deadline, "no data over the connection");
        std::thread::sleep(Duration::from_millis(20));
    }

    // Without --tcp-established CRIU refuses, and the container goes on.
    let (ok, err) = t.checkpoint(&t.image("refused"), &[]);
    assert!(
        !ok,
        "checkpoint of a TCP connection without --tcp-established"
    );
    assert!(
        err.contains("--tcp-established") && err.contains("dump.log"),
        "{err}"
    );
    let before = last_line();
    let deadline = Instant::now() + Duration::from_secs(5);
    while last_line() <= before + 2 {
        assert!(
            Instant::now() < deadline,
            "the connection stalled after a refused checkpoint"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    let image = t.image("img");
    let (ok, err) = t.checkpoint(&image, &["--tcp-established"]);
    assert!(ok, "checkpoint: {err}");
    assert_eq!(t.status(), "gone");
    let at_dump = last_line();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(last_line(), at_dump);

    let (ok, err) = t.restore(&image, &["--tcp-established"]);
    assert!(ok, "restore: {err}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while last_line() < at_dump + 5 {
        assert!(
            Instant::now() < deadline,
            "no data after restore (last line {})",
            last_line()
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    // Again with the network locked by iptables rules (the default, auto,
    // takes nftables where criu has it, as here).
    let image = t.image("img-iptables");
    let lock = ["--tcp-established", "--network-lock", "iptables"];
    let (ok, err) = t.checkpoint(&image, &lock);
    assert!(ok, "checkpoint with iptables: {err}");
    let at_dump = last_line();
    let (ok, err) = t.restore(&image, &lock);
    assert!(ok, "restore with iptables: {err}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while last_line() < at_dump + 5 {
        assert!(
            Instant::now() < deadline,
            "no data after the iptables restore (last line {})",
            last_line()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // The same connection: every number once, in order, no restart.
    let text = std::fs::read_to_string(&recv).unwrap();
    for (i, line) in text.lines().enumerate() {
        if i + 1 == text.lines().count() {
            break; // may be half written
        }
        assert_eq!(
            line,
            (i + 1).to_string(),
            "line {} of what was received",
            i + 1
        );
    }
    t.delete();
    t.env.assert_no_leftovers(t.id());
}

#[test]
fn refused_checkpoint_leaves_the_container_running() {
    let t = Ckpt::new("ckpt-refused");
    // A datagram socket on the host, bound into the container as /dev/log:
    // the container's logger stays connected to it, a unix socket whose peer
    // is outside the container, which CRIU refuses to dump.
    let sockdir = t.env.work.join("sock");
    std::fs::create_dir_all(&sockdir).unwrap();
    let sock_path = sockdir.join("log");
    let host_sock = std::os::unix::net::UnixDatagram::bind(&sock_path).unwrap();
    host_sock
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut cfg = t.env.config();
    cfg.mounts.push(
        serde_json::from_value(serde_json::json!({
            "source": sock_path.display().to_string(),
            "destination": "/dev/log",
            "device": "bind",
            "flags": ["bind"]
        }))
        .unwrap(),
    );
    t.start(
        &cfg,
        &format!("(echo hello; sleep 100000) | logger -t ckpt & {COUNTER}"),
    );
    let mut buf = [0u8; 512];
    let n = host_sock
        .recv(&mut buf)
        .expect("no log line from the container");
    assert!(String::from_utf8_lossy(&buf[..n]).contains("hello"));
    t.wait_count_above(5);
    let pid = t.pid();

    let image = t.image("img");
    let (ok, err) = t.checkpoint(&image, &[]);
    assert!(!ok, "checkpoint of an external unix socket succeeded?");
    assert_eq!(err.trim().lines().count(), 1, "not one line: {err}");
    let log = image.join("dump.log");
    assert!(
        err.contains(&format!("CRIU's log: {}", log.display())),
        "no log path in: {err}"
    );
    assert!(err.contains("unix"), "{err}");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("Dumping FAILED"), "log: {}", log.display());
    assert!(!image.join("nsinit-checkpoint.json").exists());

    // Still running and intact: same init, counting, logging, usable.
    assert_eq!(t.status(), "running");
    assert_eq!(t.pid(), pid);
    t.wait_count_above(t.count() + 3);
    let (ok, out, err) = t.run(&[
        "exec",
        "--id",
        t.id(),
        "sh",
        "-c",
        "logger -t ckpt again; echo ok",
    ]);
    assert!(ok && out.trim() == "ok", "exec: {err}");
    let n = host_sock.recv(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).contains("again"));
    t.delete();
    t.env.assert_no_leftovers(t.id());
}

#[test]
fn clear_errors_and_nothing_left_behind() {
    let t = Ckpt::new("ckpt-errors");
    let missing = t.image("missing");
    let one_line = |err: &str| assert_eq!(err.trim().lines().count(), 1, "not one line: {err}");

    // Restore from a directory that does not exist.
    let (ok, err) = t.restore(&missing, &[]);
    assert!(!ok);
    one_line(&err);
    assert!(
        err.contains(&missing.display().to_string()) && err.contains("No such file"),
        "{err}"
    );
    t.env.assert_no_leftovers(t.id());

    // Restore from a directory that holds no checkpoint.
    let empty = t.image("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let (ok, err) = t.restore(&empty, &[]);
    assert!(
        !ok && err.contains("not a checkpoint taken by nsinit"),
        "{err}"
    );
    t.env.assert_no_leftovers(t.id());

    // A missing criu: the checkpoint leaves the container running and makes
    // no image directory.
    t.start_counter();
    let pid = t.pid();
    let image = t.image("img");
    let (ok, _, err) = t.run_with(
        Path::new("/nonexistent/criu"),
        &[
            "checkpoint",
            "--id",
            t.id(),
            "--image-path",
            &image.display().to_string(),
        ],
    );
    assert!(!ok);
    one_line(&err);
    assert!(
        err.contains("/nonexistent/criu") && err.contains("CRIU >= "),
        "{err}"
    );
    assert!(!image.exists(), "image directory made for nothing");
    assert_eq!(t.pid(), pid);

    // The distribution's criu (3.17 on bookworm) is too old for this kernel.
    let distro = Path::new("/usr/sbin/criu");
    if distro.exists() && !same_file(distro, &criu()) {
        let (ok, _, err) = t.run_with(
            distro,
            &[
                "checkpoint",
                "--id",
                t.id(),
                "--image-path",
                &image.display().to_string(),
            ],
        );
        let version = Command::new(distro).arg("--version").output().unwrap();
        let version = String::from_utf8_lossy(&version.stdout).to_string();
        if !ok {
            one_line(&err);
            assert!(
                err.contains("too old") && err.contains("needs CRIU >= "),
                "{err} ({version})"
            );
            assert!(!image.exists());
        }
        assert_eq!(t.status(), "running");
        assert_eq!(t.pid(), pid);
    } else {
        eprintln!(
            "note: no distribution criu at /usr/sbin/criu; the too-old check is not exercised"
        );
    }

    // A good checkpoint, then a restore over a running container of the
    // same id: refused, the running one untouched.
    let (ok, err) = t.checkpoint(&image, &["--leave-running"]);
    assert!(ok, "{err}");
    let (ok, err) = t.restore(&image, &[]);
    assert!(!ok);
    one_line(&err);
    assert!(err.contains("exists (running)"), "{err}");
    assert_eq!(t.status(), "running");
    assert_eq!(t.pid(), pid);
    t.wait_count_above(t.count() + 2);

    // A restore that CRIU cannot do (its rootfs gone) leaves nothing.
    t.delete();
    let mut cfg = t.env.config();
    cfg.rootfs = t.env.work.join("no-rootfs").display().to_string();
    let cfg_path = t.env.write_config(&cfg);
    let (ok, err) = t.restore(&image, &["--config", &cfg_path.display().to_string()]);
    assert!(!ok && err.contains("rootfs"), "{err}");
    t.env.assert_no_leftovers(t.id());
    // A too old criu on restore: nothing left either.
    if distro.exists() && !same_file(distro, &criu()) {
        let (ok, _, err) = t.run_with(
            distro,
            &[
                "restore",
                "--id",
                t.id(),
                "--detach",
                "--image-path",
                &image.display().to_string(),
            ],
        );
        if !ok {
            assert!(err.contains("too old"), "{err}");
        } else {
            t.delete();
        }
        t.env.assert_no_leftovers(t.id());
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// A CRIU page server on 127.0.0.1; killed (by pid) when dropped if it is
/// still there.
struct PageServer {
    pid: i32,
    port: u16,
}

impl PageServer {
    fn start(dir: &Path) -> PageServer {
        // A free port (the kernel picks, we let go of it at once).
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let pidfile = dir.join("page-server.pid");
        // --daemon: back once the socket listens.
        let o: Output = Command::new(criu())
            .arg("page-server")
            .arg("--images-dir")
            .arg(dir)
            .args(["--address", "127.0.0.1", "--port", &port.to_string(), "-d"])
            .arg("--pidfile")
            .arg(&pidfile)
            .args(["-o", "page-server.log", "-v4"])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_ok(&o);
        let pid = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        PageServer { pid, port }
    }
}

impl Drop for PageServer {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

#[test]
fn page_server_checkpoint_restores() {
    let t = Ckpt::new("ckpt-ps");
    t.start_counter();
    let pages = t.image("pages");
    std::fs::create_dir_all(&pages).unwrap();
    let server = PageServer::start(&pages);
    let image = t.image("img");
    let addr = format!("127.0.0.1:{}", server.port);
    let (ok, err) = t.checkpoint(&image, &["--page-server", &addr]);
    assert!(ok, "checkpoint: {err}");
    let at_dump = t.assert_count_still();
    // The memory went to the page server, the rest to the image directory.
    let names = |d: &Path| -> Vec<String> {
        std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    };
    assert!(!names(&image).iter().any(|n| n.starts_with("pages-")));
    let moved: Vec<String> = names(&pages)
        .into_iter()
        .filter(|n| n.starts_with("pages-") || n.starts_with("pagemap-"))
        .collect();
    assert!(!moved.is_empty(), "the page server got no pages");
    for n in &moved {
        std::fs::copy(pages.join(n), image.join(n)).unwrap();
    }
    let (ok, err) = t.restore(&image, &[]);
    assert!(ok, "restore: {err}");
    let first = t.wait_count_above(at_dump);
    assert!(first <= at_dump + 10);
    t.delete();
    t.env.assert_no_leftovers(t.id());
}

#[test]
fn restore_in_the_foreground_waits_and_forwards_signals() {
    let t = Ckpt::new("ckpt-fg");
    // pid 1 of a pid namespace only gets the signals it handles.
    let script = format!("trap 'exit 7' TERM; {COUNTER}");
    t.start(&t.env.config(), &script);
    t.wait_count_above(5);
    let image = t.image("img");
    let (ok, err) = t.checkpoint(&image, &[]);
    assert!(ok, "checkpoint: {err}");
    let at_dump = t.assert_count_still();

    let pid_file = t.env.work.join("restored.pid");
    let err_file = t.env.work.join("fg.err");
    let mut child: Child = t
        .env
        .cmd()
        .arg("--criu")
        .arg(criu())
        .args(["restore", "--id", t.id(), "--image-path"])
        .arg(&image)
        .arg("--pid-file")
        .arg(&pid_file)
        .stdout(std::fs::File::create(t.env.work.join("fg.out")).unwrap())
        .stderr(std::fs::File::create(&err_file).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !pid_file.exists() || t.count() <= at_dump {
        assert!(
            Instant::now() < deadline,
            "no restore: {}",
            std::fs::read_to_string(&err_file).unwrap_or_default()
        );
        assert!(child.try_wait().unwrap().is_none(), "restore ended early");
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid: i64 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(t.pid(), pid);
    // SIGTERM to nsinit goes on to the container, whose exit code comes back;
    // the container is destroyed at the end.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("restore did not end after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(
        status.code(),
        Some(7),
        "{}",
        std::fs::read_to_string(&err_file).unwrap_or_default()
    );
    assert_eq!(t.status(), "gone");
    t.env.assert_no_leftovers(t.id());
}

#[test]
fn checkpoint_and_restore_through_the_library() {
    use nsinit_runtime::criu::{CheckpointOpts, RestoreOpts};
    use nsinit_runtime::{ExitStatus, Factory, Process};

    let t = Ckpt::new("ckpt-api");
    t.start_counter();
    let factory = Factory::new(&t.env.root).unwrap();
    let c = factory.load(t.id()).unwrap();
    let image = t.image("img");
    c.checkpoint(&CheckpointOpts {
        criu_path: Some(criu()),
        ..CheckpointOpts::new(&image)
    })
    .unwrap();
    assert!(matches!(c.state(), Err(nsinit_runtime::Error::NotFound(_))));
    let at_dump = t.assert_count_still();

    // Inherit (the default): the files the container had (here the
    // create command's output files) are opened again.
    let mut init = Process::default();
    let opts = RestoreOpts {
        criu_path: Some(criu()),
        ..RestoreOpts::new(&image)
    };
    let r = factory.restore(t.id(), None, &mut init, &opts).unwrap();
    let pid = init.pid().unwrap();
    assert_eq!(r.state().unwrap().init_process_pid, pid);
    assert_eq!(r.status().unwrap(), nsinit_runtime::Status::Running);
    t.wait_count_above(at_dump);
    // The restored init is our child: it can be waited for.
    r.signal(libc::SIGKILL, false).unwrap();
    assert_eq!(init.wait().unwrap(), ExitStatus::Signaled(libc::SIGKILL));
    r.destroy().unwrap();
    t.env.assert_no_leftovers(t.id());

    // Restoring again under the same id while it runs: refused.
    let mut again = Process::default();
    let r = factory.restore(t.id(), None, &mut again, &opts).unwrap();
    let mut third = Process::default();
    let e = factory
        .restore(t.id(), None, &mut third, &opts)
        .unwrap_err();
    assert!(
        matches!(
            e,
            nsinit_runtime::Error::Criu(nsinit_runtime::criu::CriuError::IdInUse { .. })
        ),
        "{e}"
    );
    r.destroy().unwrap();
    let _ = again.wait();
    t.env.assert_no_leftovers(t.id());
}

/// `ip -o -4 addr show` of the container, through `nsinit exec`.
fn addresses(t: &Ckpt) -> String {
    let (ok, out, err) = t.run(&["exec", "--id", t.id(), "ip", "-o", "-4", "addr", "show"]);
    assert!(ok, "exec ip addr: {err}");
    out
}

fn link_up(name: &str) -> bool {
    std::fs::read_to_string(format!("/sys/class/net/{name}/operstate"))
        .map(|s| s.trim() != "down")
        .unwrap_or(false)
}

#[test]
fn veth_network_comes_back_in_both_network_modes() {
    for (n, mode) in ["config", "dump"].into_iter().enumerate() {
        let t = Ckpt::new(&format!("ckpt-veth{n}"));
        let mut cfg = t.env.config();
        // A /30 of its own per test process and mode (10.201-202.x.y).
        let x = std::process::id() % 250;
        let addr = format!("10.20{}.{x}.2", n + 1);
        let mut veth = nsinit_configs::Network::loopback();
        veth.kind = nsinit_configs::NetworkType::Veth;
        veth.name = "eth0".into();
        veth.address = format!("{addr}/30");
        cfg.networks.push(veth);
        cfg.sysctl
            .insert("net.ipv4.ip_default_ttl".into(), "33".into());
        t.start(&cfg, COUNTER);
        t.wait_count_above(5);
        let host = t.state().unwrap()["external_veths"][0]
            .as_str()
            .unwrap()
            .to_string();
        assert!(addresses(&t).contains(&addr));

        let image = t.image("img");
        let (ok, err) = t.checkpoint(&image, &["--network-state", mode]);
        assert!(ok, "{mode}: checkpoint: {err}");
        let saved: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(image.join("nsinit-checkpoint.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(
            saved["network"],
            if mode == "dump" { "criu" } else { "config" }
        );
        // The host end went with the container.
        let deadline = Instant::now() + Duration::from_secs(5);
        while Path::new("/sys/class/net").join(&host).exists() {
            assert!(
                Instant::now() < deadline,
                "{mode}: {host} outlived the checkpoint"
            );
            std::thread::sleep(Duration::from_millis(20));
        }

        let (ok, err) = t.restore(&image, &[]);
        assert!(ok, "{mode}: restore: {err}");
        t.wait_count_above(t.count());
        let st = t.state().unwrap();
        let host_now = st["external_veths"][0].as_str().unwrap().to_string();
        assert!(link_up(&host_now), "{mode}: host end {host_now} is down");
        let a = addresses(&t);
        assert!(a.contains(&addr) && a.contains("127.0.0.1"), "{mode}: {a}");
        let (ok, out, err) = t.run(&[
            "exec",
            "--id",
            t.id(),
            "cat",
            "/proc/sys/net/ipv4/ip_default_ttl",
        ]);
        assert!(ok && out.trim() == "33", "{mode}: ttl {out} {err}");
        t.delete();
        assert!(
            !Path::new("/sys/class/net").join(&host_now).exists(),
            "{mode}: {host_now} left behind"
        );
        t.env.assert_no_leftovers(t.id());
    }
}
