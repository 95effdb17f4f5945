//! The article page renderer: each block type, hostile strings, malformed
//! shapes, and the api-raml samples.

use pressbot_cms::page::{render_article, render_index, IndexRow, PageContext};
use serde_json::{json, Value};

fn ctx() -> PageContext {
    PageContext {
        article_id: "09560".into(),
        version: 1,
        cms_status: "published".into(),
        published_at: Some("2024-01-02T03:04:05Z".into()),
    }
}

fn page_with_body(blocks: Value) -> String {
    render_article(&json!({"title": "T", "body": blocks}), &ctx())
}

/// The part of the page between `<div class="article-body">` and its end.
fn body_html(page: &str) -> &str {
    let start = page
        .find("<div class=\"article-body\">")
        .expect("an article body");
    let end = page[start..]
        .find("</div>\n</article>")
        .map_or(page.len(), |e| start + e);
    &page[start..end]
}

#[test]
fn each_block_type_renders() {
    let img = |uri: &str| json!({"uri": "https://iiif/x", "alt": "an <b>alt</b>", "source": {"mediaType": "image/jpeg", "uri": uri, "filename": "x.jpg"}, "size": {"width": 10, "height": 10}});
    let cases: Vec<(&str, Value, Vec<&str>)> = vec![
        (
            "paragraph",
            json!({"type": "paragraph", "text": "Some <i>italic</i> text"}),
            vec!["<p>Some <i>italic</i> text</p>"],
        ),
        (
            "nested sections",
            json!({"type": "section", "id": "s1", "title": "Intro", "content": [
                {"type": "section", "id": "s1-1", "title": "Deeper", "content": [
                    {"type": "section", "title": "Deepest", "content": [{"type": "paragraph", "text": "x"}]}]}]}),
            vec![
                "<section id=\"s1\"><h2 class=\"section-title\">Intro</h2>",
                "<section id=\"s1-1\"><h3 class=\"section-title\">Deeper</h3>",
                "<h4 class=\"section-title\">Deepest</h4>",
            ],
        ),
        (
            "figure with supplement",
            json!({"type": "figure", "assets": [
                {"type": "image", "id": "fig1", "label": "Figure 1", "title": "A <i>title</i>", "caption": [{"type": "paragraph", "text": "Caption."}], "image": img("https://cdn/fig1.jpg"), "sourceData": [{"label": "Source data 1", "uri": "https://cdn/d.csv", "filename": "d.csv"}]},
                {"type": "image", "id": "fig1s1", "label": "Figure 1—figure supplement 1", "title": "Supp", "image": img("https://cdn/fig1s1.jpg")}]}),
            vec![
                "<figure class=\"image\" id=\"fig1\"><img src=\"https://cdn/fig1.jpg\" alt=\"an alt\"",
                "<span class=\"label\">Figure 1</span> <span class=\"title\">A <i>title</i></span>",
                "<p>Caption.</p>",
                "<a href=\"https://cdn/d.csv\">Source data 1</a>",
                "<div class=\"supplements\"><figure class=\"supplement image\" id=\"fig1s1\"><img src=\"https://cdn/fig1s1.jpg\"",
            ],
        ),
        (
            "image block",
            json!({"type": "image", "image": img("/img.png"), "title": "Inline"}),
            vec!["<figure class=\"image\"><img src=\"/img.png\""],
        ),
        (
            "table",
            json!({"type": "table", "id": "tbl1", "label": "Table 1", "title": "Numbers", "tables": ["<table><thead><tr><th colspan=\"2\">H</th></tr></thead><tbody><tr><td>1</td><td>2</td></tr></tbody></table>"], "footnotes": [{"id": "fn1", "label": "*", "text": [{"type": "paragraph", "text": "A note"}]}]}),
            vec![
                "<figure class=\"table\" id=\"tbl1\">",
                "<div class=\"table-wrap\"><table><thead><tr><th colspan=\"2\">H</th></tr></thead><tbody><tr><td>1</td><td>2</td></tr></tbody></table></div>",
                "<p>A note</p>",
            ],
        ),
        (
            "mathml",
            json!({"type": "mathml", "id": "eqn1", "label": "(1)", "mathml": "<math><mrow><msub><mi>e</mi><mn>0</mn></msub><mo>&#x2062;</mo><mi mathvariant=\"bold\">x</mi></mrow></math>"}),
            vec!["<div class=\"equation\" id=\"eqn1\"><math><mrow><msub><mi>e</mi><mn>0</mn></msub><mo>&#x2062;</mo><mi mathvariant=\"bold\">x</mi></mrow></math><span class=\"label\">(1)</span></div>"],
        ),
        (
            "lists",
            json!({"type": "list", "prefix": "roman-lower", "items": ["one <b>1</b>", [{"type": "paragraph", "text": "two"}, {"type": "list", "prefix": "bullet", "items": ["nested"]}]]}),
            vec![
                "<ol style=\"list-style-type:lower-roman\"><li>one <b>1</b></li><li><p>two</p>",
                "<ul><li>nested</li></ul>",
            ],
        ),
        (
            "box",
            json!({"type": "box", "id": "box1", "label": "Box 1", "title": "Boxed", "content": [{"type": "paragraph", "text": "inside"}]}),
            vec!["<aside class=\"box\" id=\"box1\"><h3 class=\"box-title\"><span class=\"label\">Box 1</span> Boxed</h3><p>inside</p>\n</aside>"],
        ),
        (
            "quote",
            json!({"type": "quote", "text": [{"type": "paragraph", "text": "Quoted"}], "cite": "Someone"}),
            vec!["<blockquote><p>Quoted</p>\n<footer><cite>Someone</cite></footer></blockquote>"],
        ),
        (
            "code",
            json!({"type": "code", "code": "if a < b && c > d { \"<script>\" }"}),
            vec!["<pre><code>if a &lt; b &amp;&amp; c &gt; d { &quot;&lt;script&gt;&quot; }</code></pre>"],
        ),
        (
            "video",
            json!({"type": "video", "id": "video1", "label": "Video 1", "title": "Moving", "width": 640, "height": 480,
                   "sources": [{"mediaType": "video/mp4; codecs=\"avc1\"", "uri": "https://cdn/v.mp4"}, {"mediaType": "video/webm", "uri": "javascript:alert(1)"}],
                   "placeholder": img("https://cdn/poster.jpg")}),
            vec![
                "<figure class=\"video\" id=\"video1\"><video controls preload=\"none\" poster=\"https://cdn/poster.jpg\" width=\"640\" height=\"480\">",
                "<source src=\"https://cdn/v.mp4\" type=\"video/mp4; codecs=&quot;avc1&quot;\">",
                "<span class=\"label\">Video 1</span>",
            ],
        ),
        (
            // What pressbot converts from eLife's older packages: an AVI no
            // browser plays gets its poster and a visible link, no player.
            "video-avi",
            json!({"type": "video", "id": "media1", "label": "Video 1", "width": 1280, "height": 720,
                   "sources": [{"mediaType": "video/x-msvideo", "uri": "https://cdn/m1.avi"}],
                   "placeholder": img("https://cdn/poster.jpg")}),
            vec![
                "<figure class=\"video\" id=\"media1\"><img src=\"https://cdn/poster.jpg\"",
                "<p class=\"downloads\"><a class=\"download\" href=\"https://cdn/m1.avi\">Download the video (AVI)</a></p></figcaption>",
            ],
        ),
        (
            "question",
            json!({"type": "question", "question": "Why?", "answer": [{"type": "paragraph", "text": "Because."}]}),
            vec!["<h2 class=\"question-title\">Why?</h2><p>Because.</p>"],
        ),
        (
            "excerpt",
            json!({"type": "excerpt", "content": [{"type": "paragraph", "text": "Ex"}], "cite": "src"}),
            vec!["<blockquote class=\"excerpt\"><p>Ex</p>"],
        ),
    ];
    for (name, block, expected) in cases {
        let page = page_with_body(json!([block]));
        let body = body_html(&page);
        for e in expected {
            assert!(body.contains(e), "{name}: {e:?} not in\n{body}");
        }
    }
}

#[test]
fn a_video_no_browser_plays_gets_no_player() {
    let page = page_with_body(json!([{"type": "video", "id": "media1",
        "sources": [{"mediaType": "video/quicktime", "uri": "https://cdn/m1.mov"}]}]));
    let body = body_html(&page);
    assert!(!body.contains("<video"), "{body}");
    assert!(
        body.contains("href=\"https://cdn/m1.mov\">Download the video (MOV)</a>"),
        "{body}"
    );
}

#[test]
fn hostile_strings_are_neutralised() {
    let cases: Vec<(&str, Value, Vec<&str>, Vec<&str>)> = vec![
        (
            "script element",
            json!({"type": "paragraph", "text": "a<script>alert(1)</script>b<SCRIPT src=x></SCRIPT>"}),
            vec!["<p>ab</p>"],
            vec!["<script", "alert"],
        ),
        (
            "event handler",
            json!({"type": "paragraph", "text": "<i onclick=\"alert(1)\" onmouseover=x>hi</i><img src=x onerror=alert(1)>"}),
            vec!["<i>hi</i>"],
            vec!["onclick", "onerror", "onmouseover", "<img"],
        ),
        (
            "javascript link",
            json!({"type": "paragraph", "text": "<a href=\"javascript:alert(1)\">x</a><a href=\" JaVa\tScRiPt:alert(1)\">y</a><a href=\"&#106;avascript:alert(1)\">z</a><a href='data:text/html,<b>'>w</a>"}),
            vec!["<a rel=\"noopener noreferrer\">x</a>"],
            vec!["javascript", "JaVa", "&#106;", "data:"],
        ),
        (
            "allowed links",
            json!({"type": "paragraph", "text": "<a href=\"https://elifesciences.org/x?a=1&amp;b=2\">a</a><a href=\"mailto:x@y.z\">m</a><a href=\"#fig1\">f</a><a href=\"/relative\">r</a>"}),
            vec![
                "<a href=\"https://elifesciences.org/x?a=1&amp;b=2\" rel=\"noopener noreferrer\">a</a>",
                "href=\"mailto:x@y.z\"",
                "href=\"#fig1\"",
                "href=\"/relative\"",
            ],
            vec![],
        ),
        (
            "attribute breaking out",
            json!({"type": "paragraph", "text": "<span class='a\"><script>x</script>'>t</span>"}),
            vec!["<span class=\"a&quot;&gt;&lt;script&gt;x&lt;/script&gt;\">t</span>"],
            vec!["<script"],
        ),
        (
            "unbalanced markup cannot break the page",
            json!({"type": "paragraph", "text": "<b><i>open</div></section></main><table><tr><td>x"}),
            vec!["<p><b><i>open<table><tr><td>x</td></tr></table></i></b></p>"],
            vec!["</div></section></main>"],
        ),
        (
            "style, iframe, svg, comments",
            json!({"type": "paragraph", "text": "<style>body{display:none}</style><iframe src=x>in</iframe><svg><script>y</script></svg><!-- <script>z</script> -->ok"}),
            vec!["<p>ok</p>"],
            vec!["<style", "<iframe", "<svg", "display:none", "<!--"],
        ),
        (
            "stray angle brackets and ampersands",
            json!({"type": "paragraph", "text": "a < b > c & d &amp; e &alpha; f &#169; 1<2"}),
            vec!["<p>a &lt; b &gt; c &amp; d &amp; e &alpha; f &#169; 1&lt;2</p>"],
            vec![],
        ),
        (
            "mathml annotation-xml with html",
            json!({"type": "mathml", "mathml": "<math><annotation-xml encoding=\"text/html\"><img src=x onerror=alert(1)></annotation-xml><mi>x</mi></math>"}),
            vec!["<math><mi>x</mi></math>"],
            vec!["onerror", "annotation-xml"],
        ),
        (
            "plain-text fields are escaped",
            json!({"type": "figure", "assets": [{"type": "image", "id": "f\"><script>", "label": "<script>alert(1)</script>", "image": {"alt": "\" onerror=\"x", "source": {"uri": "https://cdn/a.jpg?\"><script>"}}}]}),
            vec![
                "id=\"f&quot;&gt;&lt;script&gt;\"",
                "&lt;script&gt;alert(1)&lt;/script&gt;",
                "src=\"https://cdn/a.jpg?&quot;&gt;&lt;script&gt;\"",
            ],
            vec!["<script", "onerror=\"x"],
        ),
        (
            "unsafe image and file urls are dropped",
            json!({"type": "figure", "assets": [{"type": "image", "id": "f1", "label": "F", "image": {"source": {"uri": "javascript:alert(1)"}}, "sourceData": [{"label": "D", "uri": "data:text/html,x"}]}]}),
            vec!["<span class=\"label\">F</span>", "<li>D"],
            vec!["javascript", "data:", "<img"],
        ),
    ];
    for (name, block, expected, forbidden) in cases {
        let page = page_with_body(json!([block]));
        let body = body_html(&page);
        for e in expected {
            assert!(body.contains(e), "{name}: {e:?} not in\n{body}");
        }
        for f in forbidden {
            assert!(!body.contains(f), "{name}: {f:?} in\n{body}");
        }
    }
}

#[test]
fn unexpected_shapes_are_skipped_not_fatal() {
    let weird = [
        json!(null),
        json!([]),
        json!("a string"),
        json!(42),
        json!({"title": 5, "authors": "nobody", "body": {"type": "paragraph"}, "references": [1, "x", null, {"type": "journal", "date": 2001, "pages": {"first": 3, "last": 9}}],
               "abstract": [], "copyright": "c", "funding": [], "dataSets": 7, "additionalFiles": {}}),
        json!({"body": [null, 1, "x", {"type": 3}, {"type": "section", "content": "no"}, {"type": "figure", "assets": "none"},
                        {"type": "figure", "assets": [{"type": "image", "image": "nope"}]}, {"type": "list", "items": [1, null, {"a": 1}]},
                        {"type": "table", "tables": [1, "<table><tr><td>ok</td></tr></table>"]}, {"type": "unknown-block", "text": "<script>x</script>"}]}),
    ];
    for a in &weird {
        let page = render_article(a, &ctx());
        assert!(page.starts_with("<!doctype html>"), "{a}");
        assert!(page.ends_with("</html>\n"), "{a}");
        assert!(!page.contains("<script"), "{a}");
    }
    let page = render_article(&weird[4], &ctx());
    assert!(page.contains("(2001)"), "{page}");
    assert!(page.contains("3–9"), "{page}");
    let page = render_article(&weird[5], &ctx());
    assert!(page.contains("<td>ok</td>"), "{page}");
}

fn sample(name: &str) -> Value {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("sample");
    serde_json::from_str(&text).expect("sample JSON")
}

fn count(hay: &str, needle: &str) -> usize {
    hay.matches(needle).count()
}

#[test]
fn the_complete_vor_sample_renders_every_part() {
    let a = sample("article-vor-v8-complete.json");
    let page = render_article(&a, &ctx());
    for part in [
        "<h1 class=\"title\">",
        "Lee R Berger",
        "<ol class=\"affiliations\">",
        "<p class=\"impact\">",
        "<section id=\"abstract\"><h2>Abstract</h2>",
        "<section id=\"digest\"><h2>eLife digest</h2>",
        "<section id=\"elife-assessment\"",
        "<section id=\"editor-evaluation\"",
        "<h2 class=\"section-title\">Introduction</h2>",
        "<h2 class=\"section-title\">Differential diagnosis</h2>",
        "<figure class=\"image\" id=\"fig1\"><img src=\"https://iiif.elifesciences.org/lax/09560%2Felife-09560-fig1-v1.tif/full/full/0/default.jpg\"",
        "<div class=\"supplements\">",
        "<math>",
        "<table>",
        "<video controls",
        "<aside class=\"box\"",
        "<pre><code>",
        "<section id=\"references\">",
        "<a class=\"doi\" href=\"https://doi.org/",
        "<section id=\"acknowledgements\">",
        "<section id=\"ethics\">",
        "<section id=\"funding\">",
        "Wellcome Trust",
        "<section id=\"data-sets\">",
        "<section id=\"additional-files\">",
        "<section id=\"public-review-1\"",
        "<section id=\"recommendations-for-authors\"",
        "<section id=\"decision-letter\"",
        "<section id=\"author-response\"",
        "<footer class=\"copyright\">",
        "Creative Commons Attribution License",
        "href=\"https://elifesciences.org/content/4/e09560.pdf\">Download PDF</a>",
        "Appendix 1",
    ] {
        assert!(page.contains(part), "{part:?} not in the page");
    }
    let refs = a["references"].as_array().map_or(0, Vec::len);
    let section = &page[page
        .find("<section id=\"references\">")
        .expect("references")..];
    let section = &section[..section.find("</ol>").expect("end of references")];
    assert_eq!(count(section, "<li class=\"reference\""), refs);
    assert!(!page.contains("<script"));
}

#[test]
fn the_poa_sample_and_a_real_vor_render() {
    let poa = render_article(&sample("article-poa-v4-complete.json"), &ctx());
    assert!(poa.contains("Accepted Manuscript"), "{poa}");
    assert!(poa.contains("<section id=\"abstract\">"));
    let vor = sample("article-vor-v8-00569.json");
    let page = render_article(&vor, &ctx());
    let titles: Vec<&str> = vor["body"]
        .as_array()
        .expect("body")
        .iter()
        .filter_map(|s| s["title"].as_str())
        .collect();
    for t in &titles {
        assert!(
            page.contains(&format!("<h2 class=\"section-title\">{t}</h2>")),
            "{t}"
        );
    }
}

#[test]
fn the_index_lists_versions_with_links_and_escapes() {
    let rows = vec![
        IndexRow {
            article_id: "09560".into(),
            version: 2,
            title: Some("A <i>new</i> species<script>x</script>".into()),
            author_line: Some("Lee R Berger et al.".into()),
            article_type: Some("research-article".into()),
            article_status: Some("vor".into()),
            doi: Some("10.7554/eLife.09560".into()),
            cms_status: "published".into(),
            date: Some("2015-09-10T00:00:00Z".into()),
        },
        IndexRow {
            article_id: "00353".into(),
            version: 1,
            cms_status: "ingested".into(),
            ..IndexRow::default()
        },
    ];
    let page = render_index(&rows);
    for part in [
        "<a class=\"title\" href=\"/articles/09560/v2\">A <i>new</i> species</a>",
        "Lee R Berger et al.",
        "Research Article",
        "VOR",
        "<span><span class=\"badge published\">published</span></span>",
        "2015-09-10",
        "<a class=\"title\" href=\"/articles/00353/v1\">00353</a>",
        "<span class=\"badge ingested\">ingested</span>",
    ] {
        assert!(page.contains(part), "{part:?} not in\n{page}");
    }
    assert!(!page.contains("<script>x"));
    assert!(render_index(&[]).contains("Nothing published yet."));
}

/// Every prefix of nasty markup (cut mid-tag, mid-attribute, mid-entity,
/// mid-character) renders without panicking and without a live script.
#[test]
fn truncated_markup_never_panics_or_leaks() {
    let nasty = "<p>é<a href=\"java\u{0}script:x\" onclick='y'>ü<script>z</script><!-- c --><math><mi>&InvisibleTimes;</mi></math><table><tr><td>&#x3C;script&#x3E;</td></tr></table><img src=x onerror=alert(1)/><svg><g/></svg>&amp</p>";
    for (cut, _) in nasty.char_indices() {
        let prefix = &nasty[..cut];
        let page = render_article(
            &json!({"title": prefix, "body": [{"type": "paragraph", "text": prefix}, {"type": "mathml", "mathml": prefix}, {"type": "table", "tables": [prefix]}]}),
            &ctx(),
        );
        // Escaped text may spell anything; tags must not.
        for tag in page.split('<').skip(1).filter_map(|t| t.split_once('>')) {
            let tag = tag.0.to_ascii_lowercase();
            assert!(
                !tag.starts_with("script") && !tag.starts_with("img") && !tag.contains(" on"),
                "{prefix:?} gave the tag <{tag}>"
            );
        }
        assert!(page.ends_with("</html>\n"), "{prefix:?}");
    }
}

/// What pressbot's converter sends besides the api-raml samples' parts:
/// the page shows who reviewed, the keywords, where a data set is held,
/// and the title prefix in the tab's title.
#[test]
fn parts_of_pressbots_own_output_are_shown() {
    let page = render_article(
        &json!({
            "title": "A good life",
            "titlePrefix": "Living Science",
            "keywords": ["<i>Nicotiana attenuata</i>", "green leaf volatile"],
            "authors": [{"type": "person", "name": {"preferred": "Ian T Baldwin", "index": "Baldwin, Ian T"},
                         "contribution": "ITB: Conception", "competingInterests": "ITB: Senior Editor, <i>eLife</i>.",
                         "emailAddresses": ["baldwin@ice.mpg.de"],
                         "postalAddresses": [{"formatted": ["Julius Kühn Institute", "Dresden, Germany"]}]}],
            "reviewers": [{"name": {"preferred": "Detlef Weigel", "index": "Weigel, Detlef"},
                           "role": "Reviewing Editor",
                           "affiliations": [{"name": ["Max Planck Institute"], "address": {"formatted": ["Germany"]}}]}],
            "dataSets": {"generated": [{"id": "dataro1", "title": "Data", "details": "Available at Dryad",
                                         "doi": "10.5061/dryad.gs45f", "date": "2012"}]},
            "decisionLetter": {"description": [{"type": "paragraph", "text": "About this letter"}],
                               "content": [{"type": "paragraph", "text": "The letter"}]},
        }),
        &ctx(),
    );
    for expected in [
        "<title>Living Science: A good life</title>",
        "<p class=\"keywords\"><span class=\"label\">Keywords:</span> <i>Nicotiana attenuata</i>, green leaf volatile</p>",
        "<li><span class=\"role\">Reviewing Editor</span>: <b>Detlef Weigel</b>, <span class=\"affiliation\">Max Planck Institute, Germany</span></li>",
        "<span class=\"details\">Available at Dryad</span>. ",
        "<dt>Ian T Baldwin</dt><dd><p><span class=\"label\">Contribution:</span> ITB: Conception</p>\
         <p><span class=\"label\">Competing interests:</span> ITB: Senior Editor, <i>eLife</i>.</p>\
         <p><span class=\"label\">For correspondence:</span> <a href=\"mailto:baldwin@ice.mpg.de\">baldwin@ice.mpg.de</a></p>\
         <p><span class=\"label\">Present address:</span> Julius Kühn Institute, Dresden, Germany</p></dd>",
        "<div class=\"review-description\"><p>About this letter</p>\n</div>\n<p>The letter</p>",
    ] {
        assert!(page.contains(expected), "{expected:?} not in\n{page}");
    }
}
