//! References of every type eLife uses, and data sets.
//!
//! `back/ref-list/ref` becomes the model's `references` (one typed object
//! per `element-citation`, or legacy `mixed-citation`, by its
//! `publication-type`), and the data-availability section becomes
//! `dataSets`. The mapping follows eLife's own converter (elife-tools'
//! `references_json` and `datasets_json`): a reference that lacks what its
//! type requires in the model falls back to type `unknown`, as eLife's
//! does, so the article still validates; the warning says which `ref` and
//! what was missing. Whatever a type has no place for is named in a
//! warning rather than dropped silently.

mod build;
mod cite;
mod datasets;
#[cfg(test)]
mod tests;

use crate::cx::Cx;
use crate::xml::Element;
use crate::{Article, Result};
use serde::Serialize;

pub use datasets::{DataSet, DataSets};

fn is_false(b: &bool) -> bool {
    !*b
}

/// A person's name: `preferred` (`Smith J`, as reference lists print it)
/// and `index` (`Smith, J`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Name {
    pub preferred: String,
    pub index: String,
}

/// A reference's author, editor, inventor...: a person or a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum RefAuthor {
    Person {
        name: Name,
    },
    /// `name` is inline HTML (a `collab` may carry italics).
    Group {
        name: String,
    },
}

/// A person without a type: the thesis author (the model's `Person`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PersonName {
    pub name: Name,
}

/// The model's place: a publisher, a conference, an assigning authority.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Place {
    pub name: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
}

/// A place's address; references only know a locality (`publisher-loc`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Address {
    pub formatted: Vec<String>,
    pub components: AddressComponents,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AddressComponents {
    pub locality: Vec<String>,
}

/// Pages: first, last and range when both ends are plain page numbers,
/// else the text as printed (`e1002`, `In press`, `S1–S12a`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Pages {
    Range {
        first: String,
        last: String,
        range: String,
    },
    Text(String),
}

/// What every reference has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefBase {
    /// The `ref` id (`bib1`), which in-text citations point at.
    pub id: String,
    /// Partial date: `2012`, `2012-05` or `2012-05-03`.
    pub date: String,
    /// The year's letter (`2012a`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discriminator: Option<String>,
}

/// One reference, by the model's `type`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Reference {
    Book(Book),
    BookChapter(BookChapter),
    ClinicalTrial(ClinicalTrial),
    ConferenceProceeding(ConferenceProceeding),
    Data(Data),
    Journal(Journal),
    Patent(Patent),
    Periodical(Periodical),
    Preprint(Preprint),
    Report(Report),
    Software(Software),
    Thesis(Thesis),
    Web(Web),
    Unknown(Unknown),
}

impl Reference {
    /// The reference's common part.
    pub fn base(&self) -> &RefBase {
        match self {
            Reference::Book(r) => &r.base,
            Reference::BookChapter(r) => &r.book.base,
            Reference::ClinicalTrial(r) => &r.base,
            Reference::ConferenceProceeding(r) => &r.base,
            Reference::Data(r) => &r.base,
            Reference::Journal(r) => &r.base,
            Reference::Patent(r) => &r.base,
            Reference::Periodical(r) => &r.base,
            Reference::Preprint(r) => &r.base,
            Reference::Report(r) => &r.base,
            Reference::Software(r) => &r.base,
            Reference::Thesis(r) => &r.base,
            Reference::Web(r) => &r.base,
            Reference::Unknown(r) => &r.base,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Book {
    #[serde(flatten)]
    pub base: RefBase,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub authors: Vec<RefAuthor>,
    #[serde(skip_serializing_if = "is_false")]
    pub authors_et_al: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub editors: Vec<RefAuthor>,
    #[serde(skip_serializing_if = "is_false")]
    pub editors_et_al: bool,
    /// Inline HTML.
    pub book_title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume: Option<String>,
    /// Inline HTML.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edition: Option<String>,
    pub publisher: Place,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doi: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pmid: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub isbn: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BookChapter {
    #[serde(flatten)]
    pub book: Book,
    /// Inline HTML.
    pub chapter_title: String,
    pub pages: Pages,
}

/// Who `authors` of a clinical trial are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthorsType {
    Authors,
    Collaborators,
    Sponsors,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClinicalTrial {
    #[serde(flatten)]
    pub base: RefBase,
    pub authors: Vec<RefAuthor>,
    #[serde(skip_serializing_if = "is_false")]
    pub authors_et_al: bool,
    pub authors_type: AuthorsType,
    /// Inline HTML.
    pub title: String,
    pub uri: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConferenceProceeding {
    #[serde(flatten)]
    pub base: RefBase,
    pub authors: Vec<RefAuthor>,
    #[serde(skip_serializing_if = "is_false")]
    pub authors_et_al: bool,
    /// Inline HTML.
    pub article_title: String,
    pub conference: Place,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pages: Option<Pages>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doi: Option<String>,
    /// Required by the model when `doi` is present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
}

/// A data set's relation to the article, in a data reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SpecificUse {
    Analyzed,
    Generated,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Data {
    #[serde(flatten)]
    pub base: RefBase,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub authors: Vec<RefAuthor>,
    #[serde(skip_serializing_if = "is_false")]
    pub authors_et_al: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub compilers: Vec<RefAuthor>,
    #[serde(skip_serializing_if = "is_false")]
    pub compilers_et_al: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub curators: Vec<RefAuthor>,
    #[serde(skip_serializing_if = "is_false")]
    pub curators_et_al: bool,
    /// Inline HTML.
    pub title: String,
    pub source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assigning_authority: Option<Place>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub specific_use: Option<SpecificUse>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doi: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Journal {
    #[serde(flatten)]
    pub base: RefBase,
    pub authors: Vec<RefAuthor>,
    #[serde(skip_serializing_if = "is_false")]
    pub authors_et_al: bool,
    /// Inline HTML.
    pub article_title: String,
    pub journal: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pages: Option<Pages>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doi: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pmid: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Patent {
    #[serde(flatten)]
    pub base: RefBase,
    pub inventors: Vec<RefAuthor>,
    #[serde(skip_serializing_if = "is_false")]
    pub inventors_et_al: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub assignees: Vec<RefAuthor>,
    #[serde(skip_serializing_if = "is_false")]
    pub assignees_et_al: bool,
    /// Inline HTML.
    pub title: String,
    pub patent_type: String,
    pub country: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Periodical {
    #[serde(flatten)]
    pub base: RefBase,
    pub authors: Vec<RefAuthor>,
    #[serde(skip_serializing_if = "is_false")]
    pub authors_et_al: bool,
    /// Inline HTML.
    pub article_title: String,
    pub periodical: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume: Option<String>,
    pub pages: Pages,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Preprint {
    #[serde(flatten)]
    pub base: RefBase,
    pub authors: Vec<RefAuthor>,
    #[serde(skip_serializing_if = "is_false")]
    pub authors_et_al: bool,
    /// Inline HTML.
    pub article_title: String,
    pub source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doi: Option<String>,
    pub uri: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    #[serde(flatten)]
    pub base: RefBase,
    pub authors: Vec<RefAuthor>,
    #[serde(skip_serializing_if = "is_false")]
    pub authors_et_al: bool,
    /// Inline HTML.
    pub title: String,
    pub publisher: Place,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doi: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pmid: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub isbn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Software {
    #[serde(flatten)]
    pub base: RefBase,
    pub authors: Vec<RefAuthor>,
    #[serde(skip_serializing_if = "is_false")]
    pub authors_et_al: bool,
    /// Inline HTML.
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    pub publisher: Place,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Thesis {
    #[serde(flatten)]
    pub base: RefBase,
    pub author: PersonName,
    /// Inline HTML.
    pub title: String,
    pub publisher: Place,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doi: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Web {
    #[serde(flatten)]
    pub base: RefBase,
    pub authors: Vec<RefAuthor>,
    #[serde(skip_serializing_if = "is_false")]
    pub authors_et_al: bool,
    /// Inline HTML.
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accessed: Option<String>,
    pub uri: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Unknown {
    #[serde(flatten)]
    pub base: RefBase,
    pub authors: Vec<RefAuthor>,
    #[serde(skip_serializing_if = "is_false")]
    pub authors_et_al: bool,
    /// Inline HTML.
    pub title: String,
    /// The rest of the citation as plain text, comma-separated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
}

/// The year a reference without one gets (the model requires a date):
/// the article's own publication year, which is what an "in press"
/// reference means; else the year of `Options::now`.
fn article_year(cx: &Cx<'_>, root: &Element) -> Option<String> {
    let meta = root.path("front/article-meta");
    let years: Vec<String> = meta
        .into_iter()
        .flat_map(|m| m.children_named("pub-date"))
        .filter_map(|d| d.child("year").map(|y| y.text()))
        .filter(|y| cite::is_partial_date(y))
        .collect();
    years
        .into_iter()
        .next()
        .or_else(|| {
            meta.and_then(|m| m.path("permissions/copyright-year"))
                .map(|y| y.text())
                .filter(|y| y.len() == 4 && cite::is_partial_date(y))
        })
        .or_else(|| {
            cx.opts
                .now
                .as_deref()
                .and_then(|n| n.get(..4))
                .filter(|y| cite::is_partial_date(y))
                .map(str::to_owned)
        })
}

pub(crate) fn fill(cx: &mut Cx<'_>, root: &Element, article: &mut Article) -> Result<()> {
    let fallback_year = article_year(cx, root);
    let Some(back) = root.child("back") else {
        return Ok(());
    };
    for (i, list) in back.children_named("ref-list").enumerate() {
        let list_path = format!("article/back/ref-list[{}]", i + 1);
        for (j, r) in list.children_named("ref").enumerate() {
            let path = format!("{list_path}/ref[{}]", j + 1);
            if let Some(reference) = build::reference(cx, r, &path, fallback_year.as_deref()) {
                article.references.push(reference);
            }
        }
        for e in list.elements() {
            if !matches!(e.name.as_str(), "ref" | "title" | "label") {
                cx.warn(
                    format!("{list_path}/{}", e.name),
                    "not mapped: only ref elements become references",
                );
            }
        }
    }
    article.data_sets = datasets::data_sets(cx, back, fallback_year.as_deref());
    Ok(())
}
