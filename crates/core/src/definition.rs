//! Workflow definitions as data: one TOML file per workflow type.
//!
//! Loading validates everything the decider relies on, so a definition that
//! loads cannot make the decider misbehave; anything wrong is reported with
//! the file and the field (`step[2].retry.backoff`).

use crate::error::{Error, Result};
use crate::history::ActivityTimeouts;
use crate::ids::TypeRef;
use crate::retry::RetryPolicy;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

mod parse;

use self::parse::RawDefinition;

/// Files in `workflows/` that are not workflow definitions.
pub const RESERVED_FILES: &[&str] = &["new-file-rules.toml", "cron.toml"];

/// Version that activity types are registered under unless a definition says otherwise.
pub const DEFAULT_ACTIVITY_VERSION: &str = "1";

/// A validated workflow definition.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkflowDefinition {
    /// Workflow type name, as registered with SWF and named by rules and `pressbot start`.
    pub name: String,
    /// Workflow type version. Executions keep the version they started with, so
    /// a changed definition needs a new version.
    pub version: String,
    /// Free text for operators; registered as the type's description.
    pub description: Option<String>,
    /// Task list of the decision tasks.
    pub task_list: String,
    /// How long an execution may run before SWF times it out.
    pub execution_start_to_close: Duration,
    /// How long the decider may take to answer one decision task.
    pub decision_task_start_to_close: Duration,
    /// Steps in order; each group holds one activity, or several that run in parallel.
    pub groups: Vec<Vec<Step>>,
    /// Where it was loaded from, for error messages.
    pub source: PathBuf,
}

/// One activity of a workflow, with everything needed to schedule it.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// Unique within the workflow; defaults to the activity name.
    pub id: String,
    /// The activity type scheduled for this step.
    pub activity: TypeRef,
    /// Task list the activity is scheduled on, so it reaches the worker pool
    /// that polls that list.
    pub task_list: String,
    /// SWF's four activity timeouts for each attempt.
    pub timeouts: ActivityTimeouts,
    /// How many attempts, and how long to wait between them.
    pub retry: RetryPolicy,
    /// Static parameters handed to the activity with the context.
    pub params: serde_json::Value,
    /// Run only when the context matches; otherwise the step is skipped.
    pub when: Option<Condition>,
}

/// `when = { key = "mode", equals = "automatic" }`: a step condition on the
/// workflow context, evaluated by the decider when the step is reached.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// The context key to look at (top level only).
    pub key: String,
    /// The value the key must hold, compared as JSON (so `1` and `"1"` differ).
    pub equals: serde_json::Value,
}

impl Condition {
    /// Whether the context satisfies the condition. A missing key never matches.
    pub fn matches(&self, context: &serde_json::Value) -> bool {
        context.get(&self.key) == Some(&self.equals)
    }
}

impl WorkflowDefinition {
    /// The workflow type, as registered with the service.
    pub fn workflow_type(&self) -> TypeRef {
        TypeRef::new(&self.name, &self.version)
    }

    /// Every step, in order.
    pub fn steps(&self) -> impl Iterator<Item = &Step> {
        self.groups.iter().flatten()
    }

    /// A step by id.
    pub fn step(&self, id: &str) -> Option<&Step> {
        self.steps().find(|s| s.id == id)
    }

    /// Parse and validate a definition. `known_activity` says whether an
    /// activity type exists, so a typo fails at load time, not mid-workflow.
    pub fn from_toml_str(
        text: &str,
        file: &Path,
        known_activity: &dyn Fn(&str) -> bool,
    ) -> Result<Self> {
        let raw: RawDefinition = toml::from_str(text).map_err(|source| Error::Toml {
            file: file.to_path_buf(),
            source,
        })?;
        raw.validate(file, known_activity)
    }

    /// Load one file.
    pub fn load(file: &Path, known_activity: &dyn Fn(&str) -> bool) -> Result<Self> {
        let text = std::fs::read_to_string(file).map_err(|source| Error::Io {
            path: file.to_path_buf(),
            source,
        })?;
        Self::from_toml_str(&text, file, known_activity)
    }
}

/// All workflow definitions of a directory, keyed by (name, version).
///
/// Several versions of one workflow may be held at once, so that a rollout
/// never strands an execution: an execution keeps the version it started
/// with for its whole life, and a decider must hold that version to decide
/// it. New executions start at the *newest* version of a name, which is the
/// one with the highest version number. When a name has more than one
/// version every version must be a whole number (`"1"`, `"2"`, ...), so
/// "newest" never depends on file names or load order; a workflow held in a
/// single version may keep any version string.
#[derive(Debug, Clone, Default)]
pub struct Definitions {
    by_type: BTreeMap<(String, String), WorkflowDefinition>,
    /// Name → version new executions start at.
    newest: BTreeMap<String, String>,
}

/// A version as a number, for ordering the versions of one workflow.
fn version_number(version: &str) -> Option<u64> {
    let v = version.trim();
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse().ok()
}

impl Definitions {
    /// Load every `*.toml` in `dir` except the reserved files. A file's name
    /// does not matter (`IngestArticleZip.toml`, `IngestArticleZip.v1.toml`):
    /// the `name` and `version` inside it do. Fails on the first invalid
    /// file, on two files defining the same (name, version), naming both,
    /// and on versions of one name that cannot be ordered.
    pub fn load_dir(dir: &Path, known_activity: &dyn Fn(&str) -> bool) -> Result<Self> {
        let entries = std::fs::read_dir(dir).map_err(|source| Error::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| !RESERVED_FILES.contains(&n))
            })
            .collect();
        files.sort();
        let mut defs = Definitions::default();
        for file in files {
            let def = WorkflowDefinition::load(&file, known_activity)?;
            defs.insert(def)?;
        }
        Ok(defs)
    }

    /// Add a definition. A second one with the same (name, version) is an
    /// error naming both files; so is a second version of a name when either
    /// version is not a whole number, or both are the same number spelt
    /// differently (`"1"` and `"01"`).
    pub fn insert(&mut self, def: WorkflowDefinition) -> Result<()> {
        let conflict = |message: String| Error::Definition {
            file: def.source.clone(),
            field: "version".into(),
            message,
        };
        let key = (def.name.clone(), def.version.clone());
        if let Some(existing) = self.by_type.get(&key) {
            return Err(conflict(format!(
                "workflow {:?} version {:?} is already defined in {}",
                def.name,
                def.version,
                existing.source.display()
            )));
        }
        if let Some(held) = self.newest.get(&def.name) {
            let other = &self.by_type[&(def.name.clone(), held.clone())];
            let (Some(new), Some(old)) = (version_number(&def.version), version_number(held))
            else {
                return Err(conflict(format!(
                    "workflow {:?} has several versions ({:?} here, {:?} in {}): each must then \
                     be a whole number, so that the highest is the one new executions start at",
                    def.name,
                    def.version,
                    held,
                    other.source.display()
                )));
            };
            if let Some(same) = self
                .versions(&def.name)
                .find(|d| version_number(&d.version) == Some(new))
            {
                return Err(conflict(format!(
                    "workflow {:?} version {:?} is the same number as version {:?} in {}",
                    def.name,
                    def.version,
                    same.version,
                    same.source.display()
                )));
            }
            if new > old {
                self.newest.insert(def.name.clone(), def.version.clone());
            }
        } else {
            self.newest.insert(def.name.clone(), def.version.clone());
        }
        self.by_type.insert(key, def);
        Ok(())
    }

    /// The newest version of a workflow: the one new executions start at.
    pub fn get(&self, name: &str) -> Option<&WorkflowDefinition> {
        let version = self.newest.get(name)?;
        self.by_type.get(&(name.to_owned(), version.clone()))
    }

    /// The definition for a workflow type (name and version must both match).
    pub fn get_type(&self, t: &TypeRef) -> Option<&WorkflowDefinition> {
        self.by_type.get(&(t.name.clone(), t.version.clone()))
    }

    /// Every version held of one workflow, oldest first.
    pub fn versions<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a WorkflowDefinition> {
        let mut v: Vec<&WorkflowDefinition> =
            self.by_type.values().filter(|d| d.name == name).collect();
        v.sort_by_key(|d| version_number(&d.version));
        v.into_iter()
    }

    /// Every definition, every version (by name, then version string).
    pub fn iter(&self) -> impl Iterator<Item = &WorkflowDefinition> {
        self.by_type.values()
    }

    /// The names of the workflows held, each once.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.newest.keys().map(String::as_str)
    }

    /// Every workflow type held, `Name@version` joined, for logs and messages.
    pub fn describe_types(&self) -> String {
        self.iter()
            .map(|d| d.workflow_type().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Whether no definition was loaded (a decider with none can decide nothing).
    pub fn is_empty(&self) -> bool {
        self.by_type.is_empty()
    }

    /// Every distinct (activity type, default task list) used by any
    /// workflow version, for registration. When versions give one activity
    /// type different task lists, the newest version's wins (it is only the
    /// default: every schedule decision names its task list).
    pub fn activity_types(&self) -> Vec<(TypeRef, String)> {
        let mut seen = BTreeMap::new();
        let newest_first = self
            .newest
            .keys()
            .filter_map(|n| self.get(n))
            .chain(self.iter());
        for d in newest_first {
            for s in d.steps() {
                seen.entry(s.activity.clone())
                    .or_insert_with(|| s.task_list.clone());
            }
        }
        seen.into_iter().collect()
    }

    /// Every task list some activity is scheduled on, by any version.
    pub fn activity_task_lists(&self) -> Vec<String> {
        let set: std::collections::BTreeSet<String> = self
            .iter()
            .flat_map(|d| d.steps().map(|s| s.task_list.clone()))
            .collect();
        set.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(a: &str) -> bool {
        matches!(
            a,
            "ExpandArticle" | "ConvertJATS" | "ResizeImages" | "PostToCms" | "PingWorker"
        )
    }

    fn load(text: &str) -> Result<WorkflowDefinition> {
        WorkflowDefinition::from_toml_str(text, Path::new("workflows/test.toml"), &known)
    }

    const GOOD: &str = r#"
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
parallel = ["ConvertJATS", { activity = "ResizeImages", heartbeat = "30s" }]

[[step]]
activity = "PostToCms"
task_list = "cms"
retry = { max_attempts = 10, initial = "30s", backoff = 1.5, max = "5m" }
"#;

    #[test]
    fn loads_the_design_example() {
        let d = load(GOOD).expect("valid");
        assert_eq!(d.groups.len(), 3);
        assert_eq!(d.groups[1].len(), 2);
        let expand = d.step("ExpandArticle").expect("step");
        assert_eq!(
            expand.timeouts.start_to_close,
            Some(Duration::from_secs(900))
        );
        assert_eq!(expand.retry.max_attempts, 5);
        let resize = d.step("ResizeImages").expect("step");
        assert_eq!(resize.timeouts.heartbeat, Some(Duration::from_secs(30)));
        let post = d.step("PostToCms").expect("step");
        assert_eq!(post.task_list, "cms");
        assert_eq!(post.retry.max_attempts, 10);
    }

    fn error_of(text: &str) -> String {
        load(text).expect_err("must fail").to_string()
    }

    #[test]
    fn errors_name_file_and_field() {
        let base = "name = \"W\"\nversion = \"1\"\nexecution_start_to_close = \"1m\"\n";
        let cases: &[(&str, &str)] = &[
            ("[[step]]\nactivity = \"Nope\"\n", "step[0].activity: unknown activity type \"Nope\""),
            ("", "step: a workflow needs at least one [[step]]"),
            (
                "[[step]]\nactivity = \"ConvertJATS\"\n[[step]]\nactivity = \"ConvertJATS\"\n",
                "step[1].id: duplicate step id",
            ),
            ("[[step]]\nactivity = \"ConvertJATS\"\ncolour = 1\n", "unknown field `colour`"),
            ("[[step]]\nactivity = \"ConvertJATS\"\nstart_to_close = \"soon\"\n", "start_to_close"),
            (
                "[[step]]\nactivity = \"ConvertJATS\"\nretry = { max_attempts = 0, initial = \"1s\", max = \"1s\" }\n",
                "step[0].retry.max_attempts",
            ),
            ("[[step]]\nparallel = []\n", "step[0].parallel: must list at least one"),
            ("[[step]]\nparallel = [\"Nope\"]\n", "step[0].parallel[0].activity: unknown activity type"),
            ("[[step]]\n", "step[0]: needs `activity` or `parallel`"),
        ];
        for (steps, want) in cases {
            let got = error_of(&format!("{base}{steps}"));
            assert!(got.contains("workflows/test.toml"), "{got}");
            assert!(got.contains(want), "want {want:?} in {got:?}");
        }
    }

    #[test]
    fn explicit_ids_allow_an_activity_twice() {
        let d = load(
            "name = \"W\"\nversion = \"1\"\nexecution_start_to_close = \"1m\"\n\
             [[step]]\nactivity = \"PingWorker\"\nid = \"before\"\n\
             [[step]]\nactivity = \"PingWorker\"\nid = \"after\"\n",
        )
        .expect("valid");
        assert_eq!(d.steps().count(), 2);
    }

    fn def_text(name: &str, version: &str) -> String {
        format!(
            "name = \"{name}\"\nversion = \"{version}\"\nexecution_start_to_close = \"1m\"\n\
             [[step]]\nactivity = \"PingWorker\"\n"
        )
    }

    /// Write `files` (file name, name, version) into a fresh directory and load it.
    fn load_files(files: &[(&str, &str, &str)]) -> (tempfile::TempDir, Result<Definitions>) {
        let dir = tempfile::tempdir().expect("tempdir");
        for (file, name, version) in files {
            std::fs::write(dir.path().join(file), def_text(name, version)).expect("write");
        }
        std::fs::write(dir.path().join("cron.toml"), "not a definition").expect("write");
        let defs = Definitions::load_dir(dir.path(), &known);
        (dir, defs)
    }

    #[test]
    fn several_versions_load_and_the_highest_is_newest() {
        // (files, name → expected newest version, every type held)
        type Case<'a> = (
            &'a [(&'a str, &'a str, &'a str)],
            &'a [(&'a str, &'a str)],
            &'a str,
        );
        let cases: &[Case] = &[
            (&[("W.toml", "W", "1")], &[("W", "1")], "W@1"),
            (
                &[("W.toml", "W", "2"), ("W.v1.toml", "W", "1")],
                &[("W", "2")],
                "W@1, W@2",
            ),
            // File names carry no meaning: the old version may sit in W.toml.
            (
                &[("W.toml", "W", "1"), ("W-next.toml", "W", "2")],
                &[("W", "2")],
                "W@1, W@2",
            ),
            // Numeric, not string, order: 10 is newer than 9.
            (
                &[
                    ("a.toml", "W", "9"),
                    ("b.toml", "W", "10"),
                    ("c.toml", "W", "2"),
                ],
                &[("W", "10")],
                "W@10, W@2, W@9",
            ),
            (
                &[("W.toml", "W", "3"), ("Other.toml", "Other", "release-a")],
                &[("W", "3"), ("Other", "release-a")],
                "Other@release-a, W@3",
            ),
        ];
        for (files, newest, types) in cases {
            let (_dir, defs) = load_files(files);
            let defs = defs.unwrap_or_else(|e| panic!("{files:?}: {e}"));
            for (name, version) in *newest {
                assert_eq!(
                    defs.get(name).map(|d| d.version.as_str()),
                    Some(*version),
                    "{files:?}"
                );
            }
            assert_eq!(defs.describe_types(), *types, "{files:?}");
            for d in defs.iter() {
                assert_eq!(defs.get_type(&d.workflow_type()), Some(d));
            }
            assert!(defs.get_type(&TypeRef::new("W", "99")).is_none());
        }
    }

    #[test]
    fn conflicting_versions_are_refused_naming_both_files() {
        // (files, what the error must say)
        type Case<'a> = (&'a [(&'a str, &'a str, &'a str)], &'a [&'a str]);
        let cases: &[Case] = &[
            (
                &[("W.toml", "W", "1"), ("W.v1.toml", "W", "1")],
                &["W.v1.toml", "W.toml", "version \"1\" is already defined"],
            ),
            (
                &[("a.toml", "W", "1"), ("b.toml", "W", "01")],
                &["a.toml", "b.toml", "same number"],
            ),
            (
                &[("a.toml", "W", "1"), ("b.toml", "W", "beta")],
                &["a.toml", "b.toml", "whole number"],
            ),
            (
                &[("a.toml", "W", "x"), ("b.toml", "W", "y")],
                &["a.toml", "b.toml", "whole number"],
            ),
        ];
        for (files, want) in cases {
            let (_dir, defs) = load_files(files);
            let e = defs.expect_err("must fail").to_string();
            for w in *want {
                assert!(e.contains(w), "want {w:?} in {e:?}");
            }
        }
    }

    #[test]
    fn versions_are_listed_oldest_first_and_names_once() {
        let (_dir, defs) = load_files(&[
            ("W.toml", "W", "10"),
            ("W.v2.toml", "W", "2"),
            ("P.toml", "P", "1"),
        ]);
        let defs = defs.expect("loads");
        let versions: Vec<&str> = defs.versions("W").map(|d| d.version.as_str()).collect();
        assert_eq!(versions, ["2", "10"]);
        assert_eq!(defs.names().collect::<Vec<_>>(), ["P", "W"]);
        assert_eq!(defs.iter().count(), 3);
    }
}
