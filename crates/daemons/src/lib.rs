//! pressbot's four daemons (decider, activity worker, queue worker,
//! workflow starter), written once against the backend traits of
//! `pressbot-core`, and what their binaries and `pressbot` (crates/cli)
//! share: settings loading, backend connection, logging, metrics, the
//! operations endpoint and signal handling. The operator's commands live
//! in crates/cli, so a daemon binary links none of them.
//!
//! Each daemon is a struct with `async fn run(self, shutdown: CancellationToken)`:
//! it takes a slot (permit) before each poll, backs off with jitter on
//! errors and resets on success, and on shutdown starts no new poll while
//! letting a poll already in flight return and its work finish.

pub mod app;
pub mod backoff;
pub mod dashboard;
pub mod decider;
pub mod error;
pub mod faults;
pub mod format;
pub mod history;
pub mod http;
pub mod logging;
pub mod memory;
pub mod metrics;
pub mod queue_loop;
pub mod queue_worker;
pub mod role;
pub mod run;
pub mod shutdown;
pub mod start;
pub mod starter;
pub mod systemd;
pub mod worker;

pub use error::{Error, Result, EX_CONFIG};

/// The note [`VERSION`] carries in a build with the `faults` feature.
#[cfg(feature = "faults")]
macro_rules! faults_note {
    () => {
        ", with fault injection"
    };
}
#[cfg(not(feature = "faults"))]
macro_rules! faults_note {
    () => {
        ""
    };
}

/// What `--version` prints on every binary: the package version, the git
/// commit and the build time `build.rs` bakes in (the same as
/// `/__version__`), so an operator can tell exactly which build a host runs;
/// a build with fault injection (tests only) says so.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("PRESSBOT_GIT_COMMIT"),
    ", built ",
    env!("PRESSBOT_BUILD_TIME"),
    faults_note!(),
    ")"
);
