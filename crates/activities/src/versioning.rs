//! `ApplyVersionNumber`: article files carry the version in their names
//! (`elife-00353-fig1-v1.tif`), so a package supplied without (or with a
//! different) version gets its files renamed to the looked-up version and
//! the references inside the XML (`xlink:href`) rewritten to match. Without
//! that the article JSON would point at assets that do not exist on the CDN.

use crate::error::{Error, Result};
use quick_xml::events::{BytesStart, Event};
use regex::Regex;
use std::collections::BTreeMap;
use std::sync::LazyLock;

static VERSIONED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?P<stem>.*?)(?:-v[0-9]+)?(?P<ext>\.[A-Za-z0-9]+)$")
        .expect("versioned name regex")
});
static ARTICLE_FILE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^[a-z][a-z0-9]*-[0-9]+").expect("article file regex"));

/// The name with its version set to `version`: `-vN` replaced, or inserted
/// before the extension. Names that are not article files
/// (`<journal>-<id>...`) or have no extension are returned unchanged.
pub fn versioned_name(name: &str, version: u32) -> String {
    let (dir, file) = match name.rsplit_once('/') {
        Some((d, f)) => (Some(d), f),
        None => (None, name),
    };
    if !ARTICLE_FILE.is_match(file) {
        return name.to_owned();
    }
    let Some(c) = VERSIONED.captures(file) else {
        return name.to_owned();
    };
    let new = format!("{}-v{version}{}", &c["stem"], &c["ext"]);
    match dir {
        Some(d) => format!("{d}/{new}"),
        None => new,
    }
}

/// Old name → new name for every file whose name changes.
pub fn rename_map<'a>(
    names: impl IntoIterator<Item = &'a str>,
    version: u32,
) -> BTreeMap<String, String> {
    names
        .into_iter()
        .filter_map(|n| {
            let v = versioned_name(n, version);
            (v != n).then(|| (n.to_owned(), v))
        })
        .collect()
}

fn strip_ext(s: &str) -> &str {
    match s.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && !ext.contains('/') => stem,
        _ => s,
    }
}

/// Rewrite `href` attributes (`xlink:href` and friends) that name a renamed
/// file, with or without its extension (JATS `<graphic>` often omits it).
/// Everything else in the document is written back as read.
pub fn rewrite_references(
    xml: &[u8],
    file: &str,
    renames: &BTreeMap<String, String>,
) -> Result<(Vec<u8>, usize)> {
    let mut by_value: BTreeMap<String, String> = BTreeMap::new();
    for (old, new) in renames {
        let (old, new) = (
            old.rsplit('/').next().unwrap_or(old),
            new.rsplit('/').next().unwrap_or(new),
        );
        by_value.insert(old.to_owned(), new.to_owned());
        by_value.insert(strip_ext(old).to_owned(), strip_ext(new).to_owned());
    }
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut writer = quick_xml::Writer::new(Vec::with_capacity(xml.len() + 256));
    let mut changed = 0usize;
    let xml_err = |pos: u64, message: String| Error::Xml {
        file: file.to_owned(),
        position: pos,
        message,
    };
    loop {
        let ev = reader
            .read_event()
            .map_err(|e| xml_err(reader.error_position(), e.to_string()))?;
        let out = match ev {
            Event::Eof => break,
            Event::Start(e) => Event::Start(
                rewrite_start(&e, &by_value, &mut changed)
                    .map_err(|m| xml_err(reader.buffer_position(), m))?,
            ),
            Event::Empty(e) => Event::Empty(
                rewrite_start(&e, &by_value, &mut changed)
                    .map_err(|m| xml_err(reader.buffer_position(), m))?,
            ),
            other => other,
        };
        writer
            .write_event(out)
            .map_err(|e| xml_err(reader.buffer_position(), e.to_string()))?;
    }
    Ok((writer.into_inner(), changed))
}

fn rewrite_start(
    e: &BytesStart<'_>,
    by_value: &BTreeMap<String, String>,
    changed: &mut usize,
) -> std::result::Result<BytesStart<'static>, String> {
    let name = e.name().as_ref().to_owned();
    let mut out = BytesStart::new(name);
    for a in e.attributes() {
        let a = a.map_err(|e| e.to_string())?;
        let key = a.key.as_ref().to_owned();
        let is_href = key == "href" || key.ends_with(":href");
        // Predefined entities and character references resolved, whitespace
        // as written (no attribute-value normalisation).
        let value =
            quick_xml::escape::unescape(&a.value).map_err(|e| format!("attribute {key}: {e}"))?;
        match by_value.get(value.as_ref()) {
            Some(new) if is_href => {
                *changed += 1;
                out.push_attribute((key.as_str(), new.as_str()));
            }
            // Any other attribute is copied as written, escapes included.
            _ => out.push_attribute(a.clone()),
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------- activity

/// `ApplyVersionNumber`: give every article file of the expanded folder the
/// workflow's version and rewrite the XML's references to match.
///
/// Input: `version`, `manifest_key`. Output: `xml_key`, `pdf_key`,
/// `manifest_key` (the same key: the manifest is rewritten with the new
/// names) and `renamed` (how many files changed name).
///
/// Renamed files are copies: the originals stay, so a retried attempt
/// finds its inputs again. New names are always computed from each file's
/// name in the zip (the manifest's `zip_path`), never from the current
/// `name`, so an attempt that runs after an earlier one rewrote the
/// manifest does the same thing again.
#[derive(Debug, Clone)]
pub struct ApplyVersionNumber {
    env: std::sync::Arc<crate::Env>,
}

impl ApplyVersionNumber {
    pub fn new(env: std::sync::Arc<crate::Env>) -> Self {
        ApplyVersionNumber { env }
    }

    async fn apply(&self, ctx: &crate::ActivityContext) -> Result<serde_json::Value> {
        use crate::article::{self as a, keys};
        use crate::manifest::{self as m, FileRole};
        let version = a::ctx_u32(ctx, keys::VERSION)?
            .ok_or_else(|| Error::context(keys::VERSION, "missing (VersionLookup sets it)"))?;
        let (manifest_key, mut manifest) = m::package(&self.env, ctx).await?;
        let folder = manifest.folder.clone();
        let original = |f: &m::ManifestFile| a::file_part(&f.zip_path).to_owned();
        let originals: Vec<String> = manifest.files.iter().map(original).collect();
        let renames = rename_map(originals.iter().map(String::as_str), version);
        // Two files that become one name (`x-fig1.tif` and `x-fig1-v2.tif`
        // at version 2) would overwrite each other on the CDN.
        let mut targets: BTreeMap<String, &str> = BTreeMap::new();
        for o in &originals {
            let new = renames.get(o).cloned().unwrap_or_else(|| o.clone());
            if let Some(first) = targets.insert(new.clone(), o) {
                return Err(Error::DuplicateFileName {
                    package: manifest.package.clone(),
                    file_name: new,
                    first: first.to_owned(),
                    second: o.clone(),
                });
            }
        }
        let xml = manifest.xml().ok_or_else(|| Error::Manifest {
            key: manifest_key.clone(),
            problem: "lists no file of role `xml`".into(),
        })?;
        let xml_original = m::key_in(&folder, &original(xml));

        let expanded = a::bucket(&self.env, "expanded")?;
        let xml_body = a::get(&self.env, &expanded, &xml_original).await?;
        let xml_name = a::file_part(&xml_original).to_owned();
        let map = renames.clone();
        let (new_xml, refs) = a::blocking("rewrite references", move || {
            rewrite_references(&xml_body, &xml_name, &map)
        })
        .await?;
        for (i, f) in manifest.files.iter_mut().enumerate() {
            if ctx.cancel.is_cancelled() {
                return Err(Error::Cancelled {
                    operation: format!("versioning {}", f.name),
                });
            }
            let old = &originals[i];
            let new = renames.get(old).unwrap_or(old);
            let (old_key, new_key) = (m::key_in(&folder, old), m::key_in(&folder, new));
            if new != old && f.role != FileRole::Xml {
                self.env
                    .backend
                    .objects
                    .copy(&expanded, &old_key, &expanded, &new_key)
                    .await
                    .map_err(|e| Error::store("copy", &expanded, &old_key, e))?;
            }
            f.name = new.clone();
            f.key = new_key;
        }
        let xml_out = manifest
            .xml()
            .map(|f| f.key.clone())
            .unwrap_or_else(|| xml_original.clone());
        let size = new_xml.len() as u64;
        a::put(
            &self.env,
            &expanded,
            &xml_out,
            bytes::Bytes::from(new_xml),
            pressbot_core::backend::PutOptions {
                content_type: Some("application/xml".into()),
                cache_control: None,
            },
        )
        .await?;
        for f in manifest
            .files
            .iter_mut()
            .filter(|f| f.role == FileRole::Xml)
        {
            f.size = size;
        }
        manifest.version = version;
        m::write(&self.env, &manifest_key, &manifest).await?;
        tracing::info!(folder = %folder, version, renamed = renames.len(), references = refs, "version applied");
        Ok(serde_json::json!({
            keys::XML_KEY: xml_out,
            keys::PDF_KEY: manifest.pdf().map(|f| f.key.clone()),
            keys::MANIFEST_KEY: manifest_key,
            keys::RENAMED: renames.len(),
        }))
    }
}

#[async_trait::async_trait]
impl crate::Activity for ApplyVersionNumber {
    fn name(&self) -> &'static str {
        "ApplyVersionNumber"
    }

    async fn run(
        &self,
        ctx: &crate::ActivityContext,
    ) -> std::result::Result<serde_json::Value, pressbot_core::activity::ActivityFailure> {
        Ok(self.apply(ctx).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_get_the_version() {
        assert_eq!(
            versioned_name("elife-00353-fig1-v1.tif", 2),
            "elife-00353-fig1-v2.tif"
        );
        assert_eq!(
            versioned_name("elife-00353-fig1.tif", 2),
            "elife-00353-fig1-v2.tif"
        );
        assert_eq!(
            versioned_name("elife-00353-v1.xml", 1),
            "elife-00353-v1.xml"
        );
        assert_eq!(versioned_name("elife-00353.pdf", 3), "elife-00353-v3.pdf");
        assert_eq!(
            versioned_name("media/elife-00353-video1.mp4", 1),
            "media/elife-00353-video1-v1.mp4"
        );
        assert_eq!(versioned_name("readme.txt", 1), "readme.txt");
        assert_eq!(versioned_name("elife-00353-noext", 1), "elife-00353-noext");
    }

    #[test]
    fn references_are_rewritten_with_and_without_extension() {
        let xml = br#"<?xml version="1.0"?><!DOCTYPE article PUBLIC "-//NLM//DTD JATS//EN" "JATS.dtd"><article xmlns:xlink="http://www.w3.org/1999/xlink"><self-uri content-type="pdf" xlink:href="elife-00353-v1.pdf"/><graphic xlink:href="elife-00353-fig1-v1"/><p>elife-00353-fig1-v1 &amp; text</p><ext-link xlink:href="http://x/elife-00353-fig1-v1"/></article>"#;
        let renames = rename_map(
            [
                "elife-00353-v1.pdf",
                "elife-00353-fig1-v1.tif",
                "elife-00353-v1.xml",
            ],
            2,
        );
        assert_eq!(renames.len(), 3);
        let (out, n) = rewrite_references(xml, "elife-00353-v1.xml", &renames).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert_eq!(n, 2);
        assert!(out.contains(r#"xlink:href="elife-00353-v2.pdf""#), "{out}");
        assert!(
            out.contains(r#"<graphic xlink:href="elife-00353-fig1-v2"/>"#),
            "{out}"
        );
        // text and unrelated links are untouched
        assert!(
            out.contains("<p>elife-00353-fig1-v1 &amp; text</p>"),
            "{out}"
        );
        assert!(out.contains("http://x/elife-00353-fig1-v1"), "{out}");
        assert!(out.contains("<!DOCTYPE article"), "{out}");
    }

    #[test]
    fn malformed_xml_is_an_error() {
        let e = rewrite_references(b"<a><b></a>", "x.xml", &BTreeMap::new()).unwrap_err();
        assert!(e.to_string().starts_with("x.xml: malformed XML"), "{e}");
    }
}
