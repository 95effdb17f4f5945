//! Article package names: what `VersionLookup` reads from a zip's name.
//!
//! The convention (eLife's, which pressbot follows) is
//! `<journal>-<article id>[-<status>][-v<version>|-r<revision>][-<YYYYmmddHHMMSS>].zip`:
//!
//! | name                                     | id    | status | version | revision | timestamp |
//! |------------------------------------------|-------|--------|---------|----------|-----------|
//! | `elife-00353-vor-v1-20121213000000.zip`  | 00353 | vor    | 1       | –        | 2012-12-13T00:00:00Z |
//! | `elife-00353-poa-v2.zip`                 | 00353 | poa    | 2       | –        | – |
//! | `elife-00353-vor-r1.zip`                 | 00353 | vor    | –       | 1        | – |
//! | `elife-00353-v1.zip`                     | 00353 | –      | 1       | –        | – |
//!
//! A `-rN` suffix is a *revision* of the package (a re-supply), not an
//! article version: the version is then looked up (see
//! [`VersionRule`]). A leading folder (`some/prefix/elife-...zip`) is ignored.

use crate::article::{bucket, ctx_opt_str, ctx_str, keys, list, run_of};
use crate::error::{Error, Result};
use crate::{Activity, ActivityContext, Env};
use async_trait::async_trait;
use pressbot_core::activity::ActivityFailure;
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::sync::LazyLock;

/// Publication status of an article.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Publish-on-accept: the accepted manuscript, no full text yet.
    Poa,
    /// Version of record.
    Vor,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Poa => "poa",
            Status::Vor => "vor",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "poa" => Some(Status::Poa),
            "vor" => Some(Status::Vor),
            _ => None,
        }
    }
}

/// What a package name says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackageName {
    /// The file name without any folder.
    pub file_name: String,
    /// e.g. `elife`.
    pub journal: String,
    /// As written in the name, e.g. `00353` (leading zeros kept: they are part of eLife ids).
    pub article_id: String,
    pub status: Option<Status>,
    pub version: Option<u32>,
    pub revision: Option<u32>,
    /// The 14-digit timestamp as ISO 8601 UTC, e.g. `2012-12-13T00:00:00Z`.
    pub timestamp: Option<String>,
}

static PACKAGE_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^(?P<journal>[a-z][a-z0-9]*)-(?P<id>[0-9]+)(?:-(?P<status>poa|vor))?(?:-(?P<kind>[vr])(?P<num>[0-9]+))?(?:-(?P<ts>[0-9]{14}))?\.zip$",
    )
    .expect("package name regex")
});

/// Parse a package (zip) name or key.
pub fn parse_package_name(key: &str) -> Result<PackageName> {
    let file_name = key.rsplit('/').next().unwrap_or(key);
    let bad = |problem: String| Error::PackageName {
        name: file_name.to_owned(),
        problem,
    };
    let caps = PACKAGE_RE.captures(file_name).ok_or_else(|| {
        bad("expected <journal>-<article id>[-poa|-vor][-v<N>|-r<N>][-<YYYYmmddHHMMSS>].zip, e.g. elife-00353-vor-v1-20121213000000.zip".into())
    })?;
    let num = match caps.name("num") {
        Some(m) => Some(
            m.as_str()
                .parse::<u32>()
                .map_err(|_| bad(format!("number {:?} is out of range", m.as_str())))?,
        ),
        None => None,
    };
    let (version, revision) = match caps.name("kind").map(|k| k.as_str().to_ascii_lowercase()) {
        Some(k) if k == "v" => (num, None),
        Some(_) => (None, num),
        None => (None, None),
    };
    if version == Some(0) {
        return Err(bad("version 0 does not exist (versions start at 1)".into()));
    }
    let timestamp = match caps.name("ts") {
        Some(m) => Some(compact_timestamp_to_iso(m.as_str()).map_err(bad)?),
        None => None,
    };
    Ok(PackageName {
        file_name: file_name.to_owned(),
        journal: caps["journal"].to_ascii_lowercase(),
        article_id: caps["id"].to_owned(),
        status: caps.name("status").and_then(|s| Status::parse(s.as_str())),
        version,
        revision,
        timestamp,
    })
}

/// `20121213000000` → `2012-12-13T00:00:00Z`, checking each field's range.
pub fn compact_timestamp_to_iso(ts: &str) -> std::result::Result<String, String> {
    if ts.len() != 14 || !ts.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("timestamp {ts:?} is not YYYYmmddHHMMSS"));
    }
    let n = |a: usize, b: usize| ts[a..b].parse::<u32>().unwrap_or(u32::MAX);
    let (y, mo, d, h, mi, s) = (n(0, 4), n(4, 6), n(6, 8), n(8, 10), n(10, 12), n(12, 14));
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return Err(format!("timestamp {ts:?} is not a valid date and time"));
    }
    Ok(format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z"))
}

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
/// folder (see [`crate::deposit::cdn_key`]): every XML or PDF file name's `-vN`.
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
            let prefix = crate::deposit::cdn_key(&name.article_id, "");
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
    fn parses_the_full_form() {
        let p = parse_package_name("elife-00353-vor-v1-20121213000000.zip").unwrap();
        assert_eq!(p.journal, "elife");
        assert_eq!(p.article_id, "00353");
        assert_eq!(p.status, Some(Status::Vor));
        assert_eq!(p.version, Some(1));
        assert_eq!(p.revision, None);
        assert_eq!(p.timestamp.as_deref(), Some("2012-12-13T00:00:00Z"));
    }

    #[test]
    fn parses_the_other_forms() {
        let p = parse_package_name("elife-00353-vor-r1.zip").unwrap();
        assert_eq!(
            (p.status, p.version, p.revision),
            (Some(Status::Vor), None, Some(1))
        );
        let p = parse_package_name("elife-00353-v1.zip").unwrap();
        assert_eq!((p.status, p.version, p.timestamp), (None, Some(1), None));
        let p = parse_package_name("elife-00353-poa-v2-20160101000000.zip").unwrap();
        assert_eq!(p.status, Some(Status::Poa));
        assert_eq!(p.version, Some(2));
        assert_eq!(p.timestamp.as_deref(), Some("2016-01-01T00:00:00Z"));
        let p = parse_package_name("some/folder/elife-70357-vor-v2.zip").unwrap();
        assert_eq!(p.file_name, "elife-70357-vor-v2.zip");
        assert_eq!(p.article_id, "70357");
        let p = parse_package_name("elife-00353.zip").unwrap();
        assert_eq!((p.status, p.version), (None, None));
    }

    /// Every form a publisher ships, and what is read from it.
    #[test]
    fn every_package_name_form() {
        type Row = (
            &'static str,
            &'static str,
            Option<Status>,
            Option<u32>,
            Option<u32>,
            Option<&'static str>,
        );
        let ts = Some("2012-12-13T00:00:00Z");
        let table: &[Row] = &[
            // versioned, with the supply timestamp
            (
                "elife-00353-vor-v1-20121213000000.zip",
                "00353",
                Some(Status::Vor),
                Some(1),
                None,
                ts,
            ),
            (
                "elife-00353-poa-v2-20121213000000.zip",
                "00353",
                Some(Status::Poa),
                Some(2),
                None,
                ts,
            ),
            // versioned, no timestamp
            (
                "elife-00353-vor-v3.zip",
                "00353",
                Some(Status::Vor),
                Some(3),
                None,
                None,
            ),
            ("elife-00353-v1.zip", "00353", None, Some(1), None, None),
            // revisions (re-supplies): the version is looked up
            (
                "elife-00353-vor-r1.zip",
                "00353",
                Some(Status::Vor),
                None,
                Some(1),
                None,
            ),
            (
                "elife-00353-poa-r2.zip",
                "00353",
                Some(Status::Poa),
                None,
                Some(2),
                None,
            ),
            (
                "elife-00353-vor-r12-20121213000000.zip",
                "00353",
                Some(Status::Vor),
                None,
                Some(12),
                ts,
            ),
            ("elife-00353-r1.zip", "00353", None, None, Some(1), None),
            // neither
            ("elife-00353.zip", "00353", None, None, None, None),
            (
                "elife-00353-vor.zip",
                "00353",
                Some(Status::Vor),
                None,
                None,
                None,
            ),
            (
                "elife-00353-20121213000000.zip",
                "00353",
                None,
                None,
                None,
                ts,
            ),
            // case, folders, long ids
            (
                "ELIFE-00353-VOR-R1.ZIP",
                "00353",
                Some(Status::Vor),
                None,
                Some(1),
                None,
            ),
            (
                "in/2024/elife-100353-vor-v1.zip",
                "100353",
                Some(Status::Vor),
                Some(1),
                None,
                None,
            ),
        ];
        for &(name, id, status, version, revision, timestamp) in table {
            let p = parse_package_name(name).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(
                (
                    p.article_id.as_str(),
                    p.status,
                    p.version,
                    p.revision,
                    p.timestamp.as_deref()
                ),
                (id, status, version, revision, timestamp),
                "{name}"
            );
            assert_eq!(p.journal, "elife", "{name}");
        }
    }

    #[test]
    fn refuses_unreadable_names() {
        for bad in [
            "elife-00353-vor-v1.tar.gz",
            "article.zip",
            "elife-abc-vor-v1.zip",
            "elife-00353-vor-v1-2012.zip",
            "elife-00353-vor-v1-20121313000000.zip",
            "elife-00353-vor-v0.zip",
            "elife-00353-vor-v99999999999.zip",
            "",
        ] {
            let e = parse_package_name(bad).unwrap_err();
            assert!(matches!(e, Error::PackageName { .. }), "{bad}: {e}");
            assert!(e.to_string().contains("package name"), "{e}");
        }
    }

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
