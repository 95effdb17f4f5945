//! Front matter: ids, doi, version, type, status, stage, dates, volume,
//! elocation id, title, subjects, keywords, research organisms, impact
//! statement, copyright, PDF links.
//!
//! The rules follow eLife's own converter (elife-tools `parseJATS` and
//! bot-lax-adaptor `main.py`), which produced every article-json eLife has
//! published, so that an article converted here looks the same.

mod dates;

use crate::cx::Cx;
use crate::html;
use crate::xml::{Element, Node};
use crate::{Article, Result, Status};
use serde::Serialize;

/// Where the article's metadata lives, for paths in errors and warnings.
pub(crate) const META: &str = "article/front/article-meta";

/// A subject (eLife's "major subject area") with its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Subject {
    pub id: String,
    pub name: String,
}

/// The model's `copyright`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Copyright {
    /// `CC-BY-4.0`, `CC-BY-3.0`... or `CC0-1.0`.
    pub license: String,
    /// HTML.
    pub statement: String,
    /// Required by the model for CC-BY, absent for CC0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holder: Option<String>,
}

pub(crate) fn fill(cx: &mut Cx<'_>, root: &Element, article: &mut Article) -> Result<()> {
    let meta = root
        .path("front/article-meta")
        .ok_or_else(|| cx.missing(META))?;
    article.status = Some(cx.opts.status.unwrap_or_else(|| status_of(root)));
    article.doi = doi(cx, meta)?;
    article.id = id(cx, meta, &article.doi)?;
    article.version = version(cx);
    article.article_type = article_type(cx, root, meta)?;
    article.title = title(cx, meta)?;
    article.title_prefix = title_prefix(cx, meta);
    article.stage = cx.opts.stage;
    dates::fill(cx, meta, article)?;
    article.elocation_id = elocation_id(cx, meta, &article.id);
    links(cx, meta, article);
    article.subjects = subjects(cx, meta);
    article.keywords = keywords(cx, meta);
    article.research_organisms = research_organisms(cx, meta);
    article.impact_statement = impact_statement(cx, meta);
    article.copyright = copyright(cx, meta)?;
    Ok(())
}

/// VoR when the article has a body with something in it (elife-tools:
/// `is_poa` is "no `<body>`"); an empty `<body/>` is a PoA too.
fn status_of(root: &Element) -> Status {
    let has_content = root.child("body").is_some_and(|b| {
        b.children.iter().any(|n| match n {
            Node::Element(_) => true,
            Node::Text(t) => !t.trim().is_empty(),
        })
    });
    if has_content {
        Status::Vor
    } else {
        Status::Poa
    }
}

/// The model's DOI pattern: `10.NNNN.../suffix`, no whitespace or quotes.
pub(crate) fn is_doi(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("10.") else {
        return false;
    };
    let Some((registrant, suffix)) = rest.split_once('/') else {
        return false;
    };
    let digits = registrant.chars().take_while(char::is_ascii_digit).count();
    digits >= 4
        && !registrant
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '"' | '<' | '>'))
        && !suffix.is_empty()
        && !suffix.chars().any(|c| c.is_whitespace() || c == '"')
}

/// A DOI as written in eLife's XML, without any resolver prefix
/// (`https://doi.org/`, `http://dx.doi.org/`), as elife-tools strips it.
pub(crate) fn bare_doi(s: &str) -> String {
    let s = s.trim();
    for prefix in [
        "https://doi.org/",
        "http://doi.org/",
        "https://dx.doi.org/",
        "http://dx.doi.org/",
        "doi:",
    ] {
        if let Some(rest) = s.strip_prefix(prefix) {
            return rest.to_owned();
        }
    }
    s.to_owned()
}

/// `article-id[@pub-id-type=doi]` of article-meta; the one with a
/// `specific-use` (the version DOI) is not the article's DOI.
fn doi(cx: &mut Cx<'_>, meta: &Element) -> Result<String> {
    let path = format!("{META}/article-id[@pub-id-type=doi]");
    let el = meta
        .children_named("article-id")
        .find(|e| e.attr("pub-id-type") == Some("doi") && e.attr("specific-use").is_none())
        .ok_or_else(|| cx.missing(&path))?;
    let doi = bare_doi(&el.text());
    if doi.is_empty() {
        return Err(cx.missing(&path));
    }
    if !is_doi(&doi) {
        return Err(cx.invalid(&path, format!("{doi:?} is not a DOI")));
    }
    Ok(doi)
}

/// The manuscript id: `article-id[@pub-id-type=publisher-id]`, else the
/// DOI's suffix after `eLife.`; digits are zero-padded to five as eLife
/// does (`353` → `00353`).
fn id(cx: &mut Cx<'_>, meta: &Element, doi: &str) -> Result<String> {
    let path = format!("{META}/article-id[@pub-id-type=publisher-id]");
    let raw = match meta
        .children_named("article-id")
        .find(|e| e.attr("pub-id-type") == Some("publisher-id"))
        .map(Element::text)
        .filter(|t| !t.is_empty())
    {
        Some(t) => t,
        None => {
            let from_doi = doi
                .rsplit_once('/')
                .map(|(_, s)| s)
                .and_then(|s| {
                    s.strip_prefix("eLife.")
                        .or_else(|| s.strip_prefix("elife."))
                })
                .map(|s| s.split('.').next().unwrap_or(s).to_owned())
                .filter(|s| !s.is_empty())
                .ok_or_else(|| cx.missing(&path))?;
            cx.warn(
                &path,
                format!("no publisher-id: the id {from_doi:?} is taken from the DOI"),
            );
            from_doi
        }
    };
    let id = if raw.chars().all(|c| c.is_ascii_digit()) && raw.len() < 5 {
        format!("{raw:0>5}")
    } else {
        raw.to_ascii_lowercase()
    };
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(cx.invalid(&path, format!("{raw:?} is not an eLife id (a-z, 0-9, -)")));
    }
    Ok(id)
}

/// `Options.version`, else the file name's `-vN` (`elife-00353-v2.xml`),
/// else 1.
fn version(cx: &Cx<'_>) -> u32 {
    if let Some(v) = cx.opts.version.filter(|v| *v >= 1) {
        return v;
    }
    version_in_name(&cx.file).unwrap_or(1)
}

/// The last `-vN` of a file name followed by `-`, `.` or the end.
pub(crate) fn version_in_name(file: &str) -> Option<u32> {
    let name = file.rsplit('/').next().unwrap_or(file);
    let mut found = None;
    let mut rest = name;
    while let Some(i) = rest.find("-v") {
        let after = &rest[i + 2..];
        let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
        let next = after[digits.len()..].chars().next();
        if !digits.is_empty() && matches!(next, None | Some('-' | '.')) {
            found = digits.parse().ok().filter(|v| *v >= 1).or(found);
        }
        rest = after;
    }
    found
}

/// eLife's "display channel" (`subj-group[@subj-group-type=display-channel]`)
/// → the model's type, as bot-lax-adaptor maps it (case-insensitively).
pub(crate) fn type_of_display_channel(channel: &str) -> Option<&'static str> {
    Some(match channel.trim().to_lowercase().as_str() {
        "research article" => "research-article",
        "research advance" => "research-advance",
        "research communication" => "research-communication",
        "short report" => "short-report",
        "tools and resources" | "tools & resources" => "tools-resources",
        "replication study" => "replication-study",
        "registered report" => "registered-report",
        "review article" => "review-article",
        "scientific correspondence" => "scientific-correspondence",
        "insight" => "insight",
        "editorial" => "editorial",
        "feature article" | "feature" => "feature",
        "correction" => "correction",
        "retraction" => "retraction",
        "expression of concern" => "expression-concern",
        _ => return None,
    })
}

/// The `article-type` attribute → the model's type, for articles without
/// a display channel. JATS's own values first, then the model's names.
pub(crate) fn type_of_article_type(attr: &str) -> Option<&'static str> {
    Some(match attr.trim() {
        "research-article" => "research-article",
        "article-commentary" | "insight" => "insight",
        "editorial" => "editorial",
        "correction" => "correction",
        "retraction" => "retraction",
        "review-article" => "review-article",
        "discussion" | "feature" => "feature",
        "expression-of-concern" | "expression-concern" => "expression-concern",
        "research-advance" => "research-advance",
        "research-communication" => "research-communication",
        "short-report" => "short-report",
        "tools-resources" => "tools-resources",
        "replication-study" => "replication-study",
        "registered-report" => "registered-report",
        "scientific-correspondence" => "scientific-correspondence",
        _ => return None,
    })
}

/// Subjects of one `subj-group-type` in article-categories (nested
/// subj-groups included), as text.
fn subjects_of_type(meta: &Element, kind: &str) -> Vec<String> {
    fn walk(group: &Element, kind: &str, out: &mut Vec<String>) {
        for g in group.children_named("subj-group") {
            if g.attr("subj-group-type") == Some(kind) {
                out.extend(
                    g.children_named("subject")
                        .map(Element::text)
                        .filter(|t| !t.is_empty()),
                );
            }
            walk(g, kind, out);
        }
    }
    let mut out = Vec::new();
    if let Some(cats) = meta.child("article-categories") {
        walk(cats, kind, &mut out);
    }
    out
}

fn article_type(cx: &mut Cx<'_>, root: &Element, meta: &Element) -> Result<String> {
    let path = format!("{META}/article-categories/subj-group[@subj-group-type=display-channel]");
    let attr = root.attr("article-type").unwrap_or("");
    match subjects_of_type(meta, "display-channel").first() {
        Some(channel) => match type_of_display_channel(channel) {
            Some(t) => Ok(t.to_owned()),
            None => match type_of_article_type(attr) {
                Some(t) => {
                    cx.warn(
                        format!("{path}/subject"),
                        format!("display channel {channel:?} unknown: type {t:?} taken from article-type {attr:?}"),
                    );
                    Ok(t.to_owned())
                }
                None => Err(cx.invalid(
                    &format!("{path}/subject"),
                    format!("display channel {channel:?} (article-type {attr:?}) is no article type of the model"),
                )),
            },
        },
        None => type_of_article_type(attr).map(str::to_owned).ok_or_else(|| {
            cx.invalid(
                "article/@article-type",
                format!("{attr:?} is no article type of the model, and there is no display channel"),
            )
        }),
    }
}

fn title(cx: &mut Cx<'_>, meta: &Element) -> Result<String> {
    let path = format!("{META}/title-group/article-title");
    let el = meta
        .path("title-group/article-title")
        .ok_or_else(|| cx.missing(&path))?;
    let t = html::inline(cx, el, &path);
    if t.is_empty() {
        return Err(cx.missing(&path));
    }
    Ok(t)
}

/// elife-tools: the first sub-display-channel, for feature articles,
/// insights and editorials only ("Point of View", "Living Science"...).
fn title_prefix(cx: &mut Cx<'_>, meta: &Element) -> Option<String> {
    let channels = subjects_of_type(meta, "display-channel");
    let prefixed = channels.iter().any(|c| {
        matches!(
            c.to_lowercase().as_str(),
            "feature article" | "insight" | "editorial"
        )
    });
    let sub = subjects_of_type(meta, "sub-display-channel");
    match (prefixed, sub.first()) {
        (true, Some(s)) => Some(html::escape(s)),
        (false, Some(s)) => {
            cx.warn(
                format!("{META}/article-categories/subj-group[@subj-group-type=sub-display-channel]"),
                format!("sub-display channel {s:?} left out: eLife shows it as a title prefix only for feature articles, insights and editorials"),
            );
            None
        }
        _ => None,
    }
}

/// `elocation-id`, else `e` + the id, the form every eLife article has.
fn elocation_id(cx: &mut Cx<'_>, meta: &Element, id: &str) -> String {
    match meta
        .child("elocation-id")
        .map(Element::text)
        .filter(|t| !t.is_empty())
    {
        Some(e) => e,
        None => {
            let e = format!("e{id}");
            cx.warn(
                format!("{META}/elocation-id"),
                format!("missing: {e:?} used"),
            );
            e
        }
    }
}

/// PDF, figures PDF and XML URLs: from the options, else the package file
/// named by `self-uri`.
fn links(cx: &mut Cx<'_>, meta: &Element, article: &mut Article) {
    let self_uri = |cx: &mut Cx<'_>, kind: &str| -> Option<String> {
        let href = meta
            .children_named("self-uri")
            .find(|e| e.attr("content-type") == Some(kind))?
            .attr("xlink:href")?
            .to_owned();
        match cx.file(&href) {
            Some(f) => Some(f.url.clone()),
            None => {
                cx.warn(
                    format!("{META}/self-uri[@content-type={kind}]"),
                    format!("{href:?} is not in the package: no link"),
                );
                None
            }
        }
    };
    article.pdf = cx.opts.pdf.clone().or_else(|| self_uri(cx, "pdf"));
    article.figures_pdf = cx
        .opts
        .figures_pdf
        .clone()
        .or_else(|| self_uri(cx, "figures-pdf"));
    article.xml = cx.opts.xml.clone();
}

/// eLife's subject id: python-slugify with the stop words "and" and "of"
/// (what bot-lax-adaptor uses): "Physics of Living Systems" →
/// `physics-living-systems`.
pub(crate) fn subject_id(name: &str) -> String {
    name.to_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty() && *w != "and" && *w != "of")
        .collect::<Vec<_>>()
        .join("-")
}

fn subjects(cx: &mut Cx<'_>, meta: &Element) -> Vec<Subject> {
    let mut out: Vec<Subject> = Vec::new();
    for name in subjects_of_type(meta, "heading") {
        let id = subject_id(&name);
        if id.is_empty() {
            cx.warn(
                format!("{META}/article-categories/subj-group[@subj-group-type=heading]/subject"),
                format!("subject {name:?} has no usable id: left out"),
            );
            continue;
        }
        if !out.iter().any(|s| s.id == id) {
            out.push(Subject { id, name });
        }
    }
    out
}

/// The inline HTML of each non-empty `kwd` of the kwd-groups accepted.
fn kwds(
    cx: &mut Cx<'_>,
    meta: &Element,
    accept: impl Fn(Option<&str>) -> bool,
    first_only: bool,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for group in meta
        .children_named("kwd-group")
        .filter(|g| accept(g.attr("kwd-group-type")))
        .take(if first_only { 1 } else { usize::MAX })
    {
        let path = format!(
            "{META}/kwd-group[@kwd-group-type={}]/kwd",
            group.attr("kwd-group-type").unwrap_or("")
        );
        for k in group.children_named("kwd") {
            let h = html::inline(cx, k, &path);
            if !h.is_empty() && !out.contains(&h) {
                out.push(h);
            }
        }
    }
    out
}

/// Author keywords; a kwd-group without a type counts (some early
/// articles), as in elife-tools.
fn keywords(cx: &mut Cx<'_>, meta: &Element) -> Vec<String> {
    kwds(
        cx,
        meta,
        |t| matches!(t, None | Some("author-keywords")),
        false,
    )
}

/// The first research-organism group, without eLife's "None" and
/// "Other" placeholders.
fn research_organisms(cx: &mut Cx<'_>, meta: &Element) -> Vec<String> {
    kwds(cx, meta, |t| t == Some("research-organism"), true)
        .into_iter()
        .filter(|k| !matches!(k.to_lowercase().as_str(), "none" | "other"))
        .collect()
}

fn impact_statement(cx: &mut Cx<'_>, meta: &Element) -> Option<String> {
    let mut custom = Vec::new();
    meta.descendants("custom-meta", &[], &mut custom);
    let value = custom
        .into_iter()
        .find(|c| {
            c.child("meta-name")
                .is_some_and(|n| n.text() == "Author impact statement")
        })?
        .child("meta-value")?;
    let h = html::inline(
        cx,
        value,
        &format!("{META}/custom-meta-group/custom-meta/meta-value"),
    );
    (!h.is_empty()).then_some(h)
}

/// A Creative Commons licence URL → the model's licence id.
pub(crate) fn license_id(url: &str) -> Option<&'static str> {
    let u = url.trim().to_ascii_lowercase();
    let u = u
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_start_matches("www.")
        .trim_end_matches('/');
    let u = u.strip_suffix("/legalcode").unwrap_or(u);
    Some(match u {
        "creativecommons.org/licenses/by/4.0" => "CC-BY-4.0",
        "creativecommons.org/licenses/by/3.0" => "CC-BY-3.0",
        "creativecommons.org/licenses/by/2.5" => "CC-BY-2.5",
        "creativecommons.org/licenses/by/2.0" => "CC-BY-2.0",
        "creativecommons.org/licenses/by/1.0" => "CC-BY-1.0",
        "creativecommons.org/publicdomain/zero/1.0" => "CC0-1.0",
        _ => return None,
    })
}

fn copyright(cx: &mut Cx<'_>, meta: &Element) -> Result<Copyright> {
    let base = format!("{META}/permissions");
    let perms = meta.child("permissions").ok_or_else(|| cx.missing(&base))?;
    let lic_path = format!("{base}/license");
    let license = perms
        .child("license")
        .ok_or_else(|| cx.missing(&lic_path))?;
    let url = license
        .attr("xlink:href")
        .map(str::to_owned)
        .or_else(|| license.child("ali:license_ref").map(Element::text))
        .ok_or_else(|| cx.missing(&format!("{lic_path}/@xlink:href")))?;
    let id = license_id(&url).ok_or_else(|| {
        cx.invalid(
            &lic_path,
            format!("licence {url:?} is none of CC-BY 1.0-4.0 or CC0 1.0"),
        )
    })?;
    let statement = match license.child("license-p") {
        Some(p) => html::inline(cx, p, &format!("{lic_path}/license-p")),
        None => String::new(),
    };
    let statement = if statement.is_empty() {
        match perms.child("copyright-statement") {
            Some(s) => html::inline(cx, s, &format!("{base}/copyright-statement")),
            None => String::new(),
        }
    } else {
        statement
    };
    if statement.is_empty() {
        return Err(cx.missing(&format!("{lic_path}/license-p")));
    }
    let holder = if id == "CC0-1.0" {
        None
    } else {
        let h = perms
            .child("copyright-holder")
            .map(Element::text)
            .filter(|h| !h.is_empty())
            .ok_or_else(|| cx.missing(&format!("{base}/copyright-holder")))?;
        // elife-tools: "Smith et al" → "Smith et al."
        Some(if h.ends_with("et al") {
            format!("{h}.")
        } else {
            h
        })
    };
    Ok(Copyright {
        license: id.to_owned(),
        statement,
        holder,
    })
}

#[cfg(test)]
mod tests;
