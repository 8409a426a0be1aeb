//! Bad input: one clear line on stderr, a non-zero exit, nothing left behind
//! (no state dir, cgroup, mount or process).

mod common;

use common::{assert_clear_error, assert_no_process_of, assert_ok, Env};
use nsinit_configs::Mount;

#[test]
fn missing_rootfs() {
    let env = Env::new("norootfs");
    let mut c = env.config();
    c.rootfs = "/nonexistent/rootfs".into();
    let o = env.exec(&c, &["true"]);
    assert_clear_error(&o, "/nonexistent/rootfs");
    env.assert_no_leftovers(&env.id);
}

#[test]
fn command_not_found() {
    let env = Env::with_copy("nocmd");
    let o = env.exec(&env.config(), &["no-such-command"]);
    assert_clear_error(&o, "executable file not found");
    env.assert_no_leftovers(&env.id);
    assert_no_process_of(&env);
    let o = env.exec(&env.config(), &["/bin/nope"]);
    assert_clear_error(&o, "/bin/nope");
    env.assert_no_leftovers(&env.id);
}

#[test]
fn invalid_mount() {
    let env = Env::with_copy("badmount");
    let mut c = env.config();
    c.mounts.push(Mount {
        source: "/nonexistent/source".into(),
        destination: "/mnt/x".into(),
        device: "bind".into(),
        ..Mount::default()
    });
    let o = env.exec(&c, &["true"]);
    assert_clear_error(&o, "/nonexistent/source");
    env.assert_no_leftovers(&env.id);
    assert_no_process_of(&env);

    let mut c = env.config();
    c.mounts.push(Mount {
        source: "x".into(),
        destination: "/mnt/y".into(),
        device: "no-such-fs".into(),
        ..Mount::default()
    });
    let o = env.exec(&c, &["true"]);
    assert_clear_error(&o, "mount /mnt/y");
    env.assert_no_leftovers(&env.id);
}

#[test]
fn unknown_user() {
    let env = Env::with_copy("nouser");
    let cfg = env.write_config(&env.config());
    let o = env
        .cmd()
        .args(["exec", "--user", "ghost", "--id", &env.id, "--config"])
        .arg(&cfg)
        .args(["--", "true"])
        .output()
        .unwrap();
    assert_clear_error(&o, "unable to find user \"ghost\"");
    env.assert_no_leftovers(&env.id);
    assert_no_process_of(&env);
}

#[test]
fn duplicate_id() {
    let env = Env::with_copy("dup");
    let cfg = env.write_config(&env.config());
    let (ok, err) = env.create(&cfg, &["sleep", "30"]);
    assert!(ok, "{err}");
    let (ok, err) = env.create(&cfg, &["sleep", "30"]);
    assert!(!ok);
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        lines[0].starts_with("nsinit: ") && lines[0].contains("already exists"),
        "{err}"
    );
    // The first container is untouched.
    let st = env.cmd().args(["state", &env.id]).output().unwrap();
    assert!(String::from_utf8_lossy(&st.stdout).contains("\"status\": \"created\""));
    assert_ok(
        &env.cmd()
            .args(["delete", "--force", &env.id])
            .output()
            .unwrap(),
    );
    env.assert_no_leftovers(&env.id);
    assert_no_process_of(&env);
}

#[test]
fn cgroup_value_refused_by_the_kernel() {
    let env = Env::with_copy("badcg");
    let mut c = env.config();
    c.cgroups.cpuset_cpus = "99".into();
    let o = env.exec(&c, &["true"]);
    assert_clear_error(&o, "cpuset.cpus");
    env.assert_no_leftovers(&env.id);
    assert_no_process_of(&env);
}

#[test]
fn invalid_config_lists_problems() {
    let env = Env::new("badcfg");
    let mut c = env.config();
    c.mounts[0].destination = "relative".into();
    let o = env.exec(&c, &["true"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("mounts[0].destination"), "{err}");
    env.assert_no_leftovers(&env.id);
}
