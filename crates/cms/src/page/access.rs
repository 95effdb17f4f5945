//! Lenient access to the article-json: a field of an unexpected shape is
//! absent, never an error.

use super::*;

pub(super) fn get_str<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key)?.as_str().filter(|s| !s.trim().is_empty())
}

pub(super) fn get_arr<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// A string or a number as text (volumes and years come as either).
pub(super) fn get_text(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The strings of a list of strings (non-strings skipped).
pub(super) fn strings(v: &Value, key: &str) -> Vec<String> {
    get_arr(v, key)
        .iter()
        .filter_map(|s| s.as_str().map(str::to_owned))
        .collect()
}

/// An `id` attribute, escaped, or nothing.
pub(super) fn id_attr(v: &Value) -> String {
    get_str(v, "id").map_or_else(String::new, |id| format!(" id=\"{}\"", escape(id)))
}

/// A DOI as an `https://doi.org/` link. Characters with a meaning in URLs
/// are percent-encoded so the DOI names exactly one resource.
pub(super) fn doi_url(doi: &str) -> String {
    let mut out = String::from("https://doi.org/");
    for b in doi.trim().bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/:;()[]".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

pub(super) fn doi_link(doi: &str) -> String {
    format!(
        "<a class=\"doi\" href=\"{}\">https://doi.org/{}</a>",
        escape(&doi_url(doi)),
        escape(doi.trim())
    )
}

/// A link to `uri` if it is a safe URL, else the text alone.
pub(super) fn link(uri: &str, text_html: &str) -> String {
    if safe_url(uri) {
        format!("<a href=\"{}\">{text_html}</a>", escape(uri))
    } else {
        text_html.to_owned()
    }
}

/// The date part of an ISO timestamp (`2016-01-02T00:00:00Z` → `2016-01-02`).
pub(super) fn date_part(s: &str) -> &str {
    s.split('T').next().unwrap_or(s)
}

/// `research-article` → `Research Article`.
pub(super) fn type_label(t: &str) -> String {
    t.split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next().map_or_else(String::new, |f| {
                f.to_uppercase().collect::<String>() + c.as_str()
            })
        })
        .collect::<Vec<_>>()
        .join(" ")
}

pub(super) fn status_label(s: &str) -> String {
    match s {
        "vor" => "Version of Record".into(),
        "poa" => "Accepted Manuscript".into(),
        other => other.to_uppercase(),
    }
}

/// A person's or group's display name, escaped (persons: `name.preferred`;
/// groups: `name`; on-behalf-of: its HTML text).
pub(super) fn name_html(v: &Value) -> Option<String> {
    match v.get("name") {
        Some(Value::String(s)) if !s.trim().is_empty() => return Some(escape(s)),
        Some(name @ Value::Object(_)) => {
            if let Some(p) = get_str(name, "preferred") {
                return Some(escape(p));
            }
        }
        _ => {}
    }
    get_str(v, "onBehalfOf").map(sanitize)
}
