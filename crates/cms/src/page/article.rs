//! The parts of an article page around its blocks: header, authors and
//! affiliations, references, peer review, funding, data, files, copyright.

use super::*;

/// Affiliations numbered in order of first appearance.
#[derive(Default)]
pub(super) struct Affiliations {
    order: Vec<String>,
    numbers: BTreeMap<String, usize>,
}

impl Affiliations {
    /// The number of an affiliation (escaped text, one line).
    pub(super) fn number(&mut self, aff: &Value) -> Option<usize> {
        let mut parts = strings(aff, "name");
        if let Some(addr) = aff.get("address") {
            parts.extend(strings(addr, "formatted"));
        }
        if parts.is_empty() {
            return None;
        }
        let text = escape(&parts.join(", "));
        if let Some(n) = self.numbers.get(&text) {
            return Some(*n);
        }
        self.order.push(text.clone());
        let n = self.order.len();
        self.numbers.insert(text, n);
        Some(n)
    }
}

pub(super) fn authors(out: &mut String, article: &Value) {
    let list = get_arr(article, "authors");
    if list.is_empty() {
        return;
    }
    let mut affs = Affiliations::default();
    out.push_str("<ol class=\"authors\">");
    for a in list {
        let Some(name) = name_html(a) else { continue };
        let mut sups: Vec<usize> = get_arr(a, "affiliations")
            .iter()
            .filter_map(|f| affs.number(f))
            .collect();
        sups.dedup();
        let orcid = get_str(a, "orcid")
            .map(|o| {
                format!(
                    " <a class=\"orcid\" href=\"https://orcid.org/{0}\" title=\"ORCID {0}\">iD</a>",
                    escape(o)
                )
            })
            .unwrap_or_default();
        let sup = if sups.is_empty() {
            String::new()
        } else {
            format!(
                "<sup>{}</sup>",
                sups.iter()
                    .map(usize::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            )
        };
        let _ = write!(out, "<li class=\"author\">{name}{sup}{orcid}</li>");
    }
    out.push_str("</ol>\n");
    if !affs.order.is_empty() {
        out.push_str("<ol class=\"affiliations\">");
        for (i, a) in affs.order.iter().enumerate() {
            let _ = write!(out, "<li id=\"aff{}\">{a}</li>", i + 1);
        }
        out.push_str("</ol>\n");
    }
}

/// Names of a reference's authors (or inventors, or thesis author).
pub(super) fn reference_names(r: &Value) -> String {
    let mut names: Vec<String> = ["authors", "inventors"]
        .iter()
        .flat_map(|k| get_arr(r, k))
        .filter_map(name_html)
        .collect();
    if let Some(a) = r.get("author").and_then(name_html) {
        names.push(a);
    }
    let mut s = names.join(", ");
    if r.get("authorsEtAl").and_then(Value::as_bool) == Some(true) {
        s.push_str(" et al.");
    }
    s
}

/// `pages` is a string or `{first, last, range}`.
pub(super) fn pages_text(r: &Value) -> Option<String> {
    match r.get("pages")? {
        Value::String(s) if !s.is_empty() => Some(escape(s)),
        p @ Value::Object(_) => get_str(p, "range").map(sanitize).or_else(|| {
            match (get_text(p, "first"), get_text(p, "last")) {
                (Some(f), Some(l)) => Some(escape(&format!("{f}–{l}"))),
                (Some(f), None) => Some(escape(&f)),
                _ => None,
            }
        }),
        _ => None,
    }
}

pub(super) fn reference(out: &mut String, r: &Value) {
    let _ = write!(out, "<li class=\"reference\"{}>", id_attr(r));
    let names = reference_names(r);
    if !names.is_empty() {
        let _ = write!(out, "<span class=\"ref-authors\">{names}</span> ");
    }
    if let Some(date) = get_text(r, "date") {
        let year: String = date.chars().take(4).collect();
        let disc = get_str(r, "discriminator").unwrap_or("");
        let _ = write!(
            out,
            "<span class=\"year\">({}{})</span> ",
            escape(&year),
            escape(disc)
        );
    }
    let title = ["articleTitle", "chapterTitle", "title"]
        .iter()
        .find_map(|k| get_str(r, k));
    if let Some(t) = title {
        let _ = write!(out, "<span class=\"title\">{}</span>. ", sanitize(t));
    }
    let mut source: Vec<String> = Vec::new();
    for k in ["journal", "bookTitle", "periodical", "source", "website"] {
        if let Some(s) = get_str(r, k) {
            if Some(s) != title {
                source.push(format!("<i>{}</i>", sanitize(s)));
            }
        }
    }
    for k in ["conference", "publisher"] {
        if let Some(p) = r.get(k) {
            let n = strings(p, "name");
            if !n.is_empty() {
                source.push(escape(&n.join(", ")));
            }
        }
    }
    if let Some(v) = get_text(r, "volume") {
        source.push(format!("<b>{}</b>", escape(&v)));
    }
    if let Some(p) = pages_text(r) {
        source.push(p);
    }
    if !source.is_empty() {
        let _ = write!(out, "<span class=\"source\">{}</span>. ", source.join(", "));
    }
    // Data sets say where they are held ("Available at Dryad ...").
    if let Some(d) = get_str(r, "details") {
        let _ = write!(out, "<span class=\"details\">{}</span>. ", sanitize(d));
    }
    if let Some(doi) = get_str(r, "doi") {
        out.push_str(&doi_link(doi));
    } else if let Some(uri) = get_str(r, "uri") {
        out.push_str(&link(uri, &escape(uri)));
    }
    if let Some(pmid) = get_text(r, "pmid") {
        let _ = write!(
            out,
            " <a class=\"pmid\" href=\"https://www.ncbi.nlm.nih.gov/pubmed/{0}\">PubMed {0}</a>",
            escape(&pmid)
        );
    }
    out.push_str("</li>\n");
}

/// A titled part of the page (`<section id><h2>`), if `content` has blocks.
pub(super) fn part(out: &mut String, id: &str, title: &str, content: &[Value]) {
    if content.is_empty() {
        return;
    }
    let _ = writeln!(out, "<section id=\"{id}\"><h2>{title}</h2>");
    Blocks { out }.all(content, 3);
    out.push_str("</section>\n");
}

/// A peer-review document (`{title?, doi?, description?, content}`).
pub(super) fn review(out: &mut String, id: &str, default_title: &str, v: Option<&Value>) {
    let Some(v) = v.filter(|v| v.is_object()) else {
        return;
    };
    let content = get_arr(v, "content");
    if content.is_empty() {
        return;
    }
    let title = get_str(v, "title").map_or_else(|| escape(default_title), sanitize);
    let _ = writeln!(
        out,
        "<section id=\"{id}\" class=\"review\"><h2>{title}</h2>"
    );
    // The description is the journal's note about the document, not the
    // document: set apart so it is not read as the editor's words.
    let description = get_arr(v, "description");
    if !description.is_empty() {
        out.push_str("<div class=\"review-description\">");
        Blocks { out }.all(description, 3);
        out.push_str("</div>\n");
    }
    Blocks { out }.all(content, 3);
    if let Some(doi) = get_str(v, "doi") {
        let _ = write!(out, "<p class=\"asset-doi\">{}</p>", doi_link(doi));
    }
    out.push_str("</section>\n");
}

/// The editors and reviewers the article names (`reviewers`: role, name,
/// affiliations), so a reader of the peer review knows who reviewed.
pub(super) fn reviewers(out: &mut String, list: &[Value]) {
    let items: Vec<String> = list
        .iter()
        .filter_map(|r| {
            let name = name_html(r)?;
            let role = get_str(r, "role")
                .map(|role| format!("<span class=\"role\">{}</span>: ", escape(role)))
                .unwrap_or_default();
            let affs: Vec<String> = get_arr(r, "affiliations")
                .iter()
                .filter_map(|a| {
                    let mut parts = strings(a, "name");
                    if let Some(addr) = a.get("address") {
                        parts.extend(strings(addr, "formatted"));
                    }
                    (!parts.is_empty()).then(|| escape(&parts.join(", ")))
                })
                .collect();
            let affs = if affs.is_empty() {
                String::new()
            } else {
                format!(", <span class=\"affiliation\">{}</span>", affs.join("; "))
            };
            Some(format!("<li>{role}<b>{name}</b>{affs}</li>"))
        })
        .collect();
    if items.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "<section id=\"reviewers\"><h2>Editors and reviewers</h2>\n<ul class=\"reviewers\">{}</ul></section>",
        items.concat()
    );
}

/// What the model says about each author beyond the byline: contribution,
/// competing interests, correspondence e-mail, present address. eLife
/// prints these as "Author information"; a reader judging the work needs
/// the competing interests in particular.
pub(super) fn author_information(out: &mut String, authors: &[Value]) {
    let mut items = String::new();
    for a in authors {
        let Some(name) = name_html(a) else { continue };
        let mut facts = String::new();
        for (key, label) in [
            ("contribution", "Contribution"),
            ("competingInterests", "Competing interests"),
        ] {
            if let Some(t) = get_str(a, key) {
                let _ = write!(
                    facts,
                    "<p><span class=\"label\">{label}:</span> {}</p>",
                    sanitize(t)
                );
            }
        }
        let emails: Vec<String> = strings(a, "emailAddresses")
            .iter()
            .map(|e| link(&format!("mailto:{}", e.trim()), &escape(e.trim())))
            .collect();
        if !emails.is_empty() {
            let _ = write!(
                facts,
                "<p><span class=\"label\">For correspondence:</span> {}</p>",
                emails.join(", ")
            );
        }
        let addresses: Vec<String> = get_arr(a, "postalAddresses")
            .iter()
            .map(|p| strings(p, "formatted").join(", "))
            .filter(|p| !p.trim().is_empty())
            .map(|p| escape(&p))
            .collect();
        if !addresses.is_empty() {
            let _ = write!(
                facts,
                "<p><span class=\"label\">Present address:</span> {}</p>",
                addresses.join("; ")
            );
        }
        if !facts.is_empty() {
            let _ = write!(items, "<dt>{name}</dt><dd>{facts}</dd>");
        }
    }
    if items.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "<section id=\"author-information\"><h2>Author information</h2>\n<dl class=\"author-information\">{items}</dl></section>"
    );
}

pub(super) fn funding(out: &mut String, f: &Value) {
    let awards = get_arr(f, "awards");
    let statement = get_str(f, "statement");
    if awards.is_empty() && statement.is_none() {
        return;
    }
    out.push_str("<section id=\"funding\"><h2>Funding</h2>\n<ul class=\"awards\">");
    for a in awards {
        let funder = a
            .get("source")
            .map(|s| strings(s, "name").join(", "))
            .unwrap_or_default();
        let _ = write!(out, "<li><b>{}</b>", escape(&funder));
        if let Some(id) = get_str(a, "awardId") {
            let id_html = escape(id);
            match get_str(a, "awardDoi") {
                Some(doi) => {
                    let _ = write!(out, " ({})", link(&doi_url(doi), &id_html));
                }
                None => {
                    let _ = write!(out, " ({id_html})");
                }
            }
        }
        let recipients: Vec<String> = get_arr(a, "recipients")
            .iter()
            .filter_map(name_html)
            .collect();
        if !recipients.is_empty() {
            let _ = write!(out, ": {}", recipients.join(", "));
        }
        out.push_str("</li>");
    }
    out.push_str("</ul>");
    if let Some(s) = statement {
        let _ = write!(out, "<p>{}</p>", sanitize(s));
    }
    out.push_str("</section>\n");
}

pub(super) fn data_sets(out: &mut String, d: &Value) {
    let availability = get_arr(d, "availability");
    let generated = get_arr(d, "generated");
    let used = get_arr(d, "used");
    if availability.is_empty() && generated.is_empty() && used.is_empty() {
        return;
    }
    out.push_str("<section id=\"data-sets\"><h2>Data availability</h2>\n");
    Blocks { out }.all(availability, 3);
    for (title, list) in [
        ("The following datasets were generated", generated),
        (
            "The following previously published datasets were used",
            used,
        ),
    ] {
        if list.is_empty() {
            continue;
        }
        let _ = write!(out, "<h3>{title}</h3><ol class=\"references data-sets\">");
        for ds in list {
            reference(out, ds);
        }
        out.push_str("</ol>");
    }
    out.push_str("</section>\n");
}

pub(super) fn additional_files(out: &mut String, files: &[Value]) {
    if files.is_empty() {
        return;
    }
    out.push_str("<section id=\"additional-files\"><h2>Additional files</h2>\n<ul>");
    for f in files {
        out.push_str("<li>");
        Blocks { out }.file(f);
        out.push_str("</li>");
    }
    out.push_str("</ul></section>\n");
}

pub(super) fn copyright(out: &mut String, article: &Value) {
    let Some(c) = article.get("copyright").filter(|c| c.is_object()) else {
        return;
    };
    out.push_str("<footer class=\"copyright\">");
    let year = get_str(article, "published")
        .map(|p| p.chars().take(4).collect::<String>())
        .unwrap_or_default();
    if let Some(holder) = get_str(c, "holder") {
        let _ = write!(out, "<p>© {}, {}</p>", escape(&year), escape(holder));
    }
    if let Some(s) = get_str(c, "statement") {
        let _ = write!(out, "<p>{}</p>", sanitize(s));
    }
    if let Some(l) = get_str(c, "license") {
        let _ = write!(out, "<p>Licence: {}</p>", escape(l));
    }
    out.push_str("</footer>\n");
}

/// The header: kind, date, version, DOI, title, authors, downloads.
pub(super) fn header(out: &mut String, article: &Value, ctx: &PageContext) {
    out.push_str("<header class=\"article-header\">\n<p class=\"meta\">");
    if let Some(t) = get_str(article, "type") {
        let _ = write!(
            out,
            "<span class=\"type\">{}</span>",
            escape(&type_label(t))
        );
    }
    for s in get_arr(article, "subjects") {
        if let Some(n) = get_str(s, "name") {
            let _ = write!(out, "<span class=\"subject\">{}</span>", escape(n));
        }
    }
    if let Some(s) = get_str(article, "status") {
        let _ = write!(
            out,
            "<span class=\"status\">{}</span>",
            escape(&status_label(s))
        );
    }
    let version = article
        .get("version")
        .and_then(Value::as_u64)
        .unwrap_or(u64::from(ctx.version));
    let _ = write!(out, "<span class=\"version\">Version {version}</span>");
    // The article's own date; else when this CMS published it.
    let published = get_str(article, "published").or(ctx.published_at.as_deref());
    if let Some(p) = published {
        let _ = write!(
            out,
            "<span class=\"published\">Published {}</span>",
            escape(date_part(p))
        );
    }
    out.push_str("</p>\n");
    if ctx.cms_status != "published" {
        out.push_str(
            "<p class=\"notice\">Preview: this version is ingested but not published.</p>\n",
        );
    }
    let prefix = get_str(article, "titlePrefix")
        .map(|p| format!("{}: ", sanitize(p)))
        .unwrap_or_default();
    let title = get_str(article, "title").map_or_else(|| escape(&ctx.article_id), sanitize);
    let _ = writeln!(out, "<h1 class=\"title\">{prefix}{title}</h1>");
    authors(out, article);
    let mut cite = Vec::new();
    if let Some(vol) = get_text(article, "volume") {
        let year = get_str(article, "published")
            .map(|p| p.chars().take(4).collect::<String>())
            .unwrap_or_default();
        let e = get_str(article, "elocationId").unwrap_or("");
        cite.push(format!(
            "<i>eLife</i> {};{}:{}",
            escape(&year),
            escape(&vol),
            escape(e)
        ));
    }
    if let Some(doi) = get_str(article, "doi") {
        cite.push(doi_link(doi));
    }
    if !cite.is_empty() {
        let _ = writeln!(out, "<p class=\"meta cite\">{}</p>", cite.join(" "));
    }
    let keywords: Vec<String> = strings(article, "keywords")
        .iter()
        .filter(|k| !k.trim().is_empty())
        .map(|k| sanitize(k))
        .collect();
    if !keywords.is_empty() {
        let _ = writeln!(
            out,
            "<p class=\"keywords\"><span class=\"label\">Keywords:</span> {}</p>",
            keywords.join(", ")
        );
    }
    let mut links = String::new();
    for (key, text) in [("pdf", "Download PDF"), ("figuresPdf", "Figures PDF")] {
        if let Some(uri) = get_str(article, key).filter(|u| safe_url(u)) {
            let _ = write!(
                links,
                "<a class=\"{key}\" href=\"{}\">{text}</a>",
                escape(uri)
            );
        }
    }
    let _ = write!(
        links,
        "<a class=\"json\" href=\"/articles/{}/versions/{}/json\">JSON</a>",
        escape(&ctx.article_id),
        ctx.version
    );
    let _ = writeln!(out, "<p class=\"links\">{links}</p>\n</header>");
}
