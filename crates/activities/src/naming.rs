//! The naming conventions several activities share: package (zip) names,
//! where an article's files live on the CDN and under which URL, the names
//! of the web images ResizeImages makes, and the files pressbot writes into
//! an expanded folder.
//!
//! They live here, below every activity module, because each is both
//! written by one activity and read by another (ExpandArticle and
//! VersionLookup read package names, DepositAssets puts files where
//! ConvertJATS's URLs point, ResizeImages names images ConvertJATS links
//! to). Kept in the activities' own modules they made those modules import
//! one another in a cycle; here, nothing in this module imports an activity.
//!
//! # Package names
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
//! [`crate::package::VersionRule`]). A leading folder
//! (`some/prefix/elife-...zip`) is ignored.

use crate::error::{Error, Result};
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::sync::LazyLock;

/// The CDN key of an article's file (an empty `file` gives the article's prefix).
pub fn cdn_key(article_id: &str, file: &str) -> String {
    format!("articles/{article_id}/{file}")
}

/// `<cdn>/articles/<id>/<file>`: where DepositAssets puts an article's files.
pub fn asset_url(cdn_base_url: &str, article_id: &str, file: &str) -> String {
    format!(
        "{}/{}",
        cdn_base_url.trim_end_matches('/'),
        cdn_key(article_id, file)
    )
}

/// File extensions ResizeImages can read.
pub const IMAGE_EXTENSIONS: &[&str] = &["tif", "tiff", "png", "jpg", "jpeg"];

/// The web JPEG ResizeImages makes of a figure at a width:
/// `elife-00353-fig1-v1.tif` (or the extension-less reference) → `elife-00353-fig1-v1-617w.jpg`.
pub fn web_image_name(figure: &str, width: u32) -> String {
    let base = figure.rsplit('/').next().unwrap_or(figure);
    let stem = match base.rsplit_once('.') {
        Some((stem, ext)) if IMAGE_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str()) => stem,
        _ => base,
    };
    format!("{stem}-{width}w.jpg")
}

/// Name of the article JSON in the expanded folder.
pub const ARTICLE_JSON: &str = "article.json";

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
}
