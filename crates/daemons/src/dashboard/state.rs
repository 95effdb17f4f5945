//! What the dashboard shows, gathered through the backend traits (so it
//! works on both backends): the JSON of `/api/state`, and what the page
//! renders.

use super::store::Store;
use crate::app::Loaded;
use pressbot_core::backend::{
    dead_letter_queue_name, Backend, CloseStatus, ExecutionFilter, ExecutionInfo,
};
use pressbot_core::time::Timestamp;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Mutex;

/// Workflows listed per section at most, newest first: each costs a
/// history read, and a page of thousands helps nobody.
pub const MAX_WORKFLOWS: usize = 50;

#[derive(Debug, Clone, Serialize)]
pub struct State {
    pub generated: String,
    pub open: Vec<WorkflowView>,
    pub failed: Vec<WorkflowView>,
    pub closed: Vec<WorkflowView>,
    pub articles: Vec<ArticleView>,
    pub queues: Vec<QueueView>,
    /// Problems met while gathering (a backend call that failed): shown,
    /// never hidden behind an empty list.
    pub errors: Vec<String>,
    /// Whether this dashboard consumes the event-monitor queue, or waits
    /// (read-only) while another does.
    pub consumer: super::consumer::ConsumerRole,
}

#[derive(Debug, Clone, Serialize)]
pub struct WorkflowView {
    pub workflow_id: String,
    pub run_id: String,
    pub workflow: String,
    pub version: String,
    pub started: String,
    pub closed: Option<String>,
    /// `open`, or the close status in lower case (`completed`, `failed`, ...).
    pub status: String,
    pub steps: Vec<StepView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StepView {
    pub step: String,
    pub attempt: Option<u32>,
    pub start: Option<String>,
    pub end: Option<String>,
    pub duration: Option<String>,
    pub outcome: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ArticleView {
    pub id: String,
    pub version: String,
    pub publication_status: Option<String>,
    /// The last event: step, status, time, message.
    pub last_step: Option<String>,
    pub last_status: Option<String>,
    pub last_time: Option<String>,
    pub last_message: Option<String>,
    /// The page of this version on the embedded CMS, when it runs.
    pub page: Option<String>,
    pub updated: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct QueueView {
    pub name: String,
    pub dead_letter: bool,
    /// Approximate, as the queue reports it.
    pub visible: Option<u64>,
    pub in_flight: Option<u64>,
    pub delayed: Option<u64>,
    pub error: Option<String>,
}

/// What the server keeps between two requests: timelines of closed
/// executions (which never change: read once) and the article records.
#[derive(Debug, Default)]
pub struct TimelineCache {
    closed: Mutex<HashMap<(String, String), Vec<StepView>>>,
    pub records: super::store::RecordCache,
}

/// Gather the state now.
pub async fn gather(
    loaded: &Loaded,
    backend: &Backend,
    store: &Store,
    cache: &TimelineCache,
) -> State {
    let settings = &loaded.settings;
    let mut errors = Vec::new();
    let now = Timestamp::now();
    let since = Timestamp(now.millis() - settings.dashboard.recent.as_millis() as i64);

    let mut open = Vec::new();
    let mut failed = Vec::new();
    let mut closed = Vec::new();
    for is_open in [true, false] {
        let filter = ExecutionFilter {
            open: is_open,
            started_after: (!is_open).then_some(since),
            ..Default::default()
        };
        match backend.workflows.list_executions(&filter).await {
            Ok(mut infos) => {
                infos.sort_by_key(|i| std::cmp::Reverse(i.closed.unwrap_or(i.started)));
                for info in infos {
                    let into = match info.close_status {
                        None => &mut open,
                        Some(CloseStatus::Completed) => &mut closed,
                        Some(_) => &mut failed,
                    };
                    if into.len() < MAX_WORKFLOWS {
                        into.push(workflow_view(loaded, backend, cache, &info, &mut errors).await);
                    }
                }
            }
            Err(e) => errors.push(format!(
                "listing {} executions: {e}",
                if is_open { "open" } else { "closed" }
            )),
        }
    }

    let page_base = (settings.cms.embedded && settings.cms.base_url.is_none())
        .then(|| format!("http://{}", settings.cms.embedded_listen));
    let mut articles = Vec::new();
    match store.all(&cache.records).await {
        Ok(records) => {
            for r in records {
                for (version, v) in &r.versions {
                    let last = v.events.last();
                    // Events before VersionLookup carry the workflow id, not
                    // the article's: a workflow that got past it goes on under
                    // the article (and is listed with the workflows), so such
                    // a row is worth showing only when it ended in an error.
                    if version.is_empty()
                        && last
                            .is_none_or(|e| e.status != pressbot_core::messages::EventStatus::Error)
                    {
                        continue;
                    }
                    articles.push(ArticleView {
                        id: r.id.clone(),
                        version: version.clone(),
                        publication_status: v.publication_status().map(str::to_owned),
                        last_step: last.map(|e| e.step.clone()),
                        last_status: last.map(|e| format!("{:?}", e.status).to_lowercase()),
                        last_time: last.map(|e| e.timestamp.clone()),
                        last_message: last.map(|e| e.message.clone()),
                        page: page_base
                            .as_ref()
                            .filter(|_| !version.is_empty())
                            .map(|b| format!("{b}/articles/{}/v{version}", r.id)),
                        updated: r.updated.clone(),
                    });
                }
            }
        }
        Err(e) => errors.push(format!("reading the dashboard records: {e}")),
    }
    articles.sort_by(|a, b| {
        b.updated
            .cmp(&a.updated)
            .then(a.id.cmp(&b.id))
            .then(a.version.cmp(&b.version))
    });

    let mut queues = Vec::new();
    for q in settings.all_queues() {
        for (name, dead_letter) in [(dead_letter_queue_name(&q), true), (q.clone(), false)] {
            let view = match backend.queues.depth(&name).await {
                Ok(d) => QueueView {
                    name: name.clone(),
                    dead_letter,
                    visible: Some(d.visible),
                    in_flight: Some(d.in_flight),
                    delayed: Some(d.delayed),
                    error: None,
                },
                Err(e) => QueueView {
                    name: name.clone(),
                    dead_letter,
                    visible: None,
                    in_flight: None,
                    delayed: None,
                    error: Some(e.to_string()),
                },
            };
            queues.push(view);
        }
    }
    queues.sort_by_key(|q| q.dead_letter);

    State {
        generated: now.to_string(),
        open,
        failed,
        closed,
        articles,
        queues,
        errors,
        consumer: super::consumer::ConsumerRole::Starting,
    }
}

async fn workflow_view(
    loaded: &Loaded,
    backend: &Backend,
    cache: &TimelineCache,
    info: &ExecutionInfo,
    errors: &mut Vec<String>,
) -> WorkflowView {
    let key = (
        info.execution.workflow_id.to_string(),
        info.execution.run_id.to_string(),
    );
    let cached = info
        .close_status
        .and_then(|_| cache.closed.lock().ok()?.get(&key).cloned());
    let steps = match cached {
        Some(steps) => steps,
        None => match backend.workflows.history(&info.execution).await {
            Ok(events) => {
                let (_, rows) = crate::history::timeline(&loaded.definitions, &events);
                let steps: Vec<StepView> = rows
                    .into_iter()
                    .map(|r| StepView {
                        step: r.step,
                        attempt: r.attempt,
                        start: r.start.map(|t| t.to_string()),
                        end: r.end.map(|t| t.to_string()),
                        duration: r.duration.map(crate::format::human),
                        outcome: r.outcome,
                    })
                    .collect();
                if info.close_status.is_some() {
                    if let Ok(mut c) = cache.closed.lock() {
                        // Bounded: the listed closed executions are at most
                        // 2 × MAX_WORKFLOWS; drop all when far past that.
                        if c.len() > 8 * MAX_WORKFLOWS {
                            c.clear();
                        }
                        c.insert(key.clone(), steps.clone());
                    }
                }
                steps
            }
            Err(e) => {
                errors.push(format!("history of {}: {e}", key.0));
                Vec::new()
            }
        },
    };
    WorkflowView {
        workflow_id: key.0,
        run_id: key.1,
        workflow: info.workflow_type.name.clone(),
        version: info.workflow_type.version.to_string(),
        started: info.started.to_string(),
        closed: info.closed.map(|t| t.to_string()),
        status: info
            .close_status
            .map(|s| s.as_str().to_lowercase())
            .unwrap_or_else(|| "open".into()),
        steps,
    }
}
