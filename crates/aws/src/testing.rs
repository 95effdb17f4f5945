//! Test support: a real `moto_server` (PyPI `moto[server]`, a local HTTP
//! server speaking SWF, SQS and S3) started per test, and settings and a
//! backend pointing at it. Public so other crates' tests can run against
//! the AWS backend too.
//!
//! ```no_run
//! # async fn t() {
//! use pressbot_aws::testing::MotoServer;
//! let moto = MotoServer::start(); // panics with how to install moto if it is missing
//! let settings = moto.settings("t1");
//! let aws = moto.connect(&settings).await;
//! # }
//! ```
//!
//! Never skipped silently: without moto, [`MotoServer::start`] panics and
//! says to run `bash scripts/moto/ensure-moto.sh`.
//!
//! # Where moto (5.2) differs from AWS
//!
//! Found by the tests in `crates/aws/tests/`; each is worked around or
//! tested another way, so a test that passes here means the same on AWS:
//!
//! - SWF polls do not long-poll: with no work moto sleeps 1 s and answers
//!   with no task token (the backend's `Ok(None)`, as on AWS after 60 s).
//! - `PollForDecisionTask` and `GetWorkflowExecutionHistory` ignore
//!   `maximumPageSize` and never return a `nextPageToken`: history paging is
//!   tested against an SWF stand-in (`tests/paging.rs`) instead.
//! - `ListClosedWorkflowExecutions` with a `closeStatusFilter` returns
//!   nothing, a name-only `typeFilter` fails with HTTP 500, and the
//!   execution filter is ignored: the backend filters close status and
//!   workflow name itself (and re-checks the workflow id).
//! - Activities time out by heartbeat only (no start-to-close,
//!   schedule-to-start or schedule-to-close timeouts), and the heartbeat
//!   clock starts when the task is *scheduled*: a task that waits in its
//!   task list longer than its heartbeat timeout times out unstarted (AWS:
//!   the heartbeat timeout runs only once the task has started). Tasks
//!   queued behind the one CMS slot meet this in the long chaos run, which
//!   gives them a longer heartbeat on moto (`tests/chaos.rs`).
//! - Answering with the token of a timed-out decision task gives HTTP 500
//!   with an HTML page (AWS: `UnknownResourceFault`); a garbage token gives
//!   `ValidationException`. A completed task's token is `UnknownResourceFault`
//!   as on AWS.
//! - After a decision task timed out, a `CancelWorkflowExecution` decision
//!   fails with `UNHANDLED_DECISION` (moto's open decision count is off).
//! - Not implemented: `RequestCancelWorkflowExecution`, the
//!   `RequestCancelActivityTask` decision; heartbeats always answer
//!   `cancelRequested: false`.
//! - `GetBucketNotificationConfiguration` on a bucket without one answers
//!   `<GetBucketNotificationResponse/>`, which the SDK cannot parse; the
//!   backend reads exactly that answer as "no configuration".
//! - S3 event notifications carry no `sequencer`; the `eTag` is unquoted as on AWS.
//! - IAM (`INITIAL_NO_AUTH_ACTION_COUNT`, [`MotoServer::start_enforcing_iam`]):
//!   moto checks the SigV4 signature and the caller's policies on SWF, SQS
//!   and S3 requests (each service's `BaseResponse.call_action`; S3 its
//!   own way), but it matches a statement's `Resource` against the ARN of
//!   what a call touches only on S3 (bucket, bucket/key) and on SQS calls
//!   that carry a `QueueUrl`. Every SWF call, SQS `GetQueueUrl` and
//!   `CreateQueue` are checked against the resource `*`, which no ARN in a
//!   policy matches: a policy scoped to the domain denies every SWF call on
//!   moto. Every call is checked under its operation name, where IAM has
//!   other actions: `sqs:SendMessageBatch` (IAM: `sqs:SendMessage`),
//!   `s3:HeadObject` (`s3:GetObject`), `s3:HeadBucket` and
//!   `s3:ListObjectsV2` (`s3:ListBucket`), `s3:CopyObject` (`s3:PutObject`
//!   on the target; the source is not checked),
//!   `s3:GetBucketNotificationConfiguration` (`s3:GetBucketNotification`). So the IAM test (`tests/e2e_iam.rs`) restates each shipped
//!   document in moto's terms (those names added beside the IAM ones, and
//!   the `*`-checked actions once more on `*`): on moto the *actions* of
//!   every role are proven, resource scoping only for S3 and SQS calls on
//!   an existing queue URL. Denials name the action (`User: ... is
//!   not authorized to perform: sqs:SendMessage`) except on S3 (a bare
//!   `AccessDenied`; the backend names the action itself, see
//!   `AwsError::AccessDenied`). SWF decisions' own permissions (e.g.
//!   `swf:ScheduleActivityTask`, checked by AWS inside
//!   `RespondDecisionTaskCompleted`) are not checked by moto at all.
//! - Presigned URLs are not checked: a GET with an expired `X-Amz-Expires`
//!   or a tampered query is served (200). The S3 test asserts the URL's
//!   SigV4 parameters and pins this deviation; expiry enforcement itself is
//!   tested on the embedded backend (`crates/local/tests/presign.rs`).
//!
//! Three of the SWF deviations above (a timed-out activity's token
//! answered with an HTML 500, as the ignored case found; heartbeat-only
//! activity timeouts; no cancel requests) keep three conformance cases
//! (`timed_out_activity_token_is_spent`, `activity_start_to_close_timeout`,
//! `cancel_request_reaches_heartbeat`) `#[ignore]`d on moto. They run by
//! default on this backend against the stateful SWF stand-in of
//! `pressbot-conformance` (its `swf_stand_in` module: SWF's JSON protocol
//! backed by the embedded backend, which has SWF's timeouts and cancel
//! requests): `cargo test -p pressbot-conformance --test aws swf_stand_in`.
//! The stand-in's `MotoQuirks` reproduce those three answers, and
//! `cargo test -p pressbot-conformance --test swf_stand_in` shows each case
//! failing on them. How this backend reads AWS's own answers is also pinned
//! by the scripted stand-in of `tests/paging.rs`.
//!
//! Not a deviation (checked, since the CMS lease relies on it): moto 5.2.6
//! honours conditional `PutObject` as S3 does: `If-None-Match: *` over an
//! existing object and `If-Match` with a stale eTag are refused with 412
//! (`crates/aws/tests/leases.rs` pins it). Concurrent conditional writes
//! racing inside S3 (409 `ConditionalRequestConflict`) cannot be provoked
//! on moto; the lease treats 409 like 412 (someone else wrote first).

use crate::AwsBackend;
use aws_credential_types::Credentials;
use pressbot_core::settings::{
    ActivitySettings, AwsSettings, BackendKind, Buckets, CmsAuth, CmsSettings, DeciderSettings,
    HttpSettings, LocalSettings, LogFormat, LogSettings, QueueWorkerSettings, Queues, Settings,
    StarterSettings, SwfSettings, WorkerPool, WorkerSettings,
};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Environment variable naming the `moto_server` executable to use.
pub const MOTO_ENV: &str = "PRESSBOT_MOTO_SERVER";

/// The workspace root (two levels above this crate's manifest).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/aws sits two levels below the workspace root")
        .to_path_buf()
}

/// Where `moto_server` is: `$PRESSBOT_MOTO_SERVER`, else the venv that
/// `scripts/moto/ensure-moto.sh` makes under `.build/`.
pub fn moto_server_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(MOTO_ENV) {
        let p = PathBuf::from(p);
        return p.is_file().then_some(p);
    }
    let p = workspace_root().join(".build/moto-venv/bin/moto_server");
    p.is_file().then_some(p)
}

/// Fixed credentials for moto (it accepts any; the SDK needs some to sign).
pub fn test_credentials() -> Credentials {
    Credentials::new("testing", "testing", None, None, "pressbot-moto")
}

/// Fixed credentials of one moto IAM user (tests that enforce IAM).
pub fn user_credentials(access_key_id: &str, secret_access_key: &str) -> Credentials {
    Credentials::new(
        access_key_id,
        secret_access_key,
        None,
        None,
        "pressbot-moto-user",
    )
}

/// A running `moto_server` on a free loopback port, killed on drop.
#[derive(Debug)]
pub struct MotoServer {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl MotoServer {
    /// Start `moto_server -H 127.0.0.1 -p PORT` and wait until it accepts
    /// connections. Panics, saying how to get moto, if it is not installed.
    pub fn start() -> MotoServer {
        Self::start_with_env(&[])
    }

    /// [`MotoServer::start`] enforcing IAM: after `initial_no_auth`
    /// unauthenticated requests (moto's `INITIAL_NO_AUTH_ACTION_COUNT`)
    /// every request must be signed by a key moto's IAM knows and be
    /// allowed by that user's policies (see the deviations above for what
    /// moto does not check).
    pub fn start_enforcing_iam(initial_no_auth: u32) -> MotoServer {
        Self::start_with_env(&[("INITIAL_NO_AUTH_ACTION_COUNT", initial_no_auth.to_string())])
    }

    /// The Python of moto's virtualenv (it has boto3, for IAM set-up
    /// scripts), else `python3`.
    pub fn python() -> PathBuf {
        moto_server_path()
            .and_then(|p| p.parent().map(|d| d.join("python")))
            .filter(|p| p.exists())
            .unwrap_or_else(|| PathBuf::from("python3"))
    }

    fn start_with_env(env: &[(&str, String)]) -> MotoServer {
        let Some(server) = moto_server_path() else {
            panic!(
                "moto_server not found (looked at ${MOTO_ENV} and {}). \
                 Install it with `bash scripts/moto/ensure-moto.sh` (a venv under .build/), \
                 or point {MOTO_ENV} at a moto_server executable.",
                workspace_root()
                    .join(".build/moto-venv/bin/moto_server")
                    .display()
            )
        };
        let port = free_port();
        let log = std::env::temp_dir().join(format!("pressbot-moto-{port}.log"));
        let log_file = std::fs::File::create(&log)
            .unwrap_or_else(|e| panic!("cannot create moto log {}: {e}", log.display()));
        let child = Command::new(&server)
            .envs(env.iter().map(|(k, v)| (k, v.as_str())))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", server.display()));
        let mut moto = MotoServer { child, port, log };
        moto.wait_ready(Duration::from_secs(60));
        moto
    }

    fn wait_ready(&mut self, limit: Duration) {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "moto_server exited at start-up ({status}); its log {}:\n{}",
                    self.log.display(),
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "moto_server did not listen on {addr} within {limit:?}; its log {}:\n{}",
                    self.log.display(),
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Settings for the AWS backend on this server; `prefix` keeps tests
    /// sharing one server apart.
    pub fn settings(&self, prefix: &str) -> Settings {
        test_settings(&self.endpoint(), prefix)
    }

    /// A backend on this server with [`test_credentials`].
    pub async fn connect(&self, settings: &Settings) -> AwsBackend {
        AwsBackend::connect_with_credentials(settings, test_credentials())
            .await
            .expect("test settings are valid")
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// The environment that points pressbot processes (the daemons, the CLI)
/// at moto on `endpoint`, with names prefixed by `prefix`: the same as
/// [`test_settings`], through the `PRESSBOT__*` overrides. moto accepts any
/// credentials; the SDK needs some to sign, and must never reach for a real
/// profile or instance role.
pub fn daemon_env(endpoint: &str, prefix: &str) -> Vec<(&'static str, String)> {
    [
        ("PRESSBOT__BACKEND", "aws"),
        ("PRESSBOT__AWS__ENDPOINT_URL", endpoint),
        ("PRESSBOT__AWS__FORCE_PATH_STYLE", "true"),
        ("PRESSBOT__AWS__REGION", "us-east-1"),
        ("PRESSBOT__SWF__RETENTION_DAYS", "1"),
        ("PRESSBOT__PREFIX", prefix),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_SESSION_TOKEN", "testing"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_CONFIG_FILE", "/dev/null"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_owned()))
    .collect()
}

/// A complete [`Settings`] for the AWS backend at `endpoint` (moto):
/// region us-east-1, path-style S3, names prefixed with `prefix`.
pub fn test_settings(endpoint: &str, prefix: &str) -> Settings {
    let secs = Duration::from_secs;
    Settings {
        env: "test".into(),
        prefix: prefix.into(),
        backend: BackendKind::Aws,
        local: LocalSettings {
            data_dir: std::env::temp_dir().join(format!("pressbot-{prefix}")),
            poll_interval: Duration::from_millis(200),
            long_poll: secs(1),
            object_url: None,
            object_listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        },
        aws: AwsSettings {
            region: "us-east-1".into(),
            endpoint_url: Some(endpoint.into()),
            force_path_style: true,
            profile: None,
            connect_timeout: secs(5),
            read_timeout: secs(70),
            history_page_size: 1000,
        },
        swf: SwfSettings {
            domain: "pressbot".into(),
            retention_days: 1,
        },
        buckets: Buckets {
            incoming: "incoming".into(),
            silent_corrections: "silent-corrections".into(),
            expanded: "expanded".into(),
            cdn: "cdn".into(),
            archive: "archive".into(),
        },
        queues: Queues {
            incoming: "incoming".into(),
            workflow_starter: "workflow-starter".into(),
            event_monitor: "event-monitor".into(),
            max_receives: 3,
        },
        decider: DeciderSettings {
            task_list: "decisions".into(),
            slots: 1,
        },
        worker: WorkerSettings {
            pools: vec![WorkerPool {
                task_list: "default".into(),
                slots: 1,
            }],
            drain: secs(5),
            max_heartbeat_interval: secs(30),
        },
        queue_worker: QueueWorkerSettings {
            wait: secs(1),
            visibility: secs(30),
        },
        starter: StarterSettings {
            wait: secs(1),
            visibility: secs(30),
        },
        cms: CmsSettings {
            base_url: None,
            embedded: true,
            embedded_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            auth: CmsAuth::None,
            secret_env: None,
            secret_file: None,
            connect_timeout: secs(5),
            request_timeout: secs(65),
            max_retry_after: secs(60),
            lease_ttl: std::time::Duration::from_secs(30),
            lease_wait: std::time::Duration::from_secs(240),
        },
        activities: ActivitySettings {
            image_widths: vec![500],
            jpeg_quality: 80,
            cdn_base_url: "http://cdn.invalid/".into(),
            iiif_base_url: "https://iiif.invalid/iiif/2".into(),
            cache_control: "max-age=60".into(),
            max_unzipped_bytes: 1 << 30,
            max_entries: 10_000,
            max_compression_ratio: 200,
            max_package_bytes: 2 << 30,
            max_image_width: 20_000,
            max_image_height: 20_000,
            max_image_pixels: 150_000_000,
            temp_dir: None,
            presign_expiry: secs(3600),
        },
        http: HttpSettings { listen: None },
        dashboard: Default::default(),
        log: LogSettings {
            format: LogFormat::Auto,
            level: "info".into(),
        },
        workflows_dir: workspace_root().join("workflows"),
    }
}
