//! A small synchronous rtnetlink client: one socket, one request at a time.
//!
//! Every public function here sends exactly one request and waits for the
//! kernel's answer (an ACK, an error with its errno and extended-ack message, or
//! the requested object). Requests are built with `netlink-packet-route`;
//! replies are read with the low-level buffers of `netlink-packet-core`, picking
//! only the attributes we use, so a kernel that adds attributes we do not know
//! cannot break parsing.

use std::io;
use std::net::{IpAddr, Ipv4Addr};

use netlink_packet_core::{
    ErrorBuffer, NetlinkBuffer, NetlinkMessage, NlasIterator, NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL,
    NLM_F_REQUEST,
};
use netlink_packet_route::address::{
    AddressAttribute, AddressHeaderFlags, AddressMessage, AddressScope,
};
use netlink_packet_route::link::{
    InfoBridgePort, InfoData, InfoKind, InfoPortData, InfoPortKind, InfoVeth, LinkAttribute,
    LinkExtentMask, LinkFlags, LinkHeader, LinkInfo, LinkMessage,
};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};
use nix::errno::Errno;

use super::NetworkError;

/// Size of the receive buffer. Our replies are one ACK (36 bytes) or one link
/// (about 1.5 KiB with statistics skipped); a datagram larger than this is
/// reported as an error rather than silently truncated.
const RX_CAPACITY: usize = 32 * 1024;

const NLMSG_NOOP: u16 = 1;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLMSG_HDR_LEN: usize = 16;
/// `NLM_F_CAPPED` on an error message: only the request's header was echoed.
const NLM_F_CAPPED: u16 = 0x100;
/// `NLM_F_ACK_TLVS` on an error message: extended-ack attributes follow.
const NLM_F_ACK_TLVS: u16 = 0x200;
/// `NLMSGERR_ATTR_MSG`: the human-readable extended-ack message.
const NLMSGERR_ATTR_MSG: u16 = 1;

const IFLA_MTU: u16 = 4;
const IFLA_TXQLEN: u16 = 13;
const IFLA_LINKINFO: u16 = 18;
const IFLA_INFO_KIND: u16 = 1;
/// Size of `struct ifinfomsg`.
const IFINFOMSG_LEN: usize = 16;

/// What we need to know about an existing link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct LinkSummary {
    pub index: u32,
    pub mtu: Option<u32>,
    pub txqueuelen: Option<u32>,
    /// `IFLA_INFO_KIND`, e.g. `bridge` or `veth` (absent for `lo`, physical NICs).
    pub kind: Option<String>,
}

/// A veth pair to create with one `RTM_NEWLINK`.
pub(super) struct VethRequest<'a> {
    pub host_name: &'a str,
    pub peer_name: &'a str,
    /// Process whose network namespace receives the peer.
    pub peer_ns_pid: u32,
    /// 0: kernel default.
    pub mtu: u32,
    /// 0: kernel default.
    pub txqueuelen: u32,
    /// Index of the bridge the host end is attached to.
    pub controller: Option<u32>,
}

/// A route to add with one `RTM_NEWROUTE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RouteRequest {
    pub destination: IpAddr,
    pub prefix_len: u8,
    pub gateway: Option<IpAddr>,
    pub pref_source: Option<IpAddr>,
    pub oif: Option<u32>,
}

/// Lazily-formatted description of the step a request belongs to; only called
/// when something fails, so the success path allocates nothing for it.
pub(super) type Step<'a> = &'a dyn Fn() -> String;

/// One rtnetlink socket of the current network namespace.
pub(super) struct Rtnl {
    sock: Socket,
    seq: u32,
    tx: Vec<u8>,
    rx: Vec<u8>,
}

impl Rtnl {
    /// Opens a `NETLINK_ROUTE` socket in the calling thread's network namespace.
    ///
    /// The socket is bound lazily by the kernel on the first send. Extended
    /// acks (the kernel's own error text) and capped acks (no echo of our
    /// request in errors) are asked for; kernels without them still work.
    pub fn open() -> Result<Rtnl, NetworkError> {
        let sock = Socket::new(NETLINK_ROUTE).map_err(|source| NetworkError::Socket {
            step: "opening a NETLINK_ROUTE socket".to_string(),
            source,
        })?;
        // Best effort: without these the errno alone is reported.
        let _ = sock.set_ext_ack(true);
        let _ = sock.set_cap_ack(true);
        Ok(Rtnl {
            sock,
            seq: 0,
            tx: Vec::with_capacity(512),
            rx: Vec::with_capacity(RX_CAPACITY),
        })
    }

    /// Brings the link called `name` up (`RTM_SETLINK` by name: no index lookup).
    pub fn set_up_by_name(&mut self, name: &str) -> Result<(), NetworkError> {
        let mut msg = LinkMessage::default();
        msg.header.flags = LinkFlags::Up;
        msg.header.change_mask = LinkFlags::Up;
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        self.ack(RouteNetlinkMessage::SetLink(msg), 0, &|| {
            format!("bringing up {name}")
        })
    }

    /// Brings link `index` up.
    pub fn set_up(&mut self, index: u32, step: Step) -> Result<(), NetworkError> {
        let mut msg = link(index);
        msg.header.flags = LinkFlags::Up;
        msg.header.change_mask = LinkFlags::Up;
        self.ack(RouteNetlinkMessage::SetLink(msg), 0, step)
    }

    /// Renames link `index` (it must be down).
    pub fn rename(&mut self, index: u32, name: &str, step: Step) -> Result<(), NetworkError> {
        self.set_attr(index, LinkAttribute::IfName(name.to_string()), step)
    }

    /// Sets the hardware address of link `index`.
    pub fn set_mac(&mut self, index: u32, mac: [u8; 6], step: Step) -> Result<(), NetworkError> {
        self.set_attr(index, LinkAttribute::Address(mac.to_vec()), step)
    }

    /// Sets the MTU of link `index`.
    pub fn set_mtu(&mut self, index: u32, mtu: u32, step: Step) -> Result<(), NetworkError> {
        self.set_attr(index, LinkAttribute::Mtu(mtu), step)
    }

    /// Sets the transmit queue length of link `index`.
    pub fn set_txqueuelen(&mut self, index: u32, len: u32, step: Step) -> Result<(), NetworkError> {
        self.set_attr(index, LinkAttribute::TxQueueLen(len), step)
    }

    fn set_attr(
        &mut self,
        index: u32,
        attr: LinkAttribute,
        step: Step,
    ) -> Result<(), NetworkError> {
        let mut msg = link(index);
        msg.attributes.push(attr);
        self.ack(RouteNetlinkMessage::SetLink(msg), 0, step)
    }

    /// Turns hairpin mode on for the bridge port called `name`
    /// (`RTM_NEWLINK` with bridge port data, as `ip link set NAME type bridge_slave hairpin on`).
    pub fn set_hairpin(&mut self, name: &str, step: Step) -> Result<(), NetworkError> {
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        msg.attributes.push(LinkAttribute::LinkInfo(vec![
            LinkInfo::PortKind(InfoPortKind::Bridge),
            LinkInfo::PortData(InfoPortData::BridgePort(vec![InfoBridgePort::HairpinMode(
                true,
            )])),
        ]));
        self.ack(RouteNetlinkMessage::NewLink(msg), 0, step)
    }

    /// Creates a veth pair in one request: the host end here (up, with its
    /// MTU, queue length and bridge), the peer directly inside the network
    /// namespace of `peer_ns_pid`. The kernel creates all of it or nothing: if
    /// attaching to the bridge fails it unregisters both ends itself.
    pub fn create_veth(&mut self, req: &VethRequest, step: Step) -> Result<(), NetworkError> {
        let mut peer = LinkMessage::default();
        peer.attributes
            .push(LinkAttribute::IfName(req.peer_name.to_string()));
        if req.mtu != 0 {
            peer.attributes.push(LinkAttribute::Mtu(req.mtu));
        }
        if req.txqueuelen != 0 {
            peer.attributes
                .push(LinkAttribute::TxQueueLen(req.txqueuelen));
        }
        peer.attributes
            .push(LinkAttribute::NetNsPid(req.peer_ns_pid));

        let mut msg = LinkMessage::default();
        msg.header.flags = LinkFlags::Up;
        msg.header.change_mask = LinkFlags::Up;
        msg.attributes
            .push(LinkAttribute::IfName(req.host_name.to_string()));
        if req.mtu != 0 {
            msg.attributes.push(LinkAttribute::Mtu(req.mtu));
        }
        if req.txqueuelen != 0 {
            msg.attributes
                .push(LinkAttribute::TxQueueLen(req.txqueuelen));
        }
        if let Some(controller) = req.controller {
            msg.attributes.push(LinkAttribute::Controller(controller));
        }
        msg.attributes.push(LinkAttribute::LinkInfo(vec![
            LinkInfo::Kind(InfoKind::Veth),
            LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(peer))),
        ]));
        self.ack(
            RouteNetlinkMessage::NewLink(msg),
            NLM_F_CREATE | NLM_F_EXCL,
            step,
        )
    }

    /// Deletes the link called `name`. Returns `Ok(false)` when it does not exist.
    pub fn delete_by_name(&mut self, name: &str) -> Result<bool, NetworkError> {
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        match self.ack(RouteNetlinkMessage::DelLink(msg), 0, &|| {
            format!("deleting link {name}")
        }) {
            Ok(()) => Ok(true),
            Err(e) if e.errno() == Some(Errno::ENODEV) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Looks up the link called `name`; `Ok(None)` when there is none.
    pub fn get_link(&mut self, name: &str) -> Result<Option<LinkSummary>, NetworkError> {
        let step = || format!("looking up link {name}");
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        msg.attributes
            .push(LinkAttribute::ExtMask(vec![LinkExtentMask::SkipStats]));
        let seq = self.send(RouteNetlinkMessage::GetLink(msg), 0, &step)?;
        let mut found = None;
        let res = self.wait(seq, &step, |payload| {
            found = Some(parse_link(payload).ok_or_else(|| NetworkError::Reply {
                step: step(),
                detail: "malformed RTM_NEWLINK reply".to_string(),
            })?);
            Ok(true)
        });
        match res {
            Ok(()) => Ok(found),
            Err(e) if e.errno() == Some(Errno::ENODEV) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Adds `addr/prefix_len` to link `index`. IPv6 addresses skip duplicate
    /// address detection (`IFA_F_NODAD`) so they are usable at once; IPv4
    /// addresses get the broadcast address of their subnet, as `ip addr add … brd +`.
    pub fn add_address(
        &mut self,
        index: u32,
        addr: IpAddr,
        prefix_len: u8,
        step: Step,
    ) -> Result<(), NetworkError> {
        let mut msg = AddressMessage::default();
        msg.header.index = index;
        msg.header.prefix_len = prefix_len;
        msg.header.scope = AddressScope::Universe;
        msg.attributes.push(AddressAttribute::Local(addr));
        msg.attributes.push(AddressAttribute::Address(addr));
        match addr {
            IpAddr::V4(v4) => {
                msg.header.family = AddressFamily::Inet;
                if prefix_len < 31 {
                    let host_mask = u32::MAX >> prefix_len;
                    let brd = Ipv4Addr::from(u32::from(v4) | host_mask);
                    msg.attributes.push(AddressAttribute::Broadcast(brd));
                }
            }
            IpAddr::V6(_) => {
                msg.header.family = AddressFamily::Inet6;
                msg.header.flags = AddressHeaderFlags::Nodad;
            }
        }
        self.ack(
            RouteNetlinkMessage::NewAddress(msg),
            NLM_F_CREATE | NLM_F_EXCL,
            step,
        )
    }

    /// Adds a unicast route to the main table (protocol `boot`, like `ip route add`).
    pub fn add_route(&mut self, route: &RouteRequest, step: Step) -> Result<(), NetworkError> {
        let mut msg = RouteMessage::default();
        msg.header.address_family = match route.destination {
            IpAddr::V4(_) => AddressFamily::Inet,
            IpAddr::V6(_) => AddressFamily::Inet6,
        };
        msg.header.destination_prefix_length = route.prefix_len;
        msg.header.table = RouteHeader::RT_TABLE_MAIN;
        msg.header.protocol = RouteProtocol::Boot;
        msg.header.kind = RouteType::Unicast;
        msg.header.scope = if route.gateway.is_none() && route.destination.is_ipv4() {
            RouteScope::Link
        } else {
            RouteScope::Universe
        };
        if route.prefix_len != 0 {
            msg.attributes
                .push(RouteAttribute::Destination(RouteAddress::from(
                    route.destination,
                )));
        }
        if let Some(gw) = route.gateway {
            msg.attributes
                .push(RouteAttribute::Gateway(RouteAddress::from(gw)));
        }
        if let Some(src) = route.pref_source {
            msg.attributes
                .push(RouteAttribute::PrefSource(RouteAddress::from(src)));
        }
        if let Some(oif) = route.oif {
            msg.attributes.push(RouteAttribute::Oif(oif));
        }
        self.ack(
            RouteNetlinkMessage::NewRoute(msg),
            NLM_F_CREATE | NLM_F_EXCL,
            step,
        )
    }

    /// Sends `msg` with `NLM_F_ACK` and waits for the kernel's verdict.
    fn ack(
        &mut self,
        msg: RouteNetlinkMessage,
        flags: u16,
        step: Step,
    ) -> Result<(), NetworkError> {
        let seq = self.send(msg, NLM_F_ACK | flags, step)?;
        self.wait(seq, step, |_| Ok(false))
    }

    /// Serialises and sends one request; returns its sequence number.
    fn send(
        &mut self,
        msg: RouteNetlinkMessage,
        flags: u16,
        step: Step,
    ) -> Result<u32, NetworkError> {
        self.seq = self.seq.wrapping_add(1);
        let mut nl = NetlinkMessage::from(msg);
        nl.header.flags = NLM_F_REQUEST | flags;
        nl.header.sequence_number = self.seq;
        nl.finalize();
        self.tx.clear();
        self.tx.resize(nl.buffer_len(), 0);
        nl.serialize(&mut self.tx);
        let kernel = SocketAddr::new(0, 0);
        loop {
            match self.sock.send_to(&self.tx, &kernel, 0) {
                Ok(n) if n == self.tx.len() => return Ok(self.seq),
                Ok(n) => {
                    return Err(NetworkError::Socket {
                        step: step(),
                        source: io::Error::other(format!(
                            "short netlink send: {n} of {} bytes",
                            self.tx.len()
                        )),
                    })
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    return Err(NetworkError::Socket {
                        step: step(),
                        source,
                    })
                }
            }
        }
    }

    /// Reads replies until the one that ends request `seq`: an `NLMSG_ERROR`
    /// (an ACK when its code is 0), an `NLMSG_DONE`, or a data message for
    /// which `on_data` returns `true`. Datagrams not sent by the kernel and
    /// messages of other requests are skipped.
    fn wait(
        &mut self,
        seq: u32,
        step: Step,
        mut on_data: impl FnMut(&[u8]) -> Result<bool, NetworkError>,
    ) -> Result<(), NetworkError> {
        loop {
            self.rx.clear();
            let (len, from) = match self.sock.recv_from(&mut self.rx, libc::MSG_TRUNC) {
                Ok(r) => r,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    return Err(NetworkError::Socket {
                        step: step(),
                        source,
                    })
                }
            };
            if from.port_number() != 0 {
                continue;
            }
            if len > self.rx.len() {
                return Err(NetworkError::Reply {
                    step: step(),
                    detail: format!("reply of {len} bytes exceeds the {RX_CAPACITY}-byte buffer"),
                });
            }
            let mut off = 0;
            while off < self.rx.len() {
                let buf = NetlinkBuffer::new_checked(&self.rx[off..]).map_err(|e| {
                    NetworkError::Reply {
                        step: step(),
                        detail: e.to_string(),
                    }
                })?;
                let msg_len = buf.length() as usize;
                if buf.sequence_number() == seq {
                    match buf.message_type() {
                        NLMSG_ERROR => return check_error(buf.flags(), buf.payload(), step),
                        NLMSG_DONE => return Ok(()),
                        NLMSG_NOOP => {}
                        _ => {
                            if on_data(buf.payload())? {
                                return Ok(());
                            }
                        }
                    }
                }
                off += align4(msg_len);
            }
        }
    }
}

fn link(index: u32) -> LinkMessage {
    let mut msg = LinkMessage::default();
    msg.header.index = index;
    msg
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// Turns an `NLMSG_ERROR` payload into `Ok` (an ACK) or the kernel's error.
fn check_error(flags: u16, payload: &[u8], step: Step) -> Result<(), NetworkError> {
    let err = ErrorBuffer::new_checked(payload).map_err(|e| NetworkError::Reply {
        step: step(),
        detail: e.to_string(),
    })?;
    let Some(code) = err.code() else {
        return Ok(());
    };
    Err(NetworkError::Kernel {
        step: step(),
        errno: Errno::from_raw(code.get().saturating_abs()),
        message: extack_message(flags, err.payload()),
    })
}

/// The extended-ack text of an error, if the kernel attached one. `echoed` is
/// what follows the error code: the request's header (or whole request when not
/// capped), then the TLVs.
fn extack_message(flags: u16, echoed: &[u8]) -> Option<String> {
    if flags & NLM_F_ACK_TLVS == 0 || echoed.len() < NLMSG_HDR_LEN {
        return None;
    }
    let start = if flags & NLM_F_CAPPED != 0 {
        NLMSG_HDR_LEN
    } else {
        let len = u32::from_ne_bytes([echoed[0], echoed[1], echoed[2], echoed[3]]) as usize;
        align4(len)
    };
    let tlvs = echoed.get(start..)?;
    NlasIterator::new(tlvs)
        .filter_map(Result::ok)
        .find(|nla| nla.kind() == NLMSGERR_ATTR_MSG)
        .map(|nla| c_string(nla.value()))
        .filter(|s| !s.is_empty())
}

fn c_string(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

fn ne_u32(bytes: &[u8]) -> Option<u32> {
    Some(u32::from_ne_bytes(bytes.get(..4)?.try_into().ok()?))
}

/// Picks index, MTU, queue length and kind out of an `RTM_NEWLINK` payload.
fn parse_link(payload: &[u8]) -> Option<LinkSummary> {
    let header = LinkHeader::parse(payload).ok()?;
    let mut summary = LinkSummary {
        index: header.index,
        mtu: None,
        txqueuelen: None,
        kind: None,
    };
    for nla in NlasIterator::new(payload.get(IFINFOMSG_LEN..)?) {
        let nla = nla.ok()?;
        match nla.kind() {
            IFLA_MTU => summary.mtu = ne_u32(nla.value()),
            IFLA_TXQLEN => summary.txqueuelen = ne_u32(nla.value()),
            IFLA_LINKINFO => {
                for info in NlasIterator::new(nla.value()).filter_map(Result::ok) {
                    if info.kind() == IFLA_INFO_KIND {
                        summary.kind = Some(c_string(info.value()));
                    }
                }
            }
            _ => {}
        }
    }
    Some(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extack_message_is_read_from_capped_error() {
        // echoed header (16 bytes) + one NLMSGERR_ATTR_MSG TLV "bad mtu\0".
        let mut echoed = vec![0u8; 16];
        echoed.extend_from_slice(&12u16.to_ne_bytes());
        echoed.extend_from_slice(&NLMSGERR_ATTR_MSG.to_ne_bytes());
        echoed.extend_from_slice(b"bad mtu\0");
        assert_eq!(
            extack_message(NLM_F_CAPPED | NLM_F_ACK_TLVS, &echoed).as_deref(),
            Some("bad mtu")
        );
        assert_eq!(extack_message(NLM_F_CAPPED, &echoed), None);
    }

    #[test]
    fn extack_message_skips_uncapped_echo() {
        // echoed request of 20 bytes (header + 4 payload bytes), then the TLV.
        let mut echoed = 20u32.to_ne_bytes().to_vec();
        echoed.extend_from_slice(&[0u8; 16]);
        echoed.extend_from_slice(&8u16.to_ne_bytes());
        echoed.extend_from_slice(&NLMSGERR_ATTR_MSG.to_ne_bytes());
        echoed.extend_from_slice(b"why\0");
        assert_eq!(
            extack_message(NLM_F_ACK_TLVS, &echoed).as_deref(),
            Some("why")
        );
    }

    #[test]
    fn link_reply_is_parsed() {
        let mut payload = vec![0u8; IFINFOMSG_LEN];
        payload[4..8].copy_from_slice(&7u32.to_ne_bytes());
        let nla = |kind: u16, value: &[u8]| {
            let mut v = ((4 + value.len()) as u16).to_ne_bytes().to_vec();
            v.extend_from_slice(&kind.to_ne_bytes());
            v.extend_from_slice(value);
            while v.len() & 3 != 0 {
                v.push(0);
            }
            v
        };
        payload.extend(nla(IFLA_MTU, &1400u32.to_ne_bytes()));
        payload.extend(nla(IFLA_TXQLEN, &500u32.to_ne_bytes()));
        payload.extend(nla(IFLA_LINKINFO, &nla(IFLA_INFO_KIND, b"bridge\0")));
        assert_eq!(
            parse_link(&payload),
            Some(LinkSummary {
                index: 7,
                mtu: Some(1400),
                txqueuelen: Some(500),
                kind: Some("bridge".to_string()),
            })
        );
        assert_eq!(parse_link(&payload[..8]), None);
    }
}
