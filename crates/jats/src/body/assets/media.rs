//! Videos and files (source data, additional files): assets served as they
//! are from the package.

use super::{
    attribution, caption, direct_supplements, label_of, object_doi, required_id, source_data,
};
use super::{AssetFile, File, Image, Size, Video, VideoSource};
use crate::body::Block;
use crate::cx::Cx;
use crate::xml::Element;

/// Video size when the package has no poster frame to measure: 16:9, so the
/// player keeps a sensible shape (eLife had Glencoe's measurements).
const DEFAULT_VIDEO_SIZE: (u32, u32) = (1280, 720);

// ---------------------------------------------------------------- videos

/// A `media` video as a figure asset: the package file is its one source.
pub(crate) fn video(cx: &mut Cx<'_>, m: &Element, path: &str) -> Option<Video> {
    let Some(href) = m
        .attr("xlink:href")
        .map(str::trim)
        .filter(|h| !h.is_empty())
    else {
        cx.fail(cx.invalid(path, "video without xlink:href"));
        return None;
    };
    let Some(file) = cx.file(href) else {
        cx.fail(cx.invalid(path, format!("{href:?} is not a file of the package")));
        return None;
    };
    let media_type = if file.media_type.starts_with("video/") {
        file.media_type.clone()
    } else {
        match m
            .attr("mime-subtype")
            .filter(|s| !s.is_empty() && !s.contains('/'))
        {
            Some(sub) => format!("video/{sub}"),
            None => {
                cx.warn(
                    path,
                    format!("{:?}: media type unknown, video/mp4 assumed", file.name),
                );
                "video/mp4".into()
            }
        }
    };
    let cap = caption(cx, m, path);
    let label = label_of(m).unwrap_or_else(|| {
        cx.warn(path, "video without a label: \"Video\" used");
        "Video".into()
    });
    // A poster frame, if the pipeline made web renditions of the video.
    let (placeholder, (width, height)) = match file.web.first() {
        Some(w) => {
            let base = cx.opts.iiif_base_url.trim_end_matches('/');
            let img = Image {
                uri: format!("{base}/{}%2F{}", cx.article_id, w.filename),
                alt: String::new(),
                source: File {
                    media_type: "image/jpeg".into(),
                    uri: w.url.clone(),
                    filename: w.filename.clone(),
                },
                size: Size {
                    width: w.width.max(1),
                    height: w.height.max(1),
                },
                attribution: Vec::new(),
            };
            (Some(img), (w.width.max(1), w.height.max(1)))
        }
        None => {
            cx.warn(
                path,
                format!(
                    "video size unknown (no poster frame): {}x{} used",
                    DEFAULT_VIDEO_SIZE.0, DEFAULT_VIDEO_SIZE.1
                ),
            );
            (None, DEFAULT_VIDEO_SIZE)
        }
    };
    // Animations (GIFs, or labelled so) play on their own and loop.
    let animation = href.ends_with(".gif") || label.to_lowercase().contains("animation");
    let mut source_data = source_data(cx, &cap.supplements, path);
    source_data.extend(direct_supplements(cx, m, path));
    Some(Video {
        doi: object_doi(m),
        id: required_id(cx, m, path, "video"),
        label,
        title: cap.title,
        caption: cap.blocks,
        attribution: attribution(cx, m, path),
        sources: vec![VideoSource {
            media_type,
            uri: file.url.clone(),
        }],
        placeholder,
        width,
        height,
        autoplay: animation,
        loop_: animation,
        source_data,
    })
}

// ---------------------------------------------------------------- files

/// A `supplementary-material` as an asset file. `n` numbers it among its
/// siblings, for a made-up id/label when the XML has none (older PoA XML).
pub(crate) fn asset_file(cx: &mut Cx<'_>, s: &Element, path: &str, n: usize) -> Option<AssetFile> {
    // The file: a media child, else an ext-link (older PoA XML), else the
    // element's own href.
    let media = s.child("media");
    let mut links = Vec::new();
    s.descendants("ext-link", &[], &mut links);
    let link = links.first().copied();
    let href = media
        .and_then(|m| m.attr("xlink:href"))
        .or_else(|| link.and_then(|l| l.attr("xlink:href")))
        .or_else(|| s.attr("xlink:href"))
        .map(str::trim)
        .filter(|h| !h.is_empty());
    let Some(href) = href else {
        cx.fail(cx.invalid(
            path,
            "supplementary file without a file (no media xlink:href)",
        ));
        return None;
    };
    let Some(file) = cx.file(href) else {
        cx.fail(cx.invalid(path, format!("{href:?} is not a file of the package")));
        return None;
    };
    let xml_type = media.and_then(|m| {
        let t = m.attr("mimetype")?;
        if t.contains('/') {
            Some(t.to_owned())
        } else {
            m.attr("mime-subtype").map(|st| format!("{t}/{st}"))
        }
    });
    let media_type = if file.media_type.is_empty() || file.media_type == "application/octet-stream"
    {
        xml_type.unwrap_or_else(|| file.media_type.clone())
    } else {
        file.media_type.clone()
    };
    let cap = caption(cx, s, path);
    if !cap.supplements.is_empty() {
        cx.warn(
            path,
            "supplementary files inside a supplementary file's caption: left out",
        );
    }
    let label = label_of(s);
    let (label, title) = match (label, cap.title) {
        (Some(l), t) => (l, t),
        // eLife prefers a label: a lone title becomes it.
        (None, Some(t)) => (t.trim_end_matches(['.', ':']).to_owned(), None),
        (None, None) => (format!("Supplementary file {n}"), None),
    };
    Some(AssetFile {
        doi: object_doi(s),
        id: required_id(cx, s, path, &format!("SD{n}-data")),
        label,
        title,
        caption: cap.blocks,
        media_type,
        uri: file.url.clone(),
        filename: file.name.clone(),
    })
}

/// The article's additional files: every `supplementary-material` that is
/// not an asset's source data, nor in a sub-article (article-meta for older
/// PoA XML, body sections, back matter).
pub(crate) fn additional_files(cx: &mut Cx<'_>, root: &Element) -> Vec<AssetFile> {
    let mut found = Vec::new();
    root.descendants(
        "supplementary-material",
        &["fig", "table-wrap", "media", "sub-article", "fig-group"],
        &mut found,
    );
    let mut out = Vec::new();
    for (i, s) in found.into_iter().enumerate() {
        let path = format!("article//supplementary-material[{}]", i + 1);
        if let Some(f) = asset_file(cx, s, &path, i + 1) {
            out.push(f);
        }
    }
    // One zip of everything (PoA): described as eLife does.
    if let [only] = out.as_mut_slice() {
        if only.filename.contains("-supp-")
            && only.filename.ends_with(".zip")
            && only.caption.is_empty()
        {
            only.label = "All additional files".into();
            only.caption = vec![Block::Paragraph {
                text: "Any figure supplements, source code, source data, videos or supplementary files associated with this article are contained within this zip.".into(),
            }];
        }
    }
    out
}
