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
//! | `pressbot_build_info` | `version`, `commit` | always 1: which build runs (join on it in queries) |
//! | `process_resident_memory_bytes` | | resident set size, from `/proc/self/status` |
//! | `process_cpu_seconds_total` | | user and system CPU time, from `/proc/self/stat` |
//! | `process_open_fds` | | open file descriptors, from `/proc/self/fd` |

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

/// The Prometheus text page: what the daemons recorded, then the build
/// and process metrics, read at scrape time (they change on their own, not
/// at a point the code could record them).
pub fn render() -> String {
    let handle = install();
    handle.run_upkeep();
    let mut page = handle.render();
    page.push_str(&build_and_process_metrics(&ProcSelf::read()));
    page
}

/// This process's resources, from `/proc/self` (Linux; `None` elsewhere or
/// when a file cannot be read, and then the metric is left out).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProcSelf {
    pub resident_bytes: Option<u64>,
    pub cpu_seconds: Option<f64>,
    pub open_fds: Option<u64>,
}

impl ProcSelf {
    pub fn read() -> Self {
        let status = std::fs::read_to_string("/proc/self/status").ok();
        let stat = std::fs::read_to_string("/proc/self/stat").ok();
        ProcSelf {
            resident_bytes: status.as_deref().and_then(resident_bytes),
            cpu_seconds: stat.as_deref().and_then(cpu_seconds),
            open_fds: std::fs::read_dir("/proc/self/fd")
                .ok()
                .map(|d| d.count() as u64),
        }
    }
}

/// `VmRSS:  1234 kB` of `/proc/self/status`, in bytes (no page size needed).
fn resident_bytes(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// utime + stime of `/proc/self/stat` (fields 14 and 15), in seconds.
/// /proc reports them in USER_HZ, which Linux fixes at 100 for user space
/// whatever the kernel's tick rate. Fields are counted after the `)` that
/// ends the command name, which may itself hold spaces.
fn cpu_seconds(stat: &str) -> Option<f64> {
    const USER_HZ: f64 = 100.0;
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime) as f64 / USER_HZ)
}

/// `pressbot_build_info` and the `process_*` metrics as Prometheus text.
pub fn build_and_process_metrics(p: &ProcSelf) -> String {
    let mut out = format!(
        "# HELP pressbot_build_info The running build: version and git commit.\n\
         # TYPE pressbot_build_info gauge\n\
         pressbot_build_info{{version=\"{}\",commit=\"{}\"}} 1\n",
        env!("CARGO_PKG_VERSION"),
        env!("PRESSBOT_GIT_COMMIT")
    );
    let mut metric = |name: &str, kind: &str, help: &str, value: String| {
        out.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
        ));
    };
    if let Some(v) = p.resident_bytes {
        metric(
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory size in bytes.",
            v.to_string(),
        );
    }
    if let Some(v) = p.cpu_seconds {
        metric(
            "process_cpu_seconds_total",
            "counter",
            "Total user and system CPU time spent in seconds.",
            v.to_string(),
        );
    }
    if let Some(v) = p.open_fds {
        metric(
            "process_open_fds",
            "gauge",
            "Number of open file descriptors.",
            v.to_string(),
        );
    }
    out
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

/// The dashboard: 1 while this process holds the consumer lease (it
/// consumes the event-monitor queue), 0 while another dashboard does.
pub fn dashboard_lease_held(held: bool) {
    ::metrics::gauge!("pressbot_dashboard_lease_held").set(if held { 1.0 } else { 0.0 });
}

/// The dashboard: event-monitor messages folded into records (`consumed`)
/// or moved to the dead-letter queue as malformed (`dead_lettered`).
pub fn dashboard_messages(outcome: &'static str, n: u64) {
    ::metrics::counter!("pressbot_dashboard_messages_total", "outcome" => outcome).increment(n);
}

// ---------------------------------------------------------------------------
// Liveness of poll loops.

/// The poll loops and polls in flight of one process. There is one per
/// process ([`LOOPS`]); tests make their own so that loops started by other
/// tests running at the same time cannot change what they count.
#[derive(Debug)]
pub struct Loops {
    alive: AtomicUsize,
    peak: AtomicUsize,
    next_poll: AtomicU64,
    polls_in_flight: Mutex<BTreeMap<u64, (&'static str, Instant)>>,
}

/// This process's loops, read by `/healthz` and `/metrics`.
pub static LOOPS: Loops = Loops::new();

/// Held by a poll loop for as long as it runs (dropped on return or panic).
#[derive(Debug)]
#[must_use = "the loop counts as alive only while the guard is held"]
pub struct LoopGuard {
    loops: &'static Loops,
    role: &'static str,
}

/// Held around one poll call; a poll held far past any long-poll limit
/// means the loop is stuck.
#[derive(Debug)]
#[must_use = "the poll is tracked only while the guard is held"]
pub struct PollGuard {
    loops: &'static Loops,
    id: u64,
}

impl Loops {
    pub const fn new() -> Self {
        Self {
            alive: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            next_poll: AtomicU64::new(0),
            polls_in_flight: Mutex::new(BTreeMap::new()),
        }
    }

    /// Mark a poll loop as running until the guard is dropped.
    pub fn loop_alive(&'static self, role: &'static str) -> LoopGuard {
        let now = self.alive.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        ::metrics::gauge!("pressbot_poll_loops_alive", "role" => role).increment(1.0);
        LoopGuard { loops: self, role }
    }

    /// Mark a poll as in flight until the guard is dropped.
    pub fn polling(&'static self, role: &'static str) -> PollGuard {
        let id = self.next_poll.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut m) = self.polls_in_flight.lock() {
            m.insert(id, (role, Instant::now()));
        }
        PollGuard { loops: self, id }
    }

    pub fn liveness(&self) -> Liveness {
        let oldest_poll = self.polls_in_flight.lock().ok().and_then(|m| {
            m.values()
                .min_by_key(|(_, t)| *t)
                .map(|(r, t)| (*r, t.elapsed()))
        });
        Liveness {
            alive: self.alive.load(Ordering::SeqCst),
            peak: self.peak.load(Ordering::SeqCst),
            oldest_poll,
        }
    }
}

impl Default for Loops {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for LoopGuard {
    fn drop(&mut self) {
        self.loops.alive.fetch_sub(1, Ordering::SeqCst);
        ::metrics::gauge!("pressbot_poll_loops_alive", "role" => self.role).decrement(1.0);
    }
}

impl Drop for PollGuard {
    fn drop(&mut self) {
        if let Ok(mut m) = self.loops.polls_in_flight.lock() {
            m.remove(&self.id);
        }
    }
}

/// Mark a poll loop of this process as running: `let _alive = metrics::loop_alive("decider");`.
pub fn loop_alive(role: &'static str) -> LoopGuard {
    LOOPS.loop_alive(role)
}

/// Mark a poll of this process as in flight: `let _poll = metrics::polling("decider");`.
pub fn polling(role: &'static str) -> PollGuard {
    LOOPS.polling(role)
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

/// How this process's poll loops are doing (for `/healthz`).
pub fn liveness() -> Liveness {
    LOOPS.liveness()
}

#[cfg(test)]
mod tests {
    #[test]
    fn build_and_process_metrics_from_proc() {
        let stat = "1234 (my (odd) name) S 1 2 3 4 5 6 7 8 9 10 250 150 0 0 20 0 1";
        assert_eq!(cpu_seconds(stat), Some(4.0));
        let status = "Name:\tdecider\nVmRSS:\t   2048 kB\nThreads:\t3\n";
        assert_eq!(resident_bytes(status), Some(2 * 1024 * 1024));
        let page = build_and_process_metrics(&ProcSelf::read());
        for name in [
            "pressbot_build_info{version=",
            "process_resident_memory_bytes ",
            "process_cpu_seconds_total ",
            "process_open_fds ",
        ] {
            assert!(page.contains(name), "{name} missing:\n{page}");
        }
    }

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
        // A registry of its own: other tests in this binary start real loops
        // on `LOOPS` at the same time (this test once failed in CI that way).
        static OWN: Loops = Loops::new();
        assert_eq!(
            OWN.liveness(),
            Liveness {
                alive: 0,
                peak: 0,
                oldest_poll: None
            }
        );
        let a = OWN.loop_alive("test");
        let b = OWN.loop_alive("test");
        let p = OWN.polling("test");
        let during = OWN.liveness();
        assert_eq!((during.alive, during.peak), (2, 2));
        assert_eq!(during.oldest_poll.map(|(r, _)| r), Some("test"));
        drop(p);
        drop(b);
        let after = OWN.liveness();
        assert_eq!((after.alive, after.peak, after.oldest_poll), (1, 2, None));
        assert!(
            after.healthy(Duration::from_secs(1)).is_err(),
            "a loop stopped"
        );
        drop(a);
    }
}
