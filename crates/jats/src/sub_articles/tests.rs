use super::*;
use crate::Options;
use serde_json::{json, Value};

fn sub(kind: &str, id: &str, title: &str, front_extra: &str, body: &str) -> String {
    format!(
        r#"<sub-article article-type="{kind}" id="{id}"><front-stub><article-id pub-id-type="doi">10.7554/eLife.70357.{id}</article-id><title-group><article-title>{title}</article-title></title-group>{front_extra}</front-stub><body>{body}</body></sub-article>"#
    )
}

fn run(subs: &[String]) -> (Value, Vec<crate::Warning>) {
    let xml = format!("<article><front/>{}</article>", subs.concat());
    let root = crate::xml::parse(xml.as_bytes(), "t.xml").unwrap();
    let opts = Options::default();
    let mut cx = Cx::new(&opts, "t.xml");
    let mut a = Article::default();
    fill(&mut cx, &root, &mut a).unwrap();
    let mut v = serde_json::to_value(&a).unwrap();
    let keep = [
        "editorEvaluation",
        "elifeAssessment",
        "decisionLetter",
        "recommendationsForAuthors",
        "authorResponse",
        "publicReviews",
    ];
    v.as_object_mut()
        .unwrap()
        .retain(|k, _| keep.contains(&k.as_str()));
    (v, cx.warnings)
}

fn p(t: &str) -> Value {
    json!({"type": "paragraph", "text": t})
}

#[test]
fn modern_decision_letter_and_reply() {
    let (v, w) = run(&[
        sub("decision-letter", "sa1", "Decision letter", "", "<boxed-text><p>In the interests of transparency.</p></boxed-text><p><bold>Decision</bold></p><p>Thanks.</p>"),
        sub("reply", "sa2", "Author response", "", "<p>We did.</p>"),
    ]);
    assert!(w.is_empty(), "{w:?}");
    assert_eq!(
        v,
        json!({
            "decisionLetter": {"id": "sa1", "doi": "10.7554/eLife.70357.sa1", "description": [p("In the interests of transparency.")], "content": [p("<b>Decision</b>"), p("Thanks.")]},
            "authorResponse": {"id": "sa2", "doi": "10.7554/eLife.70357.sa2", "content": [p("We did.")]}
        })
    );
}

#[test]
fn legacy_article_commentary_wins_and_author_comment_is_a_response() {
    let (v, w) = run(&[
        sub(
            "decision-letter",
            "sa9",
            "Decision letter",
            "",
            "<boxed-text><p>D2</p></boxed-text><p>C2</p>",
        ),
        sub(
            "article-commentary",
            "SA1",
            "Decision letter",
            "",
            "<boxed-text><p>D</p></boxed-text><p>C</p>",
        ),
        sub("author-comment", "SA2", "Author response", "", "<p>R</p>"),
    ]);
    assert_eq!(v["decisionLetter"]["id"], "SA1");
    assert_eq!(v["authorResponse"]["content"], json!([p("R")]));
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].path, "article/sub-article[1]");
}

#[test]
fn decision_letter_without_box_takes_its_first_paragraph() {
    let (v, w) = run(&[sub(
        "decision-letter",
        "sa1",
        "Decision letter",
        "",
        "<p>A</p><p>B</p>",
    )]);
    assert_eq!(v["decisionLetter"]["description"], json!([p("A")]));
    assert_eq!(v["decisionLetter"]["content"], json!([p("B")]));
    assert_eq!(w.len(), 1);
}

#[test]
fn editor_evaluation_with_sciety() {
    let rel = r#"<related-object link-type="continued-by" xlink:href="https://sciety.org/articles/activity/10.1101/2020.11.21.391326"/>"#;
    let (v, _) = run(&[sub(
        "editor-report",
        "sa0",
        "Editor's evaluation",
        rel,
        "<p>Good.</p>",
    )]);
    assert_eq!(
        v["editorEvaluation"],
        json!({"id": "sa0", "doi": "10.7554/eLife.70357.sa0", "content": [p("Good.")], "scietyUri": "https://sciety.org/articles/activity/10.1101/2020.11.21.391326"})
    );
    // A hostile sciety link is not a link.
    let rel = r#"<related-object xlink:href="javascript:alert('sciety.org')"/>"#;
    let (v, _) = run(&[sub(
        "editor-report",
        "sa0",
        "Editor's evaluation",
        rel,
        "<p>Good.</p>",
    )]);
    assert!(v["editorEvaluation"].get("scietyUri").is_none());
}

#[test]
fn elife_assessment_with_terms() {
    let kw = r#"<kwd-group kwd-group-type="claim-importance"><kwd>Important</kwd><kwd>Noteworthy</kwd></kwd-group><kwd-group kwd-group-type="evidence-strength"><kwd>Convincing</kwd><kwd>Solid</kwd></kwd-group>"#;
    let (v, w) = run(&[sub(
        "editor-report",
        "sa0",
        "eLife assessment",
        kw,
        "<p>Important work.</p>",
    )]);
    assert_eq!(
        v["elifeAssessment"],
        json!({"title": "eLife assessment", "id": "sa0", "doi": "10.7554/eLife.70357.sa0", "content": [p("Important work.")], "significance": ["important"], "strength": ["convincing", "solid"]})
    );
    assert_eq!(w.len(), 1);
    assert!(w[0].message.contains("noteworthy"));
}

#[test]
fn referee_reports_public_reviews_and_recommendations() {
    let (v, w) = run(&[
        sub(
            "referee-report",
            "sa1",
            "Reviewer #1 (Public Review):",
            "",
            "<p>R1</p>",
        ),
        sub(
            "referee-report",
            "sa2",
            "Reviewer #2 (Public Review):",
            "",
            "<p>R2</p>",
        ),
        sub(
            "referee-report",
            "sa3",
            "Recommendations for authors",
            "",
            "<p>Rec</p>",
        ),
        sub(
            "referee-report",
            "sa4",
            "Reviewer #1 (Recommendations for the authors):",
            "",
            "<p>Rec2</p>",
        ),
        sub(
            "author-comment",
            "sa5",
            "Author response",
            "",
            "<p>Resp</p>",
        ),
    ]);
    assert_eq!(
        v["publicReviews"],
        json!([
            {"title": "Reviewer #1 (Public Review):", "id": "sa1", "doi": "10.7554/eLife.70357.sa1", "content": [p("R1")]},
            {"title": "Reviewer #2 (Public Review):", "id": "sa2", "doi": "10.7554/eLife.70357.sa2", "content": [p("R2")]}
        ])
    );
    assert_eq!(
        v["recommendationsForAuthors"]["title"],
        "Recommendations for authors"
    );
    assert_eq!(v["authorResponse"]["id"], "sa5");
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].path, "article/sub-article[4]");
}

#[test]
fn odd_sub_articles_are_warned() {
    let (v, w) = run(&[
        sub(
            "editor-report",
            "bad id",
            "Editor's evaluation",
            "",
            "<p>E</p>",
        ),
        sub("referee-report", "sa1", "", "", "<p>R</p>"),
        sub("decision-letter", "sa2", "Decision letter", "", ""),
        sub("mystery", "sa3", "What", "", "<p>M</p>"),
        sub("reply", "sa4", "Author response", "", "<p>A</p>")
            .replace("10.7554/eLife.70357.sa4", "nodoi"),
    ]);
    // "bad id" is neither an HTML id nor (in the DOI) a DOI.
    assert_eq!(v["editorEvaluation"], json!({"content": [p("E")]}));
    assert_eq!(v["publicReviews"][0]["title"], "Public review");
    assert!(v.get("decisionLetter").is_none());
    assert!(v["authorResponse"].get("doi").is_none());
    let paths: Vec<&str> = w.iter().map(|w| w.path.as_str()).collect();
    assert!(paths.contains(&"article/sub-article[1]/@id"), "{paths:?}");
    assert!(paths.contains(&"article/sub-article[2]"));
    assert!(paths.contains(&"article/sub-article[3]/body"));
    assert!(paths.contains(&"article/sub-article[4]"));
    assert!(paths.contains(&"article/sub-article[5]/front-stub/article-id"));
}

#[test]
fn author_response_alone_is_refused() {
    let xml = format!(
        "<article><front/>{}</article>",
        sub("reply", "sa2", "Author response", "", "<p>A</p>")
    );
    let root = crate::xml::parse(xml.as_bytes(), "t.xml").unwrap();
    let opts = Options::default();
    let mut cx = Cx::new(&opts, "t.xml");
    let mut a = Article::default();
    let e = fill(&mut cx, &root, &mut a).unwrap_err();
    assert!(
        e.to_string().starts_with(
            "t.xml: invalid article/sub-article[@article-type=reply]: an author response needs"
        ),
        "{e}"
    );
}
