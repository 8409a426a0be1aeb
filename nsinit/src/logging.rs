//! A small logger: `--log-file` receives error lines and, with `--debug`,
//! the steps; `--debug` without a file writes the steps to stderr.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::{Mutex, OnceLock};

struct Logger {
    file: Option<Mutex<File>>,
    debug: bool,
}

static LOGGER: OnceLock<Logger> = OnceLock::new();

/// Sets up logging once at start.
pub fn init(file: Option<&Path>, debug: bool) {
    let file = file.and_then(
        |p| match OpenOptions::new().create(true).append(true).open(p) {
            Ok(f) => Some(Mutex::new(f)),
            Err(e) => {
                eprintln!("nsinit: cannot open log file {}: {e}", p.display());
                None
            }
        },
    );
    let _ = LOGGER.set(Logger { file, debug });
}

fn write(level: &str, msg: &str) {
    let Some(l) = LOGGER.get() else { return };
    let line = format!(
        "{} {level} pid={} {msg}\n",
        nsinit_runtime::container::state::now_rfc3339(),
        std::process::id()
    );
    match &l.file {
        Some(f) => {
            if let Ok(mut f) = f.lock() {
                let _ = f.write_all(line.as_bytes());
            }
        }
        None if l.debug && level == "debug" => {
            let _ = std::io::stderr().write_all(line.as_bytes());
        }
        None => {}
    }
}

/// Logs an error (always goes to the log file when there is one).
pub fn error(msg: &str) {
    write("error", msg);
}

/// Logs a step (only with --debug).
pub fn debug(msg: &str) {
    if LOGGER.get().is_some_and(|l| l.debug) {
        write("debug", msg);
    }
}
