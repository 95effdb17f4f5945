//! Every fixture converts to article-json that validates against eLife's
//! own models (api-raml `article-vor.v8` / `article-poa.v4`, in
//! `tests/schema/`), with every package file the XML refers to present.

use pressbot_jats::{convert, Options, PackageFile, Status, WebImage};
use std::path::{Path, PathBuf};

fn fixtures() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out: Vec<PathBuf> = [root.join("tests/fixtures"), root.join("../../tests/fixtures/jats")]
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
                    "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
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

fn validator(status: Status) -> jsonschema::Validator {
    let file = match status {
        Status::Vor => "article-vor.v8.json",
        Status::Poa => "article-poa.v4.json",
    };
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schema").join(file);
    let schema: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    jsonschema::draft4::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_fixture_is_schema_valid_article_json() {
    let vor = validator(Status::Vor);
    let poa = validator(Status::Poa);
    let mut failures = Vec::new();
    for path in fixtures() {
        let xml = std::fs::read_to_string(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let id = name.split('-').nth(1).unwrap().to_owned();
        let opts = Options {
            files: package_files(&xml, &id),
            pdf: Some(format!("https://cdn.example.org/articles/{id}/elife-{id}-v1.pdf")),
            iiif_base_url: "https://iiif.example.org/iiif/2".into(),
            ..Options::default()
        };
        let conversion = convert(xml.as_bytes(), &name, &opts)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let json = serde_json::to_value(&conversion.article).unwrap();
        let validator = match conversion.article.status {
            Some(Status::Poa) => &poa,
            _ => &vor,
        };
        let errors: Vec<String> = validator
            .iter_errors(&json)
            .take(20)
            .map(|e| format!("  {} at {}", e, e.instance_path))
            .collect();
        if !errors.is_empty() {
            failures.push(format!("{name}:\n{}", errors.join("\n")));
        }
        for w in &conversion.warnings {
            eprintln!("{name}: warning: {w}");
        }
    }
    assert!(failures.is_empty(), "schema violations:\n{}", failures.join("\n"));
}
