//! What the closed workflows' histories say: task counts, failures and the
//! latencies between steps, taken from the histories' own timestamps.

use anyhow::Result;
use pressbot_core::backend::{Backend, ExecutionInfo};
use pressbot_core::history::{EventKind, HistoryEvent};
use pressbot_core::time::Timestamp;

/// What the histories say: decision and activity task counts, and the
/// latency from each activity completion to the next activity scheduled.
#[derive(Debug, Default)]
pub(crate) struct HistoryStats {
    pub(crate) decision_tasks: u64,
    pub(crate) activity_tasks: u64,
    pub(crate) completed_workflows: u64,
    /// The first failure reason seen, to say why a run went wrong.
    pub(crate) first_failure: Option<String>,
    pub(crate) completion_to_next_ms: Vec<f64>,
    /// Per workflow: (wall ms, ms inside activities, union of intervals).
    pub(crate) wall_ms: Vec<f64>,
    pub(crate) in_activity_ms: Vec<f64>,
    pub(crate) activity_ms: std::collections::BTreeMap<String, Vec<f64>>,
}

impl HistoryStats {
    fn add(&mut self, events: &[HistoryEvent]) {
        let mut started_at = std::collections::HashMap::new();
        let mut types = std::collections::HashMap::new();
        let mut intervals: Vec<(i64, i64)> = Vec::new();
        let mut pending_completion: Option<Timestamp> = None;
        for e in events {
            match &e.kind {
                EventKind::DecisionTaskCompleted { .. } => self.decision_tasks += 1,
                EventKind::ActivityTaskScheduled { activity_type, .. } => {
                    types.insert(e.id, activity_type.name.clone());
                    if let Some(c) = pending_completion.take() {
                        self.completion_to_next_ms
                            .push(e.timestamp.since(c).as_secs_f64() * 1000.0);
                    }
                }
                EventKind::ActivityTaskStarted {
                    scheduled_event_id, ..
                } => {
                    started_at.insert(*scheduled_event_id, e.timestamp);
                }
                EventKind::ActivityTaskCompleted {
                    scheduled_event_id, ..
                }
                | EventKind::ActivityTaskFailed {
                    scheduled_event_id, ..
                } => {
                    self.activity_tasks += 1;
                    pending_completion = Some(e.timestamp);
                    if let Some(s) = started_at.get(scheduled_event_id) {
                        intervals.push((s.millis(), e.timestamp.millis()));
                        if let Some(t) = types.get(scheduled_event_id) {
                            self.activity_ms
                                .entry(t.clone())
                                .or_default()
                                .push((e.timestamp.millis() - s.millis()) as f64);
                        }
                    }
                }
                EventKind::WorkflowExecutionCompleted { .. } => self.completed_workflows += 1,
                EventKind::WorkflowExecutionFailed { reason, .. }
                    if self.first_failure.is_none() =>
                {
                    self.first_failure = Some(reason.clone().unwrap_or_default());
                }
                _ => {}
            }
        }
        if let (Some(first), Some(last)) = (events.first(), events.last()) {
            self.wall_ms
                .push((last.timestamp.millis() - first.timestamp.millis()) as f64);
            intervals.sort();
            let mut inside = 0;
            let mut cur: Option<(i64, i64)> = None;
            for (s, e) in intervals {
                match &mut cur {
                    Some((_, ce)) if s <= *ce => *ce = (*ce).max(e),
                    _ => {
                        if let Some((cs, ce)) = cur {
                            inside += ce - cs;
                        }
                        cur = Some((s, e));
                    }
                }
            }
            if let Some((cs, ce)) = cur {
                inside += ce - cs;
            }
            self.in_activity_ms.push(inside as f64);
        }
    }
}

pub(crate) async fn stats_of(backend: &Backend, closed: &[ExecutionInfo]) -> Result<HistoryStats> {
    let mut stats = HistoryStats::default();
    for c in closed {
        stats.add(&backend.workflows.history(&c.execution).await?);
    }
    Ok(stats)
}
