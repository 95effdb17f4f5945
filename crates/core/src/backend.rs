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
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// A decision task with the execution's whole history (all pages assembled).
#[derive(Debug, Clone)]
pub struct DecisionTask {
    /// Names this task when responding; valid until the task times out.
    pub token: TaskToken,
    /// The execution to decide.
    pub execution: WorkflowExecution,
    /// Picks the workflow definition (name and version) to decide with.
    pub workflow_type: TypeRef,
    /// Every event so far; the decider reads all of it, every time.
    pub events: Vec<HistoryEvent>,
    /// The `DecisionTaskStarted` event of this task.
    pub started_event_id: i64,
    /// The `DecisionTaskStarted` event of the previous decision task (0 for
    /// the first), so the events since then are the new ones.
    pub previous_started_event_id: i64,
}

/// An activity task handed to a worker.
#[derive(Debug, Clone)]
pub struct ActivityTask {
    /// Names this task when responding or heartbeating.
    pub token: TaskToken,
    /// The execution that scheduled the activity.
    pub execution: WorkflowExecution,
    /// The decider's id for the attempt (`"{step}#{attempt}"`).
    pub activity_id: String,
    /// Which activity implementation runs it.
    pub activity_type: TypeRef,
    /// The input the decider scheduled (an `ActivityInput` as JSON).
    pub input: Option<String>,
    /// The `ActivityTaskStarted` event of this attempt.
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
    /// Deterministic per input, so a duplicate start is refused, not run twice.
    pub workflow_id: WorkflowId,
    /// The workflow type (name and version) to run.
    pub workflow_type: TypeRef,
    /// Where its decision tasks go.
    pub task_list: String,
    /// The start input (a JSON object), which becomes the initial context.
    pub input: Option<String>,
    /// How long the execution may run in all.
    pub execution_start_to_close: Duration,
    /// How long a decider may hold one decision task.
    pub decision_task_start_to_close: Duration,
    /// Tags for finding the execution later (SWF allows five).
    pub tags: Vec<String>,
}

/// What came of a start request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartOutcome {
    /// The execution started.
    Started {
        /// The run the service assigned.
        run_id: RunId,
    },
    /// An open execution with this workflow id exists: a duplicate start.
    AlreadyRunning,
}

/// How an execution ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloseStatus {
    /// The decider completed it.
    Completed,
    /// The decider failed it.
    Failed,
    /// Cancelled after a cancel request.
    Canceled,
    /// Terminated by an operator; no decider was asked.
    Terminated,
    /// Closed and continued as a new run (pressbot does not use this itself).
    ContinuedAsNew,
    /// Ran past `execution_start_to_close`.
    TimedOut,
}

impl CloseStatus {
    /// SWF's name for the status, as the AWS API and the embedded store spell it.
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

    /// The status from SWF's name; `None` for anything else.
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
    /// Which execution.
    pub execution: WorkflowExecution,
    /// Its workflow type.
    pub workflow_type: TypeRef,
    /// When it started.
    pub started: Timestamp,
    /// When it closed; `None` while open.
    pub closed: Option<Timestamp>,
    /// `None` while open.
    pub close_status: Option<CloseStatus>,
    /// Whether a cancel was requested (the decider may not have acted yet).
    pub cancel_requested: bool,
}

/// Which executions to list.
#[derive(Debug, Clone, Default)]
pub struct ExecutionFilter {
    /// Open executions if true, closed ones if false.
    pub open: bool,
    /// Only executions started at or after this time.
    pub started_after: Option<Timestamp>,
    /// Only this workflow id.
    pub workflow_id: Option<WorkflowId>,
    /// Only this workflow type name (any version).
    pub workflow_name: Option<String>,
    /// Only closed executions that ended this way.
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
    /// Answer a decision task with the decider's decisions; `execution_context`
    /// is the decider's one-line summary, kept with the execution for operators.
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
    /// Report an activity attempt done, with its result (a JSON object).
    async fn complete_activity_task(&self, token: &TaskToken, result: Option<String>)
        -> Result<()>;
    /// Report an activity attempt failed; `reason` carries the failure kind
    /// (see [`crate::activity::ActivityFailure::reason`]).
    async fn fail_activity_task(
        &self,
        token: &TaskToken,
        reason: &str,
        details: &str,
    ) -> Result<()>;
    /// Report an activity attempt stopped after a cancel request.
    async fn cancel_activity_task(&self, token: &TaskToken, details: Option<String>) -> Result<()>;
    /// Tell the service a running attempt is alive, and learn whether it
    /// should stop.
    async fn heartbeat(
        &self,
        token: &TaskToken,
        details: Option<String>,
    ) -> Result<HeartbeatOutcome>;
    /// Start an execution; an open one with the same workflow id is not an
    /// error but [`StartOutcome::AlreadyRunning`].
    async fn start_workflow(&self, request: StartRequest) -> Result<StartOutcome>;
    /// Ask an execution to cancel: its decider stops open activities and
    /// closes it. `run_id` `None` means the open run.
    async fn request_cancel(&self, workflow_id: &WorkflowId, run_id: Option<&RunId>) -> Result<()>;
    /// Close an execution at once, without its decider. `run_id` `None` means
    /// the open run.
    async fn terminate(
        &self,
        workflow_id: &WorkflowId,
        run_id: Option<&RunId>,
        reason: &str,
    ) -> Result<()>;
    /// Register the domain and every workflow and activity type; already
    /// registered is fine, so this is safe to run on every start.
    async fn register(&self, definitions: &Definitions) -> Result<()>;
    /// Executions matching a filter, open or closed.
    async fn list_executions(&self, filter: &ExecutionFilter) -> Result<Vec<ExecutionInfo>>;
    /// One execution's summary.
    async fn describe_execution(&self, execution: &WorkflowExecution) -> Result<ExecutionInfo>;
    /// The whole history of an execution (all pages).
    async fn history(&self, execution: &WorkflowExecution) -> Result<Vec<HistoryEvent>>;
    /// Cheap call proving the service answers (for `/__heartbeat__`).
    async fn ping(&self) -> Result<()>;
}

/// A message to send.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutgoingMessage {
    /// The message text (JSON for every pressbot queue).
    pub body: String,
    /// String message attributes (SQS `MessageAttributes`).
    pub attributes: BTreeMap<String, String>,
    /// Keep the message hidden this long after sending.
    pub delay: Option<Duration>,
}

impl OutgoingMessage {
    /// A message with only a body.
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
    /// The service's id of the message.
    pub id: String,
    /// Names this receipt of the message: needed to delete it or change its
    /// visibility, and different on every receive.
    pub receipt: String,
    /// The message text.
    pub body: String,
    /// String message attributes as sent.
    pub attributes: BTreeMap<String, String>,
    /// How many times it has been received, this time included.
    pub receive_count: u32,
    /// When it was first sent.
    pub sent: Timestamp,
}

/// Approximate number of messages in a queue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueDepth {
    /// Waiting to be received.
    pub visible: u64,
    /// Received and hidden, not yet deleted.
    pub in_flight: u64,
    /// Sent with a delay that has not passed yet.
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
    /// Send one message; returns its id.
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
    /// Delete a handled message, by the receipt of its latest receive.
    async fn delete(&self, queue: &str, receipt: &str) -> Result<()>;
    /// Hide a received message longer (or show it again at once with zero),
    /// so a slow handler keeps it and a stopping one hands it back.
    async fn change_visibility(
        &self,
        queue: &str,
        receipt: &str,
        visibility: Duration,
    ) -> Result<()>;
    /// How many messages wait, are in flight or are delayed.
    async fn depth(&self, queue: &str) -> Result<QueueDepth>;
    /// Create a queue with its dead-letter queue (after `max_receives`
    /// receives a message moves there). Existing queues are left as they are.
    async fn create_queue(&self, queue: &str, max_receives: u32) -> Result<()>;
}

/// Metadata of a stored object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    /// The object's key.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// The content hash the store reports (S3's eTag), which tells two versions
    /// of one key apart.
    pub etag: String,
    /// `Content-Type`, when it was set at put.
    pub content_type: Option<String>,
    /// `Cache-Control`, when it was set at put.
    pub cache_control: Option<String>,
    /// When it was last written.
    pub last_modified: Timestamp,
}

/// An object's body and metadata.
#[derive(Debug, Clone)]
pub struct Object {
    /// The object's metadata.
    pub meta: ObjectMeta,
    /// The whole body, in memory.
    pub body: Bytes,
}

/// Options of a put.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PutOptions {
    /// `Content-Type` to store with the object (served by the CDN).
    pub content_type: Option<String>,
    /// `Cache-Control` to store with the object (served by the CDN).
    pub cache_control: Option<String>,
}

/// S3, or its embedded equivalent. A put into a bucket with a notification
/// configured produces an S3-format event on the configured queue.
#[async_trait]
pub trait ObjectStore: Send + Sync + std::fmt::Debug {
    /// `Error::NotFound` when the key does not exist.
    async fn get(&self, bucket: &str, key: &str) -> Result<Object>;
    /// Store an object, replacing any with that key.
    async fn put(
        &self,
        bucket: &str,
        key: &str,
        body: Bytes,
        options: PutOptions,
    ) -> Result<ObjectMeta>;
    /// An object's metadata, or `None` when the key does not exist.
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
    /// A directory on the store's own file system where a caller may
    /// write a file it is about to hand over with
    /// [`ObjectStore::put_staged_file`], so that the store can take the
    /// file as it is instead of copying its bytes (embedded backend: its
    /// data dir's `tmp/`). `None` (the default, and AWS, which uploads the
    /// body anyway): any directory will do.
    ///
    /// Why: ExpandArticle writes every entry of a package once; storing it
    /// by copy wrote it a second time (hundreds of megabytes a package,
    /// docs/benchmarks.md section 6).
    fn staging_dir(&self) -> Option<PathBuf> {
        None
    }
    /// Store the file at `path` as an object, like
    /// [`ObjectStore::put_file`] (same event, same eTag), and take the file:
    /// once this succeeds `path` is gone (moved into the store when it is
    /// in [`ObjectStore::staging_dir`], otherwise stored and removed). On
    /// an error the file may or may not still be there.
    async fn put_staged_file(
        &self,
        bucket: &str,
        key: &str,
        path: &Path,
        options: PutOptions,
    ) -> Result<ObjectMeta> {
        let meta = self.put_file(bucket, key, path, options).await?;
        std::fs::remove_file(path).map_err(|source| crate::Error::Io {
            path: path.to_owned(),
            source,
        })?;
        Ok(meta)
    }
    /// The object's body as an open file and its metadata, when the store
    /// keeps bodies in files it never rewrites in place (embedded backend),
    /// so the caller reads the object where it is instead of copying it;
    /// `None` (the default, and AWS) when it does not: use
    /// [`ObjectStore::get_to_file`]. The file stays the object's body as it
    /// was when opened, whatever later puts do to the key.
    async fn open_file(&self, bucket: &str, key: &str) -> Result<Option<(File, ObjectMeta)>> {
        let _ = (bucket, key);
        Ok(None)
    }
    /// Every object under a prefix, in key order (all pages).
    async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<ObjectMeta>>;
    /// Copy an object within or between buckets, without downloading it.
    async fn copy(
        &self,
        from_bucket: &str,
        from_key: &str,
        to_bucket: &str,
        to_key: &str,
    ) -> Result<ObjectMeta>;
    /// Delete an object; deleting a missing key is not an error.
    async fn delete(&self, bucket: &str, key: &str) -> Result<()>;
    /// A URL that reads the object without credentials until `expires` passes.
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
    /// Workflows: executions, decision and activity tasks.
    pub workflows: Arc<dyn WorkflowService>,
    /// Message queues.
    pub queues: Arc<dyn QueueService>,
    /// Buckets of objects.
    pub objects: Arc<dyn ObjectStore>,
    /// Leases shared by every process on this backend (one CMS ingest at a time).
    pub leases: Arc<dyn crate::lease::LeaseStore>,
}
