//! Creating an environment's resources: buckets, queues (with dead-letter
//! queues), bucket notifications, and the registration of every workflow
//! and activity type. Idempotent, so `pressbot up` runs it on every start.

use pressbot_core::backend::Backend;
use pressbot_core::definition::Definitions;
use pressbot_core::settings::{BackendKind, Settings};

/// Make sure everything the daemons need exists. On AWS this delegates to
/// the AWS backend (which also sets queue policies and the SWF domain).
pub async fn ensure(
    settings: &Settings,
    definitions: &Definitions,
    backend: &Backend,
    dry_run: bool,
    out: &mut dyn FnMut(String),
) -> crate::Result<()> {
    if settings.backend == BackendKind::Aws {
        return pressbot_aws::create_resources(settings, definitions, dry_run, out)
            .await
            .map_err(|e| crate::Error::Aws(e.to_string()));
    }
    for bucket in settings.all_buckets() {
        out(format!("bucket {bucket}"));
        if !dry_run {
            backend.objects.create_bucket(&bucket).await?;
        }
    }
    for queue in settings.all_queues() {
        out(format!(
            "queue {queue} (dead-letter queue {} after {} receives)",
            pressbot_core::backend::dead_letter_queue_name(&queue),
            settings.queues.max_receives
        ));
        if !dry_run {
            backend
                .queues
                .create_queue(&queue, settings.queues.max_receives)
                .await?;
        }
    }
    for role in ["incoming", "silent_corrections"] {
        if let Some(bucket) = settings.bucket(role) {
            out(format!(
                "notification {bucket} -> {}",
                settings.incoming_queue()
            ));
            if !dry_run {
                backend
                    .objects
                    .set_notification(&bucket, &settings.incoming_queue())
                    .await?;
            }
        }
    }
    out(format!(
        "register {} workflow types and {} activity types in domain {}",
        definitions.iter().count(),
        definitions.activity_types().len(),
        settings.domain()
    ));
    if !dry_run {
        backend.workflows.register(definitions).await?;
    }
    Ok(())
}
