//! Property tests of the decider: a simulated SWF loop with random outcomes.
//!
//! Each case generates a workflow definition (sequential and parallel
//! groups, per-step retry limits, `when` conditions) and a tape of random
//! choices. The loop asks the decider for decisions, checks them against an
//! independent model of what is allowed, records them in the history the
//! way SWF would, then lets the "world" act: some of the open activities
//! close (complete, fail retryable/permanent, one of the four timeouts,
//! canceled), some timers fire, sometimes an operator asks to cancel, and
//! several of these can land in one decision task. When the tape runs out,
//! every further attempt completes, so the loop must close the workflow.

use pressbot_core::activity::{ActivityFailure, ActivityInput, FailureKind};
use pressbot_core::decider::decide;
use pressbot_core::definition::WorkflowDefinition;
use pressbot_core::history::{ActivityTimeoutType, Decision};
use pressbot_core::ids::WorkflowId;
use pressbot_core::testing::HistoryBuilder;
use proptest::prelude::*;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Generated shape: groups of steps, each `(max_attempts, has_when)`.
type Shape = Vec<Vec<(u32, bool)>>;

fn step_name(g: usize, i: usize) -> String {
    format!("S{g}x{i}")
}

fn definition(shape: &Shape) -> WorkflowDefinition {
    let mut t = String::from(
        "name = \"Prop\"\nversion = \"1\"\nexecution_start_to_close = \"1h\"\n\
         [defaults]\nretry = { max_attempts = 3, initial = \"1s\", backoff = 2.0, max = \"1m\" }\n",
    );
    let retry = |max: u32| {
        format!(
            "retry = {{ max_attempts = {max}, initial = \"2s\", backoff = 2.0, max = \"30s\" }}"
        )
    };
    let when = "when = { key = \"mode\", equals = \"on\" }";
    for (g, group) in shape.iter().enumerate() {
        if let [(max, has_when)] = group[..] {
            // A lone step, written the usual way.
            t.push_str(&format!(
                "[[step]]\nactivity = \"{}\"\n{}\n",
                step_name(g, 0),
                retry(max)
            ));
            if has_when {
                t.push_str(when);
                t.push('\n');
            }
        } else {
            let items: Vec<String> = group
                .iter()
                .enumerate()
                .map(|(i, (max, has_when))| {
                    let mut s = format!("{{ activity = \"{}\", {}", step_name(g, i), retry(*max));
                    if *has_when {
                        s.push_str(", ");
                        s.push_str(when);
                    }
                    s.push_str(" }");
                    s
                })
                .collect();
            t.push_str(&format!("[[step]]\nparallel = [{}]\n", items.join(", ")));
        }
    }
    WorkflowDefinition::from_toml_str(&t, Path::new("prop.toml"), &|_| true)
        .unwrap_or_else(|e| panic!("generated definition is invalid: {e}\n{t}"))
}

/// Random choices, consumed as the simulation needs them; once exhausted,
/// every answer is 0 (activities complete, the first pending thing happens).
struct Tape {
    bytes: Vec<u8>,
    at: usize,
}

impl Tape {
    fn next(&mut self) -> Option<u8> {
        let b = self.bytes.get(self.at).copied();
        self.at += 1;
        b
    }
    fn pick(&mut self, n: usize) -> usize {
        self.next().map_or(0, |b| b as usize % n.max(1))
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Closed {
    Completed,
    Failed,
    Canceled,
}

/// What the test knows independently of the decider.
struct Model {
    def: WorkflowDefinition,
    start: Map<String, Value>,
    /// (step, result) in history order.
    completions: Vec<(String, Map<String, Value>)>,
    /// Highest attempt scheduled per step.
    attempts: BTreeMap<String, u32>,
    /// Step → open attempt.
    open: BTreeMap<String, u32>,
    completed: BTreeSet<String>,
    /// Steps whose last attempt failed, with the kind.
    last_failure: BTreeMap<String, FailureKind>,
    fired: BTreeSet<String>,
    cancel_requested: bool,
    /// SWF refused a ScheduleActivityTask or StartTimer decision.
    service_rejected: bool,
}

impl Model {
    fn group_of(&self, step: &str) -> usize {
        self.def
            .groups
            .iter()
            .position(|g| g.iter().any(|s| s.id == step))
            .expect("step in definition")
    }

    fn context(&self) -> Map<String, Value> {
        let mut c = self.start.clone();
        for (_, m) in &self.completions {
            c.extend(m.clone());
        }
        c
    }

    fn entry_context(&self, group: usize) -> Value {
        let mut c = self.start.clone();
        for (s, m) in &self.completions {
            if self.group_of(s) < group {
                c.extend(m.clone());
            }
        }
        Value::Object(c)
    }

    fn skipped(&self, group: usize, step: &str) -> bool {
        let s = self.def.step(step).expect("step");
        !self.attempts.contains_key(step)
            && s.when
                .as_ref()
                .is_some_and(|w| !w.matches(&self.entry_context(group)))
    }

    fn group_done(&self, g: usize) -> bool {
        self.def.groups[g]
            .iter()
            .all(|s| self.completed.contains(&s.id) || self.skipped(g, &s.id))
    }

    fn current_group(&self) -> Option<usize> {
        (0..self.def.groups.len()).find(|g| !self.group_done(*g))
    }

    fn failed_for_good(&self) -> bool {
        self.last_failure.iter().any(|(s, k)| {
            *k == FailureKind::Permanent
                || (!self.open.contains_key(s)
                    && self.attempts.get(s).copied().unwrap_or(0)
                        >= self.def.step(s).expect("step").retry.max_attempts)
        })
    }

    /// Check one response of the decider against the model.
    fn check(&self, h: &HistoryBuilder, decisions: &[Decision]) -> Result<(), TestCaseError> {
        let closes = decisions.iter().filter(|d| d.is_close()).count();
        prop_assert!(closes <= 1, "two close decisions: {decisions:?}");
        if closes == 1 {
            prop_assert!(
                decisions.last().is_some_and(Decision::is_close),
                "close not last"
            );
        }
        if self.cancel_requested {
            prop_assert!(
                matches!(
                    decisions.last(),
                    Some(Decision::CancelWorkflowExecution { .. })
                ),
                "cancel requested but got {decisions:?}"
            );
        }
        if self.service_rejected && !self.cancel_requested {
            prop_assert!(
                matches!(
                    decisions.last(),
                    Some(Decision::FailWorkflowExecution { .. })
                ),
                "SWF refused a decision but the workflow goes on: {decisions:?}"
            );
        }
        let open_timers = h.open_timers();
        let mut new_timers = BTreeSet::new();
        let current = self.current_group();
        for d in decisions {
            match d {
                Decision::ScheduleActivityTask {
                    activity_id,
                    input,
                    control,
                    ..
                } => {
                    let (step, attempt) = activity_id.rsplit_once('#').expect("step#attempt");
                    let attempt: u32 = attempt.parse().expect("attempt number");
                    let def_step = self.def.step(step).expect("scheduled step exists");
                    prop_assert!(
                        !self.completed.contains(step),
                        "{step} scheduled again after completing"
                    );
                    prop_assert!(!self.open.contains_key(step), "{step} scheduled while open");
                    prop_assert_eq!(attempt, self.attempts.get(step).copied().unwrap_or(0) + 1);
                    prop_assert!(
                        attempt <= def_step.retry.max_attempts,
                        "{activity_id} over max_attempts"
                    );
                    if attempt > 1 {
                        let t = format!("retry:{step}#{attempt}");
                        prop_assert!(
                            self.fired.contains(&t),
                            "{activity_id} before its timer fired"
                        );
                    }
                    let g = self.group_of(step);
                    prop_assert_eq!(
                        Some(g),
                        current,
                        "{} scheduled outside the current group",
                        step
                    );
                    prop_assert!(
                        !self.skipped(g, step),
                        "{step} scheduled though its `when` fails"
                    );
                    let want_control = json!({"step": step, "attempt": attempt}).to_string();
                    prop_assert_eq!(control.as_deref(), Some(want_control.as_str()));
                    let input: ActivityInput =
                        serde_json::from_str(input.as_deref().expect("input")).expect("input json");
                    prop_assert_eq!(input.context, Value::Object(self.context()));
                    prop_assert_eq!(input.attempt, attempt);
                    prop_assert_eq!(input.step.as_str(), step);
                }
                Decision::StartTimer { timer_id, .. } => {
                    prop_assert!(
                        !open_timers.contains(timer_id),
                        "timer {timer_id} already running"
                    );
                    prop_assert!(
                        new_timers.insert(timer_id.clone()),
                        "timer {timer_id} twice"
                    );
                    let (step, next) = timer_id
                        .strip_prefix("retry:")
                        .and_then(|t| t.rsplit_once('#'))
                        .expect("retry timer id");
                    let next: u32 = next.parse().expect("attempt");
                    prop_assert_eq!(next, self.attempts.get(step).copied().unwrap_or(0) + 1);
                    prop_assert!(!self.open.contains_key(step));
                    prop_assert_eq!(self.last_failure.get(step), Some(&FailureKind::Retryable));
                    prop_assert!(next <= self.def.step(step).expect("step").retry.max_attempts);
                }
                Decision::RequestCancelActivityTask { activity_id } => {
                    let (step, attempt) = activity_id.rsplit_once('#').expect("step#attempt");
                    prop_assert_eq!(
                        self.open.get(step).map(u32::to_string),
                        Some(attempt.to_owned())
                    );
                    prop_assert!(closes == 1, "cancel of an activity without closing");
                }
                Decision::CompleteWorkflowExecution { result } => {
                    prop_assert!(
                        current.is_none(),
                        "completed with group {current:?} unfinished"
                    );
                    for (g, group) in self.def.groups.iter().enumerate() {
                        for s in group {
                            prop_assert!(
                                self.completed.contains(&s.id) || self.skipped(g, &s.id),
                                "completed without {}",
                                s.id
                            );
                        }
                    }
                    prop_assert!(self.open.is_empty());
                    let r: Value =
                        serde_json::from_str(result.as_deref().expect("result")).expect("json");
                    prop_assert_eq!(r, Value::Object(self.context()));
                }
                Decision::FailWorkflowExecution { reason, .. } => {
                    prop_assert!(
                        self.failed_for_good() || self.service_rejected,
                        "failed without cause: {reason:?}"
                    );
                    let reason = reason.as_deref().unwrap_or("");
                    prop_assert!(
                        reason.contains(" failed on attempt ")
                            || reason.contains(" could not be scheduled ")
                            || reason.contains(" could not be started: "),
                        "{reason}"
                    );
                }
                Decision::CancelWorkflowExecution { .. } => {
                    prop_assert!(self.cancel_requested);
                }
            }
        }
        Ok(())
    }

    fn apply_schedules(&mut self, decisions: &[Decision]) {
        for d in decisions {
            if let Decision::ScheduleActivityTask { activity_id, .. } = d {
                let (step, attempt) = activity_id.rsplit_once('#').expect("id");
                let attempt: u32 = attempt.parse().expect("attempt");
                self.attempts.insert(step.to_owned(), attempt);
                self.open.insert(step.to_owned(), attempt);
            }
        }
    }
}

const TIMEOUTS: [ActivityTimeoutType; 4] = [
    ActivityTimeoutType::StartToClose,
    ActivityTimeoutType::ScheduleToStart,
    ActivityTimeoutType::ScheduleToClose,
    ActivityTimeoutType::Heartbeat,
];

/// Run the loop; returns how the workflow closed.
fn simulate(
    shape: &Shape,
    start_on: bool,
    tape: Vec<u8>,
    cancel_at: Option<u8>,
    reject_first_close: bool,
    reject_at: Option<u8>,
) -> Result<Closed, TestCaseError> {
    let def = definition(shape);
    let wf = WorkflowId::from("Prop-1");
    let start = if start_on {
        json!({"mode": "on", "n": 0})
    } else {
        json!({"n": 0})
    };
    let mut h = HistoryBuilder::start(start.clone());
    h.decision_started();
    let mut model = Model {
        def: def.clone(),
        start: start.as_object().cloned().unwrap_or_default(),
        completions: Vec::new(),
        attempts: BTreeMap::new(),
        open: BTreeMap::new(),
        completed: BTreeSet::new(),
        last_failure: BTreeMap::new(),
        fired: BTreeSet::new(),
        cancel_requested: false,
        service_rejected: false,
    };
    let mut tape = Tape { bytes: tape, at: 0 };
    let mut rejected = !reject_first_close;
    let max_rounds = 20
        + 3 * def
            .steps()
            .map(|s| s.retry.max_attempts as usize)
            .sum::<usize>();
    for round in 0..max_rounds {
        let out = decide(&def, &wf, h.events());
        prop_assert_eq!(
            &out,
            &decide(&def, &wf, h.events()),
            "deciding twice differs"
        );
        model.check(&h, &out.decisions)?;
        let close = out.decisions.last().filter(|d| d.is_close()).cloned();
        if let Some(close) = &close {
            if !rejected {
                // SWF rejects the whole response (a new event arrived while
                // deciding); the decider must reach the same close again.
                rejected = true;
                h.decision_completed().complete_failed("UNHANDLED_DECISION");
                h.signaled("late", None).decision_started();
                continue;
            }
            h.respond(&out.decisions);
            // Closed: nothing more to decide.
            prop_assert!(decide(&def, &wf, h.events()).decisions.is_empty());
            return Ok(match close {
                Decision::CompleteWorkflowExecution { .. } => Closed::Completed,
                Decision::FailWorkflowExecution { .. } => Closed::Failed,
                _ => Closed::Canceled,
            });
        }
        let refusable = |d: &Decision| {
            matches!(
                d,
                Decision::ScheduleActivityTask { .. } | Decision::StartTimer { .. }
            )
        };
        if reject_at == Some(round as u8) && out.decisions.iter().any(refusable) {
            // SWF refuses the first schedule or timer of this response.
            h.decision_completed();
            let mut refused = false;
            let mut accepted = Vec::new();
            for d in &out.decisions {
                match d {
                    Decision::ScheduleActivityTask { activity_id, .. } if !refused => {
                        refused = true;
                        let (s, a) = activity_id.rsplit_once('#').expect("id");
                        h.schedule_failed(
                            s,
                            a.parse().expect("attempt"),
                            "OPEN_ACTIVITIES_LIMIT_EXCEEDED",
                        );
                    }
                    Decision::StartTimer { timer_id, .. } if !refused => {
                        refused = true;
                        h.start_timer_failed(timer_id, "TIMER_CREATION_RATE_EXCEEDED");
                    }
                    other => {
                        h.apply(other);
                        accepted.push(other.clone());
                    }
                }
            }
            model.service_rejected = true;
            model.apply_schedules(&accepted);
        } else {
            h.respond(&out.decisions);
            model.apply_schedules(&out.decisions);
        }

        // The world acts: one or more pending things happen before the next
        // decision task.
        let mut pending: Vec<(bool, String)> = model
            .open
            .iter()
            .map(|(s, a)| (true, format!("{s}#{a}")))
            .chain(h.open_timers().into_iter().map(|t| (false, t)))
            .collect();
        prop_assert!(
            !pending.is_empty() || model.cancel_requested || model.service_rejected,
            "stuck in round {round}: no decisions and nothing pending\n{:?}",
            h.events()
        );
        let happen = 1 + tape.pick(pending.len().min(3));
        for _ in 0..happen {
            if pending.is_empty() {
                break;
            }
            let (is_activity, id) = pending.remove(tape.pick(pending.len()));
            if !is_activity {
                h.timer_fired(&id);
                model.fired.insert(id);
                continue;
            }
            let (step, attempt) = id.rsplit_once('#').expect("id");
            let attempt: u32 = attempt.parse().expect("attempt");
            let step = step.to_owned();
            let choice = tape.next().map_or(0, |b| b % 13);
            if choice != 1 {
                h.started(&step, attempt);
            }
            model.open.remove(&step);
            match choice {
                0..=4 => {
                    let mut result = Map::new();
                    result.insert(format!("out_{step}"), json!(attempt));
                    result.insert("n".into(), json!(round));
                    match tape.next().map(|b| b % 4) {
                        Some(0) => {
                            result.insert("mode".into(), json!("on"));
                        }
                        Some(1) => {
                            result.insert("mode".into(), json!("off"));
                        }
                        _ => {}
                    }
                    h.completed(&step, attempt, Value::Object(result.clone()));
                    model.completions.push((step.clone(), result));
                    model.completed.insert(step.clone());
                    model.last_failure.remove(&step);
                }
                5 | 6 => {
                    h.failed(&step, attempt, ActivityFailure::retryable("busy"));
                    model.last_failure.insert(step, FailureKind::Retryable);
                }
                7 => {
                    h.failed(&step, attempt, ActivityFailure::permanent("bad input"));
                    model.last_failure.insert(step, FailureKind::Permanent);
                }
                8..=11 => {
                    h.timed_out(&step, attempt, TIMEOUTS[usize::from(choice - 8)]);
                    model.last_failure.insert(step, FailureKind::Retryable);
                }
                _ => {
                    h.canceled(&step, attempt);
                    model.last_failure.insert(step, FailureKind::Retryable);
                }
            }
        }
        if cancel_at == Some(round as u8) && !model.cancel_requested {
            h.cancel_requested();
            model.cancel_requested = true;
        }
        h.decision_started();
    }
    Err(TestCaseError::fail(format!(
        "no close decision within {max_rounds} rounds\n{:#?}",
        h.events()
    )))
}

fn shape() -> impl Strategy<Value = Shape> {
    prop::collection::vec(
        prop::collection::vec((1u32..=4, prop::bool::weighted(0.25)), 1..=3),
        1..=4,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn simulated_service_loop_keeps_every_invariant(
        shape in shape(),
        start_on in any::<bool>(),
        tape in prop::collection::vec(any::<u8>(), 0..80),
        cancel_at in prop::option::weighted(0.1, 0u8..12),
        reject_first_close in prop::bool::weighted(0.2),
        reject_at in prop::option::weighted(0.1, 0u8..12),
    ) {
        let closed = simulate(&shape, start_on, tape, cancel_at, reject_first_close, reject_at)?;
        if cancel_at.is_none() {
            prop_assert_ne!(closed, Closed::Canceled);
        }
    }

    /// With every attempt succeeding, the workflow always completes.
    #[test]
    fn all_success_always_completes(shape in shape(), start_on in any::<bool>()) {
        prop_assert_eq!(simulate(&shape, start_on, Vec::new(), None, false, None)?, Closed::Completed);
    }

    /// Deciding a prefix of any history twice gives the same decisions, and
    /// the decider never panics on truncated histories.
    #[test]
    fn deciding_any_prefix_is_deterministic(shape in shape(), tape in prop::collection::vec(any::<u8>(), 0..60), cut in any::<prop::sample::Index>()) {
        let def = definition(&shape);
        let wf = WorkflowId::from("Prop-2");
        let mut h = HistoryBuilder::start(json!({}));
        h.decision_started();
        let mut tape = Tape { bytes: tape, at: 0 };
        // A quick loop: apply decisions, complete or fail every open activity.
        for _ in 0..30 {
            let out = decide(&def, &wf, h.events());
            h.respond(&out.decisions);
            if out.decisions.last().is_some_and(Decision::is_close) {
                break;
            }
            let scheduled: Vec<String> = out.decisions.iter().filter_map(|d| match d {
                Decision::ScheduleActivityTask { activity_id, .. } => Some(activity_id.clone()),
                _ => None,
            }).collect();
            for id in scheduled {
                let (s, a) = id.rsplit_once('#').expect("id");
                let a: u32 = a.parse().expect("n");
                if tape.pick(3) == 0 {
                    h.failed(s, a, ActivityFailure::retryable("x"));
                } else {
                    h.completed(s, a, json!({ s: a }));
                }
            }
            for t in h.open_timers() {
                h.timer_fired(&t);
            }
            h.decision_started();
        }
        let events = h.build();
        let prefix = &events[..=cut.index(events.len())];
        prop_assert_eq!(decide(&def, &wf, prefix), decide(&def, &wf, prefix));
    }
}
