//! The dashboard's store: one JSON record per article, folded from the
//! event-monitor queue's messages and kept in the object store (the
//! expanded bucket, under [`PREFIX`]), so it lives in whichever backend the
//! installation runs on and survives a restart of the dashboard.
//!
//! Folding is idempotent (a message already folded, recognised by its
//! `message_id`, changes nothing) because a queue delivers at least once:
//! a message whose delete failed comes back.

use pressbot_core::backend::{Backend, PutOptions};
use pressbot_core::messages::{DashboardMessage, EventStatus};
use pressbot_core::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Key prefix of the article records in the expanded bucket.
pub const PREFIX: &str = "dashboard/articles/";

/// Events kept per version: enough to see how the last runs went, bounded
/// so a record stays small however often an article is re-run.
pub const EVENTS_KEPT: usize = 100;

/// Longest item identifier accepted: an identifier is part of an object key.
const MAX_ID_CHARS: usize = 200;

/// What the dashboard knows of one article, from its messages.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ArticleRecord {
    pub id: String,
    /// By version as the messages spell it (`""` before VersionLookup).
    pub versions: BTreeMap<String, VersionRecord>,
    /// When a message last changed this record (the dashboard's clock).
    pub updated: String,
}

/// One version of an article.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VersionRecord {
    /// Properties set by activities, e.g. `publication-status`.
    pub properties: BTreeMap<String, String>,
    /// Activity events, oldest first, at most [`EVENTS_KEPT`].
    pub events: Vec<EventRecord>,
    /// `message_id`s of the property messages folded (bounded like events),
    /// so a redelivered property does not override a newer one.
    #[serde(default)]
    pub property_ids: Vec<String>,
}

/// One start / end / error event of an activity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRecord {
    pub run: String,
    pub step: String,
    pub status: EventStatus,
    pub timestamp: String,
    pub message: String,
    pub message_id: String,
}

impl VersionRecord {
    /// `publication-status`, if an activity set it.
    pub fn publication_status(&self) -> Option<&str> {
        self.properties
            .get("publication-status")
            .map(String::as_str)
    }
}

/// Parse a queue message body as a dashboard message, refusing what the
/// store could not hold: a malformed message is dead-lettered with this
/// reason, never dropped.
pub fn parse(body: &str) -> Result<DashboardMessage, String> {
    let m: DashboardMessage =
        serde_json::from_str(body).map_err(|e| format!("not a dashboard message: {e}"))?;
    let id = article_id(&m);
    if id.trim().is_empty() {
        return Err("dashboard message with an empty item_identifier".into());
    }
    if id.chars().count() > MAX_ID_CHARS || id.chars().any(char::is_control) {
        return Err(format!(
            "dashboard message item_identifier {:?} is not an identifier (control characters or over {MAX_ID_CHARS} characters)",
            id.chars().take(80).collect::<String>()
        ));
    }
    Ok(m)
}

/// The article a message is about.
pub fn article_id(m: &DashboardMessage) -> &str {
    match m {
        DashboardMessage::Event {
            item_identifier, ..
        }
        | DashboardMessage::Property {
            item_identifier, ..
        } => item_identifier,
    }
}

/// Fold one message into its article's record (a new record when `None`).
/// Returns whether the record changed.
pub fn fold(record: &mut ArticleRecord, m: &DashboardMessage) -> bool {
    if record.id.is_empty() {
        record.id = article_id(m).to_owned();
    }
    let changed = match m {
        DashboardMessage::Event {
            version,
            run,
            event_type,
            timestamp,
            status,
            message,
            message_id,
            ..
        } => {
            let v = record.versions.entry(version.clone()).or_default();
            if v.events.iter().any(|e| &e.message_id == message_id) {
                false
            } else {
                v.events.push(EventRecord {
                    run: run.clone(),
                    step: event_type.clone(),
                    status: *status,
                    timestamp: timestamp.clone(),
                    message: message.clone(),
                    message_id: message_id.clone(),
                });
                // Messages of one batch may arrive out of order: keep the
                // timeline in event time (RFC 3339 strings sort as times).
                v.events.sort_by(|a, b| a.timestamp.cmp(&b.timestamp));
                let excess = v.events.len().saturating_sub(EVENTS_KEPT);
                v.events.drain(..excess);
                true
            }
        }
        DashboardMessage::Property {
            version,
            name,
            value,
            message_id,
            ..
        } => {
            let v = record.versions.entry(version.clone()).or_default();
            if v.property_ids.contains(message_id) {
                false
            } else {
                v.properties.insert(name.clone(), value.clone());
                v.property_ids.push(message_id.clone());
                let excess = v.property_ids.len().saturating_sub(EVENTS_KEPT);
                v.property_ids.drain(..excess);
                true
            }
        }
    };
    if changed {
        record.updated = Timestamp::now().to_string();
    }
    changed
}

/// The object key of an article's record. The identifier is
/// percent-encoded (all but `[A-Za-z0-9._-]`), so an identifier with `/`
/// or `..` (a workflow id stands in before VersionLookup) stays one key.
pub fn key(id: &str) -> String {
    let mut out = String::from(PREFIX);
    for b in id.bytes() {
        if b.is_ascii_alphanumeric()
            || b == b'-'
            || b == b'_'
            || (b == b'.' && !id.starts_with('.'))
        {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out.push_str(".json");
    out
}

/// Where the records live: the expanded bucket of `backend`.
#[derive(Debug, Clone)]
pub struct Store {
    pub backend: Backend,
    pub bucket: String,
}

impl Store {
    /// An article's record; a missing one is empty, an unreadable one is an
    /// error (never silently replaced: its history would be lost).
    pub async fn load(&self, id: &str) -> crate::Result<ArticleRecord> {
        let key = key(id);
        match self.backend.objects.get(&self.bucket, &key).await {
            Ok(o) => serde_json::from_slice(&o.body).map_err(|e| crate::Error::Dashboard {
                context: format!("s3://{}/{key} is not a dashboard record", self.bucket),
                message: e.to_string(),
            }),
            Err(pressbot_core::Error::NotFound { .. }) => Ok(ArticleRecord::default()),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn save(&self, record: &ArticleRecord) -> crate::Result<()> {
        let key = key(&record.id);
        let body = serde_json::to_vec(record).map_err(|e| crate::Error::Dashboard {
            context: format!("serialising s3://{}/{key}", self.bucket),
            message: e.to_string(),
        })?;
        self.backend
            .objects
            .put(
                &self.bucket,
                &key,
                body.into(),
                PutOptions {
                    content_type: Some("application/json".into()),
                    cache_control: Some("no-store".into()),
                },
            )
            .await?;
        Ok(())
    }

    /// Every record. One that cannot be read is logged and left out: a
    /// page with one article missing beats no page. Records whose eTag the
    /// `cache` already holds are not fetched again: the page asks every
    /// few seconds, and most records have not changed since.
    pub async fn all(&self, cache: &RecordCache) -> crate::Result<Vec<ArticleRecord>> {
        let listed = self.backend.objects.list(&self.bucket, PREFIX).await?;
        let mut records = Vec::with_capacity(listed.len());
        let mut fresh = std::collections::HashMap::with_capacity(listed.len());
        let known = cache.take();
        for meta in listed {
            if let Some((etag, r)) = known.get(&meta.key) {
                if *etag == meta.etag {
                    records.push(r.clone());
                    fresh.insert(meta.key, (meta.etag, r.clone()));
                    continue;
                }
            }
            match self.backend.objects.get(&self.bucket, &meta.key).await {
                Ok(o) => match serde_json::from_slice::<ArticleRecord>(&o.body) {
                    Ok(r) => {
                        fresh.insert(meta.key, (o.meta.etag, r.clone()));
                        records.push(r);
                    }
                    Err(e) => {
                        tracing::warn!(key = %meta.key, error = %e, "dashboard record unreadable; left out")
                    }
                },
                Err(e) => {
                    tracing::warn!(key = %meta.key, error = %e, "dashboard record not read; left out")
                }
            }
        }
        cache.put(fresh);
        Ok(records)
    }
}

/// The records last read, by key, with their eTags (see [`Store::all`]).
#[derive(Debug, Default)]
pub struct RecordCache {
    records: std::sync::Mutex<std::collections::HashMap<String, (String, ArticleRecord)>>,
}

impl RecordCache {
    fn take(&self) -> std::collections::HashMap<String, (String, ArticleRecord)> {
        self.records
            .lock()
            .map(|mut m| std::mem::take(&mut *m))
            .unwrap_or_default()
    }

    fn put(&self, fresh: std::collections::HashMap<String, (String, ArticleRecord)>) {
        if let Ok(mut m) = self.records.lock() {
            *m = fresh;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(
        id: &str,
        version: &str,
        step: &str,
        status: EventStatus,
        mid: &str,
        t: &str,
    ) -> String {
        serde_json::to_string(&DashboardMessage::Event {
            item_identifier: id.into(),
            version: version.into(),
            run: "run-1".into(),
            event_type: step.into(),
            timestamp: t.into(),
            status,
            message: "m".into(),
            message_id: mid.into(),
        })
        .expect("json")
    }

    fn property(id: &str, value: &str, mid: &str) -> String {
        serde_json::to_string(&DashboardMessage::Property {
            item_identifier: id.into(),
            version: "1".into(),
            name: "publication-status".into(),
            value: value.into(),
            property_type: "text".into(),
            message_id: mid.into(),
        })
        .expect("json")
    }

    fn fold_all(bodies: &[String]) -> ArticleRecord {
        let mut r = ArticleRecord::default();
        for b in bodies {
            fold(&mut r, &parse(b).expect("parses"));
        }
        r
    }

    #[test]
    fn events_and_properties_fold_into_versions() {
        let r = fold_all(&[
            event(
                "00353",
                "1",
                "ExpandArticle",
                EventStatus::End,
                "b",
                "2026-01-01T00:00:02Z",
            ),
            event(
                "00353",
                "1",
                "ExpandArticle",
                EventStatus::Start,
                "a",
                "2026-01-01T00:00:01Z",
            ),
            property("00353", "ready to publish", "p1"),
            property("00353", "published", "p2"),
        ]);
        assert_eq!(r.id, "00353");
        let v = &r.versions["1"];
        assert_eq!(v.publication_status(), Some("published"));
        // In event time, whatever the arrival order.
        let statuses: Vec<_> = v.events.iter().map(|e| e.status).collect();
        assert_eq!(statuses, [EventStatus::Start, EventStatus::End]);
    }

    #[test]
    fn a_redelivered_message_changes_nothing() {
        let mut r = fold_all(&[
            property("00353", "ready to publish", "p1"),
            property("00353", "published", "p2"),
        ]);
        let before = r.clone();
        // p1 again (its delete failed): must not set the status back.
        assert!(!fold(
            &mut r,
            &parse(&property("00353", "ready to publish", "p1")).expect("parses")
        ));
        assert_eq!(r, before);
        // An event folded twice is kept once.
        let e = parse(&event("00353", "1", "S", EventStatus::Start, "e1", "t")).expect("parses");
        assert!(fold(&mut r, &e));
        assert!(!fold(&mut r, &e));
        assert_eq!(r.versions["1"].events.len(), 1);
        assert_eq!(
            r.versions["1"].publication_status(),
            before.versions["1"].publication_status()
        );
    }

    #[test]
    fn events_are_bounded() {
        let bodies: Vec<String> = (0..EVENTS_KEPT + 20)
            .map(|i| {
                event(
                    "7",
                    "1",
                    "S",
                    EventStatus::Start,
                    &i.to_string(),
                    &format!("2026-01-01T00:{:02}:{:02}Z", i / 60, i % 60),
                )
            })
            .collect();
        let r = fold_all(&bodies);
        assert_eq!(r.versions["1"].events.len(), EVENTS_KEPT);
        assert_eq!(r.versions["1"].events[0].message_id, "20");
    }

    #[test]
    fn malformed_messages_are_refused_with_a_reason() {
        for (body, want) in [
            ("not json", "not a dashboard message"),
            (r#"{"message_type":"gossip"}"#, "not a dashboard message"),
            (
                r#"{"message_type":"event","item_identifier":"1"}"#,
                "not a dashboard message",
            ),
            (&property("", "published", "x"), "empty item_identifier"),
            (&property("a\u{0}b", "published", "x"), "not an identifier"),
        ] {
            let e = parse(body).expect_err(body);
            assert!(e.contains(want), "{body}: {e}");
        }
    }

    #[test]
    fn keys_stay_under_the_prefix() {
        assert_eq!(key("00353"), "dashboard/articles/00353.json");
        assert_eq!(key("a/../b"), "dashboard/articles/a%2F..%2Fb.json");
        assert_eq!(key(".."), "dashboard/articles/%2E%2E.json");
    }
}
