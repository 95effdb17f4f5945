//! An execution's timeline as the dashboard shows it (`pressbot history`
//! shows the same rows as a table: crates/cli's `history`).

use pressbot_core::definition::Definitions;
use pressbot_core::history::{EventKind, HistoryEvent};

/// The workflow type and timeline rows of a history: the definition of
/// the workflow type it started as (if still loaded) labels the steps.
pub fn timeline(
    definitions: &Definitions,
    events: &[HistoryEvent],
) -> (
    Option<pressbot_core::ids::TypeRef>,
    Vec<pressbot_core::decider::TimelineRow>,
) {
    let workflow_type = events.iter().find_map(|e| match &e.kind {
        EventKind::WorkflowExecutionStarted { workflow_type, .. } => Some(workflow_type.clone()),
        _ => None,
    });
    let def = workflow_type.as_ref().and_then(|t| definitions.get_type(t));
    let rows = pressbot_core::decider::timeline(def, events);
    (workflow_type, rows)
}
