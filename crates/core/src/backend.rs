//! The backend traits: what the daemons need from a workflow service, a
//! queue service and an object store. The AWS backend (SWF, SQS, S3) and the
//! embedded backend (SQLite + files) implement them with the same semantics,
//! so every daemon loop is written once against these traits.
//!
//! Long polls return `Ok(None)` / an empty batch when nothing arrived in
//! time; they are never an error.

use crate::definition::Definitions;
use crate::error::Result;
use crate::history::{Decision, HistoryEvent};
use crate::ids::{RunId, TaskToken, TypeRef, WorkflowExecution, WorkflowId};
use crate::time::Timestamp;
use async_trait::async_trait;
use bytes::Bytes;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// A decision task with the execution's whole history (all pages assembled).
#[derive(Debug, Clone)]
pub struct DecisionTask {
    pub token: TaskToken,
    pub execution: WorkflowExecution,
    pub workflow_type: TypeRef,
    pub events: Vec<HistoryEvent>,
    pub started_event_id: i64,
    pub previous_started_event_id: i64,
}

/// An activity task handed to a worker.
#[derive(Debug, Clone)]
pub struct ActivityTask {
    pub token: TaskToken,
    pub execution: WorkflowExecution,
    pub activity_id: String,
    pub activity_type: TypeRef,
    pub input: Option<String>,
    pub started_event_id: i64,
}

/// Answer to a heartbeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeartbeatOutcome {
    /// The decider or an operator asked for this activity to stop.
    pub cancel_requested: bool,
}

/// A request to start a workflow execution.
#[derive(Debug, Clone)]
pub struct StartRequest {
    pub workflow_id: WorkflowId,
    pub workflow_type: TypeRef,
    pub task_list: String,
    pub input: Option<String>,
    pub execution_start_to_close: Duration,
    pub decision_task_start_to_close: Duration,
    pub tags: Vec<String>,
}

/// What came of a start request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartOutcome {
    Started {
        run_id: RunId,
    },
    /// An open execution with this workflow id exists: a duplicate start.
    AlreadyRunning,
}

/// How an execution ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloseStatus {
    Completed,
    Failed,
    Canceled,
    Terminated,
    ContinuedAsNew,
    TimedOut,
}

impl CloseStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CloseStatus::Completed => "COMPLETED",
            CloseStatus::Failed => "FAILED",
            CloseStatus::Canceled => "CANCELED",
            CloseStatus::Terminated => "TERMINATED",
            CloseStatus::ContinuedAsNew => "CONTINUED_AS_NEW",
            CloseStatus::TimedOut => "TIMED_OUT",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "COMPLETED" => CloseStatus::Completed,
            "FAILED" => CloseStatus::Failed,
            "CANCELED" => CloseStatus::Canceled,
            "TERMINATED" => CloseStatus::Terminated,
            "CONTINUED_AS_NEW" => CloseStatus::ContinuedAsNew,
            "TIMED_OUT" => CloseStatus::TimedOut,
            _ => return None,
        })
    }
}

/// A summary of one execution, as list and describe return it.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionInfo {
    pub execution: WorkflowExecution,
    pub workflow_type: TypeRef,
    pub started: Timestamp,
    pub closed: Option<Timestamp>,
    /// `None` while open.
    pub close_status: Option<CloseStatus>,
    pub cancel_requested: bool,
}

/// Which executions to list.
#[derive(Debug, Clone, Default)]
pub struct ExecutionFilter {
    /// Open executions if true, closed ones if false.
    pub open: bool,
    /// Only executions started at or after this time.
    pub started_after: Option<Timestamp>,
    pub workflow_id: Option<WorkflowId>,
    pub workflow_name: Option<String>,
    pub close_status: Option<CloseStatus>,
}

/// SWF, or its embedded equivalent.
#[async_trait]
pub trait WorkflowService: Send + Sync + std::fmt::Debug {
    /// Long-poll a decision task on a task list; the whole history is assembled.
    async fn poll_decision_task(
        &self,
        task_list: &str,
        identity: &str,
    ) -> Result<Option<DecisionTask>>;
    async fn complete_decision_task(
        &self,
        token: &TaskToken,
        decisions: Vec<Decision>,
        execution_context: Option<String>,
    ) -> Result<()>;
    /// Long-poll an activity task on a task list.
    async fn poll_activity_task(
        &self,
        task_list: &str,
        identity: &str,
    ) -> Result<Option<ActivityTask>>;
    async fn complete_activity_task(&self, token: &TaskToken, result: Option<String>)
        -> Result<()>;
    async fn fail_activity_task(
        &self,
        token: &TaskToken,
        reason: &str,
        details: &str,
    ) -> Result<()>;
    async fn cancel_activity_task(&self, token: &TaskToken, details: Option<String>) -> Result<()>;
    async fn heartbeat(
        &self,
        token: &TaskToken,
        details: Option<String>,
    ) -> Result<HeartbeatOutcome>;
    async fn start_workflow(&self, request: StartRequest) -> Result<StartOutcome>;
    async fn request_cancel(&self, workflow_id: &WorkflowId, run_id: Option<&RunId>) -> Result<()>;
    async fn terminate(
        &self,
        workflow_id: &WorkflowId,
        run_id: Option<&RunId>,
        reason: &str,
    ) -> Result<()>;
    /// Register the domain and every workflow and activity type; already
    /// registered is fine, so this is safe to run on every start.
    async fn register(&self, definitions: &Definitions) -> Result<()>;
    async fn list_executions(&self, filter: &ExecutionFilter) -> Result<Vec<ExecutionInfo>>;
    async fn describe_execution(&self, execution: &WorkflowExecution) -> Result<ExecutionInfo>;
    /// The whole history of an execution (all pages).
    async fn history(&self, execution: &WorkflowExecution) -> Result<Vec<HistoryEvent>>;
    /// Cheap call proving the service answers (for `/__heartbeat__`).
    async fn ping(&self) -> Result<()>;
}

/// A message to send.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutgoingMessage {
    pub body: String,
    /// String message attributes (SQS `MessageAttributes`).
    pub attributes: BTreeMap<String, String>,
    pub delay: Option<Duration>,
}

impl OutgoingMessage {
    pub fn new(body: impl Into<String>) -> Self {
        OutgoingMessage {
            body: body.into(),
            ..Default::default()
        }
    }
}

/// A received message; `receipt` deletes it or changes its visibility.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMessage {
    pub id: String,
    pub receipt: String,
    pub body: String,
    pub attributes: BTreeMap<String, String>,
    /// How many times it has been received, this time included.
    pub receive_count: u32,
    pub sent: Timestamp,
}

/// Approximate number of messages in a queue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueDepth {
    pub visible: u64,
    pub in_flight: u64,
    pub delayed: u64,
}

/// The name of a queue's dead-letter queue: every queue pressbot creates
/// has one, named by this convention, with a redrive policy pointing at it.
pub fn dead_letter_queue_name(queue: &str) -> String {
    format!("{queue}-dlq")
}

/// Most messages one [`QueueService::send_batch`] request carries (SQS's limit).
pub const SEND_BATCH_MAX: usize = 10;

/// SQS, or its embedded equivalent. Queues are named (not URLs); a backend
/// resolves names itself.
#[async_trait]
pub trait QueueService: Send + Sync + std::fmt::Debug {
    /// Long-poll up to `max` messages (1..=10), hiding each for `visibility`.
    async fn receive(
        &self,
        queue: &str,
        max: usize,
        wait: Duration,
        visibility: Duration,
    ) -> Result<Vec<ReceivedMessage>>;
    async fn send(&self, queue: &str, message: OutgoingMessage) -> Result<String>;
    /// Send up to [`SEND_BATCH_MAX`] messages to one queue in one request
    /// where the service has one (SQS `SendMessageBatch`): for senders that
    /// can wait a little to save requests, such as dashboard events. One
    /// outcome per message, in order, because a batch can half-succeed; the
    /// outer error is a request that failed as a whole. The default sends
    /// them one at a time.
    async fn send_batch(
        &self,
        queue: &str,
        messages: Vec<OutgoingMessage>,
    ) -> Result<Vec<Result<String>>> {
        let mut outcomes = Vec::with_capacity(messages.len());
        for message in messages {
            outcomes.push(self.send(queue, message).await);
        }
        Ok(outcomes)
    }
    async fn delete(&self, queue: &str, receipt: &str) -> Result<()>;
    async fn change_visibility(
        &self,
        queue: &str,
        receipt: &str,
        visibility: Duration,
    ) -> Result<()>;
    async fn depth(&self, queue: &str) -> Result<QueueDepth>;
    /// Create a queue with its dead-letter queue (after `max_receives`
    /// receives a message moves there). Existing queues are left as they are.
    async fn create_queue(&self, queue: &str, max_receives: u32) -> Result<()>;
}

/// Metadata of a stored object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    pub key: String,
    pub size: u64,
    pub etag: String,
    pub content_type: Option<String>,
    pub cache_control: Option<String>,
    pub last_modified: Timestamp,
}

/// An object's body and metadata.
#[derive(Debug, Clone)]
pub struct Object {
    pub meta: ObjectMeta,
    pub body: Bytes,
}

/// Options of a put.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PutOptions {
    pub content_type: Option<String>,
    pub cache_control: Option<String>,
}

/// S3, or its embedded equivalent. A put into a bucket with a notification
/// configured produces an S3-format event on the configured queue.
#[async_trait]
pub trait ObjectStore: Send + Sync + std::fmt::Debug {
    /// `Error::NotFound` when the key does not exist.
    async fn get(&self, bucket: &str, key: &str) -> Result<Object>;
    async fn put(
        &self,
        bucket: &str,
        key: &str,
        body: Bytes,
        options: PutOptions,
    ) -> Result<ObjectMeta>;
    async fn head(&self, bucket: &str, key: &str) -> Result<Option<ObjectMeta>>;
    /// Write an object's body into the file at `path` (created or
    /// truncated) and return its metadata (`size` = bytes written).
    ///
    /// Why: a package can be hundreds of megabytes and comes from outside;
    /// [`ObjectStore::get`] holds the whole body in memory. Both real
    /// backends stream here (embedded: a file copy; AWS: the response body
    /// chunk by chunk), so memory stays bounded whatever the object's size.
    /// The default goes through `get` and suits only small test stores.
    async fn get_to_file(&self, bucket: &str, key: &str, path: &Path) -> Result<ObjectMeta> {
        let object = self.get(bucket, key).await?;
        std::fs::write(path, &object.body).map_err(|source| crate::Error::Io {
            path: path.to_owned(),
            source,
        })?;
        Ok(ObjectMeta {
            size: object.body.len() as u64,
            ..object.meta
        })
    }
    /// Store the file at `path` as an object, like [`ObjectStore::put`]
    /// (same event, same eTag) but without reading it into memory on the
    /// real backends (embedded: a hashed file copy; AWS: a body streamed
    /// from the file). Why: an expanded package entry (a video, a dataset)
    /// may be large. The default reads the file and calls `put`, for small
    /// test stores.
    async fn put_file(
        &self,
        bucket: &str,
        key: &str,
        path: &Path,
        options: PutOptions,
    ) -> Result<ObjectMeta> {
        let body = std::fs::read(path).map_err(|source| crate::Error::Io {
            path: path.to_owned(),
            source,
        })?;
        self.put(bucket, key, Bytes::from(body), options).await
    }
    /// Every object under a prefix, in key order (all pages).
    async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<ObjectMeta>>;
    async fn copy(
        &self,
        from_bucket: &str,
        from_key: &str,
        to_bucket: &str,
        to_key: &str,
    ) -> Result<ObjectMeta>;
    async fn delete(&self, bucket: &str, key: &str) -> Result<()>;
    async fn presign_get(&self, bucket: &str, key: &str, expires: Duration) -> Result<String>;
    /// Create a bucket if missing.
    async fn create_bucket(&self, bucket: &str) -> Result<()>;
    /// Send an S3 `ObjectCreated:*` event for every new object of `bucket`
    /// to `queue` (the same JSON AWS sends).
    async fn set_notification(&self, bucket: &str, queue: &str) -> Result<()>;
}

/// One backend: the services, shared by every daemon of a process.
#[derive(Debug, Clone)]
pub struct Backend {
    pub workflows: Arc<dyn WorkflowService>,
    pub queues: Arc<dyn QueueService>,
    pub objects: Arc<dyn ObjectStore>,
    /// Leases shared by every process on this backend (one CMS ingest at a time).
    pub leases: Arc<dyn crate::lease::LeaseStore>,
}
