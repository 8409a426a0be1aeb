//! Namespaces: which to create, which to join, user namespace id maps.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use nsinit_configs::{Config, IdMap, NamespaceType};

use crate::error::{Context, SysResult};

/// The `CLONE_NEW*` flags the init is cloned with: every configured namespace
/// without a path, except the cgroup namespace, which the init unshares only
/// after the parent placed it into its cgroups (so that the namespace's root
/// is the container's cgroup, not the runtime's).
pub fn clone_flags(config: &Config) -> i32 {
    config
        .namespaces
        .iter()
        .filter(|n| n.path.is_empty() && n.kind != NamespaceType::Cgroup)
        .fold(0, |acc, n| acc | n.kind.clone_flag())
}

/// Whether the init must unshare a new cgroup namespace itself.
pub fn unshare_cgroupns(config: &Config) -> bool {
    config
        .namespace(NamespaceType::Cgroup)
        .is_some_and(|n| n.path.is_empty())
}

/// Namespaces given by path that the child joins before exec, user first. The
/// mount namespace is not among them: the init joins it after exec (so that the
/// runtime binary can be protected in a private mount namespace first).
pub fn joins_before_exec(config: &Config) -> Vec<(NamespaceType, PathBuf)> {
    NamespaceType::ALL
        .iter()
        .filter(|t| **t != NamespaceType::Mount)
        .filter_map(|t| {
            config
                .namespace(*t)
                .filter(|n| !n.path.is_empty())
                .map(|n| (*t, PathBuf::from(&n.path)))
        })
        .collect()
}

/// The mount namespace path to join, if the config gives one.
pub fn mount_ns_path(config: &Config) -> Option<PathBuf> {
    config
        .namespace(NamespaceType::Mount)
        .filter(|n| !n.path.is_empty())
        .map(|n| PathBuf::from(&n.path))
}

/// Writes the uid and gid maps of the user namespace of `pid`.
pub fn write_id_maps(pid: i32, uid_maps: &[IdMap], gid_maps: &[IdMap]) -> SysResult<()> {
    for (file, maps) in [("uid_map", uid_maps), ("gid_map", gid_maps)] {
        let path = PathBuf::from(format!("/proc/{pid}/{file}"));
        let text: String = maps
            .iter()
            .map(|m| format!("{} {} {}\n", m.container_id, m.host_id, m.size))
            .collect();
        std::fs::write(&path, text.as_bytes()).ctx_path(
            &format!("write user namespace {file}"),
            "write",
            &path,
        )?;
    }
    Ok(())
}

/// The namespace files of the init, by type name, for every namespace the
/// container has (created or joined). Joining processes enter these.
pub fn namespace_paths(pid: i32, config: &Config) -> BTreeMap<String, String> {
    config
        .namespaces
        .iter()
        .map(|n| {
            (
                n.kind.config_name().to_string(),
                format!("/proc/{pid}/ns/{}", n.kind.proc_name()),
            )
        })
        .collect()
}

/// Whether two namespace files refer to the same namespace.
pub fn same_namespace(a: &Path, b: &Path) -> bool {
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

/// Maps a container uid to the host uid through `maps` (identity without maps).
pub fn host_id(maps: &[IdMap], id: u32) -> Option<u32> {
    if maps.is_empty() {
        return Some(id);
    }
    maps.iter()
        .find(|m| id >= m.container_id && id - m.container_id < m.size)
        .map(|m| m.host_id + (id - m.container_id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use nsinit_configs::Namespace;

    fn cfg(ns: &[(NamespaceType, &str)]) -> Config {
        Config {
            namespaces: ns
                .iter()
                .map(|(k, p)| Namespace {
                    kind: *k,
                    path: p.to_string(),
                })
                .collect(),
            ..Config::default()
        }
    }

    #[test]
    fn flags_exclude_joined_and_cgroup() {
        let c = cfg(&[
            (NamespaceType::Mount, ""),
            (NamespaceType::Pid, ""),
            (NamespaceType::Net, "/proc/1/ns/net"),
            (NamespaceType::Cgroup, ""),
        ]);
        assert_eq!(clone_flags(&c), libc::CLONE_NEWNS | libc::CLONE_NEWPID);
        assert!(unshare_cgroupns(&c));
        let j = joins_before_exec(&c);
        assert_eq!(
            j,
            vec![(NamespaceType::Net, PathBuf::from("/proc/1/ns/net"))]
        );
    }

    #[test]
    fn user_joined_first_and_mount_never_before_exec() {
        let c = cfg(&[
            (NamespaceType::Mount, "/x/mnt"),
            (NamespaceType::Ipc, "/x/ipc"),
            (NamespaceType::User, "/x/user"),
        ]);
        let kinds: Vec<_> = joins_before_exec(&c).into_iter().map(|(k, _)| k).collect();
        assert_eq!(kinds, vec![NamespaceType::User, NamespaceType::Ipc]);
        assert_eq!(mount_ns_path(&c), Some(PathBuf::from("/x/mnt")));
    }

    #[test]
    fn host_id_mapping() {
        let maps = [IdMap {
            container_id: 0,
            host_id: 100000,
            size: 65536,
        }];
        assert_eq!(host_id(&maps, 0), Some(100000));
        assert_eq!(host_id(&maps, 65535), Some(165535));
        assert_eq!(host_id(&maps, 65536), None);
        assert_eq!(host_id(&[], 7), Some(7));
    }
}
