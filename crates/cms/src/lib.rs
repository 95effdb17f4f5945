//! The CMS contract: a client that never ingests an article twice, an
//! embedded CMS that serves the same contract, and a misbehaving CMS for
//! tests.
//!
//! The downstream CMS ingests one article at a time, answers 429 while busy
//! and 503 while deploying, and sits behind a proxy that may cut a request at
//! 60 s while the CMS goes on ingesting. Everything in this crate follows
//! from that: every request carries an idempotency key per (article,
//! version, run), `Retry-After` is honoured, and before (re-)posting an
//! article the client asks the CMS whether it already arrived.
//!
//! See `README.md` beside this crate for the HTTP API.

pub mod client;
pub mod embedded;
pub mod error;
mod html;
pub mod page;
#[cfg(any(test, feature = "test-util"))]
pub mod testing;

pub use client::{idempotency_key, CmsClient, Ingested, Published, VersionState, VersionStatus};
pub use embedded::{EmbeddedCms, EmbeddedOptions, Index, VersionRecord};
pub use error::{CmsError, TransportKind};

/// Header carrying the idempotency key on every request.
pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

/// Header marking an ingest as a silent correction of an already published
/// version (no new version, no publication event).
pub const SILENT_CORRECTION: &str = "X-Silent-Correction";
