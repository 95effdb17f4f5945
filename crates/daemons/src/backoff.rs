//! Error backoff for poll loops: exponential with jitter, reset on success.

use backon::{BackoffBuilder, ExponentialBuilder};
use std::time::Duration;

/// Wraps backon's exponential backoff so a loop can ask for the next delay
/// after an error and reset after a success, forever (a daemon never gives up).
#[derive(Debug)]
pub struct ErrorBackoff {
    builder: ExponentialBuilder,
    current: backon::ExponentialBackoff,
}

impl Default for ErrorBackoff {
    fn default() -> Self {
        Self::new(Duration::from_millis(200), Duration::from_secs(30))
    }
}

impl ErrorBackoff {
    pub fn new(min: Duration, max: Duration) -> Self {
        let builder = ExponentialBuilder::default()
            .with_min_delay(min)
            .with_max_delay(max)
            .with_jitter()
            .without_max_times();
        ErrorBackoff {
            current: builder.build(),
            builder,
        }
    }

    /// The wait before the next try.
    pub fn next_delay(&mut self) -> Duration {
        self.current.next().unwrap_or(Duration::from_secs(30))
    }

    /// Call after a success.
    pub fn reset(&mut self) {
        self.current = self.builder.build();
    }
}

/// Sleep for `d` unless shutdown comes first. Returns false on shutdown.
pub async fn sleep_or_shutdown(
    d: Duration,
    shutdown: &tokio_util::sync::CancellationToken,
) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(d) => true,
        _ = shutdown.cancelled() => false,
    }
}
