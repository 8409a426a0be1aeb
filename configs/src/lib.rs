//! The container configuration of nsinit.
//!
//! A container is described by a [`Config`] (the libcontainer `container.json`
//! format). Configs are read with [`load()`] (which also accepts an OCI runtime
//! bundle's `config.json` and converts it), checked with [`validate()`], and a
//! complete starting point comes from [`default_config`].
//!
//! ```
//! let mut config = nsinit_configs::default_config();
//! config.rootfs = "/var/lib/ctr/rootfs".into();
//! config.hostname = "box".into();
//! nsinit_configs::validate(&config).expect("the default config is valid");
//! let json = serde_json::to_string_pretty(&config).unwrap();
//! let back = nsinit_configs::parse(&json).unwrap();
//! assert_eq!(back, config);
//! ```

pub mod caps;
pub mod defaults;
pub mod flags;
pub mod load;
pub mod model;
pub mod oci;
pub mod overrides;
pub mod validate;

pub use defaults::default_config;
pub use load::{load, parse, LoadError};
pub use model::*;
pub use validate::{validate, ValidationError, ValidationErrors};
