//! Settings types. Loading (files, layering, environment variables) lives
//! in the daemons crate; these types only describe and validate.
//!
//! Every struct denies unknown keys so a typo in a settings file fails at
//! start-up instead of being silently ignored.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// The whole settings tree.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Name of the environment (`dev`, `prod`, ...), for logs.
    pub env: String,
    /// Prefix of every bucket, queue and the SWF domain: environments never collide.
    pub prefix: String,
    /// Which services the daemons talk to: the embedded one or AWS.
    pub backend: BackendKind,
    /// The embedded backend's data directory and polling.
    pub local: LocalSettings,
    /// How to reach AWS (region, endpoint, timeouts).
    pub aws: AwsSettings,
    /// The SWF domain workflows run in.
    pub swf: SwfSettings,
    /// Bucket names by role.
    pub buckets: Buckets,
    /// Queue names by role, and when a message is dead-lettered.
    pub queues: Queues,
    /// The decider daemon.
    pub decider: DeciderSettings,
    /// The activity worker daemon.
    pub worker: WorkerSettings,
    /// The queue worker (incoming S3 events to starter messages).
    pub queue_worker: QueueWorkerSettings,
    /// The workflow starter daemon.
    pub starter: StarterSettings,
    /// The CMS that PostToCms and its kin talk to.
    pub cms: CmsSettings,
    /// Limits and targets of the activities themselves.
    pub activities: ActivitySettings,
    /// The health and metrics endpoint every daemon serves.
    pub http: HttpSettings,
    /// The live dashboard (`pressbot up`, `pressbot dashboard`). Optional
    /// so that settings files written before it still load.
    #[serde(default)]
    pub dashboard: DashboardSettings,
    /// Log format and filter.
    pub log: LogSettings,
    /// Directory of workflow definitions, rules and cron schedules.
    pub workflows_dir: PathBuf,
}

/// Which implementation of the backend traits the daemons use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// SQLite + files under `local.data_dir`.
    Local,
    /// SWF, SQS and S3.
    Aws,
}

/// The embedded backend: SQLite and files on one host, for development,
/// tests and small installations.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LocalSettings {
    /// Where the database and stored objects live.
    pub data_dir: PathBuf,
    /// How often a long poll re-reads the database for work written by other processes.
    #[serde(with = "humantime_serde")]
    pub poll_interval: Duration,
    /// How long a long poll waits for work before answering "nothing"
    /// (SWF holds 60 s; shorter here makes a stopping process quicker).
    #[serde(with = "humantime_serde")]
    pub long_poll: Duration,
    /// Public base URL of the object server (`pressbot up` serves it), e.g.
    /// `http://files.example.org:8481`: presigned URLs then read
    /// `<object_url>/<bucket>/<key>?expires=…&signature=…` and can be fetched
    /// over HTTP. Unset: `file://` URLs (signed too), for same-host use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_url: Option<String>,
    /// Where `pressbot up` serves presigned object URLs (loopback by default).
    #[serde(default = "default_object_listen")]
    pub object_listen: SocketAddr,
}

fn default_object_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8481))
}

/// How to reach AWS. Credentials come from the SDK's standard chain, never
/// from this file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AwsSettings {
    /// Empty or unset: the SDK's standard chain picks the region
    /// (`AWS_REGION`, `AWS_DEFAULT_REGION`, the profile, instance
    /// metadata), as every other AWS tool on the host does; set it only to
    /// override that.
    #[serde(default)]
    pub region: String,
    /// For moto, LocalStack or a VPC endpoint; unset on AWS itself.
    pub endpoint_url: Option<String>,
    /// Address buckets as `<endpoint>/<bucket>` rather than as a host name;
    /// needed by moto and most S3 look-alikes.
    pub force_path_style: bool,
    /// An AWS profile to use instead of the default chain (one per role, see
    /// the operations guide).
    pub profile: Option<String>,
    /// How long to wait for a connection to an AWS endpoint.
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// Above SWF's 60 s long poll, or every poll would be cut.
    #[serde(with = "humantime_serde")]
    pub read_timeout: Duration,
    /// Page size for SWF histories (1..=1000); small values are for tests.
    pub history_page_size: i32,
}

/// The SWF domain.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SwfSettings {
    /// Domain name without the prefix.
    pub domain: String,
    /// How long SWF keeps closed executions' histories, set when the domain is
    /// registered.
    pub retention_days: u32,
}

/// Bucket roles; each value is the name without the environment prefix.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Buckets {
    /// Where packages arrive; new objects here start workflows.
    pub incoming: String,
    /// Where silent corrections arrive: they correct the highest published
    /// version instead of making a new one.
    pub silent_corrections: String,
    /// Where ExpandArticle unpacks each package.
    pub expanded: String,
    /// What the public site serves (article files, web images).
    pub cdn: String,
    /// Where every processed package is kept.
    pub archive: String,
}

/// Queue roles; each value is the name without the environment prefix.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Queues {
    /// S3 event notifications for the incoming buckets.
    pub incoming: String,
    /// Requests to start a workflow (from the queue worker, the dashboard and tools).
    pub workflow_starter: String,
    /// Dashboard events and properties that activities send.
    pub event_monitor: String,
    /// Receives before a message moves to its dead-letter queue.
    pub max_receives: u32,
}

/// The decider daemon.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DeciderSettings {
    /// Task list it polls for decision tasks; workflow definitions name it too.
    pub task_list: String,
    /// Decision tasks handled at once.
    pub slots: usize,
}

/// One pool of activity-worker slots on a task list.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerPool {
    /// Task list the pool polls; a step's `task_list` picks the pool.
    pub task_list: String,
    /// Activities run at once from this task list.
    pub slots: usize,
}

/// The activity worker daemon.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerSettings {
    /// One pool per task list, each with its own slots, so one slow kind of
    /// work (the CMS) cannot starve the others.
    pub pools: Vec<WorkerPool>,
    /// On SIGTERM, how long in-flight activities may run before they are handed back.
    #[serde(with = "humantime_serde")]
    pub drain: Duration,
    /// Upper bound on the heartbeat interval.
    #[serde(with = "humantime_serde")]
    pub max_heartbeat_interval: Duration,
}

/// The queue worker, which turns incoming S3 events into starter messages.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct QueueWorkerSettings {
    /// Long poll of each receive.
    #[serde(with = "humantime_serde")]
    pub wait: Duration,
    /// How long a received message stays hidden; extended while it is handled.
    #[serde(with = "humantime_serde")]
    pub visibility: Duration,
}

/// The workflow starter, which starts executions from starter messages.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StarterSettings {
    /// Long poll of each receive.
    #[serde(with = "humantime_serde")]
    pub wait: Duration,
    /// How long a received message stays hidden; extended while it is handled.
    #[serde(with = "humantime_serde")]
    pub visibility: Duration,
}

/// The CMS client: where it is, how to authenticate, how long to wait.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CmsSettings {
    /// Base URL of the CMS; unset with `embedded = true` means the embedded CMS.
    pub base_url: Option<String>,
    /// Serve the CMS contract in-process (`pressbot up`), keeping articles under the data dir.
    pub embedded: bool,
    /// Where the embedded CMS listens.
    pub embedded_listen: SocketAddr,
    /// How requests authenticate; the secret comes from `secret_env` or `secret_file`.
    pub auth: CmsAuth,
    /// Name of the environment variable that holds the secret (never the secret itself).
    pub secret_env: Option<String>,
    /// Or a file holding it.
    pub secret_file: Option<PathBuf>,
    /// How long to wait for a connection to the CMS.
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// A little above the proxy's cut (60 s): past it the request is treated as cut.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// Longest Retry-After honoured before giving the attempt back to the retry policy.
    #[serde(with = "humantime_serde")]
    pub max_retry_after: Duration,
    /// Ttl of the CMS lease (one ingest at a time across every worker and
    /// host): renewed every third of it while a CMS call runs, so a worker
    /// that dies blocks the others for at most this long.
    #[serde(with = "humantime_serde", default = "default_cms_lease_ttl")]
    pub lease_ttl: Duration,
    /// How long a CMS step waits for the lease inside its attempt
    /// (heartbeating) when another worker holds it, before failing the
    /// attempt retryable. Waiting inside the attempt keeps a burst of
    /// packages from spending their retry attempts on a busy CMS; the wait
    /// also ends early enough for one CMS call to fit in the step's
    /// `start_to_close`.
    #[serde(with = "humantime_serde", default = "default_cms_lease_wait")]
    pub lease_wait: Duration,
}

fn default_cms_lease_ttl() -> Duration {
    Duration::from_secs(30)
}

fn default_cms_lease_wait() -> Duration {
    Duration::from_secs(240)
}

impl CmsSettings {
    /// The longest one CMS client call can take: no new round starts after
    /// `max_retry_after` + 2 x `request_timeout`, and a round (status, then
    /// POST) takes at most 2 x `request_timeout` more. A CMS step's
    /// `start_to_close` must cover this plus the time it may wait for the
    /// lease.
    pub fn longest_call(&self) -> Duration {
        self.max_retry_after + self.request_timeout * 4
    }
}

/// How the CMS client authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CmsAuth {
    /// No credentials (the embedded CMS, a CMS behind a private network).
    None,
    /// HTTP Basic, with the secret as `user:password`.
    Basic,
    /// A bearer token.
    Bearer,
}

/// What the activities make and the limits they enforce on outside input.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ActivitySettings {
    /// Widths of the web JPEGs made from each figure.
    pub image_widths: Vec<u32>,
    /// Quality (1..=100) of the web JPEGs.
    pub jpeg_quality: u8,
    /// Base URL under which the CDN bucket's files are served.
    pub cdn_base_url: String,
    /// Base of the IIIF image server for the article-json's image `uri`s
    /// (`<base>/<id>%2F<file>`); eLife's model requires https. pressbot
    /// runs no image server: pages use each image's `source` (the web JPEG
    /// on the CDN), so this matters only to a CMS that uses IIIF.
    pub iiif_base_url: String,
    /// `Cache-Control` of files put in the CDN bucket.
    pub cache_control: String,
    /// Zip safety limits.
    pub max_unzipped_bytes: u64,
    /// Most entries a package may hold.
    pub max_entries: u64,
    /// Largest ratio of unpacked to packed size of any entry, against zip bombs.
    pub max_compression_ratio: u64,
    /// Largest package (zip) ExpandArticle will download, in bytes, checked
    /// on the object's metadata before a byte is fetched: a package comes
    /// from outside and is written to local disk, so its size is bounded
    /// before it costs anything.
    pub max_package_bytes: u64,
    /// Largest figure width, height and pixel count ResizeImages decodes,
    /// read from the image's header before decoding: a tiny file can claim
    /// 100 000 × 100 000 pixels (40 GB once decoded).
    pub max_image_width: u32,
    /// See `max_image_width`.
    pub max_image_height: u32,
    /// See `max_image_width`.
    pub max_image_pixels: u64,
    /// Where packages are downloaded to and unzipped from (temporary files,
    /// removed when the activity ends); the system temp dir when unset.
    /// Needs room for the largest package plus its largest entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temp_dir: Option<PathBuf>,
    /// Lifetime of presigned URLs (`pressbot presign` unless `--expires`).
    #[serde(with = "humantime_serde")]
    pub presign_expiry: Duration,
}

/// The health and metrics endpoint.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    /// `/__lbheartbeat__`, `/__heartbeat__`, `/__version__`, `/metrics`; off when unset.
    pub listen: Option<SocketAddr>,
}

/// The live dashboard: where it serves its page and what it lists.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DashboardSettings {
    /// Where the page and `/api/state` are served. Loopback by default: the
    /// dashboard has no authentication, so exposing it is a deliberate
    /// choice (or a reverse proxy's job).
    #[serde(default = "default_dashboard_listen")]
    pub listen: SocketAddr,
    /// How far back closed workflows are listed ("recently closed").
    #[serde(with = "humantime_serde", default = "default_dashboard_recent")]
    pub recent: Duration,
    /// How often the page refreshes itself (and the consumer's store is
    /// re-read); also the `<meta http-equiv="refresh">` of the no-script page.
    #[serde(with = "humantime_serde", default = "default_dashboard_refresh")]
    pub refresh: Duration,
}

fn default_dashboard_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8482))
}

fn default_dashboard_recent() -> Duration {
    Duration::from_secs(24 * 3600)
}

fn default_dashboard_refresh() -> Duration {
    Duration::from_secs(2)
}

impl Default for DashboardSettings {
    fn default() -> Self {
        DashboardSettings {
            listen: default_dashboard_listen(),
            recent: default_dashboard_recent(),
            refresh: default_dashboard_refresh(),
        }
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human on a terminal, JSON otherwise (journald).
    Auto,
    /// Readable lines (coloured on a terminal).
    Human,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Logging.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// Human or JSON lines (or picked by where stdout goes).
    pub format: LogFormat,
    /// A `tracing` filter, e.g. `info,pressbot=debug`.
    pub level: String,
}

impl Settings {
    fn prefixed(&self, name: &str) -> String {
        format!("{}-{}", self.prefix, name)
    }

    /// The real name of a bucket role (`incoming`, `expanded`, ...).
    pub fn bucket(&self, role: &str) -> Option<String> {
        let b = &self.buckets;
        let name = match role {
            "incoming" => &b.incoming,
            "silent_corrections" => &b.silent_corrections,
            "expanded" => &b.expanded,
            "cdn" => &b.cdn,
            "archive" => &b.archive,
            _ => return None,
        };
        Some(self.prefixed(name))
    }

    /// Every bucket's real name.
    pub fn all_buckets(&self) -> Vec<String> {
        [
            "incoming",
            "silent_corrections",
            "expanded",
            "cdn",
            "archive",
        ]
        .iter()
        .filter_map(|r| self.bucket(r))
        .collect()
    }

    /// The incoming queue's real name.
    pub fn incoming_queue(&self) -> String {
        self.prefixed(&self.queues.incoming)
    }

    /// The workflow-starter queue's real name.
    pub fn starter_queue(&self) -> String {
        self.prefixed(&self.queues.workflow_starter)
    }

    /// The event-monitor (dashboard) queue's real name.
    pub fn event_queue(&self) -> String {
        self.prefixed(&self.queues.event_monitor)
    }

    /// Every queue's real name, for creating them and checking they exist.
    pub fn all_queues(&self) -> Vec<String> {
        vec![
            self.incoming_queue(),
            self.starter_queue(),
            self.event_queue(),
        ]
    }

    /// The SWF domain's real name.
    pub fn domain(&self) -> String {
        self.prefixed(&self.swf.domain)
    }

    /// Check what types cannot: names, ranges, consistency. Fails with the
    /// first of [`Settings::problems`].
    pub fn validate(&self) -> Result<()> {
        match self.problems().into_iter().next() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Every problem [`Settings::validate`] checks for, each an
    /// [`Error::Settings`] naming its key: `check-config` shows them all at
    /// once rather than one per run.
    pub fn problems(&self) -> Vec<Error> {
        let mut problems = Vec::new();
        let mut bad = |key: &str, message: String| {
            problems.push(Error::Settings {
                key: key.to_owned(),
                message,
            });
        };
        if self.prefix.is_empty()
            || !self
                .prefix
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            bad(
                "prefix",
                format!("{:?} must be non-empty lowercase letters, digits and '-' (it prefixes bucket names)", self.prefix),
            );
        }
        for b in self.all_buckets() {
            if b.len() < 3 || b.len() > 63 || b.contains('_') {
                bad(
                    "buckets",
                    format!("{b:?} is not a valid S3 bucket name (3-63 characters, no '_')"),
                );
                // One is enough: a bad prefix makes every bucket name bad.
                break;
            }
        }
        if self.queues.max_receives == 0 {
            bad("queues.max_receives", "must be at least 1".into());
        }
        if self.decider.slots == 0 {
            bad("decider.slots", "must be at least 1".into());
        }
        if self.worker.pools.is_empty() {
            bad("worker.pools", "needs at least one pool".into());
        }
        for (i, p) in self.worker.pools.iter().enumerate() {
            if p.slots == 0 {
                bad(
                    &format!("worker.pools[{i}].slots"),
                    "must be at least 1".into(),
                );
            }
        }
        if self.aws.read_timeout <= Duration::from_secs(60) && self.backend == BackendKind::Aws {
            bad(
                "aws.read_timeout",
                "must be longer than SWF's 60 s long poll".into(),
            );
        }
        if !(1..=1000).contains(&self.aws.history_page_size) {
            bad("aws.history_page_size", "must be within 1..=1000".into());
        }
        if self.cms.base_url.is_none() && !self.cms.embedded {
            bad(
                "cms.base_url",
                "set a CMS URL, or cms.embedded = true".into(),
            );
        }
        if self.cms.auth != CmsAuth::None
            && self.cms.secret_env.is_none()
            && self.cms.secret_file.is_none()
        {
            bad("cms.auth", "needs cms.secret_env or cms.secret_file".into());
        }
        if self.activities.image_widths.is_empty() || self.activities.image_widths.contains(&0) {
            bad(
                "activities.image_widths",
                "needs at least one width above 0".into(),
            );
        }
        if !self.activities.iiif_base_url.starts_with("https://")
            || self.activities.iiif_base_url.trim_end_matches('/').len() <= "https://".len()
        {
            bad(
                "activities.iiif_base_url",
                format!(
                    "{:?} is not an https URL (the article-json model requires https IIIF URIs)",
                    self.activities.iiif_base_url
                ),
            );
        }
        for (key, value) in [
            (
                "activities.max_package_bytes",
                self.activities.max_package_bytes,
            ),
            (
                "activities.max_image_width",
                self.activities.max_image_width.into(),
            ),
            (
                "activities.max_image_height",
                self.activities.max_image_height.into(),
            ),
            (
                "activities.max_image_pixels",
                self.activities.max_image_pixels,
            ),
        ] {
            if value == 0 {
                bad(key, "must be at least 1".into());
            }
        }
        if let Some(w) = self.activities.image_widths.iter().max() {
            if *w > self.activities.max_image_width {
                bad(
                    "activities.max_image_width",
                    format!(
                        "{} is below the largest of activities.image_widths ({w})",
                        self.activities.max_image_width
                    ),
                );
            }
        }
        if self.dashboard.recent.is_zero() {
            bad("dashboard.recent", "must be above 0".into());
        }
        if self.dashboard.refresh < Duration::from_millis(100)
            || self.dashboard.refresh > Duration::from_secs(3600)
        {
            bad("dashboard.refresh", "must be within 100ms..=1h".into());
        }
        if !(1..=100).contains(&self.activities.jpeg_quality) {
            bad("activities.jpeg_quality", "must be within 1..=100".into());
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> Settings {
        toml::from_str(include_str!("../../../settings/default.toml")).expect("default.toml")
    }

    #[test]
    fn hostile_input_limits_are_validated_naming_the_key() {
        defaults().validate().expect("defaults are valid");
        type Breaker = fn(&mut ActivitySettings);
        let cases: [(&str, Breaker); 4] = [
            ("activities.max_package_bytes", |a| a.max_package_bytes = 0),
            ("activities.max_image_width", |a| a.max_image_width = 0),
            ("activities.max_image_height", |a| a.max_image_height = 0),
            ("activities.max_image_pixels", |a| a.max_image_pixels = 0),
        ];
        for (key, break_it) in cases {
            let mut s = defaults();
            break_it(&mut s.activities);
            let e = s.validate().expect_err(key).to_string();
            assert!(e.contains(key), "{key}: {e}");
        }
        // A web width the figure limit would never allow.
        let mut s = defaults();
        s.activities.max_image_width = 1000;
        let e = s.validate().expect_err("width").to_string();
        assert!(e.contains("activities.max_image_width"), "{e}");
        // Unknown keys are still refused.
        let text = include_str!("../../../settings/default.toml")
            .replace("[activities]", "[activities]\nmax_image_widht = 5");
        assert!(toml::from_str::<Settings>(&text)
            .expect_err("typo")
            .to_string()
            .contains("max_image_widht"));
    }

    #[test]
    fn dashboard_settings_are_checked_and_optional() {
        let s = defaults();
        assert!(s.dashboard.listen.ip().is_loopback(), "loopback by default");
        let text = include_str!("../../../settings/default.toml");
        // A settings file from before the dashboard still loads.
        let start = text.find("[dashboard]").expect("section");
        let end = start + text[start..].find("[log]").expect("next section");
        let without = format!("{}{}", &text[..start], &text[end..]);
        let old: Settings = toml::from_str(&without).expect("loads without [dashboard]");
        assert_eq!(old.dashboard.listen, s.dashboard.listen);
        // Typos are refused, out-of-range values named.
        let typo = text.replace("[dashboard]", "[dashboard]\nlisten_on = \"0.0.0.0:1\"");
        assert!(toml::from_str::<Settings>(&typo)
            .expect_err("typo")
            .to_string()
            .contains("listen_on"));
        let mut s = defaults();
        s.dashboard.refresh = Duration::from_millis(1);
        let e = s.validate().expect_err("refresh").to_string();
        assert!(e.contains("dashboard.refresh"), "{e}");
    }
}
