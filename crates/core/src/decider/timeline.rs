//! The history as a timeline, for `pressbot history`.
//!
//! It reads the same parsed history as [`super::decide`], so the operator
//! sees attempts, retry waits and failures exactly as the decider counts
//! them (which step an activity belongs to, which timer waits for which
//! attempt) rather than a second interpretation of the events.

use super::ids::{parse_step_ref, parse_timer_id};
use super::parsed::{Parsed, TimerState};
use crate::definition::WorkflowDefinition;
use crate::history::{EventKind, HistoryEvent};
use crate::time::Timestamp;
use std::time::Duration;

/// One line of `pressbot history`: an activity attempt, a retry wait, or the
/// workflow itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineRow {
    /// Step id; `"workflow"` for the workflow row; the timer id for a timer
    /// the decider did not name.
    pub step: String,
    /// Attempt number (for a retry wait: the attempt it waits for).
    pub attempt: Option<u32>,
    /// `max_attempts` of the step, when the definition is known.
    pub max_attempts: Option<u32>,
    /// Activity type name (`None` for timers and the workflow row).
    pub activity: Option<String>,
    /// Scheduled (activity), timer started, or workflow started.
    pub scheduled: Option<Timestamp>,
    /// Picked up by a worker.
    pub started: Option<Timestamp>,
    /// Closed, fired, or workflow closed.
    pub closed: Option<Timestamp>,
    /// From started (else scheduled) to closed.
    pub duration: Option<Duration>,
    /// When the row began, for a two-column display: `scheduled`, else the
    /// time of the event that makes the row (a schedule or timer failure).
    pub start: Option<Timestamp>,
    /// When the row ended: same as `closed`.
    pub end: Option<Timestamp>,
    /// `completed`, `failed (retryable): msg`, `timed out START_TO_CLOSE`,
    /// `canceled`, `running`, `retry wait 10s`, ...
    pub outcome: String,
}

/// The history as rows, in the order things began.
pub fn timeline(def: Option<&WorkflowDefinition>, events: &[HistoryEvent]) -> Vec<TimelineRow> {
    let h = Parsed::parse(events);
    let max_of = |step: &str| def.and_then(|d| d.step(step)).map(|s| s.retry.max_attempts);
    let mut rows: Vec<(i64, TimelineRow)> = Vec::new();
    for a in &h.attempts {
        let (step, attempt) = match &a.step {
            Some((s, n)) => (s.to_string(), Some(*n)),
            None => (a.activity_id.to_owned(), None),
        };
        let (closed, outcome) = match &a.outcome {
            Some((_, ts, o)) => (Some(*ts), o.timeline_text()),
            None if a.cancel_requested => (None, "cancel requested".to_owned()),
            None if a.started_at.is_some() => (None, "running".to_owned()),
            None => (None, "scheduled".to_owned()),
        };
        let from = a.started_at.unwrap_or(a.scheduled_at);
        rows.push((
            a.scheduled_id,
            TimelineRow {
                max_attempts: max_of(&step),
                step,
                attempt,
                activity: Some(a.activity_type.name.clone()),
                scheduled: Some(a.scheduled_at),
                started: a.started_at,
                closed,
                duration: closed.map(|c| c.since(from)),
                outcome,
                start: None,
                end: None,
            },
        ));
    }
    for sf in &h.schedule_failures {
        let (step, attempt) = match parse_step_ref(None, sf.activity_id) {
            Some((s, n)) => (s, Some(n)),
            None => (sf.activity_id.to_owned(), None),
        };
        rows.push((
            sf.event_id,
            TimelineRow {
                max_attempts: max_of(&step),
                step,
                attempt,
                activity: Some(sf.activity_type.name.clone()),
                scheduled: None,
                started: None,
                closed: Some(sf.at),
                duration: None,
                outcome: format!("schedule failed: {}", sf.cause),
                start: None,
                end: None,
            },
        ));
    }
    for t in &h.timers {
        let (step, attempt) = match parse_timer_id(t.timer_id) {
            Some((s, n)) => (s, Some(n)),
            None => (t.timer_id.to_owned(), None),
        };
        let wait = humantime::format_duration(t.start_to_fire);
        let (closed, outcome) = match t.state {
            TimerState::Running => (None, format!("retry wait {wait} (pending)")),
            TimerState::Fired(ts) => (Some(ts), format!("retry wait {wait}")),
            TimerState::Canceled(ts) => (Some(ts), format!("retry wait {wait} (canceled)")),
        };
        rows.push((
            t.started_id,
            TimelineRow {
                max_attempts: max_of(&step),
                step,
                attempt,
                activity: None,
                scheduled: Some(t.started_at),
                started: None,
                closed,
                duration: closed.map(|c| c.since(t.started_at)),
                outcome,
                start: None,
                end: None,
            },
        ));
    }
    for tf in &h.timer_failures {
        let (step, attempt) = match parse_timer_id(tf.timer_id) {
            Some((s, n)) => (s, Some(n)),
            None => (tf.timer_id.to_owned(), None),
        };
        rows.push((
            tf.event_id,
            TimelineRow {
                max_attempts: max_of(&step),
                step,
                attempt,
                activity: None,
                scheduled: None,
                started: None,
                closed: Some(tf.at),
                duration: None,
                outcome: format!("retry timer failed: {}", tf.cause),
                start: None,
                end: None,
            },
        ));
    }
    if let Some(start) = &h.start {
        let (closed, outcome) = match &h.close {
            Some((ts, kind)) => (Some(*ts), close_text(kind)),
            None if h.cancel_requested.is_some() => (None, "running (cancel requested)".to_owned()),
            None => (None, "running".to_owned()),
        };
        rows.push((
            i64::MAX,
            TimelineRow {
                step: "workflow".into(),
                attempt: None,
                max_attempts: None,
                activity: None,
                scheduled: Some(start.at),
                started: None,
                closed,
                duration: closed.map(|c| c.since(start.at)),
                outcome,
                start: None,
                end: None,
            },
        ));
    }
    rows.sort_by_key(|(id, _)| *id);
    rows.into_iter()
        .map(|(_, mut r)| {
            r.start = r.scheduled.or(r.started).or(r.closed);
            r.end = r.closed;
            r
        })
        .collect()
}

fn close_text(kind: &EventKind) -> String {
    match kind {
        EventKind::WorkflowExecutionCompleted { .. } => "completed".into(),
        EventKind::WorkflowExecutionFailed { reason, .. } => {
            format!("failed: {}", reason.as_deref().unwrap_or("(no reason)"))
        }
        EventKind::WorkflowExecutionCanceled { details } => match details {
            Some(d) if !d.is_empty() => format!("canceled: {d}"),
            _ => "canceled".into(),
        },
        EventKind::WorkflowExecutionTimedOut => "timed out".into(),
        EventKind::WorkflowExecutionTerminated { reason } => match reason {
            Some(r) if !r.is_empty() => format!("terminated: {r}"),
            _ => "terminated".into(),
        },
        other => other.name().to_owned(),
    }
}
