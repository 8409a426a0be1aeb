//! Checkpoint of a running container through CRIU (see [`crate::criu`] for
//! what CRIU is told and why).

// `Factory::restore` lives next door; container/mod.rs declares only this
// module, so the restore file is reached from here.
#[path = "restore.rs"]
mod restore;

use std::fs::File;
use std::os::fd::AsFd;
use std::path::Path;

use nsinit_configs::{FreezerState, NamespaceType, NetworkType};
use rust_criu::rust_criu_protobuf::rpc::{
    Criu_network_lock_method, Criu_opts, Criu_page_server_info, Criu_req_type, Ext_mount_map,
};

use super::state::State;
use super::{bad_status, status_of, Container, Status};
use crate::cgroups::{CgroupManager, UNIFIED};
use crate::criu::{
    self, check_version, CheckpointInfo, CheckpointOpts, CriuError, ExternalNamespace,
    ExternalVeth, FdPass, NetworkLock, NetworkState, Request, SavedNetwork, Session,
    CHECKPOINT_INFO,
};
use crate::error::{Context, Error, Result, SysError};

impl Container {
    /// Saves the container to `opts.image_path` with CRIU. Unless
    /// [`leave_running`](CheckpointOpts::leave_running) (or
    /// [`pre_dump`](CheckpointOpts::pre_dump)) is set, the container is
    /// destroyed afterwards (its processes were killed by the dump; cgroups,
    /// veths and state go, the poststop hooks run), and
    /// [`Factory::restore`](crate::Factory::restore) brings it back.
    ///
    /// The container must be running or paused. A failed checkpoint leaves
    /// it as it was (running, or paused when it was) and the error names
    /// CRIU's log ([`CriuError::Failed`]); a CRIU too old for this kernel is
    /// [`CriuError::TooOld`]; a pre-dump on a kernel without memory change
    /// tracking is [`CriuError::Unsupported`].
    ///
    /// ```no_run
    /// use nsinit_runtime::criu::CheckpointOpts;
    /// use nsinit_runtime::Factory;
    /// # fn main() -> nsinit_runtime::Result<()> {
    /// let c = Factory::new("/run/nsinit")?.load("web")?;
    /// c.checkpoint(&CheckpointOpts {
    ///     tcp_established: true,
    ///     criu_path: Some("/var/cache/nsinit/criu/criu".into()),
    ///     ..CheckpointOpts::new("/var/lib/checkpoints/web")
    /// })?;
    /// assert!(c.state().is_err()); // gone until restored
    /// # Ok(()) }
    /// ```
    pub fn checkpoint(&self, opts: &CheckpointOpts) -> Result<()> {
        let (dir, st) = self.open(true)?;
        let status = status_of(&dir, &st);
        if !matches!(status, Status::Running | Status::Paused) {
            return Err(bad_status(&st, status, "checkpoint it"));
        }
        let what = if opts.pre_dump {
            "pre-dump"
        } else {
            "checkpoint"
        };
        let operation = format!("{what} of container {:?}", st.id);

        let info = describe(&st, opts, &operation)?;
        let opts = &CheckpointOpts {
            network_lock: criu::resolve_network_lock(
                criu::Criu::new(opts.criu_path.as_deref()).path(),
                opts.network_lock,
                Some(&self.inner.root.join(criu::FEATURE_CACHE)),
            ),
            ..opts.clone()
        };
        let mut created = Vec::new();
        let result = dump(&st, status, &info, opts, &operation, &mut created);
        if let Err(e) = result {
            // Directories this call made go again when nothing (no log) is
            // in them.
            for d in created.iter().rev() {
                let _ = std::fs::remove_dir(d);
            }
            return Err(e);
        }
        if opts.leave_running || opts.pre_dump {
            return Ok(());
        }
        // The dump killed the tree; the rest of the container goes.
        drop(dir);
        match self.destroy() {
            Ok(()) | Err(Error::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// The dump itself, under the container's lock.
fn dump(
    st: &State,
    status: Status,
    info: &CheckpointInfo,
    opts: &CheckpointOpts,
    operation: &str,
    created: &mut Vec<std::path::PathBuf>,
) -> Result<()> {
    let (images, work) = open_dirs(opts, created)?;
    let mut pass = FdPass::default();
    let mut o = Criu_opts::new();
    o.set_images_dir_fd(pass.add(images.as_fd())?);
    if let Some(w) = &work {
        o.set_work_dir_fd(pass.add(w.as_fd())?);
    }
    let log = opts.log_file();
    o.set_log_file(file_name(&log));
    o.set_log_level(criu::log_level(opts.log_level));
    o.set_pid(st.init_process_pid);
    o.set_root(rootfs_of(st)?);
    o.set_manage_cgroups(true);
    o.set_notify_scripts(true);
    o.set_leave_running(opts.leave_running);
    o.set_tcp_established(opts.tcp_established);
    o.set_ext_unix_sk(opts.ext_unix_sk);
    o.set_shell_job(opts.shell_job);
    o.set_file_locks(opts.file_locks);
    o.set_network_lock(lock_method(opts.network_lock));
    if info.network == SavedNetwork::Config {
        o.set_empty_ns(libc::CLONE_NEWNET as u32);
    }
    if let Some(freezer) = st
        .cgroup_paths
        .get("freezer")
        .or_else(|| match st.cgroup_paths.len() {
            1 => st.cgroup_paths.get(UNIFIED),
            _ => None,
        })
    {
        // The cgroup freezer stops the whole tree at once (forks
        // included), faster than seizing each task.
        o.set_freeze_cgroup(freezer.display().to_string());
    }
    for m in &info.mounts {
        let mut e = Ext_mount_map::new();
        e.set_key(m.mountpoint.clone());
        e.set_val(m.mountpoint.clone());
        o.ext_mnt.push(e);
    }
    for s in info.stdio.iter().filter(|s| s.kind.external_on_dump()) {
        if !o.external.contains(&s.key) {
            o.external.push(s.key.clone());
        }
    }
    for ns in &info.namespaces {
        let path = format!("/proc/{}/ns/{}", st.init_process_pid, ns.kind.proc_name());
        let ino = std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(&path).ctx_path(
            "checkpoint container",
            "stat",
            &path,
        )?);
        o.external
            .push(format!("{}[{ino}]:{}", ns.kind.proc_name(), ns.key));
    }
    if let Some(ps) = &opts.page_server {
        let mut p = Criu_page_server_info::new();
        p.set_address(ps.address.clone());
        p.set_port(i32::from(ps.port));
        o.ps = protobuf::MessageField::some(p);
    }
    if let Some(parent) = &opts.parent_path {
        o.set_parent_img(parent.display().to_string());
        o.set_track_mem(true);
    }
    if opts.pre_dump {
        o.set_track_mem(true);
    }

    let criu = criu::Criu::new(opts.criu_path.as_deref());
    let mut session = Session::start(criu.path(), operation, &pass)?;
    check_version(criu.path(), session.version(true)?)?;
    if (opts.pre_dump || opts.parent_path.is_some()) && !session.memory_tracking(true)? {
        return Err(CriuError::Unsupported {
            operation: operation.to_string(),
            reason: "CRIU cannot track memory changes on this kernel (no soft-dirty page \
                         tracking: CONFIG_MEM_SOFT_DIRTY), which pre-dump and --parent-path \
                         need; take a plain checkpoint instead"
                .to_string(),
        }
        .into());
    }
    info.write(&opts.image_path)?;
    let kind = if opts.pre_dump {
        Criu_req_type::SINGLE_PRE_DUMP
    } else {
        Criu_req_type::DUMP
    };
    // The tree is frozen here first: our freezer polls in fine steps where
    // CRIU's waits 100 ms whenever the cgroup is still FREEZING. CRIU then
    // finds it frozen, dumps, and leaves it frozen (its state before); the
    // thaw below lets a killed tree die and a surviving one go on.
    let cg = CgroupManager::from_paths(&st.cgroup_paths).ok();
    let frozen_here = status == Status::Running
        && o.has_freeze_cgroup()
        && cg.as_ref().is_some_and(|cg| cg.freeze().is_ok());
    // CRIU locks the network namespace itself (iptables or nftables
    // rules inside it); the notifications around it need no more.
    let mut on_notify = |_script: &str, _pid: i32, _fd| Ok(());
    let result = session
        .run(Request { kind, opts: o }, &log, &mut on_notify)
        .and_then(|_| session.finish());
    if status == Status::Running {
        // Also after a crash of criu, which may have left it frozen.
        if let Some(cg) = &cg {
            if frozen_here || matches!(cg.freezer_state(), Ok(FreezerState::Frozen)) {
                let _ = cg.thaw();
            }
        }
    }
    if let Err(e) = result {
        if !opts.pre_dump {
            let _ = std::fs::remove_file(opts.image_path.join(CHECKPOINT_INFO));
        }
        return Err(e.into());
    }
    Ok(())
}

/// The record of the container for the image directory: its config, the
/// mounts and stdio that are external to it, its veths, joined namespaces.
fn describe(st: &State, opts: &CheckpointOpts, operation: &str) -> Result<CheckpointInfo> {
    let cfg = &st.config;
    let mut info = CheckpointInfo::new(&st.id, cfg.clone(), &st.bundle);
    let own_netns = cfg
        .namespace(NamespaceType::Net)
        .is_some_and(|n| n.path.is_empty());
    let may_change_network = cfg
        .capabilities
        .bounding
        .iter()
        .any(|c| c.eq_ignore_ascii_case("CAP_NET_ADMIN"));
    info.network = match opts.network_state {
        _ if !own_netns => SavedNetwork::Criu,
        NetworkState::Dump => SavedNetwork::Criu,
        NetworkState::Config => SavedNetwork::Config,
        NetworkState::Auto if may_change_network => SavedNetwork::Criu,
        NetworkState::Auto => SavedNetwork::Config,
    };
    for ns in &cfg.namespaces {
        if ns.path.is_empty() {
            continue;
        }
        let key = match ns.kind {
            NamespaceType::Net => "extRootNetNS",
            NamespaceType::Pid => "extRootPidNS",
            other => {
                return Err(CriuError::Unsupported {
                    operation: operation.to_string(),
                    reason: format!(
                        "the container joined an existing {} namespace ({}); CRIU can only \
                         leave network and pid namespaces outside a checkpoint",
                        other.config_name(),
                        ns.path
                    ),
                }
                .into())
            }
        };
        info.namespaces.push(ExternalNamespace {
            kind: ns.kind,
            key: key.to_string(),
        });
    }
    info.mounts = criu::external_mounts(st.init_process_pid)?;
    info.stdio = criu::stdio_files(st.init_process_pid)?;
    // Made again from the config when CRIU leaves the network out.
    let saved = if info.network == SavedNetwork::Criu {
        usize::MAX
    } else {
        0
    };
    let veths = cfg.networks.iter().filter(|n| n.kind == NetworkType::Veth);
    for (net, host) in veths.zip(&st.external_veths).take(saved) {
        info.veths.push(ExternalVeth {
            inside: if net.name.is_empty() {
                crate::network::DEFAULT_VETH_NAME.to_string()
            } else {
                net.name.clone()
            },
            host: host.clone(),
            bridge: net.bridge.clone(),
        });
    }
    Ok(info)
}

/// Creates (noting in `created` what did not exist) and opens the image
/// directory and the work directory.
fn open_dirs(
    opts: &CheckpointOpts,
    created: &mut Vec<std::path::PathBuf>,
) -> Result<(File, Option<File>)> {
    let mut open = |p: &Path| -> Result<File> {
        // Every missing ancestor too, outermost first.
        let missing: Vec<&Path> = p.ancestors().take_while(|a| !a.exists()).collect();
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(p)
            .ctx_path("create image directory", "mkdir", p)?;
        created.extend(missing.into_iter().rev().map(Path::to_path_buf));
        Ok(File::open(p).ctx_path("open image directory", "open", p)?)
    };
    if opts.image_path.as_os_str().is_empty() {
        return Err(SysError::msg("checkpoint container", "no image directory given").into());
    }
    let images = open(&opts.image_path)?;
    let work = opts.work_path.as_deref().map(&mut open).transpose()?;
    Ok((images, work))
}

/// The container's rootfs, absolute.
pub(crate) fn rootfs_of(st: &State) -> Result<String> {
    let p = Path::new(&st.config.rootfs);
    Ok(std::fs::canonicalize(p)
        .ctx_path("find rootfs", "realpath", p)?
        .display()
        .to_string())
}

/// The last component of a log path (CRIU takes a name in its work dir).
pub(crate) fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

pub(crate) fn lock_method(l: NetworkLock) -> Criu_network_lock_method {
    match l {
        // Auto is resolved before a request is made (features.rs); were it
        // not, CRIU's own default is what it would get.
        NetworkLock::Auto | NetworkLock::Iptables => Criu_network_lock_method::IPTABLES,
        NetworkLock::Nftables => Criu_network_lock_method::NFTABLES,
        NetworkLock::Skip => Criu_network_lock_method::SKIP,
    }
}

use std::os::unix::fs::DirBuilderExt;
