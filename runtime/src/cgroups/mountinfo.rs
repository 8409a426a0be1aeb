//! Finding the cgroup filesystems in the mount table.
//!
//! Written by hand: `cgroups-rs` decides between v1 and v2 with a `statfs` of
//! the fixed path `/sys/fs/cgroup`, so it cannot recognise the hybrid layout,
//! a cgroup2 tree mounted elsewhere, or work from a mount table given as text
//! (which is what makes the layouts testable on any machine).

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::CgroupError;
use super::{CgroupPaths, UNIFIED};

/// Where the mount table is read from.
pub const MOUNTINFO: &str = "/proc/self/mountinfo";

/// The v1 controllers a container joins (each hierarchy it is mounted on).
/// `name=systemd` is not a controller, but a container joins it too so that
/// systemd does not count its processes as its own.
const V1_KEYS: [&str; 15] = [
    "blkio",
    "cpu",
    "cpuacct",
    "cpuset",
    "devices",
    "freezer",
    "hugetlb",
    "memory",
    "misc",
    "net_cls",
    "net_prio",
    "perf_event",
    "pids",
    "rdma",
    "name=systemd",
];

/// How the cgroup filesystems of a host are laid out.
///
/// ```
/// use nsinit_runtime::cgroups::{detect_layout, Layout};
/// let text = "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n";
/// assert_eq!(detect_layout(text).unwrap(), Layout::V2);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Layout {
    /// Only v1 hierarchies (each controller, or a group such as `cpu,cpuacct`,
    /// on its own `cgroup` mount).
    V1,
    /// v1 hierarchies for the controllers plus a `cgroup2` tree (typically
    /// `/sys/fs/cgroup/unified`) that the container also joins.
    Hybrid,
    /// One `cgroup2` tree for everything.
    V2,
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Layout::V1 => "cgroup v1",
            Layout::Hybrid => "hybrid cgroup v1 + v2",
            Layout::V2 => "cgroup v2",
        })
    }
}

/// One cgroup filesystem mount: a v1 hierarchy or the v2 tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupMount {
    /// What it serves: v1 controller names (`["cpu", "cpuacct"]` when they are
    /// co-mounted), `["name=systemd"]`, or `["unified"]` for the v2 tree.
    pub keys: Vec<String>,
    /// Where it is mounted, e.g. `/sys/fs/cgroup/memory`.
    pub mount_point: PathBuf,
    /// The cgroup of the hierarchy that is visible at the mount point (`/`
    /// unless only a subtree is mounted).
    pub root: String,
}

impl CgroupMount {
    /// The directory of the cgroup `cgroup_path` (absolute within the
    /// hierarchy) under this mount.
    ///
    /// ```
    /// use nsinit_runtime::cgroups::CgroupMount;
    /// let m = CgroupMount {
    ///     keys: vec!["memory".into()],
    ///     mount_point: "/sys/fs/cgroup/memory".into(),
    ///     root: "/".into(),
    /// };
    /// assert_eq!(m.dir_of("/nsinit/web"), std::path::Path::new("/sys/fs/cgroup/memory/nsinit/web"));
    /// ```
    pub fn dir_of(&self, cgroup_path: &str) -> PathBuf {
        let root = self.root.trim_end_matches('/');
        let rel = match cgroup_path.strip_prefix(root) {
            Some(rest) if !root.is_empty() && (rest.is_empty() || rest.starts_with('/')) => rest,
            // The cgroup is not below the visible root (or the root is `/`):
            // take the path as relative to what is visible.
            _ => cgroup_path,
        };
        self.mount_point.join(rel.trim_start_matches('/'))
    }
}

/// The cgroup filesystems found in a mount table, and the layout they form.
///
/// ```
/// use nsinit_runtime::cgroups::{CgroupMounts, Layout};
/// let text = "\
/// 32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
/// 35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
/// 41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
/// ";
/// let mounts = CgroupMounts::parse(text).unwrap();
/// assert_eq!(mounts.layout(), Layout::Hybrid);
/// let paths = mounts.dirs("/nsinit/web");
/// assert_eq!(paths.get("cpuacct").unwrap(), std::path::Path::new("/sys/fs/cgroup/cpu,cpuacct/nsinit/web"));
/// assert_eq!(paths.get("unified").unwrap(), std::path::Path::new("/sys/fs/cgroup/unified/nsinit/web"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupMounts {
    layout: Layout,
    v1: Vec<CgroupMount>,
    unified: Option<CgroupMount>,
}

/// The layout described by a mount table (the text of `/proc/<pid>/mountinfo`).
///
/// ```
/// use nsinit_runtime::cgroups::{detect_layout, Layout};
/// let text = "35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n";
/// assert_eq!(detect_layout(text).unwrap(), Layout::V1);
/// assert!(detect_layout("22 1 0:21 / /proc rw - proc proc rw\n").is_err());
/// ```
pub fn detect_layout(mountinfo: &str) -> Result<Layout, CgroupError> {
    CgroupMounts::parse(mountinfo).map(|m| m.layout())
}

impl CgroupMounts {
    /// Reads the mount table of the current process ([`MOUNTINFO`]).
    pub fn read() -> Result<Self, CgroupError> {
        let text = std::fs::read_to_string(MOUNTINFO).map_err(|source| CgroupError::MountInfo {
            path: MOUNTINFO.into(),
            source,
        })?;
        Self::parse(&text)
    }

    /// Finds the cgroup filesystems in the text of a mount table.
    ///
    /// A hierarchy mounted twice (e.g. bind-mounted elsewhere) counts once: the
    /// mount of the whole hierarchy (root `/`) is preferred, then the first.
    /// Named v1 hierarchies other than `name=systemd` are ignored, and so is
    /// `name=systemd` when the controllers are all in v2.
    pub fn parse(mountinfo: &str) -> Result<Self, CgroupError> {
        let mut v1: Vec<CgroupMount> = Vec::new();
        let mut v2: Vec<CgroupMount> = Vec::new();
        for line in mountinfo.lines() {
            let Some(entry) = parse_line(line) else {
                continue;
            };
            match entry.fstype {
                "cgroup" => {
                    let keys: Vec<String> = entry
                        .super_options
                        .split(',')
                        .filter(|o| V1_KEYS.contains(o))
                        .map(str::to_string)
                        .collect();
                    if !keys.is_empty() {
                        v1.push(CgroupMount {
                            keys,
                            mount_point: entry.mount_point,
                            root: entry.root,
                        });
                    }
                }
                "cgroup2" => v2.push(CgroupMount {
                    keys: vec![UNIFIED.to_string()],
                    mount_point: entry.mount_point,
                    root: entry.root,
                }),
                _ => {}
            }
        }
        // Whole-hierarchy mounts first (stable sort keeps the table's order).
        v1.sort_by_key(|m| m.root != "/");
        v2.sort_by_key(|m| m.root != "/");
        let mut hierarchies: Vec<CgroupMount> = Vec::new();
        for m in v1 {
            if !m
                .keys
                .iter()
                .any(|k| hierarchies.iter().any(|h| h.keys.contains(k)))
            {
                hierarchies.push(m);
            }
        }
        let unified = v2.into_iter().next();
        let has_v1_controllers = hierarchies
            .iter()
            .any(|h| h.keys.iter().any(|k| !k.starts_with("name=")));
        let layout = match (has_v1_controllers, unified.is_some()) {
            (true, true) => Layout::Hybrid,
            (true, false) => Layout::V1,
            (false, true) => Layout::V2,
            (false, false) => return Err(CgroupError::NoCgroupFs),
        };
        if layout == Layout::V2 {
            hierarchies.clear();
        }
        // Keep a stable, readable order: as mounted.
        Ok(CgroupMounts {
            layout,
            v1: hierarchies,
            unified,
        })
    }

    /// The layout these mounts form.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// The v1 hierarchies in use (empty for [`Layout::V2`]).
    pub fn hierarchies(&self) -> &[CgroupMount] {
        &self.v1
    }

    /// The cgroup2 tree, if one is mounted.
    pub fn unified(&self) -> Option<&CgroupMount> {
        self.unified.as_ref()
    }

    /// The directories of the cgroup `cgroup_path` (absolute within each
    /// hierarchy, e.g. `/nsinit/web`): one per v1 controller (co-mounted
    /// controllers share one) and `unified` for the v2 tree. Creates nothing.
    pub fn dirs(&self, cgroup_path: &str) -> CgroupPaths {
        let mut paths = CgroupPaths::default();
        for m in &self.v1 {
            let dir = m.dir_of(cgroup_path);
            for k in &m.keys {
                paths.insert(k.clone(), dir.clone());
            }
        }
        if let Some(u) = &self.unified {
            paths.insert(UNIFIED, u.dir_of(cgroup_path));
        }
        paths
    }
}

/// The fields of one mountinfo line that matter here.
struct Entry<'a> {
    root: String,
    mount_point: PathBuf,
    fstype: &'a str,
    super_options: &'a str,
}

/// Parses `36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue`
/// (see proc(5)): fields 4 and 5 are root and mount point, then optional
/// fields up to a lone `-`, then type, source and super options.
fn parse_line(line: &str) -> Option<Entry<'_>> {
    let fields: Vec<&str> = line.split(' ').collect();
    let sep = fields.iter().skip(6).position(|f| *f == "-")? + 6;
    let fstype = *fields.get(sep + 1)?;
    let super_options = fields.get(sep + 3).copied().unwrap_or("");
    Some(Entry {
        root: crate::mountinfo::unescape(fields.get(3)?),
        mount_point: PathBuf::from(crate::mountinfo::unescape(fields.get(4)?)),
        fstype,
        super_options,
    })
}

/// Whether `dir` lies inside a cgroup filesystem (it or its parent holds
/// `cgroup.procs`); used to stop walking up at the mount point.
pub(crate) fn in_cgroupfs(dir: &Path) -> bool {
    dir.join("cgroup.procs").exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The mount table of this project's machines (hybrid, cpu and cpuacct
    /// on separate hierarchies).
    pub(crate) const HYBRID: &str = "\
22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    /// A classic systemd v1 host: cpu and cpuacct co-mounted, optional fields.
    const V1_COMOUNTED: &str = "\
25 18 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
26 25 0:23 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup rw,xattr,release_agent=/lib/systemd/systemd-cgroups-agent,name=systemd
29 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,cpu,cpuacct
30 25 0:27 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,memory
31 25 0:28 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,net_cls,net_prio
32 25 0:29 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,pids
";

    /// Pure v2 mounted somewhere unusual, plus a bind mount of a subtree.
    const V2_ELSEWHERE: &str = "\
40 1 0:35 /some/sub /mnt/sub rw - cgroup2 cgroup2 rw
41 1 0:35 / /run/my\\040cgroup rw,nosuid shared:5 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
";

    #[test]
    fn hybrid_layout_of_this_machine() {
        let m = CgroupMounts::parse(HYBRID).unwrap();
        assert_eq!(m.layout(), Layout::Hybrid);
        let p = m.dirs("/nsinit/x");
        let get = |k: &str| p.get(k).unwrap().to_path_buf();
        assert_eq!(get("cpu"), PathBuf::from("/sys/fs/cgroup/cpu/nsinit/x"));
        assert_eq!(
            get("cpuacct"),
            PathBuf::from("/sys/fs/cgroup/cpuacct/nsinit/x")
        );
        assert_eq!(
            get("name=systemd"),
            PathBuf::from("/sys/fs/cgroup/systemd/nsinit/x")
        );
        assert_eq!(
            get("unified"),
            PathBuf::from("/sys/fs/cgroup/unified/nsinit/x")
        );
        assert_eq!(p.len(), 10);
    }

    #[test]
    fn v1_with_comounted_controllers() {
        let m = CgroupMounts::parse(V1_COMOUNTED).unwrap();
        assert_eq!(m.layout(), Layout::V1);
        let p = m.dirs("/a/b");
        assert_eq!(p.get("cpu"), p.get("cpuacct"));
        assert_eq!(
            p.get("cpu").unwrap(),
            Path::new("/sys/fs/cgroup/cpu,cpuacct/a/b")
        );
        assert_eq!(
            p.get("net_prio").unwrap(),
            Path::new("/sys/fs/cgroup/net_cls,net_prio/a/b")
        );
        assert_eq!(
            p.get("name=systemd").unwrap(),
            Path::new("/sys/fs/cgroup/systemd/a/b")
        );
        assert!(p.get("unified").is_none());
    }

    #[test]
    fn pure_v2_at_the_usual_place() {
        let text = "30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n";
        let m = CgroupMounts::parse(text).unwrap();
        assert_eq!(m.layout(), Layout::V2);
        let p = m.dirs("/nsinit/x");
        assert_eq!(p.len(), 1);
        assert_eq!(
            p.get("unified").unwrap(),
            Path::new("/sys/fs/cgroup/nsinit/x")
        );
    }

    #[test]
    fn pure_v2_elsewhere_prefers_the_whole_tree_and_unescapes() {
        let m = CgroupMounts::parse(V2_ELSEWHERE).unwrap();
        assert_eq!(m.layout(), Layout::V2);
        assert_eq!(
            m.unified().unwrap().mount_point,
            Path::new("/run/my cgroup")
        );
        assert_eq!(
            m.dirs("/c1").get("unified").unwrap(),
            Path::new("/run/my cgroup/c1")
        );
    }

    #[test]
    fn v2_with_a_named_systemd_hierarchy_is_v2() {
        let text = "\
30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw
31 23 0:27 / /run/systemd/legacy rw - cgroup cgroup rw,name=systemd
";
        let m = CgroupMounts::parse(text).unwrap();
        assert_eq!(m.layout(), Layout::V2);
        assert_eq!(m.dirs("/x").len(), 1);
    }

    #[test]
    fn subtree_mount_roots_are_stripped() {
        let m = CgroupMount {
            keys: vec!["memory".into()],
            mount_point: "/sys/fs/cgroup/memory".into(),
            root: "/docker/abc".into(),
        };
        assert_eq!(
            m.dir_of("/docker/abc/nsinit/x"),
            Path::new("/sys/fs/cgroup/memory/nsinit/x")
        );
        assert_eq!(
            m.dir_of("/nsinit/x"),
            Path::new("/sys/fs/cgroup/memory/nsinit/x")
        );
        assert_eq!(
            m.dir_of("/docker/abcdef"),
            Path::new("/sys/fs/cgroup/memory/docker/abcdef")
        );
    }

    #[test]
    fn duplicate_hierarchies_count_once() {
        let text = "\
50 1 0:32 /sub /mnt/memsub rw - cgroup cgroup rw,memory
35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
";
        let m = CgroupMounts::parse(text).unwrap();
        assert_eq!(m.hierarchies().len(), 1);
        assert_eq!(
            m.hierarchies()[0].mount_point,
            Path::new("/sys/fs/cgroup/memory")
        );
    }

    #[test]
    fn no_cgroups_and_garbage_lines() {
        assert!(matches!(
            CgroupMounts::parse("garbage\n\n22 1 0:21 / /proc rw - proc proc rw\n"),
            Err(CgroupError::NoCgroupFs)
        ));
    }

    #[test]
    fn this_machine_is_readable() {
        // Whatever the host is, its own table must parse into some layout.
        let m = CgroupMounts::read().unwrap();
        assert!(!m.dirs("/x").is_empty());
    }
}
