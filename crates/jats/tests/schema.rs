//! Every fixture converts to article-json that validates against eLife's
//! own models (api-raml `article-vor.v8` / `article-poa.v4`, in
//! `tests/schema/`), with every package file the XML refers to present.

mod common;

use common::*;
use pressbot_jats::{convert, Status};

#[test]
fn every_fixture_is_schema_valid_article_json() {
    let vor = validator(Status::Vor);
    let poa = validator(Status::Poa);
    let mut failures = Vec::new();
    for path in fixtures() {
        let xml = std::fs::read_to_string(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let opts = options_for(&xml, &id_of(&name));
        let conversion =
            convert(xml.as_bytes(), &name, &opts).unwrap_or_else(|e| panic!("{name}: {e}"));
        let errors = violations(&vor, &poa, &conversion.article);
        if !errors.is_empty() {
            failures.push(format!("{name}:\n{}", errors.join("\n")));
        }
        for w in &conversion.warnings {
            eprintln!("{name}: warning: {w}");
        }
    }
    assert!(
        failures.is_empty(),
        "schema violations:\n{}",
        failures.join("\n")
    );
}
