//! pressbot's embedded backend: SWF, SQS and S3 semantics on one SQLite
//! file (WAL) plus object files on disk, under one data dir.
//!
//! Several processes (decider, activity worker, queue worker, starter) may
//! open the same data dir at once. Every state change is one `BEGIN
//! IMMEDIATE` transaction; a commit that creates work wakes the long polls
//! waiting for it, in every process on the data dir (see [`wake`]: a Unix
//! datagram per process), and long polls also re-read the database every
//! `poll_interval` as a fallback. Timeouts and timers are
//! processed by whoever calls next ([`LocalBackend::sweep`]), so no extra
//! process is needed.
//!
//! Layout of the data dir:
//! - `pressbot.db` (+ `-wal`, `-shm`): every table;
//! - `objects/<bucket>/<key>`: object bodies (see [`objects`] for how keys map to paths);
//! - `tmp/`: bodies being written, renamed into place atomically;
//! - `presign.key`: the secret that signs presigned URLs (see [`presign`]).
//! - `wake/`: one Unix datagram socket per open backend, through which
//!   commits wake other processes' long polls (see [`wake`]).

mod db;
mod error;
mod lease;
pub mod object_server;
pub mod objects;
pub mod presign;
pub mod queue;
pub mod wake;
pub mod workflow;

pub use error::LocalError;

use db::{AbandonOnDrop, Ctx};
use pressbot_core::backend::Backend;
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// File name of the database inside the data dir.
pub const DB_FILE: &str = "pressbot.db";

/// Idle connections kept per backend; more are opened on demand.
const MAX_IDLE_CONNECTIONS: usize = 8;

/// Options of the embedded backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalOptions {
    /// SWF domain: executions, types and task lists are scoped to it.
    pub domain: String,
    /// How often an idle long poll re-reads the database when other
    /// processes' writes cannot wake it (see [`wake`]; every write of this
    /// process wakes it at once). When they can, an idle poll re-reads at
    /// the next due timer, timeout or delayed message it saw, and
    /// otherwise every `max(poll_interval, 1 s)`: this keeps idle CPU
    /// near zero without making timeouts late.
    pub poll_interval: Duration,
    /// How long a decision or activity long poll waits before answering
    /// `Ok(None)` (SWF holds 60 s).
    pub long_poll: Duration,
}

impl LocalOptions {
    /// Options from the `[local]` settings section and the environment's
    /// SWF domain (the settings prefix keeps environments apart).
    pub fn from_settings(
        domain: impl Into<String>,
        local: &pressbot_core::settings::LocalSettings,
    ) -> Self {
        LocalOptions {
            domain: domain.into(),
            poll_interval: local.poll_interval,
            long_poll: local.long_poll,
        }
    }
}

impl Default for LocalOptions {
    fn default() -> Self {
        LocalOptions {
            domain: "pressbot".into(),
            poll_interval: Duration::from_millis(100),
            long_poll: Duration::from_secs(60),
        }
    }
}

/// The embedded backend. Cheap to clone: every clone shares the connection
/// pool and the wake-up socket.
#[derive(Clone)]
pub struct LocalBackend {
    inner: Arc<Inner>,
}

struct Inner {
    data_dir: PathBuf,
    db_path: PathBuf,
    /// `pressbot.db-wal`, whose size triggers a checkpoint.
    wal_path: PathBuf,
    options: LocalOptions,
    pool: Mutex<Vec<Connection>>,
    waker: Arc<wake::Waker>,
    presign: presign::PresignState,
    /// Operations run by this instance, to look at the WAL's size every
    /// [`WAL_CHECK_EVERY`].
    ops: std::sync::atomic::AtomicU64,
    /// A checkpoint of this instance is running: one at a time is enough.
    checkpointing: Arc<AtomicBool>,
    /// How this data dir computes eTags (fixed at its creation).
    etag_kind: objects::EtagKind,
}

/// WAL size beyond which an instance empties it.
///
/// SQLite's automatic checkpoint copies the WAL into the database but can
/// only start the WAL over when no reader is using it; with several
/// processes polling all the time there always is one, and the WAL grew
/// without bound (2.3 GB after 15,000 workflows, and every process's memory
/// with it). A `wal_checkpoint(TRUNCATE)` waits (through the busy handler)
/// for the readers of the moment to finish and empties the file. It is
/// triggered by size, not by a count of operations, because the WAL grows
/// with the work of every process, not of this one.
const WAL_LIMIT_BYTES: u64 = 16 << 20;

/// Operations between two looks at the WAL's size (a `stat`, ~1 µs).
const WAL_CHECK_EVERY: u64 = 32;

/// Attempts of one checkpoint before it is left to the next trigger.
///
/// A TRUNCATE checkpoint fails at once, without calling the busy handler,
/// while another connection runs a checkpoint (SQLite's automatic PASSIVE
/// ones run after commits all the time under load); one attempt per
/// trigger lost that race so often that the WAL still reached 2.4 GB. So it
/// retries, 5 ms apart at first, doubling to 1 s (about 9 s in all).
const CHECKPOINT_TRIES: u32 = 16;
const CHECKPOINT_RETRY: Duration = Duration::from_millis(5);
const CHECKPOINT_RETRY_MAX: Duration = Duration::from_secs(1);

impl std::fmt::Debug for LocalBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalBackend")
            .field("data_dir", &self.inner.data_dir)
            .field("domain", &self.inner.options.domain)
            .finish()
    }
}

impl LocalBackend {
    /// Open (creating if needed) the data dir, its database and its objects dir.
    pub fn open(data_dir: &Path, options: LocalOptions) -> Result<Self, LocalError> {
        if options.domain.trim().is_empty() {
            return Err(LocalError::invalid(
                "open",
                "domain",
                &options.domain,
                "must not be empty",
            ));
        }
        if options.poll_interval.is_zero() {
            return Err(LocalError::invalid(
                "open",
                "poll_interval",
                format!("{:?}", options.poll_interval),
                "must be above zero",
            ));
        }
        for dir in [
            data_dir.to_path_buf(),
            data_dir.join("objects"),
            data_dir.join("tmp"),
        ] {
            std::fs::create_dir_all(&dir)
                .map_err(|e| LocalError::io("create directory", &dir, e))?;
        }
        let data_dir = data_dir
            .canonicalize()
            .map_err(|e| LocalError::io("resolve data dir", data_dir, e))?;
        let db_path = data_dir.join(DB_FILE);
        let mut conn = db::connect(&db_path)?;
        db::migrate(&mut conn)
            .map_err(|e| e.context("create schema", &db_path.display().to_string()))?;
        conn.execute(
            "INSERT OR IGNORE INTO domains (name, registered) VALUES (?1, ?2)",
            rusqlite::params![options.domain, pressbot_core::time::Timestamp::now().0],
        )
        .map_err(|e| LocalError::from(e).context("register domain", &options.domain))?;
        sweep_stale_temp(&data_dir.join("tmp"), STALE_TEMP);
        let etag_kind = etag_kind(&conn).map_err(|e| {
            LocalError::from(e).context("read eTag kind", &db_path.display().to_string())
        })?;
        tracing::debug!(data_dir = %data_dir.display(), domain = %options.domain, "opened embedded backend");
        let waker = Arc::new(wake::Waker::open(&data_dir));
        Ok(LocalBackend {
            inner: Arc::new(Inner {
                wal_path: data_dir.join(format!("{DB_FILE}-wal")),
                data_dir,
                db_path,
                options,
                pool: Mutex::new(vec![conn]),
                waker,
                presign: presign::PresignState::default(),
                ops: std::sync::atomic::AtomicU64::new(0),
                checkpointing: Arc::new(AtomicBool::new(false)),
                etag_kind,
            }),
        })
    }

    /// All three services, backed by this one instance.
    pub fn backend(&self) -> Backend {
        Backend {
            workflows: Arc::new(self.clone()),
            queues: Arc::new(self.clone()),
            objects: Arc::new(self.clone()),
            leases: Arc::new(self.clone()),
        }
    }

    /// How this data dir computes eTags ([`objects::EtagKind`]).
    pub fn etag_kind(&self) -> objects::EtagKind {
        self.inner.etag_kind
    }

    /// The (canonical) data dir.
    pub fn data_dir(&self) -> &Path {
        &self.inner.data_dir
    }

    /// The options this backend was opened with.
    pub fn options(&self) -> &LocalOptions {
        &self.inner.options
    }

    /// Process every due timeout and timer: activity timeouts, decision
    /// task timeouts, fired timers, execution timeouts. Every poll runs this
    /// first; it is public for tools and tests that want it without polling.
    /// Returns how many things expired.
    pub async fn sweep(&self) -> Result<usize, LocalError> {
        self.run("sweep", String::new(), |conn, ctx| {
            workflow::sweep_if_due(conn, ctx)
        })
        .await
    }

    /// Run `f` with a pooled connection on the blocking thread pool.
    ///
    /// If the returned future is dropped before `f` finishes, `ctx.abandoned()`
    /// turns true: claiming closures check it before committing.
    async fn run<T, F>(
        &self,
        operation: &'static str,
        resource: String,
        f: F,
    ) -> Result<T, LocalError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection, &Ctx) -> Result<T, LocalError> + Send + 'static,
    {
        let abandoned = Arc::new(AtomicBool::new(false));
        let _guard = AbandonOnDrop(abandoned.clone());
        let inner = self.inner.clone();
        let handle = tokio::task::spawn_blocking(move || {
            let mut conn = match inner.checkout() {
                Ok(c) => c,
                Err(e) => return Err(e.context(operation, &resource)),
            };
            let ctx = Ctx::new(abandoned, inner.waker.clone());
            let result = f(&mut conn, &ctx).map_err(|e| e.context(operation, &resource));
            inner.checkin(conn);
            result
        });
        let n = self.inner.ops.fetch_add(1, Ordering::Relaxed) + 1;
        if n.is_multiple_of(WAL_CHECK_EVERY) && self.inner.wal_bytes() > WAL_LIMIT_BYTES {
            self.inner.checkpoint_in_background();
        }
        match handle.await {
            Ok(r) => r,
            Err(e) => Err(LocalError::Task {
                operation,
                message: e.to_string(),
            }),
        }
    }

    /// Long poll: try `attempt` until it yields something or `wait` is up.
    /// Between attempts, wait for a wake-up of `topic` (from any process on
    /// the data dir, see [`wake`]), the next deadline the attempt saw
    /// (`Ctx::set_next_due`), or the re-read fallback ([`Self::nap`]).
    ///
    /// A claim must never be lost to a dropped future: the claiming closure
    /// rolls back when it sees the caller gone, and if the caller goes away
    /// after the commit, `release` hands the claimed work back.
    async fn long_poll<T, F, R>(
        &self,
        operation: &'static str,
        resource: &str,
        topic: wake::Topics,
        wait: Duration,
        attempt: F,
        release: R,
    ) -> Result<Option<T>, LocalError>
    where
        T: Send + 'static,
        F: Fn(&mut Connection, &Ctx) -> Result<Option<T>, LocalError> + Send + Sync + 'static,
        R: Fn(&mut Connection, &Ctx, T) -> Result<(), LocalError> + Send + Sync + 'static,
    {
        let attempt = Arc::new(attempt);
        let release = Arc::new(release);
        let until = tokio::time::Instant::now() + wait;
        loop {
            // Register interest before looking, so a write between the look
            // and the wait is not missed.
            let notified = self.inner.waker.notified(topic);
            tokio::pin!(notified);
            notified.as_mut().enable();
            let next_due = match self
                .claim(operation, resource, attempt.clone(), release.clone())
                .await?
            {
                Ok(found) => return Ok(Some(found)),
                Err(next_due) => next_due,
            };
            let now = tokio::time::Instant::now();
            if now >= until {
                return Ok(None);
            }
            let nap = self.nap(next_due).min(until - now);
            tokio::select! {
                _ = &mut notified => {}
                _ = tokio::time::sleep(nap) => {}
            }
        }
    }

    /// How long an idle poll sleeps before looking again, wake-ups aside:
    /// `poll_interval` if other processes cannot wake it; else until the
    /// next deadline it saw (`next_due`, ms), at most [`db::IDLE_RECHECK`]
    /// (or `poll_interval` if longer). Deadlines set later and sooner than
    /// that wake the polls at their commit (`Ctx::note_deadline`).
    fn nap(&self, next_due: Option<i64>) -> Duration {
        let poll_interval = self.inner.options.poll_interval;
        if !self.inner.waker.cross_process() {
            return poll_interval;
        }
        let idle = poll_interval.max(db::IDLE_RECHECK);
        match next_due {
            Some(at) => {
                // +1 ms: a deadline is due when `at <= now`. At least 5 ms,
                // so a deadline the sweep somehow left cannot spin the poll.
                let ms = at.saturating_sub(pressbot_core::time::Timestamp::now().0) + 1;
                idle.min(Duration::from_millis(u64::try_from(ms).unwrap_or(0).max(5)))
            }
            None => idle,
        }
    }

    /// One claiming attempt on the blocking pool, with hand-back: the result
    /// travels through a oneshot channel; if the receiver is gone when the
    /// sender sends, the sender releases the claim, and if the receiver is
    /// dropped with a result waiting, the receiver's guard releases it.
    /// Nothing found: `Err` of when the attempt said to look again (ms).
    async fn claim<T, F, R>(
        &self,
        operation: &'static str,
        resource: &str,
        attempt: Arc<F>,
        release: Arc<R>,
    ) -> Result<Result<T, Option<i64>>, LocalError>
    where
        T: Send + 'static,
        F: Fn(&mut Connection, &Ctx) -> Result<Option<T>, LocalError> + Send + Sync + 'static,
        R: Fn(&mut Connection, &Ctx, T) -> Result<(), LocalError> + Send + Sync + 'static,
    {
        let abandoned = Arc::new(AtomicBool::new(false));
        let (tx, rx) = tokio::sync::oneshot::channel::<Attempt<T>>();
        let inner = self.inner.clone();
        let flag = abandoned.clone();
        let resource_owned = resource.to_owned();
        let sender_release = release.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = match inner.checkout() {
                Ok(c) => c,
                Err(e) => {
                    let _ = tx.send(Err(e.context(operation, &resource_owned)));
                    return;
                }
            };
            let ctx = Ctx::new(flag, inner.waker.clone());
            let result = attempt(&mut conn, &ctx)
                .map(|found| found.ok_or(ctx.next_due()))
                .map_err(|e| e.context(operation, &resource_owned));
            if let Err(Ok(Ok(lost))) = tx.send(result) {
                release_claim(&mut conn, &ctx, operation, &*sender_release, lost);
            }
            inner.checkin(conn);
        });
        let mut guard = ReleaseOnDrop {
            rx: Some(rx),
            _abandon: AbandonOnDrop(abandoned),
            backend: self.clone(),
            operation,
            release,
        };
        let rx = guard.rx.as_mut().expect("receiver present until drop");
        let result = rx.await;
        guard.rx = None;
        match result {
            Ok(r) => r,
            Err(_) => Err(LocalError::Task {
                operation,
                message: "the database task ended without an answer (panicked?)".into(),
            }),
        }
    }
}

/// What one claiming attempt answers: the claim, or (nothing found) when
/// to look again at the latest (ms).
type Attempt<T> = Result<Result<T, Option<i64>>, LocalError>;

/// Hand a claim back, logging (not failing) if that is impossible: the
/// task's own timeout will then recover it.
fn release_claim<T, R>(
    conn: &mut Connection,
    ctx: &Ctx,
    operation: &'static str,
    release: &R,
    lost: T,
) where
    R: Fn(&mut Connection, &Ctx, T) -> Result<(), LocalError>,
{
    match release(conn, ctx, lost) {
        Ok(()) => tracing::debug!(
            operation,
            "poll abandoned after its claim: work handed back"
        ),
        Err(e) => {
            tracing::warn!(operation, error = %e, "could not hand back work of an abandoned poll; it will time out")
        }
    }
}

/// Receiver side of [`LocalBackend::claim`]: a result left in the channel
/// when the poll future is dropped is handed back.
struct ReleaseOnDrop<T: Send + 'static, R>
where
    R: Fn(&mut Connection, &Ctx, T) -> Result<(), LocalError> + Send + Sync + 'static,
{
    rx: Option<tokio::sync::oneshot::Receiver<Attempt<T>>>,
    _abandon: AbandonOnDrop,
    backend: LocalBackend,
    operation: &'static str,
    release: Arc<R>,
}

impl<T: Send + 'static, R> Drop for ReleaseOnDrop<T, R>
where
    R: Fn(&mut Connection, &Ctx, T) -> Result<(), LocalError> + Send + Sync + 'static,
{
    fn drop(&mut self) {
        let Some(mut rx) = self.rx.take() else {
            return;
        };
        // After close(), a send fails (and the sender releases), or the
        // value is already here for us to release.
        rx.close();
        let Ok(Ok(Ok(lost))) = rx.try_recv() else {
            return;
        };
        let (inner, operation, release) = (
            self.backend.inner.clone(),
            self.operation,
            self.release.clone(),
        );
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            tracing::warn!(
                operation,
                "poll dropped outside a runtime: claimed work will time out"
            );
            return;
        };
        handle.spawn_blocking(move || {
            let Ok(mut conn) = inner.checkout() else {
                tracing::warn!(
                    operation,
                    "no connection to hand back work of a dropped poll"
                );
                return;
            };
            let ctx = Ctx::new(Arc::new(AtomicBool::new(false)), inner.waker.clone());
            release_claim(&mut conn, &ctx, operation, &*release, lost);
            inner.checkin(conn);
        });
    }
}

impl Inner {
    fn checkout(&self) -> Result<Connection, LocalError> {
        let pooled = self.pool.lock().map(|mut p| p.pop()).unwrap_or(None);
        match pooled {
            Some(c) => Ok(c),
            None => db::connect(&self.db_path),
        }
    }

    /// Size of the WAL file now (0 if there is none).
    fn wal_bytes(&self) -> u64 {
        std::fs::metadata(&self.wal_path).map_or(0, |m| m.len())
    }

    /// Start [`Inner::checkpoint`] on a blocking thread unless this
    /// instance already runs one: off the caller's path, as it may wait
    /// for readers.
    fn checkpoint_in_background(self: &Arc<Self>) {
        if self.checkpointing.swap(true, Ordering::AcqRel) {
            return;
        }
        let inner = self.clone();
        tokio::task::spawn_blocking(move || {
            inner.checkpoint();
            inner.checkpointing.store(false, Ordering::Release);
        });
    }

    /// Copy the WAL into the database and empty it (see [`WAL_LIMIT_BYTES`]),
    /// retrying while another checkpoint or a reader is in the way. Best
    /// effort: if it still cannot, the next size check tries again.
    fn checkpoint(&self) {
        let mut conn = match self.checkout() {
            Ok(c) => c,
            Err(e) => {
                tracing::debug!(error = %e, "no connection for a WAL checkpoint");
                return;
            }
        };
        // While it waits for readers a TRUNCATE checkpoint holds the write
        // lock, so it must give up quickly: a reader that stays (another
        // process's long transaction) would otherwise stall every writer
        // for the whole busy timeout and fail them. It backs off instead.
        if let Err(e) = conn.busy_handler(Some(db::checkpoint_busy_wait)) {
            tracing::debug!(error = %e, "no busy handler for a WAL checkpoint");
            self.checkin(conn);
            return;
        }
        let mut outcome = Ok((0, 0));
        let mut delay = CHECKPOINT_RETRY;
        for attempt in 1..=CHECKPOINT_TRIES {
            outcome = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
            });
            if let Ok((0, _)) = outcome {
                tracing::debug!(attempt, "WAL checkpointed and truncated");
                break;
            }
            if attempt < CHECKPOINT_TRIES {
                std::thread::sleep(delay);
                delay = (delay * 2).min(CHECKPOINT_RETRY_MAX);
            }
        }
        match outcome {
            Ok((0, _)) => {}
            Ok((_, frames)) => tracing::warn!(
                frames,
                tries = CHECKPOINT_TRIES,
                "WAL checkpoint still busy: a long read transaction (another process?) keeps it from emptying the WAL; retried at the next size check"
            ),
            Err(e) => {
                tracing::warn!(error = %e, "WAL checkpoint failed; retried at the next size check")
            }
        }
        if let Err(e) = conn.busy_handler(Some(db::busy_wait)) {
            // Never hand out a connection without the normal busy handler.
            tracing::debug!(error = %e, "could not restore the busy handler; connection closed");
            return;
        }
        self.checkin(conn);
    }

    fn checkin(&self, conn: Connection) {
        if let Ok(mut pool) = self.pool.lock() {
            if pool.len() < MAX_IDLE_CONNECTIONS {
                pool.push(conn);
            }
        }
    }
}

/// The data dir's eTag kind, recorded at its first open: BLAKE3 for a new
/// data dir, MD5 for one that already holds objects from before BLAKE3
/// (so their packages keep their identities; see [`objects::EtagKind`]).
/// Kept in `counters` as `etag_blake3` (1 or 0).
fn etag_kind(conn: &Connection) -> rusqlite::Result<objects::EtagKind> {
    conn.execute(
        "INSERT OR IGNORE INTO counters (name, value)
         VALUES ('etag_blake3', CASE WHEN EXISTS (SELECT 1 FROM objects) THEN 0 ELSE 1 END)",
        [],
    )?;
    let blake3: i64 = conn.query_row(
        "SELECT value FROM counters WHERE name = 'etag_blake3'",
        [],
        |r| r.get(0),
    )?;
    Ok(if blake3 == 1 {
        objects::EtagKind::Blake3
    } else {
        objects::EtagKind::Md5
    })
}

/// How old a file or directory in `tmp/` must be before an open removes it.
///
/// `tmp/` holds puts between their write and their rename (milliseconds)
/// and the entries ExpandArticle stages (an attempt, at most its
/// `start_to_close`: minutes). A process killed meanwhile leaves them
/// behind, and no one else would ever remove them: with every daemon and
/// `pressbot` command sharing the data dir, an open cannot tell a dead
/// process's leftovers from a live one's, except by age. A day is far
/// beyond any attempt.
pub const STALE_TEMP: Duration = Duration::from_secs(24 * 3600);

/// Remove what is older than `age` in `tmp/`; logs what it removed. Errors
/// (another process removing the same thing) are ignored: this is tidying.
pub fn sweep_stale_temp(tmp: &Path, age: Duration) -> usize {
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return 0;
    };
    let now = std::time::SystemTime::now();
    let mut removed = 0;
    for entry in entries.flatten() {
        let Ok(meta) = entry.metadata() else { continue };
        let old = meta
            .modified()
            .ok()
            .and_then(|m| now.duration_since(m).ok())
            .is_some_and(|a| a > age);
        if !old {
            continue;
        }
        let path = entry.path();
        let gone = if meta.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        if gone.is_ok() {
            removed += 1;
        }
    }
    if removed > 0 {
        tracing::info!(dir = %tmp.display(), removed, "removed temp files left by processes that stopped");
    }
    removed
}
