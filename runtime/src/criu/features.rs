//! What a criu binary supports beyond its version, asked once and remembered.
//!
//! The network lock is the one such question today. CRIU locks a container's
//! network namespace for the length of a dump or restore either with iptables
//! rules, which it loads by running `iptables-restore` and
//! `ip6tables-restore` in the namespace (twice per operation: lock and
//! unlock), or with an nftables table made in-process through libnftables.
//! Here the iptables way costs a restore ~40 ms of its ~150 (the unlock alone
//! waits ~60 ms for the two programs). So [`NetworkLock::Auto`] takes nftables
//! when the binary was built with it and the kernel has it — CRIU's own
//! answer, `criu check --feature nftables` — and iptables otherwise.
//!
//! The answer takes a criu run (~40 ms), so it is kept in a small JSON file
//! under the state root, keyed by the binary (path, device, inode, size,
//! modification time) and the kernel release; a changed binary or a new
//! kernel asks again. Without a usable cache file the question is asked each
//! time, which is slower but as correct.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

use super::NetworkLock;

/// The cache file's name under the state root (ids cannot start with a dot).
pub const FEATURE_CACHE: &str = ".criu-features.json";

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
struct Entry {
    key: String,
    nftables: bool,
}

/// The lock method `wanted` means for the criu at `criu` (a path, or a name
/// looked up in `PATH`): [`NetworkLock::Auto`] becomes nftables or iptables,
/// anything else stays. `cache` is the file that remembers the answer.
///
/// ```
/// use std::path::Path;
/// use nsinit_runtime::criu::{resolve_network_lock, NetworkLock, FEATURE_CACHE};
/// // An explicit method is kept without asking criu.
/// let m = resolve_network_lock(Path::new("criu"), NetworkLock::Iptables, None);
/// assert_eq!(m, NetworkLock::Iptables);
/// // Auto asks the binary once; the state root keeps the answer.
/// let cache = Path::new("/run/nsinit").join(FEATURE_CACHE);
/// # if false {
/// let m = resolve_network_lock(Path::new("/usr/sbin/criu"), NetworkLock::Auto, Some(&cache));
/// assert_ne!(m, NetworkLock::Auto);
/// # }
/// ```
pub fn resolve_network_lock(criu: &Path, wanted: NetworkLock, cache: Option<&Path>) -> NetworkLock {
    if wanted != NetworkLock::Auto {
        return wanted;
    }
    if nftables_supported(criu, cache) {
        NetworkLock::Nftables
    } else {
        NetworkLock::Iptables
    }
}

fn nftables_supported(criu: &Path, cache: Option<&Path>) -> bool {
    let Some(key) = key_of(criu) else {
        return ask(criu);
    };
    if let Some(e) = cache.and_then(read) {
        if e.key == key {
            return e.nftables;
        }
    }
    let nftables = ask(criu);
    if let Some(path) = cache {
        // A cache that cannot be written only costs the next call the question.
        let _ = write(path, &Entry { key, nftables });
    }
    nftables
}

/// `criu check --feature nftables`: exit status 0 when supported.
fn ask(criu: &Path) -> bool {
    Command::new(criu)
        .args(["check", "--feature", "nftables"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// What the answer depends on; `None` when the binary cannot be found.
fn key_of(criu: &Path) -> Option<String> {
    let path = locate(criu)?;
    let m = std::fs::metadata(&path).ok()?;
    let release = nix::sys::utsname::uname()
        .ok()?
        .release()
        .to_string_lossy()
        .into_owned();
    Some(format!(
        "{} dev={} ino={} size={} mtime={}.{} kernel={release}",
        path.display(),
        m.dev(),
        m.ino(),
        m.size(),
        m.mtime(),
        m.mtime_nsec()
    ))
}

/// The file `criu` names: itself when it has a slash, else the first match in
/// `PATH` (as `Command` finds it).
fn locate(criu: &Path) -> Option<PathBuf> {
    if criu.as_os_str().as_encoded_bytes().contains(&b'/') {
        return Some(criu.to_path_buf());
    }
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|d| d.join(criu))
        .find(|p| p.is_file())
}

fn read(path: &Path) -> Option<Entry> {
    let text = std::fs::read(path).ok()?;
    serde_json::from_slice(&text).ok()
}

/// Writes atomically: a temporary file in the same directory, then rename.
fn write(path: &Path, e: &Entry) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    let result = serde_json::to_vec(e)
        .map_err(std::io::Error::other)
        .and_then(|bytes| std::fs::write(&tmp, bytes))
        .and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// A fake criu answering the nftables question with `code`, counting calls.
    fn fake_criu(dir: &Path, code: i32) -> PathBuf {
        let path = dir.join("criu");
        let calls = dir.join("calls");
        std::fs::write(
            &path,
            format!(
                "#!/bin/sh\n[ \"$*\" = \"check --feature nftables\" ] || exit 9\necho x >> {}\nexit {code}\n",
                calls.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    fn calls(dir: &Path) -> usize {
        std::fs::read_to_string(dir.join("calls"))
            .map(|s| s.lines().count())
            .unwrap_or(0)
    }

    fn tempdir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "nsinit-criu-features-{name}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn auto_asks_once_and_remembers() {
        let d = tempdir("once");
        let criu = fake_criu(&d, 0);
        let cache = d.join(FEATURE_CACHE);
        for _ in 0..3 {
            assert_eq!(
                resolve_network_lock(&criu, NetworkLock::Auto, Some(&cache)),
                NetworkLock::Nftables
            );
        }
        assert_eq!(calls(&d), 1, "asked more than once");
        // Another binary at the same path (new size, mtime): asked again.
        let criu = fake_criu(&d, 1);
        std::fs::write(
            &criu,
            std::fs::read_to_string(&criu).unwrap() + "# changed\n",
        )
        .unwrap();
        assert_eq!(
            resolve_network_lock(&criu, NetworkLock::Auto, Some(&cache)),
            NetworkLock::Iptables
        );
        assert_eq!(calls(&d), 2);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn explicit_methods_and_missing_pieces() {
        let d = tempdir("explicit");
        let criu = fake_criu(&d, 0);
        for m in [
            NetworkLock::Iptables,
            NetworkLock::Nftables,
            NetworkLock::Skip,
        ] {
            assert_eq!(resolve_network_lock(&criu, m, None), m);
        }
        assert_eq!(calls(&d), 0, "an explicit method asks nothing");
        // No cache file: asked each time, same answer.
        assert_eq!(
            resolve_network_lock(&criu, NetworkLock::Auto, None),
            NetworkLock::Nftables
        );
        // A binary that is not there cannot use nftables.
        assert_eq!(
            resolve_network_lock(&d.join("nope"), NetworkLock::Auto, Some(&d.join("c"))),
            NetworkLock::Iptables
        );
        // A damaged cache file is asked over and replaced.
        let cache = d.join(FEATURE_CACHE);
        std::fs::write(&cache, "{not json").unwrap();
        assert_eq!(
            resolve_network_lock(&criu, NetworkLock::Auto, Some(&cache)),
            NetworkLock::Nftables
        );
        assert!(read(&cache).is_some_and(|e| e.nftables));
        std::fs::remove_dir_all(&d).unwrap();
    }
}
