//! `pressbot presign`: a presigned GET URL of one object.

use super::Ctx;
use pressbot_core::time::Timestamp;
use std::time::Duration;

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Bucket role (incoming, expanded, cdn, archive, ...) or bucket name.
    pub bucket: String,
    /// Object key.
    pub key: String,
    /// How long the URL works (e.g. "15m", "2h", at most "7d"; default: activities.presign_expiry).
    #[arg(long, value_parser = humantime::parse_duration)]
    pub expires: Option<Duration>,
}

/// Print a presigned GET URL for one object, for handing a package or PDF
/// to someone without credentials. Checks the object exists first, so a
/// typo fails here rather than in the colleague's browser.
pub async fn run(ctx: &Ctx, a: Args) -> crate::Result<u8> {
    let loaded = &ctx.loaded;
    let expires = a
        .expires
        .unwrap_or(loaded.settings.activities.presign_expiry);
    let backend = ctx.backend().await?;
    let bucket = loaded.settings.bucket(&a.bucket).unwrap_or(a.bucket);
    if backend.objects.head(&bucket, &a.key).await?.is_none() {
        return Err(crate::Error::Other(format!(
            "no object s3://{bucket}/{}: nothing to presign",
            a.key
        )));
    }
    let url = backend
        .objects
        .presign_get(&bucket, &a.key, expires)
        .await?;
    println!("{url}");
    eprintln!(
        "valid for {} (until {})",
        humantime::format_duration(expires),
        Timestamp::now().plus(expires)
    );
    Ok(0)
}
