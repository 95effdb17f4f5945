//! Leases: one holder at a time of a named resource, across every process
//! and host sharing a backend.
//!
//! The CMS ingests one article at a time. A task-list pool of one slot only
//! serialises the activities of one worker process; with two workers (or
//! two hosts) both would post at once and the CMS would answer 429 to one of
//! them, or worse, a proxy would cut both. A lease in the backend is the one
//! place every worker sees: the embedded backend keeps it as a SQLite row,
//! the AWS backend as an S3 object written with conditional puts.
//!
//! A lease expires `ttl` after it was last acquired or renewed, so a holder
//! that crashes blocks the others for at most `ttl`. Its holder renews it
//! while it works (every `ttl / 3`, see [`renew_every`]) and releases it
//! when done. Every acquisition gets a fresh `token`: renew and release
//! only act when the stored token is still theirs, so a holder that lost its
//! lease (it expired and someone else took it) cannot extend or free the
//! new holder's.
//!
//! This module has no I/O: the trait, the values, and the rules every
//! implementation applies ([`LeaseRecord::free_at`]).

use crate::error::Result;
use crate::time::Timestamp;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// A lease held by the caller: what `renew` and `release` need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The lease's name: at most one holder per name at a time.
    pub name: String,
    /// Who holds it, for operators reading `LeaseHeld` messages.
    pub holder: String,
    /// Unique to this acquisition.
    pub token: String,
    /// When it lapses unless renewed.
    pub expires: Timestamp,
}

/// Who holds a lease the caller could not get, and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseHeld {
    /// The lease's name.
    pub name: String,
    /// Who holds it.
    pub holder: String,
    /// When it lapses unless its holder renews it.
    pub expires: Timestamp,
}

impl std::fmt::Display for LeaseHeld {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "lease {} held by {} until {}",
            self.name, self.holder, self.expires
        )
    }
}

/// What came of an acquire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acquired {
    /// The caller holds it now.
    Held(Lease),
    /// Someone else holds it and it has not expired.
    Busy(LeaseHeld),
}

/// The stored form of a lease (the S3 object's JSON body; the SQLite row's
/// columns mirror it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseRecord {
    /// Who holds it.
    pub holder: String,
    /// Unique to one acquisition, so a holder whose lease lapsed and was taken
    /// over cannot renew or release the new holder's lease.
    pub token: String,
    /// Milliseconds since the epoch.
    pub expires_ms: i64,
}

impl LeaseRecord {
    /// Whether a new holder may take the lease at `now`: it has expired, or
    /// it was released (a released lease is stored as expired at 0).
    pub fn free_at(&self, now: Timestamp) -> bool {
        self.expires_ms <= now.millis()
    }

    /// The record as seen by someone who could not take it.
    pub fn held(&self, name: &str) -> LeaseHeld {
        LeaseHeld {
            name: name.to_owned(),
            holder: self.holder.clone(),
            expires: Timestamp(self.expires_ms),
        }
    }

    /// The record as held by its holder, for renew and release.
    pub fn lease(&self, name: &str) -> Lease {
        Lease {
            name: name.to_owned(),
            holder: self.holder.clone(),
            token: self.token.clone(),
            expires: Timestamp(self.expires_ms),
        }
    }
}

/// How often a holder renews a lease of `ttl`: three chances before it
/// expires, so one slow or failed renewal does not lose it.
pub fn renew_every(ttl: Duration) -> Duration {
    (ttl / 3).max(Duration::from_millis(10))
}

/// The lease name the CMS activities share: one ingest at a time, whatever
/// the number of workers and hosts.
pub const CMS_LEASE: &str = "cms-ingest";

/// Leases in a backend shared by every process.
#[async_trait]
pub trait LeaseStore: Send + Sync + std::fmt::Debug {
    /// Take the lease `name` for `ttl` unless someone else holds it
    /// unexpired. Atomic: of two concurrent callers, at most one gets it.
    async fn acquire(&self, name: &str, holder: &str, ttl: Duration) -> Result<Acquired>;
    /// Extend a held lease to `ttl` from now. `None` when it is no longer
    /// ours (it expired and was taken, or released): stop relying on it.
    async fn renew(&self, lease: &Lease, ttl: Duration) -> Result<Option<Lease>>;
    /// Give the lease up at once if it is still ours (else nothing).
    async fn release(&self, lease: &Lease) -> Result<()>;
}

/// Leases in one process's memory: for tests of code that takes leases,
/// and for a backend that is never shared between processes. The rules are
/// the stored backends' (expiry, tokens).
#[derive(Debug, Default)]
pub struct MemLeases {
    leases: std::sync::Mutex<std::collections::HashMap<String, LeaseRecord>>,
    tokens: std::sync::atomic::AtomicU64,
}

impl MemLeases {
    fn map(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, LeaseRecord>> {
        self.leases.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl LeaseStore for MemLeases {
    async fn acquire(&self, name: &str, holder: &str, ttl: Duration) -> Result<Acquired> {
        let now = Timestamp::now();
        let mut map = self.map();
        if let Some(r) = map.get(name) {
            if !r.free_at(now) {
                return Ok(Acquired::Busy(r.held(name)));
            }
        }
        let n = self
            .tokens
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let r = LeaseRecord {
            holder: holder.to_owned(),
            token: format!("mem-{n}"),
            expires_ms: now.plus(ttl).millis(),
        };
        let lease = r.lease(name);
        map.insert(name.to_owned(), r);
        Ok(Acquired::Held(lease))
    }

    async fn renew(&self, lease: &Lease, ttl: Duration) -> Result<Option<Lease>> {
        let now = Timestamp::now();
        let mut map = self.map();
        match map.get_mut(&lease.name) {
            Some(r) if r.token == lease.token && !r.free_at(now) => {
                r.expires_ms = now.plus(ttl).millis();
                Ok(Some(r.lease(&lease.name)))
            }
            _ => Ok(None),
        }
    }

    async fn release(&self, lease: &Lease) -> Result<()> {
        let mut map = self.map();
        if map.get(&lease.name).is_some_and(|r| r.token == lease.token) {
            map.remove(&lease.name);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expired_and_released_records_are_free() {
        let r = LeaseRecord {
            holder: "w1".into(),
            token: "t".into(),
            expires_ms: 1_000,
        };
        assert!(!r.free_at(Timestamp(999)));
        assert!(r.free_at(Timestamp(1_000)));
        assert_eq!(
            r.held("cms").to_string(),
            format!("lease cms held by w1 until {}", Timestamp(1_000))
        );
        assert_eq!(
            renew_every(Duration::from_secs(30)),
            Duration::from_secs(10)
        );
    }
}
