//! Workflow execution events: started, cancel requested, signaled, and the ways an
//! execution closes (or a close decision fails).

use super::fields::{own, Fields};
use super::fields::{task_list_name, type_ref_from_workflow};
use crate::error::AwsError;
use aws_sdk_swf::types as sdk;
use pressbot_core::history::EventKind;

/// Map an execution event; `None` if `e` is of another family.
pub(super) fn map(e: &sdk::HistoryEvent, m: &Fields) -> Result<Option<EventKind>, AwsError> {
    use sdk::EventType as T;
    let kind = match e.event_type() {
        T::WorkflowExecutionStarted => {
            let a = attrs!(e, m, workflow_execution_started_event_attributes);
            EventKind::WorkflowExecutionStarted {
                workflow_type: type_ref_from_workflow(a.workflow_type()),
                input: own(a.input()),
                task_list: task_list_name(a.task_list()),
                execution_start_to_close: m.timeout(
                    "executionStartToCloseTimeout",
                    a.execution_start_to_close_timeout(),
                )?,
            }
        }
        T::WorkflowExecutionCancelRequested => {
            let a = attrs!(e, m, workflow_execution_cancel_requested_event_attributes);
            EventKind::WorkflowExecutionCancelRequested {
                cause: a.cause().map(|c| c.as_str().to_owned()),
            }
        }
        T::WorkflowExecutionSignaled => {
            let a = attrs!(e, m, workflow_execution_signaled_event_attributes);
            EventKind::WorkflowExecutionSignaled {
                signal_name: a.signal_name().to_owned(),
                input: own(a.input()),
            }
        }
        T::WorkflowExecutionCompleted => {
            let a = attrs!(e, m, workflow_execution_completed_event_attributes);
            EventKind::WorkflowExecutionCompleted {
                result: own(a.result()),
            }
        }
        T::CompleteWorkflowExecutionFailed => {
            let a = attrs!(e, m, complete_workflow_execution_failed_event_attributes);
            EventKind::CompleteWorkflowExecutionFailed {
                cause: a.cause().as_str().to_owned(),
            }
        }
        T::WorkflowExecutionFailed => {
            let a = attrs!(e, m, workflow_execution_failed_event_attributes);
            EventKind::WorkflowExecutionFailed {
                reason: own(a.reason()),
                details: own(a.details()),
            }
        }
        T::FailWorkflowExecutionFailed => {
            let a = attrs!(e, m, fail_workflow_execution_failed_event_attributes);
            EventKind::FailWorkflowExecutionFailed {
                cause: a.cause().as_str().to_owned(),
            }
        }
        T::WorkflowExecutionCanceled => {
            let a = attrs!(e, m, workflow_execution_canceled_event_attributes);
            EventKind::WorkflowExecutionCanceled {
                details: own(a.details()),
            }
        }
        T::CancelWorkflowExecutionFailed => {
            let a = attrs!(e, m, cancel_workflow_execution_failed_event_attributes);
            EventKind::CancelWorkflowExecutionFailed {
                cause: a.cause().as_str().to_owned(),
            }
        }
        T::WorkflowExecutionTimedOut => EventKind::WorkflowExecutionTimedOut,
        T::WorkflowExecutionTerminated => {
            // Attributes are optional here: SWF always sends them, but the
            // event closes the execution whatever they say.
            EventKind::WorkflowExecutionTerminated {
                reason: e
                    .workflow_execution_terminated_event_attributes()
                    .and_then(|a| own(a.reason())),
            }
        }
        _ => return Ok(None),
    };
    Ok(Some(kind))
}
