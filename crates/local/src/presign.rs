//! Presigned GET URLs of the embedded backend, with an expiry that is
//! enforced.
//!
//! A URL carries its bucket and key (in its path), `expires` (Unix seconds)
//! and `signature`: hex HMAC-SHA256, under the data dir's secret key, of
//! the method, bucket, key and expiry. Whoever checks it ([`LocalBackend::verify_presigned`],
//! the HTTP [`crate::object_server`]) recomputes the HMAC and compares in
//! constant time, so a changed bucket, key or expiry, or a URL signed with
//! another key, is refused; then the expiry is checked.
//!
//! The key is 32 random bytes (hex) in `data_dir/presign.key`, mode 0600,
//! created once: written to a temp file and hard-linked into place, so two
//! processes opening a fresh data dir at once both end up with the one that
//! won the link. It is read on every sign and verify (a few microseconds
//! next to a SQLite transaction), which makes rotation immediate: delete or
//! replace the file and every URL handed out so far stops working, in every
//! process. The key never appears in a URL, an error or a log line.
//!
//! Two shapes of URL:
//! - with an object URL base set ([`LocalBackend::set_object_url`], from the
//!   `local.object_url` setting, or by `pressbot up` for its object server):
//!   `<base>/<bucket>/<key>?expires=<unix s>&signature=<hex>`;
//! - otherwise the object file itself, for same-host use:
//!   `file:///<data dir>/objects/<bucket>/<mapped key>?expires=…&signature=…`.

use crate::objects::{key_to_relative_path, validate_bucket, MAX_PRESIGN};
use crate::{LocalBackend, LocalError};
use hmac::{Hmac, KeyInit, Mac};
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use pressbot_core::backend::Object;
use pressbot_core::time::Timestamp;
use sha2::Sha256;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::time::Duration;

/// File name of the secret signing key inside the data dir.
pub const KEY_FILE: &str = "presign.key";

/// Bytes of randomness in the key (the HMAC-SHA256 block is 64; 32 is the
/// output size, which is what the HMAC RFC recommends as a minimum).
const KEY_BYTES: usize = 32;

/// Query parameter names.
const EXPIRES: &str = "expires";
const SIGNATURE: &str = "signature";

/// Path characters left as they are in URLs; everything else is
/// percent-encoded (`/` separates key segments, as on S3).
const PATH_SET: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Which check refused a presigned URL; it lives in [`crate::error`], which
/// every module uses, so that the error type does not depend on this module.
pub use crate::error::PresignCheck;

/// What a verified URL grants: a GET of this object until `expires`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresignedTarget {
    pub bucket: String,
    pub key: String,
    /// When the URL stops working (whole seconds).
    pub expires: Timestamp,
}

/// Per-backend presigning state: the URL base, settable after open.
#[derive(Debug, Default)]
pub(crate) struct PresignState {
    object_url: RwLock<Option<String>>,
}

fn refused(check: PresignCheck, reason: impl Into<String>) -> LocalError {
    LocalError::PresignRefused {
        check,
        reason: reason.into(),
    }
}

/// The secret key. `Debug` never shows it.
struct SecretKey([u8; KEY_BYTES]);

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

fn key_path(data_dir: &Path) -> PathBuf {
    data_dir.join(KEY_FILE)
}

/// Read the key file; `Ok(None)` when it does not exist yet.
fn read_key(path: &Path) -> Result<Option<SecretKey>, LocalError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(LocalError::io("read presign key", path, e)),
    };
    let corrupt = || {
        LocalError::Corrupt {
        operation: "read presign key",
        what: "presign key file",
        // Never the content: it is (or was meant to be) the secret.
        message: format!(
            "{} must hold {} hex characters; delete it to make a new key (this revokes every presigned URL)",
            path.display(),
            KEY_BYTES * 2
        ),
    }
    };
    let mut key = [0u8; KEY_BYTES];
    hex::decode_to_slice(text.trim(), &mut key).map_err(|_| corrupt())?;
    warn_if_readable_by_others(path);
    Ok(Some(SecretKey(key)))
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path) {
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::warn!(path = %path.display(), mode = format!("{mode:o}"),
                "presign key file is readable by other users; chmod 600 it");
        }
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path) {}

/// The data dir's key, created on first use (see the module docs for why
/// a temp file plus hard link).
fn load_or_create_key(data_dir: &Path) -> Result<SecretKey, LocalError> {
    let path = key_path(data_dir);
    if let Some(key) = read_key(&path)? {
        return Ok(key);
    }
    let mut raw = [0u8; KEY_BYTES];
    getrandom::fill(&mut raw).map_err(|e| {
        LocalError::io(
            "generate presign key",
            &path,
            std::io::Error::other(e.to_string()),
        )
    })?;
    let temp = data_dir
        .join("tmp")
        .join(format!("presign-key-{}", uuid::Uuid::new_v4().simple()));
    let written = write_private(&temp, hex::encode(raw).as_bytes());
    let linked = written.and_then(|()| match std::fs::hard_link(&temp, &path) {
        Ok(()) => {
            tracing::info!(path = %path.display(), "created presign key");
            Ok(())
        }
        // Another process won the race: use its key.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(LocalError::io("install presign key", &path, e)),
    });
    let _ = std::fs::remove_file(&temp);
    linked?;
    read_key(&path)?.ok_or_else(|| {
        LocalError::io(
            "read presign key",
            &path,
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "deleted right after it was created",
            ),
        )
    })
}

/// Create a new file readable only by its owner, write and sync it.
fn write_private(path: &Path, content: &[u8]) -> Result<(), LocalError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options
        .open(path)
        .map_err(|e| LocalError::io("create presign key", path, e))?;
    f.write_all(content)
        .and_then(|()| f.sync_all())
        .map_err(|e| LocalError::io("write presign key", path, e))
}

/// The HMAC input: method, bucket, key (length-prefixed, as keys may hold
/// any character) and expiry.
fn mac(key: &SecretKey, bucket: &str, object_key: &str, expires: i64) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(&key.0).expect("HMAC takes keys of any size");
    mac.update(
        format!(
            "pressbot-presign-v1\nGET\n{bucket}\n{}\n{object_key}\n{expires}",
            object_key.len()
        )
        .as_bytes(),
    );
    mac
}

fn sign(key: &SecretKey, bucket: &str, object_key: &str, expires: i64) -> String {
    hex::encode(
        mac(key, bucket, object_key, expires)
            .finalize()
            .into_bytes(),
    )
}

/// Validate an object URL base: http(s), no query or fragment; trailing
/// slashes dropped.
fn normalize_base(base: &str) -> Result<String, LocalError> {
    let bad = |problem: &str| {
        Err(LocalError::invalid(
            "set object URL",
            "object URL base",
            base,
            problem,
        ))
    };
    let rest = match base
        .strip_prefix("http://")
        .or_else(|| base.strip_prefix("https://"))
    {
        Some(r) => r,
        None => return bad("must start with http:// or https://"),
    };
    if rest.is_empty() || rest.starts_with('/') {
        return bad("must name a host");
    }
    if base.contains(['?', '#']) || base.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("must not hold a query, fragment, spaces or control characters");
    }
    Ok(base.trim_end_matches('/').to_owned())
}

/// Inverse of [`key_to_relative_path`] for one mapped path (`/`-separated).
fn relative_path_to_key(mapped: &str) -> Option<String> {
    let mut segments = Vec::new();
    for segment in mapped.split('/') {
        if segment == "%" {
            segments.push(String::new());
        } else {
            segments.push(percent_decode_str(segment).decode_utf8().ok()?.into_owned());
        }
    }
    let key = segments.join("/");
    // Only paths `key_to_relative_path` produces map back.
    (key_to_relative_path(&key).ok()?.to_string_lossy() == mapped).then_some(key)
}

/// Split `path?query`, and read `expires` and `signature` from the query.
fn parse_query(query: Option<&str>) -> Result<(i64, String), LocalError> {
    let query = query.ok_or_else(|| {
        refused(
            PresignCheck::Malformed,
            "no query: a presigned URL ends in ?expires=…&signature=…",
        )
    })?;
    let (mut expires, mut signature) = (None, None);
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let slot = match name {
            EXPIRES => &mut expires,
            SIGNATURE => &mut signature,
            _ => continue,
        };
        if slot.replace(value).is_some() {
            return Err(refused(
                PresignCheck::Malformed,
                format!("query parameter {name:?} given twice"),
            ));
        }
    }
    let expires =
        expires.ok_or_else(|| refused(PresignCheck::Malformed, "no expires= query parameter"))?;
    let expires: i64 = expires.parse().map_err(|_| {
        refused(
            PresignCheck::Malformed,
            format!("expires={expires:?} is not a whole number of Unix seconds"),
        )
    })?;
    let signature = signature
        .ok_or_else(|| refused(PresignCheck::Malformed, "no signature= query parameter"))?;
    if signature.len() != 64 || !signature.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(refused(
            PresignCheck::Malformed,
            "signature= must be 64 hex characters",
        ));
    }
    Ok((expires, signature.to_ascii_lowercase()))
}

/// `/<bucket>/<percent-encoded key>` into bucket and key.
fn parse_http_path(path: &str) -> Result<(String, String), LocalError> {
    let malformed =
        |problem: &str| refused(PresignCheck::Malformed, format!("path {path:?}: {problem}"));
    let rest = path
        .strip_prefix('/')
        .ok_or_else(|| malformed("must start with '/'"))?;
    let (bucket, key) = rest
        .split_once('/')
        .ok_or_else(|| malformed("must be /<bucket>/<key>"))?;
    let key = percent_decode_str(key)
        .decode_utf8()
        .map_err(|_| malformed("key is not UTF-8 once percent-decoded"))?
        .into_owned();
    Ok((bucket.to_owned(), key))
}

impl LocalBackend {
    /// Set (or clear) the base of presigned URLs, e.g.
    /// `http://files.example.org:8481`: URLs become
    /// `<base>/<bucket>/<key>?…`, which [`crate::object_server`] serves.
    /// Without one they are signed `file://` URLs. Shared by every clone.
    pub fn set_object_url(&self, base: Option<&str>) -> Result<(), LocalError> {
        let base = base.map(normalize_base).transpose()?;
        *self
            .inner
            .presign
            .object_url
            .write()
            .unwrap_or_else(|e| e.into_inner()) = base;
        Ok(())
    }

    /// The base of presigned URLs, if one is set.
    pub fn object_url(&self) -> Option<String> {
        self.inner
            .presign
            .object_url
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// A presigned GET URL valid from `now` for `expires` (1 s to 7 days).
    /// The object need not exist yet (as on S3). `ObjectStore::presign_get`
    /// is this with the current time.
    pub fn presign_get_at(
        &self,
        bucket: &str,
        key: &str,
        expires: Duration,
        now: Timestamp,
    ) -> Result<String, LocalError> {
        const OP: &str = "presign_get";
        validate_bucket(OP, bucket)?;
        let mapped = key_to_relative_path(key)?;
        if expires > MAX_PRESIGN || expires < Duration::from_secs(1) {
            return Err(LocalError::invalid(
                OP,
                "expiry",
                humantime::format_duration(expires).to_string(),
                "must be between 1 second and 7 days",
            ));
        }
        // Rounded up to a whole second, so a URL lives at least `expires`.
        let until = now.plus(expires).0.saturating_add(999).div_euclid(1000);
        let signature = sign(
            &load_or_create_key(&self.inner.data_dir)?,
            bucket,
            key,
            until,
        );
        let query = format!("{EXPIRES}={until}&{SIGNATURE}={signature}");
        Ok(match self.object_url() {
            Some(base) => format!(
                "{base}/{bucket}/{}?{query}",
                utf8_percent_encode(key, PATH_SET)
            ),
            None => {
                let path = self
                    .inner
                    .data_dir
                    .join("objects")
                    .join(bucket)
                    .join(mapped);
                format!(
                    "file://{}?{query}",
                    utf8_percent_encode(&path.to_string_lossy(), PATH_SET)
                )
            }
        })
    }

    /// Check a presigned URL of either shape (see the module docs) at
    /// `now`: its form, then its signature, then its expiry. For an
    /// `http(s)` URL the path after the configured object URL base (or,
    /// without one, after the host) must be `/<bucket>/<key>`.
    pub fn verify_presigned(
        &self,
        url: &str,
        now: Timestamp,
    ) -> Result<PresignedTarget, LocalError> {
        let (path_part, query) = match url.split_once('?') {
            Some((p, q)) => (p, Some(q.split('#').next().unwrap_or(q))),
            None => (url, None),
        };
        if let Some(file_path) = path_part.strip_prefix("file://") {
            let decoded = percent_decode_str(file_path)
                .decode_utf8()
                .map_err(|_| refused(PresignCheck::Malformed, "file path is not UTF-8"))?;
            let objects = self.inner.data_dir.join("objects");
            let prefix = format!("{}/", objects.to_string_lossy());
            let rel = decoded.strip_prefix(&prefix).ok_or_else(|| {
                refused(
                    PresignCheck::Malformed,
                    format!(
                        "file URL is not under this data dir's objects directory {}",
                        objects.display()
                    ),
                )
            })?;
            let (bucket, mapped) = rel
                .split_once('/')
                .ok_or_else(|| refused(PresignCheck::Malformed, "file URL names no object key"))?;
            let key = relative_path_to_key(mapped).ok_or_else(|| {
                refused(
                    PresignCheck::Malformed,
                    format!("file path {mapped:?} is not a mapped object key"),
                )
            })?;
            return self.verify_parts(bucket, &key, query, now);
        }
        let after_scheme = path_part
            .strip_prefix("http://")
            .or_else(|| path_part.strip_prefix("https://"))
            .ok_or_else(|| {
                refused(
                    PresignCheck::Malformed,
                    "must be an http://, https:// or file:// URL",
                )
            })?;
        let path = match self
            .object_url()
            .and_then(|b| path_part.strip_prefix(&b).map(str::to_owned))
        {
            Some(p) => p,
            None => after_scheme
                .find('/')
                .map(|i| after_scheme[i..].to_owned())
                .unwrap_or_default(),
        };
        self.verify_request(&path, query, now)
    }

    /// Check the path (`/<bucket>/<percent-encoded key>`) and query of an
    /// HTTP request for a presigned object (what [`crate::object_server`] sees).
    pub fn verify_request(
        &self,
        path: &str,
        query: Option<&str>,
        now: Timestamp,
    ) -> Result<PresignedTarget, LocalError> {
        let (bucket, key) = parse_http_path(path)?;
        self.verify_parts(&bucket, &key, query, now)
    }

    fn verify_parts(
        &self,
        bucket: &str,
        key: &str,
        query: Option<&str>,
        now: Timestamp,
    ) -> Result<PresignedTarget, LocalError> {
        let malformed = |e: LocalError| refused(PresignCheck::Malformed, e.to_string());
        validate_bucket("verify presigned URL", bucket).map_err(malformed)?;
        key_to_relative_path(key).map_err(malformed)?;
        let (expires, signature) = parse_query(query)?;
        let given = hex::decode(&signature)
            .map_err(|_| refused(PresignCheck::Malformed, "signature= is not hex"))?;
        // Without a key file nothing was ever signed here; reading (not
        // creating) it keeps a stray request from writing to the data dir.
        let key_file = key_path(&self.inner.data_dir);
        let secret = read_key(&key_file)?.ok_or_else(|| {
            refused(
                PresignCheck::Signature,
                "this data dir has no presign key (never created, or deleted to revoke every URL)",
            )
        })?;
        mac(&secret, bucket, key, expires)
            .verify_slice(&given)
            .map_err(|_| {
                refused(
                    PresignCheck::Signature,
                    format!(
                        "signature does not match bucket {bucket:?}, key {key:?} and expires={expires}: \
                         the URL was changed, or signed with a key since rotated"
                    ),
                )
            })?;
        let expires_at = Timestamp(expires.saturating_mul(1000));
        if now >= expires_at {
            return Err(refused(
                PresignCheck::Expired,
                format!(
                    "expired at {expires_at} ({} ago)",
                    humantime::format_duration(Duration::from_secs(
                        now.since(expires_at).as_secs()
                    ))
                ),
            ));
        }
        Ok(PresignedTarget {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            expires: expires_at,
        })
    }

    /// Verify a presigned URL now and read its object.
    pub async fn get_presigned(&self, url: &str) -> Result<Object, LocalError> {
        self.get_presigned_at(url, Timestamp::now()).await
    }

    /// [`Self::get_presigned`] at a given time (tests of expiry need no sleep).
    pub async fn get_presigned_at(&self, url: &str, now: Timestamp) -> Result<Object, LocalError> {
        let target = self.verify_presigned(url, now)?;
        self.get_object(&target.bucket, &target.key).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapped_paths_map_back_to_keys() {
        for key in [
            "a/b/c.zip",
            "folder/",
            "a//b",
            "100%\\x",
            "new folder/x y(1).zip",
            "é/ü",
        ] {
            let mapped = key_to_relative_path(key).expect("maps");
            assert_eq!(
                relative_path_to_key(&mapped.to_string_lossy()).as_deref(),
                Some(key),
                "{key}"
            );
        }
        assert_eq!(
            relative_path_to_key("a/%41"),
            None,
            "not produced by the mapping"
        );
        assert_eq!(relative_path_to_key("../x"), None);
    }

    #[test]
    fn query_parsing_names_what_is_wrong() {
        let sig = "ab".repeat(32);
        assert_eq!(
            parse_query(Some(&format!("expires=12&signature={sig}"))).expect("ok"),
            (12, sig.clone())
        );
        for (query, needle) in [
            (None, "no query"),
            (Some("signature=x".to_owned()), "no expires"),
            (Some("expires=12".to_owned()), "no signature"),
            (
                Some(format!("expires=soon&signature={sig}")),
                "not a whole number",
            ),
            (Some("expires=1&signature=zz".to_owned()), "64 hex"),
            (
                Some(format!("expires=1&expires=2&signature={sig}")),
                "twice",
            ),
        ] {
            let e = parse_query(query.as_deref()).expect_err(needle).to_string();
            assert!(e.contains(needle) && e.contains("malformed URL"), "{e}");
        }
    }

    #[test]
    fn object_url_bases_are_checked() {
        assert_eq!(
            normalize_base("http://127.0.0.1:8481/").expect("ok"),
            "http://127.0.0.1:8481"
        );
        for bad in ["ftp://x", "http://", "http://x/?a=b", "127.0.0.1:8481"] {
            assert!(normalize_base(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn secret_key_debug_is_redacted() {
        let k = SecretKey([7; KEY_BYTES]);
        assert_eq!(format!("{k:?}"), "SecretKey(<redacted>)");
    }
}
