//! Every sample config parses, survives a serialize/parse round trip unchanged,
//! and passes validation.

use std::path::{Path, PathBuf};

use nsinit_configs::{load, parse, validate, NamespaceType, NetworkType};

const SAMPLES: [&str; 5] = [
    "minimal.json",
    "readonly.json",
    "userns.json",
    "cgroups.json",
    "veth.json",
];

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name)
}

fn read(name: &str) -> String {
    std::fs::read_to_string(sample(name)).unwrap()
}

#[test]
fn every_sample_is_listed() {
    let mut found: Vec<String> = std::fs::read_dir(sample(""))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    found.sort();
    let mut listed: Vec<String> = SAMPLES.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(found, listed);
}

#[test]
fn samples_round_trip() {
    for name in SAMPLES {
        let config = parse(&read(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let compact = serde_json::to_string(&config).unwrap();
        let pretty = serde_json::to_string_pretty(&config).unwrap();
        assert_eq!(parse(&compact).unwrap(), config, "{name} (compact)");
        assert_eq!(parse(&pretty).unwrap(), config, "{name} (pretty)");
        // A second round gives the same text: serialization is canonical.
        assert_eq!(
            serde_json::to_string(&parse(&compact).unwrap()).unwrap(),
            compact,
            "{name}"
        );
    }
}

#[test]
fn samples_validate() {
    for name in SAMPLES {
        let config = parse(&read(name)).unwrap();
        assert_eq!(config.rootfs, "rootfs", "{name}");
        if let Err(e) = validate(&config) {
            panic!("{name}:\n{e}");
        }
    }
}

#[test]
fn load_resolves_rootfs_against_the_sample_dir() {
    let config = load(&sample("minimal.json")).unwrap();
    let dir = std::fs::canonicalize(sample("")).unwrap();
    assert_eq!(Path::new(&config.rootfs), dir.join("rootfs"));
    validate(&config).unwrap();
}

#[test]
fn samples_show_what_they_are_named_for() {
    let c = parse(&read("readonly.json")).unwrap();
    assert!(c.readonlyfs);
    assert!(c
        .mounts
        .iter()
        .any(|m| m.destination == "/tmp" && m.device == "tmpfs"));

    let c = parse(&read("userns.json")).unwrap();
    assert!(c.has_namespace(NamespaceType::User));
    assert_eq!(c.uid_mappings.len(), 1);
    assert_eq!(c.gid_mappings[0].host_id, 100000);

    let c = parse(&read("cgroups.json")).unwrap();
    assert_eq!(c.cgroups.memory, Some(256 << 20));
    assert_eq!(c.cgroups.memory_swap, Some(512 << 20));
    assert_eq!(c.cgroups.cpu_shares, Some(512));
    assert_eq!(c.cgroups.cpu_quota, Some(50000));
    assert_eq!(c.cgroups.pids_limit, Some(64));

    let c = parse(&read("veth.json")).unwrap();
    let veth = c
        .networks
        .iter()
        .find(|n| n.kind == NetworkType::Veth)
        .unwrap();
    assert_eq!(veth.bridge, "nsinit0");
    assert_eq!(veth.address, "10.200.0.2/24");
    assert_eq!(c.routes.len(), 1);

    let c = parse(&read("minimal.json")).unwrap();
    assert_eq!(c.namespaces.len(), 4);
}
