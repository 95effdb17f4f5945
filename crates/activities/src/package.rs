//! `VersionLookup`: an article's id, status and version, from its package's
//! name and, when the name has no version, from the versions already
//! published (see [`VersionRule`]).
//!
//! The package name convention itself (`elife-00353-vor-v1-….zip`) and its
//! parser live in [`crate::naming`], shared with ExpandArticle and
//! ArchiveArticle; they are re-exported here, where they were first.

pub use crate::naming::{compact_timestamp_to_iso, parse_package_name, PackageName, Status};

use crate::article::{bucket, ctx_opt_str, ctx_str, keys, list, run_of};
use crate::error::{Error, Result};
use crate::naming::cdn_key;
use crate::{Activity, ActivityContext, Env};
use async_trait::async_trait;
use pressbot_core::activity::ActivityFailure;
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::sync::LazyLock;

/// How to pick a version when the package name carries none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VersionRule {
    /// A new version: one above the highest published (an ingest of a re-supplied package).
    Next,
    /// The highest published version (a silent correction changes a published version in place).
    Highest,
}

/// Where the version came from, recorded in the workflow context so an operator can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VersionSource {
    FileName,
    Published,
    Default,
    /// Given to this package (bucket, key, eTag) by an earlier run.
    Recorded,
}

/// Decide the version: the name's, else from the published versions by
/// `rule`, else 1 (nothing published yet).
pub fn choose_version(
    name: &PackageName,
    published: &[u32],
    rule: VersionRule,
) -> (u32, VersionSource) {
    if let Some(v) = name.version {
        return (v, VersionSource::FileName);
    }
    match (published.iter().max(), rule) {
        (Some(&h), VersionRule::Highest) => (h, VersionSource::Published),
        (Some(&h), VersionRule::Next) => (h.saturating_add(1), VersionSource::Published),
        (None, _) => (1, VersionSource::Default),
    }
}

static FILE_VERSION_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"-v([0-9]+)\.[A-Za-z0-9]+$").expect("file version regex"));

/// The `-vN` of an article file name (`elife-00353-fig1-v1.tif` → 1).
pub fn file_version(file_name: &str) -> Option<u32> {
    let file_name = file_name.rsplit('/').next().unwrap_or(file_name);
    FILE_VERSION_RE
        .captures(file_name)
        .and_then(|c| c[1].parse().ok())
}

/// The versions published for an article, from the CDN keys under its
/// folder (see [`crate::naming::cdn_key`]): every XML or PDF file name's `-vN`.
pub fn published_versions<'a>(cdn_keys: impl IntoIterator<Item = &'a str>) -> Vec<u32> {
    let mut v: Vec<u32> = cdn_keys
        .into_iter()
        .filter(|k| k.ends_with(".xml") || k.ends_with(".pdf"))
        .filter_map(file_version)
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

// ---------------------------------------------------------------- activity

/// `VersionLookup`: article id, status, version and timestamp from the
/// package name.
///
/// Input: `file_name`, `bucket_name`. Output: `article_id`, `status`,
/// `version`, `version_source`, `revision`, `update_date`, `run`.
///
/// When the name has no `-vN`, the versions already published are read
/// from the CDN bucket (`articles/<id>/`, the XML/PDF names' `-vN`). A
/// package from the silent-corrections bucket corrects the highest
/// published version; any other package makes the next one. A step param
/// `version_rule = "next" | "highest"` overrides that. Nothing published → 1.
#[derive(Debug, Clone)]
pub struct VersionLookup {
    env: Arc<Env>,
}

impl VersionLookup {
    pub fn new(env: Arc<Env>) -> Self {
        VersionLookup { env }
    }

    async fn lookup(&self, ctx: &ActivityContext) -> Result<serde_json::Value> {
        let file_name = ctx_str(ctx, keys::FILE_NAME)?;
        let bucket_name = ctx_opt_str(ctx, keys::BUCKET_NAME)?;
        let name = parse_package_name(&file_name)?;
        let rule = match ctx.input.params.get("version_rule") {
            Some(v) => serde_json::from_value(v.clone()).map_err(|_| Error::Context {
                key: "params.version_rule".into(),
                problem: format!("expected \"next\" or \"highest\", got {v}"),
            })?,
            None if bucket_name.is_some()
                && bucket_name == self.env.settings.bucket("silent_corrections") =>
            {
                VersionRule::Highest
            }
            None => VersionRule::Next,
        };
        // The package's identity, and the version once given to it
        // (crate::identity): a re-run of an unversioned package keeps it.
        let package = crate::identity::of_context(&self.env, ctx).await?;
        let identity = package.as_ref().map(crate::identity::identity);
        let recorded = match (&identity, name.version) {
            (Some(id), None) => crate::identity::recorded(&self.env, id).await?,
            _ => None,
        };
        let published = if name.version.is_none() && recorded.is_none() {
            let cdn = bucket(&self.env, "cdn")?;
            let prefix = cdn_key(&name.article_id, "");
            let objects = list(&self.env, &cdn, &prefix).await?;
            published_versions(objects.iter().map(|o| o.key.as_str()))
        } else {
            Vec::new()
        };
        let (version, source) = match &recorded {
            Some(r) => (r.version, VersionSource::Recorded),
            None => choose_version(&name, &published, rule),
        };
        if let (Some(id), Some((b, k, e)), None, None) =
            (&identity, &package, name.version, &recorded)
        {
            let record = crate::identity::PackageRecord {
                article_id: name.article_id.clone(),
                version,
                bucket: b.clone(),
                key: k.clone(),
                etag: e.clone(),
            };
            crate::identity::record(&self.env, id, &record).await?;
        }
        let run = run_of(ctx);
        tracing::info!(
            article_id = %name.article_id,
            version,
            version_source = ?source,
            run = %run,
            "version looked up"
        );
        Ok(serde_json::json!({
            keys::ARTICLE_ID: name.article_id,
            keys::STATUS: name.status,
            keys::VERSION: version,
            keys::VERSION_SOURCE: source,
            keys::REVISION: name.revision,
            keys::UPDATE_DATE: name.timestamp,
            keys::RUN: run,
            crate::identity::PACKAGE: identity,
        }))
    }
}

#[async_trait]
impl Activity for VersionLookup {
    fn name(&self) -> &'static str {
        "VersionLookup"
    }

    async fn run(
        &self,
        ctx: &ActivityContext,
    ) -> std::result::Result<serde_json::Value, ActivityFailure> {
        Ok(self.lookup(ctx).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chooses_a_version() {
        let named = parse_package_name("elife-00353-vor-v3.zip").unwrap();
        assert_eq!(
            choose_version(&named, &[1, 5], VersionRule::Next),
            (3, VersionSource::FileName)
        );
        let r = parse_package_name("elife-00353-vor-r1.zip").unwrap();
        assert_eq!(
            choose_version(&r, &[1, 2], VersionRule::Next),
            (3, VersionSource::Published)
        );
        assert_eq!(
            choose_version(&r, &[1, 2], VersionRule::Highest),
            (2, VersionSource::Published)
        );
        assert_eq!(
            choose_version(&r, &[], VersionRule::Next),
            (1, VersionSource::Default)
        );
    }

    #[test]
    fn reads_published_versions_from_keys() {
        let keys = [
            "articles/00353/elife-00353-v1.xml",
            "articles/00353/elife-00353-v2.pdf",
            "articles/00353/elife-00353-fig1-v7-617w.jpg",
            "articles/00353/elife-00353-v2.xml",
        ];
        assert_eq!(published_versions(keys), vec![1, 2]);
        assert_eq!(file_version("elife-00353-fig1-v1.tif"), Some(1));
        assert_eq!(file_version("elife-00353-fig1.tif"), None);
    }
}
