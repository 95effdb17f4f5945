//! The AWS backend: pressbot's backend traits on SWF, SQS and S3.
//!
//! [`AwsBackend::connect`] builds the three SDK clients in one place from
//! `settings.aws` (region, the standard credential chain, an optional
//! endpoint for moto or a VPC endpoint, timeouts above the long polls), and
//! [`AwsBackend::backend`] hands them to the daemons as core's
//! [`Backend`]. Nothing outside this crate
//! sees an AWS type.
//!
//! Retries: the SDK's own retry layer is switched off and every call goes
//! through one jittered exponential backoff ([`backon`]) that retries only
//! throttling, 5xx, timeouts and dropped connections; everything else
//! surfaces at once with the operation and resource in the error.

mod error;
pub mod lease;
mod mapping;
mod resources;
mod s3;
mod sqs;
mod swf;
#[cfg(any(test, feature = "test-util"))]
pub mod testing;

pub use error::{iam_action, AwsError};
pub use resources::create_resources;

use aws_config::BehaviorVersion;
use aws_credential_types::Credentials;
use aws_sdk_swf::config::Region;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use backon::{ExponentialBuilder, Retryable};
use pressbot_core::backend::Backend;
use pressbot_core::settings::Settings;
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// SWF holds a decision or activity poll open this long before answering empty.
pub const SWF_LONG_POLL: Duration = Duration::from_secs(60);
/// SQS's longest receive wait.
pub const SQS_MAX_WAIT: Duration = Duration::from_secs(20);

/// How a failed call is retried. Public so tests (and tools that would
/// rather fail fast) can shorten it.
#[derive(Debug, Clone, Copy)]
pub struct RetrySettings {
    /// Attempts after the first.
    pub max_retries: usize,
    pub min_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetrySettings {
    fn default() -> Self {
        RetrySettings {
            max_retries: 6,
            min_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(20),
        }
    }
}

/// What one role uses, checked at its start-up by [`AwsBackend::verify_needs`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needs {
    /// The SWF domain (decision or activity polls, starts).
    pub domain: bool,
    /// Queue names (prefixed) the role receives from or sends to.
    pub queues: Vec<String>,
    /// Bucket names (prefixed) the role reads or writes.
    pub buckets: Vec<String>,
}

/// SWF, SQS and S3 clients with the names of this environment's resources.
/// Cheap to clone: everything is behind one `Arc`.
#[derive(Debug, Clone)]
pub struct AwsBackend {
    inner: Arc<Inner>,
    retry: RetrySettings,
}

#[derive(Debug)]
struct Inner {
    swf: aws_sdk_swf::Client,
    sqs: aws_sdk_sqs::Client,
    s3: aws_sdk_s3::Client,
    region: String,
    domain: String,
    env: String,
    retention_days: u32,
    history_page_size: i32,
    swf_calls: AtomicU64,
    /// Queue name → URL, resolved once: every call needs the URL, and it never changes.
    queue_urls: Mutex<HashMap<String, String>>,
    /// Where leases live (`leases/<name>.json`): the expanded bucket.
    lease_bucket: Option<String>,
}

impl AwsBackend {
    /// Build the clients from `settings.aws` with the standard credential
    /// chain (environment, profile, SSO, instance or task role). Makes no
    /// call: use [`AwsBackend::verify`] at start-up to check the resources.
    pub async fn connect(settings: &Settings) -> Result<Self, AwsError> {
        Self::build(settings, None).await
    }

    /// Like [`AwsBackend::connect`] with fixed credentials instead of the
    /// chain: for moto in tests (see the `testing` module, built with the
    /// `test-util` feature) and for tools handed keys.
    pub async fn connect_with_credentials(
        settings: &Settings,
        credentials: Credentials,
    ) -> Result<Self, AwsError> {
        Self::build(settings, Some(credentials)).await
    }

    async fn build(
        settings: &Settings,
        credentials: Option<Credentials>,
    ) -> Result<Self, AwsError> {
        let aws = &settings.aws;
        let bad = |key: &str, message: String| AwsError::Settings {
            key: key.to_owned(),
            message,
        };
        if aws.read_timeout <= SWF_LONG_POLL {
            return Err(bad(
                "aws.read_timeout",
                format!(
                    "{:?} must be longer than SWF's {}s long poll, or every idle poll is cut",
                    aws.read_timeout,
                    SWF_LONG_POLL.as_secs()
                ),
            ));
        }
        if !(1..=1000).contains(&aws.history_page_size) {
            return Err(bad(
                "aws.history_page_size",
                format!("{} must be within 1..=1000", aws.history_page_size),
            ));
        }
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            // One retry layer, ours: the SDK's would multiply attempts and hide them from the call count.
            .retry_config(RetryConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(aws.connect_timeout)
                    .read_timeout(aws.read_timeout)
                    .build(),
            );
        // The region only when configured: otherwise the standard chain
        // (environment, profile, instance metadata) decides, like the CLI.
        let configured_region = aws.region.trim();
        if !configured_region.is_empty() {
            loader = loader.region(Region::new(configured_region.to_owned()));
        }
        if let Some(profile) = &aws.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(url) = &aws.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        if let Some(credentials) = credentials {
            loader = loader.credentials_provider(credentials);
        }
        let config = loader.load().await;
        let region = config.region().map(|r| r.to_string()).ok_or_else(|| {
            bad(
                "aws.region",
                "not set, and the standard chain (AWS_REGION, AWS_DEFAULT_REGION, \
                 the profile, instance metadata) names none"
                    .into(),
            )
        })?;
        let s3_config = aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(aws.force_path_style)
            .build();
        tracing::debug!(
            region = %region,
            endpoint = aws.endpoint_url.as_deref().unwrap_or("default"),
            domain = %settings.domain(),
            "AWS clients built"
        );
        Ok(AwsBackend {
            inner: Arc::new(Inner {
                swf: aws_sdk_swf::Client::new(&config),
                sqs: aws_sdk_sqs::Client::new(&config),
                s3: aws_sdk_s3::Client::from_conf(s3_config),
                region,
                domain: settings.domain(),
                env: settings.env.clone(),
                retention_days: settings.swf.retention_days,
                history_page_size: aws.history_page_size,
                swf_calls: AtomicU64::new(0),
                queue_urls: Mutex::new(HashMap::new()),
                lease_bucket: settings.bucket("expanded"),
            }),
            retry: RetrySettings::default(),
        })
    }

    /// The same clients with another retry policy (tests use a short one).
    pub fn with_retry(mut self, retry: RetrySettings) -> Self {
        self.retry = retry;
        self
    }

    /// The three services as core's backend, for the daemons.
    pub fn backend(&self) -> Backend {
        Backend {
            workflows: Arc::new(self.clone()),
            queues: Arc::new(self.clone()),
            objects: Arc::new(self.clone()),
            leases: Arc::new(self.clone()),
        }
    }

    /// SWF requests made so far (every attempt and every history page
    /// counts), so a benchmark can check how many calls a workflow costs.
    pub fn swf_call_count(&self) -> u64 {
        self.inner.swf_calls.load(Ordering::Relaxed)
    }

    /// The SWF domain of this environment (prefixed).
    pub fn domain(&self) -> &str {
        &self.inner.domain
    }

    /// Check that the domain and the given queues exist (every resource an
    /// operator's tool may touch). Daemons check only their own role's
    /// resources, with [`AwsBackend::verify_needs`].
    pub async fn verify(&self, queues: &[String]) -> Result<(), AwsError> {
        self.verify_needs(&Needs {
            domain: true,
            queues: queues.to_vec(),
            buckets: Vec::new(),
        })
        .await
    }

    /// Check at start-up that what a role uses exists and that its
    /// credentials may use it, so a daemon fails at once with "run
    /// `pressbot create-resources`" or "the IAM policy must allow X"
    /// instead of polling a domain that is not there. Each check is a call
    /// the role's IAM policy grants anyway (`swf:DescribeDomain`,
    /// `sqs:GetQueueUrl`, `s3:ListBucket`): checking anything the role does
    /// not use would need a permission it otherwise never needs, and a
    /// least-privilege unit would restart-loop on it.
    pub async fn verify_needs(&self, needs: &Needs) -> Result<(), AwsError> {
        if needs.domain {
            self.describe_domain().await?;
        }
        for q in &needs.queues {
            self.queue_url(q).await?;
        }
        for b in &needs.buckets {
            if !self.bucket_exists(b).await? {
                return Err(AwsError::MissingResource {
                    service: "s3",
                    operation: "HeadBucket",
                    what: "S3 bucket",
                    name: b.clone(),
                    env: self.inner.env.clone(),
                });
            }
        }
        Ok(())
    }

    /// Run one SDK call with the backoff: retry throttling, 5xx and
    /// connection trouble; return anything else at once. SWF attempts are
    /// counted here, the one place every SWF request passes.
    pub(crate) async fn call<T, E, F, Fut>(
        &self,
        service: &'static str,
        operation: &'static str,
        resource: &str,
        mut f: F,
    ) -> Result<T, SdkError<E, HttpResponse>>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let retry = self.retry;
        let backoff = ExponentialBuilder::default()
            .with_jitter()
            .with_min_delay(retry.min_delay)
            .with_max_delay(retry.max_delay)
            .with_max_times(retry.max_retries);
        let counter = &self.inner.swf_calls;
        (|| {
            if service == "swf" {
                counter.fetch_add(1, Ordering::Relaxed);
            }
            // Exported on the daemons' `/metrics`, so calls per workflow can
            // be counted from outside the process (pressbot-bench does).
            metrics::counter!("pressbot_aws_requests_total", "service" => service, "operation" => operation)
                .increment(1);
            f()
        })
        .retry(backoff)
        .sleep(tokio::time::sleep)
        .when(error::is_retryable)
        .notify(|err, delay| {
            tracing::warn!(
                service,
                operation,
                resource,
                code = error::error_code(err).unwrap_or(""),
                delay_ms = delay.as_millis() as u64,
                error = %aws_smithy_types::error::display::DisplayErrorContext(err),
                "retrying AWS call"
            );
        })
        .await
    }
}
