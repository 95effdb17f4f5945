//! The `pressbot` command line: its arguments and one dispatch, each
//! command in its own module with its arguments (`Args`) and a `run` that
//! prints what it found and returns the exit status.
//!
//! Exit statuses: 0 ok; 1 an error; 2 a usage error (clap) or, for
//! `status --check`, unknown; 78 (EX_CONFIG) settings or workflows that do
//! not load.

pub mod check_config;
pub mod completions;
pub mod create_resources;
pub mod cron;
pub mod dashboard;
pub mod feed;
pub mod history;
pub mod man;
pub mod presign;
pub mod put;
pub mod redrive;
pub mod register;
pub mod retry;
pub mod start;
pub mod status;
pub mod stop;
pub mod up;

use crate::app::{CommonArgs, Loaded};
use pressbot_core::backend::Backend;
use tokio::sync::OnceCell;

/// One line, then what `pressbot --help` shows under it.
const ABOUT: &str = "pressbot: operate the publishing pipeline (article packages from the incoming bucket to the CMS)";
const LONG_ABOUT: &str = "\
pressbot: operate the publishing pipeline (article packages from the incoming bucket to the CMS).

pressbot turns article packages (a zip of JATS XML and figures) dropped in an
incoming bucket into published articles: four daemons (decider,
activity-worker, queue-worker, workflow-starter) run the workflows on AWS
(SWF, SQS, S3) or on the embedded backend. This command runs them all in one
process (`pressbot up`), creates their resources, and lets an operator
start, inspect, retry and stop workflows, feed and redrive queues, and run
the scheduled checks. Settings: settings/<ENV>.toml over settings/default.toml,
then PRESSBOT__SECTION__KEY variables (docs/operations.md).";

/// `pressbot`'s arguments: the settings to load and one command.
#[derive(Debug, clap::Parser)]
#[command(name = "pressbot", version = pressbot_daemons::VERSION, about = ABOUT, long_about = LONG_ABOUT)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Run every role in this process (embedded backend and CMS by default).
    Up(up::Args),
    /// Register the domain and every workflow and activity type (idempotent).
    Register,
    /// Create buckets, queues (with dead-letter queues), notifications, the domain, and register types (idempotent).
    CreateResources(create_resources::Args),
    /// Validate settings, workflow definitions and rules, then exit.
    CheckConfig,
    /// Upload a file into a bucket, firing its notification.
    Put(put::Args),
    /// Start a workflow by name with a JSON input (--id to choose its workflow id).
    Start(start::Args),
    /// Show an execution's timeline: steps, attempts, timeouts, retries.
    History(history::Args),
    /// Each role's health, queue depths (with dead-letter queues), open and recently failed executions.
    Status(status::Args),
    /// Start due scheduled workflows and checks from workflows/cron.toml (run every few minutes).
    Cron(cron::Args),
    /// Send starter messages for objects already in a bucket (backfill, re-run after a fix).
    Feed(feed::Args),
    /// Re-run a failed or timed-out workflow with its original input.
    Retry(retry::Args),
    /// Move dead-lettered messages back to their queue.
    Redrive(redrive::Args),
    /// Run the dashboard alone: consume the event-monitor queue and serve the page on dashboard.listen.
    Dashboard,
    /// Print a presigned GET URL of an object (expires after --expires, default activities.presign_expiry).
    Presign(presign::Args),
    /// Close open executions at once, recording --reason (refuses several without --yes).
    Terminate(stop::Args),
    /// Ask open executions to cancel: their activities are cancelled and they close as canceled (refuses several without --yes).
    Cancel(stop::Args),
    /// Print a shell completion script (e.g. `pressbot completions bash > /etc/bash_completion.d/pressbot`).
    Completions(completions::Args),
    /// Write man pages (pressbot.1 and one per subcommand) into a directory.
    Man(man::Args),
}

/// What a command that needs settings runs with: everything loaded, and
/// the backend the settings name, connected on first use (the one place
/// `pressbot` selects its backend), so a command checks its own arguments
/// before it touches the network and a command that needs no backend
/// connects none.
#[derive(Debug)]
pub struct Ctx {
    pub loaded: Loaded,
    backend: OnceCell<Backend>,
}

impl Ctx {
    pub fn new(loaded: Loaded) -> Self {
        Ctx {
            loaded,
            backend: OnceCell::new(),
        }
    }

    /// The backend of `settings.backend` (embedded or AWS).
    pub async fn backend(&self) -> crate::Result<&Backend> {
        self.backend
            .get_or_try_init(|| crate::app::connect(&self.loaded.settings))
            .await
    }
}

impl Cli {
    /// The commands that need no settings (they work on a machine not yet
    /// configured, or report every problem of the settings themselves): their
    /// exit status, or `None` when the command needs loaded settings, for
    /// [`Cli::run`].
    pub fn run_without_settings(&self) -> crate::Result<Option<u8>> {
        match &self.command {
            Command::Completions(a) => completions::run(a).map(Some),
            Command::Man(a) => man::run(a).map(Some),
            Command::CheckConfig => Ok(Some(check_config::run(&self.common))),
            _ => Ok(None),
        }
    }

    /// Run a command with its settings loaded; returns the exit status.
    pub async fn run(self, loaded: Loaded) -> crate::Result<u8> {
        pressbot_daemons::logging::init(&loaded.settings.log);
        let ctx = Ctx::new(loaded);
        match self.command {
            Command::Up(a) => up::run(ctx.loaded, a).await,
            Command::Register => register::run(&ctx).await,
            Command::CreateResources(a) => create_resources::run(&ctx, a).await,
            Command::Put(a) => put::run(&ctx, a).await,
            Command::Start(a) => start::run(&ctx, a).await,
            Command::History(a) => history::run(&ctx, a).await,
            Command::Status(a) => status::run(&ctx, a).await,
            Command::Cron(a) => cron::run(&ctx, a).await,
            Command::Feed(a) => feed::run(&ctx, a).await,
            Command::Retry(a) => retry::run(&ctx, a).await,
            Command::Redrive(a) => redrive::run(&ctx, a).await,
            Command::Dashboard => dashboard::run(ctx.loaded).await,
            Command::Presign(a) => presign::run(&ctx, a).await,
            Command::Terminate(a) => stop::run(&ctx, a, crate::ops::Stop::Terminate).await,
            Command::Cancel(a) => stop::run(&ctx, a, crate::ops::Stop::Cancel).await,
            Command::Completions(a) => completions::run(&a),
            Command::Man(a) => man::run(&a),
            Command::CheckConfig => Ok(check_config::run(&self.common)),
        }
    }
}
