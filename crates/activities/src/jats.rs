//! `ConvertJATS`: JATS XML → the CMS's article JSON.
//!
//! The XML is parsed into a small in-memory tree with quick-xml, then the
//! fields the CMS needs are picked from `article/front/article-meta`
//! (sub-articles such as decision letters are never mixed in).
//!
//! Security: a DTD is never fetched and entities are never expanded. A
//! `<!DOCTYPE>` that declares anything (`<!ENTITY`, an internal subset) is
//! refused, and a reference to any entity other than XML's five predefined
//! ones (or a character reference) is an error, so neither XXE
//! (`SYSTEM "file:///etc/passwd"`) nor billion-laughs can do anything.

use crate::error::{Error, Result};
use crate::package::Status;
use quick_xml::events::Event;
use serde::Serialize;

/// How deep elements may nest before the document is refused (the tree
/// walkers recurse; real JATS stays far below this).
pub const MAX_DEPTH: usize = 256;

// ---------------------------------------------------------------- tree

/// An element of the parsed document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Element {
    /// Qualified name as written (`article-title`, `mml:math`).
    pub name: String,
    /// Attributes with qualified names, unescaped.
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Node>,
}

/// A child of an element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Element(Element),
    Text(String),
}

impl Element {
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Child elements.
    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    /// Child elements with this name.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.elements().filter(move |e| e.name == name)
    }

    /// The first child with this name.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.elements().find(|e| e.name == name)
    }

    /// Follow a `/`-separated path of child names.
    pub fn path(&self, path: &str) -> Option<&Element> {
        path.split('/').try_fold(self, |e, step| e.child(step))
    }

    /// Every descendant element with this name, in document order, without
    /// descending into elements named in `skip`.
    pub fn descendants<'a>(&'a self, name: &str, skip: &[&str], out: &mut Vec<&'a Element>) {
        for e in self.elements() {
            if skip.contains(&e.name.as_str()) {
                continue;
            }
            if e.name == name {
                out.push(e);
            }
            e.descendants(name, skip, out);
        }
    }

    /// All text, whitespace collapsed.
    pub fn text(&self) -> String {
        let mut s = String::new();
        self.collect_text(&mut s, &[]);
        collapse_ws(&s)
    }

    /// All text except inside the named elements, whitespace collapsed.
    pub fn text_without(&self, skip: &[&str]) -> String {
        let mut s = String::new();
        self.collect_text(&mut s, skip);
        collapse_ws(&s)
    }

    fn collect_text(&self, out: &mut String, skip: &[&str]) {
        for n in &self.children {
            match n {
                Node::Text(t) => out.push_str(t),
                Node::Element(e) if !skip.contains(&e.name.as_str()) => e.collect_text(out, skip),
                Node::Element(_) => {}
            }
        }
    }
}

fn collapse_ws(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Parse XML into a tree; the root element is returned. See the module
/// docs for what is refused.
pub fn parse(xml: &[u8], file: &str) -> Result<Element> {
    let err = |pos: u64, message: String| Error::Xml {
        file: file.to_owned(),
        position: pos,
        message,
    };
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let push_node = |stack: &mut Vec<Element>, node: Node| {
        if let Some(top) = stack.last_mut() {
            if let (Node::Text(t), Some(Node::Text(prev))) = (&node, top.children.last_mut()) {
                prev.push_str(t);
                return;
            }
            top.children.push(node);
        }
    };
    loop {
        let pos = reader.buffer_position();
        let ev = reader
            .read_event()
            .map_err(|e| err(reader.error_position(), e.to_string()))?;
        match ev {
            Event::Eof => break,
            Event::DocType(d) => {
                let body = String::from_utf8_lossy(d.as_ref());
                if body.contains('[') || body.contains("<!") {
                    return Err(err(
                        pos,
                        "DOCTYPE with an internal subset or entity declarations is refused (DTDs are never processed)".into(),
                    ));
                }
            }
            Event::Start(e) | Event::Empty(e) if root.is_some() => {
                let _ = e;
                return Err(err(pos, "content after the root element".into()));
            }
            Event::Start(e) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(err(pos, format!("elements nest deeper than {MAX_DEPTH}")));
                }
                stack.push(start_element(&e).map_err(|m| err(pos, m))?);
            }
            Event::Empty(e) => {
                let el = start_element(&e).map_err(|m| err(pos, m))?;
                if stack.is_empty() {
                    root = Some(el);
                } else {
                    push_node(&mut stack, Node::Element(el));
                }
            }
            Event::End(_) => {
                let el = stack
                    .pop()
                    .ok_or_else(|| err(pos, "unexpected end tag".into()))?;
                if stack.is_empty() {
                    root = Some(el);
                } else {
                    push_node(&mut stack, Node::Element(el));
                }
            }
            Event::Text(t) => {
                let s = t.decode().map_err(|e| err(pos, e.to_string()))?;
                if stack.is_empty() {
                    if !s.trim().is_empty() {
                        return Err(err(pos, "text outside the root element".into()));
                    }
                } else {
                    push_node(&mut stack, Node::Text(s.into_owned()));
                }
            }
            Event::CData(c) => {
                let s = c.decode().map_err(|e| err(pos, e.to_string()))?;
                push_node(&mut stack, Node::Text(s.into_owned()));
            }
            Event::GeneralRef(r) => {
                let s = if r.is_char_ref() {
                    let c = r
                        .resolve_char_ref()
                        .map_err(|e| err(pos, e.to_string()))?
                        .ok_or_else(|| err(pos, "bad character reference".into()))?;
                    c.to_string()
                } else {
                    let name = r.decode().map_err(|e| err(pos, e.to_string()))?;
                    match quick_xml::escape::resolve_predefined_entity(&name) {
                        Some(s) => s.to_owned(),
                        None => {
                            return Err(err(
                                pos,
                                format!("reference to undeclared entity &{name}; (entities are never expanded)"),
                            ))
                        }
                    }
                };
                if stack.is_empty() {
                    return Err(err(pos, "entity reference outside the root element".into()));
                }
                push_node(&mut stack, Node::Text(s));
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
        }
    }
    if let Some(open) = stack.last() {
        return Err(err(
            reader.buffer_position(),
            format!("document ends inside <{}>", open.name),
        ));
    }
    root.ok_or_else(|| err(0, "no root element".into()))
}

fn start_element(e: &quick_xml::events::BytesStart<'_>) -> std::result::Result<Element, String> {
    let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
    let mut attrs = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(|e| format!("<{name}>: {e}"))?;
        let key = String::from_utf8_lossy(a.key.as_ref()).into_owned();
        let value = a
            .unescape_value()
            .map_err(|e| format!("<{name} {key}>: {e} (entities are never expanded)"))?
            .into_owned();
        attrs.push((key, value));
    }
    Ok(Element {
        name,
        attrs,
        children: Vec::new(),
    })
}

// ---------------------------------------------------------------- inline HTML

fn escape_html(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
}

/// An element's content as inline HTML: `italic`→`<i>`, `bold`→`<b>`,
/// `sup`, `sub`, `underline`→`<u>`, `monospace`→`<code>`, `sc`→small-caps
/// span, `ext-link`→`<a>`; any other element contributes its content only.
pub fn inline_html(e: &Element) -> String {
    let mut s = String::new();
    inline_into(e, &mut s);
    s.trim().to_owned()
}

fn inline_into(e: &Element, out: &mut String) {
    for n in &e.children {
        match n {
            Node::Text(t) => escape_html(t, out),
            Node::Element(c) => {
                let (open, close): (String, &str) = match c.name.as_str() {
                    "italic" => ("<i>".into(), "</i>"),
                    "bold" => ("<b>".into(), "</b>"),
                    "sup" => ("<sup>".into(), "</sup>"),
                    "sub" => ("<sub>".into(), "</sub>"),
                    "underline" => ("<u>".into(), "</u>"),
                    "monospace" => ("<code>".into(), "</code>"),
                    "sc" => ("<span class=\"small-caps\">".into(), "</span>"),
                    "ext-link" | "uri" => match c.attr("xlink:href") {
                        Some(h) => {
                            let mut o = String::from("<a href=\"");
                            if c.attr("ext-link-type") == Some("doi") && !h.starts_with("http") {
                                o.push_str("https://doi.org/");
                            }
                            escape_html(h, &mut o);
                            o.push_str("\">");
                            (o, "</a>")
                        }
                        None => (String::new(), ""),
                    },
                    "break" => {
                        out.push_str("<br>");
                        continue;
                    }
                    _ => (String::new(), ""),
                };
                out.push_str(&open);
                inline_into(c, out);
                out.push_str(close);
            }
        }
    }
}

/// Paragraphs of a block (`<p>` descendants) as `<p>…</p>` HTML. Older
/// eLife XML ends abstracts with a "DOI: …" paragraph that is a link to the
/// abstract itself, not content: it is left out.
fn paragraphs_html(e: &Element) -> String {
    let mut ps = Vec::new();
    e.descendants("p", &[], &mut ps);
    ps.iter()
        .filter(|p| !p.text().starts_with("DOI:"))
        .map(|p| format!("<p>{}</p>", inline_html(p)))
        .collect::<Vec<_>>()
        .join("")
}

// ---------------------------------------------------------------- article JSON

/// Options of a conversion: what the XML does not say.
#[derive(Debug, Clone, Default)]
pub struct ConvertOptions {
    /// From VersionLookup; else the XML file name's `-vN`, else 1.
    pub version: Option<u32>,
    /// From VersionLookup; else inferred: `vor` when the article has a `<body>`.
    pub status: Option<Status>,
    /// Base URL of the CDN (no trailing slash needed).
    pub cdn_base_url: String,
    /// Widths of the web JPEGs ResizeImages makes.
    pub image_widths: Vec<u32>,
    /// The PDF's file name if the package has one; else `self-uri[@content-type=pdf]`.
    pub pdf_file: Option<String>,
}

/// One author.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Author {
    /// `person` or `group`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Display name: "Given Surname" or the collaboration's name.
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub surname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub given_names: Option<String>,
    pub affiliations: Vec<String>,
    pub corresponding: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub orcid: Option<String>,
}

/// A web image of a figure at one width.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageSource {
    pub width: u32,
    pub url: String,
}

/// One figure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Figure {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The graphic's file reference as in the XML (`elife-00353-fig1-v1`).
    pub graphic: String,
    pub sources: Vec<ImageSource>,
}

/// The license.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct License {
    pub url: String,
    /// The license statement as HTML.
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub copyright: Option<String>,
}

/// The article JSON the CMS ingests (see `schema/article.schema.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Article {
    pub id: String,
    pub doi: String,
    pub version: u32,
    pub status: Status,
    /// JATS `article-type` (`research-article`, ...).
    #[serde(rename = "type")]
    pub article_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_channel: Option<String>,
    /// HTML with inline markup.
    pub title: String,
    pub authors: Vec<Author>,
    /// HTML paragraphs.
    #[serde(rename = "abstract", skip_serializing_if = "Option::is_none")]
    pub abstract_html: Option<String>,
    pub keywords: Vec<String>,
    pub subjects: Vec<String>,
    /// `YYYY-MM-DD`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elocation_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub license: Option<License>,
    pub figures: Vec<Figure>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pdf: Option<String>,
}

/// `<cdn>/articles/<id>/<file>`: where DepositAssets puts an article's files.
pub fn asset_url(cdn_base_url: &str, article_id: &str, file: &str) -> String {
    format!(
        "{}/{}",
        cdn_base_url.trim_end_matches('/'),
        crate::deposit::cdn_key(article_id, file)
    )
}

/// The web JPEG ResizeImages makes of a figure at a width:
/// `elife-00353-fig1-v1.tif` (or the extension-less reference) → `elife-00353-fig1-v1-617w.jpg`.
pub fn web_image_name(figure: &str, width: u32) -> String {
    let base = figure.rsplit('/').next().unwrap_or(figure);
    let stem = match base.rsplit_once('.') {
        Some((stem, ext))
            if crate::expand::IMAGE_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str()) =>
        {
            stem
        }
        _ => base,
    };
    format!("{stem}-{width}w.jpg")
}

/// Convert a JATS document. `file` names it in errors.
pub fn convert(xml: &[u8], file: &str, opts: &ConvertOptions) -> Result<Article> {
    let root = parse(xml, file)?;
    let missing = |element: &str| Error::MissingElement {
        file: file.to_owned(),
        element: element.to_owned(),
    };
    if root.name != "article" {
        return Err(Error::InvalidElement {
            file: file.to_owned(),
            element: format!("<{}>", root.name),
            message: "the root element must be <article>".into(),
        });
    }
    let meta = root
        .path("front/article-meta")
        .ok_or_else(|| missing("article/front/article-meta"))?;

    let doi = meta
        .children_named("article-id")
        .find(|e| e.attr("pub-id-type") == Some("doi"))
        .map(|e| e.text())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| missing("article-meta/article-id[@pub-id-type=doi]"))?;
    let id = meta
        .children_named("article-id")
        .find(|e| e.attr("pub-id-type") == Some("publisher-id"))
        .map(|e| e.text())
        .filter(|s| !s.is_empty())
        .or_else(|| {
            doi.rsplit('.')
                .next()
                .map(|s| s.trim_start_matches('e').to_owned())
        })
        .ok_or_else(|| missing("article-meta/article-id[@pub-id-type=publisher-id]"))?;
    let title = meta
        .path("title-group/article-title")
        .map(inline_html)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| missing("article-meta/title-group/article-title"))?;

    let version = opts
        .version
        .or_else(|| crate::package::file_version(file))
        .unwrap_or(1);
    let status = opts.status.unwrap_or(if root.child("body").is_some() {
        Status::Vor
    } else {
        Status::Poa
    });

    let mut display_channel = None;
    let mut subjects = Vec::new();
    if let Some(cats) = meta.child("article-categories") {
        for g in cats.children_named("subj-group") {
            let subj: Vec<String> = g.children_named("subject").map(|s| s.text()).collect();
            match g.attr("subj-group-type") {
                Some("display-channel") => display_channel = subj.into_iter().next(),
                Some("heading") => subjects.extend(subj),
                _ => {}
            }
        }
    }

    let authors = authors(meta);

    let abstract_html = meta
        .children_named("abstract")
        .find(|a| a.attr("abstract-type").is_none())
        .map(paragraphs_html)
        .filter(|s| !s.is_empty());

    let keywords = meta
        .children_named("kwd-group")
        .filter(|g| g.attr("kwd-group-type") == Some("author-keywords"))
        .flat_map(|g| g.children_named("kwd").map(inline_html).collect::<Vec<_>>())
        .collect();

    let published = meta
        .children_named("pub-date")
        .find(|d| {
            matches!(d.attr("date-type"), Some("pub" | "publication"))
                || d.attr("pub-type") == Some("epub")
        })
        .map(|d| pub_date(d, file))
        .transpose()?;

    let volume = match meta.child("volume") {
        Some(v) => Some(v.text().parse::<u32>().map_err(|_| Error::InvalidElement {
            file: file.to_owned(),
            element: "article-meta/volume".into(),
            message: format!("{:?} is not a number", v.text()),
        })?),
        None => None,
    };
    let elocation_id = meta.child("elocation-id").map(|e| e.text());

    let license = meta.path("permissions/license").map(|l| {
        let url = l
            .attr("xlink:href")
            .map(str::to_owned)
            .or_else(|| l.child("ali:license_ref").map(|r| r.text()))
            .unwrap_or_default();
        License {
            url,
            text: l
                .children_named("license-p")
                .map(inline_html)
                .collect::<Vec<_>>()
                .join(" "),
            copyright: meta
                .path("permissions/copyright-statement")
                .map(|c| c.text()),
        }
    });
    if let Some(l) = &license {
        if l.url.is_empty() {
            return Err(Error::InvalidElement {
                file: file.to_owned(),
                element: "permissions/license".into(),
                message: "no xlink:href or ali:license_ref".into(),
            });
        }
    }

    let mut figs = Vec::new();
    for part in ["body", "back", "floats-group"] {
        if let Some(p) = root.child(part) {
            p.descendants("fig", &["sub-article"], &mut figs);
        }
    }
    let figures = figs
        .iter()
        .filter_map(|f| {
            let graphic = f.child("graphic")?.attr("xlink:href")?.to_owned();
            let sources = opts
                .image_widths
                .iter()
                .map(|&w| ImageSource {
                    width: w,
                    url: asset_url(&opts.cdn_base_url, &id, &web_image_name(&graphic, w)),
                })
                .collect();
            Some(Figure {
                id: f.attr("id").unwrap_or_default().to_owned(),
                label: f.child("label").map(|l| l.text()),
                title: f.path("caption/title").map(inline_html),
                graphic,
                sources,
            })
        })
        .collect();

    let pdf_file = opts.pdf_file.clone().or_else(|| {
        meta.children_named("self-uri")
            .find(|s| s.attr("content-type") == Some("pdf"))
            .and_then(|s| s.attr("xlink:href"))
            .map(str::to_owned)
    });
    let pdf =
        pdf_file.map(|f| asset_url(&opts.cdn_base_url, &id, f.rsplit('/').next().unwrap_or(&f)));

    Ok(Article {
        id,
        doi,
        version,
        status,
        article_type: root
            .attr("article-type")
            .unwrap_or("research-article")
            .to_owned(),
        display_channel,
        title,
        authors,
        abstract_html,
        keywords,
        subjects,
        published,
        volume,
        elocation_id,
        license,
        figures,
        pdf,
    })
}

fn pub_date(d: &Element, file: &str) -> Result<String> {
    let num = |name: &str| d.child(name).and_then(|e| e.text().parse::<u32>().ok());
    let (y, m, day) = (num("year"), num("month"), num("day"));
    match (y, m, day) {
        (Some(y), Some(m), Some(day)) if (1..=12).contains(&m) && (1..=31).contains(&day) => {
            Ok(format!("{y:04}-{m:02}-{day:02}"))
        }
        _ => Err(Error::InvalidElement {
            file: file.to_owned(),
            element: "article-meta/pub-date".into(),
            message: format!("needs a valid year, month and day, got {:?}", d.text()),
        }),
    }
}

/// Affiliation as one line: its parts (institutions, city, country) joined
/// with ", ", without the label or e-mail. Parts come from the child
/// elements because some XML separates them with ", " text and some not at all.
fn aff_text(a: &Element) -> String {
    let mut parts = Vec::new();
    for e in a.elements() {
        match e.name.as_str() {
            "label" | "email" => {}
            "institution-wrap" => parts.extend(e.children_named("institution").map(|i| i.text())),
            _ => parts.push(e.text()),
        }
    }
    parts.retain(|p| !p.is_empty());
    if parts.is_empty() {
        a.text_without(&["label", "email"])
    } else {
        parts.join(", ")
    }
}

fn authors(meta: &Element) -> Vec<Author> {
    let mut affs_by_id = std::collections::HashMap::new();
    let mut all_affs = Vec::new();
    meta.descendants("aff", &[], &mut all_affs);
    for a in &all_affs {
        if let Some(id) = a.attr("id") {
            affs_by_id.insert(id.to_owned(), aff_text(a));
        }
    }
    let mut out = Vec::new();
    for group in meta.children_named("contrib-group") {
        if group.attr("content-type").is_some() {
            continue; // editors, reviewers
        }
        for c in group.children_named("contrib") {
            if c.attr("contrib-type") != Some("author") {
                continue;
            }
            let (kind, name, surname, given) = if let Some(n) = c.child("name") {
                let surname = n.child("surname").map(|e| e.text()).unwrap_or_default();
                let given = n.child("given-names").map(|e| e.text());
                let display = match &given {
                    Some(g) if !g.is_empty() => format!("{g} {surname}"),
                    _ => surname.clone(),
                };
                ("person", display, Some(surname), given)
            } else if let Some(collab) = c.child("collab") {
                ("group", collab.text_without(&["contrib-group"]), None, None)
            } else {
                continue;
            };
            let mut affiliations: Vec<String> = c.children_named("aff").map(aff_text).collect();
            for x in c.children_named("xref") {
                if x.attr("ref-type") == Some("aff") {
                    if let Some(t) = x.attr("rid").and_then(|r| affs_by_id.get(r)) {
                        affiliations.push(t.clone());
                    }
                }
            }
            let orcid = c
                .children_named("contrib-id")
                .find(|i| i.attr("contrib-id-type") == Some("orcid"))
                .map(|i| i.text().rsplit('/').next().unwrap_or_default().to_owned())
                .filter(|s| !s.is_empty());
            out.push(Author {
                kind,
                name,
                surname,
                given_names: given,
                affiliations,
                corresponding: c.attr("corresp") == Some("yes"),
                orcid,
            });
        }
    }
    out
}

// ---------------------------------------------------------------- activity

/// Name of the article JSON in the expanded folder.
pub const ARTICLE_JSON: &str = "article.json";

/// `ConvertJATS`: the XML of the expanded folder → `article.json` beside it.
///
/// Input: `xml_key`, `expanded_folder`, `version`, `status`, `pdf_key`.
/// Output: `article_json_key`, `doi`.
#[derive(Debug, Clone)]
pub struct ConvertJats {
    env: std::sync::Arc<crate::Env>,
}

impl ConvertJats {
    pub fn new(env: std::sync::Arc<crate::Env>) -> Self {
        ConvertJats { env }
    }

    async fn convert(&self, ctx: &crate::ActivityContext) -> Result<serde_json::Value> {
        use crate::article::{self as a, keys};
        let xml_key = a::ctx_str(ctx, keys::XML_KEY)?;
        let folder = match a::ctx_opt_str(ctx, keys::EXPANDED_FOLDER)? {
            Some(f) => f,
            None => xml_key
                .rsplit_once('/')
                .map(|(d, _)| d.to_owned())
                .unwrap_or_default(),
        };
        let status = match a::ctx_opt_str(ctx, keys::STATUS)? {
            Some(s) => Some(Status::parse(&s).ok_or_else(|| {
                Error::context(
                    keys::STATUS,
                    format!("{s:?} is neither \"poa\" nor \"vor\""),
                )
            })?),
            None => None,
        };
        let settings = &self.env.settings.activities;
        let opts = ConvertOptions {
            version: a::ctx_u32(ctx, keys::VERSION)?,
            status,
            cdn_base_url: settings.cdn_base_url.clone(),
            image_widths: settings.image_widths.clone(),
            pdf_file: a::ctx_opt_str(ctx, keys::PDF_KEY)?.map(|k| a::file_part(&k).to_owned()),
        };
        let expanded = a::bucket(&self.env, "expanded")?;
        let xml = a::get(&self.env, &expanded, &xml_key).await?;
        let file = a::file_part(&xml_key).to_owned();
        let article = a::blocking("convert JATS", move || convert(&xml, &file, &opts)).await?;
        let body = serde_json::to_vec_pretty(&article).map_err(|e| Error::InvalidElement {
            file: a::file_part(&xml_key).to_owned(),
            element: "article".into(),
            message: format!("cannot serialise the article JSON: {e}"),
        })?;
        let key = if folder.is_empty() {
            ARTICLE_JSON.to_owned()
        } else {
            format!("{folder}/{ARTICLE_JSON}")
        };
        a::put(
            &self.env,
            &expanded,
            &key,
            bytes::Bytes::from(body),
            pressbot_core::backend::PutOptions {
                content_type: Some("application/json".into()),
                cache_control: None,
            },
        )
        .await?;
        tracing::info!(doi = %article.doi, version = article.version, key = %key, "article converted");
        Ok(serde_json::json!({
            keys::ARTICLE_JSON_KEY: key,
            keys::DOI: article.doi,
        }))
    }
}

#[async_trait::async_trait]
impl crate::Activity for ConvertJats {
    fn name(&self) -> &'static str {
        "ConvertJATS"
    }

    async fn run(
        &self,
        ctx: &crate::ActivityContext,
    ) -> std::result::Result<serde_json::Value, pressbot_core::activity::ActivityFailure> {
        Ok(self.convert(ctx).await?)
    }
}
