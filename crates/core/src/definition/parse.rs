//! The TOML form of a workflow definition and its validation.
//!
//! The file format (`[defaults]`, `[[step]]`, `parallel = [...]`) is kept
//! apart from [`WorkflowDefinition`], which is what the decider reads: every
//! default is filled in and every name checked here, once, at load time, so
//! the decider never meets a missing timeout or a name SWF would refuse.

use super::{Condition, Step, WorkflowDefinition, DEFAULT_ACTIVITY_VERSION};
use crate::error::{Error, Result};
use crate::history::ActivityTimeouts;
use crate::ids::TypeRef;
use crate::retry::RetryPolicy;
use serde::Deserialize;
use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDefinition {
    name: String,
    version: String,
    description: Option<String>,
    #[serde(default = "default_task_list")]
    task_list: String,
    #[serde(with = "humantime_serde")]
    execution_start_to_close: Duration,
    #[serde(with = "humantime_serde", default)]
    decision_task_start_to_close: Option<Duration>,
    activity_version: Option<String>,
    #[serde(default)]
    defaults: RawDefaults,
    #[serde(default, rename = "step")]
    steps: Vec<RawStep>,
}

fn default_task_list() -> String {
    "default".into()
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDefaults {
    task_list: Option<String>,
    #[serde(with = "humantime_serde", default)]
    start_to_close: Option<Duration>,
    #[serde(with = "humantime_serde", default)]
    schedule_to_start: Option<Duration>,
    #[serde(with = "humantime_serde", default)]
    schedule_to_close: Option<Duration>,
    #[serde(with = "humantime_serde", default)]
    heartbeat: Option<Duration>,
    retry: Option<RetryPolicy>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    activity: Option<String>,
    id: Option<String>,
    parallel: Option<Vec<toml::Value>>,
    task_list: Option<String>,
    #[serde(with = "humantime_serde", default)]
    start_to_close: Option<Duration>,
    #[serde(with = "humantime_serde", default)]
    schedule_to_start: Option<Duration>,
    #[serde(with = "humantime_serde", default)]
    schedule_to_close: Option<Duration>,
    #[serde(with = "humantime_serde", default)]
    heartbeat: Option<Duration>,
    retry: Option<RetryPolicy>,
    params: Option<toml::Table>,
    when: Option<Condition>,
}

const DEFAULT_START_TO_CLOSE: Duration = Duration::from_secs(300);
const DEFAULT_SCHEDULE_TO_START: Duration = Duration::from_secs(300);
const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(60);

impl RawDefinition {
    /// The definition with every default filled in and every field checked;
    /// errors name the file and the field.
    pub(super) fn validate(
        self,
        file: &Path,
        known_activity: &dyn Fn(&str) -> bool,
    ) -> Result<WorkflowDefinition> {
        let err = |field: String, message: String| Error::Definition {
            file: file.to_path_buf(),
            field,
            message,
        };
        check_name(&self.name).map_err(|m| err("name".into(), m))?;
        if self.version.trim().is_empty() {
            return Err(err("version".into(), "must not be empty".into()));
        }
        check_name(&self.task_list).map_err(|m| err("task_list".into(), m))?;
        if self.execution_start_to_close.is_zero() {
            return Err(err(
                "execution_start_to_close".into(),
                "must be longer than zero".into(),
            ));
        }
        if self.steps.is_empty() {
            return Err(err(
                "step".into(),
                "a workflow needs at least one [[step]]".into(),
            ));
        }
        let activity_version = self
            .activity_version
            .unwrap_or_else(|| DEFAULT_ACTIVITY_VERSION.into());
        let defaults = &self.defaults;
        if let Some(r) = &defaults.retry {
            r.validate()
                .map_err(|(f, m)| err(format!("defaults.retry.{f}"), m))?;
        }
        let mut groups = Vec::new();
        let mut ids = HashSet::new();
        for (i, raw) in self.steps.into_iter().enumerate() {
            let at = format!("step[{i}]");
            let group = match (&raw.activity, &raw.parallel) {
                (Some(_), Some(_)) => {
                    return Err(err(
                        at,
                        "set either `activity` or `parallel`, not both".into(),
                    ));
                }
                (None, None) => return Err(err(at, "needs `activity` or `parallel`".into())),
                (Some(_), None) => vec![build_step(
                    raw,
                    &at,
                    defaults,
                    &activity_version,
                    known_activity,
                    &err,
                )?],
                (None, Some(items)) => {
                    if raw.id.is_some()
                        || raw.retry.is_some()
                        || raw.task_list.is_some()
                        || raw.start_to_close.is_some()
                        || raw.params.is_some()
                        || raw.when.is_some()
                    {
                        return Err(err(
                            at,
                            "a `parallel` step takes no other keys; put overrides on its items"
                                .into(),
                        ));
                    }
                    if items.is_empty() {
                        return Err(err(
                            format!("{at}.parallel"),
                            "must list at least one activity".into(),
                        ));
                    }
                    let mut group = Vec::new();
                    for (j, item) in items.iter().enumerate() {
                        let item_at = format!("{at}.parallel[{j}]");
                        let raw_item = match item {
                            toml::Value::String(name) => RawStep {
                                activity: Some(name.clone()),
                                ..RawStep::default()
                            },
                            toml::Value::Table(t) => {
                                let s: RawStep = toml::Value::Table(t.clone()).try_into().map_err(
                                    |e: toml::de::Error| {
                                        err(item_at.clone(), e.message().to_owned())
                                    },
                                )?;
                                if s.parallel.is_some() {
                                    return Err(err(item_at, "parallel groups do not nest".into()));
                                }
                                if s.activity.is_none() {
                                    return Err(err(item_at, "needs `activity`".into()));
                                }
                                s
                            }
                            other => {
                                return Err(err(
                                    item_at,
                                    format!(
                                        "expected an activity name or a table, found {}",
                                        other.type_str()
                                    ),
                                ))
                            }
                        };
                        group.push(build_step(
                            raw_item,
                            &item_at,
                            defaults,
                            &activity_version,
                            known_activity,
                            &err,
                        )?);
                    }
                    group
                }
            };
            for s in &group {
                if !ids.insert(s.id.clone()) {
                    return Err(err(
                        format!("{at}.id"),
                        format!(
                            "duplicate step id {:?}: give one of the steps an explicit `id`",
                            s.id
                        ),
                    ));
                }
            }
            groups.push(group);
        }
        Ok(WorkflowDefinition {
            name: self.name,
            version: self.version,
            description: self.description,
            task_list: self.task_list,
            execution_start_to_close: self.execution_start_to_close,
            decision_task_start_to_close: self
                .decision_task_start_to_close
                .unwrap_or(Duration::from_secs(60)),
            groups,
            source: file.to_path_buf(),
        })
    }
}

fn build_step(
    raw: RawStep,
    at: &str,
    d: &RawDefaults,
    activity_version: &str,
    known_activity: &dyn Fn(&str) -> bool,
    err: &dyn Fn(String, String) -> Error,
) -> Result<Step> {
    let activity = raw.activity.unwrap_or_default();
    if !known_activity(&activity) {
        return Err(err(
            format!("{at}.activity"),
            format!("unknown activity type {activity:?}"),
        ));
    }
    let id = raw.id.unwrap_or_else(|| activity.clone());
    check_name(&id).map_err(|m| err(format!("{at}.id"), m))?;
    let task_list = raw
        .task_list
        .or_else(|| d.task_list.clone())
        .unwrap_or_else(default_task_list);
    check_name(&task_list).map_err(|m| err(format!("{at}.task_list"), m))?;
    let retry = raw.retry.or(d.retry).unwrap_or_default();
    retry
        .validate()
        .map_err(|(f, m)| err(format!("{at}.retry.{f}"), m))?;
    let timeouts = ActivityTimeouts {
        start_to_close: Some(
            raw.start_to_close
                .or(d.start_to_close)
                .unwrap_or(DEFAULT_START_TO_CLOSE),
        ),
        schedule_to_start: Some(
            raw.schedule_to_start
                .or(d.schedule_to_start)
                .unwrap_or(DEFAULT_SCHEDULE_TO_START),
        ),
        schedule_to_close: raw.schedule_to_close.or(d.schedule_to_close),
        heartbeat: Some(raw.heartbeat.or(d.heartbeat).unwrap_or(DEFAULT_HEARTBEAT)),
    };
    for (name, value) in [
        ("start_to_close", timeouts.start_to_close),
        ("schedule_to_start", timeouts.schedule_to_start),
        ("schedule_to_close", timeouts.schedule_to_close),
        ("heartbeat", timeouts.heartbeat),
    ] {
        if let Some(v) = value {
            if v < Duration::from_secs(1) {
                return Err(err(
                    format!("{at}.{name}"),
                    "must be at least 1s (SWF counts in seconds)".into(),
                ));
            }
        }
    }
    let params = match raw.params {
        Some(t) => {
            serde_json::to_value(t).map_err(|e| err(format!("{at}.params"), e.to_string()))?
        }
        None => serde_json::Value::Null,
    };
    Ok(Step {
        id,
        activity: TypeRef::new(activity, activity_version),
        task_list,
        timeouts,
        retry,
        params,
        when: raw.when,
    })
}

/// SWF names: 1..=256 characters, no `:`, `/`, `|`, control characters or "arn".
fn check_name(name: &str) -> std::result::Result<(), String> {
    if name.is_empty() {
        return Err("must not be empty".into());
    }
    if name.len() > 256 {
        return Err("must be at most 256 characters".into());
    }
    if name.contains([':', '/', '|']) || name.chars().any(char::is_control) || name.contains("arn")
    {
        return Err(format!(
            "{name:?} contains a character SWF forbids (':', '/', '|', control, or \"arn\")"
        ));
    }
    Ok(())
}
