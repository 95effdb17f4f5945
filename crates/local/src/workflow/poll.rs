//! Claiming the oldest task of a task list, and handing a claim back when its poller went away.

use super::rows::refresh_activity_deadline;
use super::sweep::{commit, next_deadline, sweep_due, sweep_tx, swept_topics};
use crate::db::Ctx;
use crate::wake::Topics;
use crate::LocalError;
use pressbot_core::backend::{ActivityTask, DecisionTask};
use rusqlite::{params, Connection, OptionalExtension, Transaction};

/// Claim the oldest unstarted task of `table` on a task list, sweeping
/// due timeouts first. A cheap read-only check comes before the write
/// transaction, so an idle long poll does not take the database's write lock.
pub(super) fn try_claim<T>(
    conn: &mut Connection,
    ctx: &Ctx,
    table: TaskTable,
    domain: &str,
    task_list: &str,
    identity: &str,
    claim: ClaimFn<T>,
) -> Result<Option<T>, LocalError> {
    let now = ctx.now();
    let ready: bool = conn
        .prepare_cached(table.ready_sql())?
        .query_row(params![domain, task_list], |r| r.get(0))?;
    if !ready && !sweep_due(conn, now)? {
        ctx.set_next_due(next_deadline(conn)?);
        return Ok(None);
    }
    let tx = ctx.begin(conn)?;
    let swept = sweep_tx(&tx, ctx.now())?;
    let claimed = claim(&tx, ctx, domain, task_list, identity)?;
    if ctx.abandoned() {
        // The poller is gone: roll back so nobody holds the task.
        return Ok(None);
    }
    commit(tx, ctx, swept_topics(swept))?;
    if claimed.is_none() {
        ctx.set_next_due(next_deadline(conn)?);
    }
    Ok(claimed)
}

/// Claims one task inside the poll's transaction: (tx, ctx, domain, task list, identity).
pub(super) type ClaimFn<T> =
    fn(&Transaction<'_>, &Ctx, &str, &str, &str) -> Result<Option<T>, LocalError>;

/// The two task tables a poll can claim from.
#[derive(Debug, Clone, Copy)]
pub(super) enum TaskTable {
    Decision,
    Activity,
}

impl TaskTable {
    /// The wake-up topic of polls on this table.
    pub(super) fn topic(self) -> Topics {
        match self {
            TaskTable::Decision => Topics::DECISION,
            TaskTable::Activity => Topics::ACTIVITY,
        }
    }

    pub(super) fn ready_sql(self) -> &'static str {
        match self {
            TaskTable::Decision => {
                "SELECT EXISTS (SELECT 1 FROM decision_tasks
                                WHERE domain = ?1 AND task_list = ?2 AND started_event_id IS NULL)"
            }
            TaskTable::Activity => {
                "SELECT EXISTS (SELECT 1 FROM activity_tasks
                                WHERE domain = ?1 AND task_list = ?2 AND started_event_id IS NULL)"
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Hand-back of claims whose poller went away

/// Remove the last history event if it is `event_id` (a start nobody saw).
pub(super) fn unappend_last(
    tx: &Transaction<'_>,
    exec: i64,
    event_id: i64,
) -> Result<bool, LocalError> {
    let next: i64 = tx
        .prepare_cached("SELECT next_event_id FROM executions WHERE id = ?1")?
        .query_row([exec], |r| r.get(0))?;
    if next - 1 != event_id {
        return Ok(false);
    }
    tx.prepare_cached("DELETE FROM events WHERE exec = ?1 AND event_id = ?2")?
        .execute(params![exec, event_id])?;
    tx.prepare_cached("UPDATE executions SET next_event_id = ?2 WHERE id = ?1")?
        .execute(params![exec, event_id])?;
    Ok(true)
}

/// Undo the claim of a decision task whose poller is gone, if nothing
/// happened since; otherwise its start-to-close timeout recovers it.
pub(super) fn release_decision(
    conn: &mut Connection,
    ctx: &Ctx,
    task: DecisionTask,
) -> Result<(), LocalError> {
    let tx = ctx.begin(conn)?;
    let row: Option<(i64, i64)> = tx
        .prepare_cached("SELECT id, exec FROM decision_tasks WHERE token = ?1")?
        .query_row([&task.token.0], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((id, exec)) = row else {
        return Ok(());
    };
    if !unappend_last(&tx, exec, task.started_event_id)? {
        return Ok(());
    }
    tx.prepare_cached(
        "UPDATE decision_tasks SET started_event_id = NULL, token = NULL, deadline = NULL
         WHERE id = ?1",
    )?
    .execute([id])?;
    commit(tx, ctx, Topics::DECISION)
}

/// Undo the claim of an activity task whose poller is gone (see `release_decision`).
pub(super) fn release_activity(
    conn: &mut Connection,
    ctx: &Ctx,
    task: ActivityTask,
) -> Result<(), LocalError> {
    let tx = ctx.begin(conn)?;
    let row: Option<(i64, i64)> = tx
        .prepare_cached("SELECT id, exec FROM activity_tasks WHERE token = ?1")?
        .query_row([&task.token.0], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((id, exec)) = row else {
        return Ok(());
    };
    if !unappend_last(&tx, exec, task.started_event_id)? {
        return Ok(());
    }
    tx.prepare_cached(
        "UPDATE activity_tasks SET started_event_id = NULL, started_at = NULL, token = NULL,
            last_heartbeat = NULL, heartbeat_details = NULL
         WHERE id = ?1",
    )?
    .execute([id])?;
    refresh_activity_deadline(&tx, ctx, id)?;
    commit(tx, ctx, Topics::ACTIVITY)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LocalBackend;
    use pressbot_core::backend::{StartRequest, WorkflowService};
    use pressbot_core::history::Decision;
    use pressbot_core::ids::{TypeRef, WorkflowId};
    use std::time::Duration;

    /// The hand-back path of a poll dropped after its claim committed
    /// (a race too narrow to provoke from outside).
    #[tokio::test]
    async fn released_claims_can_be_claimed_again() {
        use crate::LocalOptions;
        use pressbot_core::history::ActivityTimeouts;
        let dir = tempfile::tempdir().expect("tempdir");
        let b = LocalBackend::open(
            dir.path(),
            LocalOptions {
                long_poll: Duration::from_millis(100),
                ..Default::default()
            },
        )
        .expect("open");
        let wt = TypeRef::new("W", "1");
        let at = TypeRef::new("A", "1");
        b.register_workflow_type(&wt, "d").await.expect("register");
        b.register_activity_type(&at, "a").await.expect("register");
        b.start_workflow(StartRequest {
            workflow_id: WorkflowId::from("wf"),
            workflow_type: wt,
            task_list: "d".into(),
            input: None,
            execution_start_to_close: Duration::from_secs(60),
            decision_task_start_to_close: Duration::from_secs(60),
            tags: vec![],
        })
        .await
        .expect("start");
        let d = b
            .poll_decision_task("d", "x")
            .await
            .expect("poll")
            .expect("task");
        let started = d.started_event_id;
        b.run("release", String::new(), move |c, ctx| {
            release_decision(c, ctx, d)
        })
        .await
        .expect("release");
        let d = b
            .poll_decision_task("d", "y")
            .await
            .expect("poll")
            .expect("again");
        assert_eq!(
            d.started_event_id, started,
            "the unseen start event is reused"
        );
        b.complete_decision_task(
            &d.token,
            vec![Decision::ScheduleActivityTask {
                activity_id: "1".into(),
                activity_type: at,
                input: None,
                control: None,
                task_list: "a".into(),
                timeouts: ActivityTimeouts::default(),
            }],
            None,
        )
        .await
        .expect("complete");
        let a = b
            .poll_activity_task("a", "x")
            .await
            .expect("poll")
            .expect("task");
        let token = a.token.clone();
        b.run("release", String::new(), move |c, ctx| {
            release_activity(c, ctx, a)
        })
        .await
        .expect("release");
        let e = b.heartbeat(&token, None).await.expect_err("released token");
        assert!(matches!(e, pressbot_core::Error::UnknownTask { .. }));
        let a = b
            .poll_activity_task("a", "y")
            .await
            .expect("poll")
            .expect("again");
        b.complete_activity_task(&a.token, None)
            .await
            .expect("complete");
    }
}
