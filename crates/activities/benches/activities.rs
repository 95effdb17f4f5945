//! The work itself, without the bot: the pure functions behind
//! ExpandArticle (`expand::unzip_safely`)
//! and ResizeImages (`images::resize_to_jpegs`) on the sample package and
//! the JATS fixtures. Throughput is in input bytes, so criterion prints MB/s.
//!
//! Run: `cargo bench -p pressbot-activities --bench activities`
//! CI smoke (each case once, debug profile): `cargo test -p pressbot-activities --bench activities`
//!
//! The fixtures are eLife articles under CC-BY; see `tests/data/NOTICE.md`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use pressbot_activities::expand::{unzip_safely, ZipLimits};
use pressbot_activities::images::resize_to_jpegs;
use std::hint::black_box;
use std::path::Path;

const PACKAGE: &str = "elife-00353-vor-v1-20121213000000.zip";

fn data(name: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("reading fixture {}: {e}", p.display()))
}

fn limits() -> ZipLimits {
    // The settings' defaults (settings/default.toml [activities]).
    ZipLimits {
        max_unzipped_bytes: 2 << 30,
        max_entries: 10_000,
        max_compression_ratio: 200,
    }
}

fn bench_expand(c: &mut Criterion) {
    let zip = data(PACKAGE);
    let mut g = c.benchmark_group("expand");
    g.throughput(Throughput::Bytes(zip.len() as u64));
    g.bench_function("unzip_safely/elife-00353", |b| {
        b.iter(|| unzip_safely(PACKAGE, black_box(&zip), &limits()).expect("valid package"))
    });
    g.finish();
}

fn bench_resize(c: &mut Criterion) {
    let files = unzip_safely(PACKAGE, &data(PACKAGE), &limits()).expect("valid package");
    let tif = files
        .into_iter()
        .find(|f| f.name.ends_with(".tif"))
        .expect("the sample package has a TIFF figure");
    let mut g = c.benchmark_group("resize_images");
    // Images are slow: fewer samples keep the run short.
    g.sample_size(10);
    g.throughput(Throughput::Bytes(tif.data.len() as u64));
    g.bench_function("resize_to_jpegs/elife-00353-fig1 (1500,617 px, q85)", |b| {
        b.iter(|| {
            resize_to_jpegs(black_box(&tif.data), &tif.name, &[1500, 617], 85).expect("valid TIFF")
        })
    });
    g.finish();
}

criterion_group!(benches, bench_expand, bench_resize);
criterion_main!(benches);
