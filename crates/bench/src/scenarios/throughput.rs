//! The `ping`, `steps` and `slots` scenarios (and the AWS ones, on another
//! installation): a batch of workflows through one decider and one
//! activity-worker, with CPU, RSS, polls and requests per task.

use super::history::stats_of;
use super::{wait_closed, RSS_SAMPLE_EVERY};
use crate::counters::Counters;
use crate::install::Install;
use crate::numbers::round;
use crate::procfs::ticks_ms;
use crate::report::{percentiles, rss_series, swf_calls};
use crate::Args;
use anyhow::Result;
use pressbot_core::backend::StartRequest;
use pressbot_core::ids::{TypeRef, WorkflowId};
use pressbot_core::time::Timestamp;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// `n` workflows of `workflow` (each `steps` activities) through one decider
/// and one activity-worker.
pub(crate) async fn throughput(
    args: &Args,
    workflow: &str,
    n: usize,
    steps: usize,
    slots: Option<usize>,
) -> Result<Value> {
    let inst = Install::new(args, slots)?;
    throughput_on(args, inst, workflow, n, steps, slots).await
}

pub(crate) async fn throughput_on(
    args: &Args,
    mut inst: Install,
    workflow: &str,
    n: usize,
    steps: usize,
    slots: Option<usize>,
) -> Result<Value> {
    inst.spawn("decider")?;
    inst.spawn("activity-worker")?;
    let (settle, window) = if args.quick {
        (Duration::from_millis(500), Duration::from_secs(1))
    } else {
        (Duration::from_secs(3), Duration::from_secs(10))
    };
    let idle = inst.idle(settle, window).await?;
    let backend = inst.backend().await?;
    let counters0 = inst.counters().await?;
    inst.rss_samples.clear();
    let cpu0 = inst.cpu()?;
    let t0 = Instant::now();
    let wall0 = Timestamp::now();
    let mut next_sample = Duration::ZERO;
    for i in 0..n {
        // The daemons are busy while workflows are being started: sample
        // their RSS here too, not only once everything has been started.
        if t0.elapsed() >= next_sample {
            let rss = inst.rss_now();
            inst.rss_samples.push((t0.elapsed().as_secs_f64(), rss));
            next_sample += RSS_SAMPLE_EVERY;
        }
        backend
            .workflows
            .start_workflow(StartRequest {
                workflow_id: WorkflowId::from(format!("bench-{i}")),
                workflow_type: TypeRef::new(workflow, "1"),
                task_list: "default".into(),
                input: Some(json!({"bench": i}).to_string()),
                execution_start_to_close: Duration::from_secs(1800),
                decision_task_start_to_close: Duration::from_secs(60),
                tags: Vec::new(),
            })
            .await?;
    }
    let start_s = t0.elapsed().as_secs_f64();
    let closed = wait_closed(&mut inst, &backend, n, Duration::from_secs(600)).await?;
    let cpu1 = inst.cpu()?;
    let counters1 = inst.counters().await?;
    let last_close = closed
        .iter()
        .filter_map(|c| c.closed)
        .max()
        .unwrap_or(wall0);
    let elapsed = last_close.since(wall0).as_secs_f64().max(0.001);
    let rss = inst.rss()?;
    let stats = stats_of(&backend, &closed).await?;
    let decider_ms = ticks_ms(cpu1[0] - cpu0[0]);
    let worker_ms = ticks_ms(cpu1[1] - cpu0[1]);
    Ok(json!({
        "workflow": workflow,
        "workflows": n,
        "completed": stats.completed_workflows,
        "first_failure": stats.first_failure,
        "worker_slots": slots.map_or("default (4)".to_owned(), |s| s.to_string()),
        "seconds": round(elapsed, 3),
        "start_calls_s": round(start_s, 3),
        "workflows_per_s": round(n as f64 / elapsed, 1),
        "activity_steps_per_s": round(stats.activity_tasks as f64 / elapsed, 1),
        "expected_steps": n * steps,
        "decision_tasks": stats.decision_tasks,
        "activity_tasks": stats.activity_tasks,
        "decider_cpu_ms": decider_ms,
        "worker_cpu_ms": worker_ms,
        "decider_cpu_ms_per_decision_task": round(decider_ms / stats.decision_tasks.max(1) as f64, 3),
        "worker_cpu_ms_per_activity_task": round(worker_ms / stats.activity_tasks.max(1) as f64, 3),
        "completion_to_next_scheduled": percentiles(stats.completion_to_next_ms),
        "idle": idle,
        "after_load": rss,
        "rss_over_time_mb": rss_series(&inst),
        "swf_calls": if inst.aws.is_some() {
            swf_calls(&counters0, &counters1, n, steps)
        } else {
            Value::Null
        },
        "aws_requests": if inst.aws.is_some() {
            let d = counters1[0].since(&counters0[0]).sum("pressbot_aws_requests_total", &[]);
            let w = counters1[1].since(&counters0[1]).sum("pressbot_aws_requests_total", &[]);
            json!({
                "decider": d,
                "activity_worker": w,
                "decider_cpu_ms_per_request": round(decider_ms / d.max(1.0), 3),
                "worker_cpu_ms_per_request": round(worker_ms / w.max(1.0), 3),
                "worker_by_operation": counters1[1]
                    .since(&counters0[1])
                    .0
                    .iter()
                    .filter(|(k, _)| k.starts_with("pressbot_aws_requests_total{"))
                    .map(|(k, v)| (Counters::label(k, "operation").unwrap_or("?").to_owned(), *v))
                    .collect::<std::collections::BTreeMap<_, _>>(),
            })
        } else {
            Value::Null
        },
        "polls": {
            "decider": counters1[0].since(&counters0[0]).sum("pressbot_polls_total", &[]),
            "activity_worker": counters1[1].since(&counters0[1]).sum("pressbot_polls_total", &[]),
        },
    }))
}
