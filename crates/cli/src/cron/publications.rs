//! Scheduled publications: previews with a `publish_at` whose time has
//! come are approved, once.

use super::*;
use crate::app::Loaded;
use pressbot_core::backend::{Backend, CloseStatus, ExecutionFilter};
use pressbot_core::history::{EventKind, HistoryEvent};
use pressbot_core::ids::WorkflowId;
use pressbot_core::time::Timestamp;
use std::time::Duration;

/// The workflow id of the scheduled publication of one article version and
/// run: the same on every cron run, so the approval is started once.
pub fn scheduled_publication_id(article_id: &str, version: &str, run: &str) -> WorkflowId {
    use pressbot_core::ids::sanitize_id_part;
    WorkflowId(format!(
        "ApproveArticlePublication-scheduled-{}-v{}-{}",
        sanitize_id_part(article_id),
        sanitize_id_part(version),
        sanitize_id_part(run)
    ))
}

/// A JSON value as an id part: strings bare, numbers as written.
pub(super) fn id_part(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The start input and final result of a completed execution, as JSON objects.
pub(super) fn input_and_result(
    events: &[HistoryEvent],
) -> (Option<serde_json::Value>, Option<serde_json::Value>) {
    let mut input = None;
    let mut result = None;
    for e in events {
        match &e.kind {
            EventKind::WorkflowExecutionStarted { input: i, .. } => {
                input = i.as_deref().and_then(|t| serde_json::from_str(t).ok());
            }
            EventKind::WorkflowExecutionCompleted { result: r } => {
                result = r.as_deref().and_then(|t| serde_json::from_str(t).ok());
            }
            _ => {}
        }
    }
    (input, result)
}

/// The scheduled-publication check: every `IngestArticleZip` started in
/// preview mode with a `publish_at` (RFC 3339) input that completed within
/// `lookback` and whose time has come gets `ApproveArticlePublication`
/// started under [`scheduled_publication_id`]. Data-driven and idempotent:
/// the workflow service remembers what was started, so there is no state to
/// lose, and a preview without `publish_at` waits for a human approval.
pub(super) async fn scheduled_publications(
    loaded: &Loaded,
    backend: &Backend,
    now: Timestamp,
    lookback: Duration,
    dry_run: bool,
) -> Result<String, CronError> {
    let previews = backend
        .workflows
        .list_executions(&ExecutionFilter {
            open: false,
            close_status: Some(CloseStatus::Completed),
            workflow_name: Some("IngestArticleZip".into()),
            started_after: Some(Timestamp(now.millis() - lookback.as_millis() as i64)),
            ..Default::default()
        })
        .await?;
    let (mut started, mut already, mut waiting, mut bad) = (0usize, 0usize, 0usize, 0usize);
    let mut lines = Vec::new();
    for info in &previews {
        let workflow_id = &info.execution.workflow_id;
        let events = backend.workflows.history(&info.execution).await?;
        let (input, result) = input_and_result(&events);
        let input = input.unwrap_or_default();
        if input.get("mode").and_then(|m| m.as_str()) != Some("preview") {
            continue;
        }
        let Some(publish_at) = input.get("publish_at") else {
            continue;
        };
        let due = match publish_at.as_str().map(parse_now) {
            Some(Ok(t)) => t,
            Some(Err(e)) => {
                tracing::warn!(workflow_id = %workflow_id, error = %e, "scheduled-publication check: publish_at of a preview is not an RFC 3339 time; skipped");
                bad += 1;
                continue;
            }
            None => {
                tracing::warn!(workflow_id = %workflow_id, publish_at = %publish_at, "scheduled-publication check: publish_at of a preview is not a string; skipped");
                bad += 1;
                continue;
            }
        };
        if due > now {
            waiting += 1;
            continue;
        }
        let result = result.unwrap_or_default();
        let field = |k: &str| result.get(k).and_then(id_part);
        let (Some(article_id), Some(version), Some(run)) =
            (field("article_id"), field("version"), field("run"))
        else {
            tracing::warn!(workflow_id = %workflow_id, "scheduled-publication check: the preview's result lacks article_id, version or run; skipped");
            bad += 1;
            continue;
        };
        let approval_id = scheduled_publication_id(&article_id, &version, &run);
        let approval_input = serde_json::json!({
            "article_id": result["article_id"],
            "version": result["version"],
            "run": result["run"],
        });
        match start_once(
            loaded,
            backend,
            &approval_id,
            "ApproveArticlePublication",
            &approval_input,
            vec!["cron:scheduled-publication".into()],
            dry_run,
        )
        .await?
        {
            StartOnce::Started(run_id) => {
                tracing::info!(workflow_id = %approval_id, run_id = %run_id, preview = %workflow_id, article_id = %article_id, version = %version, publish_at = %rfc3339(due), "scheduled publication started");
                lines.push(format!("\nstarted {approval_id} (run {run_id})"));
                started += 1;
            }
            StartOnce::WouldStart => {
                lines.push(format!("\nwould start {approval_id}"));
                started += 1;
            }
            StartOnce::AlreadyStarted => already += 1,
        }
    }
    let verb = if dry_run { "would start" } else { "started" };
    let summary = format!(
        "scheduled-publication check: {verb} {started}, {already} already started, {waiting} not due yet, {bad} skipped (bad publish_at or result)"
    );
    tracing::info!(
        started,
        already_started = already,
        not_due = waiting,
        skipped = bad,
        "{summary}"
    );
    Ok(summary + &lines.concat())
}
