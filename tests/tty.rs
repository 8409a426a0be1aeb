//! `nsinit exec --tty` driven through a real terminal (a tmux pane on a
//! private server) and through pipes: the prompt, `tty`, the window size and
//! its changes, Ctrl-C and Ctrl-Z inside the container, exit codes, signals
//! sent to `nsinit`, a joined container, a failing start, piped input with
//! its EOF, and that the outer terminal is back in its original mode after
//! every one of them.

mod common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{assert_ok, nsinit_bin, Env};

/// Prompt of the container's shell (set with `--env`).
const PROMPT: &str = "[ctr]# ";
/// How long anything may take to show up on the screen.
const SCREEN_TIMEOUT: Duration = Duration::from_secs(30);

static SLEEPS: AtomicUsize = AtomicUsize::new(0);

/// A `sleep` duration no other test of this process uses, so the process
/// can be found by its command line.
fn unique_sleep() -> String {
    format!(
        "{}",
        7_000_000
            + (std::process::id() as usize % 1000) * 100
            + SLEEPS.fetch_add(1, Ordering::SeqCst)
    )
}

/// Quotes `s` for the pane's shell.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// A tmux server of its own (socket in the test's work dir) running one
/// window with `/bin/sh`; killed on drop, even when the test failed.
struct Tmux {
    socket: PathBuf,
    server_pid: Option<i32>,
}

impl Tmux {
    /// Starts the server with a `cols` x `rows` window and no status line.
    fn start(env: &Env, cols: u16, rows: u16) -> Tmux {
        let socket = env.work.join("tmux.sock");
        let mut t = Tmux {
            socket,
            server_pid: None,
        };
        let st = t
            .cmd()
            .args(["-f", "/dev/null", "new-session", "-d", "-s", "main"])
            .args(["-x", &cols.to_string(), "-y", &rows.to_string()])
            .args(["env", "PS1=outer$ ", "/bin/sh"])
            .status()
            .expect("run tmux (is it installed?)");
        assert!(st.success(), "tmux new-session failed");
        let pid = t.query("#{pid}");
        t.server_pid = pid.trim().parse().ok();
        assert!(t.server_pid.is_some(), "tmux server pid: {pid:?}");
        let st = t
            .cmd()
            .args(["set-option", "-g", "status", "off"])
            .status()
            .unwrap();
        assert!(st.success());
        // The status line is gone once the pane has the whole window.
        t.wait_until("the pane to fill the window", |t| {
            t.query("#{pane_width}x#{pane_height}").trim() == format!("{cols}x{rows}")
        });
        t
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new("tmux");
        c.arg("-S").arg(&self.socket);
        c.env_remove("TMUX");
        c.stdin(Stdio::null());
        c
    }

    /// `display-message -p FORMAT` for the pane.
    fn query(&self, format: &str) -> String {
        let o = self
            .cmd()
            .args(["display-message", "-p", "-t", "main", format])
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// Types `line` and Enter.
    fn type_line(&self, line: &str) {
        let st = self
            .cmd()
            .args(["send-keys", "-t", "main", "-l", line])
            .status()
            .unwrap();
        assert!(st.success(), "send-keys {line:?}");
        self.key("Enter");
    }

    /// Presses one key (tmux name: `C-c`, `Enter`, ...).
    fn key(&self, key: &str) {
        let st = self
            .cmd()
            .args(["send-keys", "-t", "main", key])
            .status()
            .unwrap();
        assert!(st.success(), "send-keys {key}");
    }

    /// The pane's text, with the scrollback (wrapped lines joined).
    fn screen(&self) -> String {
        let o = self
            .cmd()
            .args(["capture-pane", "-p", "-J", "-t", "main", "-S", "-2000"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// Waits until a line of the screen satisfies `pred`; returns that line.
    fn wait_line(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + SCREEN_TIMEOUT;
        loop {
            let screen = self.screen();
            if let Some(l) = screen.lines().find(|l| pred(l.trim_end())) {
                return l.trim_end().to_string();
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until `cond` holds.
    fn wait_until(&self, what: &str, cond: impl Fn(&Tmux) -> bool) {
        let deadline = Instant::now() + SCREEN_TIMEOUT;
        while !cond(self) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; the screen:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Resizes the window (and so the pane's terminal).
    fn resize(&self, cols: u16, rows: u16) {
        let st = self
            .cmd()
            .args(["resize-window", "-t", "main"])
            .args(["-x", &cols.to_string(), "-y", &rows.to_string()])
            .status()
            .unwrap();
        assert!(st.success(), "resize-window");
        self.wait_until("the resize", |t| {
            t.query("#{pane_width}x#{pane_height}").trim() == format!("{cols}x{rows}")
        });
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self
            .cmd()
            .arg("kill-server")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        // If the server did not go, end it by its pid (checked to still be
        // our server: its command line names our socket).
        if let Some(pid) = self.server_pid {
            let ours = std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| String::from_utf8_lossy(&c).contains(&*self.socket.to_string_lossy()))
                .unwrap_or(false);
            if ours {
                // SAFETY: kill with plain integers.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
    }
}

/// The files a session command line in the pane writes.
struct Session {
    before: PathBuf,
    after: PathBuf,
    rc: PathBuf,
    outer_size: PathBuf,
}

impl Session {
    fn new(env: &Env) -> Session {
        Session {
            before: env.work.join("stty-before"),
            after: env.work.join("stty-after"),
            rc: env.work.join("rc"),
            outer_size: env.work.join("outer-size"),
        }
    }

    /// The command line typed into the pane's shell: saves the terminal's
    /// mode and size, runs `nsinit ARGS`, then writes the exit code and the
    /// mode afterwards.
    fn command_line(&self, env: &Env, args: &[&str]) -> String {
        let mut nsinit = vec![
            sh_quote(&nsinit_bin().to_string_lossy()),
            "--root".into(),
            sh_quote(&env.root.to_string_lossy()),
        ];
        nsinit.extend(args.iter().map(|a| sh_quote(a)));
        let rc_tmp = format!("{}.tmp", self.rc.display());
        format!(
            "stty -g > {before}; stty size > {size}; {nsinit}; echo rc=$? > {tmp}; stty -g > {after}; mv {tmp} {rc}",
            before = sh_quote(&self.before.to_string_lossy()),
            size = sh_quote(&self.outer_size.to_string_lossy()),
            nsinit = nsinit.join(" "),
            tmp = sh_quote(&rc_tmp),
            after = sh_quote(&self.after.to_string_lossy()),
            rc = sh_quote(&self.rc.to_string_lossy()),
        )
    }

    /// Waits for the command line to finish; returns nsinit's exit code.
    fn wait_rc(&self, tmux: &Tmux) -> i32 {
        tmux.wait_until("nsinit to end (the rc file)", |_| self.rc.exists());
        let rc = std::fs::read_to_string(&self.rc).unwrap();
        rc.trim()
            .strip_prefix("rc=")
            .and_then(|c| c.parse().ok())
            .unwrap_or_else(|| panic!("bad rc file: {rc:?}"))
    }

    /// Asserts the outer terminal is in the mode it was in before.
    fn assert_terminal_restored(&self) {
        let before = std::fs::read_to_string(&self.before).unwrap();
        let after = std::fs::read_to_string(&self.after).unwrap();
        assert!(!before.trim().is_empty(), "no stty -g output");
        assert_eq!(
            before, after,
            "the outer terminal was not restored (stty -g before / after)"
        );
    }
}

/// The pid of the process whose command line is exactly `args` (None if
/// there is none).
fn find_process(args: &[&str]) -> Option<i32> {
    let want: Vec<u8> = args
        .iter()
        .flat_map(|a| [a.as_bytes(), b"\0"].concat())
        .collect();
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: i32 = e.file_name().to_str()?.parse().ok()?;
        let cmd = std::fs::read(e.path().join("cmdline")).ok()?;
        (cmd == want).then_some(pid)
    })
}

/// The state letter of `pid` (R, S, T, Z, ...), None once it is gone.
fn process_state(pid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.chars().next()
}

/// Waits until `cond` holds, panicking with `what` after `timeout`.
fn wait_for(what: &str, timeout: Duration, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The args of `nsinit exec --tty` for a new container of `env`.
fn new_container_args(env: &Env, config: &Path) -> Vec<String> {
    vec![
        "exec".into(),
        "--tty".into(),
        "--config".into(),
        config.display().to_string(),
        "--id".into(),
        env.id.clone(),
        "--env".into(),
        format!("PS1={PROMPT}"),
        "/bin/sh".into(),
    ]
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// Waits for the output of `echo "<tag>:...:<tag>"` and returns what is
/// between the tags (the typed command line itself does not match, as it
/// shows the unexpanded text).
fn tagged(tmux: &Tmux, tag: &str) -> String {
    let open = format!("{tag}:");
    let close = format!(":{tag}");
    let line = tmux.wait_line(&format!("the {tag} line"), |l| {
        l.starts_with(&open) && l.ends_with(&close)
    });
    line[open.len()..line.len() - close.len()].to_string()
}

#[test]
fn shell_in_a_new_container_through_a_terminal() {
    let env = Env::new("tty-new");
    let tmux = Tmux::start(&env, 100, 30);
    let cfg = env.write_config(&env.config());
    let s = Session::new(&env);
    tmux.type_line(&s.command_line(&env, &strs(&new_container_args(&env, &cfg))));

    // The prompt appears.
    tmux.wait_line("the container's prompt", |l| {
        l.starts_with(PROMPT.trim_end())
    });
    // Its terminal is the console, a pty.
    tmux.type_line(r#"echo "T:$(tty):T""#);
    let tty = tagged(&tmux, "T");
    assert!(
        tty == "/dev/console" || tty.starts_with("/dev/pts/"),
        "tty printed {tty:?}"
    );
    // Its size is the outer window's, and follows a resize.
    tmux.type_line(r#"echo "S:$(stty size):S""#);
    assert_eq!(tagged(&tmux, "S"), "30 100");
    let outer = std::fs::read_to_string(&s.outer_size).unwrap();
    assert_eq!(outer.trim(), "30 100", "the outer terminal's own size");
    tmux.resize(120, 40);
    tmux.type_line(r#"echo "R:$(stty size):R""#);
    assert_eq!(tagged(&tmux, "R"), "40 120");
    // It is the container: pid 1, its hostname.
    tmux.type_line(r#"echo "P:$$ $(hostname):P""#);
    assert_eq!(tagged(&tmux, "P"), "1 nsinit-test");

    tmux.type_line("exit 3");
    assert_eq!(s.wait_rc(&tmux), 3);
    s.assert_terminal_restored();
    env.assert_no_leftovers(&env.id);
}

#[test]
fn ctrl_c_and_ctrl_z_work_inside_the_container() {
    let env = Env::new("tty-keys");
    let tmux = Tmux::start(&env, 100, 30);
    let cfg = env.write_config(&env.config());
    let s = Session::new(&env);
    tmux.type_line(&s.command_line(&env, &strs(&new_container_args(&env, &cfg))));
    tmux.wait_line("the container's prompt", |l| {
        l.starts_with(PROMPT.trim_end())
    });

    // Ctrl-C interrupts the foreground command, not the shell (nor nsinit).
    let n = unique_sleep();
    tmux.type_line(&format!("sleep {n}"));
    wait_for("sleep to run", Duration::from_secs(20), || {
        find_process(&["sleep", &n]).is_some()
    });
    let pid = find_process(&["sleep", &n]).unwrap();
    let t = Instant::now();
    tmux.key("C-c");
    wait_for("Ctrl-C to end sleep", Duration::from_secs(10), || {
        process_state(pid).is_none_or(|s| s == 'Z')
    });
    tmux.type_line(r#"echo "A:alive $$:A""#);
    assert_eq!(tagged(&tmux, "A"), "alive 1");
    assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());

    // Ctrl-Z stops it, the shell reports the job, fg continues it.
    let n = unique_sleep();
    tmux.type_line(&format!("sleep {n}"));
    wait_for("sleep to run", Duration::from_secs(20), || {
        find_process(&["sleep", &n]).is_some()
    });
    let pid = find_process(&["sleep", &n]).unwrap();
    tmux.key("C-z");
    wait_for("Ctrl-Z to stop sleep", Duration::from_secs(10), || {
        process_state(pid) == Some('T')
    });
    tmux.wait_line("the shell's job report", |l| {
        l.contains("Stopped") && l.contains(&format!("sleep {n}"))
    });
    tmux.type_line("fg");
    wait_for("fg to continue sleep", Duration::from_secs(10), || {
        matches!(process_state(pid), Some('S' | 'R'))
    });
    tmux.key("C-c");
    wait_for("Ctrl-C to end sleep", Duration::from_secs(10), || {
        process_state(pid).is_none_or(|s| s == 'Z')
    });
    tmux.type_line(r#"echo "B:still $$:B""#);
    assert_eq!(tagged(&tmux, "B"), "still 1");

    tmux.type_line("exit");
    assert_eq!(s.wait_rc(&tmux), 0);
    s.assert_terminal_restored();
    env.assert_no_leftovers(&env.id);
}

#[test]
fn shell_joining_a_running_container_through_a_terminal() {
    let env = Env::new("tty-join");
    let cfg = env.write_config(&env.config());
    let (ok, err) = env.create(&cfg, &["/bin/sleep", "1000"]);
    assert!(ok, "create: {err}");
    assert_ok(&env.cmd().args(["start", &env.id]).output().unwrap());

    let tmux = Tmux::start(&env, 90, 25);
    let s = Session::new(&env);
    let args = [
        "exec",
        "--tty",
        "--id",
        &env.id,
        "--env",
        &format!("PS1={PROMPT}"),
        "/bin/sh",
    ];
    tmux.type_line(&s.command_line(&env, &args));
    tmux.wait_line("the joined shell's prompt", |l| {
        l.starts_with(PROMPT.trim_end())
    });
    // The container's namespaces: its init is pid 1, its hostname.
    tmux.type_line(r#"echo "P:$(cat /proc/1/cmdline | tr '\0' ' ')$(hostname):P""#);
    assert_eq!(tagged(&tmux, "P"), "/bin/sleep 1000 nsinit-test");
    // The terminal is one of the container's own ptys.
    tmux.type_line(r#"echo "T:$(tty):T""#);
    let tty = tagged(&tmux, "T");
    assert!(
        tty.starts_with("/dev/pts/"),
        "tty inside the container: {tty}"
    );
    // A terminal of the outer window's size, following a resize.
    tmux.type_line(r#"echo "S:$(stty size):S""#);
    assert_eq!(tagged(&tmux, "S"), "25 90");
    tmux.resize(110, 35);
    tmux.type_line(r#"echo "R:$(stty size):R""#);
    assert_eq!(tagged(&tmux, "R"), "35 110");
    // Job control: Ctrl-C ends the foreground command only.
    let n = unique_sleep();
    tmux.type_line(&format!("sleep {n}"));
    wait_for("sleep to run", Duration::from_secs(20), || {
        find_process(&["sleep", &n]).is_some()
    });
    let pid = find_process(&["sleep", &n]).unwrap();
    tmux.key("C-c");
    wait_for("Ctrl-C to end sleep", Duration::from_secs(10), || {
        process_state(pid).is_none_or(|s| s == 'Z')
    });
    tmux.type_line(r#"echo "A:alive:A""#);
    assert_eq!(tagged(&tmux, "A"), "alive");

    tmux.type_line("exit 5");
    assert_eq!(s.wait_rc(&tmux), 5);
    s.assert_terminal_restored();
    // The container keeps running.
    let o = env.cmd().args(["state", &env.id]).output().unwrap();
    let state: serde_json::Value = serde_json::from_str(&assert_ok(&o)).unwrap();
    assert_eq!(state["status"], "running", "{state}");
}

#[test]
fn failed_start_restores_the_terminal() {
    let env = Env::new("tty-fail");
    let tmux = Tmux::start(&env, 100, 30);
    let cfg = env.write_config(&env.config());
    let s = Session::new(&env);
    let mut args = new_container_args(&env, &cfg);
    args.splice(2..2, ["--user".to_string(), "ghost".to_string()]);
    tmux.type_line(&s.command_line(&env, &strs(&args)));
    assert_eq!(s.wait_rc(&tmux), 1);
    s.assert_terminal_restored();
    // One clear line, starting at the left edge (written in cooked mode).
    let line = tmux.wait_line("the error", |l| l.starts_with("nsinit: "));
    assert!(line.contains("ghost"), "{line}");
    env.assert_no_leftovers(&env.id);
}

#[test]
fn signals_to_nsinit_are_forwarded_and_the_terminal_restored() {
    let env = Env::new("tty-sig");
    let tmux = Tmux::start(&env, 100, 30);
    let cfg = env.write_config(&env.config());
    let s = Session::new(&env);
    let script = "trap 'echo \"G:got-int:G\"' INT; trap 'echo \"G:got-term:G\"; exit 7' TERM; \
                  echo 'G:ready:G'; while :; do sleep 0.1; done";
    let args = [
        "exec",
        "--tty",
        "--config",
        &cfg.display().to_string(),
        "--id",
        &env.id,
        "/bin/sh",
        "-c",
        script,
    ];
    tmux.type_line(&s.command_line(&env, &args));
    tmux.wait_line("the container to be ready", |l| l == "G:ready:G");
    let nsinit = nsinit_of(&env);
    // SAFETY: kill with plain integers, to our own nsinit.
    unsafe { libc::kill(nsinit, libc::SIGINT) };
    tmux.wait_line("SIGINT in the container", |l| l == "G:got-int:G");
    assert!(process_state(nsinit).is_some(), "SIGINT ended nsinit");
    // SAFETY: as above.
    unsafe { libc::kill(nsinit, libc::SIGTERM) };
    tmux.wait_line("SIGTERM in the container", |l| l == "G:got-term:G");
    assert_eq!(s.wait_rc(&tmux), 7);
    s.assert_terminal_restored();
    env.assert_no_leftovers(&env.id);
}

/// The pid of the `nsinit exec` that runs `env`'s container: the parent of
/// the container's init.
fn nsinit_of(env: &Env) -> i32 {
    let o = env.cmd().args(["state", &env.id]).output().unwrap();
    let state: serde_json::Value = serde_json::from_str(&assert_ok(&o)).unwrap();
    let init = state["init_process_pid"].as_i64().unwrap();
    let stat = std::fs::read_to_string(format!("/proc/{init}/stat")).unwrap();
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let ppid: i32 = rest.split(' ').nth(1).unwrap().parse().unwrap();
    let cmd = std::fs::read(format!("/proc/{ppid}/cmdline")).unwrap();
    assert!(
        String::from_utf8_lossy(&cmd).contains("exec"),
        "the init's parent is not nsinit exec"
    );
    ppid
}

/// Runs `nsinit exec --tty` for a new container with `stdin` bytes piped in
/// and its output collected; kills it (by pid) after `timeout`.
fn exec_piped(env: &Env, stdin: &[u8], args: &[&str], timeout: Duration) -> (String, i32) {
    exec_piped_with(env, &env.config(), stdin, args, timeout)
}

/// [`exec_piped`] with a config of its own.
fn exec_piped_with(
    env: &Env,
    config: &nsinit_configs::Config,
    stdin: &[u8],
    args: &[&str],
    timeout: Duration,
) -> (String, i32) {
    let cfg = env.write_config(config);
    let mut child = env
        .cmd()
        .arg("exec")
        .arg("--tty")
        .arg("--config")
        .arg(&cfg)
        .args(["--id", &env.id, "--"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin).unwrap();
    drop(input);
    let (out, status) = collect(&mut child, timeout, Duration::ZERO);
    (out, status)
}

/// Collects stdout of `child` (after waiting `delay`, to be a slow reader),
/// and its exit code; kills it after `timeout`.
fn collect(child: &mut Child, timeout: Duration, delay: Duration) -> (String, i32) {
    let pid = child.id() as i32;
    let killer = std::thread::spawn(move || {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
            if process_state(pid).is_none_or(|s| s == 'Z') {
                return false;
            }
        }
        // SAFETY: kill with plain integers; the child is not reaped before
        // this thread is joined, so the pid is still ours.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        true
    });
    std::thread::sleep(delay);
    let mut out = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut out).unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let killed = killer.join().unwrap();
    let status = child.wait().unwrap();
    assert!(
        !killed,
        "nsinit did not end within {timeout:?}; stderr: {err}"
    );
    let out = String::from_utf8_lossy(&out).into_owned();
    (out, status.code().unwrap_or(-1))
}

#[test]
fn piped_stdin_with_tty_ends_with_eof() {
    // An interactive shell reads the commands, then EOF ends it.
    let env = Env::new("tty-pipe");
    let (out, code) = exec_piped(
        &env,
        b"echo \"E:$((6*7)):E\"\necho \"T:$(tty):T\"\n",
        &["/bin/sh"],
        Duration::from_secs(30),
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("E:42:E"), "{out}");
    assert!(out.contains("T:/dev/console:T"), "{out}");
    // The EOF reaches every reader in turn, and an unterminated last line
    // is delivered.
    let env = Env::new("tty-pipe2");
    let (out, code) = exec_piped(
        &env,
        b"abc",
        &["/bin/sh", "-c", "cat; echo; cat; echo \"D:both-done:D\""],
        Duration::from_secs(30),
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("abc"), "{out}");
    assert!(out.contains("D:both-done:D"), "{out}");
    // `exit N` in the piped commands is the exit code.
    let env = Env::new("tty-pipe3");
    let (out, code) = exec_piped(&env, b"exit 4\n", &["/bin/sh"], Duration::from_secs(30));
    assert_eq!(code, 4, "{out}");
    env.assert_no_leftovers(&env.id);
}

#[test]
fn tty_in_a_user_namespace() {
    // The container's root owns its console, so it can bind it there.
    let env = Env::new("tty-userns");
    let mut c = env.config();
    c.namespaces.push(nsinit_configs::Namespace::new(
        nsinit_configs::NamespaceType::User,
    ));
    let map = |host_id| nsinit_configs::IdMap {
        container_id: 0,
        host_id,
        size: 65536,
    };
    c.uid_mappings = vec![map(200000)];
    c.gid_mappings = vec![map(300000)];
    let (out, code) = exec_piped_with(
        &env,
        &c,
        b"echo \"T:$(tty) $(stat -c %u:%g /dev/console) $(id -u):T\"\nexit 3\n",
        &["/bin/sh"],
        Duration::from_secs(30),
    );
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("T:/dev/console 0:0 0:T"), "{out}");
    env.assert_no_leftovers(&env.id);
}

#[test]
fn all_output_arrives_before_exit_even_to_a_slow_reader() {
    let env = Env::new("tty-drain");
    let cfg = env.write_config(&env.config());
    let mut child = env
        .cmd()
        .arg("exec")
        .arg("--tty")
        .arg("--config")
        .arg(&cfg)
        .args(["--id", &env.id, "--"])
        .args(["/bin/sh", "-c", "seq 1 30000; echo the-end; exit 9"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Nobody reads for a while: the container must wait, nsinit must not
    // deadlock or drop anything.
    let (out, code) = collect(&mut child, Duration::from_secs(60), Duration::from_secs(2));
    assert_eq!(code, 9);
    let lines: Vec<&str> = out.lines().map(|l| l.trim_end_matches('\r')).collect();
    let expected: Vec<String> = (1..=30000).map(|i| i.to_string()).collect();
    assert_eq!(lines.len(), 30001, "line count");
    assert!(
        lines[..30000].iter().zip(&expected).all(|(a, b)| a == b),
        "lines out of order or damaged"
    );
    assert_eq!(lines[30000], "the-end");
    env.assert_no_leftovers(&env.id);
}

#[test]
fn without_tty_stdio_stays_plain() {
    let env = Env::new("tty-none");
    let (out, err, code) = env.sh(
        &env.config(),
        "[ -t 0 ] || echo stdin-no-tty; [ -t 1 ] || echo stdout-no-tty; \
         readlink /proc/self/fd/1 | cut -d: -f1",
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "stdin-no-tty\nstdout-no-tty\npipe\n");
}
