//! The Linux capabilities known to the config format.
//!
//! Names are written with their `CAP_` prefix, as in the OCI runtime spec and in
//! `capabilities(7)`. The table is in kernel numbering order, so the index of a
//! name is its capability number (`CAP_CHOWN` = 0 ... `CAP_CHECKPOINT_RESTORE` = 40).
//!
//! ```
//! use nsinit_configs::caps;
//! assert_eq!(caps::number("CAP_SYS_ADMIN"), Some(21));
//! assert_eq!(caps::name(40), Some("CAP_CHECKPOINT_RESTORE"));
//! assert!(!caps::is_known("CAP_FLY"));
//! ```

/// Every capability of Linux up to 6.x, indexed by its number.
pub const CAPABILITIES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// The number of a capability name (exact, with the `CAP_` prefix).
pub fn number(name: &str) -> Option<u32> {
    CAPABILITIES
        .iter()
        .position(|c| *c == name)
        .and_then(|i| u32::try_from(i).ok())
}

/// The name of a capability number.
pub fn name(number: u32) -> Option<&'static str> {
    usize::try_from(number)
        .ok()
        .and_then(|i| CAPABILITIES.get(i).copied())
}

/// Whether `name` is a known capability (exact, with the `CAP_` prefix).
pub fn is_known(name: &str) -> bool {
    number(name).is_some()
}

/// The canonical name for a loosely written one: `chown`, `CHOWN` and
/// `cap_chown` all give `CAP_CHOWN`. Used for suggestions and command-line input.
pub fn canonical(name: &str) -> Option<&'static str> {
    let upper = name.to_ascii_uppercase();
    let full = if upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    };
    CAPABILITIES.iter().copied().find(|c| *c == full)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbering_matches_the_kernel() {
        assert_eq!(number("CAP_CHOWN"), Some(0));
        assert_eq!(number("CAP_SETFCAP"), Some(31));
        assert_eq!(number("CAP_CHECKPOINT_RESTORE"), Some(40));
        assert_eq!(number("CHOWN"), None);
        assert_eq!(canonical("net_raw"), Some("CAP_NET_RAW"));
        assert_eq!(name(41), None);
    }
}
