//! `pressbot status`: what the bot is doing, in one screen: each role's
//! health (from its `/__heartbeat__`, where an endpoint is given), queue
//! depths including the dead-letter queues, open executions (with their
//! workflow version, flagged when the definitions here do not hold it),
//! decision tasks that deciders left for a decider of another version (from
//! each endpoint's `/metrics`), and recent failures with their failing step.

use crate::app::Loaded;
use crate::cron::{last_failure, rfc3339};
use crate::ops::table;
use pressbot_core::backend::{
    dead_letter_queue_name, Backend, CloseStatus, ExecutionFilter, QueueDepth,
};
use pressbot_core::time::Timestamp;
use pressbot_daemons::format::human;
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

/// What marks an open execution's version that the definitions here do not hold.
const NOT_HELD: &str = " (not held here)";

/// A queue's name and depth (or the error reading it).
pub type QueueRow = (String, Result<QueueDepth, String>);

/// What `status` found, for printing or for tests.
#[derive(Debug, Clone, Default)]
pub struct Status {
    /// (role, "ok" or what failed)
    pub health: Vec<(String, String)>,
    /// Each queue's depth, or why it could not be read.
    pub queues: Vec<QueueRow>,
    /// (workflow id, workflow, version, age)
    pub open: Vec<(String, String, String, Duration)>,
    /// Open executions whose (name, version) the definitions loaded here do
    /// not hold: they progress only while some decider holds that version.
    pub open_unheld: usize,
    /// (role, workflow type, decision tasks left) from each endpoint's
    /// `pressbot_decision_tasks_left_total`: tasks a decider received for a
    /// version it does not hold and left for another.
    pub left: Vec<(String, String, u64)>,
    /// (workflow id, workflow, status, closed, step, reason)
    pub failed: Vec<[String; 6]>,
    /// Dead-letter queues holding messages: an operator should look.
    pub dead_letters: u64,
    /// The executions could not be listed (why): the status is incomplete.
    pub list_error: Option<String>,
}

/// The verdict of `status --check`, and its exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// Exit 0.
    Healthy,
    /// Exit 1: a role failing or unreachable, or dead-lettered messages.
    Unhealthy,
    /// Exit 2: something could not be checked (the backend did not answer),
    /// so monitoring can tell "broken" from "could not look".
    Unknown,
}

impl Health {
    pub fn exit_code(self) -> u8 {
        match self {
            Health::Healthy => 0,
            Health::Unhealthy => 1,
            Health::Unknown => 2,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Health::Healthy => "healthy",
            Health::Unhealthy => "unhealthy",
            Health::Unknown => "unknown",
        }
    }
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
        if let Ok(r) = client.get(format!("{}/metrics", e.url)).send().await {
            if let Ok(text) = r.text().await {
                for (workflow_type, n) in decision_tasks_left(&text) {
                    status.left.push((e.role.clone(), workflow_type, n));
                }
            }
        }
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
    let listed = backend
        .workflows
        .list_executions(&ExecutionFilter {
            open: true,
            ..Default::default()
        })
        .await;
    if let Err(e) = &listed {
        status.list_error = Some(e.to_string());
    }
    if let Ok(mut open) = listed {
        open.sort_by_key(|e| e.started);
        for e in open {
            let held = loaded.definitions.get_type(&e.workflow_type).is_some();
            if !held {
                status.open_unheld += 1;
            }
            status.open.push((
                e.execution.workflow_id.to_string(),
                e.workflow_type.name.clone(),
                format!(
                    "{}{}",
                    e.workflow_type.version,
                    if held { "" } else { NOT_HELD }
                ),
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

/// The `pressbot_decision_tasks_left_total` counters of a Prometheus page,
/// as (workflow type, count).
pub fn decision_tasks_left(metrics_page: &str) -> Vec<(String, u64)> {
    metrics_page
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("pressbot_decision_tasks_left_total{")?;
            let (labels, value) = rest.split_once('}')?;
            let workflow_type = labels
                .split(',')
                .find_map(|l| l.trim().strip_prefix("workflow_type="))?
                .trim_matches('"')
                .to_owned();
            let n = value.trim().parse::<f64>().ok()?;
            Some((workflow_type, n as u64))
        })
        .collect()
}

impl Status {
    /// Healthy: every endpoint answered ok and no dead-letter queue holds messages.
    pub fn healthy(&self) -> bool {
        self.verdict() == Health::Healthy
    }

    /// Unhealthy when something checked is wrong (even if something else
    /// could not be checked); else unknown when a queue or the executions
    /// could not be read; else healthy.
    pub fn verdict(&self) -> Health {
        if self.dead_letters > 0 || self.health.iter().any(|(_, v)| v != "ok") {
            Health::Unhealthy
        } else if self.list_error.is_some() || self.queues.iter().any(|(_, d)| d.is_err()) {
            Health::Unknown
        } else {
            Health::Healthy
        }
    }

    /// The machine-readable form (`status --output json`; the shape is
    /// documented in docs/operations.md, "Machine-readable output").
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::json;
        json!({
            "verdict": self.verdict().as_str(),
            "roles": self.health.iter().map(|(role, health)| json!({
                "role": role,
                "ok": health == "ok",
                "health": health,
            })).collect::<Vec<_>>(),
            "queues": self.queues.iter().map(|(name, depth)| match depth {
                Ok(d) => json!({
                    "name": name,
                    "visible": d.visible,
                    "in_flight": d.in_flight,
                    "delayed": d.delayed,
                }),
                Err(e) => json!({ "name": name, "error": e }),
            }).collect::<Vec<_>>(),
            "dead_letters": self.dead_letters,
            "open": self.open.iter().map(|(id, workflow, version, age)| {
                let held_version = version.strip_suffix(NOT_HELD);
                json!({
                    "workflow_id": id,
                    "workflow": workflow,
                    "version": held_version.unwrap_or(version),
                    "held": held_version.is_none(),
                    "age_seconds": age.as_secs(),
                })
            }).collect::<Vec<_>>(),
            "open_unheld": self.open_unheld,
            "list_error": self.list_error,
            "decision_tasks_left": self.left.iter().map(|(role, workflow_type, n)| json!({
                "role": role,
                "workflow_type": workflow_type,
                "count": n,
            })).collect::<Vec<_>>(),
            "failed": self.failed.iter().map(|[id, workflow, status, closed, step, reason]| json!({
                "workflow_id": id,
                "workflow": workflow,
                "status": status,
                "closed": closed,
                "step": step,
                "reason": reason,
            })).collect::<Vec<_>>(),
        })
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
        if let Some(e) = &self.list_error {
            out.push_str(&format!("\nexecutions could not be listed: {e}\n"));
        }
        out.push_str(&format!("\nopen executions: {}\n", self.open.len()));
        if !self.open.is_empty() {
            let rows: Vec<Vec<String>> = self
                .open
                .iter()
                .map(|(id, w, v, age)| vec![id.clone(), w.clone(), v.clone(), human(*age)])
                .collect();
            out.push_str(&table(
                &["WORKFLOW ID", "WORKFLOW", "VERSION", "AGE"],
                &rows,
            ));
            out.push('\n');
        }
        if self.open_unheld > 0 {
            out.push_str(&format!(
                "{} open execution(s) of a workflow version the definitions here do not hold: \
                 they wait for a decider that holds it (keep the old version's file in workflows/ \
                 until they close)\n",
                self.open_unheld
            ));
        }
        if !self.left.is_empty() {
            out.push_str("\ndecision tasks left for a decider of another version:\n");
            let rows: Vec<Vec<String>> = self
                .left
                .iter()
                .map(|(role, t, n)| vec![role.clone(), t.clone(), n.to_string()])
                .collect();
            out.push_str(&table(&["ROLE", "WORKFLOW TYPE", "LEFT"], &rows));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn left_counters_are_read_from_a_metrics_page() {
        let page = "# TYPE pressbot_decision_tasks_left_total counter\n\
                    pressbot_decision_tasks_left_total{workflow_type=\"Ping@1\"} 3\n\
                    pressbot_decision_tasks_total 7\n\
                    pressbot_decision_tasks_left_total{workflow_type=\"IngestArticleZip@2\"} 1\n";
        assert_eq!(
            decision_tasks_left(page),
            [
                ("Ping@1".to_owned(), 3),
                ("IngestArticleZip@2".to_owned(), 1)
            ]
        );
        let s = Status {
            left: vec![("decider".into(), "Ping@1".into(), 3)],
            open_unheld: 1,
            ..Status::default()
        };
        let text = s.render();
        assert!(text.contains("Ping@1"), "{text}");
        assert!(text.contains("do not hold"), "{text}");
    }

    /// `status --check` exits 1 for what is wrong, 2 for what could not be
    /// looked at, and "wrong" wins over "could not look".
    #[test]
    fn verdicts_and_their_exit_codes() {
        let ok = || Ok(QueueDepth::default());
        let mut s = Status {
            health: vec![("decider".into(), "ok".into())],
            queues: vec![("q".into(), ok())],
            ..Status::default()
        };
        assert_eq!(s.verdict().exit_code(), 0);
        s.queues.push(("q-dlq".into(), Err("unreachable".into())));
        assert_eq!(s.verdict(), Health::Unknown);
        assert_eq!(s.verdict().exit_code(), 2);
        s.health
            .push(("worker".into(), "unreachable: refused".into()));
        assert_eq!(s.verdict(), Health::Unhealthy);
        assert_eq!(s.verdict().exit_code(), 1);
        let v = s.to_json();
        assert_eq!(v["verdict"], "unhealthy");
        assert_eq!(v["roles"][1]["ok"], false);
        assert_eq!(v["queues"][1]["error"], "unreachable");
    }
}
