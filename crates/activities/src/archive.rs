//! `ArchiveArticle`: the original package is kept, unchanged, in the
//! archive bucket under `<article id>/<YYYYmmddHHMMSS>-<package name>`
//! (the time of archiving, UTC), e.g.
//! `00353/20261123201500-elife-00353-vor-v1-20121213000000.zip`. The
//! timestamp prefix keeps every supply of the same name (re-supplies,
//! silent corrections) and sorts them in arrival order.

use crate::article::{self as a, keys};
use crate::error::{Error, Result};

/// The archive key of a package archived at `at`.
pub fn archive_key(article_id: &str, package: &str, at: jiff::Timestamp) -> String {
    format!(
        "{article_id}/{}-{}",
        at.strftime("%Y%m%d%H%M%S"),
        a::file_part(package)
    )
}

/// `ArchiveArticle`. Input: `bucket_name`, `file_name`, `file_etag`
/// (optional), `article_id` (else read from the name). Output: `archive_key`.
///
/// A retried attempt that finds the package already archived (same name,
/// same ETag) reuses that copy instead of making another.
#[derive(Debug, Clone)]
pub struct ArchiveArticle {
    env: std::sync::Arc<crate::Env>,
}

impl ArchiveArticle {
    pub fn new(env: std::sync::Arc<crate::Env>) -> Self {
        ArchiveArticle { env }
    }

    async fn archive(&self, ctx: &crate::ActivityContext) -> Result<serde_json::Value> {
        let bucket_name = a::ctx_str(ctx, keys::BUCKET_NAME)?;
        let file_name = a::ctx_str(ctx, keys::FILE_NAME)?;
        let article_id = match a::ctx_opt_str(ctx, keys::ARTICLE_ID)? {
            Some(id) => id,
            None => crate::naming::parse_package_name(&file_name)?.article_id,
        };
        let archive = a::bucket(&self.env, "archive")?;
        let objects = &self.env.backend.objects;
        let source = objects
            .head(&bucket_name, &file_name)
            .await
            .map_err(|e| Error::store("head", &bucket_name, &file_name, e))?
            .ok_or_else(|| {
                Error::store(
                    "head",
                    &bucket_name,
                    &file_name,
                    pressbot_core::Error::NotFound {
                        what: "object",
                        name: format!("{bucket_name}/{file_name}"),
                    },
                )
            })?;
        let suffix = format!("-{}", a::file_part(&file_name));
        let existing = a::list(&self.env, &archive, &format!("{article_id}/")).await?;
        if let Some(done) = existing
            .iter()
            .rev()
            .find(|o| o.key.ends_with(&suffix) && o.etag == source.etag && o.size == source.size)
        {
            tracing::info!(key = %done.key, "package already archived");
            return Ok(serde_json::json!({ keys::ARCHIVE_KEY: done.key }));
        }
        let key = archive_key(&article_id, &file_name, jiff::Timestamp::now());
        objects
            .copy(&bucket_name, &file_name, &archive, &key)
            .await
            .map_err(|e| Error::store("copy", &bucket_name, &file_name, e))?;
        tracing::info!(package = %file_name, key = %key, "package archived");
        Ok(serde_json::json!({ keys::ARCHIVE_KEY: key }))
    }
}

#[async_trait::async_trait]
impl crate::Activity for ArchiveArticle {
    fn name(&self) -> &'static str {
        "ArchiveArticle"
    }

    async fn run(
        &self,
        ctx: &crate::ActivityContext,
    ) -> std::result::Result<serde_json::Value, pressbot_core::activity::ActivityFailure> {
        Ok(self.archive(ctx).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_key_is_timestamped() {
        let at: jiff::Timestamp = "2026-11-23T20:15:00Z".parse().unwrap();
        assert_eq!(
            archive_key("00353", "in/elife-00353-vor-v1-20121213000000.zip", at),
            "00353/20261123201500-elife-00353-vor-v1-20121213000000.zip"
        );
    }
}
