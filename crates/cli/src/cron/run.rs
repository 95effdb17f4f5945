//! One `pressbot cron` run: act on every due schedule once, remembering
//! the checks' last runs in a small state file.

use super::*;
use crate::app::Loaded;
use pressbot_core::backend::Backend;
use pressbot_core::ids::WorkflowId;
use pressbot_core::time::Timestamp;
use pressbot_daemons::start::{Duplicates, Once};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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

pub(super) async fn start_slot(
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
    if dry_run {
        return Ok(
            if pressbot_daemons::start::ever_closed(backend, workflow_id).await? {
                StartOnce::AlreadyStarted
            } else {
                StartOnce::WouldStart
            },
        );
    }
    let def = loaded
        .definitions
        .get(workflow)
        .ok_or_else(|| pressbot_core::Error::NotFound {
            what: "workflow definition",
            name: workflow.to_owned(),
        })?;
    let request = def.start_request(workflow_id.clone(), Some(input.to_string()), tags);
    Ok(
        match pressbot_daemons::start::start_once(backend, request, Duplicates::EverStarted).await?
        {
            Once::Started { run_id } => StartOnce::Started(run_id.to_string()),
            Once::Open | Once::Closed => StartOnce::AlreadyStarted,
        },
    )
}
