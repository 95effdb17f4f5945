//! The daemons crate's error type.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Core(#[from] pressbot_core::Error),

    #[error("settings ({dir}, env {env:?}): {source}")]
    Settings {
        dir: PathBuf,
        env: String,
        #[source]
        source: Box<config::ConfigError>,
    },

    #[error("AWS backend: {0}")]
    Aws(String),

    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },

    /// The dashboard's store or server: what it was doing, and what failed.
    #[error("dashboard: {context}: {message}")]
    Dashboard { context: String, message: String },

    #[error("{0}")]
    Other(String),
}
