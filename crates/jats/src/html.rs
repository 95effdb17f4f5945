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

/// Append an element's content as inline HTML to `out`.
pub(crate) fn inline_into(cx: &mut Cx<'_>, e: &Element, path: &str, out: &mut String) {
    for n in &e.children {
        match n {
            Node::Text(t) => escape_into(t, out),
            Node::Element(c) => {
                let (open, close): (String, &str) = match c.name.as_str() {
                    "italic" => ("<i>".into(), "</i>"),
                    "bold" => ("<b>".into(), "</b>"),
                    "sup" => ("<sup>".into(), "</sup>"),
                    "sub" => ("<sub>".into(), "</sub>"),
                    "underline" => ("<span class=\"underline\">".into(), "</span>"),
                    "monospace" => ("<span class=\"monospace\">".into(), "</span>"),
                    "sc" => ("<span class=\"small-caps\">".into(), "</span>"),
                    "ext-link" | "uri" => {
                        let href = c.attr("xlink:href").map(|h| {
                            if c.attr("ext-link-type") == Some("doi") && !h.contains(':') {
                                format!("https://doi.org/{h}")
                            } else {
                                h.to_owned()
                            }
                        });
                        match href.as_deref().map(|h| (h, safe_url(h))) {
                            Some((_, Some(h))) => {
                                let mut o = String::from("<a href=\"");
                                escape_into(&h, &mut o);
                                o.push_str("\">");
                                (o, "</a>")
                            }
                            Some((h, None)) => {
                                cx.warn(
                                    format!("{path}/{}", c.name),
                                    format!("link {h:?} dropped: only http, https, mailto, ftp and relative links are kept"),
                                );
                                (String::new(), "")
                            }
                            None => (String::new(), ""),
                        }
                    }
                    "break" => {
                        out.push_str("<br>");
                        continue;
                    }
                    // Elements whose text is the content.
                    "named-content" | "styled-content" | "span" | "x" => (String::new(), ""),
                    other => {
                        cx.warn(
                            format!("{path}/{other}"),
                            "inline element not mapped: its text is kept, its markup dropped",
                        );
                        (String::new(), "")
                    }
                };
                out.push_str(&open);
                inline_into(cx, c, &format!("{path}/{}", c.name), out);
                out.push_str(close);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
