//! The live dashboard: what pressbot is doing, for people watching.
//!
//! Two halves. The [`Consumer`] takes the dashboard messages the activities
//! send to the event-monitor queue and folds them into a small [`Store`] in
//! the backend's expanded bucket (one JSON record per article: publication
//! status and versions). The [`server`] serves a page (readable without
//! JavaScript; a tiny script refreshes it in place) and `/api/state`:
//! workflows open, failed and recently closed with their step timelines
//! (from history, as `pressbot history` shows them), each article's
//! publication status and versions (from the store), queue and dead-letter
//! depths, and links to the article pages of the embedded CMS.
//!
//! `pressbot up` runs both; `pressbot dashboard` runs them alone (the
//! `dashboard` role, its own systemd unit). However many run, one consumes
//! (the holder of a lease in the backend, [`consumer::CONSUMER_LEASE`]);
//! the others serve their page read-only and say so.

pub mod consumer;
pub mod page;
pub mod server;
pub mod state;
pub mod store;

pub use consumer::Consumer;
pub use store::Store;

use crate::app::Loaded;
use pressbot_core::backend::Backend;
use tokio_util::sync::CancellationToken;

/// The consumer of an installation: the event-monitor queue into the
/// expanded bucket.
pub fn consumer(loaded: &Loaded, backend: &Backend) -> crate::Result<Consumer> {
    let settings = &loaded.settings;
    Ok(Consumer {
        store: store_of(loaded, backend)?,
        queue: settings.event_queue(),
        wait: crate::run::queue_wait(loaded, settings.queue_worker.wait),
        visibility: settings.queue_worker.visibility,
        leases: backend.leases.clone(),
        holder: consumer::holder(),
        status: std::sync::Arc::default(),
    })
}

/// The store of an installation (the expanded bucket).
pub fn store_of(loaded: &Loaded, backend: &Backend) -> crate::Result<Store> {
    let bucket = loaded
        .settings
        .bucket("expanded")
        .ok_or_else(|| crate::Error::Dashboard {
            context: "settings".into(),
            message: "no expanded bucket to keep the dashboard's records in".into(),
        })?;
    Ok(Store {
        backend: backend.clone(),
        bucket,
    })
}

/// `pressbot dashboard`: the consumer and the page, until `shutdown`. A
/// port in use fails start-up (systemd restarts and says why).
pub async fn role(loaded: Loaded, shutdown: CancellationToken) -> crate::Result<()> {
    let backend = crate::app::connect(&loaded.settings).await?;
    crate::metrics::install();
    let consumer = consumer(&loaded, &backend)?;
    // Rendered from the start, not only once the lease is first asked for.
    crate::metrics::dashboard_lease_held(false);
    let (addr, served) =
        server::serve(&loaded, &backend, consumer.status.clone(), shutdown.clone()).await?;
    tracing::info!(url = %format!("http://{addr}/"), "dashboard serving");
    println!("dashboard: http://{addr}/");
    let watchdog = crate::systemd::start(shutdown.clone());
    let result = consumer.run(shutdown).await;
    watchdog.abort();
    let _ = served.await;
    result
}
