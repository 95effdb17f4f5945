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
use serde::Serialize;

/// The CDN key of an article's file (an empty `file` gives the article's prefix).
pub fn cdn_key(article_id: &str, file: &str) -> String {
    format!("articles/{article_id}/{file}")
}

/// One deposited file (`assets` in the workflow context).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Asset {
    /// Key in the CDN bucket.
    pub key: String,
    pub url: String,
    pub content_type: String,
    pub size: u64,
}

/// `DepositAssets`. Input: `article_id`, `images` (from ResizeImages),
/// `xml_key`, `pdf_key`, `supplementary`. Output: `assets` ([`Asset`] list).
#[derive(Debug, Clone)]
pub struct DepositAssets {
    env: std::sync::Arc<crate::Env>,
}

impl DepositAssets {
    pub fn new(env: std::sync::Arc<crate::Env>) -> Self {
        DepositAssets { env }
    }

    async fn deposit(&self, ctx: &crate::ActivityContext) -> Result<serde_json::Value> {
        let article_id = a::ctx_str(ctx, keys::ARTICLE_ID)?;
        let mut sources: Vec<String> = match ctx.input.context.get(keys::IMAGES) {
            None | Some(serde_json::Value::Null) => Vec::new(),
            Some(serde_json::Value::Array(items)) => items
                .iter()
                .map(|i| {
                    i.get("key")
                        .and_then(|k| k.as_str())
                        .map(str::to_owned)
                        .ok_or_else(|| {
                            Error::context(keys::IMAGES, format!("entry without a `key`: {i}"))
                        })
                })
                .collect::<Result<_>>()?,
            Some(other) => {
                return Err(Error::context(
                    keys::IMAGES,
                    format!("expected a list, got {other}"),
                ))
            }
        };
        sources.extend(a::ctx_opt_str(ctx, keys::XML_KEY)?);
        sources.extend(a::ctx_opt_str(ctx, keys::PDF_KEY)?);
        sources.extend(a::ctx_str_list(ctx, keys::SUPPLEMENTARY)?);

        let expanded = a::bucket(&self.env, "expanded")?;
        let cdn = a::bucket(&self.env, "cdn")?;
        let settings = &self.env.settings.activities;
        let mut assets = Vec::with_capacity(sources.len());
        for (i, src) in sources.iter().enumerate() {
            if ctx.cancel.is_cancelled() {
                return Err(Error::Cancelled {
                    operation: format!("depositing {src}"),
                });
            }
            let file = a::file_part(src);
            let body = a::get(&self.env, &expanded, src).await?;
            let key = cdn_key(&article_id, file);
            let content_type = a::content_type(file).to_owned();
            let meta = a::put(
                &self.env,
                &cdn,
                &key,
                body,
                PutOptions {
                    content_type: Some(content_type.clone()),
                    cache_control: Some(settings.cache_control.clone()),
                },
            )
            .await?;
            assets.push(Asset {
                url: crate::jats::asset_url(&settings.cdn_base_url, &article_id, file),
                key,
                content_type,
                size: meta.size,
            });
            ctx.progress
                .report(format!("deposited {} of {} files", i + 1, sources.len()));
        }
        tracing::info!(article_id = %article_id, assets = assets.len(), "assets deposited");
        Ok(serde_json::json!({ keys::ASSETS: assets }))
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
