//! The one error type of the CMS crate.
//!
//! The client's errors say whether retrying can help
//! ([`CmsError::is_retryable`]), because the activity turns them into a
//! retryable or a permanent failure and the workflow's retry policy does the
//! long waiting. No variant ever carries the CMS secret.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// How a request failed below HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// Could not connect: nothing reached the CMS.
    Connect,
    /// No answer within the request timeout: the request may have arrived
    /// and the CMS may still be working on it.
    Timeout,
    /// The connection broke mid-request or mid-answer (reset, proxy cut):
    /// the request may have arrived.
    Broken,
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportKind::Connect => "could not connect",
            TransportKind::Timeout => "no answer within the request timeout",
            TransportKind::Broken => "connection broken before the answer",
        })
    }
}

fn after(d: &Option<Duration>) -> String {
    match d {
        Some(d) => format!(" (Retry-After {} s)", d.as_secs_f64()),
        None => String::new(),
    }
}

/// Everything that can go wrong talking to or serving the CMS.
#[derive(Debug, thiserror::Error)]
pub enum CmsError {
    /// The CMS settings cannot work (no URL, no secret, bad URL...).
    #[error("CMS settings: {key}: {message}")]
    Settings { key: &'static str, message: String },

    /// The caller asked for something no CMS request can express.
    #[error("CMS {operation}: {message}")]
    BadInput {
        operation: &'static str,
        message: String,
    },

    /// The CMS refused the request with a 4xx other than 408/429: retrying
    /// the same request cannot help. `body` is the CMS's own answer.
    #[error("CMS {operation} {target}: refused with HTTP {status}: {body}")]
    Rejected {
        operation: &'static str,
        target: String,
        status: u16,
        body: String,
    },

    /// The CMS is busy (429), deploying (503), timed out (408) or failed (5xx).
    #[error("CMS {operation} {target}: answered HTTP {status}{}: {body}", after(.retry_after))]
    Unavailable {
        operation: &'static str,
        target: String,
        status: u16,
        retry_after: Option<Duration>,
        body: String,
    },

    /// The request got no HTTP answer.
    #[error("CMS {operation} {target}: {kind}: {message}")]
    Transport {
        operation: &'static str,
        target: String,
        kind: TransportKind,
        message: String,
    },

    /// The CMS is still ingesting this very request (same idempotency key),
    /// typically after a proxy cut: the next attempt asks again, never re-posts.
    #[error("CMS {operation} {target}: the CMS is still ingesting it (idempotency key {key}); the next attempt checks again before posting")]
    StillIngesting {
        operation: &'static str,
        target: String,
        key: String,
    },

    /// The CMS answered something the contract does not allow.
    #[error("CMS {operation} {target}: unexpected answer: {message}")]
    Protocol {
        operation: &'static str,
        target: String,
        message: String,
    },

    /// The embedded CMS could not read or write its files.
    #[error("embedded CMS: {operation} {path}: {source}")]
    Io {
        operation: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The embedded CMS index file is not what it wrote.
    #[error("embedded CMS: index {path} is not valid: {message}")]
    Index { path: PathBuf, message: String },

    /// The embedded CMS could not listen.
    #[error("embedded CMS: cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

impl CmsError {
    /// Whether a later attempt may succeed (busy, deploying, cut, still
    /// ingesting); false when the request itself is wrong.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            CmsError::Unavailable { .. }
                | CmsError::Transport { .. }
                | CmsError::StillIngesting { .. }
                | CmsError::Protocol { .. }
        )
    }

    /// The wait the CMS asked for, if it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            CmsError::Unavailable { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}
