//! The cause strings SWF puts in its failure events.
//!
//! Each backend writes them into history events (the embedded backend when
//! it refuses a decision, the AWS one when it maps SWF's enums) and the
//! decider reads them back, so a misspelling on either side would silently
//! turn a handled case into an unhandled one. They are SWF's own names,
//! which is also what operators see in `pressbot history`.

/// `ScheduleActivityTaskFailed`: the decision names an activity type that is
/// not registered (or not in this domain).
pub const ACTIVITY_TYPE_DOES_NOT_EXIST: &str = "ACTIVITY_TYPE_DOES_NOT_EXIST";
/// `ScheduleActivityTaskFailed`: the activity type is registered but
/// deprecated, so no new tasks of it may be scheduled.
pub const ACTIVITY_TYPE_DEPRECATED: &str = "ACTIVITY_TYPE_DEPRECATED";
/// `ScheduleActivityTaskFailed`: the activity id is that of an activity
/// still open in this execution.
pub const ACTIVITY_ID_ALREADY_IN_USE: &str = "ACTIVITY_ID_ALREADY_IN_USE";
/// `ScheduleActivityTaskFailed`: the execution already has as many open
/// activities as SWF allows.
pub const OPEN_ACTIVITIES_LIMIT_EXCEEDED: &str = "OPEN_ACTIVITIES_LIMIT_EXCEEDED";
/// `RequestCancelActivityTaskFailed`: the activity id names no open
/// activity (it already closed, or never existed).
pub const ACTIVITY_ID_UNKNOWN: &str = "ACTIVITY_ID_UNKNOWN";
/// `StartTimerFailed`: a timer with this id is already running. The decider
/// treats its own retry timer failing this way as "already waiting".
pub const TIMER_ID_ALREADY_IN_USE: &str = "TIMER_ID_ALREADY_IN_USE";
/// `StartTimerFailed`: too many timers were started in too short a time.
pub const TIMER_CREATION_RATE_EXCEEDED: &str = "TIMER_CREATION_RATE_EXCEEDED";
/// `CompleteWorkflowExecutionFailed` and the other close failures: new
/// events arrived while the decision task was out, so the close decision was
/// dropped and the decider must decide again from the longer history.
pub const UNHANDLED_DECISION: &str = "UNHANDLED_DECISION";
/// Any decision failure: the decider's IAM policy does not allow the
/// decision, or one of its parameters.
pub const OPERATION_NOT_PERMITTED: &str = "OPERATION_NOT_PERMITTED";
/// `StartChildWorkflowExecutionFailed` and `ContinueAsNewWorkflowExecutionFailed`:
/// the workflow type is not registered.
pub const WORKFLOW_TYPE_DOES_NOT_EXIST: &str = "WORKFLOW_TYPE_DOES_NOT_EXIST";
/// `WorkflowExecutionCancelRequested`: the parent execution closed and its
/// child policy asked this one to cancel.
pub const CHILD_POLICY_APPLIED: &str = "CHILD_POLICY_APPLIED";
