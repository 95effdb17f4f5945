//! The converter's one error type: what makes a document unusable.
//!
//! Everything the converter can go on from is a [`crate::Warning`] instead;
//! an error is only for a document that cannot become schema-valid
//! article-json. Each variant names the file and the element path, because
//! the message ends up in the workflow's failure reason.

/// Why a JATS document could not be converted.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// XML that is not well-formed, or that uses a DTD feature we refuse
    /// (entity declarations, unknown entity references).
    #[error("{file}: malformed XML at byte {position}: {message}")]
    Xml {
        file: String,
        position: u64,
        message: String,
    },

    /// An element the article-json model requires is absent or empty.
    #[error("{file}: missing required element {element}")]
    MissingElement { file: String, element: String },

    /// An element whose content cannot be used.
    #[error("{file}: invalid {element}: {message}")]
    InvalidElement {
        file: String,
        element: String,
        message: String,
    },
}

/// The converter's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
