//! [`ObjectStore`] on Amazon S3.

use crate::error::{call_error, error_code, AwsError};
use crate::AwsBackend;
use async_trait::async_trait;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketLocationConstraint, CreateBucketConfiguration, Event, NotificationConfiguration,
    QueueConfiguration,
};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use bytes::Bytes;
use pressbot_core::backend::{Object, ObjectMeta, ObjectStore, PutOptions};
use pressbot_core::time::Timestamp;
use pressbot_core::Result;
use std::path::Path;
use std::time::Duration;

/// The event pressbot subscribes to: every way an object can be created.
const OBJECT_CREATED: &str = "s3:ObjectCreated:*";

/// S3 quotes ETags; events and the embedded backend do not. Compare like with like.
fn clean_etag(etag: Option<&str>) -> String {
    etag.unwrap_or_default().trim_matches('"').to_owned()
}

fn ts(t: Option<&aws_smithy_types::DateTime>) -> Timestamp {
    t.and_then(|t| t.to_millis().ok())
        .map(Timestamp)
        .unwrap_or_else(Timestamp::now)
}

/// `bucket/key` with the key percent-encoded, as CopyObject's source wants it.
fn copy_source(bucket: &str, key: &str) -> String {
    const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~')
        .remove(b'/');
    format!(
        "{bucket}/{}",
        percent_encoding::utf8_percent_encode(key, SET)
    )
}

fn status<E>(err: &SdkError<E, HttpResponse>) -> Option<u16> {
    match err {
        SdkError::ServiceError(s) => Some(s.raw().status().as_u16()),
        _ => None,
    }
}

/// moto answers a bucket without notifications with an empty
/// `<GetBucketNotificationResponse/>` instead of S3's empty
/// `<NotificationConfiguration/>`, which the SDK cannot parse. Only that
/// exact answer (HTTP 200, that self-closed root) counts as "no configuration".
fn is_moto_empty_notification<E>(err: &SdkError<E, HttpResponse>) -> bool {
    let SdkError::ServiceError(s) = err else {
        return false;
    };
    if s.raw().status().as_u16() != 200 {
        return false;
    }
    let Some(body) = s.raw().body().bytes() else {
        return false;
    };
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    let text = text
        .strip_prefix("<?xml")
        .and_then(|t| t.split_once("?>"))
        .map(|(_, rest)| rest.trim())
        .unwrap_or(text);
    text.starts_with("<GetBucketNotificationResponse")
        && text.ends_with("/>")
        && text.matches('<').count() == 1
}

impl AwsBackend {
    fn s3_error<E>(
        &self,
        operation: &'static str,
        bucket: &str,
        key: Option<&str>,
        err: SdkError<E, HttpResponse>,
    ) -> AwsError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let resource = match key {
            Some(k) => format!("s3://{bucket}/{k}"),
            None => format!("s3://{bucket}"),
        };
        match error_code(&err) {
            Some("NoSuchBucket") => AwsError::MissingResource {
                service: "s3",
                operation,
                what: "S3 bucket",
                name: bucket.to_owned(),
                env: self.inner.env.clone(),
            },
            Some("NoSuchKey") => AwsError::NotFound {
                what: "object",
                name: resource,
            },
            _ => call_error("s3", operation, resource, err),
        }
    }

    /// Whether a bucket exists and is ours to use.
    pub(crate) async fn bucket_exists(&self, bucket: &str) -> Result<bool, AwsError> {
        const OP: &str = "HeadBucket";
        let s3 = &self.inner.s3;
        match self
            .call("s3", OP, bucket, || s3.head_bucket().bucket(bucket).send())
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if status(&e) == Some(404) => Ok(false),
            Err(e) => Err(self.s3_error(OP, bucket, None, e)),
        }
    }

    /// Create a bucket if missing; `Ok(true)` if it was created.
    pub(crate) async fn ensure_bucket(&self, bucket: &str) -> Result<bool, AwsError> {
        const OP: &str = "CreateBucket";
        if self.bucket_exists(bucket).await? {
            return Ok(false);
        }
        let s3 = &self.inner.s3;
        // us-east-1 is the one region that refuses an explicit location constraint.
        let location = (self.inner.region != "us-east-1").then(|| {
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(self.inner.region.as_str()))
                .build()
        });
        match self
            .call("s3", OP, bucket, || {
                s3.create_bucket()
                    .bucket(bucket)
                    .set_create_bucket_configuration(location.clone())
                    .send()
            })
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if error_code(&e) == Some("BucketAlreadyOwnedByYou") => Ok(false),
            Err(e) => Err(self.s3_error(OP, bucket, None, e)),
        }
    }

    /// Whether the bucket already sends `ObjectCreated:*` events to the queue.
    pub(crate) async fn notification_exists(
        &self,
        bucket: &str,
        queue_arn: &str,
    ) -> Result<bool, AwsError> {
        Ok(self
            .bucket_notification(bucket)
            .await?
            .queue_configurations()
            .iter()
            .any(|q| {
                q.queue_arn() == queue_arn
                    && q.events().iter().any(|e| e.as_str() == OBJECT_CREATED)
                    && q.filter().is_none()
            }))
    }

    async fn bucket_notification(
        &self,
        bucket: &str,
    ) -> Result<NotificationConfiguration, AwsError> {
        const OP: &str = "GetBucketNotificationConfiguration";
        let s3 = &self.inner.s3;
        let out = match self
            .call("s3", OP, bucket, || {
                s3.get_bucket_notification_configuration()
                    .bucket(bucket)
                    .send()
            })
            .await
        {
            Ok(out) => out,
            Err(e) if is_moto_empty_notification(&e) => {
                return Ok(NotificationConfiguration::builder().build())
            }
            Err(e) => return Err(self.s3_error(OP, bucket, None, e)),
        };
        Ok(NotificationConfiguration::builder()
            .set_queue_configurations(out.queue_configurations)
            .set_topic_configurations(out.topic_configurations)
            .set_lambda_function_configurations(out.lambda_function_configurations)
            .set_event_bridge_configuration(out.event_bridge_configuration)
            .build())
    }

    /// The queue policy letting S3 send, then the bucket's notification.
    /// Returns what changed. The policy goes first because S3 checks, when
    /// the notification is put, that it may send to the queue.
    pub(crate) async fn ensure_notification(
        &self,
        bucket: &str,
        queue: &str,
    ) -> Result<Vec<String>, AwsError> {
        const OP: &str = "PutBucketNotificationConfiguration";
        let mut changes = Vec::new();
        let queue_arn = self.queue_arn(queue).await?;
        let partition = queue_arn.split(':').nth(1).unwrap_or("aws");
        let bucket_arn = format!("arn:{partition}:s3:::{bucket}");
        if self
            .ensure_s3_send_policy(queue, &queue_arn, &bucket_arn, bucket)
            .await?
        {
            changes.push(format!(
                "allowed {bucket} to send to {queue} (queue policy)"
            ));
        }
        let current = self.bucket_notification(bucket).await?;
        let already = current.queue_configurations().iter().any(|q| {
            q.queue_arn() == queue_arn
                && q.events().iter().any(|e| e.as_str() == OBJECT_CREATED)
                && q.filter().is_none()
        });
        if already {
            return Ok(changes);
        }
        // Keep every other configuration the bucket has; replace only ours.
        let mut queues: Vec<QueueConfiguration> = current
            .queue_configurations()
            .iter()
            .filter(|q| q.queue_arn() != queue_arn)
            .cloned()
            .collect();
        queues.push(
            QueueConfiguration::builder()
                .id(format!("pressbot-{queue}"))
                .queue_arn(&queue_arn)
                .events(Event::from(OBJECT_CREATED))
                .build()
                .map_err(|e| AwsError::request("s3", OP, e))?,
        );
        let config = NotificationConfiguration::builder()
            .set_queue_configurations(Some(queues))
            .set_topic_configurations(current.topic_configurations.clone())
            .set_lambda_function_configurations(current.lambda_function_configurations.clone())
            .set_event_bridge_configuration(current.event_bridge_configuration.clone())
            .build();
        let s3 = &self.inner.s3;
        self.call("s3", OP, bucket, || {
            s3.put_bucket_notification_configuration()
                .bucket(bucket)
                .notification_configuration(config.clone())
                .send()
        })
        .await
        .map_err(|e| self.s3_error(OP, bucket, None, e))?;
        changes.push(format!(
            "notify {queue} of every object created in {bucket}"
        ));
        Ok(changes)
    }

    async fn head_meta(&self, bucket: &str, key: &str) -> Result<Option<ObjectMeta>, AwsError> {
        const OP: &str = "HeadObject";
        let s3 = &self.inner.s3;
        match self
            .call("s3", OP, &format!("s3://{bucket}/{key}"), || {
                s3.head_object().bucket(bucket).key(key).send()
            })
            .await
        {
            Ok(out) => Ok(Some(ObjectMeta {
                key: key.to_owned(),
                size: out.content_length().unwrap_or(0).max(0) as u64,
                etag: clean_etag(out.e_tag()),
                content_type: out.content_type().map(str::to_owned),
                cache_control: out.cache_control().map(str::to_owned),
                last_modified: ts(out.last_modified()),
            })),
            // HEAD answers have no body, so a 404 carries no NoSuchKey code.
            Err(e) if status(&e) == Some(404) && error_code(&e) != Some("NoSuchBucket") => Ok(None),
            Err(e) => Err(self.s3_error(OP, bucket, Some(key), e)),
        }
    }
}

#[async_trait]
impl ObjectStore for AwsBackend {
    async fn get(&self, bucket: &str, key: &str) -> Result<Object> {
        const OP: &str = "GetObject";
        let s3 = &self.inner.s3;
        let resource = format!("s3://{bucket}/{key}");
        let out = self
            .call("s3", OP, &resource, || {
                s3.get_object().bucket(bucket).key(key).send()
            })
            .await
            .map_err(|e| self.s3_error(OP, bucket, Some(key), e))?;
        let meta = ObjectMeta {
            key: key.to_owned(),
            size: out.content_length().unwrap_or(0).max(0) as u64,
            etag: clean_etag(out.e_tag()),
            content_type: out.content_type().map(str::to_owned),
            cache_control: out.cache_control().map(str::to_owned),
            last_modified: ts(out.last_modified()),
        };
        let body = out.body.collect().await.map_err(|e| AwsError::Call {
            service: "s3",
            operation: OP,
            resource: resource.clone(),
            code: None,
            retryable: true,
            message: format!("reading the body: {e}"),
        })?;
        let body = body.into_bytes();
        Ok(Object {
            meta: ObjectMeta {
                size: body.len() as u64,
                ..meta
            },
            body,
        })
    }

    /// The response body is written to the file chunk by chunk as it
    /// arrives; a body cut mid-way is a retryable error (the caller's next
    /// attempt starts the file again).
    async fn get_to_file(&self, bucket: &str, key: &str, path: &Path) -> Result<ObjectMeta> {
        use tokio::io::AsyncWriteExt;
        const OP: &str = "GetObject";
        let s3 = &self.inner.s3;
        let resource = format!("s3://{bucket}/{key}");
        let out = self
            .call("s3", OP, &resource, || {
                s3.get_object().bucket(bucket).key(key).send()
            })
            .await
            .map_err(|e| self.s3_error(OP, bucket, Some(key), e))?;
        let meta = ObjectMeta {
            key: key.to_owned(),
            size: out.content_length().unwrap_or(0).max(0) as u64,
            etag: clean_etag(out.e_tag()),
            content_type: out.content_type().map(str::to_owned),
            cache_control: out.cache_control().map(str::to_owned),
            last_modified: ts(out.last_modified()),
        };
        let io = |e: std::io::Error| pressbot_core::Error::Io {
            path: path.to_owned(),
            source: e,
        };
        let mut file = tokio::fs::File::create(path).await.map_err(io)?;
        let mut body = out.body;
        let mut size = 0u64;
        loop {
            let chunk = body.try_next().await.map_err(|e| AwsError::Call {
                service: "s3",
                operation: OP,
                resource: resource.clone(),
                code: None,
                retryable: true,
                message: format!("reading the body: {e}"),
            })?;
            let Some(chunk) = chunk else { break };
            size += chunk.len() as u64;
            file.write_all(&chunk).await.map_err(io)?;
        }
        file.flush().await.map_err(io)?;
        Ok(ObjectMeta { size, ..meta })
    }

    /// The body is streamed from the file (the SDK re-opens it on a retry).
    async fn put_file(
        &self,
        bucket: &str,
        key: &str,
        path: &Path,
        options: PutOptions,
    ) -> Result<ObjectMeta> {
        const OP: &str = "PutObject";
        let s3 = &self.inner.s3;
        let resource = format!("s3://{bucket}/{key}");
        let size = tokio::fs::metadata(path)
            .await
            .map_err(|e| pressbot_core::Error::Io {
                path: path.to_owned(),
                source: e,
            })?
            .len();
        let out = self
            .call("s3", OP, &resource, || async {
                let body = ByteStream::from_path(path)
                    .await
                    .map_err(SdkError::construction_failure)?;
                s3.put_object()
                    .bucket(bucket)
                    .key(key)
                    .body(body)
                    .set_content_type(options.content_type.clone())
                    .set_cache_control(options.cache_control.clone())
                    .send()
                    .await
            })
            .await
            .map_err(|e| self.s3_error(OP, bucket, Some(key), e))?;
        Ok(ObjectMeta {
            key: key.to_owned(),
            size,
            etag: clean_etag(out.e_tag()),
            content_type: options.content_type,
            cache_control: options.cache_control,
            last_modified: Timestamp::now(),
        })
    }

    async fn put(
        &self,
        bucket: &str,
        key: &str,
        body: Bytes,
        options: PutOptions,
    ) -> Result<ObjectMeta> {
        const OP: &str = "PutObject";
        let s3 = &self.inner.s3;
        let resource = format!("s3://{bucket}/{key}");
        let size = body.len() as u64;
        let out = self
            .call("s3", OP, &resource, || {
                s3.put_object()
                    .bucket(bucket)
                    .key(key)
                    .body(ByteStream::from(body.clone()))
                    .set_content_type(options.content_type.clone())
                    .set_cache_control(options.cache_control.clone())
                    .send()
            })
            .await
            .map_err(|e| self.s3_error(OP, bucket, Some(key), e))?;
        Ok(ObjectMeta {
            key: key.to_owned(),
            size,
            etag: clean_etag(out.e_tag()),
            content_type: options.content_type,
            cache_control: options.cache_control,
            last_modified: Timestamp::now(),
        })
    }

    async fn head(&self, bucket: &str, key: &str) -> Result<Option<ObjectMeta>> {
        Ok(self.head_meta(bucket, key).await?)
    }

    async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<ObjectMeta>> {
        const OP: &str = "ListObjectsV2";
        let s3 = &self.inner.s3;
        let resource = format!("s3://{bucket}/{prefix}");
        let mut objects = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = self
                .call("s3", OP, &resource, || {
                    s3.list_objects_v2()
                        .bucket(bucket)
                        .prefix(prefix)
                        .set_continuation_token(token.clone())
                        .send()
                })
                .await
                .map_err(|e| self.s3_error(OP, bucket, Some(prefix), e))?;
            objects.extend(out.contents().iter().map(|o| ObjectMeta {
                key: o.key().unwrap_or_default().to_owned(),
                size: o.size().unwrap_or(0).max(0) as u64,
                etag: clean_etag(o.e_tag()),
                content_type: None,
                cache_control: None,
                last_modified: ts(o.last_modified()),
            }));
            match out.next_continuation_token() {
                Some(t) if out.is_truncated() == Some(true) && !t.is_empty() => {
                    token = Some(t.to_owned())
                }
                _ => break,
            }
        }
        objects.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(objects)
    }

    async fn copy(
        &self,
        from_bucket: &str,
        from_key: &str,
        to_bucket: &str,
        to_key: &str,
    ) -> Result<ObjectMeta> {
        const OP: &str = "CopyObject";
        let s3 = &self.inner.s3;
        let source = copy_source(from_bucket, from_key);
        self.call("s3", OP, &format!("s3://{from_bucket}/{from_key}"), || {
            s3.copy_object()
                .copy_source(&source)
                .bucket(to_bucket)
                .key(to_key)
                .send()
        })
        .await
        .map_err(|e| self.s3_error(OP, from_bucket, Some(from_key), e))?;
        let meta = self.head_meta(to_bucket, to_key).await?;
        meta.ok_or_else(|| {
            AwsError::NotFound {
                what: "object",
                name: format!("s3://{to_bucket}/{to_key} (just copied)"),
            }
            .into()
        })
    }

    async fn delete(&self, bucket: &str, key: &str) -> Result<()> {
        const OP: &str = "DeleteObject";
        let s3 = &self.inner.s3;
        self.call("s3", OP, &format!("s3://{bucket}/{key}"), || {
            s3.delete_object().bucket(bucket).key(key).send()
        })
        .await
        .map_err(|e| self.s3_error(OP, bucket, Some(key), e))?;
        Ok(())
    }

    async fn presign_get(&self, bucket: &str, key: &str, expires: Duration) -> Result<String> {
        const OP: &str = "GetObject (presign)";
        let config = PresigningConfig::expires_in(expires)
            .map_err(|e| AwsError::request("s3", OP, format!("expiry {expires:?}: {e}")))?;
        let request = self
            .inner
            .s3
            .get_object()
            .bucket(bucket)
            .key(key)
            .presigned(config)
            .await
            .map_err(|e| call_error("s3", OP, format!("s3://{bucket}/{key}"), e))?;
        Ok(request.uri().to_owned())
    }

    async fn create_bucket(&self, bucket: &str) -> Result<()> {
        if self.ensure_bucket(bucket).await? {
            tracing::info!(bucket, "bucket created");
        }
        Ok(())
    }

    async fn set_notification(&self, bucket: &str, queue: &str) -> Result<()> {
        for change in self.ensure_notification(bucket, queue).await? {
            tracing::info!(bucket, queue, change = %change, "notification changed");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_source_encodes_the_key() {
        assert_eq!(copy_source("b", "a dir/x+y.zip"), "b/a%20dir/x%2By.zip");
    }

    #[test]
    fn etag_quotes_are_dropped() {
        assert_eq!(clean_etag(Some("\"abc\"")), "abc");
        assert_eq!(clean_etag(None), "");
    }
}
