//! Identifiers shared by every backend.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            /// The id as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                $name(s.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                $name(s)
            }
        }
    };
}

string_id!(
    /// A workflow id: chosen by the starter, unique among open executions.
    WorkflowId
);
string_id!(
    /// A run id: chosen by the service, unique per execution.
    RunId
);
string_id!(
    /// An opaque token naming one decision or activity task attempt.
    TaskToken
);

/// One execution of a workflow: its id and the run the service assigned.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct WorkflowExecution {
    /// The workflow id pressbot chose (see [`deterministic_workflow_id`]).
    pub workflow_id: WorkflowId,
    /// The run the service assigned when the execution started.
    pub run_id: RunId,
}

impl fmt::Display for WorkflowExecution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.workflow_id, self.run_id)
    }
}

/// A workflow or activity type: name and version, as SWF registers them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TypeRef {
    /// The type's name.
    pub name: String,
    /// The type's version; SWF treats each (name, version) as a separate type.
    pub version: String,
}

impl TypeRef {
    /// A type from its name and version.
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        TypeRef {
            name: name.into(),
            version: version.into(),
        }
    }
}

impl fmt::Display for TypeRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.name, self.version)
    }
}

/// SWF's limit on the length of a workflow id.
pub const MAX_WORKFLOW_ID_LEN: usize = 256;

/// Replace the characters SWF forbids in ids (`:`, `/`, `|`, control
/// characters, and the literal `arn`) and anything unusual with `_`.
pub fn sanitize_id_part(s: &str) -> String {
    let cleaned: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    cleaned.replace("arn", "a_rn")
}

/// A deterministic workflow id: `<workflow>-<readable part>-<hash>`.
///
/// The hash covers every identity part (for an S3 file: bucket, key and
/// eTag or sequencer), so the same object event always maps to the same id
/// and a duplicate S3 event is rejected by the service as already started,
/// while a new upload of the same key (new eTag) gets a new id.
pub fn deterministic_workflow_id(workflow: &str, readable: &str, identity: &[&str]) -> WorkflowId {
    let mut h = Sha256::new();
    h.update(workflow.as_bytes());
    for part in identity {
        h.update([0u8]);
        h.update(part.as_bytes());
    }
    let digest = hex::encode(&h.finalize()[..8]);
    let mut readable = sanitize_id_part(readable);
    let budget = MAX_WORKFLOW_ID_LEN - workflow.len().min(100) - digest.len() - 2;
    if readable.len() > budget {
        readable = readable[readable.len() - budget..].to_owned();
    }
    let workflow = sanitize_id_part(workflow);
    if readable.is_empty() {
        WorkflowId(format!("{workflow}-{digest}"))
    } else {
        WorkflowId(format!("{workflow}-{readable}-{digest}"))
    }
}

/// The identity of one article package, the same for every run of it:
/// the first 16 hex digits of SHA-256 over `bucket/key/eTag` (quotes
/// around the eTag dropped: S3 quotes it, events and the embedded backend
/// do not). It names the package in the CMS idempotency key and in the
/// record of the version given to an unversioned package, so that a
/// re-run (`pressbot retry`, a duplicate start) is recognised as the same
/// package while a new upload under the same key (a new eTag) is a new one.
pub fn package_identity(bucket: &str, key: &str, etag: &str) -> String {
    let etag = etag.trim_matches('"');
    let digest = Sha256::digest(format!("{bucket}/{key}/{etag}").as_bytes());
    hex::encode(&digest[..8])
}

/// A 64-bit FNV-1a hash: stable across Rust versions and platforms, unlike
/// `DefaultHasher`, which is what the decider's deterministic jitter needs.
pub fn stable_hash(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.as_bytes().iter().chain(std::iter::once(&0xffu8)) {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_identity_is_stable_and_ignores_etag_quotes() {
        let a = package_identity("in", "elife-00353.zip", "abc");
        assert_eq!(a.len(), 16);
        assert_eq!(a, package_identity("in", "elife-00353.zip", "\"abc\""));
        assert_ne!(a, package_identity("in", "elife-00353.zip", "abd"));
        assert_ne!(a, package_identity("in2", "elife-00353.zip", "abc"));
    }

    #[test]
    fn workflow_id_is_deterministic_and_clean() {
        let a = deterministic_workflow_id("IngestArticleZip", "in/elife 1.zip", &["b", "k", "e1"]);
        let b = deterministic_workflow_id("IngestArticleZip", "in/elife 1.zip", &["b", "k", "e1"]);
        let c = deterministic_workflow_id("IngestArticleZip", "in/elife 1.zip", &["b", "k", "e2"]);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(!a.0.contains('/') && !a.0.contains(' ') && !a.0.contains(':'));
        assert!(a.0.starts_with("IngestArticleZip-in_elife_1.zip-"));
    }

    #[test]
    fn long_keys_fit_swf_limit() {
        let key = "x".repeat(1000);
        let id = deterministic_workflow_id("W", &key, &[&key]);
        assert!(id.0.len() <= MAX_WORKFLOW_ID_LEN);
    }

    #[test]
    fn stable_hash_is_stable() {
        assert_eq!(stable_hash(&["a", "b"]), stable_hash(&["a", "b"]));
        assert_ne!(stable_hash(&["ab"]), stable_hash(&["a", "b"]));
    }
}
