//! Test support: an in-memory object store (the real backends live in
//! other crates), stand-ins for the workflow and queue services (the
//! article activities never call them), settings from the repository's
//! `settings/default.toml`, and an [`ActivityContext`] builder.
#![allow(dead_code)]

use async_trait::async_trait;
use bytes::Bytes;
use pressbot_activities::{ActivityContext, Env, Progress};
use pressbot_core::activity::ActivityInput;
use pressbot_core::backend::*;
use pressbot_core::definition::Definitions;
use pressbot_core::history::Decision;
use pressbot_core::history::HistoryEvent;
use pressbot_core::ids::{RunId, TaskToken, WorkflowExecution, WorkflowId};
use pressbot_core::settings::Settings;
use pressbot_core::time::Timestamp;
use pressbot_core::{Error, Result};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

pub fn read_data(name: &str) -> Vec<u8> {
    std::fs::read(data(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Objects in memory; `fail_next` makes the next call fail (retryable or not).
#[derive(Debug, Default)]
pub struct MemStore {
    pub objects: Mutex<BTreeMap<(String, String), Object>>,
    pub fail_next: Mutex<Option<bool>>,
    /// GETs served (whole-body and to-file), to show what was not downloaded.
    pub gets: std::sync::atomic::AtomicUsize,
}

impl MemStore {
    fn injected(&self, op: &'static str, bucket: &str) -> Result<()> {
        match self.fail_next.lock().unwrap().take() {
            Some(retryable) => Err(Error::backend(
                "s3",
                op,
                bucket,
                retryable,
                "injected failure",
            )),
            None => Ok(()),
        }
    }

    pub fn keys(&self, bucket: &str) -> Vec<String> {
        self.objects
            .lock()
            .unwrap()
            .keys()
            .filter(|(b, _)| b == bucket)
            .map(|(_, k)| k.clone())
            .collect()
    }

    pub fn object(&self, bucket: &str, key: &str) -> Option<Object> {
        self.objects
            .lock()
            .unwrap()
            .get(&(bucket.to_owned(), key.to_owned()))
            .cloned()
    }

    pub fn insert(&self, bucket: &str, key: &str, body: Vec<u8>) {
        let meta = ObjectMeta {
            key: key.to_owned(),
            size: body.len() as u64,
            etag: format!(
                "{:x}",
                body.len() * 31 + body.first().copied().unwrap_or(0) as usize
            ),
            content_type: None,
            cache_control: None,
            last_modified: Timestamp::now(),
        };
        self.objects.lock().unwrap().insert(
            (bucket.to_owned(), key.to_owned()),
            Object {
                meta,
                body: Bytes::from(body),
            },
        );
    }
}

#[async_trait]
impl ObjectStore for MemStore {
    async fn get(&self, bucket: &str, key: &str) -> Result<Object> {
        self.injected("get", bucket)?;
        self.gets.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.object(bucket, key).ok_or_else(|| Error::NotFound {
            what: "object",
            name: format!("{bucket}/{key}"),
        })
    }
    async fn put(
        &self,
        bucket: &str,
        key: &str,
        body: Bytes,
        options: PutOptions,
    ) -> Result<ObjectMeta> {
        self.injected("put", bucket)?;
        let meta = ObjectMeta {
            key: key.to_owned(),
            size: body.len() as u64,
            etag: format!("etag-{}", body.len()),
            content_type: options.content_type,
            cache_control: options.cache_control,
            last_modified: Timestamp::now(),
        };
        self.objects.lock().unwrap().insert(
            (bucket.to_owned(), key.to_owned()),
            Object {
                meta: meta.clone(),
                body,
            },
        );
        Ok(meta)
    }
    async fn head(&self, bucket: &str, key: &str) -> Result<Option<ObjectMeta>> {
        self.injected("head", bucket)?;
        Ok(self.object(bucket, key).map(|o| o.meta))
    }
    async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<ObjectMeta>> {
        self.injected("list", bucket)?;
        Ok(self
            .objects
            .lock()
            .unwrap()
            .iter()
            .filter(|((b, k), _)| b == bucket && k.starts_with(prefix))
            .map(|(_, o)| o.meta.clone())
            .collect())
    }
    async fn copy(
        &self,
        from_bucket: &str,
        from_key: &str,
        to_bucket: &str,
        to_key: &str,
    ) -> Result<ObjectMeta> {
        self.injected("copy", from_bucket)?;
        let mut o = self
            .object(from_bucket, from_key)
            .ok_or_else(|| Error::NotFound {
                what: "object",
                name: format!("{from_bucket}/{from_key}"),
            })?;
        o.meta.key = to_key.to_owned();
        self.objects
            .lock()
            .unwrap()
            .insert((to_bucket.to_owned(), to_key.to_owned()), o.clone());
        Ok(o.meta)
    }
    async fn delete(&self, bucket: &str, key: &str) -> Result<()> {
        self.objects
            .lock()
            .unwrap()
            .remove(&(bucket.to_owned(), key.to_owned()));
        Ok(())
    }
    async fn presign_get(&self, bucket: &str, key: &str, _expires: Duration) -> Result<String> {
        Ok(format!("mem://{bucket}/{key}"))
    }
    async fn create_bucket(&self, _bucket: &str) -> Result<()> {
        Ok(())
    }
    async fn set_notification(&self, _bucket: &str, _queue: &str) -> Result<()> {
        Ok(())
    }
}

fn unused<T>(op: &'static str) -> Result<T> {
    Err(Error::backend(
        "test",
        op,
        "-",
        false,
        "not used by the article activities",
    ))
}

/// The article activities never touch workflows or queues.
#[derive(Debug)]
pub struct Unused;

#[async_trait]
impl WorkflowService for Unused {
    async fn poll_decision_task(&self, _: &str, _: &str) -> Result<Option<DecisionTask>> {
        unused("poll_decision_task")
    }
    async fn complete_decision_task(
        &self,
        _: &TaskToken,
        _: Vec<Decision>,
        _: Option<String>,
    ) -> Result<()> {
        unused("complete_decision_task")
    }
    async fn poll_activity_task(&self, _: &str, _: &str) -> Result<Option<ActivityTask>> {
        unused("poll_activity_task")
    }
    async fn complete_activity_task(&self, _: &TaskToken, _: Option<String>) -> Result<()> {
        unused("complete_activity_task")
    }
    async fn fail_activity_task(&self, _: &TaskToken, _: &str, _: &str) -> Result<()> {
        unused("fail_activity_task")
    }
    async fn cancel_activity_task(&self, _: &TaskToken, _: Option<String>) -> Result<()> {
        unused("cancel_activity_task")
    }
    async fn heartbeat(&self, _: &TaskToken, _: Option<String>) -> Result<HeartbeatOutcome> {
        unused("heartbeat")
    }
    async fn start_workflow(&self, _: StartRequest) -> Result<StartOutcome> {
        unused("start_workflow")
    }
    async fn request_cancel(&self, _: &WorkflowId, _: Option<&RunId>) -> Result<()> {
        unused("request_cancel")
    }
    async fn terminate(&self, _: &WorkflowId, _: Option<&RunId>, _: &str) -> Result<()> {
        unused("terminate")
    }
    async fn register(&self, _: &Definitions) -> Result<()> {
        unused("register")
    }
    async fn list_executions(&self, _: &ExecutionFilter) -> Result<Vec<ExecutionInfo>> {
        unused("list_executions")
    }
    async fn describe_execution(&self, _: &WorkflowExecution) -> Result<ExecutionInfo> {
        unused("describe_execution")
    }
    async fn history(&self, _: &WorkflowExecution) -> Result<Vec<HistoryEvent>> {
        unused("history")
    }
    async fn ping(&self) -> Result<()> {
        Ok(())
    }
}

#[async_trait]
impl QueueService for Unused {
    async fn receive(
        &self,
        _: &str,
        _: usize,
        _: Duration,
        _: Duration,
    ) -> Result<Vec<ReceivedMessage>> {
        unused("receive")
    }
    async fn send(&self, _: &str, _: OutgoingMessage) -> Result<String> {
        unused("send")
    }
    async fn delete(&self, _: &str, _: &str) -> Result<()> {
        unused("delete")
    }
    async fn change_visibility(&self, _: &str, _: &str, _: Duration) -> Result<()> {
        unused("change_visibility")
    }
    async fn depth(&self, _: &str) -> Result<QueueDepth> {
        unused("depth")
    }
    async fn create_queue(&self, _: &str, _: u32) -> Result<()> {
        unused("create_queue")
    }
}

/// The repository's default settings, with small images for fast tests.
pub fn settings() -> Settings {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../settings/default.toml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut s: Settings =
        toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    s.activities.image_widths = vec![400, 100];
    s.activities.cdn_base_url = "https://cdn.example.org".into();
    s
}

pub fn env_with(store: Arc<MemStore>, settings: Settings) -> Arc<Env> {
    Arc::new(Env {
        backend: Backend {
            workflows: Arc::new(Unused),
            queues: Arc::new(Unused),
            objects: store,
            leases: Arc::new(pressbot_core::lease::MemLeases::default()),
        },
        settings: Arc::new(settings),
    })
}

pub fn ctx(context: serde_json::Value) -> ActivityContext {
    ActivityContext {
        input: ActivityInput {
            context,
            step: "Step".into(),
            attempt: 1,
            workflow: "IngestArticleZip".into(),
            params: serde_json::Value::Null,
        },
        execution: WorkflowExecution {
            workflow_id: WorkflowId::from("article-00353"),
            run_id: RunId::from("run-1"),
        },
        activity_id: "Step#1".into(),
        cancel: CancellationToken::new(),
        progress: Progress::default(),
        deadline: None,
    }
}

/// Merge an activity's output into the context, as the decider does.
pub fn merge(context: &mut serde_json::Value, output: serde_json::Value) {
    let (Some(c), Some(o)) = (context.as_object_mut(), output.as_object()) else {
        panic!("context and output must be objects: {output}");
    };
    for (k, v) in o {
        c.insert(k.clone(), v.clone());
    }
}
