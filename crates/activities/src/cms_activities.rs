//! `PostToCms` and `PublishToCms`: deliver the article JSON to the CMS and
//! publish it, through [`pressbot_cms::CmsClient`], which never ingests a
//! version twice however the connection misbehaves.
//!
//! Both build their client from `env.settings.cms` on every attempt (cheap,
//! and a rotated secret file is picked up). With an embedded CMS bound to a
//! port chosen at start-up, the process that started it sets
//! `cms.base_url` to the bound address before building the `Env`.
//!
//! Context in: `article_id`, `version`, `run` (else the execution's run id),
//! and for `PostToCms` `article_json_key` (in the expanded bucket, written
//! by ConvertJATS).
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
use serde_json::{json, Value};
use std::future::Future;
use std::sync::Arc;

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

/// The article version a CMS step is about.
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
    Ok((article_id, version, article::run_of(ctx)))
}

/// Run a CMS call unless the attempt is cancelled first. A cancelled call
/// may have reached the CMS: the next attempt asks before posting again.
async fn cancellable<T>(
    ctx: &ActivityContext,
    what: &str,
    call: impl Future<Output = Result<T, CmsError>>,
) -> Result<T, ActivityFailure> {
    tokio::select! {
        r = call => r.map_err(|e| cms_failure(&ctx.input.step, &e)),
        _ = ctx.cancel.cancelled() => Err(ActivityFailure::retryable(format!("{}: cancelled during {what}", ctx.input.step))),
    }
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
        let (article_id, version, run) = target(ctx)?;
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
            cancellable(
                ctx,
                "the silent correction",
                cms.silent_correction(&article_id, version, &run, &body),
            )
            .await?
        } else {
            cancellable(
                ctx,
                "the ingest",
                cms.ingest(&article_id, version, &run, &body),
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
        let (article_id, version, run) = target(ctx)?;
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
        let done = cancellable(ctx, "the publish", cms.publish(&article_id, version, &run)).await?;
        dashboard::emit_property(&self.env, ctx, PUBLICATION_STATUS, "published", "text").await;
        Ok(json!({
            "published": true,
            "publication_status": "published",
            "already_published": done.already_published,
        }))
    }
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
