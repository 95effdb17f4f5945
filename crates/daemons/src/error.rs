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
    /// Settings, workflow definitions or rules that do not load. Kept apart
    /// from the other errors so every binary exits with [`EX_CONFIG`] for
    /// it, so a supervisor can tell a bad file, which restarting cannot fix
    /// (systemd: `RestartPreventExitStatus=78`), from a passing failure.
    #[error(transparent)]
    Config(Box<Error>),

    #[error("{0}")]
    Other(String),
}

/// `EX_CONFIG` of sysexits(3): a configuration error.
pub const EX_CONFIG: u8 = 78;

impl Error {
    /// The process exit status for this error: [`EX_CONFIG`] for
    /// configuration errors, 1 for everything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Config(_) | Error::Settings { .. } => EX_CONFIG,
            _ => 1,
        }
    }
}

/// The exit status for an error chain (e.g. `anyhow::Error::chain()` at a
/// binary's edge): that of the first [`Error`] in it, else 1.
pub fn exit_code<'a>(chain: impl IntoIterator<Item = &'a (dyn std::error::Error + 'static)>) -> u8 {
    chain
        .into_iter()
        .find_map(|e| e.downcast_ref::<Error>())
        .map_or(1, Error::exit_code)
}

/// End a role binary: print the error with its causes to stderr and turn
/// it into the exit status (so a bad setting exits 78, not 1).
pub fn exit(result: Result<()>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            let mut message = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                message.push_str(&format!(": {s}"));
                source = s.source();
            }
            eprintln!("Error: {message}");
            std::process::ExitCode::from(e.exit_code())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_errors_exit_78_and_others_1() {
        let config = Error::Config(Box::new(Error::Other("bad".into())));
        assert_eq!(config.exit_code(), EX_CONFIG);
        assert_eq!(Error::Other("x".into()).exit_code(), 1);
        let chain: [&(dyn std::error::Error + 'static); 1] = [&config];
        assert_eq!(exit_code(chain), 78);
        let io = std::io::Error::other("x");
        let chain: [&(dyn std::error::Error + 'static); 1] = [&io];
        assert_eq!(exit_code(chain), 1);
    }
}
