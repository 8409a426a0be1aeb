//! Reading a config from JSON text or a file, in either format.

use std::path::{Path, PathBuf};

use crate::model::Config;

/// Why a config could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("read config {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Malformed JSON, a wrong type or an unknown key.
    #[error("{origin}: line {line}, column {column}: {message}")]
    Syntax {
        origin: String,
        line: usize,
        column: usize,
        message: String,
    },
    /// An OCI runtime spec that cannot be expressed in this model.
    #[error("{origin}: OCI config: {message}")]
    Oci { origin: String, message: String },
}

impl LoadError {
    pub(crate) fn syntax(origin: &str, e: &serde_json::Error) -> LoadError {
        // serde_json appends " at line L column C" to its messages; the position is
        // reported separately, so strip it from the text.
        let text = e.to_string();
        let message = match text.rfind(" at line ") {
            Some(i) => text[..i].to_string(),
            None => text,
        };
        LoadError::Syntax {
            origin: origin.to_string(),
            line: e.line(),
            column: e.column(),
            message,
        }
    }
}

/// Parses a config in the libcontainer format. Errors carry a line and column.
pub fn parse(json: &str) -> Result<Config, LoadError> {
    parse_named(json, "config")
}

/// Parses libcontainer-format JSON, naming `origin` in errors.
pub fn parse_named(json: &str, origin: &str) -> Result<Config, LoadError> {
    serde_json::from_str(json).map_err(|e| LoadError::syntax(origin, &e))
}

/// Whether this JSON text is an OCI runtime spec (it has an `ociVersion` key).
pub fn is_oci(json: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(json)
        .ok()
        .and_then(|v| v.get("ociVersion").map(|_| ()))
        .is_some()
}

/// Reads a config file in the libcontainer format or an OCI bundle's
/// `config.json` (converted). A relative `rootfs` (and, for an OCI bundle, a
/// relative bind mount source) is made absolute against the file's directory.
/// `-` reads standard input (relative paths then resolve
/// against the current directory).
pub fn load(path: &Path) -> Result<Config, LoadError> {
    let (text, origin, base) = if path == Path::new("-") {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s).map_err(|source| {
            LoadError::Read {
                path: path.to_path_buf(),
                source,
            }
        })?;
        (s, "<stdin>".to_string(), std::env::current_dir().ok())
    } else {
        let s = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let base = path
            .parent()
            .map(|p| {
                if p.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    p
                }
            })
            .and_then(|p| std::fs::canonicalize(p).ok());
        (s, path.display().to_string(), base)
    };
    let oci = is_oci(&text);
    let mut config = if oci {
        crate::oci::from_oci_json(&text, &origin)?
    } else {
        parse_named(&text, &origin)?
    };
    if let Some(base) = base {
        if !config.rootfs.is_empty() && Path::new(&config.rootfs).is_relative() {
            config.rootfs = base.join(&config.rootfs).display().to_string();
        }
        // The OCI spec makes relative bind mount sources relative to the bundle.
        if oci {
            for m in config.mounts.iter_mut().filter(|m| m.is_bind()) {
                if !m.source.is_empty() && Path::new(&m.source).is_relative() {
                    m.source = base.join(&m.source).display().to_string();
                }
            }
        }
    }
    Ok(config)
}
