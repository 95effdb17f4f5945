//! Queue message formats: S3 event notifications (AWS's own JSON, possibly
//! wrapped in SNS), workflow starter messages, and dashboard messages.
//!
//! Parsing is strict and every error names what was wrong, because a
//! malformed message must be dead-lettered with a reason an operator can
//! act on, never silently dropped.

use crate::error::{Error, Result};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One object-created record of an S3 event notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct S3Record {
    /// The S3 event type, e.g. `ObjectCreated:Put`.
    pub event_name: String,
    /// When S3 says the event happened (its own text, kept as sent).
    pub event_time: String,
    /// The bucket's real name.
    pub bucket: String,
    /// The key, URL-decoded (S3 encodes spaces as `+`).
    pub key: String,
    /// Object size in bytes (0 when the event leaves it out).
    pub size: u64,
    /// The object's ETag, which tells two uploads under one key apart.
    pub etag: Option<String>,
    /// S3's ordering token for events on one key; stands in for the ETag when
    /// the event has none.
    pub sequencer: Option<String>,
}

/// What an incoming-queue message turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum S3Notification {
    /// `s3:TestEvent`, sent by S3 when a notification is configured: acknowledge and drop.
    TestEvent,
    /// The object-created records; never empty.
    Records(Vec<S3Record>),
}

/// Decode an S3 event key: `+` is a space, then percent-decoding.
pub fn decode_s3_key(raw: &str) -> Result<String> {
    let plus = raw.replace('+', " ");
    percent_encoding::percent_decode_str(&plus)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|e| {
            Error::message(
                "S3 event",
                format!("object key {raw:?} is not valid UTF-8 once decoded: {e}"),
            )
        })
}

/// Encode a key the way S3 does in event notifications.
pub fn encode_s3_key(key: &str) -> String {
    const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~')
        .remove(b'/')
        .remove(b' ');
    percent_encoding::utf8_percent_encode(key, SET)
        .to_string()
        .replace(' ', "+")
}

/// Parse an incoming-queue message body: an S3 event, possibly wrapped in an
/// SNS notification (`{"Type": "Notification", "Message": "<json>"}`).
pub fn parse_s3_notification(body: &str) -> Result<S3Notification> {
    const KIND: &str = "S3 event";
    let value: Value = serde_json::from_str(body)
        .map_err(|e| Error::message(KIND, format!("body is not JSON: {e}")))?;
    let value = match value.get("Type").and_then(Value::as_str) {
        Some("Notification") => {
            let inner = value
                .get("Message")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    Error::message(KIND, "SNS notification without a string `Message`")
                })?;
            serde_json::from_str(inner)
                .map_err(|e| Error::message(KIND, format!("SNS `Message` is not JSON: {e}")))?
        }
        _ => value,
    };
    if value.get("Event").and_then(Value::as_str) == Some("s3:TestEvent") {
        return Ok(S3Notification::TestEvent);
    }
    let records = value
        .get("Records")
        .and_then(Value::as_array)
        .ok_or_else(|| Error::message(KIND, "no `Records` array"))?;
    if records.is_empty() {
        return Err(Error::message(KIND, "`Records` is empty"));
    }
    let mut out = Vec::with_capacity(records.len());
    for (i, r) in records.iter().enumerate() {
        let field = |path: &[&str]| -> Option<&Value> {
            let mut v = r;
            for p in path {
                v = v.get(*p)?;
            }
            Some(v)
        };
        let string = |path: &[&str]| -> Result<String> {
            field(path)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| {
                    Error::message(
                        KIND,
                        format!("Records[{i}].{} missing or not a string", path.join(".")),
                    )
                })
        };
        let event_name = string(&["eventName"])?;
        let bucket = string(&["s3", "bucket", "name"])?;
        let raw_key = string(&["s3", "object", "key"])?;
        let key = decode_s3_key(&raw_key)?;
        if key.is_empty() {
            return Err(Error::message(
                KIND,
                format!("Records[{i}].s3.object.key is empty"),
            ));
        }
        let size = match field(&["s3", "object", "size"]) {
            None | Some(Value::Null) => 0,
            Some(v) => v.as_u64().ok_or_else(|| {
                Error::message(
                    KIND,
                    format!("Records[{i}].s3.object.size is not a whole number"),
                )
            })?,
        };
        let opt = |path: &[&str]| field(path).and_then(Value::as_str).map(str::to_owned);
        out.push(S3Record {
            event_name,
            event_time: opt(&["eventTime"]).unwrap_or_default(),
            bucket,
            key,
            size,
            etag: opt(&["s3", "object", "eTag"]).or_else(|| opt(&["s3", "object", "etag"])),
            sequencer: opt(&["s3", "object", "sequencer"]),
        });
    }
    Ok(S3Notification::Records(out))
}

/// Build the S3 event JSON that AWS would send for a created object.
pub fn s3_event_json(
    bucket: &str,
    key: &str,
    size: u64,
    etag: &str,
    sequencer: &str,
    time: Timestamp,
) -> String {
    serde_json::json!({
        "Records": [{
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "awsRegion": "local",
            "eventTime": time.to_string(),
            "eventName": "ObjectCreated:Put",
            "s3": {
                "s3SchemaVersion": "1.0",
                "configurationId": "pressbot",
                "bucket": { "name": bucket, "arn": format!("arn:aws:s3:::{bucket}") },
                "object": { "key": encode_s3_key(key), "size": size, "eTag": etag, "sequencer": sequencer }
            }
        }]
    })
    .to_string()
}

/// A message on the workflow-starter queue, as the dashboard and tools send it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StarterMessage {
    /// The workflow to start, by name (its newest version starts).
    pub workflow_name: String,
    /// The start input: a JSON object (`{}` when the sender gave none).
    #[serde(default)]
    pub workflow_data: Value,
}

impl StarterMessage {
    /// Parse and check a starter message body.
    pub fn parse(body: &str) -> Result<Self> {
        const KIND: &str = "workflow starter";
        let v: Value = serde_json::from_str(body)
            .map_err(|e| Error::message(KIND, format!("body is not JSON: {e}")))?;
        let name = v
            .get("workflow_name")
            .ok_or_else(|| Error::message(KIND, "no `workflow_name`"))?
            .as_str()
            .ok_or_else(|| Error::message(KIND, "`workflow_name` is not a string"))?;
        if name.trim().is_empty() {
            return Err(Error::message(KIND, "`workflow_name` is empty"));
        }
        let data = v
            .get("workflow_data")
            .cloned()
            .unwrap_or(Value::Object(Default::default()));
        if !data.is_object() {
            return Err(Error::message(KIND, "`workflow_data` is not a JSON object"));
        }
        Ok(StarterMessage {
            workflow_name: name.to_owned(),
            workflow_data: data,
        })
    }

    /// The starter message for a new S3 object, with the field names the
    /// existing tools use (`bucket_name`, `file_name`, ...).
    pub fn for_s3_record(workflow: &str, r: &S3Record) -> Self {
        StarterMessage {
            workflow_name: workflow.to_owned(),
            workflow_data: crate::start::StarterPayload {
                event_name: Some(r.event_name.clone()),
                event_time: Some(r.event_time.clone()),
                bucket_name: Some(r.bucket.clone()),
                file_name: Some(r.key.clone()),
                file_size: Some(r.size),
                file_etag: r.etag.clone(),
                file_sequencer: r.sequencer.clone(),
            }
            .to_data(),
        }
    }

    /// The message body as sent to the queue.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// `status` of a dashboard event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventStatus {
    /// The step began.
    Start,
    /// The step finished successfully.
    End,
    /// The step failed.
    Error,
}

/// A dashboard message on the event-monitor queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "message_type", rename_all = "lowercase")]
pub enum DashboardMessage {
    /// Something happened to an item: a step began, ended or failed.
    Event {
        /// The article the event is about (its id, else the workflow id).
        item_identifier: String,
        /// The article version; empty before it is known.
        version: String,
        /// The run the event belongs to, so retries and reruns group together.
        run: String,
        /// What happened, usually the step id.
        event_type: String,
        /// When it happened (RFC 3339).
        timestamp: String,
        /// Whether the step started, ended or failed.
        status: EventStatus,
        /// Human text shown on the dashboard.
        message: String,
        /// Unique per message, so a redelivered message is recorded once.
        message_id: String,
    },
    /// A fact learned about an item (e.g. its publication status) that the
    /// dashboard shows beside its events.
    Property {
        /// The article the property belongs to.
        item_identifier: String,
        /// The article version it applies to.
        version: String,
        /// The property's name.
        name: String,
        /// The property's value, as text.
        value: String,
        /// How the dashboard should read `value` (e.g. `text`).
        property_type: String,
        /// Unique per message, so a redelivered message is recorded once.
        message_id: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    const AWS_EVENT: &str = r#"{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1",
      "eventTime":"2026-01-01T00:00:00.000Z","eventName":"ObjectCreated:Put",
      "s3":{"s3SchemaVersion":"1.0","configurationId":"x","bucket":{"name":"prod-incoming","arn":"arn:aws:s3:::prod-incoming"},
      "object":{"key":"new+folder/elife-00353-vor-v1-20121213000000%281%29.zip","size":1234,"eTag":"abc","sequencer":"0055AED6DCD90281E5"}}},
      {"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"k2","size":1}}}]}"#;

    #[test]
    fn parses_every_record_and_decodes_keys() {
        let S3Notification::Records(r) = parse_s3_notification(AWS_EVENT).expect("parses") else {
            panic!("records expected")
        };
        assert_eq!(r.len(), 2);
        assert_eq!(
            r[0].key,
            "new folder/elife-00353-vor-v1-20121213000000(1).zip"
        );
        assert_eq!(r[0].bucket, "prod-incoming");
        assert_eq!(r[0].etag.as_deref(), Some("abc"));
        assert_eq!(r[1].key, "k2");
    }

    #[test]
    fn unwraps_sns() {
        let wrapped = serde_json::json!({"Type": "Notification", "Message": AWS_EVENT}).to_string();
        assert!(
            matches!(parse_s3_notification(&wrapped), Ok(S3Notification::Records(r)) if r.len() == 2)
        );
    }

    #[test]
    fn test_event_is_recognised() {
        let body = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-01-01T00:00:00Z","Bucket":"b"}"#;
        assert_eq!(
            parse_s3_notification(body).expect("ok"),
            S3Notification::TestEvent
        );
    }

    #[test]
    fn malformed_events_say_what_is_wrong() {
        let cases = [
            ("not json", "body is not JSON"),
            ("{}", "no `Records` array"),
            (r#"{"Records":[]}"#, "`Records` is empty"),
            (
                r#"{"Records":[{"eventName":"x","s3":{"bucket":{"name":"b"},"object":{}}}]}"#,
                "Records[0].s3.object.key",
            ),
            (r#"{"Records":[{"s3":{}}]}"#, "Records[0].eventName"),
            (
                r#"{"Type":"Notification","Message":"{"}"#,
                "SNS `Message` is not JSON",
            ),
        ];
        for (body, want) in cases {
            let e = parse_s3_notification(body).expect_err(body).to_string();
            assert!(e.contains(want), "{body}: {e}");
        }
    }

    #[test]
    fn key_encoding_round_trips() {
        for k in ["a b/c+d(1).zip", "ünï/çødé.zip", "plain.zip"] {
            assert_eq!(decode_s3_key(&encode_s3_key(k)).expect("decodes"), k);
        }
    }

    #[test]
    fn generated_event_parses() {
        let body = s3_event_json("b", "x y.zip", 3, "e", "s", Timestamp(0));
        let S3Notification::Records(r) = parse_s3_notification(&body).expect("ok") else {
            panic!()
        };
        assert_eq!(r[0].key, "x y.zip");
        assert_eq!(r[0].sequencer.as_deref(), Some("s"));
    }

    #[test]
    fn starter_messages() {
        let m = StarterMessage::parse(r#"{"workflow_name":"Ping","workflow_data":{"a":1}}"#)
            .expect("ok");
        assert_eq!(m.workflow_name, "Ping");
        assert!(StarterMessage::parse(r#"{"workflow_data":{}}"#)
            .expect_err("x")
            .to_string()
            .contains("no `workflow_name`"));
        assert!(
            StarterMessage::parse(r#"{"workflow_name":"P","workflow_data":[1]}"#)
                .expect_err("x")
                .to_string()
                .contains("not a JSON object")
        );
    }

    #[test]
    fn dashboard_message_format() {
        let m = DashboardMessage::Event {
            item_identifier: "00353".into(),
            version: "1".into(),
            run: "r".into(),
            event_type: "ExpandArticle".into(),
            timestamp: "t".into(),
            status: EventStatus::Start,
            message: "m".into(),
            message_id: "id".into(),
        };
        let v = serde_json::to_value(&m).expect("json");
        assert_eq!(v["message_type"], "event");
        assert_eq!(v["status"], "start");
    }
}
