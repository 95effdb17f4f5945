//! ConvertJATS's core: the largest fixture (elife-00007, 191 KB of JATS,
//! 100+ references, figures, tables, decision letter) from bytes to
//! article-json, and to its serialised JSON. `cargo bench -p pressbot-jats`;
//! figures in docs/benchmarks.md.

use criterion::{criterion_group, criterion_main, Criterion};
use pressbot_jats::{convert, Options, PackageFile, WebImage};
use std::path::Path;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/jats")
            .join(name),
    )
    .expect("fixture")
}

/// Every file the XML refers to, as a package would hold it.
fn files(xml: &str) -> Vec<PackageFile> {
    let mut out: Vec<PackageFile> = Vec::new();
    for part in xml.split("xlink:href=\"").skip(1) {
        let Some(end) = part.find('"') else { continue };
        let href = &part[..end];
        if href.contains(':') || href.contains('/') || out.iter().any(|f| f.name.starts_with(href))
        {
            continue;
        }
        let name = if href.contains('.') {
            href.to_owned()
        } else {
            format!("{href}.tif")
        };
        let web = vec![WebImage {
            url: format!("https://cdn.example.org/{name}-1500w.jpg"),
            filename: format!("{name}-1500w.jpg"),
            width: 1500,
            height: 1000,
        }];
        out.push(PackageFile {
            url: format!("https://cdn.example.org/{name}"),
            media_type: "image/tiff".into(),
            name,
            web,
        });
    }
    out
}

fn bench(c: &mut Criterion) {
    let xml = fixture("elife-00007-v1.xml");
    let opts = Options {
        files: files(&String::from_utf8_lossy(&xml)),
        iiif_base_url: "https://iiif.example.org/iiif/2".into(),
        ..Options::default()
    };
    let name = "elife-00007-v1.xml";
    convert(&xml, name, &opts).expect("the fixture converts");
    let mut g = c.benchmark_group("convert_jats");
    g.bench_function("elife-00007 to Article", |b| {
        b.iter(|| convert(&xml, name, &opts).expect("converts"))
    });
    g.bench_function("elife-00007 to JSON bytes", |b| {
        b.iter(|| {
            let c = convert(&xml, name, &opts).expect("converts");
            serde_json::to_vec(&c.article).expect("serialises")
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
