//! The optional operations port of a daemon (`http.listen`):
//!
//! - `/__lbheartbeat__`: 200 whenever the process answers (for a load
//!   balancer: never fails because a dependency is down).
//! - `/__heartbeat__`: can this role reach what it needs? 200 with a JSON
//!   report, or 503 naming each failing dependency.
//! - `/__version__`: version, git commit and build time.
//! - `/metrics`: Prometheus text (see [`crate::metrics`]).

use crate::role::Role;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use pressbot_core::backend::Backend;
use pressbot_core::settings::Settings;
use serde_json::json;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How long one dependency check may take before it counts as failed.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// What a role depends on, checked by `/__heartbeat__`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dependency {
    /// The workflow service (SWF or the embedded one).
    Workflows,
    Queue(String),
    Bucket(String),
}

impl Dependency {
    pub fn name(&self) -> String {
        match self {
            Dependency::Workflows => "workflows".into(),
            Dependency::Queue(q) => format!("queue:{q}"),
            Dependency::Bucket(b) => format!("bucket:{b}"),
        }
    }
}

/// The dependencies of a role: exactly what its IAM policy grants.
pub fn dependencies(role: Role, settings: &Settings) -> Vec<Dependency> {
    match role {
        Role::Decider => vec![Dependency::Workflows],
        Role::ActivityWorker => {
            let mut d = vec![
                Dependency::Workflows,
                Dependency::Queue(settings.event_queue()),
            ];
            d.extend(settings.all_buckets().into_iter().map(Dependency::Bucket));
            d
        }
        Role::QueueWorker => vec![
            Dependency::Queue(settings.incoming_queue()),
            Dependency::Queue(settings.starter_queue()),
        ],
        Role::WorkflowStarter => vec![
            Dependency::Workflows,
            Dependency::Queue(settings.starter_queue()),
        ],
    }
}

/// Check one dependency: `Ok` or what went wrong.
pub async fn check(backend: &Backend, dependency: &Dependency) -> Result<(), String> {
    let call = async {
        match dependency {
            Dependency::Workflows => backend.workflows.ping().await.map(|_| ()),
            Dependency::Queue(q) => backend.queues.depth(q).await.map(|_| ()),
            // A head of a key that never exists proves the bucket answers
            // and that we may read it, without listing a large bucket.
            Dependency::Bucket(b) => backend.objects.head(b, "__heartbeat__").await.map(|_| ()),
        }
    };
    match tokio::time::timeout(CHECK_TIMEOUT, call).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {CHECK_TIMEOUT:?}")),
    }
}

/// Check every dependency of a role at once; the JSON report and whether all passed.
pub async fn heartbeat(backend: &Backend, deps: &[Dependency]) -> (bool, serde_json::Value) {
    let results = futures::future::join_all(deps.iter().map(|d| check(backend, d))).await;
    let mut checks = serde_json::Map::new();
    let mut failing = Vec::new();
    for (d, r) in deps.iter().zip(results) {
        match r {
            Ok(()) => {
                checks.insert(d.name(), json!("ok"));
            }
            Err(e) => {
                checks.insert(d.name(), json!(format!("error: {e}")));
                failing.push(d.name());
            }
        }
    }
    let ok = failing.is_empty();
    (
        ok,
        json!({ "status": if ok { "ok" } else { "error" }, "checks": checks, "failing": failing }),
    )
}

/// The build this process runs.
pub fn version() -> serde_json::Value {
    json!({
        "name": "pressbot",
        "version": env!("CARGO_PKG_VERSION"),
        "commit": env!("PRESSBOT_GIT_COMMIT"),
        "build_time": env!("PRESSBOT_BUILD_TIME"),
    })
}

#[derive(Debug)]
struct AppState {
    role: Role,
    backend: Backend,
    deps: Vec<Dependency>,
}

/// The operations router of a role.
pub fn router(role: Role, settings: &Settings, backend: Backend) -> Router {
    let state = Arc::new(AppState {
        role,
        deps: dependencies(role, settings),
        backend,
    });
    Router::new()
        .route(
            "/__lbheartbeat__",
            get(|| async { Json(json!({ "status": "ok" })) }),
        )
        .route("/__heartbeat__", get(heartbeat_handler))
        .route("/__version__", get(|| async { Json(version()) }))
        .route("/metrics", get(metrics_handler))
        .with_state(state)
}

async fn heartbeat_handler(State(state): State<Arc<AppState>>) -> Response {
    let (mut ok, mut report) = heartbeat(&state.backend, &state.deps).await;
    // A process whose loops died answers HTTP but does no work.
    let loops = crate::metrics::liveness().healthy(crate::systemd::STALL);
    if let Err(why) = &loops {
        ok = false;
        report["status"] = json!("error");
        if let Some(f) = report["failing"].as_array_mut() {
            f.push(json!("poll_loops"));
        }
        report["checks"]["poll_loops"] = json!(format!("error: {why}"));
    } else {
        report["checks"]["poll_loops"] = json!("ok");
    }
    report["role"] = json!(format!("{:?}", state.role));
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    if !ok {
        tracing::warn!(report = %report, "heartbeat failing");
    }
    (status, Json(report)).into_response()
}

/// `/metrics` (also the dashboard's, see `dashboard::server`).
pub(crate) async fn metrics_handler() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        crate::metrics::render(),
    )
        .into_response()
}

/// Bind `listen` and serve the router until `shutdown`. Binding happens
/// before this returns, so a port in use fails start-up (and systemd's
/// restart) rather than a background task.
pub async fn serve(
    listen: SocketAddr,
    router: Router,
    shutdown: CancellationToken,
) -> crate::Result<tokio::task::JoinHandle<()>> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|source| crate::Error::Io {
            context: format!("binding http.listen {listen}"),
            source,
        })?;
    let addr = listener.local_addr().unwrap_or(listen);
    tracing::info!(listen = %addr, "operations endpoint listening");
    Ok(tokio::spawn(async move {
        let result = axum::serve(listener, router)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await;
        if let Err(e) = result {
            tracing::error!(error = %e, "operations endpoint failed");
        }
    }))
}

/// Start the endpoint of a role if `http.listen` is set. It keeps answering
/// while the daemon drains after SIGTERM (`/__heartbeat__` then says the
/// poll loops stopped, `/metrics` shows the drain); the caller aborts the
/// returned task when the daemon has stopped.
pub async fn start_for(
    role: Role,
    settings: &Settings,
    backend: &Backend,
) -> crate::Result<Option<tokio::task::JoinHandle<()>>> {
    match settings.http.listen {
        None => Ok(None),
        Some(listen) => Ok(Some(
            serve(
                listen,
                router(role, settings, backend.clone()),
                CancellationToken::new(),
            )
            .await?,
        )),
    }
}
