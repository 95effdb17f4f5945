//! Timeouts and timers, processed in the transaction of whoever calls next.

use super::rows::{append, close_execution, request_decision, schedule_decision};
use crate::db::Ctx;
use crate::wake::Topics;
use crate::LocalError;
use pressbot_core::backend::CloseStatus;
use pressbot_core::history::{ActivityTimeoutType, EventKind};
use pressbot_core::time::Timestamp;
use rusqlite::{params, Connection, Transaction};

// ---------------------------------------------------------------------------
// Sweep: timeouts and timers, processed by whoever calls next

/// Whether anything is due (a cheap read; no write lock taken).
pub(super) fn sweep_due(conn: &Connection, now: Timestamp) -> Result<bool, LocalError> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM executions
                        WHERE deadline IS NOT NULL AND deadline <= ?1 AND closed IS NULL)
             OR EXISTS (SELECT 1 FROM decision_tasks WHERE deadline IS NOT NULL AND deadline <= ?1)
             OR EXISTS (SELECT 1 FROM activity_tasks WHERE deadline IS NOT NULL AND deadline <= ?1)
             OR EXISTS (SELECT 1 FROM timers WHERE fire_at <= ?1)",
        )?
        .query_row([now.0], |r| r.get(0))?)
}

/// Expire everything due, in the caller's transaction. Returns how many
/// things expired.
pub(super) fn sweep_tx(tx: &Transaction<'_>, now: Timestamp) -> Result<usize, LocalError> {
    let mut n = 0;

    let due: Vec<i64> = {
        let mut stmt = tx.prepare_cached(
            "SELECT id FROM executions
             WHERE deadline IS NOT NULL AND deadline <= ?1 AND closed IS NULL ORDER BY deadline",
        )?;
        let rows = stmt.query_map([now.0], |r| r.get(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for exec in due {
        append(tx, exec, now, &EventKind::WorkflowExecutionTimedOut)?;
        close_execution(tx, exec, now, CloseStatus::TimedOut)?;
        tracing::info!(execution_row = exec, "workflow execution timed out");
        n += 1;
    }

    let due: Vec<(i64, i64, i64, i64)> = {
        let mut stmt = tx.prepare_cached(
            "SELECT id, exec, scheduled_event_id, started_event_id FROM decision_tasks
             WHERE deadline IS NOT NULL AND deadline <= ?1 ORDER BY deadline",
        )?;
        let rows = stmt.query_map([now.0], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for (id, exec, scheduled, started) in due {
        tx.prepare_cached("DELETE FROM decision_tasks WHERE id = ?1")?
            .execute([id])?;
        append(
            tx,
            exec,
            now,
            &EventKind::DecisionTaskTimedOut {
                scheduled_event_id: scheduled,
                started_event_id: started,
            },
        )?;
        tx.prepare_cached("UPDATE executions SET decision_pending = 0 WHERE id = ?1")?
            .execute([exec])?;
        schedule_decision(tx, exec, now)?;
        tracing::info!(
            execution_row = exec,
            started_event_id = started,
            "decision task timed out"
        );
        n += 1;
    }

    #[allow(clippy::type_complexity)]
    let due: Vec<(i64, i64, i64, Option<i64>, Option<String>, Option<String>)> = {
        let mut stmt = tx.prepare_cached(
            "SELECT id, exec, scheduled_event_id, started_event_id, deadline_kind, heartbeat_details
             FROM activity_tasks WHERE deadline IS NOT NULL AND deadline <= ?1 ORDER BY deadline",
        )?;
        let rows = stmt.query_map([now.0], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for (id, exec, scheduled, started, kind, details) in due {
        let timeout_type = kind
            .as_deref()
            .and_then(ActivityTimeoutType::parse)
            .ok_or_else(|| LocalError::Corrupt {
                operation: "sweep",
                what: "activity task deadline kind",
                message: format!("activity task row {id} has deadline kind {kind:?}"),
            })?;
        tx.prepare_cached("DELETE FROM activity_tasks WHERE id = ?1")?
            .execute([id])?;
        append(
            tx,
            exec,
            now,
            &EventKind::ActivityTaskTimedOut {
                scheduled_event_id: scheduled,
                started_event_id: started.unwrap_or(0),
                timeout_type,
                details,
            },
        )?;
        request_decision(tx, exec, now)?;
        tracing::info!(
            execution_row = exec,
            scheduled_event_id = scheduled,
            timeout = timeout_type.as_str(),
            "activity task timed out"
        );
        n += 1;
    }

    let due: Vec<(i64, String, i64)> = {
        let mut stmt = tx.prepare_cached(
            "SELECT exec, timer_id, started_event_id FROM timers WHERE fire_at <= ?1 ORDER BY fire_at",
        )?;
        let rows = stmt.query_map([now.0], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for (exec, timer_id, started) in due {
        tx.prepare_cached("DELETE FROM timers WHERE exec = ?1 AND timer_id = ?2")?
            .execute(params![exec, timer_id])?;
        append(
            tx,
            exec,
            now,
            &EventKind::TimerFired {
                timer_id,
                started_event_id: started,
            },
        )?;
        request_decision(tx, exec, now)?;
        n += 1;
    }
    Ok(n)
}

/// Sweep in its own transaction, only if something is due.
pub(crate) fn sweep_if_due(conn: &mut Connection, ctx: &Ctx) -> Result<usize, LocalError> {
    if !sweep_due(conn, ctx.now())? {
        return Ok(0);
    }
    let tx = ctx.begin(conn)?;
    let n = sweep_tx(&tx, ctx.now())?;
    tx.commit()?;
    if n > 0 {
        // Timeouts and timers only ever make decision tasks.
        ctx.wake_for(Topics::DECISION | ctx.take_deadline_wake());
    }
    Ok(n)
}

/// Commit, then wake the polls (of every process) waiting for what the
/// sweep or the change produced.
pub(super) fn commit(tx: Transaction<'_>, ctx: &Ctx, wake: Topics) -> Result<(), LocalError> {
    tx.commit()?;
    ctx.wake_for(wake | ctx.take_deadline_wake());
    Ok(())
}

/// The earliest timeout or timer not yet processed (ms), if any: an idle
/// workflow poll sleeps until then at most, since processing it may make
/// the task it waits for. Four index look-ups, only when a poll found nothing.
pub(super) fn next_deadline(conn: &Connection) -> Result<Option<i64>, LocalError> {
    Ok(conn
        .prepare_cached(
            "SELECT MIN(d) FROM (
             SELECT MIN(deadline) AS d FROM executions WHERE deadline IS NOT NULL
             UNION ALL SELECT MIN(deadline) FROM decision_tasks WHERE deadline IS NOT NULL
             UNION ALL SELECT MIN(deadline) FROM activity_tasks WHERE deadline IS NOT NULL
             UNION ALL SELECT MIN(fire_at) FROM timers)",
        )?
        .query_row([], |r| r.get(0))?)
}

/// What a sweep that expired `swept` things produced: decision tasks only.
pub(super) fn swept_topics(swept: usize) -> Topics {
    if swept > 0 {
        Topics::DECISION
    } else {
        Topics::NONE
    }
}
