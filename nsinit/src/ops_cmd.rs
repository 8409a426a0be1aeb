//! The operational commands on a running container: `pause`, `unpause`,
//! `stats`, `update`, `oom` and `events`.
//!
//! Each is a thin layer over one [`Container`] method; what they add is the
//! command-line shape (flags, JSON output) and, for the two streaming
//! commands, the loop that ends when the container goes away.

use std::io::Write;
use std::time::{Duration, Instant};

use nsinit_configs::overrides::ByteSize;
use nsinit_configs::Cgroups;
use nsinit_runtime::cgroups::{OomEvent, OomWait};
use nsinit_runtime::{Container, Error, Factory, Stats, Status};
use serde_json::Value;

use crate::commands::IdArgs;
use crate::Cli;

/// How often the streaming commands check that the container still exists
/// while nothing else happens.
const LIVENESS_TICK: Duration = Duration::from_millis(250);

/// How long a failed read may wait for the container's status to show that
/// it is going away (see `going_away`).
const DYING_GRACE: Duration = Duration::from_secs(2);

/// Arguments of `nsinit update`: the resources to change; what is not given
/// stays as it is.
#[derive(clap::Args, Debug)]
pub struct UpdateArgs {
    #[command(flatten)]
    pub id: IdArgs,
    /// Memory limit in bytes (k, m, g suffixes; -1: unlimited).
    #[arg(long, value_name = "BYTES", allow_negative_numbers = true)]
    pub memory: Option<ByteSize>,
    /// Memory + swap limit in bytes (k, m, g suffixes; -1: unlimited).
    #[arg(long, value_name = "BYTES", allow_negative_numbers = true)]
    pub memory_swap: Option<ByteSize>,
    /// Soft memory limit in bytes (k, m, g suffixes).
    #[arg(long, value_name = "BYTES", allow_negative_numbers = true)]
    pub memory_reservation: Option<ByteSize>,
    /// Relative CPU weight (2..=262144).
    #[arg(long, value_name = "N")]
    pub cpu_shares: Option<u64>,
    /// CPU time in microseconds per period (-1: unlimited).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub cpu_quota: Option<i64>,
    /// CFS period in microseconds (1000..=1000000).
    #[arg(long, value_name = "N")]
    pub cpu_period: Option<u64>,
    /// CPUs the container may use, e.g. `0-2,4`.
    #[arg(long, value_name = "LIST")]
    pub cpuset_cpus: Option<String>,
    /// Memory nodes the container may use, e.g. `0`.
    #[arg(long, value_name = "LIST")]
    pub cpuset_mems: Option<String>,
    /// Maximum number of tasks (-1: unlimited).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub pids_limit: Option<i64>,
    /// Block I/O weight (10..=1000).
    #[arg(long, value_name = "N")]
    pub blkio_weight: Option<u16>,
}

impl UpdateArgs {
    /// The flags as a partial [`Cgroups`]: only what was given is set.
    fn resources(&self) -> Result<Cgroups, String> {
        let list = |flag: &str, v: &Option<String>| -> Result<String, String> {
            match v.as_deref() {
                Some("") => Err(format!("--{flag}: the list must not be empty")),
                Some(s) => Ok(s.to_string()),
                None => Ok(String::new()),
            }
        };
        Ok(Cgroups {
            memory: self.memory.map(|b| b.0),
            memory_swap: self.memory_swap.map(|b| b.0),
            memory_reservation: self.memory_reservation.map(|b| b.0),
            cpu_shares: self.cpu_shares,
            cpu_quota: self.cpu_quota,
            cpu_period: self.cpu_period,
            cpuset_cpus: list("cpuset-cpus", &self.cpuset_cpus)?,
            cpuset_mems: list("cpuset-mems", &self.cpuset_mems)?,
            pids_limit: self.pids_limit,
            blkio_weight: self.blkio_weight,
            ..Cgroups::default()
        })
    }

    fn is_empty(&self) -> bool {
        self.memory.is_none()
            && self.memory_swap.is_none()
            && self.memory_reservation.is_none()
            && self.cpu_shares.is_none()
            && self.cpu_quota.is_none()
            && self.cpu_period.is_none()
            && self.cpuset_cpus.is_none()
            && self.cpuset_mems.is_none()
            && self.pids_limit.is_none()
            && self.blkio_weight.is_none()
    }
}

/// Arguments of `nsinit events`.
#[derive(clap::Args, Debug)]
pub struct EventsArgs {
    #[command(flatten)]
    pub id: IdArgs,
    /// Time between two stats events (`5s`, `500ms`, `1m`; a bare number is seconds).
    #[arg(long, default_value = "5s", value_parser = parse_interval, value_name = "DURATION")]
    pub interval: Duration,
    /// Only stats events: do not watch for OOM.
    #[arg(long)]
    pub stats_only: bool,
}

/// Parses `5s`, `250ms`, `2m`, `1h` or a bare number of seconds (fractions
/// allowed: `0.5`); zero is refused.
fn parse_interval(s: &str) -> Result<Duration, String> {
    let bad = || format!("{s:?} is not a duration (e.g. 5s, 500ms, 1m)");
    let t = s.trim();
    let (num, unit) = match t.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(i) => t.split_at(i),
        None => (t, "s"),
    };
    let factor = match unit {
        "ms" => 0.001,
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => return Err(bad()),
    };
    let n: f64 = num.parse().map_err(|_| bad())?;
    let secs = n * factor;
    if !secs.is_finite() || secs <= 0.0 {
        return Err(format!("{s:?}: the interval must be greater than zero"));
    }
    Duration::try_from_secs_f64(secs).map_err(|_| bad())
}

fn load(cli: &Cli, id: &str) -> Result<Container, String> {
    Factory::new(&cli.root)
        .and_then(|f| f.load(id))
        .map_err(|e| e.to_string())
}

/// `nsinit pause ID`: freezes every process of the container.
pub fn pause(cli: &Cli, a: &IdArgs) -> Result<i32, String> {
    load(cli, a.id())?.pause().map_err(|e| e.to_string())?;
    Ok(0)
}

/// `nsinit unpause ID`: thaws a paused container.
pub fn unpause(cli: &Cli, a: &IdArgs) -> Result<i32, String> {
    load(cli, a.id())?.resume().map_err(|e| e.to_string())?;
    Ok(0)
}

/// The JSON of a container's stats: the cgroup figures (`cpu`, `memory`,
/// `pids`, `blkio`) and `interfaces`, side by side.
fn stats_json(s: &Stats) -> Result<Value, String> {
    let mut v = serde_json::to_value(&s.cgroups).map_err(|e| e.to_string())?;
    let ifs = serde_json::to_value(&s.interfaces).map_err(|e| e.to_string())?;
    match v.as_object_mut() {
        Some(o) => {
            o.insert("interfaces".into(), ifs);
            Ok(v)
        }
        None => Err("cgroup statistics did not serialise to a JSON object".into()),
    }
}

/// `nsinit stats ID`: the statistics as pretty JSON.
pub fn stats(cli: &Cli, a: &IdArgs) -> Result<i32, String> {
    let s = load(cli, a.id())?.stats().map_err(|e| e.to_string())?;
    let v = stats_json(&s)?;
    let text = serde_json::to_string_pretty(&v).map_err(|e| e.to_string())?;
    emit(&text)?;
    Ok(0)
}

/// Turns a validation error of `Container::set` into flag names:
/// `cgroups.memory_swap: ...` becomes `--memory-swap: ...`.
fn update_error(e: Error) -> String {
    match e {
        Error::InvalidConfig(errs) => {
            let parts: Vec<String> = errs
                .iter()
                .map(|v| match v.path.strip_prefix("cgroups.") {
                    Some(field) => format!("--{}: {}", field.replace('_', "-"), v.reason),
                    None => v.to_string(),
                })
                .collect();
            format!("invalid value: {}", parts.join("; "))
        }
        other => other.to_string(),
    }
}

/// `nsinit update ID --memory ... `: changes the resources of a running
/// container. All or nothing: on any error the cgroup and `state.json` keep
/// their values.
pub fn update(cli: &Cli, a: &UpdateArgs) -> Result<i32, String> {
    if a.is_empty() {
        return Err("nothing to update: give at least one resource flag (see --help)".into());
    }
    let resources = a.resources()?;
    let c = load(cli, a.id.id())?;
    c.set(&resources).map_err(update_error)?;
    Ok(0)
}

/// Writes one line to stdout. A closed stdout (the reader went away) is
/// reported as `Ok(false)`: the streaming commands end quietly then.
fn emit_line(text: &str) -> Result<bool, String> {
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(format!("write to stdout: {e}")),
    }
}

fn emit(text: &str) -> Result<(), String> {
    emit_line(text).map(|_| ())
}

/// A JSON string literal.
fn quoted(s: &str) -> Result<String, String> {
    serde_json::to_string(s).map_err(|e| e.to_string())
}

/// `{"type":"oom","id":ID,"count":N[,"oom_kills":K]}`, written by hand so
/// that `type` comes first (a `serde_json` map sorts its keys).
fn oom_line(id: &str, e: &OomEvent) -> Result<String, String> {
    let kills = e
        .oom_kills
        .map_or(String::new(), |k| format!(r#","oom_kills":{k}"#));
    Ok(format!(
        r#"{{"type":"oom","id":{},"count":{}{kills}}}"#,
        quoted(id)?,
        e.count
    ))
}

/// `{"type":"stats","id":ID,"data":{...}}` (see [`oom_line`]).
fn stats_line(id: &str, s: &Stats) -> Result<String, String> {
    Ok(format!(
        r#"{{"type":"stats","id":{},"data":{}}}"#,
        quoted(id)?,
        stats_json(s)?
    ))
}

/// Whether the container is gone: stopped, or its state removed.
fn gone(c: &Container) -> Result<bool, String> {
    match c.status() {
        Ok(Status::Stopped) | Err(Error::NotFound(_)) => Ok(true),
        Ok(_) => Ok(false),
        Err(e) => Err(e.to_string()),
    }
}

/// After a failed read: whether the container is going away. An init that
/// is exiting (not yet a zombie) still counts as running while its
/// `/proc/<pid>/net` and cgroup files may already fail, so this waits up to
/// [`DYING_GRACE`] for the status to catch up.
fn going_away(c: &Container) -> Result<bool, String> {
    let deadline = Instant::now() + DYING_GRACE;
    loop {
        if gone(c)? {
            return Ok(true);
        }
        if Instant::now() >= deadline {
            return Ok(false);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `nsinit oom ID`: one JSON line per OOM event, until the container is gone.
pub fn oom(cli: &Cli, a: &IdArgs) -> Result<i32, String> {
    let id = a.id();
    let c = load(cli, id)?;
    let notifier = c.notify_oom().map_err(|e| e.to_string())?;
    loop {
        match notifier
            .wait_timeout(LIVENESS_TICK)
            .map_err(|e| e.to_string())?
        {
            OomWait::Oom(e) => {
                if !emit_line(&oom_line(id, &e)?)? {
                    return Ok(0);
                }
            }
            OomWait::Gone => return Ok(0),
            OomWait::TimedOut => {
                if gone(&c)? {
                    return Ok(0);
                }
            }
        }
    }
}

/// `nsinit events ID`: a stats line every interval and an OOM line as soon as
/// one happens, until the container is gone. One thread: the wait for the
/// next OOM is the sleep until the next stats line.
pub fn events(cli: &Cli, a: &EventsArgs) -> Result<i32, String> {
    let id = a.id.id();
    let c = load(cli, id)?;
    if gone(&c)? {
        return Err(format!("container {id:?} is stopped: nothing to watch"));
    }
    let notifier = if a.stats_only {
        None
    } else {
        Some(c.notify_oom().map_err(|e| e.to_string())?)
    };
    let mut next_stats = Instant::now();
    loop {
        let now = Instant::now();
        if now >= next_stats {
            let s = match c.stats() {
                Ok(s) => s,
                Err(Error::NotFound(_)) => return Ok(0),
                Err(e) => {
                    if going_away(&c)? {
                        return Ok(0);
                    }
                    return Err(e.to_string());
                }
            };
            if !emit_line(&stats_line(id, &s)?)? {
                return Ok(0);
            }
            next_stats += a.interval;
            if next_stats < Instant::now() {
                next_stats = Instant::now() + a.interval;
            }
            continue;
        }
        let wait = (next_stats - now).min(LIVENESS_TICK);
        match &notifier {
            Some(n) => match n.wait_timeout(wait).map_err(|e| e.to_string())? {
                OomWait::Oom(e) => {
                    if !emit_line(&oom_line(id, &e)?)? {
                        return Ok(0);
                    }
                }
                OomWait::Gone => return Ok(0),
                OomWait::TimedOut => {}
            },
            None => std::thread::sleep(wait),
        }
        if Instant::now() < next_stats && gone(&c)? {
            return Ok(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals() {
        assert_eq!(parse_interval("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_interval("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_interval("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_interval("3").unwrap(), Duration::from_secs(3));
        assert_eq!(parse_interval("0.5").unwrap(), Duration::from_millis(500));
        assert!(parse_interval("0s").is_err());
        assert!(parse_interval("5x").is_err());
        assert!(parse_interval("").is_err());
        assert!(parse_interval("s").is_err());
    }

    #[test]
    fn oom_lines_are_json_with_the_type_first() {
        let e = OomEvent {
            count: 2,
            oom_kills: Some(1),
        };
        let line = oom_line("a\"b", &e).unwrap();
        assert!(line.starts_with(r#"{"type":"oom","id":"a\"b","#), "{line}");
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            (v["count"].as_u64(), v["oom_kills"].as_u64()),
            (Some(2), Some(1))
        );
        let none = oom_line(
            "x",
            &OomEvent {
                count: 1,
                oom_kills: None,
            },
        )
        .unwrap();
        assert_eq!(none, r#"{"type":"oom","id":"x","count":1}"#);
    }

    #[test]
    fn validation_errors_name_the_flags() {
        let errs = nsinit_configs::validate::validate_cgroups(&Cgroups {
            memory: Some(12),
            cpu_shares: Some(1),
            ..Cgroups::default()
        })
        .unwrap_err();
        let msg = update_error(Error::InvalidConfig(errs));
        assert!(
            msg.starts_with("invalid value: --memory: 12 is below"),
            "{msg}"
        );
        assert!(msg.contains("--cpu-shares: 1 is outside"), "{msg}");
        assert!(!msg.contains('\n'), "{msg}");
    }
}
