//! Retry policy as data: how many attempts and how long to wait between them.

use crate::ids::stable_hash;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Exponential backoff with a deterministic jitter.
///
/// The jitter is derived from the workflow id, step and attempt rather than
/// a random number, because the decider must be a pure function of its
/// history: deciding the same history twice must give the same timer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryPolicy {
    /// Total attempts including the first (1 = never retry).
    pub max_attempts: u32,
    /// Wait before the second attempt.
    #[serde(with = "humantime_serde")]
    pub initial: Duration,
    /// Multiplier applied for each further attempt (>= 1.0).
    #[serde(default = "default_backoff")]
    pub backoff: f64,
    /// Upper bound on a single wait.
    #[serde(with = "humantime_serde")]
    pub max: Duration,
    /// Fraction of the wait that may be added or removed (0.0..=1.0).
    #[serde(default = "default_jitter")]
    pub jitter: f64,
}

fn default_backoff() -> f64 {
    2.0
}

fn default_jitter() -> f64 {
    0.1
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            initial: Duration::from_secs(10),
            backoff: 2.0,
            max: Duration::from_secs(300),
            jitter: 0.1,
        }
    }
}

impl RetryPolicy {
    /// Check the policy; returns the name of the bad field and why.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if self.max_attempts == 0 {
            return Err(("max_attempts", "must be at least 1".into()));
        }
        if !(self.backoff.is_finite() && self.backoff >= 1.0) {
            return Err(("backoff", format!("must be >= 1.0, got {}", self.backoff)));
        }
        if !(0.0..=1.0).contains(&self.jitter) {
            return Err((
                "jitter",
                format!("must be within 0.0..=1.0, got {}", self.jitter),
            ));
        }
        if self.max < self.initial {
            return Err(("max", "must not be shorter than initial".into()));
        }
        Ok(())
    }

    /// The wait after failed attempt `attempt` (1-based) before the next one.
    /// Whole seconds, at least one, since SWF timers count in seconds.
    pub fn delay(&self, attempt: u32, seed: &[&str]) -> Duration {
        let exp = i32::try_from(attempt.saturating_sub(1))
            .unwrap_or(i32::MAX)
            .min(64);
        let base = self.initial.as_secs_f64() * self.backoff.powi(exp);
        let base = base.min(self.max.as_secs_f64());
        let mut parts: Vec<&str> = seed.to_vec();
        let attempt_s = attempt.to_string();
        parts.push(&attempt_s);
        // map the hash to [-1, 1)
        let unit = (stable_hash(&parts) >> 11) as f64 / (1u64 << 53) as f64;
        let factor = 1.0 + self.jitter * (unit * 2.0 - 1.0);
        let secs = (base * factor).min(self.max.as_secs_f64()).round().max(1.0);
        Duration::from_secs(secs as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn grows_and_caps() {
        let p = RetryPolicy {
            max_attempts: 10,
            initial: Duration::from_secs(10),
            backoff: 2.0,
            max: Duration::from_secs(60),
            jitter: 0.0,
        };
        let d: Vec<u64> = (1..=5).map(|a| p.delay(a, &["w"]).as_secs()).collect();
        assert_eq!(d, vec![10, 20, 40, 60, 60]);
    }

    #[test]
    fn jitter_is_deterministic() {
        let p = RetryPolicy::default();
        assert_eq!(p.delay(2, &["wf", "step"]), p.delay(2, &["wf", "step"]));
    }

    #[test]
    fn validate_names_the_field() {
        let p = RetryPolicy {
            backoff: 0.5,
            ..RetryPolicy::default()
        };
        assert_eq!(p.validate().unwrap_err().0, "backoff");
        let p = RetryPolicy {
            max_attempts: 0,
            ..RetryPolicy::default()
        };
        assert_eq!(p.validate().unwrap_err().0, "max_attempts");
    }

    proptest! {
        #[test]
        fn delay_within_bounds(attempt in 1u32..100, initial in 1u64..100, extra in 0u64..1000, jitter in 0.0f64..1.0, seed in ".*") {
            let p = RetryPolicy { max_attempts: 100, initial: Duration::from_secs(initial), backoff: 1.5, max: Duration::from_secs(initial + extra), jitter };
            let d = p.delay(attempt, &[&seed]);
            prop_assert!(d >= Duration::from_secs(1));
            prop_assert!(d <= p.max.max(Duration::from_secs(1)));
        }
    }
}
