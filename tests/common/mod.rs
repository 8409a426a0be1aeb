//! Shared helpers of the integration tests: the busybox rootfs, a private state
//! root, unique ids, configs, running the `nsinit` binary, and leftover checks.
//!
//! Every test runs real containers as root. A missing prerequisite (not root,
//! no rootfs) fails the test loudly; it never passes silently.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use nsinit_configs::Config;

/// The `nsinit` binary under test.
pub fn nsinit_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_nsinit"))
}

/// The busybox rootfs built by `scripts/rootfs.sh`.
pub fn shared_rootfs() -> PathBuf {
    let p = std::env::var_os("NSINIT_TEST_ROOTFS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/cache/nsinit/rootfs/busybox"));
    assert!(
        p.join("bin/busybox").is_file(),
        "no busybox rootfs at {} — run ./scripts/rootfs.sh (or ./scripts/test.sh)",
        p.display()
    );
    assert!(
        nix::unistd::geteuid().is_root(),
        "the integration tests start real containers and must run as root"
    );
    p
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A unique id for this test process.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

/// A test's world: a private state root, a work dir, and a rootfs; all
/// removed on drop together with any container left in the root.
pub struct Env {
    pub root: PathBuf,
    pub work: PathBuf,
    pub rootfs: PathBuf,
    pub id: String,
}

impl Env {
    /// Uses the shared rootfs read-only (for containers that do not write to it).
    pub fn new(name: &str) -> Env {
        let rootfs = shared_rootfs();
        let id = unique(name);
        let work = PathBuf::from(format!("/tmp/nsinit-test/{id}"));
        std::fs::create_dir_all(&work).unwrap();
        Env {
            root: work.join("state"),
            work,
            rootfs,
            id,
        }
    }

    /// With a private writable copy of the rootfs.
    pub fn with_copy(name: &str) -> Env {
        let mut env = Env::new(name);
        let copy = env.work.join("rootfs");
        let st = Command::new("cp")
            .arg("-a")
            .arg(&env.rootfs)
            .arg(&copy)
            .status()
            .unwrap();
        assert!(st.success(), "copy rootfs");
        env.rootfs = copy;
        env
    }

    /// The default config for this env's rootfs.
    pub fn config(&self) -> Config {
        let mut c = nsinit_configs::default_config();
        c.rootfs = self.rootfs.display().to_string();
        c.hostname = "nsinit-test".into();
        c
    }

    /// Writes `config` into the work dir and returns its path.
    pub fn write_config(&self, config: &Config) -> PathBuf {
        let p = self.work.join(format!(
            "config-{}.json",
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::write(&p, serde_json::to_string_pretty(config).unwrap()).unwrap();
        p
    }

    /// `nsinit --root <root> ARGS`.
    pub fn cmd(&self) -> Command {
        let mut c = Command::new(nsinit_bin());
        c.arg("--root").arg(&self.root);
        c.stdin(Stdio::null());
        c
    }

    /// Runs `nsinit exec --config <config> --id <id> -- ARGS` and collects output.
    pub fn exec(&self, config: &Config, args: &[&str]) -> Output {
        let cfg = self.write_config(config);
        self.cmd()
            .arg("exec")
            .arg("--config")
            .arg(&cfg)
            .arg("--id")
            .arg(&self.id)
            .arg("--")
            .args(args)
            .output()
            .unwrap()
    }

    /// Like [`Env::exec`] with `sh -c SCRIPT`; returns (stdout, stderr, code).
    pub fn sh(&self, config: &Config, script: &str) -> (String, String, i32) {
        let o = self.exec(config, &["/bin/sh", "-c", script]);
        (
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
            o.status.code().unwrap_or(-1),
        )
    }

    /// `nsinit create --id <id> --config <cfg> -- ARGS`. The container's init
    /// keeps the stdio it was given, so output goes to files (a pipe would stay
    /// open for the life of the container). Returns (success, stderr).
    pub fn create(&self, cfg: &Path, args: &[&str]) -> (bool, String) {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let out = self.work.join(format!("create-{n}.out"));
        let err = self.work.join(format!("create-{n}.err"));
        let st = self
            .cmd()
            .args(["create", "--id", &self.id, "--config"])
            .arg(cfg)
            .arg("--")
            .args(args)
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&err).unwrap())
            .status()
            .unwrap();
        (
            st.success(),
            std::fs::read_to_string(&err).unwrap_or_default(),
        )
    }

    /// Asserts nothing of container `id` remains: state dir, cgroups, mounts of
    /// the rootfs, processes.
    pub fn assert_no_leftovers(&self, id: &str) {
        assert!(
            !self.root.join(id).exists(),
            "state dir of {id} left behind"
        );
        for ctrl in [
            "memory", "cpu", "pids", "freezer", "devices", "cpuset", "blkio", "cpuacct",
        ] {
            let p = Path::new("/sys/fs/cgroup")
                .join(ctrl)
                .join("nsinit")
                .join(id);
            assert!(!p.exists(), "cgroup {} left behind", p.display());
        }
        let unified = Path::new("/sys/fs/cgroup/unified/nsinit").join(id);
        assert!(
            !unified.exists(),
            "cgroup {} left behind",
            unified.display()
        );
        let mi = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        let rootfs = self.rootfs.display().to_string();
        assert!(
            !mi.lines()
                .any(|l| l.contains(&rootfs) && self.rootfs != shared_rootfs()),
            "a mount of {rootfs} is left in the host's mount table"
        );
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        // Destroy whatever a failed test left behind, then remove the files.
        if let Ok(rd) = std::fs::read_dir(&self.root) {
            for e in rd.flatten() {
                let _ = Command::new(nsinit_bin())
                    .arg("--root")
                    .arg(&self.root)
                    .args(["delete", "--force"])
                    .arg(e.file_name())
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status();
            }
        }
        let _ = std::fs::remove_dir_all(&self.work);
    }
}

/// Asserts an output succeeded, showing stderr otherwise.
pub fn assert_ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "command failed with {:?}\nstdout: {}\nstderr: {}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Asserts a failed run with exactly one `nsinit:` line on stderr containing
/// `needle`, and no panic; returns stderr.
pub fn assert_clear_error(o: &Output, needle: &str) -> String {
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(!o.status.success(), "expected failure, got success: {err}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected one line, got:\n{err}");
    assert!(lines[0].starts_with("nsinit: "), "{err}");
    assert!(lines[0].contains(needle), "expected {needle:?} in: {err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

/// Asserts no process runs with the env's rootfs as its root any more.
pub fn assert_no_process_of(env: &Env) {
    let rootfs = env.rootfs.canonicalize().unwrap();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        if let Ok(root) = std::fs::read_link(format!("/proc/{pid}/root")) {
            assert_ne!(root, rootfs, "process {pid} of the container still runs");
        }
    }
}
