//! The history folded into per-attempt and per-timer records.
//!
//! Both [`super::decide`] and [`super::timeline()`] start here: one pass over
//! the events, borrowing every string from them, yields each activity
//! attempt with its step, start and outcome, each retry timer with its
//! state, the schedule and timer failures, the cancel request and the close
//! event. Everything the decider concludes is derived from these records.

use super::ids::{parse_timer_id, step_ref};
use crate::activity::{ActivityFailure, FailureKind};
use crate::causes::TIMER_ID_ALREADY_IN_USE;
use crate::history::{ActivityTimeoutType, Decision, EventKind, HistoryEvent};
use crate::ids::TypeRef;
use crate::time::Timestamp;
use rustc_hash::FxHashMap as HashMap;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

#[derive(Debug)]
pub(super) struct StartRec<'a> {
    pub(super) input: Option<&'a str>,
    pub(super) at: Timestamp,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Outcome<'a> {
    Completed(Option<&'a str>),
    /// Kept as the event's text: decoding an `ActivityFailure` allocates,
    /// and only fail reasons and timelines need it.
    Failed {
        reason: Option<&'a str>,
        details: Option<&'a str>,
    },
    TimedOut(ActivityTimeoutType),
    Canceled(Option<&'a str>),
}

impl Outcome<'_> {
    /// For fail reasons: `retryable: CMS answered 503`, `timed out START_TO_CLOSE`.
    pub(super) fn describe(&self) -> String {
        match self {
            Outcome::Completed(_) => "completed".into(),
            Outcome::Failed { reason, details } => {
                ActivityFailure::from_event(*reason, *details).to_string()
            }
            Outcome::TimedOut(t) => format!("timed out {}", t.as_str()),
            Outcome::Canceled(Some(d)) if !d.is_empty() => format!("canceled: {d}"),
            Outcome::Canceled(_) => "canceled".into(),
        }
    }

    pub(super) fn timeline_text(&self) -> String {
        match self {
            Outcome::Failed { reason, details } => {
                let f = ActivityFailure::from_event(*reason, *details);
                format!("failed ({}): {}", f.kind.as_str(), f.message)
            }
            other => other.describe(),
        }
    }
}

/// The kind [`ActivityFailure::from_event`] gives a failure with this
/// reason, without building the failure.
pub(super) fn failure_kind(reason: Option<&str>) -> FailureKind {
    if reason.unwrap_or("").starts_with("permanent") {
        FailureKind::Permanent
    } else {
        FailureKind::Retryable
    }
}

#[derive(Debug)]
pub(super) struct AttemptRec<'a> {
    pub(super) scheduled_id: i64,
    pub(super) scheduled_at: Timestamp,
    pub(super) activity_id: &'a str,
    pub(super) activity_type: &'a TypeRef,
    pub(super) control: Option<&'a str>,
    pub(super) step: Option<(Cow<'a, str>, u32)>,
    pub(super) started_at: Option<Timestamp>,
    pub(super) cancel_requested: bool,
    /// Closing event id, its time, and how it closed.
    pub(super) outcome: Option<(i64, Timestamp, Outcome<'a>)>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum TimerState {
    Running,
    Fired(Timestamp),
    Canceled(Timestamp),
}

#[derive(Debug)]
pub(super) struct TimerRec<'a> {
    pub(super) timer_id: &'a str,
    pub(super) started_id: i64,
    pub(super) started_at: Timestamp,
    pub(super) start_to_fire: Duration,
    pub(super) state: TimerState,
}

#[derive(Debug)]
pub(super) struct ScheduleFailure<'a> {
    pub(super) event_id: i64,
    pub(super) at: Timestamp,
    pub(super) activity_id: &'a str,
    pub(super) activity_type: &'a TypeRef,
    pub(super) cause: &'a str,
}

#[derive(Debug)]
pub(super) struct TimerFailure<'a> {
    pub(super) event_id: i64,
    pub(super) at: Timestamp,
    pub(super) timer_id: &'a str,
    pub(super) cause: &'a str,
}

/// The history folded into per-activity and per-timer records, borrowing
/// every string from the events.
#[derive(Debug, Default)]
pub(super) struct Parsed<'a> {
    pub(super) start: Option<StartRec<'a>>,
    pub(super) attempts: Vec<AttemptRec<'a>>,
    pub(super) timers: Vec<TimerRec<'a>>,
    pub(super) schedule_failures: Vec<ScheduleFailure<'a>>,
    pub(super) timer_failures: Vec<TimerFailure<'a>>,
    /// `Some(cause)` once a cancel was requested.
    pub(super) cancel_requested: Option<Option<&'a str>>,
    pub(super) close: Option<(Timestamp, &'a EventKind)>,
}

/// Scheduled event id → index into `Parsed::attempts`. Event ids are dense
/// from 1, so a vector indexed by id does what a hash map would at a
/// fraction of the cost; ids outside `1..=events.len()` (not produced by
/// SWF, but the decider must not trust that) go to a map.
struct BySched {
    dense: Vec<u32>,
    other: HashMap<i64, usize>,
}

impl BySched {
    const NONE: u32 = u32::MAX;

    fn new(events: usize) -> Self {
        BySched {
            dense: vec![Self::NONE; events],
            other: HashMap::default(),
        }
    }

    fn slot(&self, id: i64) -> Option<usize> {
        usize::try_from(id)
            .ok()
            .and_then(|i| i.checked_sub(1))
            .filter(|&i| i < self.dense.len())
    }

    fn insert(&mut self, id: i64, attempt: usize) {
        match (self.slot(id), u32::try_from(attempt)) {
            (Some(i), Ok(a)) if a != Self::NONE => self.dense[i] = a,
            _ => {
                // Keep one answer per id: the latest, wherever it is kept.
                if let Some(i) = self.slot(id) {
                    self.dense[i] = Self::NONE;
                }
                self.other.insert(id, attempt);
                return;
            }
        }
        if !self.other.is_empty() {
            self.other.remove(&id);
        }
    }

    fn get(&self, id: i64) -> Option<usize> {
        if let Some(i) = self.slot(id) {
            if self.dense[i] != Self::NONE {
                return Some(self.dense[i] as usize);
            }
        }
        self.other.get(&id).copied()
    }
}

impl<'a> Parsed<'a> {
    pub(super) fn parse(events: &'a [HistoryEvent]) -> Parsed<'a> {
        let mut p = Parsed {
            attempts: Vec::with_capacity(
                events
                    .iter()
                    .filter(|e| matches!(e.kind, EventKind::ActivityTaskScheduled { .. }))
                    .count(),
            ),
            ..Parsed::default()
        };
        let mut by_sched = BySched::new(events.len());
        // Cancel requests name an activity id; resolved after the loop (they
        // are rare, and indexing every attempt by id for them cost a hash
        // per attempt): (attempts scheduled before it, activity id).
        let mut cancel_requests: Vec<(usize, &'a str)> = Vec::new();
        let mut open_timer: BTreeMap<&'a str, usize> = BTreeMap::new();
        for e in events {
            match &e.kind {
                EventKind::WorkflowExecutionStarted { input, .. } if p.start.is_none() => {
                    p.start = Some(StartRec {
                        input: input.as_deref(),
                        at: e.timestamp,
                    });
                }
                EventKind::WorkflowExecutionCancelRequested { cause } => {
                    p.cancel_requested = Some(cause.as_deref());
                }
                EventKind::ActivityTaskScheduled {
                    activity_id,
                    activity_type,
                    control,
                    ..
                } => {
                    by_sched.insert(e.id, p.attempts.len());
                    p.attempts.push(AttemptRec {
                        scheduled_id: e.id,
                        scheduled_at: e.timestamp,
                        activity_id,
                        activity_type,
                        control: control.as_deref(),
                        step: step_ref(control.as_deref(), activity_id),
                        started_at: None,
                        cancel_requested: false,
                        outcome: None,
                    });
                }
                EventKind::ScheduleActivityTaskFailed {
                    activity_id,
                    activity_type,
                    cause,
                } => p.schedule_failures.push(ScheduleFailure {
                    event_id: e.id,
                    at: e.timestamp,
                    activity_id,
                    activity_type,
                    cause,
                }),
                EventKind::ActivityTaskStarted {
                    scheduled_event_id, ..
                } => {
                    if let Some(i) = by_sched.get(*scheduled_event_id) {
                        p.attempts[i].started_at = Some(e.timestamp);
                    }
                }
                EventKind::ActivityTaskCancelRequested { activity_id } => {
                    cancel_requests.push((p.attempts.len(), activity_id));
                }
                EventKind::ActivityTaskCompleted {
                    scheduled_event_id,
                    result,
                    ..
                } => p.close_attempt(
                    &by_sched,
                    *scheduled_event_id,
                    e,
                    Outcome::Completed(result.as_deref()),
                ),
                EventKind::ActivityTaskFailed {
                    scheduled_event_id,
                    reason,
                    details,
                    ..
                } => p.close_attempt(
                    &by_sched,
                    *scheduled_event_id,
                    e,
                    Outcome::Failed {
                        reason: reason.as_deref(),
                        details: details.as_deref(),
                    },
                ),
                EventKind::ActivityTaskTimedOut {
                    scheduled_event_id,
                    timeout_type,
                    ..
                } => p.close_attempt(
                    &by_sched,
                    *scheduled_event_id,
                    e,
                    Outcome::TimedOut(*timeout_type),
                ),
                EventKind::ActivityTaskCanceled {
                    scheduled_event_id,
                    details,
                    ..
                } => p.close_attempt(
                    &by_sched,
                    *scheduled_event_id,
                    e,
                    Outcome::Canceled(details.as_deref()),
                ),
                EventKind::TimerStarted {
                    timer_id,
                    start_to_fire,
                    ..
                } => {
                    let rec = TimerRec {
                        timer_id,
                        started_id: e.id,
                        started_at: e.timestamp,
                        start_to_fire: *start_to_fire,
                        state: TimerState::Running,
                    };
                    match open_timer.get(timer_id.as_str()) {
                        // Already known as running (from a TIMER_ID_ALREADY_IN_USE
                        // below, recorded before its TimerStarted): one timer, not two.
                        Some(&i) => p.timers[i] = rec,
                        None => {
                            open_timer.insert(timer_id, p.timers.len());
                            p.timers.push(rec);
                        }
                    }
                }
                EventKind::TimerFired { timer_id, .. } => {
                    if let Some(i) = open_timer.remove(timer_id.as_str()) {
                        p.timers[i].state = TimerState::Fired(e.timestamp);
                    }
                }
                EventKind::TimerCanceled { timer_id, .. } => {
                    if let Some(i) = open_timer.remove(timer_id.as_str()) {
                        p.timers[i].state = TimerState::Canceled(e.timestamp);
                    }
                }
                // Our own retry timer is already running: the decision that
                // started it is in a part of the history this decider saw
                // late (moto records one decision's events with others in
                // between). Waiting on it is exactly what the decider wants,
                // so this is not a failure.
                EventKind::StartTimerFailed { timer_id, cause }
                    if cause == TIMER_ID_ALREADY_IN_USE && parse_timer_id(timer_id).is_some() =>
                {
                    let next = p.timers.len();
                    if let std::collections::btree_map::Entry::Vacant(slot) =
                        open_timer.entry(timer_id.as_str())
                    {
                        slot.insert(next);
                        p.timers.push(TimerRec {
                            timer_id,
                            started_id: e.id,
                            started_at: e.timestamp,
                            start_to_fire: Duration::ZERO,
                            state: TimerState::Running,
                        });
                    }
                }
                EventKind::StartTimerFailed { timer_id, cause } => {
                    p.timer_failures.push(TimerFailure {
                        event_id: e.id,
                        at: e.timestamp,
                        timer_id,
                        cause,
                    })
                }
                kind if kind.is_close() && p.close.is_none() => {
                    p.close = Some((e.timestamp, kind));
                }
                // Decision task bookkeeping, signals, rejected close
                // decisions (decide again from the full history), and
                // events pressbot does not act on.
                _ => {}
            }
        }
        if !cancel_requests.is_empty() {
            p.resolve_cancel_requests(&cancel_requests);
        }
        p
    }

    /// Mark each requested cancel on the latest attempt with that activity
    /// id scheduled before the request.
    fn resolve_cancel_requests(&mut self, requests: &[(usize, &str)]) {
        let mut by_id: HashMap<&str, Vec<usize>> = HashMap::default();
        for (i, a) in self.attempts.iter().enumerate() {
            by_id.entry(a.activity_id).or_default().push(i);
        }
        for &(before, id) in requests {
            let Some(list) = by_id.get(id) else { continue };
            let n = list.partition_point(|&i| i < before);
            if n > 0 {
                self.attempts[list[n - 1]].cancel_requested = true;
            }
        }
    }

    fn close_attempt(&mut self, by_sched: &BySched, sched: i64, e: &HistoryEvent, o: Outcome<'a>) {
        if let Some(i) = by_sched.get(sched) {
            if self.attempts[i].outcome.is_none() {
                self.attempts[i].outcome = Some((e.id, e.timestamp, o));
            }
        }
    }

    pub(super) fn timer(&self, timer_id: &str) -> Option<&TimerRec<'a>> {
        self.timers.iter().rev().find(|t| t.timer_id == timer_id)
    }

    /// `RequestCancelActivityTask` for every open attempt not yet asked to
    /// stop, so workers stop work the workflow no longer wants.
    pub(super) fn cancel_open_activities(&self) -> Vec<Decision> {
        let mut seen = BTreeSet::new();
        self.attempts
            .iter()
            .filter(|a| a.outcome.is_none() && !a.cancel_requested)
            .filter(|a| seen.insert(a.activity_id))
            .map(|a| Decision::RequestCancelActivityTask {
                activity_id: a.activity_id.to_owned(),
            })
            .collect()
    }
}
