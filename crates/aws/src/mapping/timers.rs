//! Timer events: started (or failing to start), fired, canceled.

use super::fields::{own, Fields};
use crate::error::AwsError;
use aws_sdk_swf::types as sdk;
use pressbot_core::history::EventKind;

/// Map a timer event; `None` if `e` is of another family.
pub(super) fn map(e: &sdk::HistoryEvent, m: &Fields) -> Result<Option<EventKind>, AwsError> {
    use sdk::EventType as T;
    let kind = match e.event_type() {
        T::TimerStarted => {
            let a = attrs!(e, m, timer_started_event_attributes);
            EventKind::TimerStarted {
                timer_id: a.timer_id().to_owned(),
                control: own(a.control()),
                start_to_fire: m
                    .timeout("startToFireTimeout", Some(a.start_to_fire_timeout()))?
                    .unwrap_or_default(),
            }
        }
        T::TimerFired => {
            let a = attrs!(e, m, timer_fired_event_attributes);
            EventKind::TimerFired {
                timer_id: a.timer_id().to_owned(),
                started_event_id: a.started_event_id(),
            }
        }
        T::TimerCanceled => {
            let a = attrs!(e, m, timer_canceled_event_attributes);
            EventKind::TimerCanceled {
                timer_id: a.timer_id().to_owned(),
                started_event_id: a.started_event_id(),
            }
        }
        T::StartTimerFailed => {
            let a = attrs!(e, m, start_timer_failed_event_attributes);
            EventKind::StartTimerFailed {
                timer_id: a.timer_id().to_owned(),
                cause: a.cause().as_str().to_owned(),
            }
        }
        _ => return Ok(None),
    };
    Ok(Some(kind))
}
