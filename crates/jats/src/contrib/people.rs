//! One contributor: name, ORCID, affiliations, correspondence and the
//! author footnotes an author's `xref`s point at.

use super::place::{place, Address, Place};
use super::{Details, Group, Name, Person, SubGroups};
use crate::cx::Cx;
use crate::html;
use crate::xml::{Element, Node};
use std::collections::HashMap;

/// Everything an author's `xref`s can point at, found once per document.
pub(crate) struct Notes<'a> {
    affs: HashMap<&'a str, &'a Element>,
    fns: HashMap<&'a str, &'a Element>,
    corresps: HashMap<&'a str, &'a Element>,
    /// equal-contrib footnote id → the model's group number.
    equal: HashMap<String, u32>,
}

fn by_id<'a>(root: &'a Element, name: &str) -> HashMap<&'a str, &'a Element> {
    let mut all = Vec::new();
    root.descendants(name, &[], &mut all);
    let mut map = HashMap::new();
    for e in all {
        if let Some(id) = e.attr("id") {
            map.entry(id).or_insert(e);
        }
    }
    map
}

/// The `xref`s of a contrib itself, not of the members nested in it.
fn xrefs(contrib: &Element) -> Vec<&Element> {
    let mut out = Vec::new();
    contrib.descendants("xref", &["collab", "contrib-group"], &mut out);
    out
}

impl<'a> Notes<'a> {
    pub(crate) fn new(root: &'a Element, meta: &'a Element) -> Notes<'a> {
        // Equal contribution groups: numbered in the order of their ids
        // (as elife-tools), kept only when two or more authors share one
        // (as the model says).
        let mut contribs = Vec::new();
        meta.descendants("contrib", &[], &mut contribs);
        let mut count: HashMap<&str, usize> = HashMap::new();
        for c in &contribs {
            let mut seen = Vec::new();
            for x in xrefs(c) {
                if let Some(rid) = x.attr("rid").filter(|r| r.starts_with("equal-contrib")) {
                    if !seen.contains(&rid) {
                        seen.push(rid);
                        *count.entry(rid).or_default() += 1;
                    }
                }
            }
        }
        let mut keys: Vec<&str> = count
            .iter()
            .filter(|(_, n)| **n >= 2)
            .map(|(k, _)| *k)
            .collect();
        keys.sort_unstable();
        let equal = keys
            .into_iter()
            .zip(1u32..)
            .map(|(k, n)| (k.to_owned(), n))
            .collect();
        Notes {
            affs: by_id(root, "aff"),
            fns: by_id(root, "fn"),
            corresps: by_id(root, "corresp"),
            equal,
        }
    }
}

/// A name from `<name>` (surname, given-names, suffix) or `<string-name>`.
pub(crate) fn name_from(cx: &mut Cx<'_>, el: &Element, path: &str) -> Option<Name> {
    let mut part = |n: &str| {
        el.child(n)
            .map(|c| html::inline(cx, c, &format!("{path}/{n}")))
            .filter(|t| !t.is_empty())
    };
    let (surname, given, suffix) = (part("surname"), part("given-names"), part("suffix"));
    if surname.is_none() && given.is_none() {
        // `<string-name>`, or a name written as bare text.
        let t = html::inline(cx, el, path);
        return (!t.is_empty()).then(|| Name {
            preferred: t.clone(),
            index: t,
        });
    }
    let join = |parts: [&Option<String>; 3], sep: &str| {
        parts
            .iter()
            .filter_map(|p| p.as_deref())
            .collect::<Vec<_>>()
            .join(sep)
    };
    Some(Name {
        preferred: join([&given, &surname, &suffix], " "),
        index: join([&surname, &given, &suffix], ", "),
    })
}

/// A contrib's name element.
fn name_el(contrib: &Element) -> Option<&Element> {
    contrib
        .child("name")
        .or_else(|| contrib.path("name-alternatives/name"))
        .or_else(|| contrib.child("string-name"))
}

/// `0000-0002-1825-0097`, from the bare id or an orcid.org URL.
pub(crate) fn orcid(cx: &mut Cx<'_>, contrib: &Element, path: &str) -> Option<String> {
    let raw = super::contrib_id(contrib, "orcid")?;
    let id = raw
        .trim()
        .trim_start_matches("https://orcid.org/")
        .trim_start_matches("http://orcid.org/")
        .trim_end_matches('/')
        .to_owned();
    let b = id.as_bytes();
    let ok = b.len() == 19
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 9 | 14 => *c == b'-',
            18 => c.is_ascii_digit() || *c == b'X',
            _ => c.is_ascii_digit(),
        });
    if ok {
        Some(id)
    } else {
        cx.warn(
            format!("{path}/contrib-id"),
            format!("{raw:?} is not an ORCID: left out"),
        );
        None
    }
}

/// An author who is a person; `None` when there is no name.
pub(crate) fn person(
    cx: &mut Cx<'_>,
    notes: &Notes<'_>,
    contrib: &Element,
    path: &str,
) -> Option<Person> {
    let name = name_from(cx, name_el(contrib)?, &format!("{path}/name"))?;
    let orcid = orcid(cx, contrib, path);
    let role = contrib
        .child("role")
        .map(|r| html::inline(cx, r, &format!("{path}/role")))
        .filter(|r| !r.is_empty());
    let biography = match contrib.child("bio") {
        Some(b) => crate::body::blocks(cx, b, &format!("{path}/bio")),
        None => Vec::new(),
    };
    let (details, deceased_note) = details(cx, notes, contrib, path);
    let deceased = matches!(contrib.attr("deceased"), Some("yes" | "true" | "1")) || deceased_note;
    Some(Person {
        name,
        orcid,
        deceased,
        role,
        biography,
        details,
    })
}

/// A member of a group: a person, or a group nested in the group, which
/// the model cannot hold and bot-lax-adaptor turns into a person named
/// after the group.
pub(crate) fn member(
    cx: &mut Cx<'_>,
    notes: &Notes<'_>,
    contrib: &Element,
    path: &str,
) -> Option<Person> {
    match contrib.child("collab") {
        Some(collab) if name_el(contrib).is_none() => {
            let name = collab_name(cx, collab, &format!("{path}/collab"))?;
            let (details, _) = details(cx, notes, contrib, path);
            Some(Person {
                name: Name {
                    preferred: name.clone(),
                    index: name,
                },
                orcid: None,
                deceased: false,
                role: None,
                biography: Vec::new(),
                details,
            })
        }
        _ => person(cx, notes, contrib, path),
    }
}

/// A collab's own name, without the members nested in it.
fn collab_name(cx: &mut Cx<'_>, collab: &Element, path: &str) -> Option<String> {
    let own = Element {
        name: collab.name.clone(),
        attrs: Vec::new(),
        children: collab
            .children
            .iter()
            .filter(|n| !matches!(n, Node::Element(e) if e.name == "contrib-group"))
            .cloned()
            .collect(),
    };
    let h = html::inline(cx, &own, path);
    (!h.is_empty()).then_some(h)
}

/// A group author and the members nested in its `<collab>` (by sub-group
/// when their contrib-group has a `<role>`).
pub(crate) fn group(
    cx: &mut Cx<'_>,
    notes: &Notes<'_>,
    contrib: &Element,
    path: &str,
) -> Option<Group> {
    let collab = contrib.child("collab")?;
    let cpath = format!("{path}/collab");
    let Some(name) = collab_name(cx, collab, &cpath) else {
        cx.warn(&cpath, "group author without a name: left out");
        return None;
    };
    let (details, _) = details(cx, notes, contrib, path);
    let mut g = Group {
        name,
        details,
        people: Vec::new(),
        groups: SubGroups::default(),
    };
    for (gi, cg) in collab.children_named("contrib-group").enumerate() {
        let sub = cg
            .child("role")
            .map(Element::text)
            .filter(|t| !t.is_empty());
        for (mi, m) in cg.children_named("contrib").enumerate() {
            let mpath = format!("{cpath}/contrib-group[{}]/contrib[{}]", gi + 1, mi + 1);
            match (member(cx, notes, m, &mpath), &sub) {
                (Some(p), Some(s)) => g.groups.push(s, p),
                (Some(p), None) => g.people.push(p),
                (None, _) => cx.warn(&mpath, "group member without a name: left out"),
            }
        }
    }
    Some(g)
}

/// The model lets a group have `people` or `groups`, not both: members
/// outside any sub-group then become a sub-group named after the group.
pub(crate) fn one_kind_of_members(cx: &mut Cx<'_>, g: &mut Group) {
    if !g.people.is_empty() && !g.groups.is_empty() {
        cx.warn(
            format!("{}/contrib-group/contrib[collab]", super::META),
            format!("group {:?} has members in and out of sub-groups: those out of them form a sub-group named after the group", g.name),
        );
        let people = std::mem::take(&mut g.people);
        let name = g.name.clone();
        for p in people {
            g.groups.push(&name, p);
        }
    }
}

/// The model's email format, roughly: `local@domain.tld`, no spaces.
fn is_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
                && !s.chars().any(|c| {
                    c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"' | ',')
                })
        }
        None => false,
    }
}

/// A phone number as E.164: eLife writes `+1 (202) 555-0182`.
fn phone(s: &str) -> Option<String> {
    let p: String = s
        .chars()
        .filter(|c| !matches!(c, '(' | ')' | ' ' | '-' | '.'))
        .collect();
    let (num, ext) = match p.split_once(";ext=") {
        Some((n, e)) => (n, Some(e)),
        None => (p.as_str(), None),
    };
    let digits = num.strip_prefix('+')?;
    let ok = (8..=15).contains(&digits.len())
        && digits.chars().all(|c| c.is_ascii_digit())
        && ext.is_none_or(|e| !e.is_empty() && e.chars().all(|c| c.is_ascii_digit()));
    ok.then_some(p)
}

/// A footnote's content as HTML, without its label; paragraphs joined.
fn note_html(cx: &mut Cx<'_>, note: &Element, path: &str) -> String {
    let paras: Vec<&Element> = note.children_named("p").collect();
    if paras.is_empty() {
        let own = Element {
            name: note.name.clone(),
            attrs: Vec::new(),
            children: note
                .children
                .iter()
                .filter(|n| !matches!(n, Node::Element(e) if e.name == "label"))
                .cloned()
                .collect(),
        };
        return html::inline(cx, &own, path);
    }
    paras
        .into_iter()
        .map(|p| html::inline(cx, p, &format!("{path}/p")))
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// What an author footnote is, from its id (eLife's convention, which
/// elife-tools relies on) or else its `fn-type`.
enum Note {
    Equal,
    Competing,
    Contribution,
    Present,
    Deceased,
    Other,
}

fn classify(rid: &str, note: Option<&Element>) -> Option<Note> {
    let by_id = if rid.starts_with("equal-contrib") {
        Some(Note::Equal)
    } else if rid.starts_with("conf") {
        Some(Note::Competing)
    } else if rid.starts_with("con") {
        Some(Note::Contribution)
    } else if rid.starts_with("pa") {
        Some(Note::Present)
    } else if rid.starts_with("fn") {
        Some(Note::Other)
    } else {
        None
    };
    by_id.or_else(|| match note?.attr("fn-type")? {
        "equal" => Some(Note::Equal),
        "COI-statement" | "conflict" => Some(Note::Competing),
        "con" => Some(Note::Contribution),
        "present-address" => Some(Note::Present),
        "deceased" => Some(Note::Deceased),
        "other" | "fn" => Some(Note::Other),
        _ => None,
    })
}

fn push_unique<T: PartialEq>(v: &mut Vec<T>, x: T) {
    if !v.contains(&x) {
        v.push(x);
    }
}

/// Affiliations, emails, phones and footnotes of a contrib; the flag says
/// a footnote reports the author deceased.
pub(crate) fn details(
    cx: &mut Cx<'_>,
    notes: &Notes<'_>,
    contrib: &Element,
    path: &str,
) -> (Details, bool) {
    let mut d = Details::default();
    let mut deceased = false;
    let mut emails: Vec<String> = Vec::new();
    let mut phones: Vec<String> = Vec::new();
    let mut aff_els: Vec<&Element> = Vec::new();
    let refs = xrefs(contrib);
    for x in &refs {
        let Some(rid) = x.attr("rid") else { continue };
        let xpath = format!("{path}/xref[@rid={rid}]");
        match x.attr("ref-type") {
            Some("aff") => match notes.affs.get(rid) {
                Some(a) => aff_els.push(a),
                None => cx.warn(&xpath, format!("no <aff id={rid:?}>: affiliation left out")),
            },
            Some("corresp") => match notes.corresps.get(rid) {
                Some(c) => {
                    let mut found = Vec::new();
                    c.descendants("email", &[], &mut found);
                    emails.extend(found.iter().map(|e| e.text()));
                    let mut found = Vec::new();
                    c.descendants("phone", &[], &mut found);
                    phones.extend(found.iter().map(|e| e.text()));
                }
                None => cx.warn(&xpath, format!("no <corresp id={rid:?}>: left out")),
            },
            Some("fn") => {
                let note = notes.fns.get(rid).copied();
                let npath = format!("{xpath}/fn");
                match (classify(rid, note), note) {
                    (Some(Note::Equal), _) => {
                        if let Some(n) = notes.equal.get(rid) {
                            push_unique(&mut d.equal_contribution_groups, *n);
                        }
                    }
                    (Some(_), None) => cx.warn(&xpath, format!("no <fn id={rid:?}>: left out")),
                    (Some(Note::Competing), Some(n)) => {
                        let h = note_html(cx, n, &npath);
                        if !h.is_empty() {
                            d.competing_interests = Some(h);
                        }
                    }
                    (Some(Note::Contribution), Some(n)) => {
                        let h = note_html(cx, n, &npath);
                        if !h.is_empty() {
                            d.contribution = Some(match d.contribution.take() {
                                Some(prev) => format!("{prev} {h}"),
                                None => h,
                            });
                        }
                    }
                    (Some(Note::Present), Some(n)) => {
                        let t = n.text_without(&["label"]);
                        if !t.is_empty() {
                            push_unique(&mut d.postal_addresses, Address::street(t));
                        }
                    }
                    (Some(Note::Deceased), Some(_)) => deceased = true,
                    (Some(Note::Other), Some(n)) => {
                        let h = note_html(cx, n, &npath);
                        // elife-tools: a "deceased" note is the flag, not information.
                        if h.to_lowercase().contains("deceased") {
                            deceased = true;
                        } else if !h.is_empty() {
                            push_unique(&mut d.additional_information, h);
                        }
                    }
                    (None, _) => cx.warn(
                        &xpath,
                        format!("footnote {rid:?} of unknown kind: left out"),
                    ),
                }
            }
            // Funding and data set links: the funding and data set parts
            // name their recipients and authors themselves.
            Some("other") => {}
            other => cx.warn(
                &xpath,
                format!("xref of ref-type {other:?} on a contributor not mapped"),
            ),
        }
    }
    if aff_els.is_empty() {
        aff_els.extend(contrib.children_named("aff"));
    }
    for (i, aff) in aff_els.iter().enumerate() {
        let apath = format!("{path}/aff[{}]", i + 1);
        let mut found = Vec::new();
        aff.descendants("email", &[], &mut found);
        emails.extend(found.iter().map(|e| e.text()));
        if let Some(p) = place(cx, aff, &apath) {
            push_unique::<Place>(&mut d.affiliations, p);
        }
    }
    for e in contrib.children_named("email").chain(
        contrib
            .children_named("address")
            .flat_map(|a| a.children_named("email")),
    ) {
        emails.push(e.text());
    }
    for p in contrib.children_named("phone").chain(
        contrib
            .children_named("address")
            .flat_map(|a| a.children_named("phone")),
    ) {
        phones.push(p.text());
    }
    for e in emails {
        if is_email(&e) {
            push_unique(&mut d.email_addresses, e);
        } else if !e.is_empty() {
            cx.warn(
                format!("{path}/email"),
                format!("{e:?} is not an email address: left out"),
            );
        }
    }
    for p in phones {
        match phone(&p) {
            Some(p) => push_unique(&mut d.phone_numbers, p),
            None if p.is_empty() => {}
            None => cx.warn(
                format!("{path}/phone"),
                format!("{p:?} is not an international (E.164) number: left out"),
            ),
        }
    }
    (d, deceased)
}
