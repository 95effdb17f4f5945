//! `ExpandArticle`: a safe unzip of an article package.
//!
//! Packages come from outside (production vendors, silent-correction tools),
//! so the zip is hostile until proven otherwise: entries that would escape the
//! target folder (absolute paths, `..`, drive letters), symlinks, too many
//! entries, too many bytes and zip bombs are refused. Sizes are counted on the
//! bytes actually decompressed, never taken from the (forgeable) headers.

use crate::error::{Error, Result};
use pressbot_core::settings::ActivitySettings;
use std::io::{Read, Seek, SeekFrom, Write};

/// Zip safety limits, from `activities.max_*` in the settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZipLimits {
    /// Total decompressed bytes over all entries.
    pub max_unzipped_bytes: u64,
    /// Entries in the central directory (directories included).
    pub max_entries: u64,
    /// Decompressed / compressed bytes of one entry. Checked once an entry
    /// has produced more than [`RATIO_GRACE_BYTES`], so tiny, very
    /// compressible files (an empty XML, a blank image) are not refused.
    pub max_compression_ratio: u64,
}

/// Below this many decompressed bytes an entry's compression ratio is not checked.
pub const RATIO_GRACE_BYTES: u64 = 1 << 20;

impl From<&ActivitySettings> for ZipLimits {
    fn from(s: &ActivitySettings) -> Self {
        ZipLimits {
            max_unzipped_bytes: s.max_unzipped_bytes,
            max_entries: s.max_entries,
            max_compression_ratio: s.max_compression_ratio,
        }
    }
}

/// The total entry count of the end-of-central-directory record, when it
/// is there and not deferred to ZIP64 (0xFFFF). Reads only the tail of the
/// archive (the record is in its last 64 KiB + 22 bytes), then rewinds.
fn central_directory_records<R: Read + Seek>(zip: &mut R) -> Option<u64> {
    const EOCD: &[u8] = b"PK\x05\x06";
    let len = zip.seek(SeekFrom::End(0)).ok()?;
    let tail_len = len.min(22 + 65_535);
    zip.seek(SeekFrom::Start(len - tail_len)).ok()?;
    let mut tail = Vec::with_capacity(tail_len as usize);
    let read = zip.by_ref().take(tail_len).read_to_end(&mut tail);
    zip.seek(SeekFrom::Start(0)).ok()?;
    read.ok()?;
    let at = tail.windows(4).rposition(|w| w == EOCD)?;
    let total = tail.get(at + 10..at + 12)?;
    let total = u16::from_le_bytes([total[0], total[1]]);
    (total != 0xFFFF).then_some(u64::from(total))
}

/// One file of a package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageFile {
    /// The file name (last path component), which is the file's name in the
    /// expanded folder: packages are flat, and a folder inside the zip
    /// (`figures/`) is only how the publisher's tool packed it.
    pub name: String,
    /// The entry's path inside the zip, `/`-separated, checked safe.
    pub path: String,
    pub data: Vec<u8>,
}

/// The checked components of an entry name (empty for `./` or `/`-only
/// names, which only a directory entry may have).
fn check_path(package: &str, raw: &str) -> Result<Vec<String>> {
    let refuse = |reason: &'static str| Error::UnsafeEntry {
        package: package.to_owned(),
        entry: raw.to_owned(),
        reason,
    };
    if raw.is_empty() {
        return Err(refuse("empty name"));
    }
    if raw.contains('\0') {
        return Err(refuse("NUL byte in name"));
    }
    let name = raw.replace('\\', "/");
    if name.starts_with('/') {
        return Err(refuse("absolute path"));
    }
    let bytes = name.as_bytes();
    if bytes.len() >= 2 && bytes[1] == b':' && bytes[0].is_ascii_alphabetic() {
        return Err(refuse("absolute path (drive letter)"));
    }
    if name.split('/').any(|part| part == "..") {
        return Err(refuse("path traversal (`..`)"));
    }
    Ok(name
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .map(str::to_owned)
        .collect())
}

/// Check a file entry's name: a relative path of plain components. Returns
/// the name normalised to `/` separators.
pub fn check_entry_name(package: &str, raw: &str) -> Result<String> {
    let clean = check_path(package, raw)?;
    if clean.is_empty() {
        return Err(Error::UnsafeEntry {
            package: package.to_owned(),
            entry: raw.to_owned(),
            reason: "empty name",
        });
    }
    Ok(clean.join("/"))
}

/// Files that archivers add and no publisher means to ship: macOS's
/// resource-fork folder (`__MACOSX/`) and Finder's `.DS_Store`. Skipped
/// rather than refused, because packages zipped on a Mac carry them and
/// they are not part of the article.
pub fn is_archiver_junk(path: &str) -> bool {
    path.split('/').next() == Some("__MACOSX") || base(path) == ".DS_Store"
}

/// A package opened for a safe unzip: the central directory has been read
/// and every entry's name, type and the entry count checked, but nothing
/// decompressed yet. [`SafeZip::for_each_file`] then decompresses under
/// the size and ratio limits.
///
/// Generic over the reader so a package can be unzipped from a file on
/// disk (ExpandArticle) as well as from memory (tests, fuzzing): only the
/// central directory and one 64 KiB buffer are ever in memory.
#[derive(Debug)]
pub struct SafeZip<R> {
    package: String,
    archive: zip::ZipArchive<R>,
    limits: ZipLimits,
    /// Every file entry: where it is in the archive, its names.
    files: Vec<Entry>,
    /// Raw names of the archiver junk skipped (see [`is_archiver_junk`]).
    skipped: Vec<String>,
}

/// A file entry of a [`SafeZip`].
#[derive(Debug, Clone)]
struct Entry {
    /// Index in the archive.
    index: usize,
    /// File name (last component of `path`).
    name: String,
    /// Checked, normalised path.
    path: String,
    /// As in the central directory, for messages.
    raw: String,
}

/// One file entry as [`SafeZip::copy_each_file`] hands it over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryName {
    /// File name in the expanded folder (see [`PackageFile::name`]).
    pub name: String,
    /// Checked path inside the zip.
    pub path: String,
}

impl<R: Read + Seek> SafeZip<R> {
    /// Read the central directory and check every entry's metadata.
    pub fn open(package: &str, mut reader: R, limits: &ZipLimits) -> Result<Self> {
        let corrupt = |entry: Option<String>, message: String| Error::CorruptZip {
            package: package.to_owned(),
            entry,
            message,
        };
        let declared_records = central_directory_records(&mut reader);
        let mut archive = zip::ZipArchive::new(reader).map_err(|e| corrupt(None, e.to_string()))?;
        let entries = archive.len() as u64;
        // The zip crate indexes entries by name, so two entries with the
        // very same name collapse into one: another unzip tool would see
        // the other one. Count the central directory's own records.
        if let Some(declared) = declared_records {
            if declared != entries {
                return Err(Error::UnsafeEntry {
                    package: package.to_owned(),
                    entry: format!(
                        "{declared} central directory records, {entries} distinct names"
                    ),
                    reason: "duplicate name",
                });
            }
        }
        if entries > limits.max_entries {
            return Err(Error::ZipLimit {
                package: package.to_owned(),
                entry: None,
                limit: "entry count",
                value: entries,
                max: limits.max_entries,
            });
        }
        let unsafe_entry = |entry: &str, reason: &'static str| Error::UnsafeEntry {
            package: package.to_owned(),
            entry: entry.to_owned(),
            reason,
        };
        let mut files: Vec<Entry> = Vec::new();
        let mut skipped = Vec::new();
        // File name → the raw entry name that first had it.
        let mut seen: std::collections::BTreeMap<String, String> = Default::default();
        for i in 0..archive.len() {
            // The name as UTF-8, or decoded from CP437 when the entry does
            // not claim UTF-8 (what unzip tools show).
            let raw_name = match archive.name_for_index(i) {
                Some(name) => name.map_err(|e| corrupt(None, e.to_string()))?.into_owned(),
                None => String::new(),
            };
            // by_index (not _raw) so unsupported methods and encryption fail here.
            let entry = archive
                .by_index(i)
                .map_err(|e| corrupt(Some(raw_name.clone()), e.to_string()))?;
            // Directory entries (`./`, `figures/`) name nothing to store, but
            // a directory that would escape is still refused: it says what
            // the packing tool was up to.
            let is_dir = entry.is_dir();
            let path = if is_dir {
                check_path(package, &raw_name)?.join("/")
            } else {
                check_entry_name(package, &raw_name)?
            };
            if entry.is_symlink() {
                return Err(unsafe_entry(&raw_name, "symbolic link"));
            }
            if let Some(mode) = entry.unix_mode() {
                let kind = mode & 0o170000;
                if kind != 0 && kind != 0o100000 && kind != 0o040000 {
                    return Err(unsafe_entry(&raw_name, "not a regular file"));
                }
            }
            if is_dir {
                continue;
            }
            if is_archiver_junk(&path) {
                skipped.push(raw_name);
                continue;
            }
            let name = base(&path).to_owned();
            if let Some(first) = seen.get(&name) {
                return Err(Error::DuplicateFileName {
                    package: package.to_owned(),
                    file_name: name,
                    first: first.clone(),
                    second: raw_name,
                });
            }
            seen.insert(name.clone(), raw_name.clone());
            files.push(Entry {
                index: i,
                name,
                path,
                raw: raw_name,
            });
        }
        Ok(SafeZip {
            package: package.to_owned(),
            archive,
            limits: *limits,
            files,
            skipped,
        })
    }

    /// The file names of the file entries, in archive order.
    pub fn names(&self) -> Vec<String> {
        self.files.iter().map(|e| e.name.clone()).collect()
    }

    /// (file name, path in the zip) of the file entries, in archive order.
    pub fn entries(&self) -> Vec<(String, String)> {
        self.files
            .iter()
            .map(|e| (e.name.clone(), e.path.clone()))
            .collect()
    }

    /// The raw names of the archiver junk entries skipped.
    pub fn skipped(&self) -> &[String] {
        &self.skipped
    }

    /// Decompress every file in order and hand it to `f`. Sizes are
    /// counted on the bytes actually produced; the limits apply to the whole
    /// pass. Each call is a fresh pass, so a caller can validate the whole
    /// package first (discarding data) and only then store it. Holds each
    /// file whole in memory: for small packages and tests; ExpandArticle
    /// uses [`SafeZip::copy_each_file`].
    pub fn for_each_file(&mut self, mut f: impl FnMut(PackageFile) -> Result<()>) -> Result<()> {
        self.copy_each_file(
            |_| Ok(Vec::new()),
            |entry, data, _| {
                f(PackageFile {
                    name: entry.name,
                    path: entry.path,
                    data,
                })
            },
        )
    }

    /// Decompress every file in order into a writer `start` makes for it
    /// (a staged file; [`std::io::sink`] would make a validation pass), then hand
    /// the writer and the byte count to `finish`. Why: an entry can be
    /// hundreds of megabytes (a video, a dataset); streamed through a
    /// 64 KiB buffer, memory does not grow with it. Limits as in
    /// [`SafeZip::for_each_file`]; a write error is [`Error::TempFile`].
    pub fn copy_each_file<W: Write>(
        &mut self,
        mut start: impl FnMut(&EntryName) -> Result<W>,
        mut finish: impl FnMut(EntryName, W, u64) -> Result<()>,
    ) -> Result<()> {
        let mut total: u64 = 0;
        let mut buf = vec![0u8; 64 * 1024];
        for Entry {
            index,
            name,
            path,
            raw: raw_name,
        } in self.files.clone()
        {
            let package = self.package.as_str();
            let limits = self.limits;
            let corrupt = |message: String| Error::CorruptZip {
                package: package.to_owned(),
                entry: Some(raw_name.clone()),
                message,
            };
            let entry_name = EntryName { name, path };
            let mut out = start(&entry_name)?;
            let mut entry = self
                .archive
                .by_index(index)
                .map_err(|e| corrupt(e.to_string()))?;
            let compressed = entry.compressed_size().max(1);
            let mut produced: u64 = 0;
            loop {
                let n = entry.read(&mut buf).map_err(|e| corrupt(e.to_string()))?;
                if n == 0 {
                    break;
                }
                total += n as u64;
                produced += n as u64;
                if total > limits.max_unzipped_bytes {
                    return Err(Error::ZipLimit {
                        package: package.to_owned(),
                        entry: Some(raw_name),
                        limit: "total uncompressed size",
                        value: total,
                        max: limits.max_unzipped_bytes,
                    });
                }
                if produced > RATIO_GRACE_BYTES
                    && produced / compressed > limits.max_compression_ratio
                {
                    return Err(Error::ZipLimit {
                        package: package.to_owned(),
                        entry: Some(raw_name),
                        limit: "compression ratio",
                        value: produced / compressed,
                        max: limits.max_compression_ratio,
                    });
                }
                out.write_all(&buf[..n]).map_err(|e| Error::TempFile {
                    package: package.to_owned(),
                    operation: "write entry",
                    message: format!("{raw_name}: {e}"),
                })?;
            }
            drop(entry);
            out.flush().map_err(|e| Error::TempFile {
                package: package.to_owned(),
                operation: "write entry",
                message: format!("{raw_name}: {e}"),
            })?;
            finish(entry_name, out, produced)?;
        }
        Ok(())
    }
}

/// Unzip a package in memory under the limits. Directory entries and
/// archiver junk are skipped; every other entry must be a regular file with
/// a safe name, and no two may share a file name.
pub fn unzip_safely(
    package: &str,
    zip_bytes: &[u8],
    limits: &ZipLimits,
) -> Result<Vec<PackageFile>> {
    let mut zip = SafeZip::open(package, std::io::Cursor::new(zip_bytes), limits)?;
    let mut files = Vec::new();
    zip.for_each_file(|f| {
        files.push(f);
        Ok(())
    })?;
    Ok(files)
}

/// What an expanded package holds, by role (file names).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackageLayout {
    /// The article's JATS XML.
    pub xml: String,
    /// The article PDF, if any.
    pub pdf: Option<String>,
    /// Images ResizeImages converts (TIFF, PNG, JPEG).
    pub figures: Vec<String>,
    /// Everything else (supplementary files, figure PDFs, videos...).
    pub others: Vec<String>,
}

pub use crate::naming::IMAGE_EXTENSIONS;

fn extension(name: &str) -> String {
    name.rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default()
}

fn base(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

/// The article file of a kind: `<journal>-<id>[-vN].<ext>` (no extra parts
/// like `-fig1` or `-figures`).
fn is_main_file(name: &str, ext: &str) -> bool {
    static RE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"(?i)^[a-z][a-z0-9]*-[0-9]+(-v[0-9]+)?\.[a-z]+$")
            .expect("main file regex")
    });
    extension(name) == ext && RE.is_match(base(name))
}

/// Sort a package's files by role. The JATS XML is the top-level `.xml`
/// named like the article (`elife-00353-v1.xml`), else the only top-level `.xml`.
///
/// A file named like one of the manifests pressbot writes into the expanded
/// folder ([`crate::manifest::RESERVED_NAMES`]) is refused: it would be
/// overwritten there.
pub fn classify(package: &str, names: &[String]) -> Result<PackageLayout> {
    if let Some(reserved) = names
        .iter()
        .find(|n| crate::manifest::RESERVED_NAMES.contains(&base(n)))
    {
        return Err(Error::UnsafeEntry {
            package: package.to_owned(),
            entry: reserved.clone(),
            reason:
                "reserved name (pressbot writes its own file of that name in the expanded folder)",
        });
    }
    let top_xml: Vec<&String> = names
        .iter()
        .filter(|n| !n.contains('/') && extension(n) == "xml")
        .collect();
    let xml = top_xml
        .iter()
        .find(|n| is_main_file(n, "xml"))
        .or(if top_xml.len() == 1 {
            top_xml.first()
        } else {
            None
        })
        .map(|s| (*s).clone())
        .ok_or_else(|| Error::NoXml {
            package: package.to_owned(),
        })?;
    let pdf = names.iter().find(|n| is_main_file(n, "pdf")).cloned();
    let mut layout = PackageLayout {
        xml,
        pdf,
        ..Default::default()
    };
    for n in names {
        if *n == layout.xml || Some(n) == layout.pdf.as_ref() {
            continue;
        }
        if IMAGE_EXTENSIONS.contains(&extension(n).as_str()) {
            layout.figures.push(n.clone());
        } else {
            layout.others.push(n.clone());
        }
    }
    Ok(layout)
}

// ---------------------------------------------------------------- activity

/// `ExpandArticle`: unzip the package from `bucket_name` (the incoming or
/// silent-corrections bucket) into the expanded bucket under
/// `<article id>.<version>/<run>/<file name>`, and write the package
/// manifest ([`crate::manifest::PackageManifest`]) there as `manifest.json`.
///
/// Input: `bucket_name`, `file_name`, and `article_id`/`version`/`run` if
/// VersionLookup ran (else read from the name: version 1 if it has none).
/// Output: `article_id`, `version`, `run`, `expanded_folder`, `xml_key`,
/// `pdf_key`, `manifest_key`, `file_count`. The file list itself stays out of
/// the workflow context, which SWF caps at 32 KB.
#[derive(Debug, Clone)]
pub struct ExpandArticle {
    env: std::sync::Arc<crate::Env>,
}

impl ExpandArticle {
    pub fn new(env: std::sync::Arc<crate::Env>) -> Self {
        ExpandArticle { env }
    }

    async fn expand(&self, ctx: &crate::ActivityContext) -> Result<serde_json::Value> {
        use crate::article::{self as a, keys};
        use crate::manifest::{self as m, FileRole, ManifestFile, PackageManifest};
        let bucket_name = a::ctx_str(ctx, keys::BUCKET_NAME)?;
        let file_name = a::ctx_str(ctx, keys::FILE_NAME)?;
        let (article_id, version) = match (
            a::ctx_opt_str(ctx, keys::ARTICLE_ID)?,
            a::ctx_u32(ctx, keys::VERSION)?,
        ) {
            (Some(id), Some(v)) => (id, v),
            (id, v) => {
                let name = crate::naming::parse_package_name(&file_name)?;
                (
                    id.unwrap_or(name.article_id),
                    v.or(name.version).unwrap_or(1),
                )
            }
        };
        let run = a::run_of(ctx);
        let package = a::file_part(&file_name).to_owned();
        let limits = ZipLimits::from(&self.env.settings.activities);
        let expanded = a::bucket(&self.env, "expanded")?;
        let folder = a::expanded_folder(&article_id, version, &run);

        // The package is read where the store keeps it (embedded) or from
        // a temp file it was downloaded to (AWS), never whole in memory
        // (see `open_package`); the temp directory goes when `temp` is dropped.
        let temp = temp_dir(&self.env, &package)?;
        let zip_file =
            open_package(&self.env, &bucket_name, &file_name, &package, temp.path()).await?;

        // One pass on a blocking thread decompresses every entry, under the
        // limits, into its own file in a staging directory the store can
        // take files from without copying them (its `staging_dir`); nothing
        // is stored until the whole package has passed, so a hostile
        // package leaves nothing behind. Each entry is written once, and
        // the disk holds at most the package's unzipped bytes
        // (`activities.max_unzipped_bytes`), which the expanded folder then
        // holds anyway; memory holds only buffers. (Before, a first pass
        // decompressed everything into nothing to check the limits and a
        // second wrote the entries, which the store then copied: a third
        // of ExpandArticle's CPU, docs/benchmarks.md section 6.)
        let staging = staging_dir(&self.env, &package)?;
        let pkg = package.clone();
        let entries_dir = staging.path().to_owned();
        let cancel = ctx.cancel.clone();
        let unzipped = tokio::task::spawn_blocking(move || -> Result<Unzipped> {
            let reader = std::io::BufReader::with_capacity(256 * 1024, zip_file);
            let mut safe = SafeZip::open(&pkg, reader, &limits)?;
            let names = safe.names();
            let layout = classify(&pkg, &names)?;
            let temp_err = |operation: &'static str, e: std::io::Error| Error::TempFile {
                package: pkg.clone(),
                operation,
                message: e.to_string(),
            };
            let mut entries = Vec::with_capacity(names.len());
            let mut n = 0usize;
            safe.copy_each_file(
                |_| {
                    if cancel.is_cancelled() {
                        return Err(Error::Cancelled {
                            operation: format!("expanding {pkg}"),
                        });
                    }
                    n += 1;
                    let path = entries_dir.join(format!("entry-{n}"));
                    let file = std::fs::File::create(&path)
                        .map_err(|e| temp_err("create entry file", e))?;
                    Ok(StagedEntry {
                        path,
                        out: std::io::BufWriter::with_capacity(256 * 1024, file),
                    })
                },
                |entry, staged, size| {
                    let path = staged.finish().map_err(|e| temp_err("write entry", e))?;
                    entries.push((entry, path, size));
                    Ok(())
                },
            )?;
            Ok(Unzipped {
                layout,
                entries,
                total: names.len(),
                skipped: safe.skipped().len(),
            })
        })
        .await
        .map_err(|e| Error::Task {
            operation: format!("unzip {package}"),
            message: e.to_string(),
        })??;
        ctx.progress.report(format!(
            "unzipped {} files of {package}",
            unzipped.entries.len()
        ));

        let layout = &unzipped.layout;
        let mut files: Vec<ManifestFile> = Vec::with_capacity(unzipped.entries.len());
        for (f, path, size) in unzipped.entries {
            if ctx.cancel.is_cancelled() {
                return Err(Error::Cancelled {
                    operation: format!("expanding {package}"),
                });
            }
            let role = if layout.xml == f.name {
                FileRole::Xml
            } else if layout.pdf.as_ref() == Some(&f.name) {
                FileRole::Pdf
            } else if layout.figures.contains(&f.name) {
                FileRole::Figure
            } else {
                FileRole::Supplementary
            };
            let key = format!("{folder}/{}", f.name);
            let media_type = a::content_type(&f.name).to_owned();
            let options = pressbot_core::backend::PutOptions {
                content_type: Some(media_type.clone()),
                cache_control: None,
            };
            self.env
                .backend
                .objects
                .put_staged_file(&expanded, &key, &path, options)
                .await
                .map_err(|e| Error::store("put", &expanded, &key, e))?;
            files.push(ManifestFile {
                key,
                name: f.name,
                zip_path: f.path,
                role,
                media_type,
                size,
            });
            ctx.progress
                .report(format!("expanded {} files of {package}", files.len()));
        }
        drop(staging);
        drop(temp);
        let (total, skipped) = (unzipped.total, unzipped.skipped);
        let manifest = PackageManifest {
            format: m::FORMAT,
            package: package.clone(),
            article_id: article_id.clone(),
            version,
            folder: folder.clone(),
            files,
        };
        let xml_key = manifest
            .xml()
            .map(|f| f.key.clone())
            .ok_or_else(|| Error::NoXml {
                package: package.clone(),
            })?;
        let pdf_key = manifest.pdf().map(|f| f.key.clone());
        let manifest_key = m::key_in(&folder, m::PACKAGE_MANIFEST);
        m::write(&self.env, &manifest_key, &manifest).await?;
        tracing::info!(package = %package, folder = %folder, files = total, skipped, "package expanded");
        Ok(serde_json::json!({
            keys::ARTICLE_ID: article_id,
            keys::VERSION: version,
            keys::RUN: run,
            keys::EXPANDED_FOLDER: folder,
            keys::XML_KEY: xml_key,
            keys::PDF_KEY: pdf_key,
            keys::MANIFEST_KEY: manifest_key,
            keys::FILE_COUNT: total,
        }))
    }
}

/// A fresh temporary directory for one attempt, under
/// `activities.temp_dir` or the system temp dir; removed when dropped.
pub(crate) fn temp_dir(env: &crate::Env, package: &str) -> Result<tempfile::TempDir> {
    let mut builder = tempfile::Builder::new();
    builder.prefix("pressbot-");
    match &env.settings.activities.temp_dir {
        Some(dir) => builder.tempdir_in(dir),
        None => builder.tempdir(),
    }
    .map_err(|e| Error::TempFile {
        package: package.to_owned(),
        operation: "create temp directory",
        message: e.to_string(),
    })
}

/// What the unzip pass of ExpandArticle hands back: the layout, each
/// entry's staged file and size, the entry count and the junk skipped.
struct Unzipped {
    layout: PackageLayout,
    entries: Vec<(EntryName, std::path::PathBuf, u64)>,
    total: usize,
    skipped: usize,
}

/// An entry being written to its staged file.
struct StagedEntry {
    path: std::path::PathBuf,
    out: std::io::BufWriter<std::fs::File>,
}

impl StagedEntry {
    /// Flush and close the file; its path.
    fn finish(self) -> std::io::Result<std::path::PathBuf> {
        self.out.into_inner().map_err(|e| e.into_error())?;
        Ok(self.path)
    }
}

impl Write for StagedEntry {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.out.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// A fresh directory for an attempt's staged entries: in the object
/// store's staging directory when it has one (so entries are moved into
/// the store, not copied), else as [`temp_dir`]; removed when dropped.
fn staging_dir(env: &crate::Env, package: &str) -> Result<tempfile::TempDir> {
    match env.backend.objects.staging_dir() {
        Some(dir) => tempfile::Builder::new()
            .prefix("expand-")
            .tempdir_in(dir)
            .map_err(|e| Error::TempFile {
                package: package.to_owned(),
                operation: "create staging directory",
                message: e.to_string(),
            }),
        None => temp_dir(env, package),
    }
}

/// Open a package for reading under `activities.max_package_bytes`.
///
/// Why this way: a package comes from outside and may be huge. Its size
/// is read from the object's metadata (HEAD) and a package above the limit
/// is refused, permanently, before a byte is fetched. Then it is read in
/// place when the store keeps objects in files
/// ([`pressbot_core::backend::ObjectStore::open_file`], the embedded
/// backend: no copy), or streamed to a file in `temp`
/// ([`pressbot_core::backend::ObjectStore::get_to_file`], AWS); never held
/// in memory. The size is checked again on what was opened or written: the
/// object can be replaced between the HEAD and the GET.
pub(crate) async fn open_package(
    env: &crate::Env,
    bucket: &str,
    key: &str,
    package: &str,
    temp: &std::path::Path,
) -> Result<std::fs::File> {
    let objects = &env.backend.objects;
    let max = env.settings.activities.max_package_bytes;
    let too_large = |size: u64| Error::PackageTooLarge {
        package: package.to_owned(),
        size,
        max,
    };
    let meta = objects
        .head(bucket, key)
        .await
        .map_err(|e| Error::store("head", bucket, key, e))?
        .ok_or_else(|| {
            Error::store(
                "head",
                bucket,
                key,
                pressbot_core::Error::NotFound {
                    what: "object",
                    name: format!("{bucket}/{key}"),
                },
            )
        })?;
    if meta.size > max {
        return Err(too_large(meta.size));
    }
    if let Some((file, meta)) = objects
        .open_file(bucket, key)
        .await
        .map_err(|e| Error::store("get", bucket, key, e))?
    {
        if meta.size > max {
            return Err(too_large(meta.size));
        }
        tracing::debug!(package, size = meta.size, "package read in place");
        return Ok(file);
    }
    let path = temp.join("package.zip");
    let got = objects
        .get_to_file(bucket, key, &path)
        .await
        .map_err(|e| Error::store("get", bucket, key, e))?;
    if got.size > max {
        return Err(too_large(got.size));
    }
    tracing::debug!(
        package,
        size = got.size,
        "package downloaded to a temp file"
    );
    std::fs::File::open(&path).map_err(|e| Error::TempFile {
        package: package.to_owned(),
        operation: "open downloaded package",
        message: e.to_string(),
    })
}

#[async_trait::async_trait]
impl crate::Activity for ExpandArticle {
    fn name(&self) -> &'static str {
        "ExpandArticle"
    }

    async fn run(
        &self,
        ctx: &crate::ActivityContext,
    ) -> std::result::Result<serde_json::Value, pressbot_core::activity::ActivityFailure> {
        Ok(self.expand(ctx).await?)
    }
}
