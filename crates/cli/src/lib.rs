//! `pressbot`, the operator's command line: `pressbot up` (every role in
//! one process), resource creation, and the commands that start, inspect,
//! retry and stop workflows, feed and redrive queues and run the cron
//! checks.
//!
//! [`commands`] holds the command line itself: one module per command and
//! one dispatch. The other modules are what those commands do, kept apart
//! from their arguments and printing so the end-to-end tests can call them.
//! The daemons' loops and what they share (settings loading, connecting
//! the backend the settings name) come from `pressbot-daemons`; nothing
//! here is linked into a daemon binary.

pub mod commands;
pub mod cron;
pub mod feed;
pub mod history;
pub mod ops;
pub mod output;
pub mod repair;
pub mod resources;
pub mod status;
pub mod up;

pub(crate) use pressbot_daemons::{app, dashboard, run};
pub use pressbot_daemons::{Error, Result};
