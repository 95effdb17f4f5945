//! Start exactly once: the one start that the workflow starter, `pressbot
//! cron`, `pressbot start` and `pressbot retry` share. The request comes
//! from the definition (`WorkflowDefinition::start_request`); what differs
//! is which earlier execution with the same workflow id counts as this
//! start having happened ([`Duplicates`]).

use pressbot_core::backend::{Backend, ExecutionFilter, StartOutcome, StartRequest};
use pressbot_core::ids::{RunId, WorkflowId};

/// Which execution with the same workflow id makes a start a duplicate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Duplicates {
    /// Any that was ever started, open or closed (within the service's
    /// retention). SWF rejects a duplicate id only while it is open, so
    /// this is what makes a redelivered starter message or a cron run on a
    /// second host start nothing.
    EverStarted,
    /// Only an open one (the service's own check): a deliberate re-run,
    /// such as `pressbot retry`, of an id whose execution closed.
    Open,
}

/// Whether an execution with this workflow id ever closed (an open one is
/// the service's own duplicate).
pub async fn ever_closed(
    backend: &Backend,
    workflow_id: &WorkflowId,
) -> pressbot_core::Result<bool> {
    let closed = backend
        .workflows
        .list_executions(&ExecutionFilter {
            open: false,
            workflow_id: Some(workflow_id.clone()),
            ..Default::default()
        })
        .await?;
    Ok(!closed.is_empty())
}

/// What came of [`start_once`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Once {
    /// Started now.
    Started { run_id: RunId },
    /// An open execution has this workflow id (the service refused).
    Open,
    /// A closed one has ([`Duplicates::EverStarted`] only): nothing asked.
    Closed,
}

impl Once {
    /// As the service's answer: a duplicate, open or closed, is
    /// [`StartOutcome::AlreadyRunning`].
    pub fn outcome(self) -> StartOutcome {
        match self {
            Once::Started { run_id } => StartOutcome::Started { run_id },
            Once::Open | Once::Closed => StartOutcome::AlreadyRunning,
        }
    }
}

/// Start `request` unless `duplicates` says it already was.
pub async fn start_once(
    backend: &Backend,
    request: StartRequest,
    duplicates: Duplicates,
) -> pressbot_core::Result<Once> {
    if duplicates == Duplicates::EverStarted && ever_closed(backend, &request.workflow_id).await? {
        return Ok(Once::Closed);
    }
    Ok(match backend.workflows.start_workflow(request).await? {
        StartOutcome::Started { run_id } => Once::Started { run_id },
        StartOutcome::AlreadyRunning => Once::Open,
    })
}
