//! Property tests (the CI stand-in for `cargo fuzz`, see `fuzz/`): the
//! converter never panics, and what it accepts is schema-valid.
//!
//! Cases: `PROPTEST_CASES` (default 256 per property; the mutation
//! property validates every output against the schema, which costs). The
//! mutation property draws the same cases on every run unless
//! `PRESSBOT_PROP_EXPLORE=1`.

mod common;

use common::*;
use pressbot_jats::{convert, Options, Status};
use proptest::prelude::*;

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

/// Element names eLife's JATS uses, so random documents reach deep code.
const NAMES: &[&str] = &[
    "article",
    "front",
    "article-meta",
    "body",
    "back",
    "sec",
    "p",
    "title",
    "fig",
    "graphic",
    "caption",
    "table-wrap",
    "table",
    "tr",
    "td",
    "list",
    "list-item",
    "disp-formula",
    "mml:math",
    "xref",
    "ext-link",
    "ref-list",
    "ref",
    "element-citation",
    "person-group",
    "name",
    "surname",
    "given-names",
    "year",
    "source",
    "article-title",
    "contrib-group",
    "contrib",
    "aff",
    "sub-article",
    "boxed-text",
    "media",
    "supplementary-material",
    "italic",
    "bold",
    "sup",
    "sub",
    "funding-group",
    "award-group",
    "abstract",
];

fn xml_like() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        (0..NAMES.len()).prop_map(|i| format!("<{}>", NAMES[i])),
        (0..NAMES.len()).prop_map(|i| format!("</{}>", NAMES[i])),
        (0..NAMES.len(), "[a-z:-]{1,10}", "[^\"<&]{0,12}")
            .prop_map(|(i, a, v)| format!("<{} {a}=\"{v}\"/>", NAMES[i])),
        "[^<&]{0,12}",
        Just("&amp;".to_owned()),
    ];
    prop::collection::vec(token, 0..60).prop_map(|t| t.concat())
}

/// Every element of a fixture as (start, end) byte offsets of its whole
/// text, found by a tiny scan: good enough to cut elements out.
fn element_spans(xml: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut stack: Vec<(usize, String)> = Vec::new();
    let bytes = xml.as_bytes();
    let mut i = 0;
    while let Some(off) = xml[i..].find('<') {
        let start = i + off;
        let Some(close) = xml[start..].find('>') else {
            break;
        };
        let end = start + close + 1;
        let tag = &xml[start + 1..end - 1];
        if tag.starts_with('?') || tag.starts_with('!') {
        } else if let Some(name) = tag.strip_prefix('/') {
            while let Some((s, n)) = stack.pop() {
                if n == name.trim() {
                    spans.push((s, end));
                    break;
                }
            }
        } else if tag.ends_with('/') {
            spans.push((start, end));
        } else {
            let name = tag.split_whitespace().next().unwrap_or_default().to_owned();
            stack.push((start, name));
        }
        i = end;
        if i >= bytes.len() {
            break;
        }
    }
    spans
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = convert(&bytes, "fuzz.xml", &Options::default());
    }

    #[test]
    fn jats_like_documents_never_panic(body in xml_like()) {
        let doc = format!("<article><front><article-meta>{body}</article-meta></front><body>{body}</body><back>{body}</back></article>");
        let _ = convert(doc.as_bytes(), "fuzz.xml", &Options::default());
        let _ = convert(body.as_bytes(), "fuzz.xml", &Options::default());
    }
}

/// A real article with one element cut out, anywhere: the converter either
/// refuses it with an error naming an element, or what it returns is still
/// schema-valid article-json (never half an article that the CMS rejects).
#[test]
fn a_fixture_missing_any_element_fails_clearly_or_stays_valid() {
    let vor = validator(Status::Vor);
    let poa = validator(Status::Poa);
    // The same cases on every run, so a CI run is never red by the luck of
    // a new seed; `PRESSBOT_PROP_EXPLORE=1` draws new ones (scripts/fuzz.sh).
    let config = ProptestConfig::with_cases(cases());
    let mut runner = if std::env::var_os("PRESSBOT_PROP_EXPLORE").is_some() {
        proptest::test_runner::TestRunner::new(config)
    } else {
        let rng = proptest::test_runner::TestRng::deterministic_rng(config.rng_algorithm);
        proptest::test_runner::TestRunner::new_with_rng(config, rng)
    };
    let fixtures: Vec<(String, String)> = fixtures()
        .into_iter()
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    let spans: Vec<Vec<(usize, usize)>> = fixtures.iter().map(|(_, x)| element_spans(x)).collect();
    runner
        .run(
            &(0..fixtures.len(), any::<prop::sample::Index>()),
            |(f, idx)| {
                let (name, xml) = &fixtures[f];
                let (s, e) = spans[f][idx.index(spans[f].len())];
                let cut = format!("{}{}", &xml[..s], &xml[e..]);
                let opts = options_for(xml, &id_of(name));
                match convert(cut.as_bytes(), name, &opts) {
                    Err(err) => {
                        let msg = err.to_string();
                        prop_assert!(
                            msg.starts_with(name.as_str()),
                            "error names the file: {msg}"
                        );
                    }
                    Ok(c) => {
                        let v = violations(&vor, &poa, &c.article);
                        prop_assert!(
                            v.is_empty(),
                            "{name} without {:?}... converts to invalid JSON:\n{}",
                            &xml[s..e.min(s + 80)],
                            v.join("\n")
                        );
                    }
                }
                Ok(())
            },
        )
        .unwrap();
}
