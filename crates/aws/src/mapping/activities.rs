//! Activity task events: scheduled (or failing to be), started, and the ways an
//! activity task closes.

use super::fields::{own, Fields};
use super::fields::{task_list_name, type_ref_from_activity};
use crate::error::AwsError;
use aws_sdk_swf::types as sdk;
use pressbot_core::history::{ActivityTimeoutType, ActivityTimeouts, EventKind};

/// Map an activity task event; `None` if `e` is of another family.
pub(super) fn map(e: &sdk::HistoryEvent, m: &Fields) -> Result<Option<EventKind>, AwsError> {
    use sdk::EventType as T;
    let kind = match e.event_type() {
        T::ActivityTaskScheduled => {
            let a = attrs!(e, m, activity_task_scheduled_event_attributes);
            EventKind::ActivityTaskScheduled {
                activity_id: a.activity_id().to_owned(),
                activity_type: type_ref_from_activity(a.activity_type()),
                input: own(a.input()),
                control: own(a.control()),
                task_list: task_list_name(a.task_list()),
                timeouts: ActivityTimeouts {
                    schedule_to_start: m
                        .timeout("scheduleToStartTimeout", a.schedule_to_start_timeout())?,
                    start_to_close: m.timeout("startToCloseTimeout", a.start_to_close_timeout())?,
                    schedule_to_close: m
                        .timeout("scheduleToCloseTimeout", a.schedule_to_close_timeout())?,
                    heartbeat: m.timeout("heartbeatTimeout", a.heartbeat_timeout())?,
                },
                decision_task_completed_event_id: a.decision_task_completed_event_id(),
            }
        }
        T::ScheduleActivityTaskFailed => {
            let a = attrs!(e, m, schedule_activity_task_failed_event_attributes);
            EventKind::ScheduleActivityTaskFailed {
                activity_id: a.activity_id().to_owned(),
                activity_type: type_ref_from_activity(a.activity_type()),
                cause: a.cause().as_str().to_owned(),
            }
        }
        T::ActivityTaskStarted => {
            let a = attrs!(e, m, activity_task_started_event_attributes);
            EventKind::ActivityTaskStarted {
                scheduled_event_id: a.scheduled_event_id(),
                identity: own(a.identity()),
            }
        }
        T::ActivityTaskCompleted => {
            let a = attrs!(e, m, activity_task_completed_event_attributes);
            EventKind::ActivityTaskCompleted {
                scheduled_event_id: a.scheduled_event_id(),
                started_event_id: a.started_event_id(),
                result: own(a.result()),
            }
        }
        T::ActivityTaskFailed => {
            let a = attrs!(e, m, activity_task_failed_event_attributes);
            EventKind::ActivityTaskFailed {
                scheduled_event_id: a.scheduled_event_id(),
                started_event_id: a.started_event_id(),
                reason: own(a.reason()),
                details: own(a.details()),
            }
        }
        T::ActivityTaskTimedOut => {
            let a = attrs!(e, m, activity_task_timed_out_event_attributes);
            let raw = a.timeout_type().as_str();
            EventKind::ActivityTaskTimedOut {
                scheduled_event_id: a.scheduled_event_id(),
                started_event_id: a.started_event_id(),
                timeout_type: ActivityTimeoutType::parse(raw).ok_or_else(|| AwsError::Mapping {
                    operation: m.operation,
                    event_id: m.event_id,
                    field: "timeoutType",
                    message: format!("unknown activity timeout type {raw:?}"),
                })?,
                details: own(a.details()),
            }
        }
        T::ActivityTaskCancelRequested => {
            let a = attrs!(e, m, activity_task_cancel_requested_event_attributes);
            EventKind::ActivityTaskCancelRequested {
                activity_id: a.activity_id().to_owned(),
            }
        }
        T::ActivityTaskCanceled => {
            let a = attrs!(e, m, activity_task_canceled_event_attributes);
            EventKind::ActivityTaskCanceled {
                scheduled_event_id: a.scheduled_event_id(),
                started_event_id: a.started_event_id(),
                details: own(a.details()),
            }
        }
        _ => return Ok(None),
    };
    Ok(Some(kind))
}
