//! The `aws` and `aws-steps` scenarios: the throughput scenarios on the AWS
//! backend against moto, and the floor any client pays per moto request.

use super::throughput::throughput_on;
use crate::install::Install;
use crate::numbers::round;
use crate::procfs::{thread_cpu_ticks, ticks_ms};
use crate::Args;
use anyhow::{Context, Result};
use serde_json::{json, Value};
use std::time::Instant;

/// `aws`: Ping workflows on moto through one decider and one
/// activity-worker, then the per-request floor of a plain socket client;
/// recorded as skipped when moto is not installed.
pub(crate) async fn aws(args: &Args) -> Result<Value> {
    match pressbot_aws::testing::moto_server_path() {
        Some(_) => {
            let w = if args.quick { 2 } else { args.aws_workflows };
            eprintln!("scenario aws: {w} Ping workflows on moto, 1 decider, 1 activity-worker");
            let moto = pressbot_aws::testing::MotoServer::start();
            let inst = Install::aws(args, &moto.endpoint())?;
            let mut figures = throughput_on(args, inst, "Ping", w, 1, None).await?;
            let floor_requests = if args.quick { 20 } else { 3000 };
            let endpoint = moto.endpoint();
            let floor =
                tokio::task::spawn_blocking(move || connection_floor(&endpoint, floor_requests))
                    .await??;
            figures["moto_connection_floor"] = floor;
            Ok(figures)
        }
        None => {
            eprintln!("scenario aws skipped: no moto_server (bash scripts/moto/ensure-moto.sh)");
            Ok(json!({"skipped": "moto_server not installed"}))
        }
    }
}

/// `aws-steps`: workflows of ten sequential steps on moto.
pub(crate) async fn aws_steps(args: &Args) -> Result<Value> {
    if pressbot_aws::testing::moto_server_path().is_some() {
        let w = if args.quick {
            1
        } else {
            (args.aws_workflows / 10).max(1)
        };
        eprintln!("scenario aws-steps: {w} workflows of 10 sequential steps on moto");
        let moto = pressbot_aws::testing::MotoServer::start();
        let inst = Install::aws(args, &moto.endpoint())?;
        throughput_on(args, inst, "BenchSteps", w, 10, None).await
    } else {
        Ok(json!({"skipped": "moto_server not installed"}))
    }
}
/// The least CPU any client can spend on one request to moto: moto
/// (werkzeug) answers every request with `Connection: close`, so each
/// request pays a TCP connect, a write, a read and a close. This sends
/// `requests` minimal unsigned SWF requests over plain sockets, one
/// connection each, and reports this thread's CPU per request: the floor
/// under the daemons' CPU per request in the `aws` scenario, whatever the
/// HTTP client or SDK.
fn connection_floor(endpoint: &str, requests: u32) -> Result<Value> {
    use std::io::{Read, Write};
    let addr = endpoint
        .strip_prefix("http://")
        .context("moto endpoint is not http://host:port")?
        .to_owned();
    let body = r#"{"registrationStatus":"REGISTERED"}"#;
    // moto routes a request by the service named in its credential scope
    // (since 5.2.6 one without `Authorization` goes to S3 and gets a 500), so
    // the request carries a SigV4-shaped header naming `swf`. moto does not
    // check the signature; the client's cost of signing is not what the floor
    // measures.
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nX-Amz-Target: SimpleWorkflowService.ListDomains\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=testing/20261206/us-east-1/swf/aws4_request, \
         SignedHeaders=host, Signature=00\r\n\
         Content-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut response = Vec::with_capacity(4096);
    let one = |response: &mut Vec<u8>| -> Result<()> {
        let mut conn = std::net::TcpStream::connect(&addr)?;
        conn.set_nodelay(true)?;
        conn.write_all(request.as_bytes())?;
        response.clear();
        conn.read_to_end(response)?;
        anyhow::ensure!(
            response.starts_with(b"HTTP/1.1 200"),
            "moto answered: {}",
            String::from_utf8_lossy(&response[..response.len().min(200)])
        );
        Ok(())
    };
    one(&mut response)?;
    let cpu0 = thread_cpu_ticks()?;
    let t0 = Instant::now();
    for _ in 0..requests {
        one(&mut response)?;
    }
    let wall = t0.elapsed();
    let cpu_ms = ticks_ms(thread_cpu_ticks()? - cpu0);
    Ok(json!({
        "requests": requests,
        "client_cpu_us_per_request": round(cpu_ms * 1000.0 / f64::from(requests), 1),
        "wall_us_per_request": round(wall.as_secs_f64() * 1e6 / f64::from(requests), 1),
        "note": "plain sockets, one connection per request as moto forces: the floor for any client",
    }))
}
