//! The block converter: JATS block elements (sections, paragraphs, figures,
//! tables, formulas, lists, quotes, boxes, code) to the model's blocks.
//!
//! Content is read as a flow: runs of text and inline elements become
//! paragraphs, block elements become blocks. This is also how a `<p>` that
//! holds a figure, formula, table, list or quote is split into paragraph,
//! block, paragraph, as eLife's converter does.

use super::assets::{self, Asset, ImageAsset};
use super::{Block, BoxBlock, Code, Excerpt, List, ListItem, ListPrefix, MathMl, Quote, Section};
use crate::cx::Cx;
use crate::html;
use crate::xml::{Element, Node};

/// Children a container's parent reads itself (titles, labels, DOIs), not
/// content.
const METADATA: &[&str] = &[
    "title",
    "label",
    "object-id",
    "sec-meta",
    "attrib",
    "permissions",
];

/// The blocks of an element's content (paragraphs, sections, figures...):
/// what sub-articles and the body share.
pub(crate) fn blocks(cx: &mut Cx<'_>, parent: &Element, path: &str) -> Vec<Block> {
    blocks_filtered(cx, parent, path, &|_| true)
}

/// [`blocks`], keeping only the direct children `keep` accepts.
pub(crate) fn blocks_filtered(
    cx: &mut Cx<'_>,
    parent: &Element,
    path: &str,
    keep: &dyn Fn(&Element) -> bool,
) -> Vec<Block> {
    let mut out = Vec::new();
    flow(cx, parent, path, &mut out, keep);
    out
}

/// Element names read as blocks inside a flow.
fn is_block(name: &str) -> bool {
    matches!(
        name,
        "sec"
            | "p"
            | "fig"
            | "fig-group"
            | "table-wrap"
            | "table-wrap-group"
            | "disp-formula"
            | "disp-formula-group"
            | "disp-quote"
            | "list"
            | "media"
            | "boxed-text"
            | "code"
            | "preformat"
            | "supplementary-material"
            | "graphic"
            | "array"
            | "def-list"
            | "statement"
            | "fn-group"
            | "fn"
            | "ack"
            | "app"
            | "app-group"
            | "caption"
            | "speech"
            | "verse-group"
            | "glossary"
            | "ref-list"
    )
}

/// Numbered paths (`sec[2]`) for warnings.
struct Counter(Vec<(String, usize)>);

impl Counter {
    fn next(&mut self, path: &str, name: &str) -> String {
        let n = match self.0.iter_mut().find(|(k, _)| k == name) {
            Some((_, n)) => {
                *n += 1;
                *n
            }
            None => {
                self.0.push((name.to_owned(), 1));
                1
            }
        };
        format!("{path}/{name}[{n}]")
    }
}

fn flow(
    cx: &mut Cx<'_>,
    parent: &Element,
    path: &str,
    out: &mut Vec<Block>,
    keep: &dyn Fn(&Element) -> bool,
) {
    let mut run = String::new();
    let mut count = Counter(Vec::new());
    for n in &parent.children {
        match n {
            Node::Text(t) => html::escape_into(t, &mut run),
            Node::Element(c) => {
                let cpath = count.next(path, &c.name);
                if !keep(c) {
                    continue;
                }
                if parent.name != "p" && METADATA.contains(&c.name.as_str()) {
                    continue;
                }
                if is_block(&c.name) {
                    flush(&mut run, out);
                    block(cx, c, &cpath, out);
                } else {
                    html::inline_element(cx, c, &cpath, &mut run);
                }
            }
        }
    }
    flush(&mut run, out);
}

/// A run of inline HTML as a paragraph, unless it is only whitespace.
fn flush(run: &mut String, out: &mut Vec<Block>) {
    let text = run.trim().replace('\n', " ");
    run.clear();
    if !text.is_empty() {
        out.push(Block::Paragraph { text });
    }
}

/// One block element.
fn block(cx: &mut Cx<'_>, e: &Element, path: &str, out: &mut Vec<Block>) {
    match e.name.as_str() {
        "p" => flow(cx, e, path, out, &|_| true),
        "sec" => section(cx, e, path, out),
        "fig" => out.extend(assets::figure(cx, e, path)),
        "fig-group" => out.extend(assets::fig_group(cx, e, path)),
        "table-wrap" => out.extend(assets::table_wrap(cx, e, path)),
        "media" => media(cx, e, path, out),
        "disp-formula" => formula(cx, e, path, out),
        "disp-quote" => quote(cx, e, path, out),
        "list" => out.extend(list(cx, e, path)),
        "boxed-text" => boxed(cx, e, path, out),
        "code" | "preformat" => {
            let code = raw_text(e);
            let code = code.trim_matches('\n').to_owned();
            if code.trim().is_empty() {
                return;
            }
            out.push(Block::Code(Code {
                code,
                language: e.attr("language").map(str::to_owned),
            }));
        }
        "graphic" => {
            if let Some(image) = assets::image(cx, e, path) {
                out.push(Block::Image(ImageAsset {
                    doi: None,
                    id: e.attr("id").map(str::to_owned),
                    label: None,
                    title: None,
                    caption: Vec::new(),
                    image,
                    source_data: Vec::new(),
                }));
            }
        }
        "array" => out.push(Block::Table(assets::Table {
            doi: None,
            id: e.attr("id").map(str::to_owned),
            label: None,
            title: None,
            caption: Vec::new(),
            attribution: Vec::new(),
            tables: vec![html::table(cx, e, path)],
            footnotes: Vec::new(),
            source_data: Vec::new(),
        })),
        "def-list" => def_list(cx, e, path, out),
        // Listed in the article's additional files.
        "supplementary-material" => {}
        // Groups: their content in order.
        "table-wrap-group" | "disp-formula-group" | "app-group" | "app" | "ack" | "caption"
        | "statement" | "fn-group" | "fn" => {
            let title = e
                .child("title")
                .or_else(|| e.child("label"))
                .map(|t| html::inline(cx, t, path));
            if let Some(t) = title.filter(|t| !t.is_empty()) {
                out.push(Block::Paragraph {
                    text: format!("<b>{t}</b>"),
                });
            }
            flow(cx, e, path, out, &|_| true);
        }
        other => {
            cx.warn(
                path,
                format!("<{other}> not mapped: its text is kept as paragraphs"),
            );
            flow(cx, e, path, out, &|_| true);
        }
    }
}

/// A `sec`: a section when it has a title; an untitled section's content
/// joins its parent (the model requires titles; eLife unwraps them too).
fn section(cx: &mut Cx<'_>, e: &Element, path: &str, out: &mut Vec<Block>) {
    let title = e
        .child("title")
        .map(|t| html::inline(cx, t, &format!("{path}/title")))
        .unwrap_or_default();
    let mut content = Vec::new();
    flow(cx, e, path, &mut content, &|_| true);
    if title.is_empty() {
        out.append(&mut content);
        return;
    }
    if content.is_empty() {
        cx.warn(path, "section without content left out");
        return;
    }
    out.push(Block::Section(Section {
        id: e.attr("id").map(str::to_owned),
        title,
        content,
    }));
}

/// A `media`: a video becomes a figure; any other file a link to it.
fn media(cx: &mut Cx<'_>, e: &Element, path: &str, out: &mut Vec<Block>) {
    if e.attr("mimetype") == Some("video") {
        if let Some(v) = assets::video(cx, e, path) {
            out.push(Block::Figure {
                assets: vec![Asset::Video(v)],
            });
        }
        return;
    }
    let href = e.attr("xlink:href").unwrap_or("");
    match cx.file(href) {
        Some(f) => {
            let label = e
                .child("label")
                .map(|l| l.text())
                .unwrap_or_else(|| f.name.clone());
            let mut text = String::new();
            match html::safe_url(&f.url) {
                Some(u) => {
                    text.push_str("<a href=\"");
                    html::escape_into(&u, &mut text);
                    text.push_str("\">");
                    html::escape_into(&label, &mut text);
                    text.push_str("</a>");
                }
                None => html::escape_into(&label, &mut text),
            }
            out.push(Block::Paragraph { text });
            flow(cx, e, path, out, &|_| true);
        }
        None => cx.fail(cx.invalid(path, format!("{href:?} is not a file of the package"))),
    }
}

fn formula(cx: &mut Cx<'_>, e: &Element, path: &str, out: &mut Vec<Block>) {
    let mut maths = Vec::new();
    e.descendants("mml:math", &[], &mut maths);
    if maths.is_empty() {
        e.descendants("math", &[], &mut maths);
    }
    let label = e.child("label").map(|l| l.text()).filter(|l| !l.is_empty());
    if let Some(m) = maths.first() {
        let mathml = html::mathml(cx, m, &format!("{path}/mml:math"));
        if mathml != "<math></math>" {
            out.push(Block::Mathml(MathMl {
                id: e.attr("id").map(str::to_owned),
                label,
                mathml,
            }));
            return;
        }
    }
    // A formula supplied as an image (older XML).
    let mut graphics = Vec::new();
    e.descendants("graphic", &[], &mut graphics);
    if let Some(g) = graphics.first() {
        if let Some(image) = assets::image(cx, g, &format!("{path}/graphic")) {
            out.push(Block::Image(ImageAsset {
                doi: None,
                id: e.attr("id").map(str::to_owned),
                label: None,
                title: label,
                caption: Vec::new(),
                image,
                source_data: Vec::new(),
            }));
        }
        return;
    }
    let text = e.text_without(&["label"]);
    if !text.is_empty() {
        cx.warn(path, "formula without MathML: its text is kept as code");
        out.push(Block::Code(Code {
            code: text,
            language: None,
        }));
    }
}

/// `disp-quote`: a quote (paragraphs, `attrib` as the citation); an
/// editor's comment is an excerpt (which may hold lists, code, formulas).
fn quote(cx: &mut Cx<'_>, e: &Element, path: &str, out: &mut Vec<Block>) {
    let mut content = Vec::new();
    flow(cx, e, path, &mut content, &|_| true);
    let cite = e
        .child("attrib")
        .map(|a| html::inline(cx, a, &format!("{path}/attrib")))
        .filter(|s| !s.is_empty());
    if content.is_empty() {
        return;
    }
    if e.attr("content-type") == Some("editor-comment") {
        let mut kept = Vec::new();
        for b in content {
            match b {
                Block::Paragraph { .. }
                | Block::Code(_)
                | Block::List(_)
                | Block::Mathml(_)
                | Block::Table(_) => kept.push(b),
                other => flatten_to_paragraphs(cx, vec![other], path, &mut kept),
            }
        }
        out.push(Block::Excerpt(Excerpt {
            content: kept,
            cite,
        }));
    } else {
        let mut text = Vec::new();
        flatten_to_paragraphs(cx, content, path, &mut text);
        if !text.is_empty() {
            out.push(Block::Quote(Quote { text, cite }));
        }
    }
}

fn list(cx: &mut Cx<'_>, e: &Element, path: &str) -> Option<Block> {
    let prefix = match e.attr("list-type").unwrap_or("") {
        "order" | "ordered" | "number" => ListPrefix::Number,
        "bullet" => ListPrefix::Bullet,
        "alpha-lower" => ListPrefix::AlphaLower,
        "alpha-upper" => ListPrefix::AlphaUpper,
        "roman-lower" => ListPrefix::RomanLower,
        "roman-upper" => ListPrefix::RomanUpper,
        "simple" | "" => ListPrefix::None,
        other => {
            cx.warn(path, format!("list-type {other:?} not known: no prefix"));
            ListPrefix::None
        }
    };
    let mut items = Vec::new();
    let mut count = Counter(Vec::new());
    for item in e.children_named("list-item") {
        let ipath = count.next(path, "list-item");
        let mut bs = Vec::new();
        flow(cx, item, &ipath, &mut bs, &|_| true);
        let mut flat = Vec::new();
        no_sections_or_boxes(bs, &mut flat);
        items.push(if flat.is_empty() {
            ListItem::Text(String::new())
        } else {
            ListItem::Blocks(flat)
        });
    }
    if items.is_empty() {
        cx.warn(path, "list without items left out");
        return None;
    }
    Some(Block::List(List { prefix, items }))
}

/// `boxed-text`: a box when it has a title or label; untitled, its content
/// joins the parent; a box around an inline graphic is an image (eLife's
/// rules).
fn boxed(cx: &mut Cx<'_>, e: &Element, path: &str, out: &mut Vec<Block>) {
    let mut graphics = Vec::new();
    e.descendants("inline-graphic", &[], &mut graphics);
    if let Some(g) = graphics.first() {
        let Some(image) = assets::image(cx, g, &format!("{path}/inline-graphic")) else {
            return;
        };
        let mut caption = Vec::new();
        let texts = blocks_filtered(cx, e, path, &|c| {
            let mut inner = Vec::new();
            c.descendants("inline-graphic", &[], &mut inner);
            inner.is_empty() && c.name != "inline-graphic"
        });
        flatten_to_paragraphs(cx, texts, path, &mut caption);
        out.push(Block::Image(ImageAsset {
            doi: assets::object_doi(e),
            id: e.attr("id").map(str::to_owned),
            label: None,
            title: None,
            caption,
            image,
            source_data: Vec::new(),
        }));
        return;
    }
    let title = e
        .child("title")
        .or_else(|| e.path("caption/title"))
        .map(|t| html::inline(cx, t, &format!("{path}/title")))
        .filter(|t| !t.is_empty());
    let label = e
        .child("label")
        .map(|l| l.text().trim_end_matches(['.', ':']).to_owned())
        .filter(|l| !l.is_empty());
    let mut content = Vec::new();
    flow(cx, e, path, &mut content, &|c| c.name != "caption");
    if let Some(c) = e.child("caption") {
        flow(cx, c, &format!("{path}/caption"), &mut content, &|_| true);
    }
    let (title, label) = match (title, label) {
        (Some(t), l) => (t, l),
        (None, Some(l)) => (l, None),
        (None, None) => {
            out.append(&mut content);
            return;
        }
    };
    let mut flat = Vec::new();
    no_sections_or_boxes(content, &mut flat);
    if flat.is_empty() {
        cx.warn(path, "box without content left out");
        return;
    }
    out.push(Block::Box(BoxBlock {
        doi: assets::object_doi(e),
        id: e.attr("id").map(str::to_owned),
        label,
        title,
        content: flat,
    }));
}

/// A `def-list`: one paragraph per term and definition.
fn def_list(cx: &mut Cx<'_>, e: &Element, path: &str, out: &mut Vec<Block>) {
    if let Some(t) = e.child("title") {
        let t = html::inline(cx, t, &format!("{path}/title"));
        if !t.is_empty() {
            out.push(Block::Paragraph {
                text: format!("<b>{t}</b>"),
            });
        }
    }
    let mut count = Counter(Vec::new());
    for item in e.children_named("def-item") {
        let ipath = count.next(path, "def-item");
        let term = item
            .child("term")
            .map(|t| html::inline(cx, t, &format!("{ipath}/term")))
            .unwrap_or_default();
        let mut defs = Vec::new();
        for d in item.children_named("def") {
            let mut bs = Vec::new();
            flow(cx, d, &format!("{ipath}/def"), &mut bs, &|_| true);
            flatten_to_paragraphs(cx, bs, &ipath, &mut defs);
        }
        let mut first = true;
        for d in defs {
            if let Block::Paragraph { text } = d {
                let text = if first && !term.is_empty() {
                    format!("<b>{term}</b>: {text}")
                } else {
                    text
                };
                first = false;
                out.push(Block::Paragraph { text });
            }
        }
        if first && !term.is_empty() {
            out.push(Block::Paragraph {
                text: format!("<b>{term}</b>"),
            });
        }
    }
}

/// Where the model allows no sections or boxes (box content, list items):
/// their titles become bold paragraphs and their content takes their place.
pub(crate) fn no_sections_or_boxes(bs: Vec<Block>, out: &mut Vec<Block>) {
    for b in bs {
        match b {
            Block::Section(s) => {
                out.push(Block::Paragraph {
                    text: format!("<b>{}</b>", s.title),
                });
                no_sections_or_boxes(s.content, out);
            }
            Block::Box(b) => {
                out.push(Block::Paragraph {
                    text: format!("<b>{}</b>", b.title),
                });
                no_sections_or_boxes(b.content, out);
            }
            other => out.push(other),
        }
    }
}

/// Where the model allows paragraphs only (quotes, ethics, digests,
/// abstracts): section and box titles become bold paragraphs, list items
/// paragraphs; formulas, figures and tables are left out with a warning.
pub(crate) fn flatten_to_paragraphs(
    cx: &mut Cx<'_>,
    bs: Vec<Block>,
    path: &str,
    out: &mut Vec<Block>,
) {
    for b in bs {
        match b {
            Block::Paragraph { .. } => out.push(b),
            Block::Section(s) => {
                out.push(Block::Paragraph {
                    text: format!("<b>{}</b>", s.title),
                });
                flatten_to_paragraphs(cx, s.content, path, out);
            }
            Block::Box(b) => {
                out.push(Block::Paragraph {
                    text: format!("<b>{}</b>", b.title),
                });
                flatten_to_paragraphs(cx, b.content, path, out);
            }
            Block::Quote(q) => flatten_to_paragraphs(cx, q.text, path, out),
            Block::Excerpt(x) => flatten_to_paragraphs(cx, x.content, path, out),
            Block::List(l) => {
                for item in l.items {
                    match item {
                        ListItem::Text(t) if !t.is_empty() => {
                            out.push(Block::Paragraph { text: t })
                        }
                        ListItem::Text(_) => {}
                        ListItem::Blocks(bs) => flatten_to_paragraphs(cx, bs, path, out),
                    }
                }
            }
            other => cx.warn(
                path,
                format!(
                    "a {} is not allowed here (paragraphs only): left out",
                    other.kind()
                ),
            ),
        }
    }
}

/// All text, whitespace as written (for code).
fn raw_text(e: &Element) -> String {
    let mut s = String::new();
    fn walk(e: &Element, s: &mut String) {
        for n in &e.children {
            match n {
                Node::Text(t) => s.push_str(t),
                Node::Element(c) if c.name == "break" => s.push('\n'),
                Node::Element(c) => walk(c, s),
            }
        }
    }
    walk(e, &mut s);
    s
}
