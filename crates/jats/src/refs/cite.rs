//! Reading one citation element (`element-citation`, `mixed-citation`,
//! or a data set's `related-object`): its parts, normalised to what the
//! model accepts (partial dates, DOIs, PMIDs, ISBN-13, absolute links,
//! page ranges), remembering which parts were used so that whatever the
//! target type has no place for can be named in a warning.

use super::{Address, AddressComponents, Name, Pages, Place, RefAuthor};
use crate::cx::Cx;
use crate::html;
use crate::xml::Element;
use std::collections::BTreeSet;

/// Children that carry no content of their own.
const NOISE: &[&str] = &["x", "label"];

/// One group of people (`person-group[@person-group-type]`).
#[derive(Debug, Default, Clone)]
pub(super) struct People {
    pub list: Vec<RefAuthor>,
    pub etal: bool,
}

/// A citation being read.
pub(super) struct Cite<'a> {
    pub el: &'a Element,
    pub path: String,
    used: BTreeSet<String>,
}

/// Key of a child for the used set: `pub-id[doi]`, `source`...
fn key(e: &Element) -> String {
    match e.name.as_str() {
        "pub-id" | "object-id" => {
            format!("{}[{}]", e.name, e.attr("pub-id-type").unwrap_or_default())
        }
        _ => e.name.clone(),
    }
}

impl<'a> Cite<'a> {
    pub fn new(el: &'a Element, path: String) -> Self {
        Cite {
            el,
            path,
            used: BTreeSet::new(),
        }
    }

    /// Forget what was used (to read the citation again as `unknown`).
    pub fn reset(&mut self) {
        self.used.clear();
    }

    pub fn mark(&mut self, e: &Element) {
        self.used.insert(key(e));
    }

    /// The first child with this name, marked used.
    pub fn get(&mut self, name: &str) -> Option<&'a Element> {
        let e = self.el.child(name)?;
        self.mark(e);
        Some(e)
    }

    /// A child's text, if not empty.
    pub fn text(&mut self, name: &str) -> Option<String> {
        self.get(name).map(Element::text).filter(|t| !t.is_empty())
    }

    /// A child's content as inline HTML, if not empty.
    pub fn html(&mut self, cx: &mut Cx<'_>, name: &str) -> Option<String> {
        let e = self.get(name)?;
        let s = html::inline(cx, e, &format!("{}/{name}", self.path));
        (!s.is_empty()).then_some(s)
    }

    /// The first `pub-id` / `object-id` of a type, marked used.
    pub fn pub_id(&mut self, name: &str, ty: &str) -> Option<&'a Element> {
        let el = self.el;
        let e = el
            .elements()
            .find(|e| e.name == name && e.attr("pub-id-type") == Some(ty))?;
        self.mark(e);
        Some(e)
    }

    /// Children not used, by key, in document order, without repeats.
    pub fn leftover(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for e in self.el.elements() {
            let k = key(e);
            if NOISE.contains(&e.name.as_str()) || self.used.contains(&k) || out.contains(&k) {
                continue;
            }
            if e.text().is_empty() && e.attrs.is_empty() {
                continue;
            }
            out.push(k);
        }
        out
    }

    /// The unused children themselves (for an `unknown` reference's
    /// details).
    pub fn leftover_elements(&self) -> Vec<&'a Element> {
        self.el
            .elements()
            .filter(|e| !NOISE.contains(&e.name.as_str()) && !self.used.contains(&key(e)))
            .collect()
    }

    /// The people of the citation by group type (`author`, `editor`,
    /// `inventor`...), in the order the groups appear. A `collab` outside
    /// any `person-group` (older XML) is an author.
    pub fn people(&mut self, cx: &mut Cx<'_>) -> Vec<(String, People)> {
        let mut out: Vec<(String, People)> = Vec::new();
        let el = self.el;
        for (i, g) in el.children_named("person-group").enumerate() {
            self.mark(g);
            let ty = g
                .attr("person-group-type")
                .filter(|t| !t.trim().is_empty())
                .unwrap_or("author")
                .trim()
                .to_owned();
            let gpath = format!("{}/person-group[{}]", self.path, i + 1);
            let pos = match out.iter().position(|(t, _)| *t == ty) {
                Some(p) => p,
                None => {
                    out.push((ty, People::default()));
                    out.len() - 1
                }
            };
            for e in g.elements() {
                match e.name.as_str() {
                    "etal" => out[pos].1.etal = true,
                    "x" | "label" => {}
                    _ => match author(cx, e, &gpath) {
                        Some(a) => out[pos].1.list.push(a),
                        None => cx.warn(
                            format!("{gpath}/{}", e.name),
                            "not a name or collab: left out of the reference's people",
                        ),
                    },
                }
            }
        }
        let loose: Vec<&Element> = el
            .elements()
            .filter(|e| matches!(e.name.as_str(), "collab" | "name" | "string-name" | "etal"))
            .collect();
        if !loose.is_empty() {
            let pos = match out.iter().position(|(t, _)| t == "author") {
                Some(p) => p,
                None => {
                    out.push(("author".to_owned(), People::default()));
                    out.len() - 1
                }
            };
            let path = self.path.clone();
            for e in loose {
                self.mark(e);
                if e.name == "etal" {
                    out[pos].1.etal = true;
                } else if let Some(a) = author(cx, e, &path) {
                    out[pos].1.list.push(a);
                }
            }
        }
        out
    }

    /// `year` (or `string-date/year`) as a partial date, its
    /// discriminator letter, and whether it says "in press".
    pub fn date(&mut self, cx: &mut Cx<'_>) -> (Option<String>, Option<String>, bool) {
        let year = match self.get("year") {
            Some(y) => Some(y),
            None => self.get("string-date").and_then(|s| s.child("year")),
        };
        let Some(year) = year else {
            return (None, None, false);
        };
        let t = year.text();
        let iso = year
            .attr("iso-8601-date")
            .map(str::trim)
            .filter(|d| is_partial_date(d));
        if t.to_lowercase().contains("in press") {
            return (iso.map(str::to_owned), None, true);
        }
        let digits: String = t.chars().take_while(char::is_ascii_digit).collect();
        let rest = &t[digits.len()..];
        if digits.len() == 4 && is_partial_date(&digits) {
            if rest.is_empty() {
                let date = iso.filter(|d| d.starts_with(&digits)).unwrap_or(&digits);
                return (Some(date.to_owned()), None, false);
            }
            if rest.chars().all(|c| c.is_ascii_lowercase()) {
                return (Some(digits), Some(rest.to_owned()), false);
            }
        }
        if let Some(d) = iso {
            return (Some(d.to_owned()), None, false);
        }
        // "1998–1999", "2000, 2005", "c. 1850": the first year in it.
        let first = t
            .split(|c: char| !c.is_ascii_digit())
            .find(|w| w.len() == 4 && is_partial_date(w));
        if let Some(y) = first {
            cx.warn(
                format!("{}/year", self.path),
                format!("year {t:?} is not a year: {y} used"),
            );
            return (Some(y.to_owned()), None, false);
        }
        (None, None, false)
    }

    /// Pages from `elocation-id`, `fpage`/`lpage`, or "in press" in a
    /// `comment` or the year.
    pub fn pages(&mut self, in_press: bool) -> Option<Pages> {
        let mut f = self.text("fpage");
        let l = self.text("lpage");
        if let Some(e) = self.text("elocation-id") {
            // `<elocation-id>E4913</elocation-id><lpage>E4921</lpage>`:
            // the electronic id is the first page of a range.
            if f.is_some() || l.is_none() {
                return Some(Pages::Text(e));
            }
            f = Some(e);
        }
        if let Some(r) = self.text("page-range") {
            return Some(Pages::Text(r));
        }
        let plain =
            |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '.');
        match (f, l) {
            (Some(f), Some(l)) if plain(&f) && plain(&l) => Some(Pages::Range {
                range: format!("{f}\u{2013}{l}"),
                first: f,
                last: l,
            }),
            (Some(f), Some(l)) => Some(Pages::Text(format!("{f}\u{2013}{l}"))),
            (Some(p), None) | (None, Some(p)) => Some(Pages::Text(p)),
            (None, None) => {
                let comment_in_press = self
                    .el
                    .child("comment")
                    .is_some_and(|c| c.text().to_lowercase().contains("in press"));
                if comment_in_press {
                    self.get("comment");
                }
                (comment_in_press || in_press).then(|| Pages::Text("In press".to_owned()))
            }
        }
    }

    /// The DOI (`pub-id[@pub-id-type=doi]`, else an `ext-link` of type
    /// doi), normalised; a malformed one is dropped with a warning.
    pub fn doi(&mut self, cx: &mut Cx<'_>) -> Option<String> {
        let raw = match self.pub_id("pub-id", "doi") {
            Some(e) => {
                let t = e.text();
                if t.is_empty() {
                    e.attr("xlink:href").unwrap_or_default().to_owned()
                } else {
                    t
                }
            }
            None => {
                // Older XML links the DOI: `ext-link[@ext-link-type=doi]`,
                // or a uri link to a DOI resolver (2012).
                let e = self.el.children_named("ext-link").find(|e| {
                    e.attr("ext-link-type") == Some("doi")
                        || e.attr("xlink:href").is_some_and(|h| {
                            let n = normalise_doi(h);
                            n.len() < h.trim().len() && is_doi(&n)
                        })
                })?;
                self.mark(e);
                e.attr("xlink:href")
                    .map(str::to_owned)
                    .unwrap_or_else(|| e.text())
            }
        };
        let doi = normalise_doi(&raw);
        if is_doi(&doi) {
            Some(doi)
        } else {
            cx.warn(
                format!("{}/pub-id", self.path),
                format!("DOI {raw:?} is malformed: left out"),
            );
            None
        }
    }

    /// The PMID, if a positive integer.
    pub fn pmid(&mut self, cx: &mut Cx<'_>) -> Option<u64> {
        let t = self.pub_id("pub-id", "pmid")?.text();
        match t.parse::<u64>() {
            Ok(n) if n > 0 => Some(n),
            _ => {
                cx.warn(
                    format!("{}/pub-id", self.path),
                    format!("PMID {t:?} is not a number: left out"),
                );
                None
            }
        }
    }

    /// The ISBN as ISBN-13 digits.
    pub fn isbn(&mut self, cx: &mut Cx<'_>) -> Option<String> {
        let t = self.pub_id("pub-id", "isbn")?.text();
        let isbn = isbn13(&t);
        if isbn.is_none() {
            cx.warn(
                format!("{}/pub-id", self.path),
                format!("ISBN {t:?} is malformed: left out"),
            );
        }
        isbn
    }

    /// The link: the first `ext-link` (not a DOI) or `uri`, else an
    /// archive or accession `pub-id`'s link; only safe absolute links.
    pub fn uri(&mut self, cx: &mut Cx<'_>) -> Option<String> {
        let el = self.el;
        let link = el
            .elements()
            .find(|e| {
                (e.name == "ext-link" && e.attr("ext-link-type") != Some("doi")) || e.name == "uri"
            })
            .or_else(|| {
                el.children_named("pub-id").find(|e| {
                    matches!(e.attr("pub-id-type"), Some("archive" | "accession"))
                        && e.attr("xlink:href").is_some()
                })
            })?;
        if link.name != "pub-id" {
            self.mark(link);
        }
        let raw = link
            .attr("xlink:href")
            .map(str::to_owned)
            .unwrap_or_else(|| link.text());
        clean_uri(cx, &format!("{}/{}", self.path, link.name), &raw)
    }

    /// `publisher-name` and `publisher-loc` as a place.
    pub fn publisher(&mut self) -> Option<Place> {
        let name = self.text("publisher-name")?;
        let loc = self.text("publisher-loc");
        Some(place(name, loc))
    }

    /// The data ID: `object-id[art-access-id]`, else an accession or
    /// archive `pub-id`.
    pub fn data_id(&mut self) -> Option<String> {
        for (name, ty) in [
            ("object-id", "art-access-id"),
            ("pub-id", "accession"),
            ("pub-id", "archive"),
        ] {
            if let Some(e) = self.pub_id(name, ty) {
                let t = e.text();
                if !t.is_empty() {
                    return Some(t);
                }
            }
        }
        None
    }
}

/// A place from a name and an optional locality.
pub(super) fn place(name: String, loc: Option<String>) -> Place {
    Place {
        name: vec![name],
        address: loc.map(|l| Address {
            formatted: vec![l.clone()],
            components: AddressComponents { locality: vec![l] },
        }),
    }
}

/// A `name`, `string-name` or `collab` as a reference author.
pub(super) fn author(cx: &mut Cx<'_>, e: &Element, path: &str) -> Option<RefAuthor> {
    match e.name.as_str() {
        "name" | "string-name" => {
            let part = |n: &str| e.child(n).map(Element::text).filter(|t| !t.is_empty());
            let (surname, given, suffix) = (part("surname"), part("given-names"), part("suffix"));
            if surname.is_none() && given.is_none() {
                let t = e.text();
                return (!t.is_empty()).then(|| RefAuthor::Person {
                    name: Name {
                        preferred: t.clone(),
                        index: t,
                    },
                });
            }
            let parts: Vec<String> = [surname, given, suffix].into_iter().flatten().collect();
            Some(RefAuthor::Person {
                name: Name {
                    preferred: parts.join(" "),
                    index: parts.join(", "),
                },
            })
        }
        "collab" => {
            let name = html::inline(cx, e, &format!("{path}/collab"));
            (!name.is_empty()).then_some(RefAuthor::Group { name })
        }
        _ => None,
    }
}

/// `YYYY`, `YYYY-MM` or `YYYY-MM-DD` with a plausible month and day (the
/// model's partial date).
pub(crate) fn is_partial_date(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let num = |p: &str, len: usize| p.len() == len && p.bytes().all(|b| b.is_ascii_digit());
    let in_range =
        |p: &str, lo: u32, hi: u32| p.parse::<u32>().is_ok_and(|n| (lo..=hi).contains(&n));
    match parts.as_slice() {
        [y, rest @ ..] if num(y, 4) && (y.starts_with('1') || y.starts_with('2')) => match rest {
            [] => true,
            [m] => num(m, 2) && in_range(m, 1, 12),
            [m, d] => num(m, 2) && in_range(m, 1, 12) && num(d, 2) && in_range(d, 1, 31),
            _ => false,
        },
        _ => false,
    }
}

/// A DOI without its resolver prefix.
pub(super) fn normalise_doi(raw: &str) -> String {
    let t = raw.trim();
    let lower = t.to_ascii_lowercase();
    for prefix in [
        "https://doi.org/",
        "http://doi.org/",
        "https://dx.doi.org/",
        "http://dx.doi.org/",
        "doi:",
    ] {
        if lower.starts_with(prefix) {
            return t[prefix.len()..].trim().to_owned();
        }
    }
    t.to_owned()
}

/// The model's DOI: `10.NNNN[...]/suffix`, no whitespace or quotes.
pub(super) fn is_doi(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("10.") else {
        return false;
    };
    let Some((prefix, suffix)) = rest.split_once('/') else {
        return false;
    };
    let digits = prefix.bytes().take_while(u8::is_ascii_digit).count();
    digits >= 4
        && !prefix.contains(|c: char| c.is_whitespace() || "\"<>".contains(c))
        && !suffix.is_empty()
        && !suffix.contains(|c: char| c.is_whitespace() || c == '"')
}

/// An ISBN-10 or ISBN-13 (hyphens and spaces ignored) as ISBN-13 digits.
pub(super) fn isbn13(raw: &str) -> Option<String> {
    let s: String = raw
        .trim()
        .trim_start_matches("ISBN")
        .trim_start_matches(':')
        .chars()
        .filter(|c| !matches!(c, '-' | ' ' | '\u{2010}' | '\u{2013}'))
        .collect();
    if !s.is_ascii() {
        return None;
    }
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if s.len() == 13 && digits(&s) && (s.starts_with("978") || s.starts_with("979")) {
        return Some(s);
    }
    if s.len() == 10 && digits(&s[..9]) && (digits(&s[9..]) || &s[9..] == "X") {
        let body = format!("978{}", &s[..9]);
        let sum: u32 = body
            .bytes()
            .enumerate()
            .map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 1 } else { 3 })
            .sum();
        return Some(format!("{body}{}", (10 - sum % 10) % 10));
    }
    None
}

/// A link the model accepts (an absolute URI) and a page may carry:
/// `doi:` and `www.` forms are completed, unsafe schemes and relative
/// links are dropped with a warning.
pub(super) fn clean_uri(cx: &mut Cx<'_>, path: &str, raw: &str) -> Option<String> {
    let t = raw.trim();
    if t.is_empty() {
        return None;
    }
    let fixed = if t.to_ascii_lowercase().starts_with("doi:") {
        crate::html::doi_url(&t[4..])
    } else if t.to_ascii_lowercase().starts_with("www.") {
        format!("http://{t}")
    } else {
        t.to_owned()
    };
    let Some(safe) = html::safe_url(&fixed) else {
        cx.warn(
            path,
            format!("link {raw:?} dropped: only http, https, mailto and ftp links are kept"),
        );
        return None;
    };
    let lower = safe.to_ascii_lowercase();
    let absolute = ["http://", "https://", "ftp://"]
        .iter()
        .any(|p| lower.starts_with(p) && lower.len() > p.len())
        || lower.starts_with("mailto:");
    if !absolute {
        cx.warn(
            path,
            format!("link {raw:?} dropped: not an absolute http, https or ftp link"),
        );
        return None;
    }
    Some(
        safe.replace(' ', "%20")
            .replace('"', "%22")
            .replace('<', "%3C")
            .replace('>', "%3E"),
    )
}
