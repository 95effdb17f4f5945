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
    pub timestamp: Timestamp,
    pub kind: EventKind,
}

/// The four activity timeouts, in SWF's terms. `None` means no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ActivityTimeouts {
    #[serde(with = "humantime_serde", default)]
    pub schedule_to_start: Option<Duration>,
    #[serde(with = "humantime_serde", default)]
    pub start_to_close: Option<Duration>,
    #[serde(with = "humantime_serde", default)]
    pub schedule_to_close: Option<Duration>,
    #[serde(with = "humantime_serde", default)]
    pub heartbeat: Option<Duration>,
}

/// Which of the activity timeouts fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ActivityTimeoutType {
    StartToClose,
    ScheduleToStart,
    ScheduleToClose,
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
    WorkflowExecutionStarted {
        workflow_type: TypeRef,
        input: Option<String>,
        task_list: String,
        #[serde(with = "humantime_serde", default)]
        execution_start_to_close: Option<Duration>,
    },
    WorkflowExecutionCancelRequested {
        cause: Option<String>,
    },
    WorkflowExecutionSignaled {
        signal_name: String,
        input: Option<String>,
    },
    DecisionTaskScheduled {
        task_list: String,
    },
    DecisionTaskStarted {
        scheduled_event_id: i64,
        identity: Option<String>,
    },
    DecisionTaskCompleted {
        scheduled_event_id: i64,
        started_event_id: i64,
        execution_context: Option<String>,
    },
    DecisionTaskTimedOut {
        scheduled_event_id: i64,
        started_event_id: i64,
    },
    ActivityTaskScheduled {
        activity_id: String,
        activity_type: TypeRef,
        input: Option<String>,
        control: Option<String>,
        task_list: String,
        timeouts: ActivityTimeouts,
        decision_task_completed_event_id: i64,
    },
    ScheduleActivityTaskFailed {
        activity_id: String,
        activity_type: TypeRef,
        cause: String,
    },
    ActivityTaskStarted {
        scheduled_event_id: i64,
        identity: Option<String>,
    },
    ActivityTaskCompleted {
        scheduled_event_id: i64,
        started_event_id: i64,
        result: Option<String>,
    },
    ActivityTaskFailed {
        scheduled_event_id: i64,
        started_event_id: i64,
        reason: Option<String>,
        details: Option<String>,
    },
    ActivityTaskTimedOut {
        scheduled_event_id: i64,
        started_event_id: i64,
        timeout_type: ActivityTimeoutType,
        details: Option<String>,
    },
    ActivityTaskCancelRequested {
        activity_id: String,
    },
    ActivityTaskCanceled {
        scheduled_event_id: i64,
        started_event_id: i64,
        details: Option<String>,
    },
    TimerStarted {
        timer_id: String,
        control: Option<String>,
        #[serde(with = "humantime_serde")]
        start_to_fire: Duration,
    },
    TimerFired {
        timer_id: String,
        started_event_id: i64,
    },
    TimerCanceled {
        timer_id: String,
        started_event_id: i64,
    },
    StartTimerFailed {
        timer_id: String,
        cause: String,
    },
    WorkflowExecutionCompleted {
        result: Option<String>,
    },
    CompleteWorkflowExecutionFailed {
        cause: String,
    },
    WorkflowExecutionFailed {
        reason: Option<String>,
        details: Option<String>,
    },
    FailWorkflowExecutionFailed {
        cause: String,
    },
    WorkflowExecutionCanceled {
        details: Option<String>,
    },
    CancelWorkflowExecutionFailed {
        cause: String,
    },
    WorkflowExecutionTimedOut,
    WorkflowExecutionTerminated {
        reason: Option<String>,
    },
    /// An SWF event pressbot does not act on, kept by name for `history`.
    Other {
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
    ScheduleActivityTask {
        activity_id: String,
        activity_type: TypeRef,
        input: Option<String>,
        control: Option<String>,
        task_list: String,
        timeouts: ActivityTimeouts,
    },
    RequestCancelActivityTask {
        activity_id: String,
    },
    StartTimer {
        timer_id: String,
        control: Option<String>,
        #[serde(with = "humantime_serde")]
        start_to_fire: Duration,
    },
    CompleteWorkflowExecution {
        result: Option<String>,
    },
    FailWorkflowExecution {
        reason: Option<String>,
        details: Option<String>,
    },
    CancelWorkflowExecution {
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
    pub const REASON: usize = 256;
    pub const DETAILS: usize = 32_768;
    pub const INPUT: usize = 32_768;
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
