//! `PostToCms` and `PublishToCms`: deliver the article JSON to the CMS and
//! publish it, through [`pressbot_cms::CmsClient`], which never ingests a
//! version twice however the connection misbehaves.
//!
//! Both build their client from `env.settings.cms` on every attempt (cheap,
//! and a rotated secret file is picked up). With an embedded CMS bound to a
//! port chosen at start-up, the process that started it sets
//! `cms.base_url` to the bound address before building the `Env`.
//!
//! Context in: `article_id`, `version`, `package` (the package identity,
//! else `run`, else the execution's run id),
//! and for `PostToCms` `article_json_key` (in the expanded bucket, written
//! by ConvertJATS).
//!
//! Both hold the CMS lease around the CMS call: one call at a time across
//! every worker process and host. Held elsewhere, the attempt waits for it
//! (up to `cms.lease_wait`, heartbeating), then fails retryable with "CMS
//! busy: lease held by <holder> until <time>".
//!
//! Output: `PostToCms` → `cms_idempotency_key`, `cms_already_there` (an
//! earlier attempt had arrived; nothing was posted), `cms_silent_correction`;
//! `PublishToCms` → `published`, `publication_status`, `already_published`.
//!
//! Step params: `PostToCms` with `silent = true` sends a silent correction;
//! `PublishToCms` with `mode = "preview"` (or context `mode = "preview"` or
//! `publish = false`)
//! publishes nothing and sets the dashboard property `publication-status`
//! to `ready to publish` instead.

use crate::article::{self, keys};
use crate::dashboard;
use crate::{Activity, ActivityContext, Env};
use async_trait::async_trait;
use pressbot_cms::{CmsClient, CmsError};
use pressbot_core::activity::ActivityFailure;
use pressbot_core::lease::{renew_every, Acquired, Lease, CMS_LEASE};
use serde_json::{json, Value};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Dashboard property set by `PublishToCms`.
pub const PUBLICATION_STATUS: &str = "publication-status";

/// A CMS error as an activity failure: busy, deploying, cut or still
/// ingesting are retryable (the retry policy's timer does the waiting);
/// a refusal of the request itself is permanent.
pub fn cms_failure(step: &str, e: &CmsError) -> ActivityFailure {
    let message = format!("{step}: {e}");
    if e.is_retryable() {
        ActivityFailure::retryable(message)
    } else {
        ActivityFailure::permanent(message)
    }
}

fn client(env: &Env, step: &str) -> Result<CmsClient, ActivityFailure> {
    CmsClient::from_settings(&env.settings.cms, None).map_err(|e| cms_failure(step, &e))
}

fn failure(e: crate::error::Error) -> ActivityFailure {
    e.into()
}

/// Whether a step param (or context key) is true; `"true"` strings count.
fn flag(v: Option<&Value>) -> Option<bool> {
    match v? {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => Some(true),
            "false" | "no" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// The article version a CMS step is about, and the package whose
/// content it is: the context's `package` identity (VersionLookup sets it
/// from bucket, key and eTag, see [`crate::identity`]), so that every run
/// of one package uses one idempotency key; without one (a workflow started
/// by hand with no package, e.g. ApproveArticlePublication from an old
/// message), the run.
fn target(ctx: &ActivityContext) -> Result<(String, u32, String), ActivityFailure> {
    let article_id = article::ctx_str(ctx, keys::ARTICLE_ID).map_err(failure)?;
    let version = article::ctx_u32(ctx, keys::VERSION)
        .map_err(failure)?
        .ok_or_else(|| {
            failure(crate::error::Error::context(
                keys::VERSION,
                "missing (VersionLookup should have set it)",
            ))
        })?;
    let package = ctx
        .input
        .context
        .get(crate::identity::PACKAGE)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .unwrap_or_else(|| article::run_of(ctx));
    Ok((article_id, version, package))
}

/// Who holds the CMS lease: enough for an operator reading "CMS busy" to
/// find the process and the workflow.
fn holder(ctx: &ActivityContext) -> String {
    static HOST: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        std::env::var("HOSTNAME")
            .ok()
            .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "localhost".into())
    });
    format!(
        "{}:{} {} {}",
        *HOST,
        std::process::id(),
        ctx.execution.workflow_id,
        ctx.activity_id
    )
}

/// When this process last released the CMS lease: see [`yield_to_waiters`].
static LAST_RELEASE: std::sync::Mutex<Option<Instant>> = std::sync::Mutex::new(None);

/// A CMS lease this process could not release (the backend failed each
/// time): released before the process's next acquire, instead of leaving
/// every worker, this one included, to wait out its ttl. Release is
/// idempotent (it frees the lease only if the token is still the stored
/// one), so trying again is always safe.
/// Keyed by the lease store (its address: one per backend, and a process
/// has one backend; tests have several).
static UNRELEASED: std::sync::Mutex<Vec<(usize, Lease)>> = std::sync::Mutex::new(Vec::new());

fn store_key(env: &Env) -> usize {
    Arc::as_ptr(&env.backend.leases) as *const () as usize
}

/// Give the lease back, trying three times on a retryable error: a lease
/// left held stops every CMS call everywhere for up to `cms.lease_ttl`. If
/// all three fail it is kept in [`UNRELEASED`] for the next acquire.
async fn release_cms_lease(env: &Env, step: &str, lease: Lease) {
    let leases = &env.backend.leases;
    let mut delay = Duration::from_millis(100);
    for attempt in 1..=3 {
        match leases.release(&lease).await {
            Ok(()) => break,
            Err(e) if e.is_retryable() && attempt < 3 => {
                tracing::debug!(activity = %step, error = %e, attempt, "could not release the CMS lease; trying again");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            Err(e) => {
                tracing::warn!(activity = %step, error = %e, expires = %lease.expires, "could not release the CMS lease; this process releases it before its next CMS call, or it expires on its own");
                if let Ok(mut unreleased) = UNRELEASED.lock() {
                    unreleased.push((store_key(env), lease));
                }
                break;
            }
        }
    }
    if let Ok(mut last) = LAST_RELEASE.lock() {
        *last = Some(Instant::now());
    }
}

/// Release the lease an earlier call of this process could not; kept for
/// later if the backend fails again.
async fn release_unreleased(env: &Env, step: &str) {
    let key = store_key(env);
    let pending: Vec<Lease> = match UNRELEASED.lock() {
        Ok(mut all) => {
            let (mine, others) = all.drain(..).partition(|(k, _)| *k == key);
            *all = others;
            mine.into_iter().map(|(_, l)| l).collect()
        }
        Err(_) => Vec::new(),
    };
    for lease in pending {
        match env.backend.leases.release(&lease).await {
            Ok(()) => {
                tracing::info!(activity = %step, "released the CMS lease an earlier call could not");
            }
            Err(_) => {
                if let Ok(mut unreleased) = UNRELEASED.lock() {
                    unreleased.push((key, lease));
                }
            }
        }
    }
}

/// When this process last found the CMS lease held by someone else.
static LAST_CONTENDED: std::sync::Mutex<Option<Instant>> = std::sync::Mutex::new(None);

/// How often a CMS step waiting for the lease asks for it again (with
/// jitter, between half and all of this): often enough that a waiter on
/// another process usually takes the lease in the gap between a holder's
/// release and that holder's next CMS task (a report and a poll, tens to
/// hundreds of milliseconds), cheap enough for the backend (a SQLite
/// transaction or an S3 GET each).
fn lease_poll(ttl: Duration) -> Duration {
    (ttl / 100).clamp(Duration::from_millis(50), Duration::from_millis(250))
}

/// A process that has just released the lease, and has lately found it
/// held by another process (so others are taking turns at it), waits one
/// poll interval before taking it again. Without this, a worker that
/// finishes an ingest and at once polls the next CMS task could win the
/// lease back again and again, and another worker's wait run out. Every
/// waiter asks at least once within the pause, so the lease goes round.
/// A process that has seen no one else at the lease (a single worker,
/// `pressbot up`) never pauses: nobody is waiting for its turn.
async fn yield_to_waiters(ttl: Duration) {
    let contended = LAST_CONTENDED
        .lock()
        .ok()
        .and_then(|g| *g)
        .is_some_and(|t| t.elapsed() < ttl);
    let last = LAST_RELEASE.lock().ok().and_then(|g| *g);
    if let (true, Some(released)) = (contended, last) {
        let pause = lease_poll(ttl) + Duration::from_millis(50);
        let since = released.elapsed();
        if since < pause {
            tokio::time::sleep(pause - since).await;
        }
    }
}

/// Take the CMS lease, waiting for it inside the attempt while another
/// holder has it.
///
/// The wait ends at `cms.lease_wait`, and early enough for one CMS call
/// ([`pressbot_core::settings::CmsSettings::longest_call`]) to fit before
/// the worker cuts the attempt at its `start_to_close` (`ctx.deadline`);
/// then the attempt fails retryable with "CMS busy: lease held by ...". The
/// worker heartbeats meanwhile (the progress note says who is waited for),
/// so a waiting step is alive, not stuck. Before, a step failed at once
/// when the lease was held, and under a burst of packages their retry
/// attempts ran out while they queued for the one CMS.
async fn take_cms_lease(env: &Env, ctx: &ActivityContext) -> Result<Lease, ActivityFailure> {
    let step = &ctx.input.step;
    let cms = &env.settings.cms;
    let ttl = cms.lease_ttl;
    let leases = &env.backend.leases;
    yield_to_waiters(ttl).await;
    let started = Instant::now();
    let mut until = tokio::time::Instant::now() + cms.lease_wait;
    if let Some(deadline) = ctx.deadline {
        until = until.min(
            deadline
                .checked_sub(cms.longest_call())
                .unwrap_or_else(tokio::time::Instant::now),
        );
    }
    let mut waits = 0u32;
    loop {
        release_unreleased(env, step).await;
        let problem = match leases.acquire(CMS_LEASE, &holder(ctx), ttl).await {
            Ok(Acquired::Held(l)) => {
                if waits > 0 {
                    tracing::info!(activity = %step, waited = ?started.elapsed(), "took the CMS lease after waiting for it");
                }
                return Ok(l);
            }
            Ok(Acquired::Busy(h)) => {
                if let Ok(mut seen) = LAST_CONTENDED.lock() {
                    *seen = Some(Instant::now());
                }
                format!("CMS busy: lease held by {} until {}", h.holder, h.expires)
            }
            Err(e) if e.is_retryable() => format!("cannot take the CMS lease: {e}"),
            Err(e) => {
                return Err(ActivityFailure::permanent(format!(
                    "{step}: cannot take the CMS lease: {e}"
                )))
            }
        };
        let now = tokio::time::Instant::now();
        if now >= until {
            let waited = started.elapsed();
            return Err(ActivityFailure::retryable(if waits == 0 {
                format!("{step}: {problem}")
            } else {
                format!(
                    "{step}: {problem} (waited {:.1} s for it in this attempt)",
                    waited.as_secs_f64()
                )
            }));
        }
        if waits == 0 {
            tracing::info!(activity = %step, reason = %problem, "waiting for the CMS lease");
        }
        ctx.progress
            .report(format!("waiting for the lease: {problem}"));
        waits += 1;
        // The last ask comes at `until` itself.
        let poll = lease_poll(ttl)
            .mul_f64(0.5 + fastrand::f64() * 0.5)
            .min(until - now);
        tokio::select! {
            _ = tokio::time::sleep(poll) => {}
            _ = ctx.cancel.cancelled() => {
                return Err(ActivityFailure::retryable(format!(
                    "{step}: cancelled while waiting for the CMS lease ({problem})"
                )))
            }
        }
    }
}

/// Run a CMS call holding the CMS lease (one call at a time across every
/// worker process and host, see [`pressbot_core::lease`]), unless the
/// attempt is cancelled first.
///
/// Held elsewhere, the lease is waited for inside the attempt (see
/// [`take_cms_lease`]). While the call runs the lease is renewed every
/// third of its ttl; if a renewal finds it lost (this worker stalled past
/// the ttl and another took it), the call is dropped: two calls must not
/// overlap. A cancelled or dropped call may have reached the CMS: the next
/// attempt asks before posting again. The lease is released however the
/// call ends; a crash leaves it to expire.
async fn under_cms_lease<T>(
    env: &Env,
    ctx: &ActivityContext,
    what: &str,
    call: impl Future<Output = Result<T, CmsError>>,
) -> Result<T, ActivityFailure> {
    let step = &ctx.input.step;
    let ttl = env.settings.cms.lease_ttl;
    let leases = &env.backend.leases;
    let mut lease = take_cms_lease(env, ctx).await?;
    let every = renew_every(ttl);
    let mut renew = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    let mut call = std::pin::pin!(call);
    let result = loop {
        tokio::select! {
            r = &mut call => break r.map_err(|e| cms_failure(step, &e)),
            _ = ctx.cancel.cancelled() => break Err(ActivityFailure::retryable(format!("{step}: cancelled during {what}"))),
            _ = renew.tick() => match leases.renew(&lease, ttl).await {
                Ok(Some(l)) => lease = l,
                Ok(None) => break Err(ActivityFailure::retryable(format!(
                    "{step}: lost the CMS lease during {what} (it expired and was taken); the next attempt asks the CMS before posting again"
                ))),
                Err(e) if pressbot_core::time::Timestamp::now() < lease.expires => {
                    tracing::warn!(activity = %step, error = %e, "could not renew the CMS lease; still held, trying again");
                }
                Err(e) => break Err(ActivityFailure::retryable(format!(
                    "{step}: could not renew the CMS lease during {what} before it expired: {e}"
                ))),
            },
        }
    };
    release_cms_lease(env, step, lease).await;
    result
}

/// Posts the article JSON to the CMS (or a silent correction).
#[derive(Debug, Clone)]
pub struct PostToCms {
    env: Arc<Env>,
}

impl PostToCms {
    pub fn new(env: Arc<Env>) -> Self {
        PostToCms { env }
    }
}

#[async_trait]
impl Activity for PostToCms {
    fn name(&self) -> &'static str {
        "PostToCms"
    }

    async fn run(&self, ctx: &ActivityContext) -> Result<Value, ActivityFailure> {
        let step = &ctx.input.step;
        let (article_id, version, package) = target(ctx)?;
        let json_key = article::ctx_str(ctx, keys::ARTICLE_JSON_KEY).map_err(failure)?;
        let silent = flag(ctx.input.params.get("silent")).unwrap_or(false);
        let bucket = article::bucket(&self.env, "expanded").map_err(failure)?;
        let body = article::get(&self.env, &bucket, &json_key)
            .await
            .map_err(failure)?;
        // Refuse here what the CMS would refuse, with the object named.
        match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(_)) => {}
            Ok(_) => {
                return Err(ActivityFailure::permanent(format!(
                    "{step}: {bucket}/{json_key} is JSON but not an object"
                )))
            }
            Err(e) => {
                return Err(ActivityFailure::permanent(format!(
                    "{step}: {bucket}/{json_key} is not JSON: {e}"
                )))
            }
        }
        let cms = client(&self.env, step)?;
        tracing::info!(
            workflow_id = %ctx.execution.workflow_id,
            run_id = %ctx.execution.run_id,
            activity = %step,
            article_id = %article_id,
            version,
            silent,
            cms = %cms.base_url(),
            "posting article to the CMS"
        );
        let done = if silent {
            under_cms_lease(
                &self.env,
                ctx,
                "the silent correction",
                cms.silent_correction(&article_id, version, &package, &body),
            )
            .await?
        } else {
            under_cms_lease(
                &self.env,
                ctx,
                "the ingest",
                cms.ingest(&article_id, version, &package, &body),
            )
            .await?
        };
        ctx.progress.report(if done.already_there {
            "the CMS already had this article"
        } else {
            "posted to the CMS"
        });
        Ok(json!({
            "cms_idempotency_key": done.idempotency_key,
            "cms_already_there": done.already_there,
            "cms_silent_correction": silent,
        }))
    }
}

/// Publishes the ingested version, or in preview mode marks it ready to publish.
#[derive(Debug, Clone)]
pub struct PublishToCms {
    env: Arc<Env>,
}

impl PublishToCms {
    pub fn new(env: Arc<Env>) -> Self {
        PublishToCms { env }
    }
}

/// Preview mode: step params `mode = "preview"`, workflow input
/// `"mode": "preview"` (how an operator or the dashboard asks for a
/// preview), or context `publish = false`.
pub fn is_preview(ctx: &ActivityContext) -> bool {
    ctx.input.params.get("mode").and_then(Value::as_str) == Some("preview")
        || ctx.input.context.get("mode").and_then(Value::as_str) == Some("preview")
        || flag(ctx.input.context.get("publish")) == Some(false)
}

#[async_trait]
impl Activity for PublishToCms {
    fn name(&self) -> &'static str {
        "PublishToCms"
    }

    async fn run(&self, ctx: &ActivityContext) -> Result<Value, ActivityFailure> {
        let step = &ctx.input.step;
        let (article_id, version, package) = target(ctx)?;
        if is_preview(ctx) {
            tracing::info!(
                workflow_id = %ctx.execution.workflow_id,
                run_id = %ctx.execution.run_id,
                activity = %step,
                article_id = %article_id,
                version,
                "preview: not publishing; marked ready to publish"
            );
            dashboard::emit_property(
                &self.env,
                ctx,
                PUBLICATION_STATUS,
                "ready to publish",
                "text",
            )
            .await;
            return Ok(json!({ "published": false, "publication_status": "ready to publish" }));
        }
        let cms = client(&self.env, step)?;
        let done = under_cms_lease(
            &self.env,
            ctx,
            "the publish",
            cms.publish(&article_id, version, &package),
        )
        .await?;
        dashboard::emit_property(&self.env, ctx, PUBLICATION_STATUS, "published", "text").await;
        Ok(json!({
            "published": true,
            "publication_status": "published",
            "already_published": done.already_published,
        }))
    }
}

/// The activities that hold the CMS lease, and so may wait for it.
pub const LEASED_ACTIVITIES: &[&str] = &["PostToCms", "PublishToCms"];

/// CMS steps whose `start_to_close` cannot hold the whole lease wait plus
/// one CMS call: there the wait is cut short so that the call still fits,
/// and a burst of packages spends retry attempts again. One line per step,
/// naming it, for the worker to log at start-up.
pub fn short_cms_steps(
    definitions: &pressbot_core::definition::Definitions,
    cms: &pressbot_core::settings::CmsSettings,
) -> Vec<String> {
    let needed = cms.lease_wait + cms.longest_call();
    let mut short = Vec::new();
    for def in definitions.iter() {
        for step in def.steps() {
            if !LEASED_ACTIVITIES.contains(&step.activity.name.as_str()) {
                continue;
            }
            if let Some(limit) = step.timeouts.start_to_close.filter(|l| *l < needed) {
                short.push(format!(
                    "step {} of {} v{}: start_to_close {} leaves {} to wait for the CMS lease, under cms.lease_wait ({}); one CMS call may take {} (max_retry_after + 4 x request_timeout)",
                    step.id,
                    def.name,
                    def.version,
                    humantime::format_duration(limit),
                    humantime::format_duration(limit.saturating_sub(cms.longest_call())),
                    humantime::format_duration(cms.lease_wait),
                    humantime::format_duration(cms.longest_call()),
                ));
            }
        }
    }
    short
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags() {
        assert_eq!(flag(Some(&json!(true))), Some(true));
        assert_eq!(flag(Some(&json!("false"))), Some(false));
        assert_eq!(flag(Some(&json!(3))), None);
        assert_eq!(flag(None), None);
    }
}
