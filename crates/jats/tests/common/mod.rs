//! What the converter's integration tests share: the fixtures, the package
//! a fixture would come in, and the schema validators.
#![allow(dead_code)] // each test file uses its own subset

use pressbot_jats::{Options, PackageFile, Status, WebImage};
use std::path::{Path, PathBuf};

/// Every fixture XML file: the crate's own and the repository's.
pub fn fixtures() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out: Vec<PathBuf> = [
        root.join("tests/fixtures"),
        root.join("../../tests/fixtures/jats"),
    ]
    .iter()
    .flat_map(|d| std::fs::read_dir(d).unwrap_or_else(|e| panic!("{}: {e}", d.display())))
    .map(|e| e.unwrap().path())
    .filter(|p| p.extension().is_some_and(|x| x == "xml"))
    .collect();
    out.sort();
    assert!(out.len() >= 5, "fixtures missing: {out:?}");
    out
}

/// The files a package of this XML would hold: every `xlink:href` that is
/// not a URL, as a deposited file with web renditions for images.
pub fn package_files(xml: &str, id: &str) -> Vec<PackageFile> {
    let mut out: Vec<PackageFile> = Vec::new();
    for part in xml.split("xlink:href=\"").skip(1) {
        let href = &part[..part.find('"').unwrap()];
        if href.contains(':') || href.starts_with('#') || href.contains('/') {
            continue;
        }
        let (name, media_type) = match href.rsplit_once('.') {
            Some((_, ext)) => (
                href.to_owned(),
                match ext {
                    "tif" | "tiff" => "image/tiff",
                    "jpg" | "jpeg" => "image/jpeg",
                    "gif" => "image/gif",
                    "png" => "image/png",
                    "pdf" => "application/pdf",
                    "mp4" => "video/mp4",
                    "docx" => {
                        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
                    }
                    "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    "zip" => "application/zip",
                    _ => "application/octet-stream",
                },
            ),
            None => (format!("{href}.tif"), "image/tiff"),
        };
        if out.iter().any(|f| f.name == name) {
            continue;
        }
        let url = format!("https://cdn.example.org/articles/{id}/{name}");
        let web = if media_type.starts_with("image/") {
            let stem = name.rsplit_once('.').unwrap().0;
            [1500, 617]
                .iter()
                .map(|w| WebImage {
                    url: format!("https://cdn.example.org/articles/{id}/{stem}-{w}w.jpg"),
                    filename: format!("{stem}-{w}w.jpg"),
                    width: *w,
                    height: w * 3 / 4,
                })
                .collect()
        } else {
            Vec::new()
        };
        out.push(PackageFile {
            name,
            url,
            media_type: media_type.to_owned(),
            web,
        });
    }
    out
}

pub fn validator(status: Status) -> jsonschema::Validator {
    let file = match status {
        Status::Vor => "article-vor.v8.json",
        Status::Poa => "article-poa.v4.json",
    };
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/schema")
        .join(file);
    let schema: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    jsonschema::draft4::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The options a package of this fixture would give the converter.
pub fn options_for(xml: &str, id: &str) -> Options {
    Options {
        files: package_files(xml, id),
        pdf: Some(format!(
            "https://cdn.example.org/articles/{id}/elife-{id}-v1.pdf"
        )),
        iiif_base_url: "https://iiif.example.org/iiif/2".into(),
        ..Options::default()
    }
}

/// The article id of a fixture file name (`elife-00353-v1.xml` → `00353`).
pub fn id_of(name: &str) -> String {
    name.split('-').nth(1).unwrap_or_default().to_owned()
}

/// Schema violations of a converted article (at most 20), empty when valid.
pub fn violations(
    vor: &jsonschema::Validator,
    poa: &jsonschema::Validator,
    article: &pressbot_jats::Article,
) -> Vec<String> {
    let json = serde_json::to_value(article).expect("article serialises");
    let validator = match article.status {
        Some(Status::Poa) => poa,
        _ => vor,
    };
    validator
        .iter_errors(&json)
        .take(20)
        .map(|e| format!("  {} at {}", e, e.instance_path))
        .collect()
}
