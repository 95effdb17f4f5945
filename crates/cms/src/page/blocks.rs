//! Content blocks (paragraphs, sections, figures, tables, equations,
//! lists, boxes, quotes, code, videos) as HTML.

use super::*;

/// Renders blocks into one string, keeping track of the heading level.
pub(super) struct Blocks<'o> {
    pub(super) out: &'o mut String,
}

impl Blocks<'_> {
    /// Render `items` with sections headed at `level` (2 = `<h2>`).
    pub(super) fn all(&mut self, items: &[Value], level: u8) {
        for b in items {
            self.block(b, level);
        }
    }

    pub(super) fn heading(&mut self, level: u8, class: &str, html: &str) {
        let l = level.clamp(2, 6);
        let _ = write!(self.out, "<h{l} class=\"{class}\">{html}</h{l}>");
    }

    pub(super) fn block(&mut self, b: &Value, level: u8) {
        match get_str(b, "type").unwrap_or("") {
            "paragraph" => {
                if let Some(t) = get_str(b, "text") {
                    let _ = writeln!(self.out, "<p>{}</p>", sanitize(t));
                }
            }
            "section" => {
                let _ = write!(self.out, "<section{}>", id_attr(b));
                if let Some(t) = get_str(b, "title") {
                    self.heading(level, "section-title", &sanitize(t));
                }
                self.all(get_arr(b, "content"), level + 1);
                self.out.push_str("</section>\n");
            }
            "box" => {
                let _ = write!(self.out, "<aside class=\"box\"{}>", id_attr(b));
                let label = get_str(b, "label").map(escape);
                let title = get_str(b, "title").map(sanitize);
                if label.is_some() || title.is_some() {
                    let l = level.clamp(3, 6);
                    let _ = write!(self.out, "<h{l} class=\"box-title\">");
                    if let Some(label) = label {
                        let _ = write!(self.out, "<span class=\"label\">{label}</span> ");
                    }
                    self.out.push_str(&title.unwrap_or_default());
                    let _ = write!(self.out, "</h{l}>");
                }
                self.all(get_arr(b, "content"), level + 1);
                self.out.push_str("</aside>\n");
            }
            "figure" => self.figure(b, level),
            "image" if get_img(b).is_some() => {
                let _ = write!(self.out, "<figure class=\"image\"{}>", id_attr(b));
                self.image_asset(b, level);
                self.out.push_str("</figure>\n");
            }
            "table" => {
                let _ = write!(self.out, "<figure class=\"table\"{}>", id_attr(b));
                self.table_asset(b, level);
                self.out.push_str("</figure>\n");
            }
            "video" => {
                let _ = write!(self.out, "<figure class=\"video\"{}>", id_attr(b));
                self.video_asset(b, level);
                self.out.push_str("</figure>\n");
            }
            "mathml" => {
                if let Some(m) = get_str(b, "mathml") {
                    let _ = write!(
                        self.out,
                        "<div class=\"equation\"{}>{}",
                        id_attr(b),
                        sanitize(m)
                    );
                    if let Some(l) = get_str(b, "label") {
                        let _ = write!(self.out, "<span class=\"label\">{}</span>", escape(l));
                    }
                    self.out.push_str("</div>\n");
                }
            }
            "list" => self.list(b, level),
            "quote" => {
                self.out.push_str("<blockquote>");
                self.all(get_arr(b, "text"), level);
                if let Some(c) = get_str(b, "cite") {
                    let _ = write!(self.out, "<footer><cite>{}</cite></footer>", sanitize(c));
                }
                self.out.push_str("</blockquote>\n");
            }
            "excerpt" => {
                self.out.push_str("<blockquote class=\"excerpt\">");
                self.all(get_arr(b, "content"), level);
                if let Some(c) = get_str(b, "cite") {
                    let _ = write!(self.out, "<footer><cite>{}</cite></footer>", sanitize(c));
                }
                self.out.push_str("</blockquote>\n");
            }
            "code" => {
                if let Some(c) = b.get("code").and_then(Value::as_str) {
                    let lang = get_str(b, "language")
                        .map(|l| format!(" class=\"language-{}\"", escape(l)))
                        .unwrap_or_default();
                    let _ = writeln!(self.out, "<pre><code{lang}>{}</code></pre>", escape(c));
                }
            }
            "question" => {
                self.out.push_str("<section class=\"question\">");
                if let Some(q) = get_str(b, "question") {
                    self.heading(level, "question-title", &sanitize(q));
                }
                self.all(get_arr(b, "answer"), level + 1);
                self.out.push_str("</section>\n");
            }
            "youtube" => {
                if let Some(id) = get_str(b, "id") {
                    let url = format!("https://www.youtube.com/watch?v={id}");
                    let title = get_str(b, "title").map_or_else(|| escape(&url), sanitize);
                    let _ = writeln!(
                        self.out,
                        "<p class=\"youtube\">Video: <a href=\"{}\">{title}</a></p>",
                        escape(&url)
                    );
                }
            }
            // Unknown or malformed: skipped (see the module doc).
            _ => {}
        }
    }

    pub(super) fn list(&mut self, b: &Value, level: u8) {
        let style = match get_str(b, "prefix").unwrap_or("bullet") {
            "alpha-lower" => Some("lower-alpha"),
            "alpha-upper" => Some("upper-alpha"),
            "roman-lower" => Some("lower-roman"),
            "roman-upper" => Some("upper-roman"),
            "number" => Some("decimal"),
            "none" => Some("none"),
            _ => None,
        };
        let tag = if matches!(style, Some("none") | None) {
            "ul"
        } else {
            "ol"
        };
        match style {
            Some(s) => {
                let _ = write!(self.out, "<{tag} style=\"list-style-type:{s}\">");
            }
            None => {
                let _ = write!(self.out, "<{tag}>");
            }
        }
        for item in get_arr(b, "items") {
            self.out.push_str("<li>");
            match item {
                Value::String(s) => self.out.push_str(&sanitize(s)),
                Value::Array(blocks) => self.all(blocks, level + 1),
                _ => {}
            }
            self.out.push_str("</li>");
        }
        let _ = writeln!(self.out, "</{tag}>");
    }

    /// Label, title, caption, attribution and source data of an asset.
    pub(super) fn caption(&mut self, a: &Value, level: u8) {
        self.caption_with(a, level, "");
    }

    /// [`Blocks::caption`] ending with `extra` (HTML), kept inside the one
    /// `<figcaption>` a figure may have as its last child.
    pub(super) fn caption_with(&mut self, a: &Value, level: u8, extra: &str) {
        let label = get_str(a, "label");
        let title = get_str(a, "title");
        let caption = get_arr(a, "caption");
        let attribution = strings(a, "attribution");
        let source_data = get_arr(a, "sourceData");
        if label.is_none()
            && title.is_none()
            && caption.is_empty()
            && attribution.is_empty()
            && source_data.is_empty()
            && extra.is_empty()
        {
            return;
        }
        self.out.push_str("<figcaption>");
        if label.is_some() || title.is_some() {
            self.out.push_str("<p class=\"figure-title\">");
            if let Some(l) = label {
                let _ = write!(self.out, "<span class=\"label\">{}</span> ", escape(l));
            }
            if let Some(t) = title {
                let _ = write!(self.out, "<span class=\"title\">{}</span>", sanitize(t));
            }
            self.out.push_str("</p>");
        }
        self.all(caption, level + 1);
        for a in attribution {
            let _ = write!(self.out, "<p class=\"attribution\">{}</p>", sanitize(&a));
        }
        if let Some(doi) = get_str(a, "doi") {
            let _ = write!(self.out, "<p class=\"asset-doi\">{}</p>", doi_link(doi));
        }
        if !source_data.is_empty() {
            self.out.push_str("<ul class=\"source-data\">");
            for f in source_data {
                self.out.push_str("<li>");
                self.file(f);
                self.out.push_str("</li>");
            }
            self.out.push_str("</ul>");
        }
        self.out.push_str(extra);
        self.out.push_str("</figcaption>");
    }

    /// A downloadable file (source data, additional file): label, title, link.
    pub(super) fn file(&mut self, f: &Value) {
        let text = [get_str(f, "label"), get_str(f, "title")]
            .into_iter()
            .flatten()
            .map(sanitize)
            .collect::<Vec<_>>()
            .join(" ");
        let text = if text.is_empty() {
            escape(get_str(f, "filename").unwrap_or("file"))
        } else {
            text
        };
        match get_str(f, "uri") {
            Some(uri) => self.out.push_str(&link(uri, &text)),
            None => self.out.push_str(&text),
        }
        if let Some(name) = get_str(f, "filename") {
            let _ = write!(self.out, " <small>({})</small>", escape(name));
        }
    }

    pub(super) fn image_asset(&mut self, a: &Value, level: u8) {
        if let Some((src, alt)) = get_img(a) {
            let _ = write!(
                self.out,
                "<img src=\"{}\" alt=\"{}\" loading=\"eager\">",
                escape(src),
                alt
            );
        }
        self.caption(a, level);
    }

    pub(super) fn table_asset(&mut self, a: &Value, level: u8) {
        self.caption(a, level);
        for t in strings(a, "tables") {
            let _ = write!(self.out, "<div class=\"table-wrap\">{}</div>", sanitize(&t));
        }
        let footnotes = get_arr(a, "footnotes");
        if !footnotes.is_empty() {
            self.out.push_str("<div class=\"footnotes\">");
            for f in footnotes {
                let _ = write!(self.out, "<div class=\"footnote\"{}>", id_attr(f));
                if let Some(l) = get_str(f, "label") {
                    let _ = write!(self.out, "<span class=\"label\">{}</span>", escape(l));
                }
                self.all(get_arr(f, "text"), level + 1);
                self.out.push_str("</div>");
            }
            self.out.push_str("</div>");
        }
    }

    /// A video: a player when a browser can play one of its sources, and
    /// always a visible download link per source. eLife's older packages
    /// carry AVI/QuickTime files that no browser plays; a `<video>` of
    /// those alone is a dead grey box (its fallback content is never shown
    /// by a browser that supports `<video>`), so they get the poster, if
    /// any, and the links instead.
    pub(super) fn video_asset(&mut self, a: &Value, level: u8) {
        let poster = a.get("placeholder").and_then(get_img_of);
        let sources: Vec<(&str, Option<&str>)> = get_arr(a, "sources")
            .iter()
            .filter_map(|s| {
                let uri = get_str(s, "uri").filter(|u| safe_url(u))?;
                Some((uri, get_str(s, "mediaType")))
            })
            .collect();
        let playable: Vec<&(&str, Option<&str>)> = sources
            .iter()
            .filter(|(_, media)| media.is_some_and(browser_plays))
            .collect();
        if !playable.is_empty() {
            let poster_attr = poster
                .as_ref()
                .map(|(src, _)| format!(" poster=\"{}\"", escape(src)))
                .unwrap_or_default();
            let size = match (
                a.get("width").and_then(Value::as_u64),
                a.get("height").and_then(Value::as_u64),
            ) {
                (Some(w), Some(h)) => format!(" width=\"{w}\" height=\"{h}\""),
                _ => String::new(),
            };
            let _ = write!(
                self.out,
                "<video controls preload=\"none\"{poster_attr}{size}>"
            );
            for (uri, media) in playable {
                let media = media
                    .map(|m| format!(" type=\"{}\"", escape(m)))
                    .unwrap_or_default();
                let _ = write!(self.out, "<source src=\"{}\"{media}>", escape(uri));
            }
            self.out.push_str("</video>");
        } else if let Some((src, alt)) = &poster {
            let _ = write!(
                self.out,
                "<img src=\"{}\" alt=\"{alt}\" loading=\"eager\">",
                escape(src)
            );
        }
        // Inside the caption, after the label that says what is downloaded.
        let mut downloads = String::new();
        if !sources.is_empty() {
            downloads.push_str("<p class=\"downloads\">");
            for (i, (uri, media)) in sources.iter().enumerate() {
                if i > 0 {
                    downloads.push(' ');
                }
                let kind = media.map(format_name).unwrap_or_default();
                let text = if kind.is_empty() {
                    "Download the video".to_owned()
                } else {
                    format!("Download the video ({kind})")
                };
                let _ = write!(
                    downloads,
                    "<a class=\"download\" href=\"{}\">{}</a>",
                    escape(uri),
                    escape(&text)
                );
            }
            downloads.push_str("</p>");
        }
        self.caption_with(a, level, &downloads);
    }

    /// A figure: its first asset, then the others as supplements.
    pub(super) fn figure(&mut self, b: &Value, level: u8) {
        let assets = get_arr(b, "assets");
        let Some((first, rest)) = assets.split_first() else {
            return;
        };
        let kind = get_str(first, "type").unwrap_or("image");
        let _ = write!(
            self.out,
            "<figure class=\"{}\"{}>",
            escape(kind),
            id_attr(first)
        );
        self.asset(first, level);
        if !rest.is_empty() {
            self.out.push_str("<div class=\"supplements\">");
            for a in rest {
                let kind = get_str(a, "type").unwrap_or("image");
                let _ = write!(
                    self.out,
                    "<figure class=\"supplement {}\"{}>",
                    escape(kind),
                    id_attr(a)
                );
                self.asset(a, level);
                self.out.push_str("</figure>");
            }
            self.out.push_str("</div>");
        }
        self.out.push_str("</figure>\n");
    }

    pub(super) fn asset(&mut self, a: &Value, level: u8) {
        match get_str(a, "type").unwrap_or("") {
            "table" => self.table_asset(a, level),
            "video" => self.video_asset(a, level),
            _ => self.image_asset(a, level),
        }
    }
}

/// Whether browsers play a video of this media type in `<video>`: MP4,
/// WebM and Ogg (parameters such as `codecs` ignored).
pub(super) fn browser_plays(media_type: &str) -> bool {
    let base = media_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    matches!(base.as_str(), "video/mp4" | "video/webm" | "video/ogg")
}

/// A short name for a media type, for a download link: `video/x-msvideo`
/// → `AVI`, `video/quicktime` → `MOV`, else the subtype upper-cased.
pub(super) fn format_name(media_type: &str) -> String {
    let base = media_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match base.as_str() {
        "video/x-msvideo" | "video/avi" => "AVI".into(),
        "video/quicktime" => "MOV".into(),
        other => other
            .rsplit('/')
            .next()
            .unwrap_or("")
            .trim_start_matches("x-")
            .to_ascii_uppercase(),
    }
}

/// `image.source.uri` and escaped `alt` of an image block or asset.
pub(super) fn get_img(a: &Value) -> Option<(&str, String)> {
    a.get("image").and_then(get_img_of)
}

/// `source.uri` (the web rendition; `uri` is an IIIF base, not an image)
/// and escaped `alt` of an image object.
pub(super) fn get_img_of(img: &Value) -> Option<(&str, String)> {
    let src = img
        .get("source")
        .and_then(|s| get_str(s, "uri"))
        .filter(|u| safe_url(u))?;
    let alt = img
        .get("alt")
        .and_then(Value::as_str)
        .map(text_only)
        .unwrap_or_default();
    Some((src, alt))
}
