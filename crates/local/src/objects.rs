//! S3 semantics on files: bodies under `data_dir/objects/<bucket>/<key>`,
//! metadata (size, eTag, content type, cache control, last modified) in
//! SQLite.
//!
//! Keys are S3 keys, so they are mapped to paths defensively
//! ([`key_to_relative_path`]): absolute keys and `.`/`..` segments are
//! rejected, an empty segment (`a//b`, or the trailing `/` of a "folder"
//! marker) becomes a file or directory named `%`, and `%`, `\` and control
//! characters are percent-encoded. One S3 layout cannot be mapped: a key
//! that is also a "directory" of another key (`a` and `a/b`); the second
//! put fails with an I/O error naming the path.
//!
//! The eTag is the first 128 bits of the body's BLAKE3 hash in hex, or its
//! MD5 in a data dir created before BLAKE3 (see [`EtagKind`]): the shape
//! of S3's single-part eTag, without its quotes.
//!
//! A put writes a temp file under `data_dir/tmp`, then, inside the
//! metadata transaction (which holds the database write lock, so puts of
//! several processes are serialized), renames it into place, upserts the
//! metadata row and, if the bucket has a notification, enqueues the S3
//! event: an object is never visible without its event.

use crate::db::{next_counter, Ctx};
use crate::queue::{enqueue, queue_row};
use crate::{LocalBackend, LocalError};
use async_trait::async_trait;
use bytes::Bytes;
use pressbot_core::backend::{Object, ObjectMeta, ObjectStore, OutgoingMessage, PutOptions};
use pressbot_core::messages::s3_event_json;
use pressbot_core::time::Timestamp;
use rusqlite::{params, Connection, OptionalExtension, Row};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// S3's longest key, in bytes.
pub const MAX_KEY_BYTES: usize = 1024;
/// Longest presigned URL lifetime S3 accepts (7 days).
pub const MAX_PRESIGN: Duration = Duration::from_secs(7 * 24 * 3600);

/// Check a bucket name against S3's rules (3..=63 of `a-z 0-9 . -`,
/// starting and ending with a letter or digit, no `..`).
pub fn validate_bucket(operation: &'static str, bucket: &str) -> Result<(), LocalError> {
    let chars_ok = bucket
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-');
    let ends_ok = bucket.starts_with(|c: char| c.is_ascii_alphanumeric())
        && bucket.ends_with(|c: char| c.is_ascii_alphanumeric());
    if !(3..=63).contains(&bucket.len()) || !chars_ok || !ends_ok || bucket.contains("..") {
        return Err(LocalError::invalid(
            operation,
            "bucket name",
            bucket,
            "must be 3..=63 characters of a-z, 0-9, '.' and '-', starting and ending with a letter or digit",
        ));
    }
    Ok(())
}

/// Map an S3 key to a relative path, safely (see the module docs).
pub fn key_to_relative_path(key: &str) -> Result<PathBuf, LocalError> {
    const OP: &str = "map key";
    let bad = |problem: &str| Err(LocalError::invalid(OP, "object key", key, problem));
    if key.is_empty() {
        return bad("must not be empty");
    }
    if key.len() > MAX_KEY_BYTES {
        return bad("must be at most 1024 bytes");
    }
    if key.starts_with('/') {
        return bad("must not be absolute (start with '/')");
    }
    let mut path = PathBuf::new();
    for segment in key.split('/') {
        if segment == "." || segment == ".." {
            return bad("must not contain '.' or '..' path segments");
        }
        let mut encoded = String::with_capacity(segment.len());
        if segment.is_empty() {
            encoded.push('%');
        }
        for c in segment.chars() {
            if c == '%' || c == '\\' || c.is_control() {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    encoded.push_str(&format!("%{b:02X}"));
                }
            } else {
                encoded.push(c);
            }
        }
        if encoded.len() > 255 {
            return bad("has a path segment longer than 255 bytes once mapped to a file name");
        }
        path.push(encoded);
    }
    Ok(path)
}

/// How a data dir computes eTags, fixed when the data dir is created (see
/// [`crate::LocalBackend::open`]).
///
/// New data dirs use BLAKE3: the first 128 bits of the body's BLAKE3 hash,
/// in hex (32 characters, the shape of S3's single-part eTag). S3 documents
/// its eTag as opaque (multipart and KMS-encrypted objects have others than
/// the MD5 of the body) and pressbot compares an eTag only with eTags of the
/// same store. MD5 ran at ~650 MB/s, and hashing every package and every
/// expanded entry was a tenth of the whole pipeline's CPU
/// (docs/benchmarks.md section 6); BLAKE3 runs at several GB/s and, unlike
/// MD5, no one can make two packages share an eTag.
///
/// Data dirs that already held objects before BLAKE3 keep MD5: a package's
/// identity is its bucket, key and eTag (docs/reliability.md), so a package
/// put again after an upgrade must get the eTag it had before, or it would
/// count as a new package (a second version of an unversioned one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EtagKind {
    /// First 128 bits of BLAKE3, hex.
    Blake3,
    /// MD5, hex: data dirs created before BLAKE3.
    Md5,
}

impl EtagKind {
    /// The eTag of a whole body.
    pub fn etag(self, body: &[u8]) -> String {
        let mut h = EtagHasher::new(self);
        h.update(body);
        h.finish()
    }
}

/// [`EtagKind::etag`] over a body read in pieces.
enum EtagHasher {
    Blake3(Box<blake3::Hasher>),
    Md5(md5::Md5),
}

impl EtagHasher {
    fn new(kind: EtagKind) -> Self {
        match kind {
            EtagKind::Blake3 => EtagHasher::Blake3(Box::new(blake3::Hasher::new())),
            EtagKind::Md5 => EtagHasher::Md5(md5::Md5::default()),
        }
    }

    fn update(&mut self, bytes: &[u8]) {
        match self {
            EtagHasher::Blake3(h) => {
                h.update(bytes);
            }
            EtagHasher::Md5(h) => md5::Digest::update(h, bytes),
        }
    }

    fn finish(self) -> String {
        match self {
            EtagHasher::Blake3(h) => hex::encode(&h.finalize().as_bytes()[..16]),
            EtagHasher::Md5(h) => hex::encode(md5::Digest::finalize(h)),
        }
    }
}

fn bucket_dir(data_dir: &Path, bucket: &str) -> PathBuf {
    data_dir.join("objects").join(bucket)
}

fn object_path(data_dir: &Path, bucket: &str, key: &str) -> Result<PathBuf, LocalError> {
    Ok(bucket_dir(data_dir, bucket).join(key_to_relative_path(key)?))
}

const META_COLS: &str = "key, size, etag, content_type, cache_control, last_modified";

fn meta_from_row(r: &Row<'_>) -> rusqlite::Result<ObjectMeta> {
    Ok(ObjectMeta {
        key: r.get(0)?,
        size: r.get::<_, i64>(1)?.try_into().unwrap_or(0),
        etag: r.get(2)?,
        content_type: r.get(3)?,
        cache_control: r.get(4)?,
        last_modified: Timestamp(r.get(5)?),
    })
}

/// The bucket's notification queue; `NotFound` when the bucket does not exist.
fn bucket_row(conn: &Connection, bucket: &str) -> Result<Option<String>, LocalError> {
    conn.prepare_cached("SELECT notify_queue FROM buckets WHERE name = ?1")?
        .query_row([bucket], |r| r.get(0))
        .optional()?
        .ok_or_else(|| LocalError::NotFound {
            what: "bucket",
            name: bucket.to_owned(),
        })
}

fn head(conn: &Connection, bucket: &str, key: &str) -> Result<Option<ObjectMeta>, LocalError> {
    bucket_row(conn, bucket)?;
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {META_COLS} FROM objects WHERE bucket = ?1 AND key = ?2"
        ))?
        .query_row(params![bucket, key], meta_from_row)
        .optional()?)
}

fn not_found(bucket: &str, key: &str) -> LocalError {
    LocalError::NotFound {
        what: "object",
        name: format!("{bucket}/{key}"),
    }
}

/// Write a body to a fresh temp file in the data dir (same filesystem as
/// the objects, so the final rename is atomic).
fn write_temp(data_dir: &Path, body: &[u8]) -> Result<PathBuf, LocalError> {
    let path = data_dir
        .join("tmp")
        .join(uuid::Uuid::new_v4().simple().to_string());
    let mut f =
        std::fs::File::create(&path).map_err(|e| LocalError::io("create temp file", &path, e))?;
    f.write_all(body)
        .and_then(|()| f.flush())
        .map_err(|e| LocalError::io("write temp file", &path, e))?;
    Ok(path)
}

/// Read the file at `src` once, in 256 KiB pieces, hashing each and
/// handing it to `each`; its size and eTag.
fn read_hashing(
    src: &Path,
    kind: EtagKind,
    mut each: impl FnMut(&[u8]) -> Result<(), LocalError>,
) -> Result<(u64, String), LocalError> {
    use std::io::Read;
    let mut from = std::fs::File::open(src).map_err(|e| LocalError::io("open file", src, e))?;
    let mut hash = EtagHasher::new(kind);
    let mut buf = vec![0u8; 256 * 1024];
    let mut size = 0u64;
    loop {
        let n = from
            .read(&mut buf)
            .map_err(|e| LocalError::io("read file", src, e))?;
        if n == 0 {
            break;
        }
        hash.update(&buf[..n]);
        each(&buf[..n])?;
        size += n as u64;
    }
    Ok((size, hash.finish()))
}

/// Copy a file to a fresh temp file in the data dir, hashing it on the
/// way: [`ObjectStore::put_file`] without the body ever whole in memory.
/// Returns the temp path, the size and the eTag.
fn copy_temp(
    data_dir: &Path,
    src: &Path,
    kind: EtagKind,
) -> Result<(PathBuf, u64, String), LocalError> {
    let path = data_dir
        .join("tmp")
        .join(uuid::Uuid::new_v4().simple().to_string());
    let copied = (|| -> Result<(u64, String), LocalError> {
        let mut to = std::fs::File::create(&path)
            .map_err(|e| LocalError::io("create temp file", &path, e))?;
        let hashed = read_hashing(src, kind, |piece| {
            to.write_all(piece)
                .map_err(|e| LocalError::io("write temp file", &path, e))
        })?;
        to.flush()
            .map_err(|e| LocalError::io("write temp file", &path, e))?;
        Ok(hashed)
    })();
    match copied {
        Ok((size, etag)) => Ok((path, size, etag)),
        Err(e) => {
            let _ = std::fs::remove_file(&path);
            Err(e)
        }
    }
}

/// Size and eTag of a file, read once (the staged file of
/// [`ObjectStore::put_staged_file`], which is then moved, not copied).
fn hash_file(path: &Path, kind: EtagKind) -> Result<(u64, String), LocalError> {
    read_hashing(path, kind, |_| Ok(()))
}

/// What `store` records besides the body.
struct NewObject<'a> {
    bucket: &'a str,
    key: &'a str,
    size: u64,
    etag: String,
    content_type: Option<String>,
    cache_control: Option<String>,
}

/// Move a temp file into place and record it (and its event) in one transaction.
fn store(
    conn: &mut Connection,
    ctx: &Ctx,
    data_dir: &Path,
    temp: &Path,
    new: NewObject<'_>,
) -> Result<ObjectMeta, LocalError> {
    let tx = ctx.begin(conn)?;
    let now = ctx.now();
    let notify_queue = bucket_row(&tx, new.bucket)?;
    if let Some(q) = &notify_queue {
        queue_row(&tx, q)?;
    }
    let path = object_path(data_dir, new.bucket, new.key)?;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| LocalError::io("create object directory", parent, e))?;
    }
    std::fs::rename(temp, &path).map_err(|e| LocalError::io("move object into place", &path, e))?;
    let size = i64::try_from(new.size).unwrap_or(i64::MAX);
    tx.prepare_cached(
        "INSERT INTO objects (bucket, key, size, etag, content_type, cache_control, last_modified)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (bucket, key) DO UPDATE SET size = excluded.size, etag = excluded.etag,
            content_type = excluded.content_type, cache_control = excluded.cache_control,
            last_modified = excluded.last_modified",
    )?
    .execute(params![
        new.bucket,
        new.key,
        size,
        new.etag,
        new.content_type,
        new.cache_control,
        now.0
    ])?;
    if let Some(q) = &notify_queue {
        let sequencer = format!("{:016X}", next_counter(&tx, "s3_sequencer")?);
        let event = s3_event_json(new.bucket, new.key, new.size, &new.etag, &sequencer, now);
        enqueue(&tx, q, now, &OutgoingMessage::new(event))?;
    }
    tx.commit()?;
    if notify_queue.is_some() {
        ctx.wake();
    }
    tracing::debug!(
        bucket = new.bucket,
        key = new.key,
        size = new.size,
        "object stored"
    );
    Ok(ObjectMeta {
        key: new.key.to_owned(),
        size: new.size,
        etag: new.etag,
        content_type: new.content_type,
        cache_control: new.cache_control,
        last_modified: now,
    })
}

/// `store`, removing the temp file if anything failed before the rename.
fn store_or_clean(
    conn: &mut Connection,
    ctx: &Ctx,
    data_dir: &Path,
    temp: &Path,
    new: NewObject<'_>,
) -> Result<ObjectMeta, LocalError> {
    let result = store(conn, ctx, data_dir, temp, new);
    if result.is_err() {
        let _ = std::fs::remove_file(temp);
    }
    result
}

/// Remove now-empty directories between a deleted file and its bucket dir,
/// so a later key can use that name as a file.
fn prune_dirs(bucket_dir: &Path, file: &Path) {
    let mut dir = file.parent();
    while let Some(d) = dir {
        if d == bucket_dir || !d.starts_with(bucket_dir) || std::fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
}

impl LocalBackend {
    fn objects_ctx(
        &self,
        operation: &'static str,
        bucket: &str,
        key: &str,
    ) -> Result<(), LocalError> {
        validate_bucket(operation, bucket)?;
        key_to_relative_path(key).map_err(|e| match e {
            LocalError::Invalid {
                what,
                value,
                problem,
                ..
            } => LocalError::Invalid {
                operation,
                what,
                value,
                problem,
            },
            other => other,
        })?;
        Ok(())
    }
}

/// Run file work (a copy, a hash) on the blocking pool, before a database
/// connection is taken: it is the long part of a put, and holding a
/// connection through it would keep it from every other operation.
async fn blocking<T: Send + 'static>(
    operation: &'static str,
    f: impl FnOnce() -> Result<T, LocalError> + Send + 'static,
) -> Result<T, LocalError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| LocalError::Task {
            operation,
            message: e.to_string(),
        })?
}

impl LocalBackend {
    /// Record `temp` (a file in `tmp/` with this size and eTag) as the
    /// object and rename it into place, in one transaction with its
    /// event; `temp` is removed if that fails.
    async fn store_prepared(
        &self,
        bucket: &str,
        key: &str,
        temp: PathBuf,
        size: u64,
        etag: String,
        options: PutOptions,
    ) -> Result<ObjectMeta, LocalError> {
        let (b, k, dir) = (
            bucket.to_owned(),
            key.to_owned(),
            self.inner.data_dir.clone(),
        );
        self.run("put", format!("{bucket}/{key}"), move |c, ctx| {
            let new = NewObject {
                bucket: &b,
                key: &k,
                size,
                etag,
                content_type: options.content_type,
                cache_control: options.cache_control,
            };
            store_or_clean(c, ctx, &dir, &temp, new)
        })
        .await
    }

    /// `ObjectStore::get` with this crate's error, so callers here (the
    /// presigned-URL server) can tell a missing object from other failures.
    pub(crate) async fn get_object(&self, bucket: &str, key: &str) -> Result<Object, LocalError> {
        self.objects_ctx("get", bucket, key)?;
        let (b, k, dir) = (
            bucket.to_owned(),
            key.to_owned(),
            self.inner.data_dir.clone(),
        );
        self.run("get", format!("{bucket}/{key}"), move |c, _ctx| {
            let path = object_path(&dir, &b, &k)?;
            // A put of another process may replace the file between our
            // metadata read and our file read: read the metadata again
            // and retry if anything moved, so body and eTag agree.
            let mut attempts = 0;
            loop {
                attempts += 1;
                let meta = head(c, &b, &k)?.ok_or_else(|| not_found(&b, &k))?;
                let body = match std::fs::read(&path) {
                    Ok(body) => body,
                    // Deleted meanwhile: answer as S3 would now.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound && attempts < 3 => continue,
                    Err(e) => return Err(LocalError::io("read object", &path, e)),
                };
                let again = head(c, &b, &k)?;
                if (again.as_ref() == Some(&meta) && body.len() as u64 == meta.size)
                    || attempts >= 3
                {
                    return Ok(Object {
                        meta,
                        body: Bytes::from(body),
                    });
                }
            }
        })
        .await
    }
}

#[async_trait]
impl ObjectStore for LocalBackend {
    async fn get(&self, bucket: &str, key: &str) -> pressbot_core::Result<Object> {
        Ok(self.get_object(bucket, key).await?)
    }

    /// A file copy (the kernel's, no body in memory), checked against the
    /// metadata read before and after as in `get`.
    async fn get_to_file(
        &self,
        bucket: &str,
        key: &str,
        dest: &Path,
    ) -> pressbot_core::Result<ObjectMeta> {
        self.objects_ctx("get", bucket, key)?;
        let (b, k, dir, dest) = (
            bucket.to_owned(),
            key.to_owned(),
            self.inner.data_dir.clone(),
            dest.to_owned(),
        );
        Ok(self
            .run("get", format!("{bucket}/{key}"), move |c, _ctx| {
                let path = object_path(&dir, &b, &k)?;
                let mut attempts = 0;
                loop {
                    attempts += 1;
                    let meta = head(c, &b, &k)?.ok_or_else(|| not_found(&b, &k))?;
                    let copied = match std::fs::copy(&path, &dest) {
                        Ok(n) => n,
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound && attempts < 3 => {
                            if !path.exists() {
                                continue;
                            }
                            return Err(LocalError::io("write object to file", &dest, e));
                        }
                        Err(e) => return Err(LocalError::io("copy object to file", &path, e)),
                    };
                    let again = head(c, &b, &k)?;
                    if (again.as_ref() == Some(&meta) && copied == meta.size) || attempts >= 3 {
                        return Ok(ObjectMeta {
                            size: copied,
                            ..meta
                        });
                    }
                }
            })
            .await?)
    }

    async fn put_file(
        &self,
        bucket: &str,
        key: &str,
        src: &Path,
        options: PutOptions,
    ) -> pressbot_core::Result<ObjectMeta> {
        self.objects_ctx("put", bucket, key)?;
        let (kind, dir, from) = (
            self.etag_kind(),
            self.inner.data_dir.clone(),
            src.to_owned(),
        );
        let (temp, size, etag) = blocking("put", move || copy_temp(&dir, &from, kind)).await?;
        Ok(self
            .store_prepared(bucket, key, temp, size, etag, options)
            .await?)
    }

    fn staging_dir(&self) -> Option<PathBuf> {
        Some(self.inner.data_dir.join("tmp"))
    }

    /// A file in [`ObjectStore::staging_dir`] is hashed (one read) and
    /// renamed into place: its bytes are not written again. A file
    /// elsewhere (another file system, perhaps) is stored as by `put_file`
    /// and then removed.
    async fn put_staged_file(
        &self,
        bucket: &str,
        key: &str,
        src: &Path,
        options: PutOptions,
    ) -> pressbot_core::Result<ObjectMeta> {
        self.objects_ctx("put", bucket, key)?;
        let kind = self.etag_kind();
        let staging = self.inner.data_dir.join("tmp");
        if !src.starts_with(&staging) {
            let meta = self.put_file(bucket, key, src, options).await?;
            std::fs::remove_file(src).map_err(|e| LocalError::io("remove staged file", src, e))?;
            return Ok(meta);
        }
        // Nothing about the file can change meanwhile: the caller gave it up.
        let staged = src.to_owned();
        let (size, etag) = blocking("put", move || hash_file(&staged, kind)).await?;
        Ok(self
            .store_prepared(bucket, key, src.to_owned(), size, etag, options)
            .await?)
    }

    /// The object's file itself, opened between two reads of its
    /// metadata that agree (as `get` does), so body and eTag match.
    async fn open_file(
        &self,
        bucket: &str,
        key: &str,
    ) -> pressbot_core::Result<Option<(std::fs::File, ObjectMeta)>> {
        self.objects_ctx("get", bucket, key)?;
        let (b, k, dir) = (
            bucket.to_owned(),
            key.to_owned(),
            self.inner.data_dir.clone(),
        );
        Ok(self
            .run("get", format!("{bucket}/{key}"), move |c, _ctx| {
                let path = object_path(&dir, &b, &k)?;
                let mut attempts = 0;
                loop {
                    attempts += 1;
                    let meta = head(c, &b, &k)?.ok_or_else(|| not_found(&b, &k))?;
                    let file = match std::fs::File::open(&path) {
                        Ok(f) => f,
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound && attempts < 3 => {
                            continue
                        }
                        Err(e) => return Err(LocalError::io("open object", &path, e)),
                    };
                    let len = file
                        .metadata()
                        .map_err(|e| LocalError::io("open object", &path, e))?
                        .len();
                    let again = head(c, &b, &k)?;
                    if (again.as_ref() == Some(&meta) && len == meta.size) || attempts >= 3 {
                        return Ok(Some((file, meta)));
                    }
                }
            })
            .await?)
    }

    async fn put(
        &self,
        bucket: &str,
        key: &str,
        body: Bytes,
        options: PutOptions,
    ) -> pressbot_core::Result<ObjectMeta> {
        self.objects_ctx("put", bucket, key)?;
        let kind = self.etag_kind();
        let (b, k, dir) = (
            bucket.to_owned(),
            key.to_owned(),
            self.inner.data_dir.clone(),
        );
        Ok(self
            .run("put", format!("{bucket}/{key}"), move |c, ctx| {
                // Fail before writing anything when the bucket is missing.
                bucket_row(c, &b)?;
                let temp = write_temp(&dir, &body)?;
                let new = NewObject {
                    bucket: &b,
                    key: &k,
                    size: body.len() as u64,
                    etag: kind.etag(&body),
                    content_type: options.content_type,
                    cache_control: options.cache_control,
                };
                store_or_clean(c, ctx, &dir, &temp, new)
            })
            .await?)
    }

    async fn head(&self, bucket: &str, key: &str) -> pressbot_core::Result<Option<ObjectMeta>> {
        self.objects_ctx("head", bucket, key)?;
        let (b, k) = (bucket.to_owned(), key.to_owned());
        Ok(self
            .run("head", format!("{bucket}/{key}"), move |c, _ctx| {
                head(c, &b, &k)
            })
            .await?)
    }

    async fn list(&self, bucket: &str, prefix: &str) -> pressbot_core::Result<Vec<ObjectMeta>> {
        validate_bucket("list", bucket)?;
        let (b, p) = (bucket.to_owned(), prefix.to_owned());
        Ok(self
            .run("list", format!("{bucket}/{prefix}"), move |c, _ctx| {
                bucket_row(c, &b)?;
                let mut stmt = c.prepare_cached(&format!(
                    "SELECT {META_COLS} FROM objects WHERE bucket = ?1 AND key >= ?2 ORDER BY key"
                ))?;
                let rows = stmt.query_map(params![b, p], meta_from_row)?;
                let mut out = Vec::new();
                for row in rows {
                    let meta = row?;
                    if !meta.key.starts_with(p.as_str()) {
                        break;
                    }
                    out.push(meta);
                }
                Ok(out)
            })
            .await?)
    }

    async fn copy(
        &self,
        from_bucket: &str,
        from_key: &str,
        to_bucket: &str,
        to_key: &str,
    ) -> pressbot_core::Result<ObjectMeta> {
        self.objects_ctx("copy", from_bucket, from_key)?;
        self.objects_ctx("copy", to_bucket, to_key)?;
        let (fb, fk, tb, tk) = (
            from_bucket.to_owned(),
            from_key.to_owned(),
            to_bucket.to_owned(),
            to_key.to_owned(),
        );
        let dir = self.inner.data_dir.clone();
        Ok(self
            .run(
                "copy",
                format!("{from_bucket}/{from_key} -> {to_bucket}/{to_key}"),
                move |c, ctx| {
                    let src_meta = head(c, &fb, &fk)?.ok_or_else(|| not_found(&fb, &fk))?;
                    bucket_row(c, &tb)?;
                    let src = object_path(&dir, &fb, &fk)?;
                    let temp = dir
                        .join("tmp")
                        .join(uuid::Uuid::new_v4().simple().to_string());
                    // Objects are never written in place (every write is a
                    // temp file renamed over the old one), so a copy can
                    // share the source's inode: no bytes move. Where the
                    // file system refuses links, the bytes are copied.
                    if std::fs::hard_link(&src, &temp).is_err() {
                        std::fs::copy(&src, &temp)
                            .map_err(|e| LocalError::io("copy object", &src, e))?;
                    }
                    let new = NewObject {
                        bucket: &tb,
                        key: &tk,
                        size: src_meta.size,
                        etag: src_meta.etag,
                        content_type: src_meta.content_type,
                        cache_control: src_meta.cache_control,
                    };
                    store_or_clean(c, ctx, &dir, &temp, new)
                },
            )
            .await?)
    }

    async fn delete(&self, bucket: &str, key: &str) -> pressbot_core::Result<()> {
        self.objects_ctx("delete", bucket, key)?;
        let (b, k, dir) = (
            bucket.to_owned(),
            key.to_owned(),
            self.inner.data_dir.clone(),
        );
        Ok(self
            .run("delete", format!("{bucket}/{key}"), move |c, ctx| {
                let tx = ctx.begin(c)?;
                bucket_row(&tx, &b)?;
                let n = tx
                    .prepare_cached("DELETE FROM objects WHERE bucket = ?1 AND key = ?2")?
                    .execute(params![b, k])?;
                if n > 0 {
                    let path = object_path(&dir, &b, &k)?;
                    match std::fs::remove_file(&path) {
                        Ok(()) => prune_dirs(&bucket_dir(&dir, &b), &path),
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => return Err(LocalError::io("delete object", &path, e)),
                    }
                }
                tx.commit()?;
                Ok(())
            })
            .await?)
    }

    /// A signed URL with an enforced expiry: see [`crate::presign`].
    async fn presign_get(
        &self,
        bucket: &str,
        key: &str,
        expires: Duration,
    ) -> pressbot_core::Result<String> {
        Ok(self.presign_get_at(bucket, key, expires, Timestamp::now())?)
    }

    async fn create_bucket(&self, bucket: &str) -> pressbot_core::Result<()> {
        validate_bucket("create_bucket", bucket)?;
        let (b, dir) = (bucket.to_owned(), bucket_dir(&self.inner.data_dir, bucket));
        Ok(self
            .run("create_bucket", bucket.to_owned(), move |c, ctx| {
                std::fs::create_dir_all(&dir)
                    .map_err(|e| LocalError::io("create bucket directory", &dir, e))?;
                c.prepare_cached("INSERT OR IGNORE INTO buckets (name, notify_queue, created) VALUES (?1, NULL, ?2)")?.execute(params![b, ctx.now().0])?;
                Ok(())
            })
            .await?)
    }

    async fn set_notification(&self, bucket: &str, queue: &str) -> pressbot_core::Result<()> {
        validate_bucket("set_notification", bucket)?;
        let (b, q) = (bucket.to_owned(), queue.to_owned());
        Ok(self
            .run("set_notification", bucket.to_owned(), move |c, ctx| {
                let tx = ctx.begin(c)?;
                bucket_row(&tx, &b)?;
                queue_row(&tx, &q)?;
                tx.prepare_cached("UPDATE buckets SET notify_queue = ?2 WHERE name = ?1")?
                    .execute(params![b, q])?;
                tx.commit()?;
                tracing::info!(bucket = %b, queue = %q, "bucket notification set");
                Ok(())
            })
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_map_to_safe_paths() {
        let p = |k: &str| key_to_relative_path(k).map(|p| p.to_string_lossy().into_owned());
        assert_eq!(p("a/b/c.zip").expect("ok"), "a/b/c.zip");
        assert_eq!(p("folder/").expect("ok"), "folder/%");
        assert_eq!(p("a//b").expect("ok"), "a/%/b");
        assert_eq!(p("100%\\x").expect("ok"), "100%25%5Cx");
        assert_eq!(
            p("new folder/x y(1).zip").expect("ok"),
            "new folder/x y(1).zip"
        );
        for bad in ["", "/etc/passwd", "a/../b", "..", "./a", "a/."] {
            let e = p(bad).expect_err(bad).to_string();
            assert!(e.contains("object key"), "{bad}: {e}");
        }
    }

    #[test]
    fn bucket_names_follow_s3_rules() {
        for ok in ["abc", "dev-pressbot-incoming", "a.b.c"] {
            validate_bucket("t", ok).expect(ok);
        }
        for bad in ["ab", "Upper", "under_score", "-abc", "abc-", "a..b", "../x"] {
            assert!(validate_bucket("t", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn etags_are_blake3_128_or_md5_in_hex() {
        // The published test vectors for the empty input.
        assert_eq!(
            EtagKind::Blake3.etag(b""),
            "af1349b9f5f9a1a6a0404dea36dcc949"
        );
        assert_eq!(EtagKind::Md5.etag(b""), "d41d8cd98f00b204e9800998ecf8427e");
        for kind in [EtagKind::Blake3, EtagKind::Md5] {
            let mut pieces = EtagHasher::new(kind);
            for chunk in [&b"hel"[..], b"", b"lo"] {
                pieces.update(chunk);
            }
            assert_eq!(pieces.finish(), kind.etag(b"hello"), "{kind:?}");
        }
    }
}
