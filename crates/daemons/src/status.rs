//! `pressbot status`: what the bot is doing, in one screen: each role's
//! health (from its `/__heartbeat__`, where an endpoint is given), queue
//! depths including the dead-letter queues, open executions and recent
//! failures with their failing step.

use crate::app::Loaded;
use crate::cron::{last_failure, rfc3339};
use crate::ops::{human, table};
use pressbot_core::backend::{
    dead_letter_queue_name, Backend, CloseStatus, ExecutionFilter, QueueDepth,
};
use pressbot_core::time::Timestamp;
use std::time::Duration;

/// A role's operations endpoint, as `ROLE=URL` on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub role: String,
    pub url: String,
}

/// Parse `decider=http://127.0.0.1:9101`.
pub fn parse_endpoint(s: &str) -> Result<Endpoint, String> {
    let (role, url) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?}: expected ROLE=URL, e.g. decider=http://127.0.0.1:9101"))?;
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(format!(
            "{s:?}: the URL must start with http:// or https://"
        ));
    }
    Ok(Endpoint {
        role: role.trim().to_owned(),
        url: url.trim().trim_end_matches('/').to_owned(),
    })
}

/// A queue's name and depth (or the error reading it).
pub type QueueRow = (String, Result<QueueDepth, String>);

/// What `status` found, for printing or for tests.
#[derive(Debug, Clone, Default)]
pub struct Status {
    /// (role, "ok" or what failed)
    pub health: Vec<(String, String)>,
    /// Each queue's depth, or why it could not be read.
    pub queues: Vec<QueueRow>,
    /// (workflow id, workflow, age)
    pub open: Vec<(String, String, Duration)>,
    /// (workflow id, workflow, status, closed, step, reason)
    pub failed: Vec<[String; 6]>,
    /// Dead-letter queues holding messages: an operator should look.
    pub dead_letters: u64,
}

/// Gather the status. `failed_since` bounds the recent failures listed.
pub async fn gather(
    loaded: &Loaded,
    backend: &Backend,
    endpoints: &[Endpoint],
    failed_since: Duration,
) -> Status {
    let mut status = Status::default();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_default();
    for e in endpoints {
        let verdict = match client.get(format!("{}/__heartbeat__", e.url)).send().await {
            Ok(r) if r.status().is_success() => "ok".to_owned(),
            Ok(r) => {
                let code = r.status();
                let body: serde_json::Value = r.json().await.unwrap_or_default();
                format!("{code}: failing {}", body["failing"])
            }
            Err(err) => format!("unreachable: {err}"),
        };
        status.health.push((e.role.clone(), verdict));
    }
    for q in loaded.settings.all_queues() {
        for name in [q.clone(), dead_letter_queue_name(&q)] {
            let depth = backend.queues.depth(&name).await.map_err(|e| e.to_string());
            if name != q {
                if let Ok(d) = &depth {
                    status.dead_letters += d.visible + d.in_flight + d.delayed;
                }
            }
            status.queues.push((name, depth));
        }
    }
    let now = Timestamp::now();
    if let Ok(mut open) = backend
        .workflows
        .list_executions(&ExecutionFilter {
            open: true,
            ..Default::default()
        })
        .await
    {
        open.sort_by_key(|e| e.started);
        for e in open {
            status.open.push((
                e.execution.workflow_id.to_string(),
                e.workflow_type.name.clone(),
                now.since(e.started),
            ));
        }
    }
    let since = Timestamp(now.millis() - failed_since.as_millis() as i64);
    for s in [CloseStatus::Failed, CloseStatus::TimedOut] {
        let Ok(closed) = backend
            .workflows
            .list_executions(&ExecutionFilter {
                open: false,
                close_status: Some(s),
                started_after: Some(since),
                ..Default::default()
            })
            .await
        else {
            continue;
        };
        for e in closed {
            let (step, reason) = match backend.workflows.history(&e.execution).await {
                Ok(events) => last_failure(&events),
                Err(err) => (None, Some(format!("history unreadable: {err}"))),
            };
            status.failed.push([
                e.execution.workflow_id.to_string(),
                e.workflow_type.name.clone(),
                s.as_str().to_owned(),
                e.closed.map(rfc3339).unwrap_or_default(),
                step.unwrap_or_else(|| "-".into()),
                reason.unwrap_or_else(|| "-".into()),
            ]);
        }
    }
    status
}

impl Status {
    /// Healthy: every endpoint answered ok and no dead-letter queue holds messages.
    pub fn healthy(&self) -> bool {
        self.health.iter().all(|(_, v)| v == "ok")
            && self.dead_letters == 0
            && self.queues.iter().all(|(_, d)| d.is_ok())
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        if self.health.is_empty() {
            out.push_str("roles: no endpoints given (pass --endpoint ROLE=URL, or set PRESSBOT_STATUS_ENDPOINTS)\n");
        } else {
            let rows: Vec<Vec<String>> = self
                .health
                .iter()
                .map(|(r, v)| vec![r.clone(), v.clone()])
                .collect();
            out.push_str(&table(&["ROLE", "HEALTH"], &rows));
            out.push('\n');
        }
        out.push('\n');
        let rows: Vec<Vec<String>> = self
            .queues
            .iter()
            .map(|(q, d)| match d {
                Ok(d) => vec![
                    q.clone(),
                    d.visible.to_string(),
                    d.in_flight.to_string(),
                    d.delayed.to_string(),
                ],
                Err(e) => vec![
                    q.clone(),
                    format!("error: {e}"),
                    String::new(),
                    String::new(),
                ],
            })
            .collect();
        out.push_str(&table(&["QUEUE", "VISIBLE", "IN FLIGHT", "DELAYED"], &rows));
        out.push('\n');
        if self.dead_letters > 0 {
            out.push_str(&format!(
                "\n{} message(s) in dead-letter queues: inspect, fix, then `pressbot redrive QUEUE`\n",
                self.dead_letters
            ));
        }
        out.push_str(&format!("\nopen executions: {}\n", self.open.len()));
        if !self.open.is_empty() {
            let rows: Vec<Vec<String>> = self
                .open
                .iter()
                .map(|(id, w, age)| vec![id.clone(), w.clone(), human(*age)])
                .collect();
            out.push_str(&table(&["WORKFLOW ID", "WORKFLOW", "AGE"], &rows));
            out.push('\n');
        }
        out.push_str(&format!("\nrecently failed: {}\n", self.failed.len()));
        if !self.failed.is_empty() {
            let rows: Vec<Vec<String>> = self.failed.iter().map(|r| r.to_vec()).collect();
            out.push_str(&table(
                &[
                    "WORKFLOW ID",
                    "WORKFLOW",
                    "STATUS",
                    "CLOSED",
                    "STEP",
                    "REASON",
                ],
                &rows,
            ));
            out.push_str("\n(re-run one with `pressbot retry WORKFLOW_ID`)\n");
        }
        out
    }
}
