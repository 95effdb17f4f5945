//! pressbot's daemons, written once against the backend traits of
//! `pressbot-core`, and what the binaries share: settings loading, backend
//! selection, logging and signal handling.
//!
//! Each daemon is a struct with `async fn run(self, shutdown: CancellationToken)`:
//! it takes a slot (permit) before each poll, backs off with jitter on
//! errors and resets on success, and on shutdown starts no new poll while
//! letting a poll already in flight return and its work finish.

pub mod app;
pub mod backoff;
pub mod cli;
pub mod cron;
pub mod dashboard;
pub mod decider;
pub mod error;
pub mod feed;
pub mod history;
pub mod http;
pub mod logging;
pub mod metrics;
pub mod ops;
pub mod queue_worker;
pub mod repair;
pub mod resources;
pub mod run;
pub mod shutdown;
pub mod starter;
pub mod status;
pub mod systemd;
pub mod up;
pub mod worker;

pub use error::{Error, Result, EX_CONFIG};

/// What `--version` prints on every binary: the package version, the git
/// commit and the build time `build.rs` bakes in (the same as
/// `/__version__`), so an operator can tell exactly which build a host runs.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("PRESSBOT_GIT_COMMIT"),
    ", built ",
    env!("PRESSBOT_BUILD_TIME"),
    ")"
);
