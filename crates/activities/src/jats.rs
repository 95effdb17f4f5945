//! `ConvertJATS`: the package's JATS XML → eLife's article-json, written
//! beside the expanded files for PostToCms.
//!
//! The conversion itself is the pure `pressbot-jats` crate (see
//! docs/article-json.md). This activity gives it what the XML cannot know:
//! the version and status from VersionLookup, the workflow's mode (preview
//! or published), and every file of the package (from ExpandArticle's
//! manifest) with its CDN URL and, for images, the web renditions
//! ResizeImages made (from its manifest, with their pixel sizes). So every
//! asset URL in the article points at a file DepositAssets puts on the CDN.
//!
//! A document that cannot become valid article-json fails the workflow
//! permanently with the converter's reason (file and element). An article
//! whose XML names another article than the package does fails too, naming
//! both ids. What the converter did not understand is logged, counted in
//! the output (`warnings`) and written to `article.warnings.json`.

use crate::article::{self as a, keys};
use crate::error::{Error, Result};
use crate::manifest::{self, FileRole, ImagesManifest};
use crate::naming::Status;
use pressbot_core::backend::PutOptions;
use pressbot_jats::{Options, PackageFile, Stage, WebImage};

// Naming helpers that moved to `crate::naming`, re-exported where callers
// (ResizeImages, the tests) have always found them.
pub use crate::naming::{asset_url, web_image_name, ARTICLE_JSON};

/// Name of the converter's warnings in the expanded folder.
pub const WARNINGS_JSON: &str = "article.warnings.json";

/// How many warnings are logged one by one (all are in [`WARNINGS_JSON`]).
const LOGGED_WARNINGS: usize = 20;

/// Article ids compare as numbers: the package name may say `353` where
/// the XML says `00353`.
fn same_article_id(a: &str, b: &str) -> bool {
    let strip = |s: &str| s.trim_start_matches('0').to_owned();
    strip(a) == strip(b)
}

/// Is this the figures PDF (`elife-00353-figures-v1.pdf`) rather than the article's?
fn is_figures_pdf(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with(".pdf") && lower.contains("-figures")
}

/// The converter's view of the package: every file but the XML, with its
/// CDN URL and web renditions (largest first).
pub fn package_files(
    manifest: &manifest::PackageManifest,
    images: Option<&ImagesManifest>,
    cdn_base_url: &str,
) -> Vec<PackageFile> {
    let id = &manifest.article_id;
    manifest
        .files
        .iter()
        .filter(|f| f.role != FileRole::Xml)
        .map(|f| {
            let mut web: Vec<WebImage> = images
                .and_then(|m| m.find(&f.name))
                .map(|img| {
                    img.renditions
                        .iter()
                        .map(|r| WebImage {
                            url: asset_url(cdn_base_url, id, &r.filename),
                            filename: r.filename.clone(),
                            width: r.width,
                            height: r.height,
                        })
                        .collect()
                })
                .unwrap_or_default();
            web.sort_by_key(|w| std::cmp::Reverse(w.width));
            PackageFile {
                name: f.name.clone(),
                url: asset_url(cdn_base_url, id, &f.name),
                media_type: f.media_type.clone(),
                web,
            }
        })
        .collect()
}

/// `ConvertJATS`: the XML of the expanded folder → `article.json` beside it.
///
/// Input: `manifest_key`, `images_key` (optional: a package without
/// figures), `version`, `status`, `update_date`, `mode`.
/// Output: `article_json_key`, `doi`, `warnings` (count).
#[derive(Debug, Clone)]
pub struct ConvertJats {
    env: std::sync::Arc<crate::Env>,
}

impl ConvertJats {
    pub fn new(env: std::sync::Arc<crate::Env>) -> Self {
        ConvertJats { env }
    }

    async fn convert(&self, ctx: &crate::ActivityContext) -> Result<serde_json::Value> {
        let (_, manifest) = manifest::package(&self.env, ctx).await?;
        let images: Option<ImagesManifest> = match a::ctx_opt_str(ctx, keys::IMAGES_KEY)? {
            Some(k) => Some(manifest::read(&self.env, &k).await?),
            None => None,
        };
        let xml_file = manifest
            .xml()
            .ok_or_else(|| Error::NoXml {
                package: manifest.package.clone(),
            })?
            .clone();
        let status = match a::ctx_opt_str(ctx, keys::STATUS)? {
            Some(s) => Some(match Status::parse(&s) {
                Some(Status::Poa) => pressbot_jats::Status::Poa,
                Some(Status::Vor) => pressbot_jats::Status::Vor,
                None => {
                    return Err(Error::context(
                        keys::STATUS,
                        format!("{s:?} is neither \"poa\" nor \"vor\""),
                    ))
                }
            }),
            None => None,
        };
        let settings = &self.env.settings.activities;
        let cdn = settings.cdn_base_url.as_str();
        let id = manifest.article_id.clone();
        let files = package_files(&manifest, images.as_ref(), cdn);
        let figures_pdf = manifest
            .files
            .iter()
            .find(|f| f.role != FileRole::Pdf && is_figures_pdf(&f.name))
            .map(|f| asset_url(cdn, &id, &f.name));
        let opts = Options {
            version: a::ctx_u32(ctx, keys::VERSION)?,
            status,
            stage: if crate::cms_activities::is_preview(ctx) {
                Stage::Preview
            } else {
                Stage::Published
            },
            files,
            pdf: manifest.pdf().map(|f| asset_url(cdn, &id, &f.name)),
            figures_pdf,
            xml: Some(asset_url(cdn, &id, &xml_file.name)),
            iiif_base_url: settings.iiif_base_url.clone(),
            now: a::ctx_opt_str(ctx, keys::UPDATE_DATE)?,
        };
        let expanded = a::bucket(&self.env, "expanded")?;
        let xml = a::get(&self.env, &expanded, &xml_file.key).await?;
        let name = xml_file.name.clone();
        let conversion = a::blocking("convert JATS", move || {
            pressbot_jats::convert(&xml, &name, &opts).map_err(Error::from)
        })
        .await?;
        let article = &conversion.article;
        if !same_article_id(&article.id, &manifest.article_id) {
            return Err(Error::ArticleIdMismatch {
                xml_file: xml_file.name.clone(),
                xml_id: article.id.clone(),
                package: manifest.package.clone(),
                package_id: manifest.article_id.clone(),
            });
        }
        let body = to_json(article, &xml_file.name, "article")?;
        let warnings = to_json(&conversion.warnings, &xml_file.name, "warnings")?;
        let folder = manifest.folder.as_str();
        let key = manifest::key_in(folder, ARTICLE_JSON);
        let warnings_key = manifest::key_in(folder, WARNINGS_JSON);
        let json_put = || PutOptions {
            content_type: Some("application/json".into()),
            cache_control: None,
        };
        a::put(
            &self.env,
            &expanded,
            &warnings_key,
            bytes::Bytes::from(warnings),
            json_put(),
        )
        .await?;
        a::put(
            &self.env,
            &expanded,
            &key,
            bytes::Bytes::from(body),
            json_put(),
        )
        .await?;
        for w in conversion.warnings.iter().take(LOGGED_WARNINGS) {
            tracing::warn!(path = %w.path, file = %xml_file.name, "ConvertJATS: {}", w.message);
        }
        tracing::info!(
            doi = %article.doi,
            version = article.version,
            key = %key,
            warnings = conversion.warnings.len(),
            "article converted"
        );
        Ok(serde_json::json!({
            keys::ARTICLE_JSON_KEY: key,
            keys::DOI: article.doi,
            "warnings": conversion.warnings.len(),
        }))
    }
}

/// Pretty JSON for the expanded bucket; a failure names what it was.
fn to_json<T: serde::Serialize>(value: &T, file: &str, what: &str) -> Result<Vec<u8>> {
    serde_json::to_vec_pretty(value).map_err(|e| Error::InvalidElement {
        file: file.to_owned(),
        element: what.to_owned(),
        message: format!("cannot serialise: {e}"),
    })
}

#[async_trait::async_trait]
impl crate::Activity for ConvertJats {
    fn name(&self) -> &'static str {
        "ConvertJATS"
    }

    async fn run(
        &self,
        ctx: &crate::ActivityContext,
    ) -> std::result::Result<serde_json::Value, pressbot_core::activity::ActivityFailure> {
        Ok(self.convert(ctx).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn article_ids_compare_as_numbers() {
        assert!(same_article_id("00353", "353"));
        assert!(same_article_id("00353", "00353"));
        assert!(!same_article_id("00353", "90013"));
    }

    #[test]
    fn figures_pdfs_are_told_apart() {
        assert!(is_figures_pdf("elife-00353-figures-v1.pdf"));
        assert!(!is_figures_pdf("elife-00353-v1.pdf"));
        assert!(!is_figures_pdf("elife-00353-figures-v1.zip"));
    }
}
