//! HTTP server for the embedded backend's presigned URLs, so a link handed
//! to a colleague (or to a CMS fetching a PDF) works with any HTTP client:
//! `GET /<bucket>/<key>?expires=…&signature=…`.
//!
//! Answers: 200 with the bytes, content type, eTag and cache control; 403
//! with the reason when the signature is bad or the URL expired; 400 for a
//! URL that is not a presigned one; 404 when the object is gone; 405 for
//! anything but GET/HEAD. Nothing else of the backend is reachable: every
//! request must carry a valid signature.

use crate::{LocalBackend, LocalError};
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use pressbot_core::time::Timestamp;
use std::future::Future;
use std::net::SocketAddr;

/// The router: every path is a presigned object URL.
pub fn router(backend: LocalBackend) -> Router {
    Router::new().fallback(serve_object).with_state(backend)
}

/// Bind `listen` and serve [`router`] until `shutdown` completes. Returns
/// the bound address (useful with port 0) and the server task.
pub async fn serve(
    backend: LocalBackend,
    listen: SocketAddr,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(SocketAddr, tokio::task::JoinHandle<std::io::Result<()>>), LocalError> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| LocalError::io("bind object server", listen.to_string(), e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| LocalError::io("bind object server", listen.to_string(), e))?;
    let app = router(backend);
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
    });
    Ok((addr, task))
}

fn text(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body + "\n",
    )
        .into_response()
}

async fn serve_object(State(backend): State<LocalBackend>, method: Method, uri: Uri) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return text(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("{method} not allowed: presigned URLs are for GET"),
        );
    }
    let target = match backend.verify_request(uri.path(), uri.query(), Timestamp::now()) {
        Ok(t) => t,
        Err(e) => return refusal(e, uri.path()),
    };
    match backend.get_object(&target.bucket, &target.key).await {
        Ok(object) => {
            let mut response = Response::new(if method == Method::HEAD {
                Body::empty()
            } else {
                Body::from(object.body.clone())
            });
            let headers = response.headers_mut();
            let content_type = object
                .meta
                .content_type
                .as_deref()
                .unwrap_or("application/octet-stream");
            let mut set = |name, value: &str| {
                if let Ok(v) = HeaderValue::from_str(value) {
                    headers.insert(name, v);
                }
            };
            set(header::CONTENT_TYPE, content_type);
            set(header::ETAG, &format!("\"{}\"", object.meta.etag));
            set(header::CONTENT_LENGTH, &object.meta.size.to_string());
            if let Some(cc) = &object.meta.cache_control {
                set(header::CACHE_CONTROL, cc);
            }
            tracing::debug!(bucket = %target.bucket, key = %target.key, size = object.meta.size, "presigned object served");
            response
        }
        Err(e) => refusal(e, uri.path()),
    }
}

/// The status and plain-text reason for an error. The signature is never
/// echoed (only the path is logged); the key is never in an error at all.
fn refusal(e: LocalError, path: &str) -> Response {
    let status = match &e {
        LocalError::PresignRefused { check, .. } if check.is_forbidden() => StatusCode::FORBIDDEN,
        LocalError::PresignRefused { .. } => StatusCode::BAD_REQUEST,
        LocalError::NotFound { .. } => StatusCode::NOT_FOUND,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    if status.is_server_error() {
        tracing::error!(path, error = %e, "presigned object could not be served");
    } else {
        tracing::info!(path, status = status.as_u16(), reason = %e, "presigned object refused");
    }
    text(status, e.to_string())
}
