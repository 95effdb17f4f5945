//! The workflow context, merged lazily, and the workflow result.
//!
//! The context is the start input with every completed result's top-level
//! keys shallow-merged in history order. Results are only validated while
//! the history is walked (their keys noted by [`note_object`]); a
//! [`KeyTable`] records which text last set each key, and only those values
//! are ever turned into `Value`s, once, at the end. [`GroupEntry`] gives the
//! context a group was entered with, for `when` conditions, built only when
//! a condition asks. [`result_json`] turns the final context into a result
//! SWF accepts.

use super::scan::{simple_object, TopKeys};
use crate::history::limits;
use rustc_hash::FxHashMap as HashMap;
use serde_json::{json, Map, Value};
use std::borrow::Cow;

/// A JSON object text feeding the context (start input or a result), and
/// the range of its top-level keys in the decider's key list.
#[derive(Debug)]
pub(super) struct Source<'a> {
    text: Option<&'a str>,
    keys: std::ops::Range<usize>,
}

/// Check that `text` is what [`parse_result`] accepts (a JSON object, `null`,
/// or empty) and note its top-level keys as a new source, without building
/// a `Value`. On a text `parse_result` refuses, its error is returned, so the
/// message is the one the full parse gives.
pub(super) fn note_object<'a>(
    text: Option<&'a str>,
    keys: &mut Vec<Cow<'a, str>>,
    sources: &mut Vec<Source<'a>>,
) -> Result<(), String> {
    let from = keys.len();
    let ok = match text.map(str::trim) {
        None | Some("") => true,
        Some(t) if simple_object(t, keys).is_some() => true,
        Some(t) => {
            keys.truncate(from);
            let mut de = serde_json::Deserializer::from_str(t);
            serde::de::DeserializeSeed::deserialize(TopKeys(keys), &mut de)
                .and_then(|()| de.end())
                .is_ok()
        }
    };
    if !ok {
        keys.truncate(from);
        // The authoritative parse: its error names the problem. (Should it
        // ever accept what the key scan refused, its keys are used.)
        let map = parse_result(text)?;
        keys.extend(map.keys().cloned().map(Cow::Owned));
    }
    sources.push(Source {
        text,
        keys: from..keys.len(),
    });
    Ok(())
}

/// Context keys in order of first appearance, each with the source that
/// last set it: what merging the sources' maps in order would give, kept
/// as indexes. A context has a handful of keys, so a list beats hashing;
/// past `INDEXED` keys a map takes over.
#[derive(Debug, Default)]
pub(super) struct KeyTable<'k> {
    entries: Vec<(&'k str, usize)>,
    index: Option<HashMap<&'k str, usize>>,
    /// Entry of the first key of the last source merged.
    first_hint: usize,
}

impl<'k> KeyTable<'k> {
    const INDEXED: usize = 24;

    pub(super) fn merge(&mut self, src: usize, source: &Source<'_>, keys: &'k [Cow<'_, str>]) {
        // Results of one workflow tend to repeat the same keys in the same
        // order: guess each key's entry from the previous source's first
        // key and the key before it, and only search on a miss.
        let mut guess = self.first_hint;
        for (n, k) in keys[source.keys.clone()].iter().enumerate() {
            let at = match self.entries.get(guess) {
                Some((g, _)) if *g == k.as_ref() => guess,
                _ => self.find_or_add(k),
            };
            self.entries[at].1 = src;
            if n == 0 {
                self.first_hint = at;
            }
            guess = at + 1;
        }
    }

    /// The entry of `key`, added (with no source yet) if new.
    fn find_or_add(&mut self, key: &'k str) -> usize {
        if let Some(index) = &mut self.index {
            return *index.entry(key).or_insert_with(|| {
                self.entries.push((key, 0));
                self.entries.len() - 1
            });
        }
        if let Some(at) = self.entries.iter().position(|(k, _)| *k == key) {
            return at;
        }
        self.entries.push((key, 0));
        if self.entries.len() > Self::INDEXED {
            self.index = Some(
                self.entries
                    .iter()
                    .enumerate()
                    .map(|(i, (k, _))| (*k, i))
                    .collect(),
            );
        }
        self.entries.len() - 1
    }

    /// The merged object: each winning source is parsed once, and only its
    /// winning values are kept.
    pub(super) fn materialize(&self, sources: &[Source<'_>]) -> Map<String, Value> {
        let mut by_src: Vec<(usize, usize)> = self
            .entries
            .iter()
            .enumerate()
            .map(|(i, (_, src))| (*src, i))
            .collect();
        by_src.sort_unstable();
        let mut values: Vec<Value> = vec![Value::Null; self.entries.len()];
        let mut parsed: Option<(usize, Map<String, Value>)> = None;
        for (src, i) in by_src {
            if parsed.as_ref().is_none_or(|(s, _)| *s != src) {
                // Validated when noted, so this parse succeeds.
                parsed = Some((src, parse_result(sources[src].text).unwrap_or_default()));
            }
            if let Some((_, m)) = &mut parsed {
                values[i] = m.remove(self.entries[i].0).unwrap_or(Value::Null);
            }
        }
        let mut out = Map::new();
        for ((k, _), v) in self.entries.iter().zip(values) {
            out.insert((*k).to_owned(), v);
        }
        out
    }
}

/// The context a group was entered with, built the first time a `when`
/// needs it and extended group by group.
#[derive(Debug, Default)]
pub(super) struct GroupEntry<'k> {
    table: KeyTable<'k>,
    /// Completions ordered by (group, closing event), once needed.
    order: Option<Vec<(usize, i64, usize)>>,
    /// How many of `order` are merged into `table`.
    merged: usize,
    /// `table` as a `Value`, for the group it was built for.
    value: Option<(usize, Value)>,
}

impl<'k> GroupEntry<'k> {
    pub(super) fn at(
        &mut self,
        group: usize,
        completions: &[(i64, usize, usize)],
        sources: &[Source<'_>],
        keys: &'k [Cow<'_, str>],
    ) -> &Value {
        if self.value.as_ref().is_some_and(|(g, _)| *g == group) {
            return &self.value.as_ref().expect("checked").1;
        }
        let order = self.order.get_or_insert_with(|| {
            let mut o: Vec<(usize, i64, usize)> =
                completions.iter().map(|&(id, g, s)| (g, id, s)).collect();
            o.sort_unstable();
            o
        });
        if self.merged == 0 && self.table.entries.is_empty() {
            self.table.merge(0, &sources[0], keys);
        }
        while let Some(&(g, _, src)) = order.get(self.merged) {
            if g >= group {
                break;
            }
            self.table.merge(src, &sources[src], keys);
            self.merged += 1;
        }
        let v = Value::Object(self.table.materialize(sources));
        &self.value.insert((group, v)).1
    }
}

/// A start input or an activity result as the context object it adds to:
/// a JSON object, or nothing for an empty text or `null`.
fn parse_result(result: Option<&str>) -> Result<Map<String, Value>, String> {
    match result.map(str::trim) {
        None | Some("") => Ok(Map::new()),
        Some(text) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(Value::Null) => Ok(Map::new()),
            Ok(other) => Err(format!(
                "expected a JSON object, found {}",
                json_kind(&other)
            )),
            Err(e) => Err(format!("not valid JSON ({e})")),
        },
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Key of the marker object put in a result that had to be shortened.
pub const TRUNCATED_KEY: &str = "_pressbot_truncated";

/// The workflow result: the context as JSON, kept valid JSON within SWF's
/// limit. Cutting the text would leave unparseable JSON, so when the
/// context is too large the biggest top-level values are dropped instead,
/// and a `_pressbot_truncated` marker says which keys are missing.
pub fn result_json(context: &Value) -> String {
    let full = context.to_string();
    if full.len() <= limits::RESULT {
        return full;
    }
    let Some(map) = context.as_object() else {
        return json!({ TRUNCATED_KEY: { "bytes": full.len() } }).to_string();
    };
    // Keep small values first; leave room for the marker.
    let budget = limits::RESULT - 4096;
    let mut entries: Vec<(&String, &Value, usize)> = map
        .iter()
        .map(|(k, v)| (k, v, k.len() + v.to_string().len() + 4))
        .collect();
    entries.sort_by(|a, b| a.2.cmp(&b.2).then_with(|| a.0.cmp(b.0)));
    let mut kept = Map::new();
    let mut omitted = Vec::new();
    let mut used = 2;
    for (k, v, size) in entries {
        if used + size <= budget {
            used += size;
            kept.insert(k.clone(), v.clone());
        } else {
            omitted.push(k.clone());
        }
    }
    omitted.sort();
    let mut listed = Vec::new();
    let mut listed_bytes = 0;
    for k in &omitted {
        if listed_bytes + k.len() + 4 > 2048 {
            break;
        }
        listed_bytes += k.len() + 4;
        listed.push(k.clone());
    }
    kept.insert(
        TRUNCATED_KEY.into(),
        json!({ "bytes": full.len(), "omitted_count": omitted.len(), "omitted": listed }),
    );
    let text = Value::Object(kept).to_string();
    if text.len() <= limits::RESULT {
        text
    } else {
        json!({ TRUNCATED_KEY: { "bytes": full.len(), "omitted_count": map.len() } }).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oversized_result_stays_valid_json_within_limit() {
        let mut m = Map::new();
        m.insert("small".into(), json!("x"));
        m.insert("huge".into(), json!("y".repeat(limits::RESULT * 2)));
        let text = result_json(&Value::Object(m));
        assert!(text.len() <= limits::RESULT);
        let v: Value = serde_json::from_str(&text).expect("valid json");
        assert_eq!(v["small"], "x");
        assert_eq!(v[TRUNCATED_KEY]["omitted"], json!(["huge"]));
    }
}
