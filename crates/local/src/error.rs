//! The one error type of the embedded backend, converted into
//! `pressbot_core::Error` at the trait boundary so daemons see the same
//! error kinds (not found, unknown task, retryable backend failure) on
//! either backend.

use pressbot_core::Error;
use std::path::PathBuf;

/// Everything that can go wrong in the embedded backend.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// A SQLite call failed. `SQLITE_BUSY`/`SQLITE_LOCKED` (another process
    /// held the write lock beyond the busy timeout) is retryable.
    #[error("sqlite {operation} on {resource}: {source}")]
    Sqlite {
        operation: &'static str,
        resource: String,
        #[source]
        source: rusqlite::Error,
    },

    /// A file or directory of the data dir could not be read or written.
    #[error("{operation} {path}: {source}")]
    Io {
        operation: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A named thing (queue, bucket, object, execution, type) does not exist.
    #[error("{what} not found: {name}")]
    NotFound { what: &'static str, name: String },

    /// A task token that is unknown, already answered, or whose task timed out.
    #[error("unknown or expired task token ({operation})")]
    UnknownTask { operation: &'static str },

    /// A caller passed a value the service would reject.
    #[error("{operation}: invalid {what} {value:?}: {problem}")]
    Invalid {
        operation: &'static str,
        what: &'static str,
        value: String,
        problem: String,
    },

    /// A stored row could not be decoded (written by an incompatible version?).
    #[error("{operation}: stored {what} is unreadable: {message}")]
    Corrupt {
        operation: &'static str,
        what: &'static str,
        message: String,
    },

    /// A presigned URL was refused: which check failed, and why (for an
    /// expired one, when it expired). Never holds the signing key.
    #[error("presigned URL refused: {check}: {reason}")]
    PresignRefused { check: PresignCheck, reason: String },

    /// The blocking database task panicked.
    #[error("{operation}: database task failed: {message}")]
    Task {
        operation: &'static str,
        message: String,
    },
}

impl From<rusqlite::Error> for LocalError {
    /// Context (operation, resource) is filled in by the caller that runs
    /// the whole transaction, see [`LocalError::context`].
    fn from(source: rusqlite::Error) -> Self {
        LocalError::Sqlite {
            operation: "",
            resource: String::new(),
            source,
        }
    }
}

impl LocalError {
    /// Fill in the operation and resource of a SQLite error raised deep
    /// inside a transaction, where only the outermost caller knows them.
    pub(crate) fn context(self, op: &'static str, res: &str) -> Self {
        match self {
            LocalError::Sqlite {
                operation,
                resource,
                source,
            } => LocalError::Sqlite {
                operation: if operation.is_empty() { op } else { operation },
                resource: if resource.is_empty() {
                    res.to_owned()
                } else {
                    resource
                },
                source,
            },
            LocalError::UnknownTask { operation: "" } => LocalError::UnknownTask { operation: op },
            other => other,
        }
    }

    /// Whether a retry after a backoff may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            LocalError::Sqlite { source, .. } => is_busy(source),
            _ => false,
        }
    }

    pub(crate) fn io(
        operation: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        LocalError::Io {
            operation,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn invalid(
        operation: &'static str,
        what: &'static str,
        value: impl Into<String>,
        problem: impl Into<String>,
    ) -> Self {
        LocalError::Invalid {
            operation,
            what,
            value: value.into(),
            problem: problem.into(),
        }
    }
}

/// `SQLITE_BUSY` or `SQLITE_LOCKED`: another connection holds the lock.
fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

impl From<LocalError> for Error {
    fn from(e: LocalError) -> Self {
        let retryable = e.is_retryable();
        match e {
            LocalError::Sqlite {
                operation,
                resource,
                source,
            } => Error::Backend {
                service: "sqlite",
                operation,
                resource,
                retryable,
                message: source.to_string(),
            },
            LocalError::Io {
                operation,
                path,
                source,
                ..
            } => Error::Io {
                path,
                source: std::io::Error::new(source.kind(), format!("{operation}: {source}")),
            },
            LocalError::NotFound { what, name } => Error::NotFound { what, name },
            LocalError::UnknownTask { operation } => Error::UnknownTask { operation },
            LocalError::Invalid {
                operation,
                what,
                value,
                problem,
            } => Error::Backend {
                service: "sqlite",
                operation,
                resource: format!("{what} {value:?}"),
                retryable: false,
                message: format!("invalid {what}: {problem}"),
            },
            LocalError::Corrupt {
                operation,
                what,
                message,
            } => Error::Backend {
                service: "sqlite",
                operation,
                resource: what.to_owned(),
                retryable: false,
                message,
            },
            LocalError::PresignRefused { check, reason } => Error::Backend {
                service: "objects",
                operation: "get_presigned",
                resource: check.to_string(),
                retryable: false,
                message: reason,
            },
            LocalError::Task { operation, message } => Error::Backend {
                service: "sqlite",
                operation,
                resource: "database task".to_owned(),
                retryable: false,
                message,
            },
        }
    }
}

/// Which check refused a presigned URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PresignCheck {
    /// Not a URL of this backend's shape: wrong scheme or path, missing or
    /// unparsable `expires`/`signature`, invalid bucket or key.
    Malformed,
    /// The signature does not match the bucket, key and expiry: one of them
    /// was changed, or the URL was signed with another (rotated) key.
    Signature,
    /// The URL was genuine but its expiry has passed.
    Expired,
}

impl PresignCheck {
    /// Whether the refusal means "not allowed" (HTTP 403) rather than
    /// "not understood" (HTTP 400).
    pub fn is_forbidden(self) -> bool {
        matches!(self, PresignCheck::Signature | PresignCheck::Expired)
    }
}

impl std::fmt::Display for PresignCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PresignCheck::Malformed => "malformed URL",
            PresignCheck::Signature => "bad signature",
            PresignCheck::Expired => "expired",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite(code: std::ffi::c_int) -> LocalError {
        LocalError::from(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(code),
            None,
        ))
        .context("poll_decision_task", "default")
    }

    #[test]
    fn busy_is_retryable_and_keeps_context() {
        let e: Error = sqlite(rusqlite::ffi::SQLITE_BUSY).into();
        assert!(e.is_retryable());
        match e {
            Error::Backend {
                service,
                operation,
                resource,
                ..
            } => {
                assert_eq!(service, "sqlite");
                assert_eq!(operation, "poll_decision_task");
                assert_eq!(resource, "default");
            }
            other => panic!("unexpected {other}"),
        }
        assert!(!Error::from(sqlite(rusqlite::ffi::SQLITE_CORRUPT)).is_retryable());
    }

    #[test]
    fn kinds_map_to_core_kinds() {
        let e: Error = LocalError::UnknownTask { operation: "" }
            .context("heartbeat", "t")
            .into();
        assert!(matches!(
            e,
            Error::UnknownTask {
                operation: "heartbeat"
            }
        ));
        let e: Error = LocalError::NotFound {
            what: "queue",
            name: "q".into(),
        }
        .into();
        assert!(matches!(e, Error::NotFound { what: "queue", .. }));
        let e: Error = LocalError::invalid("send", "delay", "20m", "must be at most 15m").into();
        assert!(e.to_string().contains("must be at most 15m"), "{e}");
    }
}
