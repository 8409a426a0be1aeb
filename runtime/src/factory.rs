//! The factory: creates and loads containers under a state root.

use std::path::{Path, PathBuf};

use nsinit_configs::Config;

use crate::container::launch::InitCommand;
use crate::container::state::{now_rfc3339, State, StateDir};
use crate::container::Container;
use crate::error::{Context, Error, Result};

/// The default state root.
pub const DEFAULT_ROOT: &str = "/run/nsinit";

/// Creates and loads containers whose state lives under one root directory.
///
/// The init of every container is this program executed again with the
/// argument `init`; a program embedding the library calls
/// [`init::start_initialization`](crate::init::start_initialization) early in
/// its `main` when [`init::is_init_process`](crate::init::is_init_process) is
/// true, or points the factory at an `nsinit` binary with
/// [`Factory::with_init_binary`].
///
/// ```no_run
/// use nsinit_runtime::{Factory, Process};
/// # fn main() -> nsinit_runtime::Result<()> {
/// let factory = Factory::new("/run/nsinit")?.with_init_binary("/usr/local/bin/nsinit");
/// let mut config = nsinit_configs::default_config();
/// config.rootfs = "/var/lib/images/busybox".into();
/// let c = factory.create("box1", config)?;
/// let mut p = Process::new(["/bin/hostname"]);
/// c.run(&mut p)?;
/// p.wait()?;
/// c.destroy()?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Factory {
    root: PathBuf,
    init: InitCommand,
}

impl Factory {
    /// A factory keeping state under `root` (created if missing), whose inits
    /// re-execute the current binary.
    pub fn new(root: impl AsRef<Path>) -> Result<Factory> {
        let root = root.as_ref().to_path_buf();
        std::fs::create_dir_all(&root).ctx_path("create state root", "mkdir", &root)?;
        let exe = crate::spawn::current_exe()?;
        Ok(Factory {
            root,
            init: InitCommand {
                args: vec![exe.display().to_string(), "init".into()],
                path: exe,
            },
        })
    }

    /// Executes `path init` as the container's init instead of this program.
    pub fn with_init_binary(mut self, path: impl AsRef<Path>) -> Factory {
        let path = path.as_ref().to_path_buf();
        self.init = InitCommand {
            args: vec![path.display().to_string(), "init".into()],
            path,
        };
        self
    }

    /// The state root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Records a new container: checks the id and the config and writes its
    /// state. Nothing runs until [`Container::start`] or [`Container::run`].
    pub fn create(&self, id: &str, config: Config) -> Result<Container> {
        self.create_in_bundle(id, config, "")
    }

    /// Like [`Factory::create`], recording the bundle directory for hooks.
    pub fn create_in_bundle(&self, id: &str, config: Config, bundle: &str) -> Result<Container> {
        validate_id(id)?;
        nsinit_configs::validate(&config)?;
        let rootfs = Path::new(&config.rootfs);
        if !rootfs.is_dir() {
            return Err(
                crate::error::SysError::new("check rootfs", "stat", libc::ENOENT)
                    .with_path(rootfs)
                    .with_detail("the rootfs must be an existing directory")
                    .into(),
            );
        }
        let dir = StateDir::create(&self.root, id)?;
        let state = State {
            id: id.to_string(),
            init_process_pid: 0,
            init_process_start: 0,
            created: now_rfc3339(),
            config,
            bundle: bundle.to_string(),
            cgroup_paths: Default::default(),
            namespace_paths: Default::default(),
            external_veths: Vec::new(),
        };
        if let Err(e) = dir.write(&state) {
            let _ = dir.remove();
            return Err(e);
        }
        Ok(Container::new(id, &self.root, self.init.clone()))
    }

    /// A container created earlier, possibly by another process.
    pub fn load(&self, id: &str) -> Result<Container> {
        validate_id(id)?;
        // Check it exists now; every method checks again.
        StateDir::open(&self.root, id, false)?.read()?;
        Ok(Container::new(id, &self.root, self.init.clone()))
    }

    /// Ids of every container under the root.
    pub fn list(&self) -> Result<Vec<String>> {
        let mut ids = Vec::new();
        let rd =
            std::fs::read_dir(&self.root).ctx_path("list containers", "readdir", &self.root)?;
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if e.path().join(crate::container::state::STATE_FILE).exists() {
                ids.push(name);
            }
        }
        ids.sort();
        Ok(ids)
    }
}

/// Checks an id: 1..=1024 characters of `[A-Za-z0-9_.-]`, not starting with `.`.
///
/// ```
/// use nsinit_runtime::factory::validate_id;
/// assert!(validate_id("web-1.prod_a").is_ok());
/// assert!(validate_id("../etc").is_err());
/// assert!(validate_id(".hidden").is_err());
/// assert!(validate_id("").is_err());
/// ```
pub fn validate_id(id: &str) -> Result<()> {
    let bad = |reason| {
        Err(Error::InvalidId {
            id: id.to_string(),
            reason,
        })
    };
    if id.is_empty() {
        return bad("it is empty");
    }
    if id.len() > 1024 {
        return bad("it is longer than 1024 characters");
    }
    if id.starts_with('.') {
        return bad("it starts with '.' (names of the runtime's own files under the root do)");
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
    {
        return bad("only letters, digits, '_', '-' and '.' are allowed");
    }
    Ok(())
}
