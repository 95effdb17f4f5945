//! Hostile input to core's parsers, as many cases as CI affords (the stand-in
//! for `cargo fuzz`, see `fuzz/`): S3 event notifications, workflow starter
//! messages and workflow definitions. Whatever arrives, the parser answers
//! with a value or an error naming what was wrong, and never panics.
//!
//! Cases: `PROPTEST_CASES` (default 5000 per target here). Every file under
//! `tests/corpus/<target>/` (inputs that once found something, and hostile
//! classics) is replayed; files named `bad-*` must be refused.

use pressbot_core::definition::WorkflowDefinition;
use pressbot_core::messages::{parse_s3_notification, StarterMessage};
use proptest::prelude::*;
use std::path::{Path, PathBuf};

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000)
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: cases(),
        // Shrinking a failure is worth it; a failure is then kept in
        // proptest-regressions/ and should be copied into tests/corpus/.
        max_shrink_iters: 2000,
        ..ProptestConfig::default()
    }
}

const S3_EVENT: &str = r#"{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1","eventTime":"2026-11-23T20:15:00.000Z","eventName":"ObjectCreated:Put","s3":{"s3SchemaVersion":"1.0","configurationId":"pressbot","bucket":{"name":"pressbot-dev-incoming","arn":"arn:aws:s3:::pressbot-dev-incoming"},"object":{"key":"elife-00353-vor-v1-20121213000000.zip","size":1097506,"eTag":"0123456789abcdef0123456789abcdef","sequencer":"0055AED6DCD90281E5"}}}]}"#;
const STARTER: &str = r#"{"workflow_name":"IngestArticleZip","workflow_data":{"bucket":"pressbot-dev-incoming","key":"elife-00353-vor-v1-20121213000000.zip","version":null,"run":"r1"}}"#;

fn known(name: &str) -> bool {
    matches!(
        name,
        "PingWorker" | "ExpandArticle" | "VersionLookup" | "ConvertJATS" | "PostToCms"
    )
}

const DEFINITION: &str = r#"
name = "IngestArticleZip"
version = "1"
task_list = "default"
execution_start_to_close = "30m"

[defaults]
start_to_close = "5m"
schedule_to_start = "5m"
heartbeat = "1m"
retry = { max_attempts = 5, initial = "10s", backoff = 2.0, max = "5m" }

[[step]]
activity = "ExpandArticle"
start_to_close = "15m"

[[step]]
parallel = ["ConvertJATS", { activity = "PingWorker", id = "p" }]

[[step]]
activity = "PostToCms"
task_list = "cms"
when = { key = "published", equals = true }
params = { silent = false }
"#;

/// A valid input with a few bytes replaced, inserted or removed: the
/// mutations that get past the JSON/TOML syntax into the checks behind it.
fn mutated(seed: &'static str) -> impl Strategy<Value = String> {
    let len = seed.len();
    prop::collection::vec((0..len, 0u8..3, any::<char>()), 1..6).prop_map(move |edits| {
        let mut s: Vec<char> = seed.chars().collect();
        for (pos, op, c) in edits {
            let pos = pos.min(s.len().saturating_sub(1));
            match op {
                0 if !s.is_empty() => s[pos] = c,
                1 => s.insert(pos, c),
                _ if !s.is_empty() => {
                    s.remove(pos);
                }
                _ => {}
            }
        }
        s.into_iter().collect()
    })
}

/// JSON values of any shape, to put where a parser expects something else.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "\\PC{0,20}".prop_map(Value::String),
        "(%[0-9a-fA-F]{0,2}|\\+|\\.\\./|[a-z])*".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("Records".to_owned()),
                    Just("s3".to_owned()),
                    Just("bucket".to_owned()),
                    Just("object".to_owned()),
                    Just("key".to_owned()),
                    Just("name".to_owned()),
                    Just("size".to_owned()),
                    Just("eventName".to_owned()),
                    Just("Message".to_owned()),
                    Just("Type".to_owned()),
                    Just("Event".to_owned()),
                    Just("workflow_name".to_owned()),
                    Just("workflow_data".to_owned()),
                    "[a-zA-Z_]{1,8}",
                ],
                inner,
                0..6
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn s3_events_arbitrary_text(s in "\\PC{0,300}") {
        let _ = parse_s3_notification(&s);
    }

    #[test]
    fn s3_events_mutated(s in mutated(S3_EVENT)) {
        if let Err(e) = parse_s3_notification(&s) {
            prop_assert!(e.to_string().contains("S3 event"), "{}", e);
        }
    }

    #[test]
    fn s3_events_any_json_shape(v in json_value()) {
        let wrapped = serde_json::json!({"Records": [v.clone()]});
        let _ = parse_s3_notification(&v.to_string());
        let _ = parse_s3_notification(&wrapped.to_string());
        // SNS-wrapped, as an S3 → SNS → SQS chain delivers it.
        let sns = serde_json::json!({"Type": "Notification", "Message": wrapped.to_string()});
        let _ = parse_s3_notification(&sns.to_string());
    }

    #[test]
    fn starter_messages_arbitrary_text(s in "\\PC{0,300}") {
        let _ = StarterMessage::parse(&s);
    }

    #[test]
    fn starter_messages_mutated(s in mutated(STARTER)) {
        if let Err(e) = StarterMessage::parse(&s) {
            prop_assert!(e.to_string().contains("workflow starter"), "{}", e);
        }
    }

    #[test]
    fn starter_messages_any_json_shape(name in json_value(), data in json_value()) {
        let m = serde_json::json!({"workflow_name": name, "workflow_data": data});
        let _ = StarterMessage::parse(&m.to_string());
    }

    #[test]
    fn definitions_arbitrary_text(s in "\\PC{0,400}") {
        let _ = WorkflowDefinition::from_toml_str(&s, Path::new("fuzz.toml"), &known);
    }

    #[test]
    fn definitions_mutated(s in mutated(DEFINITION)) {
        if let Err(e) = WorkflowDefinition::from_toml_str(&s, Path::new("fuzz.toml"), &known) {
            prop_assert!(e.to_string().contains("fuzz.toml"), "error must name the file: {}", e);
        }
    }

    #[test]
    fn definitions_with_odd_values(
        attempts in any::<i64>(),
        backoff in any::<f64>(),
        timeout in "[0-9]{0,25}(ns|ms|s|m|h|d|y|)",
        steps in 0usize..40,
    ) {
        let mut text = format!(
            "name = \"W\"\nversion = \"1\"\ntask_list = \"t\"\nexecution_start_to_close = \"{timeout}\"\n[defaults]\nretry = {{ max_attempts = {attempts}, initial = \"{timeout}\", backoff = {backoff:?}, max = \"1s\" }}\n"
        );
        for i in 0..steps {
            text.push_str(&format!("[[step]]\nactivity = \"PingWorker\"\nid = \"s{}\"\n", i % 7));
        }
        let text = text.replace("NaN", "nan");
        let _ = WorkflowDefinition::from_toml_str(&text, Path::new("fuzz.toml"), &known);
    }
}

/// `tests/corpus/<target>/` at the repository root.
fn corpus(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("corpus entry").path())
        .filter(|p| p.is_file() && p.file_name().is_some_and(|n| n != "README.md"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "empty corpus {}", dir.display());
    files
}

fn replay(target: &str, parse: impl Fn(&str) -> Result<(), String>) {
    for file in corpus(target) {
        let bytes = std::fs::read(&file).expect("read corpus file");
        let text = String::from_utf8_lossy(&bytes);
        let outcome = parse(&text);
        let name = file
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        if name.starts_with("bad-") {
            let e = outcome.expect_err(&format!("{} must be refused", file.display()));
            assert!(!e.is_empty(), "{}: empty error", file.display());
        }
    }
}

#[test]
fn corpus_s3_events() {
    replay("s3_event", |s| {
        parse_s3_notification(s)
            .map(|_| ())
            .map_err(|e| e.to_string())
    });
}

#[test]
fn corpus_starter_messages() {
    replay("starter_message", |s| {
        StarterMessage::parse(s)
            .map(|_| ())
            .map_err(|e| e.to_string())
    });
}

#[test]
fn corpus_workflow_definitions() {
    replay("workflow_definition", |s| {
        WorkflowDefinition::from_toml_str(s, Path::new("corpus.toml"), &known)
            .map(|_| ())
            .map_err(|e| e.to_string())
    });
}
