//! Sub-articles: editor's evaluation, eLife assessment, decision letter,
//! recommendations for authors, author response, public reviews.
//!
//! Which sub-article is which follows elife-tools:
//! - `editor-report`: an "eLife assessment" (title with "assessment", and
//!   its `claim-importance` / `evidence-strength` terms) or else the
//!   "Editor's evaluation";
//! - `decision-letter` (or the legacy `article-commentary`, preferred when
//!   both exist): the decision letter, whose first `boxed-text` is its
//!   description;
//! - `referee-report`: "Recommendations for authors" (title with
//!   "recommendations") or else a public review;
//! - `reply` or `author-comment`: the author response.
//!
//! The first of each kind is kept (public reviews: all), as eLife does.

use crate::body::Block;
use crate::cx::Cx;
use crate::front::{bare_doi, is_doi};
use crate::html;
use crate::xml::{Element, Node};
use crate::{Article, Result};
use serde::Serialize;

/// One sub-article as the model has it; which fields apply depends on
/// where it goes (`title` for assessments, reviews and recommendations,
/// `description` for decision letters, `scietyUri`, `significance` and
/// `strength` for evaluations and assessments).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SubArticle {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doi: Option<String>,
    /// Paragraphs only.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub description: Vec<Block>,
    pub content: Vec<Block>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sciety_uri: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub significance: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub strength: Vec<String>,
}

/// Where a sub-article goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Evaluation,
    Assessment,
    Decision,
    Recommendations,
    PublicReview,
    Response,
}

/// The sub-article's title (`article-title` in its front-stub or front).
fn title_el(sub: &Element) -> Option<&Element> {
    sub.path("front-stub/title-group/article-title")
        .or_else(|| sub.path("front/article-meta/title-group/article-title"))
}

fn front(sub: &Element) -> Option<&Element> {
    sub.child("front-stub")
        .or_else(|| sub.path("front/article-meta"))
}

fn kind(sub: &Element) -> Option<Kind> {
    let title = title_el(sub)
        .map(|t| t.text().to_lowercase())
        .unwrap_or_default();
    Some(match sub.attr("article-type")? {
        "editor-report" if title.contains("assessment") => Kind::Assessment,
        "editor-report" => Kind::Evaluation,
        "decision-letter" | "article-commentary" => Kind::Decision,
        "referee-report" if title.contains("recommendations") => Kind::Recommendations,
        "referee-report" => Kind::PublicReview,
        "reply" | "author-comment" => Kind::Response,
        _ => return None,
    })
}

pub(crate) fn fill(cx: &mut Cx<'_>, root: &Element, article: &mut Article) -> Result<()> {
    let subs: Vec<(String, &Element)> = root
        .children_named("sub-article")
        .enumerate()
        .map(|(i, s)| (format!("article/sub-article[{}]", i + 1), s))
        .collect();
    for (path, sub) in &subs {
        let Some(k) = kind(sub) else {
            cx.warn(
                path,
                format!(
                    "sub-article type {:?} not mapped: left out",
                    sub.attr("article-type").unwrap_or("")
                ),
            );
            continue;
        };
        let slot = match k {
            Kind::Evaluation => &mut article.editor_evaluation,
            Kind::Assessment => &mut article.elife_assessment,
            Kind::Recommendations => &mut article.recommendations_for_authors,
            Kind::Response => &mut article.author_response,
            // Below, in elife-tools' order.
            Kind::Decision => continue,
            Kind::PublicReview => {
                if let Some(s) = convert(cx, sub, path, k) {
                    article.public_reviews.push(s);
                }
                continue;
            }
        };
        if slot.is_some() {
            cx.warn(
                path,
                "a second sub-article of this kind: left out (the model has one)",
            );
            continue;
        }
        *slot = convert(cx, sub, path, k);
    }
    // The legacy article-commentary decision letter wins over a
    // decision-letter one.
    let decisions = ["article-commentary", "decision-letter"]
        .into_iter()
        .flat_map(|t| {
            subs.iter()
                .filter(move |(_, s)| s.attr("article-type") == Some(t))
        });
    for (path, sub) in decisions {
        if article.decision_letter.is_some() {
            cx.warn(
                path,
                "a second decision letter: left out (the model has one)",
            );
        } else {
            article.decision_letter = convert(cx, sub, path, Kind::Decision);
        }
    }
    if article.author_response.is_some()
        && article.decision_letter.is_none()
        && article.editor_evaluation.is_none()
        && article.elife_assessment.is_none()
        && article.public_reviews.is_empty()
        && article.recommendations_for_authors.is_none()
    {
        // The CMS would refuse such an article (the model makes the
        // response depend on one of them): fail here, naming why.
        return Err(cx.invalid(
            "article/sub-article[@article-type=reply]",
            "an author response needs a decision letter, evaluation, assessment or public reviews beside it (the article-json model requires one), and none has content",
        ));
    }
    Ok(())
}

/// The `type` of a block, whatever the block's Rust type.
fn block_type(b: &Block) -> Option<String> {
    serde_json::to_value(b)
        .ok()?
        .get("type")?
        .as_str()
        .map(str::to_owned)
}

fn convert(cx: &mut Cx<'_>, sub: &Element, path: &str, k: Kind) -> Option<SubArticle> {
    let id = match sub.attr("id") {
        Some(i) if !i.is_empty() && !i.contains(char::is_whitespace) => Some(i.to_owned()),
        Some(i) => {
            cx.warn(
                format!("{path}/@id"),
                format!("{i:?} is not an HTML id: left out"),
            );
            None
        }
        None => None,
    };
    let doi = front(sub)
        .and_then(|f| {
            f.children_named("article-id")
                .find(|a| a.attr("pub-id-type") == Some("doi"))
        })
        .map(|a| bare_doi(&a.text()))
        .filter(|d| !d.is_empty())
        .and_then(|d| {
            if is_doi(&d) {
                Some(d)
            } else {
                cx.warn(
                    format!("{path}/front-stub/article-id"),
                    format!("{d:?} is not a DOI: left out"),
                );
                None
            }
        });
    let title = title_el(sub)
        .map(|t| {
            html::inline(
                cx,
                t,
                &format!("{path}/front-stub/title-group/article-title"),
            )
        })
        .filter(|t| !t.is_empty());
    let needs_title = matches!(
        k,
        Kind::Assessment | Kind::Recommendations | Kind::PublicReview
    );
    let title = match (needs_title, title) {
        (false, _) => None,
        (true, Some(t)) => Some(t),
        (true, None) => {
            let t = match k {
                Kind::Assessment => "eLife assessment",
                Kind::Recommendations => "Recommendations for authors",
                _ => "Public review",
            };
            cx.warn(path, format!("no article-title: {t:?} used"));
            Some(t.to_owned())
        }
    };
    let Some(body) = sub.child("body") else {
        cx.warn(path, "sub-article without a body: left out");
        return None;
    };
    let bpath = format!("{path}/body");
    let (description, content) = if k == Kind::Decision {
        decision(cx, body, &bpath)
    } else {
        (Vec::new(), crate::body::blocks(cx, body, &bpath))
    };
    if content.is_empty() {
        cx.warn(&bpath, "sub-article without content: left out");
        return None;
    }
    if k == Kind::Decision && description.is_empty() {
        cx.warn(
            &bpath,
            "decision letter without a description (the model requires one): left out",
        );
        return None;
    }
    let mut s = SubArticle {
        title,
        id,
        doi,
        description,
        content,
        sciety_uri: None,
        significance: Vec::new(),
        strength: Vec::new(),
    };
    if matches!(k, Kind::Evaluation | Kind::Assessment) {
        s.sciety_uri = sciety_uri(sub);
    }
    if k == Kind::Assessment {
        terms(cx, sub, path, &mut s);
    }
    Some(s)
}

/// The decision letter's description (its first `boxed-text`, paragraphs
/// only) and content (the rest). Without a box, the first paragraph is
/// the description, as the model requires one.
fn decision(cx: &mut Cx<'_>, body: &Element, path: &str) -> (Vec<Block>, Vec<Block>) {
    let boxed = body
        .children
        .iter()
        .position(|n| matches!(n, Node::Element(e) if e.name == "boxed-text"));
    let Some(i) = boxed else {
        let mut content = crate::body::blocks(cx, body, path);
        return match content
            .iter()
            .position(|b| block_type(b).as_deref() == Some("paragraph"))
        {
            Some(p) => {
                cx.warn(path, "decision letter without a boxed-text description: its first paragraph is the description");
                let d = content.remove(p);
                (vec![d], content)
            }
            None => (Vec::new(), content),
        };
    };
    let Node::Element(b) = &body.children[i] else {
        return (Vec::new(), Vec::new());
    };
    let bpath = format!("{path}/boxed-text");
    let mut description = Vec::new();
    for block in crate::body::blocks(cx, b, &bpath) {
        match block_type(&block).as_deref() {
            Some("paragraph") => description.push(block),
            other => cx.warn(
                &bpath,
                format!("{other:?} block in the description: left out (paragraphs only)"),
            ),
        }
    }
    let rest = Element {
        name: body.name.clone(),
        attrs: body.attrs.clone(),
        children: body
            .children
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, n)| n.clone())
            .collect(),
    };
    (description, crate::body::blocks(cx, &rest, path))
}

/// The Sciety link of an evaluation (`related-object` pointing there).
fn sciety_uri(sub: &Element) -> Option<String> {
    let mut rel = Vec::new();
    sub.descendants("related-object", &["body"], &mut rel);
    rel.iter()
        .filter_map(|r| r.attr("xlink:href"))
        .filter(|h| h.contains("sciety.org"))
        .filter_map(html::safe_url)
        .find(|h| h.starts_with("https://") || h.starts_with("http://"))
}

/// The assessment's controlled terms, lower-cased; terms outside the
/// model's vocabulary are warned about and left out.
fn terms(cx: &mut Cx<'_>, sub: &Element, path: &str, s: &mut SubArticle) {
    const SIGNIFICANCE: [&str; 5] = ["landmark", "fundamental", "important", "valuable", "useful"];
    const STRENGTH: [&str; 6] = [
        "exceptional",
        "compelling",
        "convincing",
        "solid",
        "incomplete",
        "inadequate",
    ];
    let Some(f) = front(sub) else { return };
    for g in f.children_named("kwd-group") {
        let kind = g.attr("kwd-group-type").unwrap_or("");
        let (vocab, out): (&[&str], &mut Vec<String>) = match kind {
            "claim-importance" => (&SIGNIFICANCE, &mut s.significance),
            "evidence-strength" => (&STRENGTH, &mut s.strength),
            _ => {
                cx.warn(
                    format!("{path}/front-stub/kwd-group"),
                    format!("kwd-group type {kind:?} not mapped"),
                );
                continue;
            }
        };
        for k in g.children_named("kwd") {
            let t = k.text().to_lowercase();
            if vocab.contains(&t.as_str()) {
                if !out.contains(&t) {
                    out.push(t);
                }
            } else {
                cx.warn(
                    format!("{path}/front-stub/kwd-group[@kwd-group-type={kind}]/kwd"),
                    format!("{t:?} is not in the model's vocabulary: left out"),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests;
