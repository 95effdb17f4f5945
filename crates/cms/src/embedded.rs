//! [`EmbeddedCms`]: the CMS contract served in-process, so `pressbot up`
//! runs the whole flow on one machine with nothing else installed.
//!
//! It behaves like the real CMS where that matters to the client: one ingest
//! at a time (a second concurrent ingest gets 429 with `Retry-After: 1`),
//! idempotent by key, published versions immutable except through a silent
//! correction. What it receives stays under its directory:
//! `<dir>/articles/<id>/v<version>.json` plus `<dir>/index.json`, which
//! survives restarts and can be read by another process with [`load_index`].

use crate::client::{VersionState, VersionStatus};
use crate::error::CmsError;
use crate::page;
use crate::{IDEMPOTENCY_KEY, SILENT_CORRECTION};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path as UrlPath, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use pressbot_core::time::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Largest article JSON accepted (articles with many figures are large).
const MAX_BODY: usize = 64 * 1024 * 1024;

/// One version as the embedded CMS keeps it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionRecord {
    /// `ingested` or `published` (an ingest in progress is not persisted).
    pub status: String,
    /// The key of the latest ingest.
    pub idempotency_key: Option<String>,
    /// Every key ingested, so a repeated request is recognised.
    pub keys: Vec<String>,
    /// Real ingests (not counting duplicates by key or silent corrections).
    pub ingests: u32,
    /// Transitions to published (repeated publishes do not count).
    pub publishes: u32,
    pub silent_corrections: u32,
    pub title: Option<String>,
    pub doi: Option<String>,
    /// article-json `authorLine`, `type` and `status` (`vor`/`poa`) and
    /// `published`: kept here so the index page needs no article file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author_line: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub article_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub article_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub article_published: Option<String>,
    pub ingested_at: Option<String>,
    pub published_at: Option<String>,
}

/// Everything the embedded CMS holds: article id → version → record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Index {
    pub articles: BTreeMap<String, BTreeMap<u32, VersionRecord>>,
}

impl Index {
    /// The record of one version.
    pub fn version(&self, article_id: &str, version: u32) -> Option<&VersionRecord> {
        self.articles.get(article_id)?.get(&version)
    }

    /// Real ingests of an article over all versions.
    pub fn ingests(&self, article_id: &str) -> u32 {
        self.articles
            .get(article_id)
            .map_or(0, |v| v.values().map(|r| r.ingests).sum())
    }

    /// Publications of an article over all versions.
    pub fn publishes(&self, article_id: &str) -> u32 {
        self.articles
            .get(article_id)
            .map_or(0, |v| v.values().map(|r| r.publishes).sum())
    }
}

/// Knobs for tests and demos.
#[derive(Debug, Clone, Default)]
pub struct EmbeddedOptions {
    /// How long an ingest takes (to make "one at a time" observable).
    pub ingest_delay: Duration,
    /// More routes served on the same address. `pressbot up` mounts the
    /// CDN bucket at `/cdn/` here: the article pages' images then load from
    /// the one port the default `activities.cdn_base_url` names, and this
    /// crate stays free of any storage backend.
    pub routes: Option<Router>,
}

#[derive(Debug)]
struct Shared {
    dir: PathBuf,
    index: tokio::sync::Mutex<Index>,
    /// Held for the whole of an ingest: the CMS ingests one article at a time.
    ingest_lock: tokio::sync::Mutex<()>,
    /// (article, version) → key of the ingest in progress.
    in_progress: std::sync::Mutex<HashMap<(String, u32), String>>,
    options: EmbeddedOptions,
}

/// A running embedded CMS.
#[derive(Debug)]
pub struct EmbeddedCms {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<Result<(), CmsError>>,
}

fn index_path(dir: &Path) -> PathBuf {
    dir.join("index.json")
}

/// Read what an embedded CMS holds under `dir` (also from another process).
/// An absent index is an empty CMS.
pub fn load_index(dir: &Path) -> Result<Index, CmsError> {
    let path = index_path(dir);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| CmsError::Index {
            path,
            message: e.to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Index::default()),
        Err(source) => Err(CmsError::Io {
            operation: "read",
            path,
            source,
        }),
    }
}

/// Serve the contract on `addr` until `shutdown` is cancelled, keeping
/// everything under `dir`: the bound address (port 0 picks one) and the
/// server task. For callers that only need those two; [`EmbeddedCms::serve`]
/// also gives read access to what it holds.
pub async fn serve(
    dir: impl AsRef<Path>,
    addr: SocketAddr,
    shutdown: CancellationToken,
) -> Result<(SocketAddr, JoinHandle<Result<(), CmsError>>), CmsError> {
    let cms = EmbeddedCms::serve(dir.as_ref(), addr, shutdown).await?;
    Ok((cms.addr, cms.task))
}

impl EmbeddedCms {
    /// Serve the contract on `addr` (port 0 picks a free port; see
    /// [`EmbeddedCms::addr`]) until `shutdown` is cancelled, keeping
    /// everything under `dir`.
    pub async fn serve(
        dir: impl Into<PathBuf>,
        addr: SocketAddr,
        shutdown: CancellationToken,
    ) -> Result<Self, CmsError> {
        Self::serve_with(dir, addr, shutdown, EmbeddedOptions::default()).await
    }

    /// [`EmbeddedCms::serve`] with options.
    pub async fn serve_with(
        dir: impl Into<PathBuf>,
        addr: SocketAddr,
        shutdown: CancellationToken,
        options: EmbeddedOptions,
    ) -> Result<Self, CmsError> {
        let dir = dir.into();
        tokio::fs::create_dir_all(dir.join("articles"))
            .await
            .map_err(|source| CmsError::Io {
                operation: "create directory",
                path: dir.join("articles"),
                source,
            })?;
        let index = load_index(&dir)?;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| CmsError::Bind { addr, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| CmsError::Bind { addr, source })?;
        let shared = Arc::new(Shared {
            dir,
            index: tokio::sync::Mutex::new(index),
            ingest_lock: tokio::sync::Mutex::new(()),
            in_progress: std::sync::Mutex::new(HashMap::new()),
            options,
        });
        let mut app = router(shared.clone());
        if let Some(extra) = shared.options.routes.clone() {
            app = app.merge(extra);
        }
        tracing::info!(%addr, dir = %shared.dir.display(), "embedded CMS listening");
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move { shutdown.cancelled().await })
                .await
                .map_err(|source| CmsError::Bind { addr, source })
        });
        Ok(EmbeddedCms { addr, shared, task })
    }

    /// The address actually bound.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<addr>`, for `CmsClient::from_settings(.., Some(..))`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Where it keeps what it receives.
    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }

    /// A copy of everything it holds.
    pub async fn index(&self) -> Index {
        self.shared.index.lock().await.clone()
    }

    /// Wait for the server to stop (after the shutdown token is cancelled).
    pub async fn join(self) -> Result<(), CmsError> {
        match self.task.await {
            Ok(r) => r,
            Err(e) => Err(CmsError::Bind {
                addr: self.addr,
                source: std::io::Error::other(e),
            }),
        }
    }
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/__lbheartbeat__", get(|| async { "ok" }))
        .route(
            "/articles/{id}/versions/{version}",
            get(status).post(ingest),
        )
        .route("/articles/{id}/versions/{version}/publish", post(publish))
        .route("/articles/{id}/versions/{version}/json", get(article_json))
        .route("/articles/{id}/{version}", get(article_page))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(shared)
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

fn busy(message: &str) -> Response {
    let mut r = error(StatusCode::TOO_MANY_REQUESTS, message);
    r.headers_mut().insert(
        axum::http::header::RETRY_AFTER,
        HeaderValue::from_static("1"),
    );
    r
}

/// Check the path: ids become directory names, so only a safe alphabet.
fn parse_target(id: &str, version: &str) -> Result<(String, u32), (StatusCode, String)> {
    let id_ok = !id.is_empty()
        && id.len() <= 100
        && !id.starts_with('.')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !id_ok {
        return Err((
            StatusCode::BAD_REQUEST,
            format!("article id {id:?} must be 1-100 of [A-Za-z0-9._-], not starting with '.'"),
        ));
    }
    let v: u32 = version.parse().ok().filter(|v| *v > 0).ok_or_else(|| {
        (
            StatusCode::BAD_REQUEST,
            format!("version {version:?} is not a positive whole number"),
        )
    })?;
    Ok((id.to_owned(), v))
}

fn state_of(record: &VersionRecord) -> VersionState {
    if record.status == "published" {
        VersionState::Published
    } else {
        VersionState::Ingested
    }
}

async fn status(
    State(s): State<Arc<Shared>>,
    UrlPath((id, version)): UrlPath<(String, String)>,
) -> Response {
    let (id, v) = match parse_target(&id, &version) {
        Ok(t) => t,
        Err((code, message)) => return error(code, message),
    };
    let in_progress = s
        .in_progress
        .lock()
        .ok()
        .and_then(|m| m.get(&(id.clone(), v)).cloned());
    let index = s.index.lock().await;
    let record = index.version(&id, v);
    let answer = match (in_progress, record) {
        (Some(key), r) => VersionStatus {
            status: VersionState::Ingesting,
            idempotency_key: Some(key),
            silent_corrections: r.map_or(0, |r| r.silent_corrections),
        },
        (None, Some(r)) => VersionStatus {
            status: state_of(r),
            idempotency_key: r.idempotency_key.clone(),
            silent_corrections: r.silent_corrections,
        },
        (None, None) => {
            return error(
                StatusCode::NOT_FOUND,
                format!("article {id} version {v} has not been ingested"),
            )
        }
    };
    Json(answer).into_response()
}

#[derive(Debug, Deserialize)]
struct IngestQuery {
    silent: Option<String>,
}

fn truthy(v: &str) -> bool {
    matches!(v.trim().to_ascii_lowercase().as_str(), "true" | "1" | "yes")
}

async fn ingest(
    State(s): State<Arc<Shared>>,
    UrlPath((id, version)): UrlPath<(String, String)>,
    Query(q): Query<IngestQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (id, v) = match parse_target(&id, &version) {
        Ok(t) => t,
        Err((code, message)) => return error(code, message),
    };
    let Some(key) = headers
        .get(IDEMPOTENCY_KEY)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .filter(|k| !k.is_empty())
    else {
        return error(
            StatusCode::BAD_REQUEST,
            format!("the {IDEMPOTENCY_KEY} header is required"),
        );
    };
    let silent = headers
        .get(SILENT_CORRECTION)
        .and_then(|h| h.to_str().ok())
        .is_some_and(truthy)
        || q.silent.as_deref().is_some_and(truthy);
    let article: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(a) => a,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("the body is not JSON: {e}"),
            )
        }
    };
    if !article.is_object() {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "the article JSON must be an object",
        );
    }
    // Idempotent by key: a repeated request answers what the first one did.
    {
        let in_progress = s
            .in_progress
            .lock()
            .ok()
            .and_then(|m| m.get(&(id.clone(), v)).cloned());
        if in_progress.as_deref() == Some(key.as_str()) {
            return (
                StatusCode::ACCEPTED,
                Json(json!({"status": "ingesting", "idempotency_key": key})),
            )
                .into_response();
        }
        let index = s.index.lock().await;
        if let Some(r) = index.version(&id, v) {
            if r.keys.contains(&key) {
                return Json(
                    json!({"status": r.status, "idempotency_key": key, "duplicate": true}),
                )
                .into_response();
            }
        }
    }
    let Ok(_one_at_a_time) = s.ingest_lock.try_lock() else {
        return busy("the CMS is ingesting another article; one at a time");
    };
    {
        let index = s.index.lock().await;
        match (index.version(&id, v), silent) {
            (Some(r), false) if r.status == "published" => {
                return error(
                    StatusCode::CONFLICT,
                    format!("article {id} version {v} is already published; send a new version or a silent correction"),
                )
            }
            (None, true) => {
                return error(
                    StatusCode::NOT_FOUND,
                    format!("article {id} version {v} does not exist: nothing to correct silently"),
                )
            }
            _ => {}
        }
    }
    if let Ok(mut m) = s.in_progress.lock() {
        m.insert((id.clone(), v), key.clone());
    }
    let result = store(&s, &id, v, &key, &article, &body, silent).await;
    if let Ok(mut m) = s.in_progress.lock() {
        m.remove(&(id.clone(), v));
    }
    match result {
        Ok(state) => {
            tracing::info!(article_id = %id, version = v, idempotency_key = %key, silent, "embedded CMS ingested");
            (
                StatusCode::CREATED,
                Json(json!({"status": state, "idempotency_key": key})),
            )
                .into_response()
        }
        Err(e) => {
            tracing::error!(article_id = %id, version = v, error = %e, "embedded CMS could not store an article");
            error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
        }
    }
}

async fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), CmsError> {
    let io = |operation: &'static str, path: &Path| {
        let path = path.to_owned();
        move |source| CmsError::Io {
            operation,
            path,
            source,
        }
    };
    if let Some(parent) = path.parent() {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(io("create directory", parent))?;
    }
    let tmp = path.with_extension("tmp");
    tokio::fs::write(&tmp, bytes)
        .await
        .map_err(io("write", &tmp))?;
    tokio::fs::rename(&tmp, path)
        .await
        .map_err(io("rename into place", path))
}

async fn store(
    s: &Shared,
    id: &str,
    v: u32,
    key: &str,
    article: &serde_json::Value,
    body: &[u8],
    silent: bool,
) -> Result<String, CmsError> {
    if !s.options.ingest_delay.is_zero() {
        tokio::time::sleep(s.options.ingest_delay).await;
    }
    let path = s.dir.join("articles").join(id).join(format!("v{v}.json"));
    write_atomically(&path, body).await?;
    let mut index = s.index.lock().await;
    let record = index
        .articles
        .entry(id.to_owned())
        .or_default()
        .entry(v)
        .or_default();
    if silent {
        record.silent_corrections += 1;
    } else {
        record.ingests += 1;
        record.status = "ingested".into();
        record.ingested_at = Some(Timestamp::now().to_string());
    }
    record.idempotency_key = Some(key.to_owned());
    record.keys.push(key.to_owned());
    let text = |k: &str| article.get(k).and_then(|t| t.as_str()).map(str::to_owned);
    record.title = text("title").or_else(|| record.title.take());
    record.doi = text("doi").or_else(|| record.doi.take());
    record.author_line = text("authorLine").or_else(|| record.author_line.take());
    record.article_type = text("type").or_else(|| record.article_type.take());
    record.article_status = text("status").or_else(|| record.article_status.take());
    record.article_published = text("published").or_else(|| record.article_published.take());
    let state = record.status.clone();
    persist(s, &index).await?;
    Ok(state)
}

async fn persist(s: &Shared, index: &Index) -> Result<(), CmsError> {
    let bytes = serde_json::to_vec_pretty(index).map_err(|e| CmsError::Index {
        path: index_path(&s.dir),
        message: e.to_string(),
    })?;
    write_atomically(&index_path(&s.dir), &bytes).await
}

async fn publish(
    State(s): State<Arc<Shared>>,
    UrlPath((id, version)): UrlPath<(String, String)>,
) -> Response {
    let (id, v) = match parse_target(&id, &version) {
        Ok(t) => t,
        Err((code, message)) => return error(code, message),
    };
    let ingesting = s
        .in_progress
        .lock()
        .ok()
        .is_some_and(|m| m.contains_key(&(id.clone(), v)));
    if ingesting {
        return busy("this version is being ingested");
    }
    let mut index = s.index.lock().await;
    let Some(record) = index.articles.get_mut(&id).and_then(|a| a.get_mut(&v)) else {
        return error(
            StatusCode::NOT_FOUND,
            format!("article {id} version {v} has not been ingested"),
        );
    };
    if record.status == "published" {
        // As the real CMS: 409, which the client reads as "done" after
        // checking the status.
        return (
            StatusCode::CONFLICT,
            Json(json!({"status": "published", "already_published": true})),
        )
            .into_response();
    }
    record.status = "published".into();
    record.publishes += 1;
    record.published_at = Some(Timestamp::now().to_string());
    if let Err(e) = persist(&s, &index).await {
        tracing::error!(article_id = %id, version = v, error = %e, "embedded CMS could not record a publication");
        return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string());
    }
    tracing::info!(article_id = %id, version = v, "embedded CMS published");
    Json(json!({"status": "published", "already_published": false})).into_response()
}

async fn article_json(
    State(s): State<Arc<Shared>>,
    UrlPath((id, version)): UrlPath<(String, String)>,
) -> Response {
    let (id, v) = match parse_target(&id, &version) {
        Ok(t) => t,
        Err((code, message)) => return error(code, message),
    };
    let path = s.dir.join("articles").join(&id).join(format!("v{v}.json"));
    match tokio::fs::read(&path).await {
        Ok(bytes) => (
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            bytes,
        )
            .into_response(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => error(
            StatusCode::NOT_FOUND,
            format!("article {id} version {v} has not been ingested"),
        ),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// `GET /articles/{id}/v{version}`: the version as a journal page (any
/// ingested version: an unpublished one says it is a preview).
async fn article_page(
    State(s): State<Arc<Shared>>,
    UrlPath((id, version)): UrlPath<(String, String)>,
) -> Response {
    let Some(number) = version.strip_prefix('v') else {
        return error(
            StatusCode::NOT_FOUND,
            format!("no page {version:?}: article pages are /articles/{{id}}/v{{version}}"),
        );
    };
    let (id, v) = match parse_target(&id, number) {
        Ok(t) => t,
        Err((code, message)) => return error(code, message),
    };
    let (cms_status, published_at) = {
        let index = s.index.lock().await;
        match index.version(&id, v) {
            Some(r) => (r.status.clone(), r.published_at.clone()),
            None => {
                return error(
                    StatusCode::NOT_FOUND,
                    format!("article {id} version {v} has not been ingested"),
                )
            }
        }
    };
    let path = s.dir.join("articles").join(&id).join(format!("v{v}.json"));
    let article = match tokio::fs::read(&path).await {
        Ok(bytes) => serde_json::from_slice::<serde_json::Value>(&bytes),
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    // Ingest only stores JSON objects; a file edited by hand since then
    // still gets a page (the renderer skips what it cannot read).
    let article = article.unwrap_or(serde_json::Value::Null);
    let ctx = page::PageContext {
        article_id: id,
        version: v,
        cms_status,
        published_at,
    };
    Html(page::render_article(&article, &ctx)).into_response()
}

async fn home(State(s): State<Arc<Shared>>) -> Html<String> {
    let index = s.index.lock().await;
    let mut rows = Vec::new();
    for (id, versions) in &index.articles {
        // Published versions only: the index is the public face; an
        // ingested version's page is a preview reached by its URL.
        for (v, r) in versions
            .iter()
            .rev()
            .filter(|(_, r)| r.status == "published")
        {
            rows.push(page::IndexRow {
                article_id: id.clone(),
                version: *v,
                title: r.title.clone(),
                author_line: r.author_line.clone(),
                article_type: r.article_type.clone(),
                article_status: r.article_status.clone(),
                doi: r.doi.clone(),
                cms_status: r.status.clone(),
                date: r
                    .article_published
                    .clone()
                    .or_else(|| r.published_at.clone()),
            });
        }
    }
    Html(page::render_index(&rows))
}
