//! Table tests: realistic eLife reference XML, one case per type and per
//! odd or hostile variant, each asserting the JSON and the warnings.

use super::*;
use crate::{Options, Warning};
use serde_json::{json, Value};

/// Convert `refs` (the content of a `ref-list`) and `back` (more of
/// `back`), with 2016 as the article's year unless `year` is false.
fn run_with(refs: &str, back: &str, year: bool) -> (Value, Value, Vec<Warning>) {
    let meta = if year {
        "<pub-date date-type=\"pub\"><day>16</day><month>06</month><year>2016</year></pub-date>"
    } else {
        ""
    };
    let xml = format!(
        "<article xmlns:xlink=\"http://www.w3.org/1999/xlink\"><front><article-meta>{meta}</article-meta></front>\
         <back>{back}<ref-list><title>References</title>{refs}</ref-list></back></article>"
    );
    let root = crate::xml::parse(xml.as_bytes(), "t.xml").unwrap();
    let opts = Options::default();
    let mut cx = Cx::new(&opts, "t.xml");
    let mut article = Article::default();
    fill(&mut cx, &root, &mut article).unwrap();
    (
        serde_json::to_value(&article.references).unwrap(),
        serde_json::to_value(&article.data_sets).unwrap(),
        cx.warnings,
    )
}

/// One reference's JSON and the warnings' messages.
fn one(r: &str) -> (Value, Vec<String>) {
    let (refs, _, w) = run_with(r, "", true);
    assert_eq!(refs.as_array().map(Vec::len), Some(1), "{refs}");
    (refs[0].clone(), w.into_iter().map(|w| w.message).collect())
}

fn person(preferred: &str, index: &str) -> Value {
    json!({"type": "person", "name": {"preferred": preferred, "index": index}})
}

const SMITH: &str = "<name><surname>Smith</surname><given-names>J</given-names></name>";

#[test]
fn journal() {
    let (r, w) = one(&format!(
        r#"<ref id="bib1"><element-citation publication-type="journal">
        <person-group person-group-type="author">{SMITH}<name><surname>Jones</surname><given-names>AB</given-names><suffix>Jr</suffix></name><etal/></person-group>
        <year iso-8601-date="2012">2012a</year>
        <article-title>Structure of <italic>E. coli</italic> &amp; friends</article-title>
        <source>Nature</source><volume>486</volume><fpage>207</fpage><lpage>214</lpage>
        <pub-id pub-id-type="doi">10.1038/nature11234</pub-id><pub-id pub-id-type="pmid">22699609</pub-id>
        </element-citation></ref>"#
    ));
    assert_eq!(
        r,
        json!({
            "type": "journal", "id": "bib1", "date": "2012", "discriminator": "a",
            "authors": [person("Smith J", "Smith, J"), person("Jones AB Jr", "Jones, AB, Jr")],
            "authorsEtAl": true,
            "articleTitle": "Structure of <i>E. coli</i> &amp; friends",
            "journal": "Nature", "volume": "486",
            "pages": {"first": "207", "last": "214", "range": "207–214"},
            "doi": "10.1038/nature11234", "pmid": 22699609
        })
    );
    assert!(w.is_empty(), "{w:?}");
}

#[test]
fn journal_elocation_id_and_odd_pages() {
    let (r, _) = one(&format!(
        r#"<ref id="bib2"><element-citation publication-type="journal"><person-group person-group-type="author">{SMITH}</person-group>
        <year iso-8601-date="2016-05-03">2016</year><article-title>T</article-title><source>eLife</source><volume>5</volume>
        <elocation-id>e15747</elocation-id></element-citation></ref>"#
    ));
    assert_eq!(r["pages"], json!("e15747"));
    assert_eq!(r["date"], json!("2016-05-03"));
    let (r, _) = one(&format!(
        r#"<ref id="bib3"><element-citation publication-type="journal"><person-group person-group-type="author">{SMITH}</person-group>
        <year>1999</year><article-title>T</article-title><source>J</source><fpage>S1-2</fpage><lpage>S9</lpage></element-citation></ref>"#
    ));
    assert_eq!(r["pages"], json!("S1-2–S9"));
    let (r, w) = one(&format!(
        r#"<ref id="bib45"><element-citation publication-type="journal"><person-group person-group-type="author">{SMITH}</person-group>
        <year>2013</year><article-title>T</article-title><source>PNAS</source><elocation-id>E4913</elocation-id><lpage>E4921</lpage></element-citation></ref>"#
    ));
    assert_eq!(
        r["pages"],
        json!({"first": "E4913", "last": "E4921", "range": "E4913–E4921"})
    );
    assert!(w.is_empty(), "{w:?}");
}

#[test]
fn book_and_isbn() {
    let (r, w) = one(
        r#"<ref id="bib20"><element-citation publication-type="book"><person-group person-group-type="author">
        <name><surname>Sambrook</surname><given-names>J</given-names></name></person-group>
        <year iso-8601-date="1989">1989</year><source>Molecular Cloning: A Laboratory Manual</source>
        <edition>2nd ed</edition><publisher-loc>New York</publisher-loc><publisher-name>Cold Spring Harbor Laboratory Press</publisher-name>
        <pub-id pub-id-type="isbn">0-87969-309-6</pub-id></element-citation></ref>"#,
    );
    assert_eq!(
        r,
        json!({
            "type": "book", "id": "bib20", "date": "1989",
            "authors": [person("Sambrook J", "Sambrook, J")],
            "bookTitle": "Molecular Cloning: A Laboratory Manual",
            "edition": "2nd ed",
            "publisher": {"name": ["Cold Spring Harbor Laboratory Press"],
                "address": {"formatted": ["New York"], "components": {"locality": ["New York"]}}},
            "isbn": "9780879693091"
        })
    );
    assert!(w.is_empty(), "{w:?}");
}

#[test]
fn book_chapter() {
    let (r, _) = one(
        r#"<ref id="bib53"><element-citation publication-type="book"><person-group person-group-type="author">
        <name><surname>Turlings</surname><given-names>TCJ</given-names></name></person-group><year>2004</year>
        <article-title>Recruitment of predators</article-title><source>Advances in insect chemical ecology</source>
        <person-group person-group-type="editor"><name><surname>Cardé</surname><given-names>RT</given-names></name></person-group>
        <fpage>21</fpage><lpage>75</lpage><publisher-name>Cambridge University Press</publisher-name><publisher-loc>Cambridge</publisher-loc>
        </element-citation></ref>"#,
    );
    assert_eq!(
        r,
        json!({
            "type": "book-chapter", "id": "bib53", "date": "2004",
            "authors": [person("Turlings TCJ", "Turlings, TCJ")],
            "editors": [person("Cardé RT", "Cardé, RT")],
            "bookTitle": "Advances in insect chemical ecology",
            "publisher": {"name": ["Cambridge University Press"],
                "address": {"formatted": ["Cambridge"], "components": {"locality": ["Cambridge"]}}},
            "chapterTitle": "Recruitment of predators",
            "pages": {"first": "21", "last": "75", "range": "21–75"}
        })
    );
}

#[test]
fn book_chapter_without_editors_is_unknown() {
    // elife-15747 bib44: a book's title tagged as its chapter.
    let (r, w) = one(
        r#"<ref id="bib44"><element-citation publication-type="book"><person-group person-group-type="author">
        <name><surname>Tilman</surname><given-names>D</given-names></name></person-group><year iso-8601-date="1982">1982</year>
        <chapter-title>Resource competition and community structure</chapter-title><source>Monographs in Population Biology</source>
        <publisher-loc>Princeton, NJ</publisher-loc><publisher-name>Princeton University Press</publisher-name>
        <pub-id pub-id-type="doi">10.2307/2259756</pub-id></element-citation></ref>"#,
    );
    assert_eq!(
        r,
        json!({
            "type": "unknown", "id": "bib44", "date": "1982",
            "authors": [person("Tilman D", "Tilman, D")],
            "title": "Resource competition and community structure",
            "details": "Monographs in Population Biology, Princeton, NJ, Princeton University Press",
            "uri": "https://doi.org/10.2307/2259756"
        })
    );
    assert_eq!(
        w,
        ["bib44: a book reference without editors, pages: kept as unknown"]
    );
}

#[test]
fn clinical_trial() {
    let (r, _) = one(
        r#"<ref id="bib5"><element-citation publication-type="clinicaltrial"><person-group person-group-type="sponsor">
        <collab>Pfizer</collab></person-group><year iso-8601-date="2015">2015</year>
        <article-title>A study of X</article-title><ext-link ext-link-type="uri" xlink:href="https://clinicaltrials.gov/show/NCT01">NCT01</ext-link>
        </element-citation></ref>"#,
    );
    assert_eq!(
        r,
        json!({
            "type": "clinical-trial", "id": "bib5", "date": "2015",
            "authors": [{"type": "group", "name": "Pfizer"}], "authorsType": "sponsors",
            "title": "A study of X", "uri": "https://clinicaltrials.gov/show/NCT01"
        })
    );
}

#[test]
fn conference_proceeding() {
    let (r, _) = one(&format!(
        r#"<ref id="bib7"><element-citation publication-type="confproc"><person-group person-group-type="author">{SMITH}</person-group>
        <year>2010</year><article-title>Fast things</article-title><conf-name>NIPS 2010</conf-name><conf-loc>Vancouver</conf-loc>
        <fpage>1</fpage><lpage>9</lpage><pub-id pub-id-type="doi">10.1007/978-3-642-00599-2_12</pub-id></element-citation></ref>"#
    ));
    assert_eq!(
        r,
        json!({
            "type": "conference-proceeding", "id": "bib7", "date": "2010",
            "authors": [person("Smith J", "Smith, J")], "articleTitle": "Fast things",
            "conference": {"name": ["NIPS 2010"], "address": {"formatted": ["Vancouver"], "components": {"locality": ["Vancouver"]}}},
            "pages": {"first": "1", "last": "9", "range": "1–9"},
            "doi": "10.1007/978-3-642-00599-2_12", "uri": "https://doi.org/10.1007/978-3-642-00599-2_12"
        })
    );
}

#[test]
fn data_reference() {
    let (r, w) = one(&format!(
        r#"<ref id="bib9"><element-citation publication-type="data" specific-use="isSupplementedBy">
        <person-group person-group-type="author">{SMITH}</person-group><year iso-8601-date="2019">2019</year>
        <data-title>RNA-seq of <italic>C. elegans</italic></data-title><source>NCBI Gene Expression Omnibus</source>
        <pub-id pub-id-type="accession" assigning-authority="NCBI" xlink:href="https://www.ncbi.nlm.nih.gov/geo/query/acc.cgi?acc=GSE1">GSE1</pub-id>
        </element-citation></ref>"#
    ));
    assert_eq!(
        r,
        json!({
            "type": "data", "id": "bib9", "date": "2019", "authors": [person("Smith J", "Smith, J")],
            "title": "RNA-seq of <i>C. elegans</i>", "source": "NCBI Gene Expression Omnibus",
            "dataId": "GSE1", "assigningAuthority": {"name": ["NCBI"]}, "specificUse": "generated",
            "uri": "https://www.ncbi.nlm.nih.gov/geo/query/acc.cgi?acc=GSE1"
        })
    );
    assert!(w.is_empty(), "{w:?}");
}

#[test]
fn patent() {
    let (r, _) = one(
        r#"<ref id="bib13"><element-citation publication-type="patent"><person-group person-group-type="inventor">
        <name><surname>Doe</surname><given-names>A</given-names></name></person-group>
        <person-group person-group-type="assignee"><collab>Acme Corp</collab></person-group><year>2011</year>
        <article-title>A widget</article-title><source>United States patent</source><patent country="United States">US20100941530</patent>
        </element-citation></ref>"#,
    );
    assert_eq!(
        r,
        json!({
            "type": "patent", "id": "bib13", "date": "2011",
            "inventors": [person("Doe A", "Doe, A")], "assignees": [{"type": "group", "name": "Acme Corp"}],
            "title": "A widget", "patentType": "United States patent", "country": "United States", "number": "US20100941530"
        })
    );
}

#[test]
fn periodical_with_full_date() {
    let (r, _) = one(&format!(
        r#"<ref id="bib15"><element-citation publication-type="periodical"><person-group person-group-type="author">{SMITH}</person-group>
        <string-date><month>October</month> <day>19</day>, <year iso-8601-date="2013-10-19">2013</year></string-date>
        <article-title>Bugs in the news</article-title><source>The New York Times</source><fpage>A1</fpage></element-citation></ref>"#
    ));
    assert_eq!(
        r,
        json!({
            "type": "periodical", "id": "bib15", "date": "2013-10-19", "authors": [person("Smith J", "Smith, J")],
            "articleTitle": "Bugs in the news", "periodical": "The New York Times", "pages": "A1"
        })
    );
}

#[test]
fn preprint_doi_and_uri_precedence() {
    let base = |link: &str| {
        format!(
            r#"<ref id="bib17"><element-citation publication-type="preprint"><person-group person-group-type="author">{SMITH}</person-group>
            <year>2017</year><article-title>Early</article-title><source>bioRxiv</source>
            <pub-id pub-id-type="doi">https://doi.org/10.1101/004564</pub-id>{link}</element-citation></ref>"#
        )
    };
    // The DOI gives the link when there is no other.
    let (r, _) = one(&base(""));
    assert_eq!(
        r,
        json!({
            "type": "preprint", "id": "bib17", "date": "2017", "authors": [person("Smith J", "Smith, J")],
            "articleTitle": "Early", "source": "bioRxiv",
            "doi": "10.1101/004564", "uri": "https://doi.org/10.1101/004564"
        })
    );
    // An explicit link wins; the DOI stays.
    let (r, _) = one(&base(
        r#"<ext-link ext-link-type="uri" xlink:href="https://www.biorxiv.org/content/10.1101/004564v2">link</ext-link>"#,
    ));
    assert_eq!(
        r["uri"],
        json!("https://www.biorxiv.org/content/10.1101/004564v2")
    );
    assert_eq!(r["doi"], json!("10.1101/004564"));
}

#[test]
fn legacy_doi_link_is_the_doi() {
    // 2012 XML (elife-00007): the DOI as a uri link to dx.doi.org.
    let (r, w) = one(&format!(
        r#"<ref id="bib1"><element-citation publication-type="journal"><person-group person-group-type="author">{SMITH}</person-group>
        <year>2009</year><article-title>T</article-title><source>New Phytol</source><volume>184</volume>
        <ext-link ext-link-type="uri" xlink:href="http://dx.doi.org/10.1111/j.1469-8137.2009.03046.x">10.1111/j.1469-8137.2009.03046.x</ext-link>
        </element-citation></ref>"#
    ));
    assert_eq!(r["doi"], json!("10.1111/j.1469-8137.2009.03046.x"));
    assert!(w.is_empty(), "{w:?}");
}

#[test]
fn report_software_thesis() {
    let (r, _) = one(
        r#"<ref id="bib19"><element-citation publication-type="report"><person-group person-group-type="author"><collab>WHO</collab></person-group>
        <year>2016</year><source>World malaria report</source><publisher-loc>Geneva</publisher-loc><publisher-name>World Health Organization</publisher-name>
        </element-citation></ref>"#,
    );
    assert_eq!(
        r,
        json!({
            "type": "report", "id": "bib19", "date": "2016", "authors": [{"type": "group", "name": "WHO"}],
            "title": "World malaria report",
            "publisher": {"name": ["World Health Organization"], "address": {"formatted": ["Geneva"], "components": {"locality": ["Geneva"]}}}
        })
    );
    let (r, w) = one(&format!(
        r#"<ref id="bib21"><element-citation publication-type="software"><person-group person-group-type="author">{SMITH}</person-group>
        <year iso-8601-date="2018">2018</year><data-title>scikit-image</data-title><source>GitHub</source><version designator="0.14">0.14</version>
        <ext-link ext-link-type="uri" xlink:href="https://github.com/scikit-image/scikit-image">link</ext-link></element-citation></ref>"#
    ));
    assert_eq!(
        r,
        json!({
            "type": "software", "id": "bib21", "date": "2018", "authors": [person("Smith J", "Smith, J")],
            "title": "scikit-image", "version": "0.14", "publisher": {"name": ["GitHub"]},
            "uri": "https://github.com/scikit-image/scikit-image"
        })
    );
    assert!(w.is_empty(), "{w:?}");
    let (r, _) = one(&format!(
        r#"<ref id="bib23"><element-citation publication-type="thesis"><person-group person-group-type="author">{SMITH}</person-group>
        <year>2006</year><article-title>On worms</article-title><publisher-name>University of Cambridge</publisher-name></element-citation></ref>"#
    ));
    assert_eq!(
        r,
        json!({
            "type": "thesis", "id": "bib23", "date": "2006", "author": {"name": {"preferred": "Smith J", "index": "Smith, J"}},
            "title": "On worms", "publisher": {"name": ["University of Cambridge"]}
        })
    );
}

#[test]
fn web_with_accessed_date() {
    let (r, w) = one(&format!(
        r#"<ref id="bib25"><element-citation publication-type="web"><person-group person-group-type="author">{SMITH}</person-group>
        <year>2014</year><article-title>Worm atlas</article-title><source>WormBase</source>
        <ext-link ext-link-type="uri" xlink:href="http://www.wormbase.org">http://www.wormbase.org</ext-link>
        <date-in-citation content-type="access-date" iso-8601-date="2016-09-16">September 16, 2016</date-in-citation>
        </element-citation></ref>"#
    ));
    assert_eq!(
        r,
        json!({
            "type": "web", "id": "bib25", "date": "2014", "authors": [person("Smith J", "Smith, J")],
            "title": "Worm atlas", "website": "WormBase", "accessed": "2016-09-16", "uri": "http://www.wormbase.org"
        })
    );
    assert!(w.is_empty(), "{w:?}");
}

#[test]
fn javascript_uri_dropped() {
    let (r, w) = one(&format!(
        r#"<ref id="bib26"><element-citation publication-type="web"><person-group person-group-type="author">{SMITH}</person-group>
        <year>2014</year><article-title>Click me</article-title>
        <ext-link ext-link-type="uri" xlink:href=" JavaScript:alert(1)">here</ext-link></element-citation></ref>"#
    ));
    // Without its link a web page is not a web reference: unknown, no uri.
    assert_eq!(r["type"], json!("unknown"));
    assert_eq!(r.get("uri"), None);
    assert!(!r.to_string().to_lowercase().contains("javascript"), "{r}");
    assert!(
        w.iter()
            .any(|m| m.contains("dropped") && m.contains("JavaScript:alert(1)")),
        "{w:?}"
    );
    assert!(
        w.iter()
            .any(|m| m.starts_with("bib26:") && m.contains("uri")),
        "{w:?}"
    );
}

#[test]
fn unknown_publication_type() {
    let (r, w) = one(&format!(
        r#"<ref id="bib30"><element-citation publication-type="newspaper"><person-group person-group-type="author">{SMITH}</person-group>
        <year>2001</year><article-title>Headline</article-title><source>The Times</source><fpage>3</fpage></element-citation></ref>"#
    ));
    assert_eq!(
        r,
        json!({
            "type": "unknown", "id": "bib30", "date": "2001", "authors": [person("Smith J", "Smith, J")],
            "title": "Headline", "details": "3, The Times"
        })
    );
    assert_eq!(
        w,
        ["bib30: publication-type \"newspaper\" is not one the model knows: kept as unknown"]
    );
}

#[test]
fn other_type_is_unknown() {
    // elife-15747 bib7.
    let (r, w) = one(
        r#"<ref id="bib7"><element-citation publication-type="other"><person-group person-group-type="author">
        <name><surname>Buss</surname><given-names>LW</given-names></name></person-group><year iso-8601-date="1987">1987</year>
        <chapter-title>The evolution of individuality</chapter-title><publisher-loc>Princeton, NJ</publisher-loc>
        <publisher-name>Princeton University Press</publisher-name></element-citation></ref>"#,
    );
    assert_eq!(
        r,
        json!({
            "type": "unknown", "id": "bib7", "date": "1987", "authors": [person("Buss LW", "Buss, LW")],
            "title": "The evolution of individuality", "details": "Princeton, NJ, Princeton University Press"
        })
    );
    assert!(w.is_empty(), "{w:?}");
}

#[test]
fn journal_without_source_is_unknown() {
    let (r, w) = one(&format!(
        r#"<ref id="bib8"><element-citation publication-type="journal"><person-group person-group-type="author">{SMITH}</person-group>
        <year>2001</year><article-title>Lost</article-title><volume>3</volume></element-citation></ref>"#
    ));
    assert_eq!(r["type"], json!("unknown"));
    assert_eq!(r["details"], json!("3"));
    assert_eq!(
        w,
        ["bib8: a journal reference without journal: kept as unknown"]
    );
}

#[test]
fn comment_makes_unknown() {
    let (r, w) = one(&format!(
        r#"<ref id="bib9"><element-citation publication-type="journal"><person-group person-group-type="author">{SMITH}</person-group>
        <year>2001</year><article-title>A</article-title><source>Cell</source><comment>Retracted</comment></element-citation></ref>"#
    ));
    assert_eq!(r["type"], json!("unknown"));
    assert_eq!(r["details"], json!("Cell, Retracted"));
    assert_eq!(w.len(), 1, "{w:?}");
}

#[test]
fn missing_year_and_in_press() {
    let r = format!(
        r#"<ref id="bib10"><element-citation publication-type="journal"><person-group person-group-type="author">{SMITH}</person-group>
        <article-title>A</article-title><source>Cell</source></element-citation></ref>
        <ref id="bib11"><element-citation publication-type="journal"><person-group person-group-type="author">{SMITH}</person-group>
        <year>In press</year><article-title>B</article-title><source>Cell</source></element-citation></ref>"#
    );
    let (refs, _, w) = run_with(&r, "", true);
    assert_eq!(refs[0]["date"], json!("2016"));
    assert_eq!(refs[1]["date"], json!("2016"));
    assert_eq!(refs[1]["pages"], json!("In press"));
    let w: Vec<String> = w.into_iter().map(|w| w.message).collect();
    assert_eq!(
        w,
        [
            "bib10: no year; the article's year 2016 given (the model requires a date)",
            "bib11: no year; the article's year 2016 given (the model requires a date)"
        ]
    );
    // No article year either: left out, said so.
    let (refs, _, w) = run_with(&r, "", false);
    assert_eq!(refs, json!([]));
    assert_eq!(w.len(), 2);
    assert!(w[0].message.contains("left out"), "{w:?}");
}

#[test]
fn odd_years() {
    let y = |year: &str| {
        let (r, w) = one(&format!(
            r#"<ref id="b"><element-citation publication-type="journal"><person-group person-group-type="author">{SMITH}</person-group>
            {year}<article-title>A</article-title><source>Cell</source></element-citation></ref>"#
        ));
        (r["date"].clone(), r.get("discriminator").cloned(), w.len())
    };
    assert_eq!(y("<year>1998–1999</year>"), (json!("1998"), None, 1));
    assert_eq!(
        y("<year>2016b</year>"),
        (json!("2016"), Some(json!("b")), 0)
    );
    assert_eq!(
        y(r#"<year iso-8601-date="2016-13-45">2016</year>"#),
        (json!("2016"), None, 0)
    );
    assert_eq!(y("<year>n.d.</year>"), (json!("2016"), None, 1));
}

#[test]
fn collab_authors_and_legacy_forms() {
    // A collab in a person-group, one outside any (older XML), and a
    // mixed-citation with punctuation between its parts.
    let (r, _) = one(
        r#"<ref id="bib17"><element-citation publication-type="journal"><person-group person-group-type="author">
        <collab>Human Microbiome Project <italic>Consortium</italic></collab></person-group><year>2012</year>
        <article-title>Structure</article-title><source>Nature</source></element-citation></ref>"#,
    );
    assert_eq!(
        r["authors"],
        json!([{"type": "group", "name": "Human Microbiome Project <i>Consortium</i>"}])
    );
    let (r, _) = one(
        r#"<ref id="bib4"><mixed-citation publication-type="journal"><collab>ENCODE Project Consortium</collab>. <year>2012</year>.
        <article-title>An integrated encyclopedia</article-title>. <source>Nature</source> <volume>489</volume>:<fpage>57</fpage>–<lpage>74</lpage>.
        </mixed-citation></ref>"#,
    );
    assert_eq!(
        r,
        json!({
            "type": "journal", "id": "bib4", "date": "2012", "authors": [{"type": "group", "name": "ENCODE Project Consortium"}],
            "articleTitle": "An integrated encyclopedia", "journal": "Nature", "volume": "489",
            "pages": {"first": "57", "last": "74", "range": "57–74"}
        })
    );
}

#[test]
fn hostile_and_broken() {
    let r = format!(
        r#"<ref id="bib1"><note>no citation</note></ref>
        <ref><element-citation publication-type="journal"><person-group person-group-type="author">{SMITH}</person-group><year>2001</year>
        <article-title>No id</article-title><source>X</source></element-citation></ref>
        <ref id="bib3"><element-citation publication-type="journal"><person-group person-group-type="author">{SMITH}</person-group><year>2001</year>
        <article-title>&lt;script&gt;alert(1)&lt;/script&gt;</article-title><source>X</source>
        <pub-id pub-id-type="doi">not a doi</pub-id><pub-id pub-id-type="pmid">PMC123</pub-id><issue>4</issue></element-citation></ref>
        <ref id="bib4"><element-citation publication-type="journal"><year>2001</year></element-citation></ref>"#
    );
    let (refs, _, w) = run_with(&r, "", true);
    assert_eq!(refs.as_array().unwrap().len(), 1, "{refs}");
    assert_eq!(
        refs[0]["articleTitle"],
        json!("&lt;script&gt;alert(1)&lt;/script&gt;")
    );
    assert_eq!(refs[0].get("doi"), None);
    assert_eq!(refs[0].get("pmid"), None);
    let w: Vec<String> = w.into_iter().map(|w| w.message).collect();
    for expected in [
        "reference without a citation element: left out",
        "reference without an id: left out (citations cannot point at it)",
        "DOI \"not a doi\" is malformed: left out",
        "PMID \"PMC123\" is not a number: left out",
        "bib3: not in the model's journal reference, left out: issue",
        "bib4: no authors and nothing to name as one: left out",
    ] {
        assert!(w.iter().any(|m| m == expected), "{expected:?} not in {w:?}");
    }
}

#[test]
fn no_authors_named_after_source() {
    let (r, w) = one(
        r#"<ref id="bib40"><element-citation publication-type="web"><year>2020</year><article-title>FlyBase</article-title>
        <source>FlyBase &amp; co</source><ext-link ext-link-type="uri" xlink:href="https://flybase.org">flybase.org</ext-link></element-citation></ref>"#,
    );
    assert_eq!(r["type"], json!("unknown"));
    assert_eq!(
        r["authors"],
        json!([{"type": "group", "name": "FlyBase &amp; co"}])
    );
    assert_eq!(r["uri"], json!("https://flybase.org"));
    assert_eq!(w.len(), 2, "{w:?}");
}

#[test]
fn isbn_and_doi_forms() {
    use super::cite::{is_doi, isbn13, normalise_doi};
    assert_eq!(
        isbn13("978-0-08-086125-8").as_deref(),
        Some("9780080861258")
    );
    assert_eq!(isbn13("0-306-40615-2").as_deref(), Some("9780306406157"));
    assert_eq!(isbn13("0-8044-2957-X").as_deref(), Some("9780804429573"));
    assert_eq!(isbn13("12345"), None);
    assert_eq!(isbn13("é12345678"), None);
    assert_eq!(isbn13("978é1234567"), None);
    assert_eq!(
        normalise_doi(" https://dx.doi.org/10.7554/eLife.00007 "),
        "10.7554/eLife.00007"
    );
    assert_eq!(normalise_doi("doi:10.1/x"), "10.1/x");
    assert!(is_doi("10.1126/science.aaa4456"));
    assert!(!is_doi("10.12/x"));
    assert!(!is_doi("10.1234/a b"));
}

const DATA_AVAILABILITY: &str = r#"<sec sec-type="data-availability" id="s7"><title>Data availability</title>
    <p>Sequencing data have been deposited in GEO under accession code <ext-link ext-link-type="uri" xlink:href="https://www.ncbi.nlm.nih.gov/geo/">GSE1</ext-link>.</p>
    <p>The following dataset was generated:</p>
    <p><element-citation publication-type="data" specific-use="isSupplementedBy" id="dataset1">
      <person-group person-group-type="author"><name><surname>Piwowar</surname><given-names>HA</given-names></name><etal/></person-group>
      <year iso-8601-date="2017">2017</year><data-title>Data from: Data archiving</data-title><source>Dryad</source>
      <pub-id pub-id-type="doi" assigning-authority="dryad">http://dx.doi.org/10.5061/dryad.j1fd7</pub-id></element-citation></p>
    <p>The following previously published datasets were used:</p>
    <p><element-citation publication-type="data" specific-use="references" id="dataset2">
      <person-group person-group-type="author"><collab>Xenbase</collab></person-group><year iso-8601-date="2014">2014</year>
      <source>Xenbase_Xenopus_laevis</source><ext-link ext-link-type="uri" xlink:href="www.xenbase.org">www.xenbase.org</ext-link>
      <comment>RRID:SCR_003280</comment></element-citation>
      <element-citation publication-type="data" specific-use="references" id="dataset3">
      <year iso-8601-date="2012">2012</year><source>Protein Data Bank</source>
      <pub-id pub-id-type="accession" xlink:href="https://www.rcsb.org/structure/4QEN">4QEN</pub-id></element-citation></p>
    </sec>"#;

#[test]
fn data_sets_generated_and_used() {
    let (_, ds, w) = run_with("", DATA_AVAILABILITY, true);
    assert_eq!(
        ds,
        json!({
            "availability": [{"type": "paragraph", "text": "Sequencing data have been deposited in GEO under accession code <a href=\"https://www.ncbi.nlm.nih.gov/geo/\">GSE1</a>."}],
            "generated": [{
                "id": "dataset1", "date": "2017", "authors": [person("Piwowar HA", "Piwowar, HA")], "authorsEtAl": true,
                "title": "Data from: Data archiving", "details": "Dryad", "doi": "10.5061/dryad.j1fd7"
            }],
            "used": [{
                "id": "dataset2", "date": "2014", "authors": [{"type": "group", "name": "Xenbase"}],
                "title": "Xenbase_Xenopus_laevis", "details": "RRID:SCR_003280", "uri": "http://www.xenbase.org"
            }, {
                "id": "dataset3", "date": "2012", "authors": [{"type": "group", "name": "Protein Data Bank"}],
                "title": "Protein Data Bank", "dataId": "4QEN", "uri": "https://www.rcsb.org/structure/4QEN"
            }]
        })
    );
    let w: Vec<String> = w.into_iter().map(|w| w.message).collect();
    assert_eq!(
        w,
        ["dataset3: no authors; its source \"Protein Data Bank\" named as the author (the model requires one)"]
    );
}

#[test]
fn data_sets_legacy_related_object() {
    // elife-00007 (2012).
    let back = r#"<sec sec-type="datasets"><title>Major datasets</title><p>The following datasets were generated</p>
    <p><related-object content-type="generated-dataset" document-id="Dataset ID and/or url" document-id-type="dataset" document-type="data" id="dataro1">
    <name><surname>Schuman</surname><given-names>MC</given-names></name>, <year>2012</year><x>, </x>
    <source>Herbivory-induced volatiles</source><x>, </x>
    <ext-link ext-link-type="uri" xlink:href="http://dx.doi.org/10.5061/dryad.gs45f">http://dx.doi.org/10.5061/dryad.gs45f</ext-link><x>, </x>
    <comment>Available at Dryad</comment></related-object></p></sec>"#;
    let (_, ds, w) = run_with("", back, true);
    assert_eq!(
        ds,
        json!({"generated": [{
            "id": "dataro1", "date": "2012", "authors": [person("Schuman MC", "Schuman, MC")],
            "title": "Herbivory-induced volatiles", "details": "Available at Dryad",
            "doi": "10.5061/dryad.gs45f", "uri": "http://dx.doi.org/10.5061/dryad.gs45f"
        }]})
    );
    assert!(w.is_empty(), "{w:?}");
}

#[test]
fn data_sets_absent_or_statement_only() {
    let (_, ds, _) = run_with("", "", true);
    assert_eq!(ds, Value::Null);
    let (_, ds, _) = run_with(
        "",
        r#"<sec sec-type="data-availability"><title>Data availability</title><p>All data are in the manuscript.</p></sec>"#,
        true,
    );
    assert_eq!(
        ds,
        json!({"availability": [{"type": "paragraph", "text": "All data are in the manuscript."}]})
    );
}

proptest::proptest! {
    /// Whatever the parts say, the conversion never panics and every
    /// reference it keeps has an id and a partial date.
    #[test]
    fn never_panics(
        ty in "(journal|book|data|web|thesis|patent|software|x)",
        year in "[0-9a-zé –,.]{0,10}",
        page in "[0-9A-Zé .–-]{0,8}",
        doi in "[0-9a-z/.: é]{0,16}",
        link in "[a-zA-Z:/. é]{0,16}",
    ) {
        let e = crate::html::escape;
        let r = format!(
            r#"<ref id="b1"><element-citation publication-type="{ty}"><person-group person-group-type="author">{SMITH}</person-group>
            <year iso-8601-date="{y}">{y}</year><article-title>{p}</article-title><source>{p}</source><fpage>{p}</fpage><lpage>{p}</lpage>
            <pub-id pub-id-type="doi">{d}</pub-id><pub-id pub-id-type="isbn">{d}</pub-id><pub-id pub-id-type="pmid">{d}</pub-id>
            <ext-link ext-link-type="uri" xlink:href="{l}">{l}</ext-link></element-citation></ref>"#,
            y = e(&year), p = e(&page), d = e(&doi), l = e(&link),
        );
        let (refs, _, _) = run_with(&r, "", true);
        for r in refs.as_array().unwrap() {
            proptest::prop_assert!(super::cite::is_partial_date(r["date"].as_str().unwrap()));
            proptest::prop_assert_eq!(&r["id"], &json!("b1"));
        }
    }
}
