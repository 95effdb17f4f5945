//! `pressbot feed`: start workflows for objects already in a bucket (a
//! backfill, or a re-run after a fix), exactly as if each had just been
//! uploaded: a starter message per object, the workflow chosen by the
//! new-file rules, sent at a gentle rate so the workers are not flooded.
//!
//! The starter message carries the object's eTag, so its workflow id is the
//! one the original upload got: feeding an object whose workflow already
//! ran starts nothing unless `force` is given.

use crate::app::Loaded;
use pressbot_core::backend::{Backend, OutgoingMessage};
use pressbot_core::messages::{S3Record, StarterMessage};
use pressbot_core::time::Timestamp;
use std::io::IsTerminal;
use std::time::Duration;

/// Options of one feed.
#[derive(Debug, Clone)]
pub struct FeedOptions {
    /// A bucket role (`incoming`, ...) or a bucket name.
    pub bucket: String,
    pub prefix: String,
    /// Only keys matching this regular expression.
    pub filter: Option<regex::Regex>,
    /// Pause between two messages.
    pub rate: Duration,
    pub dry_run: bool,
    /// Start even workflows whose id already ran (adds `"force": true`).
    pub force: bool,
}

/// What a feed did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeedReport {
    /// (key, workflow) of each message sent (or that would be, with dry run).
    pub sent: Vec<(String, String)>,
    /// Keys no new-file rule matches.
    pub no_rule: Vec<String>,
    /// Keys the filter left out.
    pub filtered_out: usize,
}

/// Send a starter message for each matching object of a bucket.
pub async fn feed(
    loaded: &Loaded,
    backend: &Backend,
    options: &FeedOptions,
) -> crate::Result<FeedReport> {
    let bucket = loaded
        .settings
        .bucket(&options.bucket)
        .unwrap_or_else(|| options.bucket.clone());
    let objects = backend.objects.list(&bucket, &options.prefix).await?;
    let mut report = FeedReport::default();
    let mut todo = Vec::new();
    for o in objects {
        if options.filter.as_ref().is_some_and(|f| !f.is_match(&o.key)) {
            report.filtered_out += 1;
            continue;
        }
        match loaded.rules.workflow_for(&bucket, &o.key) {
            Some(w) => todo.push((o, w.to_owned())),
            None => report.no_rule.push(o.key.clone()),
        }
    }
    let bar = if std::io::stderr().is_terminal() && !options.dry_run {
        let bar = indicatif::ProgressBar::new(todo.len() as u64);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {msg} (eta {eta})")
        {
            bar.set_style(style);
        }
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let queue = loaded.settings.starter_queue();
    for (i, (o, workflow)) in todo.into_iter().enumerate() {
        if !options.dry_run {
            if i > 0 && !options.rate.is_zero() {
                tokio::time::sleep(options.rate).await;
            }
            let record = S3Record {
                event_name: "ObjectCreated:Put".into(),
                event_time: crate::cron::rfc3339(Timestamp::now()),
                bucket: bucket.clone(),
                key: o.key.clone(),
                size: o.size,
                etag: Some(o.etag.clone()),
                sequencer: None,
            };
            let mut message = StarterMessage::for_s3_record(&workflow, &record);
            if options.force {
                message.workflow_data["force"] = serde_json::Value::Bool(true);
            }
            backend
                .queues
                .send(&queue, OutgoingMessage::new(message.to_json()))
                .await?;
            tracing::info!(bucket = %bucket, key = %o.key, workflow = %workflow, "fed");
            bar.set_message(o.key.clone());
            bar.inc(1);
        }
        report.sent.push((o.key, workflow));
    }
    bar.finish_and_clear();
    Ok(report)
}

impl FeedReport {
    /// The machine-readable form (`feed --output json`).
    pub fn to_json(&self, dry_run: bool) -> serde_json::Value {
        serde_json::json!({
            "dry_run": dry_run,
            "sent": self.sent.iter().map(|(key, workflow)| serde_json::json!({
                "key": key, "workflow": workflow,
            })).collect::<Vec<_>>(),
            "no_rule": self.no_rule,
            "filtered_out": self.filtered_out,
        })
    }

    pub fn render(&self, dry_run: bool) -> String {
        let mut out = String::new();
        for (k, w) in &self.sent {
            out.push_str(&format!(
                "{} {k} -> {w}\n",
                if dry_run { "would feed" } else { "fed" }
            ));
        }
        for k in &self.no_rule {
            out.push_str(&format!("skipped {k}: no new-file rule matches\n"));
        }
        out.push_str(&format!(
            "{} {}, {} without a rule, {} filtered out\n",
            self.sent.len(),
            if dry_run { "would be fed" } else { "fed" },
            self.no_rule.len(),
            self.filtered_out
        ));
        out
    }
}
