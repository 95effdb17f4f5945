//! The `pipeline` scenario: article packages through IngestArticleZip with
//! all four daemons and the embedded CMS.

use super::history::stats_of;
use super::{list, wait_closed};
use crate::install::Install;
use crate::numbers::round;
use crate::procfs::ticks_ms;
use crate::report::percentiles;
use crate::Args;
use anyhow::{bail, Context, Result};
use pressbot_core::backend::{ExecutionInfo, PutOptions};
use pressbot_core::time::Timestamp;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Article packages through the whole IngestArticleZip pipeline with the
/// four daemons: PutObject → started latency (one package at a time), then
/// `articles` packages at once for articles/min, MB/s and where the time goes.
pub(crate) async fn pipeline(args: &Args, articles: usize) -> Result<Value> {
    let sample = args
        .repo
        .join("tests/fixtures/articles/elife-00353-vor-v1-20121213000000.zip");
    let body = bytes::Bytes::from(
        std::fs::read(&sample).with_context(|| format!("reading {}", sample.display()))?,
    );
    let mut inst = Install::new(args, None)?;
    // The CMS the pipeline posts to: the embedded one, served here (as the
    // end-to-end tests do), so its CPU is not charged to any daemon.
    let stop = tokio_util::sync::CancellationToken::new();
    let _stop_cms = stop.clone().drop_guard();
    let cms = pressbot_cms::embedded::EmbeddedCms::serve(
        inst.dir.path().join("cms"),
        "127.0.0.1:0".parse()?,
        stop,
    )
    .await?;
    inst.env
        .push(("PRESSBOT__CMS__BASE_URL".into(), cms.base_url()));
    inst.env
        .push(("PRESSBOT__CMS__EMBEDDED".into(), "false".into()));
    tokio::spawn(async move {
        let _ = cms.join().await;
    });
    for role in [
        "decider",
        "activity-worker",
        "queue-worker",
        "workflow-starter",
    ] {
        inst.spawn(role)?;
    }
    let (settle, window) = if args.quick {
        (Duration::from_millis(500), Duration::from_secs(1))
    } else {
        (Duration::from_secs(3), Duration::from_secs(10))
    };
    let idle = inst.idle(settle, window).await?;
    let backend = inst.backend().await?;
    let bucket = "pressbot-dev-incoming";
    let key = |i: usize| format!("elife-00353-vor-v{}-20121213000000.zip", i + 1);

    // Latency: one package at a time, PutObject → WorkflowExecutionStarted.
    let probes = if args.quick { 1 } else { 5 };
    let mut put_to_start = Vec::new();
    for i in 0..probes {
        let put_at = Timestamp::now();
        backend
            .objects
            .put(bucket, &key(i), body.clone(), PutOptions::default())
            .await?;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let started: Vec<_> = list(&backend, true)
                .await?
                .into_iter()
                .chain(list(&backend, false).await?)
                .collect();
            if started.len() > i {
                let newest = started.iter().map(|e| e.started).max().unwrap_or(put_at);
                put_to_start.push(newest.since(put_at).as_secs_f64() * 1000.0);
                break;
            }
            inst.check_alive()?;
            if Instant::now() > deadline {
                bail!("package {} did not start a workflow within 60 s", key(i));
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    wait_closed(&mut inst, &backend, probes, Duration::from_secs(120)).await?;

    // Throughput: `articles` packages put at once.
    let cpu0 = inst.cpu()?;
    let wall0 = Timestamp::now();
    for i in 0..articles {
        backend
            .objects
            .put(
                bucket,
                &key(probes + i),
                body.clone(),
                PutOptions::default(),
            )
            .await?;
    }
    let closed = wait_closed(
        &mut inst,
        &backend,
        probes + articles,
        Duration::from_secs(if args.quick { 120 } else { 1800 }),
    )
    .await?;
    let cpu1 = inst.cpu()?;
    let batch: Vec<ExecutionInfo> = closed.into_iter().filter(|c| c.started >= wall0).collect();
    let last_close = batch.iter().filter_map(|c| c.closed).max().unwrap_or(wall0);
    let elapsed = last_close.since(wall0).as_secs_f64().max(0.001);
    let stats = stats_of(&backend, &batch).await?;
    let wall: f64 = stats.wall_ms.iter().sum();
    let inside: f64 = stats.in_activity_ms.iter().sum();
    let per_activity: serde_json::Map<String, Value> = stats
        .activity_ms
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                json!(round(v.iter().sum::<f64>() / v.len() as f64, 1)),
            )
        })
        .collect();
    let cpu: serde_json::Map<String, Value> = inst
        .procs
        .iter()
        .enumerate()
        .map(|(i, p)| (p.role.to_owned(), json!(ticks_ms(cpu1[i] - cpu0[i]))))
        .collect();
    let mb = body.len() as f64 * articles as f64 / 1e6;
    Ok(json!({
        "package_bytes": body.len(),
        "articles": articles,
        "completed": stats.completed_workflows,
        "first_failure": stats.first_failure,
        "seconds": round(elapsed, 3),
        "articles_per_min": round(articles as f64 * 60.0 / elapsed, 1),
        "mb_per_s": round(mb / elapsed, 2),
        "put_to_started": percentiles(put_to_start),
        "completion_to_next_scheduled": percentiles(stats.completion_to_next_ms),
        "mean_workflow_wall_ms": round(wall / stats.wall_ms.len().max(1) as f64, 1),
        "share_in_activities": round(inside / wall.max(1.0), 3),
        "share_in_bot": round(1.0 - inside / wall.max(1.0), 3),
        "mean_activity_ms": per_activity,
        "cpu_ms_during_batch": cpu,
        "idle": idle,
        "after_load": inst.rss()?,
    }))
}
