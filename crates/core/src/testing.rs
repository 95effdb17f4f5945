//! Test support: build SWF-shaped histories event by event.
//!
//! Public (not `cfg(test)`) so that the decider's tests, the embedded
//! backend's and the AWS backend's tests all speak about histories the same
//! way: `HistoryBuilder::start(json!({...})).decision_task().schedule("A", 1)`.
//! Event ids are dense from 1 and timestamps advance one second per event
//! (timers fire no earlier than their duration), so timelines built from
//! these histories look like real ones.
//!
//! Activities follow the decider's conventions: activity id `"{step}#{n}"`,
//! control `{"step": .., "attempt": n}` (see [`crate::decider`]). Methods
//! that refer to an attempt that was never scheduled panic with a message
//! naming it: the builder is for tests, where that is a bug in the test.

use crate::activity::ActivityFailure;
use crate::decider::{activity_id, control_json};
use crate::history::{ActivityTimeoutType, ActivityTimeouts, Decision, EventKind, HistoryEvent};
use crate::ids::TypeRef;
use crate::time::Timestamp;
use std::collections::HashMap;
use std::time::Duration;

/// 2026-01-01T00:00:00Z: where every built history starts.
pub const EPOCH: Timestamp = Timestamp(1_767_225_600_000);

/// Builds a history the way SWF would record it.
#[derive(Debug, Clone)]
pub struct HistoryBuilder {
    events: Vec<HistoryEvent>,
    now: Timestamp,
    task_list: String,
    /// activity id → scheduled event id (the latest with that id).
    scheduled: HashMap<String, i64>,
    /// scheduled event id → started event id.
    started: HashMap<i64, i64>,
    /// timer id → started event id, while running.
    timers: HashMap<String, i64>,
    /// Id of the last DecisionTaskCompleted, for scheduled activities.
    last_decision_completed: i64,
    /// Id of the open DecisionTaskScheduled / DecisionTaskStarted.
    decision_scheduled: Option<i64>,
    decision_started: Option<i64>,
}

impl HistoryBuilder {
    /// A history with `WorkflowExecutionStarted` whose input is `input`
    /// serialized (`Value::Null` → no input), of type `TestWorkflow@1`.
    pub fn start(input: serde_json::Value) -> Self {
        let raw = (!input.is_null()).then(|| input.to_string());
        Self::start_raw(TypeRef::new("TestWorkflow", "1"), raw.as_deref())
    }

    /// A history whose start event has exactly this type and raw input
    /// (which may be malformed on purpose).
    pub fn start_raw(workflow_type: TypeRef, input: Option<&str>) -> Self {
        let mut b = HistoryBuilder {
            events: Vec::new(),
            now: EPOCH,
            task_list: "default".into(),
            scheduled: HashMap::new(),
            started: HashMap::new(),
            timers: HashMap::new(),
            last_decision_completed: 0,
            decision_scheduled: None,
            decision_started: None,
        };
        b.push_at(
            EPOCH,
            EventKind::WorkflowExecutionStarted {
                workflow_type,
                input: input.map(str::to_owned),
                task_list: "default".into(),
                execution_start_to_close: Some(Duration::from_secs(1800)),
            },
        );
        b
    }

    /// The events so far.
    pub fn events(&self) -> &[HistoryEvent] {
        &self.events
    }

    /// A copy of the events so far.
    pub fn build(&self) -> Vec<HistoryEvent> {
        self.events.clone()
    }

    /// Id the next event will get.
    pub fn next_id(&self) -> i64 {
        self.events.len() as i64 + 1
    }

    /// Current time of the builder's clock (timestamp of the last event).
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// Move the clock forward (the next event is one second after that).
    pub fn advance(&mut self, d: Duration) -> &mut Self {
        self.now = self.now.plus(d);
        self
    }

    /// Append any event, one second after the previous one.
    pub fn event(&mut self, kind: EventKind) -> &mut Self {
        let at = self.now.plus(Duration::from_secs(1));
        self.push_at(at, kind);
        self
    }

    fn push_at(&mut self, at: Timestamp, kind: EventKind) -> i64 {
        let id = self.next_id();
        self.now = at;
        self.events.push(HistoryEvent {
            id,
            timestamp: at,
            kind,
        });
        id
    }

    fn push(&mut self, kind: EventKind) -> i64 {
        let at = self.now.plus(Duration::from_secs(1));
        self.push_at(at, kind)
    }

    // --- decision tasks -----------------------------------------------------

    /// `DecisionTaskScheduled`.
    pub fn decision_scheduled(&mut self) -> &mut Self {
        let id = self.push(EventKind::DecisionTaskScheduled {
            task_list: self.task_list.clone(),
        });
        self.decision_scheduled = Some(id);
        self
    }

    /// `DecisionTaskStarted` for the open decision task (scheduling one if needed).
    pub fn decision_started(&mut self) -> &mut Self {
        if self.decision_scheduled.is_none() {
            self.decision_scheduled();
        }
        let scheduled_event_id = self.decision_scheduled.unwrap_or(0);
        let id = self.push(EventKind::DecisionTaskStarted {
            scheduled_event_id,
            identity: Some("test-decider".into()),
        });
        self.decision_started = Some(id);
        self
    }

    /// `DecisionTaskCompleted` for the started decision task (starting one if needed).
    pub fn decision_completed(&mut self) -> &mut Self {
        if self.decision_started.is_none() {
            self.decision_started();
        }
        let scheduled_event_id = self.decision_scheduled.take().unwrap_or(0);
        let started_event_id = self.decision_started.take().unwrap_or(0);
        let id = self.push(EventKind::DecisionTaskCompleted {
            scheduled_event_id,
            started_event_id,
            execution_context: None,
        });
        self.last_decision_completed = id;
        self
    }

    /// `DecisionTaskTimedOut` for the started decision task.
    pub fn decision_timed_out(&mut self) -> &mut Self {
        if self.decision_started.is_none() {
            self.decision_started();
        }
        let scheduled_event_id = self.decision_scheduled.take().unwrap_or(0);
        let started_event_id = self.decision_started.take().unwrap_or(0);
        self.push(EventKind::DecisionTaskTimedOut {
            scheduled_event_id,
            started_event_id,
        });
        self
    }

    /// A whole decision task: scheduled, started, completed.
    pub fn decision_task(&mut self) -> &mut Self {
        self.decision_completed()
    }

    /// Complete a decision task with these decisions and record what SWF
    /// would: the scheduled activities, started timers, cancel requests and
    /// the close event. (Service-side rejections are not simulated; use
    /// `schedule_failed` / `start_timer_failed` for those.)
    pub fn respond(&mut self, decisions: &[Decision]) -> &mut Self {
        self.decision_completed();
        for d in decisions {
            self.apply(d);
        }
        self
    }

    /// Record what SWF records for one decision (without a decision task).
    pub fn apply(&mut self, d: &Decision) -> &mut Self {
        match d {
            Decision::ScheduleActivityTask {
                activity_id,
                activity_type,
                input,
                control,
                task_list,
                timeouts,
            } => {
                let id = self.push(EventKind::ActivityTaskScheduled {
                    activity_id: activity_id.clone(),
                    activity_type: activity_type.clone(),
                    input: input.clone(),
                    control: control.clone(),
                    task_list: task_list.clone(),
                    timeouts: *timeouts,
                    decision_task_completed_event_id: self.last_decision_completed,
                });
                self.scheduled.insert(activity_id.clone(), id);
            }
            Decision::RequestCancelActivityTask { activity_id } => {
                self.push(EventKind::ActivityTaskCancelRequested {
                    activity_id: activity_id.clone(),
                });
            }
            Decision::StartTimer {
                timer_id,
                control,
                start_to_fire,
            } => {
                let id = self.push(EventKind::TimerStarted {
                    timer_id: timer_id.clone(),
                    control: control.clone(),
                    start_to_fire: *start_to_fire,
                });
                self.timers.insert(timer_id.clone(), id);
            }
            Decision::CompleteWorkflowExecution { result } => {
                self.push(EventKind::WorkflowExecutionCompleted {
                    result: result.clone(),
                });
            }
            Decision::FailWorkflowExecution { reason, details } => {
                self.push(EventKind::WorkflowExecutionFailed {
                    reason: reason.clone(),
                    details: details.clone(),
                });
            }
            Decision::CancelWorkflowExecution { details } => {
                self.push(EventKind::WorkflowExecutionCanceled {
                    details: details.clone(),
                });
            }
        }
        self
    }

    // --- activities ---------------------------------------------------------

    /// `ActivityTaskScheduled` for attempt `attempt` of `step`, with activity
    /// type `{step}@1` and no input.
    pub fn schedule(&mut self, step: &str, attempt: u32) -> &mut Self {
        self.schedule_as(step, attempt, TypeRef::new(step, "1"), None)
    }

    /// `ActivityTaskScheduled` with an explicit activity type and input.
    pub fn schedule_as(
        &mut self,
        step: &str,
        attempt: u32,
        activity_type: TypeRef,
        input: Option<String>,
    ) -> &mut Self {
        self.apply(&Decision::ScheduleActivityTask {
            activity_id: activity_id(step, attempt),
            activity_type,
            input,
            control: Some(control_json(step, attempt)),
            task_list: "default".into(),
            timeouts: ActivityTimeouts::default(),
        })
    }

    /// `ScheduleActivityTaskFailed` for attempt `attempt` of `step`.
    pub fn schedule_failed(&mut self, step: &str, attempt: u32, cause: &str) -> &mut Self {
        self.push(EventKind::ScheduleActivityTaskFailed {
            activity_id: activity_id(step, attempt),
            activity_type: TypeRef::new(step, "1"),
            cause: cause.into(),
        });
        self
    }

    fn scheduled_id(&self, step: &str, attempt: u32) -> i64 {
        let id = activity_id(step, attempt);
        match self.scheduled.get(&id) {
            Some(s) => *s,
            None => panic!("HistoryBuilder: activity {id} was never scheduled"),
        }
    }

    /// `ActivityTaskStarted`.
    pub fn started(&mut self, step: &str, attempt: u32) -> &mut Self {
        let sched = self.scheduled_id(step, attempt);
        let id = self.push(EventKind::ActivityTaskStarted {
            scheduled_event_id: sched,
            identity: Some("test-worker".into()),
        });
        self.started.insert(sched, id);
        self
    }

    fn started_id(&self, sched: i64) -> i64 {
        self.started.get(&sched).copied().unwrap_or(0)
    }

    /// `ActivityTaskCompleted` with `result` serialized (`Value::Null` → no result).
    pub fn completed(&mut self, step: &str, attempt: u32, result: serde_json::Value) -> &mut Self {
        let raw = (!result.is_null()).then(|| result.to_string());
        self.completed_raw(step, attempt, raw.as_deref())
    }

    /// `ActivityTaskCompleted` with exactly this raw result (may be malformed).
    pub fn completed_raw(&mut self, step: &str, attempt: u32, result: Option<&str>) -> &mut Self {
        let sched = self.scheduled_id(step, attempt);
        self.push(EventKind::ActivityTaskCompleted {
            scheduled_event_id: sched,
            started_event_id: self.started_id(sched),
            result: result.map(str::to_owned),
        });
        self
    }

    /// `ActivityTaskFailed`, encoded the way workers encode it.
    pub fn failed(&mut self, step: &str, attempt: u32, failure: ActivityFailure) -> &mut Self {
        let sched = self.scheduled_id(step, attempt);
        self.push(EventKind::ActivityTaskFailed {
            scheduled_event_id: sched,
            started_event_id: self.started_id(sched),
            reason: Some(failure.reason()),
            details: Some(failure.details()),
        });
        self
    }

    /// `ActivityTaskTimedOut` of the given kind.
    pub fn timed_out(
        &mut self,
        step: &str,
        attempt: u32,
        timeout: ActivityTimeoutType,
    ) -> &mut Self {
        let sched = self.scheduled_id(step, attempt);
        self.push(EventKind::ActivityTaskTimedOut {
            scheduled_event_id: sched,
            started_event_id: self.started_id(sched),
            timeout_type: timeout,
            details: None,
        });
        self
    }

    /// `ActivityTaskCancelRequested` (as the decider's `RequestCancelActivityTask` records).
    pub fn cancel_activity_requested(&mut self, step: &str, attempt: u32) -> &mut Self {
        self.push(EventKind::ActivityTaskCancelRequested {
            activity_id: activity_id(step, attempt),
        });
        self
    }

    /// `ActivityTaskCanceled`.
    pub fn canceled(&mut self, step: &str, attempt: u32) -> &mut Self {
        let sched = self.scheduled_id(step, attempt);
        self.push(EventKind::ActivityTaskCanceled {
            scheduled_event_id: sched,
            started_event_id: self.started_id(sched),
            details: None,
        });
        self
    }

    // --- timers -------------------------------------------------------------

    /// `TimerStarted`.
    pub fn timer_started(&mut self, timer_id: &str, start_to_fire: Duration) -> &mut Self {
        self.apply(&Decision::StartTimer {
            timer_id: timer_id.into(),
            control: None,
            start_to_fire,
        })
    }

    /// `TimerFired`, no earlier than the timer's duration after it started.
    pub fn timer_fired(&mut self, timer_id: &str) -> &mut Self {
        let Some(started_event_id) = self.timers.remove(timer_id) else {
            panic!("HistoryBuilder: timer {timer_id} is not running")
        };
        let (started_at, wait) = match &self.events[(started_event_id - 1) as usize] {
            HistoryEvent {
                timestamp,
                kind: EventKind::TimerStarted { start_to_fire, .. },
                ..
            } => (*timestamp, *start_to_fire),
            _ => (self.now, Duration::ZERO),
        };
        let at = started_at
            .plus(wait)
            .max(self.now.plus(Duration::from_secs(1)));
        self.push_at(
            at,
            EventKind::TimerFired {
                timer_id: timer_id.into(),
                started_event_id,
            },
        );
        self
    }

    /// `TimerCanceled`.
    pub fn timer_canceled(&mut self, timer_id: &str) -> &mut Self {
        let started_event_id = self.timers.remove(timer_id).unwrap_or(0);
        self.push(EventKind::TimerCanceled {
            timer_id: timer_id.into(),
            started_event_id,
        });
        self
    }

    /// `StartTimerFailed`.
    pub fn start_timer_failed(&mut self, timer_id: &str, cause: &str) -> &mut Self {
        self.push(EventKind::StartTimerFailed {
            timer_id: timer_id.into(),
            cause: cause.into(),
        });
        self
    }

    /// Ids of the timers started and neither fired nor canceled.
    pub fn open_timers(&self) -> Vec<String> {
        let mut v: Vec<String> = self.timers.keys().cloned().collect();
        v.sort();
        v
    }

    // --- the workflow -------------------------------------------------------

    /// `WorkflowExecutionCancelRequested`.
    pub fn cancel_requested(&mut self) -> &mut Self {
        self.push(EventKind::WorkflowExecutionCancelRequested { cause: None });
        self
    }

    /// `WorkflowExecutionSignaled`.
    pub fn signaled(&mut self, name: &str, input: Option<&str>) -> &mut Self {
        self.push(EventKind::WorkflowExecutionSignaled {
            signal_name: name.into(),
            input: input.map(str::to_owned),
        });
        self
    }

    /// `CompleteWorkflowExecutionFailed` (e.g. cause [`crate::causes::UNHANDLED_DECISION`]).
    pub fn complete_failed(&mut self, cause: &str) -> &mut Self {
        self.push(EventKind::CompleteWorkflowExecutionFailed {
            cause: cause.into(),
        });
        self
    }

    /// `FailWorkflowExecutionFailed`.
    pub fn fail_failed(&mut self, cause: &str) -> &mut Self {
        self.push(EventKind::FailWorkflowExecutionFailed {
            cause: cause.into(),
        });
        self
    }

    /// `WorkflowExecutionCompleted`.
    pub fn workflow_completed(&mut self, result: Option<&str>) -> &mut Self {
        self.push(EventKind::WorkflowExecutionCompleted {
            result: result.map(str::to_owned),
        });
        self
    }

    /// `WorkflowExecutionFailed`.
    pub fn workflow_failed(&mut self, reason: &str) -> &mut Self {
        self.push(EventKind::WorkflowExecutionFailed {
            reason: Some(reason.into()),
            details: None,
        });
        self
    }

    /// `WorkflowExecutionTimedOut`.
    pub fn workflow_timed_out(&mut self) -> &mut Self {
        self.push(EventKind::WorkflowExecutionTimedOut);
        self
    }

    /// `WorkflowExecutionTerminated`.
    pub fn terminated(&mut self, reason: &str) -> &mut Self {
        self.push(EventKind::WorkflowExecutionTerminated {
            reason: Some(reason.into()),
        });
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_dense_and_links_are_right() {
        let events = HistoryBuilder::start(serde_json::json!({"a": 1}))
            .decision_task()
            .schedule("A", 1)
            .started("A", 1)
            .completed("A", 1, serde_json::json!({"b": 2}))
            .build();
        for (i, e) in events.iter().enumerate() {
            assert_eq!(e.id, i as i64 + 1);
        }
        assert!(events.windows(2).all(|w| w[0].timestamp < w[1].timestamp));
        match &events[6].kind {
            EventKind::ActivityTaskCompleted {
                scheduled_event_id,
                started_event_id,
                ..
            } => {
                assert_eq!(*scheduled_event_id, 5);
                assert_eq!(*started_event_id, 6);
            }
            other => panic!("unexpected {other:?}"),
        }
        match &events[4].kind {
            EventKind::ActivityTaskScheduled {
                decision_task_completed_event_id,
                ..
            } => assert_eq!(*decision_task_completed_event_id, 4),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn timers_fire_after_their_duration() {
        let mut b = HistoryBuilder::start(serde_json::Value::Null);
        b.timer_started("t", Duration::from_secs(30))
            .timer_fired("t");
        let ev = b.events();
        assert_eq!(
            ev[2].timestamp.since(ev[1].timestamp),
            Duration::from_secs(30)
        );
        assert!(b.open_timers().is_empty());
    }
}
