//! `pressbot create-resources`: everything the daemons need (idempotent).

use super::Ctx;

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Print what would be done, do nothing.
    #[arg(long)]
    pub dry_run: bool,
}

pub async fn run(ctx: &Ctx, a: Args) -> crate::Result<u8> {
    let backend = ctx.backend().await?;
    let dry_run = a.dry_run;
    crate::resources::ensure(
        &ctx.loaded.settings,
        &ctx.loaded.definitions,
        backend,
        dry_run,
        &mut |l| println!("{}{l}", if dry_run { "would create: " } else { "ok: " }),
    )
    .await?;
    Ok(0)
}
