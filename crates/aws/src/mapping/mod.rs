//! Mapping between SWF's SDK types and core's [`HistoryEvent`] and
//! [`Decision`]: the only place that knows both, so the decider never sees
//! an AWS type.
//!
//! SWF spells timeouts as strings of whole seconds, or `"NONE"` for no
//! limit; core uses `Option<Duration>`. A decision always sends all four
//! activity timeouts explicitly (`"NONE"` included), so nothing silently
//! falls back to a type's registered default.

use crate::error::AwsError;
use aws_sdk_swf::types as sdk;
use aws_smithy_types::DateTime;
use pressbot_core::history::{EventKind, HistoryEvent};
use pressbot_core::ids::TypeRef;
use pressbot_core::time::Timestamp;
use std::time::Duration;

/// An event's attributes struct, or (from the enclosing function) the
/// mapping error naming it.
macro_rules! attrs {
    ($e:ident, $m:ident, $field:ident) => {
        $e.$field
            .as_ref()
            .ok_or_else(|| $m.missing(stringify!($field)))?
    };
}

mod activities;
mod decision_tasks;
mod decisions;
mod executions;
mod fields;
mod timers;

pub(crate) use decisions::decision_to_sdk;
pub(crate) use fields::type_ref_from_workflow;

use fields::Fields;

/// A duration as SWF spells it: whole seconds (rounded up, so a sub-second
/// timeout never becomes "no time at all"), or `"NONE"`.
pub(crate) fn timeout_to_swf(d: Option<Duration>) -> String {
    match d {
        None => "NONE".to_owned(),
        Some(d) => {
            let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
            secs.to_string()
        }
    }
}

/// An SWF timestamp in epoch milliseconds, rounded to the nearest one.
///
/// Why not `DateTime::to_millis`: SWF's JSON writes timestamps as
/// fractional epoch seconds, which the SDK parses through an `f64`. At
/// today's epoch an `f64` holds them to about 0.2 µs, so `…015.070` comes
/// back as `…015.069999…` and truncating loses a millisecond: an execution
/// started in the millisecond a `started_after` filter names was dropped by
/// the re-check in `list_pages` (found by the conformance suite on the SWF
/// stand-in).
pub(crate) fn timestamp_from_swf(t: &DateTime) -> Timestamp {
    let millis = (i64::from(t.subsec_nanos()) + 500_000) / 1_000_000;
    Timestamp(t.secs().saturating_mul(1000).saturating_add(millis))
}

pub(crate) fn task_list(name: &str) -> sdk::TaskList {
    sdk::TaskList::builder()
        .name(name)
        .build()
        .expect("name is set")
}

pub(crate) fn workflow_type(t: &TypeRef) -> sdk::WorkflowType {
    sdk::WorkflowType::builder()
        .name(&t.name)
        .version(&t.version)
        .build()
        .expect("name and version are set")
}

pub(crate) fn activity_type(t: &TypeRef) -> sdk::ActivityType {
    sdk::ActivityType::builder()
        .name(&t.name)
        .version(&t.version)
        .build()
        .expect("name and version are set")
}

/// Map one SDK history event. Event types pressbot does not act on become
/// [`EventKind::Other`] (kept by name for `pressbot history`).
pub(crate) fn event_from_sdk(
    e: &sdk::HistoryEvent,
    operation: &'static str,
) -> Result<HistoryEvent, AwsError> {
    let m = Fields {
        operation,
        event_id: e.event_id(),
    };
    let families = [
        executions::map,
        decision_tasks::map,
        activities::map,
        timers::map,
    ];
    let mut kind = None;
    for map in families {
        kind = map(e, &m)?;
        if kind.is_some() {
            break;
        }
    }
    let kind = kind.unwrap_or_else(|| EventKind::Other {
        name: e.event_type().as_str().to_owned(),
    });
    Ok(HistoryEvent {
        id: m.event_id,
        timestamp: timestamp_from_swf(e.event_timestamp()),
        kind,
    })
}

#[cfg(test)]
pub(crate) mod tests;
