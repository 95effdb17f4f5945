//! `PingWorker`: proves the path decider → worker → decider works.

use crate::{Activity, ActivityContext};
use async_trait::async_trait;
use pressbot_core::activity::ActivityFailure;

/// Returns `{"pong": <attempt>}`, or sleeps first when the step's params say
/// `sleep_ms` (used by tests that need an activity in flight).
#[derive(Debug, Clone, Copy)]
pub struct PingWorker;

#[async_trait]
impl Activity for PingWorker {
    fn name(&self) -> &'static str {
        "PingWorker"
    }

    async fn run(&self, ctx: &ActivityContext) -> Result<serde_json::Value, ActivityFailure> {
        let sleep_ms = ctx
            .input
            .params
            .get("sleep_ms")
            .or_else(|| ctx.input.context.get("ping_sleep_ms"))
            .and_then(|v| v.as_u64())
            .unwrap_or(0);
        if sleep_ms > 0 {
            tokio::select! {
                _ = tokio::time::sleep(std::time::Duration::from_millis(sleep_ms)) => {}
                _ = ctx.cancel.cancelled() => return Err(ActivityFailure::retryable("cancelled")),
            }
        }
        if ctx.input.context.get("ping_fail").and_then(|v| v.as_str()) == Some("permanent") {
            return Err(ActivityFailure::permanent("asked to fail permanently"));
        }
        Ok(serde_json::json!({ "pong": ctx.input.attempt }))
    }
}
