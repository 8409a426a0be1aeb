//! The runtime binary cannot be overwritten through the init's
//! `/proc/<pid>/exe` (CVE-2019-5736), and no fd of the runtime leaks into the
//! container (CVE-2024-21626 class).

mod common;

use common::{assert_ok, nsinit_bin, Env};

fn digest(path: &std::path::Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

fn init_pid(env: &Env) -> i32 {
    let o = env.cmd().args(["state", &env.id]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    v["init_process_pid"].as_i64().unwrap() as i32
}

#[test]
fn runtime_binary_cannot_be_overwritten_through_proc_exe() {
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    let env = Env::with_copy("exeguard");
    // A private copy of the binary, so that no other test executes this inode
    // (a running executable is also protected by ETXTBSY, which would hide
    // what this test is about).
    let bin = env.work.join("nsinit");
    std::fs::copy(nsinit_bin(), &bin).unwrap();
    let before = digest(&bin);
    let cfg = env.write_config(&env.config());
    let run = |args: &[&str]| {
        std::process::Command::new(&bin)
            .arg("--root")
            .arg(&env.root)
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    };
    // A created container: its init still runs the runtime binary, waiting.
    let out = env.work.join("create.out");
    let st = std::process::Command::new(&bin)
        .arg("--root")
        .arg(&env.root)
        .args(["create", "--id", &env.id, "--config"])
        .arg(&cfg)
        .args(["--", "sleep", "30"])
        .stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&out).unwrap())
        .status()
        .unwrap();
    assert!(st.success(), "{}", std::fs::read_to_string(&out).unwrap());
    let pid = init_pid(&env);
    let exe = format!("/proc/{pid}/exe");
    let (a, b) = (
        std::fs::metadata(&exe).unwrap(),
        std::fs::metadata(&bin).unwrap(),
    );
    assert_eq!(
        (a.dev(), a.ino()),
        (b.dev(), b.ino()),
        "the init does not run the binary"
    );
    // The CVE-2019-5736 move: hold the init's exe by an O_PATH fd ...
    let held = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH)
        .open(&exe)
        .unwrap();
    // ... let the init exec the user program (the binary is no longer being
    // executed, so ETXTBSY no longer protects it) ...
    assert_ok(&run(&["start", &env.id]));
    let mut ok = false;
    for _ in 0..200 {
        if std::fs::read_link(&exe)
            .map(|p| p.ends_with("busybox"))
            .unwrap_or(false)
        {
            ok = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(ok, "the init did not exec its program");
    // ... then reopen it for writing: the binary sits on a read-only mount.
    let via = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&held));
    for append in [false, true] {
        let err = std::fs::OpenOptions::new()
            .write(!append)
            .append(append)
            .open(&via)
            .expect_err("reopening the init's exe for writing must fail");
        assert_eq!(err.raw_os_error(), Some(libc::EROFS), "{err}");
    }
    // A process inside the container cannot write through /proc/1/exe either.
    let o = run(&[
        "exec",
        "--id",
        &env.id,
        "--",
        "/bin/sh",
        "-c",
        "echo pwned >> /proc/1/exe && echo WROTE",
    ]);
    assert!(!String::from_utf8_lossy(&o.stdout).contains("WROTE"));
    assert_ok(&run(&["delete", "--force", &env.id]));
    assert_eq!(digest(&bin), before, "the runtime binary changed");
}

#[test]
fn no_runtime_fd_leaks_into_the_container() {
    let env = Env::new("fds");
    let (out, err, code) = env.sh(&env.config(), "ls /proc/self/fd | tr '\\n' ' '");
    assert_eq!(code, 0, "{err}");
    // 0-2 are stdio; 3 is the directory ls itself opened.
    assert_eq!(out.trim(), "0 1 2 3", "unexpected fds in the container");
}

#[test]
fn no_runtime_fd_leaks_into_a_joined_process() {
    let env = Env::with_copy("fdsjoin");
    let cfg = env.write_config(&env.config());
    let (ok, err) = env.create(&cfg, &["sleep", "30"]);
    assert!(ok, "{err}");
    assert_ok(&env.cmd().args(["start", &env.id]).output().unwrap());
    let o = env
        .cmd()
        .args([
            "exec",
            "--id",
            &env.id,
            "--",
            "/bin/sh",
            "-c",
            "ls /proc/self/fd | tr '\\n' ' '; echo; readlink /proc/self/cwd",
        ])
        .output()
        .unwrap();
    let out = assert_ok(&o);
    let mut lines = out.lines();
    assert_eq!(lines.next().map(str::trim), Some("0 1 2 3"), "{out}");
    assert_eq!(lines.next(), Some("/"), "{out}");
    assert_ok(
        &env.cmd()
            .args(["delete", "--force", &env.id])
            .output()
            .unwrap(),
    );
}

#[test]
fn symlinks_in_the_image_cannot_redirect_mounts_to_the_host() {
    let env = Env::with_copy("symlink");
    // A directory on the host, and a symlink in the image pointing at its
    // absolute path.
    let host_dir = env.work.join("host-target");
    std::fs::create_dir(&host_dir).unwrap();
    std::os::unix::fs::symlink(&host_dir, env.rootfs.join("evil")).unwrap();
    let mut c = env.config();
    c.mounts.push(nsinit_configs::Mount {
        source: "tmpfs".into(),
        destination: "/evil/sub".into(),
        device: "tmpfs".into(),
        ..Default::default()
    });
    let (out, err, code) = env.sh(&c, "touch /evil/sub/x && echo inside-ok");
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), "inside-ok");
    // The host directory got nothing: the path was resolved inside the rootfs.
    assert_eq!(
        std::fs::read_dir(&host_dir).unwrap().count(),
        0,
        "the mount escaped to the host"
    );
    let inside = env
        .rootfs
        .join(host_dir.strip_prefix("/").unwrap())
        .join("sub");
    assert!(
        inside.is_dir(),
        "expected the directory inside the rootfs at {}",
        inside.display()
    );
}
