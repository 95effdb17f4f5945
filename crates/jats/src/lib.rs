//! JATS XML → eLife's article-json.
//!
//! The target is the public model of eLife's API (elifesciences/api-raml,
//! `dist/model/article-vor.v8.json` and `article-poa.v4.json`): what eLife's
//! CMS ingests and its journal renders. The converter is pure: XML bytes and
//! [`Options`] (what the XML cannot know: version, stage, the package's
//! files and where they are served) in, an [`Article`] and a list of
//! [`Warning`]s out. No I/O, no backend types, no async.
//!
//! One module per part of the document: [`front`] (ids, dates, title,
//! subjects, copyright), [`contrib`] (authors, groups, editors, reviewers),
//! [`body`] (abstract, digest, body, appendices: content blocks) with its
//! [`assets`] (figures, tables, videos, supplementary files: a child of
//! `body`, since a figure is a content block whose caption is content
//! blocks again), [`refs`] (references,
//! data sets), [`funding`], [`sub_articles`] (decision letter, author
//! response, evaluations, reviews), on top of [`xml`] (the parsed tree) and
//! [`html`] (inline markup and link safety).
//!
//! What the converter does not understand is reported as a warning naming
//! the element path, never dropped silently and never a panic. A document
//! missing what the schema requires is an [`Error`] naming the element.

pub use body::assets;
pub mod body;
pub mod contrib;
mod cx;
pub mod error;
pub mod front;
pub mod funding;
pub mod html;
pub mod refs;
pub mod sub_articles;
pub mod xml;

pub use error::{Error, Result};
use serde::Serialize;

/// Publication status: the model's `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Publish on accept: metadata, abstract, PDF; no body.
    Poa,
    /// Version of record: the whole article.
    Vor,
}

/// The model's `stage`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Posted but not yet public (the preview mode of IngestArticleZip).
    Preview,
    /// Public.
    #[default]
    Published,
}

/// A web rendition of an image file, made by ResizeImages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebImage {
    /// Where the JPEG is served (on the CDN).
    pub url: String,
    /// Its file name (`elife-00353-fig1-v1-1500w.jpg`).
    pub filename: String,
    pub width: u32,
    pub height: u32,
}

/// One file of the package, as deposited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageFile {
    /// File name in the package (`elife-00353-fig1-v1.tif`), no folder.
    pub name: String,
    /// Where the file is served (its CDN URL).
    pub url: String,
    /// `image/tiff`, `application/pdf`, `video/mp4`...
    pub media_type: String,
    /// For image files: the web renditions, largest first.
    pub web: Vec<WebImage>,
}

/// What the XML does not say.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The article version; else the XML file name's `-vN`, else 1.
    pub version: Option<u32>,
    /// Else inferred: `vor` when the article has a `<body>`.
    pub status: Option<Status>,
    pub stage: Stage,
    /// The package's files (figures, videos, supplements, PDF) and their
    /// URLs: every asset URL in the article points at one of them.
    pub files: Vec<PackageFile>,
    /// The article's PDF (URL); else the package file named by
    /// `self-uri[@content-type=pdf]`, if any.
    pub pdf: Option<String>,
    /// The figures PDF (URL), if the package has one.
    pub figures_pdf: Option<String>,
    /// Where the XML itself is served (URL), if anywhere.
    pub xml: Option<String>,
    /// Base of the IIIF image server that serves the package's images
    /// (`https://iiif.example.org/iiif/2`): an image's `uri` is this plus
    /// `/<article id>%2F<file name>`. The model requires an https IIIF URI.
    pub iiif_base_url: String,
    /// Publication date/time to use when the XML has none
    /// (`YYYY-MM-DDTHH:MM:SSZ`), e.g. the time of a preview.
    pub now: Option<String>,
}

/// Something the converter did not understand or left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// Element path, e.g. `article/body/sec[2]/p[1]/foo`.
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// A converted article and what the converter had to say about it.
#[derive(Debug, Clone)]
pub struct Conversion {
    pub article: Article,
    pub warnings: Vec<Warning>,
}

/// eLife's article-json, VoR or PoA (`status`). Field names and shapes are
/// the model's; optional parts are left out when the XML has nothing.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Article {
    pub status: Option<Status>,
    pub id: String,
    pub version: u32,
    #[serde(rename = "type")]
    pub article_type: String,
    pub doi: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author_line: Option<String>,
    /// Inline HTML.
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title_prefix: Option<String>,
    pub stage: Stage,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_date: Option<String>,
    pub volume: u32,
    pub elocation_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pdf: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub figures_pdf: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub xml: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subjects: Vec<front::Subject>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub research_organisms: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub impact_statement: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub keywords: Vec<String>,
    pub copyright: front::Copyright,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub authors: Vec<contrib::Author>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reviewers: Vec<contrib::Reviewer>,
    #[serde(rename = "abstract", skip_serializing_if = "Option::is_none")]
    pub abstract_: Option<body::Abstract>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<body::Abstract>,
    /// Required for VoR; absent for PoA.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Vec<body::Block>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub appendices: Vec<body::Appendix>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub acknowledgements: Vec<body::Block>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ethics: Vec<body::Block>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub funding: Option<funding::Funding>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<refs::Reference>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_sets: Option<refs::DataSets>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub additional_files: Vec<assets::AdditionalFile>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub editor_evaluation: Option<sub_articles::SubArticle>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elife_assessment: Option<sub_articles::SubArticle>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision_letter: Option<sub_articles::SubArticle>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recommendations_for_authors: Option<sub_articles::SubArticle>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author_response: Option<sub_articles::SubArticle>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub public_reviews: Vec<sub_articles::SubArticle>,
}

/// Convert a JATS document. `file` names it in errors and warnings.
pub fn convert(xml: &[u8], file: &str, opts: &Options) -> Result<Conversion> {
    let root = xml::parse(xml, file)?;
    let mut cx = cx::Cx::new(opts, file);
    if root.name != "article" {
        return Err(cx.invalid(
            &format!("<{}>", root.name),
            "the root element must be <article>",
        ));
    }
    let mut article = Article::default();
    front::fill(&mut cx, &root, &mut article)?;
    contrib::fill(&mut cx, &root, &mut article)?;
    body::fill(&mut cx, &root, &mut article)?;
    refs::fill(&mut cx, &root, &mut article)?;
    funding::fill(&mut cx, &root, &mut article)?;
    sub_articles::fill(&mut cx, &root, &mut article)?;
    // An error met inside the block converter (a figure whose image is not
    // in the package...) fails the conversion.
    if let Some(e) = cx.deferred.take() {
        return Err(e);
    }
    Ok(Conversion {
        article,
        warnings: cx.warnings,
    })
}
