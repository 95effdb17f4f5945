//! [`CmsClient`]: ingest, publish and status calls that never ingest twice.
//!
//! One call is one activity attempt's worth of work: a few HTTP rounds with
//! jittered backoff (honouring `Retry-After` while the wait stays within
//! `cms.max_retry_after`), then an error that says whether a later attempt
//! may succeed. Long waits are the workflow retry policy's job (SWF timers),
//! not a sleeping worker's.
//!
//! Every ingest round first asks the CMS for the version's status, so a
//! request that a proxy cut while the CMS went on ingesting is recognised by
//! its idempotency key instead of being posted again.

use crate::error::{CmsError, TransportKind};
use crate::{IDEMPOTENCY_KEY, SILENT_CORRECTION};
use backon::{ExponentialBuilder, Retryable};
use pressbot_core::settings::{CmsAuth, CmsSettings};
use reqwest::{Method, StatusCode, Url};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::Path;
use std::time::{Duration, SystemTime};

/// How much of a CMS answer goes into an error message.
const MAX_BODY_IN_ERROR: usize = 2000;

/// The idempotency key of one (article, version, package): `package` is
/// the package's identity ([`pressbot_core::ids::package_identity`] of its
/// bucket, key and eTag), so the key is the same on every attempt of every
/// run of the same package: a re-run (`pressbot retry`, a duplicate start)
/// finds its ingest already in the CMS instead of ingesting again. A new
/// upload of the package (new eTag) has a new key.
pub fn idempotency_key(article_id: &str, version: u32, package: &str) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    format!(
        "pressbot-{}-v{version}-{}",
        clean(article_id),
        clean(package)
    )
}

/// Where a version stands in the CMS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VersionState {
    /// The CMS is working on it (it may have been cut off from its client).
    Ingesting,
    Ingested,
    Published,
    /// A state this client does not know; treated as "not there yet".
    #[serde(other)]
    Unknown,
}

/// The answer of `GET /articles/{id}/versions/{version}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionStatus {
    pub status: VersionState,
    /// The key of the latest ingest (or the one in progress).
    #[serde(default)]
    pub idempotency_key: Option<String>,
    #[serde(default)]
    pub silent_corrections: u32,
}

/// What came of an ingest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ingested {
    pub idempotency_key: String,
    /// True when the CMS already had it (an earlier attempt arrived): this
    /// call posted nothing.
    pub already_there: bool,
    /// The version's state after the call.
    pub state: VersionState,
}

/// What came of a publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// True when the version was already published before this call.
    pub already_published: bool,
}

/// A secret that never prints.
#[derive(Clone)]
struct Secret(String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[derive(Clone, Debug)]
enum Auth {
    None,
    Basic { user: String, password: Secret },
    Bearer(Secret),
}

/// A client of the CMS contract. Cheap to clone; `Debug` never shows the secret.
#[derive(Clone)]
pub struct CmsClient {
    http: reqwest::Client,
    base: Url,
    auth: Auth,
    max_retry_after: Duration,
    /// Wall-clock bound of one call, so that rounds of timeouts cannot
    /// outlast the activity's start-to-close.
    call_budget: Duration,
    max_attempts: usize,
    min_delay: Duration,
    max_delay: Duration,
}

impl fmt::Debug for CmsClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let auth = match &self.auth {
            Auth::None => "none".to_owned(),
            Auth::Basic { user, .. } => format!("basic (user {user:?}, password redacted)"),
            Auth::Bearer(_) => "bearer (token redacted)".to_owned(),
        };
        f.debug_struct("CmsClient")
            .field("base_url", &self.base.as_str())
            .field("auth", &auth)
            .field("max_retry_after", &self.max_retry_after)
            .field("max_attempts", &self.max_attempts)
            .field("call_budget", &self.call_budget)
            .finish()
    }
}

fn settings_error(key: &'static str, message: impl Into<String>) -> CmsError {
    CmsError::Settings {
        key,
        message: message.into(),
    }
}

/// Read the secret named by the settings. Errors name where it was looked
/// for, never what was found.
fn load_secret(s: &CmsSettings) -> Result<Secret, CmsError> {
    let raw = if let Some(var) = &s.secret_env {
        match std::env::var(var) {
            Ok(v) => v,
            Err(std::env::VarError::NotPresent) => {
                return Err(settings_error(
                    "cms.secret_env",
                    format!("environment variable {var} is not set"),
                ))
            }
            Err(std::env::VarError::NotUnicode(_)) => {
                return Err(settings_error(
                    "cms.secret_env",
                    format!("environment variable {var} is not valid UTF-8"),
                ))
            }
        }
    } else if let Some(path) = &s.secret_file {
        let credentials = std::env::var_os("CREDENTIALS_DIRECTORY");
        read_secret_file(&secret_path(path, credentials.as_deref().map(Path::new)))?
    } else {
        return Err(settings_error(
            "cms.auth",
            "needs cms.secret_env or cms.secret_file",
        ));
    };
    // Files and env vars often end with a newline that is not part of the secret.
    let trimmed = raw.trim_end_matches(['\r', '\n']).to_owned();
    if trimmed.is_empty() {
        return Err(settings_error(
            if s.secret_env.is_some() {
                "cms.secret_env"
            } else {
                "cms.secret_file"
            },
            "the secret is empty",
        ));
    }
    Ok(Secret(trimmed))
}

/// Where `cms.secret_file` is read from. Under systemd's `LoadCredential=`
/// (`LoadCredential=cms-token:/etc/pressbot/cms-token`, then
/// `cms.secret_file = "cms-token"`) a relative name is a credential in
/// `$CREDENTIALS_DIRECTORY`, which only the unit's process can read; without
/// it, a relative path is relative to the working directory as before.
fn secret_path(path: &Path, credentials_dir: Option<&Path>) -> std::path::PathBuf {
    match credentials_dir {
        Some(dir) if path.is_relative() && !dir.as_os_str().is_empty() => dir.join(path),
        _ => path.to_path_buf(),
    }
}

fn read_secret_file(path: &Path) -> Result<String, CmsError> {
    std::fs::read_to_string(path).map_err(|e| {
        settings_error(
            "cms.secret_file",
            format!("cannot read {}: {}", path.display(), e.kind()),
        )
    })
}

/// Parse `Retry-After`: delay-seconds or an HTTP date.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(v).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

fn truncate(mut s: String) -> String {
    if s.len() > MAX_BODY_IN_ERROR {
        let mut cut = MAX_BODY_IN_ERROR;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

/// Standard base64, for recognising a basic-auth header echoed back.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// One request's description, for errors and logs.
struct Call<'a> {
    operation: &'static str,
    method: Method,
    url: Url,
    key: &'a str,
    body: Option<&'a [u8]>,
    silent: bool,
}

impl Call<'_> {
    fn target(&self) -> String {
        format!("{} {}", self.method, self.url)
    }
}

impl CmsClient {
    /// Build a client from the settings. `base_url_override` wins over
    /// `cms.base_url` (e.g. the address an embedded CMS actually bound);
    /// with neither, `cms.embedded = true` means `http://<cms.embedded_listen>`.
    pub fn from_settings(
        settings: &CmsSettings,
        base_url_override: Option<&str>,
    ) -> Result<Self, CmsError> {
        let base = match (base_url_override, &settings.base_url) {
            (Some(u), _) => u.to_owned(),
            (None, Some(u)) => u.clone(),
            (None, None) if settings.embedded => format!("http://{}", settings.embedded_listen),
            (None, None) => {
                return Err(settings_error(
                    "cms.base_url",
                    "set a CMS URL, or cms.embedded = true",
                ))
            }
        };
        let mut base = Url::parse(&base).map_err(|e| {
            settings_error(
                "cms.base_url",
                format!("not a URL ({e}); expected e.g. https://cms.example.org/api"),
            )
        })?;
        if !base.username().is_empty() || base.password().is_some() {
            // Do not echo the URL: it holds a credential.
            return Err(settings_error(
                "cms.base_url",
                "holds credentials; put them in cms.secret_env or cms.secret_file with cms.auth",
            ));
        }
        if !matches!(base.scheme(), "http" | "https") {
            return Err(settings_error(
                "cms.base_url",
                format!("scheme {:?} is not http or https", base.scheme()),
            ));
        }
        if base.cannot_be_a_base() {
            return Err(settings_error("cms.base_url", "cannot be a base URL"));
        }
        base.set_query(None);
        base.set_fragment(None);
        let auth = match settings.auth {
            CmsAuth::None => Auth::None,
            CmsAuth::Bearer => Auth::Bearer(load_secret(settings)?),
            CmsAuth::Basic => {
                let secret = load_secret(settings)?;
                let Some((user, password)) = secret.0.split_once(':') else {
                    return Err(settings_error(
                        "cms.auth",
                        "basic auth needs the secret as user:password (no ':' found)",
                    ));
                };
                Auth::Basic {
                    user: user.to_owned(),
                    password: Secret(password.to_owned()),
                }
            }
        };
        let http = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.request_timeout)
            .user_agent(concat!("pressbot/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| settings_error("cms", format!("cannot build the HTTP client: {e}")))?;
        Ok(CmsClient {
            http,
            base,
            auth,
            max_retry_after: settings.max_retry_after,
            call_budget: settings.max_retry_after + settings.request_timeout * 2,
            max_attempts: 5,
            min_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
        })
    }

    /// How many HTTP rounds one call may make, and the first backoff delay.
    /// Defaults: 5 rounds from 200 ms. Tests shorten these.
    pub fn with_retries(mut self, max_attempts: usize, min_delay: Duration) -> Self {
        self.max_attempts = max_attempts.max(1);
        self.min_delay = min_delay;
        self.max_delay = self.max_delay.max(min_delay);
        self
    }

    /// Bound the wall-clock time of one call (default: `max_retry_after` +
    /// twice `request_timeout`): no new round starts past it.
    pub fn with_call_budget(mut self, budget: Duration) -> Self {
        self.call_budget = budget;
        self
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        self.base.as_str()
    }

    fn url(
        &self,
        operation: &'static str,
        article_id: &str,
        version: u32,
        tail: Option<&str>,
    ) -> Result<Url, CmsError> {
        // URL paths drop "." and ".." segments: the request would name another resource.
        if article_id.is_empty() || article_id == "." || article_id == ".." {
            return Err(CmsError::BadInput {
                operation,
                message: format!("article id {article_id:?} cannot be a URL path segment"),
            });
        }
        let mut url = self.base.clone();
        if let Ok(mut segs) = url.path_segments_mut() {
            segs.pop_if_empty()
                .push("articles")
                .push(article_id)
                .push("versions")
                .push(&version.to_string());
            if let Some(t) = tail {
                segs.push(t);
            }
        }
        Ok(url)
    }

    /// The jittered backoff of one call; the total wait stays within
    /// `max_retry_after`, past which the call hands back to the retry policy.
    fn backoff(&self) -> ExponentialBuilder {
        ExponentialBuilder::default()
            .with_jitter()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_max_times(self.max_attempts.saturating_sub(1))
    }

    /// Run `round` with in-call retries: retryable errors (except
    /// "still ingesting") are retried after the backoff delay or the CMS's
    /// `Retry-After`, whichever is longer, while the total wait fits
    /// `max_retry_after` and the next round would start within the call budget.
    async fn with_retries_do<T, F, Fut>(
        &self,
        operation: &'static str,
        what: &str,
        round: F,
    ) -> Result<T, CmsError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, CmsError>>,
    {
        let budget = self.max_retry_after;
        let call_budget = self.call_budget;
        let started = tokio::time::Instant::now();
        let mut waited = Duration::ZERO;
        round
            .retry(self.backoff())
            .sleep(tokio::time::sleep)
            .when(|e: &CmsError| {
                e.is_retryable()
                    && !matches!(e, CmsError::StillIngesting { .. })
                    && e.retry_after().is_none_or(|d| d <= budget)
            })
            .adjust(move |e: &CmsError, next: Option<Duration>| {
                let next = next?;
                let wait = e.retry_after().map_or(next, |ra| ra.max(next));
                if waited + wait > budget || started.elapsed() + wait > call_budget {
                    return None;
                }
                waited += wait;
                Some(wait)
            })
            .notify(|e: &CmsError, wait: Duration| {
                tracing::warn!(operation, what, wait_ms = wait.as_millis() as u64, error = %e, "CMS call failed, retrying");
            })
            .await
    }

    async fn send(&self, call: &Call<'_>) -> Result<reqwest::Response, CmsError> {
        let mut req = self
            .http
            .request(call.method.clone(), call.url.clone())
            .header(IDEMPOTENCY_KEY, call.key)
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(body) = call.body {
            req = req
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.to_vec());
        }
        if call.silent {
            req = req.header(SILENT_CORRECTION, "true");
        }
        req = match &self.auth {
            Auth::None => req,
            Auth::Basic { user, password } => req.basic_auth(user, Some(&password.0)),
            Auth::Bearer(token) => req.bearer_auth(&token.0),
        };
        req.send()
            .await
            .map_err(|e| transport_error(call.operation, call.target(), &e))
    }

    /// Remove the secret from text the CMS sent back: a CMS or proxy that
    /// echoes the request's headers must not leak it into an error message.
    fn redact(&self, text: String) -> String {
        let secrets: Vec<String> = match &self.auth {
            Auth::None => Vec::new(),
            Auth::Bearer(t) => vec![t.0.clone()],
            Auth::Basic { user, password } => vec![
                password.0.clone(),
                base64(format!("{user}:{}", password.0).as_bytes()),
            ],
        };
        secrets
            .iter()
            .filter(|s| !s.is_empty())
            .fold(text, |t, s| t.replace(s.as_str(), "<redacted>"))
    }

    /// Turn a non-2xx answer into an error: 408/429/5xx retryable, other
    /// 4xx permanent with the CMS's answer.
    async fn refusal(&self, call: &Call<'_>, resp: reqwest::Response) -> CmsError {
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let body = truncate(self.redact(resp.text().await.unwrap_or_default()));
        let code = status.as_u16();
        if status == StatusCode::REQUEST_TIMEOUT
            || status == StatusCode::TOO_MANY_REQUESTS
            || status.is_server_error()
        {
            CmsError::Unavailable {
                operation: call.operation,
                target: call.target(),
                status: code,
                retry_after,
                body,
            }
        } else if status.is_client_error() {
            CmsError::Rejected {
                operation: call.operation,
                target: call.target(),
                status: code,
                body,
            }
        } else {
            CmsError::Protocol {
                operation: call.operation,
                target: call.target(),
                message: format!("HTTP {code}: {body}"),
            }
        }
    }

    /// One status round: `None` when the CMS does not have the version.
    async fn status_round(
        &self,
        article_id: &str,
        version: u32,
        key: &str,
    ) -> Result<Option<VersionStatus>, CmsError> {
        let call = Call {
            operation: "status",
            method: Method::GET,
            url: self.url("status", article_id, version, None)?,
            key,
            body: None,
            silent: false,
        };
        let resp = self.send(&call).await?;
        if resp.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !resp.status().is_success() {
            return Err(self.refusal(&call, resp).await);
        }
        let text = resp
            .text()
            .await
            .map_err(|e| transport_error(call.operation, call.target(), &e))?;
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| CmsError::Protocol {
                operation: call.operation,
                target: call.target(),
                message: format!(
                    "status is not the JSON the contract describes ({e}): {}",
                    truncate(self.redact(text.clone()))
                ),
            })
    }

    /// Ask the CMS where a version stands; `None` when it does not have it.
    pub async fn status(
        &self,
        article_id: &str,
        version: u32,
    ) -> Result<Option<VersionStatus>, CmsError> {
        let what = format!("{article_id} v{version}");
        let key = format!(
            "pressbot-status-{}",
            idempotency_key(article_id, version, "")
        );
        self.with_retries_do("status", &what, || {
            self.status_round(article_id, version, &key)
        })
        .await
    }

    /// Ingest a version's article JSON once per package (`package`: its
    /// identity, see [`idempotency_key`]), whatever happens on the wire and
    /// however many runs there are. `json` is sent as is.
    pub async fn ingest(
        &self,
        article_id: &str,
        version: u32,
        package: &str,
        json: &[u8],
    ) -> Result<Ingested, CmsError> {
        self.ingest_with(article_id, version, package, json, false)
            .await
    }

    /// Replace the content of an already published version without a new
    /// version or publication events (a silent correction).
    pub async fn silent_correction(
        &self,
        article_id: &str,
        version: u32,
        package: &str,
        json: &[u8],
    ) -> Result<Ingested, CmsError> {
        self.ingest_with(article_id, version, package, json, true)
            .await
    }

    async fn ingest_with(
        &self,
        article_id: &str,
        version: u32,
        package: &str,
        json: &[u8],
        silent: bool,
    ) -> Result<Ingested, CmsError> {
        let key = idempotency_key(article_id, version, package);
        let what = format!("{article_id} v{version}");
        let result = self
            .with_retries_do("ingest", &what, || {
                self.ingest_round(article_id, version, &key, json, silent)
            })
            .await;
        match &result {
            Ok(i) => tracing::info!(
                article_id,
                version,
                idempotency_key = %key,
                already_there = i.already_there,
                silent,
                "CMS ingest done"
            ),
            Err(e) => {
                tracing::warn!(article_id, version, idempotency_key = %key, error = %e, "CMS ingest failed")
            }
        }
        result
    }

    async fn ingest_round(
        &self,
        article_id: &str,
        version: u32,
        key: &str,
        json: &[u8],
        silent: bool,
    ) -> Result<Ingested, CmsError> {
        let call = Call {
            operation: "ingest",
            method: Method::POST,
            url: self.url("ingest", article_id, version, None)?,
            key,
            body: Some(json),
            silent,
        };
        // Ask first: an earlier round or attempt may have arrived even though
        // its answer never did.
        if let Some(s) = self.status_round(article_id, version, key).await? {
            let ours = s.idempotency_key.as_deref() == Some(key);
            match s.status {
                VersionState::Ingesting if ours => {
                    return Err(CmsError::StillIngesting {
                        operation: call.operation,
                        target: call.target(),
                        key: key.to_owned(),
                    })
                }
                VersionState::Ingested | VersionState::Published
                    if ours || (s.idempotency_key.is_none() && !silent) =>
                {
                    tracing::info!(article_id, version, idempotency_key = %key, "CMS already has this ingest; not posting again");
                    return Ok(Ingested {
                        idempotency_key: key.to_owned(),
                        already_there: true,
                        state: s.status,
                    });
                }
                _ => {}
            }
        }
        let resp = self.send(&call).await?;
        if !resp.status().is_success() {
            return Err(self.refusal(&call, resp).await);
        }
        let state = resp
            .json::<VersionStatus>()
            .await
            .map(|s| s.status)
            .unwrap_or(VersionState::Ingested);
        Ok(Ingested {
            idempotency_key: key.to_owned(),
            already_there: false,
            state,
        })
    }

    /// Publish an ingested version. A version already published (its
    /// status says so, or the CMS answers 409 to the publish) is a success
    /// that changed nothing: a re-run publishes nothing new.
    pub async fn publish(
        &self,
        article_id: &str,
        version: u32,
        package: &str,
    ) -> Result<Published, CmsError> {
        let key = idempotency_key(article_id, version, package);
        let what = format!("{article_id} v{version}");
        let result = self
            .with_retries_do("publish", &what, || {
                self.publish_round(article_id, version, &key)
            })
            .await;
        match &result {
            Ok(p) => {
                tracing::info!(article_id, version, idempotency_key = %key, already_published = p.already_published, "CMS publish done")
            }
            Err(e) => {
                tracing::warn!(article_id, version, idempotency_key = %key, error = %e, "CMS publish failed")
            }
        }
        result
    }

    async fn publish_round(
        &self,
        article_id: &str,
        version: u32,
        key: &str,
    ) -> Result<Published, CmsError> {
        let call = Call {
            operation: "publish",
            method: Method::POST,
            url: self.url("publish", article_id, version, Some("publish"))?,
            key,
            body: None,
            silent: false,
        };
        if let Some(done) = self
            .already_published(&call, article_id, version, key)
            .await?
        {
            return Ok(done);
        }
        let resp = self.send(&call).await?;
        if resp.status() == StatusCode::CONFLICT {
            // Published meanwhile (an earlier round whose answer was lost):
            // the CMS's status says by whom.
            if let Some(done) = self
                .already_published(&call, article_id, version, key)
                .await?
            {
                return Ok(done);
            }
        }
        if !resp.status().is_success() {
            return Err(self.refusal(&call, resp).await);
        }
        Ok(Published {
            already_published: false,
        })
    }

    /// Ask before publishing: `Some` when the version is already
    /// published (whose ingest it was does not matter here: the CMS refuses
    /// to ingest another package over a published version, so PostToCms
    /// already failed for one); an error while it is still being ingested.
    async fn already_published(
        &self,
        call: &Call<'_>,
        article_id: &str,
        version: u32,
        key: &str,
    ) -> Result<Option<Published>, CmsError> {
        match self.status_round(article_id, version, key).await? {
            Some(s) if s.status == VersionState::Published => {
                tracing::info!(article_id, version, idempotency_key = %key, "CMS already published this version; not posting again");
                Ok(Some(Published {
                    already_published: true,
                }))
            }
            Some(s) if s.status == VersionState::Ingesting => Err(CmsError::Unavailable {
                operation: call.operation,
                target: call.target(),
                status: 409,
                retry_after: None,
                body: "the version is still being ingested".into(),
            }),
            _ => Ok(None),
        }
    }
}

fn transport_error(operation: &'static str, target: String, e: &reqwest::Error) -> CmsError {
    let kind = if e.is_connect() {
        TransportKind::Connect
    } else if e.is_timeout() {
        TransportKind::Timeout
    } else {
        TransportKind::Broken
    };
    // The whole source chain: reqwest's own message is only "error sending request".
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    CmsError::Transport {
        operation,
        target,
        kind,
        message,
    }
}

#[cfg(test)]
mod credential_tests {
    use super::secret_path;
    use std::path::Path;

    #[test]
    fn a_relative_secret_file_is_a_systemd_credential() {
        let dir = Path::new("/run/credentials/pressbot-activity-worker.service");
        assert_eq!(
            secret_path(Path::new("cms-token"), Some(dir)),
            dir.join("cms-token")
        );
        assert_eq!(
            secret_path(Path::new("/etc/pressbot/cms-token"), Some(dir)),
            Path::new("/etc/pressbot/cms-token")
        );
        assert_eq!(
            secret_path(Path::new("cms-token"), None),
            Path::new("cms-token")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_seconds_and_dates() {
        assert_eq!(parse_retry_after(" 7 "), Some(Duration::from_secs(7)));
        let later = SystemTime::now() + Duration::from_secs(120);
        let d = parse_retry_after(&httpdate::fmt_http_date(later)).expect("a date");
        assert!(d > Duration::from_secs(100) && d <= Duration::from_secs(120));
        let past = httpdate::fmt_http_date(SystemTime::now() - Duration::from_secs(60));
        assert_eq!(parse_retry_after(&past), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn keys_are_stable_and_header_safe() {
        let k = idempotency_key("00353", 2, "run 1/é");
        assert_eq!(k, "pressbot-00353-v2-run_1__");
        assert_eq!(k, idempotency_key("00353", 2, "run 1/é"));
        assert_ne!(k, idempotency_key("00353", 2, "run-2"));
    }

    #[test]
    fn base64_matches_the_standard() {
        assert_eq!(base64(b"editor:s3cr3t"), "ZWRpdG9yOnMzY3IzdA==");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"abc"), "YWJj");
        assert_eq!(base64(b""), "");
    }
}
