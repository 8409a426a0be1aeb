//! Seccomp filters in real containers: errno rules, custom errnos, argument
//! conditions, kill actions, joined processes, unknown system call names, a
//! non-root user without no_new_privileges, a Docker-shaped profile (also
//! through an OCI bundle), and the refusals (SCMP_ACT_NOTIFY, no execve).

mod common;

use std::fs::File;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{assert_clear_error, assert_no_process_of, assert_ok, Env};
use nsinit_configs::{Config, IdMap, Mount, Namespace, NamespaceType, Seccomp};
use serde_json::json;

/// A filter from its container.json form.
fn seccomp(v: serde_json::Value) -> Seccomp {
    serde_json::from_value(v).unwrap()
}

/// Everything allowed except mkdir / mkdirat, which fail with EPERM.
fn no_mkdir() -> Seccomp {
    seccomp(json!({
        "default_action": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]
    }))
}

/// The env's config with a private tmpfs on /tmp (the shared rootfs stays
/// untouched) and the filter.
fn config_with(env: &Env, filter: Option<Seccomp>) -> Config {
    let mut c = env.config();
    c.mounts.push(Mount {
        source: "tmpfs".into(),
        destination: "/tmp".into(),
        device: "tmpfs".into(),
        ..Mount::default()
    });
    c.seccomp = filter;
    c
}

fn text(o: &Output) -> (String, String, i32) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
        o.status.code().unwrap_or(-1),
    )
}

/// `nsinit exec --user USER` of a shell script.
fn sh_as(env: &Env, c: &Config, user: &str, script: &str) -> (String, String, i32) {
    let cfg = env.write_config(c);
    let o = env
        .cmd()
        .args(["exec", "--user", user, "--id", &env.id, "--config"])
        .arg(cfg)
        .args(["--", "/bin/sh", "-c", script])
        .output()
        .unwrap();
    text(&o)
}

/// The `Seccomp:` and `NoNewPrivs:` values of /proc/self/status in `out`.
fn status_field<'a>(out: &'a str, key: &str) -> Option<&'a str> {
    out.lines()
        .find_map(|l| l.strip_prefix(key))
        .map(|v| v.trim())
}

#[test]
fn mkdir_fails_with_eperm_and_everything_else_works() {
    let env = Env::new("sc-mkdir");
    let script = "echo ok; mkdir /tmp/x; echo rc=$?; grep ^Seccomp: /proc/self/status";

    // Without the filter mkdir works.
    let (out, err, code) = env.sh(&config_with(&env, None), script);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("rc=0"), "{out}");
    assert_eq!(status_field(&out, "Seccomp:"), Some("0"), "{out}");

    let (out, err, code) = env.sh(&config_with(&env, Some(no_mkdir())), script);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("ok\n"), "{out}");
    assert!(out.contains("rc=1"), "{out}");
    assert!(
        err.contains("mkdir: can't create directory '/tmp/x': Operation not permitted"),
        "{err}"
    );
    assert_eq!(status_field(&out, "Seccomp:"), Some("2"), "{out}");
    env.assert_no_leftovers(&env.id);
}

#[test]
fn custom_errno_values_reach_the_program() {
    let env = Env::new("sc-errno");
    let c = config_with(
        &env,
        Some(seccomp(json!({
            "default_action": "SCMP_ACT_ALLOW",
            "syscalls": [
                {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errno_ret": libc::ENOSYS},
                {"names": ["unlink", "unlinkat"], "action": "SCMP_ACT_ERRNO", "errno_ret": libc::EXDEV}
            ]
        }))),
    );
    let (out, err, code) = env.sh(
        &c,
        "mkdir /tmp/d; echo mkdir=$?; echo x > /tmp/f; rm /tmp/f; echo rm=$?; cat /tmp/f",
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "mkdir=1\nrm=1\nx\n");
    assert!(
        err.contains("can't create directory '/tmp/d': Function not implemented"),
        "{err}"
    );
    assert!(
        err.contains("can't remove '/tmp/f': Invalid cross-device link"),
        "{err}"
    );
}

#[test]
fn argument_condition_denies_af_inet_sockets_only() {
    let env = Env::new("sc-args");
    let c = config_with(
        &env,
        Some(seccomp(json!({
            "default_action": "SCMP_ACT_ALLOW",
            "syscalls": [{
                "names": ["socket"],
                "action": "SCMP_ACT_ERRNO",
                "errno_ret": libc::EACCES,
                "args": [{"index": 0, "value": libc::AF_INET, "op": "SCMP_CMP_EQ"}]
            }]
        }))),
    );
    // AF_UNIX: syslogd listens on /dev/log, logger's message arrives.
    // AF_INET: nc cannot even create its socket.
    let script = "
        syslogd -n -O /tmp/messages &
        i=0; while [ ! -S /dev/log ] && [ $i -lt 250 ]; do usleep 20000; i=$((i+1)); done
        logger unix-sockets-work
        i=0; while ! grep -q unix-sockets-work /tmp/messages 2>/dev/null && [ $i -lt 250 ]; do usleep 20000; i=$((i+1)); done
        grep -c unix-sockets-work /tmp/messages
        nc 127.0.0.1 9 </dev/null; echo nc=$?
        kill $!
    ";
    let (out, err, code) = env.sh(&c, script);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.starts_with("1\n"),
        "AF_UNIX logging failed: {out}\n{err}"
    );
    assert!(out.contains("nc=1"), "{out}");
    assert!(err.contains("Permission denied"), "{err}");
    // Without the filter nc gets as far as connecting (refused: nothing listens).
    let (out, err, _) = env.sh(
        &config_with(&env, None),
        "nc 127.0.0.1 9 </dev/null; echo nc=$?",
    );
    assert!(out.contains("nc=1"), "{out}");
    assert!(err.contains("Connection refused"), "{err}");
}

#[test]
fn kill_process_action_kills_with_sigsys() {
    let env = Env::new("sc-kill");
    // sync(2): busybox calls it only for the sync applet (not uname, which its
    // static glibc calls at every start).
    let c = config_with(
        &env,
        Some(seccomp(json!({
            "default_action": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["sync"], "action": "SCMP_ACT_KILL_PROCESS"}]
        }))),
    );
    let (out, err, code) = text(&env.exec(&c, &["sync"]));
    assert_eq!(code, 128 + libc::SIGSYS, "{out}\n{err}");
    // A shell that runs it as a child survives and sees the signal.
    let (out, err, code) = env.sh(&c, "echo before; sync; echo status=$?");
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, format!("before\nstatus={}\n", 128 + libc::SIGSYS));
    env.assert_no_leftovers(&env.id);
}

#[test]
fn unknown_syscall_names_are_skipped() {
    let env = Env::new("sc-unknown");
    let c = config_with(
        &env,
        Some(seccomp(json!({
            "default_action": "SCMP_ACT_ALLOW",
            "syscalls": [{
                "names": ["no_such_syscall_at_all", "mkdir", "mkdirat", "another_made_up_one"],
                "action": "SCMP_ACT_ERRNO"
            }]
        }))),
    );
    let (out, err, code) = env.sh(&c, "echo ok; mkdir /tmp/x; echo rc=$?");
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "ok\nrc=1\n");
    assert!(err.contains("Operation not permitted"), "{err}");
}

/// The filter needs CAP_SYS_ADMIN or no_new_privileges to load; user 1000
/// has neither in the end, and the filter must still be there — without
/// no_new_privileges being set behind the user's back.
#[test]
fn non_root_user_without_no_new_privileges_gets_the_filter() {
    let env = Env::new("sc-user");
    let script = "id -u; grep -E '^(Seccomp|NoNewPrivs|CapEff):' /proc/self/status; \
                  mkdir /tmp/x; echo rc=$?";
    // Control: user 1000 may create /tmp/x (tmpfs, mode 1777).
    let (out, err, code) = sh_as(&env, &config_with(&env, None), "1000", script);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("rc=0"), "{out}\n{err}");

    let c = config_with(&env, Some(no_mkdir()));
    assert!(!c.no_new_privileges);
    let (out, err, code) = sh_as(&env, &c, "1000", script);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("1000\n"), "{out}");
    assert_eq!(status_field(&out, "Seccomp:"), Some("2"), "{out}");
    assert_eq!(status_field(&out, "NoNewPrivs:"), Some("0"), "{out}");
    assert_eq!(
        status_field(&out, "CapEff:"),
        Some("0000000000000000"),
        "{out}"
    );
    assert!(out.contains("rc=1"), "{out}");
    assert!(err.contains("Operation not permitted"), "{err}");

    // With no_new_privileges the filter is loaded right before exec.
    let mut c = c;
    c.no_new_privileges = true;
    let (out, err, code) = sh_as(&env, &c, "1000", script);
    assert_eq!(code, 0, "{err}");
    assert_eq!(status_field(&out, "Seccomp:"), Some("2"), "{out}");
    assert_eq!(status_field(&out, "NoNewPrivs:"), Some("1"), "{out}");
    assert!(out.contains("rc=1"), "{out}");
    env.assert_no_leftovers(&env.id);
}

/// In a user namespace the init holds CAP_SYS_ADMIN of that namespace only,
/// which is what loading a filter asks for.
#[test]
fn user_namespace_container_gets_the_filter() {
    let env = Env::new("sc-userns");
    let mut c = config_with(&env, Some(no_mkdir()));
    c.namespaces.push(Namespace::new(NamespaceType::User));
    c.uid_mappings = vec![IdMap {
        container_id: 0,
        host_id: 200000,
        size: 65536,
    }];
    c.gid_mappings = vec![IdMap {
        container_id: 0,
        host_id: 200000,
        size: 65536,
    }];
    let script =
        "cat /proc/self/uid_map; grep ^Seccomp: /proc/self/status; mkdir /tmp/x; echo rc=$?";
    let (out, err, code) = env.sh(&c, script);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("200000"), "{out}");
    assert_eq!(status_field(&out, "Seccomp:"), Some("2"), "{out}");
    assert!(out.contains("rc=1"), "{out}");
    assert!(err.contains("Operation not permitted"), "{err}");
    let (out, err, code) = sh_as(&env, &c, "1000", script);
    assert_eq!(code, 0, "{err}");
    assert_eq!(status_field(&out, "Seccomp:"), Some("2"), "{out}");
    assert!(out.contains("rc=1"), "{out}");
    assert!(err.contains("Operation not permitted"), "{err}");
    env.assert_no_leftovers(&env.id);
}

/// A background `nsinit exec` of a long-running container; killed (by pid)
/// and reaped when dropped.
struct Running {
    child: Child,
    root: std::path::PathBuf,
    id: String,
}

impl Running {
    fn start(env: &Env, c: &Config, args: &[&str]) -> Running {
        let cfg = env.write_config(c);
        let child = env
            .cmd()
            .args(["exec", "--id", &env.id, "--config"])
            .arg(cfg)
            .arg("--")
            .args(args)
            .stdout(File::create(env.work.join("bg.out")).unwrap())
            .stderr(File::create(env.work.join("bg.err")).unwrap())
            .spawn()
            .unwrap();
        let r = Running {
            child,
            root: env.root.clone(),
            id: env.id.clone(),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let st = env
                .cmd()
                .args(["state", &env.id])
                .stderr(Stdio::null())
                .output()
                .unwrap();
            if st.status.success() {
                let v: serde_json::Value = serde_json::from_slice(&st.stdout).unwrap();
                if v["init_process_pid"].as_i64().unwrap_or(0) > 0 {
                    return r;
                }
            }
            assert!(
                Instant::now() < deadline,
                "container did not start: {}",
                std::fs::read_to_string(env.work.join("bg.err")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // SIGKILL to the container's init (a pid 1 ignores SIGTERM without a
        // handler); the nsinit exec then destroys the container and exits.
        let _ = Command::new(common::nsinit_bin())
            .arg("--root")
            .arg(&self.root)
            .args(["kill", "--signal", "KILL", &self.id])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.child.wait();
    }
}

#[test]
fn joined_processes_get_the_filter_too() {
    let env = Env::new("sc-join");
    let c = config_with(&env, Some(no_mkdir()));
    let bg = Running::start(&env, &c, &["sleep", "60"]);
    let o = env
        .cmd()
        .args(["exec", "--id", &env.id, "--"])
        .args([
            "/bin/sh",
            "-c",
            "grep ^Seccomp: /proc/self/status /proc/1/status; mkdir /tmp/joined; echo rc=$?",
        ])
        .output()
        .unwrap();
    let (out, err, code) = text(&o);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("/proc/self/status:Seccomp:\t2"), "{out}");
    assert!(out.contains("/proc/1/status:Seccomp:\t2"), "{out}");
    assert!(out.contains("rc=1"), "{out}");
    assert!(err.contains("Operation not permitted"), "{err}");
    // As another user, too.
    let o = env
        .cmd()
        .args(["exec", "--user", "1000", "--id", &env.id, "--"])
        .args(["/bin/sh", "-c", "mkdir /tmp/joined2; echo rc=$?"])
        .output()
        .unwrap();
    let (out, err, _) = text(&o);
    assert_eq!(out, "rc=1\n", "{err}");
    drop(bg);
    env.assert_no_leftovers(&env.id);
}

#[test]
fn notify_is_refused_with_one_clear_line_and_nothing_left() {
    let env = Env::new("sc-notify");
    let c = config_with(
        &env,
        Some(seccomp(json!({
            "default_action": "SCMP_ACT_ALLOW",
            "syscalls": [
                {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"},
                {"names": ["getppid"], "action": "SCMP_ACT_NOTIFY"}
            ]
        }))),
    );
    let o = env.exec(&c, &["true"]);
    let err = assert_clear_error(&o, "SCMP_ACT_NOTIFY");
    assert!(err.contains("syscalls[1]"), "{err}");
    assert!(err.contains("notify listener"), "{err}");
    env.assert_no_leftovers(&env.id);
    assert_no_process_of(&env);
}

#[test]
fn a_filter_that_forbids_execve_is_refused() {
    let env = Env::new("sc-noexec");
    let c = config_with(
        &env,
        Some(seccomp(json!({
            "default_action": "SCMP_ACT_ERRNO",
            "syscalls": [{"names": ["read", "write", "exit_group"], "action": "SCMP_ACT_ALLOW"}]
        }))),
    );
    let o = env.exec(&c, &["true"]);
    assert_clear_error(&o, "does not allow execve");
    env.assert_no_leftovers(&env.id);
}

/// System calls of x86-64 a container may make, in the spirit of Docker's
/// default profile: no mount, module, kexec, key, clock-setting, namespace,
/// tracing or BPF calls; `chroot` left out too so the tests can see a
/// refusal a root shell would otherwise get through. `clone`, `clone3` and
/// `personality` get their own rules.
const ALLOWED: &str = "
    accept accept4 access alarm arch_prctl bind brk capget capset chdir chmod chown
    clock_getres clock_gettime clock_nanosleep close close_range connect copy_file_range
    creat dup dup2 dup3 epoll_create epoll_create1 epoll_ctl epoll_pwait epoll_pwait2
    epoll_wait eventfd eventfd2 execve execveat exit exit_group faccessat faccessat2
    fadvise64 fallocate fanotify_mark fchdir fchmod fchmodat fchown fchownat fcntl
    fdatasync fgetxattr flistxattr flock fork fremovexattr fsetxattr fstat fstatfs
    fsync ftruncate futex futex_waitv futimesat getcpu getcwd getdents getdents64
    getegid geteuid getgid getgroups getitimer getpeername getpgid getpgrp getpid
    getppid getpriority getrandom getresgid getresuid getrlimit get_robust_list
    getrusage getsid getsockname getsockopt get_thread_area gettid gettimeofday getuid
    getxattr inotify_add_watch inotify_init inotify_init1 inotify_rm_watch io_cancel
    ioctl io_destroy io_getevents io_pgetevents ioprio_get ioprio_set io_setup io_submit
    kill landlock_add_rule landlock_create_ruleset landlock_restrict_self lchown
    lgetxattr link linkat listen listxattr llistxattr lremovexattr lseek lsetxattr
    lstat madvise membarrier memfd_create mincore mkdir mkdirat mknod mknodat mlock
    mlock2 mlockall mmap mprotect mq_getsetattr mq_notify mq_open mq_timedreceive
    mq_timedsend mq_unlink mremap msgctl msgget msgrcv msgsnd msync munlock munlockall
    munmap nanosleep newfstatat open openat openat2 pause pidfd_open pidfd_send_signal
    pipe pipe2 pkey_alloc pkey_free pkey_mprotect poll ppoll prctl pread64 preadv
    preadv2 prlimit64 process_mrelease pselect6 pwrite64 pwritev pwritev2 read
    readahead readlink readlinkat readv recvfrom recvmmsg recvmsg remap_file_pages
    removexattr rename renameat renameat2 restart_syscall rmdir rseq rt_sigaction
    rt_sigpending rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend
    rt_sigtimedwait rt_tgsigqueueinfo sched_getaffinity sched_getattr sched_getparam
    sched_get_priority_max sched_get_priority_min sched_getscheduler
    sched_rr_get_interval sched_setaffinity sched_setattr sched_setparam
    sched_setscheduler sched_yield seccomp select semctl semget semop semtimedop
    sendfile sendmmsg sendmsg sendto setfsgid setfsuid setgid setgroups setitimer
    setpgid setpriority setregid setresgid setresuid setreuid setrlimit
    set_robust_list setsid setsockopt set_thread_area set_tid_address setuid setxattr
    shmat shmctl shmdt shmget shutdown sigaltstack signalfd signalfd4 socket socketpair
    splice stat statfs statx symlink symlinkat sync sync_file_range syncfs sysinfo
    tee tgkill time timer_create timer_delete timer_getoverrun timer_gettime
    timer_settime timerfd_create timerfd_gettime timerfd_settime times tkill truncate
    umask uname unlink unlinkat utime utimensat utimes vfork vmsplice wait4 waitid
    write writev
    _llseek _newselect chown32 fadvise64_64 fchown32 fcntl64 fstat64 fstatat64
    fstatfs64 ftruncate64 getegid32 geteuid32 getgid32 getgroups32 getresgid32
    getresuid32 getuid32 ipc lchown32 lstat64 mmap2 recv send sendfile64 setfsgid32
    setfsuid32 setgid32 setgroups32 setregid32 setresgid32 setresuid32 setreuid32
    setuid32 sigreturn socketcall stat64 statfs64 truncate64 ugetrlimit waitpid
";

/// A profile of the shape Docker and podman pass: default ERRNO, x86-64 plus
/// its 32-bit ABIs, a long allow list, argument rules.
fn docker_like() -> Seccomp {
    let names: Vec<&str> = ALLOWED.split_whitespace().collect();
    assert!(names.len() > 300, "{}", names.len());
    seccomp(json!({
        "default_action": "SCMP_ACT_ERRNO",
        "default_errno_ret": libc::EPERM,
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [
            {"names": names, "action": "SCMP_ACT_ALLOW"},
            {"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [
                {"index": 0, "value": 0, "op": "SCMP_CMP_EQ"},
                {"index": 0, "value": 8, "op": "SCMP_CMP_EQ"},
                {"index": 0, "value": 131072, "op": "SCMP_CMP_EQ"},
                {"index": 0, "value": 131080, "op": "SCMP_CMP_EQ"},
                {"index": 0, "value": 4294967295u64, "op": "SCMP_CMP_EQ"}
            ]},
            {"names": ["clone"], "action": "SCMP_ACT_ALLOW", "args": [
                {"index": 0, "value": 2114060288, "value_two": 0, "op": "SCMP_CMP_MASKED_EQ"}
            ]},
            {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errno_ret": libc::ENOSYS}
        ]
    }))
}

const DOCKER_SCRIPT: &str =
    "echo ok; mkdir -p /tmp/d && echo made; ls / >/dev/null && echo listed; \
     (echo sub) | cat; chroot / true; echo chroot=$?; \
     grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status";

fn assert_docker_like_run(out: &str, err: &str, code: i32, nnp: &str) {
    assert_eq!(code, 0, "{out}\n{err}");
    for want in ["ok\n", "made\n", "listed\n", "sub\n", "chroot=1\n"] {
        assert!(out.contains(want), "{want:?} missing from:\n{out}\n{err}");
    }
    assert!(err.contains("Operation not permitted"), "{err}");
    assert_eq!(status_field(out, "Seccomp:"), Some("2"), "{out}");
    assert_eq!(status_field(out, "NoNewPrivs:"), Some(nnp), "{out}");
}

#[test]
fn a_docker_shaped_profile_runs_as_root_and_as_a_user() {
    let env = Env::new("sc-docker");
    let mut c = config_with(&env, Some(docker_like()));
    // Root without no_new_privileges: loaded before the capabilities drop,
    // so the rest of the init runs under the profile.
    let (out, err, code) = env.sh(&c, DOCKER_SCRIPT);
    assert_docker_like_run(&out, &err, code, "0");
    let (out, err, code) = sh_as(&env, &c, "1000", DOCKER_SCRIPT);
    assert_docker_like_run(&out, &err, code, "0");
    // Processes joining a container under the profile, root and user 1000.
    let bg = Running::start(&env, &c, &["sleep", "60"]);
    for user in ["0", "1000"] {
        let o = env
            .cmd()
            .args(["exec", "--user", user, "--id", &env.id, "--"])
            .args(["/bin/sh", "-c", DOCKER_SCRIPT])
            .output()
            .unwrap();
        let (out, err, code) = text(&o);
        assert_docker_like_run(&out, &err, code, "0");
    }
    drop(bg);
    // With no_new_privileges: loaded right before exec.
    c.no_new_privileges = true;
    let (out, err, code) = sh_as(&env, &c, "1000", DOCKER_SCRIPT);
    assert_docker_like_run(&out, &err, code, "1");
    env.assert_no_leftovers(&env.id);
}

/// The same profile in OCI form, converted by the OCI loader.
#[test]
fn an_oci_bundle_profile_converts_and_loads() {
    let env = Env::new("sc-oci");
    let ours = docker_like();
    let mut syscalls: Vec<serde_json::Value> = Vec::new();
    for s in &ours.syscalls {
        let mut v = json!({"names": s.names, "action": s.action});
        if let Some(e) = s.errno_ret {
            v["errnoRet"] = json!(e);
        }
        if !s.args.is_empty() {
            v["args"] = s
                .args
                .iter()
                .map(|a| json!({"index": a.index, "value": a.value, "valueTwo": a.value_two, "op": a.op}))
                .collect();
        }
        syscalls.push(v);
    }
    let bundle = env.work.join("bundle");
    std::fs::create_dir_all(&bundle).unwrap();
    let spec = json!({
        "ociVersion": "1.0.2",
        "root": {"path": env.rootfs},
        "hostname": "oci-seccomp",
        "process": {
            "args": ["/bin/sh", "-c", DOCKER_SCRIPT],
            "cwd": "/",
            "user": {"uid": 0, "gid": 0},
            "env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],
            "capabilities": {
                "bounding": ["CAP_CHOWN", "CAP_SYS_CHROOT", "CAP_SETUID", "CAP_SETGID"],
                "effective": ["CAP_CHOWN", "CAP_SYS_CHROOT", "CAP_SETUID", "CAP_SETGID"],
                "permitted": ["CAP_CHOWN", "CAP_SYS_CHROOT", "CAP_SETUID", "CAP_SETGID"]
            }
        },
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755"]},
            {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}
        ],
        "linux": {
            "namespaces": [{"type": "mount"}, {"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "network"}],
            "seccomp": {
                "defaultAction": "SCMP_ACT_ERRNO",
                "defaultErrnoRet": 1,
                "architectures": ours.architectures,
                "flags": ["SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
                "syscalls": syscalls
            }
        }
    });
    let config = bundle.join("config.json");
    std::fs::write(&config, serde_json::to_vec_pretty(&spec).unwrap()).unwrap();
    let converted = nsinit_configs::load(&config).unwrap();
    let s = converted.seccomp.as_ref().unwrap();
    assert_eq!(s.syscalls, ours.syscalls);
    assert_eq!(s.default_errno_ret, Some(1));
    assert_eq!(s.flags, ["SECCOMP_FILTER_FLAG_SPEC_ALLOW"]);

    let o = env
        .cmd()
        .args(["exec", "--id", &env.id, "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let (out, err, code) = text(&o);
    assert_docker_like_run(&out, &err, code, "0");
    env.assert_no_leftovers(&env.id);
}

/// The test rootfs has what the tests run.
#[test]
fn rootfs_has_the_programs() {
    let env = Env::new("sc-rootfs");
    for p in [
        "bin/nc",
        "bin/logger",
        "sbin/syslogd",
        "bin/uname",
        "usr/sbin/chroot",
    ] {
        let alt = Path::new(p).file_name().unwrap();
        assert!(
            env.rootfs.join(p).exists()
                || ["bin", "sbin", "usr/bin", "usr/sbin"].iter().any(|d| env
                    .rootfs
                    .join(d)
                    .join(alt)
                    .exists()),
            "{p} missing from the test rootfs"
        );
    }
    let o = Command::new(env.rootfs.join("bin/busybox"))
        .arg("--list")
        .output()
        .unwrap();
    let list = assert_ok(&o);
    for applet in ["nc", "logger", "syslogd", "uname", "chroot", "usleep"] {
        assert!(list.lines().any(|l| l == applet), "busybox lacks {applet}");
    }
}
