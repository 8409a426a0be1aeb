//! Resolving the user a process runs as, from the container's `/etc/passwd`
//! and `/etc/group` (read after the switch of root, so they are the image's).

use crate::error::{SysError, SysResult};

/// The ids a process takes before exec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecUser {
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups: the user's memberships in `/etc/group` followed by
    /// the explicitly requested additional groups.
    pub groups: Vec<u32>,
    /// Home directory (from passwd; `/` when unknown).
    pub home: String,
}

#[derive(Debug, Clone)]
struct PasswdEntry {
    name: String,
    uid: u32,
    gid: u32,
    home: String,
}

#[derive(Debug, Clone)]
struct GroupEntry {
    name: String,
    gid: u32,
    members: Vec<String>,
}

fn parse_passwd(text: &str) -> Vec<PasswdEntry> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() < 4 {
                return None;
            }
            Some(PasswdEntry {
                name: f[0].to_string(),
                uid: f[2].parse().ok()?,
                gid: f[3].parse().ok()?,
                home: f.get(5).unwrap_or(&"").to_string(),
            })
        })
        .collect()
}

fn parse_group(text: &str) -> Vec<GroupEntry> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() < 3 {
                return None;
            }
            Some(GroupEntry {
                name: f[0].to_string(),
                gid: f[2].parse().ok()?,
                members: f
                    .get(3)
                    .map(|m| {
                        m.split(',')
                            .filter(|s| !s.is_empty())
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default(),
            })
        })
        .collect()
}

/// Resolves `spec` (`""`, `uid`, `uid:gid`, `name`, `name:group`, `uid:group`)
/// and the additional groups against passwd/group texts (None: file missing).
///
/// ```
/// use nsinit_runtime::user::resolve;
/// let passwd = "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\n";
/// let group = "root:x:0:\nuser:x:1000:\nwheel:x:10:user\n";
/// let u = resolve("user", &[], Some(passwd), Some(group)).unwrap();
/// assert_eq!((u.uid, u.gid, u.groups.clone(), u.home.as_str()), (1000, 1000, vec![10], "/home/user"));
/// assert!(resolve("nobody-here", &[], Some(passwd), Some(group)).is_err());
/// ```
pub fn resolve(
    spec: &str,
    additional: &[String],
    passwd: Option<&str>,
    group: Option<&str>,
) -> SysResult<ExecUser> {
    let step = "resolve user";
    let users = passwd.map(parse_passwd).unwrap_or_default();
    let groups = group.map(parse_group).unwrap_or_default();
    let (user_part, group_part) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let user_part = if user_part.is_empty() { "0" } else { user_part };

    let entry = match user_part.parse::<u32>() {
        Ok(uid) => users
            .iter()
            .find(|u| u.uid == uid)
            .cloned()
            .or(Some(PasswdEntry {
                name: String::new(),
                uid,
                gid: 0,
                home: "/".into(),
            })),
        Err(_) => users.iter().find(|u| u.name == user_part).cloned(),
    };
    let entry = entry.ok_or_else(|| {
        SysError::msg(
            step,
            format!(
                "unable to find user {user_part:?}: {}",
                if passwd.is_some() {
                    "no matching entry in /etc/passwd"
                } else {
                    "the container has no /etc/passwd"
                }
            ),
        )
    })?;
    let gid = match group_part {
        None | Some("") => entry.gid,
        Some(g) => lookup_group(g, &groups, group.is_some())?,
    };
    let mut sgids: Vec<u32> = if entry.name.is_empty() {
        Vec::new()
    } else {
        groups
            .iter()
            .filter(|g| g.members.contains(&entry.name))
            .map(|g| g.gid)
            .collect()
    };
    for g in additional {
        let id = lookup_group(g, &groups, group.is_some())?;
        if !sgids.contains(&id) {
            sgids.push(id);
        }
    }
    Ok(ExecUser {
        uid: entry.uid,
        gid,
        groups: sgids,
        home: if entry.home.is_empty() {
            "/".into()
        } else {
            entry.home
        },
    })
}

fn lookup_group(g: &str, groups: &[GroupEntry], have_file: bool) -> SysResult<u32> {
    if let Ok(id) = g.parse::<u32>() {
        return Ok(id);
    }
    groups
        .iter()
        .find(|e| e.name == g)
        .map(|e| e.gid)
        .ok_or_else(|| {
            SysError::msg(
                "resolve group",
                format!(
                    "unable to find group {g:?}: {}",
                    if have_file {
                        "no matching entry in /etc/group"
                    } else {
                        "the container has no /etc/group"
                    }
                ),
            )
        })
}

/// Reads the container's passwd and group files and resolves `spec`.
pub fn resolve_in_container(spec: &str, additional: &[String]) -> SysResult<ExecUser> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok();
    let group = std::fs::read_to_string("/etc/group").ok();
    resolve(spec, additional, passwd.as_deref(), group.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: &str = "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\n";
    const G: &str = "root:x:0:\nuser:x:1000:\nwheel:x:10:user\naudio:x:29:user,other\n";

    #[test]
    fn numeric_forms() {
        let u = resolve("", &[], Some(P), Some(G)).unwrap();
        assert_eq!((u.uid, u.gid), (0, 0));
        let u = resolve("1000:10", &[], Some(P), Some(G)).unwrap();
        assert_eq!((u.uid, u.gid), (1000, 10));
        let u = resolve("4242", &[], None, None).unwrap();
        assert_eq!((u.uid, u.gid, u.home.as_str()), (4242, 0, "/"));
    }

    #[test]
    fn names_and_groups() {
        let u = resolve(
            "user:wheel",
            &["audio".into(), "7".into()],
            Some(P),
            Some(G),
        )
        .unwrap();
        assert_eq!((u.uid, u.gid), (1000, 10));
        assert_eq!(u.groups, vec![10, 29, 7]);
    }

    #[test]
    fn unknown_user_and_group() {
        let e = resolve("ghost", &[], Some(P), Some(G)).unwrap_err();
        assert!(
            e.to_string().contains("unable to find user \"ghost\""),
            "{e}"
        );
        let e = resolve("user:ghosts", &[], Some(P), Some(G)).unwrap_err();
        assert!(
            e.to_string().contains("unable to find group \"ghosts\""),
            "{e}"
        );
        let e = resolve("ghost", &[], None, None).unwrap_err();
        assert!(e.to_string().contains("no /etc/passwd"), "{e}");
    }
}
