use super::*;
use crate::{Options, Stage};
use serde_json::{json, Value};

const LICENSE: &str = r#"<permissions><copyright-holder>Smith et al</copyright-holder><license xlink:href="http://creativecommons.org/licenses/by/4.0/"><license-p>Distributed under <ext-link ext-link-type="uri" xlink:href="http://creativecommons.org/licenses/by/4.0/">CC BY</ext-link>.</license-p></license></permissions>"#;
const DATE: &str =
    r#"<pub-date date-type="pub"><day>13</day><month>12</month><year>2012</year></pub-date>"#;

/// An article with `meta` as its article-meta content and a body.
fn doc(meta: &str) -> String {
    format!(
        r#"<article article-type="research-article"><front><article-meta>{meta}</article-meta></front><body><p>x</p></body></article>"#
    )
}

/// The usual article-meta with one part replaced.
fn meta_with(channel: &str, extra: &str) -> String {
    format!(
        r#"<article-id pub-id-type="publisher-id">353</article-id><article-id pub-id-type="doi">10.7554/eLife.00353</article-id><article-categories><subj-group subj-group-type="display-channel"><subject>{channel}</subject></subj-group></article-categories><title-group><article-title>A <italic>good</italic> life</article-title></title-group>{DATE}{LICENSE}{extra}"#
    )
}

fn convert(xml: &str, opts: &Options, file: &str) -> (Result<Article>, Vec<crate::Warning>) {
    let root = crate::xml::parse(xml.as_bytes(), file).unwrap();
    let mut cx = Cx::new(opts, file);
    let mut a = Article::default();
    let r = fill(&mut cx, &root, &mut a).map(|_| a);
    (r, cx.warnings)
}

fn ok(xml: &str) -> Value {
    let (r, _) = convert(xml, &Options::default(), "elife-00353-v1.xml");
    serde_json::to_value(r.unwrap()).unwrap()
}

fn err(xml: &str) -> String {
    let (r, _) = convert(xml, &Options::default(), "elife-00353-v1.xml");
    r.unwrap_err().to_string()
}

#[test]
fn basic_fields() {
    let v = ok(&doc(&meta_with(
        "Research Article",
        "<volume>1</volume><elocation-id>e00353</elocation-id>",
    )));
    assert_eq!(v["status"], "vor");
    assert_eq!(v["id"], "00353");
    assert_eq!(v["version"], 1);
    assert_eq!(v["type"], "research-article");
    assert_eq!(v["doi"], "10.7554/eLife.00353");
    assert_eq!(v["title"], "A <i>good</i> life");
    assert_eq!(v["stage"], "published");
    assert_eq!(v["published"], "2012-12-13T00:00:00Z");
    assert_eq!(v["versionDate"], "2012-12-13T00:00:00Z");
    assert_eq!(v["statusDate"], "2012-12-13T00:00:00Z");
    assert_eq!(v["volume"], 1);
    assert_eq!(v["elocationId"], "e00353");
    assert_eq!(
        v["copyright"],
        json!({"license": "CC-BY-4.0", "holder": "Smith et al.", "statement": "Distributed under <a href=\"http://creativecommons.org/licenses/by/4.0/\">CC BY</a>."})
    );
}

#[test]
fn status_from_body_or_options() {
    let poa = r#"<article><front><article-meta>META</article-meta></front></article>"#
        .replace("META", &meta_with("Research Article", ""));
    assert_eq!(ok(&poa)["status"], "poa");
    let empty_body = poa.replace("</front>", "</front><body> </body>");
    assert_eq!(ok(&empty_body)["status"], "poa");
    let opts = Options {
        status: Some(Status::Vor),
        ..Options::default()
    };
    let (r, _) = convert(&poa, &opts, "x.xml");
    assert_eq!(r.unwrap().status, Some(Status::Vor));
}

#[test]
fn id_from_doi_and_padding() {
    let m = meta_with("Research Article", "").replace(
        r#"<article-id pub-id-type="publisher-id">353</article-id>"#,
        "",
    );
    let (r, w) = convert(&doc(&m), &Options::default(), "t.xml");
    assert_eq!(r.unwrap().id, "00353");
    assert!(w.iter().any(|w| w.path.contains("publisher-id")));
    let m = meta_with("Research Article", "").replace(">353<", ">e 1<");
    assert!(err(&doc(&m)).contains("publisher-id"));
}

#[test]
fn missing_or_bad_doi_is_an_error_naming_the_element() {
    let m = meta_with("Research Article", "").replace(
        r#"<article-id pub-id-type="doi">10.7554/eLife.00353</article-id>"#,
        "",
    );
    let e = err(&doc(&m));
    assert!(
        e.contains("article/front/article-meta/article-id[@pub-id-type=doi]"),
        "{e}"
    );
    let m = meta_with("Research Article", "").replace("10.7554/eLife.00353", "not a doi");
    assert!(err(&doc(&m)).contains("not a DOI"));
    let m = meta_with("Research Article", "")
        .replace("10.7554/eLife.00353", "https://doi.org/10.7554/eLife.00353");
    assert_eq!(ok(&doc(&m))["doi"], "10.7554/eLife.00353");
    // The version DOI is not the article's DOI.
    let m = meta_with("Research Article", "").replace(
        r#"<article-id pub-id-type="doi">"#,
        r#"<article-id pub-id-type="doi" specific-use="version">10.7554/eLife.00353.2</article-id><article-id pub-id-type="doi">"#,
    );
    assert_eq!(ok(&doc(&m))["doi"], "10.7554/eLife.00353");
    assert!(err("<article><front/></article>").contains("article/front/article-meta"));
}

#[test]
fn version_sources() {
    assert_eq!(version_in_name("elife-00353-v2.xml"), Some(2));
    assert_eq!(
        version_in_name("elife-00353-vor-v3-20121213000000.xml"),
        Some(3)
    );
    assert_eq!(version_in_name("dir/elife-00353-v12.xml"), Some(12));
    assert_eq!(version_in_name("elife-00353.xml"), None);
    assert_eq!(version_in_name("elife-00353-vx.xml"), None);
    let x = doc(&meta_with("Research Article", ""));
    let (r, _) = convert(&x, &Options::default(), "elife-00353-v4.xml");
    assert_eq!(r.unwrap().version, 4);
    let opts = Options {
        version: Some(7),
        ..Options::default()
    };
    let (r, _) = convert(&x, &opts, "elife-00353-v4.xml");
    assert_eq!(r.unwrap().version, 7);
    let (r, _) = convert(&x, &Options::default(), "article.xml");
    assert_eq!(r.unwrap().version, 1);
}

#[test]
fn article_types() {
    for (channel, t) in [
        ("Research Article", "research-article"),
        ("Research article", "research-article"),
        ("Research Advance", "research-advance"),
        ("Tools and Resources", "tools-resources"),
        ("Short Report", "short-report"),
        ("Short report", "short-report"),
        ("Replication Study", "replication-study"),
        ("Registered Report", "registered-report"),
        ("Review Article", "review-article"),
        ("Insight", "insight"),
        ("Editorial", "editorial"),
        ("Feature Article", "feature"),
        ("Feature article", "feature"),
        ("Correction", "correction"),
        ("Retraction", "retraction"),
        ("Scientific Correspondence", "scientific-correspondence"),
        ("Expression of Concern", "expression-concern"),
        ("Research Communication", "research-communication"),
    ] {
        assert_eq!(ok(&doc(&meta_with(channel, "")))["type"], t, "{channel}");
    }
    // Unknown channel: the article-type attribute decides, with a warning.
    let (r, w) = convert(
        &doc(&meta_with("Mystery", "")),
        &Options::default(),
        "t.xml",
    );
    assert_eq!(r.unwrap().article_type, "research-article");
    assert!(w[0].path.ends_with("display-channel]/subject"));
    // Neither: an error naming the element.
    let x = doc(&meta_with("Mystery", "")).replace(
        r#"article-type="research-article""#,
        r#"article-type="other""#,
    );
    assert!(err(&x).contains("display-channel]/subject"));
    // No display channel: the attribute.
    let m = meta_with("X", "").replace(
        r#"<subj-group subj-group-type="display-channel"><subject>X</subject></subj-group>"#,
        "",
    );
    let x = doc(&m).replace("research-article", "article-commentary");
    assert_eq!(ok(&x)["type"], "insight");
    let x = doc(&m).replace("research-article", "letter");
    assert!(err(&x).contains("article/@article-type"));
}

#[test]
fn title_prefix_for_features_insights_editorials() {
    let sub = r#"<subj-group subj-group-type="sub-display-channel"><subject>Living Science</subject></subj-group>"#;
    let m = meta_with("Feature Article", "").replace(
        "</article-categories>",
        &format!("{sub}</article-categories>"),
    );
    assert_eq!(ok(&doc(&m))["titlePrefix"], "Living Science");
    let m = meta_with("Research Article", "").replace(
        "</article-categories>",
        &format!("{sub}</article-categories>"),
    );
    let (r, w) = convert(&doc(&m), &Options::default(), "t.xml");
    assert_eq!(r.unwrap().title_prefix, None);
    assert!(w.iter().any(|w| w.path.contains("sub-display-channel")));
}

#[test]
fn missing_title_is_an_error() {
    let m = meta_with("Insight", "").replace("A <italic>good</italic> life", " ");
    assert!(err(&doc(&m)).contains("title-group/article-title"));
}

#[test]
fn subjects_slugs() {
    for (name, id) in [
        ("Cell Biology", "cell-biology"),
        ("Neuroscience", "neuroscience"),
        (
            "Computational and Systems Biology",
            "computational-systems-biology",
        ),
        (
            "Developmental Biology and Stem Cells",
            "developmental-biology-stem-cells",
        ),
        (
            "Epidemiology and Global Health",
            "epidemiology-global-health",
        ),
        (
            "Microbiology and Infectious Disease",
            "microbiology-infectious-disease",
        ),
        (
            "Structural Biology and Molecular Biophysics",
            "structural-biology-molecular-biophysics",
        ),
        ("Physics of Living Systems", "physics-living-systems"),
        (
            "Stem Cells and Regenerative Medicine",
            "stem-cells-regenerative-medicine",
        ),
        (
            "Chromosomes and Gene Expression",
            "chromosomes-gene-expression",
        ),
        ("Genetics and Genomics", "genetics-genomics"),
        (
            "Biochemistry and Chemical Biology",
            "biochemistry-chemical-biology",
        ),
        ("Immunology and Inflammation", "immunology-inflammation"),
        ("Ecology", "ecology"),
        (
            "Genomics and Evolutionary Biology",
            "genomics-evolutionary-biology",
        ),
        ("Human Biology and Medicine", "human-biology-medicine"),
    ] {
        assert_eq!(subject_id(name), id);
    }
    let heads = r#"<subj-group subj-group-type="heading"><subject>Cell Biology</subject></subj-group><subj-group subj-group-type="heading"><subject>Physics of Living Systems</subject></subj-group><subj-group subj-group-type="heading"><subject>Cell Biology</subject></subj-group>"#;
    let m = meta_with("Research Article", "").replace(
        "</article-categories>",
        &format!("{heads}</article-categories>"),
    );
    assert_eq!(
        ok(&doc(&m))["subjects"],
        json!([{"id": "cell-biology", "name": "Cell Biology"}, {"id": "physics-living-systems", "name": "Physics of Living Systems"}])
    );
}

#[test]
fn keywords_organisms_impact() {
    let extra = r#"<kwd-group kwd-group-type="author-keywords"><title>Author keywords</title><kwd><italic>Homo naledi</italic></kwd><kwd>hominin</kwd><kwd> </kwd></kwd-group><kwd-group><kwd>untyped</kwd></kwd-group><kwd-group kwd-group-type="research-organism"><kwd>Human</kwd><kwd>None</kwd><kwd>Other</kwd><kwd><italic>E. coli</italic></kwd></kwd-group><kwd-group kwd-group-type="research-organism"><kwd>Mouse</kwd></kwd-group><custom-meta-group><custom-meta><meta-name>elife-xml-version</meta-name><meta-value>2</meta-value></custom-meta><custom-meta specific-use="meta-only"><meta-name>Author impact statement</meta-name><meta-value>Volatiles <italic>defend</italic> &amp; more.</meta-value></custom-meta></custom-meta-group>"#;
    let v = ok(&doc(&meta_with("Research Article", extra)));
    assert_eq!(
        v["keywords"],
        json!(["<i>Homo naledi</i>", "hominin", "untyped"])
    );
    assert_eq!(v["researchOrganisms"], json!(["Human", "<i>E. coli</i>"]));
    assert_eq!(v["impactStatement"], "Volatiles <i>defend</i> &amp; more.");
    let v = ok(&doc(&meta_with("Research Article", "")));
    assert!(
        v.get("keywords").is_none()
            && v.get("researchOrganisms").is_none()
            && v.get("impactStatement").is_none()
    );
}

#[test]
fn copyright_variants() {
    assert_eq!(
        license_id("https://creativecommons.org/licenses/by/3.0"),
        Some("CC-BY-3.0")
    );
    assert_eq!(
        license_id("http://creativecommons.org/publicdomain/zero/1.0/"),
        Some("CC0-1.0")
    );
    assert_eq!(license_id("http://example.org/licence"), None);
    // CC0: no holder.
    let m = meta_with("Research Article", "").replace(
        "licenses/by/4.0/\"><license-p>",
        "publicdomain/zero/1.0/\"><license-p>",
    );
    let v = ok(&doc(&m));
    assert_eq!(v["copyright"]["license"], "CC0-1.0");
    assert!(v["copyright"].get("holder").is_none());
    // ali:license_ref instead of xlink:href.
    let m = meta_with("Research Article", "").replace(
        r#"<license xlink:href="http://creativecommons.org/licenses/by/4.0/">"#,
        r#"<license><ali:license_ref>http://creativecommons.org/licenses/by/4.0/</ali:license_ref>"#,
    );
    assert_eq!(ok(&doc(&m))["copyright"]["license"], "CC-BY-4.0");
    // An unknown licence, or CC-BY without a holder: errors naming the element.
    let m = meta_with("Research Article", "").replace(
        "licenses/by/4.0/\"><license-p>",
        "licenses/by-nc/4.0/\"><license-p>",
    );
    assert!(err(&doc(&m)).contains("permissions/license"));
    let m = meta_with("Research Article", "")
        .replace("<copyright-holder>Smith et al</copyright-holder>", "");
    assert!(err(&doc(&m)).contains("permissions/copyright-holder"));
    let m = meta_with("Research Article", "").replace(LICENSE, "");
    assert!(err(&doc(&m)).contains("article-meta/permissions"));
}

#[test]
fn dates_and_volume() {
    // `publication` date type, volume from the year.
    let m = meta_with("Research Article", "").replace(
        DATE,
        r#"<pub-date date-type="publication" publication-format="electronic"><day>26</day><month>10</month><year>2021</year></pub-date><pub-date pub-type="collection"><year>2021</year></pub-date>"#,
    );
    let v = ok(&doc(&m));
    assert_eq!(v["published"], "2021-10-26T00:00:00Z");
    assert_eq!(v["volume"], 10);
    // Old `pub-type="epub"`.
    let m = meta_with("Research Article", "").replace(
        DATE,
        r#"<pub-date pub-type="epub"><day>1</day><month>2</month><year>2016</year></pub-date>"#,
    );
    assert_eq!(ok(&doc(&m))["published"], "2016-02-01T00:00:00Z");
    // iso-8601-date attribute only.
    let m = meta_with("Research Article", "").replace(
        DATE,
        r#"<pub-date date-type="pub" iso-8601-date="2020-02-29"/>"#,
    );
    assert_eq!(ok(&doc(&m))["published"], "2020-02-29T00:00:00Z");
    // Impossible dates and non-numbers are errors naming the element.
    let m = meta_with("Research Article", "").replace(
        "<day>13</day><month>12</month>",
        "<day>30</day><month>2</month>",
    );
    assert!(err(&doc(&m)).contains("article-meta/pub-date"));
    let m = meta_with("Research Article", "").replace("<year>2012</year>", "<year>twenty</year>");
    assert!(err(&doc(&m)).contains("not a number"));
    // No pub-date at all: an error unless options.now.
    let m = meta_with("Research Article", "").replace(DATE, "");
    assert!(err(&doc(&m)).contains("pub-date"));
    let opts = Options {
        now: Some("2024-05-06T07:08:09Z".into()),
        ..Options::default()
    };
    let (r, w) = convert(&doc(&m), &opts, "t.xml");
    let a = r.unwrap();
    assert_eq!(a.published.as_deref(), Some("2024-05-06T07:08:09Z"));
    assert_eq!(a.volume, 13);
    assert!(w.iter().any(|w| w.path.ends_with("pub-date")));
    let bad = Options {
        now: Some("2024-05-06".into()),
        ..Options::default()
    };
    assert!(convert(&doc(&m), &bad, "t.xml").0.is_err());
}

#[test]
fn dates_by_stage_and_version() {
    let x = doc(&meta_with("Research Article", ""));
    let preview = Options {
        stage: Stage::Preview,
        ..Options::default()
    };
    let a = convert(&x, &preview, "elife-00353-v1.xml").0.unwrap();
    assert_eq!(
        (a.published, a.version_date, a.status_date),
        (None, None, None)
    );
    let a = convert(&x, &preview, "elife-00353-v2.xml").0.unwrap();
    assert_eq!(a.published.as_deref(), Some("2012-12-13T00:00:00Z"));
    assert_eq!(a.version_date, None);
    assert_eq!(a.status_date.as_deref(), Some("2012-12-13T00:00:00Z"));
    let a = convert(&x, &Options::default(), "elife-00353-v2.xml")
        .0
        .unwrap();
    assert_eq!(a.version_date, None);
    let now = Options {
        now: Some("2013-01-02T03:04:05Z".into()),
        ..Options::default()
    };
    let a = convert(&x, &now, "elife-00353-v2.xml").0.unwrap();
    assert_eq!(a.published.as_deref(), Some("2012-12-13T00:00:00Z"));
    assert_eq!(a.version_date.as_deref(), Some("2013-01-02T03:04:05Z"));
    assert_eq!(a.status_date.as_deref(), Some("2013-01-02T03:04:05Z"));
}

#[test]
fn links_from_options_or_package() {
    let x = doc(&meta_with(
        "Research Article",
        r#"<self-uri content-type="pdf" xlink:href="elife-00353-v1.pdf"/><self-uri content-type="figures-pdf" xlink:href="missing.pdf"/>"#,
    ));
    let opts = Options {
        files: vec![crate::PackageFile {
            name: "elife-00353-v1.pdf".into(),
            url: "https://cdn.example.org/elife-00353-v1.pdf".into(),
            media_type: "application/pdf".into(),
            web: vec![],
        }],
        xml: Some("https://cdn.example.org/a.xml".into()),
        ..Options::default()
    };
    let (r, w) = convert(&x, &opts, "t.xml");
    let a = r.unwrap();
    assert_eq!(
        a.pdf.as_deref(),
        Some("https://cdn.example.org/elife-00353-v1.pdf")
    );
    assert_eq!(a.figures_pdf, None);
    assert_eq!(a.xml.as_deref(), Some("https://cdn.example.org/a.xml"));
    assert!(w.iter().any(|w| w.path.contains("figures-pdf")));
    let opts = Options {
        pdf: Some("https://x.org/p.pdf".into()),
        figures_pdf: Some("https://x.org/f.pdf".into()),
        ..Options::default()
    };
    let a = convert(&x, &opts, "t.xml").0.unwrap();
    assert_eq!(a.pdf.as_deref(), Some("https://x.org/p.pdf"));
    assert_eq!(a.figures_pdf.as_deref(), Some("https://x.org/f.pdf"));
}

#[test]
fn elocation_fallback_and_hostile_title() {
    let m = meta_with("Research Article", "")
        .replace("A <italic>good</italic> life", "<b>&lt;script&gt;</b> x");
    let (r, w) = convert(&doc(&m), &Options::default(), "t.xml");
    let a = r.unwrap();
    assert_eq!(a.elocation_id, "e00353");
    assert_eq!(a.title, "&lt;script&gt; x");
    assert!(w.iter().any(|w| w.path.ends_with("elocation-id")));
}
