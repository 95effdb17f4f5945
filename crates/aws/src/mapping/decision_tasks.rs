//! Decision task events: scheduled, started, completed, timed out.

use super::fields::task_list_name;
use super::fields::{own, Fields};
use crate::error::AwsError;
use aws_sdk_swf::types as sdk;
use pressbot_core::history::EventKind;

/// Map a decision task event; `None` if `e` is of another family.
pub(super) fn map(e: &sdk::HistoryEvent, m: &Fields) -> Result<Option<EventKind>, AwsError> {
    use sdk::EventType as T;
    let kind = match e.event_type() {
        T::DecisionTaskScheduled => {
            let a = attrs!(e, m, decision_task_scheduled_event_attributes);
            EventKind::DecisionTaskScheduled {
                task_list: task_list_name(a.task_list()),
            }
        }
        T::DecisionTaskStarted => {
            let a = attrs!(e, m, decision_task_started_event_attributes);
            EventKind::DecisionTaskStarted {
                scheduled_event_id: a.scheduled_event_id(),
                identity: own(a.identity()),
            }
        }
        T::DecisionTaskCompleted => {
            let a = attrs!(e, m, decision_task_completed_event_attributes);
            EventKind::DecisionTaskCompleted {
                scheduled_event_id: a.scheduled_event_id(),
                started_event_id: a.started_event_id(),
                execution_context: own(a.execution_context()),
            }
        }
        T::DecisionTaskTimedOut => {
            let a = attrs!(e, m, decision_task_timed_out_event_attributes);
            EventKind::DecisionTaskTimedOut {
                scheduled_event_id: a.scheduled_event_id(),
                started_event_id: a.started_event_id(),
            }
        }
        _ => return Ok(None),
    };
    Ok(Some(kind))
}
