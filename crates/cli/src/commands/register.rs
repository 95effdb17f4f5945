//! `pressbot register`: the domain and every workflow and activity type.

use super::Ctx;

pub async fn run(ctx: &Ctx) -> crate::Result<u8> {
    let backend = ctx.backend().await?;
    backend.workflows.register(&ctx.loaded.definitions).await?;
    println!(
        "registered {} workflow types in {}",
        ctx.loaded.definitions.iter().count(),
        ctx.loaded.settings.domain()
    );
    Ok(0)
}
