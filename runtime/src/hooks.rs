//! Hooks: programs run at points of the container's life, each given the
//! container's OCI state as JSON on stdin.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nsinit_configs::Hook;
use serde::Serialize;

use crate::error::{SysError, SysResult};

/// The state document hooks read on stdin (the OCI runtime spec's state).
#[derive(Debug, Clone, Serialize)]
pub struct HookState {
    #[serde(rename = "ociVersion")]
    pub oci_version: &'static str,
    pub id: String,
    pub status: String,
    pub pid: i32,
    pub bundle: String,
    pub annotations: std::collections::BTreeMap<String, String>,
}

impl HookState {
    /// A state for container `id` with its init `pid`.
    pub fn new(id: &str, status: &str, pid: i32, bundle: &str) -> HookState {
        HookState {
            oci_version: "1.0.2",
            id: id.to_string(),
            status: status.to_string(),
            pid,
            bundle: bundle.to_string(),
            annotations: Default::default(),
        }
    }

    /// As JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }
}

/// Runs `hooks` of kind `kind` in order; the first failure stops the rest.
pub fn run(kind: &str, hooks: &[Hook], state_json: &str) -> SysResult<()> {
    for h in hooks {
        run_one(kind, h, state_json)?;
    }
    Ok(())
}

fn run_one(kind: &str, h: &Hook, state_json: &str) -> SysResult<()> {
    let step = format!("{kind} hook {}", h.path);
    let mut cmd = Command::new(&h.path);
    if h.args.len() > 1 {
        cmd.args(&h.args[1..]);
    }
    if let Some(a0) = h.args.first() {
        std::os::unix::process::CommandExt::arg0(&mut cmd, a0);
    }
    cmd.env_clear();
    for e in &h.env {
        if let Some((k, v)) = e.split_once('=') {
            cmd.env(k, v);
        }
    }
    if !h.dir.is_empty() {
        cmd.current_dir(&h.dir);
    }
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| SysError::io(&step, "spawn", &e).with_path(&h.path))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that does not read its stdin is fine.
        let _ = stdin.write_all(state_json.as_bytes());
    }
    let deadline = h.timeout.map(|t| Instant::now() + Duration::from_secs(t));
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) => {}
            Err(e) => return Err(SysError::io(&step, "wait", &e)),
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(SysError::msg(
                &step,
                format!("timed out after {}s", h.timeout.unwrap_or(0)),
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    if status.success() {
        return Ok(());
    }
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut err);
    }
    let err = err.trim();
    Err(SysError::msg(
        &step,
        format!(
            "{status}{}{}",
            if err.is_empty() { "" } else { ": " },
            err.lines().last().unwrap_or("")
        ),
    ))
}
