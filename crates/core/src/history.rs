//! History events and decisions: core enums that mirror SWF's.
//!
//! The AWS backend maps SDK types to and from these; the embedded backend
//! produces them directly. Only the fields pressbot reads are kept, but every
//! event kind the decider can meet has a variant, so no mapping is lossy in a
//! way that matters to a decision.

use crate::ids::TypeRef;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// One event of a workflow execution's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEvent {
    /// 1-based, dense, increasing: SWF's `eventId`.
    pub id: i64,
    /// When the service recorded it.
    pub timestamp: Timestamp,
    /// What happened, with its attributes.
    pub kind: EventKind,
}

/// The four activity timeouts, in SWF's terms. `None` means no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ActivityTimeouts {
    /// Longest wait for a worker to pick the attempt up: catches "no
    /// worker running".
    #[serde(with = "humantime_serde", default)]
    pub schedule_to_start: Option<Duration>,
    /// Longest a picked-up attempt may run.
    #[serde(with = "humantime_serde", default)]
    pub start_to_close: Option<Duration>,
    /// Longest from scheduling to closing, waiting included.
    #[serde(with = "humantime_serde", default)]
    pub schedule_to_close: Option<Duration>,
    /// Longest a running attempt may go without a heartbeat: catches a dead
    /// worker long before `start_to_close`.
    #[serde(with = "humantime_serde", default)]
    pub heartbeat: Option<Duration>,
}

/// Which of the activity timeouts fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ActivityTimeoutType {
    /// The attempt ran too long.
    StartToClose,
    /// No worker picked the attempt up in time.
    ScheduleToStart,
    /// The attempt took too long from scheduling to closing.
    ScheduleToClose,
    /// The worker stopped heartbeating (it probably died).
    Heartbeat,
}

impl ActivityTimeoutType {
    /// SWF's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::StartToClose => "START_TO_CLOSE",
            Self::ScheduleToStart => "SCHEDULE_TO_START",
            Self::ScheduleToClose => "SCHEDULE_TO_CLOSE",
            Self::Heartbeat => "HEARTBEAT",
        }
    }

    /// Parse SWF's spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "START_TO_CLOSE" => Self::StartToClose,
            "SCHEDULE_TO_START" => Self::ScheduleToStart,
            "SCHEDULE_TO_CLOSE" => Self::ScheduleToClose,
            "HEARTBEAT" => Self::Heartbeat,
            _ => return None,
        })
    }
}

/// The kinds of history event, with the attributes pressbot uses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum EventKind {
    /// The execution began; its input is the start of the context.
    WorkflowExecutionStarted {
        /// The workflow type (name and version) started.
        workflow_type: TypeRef,
        /// The start input, as JSON text (a JSON object, or nothing).
        input: Option<String>,
        /// The task list its tasks go to.
        task_list: String,
        /// How long the execution may run in all.
        #[serde(with = "humantime_serde", default)]
        execution_start_to_close: Option<Duration>,
    },
    /// Someone asked the execution to cancel; the decider winds it up.
    WorkflowExecutionCancelRequested {
        /// Why, when the service says (e.g. a parent's child policy).
        cause: Option<String>,
    },
    /// A signal arrived; the decider does not act on signals.
    WorkflowExecutionSignaled {
        /// The signal's name.
        signal_name: String,
        /// The signal's payload.
        input: Option<String>,
    },
    /// A decision task was queued for a decider.
    DecisionTaskScheduled {
        /// The task list deciders poll.
        task_list: String,
    },
    /// A decider picked the decision task up.
    DecisionTaskStarted {
        /// The event that scheduled this task.
        scheduled_event_id: i64,
        /// Who picked it up (the poller's identity), for operators.
        identity: Option<String>,
    },
    /// A decider answered; the decisions' own events follow.
    DecisionTaskCompleted {
        /// The event that scheduled this task.
        scheduled_event_id: i64,
        /// The event that recorded its start.
        started_event_id: i64,
        /// The decider's one-line summary of the state.
        execution_context: Option<String>,
    },
    /// A decider held the task too long; the service schedules another.
    DecisionTaskTimedOut {
        /// The event that scheduled this task.
        scheduled_event_id: i64,
        /// The event that recorded its start.
        started_event_id: i64,
    },
    /// The decider scheduled an activity attempt.
    ActivityTaskScheduled {
        /// The decider's id for the attempt (`"{step}#{attempt}"`).
        activity_id: String,
        /// The activity type.
        activity_type: TypeRef,
        /// The attempt's input, as JSON text.
        input: Option<String>,
        /// Data the decider attached for itself (`{"step": .., "attempt": ..}`).
        control: Option<String>,
        /// The task list its workers poll.
        task_list: String,
        /// The attempt's four timeouts.
        timeouts: ActivityTimeouts,
        /// The decision that scheduled it.
        decision_task_completed_event_id: i64,
    },
    /// The service refused to schedule an attempt; the decider fails the
    /// workflow, naming the cause.
    ScheduleActivityTaskFailed {
        /// The decider's id for the attempt (`"{step}#{attempt}"`).
        activity_id: String,
        /// The activity type.
        activity_type: TypeRef,
        /// SWF's cause (see [`crate::causes`]).
        cause: String,
    },
    /// A worker picked the attempt up.
    ActivityTaskStarted {
        /// The event that scheduled this task.
        scheduled_event_id: i64,
        /// Who picked it up (the poller's identity), for operators.
        identity: Option<String>,
    },
    /// The attempt succeeded.
    ActivityTaskCompleted {
        /// The event that scheduled this task.
        scheduled_event_id: i64,
        /// The event that recorded its start.
        started_event_id: i64,
        /// The activity's result, as JSON text (a JSON object).
        result: Option<String>,
    },
    /// The attempt failed; `reason` says whether it may be retried.
    ActivityTaskFailed {
        /// The event that scheduled this task.
        scheduled_event_id: i64,
        /// The event that recorded its start.
        started_event_id: i64,
        /// Starts with the failure kind (`retryable`/`permanent`), see
        /// [`crate::activity::ActivityFailure::reason`].
        reason: Option<String>,
        /// The full failure message.
        details: Option<String>,
    },
    /// One of the attempt's timeouts fired; always retryable.
    ActivityTaskTimedOut {
        /// The event that scheduled this task.
        scheduled_event_id: i64,
        /// The event that recorded its start.
        started_event_id: i64,
        /// Which timeout fired.
        timeout_type: ActivityTimeoutType,
        /// The last heartbeat's details, if any.
        details: Option<String>,
    },
    /// The decider asked a running attempt to stop.
    ActivityTaskCancelRequested {
        /// The attempt asked to stop.
        activity_id: String,
    },
    /// The attempt stopped after a cancel request.
    ActivityTaskCanceled {
        /// The event that scheduled this task.
        scheduled_event_id: i64,
        /// The event that recorded its start.
        started_event_id: i64,
        /// What the worker said when it stopped.
        details: Option<String>,
    },
    /// A timer began: pressbot's wait before a retry.
    TimerStarted {
        /// The timer's id (`"retry:{step}#{attempt}"` for pressbot's own).
        timer_id: String,
        /// Data the decider attached for itself (`{"step": .., "attempt": ..}`).
        control: Option<String>,
        /// How long the timer runs.
        #[serde(with = "humantime_serde")]
        start_to_fire: Duration,
    },
    /// A timer ran out: the retry may be scheduled.
    TimerFired {
        /// The timer's id (`"retry:{step}#{attempt}"` for pressbot's own).
        timer_id: String,
        /// The timer's `TimerStarted` event.
        started_event_id: i64,
    },
    /// A timer was cancelled before it fired.
    TimerCanceled {
        /// The timer's id (`"retry:{step}#{attempt}"` for pressbot's own).
        timer_id: String,
        /// The timer's `TimerStarted` event.
        started_event_id: i64,
    },
    /// The service refused to start a timer.
    StartTimerFailed {
        /// The timer's id (`"retry:{step}#{attempt}"` for pressbot's own).
        timer_id: String,
        /// SWF's cause (see [`crate::causes`]).
        cause: String,
    },
    /// The execution completed (a close event).
    WorkflowExecutionCompleted {
        /// The workflow's result: its final context, as JSON text.
        result: Option<String>,
    },
    /// A complete decision was refused (typically new events arrived);
    /// the decider decides again from the longer history.
    CompleteWorkflowExecutionFailed {
        /// SWF's cause (see [`crate::causes`]).
        cause: String,
    },
    /// The execution failed (a close event).
    WorkflowExecutionFailed {
        /// Why it failed, in short (SWF allows 256 bytes).
        reason: Option<String>,
        /// Why it failed, in full.
        details: Option<String>,
    },
    /// A fail decision was refused; the decider decides again.
    FailWorkflowExecutionFailed {
        /// SWF's cause (see [`crate::causes`]).
        cause: String,
    },
    /// The execution was cancelled (a close event).
    WorkflowExecutionCanceled {
        /// Why it was cancelled.
        details: Option<String>,
    },
    /// A cancel decision was refused; the decider decides again.
    CancelWorkflowExecutionFailed {
        /// SWF's cause (see [`crate::causes`]).
        cause: String,
    },
    /// The execution ran past `execution_start_to_close` (a close event).
    WorkflowExecutionTimedOut,
    /// An operator terminated the execution (a close event).
    WorkflowExecutionTerminated {
        /// What the operator gave as the reason.
        reason: Option<String>,
    },
    /// An SWF event pressbot does not act on, kept by name for `history`.
    Other {
        /// SWF's event type name.
        name: String,
    },
}

impl EventKind {
    /// SWF's event type name, for display.
    pub fn name(&self) -> &str {
        match self {
            EventKind::WorkflowExecutionStarted { .. } => "WorkflowExecutionStarted",
            EventKind::WorkflowExecutionCancelRequested { .. } => {
                "WorkflowExecutionCancelRequested"
            }
            EventKind::WorkflowExecutionSignaled { .. } => "WorkflowExecutionSignaled",
            EventKind::DecisionTaskScheduled { .. } => "DecisionTaskScheduled",
            EventKind::DecisionTaskStarted { .. } => "DecisionTaskStarted",
            EventKind::DecisionTaskCompleted { .. } => "DecisionTaskCompleted",
            EventKind::DecisionTaskTimedOut { .. } => "DecisionTaskTimedOut",
            EventKind::ActivityTaskScheduled { .. } => "ActivityTaskScheduled",
            EventKind::ScheduleActivityTaskFailed { .. } => "ScheduleActivityTaskFailed",
            EventKind::ActivityTaskStarted { .. } => "ActivityTaskStarted",
            EventKind::ActivityTaskCompleted { .. } => "ActivityTaskCompleted",
            EventKind::ActivityTaskFailed { .. } => "ActivityTaskFailed",
            EventKind::ActivityTaskTimedOut { .. } => "ActivityTaskTimedOut",
            EventKind::ActivityTaskCancelRequested { .. } => "ActivityTaskCancelRequested",
            EventKind::ActivityTaskCanceled { .. } => "ActivityTaskCanceled",
            EventKind::TimerStarted { .. } => "TimerStarted",
            EventKind::TimerFired { .. } => "TimerFired",
            EventKind::TimerCanceled { .. } => "TimerCanceled",
            EventKind::StartTimerFailed { .. } => "StartTimerFailed",
            EventKind::WorkflowExecutionCompleted { .. } => "WorkflowExecutionCompleted",
            EventKind::CompleteWorkflowExecutionFailed { .. } => "CompleteWorkflowExecutionFailed",
            EventKind::WorkflowExecutionFailed { .. } => "WorkflowExecutionFailed",
            EventKind::FailWorkflowExecutionFailed { .. } => "FailWorkflowExecutionFailed",
            EventKind::WorkflowExecutionCanceled { .. } => "WorkflowExecutionCanceled",
            EventKind::CancelWorkflowExecutionFailed { .. } => "CancelWorkflowExecutionFailed",
            EventKind::WorkflowExecutionTimedOut => "WorkflowExecutionTimedOut",
            EventKind::WorkflowExecutionTerminated { .. } => "WorkflowExecutionTerminated",
            EventKind::Other { name } => name,
        }
    }

    /// Whether this event closes the execution.
    pub fn is_close(&self) -> bool {
        matches!(
            self,
            EventKind::WorkflowExecutionCompleted { .. }
                | EventKind::WorkflowExecutionFailed { .. }
                | EventKind::WorkflowExecutionCanceled { .. }
                | EventKind::WorkflowExecutionTimedOut
                | EventKind::WorkflowExecutionTerminated { .. }
        )
    }
}

/// A decision a decider returns with `RespondDecisionTaskCompleted`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Decision {
    /// Run one attempt of a step.
    ScheduleActivityTask {
        /// The decider's id for the attempt (`"{step}#{attempt}"`).
        activity_id: String,
        /// The activity type.
        activity_type: TypeRef,
        /// The attempt's input, as JSON text.
        input: Option<String>,
        /// Data the decider attaches for itself (`{"step": .., "attempt": ..}`).
        control: Option<String>,
        /// The task list its workers poll.
        task_list: String,
        /// The attempt's four timeouts.
        timeouts: ActivityTimeouts,
    },
    /// Ask a running attempt to stop.
    RequestCancelActivityTask {
        /// The attempt to stop.
        activity_id: String,
    },
    /// Wait before the next attempt of a step.
    StartTimer {
        /// The timer's id (`"retry:{step}#{attempt}"` for pressbot's own).
        timer_id: String,
        /// Data the decider attaches for itself (`{"step": .., "attempt": ..}`).
        control: Option<String>,
        /// How long the timer runs.
        #[serde(with = "humantime_serde")]
        start_to_fire: Duration,
    },
    /// Close the execution as completed.
    CompleteWorkflowExecution {
        /// The workflow's result: its final context, as JSON text.
        result: Option<String>,
    },
    /// Close the execution as failed.
    FailWorkflowExecution {
        /// Why it failed, in short (cut to [`limits::REASON`]).
        reason: Option<String>,
        /// Why it failed, in full (cut to [`limits::DETAILS`]).
        details: Option<String>,
    },
    /// Close the execution as cancelled, after a cancel request.
    CancelWorkflowExecution {
        /// Why it is cancelled.
        details: Option<String>,
    },
}

impl Decision {
    /// SWF's decision type name, for logs and metrics.
    pub fn name(&self) -> &'static str {
        match self {
            Decision::ScheduleActivityTask { .. } => "ScheduleActivityTask",
            Decision::RequestCancelActivityTask { .. } => "RequestCancelActivityTask",
            Decision::StartTimer { .. } => "StartTimer",
            Decision::CompleteWorkflowExecution { .. } => "CompleteWorkflowExecution",
            Decision::FailWorkflowExecution { .. } => "FailWorkflowExecution",
            Decision::CancelWorkflowExecution { .. } => "CancelWorkflowExecution",
        }
    }

    /// Whether this decision closes the workflow (must be the last one in a response).
    pub fn is_close(&self) -> bool {
        matches!(
            self,
            Decision::CompleteWorkflowExecution { .. }
                | Decision::FailWorkflowExecution { .. }
                | Decision::CancelWorkflowExecution { .. }
        )
    }
}

/// SWF's limits on decision and failure strings: longer values are
/// rejected by the service, so they are cut before sending.
pub mod limits {
    /// A failure's or fail decision's `reason`, in bytes.
    pub const REASON: usize = 256;
    /// A failure's or close decision's `details`, in bytes.
    pub const DETAILS: usize = 32_768;
    /// An activity's or execution's input, in bytes.
    pub const INPUT: usize = 32_768;
    /// An activity's or execution's result, in bytes.
    pub const RESULT: usize = 32_768;
}

/// Cut a string to at most `max` bytes on a character boundary.
pub fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}
