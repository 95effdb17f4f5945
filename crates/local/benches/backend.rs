//! What the embedded backend costs per operation, on a real SQLite file:
//! the idle poll (the price every poller pays every `poll_interval`), a
//! decision round trip, and a queue round trip.

use criterion::{criterion_group, criterion_main, Criterion};
use pressbot_core::backend::{OutgoingMessage, QueueService, StartRequest, WorkflowService};
use pressbot_core::ids::{TypeRef, WorkflowId};
use pressbot_local::{LocalBackend, LocalOptions};
use std::time::Duration;

fn backend(dir: &std::path::Path) -> LocalBackend {
    LocalBackend::open(
        dir,
        LocalOptions {
            domain: "bench".into(),
            poll_interval: Duration::from_millis(100),
            long_poll: Duration::ZERO,
        },
    )
    .expect("open")
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let b = backend(dir.path());
    let wt = TypeRef::new("W", "1");
    rt.block_on(async {
        b.register_workflow_type(&wt, "d").await.expect("register");
        b.create_queue("q", 5).await.expect("queue");
    });

    c.bench_function("idle poll (sweep check + empty claim)", |bench| {
        bench
            .to_async(&rt)
            .iter(|| async { b.poll_activity_task("idle", "bench").await.expect("poll") })
    });

    let mut n = 0u64;
    c.bench_function("start + decision poll + complete", |bench| {
        bench.to_async(&rt).iter(|| {
            n += 1;
            let (b, wt) = (b.clone(), wt.clone());
            async move {
                b.start_workflow(StartRequest {
                    workflow_id: WorkflowId(format!("wf-{n}")),
                    workflow_type: wt,
                    task_list: "d".into(),
                    input: None,
                    execution_start_to_close: Duration::from_secs(600),
                    decision_task_start_to_close: Duration::from_secs(60),
                    tags: vec![],
                })
                .await
                .expect("start");
                let d = b
                    .poll_decision_task("d", "bench")
                    .await
                    .expect("poll")
                    .expect("task");
                b.complete_decision_task(
                    &d.token,
                    vec![
                        pressbot_core::history::Decision::CompleteWorkflowExecution {
                            result: None,
                        },
                    ],
                    None,
                )
                .await
                .expect("complete");
            }
        })
    });

    c.bench_function("queue send + receive + delete", |bench| {
        bench.to_async(&rt).iter(|| async {
            b.send("q", OutgoingMessage::new("x")).await.expect("send");
            let got = b
                .receive("q", 1, Duration::ZERO, Duration::from_secs(30))
                .await
                .expect("receive");
            b.delete("q", &got[0].receipt).await.expect("delete");
        })
    });
}

criterion_group!(name = group; config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(3)); targets = benches);
criterion_main!(group);
