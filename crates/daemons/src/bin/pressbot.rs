//! `pressbot`: the operator's command line.

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use pressbot_core::backend::StartOutcome;
use pressbot_daemons::app::{connect, CommonArgs, Loaded};
use pressbot_daemons::{ops, resources, up};
use std::path::PathBuf;

/// Operate pressbot: run everything locally, create resources, start and inspect workflows.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run every role in this process (embedded backend and CMS by default).
    Up {
        /// Put these packages into the incoming bucket at start.
        #[arg(long, num_args = 1..)]
        ingest: Vec<PathBuf>,
        /// Exit once every workflow seen has closed, printing a summary.
        #[arg(long)]
        until_idle: bool,
        /// With --until-idle: give up after this long (e.g. "10m").
        #[arg(long, value_parser = humantime::parse_duration, default_value = "30m")]
        timeout: std::time::Duration,
    },
    /// Register the domain and every workflow and activity type (idempotent).
    Register,
    /// Create buckets, queues (with dead-letter queues), notifications, the domain, and register types (idempotent).
    CreateResources {
        /// Print what would be done, do nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Validate settings, workflow definitions and rules, then exit.
    CheckConfig,
    /// Upload a file into a bucket, firing its notification.
    Put {
        file: PathBuf,
        /// Bucket role (incoming, silent_corrections, expanded, cdn, archive) or a bucket name.
        #[arg(long, default_value = "incoming")]
        bucket: String,
        /// Object key (default: the file name).
        #[arg(long)]
        key: Option<String>,
    },
    /// Start a workflow.
    Start {
        name: String,
        /// Workflow input, a JSON object.
        #[arg(long, default_value = "{}")]
        input: String,
        /// Workflow id (default: the name and a random UUID).
        #[arg(long)]
        id: Option<String>,
    },
    /// Show an execution's timeline: steps, attempts, timeouts, retries.
    History {
        workflow_id: String,
        #[arg(long)]
        run_id: Option<String>,
        /// Print the raw events as JSON lines instead.
        #[arg(long)]
        raw: bool,
    },
    /// Each role's health, queue depths (with dead-letter queues), open and recently failed executions.
    Status(pressbot_daemons::cli::StatusArgs),
    /// Start due scheduled workflows and checks from workflows/cron.toml (run every few minutes).
    Cron(pressbot_daemons::cli::CronArgs),
    /// Send starter messages for objects already in a bucket (backfill, re-run after a fix).
    Feed(pressbot_daemons::cli::FeedArgs),
    /// Re-run a failed or timed-out workflow with its original input.
    Retry(pressbot_daemons::cli::RetryArgs),
    /// Move dead-lettered messages back to their queue.
    Redrive(pressbot_daemons::cli::RedriveArgs),
    /// Run the dashboard alone: consume the event-monitor queue and serve the page on dashboard.listen.
    Dashboard,
    /// Print a presigned GET URL of an object (expires after --expires, default activities.presign_expiry).
    Presign(pressbot_daemons::cli::PresignArgs),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let loaded = Loaded::load(&cli.common).context("loading settings and workflows")?;
    pressbot_daemons::logging::init(&loaded.settings.log);
    match cli.command {
        Command::CheckConfig => {
            println!(
                "settings ({}) valid; {} workflow definitions; {} new-file rules",
                cli.common.env,
                loaded.definitions.iter().count(),
                loaded.rules.rules.len()
            );
        }
        Command::Up {
            ingest,
            until_idle,
            timeout,
        } => {
            for p in &ingest {
                if !p.is_file() {
                    bail!("--ingest {}: no such file", p.display());
                }
            }
            let shutdown = pressbot_daemons::shutdown::install();
            let report = up::up(
                loaded,
                up::UpOptions {
                    ingest,
                    until_idle,
                    timeout: Some(timeout),
                    on_dashboard: Some(|url| match url {
                        Some(url) => println!("dashboard: {url}"),
                        None => println!("dashboard: not served (see the log)"),
                    }),
                },
                shutdown,
            )
            .await?;
            println!("{}", report.render());
            if let Some(dir) = &report.cms_dir {
                println!(
                    "\nThe embedded CMS keeps what it received under {}",
                    dir.display()
                );
                println!(
                    "(run `pressbot up` without --until-idle to browse it at http://{}/)",
                    pressbot_daemons_cms_addr()
                );
            }
            if !report.all_ok() {
                std::process::exit(1);
            }
        }
        Command::Register => {
            let backend = connect(&loaded.settings).await?;
            backend.workflows.register(&loaded.definitions).await?;
            println!(
                "registered {} workflow types in {}",
                loaded.definitions.iter().count(),
                loaded.settings.domain()
            );
        }
        Command::CreateResources { dry_run } => {
            let backend = connect(&loaded.settings).await?;
            resources::ensure(
                &loaded.settings,
                &loaded.definitions,
                &backend,
                dry_run,
                &mut |l| println!("{}{l}", if dry_run { "would create: " } else { "ok: " }),
            )
            .await?;
        }
        Command::Put { file, bucket, key } => {
            let backend = connect(&loaded.settings).await?;
            let bucket = loaded.settings.bucket(&bucket).unwrap_or(bucket);
            let key = ops::put_file(&backend, &bucket, &file, key.as_deref()).await?;
            println!("put s3://{bucket}/{key}");
        }
        Command::Start { name, input, id } => {
            let input: serde_json::Value =
                serde_json::from_str(&input).context("--input is not JSON")?;
            let backend = connect(&loaded.settings).await?;
            let (id, outcome) = ops::start(&backend, &loaded.definitions, &name, input, id).await?;
            match outcome {
                StartOutcome::Started { run_id } => println!("started {id} (run {run_id})"),
                StartOutcome::AlreadyRunning => println!("{id} is already running"),
            }
        }
        Command::History {
            workflow_id,
            run_id,
            raw,
        } => {
            let backend = connect(&loaded.settings).await?;
            let execution =
                ops::resolve_execution(&backend, &workflow_id, run_id.as_deref()).await?;
            let events = backend.workflows.history(&execution).await?;
            if raw {
                for e in &events {
                    println!("{}", serde_json::to_string(e)?);
                }
            } else {
                print!(
                    "{}",
                    pressbot_daemons::history::render(&loaded.definitions, &execution, &events)
                );
            }
        }
        Command::Status(a) => pressbot_daemons::cli::status(&loaded, a).await?,
        Command::Cron(a) => pressbot_daemons::cli::cron(&loaded, a).await?,
        Command::Feed(a) => pressbot_daemons::cli::feed(&loaded, a).await?,
        Command::Retry(a) => pressbot_daemons::cli::retry(&loaded, a).await?,
        Command::Redrive(a) => pressbot_daemons::cli::redrive(&loaded, a).await?,
        Command::Presign(a) => pressbot_daemons::cli::presign(&loaded, a).await?,
        Command::Dashboard => {
            pressbot_daemons::dashboard::role(loaded, pressbot_daemons::shutdown::install()).await?
        }
    }
    Ok(())
}

fn pressbot_daemons_cms_addr() -> String {
    std::env::var("PRESSBOT__CMS__EMBEDDED_LISTEN").unwrap_or_else(|_| "127.0.0.1:8480".into())
}
