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

// ---- lenient access -------------------------------------------------------

fn get_str<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key)?.as_str().filter(|s| !s.trim().is_empty())
}

fn get_arr<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// A string or a number as text (volumes and years come as either).
fn get_text(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The strings of a list of strings (non-strings skipped).
fn strings(v: &Value, key: &str) -> Vec<String> {
    get_arr(v, key)
        .iter()
        .filter_map(|s| s.as_str().map(str::to_owned))
        .collect()
}

/// An `id` attribute, escaped, or nothing.
fn id_attr(v: &Value) -> String {
    get_str(v, "id").map_or_else(String::new, |id| format!(" id=\"{}\"", escape(id)))
}

/// A DOI as an `https://doi.org/` link. Characters with a meaning in URLs
/// are percent-encoded so the DOI names exactly one resource.
fn doi_url(doi: &str) -> String {
    let mut out = String::from("https://doi.org/");
    for b in doi.trim().bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/:;()[]".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn doi_link(doi: &str) -> String {
    format!(
        "<a class=\"doi\" href=\"{}\">https://doi.org/{}</a>",
        escape(&doi_url(doi)),
        escape(doi.trim())
    )
}

/// A link to `uri` if it is a safe URL, else the text alone.
fn link(uri: &str, text_html: &str) -> String {
    if safe_url(uri) {
        format!("<a href=\"{}\">{text_html}</a>", escape(uri))
    } else {
        text_html.to_owned()
    }
}

/// The date part of an ISO timestamp (`2016-01-02T00:00:00Z` → `2016-01-02`).
fn date_part(s: &str) -> &str {
    s.split('T').next().unwrap_or(s)
}

/// `research-article` → `Research Article`.
fn type_label(t: &str) -> String {
    t.split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next().map_or_else(String::new, |f| {
                f.to_uppercase().collect::<String>() + c.as_str()
            })
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn status_label(s: &str) -> String {
    match s {
        "vor" => "Version of Record".into(),
        "poa" => "Accepted Manuscript".into(),
        other => other.to_uppercase(),
    }
}

/// A person's or group's display name, escaped (persons: `name.preferred`;
/// groups: `name`; on-behalf-of: its HTML text).
fn name_html(v: &Value) -> Option<String> {
    match v.get("name") {
        Some(Value::String(s)) if !s.trim().is_empty() => return Some(escape(s)),
        Some(name @ Value::Object(_)) => {
            if let Some(p) = get_str(name, "preferred") {
                return Some(escape(p));
            }
        }
        _ => {}
    }
    get_str(v, "onBehalfOf").map(sanitize)
}

// ---- blocks ---------------------------------------------------------------

/// Renders blocks into one string, keeping track of the heading level.
struct Blocks<'o> {
    out: &'o mut String,
}

impl Blocks<'_> {
    /// Render `items` with sections headed at `level` (2 = `<h2>`).
    fn all(&mut self, items: &[Value], level: u8) {
        for b in items {
            self.block(b, level);
        }
    }

    fn heading(&mut self, level: u8, class: &str, html: &str) {
        let l = level.clamp(2, 6);
        let _ = write!(self.out, "<h{l} class=\"{class}\">{html}</h{l}>");
    }

    fn block(&mut self, b: &Value, level: u8) {
        match get_str(b, "type").unwrap_or("") {
            "paragraph" => {
                if let Some(t) = get_str(b, "text") {
                    let _ = writeln!(self.out, "<p>{}</p>", sanitize(t));
                }
            }
            "section" => {
                let _ = write!(self.out, "<section{}>", id_attr(b));
                if let Some(t) = get_str(b, "title") {
                    self.heading(level, "section-title", &sanitize(t));
                }
                self.all(get_arr(b, "content"), level + 1);
                self.out.push_str("</section>\n");
            }
            "box" => {
                let _ = write!(self.out, "<aside class=\"box\"{}>", id_attr(b));
                let label = get_str(b, "label").map(escape);
                let title = get_str(b, "title").map(sanitize);
                if label.is_some() || title.is_some() {
                    let l = level.clamp(3, 6);
                    let _ = write!(self.out, "<h{l} class=\"box-title\">");
                    if let Some(label) = label {
                        let _ = write!(self.out, "<span class=\"label\">{label}</span> ");
                    }
                    self.out.push_str(&title.unwrap_or_default());
                    let _ = write!(self.out, "</h{l}>");
                }
                self.all(get_arr(b, "content"), level + 1);
                self.out.push_str("</aside>\n");
            }
            "figure" => self.figure(b, level),
            "image" if get_img(b).is_some() => {
                let _ = write!(self.out, "<figure class=\"image\"{}>", id_attr(b));
                self.image_asset(b, level);
                self.out.push_str("</figure>\n");
            }
            "table" => {
                let _ = write!(self.out, "<figure class=\"table\"{}>", id_attr(b));
                self.table_asset(b, level);
                self.out.push_str("</figure>\n");
            }
            "video" => {
                let _ = write!(self.out, "<figure class=\"video\"{}>", id_attr(b));
                self.video_asset(b, level);
                self.out.push_str("</figure>\n");
            }
            "mathml" => {
                if let Some(m) = get_str(b, "mathml") {
                    let _ = write!(
                        self.out,
                        "<div class=\"equation\"{}>{}",
                        id_attr(b),
                        sanitize(m)
                    );
                    if let Some(l) = get_str(b, "label") {
                        let _ = write!(self.out, "<span class=\"label\">{}</span>", escape(l));
                    }
                    self.out.push_str("</div>\n");
                }
            }
            "list" => self.list(b, level),
            "quote" => {
                self.out.push_str("<blockquote>");
                self.all(get_arr(b, "text"), level);
                if let Some(c) = get_str(b, "cite") {
                    let _ = write!(self.out, "<footer><cite>{}</cite></footer>", sanitize(c));
                }
                self.out.push_str("</blockquote>\n");
            }
            "excerpt" => {
                self.out.push_str("<blockquote class=\"excerpt\">");
                self.all(get_arr(b, "content"), level);
                if let Some(c) = get_str(b, "cite") {
                    let _ = write!(self.out, "<footer><cite>{}</cite></footer>", sanitize(c));
                }
                self.out.push_str("</blockquote>\n");
            }
            "code" => {
                if let Some(c) = b.get("code").and_then(Value::as_str) {
                    let lang = get_str(b, "language")
                        .map(|l| format!(" class=\"language-{}\"", escape(l)))
                        .unwrap_or_default();
                    let _ = writeln!(self.out, "<pre><code{lang}>{}</code></pre>", escape(c));
                }
            }
            "question" => {
                self.out.push_str("<section class=\"question\">");
                if let Some(q) = get_str(b, "question") {
                    self.heading(level, "question-title", &sanitize(q));
                }
                self.all(get_arr(b, "answer"), level + 1);
                self.out.push_str("</section>\n");
            }
            "youtube" => {
                if let Some(id) = get_str(b, "id") {
                    let url = format!("https://www.youtube.com/watch?v={id}");
                    let title = get_str(b, "title").map_or_else(|| escape(&url), sanitize);
                    let _ = writeln!(
                        self.out,
                        "<p class=\"youtube\">Video: <a href=\"{}\">{title}</a></p>",
                        escape(&url)
                    );
                }
            }
            // Unknown or malformed: skipped (see the module doc).
            _ => {}
        }
    }

    fn list(&mut self, b: &Value, level: u8) {
        let style = match get_str(b, "prefix").unwrap_or("bullet") {
            "alpha-lower" => Some("lower-alpha"),
            "alpha-upper" => Some("upper-alpha"),
            "roman-lower" => Some("lower-roman"),
            "roman-upper" => Some("upper-roman"),
            "number" => Some("decimal"),
            "none" => Some("none"),
            _ => None,
        };
        let tag = if matches!(style, Some("none") | None) {
            "ul"
        } else {
            "ol"
        };
        match style {
            Some(s) => {
                let _ = write!(self.out, "<{tag} style=\"list-style-type:{s}\">");
            }
            None => {
                let _ = write!(self.out, "<{tag}>");
            }
        }
        for item in get_arr(b, "items") {
            self.out.push_str("<li>");
            match item {
                Value::String(s) => self.out.push_str(&sanitize(s)),
                Value::Array(blocks) => self.all(blocks, level + 1),
                _ => {}
            }
            self.out.push_str("</li>");
        }
        let _ = writeln!(self.out, "</{tag}>");
    }

    /// Label, title, caption, attribution and source data of an asset.
    fn caption(&mut self, a: &Value, level: u8) {
        self.caption_with(a, level, "");
    }

    /// [`Blocks::caption`] ending with `extra` (HTML), kept inside the one
    /// `<figcaption>` a figure may have as its last child.
    fn caption_with(&mut self, a: &Value, level: u8, extra: &str) {
        let label = get_str(a, "label");
        let title = get_str(a, "title");
        let caption = get_arr(a, "caption");
        let attribution = strings(a, "attribution");
        let source_data = get_arr(a, "sourceData");
        if label.is_none()
            && title.is_none()
            && caption.is_empty()
            && attribution.is_empty()
            && source_data.is_empty()
            && extra.is_empty()
        {
            return;
        }
        self.out.push_str("<figcaption>");
        if label.is_some() || title.is_some() {
            self.out.push_str("<p class=\"figure-title\">");
            if let Some(l) = label {
                let _ = write!(self.out, "<span class=\"label\">{}</span> ", escape(l));
            }
            if let Some(t) = title {
                let _ = write!(self.out, "<span class=\"title\">{}</span>", sanitize(t));
            }
            self.out.push_str("</p>");
        }
        self.all(caption, level + 1);
        for a in attribution {
            let _ = write!(self.out, "<p class=\"attribution\">{}</p>", sanitize(&a));
        }
        if let Some(doi) = get_str(a, "doi") {
            let _ = write!(self.out, "<p class=\"asset-doi\">{}</p>", doi_link(doi));
        }
        if !source_data.is_empty() {
            self.out.push_str("<ul class=\"source-data\">");
            for f in source_data {
                self.out.push_str("<li>");
                self.file(f);
                self.out.push_str("</li>");
            }
            self.out.push_str("</ul>");
        }
        self.out.push_str(extra);
        self.out.push_str("</figcaption>");
    }

    /// A downloadable file (source data, additional file): label, title, link.
    fn file(&mut self, f: &Value) {
        let text = [get_str(f, "label"), get_str(f, "title")]
            .into_iter()
            .flatten()
            .map(sanitize)
            .collect::<Vec<_>>()
            .join(" ");
        let text = if text.is_empty() {
            escape(get_str(f, "filename").unwrap_or("file"))
        } else {
            text
        };
        match get_str(f, "uri") {
            Some(uri) => self.out.push_str(&link(uri, &text)),
            None => self.out.push_str(&text),
        }
        if let Some(name) = get_str(f, "filename") {
            let _ = write!(self.out, " <small>({})</small>", escape(name));
        }
    }

    fn image_asset(&mut self, a: &Value, level: u8) {
        if let Some((src, alt)) = get_img(a) {
            let _ = write!(
                self.out,
                "<img src=\"{}\" alt=\"{}\" loading=\"eager\">",
                escape(src),
                alt
            );
        }
        self.caption(a, level);
    }

    fn table_asset(&mut self, a: &Value, level: u8) {
        self.caption(a, level);
        for t in strings(a, "tables") {
            let _ = write!(self.out, "<div class=\"table-wrap\">{}</div>", sanitize(&t));
        }
        let footnotes = get_arr(a, "footnotes");
        if !footnotes.is_empty() {
            self.out.push_str("<div class=\"footnotes\">");
            for f in footnotes {
                let _ = write!(self.out, "<div class=\"footnote\"{}>", id_attr(f));
                if let Some(l) = get_str(f, "label") {
                    let _ = write!(self.out, "<span class=\"label\">{}</span>", escape(l));
                }
                self.all(get_arr(f, "text"), level + 1);
                self.out.push_str("</div>");
            }
            self.out.push_str("</div>");
        }
    }

    /// A video: a player when a browser can play one of its sources, and
    /// always a visible download link per source. eLife's older packages
    /// carry AVI/QuickTime files that no browser plays; a `<video>` of
    /// those alone is a dead grey box (its fallback content is never shown
    /// by a browser that supports `<video>`), so they get the poster, if
    /// any, and the links instead.
    fn video_asset(&mut self, a: &Value, level: u8) {
        let poster = a.get("placeholder").and_then(get_img_of);
        let sources: Vec<(&str, Option<&str>)> = get_arr(a, "sources")
            .iter()
            .filter_map(|s| {
                let uri = get_str(s, "uri").filter(|u| safe_url(u))?;
                Some((uri, get_str(s, "mediaType")))
            })
            .collect();
        let playable: Vec<&(&str, Option<&str>)> = sources
            .iter()
            .filter(|(_, media)| media.is_some_and(browser_plays))
            .collect();
        if !playable.is_empty() {
            let poster_attr = poster
                .as_ref()
                .map(|(src, _)| format!(" poster=\"{}\"", escape(src)))
                .unwrap_or_default();
            let size = match (
                a.get("width").and_then(Value::as_u64),
                a.get("height").and_then(Value::as_u64),
            ) {
                (Some(w), Some(h)) => format!(" width=\"{w}\" height=\"{h}\""),
                _ => String::new(),
            };
            let _ = write!(
                self.out,
                "<video controls preload=\"none\"{poster_attr}{size}>"
            );
            for (uri, media) in playable {
                let media = media
                    .map(|m| format!(" type=\"{}\"", escape(m)))
                    .unwrap_or_default();
                let _ = write!(self.out, "<source src=\"{}\"{media}>", escape(uri));
            }
            self.out.push_str("</video>");
        } else if let Some((src, alt)) = &poster {
            let _ = write!(
                self.out,
                "<img src=\"{}\" alt=\"{alt}\" loading=\"eager\">",
                escape(src)
            );
        }
        // Inside the caption, after the label that says what is downloaded.
        let mut downloads = String::new();
        if !sources.is_empty() {
            downloads.push_str("<p class=\"downloads\">");
            for (i, (uri, media)) in sources.iter().enumerate() {
                if i > 0 {
                    downloads.push(' ');
                }
                let kind = media.map(format_name).unwrap_or_default();
                let text = if kind.is_empty() {
                    "Download the video".to_owned()
                } else {
                    format!("Download the video ({kind})")
                };
                let _ = write!(
                    downloads,
                    "<a class=\"download\" href=\"{}\">{}</a>",
                    escape(uri),
                    escape(&text)
                );
            }
            downloads.push_str("</p>");
        }
        self.caption_with(a, level, &downloads);
    }

    /// A figure: its first asset, then the others as supplements.
    fn figure(&mut self, b: &Value, level: u8) {
        let assets = get_arr(b, "assets");
        let Some((first, rest)) = assets.split_first() else {
            return;
        };
        let kind = get_str(first, "type").unwrap_or("image");
        let _ = write!(
            self.out,
            "<figure class=\"{}\"{}>",
            escape(kind),
            id_attr(first)
        );
        self.asset(first, level);
        if !rest.is_empty() {
            self.out.push_str("<div class=\"supplements\">");
            for a in rest {
                let kind = get_str(a, "type").unwrap_or("image");
                let _ = write!(
                    self.out,
                    "<figure class=\"supplement {}\"{}>",
                    escape(kind),
                    id_attr(a)
                );
                self.asset(a, level);
                self.out.push_str("</figure>");
            }
            self.out.push_str("</div>");
        }
        self.out.push_str("</figure>\n");
    }

    fn asset(&mut self, a: &Value, level: u8) {
        match get_str(a, "type").unwrap_or("") {
            "table" => self.table_asset(a, level),
            "video" => self.video_asset(a, level),
            _ => self.image_asset(a, level),
        }
    }
}

/// Whether browsers play a video of this media type in `<video>`: MP4,
/// WebM and Ogg (parameters such as `codecs` ignored).
fn browser_plays(media_type: &str) -> bool {
    let base = media_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    matches!(base.as_str(), "video/mp4" | "video/webm" | "video/ogg")
}

/// A short name for a media type, for a download link: `video/x-msvideo`
/// → `AVI`, `video/quicktime` → `MOV`, else the subtype upper-cased.
fn format_name(media_type: &str) -> String {
    let base = media_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match base.as_str() {
        "video/x-msvideo" | "video/avi" => "AVI".into(),
        "video/quicktime" => "MOV".into(),
        other => other
            .rsplit('/')
            .next()
            .unwrap_or("")
            .trim_start_matches("x-")
            .to_ascii_uppercase(),
    }
}

/// `image.source.uri` and escaped `alt` of an image block or asset.
fn get_img(a: &Value) -> Option<(&str, String)> {
    a.get("image").and_then(get_img_of)
}

/// `source.uri` (the web rendition; `uri` is an IIIF base, not an image)
/// and escaped `alt` of an image object.
fn get_img_of(img: &Value) -> Option<(&str, String)> {
    let src = img
        .get("source")
        .and_then(|s| get_str(s, "uri"))
        .filter(|u| safe_url(u))?;
    let alt = img
        .get("alt")
        .and_then(Value::as_str)
        .map(text_only)
        .unwrap_or_default();
    Some((src, alt))
}

// ---- the article ----------------------------------------------------------

/// Affiliations numbered in order of first appearance.
#[derive(Default)]
struct Affiliations {
    order: Vec<String>,
    numbers: BTreeMap<String, usize>,
}

impl Affiliations {
    /// The number of an affiliation (escaped text, one line).
    fn number(&mut self, aff: &Value) -> Option<usize> {
        let mut parts = strings(aff, "name");
        if let Some(addr) = aff.get("address") {
            parts.extend(strings(addr, "formatted"));
        }
        if parts.is_empty() {
            return None;
        }
        let text = escape(&parts.join(", "));
        if let Some(n) = self.numbers.get(&text) {
            return Some(*n);
        }
        self.order.push(text.clone());
        let n = self.order.len();
        self.numbers.insert(text, n);
        Some(n)
    }
}

fn authors(out: &mut String, article: &Value) {
    let list = get_arr(article, "authors");
    if list.is_empty() {
        return;
    }
    let mut affs = Affiliations::default();
    out.push_str("<ol class=\"authors\">");
    for a in list {
        let Some(name) = name_html(a) else { continue };
        let mut sups: Vec<usize> = get_arr(a, "affiliations")
            .iter()
            .filter_map(|f| affs.number(f))
            .collect();
        sups.dedup();
        let orcid = get_str(a, "orcid")
            .map(|o| {
                format!(
                    " <a class=\"orcid\" href=\"https://orcid.org/{0}\" title=\"ORCID {0}\">iD</a>",
                    escape(o)
                )
            })
            .unwrap_or_default();
        let sup = if sups.is_empty() {
            String::new()
        } else {
            format!(
                "<sup>{}</sup>",
                sups.iter()
                    .map(usize::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            )
        };
        let _ = write!(out, "<li class=\"author\">{name}{sup}{orcid}</li>");
    }
    out.push_str("</ol>\n");
    if !affs.order.is_empty() {
        out.push_str("<ol class=\"affiliations\">");
        for (i, a) in affs.order.iter().enumerate() {
            let _ = write!(out, "<li id=\"aff{}\">{a}</li>", i + 1);
        }
        out.push_str("</ol>\n");
    }
}

/// Names of a reference's authors (or inventors, or thesis author).
fn reference_names(r: &Value) -> String {
    let mut names: Vec<String> = ["authors", "inventors"]
        .iter()
        .flat_map(|k| get_arr(r, k))
        .filter_map(name_html)
        .collect();
    if let Some(a) = r.get("author").and_then(name_html) {
        names.push(a);
    }
    let mut s = names.join(", ");
    if r.get("authorsEtAl").and_then(Value::as_bool) == Some(true) {
        s.push_str(" et al.");
    }
    s
}

/// `pages` is a string or `{first, last, range}`.
fn pages_text(r: &Value) -> Option<String> {
    match r.get("pages")? {
        Value::String(s) if !s.is_empty() => Some(escape(s)),
        p @ Value::Object(_) => get_str(p, "range").map(sanitize).or_else(|| {
            match (get_text(p, "first"), get_text(p, "last")) {
                (Some(f), Some(l)) => Some(escape(&format!("{f}–{l}"))),
                (Some(f), None) => Some(escape(&f)),
                _ => None,
            }
        }),
        _ => None,
    }
}

fn reference(out: &mut String, r: &Value) {
    let _ = write!(out, "<li class=\"reference\"{}>", id_attr(r));
    let names = reference_names(r);
    if !names.is_empty() {
        let _ = write!(out, "<span class=\"ref-authors\">{names}</span> ");
    }
    if let Some(date) = get_text(r, "date") {
        let year: String = date.chars().take(4).collect();
        let disc = get_str(r, "discriminator").unwrap_or("");
        let _ = write!(
            out,
            "<span class=\"year\">({}{})</span> ",
            escape(&year),
            escape(disc)
        );
    }
    let title = ["articleTitle", "chapterTitle", "title"]
        .iter()
        .find_map(|k| get_str(r, k));
    if let Some(t) = title {
        let _ = write!(out, "<span class=\"title\">{}</span>. ", sanitize(t));
    }
    let mut source: Vec<String> = Vec::new();
    for k in ["journal", "bookTitle", "periodical", "source", "website"] {
        if let Some(s) = get_str(r, k) {
            if Some(s) != title {
                source.push(format!("<i>{}</i>", sanitize(s)));
            }
        }
    }
    for k in ["conference", "publisher"] {
        if let Some(p) = r.get(k) {
            let n = strings(p, "name");
            if !n.is_empty() {
                source.push(escape(&n.join(", ")));
            }
        }
    }
    if let Some(v) = get_text(r, "volume") {
        source.push(format!("<b>{}</b>", escape(&v)));
    }
    if let Some(p) = pages_text(r) {
        source.push(p);
    }
    if !source.is_empty() {
        let _ = write!(out, "<span class=\"source\">{}</span>. ", source.join(", "));
    }
    // Data sets say where they are held ("Available at Dryad ...").
    if let Some(d) = get_str(r, "details") {
        let _ = write!(out, "<span class=\"details\">{}</span>. ", sanitize(d));
    }
    if let Some(doi) = get_str(r, "doi") {
        out.push_str(&doi_link(doi));
    } else if let Some(uri) = get_str(r, "uri") {
        out.push_str(&link(uri, &escape(uri)));
    }
    if let Some(pmid) = get_text(r, "pmid") {
        let _ = write!(
            out,
            " <a class=\"pmid\" href=\"https://www.ncbi.nlm.nih.gov/pubmed/{0}\">PubMed {0}</a>",
            escape(&pmid)
        );
    }
    out.push_str("</li>\n");
}

/// A titled part of the page (`<section id><h2>`), if `content` has blocks.
fn part(out: &mut String, id: &str, title: &str, content: &[Value]) {
    if content.is_empty() {
        return;
    }
    let _ = writeln!(out, "<section id=\"{id}\"><h2>{title}</h2>");
    Blocks { out }.all(content, 3);
    out.push_str("</section>\n");
}

/// A peer-review document (`{title?, doi?, description?, content}`).
fn review(out: &mut String, id: &str, default_title: &str, v: Option<&Value>) {
    let Some(v) = v.filter(|v| v.is_object()) else {
        return;
    };
    let content = get_arr(v, "content");
    if content.is_empty() {
        return;
    }
    let title = get_str(v, "title").map_or_else(|| escape(default_title), sanitize);
    let _ = writeln!(
        out,
        "<section id=\"{id}\" class=\"review\"><h2>{title}</h2>"
    );
    // The description is the journal's note about the document, not the
    // document: set apart so it is not read as the editor's words.
    let description = get_arr(v, "description");
    if !description.is_empty() {
        out.push_str("<div class=\"review-description\">");
        Blocks { out }.all(description, 3);
        out.push_str("</div>\n");
    }
    Blocks { out }.all(content, 3);
    if let Some(doi) = get_str(v, "doi") {
        let _ = write!(out, "<p class=\"asset-doi\">{}</p>", doi_link(doi));
    }
    out.push_str("</section>\n");
}

/// The editors and reviewers the article names (`reviewers`: role, name,
/// affiliations), so a reader of the peer review knows who reviewed.
fn reviewers(out: &mut String, list: &[Value]) {
    let items: Vec<String> = list
        .iter()
        .filter_map(|r| {
            let name = name_html(r)?;
            let role = get_str(r, "role")
                .map(|role| format!("<span class=\"role\">{}</span>: ", escape(role)))
                .unwrap_or_default();
            let affs: Vec<String> = get_arr(r, "affiliations")
                .iter()
                .filter_map(|a| {
                    let mut parts = strings(a, "name");
                    if let Some(addr) = a.get("address") {
                        parts.extend(strings(addr, "formatted"));
                    }
                    (!parts.is_empty()).then(|| escape(&parts.join(", ")))
                })
                .collect();
            let affs = if affs.is_empty() {
                String::new()
            } else {
                format!(", <span class=\"affiliation\">{}</span>", affs.join("; "))
            };
            Some(format!("<li>{role}<b>{name}</b>{affs}</li>"))
        })
        .collect();
    if items.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "<section id=\"reviewers\"><h2>Editors and reviewers</h2>\n<ul class=\"reviewers\">{}</ul></section>",
        items.concat()
    );
}

/// What the model says about each author beyond the byline: contribution,
/// competing interests, correspondence e-mail, present address. eLife
/// prints these as "Author information"; a reader judging the work needs
/// the competing interests in particular.
fn author_information(out: &mut String, authors: &[Value]) {
    let mut items = String::new();
    for a in authors {
        let Some(name) = name_html(a) else { continue };
        let mut facts = String::new();
        for (key, label) in [
            ("contribution", "Contribution"),
            ("competingInterests", "Competing interests"),
        ] {
            if let Some(t) = get_str(a, key) {
                let _ = write!(
                    facts,
                    "<p><span class=\"label\">{label}:</span> {}</p>",
                    sanitize(t)
                );
            }
        }
        let emails: Vec<String> = strings(a, "emailAddresses")
            .iter()
            .map(|e| link(&format!("mailto:{}", e.trim()), &escape(e.trim())))
            .collect();
        if !emails.is_empty() {
            let _ = write!(
                facts,
                "<p><span class=\"label\">For correspondence:</span> {}</p>",
                emails.join(", ")
            );
        }
        let addresses: Vec<String> = get_arr(a, "postalAddresses")
            .iter()
            .map(|p| strings(p, "formatted").join(", "))
            .filter(|p| !p.trim().is_empty())
            .map(|p| escape(&p))
            .collect();
        if !addresses.is_empty() {
            let _ = write!(
                facts,
                "<p><span class=\"label\">Present address:</span> {}</p>",
                addresses.join("; ")
            );
        }
        if !facts.is_empty() {
            let _ = write!(items, "<dt>{name}</dt><dd>{facts}</dd>");
        }
    }
    if items.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "<section id=\"author-information\"><h2>Author information</h2>\n<dl class=\"author-information\">{items}</dl></section>"
    );
}

fn funding(out: &mut String, f: &Value) {
    let awards = get_arr(f, "awards");
    let statement = get_str(f, "statement");
    if awards.is_empty() && statement.is_none() {
        return;
    }
    out.push_str("<section id=\"funding\"><h2>Funding</h2>\n<ul class=\"awards\">");
    for a in awards {
        let funder = a
            .get("source")
            .map(|s| strings(s, "name").join(", "))
            .unwrap_or_default();
        let _ = write!(out, "<li><b>{}</b>", escape(&funder));
        if let Some(id) = get_str(a, "awardId") {
            let id_html = escape(id);
            match get_str(a, "awardDoi") {
                Some(doi) => {
                    let _ = write!(out, " ({})", link(&doi_url(doi), &id_html));
                }
                None => {
                    let _ = write!(out, " ({id_html})");
                }
            }
        }
        let recipients: Vec<String> = get_arr(a, "recipients")
            .iter()
            .filter_map(name_html)
            .collect();
        if !recipients.is_empty() {
            let _ = write!(out, ": {}", recipients.join(", "));
        }
        out.push_str("</li>");
    }
    out.push_str("</ul>");
    if let Some(s) = statement {
        let _ = write!(out, "<p>{}</p>", sanitize(s));
    }
    out.push_str("</section>\n");
}

fn data_sets(out: &mut String, d: &Value) {
    let availability = get_arr(d, "availability");
    let generated = get_arr(d, "generated");
    let used = get_arr(d, "used");
    if availability.is_empty() && generated.is_empty() && used.is_empty() {
        return;
    }
    out.push_str("<section id=\"data-sets\"><h2>Data availability</h2>\n");
    Blocks { out }.all(availability, 3);
    for (title, list) in [
        ("The following datasets were generated", generated),
        (
            "The following previously published datasets were used",
            used,
        ),
    ] {
        if list.is_empty() {
            continue;
        }
        let _ = write!(out, "<h3>{title}</h3><ol class=\"references data-sets\">");
        for ds in list {
            reference(out, ds);
        }
        out.push_str("</ol>");
    }
    out.push_str("</section>\n");
}

fn additional_files(out: &mut String, files: &[Value]) {
    if files.is_empty() {
        return;
    }
    out.push_str("<section id=\"additional-files\"><h2>Additional files</h2>\n<ul>");
    for f in files {
        out.push_str("<li>");
        Blocks { out }.file(f);
        out.push_str("</li>");
    }
    out.push_str("</ul></section>\n");
}

fn copyright(out: &mut String, article: &Value) {
    let Some(c) = article.get("copyright").filter(|c| c.is_object()) else {
        return;
    };
    out.push_str("<footer class=\"copyright\">");
    let year = get_str(article, "published")
        .map(|p| p.chars().take(4).collect::<String>())
        .unwrap_or_default();
    if let Some(holder) = get_str(c, "holder") {
        let _ = write!(out, "<p>© {}, {}</p>", escape(&year), escape(holder));
    }
    if let Some(s) = get_str(c, "statement") {
        let _ = write!(out, "<p>{}</p>", sanitize(s));
    }
    if let Some(l) = get_str(c, "license") {
        let _ = write!(out, "<p>Licence: {}</p>", escape(l));
    }
    out.push_str("</footer>\n");
}

/// The header: kind, date, version, DOI, title, authors, downloads.
fn header(out: &mut String, article: &Value, ctx: &PageContext) {
    out.push_str("<header class=\"article-header\">\n<p class=\"meta\">");
    if let Some(t) = get_str(article, "type") {
        let _ = write!(
            out,
            "<span class=\"type\">{}</span>",
            escape(&type_label(t))
        );
    }
    for s in get_arr(article, "subjects") {
        if let Some(n) = get_str(s, "name") {
            let _ = write!(out, "<span class=\"subject\">{}</span>", escape(n));
        }
    }
    if let Some(s) = get_str(article, "status") {
        let _ = write!(
            out,
            "<span class=\"status\">{}</span>",
            escape(&status_label(s))
        );
    }
    let version = article
        .get("version")
        .and_then(Value::as_u64)
        .unwrap_or(u64::from(ctx.version));
    let _ = write!(out, "<span class=\"version\">Version {version}</span>");
    // The article's own date; else when this CMS published it.
    let published = get_str(article, "published").or(ctx.published_at.as_deref());
    if let Some(p) = published {
        let _ = write!(
            out,
            "<span class=\"published\">Published {}</span>",
            escape(date_part(p))
        );
    }
    out.push_str("</p>\n");
    if ctx.cms_status != "published" {
        out.push_str(
            "<p class=\"notice\">Preview: this version is ingested but not published.</p>\n",
        );
    }
    let prefix = get_str(article, "titlePrefix")
        .map(|p| format!("{}: ", sanitize(p)))
        .unwrap_or_default();
    let title = get_str(article, "title").map_or_else(|| escape(&ctx.article_id), sanitize);
    let _ = writeln!(out, "<h1 class=\"title\">{prefix}{title}</h1>");
    authors(out, article);
    let mut cite = Vec::new();
    if let Some(vol) = get_text(article, "volume") {
        let year = get_str(article, "published")
            .map(|p| p.chars().take(4).collect::<String>())
            .unwrap_or_default();
        let e = get_str(article, "elocationId").unwrap_or("");
        cite.push(format!(
            "<i>eLife</i> {};{}:{}",
            escape(&year),
            escape(&vol),
            escape(e)
        ));
    }
    if let Some(doi) = get_str(article, "doi") {
        cite.push(doi_link(doi));
    }
    if !cite.is_empty() {
        let _ = writeln!(out, "<p class=\"meta cite\">{}</p>", cite.join(" "));
    }
    let keywords: Vec<String> = strings(article, "keywords")
        .iter()
        .filter(|k| !k.trim().is_empty())
        .map(|k| sanitize(k))
        .collect();
    if !keywords.is_empty() {
        let _ = writeln!(
            out,
            "<p class=\"keywords\"><span class=\"label\">Keywords:</span> {}</p>",
            keywords.join(", ")
        );
    }
    let mut links = String::new();
    for (key, text) in [("pdf", "Download PDF"), ("figuresPdf", "Figures PDF")] {
        if let Some(uri) = get_str(article, key).filter(|u| safe_url(u)) {
            let _ = write!(
                links,
                "<a class=\"{key}\" href=\"{}\">{text}</a>",
                escape(uri)
            );
        }
    }
    let _ = write!(
        links,
        "<a class=\"json\" href=\"/articles/{}/versions/{}/json\">JSON</a>",
        escape(&ctx.article_id),
        ctx.version
    );
    let _ = writeln!(out, "<p class=\"links\">{links}</p>\n</header>");
}

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
