//! One `ref` to one typed reference, by `publication-type`, with the
//! fallback to `unknown` when the type's required parts are missing.

use super::cite::{place, Cite, People};
use super::*;
use crate::cx::Cx;
use crate::xml::Element;

/// What a typed builder could not find: the model's required fields.
type Missing = Vec<&'static str>;

/// Require a value, noting its field name when absent.
fn req<T>(v: Option<T>, field: &'static str, missing: &mut Missing) -> Option<T> {
    if v.is_none() {
        missing.push(field);
    }
    v
}

/// The people of one group type, taken out of the list.
fn take(people: &mut Vec<(String, People)>, ty: &str) -> People {
    match people.iter().position(|(t, _)| t == ty) {
        Some(i) => people.remove(i).1,
        None => People::default(),
    }
}

fn nonempty(p: People) -> Option<People> {
    (!p.list.is_empty()).then_some(p)
}

/// The link a reference shows: its own, else its DOI's.
fn uri_or_doi(uri: Option<String>, doi: &Option<String>) -> Option<String> {
    uri.or_else(|| doi.as_deref().map(crate::html::doi_url))
}

pub(super) fn reference(
    cx: &mut Cx<'_>,
    r: &Element,
    path: &str,
    fallback_year: Option<&str>,
) -> Option<Reference> {
    let Some(cit) = r.elements().find(|e| {
        matches!(
            e.name.as_str(),
            "element-citation" | "mixed-citation" | "citation" | "nlm-citation"
        )
    }) else {
        cx.warn(path, "reference without a citation element: left out");
        return None;
    };
    let id: String = r
        .attr("id")
        .or_else(|| cit.attr("id"))
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    let path = if id.is_empty() {
        path.to_owned()
    } else {
        format!(
            "{}[@id={id}]",
            path.rsplit_once('[').map_or(path, |(p, _)| p)
        )
    };
    if id.is_empty() {
        cx.warn(
            &path,
            "reference without an id: left out (citations cannot point at it)",
        );
        return None;
    }
    let cpath = format!("{path}/{}", cit.name);
    let mut c = Cite::new(cit, cpath.clone());
    let (date, discriminator, in_press) = c.date(cx);
    let date = match date {
        Some(d) => d,
        None => {
            match fallback_year {
                Some(y) => {
                    cx.warn(
                    &cpath,
                    format!("{id}: no year; the article's year {y} given (the model requires a date)"),
                );
                    y.to_owned()
                }
                None => {
                    cx.warn(
                        &cpath,
                        format!("{id}: no year and no article year: left out"),
                    );
                    return None;
                }
            }
        }
    };
    let base = RefBase {
        id: id.clone(),
        date,
        discriminator,
    };
    let pub_type = cit.attr("publication-type").unwrap_or("").trim();
    let typed = match pub_type {
        "journal" => journal(cx, &mut c, base.clone(), in_press),
        "book" => book(cx, &mut c, base.clone(), in_press),
        "confproc" | "conference-proceeding" => confproc(cx, &mut c, base.clone(), in_press),
        "clinicaltrial" | "clinical-trial" => clinical_trial(cx, &mut c, base.clone()),
        "data" => data(cx, &mut c, base.clone()),
        "patent" => patent(cx, &mut c, base.clone()),
        "periodical" => periodical(cx, &mut c, base.clone(), in_press),
        "preprint" => preprint(cx, &mut c, base.clone()),
        "report" => report(cx, &mut c, base.clone()),
        "software" => software(cx, &mut c, base.clone()),
        "thesis" => thesis(cx, &mut c, base.clone()),
        "web" | "webpage" | "website" => web(cx, &mut c, base.clone()),
        "other" | "" => Err(vec![]),
        other => {
            cx.warn(
                &cpath,
                format!(
                    "{id}: publication-type {other:?} is not one the model knows: kept as unknown"
                ),
            );
            Err(vec![])
        }
    };
    match typed {
        Ok(reference) => {
            let left = c.leftover();
            if left.iter().any(|k| k == "comment") {
                // As eLife does: a comment is kept, as an unknown's details.
                cx.warn(
                    &cpath,
                    format!(
                        "{id}: its comment has no place in a {pub_type} reference: kept as unknown"
                    ),
                );
            } else {
                if !left.is_empty() {
                    cx.warn(
                        &cpath,
                        format!(
                            "{id}: not in the model's {pub_type} reference, left out: {}",
                            left.join(", ")
                        ),
                    );
                }
                return Some(reference);
            }
        }
        Err(missing) if !missing.is_empty() => cx.warn(
            &cpath,
            format!(
                "{id}: a {pub_type} reference without {}: kept as unknown",
                missing.join(", ")
            ),
        ),
        Err(_) => {}
    }
    c.reset();
    unknown(cx, &mut c, base, in_press)
}

fn journal(
    cx: &mut Cx<'_>,
    c: &mut Cite<'_>,
    base: RefBase,
    in_press: bool,
) -> Result<Reference, Missing> {
    let mut m = Missing::new();
    let mut people = c.people(cx);
    let authors = req(nonempty(take(&mut people, "author")), "authors", &mut m);
    let article_title = req(c.html(cx, "article-title"), "articleTitle", &mut m);
    let journal = req(c.text("source"), "journal", &mut m);
    let (Some(a), Some(article_title), Some(journal)) = (authors, article_title, journal) else {
        return Err(m);
    };
    Ok(Reference::Journal(Journal {
        base,
        authors: a.list,
        authors_et_al: a.etal,
        article_title,
        journal,
        volume: c.text("volume"),
        pages: c.pages(in_press),
        doi: c.doi(cx),
        pmid: c.pmid(cx),
    }))
}

fn book(
    cx: &mut Cx<'_>,
    c: &mut Cite<'_>,
    base: RefBase,
    in_press: bool,
) -> Result<Reference, Missing> {
    let mut m = Missing::new();
    let mut people = c.people(cx);
    let authors = take(&mut people, "author");
    let editors = take(&mut people, "editor");
    let chapter = c.el.child("chapter-title").is_some() || c.el.child("article-title").is_some();
    let chapter_title = if chapter {
        let t = c.html(cx, "chapter-title");
        t.or_else(|| c.html(cx, "article-title"))
    } else {
        None
    };
    let book_title = c.html(cx, "source");
    let book_title = if chapter {
        book_title
    } else {
        book_title.or_else(|| c.html(cx, "article-title"))
    };
    let book_title = req(book_title, "bookTitle", &mut m);
    let publisher = req(c.publisher(), "publisher", &mut m);
    if authors.list.is_empty() && editors.list.is_empty() {
        m.push("authors or editors");
    }
    let pages = if chapter {
        if editors.list.is_empty() {
            m.push("editors");
        }
        if authors.list.is_empty() {
            m.push("authors");
        }
        req(c.pages(in_press), "pages", &mut m)
    } else {
        None
    };
    if !m.is_empty() {
        return Err(m);
    }
    let (Some(book_title), Some(publisher)) = (book_title, publisher) else {
        return Err(m);
    };
    let book = Book {
        base,
        authors: authors.list,
        authors_et_al: authors.etal,
        editors: editors.list,
        editors_et_al: editors.etal,
        book_title,
        volume: c.text("volume"),
        edition: c.html(cx, "edition"),
        publisher,
        doi: c.doi(cx),
        pmid: c.pmid(cx),
        isbn: c.isbn(cx),
    };
    Ok(match (chapter_title, pages) {
        (Some(chapter_title), Some(pages)) => Reference::BookChapter(BookChapter {
            book,
            chapter_title,
            pages,
        }),
        _ => Reference::Book(book),
    })
}

fn confproc(
    cx: &mut Cx<'_>,
    c: &mut Cite<'_>,
    base: RefBase,
    in_press: bool,
) -> Result<Reference, Missing> {
    let mut m = Missing::new();
    let mut people = c.people(cx);
    let authors = req(nonempty(take(&mut people, "author")), "authors", &mut m);
    let article_title = req(c.html(cx, "article-title"), "articleTitle", &mut m);
    let conference = c.text("conf-name").or_else(|| c.text("source"));
    let conference = req(conference, "conference", &mut m);
    let (Some(a), Some(article_title), Some(conference)) = (authors, article_title, conference)
    else {
        return Err(m);
    };
    let loc = c.text("conf-loc");
    let doi = c.doi(cx);
    let uri = c.uri(cx);
    Ok(Reference::ConferenceProceeding(ConferenceProceeding {
        base,
        authors: a.list,
        authors_et_al: a.etal,
        article_title,
        conference: place(conference, loc),
        pages: c.pages(in_press),
        uri: uri_or_doi(uri, &doi),
        doi,
    }))
}

fn clinical_trial(cx: &mut Cx<'_>, c: &mut Cite<'_>, base: RefBase) -> Result<Reference, Missing> {
    let mut m = Missing::new();
    let mut people = c.people(cx);
    let mut who = None;
    for (ty, authors_type) in [
        ("author", AuthorsType::Authors),
        ("collaborator", AuthorsType::Collaborators),
        ("sponsor", AuthorsType::Sponsors),
    ] {
        if let Some(p) = nonempty(take(&mut people, ty)) {
            who = Some((p, authors_type));
            break;
        }
    }
    let who = req(who, "authors", &mut m);
    let title = c.html(cx, "article-title").or_else(|| c.html(cx, "source"));
    let title = req(title, "title", &mut m);
    let doi = c.doi(cx);
    let uri = c.uri(cx);
    let uri = req(uri_or_doi(uri, &doi), "uri", &mut m);
    let (Some((p, authors_type)), Some(title), Some(uri)) = (who, title, uri) else {
        return Err(m);
    };
    Ok(Reference::ClinicalTrial(ClinicalTrial {
        base,
        authors: p.list,
        authors_et_al: p.etal,
        authors_type,
        title,
        uri,
    }))
}

fn data(cx: &mut Cx<'_>, c: &mut Cite<'_>, base: RefBase) -> Result<Reference, Missing> {
    let mut m = Missing::new();
    let mut people = c.people(cx);
    let authors = take(&mut people, "author");
    let compilers = take(&mut people, "compiler");
    let curators = take(&mut people, "curator");
    if authors.list.is_empty() && compilers.list.is_empty() && curators.list.is_empty() {
        m.push("authors, compilers or curators");
    }
    let source = req(c.text("source"), "source", &mut m);
    let title = c.html(cx, "data-title").or_else(|| {
        let s = c.html(cx, "source");
        s.or_else(|| c.html(cx, "article-title"))
    });
    let title = req(title, "title", &mut m);
    let (Some(title), Some(source)) = (title, source) else {
        return Err(m);
    };
    if !m.is_empty() {
        return Err(m);
    }
    let specific_use = match c.el.attr("specific-use").map(str::trim) {
        Some("isSupplementedBy" | "generated") => Some(SpecificUse::Generated),
        Some("references" | "analyzed") => Some(SpecificUse::Analyzed),
        Some(other) => {
            cx.warn(
                &c.path,
                format!("specific-use {other:?} is neither generated nor analysed: left out"),
            );
            None
        }
        None => None,
    };
    let assigning_authority =
        c.el.children_named("pub-id")
            .find_map(|e| e.attr("assigning-authority"))
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(|a| place(a.to_owned(), None));
    let doi = c.doi(cx);
    let uri = c.uri(cx);
    Ok(Reference::Data(Data {
        base,
        authors: authors.list,
        authors_et_al: authors.etal,
        compilers: compilers.list,
        compilers_et_al: compilers.etal,
        curators: curators.list,
        curators_et_al: curators.etal,
        title,
        source,
        data_id: c.data_id(),
        assigning_authority,
        specific_use,
        uri: uri_or_doi(uri, &doi),
        doi,
    }))
}

fn patent(cx: &mut Cx<'_>, c: &mut Cite<'_>, base: RefBase) -> Result<Reference, Missing> {
    let mut m = Missing::new();
    let mut people = c.people(cx);
    let mut inventors = take(&mut people, "inventor");
    if inventors.list.is_empty() {
        // Older XML names inventors as authors.
        inventors = take(&mut people, "author");
    }
    let inventors = req(nonempty(inventors), "inventors", &mut m);
    let assignees = take(&mut people, "assignee");
    let title = c
        .html(cx, "article-title")
        .or_else(|| c.html(cx, "comment"));
    let title = req(title, "title", &mut m);
    let patent_type = req(c.text("source"), "patentType", &mut m);
    let patent_el = c.get("patent");
    let country = patent_el
        .and_then(|p| p.attr("country"))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    let country = req(country, "country", &mut m);
    let (Some(inv), Some(title), Some(patent_type), Some(country)) =
        (inventors, title, patent_type, country)
    else {
        return Err(m);
    };
    Ok(Reference::Patent(Patent {
        base,
        inventors: inv.list,
        inventors_et_al: inv.etal,
        assignees: assignees.list,
        assignees_et_al: assignees.etal,
        title,
        patent_type,
        country,
        number: patent_el.map(Element::text).filter(|t| !t.is_empty()),
        uri: c.uri(cx),
    }))
}

fn periodical(
    cx: &mut Cx<'_>,
    c: &mut Cite<'_>,
    base: RefBase,
    in_press: bool,
) -> Result<Reference, Missing> {
    let mut m = Missing::new();
    let mut people = c.people(cx);
    let authors = req(nonempty(take(&mut people, "author")), "authors", &mut m);
    let article_title = req(c.html(cx, "article-title"), "articleTitle", &mut m);
    let periodical = req(c.text("source"), "periodical", &mut m);
    let pages = req(c.pages(in_press), "pages", &mut m);
    let (Some(a), Some(article_title), Some(periodical), Some(pages)) =
        (authors, article_title, periodical, pages)
    else {
        return Err(m);
    };
    Ok(Reference::Periodical(Periodical {
        base,
        authors: a.list,
        authors_et_al: a.etal,
        article_title,
        periodical,
        volume: c.text("volume"),
        pages,
        uri: c.uri(cx),
    }))
}

fn preprint(cx: &mut Cx<'_>, c: &mut Cite<'_>, base: RefBase) -> Result<Reference, Missing> {
    let mut m = Missing::new();
    let mut people = c.people(cx);
    let authors = req(nonempty(take(&mut people, "author")), "authors", &mut m);
    let article_title = req(c.html(cx, "article-title"), "articleTitle", &mut m);
    let source = req(c.text("source"), "source", &mut m);
    let doi = c.doi(cx);
    let uri = c.uri(cx);
    let uri = req(uri_or_doi(uri, &doi), "uri", &mut m);
    let (Some(a), Some(article_title), Some(source), Some(uri)) =
        (authors, article_title, source, uri)
    else {
        return Err(m);
    };
    Ok(Reference::Preprint(Preprint {
        base,
        authors: a.list,
        authors_et_al: a.etal,
        article_title,
        source,
        doi,
        uri,
    }))
}

fn report(cx: &mut Cx<'_>, c: &mut Cite<'_>, base: RefBase) -> Result<Reference, Missing> {
    let mut m = Missing::new();
    let mut people = c.people(cx);
    let authors = req(nonempty(take(&mut people, "author")), "authors", &mut m);
    let title = c.html(cx, "article-title").or_else(|| c.html(cx, "source"));
    let title = req(title, "title", &mut m);
    let publisher = req(c.publisher(), "publisher", &mut m);
    let (Some(a), Some(title), Some(publisher)) = (authors, title, publisher) else {
        return Err(m);
    };
    let doi = c.doi(cx);
    let uri = c.uri(cx);
    Ok(Reference::Report(Report {
        base,
        authors: a.list,
        authors_et_al: a.etal,
        title,
        publisher,
        pmid: c.pmid(cx),
        isbn: c.isbn(cx),
        uri: uri_or_doi(uri, &doi),
        doi,
    }))
}

fn software(cx: &mut Cx<'_>, c: &mut Cite<'_>, base: RefBase) -> Result<Reference, Missing> {
    let mut m = Missing::new();
    let mut people = c.people(cx);
    let authors = req(nonempty(take(&mut people, "author")), "authors", &mut m);
    let title = c
        .html(cx, "data-title")
        .or_else(|| c.html(cx, "article-title"));
    let (title, publisher) = match (title, c.publisher()) {
        // eLife's XML often names the software in `source` and its
        // publisher nowhere: the source is then both.
        (Some(t), Some(p)) => (Some(t), Some(p)),
        (Some(t), None) => (Some(t), c.text("source").map(|s| place(s, None))),
        (None, Some(p)) => (c.html(cx, "source"), Some(p)),
        (None, None) => {
            let s = c.text("source");
            let t = c.html(cx, "source");
            (t, s.map(|s| place(s, None)))
        }
    };
    let title = req(title, "title", &mut m);
    let publisher = req(publisher, "publisher", &mut m);
    let (Some(a), Some(title), Some(publisher)) = (authors, title, publisher) else {
        return Err(m);
    };
    let version = c.text("version").or_else(|| c.text("edition"));
    let doi = c.doi(cx);
    let uri = c.uri(cx);
    Ok(Reference::Software(Software {
        base,
        authors: a.list,
        authors_et_al: a.etal,
        title,
        version,
        publisher,
        uri: uri_or_doi(uri, &doi),
    }))
}

fn thesis(cx: &mut Cx<'_>, c: &mut Cite<'_>, base: RefBase) -> Result<Reference, Missing> {
    let mut m = Missing::new();
    let mut people = c.people(cx);
    let authors = take(&mut people, "author");
    let author = match authors.list.as_slice() {
        [RefAuthor::Person { name }] if !authors.etal => Some(PersonName { name: name.clone() }),
        _ => None,
    };
    let author = req(author, "author (one person)", &mut m);
    let title = c.html(cx, "article-title").or_else(|| c.html(cx, "source"));
    let title = req(title, "title", &mut m);
    let publisher = req(c.publisher(), "publisher", &mut m);
    let (Some(author), Some(title), Some(publisher)) = (author, title, publisher) else {
        return Err(m);
    };
    let doi = c.doi(cx);
    let uri = c.uri(cx);
    Ok(Reference::Thesis(Thesis {
        base,
        author,
        title,
        publisher,
        uri: uri_or_doi(uri, &doi),
        doi,
    }))
}

fn web(cx: &mut Cx<'_>, c: &mut Cite<'_>, base: RefBase) -> Result<Reference, Missing> {
    let mut m = Missing::new();
    let mut people = c.people(cx);
    let authors = req(nonempty(take(&mut people, "author")), "authors", &mut m);
    let title = c
        .html(cx, "article-title")
        .or_else(|| c.html(cx, "comment"));
    let title = match title {
        Some(t) => Some(t),
        None if c.el.child("data-title").is_some() => c.html(cx, "data-title"),
        None => None,
    };
    let website = c.text("source");
    let (title, website) = match (title, website) {
        (None, Some(w)) => (Some(crate::html::escape(&w)), None),
        tw => tw,
    };
    let title = req(title, "title", &mut m);
    let accessed = c
        .get("date-in-citation")
        .and_then(|d| d.attr("iso-8601-date"))
        .map(str::trim)
        .filter(|d| cite::is_partial_date(d))
        .map(str::to_owned);
    let doi = c.doi(cx);
    let uri = c.uri(cx);
    let uri = req(uri_or_doi(uri, &doi), "uri", &mut m);
    let (Some(a), Some(title), Some(uri)) = (authors, title, uri) else {
        return Err(m);
    };
    Ok(Reference::Web(Web {
        base,
        authors: a.list,
        authors_et_al: a.etal,
        title,
        website,
        accessed,
        uri,
    }))
}

/// The fallback: authors (any people the citation names, else a group
/// named after its source or publisher), a title, and the rest of the
/// citation as details.
fn unknown(cx: &mut Cx<'_>, c: &mut Cite<'_>, base: RefBase, in_press: bool) -> Option<Reference> {
    let people = c.people(cx);
    let mut people = people
        .into_iter()
        .map(|(_, p)| p)
        .filter(|p| !p.list.is_empty());
    let (authors, etal) = match people.next() {
        Some(p) => (p.list, p.etal),
        None => {
            let name = ["source", "publisher-name", "conf-name", "collab"]
                .iter()
                .find_map(|n| c.el.child(n).map(|e| crate::html::escape(&e.text())))
                .filter(|n| !n.is_empty());
            match name {
                Some(name) => {
                    cx.warn(
                        &c.path,
                        format!("{}: no authors; its source {name:?} named as the author (the model requires one)", base.id),
                    );
                    (vec![RefAuthor::Group { name }], false)
                }
                None => {
                    cx.warn(
                        &c.path,
                        format!(
                            "{}: no authors and nothing to name as one: left out",
                            base.id
                        ),
                    );
                    return None;
                }
            }
        }
    };
    let mut title = None;
    for n in [
        "article-title",
        "chapter-title",
        "data-title",
        "source",
        "comment",
        "patent",
    ] {
        if let Some(t) = c.html(cx, n) {
            title = Some(t);
            break;
        }
    }
    let pages = c.pages(in_press).map(|p| match p {
        Pages::Range { range, .. } => range,
        Pages::Text(t) => t,
    });
    let doi = c.doi(cx);
    let uri = c.uri(cx);
    let uri = uri_or_doi(uri, &doi);
    let mut details: Vec<String> = pages.into_iter().collect();
    for e in c.leftover_elements() {
        let t = e.text();
        if !t.is_empty() && !matches!(e.name.as_str(), "year" | "string-date") {
            details.push(t);
        }
    }
    let details = (!details.is_empty()).then(|| details.join(", "));
    let title = match title.or_else(|| details.as_deref().map(crate::html::escape)) {
        Some(t) => t,
        None => {
            cx.warn(
                &c.path,
                format!("{}: nothing to use as a title: left out", base.id),
            );
            return None;
        }
    };
    Some(Reference::Unknown(Unknown {
        base,
        authors,
        authors_et_al: etal,
        title,
        details,
        uri,
    }))
}
