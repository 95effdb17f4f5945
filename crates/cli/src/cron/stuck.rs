//! The stuck-workflow report: executions open too long, and those that
//! failed since the last run.

use super::*;
use crate::app::Loaded;
use pressbot_core::backend::{
    Backend, CloseStatus, ExecutionFilter, ExecutionInfo, OutgoingMessage,
};
use pressbot_core::history::{EventKind, HistoryEvent};
use pressbot_core::messages::{DashboardMessage, EventStatus};
use pressbot_core::time::Timestamp;
use serde::Serialize;
use std::time::Duration;

/// One execution in the stuck-workflow report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StuckEntry {
    pub workflow_id: String,
    pub run_id: String,
    pub workflow: String,
    /// OPEN, FAILED, TIMED_OUT, ...
    pub status: String,
    pub started: String,
    pub closed: Option<String>,
    /// The step that failed last (or is being retried), from the history.
    pub step: Option<String>,
    pub reason: Option<String>,
}

/// Executions open too long, and executions that failed since the last run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StuckReport {
    pub since: String,
    pub open_longer_than: String,
    pub open: Vec<StuckEntry>,
    pub failed: Vec<StuckEntry>,
}

impl StuckReport {
    pub fn is_empty(&self) -> bool {
        self.open.is_empty() && self.failed.is_empty()
    }

    pub fn summary(&self) -> String {
        format!(
            "stuck-workflow report: {} open longer than {}, {} failed since {}",
            self.open.len(),
            self.open_longer_than,
            self.failed.len(),
            self.since
        )
    }

    /// The report as text, one execution a line.
    pub fn render(&self) -> String {
        let mut out = self.summary();
        for e in self.open.iter().chain(&self.failed) {
            out.push_str(&format!(
                "\n{} {} ({}, run {}): step {}: {}",
                e.status,
                e.workflow_id,
                e.workflow,
                e.run_id,
                e.step.as_deref().unwrap_or("-"),
                e.reason.as_deref().unwrap_or("-")
            ));
        }
        out
    }

    pub(super) fn log(&self) {
        for e in self.open.iter().chain(&self.failed) {
            tracing::warn!(
                workflow_id = %e.workflow_id,
                run_id = %e.run_id,
                workflow = %e.workflow,
                status = %e.status,
                step = e.step.as_deref().unwrap_or("-"),
                reason = e.reason.as_deref().unwrap_or("-"),
                "stuck or failed workflow"
            );
        }
        tracing::info!(
            open = self.open.len(),
            failed = self.failed.len(),
            "{}",
            self.summary()
        );
    }
}

/// The last failing step of a history and why, e.g.
/// (`ConvertJATS`, `permanent: bad XML`), or the workflow's own failure.
pub fn last_failure(events: &[HistoryEvent]) -> (Option<String>, Option<String>) {
    let step_of = |scheduled: i64| {
        events.iter().find_map(|e| match &e.kind {
            EventKind::ActivityTaskScheduled { activity_id, .. } if e.id == scheduled => {
                Some(activity_id.clone())
            }
            _ => None,
        })
    };
    let join = |reason: &Option<String>, details: &Option<String>| match (reason, details) {
        (Some(r), Some(d)) if !d.is_empty() => Some(format!("{r}: {d}")),
        (Some(r), _) => Some(r.clone()),
        (None, d) => d.clone(),
    };
    let mut step = None;
    let mut reason = None;
    for e in events.iter().rev() {
        match &e.kind {
            EventKind::WorkflowExecutionFailed { reason: r, details } if reason.is_none() => {
                reason = join(r, details);
            }
            EventKind::WorkflowExecutionTimedOut if reason.is_none() => {
                reason = Some("workflow execution timed out (execution_start_to_close)".into());
            }
            EventKind::ActivityTaskFailed {
                scheduled_event_id,
                reason: r,
                details,
                ..
            } => {
                step = step_of(*scheduled_event_id);
                if reason.is_none() {
                    reason = join(r, details);
                }
                break;
            }
            EventKind::ActivityTaskTimedOut {
                scheduled_event_id,
                timeout_type,
                ..
            } => {
                step = step_of(*scheduled_event_id);
                if reason.is_none() {
                    reason = Some(format!("activity timed out ({})", timeout_type.as_str()));
                }
                break;
            }
            _ => {}
        }
    }
    (step, reason)
}

pub(super) async fn entry(backend: &Backend, info: &ExecutionInfo) -> StuckEntry {
    let (step, reason) = match backend.workflows.history(&info.execution).await {
        Ok(events) => last_failure(&events),
        Err(e) => (None, Some(format!("could not read the history: {e}"))),
    };
    StuckEntry {
        workflow_id: info.execution.workflow_id.to_string(),
        run_id: info.execution.run_id.to_string(),
        workflow: info.workflow_type.name.clone(),
        status: info
            .close_status
            .map(|s| s.as_str())
            .unwrap_or("OPEN")
            .to_owned(),
        started: rfc3339(info.started),
        closed: info.closed.map(rfc3339),
        step,
        reason,
    }
}

/// Build the stuck-workflow report.
pub async fn stuck_report(
    loaded: &Loaded,
    backend: &Backend,
    now: Timestamp,
    since: Timestamp,
    open_longer_than: Duration,
) -> Result<StuckReport, CronError> {
    let mut report = StuckReport {
        since: rfc3339(since),
        open_longer_than: humantime::format_duration(open_longer_than).to_string(),
        ..Default::default()
    };
    let open = backend
        .workflows
        .list_executions(&ExecutionFilter {
            open: true,
            ..Default::default()
        })
        .await?;
    for info in open
        .iter()
        .filter(|i| now.since(i.started) > open_longer_than)
    {
        report.open.push(entry(backend, info).await);
    }
    // Only executions that could have closed since `since`: none runs longer
    // than its definition's execution timeout.
    let longest = loaded
        .definitions
        .iter()
        .map(|d| d.execution_start_to_close)
        .max()
        .unwrap_or(Duration::from_secs(24 * 3600));
    for status in [CloseStatus::Failed, CloseStatus::TimedOut] {
        let closed = backend
            .workflows
            .list_executions(&ExecutionFilter {
                open: false,
                close_status: Some(status),
                started_after: Some(Timestamp(since.millis() - longest.as_millis() as i64)),
                ..Default::default()
            })
            .await?;
        for info in closed
            .iter()
            .filter(|i| i.closed.is_some_and(|c| c >= since))
        {
            report.failed.push(entry(backend, info).await);
        }
    }
    Ok(report)
}

pub(super) async fn send_report(
    loaded: &Loaded,
    backend: &Backend,
    s: &Schedule,
    slot: Timestamp,
    report: &StuckReport,
) -> Result<(), CronError> {
    // SQS takes 256 KiB; a report that long is cut (the log has it all).
    let mut text = report.render();
    if text.len() > 200_000 {
        let mut cut = 200_000;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push_str("\n... (cut; see the cron log)");
    }
    let message = DashboardMessage::Event {
        item_identifier: "pressbot".into(),
        version: String::new(),
        run: s.workflow_id(slot).to_string(),
        event_type: "StuckWorkflowReport".into(),
        timestamp: rfc3339(Timestamp::now()),
        status: if report.is_empty() {
            EventStatus::End
        } else {
            EventStatus::Error
        },
        message: text,
        message_id: uuid::Uuid::new_v4().to_string(),
    };
    let body = serde_json::to_string(&message).unwrap_or_default();
    backend
        .queues
        .send(&loaded.settings.event_queue(), OutgoingMessage::new(body))
        .await?;
    Ok(())
}
