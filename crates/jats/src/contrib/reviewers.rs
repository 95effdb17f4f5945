//! Editors and reviewers: every `contrib` of type `editor`,
//! `senior_editor` or `reviewer`, in the front matter and in the
//! sub-articles (decision letters list the reviewers), as elife-tools'
//! `editors_json` with its clean-ups: "Reviewing editor" capitalised, the
//! same person in the same role once, and a Senior Editor who is also the
//! Reviewing Editor as one "Senior and Reviewing Editor".

use super::people::{name_from, orcid, Notes};
use super::place::Place;
use super::Name;
use crate::cx::Cx;
use crate::front::META;
use crate::xml::Element;
use serde::Serialize;

/// The model's reviewer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reviewer {
    pub name: Name,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub orcid: Option<String>,
    pub role: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub affiliations: Vec<Place>,
}

/// Every editor/reviewer contrib with its path.
fn contribs<'a>(root: &'a Element) -> Vec<(&'a Element, String)> {
    let mut out = Vec::new();
    let mut from = |holder: Option<&'a Element>, base: String| {
        let Some(h) = holder else { return };
        for (gi, cg) in h.children_named("contrib-group").enumerate() {
            for (ci, c) in cg.children_named("contrib").enumerate() {
                if matches!(
                    c.attr("contrib-type"),
                    Some("editor" | "senior_editor" | "reviewer")
                ) {
                    out.push((
                        c,
                        format!("{base}/contrib-group[{}]/contrib[{}]", gi + 1, ci + 1),
                    ));
                }
            }
        }
    };
    from(root.path("front/article-meta"), META.to_owned());
    for (si, sub) in root.children_named("sub-article").enumerate() {
        let base = format!("article/sub-article[{}]", si + 1);
        from(sub.child("front-stub"), format!("{base}/front-stub"));
        from(
            sub.path("front/article-meta"),
            format!("{base}/front/article-meta"),
        );
    }
    out
}

fn role(contrib: &Element) -> String {
    let written = contrib
        .child("role")
        .map(Element::text)
        .filter(|r| !r.is_empty());
    match written.as_deref() {
        Some("Reviewing editor") => "Reviewing Editor".to_owned(),
        Some("Senior editor") => "Senior Editor".to_owned(),
        Some(r) => r.to_owned(),
        None => match contrib.attr("contrib-type") {
            Some("senior_editor") => "Senior Editor",
            Some("reviewer") => "Reviewer",
            _ => "Reviewing Editor",
        }
        .to_owned(),
    }
}

pub(crate) fn reviewers(cx: &mut Cx<'_>, notes: &Notes<'_>, root: &Element) -> Vec<Reviewer> {
    let mut out: Vec<Reviewer> = Vec::new();
    for (c, path) in contribs(root) {
        let name_el = c
            .child("name")
            .or_else(|| c.path("name-alternatives/name"))
            .or_else(|| c.child("string-name"));
        let Some(name) = name_el.and_then(|n| name_from(cx, n, &format!("{path}/name"))) else {
            cx.warn(
                &path,
                "editor or reviewer without a name (anonymous): left out",
            );
            continue;
        };
        let orcid = orcid(cx, c, &path);
        let role = role(c);
        let (details, _) = super::people::details(cx, notes, c, &path);
        let r = Reviewer {
            name,
            orcid,
            role,
            affiliations: details.affiliations,
        };
        if out
            .iter()
            .any(|o| o.role == r.role && o.name.index == r.name.index)
        {
            continue;
        }
        out.push(r);
    }
    // The same person as Senior Editor and Reviewing Editor: one entry.
    let mut i = 0;
    while i < out.len() {
        if matches!(out[i].role.as_str(), "Senior Editor" | "Reviewing Editor") {
            let twin = (i + 1..out.len()).find(|&j| {
                out[j].name.index == out[i].name.index
                    && matches!(out[j].role.as_str(), "Senior Editor" | "Reviewing Editor")
                    && out[j].role != out[i].role
            });
            if let Some(j) = twin {
                let other = out.remove(j);
                let first = &mut out[i];
                first.role = "Senior and Reviewing Editor".to_owned();
                first.orcid = first.orcid.take().or(other.orcid);
                if first.affiliations.is_empty() {
                    first.affiliations = other.affiliations;
                }
            }
        }
        i += 1;
    }
    out
}
