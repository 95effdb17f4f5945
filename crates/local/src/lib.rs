//! pressbot's embedded backend: SWF, SQS and S3 semantics on one SQLite
//! file (WAL) plus object files on disk, under one data dir.
//!
//! Several processes (decider, activity worker, queue worker, starter) may
//! open the same data dir at once. Every state change is one `BEGIN
//! IMMEDIATE` transaction; long polls wait on an in-process [`Notify`]
//! (woken by this process's writes) or re-read the database every
//! `poll_interval` (for writes of other processes). Timeouts and timers are
//! processed by whoever calls next ([`LocalBackend::sweep`]), so no extra
//! process is needed.
//!
//! Layout of the data dir:
//! - `pressbot.db` (+ `-wal`, `-shm`): every table;
//! - `objects/<bucket>/<key>`: object bodies (see [`objects`] for how keys map to paths);
//! - `tmp/`: bodies being written, renamed into place atomically.

mod db;
mod error;
pub mod objects;
pub mod queue;
pub mod workflow;

pub use error::LocalError;

use db::{AbandonOnDrop, Ctx};
use pressbot_core::backend::Backend;
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// File name of the database inside the data dir.
pub const DB_FILE: &str = "pressbot.db";

/// Idle connections kept per backend; more are opened on demand.
const MAX_IDLE_CONNECTIONS: usize = 8;

/// Options of the embedded backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalOptions {
    /// SWF domain: executions, types and task lists are scoped to it.
    pub domain: String,
    /// How often a long poll re-reads the database for work written by
    /// other processes (this process's writes wake it at once).
    pub poll_interval: Duration,
    /// How long a decision or activity long poll waits before answering
    /// `Ok(None)` (SWF holds 60 s).
    pub long_poll: Duration,
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
/// pool and the in-process wake-up.
#[derive(Clone)]
pub struct LocalBackend {
    inner: Arc<Inner>,
}

struct Inner {
    data_dir: PathBuf,
    db_path: PathBuf,
    options: LocalOptions,
    pool: Mutex<Vec<Connection>>,
    notify: Arc<Notify>,
}

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
        tracing::debug!(data_dir = %data_dir.display(), domain = %options.domain, "opened embedded backend");
        Ok(LocalBackend {
            inner: Arc::new(Inner {
                data_dir,
                db_path,
                options,
                pool: Mutex::new(vec![conn]),
                notify: Arc::new(Notify::new()),
            }),
        })
    }

    /// All three services, backed by this one instance.
    pub fn backend(&self) -> Backend {
        Backend {
            workflows: Arc::new(self.clone()),
            queues: Arc::new(self.clone()),
            objects: Arc::new(self.clone()),
        }
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
            let ctx = Ctx::new(abandoned, inner.notify.clone());
            let result = f(&mut conn, &ctx).map_err(|e| e.context(operation, &resource));
            inner.checkin(conn);
            result
        });
        match handle.await {
            Ok(r) => r,
            Err(e) => Err(LocalError::Task {
                operation,
                message: e.to_string(),
            }),
        }
    }

    /// Long poll: try `attempt` until it yields something or `wait` is up.
    /// Between attempts, wait for an in-process wake-up or `poll_interval`.
    async fn long_poll<T, F>(
        &self,
        operation: &'static str,
        resource: &str,
        wait: Duration,
        attempt: F,
    ) -> Result<Option<T>, LocalError>
    where
        T: Send + 'static,
        F: Fn(&mut Connection, &Ctx) -> Result<Option<T>, LocalError> + Send + Sync + 'static,
    {
        let attempt = Arc::new(attempt);
        let until = tokio::time::Instant::now() + wait;
        loop {
            // Register interest before looking, so a write between the look
            // and the wait is not missed.
            let notified = self.inner.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let a = attempt.clone();
            if let Some(found) = self
                .run(operation, resource.to_owned(), move |c, ctx| a(c, ctx))
                .await?
            {
                return Ok(Some(found));
            }
            let now = tokio::time::Instant::now();
            if now >= until {
                return Ok(None);
            }
            let nap = self.inner.options.poll_interval.min(until - now);
            tokio::select! {
                _ = &mut notified => {}
                _ = tokio::time::sleep(nap) => {}
            }
        }
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

    fn checkin(&self, conn: Connection) {
        if let Ok(mut pool) = self.pool.lock() {
            if pool.len() < MAX_IDLE_CONNECTIONS {
                pool.push(conn);
            }
        }
    }
}
