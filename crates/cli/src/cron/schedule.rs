//! `cron.toml`: the schedules as written, validated, and when each is due.

use crate::app::Loaded;
use pressbot_core::ids::WorkflowId;
use pressbot_core::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The name of the schedules file inside `workflows_dir`.
pub const FILE: &str = "cron.toml";

pub(super) fn default_timezone() -> String {
    "UTC".into()
}
pub(super) fn default_catch_up() -> Duration {
    Duration::from_secs(15 * 60)
}
pub(super) fn default_true() -> bool {
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

pub(super) fn to_jiff(t: Timestamp) -> jiff::Timestamp {
    jiff::Timestamp::from_millisecond(t.millis()).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

pub(super) fn from_jiff(t: jiff::Timestamp) -> Timestamp {
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
