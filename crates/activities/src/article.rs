//! The article workflow's context keys and the helpers the article
//! activities share (reading the context, the object store, blocking work).
//!
//! # Workflow context keys
//!
//! The workflow starter puts in `bucket_name`, `file_name` (the package's
//! key), `file_etag`, `file_size`. The article activities add:
//!
//! | key               | type            | set by             | example |
//! |-------------------|-----------------|--------------------|---------|
//! | `article_id`      | string          | VersionLookup      | `"00353"` |
//! | `status`          | `"poa"`/`"vor"`/null | VersionLookup | `"vor"` (null when the name has none; ConvertJATS then infers it) |
//! | `version`         | integer ≥ 1     | VersionLookup      | `1` |
//! | `version_source`  | string          | VersionLookup      | `"file_name"`, `"published"` or `"default"` |
//! | `revision`        | integer/null    | VersionLookup      | `1` for `-r1` packages |
//! | `update_date`     | string/null     | VersionLookup      | `"2012-12-13T00:00:00Z"` (the name's timestamp) |
//! | `run`             | string          | VersionLookup      | the SWF run id (`ctx.execution.run_id`) |
//! | `expanded_folder` | string          | ExpandArticle      | `"00353.1/<run>"` (in the expanded bucket) |
//! | `xml_key`         | string          | ExpandArticle, ApplyVersionNumber | `"00353.1/<run>/elife-00353-v1.xml"` |
//! | `pdf_key`         | string/null     | ExpandArticle, ApplyVersionNumber | `"00353.1/<run>/elife-00353-v1.pdf"` |
//! | `manifest_key`    | string          | ExpandArticle, ApplyVersionNumber | `"00353.1/<run>/manifest.json"`: every file, its role, media type, size |
//! | `file_count`      | integer         | ExpandArticle      | files expanded |
//! | `renamed`         | integer         | ApplyVersionNumber | files renamed to carry `-v<version>` |
//! | `images_key`      | string          | ResizeImages       | `"00353.1/<run>/images.json"`: each figure's web JPEGs and their pixel sizes |
//! | `image_count`     | integer         | ResizeImages       | figures resized |
//! | `article_json_key`| string          | ConvertJATS        | `"00353.1/<run>/article.json"` |
//! | `doi`             | string          | ConvertJATS        | `"10.7554/eLife.00353"` |
//! | `assets_key`      | string          | DepositAssets      | `"00353.1/<run>/assets.json"`: files in the CDN bucket |
//! | `asset_count`     | integer         | DepositAssets      | files deposited |
//! | `archive_key`     | string          | ArchiveArticle     | `"00353/20261123201500-elife-00353-vor-v1-20121213000000.zip"` |
//!
//! Nothing that grows with the package travels in the context (SWF caps it
//! at 32 KB): per-file lists are manifests in the expanded bucket, and only
//! their keys are here (see [`crate::manifest`] for their formats).
//!
//! Keys of objects are relative to the bucket of their role (expanded, cdn,
//! archive); the package itself lives in `bucket_name`, which is the
//! incoming bucket or, for `SilentCorrectionsIngest`, the silent-corrections one.

use crate::error::{Error, Result};
use crate::{ActivityContext, Env};
use bytes::Bytes;
use pressbot_core::backend::{ObjectMeta, PutOptions};
use serde_json::Value;

/// Context key names (see the module docs).
pub mod keys {
    use pressbot_core::start::StarterPayload;
    pub const BUCKET_NAME: &str = StarterPayload::BUCKET_NAME;
    pub const FILE_NAME: &str = StarterPayload::FILE_NAME;
    pub const FILE_ETAG: &str = StarterPayload::FILE_ETAG;
    pub const FILE_SIZE: &str = StarterPayload::FILE_SIZE;
    pub const ARTICLE_ID: &str = "article_id";
    pub const STATUS: &str = "status";
    pub const VERSION: &str = "version";
    pub const VERSION_SOURCE: &str = "version_source";
    pub const REVISION: &str = "revision";
    pub const UPDATE_DATE: &str = "update_date";
    pub const RUN: &str = "run";
    pub const EXPANDED_FOLDER: &str = "expanded_folder";
    pub const XML_KEY: &str = "xml_key";
    pub const PDF_KEY: &str = "pdf_key";
    pub const MANIFEST_KEY: &str = "manifest_key";
    pub const FILE_COUNT: &str = "file_count";
    pub const RENAMED: &str = "renamed";
    pub const IMAGES_KEY: &str = "images_key";
    pub const IMAGE_COUNT: &str = "image_count";
    pub const ARTICLE_JSON_KEY: &str = "article_json_key";
    pub const DOI: &str = "doi";
    pub const ASSETS_KEY: &str = "assets_key";
    pub const ASSET_COUNT: &str = "asset_count";
    pub const ARCHIVE_KEY: &str = "archive_key";
}

/// The folder of one run of one article version in the expanded bucket:
/// `<article id>.<version>/<run>`. The run id keeps a re-run from mixing
/// its files with an earlier run's.
pub fn expanded_folder(article_id: &str, version: u32, run: &str) -> String {
    format!("{article_id}.{version}/{run}")
}

/// The real name of a bucket role.
pub(crate) fn bucket(env: &Env, role: &str) -> Result<String> {
    env.settings.bucket(role).ok_or_else(|| Error::Settings {
        key: format!("buckets.{role}"),
        problem: "unknown bucket role".into(),
    })
}

/// A string from the context.
pub(crate) fn ctx_str(ctx: &ActivityContext, key: &str) -> Result<String> {
    match ctx.input.context.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        Some(Value::String(_)) => Err(Error::context(key, "is empty")),
        Some(other) => Err(Error::context(
            key,
            format!("expected a string, got {other}"),
        )),
        None => Err(Error::context(
            key,
            "missing (an earlier step should have set it)",
        )),
    }
}

/// An optional string (absent or null → None).
pub(crate) fn ctx_opt_str(ctx: &ActivityContext, key: &str) -> Result<Option<String>> {
    match ctx.input.context.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(_) => ctx_str(ctx, key).map(Some),
    }
}

/// A positive integer; numbers written as strings (`"1"`) are accepted
/// because older tools send them so.
pub(crate) fn ctx_u32(ctx: &ActivityContext, key: &str) -> Result<Option<u32>> {
    let v = match ctx.input.context.get(key) {
        None | Some(Value::Null) => return Ok(None),
        Some(v) => v,
    };
    let n = match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse::<u64>().ok(),
        _ => None,
    };
    n.and_then(|n| u32::try_from(n).ok())
        .filter(|&n| n > 0)
        .map(Some)
        .ok_or_else(|| Error::context(key, format!("expected a positive integer, got {v}")))
}

/// The run: the context's `run` if an earlier step set it, else this execution's run id.
pub(crate) fn run_of(ctx: &ActivityContext) -> String {
    ctx.input
        .context
        .get(keys::RUN)
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .unwrap_or_else(|| ctx.execution.run_id.as_str().to_owned())
}

pub(crate) async fn get(env: &Env, bucket: &str, key: &str) -> Result<Bytes> {
    env.backend
        .objects
        .get(bucket, key)
        .await
        .map(|o| o.body)
        .map_err(|e| Error::store("get", bucket, key, e))
}

pub(crate) async fn put(
    env: &Env,
    bucket: &str,
    key: &str,
    body: Bytes,
    options: PutOptions,
) -> Result<ObjectMeta> {
    env.backend
        .objects
        .put(bucket, key, body, options)
        .await
        .map_err(|e| Error::store("put", bucket, key, e))
}

pub(crate) async fn list(env: &Env, bucket: &str, prefix: &str) -> Result<Vec<ObjectMeta>> {
    env.backend
        .objects
        .list(bucket, prefix)
        .await
        .map_err(|e| Error::store("list", bucket, prefix, e))
}

/// Run CPU-bound work off the async threads, so heartbeats keep flowing.
pub(crate) async fn blocking<T, F>(operation: &str, f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T> + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Task {
            operation: operation.to_owned(),
            message: e.to_string(),
        })?
}

/// The last path segment of a key.
pub(crate) fn file_part(key: &str) -> &str {
    key.rsplit('/').next().unwrap_or(key)
}

/// Content type by extension, for the CDN and the expanded bucket.
pub fn content_type(name: &str) -> &'static str {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "xml" => "application/xml",
        "json" => "application/json",
        "pdf" => "application/pdf",
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "tif" | "tiff" => "image/tiff",
        "svg" => "image/svg+xml",
        "mp4" => "video/mp4",
        "zip" => "application/zip",
        "txt" => "text/plain; charset=utf-8",
        "csv" => "text/csv",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "doc" => "application/msword",
        "xls" => "application/vnd.ms-excel",
        "tsv" => "text/tab-separated-values",
        "mov" => "video/quicktime",
        "avi" => "video/x-msvideo",
        "webm" => "video/webm",
        "mp3" => "audio/mpeg",
        "wav" => "audio/wav",
        "eps" => "application/postscript",
        "gz" => "application/gzip",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_and_content_types() {
        assert_eq!(expanded_folder("00353", 1, "r1"), "00353.1/r1");
        assert_eq!(
            content_type("a/b/elife-00353-fig1-v1-617w.jpg"),
            "image/jpeg"
        );
        assert_eq!(content_type("elife-00353-v1.PDF"), "application/pdf");
        assert_eq!(content_type("noext"), "application/octet-stream");
    }
}
