//! From the config to one BPF program, with libseccomp.
//!
//! libseccomp does the hard parts: syscall numbers per architecture, the
//! i386 `socketcall` / `ipc` multiplexers, 64-bit argument comparisons on
//! 32-bit ABIs, x32 next to x86-64. Given several architectures in one filter
//! context, though, its rule bookkeeping and BPF generation grow faster than
//! the number of architectures: a 300-call allow list for x86-64 + x86 + x32
//! took ~10.5 ms of CPU here in one context, against ~1.5 ms for x86-64
//! alone, and ~5 ms built per architecture (`measure_compile_and_load` in
//! `tests.rs`, libseccomp 2.5.4). So the filter is built per architecture and
//! the programs are chained:
//!
//! - each architecture gets its own context, holding only that architecture,
//!   with a *sentinel* bad-arch action: `SCMP_ACT_TRACE` with a message no rule
//!   of the config uses;
//! - in every program but the last, each `ret <sentinel>` — reached only when
//!   the call is not of this program's architecture (or ABI, for x86-64/x32) —
//!   becomes a jump to the first instruction of the next program; in the last,
//!   it becomes the real bad-arch action, `SCMP_ACT_KILL_THREAD` (libseccomp's
//!   default, as with runc).
//!
//! A call thus walks the programs until the one of its architecture decides,
//! which is what libseccomp's own multi-architecture program does. The tests
//! compare the verdicts of both for every system call number of every
//! architecture. If a program has no sentinel to chain through (which
//! libseccomp never produces), or the config leaves no free sentinel, the one
//! multi-architecture context is used instead.

use std::collections::HashSet;
use std::io::{Read, Seek, SeekFrom};

use libseccomp::{ScmpAction, ScmpArch, ScmpArgCompare, ScmpFilterContext, ScmpSyscall};
use nsinit_configs::Seccomp;

use super::bpf::Insn;
use super::translate::{self, Arch, Flag};
use super::COMPILE;
use super::{enosys, newer};
use crate::error::{Context, SysError, SysResult};

/// The output of compiling.
pub(super) struct Compiled {
    pub program: Vec<Insn>,
    pub flags: u64,
    pub skipped_syscalls: Vec<String>,
    pub skipped_arches: Vec<String>,
}

/// Compiles with per-architecture programs chained together.
pub(super) fn compile(cfg: &Seccomp) -> SysResult<Compiled> {
    let plan = Plan::new(cfg)?;
    let chained = match native_arch() {
        Some(native) => plan.chained(native)?,
        None => None,
    };
    let program = match chained {
        Some(p) => p,
        None => plan.combined()?,
    };
    Ok(plan.finish(program))
}

/// Compiles with one libseccomp context for every architecture (what
/// [`compile`] is checked against).
#[cfg(test)]
pub(super) fn compile_combined(cfg: &Seccomp) -> SysResult<Compiled> {
    let plan = Plan::new(cfg)?;
    let program = plan.combined()?;
    Ok(plan.finish(program))
}

/// The architecture the runtime runs on, as libseccomp names it.
fn native_arch() -> Option<ScmpArch> {
    if cfg!(target_arch = "x86_64") {
        Some(ScmpArch::X8664)
    } else if cfg!(target_arch = "aarch64") {
        Some(ScmpArch::Aarch64)
    } else if cfg!(target_arch = "x86") {
        Some(ScmpArch::X86)
    } else if cfg!(target_arch = "riscv64") {
        Some(ScmpArch::Riscv64)
    } else if cfg!(target_arch = "s390x") {
        Some(ScmpArch::S390X)
    } else {
        None
    }
}

fn lib_err(what: &str, e: impl std::fmt::Display) -> SysError {
    SysError::msg(COMPILE, format!("{what}: {e}"))
}

/// One libseccomp rule to add: a name of a config entry with one of the
/// entry's condition sets.
struct Rule {
    /// Index of the config entry (for errors).
    entry: usize,
    name: String,
    nr: ScmpSyscall,
    action: ScmpAction,
    conditions: Vec<ScmpArgCompare>,
}

/// The config translated and checked, before any libseccomp context exists.
struct Plan {
    default: ScmpAction,
    /// Extra architectures this libseccomp can filter, without duplicates
    /// (the native one may be among them).
    arches: Vec<ScmpArch>,
    flags: u64,
    rules: Vec<Rule>,
    /// Rules for names newer than this libseccomp (see `newer.rs`).
    newer: Vec<newer::Rule>,
    /// Per architecture, the largest number the profile names, when calls
    /// above it are to get ENOSYS (see `enosys.rs`).
    enosys: Vec<(ScmpArch, u32)>,
    skipped_syscalls: Vec<String>,
    skipped_arches: Vec<String>,
}

impl Plan {
    fn new(cfg: &Seccomp) -> SysResult<Plan> {
        let default = translate::action(cfg.default_action, cfg.default_errno_ret)
            .map_err(|r| lib_err("default_action", r))?;

        let mut arches = Vec::new();
        let mut skipped_arches = Vec::new();
        for (i, name) in cfg.architectures.iter().enumerate() {
            match translate::arch(name) {
                None => {
                    return Err(lib_err(
                        &format!("architectures[{i}]"),
                        format_args!("unknown architecture {name:?}"),
                    ))
                }
                Some(Arch::Native) => {}
                Some(Arch::Other(a)) if arches.contains(&a) => {}
                // An architecture this libseccomp cannot filter is left out;
                // its system calls meet the bad-arch action (kill).
                Some(Arch::Other(a)) if !can_filter(a) => skipped_arches.push(name.clone()),
                Some(Arch::Other(a)) => arches.push(a),
            }
        }

        let mut flags = 0u64;
        for (i, name) in cfg.flags.iter().enumerate() {
            match translate::flag(name) {
                Some(Flag::Kernel(bit)) => flags |= bit,
                Some(Flag::NoListener) => {}
                None => {
                    return Err(lib_err(
                        &format!("flags[{i}]"),
                        format_args!("unknown seccomp filter flag {name:?}"),
                    ))
                }
            }
        }

        // Names newer than libseccomp get rules of their own when every
        // architecture of the filter numbers them alike.
        let newer_ok = native_arch().is_some_and(|n| newer::covers(&[n]) && newer::covers(&arches));
        let mut newer_rules = Vec::new();
        let mut rules = Vec::new();
        let mut skipped_syscalls = Vec::new();
        for (entry, sc) in cfg.syscalls.iter().enumerate() {
            let at = format!("syscalls[{entry}] {:?}", sc.names);
            let action = translate::action(sc.action, sc.errno_ret).map_err(|r| lib_err(&at, r))?;
            let sets = translate::condition_sets(&sc.args).map_err(|r| lib_err(&at, r))?;
            // libseccomp refuses a rule that repeats the default; it would
            // change nothing anyway.
            if action == default {
                continue;
            }
            for name in &sc.names {
                let Ok(nr) = ScmpSyscall::from_name(name) else {
                    match newer::number(name) {
                        Some(nr) if newer_ok && sc.args.is_empty() => {
                            newer_rules.push(newer::Rule { nr, action });
                        }
                        _ => skipped_syscalls.push(name.clone()),
                    }
                    continue;
                };
                for set in &sets {
                    rules.push(Rule {
                        entry,
                        name: name.clone(),
                        nr,
                        action,
                        conditions: set.clone(),
                    });
                }
            }
        }
        let enosys = if enosys::wanted(default) {
            let names: Vec<&str> = cfg
                .syscalls
                .iter()
                .flat_map(|sc| sc.names.iter().map(String::as_str))
                .collect();
            filter_arches(&arches)
                .filter_map(|a| enosys::largest(a, &names).map(|max| (a, max)))
                .collect()
        } else {
            Vec::new()
        };
        Ok(Plan {
            default,
            arches,
            flags,
            rules,
            newer: newer_rules,
            enosys,
            skipped_syscalls,
            skipped_arches,
        })
    }

    /// The program behind what libseccomp cannot do: the ENOSYS stub, then
    /// the rules for names it does not know.
    fn finish(self, program: Vec<Insn>) -> Compiled {
        let mut full = enosys::stub(&self.enosys);
        if !self.newer.is_empty() {
            let arches: Vec<ScmpArch> = filter_arches(&self.arches).collect();
            full.extend(newer::prefix(&arches, &self.newer));
        }
        let program = if full.is_empty() {
            program
        } else {
            full.extend(program);
            full
        };
        Compiled {
            program,
            flags: self.flags,
            skipped_syscalls: self.skipped_syscalls,
            skipped_arches: self.skipped_arches,
        }
    }

    /// A context with the default action and the rules, for the architectures
    /// already in `ctx`.
    fn add_rules(&self, ctx: &mut ScmpFilterContext) -> SysResult<()> {
        for r in &self.rules {
            ctx.add_rule_conditional(r.action, r.nr, &r.conditions)
                .map_err(|e| lib_err(&format!("syscalls[{}] {:?}", r.entry, r.name), e))?;
        }
        Ok(())
    }

    fn context(&self) -> SysResult<ScmpFilterContext> {
        ScmpFilterContext::new(self.default).map_err(|e| lib_err("seccomp_init", e))
    }

    /// One context for the native and every extra architecture.
    fn combined(&self) -> SysResult<Vec<Insn>> {
        let mut ctx = self.context()?;
        for a in &self.arches {
            ctx.add_arch(*a)
                .map_err(|e| lib_err(&format!("add architecture {a:?}"), e))?;
        }
        self.add_rules(&mut ctx)?;
        export(&ctx)
    }

    /// One context per architecture, chained (see the module documentation);
    /// `None` when they cannot be chained.
    fn chained(&self, native: ScmpArch) -> SysResult<Option<Vec<Insn>>> {
        let Some(sentinel) = self.free_trace_message() else {
            return Ok(None);
        };
        let mut parts = Vec::new();
        let arches =
            std::iter::once(native).chain(self.arches.iter().copied().filter(|a| *a != native));
        for arch in arches {
            let mut ctx = self.context()?;
            if arch != native {
                ctx.add_arch(arch)
                    .map_err(|e| lib_err(&format!("add architecture {arch:?}"), e))?;
                ctx.remove_arch(native)
                    .map_err(|e| lib_err(&format!("remove architecture {native:?}"), e))?;
            }
            ctx.set_act_badarch(ScmpAction::Trace(sentinel))
                .map_err(|e| lib_err("set bad-arch action", e))?;
            self.add_rules(&mut ctx)?;
            parts.push(export(&ctx)?);
        }
        Ok(link(parts, libc::SECCOMP_RET_TRACE | u32::from(sentinel)))
    }

    /// A `SCMP_ACT_TRACE` message that neither the default nor a rule uses.
    fn free_trace_message(&self) -> Option<u16> {
        let used: HashSet<u16> = std::iter::once(self.default)
            .chain(self.rules.iter().map(|r| r.action))
            .filter_map(|a| match a {
                ScmpAction::Trace(m) => Some(m),
                _ => None,
            })
            .collect();
        (0..=u16::MAX).rev().find(|m| !used.contains(m))
    }
}

/// Every architecture of the filter: the native one, then the extra ones.
fn filter_arches(extra: &[ScmpArch]) -> impl Iterator<Item = ScmpArch> + '_ {
    let native = native_arch();
    native
        .into_iter()
        .chain(extra.iter().copied().filter(move |a| Some(*a) != native))
}

/// Whether this libseccomp can build filters for `arch`.
fn can_filter(arch: ScmpArch) -> bool {
    ScmpFilterContext::new(ScmpAction::Allow).is_ok_and(|mut c| c.add_arch(arch).is_ok())
}

/// Chains per-architecture programs: in all but the last, `ret <sentinel>`
/// jumps to the next program; in the last it kills the thread. `None` if a
/// program but the last has no sentinel (nothing would reach the next one).
fn link(parts: Vec<Vec<Insn>>, sentinel: u32) -> Option<Vec<Insn>> {
    let count = parts.len();
    let mut out = Vec::with_capacity(parts.iter().map(Vec::len).sum());
    for (n, mut part) in parts.into_iter().enumerate() {
        let last = n + 1 == count;
        let len = part.len();
        let mut linked = false;
        for (i, insn) in part.iter_mut().enumerate() {
            if *insn != Insn::ret(sentinel) {
                continue;
            }
            *insn = if last {
                Insn::ret(libc::SECCOMP_RET_KILL_THREAD)
            } else {
                // Relative to the next instruction: lands on index `len`, the
                // first instruction of the next program.
                Insn::jump(u32::try_from(len - i - 1).ok()?)
            };
            linked = true;
        }
        if !last && !linked {
            return None;
        }
        out.extend(part);
    }
    Some(out)
}

/// The BPF program libseccomp generates for `ctx`.
fn export(ctx: &ScmpFilterContext) -> SysResult<Vec<Insn>> {
    let fd = nix::sys::memfd::memfd_create(
        c"nsinit-seccomp",
        nix::sys::memfd::MemFdCreateFlag::MFD_CLOEXEC,
    )
    .ctx(COMPILE, "memfd_create")?;
    ctx.export_bpf(&fd)
        .map_err(|e| lib_err("seccomp_export_bpf", e))?;
    let mut file = std::fs::File::from(fd);
    file.seek(SeekFrom::Start(0)).ctx(COMPILE, "lseek")?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).ctx(COMPILE, "read")?;
    Insn::parse_program(&bytes).ok_or_else(|| {
        lib_err(
            "seccomp_export_bpf",
            format_args!("{} bytes are not whole instructions", bytes.len()),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ret(k: u32) -> Insn {
        Insn::ret(k)
    }

    #[test]
    fn link_jumps_to_the_next_program_and_kills_at_the_end() {
        let s = 0x7ff0_ffff;
        let a = vec![ret(1), ret(s), ret(2)];
        let b = vec![ret(s), ret(3)];
        let out = link(vec![a, b], s).unwrap();
        assert_eq!(
            out,
            vec![
                ret(1),
                Insn::jump(1),
                ret(2),
                ret(libc::SECCOMP_RET_KILL_THREAD),
                ret(3),
            ]
        );
        // A first program without a sentinel cannot be chained.
        assert_eq!(link(vec![vec![ret(1)], vec![ret(s)]], s), None);
        // One program alone needs none.
        assert_eq!(link(vec![vec![ret(1)]], s), Some(vec![ret(1)]));
    }
}
