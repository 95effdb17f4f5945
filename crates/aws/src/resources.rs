//! `pressbot create-resources`: every bucket, queue, notification, the SWF
//! domain and type of an environment, created if missing. Idempotent: a
//! second run changes nothing and fails on nothing, so it is safe to run on
//! every deploy. A dry run only reads, and prints what a real run would do.

use crate::error::AwsError;
use crate::AwsBackend;
use pressbot_core::backend::dead_letter_queue_name;
use pressbot_core::definition::Definitions;
use pressbot_core::settings::Settings;

/// Connect with the standard credential chain and create (or, with
/// `dry_run`, plan) every resource of the environment; one line per
/// resource goes to `out`.
pub async fn create_resources(
    settings: &Settings,
    definitions: &Definitions,
    dry_run: bool,
    out: &mut dyn FnMut(String),
) -> Result<(), AwsError> {
    let backend = AwsBackend::connect(settings).await?;
    backend
        .create_resources(settings, definitions, dry_run, out)
        .await
}

/// The buckets whose new objects feed the incoming queue.
fn notified_buckets(settings: &Settings) -> Vec<String> {
    ["incoming", "silent_corrections"]
        .iter()
        .filter_map(|r| settings.bucket(r))
        .collect()
}

impl AwsBackend {
    /// [`create_resources`] with these clients (tests use moto's).
    pub async fn create_resources(
        &self,
        settings: &Settings,
        definitions: &Definitions,
        dry_run: bool,
        out: &mut dyn FnMut(String),
    ) -> Result<(), AwsError> {
        if dry_run {
            out(format!(
                "dry run: nothing is changed (env {}, region {}, prefix {})",
                settings.env, self.inner.region, settings.prefix
            ));
            return self.plan_resources(settings, definitions, out).await;
        }
        let max_receives = settings.queues.max_receives;
        for bucket in settings.all_buckets() {
            if self.ensure_bucket(&bucket).await? {
                out(format!("created bucket {bucket}"));
            } else {
                out(format!("ok bucket {bucket}"));
            }
        }
        for queue in settings.all_queues() {
            let changes = self.ensure_queue(&queue, max_receives).await?;
            if changes.is_empty() {
                out(format!(
                    "ok queue {queue} (dead-letter queue {} after {max_receives} receives)",
                    dead_letter_queue_name(&queue)
                ));
            }
            changes.into_iter().for_each(&mut *out);
        }
        let incoming = settings.incoming_queue();
        for bucket in notified_buckets(settings) {
            let changes = self.ensure_notification(&bucket, &incoming).await?;
            if changes.is_empty() {
                out(format!("ok notification {bucket} -> {incoming}"));
            }
            changes.into_iter().for_each(&mut *out);
        }
        let domain = self.domain().to_owned();
        if self.register_domain().await? {
            out(format!(
                "registered SWF domain {domain} (retention {} days)",
                settings.swf.retention_days
            ));
        } else {
            out(format!("ok SWF domain {domain}"));
        }
        for def in definitions.iter() {
            let t = def.workflow_type();
            if self.register_workflow_type(def).await? {
                out(format!("registered workflow type {t}"));
            } else {
                out(format!("ok workflow type {t}"));
            }
        }
        for (t, task_list) in definitions.activity_types() {
            if self.register_activity_type(&t, &task_list).await? {
                out(format!(
                    "registered activity type {t} (task list {task_list})"
                ));
            } else {
                out(format!("ok activity type {t}"));
            }
        }
        Ok(())
    }

    /// The dry run: read what exists and say what a real run would do.
    async fn plan_resources(
        &self,
        settings: &Settings,
        definitions: &Definitions,
        out: &mut dyn FnMut(String),
    ) -> Result<(), AwsError> {
        let max_receives = settings.queues.max_receives;
        let mut buckets_present = Vec::new();
        for bucket in settings.all_buckets() {
            if self.bucket_exists(&bucket).await? {
                buckets_present.push(bucket.clone());
                out(format!("ok bucket {bucket}"));
            } else {
                out(format!("would create bucket {bucket}"));
            }
        }
        for queue in settings.all_queues() {
            let dlq = dead_letter_queue_name(&queue);
            let mut both = true;
            for name in [&dlq, &queue] {
                if self.lookup_queue_url(name).await?.is_some() {
                    out(format!("ok queue {name}"));
                } else {
                    both = false;
                    out(format!("would create queue {name}"));
                }
            }
            if both && self.redrive_is(&queue, &dlq, max_receives).await? {
                out(format!(
                    "ok redrive policy of {queue}: to {dlq} after {max_receives} receives"
                ));
            } else {
                out(format!(
                    "would set redrive policy of {queue}: to {dlq} after {max_receives} receives"
                ));
            }
        }
        let incoming = settings.incoming_queue();
        let queue_arn = match self.lookup_queue_url(&incoming).await? {
            Some(_) => Some(self.queue_arn(&incoming).await?),
            None => None,
        };
        for bucket in notified_buckets(settings) {
            let exists = match &queue_arn {
                Some(arn) if buckets_present.contains(&bucket) => {
                    self.notification_exists(&bucket, arn).await?
                }
                _ => false,
            };
            if exists {
                out(format!("ok notification {bucket} -> {incoming}"));
            } else {
                out(format!(
                    "would notify {incoming} of every object created in {bucket} (and allow it in the queue policy)"
                ));
            }
        }
        let domain = self.domain().to_owned();
        let domain_exists = self.domain_exists().await?;
        if domain_exists {
            out(format!("ok SWF domain {domain}"));
        } else {
            out(format!(
                "would register SWF domain {domain} (retention {} days)",
                settings.swf.retention_days
            ));
        }
        for def in definitions.iter() {
            let t = def.workflow_type();
            if domain_exists && self.workflow_type_exists(&t).await? {
                out(format!("ok workflow type {t}"));
            } else {
                out(format!("would register workflow type {t}"));
            }
        }
        for (t, task_list) in definitions.activity_types() {
            if domain_exists && self.activity_type_exists(&t).await? {
                out(format!("ok activity type {t}"));
            } else {
                out(format!(
                    "would register activity type {t} (task list {task_list})"
                ));
            }
        }
        Ok(())
    }
}
