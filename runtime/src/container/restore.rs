//! Restore of a checkpointed container: the factory side (see
//! [`crate::criu`] for what CRIU is told and why).

use std::fs::File;
use std::os::fd::{AsFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nsinit_configs::{Config, NamespaceType, NetworkType};
use rust_criu::rust_criu_protobuf::rpc::{
    Cgroup_root, Criu_opts, Criu_req_type, Ext_mount_map, Inherit_fd,
};

use super::{file_name, lock_method};
use crate::cgroups::{cgroup_path, CgroupManager};
use crate::container::state::{now_rfc3339, process_start_time, State, StateDir};
use crate::container::Container;
use crate::criu::{
    self, check_version, CheckpointInfo, CriuError, MountKind, Request, RestoreOpts, SavedNetwork,
    Session, StdioFile, StdioKind,
};
use crate::error::{Context, Error, Result, SysError};
use crate::factory::{validate_id, Factory};
use crate::hooks::{self, HookState};
use crate::network::{self, HostVeth};
use crate::process::{dev_null, pidfd_open, Handle, Process, Stdio};

impl Factory {
    /// Brings a checkpoint (taken by
    /// [`Container::checkpoint`]) back as container `id`, and returns it.
    ///
    /// The config is `config` when given (e.g. to restore with other
    /// resources), else the one recorded in the image directory. The
    /// container gets its cgroups first (with the config's limits), its root
    /// filesystem is the config's `rootfs` (the same files it was dumped
    /// from), its external mounts are bound from their host sources again
    /// (the cgroup hierarchies from the new cgroups), and CRIU creates its
    /// namespaces anew (the network one set up from the config, or restored
    /// by CRIU, as the checkpoint's [`NetworkState`](crate::criu::NetworkState)
    /// decided). The restored init is this process's child.
    ///
    /// The init's stdio that was outside the container comes from
    /// `process`'s `stdin`, `stdout`, `stderr`: [`Stdio::Inherit`] opens a
    /// file (the host's `/dev/null`, a log file) again, and gives our own
    /// stream for a pipe or a terminal; [`Stdio::Null`] and [`Stdio::Fd`]
    /// replace it (CRIU insists on the same kind of file, and for a file
    /// not opened for appending, the size it had).
    ///
    /// Afterwards `process` is the handle of the restored init (`pid`,
    /// `wait`, `signal`), and `state.json` records it (pid, start time,
    /// cgroup and namespace paths, veths), so every other operation works
    /// on it.
    ///
    /// On failure nothing is left behind: no state directory, cgroup,
    /// process or mount. An id in use, a missing image directory and a too
    /// old CRIU are errors of their own ([`CriuError::IdInUse`],
    /// [`Error::Sys`], [`CriuError::TooOld`]).
    ///
    /// ```no_run
    /// use nsinit_runtime::criu::RestoreOpts;
    /// use nsinit_runtime::{Factory, Process, Stdio};
    /// # fn main() -> nsinit_runtime::Result<()> {
    /// let factory = Factory::new("/run/nsinit")?;
    /// let mut init = Process::default();
    /// init.stdout = Stdio::Null;
    /// let opts = RestoreOpts {
    ///     tcp_established: true,
    ///     ..RestoreOpts::new("/var/lib/checkpoints/web")
    /// };
    /// let web = factory.restore("web", None, &mut init, &opts)?;
    /// assert_eq!(web.state()?.init_process_pid, init.pid().unwrap());
    /// let status = init.wait()?; // it is our child
    /// web.destroy()?;
    /// # let _ = status;
    /// # Ok(()) }
    /// ```
    pub fn restore(
        &self,
        id: &str,
        config: Option<Config>,
        process: &mut Process,
        opts: &RestoreOpts,
    ) -> Result<Container> {
        validate_id(id)?;
        let operation = format!("restore of container {id:?}");
        let images = open_images(&opts.image_path)?;
        let info = CheckpointInfo::read(&opts.image_path)?;
        let config = match config {
            Some(c) => c,
            None => info.config.clone(),
        };
        nsinit_configs::validate(&config)?;
        let rootfs = Path::new(&config.rootfs);
        let rootfs = std::fs::canonicalize(rootfs).map_err(|e| {
            SysError::io("restore container", "realpath", &e)
                .with_path(rootfs)
                .with_detail("the rootfs must be an existing directory")
        })?;
        let bundle = opts.bundle.clone().unwrap_or_else(|| info.bundle.clone());

        let dir = match StateDir::create(self.root(), id) {
            Ok(d) => d,
            Err(Error::Exists(_)) => {
                let status = self
                    .load(id)
                    .and_then(|c| c.status())
                    .map(|s| s.to_string())
                    .unwrap_or_else(|_| "being set up".to_string());
                return Err(CriuError::IdInUse {
                    id: id.to_string(),
                    status,
                }
                .into());
            }
            Err(e) => return Err(e),
        };
        let mut undo = Undo {
            dir: Some(dir),
            cgroups: None,
            root_mount: None,
            pid: None,
            veths: Vec::new(),
        };
        let mut st = State {
            id: id.to_string(),
            init_process_pid: 0,
            init_process_start: 0,
            created: now_rfc3339(),
            config: config.clone(),
            bundle,
            cgroup_paths: Default::default(),
            namespace_paths: Default::default(),
            external_veths: Vec::new(),
        };
        // The id is taken (and visibly stopped) while CRIU works.
        undo.dir()?.write(&st)?;

        let cg = CgroupManager::new(&config.cgroups, id)?;
        cg.create()?;
        undo.cgroups = Some(cg.clone());
        cg.apply(&config.cgroups)?;
        st.cgroup_paths = cg.paths().clone();

        // CRIU wants the root to be a mount point.
        let root = undo.dir()?.path().join("criu-root");
        std::fs::create_dir(&root).ctx_path("restore container", "mkdir", &root)?;
        undo.root_mount = Some((root.clone(), false));
        nix::mount::mount(
            Some(&rootfs),
            &root,
            None::<&str>,
            nix::mount::MsFlags::MS_BIND | nix::mount::MsFlags::MS_REC,
            None::<&str>,
        )
        .ctx_path("restore container", "mount --rbind", &root)?;
        undo.root_mount = Some((root.clone(), true));

        let criu = criu::Criu::new(opts.criu_path.as_deref());
        let mut pass = criu::FdPass::default();
        let mut o = Criu_opts::new();
        o.set_images_dir_fd(pass.add(images.as_fd())?);
        let work = match &opts.work_path {
            Some(w) => {
                std::fs::create_dir_all(w).ctx_path("create work directory", "mkdir", w)?;
                Some(File::open(w).ctx_path("open work directory", "open", w)?)
            }
            None => None,
        };
        if let Some(w) = &work {
            o.set_work_dir_fd(pass.add(w.as_fd())?);
        }
        let log = opts.log_file();
        o.set_log_file(file_name(&log));
        o.set_log_level(criu::log_level(opts.log_level));
        o.set_root(root.display().to_string());
        o.set_rst_sibling(true);
        o.set_manage_cgroups(true);
        let mut cg_root = Cgroup_root::new();
        cg_root.set_path(cgroup_path(&config.cgroups, id)?);
        o.cg_root.push(cg_root);
        o.set_notify_scripts(true);
        o.set_evasive_devices(true);
        o.set_tcp_established(opts.tcp_established);
        o.set_ext_unix_sk(opts.ext_unix_sk);
        o.set_shell_job(opts.shell_job);
        o.set_file_locks(opts.file_locks);
        o.set_network_lock(lock_method(criu::resolve_network_lock(
            criu.path(),
            opts.network_lock,
            Some(&self.root().join(criu::FEATURE_CACHE)),
        )));

        for m in &info.mounts {
            let source = mount_source(&m.mountpoint, &m.kind, &config, &cg)?;
            let mut e = Ext_mount_map::new();
            e.set_key(m.mountpoint.clone());
            e.set_val(source);
            o.ext_mnt.push(e);
        }

        // Stdio that was outside the container: the caller's streams.
        let mut opened: Vec<OwnedFd> = Vec::new();
        let mut keys: Vec<&str> = Vec::new();
        for s in info.stdio.iter().filter(|s| s.kind.inherited_on_restore()) {
            if keys.contains(&s.key.as_str()) {
                continue;
            }
            keys.push(&s.key);
            let stream = match s.fd {
                0 => &process.stdin,
                1 => &process.stdout,
                _ => &process.stderr,
            };
            let fd = stdio_fd(stream, s, &mut opened)?;
            let mut inherit = Inherit_fd::new();
            inherit.set_key(s.key.clone());
            inherit.set_fd(pass.add(fd)?);
            o.inherit_fd.push(inherit);
        }
        // Joined namespaces are handed over again.
        for ns in &info.namespaces {
            let path = config
                .namespace(ns.kind)
                .map(|n| n.path.clone())
                .filter(|p| !p.is_empty())
                .ok_or_else(|| {
                    SysError::msg(
                        "restore container",
                        format!(
                            "the checkpoint joined an existing {} namespace; the config must \
                             name one to join",
                            ns.kind.config_name()
                        ),
                    )
                })?;
            let f = crate::spawn::open_namespace(Path::new(&path))?;
            let mut inherit = Inherit_fd::new();
            inherit.set_key(ns.key.clone());
            inherit.set_fd(pass.add(f.as_fd())?);
            o.inherit_fd.push(inherit);
            opened.push(f);
        }
        let own_netns = config
            .namespace(NamespaceType::Net)
            .is_some_and(|n| n.path.is_empty());
        let net_from_config = own_netns && info.network == SavedNetwork::Config;
        if net_from_config {
            o.set_empty_ns(libc::CLONE_NEWNET as u32);
        }
        for v in &info.veths {
            let mut spec = format!("veth[{}]:{}", v.inside, v.host);
            if !v.bridge.is_empty() {
                spec.push('@');
                spec.push_str(&v.bridge);
            }
            o.external.push(spec);
        }

        let mut session = Session::start(criu.path(), &operation, &pass)?;
        check_version(criu.path(), session.version(true)?)?;
        let hook_cfg = config.hooks.clone();
        let bundle = st.bundle.clone();
        let veths: Vec<String> = info.veths.iter().map(|v| v.host.clone()).collect();
        let mut made: Vec<HostVeth> = Vec::new();
        let mut on_notify = |script: &str,
                             pid: i32,
                             _fd: Option<OwnedFd>|
         -> std::result::Result<(), String> {
            match script {
                // The namespaces exist, nothing runs yet: the runtime's
                // hooks (as before the pivot of a fresh start).
                "setup-namespaces" => {
                    // The network first when CRIU left it out, as at a
                    // fresh start.
                    if net_from_config {
                        setup_network(id, pid, &config, &mut made)?;
                    } else if own_netns {
                        // CRIU restores only some of them.
                        in_netns(pid, || net_sysctls(&config))?;
                    }
                    let hs = HookState::new(id, "creating", pid, &bundle).to_json();
                    hooks::run("prestart", &hook_cfg.prestart, &hs)
                        .and_then(|()| hooks::run("createRuntime", &hook_cfg.create_runtime, &hs))
                        .map_err(|e| e.to_string())
                }
                // CRIU lifts its lock of the namespace; the host ends of the
                // recreated veths come back down: up with them.
                "network-unlock" => {
                    for v in &veths {
                        criu::veth_up(v).map_err(|e| e.to_string())?;
                    }
                    Ok(())
                }
                _ => Ok(()),
            }
        };
        let resp = session.run(
            Request {
                kind: Criu_req_type::RESTORE,
                opts: o,
            },
            &log,
            &mut on_notify,
        );
        // Veths made from the config are the container's from the start.
        undo.veths = made.iter().map(|v| v.host_name.clone()).collect();
        let resp = resp?;
        drop(opened);
        let pid = resp.restore.pid();
        if pid > 0 {
            undo.pid = Some(pid);
        }
        session.finish()?;
        // From here on the veths are the container's (CRIU made them).
        let veths: Vec<String> = veths.into_iter().chain(undo.veths.clone()).collect();
        undo.veths = veths.clone();
        if pid <= 0 {
            return Err(CriuError::Protocol {
                operation,
                step: "read the reply of criu".into(),
                detail: "criu reported no restored pid".into(),
            }
            .into());
        }
        let start_time = process_start_time(pid).ok_or_else(|| {
            Error::InitDied(format!("restored process {pid} disappeared at once"))
        })?;
        for v in info.veths.iter().map(|v| &v.host) {
            criu::veth_up(v)?;
        }
        st.init_process_pid = pid;
        st.init_process_start = start_time;
        st.namespace_paths = crate::namespaces::namespace_paths(pid, &config);
        st.external_veths = veths;
        undo.dir()?.write(&st)?;
        let hs = HookState::new(id, "running", pid, &st.bundle).to_json();
        hooks::run("poststart", &config.hooks.poststart, &hs)?;
        process.handle = Some(Handle {
            pid,
            start_time,
            pidfd: pidfd_open(pid),
            is_child: true,
            console: None,
            exit: None,
        });
        undo.disarm();
        self.load(id)
    }
}

/// Sets up the restored, empty network namespace of `pid` from the config
/// the way a fresh start does: the veth pairs from the host side, then inside
/// the namespace loopback, the veths, the routes and the `net.*` sysctls.
/// The veths made are added to `made` as they are made.
fn setup_network(
    id: &str,
    pid: i32,
    cfg: &Config,
    made: &mut Vec<HostVeth>,
) -> std::result::Result<(), String> {
    for net in cfg.networks.iter().filter(|n| n.kind == NetworkType::Veth) {
        made.push(network::create_veth(net, id, pid).map_err(|e| e.to_string())?);
    }
    let peers = made.clone();
    in_netns(pid, || {
        network::setup_inside(&cfg.networks, &peers, &cfg.routes).map_err(|e| e.to_string())?;
        net_sysctls(cfg)
    })
}

/// The config's `net.*` sysctls, written in the calling thread's network
/// namespace (`/proc/sys/net` is the caller's).
fn net_sysctls(cfg: &Config) -> std::result::Result<(), String> {
    for (key, value) in cfg.sysctl.iter().filter(|(k, _)| k.starts_with("net.")) {
        let path = Path::new("/proc/sys").join(key.replace('.', "/"));
        std::fs::write(&path, value.as_bytes())
            .map_err(|e| format!("set sysctl {key}={value}: {}: {e}", path.display()))?;
    }
    Ok(())
}

/// Runs `work` in the network namespace of `pid`, on a thread of its own
/// (setns changes only the calling thread) that ends with the work.
fn in_netns(
    pid: i32,
    work: impl FnOnce() -> std::result::Result<(), String> + Send,
) -> std::result::Result<(), String> {
    let ns_path = format!("/proc/{pid}/ns/net");
    let ns = File::open(&ns_path).map_err(|e| format!("open {ns_path}: {e}"))?;
    std::thread::scope(|s| {
        s.spawn(|| {
            nix::sched::setns(&ns, nix::sched::CloneFlags::CLONE_NEWNET)
                .map_err(|e| format!("join the network namespace {ns_path}: setns: {e}"))?;
            work()
        })
        .join()
        .map_err(|_| "the network set-up thread panicked".to_string())?
    })
}

/// Opens the image directory, with one clear error when it is missing.
fn open_images(path: &Path) -> Result<File> {
    let step = "restore container";
    if path.as_os_str().is_empty() {
        return Err(SysError::msg(step, "no image directory given").into());
    }
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(SysError::new(step, "open image directory", libc::ENOTDIR)
                .with_path(path)
                .into())
        }
        Err(e) => {
            return Err(SysError::io(step, "open image directory", &e)
                .with_path(path)
                .into())
        }
    }
    Ok(File::open(path).ctx_path(step, "open image directory", path)?)
}

/// The host source of an external mount for the restored container.
fn mount_source(
    mountpoint: &str,
    kind: &MountKind,
    config: &Config,
    cg: &CgroupManager,
) -> Result<String> {
    let step = "restore container";
    let source = match kind {
        MountKind::Cgroup { controllers } => controllers
            .iter()
            .find_map(|c| cg.paths().get(c))
            .map(|p| p.display().to_string())
            .ok_or_else(|| {
                SysError::msg(
                    step,
                    format!(
                        "{mountpoint}: the cgroup hierarchy {} of the checkpoint is not on this host",
                        controllers.join(",")
                    ),
                )
            })?,
        MountKind::Bind { source } => config
            .mounts
            .iter()
            .find(|m| m.is_bind() && m.destination == mountpoint)
            .map(|m| m.source.clone())
            .unwrap_or_else(|| source.clone()),
    };
    if source.is_empty() || !Path::new(&source).exists() {
        return Err(SysError::new(step, "stat", libc::ENOENT)
            .with_path(PathBuf::from(&source))
            .with_detail(format!(
                "the source of the mount at {mountpoint} is missing"
            ))
            .into());
    }
    Ok(source)
}

/// The fd that stands for the checkpoint's stdio file `file` in the
/// restored init: `process`'s stream when it names one, else (inherit) the
/// same file opened again for a file (CRIU checks that it has the type, and
/// unless it was opened for appending, the size it had at the checkpoint),
/// else our own stream of that number.
fn stdio_fd<'a>(
    s: &'a Stdio,
    file: &StdioFile,
    opened: &'a mut Vec<OwnedFd>,
) -> Result<BorrowedFd<'a>> {
    match s {
        Stdio::Fd(f) => Ok(f.as_fd()),
        Stdio::Null => {
            opened.push(dev_null()?);
            // Just pushed: the vector is not empty.
            Ok(opened[opened.len() - 1].as_fd())
        }
        Stdio::Inherit => {
            if file.kind == StdioKind::File {
                let keep = libc::O_ACCMODE | libc::O_APPEND | libc::O_NONBLOCK;
                let flags = (file.flags & keep) | libc::O_CLOEXEC | libc::O_NOCTTY;
                if let Ok(fd) = nix::fcntl::open(
                    Path::new(&file.path),
                    nix::fcntl::OFlag::from_bits_truncate(flags),
                    nix::sys::stat::Mode::empty(),
                ) {
                    // SAFETY: open returned a new fd that nothing else owns.
                    opened.push(unsafe { OwnedFd::from_raw_fd(fd) });
                    return Ok(opened[opened.len() - 1].as_fd());
                }
            }
            // Our own stream, if it is open at all.
            let n = file.fd;
            if nix::fcntl::fcntl(n, nix::fcntl::FcntlArg::F_GETFD).is_ok() {
                // SAFETY: fd n is open (checked just above) and stays open
                // for this call: stdio is never closed by the runtime.
                Ok(unsafe { BorrowedFd::borrow_raw(n) })
            } else {
                opened.push(dev_null()?);
                Ok(opened[opened.len() - 1].as_fd())
            }
        }
    }
}

/// What a restore has made so far, undone on drop unless disarmed.
struct Undo {
    dir: Option<StateDir>,
    cgroups: Option<CgroupManager>,
    /// The root mount point, and whether it is mounted.
    root_mount: Option<(PathBuf, bool)>,
    pid: Option<i32>,
    veths: Vec<String>,
}

impl Undo {
    fn dir(&self) -> Result<&StateDir> {
        self.dir
            .as_ref()
            .ok_or_else(|| SysError::msg("restore container", "state directory gone").into())
    }

    /// Keeps the container (the root mount point still goes).
    fn disarm(&mut self) {
        self.unmount_root();
        self.pid = None;
        self.cgroups = None;
        self.veths.clear();
        self.dir = None;
    }

    fn unmount_root(&mut self) {
        if let Some((root, mounted)) = self.root_mount.take() {
            if mounted {
                let _ = nix::mount::umount2(&root, nix::mount::MntFlags::MNT_DETACH);
            }
            let _ = std::fs::remove_dir(&root);
        }
    }
}

impl Drop for Undo {
    fn drop(&mut self) {
        self.unmount_root();
        if let Some(pid) = self.pid.take() {
            // SAFETY: kill with plain integers; the pid is our unreaped child
            // (restored as a sibling of criu), so it cannot have been reused.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            let _ = crate::process::wait_pid(pid);
        }
        if let Some(cg) = self.cgroups.take() {
            let _ = cg.kill_all();
            let _ = cg.destroy();
        }
        for v in &self.veths {
            let _ = crate::network::delete_link(v);
        }
        if let Some(dir) = self.dir.take() {
            let _ = dir.remove();
        }
    }
}
