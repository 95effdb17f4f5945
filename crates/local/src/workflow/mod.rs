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

/// SWF's cause strings this backend writes, from core's one list, so the
/// decider reads exactly what both backends write.
pub use pressbot_core::causes::{
    ACTIVITY_ID_ALREADY_IN_USE, ACTIVITY_ID_UNKNOWN, ACTIVITY_TYPE_DOES_NOT_EXIST,
    TIMER_ID_ALREADY_IN_USE, UNHANDLED_DECISION,
};
