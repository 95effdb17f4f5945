//! The activities crate's one error type.
//!
//! Every variant names the operation and the file, entry, element or key it
//! is about, because these messages end up in SWF failure details and the
//! dashboard: an operator must be able to act on the message alone.

use pressbot_core::activity::ActivityFailure;

/// Everything the publishing activities can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A package (zip) name that does not follow the naming convention.
    #[error("package name {name:?}: {problem}")]
    PackageName { name: String, problem: String },

    /// The zip's central directory or an entry cannot be read.
    #[error("{package}: corrupt zip{}: {message}", entry.as_ref().map(|e| format!(" (entry {e:?})")).unwrap_or_default())]
    CorruptZip {
        package: String,
        entry: Option<String>,
        message: String,
    },

    /// An entry that would escape the target folder or is not a plain file.
    #[error("{package}: entry {entry:?} refused: {reason}")]
    UnsafeEntry {
        package: String,
        entry: String,
        reason: &'static str,
    },

    /// Two entries in different folders of the zip with the same file name:
    /// the expanded folder is flat (files are the package's by file name),
    /// so one would silently replace the other.
    #[error("{package}: duplicate file name {file_name:?}: entries {first:?} and {second:?}")]
    DuplicateFileName {
        package: String,
        file_name: String,
        first: String,
        second: String,
    },

    /// A zip safety limit (size, entries, compression ratio) was exceeded.
    #[error("{package}: {limit} limit exceeded{}: {value} > {max}", entry.as_ref().map(|e| format!(" at entry {e:?}")).unwrap_or_default())]
    ZipLimit {
        package: String,
        entry: Option<String>,
        limit: &'static str,
        value: u64,
        max: u64,
    },

    /// A package larger than `activities.max_package_bytes`, refused on
    /// its metadata before it is downloaded (or, if it changed meanwhile,
    /// on the bytes downloaded). Permanent: the same package stays too large.
    #[error("{package}: package is {size} bytes, above the limit of {max} bytes (activities.max_package_bytes)")]
    PackageTooLarge {
        package: String,
        size: u64,
        max: u64,
    },

    /// A local temporary file (the downloaded package, an unzipped entry)
    /// could not be created, written or read. Retryable: it is this
    /// worker's disk (full, read-only), not the package.
    #[error("{package}: temporary file ({operation}): {message}")]
    TempFile {
        package: String,
        operation: &'static str,
        message: String,
    },

    /// A figure whose header claims more pixels than the settings allow,
    /// refused before it is decoded (a "decompression bomb" is a few bytes
    /// claiming gigapixels). Permanent.
    #[error("{file}: image is {width} × {height} pixels, {limit} {value} is above the limit of {max} (activities.{setting})")]
    ImageTooLarge {
        file: String,
        width: u32,
        height: u32,
        limit: &'static str,
        value: u64,
        max: u64,
        setting: &'static str,
    },

    /// A package without the article's JATS XML file.
    #[error("{package}: no JATS XML file (expected one `*.xml` entry at the top level)")]
    NoXml { package: String },

    /// XML that is not well-formed, or that uses a DTD feature we refuse
    /// (entity declarations, unknown entity references).
    #[error("{file}: malformed XML at byte {position}: {message}")]
    Xml {
        file: String,
        position: u64,
        message: String,
    },

    /// The converter refused the XML (its message names file and element).
    #[error(transparent)]
    Convert(#[from] pressbot_jats::Error),

    /// The XML is another article than the package's name says.
    #[error(
        "{xml_file} is article {xml_id}, but the package {package} names article {package_id}"
    )]
    ArticleIdMismatch {
        xml_file: String,
        xml_id: String,
        package: String,
        package_id: String,
    },

    /// A required JATS element is absent or empty.
    #[error("{file}: missing required element {element}")]
    MissingElement { file: String, element: String },

    /// A JATS element whose content cannot be used.
    #[error("{file}: invalid {element}: {message}")]
    InvalidElement {
        file: String,
        element: String,
        message: String,
    },

    /// An image that cannot be decoded or encoded.
    #[error("{file}: image {operation} failed: {message}")]
    Image {
        file: String,
        operation: &'static str,
        message: String,
    },

    /// The object store failed.
    #[error("object store {operation} {bucket}/{key}: {source}")]
    Store {
        operation: &'static str,
        bucket: String,
        key: String,
        /// Boxed: core's error is large and this enum travels in every `Result`.
        #[source]
        source: Box<pressbot_core::Error>,
    },

    /// A manifest (the per-file lists kept in the expanded bucket instead of
    /// the workflow context) that is missing or does not parse. Permanent:
    /// the step that should have written it has already completed.
    #[error("manifest {key}: {problem}")]
    Manifest { key: String, problem: String },

    /// The workflow context lacks a key or holds the wrong type.
    #[error("workflow context key `{key}`: {problem}")]
    Context { key: String, problem: String },

    /// A settings value the activity needs is missing (e.g. an unknown bucket role).
    #[error("settings {key}: {problem}")]
    Settings { key: String, problem: String },

    /// The attempt was cancelled (service request or worker shutdown).
    #[error("cancelled during {operation}")]
    Cancelled { operation: String },

    /// A CPU task (spawn_blocking) panicked or was aborted.
    #[error("background task for {operation} failed: {message}")]
    Task { operation: String, message: String },
}

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Whether trying the attempt again could succeed: only transient backend
    /// errors, cancellation (the worker hands the task back) and crashed tasks.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Store { source, .. } => source.is_retryable(),
            Error::Cancelled { .. } | Error::Task { .. } | Error::TempFile { .. } => true,
            _ => false,
        }
    }

    /// Shorthand for a store error.
    pub fn store(
        operation: &'static str,
        bucket: &str,
        key: &str,
        source: pressbot_core::Error,
    ) -> Self {
        Error::Store {
            operation,
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            source: Box::new(source),
        }
    }

    /// Shorthand for a context error.
    pub fn context(key: &str, problem: impl Into<String>) -> Self {
        Error::Context {
            key: key.to_owned(),
            problem: problem.into(),
        }
    }
}

impl From<Error> for ActivityFailure {
    fn from(e: Error) -> Self {
        if e.is_retryable() {
            ActivityFailure::retryable(e.to_string())
        } else {
            ActivityFailure::permanent(e.to_string())
        }
    }
}
