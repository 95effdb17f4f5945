//! SQS semantics on SQLite: named queues, each created with a dead-letter
//! queue; long-poll receive with a visibility timeout; redrive to the
//! dead-letter queue after `max_receives` receives.
//!
//! Receipt handles: every receive issues a new receipt and the previous one
//! of that message stops working. As in SQS, `delete` with a stale (or
//! unknown) receipt succeeds without deleting anything (SQS: "the request
//! succeeds, but the message might not be deleted"), because the message is
//! by then someone else's to delete; `change_visibility` with a stale
//! receipt, or on a message no longer in flight, fails with
//! `Error::NotFound { what: "in-flight message", .. }` (SQS answers
//! `MessageNotInflight` / `ReceiptHandleIsInvalid`).

use crate::db::{ms, Ctx};
use crate::wake::Topics;
use crate::{LocalBackend, LocalError};
use async_trait::async_trait;
use pressbot_core::backend::{
    dead_letter_queue_name, OutgoingMessage, QueueDepth, QueueService, ReceivedMessage,
};
use pressbot_core::time::Timestamp;
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use std::collections::BTreeMap;
use std::time::Duration;

/// SQS's limit on a message body (256 KiB).
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// SQS's longest delivery delay.
pub const MAX_DELAY: Duration = Duration::from_secs(15 * 60);
/// SQS's longest visibility timeout.
pub const MAX_VISIBILITY: Duration = Duration::from_secs(12 * 60 * 60);
/// SQS's longest queue name.
pub const MAX_QUEUE_NAME: usize = 80;

/// A queue's redrive settings.
pub(crate) struct QueueRow {
    max_receives: Option<i64>,
    dead_letter: Option<String>,
}

pub(crate) fn queue_row(conn: &Connection, name: &str) -> Result<QueueRow, LocalError> {
    conn.prepare_cached("SELECT max_receives, dead_letter FROM queues WHERE name = ?1")?
        .query_row([name], |r| {
            Ok(QueueRow {
                max_receives: r.get(0)?,
                dead_letter: r.get(1)?,
            })
        })
        .optional()?
        .ok_or_else(|| LocalError::NotFound {
            what: "queue",
            name: name.to_owned(),
        })
}

fn validate_name(operation: &'static str, name: &str) -> Result<(), LocalError> {
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    // Room for the dead-letter suffix, so every queue can have one.
    let max = MAX_QUEUE_NAME - (dead_letter_queue_name("").len());
    if name.is_empty() || name.len() > max || !ok_chars {
        return Err(LocalError::invalid(
            operation,
            "queue name",
            name,
            format!("must be 1..={max} characters of A-Z, a-z, 0-9, '-' and '_'"),
        ));
    }
    Ok(())
}

/// Insert a message into a queue in the caller's transaction. Used by
/// `send` and by the object store for bucket notifications, so an object
/// and its event commit together.
pub(crate) fn enqueue(
    tx: &Transaction<'_>,
    queue: &str,
    now: Timestamp,
    message: &OutgoingMessage,
) -> Result<String, LocalError> {
    queue_row(tx, queue)?;
    let id = uuid::Uuid::new_v4().to_string();
    let attributes =
        serde_json::to_string(&message.attributes).map_err(|e| LocalError::Corrupt {
            operation: "send",
            what: "message attributes",
            message: e.to_string(),
        })?;
    let visible_at = now.plus(message.delay.unwrap_or_default());
    tx.prepare_cached(
        "INSERT INTO messages (queue, message_id, body, attributes, sent, visible_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        queue,
        id,
        message.body,
        attributes,
        now.0,
        visible_at.0
    ])?;
    Ok(id)
}

type MessageRow = (i64, String, String, String, i64, i64);

fn try_receive(
    conn: &mut Connection,
    ctx: &Ctx,
    queue: &str,
    max: usize,
    visibility: Duration,
) -> Result<Option<Vec<ReceivedMessage>>, LocalError> {
    let now = ctx.now();
    queue_row(conn, queue)?;
    let ready: bool = conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM messages WHERE queue = ?1 AND visible_at <= ?2)",
        )?
        .query_row(params![queue, now.0], |r| r.get(0))?;
    if !ready {
        // Sleep no longer than until a delayed or in-flight message shows.
        let next: Option<i64> = conn
            .prepare_cached(
                "SELECT MIN(visible_at) FROM messages WHERE queue = ?1 AND visible_at > ?2",
            )?
            .query_row(params![queue, now.0], |r| r.get(0))?;
        ctx.set_next_due(next);
        return Ok(None);
    }
    let tx = ctx.begin(conn)?;
    let now = ctx.now();
    let q = queue_row(&tx, queue)?;
    let mut out = Vec::new();
    let mut moved = 0usize;
    let mut delivered: Vec<i64> = Vec::new();
    loop {
        let want = max - out.len();
        let batch: Vec<MessageRow> = {
            // With a zero visibility timeout a delivered message stays
            // visible: never hand out the same one twice in one batch.
            let exclude = if delivered.is_empty() {
                String::new()
            } else {
                let ids: Vec<String> = delivered.iter().map(i64::to_string).collect();
                format!(" AND id NOT IN ({})", ids.join(","))
            };
            let mut stmt = tx.prepare(&format!(
                "SELECT id, message_id, body, attributes, sent, receive_count FROM messages
                 WHERE queue = ?1 AND visible_at <= ?2{exclude} ORDER BY visible_at, id LIMIT ?3"
            ))?;
            let rows = stmt.query_map(params![queue, now.0, want as i64], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        if batch.is_empty() {
            break;
        }
        for (row_id, message_id, body, attributes, sent, count) in batch {
            if let (Some(limit), Some(dlq)) = (q.max_receives, q.dead_letter.as_deref()) {
                if count >= limit {
                    // Redrive, as SQS does on the receive that would exceed the limit.
                    tx.prepare_cached("UPDATE messages SET queue = ?2, receipt = NULL, visible_at = ?3 WHERE id = ?1")?.execute(params![row_id, dlq, now.0])?;
                    tracing::warn!(queue, dead_letter_queue = dlq, message_id = %message_id, receive_count = count, "message moved to the dead-letter queue");
                    moved += 1;
                    continue;
                }
            }
            delivered.push(row_id);
            let receipt = format!("{message_id}#{}", uuid::Uuid::new_v4().simple());
            tx.prepare_cached("UPDATE messages SET receive_count = receive_count + 1, receipt = ?2, visible_at = ?3
                 WHERE id = ?1")?.execute(params![row_id, receipt, now.plus(visibility).0])?;
            let attributes: BTreeMap<String, String> =
                serde_json::from_str(&attributes).map_err(|e| LocalError::Corrupt {
                    operation: "receive",
                    what: "message attributes",
                    message: format!("message {message_id}: {e}"),
                })?;
            out.push(ReceivedMessage {
                id: message_id,
                receipt,
                body,
                attributes,
                receive_count: u32::try_from(count + 1).unwrap_or(u32::MAX),
                sent: Timestamp(sent),
            });
        }
        if out.len() >= max {
            break;
        }
    }
    if out.is_empty() && moved == 0 {
        return Ok(None);
    }
    if ctx.abandoned() {
        // The receiver is gone: roll back so the messages stay visible.
        return Ok(None);
    }
    if !out.is_empty() {
        // Received messages show again when their visibility times out.
        ctx.note_deadline(now.plus(visibility).0, Topics::QUEUE);
    }
    tx.commit()?;
    let moved = if moved > 0 {
        Topics::QUEUE
    } else {
        Topics::NONE
    };
    ctx.wake_for(moved | ctx.take_deadline_wake());
    Ok((!out.is_empty()).then_some(out))
}

/// Make messages received by a poll that went away visible again, as if
/// that receive never happened.
fn release_messages(
    conn: &mut Connection,
    ctx: &Ctx,
    messages: Vec<ReceivedMessage>,
) -> Result<(), LocalError> {
    let tx = ctx.begin(conn)?;
    for m in &messages {
        tx.prepare_cached(
            "UPDATE messages SET visible_at = ?2, receipt = NULL,
                receive_count = MAX(receive_count - 1, 0)
             WHERE receipt = ?1",
        )?
        .execute(params![m.receipt, ctx.now().0])?;
    }
    tx.commit()?;
    ctx.wake_for(Topics::QUEUE);
    Ok(())
}

fn depth(conn: &Connection, queue: &str, now: Timestamp) -> Result<QueueDepth, LocalError> {
    queue_row(conn, queue)?;
    let (visible, in_flight, delayed): (i64, i64, i64) = conn
        .prepare_cached(
            "SELECT
            COALESCE(SUM(visible_at <= ?2), 0),
            COALESCE(SUM(visible_at > ?2 AND receipt IS NOT NULL), 0),
            COALESCE(SUM(visible_at > ?2 AND receipt IS NULL), 0)
         FROM messages WHERE queue = ?1",
        )?
        .query_row(params![queue, now.0], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
    let n = |v: i64| u64::try_from(v).unwrap_or(0);
    Ok(QueueDepth {
        visible: n(visible),
        in_flight: n(in_flight),
        delayed: n(delayed),
    })
}

#[async_trait]
impl QueueService for LocalBackend {
    async fn receive(
        &self,
        queue: &str,
        max: usize,
        wait: Duration,
        visibility: Duration,
    ) -> pressbot_core::Result<Vec<ReceivedMessage>> {
        if !(1..=10).contains(&max) {
            return Err(
                LocalError::invalid("receive", "max", max.to_string(), "must be 1..=10").into(),
            );
        }
        if visibility > MAX_VISIBILITY {
            return Err(LocalError::invalid(
                "receive",
                "visibility timeout",
                format!("{visibility:?}"),
                "must be at most 12h",
            )
            .into());
        }
        let name = queue.to_owned();
        let got = self
            .long_poll(
                "receive",
                queue,
                Topics::QUEUE,
                wait,
                move |c, ctx| try_receive(c, ctx, &name, max, visibility),
                release_messages,
            )
            .await?;
        Ok(got.unwrap_or_default())
    }

    async fn send(&self, queue: &str, message: OutgoingMessage) -> pressbot_core::Result<String> {
        if message.body.len() > MAX_BODY_BYTES {
            return Err(LocalError::invalid(
                "send",
                "message body",
                format!("{} bytes", message.body.len()),
                format!("must be at most {MAX_BODY_BYTES} bytes"),
            )
            .into());
        }
        if message.delay.is_some_and(|d| d > MAX_DELAY) {
            return Err(LocalError::invalid(
                "send",
                "delay",
                format!("{:?}", message.delay.unwrap_or_default()),
                "must be at most 15m",
            )
            .into());
        }
        let name = queue.to_owned();
        Ok(self
            .run("send", queue.to_owned(), move |c, ctx| {
                let tx = ctx.begin(c)?;
                let id = enqueue(&tx, &name, ctx.now(), &message)?;
                tx.commit()?;
                ctx.wake_for(Topics::QUEUE);
                Ok(id)
            })
            .await?)
    }

    async fn delete(&self, queue: &str, receipt: &str) -> pressbot_core::Result<()> {
        let (name, receipt) = (queue.to_owned(), receipt.to_owned());
        Ok(self
            .run("delete", queue.to_owned(), move |c, _ctx| {
                queue_row(c, &name)?;
                let n = c.prepare_cached("DELETE FROM messages WHERE queue = ?1 AND receipt = ?2")?.execute(params![name, receipt])?;
                if n == 0 {
                    tracing::debug!(queue = %name, receipt = %receipt, "delete with a stale receipt: nothing deleted");
                }
                Ok(())
            })
            .await?)
    }

    async fn change_visibility(
        &self,
        queue: &str,
        receipt: &str,
        visibility: Duration,
    ) -> pressbot_core::Result<()> {
        if visibility > MAX_VISIBILITY {
            return Err(LocalError::invalid(
                "change_visibility",
                "visibility timeout",
                format!("{visibility:?}"),
                "must be at most 12h",
            )
            .into());
        }
        let (name, receipt) = (queue.to_owned(), receipt.to_owned());
        Ok(self
            .run("change_visibility", queue.to_owned(), move |c, ctx| {
                queue_row(c, &name)?;
                let n = c
                    .prepare_cached(
                        "UPDATE messages SET visible_at = ?3
                     WHERE queue = ?1 AND receipt = ?2 AND visible_at > ?4",
                    )?
                    .execute(params![
                        name,
                        receipt,
                        ctx.now().0 + ms(visibility),
                        ctx.now().0
                    ])?;
                if n == 0 {
                    return Err(LocalError::NotFound {
                        what: "in-flight message",
                        name: format!("receipt {receipt} on queue {name}"),
                    });
                }
                // Zero (or a short timeout) wakes receivers now.
                ctx.note_deadline(ctx.now().0 + ms(visibility), Topics::QUEUE);
                ctx.wake_for(ctx.take_deadline_wake());
                Ok(())
            })
            .await?)
    }

    async fn depth(&self, queue: &str) -> pressbot_core::Result<QueueDepth> {
        let name = queue.to_owned();
        Ok(self
            .run("depth", queue.to_owned(), move |c, ctx| {
                depth(c, &name, ctx.now())
            })
            .await?)
    }

    async fn create_queue(&self, queue: &str, max_receives: u32) -> pressbot_core::Result<()> {
        validate_name("create_queue", queue)?;
        if max_receives == 0 {
            return Err(LocalError::invalid(
                "create_queue",
                "max_receives",
                "0",
                "must be at least 1",
            )
            .into());
        }
        let name = queue.to_owned();
        Ok(self
            .run("create_queue", queue.to_owned(), move |c, ctx| {
                let dlq = dead_letter_queue_name(&name);
                let tx = ctx.begin(c)?;
                tx.prepare_cached(
                    "INSERT OR IGNORE INTO queues (name, max_receives, dead_letter, created)
                     VALUES (?1, NULL, NULL, ?2)",
                )?
                .execute(params![dlq, ctx.now().0])?;
                tx.prepare_cached(
                    "INSERT OR IGNORE INTO queues (name, max_receives, dead_letter, created)
                     VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![name, max_receives, dlq, ctx.now().0])?;
                tx.commit()?;
                Ok(())
            })
            .await?)
    }
}
