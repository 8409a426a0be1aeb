//! Named mount flags and propagation types, shared by the config format, the
//! OCI conversion and the runtime.
//!
//! The config file may spell mount flags as a number (the libcontainer format) or
//! as a list of names such as `["nosuid", "nodev", "ro"]`; either way the model
//! holds the raw `MS_*` bitmask.

// `libc::c_ulong` is `u64` here but `u32` on 32-bit targets, so the casts to
// `u64` below are needed in general even where clippy sees them as no-ops.
#![allow(clippy::unnecessary_cast)]

use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::ser::{SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};

/// A name that sets (or clears) a mount flag, as written in a mount's options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlagName {
    /// The option as written, e.g. `"nosuid"`.
    pub name: &'static str,
    /// The `MS_*` bit it touches.
    pub bit: u64,
    /// `true` when the option clears the bit (`"rw"`, `"suid"`, ...).
    pub clear: bool,
}

const fn set(name: &'static str, bit: libc::c_ulong) -> FlagName {
    FlagName {
        name,
        bit: bit as u64,
        clear: false,
    }
}

const fn clear(name: &'static str, bit: libc::c_ulong) -> FlagName {
    FlagName {
        name,
        bit: bit as u64,
        clear: true,
    }
}

/// Every mount option name that maps onto an `MS_*` flag. The first entry for a
/// bit that sets it is the canonical name used when a config is written out.
pub const MOUNT_FLAG_NAMES: &[FlagName] = &[
    set("ro", libc::MS_RDONLY),
    clear("rw", libc::MS_RDONLY),
    set("nosuid", libc::MS_NOSUID),
    clear("suid", libc::MS_NOSUID),
    set("nodev", libc::MS_NODEV),
    clear("dev", libc::MS_NODEV),
    set("noexec", libc::MS_NOEXEC),
    clear("exec", libc::MS_NOEXEC),
    set("sync", libc::MS_SYNCHRONOUS),
    clear("async", libc::MS_SYNCHRONOUS),
    set("remount", libc::MS_REMOUNT),
    set("mand", libc::MS_MANDLOCK),
    clear("nomand", libc::MS_MANDLOCK),
    set("dirsync", libc::MS_DIRSYNC),
    set("noatime", libc::MS_NOATIME),
    clear("atime", libc::MS_NOATIME),
    set("nodiratime", libc::MS_NODIRATIME),
    clear("diratime", libc::MS_NODIRATIME),
    set("bind", libc::MS_BIND),
    set("rec", libc::MS_REC),
    set("relatime", libc::MS_RELATIME),
    clear("norelatime", libc::MS_RELATIME),
    set("strictatime", libc::MS_STRICTATIME),
    clear("nostrictatime", libc::MS_STRICTATIME),
    set("silent", libc::MS_SILENT),
    set("lazytime", libc::MS_LAZYTIME),
    clear("nolazytime", libc::MS_LAZYTIME),
];

/// Looks up a mount option name (`"nosuid"`, `"rw"`, ...). `"rbind"` is not in the
/// table because it sets two bits; callers handle it (see [`MountFlags::parse_option`]).
pub fn mount_flag(name: &str) -> Option<FlagName> {
    MOUNT_FLAG_NAMES.iter().copied().find(|f| f.name == name)
}

/// The `MS_*` bitmask of a mount, written in JSON as a number or a list of names.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct MountFlags(pub u64);

impl MountFlags {
    /// All bits that a name in [`MOUNT_FLAG_NAMES`] can set.
    pub fn known_bits() -> u64 {
        MOUNT_FLAG_NAMES.iter().fold(0, |acc, f| acc | f.bit)
    }

    /// Applies one option name to the mask. Returns `false` when the name is not a
    /// mount flag (the caller may then treat it as filesystem data).
    pub fn parse_option(&mut self, name: &str) -> bool {
        if name == "rbind" {
            self.0 |= (libc::MS_BIND | libc::MS_REC) as u64;
            return true;
        }
        match mount_flag(name) {
            Some(f) if f.clear => {
                self.0 &= !f.bit;
                true
            }
            Some(f) => {
                self.0 |= f.bit;
                true
            }
            None => false,
        }
    }

    /// Whether every bit in `bits` is set.
    pub fn contains(self, bits: libc::c_ulong) -> bool {
        self.0 & bits as u64 == bits as u64
    }

    /// The canonical names of the set bits, in table order.
    pub fn names(self) -> Vec<&'static str> {
        let mut out = Vec::new();
        let mut seen = 0u64;
        for f in MOUNT_FLAG_NAMES {
            if !f.clear && self.0 & f.bit != 0 && seen & f.bit == 0 {
                out.push(f.name);
                seen |= f.bit;
            }
        }
        out
    }
}

impl Serialize for MountFlags {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let names = self.names();
        let mut seq = serializer.serialize_seq(Some(names.len()))?;
        for n in names {
            seq.serialize_element(n)?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for MountFlags {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FlagsVisitor;
        impl<'de> Visitor<'de> for FlagsVisitor {
            type Value = MountFlags;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mount flag bitmask or a list of mount option names")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<MountFlags, E> {
                if v & !MountFlags::known_bits() != 0 {
                    return Err(E::custom(format!(
                        "mount flags {v:#x} contain bits that are not mount flags"
                    )));
                }
                Ok(MountFlags(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<MountFlags, E> {
                u64::try_from(v)
                    .map_err(|_| E::custom("mount flags cannot be negative"))
                    .and_then(|v| self.visit_u64(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<MountFlags, A::Error> {
                let mut flags = MountFlags(0);
                while let Some(name) = seq.next_element::<String>()? {
                    if !flags.parse_option(&name) {
                        return Err(de::Error::custom(format!(
                            "unknown mount flag {name:?} (filesystem options belong in \"data\")"
                        )));
                    }
                }
                Ok(flags)
            }
        }
        deserializer.deserialize_any(FlagsVisitor)
    }
}

/// Mount propagation of a mount point or of the container's root.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Propagation {
    Private,
    Rprivate,
    Shared,
    Rshared,
    Slave,
    Rslave,
    Unbindable,
    Runbindable,
}

impl Propagation {
    /// The `MS_*` flags that `mount(2)` takes to apply this propagation.
    pub fn ms_flags(self) -> u64 {
        let rec = libc::MS_REC as u64;
        let base = match self {
            Propagation::Private | Propagation::Rprivate => libc::MS_PRIVATE,
            Propagation::Shared | Propagation::Rshared => libc::MS_SHARED,
            Propagation::Slave | Propagation::Rslave => libc::MS_SLAVE,
            Propagation::Unbindable | Propagation::Runbindable => libc::MS_UNBINDABLE,
        } as u64;
        match self {
            Propagation::Rprivate
            | Propagation::Rshared
            | Propagation::Rslave
            | Propagation::Runbindable => base | rec,
            _ => base,
        }
    }

    /// Parses an option name such as `"rslave"`.
    pub fn from_name(name: &str) -> Option<Propagation> {
        serde_json::from_value(serde_json::Value::String(name.to_string())).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let f: MountFlags = serde_json::from_str(r#"["nosuid","nodev","ro"]"#).unwrap();
        assert!(f.contains(libc::MS_NOSUID | libc::MS_NODEV | libc::MS_RDONLY));
        let back = serde_json::to_string(&f).unwrap();
        assert_eq!(back, r#"["ro","nosuid","nodev"]"#);
    }

    #[test]
    fn number_form_accepted() {
        let f: MountFlags = serde_json::from_str("14").unwrap();
        assert_eq!(f.0, 14);
    }

    #[test]
    fn rbind_sets_two_bits() {
        let mut f = MountFlags::default();
        assert!(f.parse_option("rbind"));
        assert!(f.contains(libc::MS_BIND | libc::MS_REC));
    }

    #[test]
    fn unknown_name_rejected() {
        let e = serde_json::from_str::<MountFlags>(r#"["mode=755"]"#).unwrap_err();
        assert!(e.to_string().contains("unknown mount flag"), "{e}");
    }

    #[test]
    fn propagation_flags() {
        assert_eq!(
            Propagation::Rslave.ms_flags(),
            (libc::MS_SLAVE | libc::MS_REC) as u64
        );
        assert_eq!(
            Propagation::from_name("private"),
            Some(Propagation::Private)
        );
        assert_eq!(Propagation::from_name("bogus"), None);
    }
}
