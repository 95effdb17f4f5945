//! Building each daemon from loaded settings: shared by the role binaries
//! and by `pressbot up`, which runs them all in one process.

use crate::app::{identity, Loaded};
use crate::decider::Decider;
use crate::queue_worker::QueueWorker;
use crate::starter::WorkflowStarter;
use crate::worker::ActivityWorker;
use pressbot_activities::{Env, Registry};
use pressbot_core::backend::Backend;
use std::sync::Arc;

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
fn queue_wait(loaded: &Loaded, wait: std::time::Duration) -> std::time::Duration {
    match loaded.settings.backend {
        pressbot_core::settings::BackendKind::Local => wait.min(loaded.settings.local.long_poll),
        pressbot_core::settings::BackendKind::Aws => wait,
    }
}

/// The four roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    Decider,
    ActivityWorker,
    QueueWorker,
    WorkflowStarter,
}

/// Entry point of a role binary: load, log, connect, run until a signal.
pub async fn main_for(role: Role, args: crate::app::CommonArgs) -> crate::Result<()> {
    let loaded = Loaded::load(&args)?;
    crate::logging::init(&loaded.settings.log);
    let backend = crate::app::connect_verified(&loaded.settings).await?;
    let shutdown = crate::shutdown::install();
    crate::metrics::install();
    let http = crate::http::start_for(role, &loaded.settings, &backend).await?;
    let watchdog = crate::systemd::start(shutdown.clone());
    let result = match role {
        Role::Decider => decider(&loaded, &backend).run(shutdown).await,
        Role::ActivityWorker => activity_worker(&loaded, &backend).run(shutdown).await,
        Role::QueueWorker => queue_worker(&loaded, &backend).run(shutdown).await,
        Role::WorkflowStarter => workflow_starter(&loaded, &backend).run(shutdown).await,
    };
    watchdog.abort();
    if let Some(h) = http {
        h.abort();
    }
    result
}
