//! PostToCms, PublishToCms and the dashboard helpers against a real HTTP
//! CMS on 127.0.0.1 (the misbehaving test CMS and the embedded one). The
//! object store and queue are small in-memory stand-ins of the backend
//! traits: what is under test here is the CMS side.

use async_trait::async_trait;
use bytes::Bytes;
use pressbot_activities::cms_activities::{PostToCms, PublishToCms};
use pressbot_activities::dashboard;
use pressbot_activities::{Activity, ActivityContext, Env, Progress, Registry};
use pressbot_cms::testing::{Behavior, MisbehavingCms};
use pressbot_cms::EmbeddedCms;
use pressbot_core::activity::{ActivityInput, FailureKind};
use pressbot_core::backend::*;
use pressbot_core::definition::Definitions;
use pressbot_core::history::{Decision, HistoryEvent};
use pressbot_core::ids::{RunId, TaskToken, WorkflowExecution, WorkflowId};
use pressbot_core::messages::{DashboardMessage, EventStatus};
use pressbot_core::settings::Settings;
use pressbot_core::time::Timestamp;
use pressbot_core::{Error, Result};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Default)]
struct MemObjects(Mutex<BTreeMap<(String, String), Bytes>>);

fn unsupported(op: &'static str) -> Error {
    Error::backend("test", op, "-", false, "not used by these tests")
}

#[async_trait]
impl ObjectStore for MemObjects {
    async fn get(&self, bucket: &str, key: &str) -> Result<Object> {
        let g = self.0.lock().expect("lock");
        let body = g
            .get(&(bucket.to_owned(), key.to_owned()))
            .cloned()
            .ok_or_else(|| Error::NotFound {
                what: "object",
                name: format!("{bucket}/{key}"),
            })?;
        Ok(Object {
            meta: ObjectMeta {
                key: key.to_owned(),
                size: body.len() as u64,
                etag: String::new(),
                content_type: None,
                cache_control: None,
                last_modified: Timestamp::now(),
            },
            body,
        })
    }
    async fn put(&self, bucket: &str, key: &str, body: Bytes, _: PutOptions) -> Result<ObjectMeta> {
        let size = body.len() as u64;
        self.0
            .lock()
            .expect("lock")
            .insert((bucket.to_owned(), key.to_owned()), body);
        Ok(ObjectMeta {
            key: key.to_owned(),
            size,
            etag: String::new(),
            content_type: None,
            cache_control: None,
            last_modified: Timestamp::now(),
        })
    }
    async fn head(&self, _: &str, _: &str) -> Result<Option<ObjectMeta>> {
        Err(unsupported("head"))
    }
    async fn list(&self, _: &str, _: &str) -> Result<Vec<ObjectMeta>> {
        Err(unsupported("list"))
    }
    async fn copy(&self, _: &str, _: &str, _: &str, _: &str) -> Result<ObjectMeta> {
        Err(unsupported("copy"))
    }
    async fn delete(&self, _: &str, _: &str) -> Result<()> {
        Err(unsupported("delete"))
    }
    async fn presign_get(&self, _: &str, _: &str, _: Duration) -> Result<String> {
        Err(unsupported("presign_get"))
    }
    async fn create_bucket(&self, _: &str) -> Result<()> {
        Ok(())
    }
    async fn set_notification(&self, _: &str, _: &str) -> Result<()> {
        Ok(())
    }
}

/// Records sends; `fail` makes every send fail (the dashboard must not care).
#[derive(Debug, Default)]
struct MemQueues {
    sent: Mutex<Vec<(String, String)>>,
    /// Sizes of the `send_batch` calls, in order.
    batches: Mutex<Vec<usize>>,
    fail: bool,
}

#[async_trait]
impl QueueService for MemQueues {
    async fn receive(
        &self,
        _: &str,
        _: usize,
        _: Duration,
        _: Duration,
    ) -> Result<Vec<ReceivedMessage>> {
        Ok(Vec::new())
    }
    async fn send(&self, queue: &str, message: OutgoingMessage) -> Result<String> {
        if self.fail {
            return Err(Error::backend("test", "send", queue, true, "queue is down"));
        }
        self.sent
            .lock()
            .expect("lock")
            .push((queue.to_owned(), message.body));
        Ok("id".into())
    }
    async fn send_batch(
        &self,
        queue: &str,
        messages: Vec<OutgoingMessage>,
    ) -> Result<Vec<Result<String>>> {
        assert!(messages.len() <= pressbot_core::backend::SEND_BATCH_MAX);
        self.batches.lock().expect("lock").push(messages.len());
        let mut out = Vec::new();
        for m in messages {
            out.push(self.send(queue, m).await);
        }
        Ok(out)
    }
    async fn delete(&self, _: &str, _: &str) -> Result<()> {
        Ok(())
    }
    async fn change_visibility(&self, _: &str, _: &str, _: Duration) -> Result<()> {
        Ok(())
    }
    async fn depth(&self, _: &str) -> Result<QueueDepth> {
        Ok(QueueDepth::default())
    }
    async fn create_queue(&self, _: &str, _: u32) -> Result<()> {
        Ok(())
    }
}

#[derive(Debug)]
struct NoWorkflows;

#[async_trait]
impl WorkflowService for NoWorkflows {
    async fn poll_decision_task(&self, _: &str, _: &str) -> Result<Option<DecisionTask>> {
        Err(unsupported("poll_decision_task"))
    }
    async fn complete_decision_task(
        &self,
        _: &TaskToken,
        _: Vec<Decision>,
        _: Option<String>,
    ) -> Result<()> {
        Err(unsupported("complete_decision_task"))
    }
    async fn poll_activity_task(&self, _: &str, _: &str) -> Result<Option<ActivityTask>> {
        Err(unsupported("poll_activity_task"))
    }
    async fn complete_activity_task(&self, _: &TaskToken, _: Option<String>) -> Result<()> {
        Err(unsupported("complete_activity_task"))
    }
    async fn fail_activity_task(&self, _: &TaskToken, _: &str, _: &str) -> Result<()> {
        Err(unsupported("fail_activity_task"))
    }
    async fn cancel_activity_task(&self, _: &TaskToken, _: Option<String>) -> Result<()> {
        Err(unsupported("cancel_activity_task"))
    }
    async fn heartbeat(&self, _: &TaskToken, _: Option<String>) -> Result<HeartbeatOutcome> {
        Err(unsupported("heartbeat"))
    }
    async fn start_workflow(&self, _: StartRequest) -> Result<StartOutcome> {
        Err(unsupported("start_workflow"))
    }
    async fn request_cancel(&self, _: &WorkflowId, _: Option<&RunId>) -> Result<()> {
        Err(unsupported("request_cancel"))
    }
    async fn terminate(&self, _: &WorkflowId, _: Option<&RunId>, _: &str) -> Result<()> {
        Err(unsupported("terminate"))
    }
    async fn register(&self, _: &Definitions) -> Result<()> {
        Err(unsupported("register"))
    }
    async fn list_executions(&self, _: &ExecutionFilter) -> Result<Vec<ExecutionInfo>> {
        Err(unsupported("list_executions"))
    }
    async fn describe_execution(&self, _: &WorkflowExecution) -> Result<ExecutionInfo> {
        Err(unsupported("describe_execution"))
    }
    async fn history(&self, _: &WorkflowExecution) -> Result<Vec<HistoryEvent>> {
        Err(unsupported("history"))
    }
    async fn ping(&self) -> Result<()> {
        Ok(())
    }
}

/// The repository's default settings with the CMS pointed at `base_url`
/// and short timeouts.
fn settings(base_url: &str) -> Settings {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../settings/default.toml");
    let text = std::fs::read_to_string(path).expect("settings/default.toml");
    let mut s: Settings = toml::from_str(&text).expect("default settings parse");
    s.cms.base_url = Some(base_url.to_owned());
    s.cms.embedded = false;
    s.cms.connect_timeout = Duration::from_millis(300);
    s.cms.request_timeout = Duration::from_millis(300);
    s.cms.max_retry_after = Duration::from_secs(2);
    s
}

struct Fixture {
    env: Arc<Env>,
    objects: Arc<MemObjects>,
    queues: Arc<MemQueues>,
}

fn fixture(base_url: &str, queue_fails: bool) -> Fixture {
    fixture_with(settings(base_url), queue_fails)
}

fn fixture_with(settings: Settings, queue_fails: bool) -> Fixture {
    let objects = Arc::new(MemObjects::default());
    let queues = Arc::new(MemQueues {
        fail: queue_fails,
        ..Default::default()
    });
    let env = Arc::new(Env {
        backend: Backend {
            workflows: Arc::new(NoWorkflows),
            queues: queues.clone(),
            objects: objects.clone(),
            leases: Arc::new(pressbot_core::lease::MemLeases::default()),
        },
        settings: Arc::new(settings),
    });
    Fixture {
        env,
        objects,
        queues,
    }
}

const JSON_KEY: &str = "00353.1/run-a/article.json";
const ARTICLE: &str = r#"{"title":"A paper","doi":"10.7554/eLife.00353"}"#;

impl Fixture {
    async fn put_article(&self, body: &str) {
        let bucket = self.env.settings.bucket("expanded").expect("bucket");
        self.objects
            .put(
                &bucket,
                JSON_KEY,
                Bytes::from(body.to_owned()),
                PutOptions::default(),
            )
            .await
            .expect("put");
    }

    fn dashboard(&self) -> Vec<DashboardMessage> {
        let queue = self.env.settings.event_queue();
        self.queues
            .sent
            .lock()
            .expect("lock")
            .iter()
            .filter(|(q, _)| *q == queue)
            .map(|(_, b)| serde_json::from_str(b).expect("dashboard JSON"))
            .collect()
    }
}

fn ctx(step: &str, context: Value, params: Value) -> ActivityContext {
    ActivityContext {
        input: ActivityInput {
            context,
            step: step.into(),
            attempt: 1,
            workflow: "IngestArticleZip".into(),
            params,
        },
        execution: WorkflowExecution {
            workflow_id: WorkflowId::from("IngestArticleZip-00353"),
            run_id: RunId::from("run-a"),
        },
        activity_id: format!("{step}#1"),
        cancel: CancellationToken::new(),
        progress: Progress::default(),
        deadline: None,
    }
}

fn article_context() -> Value {
    json!({"article_id": "00353", "version": 1, "run": "run-a", "article_json_key": JSON_KEY})
}

#[tokio::test]
async fn post_then_publish_through_a_busy_cms() {
    let cms = MisbehavingCms::start(vec![Behavior::busy(0), Behavior::Reset], vec![])
        .await
        .expect("cms");
    let f = fixture(&cms.base_url(), false);
    f.put_article(ARTICLE).await;
    let post = PostToCms::new(f.env.clone());
    let out = post
        .run(&ctx("PostToCms", article_context(), json!({})))
        .await
        .expect("posted");
    assert_eq!(out["cms_already_there"], false);
    assert_eq!(out["cms_idempotency_key"], "pressbot-00353-v1-run-a");
    assert_eq!(cms.ingests("00353", 1), 1);
    let posted = cms
        .requests()
        .into_iter()
        .rfind(|r| r.method == "POST")
        .expect("a POST");
    assert_eq!(posted.body, ARTICLE);

    // A retried attempt (the worker crashed after posting) posts nothing.
    let again = post
        .run(&ctx("PostToCms", article_context(), json!({})))
        .await
        .expect("posted");
    assert_eq!(again["cms_already_there"], true);
    assert_eq!(cms.ingests("00353", 1), 1);

    let out = PublishToCms::new(f.env.clone())
        .run(&ctx("PublishToCms", article_context(), json!({})))
        .await
        .expect("published");
    assert_eq!(out["published"], true);
    assert_eq!(cms.publishes("00353", 1), 1);
    let props: Vec<_> = f
        .dashboard()
        .into_iter()
        .filter_map(|m| match m {
            DashboardMessage::Property { name, value, .. } => Some((name, value)),
            _ => None,
        })
        .collect();
    assert_eq!(
        props,
        [("publication-status".to_owned(), "published".to_owned())]
    );
}

#[tokio::test]
async fn cut_while_ingesting_is_retryable_and_the_next_attempt_does_not_repost() {
    let cms = MisbehavingCms::start(
        vec![Behavior::CutWhileIngesting {
            // Longer than the client's first backoff (200-400 ms by default).
            ingesting_for: Duration::from_millis(800),
        }],
        vec![],
    )
    .await
    .expect("cms");
    let f = fixture(&cms.base_url(), false);
    f.put_article(ARTICLE).await;
    let post = PostToCms::new(f.env.clone());
    let e = post
        .run(&ctx("PostToCms", article_context(), json!({})))
        .await
        .expect_err("still ingesting");
    assert_eq!(e.kind, FailureKind::Retryable);
    assert!(e.message.starts_with("PostToCms: "), "{e}");
    assert!(e.message.contains("still ingesting"), "{e}");
    tokio::time::sleep(Duration::from_millis(900)).await;
    let out = post
        .run(&ctx("PostToCms", article_context(), json!({})))
        .await
        .expect("recognised");
    assert_eq!(out["cms_already_there"], true);
    assert_eq!(cms.ingests("00353", 1), 1);
}

#[tokio::test]
async fn cancellation_hands_the_attempt_back_as_retryable() {
    let cms = MisbehavingCms::start(vec![Behavior::Hang(Duration::from_secs(5))], vec![])
        .await
        .expect("cms");
    let mut f = fixture(&cms.base_url(), false);
    // A long request timeout, so only the cancellation can end the call.
    let mut settings = (*f.env.settings).clone();
    settings.cms.request_timeout = Duration::from_secs(30);
    f.env = Arc::new(Env {
        backend: f.env.backend.clone(),
        settings: Arc::new(settings),
    });
    f.put_article(ARTICLE).await;
    let c = ctx("PostToCms", article_context(), json!({}));
    let cancel = c.cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        cancel.cancel();
    });
    let e = PostToCms::new(f.env.clone())
        .run(&c)
        .await
        .expect_err("cancelled");
    assert_eq!(e.kind, FailureKind::Retryable);
    assert!(e.message.contains("cancelled during the ingest"), "{e}");
}

#[tokio::test]
async fn refusals_and_bad_input_are_permanent() {
    let cms = MisbehavingCms::start(
        vec![Behavior::answer(422, r#"{"error":"abstract is required"}"#)],
        vec![],
    )
    .await
    .expect("cms");
    let f = fixture(&cms.base_url(), false);
    let post = PostToCms::new(f.env.clone());

    // The JSON is not there yet.
    let e = post
        .run(&ctx("PostToCms", article_context(), json!({})))
        .await
        .expect_err("no JSON");
    assert!(e.message.contains(JSON_KEY), "{e}");
    assert_eq!(cms.requests().len(), 0);

    // Not JSON at all: refused before reaching the CMS, naming the object.
    f.put_article("<article/>").await;
    let e = post
        .run(&ctx("PostToCms", article_context(), json!({})))
        .await
        .expect_err("not JSON");
    assert_eq!(e.kind, FailureKind::Permanent);
    assert!(
        e.message.contains("is not JSON") && e.message.contains(JSON_KEY),
        "{e}"
    );

    // The CMS refuses: permanent, with its answer.
    f.put_article(ARTICLE).await;
    let e = post
        .run(&ctx("PostToCms", article_context(), json!({})))
        .await
        .expect_err("422");
    assert_eq!(e.kind, FailureKind::Permanent);
    assert!(e.message.contains("abstract is required"), "{e}");

    // Missing context.
    let e = post
        .run(&ctx("PostToCms", json!({"article_id": "00353"}), json!({})))
        .await
        .expect_err("no version");
    assert_eq!(e.kind, FailureKind::Permanent);
    assert!(e.message.contains("version"), "{e}");

    // Publishing what was never ingested.
    let e = PublishToCms::new(f.env.clone())
        .run(&ctx(
            "PublishToCms",
            json!({"article_id": "00999", "version": 1}),
            json!({}),
        ))
        .await
        .expect_err("404");
    assert_eq!(e.kind, FailureKind::Permanent);
    assert!(e.message.contains("404"), "{e}");
}

#[tokio::test]
async fn silent_flag_is_sent_and_preview_does_not_publish() {
    let cms = MisbehavingCms::start(vec![], vec![]).await.expect("cms");
    let f = fixture(&cms.base_url(), false);
    f.put_article(ARTICLE).await;
    let out = PostToCms::new(f.env.clone())
        .run(&ctx(
            "PostToCms",
            article_context(),
            json!({"silent": true}),
        ))
        .await
        .expect("posted");
    assert_eq!(out["cms_silent_correction"], true);
    let post = cms
        .requests()
        .into_iter()
        .find(|r| r.method == "POST")
        .expect("POST");
    assert_eq!(post.header("x-silent-correction"), Some("true"));

    for (context, params) in [
        (article_context(), json!({"mode": "preview"})),
        (
            {
                let mut c = article_context();
                c["publish"] = json!(false);
                c
            },
            json!({}),
        ),
    ] {
        let out = PublishToCms::new(f.env.clone())
            .run(&ctx("PublishToCms", context, params))
            .await
            .expect("preview");
        assert_eq!(out["published"], false);
    }
    assert_eq!(cms.publishes("00353", 1), 0);
    assert!(cms.requests().iter().all(|r| !r.path.ends_with("/publish")));
    let ready = f
        .dashboard()
        .into_iter()
        .filter(|m| {
            matches!(m, DashboardMessage::Property { name, value, item_identifier, version, .. }
                if name == "publication-status" && value == "ready to publish"
                    && item_identifier == "00353" && version == "1")
        })
        .count();
    assert_eq!(ready, 2);
}

#[tokio::test]
async fn against_the_embedded_cms() {
    let dir = tempfile::tempdir().expect("tempdir");
    let stop = CancellationToken::new();
    let cms = EmbeddedCms::serve(
        dir.path(),
        "127.0.0.1:0".parse().expect("addr"),
        stop.clone(),
    )
    .await
    .expect("embedded CMS");
    let f = fixture(&cms.base_url(), false);
    f.put_article(ARTICLE).await;
    let registry = Registry::standard(f.env.clone());
    for step in ["PostToCms", "PublishToCms"] {
        registry
            .get(step)
            .expect("registered")
            .run(&ctx(step, article_context(), json!({})))
            .await
            .expect(step);
    }
    let index = cms.index().await;
    assert_eq!(index.ingests("00353"), 1);
    assert_eq!(index.publishes("00353"), 1);
    assert!(pressbot_activities::is_known_activity("PostToCms"));
    assert!(pressbot_activities::is_known_activity("PublishToCms"));
    stop.cancel();
}

#[tokio::test]
async fn dashboard_events_have_the_dashboard_format_and_never_fail() {
    let f = fixture("http://127.0.0.1:1", false);
    let c = ctx("ConvertJATS", article_context(), json!({}));
    dashboard::emit_event(&f.env, &c, EventStatus::Start, "converting").await;
    dashboard::emit_event(&f.env, &c, EventStatus::Error, "bad XML").await;
    let sent = f.queues.sent.lock().expect("lock").clone();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].0, f.env.settings.event_queue());
    let v: Value = serde_json::from_str(&sent[1].1).expect("json");
    assert_eq!(v["message_type"], "event");
    assert_eq!(v["item_identifier"], "00353");
    assert_eq!(v["version"], "1");
    assert_eq!(v["run"], "run-a");
    assert_eq!(v["event_type"], "ConvertJATS");
    assert_eq!(v["status"], "error");
    assert_eq!(v["message"], "bad XML");
    assert!(v["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')));
    assert!(v["message_id"].as_str().is_some_and(|t| t.len() == 36));

    // Before VersionLookup: the workflow id stands in for the article.
    let early = ctx("VersionLookup", json!({}), json!({}));
    match dashboard::event_message(&early, EventStatus::Start, "") {
        DashboardMessage::Event {
            item_identifier,
            run,
            version,
            ..
        } => {
            assert_eq!(item_identifier, "IngestArticleZip-00353");
            assert_eq!(run, "run-a");
            assert_eq!(version, "");
        }
        other => panic!("an event expected, got {other:?}"),
    }

    // A broken queue is logged, not raised.
    let broken = fixture("http://127.0.0.1:1", true);
    dashboard::emit_event(&broken.env, &c, EventStatus::End, "done").await;
    assert!(
        !dashboard::send(
            &broken.env,
            &dashboard::event_message(&c, EventStatus::End, "")
        )
        .await
    );
}

/// The worker's events go through an `EventSender`: never waiting, several
/// per request, every queued event sent when the sender is dropped, and a
/// broken queue is logged, not raised.
#[tokio::test(start_paused = true)]
async fn dashboard_events_are_batched_and_flushed_on_close() {
    let f = fixture("http://127.0.0.1:1", false);
    let c = ctx("ConvertJATS", article_context(), json!({}));
    let (events, task) = dashboard::EventSender::start(f.env.clone());
    for i in 0..23 {
        events.emit(&c, EventStatus::Start, &format!("event {i}"));
    }
    // Full batches go at once; the rest waits for the linger.
    tokio::time::sleep(dashboard::EVENT_LINGER / 2).await;
    assert_eq!(*f.queues.batches.lock().expect("lock"), vec![10, 10]);
    tokio::time::sleep(dashboard::EVENT_LINGER).await;
    assert_eq!(*f.queues.batches.lock().expect("lock"), vec![10, 10, 3]);

    // Queued events are sent when the sender goes, without the linger.
    events.emit(&c, EventStatus::End, "last");
    drop(events);
    tokio::time::timeout(Duration::from_millis(1), task)
        .await
        .expect("the task ends as soon as the sender is dropped")
        .expect("no panic");
    let sent = f.queues.sent.lock().expect("lock").clone();
    assert_eq!(sent.len(), 24);
    let messages: Vec<String> = sent
        .iter()
        .map(|(queue, body)| {
            assert_eq!(queue, &f.env.settings.event_queue());
            let v: Value = serde_json::from_str(body).expect("json");
            v["message"].as_str().expect("message").to_owned()
        })
        .collect();
    assert_eq!(messages[0], "event 0");
    assert_eq!(messages[22], "event 22");
    assert_eq!(messages[23], "last");

    let broken = fixture("http://127.0.0.1:1", true);
    let (events, task) = dashboard::EventSender::start(broken.env.clone());
    events.emit(&c, EventStatus::End, "done");
    drop(events);
    task.await
        .expect("a failing queue does not panic the sender");
}

/// The context of a package with an identity (VersionLookup's `package`).
fn package_context(run: &str) -> Value {
    json!({"article_id": "00353", "version": 1, "run": run, "package": "0123456789abcdef", "article_json_key": JSON_KEY})
}

#[tokio::test]
async fn a_second_run_of_the_same_package_posts_nothing_and_publishes_once() {
    // PublishToCms's status check is refused: a permanent failure after the ingest.
    let cms = MisbehavingCms::start(
        vec![],
        vec![Behavior::Normal, Behavior::answer(400, r#"{"error":"no"}"#)],
    )
    .await
    .expect("cms");
    let f = fixture(&cms.base_url(), false);
    f.put_article(ARTICLE).await;
    let out = PostToCms::new(f.env.clone())
        .run(&ctx("PostToCms", package_context("run-a"), json!({})))
        .await
        .expect("posted");
    assert_eq!(
        out["cms_idempotency_key"],
        "pressbot-00353-v1-0123456789abcdef"
    );
    let failed = PublishToCms::new(f.env.clone())
        .run(&ctx("PublishToCms", package_context("run-a"), json!({})))
        .await
        .expect_err("refused");
    assert_eq!(failed.kind, FailureKind::Permanent, "{failed:?}");

    // `pressbot retry`: a new run of the same package.
    let again = PostToCms::new(f.env.clone())
        .run(&ctx("PostToCms", package_context("run-b"), json!({})))
        .await
        .expect("nothing to post");
    assert_eq!(again["cms_already_there"], true);
    PublishToCms::new(f.env.clone())
        .run(&ctx("PublishToCms", package_context("run-b"), json!({})))
        .await
        .expect("published");
    // And a third run after the publication: nothing at all.
    PostToCms::new(f.env.clone())
        .run(&ctx("PostToCms", package_context("run-c"), json!({})))
        .await
        .expect("nothing to post");
    let third = PublishToCms::new(f.env.clone())
        .run(&ctx("PublishToCms", package_context("run-c"), json!({})))
        .await
        .expect("already published");
    assert_eq!(third["already_published"], true);
    assert_eq!(cms.ingest_posts("00353", 1), 1, "{:#?}", cms.requests());
    assert_eq!(cms.publish_posts("00353", 1), 1, "{:#?}", cms.requests());
}

/// Takes the CMS lease as another worker would.
async fn hold_lease(f: &Fixture, holder: &str) -> pressbot_core::lease::Lease {
    match f
        .env
        .backend
        .leases
        .acquire(
            pressbot_core::lease::CMS_LEASE,
            holder,
            Duration::from_secs(30),
        )
        .await
        .expect("acquire")
    {
        pressbot_core::lease::Acquired::Held(lease) => lease,
        busy => panic!("the lease was not free: {busy:?}"),
    }
}

fn settings_waiting(base_url: &str, lease_wait: Duration) -> Settings {
    let mut s = settings(base_url);
    s.cms.lease_wait = lease_wait;
    s
}

#[tokio::test]
async fn a_cms_lease_held_past_the_wait_fails_the_attempt_retryable_and_posts_nothing() {
    let cms = MisbehavingCms::start(vec![], vec![]).await.expect("cms");
    let f = fixture_with(
        settings_waiting(&cms.base_url(), Duration::from_millis(600)),
        false,
    );
    f.put_article(ARTICLE).await;
    let lease = hold_lease(&f, "host-b:42 other-workflow").await;
    let attempt = ctx("PostToCms", package_context("run-a"), json!({}));
    let busy = PostToCms::new(f.env.clone())
        .run(&attempt)
        .await
        .expect_err("busy");
    assert_eq!(busy.kind, FailureKind::Retryable, "{busy:?}");
    assert!(
        busy.message
            .contains("CMS busy: lease held by host-b:42 other-workflow until"),
        "{busy:?}"
    );
    assert!(
        busy.message.contains("waited"),
        "it waited inside the attempt first: {busy:?}"
    );
    assert!(
        attempt
            .progress
            .take()
            .is_some_and(|p| p.contains("waiting for the lease")),
        "the heartbeat says what the step waits for"
    );
    assert!(cms.requests().is_empty(), "nothing reached the CMS");
    f.env.backend.leases.release(&lease).await.expect("release");
    PostToCms::new(f.env.clone())
        .run(&ctx("PostToCms", package_context("run-a"), json!({})))
        .await
        .expect("posted once the lease is free");
    // Released after the call: the next taker gets it at once.
    hold_lease(&f, "next").await;
}

/// The fix for the long chaos run's two FAILED executions: a step that
/// meets the lease held waits for it inside its attempt instead of
/// spending one of its retry attempts.
#[tokio::test]
async fn a_cms_lease_released_during_the_wait_is_taken_in_the_same_attempt() {
    let cms = MisbehavingCms::start(vec![], vec![]).await.expect("cms");
    let f = fixture(&cms.base_url(), false);
    assert_eq!(f.env.settings.cms.lease_wait, Duration::from_secs(240));
    f.put_article(ARTICLE).await;
    let lease = hold_lease(&f, "host-b:42 other-workflow").await;
    let leases = f.env.backend.leases.clone();
    let releaser = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(800)).await;
        leases.release(&lease).await.expect("release");
    });
    let out = PostToCms::new(f.env.clone())
        .run(&ctx("PostToCms", package_context("run-a"), json!({})))
        .await
        .expect("posted in the same attempt once the lease was released");
    assert_eq!(out["cms_already_there"], false, "{out}");
    assert!(releaser.is_finished(), "it posted only after the release");
    assert_eq!(cms.ingest_posts("00353", 1), 1, "{:#?}", cms.requests());
}

/// The wait ends early enough for one CMS call to fit before the worker
/// cuts the attempt, whatever `cms.lease_wait` says.
#[tokio::test]
async fn the_wait_for_the_lease_leaves_room_for_one_call_before_the_deadline() {
    let cms = MisbehavingCms::start(vec![], vec![]).await.expect("cms");
    let f = fixture(&cms.base_url(), false);
    f.put_article(ARTICLE).await;
    let _lease = hold_lease(&f, "host-b:42 other-workflow").await;
    let mut attempt = ctx("PostToCms", package_context("run-a"), json!({}));
    let room = Duration::from_millis(700);
    attempt.deadline = Some(tokio::time::Instant::now() + f.env.settings.cms.longest_call() + room);
    let started = std::time::Instant::now();
    let busy = PostToCms::new(f.env.clone())
        .run(&attempt)
        .await
        .expect_err("busy");
    assert!(busy.message.contains("CMS busy"), "{busy:?}");
    assert!(
        started.elapsed() < f.env.settings.cms.lease_wait,
        "the deadline, not lease_wait, ended the wait"
    );
    // With no room at all it does not wait.
    attempt.deadline = Some(tokio::time::Instant::now() + f.env.settings.cms.longest_call());
    let busy = PostToCms::new(f.env.clone())
        .run(&attempt)
        .await
        .expect_err("busy");
    assert!(!busy.message.contains("waited"), "{busy:?}");
    assert!(cms.requests().is_empty(), "nothing reached the CMS");
}

#[tokio::test]
async fn a_cancelled_attempt_stops_waiting_for_the_lease() {
    let cms = MisbehavingCms::start(vec![], vec![]).await.expect("cms");
    let f = fixture(&cms.base_url(), false);
    f.put_article(ARTICLE).await;
    let _lease = hold_lease(&f, "host-b:42 other-workflow").await;
    let attempt = ctx("PublishToCms", package_context("run-a"), json!({}));
    let cancel = attempt.cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        cancel.cancel();
    });
    let stopped = PublishToCms::new(f.env.clone())
        .run(&attempt)
        .await
        .expect_err("cancelled");
    assert_eq!(stopped.kind, FailureKind::Retryable, "{stopped:?}");
    assert!(
        stopped
            .message
            .contains("cancelled while waiting for the CMS lease"),
        "{stopped:?}"
    );
    assert!(cms.requests().is_empty(), "nothing reached the CMS");
}

/// The shipped workflows give every CMS step room for the whole lease wait
/// and one call under the default settings; a step that does not is named.
#[test]
fn shipped_cms_steps_have_room_for_the_lease_wait_and_a_short_one_is_named() {
    use pressbot_activities::cms_activities::short_cms_steps;
    let s = settings("http://127.0.0.1:9");
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../settings/default.toml");
    let defaults: Settings =
        toml::from_str(&std::fs::read_to_string(path).expect("defaults")).expect("parse");
    let workflows = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../workflows"));
    let known = |name: &str| pressbot_activities::is_known_activity(name);
    let shipped = Definitions::load_dir(workflows, &known).expect("shipped workflows");
    assert_eq!(
        short_cms_steps(&shipped, &defaults.cms),
        Vec::<String>::new(),
        "shipped workflows under the default settings"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("Short.toml"),
        r#"
name = "Short"
version = "3"
task_list = "default"
execution_start_to_close = "1h"
[[step]]
activity = "PostToCms"
task_list = "cms"
start_to_close = "6m"
[[step]]
activity = "ArchiveArticle"
start_to_close = "1m"
"#,
    )
    .expect("write");
    let short = Definitions::load_dir(dir.path(), &known).expect("load");
    let found = short_cms_steps(&short, &defaults.cms);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].starts_with("step PostToCms of Short v3: start_to_close 6m leaves 40s"),
        "{found:#?}"
    );
    // The test settings (300 ms requests) need far less.
    assert!(short_cms_steps(&short, &s.cms).is_empty());
}

use pressbot_core::lease::LeaseStore as _;

/// A lease store whose `release` fails (retryable, the request never
/// arrived) the next `fail` times.
#[derive(Debug, Default)]
struct FlakyRelease {
    inner: pressbot_core::lease::MemLeases,
    fail: std::sync::atomic::AtomicU32,
}

#[async_trait]
impl pressbot_core::lease::LeaseStore for FlakyRelease {
    async fn acquire(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<pressbot_core::lease::Acquired> {
        self.inner.acquire(name, holder, ttl).await
    }
    async fn renew(
        &self,
        lease: &pressbot_core::lease::Lease,
        ttl: Duration,
    ) -> Result<Option<pressbot_core::lease::Lease>> {
        self.inner.renew(lease, ttl).await
    }
    async fn release(&self, lease: &pressbot_core::lease::Lease) -> Result<()> {
        use std::sync::atomic::Ordering;
        if self
            .fail
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(Error::backend(
                "test",
                "ReleaseLease",
                &lease.name,
                true,
                "connection reset before the request was sent",
            ));
        }
        self.inner.release(lease).await
    }
}

/// A release that fails is tried again at once; one that keeps failing is
/// released before this process's next CMS call. Either way nobody waits
/// out the lease's ttl (30 s here, against a 2 s `lease_wait`), as the CI
/// chaos run of 2026-12-06 did three times in three minutes.
#[tokio::test]
async fn a_lease_whose_release_fails_is_released_again_not_left_to_expire() {
    let cms = MisbehavingCms::start(vec![], vec![]).await.expect("cms");
    let base = fixture_with(
        settings_waiting(&cms.base_url(), Duration::from_secs(2)),
        false,
    );
    base.put_article(ARTICLE).await;
    let flaky = Arc::new(FlakyRelease::default());
    let env = Arc::new(Env {
        backend: Backend {
            leases: flaky.clone(),
            ..base.env.backend.clone()
        },
        settings: base.env.settings.clone(),
    });
    let lease_of = |holder: &'static str| {
        let flaky = flaky.clone();
        async move {
            flaky
                .inner
                .acquire(
                    pressbot_core::lease::CMS_LEASE,
                    holder,
                    Duration::from_secs(30),
                )
                .await
                .expect("acquire")
        }
    };

    // Two failures: the third try releases it.
    flaky.fail.store(2, std::sync::atomic::Ordering::SeqCst);
    PostToCms::new(env.clone())
        .run(&ctx("PostToCms", package_context("run-a"), json!({})))
        .await
        .expect("posted");
    match lease_of("probe").await {
        pressbot_core::lease::Acquired::Held(l) => {
            flaky.inner.release(&l).await.expect("release probe")
        }
        busy => panic!("released after two failures: {busy:?}"),
    }

    // Three failures: still held after the call...
    flaky.fail.store(3, std::sync::atomic::Ordering::SeqCst);
    PublishToCms::new(env.clone())
        .run(&ctx("PublishToCms", package_context("run-a"), json!({})))
        .await
        .expect("published");
    assert!(
        matches!(
            lease_of("probe").await,
            pressbot_core::lease::Acquired::Busy(_)
        ),
        "three failed releases leave the lease held"
    );
    // ...and the next CMS call of this process releases it first instead of
    // waiting 30 s for it (its own lease_wait is 2 s).
    let third = PublishToCms::new(env.clone())
        .run(&ctx("PublishToCms", package_context("run-b"), json!({})))
        .await
        .expect("the leftover lease was released, not waited for");
    assert_eq!(third["already_published"], true, "{third}");
}
