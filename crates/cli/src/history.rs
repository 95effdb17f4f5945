//! `pressbot history`: an execution's timeline, readable by an operator.

use pressbot_core::definition::Definitions;
use pressbot_core::history::HistoryEvent;
use pressbot_core::ids::WorkflowExecution;

/// Render the timeline of an execution as text.
pub fn render(
    definitions: &Definitions,
    execution: &WorkflowExecution,
    events: &[HistoryEvent],
) -> String {
    let (workflow_type, rows) = timeline(definitions, events);
    let mut out = format!(
        "workflow {} run {} ({})\n\n",
        execution.workflow_id,
        execution.run_id,
        workflow_type.map(|t| t.to_string()).unwrap_or_default()
    );
    let table_rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.step.clone(),
                r.attempt.map(|a| a.to_string()).unwrap_or_default(),
                r.start.map(|t| t.to_string()).unwrap_or_default(),
                r.end.map(|t| t.to_string()).unwrap_or_default(),
                r.duration
                    .map(pressbot_daemons::format::human)
                    .unwrap_or_default(),
                r.outcome.clone(),
            ]
        })
        .collect();
    out.push_str(&crate::ops::table(
        &["STEP", "ATTEMPT", "START", "END", "DURATION", "OUTCOME"],
        &table_rows,
    ));
    out.push('\n');
    out
}

pub use pressbot_daemons::history::timeline;

/// The timeline as JSON (`history --output json`; shape in
/// docs/operations.md, "Machine-readable output"): the same rows as
/// [`render`], with times in RFC 3339 and durations in milliseconds so a
/// script need not parse the table.
pub fn to_json(
    definitions: &Definitions,
    execution: &WorkflowExecution,
    events: &[HistoryEvent],
) -> serde_json::Value {
    let (workflow_type, rows) = timeline(definitions, events);
    let time = |t: Option<pressbot_core::time::Timestamp>| t.map(crate::cron::rfc3339);
    let steps: Vec<serde_json::Value> = rows
        .into_iter()
        .map(|r| {
            serde_json::json!({
                "step": r.step,
                "attempt": r.attempt,
                "max_attempts": r.max_attempts,
                "activity": r.activity,
                "start": time(r.start),
                "end": time(r.end),
                "duration_ms": r.duration.map(|d| d.as_millis() as u64),
                "outcome": r.outcome,
            })
        })
        .collect();
    serde_json::json!({
        "workflow_id": execution.workflow_id.to_string(),
        "run_id": execution.run_id.to_string(),
        "workflow": workflow_type.as_ref().map(|t| t.name.clone()),
        "version": workflow_type.as_ref().map(|t| t.version.clone()),
        "steps": steps,
    })
}
