//! `pressbot put`: upload a file into a bucket, firing its notification.

use super::Ctx;
use std::path::PathBuf;

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    pub file: PathBuf,
    /// Bucket role (incoming, silent_corrections, expanded, cdn, archive) or a bucket name.
    #[arg(long, default_value = "incoming")]
    pub bucket: String,
    /// Object key (default: the file name).
    #[arg(long)]
    pub key: Option<String>,
}

pub async fn run(ctx: &Ctx, a: Args) -> crate::Result<u8> {
    let backend = ctx.backend().await?;
    let bucket = ctx.loaded.settings.bucket(&a.bucket).unwrap_or(a.bucket);
    let key = crate::ops::put_file(backend, &bucket, &a.file, a.key.as_deref()).await?;
    println!("put s3://{bucket}/{key}");
    Ok(0)
}
