//! Article pages: eLife article-json (api-raml `article-vor` v8 /
//! `article-poa` v4) rendered as one readable HTML journal page.
//!
//! Pure: a `serde_json::Value` in, an HTML string out, no I/O. The JSON is
//! read leniently, field by field, rather than deserialised into the model's
//! types: the converter that produces it is young and the model has many
//! optional and versioned parts, and a page with one block missing is worth
//! more to an operator than a 500. A field of an unexpected shape is
//! skipped; an unknown block type is skipped.
//!
//! Plain strings (names, labels, DOIs, dates) are escaped; the model's HTML
//! strings (titles, paragraphs, captions, tables, MathML) go through
//! [`crate::html::sanitize`]; URLs we put in `href`/`src` must pass
//! [`crate::html::safe_url`]. The page needs no JavaScript.

use crate::html::{escape, safe_url, sanitize, text_only};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// What the CMS knows about a version besides its JSON (for the page header).
#[derive(Debug, Clone, Default)]
pub struct PageContext {
    pub article_id: String,
    pub version: u32,
    /// The CMS's state of the version: `ingested` or `published`.
    pub cms_status: String,
    /// When the CMS published it, if it did.
    pub published_at: Option<String>,
}

/// One row of the index page.
#[derive(Debug, Clone, Default)]
pub struct IndexRow {
    pub article_id: String,
    pub version: u32,
    /// The title as HTML from the model (sanitized here).
    pub title: Option<String>,
    pub author_line: Option<String>,
    pub article_type: Option<String>,
    /// `vor` or `poa` from the article-json.
    pub article_status: Option<String>,
    pub doi: Option<String>,
    /// The CMS's state: `ingested` or `published`.
    pub cms_status: String,
    /// The article's publication date, else when the CMS published it.
    pub date: Option<String>,
}

/// The path of a version's page.
pub fn page_path(article_id: &str, version: u32) -> String {
    format!("/articles/{article_id}/v{version}")
}

const STYLE: &str = r#"
:root{--ink:#212121;--muted:#5c5c5c;--rule:#e0e0e0;--accent:#087acc;--panel:#f7f7f7}
*{box-sizing:border-box}
html{font-size:17px}
body{margin:0;color:var(--ink);background:#fff;font-family:"Noto Serif",Georgia,"Times New Roman",serif;line-height:1.6}
a{color:var(--accent);text-decoration:none}a:hover{text-decoration:underline}
.site{border-bottom:1px solid var(--rule);padding:.6rem 1.5rem;font-family:system-ui,"Noto Sans",Arial,sans-serif;font-size:.9rem}
.site a{color:var(--ink);font-weight:700;letter-spacing:.02em}
main{max-width:46rem;margin:0 auto;padding:1.5rem 1.25rem 4rem}
h1,h2,h3,h4,h5,h6{font-family:system-ui,"Noto Sans",Arial,sans-serif;line-height:1.25;margin:1.6em 0 .5em}
h1{font-size:2rem;margin-top:.3em}h2{font-size:1.4rem;border-bottom:1px solid var(--rule);padding-bottom:.25em}
h3{font-size:1.15rem}h4,h5,h6{font-size:1rem}
.meta,.authors,.affiliations,.links,.label,figcaption,.references,.notice,.listing .byline,.listing .facts,.copyright{font-family:system-ui,"Noto Sans",Arial,sans-serif}
.meta{color:var(--muted);font-size:.8rem;text-transform:uppercase;letter-spacing:.05em;margin:0}
.meta span+span:before{content:"\00b7";margin:0 .5em}
.meta.cite{text-transform:none;letter-spacing:0;font-size:.85rem}
.asset-doi{font-family:system-ui,"Noto Sans",Arial,sans-serif;font-size:.8rem}
.authors{list-style:none;padding:0;margin:.5rem 0;font-size:1rem}
.authors li{display:inline}.authors li:not(:last-child):after{content:", "}
.affiliations{color:var(--muted);font-size:.8rem;padding-left:1.2rem;margin:.5rem 0 1rem}
.links a{display:inline-block;margin-right:1rem;font-size:.85rem;border:1px solid var(--accent);border-radius:3px;padding:.15rem .6rem}
.impact{font-size:1.1rem;color:#333;border-left:3px solid var(--accent);padding-left:1rem;margin:1.2rem 0}
.notice{background:#fff4e5;border:1px solid #f0c36d;padding:.5rem .8rem;font-size:.85rem}
figure{margin:1.5rem 0;padding:0}
figure img,figure video{display:block;max-width:100%;height:auto;margin:0 auto;border:1px solid var(--rule)}
figcaption{font-size:.85rem;color:#333;margin-top:.6rem}
sub,sup{font-size:75%;line-height:0;position:relative;vertical-align:baseline}sup{top:-.5em}sub{bottom:-.25em}
.downloads{font-family:system-ui,"Noto Sans",Arial,sans-serif;font-size:.85rem;margin:.4rem 0}
.downloads a{margin-right:1rem}
.keywords,.reviewers{font-family:system-ui,"Noto Sans",Arial,sans-serif;font-size:.85rem}
.keywords{color:var(--muted)}
.author-information{font-family:system-ui,"Noto Sans",Arial,sans-serif;font-size:.85rem}
.author-information dt{font-weight:700;margin-top:.8rem}.author-information dd{margin:0 0 0 1rem}.author-information p{margin:.2rem 0}
.reviewers{list-style:none;padding:0}.reviewers .role{color:var(--muted)}
.review-description{background:var(--panel);border:1px solid var(--rule);padding:.2rem 1rem;margin:1rem 0;font-size:.9rem;color:#333}
figcaption p{margin:.3rem 0}
.label{font-weight:700}
.supplements{border-left:3px solid var(--rule);padding-left:1rem;margin-top:1rem}
.supplements figure{margin:1rem 0}
.supplements img{max-width:60%;margin:0}
.table-wrap{overflow-x:auto}
table{border-collapse:collapse;font-family:system-ui,"Noto Sans",Arial,sans-serif;font-size:.8rem;margin:.5rem 0}
th,td{border:1px solid var(--rule);padding:.3rem .5rem;vertical-align:top;text-align:left}
th{background:var(--panel)}
.equation{display:flex;align-items:center;justify-content:center;gap:2rem;margin:1rem 0;overflow-x:auto}
.equation .label{font-weight:400}
math{font-size:1.1em}
.equation math{font-size:1.35em;math-style:normal}
.box{background:var(--panel);border:1px solid var(--rule);padding:.2rem 1.2rem;margin:1.5rem 0}
blockquote{margin:1rem 0;padding-left:1rem;border-left:3px solid var(--rule);color:#333}
pre{background:var(--panel);padding:.8rem;overflow-x:auto;font-size:.8rem;line-height:1.4}
.references{font-size:.85rem;padding-left:2rem}
.references li{margin:.5rem 0}
.references .title{font-weight:600}
.copyright{font-size:.8rem;color:var(--muted);border-top:1px solid var(--rule);margin-top:3rem;padding-top:1rem}
.listing{list-style:none;padding:0}
.listing li{border-bottom:1px solid var(--rule);padding:1rem 0}
.listing .title{font-size:1.2rem;font-weight:700;line-height:1.3}
.listing .byline{color:#333;font-size:.9rem;margin:.2rem 0}
.listing .facts{color:var(--muted);font-size:.8rem;text-transform:uppercase;letter-spacing:.04em}
.listing .facts span+span:before{content:"\00b7";margin:0 .5em}
.badge{border-radius:3px;padding:0 .4em}.listing .doi{text-transform:none}
.badge.published{background:#e6f4ea;color:#1e6b34}.badge.ingested{background:#fff4e5;color:#8a5300}
"#;

/// A whole HTML document around `body`: shared by the index and article pages.
fn layout(title_text: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title_text}</title><style>{STYLE}</style></head>\n<body>\
         <header class=\"site\"><a href=\"/\">pressbot embedded CMS</a></header>\n\
         <main>\n{body}</main>\n</body></html>\n"
    )
}

mod access;
mod article;
mod blocks;

use access::*;
use article::*;
use blocks::*;

/// The whole page of one article version (a complete HTML document).
pub fn render_article(article: &Value, ctx: &PageContext) -> String {
    let mut out = String::with_capacity(64 * 1024);
    out.push_str("<article>\n");
    header(&mut out, article, ctx);
    if let Some(s) = get_str(article, "impactStatement") {
        let _ = writeln!(out, "<p class=\"impact\">{}</p>", sanitize(s));
    }
    if let Some(a) = article.get("abstract") {
        part(&mut out, "abstract", "Abstract", get_arr(a, "content"));
    }
    review(
        &mut out,
        "elife-assessment",
        "eLife assessment",
        article.get("elifeAssessment"),
    );
    review(
        &mut out,
        "editor-evaluation",
        "Editor's evaluation",
        article.get("editorEvaluation"),
    );
    if let Some(d) = article.get("digest") {
        part(&mut out, "digest", "eLife digest", get_arr(d, "content"));
    }
    let body = get_arr(article, "body");
    if !body.is_empty() {
        out.push_str("<div class=\"article-body\">\n");
        Blocks { out: &mut out }.all(body, 2);
        out.push_str("</div>\n");
    }
    for app in get_arr(article, "appendices") {
        let _ = write!(out, "<section class=\"appendix\"{}>", id_attr(app));
        let title = get_str(app, "title").map_or_else(|| "Appendix".into(), sanitize);
        let _ = writeln!(out, "<h2>{title}</h2>");
        Blocks { out: &mut out }.all(get_arr(app, "content"), 3);
        out.push_str("</section>\n");
    }
    let refs = get_arr(article, "references");
    if !refs.is_empty() {
        out.push_str("<section id=\"references\"><h2>References</h2>\n<ol class=\"references\">\n");
        for r in refs {
            reference(&mut out, r);
        }
        out.push_str("</ol></section>\n");
    }
    part(
        &mut out,
        "acknowledgements",
        "Acknowledgements",
        get_arr(article, "acknowledgements"),
    );
    part(&mut out, "ethics", "Ethics", get_arr(article, "ethics"));
    author_information(&mut out, get_arr(article, "authors"));
    if let Some(f) = article.get("funding") {
        funding(&mut out, f);
    }
    if let Some(d) = article.get("dataSets") {
        data_sets(&mut out, d);
    }
    additional_files(&mut out, get_arr(article, "additionalFiles"));
    reviewers(&mut out, get_arr(article, "reviewers"));
    for (i, r) in get_arr(article, "publicReviews").iter().enumerate() {
        review(
            &mut out,
            &format!("public-review-{}", i + 1),
            "Public review",
            Some(r),
        );
    }
    review(
        &mut out,
        "recommendations-for-authors",
        "Recommendations for authors",
        article.get("recommendationsForAuthors"),
    );
    review(
        &mut out,
        "decision-letter",
        "Decision letter",
        article.get("decisionLetter"),
    );
    review(
        &mut out,
        "author-response",
        "Author response",
        article.get("authorResponse"),
    );
    copyright(&mut out, article);
    out.push_str("</article>\n");
    // The tab and bookmark name the article as its heading does, prefix
    // included ("Living Science: A good life").
    let title = get_str(article, "title").map_or_else(|| escape(&ctx.article_id), text_only);
    let title = match get_str(article, "titlePrefix") {
        Some(p) => format!("{}: {title}", text_only(p)),
        None => title,
    };
    layout(&title, &out)
}

/// The index page: every version the CMS holds, newest article first.
pub fn render_index(rows: &[IndexRow]) -> String {
    let mut out = String::from("<h1>Articles</h1>\n");
    if rows.is_empty() {
        out.push_str("<p>Nothing published yet.</p>\n");
        return layout("pressbot embedded CMS", &out);
    }
    out.push_str("<ol class=\"listing\">\n");
    for r in rows {
        let title = r
            .title
            .as_deref()
            .map_or_else(|| escape(&r.article_id), sanitize);
        let _ = write!(
            out,
            "<li><a class=\"title\" href=\"{}\">{title}</a>",
            escape(&page_path(&r.article_id, r.version))
        );
        if let Some(a) = &r.author_line {
            let _ = write!(out, "<p class=\"byline\">{}</p>", sanitize(a));
        }
        out.push_str("<p class=\"facts\">");
        if let Some(t) = &r.article_type {
            let _ = write!(out, "<span>{}</span>", escape(&type_label(t)));
        }
        let _ = write!(out, "<span>{} v{}</span>", escape(&r.article_id), r.version);
        if let Some(s) = &r.article_status {
            let _ = write!(out, "<span>{}</span>", escape(&s.to_uppercase()));
        }
        let _ = write!(
            out,
            "<span><span class=\"badge {0}\">{0}</span></span>",
            escape(&r.cms_status)
        );
        if let Some(d) = &r.date {
            let _ = write!(out, "<span>{}</span>", escape(date_part(d)));
        }
        if let Some(doi) = &r.doi {
            let _ = write!(out, "<span class=\"doi\">{}</span>", escape(doi));
        }
        let _ = write!(
            out,
            "<span><a href=\"/articles/{}/versions/{}/json\">JSON</a></span>",
            escape(&r.article_id),
            r.version
        );
        out.push_str("</p></li>\n");
    }
    out.push_str("</ol>\n");
    layout("pressbot embedded CMS", &out)
}
