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
use pressbot_core::backend::Backend;
use pressbot_core::ids::{WorkflowExecution, WorkflowId};
use pressbot_core::time::Timestamp;
use std::path::PathBuf;

mod publications;
mod run;
mod schedule;
mod stuck;

pub use publications::*;
pub use run::*;
pub use schedule::*;
pub use stuck::*;

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
    use pressbot_core::history::{EventKind, HistoryEvent};
    use std::path::Path;

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
