//! Whole-process benchmarks of pressbot on the embedded backend.
//!
//! Criterion benches measure functions; an operator meets processes. This
//! binary builds a throw-away installation (data dir, settings, workflows),
//! spawns the real daemon binaries as OS processes, drives work into them
//! from outside (as `pressbot start` / an S3 PutObject would) and reads the
//! figures an operator would: workflows and activity steps per second, CPU
//! time per decision / activity task from `/proc/<pid>/stat`, peak RSS from
//! `/proc/<pid>/status` (VmHWM), idle CPU and RSS, and latencies taken from
//! the histories' own timestamps.
//!
//! `--quick` runs every scenario on a handful of workflows (the CI smoke
//! test in `tests/quick.rs`); the figures it prints are not meant to be read.
//! `scripts/bench.sh` runs the full set on release binaries.

mod counters;
mod install;
mod numbers;
mod packages;
mod procfs;
mod report;
mod scenarios;

use anyhow::Result;
use clap::Parser;
use scenarios::{aws, pipeline, throughput, up_figures};
use serde_json::{json, Value};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(about = "pressbot whole-process benchmarks (embedded backend)")]
struct Args {
    /// Tiny workloads, short idle windows: proves the harness works (CI).
    #[arg(long)]
    quick: bool,
    /// Directory holding the daemon binaries (decider, activity-worker, ...).
    /// Defaults to the directory of this executable.
    #[arg(long)]
    bin_dir: Option<PathBuf>,
    /// Repository root (settings/, workflows/, tests/fixtures/).
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))]
    repo: PathBuf,
    /// Ping workflows in the throughput scenarios.
    #[arg(long, default_value_t = 500)]
    workflows: usize,
    /// Ping workflows in the AWS (moto) scenario.
    #[arg(long, default_value_t = 100)]
    aws_workflows: usize,
    /// Article packages through the whole pipeline.
    #[arg(long, default_value_t = 10)]
    articles: usize,
    /// Worker slots of the "many slots" scenario.
    #[arg(long, default_value_t = 16)]
    slots: usize,
    /// `local.poll_interval` for every daemon (how often a long poll re-reads
    /// the database for work written by another process); unset = settings default.
    #[arg(long)]
    poll_interval: Option<String>,
    /// Only these scenarios (ping, steps, slots, aws, aws-steps, pipeline,
    /// up-figures); default all.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Write every figure as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let figures = rt.block_on(run(&args))?;
    report::emit(&figures, args.json.as_deref())
}

/// Every scenario asked for by `--only` (all by default), in a fixed order,
/// each on its own installation.
async fn run(args: &Args) -> Result<Value> {
    let want = |s: &str| args.only.is_empty() || args.only.iter().any(|o| o == s);
    let (n, articles) = if args.quick {
        (5, 1)
    } else {
        (args.workflows, args.articles)
    };
    let mut out = serde_json::Map::new();
    out.insert("machine".into(), report::machine());
    out.insert(
        "settings".into(),
        json!({"quick": args.quick, "poll_interval": args.poll_interval, "workflows": n}),
    );
    if want("ping") {
        eprintln!(
            "scenario ping: {n} Ping workflows, 1 decider, 1 activity-worker (default slots)"
        );
        out.insert(
            "ping".into(),
            throughput::throughput(args, "Ping", n, 1, None).await?,
        );
    }
    if want("steps") {
        let w = (n / 10).max(1);
        eprintln!("scenario steps: {w} workflows of 10 sequential PingWorker steps");
        out.insert(
            "steps".into(),
            throughput::throughput(args, "BenchSteps", w, 10, None).await?,
        );
    }
    if want("slots") {
        eprintln!(
            "scenario slots: {n} Ping workflows, worker with {} slots",
            args.slots
        );
        out.insert(
            "slots".into(),
            throughput::throughput(args, "Ping", n, 1, Some(args.slots)).await?,
        );
    }
    if want("aws") {
        out.insert("aws".into(), aws::aws(args).await?);
    }
    if want("aws-steps") {
        out.insert("aws-steps".into(), aws::aws_steps(args).await?);
    }
    if want("pipeline") {
        eprintln!("scenario pipeline: {articles} article packages through IngestArticleZip");
        out.insert("pipeline".into(), pipeline::pipeline(args, articles).await?);
    }
    if want("up-figures") {
        eprintln!(
            "scenario up-figures: `pressbot up` over generated multi-figure packages, then ImageMagick and pressbot's resize alone on the same figures"
        );
        out.insert("up-figures".into(), up_figures::up_figures(args).await?);
    }
    Ok(Value::Object(out))
}
