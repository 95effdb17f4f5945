//! Building each daemon from loaded settings: shared by the role binaries
//! and by `pressbot up`, which runs them all in one process.

use crate::app::{identity, Loaded};
use crate::decider::Decider;
use crate::queue_worker::QueueWorker;
pub use crate::role::Role;
use crate::starter::WorkflowStarter;
use crate::worker::ActivityWorker;
use pressbot_activities::{Env, Registry};
use pressbot_core::backend::Backend;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

pub fn decider(loaded: &Loaded, backend: &Backend) -> Decider {
    Decider {
        backend: backend.clone(),
        definitions: loaded.definitions.clone(),
        task_list: loaded.settings.decider.task_list.clone(),
        identity: identity("decider"),
        slots: loaded.settings.decider.slots,
    }
}

pub fn activity_worker(loaded: &Loaded, backend: &Backend) -> ActivityWorker {
    let env = Arc::new(Env {
        backend: backend.clone(),
        settings: loaded.settings.clone(),
    });
    ActivityWorker {
        registry: Registry::standard(env.clone()),
        env,
        definitions: loaded.definitions.clone(),
        pools: loaded.settings.worker.pools.clone(),
        identity: identity("activity-worker"),
        drain: loaded.settings.worker.drain,
        max_heartbeat_interval: loaded.settings.worker.max_heartbeat_interval,
    }
}

pub fn queue_worker(loaded: &Loaded, backend: &Backend) -> QueueWorker {
    QueueWorker {
        backend: backend.clone(),
        rules: loaded.rules.clone(),
        incoming_queue: loaded.settings.incoming_queue(),
        starter_queue: loaded.settings.starter_queue(),
        wait: queue_wait(loaded, loaded.settings.queue_worker.wait),
        visibility: loaded.settings.queue_worker.visibility,
    }
}

pub fn workflow_starter(loaded: &Loaded, backend: &Backend) -> WorkflowStarter {
    WorkflowStarter {
        backend: backend.clone(),
        definitions: loaded.definitions.clone(),
        queue: loaded.settings.starter_queue(),
        wait: queue_wait(loaded, loaded.settings.starter.wait),
        visibility: loaded.settings.starter.visibility,
    }
}

/// On the embedded backend a queue long poll costs nothing but a slower
/// stop, so it is bounded by `local.long_poll` like the workflow polls.
pub fn queue_wait(loaded: &Loaded, wait: std::time::Duration) -> std::time::Duration {
    match loaded.settings.backend {
        pressbot_core::settings::BackendKind::Local => wait.min(loaded.settings.local.long_poll),
        pressbot_core::settings::BackendKind::Aws => wait,
    }
}

/// Entry point of a role binary: load, build the runtime, run `daemon`
/// (this role's, e.g. `|l, b, s| decider(l, b).run(s)`) until a signal.
///
/// The daemon comes in as a closure rather than picked by `role` at run
/// time so that each binary links only its own role's code: the decider
/// carries no image codecs, and a smaller binary is a smaller resident set
/// (the kernel maps code in 64 KiB runs around every page touched, so RSS
/// follows the size of the code more than what runs).
///
/// One thread runs the daemon's tasks (a daemon waits on the network far
/// more than it computes; a single-threaded runtime saves cross-thread
/// wake-ups). Blocking work — every embedded-backend call and the
/// activities' CPU work — runs on a pool bounded by [`blocking_threads`]:
/// tokio's default (512 threads, created whenever all are busy, e.g. while
/// SQLite waits for another process's lock) let a decider reach a dozen
/// threads, each with its own glibc malloc arena and SQLite connection, and
/// its memory crept up over long runs.
pub fn main_for<F, Fut>(role: Role, args: crate::app::CommonArgs, daemon: F) -> crate::Result<()>
where
    F: FnOnce(&Loaded, &Backend, CancellationToken) -> Fut,
    Fut: std::future::Future<Output = crate::Result<()>>,
{
    if role == Role::ActivityWorker {
        // Before anything runs: it may replace this process.
        crate::memory::fixed_mmap_threshold();
    }
    crate::faults::gate()?;
    let loaded = Loaded::load(&args)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(blocking_threads(role, &loaded.settings))
        .build()
        .map_err(|e| crate::Error::Io {
            context: "building the tokio runtime".into(),
            source: e,
        })?;
    runtime.block_on(async move {
        crate::logging::init(&loaded.settings.log);
        let backend = crate::app::connect_verified(&loaded.settings, role).await?;
        let shutdown = crate::shutdown::install();
        crate::metrics::install();
        let http = crate::http::start_for(role, &loaded.settings, &backend).await?;
        let watchdog = crate::systemd::start(shutdown.clone());
        let result = daemon(&loaded, &backend, shutdown).await;
        watchdog.abort();
        if let Some(h) = http {
            h.abort();
        }
        result
    })
}

/// Threads for blocking work: one per slot that can block at once (a
/// decision or an activity in progress), plus a few for polls, heartbeats
/// and the embedded backend's housekeeping.
pub fn blocking_threads(role: Role, settings: &pressbot_core::settings::Settings) -> usize {
    const SPARE: usize = 4;
    SPARE
        + match role {
            Role::Decider => settings.decider.slots,
            Role::ActivityWorker => settings.worker.pools.iter().map(|p| p.slots).sum(),
            Role::QueueWorker | Role::WorkflowStarter => 0,
        }
}
