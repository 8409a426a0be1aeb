//! `nsinit checkpoint` and `nsinit restore`: a container to disk and back
//! through CRIU (the global `--criu PATH` / NSINIT_CRIU names the binary).

use std::path::PathBuf;

use nsinit_runtime::criu::{CheckpointOpts, NetworkLock, NetworkState, PageServer, RestoreOpts};
use nsinit_runtime::{Factory, Process};

use crate::logging::debug;
use crate::signals;
use crate::Cli;

/// Flags `checkpoint` and `restore` share.
#[derive(clap::Args, Debug)]
pub struct CriuArgs {
    #[command(flatten)]
    pub id: crate::commands::IdArgs,
    /// Directory of the images (created by checkpoint if missing).
    #[arg(long, value_name = "DIR")]
    pub image_path: PathBuf,
    /// Directory for CRIU's log and work files (default: the image directory).
    #[arg(long, value_name = "DIR")]
    pub work_path: Option<PathBuf>,
    /// Established TCP connections are part of the checkpoint.
    #[arg(long)]
    pub tcp_established: bool,
    /// Unix sockets connected to peers outside the container are allowed.
    #[arg(long)]
    pub ext_unix_sk: bool,
    /// The process tree is a job of a shell outside the container.
    #[arg(long)]
    pub shell_job: bool,
    /// File locks are part of the checkpoint.
    #[arg(long)]
    pub file_locks: bool,
    /// How CRIU locks the network meanwhile: auto (nftables when this criu
    /// and kernel support it, else iptables), iptables, nftables or skip.
    #[arg(long, value_name = "METHOD", default_value = "auto")]
    pub network_lock: NetworkLock,
}

/// Arguments of `nsinit checkpoint`.
#[derive(clap::Args, Debug)]
pub struct CheckpointArgs {
    #[command(flatten)]
    pub criu: CriuArgs,
    /// Keep the container running after the checkpoint.
    #[arg(long)]
    pub leave_running: bool,
    /// Send the memory pages to a CRIU page server at ADDR:PORT.
    #[arg(long, value_name = "ADDR:PORT")]
    pub page_server: Option<PageServer>,
    /// Only pre-dump the memory (the container keeps running).
    #[arg(long)]
    pub pre_dump: bool,
    /// Images of a previous pre-dump (absolute or relative to the image directory).
    #[arg(long, value_name = "DIR")]
    pub parent_path: Option<PathBuf>,
    /// The network namespace's configuration: `dump` it with CRIU, or set it
    /// up from the `config` on restore (faster); `auto`: config unless the
    /// container has CAP_NET_ADMIN.
    #[arg(long, value_name = "MODE", default_value = "auto")]
    pub network_state: NetworkState,
}

/// Arguments of `nsinit restore`.
#[derive(clap::Args, Debug)]
pub struct RestoreArgs {
    #[command(flatten)]
    pub criu: CriuArgs,
    /// Container config to restore with (default: the one saved with the checkpoint).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Return once the container runs (otherwise wait for it like `exec`,
    /// forward signals, return its exit code and destroy it at the end).
    #[arg(long, short = 'd')]
    pub detach: bool,
    /// Write the restored init's pid to this file.
    #[arg(long, value_name = "FILE")]
    pub pid_file: Option<PathBuf>,
}

pub fn checkpoint(cli: &Cli, a: &CheckpointArgs) -> Result<i32, String> {
    let factory = Factory::new(&cli.root).map_err(|e| e.to_string())?;
    let c = factory.load(a.criu.id.id()).map_err(|e| e.to_string())?;
    let opts = CheckpointOpts {
        image_path: a.criu.image_path.clone(),
        work_path: a.criu.work_path.clone(),
        leave_running: a.leave_running,
        tcp_established: a.criu.tcp_established,
        ext_unix_sk: a.criu.ext_unix_sk,
        shell_job: a.criu.shell_job,
        file_locks: a.criu.file_locks,
        page_server: a.page_server.clone(),
        pre_dump: a.pre_dump,
        parent_path: a.parent_path.clone(),
        network_lock: a.criu.network_lock,
        network_state: a.network_state,
        log_level: 0,
        criu_path: cli.criu.clone(),
    };
    debug(&format!(
        "checkpoint {} into {} (criu log {})",
        a.criu.id.id(),
        a.criu.image_path.display(),
        opts.log_file().display()
    ));
    c.checkpoint(&opts).map_err(|e| e.to_string())?;
    Ok(0)
}

pub fn restore(cli: &Cli, a: &RestoreArgs) -> Result<i32, String> {
    let factory = Factory::new(&cli.root).map_err(|e| e.to_string())?;
    let id = a.criu.id.id();
    let config = match &a.config {
        Some(p) => Some(nsinit_configs::load(p).map_err(|e| e.to_string())?),
        None => None,
    };
    let opts = RestoreOpts {
        image_path: a.criu.image_path.clone(),
        work_path: a.criu.work_path.clone(),
        tcp_established: a.criu.tcp_established,
        ext_unix_sk: a.criu.ext_unix_sk,
        shell_job: a.criu.shell_job,
        file_locks: a.criu.file_locks,
        network_lock: a.criu.network_lock,
        bundle: a.config.as_deref().map(crate::commands::bundle_of),
        log_level: 0,
        criu_path: cli.criu.clone(),
    };
    debug(&format!(
        "restore {id} from {} (criu log {})",
        a.criu.image_path.display(),
        opts.log_file().display()
    ));
    // The restored init's outside stdio is ours (a detached caller passes
    // files or /dev/null).
    let mut process = Process::default();
    // Blocked before the restore so that nothing is lost between it and
    // the wait; criu itself starts with a clean mask.
    let mut sfd = if a.detach {
        None
    } else {
        Some(signals::block()?)
    };
    let container = factory
        .restore(id, config, &mut process, &opts)
        .map_err(|e| e.to_string())?;
    let pid = process.pid().unwrap_or(0);
    debug(&format!("container {id} restored as pid {pid}"));
    if let Some(path) = &a.pid_file {
        if let Err(e) = std::fs::write(path, format!("{pid}")) {
            // Whoever asked for the file cannot track the container.
            let _ = container.destroy();
            return Err(format!("write pid file {}: {e}", path.display()));
        }
    }
    let Some(sfd) = sfd.as_mut() else {
        return Ok(0);
    };
    let status = signals::wait_forwarding(&mut process, sfd, &mut signals::NoHook);
    signals::discard_pending(sfd);
    let destroyed = container.destroy();
    let status = status?;
    destroyed.map_err(|e| e.to_string())?;
    debug(&format!("container {id} ended: {status}"));
    Ok(status.code())
}
