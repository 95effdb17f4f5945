//! `<aff>` → the model's place: `{name: [..], address: {formatted, components}}`.
//!
//! As elife-tools: the name is the department(s) then the institution(s)
//! (also inside `institution-wrap`), the address the city and country. We
//! also keep street, state and postal code when the XML has them, and an
//! affiliation written as bare text (no `<institution>`) keeps its text as
//! the name instead of being lost.

use crate::cx::Cx;
use crate::html;
use crate::xml::{Element, Node};
use serde::Serialize;

/// The model's place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Place {
    pub name: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
}

/// The model's address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Address {
    pub formatted: Vec<String>,
    pub components: Components,
}

/// The model's address components (at least one).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Components {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub street_address: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub locality: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub area: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
}

impl Address {
    /// A one-line address (a present address footnote).
    pub fn street(text: String) -> Address {
        Address {
            formatted: vec![text.clone()],
            components: Components {
                street_address: vec![text],
                ..Components::default()
            },
        }
    }
}

/// What an address part is, from its element and `content-type`.
enum Part {
    Street,
    City,
    Area,
    Postcode,
    Country,
}

fn part_of(e: &Element) -> Option<Part> {
    match (e.name.as_str(), e.attr("content-type")) {
        ("city", _) | ("named-content", Some("city")) => Some(Part::City),
        ("country", _) => Some(Part::Country),
        ("state", _) | ("named-content", Some("state" | "province" | "county" | "region")) => {
            Some(Part::Area)
        }
        ("postal-code", _) | ("named-content", Some("postcode" | "postal-code" | "zip")) => {
            Some(Part::Postcode)
        }
        ("named-content", Some("street" | "street-address" | "address")) => Some(Part::Street),
        _ => None,
    }
}

/// The aff's text with the named elements removed, for affiliations
/// written as bare text.
fn strip(e: &Element, skip: &[&str]) -> Element {
    Element {
        name: e.name.clone(),
        attrs: e.attrs.clone(),
        children: e
            .children
            .iter()
            .filter_map(|n| match n {
                Node::Element(c) if skip.contains(&c.name.as_str()) || part_of(c).is_some() => None,
                Node::Element(c) => Some(Node::Element(strip(c, skip))),
                Node::Text(t) => Some(Node::Text(t.clone())),
            })
            .collect(),
    }
}

/// A place from an `<aff>`; `None` (with a warning) when it has nothing
/// usable.
pub(crate) fn place(cx: &mut Cx<'_>, aff: &Element, path: &str) -> Option<Place> {
    let mut name = Vec::new();
    let mut institutions = Vec::new();
    aff.descendants("institution", &["label"], &mut institutions);
    // Departments first (elife-tools' order), then the institutions.
    for inst in institutions
        .iter()
        .filter(|i| i.attr("content-type") == Some("dept"))
        .chain(
            institutions
                .iter()
                .filter(|i| i.attr("content-type") != Some("dept")),
        )
    {
        let h = html::inline(cx, inst, &format!("{path}/institution"));
        if !h.is_empty() && !name.contains(&h) {
            name.push(h);
        }
    }
    let mut c = Components::default();
    let mut parts: Vec<(Part, String)> = Vec::new();
    collect_parts(cx, aff, path, &mut parts);
    for (kind, text) in parts {
        match kind {
            Part::Street => c.street_address.push(text),
            Part::City => c.locality.push(text),
            Part::Area => c.area.push(text),
            Part::Postcode => c.postal_code = c.postal_code.or(Some(text)),
            Part::Country => c.country = c.country.or(Some(text)),
        }
    }
    if name.is_empty() {
        // Bare-text affiliation ("Department of X, University Y, City"):
        // its text, without label, email and the address parts above.
        let bare = strip(aff, &["label", "email", "institution-id", "xref", "sup"]);
        let text = html::inline(cx, &bare, path);
        let text = text.trim_matches(|ch: char| ch == ',' || ch == ';' || ch.is_whitespace());
        if !text.is_empty() {
            name.push(text.to_owned());
        }
    }
    let mut formatted: Vec<String> = Vec::new();
    formatted.extend(c.street_address.iter().cloned());
    formatted.extend(c.locality.iter().cloned());
    formatted.extend(c.area.iter().cloned());
    formatted.extend(c.postal_code.iter().cloned());
    formatted.extend(c.country.iter().cloned());
    let address = (!formatted.is_empty()).then_some(Address {
        formatted,
        components: c,
    });
    if name.is_empty() {
        match &address {
            // An address alone is still a place: the city/country names it.
            Some(a) => name = a.formatted.clone(),
            None => {
                cx.warn(path, "affiliation without institution or text: left out");
                return None;
            }
        }
    }
    Some(Place { name, address })
}

fn collect_parts(cx: &mut Cx<'_>, e: &Element, path: &str, out: &mut Vec<(Part, String)>) {
    for c in e.elements() {
        if c.name == "label" {
            continue;
        }
        match part_of(c) {
            Some(kind) => {
                let t = html::inline(cx, c, &format!("{path}/{}", c.name));
                if !t.is_empty() {
                    out.push((kind, t));
                }
            }
            None if c.name == "addr-line" && !has_part(c) => {
                // A free-text address line ("Cambridge, MA").
                let t = html::inline(cx, c, &format!("{path}/addr-line"));
                if !t.is_empty() {
                    out.push((Part::Street, t));
                }
            }
            None => collect_parts(cx, c, path, out),
        }
    }
}

fn has_part(e: &Element) -> bool {
    e.elements().any(|c| part_of(c).is_some() || has_part(c))
}
