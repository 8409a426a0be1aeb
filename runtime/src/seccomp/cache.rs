//! Compiled filters kept on disk, so that a profile used again (an engine's
//! default profile, say) is not compiled again: a hit costs a file read and a
//! comparison instead of the libseccomp work.
//!
//! An entry is `<dir>/<hash>.json` holding the full key — the config, the
//! libseccomp version and API level, the architecture and the entry format —
//! and the compiled filter. The hash only names the file: a hit needs the
//! whole key to be equal, so a colliding profile cannot pick up another's
//! filter. The directory is used only when it belongs to the caller and no
//! one else may write to it (the filters protect the host, like `state.json`
//! next to them); writing is best effort, atomic (temporary file, rename).

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use nsinit_configs::Seccomp;
use serde::{Deserialize, Serialize};

use super::Filter;
use crate::error::SysResult;

/// Version of the entry layout and of the compiler's output (bumped when the
/// same config compiles to another program); part of the key.
const FORMAT: u32 = 2;

/// A directory of compiled filters.
///
/// ```no_run
/// # fn f(cfg: &nsinit_configs::Seccomp) -> nsinit_runtime::error::SysResult<()> {
/// use nsinit_runtime::seccomp::Cache;
/// let filter = Cache::new("/run/nsinit/seccomp").compile(cfg)?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
}

#[derive(Serialize, Deserialize)]
struct Entry {
    key: String,
    filter: Filter,
}

impl Cache {
    /// A cache in `dir` (created 0700 on first write if missing).
    pub fn new(dir: impl Into<PathBuf>) -> Cache {
        Cache { dir: dir.into() }
    }

    /// The filter of `cfg`: from the cache when an entry for exactly this
    /// config and libseccomp is there, else compiled (and stored).
    pub fn compile(&self, cfg: &Seccomp) -> SysResult<Filter> {
        let Some(key) = key_of(cfg) else {
            return Filter::compile(cfg);
        };
        let path = self
            .dir
            .join(format!("{:016x}.json", fnv1a(key.as_bytes())));
        if let Some(f) = self.lookup(&path, &key) {
            return Ok(f);
        }
        let filter = Filter::compile(cfg)?;
        // Best effort: a cache that cannot be written only costs time.
        let _ = self.store(&path, &key, &filter);
        Ok(filter)
    }

    fn lookup(&self, path: &Path, key: &str) -> Option<Filter> {
        if !trusted(&self.dir) {
            return None;
        }
        let file = fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)
            .ok()?;
        let entry: Entry = serde_json::from_reader(std::io::BufReader::new(file)).ok()?;
        if entry.key != key {
            return None;
        }
        // The same checks as after compiling.
        entry.filter.validate().ok()?;
        Some(entry.filter)
    }

    fn store(&self, path: &Path, key: &str, filter: &Filter) -> std::io::Result<()> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)?;
        if !trusted(&self.dir) {
            return Err(std::io::Error::from_raw_os_error(libc::EPERM));
        }
        let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
        let result = (|| {
            let mut f = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)?;
            let entry = Entry {
                key: key.to_string(),
                filter: filter.clone(),
            };
            f.write_all(&serde_json::to_vec(&entry)?)?;
            fs::rename(&tmp, path)
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }
}

/// Whether `dir` is a directory of the caller's that nobody else may write.
fn trusted(dir: &Path) -> bool {
    fs::symlink_metadata(dir).is_ok_and(|m| {
        m.is_dir() && m.uid() == nix::unistd::geteuid().as_raw() && m.mode() & 0o022 == 0
    })
}

/// Everything the compiled program depends on; `None` when the libseccomp
/// version cannot be told (then nothing is cached).
fn key_of(cfg: &Seccomp) -> Option<String> {
    let v = libseccomp::ScmpVersion::current().ok()?;
    serde_json::to_string(&serde_json::json!({
        "format": FORMAT,
        "libseccomp": [v.major, v.minor, v.micro],
        "api": libseccomp::get_api(),
        "arch": std::env::consts::ARCH,
        "config": cfg,
    }))
    .ok()
}

/// 64-bit FNV-1a: names the entry's file (not a security boundary: the key is
/// compared in full).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use nsinit_configs::{SeccompAction, SeccompSyscall};
    use std::sync::atomic::{AtomicUsize, Ordering};

    static N: AtomicUsize = AtomicUsize::new(0);

    fn scratch() -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "nsinit-seccomp-cache-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = fs::remove_dir_all(&d);
        d
    }

    fn cfg(errno: u32) -> Seccomp {
        Seccomp {
            default_action: SeccompAction::Allow,
            default_errno_ret: None,
            architectures: vec!["SCMP_ARCH_X86".into()],
            flags: vec![],
            syscalls: vec![SeccompSyscall {
                names: vec!["mkdir".into()],
                action: SeccompAction::Errno,
                errno_ret: Some(errno),
                args: vec![],
            }],
        }
    }

    fn entries(dir: &Path) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = fs::read_dir(dir)
            .map(|rd| rd.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        v.sort();
        v
    }

    #[test]
    fn stores_then_hits() {
        let dir = scratch();
        let cache = Cache::new(&dir);
        let first = cache.compile(&cfg(1)).unwrap();
        assert_eq!(first, Filter::compile(&cfg(1)).unwrap());
        let files = entries(&dir);
        assert_eq!(files.len(), 1, "{files:?}");
        let meta = fs::metadata(&dir).unwrap();
        assert_eq!(meta.mode() & 0o777, 0o700);
        assert_eq!(fs::metadata(&files[0]).unwrap().mode() & 0o777, 0o600);
        // A hit returns the stored filter: make the stored one recognisable.
        let text = fs::read_to_string(&files[0]).unwrap();
        let mut entry: Entry = serde_json::from_str(&text).unwrap();
        entry.filter.skipped_syscalls = vec!["marker".into()];
        fs::write(&files[0], serde_json::to_vec(&entry).unwrap()).unwrap();
        assert_eq!(
            cache.compile(&cfg(1)).unwrap().skipped_syscalls(),
            ["marker"]
        );
        // Another config is another entry.
        let other = cache.compile(&cfg(2)).unwrap();
        assert_ne!(other, first);
        assert_eq!(entries(&dir).len(), 2);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_colliding_or_bad_entry_is_not_used() {
        let dir = scratch();
        let cache = Cache::new(&dir);
        let good = cache.compile(&cfg(1)).unwrap();
        let file = entries(&dir).remove(0);
        let mut entry: Entry = serde_json::from_str(&fs::read_to_string(&file).unwrap()).unwrap();
        // Same file name, other key: ignored, and replaced.
        entry.key.push(' ');
        fs::write(&file, serde_json::to_vec(&entry).unwrap()).unwrap();
        assert_eq!(cache.compile(&cfg(1)).unwrap(), good);
        // A stored filter that would block execve (or is garbage): ignored.
        let mut entry: Entry = serde_json::from_str(&fs::read_to_string(&file).unwrap()).unwrap();
        entry.filter.program = vec![super::super::bpf::Insn {
            code: 0x06,
            jt: 0,
            jf: 0,
            k: libc::SECCOMP_RET_ERRNO | 1,
        }];
        fs::write(&file, serde_json::to_vec(&entry).unwrap()).unwrap();
        assert_eq!(cache.compile(&cfg(1)).unwrap(), good);
        fs::write(&file, b"{not json").unwrap();
        assert_eq!(cache.compile(&cfg(1)).unwrap(), good);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_directory_others_may_write_is_not_used() {
        let dir = scratch();
        fs::create_dir_all(&dir).unwrap();
        fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
        let cache = Cache::new(&dir);
        let f = cache.compile(&cfg(1)).unwrap();
        assert_eq!(f, Filter::compile(&cfg(1)).unwrap());
        assert!(entries(&dir).is_empty());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn fnv1a_is_the_reference_function() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
