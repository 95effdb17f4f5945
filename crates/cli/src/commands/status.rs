//! `pressbot status`: each role's health, queue depths, open and failed executions.

use super::Ctx;
use crate::output::{print_json, OutputArgs};
use crate::status::{parse_endpoint, Endpoint};
use std::time::Duration;

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// A role's operations endpoint, ROLE=URL (repeatable), e.g. decider=http://127.0.0.1:9101.
    #[arg(long = "endpoint", value_parser = parse_endpoint, env = "PRESSBOT_STATUS_ENDPOINTS", value_delimiter = ',')]
    pub endpoints: Vec<Endpoint>,
    /// List failures of executions started this far back.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "24h")]
    pub failed_since: Duration,
    /// For monitoring: exit 0 when healthy, 1 when a role is unhealthy or a
    /// dead-letter queue holds messages, 2 when the status could not be checked.
    #[arg(long)]
    pub check: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Print the status; returns the exit status (always 0 without `--check`).
///
/// With `--check`, not reaching the backend is a verdict (2, "unknown"),
/// not an error, so a monitoring probe can tell "broken" from "could not look".
pub async fn run(ctx: &Ctx, a: Args) -> crate::Result<u8> {
    let loaded = &ctx.loaded;
    let backend = match ctx.backend().await {
        Ok(b) => b,
        Err(e) if a.check => {
            if a.output.json() {
                print_json(&serde_json::json!({ "verdict": "unknown", "error": e.to_string() }));
            } else {
                println!("unknown: cannot connect to the backend: {e}");
            }
            return Ok(crate::status::Health::Unknown.exit_code());
        }
        Err(e) => return Err(e),
    };
    let s = crate::status::gather(loaded, backend, &a.endpoints, a.failed_since).await;
    let verdict = s.verdict();
    if a.output.json() {
        print_json(&s.to_json());
    } else {
        print!("{}", s.render());
        if a.check {
            println!("\n{}", verdict.as_str());
        }
    }
    Ok(if a.check { verdict.exit_code() } else { 0 })
}
