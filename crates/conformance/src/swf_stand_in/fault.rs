//! SWF's error answers: `{"__type": "...#<Code>", "message": ...}` with
//! the status SWF uses, or moto's HTML 500 page under [`MotoQuirks`].

use super::*;

/// An SWF error answer.
#[derive(Debug)]
pub(crate) struct Fault {
    pub(super) status: StatusCode,
    pub(super) code: String,
    pub(super) message: String,
    /// moto's HTML 500 page instead of JSON ([`MotoQuirks`]).
    pub(super) html: bool,
}

impl Fault {
    /// A fault of SWF's own model (`UnknownResourceFault`, ...).
    pub(super) fn swf(code: &str, message: impl Into<String>) -> Fault {
        Fault {
            status: StatusCode::BAD_REQUEST,
            code: format!("com.amazonaws.swf.base.model#{code}"),
            message: message.into(),
            html: false,
        }
    }

    pub(super) fn unknown(message: impl Into<String>) -> Fault {
        Fault::swf("UnknownResourceFault", message)
    }

    pub(super) fn validation(message: impl Into<String>) -> Fault {
        Fault {
            status: StatusCode::BAD_REQUEST,
            code: "com.amazon.coral.validate#ValidationException".into(),
            message: message.into(),
            html: false,
        }
    }

    pub(super) fn unknown_operation(message: impl Into<String>) -> Fault {
        Fault {
            status: StatusCode::BAD_REQUEST,
            code: "com.amazon.coral.service#UnknownOperationException".into(),
            message: message.into(),
            html: false,
        }
    }

    pub(super) fn internal(message: impl Into<String>) -> Fault {
        Fault {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "com.amazon.coral.service#InternalFailure".into(),
            message: message.into(),
            html: false,
        }
    }

    /// A core error from the embedded backend, for a call with no better
    /// name for what was not found.
    pub(super) fn from_core(e: Error) -> Fault {
        match e {
            Error::UnknownTask { operation } => {
                Fault::unknown(format!("Unknown task token ({operation})"))
            }
            Error::NotFound { what, .. } => Fault::unknown(format!("Unknown {what}")),
            e if e.is_retryable() => Fault::internal(e.to_string()),
            e => Fault::validation(e.to_string()),
        }
    }
}

impl IntoResponse for Fault {
    fn into_response(self) -> Response {
        if self.html {
            let page = "<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n\
                        <h1>Internal Server Error</h1>\n<p>The server encountered an internal error \
                        and was unable to complete your request.</p>\n";
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                page,
            )
                .into_response();
        }
        let body = json!({ "__type": self.code, "message": self.message });
        (
            self.status,
            [(header::CONTENT_TYPE, "application/x-amz-json-1.0")],
            body.to_string(),
        )
            .into_response()
    }
}
