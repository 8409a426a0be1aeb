//! The library API used directly, the way an engine embeds it: Factory /
//! Container / Process, from several threads, and on containers made by
//! another process (the `nsinit` command line).

mod common;

use std::os::fd::OwnedFd;
use std::sync::Arc;

use common::{assert_ok, nsinit_bin, Env};
use nsinit_runtime::{Error, ExitStatus, Factory, Process, Status, Stdio};

fn factory(env: &Env) -> Factory {
    Factory::new(&env.root)
        .unwrap()
        .with_init_binary(nsinit_bin())
}

/// A pipe whose write end goes to the container's stdout.
fn pipe() -> (std::fs::File, OwnedFd) {
    let (r, w) = nix::unistd::pipe().unwrap();
    (std::fs::File::from(r), w)
}

#[test]
fn run_wait_destroy_through_the_api() {
    let env = Env::new("api");
    let f = factory(&env);
    let c = f.create(&env.id, env.config()).unwrap();
    assert_eq!(c.status().unwrap(), Status::Stopped);
    let (mut r, w) = pipe();
    let mut p = Process::new(["/bin/sh", "-c", "echo $$ $(hostname); exit 5"]);
    p.stdout = Stdio::Fd(w);
    c.run(&mut p).unwrap();
    assert!(p.pid().unwrap() > 0);
    assert_eq!(p.wait().unwrap(), ExitStatus::Exited(5));
    let mut out = String::new();
    std::io::Read::read_to_string(&mut r, &mut out).unwrap();
    assert_eq!(out, "1 nsinit-test\n");
    c.destroy().unwrap();
    assert!(matches!(f.load(&env.id), Err(Error::NotFound(_))));
    env.assert_no_leftovers(&env.id);
}

#[test]
fn create_then_exec_and_join() {
    let env = Env::new("api2");
    let f = factory(&env);
    let c = f.create(&env.id, env.config()).unwrap();
    let mut init = Process::new(["sleep", "30"]);
    init.stdin = Stdio::Null;
    c.start(&mut init).unwrap();
    assert_eq!(c.status().unwrap(), Status::Created);
    c.exec().unwrap();
    assert_eq!(c.status().unwrap(), Status::Running);
    // A second process joins: same pid namespace, pid 1 is sleep.
    let (mut r, w) = pipe();
    let mut p = Process::new(["/bin/sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '"]);
    p.stdout = Stdio::Fd(w);
    c.start(&mut p).unwrap();
    assert_eq!(p.wait().unwrap(), ExitStatus::Exited(0));
    let mut out = String::new();
    std::io::Read::read_to_string(&mut r, &mut out).unwrap();
    assert_eq!(out.trim(), "sleep 30");
    assert_eq!(c.status().unwrap(), Status::Running);
    assert_eq!(c.processes().unwrap(), vec![init.pid().unwrap()]);
    c.signal(libc::SIGKILL, false).unwrap();
    assert_eq!(init.wait().unwrap(), ExitStatus::Signaled(libc::SIGKILL));
    assert_eq!(c.status().unwrap(), Status::Stopped);
    c.destroy().unwrap();
    env.assert_no_leftovers(&env.id);
}

#[test]
fn one_container_shared_between_threads() {
    let env = Env::new("threads");
    let f = factory(&env);
    let c = f.create(&env.id, env.config()).unwrap();
    let mut init = Process::new(["sleep", "30"]);
    init.stdin = Stdio::Null;
    c.run(&mut init).unwrap();
    let c = Arc::new(c);
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let c = Arc::clone(&c);
            std::thread::spawn(move || {
                for _ in 0..20 {
                    assert_eq!(c.status().unwrap(), Status::Running);
                    let st = c.state().unwrap();
                    assert!(st.init_process_pid > 0);
                    assert_eq!(c.processes().unwrap().len(), 1, "thread {i}");
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    c.destroy().unwrap();
    assert_eq!(init.wait().unwrap(), ExitStatus::Signaled(libc::SIGKILL));
    env.assert_no_leftovers(&env.id);
}

#[test]
fn racing_creates_of_one_id_make_one_container() {
    let env = Env::new("race");
    let f = Arc::new(factory(&env));
    let cfg = env.config();
    let id = env.id.clone();
    let results: Vec<_> = (0..6)
        .map(|_| {
            let (f, cfg, id) = (Arc::clone(&f), cfg.clone(), id.clone());
            std::thread::spawn(move || f.create(&id, cfg).map(|_| ()))
        })
        .map(|h| h.join().unwrap())
        .collect();
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    assert!(results
        .iter()
        .filter(|r| r.is_err())
        .all(|r| matches!(r, Err(Error::Exists(_)))));
    f.load(&env.id).unwrap().destroy().unwrap();
}

#[test]
fn a_container_made_by_another_process_is_manageable() {
    let env = Env::new("foreign");
    let cfg = env.write_config(&env.config());
    let (ok, err) = env.create(&cfg, &["sleep", "30"]);
    assert!(ok, "{err}");
    assert_ok(&env.cmd().args(["start", &env.id]).output().unwrap());
    let c = factory(&env).load(&env.id).unwrap();
    assert_eq!(c.status().unwrap(), Status::Running);
    let pid = c.state().unwrap().init_process_pid;
    assert_eq!(c.processes().unwrap(), vec![pid]);
    c.pause().unwrap();
    assert_eq!(c.status().unwrap(), Status::Paused);
    c.resume().unwrap();
    c.destroy().unwrap();
    // Gone, or a zombie waiting for the host's init to reap it.
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = stat
        .rsplit(')')
        .next()
        .and_then(|r| r.trim().chars().next());
    assert!(
        matches!(state, None | Some('Z')),
        "init still running: {stat}"
    );
    env.assert_no_leftovers(&env.id);
}

#[test]
fn ids_are_checked() {
    let env = Env::new("ids");
    let f = factory(&env);
    for bad in ["", "a/b", "..", "x y", &"a".repeat(1025)] {
        assert!(
            matches!(f.create(bad, env.config()), Err(Error::InvalidId { .. })),
            "{bad:?} accepted"
        );
    }
    assert!(!env.root.join("a").exists());
}
