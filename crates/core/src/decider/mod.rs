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
//! Conventions the decider relies on (which `testing::HistoryBuilder`, under
//! the `test-util` feature, reproduces):
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
//!
//! Layout: `parsed` folds the history into records (one pass, shared with
//! `timeline`, which renders it for `pressbot history`); `context` merges
//! results into the context and `scan` reads their keys without building
//! values; `ids` holds the id conventions above. This file decides.

mod context;
mod ids;
mod parsed;
mod scan;
mod timeline;

pub use self::context::{result_json, TRUNCATED_KEY};
pub use self::ids::{activity_id, control_json, parse_step_ref, parse_timer_id, retry_timer_id};
pub use self::timeline::{timeline, TimelineRow};
/// Kept here for callers that found it beside the timer ids; the causes
/// SWF names live in [`crate::causes`].
pub use crate::causes::TIMER_ID_ALREADY_IN_USE;

use self::context::{note_object, GroupEntry, KeyTable, Source};
use self::parsed::{failure_kind, Outcome, Parsed, TimerState};
use crate::activity::FailureKind;
use crate::definition::{Step, WorkflowDefinition};
use crate::history::{limits, truncate, Decision, HistoryEvent};
use crate::ids::{TypeRef, WorkflowId};
use rustc_hash::FxHashMap as HashMap;
use serde_json::Value;
use std::borrow::Cow;

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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::path::Path;

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
}
