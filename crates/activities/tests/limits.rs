//! Limits on hostile input: a package's size is checked before it is
//! downloaded, a package is unzipped from a temp file (peak memory of a
//! ~100 MB package measured in a fresh child process), and figures are
//! refused on their header's dimensions before decoding (PNG and TIFF
//! header bombs claiming 100 000 × 100 000 pixels).

mod common;

use async_trait::async_trait;
use bytes::Bytes;
use common::{ctx, env_with, read_data, settings, MemStore, Unused};
use image::{DynamicImage, ImageFormat, RgbImage};
use pressbot_activities::error::Error;
use pressbot_activities::images::{check_dimensions, resize_figure, ImageLimits};
use pressbot_activities::{Activity, Env, Registry};
use pressbot_core::activity::FailureKind;
use pressbot_core::backend::{Backend, Object, ObjectMeta, ObjectStore, PutOptions};
use pressbot_core::time::Timestamp;
use serde_json::json;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

const PACKAGE: &str = "elife-00353-vor-v1-20121213000000.zip";

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

// ------------------------------------------------------------ package size

#[tokio::test]
async fn a_package_over_the_size_limit_is_refused_before_download() {
    let mut s = settings();
    let package = read_data(PACKAGE);
    s.activities.max_package_bytes = package.len() as u64 - 1;
    let store = Arc::new(MemStore::default());
    let incoming = s.bucket("incoming").unwrap();
    let expanded = s.bucket("expanded").unwrap();
    store.insert(&incoming, PACKAGE, package.clone());
    let registry = Registry::standard(env_with(store.clone(), s));
    let e = registry
        .get("ExpandArticle")
        .unwrap()
        .run(&ctx(json!({"bucket_name": incoming, "file_name": PACKAGE})))
        .await
        .unwrap_err();
    assert_eq!(e.kind, FailureKind::Permanent, "{}", e.message);
    let expected = format!(
        "{PACKAGE}: package is {} bytes, above the limit of {} bytes (activities.max_package_bytes)",
        package.len(),
        package.len() - 1
    );
    assert_eq!(e.message, expected);
    assert_eq!(store.gets.load(Ordering::SeqCst), 0, "nothing downloaded");
    assert!(store.keys(&expanded).is_empty());
}

#[tokio::test]
async fn a_package_at_the_size_limit_is_expanded() {
    let mut s = settings();
    let package = read_data(PACKAGE);
    s.activities.max_package_bytes = package.len() as u64;
    let dir = tempfile::tempdir().unwrap();
    s.activities.temp_dir = Some(dir.path().to_owned());
    let store = Arc::new(MemStore::default());
    let incoming = s.bucket("incoming").unwrap();
    let expanded = s.bucket("expanded").unwrap();
    store.insert(&incoming, PACKAGE, package);
    let registry = Registry::standard(env_with(store.clone(), s));
    let out = registry
        .get("ExpandArticle")
        .unwrap()
        .run(&ctx(json!({"bucket_name": incoming, "file_name": PACKAGE})))
        .await
        .unwrap();
    assert_eq!(out["file_count"], 3);
    assert_eq!(store.keys(&expanded).len(), 4, "3 files and the manifest");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "the temp files are gone"
    );
}

// ------------------------------------------------------------ image bombs

const BOMB: u32 = 100_000;

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn encode(format: ImageFormat) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    DynamicImage::ImageRgb8(RgbImage::new(2, 2))
        .write_to(&mut out, format)
        .unwrap();
    out.into_inner()
}

/// A valid 2 × 2 PNG whose IHDR says `w` × `h` (CRC fixed, so only the
/// size is a lie): ~70 bytes claiming 30 GB of RGB.
fn png_bomb(w: u32, h: u32) -> Vec<u8> {
    let mut png = encode(ImageFormat::Png);
    assert_eq!(&png[12..16], b"IHDR");
    png[16..20].copy_from_slice(&w.to_be_bytes());
    png[20..24].copy_from_slice(&h.to_be_bytes());
    let crc = crc32(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    png
}

/// A valid 2 × 2 TIFF whose first IFD says `w` × `h` (ImageWidth and
/// ImageLength rewritten as LONGs).
fn tiff_bomb(w: u32, h: u32) -> Vec<u8> {
    let mut tif = encode(ImageFormat::Tiff);
    assert_eq!(&tif[0..4], b"II*\0", "little-endian TIFF");
    let ifd = u32::from_le_bytes(tif[4..8].try_into().unwrap()) as usize;
    let n = u16::from_le_bytes(tif[ifd..ifd + 2].try_into().unwrap()) as usize;
    let mut patched = 0;
    for i in 0..n {
        let at = ifd + 2 + 12 * i;
        let tag = u16::from_le_bytes(tif[at..at + 2].try_into().unwrap());
        let value = match tag {
            256 => w,
            257 => h,
            _ => continue,
        };
        tif[at + 2..at + 4].copy_from_slice(&4u16.to_le_bytes());
        tif[at + 4..at + 8].copy_from_slice(&1u32.to_le_bytes());
        tif[at + 8..at + 12].copy_from_slice(&value.to_le_bytes());
        patched += 1;
    }
    assert_eq!(patched, 2, "width and length tags found");
    tif
}

#[test]
fn png_and_tiff_header_bombs_are_refused_quickly_without_allocating() {
    let bombs = [
        ("bomb.png", png_bomb(BOMB, BOMB)),
        ("bomb.tif", tiff_bomb(BOMB, BOMB)),
    ];
    let before = peak_rss_kib();
    let started = Instant::now();
    for (name, bytes) in &bombs {
        assert!(bytes.len() < 1024, "{name} is tiny: {} bytes", bytes.len());
        // The header really says so (a reader that trusted it would allocate).
        let claimed = image::ImageReader::new(std::io::Cursor::new(bytes))
            .with_guessed_format()
            .unwrap()
            .into_dimensions()
            .unwrap();
        assert_eq!(claimed, (BOMB, BOMB), "{name}");
        for _ in 0..20 {
            let e = resize_figure(bytes, name, &[617], 85, &ImageLimits::DEFAULT).unwrap_err();
            assert!(matches!(e, Error::ImageTooLarge { .. }), "{name}: {e}");
            assert_eq!(
                e.to_string(),
                format!(
                    "{name}: image is 100000 × 100000 pixels, width 100000 is above the limit of 20000 (activities.max_image_width)"
                )
            );
        }
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "refused in {:?}",
        started.elapsed()
    );
    if let (Some(before), Some(after)) = (before, peak_rss_kib()) {
        assert!(
            after.saturating_sub(before) < 16 * 1024,
            "refusing header bombs grew the peak RSS by {} KiB",
            after - before
        );
    }
}

#[test]
fn each_limit_is_named_and_the_valid_image_still_decodes() {
    let limits = ImageLimits {
        max_width: 1000,
        max_height: 1000,
        max_pixels: 10_000,
    };
    let tall = png_bomb(10, 5000);
    let e = check_dimensions(&tall, "tall.png", &limits).unwrap_err();
    assert!(
        e.to_string()
            .contains("10 × 5000 pixels, height 5000 is above the limit of 1000 (activities.max_image_height)"),
        "{e}"
    );
    let big = tiff_bomb(200, 200);
    let e = check_dimensions(&big, "big.tif", &limits).unwrap_err();
    assert!(
        e.to_string().contains(
            "200 × 200 pixels, pixel count 40000 is above the limit of 10000 (activities.max_image_pixels)"
        ),
        "{e}"
    );
    for format in [ImageFormat::Png, ImageFormat::Tiff] {
        let ok = encode(format);
        assert_eq!(check_dimensions(&ok, "ok", &limits).unwrap(), (2, 2));
        let r = resize_figure(&ok, "ok", &[617], 85, &limits).unwrap();
        assert_eq!((r.width, r.height), (2, 2));
    }
}

#[tokio::test]
async fn resize_images_fails_permanently_on_a_header_bomb_naming_the_figure() {
    let s = settings();
    let store = Arc::new(MemStore::default());
    let expanded = s.bucket("expanded").unwrap();
    let manifest = json!({
        "format": 1, "package": "elife-1-vor-v1.zip", "article_id": "1", "version": 1,
        "folder": "f",
        "files": [
            {"key": "f/elife-1-v1.xml", "name": "elife-1-v1.xml", "zip_path": "elife-1-v1.xml",
             "role": "xml", "media_type": "application/xml", "size": 4},
            {"key": "f/elife-1-fig1-v1.tif", "name": "elife-1-fig1-v1.tif",
             "zip_path": "elife-1-fig1-v1.tif", "role": "figure",
             "media_type": "image/tiff", "size": 10}
        ]
    });
    store.insert(
        &expanded,
        "f/manifest.json",
        serde_json::to_vec(&manifest).unwrap(),
    );
    store.insert(&expanded, "f/elife-1-fig1-v1.tif", tiff_bomb(BOMB, BOMB));
    let registry = Registry::standard(env_with(store.clone(), s));
    let e = registry
        .get("ResizeImages")
        .unwrap()
        .run(&ctx(
            json!({"manifest_key": "f/manifest.json", "article_id": "1", "version": 1}),
        ))
        .await
        .unwrap_err();
    assert_eq!(e.kind, FailureKind::Permanent, "{}", e.message);
    assert!(
        e.message
            .starts_with("elife-1-fig1-v1.tif: image is 100000 × 100000 pixels"),
        "{}",
        e.message
    );
    assert_eq!(store.keys(&expanded).len(), 2, "no rendition written");
}

// ------------------------------------------------------------ memory

/// Objects as files under a directory, so the child process below holds
/// nothing in memory that the activity does not: `get_to_file` and
/// `put_file` are file copies, as on the embedded backend.
#[derive(Debug)]
struct DiskStore(PathBuf);

impl DiskStore {
    fn path(&self, bucket: &str, key: &str) -> PathBuf {
        self.0.join(bucket).join(key)
    }
    fn meta(&self, bucket: &str, key: &str) -> pressbot_core::Result<Option<ObjectMeta>> {
        Ok(std::fs::metadata(self.path(bucket, key))
            .ok()
            .map(|m| ObjectMeta {
                key: key.to_owned(),
                size: m.len(),
                etag: format!("size-{}", m.len()),
                content_type: None,
                cache_control: None,
                last_modified: Timestamp::now(),
            }))
    }
    fn io(path: &Path) -> impl FnOnce(std::io::Error) -> pressbot_core::Error + '_ {
        move |source| pressbot_core::Error::Io {
            path: path.to_owned(),
            source,
        }
    }
    fn copy_in(&self, bucket: &str, key: &str, from: &Path) -> pressbot_core::Result<ObjectMeta> {
        let to = self.path(bucket, key);
        std::fs::create_dir_all(to.parent().unwrap()).map_err(Self::io(&to))?;
        std::fs::copy(from, &to).map_err(Self::io(from))?;
        Ok(self.meta(bucket, key)?.unwrap())
    }
}

#[async_trait]
impl ObjectStore for DiskStore {
    async fn get(&self, bucket: &str, key: &str) -> pressbot_core::Result<Object> {
        let path = self.path(bucket, key);
        let body = std::fs::read(&path).map_err(Self::io(&path))?;
        Ok(Object {
            meta: self.meta(bucket, key)?.unwrap(),
            body: Bytes::from(body),
        })
    }
    async fn get_to_file(
        &self,
        bucket: &str,
        key: &str,
        path: &Path,
    ) -> pressbot_core::Result<ObjectMeta> {
        let from = self.path(bucket, key);
        std::fs::copy(&from, path).map_err(Self::io(&from))?;
        Ok(self.meta(bucket, key)?.unwrap())
    }
    async fn put(
        &self,
        bucket: &str,
        key: &str,
        body: Bytes,
        _: PutOptions,
    ) -> pressbot_core::Result<ObjectMeta> {
        let to = self.path(bucket, key);
        std::fs::create_dir_all(to.parent().unwrap()).map_err(Self::io(&to))?;
        std::fs::write(&to, &body).map_err(Self::io(&to))?;
        Ok(self.meta(bucket, key)?.unwrap())
    }
    async fn put_file(
        &self,
        bucket: &str,
        key: &str,
        path: &Path,
        _: PutOptions,
    ) -> pressbot_core::Result<ObjectMeta> {
        self.copy_in(bucket, key, path)
    }
    async fn head(&self, bucket: &str, key: &str) -> pressbot_core::Result<Option<ObjectMeta>> {
        self.meta(bucket, key)
    }
    async fn list(&self, _: &str, _: &str) -> pressbot_core::Result<Vec<ObjectMeta>> {
        Ok(Vec::new())
    }
    async fn copy(
        &self,
        fb: &str,
        fk: &str,
        tb: &str,
        tk: &str,
    ) -> pressbot_core::Result<ObjectMeta> {
        self.copy_in(tb, tk, &self.path(fb, fk))
    }
    async fn delete(&self, bucket: &str, key: &str) -> pressbot_core::Result<()> {
        let _ = std::fs::remove_file(self.path(bucket, key));
        Ok(())
    }
    async fn presign_get(&self, b: &str, k: &str, _: Duration) -> pressbot_core::Result<String> {
        Ok(format!("file://{}", self.path(b, k).display()))
    }
    async fn create_bucket(&self, _: &str) -> pressbot_core::Result<()> {
        Ok(())
    }
    async fn set_notification(&self, _: &str, _: &str) -> pressbot_core::Result<()> {
        Ok(())
    }
}

/// Write the sample article plus incompressible supplementary files, all
/// stored (no compression), `mib` MiB in all, streaming to disk.
fn write_big_package(path: &Path, mib: u64) {
    let sample = read_data(PACKAGE);
    let mut src = zip::ZipArchive::new(std::io::Cursor::new(sample)).unwrap();
    let out = std::fs::File::create(path).unwrap();
    let mut w = zip::ZipWriter::new(std::io::BufWriter::new(out));
    let stored = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(true);
    let mut written = 0u64;
    for i in 0..src.len() {
        let mut entry = src.by_index(i).unwrap();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        w.start_file(entry.name().unwrap(), stored).unwrap();
        w.write_all(&data).unwrap();
        written += data.len() as u64;
    }
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut chunk = vec![0u8; 1 << 20];
    let mut n = 0;
    while written < mib << 20 {
        n += 1;
        w.start_file(format!("elife-00353-supp{n}-v1.mp4"), stored)
            .unwrap();
        for _ in 0..25 {
            for word in chunk.chunks_mut(8) {
                // xorshift64: incompressible, reproducible, cheap.
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                word.copy_from_slice(&state.to_le_bytes());
            }
            w.write_all(&chunk).unwrap();
            written += chunk.len() as u64;
        }
    }
    w.finish().unwrap().flush().unwrap();
}

const CHILD_ENV: &str = "PRESSBOT_LIMITS_RSS_CHILD";
const PACKAGE_MIB: u64 = 100;

/// The CI-runnable memory check: ExpandArticle on a ~100 MiB package in a
/// fresh process (so nothing else this test binary did counts), whose
/// peak RSS must stay far below the package's size. Before packages were
/// streamed it was above the package's size (the zip in memory, plus
/// entries).
#[test]
fn expanding_a_100_mib_package_keeps_peak_rss_far_below_its_size() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        return child_expands(Path::new(&dir));
    }
    let dir = tempfile::tempdir().unwrap();
    let s = settings();
    let incoming = s.bucket("incoming").unwrap();
    let package = dir.path().join("store").join(&incoming).join(PACKAGE);
    std::fs::create_dir_all(package.parent().unwrap()).unwrap();
    write_big_package(&package, PACKAGE_MIB);
    let size = std::fs::metadata(&package).unwrap().len();
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "expanding_a_100_mib_package_keeps_peak_rss_far_below_its_size",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let field = |name: &str| -> u64 {
        stdout
            .lines()
            .find_map(|l| l.find(name).map(|at| &l[at + name.len()..]))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {stdout}"))
    };
    let (start, peak, files) = (
        field("RSS_START_KIB="),
        field("RSS_PEAK_KIB="),
        field("FILES="),
    );
    println!(
        "package {} MiB, {files} files: child peak RSS {} MiB (at start {} MiB)",
        size >> 20,
        peak / 1024,
        start / 1024
    );
    assert_eq!(files, 7, "3 sample files + 4 supplementary");
    // The zip alone is 100 MiB; the whole process stays under a quarter.
    assert!(
        peak * 1024 < size / 4,
        "peak RSS {peak} KiB for a {size}-byte package"
    );
}

fn child_expands(dir: &Path) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut s = settings();
    s.activities.temp_dir = Some(dir.to_owned());
    let incoming = s.bucket("incoming").unwrap();
    let env = Arc::new(Env {
        backend: Backend {
            workflows: Arc::new(Unused),
            queues: Arc::new(Unused),
            objects: Arc::new(DiskStore(dir.join("store"))),
            leases: Arc::new(pressbot_core::lease::MemLeases::default()),
        },
        settings: Arc::new(s),
    });
    let start = peak_rss_kib().unwrap_or(0);
    let out = runtime
        .block_on(
            pressbot_activities::expand::ExpandArticle::new(env)
                .run(&ctx(json!({"bucket_name": incoming, "file_name": PACKAGE}))),
        )
        .unwrap();
    println!("RSS_START_KIB={start}");
    println!("RSS_PEAK_KIB={}", peak_rss_kib().unwrap_or(u64::MAX));
    println!("FILES={}", out["file_count"]);
}
