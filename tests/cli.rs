//! The management commands: create, start, state, list, ps, kill, delete;
//! `nsinit config` piped into `--validate`; an OCI bundle run directly.

mod common;

use std::process::Stdio;

use common::{assert_ok, Env};

fn json(o: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&o.stdout)))
}

#[test]
fn create_start_list_ps_kill_delete() {
    let env = Env::new("cli");
    let cfg = env.write_config(&env.config());
    let (ok, err) = env.create(&cfg, &["sleep", "30"]);
    assert!(ok, "{err}");
    let st = json(&env.cmd().args(["state", &env.id]).output().unwrap());
    assert_eq!(st["status"], "created");
    let pid = st["init_process_pid"].as_i64().unwrap();
    assert!(pid > 0);

    let list = json(&env.cmd().args(["list", "--json"]).output().unwrap());
    assert_eq!(list[0]["id"], env.id.as_str());
    assert_eq!(list[0]["status"], "created");
    let table = assert_ok(&env.cmd().arg("list").output().unwrap());
    assert!(
        table.lines().nth(1).unwrap().starts_with(&env.id),
        "{table}"
    );

    assert_ok(&env.cmd().args(["start", &env.id]).output().unwrap());
    let st = json(&env.cmd().args(["state", &env.id]).output().unwrap());
    assert_eq!(st["status"], "running");
    // start twice: clear error.
    let o = env.cmd().args(["start", &env.id]).output().unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("is running"));

    let ps = assert_ok(&env.cmd().args(["ps", &env.id]).output().unwrap());
    assert!(ps.contains(&format!("{pid} sleep 30")), "{ps}");

    // delete without --force refuses a running container.
    let o = env.cmd().args(["delete", &env.id]).output().unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--force"));

    // `kill ID` alone is runc's SIGTERM (which a pid 1 without a handler
    // ignores); `kill ID SIGNAL` as with runc.
    assert_ok(&env.cmd().args(["kill", &env.id]).output().unwrap());
    assert_eq!(state_of(&env)["status"], "running");
    assert_ok(&env.cmd().args(["kill", &env.id, "KILL"]).output().unwrap());
    let mut stopped = false;
    for _ in 0..300 {
        let st = json(&env.cmd().args(["state", &env.id]).output().unwrap());
        if st["status"] == "stopped" {
            stopped = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(stopped, "the container did not stop after SIGKILL");
    // The original's `kill --id ID SIGNAL`.
    let o = env
        .cmd()
        .args(["kill", "--id", &env.id, "TERM"])
        .output()
        .unwrap();
    assert!(
        !o.status.success(),
        "signalling a stopped container must fail"
    );
    assert_ok(&env.cmd().args(["delete", &env.id]).output().unwrap());
    let o = env.cmd().args(["state", &env.id]).output().unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("does not exist"));
    env.assert_no_leftovers(&env.id);
}

#[test]
fn config_output_validates_and_errors_are_listed() {
    let env = Env::new("cfg");
    let out = env.cmd().arg("config").output().unwrap();
    let cfg = assert_ok(&out);
    let mut v = env
        .cmd()
        .args(["config", "--validate", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(v.stdin.as_mut().unwrap(), cfg.as_bytes()).unwrap();
    assert_ok(&v.wait_with_output().unwrap());
    // Three distinct problems: three lines naming their paths.
    let mut c: serde_json::Value = serde_json::from_str(&cfg).unwrap();
    c["mounts"][2]["destination"] = "relative".into();
    c["cgroups"]["memory"] = 12.into();
    c["hostname"] = "bad_host!".into();
    let f = env.work.join("bad.json");
    std::fs::write(&f, c.to_string()).unwrap();
    let o = env
        .cmd()
        .args(["config", "--validate"])
        .arg(&f)
        .output()
        .unwrap();
    assert!(!o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("mounts[2].destination: ")),
        "{text}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("cgroups.memory: ")),
        "{text}"
    );
    assert!(lines.iter().any(|l| l.starts_with("hostname: ")), "{text}");
}

#[test]
fn an_oci_bundle_runs() {
    let env = Env::with_copy("oci");
    let bundle = env.work.join("bundle");
    std::fs::create_dir(&bundle).unwrap();
    std::fs::rename(&env.rootfs, bundle.join("rootfs")).unwrap();
    // A spec of the shape `runc spec` writes (the fixture of the configs crate).
    let spec = include_str!("../configs/tests/fixtures/runc-spec.json");
    std::fs::write(bundle.join("config.json"), spec).unwrap();
    let o = env
        .cmd()
        .args(["exec", "--id", &env.id, "--bundle"])
        .arg(&bundle)
        .args([
            "--",
            "/bin/sh",
            "-c",
            "echo $$ $(hostname); grep CapEff /proc/self/status",
        ])
        .output()
        .unwrap();
    let out = assert_ok(&o);
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("1 runc"));
    // runc's default capability set: AUDIT_WRITE, KILL, NET_BIND_SERVICE.
    assert_eq!(lines.next(), Some("CapEff:\t0000000020000420"));
    env.assert_no_leftovers(&env.id);

    // With no command the spec's own process runs: `sh`, on a terminal since
    // the spec says `"terminal": true`, reading the piped lines through it.
    let mut child = env
        .cmd()
        .args(["exec", "--id", &env.id, "--config"])
        .arg(bundle.join("config.json"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    std::io::Write::write_all(&mut input, b"echo \"T:$(tty):$$:T\"\nexit 3\n").unwrap();
    drop(input);
    let o = child.wait_with_output().unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(3),
        "{out} {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(out.contains("T:/dev/console:1:T"), "{out}");
    env.assert_no_leftovers(&env.id);
}

fn state_of(env: &Env) -> serde_json::Value {
    json(&env.cmd().args(["state", &env.id]).output().unwrap())
}

#[test]
fn a_dead_or_recycled_init_is_detected_as_stopped() {
    let env = Env::new("stale");
    let cfg = env.write_config(&env.config());
    let (ok, err) = env.create(&cfg, &["sleep", "30"]);
    assert!(ok, "{err}");
    assert_ok(&env.cmd().args(["start", &env.id]).output().unwrap());
    let st = state_of(&env);
    assert_eq!(st["status"], "running");
    // Another process with the recorded pid (the start time tells it apart):
    // rewrite the recorded start time, as if the pid had been reused.
    let link = env.root.join(&env.id).join("state.json");
    let real = env
        .root
        .join(&env.id)
        .join(std::fs::read_link(&link).unwrap());
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&real).unwrap()).unwrap();
    let start = v["init_process_start"].as_u64().unwrap();
    v["init_process_start"] = (start + 1).into();
    std::fs::write(&real, v.to_string()).unwrap();
    assert_eq!(state_of(&env)["status"], "stopped");
    let o = env
        .cmd()
        .args(["kill", "-s", "KILL", &env.id])
        .output()
        .unwrap();
    assert!(!o.status.success(), "a recycled pid must not be signalled");
    v["init_process_start"] = start.into();
    std::fs::write(&real, v.to_string()).unwrap();
    assert_eq!(state_of(&env)["status"], "running");
    // The init dies behind the runtime's back.
    let pid = v["init_process_pid"].as_i64().unwrap() as i32;
    // SAFETY: kill with plain integers on the container's init.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while state_of(&env)["status"] != "stopped" {
        assert!(
            std::time::Instant::now() < deadline,
            "never noticed the dead init"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_ok(&env.cmd().args(["delete", &env.id]).output().unwrap());
    env.assert_no_leftovers(&env.id);
}

#[test]
fn concurrent_commands_on_one_container_keep_its_state_whole() {
    let env = Env::new("locks");
    let cfg = env.write_config(&env.config());
    let (ok, err) = env.create(&cfg, &["sleep", "30"]);
    assert!(ok, "{err}");
    assert_ok(&env.cmd().args(["start", &env.id]).output().unwrap());
    // Writers and readers from separate processes at once.
    let children: Vec<_> = (0..12)
        .map(|i| {
            let mut c = env.cmd();
            if i % 3 == 0 {
                c.args(["state", &env.id]);
            } else {
                c.args(["update", &env.id, "--pids-limit", &(100 + i).to_string()]);
            }
            c.stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let o = child.wait_with_output().unwrap();
        assert_ok(&o);
        if !o.stdout.is_empty() {
            // Every reader saw a whole document.
            json(&o);
        }
    }
    let st = state_of(&env);
    let recorded = st["config"]["cgroups"]["pids_limit"].as_i64().unwrap();
    let file =
        std::fs::read_to_string(format!("/sys/fs/cgroup/pids/nsinit/{}/pids.max", env.id)).unwrap();
    assert_eq!(
        file.trim(),
        recorded.to_string(),
        "state and cgroup disagree"
    );
    // One generation file and the link, nothing half-written.
    let mut names: Vec<String> = std::fs::read_dir(env.root.join(&env.id))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("state") || n.starts_with('.'))
        .collect();
    names.sort();
    assert_eq!(names.len(), 2, "{names:?}");
    assert_ok(
        &env.cmd()
            .args(["delete", "--force", &env.id])
            .output()
            .unwrap(),
    );
}
