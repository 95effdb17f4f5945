//! `pressbot`: the operator's command line.

use anyhow::{bail, Context};
use clap::{CommandFactory, Parser, Subcommand};
use pressbot_core::backend::StartOutcome;
use pressbot_daemons::app::{connect, CommonArgs, Loaded};
use pressbot_daemons::{ops, resources, up};
use std::path::PathBuf;

/// Operate pressbot: run everything locally, create resources, start and inspect workflows.
#[derive(Debug, Parser)]
#[command(name = "pressbot", version = pressbot_daemons::VERSION, about)]
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
        #[arg(long, conflicts_with = "output")]
        raw: bool,
        #[command(flatten)]
        output: pressbot_daemons::cli::OutputArgs,
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
    /// Close open executions at once, recording --reason (refuses several without --yes).
    Terminate(pressbot_daemons::cli::StopArgs),
    /// Ask open executions to cancel: their activities are cancelled and they close as canceled (refuses several without --yes).
    Cancel(pressbot_daemons::cli::StopArgs),
    /// Print a shell completion script (e.g. `pressbot completions bash > /etc/bash_completion.d/pressbot`).
    Completions { shell: clap_complete::Shell },
    /// Write man pages (pressbot.1 and one per subcommand) into a directory.
    Man {
        /// Where to write them (created if missing).
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
}

/// Exit statuses: 0 ok; 1 an error; 2 a usage error (clap) or, for
/// `status --check`, unknown; 78 (EX_CONFIG) settings or workflows that do
/// not load.
fn main() -> std::process::ExitCode {
    match run() {
        Ok(code) => std::process::ExitCode::from(code),
        Err(e) => {
            eprintln!("Error: {e:#}");
            std::process::ExitCode::from(pressbot_daemons::error::exit_code(e.chain()))
        }
    }
}

#[tokio::main]
async fn run() -> anyhow::Result<u8> {
    let cli = Cli::parse();
    // These two need no settings: they work on a machine not yet configured.
    match &cli.command {
        Command::Completions { shell } => {
            clap_complete::generate(
                *shell,
                &mut Cli::command(),
                "pressbot",
                &mut std::io::stdout(),
            );
            return Ok(0);
        }
        Command::Man { dir } => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            clap_mangen::generate_to(Cli::command(), dir)
                .with_context(|| format!("writing man pages into {}", dir.display()))?;
            println!("man pages written to {}", dir.display());
            return Ok(0);
        }
        // Every problem at once, not the first: see `cli::check_config`.
        Command::CheckConfig => {
            let check = pressbot_daemons::cli::check_config(&cli.common);
            let Some(loaded) = check.loaded else {
                for p in &check.problems {
                    eprintln!("error: {p}");
                }
                eprintln!("{} problem(s) found", check.problems.len());
                return Ok(pressbot_daemons::EX_CONFIG);
            };
            println!(
                "settings ({}) valid; {} workflow definitions; {} new-file rules; {} cron schedules",
                cli.common.env,
                loaded.definitions.iter().count(),
                loaded.rules.rules.len(),
                check.schedules
            );
            return Ok(0);
        }
        _ => {}
    }
    let loaded = Loaded::load(&cli.common).context("loading settings and workflows")?;
    pressbot_daemons::logging::init(&loaded.settings.log);
    match cli.command {
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
            output,
        } => {
            let backend = connect(&loaded.settings).await?;
            let execution =
                ops::resolve_execution(&backend, &workflow_id, run_id.as_deref()).await?;
            let events = backend.workflows.history(&execution).await?;
            if raw {
                for e in &events {
                    println!("{}", serde_json::to_string(e)?);
                }
            } else if output.json() {
                pressbot_daemons::cli::print_json(&pressbot_daemons::history::to_json(
                    &loaded.definitions,
                    &execution,
                    &events,
                ));
            } else {
                print!(
                    "{}",
                    pressbot_daemons::history::render(&loaded.definitions, &execution, &events)
                );
            }
        }
        Command::Status(a) => return Ok(pressbot_daemons::cli::status(&loaded, a).await?),
        Command::Cron(a) => pressbot_daemons::cli::cron(&loaded, a).await?,
        Command::Feed(a) => pressbot_daemons::cli::feed(&loaded, a).await?,
        Command::Retry(a) => pressbot_daemons::cli::retry(&loaded, a).await?,
        Command::Redrive(a) => pressbot_daemons::cli::redrive(&loaded, a).await?,
        Command::Presign(a) => pressbot_daemons::cli::presign(&loaded, a).await?,
        Command::Dashboard => {
            pressbot_daemons::dashboard::role(loaded, pressbot_daemons::shutdown::install()).await?
        }
        Command::Terminate(a) => {
            pressbot_daemons::cli::stop(&loaded, a, ops::Stop::Terminate).await?
        }
        Command::Cancel(a) => pressbot_daemons::cli::stop(&loaded, a, ops::Stop::Cancel).await?,
        Command::Completions { .. } | Command::Man { .. } | Command::CheckConfig => {
            unreachable!("handled above")
        }
    }
    Ok(0)
}

fn pressbot_daemons_cms_addr() -> String {
    std::env::var("PRESSBOT__CMS__EMBEDDED_LISTEN").unwrap_or_else(|_| "127.0.0.1:8480".into())
}
