//! The scenarios, one module each, and what they share: listing
//! executions, waiting for a batch to close, and reading the histories.

pub(crate) mod aws;
pub(crate) mod history;
pub(crate) mod pipeline;
pub(crate) mod throughput;
pub(crate) mod up_figures;

use crate::install::Install;
use anyhow::{bail, Result};
use pressbot_core::backend::{Backend, ExecutionFilter, ExecutionInfo};
use std::time::{Duration, Instant};

pub(crate) async fn list(backend: &Backend, open: bool) -> Result<Vec<ExecutionInfo>> {
    Ok(backend
        .workflows
        .list_executions(&ExecutionFilter {
            open,
            ..Default::default()
        })
        .await?)
}

/// Wait until `n` executions are closed; fail if a daemon dies or it takes
/// longer than `timeout`.
pub(crate) async fn wait_closed(
    inst: &mut Install,
    backend: &Backend,
    n: usize,
    timeout: Duration,
) -> Result<Vec<ExecutionInfo>> {
    let start = Instant::now();
    // Samples continue the series of the caller (if any) on one clock.
    let offset = inst.rss_samples.last().map_or(0.0, |(t, _)| *t);
    let mut next_sample = Duration::ZERO;
    loop {
        if start.elapsed() >= next_sample {
            let rss = inst.rss_now();
            inst.rss_samples
                .push((offset + start.elapsed().as_secs_f64(), rss));
            next_sample += RSS_SAMPLE_EVERY;
        }
        let closed = list(backend, false).await?;
        if closed.len() >= n {
            return Ok(closed);
        }
        inst.check_alive()?;
        if start.elapsed() > timeout {
            bail!(
                "only {} of {n} workflows closed after {timeout:?}",
                closed.len()
            );
        }
        // Listing is a full scan: not so often that the bench itself
        // loads the backend (moto is single-threaded) it measures.
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// How often RSS is sampled while a batch runs.
pub(crate) const RSS_SAMPLE_EVERY: Duration = Duration::from_secs(2);
