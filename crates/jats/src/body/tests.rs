//! Table tests for the block converter and the article parts.

use crate::cx::Cx;
use crate::{Options, PackageFile, WebImage};
use serde_json::{json, Value};

/// A package with one image (TIFF with two web renditions), one video and
/// one spreadsheet.
pub(crate) fn opts() -> Options {
    let web = |stem: &str| {
        vec![
            WebImage {
                url: format!("https://cdn.example.org/00353/{stem}-1500w.jpg"),
                filename: format!("{stem}-1500w.jpg"),
                width: 1500,
                height: 1000,
            },
            WebImage {
                url: format!("https://cdn.example.org/00353/{stem}-617w.jpg"),
                filename: format!("{stem}-617w.jpg"),
                width: 617,
                height: 411,
            },
        ]
    };
    let file = |name: &str, media_type: &str, web: Vec<WebImage>| PackageFile {
        name: name.into(),
        url: format!("https://cdn.example.org/00353/{name}"),
        media_type: media_type.into(),
        web,
    };
    Options {
        files: vec![
            file(
                "elife-00353-fig1-v1.tif",
                "image/tiff",
                web("elife-00353-fig1-v1"),
            ),
            file(
                "elife-00353-fig1-figsupp1-v1.tif",
                "image/tiff",
                web("elife-00353-fig1-figsupp1-v1"),
            ),
            file(
                "elife-00353-inf1-v1.tif",
                "image/tiff",
                web("elife-00353-inf1-v1"),
            ),
            file("elife-00353-media1.mp4", "video/mp4", Vec::new()),
            file(
                "elife-00353-fig1-data1-v1.xlsx",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                Vec::new(),
            ),
            file("elife-00353-supp1-v1.pdf", "application/pdf", Vec::new()),
        ],
        iiif_base_url: "https://iiif.example.org/iiif/2/".into(),
        ..Options::default()
    }
}

/// Blocks of `<wrap>…</wrap>`, as JSON, with the warnings and the deferred
/// error (if any).
pub(crate) fn run(xml: &str) -> (Value, Vec<String>, Option<String>) {
    let o = opts();
    let mut cx = Cx::new(&o, "t.xml");
    cx.article_id = "00353".into();
    let src = format!("<wrap xmlns:xlink=\"http://www.w3.org/1999/xlink\" xmlns:mml=\"http://www.w3.org/1998/Math/MathML\">{xml}</wrap>");
    let root = crate::xml::parse(src.as_bytes(), "t.xml").unwrap();
    let bs = super::blocks(&mut cx, &root, "wrap");
    let warnings = cx.warnings.iter().map(|w| w.to_string()).collect();
    (
        serde_json::to_value(&bs).unwrap(),
        warnings,
        cx.deferred.map(|e| e.to_string()),
    )
}

pub(crate) fn blocks(xml: &str) -> Value {
    let (v, w, e) = run(xml);
    assert!(e.is_none(), "{xml}: {e:?}");
    assert!(w.is_empty(), "{xml}: unexpected warnings {w:?}");
    v
}

pub(crate) fn image_json(stem: &str) -> Value {
    json!({
        "uri": format!("https://iiif.example.org/iiif/2/00353%2F{stem}.tif"),
        "alt": "",
        "source": {
            "mediaType": "image/jpeg",
            "uri": format!("https://cdn.example.org/00353/{stem}-1500w.jpg"),
            "filename": format!("{stem}-1500w.jpg"),
        },
        "size": {"width": 1500, "height": 1000},
    })
}

#[test]
fn paragraphs_and_inline_markup() {
    let cases: &[(&str, &str)] = &[
        ("<p>a <italic>b</italic> <bold>c</bold> <sup>2</sup><sub>i</sub></p>", "a <i>b</i> <b>c</b> <sup>2</sup><sub>i</sub>"),
        ("<p><sc>Sc</sc> <monospace>m</monospace> <underline>u</underline></p>", "<span class=\"small-caps\">Sc</span> <span class=\"monospace\">m</span> <span class=\"underline\">u</span>"),
        ("<p>see <xref ref-type=\"fig\" rid=\"fig1 fig2\">Figure 1</xref></p>", "see <a href=\"#fig1\">Figure 1</a>"),
        ("<p><email>a@b.org</email></p>", "<a href=\"mailto:a@b.org\">a@b.org</a>"),
        ("<p><ext-link ext-link-type=\"uri\" xlink:href=\"https://x.org/?a=1&amp;b=2\">x</ext-link></p>", "<a href=\"https://x.org/?a=1&amp;b=2\">x</a>"),
        ("<p><ext-link ext-link-type=\"uri\" xlink:href=\"www.x.org\">x</ext-link></p>", "<a href=\"http://www.x.org\">x</a>"),
        ("<p><ext-link ext-link-type=\"doi\" xlink:href=\"10.7554/eLife.00353\">d</ext-link></p>", "<a href=\"https://doi.org/10.7554/eLife.00353\">d</a>"),
        ("<p><named-content content-type=\"gene\">lacZ</named-content></p>", "<span class=\"gene\">lacZ</span>"),
        ("<p>a<break/>b</p>", "a<br>b"),
        ("<p>x &lt; y &amp; <italic>&lt;script&gt;</italic></p>", "x &lt; y &amp; <i>&lt;script&gt;</i>"),
        ("<p>\n  spread\nover lines \n</p>", "spread over lines"),
        (
            "<p>f <inline-formula><mml:math id=\"m1\" alttext=\"x\"><mml:mi mathvariant=\"normal\">x</mml:mi><mml:mo>=</mml:mo><mml:mn>1</mml:mn></mml:math></inline-formula></p>",
            "f <math><mi mathvariant=\"normal\">x</mi><mo>=</mo><mn>1</mn></math>",
        ),
        (
            "<p><inline-formula><alternatives><tex-math>x</tex-math><mml:math><mml:mi>x</mml:mi></mml:math></alternatives></inline-formula></p>",
            "<math><mi>x</mi></math>",
        ),
        (
            "<p><inline-graphic xlink:href=\"elife-00353-inf1-v1\"/></p>",
            "<img src=\"https://cdn.example.org/00353/elife-00353-inf1-v1-1500w.jpg\"/>",
        ),
    ];
    for (xml, html) in cases {
        assert_eq!(
            blocks(xml),
            json!([{"type": "paragraph", "text": html}]),
            "{xml}"
        );
    }
    // Whitespace-only paragraphs are no paragraphs.
    assert_eq!(blocks("<p> \n </p><p/>"), json!([]));
}

#[test]
fn hostile_inline() {
    // A javascript: link keeps its text, loses its link, and says so.
    let (v, w, _) = run("<p><ext-link ext-link-type=\"uri\" xlink:href=\" javascript:alert(1)\">click</ext-link></p>");
    assert_eq!(v, json!([{"type": "paragraph", "text": "click"}]));
    assert_eq!(w.len(), 1);
    assert!(
        w[0].contains("wrap/p[1]/ext-link[1]") && w[0].contains("javascript"),
        "{w:?}"
    );
    // Same for related-object; an email address is always a mailto: link.
    let (v, w, _) = run("<p><email xlink:href=\"data:text/html,x\">m</email><related-object xlink:href=\"vbscript:x\">r</related-object></p>");
    assert_eq!(
        v,
        json!([{"type": "paragraph", "text": "<a href=\"mailto:data:text/html,x\">m</a>r"}])
    );
    assert_eq!(w.len(), 1);
    // An xref id cannot break out of its attribute.
    assert_eq!(
        blocks("<p><xref rid=\"a&quot;onclick=&quot;x\">r</xref></p>"),
        json!([{"type": "paragraph", "text": "<a href=\"#a&quot;onclick=&quot;x\">r</a>"}])
    );
    // MathML keeps no links, handlers, styles or annotations.
    assert_eq!(
        blocks("<p><mml:math><mml:mi href=\"javascript:x\" onclick=\"x\" style=\"a\" xlink:href=\"javascript:y\" mathcolor=\"red\">x</mml:mi><mml:semantics><mml:mn>1</mml:mn><mml:annotation-xml encoding=\"text/html\"><script>x</script></mml:annotation-xml></mml:semantics></mml:math></p>"),
        json!([{"type": "paragraph", "text": "<math><mi mathcolor=\"red\">x</mi><semantics><mn>1</mn></semantics></math>"}])
    );
    // An unknown inline element keeps its text, with a warning.
    let (v, w, _) = run("<p>a <blink>b</blink></p>");
    assert_eq!(v, json!([{"type": "paragraph", "text": "a b"}]));
    assert_eq!(
        w,
        vec!["wrap/p[1]/blink[1]: inline element not mapped: its text is kept, its markup dropped"]
    );
    // An inline graphic not in the package: left out, with a warning.
    let (v, w, e) = run("<p>a<inline-graphic xlink:href=\"nope.tif\"/></p>");
    assert_eq!(v, json!([{"type": "paragraph", "text": "a"}]));
    assert_eq!(w.len(), 1);
    assert!(e.is_none());
}

#[test]
fn paragraphs_split_around_blocks() {
    let v = blocks(
        "<p>before <disp-formula id=\"equ1\"><label>(1)</label><mml:math><mml:mi>x</mml:mi></mml:math></disp-formula> after <list list-type=\"bullet\"><list-item><p>one</p></list-item></list><disp-quote><p>q</p></disp-quote></p>",
    );
    assert_eq!(
        v,
        json!([
            {"type": "paragraph", "text": "before"},
            {"type": "mathml", "id": "equ1", "label": "(1)", "mathml": "<math><mi>x</mi></math>"},
            {"type": "paragraph", "text": "after"},
            {"type": "list", "prefix": "bullet", "items": [[{"type": "paragraph", "text": "one"}]]},
            {"type": "quote", "text": [{"type": "paragraph", "text": "q"}]},
        ])
    );
}

#[test]
fn sections() {
    assert_eq!(
        blocks("<sec id=\"s1\"><title>Intro <italic>x</italic></title><p>a</p><sec id=\"s1-1\"><title>Sub</title><p>b</p></sec></sec>"),
        json!([{"type": "section", "id": "s1", "title": "Intro <i>x</i>", "content": [
            {"type": "paragraph", "text": "a"},
            {"type": "section", "id": "s1-1", "title": "Sub", "content": [{"type": "paragraph", "text": "b"}]},
        ]}])
    );
    // Untitled: its content joins the parent.
    assert_eq!(
        blocks("<p>a</p><sec id=\"s9\"><p>b</p></sec>"),
        json!([{"type": "paragraph", "text": "a"}, {"type": "paragraph", "text": "b"}])
    );
    // Empty: left out, with a warning.
    let (v, w, _) = run("<sec id=\"s1\"><title>T</title></sec>");
    assert_eq!(v, json!([]));
    assert_eq!(w, vec!["wrap/sec[1]: section without content left out"]);
}

#[test]
fn deeply_nested_sections() {
    let depth = 200;
    let mut xml = String::new();
    for i in 0..depth {
        xml.push_str(&format!("<sec id=\"s{i}\"><title>T{i}</title>"));
    }
    xml.push_str("<p>deep</p>");
    for _ in 0..depth {
        xml.push_str("</sec>");
    }
    let v = blocks(&xml);
    let mut cur = &v[0];
    for i in 0..depth {
        assert_eq!(cur["title"], format!("T{i}"));
        cur = &cur["content"][0];
    }
    assert_eq!(cur, &json!({"type": "paragraph", "text": "deep"}));
}

#[test]
fn lists() {
    let cases: &[(&str, Value)] = &[
        (
            "<list list-type=\"order\"><list-item><p>a</p><list list-type=\"alpha-lower\"><list-item><p>b</p></list-item></list></list-item><list-item/></list>",
            json!([{"type": "list", "prefix": "number", "items": [
                [{"type": "paragraph", "text": "a"}, {"type": "list", "prefix": "alpha-lower", "items": [[{"type": "paragraph", "text": "b"}]]}],
                "",
            ]}]),
        ),
        (
            "<list list-type=\"simple\"><list-item><p>a</p></list-item></list>",
            json!([{"type": "list", "prefix": "none", "items": [[{"type": "paragraph", "text": "a"}]]}]),
        ),
        (
            "<list><list-item><label>i</label><p>a</p></list-item></list>",
            json!([{"type": "list", "prefix": "none", "items": [[{"type": "paragraph", "text": "a"}]]}]),
        ),
        (
            "<list list-type=\"roman-upper\"><list-item><p>a</p></list-item></list>",
            json!([{"type": "list", "prefix": "roman-upper", "items": [[{"type": "paragraph", "text": "a"}]]}]),
        ),
    ];
    for (xml, want) in cases {
        assert_eq!(&blocks(xml), want, "{xml}");
    }
}

#[test]
fn quotes_boxes_code() {
    assert_eq!(
        blocks("<disp-quote><p>q</p><attrib>Someone</attrib></disp-quote>"),
        json!([{"type": "quote", "text": [{"type": "paragraph", "text": "q"}], "cite": "Someone"}])
    );
    assert_eq!(
        blocks("<disp-quote content-type=\"editor-comment\"><p>c</p><code>x</code></disp-quote>"),
        json!([{"type": "excerpt", "content": [{"type": "paragraph", "text": "c"}, {"type": "code", "code": "x"}]}])
    );
    assert_eq!(
        blocks("<boxed-text id=\"box1\"><object-id pub-id-type=\"doi\">10.7554/eLife.00353.005</object-id><label>Box 1.</label><caption><title>The box</title></caption><p>b</p><sec><title>In</title><p>c</p></sec></boxed-text>"),
        json!([{"type": "box", "doi": "10.7554/eLife.00353.005", "id": "box1", "label": "Box 1", "title": "The box", "content": [
            {"type": "paragraph", "text": "b"},
            {"type": "paragraph", "text": "<b>In</b>"},
            {"type": "paragraph", "text": "c"},
        ]}])
    );
    // Untitled box: its content joins the parent.
    assert_eq!(
        blocks("<boxed-text><p>b</p></boxed-text>"),
        json!([{"type": "paragraph", "text": "b"}])
    );
    // A box around an inline graphic is an image.
    assert_eq!(
        blocks("<boxed-text><p>Caption</p><p><inline-graphic xlink:href=\"elife-00353-inf1-v1\"/></p></boxed-text>"),
        json!([{"type": "image", "caption": [{"type": "paragraph", "text": "Caption"}], "image": image_json("elife-00353-inf1-v1")}])
    );
    // Code keeps its whitespace.
    assert_eq!(
        blocks("<code language=\"python\">def f():\n    return 1 &lt; 2\n</code>"),
        json!([{"type": "code", "code": "def f():\n    return 1 < 2", "language": "python"}])
    );
}

/// `fill` on an article with this front matter (inside article-meta),
/// body and back.
fn fill(status: crate::Status, meta: &str, body: &str, back: &str) -> (Value, Vec<String>) {
    let o = opts();
    let mut cx = Cx::new(&o, "t.xml");
    let src = format!(
        "<article xmlns:xlink=\"http://www.w3.org/1999/xlink\"><front><article-meta>{meta}</article-meta></front>{body}<back>{back}</back></article>"
    );
    let root = crate::xml::parse(src.as_bytes(), "t.xml").unwrap();
    let mut article = crate::Article {
        id: "00353".into(),
        status: Some(status),
        ..crate::Article::default()
    };
    super::fill(&mut cx, &root, &mut article).unwrap();
    let mut v = serde_json::to_value(&article).unwrap();
    let keep = [
        "abstract",
        "digest",
        "body",
        "appendices",
        "acknowledgements",
        "ethics",
        "additionalFiles",
    ];
    v.as_object_mut()
        .unwrap()
        .retain(|k, _| keep.contains(&k.as_str()));
    (v, cx.warnings.iter().map(|w| w.to_string()).collect())
}

#[test]
fn abstract_and_digest() {
    let meta = r#"<abstract><object-id pub-id-type="doi">10.7554/eLife.00353.001</object-id><p>Abs.</p>
        <p><bold>DOI:</bold> <ext-link ext-link-type="doi" xlink:href="10.7554/eLife.00353.001">http://dx.doi.org/10.7554/eLife.00353.001</ext-link></p></abstract>
        <abstract abstract-type="executive-summary"><object-id pub-id-type="doi">10.7554/eLife.00353.002</object-id><title>eLife digest</title><p>Dig.</p></abstract>"#;
    let (v, w) = fill(crate::Status::Vor, meta, "<body><p>x</p></body>", "");
    assert!(w.is_empty(), "{w:?}");
    assert_eq!(
        v["abstract"],
        json!({"doi": "10.7554/eLife.00353.001", "content": [{"type": "paragraph", "text": "Abs."}]})
    );
    assert_eq!(
        v["digest"],
        json!({"doi": "10.7554/eLife.00353.002", "content": [{"type": "paragraph", "text": "Dig."}]})
    );
    // PoA: abstract only (no digest, no body).
    let (v, _) = fill(crate::Status::Poa, meta, "<body/>", "");
    assert_eq!(v.get("digest"), None);
    assert_eq!(v.get("body"), None);
    assert!(v.get("abstract").is_some());
    // A structured abstract keeps its sections of paragraphs.
    let meta = r#"<abstract><sec id="abs1"><title>Background:</title><p>B.</p></sec><sec><title>Methods</title><p>M.</p><list><list-item><p>i</p></list-item></list></sec></abstract>"#;
    let (v, _) = fill(crate::Status::Vor, meta, "<body><p>x</p></body>", "");
    assert_eq!(
        v["abstract"],
        json!({"content": [
            {"type": "section", "id": "abs1", "title": "Background:", "content": [{"type": "paragraph", "text": "B."}]},
            {"type": "section", "title": "Methods", "content": [{"type": "paragraph", "text": "M."}, {"type": "paragraph", "text": "i"}]},
        ]})
    );
}

#[test]
fn body_is_sections_with_ids() {
    // Loose paragraphs first: one "Main text" section, as eLife does.
    let (v, _) = fill(
        crate::Status::Vor,
        "",
        "<body><p>a</p><sec id=\"s1\"><title>T</title><p>b</p></sec></body>",
        "",
    );
    assert_eq!(
        v["body"],
        json!([{"type": "section", "id": "s0", "title": "Main text", "content": [
            {"type": "paragraph", "text": "a"},
            {"type": "section", "id": "s1", "title": "T", "content": [{"type": "paragraph", "text": "b"}]},
        ]}])
    );
    // A section without an id gets one; a loose block joins the section before it.
    let (v, w) = fill(
        crate::Status::Vor,
        "",
        "<body><sec><title>T</title><p>b</p></sec><p>c</p></body>",
        "",
    );
    assert_eq!(
        v["body"],
        json!([{"type": "section", "id": "s-body-1", "title": "T", "content": [
            {"type": "paragraph", "text": "b"}, {"type": "paragraph", "text": "c"},
        ]}])
    );
    assert_eq!(w.len(), 2, "{w:?}");
    // The related-article box of an Insight is left out.
    let (v, w) = fill(
        crate::Status::Vor,
        "",
        "<body><boxed-text><p><bold>Related research article</bold> X</p></boxed-text><p>a</p></body>",
        "",
    );
    assert_eq!(
        v["body"][0]["content"],
        json!([{"type": "paragraph", "text": "a"}])
    );
    assert_eq!(w.len(), 1);
}

#[test]
fn vor_without_body_is_an_error() {
    let o = opts();
    let mut cx = Cx::new(&o, "t.xml");
    let root = crate::xml::parse(b"<article><body><p> </p></body></article>", "t.xml").unwrap();
    let mut article = crate::Article {
        status: Some(crate::Status::Vor),
        ..crate::Article::default()
    };
    let e = super::fill(&mut cx, &root, &mut article).unwrap_err();
    assert!(e.to_string().contains("article/body"), "{e}");
}

#[test]
fn back_matter() {
    let back = r#"<ack id="ack"><title>Acknowledgements</title><p>Thanks.</p></ack>
        <app-group><app id="app1"><title>Appendix 1</title><boxed-text><object-id pub-id-type="doi">10.7554/eLife.00353.020</object-id><sec id="s8"><title>Detail</title><p>d</p></sec></boxed-text></app>
        <app><p>no title</p></app></app-group>
        <fn-group content-type="ethics-information"><title>Ethics</title><fn fn-type="other"><p>Human subjects: ok.</p></fn><fn><p>Animal: ok.</p></fn></fn-group>
        <sec sec-type="supplementary-material"><title>Additional files</title>
        <supplementary-material id="supp1"><label>Supplementary file 1.</label><caption><title>Table.</title></caption><media mimetype="application" mime-subtype="pdf" xlink:href="elife-00353-supp1-v1.pdf"/></supplementary-material></sec>"#;
    let (v, w) = fill(crate::Status::Vor, "", "<body><p>x</p></body>", back);
    assert_eq!(
        v["acknowledgements"],
        json!([{"type": "paragraph", "text": "Thanks."}])
    );
    assert_eq!(
        v["appendices"],
        json!([
            {"id": "app1", "doi": "10.7554/eLife.00353.020", "title": "Appendix 1", "content": [
                {"type": "section", "id": "s8", "title": "Detail", "content": [{"type": "paragraph", "text": "d"}]},
            ]},
            {"id": "app2", "title": "Appendix 2", "content": [{"type": "paragraph", "text": "no title"}]},
        ])
    );
    assert_eq!(w.len(), 2, "app2: no id, no title: {w:?}");
    assert_eq!(
        v["ethics"],
        json!([{"type": "paragraph", "text": "Human subjects: ok."}, {"type": "paragraph", "text": "Animal: ok."}])
    );
    assert_eq!(
        v["additionalFiles"],
        json!([{"id": "supp1", "label": "Supplementary file 1", "title": "Table.", "mediaType": "application/pdf",
            "uri": "https://cdn.example.org/00353/elife-00353-supp1-v1.pdf", "filename": "elife-00353-supp1-v1.pdf"}])
    );
}

#[test]
fn poa_supplementary_file_in_article_meta() {
    let meta = r#"<supplementary-material><ext-link xlink:href="elife-00353-supp1-v1.pdf">Download</ext-link></supplementary-material>"#;
    let (v, _) = fill(crate::Status::Poa, meta, "", "");
    assert_eq!(
        v["additionalFiles"],
        json!([{"id": "SD1-data", "label": "Supplementary file 1", "mediaType": "application/pdf",
            "uri": "https://cdn.example.org/00353/elife-00353-supp1-v1.pdf", "filename": "elife-00353-supp1-v1.pdf"}])
    );
}
