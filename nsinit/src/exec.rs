//! `nsinit exec`: run a command in a new container (created from the config,
//! destroyed when the command ends), or in the running container of that id.

use std::path::{Path, PathBuf};

use nsinit_runtime::{Container, Error, ExitStatus, Factory, Process, Status};

use crate::logging::debug;
use crate::signals;
use crate::tty;
use crate::Cli;

/// Arguments of `nsinit exec`.
#[derive(clap::Args, Debug)]
pub struct ExecArgs {
    /// Allocate a pseudo terminal (the config's own process, run when no
    /// COMMAND is given, also gets one when its `terminal` is set).
    #[arg(short = 't', long)]
    pub tty: bool,
    /// Container config (libcontainer format or an OCI bundle's config.json).
    #[arg(long, default_value = "container.json", value_name = "FILE")]
    pub config: PathBuf,
    /// An OCI bundle: its config.json is the config.
    #[arg(long, short = 'b', value_name = "DIR", conflicts_with = "config")]
    pub bundle: Option<PathBuf>,
    /// Container id.
    #[arg(long, default_value = "nsinit")]
    pub id: String,
    /// User: uid, uid:gid, name or name:group (default: the config's, else root).
    #[arg(short = 'u', long)]
    pub user: Option<String>,
    /// Working directory inside the container.
    #[arg(long)]
    pub cwd: Option<String>,
    /// Environment variable KEY=VALUE (repeatable; replaces the config's environment).
    #[arg(long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// The command and its arguments (default: the config's process).
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND"
    )]
    pub command: Vec<String>,
}

pub fn run(cli: &Cli, a: &ExecArgs) -> Result<i32, String> {
    let factory = Factory::new(&cli.root).map_err(|e| e.to_string())?;
    let existing = match factory.load(&a.id) {
        Ok(c) => Some(c),
        Err(Error::NotFound(_)) => None,
        Err(e) => return Err(e.to_string()),
    };
    let config = crate::commands::config_file(&a.config, a.bundle.as_deref());
    match existing {
        Some(c) => join(c, a),
        None if !config.exists() => Err(format!(
            "container {:?} does not exist, and there is no config to create it from ({}: not found)",
            a.id,
            config.display()
        )),
        None => run_new(&factory, a, &config),
    }
}

fn build_process(a: &ExecArgs, env_default: Option<Vec<String>>) -> Process {
    let mut p = Process::new(a.command.clone());
    if !a.env.is_empty() {
        let mut env = env_default.unwrap_or_default();
        for kv in &a.env {
            let key = kv.split('=').next().unwrap_or("");
            env.retain(|e| e.split('=').next() != Some(key));
            env.push(kv.clone());
        }
        p.env = Some(env);
    }
    p.user = a.user.clone();
    p.cwd = a.cwd.clone();
    p
}

fn default_env(c: &nsinit_configs::Config) -> Vec<String> {
    c.process
        .as_ref()
        .map(|p| p.env.clone())
        .filter(|e| !e.is_empty())
        .unwrap_or_else(|| {
            vec![
                format!("PATH={}", nsinit_runtime::init::finalize::DEFAULT_PATH),
                "TERM=xterm".into(),
            ]
        })
}

fn run_new(factory: &Factory, a: &ExecArgs, file: &Path) -> Result<i32, String> {
    let config = nsinit_configs::load(file).map_err(|e| e.to_string())?;
    let bundle = crate::commands::bundle_of(file);
    let mut process = build_process(a, Some(default_env(&config)));
    let default_process = config.process.as_ref().filter(|p| !p.args.is_empty());
    if process.args.is_empty() && default_process.is_none() {
        return Err("no command given and the config has no process".into());
    }
    // The config's own process runs with its terminal setting, as in an OCI
    // bundle; a command given on the line gets one only with --tty.
    let tty = a.tty || (process.args.is_empty() && default_process.is_some_and(|p| p.terminal));
    debug(&format!(
        "create container {} from {}",
        a.id,
        file.display()
    ));
    let container = factory
        .create_in_bundle(&a.id, config, &bundle)
        .map_err(|e| e.to_string())?;
    let status = match supervise(tty, &mut process, |p| container.run(p)) {
        Ok(status) => status,
        Err(e) => {
            let _ = container.destroy();
            return Err(e);
        }
    };
    container.destroy().map_err(|e| e.to_string())?;
    debug(&format!("container {} ended: {status}", a.id));
    Ok(status.code())
}

fn join(c: Container, a: &ExecArgs) -> Result<i32, String> {
    let status = c.status().map_err(|e| e.to_string())?;
    match status {
        Status::Running | Status::Created => {}
        Status::Paused => {
            return Err(format!(
                "container {:?} is paused: resume it before exec",
                a.id
            ))
        }
        Status::Stopped => {
            return Err(format!(
                "container {:?} exists but is stopped; remove it first with `nsinit delete {}`",
                a.id, a.id
            ))
        }
    }
    if a.command.is_empty() {
        return Err("a command is required to exec into a running container".into());
    }
    let cfg = c.config().map_err(|e| e.to_string())?;
    let mut process = build_process(a, Some(default_env(&cfg)));
    let status = supervise(a.tty, &mut process, |p| c.start(p))?;
    Ok(status.code())
}

/// Starts `process` with `start` and waits for it, forwarding signals, and
/// with `--tty` relaying the terminal.
///
/// With `--tty` the calling terminal is in raw mode from before the start
/// until this function returns; the [`tty::Session`] guard restores it on
/// every way out (the process ended, the start failed, an error, a panic),
/// before the caller destroys the container or prints an error, and before
/// `main` exits with the code. Signals that would end `nsinit` (SIGTERM,
/// SIGHUP, SIGINT, ...) are blocked and forwarded, so they cannot skip it.
fn supervise(
    tty: bool,
    process: &mut Process,
    start: impl FnOnce(&mut Process) -> nsinit_runtime::Result<()>,
) -> Result<ExitStatus, String> {
    // Blocked before the size is read: a resize after that is not lost.
    let mut sfd = signals::block()?;
    let session = if tty {
        let s = tty::Session::begin()?;
        process.terminal = true;
        process.terminal_size = s.size();
        Some(s)
    } else {
        None
    };
    start(process).map_err(|e| e.to_string())?;
    let status = match &session {
        Some(s) => match process.take_console() {
            Some(master) => {
                let mut relay = s.relay(master);
                signals::wait_forwarding(process, &mut sfd, &mut relay)
            }
            None => Err("the runtime gave the process no terminal".to_string()),
        },
        None => signals::wait_forwarding(process, &mut sfd, &mut signals::NoHook),
    };
    if status.is_err() {
        // Nobody is left to relay for or wait on the process: do not leave it
        // running detached from everything.
        let _ = process.terminate();
        let _ = process.wait();
    }
    // Whatever arrived after the end has no process to go to.
    signals::discard_pending(&mut sfd);
    drop(session);
    status
}
