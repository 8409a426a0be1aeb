//! Capabilities: the configured sets are a whitelist, everything else is
//! dropped. Applied in two steps around the switch of user:
//! [`drop_bounding`] while still root, then [`apply_sets`] after the new ids
//! (with `PR_SET_KEEPCAPS` in between so the permitted set survives).

use std::str::FromStr;

use caps::{CapSet, Capability, CapsHashSet};
use nsinit_configs::Capabilities;

use crate::error::{SysError, SysResult};

/// Parses capability names (`CAP_CHOWN` or `chown`).
pub fn parse_set(names: &[String]) -> SysResult<CapsHashSet> {
    names
        .iter()
        .map(|n| {
            let canon = caps::to_canonical(n);
            Capability::from_str(&canon)
                .map_err(|_| SysError::msg("capabilities", format!("unknown capability {n:?}")))
        })
        .collect()
}

fn caps_err(step: &str, e: caps::errors::CapsError) -> SysError {
    SysError::msg(step, e.to_string())
}

/// Drops from the bounding set every capability the kernel knows that is not in
/// `caps.bounding`.
pub fn drop_bounding(c: &Capabilities) -> SysResult<()> {
    let keep = parse_set(&c.bounding)?;
    for cap in caps::runtime::thread_all_supported() {
        if !keep.contains(&cap) {
            caps::drop(None, CapSet::Bounding, cap)
                .map_err(|e| caps_err("drop bounding capabilities", e))?;
        }
    }
    Ok(())
}

/// Sets the permitted, inheritable, effective and ambient sets.
pub fn apply_sets(c: &Capabilities) -> SysResult<()> {
    let permitted = parse_set(&c.permitted)?;
    let inheritable = parse_set(&c.inheritable)?;
    let effective = parse_set(&c.effective)?;
    let ambient = parse_set(&c.ambient)?;
    // Effective must stay within permitted at every moment: widen effective
    // last, narrow it first.
    caps::set(
        None,
        CapSet::Effective,
        &effective.intersection(&permitted).copied().collect(),
    )
    .map_err(|e| caps_err("set effective capabilities", e))?;
    caps::set(None, CapSet::Permitted, &permitted)
        .map_err(|e| caps_err("set permitted capabilities", e))?;
    caps::set(None, CapSet::Inheritable, &inheritable)
        .map_err(|e| caps_err("set inheritable capabilities", e))?;
    caps::set(None, CapSet::Effective, &effective)
        .map_err(|e| caps_err("set effective capabilities", e))?;
    caps::clear(None, CapSet::Ambient).map_err(|e| caps_err("clear ambient capabilities", e))?;
    for cap in ambient {
        caps::raise(None, CapSet::Ambient, cap)
            .map_err(|e| caps_err(&format!("raise ambient capability {cap}"), e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_spellings() {
        let s = parse_set(&["CAP_CHOWN".into(), "net_raw".into()]).unwrap();
        assert!(s.contains(&Capability::CAP_CHOWN));
        assert!(s.contains(&Capability::CAP_NET_RAW));
        assert!(parse_set(&["CAP_BOGUS".into()]).is_err());
    }
}
