//! Convert JATS files to article-json on stdout, warnings on stderr:
//! `cargo run --release -p pressbot-jats --example convert -- FILE.xml...`.
//! Every referenced file is assumed present (placeholder URLs); used for
//! the peak-memory figure in docs/benchmarks.md and for eyeballing output.

use pressbot_jats::{convert, Options, PackageFile, WebImage};

fn main() {
    let mut failed = false;
    for path in std::env::args().skip(1) {
        let xml = match std::fs::read(&path) {
            Ok(x) => x,
            Err(e) => {
                eprintln!("{path}: {e}");
                failed = true;
                continue;
            }
        };
        let text = String::from_utf8_lossy(&xml);
        let mut files: Vec<PackageFile> = Vec::new();
        for part in text.split("xlink:href=\"").skip(1) {
            let Some(end) = part.find('"') else { continue };
            let href = &part[..end];
            if href.contains(':')
                || href.contains('/')
                || files.iter().any(|f| f.name.starts_with(href))
            {
                continue;
            }
            let name = if href.contains('.') {
                href.to_owned()
            } else {
                format!("{href}.tif")
            };
            files.push(PackageFile {
                url: format!("https://cdn.example.org/{name}"),
                media_type: "image/tiff".into(),
                web: vec![WebImage {
                    url: format!("https://cdn.example.org/{name}-1500w.jpg"),
                    filename: format!("{name}-1500w.jpg"),
                    width: 1500,
                    height: 1000,
                }],
                name,
            });
        }
        let opts = Options {
            files,
            iiif_base_url: "https://iiif.example.org/iiif/2".into(),
            ..Options::default()
        };
        let name = path.rsplit('/').next().unwrap_or(&path);
        match convert(&xml, name, &opts) {
            Ok(c) => {
                for w in &c.warnings {
                    eprintln!("{name}: warning: {w}");
                }
                match serde_json::to_string_pretty(&c.article) {
                    Ok(s) => println!("{s}"),
                    Err(e) => {
                        eprintln!("{name}: {e}");
                        failed = true;
                    }
                }
            }
            Err(e) => {
                eprintln!("{e}");
                failed = true;
            }
        }
    }
    if failed {
        std::process::exit(1);
    }
}
