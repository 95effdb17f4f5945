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

/// Paces polls against a service that answers "no task" at once instead of
/// holding the long poll.
///
/// SWF holds an empty poll for 60 s and the embedded backend for
/// `local.long_poll`, so a poll loop may re-poll right after an empty answer.
/// A service that does not long-poll (moto, a proxy that cuts idle requests,
/// a misconfigured endpoint) answers "nothing" in a millisecond, and
/// re-polling at once turns every idle poller into a busy loop: CPU burnt
/// on empty requests and the service hammered. An empty answer that came
/// back quicker than any real long poll therefore waits a short, jittered,
/// growing pause (reset as soon as a poll brings a task) before the next.
#[derive(Debug)]
pub struct EmptyPollPacer {
    pause: ErrorBackoff,
}

impl Default for EmptyPollPacer {
    fn default() -> Self {
        EmptyPollPacer {
            pause: ErrorBackoff::new(Self::MIN_PAUSE, Self::MAX_PAUSE),
        }
    }
}

impl EmptyPollPacer {
    /// An empty answer quicker than this did not long-poll: no service
    /// pressbot talks to holds a poll for less.
    pub const INSTANT: Duration = Duration::from_millis(50);
    const MIN_PAUSE: Duration = Duration::from_millis(10);
    /// Small enough that a task arriving meanwhile waits no longer than a
    /// default embedded poll tick.
    const MAX_PAUSE: Duration = Duration::from_millis(100);

    /// After an empty poll that took `took`: the pause before the next poll,
    /// if any.
    pub fn after_empty(&mut self, took: Duration) -> Option<Duration> {
        (took < Self::INSTANT).then(|| self.pause.next_delay())
    }

    /// After a poll that brought a task.
    pub fn reset(&mut self) {
        self.pause.reset();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_instant_empty_polls_are_paced_and_the_pause_is_bounded() {
        let mut p = EmptyPollPacer::default();
        assert_eq!(p.after_empty(Duration::from_secs(60)), None);
        assert_eq!(p.after_empty(EmptyPollPacer::INSTANT), None);
        for _ in 0..20 {
            let d = p.after_empty(Duration::from_millis(1)).expect("paced");
            assert!(d <= EmptyPollPacer::MAX_PAUSE * 2, "{d:?}");
        }
        p.reset();
        let first = p.after_empty(Duration::ZERO).expect("paced");
        assert!(first <= EmptyPollPacer::MIN_PAUSE * 2, "{first:?}");
    }
}
