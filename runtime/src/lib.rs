//! nsinit: a container runtime library in the style of libcontainer.
//!
//! A [`Factory`] creates and loads [`Container`]s; a [`Process`] is what runs
//! in them. The container's first process is this program executed again as
//! its init (see [`init`]), cloned into the configured namespaces, placed into
//! its cgroups before it proceeds, and synchronised with the parent over a
//! socketpair ([`sync`]). The start sequence is described in
//! `docs/ARCHITECTURE.md`.
//!
//! ```no_run
//! use nsinit_runtime::{Factory, Process};
//! # fn main() -> nsinit_runtime::Result<()> {
//! if nsinit_runtime::init::is_init_process() {
//!     nsinit_runtime::init::start_initialization();
//! }
//! let factory = Factory::new("/run/nsinit")?;
//! let mut config = nsinit_configs::default_config();
//! config.rootfs = "/var/lib/busybox".into();
//! let container = factory.create("hello", config)?;
//! let mut p = Process::new(["/bin/echo", "hello from pid 1"]);
//! container.run(&mut p)?;
//! let status = p.wait()?;
//! container.destroy()?;
//! std::process::exit(status.code());
//! # }
//! ```

pub mod capabilities;
pub mod cgroups;
pub mod console;
pub mod container;
pub mod criu;
pub mod error;
pub mod factory;
pub mod hooks;
pub mod init;
pub mod mountinfo;
pub mod namespaces;
pub mod network;
pub mod process;
pub mod rlimits;
pub mod rootfs;
pub mod seccomp;
pub mod spawn;
pub mod sync;
pub mod user;

pub use container::state::State;
pub use container::{Container, Stats, Status};
pub use error::{Error, Result, SysError};
pub use factory::Factory;
pub use process::{ExitStatus, Process, Stdio};
