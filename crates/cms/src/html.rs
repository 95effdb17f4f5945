//! Escaping and a small allowlist sanitizer for the HTML strings of
//! article-json.
//!
//! The model's strings (titles, paragraphs, captions, table markup, MathML)
//! are HTML fragments produced by the converter from JATS XML, so the page
//! renders them as HTML. They are still treated as untrusted: a JATS file is
//! author-supplied, and a converter bug must not turn into script running on
//! the CMS's origin. So every fragment is re-tokenised and re-emitted: only
//! known inline, table, list and MathML elements survive, only harmless
//! attributes, links only to http(s), mailto or relative targets, and every
//! element is closed, so a fragment cannot break the page around it. It is a
//! tokenizer, not a full HTML5 parser: what it does not understand becomes
//! escaped text, never markup.

/// Escape text for an HTML text node or a quoted attribute value.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    push_escaped(&mut out, s);
    out
}

fn push_escaped(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// Whether a URL may become an `href`/`src`: http(s), mailto, or relative
/// (no scheme). Anything else (`javascript:`, `data:`, `vbscript:`...) is
/// refused. Browsers ignore ASCII whitespace and control characters inside
/// a scheme, so they are ignored here too before looking at it.
pub fn safe_url(url: &str) -> bool {
    let cleaned: String = url
        .chars()
        .filter(|c| !c.is_ascii_whitespace() && !c.is_ascii_control())
        .collect();
    if cleaned.is_empty() {
        return false;
    }
    let lower = cleaned.to_ascii_lowercase();
    // A scheme is what precedes the first ':' if no '/', '?' or '#' comes first.
    let scheme_end = lower.find(':');
    let path_start = lower.find(['/', '?', '#']);
    match (scheme_end, path_start) {
        (Some(c), Some(p)) if p < c => true,
        (Some(_), _) => {
            lower.starts_with("http://")
                || lower.starts_with("https://")
                || lower.starts_with("mailto:")
        }
        (None, _) => true,
    }
}

/// Elements kept (with their content). Everything else loses its tags but
/// keeps its text, except [`DROP_WITH_CONTENT`].
const ALLOWED: &[&str] = &[
    // inline HTML of the model
    "a",
    "abbr",
    "b",
    "big",
    "br",
    "cite",
    "code",
    "del",
    "dfn",
    "em",
    "i",
    "ins",
    "kbd",
    "mark",
    "q",
    "s",
    "samp",
    "small",
    "span",
    "strike",
    "strong",
    "sub",
    "sup",
    "u",
    "var",
    "wbr",
    // blocks that appear inside table cells and captions
    "p",
    "ul",
    "ol",
    "li",
    "dl",
    "dt",
    "dd",
    "pre",
    "blockquote",
    "hr",
    // tables
    "table",
    "caption",
    "colgroup",
    "col",
    "thead",
    "tbody",
    "tfoot",
    "tr",
    "th",
    "td",
    // MathML (presentation)
    "math",
    "maction",
    "menclose",
    "merror",
    "mfenced",
    "mfrac",
    "mi",
    "mlabeledtr",
    "mmultiscripts",
    "mn",
    "mo",
    "mover",
    "mpadded",
    "mphantom",
    "mprescripts",
    "mroot",
    "mrow",
    "ms",
    "mspace",
    "msqrt",
    "mstyle",
    "msub",
    "msubsup",
    "msup",
    "mtable",
    "mtd",
    "mtext",
    "mtr",
    "munder",
    "munderover",
    "none",
    "semantics",
    "annotation",
];

/// Elements dropped together with everything inside them: their content is
/// code or foreign markup, never article text.
const DROP_WITH_CONTENT: &[&str] = &[
    "script",
    "style",
    "iframe",
    "object",
    "embed",
    "noscript",
    "template",
    "textarea",
    "title",
    "svg",
    "annotation-xml",
    "xmp",
    "noembed",
    "noframes",
    "plaintext",
    "select",
    "applet",
];

/// HTML void elements: never closed, never pushed on the open stack.
const VOID: &[&str] = &["br", "col", "hr", "wbr"];

/// Attributes kept on any allowed element (values re-escaped). No `on*`,
/// no `style`, no `src`: the model's fragments never need them.
const ATTRIBUTES: &[&str] = &[
    "href",
    "id",
    "class",
    "title",
    "colspan",
    "rowspan",
    "align",
    "valign",
    "span",
    "dir",
    "lang",
    // MathML presentation attributes
    "xmlns",
    "display",
    "mathvariant",
    "mathsize",
    "mathcolor",
    "stretchy",
    "fence",
    "separator",
    "separators",
    "lspace",
    "rspace",
    "open",
    "close",
    "columnalign",
    "rowalign",
    "columnspan",
    "columnlines",
    "rowlines",
    "frame",
    "width",
    "height",
    "depth",
    "accent",
    "accentunder",
    "linethickness",
    "movablelimits",
    "scriptlevel",
    "displaystyle",
    "notation",
    "encoding",
    "largeop",
    "symmetric",
    "minsize",
    "maxsize",
    "form",
    "bevelled",
];

/// Decode the character references browsers decode in attribute values,
/// so a `&#106;avascript:` link is seen for what it is. Unknown named
/// references stay as written (they are then escaped as text).
fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find('&') {
        out.push_str(&rest[..pos]);
        rest = &rest[pos..];
        let end = rest
            .char_indices()
            .take(40)
            .find(|(_, c)| *c == ';')
            .map(|(i, _)| i);
        let decoded = end.and_then(|end| {
            let name = &rest[1..end];
            let c = if let Some(num) = name.strip_prefix('#') {
                let n = if let Some(hex) = num.strip_prefix(['x', 'X']) {
                    u32::from_str_radix(hex, 16).ok()
                } else {
                    num.parse::<u32>().ok()
                };
                n.and_then(char::from_u32)
            } else {
                match name {
                    "amp" => Some('&'),
                    "lt" => Some('<'),
                    "gt" => Some('>'),
                    "quot" => Some('"'),
                    "apos" => Some('\''),
                    "nbsp" => Some('\u{a0}'),
                    "colon" => Some(':'),
                    "Tab" => Some('\t'),
                    "NewLine" => Some('\n'),
                    _ => None,
                }
            };
            c.map(|c| (c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Text between tags: `<`/`>` escaped, `&` kept only when it starts a
/// character reference (MathML uses many named ones, e.g. `&InvisibleTimes;`).
fn push_text(out: &mut String, text: &str) {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < text.len() {
        let c = bytes[i];
        match c {
            b'<' => out.push_str("&lt;"),
            b'>' => out.push_str("&gt;"),
            b'"' => out.push_str("&quot;"),
            b'&' => {
                let tail = &text[i + 1..];
                let len = tail
                    .bytes()
                    .take_while(|b| b.is_ascii_alphanumeric() || *b == b'#')
                    .count();
                let is_ref = len > 0 && len <= 32 && tail.as_bytes().get(len) == Some(&b';');
                if is_ref {
                    out.push('&');
                } else {
                    out.push_str("&amp;");
                }
            }
            _ => {
                // Copy the whole UTF-8 character.
                let ch_len = text[i..].chars().next().map_or(1, char::len_utf8);
                out.push_str(&text[i..i + ch_len]);
                i += ch_len;
                continue;
            }
        }
        i += 1;
    }
}

/// One parsed tag.
struct Tag {
    name: String,
    closing: bool,
    self_closing: bool,
    attrs: Vec<(String, Option<String>)>,
}

/// Parse a tag starting at `s[0] == '<'`. Returns the tag and its length,
/// or None when this `<` does not start a tag (then it is text).
fn parse_tag(s: &str) -> Option<(Tag, usize)> {
    let b = s.as_bytes();
    let mut i = 1;
    let closing = b.get(i) == Some(&b'/');
    if closing {
        i += 1;
    }
    let name_start = i;
    if !b.get(i).is_some_and(u8::is_ascii_alphabetic) {
        return None;
    }
    while b
        .get(i)
        .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b':')
    {
        i += 1;
    }
    let name = s[name_start..i].to_ascii_lowercase();
    let mut attrs = Vec::new();
    let mut self_closing = false;
    loop {
        while b.get(i).is_some_and(|c| c.is_ascii_whitespace()) {
            i += 1;
        }
        match b.get(i)? {
            b'>' => {
                i += 1;
                break;
            }
            b'/' => {
                self_closing = true;
                i += 1;
                continue;
            }
            _ => {}
        }
        self_closing = false;
        let start = i;
        while b
            .get(i)
            .is_some_and(|c| !c.is_ascii_whitespace() && !matches!(c, b'=' | b'>' | b'/'))
        {
            i += 1;
        }
        if i == start {
            // A stray character such as '=': skip it.
            i += 1;
            continue;
        }
        let attr = s[start..i].to_ascii_lowercase();
        while b.get(i).is_some_and(|c| c.is_ascii_whitespace()) {
            i += 1;
        }
        if b.get(i) == Some(&b'=') {
            i += 1;
            while b.get(i).is_some_and(|c| c.is_ascii_whitespace()) {
                i += 1;
            }
            let value = match b.get(i)? {
                q @ (b'"' | b'\'') => {
                    let q = *q;
                    let end = s[i + 1..].find(q as char)? + i + 1;
                    let v = &s[i + 1..end];
                    i = end + 1;
                    v
                }
                _ => {
                    let start = i;
                    while b
                        .get(i)
                        .is_some_and(|c| !c.is_ascii_whitespace() && *c != b'>')
                    {
                        i += 1;
                    }
                    &s[start..i]
                }
            };
            attrs.push((attr, Some(decode_entities(value))));
        } else {
            attrs.push((attr, None));
        }
    }
    Some((
        Tag {
            name,
            closing,
            self_closing,
            attrs,
        },
        i,
    ))
}

/// Find the end of an element dropped with its content: just after its
/// closing tag, or the end of the input when it is never closed.
fn skip_element(s: &str, name: &str) -> usize {
    let lower = s.to_ascii_lowercase();
    let needle = format!("</{name}");
    match lower.find(&needle) {
        Some(pos) => s[pos..].find('>').map_or(s.len(), |e| pos + e + 1),
        None => s.len(),
    }
}

/// Re-emit an HTML fragment of the model keeping only the allowlist (see
/// the module doc). The result is balanced: every element it opens is closed.
pub fn sanitize(fragment: &str) -> String {
    let mut out = String::with_capacity(fragment.len() + 16);
    let mut open: Vec<String> = Vec::new();
    let mut i = 0;
    while i < fragment.len() {
        let rest = &fragment[i..];
        let Some(lt) = rest.find('<') else {
            push_text(&mut out, rest);
            break;
        };
        push_text(&mut out, &rest[..lt]);
        i += lt;
        let rest = &fragment[i..];
        if let Some(comment) = rest.strip_prefix("<!--") {
            i += 4 + comment.find("-->").map_or(comment.len(), |e| e + 3);
            continue;
        }
        if rest.starts_with("<!") || rest.starts_with("<?") {
            i += rest.find('>').map_or(rest.len(), |e| e + 1);
            continue;
        }
        let Some((tag, len)) = parse_tag(rest) else {
            out.push_str("&lt;");
            i += 1;
            continue;
        };
        i += len;
        if DROP_WITH_CONTENT.contains(&tag.name.as_str()) {
            if !tag.closing && !tag.self_closing {
                i += skip_element(&fragment[i..], &tag.name);
            }
            continue;
        }
        if !ALLOWED.contains(&tag.name.as_str()) {
            continue;
        }
        if tag.closing {
            if let Some(pos) = open.iter().rposition(|t| *t == tag.name) {
                for t in open.drain(pos..).rev() {
                    out.push_str("</");
                    out.push_str(&t);
                    out.push('>');
                }
            }
            continue;
        }
        out.push('<');
        out.push_str(&tag.name);
        for (name, value) in &tag.attrs {
            if !ATTRIBUTES.contains(&name.as_str()) {
                continue;
            }
            if name == "href" && !value.as_deref().is_some_and(safe_url) {
                continue;
            }
            out.push(' ');
            out.push_str(name);
            if let Some(v) = value {
                out.push_str("=\"");
                push_escaped(&mut out, v);
                out.push('"');
            }
        }
        if tag.name == "a" {
            // Links leave the page; they never get the page's opener.
            out.push_str(" rel=\"noopener noreferrer\"");
        }
        out.push('>');
        if VOID.contains(&tag.name.as_str()) {
            continue;
        }
        if tag.self_closing {
            out.push_str("</");
            out.push_str(&tag.name);
            out.push('>');
        } else {
            open.push(tag.name);
        }
    }
    for t in open.into_iter().rev() {
        out.push_str("</");
        out.push_str(&t);
        out.push('>');
    }
    out
}

/// The text of a fragment without any markup (for `<title>` and `alt`),
/// still with its character references, escaped for HTML.
pub fn text_only(fragment: &str) -> String {
    let mut out = String::with_capacity(fragment.len());
    let mut i = 0;
    while i < fragment.len() {
        let rest = &fragment[i..];
        let Some(lt) = rest.find('<') else {
            push_text(&mut out, rest);
            break;
        };
        push_text(&mut out, &rest[..lt]);
        i += lt;
        match parse_tag(&fragment[i..]) {
            Some((tag, len)) => {
                i += len;
                if DROP_WITH_CONTENT.contains(&tag.name.as_str())
                    && !tag.closing
                    && !tag.self_closing
                {
                    i += skip_element(&fragment[i..], &tag.name);
                }
            }
            None => {
                out.push_str("&lt;");
                i += 1;
            }
        }
    }
    out
}
