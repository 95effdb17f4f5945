//! Inline markup as HTML, and link safety.
//!
//! Every string of the article-json that the model calls HTML (titles,
//! paragraph text, captions, reference titles) is made here, so escaping and
//! link checks happen in one place: text is always escaped, and only
//! `http`, `https`, `mailto`, `ftp` and relative links survive
//! ([`safe_url`]); any other link (`javascript:`, `data:`...) keeps its text
//! and loses the link, with a warning.

use crate::cx::Cx;
use crate::xml::{Element, Node};

/// Escape text for HTML (element content and double-quoted attributes).
pub fn escape_into(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
}

/// The resolver URL of a DOI. DOIs may hold characters a URI may not
/// (`10.1890/0012-9658(1999)080[1762:IFEAPF]2.0.CO;2`); those are
/// percent-encoded so the URL is a valid URI, as the model requires.
pub fn doi_url(doi: &str) -> String {
    let mut out = String::from("https://doi.org/");
    for c in doi.trim().chars() {
        match c {
            'A'..='Z' | 'a'..='z' | '0'..='9' => out.push(c),
            '-' | '.' | '_' | '~' | '!' | '$' | '&' | '\'' | '(' | ')' | '*' | '+' | ',' | ';'
            | '=' | ':' | '@' | '/' => out.push(c),
            _ => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("%{b:02X}"));
                }
            }
        }
    }
    out
}

/// Escaped text.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    escape_into(s, &mut out);
    out
}

/// The link if it is safe to put in an `href` of a page: `http`, `https`,
/// `mailto`, `ftp`, or relative (no scheme). Leading/trailing whitespace and
/// control characters (which browsers ignore inside a scheme) are removed
/// before the scheme is read.
pub fn safe_url(href: &str) -> Option<String> {
    let cleaned: String = href.trim().chars().filter(|c| !c.is_control()).collect();
    if cleaned.is_empty() {
        return None;
    }
    // A scheme is letters, digits, `+`, `-`, `.` before the first `:`, and
    // only counts if that `:` comes before any `/`, `?` or `#`.
    let scheme_end = cleaned.find(':');
    let path_start = cleaned.find(['/', '?', '#']);
    match scheme_end {
        Some(i) if path_start.is_none_or(|p| i < p) => {
            let scheme = cleaned[..i].to_ascii_lowercase();
            match scheme.as_str() {
                "http" | "https" | "mailto" | "ftp" => Some(cleaned),
                _ => None,
            }
        }
        _ => Some(cleaned),
    }
}

/// An element's content as inline HTML. `path` is the element's path, for
/// warnings about what is not understood.
pub(crate) fn inline(cx: &mut Cx<'_>, e: &Element, path: &str) -> String {
    let mut s = String::new();
    inline_into(cx, e, path, &mut s);
    s.trim().to_owned()
}

/// Simple formatting elements and the HTML they become.
fn simple_tag(name: &str) -> Option<(&'static str, &'static str)> {
    Some(match name {
        "italic" => ("<i>", "</i>"),
        "bold" => ("<b>", "</b>"),
        "sup" => ("<sup>", "</sup>"),
        "sub" => ("<sub>", "</sub>"),
        "underline" => ("<span class=\"underline\">", "</span>"),
        "monospace" => ("<span class=\"monospace\">", "</span>"),
        "sc" => ("<span class=\"small-caps\">", "</span>"),
        "strike" => ("<s>", "</s>"),
        "overline" => ("<span class=\"overline\">", "</span>"),
        _ => return None,
    })
}

/// An `<a href>` opening tag for a link, or nothing (with a warning) when
/// the link is not safe.
fn link_open(cx: &mut Cx<'_>, href: &str, path: &str) -> Option<String> {
    match safe_url(href) {
        Some(h) => {
            let mut o = String::from("<a href=\"");
            escape_into(&h, &mut o);
            o.push_str("\">");
            Some(o)
        }
        None => {
            cx.warn(
                path,
                format!("link {href:?} dropped: only http, https, mailto, ftp and relative links are kept"),
            );
            None
        }
    }
}

/// Where an `ext-link` (or `uri`, `related-object`) points: a DOI becomes
/// a doi.org link, and a bare host (`www.example.org`, as older XML has)
/// gets `http://`, as eLife's converter does.
fn ext_href(e: &Element) -> Option<String> {
    let h = e.attr("xlink:href")?.trim();
    if h.is_empty() {
        return None;
    }
    let doi = e.attr("ext-link-type") == Some("doi") || e.attr("link-type") == Some("doi");
    Some(if doi && !h.contains(':') {
        doi_url(h)
    } else if h.starts_with("www.") {
        format!("http://{h}")
    } else {
        h.to_owned()
    })
}

/// Append an element's content as inline HTML to `out`.
pub(crate) fn inline_into(cx: &mut Cx<'_>, e: &Element, path: &str, out: &mut String) {
    for n in &e.children {
        match n {
            Node::Text(t) => escape_into(t, out),
            Node::Element(c) => inline_element(cx, c, &format!("{path}/{}", c.name), out),
        }
    }
}

/// One inline element as HTML. `path` is the element's own path.
pub(crate) fn inline_element(cx: &mut Cx<'_>, c: &Element, path: &str, out: &mut String) {
    if let Some((open, close)) = simple_tag(&c.name) {
        out.push_str(open);
        inline_into(cx, c, path, out);
        out.push_str(close);
        return;
    }
    match c.name.as_str() {
        "ext-link" | "uri" | "related-object" => {
            let open = ext_href(c).and_then(|h| link_open(cx, &h, path));
            wrap(cx, c, path, out, open, "</a>");
        }
        "xref" => {
            // Internal cross-reference: a fragment link to the first target.
            let open = c
                .attr("rid")
                .and_then(|r| r.split_whitespace().next())
                .map(|rid| {
                    let mut o = String::from("<a href=\"#");
                    escape_into(rid, &mut o);
                    o.push_str("\">");
                    o
                });
            wrap(cx, c, path, out, open, "</a>");
        }
        "email" => {
            let addr = c
                .attr("xlink:href")
                .map(str::to_owned)
                .unwrap_or_else(|| c.text());
            let href = if addr.starts_with("mailto:") {
                addr
            } else {
                format!("mailto:{addr}")
            };
            let open = link_open(cx, &href, path);
            wrap(cx, c, path, out, open, "</a>");
        }
        "break" => out.push_str("<br>"),
        "inline-formula" | "alternatives" => {
            // The MathML; a TeX alternative is left out (as eLife does)
            // when there is MathML, else its source is kept as text.
            let has_math = c
                .elements()
                .any(|x| x.name == "mml:math" || x.name == "math");
            for n in &c.children {
                match n {
                    Node::Text(t) => escape_into(t, out),
                    Node::Element(x) if x.name == "tex-math" && has_math => {}
                    Node::Element(x) => inline_element(cx, x, &format!("{path}/{}", x.name), out),
                }
            }
        }
        "mml:math" | "math" => out.push_str(&mathml(cx, c, path)),
        // A display formula where only inline content fits (a table cell).
        "disp-formula" => {
            let mut maths = Vec::new();
            c.descendants("mml:math", &[], &mut maths);
            match maths.first() {
                Some(m) => out.push_str(&mathml(cx, m, &format!("{path}/mml:math"))),
                None => escape_into(&c.text_without(&["label"]), out),
            }
        }
        "tex-math" => escape_into(&c.text(), out),
        "inline-graphic" => {
            let src = c
                .attr("xlink:href")
                .and_then(|h| cx.file(h))
                .and_then(|f| f.web.first());
            match src {
                Some(w) => {
                    out.push_str("<img src=\"");
                    escape_into(&w.url, out);
                    out.push_str("\"/>");
                }
                None => cx.warn(
                    path,
                    format!(
                        "inline graphic {:?} left out: no package file with a web rendition",
                        c.attr("xlink:href").unwrap_or("")
                    ),
                ),
            }
        }
        "named-content" => {
            // eLife keeps the first content-type as a class (e.g. genes).
            let open = c
                .attr("content-type")
                .and_then(|t| t.split_whitespace().next())
                .map(|t| {
                    let mut o = String::from("<span class=\"");
                    escape_into(t, &mut o);
                    o.push_str("\">");
                    o
                });
            wrap(cx, c, path, out, open, "</span>");
        }
        "list" => list_html(cx, c, path, out),
        "p" => {
            // A paragraph inside a table cell or a list item.
            if !out.trim().is_empty() {
                out.push_str("<br>");
            }
            inline_into(cx, c, path, out);
        }
        // Elements whose text is the content.
        "styled-content" | "span" | "x" | "roman" | "abbrev" | "sc-caps" | "target" => {
            inline_into(cx, c, path, out)
        }
        // Markers with no text of their own.
        "object-id" => {}
        _ => {
            cx.warn(
                path,
                "inline element not mapped: its text is kept, its markup dropped",
            );
            inline_into(cx, c, path, out);
        }
    }
}

/// Content wrapped in `open`…`close` when there is an opening tag.
fn wrap(
    cx: &mut Cx<'_>,
    c: &Element,
    path: &str,
    out: &mut String,
    open: Option<String>,
    close: &str,
) {
    match open {
        Some(o) => {
            out.push_str(&o);
            inline_into(cx, c, path, out);
            out.push_str(close);
        }
        None => inline_into(cx, c, path, out),
    }
}

/// A list inside inline content (a table cell) as an HTML list.
fn list_html(cx: &mut Cx<'_>, l: &Element, path: &str, out: &mut String) {
    let ty = l.attr("list-type").unwrap_or("");
    let ordered = matches!(
        ty,
        "order" | "alpha-lower" | "alpha-upper" | "roman-lower" | "roman-upper"
    );
    let class = match ty {
        "order" => "list list--number",
        "alpha-lower" => "list list--alpha-lower",
        "alpha-upper" => "list list--alpha-upper",
        "roman-lower" => "list list--roman-lower",
        "roman-upper" => "list list--roman-upper",
        "bullet" => "list list--bullet",
        _ => "list",
    };
    let tag = if ordered { "ol" } else { "ul" };
    out.push_str(&format!("<{tag} class=\"{class}\">"));
    for item in l.children_named("list-item") {
        out.push_str("<li>");
        let mut s = String::new();
        inline_into(cx, item, &format!("{path}/list-item"), &mut s);
        out.push_str(s.trim());
        out.push_str("</li>");
    }
    out.push_str(&format!("</{tag}>"));
}

/// MathML (`mml:math`) as the markup the model wants: `<math>…</math>`
/// without namespace prefixes. Only presentation elements and their
/// harmless attributes are kept: no `href` (MathML allows links on any
/// element), no event handlers, no `style`, no namespaced attributes.
/// Annotations (TeX or other encodings of the same formula) are left out.
pub(crate) fn mathml(cx: &mut Cx<'_>, math: &Element, path: &str) -> String {
    let mut out = String::from("<math>");
    mathml_children(cx, math, path, &mut out);
    out.push_str("</math>");
    out
}

fn mathml_children(cx: &mut Cx<'_>, e: &Element, path: &str, out: &mut String) {
    for n in &e.children {
        match n {
            Node::Text(t) => escape_into(t, out),
            Node::Element(c) => {
                let cpath = format!("{path}/{}", c.name);
                let name = c.name.strip_prefix("mml:").unwrap_or(&c.name);
                let is_name =
                    !name.is_empty() && name.chars().all(|ch| ch.is_ascii_lowercase() || ch == '-');
                if !is_name || name == "math" {
                    cx.warn(&cpath, "element inside MathML not mapped: its text is kept");
                    escape_into(&c.text(), out);
                    continue;
                }
                if matches!(name, "annotation" | "annotation-xml") {
                    continue;
                }
                out.push('<');
                out.push_str(name);
                for (k, v) in &c.attrs {
                    let lower = k.to_ascii_lowercase();
                    let ok = !k.is_empty()
                        && k.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-')
                        && !lower.starts_with("on")
                        && !matches!(lower.as_str(), "href" | "src" | "style" | "xmlns" | "id");
                    if ok {
                        out.push(' ');
                        out.push_str(k);
                        out.push_str("=\"");
                        escape_into(v, out);
                        out.push('"');
                    }
                }
                out.push('>');
                mathml_children(cx, c, &cpath, out);
                out.push_str("</");
                out.push_str(name);
                out.push('>');
            }
        }
    }
}

/// A JATS (XHTML-model) table as the model's HTML table string
/// (`<table>…</table>`, no attributes on `<table>`). Structure elements and
/// a few layout attributes are kept; cells are inline HTML.
pub(crate) fn table(cx: &mut Cx<'_>, t: &Element, path: &str) -> String {
    let mut out = String::from("<table>");
    table_children(cx, t, path, &mut out);
    out.push_str("</table>");
    out
}

fn table_children(cx: &mut Cx<'_>, e: &Element, path: &str, out: &mut String) {
    for c in e.elements() {
        let cpath = format!("{path}/{}", c.name);
        match c.name.as_str() {
            "thead" | "tbody" | "tfoot" | "tr" | "colgroup" | "col" => {
                open_tag(c, out);
                table_children(cx, c, &cpath, out);
                out.push_str(&format!("</{}>", c.name));
            }
            "th" | "td" => {
                open_tag(c, out);
                let mut s = String::new();
                inline_into(cx, c, &cpath, &mut s);
                out.push_str(s.trim());
                out.push_str(&format!("</{}>", c.name));
            }
            _ => {
                cx.warn(&cpath, "table element not mapped: its text is kept");
                escape_into(&c.text(), out);
            }
        }
    }
}

/// An opening table tag with the attributes that matter for layout. eLife's
/// `author-callout-style-*` cell styles become classes.
fn open_tag(c: &Element, out: &mut String) {
    out.push('<');
    out.push_str(&c.name);
    for (k, v) in &c.attrs {
        let keep = match k.as_str() {
            "colspan" | "rowspan" | "align" | "valign" | "span" | "width" => Some(k.as_str()),
            "style" if v.starts_with("author-callout-style") => Some("class"),
            _ => None,
        };
        if let Some(k) = keep {
            out.push(' ');
            out.push_str(k);
            out.push_str("=\"");
            escape_into(v, out);
            out.push('"');
        }
    }
    out.push('>');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doi_urls_are_valid_uris() {
        assert_eq!(
            doi_url("10.1890/0012-9658(1999)080[1762:IFEAPF]2.0.CO;2"),
            "https://doi.org/10.1890/0012-9658(1999)080%5B1762:IFEAPF%5D2.0.CO;2"
        );
        assert_eq!(
            doi_url("10.7554/eLife.00353"),
            "https://doi.org/10.7554/eLife.00353"
        );
        assert_eq!(
            doi_url("10.1/a b<c>#d"),
            "https://doi.org/10.1/a%20b%3Cc%3E%23d"
        );
    }

    #[test]
    fn safe_links() {
        for ok in [
            "https://elifesciences.org",
            "http://x.org/a:b",
            "mailto:a@b.org",
            "ftp://ftp.ncbi.nlm.nih.gov/",
            "#fig1",
            "relative/path",
            "/abs/path?q=a:b",
        ] {
            assert_eq!(safe_url(ok).as_deref(), Some(ok), "{ok}");
        }
        for bad in [
            "javascript:alert(1)",
            " JavaScript:alert(1)",
            "java\tscript:alert(1)",
            "data:text/html;base64,PHNjcmlwdD4=",
            "vbscript:x",
            "",
            "file:///etc/passwd",
        ] {
            assert_eq!(safe_url(bad), None, "{bad:?}");
        }
    }
}
