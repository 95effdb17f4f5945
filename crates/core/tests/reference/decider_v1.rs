// The decider as it was before the allocation-free rewrite (commit
// b87fc58), kept verbatim as an oracle: `tests/decider_equivalence.rs`
// checks that the optimized `pressbot_core::decider` decides every
// generated history exactly as this one does (decisions, context, summary,
// timeline). Do not optimize this file; it is the specification by example.
#![allow(dead_code, clippy::all)]

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
//! Conventions the decider relies on (and `HistoryBuilder`
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

use pressbot_core::activity::{ActivityFailure, ActivityInput, FailureKind};
use pressbot_core::definition::{Step, WorkflowDefinition};
use pressbot_core::history::{
    limits, truncate, ActivityTimeoutType, Decision, EventKind, HistoryEvent,
};
use pressbot_core::ids::{TypeRef, WorkflowId};
use pressbot_core::time::Timestamp;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
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
        Some(s) => s.input.clone(),
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

    let mut context = match parse_start_input(start_input.as_deref()) {
        Ok(c) => c,
        Err(problem) => {
            return fail_only(
                None,
                format!("malformed workflow input: {problem}"),
                format!(
                    "the input of workflow {workflow_id} ({}) must be a JSON object (or empty): \
                     {problem}; input was: {}",
                    def.workflow_type(),
                    start_input.as_deref().unwrap_or("")
                ),
            )
        }
    };

    // Step id → (group, step), built once: looking steps up by scanning the
    // definition for every attempt made deciding quadratic in long workflows.
    let mut step_of: HashMap<&str, (usize, &Step)> =
        HashMap::with_capacity(def.groups.iter().map(Vec::len).sum());
    for (g, steps) in def.groups.iter().enumerate() {
        for s in steps {
            step_of.entry(s.id.as_str()).or_insert((g, s));
        }
    }

    // Fatal conditions, earliest in history first; also the context and the
    // context as each group was entered (for `when`).
    let mut fatal: Option<(i64, String, String)> = None;
    let mut note_fatal = |event_id: i64, reason: String, details: String| {
        if fatal.as_ref().is_none_or(|(id, _, _)| event_id < *id) {
            fatal = Some((event_id, reason, details));
        }
    };
    let mut completed_in_group: Vec<Vec<(i64, Map<String, Value>)>> =
        vec![Vec::new(); def.groups.len()];

    // Highest attempt per step, so "is there a later attempt" stays O(1)
    // on long histories.
    let mut last_attempt: HashMap<&str, u32> = HashMap::new();
    for (s, n) in h.attempts.iter().filter_map(|a| a.step.as_ref()) {
        let e = last_attempt.entry(s.as_str()).or_insert(0);
        *e = (*e).max(*n);
    }
    for a in &h.attempts {
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
        let Some(&(group, step)) = step_of.get(step_id.as_str()) else {
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
        let Some((close_id, _, outcome)) = &a.outcome else {
            continue;
        };
        let of = step.retry.max_attempts;
        match outcome {
            Outcome::Completed(result) => match parse_result(result.as_deref()) {
                Ok(obj) => completed_in_group[group].push((*close_id, obj)),
                Err(problem) => note_fatal(
                    *close_id,
                    format!(
                        "{step_id} returned a bad result on attempt {attempt} of {of}: {problem}"
                    ),
                    format!(
                        "{step_id} ({}) completed attempt {attempt} with a result that is not a \
                         JSON object: {problem}; result was: {}",
                        step.activity,
                        result.as_deref().unwrap_or("")
                    ),
                ),
            },
            Outcome::Failed(f) if f.kind == FailureKind::Permanent => {
                let text = format!("{step_id} failed on attempt {attempt} of {of}: {f}");
                note_fatal(*close_id, text.clone(), text);
            }
            other => {
                let later = last_attempt
                    .get(step_id.as_str())
                    .is_some_and(|m| m > attempt);
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
        let step = parse_step_ref(None, &sf.activity_id);
        let (who, attempt) = match &step {
            Some((s, n)) => (s.clone(), n.to_string()),
            None => (sf.activity_id.clone(), "?".into()),
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
        let text = match parse_timer_id(&tf.timer_id) {
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

    // Merge completions in history order: into the running context, and
    // group by group for the context each group was entered with.
    for v in &mut completed_in_group {
        v.sort_by_key(|(id, _)| *id);
    }
    let mut all_completions: Vec<(i64, usize, &Map<String, Value>)> = completed_in_group
        .iter()
        .enumerate()
        .flat_map(|(g, v)| v.iter().map(move |(id, m)| (*id, g, m)))
        .collect();
    all_completions.sort_by_key(|(id, _, _)| *id);
    // The context each group was entered with: the start input plus the
    // completions of earlier groups, group by group (each group's in history
    // order). Built incrementally while walking the groups below.
    let mut group_entry = Value::Object(context.clone());
    for (_, _, m) in &all_completions {
        merge(&mut context, m);
    }
    let context_value = Value::Object(context);

    if let Some((_, reason, details)) = fatal {
        let mut decisions = h.cancel_open_activities();
        decisions.push(fail_decision(&reason, &details));
        return Decisions {
            decisions,
            context: Some(context_value),
            summary: format!("fail: {reason}"),
        };
    }

    // Walk the groups: the first group not yet done is where the work is.
    let mut decisions = Vec::new();
    let mut waiting = Vec::new();
    for (g, group) in def.groups.iter().enumerate() {
        if g > 0 {
            if let Value::Object(entry) = &mut group_entry {
                for (_, m) in &completed_in_group[g - 1] {
                    merge(entry, m);
                }
            }
        }
        let mut group_done = true;
        for step in group {
            let attempts: Vec<&AttemptRec> = h.attempts_of(&step.id).collect();
            if attempts.is_empty() {
                if let Some(cond) = &step.when {
                    if !cond.matches(&group_entry) {
                        continue; // skipped
                    }
                }
            }
            match step_state(step, &attempts, &h) {
                StepState::Done => {}
                StepState::Open(n) => {
                    group_done = false;
                    waiting.push(format!("{}#{n}", step.id));
                }
                StepState::Schedule(n) => {
                    group_done = false;
                    match schedule(def, step, n, &context_value) {
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
    json!({ "step": step, "attempt": attempt }).to_string()
}

/// Step and attempt of an activity: from its control, else from its id.
pub fn parse_step_ref(control: Option<&str>, activity_id: &str) -> Option<(String, u32)> {
    /// The control's shape, read without building a `Value` tree: this runs
    /// for every attempt on every decision, so it is the decider's hot path.
    #[derive(serde::Deserialize)]
    struct Control<'a> {
        #[serde(borrow)]
        step: std::borrow::Cow<'a, str>,
        attempt: u64,
    }
    if let Some(c) = control {
        if let Ok(v) = serde_json::from_str::<Control<'_>>(c) {
            if let Ok(n) = u32::try_from(v.attempt) {
                return Some((v.step.into_owned(), n));
            }
        }
    }
    let (step, n) = activity_id.rsplit_once('#')?;
    let n: u32 = n.parse().ok()?;
    (!step.is_empty() && n > 0).then(|| (step.to_owned(), n))
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
            Some((s, n)) => (s.clone(), Some(*n)),
            None => (a.activity_id.clone(), None),
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
        let (step, attempt) = match parse_step_ref(None, &sf.activity_id) {
            Some((s, n)) => (s, Some(n)),
            None => (sf.activity_id.clone(), None),
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
        let (step, attempt) = match parse_timer_id(&t.timer_id) {
            Some((s, n)) => (s, Some(n)),
            None => (t.timer_id.clone(), None),
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
        let (step, attempt) = match parse_timer_id(&tf.timer_id) {
            Some((s, n)) => (s, Some(n)),
            None => (tf.timer_id.clone(), None),
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
struct StartRec {
    input: Option<String>,
    at: Timestamp,
}

#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Completed(Option<String>),
    Failed(ActivityFailure),
    TimedOut(ActivityTimeoutType),
    Canceled(Option<String>),
}

impl Outcome {
    /// For fail reasons: `retryable: CMS answered 503`, `timed out START_TO_CLOSE`.
    fn describe(&self) -> String {
        match self {
            Outcome::Completed(_) => "completed".into(),
            Outcome::Failed(f) => f.to_string(),
            Outcome::TimedOut(t) => format!("timed out {}", t.as_str()),
            Outcome::Canceled(Some(d)) if !d.is_empty() => format!("canceled: {d}"),
            Outcome::Canceled(_) => "canceled".into(),
        }
    }

    fn timeline_text(&self) -> String {
        match self {
            Outcome::Failed(f) => format!("failed ({}): {}", f.kind.as_str(), f.message),
            other => other.describe(),
        }
    }
}

#[derive(Debug)]
struct AttemptRec {
    scheduled_id: i64,
    scheduled_at: Timestamp,
    activity_id: String,
    activity_type: TypeRef,
    control: Option<String>,
    step: Option<(String, u32)>,
    started_at: Option<Timestamp>,
    cancel_requested: bool,
    /// Closing event id, its time, and how it closed.
    outcome: Option<(i64, Timestamp, Outcome)>,
}

impl AttemptRec {
    fn attempt(&self) -> u32 {
        self.step.as_ref().map_or(0, |(_, n)| *n)
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum TimerState {
    Running,
    Fired(Timestamp),
    Canceled(Timestamp),
}

#[derive(Debug)]
struct TimerRec {
    timer_id: String,
    started_id: i64,
    started_at: Timestamp,
    start_to_fire: Duration,
    state: TimerState,
}

#[derive(Debug)]
struct ScheduleFailure {
    event_id: i64,
    at: Timestamp,
    activity_id: String,
    activity_type: TypeRef,
    cause: String,
}

#[derive(Debug)]
struct TimerFailure {
    event_id: i64,
    at: Timestamp,
    timer_id: String,
    cause: String,
}

/// The history folded into per-activity and per-timer records.
#[derive(Debug, Default)]
struct Parsed {
    start: Option<StartRec>,
    attempts: Vec<AttemptRec>,
    timers: Vec<TimerRec>,
    schedule_failures: Vec<ScheduleFailure>,
    timer_failures: Vec<TimerFailure>,
    /// `Some(cause)` once a cancel was requested.
    cancel_requested: Option<Option<String>>,
    close: Option<(Timestamp, EventKind)>,
    /// Step id → indices into `attempts`, in history order.
    by_step: HashMap<String, Vec<usize>>,
}

impl Parsed {
    fn parse(events: &[HistoryEvent]) -> Parsed {
        let mut p = Parsed::default();
        let mut by_sched: HashMap<i64, usize> = HashMap::new();
        let mut by_activity_id: HashMap<&str, usize> = HashMap::new();
        let mut open_timer: BTreeMap<&str, usize> = BTreeMap::new();
        for e in events {
            match &e.kind {
                EventKind::WorkflowExecutionStarted { input, .. } if p.start.is_none() => {
                    p.start = Some(StartRec {
                        input: input.clone(),
                        at: e.timestamp,
                    });
                }
                EventKind::WorkflowExecutionCancelRequested { cause } => {
                    p.cancel_requested = Some(cause.clone());
                }
                EventKind::ActivityTaskScheduled {
                    activity_id,
                    activity_type,
                    control,
                    ..
                } => {
                    by_sched.insert(e.id, p.attempts.len());
                    by_activity_id.insert(activity_id, p.attempts.len());
                    let step = parse_step_ref(control.as_deref(), activity_id);
                    if let Some((s, _)) = &step {
                        p.by_step
                            .entry(s.clone())
                            .or_default()
                            .push(p.attempts.len());
                    }
                    p.attempts.push(AttemptRec {
                        scheduled_id: e.id,
                        scheduled_at: e.timestamp,
                        activity_id: activity_id.clone(),
                        activity_type: activity_type.clone(),
                        control: control.clone(),
                        step,
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
                    activity_id: activity_id.clone(),
                    activity_type: activity_type.clone(),
                    cause: cause.clone(),
                }),
                EventKind::ActivityTaskStarted {
                    scheduled_event_id, ..
                } => {
                    if let Some(&i) = by_sched.get(scheduled_event_id) {
                        p.attempts[i].started_at = Some(e.timestamp);
                    }
                }
                EventKind::ActivityTaskCancelRequested { activity_id } => {
                    if let Some(&i) = by_activity_id.get(activity_id.as_str()) {
                        p.attempts[i].cancel_requested = true;
                    }
                }
                EventKind::ActivityTaskCompleted {
                    scheduled_event_id,
                    result,
                    ..
                } => p.close_attempt(
                    &by_sched,
                    *scheduled_event_id,
                    e,
                    Outcome::Completed(result.clone()),
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
                    Outcome::Failed(ActivityFailure::from_event(
                        reason.as_deref(),
                        details.as_deref(),
                    )),
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
                    Outcome::Canceled(details.clone()),
                ),
                EventKind::TimerStarted {
                    timer_id,
                    start_to_fire,
                    ..
                } => {
                    let rec = TimerRec {
                        timer_id: timer_id.clone(),
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
                            timer_id: timer_id.clone(),
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
                        timer_id: timer_id.clone(),
                        cause: cause.clone(),
                    })
                }
                kind if kind.is_close() && p.close.is_none() => {
                    p.close = Some((e.timestamp, kind.clone()));
                }
                // Decision task bookkeeping, signals, rejected close
                // decisions (decide again from the full history), and
                // events pressbot does not act on.
                _ => {}
            }
        }
        p
    }

    fn close_attempt(
        &mut self,
        by_sched: &HashMap<i64, usize>,
        sched: i64,
        e: &HistoryEvent,
        o: Outcome,
    ) {
        if let Some(&i) = by_sched.get(&sched) {
            if self.attempts[i].outcome.is_none() {
                self.attempts[i].outcome = Some((e.id, e.timestamp, o));
            }
        }
    }

    /// The attempts of one step, in history order. Indexed at parse time:
    /// filtering every attempt for every step made deciding quadratic in
    /// long histories.
    fn attempts_of<'a>(&'a self, step: &str) -> impl Iterator<Item = &'a AttemptRec> + 'a {
        self.by_step
            .get(step)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|&i| &self.attempts[i])
    }

    fn timer(&self, timer_id: &str) -> Option<&TimerRec> {
        self.timers.iter().rev().find(|t| t.timer_id == timer_id)
    }

    /// `RequestCancelActivityTask` for every open attempt not yet asked to
    /// stop, so workers stop work the workflow no longer wants.
    fn cancel_open_activities(&self) -> Vec<Decision> {
        let mut seen = BTreeSet::new();
        self.attempts
            .iter()
            .filter(|a| a.outcome.is_none() && !a.cancel_requested)
            .filter(|a| seen.insert(a.activity_id.clone()))
            .map(|a| Decision::RequestCancelActivityTask {
                activity_id: a.activity_id.clone(),
            })
            .collect()
    }
}

// ---------------------------------------------------------------------------
// Deciding one step

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
fn step_state(step: &Step, attempts: &[&AttemptRec], h: &Parsed) -> StepState {
    if attempts
        .iter()
        .any(|a| matches!(a.outcome, Some((_, _, Outcome::Completed(_)))))
    {
        return StepState::Done;
    }
    let Some(last) = attempts
        .iter()
        .max_by_key(|a| (a.attempt(), a.scheduled_id))
    else {
        return StepState::Schedule(1);
    };
    if let Some(open) = attempts.iter().find(|a| a.outcome.is_none()) {
        return StepState::Open(open.attempt());
    }
    let n = last.attempt();
    let timer_id = retry_timer_id(&step.id, n + 1);
    match h.timer(&timer_id).map(|t| t.state) {
        None => StepState::StartTimer(n),
        Some(TimerState::Running) => StepState::TimerRunning(timer_id),
        Some(TimerState::Fired(_) | TimerState::Canceled(_)) => StepState::Schedule(n + 1),
    }
}

fn schedule(
    def: &WorkflowDefinition,
    step: &Step,
    attempt: u32,
    context: &Value,
) -> Result<Decision, (String, String)> {
    let input = ActivityInput {
        context: context.clone(),
        step: step.id.clone(),
        attempt,
        workflow: def.name.clone(),
        params: step.params.clone(),
    };
    let input = serde_json::to_string(&input).map_err(|e| {
        (
            format!("{} attempt {attempt}: input could not be encoded", step.id),
            format!(
                "encoding the input of {} attempt {attempt} as JSON failed: {e}",
                step.id
            ),
        )
    })?;
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

fn parse_start_input(input: Option<&str>) -> Result<Map<String, Value>, String> {
    match input.map(str::trim) {
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

fn merge(into: &mut Map<String, Value>, from: &Map<String, Value>) {
    for (k, v) in from {
        into.insert(k.clone(), v.clone());
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
