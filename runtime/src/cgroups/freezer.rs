//! Freezing and thawing, and waiting until the kernel has really done it.
//!
//! The writes go through `cgroups-rs` (`FreezerController::freeze`/`thaw`,
//! which know `freezer.state` and `cgroup.freeze`). The waiting is written by
//! hand: `cgroups-rs` returns as soon as the request is written, and on v2
//! it reports the *requested* state (`cgroup.freeze`) rather than the
//! reached one (`frozen` in `cgroup.events`).

use std::path::Path;
use std::thread::sleep;
use std::time::{Duration, Instant};

use cgroups_rs::fs::freezer::FreezerController;
use cgroups_rs::fs::Controller;
use cgroups_rs::FreezerState as CrateState;
use nsinit_configs::FreezerState;

use super::error::{io_cause, CgroupError};
use super::fsutil::{self, crate_set};

/// How long a freeze or thaw may take before it is reported as stuck.
pub(crate) const FREEZE_TIMEOUT: Duration = Duration::from_secs(5);

/// Sleeps that grow from 50 µs to 10 ms: most freezes finish in well under a
/// millisecond, and a stuck one must not spin.
struct Backoff(Duration);

impl Backoff {
    fn new() -> Self {
        Backoff(Duration::from_micros(50))
    }
    fn pause(&mut self) {
        sleep(self.0);
        self.0 = (self.0 * 2).min(Duration::from_millis(10));
    }
}

fn v1_state(fc: &FreezerController) -> Result<CrateState, CgroupError> {
    fc.state().map_err(|e| {
        let path = fc.path().join("freezer.state");
        match std::fs::read_to_string(&path) {
            // Readable but not understood.
            Ok(content) => CgroupError::Parse { path, content },
            Err(_) => CgroupError::Read {
                path,
                source: io_cause(&e),
            },
        }
    })
}

/// Whether the v2 cgroup `dir` has reached the frozen (`true`) or thawed
/// state, from the `frozen` key of `cgroup.events`.
fn v2_frozen(dir: &Path) -> Result<bool, CgroupError> {
    let events = fsutil::read_file(dir, "cgroup.events")?;
    Ok(fsutil::flat_keyed(&events).get("frozen") == Some(&1))
}

/// Freezes and waits until every task is frozen.
///
/// v1: `FREEZING` can last while tasks finish what they were doing; a task
/// that cannot be frozen (e.g. a vfork parent) can keep it there, so every
/// 50 tries the cgroup is thawed for a moment and frozen again. If it never
/// completes, the cgroup is thawed (a half-frozen container is the worst
/// outcome) and a timeout is reported.
pub(crate) fn freeze(fc: &FreezerController, v2: bool) -> Result<(), CgroupError> {
    let dir = fc.path();
    let start = Instant::now();
    let mut backoff = Backoff::new();
    if v2 {
        crate_set(dir, "cgroup.freeze", "1", fc.freeze())?;
        loop {
            if v2_frozen(dir)? {
                return Ok(());
            }
            if start.elapsed() > FREEZE_TIMEOUT {
                let _ = fc.thaw();
                return Err(CgroupError::Timeout {
                    action: "freeze",
                    path: dir.to_path_buf(),
                    state: "freezing (cgroup.events: frozen 0)".to_string(),
                    waited: start.elapsed(),
                });
            }
            backoff.pause();
        }
    }
    let mut tries = 0u32;
    loop {
        crate_set(dir, "freezer.state", "FROZEN", fc.freeze())?;
        match v1_state(fc)? {
            CrateState::Frozen => return Ok(()),
            CrateState::Freezing | CrateState::Thawed => {}
        }
        if start.elapsed() > FREEZE_TIMEOUT {
            let _ = fc.thaw();
            return Err(CgroupError::Timeout {
                action: "freeze",
                path: dir.to_path_buf(),
                state: "FREEZING".to_string(),
                waited: start.elapsed(),
            });
        }
        tries += 1;
        if tries == 50 {
            tries = 0;
            let _ = fc.thaw();
            sleep(Duration::from_millis(1));
        }
        backoff.pause();
    }
}

/// Thaws and waits until no task is frozen any more.
pub(crate) fn thaw(fc: &FreezerController, v2: bool) -> Result<(), CgroupError> {
    let dir = fc.path();
    let start = Instant::now();
    let mut backoff = Backoff::new();
    loop {
        if v2 {
            crate_set(dir, "cgroup.freeze", "0", fc.thaw())?;
            if !v2_frozen(dir)? {
                return Ok(());
            }
        } else {
            crate_set(dir, "freezer.state", "THAWED", fc.thaw())?;
            if matches!(v1_state(fc)?, CrateState::Thawed) {
                return Ok(());
            }
        }
        if start.elapsed() > FREEZE_TIMEOUT {
            return Err(CgroupError::Timeout {
                action: "thaw",
                path: dir.to_path_buf(),
                state: "frozen (is a parent cgroup frozen?)".to_string(),
                waited: start.elapsed(),
            });
        }
        backoff.pause();
    }
}

/// The freezer state. A cgroup still on its way to frozen (v1 `FREEZING`,
/// v2 `cgroup.freeze` 1 before `frozen 1`) is given a moment to get there
/// and then counts as frozen: it was asked to pause and is not running
/// normally.
pub(crate) fn state(fc: &FreezerController, v2: bool) -> Result<FreezerState, CgroupError> {
    let dir = fc.path();
    if v2 {
        let wanted = fsutil::read_file(dir, "cgroup.freeze")?;
        return match wanted.as_str() {
            "0" => Ok(FreezerState::Thawed),
            "1" => Ok(FreezerState::Frozen),
            _ => Err(CgroupError::Parse {
                path: dir.join("cgroup.freeze"),
                content: wanted,
            }),
        };
    }
    let start = Instant::now();
    let mut backoff = Backoff::new();
    loop {
        match v1_state(fc)? {
            CrateState::Thawed => return Ok(FreezerState::Thawed),
            CrateState::Frozen => return Ok(FreezerState::Frozen),
            CrateState::Freezing if start.elapsed() > Duration::from_millis(20) => {
                return Ok(FreezerState::Frozen)
            }
            CrateState::Freezing => backoff.pause(),
        }
    }
}
