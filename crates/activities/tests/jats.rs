//! ConvertJATS on the real eLife fixtures (values checked against the
//! source XML), JSON Schema validation of every output, and hostile XML.

mod common;

use common::read_data;
use pressbot_activities::error::Error;
use pressbot_activities::jats::{convert, parse, Article, ConvertOptions};
use pressbot_activities::package::Status;
use std::io::Read;

fn opts() -> ConvertOptions {
    ConvertOptions {
        version: None,
        status: None,
        cdn_base_url: "https://cdn.example.org/".into(),
        image_widths: vec![1500, 617],
        pdf_file: None,
    }
}

fn validate(article: &Article) -> serde_json::Value {
    let schema_path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema/article.schema.json");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(schema_path).unwrap()).unwrap();
    let validator = jsonschema::draft202012::new(&schema).expect("schema compiles");
    let json = serde_json::to_value(article).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&json)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "{} fails the schema: {errors:#?}",
        article.doi
    );
    json
}

fn convert_fixture(name: &str) -> Article {
    let article = convert(&read_data(name), name, &opts()).unwrap_or_else(|e| panic!("{e}"));
    validate(&article);
    article
}

fn xml_of_00353() -> Vec<u8> {
    let zip = read_data("elife-00353-vor-v1-20121213000000.zip");
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
    let mut xml = Vec::new();
    archive
        .by_name("elife-00353-v1.xml")
        .unwrap()
        .read_to_end(&mut xml)
        .unwrap();
    xml
}

#[test]
fn elife_00353_from_the_package() {
    let mut o = opts();
    o.version = Some(1);
    o.status = Some(Status::Vor);
    o.pdf_file = Some("elife-00353-v1.pdf".into());
    let a = convert(&xml_of_00353(), "elife-00353-v1.xml", &o).unwrap();
    let json = validate(&a);
    assert_eq!(a.id, "00353");
    assert_eq!(a.doi, "10.7554/eLife.00353");
    assert_eq!(a.version, 1);
    assert_eq!(a.status, Status::Vor);
    assert_eq!(a.article_type, "discussion");
    assert_eq!(a.display_channel.as_deref(), Some("Feature Article"));
    assert_eq!(a.title, "A good life");
    assert_eq!(a.authors.len(), 1);
    let marder = &a.authors[0];
    assert_eq!(marder.name, "Eve Marder");
    assert_eq!(marder.surname.as_deref(), Some("Marder"));
    assert!(marder.corresponding);
    assert_eq!(marder.orcid, None);
    assert_eq!(
        marder.affiliations,
        vec!["Department of Biology and the Volen National Center for Complex Systems, Brandeis University, Waltham, United States"]
    );
    assert_eq!(
        a.abstract_html.as_deref(),
        Some("<p>Following a career in science involves long hours and hard work, but as <b>Eve Marder</b> explains in the first of a series of columns, it can also be extremely rewarding.</p>")
    );
    assert_eq!(
        a.keywords,
        vec!["careers in science", "grad school", "postdocs"]
    );
    assert!(a.subjects.is_empty());
    assert_eq!(a.published.as_deref(), Some("2012-12-13"));
    assert_eq!(a.volume, Some(1));
    assert_eq!(a.elocation_id.as_deref(), Some("e00353"));
    let license = a.license.as_ref().unwrap();
    assert_eq!(license.url, "http://creativecommons.org/licenses/by/3.0/");
    assert!(license.text.starts_with("This article is distributed under the terms of the <a href=\"http://creativecommons.org/licenses/by/3.0/\">Creative Commons Attribution License</a>"), "{}", license.text);
    assert_eq!(license.copyright.as_deref(), Some("© 2012, Marder"));
    assert_eq!(a.figures.len(), 1);
    assert_eq!(a.figures[0].graphic, "elife-00353-fig1-v1");
    assert_eq!(
        a.figures[0].sources[1].url,
        "https://cdn.example.org/articles/00353/elife-00353-fig1-v1-617w.jpg"
    );
    assert_eq!(
        a.pdf.as_deref(),
        Some("https://cdn.example.org/articles/00353/elife-00353-v1.pdf")
    );
    assert_eq!(json["abstract"], serde_json::json!(a.abstract_html));
}

#[test]
fn elife_00007() {
    let a = convert_fixture("elife-00007-v1.xml");
    assert_eq!(a.id, "00007");
    assert_eq!(a.doi, "10.7554/eLife.00007");
    assert_eq!(a.version, 1, "from the file name");
    assert_eq!(a.status, Status::Vor, "has a body");
    assert_eq!(a.article_type, "research-article");
    assert_eq!(
        a.title,
        "Herbivory-induced volatiles function as defenses increasing fitness of the native plant <i>Nicotiana attenuata</i> in nature"
    );
    assert_eq!(a.subjects, vec!["Plant Biology", "Evolutionary Biology"]);
    assert_eq!(a.display_channel.as_deref(), Some("Research Article"));
    assert_eq!(a.published.as_deref(), Some("2012-10-15"));
    assert_eq!(a.volume, Some(1));
    assert_eq!(a.elocation_id.as_deref(), Some("e00007"));
    assert_eq!(a.authors.len(), 3);
    assert_eq!(a.authors[0].name, "Meredith C Schuman");
    assert_eq!(a.authors[1].name, "Kathleen Barthel");
    let corresponding: Vec<&str> = a
        .authors
        .iter()
        .filter(|x| x.corresponding)
        .map(|x| x.surname.as_deref().unwrap())
        .collect();
    assert_eq!(corresponding, vec!["Baldwin"]);
    assert!(
        a.authors.iter().all(|x| !x.affiliations.is_empty()),
        "{:?}",
        a.authors
    );
    assert_eq!(a.keywords.len(), 6);
    assert_eq!(a.keywords[0], "Nicotiana attenuata");
    assert!(a.abstract_html.as_deref().unwrap().starts_with(
        "<p>From an herbivore's first bite, plants release herbivory-induced plant volatiles"
    ));
    assert!(
        !a.abstract_html.as_deref().unwrap().contains("DOI:"),
        "the DOI paragraph is not content"
    );
    assert_eq!(a.figures.len(), 10);
    assert_eq!(a.figures[0].id, "fig1");
    assert_eq!(a.figures[0].label.as_deref(), Some("Figure 1."));
    assert_eq!(
        a.license.as_ref().unwrap().url,
        "http://creativecommons.org/licenses/by/3.0/"
    );
}

#[test]
fn elife_15747() {
    let a = convert_fixture("elife-15747-v2.xml");
    assert_eq!(a.doi, "10.7554/eLife.15747");
    assert_eq!(a.version, 2);
    assert_eq!(a.title, "Community-level cohesion without cooperation");
    assert_eq!(a.published.as_deref(), Some("2016-06-16"));
    assert_eq!(a.volume, Some(5));
    assert_eq!(a.authors.len(), 1);
    let t = &a.authors[0];
    assert_eq!(t.name, "Mikhail Tikhonov");
    assert!(t.corresponding);
    assert_eq!(t.orcid.as_deref(), Some("0000-0002-9558-1121"));
    assert!(t.affiliations[0].starts_with("Center of Mathematical Sciences and Applications, Harvard University, Cambridge, United States"), "{:?}", t.affiliations);
    assert_eq!(
        a.subjects,
        vec!["Ecology", "Computational and Systems Biology"]
    );
    assert_eq!(
        a.keywords,
        vec![
            "microbial ecology",
            "consortia",
            "cooperation",
            "resource competition",
            "niche construction"
        ]
    );
    assert_eq!(a.figures.len(), 5);
    assert_eq!(a.figures[1].graphic, "elife-15747-fig2-v2");
}

#[test]
fn elife_18753_insight() {
    let a = convert_fixture("elife-18753-v1.xml");
    assert_eq!(a.doi, "10.7554/eLife.18753");
    assert_eq!(a.article_type, "article-commentary");
    assert_eq!(a.display_channel.as_deref(), Some("Insight"));
    assert_eq!(a.title, "When communities collide");
    assert_eq!(a.published.as_deref(), Some("2016-07-15"));
    let names: Vec<&str> = a.authors.iter().map(|x| x.name.as_str()).collect();
    assert_eq!(names, vec!["Jason Merritt", "Seppe Kuehn"]);
    assert!(!a.authors[0].corresponding && a.authors[1].corresponding);
    assert!(a
        .abstract_html
        .as_deref()
        .unwrap()
        .starts_with("<p>A new model demonstrates how microbial communities"));
    assert_eq!(a.figures.len(), 1);
    assert_eq!(
        a.pdf.as_deref(),
        Some("https://cdn.example.org/articles/18753/elife-18753-v1.pdf")
    );
}

#[test]
fn elife_70357_many_authors_and_ali_license() {
    let a = convert_fixture("elife-70357-v2.xml");
    assert_eq!(a.doi, "10.7554/eLife.70357");
    assert_eq!(a.version, 2);
    assert_eq!(a.published.as_deref(), Some("2021-10-26"));
    assert_eq!(a.volume, Some(10));
    assert_eq!(a.elocation_id.as_deref(), Some("e70357"));
    assert_eq!(a.authors.len(), 15);
    assert_eq!(a.authors[0].name, "Ginto George");
    assert_eq!(a.authors[0].orcid.as_deref(), Some("0000-0003-4804-9594"));
    assert_eq!(
        a.authors[0].affiliations,
        vec![
            "Department of Biophysics, Graduate School of Science, Kyoto University, Kyoto, Japan"
        ]
    );
    let corresponding: Vec<&str> = a
        .authors
        .iter()
        .filter(|x| x.corresponding)
        .map(|x| x.surname.as_deref().unwrap())
        .collect();
    assert_eq!(corresponding, vec!["Okada", "Mori"]);
    assert!(a
        .abstract_html
        .as_deref()
        .unwrap()
        .starts_with("<p>Sequential mannose trimming of <i>N</i>-glycan"));
    assert_eq!(
        a.keywords,
        vec!["protein degradation", "glycoprotein", "mannose trimming"]
    );
    assert_eq!(
        a.subjects,
        vec!["Biochemistry and Chemical Biology", "Cell Biology"]
    );
    assert_eq!(
        a.license.as_ref().unwrap().url,
        "http://creativecommons.org/licenses/by/4.0/"
    );
    assert_eq!(a.figures.len(), 11);
    assert_eq!(a.figures[0].graphic, "elife-70357-fig1-v2.tif");
    assert_eq!(
        a.figures[0].sources[0].url,
        "https://cdn.example.org/articles/70357/elife-70357-fig1-v2-1500w.jpg"
    );
}

// ---------------------------------------------------------------- hostile and broken XML

const MINIMAL: &str = r#"<article article-type="research-article"><front><article-meta><article-id pub-id-type="doi">10.7554/eLife.99999</article-id><title-group><article-title>T</article-title></title-group></article-meta></front></article>"#;

#[test]
fn minimal_article_converts_and_is_poa_without_body() {
    let a = convert(MINIMAL.as_bytes(), "elife-99999.xml", &opts()).unwrap();
    assert_eq!(a.id, "99999");
    assert_eq!(a.status, Status::Poa);
    assert_eq!(a.version, 1);
    validate(&a);
}

#[test]
fn malformed_xml_is_refused_with_file_and_position() {
    let e = convert(b"<article><front></article>", "bad.xml", &opts()).unwrap_err();
    assert!(matches!(e, Error::Xml { .. }), "{e}");
    assert!(
        e.to_string().starts_with("bad.xml: malformed XML at byte"),
        "{e}"
    );
    let e = convert(b"<article><front>", "cut.xml", &opts()).unwrap_err();
    assert!(e.to_string().contains("cut.xml"), "{e}");
    let e = convert(b"", "empty.xml", &opts()).unwrap_err();
    assert!(e.to_string().contains("no root element"), "{e}");
}

#[test]
fn missing_doi_names_the_element() {
    let xml = MINIMAL.replace(
        r#"<article-id pub-id-type="doi">10.7554/eLife.99999</article-id>"#,
        "",
    );
    let e = convert(xml.as_bytes(), "nodoi.xml", &opts()).unwrap_err();
    assert!(matches!(e, Error::MissingElement { .. }), "{e}");
    assert_eq!(
        e.to_string(),
        "nodoi.xml: missing required element article-meta/article-id[@pub-id-type=doi]"
    );
}

#[test]
fn missing_or_empty_title_names_the_element() {
    let xml = MINIMAL.replace(
        "<title-group><article-title>T</article-title></title-group>",
        "",
    );
    let e = convert(xml.as_bytes(), "notitle.xml", &opts()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "notitle.xml: missing required element article-meta/title-group/article-title"
    );
    let xml = MINIMAL.replace(
        "<article-title>T</article-title>",
        "<article-title> </article-title>",
    );
    assert!(convert(xml.as_bytes(), "empty-title.xml", &opts()).is_err());
}

#[test]
fn external_entity_is_refused() {
    let xxe = r#"<?xml version="1.0"?><!DOCTYPE article [<!ENTITY x SYSTEM "file:///etc/passwd">]><article><front><article-meta><article-id pub-id-type="doi">10.1/x</article-id><title-group><article-title>&x;</article-title></title-group></article-meta></front></article>"#;
    let e = convert(xxe.as_bytes(), "xxe.xml", &opts()).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("xxe.xml") && msg.contains("DOCTYPE"), "{msg}");
    assert!(
        !msg.contains("root:"),
        "file contents must never appear: {msg}"
    );
}

#[test]
fn undeclared_entity_is_refused_not_expanded() {
    // Without a DOCTYPE the reference can only be an error.
    let xml = MINIMAL.replace(">T<", ">&x;<");
    let e = convert(xml.as_bytes(), "ent.xml", &opts()).unwrap_err();
    assert!(e.to_string().contains("undeclared entity &x;"), "{e}");
    // In an attribute, too.
    let xml = MINIMAL.replace(
        r#"article-type="research-article""#,
        r#"article-type="&x;""#,
    );
    assert!(convert(xml.as_bytes(), "ent-attr.xml", &opts()).is_err());
}

#[test]
fn billion_laughs_is_refused() {
    let mut doc = String::from("<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">");
    for i in 1..10 {
        let prev = if i == 1 {
            "lol".to_owned()
        } else {
            format!("lol{}", i - 1)
        };
        doc.push_str(&format!(
            "<!ENTITY lol{i} \"{}\">",
            format!("&{prev};").repeat(10)
        ));
    }
    doc.push_str("]><lolz>&lol9;</lolz>");
    let e = parse(doc.as_bytes(), "lolz.xml").unwrap_err();
    assert!(e.to_string().contains("DOCTYPE"), "{e}");
}

#[test]
fn standard_jats_doctype_and_predefined_entities_are_fine() {
    let xml = format!(
        r#"<?xml version="1.0"?><!DOCTYPE article PUBLIC "-//NLM//DTD JATS (Z39.96) Journal Archiving and Interchange DTD v1.1d3 20150301//EN"  "JATS-archivearticle1.dtd">{}"#,
        MINIMAL.replace(">T<", ">A &amp; B &lt;C&gt; &#945;<")
    );
    let a = convert(xml.as_bytes(), "ok.xml", &opts()).unwrap();
    assert_eq!(a.title, "A &amp; B &lt;C&gt; α");
}

#[test]
fn absurd_nesting_is_refused() {
    let xml = format!("{}{}", "<a>".repeat(1000), "</a>".repeat(1000));
    let e = parse(xml.as_bytes(), "deep.xml").unwrap_err();
    assert!(e.to_string().contains("nest deeper"), "{e}");
}

#[test]
fn wrong_root_is_refused() {
    let e = convert(b"<html/>", "page.xml", &opts()).unwrap_err();
    assert!(e.to_string().contains("<html>"), "{e}");
}

#[test]
#[ignore = "prints a converted article for eyeballing"]
fn print_00007() {
    let a = convert_fixture("elife-00007-v1.xml");
    println!("{}", serde_json::to_string_pretty(&a).unwrap());
}

#[test]
fn a_byte_order_mark_is_fine() {
    let xml = format!("\u{feff}<?xml version=\"1.0\" encoding=\"UTF-8\"?>{MINIMAL}");
    let a = convert(xml.as_bytes(), "bom.xml", &opts()).unwrap();
    assert_eq!(a.doi, "10.7554/eLife.99999");
}
