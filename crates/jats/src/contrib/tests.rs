use super::*;
use crate::Options;
use serde_json::{json, Value};

/// Convert an article whose article-meta holds `meta` and whose back holds
/// `back`; the authors, author line and reviewers as JSON.
fn run_with(meta: &str, back: &str, subs: &str) -> (Value, Vec<crate::Warning>) {
    let xml = format!(
        r#"<article><front><article-meta>{meta}</article-meta></front><back>{back}</back>{subs}</article>"#
    );
    let root = crate::xml::parse(xml.as_bytes(), "t.xml").unwrap();
    let opts = Options::default();
    let mut cx = Cx::new(&opts, "t.xml");
    let mut a = Article::default();
    fill(&mut cx, &root, &mut a).unwrap();
    let v = json!({"authors": a.authors, "authorLine": a.author_line, "reviewers": a.reviewers});
    (v, cx.warnings)
}

fn run(meta: &str) -> (Value, Vec<crate::Warning>) {
    run_with(meta, "", "")
}

fn name(s: &str, g: &str) -> String {
    format!("<name><surname>{s}</surname><given-names>{g}</given-names></name>")
}

const AFF1: &str = r#"<aff id="aff1"><label>1</label><institution content-type="dept">Department of Physics</institution>, <institution>Texas A&amp;M University</institution>, <addr-line><named-content content-type="city">College Station</named-content></addr-line>, <country>United States</country></aff>"#;

#[test]
fn person_with_orcid_affiliation_email_and_notes() {
    let meta = format!(
        r#"<contrib-group><contrib contrib-type="author" corresp="yes" id="author-1"><name><surname>Berger</surname><given-names>Lee R</given-names><suffix>Jr</suffix></name><contrib-id contrib-id-type="orcid">http://orcid.org/0000-0002-4130-684X</contrib-id><xref ref-type="aff" rid="aff1">1</xref><xref ref-type="corresp" rid="cor1">*</xref><xref ref-type="fn" rid="con1"/><xref ref-type="fn" rid="conf1"/><xref ref-type="fn" rid="pa1"/><xref ref-type="fn" rid="fn1"/><xref ref-type="other" rid="par-1"/></contrib>{AFF1}</contrib-group><author-notes><corresp id="cor1"><label>*</label>For correspondence: <email>lee@wits.ac.za</email>; <phone>+1 (202) 555-0182</phone></corresp><fn fn-type="present-address" id="pa1"><label>†</label><p>Jena, Germany</p></fn><fn fn-type="other" id="fn1"><label>‡</label><p>Some <italic>additional</italic> information</p></fn></author-notes>{}"#,
        ""
    );
    let back = r#"<fn-group content-type="author-contribution"><fn fn-type="con" id="con1"><p>Conception and design</p></fn></fn-group><fn-group content-type="competing-interest"><fn fn-type="COI-statement" id="conf1"><p>None.</p></fn></fn-group>"#;
    let (v, w) = run_with(&meta, back, "");
    assert!(w.is_empty(), "{w:?}");
    assert_eq!(
        v["authors"],
        json!([{
            "type": "person",
            "name": {"preferred": "Lee R Berger Jr", "index": "Berger, Lee R, Jr"},
            "orcid": "0000-0002-4130-684X",
            "affiliations": [{"name": ["Department of Physics", "Texas A&amp;M University"], "address": {"formatted": ["College Station", "United States"], "components": {"locality": ["College Station"], "country": "United States"}}}],
            "additionalInformation": ["Some <i>additional</i> information"],
            "emailAddresses": ["lee@wits.ac.za"],
            "phoneNumbers": ["+12025550182"],
            "contribution": "Conception and design",
            "competingInterests": "None.",
            "postalAddresses": [{"formatted": ["Jena, Germany"], "components": {"streetAddress": ["Jena, Germany"]}}]
        }])
    );
    assert_eq!(v["authorLine"], "Lee R Berger Jr");
}

#[test]
fn person_without_orcid_bad_orcid_email_phone() {
    let meta = r#"<contrib-group><contrib contrib-type="author"><name><surname>A</surname><given-names>B</given-names></name><contrib-id contrib-id-type="orcid">0000-12</contrib-id><email>not an email</email><email>ok@x.org</email><phone>555-0182</phone></contrib></contrib-group>"#;
    let (v, w) = run(meta);
    assert_eq!(
        v["authors"][0],
        json!({"type": "person", "name": {"preferred": "B A", "index": "A, B"}, "emailAddresses": ["ok@x.org"]})
    );
    assert_eq!(w.len(), 3, "{w:?}");
}

#[test]
fn deceased_by_attribute_or_footnote_and_equal_contribution() {
    let meta = format!(
        r#"<contrib-group><contrib contrib-type="author" deceased="yes" equal-contrib="yes">{}<xref ref-type="fn" rid="equal-contrib1"/></contrib><contrib contrib-type="author" equal-contrib="yes">{}<xref ref-type="fn" rid="equal-contrib1"/><xref ref-type="fn" rid="fn2"/><xref ref-type="fn" rid="equal-contrib2"/></contrib><contrib contrib-type="author">{}<xref ref-type="fn" rid="equal-contrib2"/><xref ref-type="fn" rid="equal-contrib3"/></contrib></contrib-group><author-notes><fn fn-type="other" id="fn2"><p>Deceased</p></fn><fn fn-type="con" id="equal-contrib1"><p>These authors contributed equally</p></fn></author-notes>"#,
        name("One", "A"),
        name("Two", "B"),
        name("Three", "C"),
    );
    let (v, w) = run(&meta);
    assert!(w.is_empty(), "{w:?}");
    assert_eq!(v["authors"][0]["deceased"], true);
    assert_eq!(v["authors"][1]["deceased"], true);
    assert!(v["authors"][2].get("deceased").is_none());
    assert_eq!(v["authors"][0]["equalContributionGroups"], json!([1]));
    assert_eq!(v["authors"][1]["equalContributionGroups"], json!([1, 2]));
    // equal-contrib3 is one author's only: not a group.
    assert_eq!(v["authors"][2]["equalContributionGroups"], json!([2]));
    assert_eq!(v["authorLine"], "A One, B Two, C Three");
}

#[test]
fn collab_with_nested_people_and_groups() {
    let meta = format!(
        r#"<contrib-group><contrib contrib-type="author" corresp="yes"><email>tim@cos.io</email><collab>Reproducibility Project: <italic>Cancer</italic> Biology<contrib-group><contrib contrib-type="author">{}<aff><institution>Science Exchange</institution><addr-line><named-content content-type="city">Palo Alto</named-content></addr-line><country>United States</country></aff></contrib><contrib><collab>APCB BioResource</collab></contrib></contrib-group></collab><xref ref-type="fn" rid="con3"/></contrib><contrib contrib-type="author"><collab>Another group<contrib-group><role>Sub-group 1</role><contrib>{}</contrib></contrib-group><contrib-group><role>Sub-group 2</role><contrib>{}</contrib></contrib-group></collab></contrib></contrib-group>"#,
        name("Iorns", "Elizabeth"),
        name("Churchill", "Steven E"),
        name("Ruiter", "Darryl J"),
    );
    let back = r#"<fn-group content-type="author-contribution"><fn fn-type="con" id="con3"><p>Group work</p></fn></fn-group>"#;
    let (v, w) = run_with(&meta, back, "");
    assert!(w.is_empty(), "{w:?}");
    assert_eq!(
        v["authors"],
        json!([
            {
                "type": "group",
                "name": "Reproducibility Project: <i>Cancer</i> Biology",
                "emailAddresses": ["tim@cos.io"],
                "contribution": "Group work",
                "people": [
                    {"name": {"preferred": "Elizabeth Iorns", "index": "Iorns, Elizabeth"}, "affiliations": [{"name": ["Science Exchange"], "address": {"formatted": ["Palo Alto", "United States"], "components": {"locality": ["Palo Alto"], "country": "United States"}}}]},
                    {"name": {"preferred": "APCB BioResource", "index": "APCB BioResource"}}
                ]
            },
            {
                "type": "group",
                "name": "Another group",
                "groups": {
                    "Sub-group 1": [{"name": {"preferred": "Steven E Churchill", "index": "Churchill, Steven E"}}],
                    "Sub-group 2": [{"name": {"preferred": "Darryl J Ruiter", "index": "Ruiter, Darryl J"}}]
                }
            }
        ])
    );
    assert_eq!(
        v["authorLine"],
        "Reproducibility Project: <i>Cancer</i> Biology, Another group"
    );
}

#[test]
fn non_byline_members_by_group_author_key() {
    let meta = format!(
        r#"<contrib-group><contrib contrib-type="author"><contrib-id contrib-id-type="group-author-key">group-author-id1</contrib-id><collab>ICGC Group</collab><xref ref-type="aff" rid="aff1"/></contrib>{AFF1}</contrib-group><contrib-group><contrib contrib-type="author non-byline"><contrib-id contrib-id-type="group-author-key">group-author-id1</contrib-id>{}</contrib><contrib contrib-type="author non-byline">{}</contrib><contrib contrib-type="author non-byline"><contrib-id contrib-id-type="group-author-key">nope</contrib-id>{}</contrib></contrib-group>"#,
        name("Provenzano", "Elena"),
        name("Keyless", "K"),
        name("Orphan", "O"),
    );
    let (v, w) = run(&meta);
    let g = &v["authors"][0];
    assert_eq!(g["type"], "group");
    assert_eq!(g["affiliations"][0]["name"][1], "Texas A&amp;M University");
    assert_eq!(g["people"][0]["name"]["index"], "Provenzano, Elena");
    // No key: the last group author's (elife-tools).
    assert_eq!(g["people"][1]["name"]["index"], "Keyless, K");
    assert_eq!(g["people"].as_array().unwrap().len(), 2);
    assert_eq!(w.len(), 1);
    assert!(w[0].message.contains("no group"));
}

#[test]
fn on_behalf_of_and_author_line_rules() {
    let people: String = ["A", "B", "C", "D"]
        .iter()
        .map(|n| {
            format!(
                r#"<contrib contrib-type="author">{}</contrib>"#,
                name(n, "X")
            )
        })
        .collect();
    let meta = format!(
        r#"<contrib-group>{people}<on-behalf-of>for the <italic>Consortium</italic></on-behalf-of></contrib-group>"#
    );
    let (v, _) = run(&meta);
    assert_eq!(
        v["authors"][4],
        json!({"type": "on-behalf-of", "onBehalfOf": "for the <i>Consortium</i>"})
    );
    assert_eq!(v["authorLine"], "X A, X B ... X D");
    let two = Author::Person(Person {
        name: Name {
            preferred: "P".into(),
            index: "P".into(),
        },
        orcid: None,
        deceased: false,
        role: None,
        biography: vec![],
        details: Details::default(),
    });
    assert_eq!(author_line(&[]), None);
    assert_eq!(
        author_line(std::slice::from_ref(&two)).as_deref(),
        Some("P")
    );
    assert_eq!(
        author_line(&[two.clone(), two.clone()]).as_deref(),
        Some("P, P")
    );
    assert_eq!(
        author_line(&[two.clone(), two.clone(), two]).as_deref(),
        Some("P, P, P")
    );
}

#[test]
fn affiliation_variants() {
    let meta = r#"<contrib-group><contrib contrib-type="author"><name><surname>S</surname></name><aff><institution-wrap><institution-id institution-id-type="ror">https://ror.org/043jzw605</institution-id><institution>The Institute</institution></institution-wrap><addr-line><named-content content-type="street">1 Road</named-content><named-content content-type="city">London</named-content><named-content content-type="postcode">SW1</named-content></addr-line><state>Greater London</state><country>United Kingdom</country></aff><aff>Some Lab, Some Town, <country>France</country>, <email>a@b.fr</email></aff><aff><country>Japan</country></aff><aff><addr-line>Cambridge, MA</addr-line><institution>MIT</institution></aff><aff><label>3</label></aff></contrib></contrib-group>"#;
    let (v, w) = run(meta);
    assert_eq!(
        v["authors"][0]["affiliations"],
        json!([
            {"name": ["The Institute"], "address": {"formatted": ["1 Road", "London", "Greater London", "SW1", "United Kingdom"], "components": {"streetAddress": ["1 Road"], "locality": ["London"], "area": ["Greater London"], "country": "United Kingdom", "postalCode": "SW1"}}},
            {"name": ["Some Lab, Some Town"], "address": {"formatted": ["France"], "components": {"country": "France"}}},
            {"name": ["Japan"], "address": {"formatted": ["Japan"], "components": {"country": "Japan"}}},
            {"name": ["MIT"], "address": {"formatted": ["Cambridge, MA"], "components": {"streetAddress": ["Cambridge, MA"]}}}
        ])
    );
    assert_eq!(v["authors"][0]["emailAddresses"], json!(["a@b.fr"]));
    assert_eq!(
        v["authors"][0]["name"],
        json!({"preferred": "S", "index": "S"})
    );
    assert_eq!(w.len(), 1);
    assert!(w[0].path.ends_with("aff[5]"));
}

#[test]
fn missing_references_and_nameless_authors_are_warned() {
    let meta = r#"<contrib-group><contrib contrib-type="author"><name><surname>S</surname></name><xref ref-type="aff" rid="nope"/><xref ref-type="fn" rid="con9"/><xref ref-type="fn" rid="zz"/><xref ref-type="bibr" rid="b1"/></contrib><contrib contrib-type="author"><anonymous/></contrib><contrib contrib-type="translator"><name><surname>T</surname></name></contrib><contrib contrib-type="author"><collab> </collab></contrib></contrib-group>"#;
    let (v, w) = run(meta);
    assert_eq!(v["authors"].as_array().unwrap().len(), 1);
    let paths: Vec<&str> = w.iter().map(|w| w.path.as_str()).collect();
    assert_eq!(w.len(), 7, "{paths:?}");
    assert!(paths
        .iter()
        .all(|p| p.starts_with("article/front/article-meta/contrib-group[1]/contrib[")));
}

#[test]
fn role_and_biography() {
    let meta = r#"<contrib-group><contrib contrib-type="author"><name><surname>Marder</surname><given-names>Eve</given-names></name><role>Senior Editor</role><bio><p>Eve is <italic>great</italic>.</p></bio></contrib></contrib-group>"#;
    let (v, _) = run(meta);
    assert_eq!(v["authors"][0]["role"], "Senior Editor");
    assert_eq!(
        v["authors"][0]["biography"],
        json!([{"type": "paragraph", "text": "Eve is <i>great</i>."}])
    );
}

#[test]
fn reviewers_from_front_and_decision_letter() {
    let meta = format!(
        r#"<contrib-group content-type="section"><contrib contrib-type="editor">{}<role>Reviewing editor</role><aff><institution>Carnegie Mellon University</institution>, <country>United States</country></aff></contrib><contrib contrib-type="senior_editor">{}<role>Senior Editor</role></contrib><contrib contrib-type="editor">{}<contrib-id contrib-id-type="orcid">https://orcid.org/0000-0001-5475-4690</contrib-id></contrib><contrib contrib-type="reviewer"><anonymous/><role>Reviewer</role></contrib></contrib-group>"#,
        name("Linstedt", "Adam"),
        name("Malhotra", "Vivek"),
        name("Malhotra", "Vivek"),
    );
    let subs = format!(
        r#"<sub-article article-type="decision-letter"><front-stub><contrib-group><contrib contrib-type="editor">{}<role>Reviewing Editor</role></contrib></contrib-group><contrib-group><contrib contrib-type="reviewer">{}<role>Reviewer</role><aff><institution>RIKEN</institution><country>Japan</country></aff></contrib><contrib contrib-type="reviewer">{}</contrib></contrib-group></front-stub></sub-article>"#,
        name("Linstedt", "Adam"),
        name("Suzuki", "Tadashi"),
        name("Doe", "J"),
    );
    let (v, w) = run_with(&meta, "", &subs);
    assert_eq!(
        v["reviewers"],
        json!([
            {"name": {"preferred": "Adam Linstedt", "index": "Linstedt, Adam"}, "role": "Reviewing Editor", "affiliations": [{"name": ["Carnegie Mellon University"], "address": {"formatted": ["United States"], "components": {"country": "United States"}}}]},
            {"name": {"preferred": "Vivek Malhotra", "index": "Malhotra, Vivek"}, "orcid": "0000-0001-5475-4690", "role": "Senior and Reviewing Editor"},
            {"name": {"preferred": "Tadashi Suzuki", "index": "Suzuki, Tadashi"}, "role": "Reviewer", "affiliations": [{"name": ["RIKEN"], "address": {"formatted": ["Japan"], "components": {"country": "Japan"}}}]},
            {"name": {"preferred": "J Doe", "index": "Doe, J"}, "role": "Reviewer"}
        ])
    );
    // The anonymous reviewer is left out, with a warning.
    assert_eq!(w.len(), 1);
    assert!(v["authors"].as_array().unwrap().is_empty());
}

#[test]
fn string_name_and_hostile_text() {
    let meta = r#"<contrib-group><contrib contrib-type="author"><string-name>&lt;img src=x onerror=alert(1)&gt;</string-name><email>x@y.org"&gt;</email></contrib></contrib-group>"#;
    let (v, w) = run(meta);
    assert_eq!(
        v["authors"][0]["name"]["preferred"],
        "&lt;img src=x onerror=alert(1)&gt;"
    );
    assert!(v["authors"][0].get("emailAddresses").is_none());
    assert_eq!(w.len(), 1);
}

#[test]
fn members_in_and_out_of_sub_groups_become_sub_groups() {
    let meta = format!(
        r#"<contrib-group><contrib contrib-type="author"><collab>G<contrib-group><contrib>{}</contrib></contrib-group><contrib-group><role>Sub</role><contrib>{}</contrib></contrib-group></collab></contrib></contrib-group>"#,
        name("A", "A"),
        name("B", "B"),
    );
    let (v, w) = run(&meta);
    let g = &v["authors"][0];
    assert!(g.get("people").is_none());
    assert_eq!(g["groups"]["G"][0]["name"]["index"], "A, A");
    assert_eq!(g["groups"]["Sub"][0]["name"]["index"], "B, B");
    assert_eq!(w.len(), 1);
}
