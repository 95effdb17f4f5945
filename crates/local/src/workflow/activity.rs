//! Activity tasks: claim, heartbeat, and the three ways a worker closes one.

use super::rows::{
    append, identity_opt, load_exec, new_token, refresh_activity_deadline, request_decision,
};
use super::sweep::{commit, sweep_tx, swept_topics};
use crate::db::Ctx;
use crate::wake::Topics;
use crate::LocalError;
use pressbot_core::backend::{ActivityTask, HeartbeatOutcome};
use pressbot_core::history::EventKind;
use pressbot_core::ids::{TaskToken, TypeRef};
use rusqlite::{params, Connection, OptionalExtension, Transaction};

// ---------------------------------------------------------------------------
// Activity tasks

pub(super) fn claim_activity(
    tx: &Transaction<'_>,
    ctx: &Ctx,
    domain: &str,
    task_list: &str,
    identity: &str,
) -> Result<Option<ActivityTask>, LocalError> {
    let now = ctx.now();
    #[allow(clippy::type_complexity)]
    let row: Option<(i64, i64, String, String, String, Option<String>, i64)> = tx
        .prepare_cached(
            "SELECT id, exec, activity_id, type_name, type_version, input, scheduled_event_id
             FROM activity_tasks
             WHERE domain = ?1 AND task_list = ?2 AND started_event_id IS NULL
             ORDER BY id LIMIT 1",
        )?
        .query_row(params![domain, task_list], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })
        .optional()?;
    let Some((id, exec_id, activity_id, type_name, type_version, input, scheduled)) = row else {
        return Ok(None);
    };
    let started = append(
        tx,
        exec_id,
        now,
        &EventKind::ActivityTaskStarted {
            scheduled_event_id: scheduled,
            identity: identity_opt(identity),
        },
    )?;
    let token = new_token("a");
    tx.prepare_cached("UPDATE activity_tasks SET started_event_id = ?2, started_at = ?3, token = ?4 WHERE id = ?1")?.execute(params![id, started, now.0, token])?;
    refresh_activity_deadline(tx, ctx, id)?;
    let exec = load_exec(tx, exec_id)?;
    tracing::debug!(workflow_id = %exec.workflow_id, run_id = %exec.run_id, activity_id = %activity_id, "activity task started");
    Ok(Some(ActivityTask {
        token: TaskToken(token),
        execution: exec.execution(),
        activity_id,
        activity_type: TypeRef::new(type_name, type_version),
        input,
        started_event_id: started,
    }))
}

/// How an activity task ended, as its worker reports it.
pub(super) enum Finish {
    Completed(Option<String>),
    Failed { reason: String, details: String },
    Canceled(Option<String>),
}

pub(super) fn finish_activity(
    conn: &mut Connection,
    ctx: &Ctx,
    token: &str,
    operation: &'static str,
    finish: Finish,
) -> Result<(), LocalError> {
    let tx = ctx.begin(conn)?;
    let now = ctx.now();
    let swept = sweep_tx(&tx, now)?;
    let row: Option<(i64, i64, i64, i64)> = tx
        .prepare_cached(
            "SELECT id, exec, scheduled_event_id, started_event_id FROM activity_tasks
             WHERE token = ?1 AND started_event_id IS NOT NULL",
        )?
        .query_row([token], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .optional()?;
    let Some((id, exec_id, scheduled, started)) = row else {
        commit(tx, ctx, swept_topics(swept))?;
        return Err(LocalError::UnknownTask { operation });
    };
    tx.prepare_cached("DELETE FROM activity_tasks WHERE id = ?1")?
        .execute([id])?;
    let kind = match finish {
        Finish::Completed(result) => EventKind::ActivityTaskCompleted {
            scheduled_event_id: scheduled,
            started_event_id: started,
            result,
        },
        Finish::Failed { reason, details } => EventKind::ActivityTaskFailed {
            scheduled_event_id: scheduled,
            started_event_id: started,
            reason: Some(reason),
            details: Some(details),
        },
        Finish::Canceled(details) => EventKind::ActivityTaskCanceled {
            scheduled_event_id: scheduled,
            started_event_id: started,
            details,
        },
    };
    append(&tx, exec_id, now, &kind)?;
    request_decision(&tx, exec_id, now)?;
    commit(tx, ctx, Topics::DECISION)
}

pub(super) fn heartbeat(
    conn: &mut Connection,
    ctx: &Ctx,
    token: &str,
    details: Option<String>,
) -> Result<HeartbeatOutcome, LocalError> {
    let tx = ctx.begin(conn)?;
    let now = ctx.now();
    let swept = sweep_tx(&tx, now)?;
    let row: Option<(i64, bool)> = tx
        .prepare_cached(
            "SELECT id, cancel_requested FROM activity_tasks
             WHERE token = ?1 AND started_event_id IS NOT NULL",
        )?
        .query_row([token], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((id, cancel_requested)) = row else {
        commit(tx, ctx, swept_topics(swept))?;
        return Err(LocalError::UnknownTask {
            operation: "heartbeat",
        });
    };
    tx.prepare_cached(
        "UPDATE activity_tasks SET last_heartbeat = ?2, heartbeat_details = ?3 WHERE id = ?1",
    )?
    .execute(params![id, now.0, details])?;
    refresh_activity_deadline(&tx, ctx, id)?;
    commit(tx, ctx, swept_topics(swept))?;
    Ok(HeartbeatOutcome { cancel_requested })
}
