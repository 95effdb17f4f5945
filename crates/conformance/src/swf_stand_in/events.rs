//! Core history events as SWF's JSON `HistoryEvent`s: `eventId`,
//! `eventTimestamp` (epoch seconds, fractional), `eventType` and the
//! `<eventType in camelCase>EventAttributes` object with the fields the
//! SWF API reference lists for it.
//!
//! The embedded backend keeps only what pressbot reads, so a few fields
//! SWF records are derived here instead of stored: every
//! `decisionTaskCompletedEventId` of a decision's event is the last
//! `DecisionTaskCompleted` before it (SWF records a decision's events right
//! after that event), and `latestCancelRequestedEventId` is the last
//! `ActivityTaskCancelRequested` of the same activity id.

use super::StartConfig;
use pressbot_core::history::{ActivityTimeouts, EventKind, HistoryEvent};
use pressbot_core::ids::TypeRef;
use pressbot_core::time::Timestamp;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::time::Duration;

/// SWF's timeout strings: whole seconds (rounded up), or `"NONE"`.
pub(super) fn timeout(d: Option<Duration>) -> Value {
    match d {
        None => json!("NONE"),
        Some(d) => json!((d.as_secs() + u64::from(d.subsec_nanos() > 0)).to_string()),
    }
}

/// Epoch seconds with the milliseconds as a fraction, as SWF's JSON
/// protocol writes timestamps.
pub(super) fn epoch(t: Timestamp) -> Value {
    json!(t.millis() as f64 / 1000.0)
}

pub(super) fn type_json(t: &TypeRef) -> Value {
    json!({ "name": t.name, "version": t.version })
}

fn task_list(name: &str) -> Value {
    json!({ "name": name })
}

/// Put `value` under `key` unless it is `None` (SWF leaves absent optional
/// members out rather than writing null).
fn opt(m: &mut Map<String, Value>, key: &str, value: &Option<String>) {
    if let Some(v) = value {
        m.insert(key.to_owned(), json!(v));
    }
}

fn timeouts_into(m: &mut Map<String, Value>, t: &ActivityTimeouts) {
    m.insert(
        "scheduleToStartTimeout".into(),
        timeout(t.schedule_to_start),
    );
    m.insert("startToCloseTimeout".into(), timeout(t.start_to_close));
    m.insert(
        "scheduleToCloseTimeout".into(),
        timeout(t.schedule_to_close),
    );
    m.insert("heartbeatTimeout".into(), timeout(t.heartbeat));
}

/// `WorkflowExecutionStarted` → `workflowExecutionStartedEventAttributes`.
fn attributes_key(event_type: &str) -> String {
    let mut chars = event_type.chars();
    let first = chars.next().map(|c| c.to_ascii_lowercase());
    format!(
        "{}{}EventAttributes",
        first.map(String::from).unwrap_or_default(),
        chars.as_str()
    )
}

/// The whole history as SWF's JSON events, in id order. `start` is what
/// the execution was started with (for the fields of
/// `WorkflowExecutionStarted` and the child policy the embedded backend
/// does not keep).
pub(super) fn to_json(events: &[HistoryEvent], start: Option<&StartConfig>) -> Vec<Value> {
    let child_policy = start.map_or("TERMINATE", |s| s.child_policy.as_str());
    let mut last_completed_decision = 0;
    let mut activity_of_scheduled: HashMap<i64, String> = HashMap::new();
    let mut cancel_requested: HashMap<String, i64> = HashMap::new();
    let mut out = Vec::with_capacity(events.len());
    for e in events {
        let mut a = Map::new();
        let dtc = last_completed_decision;
        match &e.kind {
            EventKind::WorkflowExecutionStarted {
                workflow_type,
                input,
                task_list: tl,
                execution_start_to_close,
            } => {
                a.insert("workflowType".into(), type_json(workflow_type));
                a.insert("taskList".into(), task_list(tl));
                opt(&mut a, "input", input);
                a.insert(
                    "executionStartToCloseTimeout".into(),
                    timeout(*execution_start_to_close),
                );
                if let Some(s) = start {
                    a.insert(
                        "taskStartToCloseTimeout".into(),
                        timeout(Some(s.task_start_to_close)),
                    );
                    if !s.tags.is_empty() {
                        a.insert("tagList".into(), json!(s.tags));
                    }
                }
                a.insert("childPolicy".into(), json!(child_policy));
                a.insert("parentInitiatedEventId".into(), json!(0));
            }
            EventKind::WorkflowExecutionCancelRequested { cause } => {
                opt(&mut a, "cause", cause);
            }
            EventKind::WorkflowExecutionSignaled { signal_name, input } => {
                a.insert("signalName".into(), json!(signal_name));
                opt(&mut a, "input", input);
            }
            EventKind::DecisionTaskScheduled { task_list: tl } => {
                a.insert("taskList".into(), task_list(tl));
                if let Some(s) = start {
                    a.insert(
                        "startToCloseTimeout".into(),
                        timeout(Some(s.task_start_to_close)),
                    );
                }
            }
            EventKind::DecisionTaskStarted {
                scheduled_event_id,
                identity,
            } => {
                a.insert("scheduledEventId".into(), json!(scheduled_event_id));
                opt(&mut a, "identity", identity);
            }
            EventKind::DecisionTaskCompleted {
                scheduled_event_id,
                started_event_id,
                execution_context,
            } => {
                a.insert("scheduledEventId".into(), json!(scheduled_event_id));
                a.insert("startedEventId".into(), json!(started_event_id));
                opt(&mut a, "executionContext", execution_context);
                last_completed_decision = e.id;
            }
            EventKind::DecisionTaskTimedOut {
                scheduled_event_id,
                started_event_id,
            } => {
                // The embedded backend times decision tasks out by
                // start-to-close only.
                a.insert("timeoutType".into(), json!("START_TO_CLOSE"));
                a.insert("scheduledEventId".into(), json!(scheduled_event_id));
                a.insert("startedEventId".into(), json!(started_event_id));
            }
            EventKind::ActivityTaskScheduled {
                activity_id,
                activity_type,
                input,
                control,
                task_list: tl,
                timeouts,
                decision_task_completed_event_id,
            } => {
                a.insert("activityType".into(), type_json(activity_type));
                a.insert("activityId".into(), json!(activity_id));
                opt(&mut a, "input", input);
                opt(&mut a, "control", control);
                timeouts_into(&mut a, timeouts);
                a.insert("taskList".into(), task_list(tl));
                a.insert(
                    "decisionTaskCompletedEventId".into(),
                    json!(decision_task_completed_event_id),
                );
                activity_of_scheduled.insert(e.id, activity_id.clone());
            }
            EventKind::ScheduleActivityTaskFailed {
                activity_id,
                activity_type,
                cause,
            } => {
                a.insert("activityType".into(), type_json(activity_type));
                a.insert("activityId".into(), json!(activity_id));
                a.insert("cause".into(), json!(cause));
                a.insert("decisionTaskCompletedEventId".into(), json!(dtc));
            }
            EventKind::ActivityTaskStarted {
                scheduled_event_id,
                identity,
            } => {
                opt(&mut a, "identity", identity);
                a.insert("scheduledEventId".into(), json!(scheduled_event_id));
            }
            EventKind::ActivityTaskCompleted {
                scheduled_event_id,
                started_event_id,
                result,
            } => {
                opt(&mut a, "result", result);
                a.insert("scheduledEventId".into(), json!(scheduled_event_id));
                a.insert("startedEventId".into(), json!(started_event_id));
            }
            EventKind::ActivityTaskFailed {
                scheduled_event_id,
                started_event_id,
                reason,
                details,
            } => {
                opt(&mut a, "reason", reason);
                opt(&mut a, "details", details);
                a.insert("scheduledEventId".into(), json!(scheduled_event_id));
                a.insert("startedEventId".into(), json!(started_event_id));
            }
            EventKind::ActivityTaskTimedOut {
                scheduled_event_id,
                started_event_id,
                timeout_type,
                details,
            } => {
                a.insert("timeoutType".into(), json!(timeout_type.as_str()));
                a.insert("scheduledEventId".into(), json!(scheduled_event_id));
                a.insert("startedEventId".into(), json!(started_event_id));
                opt(&mut a, "details", details);
            }
            EventKind::ActivityTaskCancelRequested { activity_id } => {
                a.insert("decisionTaskCompletedEventId".into(), json!(dtc));
                a.insert("activityId".into(), json!(activity_id));
                cancel_requested.insert(activity_id.clone(), e.id);
            }
            EventKind::ActivityTaskCanceled {
                scheduled_event_id,
                started_event_id,
                details,
            } => {
                opt(&mut a, "details", details);
                a.insert("scheduledEventId".into(), json!(scheduled_event_id));
                a.insert("startedEventId".into(), json!(started_event_id));
                if let Some(id) = activity_of_scheduled
                    .get(scheduled_event_id)
                    .and_then(|activity| cancel_requested.get(activity))
                {
                    a.insert("latestCancelRequestedEventId".into(), json!(id));
                }
            }
            EventKind::TimerStarted {
                timer_id,
                control,
                start_to_fire,
            } => {
                a.insert("timerId".into(), json!(timer_id));
                opt(&mut a, "control", control);
                a.insert("startToFireTimeout".into(), timeout(Some(*start_to_fire)));
                a.insert("decisionTaskCompletedEventId".into(), json!(dtc));
            }
            EventKind::TimerFired {
                timer_id,
                started_event_id,
            } => {
                a.insert("timerId".into(), json!(timer_id));
                a.insert("startedEventId".into(), json!(started_event_id));
            }
            EventKind::TimerCanceled {
                timer_id,
                started_event_id,
            } => {
                a.insert("timerId".into(), json!(timer_id));
                a.insert("startedEventId".into(), json!(started_event_id));
                a.insert("decisionTaskCompletedEventId".into(), json!(dtc));
            }
            EventKind::StartTimerFailed { timer_id, cause } => {
                a.insert("timerId".into(), json!(timer_id));
                a.insert("cause".into(), json!(cause));
                a.insert("decisionTaskCompletedEventId".into(), json!(dtc));
            }
            EventKind::WorkflowExecutionCompleted { result } => {
                opt(&mut a, "result", result);
                a.insert("decisionTaskCompletedEventId".into(), json!(dtc));
            }
            EventKind::WorkflowExecutionFailed { reason, details } => {
                opt(&mut a, "reason", reason);
                opt(&mut a, "details", details);
                a.insert("decisionTaskCompletedEventId".into(), json!(dtc));
            }
            EventKind::WorkflowExecutionCanceled { details } => {
                opt(&mut a, "details", details);
                a.insert("decisionTaskCompletedEventId".into(), json!(dtc));
            }
            EventKind::CompleteWorkflowExecutionFailed { cause }
            | EventKind::FailWorkflowExecutionFailed { cause }
            | EventKind::CancelWorkflowExecutionFailed { cause } => {
                a.insert("cause".into(), json!(cause));
                a.insert("decisionTaskCompletedEventId".into(), json!(dtc));
            }
            EventKind::WorkflowExecutionTimedOut => {
                a.insert("timeoutType".into(), json!("START_TO_CLOSE"));
                a.insert("childPolicy".into(), json!(child_policy));
            }
            EventKind::WorkflowExecutionTerminated { reason } => {
                opt(&mut a, "reason", reason);
                a.insert("childPolicy".into(), json!(child_policy));
            }
            EventKind::Other { .. } => {}
        }
        let event_type = e.kind.name();
        let mut event = json!({
            "eventId": e.id,
            "eventTimestamp": epoch(e.timestamp),
            "eventType": event_type,
        });
        if !matches!(e.kind, EventKind::Other { .. }) {
            event[attributes_key(event_type)] = Value::Object(a);
        }
        out.push(event);
    }
    out
}

/// What SWF's `openCounts` would say, counted from the history: open
/// activities are scheduled and not yet closed, open timers started and
/// not yet fired or cancelled, and a decision task is open from its
/// scheduling to its completion or time-out.
pub(super) fn open_counts(events: &[HistoryEvent]) -> Value {
    let mut activities = std::collections::HashSet::new();
    let mut timers = std::collections::HashSet::new();
    let mut decisions = 0;
    let mut closed = false;
    for e in events {
        match &e.kind {
            EventKind::ActivityTaskScheduled { .. } => {
                activities.insert(e.id);
            }
            EventKind::ActivityTaskCompleted {
                scheduled_event_id, ..
            }
            | EventKind::ActivityTaskFailed {
                scheduled_event_id, ..
            }
            | EventKind::ActivityTaskTimedOut {
                scheduled_event_id, ..
            }
            | EventKind::ActivityTaskCanceled {
                scheduled_event_id, ..
            } => {
                activities.remove(scheduled_event_id);
            }
            EventKind::TimerStarted { timer_id, .. } => {
                timers.insert(timer_id.clone());
            }
            EventKind::TimerFired { timer_id, .. } | EventKind::TimerCanceled { timer_id, .. } => {
                timers.remove(timer_id);
            }
            EventKind::DecisionTaskScheduled { .. } => decisions = 1,
            EventKind::DecisionTaskCompleted { .. } | EventKind::DecisionTaskTimedOut { .. } => {
                decisions = 0
            }
            k if k.is_close() => closed = true,
            _ => {}
        }
    }
    let n = |x: usize| if closed { 0 } else { x };
    json!({
        "openActivityTasks": n(activities.len()),
        "openDecisionTasks": n(decisions),
        "openTimers": n(timers.len()),
        "openChildWorkflowExecutions": 0,
        "openLambdaFunctions": 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_keys_are_camel_case() {
        assert_eq!(
            attributes_key("ActivityTaskTimedOut"),
            "activityTaskTimedOutEventAttributes"
        );
    }

    #[test]
    fn timeouts_are_whole_seconds_or_none() {
        assert_eq!(timeout(None), json!("NONE"));
        assert_eq!(timeout(Some(Duration::from_millis(1500))), json!("2"));
        assert_eq!(timeout(Some(Duration::from_secs(60))), json!("60"));
    }
}
