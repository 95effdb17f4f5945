//! What every event family's mapper reads an event with: the attribute
//! helpers and the error context. A leaf module, so the families and the
//! dispatch in `mapping` depend on it and never on each other.

use crate::error::AwsError;
use aws_sdk_swf::types as sdk;
use pressbot_core::ids::TypeRef;
use std::time::Duration;

/// SWF's timeout string as a duration; absent or `"NONE"` is no limit.
pub(crate) fn timeout_from_swf(s: Option<&str>) -> Result<Option<Duration>, String> {
    match s {
        None | Some("NONE") | Some("") => Ok(None),
        Some(s) => s
            .trim()
            .parse::<u64>()
            .map(|n| Some(Duration::from_secs(n)))
            .map_err(|_| format!("{s:?} is neither a number of seconds nor \"NONE\"")),
    }
}

pub(crate) fn type_ref_from_workflow(t: Option<&sdk::WorkflowType>) -> TypeRef {
    t.map(|t| TypeRef::new(t.name(), t.version()))
        .unwrap_or_else(|| TypeRef::new("", ""))
}

pub(crate) fn type_ref_from_activity(t: Option<&sdk::ActivityType>) -> TypeRef {
    t.map(|t| TypeRef::new(t.name(), t.version()))
        .unwrap_or_else(|| TypeRef::new("", ""))
}

pub(crate) fn task_list_name(t: Option<&sdk::TaskList>) -> String {
    t.map(|t| t.name().to_owned()).unwrap_or_default()
}

/// What a mapping error names: the call that read the history and the event.
pub(crate) struct Fields {
    pub(super) operation: &'static str,
    pub(super) event_id: i64,
}

impl Fields {
    /// The error for an event whose `field` attributes are absent.
    pub(super) fn missing(&self, field: &'static str) -> AwsError {
        AwsError::Mapping {
            operation: self.operation,
            event_id: self.event_id,
            field,
            message: "attributes missing".into(),
        }
    }

    /// A timeout attribute, or the error naming the field it came from.
    pub(super) fn timeout(
        &self,
        field: &'static str,
        s: Option<&str>,
    ) -> Result<Option<Duration>, AwsError> {
        timeout_from_swf(s).map_err(|message| AwsError::Mapping {
            operation: self.operation,
            event_id: self.event_id,
            field,
            message,
        })
    }
}

pub(crate) fn own(s: Option<&str>) -> Option<String> {
    s.map(str::to_owned)
}
