//! Connections, schema and the small transaction helpers every service uses.
//!
//! One SQLite file in WAL mode is shared by several processes; every state
//! change is a `BEGIN IMMEDIATE` transaction so two writers never both read
//! a stale state and then write, and a busy timeout makes a writer wait for
//! the other process instead of failing at once.

use crate::error::LocalError;
use crate::wake::{Topics, Waker};
use pressbot_core::time::Timestamp;
use rusqlite::{Connection, Transaction, TransactionBehavior};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How long a writer waits for another process's write lock before the
/// call fails with a retryable error.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How long an idle long poll sleeps at most between looks at the
/// database when cross-process wake-ups work (with a `poll_interval`
/// above this, `poll_interval`). Work written anywhere wakes it sooner,
/// and it also wakes when the next timer or timeout it saw is due; this
/// re-read only catches deadlines set by commits that wake nobody (a
/// claim's start-to-close timeout) and is what bounds idle CPU.
pub(crate) const IDLE_RECHECK: Duration = Duration::from_secs(1);

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS domains (
    name TEXT PRIMARY KEY,
    registered INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS workflow_types (
    domain TEXT NOT NULL,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    task_list TEXT NOT NULL,
    registered INTEGER NOT NULL,
    PRIMARY KEY (domain, name, version)
);
CREATE TABLE IF NOT EXISTS activity_types (
    domain TEXT NOT NULL,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    task_list TEXT NOT NULL,
    registered INTEGER NOT NULL,
    PRIMARY KEY (domain, name, version)
);
CREATE TABLE IF NOT EXISTS executions (
    id INTEGER PRIMARY KEY,
    domain TEXT NOT NULL,
    workflow_id TEXT NOT NULL,
    run_id TEXT NOT NULL UNIQUE,
    type_name TEXT NOT NULL,
    type_version TEXT NOT NULL,
    task_list TEXT NOT NULL,
    decision_timeout_ms INTEGER NOT NULL,
    started INTEGER NOT NULL,
    closed INTEGER,
    close_status TEXT,
    deadline INTEGER,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    decision_pending INTEGER NOT NULL DEFAULT 0,
    prev_started_event_id INTEGER NOT NULL DEFAULT 0,
    next_event_id INTEGER NOT NULL DEFAULT 1,
    tags TEXT NOT NULL DEFAULT '[]'
);
CREATE UNIQUE INDEX IF NOT EXISTS executions_open_id
    ON executions (domain, workflow_id) WHERE closed IS NULL;
CREATE INDEX IF NOT EXISTS executions_deadline
    ON executions (deadline) WHERE deadline IS NOT NULL;
CREATE INDEX IF NOT EXISTS executions_started ON executions (domain, started);
CREATE TABLE IF NOT EXISTS events (
    exec INTEGER NOT NULL,
    event_id INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    kind TEXT NOT NULL,
    PRIMARY KEY (exec, event_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS decision_tasks (
    id INTEGER PRIMARY KEY,
    exec INTEGER NOT NULL UNIQUE,
    domain TEXT NOT NULL,
    task_list TEXT NOT NULL,
    scheduled_event_id INTEGER NOT NULL,
    started_event_id INTEGER,
    token TEXT UNIQUE,
    deadline INTEGER
);
CREATE INDEX IF NOT EXISTS decision_tasks_ready
    ON decision_tasks (domain, task_list, id) WHERE started_event_id IS NULL;
CREATE INDEX IF NOT EXISTS decision_tasks_deadline
    ON decision_tasks (deadline) WHERE deadline IS NOT NULL;
CREATE TABLE IF NOT EXISTS activity_tasks (
    id INTEGER PRIMARY KEY,
    exec INTEGER NOT NULL,
    domain TEXT NOT NULL,
    activity_id TEXT NOT NULL,
    type_name TEXT NOT NULL,
    type_version TEXT NOT NULL,
    task_list TEXT NOT NULL,
    input TEXT,
    scheduled_event_id INTEGER NOT NULL,
    scheduled_at INTEGER NOT NULL,
    started_event_id INTEGER,
    started_at INTEGER,
    token TEXT UNIQUE,
    last_heartbeat INTEGER,
    heartbeat_details TEXT,
    schedule_to_start_ms INTEGER,
    start_to_close_ms INTEGER,
    schedule_to_close_ms INTEGER,
    heartbeat_ms INTEGER,
    deadline INTEGER,
    deadline_kind TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    UNIQUE (exec, activity_id)
);
CREATE INDEX IF NOT EXISTS activity_tasks_ready
    ON activity_tasks (domain, task_list, id) WHERE started_event_id IS NULL;
CREATE INDEX IF NOT EXISTS activity_tasks_deadline
    ON activity_tasks (deadline) WHERE deadline IS NOT NULL;
CREATE TABLE IF NOT EXISTS timers (
    exec INTEGER NOT NULL,
    timer_id TEXT NOT NULL,
    started_event_id INTEGER NOT NULL,
    fire_at INTEGER NOT NULL,
    PRIMARY KEY (exec, timer_id)
);
CREATE INDEX IF NOT EXISTS timers_fire ON timers (fire_at);
CREATE TABLE IF NOT EXISTS queues (
    name TEXT PRIMARY KEY,
    max_receives INTEGER,
    dead_letter TEXT,
    created INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY,
    queue TEXT NOT NULL,
    message_id TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL,
    attributes TEXT NOT NULL,
    sent INTEGER NOT NULL,
    visible_at INTEGER NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    receipt TEXT UNIQUE
);
CREATE INDEX IF NOT EXISTS messages_ready ON messages (queue, visible_at, id);
CREATE TABLE IF NOT EXISTS buckets (
    name TEXT PRIMARY KEY,
    notify_queue TEXT,
    created INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS objects (
    bucket TEXT NOT NULL,
    key TEXT NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    content_type TEXT,
    cache_control TEXT,
    last_modified INTEGER NOT NULL,
    PRIMARY KEY (bucket, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    token TEXT NOT NULL,
    expires INTEGER NOT NULL
) WITHOUT ROWID;
"#;

/// Busy handler: wait for another process's write lock, up to
/// [`BUSY_TIMEOUT`]. SQLite's own (`busy_timeout`) sleeps 1, 2, 5, 10, 15,
/// 20, 25… ms between tries, far longer than the other processes' write
/// transactions (a fraction of a millisecond): under load a writer slept
/// tens of milliseconds for a lock that was free after 0.2 ms, which the
/// bench saw as hand-off latency spikes. So: retry every 100 µs for the
/// first [`FAST_TRIES`] tries (about 10 ms), then every millisecond.
pub(crate) fn busy_wait(tries: i32) -> bool {
    let tries = u32::try_from(tries).unwrap_or(0);
    let (fast, slow) = (tries.min(FAST_TRIES), tries.saturating_sub(FAST_TRIES));
    let waited = FAST_RETRY * fast + SLOW_RETRY * slow;
    if waited >= BUSY_TIMEOUT {
        return false;
    }
    std::thread::sleep(if tries < FAST_TRIES {
        FAST_RETRY
    } else {
        SLOW_RETRY
    });
    true
}

/// Busy handler of a WAL checkpoint: about 20 ms, then give up (see
/// `Inner::checkpoint`: it holds the write lock while it waits).
pub(crate) fn checkpoint_busy_wait(tries: i32) -> bool {
    if tries >= 20 {
        return false;
    }
    std::thread::sleep(SLOW_RETRY);
    true
}

const FAST_TRIES: u32 = 100;
const FAST_RETRY: Duration = Duration::from_micros(100);
const SLOW_RETRY: Duration = Duration::from_millis(1);

/// SQLite page cache per connection, in KiB.
const PAGE_CACHE_KIB: i64 = 512;

/// Prepared statements kept per connection: more than the backend has.
const STATEMENT_CACHE: usize = 128;

/// Open a connection with the settings every connection needs: WAL, a busy
/// handler, `synchronous = NORMAL` (durable at checkpoints, safe in WAL), and
/// room for every prepared statement.
pub(crate) fn connect(path: &Path) -> Result<Connection, LocalError> {
    let ctx = |e: rusqlite::Error| LocalError::from(e).context("open", &path.display().to_string());
    let mut conn = Connection::open(path).map_err(ctx)?;
    conn.busy_handler(Some(busy_wait)).map_err(ctx)?;
    // Every statement goes through `prepare_cached`: parsing SQL was a
    // measurable share of a task's CPU. Room for all of them (~80).
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    let mode = wal_mode(&conn).map_err(ctx)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(LocalError::invalid(
            "open",
            "database",
            path.display().to_string(),
            format!("could not switch to WAL journal mode (got {mode}); is the file on a network filesystem?"),
        ));
    }
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(ctx)?;
    // A negative size is in KiB. SQLite's default (2 MiB) per connection
    // let a daemon's memory creep up as the database grew; the operating
    // system's page cache already holds the file, so a small cache costs
    // no measurable throughput (pressbot-bench, ping scenario).
    conn.pragma_update(None, "cache_size", -PAGE_CACHE_KIB)
        .map_err(ctx)?;
    Ok(conn)
}

/// Switch a connection to WAL, retrying while another connection holds the
/// lock it needs. Several processes opening a fresh data dir at once race
/// here: the switch needs an exclusive lock, and SQLite answers `BUSY` at
/// once, without the busy handler, when two connections would deadlock
/// upgrading their locks. One of them wins within milliseconds; the others
/// find WAL already on when they retry. Bounded by [`BUSY_TIMEOUT`].
fn wal_mode(conn: &Connection) -> rusqlite::Result<String> {
    let started = std::time::Instant::now();
    loop {
        match conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)) {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if matches!(
                    e.code,
                    rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                ) && started.elapsed() < BUSY_TIMEOUT =>
            {
                std::thread::sleep(
                    SLOW_RETRY + FAST_RETRY * (started.elapsed().subsec_nanos() % 20),
                );
            }
            other => return other,
        }
    }
}

/// Create the tables if missing (idempotent; concurrent processes are fine).
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), LocalError> {
    let tx = immediate(conn)?;
    tx.execute_batch(SCHEMA)?;
    tx.commit()?;
    Ok(())
}

/// `BEGIN IMMEDIATE`: take the write lock up front, so the reads of this
/// transaction cannot go stale before its writes.
pub(crate) fn immediate(conn: &mut Connection) -> rusqlite::Result<Transaction<'_>> {
    conn.transaction_with_behavior(TransactionBehavior::Immediate)
}

/// Per-call context handed to the blocking closure.
#[derive(Debug)]
pub(crate) struct Ctx {
    now: std::cell::Cell<Timestamp>,
    abandoned: Arc<AtomicBool>,
    waker: Arc<Waker>,
    /// Set by an empty poll attempt: when the next timer, timeout or
    /// delayed message it could be answered by is due (ms).
    next_due: std::cell::Cell<Option<i64>>,
    /// Topics to wake at the next commit because it sets a deadline
    /// sooner than sleeping polls would otherwise look (see `note_deadline`).
    deadline_wake: std::cell::Cell<Topics>,
}

impl Ctx {
    pub(crate) fn new(abandoned: Arc<AtomicBool>, waker: Arc<Waker>) -> Self {
        Ctx {
            now: std::cell::Cell::new(Timestamp::now()),
            abandoned,
            waker,
            next_due: std::cell::Cell::new(None),
            deadline_wake: std::cell::Cell::new(Topics::NONE),
        }
    }

    /// The time of this call: taken when it started, and again once a
    /// write transaction holds the lock (waiting for another process must
    /// not date events in the past).
    pub(crate) fn now(&self) -> Timestamp {
        self.now.get()
    }

    /// `BEGIN IMMEDIATE`, then refresh `now`.
    pub(crate) fn begin<'c>(&self, conn: &'c mut Connection) -> rusqlite::Result<Transaction<'c>> {
        let tx = immediate(conn)?;
        self.now.set(self.now.get().max(Timestamp::now()));
        Ok(tx)
    }

    /// Whether the caller's future was dropped: a poll must then roll back
    /// its claim, or the task would stay claimed by nobody until it times out.
    pub(crate) fn abandoned(&self) -> bool {
        self.abandoned.load(Ordering::SeqCst)
    }

    /// Wake every long poll on the data dir (this process's and other
    /// processes'): something they may want was committed. Prefer
    /// [`Ctx::wake_for`], which wakes only the polls that care.
    pub(crate) fn wake(&self) {
        self.waker.wake(Topics::ALL);
    }

    /// Wake the long polls waiting for `topics`, in every process on the
    /// data dir. Call after the commit: a poll woken before it would not
    /// see the work.
    pub(crate) fn wake_for(&self, topics: Topics) {
        self.waker.wake(topics);
    }

    /// This transaction sets a deadline (timeout, timer, visibility) at
    /// `at` (ms) that polls of `topics` process. Idle polls of other
    /// processes re-read the database only every [`IDLE_RECHECK`] (and at
    /// the deadlines they saw), so a deadline due sooner than that wakes
    /// them at the commit to plan for it; a later one they see at their
    /// next re-read, still before it is due.
    pub(crate) fn note_deadline(&self, at: i64, topics: Topics) {
        if at < self.now().0.saturating_add(ms(IDLE_RECHECK)) {
            self.deadline_wake.set(self.deadline_wake.get() | topics);
        }
    }

    /// The wake-ups `note_deadline` asked for, cleared.
    pub(crate) fn take_deadline_wake(&self) -> Topics {
        self.deadline_wake.replace(Topics::NONE)
    }

    /// An empty poll attempt's next due time (ms), for the poll's nap.
    pub(crate) fn set_next_due(&self, at: Option<i64>) {
        self.next_due.set(at);
    }

    pub(crate) fn next_due(&self) -> Option<i64> {
        self.next_due.get()
    }
}

/// Set when the awaiting future is dropped before the blocking task returned.
pub(crate) struct AbandonOnDrop(pub Arc<AtomicBool>);

impl Drop for AbandonOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// A `Duration` as whole milliseconds for storage.
pub(crate) fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Next value of a named monotonic counter (in the caller's transaction).
pub(crate) fn next_counter(tx: &Transaction<'_>, name: &str) -> rusqlite::Result<i64> {
    tx.prepare_cached(
        "INSERT INTO counters (name, value) VALUES (?1, 1)
         ON CONFLICT (name) DO UPDATE SET value = value + 1
         RETURNING value",
    )?
    .query_row([name], |r| r.get(0))
}
