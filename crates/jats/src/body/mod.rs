//! Content blocks: the abstract, digest, body, appendices,
//! acknowledgements and ethics, as the model's nested sections of blocks.
//!
//! [`blocks`] is the one block converter (shared with the sub-articles);
//! this module fills the article's parts with it, applying the model's rules
//! for each part the way eLife's converter (elife-tools) does: the body is
//! sections only (leading loose blocks wrapped in a "Main text" section),
//! abstracts are paragraphs and sections of paragraphs, ethics and digests
//! are paragraphs.

mod convert;

pub(crate) use convert::blocks;
use convert::{blocks_filtered, flatten_to_paragraphs};

pub mod assets;

use crate::cx::Cx;
use crate::xml::Element;
use crate::{Article, Result, Status};
use assets::{Asset, ImageAsset, Table};
use serde::Serialize;

/// One content block: the model's `blocks-all` (button, figshare, tweet and
/// the like never come from JATS).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Block {
    /// Inline HTML.
    Paragraph {
        text: String,
    },
    Section(Section),
    Box(BoxBlock),
    /// Labelled figures, tables and videos, with their supplements.
    Figure {
        assets: Vec<Asset>,
    },
    /// An unlabelled image.
    Image(ImageAsset),
    /// An unlabelled table.
    Table(Table),
    /// A display formula.
    Mathml(MathMl),
    List(List),
    Quote(Quote),
    Excerpt(Excerpt),
    Code(Code),
}

impl Block {
    /// The model's `type`, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Block::Paragraph { .. } => "paragraph",
            Block::Section(_) => "section",
            Block::Box(_) => "box",
            Block::Figure { .. } => "figure",
            Block::Image(_) => "image",
            Block::Table(_) => "table",
            Block::Mathml(_) => "mathml",
            Block::List(_) => "list",
            Block::Quote(_) => "quote",
            Block::Excerpt(_) => "excerpt",
            Block::Code(_) => "code",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Section {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Inline HTML.
    pub title: String,
    pub content: Vec<Block>,
}

/// A `boxed-text` with a title (or label).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BoxBlock {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doi: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub title: String,
    /// No sections, no boxes.
    pub content: Vec<Block>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MathMl {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// `<math>…</math>`.
    pub mathml: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ListPrefix {
    AlphaLower,
    AlphaUpper,
    Bullet,
    None,
    Number,
    RomanLower,
    RomanUpper,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct List {
    pub prefix: ListPrefix,
    pub items: Vec<ListItem>,
}

/// A list item: blocks (what JATS has), or inline HTML.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ListItem {
    Text(String),
    Blocks(Vec<Block>),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Quote {
    /// Paragraphs.
    pub text: Vec<Block>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cite: Option<String>,
}

/// An editor's comment quoted in a sub-article.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Excerpt {
    pub content: Vec<Block>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cite: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Code {
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

/// The abstract or the digest: content blocks and their DOI.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Abstract {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doi: Option<String>,
    pub content: Vec<Block>,
}

/// An appendix.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Appendix {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doi: Option<String>,
    pub title: String,
    pub content: Vec<Block>,
}

pub(crate) fn fill(cx: &mut Cx<'_>, root: &Element, article: &mut Article) -> Result<()> {
    if cx.article_id.is_empty() {
        cx.article_id = article.id.clone();
    }
    let body = root.child("body");
    let has_body = body.is_some_and(|b| b.elements().next().is_some());
    let status = article.status.or(cx.opts.status).unwrap_or(if has_body {
        Status::Vor
    } else {
        Status::Poa
    });
    let vor = status == Status::Vor;

    let meta = root.path("front/article-meta");
    let abstracts: Vec<&Element> = meta
        .map(|m| m.children_named("abstract").collect())
        .unwrap_or_default();
    if let Some(a) = abstracts.iter().find(|a| a.attr("abstract-type").is_none()) {
        article.abstract_ = abstract_of(cx, a, "article/front/article-meta/abstract", false);
    }
    if vor {
        let digest = abstracts
            .iter()
            .find(|a| a.attr("abstract-type") == Some("executive-summary"))
            .or_else(|| {
                abstracts
                    .iter()
                    .find(|a| a.attr("abstract-type") == Some("plain-language-summary"))
            });
        if let Some(d) = digest {
            let path = "article/front/article-meta/abstract[@abstract-type]";
            article.digest = abstract_of(cx, d, path, true);
        }
    }

    if vor {
        article.body = body.map(|b| body_of(cx, b)).filter(|b| !b.is_empty());
        if article.body.is_none() {
            return Err(cx.missing("article/body"));
        }
        let back = root.child("back");
        if let Some(back) = back {
            article.appendices = appendices(cx, back);
            if let Some(ack) = back.child("ack") {
                article.acknowledgements = blocks(cx, ack, "article/back/ack");
            }
        }
    }

    let mut groups = Vec::new();
    root.descendants("fn-group", &["sub-article"], &mut groups);
    if let Some(g) = groups
        .iter()
        .find(|g| g.attr("content-type") == Some("ethics-information"))
    {
        let path = "article//fn-group[@content-type=ethics-information]";
        let mut out = Vec::new();
        for f in g.children_named("fn") {
            let bs = blocks(cx, f, &format!("{path}/fn"));
            flatten_to_paragraphs(cx, bs, path, &mut out);
        }
        article.ethics = out;
    }

    article.additional_files = assets::additional_files(cx, root);

    match cx.deferred.take() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// An abstract: paragraphs and sections of paragraphs (a digest:
/// paragraphs only). The legacy "DOI: …" paragraph is left out: the DOI is
/// the abstract's `object-id`.
fn abstract_of(cx: &mut Cx<'_>, a: &Element, path: &str, digest: bool) -> Option<Abstract> {
    let bs = blocks_filtered(cx, a, path, &|e| {
        !(e.name == "p" && assets::is_doi_paragraph(e))
    });
    let mut content = Vec::new();
    for b in bs {
        match b {
            Block::Section(s) if !digest => {
                let mut inner = Vec::new();
                flatten_to_paragraphs(cx, s.content, path, &mut inner);
                if !inner.is_empty() {
                    content.push(Block::Section(Section {
                        id: s.id,
                        title: s.title,
                        content: inner,
                    }));
                }
            }
            other => flatten_to_paragraphs(cx, vec![other], path, &mut content),
        }
    }
    if content.is_empty() {
        cx.warn(path, "empty: left out");
        return None;
    }
    Some(Abstract {
        doi: assets::object_doi(a),
        content,
    })
}

/// Whether a body box is eLife's "key information" box about a related
/// article (Insights): the journal shows the related article itself, so
/// eLife leaves the box out of the body.
fn is_related_article_box(e: &Element) -> bool {
    e.name == "boxed-text"
        && e.elements()
            .next()
            .is_some_and(|first| first.text().to_lowercase().contains("related"))
}

/// The body: sections only, each with an id. Loose blocks before the first
/// section become a "Main text" section (`s0`), as eLife does; loose blocks
/// after a section join it.
fn body_of(cx: &mut Cx<'_>, body: &Element) -> Vec<Block> {
    let path = "article/body";
    let bs = blocks_filtered(cx, body, path, &|e| !is_related_article_box(e));
    if body.elements().any(is_related_article_box) {
        cx.warn(
            "article/body/boxed-text",
            "related-article box left out of the body (the journal shows the related article)",
        );
    }
    let mut out: Vec<Block> = Vec::new();
    if bs.first().is_some_and(|b| !matches!(b, Block::Section(_))) {
        out.push(Block::Section(Section {
            id: Some("s0".into()),
            title: "Main text".into(),
            content: bs,
        }));
        return out;
    }
    let mut n = 0;
    for b in bs {
        match b {
            Block::Section(mut s) => {
                n += 1;
                if s.id.is_none() {
                    let id = format!("s-body-{n}");
                    cx.warn(format!("{path}/sec[{n}]"), format!("no id: {id:?} used"));
                    s.id = Some(id);
                }
                out.push(Block::Section(s));
            }
            other => {
                cx.warn(
                    path,
                    format!(
                        "a {} between sections joins the section before it",
                        other.kind()
                    ),
                );
                if let Some(Block::Section(prev)) = out.last_mut() {
                    prev.content.push(other);
                }
            }
        }
    }
    out
}

fn appendices(cx: &mut Cx<'_>, back: &Element) -> Vec<Appendix> {
    let mut out = Vec::new();
    let mut n = 0;
    for group in back.children_named("app-group") {
        for app in group.children_named("app") {
            n += 1;
            let path = format!("article/back/app-group/app[{n}]");
            let title = app
                .child("title")
                .map(|t| crate::html::inline(cx, t, &format!("{path}/title")))
                .filter(|t| !t.is_empty())
                .or_else(|| {
                    app.child("label")
                        .map(|l| l.text())
                        .filter(|t| !t.is_empty())
                })
                .unwrap_or_else(|| {
                    cx.warn(&path, "no title: \"Appendix N\" used");
                    format!("Appendix {n}")
                });
            let id = app.attr("id").map(str::to_owned).unwrap_or_else(|| {
                cx.warn(&path, format!("no id: \"app{n}\" used"));
                format!("app{n}")
            });
            // eLife's appendices often wrap everything in one untitled box
            // whose DOI is the appendix's.
            let mut doi = assets::object_doi(app).or_else(|| {
                app.elements()
                    .find(|e| !matches!(e.name.as_str(), "title" | "label" | "object-id"))
                    .filter(|e| e.name == "boxed-text")
                    .and_then(assets::object_doi)
            });
            let mut content = unwrap_box(blocks(cx, app, &path), &mut doi);
            for b in content.iter_mut() {
                if let Block::Section(s) = b {
                    let mut ignored = None;
                    s.content = unwrap_box(std::mem::take(&mut s.content), &mut ignored);
                }
            }
            if content.is_empty() {
                cx.warn(&path, "empty appendix left out");
                continue;
            }
            out.push(Appendix {
                id,
                doi,
                title,
                content,
            });
        }
    }
    out
}

/// eLife's appendices often wrap everything in one box: its content takes
/// the box's place (and its DOI the appendix's, if it has none).
fn unwrap_box(mut content: Vec<Block>, doi: &mut Option<String>) -> Vec<Block> {
    if let Some(Block::Box(_)) = content.first() {
        if let Block::Box(b) = content.remove(0) {
            if doi.is_none() {
                *doi = b.doi;
            }
            let mut out = b.content;
            out.append(&mut content);
            return out;
        }
    }
    content
}

#[cfg(test)]
pub(crate) mod tests;
