//! Resource limits of the container's processes.

use nsinit_configs::Rlimit;

use crate::error::{SysError, SysResult};

/// Applies every limit to the calling process (inherited across exec).
pub fn apply(limits: &[Rlimit]) -> SysResult<()> {
    for l in limits {
        let lim = libc::rlimit {
            rlim_cur: l.soft as libc::rlim_t,
            rlim_max: l.hard as libc::rlim_t,
        };
        // SAFETY: setrlimit with a valid resource number and a pointer to an
        // initialised rlimit struct on our stack.
        let r = unsafe { libc::setrlimit(l.kind.resource() as _, &lim) };
        if r < 0 {
            return Err(SysError::new(
                format!(
                    "set {} soft={} hard={}",
                    l.kind.name(),
                    fmt(l.soft),
                    fmt(l.hard)
                ),
                "setrlimit",
                nix::errno::Errno::last_raw(),
            ));
        }
    }
    Ok(())
}

fn fmt(v: u64) -> String {
    if v == u64::MAX {
        "unlimited".into()
    } else {
        v.to_string()
    }
}
