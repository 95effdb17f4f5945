//! New-file rules: which workflow a new object starts.
//!
//! `workflows/new-file-rules.toml`:
//!
//! ```toml
//! [[rule]]
//! bucket = "incoming"          # a bucket role from settings ([buckets]), not a literal name
//! key = '^[^/]+\.zip$'         # regex on the decoded key
//! workflow = "IngestArticleZip"
//! ```
//!
//! Rules name bucket roles rather than bucket names so one rule file serves
//! every environment (each environment prefixes its bucket names).

use crate::error::{Error, Result};
use regex::Regex;
use serde::Deserialize;
use std::path::Path;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRules {
    #[serde(default, rename = "rule")]
    rules: Vec<RawRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    bucket: String,
    key: String,
    workflow: String,
}

/// One compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// The bucket's real name in this environment.
    pub bucket: String,
    /// Regex on the decoded object key; it matches anywhere unless anchored.
    pub key: Regex,
    /// The workflow started for a matching file.
    pub workflow: String,
}

/// An ordered set of rules; the first that matches wins.
#[derive(Debug, Clone, Default)]
pub struct NewFileRules {
    /// In file order, since the first match wins.
    pub rules: Vec<Rule>,
}

impl NewFileRules {
    /// Parse rules. `bucket_of` maps a bucket role to its real name (None:
    /// unknown role); `workflow_exists` checks the workflow name.
    pub fn from_toml_str(
        text: &str,
        file: &Path,
        bucket_of: &dyn Fn(&str) -> Option<String>,
        workflow_exists: &dyn Fn(&str) -> bool,
    ) -> Result<Self> {
        let raw: RawRules = toml::from_str(text).map_err(|source| Error::Toml {
            file: file.to_path_buf(),
            source,
        })?;
        let err = |field: String, message: String| Error::Definition {
            file: file.to_path_buf(),
            field,
            message,
        };
        let mut rules = Vec::new();
        for (i, r) in raw.rules.into_iter().enumerate() {
            let bucket = bucket_of(&r.bucket).ok_or_else(|| {
                err(
                    format!("rule[{i}].bucket"),
                    format!(
                        "unknown bucket role {:?} (see [buckets] in settings)",
                        r.bucket
                    ),
                )
            })?;
            let key =
                Regex::new(&r.key).map_err(|e| err(format!("rule[{i}].key"), e.to_string()))?;
            if !workflow_exists(&r.workflow) {
                return Err(err(
                    format!("rule[{i}].workflow"),
                    format!("no workflow definition named {:?}", r.workflow),
                ));
            }
            rules.push(Rule {
                bucket,
                key,
                workflow: r.workflow,
            });
        }
        Ok(NewFileRules { rules })
    }

    /// Read and parse a rules file (see [`NewFileRules::from_toml_str`]), so a
    /// rule that names an unknown bucket role or workflow fails at start-up.
    pub fn load(
        file: &Path,
        bucket_of: &dyn Fn(&str) -> Option<String>,
        workflow_exists: &dyn Fn(&str) -> bool,
    ) -> Result<Self> {
        let text = std::fs::read_to_string(file).map_err(|source| Error::Io {
            path: file.to_path_buf(),
            source,
        })?;
        Self::from_toml_str(&text, file, bucket_of, workflow_exists)
    }

    /// The workflow a new object starts, if any rule matches.
    pub fn workflow_for(&self, bucket: &str, key: &str) -> Option<&str> {
        self.rules
            .iter()
            .find(|r| r.bucket == bucket && r.key.is_match(key))
            .map(|r| r.workflow.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket_of(role: &str) -> Option<String> {
        matches!(role, "incoming" | "silent_corrections").then(|| format!("dev-{role}"))
    }

    #[test]
    fn first_matching_rule_wins() {
        let rules = NewFileRules::from_toml_str(
            "[[rule]]\nbucket = \"incoming\"\nkey = '\\.zip$'\nworkflow = \"IngestArticleZip\"\n\
             [[rule]]\nbucket = \"silent_corrections\"\nkey = '\\.zip$'\nworkflow = \"SilentCorrectionsIngest\"\n",
            Path::new("r.toml"),
            &bucket_of,
            &|_| true,
        )
        .expect("valid");
        assert_eq!(
            rules.workflow_for("dev-incoming", "a.zip"),
            Some("IngestArticleZip")
        );
        assert_eq!(
            rules.workflow_for("dev-silent_corrections", "a.zip"),
            Some("SilentCorrectionsIngest")
        );
        assert_eq!(rules.workflow_for("dev-incoming", "a.txt"), None);
        assert_eq!(rules.workflow_for("other", "a.zip"), None);
    }

    #[test]
    fn errors_name_the_rule() {
        let e = NewFileRules::from_toml_str(
            "[[rule]]\nbucket = \"nope\"\nkey = 'x'\nworkflow = \"W\"\n",
            Path::new("r.toml"),
            &bucket_of,
            &|_| true,
        )
        .expect_err("bad bucket")
        .to_string();
        assert!(e.contains("rule[0].bucket"), "{e}");
        let e = NewFileRules::from_toml_str(
            "[[rule]]\nbucket = \"incoming\"\nkey = '('\nworkflow = \"W\"\n",
            Path::new("r.toml"),
            &bucket_of,
            &|_| true,
        )
        .expect_err("bad regex")
        .to_string();
        assert!(e.contains("rule[0].key"), "{e}");
        let e = NewFileRules::from_toml_str(
            "[[rule]]\nbucket = \"incoming\"\nkey = 'x'\nworkflow = \"W\"\n",
            Path::new("r.toml"),
            &bucket_of,
            &|_| false,
        )
        .expect_err("bad workflow")
        .to_string();
        assert!(e.contains("rule[0].workflow"), "{e}");
    }
}
