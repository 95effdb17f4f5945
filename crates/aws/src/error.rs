//! The crate's one error type, and how SDK errors are classified.
//!
//! Every variant names the service, the operation and the resource, so a
//! log line alone tells an operator what failed where. Conversion into
//! [`pressbot_core::Error`] keeps that context, because the daemons only
//! ever see the core type through the backend traits.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// Everything that can go wrong in the AWS backend.
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    /// A call to SWF, SQS or S3 failed.
    #[error("{service} {operation} on {resource}: {message}")]
    Call {
        service: &'static str,
        operation: &'static str,
        resource: String,
        /// The service's error code (`ThrottlingException`, `NoSuchKey`...), when it sent one.
        code: Option<String>,
        /// Throttling, 5xx, timeouts and dropped connections.
        retryable: bool,
        message: String,
    },

    /// The credentials may not make this call: the role's IAM policy lacks
    /// `action`. Its own variant so the log line names the IAM action to
    /// grant (S3 answers a bare 403 that names nothing, and an operation's
    /// name is not always its action's: `HeadObject` is `s3:GetObject`).
    #[error("{service} {operation} on {resource}: access denied: the IAM policy of these credentials must allow {action} (scripts/iam/): {message}")]
    AccessDenied {
        service: &'static str,
        operation: &'static str,
        resource: String,
        /// The IAM action(s) the call needs, e.g. `sqs:SendMessage`.
        action: String,
        message: String,
    },

    /// A domain, queue or bucket that `create-resources` should have made.
    #[error("{what} {name:?} does not exist ({service} {operation}); run `pressbot create-resources --env {env}`")]
    MissingResource {
        service: &'static str,
        operation: &'static str,
        what: &'static str,
        name: String,
        env: String,
    },

    /// A named thing (object, execution) does not exist.
    #[error("{what} not found: {name}")]
    NotFound { what: &'static str, name: String },

    /// A task token the service no longer knows (timed out, completed, or its execution closed).
    #[error("unknown or expired task token ({operation})")]
    UnknownTask { operation: &'static str },

    /// A value from the service that cannot be mapped to core's types.
    #[error("swf {operation}: cannot read {field} of event {event_id}: {message}")]
    Mapping {
        operation: &'static str,
        event_id: i64,
        field: &'static str,
        message: String,
    },

    /// A value of ours the SDK refuses to build a request from.
    #[error("{service} {operation}: invalid request: {message}")]
    Request {
        service: &'static str,
        operation: &'static str,
        message: String,
    },

    /// Settings the backend cannot work with.
    #[error("invalid settings: {key}: {message}")]
    Settings { key: String, message: String },

    /// A lease object that cannot be read or kept (unreadable record, a
    /// takeover that kept racing). `retryable` when trying again can help.
    #[error("s3 {operation} on {resource}: {message}")]
    Lease {
        operation: &'static str,
        resource: String,
        retryable: bool,
        message: String,
    },
}

impl AwsError {
    /// Whether a caller should back off and retry.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            AwsError::Call {
                retryable: true,
                ..
            } | AwsError::Lease {
                retryable: true,
                ..
            }
        )
    }

    /// The service's error code, if this is a failed call that carried one.
    pub fn code(&self) -> Option<&str> {
        match self {
            AwsError::Call { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    pub(crate) fn request(
        service: &'static str,
        operation: &'static str,
        message: impl std::fmt::Display,
    ) -> Self {
        AwsError::Request {
            service,
            operation,
            message: message.to_string(),
        }
    }
}

impl From<AwsError> for pressbot_core::Error {
    fn from(e: AwsError) -> Self {
        use pressbot_core::Error as E;
        // Variants without a core twin keep their whole text as the message.
        let text = e.to_string();
        match e {
            AwsError::Call {
                service,
                operation,
                resource,
                code,
                retryable,
                message,
            } => E::Backend {
                service,
                operation,
                resource,
                retryable,
                message: match code {
                    Some(code) if !message.contains(&code) => format!("{code}: {message}"),
                    _ => message,
                },
            },
            AwsError::AccessDenied {
                service,
                operation,
                resource,
                ..
            } => E::Backend {
                service,
                operation,
                resource,
                retryable: false,
                message: text,
            },
            AwsError::MissingResource {
                service,
                operation,
                name,
                ..
            } => E::Backend {
                service,
                operation,
                resource: name,
                retryable: false,
                message: text,
            },
            AwsError::NotFound { what, name } => E::NotFound { what, name },
            AwsError::UnknownTask { operation } => E::UnknownTask { operation },
            AwsError::Mapping { operation, .. } => E::Backend {
                service: "swf",
                operation,
                resource: String::new(),
                retryable: false,
                message: text,
            },
            AwsError::Request {
                service,
                operation,
                message,
            } => E::Backend {
                service,
                operation,
                resource: String::new(),
                retryable: false,
                message,
            },
            AwsError::Settings { key, message } => E::Settings { key, message },
            AwsError::Lease {
                operation,
                resource,
                retryable,
                message,
            } => E::Backend {
                service: "s3",
                operation,
                resource,
                retryable,
                message,
            },
        }
    }
}

/// Error codes that mean "slow down", across SWF, SQS and S3.
const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "SlowDown",
    "RequestThrottled",
    "AWS.SimpleQueueService.RequestThrottled",
    "PriorRequestNotComplete",
    "RequestTimeout",
    "RequestTimeoutException",
    "InternalError",
    "InternalFailure",
    "ServiceUnavailable",
];

/// Whether an SDK error is worth retrying: throttling, 5xx, timeouts,
/// dropped connections and truncated responses. Everything else (bad
/// input, unknown resource, access denied) fails the same way every time.
pub(crate) fn is_retryable<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> bool {
    match err {
        SdkError::TimeoutError(_) | SdkError::ResponseError(_) => true,
        // I/O and timeouts only: "other" is where missing credentials and
        // bad endpoints land, which no retry fixes.
        // The SDK files a response cut mid-way (hyper's IncompleteMessage,
        // also what a reset mid-request looks like) as "other, transient".
        SdkError::DispatchFailure(f) => {
            f.is_io()
                || f.is_timeout()
                || f.as_other() == Some(aws_smithy_types::retry::ErrorKind::TransientError)
        }
        SdkError::ServiceError(s) => {
            let status = s.raw().status().as_u16();
            status >= 500
                || status == 429
                || s.err()
                    .code()
                    .is_some_and(|c| THROTTLING_CODES.contains(&c))
        }
        _ => false,
    }
}

/// The service's error code, if any.
pub(crate) fn error_code<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> Option<&str> {
    match err {
        SdkError::ServiceError(s) => s.err().code(),
        _ => None,
    }
}

/// An SDK error as an [`AwsError::Call`], with the most useful message we
/// can find (the service's message, else the whole error chain).
pub(crate) fn call_error<E>(
    service: &'static str,
    operation: &'static str,
    resource: impl Into<String>,
    err: SdkError<E, HttpResponse>,
) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let retryable = is_retryable(&err);
    let (code, message) = match &err {
        SdkError::ServiceError(s) => {
            let status = s.raw().status().as_u16();
            let code = s.err().code().map(str::to_owned);
            let msg = s
                .err()
                .message()
                .map(str::to_owned)
                .unwrap_or_else(|| error_chain(&err));
            (code, format!("{msg} (HTTP {status})"))
        }
        SdkError::DispatchFailure(_) => {
            let chain = error_chain(&err);
            let hint = if chain.contains("credential") {
                " (the standard chain found no credentials: set AWS_ACCESS_KEY_ID and \
                 AWS_SECRET_ACCESS_KEY, or aws.profile / AWS_PROFILE, or run with an \
                 instance or task role)"
            } else {
                ""
            };
            (None, format!("{chain}{hint}"))
        }
        _ => (None, error_chain(&err)),
    };
    if is_access_denied(&err) {
        return AwsError::AccessDenied {
            service,
            operation,
            resource: resource.into(),
            action: iam_action(service, operation),
            message,
        };
    }
    AwsError::Call {
        service,
        operation,
        resource: resource.into(),
        code,
        retryable,
        message,
    }
}

/// Codes of a refused authorization (not of bad or unknown credentials,
/// which no policy change fixes).
const ACCESS_DENIED_CODES: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "AuthorizationError",
    "UnauthorizedOperation",
    "Forbidden",
];

/// Whether the service refused the call for want of permission: one of
/// [`ACCESS_DENIED_CODES`], or a 403 without a code (S3 answers a HEAD with
/// an empty body).
fn is_access_denied<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> bool {
    match err {
        SdkError::ServiceError(s) => match s.err().code() {
            Some(code) => ACCESS_DENIED_CODES.contains(&code),
            None => s.raw().status().as_u16() == 403,
        },
        _ => false,
    }
}

/// The IAM action an operation needs. Mostly `service:Operation`; where
/// IAM names it otherwise (batch calls, S3's HEADs and listings) the
/// action a policy must hold, so a refusal tells an operator exactly what
/// to add to the role's document in `scripts/iam/`.
pub fn iam_action(service: &str, operation: &str) -> String {
    let action = match (service, operation) {
        ("sqs", "SendMessageBatch") => "SendMessage",
        ("sqs", "DeleteMessageBatch") => "DeleteMessage",
        ("sqs", "ChangeMessageVisibilityBatch") => "ChangeMessageVisibility",
        ("s3", "HeadObject") => "GetObject",
        ("s3", "CopyObject") => return "s3:GetObject (source) and s3:PutObject".into(),
        ("s3", "HeadBucket" | "ListObjectsV2" | "ListObjects") => "ListBucket",
        ("s3", "GetBucketNotificationConfiguration") => "GetBucketNotification",
        ("s3", "PutBucketNotificationConfiguration") => "PutBucketNotification",
        _ => operation,
    };
    format!("{service}:{action}")
}

/// `err: cause: cause...`, because the SDK's top-level Display is often just
/// "dispatch failure" with the reason two sources down.
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    fn service_error(
        status: u16,
        code: &str,
    ) -> SdkError<
        aws_sdk_swf::operation::poll_for_decision_task::PollForDecisionTaskError,
        HttpResponse,
    > {
        let err = aws_sdk_swf::operation::poll_for_decision_task::PollForDecisionTaskError::generic(
            if code.is_empty() {
                ErrorMetadata::builder().message("boom").build()
            } else {
                ErrorMetadata::builder().code(code).message("boom").build()
            },
        );
        let raw = HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::empty());
        SdkError::service_error(err, raw)
    }

    #[test]
    fn throttling_and_5xx_are_retryable_others_not() {
        assert!(is_retryable(&service_error(400, "ThrottlingException")));
        assert!(is_retryable(&service_error(503, "ServiceUnavailable")));
        assert!(is_retryable(&service_error(500, "Whatever")));
        assert!(!is_retryable(&service_error(400, "UnknownResourceFault")));
        assert!(!is_retryable(&service_error(403, "AccessDenied")));
    }

    #[test]
    fn call_error_keeps_code_operation_and_resource() {
        let e = call_error(
            "swf",
            "PollForDecisionTask",
            "dom/tl",
            service_error(400, "X"),
        );
        assert_eq!(e.code(), Some("X"));
        let core: pressbot_core::Error = e.into();
        let text = core.to_string();
        assert!(
            text.contains("PollForDecisionTask")
                && text.contains("dom/tl")
                && text.contains("X: boom"),
            "{text}"
        );
        assert!(!core.is_retryable());
    }

    #[test]
    fn access_denied_names_the_iam_action() {
        let e = call_error(
            "sqs",
            "SendMessageBatch",
            "q",
            service_error(400, "AccessDenied"),
        );
        assert!(matches!(e, AwsError::AccessDenied { .. }), "{e:?}");
        let text = pressbot_core::Error::from(e).to_string();
        assert!(text.contains("sqs:SendMessage "), "{text}");
        // A bare S3 403 (a HEAD has no body) is a refusal too.
        let e = call_error("s3", "HeadObject", "s3://b/k", service_error(403, ""));
        assert!(e.to_string().contains("allow s3:GetObject"), "{e}");
        // Bad keys are not a policy matter.
        let e = call_error(
            "sqs",
            "GetQueueUrl",
            "q",
            service_error(403, "InvalidClientTokenId"),
        );
        assert!(matches!(e, AwsError::Call { .. }), "{e:?}");
    }

    #[test]
    fn missing_resource_says_how_to_fix_it() {
        let e = AwsError::MissingResource {
            service: "sqs",
            operation: "GetQueueUrl",
            what: "queue",
            name: "dev-incoming".into(),
            env: "dev".into(),
        };
        let core: pressbot_core::Error = e.into();
        assert!(
            core.to_string()
                .contains("run `pressbot create-resources --env dev`"),
            "{core}"
        );
    }
}
