//! `pressbot cron`: periodic workflows and checks, read from
//! `workflows/cron.toml`, run by a systemd timer (or a crontab line) every
//! few minutes.
//!
//! There is no scheduler process to keep alive: each run looks at each
//! schedule, finds its most recent slot at or before now, and if that slot
//! is within the catch-up window, acts on it once. "Once" is enforced by the
//! workflow service itself for workflows (the workflow id is
//! `cron-<name>-<slot>`; an open or closed execution with that id means it
//! was started already, so several hosts may run `pressbot cron` safely),
//! and by a small state file for the built-in checks.

use crate::app::Loaded;
use pressbot_core::backend::{
    Backend, CloseStatus, ExecutionFilter, ExecutionInfo, OutgoingMessage, StartOutcome,
    StartRequest,
};
use pressbot_core::history::{EventKind, HistoryEvent};
use pressbot_core::ids::{WorkflowExecution, WorkflowId};
use pressbot_core::messages::{DashboardMessage, EventStatus};
use pressbot_core::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The name of the schedules file inside `workflows_dir`.
pub const FILE: &str = "cron.toml";

fn default_timezone() -> String {
    "UTC".into()
}
fn default_catch_up() -> Duration {
    Duration::from_secs(15 * 60)
}
fn default_true() -> bool {
    true
}

/// `workflows/cron.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CronFile {
    /// Time zone of schedules that name none (IANA name, e.g. `Europe/London`).
    #[serde(default = "default_timezone")]
    pub timezone: String,
    /// How late a slot may still be acted on (a host that was down for
    /// longer skips the missed slots instead of running them all at once).
    #[serde(default = "default_catch_up", with = "humantime_serde")]
    pub catch_up: Duration,
    #[serde(default, rename = "schedule")]
    pub schedules: Vec<ScheduleSpec>,
}

/// One `[[schedule]]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleSpec {
    /// Unique; part of the workflow id (`cron-<name>-<slot>`).
    pub name: String,
    /// Cron syntax: `min hour day-of-month month day-of-week` (an optional
    /// leading seconds field is accepted).
    pub cron: String,
    pub timezone: Option<String>,
    #[serde(default, with = "humantime_serde::option")]
    pub catch_up: Option<Duration>,
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// The workflow to start (exactly one of `workflow` and `check`).
    pub workflow: Option<String>,
    /// The workflow's input (a table).
    pub input: Option<toml::Table>,
    /// A built-in check instead of a workflow.
    pub check: Option<CheckKind>,
    /// stuck-workflows: an open execution older than this is reported.
    #[serde(default, with = "humantime_serde::option")]
    pub open_longer_than: Option<Duration>,
    /// stuck-workflows, first run only: report failures this far back
    /// (default 1 day). scheduled-publications: look at previews started
    /// this far back (default 30 days).
    #[serde(default, with = "humantime_serde::option")]
    pub lookback: Option<Duration>,
}

/// The built-in checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckKind {
    /// Executions open too long, or failed / timed out since the last run.
    StuckWorkflows,
    /// Previewed articles whose publication time (`publish_at`) has come are published.
    ScheduledPublications,
}

/// A validated schedule.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub name: String,
    pub cron: croner::Cron,
    pub pattern: String,
    pub timezone: jiff::tz::TimeZone,
    pub timezone_name: String,
    pub catch_up: Duration,
    pub action: Action,
}

#[derive(Debug, Clone)]
pub enum Action {
    Workflow {
        name: String,
        input: serde_json::Value,
    },
    Check {
        kind: CheckKind,
        open_longer_than: Duration,
        lookback: Duration,
    },
}

/// Errors of this module, each naming the file and schedule.
#[derive(Debug, thiserror::Error)]
pub enum CronError {
    #[error("{file}: {source}")]
    Read {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: {source}")]
    Parse {
        file: PathBuf,
        #[source]
        source: toml::de::Error,
    },
    #[error("{file}: schedule {schedule:?}: {field}: {message}")]
    Invalid {
        file: PathBuf,
        schedule: String,
        field: &'static str,
        message: String,
    },
    #[error("cron state file {file}: {message}")]
    State { file: PathBuf, message: String },
    #[error("cron: {0}")]
    Backend(#[from] pressbot_core::Error),
}

/// Load and validate a schedules file against the workflow definitions.
pub fn load(file: &Path, loaded: &Loaded) -> Result<Vec<Schedule>, CronError> {
    let text = std::fs::read_to_string(file).map_err(|source| CronError::Read {
        file: file.to_path_buf(),
        source,
    })?;
    parse(file, &text, &|w| loaded.definitions.get(w).is_some())
}

/// Parse and validate schedules; `known_workflow` says which names exist.
pub fn parse(
    file: &Path,
    text: &str,
    known_workflow: &dyn Fn(&str) -> bool,
) -> Result<Vec<Schedule>, CronError> {
    let spec: CronFile = toml::from_str(text).map_err(|source| CronError::Parse {
        file: file.to_path_buf(),
        source,
    })?;
    let mut out: Vec<Schedule> = Vec::new();
    for s in spec.schedules {
        let bad = |field: &'static str, message: String| CronError::Invalid {
            file: file.to_path_buf(),
            schedule: s.name.clone(),
            field,
            message,
        };
        if s.name.is_empty()
            || !s
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(bad(
                "name",
                "must be non-empty letters, digits, '-' or '_' (it is part of a workflow id)"
                    .into(),
            ));
        }
        if out.iter().any(|o| o.name == s.name) {
            return Err(bad("name", "is used by another schedule".into()));
        }
        let cron: croner::Cron = s.cron.parse().map_err(|e: croner::errors::CronError| {
            bad("cron", format!("{:?} is not a cron pattern: {e}", s.cron))
        })?;
        let timezone_name = s.timezone.clone().unwrap_or_else(|| spec.timezone.clone());
        let timezone = jiff::tz::TimeZone::get(&timezone_name).map_err(|e| {
            bad(
                "timezone",
                format!("{timezone_name:?} is not a known time zone: {e}"),
            )
        })?;
        let action = match (&s.workflow, &s.check) {
            (Some(w), None) => {
                if !known_workflow(w) {
                    return Err(bad(
                        "workflow",
                        format!("no workflow definition named {w:?}"),
                    ));
                }
                let input = serde_json::to_value(s.input.clone().unwrap_or_default())
                    .map_err(|e| bad("input", e.to_string()))?;
                Action::Workflow {
                    name: w.clone(),
                    input,
                }
            }
            (None, Some(kind)) => {
                if s.input.is_some() {
                    return Err(bad("input", "a check takes no input".into()));
                }
                Action::Check {
                    kind: *kind,
                    open_longer_than: s.open_longer_than.unwrap_or(Duration::from_secs(2 * 3600)),
                    lookback: s.lookback.unwrap_or(match kind {
                        CheckKind::StuckWorkflows => Duration::from_secs(24 * 3600),
                        // Articles may be previewed weeks before their date.
                        CheckKind::ScheduledPublications => Duration::from_secs(30 * 24 * 3600),
                    }),
                }
            }
            _ => {
                return Err(bad(
                    "workflow",
                    "set exactly one of `workflow` and `check`".into(),
                ))
            }
        };
        if !s.enabled {
            continue;
        }
        out.push(Schedule {
            name: s.name.clone(),
            pattern: s.cron.clone(),
            cron,
            timezone,
            timezone_name,
            catch_up: s.catch_up.unwrap_or(spec.catch_up),
            action,
        });
    }
    Ok(out)
}

fn to_jiff(t: Timestamp) -> jiff::Timestamp {
    jiff::Timestamp::from_millisecond(t.millis()).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

fn from_jiff(t: jiff::Timestamp) -> Timestamp {
    Timestamp(t.as_millisecond())
}

impl Schedule {
    /// The most recent slot at or before `now`, in this schedule's zone.
    pub fn latest_slot(&self, now: Timestamp) -> Option<Timestamp> {
        let zoned = to_jiff(now).to_zoned(self.timezone.clone());
        self.cron
            .find_previous_occurrence(&zoned, true)
            .ok()
            .map(|z| from_jiff(z.timestamp()))
    }

    /// The slot to act on now: the latest slot, unless it is older than the catch-up window.
    pub fn due(&self, now: Timestamp) -> Option<Timestamp> {
        self.latest_slot(now)
            .filter(|slot| now.since(*slot) <= self.catch_up)
    }

    /// The next slot after `now`.
    pub fn next_slot(&self, now: Timestamp) -> Option<Timestamp> {
        let zoned = to_jiff(now).to_zoned(self.timezone.clone());
        self.cron
            .find_next_occurrence(&zoned, false)
            .ok()
            .map(|z| from_jiff(z.timestamp()))
    }

    /// The workflow id of a slot: the same for every run of `pressbot cron` in that slot.
    pub fn workflow_id(&self, slot: Timestamp) -> WorkflowId {
        WorkflowId(format!("cron-{}-{}", self.name, slot_label(slot)))
    }
}

/// A slot as `20260101T0930Z` (UTC, minute precision; seconds if set).
pub fn slot_label(slot: Timestamp) -> String {
    let t = to_jiff(slot);
    if t.as_second() % 60 == 0 {
        t.strftime("%Y%m%dT%H%MZ").to_string()
    } else {
        t.strftime("%Y%m%dT%H%M%SZ").to_string()
    }
}

/// RFC 3339 for humans and messages.
pub fn rfc3339(t: Timestamp) -> String {
    to_jiff(t).to_string()
}

/// What one run did with one schedule.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    NotDue {
        schedule: String,
        next: Option<Timestamp>,
    },
    Started {
        schedule: String,
        workflow_id: WorkflowId,
        run_id: String,
    },
    AlreadyStarted {
        schedule: String,
        workflow_id: WorkflowId,
    },
    WouldStart {
        schedule: String,
        workflow_id: WorkflowId,
    },
    CheckRan {
        schedule: String,
        kind: CheckKind,
        summary: String,
    },
    CheckAlreadyRan {
        schedule: String,
        slot: Timestamp,
    },
}

impl Outcome {
    /// The machine-readable form (`cron --output json`, one object per
    /// schedule): `schedule`, `outcome` (the variant in snake case), and
    /// the variant's fields.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::json;
        match self {
            Outcome::NotDue { schedule, next } => json!({
                "schedule": schedule, "outcome": "not_due", "next": next.map(rfc3339),
            }),
            Outcome::Started {
                schedule,
                workflow_id,
                run_id,
            } => json!({
                "schedule": schedule, "outcome": "started",
                "workflow_id": workflow_id.to_string(), "run_id": run_id,
            }),
            Outcome::AlreadyStarted {
                schedule,
                workflow_id,
            } => json!({
                "schedule": schedule, "outcome": "already_started",
                "workflow_id": workflow_id.to_string(),
            }),
            Outcome::WouldStart {
                schedule,
                workflow_id,
            } => json!({
                "schedule": schedule, "outcome": "would_start",
                "workflow_id": workflow_id.to_string(),
            }),
            Outcome::CheckRan {
                schedule,
                kind,
                summary,
            } => json!({
                "schedule": schedule, "outcome": "check_ran",
                "check": kind, "summary": summary,
            }),
            Outcome::CheckAlreadyRan { schedule, slot } => json!({
                "schedule": schedule, "outcome": "check_already_ran", "slot": rfc3339(*slot),
            }),
        }
    }

    /// One line for the operator.
    pub fn render(&self) -> String {
        match self {
            Outcome::NotDue { schedule, next } => format!(
                "{schedule}: not due (next slot {})",
                next.map(rfc3339).unwrap_or_else(|| "never".into())
            ),
            Outcome::Started {
                schedule,
                workflow_id,
                run_id,
            } => {
                format!("{schedule}: started {workflow_id} (run {run_id})")
            }
            Outcome::AlreadyStarted {
                schedule,
                workflow_id,
            } => {
                format!("{schedule}: {workflow_id} already started in this slot")
            }
            Outcome::WouldStart {
                schedule,
                workflow_id,
            } => format!("{schedule}: would start {workflow_id}"),
            Outcome::CheckRan {
                schedule, summary, ..
            } => format!("{schedule}: {summary}"),
            Outcome::CheckAlreadyRan { schedule, slot } => {
                format!("{schedule}: already ran for slot {}", rfc3339(*slot))
            }
        }
    }
}

/// Options of one `pressbot cron` run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The time to evaluate schedules at (now, or a given time for tests and catch-up by hand).
    pub now: Timestamp,
    pub dry_run: bool,
    /// Where the built-in checks remember their last run.
    pub state_file: PathBuf,
}

/// The default state file: systemd's `StateDirectory` if set, else the data dir.
pub fn default_state_file(loaded: &Loaded) -> PathBuf {
    match std::env::var_os("STATE_DIRECTORY") {
        Some(dir) => PathBuf::from(dir).join("cron-state.json"),
        None => loaded.settings.local.data_dir.join("cron-state.json"),
    }
}

/// When each check last ran, and for which slot.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct State {
    #[serde(default)]
    pub checks: BTreeMap<String, CheckState>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct CheckState {
    pub slot: Timestamp,
    pub ran_at: Timestamp,
}

impl State {
    pub fn load(file: &Path) -> Result<State, CronError> {
        match std::fs::read_to_string(file) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| CronError::State {
                file: file.to_path_buf(),
                message: format!("not valid JSON ({e}); delete it to start afresh"),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
            Err(e) => Err(CronError::State {
                file: file.to_path_buf(),
                message: e.to_string(),
            }),
        }
    }

    /// Write atomically (temp file + rename), so a crash never leaves half a file.
    pub fn save(&self, file: &Path) -> Result<(), CronError> {
        let err = |e: std::io::Error| CronError::State {
            file: file.to_path_buf(),
            message: e.to_string(),
        };
        if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        let tmp = file.with_extension("json.tmp");
        let text = serde_json::to_string_pretty(self).unwrap_or_default();
        std::fs::write(&tmp, text).map_err(err)?;
        std::fs::rename(&tmp, file).map_err(err)
    }
}

/// Act on every due schedule once.
pub async fn run(
    loaded: &Loaded,
    backend: &Backend,
    schedules: &[Schedule],
    options: &RunOptions,
) -> Result<Vec<Outcome>, CronError> {
    let mut state = State::load(&options.state_file)?;
    let mut outcomes = Vec::new();
    for s in schedules {
        let Some(slot) = s.due(options.now) else {
            outcomes.push(Outcome::NotDue {
                schedule: s.name.clone(),
                next: s.next_slot(options.now),
            });
            continue;
        };
        match &s.action {
            Action::Workflow { name, input } => outcomes
                .push(start_slot(loaded, backend, s, name, input, slot, options.dry_run).await?),
            Action::Check {
                kind,
                open_longer_than,
                lookback,
            } => {
                let last = state.checks.get(&s.name).copied();
                if last.is_some_and(|l| l.slot >= slot) {
                    outcomes.push(Outcome::CheckAlreadyRan {
                        schedule: s.name.clone(),
                        slot,
                    });
                    continue;
                }
                let since = last.map(|l| l.ran_at).unwrap_or_else(|| {
                    Timestamp(options.now.millis() - lookback.as_millis() as i64)
                });
                let summary = match kind {
                    CheckKind::StuckWorkflows => {
                        let report =
                            stuck_report(loaded, backend, options.now, since, *open_longer_than)
                                .await?;
                        report.log();
                        if !options.dry_run {
                            send_report(loaded, backend, s, slot, &report).await?;
                        }
                        report.summary()
                    }
                    CheckKind::ScheduledPublications => {
                        scheduled_publications(
                            loaded,
                            backend,
                            options.now,
                            *lookback,
                            options.dry_run,
                        )
                        .await?
                    }
                };
                if !options.dry_run {
                    state.checks.insert(
                        s.name.clone(),
                        CheckState {
                            slot,
                            ran_at: options.now,
                        },
                    );
                    state.save(&options.state_file)?;
                }
                outcomes.push(Outcome::CheckRan {
                    schedule: s.name.clone(),
                    kind: *kind,
                    summary,
                });
            }
        }
    }
    Ok(outcomes)
}

async fn start_slot(
    loaded: &Loaded,
    backend: &Backend,
    s: &Schedule,
    workflow: &str,
    input: &serde_json::Value,
    slot: Timestamp,
    dry_run: bool,
) -> Result<Outcome, CronError> {
    let workflow_id = s.workflow_id(slot);
    let mut input = input.clone();
    if let Some(obj) = input.as_object_mut() {
        obj.entry("cron_schedule")
            .or_insert_with(|| s.name.clone().into());
        obj.entry("cron_slot")
            .or_insert_with(|| rfc3339(slot).into());
    }
    let started = start_once(
        loaded,
        backend,
        &workflow_id,
        workflow,
        &input,
        vec![format!("cron:{}", s.name)],
        dry_run,
    )
    .await?;
    Ok(match started {
        StartOnce::Started(run_id) => {
            tracing::info!(schedule = %s.name, workflow_id = %workflow_id, run_id = %run_id, slot = %rfc3339(slot), "scheduled workflow started");
            Outcome::Started {
                schedule: s.name.clone(),
                workflow_id,
                run_id,
            }
        }
        StartOnce::WouldStart => Outcome::WouldStart {
            schedule: s.name.clone(),
            workflow_id,
        },
        StartOnce::AlreadyStarted => Outcome::AlreadyStarted {
            schedule: s.name.clone(),
            workflow_id,
        },
    })
}

/// What came of [`start_once`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartOnce {
    /// Started now; the run id.
    Started(String),
    /// A dry run: it would have been started.
    WouldStart,
    /// An open or closed execution with this workflow id exists.
    AlreadyStarted,
}

/// Start `workflow` under `workflow_id` unless an execution with that id
/// was ever started. SWF rejects a duplicate id only while open, so a closed
/// run (it already finished) must also count as started: this is what makes
/// every cron action idempotent across runs and hosts.
pub async fn start_once(
    loaded: &Loaded,
    backend: &Backend,
    workflow_id: &WorkflowId,
    workflow: &str,
    input: &serde_json::Value,
    tags: Vec<String>,
    dry_run: bool,
) -> Result<StartOnce, CronError> {
    let closed = backend
        .workflows
        .list_executions(&ExecutionFilter {
            open: false,
            workflow_id: Some(workflow_id.clone()),
            ..Default::default()
        })
        .await?;
    if !closed.is_empty() {
        return Ok(StartOnce::AlreadyStarted);
    }
    if dry_run {
        return Ok(StartOnce::WouldStart);
    }
    let def = loaded
        .definitions
        .get(workflow)
        .ok_or_else(|| pressbot_core::Error::NotFound {
            what: "workflow definition",
            name: workflow.to_owned(),
        })?;
    let outcome = backend
        .workflows
        .start_workflow(StartRequest {
            workflow_id: workflow_id.clone(),
            workflow_type: def.workflow_type(),
            task_list: def.task_list.clone(),
            input: Some(input.to_string()),
            execution_start_to_close: def.execution_start_to_close,
            decision_task_start_to_close: def.decision_task_start_to_close,
            tags,
        })
        .await?;
    Ok(match outcome {
        StartOutcome::Started { run_id } => StartOnce::Started(run_id.to_string()),
        StartOutcome::AlreadyRunning => StartOnce::AlreadyStarted,
    })
}

/// One execution in the stuck-workflow report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StuckEntry {
    pub workflow_id: String,
    pub run_id: String,
    pub workflow: String,
    /// OPEN, FAILED, TIMED_OUT, ...
    pub status: String,
    pub started: String,
    pub closed: Option<String>,
    /// The step that failed last (or is being retried), from the history.
    pub step: Option<String>,
    pub reason: Option<String>,
}

/// Executions open too long, and executions that failed since the last run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StuckReport {
    pub since: String,
    pub open_longer_than: String,
    pub open: Vec<StuckEntry>,
    pub failed: Vec<StuckEntry>,
}

impl StuckReport {
    pub fn is_empty(&self) -> bool {
        self.open.is_empty() && self.failed.is_empty()
    }

    pub fn summary(&self) -> String {
        format!(
            "stuck-workflow report: {} open longer than {}, {} failed since {}",
            self.open.len(),
            self.open_longer_than,
            self.failed.len(),
            self.since
        )
    }

    /// The report as text, one execution a line.
    pub fn render(&self) -> String {
        let mut out = self.summary();
        for e in self.open.iter().chain(&self.failed) {
            out.push_str(&format!(
                "\n{} {} ({}, run {}): step {}: {}",
                e.status,
                e.workflow_id,
                e.workflow,
                e.run_id,
                e.step.as_deref().unwrap_or("-"),
                e.reason.as_deref().unwrap_or("-")
            ));
        }
        out
    }

    fn log(&self) {
        for e in self.open.iter().chain(&self.failed) {
            tracing::warn!(
                workflow_id = %e.workflow_id,
                run_id = %e.run_id,
                workflow = %e.workflow,
                status = %e.status,
                step = e.step.as_deref().unwrap_or("-"),
                reason = e.reason.as_deref().unwrap_or("-"),
                "stuck or failed workflow"
            );
        }
        tracing::info!(
            open = self.open.len(),
            failed = self.failed.len(),
            "{}",
            self.summary()
        );
    }
}

/// The last failing step of a history and why, e.g.
/// (`ConvertJATS`, `permanent: bad XML`), or the workflow's own failure.
pub fn last_failure(events: &[HistoryEvent]) -> (Option<String>, Option<String>) {
    let step_of = |scheduled: i64| {
        events.iter().find_map(|e| match &e.kind {
            EventKind::ActivityTaskScheduled { activity_id, .. } if e.id == scheduled => {
                Some(activity_id.clone())
            }
            _ => None,
        })
    };
    let join = |reason: &Option<String>, details: &Option<String>| match (reason, details) {
        (Some(r), Some(d)) if !d.is_empty() => Some(format!("{r}: {d}")),
        (Some(r), _) => Some(r.clone()),
        (None, d) => d.clone(),
    };
    let mut step = None;
    let mut reason = None;
    for e in events.iter().rev() {
        match &e.kind {
            EventKind::WorkflowExecutionFailed { reason: r, details } if reason.is_none() => {
                reason = join(r, details);
            }
            EventKind::WorkflowExecutionTimedOut if reason.is_none() => {
                reason = Some("workflow execution timed out (execution_start_to_close)".into());
            }
            EventKind::ActivityTaskFailed {
                scheduled_event_id,
                reason: r,
                details,
                ..
            } => {
                step = step_of(*scheduled_event_id);
                if reason.is_none() {
                    reason = join(r, details);
                }
                break;
            }
            EventKind::ActivityTaskTimedOut {
                scheduled_event_id,
                timeout_type,
                ..
            } => {
                step = step_of(*scheduled_event_id);
                if reason.is_none() {
                    reason = Some(format!("activity timed out ({})", timeout_type.as_str()));
                }
                break;
            }
            _ => {}
        }
    }
    (step, reason)
}

async fn entry(backend: &Backend, info: &ExecutionInfo) -> StuckEntry {
    let (step, reason) = match backend.workflows.history(&info.execution).await {
        Ok(events) => last_failure(&events),
        Err(e) => (None, Some(format!("could not read the history: {e}"))),
    };
    StuckEntry {
        workflow_id: info.execution.workflow_id.to_string(),
        run_id: info.execution.run_id.to_string(),
        workflow: info.workflow_type.name.clone(),
        status: info
            .close_status
            .map(|s| s.as_str())
            .unwrap_or("OPEN")
            .to_owned(),
        started: rfc3339(info.started),
        closed: info.closed.map(rfc3339),
        step,
        reason,
    }
}

/// Build the stuck-workflow report.
pub async fn stuck_report(
    loaded: &Loaded,
    backend: &Backend,
    now: Timestamp,
    since: Timestamp,
    open_longer_than: Duration,
) -> Result<StuckReport, CronError> {
    let mut report = StuckReport {
        since: rfc3339(since),
        open_longer_than: humantime::format_duration(open_longer_than).to_string(),
        ..Default::default()
    };
    let open = backend
        .workflows
        .list_executions(&ExecutionFilter {
            open: true,
            ..Default::default()
        })
        .await?;
    for info in open
        .iter()
        .filter(|i| now.since(i.started) > open_longer_than)
    {
        report.open.push(entry(backend, info).await);
    }
    // Only executions that could have closed since `since`: none runs longer
    // than its definition's execution timeout.
    let longest = loaded
        .definitions
        .iter()
        .map(|d| d.execution_start_to_close)
        .max()
        .unwrap_or(Duration::from_secs(24 * 3600));
    for status in [CloseStatus::Failed, CloseStatus::TimedOut] {
        let closed = backend
            .workflows
            .list_executions(&ExecutionFilter {
                open: false,
                close_status: Some(status),
                started_after: Some(Timestamp(since.millis() - longest.as_millis() as i64)),
                ..Default::default()
            })
            .await?;
        for info in closed
            .iter()
            .filter(|i| i.closed.is_some_and(|c| c >= since))
        {
            report.failed.push(entry(backend, info).await);
        }
    }
    Ok(report)
}

async fn send_report(
    loaded: &Loaded,
    backend: &Backend,
    s: &Schedule,
    slot: Timestamp,
    report: &StuckReport,
) -> Result<(), CronError> {
    // SQS takes 256 KiB; a report that long is cut (the log has it all).
    let mut text = report.render();
    if text.len() > 200_000 {
        let mut cut = 200_000;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push_str("\n... (cut; see the cron log)");
    }
    let message = DashboardMessage::Event {
        item_identifier: "pressbot".into(),
        version: String::new(),
        run: s.workflow_id(slot).to_string(),
        event_type: "StuckWorkflowReport".into(),
        timestamp: rfc3339(Timestamp::now()),
        status: if report.is_empty() {
            EventStatus::End
        } else {
            EventStatus::Error
        },
        message: text,
        message_id: uuid::Uuid::new_v4().to_string(),
    };
    let body = serde_json::to_string(&message).unwrap_or_default();
    backend
        .queues
        .send(&loaded.settings.event_queue(), OutgoingMessage::new(body))
        .await?;
    Ok(())
}

/// The workflow id of the scheduled publication of one article version and
/// run: the same on every cron run, so the approval is started once.
pub fn scheduled_publication_id(article_id: &str, version: &str, run: &str) -> WorkflowId {
    use pressbot_core::ids::sanitize_id_part;
    WorkflowId(format!(
        "ApproveArticlePublication-scheduled-{}-v{}-{}",
        sanitize_id_part(article_id),
        sanitize_id_part(version),
        sanitize_id_part(run)
    ))
}

/// A JSON value as an id part: strings bare, numbers as written.
fn id_part(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The start input and final result of a completed execution, as JSON objects.
fn input_and_result(
    events: &[HistoryEvent],
) -> (Option<serde_json::Value>, Option<serde_json::Value>) {
    let mut input = None;
    let mut result = None;
    for e in events {
        match &e.kind {
            EventKind::WorkflowExecutionStarted { input: i, .. } => {
                input = i.as_deref().and_then(|t| serde_json::from_str(t).ok());
            }
            EventKind::WorkflowExecutionCompleted { result: r } => {
                result = r.as_deref().and_then(|t| serde_json::from_str(t).ok());
            }
            _ => {}
        }
    }
    (input, result)
}

/// The scheduled-publication check: every `IngestArticleZip` started in
/// preview mode with a `publish_at` (RFC 3339) input that completed within
/// `lookback` and whose time has come gets `ApproveArticlePublication`
/// started under [`scheduled_publication_id`]. Data-driven and idempotent:
/// the workflow service remembers what was started, so there is no state to
/// lose, and a preview without `publish_at` waits for a human approval.
async fn scheduled_publications(
    loaded: &Loaded,
    backend: &Backend,
    now: Timestamp,
    lookback: Duration,
    dry_run: bool,
) -> Result<String, CronError> {
    let previews = backend
        .workflows
        .list_executions(&ExecutionFilter {
            open: false,
            close_status: Some(CloseStatus::Completed),
            workflow_name: Some("IngestArticleZip".into()),
            started_after: Some(Timestamp(now.millis() - lookback.as_millis() as i64)),
            ..Default::default()
        })
        .await?;
    let (mut started, mut already, mut waiting, mut bad) = (0usize, 0usize, 0usize, 0usize);
    let mut lines = Vec::new();
    for info in &previews {
        let workflow_id = &info.execution.workflow_id;
        let events = backend.workflows.history(&info.execution).await?;
        let (input, result) = input_and_result(&events);
        let input = input.unwrap_or_default();
        if input.get("mode").and_then(|m| m.as_str()) != Some("preview") {
            continue;
        }
        let Some(publish_at) = input.get("publish_at") else {
            continue;
        };
        let due = match publish_at.as_str().map(parse_now) {
            Some(Ok(t)) => t,
            Some(Err(e)) => {
                tracing::warn!(workflow_id = %workflow_id, error = %e, "scheduled-publication check: publish_at of a preview is not an RFC 3339 time; skipped");
                bad += 1;
                continue;
            }
            None => {
                tracing::warn!(workflow_id = %workflow_id, publish_at = %publish_at, "scheduled-publication check: publish_at of a preview is not a string; skipped");
                bad += 1;
                continue;
            }
        };
        if due > now {
            waiting += 1;
            continue;
        }
        let result = result.unwrap_or_default();
        let field = |k: &str| result.get(k).and_then(id_part);
        let (Some(article_id), Some(version), Some(run)) =
            (field("article_id"), field("version"), field("run"))
        else {
            tracing::warn!(workflow_id = %workflow_id, "scheduled-publication check: the preview's result lacks article_id, version or run; skipped");
            bad += 1;
            continue;
        };
        let approval_id = scheduled_publication_id(&article_id, &version, &run);
        let approval_input = serde_json::json!({
            "article_id": result["article_id"],
            "version": result["version"],
            "run": result["run"],
        });
        match start_once(
            loaded,
            backend,
            &approval_id,
            "ApproveArticlePublication",
            &approval_input,
            vec!["cron:scheduled-publication".into()],
            dry_run,
        )
        .await?
        {
            StartOnce::Started(run_id) => {
                tracing::info!(workflow_id = %approval_id, run_id = %run_id, preview = %workflow_id, article_id = %article_id, version = %version, publish_at = %rfc3339(due), "scheduled publication started");
                lines.push(format!("\nstarted {approval_id} (run {run_id})"));
                started += 1;
            }
            StartOnce::WouldStart => {
                lines.push(format!("\nwould start {approval_id}"));
                started += 1;
            }
            StartOnce::AlreadyStarted => already += 1,
        }
    }
    let verb = if dry_run { "would start" } else { "started" };
    let summary = format!(
        "scheduled-publication check: {verb} {started}, {already} already started, {waiting} not due yet, {bad} skipped (bad publish_at or result)"
    );
    tracing::info!(
        started,
        already_started = already,
        not_due = waiting,
        skipped = bad,
        "{summary}"
    );
    Ok(summary + &lines.concat())
}

/// `pressbot cron`: load `cron.toml` (or `file`), act on due schedules, print one line per schedule.
pub async fn command(
    loaded: &Loaded,
    backend: &Backend,
    file: Option<PathBuf>,
    now: Option<Timestamp>,
    state_file: Option<PathBuf>,
    dry_run: bool,
) -> Result<Vec<Outcome>, CronError> {
    let file = file.unwrap_or_else(|| loaded.settings.workflows_dir.join(FILE));
    let schedules = load(&file, loaded)?;
    let options = RunOptions {
        now: now.unwrap_or_else(Timestamp::now),
        dry_run,
        state_file: state_file.unwrap_or_else(|| default_state_file(loaded)),
    };
    run(loaded, backend, &schedules, &options).await
}

/// Parse `--now` (RFC 3339).
pub fn parse_now(s: &str) -> Result<Timestamp, String> {
    s.parse::<jiff::Timestamp>()
        .map(from_jiff)
        .map_err(|e| format!("{s:?} is not an RFC 3339 time (e.g. 2026-01-01T09:30:00Z): {e}"))
}

/// Execution of a workflow id, for reports.
pub fn execution(workflow_id: &str, run_id: &str) -> WorkflowExecution {
    WorkflowExecution {
        workflow_id: WorkflowId(workflow_id.to_owned()),
        run_id: run_id.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        parse_now(s).expect("time")
    }

    const FILE_TEXT: &str = r#"
timezone = "Europe/London"
catch_up = "10m"

[[schedule]]
name = "ping"
cron = "30 9 * * *"
workflow = "Ping"
input = { a = 1 }

[[schedule]]
name = "stuck"
cron = "*/15 * * * *"
timezone = "UTC"
check = "stuck-workflows"
open_longer_than = "1h"
"#;

    fn schedules() -> Vec<Schedule> {
        parse(Path::new("cron.toml"), FILE_TEXT, &|w| w == "Ping").expect("parses")
    }

    #[test]
    fn due_within_the_catch_up_window_in_its_time_zone() {
        let s = &schedules()[0];
        // 09:30 London in summer is 08:30 UTC.
        assert_eq!(
            s.due(at("2026-07-01T08:30:00Z")),
            Some(at("2026-07-01T08:30:00Z"))
        );
        assert_eq!(
            s.due(at("2026-07-01T08:39:59Z")),
            Some(at("2026-07-01T08:30:00Z"))
        );
        assert_eq!(
            s.due(at("2026-07-01T08:41:00Z")),
            None,
            "past the catch-up window"
        );
        assert_eq!(s.due(at("2026-07-01T08:29:00Z")), None);
        // In winter London is UTC.
        assert_eq!(
            s.due(at("2026-01-05T09:35:00Z")),
            Some(at("2026-01-05T09:30:00Z"))
        );
        assert_eq!(
            s.workflow_id(at("2026-01-05T09:30:00Z")).0,
            "cron-ping-20260105T0930Z"
        );
    }

    #[test]
    fn bad_schedules_say_what_and_where() {
        let cases = [
            ("[[schedule]]\nname = \"x\"\ncron = \"nope\"\nworkflow = \"Ping\"", "cron"),
            ("[[schedule]]\nname = \"x\"\ncron = \"* * * * *\"\ntimezone = \"Mars/Base\"\nworkflow = \"Ping\"", "timezone"),
            ("[[schedule]]\nname = \"x\"\ncron = \"* * * * *\"\nworkflow = \"Nope\"", "no workflow definition"),
            ("[[schedule]]\nname = \"x\"\ncron = \"* * * * *\"", "exactly one"),
            ("[[schedule]]\nname = \"a b\"\ncron = \"* * * * *\"\nworkflow = \"Ping\"", "name"),
            ("[[schedule]]\nname = \"x\"\ncron = \"* * * * *\"\nworkflow = \"Ping\"\ntypo = 1", "typo"),
        ];
        for (text, want) in cases {
            let e = parse(Path::new("cron.toml"), text, &|w| w == "Ping")
                .expect_err(text)
                .to_string();
            assert!(e.contains(want) && e.contains("cron.toml"), "{text}: {e}");
        }
    }

    #[test]
    fn last_failure_names_the_step_and_reason() {
        use pressbot_core::history::ActivityTimeouts;
        use pressbot_core::ids::TypeRef;
        let ev = |id, kind| HistoryEvent {
            id,
            timestamp: Timestamp(0),
            kind,
        };
        let events = vec![
            ev(
                5,
                EventKind::ActivityTaskScheduled {
                    activity_id: "ConvertJATS".into(),
                    activity_type: TypeRef::new("ConvertJATS", "1"),
                    input: None,
                    control: None,
                    task_list: "default".into(),
                    timeouts: ActivityTimeouts::default(),
                    decision_task_completed_event_id: 4,
                },
            ),
            ev(
                7,
                EventKind::ActivityTaskFailed {
                    scheduled_event_id: 5,
                    started_event_id: 6,
                    reason: Some("permanent".into()),
                    details: Some("bad XML".into()),
                },
            ),
            ev(
                10,
                EventKind::WorkflowExecutionFailed {
                    reason: Some("step ConvertJATS failed".into()),
                    details: None,
                },
            ),
        ];
        let (step, reason) = last_failure(&events);
        assert_eq!(step.as_deref(), Some("ConvertJATS"));
        assert_eq!(reason.as_deref(), Some("step ConvertJATS failed"));
    }
}
