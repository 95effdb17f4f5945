//! SWF semantics on SQLite: executions, histories, decision and activity
//! tasks, the four activity timeouts, timers and execution timeouts.
//!
//! Invariants kept by every transaction here:
//! - at most one decision task row per execution, scheduled or started. An
//!   event that needs a decision while one is started sets
//!   `decision_pending`; completing (or timing out) the started task then
//!   schedules the next one, and a close decision in that completion fails
//!   with `UNHANDLED_DECISION`, as SWF does;
//! - an activity task row exists exactly while the activity is open; its
//!   `deadline` is the earliest of its applicable timeouts, so one indexed
//!   query finds everything due;
//! - a task token lives in its task row only: once the task closed or timed
//!   out the row is gone and the token is unknown (`Error::UnknownTask`).

mod activity;
mod decision;
mod executions;
mod poll;
mod rows;
mod service;
mod sweep;

pub(crate) use sweep::sweep_if_due;

/// SWF's cause when a decision names an unregistered activity type.
pub const ACTIVITY_TYPE_DOES_NOT_EXIST: &str = "ACTIVITY_TYPE_DOES_NOT_EXIST";
/// SWF's cause when a decision reuses the id of an open activity.
pub const ACTIVITY_ID_ALREADY_IN_USE: &str = "ACTIVITY_ID_ALREADY_IN_USE";
/// SWF's cause when a decision reuses the id of an open timer.
pub const TIMER_ID_ALREADY_IN_USE: &str = "TIMER_ID_ALREADY_IN_USE";
/// SWF's cause when a close decision raced with new events.
pub const UNHANDLED_DECISION: &str = "UNHANDLED_DECISION";
/// SWF's cause when a cancel request names no open activity.
pub const ACTIVITY_ID_UNKNOWN: &str = "ACTIVITY_ID_UNKNOWN";
