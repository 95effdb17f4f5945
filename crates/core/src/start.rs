//! One way to start a workflow: the [`StartRequest`] a definition makes
//! (the starter, cron, `pressbot start` and `pressbot retry` all build it
//! here, so a new definition field reaches every start), and the typed
//! payload of a starter message for a new object ([`StarterPayload`]), whose
//! keys the queue worker writes, the starter hashes into the workflow id,
//! the activities read and `pressbot` reports.

use crate::backend::StartRequest;
use crate::definition::WorkflowDefinition;
use crate::ids::WorkflowId;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};

impl WorkflowDefinition {
    /// The request that starts this workflow (its newest registered type,
    /// task list and timeouts) under `workflow_id` with `input`.
    pub fn start_request(
        &self,
        workflow_id: WorkflowId,
        input: Option<String>,
        tags: Vec<String>,
    ) -> StartRequest {
        StartRequest {
            workflow_id,
            workflow_type: self.workflow_type(),
            task_list: self.task_list.clone(),
            input,
            execution_start_to_close: self.execution_start_to_close,
            decision_task_start_to_close: self.decision_task_start_to_close,
            tags,
        }
    }
}

/// The `workflow_data` of a starter message for an object that arrived in a
/// bucket: what the queue worker sends for an S3 event and `pressbot feed`
/// for an object already there. The field names are the keys the existing
/// tools use. Reading is lenient: a key that is missing or of another type
/// reads as `None`, since `workflow_data` may come from any sender.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StarterPayload {
    #[serde(default, deserialize_with = "lenient")]
    /// S3's event name (`ObjectCreated:Put`, ...), kept for the dashboard.
    pub event_name: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    /// When S3 says the object arrived (ISO 8601).
    pub event_time: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    /// The bucket the object arrived in.
    pub bucket_name: Option<String>,
    /// The object key.
    #[serde(default, deserialize_with = "lenient")]
    pub file_name: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    /// The object's size in bytes as the event reported it (informative:
    /// ExpandArticle checks the stored object's own size against the limit).
    pub file_size: Option<u64>,
    #[serde(default, deserialize_with = "lenient")]
    /// The object's eTag: with bucket and key, the package's identity, from
    /// which the workflow id and the CMS idempotency key derive.
    pub file_etag: Option<String>,
    /// S3's sequencer of the event, which orders events of one key.
    #[serde(default, deserialize_with = "lenient")]
    pub file_sequencer: Option<String>,
}

impl StarterPayload {
    /// The key of [`StarterPayload::bucket_name`] in `workflow_data`.
    pub const BUCKET_NAME: &'static str = "bucket_name";
    /// The key of [`StarterPayload::file_name`].
    pub const FILE_NAME: &'static str = "file_name";
    /// The key of [`StarterPayload::file_etag`].
    pub const FILE_ETAG: &'static str = "file_etag";
    /// The key of [`StarterPayload::file_size`].
    pub const FILE_SIZE: &'static str = "file_size";

    /// The payload fields of `workflow_data` (all `None` when it is not an
    /// object); other keys in it are ignored.
    pub fn from_data(data: &serde_json::Value) -> Self {
        Self::deserialize(data).unwrap_or_default()
    }

    /// As the `workflow_data` JSON object.
    pub fn to_data(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// A field of the wrong type reads as `None` instead of failing the whole
/// payload.
fn lenient<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Option<T>, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    Ok(serde_json::from_value(v).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_keys_are_the_field_names() {
        let p = StarterPayload {
            bucket_name: Some("b".into()),
            file_name: Some("k".into()),
            file_etag: Some("e".into()),
            file_size: Some(3),
            ..Default::default()
        };
        let v = p.to_data();
        assert_eq!(v[StarterPayload::BUCKET_NAME], "b");
        assert_eq!(v[StarterPayload::FILE_NAME], "k");
        assert_eq!(v[StarterPayload::FILE_ETAG], "e");
        assert_eq!(v[StarterPayload::FILE_SIZE], 3);
        assert_eq!(StarterPayload::from_data(&v), p);
    }

    #[test]
    fn reading_ignores_other_keys_and_wrong_types() {
        let p = StarterPayload::from_data(&json!({
            "bucket_name": "b", "file_name": 7, "force": true, "file_size": "big"
        }));
        assert_eq!(p.bucket_name.as_deref(), Some("b"));
        assert_eq!(p.file_name, None);
        assert_eq!(p.file_size, None);
        assert_eq!(
            StarterPayload::from_data(&json!("not an object")),
            StarterPayload::default()
        );
    }
}
