//! Reading the top-level keys of a JSON object without building a `Value`.
//!
//! Every decision validates the start input and every activity result as a
//! JSON object and notes its keys (see [`super::context`]); building a
//! `serde_json::Value` tree for each would allocate for every value of
//! every result, on every decision, only to drop it. Two readers share the
//! work: [`simple_object`], a byte-level scanner for the
//! common case (no escapes, plain numbers, shallow nesting), in which each
//! function takes the index where its token starts and returns the index
//! after it, or `None` when the text is not of the simple kind; and
//! [`TopKeys`], a serde seed that reads anything else exactly as `Value`
//! would, so both accept the same texts as serde_json.

use std::borrow::Cow;

/// The common case of [`note_object`](super::context::note_object), read by hand: a JSON object whose
/// strings have no escapes, whose numbers are plain (at most 15 digits, no
/// exponent) and whose nesting is shallow. `Some` means serde_json accepts
/// the text as an object with exactly these top-level keys, now appended
/// to `keys`; `None` means "not sure" (the keys appended so far are to be
/// dropped) and serde_json decides. Only JSON's own whitespace is skipped.
pub(super) fn simple_object<'a>(t: &'a str, keys: &mut Vec<Cow<'a, str>>) -> Option<()> {
    let b = t.as_bytes();
    let end = object(b, ws(b, 0), 1, Some((t, keys)))?;
    (ws(b, end) == b.len()).then_some(())
}

/// Deeper nesting is left to serde_json (whose limit is 128).
const MAX_DEPTH: u32 = 32;

/// Skip JSON whitespace (exactly what serde_json skips).
fn ws(b: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = b.get(i) {
        i += 1;
    }
    i
}

/// A string starting at its opening quote, without escapes or control
/// characters: the index of its closing quote.
fn string(b: &[u8], i: usize) -> Option<usize> {
    if b.get(i) != Some(&b'"') {
        return None;
    }
    let rest = b.get(i + 1..)?;
    let n = rest
        .iter()
        .position(|&c| c == b'"' || c == b'\\' || c < 0x20)?;
    (rest[n] == b'"').then_some(i + 1 + n)
}

fn digits(b: &[u8], mut i: usize) -> usize {
    while b.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    i
}

/// `-?(0|[1-9][0-9]*)(\.[0-9]+)?`, at most 15 digits, no exponent: a
/// number serde_json reads without overflow or rounding surprises.
fn number(b: &[u8], mut i: usize) -> Option<usize> {
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    let int_end = digits(b, i);
    let mut count = int_end - i;
    if count == 0 || (count > 1 && b[i] == b'0') {
        return None;
    }
    let mut end = int_end;
    if b.get(end) == Some(&b'.') {
        let frac_end = digits(b, end + 1);
        if frac_end == end + 1 {
            return None;
        }
        count += frac_end - end - 1;
        end = frac_end;
    }
    (count <= 15 && !matches!(b.get(end), Some(b'e' | b'E'))).then_some(end)
}

fn literal(b: &[u8], i: usize, word: &[u8]) -> Option<usize> {
    (b.get(i..i + word.len()) == Some(word)).then_some(i + word.len())
}

fn value(b: &[u8], i: usize, depth: u32) -> Option<usize> {
    match *b.get(i)? {
        b'"' => string(b, i).map(|e| e + 1),
        b't' => literal(b, i, b"true"),
        b'f' => literal(b, i, b"false"),
        b'n' => literal(b, i, b"null"),
        b'-' | b'0'..=b'9' => number(b, i),
        b'[' if depth < MAX_DEPTH => {
            let mut i = ws(b, i + 1);
            if b.get(i) == Some(&b']') {
                return Some(i + 1);
            }
            loop {
                i = ws(b, value(b, i, depth + 1)?);
                match b.get(i) {
                    Some(b',') => i = ws(b, i + 1),
                    Some(b']') => return Some(i + 1),
                    _ => return None,
                }
            }
        }
        b'{' if depth < MAX_DEPTH => object(b, i, depth + 1, None),
        _ => None,
    }
}

/// An object starting at its `{`; its keys are appended to `keys`
/// when given (`t` is the text `b` is the bytes of).
fn object<'a>(
    b: &[u8],
    i: usize,
    depth: u32,
    mut keys: Option<(&'a str, &mut Vec<Cow<'a, str>>)>,
) -> Option<usize> {
    if b.get(i) != Some(&b'{') {
        return None;
    }
    let mut i = ws(b, i + 1);
    if b.get(i) == Some(&b'}') {
        return Some(i + 1);
    }
    loop {
        let close = string(b, i)?;
        if let Some((t, keys)) = &mut keys {
            keys.push(Cow::Borrowed(&t[i + 1..close]));
        }
        i = ws(b, close + 1);
        if b.get(i) != Some(&b':') {
            return None;
        }
        i = ws(b, value(b, ws(b, i + 1), depth)?);
        match b.get(i) {
            Some(b',') => i = ws(b, i + 1),
            Some(b'}') => return Some(i + 1),
            _ => return None,
        }
    }
}

/// Appends the top-level keys of a JSON object (none for `null`) to the
/// list, reading the values without keeping them. Values go through
/// `deserialize_any`, the path `serde_json::Value` takes, so exactly the
/// texts `Value` accepts are accepted (numbers out of range, lone
/// surrogates and nesting deeper than serde_json's limit are refused
/// alike). On an error, the caller drops what was appended.
pub(super) struct TopKeys<'v, 'a>(pub(super) &'v mut Vec<Cow<'a, str>>);

impl<'de> serde::de::DeserializeSeed<'de> for TopKeys<'_, 'de> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        struct V<'v, 'a>(&'v mut Vec<Cow<'a, str>>);
        impl<'de> serde::de::Visitor<'de> for V<'_, 'de> {
            type Value = ();
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object or null")
            }
            fn visit_unit<E>(self) -> Result<(), E> {
                Ok(())
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
                while let Some(Key(k)) = map.next_key()? {
                    self.0.push(k);
                    map.next_value::<Skip>()?;
                }
                Ok(())
            }
        }
        d.deserialize_any(V(self.0))
    }
}

/// An object key, borrowed from the text unless it has escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_any(V)
    }
}

/// Any JSON value, validated as `Value` would be and dropped.
struct Skip;

impl<'de> serde::Deserialize<'de> for Skip {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Skip;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_bool<E>(self, _: bool) -> Result<Skip, E> {
                Ok(Skip)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Skip, E> {
                Ok(Skip)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Skip, E> {
                Ok(Skip)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Skip, E> {
                Ok(Skip)
            }
            fn visit_str<E>(self, _: &str) -> Result<Skip, E> {
                Ok(Skip)
            }
            fn visit_unit<E>(self) -> Result<Skip, E> {
                Ok(Skip)
            }
            fn visit_none<E>(self) -> Result<Skip, E> {
                Ok(Skip)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut s: A) -> Result<Skip, A::Error> {
                while s.next_element::<Skip>()?.is_some() {}
                Ok(Skip)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<Skip, A::Error> {
                while m.next_key::<Skip>()?.is_some() {
                    m.next_value::<Skip>()?;
                }
                Ok(Skip)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    /// The keys serde_json reads from `t`, or `None` where it refuses it.
    fn serde_keys(t: &str) -> Option<Vec<String>> {
        let mut keys = Vec::new();
        let mut de = serde_json::Deserializer::from_str(t);
        serde::de::DeserializeSeed::deserialize(TopKeys(&mut keys), &mut de)
            .and_then(|()| de.end())
            .ok()?;
        Some(keys.into_iter().map(Cow::into_owned).collect())
    }

    fn check_simple_object(t: &str) {
        let mut keys = Vec::new();
        if simple_object(t, &mut keys).is_some() {
            let keys: Vec<String> = keys.into_iter().map(Cow::into_owned).collect();
            assert_eq!(Some(&keys), serde_keys(t).as_ref(), "{t:?}");
            assert!(
                matches!(serde_json::from_str::<Value>(t), Ok(Value::Object(_))),
                "{t:?}"
            );
        }
    }

    #[test]
    fn simple_object_answers_only_what_serde_agrees_with() {
        for t in [
            r#"{"status":"ok","files":1}"#,
            r#" { "a" : [ 1 , -2.5 , true , false , null , { "b" : "c" } ] , "a" : {} } "#,
            "{}",
            "{\"a\":01}",
            "{\"a\":-}",
            "{\"a\":1.}",
            "{\"a\":1e5}",
            "{\"a\":1234567890123456}",
            "{\"a\":\"x\\\"y\"}",
            "{\"a\":\"\u{1}\"}",
            "{\"a\":1,}",
            "{\"a\":[1,]}",
            "{\"a\":tru}",
            "{\"a\":truex}",
            "{\"a\":1}x",
            "{\"a\"\u{a0}:1}",
            "{\"é\":\"ü\"}",
        ] {
            check_simple_object(t);
        }
        let mut keys = Vec::new();
        assert!(simple_object(r#"{"status":"ok","files":1}"#, &mut keys).is_some());
        assert_eq!(keys, ["status", "files"]);
    }

    proptest::proptest! {
        #[test]
        fn simple_object_agrees_with_serde_on_noise(t in r#"[{}\[\]",: \t\n0-9.eE+\-a-z\\]{0,40}"#) {
            check_simple_object(&t);
        }

        #[test]
        fn simple_object_agrees_with_serde_on_json(
            m in proptest::collection::btree_map("[a-z\"é]{0,4}", json_value(), 0..6),
            spaced in proptest::bool::ANY,
        ) {
            let v = Value::Object(m.into_iter().collect());
            let t = if spaced {
                serde_json::to_string_pretty(&v).expect("encodes")
            } else {
                v.to_string()
            };
            check_simple_object(&t);
        }
    }

    fn json_value() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(|f| json!(f)),
            "[a-z\"\\\\é\u{1}]{0,6}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 5, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                proptest::collection::btree_map("[a-z\"é]{0,4}", inner, 0..5)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }
}
