//! Seccomp filters (being written).

use nsinit_configs::Seccomp;

use crate::error::{SysError, SysResult};

/// Installs the filter, if any, on the calling thread just before exec.
pub fn install(filter: Option<&Seccomp>) -> SysResult<()> {
    match filter {
        None => Ok(()),
        Some(_) => Err(SysError::msg(
            "install seccomp filter",
            "seccomp is not supported yet",
        )),
    }
}
