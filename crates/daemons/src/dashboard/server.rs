//! The dashboard's HTTP server: `/` (the page), `/fragment` (its `<main>`,
//! for the page's in-place refresh), `/api/state` (JSON),
//! `/__lbheartbeat__` and `/metrics` (Prometheus: events consumed and
//! dead-lettered, whether this dashboard holds the consumer lease, build
//! and process metrics). Loopback by default (`dashboard.listen`): it has no
//! authentication.

use super::consumer::ConsumerStatus;
use super::state::{gather, TimelineCache};
use super::Store;
use crate::app::Loaded;
use axum::extract::State as AxumState;
use axum::http::header;
use axum::response::{Html, IntoResponse, Json};
use axum::routing::get;
use axum::Router;
use pressbot_core::backend::Backend;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

#[derive(Debug)]
struct Shared {
    loaded: Loaded,
    backend: Backend,
    store: Store,
    cache: TimelineCache,
    /// Whether this dashboard's consumer consumes or waits (shown on the page).
    consumer: Arc<ConsumerStatus>,
}

type S = AxumState<Arc<Shared>>;

/// The router, for tests and [`serve`].
pub fn router(
    loaded: &Loaded,
    backend: &Backend,
    consumer: Arc<ConsumerStatus>,
) -> crate::Result<Router> {
    let shared = Arc::new(Shared {
        loaded: loaded.clone(),
        backend: backend.clone(),
        store: super::store_of(loaded, backend)?,
        cache: TimelineCache::default(),
        consumer,
    });
    async fn state(s: &Shared) -> super::state::State {
        let mut state = gather(&s.loaded, &s.backend, &s.store, &s.cache).await;
        state.consumer = s.consumer.get();
        state
    }
    // Always the state of now: no browser or proxy may answer from a cache.
    let no_store = || [(header::CACHE_CONTROL, "no-store")];
    Ok(Router::new()
        .route(
            "/",
            get(move |AxumState(s): S| async move {
                let st = state(&s).await;
                (
                    no_store(),
                    Html(super::page::page(
                        &st,
                        s.loaded.settings.dashboard.refresh.as_millis(),
                    )),
                )
            }),
        )
        .route(
            "/fragment",
            get(move |AxumState(s): S| async move {
                (no_store(), Html(super::page::main(&state(&s).await)))
            }),
        )
        .route(
            "/api/state",
            get(move |AxumState(s): S| async move {
                (no_store(), Json(state(&s).await)).into_response()
            }),
        )
        .route("/__lbheartbeat__", get(|| async { "ok" }))
        .route("/metrics", get(crate::http::metrics_handler))
        .with_state(shared))
}

/// Bind `dashboard.listen` and serve until `shutdown`; returns the bound
/// address (the port may be 0 in settings) and the server's task.
pub async fn serve(
    loaded: &Loaded,
    backend: &Backend,
    consumer: Arc<ConsumerStatus>,
    shutdown: CancellationToken,
) -> crate::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listen = loaded.settings.dashboard.listen;
    let router = router(loaded, backend, consumer)?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|source| crate::Error::Io {
            context: format!("binding dashboard.listen {listen}"),
            source,
        })?;
    let addr = listener.local_addr().unwrap_or(listen);
    let task = tokio::spawn(async move {
        let result = axum::serve(listener, router)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await;
        if let Err(e) = result {
            tracing::error!(error = %e, "dashboard server failed");
        }
    });
    Ok((addr, task))
}
