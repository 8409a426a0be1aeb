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
    /// An OCI bundle: its config.json is the config (as `runc create --bundle`).
    #[arg(long, short = 'b', value_name = "DIR", conflicts_with = "config")]
    pub bundle: Option<PathBuf>,
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

/// Arguments of `nsinit kill`: `kill [ID] [SIGNAL]` as with runc, or
/// `kill [--id ID] SIGNAL` as with the original nsinit (see [`kill_target`]).
#[derive(clap::Args, Debug)]
pub struct KillArgs {
    /// `ID SIGNAL`, `ID`, or `SIGNAL` (of the container named by --id).
    #[arg(value_name = "ID|SIGNAL", num_args = 0..=2)]
    pub args: Vec<String>,
    /// Container id [default: nsinit].
    #[arg(long = "id")]
    pub id_flag: Option<String>,
    /// Signal every process of the container, not only its init.
    #[arg(long, short = 'a')]
    pub all: bool,
    /// Signal name or number [default: SIGTERM].
    #[arg(long = "signal", short = 's')]
    pub signal: Option<String>,
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

/// The config file: `--bundle DIR` means `DIR/config.json`, else `--config`.
pub fn config_file(config: &std::path::Path, bundle: Option<&std::path::Path>) -> PathBuf {
    match bundle {
        Some(dir) => dir.join("config.json"),
        None => config.to_path_buf(),
    }
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
    let file = config_file(&a.config, a.bundle.as_deref());
    let config = nsinit_configs::load(&file).map_err(|e| e.to_string())?;
    let bundle = bundle_of(&file);
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
    let f = factory(cli)?;
    let (id, signal) = kill_target(a, |id| f.load(id).is_ok())?;
    let sig = Signal::parse(&signal).ok_or_else(|| format!("unknown signal {signal:?}"))?;
    let c = f.load(&id).map_err(|e| e.to_string())?;
    c.signal(sig.0, a.all).map_err(|e| e.to_string())?;
    Ok(0)
}

/// Which container and which signal `nsinit kill` means.
///
/// Two words are `ID SIGNAL`. One word is the signal when `--id` names the
/// container, the id when `--signal` gives the signal; otherwise it is the id
/// of an existing container (runc's `kill ID`), else a signal for the default
/// container `nsinit` when it parses as one (the original `kill SIGNAL`).
fn kill_target(a: &KillArgs, exists: impl Fn(&str) -> bool) -> Result<(String, String), String> {
    const DEFAULT_ID: &str = "nsinit";
    const DEFAULT_SIGNAL: &str = "SIGTERM";
    let both = |what: &str| format!("the {what} is given twice (as an argument and as --{what})");
    match (a.args.as_slice(), &a.id_flag, &a.signal) {
        ([_, _], Some(_), _) => Err(both("id")),
        ([_, _], _, Some(_)) => Err(both("signal")),
        ([id, sig], None, None) => Ok((id.clone(), sig.clone())),
        ([_], Some(_), Some(_)) => Err(both("signal")),
        ([sig], Some(id), None) => Ok((id.clone(), sig.clone())),
        ([id], None, Some(sig)) => Ok((id.clone(), sig.clone())),
        ([word], None, None) => {
            if !exists(word) && Signal::parse(word).is_some() {
                Ok((DEFAULT_ID.into(), word.clone()))
            } else {
                Ok((word.clone(), DEFAULT_SIGNAL.into()))
            }
        }
        (_, id, sig) => Ok((
            id.clone().unwrap_or_else(|| DEFAULT_ID.into()),
            sig.clone().unwrap_or_else(|| DEFAULT_SIGNAL.into()),
        )),
    }
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

#[cfg(test)]
mod tests {
    use super::{kill_target, KillArgs};

    fn target(
        args: &[&str],
        id: Option<&str>,
        signal: Option<&str>,
        existing: &[&str],
    ) -> Result<(String, String), String> {
        let a = KillArgs {
            args: args.iter().map(|s| s.to_string()).collect(),
            id_flag: id.map(str::to_string),
            all: false,
            signal: signal.map(str::to_string),
        };
        kill_target(&a, |id| existing.contains(&id))
    }

    fn ok(id: &str, sig: &str) -> Result<(String, String), String> {
        Ok((id.to_string(), sig.to_string()))
    }

    #[test]
    fn kill_takes_runc_and_nsinit_forms() {
        assert_eq!(target(&[], None, None, &[]), ok("nsinit", "SIGTERM"));
        assert_eq!(target(&["web", "KILL"], None, None, &[]), ok("web", "KILL"));
        assert_eq!(target(&["web"], None, None, &["web"]), ok("web", "SIGTERM"));
        assert_eq!(target(&["KILL"], Some("web"), None, &[]), ok("web", "KILL"));
        assert_eq!(target(&["web"], None, Some("9"), &[]), ok("web", "9"));
        assert_eq!(target(&[], Some("web"), Some("HUP"), &[]), ok("web", "HUP"));
        // One word: an existing container wins, then a signal name.
        assert_eq!(target(&["9"], None, None, &["9"]), ok("9", "SIGTERM"));
        assert_eq!(target(&["9"], None, None, &[]), ok("nsinit", "9"));
        assert_eq!(target(&["ghost"], None, None, &[]), ok("ghost", "SIGTERM"));
    }

    #[test]
    fn kill_refuses_a_target_given_twice() {
        let e = target(&["web", "KILL"], Some("db"), None, &[]).unwrap_err();
        assert!(e.contains("id is given twice"), "{e}");
        let e = target(&["web", "KILL"], None, Some("TERM"), &[]).unwrap_err();
        assert!(e.contains("signal is given twice"), "{e}");
        let e = target(&["KILL"], Some("web"), Some("TERM"), &[]).unwrap_err();
        assert!(e.contains("signal is given twice"), "{e}");
    }
}
