//! The dashboard's HTTP server: `/` (the page), `/fragment` (its `<main>`,
//! for the page's in-place refresh), `/api/state` (JSON), and
//! `/__lbheartbeat__`. Loopback by default (`dashboard.listen`): it has no
//! authentication.

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
}

type S = AxumState<Arc<Shared>>;

/// The router, for tests and [`serve`].
pub fn router(loaded: &Loaded, backend: &Backend) -> crate::Result<Router> {
    let shared = Arc::new(Shared {
        loaded: loaded.clone(),
        backend: backend.clone(),
        store: super::store_of(loaded, backend)?,
        cache: TimelineCache::default(),
    });
    async fn state(s: &Shared) -> super::state::State {
        gather(&s.loaded, &s.backend, &s.store, &s.cache).await
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
        .with_state(shared))
}

/// Bind `dashboard.listen` and serve until `shutdown`; returns the bound
/// address (the port may be 0 in settings) and the server's task.
pub async fn serve(
    loaded: &Loaded,
    backend: &Backend,
    shutdown: CancellationToken,
) -> crate::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listen = loaded.settings.dashboard.listen;
    let router = router(loaded, backend)?;
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
