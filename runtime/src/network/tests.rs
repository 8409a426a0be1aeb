//! Tests of container networking on the real kernel (they need root).
//!
//! Isolation: every test that touches the kernel runs on a thread with a
//! network namespace of its own standing in for the host
//! ([`in_private_netns`]), and the "container" is a child process in yet
//! another network namespace ([`NsProc`]). No interface of the real host is
//! seen or changed, and everything a test made disappears with its thread and
//! child, even when an assertion fails (children are killed by pid in `Drop`).
//! Traffic only flows between these private namespaces, on documentation
//! addresses (192.0.2.0/24, 2001:db8::/32).

use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sched::{setns, unshare, CloneFlags};

use super::stats::{parse_proc_net_dev, source, Source};
use super::*;

fn require_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "the network tests need root: they create network namespaces and veth pairs"
    );
}

/// Runs `f` on a fresh thread inside a new network namespace of its own: the
/// test's stand-in for the host. The namespace, and every link in it, goes
/// away with the thread.
fn in_private_netns<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    require_root();
    std::thread::scope(|s| {
        s.spawn(|| {
            unshare(CloneFlags::CLONE_NEWNET).expect("unshare(CLONE_NEWNET) on the test thread");
            f()
        })
        .join()
    })
    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// Runs `f` on a fresh thread that joined the network namespace of `pid`
/// (setns(CLONE_NEWNET) only affects the calling thread).
fn in_netns_of<T: Send>(pid: i32, f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(|| {
            let ns = fs::File::open(format!("/proc/{pid}/ns/net")).expect("open the child's netns");
            setns(&ns, CloneFlags::CLONE_NEWNET).expect("setns into the child's netns");
            f()
        })
        .join()
    })
    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

fn thread_netns() -> std::path::PathBuf {
    fs::read_link("/proc/thread-self/ns/net").expect("read the thread's netns")
}

/// A stand-in for a container's init: a process in a network namespace of
/// its own, killed (by its pid) when dropped.
struct NsProc {
    child: Child,
}

impl NsProc {
    /// `unshare --net sleep 60`, returned once the process is in its new namespace.
    fn spawn() -> NsProc {
        let proc = NsProc::start(&["--net", "--", "sleep", "60"]);
        let ours = thread_netns();
        proc.wait_until("its own network namespace", |pid| {
            fs::read_link(format!("/proc/{pid}/ns/net")).is_ok_and(|ns| ns != ours)
        });
        proc
    }

    /// Like [`NsProc::spawn`], and the process mounts a sysfs of its own
    /// (showing its own network namespace) on `/sys` in a private mount namespace.
    fn spawn_with_sysfs() -> NsProc {
        NsProc::spawn_with_script("mount -t sysfs sysfs /sys && exec sleep 60")
    }

    /// Runs `script` (which ends by exec'ing `sleep`) in new network and mount namespaces.
    fn spawn_with_script(script: &str) -> NsProc {
        let proc = NsProc::start(&["--net", "--mount", "--", "sh", "-c", script]);
        proc.wait_until("the exec of sleep", |pid| {
            fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "sleep")
        });
        proc
    }

    fn start(args: &[&str]) -> NsProc {
        let child = Command::new("unshare")
            .args(args)
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn unshare (util-linux)");
        NsProc { child }
    }

    fn wait_until(&self, what: &str, ready: impl Fn(i32) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !ready(self.pid()) {
            assert!(
                Instant::now() < deadline,
                "child {} never reached {what}",
                self.pid()
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).expect("pid fits in i32")
    }

    fn netns(&self) -> String {
        format!("/proc/{}/ns/net", self.pid())
    }
}

impl Drop for NsProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `ip ARGS` in the calling thread's network namespace, or in `netns`.
fn ip(netns: Option<&str>, args: &[&str]) -> String {
    let mut cmd = match netns {
        Some(path) => {
            let mut c = Command::new("nsenter");
            c.arg(format!("--net={path}")).arg("ip");
            c
        }
        None => Command::new("ip"),
    };
    let out = cmd.args(args).output().expect("run ip (iproute2)");
    assert!(
        out.status.success(),
        "ip {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Names of all links of a namespace.
fn link_names(netns: Option<&str>) -> Vec<String> {
    ip(netns, &["-o", "link", "show"])
        .lines()
        .filter_map(|l| l.split(": ").nth(1))
        .map(|n| n.split('@').next().unwrap_or(n).to_string())
        .collect()
}

fn veth(name: &str) -> Network {
    let mut net = Network::loopback();
    net.kind = NetworkType::Veth;
    net.name = name.to_string();
    net
}

/// Opens a TCP listener on `addr` inside the network namespace of `pid`,
/// connects to it from the calling thread's namespace and exchanges a few
/// bytes both ways.
fn tcp_roundtrip(pid: i32, addr: &str) {
    let listener = in_netns_of(pid, || {
        TcpListener::bind(addr).expect("bind inside the container")
    });
    let target: SocketAddr = listener.local_addr().expect("listener address");
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().expect("accept");
        let mut buf = [0u8; 4];
        s.read_exact(&mut buf).expect("read ping");
        assert_eq!(&buf, b"ping");
        s.write_all(b"pong").expect("write pong");
    });
    let mut client = TcpStream::connect_timeout(&target, Duration::from_secs(3))
        .unwrap_or_else(|e| panic!("connect to {target}: {e}"));
    client
        .set_read_timeout(Some(Duration::from_secs(3)))
        .expect("timeout");
    client.write_all(b"ping").expect("write ping");
    let mut buf = [0u8; 4];
    client.read_exact(&mut buf).expect("read pong");
    assert_eq!(&buf, b"pong");
    server.join().expect("server thread");
}

#[test]
fn loopback_comes_up_in_a_fresh_netns() {
    in_private_netns(|| {
        let before = ip(None, &["-o", "link", "show", "lo"]);
        assert!(!before.contains(",UP"), "lo already up: {before}");
        setup_inside(&[Network::loopback()], &[], &[]).expect("loopback up");
        let after = ip(None, &["-o", "link", "show", "lo"]);
        assert!(after.contains("<LOOPBACK,UP,LOWER_UP>"), "{after}");
        let l = TcpListener::bind("127.0.0.1:0").expect("bind lo");
        TcpStream::connect(l.local_addr().expect("addr")).expect("connect over lo");
        // Again: bringing up an up link is fine.
        setup_inside(&[Network::loopback()], &[], &[]).expect("loopback up twice");
    });
}

#[test]
fn veth_end_to_end() {
    in_private_netns(|| {
        let ctr = NsProc::spawn();
        let ns = ctr.netns();
        let mut net = veth("eth0");
        net.mac_address = "02:42:c0:00:02:02".into();
        net.address = "192.0.2.2/24".into();
        net.gateway = "192.0.2.1".into();
        net.ipv6_address = "2001:db8::2/64".into();
        net.ipv6_gateway = "2001:db8::1".into();
        net.mtu = 1400;
        net.txqueuelen = 500;

        let hv = create_veth(&net, "e2e-test", ctr.pid()).expect("create_veth");
        assert!(
            hv.host_name.len() <= MAX_IFNAME_LEN && hv.host_name.starts_with("ve2e-test-"),
            "{hv:?}"
        );
        let host = ip(None, &["-o", "link", "show", "dev", &hv.host_name]);
        assert!(
            host.contains(",UP") && host.contains("mtu 1400") && host.contains("qlen 500"),
            "{host}"
        );
        assert!(
            !link_names(None).contains(&hv.peer_temp_name),
            "peer visible on the host"
        );
        assert!(
            link_names(Some(&ns)).contains(&hv.peer_temp_name),
            "peer missing in the container"
        );

        // The host end gets the gateway addresses.
        ip(None, &["addr", "add", "192.0.2.1/24", "dev", &hv.host_name]);
        ip(
            None,
            &[
                "addr",
                "add",
                "2001:db8::1/64",
                "dev",
                &hv.host_name,
                "nodad",
            ],
        );

        let routes = [
            Route {
                destination: "198.51.100.0/24".into(),
                gateway: "192.0.2.1".into(),
                ..Route::default()
            },
            Route {
                destination: "203.0.113.7/24".into(),
                interface_name: "eth0".into(),
                source: "192.0.2.2".into(),
                ..Route::default()
            },
            Route {
                destination: "2001:db8:1::/48".into(),
                gateway: "2001:db8::1".into(),
                interface_name: "eth0".into(),
                ..Route::default()
            },
        ];
        in_netns_of(ctr.pid(), || {
            setup_inside(
                &[Network::loopback(), net.clone()],
                std::slice::from_ref(&hv),
                &routes,
            )
            .expect("setup_inside")
        });

        let eth0 = ip(Some(&ns), &["-o", "link", "show", "dev", "eth0"]);
        for want in [
            ",UP",
            "mtu 1400",
            "qlen 500",
            "link/ether 02:42:c0:00:02:02",
        ] {
            assert!(eth0.contains(want), "eth0 lacks {want}: {eth0}");
        }
        let lo = ip(Some(&ns), &["-o", "link", "show", "dev", "lo"]);
        assert!(lo.contains(",UP"), "{lo}");
        let addrs = ip(Some(&ns), &["-o", "addr", "show", "dev", "eth0"]);
        assert!(
            addrs.contains("inet 192.0.2.2/24 brd 192.0.2.255"),
            "{addrs}"
        );
        assert!(addrs.contains("inet6 2001:db8::2/64"), "{addrs}");
        let v4 = ip(Some(&ns), &["route", "show"]);
        for want in [
            "default via 192.0.2.1 dev eth0",
            "198.51.100.0/24 via 192.0.2.1 dev eth0",
            "203.0.113.0/24 dev eth0 scope link src 192.0.2.2",
        ] {
            assert!(v4.contains(want), "missing route {want:?} in:\n{v4}");
        }
        let v6 = ip(Some(&ns), &["-6", "route", "show"]);
        for want in [
            "default via 2001:db8::1 dev eth0",
            "2001:db8:1::/48 via 2001:db8::1 dev eth0",
        ] {
            assert!(v6.contains(want), "missing route {want:?} in:\n{v6}");
        }

        // Traffic both ways over IPv4 and IPv6, counted in the stats.
        let before = interface_stats(ctr.pid(), &["eth0".to_string()]).expect("stats before");
        tcp_roundtrip(ctr.pid(), "192.0.2.2:0");
        tcp_roundtrip(ctr.pid(), "[2001:db8::2]:0");
        let after = interface_stats(ctr.pid(), &["eth0".to_string()]).expect("stats after");
        assert_eq!(after.len(), 1);
        let (b, a) = (&before[0], &after[0]);
        assert_eq!(a.name, "eth0");
        assert!(
            a.rx_packets >= b.rx_packets + 6 && a.tx_packets >= b.tx_packets + 6,
            "{b:?} -> {a:?}"
        );
        assert!(
            a.rx_bytes > b.rx_bytes + 8 && a.tx_bytes > b.tx_bytes + 8,
            "{b:?} -> {a:?}"
        );
        let all = interface_stats(ctr.pid(), &[]).expect("stats of all");
        assert_eq!(
            all.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
            ["eth0"]
        );

        // Teardown from the host removes both ends; a second delete is fine.
        delete_link(&hv.host_name).expect("delete_link");
        assert!(!link_names(None).contains(&hv.host_name));
        assert_eq!(link_names(Some(&ns)), ["lo"]);
        delete_link(&hv.host_name).expect("delete_link of a gone link");
    });
}

#[test]
fn veth_in_a_bridge_with_hairpin() {
    in_private_netns(|| {
        ip(None, &["link", "add", "nsitest-br0", "type", "bridge"]);
        ip(None, &["addr", "add", "192.0.2.1/24", "dev", "nsitest-br0"]);
        ip(None, &["link", "set", "nsitest-br0", "up"]);
        let ctr = NsProc::spawn();
        let mut net = veth("");
        net.bridge = "nsitest-br0".into();
        net.hairpin_mode = true;
        net.host_interface_name = "nsitest-h0".into();
        net.address = "192.0.2.3/24".into();
        net.gateway = "192.0.2.1".into();

        let hv = create_veth(&net, "bridged", ctr.pid()).expect("create_veth into the bridge");
        assert_eq!(hv.host_name, "nsitest-h0");
        let port = ip(None, &["-d", "-o", "link", "show", "dev", "nsitest-h0"]);
        assert!(port.contains("master nsitest-br0"), "{port}");
        assert!(port.contains("hairpin on"), "{port}");
        assert!(port.contains(",UP"), "{port}");

        in_netns_of(ctr.pid(), || {
            setup_inside(std::slice::from_ref(&net), std::slice::from_ref(&hv), &[])
                .expect("setup_inside")
        });
        // `name` was empty: the peer is eth0.
        assert_eq!(link_names(Some(&ctr.netns())), ["lo", "eth0"]);
        tcp_roundtrip(ctr.pid(), "192.0.2.3:0");
    });
}

#[test]
fn bad_bridge_is_a_clear_error_and_leaves_nothing() {
    in_private_netns(|| {
        let ctr = NsProc::spawn();
        let mut net = veth("eth0");
        net.bridge = "nsitest-nobr".into();
        let err = create_veth(&net, "nobridge", ctr.pid()).expect_err("missing bridge");
        assert!(
            matches!(err, NetworkError::NotFound { what: "bridge", .. }),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "bridge \"nsitest-nobr\" does not exist on the host"
        );

        // A link that exists but is not a bridge.
        ip(
            None,
            &[
                "link",
                "add",
                "nsitest-v0",
                "type",
                "veth",
                "peer",
                "name",
                "nsitest-v1",
            ],
        );
        net.bridge = "nsitest-v0".into();
        let err = create_veth(&net, "nobridge", ctr.pid()).expect_err("not a bridge");
        assert_eq!(
            err.to_string(),
            "\"nsitest-v0\" is not a bridge but a link of kind veth"
        );

        // Refused by the kernel inside the single create request: the kernel's
        // own explanation is in the error.
        net.bridge.clear();
        net.mtu = 70000;
        let err = create_veth(&net, "bigmtu", ctr.pid()).expect_err("mtu too large");
        assert_eq!(err.errno(), Some(Errno::EINVAL), "{err}");
        let text = err.to_string();
        assert!(
            text.starts_with("creating veth pair vbigmtu-") && text.contains("mtu 70000"),
            "{text}"
        );
        assert!(text.ends_with("EINVAL: Invalid argument"), "{text}");

        // Hairpin without a bridge is refused before anything is made.
        net.mtu = 0;
        net.hairpin_mode = true;
        let err = create_veth(&net, "hairpin", ctr.pid()).expect_err("hairpin without bridge");
        assert!(matches!(err, NetworkError::InvalidConfig { .. }), "{err:?}");

        assert_eq!(link_names(None), ["lo", "nsitest-v1", "nsitest-v0"]);
        assert_eq!(link_names(Some(&ctr.netns())), ["lo"]);
    });
}

#[test]
fn vanished_init_is_a_clear_error_and_leaves_nothing() {
    in_private_netns(|| {
        let mut gone = Command::new("true").spawn().expect("spawn true");
        let pid = i32::try_from(gone.id()).expect("pid");
        gone.wait().expect("wait for true");
        let err = create_veth(&veth("eth0"), "gone", pid).expect_err("no such process");
        assert_eq!(err.errno(), Some(Errno::ESRCH), "{err}");
        assert!(
            err.to_string()
                .contains(&format!("network namespace of pid {pid}")),
            "{err}"
        );
        assert_eq!(link_names(None), ["lo"]);
    });
}

#[test]
fn configured_host_name_in_use() {
    in_private_netns(|| {
        let ctr = NsProc::spawn();
        ip(
            None,
            &[
                "link",
                "add",
                "nsitest-used",
                "type",
                "veth",
                "peer",
                "name",
                "nsitest-usedp",
            ],
        );
        let mut net = veth("eth0");
        net.host_interface_name = "nsitest-used".into();
        let err = create_veth(&net, "inuse", ctr.pid()).expect_err("name taken");
        assert_eq!(
            err.to_string(),
            "host interface name \"nsitest-used\" is already in use"
        );
        assert_eq!(link_names(None), ["lo", "nsitest-usedp", "nsitest-used"]);
        assert_eq!(link_names(Some(&ctr.netns())), ["lo"]);
    });
}

#[test]
fn generated_names_are_unique_per_container() {
    in_private_netns(|| {
        let ctr = NsProc::spawn();
        let id = "a-very-long-container-id-0123456789";
        let a = create_veth(&veth("eth0"), id, ctr.pid()).expect("first veth");
        let b = create_veth(&veth("eth1"), id, ctr.pid()).expect("second veth");
        assert_ne!(a.host_name, b.host_name);
        assert_ne!(a.peer_temp_name, b.peer_temp_name);
        for name in [
            &a.host_name,
            &b.host_name,
            &a.peer_temp_name,
            &b.peer_temp_name,
        ] {
            assert!(name.len() <= MAX_IFNAME_LEN, "{name}");
        }
        assert!(a.host_name.starts_with("va-very-lo-"), "{a:?}");
        in_netns_of(ctr.pid(), || {
            setup_inside(&[veth("eth0"), veth("eth1")], &[a.clone(), b.clone()], &[])
                .expect("setup two veths")
        });
        assert_eq!(link_names(Some(&ctr.netns())), ["lo", "eth0", "eth1"]);
        delete_link(&a.host_name).expect("delete first");
        assert_eq!(link_names(Some(&ctr.netns())), ["lo", "eth1"]);
    });
}

#[test]
fn setup_inside_errors_are_clear() {
    in_private_netns(|| {
        let missing = HostVeth {
            host_name: "x".into(),
            peer_temp_name: "nsitmpmissing".into(),
        };
        let err = setup_inside(&[veth("eth0")], &[missing], &[]).expect_err("missing peer");
        assert_eq!(
            err.to_string(),
            "veth peer \"nsitmpmissing\" does not exist in the container's network namespace"
        );
        let err = setup_inside(&[veth("eth0")], &[], &[]).expect_err("no peer");
        assert_eq!(
            err.to_string(),
            "1 veth network(s) configured but 0 host veth(s) given"
        );

        // A bad value anywhere is found before anything changes: lo stays down.
        let mut bad = veth("eth0");
        bad.address = "192.0.2.300/24".into();
        let peer = HostVeth {
            host_name: "x".into(),
            peer_temp_name: "y".into(),
        };
        let err = setup_inside(&[Network::loopback(), bad], &[peer], &[]).expect_err("bad address");
        assert_eq!(
            err.to_string(),
            "invalid networks[1].address \"192.0.2.300/24\": not an IPv4 or IPv6 address"
        );
        let lo = ip(None, &["-o", "link", "show", "lo"]);
        assert!(!lo.contains(",UP"), "{lo}");

        // A route through an interface that does not exist.
        let route = Route {
            destination: "198.51.100.0/24".into(),
            interface_name: "nsitest-none".into(),
            ..Route::default()
        };
        let err =
            setup_inside(&[Network::loopback()], &[], &[route]).expect_err("no such interface");
        assert_eq!(
            err.to_string(),
            "interface \"nsitest-none\" does not exist in the container for route 198.51.100.0/24 dev nsitest-none"
        );
        // The kernel's extended-ack text is part of the error.
        ip(
            None,
            &[
                "link", "add", "nsitmp-a", "type", "veth", "peer", "name", "nsitmp-b",
            ],
        );
        ip(None, &["addr", "add", "192.0.2.2/24", "dev", "nsitmp-a"]);
        let mut dup = veth("eth0");
        dup.address = "192.0.2.2/24".into();
        let peer = HostVeth {
            host_name: "nsitmp-b".into(),
            peer_temp_name: "nsitmp-a".into(),
        };
        let err = setup_inside(&[dup], &[peer], &[]).expect_err("duplicate address");
        assert_eq!(
            err.to_string(),
            "adding address 192.0.2.2/24 to eth0: EEXIST: File exists (ipv4: Address already assigned)"
        );

        // A route the kernel refuses: the gateway is not reachable.
        let route = Route {
            destination: "198.51.100.0/24".into(),
            gateway: "192.0.2.1".into(),
            ..Route::default()
        };
        let err = setup_inside(&[], &[], &[route]).expect_err("unreachable gateway");
        assert_eq!(err.errno(), Some(Errno::ENETUNREACH), "{err}");
        assert!(
            err.to_string()
                .starts_with("adding route 198.51.100.0/24 via 192.0.2.1: ENETUNREACH"),
            "{err}"
        );
    });
}

#[test]
fn delete_link_of_a_missing_or_invalid_name() {
    in_private_netns(|| {
        delete_link("nsitest-gone").expect("already gone is fine");
        let err = delete_link("a/b").expect_err("invalid name");
        assert!(matches!(err, NetworkError::InvalidConfig { .. }), "{err:?}");
        let err = delete_link("sixteen-chars-xx").expect_err("too long");
        assert!(err.to_string().contains("longer than 15 bytes"), "{err}");
    });
}

#[test]
fn stats_come_from_the_containers_own_sysfs_when_it_has_one() {
    in_private_netns(|| {
        let plain = NsProc::spawn();
        assert_eq!(
            source(plain.pid()),
            Source::ProcNetDev(format!("/proc/{}/net/dev", plain.pid()).into())
        );

        // A plain directory where sysfs would be is not mistaken for one.
        let fake = NsProc::spawn_with_script(
            "mount -t tmpfs tmpfs /sys && mkdir -p /sys/class/net/eth0/statistics && exec sleep 60",
        );
        assert_eq!(
            source(fake.pid()),
            Source::ProcNetDev(format!("/proc/{}/net/dev", fake.pid()).into())
        );
        assert_eq!(
            interface_stats(fake.pid(), &[]).expect("stats of a netns with only lo"),
            []
        );

        let ctr = NsProc::spawn_with_sysfs();
        let sys = format!("/proc/{}/root/sys/class/net", ctr.pid());
        assert_eq!(source(ctr.pid()), Source::Sysfs(sys.clone().into()));
        assert_ne!(
            fs::metadata(&sys).expect("container sysfs").dev(),
            fs::metadata("/sys/class/net").expect("our sysfs").dev()
        );

        let mut net = veth("eth0");
        net.address = "192.0.2.2/24".into();
        let hv = create_veth(&net, "sysfs", ctr.pid()).expect("create_veth");
        ip(None, &["addr", "add", "192.0.2.1/24", "dev", &hv.host_name]);
        in_netns_of(ctr.pid(), || {
            setup_inside(
                &[Network::loopback(), net.clone()],
                std::slice::from_ref(&hv),
                &[],
            )
            .expect("setup")
        });
        tcp_roundtrip(ctr.pid(), "192.0.2.2:0");

        let from_sysfs = interface_stats(ctr.pid(), &[]).expect("stats from sysfs");
        let text = fs::read_to_string(format!("/proc/{}/net/dev", ctr.pid())).expect("net/dev");
        let from_proc = parse_proc_net_dev(&text).expect("parse net/dev");
        assert_eq!(from_sysfs.len(), 1, "{from_sysfs:?}");
        let s = &from_sysfs[0];
        let p = from_proc
            .iter()
            .find(|p| p.name == "eth0")
            .expect("eth0 in net/dev");
        assert_eq!(s.name, "eth0");
        assert!(s.rx_packets >= 3 && s.tx_packets >= 3, "{s:?}");
        // Both describe the same device (late IPv6 neighbour traffic may add a packet).
        assert!(
            p.rx_packets >= s.rx_packets && p.rx_packets <= s.rx_packets + 4,
            "{s:?} vs {p:?}"
        );
        assert!(
            p.tx_packets >= s.tx_packets && p.tx_packets <= s.tx_packets + 4,
            "{s:?} vs {p:?}"
        );

        let err = interface_stats(ctr.pid(), &["eth9".to_string()]).expect_err("unknown interface");
        assert_eq!(
            err.to_string(),
            format!(
                "interface \"eth9\" does not exist in the network namespace of pid {}",
                ctr.pid()
            )
        );
    });
}

#[test]
fn proc_net_dev_is_parsed() {
    let text = "Inter-|   Receive                                                |  Transmit\n \
face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    \
lo:       0       0    0    0    0     0          0         0        0       0    0    0    0     0       0          0\n  \
eth0: 1234       5    1    2    0     0          0         0     5678       6    3    4    0     0       0          0\n";
    let stats = parse_proc_net_dev(text).expect("parse");
    assert_eq!(stats.len(), 2);
    assert_eq!(
        stats[1],
        InterfaceStats {
            name: "eth0".into(),
            rx_bytes: 1234,
            rx_packets: 5,
            rx_errors: 1,
            rx_dropped: 2,
            tx_bytes: 5678,
            tx_packets: 6,
            tx_errors: 3,
            tx_dropped: 4,
        }
    );
    assert!(parse_proc_net_dev("a\nb\neth0: 1 2 3\n").is_err());
}

#[test]
fn config_values_are_parsed_strictly() {
    assert_eq!(
        parse_cidr("f", "192.0.2.2/24").expect("v4"),
        ("192.0.2.2".parse().expect("ip"), 24)
    );
    assert_eq!(parse_cidr("f", "2001:db8::2/64").expect("v6").1, 64);
    for bad in [
        "192.0.2.2",
        "192.0.2.2/33",
        "2001:db8::2/129",
        "x/24",
        "192.0.2.2/-1",
    ] {
        assert!(parse_cidr("f", bad).is_err(), "{bad}");
    }
    assert_eq!(
        parse_mac("f", "02:42:AC:11:00:02").expect("mac"),
        [2, 0x42, 0xac, 0x11, 0, 2]
    );
    assert_eq!(
        parse_mac("f", "02-42-ac-11-00-02").expect("mac"),
        [2, 0x42, 0xac, 0x11, 0, 2]
    );
    for bad in [
        "02:42:ac:11:00",
        "02:42:ac:11:00:02:03",
        "0g:42:ac:11:00:02",
        "01:00:5e:00:00:01",
        "00:00:00:00:00:00",
        "2:42:ac:11:0:2",
    ] {
        assert!(parse_mac("f", bad).is_err(), "{bad}");
    }
    assert_eq!(
        network_of("203.0.113.7".parse().expect("ip"), 24).to_string(),
        "203.0.113.0"
    );
    assert_eq!(
        network_of("203.0.113.7".parse().expect("ip"), 0).to_string(),
        "0.0.0.0"
    );
    assert_eq!(
        network_of("2001:db8:1:2::7".parse().expect("ip"), 48).to_string(),
        "2001:db8:1::"
    );
    for bad in ["", ".", "..", "a/b", "a b", "a:b", "sixteen-chars-xx"] {
        assert!(check_ifname("f", bad).is_err(), "{bad:?}");
    }
    check_ifname("f", "fifteen-chars-x").expect("15 chars");

    let mut net = veth("eth0");
    net.address = "2001:db8::2/64".into();
    let peer = HostVeth {
        host_name: "h".into(),
        peer_temp_name: "p".into(),
    };
    let err = VethPlan::new(0, &net, &peer).err().expect("v6 in address");
    assert_eq!(
        err.to_string(),
        "invalid networks[0].address \"2001:db8::2/64\": must be an IPv4 address"
    );

    let route = |d: &str, g: &str, i: &str| Route {
        destination: d.into(),
        gateway: g.into(),
        interface_name: i.into(),
        ..Route::default()
    };
    let text = |r: Route| RoutePlan::new(0, &r).map(|p| p.text);
    assert_eq!(
        text(route("default", "2001:db8::1", "")).expect("default v6"),
        "::/0 via 2001:db8::1"
    );
    assert_eq!(
        text(route("198.51.100.9", "", "eth0")).expect("host route"),
        "198.51.100.9/32 dev eth0"
    );
    assert!(RoutePlan::new(0, &route("198.51.100.0/24", "2001:db8::1", "")).is_err());
    assert!(RoutePlan::new(0, &route("198.51.100.0/24", "", "")).is_err());
    assert!(RoutePlan::new(0, &route("default", "", "eth0")).is_err());
}

#[test]
fn generated_names_fit_and_differ() {
    let a = generated_host_name("web", 0);
    assert_eq!(a, generated_host_name("web", 0), "stable for an id");
    assert!(a.starts_with("vweb-") && a.len() == 9, "{a}");
    assert_ne!(a, generated_host_name("web", 1));
    let long = generated_host_name("0123456789abcdef0123", 3);
    assert_eq!(long.len(), MAX_IFNAME_LEN, "{long}");
    let t = temp_peer_name(&long, 4_194_304, 7);
    assert!(t.len() <= MAX_IFNAME_LEN && t.starts_with("nsitmp"), "{t}");
    assert_ne!(t, temp_peer_name(&long, 4_194_304, 8));
}

/// Timing of the start path; prints figures, asserts nothing.
/// `cargo test -p nsinit-runtime --lib network::tests::bench -- --ignored --nocapture`
#[test]
#[ignore = "benchmark: run with --ignored --nocapture"]
fn bench_setup_inside() {
    fn report(what: &str, mut samples: Vec<Duration>) {
        samples.sort();
        let n = samples.len();
        println!(
            "{what}: n={n} min={:?} median={:?} p90={:?} max={:?}",
            samples[0],
            samples[n / 2],
            samples[n * 9 / 10],
            samples[n - 1]
        );
    }
    let lo: Vec<Duration> = (0..300)
        .map(|_| {
            in_private_netns(|| {
                let start = Instant::now();
                setup_inside(&[Network::loopback()], &[], &[]).expect("lo up");
                start.elapsed()
            })
        })
        .collect();
    report("setup_inside(loopback) in a fresh netns", lo);

    let ip_lo: Vec<Duration> = (0..30)
        .map(|_| {
            in_private_netns(|| {
                let start = Instant::now();
                ip(None, &["link", "set", "lo", "up"]);
                start.elapsed()
            })
        })
        .collect();
    report("for comparison: `ip link set lo up` (fork+exec)", ip_lo);

    let mut create = Vec::new();
    let mut inside = Vec::new();
    let mut delete = Vec::new();
    in_private_netns(|| {
        for i in 0..50 {
            let ctr = NsProc::spawn();
            let mut net = veth("eth0");
            net.address = "192.0.2.2/24".into();
            net.gateway = "192.0.2.1".into();
            net.mac_address = "02:42:c0:00:02:02".into();
            let start = Instant::now();
            let hv = create_veth(&net, &format!("bench{i}"), ctr.pid()).expect("create_veth");
            create.push(start.elapsed());
            ip(None, &["addr", "add", "192.0.2.1/24", "dev", &hv.host_name]);
            inside.push(in_netns_of(ctr.pid(), || {
                let start = Instant::now();
                setup_inside(
                    &[Network::loopback(), net.clone()],
                    std::slice::from_ref(&hv),
                    &[],
                )
                .expect("setup");
                start.elapsed()
            }));
            let start = Instant::now();
            delete_link(&hv.host_name).expect("delete");
            delete.push(start.elapsed());
        }
    });
    report("create_veth (no bridge)", create);
    report("setup_inside(lo + veth with mac, address, gateway)", inside);
    report("delete_link(veth)", delete);
}
