//! [`LeaseStore`] on S3: one object per lease, `leases/<name>.json` in the
//! expanded bucket, holding a [`LeaseRecord`], changed only by conditional
//! puts so that two workers can never both believe they hold it:
//!
//! - acquire: `PutObject` with `If-None-Match: *` (create only if absent);
//!   if it exists, read it with its eTag and, when it has expired (or was
//!   released), replace it with `If-Match: <eTag>`. Of two takers of one
//!   expired lease, S3 lets exactly one put through (412 for the other).
//! - renew: read, check the token is ours and unexpired, put with `If-Match`.
//! - release: the same, writing the record expired (so the next acquire is
//!   a takeover, never a blind overwrite).
//!
//! A put retried after its answer was lost comes back 412 with our own
//! record stored: recognised by the token, which is fresh per attempt.
//! Expiry compares the stored time with this host's clock: hosts need
//! clocks within a small fraction of the ttl (NTP does that).

use crate::error::{call_error, error_code, AwsError};
use crate::AwsBackend;
use async_trait::async_trait;
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use pressbot_core::lease::{Acquired, Lease, LeaseRecord, LeaseStore};
use pressbot_core::time::Timestamp;
use std::time::Duration;

/// Key of a lease's object.
pub fn lease_key(name: &str) -> String {
    format!("leases/{name}.json")
}

/// The put was refused because its condition did not hold (412), or S3 saw
/// a concurrent conditional write to the same key (409): either way someone
/// else changed the object first.
fn lost_race<E>(err: &SdkError<E, HttpResponse>) -> bool {
    match err {
        SdkError::ServiceError(s) => matches!(s.raw().status().as_u16(), 409 | 412),
        _ => false,
    }
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

enum Put {
    Done,
    Lost,
}

impl AwsBackend {
    fn lease_bucket(&self, name: &str) -> Result<String, AwsError> {
        self.inner
            .lease_bucket
            .clone()
            .ok_or_else(|| AwsError::Settings {
                key: "buckets.expanded".into(),
                message: format!("no bucket to keep the lease {name} in"),
            })
    }

    /// The stored record and its eTag; `None` when there is no object.
    async fn read_lease(
        &self,
        bucket: &str,
        name: &str,
    ) -> Result<Option<(LeaseRecord, String)>, AwsError> {
        const OP: &str = "GetObject";
        let key = lease_key(name);
        let resource = format!("s3://{bucket}/{key}");
        let s3 = &self.inner.s3;
        let out = match self
            .call("s3", OP, &resource, || {
                s3.get_object().bucket(bucket).key(&key).send()
            })
            .await
        {
            Ok(out) => out,
            Err(e) if error_code(&e) == Some("NoSuchKey") => return Ok(None),
            Err(e) => return Err(call_error("s3", OP, resource, e)),
        };
        let etag = out.e_tag().unwrap_or_default().to_owned();
        let body = out
            .body
            .collect()
            .await
            .map_err(|e| AwsError::Lease {
                operation: OP,
                resource: resource.clone(),
                retryable: true,
                message: format!("reading the body: {e}"),
            })?
            .into_bytes();
        let record = serde_json::from_slice(&body).map_err(|e| AwsError::Lease {
            operation: OP,
            resource: resource.clone(),
            retryable: false,
            message: format!("not a lease record: {e}"),
        })?;
        Ok(Some((record, etag)))
    }

    /// Put a record if the object is absent (`etag` None) or still has `etag`.
    async fn put_lease(
        &self,
        bucket: &str,
        name: &str,
        record: &LeaseRecord,
        etag: Option<&str>,
    ) -> Result<Put, AwsError> {
        const OP: &str = "PutObject";
        let key = lease_key(name);
        let resource = format!("s3://{bucket}/{key}");
        let body = serde_json::to_vec(record).map_err(|e| AwsError::Lease {
            operation: OP,
            resource: resource.clone(),
            retryable: false,
            message: e.to_string(),
        })?;
        let s3 = &self.inner.s3;
        let result = self
            .call("s3", OP, &resource, || {
                let put = s3
                    .put_object()
                    .bucket(bucket)
                    .key(&key)
                    .content_type("application/json")
                    .body(ByteStream::from(body.clone()));
                let put = match etag {
                    None => put.if_none_match("*"),
                    Some(t) => put.if_match(t),
                };
                put.send()
            })
            .await;
        match result {
            Ok(_) => Ok(Put::Done),
            Err(e) if lost_race(&e) => Ok(Put::Lost),
            Err(e) => Err(call_error("s3", OP, resource, e)),
        }
    }

    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<Acquired, AwsError> {
        let bucket = self.lease_bucket(name)?;
        let token = uuid::Uuid::new_v4().simple().to_string();
        // Each round either decides or saw the object change under it; a
        // few rounds cover a release racing a takeover.
        for _ in 0..4 {
            let now = Timestamp::now();
            let ours = LeaseRecord {
                holder: holder.to_owned(),
                token: token.clone(),
                expires_ms: now.millis().saturating_add(ms(ttl)),
            };
            let stored = self.read_lease(&bucket, name).await?;
            let etag = match &stored {
                Some((r, _)) if r.token == token => return Ok(Acquired::Held(r.lease(name))),
                Some((r, _)) if !r.free_at(now) => return Ok(Acquired::Busy(r.held(name))),
                Some((_, etag)) => Some(etag.as_str()),
                None => None,
            };
            match self.put_lease(&bucket, name, &ours, etag).await? {
                Put::Done => return Ok(Acquired::Held(ours.lease(name))),
                Put::Lost => continue,
            }
        }
        match self.read_lease(&bucket, name).await? {
            Some((r, _)) if r.token == token => Ok(Acquired::Held(r.lease(name))),
            Some((r, _)) => Ok(Acquired::Busy(r.held(name))),
            None => Err(AwsError::Lease {
                operation: "PutObject",
                resource: format!("s3://{bucket}/{}", lease_key(name)),
                retryable: true,
                message: "the lease object kept changing under us; try again".into(),
            }),
        }
    }

    /// Replace our record (same token) with `expires_ms`, if still ours.
    async fn rewrite_lease(
        &self,
        lease: &Lease,
        expires_ms: i64,
        require_unexpired: bool,
    ) -> Result<Option<Lease>, AwsError> {
        let bucket = self.lease_bucket(&lease.name)?;
        let Some((r, etag)) = self.read_lease(&bucket, &lease.name).await? else {
            return Ok(None);
        };
        if r.token != lease.token || (require_unexpired && r.free_at(Timestamp::now())) {
            return Ok(None);
        }
        let new = LeaseRecord { expires_ms, ..r };
        match self
            .put_lease(&bucket, &lease.name, &new, Some(&etag))
            .await?
        {
            Put::Done => Ok(Some(new.lease(&lease.name))),
            Put::Lost => Ok(None),
        }
    }
}

#[async_trait]
impl LeaseStore for AwsBackend {
    async fn acquire(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> pressbot_core::Result<Acquired> {
        Ok(self.acquire_lease(name, holder, ttl).await?)
    }

    async fn renew(&self, lease: &Lease, ttl: Duration) -> pressbot_core::Result<Option<Lease>> {
        let expires = Timestamp::now().millis().saturating_add(ms(ttl));
        Ok(self.rewrite_lease(lease, expires, true).await?)
    }

    async fn release(&self, lease: &Lease) -> pressbot_core::Result<()> {
        self.rewrite_lease(lease, 0, false).await?;
        Ok(())
    }
}
