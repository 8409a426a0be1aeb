//! `nsinit exec`: run a command in a new container (created from the config,
//! destroyed when the command ends), or in the running container of that id.

use std::path::PathBuf;

use nsinit_runtime::{Container, Error, Factory, Process, Status};

use crate::logging::debug;
use crate::signals;
use crate::Cli;

/// Arguments of `nsinit exec`.
#[derive(clap::Args, Debug)]
pub struct ExecArgs {
    /// Allocate a pseudo terminal.
    #[arg(short = 't', long)]
    pub tty: bool,
    /// Container config (libcontainer format or an OCI bundle's config.json).
    #[arg(long, default_value = "container.json", value_name = "FILE")]
    pub config: PathBuf,
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
    match existing {
        Some(c) => join(c, a),
        None => run_new(&factory, a),
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
    p.terminal = a.tty;
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

fn run_new(factory: &Factory, a: &ExecArgs) -> Result<i32, String> {
    let config = nsinit_configs::load(&a.config).map_err(|e| e.to_string())?;
    let bundle = crate::commands::bundle_of(&a.config);
    let mut process = build_process(a, Some(default_env(&config)));
    if process.args.is_empty() && config.process.as_ref().is_none_or(|p| p.args.is_empty()) {
        return Err("no command given and the config has no process".into());
    }
    debug(&format!(
        "create container {} from {}",
        a.id,
        a.config.display()
    ));
    let container = factory
        .create_in_bundle(&a.id, config, &bundle)
        .map_err(|e| e.to_string())?;
    let mut sfd = signals::block()?;
    let started = container.run(&mut process);
    if let Err(e) = started {
        signals::unblock();
        let _ = container.destroy();
        return Err(e.to_string());
    }
    debug(&format!("container {} runs pid {:?}", a.id, process.pid()));
    let status = wait(&mut process, &mut sfd);
    signals::unblock();
    let destroyed = container.destroy();
    let status = status?;
    destroyed.map_err(|e| e.to_string())?;
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
    let mut sfd = signals::block()?;
    if let Err(e) = c.start(&mut process) {
        signals::unblock();
        return Err(e.to_string());
    }
    let status = wait(&mut process, &mut sfd);
    signals::unblock();
    Ok(status?.code())
}

/// Waits for the process, forwarding signals.
fn wait(
    process: &mut Process,
    sfd: &mut nix::sys::signalfd::SignalFd,
) -> Result<nsinit_runtime::ExitStatus, String> {
    signals::wait_forwarding(process, sfd, &mut signals::NoHook)
}
