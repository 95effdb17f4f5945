//! SWF's JSON `Decision`s (`decisionType` and its
//! `<decisionType in camelCase>DecisionAttributes`) as core decisions, for
//! the embedded backend to carry out.

use super::{field, opt_field, task_list_name, Fault};
use pressbot_core::history::{ActivityTimeouts, Decision};
use pressbot_core::ids::TypeRef;
use serde_json::Value;
use std::time::Duration;

/// A timeout string: whole seconds or `"NONE"`.
pub(super) fn parse_timeout(key: &str, v: &str) -> Result<Option<Duration>, Fault> {
    if v == "NONE" {
        return Ok(None);
    }
    v.parse::<u64>()
        .map(|s| Some(Duration::from_secs(s)))
        .map_err(|_| {
            Fault::validation(format!(
                "Value '{v}' at '{key}' failed to satisfy constraint: \
                 Member must be a number of seconds or NONE"
            ))
        })
}

/// The timeout `key` of a decision, else the activity type's `default_key`
/// from its registration; absent from both, no limit (where SWF would
/// refuse the decision with a `DEFAULT_..._UNDEFINED` cause).
fn timeout(
    attrs: &Value,
    key: &str,
    registration: Option<&Value>,
    default_key: &str,
) -> Result<Option<Duration>, Fault> {
    match opt_field(attrs, key).or_else(|| registration.and_then(|r| opt_field(r, default_key))) {
        Some(v) => parse_timeout(key, v),
        None => Ok(None),
    }
}

/// One decision. `registration` finds an activity type's
/// `RegisterActivityType` request (for its defaults).
pub(super) fn parse<'a>(
    d: &'a Value,
    registration: impl Fn(&TypeRef) -> Option<&'a Value>,
) -> Result<Decision, Fault> {
    let kind = field(d, "decisionType")?;
    let attrs_key = {
        let mut c = kind.chars();
        let first = c.next().map(|f| f.to_ascii_lowercase().to_string());
        format!(
            "{}{}DecisionAttributes",
            first.unwrap_or_default(),
            c.as_str()
        )
    };
    let a = d.get(&attrs_key).unwrap_or(&Value::Null);
    let own = |k: &str| opt_field(a, k).map(str::to_owned);
    Ok(match kind {
        "ScheduleActivityTask" => {
            let t = a.get("activityType").unwrap_or(&Value::Null);
            let activity_type = TypeRef::new(field(t, "name")?, field(t, "version")?);
            let reg = registration(&activity_type);
            let task_list = task_list_name(a, "taskList")
                .or_else(|| reg.and_then(|r| task_list_name(r, "defaultTaskList")))
                .ok_or_else(|| {
                    Fault::validation(format!(
                        "no taskList for activity {activity_type} and no default registered"
                    ))
                })?;
            Decision::ScheduleActivityTask {
                activity_id: field(a, "activityId")?.to_owned(),
                activity_type,
                input: own("input"),
                control: own("control"),
                task_list,
                timeouts: ActivityTimeouts {
                    schedule_to_start: timeout(
                        a,
                        "scheduleToStartTimeout",
                        reg,
                        "defaultTaskScheduleToStartTimeout",
                    )?,
                    start_to_close: timeout(
                        a,
                        "startToCloseTimeout",
                        reg,
                        "defaultTaskStartToCloseTimeout",
                    )?,
                    schedule_to_close: timeout(
                        a,
                        "scheduleToCloseTimeout",
                        reg,
                        "defaultTaskScheduleToCloseTimeout",
                    )?,
                    heartbeat: timeout(a, "heartbeatTimeout", reg, "defaultTaskHeartbeatTimeout")?,
                },
            }
        }
        "RequestCancelActivityTask" => Decision::RequestCancelActivityTask {
            activity_id: field(a, "activityId")?.to_owned(),
        },
        "StartTimer" => {
            let key = "startToFireTimeout";
            Decision::StartTimer {
                timer_id: field(a, "timerId")?.to_owned(),
                control: own("control"),
                start_to_fire: parse_timeout(key, field(a, key)?)?.ok_or_else(|| {
                    Fault::validation("startToFireTimeout must be a number of seconds")
                })?,
            }
        }
        "CompleteWorkflowExecution" => Decision::CompleteWorkflowExecution {
            result: own("result"),
        },
        "FailWorkflowExecution" => Decision::FailWorkflowExecution {
            reason: own("reason"),
            details: own("details"),
        },
        "CancelWorkflowExecution" => Decision::CancelWorkflowExecution {
            details: own("details"),
        },
        other => {
            return Err(Fault::validation(format!(
                "decision type {other} is valid on SWF but not implemented by the SWF stand-in"
            )))
        }
    })
}
