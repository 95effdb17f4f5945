//! [`QueueService`] on Amazon SQS. Queues are named in settings; URLs are
//! resolved once per name and cached.

use crate::error::{call_error, error_code, AwsError};
use crate::{AwsBackend, SQS_MAX_WAIT};
use async_trait::async_trait;
use aws_sdk_sqs::types::{
    MessageAttributeValue, MessageSystemAttributeName, QueueAttributeName,
    SendMessageBatchRequestEntry,
};
use pressbot_core::backend::{
    dead_letter_queue_name, OutgoingMessage, QueueDepth, QueueService, ReceivedMessage,
    SEND_BATCH_MAX,
};
use pressbot_core::time::Timestamp;
use pressbot_core::Result;
use std::collections::BTreeMap;
use std::time::Duration;

/// SQS keeps a message at most 14 days; a dead-letter queue keeps them that
/// long so an operator has time to look.
const DLQ_RETENTION_SECS: &str = "1209600";

fn is_missing_queue(code: Option<&str>) -> bool {
    matches!(
        code,
        Some("QueueDoesNotExist" | "AWS.SimpleQueueService.NonExistentQueue" | "NonExistentQueue")
    )
}

/// A message's attributes as SQS string attributes.
fn message_attributes(
    operation: &'static str,
    message: &OutgoingMessage,
) -> std::result::Result<Vec<(String, MessageAttributeValue)>, AwsError> {
    message
        .attributes
        .iter()
        .map(|(k, v)| {
            MessageAttributeValue::builder()
                .data_type("String")
                .string_value(v)
                .build()
                .map(|value| (k.clone(), value))
                .map_err(|e| AwsError::request("sqs", operation, format!("attribute {k:?}: {e}")))
        })
        .collect()
}

fn secs_i32(d: Duration, max: u64) -> i32 {
    i32::try_from(d.as_secs().min(max)).unwrap_or(i32::MAX)
}

impl AwsBackend {
    fn cached_queue_url(&self, queue: &str) -> Option<String> {
        self.inner
            .queue_urls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(queue)
            .cloned()
    }

    fn cache_queue_url(&self, queue: &str, url: &str) {
        self.inner
            .queue_urls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(queue.to_owned(), url.to_owned());
    }

    fn missing_queue(&self, operation: &'static str, queue: &str) -> AwsError {
        AwsError::MissingResource {
            service: "sqs",
            operation,
            what: "SQS queue",
            name: queue.to_owned(),
            env: self.inner.env.clone(),
        }
    }

    /// The URL of a queue by name; a missing queue is an error that says to
    /// run `create-resources`.
    pub(crate) async fn queue_url(&self, queue: &str) -> Result<String, AwsError> {
        if let Some(url) = self.cached_queue_url(queue) {
            return Ok(url);
        }
        match self.lookup_queue_url(queue).await? {
            Some(url) => Ok(url),
            None => Err(self.missing_queue("GetQueueUrl", queue)),
        }
    }

    /// The URL of a queue by name, `None` if there is no such queue.
    pub(crate) async fn lookup_queue_url(&self, queue: &str) -> Result<Option<String>, AwsError> {
        const OP: &str = "GetQueueUrl";
        let sqs = &self.inner.sqs;
        match self
            .call("sqs", OP, queue, || {
                sqs.get_queue_url().queue_name(queue).send()
            })
            .await
        {
            Ok(out) => {
                let url = out.queue_url().unwrap_or_default().to_owned();
                self.cache_queue_url(queue, &url);
                Ok(Some(url))
            }
            Err(e) if is_missing_queue(error_code(&e)) => Ok(None),
            Err(e) => Err(call_error("sqs", OP, queue, e)),
        }
    }

    /// Map an error of a call on an existing queue: a queue deleted under us
    /// gets the create-resources hint, and its cached URL is forgotten.
    fn queue_error<E>(
        &self,
        operation: &'static str,
        queue: &str,
        err: aws_smithy_runtime_api::client::result::SdkError<
            E,
            aws_smithy_runtime_api::client::orchestrator::HttpResponse,
        >,
    ) -> AwsError
    where
        E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
    {
        if is_missing_queue(error_code(&err)) {
            self.inner
                .queue_urls
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(queue);
            return self.missing_queue(operation, queue);
        }
        call_error("sqs", operation, queue, err)
    }

    pub(crate) async fn queue_attributes(
        &self,
        queue: &str,
        names: &[QueueAttributeName],
    ) -> Result<BTreeMap<String, String>, AwsError> {
        const OP: &str = "GetQueueAttributes";
        let url = self.queue_url(queue).await?;
        let sqs = &self.inner.sqs;
        let out = self
            .call("sqs", OP, queue, || {
                sqs.get_queue_attributes()
                    .queue_url(&url)
                    .set_attribute_names(Some(names.to_vec()))
                    .send()
            })
            .await
            .map_err(|e| self.queue_error(OP, queue, e))?;
        Ok(out
            .attributes()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.as_str().to_owned(), v.clone()))
                    .collect()
            })
            .unwrap_or_default())
    }

    pub(crate) async fn set_queue_attribute(
        &self,
        queue: &str,
        name: QueueAttributeName,
        value: &str,
    ) -> Result<(), AwsError> {
        const OP: &str = "SetQueueAttributes";
        let url = self.queue_url(queue).await?;
        let sqs = &self.inner.sqs;
        self.call("sqs", OP, queue, || {
            sqs.set_queue_attributes()
                .queue_url(&url)
                .attributes(name.clone(), value)
                .send()
        })
        .await
        .map_err(|e| self.queue_error(OP, queue, e))?;
        Ok(())
    }

    /// The queue's ARN (for redrive and access policies).
    pub(crate) async fn queue_arn(&self, queue: &str) -> Result<String, AwsError> {
        let attrs = self
            .queue_attributes(queue, &[QueueAttributeName::QueueArn])
            .await?;
        attrs
            .get("QueueArn")
            .cloned()
            .ok_or_else(|| AwsError::Call {
                service: "sqs",
                operation: "GetQueueAttributes",
                resource: queue.to_owned(),
                code: None,
                retryable: false,
                message: "no QueueArn in the answer".into(),
            })
    }

    /// Create a queue if missing (no attributes: an existing queue is left as it is).
    /// `Ok(true)` if it was created.
    async fn create_plain_queue(
        &self,
        queue: &str,
        attributes: &[(QueueAttributeName, &str)],
    ) -> Result<bool, AwsError> {
        const OP: &str = "CreateQueue";
        if self.lookup_queue_url(queue).await?.is_some() {
            return Ok(false);
        }
        let sqs = &self.inner.sqs;
        let r = self
            .call("sqs", OP, queue, || {
                let mut req = sqs.create_queue().queue_name(queue);
                for (k, v) in attributes {
                    req = req.attributes(k.clone(), *v);
                }
                req.send()
            })
            .await;
        match r {
            Ok(out) => {
                self.cache_queue_url(queue, out.queue_url().unwrap_or_default());
                Ok(true)
            }
            // Created by someone else in between, with other attributes: it exists, fine.
            Err(e)
                if matches!(
                    error_code(&e),
                    Some("QueueAlreadyExists" | "QueueNameExists")
                ) =>
            {
                self.queue_url(queue).await?;
                Ok(false)
            }
            Err(e) => Err(call_error("sqs", OP, queue, e)),
        }
    }

    /// Make sure a queue and its dead-letter queue exist and the redrive
    /// policy sends a message to the DLQ after `max_receives` receives.
    /// Returns what was changed (empty when everything was already so).
    pub(crate) async fn ensure_queue(
        &self,
        queue: &str,
        max_receives: u32,
    ) -> Result<Vec<String>, AwsError> {
        let mut changes = Vec::new();
        let dlq = dead_letter_queue_name(queue);
        if self
            .create_plain_queue(
                &dlq,
                &[(
                    QueueAttributeName::MessageRetentionPeriod,
                    DLQ_RETENTION_SECS,
                )],
            )
            .await?
        {
            changes.push(format!("created queue {dlq}"));
        }
        if self.create_plain_queue(queue, &[]).await? {
            changes.push(format!("created queue {queue}"));
        }
        let same = self.redrive_is(queue, &dlq, max_receives).await?;
        let dlq_arn = self.queue_arn(&dlq).await?;
        let wanted = serde_json::json!({
            "deadLetterTargetArn": dlq_arn,
            "maxReceiveCount": max_receives,
        });
        if !same {
            self.set_queue_attribute(
                queue,
                QueueAttributeName::RedrivePolicy,
                &wanted.to_string(),
            )
            .await?;
            changes.push(format!(
                "set redrive policy of {queue}: to {dlq} after {max_receives} receives"
            ));
        }
        Ok(changes)
    }

    /// Whether `queue` already moves messages to `dlq` after `max_receives` receives.
    pub(crate) async fn redrive_is(
        &self,
        queue: &str,
        dlq: &str,
        max_receives: u32,
    ) -> Result<bool, AwsError> {
        let dlq_arn = self.queue_arn(dlq).await?;
        let current = self
            .queue_attributes(queue, &[QueueAttributeName::RedrivePolicy])
            .await?
            .remove("RedrivePolicy")
            .and_then(|p| serde_json::from_str::<serde_json::Value>(&p).ok());
        Ok(current.as_ref().is_some_and(|c| {
            c.get("deadLetterTargetArn").and_then(|v| v.as_str()) == Some(dlq_arn.as_str())
                && c.get("maxReceiveCount").and_then(|v| {
                    v.as_u64()
                        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                }) == Some(u64::from(max_receives))
        }))
    }

    /// Allow S3 to send a bucket's events to a queue: one statement per
    /// bucket (Sid `pressbot-s3-<bucket>`), merged into the queue's policy
    /// so several buckets can feed one queue. Returns whether it changed.
    pub(crate) async fn ensure_s3_send_policy(
        &self,
        queue: &str,
        queue_arn: &str,
        bucket_arn: &str,
        bucket: &str,
    ) -> Result<bool, AwsError> {
        let current = self
            .queue_attributes(queue, &[QueueAttributeName::Policy])
            .await?
            .remove("Policy");
        let sid = format!("pressbot-s3-{bucket}");
        let statement = serde_json::json!({
            "Sid": sid,
            "Effect": "Allow",
            "Principal": { "Service": "s3.amazonaws.com" },
            "Action": "SQS:SendMessage",
            "Resource": queue_arn,
            "Condition": { "ArnLike": { "aws:SourceArn": bucket_arn } },
        });
        let mut policy = current
            .as_deref()
            .and_then(|p| serde_json::from_str::<serde_json::Value>(p).ok())
            .filter(|p| p.get("Statement").is_some_and(|s| s.is_array()))
            .unwrap_or_else(|| serde_json::json!({ "Version": "2012-10-17", "Statement": [] }));
        let statements = policy["Statement"].as_array_mut().expect("checked above");
        match statements
            .iter_mut()
            .find(|s| s.get("Sid") == Some(&serde_json::Value::String(sid.clone())))
        {
            Some(existing) if *existing == statement => return Ok(false),
            Some(existing) => *existing = statement,
            None => statements.push(statement),
        }
        self.set_queue_attribute(queue, QueueAttributeName::Policy, &policy.to_string())
            .await?;
        Ok(true)
    }
}

#[async_trait]
impl QueueService for AwsBackend {
    async fn receive(
        &self,
        queue: &str,
        max: usize,
        wait: Duration,
        visibility: Duration,
    ) -> Result<Vec<ReceivedMessage>> {
        const OP: &str = "ReceiveMessage";
        let url = self.queue_url(queue).await?;
        let sqs = &self.inner.sqs;
        let max = i32::try_from(max.clamp(1, 10)).unwrap_or(10);
        let wait = secs_i32(wait, SQS_MAX_WAIT.as_secs());
        let visibility = secs_i32(visibility, 43_200);
        let out = self
            .call("sqs", OP, queue, || {
                sqs.receive_message()
                    .queue_url(&url)
                    .max_number_of_messages(max)
                    .wait_time_seconds(wait)
                    .visibility_timeout(visibility)
                    .message_attribute_names("All")
                    .message_system_attribute_names(
                        MessageSystemAttributeName::ApproximateReceiveCount,
                    )
                    .message_system_attribute_names(MessageSystemAttributeName::SentTimestamp)
                    .send()
            })
            .await
            .map_err(|e| self.queue_error(OP, queue, e))?;
        let messages = out
            .messages()
            .iter()
            .map(|m| {
                let system = m.attributes();
                let sys = |k: MessageSystemAttributeName| system.and_then(|a| a.get(&k));
                ReceivedMessage {
                    id: m.message_id().unwrap_or_default().to_owned(),
                    receipt: m.receipt_handle().unwrap_or_default().to_owned(),
                    body: m.body().unwrap_or_default().to_owned(),
                    attributes: m
                        .message_attributes()
                        .map(|a| {
                            a.iter()
                                .filter_map(|(k, v)| {
                                    v.string_value().map(|s| (k.clone(), s.to_owned()))
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                    receive_count: sys(MessageSystemAttributeName::ApproximateReceiveCount)
                        .and_then(|c| c.parse().ok())
                        .unwrap_or(1),
                    sent: sys(MessageSystemAttributeName::SentTimestamp)
                        .and_then(|t| t.parse().ok())
                        .map(Timestamp)
                        .unwrap_or_else(Timestamp::now),
                }
            })
            .collect();
        Ok(messages)
    }

    async fn send(&self, queue: &str, message: OutgoingMessage) -> Result<String> {
        const OP: &str = "SendMessage";
        let url = self.queue_url(queue).await?;
        let sqs = &self.inner.sqs;
        let attributes = message_attributes(OP, &message)?;
        let delay = message.delay.map(|d| secs_i32(d, 900));
        let out = self
            .call("sqs", OP, queue, || {
                let mut req = sqs
                    .send_message()
                    .queue_url(&url)
                    .message_body(&message.body)
                    .set_delay_seconds(delay);
                for (k, v) in &attributes {
                    req = req.message_attributes(k, v.clone());
                }
                req.send()
            })
            .await
            .map_err(|e| self.queue_error(OP, queue, e))?;
        Ok(out.message_id().unwrap_or_default().to_owned())
    }

    /// `SendMessageBatch`, [`SEND_BATCH_MAX`] messages per request.
    async fn send_batch(
        &self,
        queue: &str,
        messages: Vec<OutgoingMessage>,
    ) -> Result<Vec<Result<String>>> {
        const OP: &str = "SendMessageBatch";
        let url = self.queue_url(queue).await?;
        let sqs = &self.inner.sqs;
        let mut outcomes = Vec::with_capacity(messages.len());
        for chunk in messages.chunks(SEND_BATCH_MAX) {
            let mut entries = Vec::with_capacity(chunk.len());
            for (i, message) in chunk.iter().enumerate() {
                let mut entry = SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(&message.body)
                    .set_delay_seconds(message.delay.map(|d| secs_i32(d, 900)));
                for (k, v) in message_attributes(OP, message)? {
                    entry = entry.message_attributes(k, v);
                }
                entries.push(entry.build().map_err(|e| {
                    AwsError::request("sqs", OP, format!("entry {i} for {queue}: {e}"))
                })?);
            }
            let out = self
                .call("sqs", OP, queue, || {
                    sqs.send_message_batch()
                        .queue_url(&url)
                        .set_entries(Some(entries.clone()))
                        .send()
                })
                .await
                .map_err(|e| self.queue_error(OP, queue, e))?;
            // Entries are answered by id, in no particular order.
            let mut chunk_outcomes: Vec<Option<Result<String>>> =
                std::iter::repeat_with(|| None).take(chunk.len()).collect();
            let answers = out
                .successful()
                .iter()
                .map(|ok| (ok.id(), Ok(ok.message_id().to_owned())))
                .chain(out.failed().iter().map(|failed| {
                    let refused = AwsError::Call {
                        service: "sqs",
                        operation: OP,
                        resource: queue.to_owned(),
                        code: Some(failed.code().to_owned()),
                        retryable: !failed.sender_fault(),
                        message: failed.message().unwrap_or("entry refused").to_owned(),
                    };
                    (failed.id(), Err(refused.into()))
                }));
            for (id, answer) in answers {
                if let Some(slot) = id
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| chunk_outcomes.get_mut(i))
                {
                    *slot = Some(answer);
                }
            }
            outcomes.extend(chunk_outcomes.into_iter().map(|o| {
                o.unwrap_or_else(|| {
                    Err(AwsError::request(
                        "sqs",
                        OP,
                        format!("no answer for an entry sent to {queue}"),
                    )
                    .into())
                })
            }));
        }
        Ok(outcomes)
    }

    async fn delete(&self, queue: &str, receipt: &str) -> Result<()> {
        const OP: &str = "DeleteMessage";
        let url = self.queue_url(queue).await?;
        let sqs = &self.inner.sqs;
        self.call("sqs", OP, queue, || {
            sqs.delete_message()
                .queue_url(&url)
                .receipt_handle(receipt)
                .send()
        })
        .await
        .map_err(|e| self.queue_error(OP, queue, e))?;
        Ok(())
    }

    async fn change_visibility(
        &self,
        queue: &str,
        receipt: &str,
        visibility: Duration,
    ) -> Result<()> {
        const OP: &str = "ChangeMessageVisibility";
        let url = self.queue_url(queue).await?;
        let sqs = &self.inner.sqs;
        let secs = secs_i32(visibility, 43_200);
        self.call("sqs", OP, queue, || {
            sqs.change_message_visibility()
                .queue_url(&url)
                .receipt_handle(receipt)
                .visibility_timeout(secs)
                .send()
        })
        .await
        .map_err(|e| self.queue_error(OP, queue, e))?;
        Ok(())
    }

    async fn depth(&self, queue: &str) -> Result<QueueDepth> {
        let attrs = self
            .queue_attributes(
                queue,
                &[
                    QueueAttributeName::ApproximateNumberOfMessages,
                    QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
                    QueueAttributeName::ApproximateNumberOfMessagesDelayed,
                ],
            )
            .await?;
        let n = |k: &str| attrs.get(k).and_then(|v| v.parse().ok()).unwrap_or(0);
        Ok(QueueDepth {
            visible: n("ApproximateNumberOfMessages"),
            in_flight: n("ApproximateNumberOfMessagesNotVisible"),
            delayed: n("ApproximateNumberOfMessagesDelayed"),
        })
    }

    async fn create_queue(&self, queue: &str, max_receives: u32) -> Result<()> {
        for change in self.ensure_queue(queue, max_receives).await? {
            tracing::info!(queue, change = %change, "queue changed");
        }
        Ok(())
    }
}
