//! The decider: a pure function from (workflow definition, history) to decisions.
//!
//! Everything is derived from the *full* history on every decision task,
//! never from the last event alone: a decision task may carry several new
//! events at once (two parallel completions, a completion and a cancel
//! request), a previous response may have been rejected
//! (`CompleteWorkflowExecutionFailed`), and the history is the only state
//! pressbot keeps. Deciding the same history twice therefore gives the same
//! decisions, which is what makes the decider testable without a service
//! (see `tests/decider_table.rs` and `tests/decider_props.rs`).
//!
//! Conventions the decider relies on (and [`crate::testing::HistoryBuilder`]
//! reproduces):
//! - an activity attempt has id `"{step}#{attempt}"` and control
//!   `{"step": .., "attempt": ..}`;
//! - the wait before attempt `n` is an SWF timer `"retry:{step}#{n}"`;
//! - the workflow context is the start input (a JSON object) with every
//!   completed activity's result (a JSON object) shallow-merged in history
//!   order.
//!
//! Semantics worth knowing:
//! - A step's `when` is evaluated against the context its group was
//!   entered with (start input plus the results of earlier groups), not the
//!   latest one, so a parallel sibling finishing first cannot change whether
//!   a step runs, and re-deciding later gives the same answer. A step that
//!   already has attempts in the history is never considered skipped.
//! - An attempt's input carries the context as of its scheduling: a retry
//!   in a parallel group sees the outputs of siblings that completed
//!   meanwhile.
//! - Retryable outcomes are a retryable `ActivityTaskFailed` (or one without
//!   pressbot's prefix), any of the four timeouts, and `ActivityTaskCanceled`.
//!   A permanent failure, exhausted attempts, `ScheduleActivityTaskFailed`,
//!   `StartTimerFailed`, a result that is not a JSON object, or a step the
//!   definition does not know fail the workflow; the earliest such event in
//!   the history names the reason. Before failing (or cancelling), open
//!   activities are asked to stop with `RequestCancelActivityTask`.
//! - A cancel request wins over everything but an already closed history.
//! - The completion result is the context, kept valid JSON within SWF's
//!   limit by [`result_json`].

use crate::activity::{ActivityFailure, FailureKind};
use crate::definition::{Step, WorkflowDefinition};
use crate::history::{limits, truncate, ActivityTimeoutType, Decision, EventKind, HistoryEvent};
use crate::ids::{TypeRef, WorkflowId};
use crate::time::Timestamp;
use rustc_hash::FxHashMap as HashMap;
use serde_json::{json, Map, Value};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// What the decider wants done, plus what it saw, for logs.
#[derive(Debug, Clone, PartialEq)]
pub struct Decisions {
    /// The decisions to send with `RespondDecisionTaskCompleted`, in order;
    /// a close decision, if any, is last. Empty means "nothing to do until
    /// the next event" (activities running, a retry timer pending, or the
    /// execution already closed).
    pub decisions: Vec<Decision>,
    /// The workflow context as derived from the history (start input merged
    /// with every completed result); `None` when it could not be derived
    /// (malformed start input, no start event, closed execution).
    pub context: Option<Value>,
    /// One human line describing the state, e.g. `"waiting: ConvertJATS#1,
    /// retry timer retry:ResizeImages#2"`. Meant for logs and SWF's
    /// `executionContext`; nothing reads it back.
    pub summary: String,
}

/// Decide what to do next for an execution of `def`, given its full history.
///
/// Pure and deterministic: no clock, no randomness, no I/O.
///
/// Deciding runs on every decision task over the whole history, so it is
/// written to touch each event once and allocate little: the parsed
/// records borrow from `events`, steps and scheduled events are looked up
/// by small integer indexes, results are only *validated* while walking the
/// history (their top-level keys noted), and the context `Value` is built
/// at the end from the one text that last wrote each key. The behaviour is
/// the original, simpler implementation's, checked event for event by
/// `tests/decider_equivalence.rs`.
pub fn decide(
    def: &WorkflowDefinition,
    workflow_id: &WorkflowId,
    events: &[HistoryEvent],
) -> Decisions {
    let h = Parsed::parse(events);
    if let Some((_, kind)) = &h.close {
        return Decisions {
            decisions: Vec::new(),
            context: None,
            summary: format!("closed ({})", kind.name()),
        };
    }
    let start_input = match &h.start {
        Some(s) => s.input,
        None => {
            return fail_only(
                None,
                "history has no WorkflowExecutionStarted event".into(),
                format!(
                    "the decider was given {} events for workflow {workflow_id} without a \
                     WorkflowExecutionStarted event, so it cannot derive the workflow input",
                    events.len()
                ),
            )
        }
    };

    if let Some(cause) = &h.cancel_requested {
        let mut decisions = h.cancel_open_activities();
        let details = match cause {
            Some(c) if !c.is_empty() => format!("cancel requested: {c}"),
            _ => "cancel requested".to_owned(),
        };
        decisions.push(Decision::CancelWorkflowExecution {
            details: Some(truncate(&details, limits::DETAILS)),
        });
        return Decisions {
            decisions,
            context: None,
            summary: details,
        };
    }

    // Every JSON object text that feeds the context (the start input, then
    // each valid result), with the range of its top-level keys in `keys`.
    let completed = h
        .attempts
        .iter()
        .filter(|a| matches!(a.outcome, Some((_, _, Outcome::Completed(_)))))
        .count();
    let mut keys: Vec<Cow<'_, str>> = Vec::with_capacity(4 * (completed + 1));
    let mut sources: Vec<Source<'_>> = Vec::with_capacity(completed + 1);
    if let Err(problem) = note_object(start_input, &mut keys, &mut sources) {
        return fail_only(
            None,
            format!("malformed workflow input: {problem}"),
            format!(
                "the input of workflow {workflow_id} ({}) must be a JSON object (or empty): \
                 {problem}; input was: {}",
                def.workflow_type(),
                start_input.unwrap_or("")
            ),
        );
    }

    // Step id → flat step index, built once: looking steps up by scanning
    // the definition for every attempt made deciding quadratic in long
    // workflows. A duplicated id resolves to its first step, as
    // `WorkflowDefinition::step` does.
    let n_steps = def.groups.iter().map(Vec::len).sum();
    // (group, step, index of the first step with this id)
    let mut flat: Vec<(usize, &Step, usize)> = Vec::with_capacity(n_steps);
    let mut step_of: HashMap<&str, usize> =
        HashMap::with_capacity_and_hasher(n_steps, Default::default());
    for (g, steps) in def.groups.iter().enumerate() {
        for s in steps {
            let first = *step_of.entry(s.id.as_str()).or_insert(flat.len());
            flat.push((g, s, first));
        }
    }

    // What each step's attempts add up to, in one pass: the decider needs
    // no more than this per step (see `step_state`).
    let mut agg = vec![StepAgg::default(); flat.len()];
    let mut step_index: Vec<Option<usize>> = Vec::with_capacity(h.attempts.len());
    for a in &h.attempts {
        let idx = a
            .step
            .as_ref()
            .and_then(|(s, _)| step_of.get(s.as_ref()).copied());
        if let (Some(i), Some((_, n))) = (idx, &a.step) {
            let st = &mut agg[i];
            st.any = true;
            st.max_attempt = st.max_attempt.max(*n);
            match &a.outcome {
                None => {
                    if st.first_open.is_none() {
                        st.first_open = Some(*n);
                    }
                }
                Some((_, _, Outcome::Completed(_))) => st.done = true,
                Some(_) => {}
            }
        }
        step_index.push(idx);
    }

    // Fatal conditions, earliest in history first.
    let mut fatal: Option<(i64, String, String)> = None;
    let mut note_fatal = |event_id: i64, reason: String, details: String| {
        if fatal.as_ref().is_none_or(|(id, _, _)| event_id < *id) {
            fatal = Some((event_id, reason, details));
        }
    };
    // Valid completions: (closing event id, group, index into `sources`).
    let mut completions: Vec<(i64, usize, usize)> = Vec::with_capacity(completed);
    for (a, idx) in h.attempts.iter().zip(&step_index) {
        let Some((step_id, attempt)) = &a.step else {
            note_fatal(
                a.scheduled_id,
                format!(
                    "activity {} was not scheduled by this decider",
                    a.activity_id
                ),
                format!(
                    "ActivityTaskScheduled event {} has activity id {:?} and control {:?}; \
                     neither names a step of {} as \"step#attempt\"",
                    a.scheduled_id,
                    a.activity_id,
                    a.control,
                    def.workflow_type()
                ),
            );
            continue;
        };
        let Some(i) = *idx else {
            note_fatal(
                a.scheduled_id,
                format!(
                    "history names step {step_id}, which {} does not have",
                    def.workflow_type()
                ),
                format!(
                    "activity {} (attempt {attempt} of step {step_id:?}) is in the history but \
                     the definition {} ({}) has no such step; was the definition changed \
                     without a new version?",
                    a.activity_id,
                    def.workflow_type(),
                    def.source.display()
                ),
            );
            continue;
        };
        let (group, step, _) = flat[i];
        let Some((close_id, _, outcome)) = &a.outcome else {
            continue;
        };
        let of = step.retry.max_attempts;
        match outcome {
            Outcome::Completed(result) => match note_object(*result, &mut keys, &mut sources) {
                Ok(()) => completions.push((*close_id, group, sources.len() - 1)),
                Err(problem) => note_fatal(
                    *close_id,
                    format!(
                        "{step_id} returned a bad result on attempt {attempt} of {of}: \
                             {problem}"
                    ),
                    format!(
                        "{step_id} ({}) completed attempt {attempt} with a result that is \
                             not a JSON object: {problem}; result was: {}",
                        step.activity,
                        result.unwrap_or("")
                    ),
                ),
            },
            Outcome::Failed { reason, .. } if failure_kind(*reason) == FailureKind::Permanent => {
                let text = format!(
                    "{step_id} failed on attempt {attempt} of {of}: {}",
                    outcome.describe()
                );
                note_fatal(*close_id, text.clone(), text);
            }
            other => {
                let later = agg[i].max_attempt > *attempt;
                if *attempt >= of && !later {
                    let text = format!(
                        "{step_id} failed on attempt {attempt} of {of}: {}",
                        other.describe()
                    );
                    note_fatal(*close_id, text.clone(), format!("{text}; no attempts left"));
                }
            }
        }
    }
    for sf in &h.schedule_failures {
        let step = parse_step_ref(None, sf.activity_id);
        let (who, attempt) = match &step {
            Some((s, n)) => (s.clone(), n.to_string()),
            None => (sf.activity_id.to_owned(), "?".into()),
        };
        let text = format!(
            "{who} could not be scheduled (attempt {attempt}): {}",
            sf.cause
        );
        note_fatal(
            sf.event_id,
            text.clone(),
            format!(
                "{text}; activity id {:?}, type {}. SWF refused the ScheduleActivityTask decision",
                sf.activity_id, sf.activity_type
            ),
        );
    }
    for tf in &h.timer_failures {
        let text = match parse_timer_id(tf.timer_id) {
            Some((s, n)) => format!(
                "{s}: retry timer before attempt {n} could not be started: {}",
                tf.cause
            ),
            None => format!("timer {} could not be started: {}", tf.timer_id, tf.cause),
        };
        note_fatal(
            tf.event_id,
            text.clone(),
            format!(
                "{text}; timer id {:?}. SWF refused the StartTimer decision",
                tf.timer_id
            ),
        );
    }

    // The context: the start input with every completion's keys merged in
    // history order, each key taking its value from the last text that set
    // it. Only those values are ever turned into `Value`s.
    completions.sort_by_key(|&(id, _, _)| id);
    let mut context = KeyTable::default();
    context.merge(0, &sources[0], &keys);
    for &(_, _, src) in &completions {
        context.merge(src, &sources[src], &keys);
    }
    let context_value = Value::Object(context.materialize(&sources));

    if let Some((_, reason, details)) = fatal {
        let mut decisions = h.cancel_open_activities();
        decisions.push(fail_decision(&reason, &details));
        return Decisions {
            decisions,
            context: Some(context_value),
            summary: format!("fail: {reason}"),
        };
    }

    // The context each group was entered with (for `when`): the start input
    // plus the completions of earlier groups, group by group (each group's
    // in history order). Built only when a condition needs it.
    let mut entry = GroupEntry::default();
    // The context as JSON text, encoded once for every attempt scheduled.
    let mut context_text: Option<String> = None;

    // Walk the groups: the first group not yet done is where the work is.
    let mut decisions = Vec::new();
    let mut waiting = Vec::new();
    let mut flat_steps = flat.iter().map(|&(_, _, first)| first);
    for (g, group) in def.groups.iter().enumerate() {
        let mut group_done = true;
        for step in group {
            let st = &agg[flat_steps.next().expect("one index per step")];
            if !st.any {
                if let Some(cond) = &step.when {
                    let entry_value = entry.at(g, &completions, &sources, &keys);
                    if !cond.matches(entry_value) {
                        continue; // skipped
                    }
                }
            }
            match step_state(step, st, &h) {
                StepState::Done => {}
                StepState::Open(n) => {
                    group_done = false;
                    waiting.push(format!("{}#{n}", step.id));
                }
                StepState::Schedule(n) => {
                    group_done = false;
                    let text = context_text.get_or_insert_with(|| {
                        serde_json::to_string(&context_value).unwrap_or_default()
                    });
                    match schedule(def, step, n, &context_value, text) {
                        Ok(d) => decisions.push(d),
                        Err((reason, details)) => {
                            let mut decisions = h.cancel_open_activities();
                            decisions.push(fail_decision(&reason, &details));
                            return Decisions {
                                decisions,
                                context: Some(context_value),
                                summary: format!("fail: {reason}"),
                            };
                        }
                    }
                }
                StepState::TimerRunning(id) => {
                    group_done = false;
                    waiting.push(format!("timer {id}"));
                }
                StepState::StartTimer(failed_attempt) => {
                    group_done = false;
                    let next = failed_attempt + 1;
                    decisions.push(Decision::StartTimer {
                        timer_id: retry_timer_id(&step.id, next),
                        control: Some(control_json(&step.id, next)),
                        start_to_fire: step
                            .retry
                            .delay(failed_attempt, &[workflow_id.as_str(), &step.id]),
                    });
                }
            }
        }
        if !group_done {
            let summary = summarize(&decisions, &waiting);
            return Decisions {
                decisions,
                context: Some(context_value),
                summary,
            };
        }
    }
    decisions.push(Decision::CompleteWorkflowExecution {
        result: Some(result_json(&context_value)),
    });
    Decisions {
        decisions,
        context: Some(context_value),
        summary: "complete".into(),
    }
}

/// The decisions for an execution whose workflow type has no definition:
/// fail it, naming the type, rather than leave it open until it times out.
pub fn fail_unknown_workflow(workflow_type: &TypeRef) -> Vec<Decision> {
    let reason = format!("no workflow definition for {workflow_type}");
    let details = format!(
        "the decider has no definition for workflow type {:?} version {:?}; add a file to \
         workflows/ with name = {:?} and version = {:?} (or start the version the decider \
         knows) and restart the decider",
        workflow_type.name, workflow_type.version, workflow_type.name, workflow_type.version
    );
    vec![fail_decision(&reason, &details)]
}

/// The id of the activity task of one attempt of a step.
pub fn activity_id(step: &str, attempt: u32) -> String {
    format!("{step}#{attempt}")
}

/// The id of the timer that waits before attempt `next_attempt` of a step.
pub fn retry_timer_id(step: &str, next_attempt: u32) -> String {
    format!("retry:{step}#{next_attempt}")
}

/// The control string of a scheduled attempt or retry timer.
pub fn control_json(step: &str, attempt: u32) -> String {
    // Written directly rather than through `json!(..).to_string()` (a map
    // and a formatter per call, once per scheduled attempt and timer), in
    // the key order serde_json's `Map` would give: sorted, unless its
    // `preserve_order` feature is on somewhere in the build.
    static SORTED_KEYS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let sorted = *SORTED_KEYS.get_or_init(|| {
        json!({ "step": 0, "attempt": 0 })
            .as_object()
            .and_then(|m| m.keys().next())
            .is_some_and(|k| k == "attempt")
    });
    let step = serde_json::to_string(step).expect("a string always encodes");
    if sorted {
        format!("{{\"attempt\":{attempt},\"step\":{step}}}")
    } else {
        format!("{{\"step\":{step},\"attempt\":{attempt}}}")
    }
}

/// Step and attempt of an activity: from its control, else from its id.
pub fn parse_step_ref(control: Option<&str>, activity_id: &str) -> Option<(String, u32)> {
    step_ref(control, activity_id).map(|(s, n)| (s.into_owned(), n))
}

/// [`parse_step_ref`], borrowing the step from its text: this runs for
/// every attempt on every decision, so it is the decider's hot path.
fn step_ref<'a>(control: Option<&'a str>, activity_id: &'a str) -> Option<(Cow<'a, str>, u32)> {
    /// The control's shape, read without building a `Value` tree.
    #[derive(serde::Deserialize)]
    struct Control<'a> {
        #[serde(borrow)]
        step: Cow<'a, str>,
        attempt: u64,
    }
    if let Some(c) = control {
        if let Some((step, n)) = control_fast(c) {
            return Some((Cow::Borrowed(step), n));
        }
        if let Ok(v) = serde_json::from_str::<Control<'_>>(c) {
            if let Ok(n) = u32::try_from(v.attempt) {
                return Some((v.step, n));
            }
        }
    }
    let (step, n) = activity_id.rsplit_once('#')?;
    let n: u32 = n.parse().ok()?;
    (!step.is_empty() && n > 0).then_some((Cow::Borrowed(step), n))
}

/// The controls [`control_json`] writes, `{"attempt":N,"step":"S"}` (or
/// with the keys the other way round), read by hand. Only texts of exactly
/// that form, with no escapes in the step and an attempt of at most nine
/// digits, are answered; anything else is `None` and goes to serde_json,
/// so what is answered is what serde_json would answer.
fn control_fast(c: &str) -> Option<(&str, u32)> {
    fn attempt(s: &str) -> Option<(u32, &str)> {
        let end = s
            .bytes()
            .position(|b| !b.is_ascii_digit())
            .unwrap_or(s.len());
        let digits = &s[..end];
        if digits.is_empty() || digits.len() > 9 || (digits.len() > 1 && digits.starts_with('0')) {
            return None;
        }
        let n = digits
            .bytes()
            .fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
        Some((n, &s[end..]))
    }
    fn step(s: &str) -> Option<(&str, &str)> {
        let s = s.strip_prefix('"')?;
        let end = s
            .bytes()
            .position(|b| b == b'"' || b == b'\\' || b < 0x20)?;
        (s.as_bytes()[end] == b'"').then(|| (&s[..end], &s[end + 1..]))
    }
    if let Some(rest) = c.strip_prefix("{\"attempt\":") {
        let (n, rest) = attempt(rest)?;
        let (st, rest) = step(rest.strip_prefix(",\"step\":")?)?;
        (rest == "}").then_some((st, n))
    } else {
        let (st, rest) = step(c.strip_prefix("{\"step\":")?)?;
        let (n, rest) = attempt(rest.strip_prefix(",\"attempt\":")?)?;
        (rest == "}").then_some((st, n))
    }
}

/// SWF's cause when a StartTimer names a timer id that is already running.
pub const TIMER_ID_ALREADY_IN_USE: &str = "TIMER_ID_ALREADY_IN_USE";

/// Step and attempt from a retry timer id (`retry:<step>#<attempt>`).
pub fn parse_timer_id(timer_id: &str) -> Option<(String, u32)> {
    parse_step_ref(None, timer_id.strip_prefix("retry:")?)
}

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

// ---------------------------------------------------------------------------
// History parsing

#[derive(Debug)]
struct StartRec<'a> {
    input: Option<&'a str>,
    at: Timestamp,
}

#[derive(Debug, Clone, PartialEq)]
enum Outcome<'a> {
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
    fn describe(&self) -> String {
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

    fn timeline_text(&self) -> String {
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
fn failure_kind(reason: Option<&str>) -> FailureKind {
    if reason.unwrap_or("").starts_with("permanent") {
        FailureKind::Permanent
    } else {
        FailureKind::Retryable
    }
}

#[derive(Debug)]
struct AttemptRec<'a> {
    scheduled_id: i64,
    scheduled_at: Timestamp,
    activity_id: &'a str,
    activity_type: &'a TypeRef,
    control: Option<&'a str>,
    step: Option<(Cow<'a, str>, u32)>,
    started_at: Option<Timestamp>,
    cancel_requested: bool,
    /// Closing event id, its time, and how it closed.
    outcome: Option<(i64, Timestamp, Outcome<'a>)>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum TimerState {
    Running,
    Fired(Timestamp),
    Canceled(Timestamp),
}

#[derive(Debug)]
struct TimerRec<'a> {
    timer_id: &'a str,
    started_id: i64,
    started_at: Timestamp,
    start_to_fire: Duration,
    state: TimerState,
}

#[derive(Debug)]
struct ScheduleFailure<'a> {
    event_id: i64,
    at: Timestamp,
    activity_id: &'a str,
    activity_type: &'a TypeRef,
    cause: &'a str,
}

#[derive(Debug)]
struct TimerFailure<'a> {
    event_id: i64,
    at: Timestamp,
    timer_id: &'a str,
    cause: &'a str,
}

/// The history folded into per-activity and per-timer records, borrowing
/// every string from the events.
#[derive(Debug, Default)]
struct Parsed<'a> {
    start: Option<StartRec<'a>>,
    attempts: Vec<AttemptRec<'a>>,
    timers: Vec<TimerRec<'a>>,
    schedule_failures: Vec<ScheduleFailure<'a>>,
    timer_failures: Vec<TimerFailure<'a>>,
    /// `Some(cause)` once a cancel was requested.
    cancel_requested: Option<Option<&'a str>>,
    close: Option<(Timestamp, &'a EventKind)>,
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
    fn parse(events: &'a [HistoryEvent]) -> Parsed<'a> {
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

    fn timer(&self, timer_id: &str) -> Option<&TimerRec<'a>> {
        self.timers.iter().rev().find(|t| t.timer_id == timer_id)
    }

    /// `RequestCancelActivityTask` for every open attempt not yet asked to
    /// stop, so workers stop work the workflow no longer wants.
    fn cancel_open_activities(&self) -> Vec<Decision> {
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

// ---------------------------------------------------------------------------
// The context, merged lazily

/// A JSON object text feeding the context (start input or a result), and
/// the range of its top-level keys in the decider's key list.
#[derive(Debug)]
struct Source<'a> {
    text: Option<&'a str>,
    keys: std::ops::Range<usize>,
}

/// Check that `text` is what [`parse_result`] accepts (a JSON object, `null`,
/// or empty) and note its top-level keys as a new source, without building
/// a `Value`. On a text `parse_result` refuses, its error is returned, so the
/// message is the one the full parse gives.
fn note_object<'a>(
    text: Option<&'a str>,
    keys: &mut Vec<Cow<'a, str>>,
    sources: &mut Vec<Source<'a>>,
) -> Result<(), String> {
    let from = keys.len();
    let ok = match text.map(str::trim) {
        None | Some("") => true,
        Some(t) if simple_object(t, keys).is_some() => true,
        Some(t) => {
            keys.truncate(from);
            let mut de = serde_json::Deserializer::from_str(t);
            serde::de::DeserializeSeed::deserialize(TopKeys(keys), &mut de)
                .and_then(|()| de.end())
                .is_ok()
        }
    };
    if !ok {
        keys.truncate(from);
        // The authoritative parse: its error names the problem. (Should it
        // ever accept what the key scan refused, its keys are used.)
        let map = parse_result(text)?;
        keys.extend(map.keys().cloned().map(Cow::Owned));
    }
    sources.push(Source {
        text,
        keys: from..keys.len(),
    });
    Ok(())
}

/// The common case of [`note_object`], read by hand: a JSON object whose
/// strings have no escapes, whose numbers are plain (at most 15 digits, no
/// exponent) and whose nesting is shallow. `Some` means serde_json accepts
/// the text as an object with exactly these top-level keys, now appended
/// to `keys`; `None` means "not sure" (the keys appended so far are to be
/// dropped) and serde_json decides. Only JSON's own whitespace is skipped.
fn simple_object<'a>(t: &'a str, keys: &mut Vec<Cow<'a, str>>) -> Option<()> {
    let b = t.as_bytes();
    let end = scan::object(b, scan::ws(b, 0), 1, Some((t, keys)))?;
    (scan::ws(b, end) == b.len()).then_some(())
}

/// The byte-level reading behind [`simple_object`]: each function takes the
/// index where its token starts and returns the index after it, or `None`
/// when the text is not of the simple kind.
mod scan {
    use std::borrow::Cow;

    /// Deeper nesting is left to serde_json (whose limit is 128).
    const MAX_DEPTH: u32 = 32;

    /// Skip JSON whitespace (exactly what serde_json skips).
    pub(super) fn ws(b: &[u8], mut i: usize) -> usize {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = b.get(i) {
            i += 1;
        }
        i
    }

    /// A string starting at its opening quote, without escapes or control
    /// characters: the index of its closing quote.
    fn string(b: &[u8], i: usize) -> Option<usize> {
        if b.get(i) != Some(&b'"') {
            return None;
        }
        let rest = b.get(i + 1..)?;
        let n = rest
            .iter()
            .position(|&c| c == b'"' || c == b'\\' || c < 0x20)?;
        (rest[n] == b'"').then_some(i + 1 + n)
    }

    fn digits(b: &[u8], mut i: usize) -> usize {
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        i
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?`, at most 15 digits, no exponent: a
    /// number serde_json reads without overflow or rounding surprises.
    fn number(b: &[u8], mut i: usize) -> Option<usize> {
        if b.get(i) == Some(&b'-') {
            i += 1;
        }
        let int_end = digits(b, i);
        let mut count = int_end - i;
        if count == 0 || (count > 1 && b[i] == b'0') {
            return None;
        }
        let mut end = int_end;
        if b.get(end) == Some(&b'.') {
            let frac_end = digits(b, end + 1);
            if frac_end == end + 1 {
                return None;
            }
            count += frac_end - end - 1;
            end = frac_end;
        }
        (count <= 15 && !matches!(b.get(end), Some(b'e' | b'E'))).then_some(end)
    }

    fn literal(b: &[u8], i: usize, word: &[u8]) -> Option<usize> {
        (b.get(i..i + word.len()) == Some(word)).then_some(i + word.len())
    }

    fn value(b: &[u8], i: usize, depth: u32) -> Option<usize> {
        match *b.get(i)? {
            b'"' => string(b, i).map(|e| e + 1),
            b't' => literal(b, i, b"true"),
            b'f' => literal(b, i, b"false"),
            b'n' => literal(b, i, b"null"),
            b'-' | b'0'..=b'9' => number(b, i),
            b'[' if depth < MAX_DEPTH => {
                let mut i = ws(b, i + 1);
                if b.get(i) == Some(&b']') {
                    return Some(i + 1);
                }
                loop {
                    i = ws(b, value(b, i, depth + 1)?);
                    match b.get(i) {
                        Some(b',') => i = ws(b, i + 1),
                        Some(b']') => return Some(i + 1),
                        _ => return None,
                    }
                }
            }
            b'{' if depth < MAX_DEPTH => object(b, i, depth + 1, None),
            _ => None,
        }
    }

    /// An object starting at its `{`; its keys are appended to `keys`
    /// when given (`t` is the text `b` is the bytes of).
    pub(super) fn object<'a>(
        b: &[u8],
        i: usize,
        depth: u32,
        mut keys: Option<(&'a str, &mut Vec<Cow<'a, str>>)>,
    ) -> Option<usize> {
        if b.get(i) != Some(&b'{') {
            return None;
        }
        let mut i = ws(b, i + 1);
        if b.get(i) == Some(&b'}') {
            return Some(i + 1);
        }
        loop {
            let close = string(b, i)?;
            if let Some((t, keys)) = &mut keys {
                keys.push(Cow::Borrowed(&t[i + 1..close]));
            }
            i = ws(b, close + 1);
            if b.get(i) != Some(&b':') {
                return None;
            }
            i = ws(b, value(b, ws(b, i + 1), depth)?);
            match b.get(i) {
                Some(b',') => i = ws(b, i + 1),
                Some(b'}') => return Some(i + 1),
                _ => return None,
            }
        }
    }
}

/// Appends the top-level keys of a JSON object (none for `null`) to the
/// list, reading the values without keeping them. Values go through
/// `deserialize_any`, the path `serde_json::Value` takes, so exactly the
/// texts `Value` accepts are accepted (numbers out of range, lone
/// surrogates and nesting deeper than serde_json's limit are refused
/// alike). On an error, the caller drops what was appended.
struct TopKeys<'v, 'a>(&'v mut Vec<Cow<'a, str>>);

impl<'de> serde::de::DeserializeSeed<'de> for TopKeys<'_, 'de> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        struct V<'v, 'a>(&'v mut Vec<Cow<'a, str>>);
        impl<'de> serde::de::Visitor<'de> for V<'_, 'de> {
            type Value = ();
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object or null")
            }
            fn visit_unit<E>(self) -> Result<(), E> {
                Ok(())
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
                while let Some(Key(k)) = map.next_key()? {
                    self.0.push(k);
                    map.next_value::<Skip>()?;
                }
                Ok(())
            }
        }
        d.deserialize_any(V(self.0))
    }
}

/// An object key, borrowed from the text unless it has escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_any(V)
    }
}

/// Any JSON value, validated as `Value` would be and dropped.
struct Skip;

impl<'de> serde::Deserialize<'de> for Skip {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Skip;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_bool<E>(self, _: bool) -> Result<Skip, E> {
                Ok(Skip)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Skip, E> {
                Ok(Skip)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Skip, E> {
                Ok(Skip)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Skip, E> {
                Ok(Skip)
            }
            fn visit_str<E>(self, _: &str) -> Result<Skip, E> {
                Ok(Skip)
            }
            fn visit_unit<E>(self) -> Result<Skip, E> {
                Ok(Skip)
            }
            fn visit_none<E>(self) -> Result<Skip, E> {
                Ok(Skip)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut s: A) -> Result<Skip, A::Error> {
                while s.next_element::<Skip>()?.is_some() {}
                Ok(Skip)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<Skip, A::Error> {
                while m.next_key::<Skip>()?.is_some() {
                    m.next_value::<Skip>()?;
                }
                Ok(Skip)
            }
        }
        d.deserialize_any(V)
    }
}

/// Context keys in order of first appearance, each with the source that
/// last set it: what merging the sources' maps in order would give, kept
/// as indexes. A context has a handful of keys, so a list beats hashing;
/// past `INDEXED` keys a map takes over.
#[derive(Debug, Default)]
struct KeyTable<'k> {
    entries: Vec<(&'k str, usize)>,
    index: Option<HashMap<&'k str, usize>>,
    /// Entry of the first key of the last source merged.
    first_hint: usize,
}

impl<'k> KeyTable<'k> {
    const INDEXED: usize = 24;

    fn merge(&mut self, src: usize, source: &Source<'_>, keys: &'k [Cow<'_, str>]) {
        // Results of one workflow tend to repeat the same keys in the same
        // order: guess each key's entry from the previous source's first
        // key and the key before it, and only search on a miss.
        let mut guess = self.first_hint;
        for (n, k) in keys[source.keys.clone()].iter().enumerate() {
            let at = match self.entries.get(guess) {
                Some((g, _)) if *g == k.as_ref() => guess,
                _ => self.find_or_add(k),
            };
            self.entries[at].1 = src;
            if n == 0 {
                self.first_hint = at;
            }
            guess = at + 1;
        }
    }

    /// The entry of `key`, added (with no source yet) if new.
    fn find_or_add(&mut self, key: &'k str) -> usize {
        if let Some(index) = &mut self.index {
            return *index.entry(key).or_insert_with(|| {
                self.entries.push((key, 0));
                self.entries.len() - 1
            });
        }
        if let Some(at) = self.entries.iter().position(|(k, _)| *k == key) {
            return at;
        }
        self.entries.push((key, 0));
        if self.entries.len() > Self::INDEXED {
            self.index = Some(
                self.entries
                    .iter()
                    .enumerate()
                    .map(|(i, (k, _))| (*k, i))
                    .collect(),
            );
        }
        self.entries.len() - 1
    }

    /// The merged object: each winning source is parsed once, and only its
    /// winning values are kept.
    fn materialize(&self, sources: &[Source<'_>]) -> Map<String, Value> {
        let mut by_src: Vec<(usize, usize)> = self
            .entries
            .iter()
            .enumerate()
            .map(|(i, (_, src))| (*src, i))
            .collect();
        by_src.sort_unstable();
        let mut values: Vec<Value> = vec![Value::Null; self.entries.len()];
        let mut parsed: Option<(usize, Map<String, Value>)> = None;
        for (src, i) in by_src {
            if parsed.as_ref().is_none_or(|(s, _)| *s != src) {
                // Validated when noted, so this parse succeeds.
                parsed = Some((src, parse_result(sources[src].text).unwrap_or_default()));
            }
            if let Some((_, m)) = &mut parsed {
                values[i] = m.remove(self.entries[i].0).unwrap_or(Value::Null);
            }
        }
        let mut out = Map::new();
        for ((k, _), v) in self.entries.iter().zip(values) {
            out.insert((*k).to_owned(), v);
        }
        out
    }
}

/// The context a group was entered with, built the first time a `when`
/// needs it and extended group by group.
#[derive(Debug, Default)]
struct GroupEntry<'k> {
    table: KeyTable<'k>,
    /// Completions ordered by (group, closing event), once needed.
    order: Option<Vec<(usize, i64, usize)>>,
    /// How many of `order` are merged into `table`.
    merged: usize,
    /// `table` as a `Value`, for the group it was built for.
    value: Option<(usize, Value)>,
}

impl<'k> GroupEntry<'k> {
    fn at(
        &mut self,
        group: usize,
        completions: &[(i64, usize, usize)],
        sources: &[Source<'_>],
        keys: &'k [Cow<'_, str>],
    ) -> &Value {
        if self.value.as_ref().is_some_and(|(g, _)| *g == group) {
            return &self.value.as_ref().expect("checked").1;
        }
        let order = self.order.get_or_insert_with(|| {
            let mut o: Vec<(usize, i64, usize)> =
                completions.iter().map(|&(id, g, s)| (g, id, s)).collect();
            o.sort_unstable();
            o
        });
        if self.merged == 0 && self.table.entries.is_empty() {
            self.table.merge(0, &sources[0], keys);
        }
        while let Some(&(g, _, src)) = order.get(self.merged) {
            if g >= group {
                break;
            }
            self.table.merge(src, &sources[src], keys);
            self.merged += 1;
        }
        let v = Value::Object(self.table.materialize(sources));
        &self.value.insert((group, v)).1
    }
}

// ---------------------------------------------------------------------------
// Deciding one step

/// What a step's attempts add up to.
#[derive(Debug, Clone, Copy, Default)]
struct StepAgg {
    /// Any attempt is in the history.
    any: bool,
    /// Some attempt completed.
    done: bool,
    /// Highest attempt number.
    max_attempt: u32,
    /// Attempt number of the first (in history order) attempt still open.
    first_open: Option<u32>,
}

#[derive(Debug, PartialEq)]
enum StepState {
    /// Completed: nothing more to do.
    Done,
    /// Attempt `n` is scheduled or running.
    Open(u32),
    /// Schedule attempt `n`.
    Schedule(u32),
    /// Attempt `n` failed and may be retried: start the wait.
    StartTimer(u32),
    /// The wait before the next attempt is running.
    TimerRunning(String),
}

/// Where a step stands, from its attempts. Fatal outcomes (permanent
/// failure, exhausted attempts) were already handled by the caller.
fn step_state(step: &Step, st: &StepAgg, h: &Parsed) -> StepState {
    if st.done {
        return StepState::Done;
    }
    if !st.any {
        return StepState::Schedule(1);
    }
    if let Some(n) = st.first_open {
        return StepState::Open(n);
    }
    let n = st.max_attempt;
    let timer_id = retry_timer_id(&step.id, n + 1);
    match h.timer(&timer_id).map(|t| t.state) {
        None => StepState::StartTimer(n),
        Some(TimerState::Running) => StepState::TimerRunning(timer_id),
        Some(TimerState::Fired(_) | TimerState::Canceled(_)) => StepState::Schedule(n + 1),
    }
}

/// The `ScheduleActivityTask` decision. `context_text` is `context` as
/// JSON, encoded once per decision task rather than once per attempt; the
/// input is laid out exactly as `serde_json::to_string(&ActivityInput)`
/// would (field order, compact), which a unit test checks.
fn schedule(
    def: &WorkflowDefinition,
    step: &Step,
    attempt: u32,
    context: &Value,
    context_text: &str,
) -> Result<Decision, (String, String)> {
    let encode_failed = |e: serde_json::Error| {
        (
            format!("{} attempt {attempt}: input could not be encoded", step.id),
            format!(
                "encoding the input of {} attempt {attempt} as JSON failed: {e}",
                step.id
            ),
        )
    };
    let step_json = serde_json::to_string(&step.id).map_err(encode_failed)?;
    let workflow_json = serde_json::to_string(&def.name).map_err(encode_failed)?;
    let params_json = serde_json::to_string(&step.params).map_err(encode_failed)?;
    let mut input = String::with_capacity(
        context_text.len() + step_json.len() + workflow_json.len() + params_json.len() + 64,
    );
    input.push_str("{\"context\":");
    input.push_str(context_text);
    input.push_str(",\"step\":");
    input.push_str(&step_json);
    input.push_str(",\"attempt\":");
    input.push_str(&attempt.to_string());
    input.push_str(",\"workflow\":");
    input.push_str(&workflow_json);
    input.push_str(",\"params\":");
    input.push_str(&params_json);
    input.push('}');
    if input.len() > limits::INPUT {
        return Err((
            format!(
                "{} attempt {attempt}: workflow context too large ({} bytes, SWF allows {})",
                step.id,
                input.len(),
                limits::INPUT
            ),
            format!(
                "the input of {} attempt {attempt} is {} bytes, over SWF's limit of {} bytes; \
                 an earlier activity put too much into the context (store large data in a \
                 bucket and pass its key). Context keys: {}",
                step.id,
                input.len(),
                limits::INPUT,
                context
                    .as_object()
                    .map(|m| m.keys().cloned().collect::<Vec<_>>().join(", "))
                    .unwrap_or_default()
            ),
        ));
    }
    Ok(Decision::ScheduleActivityTask {
        activity_id: activity_id(&step.id, attempt),
        activity_type: step.activity.clone(),
        input: Some(input),
        control: Some(control_json(&step.id, attempt)),
        task_list: step.task_list.clone(),
        timeouts: step.timeouts,
    })
}

// ---------------------------------------------------------------------------
// Helpers

fn fail_decision(reason: &str, details: &str) -> Decision {
    Decision::FailWorkflowExecution {
        reason: Some(truncate(reason, limits::REASON)),
        details: Some(truncate(details, limits::DETAILS)),
    }
}

fn fail_only(context: Option<Value>, reason: String, details: String) -> Decisions {
    Decisions {
        decisions: vec![fail_decision(&reason, &details)],
        context,
        summary: format!("fail: {reason}"),
    }
}

/// A start input or an activity result as the context object it adds to:
/// a JSON object, or nothing for an empty text or `null`.
fn parse_result(result: Option<&str>) -> Result<Map<String, Value>, String> {
    match result.map(str::trim) {
        None | Some("") => Ok(Map::new()),
        Some(text) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(Value::Null) => Ok(Map::new()),
            Ok(other) => Err(format!(
                "expected a JSON object, found {}",
                json_kind(&other)
            )),
            Err(e) => Err(format!("not valid JSON ({e})")),
        },
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Key of the marker object put in a result that had to be shortened.
pub const TRUNCATED_KEY: &str = "_pressbot_truncated";

/// The workflow result: the context as JSON, kept valid JSON within SWF's
/// limit. Cutting the text would leave unparseable JSON, so when the
/// context is too large the biggest top-level values are dropped instead,
/// and a `_pressbot_truncated` marker says which keys are missing.
pub fn result_json(context: &Value) -> String {
    let full = context.to_string();
    if full.len() <= limits::RESULT {
        return full;
    }
    let Some(map) = context.as_object() else {
        return json!({ TRUNCATED_KEY: { "bytes": full.len() } }).to_string();
    };
    // Keep small values first; leave room for the marker.
    let budget = limits::RESULT - 4096;
    let mut entries: Vec<(&String, &Value, usize)> = map
        .iter()
        .map(|(k, v)| (k, v, k.len() + v.to_string().len() + 4))
        .collect();
    entries.sort_by(|a, b| a.2.cmp(&b.2).then_with(|| a.0.cmp(b.0)));
    let mut kept = Map::new();
    let mut omitted = Vec::new();
    let mut used = 2;
    for (k, v, size) in entries {
        if used + size <= budget {
            used += size;
            kept.insert(k.clone(), v.clone());
        } else {
            omitted.push(k.clone());
        }
    }
    omitted.sort();
    let mut listed = Vec::new();
    let mut listed_bytes = 0;
    for k in &omitted {
        if listed_bytes + k.len() + 4 > 2048 {
            break;
        }
        listed_bytes += k.len() + 4;
        listed.push(k.clone());
    }
    kept.insert(
        TRUNCATED_KEY.into(),
        json!({ "bytes": full.len(), "omitted_count": omitted.len(), "omitted": listed }),
    );
    let text = Value::Object(kept).to_string();
    if text.len() <= limits::RESULT {
        text
    } else {
        json!({ TRUNCATED_KEY: { "bytes": full.len(), "omitted_count": map.len() } }).to_string()
    }
}

fn summarize(decisions: &[Decision], waiting: &[String]) -> String {
    let mut parts = Vec::new();
    for d in decisions {
        match d {
            Decision::ScheduleActivityTask { activity_id, .. } => {
                parts.push(format!("schedule {activity_id}"))
            }
            Decision::StartTimer {
                timer_id,
                start_to_fire,
                ..
            } => parts.push(format!(
                "start {timer_id} ({})",
                humantime::format_duration(*start_to_fire)
            )),
            other => parts.push(other.name().to_owned()),
        }
    }
    if !waiting.is_empty() {
        parts.push(format!("waiting: {}", waiting.join(", ")));
    }
    if parts.is_empty() {
        "nothing to do".into()
    } else {
        parts.join("; ")
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn step_refs_parse_from_control_or_id() {
        assert_eq!(
            parse_step_ref(Some(&control_json("A", 3)), "whatever"),
            Some(("A".into(), 3))
        );
        assert_eq!(
            parse_step_ref(None, "Post#To#2"),
            Some(("Post#To".into(), 2))
        );
        assert_eq!(
            parse_step_ref(Some("not json"), "B#1"),
            Some(("B".into(), 1))
        );
        assert_eq!(parse_step_ref(None, "B"), None);
        assert_eq!(parse_step_ref(None, "B#0"), None);
        assert_eq!(parse_timer_id("retry:B#2"), Some(("B".into(), 2)));
        assert_eq!(parse_timer_id("other"), None);
    }

    #[test]
    fn scheduled_input_is_activity_input_as_serde_writes_it() {
        use crate::activity::ActivityInput;
        let def = WorkflowDefinition::from_toml_str(
            "name = \"W\\u00e9\\\"q\"\nversion = \"1\"\nexecution_start_to_close = \"1h\"\n\
             [[step]]\nactivity = \"A\"\nparams = { size = 3, nested = { x = [1, 2] } }\n\
             [[step]]\nactivity = \"B\"\n",
            Path::new("w.toml"),
            &|_| true,
        )
        .expect("valid definition");
        let context = json!({"b": [1, {"c": null}], "a": "\u{e9}\"\n", "n": 1.5});
        let text = context.to_string();
        for step in def.steps() {
            let Ok(Decision::ScheduleActivityTask { input, .. }) =
                schedule(&def, step, 7, &context, &text)
            else {
                panic!("schedule failed")
            };
            let expected = serde_json::to_string(&ActivityInput {
                context: context.clone(),
                step: step.id.clone(),
                attempt: 7,
                workflow: def.name.clone(),
                params: step.params.clone(),
            })
            .expect("encodes");
            assert_eq!(input.as_deref(), Some(expected.as_str()));
        }
    }

    #[test]
    fn control_json_is_what_json_macro_writes() {
        for (step, attempt) in [("A", 1), ("Post#To", 12), ("q\"x\\é\u{1}", u32::MAX)] {
            assert_eq!(
                control_json(step, attempt),
                json!({ "step": step, "attempt": attempt }).to_string()
            );
        }
    }

    #[test]
    fn fast_control_reading_agrees_with_serde() {
        let serde_read = |c: &str| {
            #[derive(serde::Deserialize)]
            struct Control {
                step: String,
                attempt: u64,
            }
            serde_json::from_str::<Control>(c)
                .ok()
                .and_then(|v| Some((v.step, u32::try_from(v.attempt).ok()?)))
        };
        let cases = [
            control_json("A", 3),
            control_json("Post#To", 12),
            control_json("é", 0),
            control_json("q\"x", 1),
            r#"{"step":"A","attempt":3}"#.into(),
            r#"{"attempt":03,"step":"A"}"#.into(),
            r#"{"attempt":123456789,"step":"A"}"#.into(),
            r#"{"attempt":4294967296,"step":"A"}"#.into(),
            r#"{"attempt":3,"step":"A"} "#.into(),
            r#"{"attempt":3,"step":"A\u0042"}"#.into(),
            r#"{"attempt":-1,"step":"A"}"#.into(),
            r#"{"attempt":,"step":"A"}"#.into(),
            r#"{"attempt":1,"step":"A}"#.into(),
        ];
        for c in &cases {
            if let Some((s, n)) = control_fast(c) {
                assert_eq!(Some((s.to_owned(), n)), serde_read(c), "{c}");
            }
            assert_eq!(
                step_ref(Some(c), "Z#9").map(|(s, n)| (s.into_owned(), n)),
                serde_read(c).or(Some(("Z".into(), 9))),
                "{c}"
            );
        }
        assert_eq!(control_fast(&control_json("A", 3)), Some(("A", 3)));
    }

    /// The keys serde_json reads from `t`, or `None` where it refuses it.
    fn serde_keys(t: &str) -> Option<Vec<String>> {
        let mut keys = Vec::new();
        let mut de = serde_json::Deserializer::from_str(t);
        serde::de::DeserializeSeed::deserialize(TopKeys(&mut keys), &mut de)
            .and_then(|()| de.end())
            .ok()?;
        Some(keys.into_iter().map(Cow::into_owned).collect())
    }

    fn check_simple_object(t: &str) {
        let mut keys = Vec::new();
        if simple_object(t, &mut keys).is_some() {
            let keys: Vec<String> = keys.into_iter().map(Cow::into_owned).collect();
            assert_eq!(Some(&keys), serde_keys(t).as_ref(), "{t:?}");
            assert!(
                matches!(serde_json::from_str::<Value>(t), Ok(Value::Object(_))),
                "{t:?}"
            );
        }
    }

    #[test]
    fn simple_object_answers_only_what_serde_agrees_with() {
        for t in [
            r#"{"status":"ok","files":1}"#,
            r#" { "a" : [ 1 , -2.5 , true , false , null , { "b" : "c" } ] , "a" : {} } "#,
            "{}",
            "{\"a\":01}",
            "{\"a\":-}",
            "{\"a\":1.}",
            "{\"a\":1e5}",
            "{\"a\":1234567890123456}",
            "{\"a\":\"x\\\"y\"}",
            "{\"a\":\"\u{1}\"}",
            "{\"a\":1,}",
            "{\"a\":[1,]}",
            "{\"a\":tru}",
            "{\"a\":truex}",
            "{\"a\":1}x",
            "{\"a\"\u{a0}:1}",
            "{\"é\":\"ü\"}",
        ] {
            check_simple_object(t);
        }
        let mut keys = Vec::new();
        assert!(simple_object(r#"{"status":"ok","files":1}"#, &mut keys).is_some());
        assert_eq!(keys, ["status", "files"]);
    }

    proptest::proptest! {
        #[test]
        fn simple_object_agrees_with_serde_on_noise(t in r#"[{}\[\]",: \t\n0-9.eE+\-a-z\\]{0,40}"#) {
            check_simple_object(&t);
        }

        #[test]
        fn simple_object_agrees_with_serde_on_json(
            m in proptest::collection::btree_map("[a-z\"é]{0,4}", json_value(), 0..6),
            spaced in proptest::bool::ANY,
        ) {
            let v = Value::Object(m.into_iter().collect());
            let t = if spaced {
                serde_json::to_string_pretty(&v).expect("encodes")
            } else {
                v.to_string()
            };
            check_simple_object(&t);
        }
    }

    fn json_value() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(|f| json!(f)),
            "[a-z\"\\\\é\u{1}]{0,6}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 5, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                proptest::collection::btree_map("[a-z\"é]{0,4}", inner, 0..5)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    #[test]
    fn oversized_result_stays_valid_json_within_limit() {
        let mut m = Map::new();
        m.insert("small".into(), json!("x"));
        m.insert("huge".into(), json!("y".repeat(limits::RESULT * 2)));
        let text = result_json(&Value::Object(m));
        assert!(text.len() <= limits::RESULT);
        let v: Value = serde_json::from_str(&text).expect("valid json");
        assert_eq!(v["small"], "x");
        assert_eq!(v[TRUNCATED_KEY]["omitted"], json!(["huge"]));
    }
}
