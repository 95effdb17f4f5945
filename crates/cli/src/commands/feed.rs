//! `pressbot feed`: starter messages for objects already in a bucket.

use super::Ctx;
use crate::output::{print_json, OutputArgs};
use std::time::Duration;

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Bucket role (incoming, silent_corrections, ...) or bucket name.
    pub bucket: String,
    /// Only objects under this key prefix.
    #[arg(long, default_value = "")]
    pub prefix: String,
    /// Only keys matching this regular expression.
    #[arg(long)]
    pub filter: Option<String>,
    /// Seconds between two messages (decimals allowed).
    #[arg(long, default_value_t = 1.0)]
    pub rate: f64,
    /// List what would be fed, send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Start workflows even for objects whose workflow already ran.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

pub async fn run(ctx: &Ctx, a: Args) -> crate::Result<u8> {
    let filter = a
        .filter
        .as_deref()
        .map(regex::Regex::new)
        .transpose()
        .map_err(|e| crate::Error::Other(format!("--filter is not a regular expression: {e}")))?;
    if !(a.rate.is_finite() && a.rate >= 0.0) {
        return Err(crate::Error::Other(format!(
            "--rate {}: must be a number of seconds, 0 or more",
            a.rate
        )));
    }
    let backend = ctx.backend().await?;
    let options = crate::feed::FeedOptions {
        bucket: a.bucket,
        prefix: a.prefix,
        filter,
        rate: Duration::from_secs_f64(a.rate),
        dry_run: a.dry_run,
        force: a.force,
    };
    let report = crate::feed::feed(&ctx.loaded, backend, &options).await?;
    if a.output.json() {
        print_json(&report.to_json(a.dry_run));
    } else {
        print!("{}", report.render(a.dry_run));
    }
    Ok(0)
}
