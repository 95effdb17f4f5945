//! `WorkflowService` for `LocalBackend`: each call is one of the transactions above, run on a pooled connection.

use super::activity::{claim_activity, finish_activity, heartbeat, Finish};
use super::decision::{claim_decision, complete_decision};
use super::executions::{
    exec_by_execution, list, register_types, request_cancel, start, terminate, validate_start,
};
use super::poll::{release_activity, release_decision, try_claim, ClaimFn, TaskTable};
use super::rows::load_events;
use crate::db::Ctx;
use crate::{LocalBackend, LocalError};
use async_trait::async_trait;
use pressbot_core::backend::{
    ActivityTask, DecisionTask, ExecutionFilter, ExecutionInfo, HeartbeatOutcome, StartOutcome,
    StartRequest, WorkflowService,
};
use pressbot_core::definition::Definitions;
use pressbot_core::history::{Decision, HistoryEvent};
use pressbot_core::ids::{RunId, TaskToken, TypeRef, WorkflowExecution, WorkflowId};
use pressbot_core::time::Timestamp;
use rusqlite::{params, Connection};

// ---------------------------------------------------------------------------
// Inherent helpers beyond the trait

impl LocalBackend {
    fn domain(&self) -> String {
        self.inner.options.domain.clone()
    }

    /// Long poll for a decision or activity task: both claim the oldest
    /// unstarted row of their table, wake on their own topic, and hand
    /// the claim back if the poll is dropped after it committed.
    async fn poll_task<T: Send + 'static>(
        &self,
        operation: &'static str,
        table: TaskTable,
        task_list: &str,
        identity: &str,
        claim: ClaimFn<T>,
        release: fn(&mut Connection, &Ctx, T) -> Result<(), LocalError>,
    ) -> Result<Option<T>, LocalError> {
        let (domain, list, identity) = (self.domain(), task_list.to_owned(), identity.to_owned());
        self.long_poll(
            operation,
            task_list,
            table.topic(),
            self.inner.options.long_poll,
            move |c, ctx| try_claim(c, ctx, table, &domain, &list, &identity, claim),
            release,
        )
        .await
    }

    /// Complete, fail or cancel an activity task: one transaction each,
    /// differing only in the closing event.
    async fn finish_task(
        &self,
        token: &TaskToken,
        operation: &'static str,
        finish: Finish,
    ) -> Result<(), LocalError> {
        let token = token.0.clone();
        self.run(operation, token.clone(), move |c, ctx| {
            finish_activity(c, ctx, &token, operation, finish)
        })
        .await
    }

    /// Delete executions (and their histories) closed before `closed_before`:
    /// SWF's retention period, which an operator runs from cron (`pressbot
    /// cron` or a systemd timer). Returns how many executions were removed.
    pub async fn purge_closed(&self, closed_before: Timestamp) -> Result<usize, LocalError> {
        let domain = self.domain();
        self.run("purge_closed", domain.clone(), move |c, ctx| {
            let tx = ctx.begin(c)?;
            tx.prepare_cached("DELETE FROM events WHERE exec IN
                    (SELECT id FROM executions WHERE domain = ?1 AND closed IS NOT NULL AND closed < ?2)")?.execute(params![domain, closed_before.0])?;
            let n = tx.prepare_cached("DELETE FROM executions WHERE domain = ?1 AND closed IS NOT NULL AND closed < ?2")?.execute(params![domain, closed_before.0])?;
            tx.commit()?;
            Ok(n)
        })
        .await
    }

    /// Register one workflow type (idempotent). `register` does this for
    /// every definition; tools and tests may want a single type.
    pub async fn register_workflow_type(
        &self,
        workflow_type: &TypeRef,
        task_list: &str,
    ) -> Result<(), LocalError> {
        let domain = self.domain();
        let types = vec![(workflow_type.clone(), task_list.to_owned())];
        self.run(
            "register_workflow_type",
            workflow_type.to_string(),
            move |c, ctx| register_types(c, ctx, &domain, &types, &[]),
        )
        .await
    }

    /// Register one activity type with its default task list (idempotent).
    pub async fn register_activity_type(
        &self,
        activity_type: &TypeRef,
        task_list: &str,
    ) -> Result<(), LocalError> {
        let domain = self.domain();
        let types = vec![(activity_type.clone(), task_list.to_owned())];
        self.run(
            "register_activity_type",
            activity_type.to_string(),
            move |c, ctx| register_types(c, ctx, &domain, &[], &types),
        )
        .await
    }
}

#[async_trait]
impl WorkflowService for LocalBackend {
    async fn poll_decision_task(
        &self,
        task_list: &str,
        identity: &str,
    ) -> pressbot_core::Result<Option<DecisionTask>> {
        Ok(self
            .poll_task(
                "poll_decision_task",
                TaskTable::Decision,
                task_list,
                identity,
                claim_decision,
                release_decision,
            )
            .await?)
    }

    async fn complete_decision_task(
        &self,
        token: &TaskToken,
        decisions: Vec<Decision>,
        execution_context: Option<String>,
    ) -> pressbot_core::Result<()> {
        let (domain, token) = (self.domain(), token.0.clone());
        Ok(self
            .run("complete_decision_task", token.clone(), move |c, ctx| {
                complete_decision(c, ctx, &domain, &token, decisions, execution_context)
            })
            .await?)
    }

    async fn poll_activity_task(
        &self,
        task_list: &str,
        identity: &str,
    ) -> pressbot_core::Result<Option<ActivityTask>> {
        Ok(self
            .poll_task(
                "poll_activity_task",
                TaskTable::Activity,
                task_list,
                identity,
                claim_activity,
                release_activity,
            )
            .await?)
    }

    async fn complete_activity_task(
        &self,
        token: &TaskToken,
        result: Option<String>,
    ) -> pressbot_core::Result<()> {
        Ok(self
            .finish_task(token, "complete_activity_task", Finish::Completed(result))
            .await?)
    }

    async fn fail_activity_task(
        &self,
        token: &TaskToken,
        reason: &str,
        details: &str,
    ) -> pressbot_core::Result<()> {
        let finish = Finish::Failed {
            reason: reason.to_owned(),
            details: details.to_owned(),
        };
        Ok(self
            .finish_task(token, "fail_activity_task", finish)
            .await?)
    }

    async fn cancel_activity_task(
        &self,
        token: &TaskToken,
        details: Option<String>,
    ) -> pressbot_core::Result<()> {
        Ok(self
            .finish_task(token, "cancel_activity_task", Finish::Canceled(details))
            .await?)
    }

    async fn heartbeat(
        &self,
        token: &TaskToken,
        details: Option<String>,
    ) -> pressbot_core::Result<HeartbeatOutcome> {
        let token = token.0.clone();
        Ok(self
            .run("heartbeat", token.clone(), move |c, ctx| {
                heartbeat(c, ctx, &token, details)
            })
            .await?)
    }

    async fn start_workflow(&self, request: StartRequest) -> pressbot_core::Result<StartOutcome> {
        validate_start(&request)?;
        let domain = self.domain();
        Ok(self
            .run(
                "start_workflow",
                request.workflow_id.to_string(),
                move |c, ctx| start(c, ctx, &domain, request),
            )
            .await?)
    }

    async fn request_cancel(
        &self,
        workflow_id: &WorkflowId,
        run_id: Option<&RunId>,
    ) -> pressbot_core::Result<()> {
        let domain = self.domain();
        let (wid, rid) = (workflow_id.0.clone(), run_id.map(|r| r.0.clone()));
        Ok(self
            .run("request_cancel", wid.clone(), move |c, ctx| {
                request_cancel(c, ctx, &domain, &wid, rid.as_deref())
            })
            .await?)
    }

    async fn terminate(
        &self,
        workflow_id: &WorkflowId,
        run_id: Option<&RunId>,
        reason: &str,
    ) -> pressbot_core::Result<()> {
        let domain = self.domain();
        let (wid, rid, reason) = (
            workflow_id.0.clone(),
            run_id.map(|r| r.0.clone()),
            reason.to_owned(),
        );
        Ok(self
            .run("terminate", wid.clone(), move |c, ctx| {
                terminate(c, ctx, &domain, &wid, rid.as_deref(), &reason)
            })
            .await?)
    }

    async fn register(&self, definitions: &Definitions) -> pressbot_core::Result<()> {
        let domain = self.domain();
        let workflows: Vec<(TypeRef, String)> = definitions
            .iter()
            .map(|d| (d.workflow_type(), d.task_list.clone()))
            .collect();
        let activities = definitions.activity_types();
        Ok(self
            .run("register", domain.clone(), move |c, ctx| {
                register_types(c, ctx, &domain, &workflows, &activities)
            })
            .await?)
    }

    async fn list_executions(
        &self,
        filter: &ExecutionFilter,
    ) -> pressbot_core::Result<Vec<ExecutionInfo>> {
        let (domain, filter) = (self.domain(), filter.clone());
        Ok(self
            .run("list_executions", domain.clone(), move |c, ctx| {
                list(c, ctx, &domain, &filter)
            })
            .await?)
    }

    async fn describe_execution(
        &self,
        execution: &WorkflowExecution,
    ) -> pressbot_core::Result<ExecutionInfo> {
        let (domain, execution) = (self.domain(), execution.clone());
        Ok(self
            .run(
                "describe_execution",
                execution.to_string(),
                move |c, ctx| exec_by_execution(c, ctx, &domain, &execution).map(|e| e.info()),
            )
            .await?)
    }

    async fn history(
        &self,
        execution: &WorkflowExecution,
    ) -> pressbot_core::Result<Vec<HistoryEvent>> {
        let (domain, execution) = (self.domain(), execution.clone());
        Ok(self
            .run("history", execution.to_string(), move |c, ctx| {
                let exec = exec_by_execution(c, ctx, &domain, &execution)?;
                load_events(c, exec.id)
            })
            .await?)
    }

    async fn ping(&self) -> pressbot_core::Result<()> {
        Ok(self
            .run("ping", String::new(), |c, _ctx| {
                c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?;
                Ok(())
            })
            .await?)
    }
}
