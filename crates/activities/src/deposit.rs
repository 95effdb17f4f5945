//! `DepositAssets`: the web images, the JATS XML, the PDF and the
//! supplementary files go to the CDN bucket, with content types and
//! `activities.cache_control`. The XML is deposited too: it is the public
//! record of the version, and VersionLookup reads the published versions
//! from the XML/PDF names there (an article without a PDF still has one).
//!
//! CDN layout: `articles/<article id>/<file name>`. File names carry the
//! version (`elife-00353-v1.pdf`), so versions never overwrite each other and
//! the long cache lifetime is safe.

use crate::article::{self as a, keys};
use crate::error::{Error, Result};
use pressbot_core::backend::PutOptions;

pub use crate::manifest::Asset;
pub use crate::naming::cdn_key;

/// `DepositAssets`. Input: `article_id`, `manifest_key` (the XML, the PDF
/// and the supplementary files), `images_key` (the web JPEGs; absent when
/// the workflow makes none). Writes `assets.json`
/// ([`crate::manifest::AssetsManifest`]) in the expanded folder. Output:
/// `assets_key`, `asset_count`.
#[derive(Debug, Clone)]
pub struct DepositAssets {
    env: std::sync::Arc<crate::Env>,
}

impl DepositAssets {
    pub fn new(env: std::sync::Arc<crate::Env>) -> Self {
        DepositAssets { env }
    }

    async fn deposit(&self, ctx: &crate::ActivityContext) -> Result<serde_json::Value> {
        use crate::manifest::{self as m, AssetsManifest, ImagesManifest};
        let article_id = a::ctx_str(ctx, keys::ARTICLE_ID)?;
        let (_, manifest) = m::package(&self.env, ctx).await?;
        let mut sources: Vec<String> = match a::ctx_opt_str(ctx, keys::IMAGES_KEY)? {
            Some(key) => {
                let images: ImagesManifest = m::read(&self.env, &key).await?;
                images
                    .images
                    .into_iter()
                    .flat_map(|i| i.renditions.into_iter().map(|r| r.key))
                    .collect()
            }
            None => Vec::new(),
        };
        sources.extend(manifest.xml().map(|f| f.key.clone()));
        sources.extend(manifest.pdf().map(|f| f.key.clone()));
        sources.extend(manifest.supplementary().map(|f| f.key.clone()));

        let expanded = a::bucket(&self.env, "expanded")?;
        let cdn = a::bucket(&self.env, "cdn")?;
        let settings = &self.env.settings.activities;
        let mut assets = Vec::with_capacity(sources.len());
        let temp = crate::expand::temp_dir(&self.env, &manifest.package)?;
        for (i, src) in sources.iter().enumerate() {
            if ctx.cancel.is_cancelled() {
                return Err(Error::Cancelled {
                    operation: format!("depositing {src}"),
                });
            }
            let file = a::file_part(src);
            let key = cdn_key(&article_id, file);
            let content_type = a::content_type(file).to_owned();
            // Through a temp file, not memory: supplementary files (videos,
            // datasets) can be as large as the package allows.
            let objects = &self.env.backend.objects;
            let local = temp.path().join("asset");
            objects
                .get_to_file(&expanded, src, &local)
                .await
                .map_err(|e| Error::store("get", &expanded, src, e))?;
            let meta = objects
                .put_file(
                    &cdn,
                    &key,
                    &local,
                    PutOptions {
                        content_type: Some(content_type.clone()),
                        cache_control: Some(settings.cache_control.clone()),
                    },
                )
                .await
                .map_err(|e| Error::store("put", &cdn, &key, e))?;
            assets.push(Asset {
                url: crate::naming::asset_url(&settings.cdn_base_url, &article_id, file),
                key,
                content_type,
                size: meta.size,
                source: src.clone(),
            });
            ctx.progress
                .report(format!("deposited {} of {} files", i + 1, sources.len()));
        }
        let count = assets.len();
        let assets_key = m::key_in(&manifest.folder, m::ASSETS_MANIFEST);
        m::write(
            &self.env,
            &assets_key,
            &AssetsManifest {
                format: m::FORMAT,
                article_id: article_id.clone(),
                assets,
            },
        )
        .await?;
        tracing::info!(article_id = %article_id, assets = count, key = %assets_key, "assets deposited");
        Ok(serde_json::json!({
            keys::ASSETS_KEY: assets_key,
            keys::ASSET_COUNT: count,
        }))
    }
}

#[async_trait::async_trait]
impl crate::Activity for DepositAssets {
    fn name(&self) -> &'static str {
        "DepositAssets"
    }

    async fn run(
        &self,
        ctx: &crate::ActivityContext,
    ) -> std::result::Result<serde_json::Value, pressbot_core::activity::ActivityFailure> {
        Ok(self.deposit(ctx).await?)
    }
}
