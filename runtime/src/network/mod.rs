//! Container networking: veth pairs, addresses and routes over rtnetlink.
//!
//! The work is split in two halves that run in different places:
//!
//! * **host side** — [`create_veth`] (and [`delete_link`] on teardown) runs in
//!   the runtime's own namespaces after the container's init was cloned into a
//!   new network namespace: it creates a veth pair, attaches the host end to a
//!   bridge and places the peer inside the container's namespace;
//! * **container side** — [`setup_inside`] runs in the init, inside the
//!   container's network namespace, before `pivot_root`: it brings `lo` up and
//!   gives the peer its final name, MAC, addresses and routes.
//!
//! [`interface_stats`] reads the counters of the container's interfaces for
//! `Container::stats`.
//!
//! Everything speaks rtnetlink directly over one synchronous socket per call
//! (no async runtime, no `ip` processes): bringing `lo` up is a single request.
//! Errors name the step, the interface or address, the kernel's errno and,
//! when the kernel gives one, its own explanation (extended ack).
//!
//! ```no_run
//! use nsinit_configs::model::{Network, NetworkType};
//! use nsinit_runtime::network::{create_veth, setup_inside, HostVeth};
//!
//! # fn init_pid() -> i32 { 1 }
//! let mut eth0 = Network::loopback();
//! eth0.kind = NetworkType::Veth;
//! eth0.address = "192.0.2.2/24".into();
//! eth0.gateway = "192.0.2.1".into();
//! // In the runtime, once the init exists in its new network namespace:
//! let host: HostVeth = create_veth(&eth0, "web1", init_pid())?;
//! // ... `host` is sent to the init, which calls (inside the namespace):
//! setup_inside(&[Network::loopback(), eth0], &[host], &[])?;
//! # Ok::<(), nsinit_runtime::network::NetworkError>(())
//! ```

mod rtnl;
mod stats;

#[cfg(test)]
mod tests;

use std::net::IpAddr;
use std::path::PathBuf;

use nix::errno::Errno;
use nsinit_configs::model::{Network, NetworkType, Route};
use serde::{Deserialize, Serialize};

use rtnl::{RouteRequest, Rtnl, VethRequest};
pub use stats::{interface_stats, InterfaceStats};

/// Longest interface name the kernel accepts (`IFNAMSIZ - 1`).
pub const MAX_IFNAME_LEN: usize = 15;

/// Name the container end of a veth gets when the config names none.
pub const DEFAULT_VETH_NAME: &str = "eth0";

/// How many generated name pairs [`create_veth`] tries before giving up.
const NAME_ATTEMPTS: u32 = 8;

/// An error of network setup, teardown or statistics; displays as one line
/// that says which step failed, on which interface or address, and why.
#[derive(thiserror::Error, Debug)]
#[non_exhaustive]
pub enum NetworkError {
    /// The kernel refused a netlink request.
    #[error("{step}: {errno}{}", kernel_message(.message))]
    Kernel {
        /// What was being done, e.g. `adding address 10.0.0.2/24 to eth0`.
        step: String,
        /// The errno the kernel answered with.
        errno: Errno,
        /// The kernel's extended-ack explanation, when it gave one.
        message: Option<String>,
    },
    /// The netlink socket could not be opened, or sending or receiving failed.
    #[error("{step}: netlink socket: {source}")]
    Socket {
        /// What was being done.
        step: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The kernel answered something this code cannot read.
    #[error("{step}: unexpected netlink reply: {detail}")]
    Reply {
        /// What was being done.
        step: String,
        /// What was wrong with the reply.
        detail: String,
    },
    /// A value of the network config is not usable.
    #[error("invalid {field} {value:?}: {reason}")]
    InvalidConfig {
        /// The config key, e.g. `networks[1].address`.
        field: String,
        /// The offending value.
        value: String,
        /// Why it is refused.
        reason: String,
    },
    /// A link the config refers to does not exist.
    #[error("{what} {name:?} does not exist {place}")]
    NotFound {
        /// `bridge`, `veth peer`, `interface`, ...
        what: &'static str,
        /// The link name.
        name: String,
        /// Where it was looked for, e.g. `on the host`.
        place: String,
    },
    /// The configured bridge is a link of another kind.
    #[error("{name:?} is not a bridge but a link of kind {kind}")]
    NotABridge {
        /// The configured bridge name.
        name: String,
        /// Its actual kind (`veth`, `device`, ...).
        kind: String,
    },
    /// The configured host interface name is taken.
    #[error("host interface name {name:?} is already in use")]
    NameInUse {
        /// The configured `host_interface_name`.
        name: String,
    },
    /// `setup_inside` got a different number of host veths than veth networks.
    #[error("{networks} veth network(s) configured but {peers} host veth(s) given")]
    PeerCount {
        /// Veth entries in the config.
        networks: usize,
        /// Entries of the `peers` argument.
        peers: usize,
    },
    /// Reading interface statistics failed.
    #[error("reading network statistics of pid {pid} from {path}: {source}")]
    Stats {
        /// The container's init.
        pid: i32,
        /// The file that could not be read or parsed.
        path: PathBuf,
        /// The I/O or parse error.
        #[source]
        source: std::io::Error,
    },
    /// A step failed after the veth was created, and removing the veth failed too.
    #[error("{error}; removing {name} afterwards also failed: {cleanup}")]
    Cleanup {
        /// The failure that triggered the cleanup.
        error: Box<NetworkError>,
        /// The link that may have been left behind.
        name: String,
        /// Why removing it failed.
        cleanup: Box<NetworkError>,
    },
}

fn kernel_message(message: &Option<String>) -> String {
    match message {
        Some(m) => format!(" ({m})"),
        None => String::new(),
    }
}

impl NetworkError {
    /// The kernel's errno, when the error came from the kernel.
    ///
    /// ```
    /// use nix::errno::Errno;
    /// use nsinit_runtime::network::NetworkError;
    ///
    /// let e = NetworkError::Kernel { step: "x".into(), errno: Errno::EEXIST, message: None };
    /// assert_eq!(e.errno(), Some(Errno::EEXIST));
    /// assert_eq!(e.to_string(), "x: EEXIST: File exists");
    /// ```
    pub fn errno(&self) -> Option<Errno> {
        match self {
            NetworkError::Kernel { errno, .. } => Some(*errno),
            NetworkError::Cleanup { error, .. } => error.errno(),
            _ => None,
        }
    }
}

/// The host's view of a veth pair made by [`create_veth`]: what the runtime
/// records in its state (to delete the pair on destroy) and hands to the init
/// (which finds its end by `peer_temp_name`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct HostVeth {
    /// Name of the host end, in the runtime's network namespace.
    pub host_name: String,
    /// Temporary name of the peer inside the container's network namespace,
    /// until [`setup_inside`] renames it.
    pub peer_temp_name: String,
}

/// Host side: creates the veth pair of one `veth` network towards the
/// container whose init is `ns_pid`.
///
/// Runs in the runtime's own namespaces after the container's init was cloned
/// into a new network namespace. The host end is named
/// `net.host_interface_name`, or `v<id prefix>-<hash>` generated from
/// `container_id` (at most 15 characters, retried with another hash if taken);
/// the peer gets a unique temporary name. Both ends get `net.mtu` and
/// `net.txqueuelen` (0: kernel default); the host end joins `net.bridge` when
/// one is given (with hairpin mode on the bridge port if `net.hairpin_mode`)
/// and is brought up; the peer is created directly inside the network
/// namespace of `ns_pid` (`IFLA_NET_NS_PID`), so it never appears on the host.
///
/// One `RTM_NEWLINK` does all of that except hairpin mode, and the kernel makes
/// it atomic (a failure to join the bridge unregisters both ends); if setting
/// hairpin mode fails, the pair is deleted before the error is returned.
///
/// ```no_run
/// use nsinit_configs::model::{Network, NetworkType};
/// use nsinit_runtime::network::create_veth;
///
/// let mut net = Network::loopback();
/// net.kind = NetworkType::Veth;
/// net.bridge = "nsinit0".into();
/// net.mtu = 1450;
/// let veth = create_veth(&net, "web1", 4242)?;
/// println!("host end {} (peer {} in pid 4242's netns)", veth.host_name, veth.peer_temp_name);
/// # Ok::<(), nsinit_runtime::network::NetworkError>(())
/// ```
pub fn create_veth(
    net: &Network,
    container_id: &str,
    ns_pid: i32,
) -> Result<HostVeth, NetworkError> {
    if net.kind != NetworkType::Veth {
        return Err(invalid(
            "network type",
            "loopback",
            "create_veth needs a veth network",
        ));
    }
    let ns_pid_u32 = u32::try_from(ns_pid)
        .ok()
        .filter(|&p| p > 0)
        .ok_or_else(|| invalid("init pid", &ns_pid.to_string(), "not a process id"))?;
    let given_name = !net.host_interface_name.is_empty();
    if given_name {
        check_ifname("host_interface_name", &net.host_interface_name)?;
    }
    if !net.bridge.is_empty() {
        check_ifname("bridge", &net.bridge)?;
    } else if net.hairpin_mode {
        return Err(invalid(
            "hairpin_mode",
            "true",
            "hairpin mode needs a bridge",
        ));
    }

    let mut nl = Rtnl::open()?;
    let controller = if net.bridge.is_empty() {
        None
    } else {
        let bridge = nl
            .get_link(&net.bridge)?
            .ok_or_else(|| NetworkError::NotFound {
                what: "bridge",
                name: net.bridge.clone(),
                place: "on the host".to_string(),
            })?;
        match bridge.kind.as_deref() {
            Some("bridge") => Some(bridge.index),
            other => {
                return Err(NetworkError::NotABridge {
                    name: net.bridge.clone(),
                    kind: other.unwrap_or("device").to_string(),
                })
            }
        }
    };

    let mut created = None;
    for attempt in 0..NAME_ATTEMPTS {
        let host_name = if given_name {
            net.host_interface_name.clone()
        } else {
            generated_host_name(container_id, attempt)
        };
        let peer_name = temp_peer_name(&host_name, ns_pid, attempt);
        let req = VethRequest {
            host_name: &host_name,
            peer_name: &peer_name,
            peer_ns_pid: ns_pid_u32,
            mtu: net.mtu,
            txqueuelen: net.txqueuelen,
            controller,
        };
        let step = || {
            let mut s = format!(
                "creating veth pair {host_name} <-> {peer_name} (peer in the network namespace of pid {ns_pid}"
            );
            if !net.bridge.is_empty() {
                s.push_str(", host end in bridge ");
                s.push_str(&net.bridge);
            }
            if net.mtu != 0 {
                s.push_str(&format!(", mtu {}", net.mtu));
            }
            if net.txqueuelen != 0 {
                s.push_str(&format!(", txqueuelen {}", net.txqueuelen));
            }
            s.push(')');
            s
        };
        match nl.create_veth(&req, &step) {
            Ok(()) => {
                created = Some(HostVeth {
                    host_name,
                    peer_temp_name: peer_name,
                });
                break;
            }
            // One of the two names is taken: the host end's here, or the
            // peer's in the container. Retry with fresh names unless the
            // taken one is the name the config insists on.
            Err(e) if e.errno() == Some(Errno::EEXIST) => {
                if given_name && nl.get_link(&host_name)?.is_some() {
                    return Err(NetworkError::NameInUse { name: host_name });
                }
                if attempt + 1 == NAME_ATTEMPTS {
                    return Err(e);
                }
            }
            Err(e) => return Err(e),
        }
    }
    // The loop either breaks with `created` set or returns; an exhausted loop
    // (every attempt hit EEXIST) returned the last error above.
    let veth = created.ok_or_else(|| invalid("host_interface_name", "", "no free name found"))?;

    if net.hairpin_mode {
        let step = || format!("setting hairpin mode on bridge port {}", veth.host_name);
        if let Err(error) = nl.set_hairpin(&veth.host_name, &step) {
            return Err(match nl.delete_by_name(&veth.host_name) {
                Ok(_) => error,
                Err(cleanup) => NetworkError::Cleanup {
                    error: Box::new(error),
                    name: veth.host_name.clone(),
                    cleanup: Box::new(cleanup),
                },
            });
        }
    }
    Ok(veth)
}

/// Deletes the link called `name` from the caller's network namespace
/// (deleting either end of a veth pair removes both). A link that is already
/// gone is not an error.
///
/// ```no_run
/// nsinit_runtime::network::delete_link("vweb1-3fa2")?;
/// # Ok::<(), nsinit_runtime::network::NetworkError>(())
/// ```
pub fn delete_link(name: &str) -> Result<(), NetworkError> {
    check_ifname("interface name", name)?;
    Rtnl::open()?.delete_by_name(name).map(|_| ())
}

/// Container side: configures the container's network namespace. Runs in the
/// init, inside that namespace, before `pivot_root`.
///
/// For each entry of `networks`, in order: `loopback` brings `lo` up (one
/// netlink request); `veth` takes the next entry of `peers` (the [`HostVeth`]
/// of each veth network, in the same order), renames the peer to `net.name`
/// (default `eth0`), sets its MAC, MTU and queue length when configured, adds
/// `address` and `ipv6_address` (IPv6 without duplicate address detection, so
/// it is usable at once), brings it up and adds default routes via `gateway`
/// and `ipv6_gateway`. Then every entry of `routes` is added (`destination` is
/// `ADDR/PREFIX`, a bare address, or `default`; `source` becomes the preferred
/// source; `interface_name` the output device).
///
/// All values are checked before anything is changed. Nothing is undone on
/// failure: the namespace belongs to the container being set up, which the
/// runtime destroys when its init fails.
///
/// ```no_run
/// use nsinit_configs::model::{Network, Route};
/// use nsinit_runtime::network::setup_inside;
///
/// // Just loopback: a single RTM_SETLINK.
/// setup_inside(&[Network::loopback()], &[], &[])?;
/// // An extra route through the container's eth0.
/// let route = Route { destination: "198.51.100.0/24".into(), gateway: "192.0.2.1".into(), ..Route::default() };
/// setup_inside(&[], &[], &[route])?;
/// # Ok::<(), nsinit_runtime::network::NetworkError>(())
/// ```
pub fn setup_inside(
    networks: &[Network],
    peers: &[HostVeth],
    routes: &[Route],
) -> Result<(), NetworkError> {
    let veths = networks
        .iter()
        .filter(|n| n.kind == NetworkType::Veth)
        .count();
    if veths != peers.len() {
        return Err(NetworkError::PeerCount {
            networks: veths,
            peers: peers.len(),
        });
    }
    let mut steps = Vec::with_capacity(networks.len());
    let mut peer_iter = peers.iter();
    for (i, net) in networks.iter().enumerate() {
        steps.push(match net.kind {
            NetworkType::Loopback => Plan::Loopback,
            NetworkType::Veth => {
                // The count check above guarantees a peer for every veth.
                let peer = peer_iter.next().ok_or(NetworkError::PeerCount {
                    networks: veths,
                    peers: peers.len(),
                })?;
                Plan::Veth(VethPlan::new(i, net, peer)?)
            }
        });
    }
    let route_plans = routes
        .iter()
        .enumerate()
        .map(|(i, r)| RoutePlan::new(i, r))
        .collect::<Result<Vec<_>, _>>()?;
    if steps.is_empty() && route_plans.is_empty() {
        return Ok(());
    }

    let mut nl = Rtnl::open()?;
    let mut configured: Vec<(&str, u32)> = Vec::new();
    for plan in &steps {
        match plan {
            Plan::Loopback => nl.set_up_by_name("lo")?,
            Plan::Veth(v) => configured.push((v.name, v.apply(&mut nl)?)),
        }
    }
    for plan in &route_plans {
        plan.apply(&mut nl, &configured)?;
    }
    Ok(())
}

enum Plan<'a> {
    Loopback,
    Veth(VethPlan<'a>),
}

/// A veth network with every value parsed.
struct VethPlan<'a> {
    peer: &'a str,
    name: &'a str,
    mac: Option<[u8; 6]>,
    mtu: u32,
    txqueuelen: u32,
    addresses: Vec<(IpAddr, u8)>,
    gateways: Vec<IpAddr>,
}

impl<'a> VethPlan<'a> {
    fn new(i: usize, net: &'a Network, peer: &'a HostVeth) -> Result<Self, NetworkError> {
        let field = |key: &str| format!("networks[{i}].{key}");
        let name = if net.name.is_empty() {
            DEFAULT_VETH_NAME
        } else {
            net.name.as_str()
        };
        check_ifname(&field("name"), name)?;
        check_ifname("peer_temp_name", &peer.peer_temp_name)?;
        let mac = if net.mac_address.is_empty() {
            None
        } else {
            Some(parse_mac(&field("mac_address"), &net.mac_address)?)
        };
        let mut addresses = Vec::new();
        let mut gateways = Vec::new();
        for (key, value, v6) in [
            ("address", &net.address, false),
            ("ipv6_address", &net.ipv6_address, true),
        ] {
            if !value.is_empty() {
                let (ip, prefix) = parse_cidr(&field(key), value)?;
                check_family(&field(key), value, ip, v6)?;
                addresses.push((ip, prefix));
            }
        }
        for (key, value, v6) in [
            ("gateway", &net.gateway, false),
            ("ipv6_gateway", &net.ipv6_gateway, true),
        ] {
            if !value.is_empty() {
                let ip = parse_ip(&field(key), value)?;
                check_family(&field(key), value, ip, v6)?;
                gateways.push(ip);
            }
        }
        Ok(VethPlan {
            peer: &peer.peer_temp_name,
            name,
            mac,
            mtu: net.mtu,
            txqueuelen: net.txqueuelen,
            addresses,
            gateways,
        })
    }

    /// Configures the peer; returns its interface index.
    fn apply(&self, nl: &mut Rtnl) -> Result<u32, NetworkError> {
        let link = nl
            .get_link(self.peer)?
            .ok_or_else(|| NetworkError::NotFound {
                what: "veth peer",
                name: self.peer.to_string(),
                place: "in the container's network namespace".to_string(),
            })?;
        let idx = link.index;
        let name = self.name;
        if name != self.peer {
            nl.rename(idx, name, &|| format!("renaming {} to {name}", self.peer))?;
        }
        if let Some(mac) = self.mac {
            nl.set_mac(idx, mac, &|| {
                format!("setting MAC address {} on {name}", fmt_mac(mac))
            })?;
        }
        // create_veth already set these on the peer; only a differing value costs a request.
        if self.mtu != 0 && link.mtu != Some(self.mtu) {
            nl.set_mtu(idx, self.mtu, &|| {
                format!("setting mtu {} on {name}", self.mtu)
            })?;
        }
        if self.txqueuelen != 0 && link.txqueuelen != Some(self.txqueuelen) {
            nl.set_txqueuelen(idx, self.txqueuelen, &|| {
                format!("setting txqueuelen {} on {name}", self.txqueuelen)
            })?;
        }
        for &(ip, prefix) in &self.addresses {
            nl.add_address(idx, ip, prefix, &|| {
                format!("adding address {ip}/{prefix} to {name}")
            })?;
        }
        nl.set_up(idx, &|| format!("bringing up {name}"))?;
        for &gw in &self.gateways {
            let route = RouteRequest {
                destination: unspecified_like(gw),
                prefix_len: 0,
                gateway: Some(gw),
                pref_source: None,
                oif: Some(idx),
            };
            nl.add_route(&route, &|| {
                format!("adding default route via {gw} dev {name}")
            })?;
        }
        Ok(idx)
    }
}

/// A configured route with every value parsed.
struct RoutePlan<'a> {
    route: RouteRequest,
    interface: &'a str,
    text: String,
}

impl<'a> RoutePlan<'a> {
    fn new(i: usize, r: &'a Route) -> Result<Self, NetworkError> {
        let field = |key: &str| format!("routes[{i}].{key}");
        let gateway = opt_ip(&field("gateway"), &r.gateway)?;
        let source = opt_ip(&field("source"), &r.source)?;
        let (destination, prefix_len) = if r.destination == "default" {
            let family = gateway.or(source).ok_or_else(|| {
                invalid(
                    &field("destination"),
                    &r.destination,
                    "a default route needs a gateway or source to tell IPv4 from IPv6",
                )
            })?;
            (unspecified_like(family), 0)
        } else if r.destination.contains('/') {
            let (ip, prefix) = parse_cidr(&field("destination"), &r.destination)?;
            (network_of(ip, prefix), prefix)
        } else {
            let ip = parse_ip(&field("destination"), &r.destination)?;
            (ip, full_prefix(ip))
        };
        for (key, value, ip) in [
            ("gateway", &r.gateway, gateway),
            ("source", &r.source, source),
        ] {
            if let Some(ip) = ip {
                check_family(&field(key), value, ip, destination.is_ipv6())?;
            }
        }
        if !r.interface_name.is_empty() {
            check_ifname(&field("interface_name"), &r.interface_name)?;
        } else if gateway.is_none() {
            return Err(invalid(
                &field("destination"),
                &r.destination,
                "a route needs a gateway or an interface_name",
            ));
        }
        let mut text = format!("{destination}/{prefix_len}");
        if let Some(gw) = gateway {
            text.push_str(&format!(" via {gw}"));
        }
        if !r.interface_name.is_empty() {
            text.push_str(&format!(" dev {}", r.interface_name));
        }
        if let Some(src) = source {
            text.push_str(&format!(" src {src}"));
        }
        Ok(RoutePlan {
            route: RouteRequest {
                destination,
                prefix_len,
                gateway,
                pref_source: source,
                oif: None,
            },
            interface: &r.interface_name,
            text,
        })
    }

    fn apply(&self, nl: &mut Rtnl, configured: &[(&str, u32)]) -> Result<(), NetworkError> {
        let mut route = self.route.clone();
        if !self.interface.is_empty() {
            let known = configured.iter().find(|(n, _)| *n == self.interface);
            route.oif = Some(match known {
                Some(&(_, idx)) => idx,
                None => {
                    nl.get_link(self.interface)?
                        .ok_or_else(|| NetworkError::NotFound {
                            what: "interface",
                            name: self.interface.to_string(),
                            place: format!("in the container for route {}", self.text),
                        })?
                        .index
                }
            });
        }
        nl.add_route(&route, &|| format!("adding route {}", self.text))
    }
}

fn invalid(field: &str, value: &str, reason: &str) -> NetworkError {
    NetworkError::InvalidConfig {
        field: field.to_string(),
        value: value.to_string(),
        reason: reason.to_string(),
    }
}

/// Checks a name the way the kernel's `dev_valid_name` does.
fn check_ifname(field: &str, name: &str) -> Result<(), NetworkError> {
    let reason = if name.is_empty() {
        "empty".to_string()
    } else if name.len() > MAX_IFNAME_LEN {
        format!("longer than {MAX_IFNAME_LEN} bytes")
    } else if name == "." || name == ".." {
        "not a valid interface name".to_string()
    } else if name
        .bytes()
        .any(|b| b == b'/' || b == b':' || b.is_ascii_whitespace() || b == 0)
    {
        "contains '/', ':', a NUL or whitespace".to_string()
    } else {
        return Ok(());
    };
    Err(invalid(field, name, &reason))
}

fn parse_ip(field: &str, value: &str) -> Result<IpAddr, NetworkError> {
    value
        .parse()
        .map_err(|_| invalid(field, value, "not an IPv4 or IPv6 address"))
}

fn opt_ip(field: &str, value: &str) -> Result<Option<IpAddr>, NetworkError> {
    if value.is_empty() {
        Ok(None)
    } else {
        parse_ip(field, value).map(Some)
    }
}

/// Parses `ADDR/PREFIX`; the prefix is required.
fn parse_cidr(field: &str, value: &str) -> Result<(IpAddr, u8), NetworkError> {
    let (addr, prefix) = value.split_once('/').ok_or_else(|| {
        invalid(
            field,
            value,
            "missing the prefix length (e.g. 192.0.2.2/24)",
        )
    })?;
    let ip: IpAddr = addr
        .parse()
        .map_err(|_| invalid(field, value, "not an IPv4 or IPv6 address"))?;
    let prefix: u8 = prefix
        .parse()
        .ok()
        .filter(|&p| p <= full_prefix(ip))
        .ok_or_else(|| {
            invalid(
                field,
                value,
                &format!("prefix length must be 0..={}", full_prefix(ip)),
            )
        })?;
    Ok((ip, prefix))
}

fn check_family(field: &str, value: &str, ip: IpAddr, want_v6: bool) -> Result<(), NetworkError> {
    if ip.is_ipv6() == want_v6 {
        Ok(())
    } else if want_v6 {
        Err(invalid(field, value, "must be an IPv6 address"))
    } else {
        Err(invalid(field, value, "must be an IPv4 address"))
    }
}

fn full_prefix(ip: IpAddr) -> u8 {
    if ip.is_ipv4() {
        32
    } else {
        128
    }
}

/// `0.0.0.0` or `::`, of the same family as `ip`.
fn unspecified_like(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => IpAddr::from([0u8; 4]),
        IpAddr::V6(_) => IpAddr::from([0u16; 8]),
    }
}

/// `ip` with its host bits cleared (the kernel refuses IPv4 routes with host bits).
fn network_of(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::from((u32::from(v4) & mask).to_be_bytes())
        }
        IpAddr::V6(v6) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::from((u128::from(v6) & mask).to_be_bytes())
        }
    }
}

/// Parses `aa:bb:cc:dd:ee:ff` (or with `-`); refuses multicast and all-zero
/// addresses, which the kernel would refuse with a bare `EADDRNOTAVAIL`.
fn parse_mac(field: &str, value: &str) -> Result<[u8; 6], NetworkError> {
    let bad = || invalid(field, value, "not a MAC address like 02:42:ac:11:00:02");
    let mut mac = [0u8; 6];
    let mut parts = value.split([':', '-']);
    for byte in &mut mac {
        let part = parts.next().filter(|p| p.len() == 2).ok_or_else(bad)?;
        *byte = u8::from_str_radix(part, 16).map_err(|_| bad())?;
    }
    if parts.next().is_some() {
        return Err(bad());
    }
    if mac[0] & 1 == 1 {
        return Err(invalid(
            field,
            value,
            "is a multicast address (lowest bit of the first byte set)",
        ));
    }
    if mac == [0; 6] {
        return Err(invalid(field, value, "is all zeros"));
    }
    Ok(mac)
}

fn fmt_mac(mac: [u8; 6]) -> String {
    let [a, b, c, d, e, f] = mac;
    format!("{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{f:02x}")
}

/// FNV-1a over some byte strings: a small, stable hash for names.
fn fnv1a(parts: &[&[u8]]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for part in parts {
        for &b in *part {
            h ^= u32::from(b);
            h = h.wrapping_mul(0x0100_0193);
        }
        h ^= 0xff;
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// `v<up to 9 characters of the id>-<4 hex digits>`, at most 15 characters,
/// so an operator can tell which container a host interface belongs to.
fn generated_host_name(container_id: &str, attempt: u32) -> String {
    let prefix: String = container_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-' || *c == '.')
        .take(9)
        .collect();
    let hash = fnv1a(&[container_id.as_bytes(), &attempt.to_le_bytes()]);
    format!("v{prefix}-{:04x}", hash & 0xffff)
}

/// A temporary peer name, unique per host end, target process and attempt.
fn temp_peer_name(host_name: &str, ns_pid: i32, attempt: u32) -> String {
    let hash = fnv1a(&[
        host_name.as_bytes(),
        &ns_pid.to_le_bytes(),
        &attempt.to_le_bytes(),
    ]);
    format!("nsitmp{hash:08x}")
}
