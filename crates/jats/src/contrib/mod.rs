//! Contributors: authors (people, groups, on-behalf-of), their
//! affiliations as structured addresses, editors and reviewers.
//!
//! The mapping is elife-tools' `authors_json` / `editors_json` as
//! bot-lax-adaptor uses it: footnotes are found through the author's
//! `xref`s and classified by their id's prefix (`con` contribution,
//! `conf` competing interests, `equal-contrib` equal contribution, `pa`
//! present address, `fn` other), group members are either nested in the
//! `<collab>` or "non-byline" authors tied to it by a group-author-key.

mod people;
mod place;
mod reviewers;

pub use place::{Address, Components, Place};
pub use reviewers::Reviewer;

use crate::body::Block;
use crate::cx::Cx;
use crate::front::META;
use crate::xml::Element;
use crate::{Article, Result};
use people::Notes;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

pub(crate) use people::name_from;

/// A person's name, HTML-escaped as elife-tools has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Name {
    /// "Randy Schekman"
    pub preferred: String,
    /// "Schekman, Randy"
    pub index: String,
}

/// What the model allows for any author, person or group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Details {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub affiliations: Vec<Place>,
    /// Other author footnotes (HTML).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub additional_information: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub email_addresses: Vec<String>,
    /// E.164 (`+447700900415`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub phone_numbers: Vec<String>,
    /// HTML.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contribution: Option<String>,
    /// HTML.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub competing_interests: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub equal_contribution_groups: Vec<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub postal_addresses: Vec<Address>,
}

/// A person: an author (`type: person`) or a member of a group.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Person {
    pub name: Name,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub orcid: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub deceased: bool,
    /// HTML.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub biography: Vec<Block>,
    #[serde(flatten)]
    pub details: Details,
}

/// A group author (`<collab>`) and its members.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    pub name: String,
    #[serde(flatten)]
    pub details: Details,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub people: Vec<Person>,
    #[serde(skip_serializing_if = "SubGroups::is_empty")]
    pub groups: SubGroups,
}

/// Named sub-groups of a group, in document order (a JSON object).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SubGroups(pub Vec<(String, Vec<Person>)>);

impl SubGroups {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn push(&mut self, name: &str, p: Person) {
        match self.0.iter_mut().find(|(n, _)| n == name) {
            Some((_, v)) => v.push(p),
            None => self.0.push((name.to_owned(), vec![p])),
        }
    }
}

impl Serialize for SubGroups {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// An author: `person`, `group` or `on-behalf-of`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Author {
    Person(Person),
    Group(Group),
    OnBehalfOf {
        /// HTML.
        #[serde(rename = "onBehalfOf")]
        on_behalf_of: String,
    },
}

pub(crate) fn fill(cx: &mut Cx<'_>, root: &Element, article: &mut Article) -> Result<()> {
    let Some(meta) = root.path("front/article-meta") else {
        return Ok(());
    };
    let notes = Notes::new(root, meta);
    article.authors = authors(cx, &notes, meta);
    article.author_line = author_line(&article.authors);
    article.reviewers = reviewers::reviewers(cx, &notes, root);
    Ok(())
}

/// A contrib's `contrib-id` of one type.
fn contrib_id(contrib: &Element, kind: &str) -> Option<String> {
    contrib
        .children_named("contrib-id")
        .find(|c| c.attr("contrib-id-type") == Some(kind))
        .map(Element::text)
        .filter(|t| !t.is_empty())
}

fn authors(cx: &mut Cx<'_>, notes: &Notes<'_>, meta: &Element) -> Vec<Author> {
    let mut authors: Vec<Author> = Vec::new();
    // (group-author-key, index of the group in `authors`)
    let mut group_keys: Vec<(String, usize)> = Vec::new();
    let mut non_byline: Vec<(&Element, Option<String>, String)> = Vec::new();
    let mut last_key: Option<String> = None;
    let mut n_groups = 0;
    for (gi, cg) in meta.children_named("contrib-group").enumerate() {
        let base = format!("{META}/contrib-group[{}]", gi + 1);
        for (ci, child) in cg.elements().enumerate() {
            let path = format!("{base}/{}[{}]", child.name, ci + 1);
            match child.name.as_str() {
                "contrib" => match child.attr("contrib-type") {
                    None | Some("author") => {
                        if child.child("collab").is_some() {
                            n_groups += 1;
                            let key = contrib_id(child, "group-author-key")
                                .unwrap_or_else(|| format!("group-author-id{n_groups}"));
                            last_key = Some(key.clone());
                            if let Some(g) = people::group(cx, notes, child, &path) {
                                group_keys.push((key, authors.len()));
                                authors.push(Author::Group(g));
                            }
                        } else if let Some(obo) = child.child("on-behalf-of") {
                            push_on_behalf_of(cx, &mut authors, obo, &path);
                        } else {
                            match people::person(cx, notes, child, &path) {
                                Some(p) => authors.push(Author::Person(p)),
                                None => cx.warn(&path, "author without a name: left out"),
                            }
                        }
                    }
                    Some("author non-byline") => {
                        let key =
                            contrib_id(child, "group-author-key").or_else(|| last_key.clone());
                        non_byline.push((child, key, path));
                    }
                    // Editors and reviewers: see `reviewers`.
                    Some("editor" | "senior_editor" | "reviewer") => {}
                    Some(other) => {
                        cx.warn(
                            &path,
                            format!("contrib-type {other:?} not mapped: left out"),
                        );
                    }
                },
                "on-behalf-of" => push_on_behalf_of(cx, &mut authors, child, &path),
                // Affiliations are reached through the authors' xrefs.
                "aff" | "aff-alternatives" | "xref" => {}
                other => cx.warn(
                    &path,
                    format!("<{other}> in a contrib-group not mapped: left out"),
                ),
            }
        }
    }
    for (el, key, path) in non_byline {
        let idx = key
            .as_ref()
            .and_then(|k| group_keys.iter().find(|(gk, _)| gk == k))
            .map(|(_, i)| *i);
        let member = people::member(cx, notes, el, &path);
        match (idx.and_then(|i| authors.get_mut(i)), member) {
            (Some(Author::Group(g)), Some(p)) => g.people.push(p),
            (_, None) => cx.warn(&path, "group member without a name: left out"),
            _ => cx.warn(
                &path,
                format!("non-byline author of no group (key {key:?}): left out"),
            ),
        }
    }
    for a in &mut authors {
        if let Author::Group(g) = a {
            people::one_kind_of_members(cx, g);
        }
    }
    authors
}

fn push_on_behalf_of(cx: &mut Cx<'_>, authors: &mut Vec<Author>, el: &Element, path: &str) {
    let h = crate::html::inline(cx, el, path);
    if h.is_empty() {
        cx.warn(path, "empty on-behalf-of: left out");
    } else {
        authors.push(Author::OnBehalfOf { on_behalf_of: h });
    }
}

/// eLife's author line (elife-tools `format_author_line`, "ellipsis"
/// style): up to three names in full, else the first two, `...` and the
/// last ("A, B ... Z"). Groups count by name; on-behalf-of does not.
pub(crate) fn author_line(authors: &[Author]) -> Option<String> {
    let names: Vec<&str> = authors
        .iter()
        .filter_map(|a| match a {
            Author::Person(p) => Some(p.name.preferred.as_str()),
            Author::Group(g) => Some(g.name.as_str()),
            Author::OnBehalfOf { .. } => None,
        })
        .collect();
    match names.len() {
        0 => None,
        1..=3 => Some(names.join(", ")),
        n => Some(format!("{} ... {}", names[..2].join(", "), names[n - 1])),
    }
}

#[cfg(test)]
mod tests;
