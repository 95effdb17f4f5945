//! Operator commands that act on a backend: put a file, start a workflow,
//! show a history, summarise executions.

use pressbot_core::backend::{
    Backend, CloseStatus, ExecutionFilter, ExecutionInfo, PutOptions, StartOutcome,
};
use pressbot_core::definition::Definitions;
use pressbot_core::history::{EventKind, HistoryEvent};
use pressbot_core::ids::{WorkflowExecution, WorkflowId};
use pressbot_core::time::Timestamp;
use pressbot_daemons::start::{start_once, Duplicates};
use std::path::Path;

/// Upload a file into a bucket (firing the bucket's notification, if any).
/// Streamed from the file ([`pressbot_core::backend::ObjectStore::put_file`]):
/// a package can be hundreds of megabytes.
pub async fn put_file(
    backend: &Backend,
    bucket: &str,
    path: &Path,
    key: Option<&str>,
) -> crate::Result<String> {
    tokio::fs::metadata(path)
        .await
        .map_err(|source| crate::Error::Io {
            context: format!("reading {}", path.display()),
            source,
        })?;
    let key = match key {
        Some(k) => k.to_owned(),
        None => path
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| {
                crate::Error::Other(format!("{} has no usable file name", path.display()))
            })?
            .to_owned(),
    };
    let content_type = if key.ends_with(".zip") {
        Some("application/zip".to_owned())
    } else {
        None
    };
    backend
        .objects
        .put_file(
            bucket,
            &key,
            path,
            PutOptions {
                content_type,
                cache_control: None,
            },
        )
        .await?;
    Ok(key)
}

/// Start a workflow by name with a JSON input.
pub async fn start(
    backend: &Backend,
    definitions: &Definitions,
    name: &str,
    input: serde_json::Value,
    workflow_id: Option<String>,
) -> crate::Result<(WorkflowId, StartOutcome)> {
    let def = definitions.get(name).ok_or_else(|| {
        crate::Error::Other(format!(
            "unknown workflow {name:?}; known: {}",
            known(definitions)
        ))
    })?;
    if !input.is_object() {
        return Err(crate::Error::Other("--input must be a JSON object".into()));
    }
    let id = match workflow_id {
        Some(id) => WorkflowId(id),
        None => WorkflowId(format!("{name}-{}", uuid::Uuid::new_v4())),
    };
    // SWF refuses the id only while an execution with it is open.
    let request = def.start_request(id.clone(), Some(input.to_string()), vec![]);
    let outcome = start_once(backend, request, Duplicates::Open).await?;
    Ok((id, outcome.outcome()))
}

fn known(definitions: &Definitions) -> String {
    definitions.names().collect::<Vec<_>>().join(", ")
}

/// The latest execution with this workflow id (open first, then closed).
pub async fn find_execution(backend: &Backend, workflow_id: &str) -> crate::Result<ExecutionInfo> {
    for open in [true, false] {
        let mut found = backend
            .workflows
            .list_executions(&ExecutionFilter {
                open,
                workflow_id: Some(WorkflowId(workflow_id.to_owned())),
                ..Default::default()
            })
            .await?;
        found.sort_by_key(|e| e.started);
        if let Some(e) = found.pop() {
            return Ok(e);
        }
    }
    Err(pressbot_core::Error::NotFound {
        what: "workflow execution",
        name: workflow_id.to_owned(),
    }
    .into())
}

/// One line of the `up --until-idle` summary.
#[derive(Debug, Clone)]
pub struct SummaryRow {
    pub workflow_id: String,
    pub article: String,
    pub result: String,
    pub duration: std::time::Duration,
    pub ok: bool,
}

/// Summarise an execution: its input file (or workflow), result and duration.
pub async fn summarise(backend: &Backend, info: &ExecutionInfo) -> crate::Result<SummaryRow> {
    let events = backend.workflows.history(&info.execution).await?;
    Ok(summary_row(info, &events))
}

pub fn summary_row(info: &ExecutionInfo, events: &[HistoryEvent]) -> SummaryRow {
    let input: serde_json::Value = events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::WorkflowExecutionStarted { input, .. } => {
                input.as_deref().and_then(|s| serde_json::from_str(s).ok())
            }
            _ => None,
        })
        .unwrap_or_default();
    let article = pressbot_core::start::StarterPayload::from_data(&input)
        .file_name
        .unwrap_or_else(|| info.workflow_type.name.clone());
    let result = match info.close_status {
        None => "OPEN".to_owned(),
        Some(CloseStatus::Failed) => {
            let reason = events.iter().rev().find_map(|e| match &e.kind {
                EventKind::WorkflowExecutionFailed { reason, .. } => reason.clone(),
                _ => None,
            });
            format!("FAILED: {}", reason.unwrap_or_default())
        }
        Some(s) => s.as_str().to_owned(),
    };
    let end = info.closed.unwrap_or_else(Timestamp::now);
    SummaryRow {
        workflow_id: info.execution.workflow_id.to_string(),
        article,
        ok: info.close_status == Some(CloseStatus::Completed),
        result,
        duration: end.since(info.started),
    }
}

/// Render rows as an aligned text table.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(c.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(&format!("{:<w$}  ", c, w = widths[i]));
            }
        }
        s.trim_end().to_owned()
    };
    let mut out = line(headers.to_vec());
    out.push('\n');
    out.push_str(&line(
        widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .iter()
            .map(String::as_str)
            .collect(),
    ));
    for r in rows {
        out.push('\n');
        out.push_str(&line(r.iter().map(String::as_str).collect()));
    }
    out
}

/// For `history`: the execution to show (a run id given, or the latest).
pub async fn resolve_execution(
    backend: &Backend,
    workflow_id: &str,
    run_id: Option<&str>,
) -> crate::Result<WorkflowExecution> {
    match run_id {
        Some(r) => Ok(WorkflowExecution {
            workflow_id: WorkflowId(workflow_id.to_owned()),
            run_id: r.into(),
        }),
        None => Ok(find_execution(backend, workflow_id).await?.execution),
    }
}

/// How `pressbot terminate` / `cancel` stops an execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Closes it at once; no decision runs (SWF `TerminateWorkflowExecution`).
    Terminate,
    /// Asks its decider to cancel it (SWF `RequestCancelWorkflowExecution`):
    /// open activities are cancelled and the workflow closes as canceled.
    Cancel,
}

/// The open executions a `terminate` / `cancel` selector names: the open
/// run of each workflow id given, plus, with `all_open`, every open
/// execution (of `workflow_type` only, when given). A workflow id with no
/// open run is an error, so a typo is not silently a no-op. Deduplicated
/// by run, oldest first.
pub async fn select_open(
    backend: &Backend,
    workflow_ids: &[String],
    all_open: bool,
    workflow_type: Option<&str>,
) -> crate::Result<Vec<ExecutionInfo>> {
    let mut selected: Vec<ExecutionInfo> = Vec::new();
    for id in workflow_ids {
        let found = backend
            .workflows
            .list_executions(&ExecutionFilter {
                open: true,
                workflow_id: Some(WorkflowId(id.clone())),
                ..Default::default()
            })
            .await?;
        if found.is_empty() {
            return Err(crate::Error::Other(format!(
                "{id}: no open execution with this workflow id"
            )));
        }
        selected.extend(found);
    }
    if all_open {
        selected.extend(
            backend
                .workflows
                .list_executions(&ExecutionFilter {
                    open: true,
                    workflow_name: workflow_type.map(str::to_owned),
                    ..Default::default()
                })
                .await?,
        );
    }
    selected.sort_by_key(|e| e.started);
    let mut seen = std::collections::HashSet::new();
    selected.retain(|e| seen.insert(e.execution.clone()));
    Ok(selected)
}

/// Terminate or request cancellation of each execution, by run id (so a
/// run started since the selection is left alone). Stops at the first
/// error; what was done before it stays done.
pub async fn stop(
    backend: &Backend,
    executions: &[ExecutionInfo],
    how: Stop,
    reason: &str,
) -> crate::Result<()> {
    for e in executions {
        let id = &e.execution.workflow_id;
        let run = &e.execution.run_id;
        match how {
            Stop::Terminate => backend.workflows.terminate(id, Some(run), reason).await?,
            Stop::Cancel => backend.workflows.request_cancel(id, Some(run)).await?,
        }
        tracing::info!(workflow_id = %id, run_id = %run, reason, action = ?how, "execution stopped by operator");
    }
    Ok(())
}
