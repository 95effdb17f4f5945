//! `pressbot up`: every role in one process, on the embedded backend by
//! default, with an embedded CMS when settings ask for one. For a laptop, a
//! demo, or a small installation.
//!
//! On the embedded backend it also serves presigned object URLs over HTTP
//! (`local.object_listen`), and unless `local.object_url` names another base
//! the URLs its roles hand out point at that server, so they work with curl.
//!
//! The embedded CMS also serves the CDN bucket at `/cdn/` ([`CDN_PATH`]),
//! so the pages it renders show their figures with nothing else running.

use crate::app::Loaded;
use crate::ops::{summarise, table, SummaryRow};
use pressbot_core::backend::{Backend, ExecutionFilter};
use pressbot_core::settings::{BackendKind, Settings};
use pressbot_core::time::Timestamp;
use pressbot_daemons::format::human;
use std::path::PathBuf;
use std::time::Duration;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// Options of `pressbot up`.
#[derive(Debug, Clone, Default)]
pub struct UpOptions {
    /// Packages to put into the incoming bucket at start.
    pub ingest: Vec<PathBuf>,
    /// Exit once every workflow seen has closed, printing a summary.
    pub until_idle: bool,
    /// Give up waiting for idle after this long.
    pub timeout: Option<Duration>,
    /// Called once the dashboard is served (with its URL) or not (`None`):
    /// the binary prints it, so the operator knows where to look.
    pub on_dashboard: Option<fn(Option<&str>)>,
}

/// What `up` ended with.
#[derive(Debug)]
pub struct UpReport {
    pub rows: Vec<SummaryRow>,
    pub cms_dir: Option<PathBuf>,
    /// Base of the presigned object URLs this run served (embedded backend).
    pub object_url: Option<String>,
    pub timed_out: bool,
}

impl UpReport {
    pub fn all_ok(&self) -> bool {
        !self.timed_out && self.rows.iter().all(|r| r.ok)
    }

    pub fn render(&self) -> String {
        let rows: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| {
                vec![
                    r.workflow_id.clone(),
                    r.article.clone(),
                    r.result.clone(),
                    human(r.duration),
                ]
            })
            .collect();
        let mut out = table(&["WORKFLOW ID", "ARTICLE", "RESULT", "DURATION"], &rows);
        if let Some(dir) = &self.cms_dir {
            out.push_str(&published_in_cms(dir));
        }
        out
    }
}

/// What the embedded CMS has published, one line per version with the path
/// of its JSON, so the user of `up --until-idle` sees where the article went.
fn published_in_cms(dir: &std::path::Path) -> String {
    let index = match pressbot_cms::embedded::load_index(dir) {
        Ok(i) => i,
        Err(e) => {
            return format!(
                "\nThe embedded CMS index under {} could not be read: {e}\n",
                dir.display()
            )
        }
    };
    let published: Vec<String> = index
        .articles
        .iter()
        .flat_map(|(id, versions)| versions.iter().map(move |(v, r)| (id, v, r)))
        .filter(|(_, _, r)| r.status == "published")
        .map(|(id, v, r)| {
            format!(
                "  {id} v{v}  {}  {}",
                r.title.as_deref().unwrap_or("(no title)"),
                dir.join("articles")
                    .join(id)
                    .join(format!("v{v}.json"))
                    .display()
            )
        })
        .collect();
    format!(
        "\n\nPublished in the embedded CMS: {} article version(s)\n{}",
        published.len(),
        published.join("\n")
    )
}

/// Run every role until a signal or, with `until_idle`, until idle.
pub async fn up(
    loaded: Loaded,
    options: UpOptions,
    shutdown: CancellationToken,
) -> crate::Result<UpReport> {
    let mut settings = (*loaded.settings).clone();
    let roles = shutdown.child_token();
    let mut tasks: JoinSet<crate::Result<()>> = JoinSet::new();
    let object_url = if settings.backend == BackendKind::Local {
        // The object server is an extra: a taken port (a second `up`, a
        // test run) must not stop the pipeline, so it is logged and the
        // roles sign URLs as without it.
        match serve_objects(&settings, roles.clone(), &mut tasks).await {
            // Roles sign URLs for the server unless settings name a public
            // base (a proxy in front of it, another host name).
            Ok(served) => Some(settings.local.object_url.get_or_insert(served).clone()),
            Err(e) => {
                tracing::error!(error = %e, listen = %settings.local.object_listen,
                    "object server not started: presigned URLs will not be served over HTTP (set local.object_listen)");
                settings.local.object_url.clone()
            }
        }
    } else {
        None
    };
    let backend = crate::app::connect(&settings).await?;
    crate::resources::ensure(
        &settings,
        &loaded.definitions,
        &backend,
        false,
        &mut |line| tracing::debug!(resource = %line, "ensured"),
    )
    .await?;
    let began = Timestamp::now();

    let cms_dir = if settings.cms.embedded && settings.cms.base_url.is_none() {
        let dir = settings.local.data_dir.join("cms");
        let options = pressbot_cms::embedded::EmbeddedOptions {
            routes: settings
                .bucket("cdn")
                .map(|bucket| cdn_routes(backend.clone(), bucket)),
            ..Default::default()
        };
        let cms = pressbot_cms::EmbeddedCms::serve_with(
            &dir,
            settings.cms.embedded_listen,
            roles.clone(),
            options,
        )
        .await
        .map_err(|e| {
            crate::Error::Other(format!(
                "embedded CMS on {}: {e}",
                settings.cms.embedded_listen
            ))
        })?;
        tracing::info!(address = %cms.addr(), dir = %dir.display(),
            cdn = %format!("{}{CDN_PATH}/", cms.base_url()), "embedded CMS serving");
        tasks.spawn(async move {
            let _ = cms.join().await;
            Ok(())
        });
        Some(dir)
    } else {
        None
    };

    tasks.spawn(crate::run::decider(&loaded, &backend).run(roles.clone()));
    tasks.spawn(crate::run::activity_worker(&loaded, &backend).run(roles.clone()));
    tasks.spawn(crate::run::queue_worker(&loaded, &backend).run(roles.clone()));
    tasks.spawn(crate::run::workflow_starter(&loaded, &backend).run(roles.clone()));

    // The dashboard: its consumer drains the event-monitor queue (which
    // otherwise grows for as long as `up` runs) and its page shows the run.
    // Like the object server it is an extra: a taken port is logged and the
    // pipeline runs on (the consumer still drains the queue).
    let dashboard_loaded = Loaded {
        settings: std::sync::Arc::new(settings.clone()),
        ..loaded.clone()
    };
    let consumer = crate::dashboard::consumer(&dashboard_loaded, &backend)?;
    let consumer_status = consumer.status.clone();
    tasks.spawn(consumer.run(roles.clone()));
    let dashboard_url = match crate::dashboard::server::serve(
        &dashboard_loaded,
        &backend,
        consumer_status,
        roles.clone(),
    )
    .await
    {
        Ok((addr, served)) => {
            let url = format!("http://{addr}/");
            tracing::info!(%url, "dashboard serving");
            tasks.spawn(async move {
                let _ = served.await;
                Ok(())
            });
            Some(url)
        }
        Err(e) => {
            tracing::error!(error = %e, listen = %settings.dashboard.listen,
                    "dashboard page not served (set dashboard.listen); its consumer still runs");
            None
        }
    };
    if let Some(on_start) = &options.on_dashboard {
        on_start(dashboard_url.as_deref());
    }

    let incoming = settings
        .bucket("incoming")
        .ok_or_else(|| crate::Error::Other("no incoming bucket in settings".into()))?;
    for path in &options.ingest {
        let key = crate::ops::put_file(&backend, &incoming, path, None).await?;
        tracing::info!(bucket = %incoming, key = %key, "package put");
    }

    let mut timed_out = false;
    if options.until_idle {
        let deadline = options.timeout.map(|t| tokio::time::Instant::now() + t);
        let mut quiet = 0;
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(Duration::from_millis(200)) => {}
            }
            if deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
                timed_out = true;
                tracing::error!("timed out waiting for the workflows to close");
                break;
            }
            quiet = if is_idle(&backend, &settings).await {
                quiet + 1
            } else {
                0
            };
            if quiet >= 3 {
                break;
            }
        }
        roles.cancel();
    } else {
        shutdown.cancelled().await;
    }
    roles.cancel();
    while let Some(r) = tasks.join_next().await {
        match r {
            Ok(Err(e)) => tracing::error!(error = %e, "a role stopped with an error"),
            Err(e) => tracing::error!(error = %e, "a role panicked"),
            Ok(Ok(())) => {}
        }
    }
    let rows = executions_since(&backend, began).await?;
    Ok(UpReport {
        rows,
        cms_dir,
        object_url,
        timed_out,
    })
}

/// Where the embedded CMS serves the CDN bucket: the default
/// `activities.cdn_base_url` (`http://127.0.0.1:8480/cdn`) points here, so
/// the figures, PDF and XML links in the articles `up` publishes work in a
/// browser with nothing else running.
pub const CDN_PATH: &str = "/cdn";

/// `GET /cdn/<key>`: the CDN bucket's object at `<key>`, with the content
/// type and cache control it was deposited with. Read through the backend,
/// so it serves what DepositAssets put whichever backend `up` runs on. A
/// key with `.`, `..` or empty segments, or one the bucket lacks, is a 404;
/// a failing store is a 502, logged, never a panic.
fn cdn_routes(backend: Backend, bucket: String) -> axum::Router {
    use axum::extract::{Path, State};
    use axum::http::{header, HeaderValue, StatusCode};
    use axum::response::{IntoResponse, Response};

    async fn object(
        State((backend, bucket)): State<(Backend, String)>,
        Path(key): Path<String>,
    ) -> Response {
        let not_found = || (StatusCode::NOT_FOUND, "not on the CDN\n").into_response();
        // Keys are paths on the embedded backend: refuse what could leave
        // the bucket before the store sees it.
        if key
            .split('/')
            .any(|segment| segment.is_empty() || segment == "." || segment == "..")
        {
            return not_found();
        }
        match backend.objects.get(&bucket, &key).await {
            Ok(o) => {
                let mut r = o.body.into_response();
                let headers = r.headers_mut();
                let content_type = o
                    .meta
                    .content_type
                    .as_deref()
                    .and_then(|c| HeaderValue::from_str(c).ok())
                    .unwrap_or(HeaderValue::from_static("application/octet-stream"));
                headers.insert(header::CONTENT_TYPE, content_type);
                if let Some(c) = o
                    .meta
                    .cache_control
                    .as_deref()
                    .and_then(|c| HeaderValue::from_str(c).ok())
                {
                    headers.insert(header::CACHE_CONTROL, c);
                }
                if let Ok(etag) =
                    HeaderValue::from_str(&format!("\"{}\"", o.meta.etag.trim_matches('"')))
                {
                    headers.insert(header::ETAG, etag);
                }
                r
            }
            Err(pressbot_core::Error::NotFound { .. }) => not_found(),
            Err(e) => {
                tracing::warn!(error = %e, %bucket, %key, "CDN object not served");
                (
                    StatusCode::BAD_GATEWAY,
                    "the CDN bucket could not be read\n",
                )
                    .into_response()
            }
        }
    }

    axum::Router::new()
        .route(&format!("{CDN_PATH}/{{*key}}"), axum::routing::get(object))
        .with_state((backend, bucket))
}

/// Serve presigned object URLs on `local.object_listen` until `stop`;
/// returns the base URL of the bound address.
async fn serve_objects(
    settings: &Settings,
    stop: tokio_util::sync::CancellationToken,
    tasks: &mut JoinSet<crate::Result<()>>,
) -> crate::Result<String> {
    let listen = settings.local.object_listen;
    let local = pressbot_local::LocalBackend::open(
        &settings.local.data_dir,
        pressbot_local::LocalOptions::from_settings(settings.domain(), &settings.local),
    )
    .map_err(|e| crate::Error::Core(e.into()))?;
    let (addr, handle) =
        pressbot_local::object_server::serve(local, listen, async move { stop.cancelled().await })
            .await
            .map_err(|e| {
                crate::Error::Other(format!("object server (local.object_listen): {e}"))
            })?;
    let url = format!("http://{addr}");
    tracing::info!(address = %addr, "object server serving presigned URLs");
    tasks.spawn(async move {
        match handle.await {
            Ok(Err(e)) => Err(crate::Error::Other(format!("object server on {addr}: {e}"))),
            _ => Ok(()),
        }
    });
    Ok(url)
}

/// Nothing queued, nothing in flight, no open execution.
async fn is_idle(backend: &Backend, settings: &pressbot_core::settings::Settings) -> bool {
    for q in [settings.incoming_queue(), settings.starter_queue()] {
        match backend.queues.depth(&q).await {
            Ok(d) if d.visible + d.in_flight + d.delayed == 0 => {}
            _ => return false,
        }
    }
    match backend
        .workflows
        .list_executions(&ExecutionFilter {
            open: true,
            ..Default::default()
        })
        .await
    {
        Ok(open) => open.is_empty(),
        Err(_) => false,
    }
}

async fn executions_since(backend: &Backend, since: Timestamp) -> crate::Result<Vec<SummaryRow>> {
    let mut infos = Vec::new();
    for open in [false, true] {
        infos.extend(
            backend
                .workflows
                .list_executions(&ExecutionFilter {
                    open,
                    started_after: Some(since),
                    ..Default::default()
                })
                .await?,
        );
    }
    infos.sort_by_key(|i| i.started);
    let mut rows = Vec::new();
    for i in &infos {
        rows.push(summarise(backend, i).await?);
    }
    Ok(rows)
}
