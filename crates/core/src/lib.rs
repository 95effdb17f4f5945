//! pressbot's domain, with no I/O: identifiers, workflow definitions, the
//! decider state machine, retry policy, queue messages, settings types and
//! the backend traits that the AWS and embedded backends implement.
//!
//! Everything here is deterministic and testable without a service, so the
//! daemons (which own all I/O) stay thin loops around these pieces.

// Every crate of the workspace builds on these types, so each public item
// says what it is for, and nothing is `pub` that no other crate can reach
// (a `pub` inside a private module reads as API but is not).
#![warn(missing_docs, unreachable_pub)]

pub mod activity;
pub mod backend;
pub mod causes;
pub mod decider;
pub mod definition;
pub mod error;
pub mod history;
pub mod ids;
pub mod lease;
pub mod messages;
pub mod retry;
pub mod rules;
pub mod settings;
pub mod start;
#[cfg(any(test, feature = "test-util"))]
pub mod testing;
pub mod time;

pub use error::{Error, Result};
