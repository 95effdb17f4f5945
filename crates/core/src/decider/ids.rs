//! The id conventions by which the decider finds its own work in a history.
//!
//! SWF keeps no workflow state but the history, so each activity attempt and
//! retry timer carries its step and attempt in its ids and control:
//! `"{step}#{attempt}"`, control `{"step": .., "attempt": ..}`, and timer
//! `"retry:{step}#{n}"`. Writing and reading them live together here so the
//! two cannot drift apart; `testing::HistoryBuilder` (feature `test-util`)
//! writes the same ids through these functions.

use serde_json::json;
use std::borrow::Cow;

/// The id of the activity task of one attempt of a step.
pub fn activity_id(step: &str, attempt: u32) -> String {
    format!("{step}#{attempt}")
}

/// The id of the timer that waits before attempt `next_attempt` of a step.
pub fn retry_timer_id(step: &str, next_attempt: u32) -> String {
    format!("retry:{step}#{next_attempt}")
}

/// The control string of a scheduled attempt or retry timer.
pub fn control_json(step: &str, attempt: u32) -> String {
    // Written directly rather than through `json!(..).to_string()` (a map
    // and a formatter per call, once per scheduled attempt and timer), in
    // the key order serde_json's `Map` would give: sorted, unless its
    // `preserve_order` feature is on somewhere in the build.
    static SORTED_KEYS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let sorted = *SORTED_KEYS.get_or_init(|| {
        json!({ "step": 0, "attempt": 0 })
            .as_object()
            .and_then(|m| m.keys().next())
            .is_some_and(|k| k == "attempt")
    });
    let step = serde_json::to_string(step).expect("a string always encodes");
    if sorted {
        format!("{{\"attempt\":{attempt},\"step\":{step}}}")
    } else {
        format!("{{\"step\":{step},\"attempt\":{attempt}}}")
    }
}

/// Step and attempt of an activity: from its control, else from its id.
pub fn parse_step_ref(control: Option<&str>, activity_id: &str) -> Option<(String, u32)> {
    step_ref(control, activity_id).map(|(s, n)| (s.into_owned(), n))
}

/// [`parse_step_ref`], borrowing the step from its text: this runs for
/// every attempt on every decision, so it is the decider's hot path.
pub(super) fn step_ref<'a>(
    control: Option<&'a str>,
    activity_id: &'a str,
) -> Option<(Cow<'a, str>, u32)> {
    /// The control's shape, read without building a `Value` tree.
    #[derive(serde::Deserialize)]
    struct Control<'a> {
        #[serde(borrow)]
        step: Cow<'a, str>,
        attempt: u64,
    }
    if let Some(c) = control {
        if let Some((step, n)) = control_fast(c) {
            return Some((Cow::Borrowed(step), n));
        }
        if let Ok(v) = serde_json::from_str::<Control<'_>>(c) {
            if let Ok(n) = u32::try_from(v.attempt) {
                return Some((v.step, n));
            }
        }
    }
    let (step, n) = activity_id.rsplit_once('#')?;
    let n: u32 = n.parse().ok()?;
    (!step.is_empty() && n > 0).then_some((Cow::Borrowed(step), n))
}

/// The controls [`control_json`] writes, `{"attempt":N,"step":"S"}` (or
/// with the keys the other way round), read by hand. Only texts of exactly
/// that form, with no escapes in the step and an attempt of at most nine
/// digits, are answered; anything else is `None` and goes to serde_json,
/// so what is answered is what serde_json would answer.
fn control_fast(c: &str) -> Option<(&str, u32)> {
    fn attempt(s: &str) -> Option<(u32, &str)> {
        let end = s
            .bytes()
            .position(|b| !b.is_ascii_digit())
            .unwrap_or(s.len());
        let digits = &s[..end];
        if digits.is_empty() || digits.len() > 9 || (digits.len() > 1 && digits.starts_with('0')) {
            return None;
        }
        let n = digits
            .bytes()
            .fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
        Some((n, &s[end..]))
    }
    fn step(s: &str) -> Option<(&str, &str)> {
        let s = s.strip_prefix('"')?;
        let end = s
            .bytes()
            .position(|b| b == b'"' || b == b'\\' || b < 0x20)?;
        (s.as_bytes()[end] == b'"').then(|| (&s[..end], &s[end + 1..]))
    }
    if let Some(rest) = c.strip_prefix("{\"attempt\":") {
        let (n, rest) = attempt(rest)?;
        let (st, rest) = step(rest.strip_prefix(",\"step\":")?)?;
        (rest == "}").then_some((st, n))
    } else {
        let (st, rest) = step(c.strip_prefix("{\"step\":")?)?;
        let (n, rest) = attempt(rest.strip_prefix(",\"attempt\":")?)?;
        (rest == "}").then_some((st, n))
    }
}

/// Step and attempt from a retry timer id (`retry:<step>#<attempt>`).
pub fn parse_timer_id(timer_id: &str) -> Option<(String, u32)> {
    parse_step_ref(None, timer_id.strip_prefix("retry:")?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_refs_parse_from_control_or_id() {
        assert_eq!(
            parse_step_ref(Some(&control_json("A", 3)), "whatever"),
            Some(("A".into(), 3))
        );
        assert_eq!(
            parse_step_ref(None, "Post#To#2"),
            Some(("Post#To".into(), 2))
        );
        assert_eq!(
            parse_step_ref(Some("not json"), "B#1"),
            Some(("B".into(), 1))
        );
        assert_eq!(parse_step_ref(None, "B"), None);
        assert_eq!(parse_step_ref(None, "B#0"), None);
        assert_eq!(parse_timer_id("retry:B#2"), Some(("B".into(), 2)));
        assert_eq!(parse_timer_id("other"), None);
    }

    #[test]
    fn control_json_is_what_json_macro_writes() {
        for (step, attempt) in [("A", 1), ("Post#To", 12), ("q\"x\\é\u{1}", u32::MAX)] {
            assert_eq!(
                control_json(step, attempt),
                json!({ "step": step, "attempt": attempt }).to_string()
            );
        }
    }

    #[test]
    fn fast_control_reading_agrees_with_serde() {
        let serde_read = |c: &str| {
            #[derive(serde::Deserialize)]
            struct Control {
                step: String,
                attempt: u64,
            }
            serde_json::from_str::<Control>(c)
                .ok()
                .and_then(|v| Some((v.step, u32::try_from(v.attempt).ok()?)))
        };
        let cases = [
            control_json("A", 3),
            control_json("Post#To", 12),
            control_json("é", 0),
            control_json("q\"x", 1),
            r#"{"step":"A","attempt":3}"#.into(),
            r#"{"attempt":03,"step":"A"}"#.into(),
            r#"{"attempt":123456789,"step":"A"}"#.into(),
            r#"{"attempt":4294967296,"step":"A"}"#.into(),
            r#"{"attempt":3,"step":"A"} "#.into(),
            r#"{"attempt":3,"step":"A\u0042"}"#.into(),
            r#"{"attempt":-1,"step":"A"}"#.into(),
            r#"{"attempt":,"step":"A"}"#.into(),
            r#"{"attempt":1,"step":"A}"#.into(),
        ];
        for c in &cases {
            if let Some((s, n)) = control_fast(c) {
                assert_eq!(Some((s.to_owned(), n)), serde_read(c), "{c}");
            }
            assert_eq!(
                step_ref(Some(c), "Z#9").map(|(s, n)| (s.into_owned(), n)),
                serde_read(c).or(Some(("Z".into(), 9))),
                "{c}"
            );
        }
        assert_eq!(control_fast(&control_json("A", 3)), Some(("A", 3)));
    }
}
