//! Hostile XML: what the converter refuses, and what never reaches the
//! article-json (scripts in links).

mod common;

use common::*;
use pressbot_jats::{convert, xml::parse, Error, Status};

/// A small real article (an Insight), the base of the hostile variants.
fn base() -> String {
    let path = fixtures()
        .into_iter()
        .find(|p| p.ends_with("elife-18753-v1.xml"))
        .expect("fixture elife-18753-v1.xml");
    std::fs::read_to_string(path).expect("read fixture")
}

fn convert_str(xml: &str, name: &str) -> Result<pressbot_jats::Conversion, Error> {
    convert(xml.as_bytes(), name, &options_for(xml, "18753"))
}

#[test]
fn the_base_converts() {
    let c = convert_str(&base(), "elife-18753-v1.xml").expect("base converts");
    assert_eq!(c.article.id, "18753");
    assert_eq!(c.article.status, Some(Status::Vor));
}

#[test]
fn malformed_xml_is_refused_with_file_and_position() {
    let e = convert_str("<article><front></article>", "bad.xml").unwrap_err();
    assert!(matches!(e, Error::Xml { .. }), "{e}");
    assert!(
        e.to_string().starts_with("bad.xml: malformed XML at byte"),
        "{e}"
    );
    let e = convert_str("<article><front>", "cut.xml").unwrap_err();
    assert!(e.to_string().contains("cut.xml"), "{e}");
    let e = convert_str("", "empty.xml").unwrap_err();
    assert!(e.to_string().contains("no root element"), "{e}");
}

#[test]
fn missing_doi_names_the_element() {
    let xml = base();
    let start = xml.find("<article-id pub-id-type=\"doi\"").expect("doi");
    let end = start + xml[start..].find("</article-id>").expect("end") + "</article-id>".len();
    let xml = format!("{}{}", &xml[..start], &xml[end..]);
    let e = convert_str(&xml, "nodoi.xml").unwrap_err();
    assert!(matches!(e, Error::MissingElement { .. }), "{e}");
    assert!(e.to_string().contains("article-id"), "{e}");
}

#[test]
fn external_entity_is_refused() {
    let xxe = r#"<?xml version="1.0"?><!DOCTYPE article [<!ENTITY x SYSTEM "file:///etc/passwd">]><article><front><article-meta><article-id pub-id-type="doi">10.1/x</article-id><title-group><article-title>&x;</article-title></title-group></article-meta></front></article>"#;
    let e = convert_str(xxe, "xxe.xml").unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("xxe.xml") && msg.contains("DOCTYPE"), "{msg}");
    assert!(
        !msg.contains("root:"),
        "file contents must never appear: {msg}"
    );
}

#[test]
fn undeclared_entity_is_refused_not_expanded() {
    let xml = base().replacen("<article-title>", "<article-title>&x;", 1);
    let e = convert_str(&xml, "ent.xml").unwrap_err();
    assert!(e.to_string().contains("undeclared entity &x;"), "{e}");
    let xml = base().replacen("article-type=\"", "article-type=\"&x;", 1);
    assert!(convert_str(&xml, "ent-attr.xml").is_err());
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
fn absurd_nesting_is_refused() {
    let xml = format!("{}{}", "<a>".repeat(1000), "</a>".repeat(1000));
    let e = parse(xml.as_bytes(), "deep.xml").unwrap_err();
    assert!(e.to_string().contains("nest deeper"), "{e}");
}

#[test]
fn wrong_root_is_refused() {
    let e = convert_str("<html/>", "page.xml").unwrap_err();
    assert!(e.to_string().contains("<html>"), "{e}");
}

#[test]
fn a_byte_order_mark_is_fine() {
    let xml = base();
    let xml = match xml.find("<article") {
        Some(i) => format!(
            "\u{feff}<?xml version=\"1.0\" encoding=\"UTF-8\"?>{}",
            &xml[i..]
        ),
        None => panic!("no <article"),
    };
    assert!(convert_str(&xml, "bom.xml").is_ok());
}

/// Only http, https, mailto, ftp and relative links survive into the JSON:
/// a `javascript:` or `data:text/html` link anywhere (abstract, body,
/// references) loses its link (keeping its text) with a warning.
#[test]
fn script_links_never_reach_the_json() {
    let hostile = [
        "javascript:alert(document.cookie)",
        " JaVaScRiPt:alert(1)",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "vbscript:msgbox(1)",
    ];
    for href in hostile {
        let link =
            format!("<ext-link ext-link-type=\"uri\" xlink:href=\"{href}\">click here</ext-link>");
        // Into every paragraph of the document (abstract, body, back).
        let xml = base().replace("</p>", &format!(" {link}</p>"));
        let c = convert_str(&xml, "evil.xml").expect("converts");
        let json = serde_json::to_string(&c.article).expect("json");
        let lower = json.to_ascii_lowercase();
        for bad in ["javascript:", "data:text/html", "vbscript:"] {
            assert!(!lower.contains(bad), "{href}: {bad} reached the JSON");
        }
        assert!(
            json.contains("click here"),
            "{href}: the link's text is kept"
        );
        assert!(
            c.warnings.iter().any(|w| w.message.contains("dropped")),
            "{href}: a warning names the dropped link: {:?}",
            c.warnings
        );
    }
}
