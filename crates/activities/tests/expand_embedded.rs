//! ExpandArticle on the embedded store, the one that stages: entries are
//! written once and moved into the expanded bucket, the package is read
//! where the store keeps it, and a package refused late stores nothing and
//! leaves nothing staged.

mod common;

use bytes::Bytes;
use common::{ctx, read_data, settings};
use pressbot_activities::expand::unzip_safely;
use pressbot_activities::{Env, Registry};
use pressbot_core::activity::FailureKind;
use pressbot_core::backend::{ObjectStore, PutOptions};
use pressbot_local::{LocalBackend, LocalOptions};
use serde_json::json;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

const PACKAGE: &str = "elife-00353-vor-v1-20121213000000.zip";

fn backend(dir: &Path) -> LocalBackend {
    LocalBackend::open(
        dir,
        LocalOptions {
            domain: "test".into(),
            poll_interval: Duration::from_millis(20),
            long_poll: Duration::from_millis(300),
        },
    )
    .expect("open embedded backend")
}

async fn registry(b: &LocalBackend, s: pressbot_core::settings::Settings) -> Registry {
    for role in ["incoming", "expanded"] {
        b.create_bucket(&s.bucket(role).expect("bucket"))
            .await
            .expect("create bucket");
    }
    Registry::standard(Arc::new(Env {
        backend: b.backend(),
        settings: Arc::new(s),
    }))
}

/// What is left in the store's staging directory.
fn staged(b: &LocalBackend) -> Vec<String> {
    let dir = b.staging_dir().expect("staging dir");
    std::fs::read_dir(&dir)
        .expect("read staging dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect()
}

#[tokio::test]
async fn every_entry_is_stored_once_with_its_bytes_and_etag_and_nothing_stays_staged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let b = backend(dir.path());
    let s = settings();
    let (incoming, expanded) = (s.bucket("incoming").unwrap(), s.bucket("expanded").unwrap());
    let registry = registry(&b, s).await;
    let zip = read_data(PACKAGE);
    b.put(
        &incoming,
        PACKAGE,
        Bytes::from(zip.clone()),
        PutOptions::default(),
    )
    .await
    .expect("put package");
    let expand = registry.get("ExpandArticle").expect("registered");
    let out = expand
        .run(&ctx(json!({"bucket_name": incoming, "file_name": PACKAGE})))
        .await
        .unwrap_or_else(|e| panic!("ExpandArticle: {e}"));
    let folder = out["expanded_folder"].as_str().expect("folder").to_owned();
    let entries = unzip_safely(PACKAGE, &zip, &(&settings().activities).into()).expect("unzip");
    assert!(
        entries.len() >= 3,
        "the fixture has its files: {}",
        entries.len()
    );
    assert_eq!(out["file_count"], entries.len());
    for f in &entries {
        let key = format!("{folder}/{}", f.name);
        let got = b.get(&expanded, &key).await.expect("stored entry");
        assert!(got.body == f.data, "{key}: bytes differ");
        assert_eq!(got.meta.etag, b.etag_kind().etag(&f.data), "{key}");
    }
    assert_eq!(staged(&b), Vec::<String>::new(), "nothing left staged");
    assert_eq!(
        std::fs::metadata(dir.path().join("objects").join(&incoming).join(PACKAGE))
            .expect("package")
            .len(),
        zip.len() as u64,
        "the package read in place is untouched"
    );
}

#[tokio::test]
async fn a_package_refused_at_its_last_entry_stores_nothing_and_leaves_nothing_staged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let b = backend(dir.path());
    let mut s = settings();
    s.activities.max_unzipped_bytes = 100_000;
    let (incoming, expanded) = (s.bucket("incoming").unwrap(), s.bucket("expanded").unwrap());
    let registry = registry(&b, s).await;
    // Valid files first; the last one takes the total over the limit.
    let noise: Vec<u8> = (0..60_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, body) in [
        ("elife-00353-v1.xml", &b"<article/>"[..]),
        ("elife-00353-fig1-v1.tif", &noise[..]),
        ("elife-00353-fig2-v1.tif", &noise[..]),
    ] {
        zip.start_file(name, opts).expect("start");
        std::io::Write::write_all(&mut zip, body).expect("write");
    }
    let zip = zip.finish().expect("finish").into_inner();
    let package = "elife-00353-vor-v1-20121213000000.zip";
    b.put(&incoming, package, Bytes::from(zip), PutOptions::default())
        .await
        .expect("put package");
    let expand = registry.get("ExpandArticle").expect("registered");
    let failure = expand
        .run(&ctx(json!({"bucket_name": incoming, "file_name": package})))
        .await
        .expect_err("over the unzipped-size limit");
    assert_eq!(failure.kind, FailureKind::Permanent, "{failure:?}");
    assert!(
        failure.message.contains("elife-00353-fig2-v1.tif"),
        "names the entry: {failure:?}"
    );
    assert_eq!(
        b.list(&expanded, "").await.expect("list"),
        vec![],
        "nothing stored"
    );
    assert_eq!(staged(&b), Vec::<String>::new(), "nothing left staged");
}

/// ResizeImages on the embedded store reads each figure from the store's
/// own file into a reused buffer: its JPEGs are byte for byte those of
/// `resize_figure` on the figure's bytes, figure after figure (a reused
/// buffer holding another figure's pixels would show).
#[tokio::test]
async fn resize_images_on_the_embedded_store_makes_the_jpegs_resize_figure_makes() {
    use pressbot_activities::images::{resize_figure, ImageLimits};
    use pressbot_activities::manifest::ImagesManifest;
    let dir = tempfile::tempdir().expect("tempdir");
    let b = backend(dir.path());
    let s = settings();
    let (incoming, expanded) = (s.bucket("incoming").unwrap(), s.bucket("expanded").unwrap());
    let (widths, quality) = (s.activities.image_widths.clone(), s.activities.jpeg_quality);
    let limits = ImageLimits::from(&s.activities);
    let registry = registry(&b, s).await;
    // The real package plus figures of other sizes and formats, largest
    // first, so later figures reuse the larger buffers of earlier ones.
    let mut package = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default();
    for f in unzip_safely(
        PACKAGE,
        &read_data(PACKAGE),
        &(&settings().activities).into(),
    )
    .expect("unzip")
    {
        package.start_file(f.name.as_str(), opts).expect("start");
        std::io::Write::write_all(&mut package, &f.data).expect("write");
    }
    for (name, (w, h), format) in [
        (
            "elife-00353-fig8-v1.tif",
            (1900, 1300),
            image::ImageFormat::Tiff,
        ),
        (
            "elife-00353-fig9-v1.png",
            (900, 700),
            image::ImageFormat::Png,
        ),
        (
            "elife-00353-fig10-v1.tif",
            (620, 410),
            image::ImageFormat::Tiff,
        ),
    ] {
        let img = image::RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([
                (x * 255 / w) as u8,
                (y * 255 / h) as u8,
                ((x ^ y) & 0xFF) as u8,
            ])
        });
        let mut bytes = std::io::Cursor::new(Vec::new());
        img.write_to(&mut bytes, format).expect("encode figure");
        package.start_file(name, opts).expect("start");
        std::io::Write::write_all(&mut package, bytes.get_ref()).expect("write");
    }
    let package = package.finish().expect("finish").into_inner();
    b.put(
        &incoming,
        PACKAGE,
        Bytes::from(package),
        PutOptions::default(),
    )
    .await
    .expect("put package");
    let mut context = json!({"bucket_name": incoming, "file_name": PACKAGE});
    for step in ["ExpandArticle", "ResizeImages"] {
        let out = registry
            .get(step)
            .expect("registered")
            .run(&ctx(context.clone()))
            .await
            .unwrap_or_else(|e| panic!("{step}: {e}"));
        common::merge(&mut context, out);
    }
    let key = context["images_key"].as_str().expect("images_key");
    let manifest: ImagesManifest =
        serde_json::from_slice(&b.get(&expanded, key).await.expect("images.json").body)
            .expect("images manifest");
    assert!(
        manifest.images.len() >= 2,
        "{} figures",
        manifest.images.len()
    );
    for image in &manifest.images {
        let source = b.get(&expanded, &image.source).await.expect("figure");
        let expected = resize_figure(&source.body, &image.name, &widths, quality, &limits)
            .expect("resize_figure");
        assert_eq!(
            image.renditions.len(),
            expected.jpegs.len(),
            "{}",
            image.name
        );
        for (rendition, jpeg) in image.renditions.iter().zip(&expected.jpegs) {
            let got = b.get(&expanded, &rendition.key).await.expect("rendition");
            assert!(got.body == jpeg.jpeg, "{}: JPEG differs", rendition.key);
        }
    }
}
