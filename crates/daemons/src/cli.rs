//! The operations subcommands of `pressbot` (`status`, `cron`, `feed`,
//! `retry`, `redrive`, `presign`, `terminate`, `cancel`): their arguments
//! and what each prints, so the binary keeps one line per command.
//!
//! Every reporting command takes `--output table|json`: the table is for
//! people and may change; the JSON is a contract for scripts and
//! monitoring, documented in docs/operations.md ("Machine-readable output").

use crate::app::{connect, Loaded};
use crate::status::{parse_endpoint, Endpoint};
use pressbot_core::backend::StartOutcome;
use pressbot_core::time::Timestamp;
use std::path::PathBuf;
use std::time::Duration;

/// How a reporting command prints what it found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    /// Aligned columns and sentences, for people.
    #[default]
    Table,
    /// One JSON document on stdout, for scripts (shapes in docs/operations.md).
    Json,
}

/// `--output`, shared by the reporting commands.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct OutputArgs {
    /// Print a table for people, or JSON for scripts.
    #[arg(long, value_enum, default_value_t = Output::Table)]
    pub output: Output,
}

impl OutputArgs {
    pub fn json(self) -> bool {
        self.output == Output::Json
    }
}

/// Print one JSON document (pretty: it is read by people debugging scripts
/// too, and `jq` does not care).
pub fn print_json(v: &serde_json::Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
    );
}

#[derive(Debug, Clone, clap::Args)]
pub struct StatusArgs {
    /// A role's operations endpoint, ROLE=URL (repeatable), e.g. decider=http://127.0.0.1:9101.
    #[arg(long = "endpoint", value_parser = parse_endpoint, env = "PRESSBOT_STATUS_ENDPOINTS", value_delimiter = ',')]
    pub endpoints: Vec<Endpoint>,
    /// List failures of executions started this far back.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "24h")]
    pub failed_since: Duration,
    /// For monitoring: exit 0 when healthy, 1 when a role is unhealthy or a
    /// dead-letter queue holds messages, 2 when the status could not be checked.
    #[arg(long)]
    pub check: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Print the status; returns the exit status (always 0 without `--check`).
///
/// With `--check`, not reaching the backend is a verdict (2, "unknown"),
/// not an error, so a monitoring probe can tell "broken" from "could not look".
pub async fn status(loaded: &Loaded, a: StatusArgs) -> crate::Result<u8> {
    let backend = match connect(&loaded.settings).await {
        Ok(b) => b,
        Err(e) if a.check => {
            if a.output.json() {
                print_json(&serde_json::json!({ "verdict": "unknown", "error": e.to_string() }));
            } else {
                println!("unknown: cannot connect to the backend: {e}");
            }
            return Ok(crate::status::Health::Unknown.exit_code());
        }
        Err(e) => return Err(e),
    };
    let s = crate::status::gather(loaded, &backend, &a.endpoints, a.failed_since).await;
    let verdict = s.verdict();
    if a.output.json() {
        print_json(&s.to_json());
    } else {
        print!("{}", s.render());
        if a.check {
            println!("\n{}", verdict.as_str());
        }
    }
    Ok(if a.check { verdict.exit_code() } else { 0 })
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
    #[command(flatten)]
    pub output: OutputArgs,
}

pub async fn cron(loaded: &Loaded, a: CronArgs) -> crate::Result<()> {
    let backend = connect(&loaded.settings).await?;
    let outcomes = crate::cron::command(loaded, &backend, a.file, a.now, a.state, a.dry_run)
        .await
        .map_err(|e| crate::Error::Other(e.to_string()))?;
    if a.output.json() {
        print_json(&serde_json::Value::Array(
            outcomes.iter().map(crate::cron::Outcome::to_json).collect(),
        ));
    } else {
        for o in outcomes {
            println!("{}", o.render());
        }
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
    #[command(flatten)]
    pub output: OutputArgs,
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
    if a.output.json() {
        print_json(&report.to_json(a.dry_run));
    } else {
        print!("{}", report.render(a.dry_run));
    }
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
    #[command(flatten)]
    pub output: OutputArgs,
}

pub async fn redrive(loaded: &Loaded, a: RedriveArgs) -> crate::Result<()> {
    let backend = connect(&loaded.settings).await?;
    if a.output.json() {
        let (queue, dead_letter_queue) = crate::repair::resolve_queue(loaded, &a.queue);
        let v = if a.dry_run {
            let d = backend.queues.depth(&dead_letter_queue).await?;
            serde_json::json!({
                "queue": queue,
                "dead_letter_queue": dead_letter_queue,
                "dry_run": true,
                "count": d.visible + d.delayed,
                "moved": [],
            })
        } else {
            let moved = crate::repair::redrive(loaded, &backend, &a.queue, false).await?;
            serde_json::json!({
                "queue": queue,
                "dead_letter_queue": dead_letter_queue,
                "dry_run": false,
                "count": moved.len(),
                "moved": moved.iter().map(|(id, target)| serde_json::json!({
                    "message_id": id, "queue": target,
                })).collect::<Vec<_>>(),
            })
        };
        print_json(&v);
        return Ok(());
    }
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

/// Which open executions `terminate` / `cancel` act on, and why.
#[derive(Debug, Clone, clap::Args)]
pub struct StopArgs {
    /// Workflow ids whose open run to stop.
    #[arg(required_unless_present = "all_open")]
    pub workflow_ids: Vec<String>,
    /// Every open execution (narrow it with --workflow-type).
    #[arg(long)]
    pub all_open: bool,
    /// With --all-open: only executions of this workflow (name).
    #[arg(long, requires = "all_open")]
    pub workflow_type: Option<String>,
    /// Why: recorded in the history (terminate; a cancel request carries
    /// none) and in the logs. Required: whoever looks later should not guess.
    #[arg(long)]
    pub reason: String,
    /// Act even when the selection matches more than one execution.
    #[arg(long)]
    pub yes: bool,
}

/// `pressbot terminate` / `pressbot cancel`. More than one matching
/// execution without `--yes` is refused, listing them: a selector such as
/// `--all-open` can match far more than the operator expects.
pub async fn stop(loaded: &Loaded, a: StopArgs, how: crate::ops::Stop) -> crate::Result<()> {
    let backend = connect(&loaded.settings).await?;
    let selected = crate::ops::select_open(
        &backend,
        &a.workflow_ids,
        a.all_open,
        a.workflow_type.as_deref(),
    )
    .await?;
    let verb = match how {
        crate::ops::Stop::Terminate => "terminate",
        crate::ops::Stop::Cancel => "cancel",
    };
    if selected.is_empty() {
        println!("no open execution matches: nothing to {verb}");
        return Ok(());
    }
    let list = || {
        selected
            .iter()
            .map(|e| {
                format!(
                    "  {} (run {}, {})",
                    e.execution.workflow_id, e.execution.run_id, e.workflow_type.name
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    if selected.len() > 1 && !a.yes {
        return Err(crate::Error::Other(format!(
            "{} open executions match; pass --yes to {verb} them all:\n{}",
            selected.len(),
            list()
        )));
    }
    crate::ops::stop(&backend, &selected, how, &a.reason).await?;
    for e in &selected {
        let done = match how {
            crate::ops::Stop::Terminate => "terminated",
            crate::ops::Stop::Cancel => "cancel requested for",
        };
        println!(
            "{done} {} (run {})",
            e.execution.workflow_id, e.execution.run_id
        );
    }
    Ok(())
}

/// What `pressbot check-config` found: every problem, each naming the file
/// or `PRESSBOT__` variable it is in, so one run shows everything to fix
/// instead of one problem per run.
#[derive(Debug, Default)]
pub struct ConfigCheck {
    /// Everything loaded, when nothing failed.
    pub loaded: Option<Loaded>,
    pub problems: Vec<String>,
    /// Schedules in `cron.toml` (0 when there is none).
    pub schedules: usize,
}

/// Check settings, every workflow definition, the new-file rules and
/// `cron.toml`, going on past a failure wherever what follows does not
/// depend on it (within the settings too: see `app::check_settings`).
pub fn check_config(args: &crate::app::CommonArgs) -> ConfigCheck {
    use pressbot_core::definition::{WorkflowDefinition, RESERVED_FILES};
    let mut check = ConfigCheck::default();
    let (settings, problems) = crate::app::check_settings(&args.settings_dir, &args.env);
    check
        .problems
        .extend(problems.iter().map(|p| describe_settings_problem(args, p)));
    // Without settings the definitions can still be checked, in the
    // directory the settings would most likely have named.
    let workflows_dir = settings.as_ref().map_or_else(
        || {
            std::env::var_os("PRESSBOT__WORKFLOWS_DIR")
                .map_or_else(|| PathBuf::from("workflows"), PathBuf::from)
        },
        |s| s.workflows_dir.clone(),
    );
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&workflows_dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| !RESERVED_FILES.contains(&n))
            })
            .collect(),
        Err(e) => {
            check
                .problems
                .push(format!("{}: {e}", workflows_dir.display()));
            Vec::new()
        }
    };
    files.sort();
    let mut each_loads = true;
    for f in &files {
        if let Err(e) = WorkflowDefinition::load(f, &pressbot_activities::is_known_activity) {
            each_loads = false;
            check.problems.push(e.to_string());
        }
    }
    let Some(settings) = settings else {
        return check;
    };
    if !each_loads {
        return check;
    }
    // Across files: duplicates, versions, the rules' buckets and workflows.
    let loaded = match Loaded::from_settings(settings) {
        Ok(l) => l,
        Err(e) => {
            check.problems.push(e.to_string());
            return check;
        }
    };
    let cron = loaded.settings.workflows_dir.join("cron.toml");
    if cron.exists() {
        match crate::cron::load(&cron, &loaded) {
            Ok(s) => check.schedules = s.len(),
            Err(e) => check.problems.push(e.to_string()),
        }
    }
    if check.problems.is_empty() {
        check.loaded = Some(loaded);
    }
    check
}

/// A settings problem with where to look: the `PRESSBOT__` variable when
/// one sets the failing key, the file its value came from, else the files
/// merged for this environment.
fn describe_settings_problem(
    args: &crate::app::CommonArgs,
    problem: &crate::app::SettingsProblem,
) -> String {
    let files = if args.env == "default" {
        args.settings_dir.join("default.toml").display().to_string()
    } else {
        format!(
            "{} over {}",
            args.settings_dir
                .join(format!("{}.toml", args.env))
                .display(),
            args.settings_dir.join("default.toml").display()
        )
    };
    let e = &problem.error;
    let Some(key) = &problem.key else {
        return e.to_string();
    };
    let var = settings_variable(key);
    if std::env::var_os(&var).is_some() {
        format!("{e} (`{key}` set by the environment variable {var})")
    } else {
        match problem.origin.as_deref() {
            Some(file) if file != "the environment" => format!("{e} (`{key}` in {file})"),
            _ => format!("{e} (in {files}, or set {var})"),
        }
    }
}

/// The environment variable that sets a settings key: `decider.slots` ->
/// `PRESSBOT__DECIDER__SLOTS` (an index such as `pools[0]` is dropped: a
/// list is set as a whole).
pub fn settings_variable(key: &str) -> String {
    let path: Vec<String> = key
        .split('.')
        .map(|part| part.split('[').next().unwrap_or(part).to_uppercase())
        .collect();
    format!("PRESSBOT__{}", path.join("__"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_keys_name_their_variables() {
        assert_eq!(
            settings_variable("decider.slots"),
            "PRESSBOT__DECIDER__SLOTS"
        );
        assert_eq!(
            settings_variable("worker.pools[0].slots"),
            "PRESSBOT__WORKER__POOLS__SLOTS"
        );
        assert_eq!(settings_variable("prefix"), "PRESSBOT__PREFIX");
    }
}
