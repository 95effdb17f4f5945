//! A package's identity across runs, and the version given to it once.
//!
//! A run id names one execution; `pressbot retry`, a duplicate starter
//! message whose "already ran" check missed, or an operator's re-run all
//! make new runs of the *same package*. What must not change between them
//! is what the CMS sees: the idempotency key and the version. Both come
//! from the package's identity, [`package_identity`] of its bucket, key
//! and eTag, which `VersionLookup` puts into the context as `package`.
//!
//! A package whose name carries no `-vN` gets its version from what is
//! published (the next one, or the highest for a silent correction). That
//! choice is made once per identity and recorded in the expanded bucket,
//! `packages/<identity>.json`: a re-run reads it back instead of choosing
//! again (after the first run published vN, choosing again would say
//! vN+1: a second version of the same content). Same bucket, key and eTag
//! = same package = one version; the same key uploaded again with other
//! content has a new eTag, so it is a new package and gets a version of
//! its own.
//!
//! The record is written read-before-write. Two runs of one identity never
//! run VersionLookup at the same time: the workflow id is derived from the
//! same bucket, key and eTag, and the workflow service keeps at most one
//! open execution per id, whose activity attempts are sequential.

use crate::article::{bucket, ctx_opt_str, keys};
use crate::error::{Error, Result};
use crate::{ActivityContext, Env};
use bytes::Bytes;
use pressbot_core::backend::PutOptions;
use pressbot_core::ids::package_identity;
use serde::{Deserialize, Serialize};

/// Context key of the package identity (set by VersionLookup).
pub const PACKAGE: &str = "package";

/// What is recorded for one package identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageRecord {
    pub article_id: String,
    pub version: u32,
    pub bucket: String,
    pub key: String,
    pub etag: String,
}

/// Key of an identity's record in the expanded bucket.
pub fn record_key(identity: &str) -> String {
    format!("packages/{identity}.json")
}

/// The identity of the context's package: from `bucket_name`, `file_name`
/// and `file_etag` (the starter puts them in); without an eTag, the
/// object's own (a hand-made start message). `None` without a bucket:
/// nothing identifies the package beyond its run.
pub async fn of_context(
    env: &Env,
    ctx: &ActivityContext,
) -> Result<Option<(String, String, String)>> {
    let (Some(b), Some(k)) = (
        ctx_opt_str(ctx, keys::BUCKET_NAME)?,
        ctx_opt_str(ctx, keys::FILE_NAME)?,
    ) else {
        return Ok(None);
    };
    let etag = match ctx_opt_str(ctx, keys::FILE_ETAG)? {
        Some(e) => e,
        None => match env.backend.objects.head(&b, &k).await {
            Ok(Some(meta)) => meta.etag,
            Ok(None) => return Ok(None),
            Err(e) => return Err(Error::store("head", &b, &k, e)),
        },
    };
    Ok(Some((b, k, etag)))
}

/// The identity hash of (bucket, key, eTag).
pub fn identity((b, k, e): &(String, String, String)) -> String {
    package_identity(b, k, e)
}

/// The version recorded for an identity, if any.
pub async fn recorded(env: &Env, identity: &str) -> Result<Option<PackageRecord>> {
    let expanded = bucket(env, "expanded")?;
    let key = record_key(identity);
    match env.backend.objects.get(&expanded, &key).await {
        Ok(o) => serde_json::from_slice(&o.body)
            .map(Some)
            .map_err(|e| Error::context(PACKAGE, format!("{expanded}/{key} is unreadable: {e}"))),
        Err(pressbot_core::Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(Error::store("get", &expanded, &key, e)),
    }
}

/// Record the version chosen for an identity (see the module docs for
/// why read-before-write suffices).
pub async fn record(env: &Env, identity: &str, record: &PackageRecord) -> Result<()> {
    let expanded = bucket(env, "expanded")?;
    let key = record_key(identity);
    let body = serde_json::to_vec_pretty(record)
        .map_err(|e| Error::context(PACKAGE, format!("cannot encode the record: {e}")))?;
    env.backend
        .objects
        .put(
            &expanded,
            &key,
            Bytes::from(body),
            PutOptions {
                content_type: Some("application/json".into()),
                cache_control: None,
            },
        )
        .await
        .map(|_| ())
        .map_err(|e| Error::store("put", &expanded, &key, e))
}
