//! The operations subcommands of `pressbot` (`status`, `cron`, `feed`,
//! `retry`, `redrive`, `presign`): their arguments and what each prints, so the binary
//! keeps one line per command.

use crate::app::{connect, Loaded};
use crate::status::{parse_endpoint, Endpoint};
use pressbot_core::backend::StartOutcome;
use pressbot_core::time::Timestamp;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, clap::Args)]
pub struct StatusArgs {
    /// A role's operations endpoint, ROLE=URL (repeatable), e.g. decider=http://127.0.0.1:9101.
    #[arg(long = "endpoint", value_parser = parse_endpoint, env = "PRESSBOT_STATUS_ENDPOINTS", value_delimiter = ',')]
    pub endpoints: Vec<Endpoint>,
    /// List failures of executions started this far back.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "24h")]
    pub failed_since: Duration,
    /// Exit 1 when a role is unhealthy or a dead-letter queue holds messages (for monitoring).
    #[arg(long)]
    pub check: bool,
}

pub async fn status(loaded: &Loaded, a: StatusArgs) -> crate::Result<()> {
    let backend = connect(&loaded.settings).await?;
    let s = crate::status::gather(loaded, &backend, &a.endpoints, a.failed_since).await;
    print!("{}", s.render());
    if a.check && !s.healthy() {
        return Err(crate::Error::Other("unhealthy (see above)".into()));
    }
    Ok(())
}

#[derive(Debug, Clone, clap::Args)]
pub struct CronArgs {
    /// Schedules file (default: cron.toml in the workflows directory).
    #[arg(long)]
    pub file: Option<PathBuf>,
    /// Evaluate the schedules at this time (RFC 3339) instead of now.
    #[arg(long, value_parser = crate::cron::parse_now)]
    pub now: Option<Timestamp>,
    /// Where the checks remember their last run (default: $STATE_DIRECTORY or the data dir, cron-state.json).
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// Say what is due, start nothing.
    #[arg(long)]
    pub dry_run: bool,
}

pub async fn cron(loaded: &Loaded, a: CronArgs) -> crate::Result<()> {
    let backend = connect(&loaded.settings).await?;
    let outcomes = crate::cron::command(loaded, &backend, a.file, a.now, a.state, a.dry_run)
        .await
        .map_err(|e| crate::Error::Other(e.to_string()))?;
    for o in outcomes {
        println!("{}", o.render());
    }
    Ok(())
}

#[derive(Debug, Clone, clap::Args)]
pub struct FeedArgs {
    /// Bucket role (incoming, silent_corrections, ...) or bucket name.
    pub bucket: String,
    /// Only objects under this key prefix.
    #[arg(long, default_value = "")]
    pub prefix: String,
    /// Only keys matching this regular expression.
    #[arg(long)]
    pub filter: Option<String>,
    /// Seconds between two messages (decimals allowed).
    #[arg(long, default_value_t = 1.0)]
    pub rate: f64,
    /// List what would be fed, send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Start workflows even for objects whose workflow already ran.
    #[arg(long)]
    pub force: bool,
}

pub async fn feed(loaded: &Loaded, a: FeedArgs) -> crate::Result<()> {
    let filter = a
        .filter
        .as_deref()
        .map(regex::Regex::new)
        .transpose()
        .map_err(|e| crate::Error::Other(format!("--filter is not a regular expression: {e}")))?;
    if !(a.rate.is_finite() && a.rate >= 0.0) {
        return Err(crate::Error::Other(format!(
            "--rate {}: must be a number of seconds, 0 or more",
            a.rate
        )));
    }
    let backend = connect(&loaded.settings).await?;
    let options = crate::feed::FeedOptions {
        bucket: a.bucket,
        prefix: a.prefix,
        filter,
        rate: Duration::from_secs_f64(a.rate),
        dry_run: a.dry_run,
        force: a.force,
    };
    let report = crate::feed::feed(loaded, &backend, &options).await?;
    print!("{}", report.render(a.dry_run));
    Ok(())
}

#[derive(Debug, Clone, clap::Args)]
pub struct RetryArgs {
    pub workflow_id: String,
    /// Start under a new workflow id (`<id>-retry-<n>`) instead of reusing the closed one.
    #[arg(long)]
    pub new_id: bool,
}

pub async fn retry(loaded: &Loaded, a: RetryArgs) -> crate::Result<()> {
    let backend = connect(&loaded.settings).await?;
    match crate::repair::retry(loaded, &backend, &a.workflow_id, a.new_id).await? {
        (id, StartOutcome::Started { run_id }) => println!("restarted {id} (run {run_id})"),
        (id, StartOutcome::AlreadyRunning) => println!("{id} is already running"),
    }
    Ok(())
}

#[derive(Debug, Clone, clap::Args)]
pub struct RedriveArgs {
    /// Queue role (incoming, workflow_starter, event_monitor), queue name, or its -dlq name.
    pub queue: String,
    /// Only count the messages that would move.
    #[arg(long)]
    pub dry_run: bool,
}

pub async fn redrive(loaded: &Loaded, a: RedriveArgs) -> crate::Result<()> {
    let backend = connect(&loaded.settings).await?;
    let moved = crate::repair::redrive(loaded, &backend, &a.queue, a.dry_run).await?;
    if a.dry_run {
        for (q, what) in moved {
            println!("{q}: {what}");
        }
    } else {
        for (id, target) in &moved {
            println!("moved {id} -> {target}");
        }
        println!("{} message(s) redriven", moved.len());
    }
    Ok(())
}

#[derive(Debug, Clone, clap::Args)]
pub struct PresignArgs {
    /// Bucket role (incoming, expanded, cdn, archive, ...) or bucket name.
    pub bucket: String,
    /// Object key.
    pub key: String,
    /// How long the URL works (e.g. "15m", "2h", at most "7d"; default: activities.presign_expiry).
    #[arg(long, value_parser = humantime::parse_duration)]
    pub expires: Option<Duration>,
}

/// Print a presigned GET URL for one object, for handing a package or PDF
/// to someone without credentials. Checks the object exists first, so a
/// typo fails here rather than in the colleague's browser.
pub async fn presign(loaded: &Loaded, a: PresignArgs) -> crate::Result<()> {
    let expires = a
        .expires
        .unwrap_or(loaded.settings.activities.presign_expiry);
    let backend = connect(&loaded.settings).await?;
    let bucket = loaded.settings.bucket(&a.bucket).unwrap_or(a.bucket);
    if backend.objects.head(&bucket, &a.key).await?.is_none() {
        return Err(crate::Error::Other(format!(
            "no object s3://{bucket}/{}: nothing to presign",
            a.key
        )));
    }
    let url = backend
        .objects
        .presign_get(&bucket, &a.key, expires)
        .await?;
    println!("{url}");
    eprintln!(
        "valid for {} (until {})",
        humantime::format_duration(expires),
        Timestamp::now().plus(expires)
    );
    Ok(())
}
