//! `nsinit config`: print a complete default config with overrides from flags,
//! or check a config file with `--validate`.
//!
//! As in the original libcontainer `nsinit config`, `--file/-f FILE` names where
//! the config is written (standard output by default). `--template FILE` starts
//! from an existing config (libcontainer or OCI format) instead of the defaults.

use std::io::Write;
use std::path::{Path, PathBuf};

use nsinit_configs::overrides::{
    parse_signal, BindMount, ByteSize, NamespaceMode, Overrides, Sysctl, TmpfsMount,
};
use nsinit_configs::{Config, LoadError, NamespaceType, Signal};

/// Print a complete default config (with overrides from flags), or check one.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ConfigArgs {
    /// Check FILE ("-" for standard input) instead of printing a config: prints
    /// one line per problem ("path: reason") and exits non-zero on any.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["file", "template"])]
    pub validate: Option<PathBuf>,

    /// Write the config to FILE ("-" or "stdout": standard output).
    #[arg(short = 'f', long, value_name = "FILE")]
    pub file: Option<PathBuf>,

    /// Start from this config (libcontainer or OCI format) instead of the defaults.
    #[arg(long, value_name = "FILE")]
    pub template: Option<PathBuf>,

    #[command(flatten)]
    pub overrides: OverrideArgs,
}

/// The override flags of `nsinit config`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct OverrideArgs {
    /// Root filesystem (relative: to the directory of the config file).
    #[arg(long, conflicts_with = "validate", value_name = "PATH")]
    pub rootfs: Option<String>,

    /// Hostname of the container.
    #[arg(long, conflicts_with = "validate")]
    pub hostname: Option<String>,

    /// Make the root filesystem read-only.
    #[arg(long, conflicts_with = "validate")]
    pub read_only: bool,

    /// Add a recursive bind mount (repeatable).
    #[arg(long, conflicts_with = "validate", value_name = "SRC:DST[:ro]")]
    pub bind: Vec<BindMount>,

    /// Add a tmpfs mount (repeatable); default flags nosuid,nodev,noexec.
    #[arg(long, conflicts_with = "validate", value_name = "DST[:OPTIONS]")]
    pub tmpfs: Vec<TmpfsMount>,

    /// Set a namespaced sysctl (repeatable).
    #[arg(long, conflicts_with = "validate", value_name = "KEY=VALUE")]
    pub sysctl: Vec<Sysctl>,

    /// Add a supplementary group, by name or number (repeatable).
    #[arg(long = "groups", conflicts_with = "validate", value_name = "GROUP")]
    pub groups: Vec<String>,

    /// Memory limit in bytes (suffixes k, m, g, t; -1: unlimited).
    #[arg(
        long,
        conflicts_with = "validate",
        value_name = "BYTES",
        allow_hyphen_values = true
    )]
    pub memory_limit: Option<ByteSize>,

    /// Memory plus swap limit in bytes (suffixes k, m, g, t; -1: unlimited).
    #[arg(
        long,
        conflicts_with = "validate",
        value_name = "BYTES",
        allow_hyphen_values = true
    )]
    pub memory_swap: Option<ByteSize>,

    /// Relative CPU weight (cpu.shares, 2..=262144).
    #[arg(long, conflicts_with = "validate", value_name = "SHARES")]
    pub cpushares: Option<u64>,

    /// CPUs the container may use, e.g. 0-2,4.
    #[arg(long, conflicts_with = "validate", value_name = "LIST")]
    pub cpuset_cpus: Option<String>,

    /// Memory nodes the container may use, e.g. 0.
    #[arg(long, conflicts_with = "validate", value_name = "LIST")]
    pub cpuset_mems: Option<String>,

    /// Maximum number of tasks (-1: unlimited).
    #[arg(
        long,
        conflicts_with = "validate",
        value_name = "N",
        allow_hyphen_values = true
    )]
    pub pids_limit: Option<i64>,

    /// Network namespace: "host", "private" (new) or a path to join.
    #[arg(long, conflicts_with = "validate", value_name = "PATH")]
    pub net: Option<NamespaceMode>,

    /// PID namespace: "host", "private" (new) or a path to join.
    #[arg(long, conflicts_with = "validate", value_name = "PATH")]
    pub pid: Option<NamespaceMode>,

    /// IPC namespace: "host", "private" (new) or a path to join.
    #[arg(long, conflicts_with = "validate", value_name = "PATH")]
    pub ipc: Option<NamespaceMode>,

    /// UTS namespace: "host", "private" (new) or a path to join.
    #[arg(long, conflicts_with = "validate", value_name = "PATH")]
    pub uts: Option<NamespaceMode>,

    /// Mount namespace: "private" (new) or a path to join.
    #[arg(long, conflicts_with = "validate", value_name = "PATH")]
    pub mnt: Option<NamespaceMode>,

    /// Create a user namespace whose root is this host uid (and gid), mapping
    /// 65536 ids.
    #[arg(long, conflicts_with = "validate", value_name = "UID")]
    pub userns_root_uid: Option<u32>,

    /// Add a veth network (eth0) whose host end joins this bridge.
    #[arg(long, conflicts_with = "validate", value_name = "BRIDGE")]
    pub veth_bridge: Option<String>,

    /// IPv4 address with prefix of the veth network, e.g. 10.0.0.2/24.
    #[arg(long, conflicts_with = "validate", value_name = "CIDR")]
    pub veth_address: Option<String>,

    /// IPv4 default gateway of the veth network.
    #[arg(long, conflicts_with = "validate", value_name = "IP")]
    pub veth_gateway: Option<String>,

    /// MTU of the veth network.
    #[arg(long, conflicts_with = "validate", value_name = "MTU")]
    pub veth_mtu: Option<u32>,

    /// Signal the container's init gets when nsinit dies (name or number).
    #[arg(long, conflicts_with = "validate", value_name = "SIGNAL", value_parser = parse_signal)]
    pub parent_death_signal: Option<Signal>,

    /// AppArmor profile of the container's processes.
    #[arg(long, conflicts_with = "validate", value_name = "PROFILE")]
    pub apparmor_profile: Option<String>,

    /// SELinux label of the container's processes.
    #[arg(long, conflicts_with = "validate", value_name = "LABEL")]
    pub process_label: Option<String>,

    /// SELinux label of the container's mounts.
    #[arg(long, conflicts_with = "validate", value_name = "LABEL")]
    pub mount_label: Option<String>,

    /// Parent cgroup (the container's cgroup is PARENT/ID).
    #[arg(long, conflicts_with = "validate", value_name = "PATH")]
    pub cgroup_parent: Option<String>,

    /// Full cgroup path of the container (overrides --cgroup-parent).
    #[arg(long, conflicts_with = "validate", value_name = "PATH")]
    pub cgroup_path: Option<String>,
}

impl OverrideArgs {
    /// The library form of these flags.
    pub fn to_overrides(&self) -> Overrides {
        let namespaces = [
            (NamespaceType::Net, &self.net),
            (NamespaceType::Pid, &self.pid),
            (NamespaceType::Ipc, &self.ipc),
            (NamespaceType::Uts, &self.uts),
            (NamespaceType::Mount, &self.mnt),
        ]
        .into_iter()
        .filter_map(|(kind, mode)| mode.clone().map(|m| (kind, m)))
        .collect();
        Overrides {
            rootfs: self.rootfs.clone(),
            hostname: self.hostname.clone(),
            read_only: self.read_only,
            binds: self.bind.clone(),
            tmpfs: self.tmpfs.clone(),
            sysctls: self.sysctl.clone(),
            groups: self.groups.clone(),
            memory_limit: self.memory_limit,
            memory_swap: self.memory_swap,
            cpu_shares: self.cpushares,
            cpuset_cpus: self.cpuset_cpus.clone(),
            cpuset_mems: self.cpuset_mems.clone(),
            pids_limit: self.pids_limit,
            cgroup_parent: self.cgroup_parent.clone(),
            cgroup_path: self.cgroup_path.clone(),
            namespaces,
            userns_root_uid: self.userns_root_uid,
            veth_bridge: self.veth_bridge.clone(),
            veth_address: self.veth_address.clone(),
            veth_gateway: self.veth_gateway.clone(),
            veth_mtu: self.veth_mtu,
            parent_death_signal: self.parent_death_signal,
            apparmor_profile: self.apparmor_profile.clone(),
            process_label: self.process_label.clone(),
            mount_label: self.mount_label.clone(),
        }
    }
}

/// Runs `nsinit config`. Returns the exit code; `Err` is a one-line message.
pub fn run(args: &ConfigArgs) -> Result<i32, String> {
    if let Some(path) = &args.validate {
        return validate_file(path, &mut std::io::stdout().lock());
    }
    let config = build(args)?;
    if let Err(problems) = nsinit_configs::validate(&config) {
        for p in &problems {
            eprintln!("nsinit config: {p}");
        }
        eprintln!(
            "nsinit config: the resulting config has {} problem(s); nothing written",
            problems.len()
        );
        return Ok(1);
    }
    let mut json = serde_json::to_string_pretty(&config).map_err(|e| e.to_string())?;
    json.push('\n');
    match args.file.as_deref() {
        None => write_stdout(&json),
        Some(p) if p == Path::new("-") || p == Path::new("stdout") => write_stdout(&json),
        Some(p) => std::fs::write(p, json).map_err(|e| format!("write {}: {e}", p.display())),
    }?;
    Ok(0)
}

fn write_stdout(json: &str) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    out.write_all(json.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| format!("write standard output: {e}"))
}

/// The config the flags describe: the template (or the defaults) with the
/// overrides applied. A template's relative paths are kept as written.
pub fn build(args: &ConfigArgs) -> Result<Config, String> {
    let mut config = match &args.template {
        None => nsinit_configs::default_config(),
        Some(path) => read_template(path).map_err(|e| e.to_string())?,
    };
    args.overrides.to_overrides().apply(&mut config);
    Ok(config)
}

fn read_template(path: &Path) -> Result<Config, LoadError> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if nsinit_configs::load::is_oci(&text) {
        nsinit_configs::oci::from_oci_json(&text, &origin)
    } else {
        nsinit_configs::load::parse_named(&text, &origin)
    }
}

/// `--validate`: writes the report to `out` and returns the exit code (0 valid,
/// 1 any problem, including syntax errors and OCI features that cannot be
/// converted). A file that cannot be read is an `Err`.
pub fn validate_file(path: &Path, out: &mut dyn Write) -> Result<i32, String> {
    let origin = if path == Path::new("-") {
        "<stdin>".to_string()
    } else {
        path.display().to_string()
    };
    let io = |e: std::io::Error| format!("write report: {e}");
    match nsinit_configs::load(path) {
        Err(e @ LoadError::Read { .. }) => Err(e.to_string()),
        Err(e) => {
            writeln!(out, "{e}").map_err(io)?;
            Ok(1)
        }
        Ok(config) => match nsinit_configs::validate(&config) {
            Ok(()) => {
                writeln!(out, "{origin}: valid").map_err(io)?;
                Ok(0)
            }
            Err(problems) => {
                for p in &problems {
                    writeln!(out, "{p}").map_err(io)?;
                }
                Ok(1)
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct Cli {
        #[command(flatten)]
        args: ConfigArgs,
    }

    fn parse(argv: &[&str]) -> Result<ConfigArgs, clap::Error> {
        Cli::try_parse_from(std::iter::once("config").chain(argv.iter().copied())).map(|c| c.args)
    }

    fn temp(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("nsinit-config-cmd-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("config.json")
    }

    #[test]
    fn default_output_validates() {
        let file = temp("default");
        let args = parse(&["--file", file.to_str().unwrap()]).unwrap();
        assert_eq!(run(&args).unwrap(), 0);
        let mut report = Vec::new();
        assert_eq!(validate_file(&file, &mut report).unwrap(), 0);
        assert!(String::from_utf8(report).unwrap().ends_with(": valid\n"));
        std::fs::remove_dir_all(file.parent().unwrap()).unwrap();
    }

    #[test]
    fn every_flag_maps() {
        let args = parse(&[
            "--rootfs",
            "/srv/root",
            "--hostname",
            "box",
            "--read-only",
            "--bind",
            "/srv/a:/a:ro",
            "--bind",
            "/srv/b:/b",
            "--tmpfs",
            "/tmp",
            "--tmpfs",
            "/run:size=1m",
            "--sysctl",
            "net.ipv4.ip_forward=1",
            "--groups",
            "wheel",
            "--groups",
            "10",
            "--memory-limit",
            "64m",
            "--memory-swap",
            "-1",
            "--cpushares",
            "512",
            "--cpuset-cpus",
            "0-1",
            "--cpuset-mems",
            "0",
            "--pids-limit",
            "100",
            "--pid",
            "/proc/1/ns/pid",
            "--ipc",
            "host",
            "--userns-root-uid",
            "100000",
            "--veth-bridge",
            "br0",
            "--veth-address",
            "10.0.0.2/24",
            "--veth-gateway",
            "10.0.0.1",
            "--veth-mtu",
            "1400",
            "--parent-death-signal",
            "SIGKILL",
            "--apparmor-profile",
            "p",
            "--process-label",
            "pl",
            "--mount-label",
            "ml",
            "--cgroup-parent",
            "/x",
            "--cgroup-path",
            "/x/y",
        ])
        .unwrap();
        let c = build(&args).unwrap();
        assert_eq!(c.rootfs, "/srv/root");
        assert_eq!(c.hostname, "box");
        assert!(c.readonlyfs);
        assert_eq!(c.mounts.len(), 11);
        assert_eq!(c.sysctl["net.ipv4.ip_forward"], "1");
        assert_eq!(c.additional_groups, ["wheel", "10"]);
        assert_eq!(c.cgroups.memory, Some(64 << 20));
        assert_eq!(c.cgroups.memory_swap, Some(-1));
        assert_eq!(c.cgroups.cpu_shares, Some(512));
        assert_eq!(c.cgroups.cpuset_cpus, "0-1");
        assert_eq!(c.cgroups.pids_limit, Some(100));
        assert_eq!(c.cgroups.path, "/x/y");
        assert_eq!(
            c.namespace(NamespaceType::Pid).unwrap().path,
            "/proc/1/ns/pid"
        );
        assert!(!c.has_namespace(NamespaceType::Ipc));
        assert_eq!(c.uid_mappings[0].host_id, 100000);
        assert_eq!(c.networks[1].bridge, "br0");
        assert_eq!(c.parent_death_signal, Signal(libc::SIGKILL));
        assert_eq!(c.process_label, "pl");
        nsinit_configs::validate(&c).unwrap();
    }

    #[test]
    fn validate_excludes_other_flags() {
        assert!(parse(&["--validate", "-", "--hostname", "x"]).is_err());
        assert!(parse(&["--validate", "-", "--file", "x"]).is_err());
        assert!(parse(&["--validate", "-"]).is_ok());
    }

    #[test]
    fn bad_values_are_usage_errors() {
        assert!(parse(&["--memory-limit", "lots"]).is_err());
        assert!(parse(&["--bind", "/only-source"]).is_err());
        assert!(parse(&["--sysctl", "novalue"]).is_err());
        assert!(parse(&["--parent-death-signal", "SIGNOPE"]).is_err());
    }

    #[test]
    fn invalid_result_is_refused() {
        let file = temp("invalid");
        let args = parse(&["--memory-limit", "12", "--file", file.to_str().unwrap()]).unwrap();
        assert_eq!(run(&args).unwrap(), 1);
        assert!(!file.exists());
        std::fs::remove_dir_all(file.parent().unwrap()).unwrap();
    }

    #[test]
    fn validate_reports_every_problem_and_syntax_errors() {
        let file = temp("report");
        let mut c = nsinit_configs::default_config();
        c.hostname = "bad_host".into();
        c.cgroups.memory = Some(12);
        c.mounts[0].destination = "proc".into();
        std::fs::write(&file, serde_json::to_string(&c).unwrap()).unwrap();
        let mut report = Vec::new();
        assert_eq!(validate_file(&file, &mut report).unwrap(), 1);
        let report = String::from_utf8(report).unwrap();
        assert_eq!(report.lines().count(), 3, "{report}");
        assert!(report.contains("mounts[0].destination: "));
        assert!(report.contains("hostname: "));
        assert!(report.contains("cgroups.memory: "));

        std::fs::write(&file, "{\n  \"rootfs\": 1\n}").unwrap();
        let mut report = Vec::new();
        assert_eq!(validate_file(&file, &mut report).unwrap(), 1);
        let report = String::from_utf8(report).unwrap();
        assert!(report.contains("line 2, column"), "{report}");

        assert!(validate_file(&file.with_file_name("missing.json"), &mut Vec::new()).is_err());
        std::fs::remove_dir_all(file.parent().unwrap()).unwrap();
    }
}
