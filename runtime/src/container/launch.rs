//! Starting an init: the parent's half of the protocol in [`crate::sync`].
//!
//! `launch` clones the child, writes the user namespace maps, places it into
//! the container's cgroups, sets up its veths, sends the bootstrap, runs the
//! runtime's hooks when asked, and waits until the init reports ready. On any
//! failure everything it made is undone before the error is returned.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::PathBuf;

use nsinit_configs::{Config, NamespaceType, NetworkType};

use crate::cgroups::CgroupManager;
use crate::error::{Error, Result, SysError};
use crate::hooks::{self, HookState};
use crate::init::{InitKind, InitRequest, ProcessSpec};
use crate::network::{self, HostVeth};
use crate::process::{dev_null, pidfd_open, wait_pid, Handle, Process, Stdio};
use crate::spawn::{self, ExeGuard, FdMap, Join, SpawnPlan};
use crate::sync::{pre_exec_step, Frame, Message, SyncChannel};

/// How the runtime binary is executed as the init.
#[derive(Debug, Clone)]
pub struct InitCommand {
    /// The binary (default: this program).
    pub path: PathBuf,
    /// Its arguments, `argv[0]` first (default: `[<path>, "init"]`).
    pub args: Vec<String>,
}

/// What a launch needs to know.
pub(crate) struct LaunchSpec<'a> {
    pub kind: InitKind,
    pub id: &'a str,
    pub config: &'a Config,
    pub process: ProcessSpec,
    pub init: &'a InitCommand,
    pub cgroups: &'a CgroupManager,
    /// Namespaces joined before exec (setns kind, or paths in the config).
    pub joins: Vec<(NamespaceType, OwnedFd)>,
    /// `CLONE_NEW*` of the final child.
    pub new_flags: i32,
    /// Mount namespace the init joins after exec.
    pub mount_ns: Option<OwnedFd>,
    pub exec_fifo: Option<PathBuf>,
    pub bundle: &'a str,
    /// For a joining process: the container's init, whose devpts gets the pty.
    pub join_pid: Option<i32>,
    /// Directory of compiled seccomp filters.
    pub seccomp_cache: Option<PathBuf>,
}

/// What a successful launch leaves behind.
pub(crate) struct Launched {
    pub pid: i32,
    pub start_time: u64,
    pub veths: Vec<HostVeth>,
    pub chan: SyncChannel,
}

/// Everything made so far, undone on drop unless disarmed.
struct Undo<'a> {
    pid: Option<i32>,
    veths: Vec<String>,
    cgroups: Option<&'a CgroupManager>,
}

impl Undo<'_> {
    fn disarm(mut self) {
        self.pid = None;
        self.veths.clear();
        self.cgroups = None;
    }
}

impl Drop for Undo<'_> {
    fn drop(&mut self) {
        if let Some(pid) = self.pid {
            // SAFETY: kill with plain integers; pid is our unreaped child, so
            // it cannot have been reused.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            let _ = wait_pid(pid);
        }
        for v in &self.veths {
            let _ = network::delete_link(v);
        }
        if let Some(cg) = self.cgroups {
            let _ = cg.kill_all();
            let _ = cg.destroy();
        }
    }
}

/// The fd a stdio stream comes from. Handed-over fds move into `keep` and are
/// closed once the child has its copy: the caller must not hold a pipe's write
/// end open behind the container's back.
fn stdio_fd(s: &mut Stdio, n: RawFd, keep: &mut Vec<OwnedFd>) -> Result<RawFd> {
    Ok(match std::mem::take(s) {
        Stdio::Inherit => n,
        Stdio::Null => {
            let f = dev_null()?;
            let raw = f.as_raw_fd();
            keep.push(f);
            raw
        }
        Stdio::Fd(f) => {
            let raw = f.as_raw_fd();
            keep.push(f);
            raw
        }
    })
}

/// Starts the init of `spec` for `process`. On success the init waits for
/// [`Message::Start`] on the returned channel (or the exec fifo).
pub(crate) fn launch(spec: LaunchSpec<'_>, process: &mut Process) -> Result<Launched> {
    let (mut chan, child_end) = SyncChannel::pair()?;

    // The fd plan: stdio, preserved fds, the sync socket, the mount namespace.
    let mut keep: Vec<OwnedFd> = Vec::new();
    let mut console = None;
    let mut fds = Vec::new();
    if process.terminal {
        let (master, slave) =
            crate::console::open(process.terminal_size, spec.join_pid, spec.config)?;
        for t in 0..3 {
            fds.push(FdMap {
                source: slave.as_raw_fd(),
                target: t,
            });
        }
        keep.push(slave);
        console = Some(master);
    } else {
        let sources = [
            stdio_fd(&mut process.stdin, 0, &mut keep)?,
            stdio_fd(&mut process.stdout, 1, &mut keep)?,
            stdio_fd(&mut process.stderr, 2, &mut keep)?,
        ];
        for (t, s) in sources.into_iter().enumerate() {
            fds.push(FdMap {
                source: s,
                target: t as RawFd,
            });
        }
    }
    let mut next = 3;
    for f in std::mem::take(&mut process.extra_fds) {
        fds.push(FdMap {
            source: f.as_raw_fd(),
            target: next,
        });
        keep.push(f);
        next += 1;
    }
    let preserved = next - 3;
    let sync_target = next;
    fds.push(FdMap {
        source: child_end.as_raw_fd(),
        target: sync_target,
    });
    next += 1;
    let mount_ns_fd = spec.mount_ns.as_ref().map(|f| {
        fds.push(FdMap {
            source: f.as_raw_fd(),
            target: next,
        });
        next
    });

    let guard = ExeGuard::for_binary(&spec.init.path)?;
    let mut plan = SpawnPlan::new(&spec.init.path, &spec.init.args, guard, fds, sync_target)?;
    let new_userns = spec.new_flags & libc::CLONE_NEWUSER != 0;
    plan.new_flags = spec.new_flags;
    plan.wait_maps = new_userns;
    plan.become_root = spec.config.has_namespace(NamespaceType::User);
    plan.joins = spec
        .joins
        .into_iter()
        .map(|(t, fd)| Join {
            nstype: t.clone_flag(),
            fd,
        })
        .collect();

    let spawned = spawn::spawn(&plan, child_end.as_raw_fd())?;
    drop(child_end);
    drop(keep);
    let mut undo = Undo {
        pid: Some(spawned.pid),
        veths: Vec::new(),
        cgroups: (spec.kind == InitKind::Standard).then_some(spec.cgroups),
    };

    let pid = if spawned.two_stage {
        let pid = match chan.recv()? {
            Frame::Pid(p) => p,
            other => return Err(frame_error(other)),
        };
        // The first stage exits right after reporting; reap it and track the
        // second (our child too, through CLONE_PARENT).
        let _ = wait_pid(spawned.pid);
        undo.pid = Some(pid);
        pid
    } else {
        spawned.pid
    };

    if new_userns {
        crate::namespaces::write_id_maps(
            pid,
            &spec.config.uid_mappings,
            &spec.config.gid_mappings,
        )?;
        chan.send_wake()?;
    }
    // A new container's cgroups are made now, while the child executes the
    // init (it waits for the bootstrap, so it cannot run outside them).
    if spec.kind == InitKind::Standard {
        spec.cgroups.create()?;
        spec.cgroups.apply(&spec.config.cgroups)?;
    }
    spec.cgroups.add_pid(pid)?;

    let mut veths = Vec::new();
    if spec.kind == InitKind::Standard {
        for net in spec
            .config
            .networks
            .iter()
            .filter(|n| n.kind == NetworkType::Veth)
        {
            let v = network::create_veth(net, spec.id, pid)?;
            undo.veths.push(v.host_name.clone());
            veths.push(v);
        }
    }

    // The seccomp filter is compiled here (or taken from the cache) while the
    // child executes the init, instead of in the init on every start.
    let seccomp = match &spec.config.seccomp {
        Some(cfg) => Some(match &spec.seccomp_cache {
            Some(dir) => crate::seccomp::Cache::new(dir).compile(cfg)?,
            None => crate::seccomp::Filter::compile(cfg)?,
        }),
        None => None,
    };
    let hook_state = HookState::new(spec.id, "creating", pid, spec.bundle).to_json();
    let parent_hooks = spec.kind == InitKind::Standard
        && !(spec.config.hooks.prestart.is_empty() && spec.config.hooks.create_runtime.is_empty());
    let req = InitRequest {
        kind: spec.kind,
        id: spec.id.to_string(),
        config: spec.config.clone(),
        process: ProcessSpec {
            terminal: process.terminal,
            preserved_fds: preserved,
            ..spec.process
        },
        cgroups: spec.cgroups.hierarchy_mounts().to_vec(),
        veths: veths.clone(),
        exec_fifo: spec.exec_fifo,
        mount_ns_fd,
        unshare_cgroupns: spec.kind == InitKind::Standard
            && crate::namespaces::unshare_cgroupns(spec.config),
        parent_hooks,
        hook_state: hook_state.clone(),
        seccomp,
    };
    if let Err(e) = chan.send(&Message::Bootstrap(Box::new(req))) {
        // The child may have died before reading: its own report is better.
        return Err(match chan.recv() {
            Ok(f @ (Frame::PreExecError { .. } | Frame::Message(Message::Error(_)))) => {
                frame_error(f)
            }
            _ => e.into(),
        });
    }
    loop {
        match chan.recv()? {
            Frame::Message(Message::Ready) => break,
            Frame::Message(Message::RunHooks) => {
                hooks::run("prestart", &spec.config.hooks.prestart, &hook_state).and_then(
                    |()| {
                        hooks::run(
                            "createRuntime",
                            &spec.config.hooks.create_runtime,
                            &hook_state,
                        )
                    },
                )?;
                chan.send(&Message::HooksDone)?;
            }
            other => return Err(frame_error(other)),
        }
    }

    let start_time = crate::container::state::process_start_time(pid).ok_or_else(|| {
        Error::InitDied(format!("process {pid} disappeared after reporting ready"))
    })?;
    undo.disarm();
    process.handle = Some(Handle {
        pid,
        start_time,
        pidfd: pidfd_open(pid),
        is_child: true,
        console,
        exit: None,
    });
    Ok(Launched {
        pid,
        start_time,
        veths,
        chan,
    })
}

/// Tells a ready init to exec the user program and waits until it did (the
/// sync socket closes on exec) or reports why it could not.
pub(crate) fn release(chan: &mut SyncChannel) -> Result<()> {
    chan.send(&Message::Start)?;
    match chan.recv()? {
        Frame::Eof => Ok(()),
        other => Err(frame_error(other)),
    }
}

/// The error a frame stands for when it is not the one expected.
fn frame_error(f: Frame) -> Error {
    match f {
        Frame::Message(Message::Error(e)) => Error::Init(e),
        Frame::PreExecError { step, errno } => {
            Error::Init(SysError::new(pre_exec_step::describe(step), "", errno))
        }
        Frame::Eof => Error::InitDied("it closed the sync channel without a word".into()),
        other => Error::InitDied(format!("unexpected message {other:?}")),
    }
}
