//! Time per decision of [`pressbot_core::decider::decide`] on histories of
//! 10, 100, 1,000 and 10,000 events, for three workflow shapes.
//!
//! The histories are not hand-written: they are produced by driving the
//! decider itself against a simulated service ([`HistoryBuilder`]), so they
//! have exactly the shape a real execution has (decision task events
//! between activity events, retry timers, parallel groups). Each measured
//! call is the decision for a history that ends with an open decision task,
//! the case a decider daemon meets on every poll.
//!
//! Run: `cargo bench -p pressbot-core --bench decider`
//! CI smoke (each case once, no timing): `cargo bench -p pressbot-core --bench decider -- --test`

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use pressbot_core::activity::ActivityFailure;
use pressbot_core::decider::{decide, parse_step_ref};
use pressbot_core::definition::WorkflowDefinition;
use pressbot_core::history::{Decision, HistoryEvent};
use pressbot_core::ids::WorkflowId;
use pressbot_core::testing::HistoryBuilder;
use serde_json::json;
use std::hint::black_box;
use std::path::Path;

/// Event counts asked for by the issue; cost must grow at most linearly.
const SIZES: [usize; 4] = [10, 100, 1_000, 10_000];

/// Workflow shapes.
#[derive(Clone, Copy)]
enum Shape {
    /// One activity per step, each succeeding first time.
    Sequential,
    /// Steps of 10 parallel activities.
    Parallel,
    /// One activity per step, each failing retryably 4 times before succeeding
    /// (every retry waits on a timer).
    RetryHeavy,
}

impl Shape {
    fn name(self) -> &'static str {
        match self {
            Shape::Sequential => "sequential",
            Shape::Parallel => "parallel",
            Shape::RetryHeavy => "retry_heavy",
        }
    }

    /// A definition just long enough that the history reaches `events`
    /// events before the workflow closes: real definitions are a handful of
    /// steps, so a 2,000-step definition behind a 10-event history would
    /// measure the definition, not the history.
    fn definition(self, events: usize) -> WorkflowDefinition {
        let mut toml = String::from(
            "name = \"Bench\"\nversion = \"1\"\nexecution_start_to_close = \"30m\"\n\
             [defaults]\nretry = { max_attempts = 5, initial = \"10s\", backoff = 2.0, max = \"5m\" }\n",
        );
        match self {
            Shape::Sequential | Shape::RetryHeavy => {
                // ~6 events per step (3 activity + 3 decision task events);
                // ~38 per step when each fails 4 times first.
                let per_step = if matches!(self, Shape::Sequential) {
                    6
                } else {
                    30
                };
                for i in 0..events / per_step + 2 {
                    toml.push_str(&format!("[[step]]\nactivity = \"Work\"\nid = \"S{i}\"\n"));
                }
            }
            Shape::Parallel => {
                // ~23 events per group of 10.
                for g in 0..events / 20 + 2 {
                    let members: Vec<String> = (0..10)
                        .map(|m| format!("{{ activity = \"Work\", id = \"P{g}_{m}\" }}"))
                        .collect();
                    toml.push_str(&format!("[[step]]\nparallel = [{}]\n", members.join(", ")));
                }
            }
        }
        WorkflowDefinition::from_toml_str(&toml, Path::new("bench.toml"), &|_| true)
            .expect("bench definition is valid")
    }
}

/// Drive the decider against a simulated service until the history has at
/// least `target` events and ends with an open (started) decision task.
fn history(
    shape: Shape,
    def: &WorkflowDefinition,
    wf: &WorkflowId,
    target: usize,
) -> Vec<HistoryEvent> {
    let mut b = HistoryBuilder::start(json!({"article_id": "00353", "version": 1, "run": "r1"}));
    b.decision_scheduled().decision_started();
    loop {
        let out = decide(def, wf, b.events());
        if b.events().len() >= target {
            return b.build();
        }
        assert!(
            !out.decisions.is_empty(),
            "bench workflow stalled: {}",
            out.summary
        );
        b.respond(&out.decisions);
        for d in &out.decisions {
            match d {
                Decision::ScheduleActivityTask {
                    activity_id,
                    control,
                    ..
                } => {
                    let (step, attempt) =
                        parse_step_ref(control.as_deref(), activity_id).expect("decider's own ids");
                    b.started(&step, attempt);
                    if matches!(shape, Shape::RetryHeavy) && attempt < 5 {
                        b.failed(
                            &step,
                            attempt,
                            ActivityFailure::retryable("transient: bench"),
                        );
                    } else {
                        b.completed(&step, attempt, json!({"status": "ok", "files": attempt}));
                    }
                }
                Decision::StartTimer { timer_id, .. } => {
                    b.timer_fired(timer_id);
                }
                other => panic!("bench workflow closed early: {other:?}"),
            }
        }
        b.decision_scheduled().decision_started();
    }
}

fn bench_decider(c: &mut Criterion) {
    let wf = WorkflowId::from("Bench-00353");
    for shape in [Shape::Sequential, Shape::Parallel, Shape::RetryHeavy] {
        let mut group = c.benchmark_group(format!("decide/{}", shape.name()));
        for target in SIZES {
            let def = shape.definition(target);
            let events = history(shape, &def, &wf, target);
            // Throughput in events makes criterion print events/s: a flat
            // figure across sizes means linear cost.
            group.throughput(Throughput::Elements(events.len() as u64));
            group.bench_with_input(BenchmarkId::from_parameter(target), &events, |bch, ev| {
                bch.iter(|| decide(black_box(&def), black_box(&wf), black_box(ev)))
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench_decider);
criterion_main!(benches);
