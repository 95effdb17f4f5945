//! Safe rollouts: deciders holding different versions of a workflow run side
//! by side, in-process with the daemon structs, on both backends (the
//! embedded one and moto). A decision task of a version a decider does not
//! hold is left (not answered) and comes back after its start-to-close
//! timeout to whoever polls next; it is never failed.
//!
//! `cargo test -p pressbot-daemons --test rollout` (the moto cases need
//! `bash scripts/moto/ensure-moto.sh`).

use pressbot_conformance::backends::{self, Fixture};
use pressbot_core::backend::{
    Backend, CloseStatus, ExecutionFilter, ExecutionInfo, StartOutcome, StartRequest,
};
use pressbot_core::definition::{Definitions, WorkflowDefinition};
use pressbot_core::history::EventKind;
use pressbot_core::ids::{WorkflowExecution, WorkflowId};
use pressbot_daemons::decider::Decider;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

const DECISIONS: &str = "decisions";
const WORK: &str = "work";

/// Version 1 has one step, version 2 two: a v2 decider would decide a v1
/// history differently, which is why it must not touch it.
fn definition(version: u32) -> WorkflowDefinition {
    let steps = if version == 1 {
        "[[step]]\nactivity = \"PingWorker\"\nid = \"only\"\n"
    } else {
        "[[step]]\nactivity = \"PingWorker\"\nid = \"first\"\n\
         [[step]]\nactivity = \"PingWorker\"\nid = \"second\"\n"
    };
    let text = format!(
        "name = \"Rollout\"\nversion = \"{version}\"\ntask_list = \"{DECISIONS}\"\n\
         execution_start_to_close = \"10m\"\ndecision_task_start_to_close = \"2s\"\n\
         [defaults]\ntask_list = \"{WORK}\"\nstart_to_close = \"1m\"\n{steps}"
    );
    let file = if version == 1 {
        "Rollout.v1.toml"
    } else {
        "Rollout.toml"
    };
    WorkflowDefinition::from_toml_str(&text, Path::new(file), &|_| true).expect("valid")
}

fn definitions(versions: &[u32]) -> Arc<Definitions> {
    let mut defs = Definitions::default();
    for v in versions {
        defs.insert(definition(*v)).expect("distinct versions");
    }
    Arc::new(defs)
}

/// A decider holding `versions`, running until `stop`.
fn spawn_decider(backend: &Backend, versions: &[u32], stop: &CancellationToken) -> JoinHandle<()> {
    let d = Decider {
        backend: backend.clone(),
        definitions: definitions(versions),
        task_list: DECISIONS.into(),
        identity: format!("decider-v{versions:?}"),
        slots: 2,
    };
    let stop = stop.clone();
    tokio::spawn(async move {
        d.run(stop).await.expect("decider runs");
    })
}

/// Completes every activity task on the work list (the activity itself is
/// not the point here).
fn spawn_worker(backend: &Backend, stop: &CancellationToken) -> JoinHandle<()> {
    let backend = backend.clone();
    let stop = stop.clone();
    tokio::spawn(async move {
        loop {
            let task = tokio::select! {
                _ = stop.cancelled() => return,
                t = backend.workflows.poll_activity_task(WORK, "test-worker") => t,
            };
            match task {
                Ok(Some(t)) => {
                    let _ = backend
                        .workflows
                        .complete_activity_task(&t.token, Some("{}".into()))
                        .await;
                }
                Ok(None) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    })
}

async fn start(backend: &Backend, version: u32, id: &str) -> WorkflowExecution {
    let def = definition(version);
    let outcome = backend
        .workflows
        .start_workflow(StartRequest {
            workflow_id: WorkflowId(id.into()),
            workflow_type: def.workflow_type(),
            task_list: def.task_list.clone(),
            input: Some("{}".into()),
            execution_start_to_close: def.execution_start_to_close,
            decision_task_start_to_close: def.decision_task_start_to_close,
            tags: vec![],
        })
        .await
        .expect("starts");
    let StartOutcome::Started { run_id } = outcome else {
        panic!("{id} already running")
    };
    WorkflowExecution {
        workflow_id: WorkflowId(id.into()),
        run_id,
    }
}

async fn closed(backend: &Backend, id: &str) -> Option<ExecutionInfo> {
    backend
        .workflows
        .list_executions(&ExecutionFilter {
            open: false,
            workflow_id: Some(WorkflowId(id.into())),
            ..Default::default()
        })
        .await
        .ok()?
        .into_iter()
        .next()
}

async fn wait_closed(backend: &Backend, id: &str, limit: Duration) -> ExecutionInfo {
    let t0 = Instant::now();
    loop {
        if let Some(info) = closed(backend, id).await {
            return info;
        }
        assert!(t0.elapsed() < limit, "{id} still open after {limit:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn timed_out_decisions(backend: &Backend, e: &WorkflowExecution) -> usize {
    backend
        .workflows
        .history(e)
        .await
        .expect("history")
        .iter()
        .filter(|ev| matches!(ev.kind, EventKind::DecisionTaskTimedOut { .. }))
        .count()
}

/// A v1 execution stays open (never failed) while only v2 deciders run,
/// v2 executions complete meanwhile, and the v1 one completes once a v1
/// decider is back, with the v2 decider still polling.
async fn v1_waits_for_a_v1_decider(fixture: Fixture) {
    pressbot_daemons::metrics::install();
    let b = &fixture.backend;
    b.workflows
        .register(&definitions(&[1, 2]))
        .await
        .expect("register both versions");
    let stop = CancellationToken::new();
    let old = start(b, 1, "rollout-old").await;
    let left_before = pressbot_daemons::decider::tasks_left();
    let mut tasks = vec![spawn_decider(b, &[2], &stop), spawn_worker(b, &stop)];
    start(b, 2, "rollout-new").await;
    let new = wait_closed(b, "rollout-new", Duration::from_secs(60)).await;
    assert_eq!(new.close_status, Some(CloseStatus::Completed));

    // The v1 task has been left at least twice (each time it came back
    // after its 2 s start-to-close timeout), and the execution is open.
    let t0 = Instant::now();
    while timed_out_decisions(b, &old).await < 2 {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "v1 task never timed out"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        closed(b, "rollout-old").await.is_none(),
        "a v2-only decider closed a v1 execution"
    );
    assert!(pressbot_daemons::decider::tasks_left() >= left_before + 2);
    let page = pressbot_daemons::metrics::render();
    assert!(
        page.contains("pressbot_decision_tasks_left_total{workflow_type=\"Rollout@1\"}"),
        "{page}"
    );

    // A v1 decider returns: the execution completes, decided by v1 (one step).
    tasks.push(spawn_decider(b, &[1], &stop));
    let info = wait_closed(b, "rollout-old", Duration::from_secs(120)).await;
    assert_eq!(info.close_status, Some(CloseStatus::Completed));
    let scheduled: Vec<String> = b
        .workflows
        .history(&old)
        .await
        .expect("history")
        .iter()
        .filter_map(|ev| match &ev.kind {
            EventKind::ActivityTaskScheduled { activity_id, .. } => Some(activity_id.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(scheduled, ["only#1"], "decided by the v1 definition");
    stop.cancel();
    for t in tasks {
        t.await.expect("task ends");
    }
}

/// A decider holding both versions completes executions of each, leaving nothing.
async fn both_versions_held(fixture: Fixture) {
    let b = &fixture.backend;
    b.workflows
        .register(&definitions(&[1, 2]))
        .await
        .expect("register both versions");
    let stop = CancellationToken::new();
    let tasks = [spawn_decider(b, &[1, 2], &stop), spawn_worker(b, &stop)];
    let v1 = start(b, 1, "both-v1").await;
    let v2 = start(b, 2, "both-v2").await;
    for id in ["both-v1", "both-v2"] {
        let info = wait_closed(b, id, Duration::from_secs(60)).await;
        assert_eq!(info.close_status, Some(CloseStatus::Completed), "{id}");
    }
    assert_eq!(timed_out_decisions(b, &v1).await, 0);
    assert_eq!(timed_out_decisions(b, &v2).await, 0);
    stop.cancel();
    for t in tasks {
        t.await.expect("task ends");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn local_v1_execution_waits_for_a_v1_decider() {
    v1_waits_for_a_v1_decider(backends::local().await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn local_both_versions_complete() {
    both_versions_held(backends::local().await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn aws_v1_execution_waits_for_a_v1_decider() {
    v1_waits_for_a_v1_decider(backends::aws().await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn aws_both_versions_complete() {
    both_versions_held(backends::aws().await).await;
}
