//! Process metrics in Prometheus text format, and the liveness of the poll
//! loops that the systemd watchdog and `/__heartbeat__` look at.
//!
//! The daemons record with the `metrics` macros (one line at each point of
//! interest); this module installs the one global recorder and renders it
//! for `/metrics`. Names, so dashboards and alerts can rely on them:
//!
//! | metric | labels | what |
//! | --- | --- | --- |
//! | `pressbot_activity_tasks_polled_total` | `activity` | tasks received by a worker |
//! | `pressbot_activity_tasks_completed_total` | `activity` | tasks that succeeded |
//! | `pressbot_activity_tasks_failed_total` | `activity`, `kind` (retryable/permanent) | tasks that failed |
//! | `pressbot_activity_tasks_timed_out_total` | `activity` | tasks stopped by the local start-to-close limit |
//! | `pressbot_activity_duration_seconds` | `activity`, `outcome` | run time of an activity (histogram) |
//! | `pressbot_decision_tasks_total` | | decision tasks decided |
//! | `pressbot_decisions_total` | `decision` | decisions made, by type |
//! | `pressbot_decision_tasks_left_total` | `workflow_type` (`Name@version`) | decision tasks of a version this decider does not hold, left unanswered for a decider that does (rescheduled by the service after their start-to-close timeout) |
//! | `pressbot_queue_messages_received_total` | `queue` | messages received |
//! | `pressbot_queue_messages_deleted_total` | `queue` | messages handled and deleted |
//! | `pressbot_queue_messages_dead_lettered_total` | `queue` | messages moved to the dead-letter queue |
//! | `pressbot_workflows_started_total` | `workflow`, `outcome` | start requests (started / already) |
//! | `pressbot_poll_errors_total` | `role` | failed long polls (service unreachable, throttled) |
//! | `pressbot_poll_loops_alive` | `role` | poll loops running in this process (gauge) |

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Install the global recorder (once per process; later calls return the
/// same handle). Without it the `metrics` macros record nothing.
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets(&[
                    0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0,
                ])
                .unwrap_or_else(|_| PrometheusBuilder::new());
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            // Fails only if another recorder is installed (a test harness):
            // then this handle renders an empty page, which is harmless.
            if ::metrics::set_global_recorder(recorder).is_err() {
                tracing::debug!("a metrics recorder was already installed");
            }
            handle
        })
        .clone()
}

/// The Prometheus text page.
pub fn render() -> String {
    let handle = install();
    handle.run_upkeep();
    handle.render()
}

/// Count a long poll that answered, by whether it brought a task: empty
/// answers are the idle cost (and, against a service that does not hold
/// long polls, a busy loop: see `backoff::EmptyPollPacer`).
pub fn poll_answered(role: &'static str, got_task: bool) {
    let outcome = if got_task { "task" } else { "empty" };
    ::metrics::counter!("pressbot_polls_total", "role" => role, "outcome" => outcome).increment(1);
}

/// Count a failed long poll of a role.
pub fn poll_error(role: &'static str) {
    ::metrics::counter!("pressbot_poll_errors_total", "role" => role).increment(1);
}

// ---------------------------------------------------------------------------
// Liveness of poll loops.

static LOOPS_ALIVE: AtomicUsize = AtomicUsize::new(0);
static LOOPS_PEAK: AtomicUsize = AtomicUsize::new(0);
static NEXT_POLL: AtomicU64 = AtomicU64::new(0);
static POLLS_IN_FLIGHT: Mutex<BTreeMap<u64, (&'static str, Instant)>> = Mutex::new(BTreeMap::new());

/// Held by a poll loop for as long as it runs (dropped on return or panic).
#[derive(Debug)]
#[must_use = "the loop counts as alive only while the guard is held"]
pub struct LoopGuard {
    role: &'static str,
}

/// Mark a poll loop as running: `let _alive = metrics::loop_alive("decider");`.
pub fn loop_alive(role: &'static str) -> LoopGuard {
    let now = LOOPS_ALIVE.fetch_add(1, Ordering::SeqCst) + 1;
    LOOPS_PEAK.fetch_max(now, Ordering::SeqCst);
    ::metrics::gauge!("pressbot_poll_loops_alive", "role" => role).increment(1.0);
    LoopGuard { role }
}

impl Drop for LoopGuard {
    fn drop(&mut self) {
        LOOPS_ALIVE.fetch_sub(1, Ordering::SeqCst);
        ::metrics::gauge!("pressbot_poll_loops_alive", "role" => self.role).decrement(1.0);
    }
}

/// Held around one poll call; a poll held far past any long-poll limit
/// means the loop is stuck.
#[derive(Debug)]
#[must_use = "the poll is tracked only while the guard is held"]
pub struct PollGuard {
    id: u64,
}

/// Mark a poll as in flight: `let _poll = metrics::polling("decider");`.
pub fn polling(role: &'static str) -> PollGuard {
    let id = NEXT_POLL.fetch_add(1, Ordering::Relaxed);
    if let Ok(mut m) = POLLS_IN_FLIGHT.lock() {
        m.insert(id, (role, Instant::now()));
    }
    PollGuard { id }
}

impl Drop for PollGuard {
    fn drop(&mut self) {
        if let Ok(mut m) = POLLS_IN_FLIGHT.lock() {
            m.remove(&self.id);
        }
    }
}

/// How the poll loops of this process are doing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Liveness {
    /// Loops running now.
    pub alive: usize,
    /// Most loops ever running at once: fewer now means one ended or panicked.
    pub peak: usize,
    /// The role and age of the oldest poll still in flight.
    pub oldest_poll: Option<(&'static str, std::time::Duration)>,
}

impl Liveness {
    /// Every loop that started is still running and no poll is older than `stall`.
    pub fn healthy(&self, stall: std::time::Duration) -> Result<(), String> {
        if self.peak == 0 {
            return Err("no poll loop has started".into());
        }
        if self.alive < self.peak {
            return Err(format!(
                "{} of {} poll loops have stopped",
                self.peak - self.alive,
                self.peak
            ));
        }
        if let Some((role, age)) = self.oldest_poll {
            if age > stall {
                return Err(format!(
                    "a {role} poll has been in flight for {age:?} (limit {stall:?})"
                ));
            }
        }
        Ok(())
    }
}

pub fn liveness() -> Liveness {
    let oldest_poll = POLLS_IN_FLIGHT.lock().ok().and_then(|m| {
        m.values()
            .min_by_key(|(_, t)| *t)
            .map(|(r, t)| (*r, t.elapsed()))
    });
    Liveness {
        alive: LOOPS_ALIVE.load(Ordering::SeqCst),
        peak: LOOPS_PEAK.load(Ordering::SeqCst),
        oldest_poll,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn liveness_needs_every_loop_and_no_stuck_poll() {
        let l = |alive, peak, oldest: Option<u64>| Liveness {
            alive,
            peak,
            oldest_poll: oldest.map(|s| ("decider", Duration::from_secs(s))),
        };
        let stall = Duration::from_secs(300);
        assert!(l(2, 2, Some(10)).healthy(stall).is_ok());
        assert!(l(0, 0, None)
            .healthy(stall)
            .expect_err("none started")
            .contains("no poll loop"));
        assert!(l(1, 2, None)
            .healthy(stall)
            .expect_err("one died")
            .contains("1 of 2"));
        assert!(l(2, 2, Some(301))
            .healthy(stall)
            .expect_err("stuck")
            .contains("in flight"));
    }

    #[test]
    fn guards_count_loops_and_polls() {
        let before = liveness();
        let a = loop_alive("test");
        let p = polling("test");
        let during = liveness();
        assert_eq!(during.alive, before.alive + 1);
        assert!(during.peak > before.peak || during.peak >= during.alive);
        assert!(during.oldest_poll.is_some());
        drop(p);
        drop(a);
        assert_eq!(liveness().alive, before.alive);
    }
}
