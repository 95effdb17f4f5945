//! What an activity reports, and how that travels through SWF.
//!
//! SWF's `RespondActivityTaskFailed` has a short `reason` and longer
//! `details`. pressbot puts the failure class in `reason` (`retryable` or
//! `permanent`, followed by a short summary) and the full message in
//! `details`, so the decider can tell the two apart from history alone.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Whether a failed activity should be tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailureKind {
    /// Transient: a timeout, a busy service, a dropped connection.
    Retryable,
    /// The input itself is bad: retrying cannot help.
    Permanent,
}

impl FailureKind {
    /// The word that starts an SWF failure `reason`, which is how the decider
    /// tells the two kinds apart from history alone.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Retryable => "retryable",
            FailureKind::Permanent => "permanent",
        }
    }
}

/// A failed activity attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityFailure {
    /// Decides whether the decider schedules another attempt.
    pub kind: FailureKind,
    /// What went wrong, for the operator: it ends up in the failure `details`
    /// and in the workflow's fail reason.
    pub message: String,
}

impl ActivityFailure {
    /// A failure worth another attempt (a timeout, a busy service).
    pub fn retryable(message: impl Into<String>) -> Self {
        ActivityFailure {
            kind: FailureKind::Retryable,
            message: message.into(),
        }
    }

    /// A failure no retry can fix (bad input): the workflow fails at once.
    pub fn permanent(message: impl Into<String>) -> Self {
        ActivityFailure {
            kind: FailureKind::Permanent,
            message: message.into(),
        }
    }

    /// SWF `reason` (at most 256 bytes): `<kind>: <start of message>`.
    pub fn reason(&self) -> String {
        crate::history::truncate(
            &format!("{}: {}", self.kind.as_str(), self.message),
            crate::history::limits::REASON,
        )
    }

    /// SWF `details`: the whole message (cut to the service limit).
    pub fn details(&self) -> String {
        crate::history::truncate(&self.message, crate::history::limits::DETAILS)
    }

    /// Read a failure back from an `ActivityTaskFailed` event. A reason
    /// without a known prefix (another worker, a crash) counts as retryable:
    /// the retry policy still bounds it.
    pub fn from_event(reason: Option<&str>, details: Option<&str>) -> Self {
        let reason = reason.unwrap_or("");
        let (kind, summary) = if let Some(rest) = reason.strip_prefix("permanent") {
            (FailureKind::Permanent, rest)
        } else if let Some(rest) = reason.strip_prefix("retryable") {
            (FailureKind::Retryable, rest)
        } else {
            (FailureKind::Retryable, reason)
        };
        let message = match details {
            Some(d) if !d.is_empty() => d.to_owned(),
            _ => summary.trim_start_matches(':').trim().to_owned(),
        };
        ActivityFailure { kind, message }
    }
}

impl fmt::Display for ActivityFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.as_str(), self.message)
    }
}

impl std::error::Error for ActivityFailure {}

/// The input an activity task carries: the workflow context so far plus
/// where in the workflow this attempt stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivityInput {
    /// Workflow context: the start input merged with every earlier output.
    pub context: serde_json::Value,
    /// The step id within the workflow definition.
    pub step: String,
    /// 1-based attempt number of this step.
    pub attempt: u32,
    /// The workflow type's name, so dashboard events can name it.
    pub workflow: String,
    /// Static parameters of the step, from the workflow definition (`params`).
    #[serde(default)]
    pub params: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_round_trips_through_reason_and_details() {
        let f = ActivityFailure::permanent("no JATS XML in elife-1.zip");
        let back = ActivityFailure::from_event(Some(&f.reason()), Some(&f.details()));
        assert_eq!(back, f);
        let r = ActivityFailure::retryable("CMS answered 503");
        assert_eq!(
            ActivityFailure::from_event(Some(&r.reason()), Some(&r.details())),
            r
        );
    }

    #[test]
    fn unknown_reason_is_retryable() {
        let f = ActivityFailure::from_event(Some("worker crashed"), None);
        assert_eq!(f.kind, FailureKind::Retryable);
        assert_eq!(f.message, "worker crashed");
    }

    #[test]
    fn long_reason_is_cut_to_swf_limit() {
        let f = ActivityFailure::permanent("é".repeat(1000));
        assert!(f.reason().len() <= 256);
    }
}
