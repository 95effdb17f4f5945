//! The optimized decider against the original one, on hostile histories.
//!
//! `decide` was rewritten for speed (borrowing from the events, merging
//! results lazily); "identical behaviour" is the requirement, so this test
//! keeps the original implementation (`tests/reference/decider_v1.rs`) as
//! an oracle and checks that both give the same decisions, context, summary
//! and timeline for every prefix of randomly generated histories. Unlike
//! `decider_props.rs`, the histories here need not be ones SWF would
//! record: events arrive in any order, name unknown steps or scheduled ids,
//! and results include every JSON oddity serde_json treats specially (lone
//! surrogates, numbers out of range, duplicate keys, deep nesting, escaped
//! keys, trailing characters, oversized values).
//!
//! Cases: `PROPTEST_CASES` (default 1000).

#[path = "reference/decider_v1.rs"]
mod reference;

use pressbot_core::decider::{decide, timeline};
use pressbot_core::definition::WorkflowDefinition;
use pressbot_core::history::{ActivityTimeoutType, ActivityTimeouts, EventKind, HistoryEvent};
use pressbot_core::ids::{TypeRef, WorkflowId};
use pressbot_core::time::Timestamp;
use proptest::prelude::*;
use std::path::Path;
use std::time::Duration;

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000)
}

/// Groups of `(max_attempts, has_when, has_params)`.
type Shape = Vec<Vec<(u32, bool, bool)>>;

fn step_name(g: usize, i: usize) -> String {
    format!("S{g}x{i}")
}

fn definition(shape: &Shape) -> WorkflowDefinition {
    let mut t = String::from(
        "name = \"Eq\"\nversion = \"1\"\nexecution_start_to_close = \"1h\"\n\
         [defaults]\nretry = { max_attempts = 3, initial = \"1s\", backoff = 2.0, max = \"1m\" }\n",
    );
    for (g, group) in shape.iter().enumerate() {
        let items: Vec<String> = group
            .iter()
            .enumerate()
            .map(|(i, (max, has_when, has_params))| {
                let mut s = format!(
                    "{{ activity = \"{}\", retry = {{ max_attempts = {max}, initial = \"2s\", \
                     backoff = 2.0, max = \"30s\" }}",
                    step_name(g, i)
                );
                if *has_when {
                    s.push_str(", when = { key = \"mode\", equals = \"on\" }");
                }
                if *has_params {
                    s.push_str(", params = { size = 3, name = \"x\\u00e9\" }");
                }
                s.push_str(" }");
                s
            })
            .collect();
        t.push_str(&format!("[[step]]\nparallel = [{}]\n", items.join(", ")));
    }
    WorkflowDefinition::from_toml_str(&t, Path::new("eq.toml"), &|_| true)
        .unwrap_or_else(|e| panic!("generated definition is invalid: {e}\n{t}"))
}

/// Start inputs: good, empty, and each way of being malformed.
fn start_inputs() -> Vec<Option<String>> {
    [
        None,
        Some(""),
        Some("   "),
        Some("null"),
        Some(r#"{"mode":"on","article_id":"00353"}"#),
        Some(r#"{"mode":"off","z":1,"a":[1,2]}"#),
        Some(r#" {"mode":"on","mode":"off"} "#),
        Some(r#"{"m\u006fde":"on"}"#),
        Some("[1,2]"),
        Some("\"text\""),
        Some("{not json"),
        Some(r#"{"a":"\ud800"}"#),
        Some(r#"{"a":1e400}"#),
    ]
    .into_iter()
    .map(|s| s.map(str::to_owned))
    .collect()
}

/// Activity results: every shape `parse_result` treats differently.
fn results() -> Vec<Option<String>> {
    let mut v: Vec<Option<String>> = [
        None,
        Some(""),
        Some("  \n"),
        Some("null"),
        Some(" null "),
        Some("{}"),
        Some(r#"{"status":"ok","files":1}"#),
        Some(r#"{"mode":"on"}"#),
        Some(r#"{"mode":"off","x":[1,{"y":null}]}"#),
        Some(r#"{"a":2,"a":3}"#),
        Some(r#"{"k\u00e9y":"v","k\"q":1,"mode":"o\u006e"}"#),
        Some(r#"{"z":1.5e3,"n":-0.0,"big":18446744073709551616,"neg":-9223372036854775809}"#),
        Some(r#"{"_pressbot_truncated":true}"#),
        Some(r#"  {"spaced" : [ 1 , 2 ] }  "#),
        Some("[1]"),
        Some("\"s\""),
        Some("1"),
        Some("true"),
        Some("{bad"),
        Some(r#"{"a":1} x"#),
        Some(r#"{"a":1,}"#),
        Some(r#"{"a":"\ud800"}"#),
        Some(r#"{"a":"\udc00\ud800"}"#),
        Some(r#"{"a":"\ud83d\ude00"}"#),
        Some(r#"{"a":1e400}"#),
        Some(r#"{"a":-1e400}"#),
        Some(r#"{"a":1e-400}"#),
        Some(r#"{"a":01}"#),
        Some(r#"{"a":"tab	in string"}"#),
        Some(r#"{"a":"\x"}"#),
        Some("{\"a\":\"\u{1}\"}"),
        Some(r#"{1:2}"#),
    ]
    .into_iter()
    .map(|s| s.map(str::to_owned))
    .collect();
    // Nesting around serde_json's recursion limit of 128.
    for depth in [126, 127, 128, 129, 200] {
        v.push(Some(format!(
            "{{\"deep\":{}{}}}",
            "[".repeat(depth),
            "]".repeat(depth)
        )));
    }
    // Strings as brackets must not count as nesting.
    v.push(Some(format!("{{\"brackets\":\"{}\"}}", "[".repeat(300))));
    // Over SWF's input and result limits once in the context.
    v.push(Some(format!("{{\"huge\":\"{}\"}}", "y".repeat(40_000))));
    v.push(Some(format!("{{\"half\":\"{}\"}}", "h".repeat(20_000))));
    v
}

#[derive(Debug, Clone)]
enum Op {
    /// Schedule attempt of step `step` (index into the definition's steps,
    /// or past them for an unknown step); `control` picks how it is named.
    Schedule {
        step: usize,
        attempt: u32,
        control: u8,
    },
    Started(usize),
    Completed(usize, usize),
    Failed(usize, u8),
    TimedOut(usize, u8),
    Canceled(usize),
    CancelActivity(usize),
    ScheduleFailed {
        step: usize,
        attempt: u32,
    },
    TimerStarted {
        step: usize,
        attempt: u32,
        other: bool,
    },
    TimerFired(usize),
    TimerCanceled(usize),
    StartTimerFailed {
        step: usize,
        attempt: u32,
        in_use: bool,
    },
    Noise(u8),
    CancelRequested(bool),
    Close(u8),
}

fn op() -> impl Strategy<Value = Op> {
    let idx = 0usize..12;
    prop_oneof![
        6 => (0usize..8, 1u32..6, 0u8..8).prop_map(|(step, attempt, control)| Op::Schedule { step, attempt, control }),
        3 => idx.clone().prop_map(Op::Started),
        6 => (idx.clone(), 0usize..64).prop_map(|(a, r)| Op::Completed(a, r)),
        3 => (idx.clone(), 0u8..6).prop_map(|(a, r)| Op::Failed(a, r)),
        2 => (idx.clone(), 0u8..4).prop_map(|(a, t)| Op::TimedOut(a, t)),
        1 => idx.clone().prop_map(Op::Canceled),
        1 => idx.clone().prop_map(Op::CancelActivity),
        1 => (0usize..8, 1u32..6).prop_map(|(step, attempt)| Op::ScheduleFailed { step, attempt }),
        3 => (0usize..8, 1u32..6, proptest::bool::weighted(0.1)).prop_map(|(step, attempt, other)| Op::TimerStarted { step, attempt, other }),
        3 => idx.clone().prop_map(Op::TimerFired),
        1 => idx.clone().prop_map(Op::TimerCanceled),
        1 => (0usize..8, 1u32..6, any::<bool>()).prop_map(|(step, attempt, in_use)| Op::StartTimerFailed { step, attempt, in_use }),
        2 => (0u8..6).prop_map(Op::Noise),
        1 => proptest::bool::weighted(0.3).prop_map(Op::CancelRequested),
        1 => (0u8..12).prop_map(Op::Close),
    ]
}

/// Build the history: ids dense from 1, one second apart. Ops that refer to
/// "the k-th scheduled activity" or "the k-th timer" pick among those seen
/// so far (or a scheduled id that does not exist when there are none).
fn build(def: &WorkflowDefinition, start: Option<Option<String>>, ops: &[Op]) -> Vec<HistoryEvent> {
    let steps: Vec<String> = def.steps().map(|s| s.id.clone()).collect();
    let step_id = |i: usize| {
        steps
            .get(i)
            .cloned()
            .unwrap_or_else(|| format!("Unknown{i}"))
    };
    let mut events: Vec<HistoryEvent> = Vec::new();
    let push = |events: &mut Vec<HistoryEvent>, kind: EventKind| {
        let id = events.len() as i64 + 1;
        events.push(HistoryEvent {
            id,
            timestamp: Timestamp(1_767_225_600_000 + id * 1000),
            kind,
        });
    };
    if let Some(input) = start {
        push(
            &mut events,
            EventKind::WorkflowExecutionStarted {
                workflow_type: TypeRef::new("Eq", "1"),
                input,
                task_list: "default".into(),
                execution_start_to_close: None,
            },
        );
    }
    let results = results();
    // (scheduled event id, activity id)
    let mut scheduled: Vec<(i64, String)> = Vec::new();
    let mut timers: Vec<String> = Vec::new();
    let sched = |scheduled: &[(i64, String)], k: usize| {
        if scheduled.is_empty() {
            (999, "Nothing#1".to_owned())
        } else {
            scheduled[k % scheduled.len()].clone()
        }
    };
    for op in ops {
        match op {
            Op::Schedule {
                step,
                attempt,
                control,
            } => {
                let s = step_id(*step);
                let (activity_id, control) = match control {
                    0..=3 => (
                        format!("{s}#{attempt}"),
                        Some(format!("{{\"step\":\"{s}\",\"attempt\":{attempt}}}")),
                    ),
                    4 => (format!("{s}#{attempt}"), None),
                    5 => (format!("{s}#{attempt}"), Some("not json".into())),
                    6 => ("no-hash".into(), None),
                    _ => (
                        format!("x#{attempt}"),
                        Some(format!(
                            "{{\"attempt\":{attempt},\"step\":\"{s}\",\"extra\":[1]}}"
                        )),
                    ),
                };
                let id = events.len() as i64 + 1;
                scheduled.push((id, activity_id.clone()));
                push(
                    &mut events,
                    EventKind::ActivityTaskScheduled {
                        activity_id,
                        activity_type: TypeRef::new(&s, "1"),
                        input: None,
                        control,
                        task_list: "default".into(),
                        timeouts: ActivityTimeouts::default(),
                        decision_task_completed_event_id: 0,
                    },
                );
            }
            Op::Started(k) => {
                let (id, _) = sched(&scheduled, *k);
                push(
                    &mut events,
                    EventKind::ActivityTaskStarted {
                        scheduled_event_id: id,
                        identity: None,
                    },
                );
            }
            Op::Completed(k, r) => {
                let (id, _) = sched(&scheduled, *k);
                push(
                    &mut events,
                    EventKind::ActivityTaskCompleted {
                        scheduled_event_id: id,
                        started_event_id: 0,
                        result: results[r % results.len()].clone(),
                    },
                );
            }
            Op::Failed(k, r) => {
                let (id, _) = sched(&scheduled, *k);
                let (reason, details) = match r {
                    0 => (Some("retryable: busy"), Some("CMS answered 503")),
                    1 => (Some("permanent: bad zip"), Some("no JATS XML")),
                    2 => (Some("worker crashed"), None),
                    3 => (None, None),
                    4 => (Some("permanent"), Some("")),
                    _ => (Some("retryable:"), None),
                };
                push(
                    &mut events,
                    EventKind::ActivityTaskFailed {
                        scheduled_event_id: id,
                        started_event_id: 0,
                        reason: reason.map(str::to_owned),
                        details: details.map(str::to_owned),
                    },
                );
            }
            Op::TimedOut(k, t) => {
                let (id, _) = sched(&scheduled, *k);
                let timeout_type = [
                    ActivityTimeoutType::StartToClose,
                    ActivityTimeoutType::ScheduleToStart,
                    ActivityTimeoutType::ScheduleToClose,
                    ActivityTimeoutType::Heartbeat,
                ][*t as usize % 4];
                push(
                    &mut events,
                    EventKind::ActivityTaskTimedOut {
                        scheduled_event_id: id,
                        started_event_id: 0,
                        timeout_type,
                        details: None,
                    },
                );
            }
            Op::Canceled(k) => {
                let (id, _) = sched(&scheduled, *k);
                push(
                    &mut events,
                    EventKind::ActivityTaskCanceled {
                        scheduled_event_id: id,
                        started_event_id: 0,
                        details: (k % 2 == 0).then(|| "stopped".to_owned()),
                    },
                );
            }
            Op::CancelActivity(k) => {
                let (_, activity_id) = sched(&scheduled, *k);
                push(
                    &mut events,
                    EventKind::ActivityTaskCancelRequested { activity_id },
                );
            }
            Op::ScheduleFailed { step, attempt } => {
                let s = step_id(*step);
                push(
                    &mut events,
                    EventKind::ScheduleActivityTaskFailed {
                        activity_id: if *attempt == 5 {
                            s.clone()
                        } else {
                            format!("{s}#{attempt}")
                        },
                        activity_type: TypeRef::new(&s, "1"),
                        cause: "ACTIVITY_TYPE_DEPRECATED".into(),
                    },
                );
            }
            Op::TimerStarted {
                step,
                attempt,
                other,
            } => {
                let timer_id = if *other {
                    format!("other-{step}")
                } else {
                    format!("retry:{}#{}", step_id(*step), attempt)
                };
                timers.push(timer_id.clone());
                push(
                    &mut events,
                    EventKind::TimerStarted {
                        timer_id,
                        control: None,
                        start_to_fire: Duration::from_secs(*attempt as u64),
                    },
                );
            }
            Op::TimerFired(k) | Op::TimerCanceled(k) => {
                let timer_id = if timers.is_empty() {
                    "retry:S0x0#2".to_owned()
                } else {
                    timers[k % timers.len()].clone()
                };
                let kind = if matches!(op, Op::TimerFired(_)) {
                    EventKind::TimerFired {
                        timer_id,
                        started_event_id: 0,
                    }
                } else {
                    EventKind::TimerCanceled {
                        timer_id,
                        started_event_id: 0,
                    }
                };
                push(&mut events, kind);
            }
            Op::StartTimerFailed {
                step,
                attempt,
                in_use,
            } => {
                let timer_id = if *attempt == 5 {
                    "weird".to_owned()
                } else {
                    format!("retry:{}#{}", step_id(*step), attempt)
                };
                push(
                    &mut events,
                    EventKind::StartTimerFailed {
                        timer_id,
                        cause: if *in_use {
                            "TIMER_ID_ALREADY_IN_USE".into()
                        } else {
                            "TIMER_CREATION_RATE_EXCEEDED".into()
                        },
                    },
                );
            }
            Op::Noise(n) => {
                let kind = match n {
                    0 => EventKind::DecisionTaskScheduled {
                        task_list: "default".into(),
                    },
                    1 => EventKind::DecisionTaskStarted {
                        scheduled_event_id: 0,
                        identity: None,
                    },
                    2 => EventKind::DecisionTaskCompleted {
                        scheduled_event_id: 0,
                        started_event_id: 0,
                        execution_context: None,
                    },
                    3 => EventKind::WorkflowExecutionSignaled {
                        signal_name: "s".into(),
                        input: None,
                    },
                    4 => EventKind::CompleteWorkflowExecutionFailed {
                        cause: "UNHANDLED_DECISION".into(),
                    },
                    _ => EventKind::Other {
                        name: "MarkerRecorded".into(),
                    },
                };
                push(&mut events, kind);
            }
            Op::CancelRequested(with_cause) => push(
                &mut events,
                EventKind::WorkflowExecutionCancelRequested {
                    cause: with_cause.then(|| "operator".to_owned()),
                },
            ),
            Op::Close(c) => {
                // Mostly not a close: closes end the interesting part.
                let kind = match c {
                    0 => EventKind::WorkflowExecutionCompleted { result: None },
                    1 => EventKind::WorkflowExecutionFailed {
                        reason: Some("r".into()),
                        details: None,
                    },
                    2 => EventKind::WorkflowExecutionCanceled { details: None },
                    3 => EventKind::WorkflowExecutionTerminated { reason: None },
                    4 => EventKind::WorkflowExecutionTimedOut,
                    _ => EventKind::DecisionTaskTimedOut {
                        scheduled_event_id: 0,
                        started_event_id: 0,
                    },
                };
                push(&mut events, kind);
            }
        }
    }
    events
}

fn shape() -> impl Strategy<Value = Shape> {
    prop::collection::vec(
        prop::collection::vec(
            (
                1u32..5,
                proptest::bool::weighted(0.3),
                proptest::bool::weighted(0.2),
            ),
            1..4,
        ),
        1..4,
    )
}

fn start() -> impl Strategy<Value = Option<Option<String>>> {
    let inputs = start_inputs();
    let n = inputs.len();
    prop_oneof![
        1 => Just(None),
        12 => (0..n).prop_map(move |i| Some(inputs[i].clone())),
    ]
}

/// Compare both deciders on every prefix of `events`.
fn check(def: &WorkflowDefinition, wf: &WorkflowId, events: &[HistoryEvent]) {
    for end in 0..=events.len() {
        let h = &events[..end];
        let new = decide(def, wf, h);
        let old = reference::decide(def, wf, h);
        assert_eq!(
            new.decisions, old.decisions,
            "decisions differ at {end} events: {h:#?}"
        );
        assert_eq!(
            new.context, old.context,
            "context differs at {end} events: {h:#?}"
        );
        assert_eq!(
            new.summary, old.summary,
            "summary differs at {end} events: {h:#?}"
        );
        assert_eq!(
            format!("{:?}", timeline(Some(def), h)),
            format!("{:?}", reference::timeline(Some(def), h)),
            "timeline differs at {end} events"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn optimized_decider_decides_as_the_original(
        shape in shape(),
        start in start(),
        ops in prop::collection::vec(op(), 0..40),
        wf in prop_oneof![Just("wf-1"), Just("Bench-00353")],
    ) {
        let def = definition(&shape);
        let events = build(&def, start, &ops);
        check(&def, &WorkflowId::from(wf), &events);
    }
}

/// Long, well-formed histories (the bench's shapes), where the rewrite's
/// indexes and lazy merging matter most.
#[test]
fn long_simulated_histories_decide_as_the_original() {
    use pressbot_core::activity::ActivityFailure;
    use pressbot_core::decider::parse_step_ref;
    use pressbot_core::history::Decision;
    use pressbot_core::testing::HistoryBuilder;
    use serde_json::json;

    let shape: Shape = (0..12)
        .map(|g| {
            (0..(g % 4) + 1)
                .map(|i| (3, (g + i) % 5 == 3, i == 1))
                .collect()
        })
        .collect();
    let def = definition(&shape);
    let wf = WorkflowId::from("wf-long");
    let mut b = HistoryBuilder::start(json!({"mode": "on", "run": "r1"}));
    b.decision_scheduled().decision_started();
    for round in 0..200 {
        check_one(&def, &wf, b.events());
        let out = decide(&def, &wf, b.events());
        if out.decisions.is_empty() || out.decisions.iter().any(Decision::is_close) {
            break;
        }
        b.respond(&out.decisions);
        for (i, d) in out.decisions.iter().enumerate() {
            match d {
                Decision::ScheduleActivityTask {
                    activity_id,
                    control,
                    ..
                } => {
                    let (step, attempt) = parse_step_ref(control.as_deref(), activity_id).unwrap();
                    b.started(&step, attempt);
                    if (round + i) % 3 == 1 && attempt < 3 {
                        b.failed(&step, attempt, ActivityFailure::retryable("busy"));
                    } else {
                        b.completed(
                            &step,
                            attempt,
                            json!({"mode": if round % 2 == 0 { "on" } else { "off" },
                                   step.clone(): round, "n": attempt}),
                        );
                    }
                }
                Decision::StartTimer { timer_id, .. } => {
                    b.timer_fired(timer_id);
                }
                _ => {}
            }
        }
        b.decision_scheduled().decision_started();
    }
    check_one(&def, &wf, b.events());
}

fn check_one(def: &WorkflowDefinition, wf: &WorkflowId, h: &[HistoryEvent]) {
    let new = decide(def, wf, h);
    let old = reference::decide(def, wf, h);
    assert_eq!(new.decisions, old.decisions);
    assert_eq!(new.context, old.context);
    assert_eq!(new.summary, old.summary);
}
