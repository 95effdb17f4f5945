//! Executions: start, cancel, terminate, type registration and listing.

use super::rows::{
    append, close_execution, find_exec, request_decision, schedule_decision, ExecRow, EXEC_COLS,
};
use super::sweep::{commit, sweep_if_due, sweep_tx, swept_topics};
use crate::db::{ms, Ctx};
use crate::wake::Topics;
use crate::LocalError;
use pressbot_core::backend::{
    CloseStatus, ExecutionFilter, ExecutionInfo, StartOutcome, StartRequest,
};
use pressbot_core::history::EventKind;
use pressbot_core::ids::{RunId, TypeRef, WorkflowExecution, MAX_WORKFLOW_ID_LEN};
use rusqlite::{params, Connection};
use std::time::Duration;

// ---------------------------------------------------------------------------
// Executions

pub(super) fn start(
    conn: &mut Connection,
    ctx: &Ctx,
    domain: &str,
    request: StartRequest,
) -> Result<StartOutcome, LocalError> {
    let tx = ctx.begin(conn)?;
    let now = ctx.now();
    let swept = sweep_tx(&tx, now)?;
    let t = &request.workflow_type;
    let registered: bool = tx.prepare_cached("SELECT EXISTS (SELECT 1 FROM workflow_types WHERE domain = ?1 AND name = ?2 AND version = ?3)")?.query_row(params![domain, t.name, t.version],
        |r| r.get(0))?;
    if !registered {
        commit(tx, ctx, swept_topics(swept))?;
        return Err(LocalError::NotFound {
            what: "workflow type",
            name: format!(
                "{t} in domain {domain}, starting workflow {} (run `register` first)",
                request.workflow_id
            ),
        });
    }
    if find_exec(&tx, domain, request.workflow_id.as_str(), None)?.is_some() {
        commit(tx, ctx, swept_topics(swept))?;
        tracing::debug!(workflow_id = %request.workflow_id, "already running");
        return Ok(StartOutcome::AlreadyRunning);
    }
    let run_id = uuid::Uuid::new_v4().simple().to_string();
    let tags = serde_json::to_string(&request.tags).unwrap_or_else(|_| "[]".into());
    tx.prepare_cached(
        "INSERT INTO executions (domain, workflow_id, run_id, type_name, type_version, task_list,
            decision_timeout_ms, started, deadline, tags)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        domain,
        request.workflow_id.as_str(),
        run_id,
        t.name,
        t.version,
        request.task_list,
        ms(request.decision_task_start_to_close),
        now.0,
        now.plus(request.execution_start_to_close).0,
        tags,
    ])?;
    let exec = tx.last_insert_rowid();
    ctx.note_deadline(
        now.plus(request.execution_start_to_close).0,
        Topics::WORKFLOW,
    );
    append(
        &tx,
        exec,
        now,
        &EventKind::WorkflowExecutionStarted {
            workflow_type: request.workflow_type.clone(),
            input: request.input,
            task_list: request.task_list.clone(),
            execution_start_to_close: Some(request.execution_start_to_close),
        },
    )?;
    schedule_decision(&tx, exec, now)?;
    commit(tx, ctx, Topics::DECISION)?;
    tracing::info!(workflow_id = %request.workflow_id, run_id = %run_id, workflow_type = %request.workflow_type, "workflow execution started");
    Ok(StartOutcome::Started {
        run_id: RunId(run_id),
    })
}

pub(super) fn validate_start(request: &StartRequest) -> Result<(), LocalError> {
    const OP: &str = "start_workflow";
    let id = request.workflow_id.as_str();
    if id.is_empty() || id.len() > MAX_WORKFLOW_ID_LEN {
        return Err(LocalError::invalid(
            OP,
            "workflow id",
            id,
            format!("must be 1..={MAX_WORKFLOW_ID_LEN} bytes"),
        ));
    }
    if request.task_list.is_empty() {
        return Err(LocalError::invalid(
            OP,
            "task list",
            "",
            "must not be empty",
        ));
    }
    for (what, d) in [
        ("execution_start_to_close", request.execution_start_to_close),
        (
            "decision_task_start_to_close",
            request.decision_task_start_to_close,
        ),
    ] {
        if d < Duration::from_secs(1) {
            return Err(LocalError::invalid(
                OP,
                "timeout",
                format!("{what} = {d:?}"),
                "must be at least 1s",
            ));
        }
    }
    Ok(())
}

pub(super) fn open_exec_or_not_found(
    conn: &Connection,
    domain: &str,
    workflow_id: &str,
    run_id: Option<&str>,
) -> Result<ExecRow, LocalError> {
    match find_exec(conn, domain, workflow_id, run_id)? {
        Some(e) if e.closed.is_none() => Ok(e),
        _ => Err(LocalError::NotFound {
            what: "open execution",
            name: match run_id {
                Some(r) => format!("{workflow_id}/{r}"),
                None => workflow_id.to_owned(),
            },
        }),
    }
}

pub(super) fn request_cancel(
    conn: &mut Connection,
    ctx: &Ctx,
    domain: &str,
    workflow_id: &str,
    run_id: Option<&str>,
) -> Result<(), LocalError> {
    let tx = ctx.begin(conn)?;
    sweep_tx(&tx, ctx.now())?;
    let exec = open_exec_or_not_found(&tx, domain, workflow_id, run_id)?;
    append(
        &tx,
        exec.id,
        ctx.now(),
        &EventKind::WorkflowExecutionCancelRequested { cause: None },
    )?;
    tx.prepare_cached("UPDATE executions SET cancel_requested = 1 WHERE id = ?1")?
        .execute([exec.id])?;
    request_decision(&tx, exec.id, ctx.now())?;
    commit(tx, ctx, Topics::DECISION)?;
    tracing::info!(workflow_id = %exec.workflow_id, run_id = %exec.run_id, "cancel requested");
    Ok(())
}

pub(super) fn terminate(
    conn: &mut Connection,
    ctx: &Ctx,
    domain: &str,
    workflow_id: &str,
    run_id: Option<&str>,
    reason: &str,
) -> Result<(), LocalError> {
    let tx = ctx.begin(conn)?;
    sweep_tx(&tx, ctx.now())?;
    let exec = open_exec_or_not_found(&tx, domain, workflow_id, run_id)?;
    append(
        &tx,
        exec.id,
        ctx.now(),
        &EventKind::WorkflowExecutionTerminated {
            reason: Some(reason.to_owned()),
        },
    )?;
    close_execution(&tx, exec.id, ctx.now(), CloseStatus::Terminated)?;
    commit(tx, ctx, Topics::DECISION)?;
    tracing::info!(workflow_id = %exec.workflow_id, run_id = %exec.run_id, reason, "terminated");
    Ok(())
}

pub(super) fn register_types(
    conn: &mut Connection,
    ctx: &Ctx,
    domain: &str,
    workflows: &[(TypeRef, String)],
    activities: &[(TypeRef, String)],
) -> Result<(), LocalError> {
    let tx = ctx.begin(conn)?;
    tx.prepare_cached("INSERT OR IGNORE INTO domains (name, registered) VALUES (?1, ?2)")?
        .execute(params![domain, ctx.now().0])?;
    for (table, types) in [
        ("workflow_types", workflows),
        ("activity_types", activities),
    ] {
        for (t, task_list) in types {
            tx.prepare_cached(&format!(
                "INSERT OR IGNORE INTO {table} (domain, name, version, task_list, registered)
                     VALUES (?1, ?2, ?3, ?4, ?5)"
            ))?
            .execute(params![domain, t.name, t.version, task_list, ctx.now().0])?;
        }
    }
    tx.commit()?;
    Ok(())
}

pub(super) fn list(
    conn: &mut Connection,
    ctx: &Ctx,
    domain: &str,
    filter: &ExecutionFilter,
) -> Result<Vec<ExecutionInfo>, LocalError> {
    sweep_if_due(conn, ctx)?;
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {EXEC_COLS} FROM executions
         WHERE domain = ?1 AND (closed IS NULL) = ?2
           AND (?3 IS NULL OR started >= ?3)
           AND (?4 IS NULL OR workflow_id = ?4)
           AND (?5 IS NULL OR type_name = ?5)
           AND (?6 IS NULL OR close_status = ?6)
         ORDER BY started DESC, id DESC"
    ))?;
    let rows = stmt.query_map(
        params![
            domain,
            filter.open,
            filter.started_after.map(|t| t.0),
            filter.workflow_id.as_ref().map(|w| w.as_str()),
            filter.workflow_name.as_deref(),
            filter.close_status.map(|s| s.as_str()),
        ],
        ExecRow::from_row,
    )?;
    let mut out = Vec::new();
    for row in rows {
        out.push(row?.info());
    }
    Ok(out)
}

pub(super) fn exec_by_execution(
    conn: &mut Connection,
    ctx: &Ctx,
    domain: &str,
    execution: &WorkflowExecution,
) -> Result<ExecRow, LocalError> {
    sweep_if_due(conn, ctx)?;
    find_exec(
        conn,
        domain,
        execution.workflow_id.as_str(),
        Some(execution.run_id.as_str()),
    )?
    .ok_or_else(|| LocalError::NotFound {
        what: "execution",
        name: execution.to_string(),
    })
}
