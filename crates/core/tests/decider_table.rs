//! Table tests of the decider: one history per case, the exact decisions expected.

use pressbot_core::activity::{ActivityFailure, ActivityInput};
use pressbot_core::decider::{decide, fail_unknown_workflow, timeline, Decisions, TRUNCATED_KEY};
use pressbot_core::definition::WorkflowDefinition;
use pressbot_core::history::{limits, ActivityTimeoutType, Decision};
use pressbot_core::ids::{TypeRef, WorkflowId};
use pressbot_core::testing::HistoryBuilder;
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;

const INGEST: &str = r#"
name = "IngestArticleZip"
version = "1"
execution_start_to_close = "30m"

[defaults]
start_to_close = "5m"
retry = { max_attempts = 5, initial = "10s", backoff = 2.0, max = "5m", jitter = 0.0 }

[[step]]
activity = "ExpandArticle"
start_to_close = "15m"

[[step]]
parallel = ["ConvertJATS", { activity = "ResizeImages", heartbeat = "30s" }]

[[step]]
activity = "PostToCms"
task_list = "cms"
params = { endpoint = "ingest" }
retry = { max_attempts = 3, initial = "30s", backoff = 1.5, max = "5m", jitter = 0.0 }

[[step]]
activity = "PublishToCms"
when = { key = "mode", equals = "automatic" }
"#;

fn def() -> WorkflowDefinition {
    WorkflowDefinition::from_toml_str(INGEST, Path::new("t.toml"), &|_| true)
        .expect("valid definition")
}

fn wf() -> WorkflowId {
    WorkflowId::from("IngestArticleZip-elife-00666-abc")
}

fn run(h: &HistoryBuilder) -> Decisions {
    let d = def();
    let out = decide(&d, &wf(), h.events());
    // Every case doubles as an idempotency check.
    assert_eq!(out, decide(&d, &wf(), h.events()), "deciding twice differs");
    out
}

/// Activity ids of the ScheduleActivityTask decisions.
fn scheduled(d: &Decisions) -> Vec<String> {
    d.decisions
        .iter()
        .filter_map(|d| match d {
            Decision::ScheduleActivityTask { activity_id, .. } => Some(activity_id.clone()),
            _ => None,
        })
        .collect()
}

fn input_of(d: &Decisions, activity: &str) -> ActivityInput {
    for dec in &d.decisions {
        if let Decision::ScheduleActivityTask {
            activity_id, input, ..
        } = dec
        {
            if activity_id == activity {
                return serde_json::from_str(input.as_deref().expect("input"))
                    .expect("ActivityInput");
            }
        }
    }
    panic!("{activity} not scheduled in {:?}", d.decisions)
}

fn fail_reason(d: &Decisions) -> (String, String) {
    match d.decisions.last() {
        Some(Decision::FailWorkflowExecution { reason, details }) => (
            reason.clone().unwrap_or_default(),
            details.clone().unwrap_or_default(),
        ),
        other => panic!(
            "expected FailWorkflowExecution last, got {other:?} in {:?}",
            d.decisions
        ),
    }
}

fn complete_result(d: &Decisions) -> Value {
    assert_eq!(d.decisions.len(), 1, "{:?}", d.decisions);
    match &d.decisions[0] {
        Decision::CompleteWorkflowExecution { result } => {
            serde_json::from_str(result.as_deref().expect("result")).expect("json result")
        }
        other => panic!("expected CompleteWorkflowExecution, got {other:?}"),
    }
}

fn timer(id: &str, secs: u64, step: &str, attempt: u32) -> Decision {
    Decision::StartTimer {
        timer_id: id.into(),
        control: Some(json!({"step": step, "attempt": attempt}).to_string()),
        start_to_fire: Duration::from_secs(secs),
    }
}

fn started() -> HistoryBuilder {
    let mut h = HistoryBuilder::start(json!({"article_id": "00666", "version": 1}));
    h.decision_task();
    h
}

/// History up to the parallel group being scheduled (Expand done).
fn expanded() -> HistoryBuilder {
    let mut h = started();
    h.schedule("ExpandArticle", 1)
        .started("ExpandArticle", 1)
        .completed("ExpandArticle", 1, json!({"expanded_folder": "00666/run1"}))
        .decision_task()
        .schedule("ConvertJATS", 1)
        .schedule("ResizeImages", 1);
    h
}

#[test]
fn start_schedules_the_first_step_with_everything_it_needs() {
    let h = started();
    let out = run(&h);
    assert_eq!(out.decisions.len(), 1);
    let d = def();
    let step = d.step("ExpandArticle").expect("step");
    match &out.decisions[0] {
        Decision::ScheduleActivityTask {
            activity_id,
            activity_type,
            input,
            control,
            task_list,
            timeouts,
        } => {
            assert_eq!(activity_id, "ExpandArticle#1");
            assert_eq!(activity_type, &TypeRef::new("ExpandArticle", "1"));
            assert_eq!(task_list, "default");
            assert_eq!(timeouts, &step.timeouts);
            assert_eq!(timeouts.start_to_close, Some(Duration::from_secs(900)));
            let control: Value =
                serde_json::from_str(control.as_deref().expect("control")).expect("json");
            assert_eq!(control, json!({"step": "ExpandArticle", "attempt": 1}));
            let input: ActivityInput =
                serde_json::from_str(input.as_deref().expect("input")).expect("input");
            assert_eq!(
                input,
                ActivityInput {
                    context: json!({"article_id": "00666", "version": 1}),
                    step: "ExpandArticle".into(),
                    attempt: 1,
                    workflow: "IngestArticleZip".into(),
                    params: Value::Null,
                }
            );
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn start_without_decision_completed_and_after_decision_timeout() {
    // The very first decision task: only scheduled + started in the history.
    let mut h = HistoryBuilder::start(json!({}));
    h.decision_started();
    assert_eq!(scheduled(&run(&h)), ["ExpandArticle#1"]);
    // A decision task that timed out: decide again, same decision.
    h.decision_timed_out().decision_started();
    assert_eq!(scheduled(&run(&h)), ["ExpandArticle#1"]);
}

#[test]
fn open_first_step_means_nothing_to_do() {
    let mut h = started();
    h.schedule("ExpandArticle", 1).decision_task();
    assert!(run(&h).decisions.is_empty());
    h.started("ExpandArticle", 1)
        .signaled("poke", None)
        .decision_task();
    assert!(run(&h).decisions.is_empty());
}

#[test]
fn sequential_completion_schedules_the_whole_parallel_group() {
    let mut h = started();
    h.schedule("ExpandArticle", 1)
        .started("ExpandArticle", 1)
        .completed("ExpandArticle", 1, json!({"expanded_folder": "00666/run1"}))
        .decision_started();
    let out = run(&h);
    assert_eq!(scheduled(&out), ["ConvertJATS#1", "ResizeImages#1"]);
    for a in ["ConvertJATS#1", "ResizeImages#1"] {
        let input = input_of(&out, a);
        assert_eq!(input.context["expanded_folder"], "00666/run1", "{a}");
        assert_eq!(input.context["article_id"], "00666", "{a}");
        assert_eq!(input.attempt, 1);
    }
    // Per-item overrides reach the decision.
    match &out.decisions[1] {
        Decision::ScheduleActivityTask { timeouts, .. } => {
            assert_eq!(timeouts.heartbeat, Some(Duration::from_secs(30)));
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn parallel_group_partial_completion_schedules_nothing_new() {
    let mut h = expanded();
    h.started("ConvertJATS", 1)
        .started("ResizeImages", 1)
        .completed("ConvertJATS", 1, json!({"article_json": "00666.json"}))
        .decision_started();
    assert!(run(&h).decisions.is_empty());
}

#[test]
fn parallel_group_full_completion_in_one_task_moves_on() {
    let mut h = expanded();
    h.started("ConvertJATS", 1)
        .started("ResizeImages", 1)
        .completed("ResizeImages", 1, json!({"images": 3}))
        .completed("ConvertJATS", 1, json!({"article_json": "00666.json"}))
        .decision_started();
    let out = run(&h);
    assert_eq!(scheduled(&out), ["PostToCms#1"]);
    match &out.decisions[0] {
        Decision::ScheduleActivityTask { task_list, .. } => assert_eq!(task_list, "cms"),
        other => panic!("unexpected {other:?}"),
    }
    let input = input_of(&out, "PostToCms#1");
    assert_eq!(input.params, json!({"endpoint": "ingest"}));
    assert_eq!(input.context["images"], 3);
    assert_eq!(input.context["article_json"], "00666.json");
    assert_eq!(input.context["expanded_folder"], "00666/run1");
}

#[test]
fn every_timeout_kind_is_retried_through_a_timer() {
    for kind in [
        ActivityTimeoutType::StartToClose,
        ActivityTimeoutType::ScheduleToStart,
        ActivityTimeoutType::ScheduleToClose,
        ActivityTimeoutType::Heartbeat,
    ] {
        let mut h = started();
        h.schedule("ExpandArticle", 1);
        if kind != ActivityTimeoutType::ScheduleToStart {
            h.started("ExpandArticle", 1);
        }
        h.timed_out("ExpandArticle", 1, kind).decision_started();
        let out = run(&h);
        assert_eq!(
            out.decisions,
            vec![timer("retry:ExpandArticle#2", 10, "ExpandArticle", 2)],
            "{kind:?}"
        );
    }
}

#[test]
fn retryable_failure_waits_on_a_timer_then_schedules_attempt_two() {
    let mut h = started();
    h.schedule("ExpandArticle", 1)
        .started("ExpandArticle", 1)
        .failed(
            "ExpandArticle",
            1,
            ActivityFailure::retryable("S3 answered 503"),
        )
        .decision_started();
    let out = run(&h);
    assert_eq!(
        out.decisions,
        vec![timer("retry:ExpandArticle#2", 10, "ExpandArticle", 2)]
    );

    // Timer running: nothing to do, and in particular no second timer.
    h.decision_completed()
        .timer_started("retry:ExpandArticle#2", Duration::from_secs(10))
        .signaled("poke", None)
        .decision_started();
    assert!(run(&h).decisions.is_empty());

    h.decision_completed()
        .timer_fired("retry:ExpandArticle#2")
        .decision_started();
    let out = run(&h);
    assert_eq!(scheduled(&out), ["ExpandArticle#2"]);
    let input = input_of(&out, "ExpandArticle#2");
    assert_eq!(input.attempt, 2);
    assert_eq!(input.step, "ExpandArticle");
    match &out.decisions[0] {
        Decision::ScheduleActivityTask { control, .. } => assert_eq!(
            control.as_deref(),
            Some(
                json!({"step": "ExpandArticle", "attempt": 2})
                    .to_string()
                    .as_str()
            )
        ),
        other => panic!("unexpected {other:?}"),
    }

    // Attempt 2 fails too: the wait doubles.
    h.respond(&out.decisions)
        .started("ExpandArticle", 2)
        .failed(
            "ExpandArticle",
            2,
            ActivityFailure::retryable("S3 answered 503"),
        )
        .decision_started();
    assert_eq!(
        run(&h).decisions,
        vec![timer("retry:ExpandArticle#3", 20, "ExpandArticle", 3)]
    );
}

#[test]
fn canceled_activity_without_workflow_cancel_is_retried() {
    let mut h = started();
    h.schedule("ExpandArticle", 1)
        .started("ExpandArticle", 1)
        .canceled("ExpandArticle", 1)
        .decision_started();
    assert_eq!(
        run(&h).decisions,
        vec![timer("retry:ExpandArticle#2", 10, "ExpandArticle", 2)]
    );
}

#[test]
fn permanent_failure_fails_naming_step_attempt_and_error() {
    let mut h = started();
    h.schedule("ExpandArticle", 1)
        .failed(
            "ExpandArticle",
            1,
            ActivityFailure::retryable("S3 answered 503"),
        )
        .decision_task()
        .timer_started("retry:ExpandArticle#2", Duration::from_secs(10))
        .timer_fired("retry:ExpandArticle#2")
        .decision_task()
        .schedule("ExpandArticle", 2)
        .started("ExpandArticle", 2)
        .failed(
            "ExpandArticle",
            2,
            ActivityFailure::permanent("no JATS XML in elife-00666.zip"),
        )
        .decision_started();
    let out = run(&h);
    assert_eq!(out.decisions.len(), 1);
    let (reason, details) = fail_reason(&out);
    assert_eq!(
        reason,
        "ExpandArticle failed on attempt 2 of 5: permanent: no JATS XML in elife-00666.zip"
    );
    assert!(details.contains("no JATS XML in elife-00666.zip"));
}

type AttemptFailer = dyn Fn(&mut HistoryBuilder, u32);
type HistoryStep = dyn Fn(&mut HistoryBuilder);

/// Fail attempts 1..=n of `step` with `fail`, each followed by its retry timer.
fn fail_attempts(
    h: &mut HistoryBuilder,
    step: &str,
    n: u32,
    fail: &dyn Fn(&mut HistoryBuilder, u32),
) {
    for attempt in 1..=n {
        h.schedule(step, attempt).started(step, attempt);
        fail(h, attempt);
        h.decision_task();
        if attempt < n {
            let t = format!("retry:{step}#{}", attempt + 1);
            h.timer_started(&t, Duration::from_secs(10))
                .timer_fired(&t)
                .decision_task();
        }
    }
}

#[test]
fn exhausted_attempts_fail_naming_the_last_error() {
    let cases: Vec<(&str, Box<AttemptFailer>, &str)> = vec![
        (
            "retryable",
            Box::new(|h, a| {
                h.failed(
                    "ExpandArticle",
                    a,
                    ActivityFailure::retryable("CMS answered 503"),
                );
            }),
            "ExpandArticle failed on attempt 5 of 5: retryable: CMS answered 503",
        ),
        (
            "timeout",
            Box::new(|h, a| {
                h.timed_out("ExpandArticle", a, ActivityTimeoutType::StartToClose);
            }),
            "ExpandArticle failed on attempt 5 of 5: timed out START_TO_CLOSE",
        ),
        (
            "heartbeat",
            Box::new(|h, a| {
                h.timed_out("ExpandArticle", a, ActivityTimeoutType::Heartbeat);
            }),
            "ExpandArticle failed on attempt 5 of 5: timed out HEARTBEAT",
        ),
        (
            "canceled",
            Box::new(|h, a| {
                h.canceled("ExpandArticle", a);
            }),
            "ExpandArticle failed on attempt 5 of 5: canceled",
        ),
    ];
    for (name, fail, want) in cases {
        let mut h = started();
        fail_attempts(&mut h, "ExpandArticle", 5, &*fail);
        let out = run(&h);
        assert_eq!(out.decisions.len(), 1, "{name}");
        let (reason, details) = fail_reason(&out);
        assert_eq!(reason, want, "{name}");
        assert!(details.contains("no attempts left"), "{name}: {details}");
    }
}

#[test]
fn per_step_retry_policy_counts() {
    // PostToCms allows 3 attempts, waits 30s then 45s.
    let mut h = expanded();
    h.completed("ConvertJATS", 1, json!({}))
        .completed("ResizeImages", 1, json!({}))
        .decision_task();
    fail_attempts(&mut h, "PostToCms", 1, &|h, a| {
        h.failed(
            "PostToCms",
            a,
            ActivityFailure::retryable("CMS answered 429"),
        );
    });
    assert_eq!(
        run(&h).decisions,
        vec![timer("retry:PostToCms#2", 30, "PostToCms", 2)]
    );
    let mut h2 = expanded();
    h2.completed("ConvertJATS", 1, json!({}))
        .completed("ResizeImages", 1, json!({}))
        .decision_task();
    fail_attempts(&mut h2, "PostToCms", 2, &|h, a| {
        h.failed(
            "PostToCms",
            a,
            ActivityFailure::retryable("CMS answered 429"),
        );
    });
    assert_eq!(
        run(&h2).decisions,
        vec![timer("retry:PostToCms#3", 45, "PostToCms", 3)]
    );
    let mut h3 = expanded();
    h3.completed("ConvertJATS", 1, json!({}))
        .completed("ResizeImages", 1, json!({}))
        .decision_task();
    fail_attempts(&mut h3, "PostToCms", 3, &|h, a| {
        h.failed(
            "PostToCms",
            a,
            ActivityFailure::retryable("CMS answered 429"),
        );
    });
    assert_eq!(
        fail_reason(&run(&h3)).0,
        "PostToCms failed on attempt 3 of 3: retryable: CMS answered 429"
    );
}

#[test]
fn long_failure_messages_are_cut_in_reason_but_kept_in_details() {
    let msg = format!("CMS said: {}", "é".repeat(500));
    let mut h = started();
    h.schedule("ExpandArticle", 1)
        .failed("ExpandArticle", 1, ActivityFailure::permanent(msg.clone()))
        .decision_started();
    let (reason, details) = fail_reason(&run(&h));
    assert!(reason.len() <= limits::REASON);
    assert!(reason.starts_with("ExpandArticle failed on attempt 1 of 5: permanent: CMS said:"));
    assert!(details.contains(&msg));
}

#[test]
fn permanent_failure_in_parallel_group_cancels_siblings_then_fails() {
    let mut h = expanded();
    h.started("ConvertJATS", 1)
        .started("ResizeImages", 1)
        .failed(
            "ConvertJATS",
            1,
            ActivityFailure::permanent("invalid JATS: no <article>"),
        )
        .decision_started();
    let out = run(&h);
    assert_eq!(out.decisions.len(), 2, "{:?}", out.decisions);
    assert_eq!(
        out.decisions[0],
        Decision::RequestCancelActivityTask {
            activity_id: "ResizeImages#1".into()
        }
    );
    assert_eq!(
        fail_reason(&out).0,
        "ConvertJATS failed on attempt 1 of 5: permanent: invalid JATS: no <article>"
    );
}

#[test]
fn two_parallel_retryable_failures_in_one_task_start_two_timers() {
    let mut h = expanded();
    h.failed("ConvertJATS", 1, ActivityFailure::retryable("busy"))
        .timed_out("ResizeImages", 1, ActivityTimeoutType::ScheduleToStart)
        .decision_started();
    assert_eq!(
        run(&h).decisions,
        vec![
            timer("retry:ConvertJATS#2", 10, "ConvertJATS", 2),
            timer("retry:ResizeImages#2", 10, "ResizeImages", 2),
        ]
    );
}

#[test]
fn schedule_activity_task_failed_fails_naming_step_and_cause() {
    let mut h = started();
    h.schedule_failed("ExpandArticle", 1, "ACTIVITY_TYPE_DOES_NOT_EXIST")
        .decision_started();
    let (reason, details) = fail_reason(&run(&h));
    assert_eq!(
        reason,
        "ExpandArticle could not be scheduled (attempt 1): ACTIVITY_TYPE_DOES_NOT_EXIST"
    );
    assert!(details.contains("ExpandArticle@1"), "{details}");
}

#[test]
fn start_timer_failed_fails_naming_step_and_cause() {
    let mut h = started();
    h.schedule("ExpandArticle", 1)
        .failed("ExpandArticle", 1, ActivityFailure::retryable("busy"))
        .decision_task()
        .start_timer_failed("retry:ExpandArticle#2", "TIMER_CREATION_RATE_EXCEEDED")
        .decision_started();
    let (reason, _) = fail_reason(&run(&h));
    assert_eq!(
        reason,
        "ExpandArticle: retry timer before attempt 2 could not be started: TIMER_CREATION_RATE_EXCEEDED"
    );
}

#[test]
fn own_retry_timer_already_in_use_means_keep_waiting() {
    // Seen on moto: a decider whose history does not yet show its own
    // TimerStarted asks for the timer again and SWF answers
    // TIMER_ID_ALREADY_IN_USE. That timer is exactly what the workflow
    // waits for, so the decider waits instead of failing the workflow.
    let mut h = started();
    h.schedule("ExpandArticle", 1)
        .failed("ExpandArticle", 1, ActivityFailure::retryable("busy"))
        .decision_task()
        .start_timer_failed("retry:ExpandArticle#2", "TIMER_ID_ALREADY_IN_USE")
        .decision_started();
    assert!(run(&h).decisions.is_empty(), "{:?}", run(&h).decisions);
    // The timer's own events arrive later; it fires and attempt 2 runs.
    h.decision_task()
        .timer_started("retry:ExpandArticle#2", Duration::from_secs(10))
        .timer_fired("retry:ExpandArticle#2")
        .decision_started();
    assert_eq!(scheduled(&run(&h)), ["ExpandArticle#2"]);
}

#[test]
fn cancel_request_cancels_open_activities_and_the_workflow() {
    let mut h = expanded();
    h.started("ConvertJATS", 1)
        .completed("ConvertJATS", 1, json!({}))
        .cancel_requested()
        .decision_started();
    let out = run(&h);
    assert_eq!(
        out.decisions,
        vec![
            Decision::RequestCancelActivityTask {
                activity_id: "ResizeImages#1".into()
            },
            Decision::CancelWorkflowExecution {
                details: Some("cancel requested".into())
            },
        ]
    );
    // An activity that reports canceled after that is not retried.
    let mut h = started();
    h.schedule("ExpandArticle", 1)
        .cancel_requested()
        .decision_task()
        .cancel_activity_requested("ExpandArticle", 1)
        .canceled("ExpandArticle", 1)
        .decision_started();
    assert_eq!(
        run(&h).decisions,
        vec![Decision::CancelWorkflowExecution {
            details: Some("cancel requested".into())
        }]
    );
}

fn all_done(mode: Option<&str>) -> HistoryBuilder {
    let mut h = expanded();
    h.completed(
        "ConvertJATS",
        1,
        json!({"article_json": "00666.json", "version": 2}),
    )
    .completed("ResizeImages", 1, json!({"images": 3}))
    .decision_task()
    .schedule("PostToCms", 1);
    let mut out = json!({"cms_id": "a1", "images": 4});
    if let Some(m) = mode {
        out["mode"] = json!(m);
    }
    h.completed("PostToCms", 1, out).decision_started();
    h
}

#[test]
fn completion_returns_the_merged_context() {
    let out = run(&all_done(None));
    assert_eq!(
        complete_result(&out),
        json!({
            "article_id": "00666",
            "version": 2,
            "expanded_folder": "00666/run1",
            "article_json": "00666.json",
            "images": 4,
            "cms_id": "a1",
        })
    );
}

#[test]
fn when_condition_skips_or_runs_a_step() {
    // Not matching (missing key): skipped, so the workflow completes.
    assert!(matches!(
        run(&all_done(None)).decisions[..],
        [Decision::CompleteWorkflowExecution { .. }]
    ));
    assert!(matches!(
        run(&all_done(Some("manual"))).decisions[..],
        [Decision::CompleteWorkflowExecution { .. }]
    ));
    // An earlier step's output decides it.
    let out = run(&all_done(Some("automatic")));
    assert_eq!(scheduled(&out), ["PublishToCms#1"]);
    assert_eq!(input_of(&out, "PublishToCms#1").context["cms_id"], "a1");
    // So can the start input.
    let mut h = HistoryBuilder::start(json!({"mode": "automatic"}));
    h.decision_task()
        .schedule("ExpandArticle", 1)
        .completed("ExpandArticle", 1, json!({}))
        .decision_task()
        .schedule("ConvertJATS", 1)
        .schedule("ResizeImages", 1)
        .completed("ConvertJATS", 1, json!({}))
        .completed("ResizeImages", 1, json!({}))
        .decision_task()
        .schedule("PostToCms", 1)
        .completed("PostToCms", 1, json!({}))
        .decision_started();
    assert_eq!(scheduled(&run(&h)), ["PublishToCms#1"]);
}

#[test]
fn unknown_workflow_type_fails_with_a_clear_reason() {
    let d = fail_unknown_workflow(&TypeRef::new("NoSuchWorkflow", "7"));
    assert_eq!(d.len(), 1);
    match &d[0] {
        Decision::FailWorkflowExecution { reason, details } => {
            assert_eq!(
                reason.as_deref(),
                Some("no workflow definition for NoSuchWorkflow@7")
            );
            assert!(details
                .as_deref()
                .unwrap_or("")
                .contains("\"NoSuchWorkflow\""));
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn start_input_table() {
    let wt = TypeRef::new("IngestArticleZip", "1");
    let ok: &[Option<&str>] = &[
        None,
        Some(""),
        Some("  "),
        Some("null"),
        Some("{}"),
        Some(r#"{"a":1}"#),
    ];
    for input in ok {
        let mut h = HistoryBuilder::start_raw(wt.clone(), *input);
        h.decision_started();
        assert_eq!(scheduled(&run(&h)), ["ExpandArticle#1"], "{input:?}");
    }
    let bad: &[(&str, &str)] = &[
        ("not json", "malformed workflow input: not valid JSON"),
        (
            "[1, 2]",
            "malformed workflow input: expected a JSON object, found an array",
        ),
        (
            "\"elife.zip\"",
            "malformed workflow input: expected a JSON object, found a string",
        ),
        (
            "42",
            "malformed workflow input: expected a JSON object, found a number",
        ),
        ("{\"a\": ", "malformed workflow input: not valid JSON"),
    ];
    for (input, want) in bad {
        let mut h = HistoryBuilder::start_raw(wt.clone(), Some(input));
        h.decision_started();
        let out = run(&h);
        assert_eq!(out.decisions.len(), 1, "{input}");
        let (reason, details) = fail_reason(&out);
        assert!(reason.starts_with(want), "{input}: {reason}");
        assert!(details.contains(input), "{input}: {details}");
    }
}

#[test]
fn completed_result_that_is_not_an_object_fails_the_workflow() {
    let mut h = started();
    h.schedule("ExpandArticle", 1)
        .completed_raw("ExpandArticle", 1, Some("[\"oops\"]"))
        .decision_started();
    let (reason, _) = fail_reason(&run(&h));
    assert_eq!(
        reason,
        "ExpandArticle returned a bad result on attempt 1 of 5: expected a JSON object, found an array"
    );
    // An empty result is an empty object.
    let mut h = started();
    h.schedule("ExpandArticle", 1)
        .completed_raw("ExpandArticle", 1, None)
        .decision_started();
    assert_eq!(scheduled(&run(&h)), ["ConvertJATS#1", "ResizeImages#1"]);
}

#[test]
fn history_naming_an_unknown_step_fails() {
    let mut h = started();
    h.schedule("Renamed", 1).decision_started();
    let (reason, _) = fail_reason(&run(&h));
    assert!(reason.contains("Renamed"), "{reason}");
}

#[test]
fn closed_history_gets_no_decisions() {
    let closers: Vec<Box<HistoryStep>> = vec![
        Box::new(|h| {
            h.workflow_completed(Some("{}"));
        }),
        Box::new(|h| {
            h.workflow_failed("x");
        }),
        Box::new(|h| {
            h.apply(&Decision::CancelWorkflowExecution { details: None });
        }),
        Box::new(|h| {
            h.workflow_timed_out();
        }),
        Box::new(|h| {
            h.terminated("operator");
        }),
    ];
    for close in closers {
        let mut h = started();
        h.schedule("ExpandArticle", 1)
            .failed("ExpandArticle", 1, ActivityFailure::retryable("x"))
            .cancel_requested();
        close(&mut h);
        h.decision_started();
        let out = run(&h);
        assert!(out.decisions.is_empty(), "{:?}", out.decisions);
    }
}

#[test]
fn rejected_close_decisions_are_decided_again() {
    let mut h = all_done(None);
    let first = run(&h);
    h.decision_completed()
        .complete_failed("UNHANDLED_DECISION")
        .signaled("late", None)
        .decision_started();
    assert_eq!(run(&h).decisions, first.decisions);

    let mut h = started();
    h.schedule("ExpandArticle", 1)
        .failed("ExpandArticle", 1, ActivityFailure::permanent("bad zip"))
        .decision_started();
    let first = run(&h);
    h.decision_completed()
        .fail_failed("UNHANDLED_DECISION")
        .decision_started();
    assert_eq!(run(&h).decisions, first.decisions);
}

#[test]
fn oversized_context_fails_instead_of_sending_invalid_input() {
    let mut h = started();
    h.schedule("ExpandArticle", 1)
        .completed(
            "ExpandArticle",
            1,
            json!({"blob": "x".repeat(limits::INPUT)}),
        )
        .decision_started();
    let (reason, details) = fail_reason(&run(&h));
    assert!(
        reason.contains("ConvertJATS attempt 1: workflow context too large"),
        "{reason}"
    );
    assert!(details.contains("blob"), "{details}");
}

#[test]
fn oversized_result_is_shortened_to_valid_json() {
    // Each input fits; the last step's output pushes the context over the
    // result limit.
    let mut h = expanded();
    h.completed("ConvertJATS", 1, json!({"big": "y".repeat(20_000)}))
        .completed("ResizeImages", 1, json!({"images": 3}))
        .decision_task()
        .schedule("PostToCms", 1)
        .completed(
            "PostToCms",
            1,
            json!({"cms_id": "a1", "big2": "z".repeat(20_000)}),
        )
        .decision_started();
    let out = run(&h);
    match &out.decisions[..] {
        [Decision::CompleteWorkflowExecution { result }] => {
            let text = result.as_deref().expect("result");
            assert!(text.len() <= limits::RESULT);
            let v: Value = serde_json::from_str(text).expect("valid json");
            assert_eq!(v["cms_id"], "a1");
            assert_eq!(v["images"], 3);
            assert!(
                v.get("big").is_some() != v.get("big2").is_some(),
                "one big value dropped"
            );
            assert_eq!(v[TRUNCATED_KEY]["omitted_count"], 1);
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn timeline_rows_for_attempts_retries_and_close() {
    let mut h = started();
    h.schedule("ExpandArticle", 1)
        .started("ExpandArticle", 1)
        .advance(Duration::from_secs(5))
        .failed(
            "ExpandArticle",
            1,
            ActivityFailure::retryable("CMS answered 503"),
        )
        .decision_task()
        .timer_started("retry:ExpandArticle#2", Duration::from_secs(10))
        .timer_fired("retry:ExpandArticle#2")
        .decision_task()
        .schedule("ExpandArticle", 2)
        .started("ExpandArticle", 2)
        .timed_out("ExpandArticle", 2, ActivityTimeoutType::StartToClose)
        .decision_task()
        .timer_started("retry:ExpandArticle#3", Duration::from_secs(20))
        .timer_fired("retry:ExpandArticle#3")
        .decision_task()
        .schedule("ExpandArticle", 3)
        .started("ExpandArticle", 3)
        .canceled("ExpandArticle", 3)
        .decision_task()
        .timer_started("retry:ExpandArticle#4", Duration::from_secs(40))
        .timer_fired("retry:ExpandArticle#4")
        .decision_task()
        .schedule("ExpandArticle", 4)
        .started("ExpandArticle", 4)
        .completed("ExpandArticle", 4, json!({}))
        .decision_task()
        .schedule("ConvertJATS", 1)
        .schedule("ResizeImages", 1)
        .started("ConvertJATS", 1)
        .decision_task()
        .workflow_failed("ResizeImages failed on attempt 1 of 5: permanent: bad tiff");
    let d = def();
    let rows = timeline(Some(&d), h.events());
    let summary: Vec<(String, Option<u32>, String)> = rows
        .iter()
        .map(|r| (r.step.clone(), r.attempt, r.outcome.clone()))
        .collect();
    let want: Vec<(&str, Option<u32>, &str)> = vec![
        (
            "ExpandArticle",
            Some(1),
            "failed (retryable): CMS answered 503",
        ),
        ("ExpandArticle", Some(2), "retry wait 10s"),
        ("ExpandArticle", Some(2), "timed out START_TO_CLOSE"),
        ("ExpandArticle", Some(3), "retry wait 20s"),
        ("ExpandArticle", Some(3), "canceled"),
        ("ExpandArticle", Some(4), "retry wait 40s"),
        ("ExpandArticle", Some(4), "completed"),
        ("ConvertJATS", Some(1), "running"),
        ("ResizeImages", Some(1), "scheduled"),
        (
            "workflow",
            None,
            "failed: ResizeImages failed on attempt 1 of 5: permanent: bad tiff",
        ),
    ];
    let want: Vec<(String, Option<u32>, String)> = want
        .into_iter()
        .map(|(s, a, o)| (s.to_owned(), a, o.to_owned()))
        .collect();
    assert_eq!(summary, want);
    let first = &rows[0];
    assert_eq!(first.activity.as_deref(), Some("ExpandArticle"));
    assert_eq!(first.max_attempts, Some(5));
    assert_eq!(first.duration, Some(Duration::from_secs(6)));
    assert!(first.scheduled < first.started && first.started < first.closed);
    assert_eq!(rows[1].duration, Some(Duration::from_secs(10)));
    assert!(rows[7].closed.is_none() && rows[7].duration.is_none());
    let wf_row = rows.last().expect("row");
    assert!(wf_row.duration.is_some());
}

#[test]
fn timeline_of_an_open_workflow_without_definition() {
    let mut h = started();
    h.schedule("Mystery", 1)
        .schedule_failed("Other", 1, "ACTIVITY_TYPE_DEPRECATED")
        .start_timer_failed("retry:Mystery#2", "TIMER_CREATION_RATE_EXCEEDED");
    let rows = timeline(None, h.events());
    let outcomes: Vec<&str> = rows.iter().map(|r| r.outcome.as_str()).collect();
    assert_eq!(
        outcomes,
        [
            "scheduled",
            "schedule failed: ACTIVITY_TYPE_DEPRECATED",
            "retry timer failed: TIMER_CREATION_RATE_EXCEEDED",
            "running"
        ]
    );
    assert!(rows.iter().all(|r| r.max_attempts.is_none()));
}

#[test]
fn summary_names_what_is_awaited() {
    let mut h = expanded();
    h.failed("ConvertJATS", 1, ActivityFailure::retryable("busy"))
        .decision_task()
        .timer_started("retry:ConvertJATS#2", Duration::from_secs(10))
        .decision_started();
    let out = run(&h);
    assert!(out.decisions.is_empty());
    assert_eq!(
        out.summary,
        "waiting: timer retry:ConvertJATS#2, ResizeImages#1"
    );
}

#[test]
fn failure_without_pressbot_prefix_counts_as_retryable() {
    use pressbot_core::history::EventKind;
    let mut h = started();
    h.schedule("ExpandArticle", 1).started("ExpandArticle", 1);
    let sched = 5;
    h.event(EventKind::ActivityTaskFailed {
        scheduled_event_id: sched,
        started_event_id: sched + 1,
        reason: Some("worker crashed".into()),
        details: None,
    })
    .decision_started();
    assert_eq!(
        run(&h).decisions,
        vec![timer("retry:ExpandArticle#2", 10, "ExpandArticle", 2)]
    );
}

#[test]
fn events_map_to_steps_by_control_or_activity_id() {
    use pressbot_core::history::{ActivityTimeouts, EventKind};
    let scheduled_event =
        |activity_id: &str, control: Option<String>| EventKind::ActivityTaskScheduled {
            activity_id: activity_id.into(),
            activity_type: TypeRef::new("ExpandArticle", "1"),
            input: None,
            control,
            task_list: "default".into(),
            timeouts: ActivityTimeouts::default(),
            decision_task_completed_event_id: 4,
        };
    // No control: the activity id says ExpandArticle attempt 1.
    let mut h = started();
    h.event(scheduled_event("ExpandArticle#1", None))
        .event(EventKind::ActivityTaskCompleted {
            scheduled_event_id: 5,
            started_event_id: 0,
            result: Some("{\"x\":1}".into()),
        })
        .decision_started();
    assert_eq!(scheduled(&run(&h)), ["ConvertJATS#1", "ResizeImages#1"]);
    // The control wins over an id in another format.
    let mut h = started();
    h.event(scheduled_event(
        "legacy-id",
        Some(json!({"step": "ExpandArticle", "attempt": 1}).to_string()),
    ))
    .decision_started();
    assert!(run(&h).decisions.is_empty());
    // Neither: the workflow fails rather than guess.
    let mut h = started();
    h.event(scheduled_event("legacy-id", None))
        .decision_started();
    let (reason, _) = fail_reason(&run(&h));
    assert_eq!(
        reason,
        "activity legacy-id was not scheduled by this decider"
    );
}

#[test]
fn cancel_request_with_a_cause_keeps_it_in_details() {
    use pressbot_core::history::EventKind;
    let mut h = started();
    h.event(EventKind::WorkflowExecutionCancelRequested {
        cause: Some("operator: wrong article".into()),
    })
    .decision_started();
    assert_eq!(
        run(&h).decisions,
        vec![Decision::CancelWorkflowExecution {
            details: Some("cancel requested: operator: wrong article".into())
        }]
    );
}

#[test]
fn history_without_start_event_fails_clearly() {
    let out = decide(&def(), &wf(), &[]);
    assert_eq!(
        fail_reason(&out).0,
        "history has no WorkflowExecutionStarted event"
    );
}
