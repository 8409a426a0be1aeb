//! The smaller commands: create, start, state, list, kill, delete, ps.

use std::path::PathBuf;

use nsinit_configs::Signal;
use nsinit_runtime::{Error, Factory, Process, Status};

use crate::Cli;

/// A container id, positional or `--id`.
#[derive(clap::Args, Debug)]
pub struct IdArgs {
    /// Container id.
    #[arg(value_name = "ID")]
    pub id_pos: Option<String>,
    /// Container id (same as the positional argument).
    #[arg(long = "id", default_value = "nsinit")]
    pub id_flag: String,
}

impl IdArgs {
    pub fn id(&self) -> &str {
        self.id_pos.as_deref().unwrap_or(&self.id_flag)
    }
}

/// Arguments of `nsinit create`.
#[derive(clap::Args, Debug)]
pub struct CreateArgs {
    /// Container config (libcontainer format or an OCI bundle's config.json).
    #[arg(long, default_value = "container.json", value_name = "FILE")]
    pub config: PathBuf,
    #[command(flatten)]
    pub id: IdArgs,
    /// Write the init's pid to this file.
    #[arg(long, value_name = "FILE")]
    pub pid_file: Option<PathBuf>,
    /// The command and its arguments (default: the config's process).
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// Arguments of `nsinit list`.
#[derive(clap::Args, Debug)]
pub struct ListArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `nsinit kill`.
#[derive(clap::Args, Debug)]
pub struct KillArgs {
    #[command(flatten)]
    pub id: IdArgs,
    /// Signal every process of the container, not only its init.
    #[arg(long, short = 'a')]
    pub all: bool,
    /// Signal name or number.
    #[arg(long = "signal", short = 's', default_value = "SIGTERM")]
    pub signal: String,
}

/// Arguments of `nsinit delete`.
#[derive(clap::Args, Debug)]
pub struct DeleteArgs {
    #[command(flatten)]
    pub id: IdArgs,
    /// Also delete a container that is running (it is killed).
    #[arg(long, short = 'f')]
    pub force: bool,
}

/// The directory a config file lives in (the bundle, for hooks), absolute.
pub fn bundle_of(config: &std::path::Path) -> String {
    let dir = match config.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => std::path::Path::new("."),
    };
    std::fs::canonicalize(dir)
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

fn factory(cli: &Cli) -> Result<Factory, String> {
    Factory::new(&cli.root).map_err(|e| e.to_string())
}

pub fn create(cli: &Cli, a: &CreateArgs) -> Result<i32, String> {
    let f = factory(cli)?;
    let config = nsinit_configs::load(&a.config).map_err(|e| e.to_string())?;
    let bundle = bundle_of(&a.config);
    let c = f
        .create_in_bundle(a.id.id(), config, &bundle)
        .map_err(|e| e.to_string())?;
    let mut p = Process::new(a.command.clone());
    // A detached container keeps nothing of ours: stdio to /dev/null unless the
    // caller redirected it.
    p.stdin = nsinit_runtime::Stdio::Null;
    if let Err(e) = c.start(&mut p) {
        let _ = c.destroy();
        return Err(e.to_string());
    }
    if let Some(path) = &a.pid_file {
        let pid = p.pid().unwrap_or(0);
        std::fs::write(path, format!("{pid}"))
            .map_err(|e| format!("write pid file {}: {e}", path.display()))?;
    }
    Ok(0)
}

pub fn start(cli: &Cli, a: &IdArgs) -> Result<i32, String> {
    let c = factory(cli)?.load(a.id()).map_err(|e| e.to_string())?;
    c.exec().map_err(|e| e.to_string())?;
    Ok(0)
}

pub fn state(cli: &Cli, a: &IdArgs) -> Result<i32, String> {
    let c = factory(cli)?.load(a.id()).map_err(|e| e.to_string())?;
    let st = c.state().map_err(|e| e.to_string())?;
    let status = c.status().map_err(|e| e.to_string())?;
    let mut v = serde_json::to_value(&st).map_err(|e| e.to_string())?;
    if let Some(o) = v.as_object_mut() {
        o.insert(
            "status".into(),
            serde_json::Value::String(status.to_string()),
        );
    }
    println!(
        "{}",
        serde_json::to_string_pretty(&v).map_err(|e| e.to_string())?
    );
    Ok(0)
}

pub fn list(cli: &Cli, a: &ListArgs) -> Result<i32, String> {
    let f = factory(cli)?;
    let mut rows = Vec::new();
    for id in f.list().map_err(|e| e.to_string())? {
        let Ok(c) = f.load(&id) else { continue };
        let (Ok(st), Ok(status)) = (c.state(), c.status()) else {
            continue;
        };
        rows.push((id, status, st));
    }
    if a.json {
        let v: Vec<serde_json::Value> = rows
            .iter()
            .map(|(id, status, st)| {
                serde_json::json!({
                    "id": id,
                    "status": status.to_string(),
                    "pid": if *status == Status::Stopped { 0 } else { st.init_process_pid },
                    "rootfs": st.config.rootfs,
                    "bundle": st.bundle,
                    "created": st.created,
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&v).map_err(|e| e.to_string())?
        );
        return Ok(0);
    }
    println!(
        "{:<20} {:>8} {:<10} {:<32} ROOTFS",
        "ID", "PID", "STATUS", "CREATED"
    );
    for (id, status, st) in rows {
        let pid = if status == Status::Stopped {
            0
        } else {
            st.init_process_pid
        };
        println!(
            "{id:<20} {pid:>8} {:<10} {:<32} {}",
            status.to_string(),
            st.created,
            st.config.rootfs
        );
    }
    Ok(0)
}

pub fn kill(cli: &Cli, a: &KillArgs) -> Result<i32, String> {
    let sig = Signal::parse(&a.signal).ok_or_else(|| format!("unknown signal {:?}", a.signal))?;
    let c = factory(cli)?.load(a.id.id()).map_err(|e| e.to_string())?;
    c.signal(sig.0, a.all).map_err(|e| e.to_string())?;
    Ok(0)
}

pub fn delete(cli: &Cli, a: &DeleteArgs) -> Result<i32, String> {
    let c = match factory(cli)?.load(a.id.id()) {
        Ok(c) => c,
        Err(e @ Error::NotFound(_)) => return Err(e.to_string()),
        Err(e) => return Err(e.to_string()),
    };
    let status = c.status().map_err(|e| e.to_string())?;
    if matches!(status, Status::Running | Status::Paused) && !a.force {
        return Err(format!(
            "container {:?} is {status}: stop it first or use --force",
            a.id.id()
        ));
    }
    c.destroy().map_err(|e| e.to_string())?;
    Ok(0)
}

pub fn ps(cli: &Cli, a: &IdArgs) -> Result<i32, String> {
    let c = factory(cli)?.load(a.id()).map_err(|e| e.to_string())?;
    let pids = c.processes().map_err(|e| e.to_string())?;
    println!("{:>8} CMD", "PID");
    for pid in pids {
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline"))
            .map(|b| {
                b.split(|c| *c == 0)
                    .filter(|s| !s.is_empty())
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default();
        println!("{pid:>8} {cmd}");
    }
    Ok(0)
}
