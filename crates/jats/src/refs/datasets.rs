//! The data-availability section as the model's `dataSets`: the
//! statement's paragraphs (`availability`), and the data sets generated
//! and used, from `element-citation[@publication-type=data]` (2017 on)
//! or `related-object` (older XML) in its paragraphs.
//!
//! Which list a data set goes in is its own `specific-use`
//! (`isSupplementedBy`: generated, `references`: used) or `content-type`
//! (`generated-dataset`, `existing-dataset`), else the paragraph before it
//! ("The following datasets were generated:"), as eLife's converter reads
//! it.

use super::cite::Cite;
use super::{is_false, RefAuthor};
use crate::body::Block;
use crate::cx::Cx;
use crate::xml::{Element, Node};
use serde::Serialize;

/// The model's `dataSets`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DataSets {
    /// The data availability statement.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub availability: Vec<Block>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub generated: Vec<DataSet>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub used: Vec<DataSet>,
}

/// One data set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DataSet {
    pub id: String,
    /// Partial date.
    pub date: String,
    pub authors: Vec<RefAuthor>,
    #[serde(skip_serializing_if = "is_false")]
    pub authors_et_al: bool,
    /// Inline HTML.
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_id: Option<String>,
    /// Inline HTML: the repository when the title is the data set's own,
    /// and any comment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doi: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Generated,
    Used,
}

/// The section: `sec[@sec-type=data-availability]` (or `datasets`, before
/// 2017) anywhere in `back`.
fn section(back: &Element) -> Option<&Element> {
    for ty in ["data-availability", "datasets"] {
        let mut secs = Vec::new();
        back.descendants("sec", &[], &mut secs);
        if let Some(s) = secs.into_iter().find(|s| s.attr("sec-type") == Some(ty)) {
            return Some(s);
        }
    }
    None
}

fn heading_kind(p: &Element) -> Option<Kind> {
    let t = p.text().to_lowercase();
    let t = t.trim_end_matches([':', '.', ' ']);
    if t.ends_with("generated") {
        Some(Kind::Generated)
    } else if t.ends_with("used") {
        Some(Kind::Used)
    } else {
        None
    }
}

fn own_kind(e: &Element) -> Option<Kind> {
    match (e.attr("specific-use"), e.attr("content-type")) {
        (Some("isSupplementedBy" | "generated"), _) | (_, Some("generated-dataset")) => {
            Some(Kind::Generated)
        }
        (Some("references" | "analyzed" | "used"), _) | (_, Some("existing-dataset")) => {
            Some(Kind::Used)
        }
        _ => None,
    }
}

/// The blocks of some children of the section, as `body` makes them.
fn blocks(cx: &mut Cx<'_>, children: Vec<&Element>, path: &str) -> Vec<Block> {
    let holder = Element {
        name: "sec".to_owned(),
        attrs: Vec::new(),
        children: children.into_iter().cloned().map(Node::Element).collect(),
    };
    crate::body::blocks(cx, &holder, path)
}

pub(super) fn data_sets(
    cx: &mut Cx<'_>,
    back: &Element,
    fallback_year: Option<&str>,
) -> Option<DataSets> {
    let sec = section(back)?;
    let path = format!(
        "article/back/sec[@sec-type={}]",
        sec.attr("sec-type").unwrap_or_default()
    );
    let mut out = DataSets::default();
    let mut mode: Option<Kind> = None;
    let mut statement: Vec<&Element> = Vec::new();
    let mut n = 0;
    for e in sec.elements() {
        match e.name.as_str() {
            "title" | "label" => {}
            "p" => {
                let items: Vec<&Element> = e
                    .elements()
                    .filter(|c| {
                        matches!(
                            c.name.as_str(),
                            "element-citation" | "related-object" | "mixed-citation"
                        )
                    })
                    .collect();
                if items.is_empty() {
                    match heading_kind(e) {
                        Some(k) => mode = Some(k),
                        None => statement.push(e),
                    }
                    continue;
                }
                for item in items {
                    n += 1;
                    let ipath = format!("{path}/p/{}[{n}]", item.name);
                    let kind = own_kind(item).or(mode).unwrap_or_else(|| {
                        cx.warn(
                            &ipath,
                            "neither generated nor used (no heading before it): listed as used",
                        );
                        Kind::Used
                    });
                    if let Some(d) = data_set(cx, item, &ipath, n, fallback_year) {
                        match kind {
                            Kind::Generated => out.generated.push(d),
                            Kind::Used => out.used.push(d),
                        }
                    }
                }
            }
            // Nested sections, lists...: part of the statement.
            _ => statement.push(e),
        }
    }
    out.availability = blocks(cx, statement, &path);
    (out != DataSets::default()).then_some(out)
}

fn data_set(
    cx: &mut Cx<'_>,
    e: &Element,
    path: &str,
    n: usize,
    fallback_year: Option<&str>,
) -> Option<DataSet> {
    let mut c = Cite::new(e, path.to_owned());
    let id: String = e
        .attr("id")
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    let id = if id.is_empty() {
        let id = format!("dataset{n}");
        cx.warn(path, format!("data set without an id: {id} given"));
        id
    } else {
        id
    };
    let (date, _, _) = c.date(cx);
    let date = match date.or_else(|| {
        let y = fallback_year?;
        cx.warn(
            path,
            format!("{id}: no year; the article's year {y} given (the model requires a date)"),
        );
        Some(y.to_owned())
    }) {
        Some(d) => d,
        None => {
            cx.warn(path, format!("{id}: no year and no article year: left out"));
            return None;
        }
    };
    let people = c.people(cx);
    let mut people = people
        .into_iter()
        .map(|(_, p)| p)
        .filter(|p| !p.list.is_empty());
    let (authors, authors_et_al) = match people.next() {
        Some(p) => (p.list, p.etal),
        None => {
            let Some(source) = e
                .child("source")
                .map(Element::text)
                .filter(|s| !s.is_empty())
            else {
                cx.warn(
                    path,
                    format!("{id}: no authors and no source to name as one: left out"),
                );
                return None;
            };
            cx.warn(
                path,
                format!("{id}: no authors; its source {source:?} named as the author (the model requires one)"),
            );
            (
                vec![RefAuthor::Group {
                    name: crate::html::escape(&source),
                }],
                false,
            )
        }
    };
    for p in people {
        cx.warn(
            path,
            format!(
                "{id}: more than one group of people; {} left out",
                p.list.len()
            ),
        );
    }
    let data_title = c.html(cx, "data-title");
    let source = c.html(cx, "source");
    let comment = c.html(cx, "comment");
    let data_id = c.data_id();
    let doi = c.doi(cx);
    let uri = c.uri(cx);
    let (title, mut details) = match (data_title, source) {
        (Some(t), s) => (Some(t), s.into_iter().collect::<Vec<_>>()),
        (None, s) => (s, Vec::new()),
    };
    details.extend(comment);
    let details = (!details.is_empty()).then(|| details.join(". "));
    let title = match title
        .or_else(|| data_id.as_deref().map(crate::html::escape))
        .or_else(|| uri.as_deref().map(crate::html::escape))
    {
        Some(t) => t,
        None => {
            cx.warn(path, format!("{id}: no title: left out"));
            return None;
        }
    };
    let left = c.leftover();
    if !left.is_empty() {
        cx.warn(
            path,
            format!(
                "{id}: not in the model's data set, left out: {}",
                left.join(", ")
            ),
        );
    }
    Some(DataSet {
        id,
        date,
        authors,
        authors_et_al,
        title,
        data_id,
        details,
        doi,
        uri,
    })
}
