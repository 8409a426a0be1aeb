//! A container: its state on disk and every operation on it.
//!
//! A [`Container`] is a cheap handle (clone it freely, share it between
//! threads); it holds no state in memory. Every method reads `state.json` under
//! the container's lock, so handles in different threads and different
//! processes (other `nsinit` invocations) always see the same container.

mod checkpoint;
pub mod launch;
pub mod state;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use nsinit_configs::{Cgroups, Config, FreezerState, NamespaceType};
use serde::{Deserialize, Serialize};

use crate::cgroups::{CgroupManager, CgroupStats, OomNotifier};
use crate::error::{Context, Error, Result, SysError};
use crate::hooks::{self, HookState};
use crate::init::{InitKind, ProcessSpec};
use crate::network::{self, InterfaceStats};
use crate::process::{send_signal, Process};
use crate::spawn::open_namespace;
use launch::{launch, release, InitCommand, LaunchSpec};
use state::{is_alive, State, StateDir};

/// The directory of compiled seccomp filters under the state root (a name no
/// container id can take: ids do not start with a dot).
pub const SECCOMP_CACHE: &str = ".seccomp-cache";

/// Where a container is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Not started, or its init has exited.
    Stopped,
    /// Set up; the init waits for `start`.
    Created,
    /// The user program runs.
    Running,
    /// Frozen.
    Paused,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Stopped => "stopped",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
        })
    }
}

/// Cgroup and network statistics of a container.
#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    /// Cgroup counters.
    pub cgroups: CgroupStats,
    /// Counters of the container's interfaces.
    pub interfaces: Vec<InterfaceStats>,
}

/// A handle on a container. See the [module docs](self).
///
/// ```no_run
/// use nsinit_runtime::{Factory, Process};
/// # fn main() -> nsinit_runtime::Result<()> {
/// let factory = Factory::new("/run/nsinit")?;
/// let config = nsinit_configs::load(std::path::Path::new("container.json"))?;
/// let container = factory.create("demo", config)?;
/// let mut init = Process::new(["/bin/echo", "hello"]);
/// container.run(&mut init)?;
/// let status = init.wait()?;
/// container.destroy()?;
/// assert_eq!(status.code(), 0);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Container {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    id: String,
    root: PathBuf,
    init: InitCommand,
}

impl Container {
    pub(crate) fn new(id: &str, root: &Path, init: InitCommand) -> Container {
        Container {
            inner: Arc::new(Inner {
                id: id.to_string(),
                root: root.to_path_buf(),
                init,
            }),
        }
    }

    /// The container's id.
    pub fn id(&self) -> &str {
        &self.inner.id
    }

    fn open(&self, exclusive: bool) -> Result<(StateDir, State)> {
        let dir = StateDir::open(&self.inner.root, &self.inner.id, exclusive)?;
        let st = dir.read()?;
        Ok((dir, st))
    }

    /// The recorded state (config, init pid, cgroup and namespace paths ...).
    pub fn state(&self) -> Result<State> {
        Ok(self.open(false)?.1)
    }

    /// The container's config.
    pub fn config(&self) -> Result<Config> {
        Ok(self.open(false)?.1.config)
    }

    /// The current status.
    pub fn status(&self) -> Result<Status> {
        let (dir, st) = self.open(false)?;
        Ok(status_of(&dir, &st))
    }

    /// Pids of every process in the container, from its cgroup (exact only
    /// while paused: processes may fork or exit meanwhile).
    pub fn processes(&self) -> Result<Vec<i32>> {
        let (_dir, st) = self.open(false)?;
        let cg = CgroupManager::from_paths(&st.cgroup_paths)?;
        Ok(cg.pids()?)
    }

    /// Starts `process`. On a stopped container this creates it: the init is
    /// set up completely and waits until [`Container::exec`] lets it run the
    /// program. On a running (or created) container the process joins it.
    pub fn start(&self, process: &mut Process) -> Result<()> {
        let (dir, st) = self.open(true)?;
        match status_of(&dir, &st) {
            Status::Stopped => self.start_init(dir, st, process, true).map(|_| ()),
            Status::Running | Status::Created => self.join(&st, process),
            status @ Status::Paused => Err(bad_status(&st, status, "start a process")),
        }
    }

    /// Lets a created container's init execute its program.
    pub fn exec(&self) -> Result<()> {
        let (dir, st) = self.open(true)?;
        let status = status_of(&dir, &st);
        if status != Status::Created {
            return Err(bad_status(&st, status, "start (it is not created)"));
        }
        let fifo = dir.fifo();
        let f = std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(&fifo)
            .ctx_path("start container", "open exec fifo", &fifo)?;
        std::io::Write::write_all(&mut &f, &[0]).ctx_path(
            "start container",
            "write exec fifo",
            &fifo,
        )?;
        std::fs::remove_file(&fifo).ctx_path("start container", "unlink", &fifo)?;
        let hs = HookState::new(&st.id, "running", st.init_process_pid, &st.bundle).to_json();
        hooks::run("poststart", &st.config.hooks.poststart, &hs)?;
        Ok(())
    }

    /// Creates and starts in one go: on success the program runs as the
    /// container's pid 1 (no waiting on a fifo).
    pub fn run(&self, process: &mut Process) -> Result<()> {
        let (dir, st) = self.open(true)?;
        let status = status_of(&dir, &st);
        if status != Status::Stopped {
            return Err(bad_status(&st, status, "run (it has an init already)"));
        }
        self.start_init(dir, st, process, false)
    }

    fn start_init(
        &self,
        dir: StateDir,
        mut st: State,
        process: &mut Process,
        create: bool,
    ) -> Result<()> {
        let cfg = st.config.clone();
        // Computed here, created by launch() while the child executes the init.
        let cg = CgroupManager::new(&cfg.cgroups, &st.id)?;
        let fifo = if create {
            Some(make_fifo(&dir, &cfg)?)
        } else {
            None
        };
        let cleanup_fifo = |fifo: &Option<PathBuf>| {
            if let Some(p) = fifo {
                let _ = std::fs::remove_file(p);
            }
        };

        let mut joins = Vec::new();
        for (t, path) in crate::namespaces::joins_before_exec(&cfg) {
            match open_namespace(&path) {
                Ok(fd) => joins.push((t, fd)),
                Err(e) => {
                    cleanup_fifo(&fifo);
                    return Err(e.into());
                }
            }
        }
        let mount_ns = match crate::namespaces::mount_ns_path(&cfg).map(|p| open_namespace(&p)) {
            Some(Err(e)) => {
                cleanup_fifo(&fifo);
                return Err(e.into());
            }
            Some(Ok(fd)) => Some(fd),
            None => None,
        };
        let spec = LaunchSpec {
            kind: InitKind::Standard,
            id: &st.id,
            config: &cfg,
            process: process_spec(process, &cfg),
            init: &self.inner.init,
            cgroups: &cg,
            joins,
            // Always a private mount namespace: the binary guard needs one even
            // when the container joins an existing mount namespace.
            new_flags: crate::namespaces::clone_flags(&cfg) | libc::CLONE_NEWNS,
            mount_ns,
            exec_fifo: fifo.clone(),
            bundle: &st.bundle,
            join_pid: None,
            seccomp_cache: Some(self.inner.root.join(SECCOMP_CACHE)),
        };
        let mut launched = match launch(spec, process) {
            Ok(l) => l,
            Err(e) => {
                cleanup_fifo(&fifo);
                return Err(e);
            }
        };
        st.init_process_pid = launched.pid;
        st.init_process_start = launched.start_time;
        st.cgroup_paths = cg.paths().clone();
        st.namespace_paths = crate::namespaces::namespace_paths(launched.pid, &cfg);
        st.external_veths = launched.veths.iter().map(|v| v.host_name.clone()).collect();
        let fail = |e: Error, process: &mut Process| {
            let _ = process.terminate();
            let _ = process.wait();
            for v in &st.external_veths {
                let _ = network::delete_link(v);
            }
            let _ = cg.kill_all();
            let _ = cg.destroy();
            cleanup_fifo(&fifo);
            e
        };
        if let Err(e) = dir.write(&st) {
            return Err(fail(e, process));
        }
        if !create {
            if let Err(e) = release(&mut launched.chan) {
                return Err(fail(e, process));
            }
            let hs = HookState::new(&st.id, "running", st.init_process_pid, &st.bundle).to_json();
            hooks::run("poststart", &cfg.hooks.poststart, &hs)?;
        }
        Ok(())
    }

    /// Starts `process` inside the running container.
    fn join(&self, st: &State, process: &mut Process) -> Result<()> {
        let cfg = &st.config;
        let pid = st.init_process_pid;
        let mut joins = Vec::new();
        let mut mount_ns = None;
        for t in NamespaceType::ALL {
            if !cfg.has_namespace(t) {
                continue;
            }
            let path = PathBuf::from(format!("/proc/{pid}/ns/{}", t.proc_name()));
            if t == NamespaceType::User
                && crate::namespaces::same_namespace(&path, Path::new("/proc/self/ns/user"))
            {
                continue;
            }
            let fd = open_namespace(&path)?;
            if t == NamespaceType::Mount {
                mount_ns = Some(fd);
            } else {
                joins.push((t, fd));
            }
        }
        // The namespace files were opened by pid: make sure it still was the
        // container's init when we did.
        if !is_alive(pid, st.init_process_start) {
            return Err(Error::BadStatus {
                id: st.id.clone(),
                status: Status::Stopped,
                operation: "start a process",
            });
        }
        let cg = CgroupManager::from_paths(&st.cgroup_paths)?;
        let spec = LaunchSpec {
            kind: InitKind::Setns,
            id: &st.id,
            config: cfg,
            process: process_spec(process, cfg),
            init: &self.inner.init,
            cgroups: &cg,
            joins,
            new_flags: libc::CLONE_NEWNS,
            mount_ns,
            exec_fifo: None,
            bundle: &st.bundle,
            join_pid: Some(pid),
            seccomp_cache: Some(self.inner.root.join(SECCOMP_CACHE)),
        };
        let mut launched = launch(spec, process)?;
        if let Err(e) = release(&mut launched.chan) {
            let _ = process.terminate();
            let _ = process.wait();
            return Err(e);
        }
        Ok(())
    }

    /// Sends `signal` to the init, or with `all` to every process of the
    /// container.
    pub fn signal(&self, signal: i32, all: bool) -> Result<()> {
        let (dir, st) = self.open(false)?;
        let status = status_of(&dir, &st);
        if status == Status::Stopped {
            return Err(bad_status(&st, status, "signal it"));
        }
        if all {
            let cg = CgroupManager::from_paths(&st.cgroup_paths)?;
            for pid in cg.pids()? {
                send_signal(pid, None, signal)?;
            }
            return Ok(());
        }
        send_signal(st.init_process_pid, None, signal)
    }

    /// Kills every process, removes the cgroups, the veths and the state, and
    /// runs the poststop hooks. Works in any status.
    pub fn destroy(&self) -> Result<()> {
        let (dir, st) = self.open(true)?;
        let status = status_of(&dir, &st);
        let cg = if st.cgroup_paths == Default::default() {
            None
        } else {
            Some(CgroupManager::from_paths(&st.cgroup_paths)?)
        };
        if status != Status::Stopped {
            send_signal(st.init_process_pid, None, libc::SIGKILL)?;
        }
        if let Some(cg) = &cg {
            if cg.exists() {
                cg.kill_all()?;
            }
        }
        if st.init_process_pid > 0 {
            wait_gone(st.init_process_pid, st.init_process_start);
        }
        for v in &st.external_veths {
            let _ = network::delete_link(v);
        }
        if let Some(cg) = &cg {
            cg.destroy()?;
        }
        let had_init = st.init_process_pid > 0;
        let hs = HookState::new(&st.id, "stopped", st.init_process_pid, &st.bundle).to_json();
        dir.remove()?;
        if had_init {
            hooks::run("poststop", &st.config.hooks.poststop, &hs)?;
        }
        Ok(())
    }

    /// Freezes every process of the container.
    pub fn pause(&self) -> Result<()> {
        let (dir, st) = self.open(true)?;
        let status = status_of(&dir, &st);
        if status != Status::Running && status != Status::Created {
            return Err(bad_status(&st, status, "pause it"));
        }
        Ok(CgroupManager::from_paths(&st.cgroup_paths)?.freeze()?)
    }

    /// Thaws a paused container.
    pub fn resume(&self) -> Result<()> {
        let (dir, st) = self.open(true)?;
        let status = status_of(&dir, &st);
        if status != Status::Paused {
            return Err(bad_status(&st, status, "resume it (it is not paused)"));
        }
        Ok(CgroupManager::from_paths(&st.cgroup_paths)?.thaw()?)
    }

    /// Cgroup counters and the container's interface counters.
    pub fn stats(&self) -> Result<Stats> {
        let (dir, st) = self.open(false)?;
        let status = status_of(&dir, &st);
        if status == Status::Stopped {
            return Err(bad_status(&st, status, "read its stats"));
        }
        let cgroups = CgroupManager::from_paths(&st.cgroup_paths)?.stats()?;
        let interfaces = if st.config.has_namespace(NamespaceType::Net) {
            let names: Vec<String> = st
                .config
                .networks
                .iter()
                .filter(|n| n.kind == nsinit_configs::NetworkType::Veth)
                .map(|n| {
                    if n.name.is_empty() {
                        "eth0".to_string()
                    } else {
                        n.name.clone()
                    }
                })
                .collect();
            network::interface_stats(st.init_process_pid, &names)?
        } else {
            Vec::new()
        };
        Ok(Stats {
            cgroups,
            interfaces,
        })
    }

    /// Changes the cgroup resources of a running (or paused, or created)
    /// container and records them in the state: the memory, cpu, cpuset,
    /// blkio weight, pids and freezer fields of `resources` that are set;
    /// the rest of the recorded resources stay as they are.
    ///
    /// All or nothing: the merged resources are validated first, and when
    /// the kernel refuses a value halfway (e.g. a memory limit below what the
    /// processes use) the files already written get their previous values
    /// back and `state.json` is not touched.
    ///
    /// The cgroup's place (`name`, `parent`, `path`), the device rules,
    /// `oom_kill_disable` and the blkio throttles are fixed at creation: a
    /// different value there is refused ([`Error::Unsupported`]); the same
    /// value (e.g. the whole recorded `cgroups` passed back) is fine.
    pub fn set(&self, resources: &Cgroups) -> Result<()> {
        let (dir, mut st) = self.open(true)?;
        let status = status_of(&dir, &st);
        if status == Status::Stopped {
            return Err(bad_status(&st, status, "update its resources"));
        }
        if let Some(field) = fixed_field_changed(&st.config.cgroups, resources) {
            return Err(Error::Unsupported(format!(
                "cgroups.{field} cannot be changed on a running container (only resource limits can)"
            )));
        }
        let mut live = Cgroups::default();
        merge_resources(&mut live, resources);
        let mut merged = st.config.cgroups.clone();
        merge_resources(&mut merged, resources);
        if let Err(errs) = nsinit_configs::validate::validate_cgroups(&merged) {
            return Err(Error::InvalidConfig(errs));
        }
        let cg = CgroupManager::from_paths(&st.cgroup_paths)?;
        let before = cg.snapshot_resources()?;
        if let Err(e) = cg.apply(&live) {
            // The refused value is the error to report; a failed restore
            // could only add noise to it.
            let _ = cg.restore_resources(&before);
            return Err(e.into());
        }
        st.config.cgroups = merged;
        if let Err(e) = dir.write(&st) {
            let _ = cg.restore_resources(&before);
            return Err(e);
        }
        Ok(())
    }

    /// A notifier that fires each time the container hits its memory limit.
    pub fn notify_oom(&self) -> Result<OomNotifier> {
        let (dir, st) = self.open(false)?;
        let status = status_of(&dir, &st);
        if status == Status::Stopped {
            return Err(bad_status(&st, status, "watch it for OOM"));
        }
        Ok(CgroupManager::from_paths(&st.cgroup_paths)?.oom_notifier()?)
    }
}

/// The first field of `update` that [`Container::set`] cannot change and
/// that differs from `current`.
fn fixed_field_changed(current: &Cgroups, update: &Cgroups) -> Option<&'static str> {
    let text = [
        ("name", &update.name, &current.name),
        ("parent", &update.parent, &current.parent),
        ("path", &update.path, &current.path),
    ];
    if let Some((f, _, _)) = text.iter().find(|(_, u, c)| !u.is_empty() && u != c) {
        return Some(f);
    }
    if !update.allowed_devices.is_empty() && update.allowed_devices != current.allowed_devices {
        return Some("allowed_devices");
    }
    if update.allow_all_devices && !current.allow_all_devices {
        return Some("allow_all_devices");
    }
    if update.oom_kill_disable && !current.oom_kill_disable {
        return Some("oom_kill_disable");
    }
    let throttles = [
        (
            "blkio_throttle_read_bps_device",
            &update.blkio_throttle_read_bps_device,
            &current.blkio_throttle_read_bps_device,
        ),
        (
            "blkio_throttle_write_bps_device",
            &update.blkio_throttle_write_bps_device,
            &current.blkio_throttle_write_bps_device,
        ),
        (
            "blkio_throttle_read_iops_device",
            &update.blkio_throttle_read_iops_device,
            &current.blkio_throttle_read_iops_device,
        ),
        (
            "blkio_throttle_write_iops_device",
            &update.blkio_throttle_write_iops_device,
            &current.blkio_throttle_write_iops_device,
        ),
    ];
    throttles
        .iter()
        .find(|(_, u, c)| !u.is_empty() && u != c)
        .map(|(f, _, _)| *f)
}

fn bad_status(st: &State, status: Status, operation: &'static str) -> Error {
    Error::BadStatus {
        id: st.id.clone(),
        status,
        operation,
    }
}

/// The status of a container from its state.
fn status_of(dir: &StateDir, st: &State) -> Status {
    if !is_alive(st.init_process_pid, st.init_process_start) {
        return Status::Stopped;
    }
    if let Ok(cg) = CgroupManager::from_paths(&st.cgroup_paths) {
        if matches!(cg.freezer_state(), Ok(FreezerState::Frozen)) {
            return Status::Paused;
        }
    }
    if dir.fifo().exists() {
        Status::Created
    } else {
        Status::Running
    }
}

/// Waits (bounded) until the init has exited. It is not reaped here: the
/// `Process` that started it (if any) still collects its exit status.
fn wait_gone(pid: i32, start: u64) {
    for _ in 0..1000 {
        if !is_alive(pid, start) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

/// The exec fifo, owned by the container's root so a user-namespaced init can
/// open it.
fn make_fifo(dir: &StateDir, cfg: &Config) -> Result<PathBuf> {
    let fifo = dir.fifo();
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o622)).ctx_path(
        "create exec fifo",
        "mkfifo",
        &fifo,
    )?;
    let uid = crate::namespaces::host_id(&cfg.uid_mappings, 0).unwrap_or(0);
    let gid = crate::namespaces::host_id(&cfg.gid_mappings, 0).unwrap_or(0);
    nix::unistd::chown(
        &fifo,
        Some(nix::unistd::Uid::from_raw(uid)),
        Some(nix::unistd::Gid::from_raw(gid)),
    )
    .ctx_path("create exec fifo", "chown", &fifo)?;
    std::fs::set_permissions(&fifo, std::os::unix::fs::PermissionsExt::from_mode(0o600)).ctx_path(
        "create exec fifo",
        "chmod",
        &fifo,
    )?;
    Ok(fifo)
}

/// The process spec: the process's own settings over the container's defaults.
pub(crate) fn process_spec(p: &Process, cfg: &Config) -> ProcessSpec {
    let defaults = cfg.process.clone().unwrap_or_default();
    let env = p.env.clone().unwrap_or_else(|| {
        if defaults.env.is_empty() {
            vec![
                format!("PATH={}", crate::init::finalize::DEFAULT_PATH),
                "TERM=xterm".to_string(),
            ]
        } else {
            defaults.env.clone()
        }
    });
    let mut groups = cfg.additional_groups.clone();
    groups.extend(p.additional_groups.iter().cloned());
    ProcessSpec {
        args: if p.args.is_empty() {
            defaults.args
        } else {
            p.args.clone()
        },
        env,
        cwd: p.cwd.clone().unwrap_or(if defaults.cwd.is_empty() {
            "/".into()
        } else {
            defaults.cwd
        }),
        user: p.user.clone().unwrap_or(defaults.user),
        additional_groups: groups,
        capabilities: p
            .capabilities
            .clone()
            .unwrap_or_else(|| cfg.capabilities.clone()),
        no_new_privileges: p.no_new_privileges.unwrap_or(cfg.no_new_privileges),
        rlimits: p.rlimits.clone().unwrap_or_else(|| cfg.rlimits.clone()),
        terminal: p.terminal,
        apparmor_profile: cfg.apparmor_profile.clone(),
        process_label: cfg.process_label.clone(),
        parent_death_signal: cfg.parent_death_signal.0,
        preserved_fds: 0,
    }
}

/// Copies every set field of `update` into `base`.
fn merge_resources(base: &mut Cgroups, update: &Cgroups) {
    macro_rules! opt {
        ($($f:ident),*) => { $( if update.$f.is_some() { base.$f = update.$f; } )* };
    }
    opt!(
        memory,
        memory_reservation,
        memory_swap,
        memory_swappiness,
        cpu_shares,
        cpu_quota,
        cpu_period,
        cpu_rt_runtime,
        cpu_rt_period,
        blkio_weight,
        pids_limit,
        freezer
    );
    if !update.cpuset_cpus.is_empty() {
        base.cpuset_cpus = update.cpuset_cpus.clone();
    }
    if !update.cpuset_mems.is_empty() {
        base.cpuset_mems = update.cpuset_mems.clone();
    }
}

use std::os::unix::fs::OpenOptionsExt;
#[allow(unused_imports)]
use SysError as _;
