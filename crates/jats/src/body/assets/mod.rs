//! Assets: figures (with figure supplements and source data), tables,
//! videos, supplementary files, and the model's image object.
//!
//! Every file an asset names is resolved against the package
//! ([`crate::PackageFile`]): an image or video the package does not hold
//! fails the conversion (the model requires the image, and a dangling link
//! would be published otherwise). Images are served by IIIF (`uri`); their
//! `source` is the largest web rendition, a JPEG browsers can show (eLife's
//! `source` is the TIFF through IIIF: a deliberate departure).

use super::{blocks, Block};
use crate::cx::Cx;
use crate::html;
use crate::xml::{Element, Node};
use serde::Serialize;

mod media;

use media::asset_file;
pub(crate) use media::{additional_files, video};

/// The model's IIIF image object.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Image {
    pub uri: String,
    pub alt: String,
    pub source: File,
    pub size: Size,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attribution: Vec<String>,
}

/// A downloadable file.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct File {
    pub media_type: String,
    pub uri: String,
    pub filename: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Size {
    pub width: u32,
    pub height: u32,
}

/// An image: a figure asset (with id and label) or, unlabelled, an image
/// block on its own.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageAsset {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doi: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Inline HTML.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub caption: Vec<Block>,
    pub image: Image,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub source_data: Vec<AssetFile>,
}

/// A table: a figure asset when labelled, else a table block.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Table {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doi: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub caption: Vec<Block>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attribution: Vec<String>,
    /// HTML strings, each `<table>…</table>`.
    pub tables: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub footnotes: Vec<Footnote>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub source_data: Vec<AssetFile>,
}

/// A table footnote: paragraphs (and formulas), with id and label together.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Footnote {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub text: Vec<Block>,
}

/// A video (always a figure asset, as eLife has it).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Video {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doi: Option<String>,
    pub id: String,
    pub label: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub caption: Vec<Block>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attribution: Vec<String>,
    pub sources: Vec<VideoSource>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<Image>,
    pub width: u32,
    pub height: u32,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub autoplay: bool,
    #[serde(rename = "loop", skip_serializing_if = "std::ops::Not::not")]
    pub loop_: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub source_data: Vec<AssetFile>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VideoSource {
    pub media_type: String,
    pub uri: String,
}

/// One asset of a figure block.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Asset {
    Image(ImageAsset),
    Table(Table),
    Video(Video),
}

/// A file attached to an asset (source data) or to the article
/// (additional files): the model's asset-file.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AssetFile {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doi: Option<String>,
    pub id: String,
    pub label: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub caption: Vec<Block>,
    pub media_type: String,
    pub uri: String,
    pub filename: String,
}

/// An additional (supplementary) file of the article.
pub type AdditionalFile = AssetFile;

// ---------------------------------------------------------------- helpers

/// A DOI as the model wants it: no resolver prefix, and only if it looks
/// like a DOI (`10.NNNN/...`).
pub(crate) fn clean_doi(s: &str) -> Option<String> {
    let s = s.trim();
    let s = [
        "https://doi.org/",
        "http://doi.org/",
        "https://dx.doi.org/",
        "http://dx.doi.org/",
        "doi:",
    ]
    .iter()
    .find_map(|p| s.strip_prefix(p))
    .unwrap_or(s);
    let (prefix, suffix) = s.split_once('/')?;
    let ok = prefix.len() >= 7
        && prefix.starts_with("10.")
        && prefix[3..].chars().all(|c| c.is_ascii_digit() || c == '.')
        && !suffix.is_empty()
        && !s.contains(|c: char| c.is_whitespace() || c == '"' || c == '<' || c == '>');
    ok.then(|| s.to_owned())
}

/// The DOI in an element's own `object-id`.
pub(crate) fn object_doi(e: &Element) -> Option<String> {
    e.elements()
        .find(|c| c.name == "object-id" && c.attr("pub-id-type") == Some("doi"))
        .and_then(|c| clean_doi(&c.text()))
}

/// A label without its trailing punctuation (`Figure 1.` → `Figure 1`).
fn label_of(e: &Element) -> Option<String> {
    let l = e.child("label")?.text();
    let l = l.trim_end_matches(['.', ':']).trim().to_owned();
    (!l.is_empty()).then_some(l)
}

/// Whether a caption paragraph is the legacy `DOI: http://dx.doi.org/…` line
/// eLife's older XML repeats (the DOI is in `object-id` already).
pub(crate) fn is_doi_paragraph(p: &Element) -> bool {
    let t = p.text();
    if t.starts_with("DOI:") {
        return true;
    }
    let first_is_doi_link = p
        .elements()
        .next()
        .is_some_and(|e| e.name == "ext-link" && e.attr("ext-link-type") == Some("doi"));
    (t.starts_with("http://dx.doi.org") || t.starts_with("https://doi.org"))
        && !t.contains(' ')
        && first_is_doi_link
}

/// What a `caption` holds: its title (inline HTML), its blocks (only those
/// the model allows in captions), and the supplementary files named in it
/// (source data).
struct Caption<'e> {
    title: Option<String>,
    blocks: Vec<Block>,
    supplements: Vec<&'e Element>,
}

fn caption<'e>(cx: &mut Cx<'_>, owner: &'e Element, path: &str) -> Caption<'e> {
    let mut out = Caption {
        title: None,
        blocks: Vec::new(),
        supplements: Vec::new(),
    };
    let Some(c) = owner.child("caption") else {
        return out;
    };
    let path = format!("{path}/caption");
    if let Some(t) = c.child("title") {
        let t = html::inline(cx, t, &format!("{path}/title"));
        out.title = (!t.is_empty()).then_some(t);
    }
    // A shallow copy without the title, the DOI line and source data, for
    // the block converter.
    let mut rest = Element {
        name: "caption".into(),
        attrs: Vec::new(),
        children: Vec::new(),
    };
    for n in &c.children {
        match n {
            Node::Element(e) if e.name == "title" => {}
            Node::Element(e) if e.name == "p" && is_doi_paragraph(e) => {}
            Node::Element(e) if e.name == "supplementary-material" => out.supplements.push(e),
            Node::Element(e) if e.name == "p" => {
                let mut supp = Vec::new();
                e.descendants("supplementary-material", &[], &mut supp);
                if supp.is_empty() {
                    rest.children.push(n.clone());
                } else {
                    out.supplements.extend(supp);
                }
            }
            _ => rest.children.push(n.clone()),
        }
    }
    for b in blocks(cx, &rest, &path) {
        caption_block(cx, b, &path, &mut out.blocks);
    }
    out
}

/// Captions hold paragraphs and formulas only: a list's items become
/// paragraphs; anything else is left out with a warning.
fn caption_block(cx: &mut Cx<'_>, b: Block, path: &str, out: &mut Vec<Block>) {
    match b {
        Block::Paragraph { .. } | Block::Mathml(_) => out.push(b),
        Block::List(l) => {
            for item in l.items {
                match item {
                    super::ListItem::Text(t) => out.push(Block::Paragraph { text: t }),
                    super::ListItem::Blocks(bs) => {
                        for b in bs {
                            caption_block(cx, b, path, out);
                        }
                    }
                }
            }
        }
        other => cx.warn(
            path,
            format!(
                "a {} block is not allowed in a caption: left out",
                other.kind()
            ),
        ),
    }
}

/// The id an asset must have; a missing one is made up from `fallback`.
fn required_id(cx: &mut Cx<'_>, e: &Element, path: &str, fallback: &str) -> String {
    match e.attr("id").map(str::trim).filter(|s| !s.is_empty()) {
        Some(id) => id.split_whitespace().collect::<Vec<_>>().join("-"),
        None => {
            cx.warn(path, format!("no id: {fallback:?} used"));
            fallback.to_owned()
        }
    }
}

/// Attribution lines: `attrib` and the `permissions` (copyright and
/// licence) of an asset.
fn attribution(cx: &mut Cx<'_>, e: &Element, path: &str) -> Vec<String> {
    let mut out = Vec::new();
    for a in e.children_named("attrib") {
        let s = html::inline(cx, a, &format!("{path}/attrib"));
        if !s.is_empty() {
            out.push(s);
        }
    }
    for p in e.children_named("permissions") {
        let mut parts = Vec::new();
        if let Some(c) = p.child("copyright-statement") {
            parts.push(html::inline(
                cx,
                c,
                &format!("{path}/permissions/copyright-statement"),
            ));
        }
        for l in p.children_named("license") {
            for lp in l.children_named("license-p") {
                parts.push(html::inline(
                    cx,
                    lp,
                    &format!("{path}/permissions/license/license-p"),
                ));
            }
        }
        let parts: Vec<String> = parts
            .into_iter()
            .map(|s| s.trim().trim_end_matches('.').to_owned())
            .filter(|s| !s.is_empty())
            .collect();
        if !parts.is_empty() {
            out.push(format!("{}.", parts.join(". ")));
        }
    }
    out
}

// ---------------------------------------------------------------- images

/// The image object for a `graphic` (or `inline-graphic`). A graphic whose
/// file is not in the package, or has no web rendition, fails the
/// conversion (recorded in `cx`, see [`Cx::fail`]).
pub(crate) fn image(cx: &mut Cx<'_>, g: &Element, path: &str) -> Option<Image> {
    let Some(href) = g
        .attr("xlink:href")
        .map(str::trim)
        .filter(|h| !h.is_empty())
    else {
        cx.fail(cx.invalid(path, "graphic without xlink:href"));
        return None;
    };
    let Some(file) = cx.file(href) else {
        cx.fail(cx.invalid(path, format!("{href:?} is not a file of the package")));
        return None;
    };
    let Some(web) = file.web.first() else {
        cx.fail(cx.invalid(
            path,
            format!(
                "{:?} has no web rendition (not an image the pipeline resized?)",
                file.name
            ),
        ));
        return None;
    };
    let base = cx.opts.iiif_base_url.trim_end_matches('/');
    Some(Image {
        uri: format!("{base}/{}%2F{}", cx.article_id, file.name),
        alt: String::new(),
        source: File {
            media_type: "image/jpeg".into(),
            uri: web.url.clone(),
            filename: web.filename.clone(),
        },
        size: Size {
            width: web.width.max(1),
            height: web.height.max(1),
        },
        attribution: Vec::new(),
    })
}

/// A `fig`: a figure block with one image asset when labelled, else an
/// image block (as eLife does).
pub(crate) fn figure(cx: &mut Cx<'_>, fig: &Element, path: &str) -> Option<Block> {
    let asset = figure_asset(cx, fig, path)?;
    Some(if asset.label.is_some() {
        Block::Figure {
            assets: vec![Asset::Image(asset)],
        }
    } else {
        Block::Image(asset)
    })
}

fn figure_asset(cx: &mut Cx<'_>, fig: &Element, path: &str) -> Option<ImageAsset> {
    let mut graphics = Vec::new();
    fig.descendants("graphic", &["caption"], &mut graphics);
    let Some(g) = graphics.first() else {
        cx.fail(cx.missing(&format!("{path}/graphic")));
        return None;
    };
    if graphics.len() > 1 {
        cx.warn(path, "more than one graphic: only the first is shown");
    }
    let mut img = image(cx, g, &format!("{path}/graphic"))?;
    img.attribution = attribution(cx, fig, path);
    let cap = caption(cx, fig, path);
    let mut source_data = source_data(cx, &cap.supplements, path);
    source_data.extend(direct_supplements(cx, fig, path));
    let label = label_of(fig);
    let id = match &label {
        Some(_) => Some(required_id(cx, fig, path, "fig")),
        None => fig.attr("id").map(str::to_owned),
    };
    Some(ImageAsset {
        doi: object_doi(fig),
        id,
        label,
        title: cap.title,
        caption: cap.blocks,
        image: img,
        source_data,
    })
}

/// `supplementary-material` children of an asset itself (newer XML puts
/// source data there rather than in the caption).
fn direct_supplements(cx: &mut Cx<'_>, e: &Element, path: &str) -> Vec<AssetFile> {
    let supp: Vec<&Element> = e.children_named("supplementary-material").collect();
    source_data(cx, &supp, path)
}

fn source_data(cx: &mut Cx<'_>, supp: &[&Element], path: &str) -> Vec<AssetFile> {
    let mut out = Vec::new();
    for (i, s) in supp.iter().enumerate() {
        let p = format!("{path}/supplementary-material[{}]", i + 1);
        if let Some(f) = asset_file(cx, s, &p, i + 1) {
            out.push(f);
        }
    }
    out
}

/// A `fig-group`: the first figure with its supplements (figures and
/// videos) as further assets of the same figure block.
pub(crate) fn fig_group(cx: &mut Cx<'_>, group: &Element, path: &str) -> Option<Block> {
    let mut assets = Vec::new();
    for (i, c) in group.elements().enumerate() {
        let p = format!("{path}/{}[{}]", c.name, i + 1);
        match c.name.as_str() {
            "fig" => {
                if let Some(mut a) = figure_asset(cx, c, &p) {
                    if a.label.is_none() {
                        cx.warn(&p, "figure without a label in a fig-group: its id is used");
                        a.label = Some(a.id.clone().unwrap_or_else(|| "Figure".into()));
                    }
                    if a.id.is_none() {
                        a.id = Some(required_id(cx, c, &p, &format!("fig-group-{}", i + 1)));
                    }
                    assets.push(Asset::Image(a));
                }
            }
            "media" if c.attr("mimetype") == Some("video") => {
                if let Some(v) = video(cx, c, &p) {
                    assets.push(Asset::Video(v));
                }
            }
            "caption" | "label" | "object-id" => {}
            other => cx.warn(&p, format!("<{other}> in a fig-group not mapped: left out")),
        }
    }
    (!assets.is_empty()).then_some(Block::Figure { assets })
}

// ---------------------------------------------------------------- tables

/// A `table-wrap`: a figure block with a table asset when labelled, else a
/// table block.
pub(crate) fn table_wrap(cx: &mut Cx<'_>, tw: &Element, path: &str) -> Option<Block> {
    let cap = caption(cx, tw, path);
    let mut tables = Vec::new();
    let mut found = Vec::new();
    tw.descendants("table", &["caption", "table-wrap-foot"], &mut found);
    for t in found {
        let h = html::table(cx, t, &format!("{path}/table"));
        if h != "<table></table>" {
            tables.push(h);
        }
    }
    if tables.is_empty() {
        // A table supplied only as an image (older XML).
        let mut graphics = Vec::new();
        tw.descendants("graphic", &["caption"], &mut graphics);
        if let Some(g) = graphics.first() {
            let img = image(cx, g, &format!("{path}/graphic"))?;
            let asset = ImageAsset {
                doi: object_doi(tw),
                id: tw.attr("id").map(str::to_owned),
                label: label_of(tw),
                title: cap.title,
                caption: cap.blocks,
                image: img,
                source_data: Vec::new(),
            };
            return Some(if asset.label.is_some() && asset.id.is_some() {
                Block::Figure {
                    assets: vec![Asset::Image(asset)],
                }
            } else {
                Block::Image(asset)
            });
        }
        cx.warn(path, "table-wrap without a table: left out");
        return None;
    }
    let mut footnotes = Vec::new();
    for foot in tw.children_named("table-wrap-foot") {
        let fpath = format!("{path}/table-wrap-foot");
        let mut fns = Vec::new();
        foot.descendants("fn", &[], &mut fns);
        for f in fns {
            let text: Vec<Block> = footnote_text(cx, f, &format!("{fpath}/fn"));
            if text.is_empty() {
                continue;
            }
            let label = label_of(f);
            let (id, label) = match (f.attr("id"), label) {
                (Some(id), Some(l)) => (Some(id.to_owned()), Some(l)),
                _ => (None, None),
            };
            footnotes.push(Footnote { id, label, text });
        }
        // Paragraphs straight in the foot (no fn).
        let loose: Vec<&Element> = foot.children_named("p").collect();
        if !loose.is_empty() {
            let mut holder = Element {
                name: "table-wrap-foot".into(),
                ..Element::default()
            };
            holder.children = loose.iter().map(|p| Node::Element((*p).clone())).collect();
            let bs = blocks(cx, &holder, &fpath);
            let text = footnote_blocks(cx, bs, &fpath);
            if !text.is_empty() {
                footnotes.push(Footnote {
                    id: None,
                    label: None,
                    text,
                });
            }
        }
    }
    let mut source_data = source_data(cx, &cap.supplements, path);
    source_data.extend(direct_supplements(cx, tw, path));
    let label = label_of(tw);
    let id = match &label {
        Some(_) => Some(required_id(cx, tw, path, "table")),
        None => tw.attr("id").map(str::to_owned),
    };
    let t = Table {
        doi: object_doi(tw),
        id,
        label,
        title: cap.title,
        caption: cap.blocks,
        attribution: attribution(cx, tw, path),
        tables,
        footnotes,
        source_data,
    };
    Some(if t.label.is_some() {
        Block::Figure {
            assets: vec![Asset::Table(t)],
        }
    } else {
        Block::Table(t)
    })
}

fn footnote_text(cx: &mut Cx<'_>, f: &Element, path: &str) -> Vec<Block> {
    let b = blocks(cx, f, path);
    footnote_blocks(cx, b, path)
}

/// Footnotes hold paragraphs and formulas only.
fn footnote_blocks(cx: &mut Cx<'_>, bs: Vec<Block>, path: &str) -> Vec<Block> {
    let mut out = Vec::new();
    for b in bs {
        caption_block(cx, b, path, &mut out);
    }
    out
}

#[cfg(test)]
mod tests;
