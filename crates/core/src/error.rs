//! The one error type of the core crate. Every variant carries enough
//! context (file, field, operation, resource) for an operator to act on the
//! message alone.

use std::path::PathBuf;

/// Result alias used across pressbot's library crates.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the domain or behind a backend trait.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A workflow definition, rule file or cron file failed validation.
    #[error("{file}: {field}: {message}")]
    Definition {
        /// The file that was loaded.
        file: PathBuf,
        /// The field at fault, as a path (`step[2].retry.backoff`).
        field: String,
        /// What is wrong with it.
        message: String,
    },

    /// A TOML file could not be parsed (unknown key, wrong type, bad duration...).
    #[error("{file}: {source}")]
    Toml {
        /// The file that was parsed.
        file: PathBuf,
        /// The parser's error, which names the line and key.
        #[source]
        source: toml::de::Error,
    },

    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },

    /// A queue message that cannot be acted on. It must be dead-lettered, not deleted.
    #[error("malformed {kind} message: {problem}")]
    Message {
        /// What the message was meant to be (`S3 event`, `workflow starter`).
        kind: &'static str,
        /// What is missing or malformed.
        problem: String,
    },

    /// Settings that make no sense; found at start-up, never mid-run.
    #[error("invalid settings: {key}: {message}")]
    Settings {
        /// The setting, as its dotted path (`aws.region`).
        key: String,
        /// What is wrong with its value.
        message: String,
    },

    /// A named thing (bucket, key, queue, execution, task) does not exist.
    #[error("{what} not found: {name}")]
    NotFound {
        /// The kind of thing (`object`, `queue`, `S3 bucket`...).
        what: &'static str,
        /// Its name as the caller gave it.
        name: String,
    },

    /// A task token that the service no longer knows: the task timed out,
    /// was completed by someone else, or its execution closed.
    #[error("unknown or expired task token ({operation})")]
    UnknownTask {
        /// The call that named the token (e.g. completing an activity task).
        operation: &'static str,
    },

    /// A call to a backend service failed. `retryable` is true for throttling,
    /// 5xx, timeouts and dropped connections: the caller should back off and retry.
    #[error("{service} {operation} on {resource}: {message}")]
    Backend {
        /// The service or store (`sqlite`, `objects`, an AWS service...).
        service: &'static str,
        /// The call that failed.
        operation: &'static str,
        /// What it was called on (domain, queue, bucket/key).
        resource: String,
        /// Whether backing off and calling again may succeed.
        retryable: bool,
        /// The service's own message.
        message: String,
    },
}

impl Error {
    /// Whether a caller should retry the operation after a backoff.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Error::Backend {
                retryable: true,
                ..
            }
        )
    }

    /// Shorthand for a backend failure.
    pub fn backend(
        service: &'static str,
        operation: &'static str,
        resource: impl Into<String>,
        retryable: bool,
        message: impl std::fmt::Display,
    ) -> Self {
        Error::Backend {
            service,
            operation,
            resource: resource.into(),
            retryable,
            message: message.to_string(),
        }
    }

    /// Shorthand for a malformed message.
    pub fn message(kind: &'static str, problem: impl Into<String>) -> Self {
        Error::Message {
            kind,
            problem: problem.into(),
        }
    }
}
