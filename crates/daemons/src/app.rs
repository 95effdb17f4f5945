//! What every binary does first: parse the common arguments, load and
//! validate settings, workflow definitions and rules, and connect a backend.
//! Everything is checked here, at start-up, so a daemon never discovers a
//! bad setting mid-run.

use crate::error::{Error, Result};
use crate::http::Dependency;
use crate::role::Role;
use pressbot_activities::is_known_activity;
use pressbot_core::backend::Backend;
use pressbot_core::definition::Definitions;
use pressbot_core::rules::NewFileRules;
use pressbot_core::settings::{BackendKind, Settings};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Arguments every pressbot binary takes.
#[derive(Debug, Clone, clap::Args)]
pub struct CommonArgs {
    /// Environment: loads settings/<ENV>.toml over settings/default.toml.
    #[arg(long, env = "PRESSBOT_ENV", default_value = "default", global = true)]
    pub env: String,
    /// Directory holding default.toml and the environment files.
    #[arg(
        long,
        env = "PRESSBOT_SETTINGS_DIR",
        default_value = "settings",
        global = true
    )]
    pub settings_dir: PathBuf,
}

/// Load `default.toml`, then `<env>.toml`, then `PRESSBOT__SECTION__KEY`
/// environment variables, and validate the result. Fails with the first of
/// [`check_settings`]'s problems.
pub fn load_settings(dir: &Path, env: &str) -> Result<Settings> {
    let (settings, problems) = check_settings(dir, env);
    match (settings, problems.into_iter().next()) {
        (Some(settings), None) => Ok(settings),
        (_, Some(problem)) => Err(problem.error),
        (None, None) => Err(Error::Other("settings did not load".into())),
    }
}

/// One problem in the settings, with where it comes from when known.
#[derive(Debug)]
pub struct SettingsProblem {
    pub error: Error,
    /// The settings key, e.g. `decider.slots` or `worker.pools[0].slots`.
    pub key: Option<String>,
    /// Where the key's value came from: a settings file's path, or "the
    /// environment" (a `PRESSBOT__` variable).
    pub origin: Option<String>,
}

/// Load and validate the settings of `env`, reporting every problem rather
/// than the first: deserialisation stops at its first error, so each key it
/// fails on is set aside (its value replaced by default.toml's, or dropped
/// when default.toml has none, as for an unknown key) and the rest is
/// deserialised again; then [`Settings::problems`] checks what types cannot.
/// Settings come back only when there is no problem.
pub fn check_settings(dir: &Path, env: &str) -> (Option<Settings>, Vec<SettingsProblem>) {
    use config::{Config, Environment, File, Source, Value, ValueKind};
    let wrap = |source| Error::Settings {
        dir: dir.to_path_buf(),
        env: env.to_owned(),
        source: Box::new(source),
    };
    let unplaced = |error| SettingsProblem {
        error,
        key: None,
        origin: None,
    };
    let default_file = || File::from(dir.join("default.toml")).required(true);
    let mut builder = Config::builder().add_source(default_file());
    if env != "default" {
        builder = builder.add_source(File::from(dir.join(format!("{env}.toml"))).required(true));
    }
    let merged = builder
        .add_source(
            Environment::with_prefix("PRESSBOT")
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true),
        )
        .set_override("env", env)
        .and_then(|b| b.build())
        .and_then(|c| c.collect());
    let mut table = match merged {
        Ok(t) => t,
        // A file that does not parse: nothing further can be checked.
        Err(e) => return (None, vec![unplaced(wrap(e))]),
    };
    let defaults = Config::builder()
        .add_source(default_file())
        .build()
        .and_then(|c| c.collect())
        .unwrap_or_default();
    let mut problems = Vec::new();
    let mut set_aside = std::collections::HashSet::new();
    let settings = loop {
        match Value::new(None, ValueKind::Table(table.clone())).try_deserialize::<Settings>() {
            Ok(s) => break Some(s),
            Err(e) => {
                let key = config_error_key(&e);
                let origin = key
                    .as_deref()
                    .and_then(|k| settings_value(&table, k))
                    .and_then(origin_of);
                problems.push(SettingsProblem {
                    error: wrap(e),
                    key: key.clone(),
                    origin,
                });
                // No key to set aside, or one already set aside (so no
                // progress): stop here.
                let Some(key) = key.filter(|k| set_aside.insert(k.clone())) else {
                    break None;
                };
                let default = settings_value(&defaults, &key).cloned();
                set_settings_value(&mut table, &key, default);
            }
        }
    };
    let Some(settings) = settings else {
        return (None, problems);
    };
    for error in settings.problems() {
        let key = match &error {
            pressbot_core::Error::Settings { key, .. } => Some(key.clone()),
            _ => None,
        };
        let origin = key
            .as_deref()
            .and_then(|k| settings_value(&table, k))
            .and_then(origin_of);
        problems.push(SettingsProblem {
            error: error.into(),
            key,
            origin,
        });
    }
    if problems.is_empty() {
        (Some(settings), problems)
    } else {
        (None, problems)
    }
}

/// Where a value came from, a file's path made absolute: the config crate
/// records it relative to the working directory, which under systemd is
/// not where the operator looks.
fn origin_of(value: &config::Value) -> Option<String> {
    let origin = value.origin()?;
    let path = Path::new(origin);
    if path.is_relative() {
        if let Ok(absolute) = std::env::current_dir().map(|d| d.join(path)) {
            if absolute.is_file() {
                return Some(absolute.display().to_string());
            }
        }
    }
    Some(origin.to_owned())
}

/// The settings key a deserialisation error is about: `decider.slots` for
/// a bad value there, `decider.slotz` for an unknown key `slotz` in
/// `[decider]`, `decider.slots` for a missing one.
fn config_error_key(e: &config::ConfigError) -> Option<String> {
    use config::ConfigError;
    // serde's messages name the field between backquotes.
    let field = |message: &str| {
        ["unknown field `", "missing field `"].iter().find_map(|p| {
            message
                .strip_prefix(p)
                .and_then(|rest| rest.split('`').next())
                .map(str::to_owned)
        })
    };
    match e {
        ConfigError::Type { key, .. } => key.clone(),
        ConfigError::At { error, key, .. } => {
            let inner = match error.as_ref() {
                ConfigError::Message(m) => field(m),
                _ => None,
            };
            match (key, inner) {
                (Some(k), Some(f)) if !k.is_empty() => Some(format!("{k}.{f}")),
                (_, Some(f)) => Some(f),
                (k, None) => k.clone(),
            }
        }
        ConfigError::Message(m) => field(m),
        ConfigError::NotFound(k) => Some(k.clone()),
        _ => None,
    }
}

/// One step of a settings key: a table's key or an array's index.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

/// `decider.slots` or `worker.pools[0].slots` split into its steps.
fn key_steps(key: &str) -> Vec<Step> {
    let mut steps = Vec::new();
    for part in key.split('.') {
        let mut pieces = part.split('[');
        if let Some(name) = pieces.next().filter(|n| !n.is_empty()) {
            steps.push(Step::Key(name.to_owned()));
        }
        for index in pieces {
            if let Ok(i) = index.trim_end_matches(']').parse() {
                steps.push(Step::Index(i));
            }
        }
    }
    steps
}

/// The value at a settings key in a merged table, if there is one.
fn settings_value<'a>(
    table: &'a config::Map<String, config::Value>,
    key: &str,
) -> Option<&'a config::Value> {
    use config::ValueKind;
    let steps = key_steps(key);
    let (Step::Key(first), rest) = steps.split_first()? else {
        return None;
    };
    let mut value = table.get(first)?;
    for step in rest {
        value = match (&value.kind, step) {
            (ValueKind::Table(t), Step::Key(name)) => t.get(name)?,
            (ValueKind::Array(a), Step::Index(i)) => a.get(*i)?,
            _ => return None,
        };
    }
    Some(value)
}

/// Replace (or with `None` remove) the value at a settings key.
fn set_settings_value(
    table: &mut config::Map<String, config::Value>,
    key: &str,
    new: Option<config::Value>,
) {
    let mut root = config::ValueKind::Table(std::mem::take(table));
    set_at(&mut root, &key_steps(key), new);
    if let config::ValueKind::Table(t) = root {
        *table = t;
    }
}

fn set_at(kind: &mut config::ValueKind, steps: &[Step], new: Option<config::Value>) {
    use config::ValueKind;
    match (kind, steps) {
        (ValueKind::Table(t), [Step::Key(name)]) => match new {
            Some(v) => {
                t.insert(name.clone(), v);
            }
            None => {
                t.remove(name);
            }
        },
        (ValueKind::Array(a), [Step::Index(i)]) if *i < a.len() => match new {
            Some(v) => a[*i] = v,
            None => {
                a.remove(*i);
            }
        },
        (ValueKind::Table(t), [Step::Key(name), rest @ ..]) => {
            if let Some(v) = t.get_mut(name) {
                set_at(&mut v.kind, rest, new);
            }
        }
        (ValueKind::Array(a), [Step::Index(i), rest @ ..]) => {
            if let Some(v) = a.get_mut(*i) {
                set_at(&mut v.kind, rest, new);
            }
        }
        _ => {}
    }
}

/// Settings, definitions and rules, loaded and validated together.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub settings: Arc<Settings>,
    pub definitions: Arc<Definitions>,
    pub rules: Arc<NewFileRules>,
}

impl Loaded {
    /// Load everything a daemon needs, failing with the first problem found
    /// as an [`Error::Config`] (exit status 78).
    pub fn load(args: &CommonArgs) -> Result<Self> {
        load_settings(&args.settings_dir, &args.env)
            .and_then(Self::from_settings)
            .map_err(|e| Error::Config(Box::new(e)))
    }

    pub fn from_settings(settings: Settings) -> Result<Self> {
        let definitions = Definitions::load_dir(&settings.workflows_dir, &is_known_activity)?;
        if definitions.is_empty() {
            return Err(Error::Other(format!(
                "no workflow definitions in {}",
                settings.workflows_dir.display()
            )));
        }
        let rules_file = settings.workflows_dir.join("new-file-rules.toml");
        let rules = if rules_file.exists() {
            NewFileRules::load(&rules_file, &|role| settings.bucket(role), &|w| {
                definitions.get(w).is_some()
            })?
        } else {
            NewFileRules::default()
        };
        Ok(Loaded {
            settings: Arc::new(settings),
            definitions: Arc::new(definitions),
            rules: Arc::new(rules),
        })
    }
}

/// Connect the backend the settings name. With `PRESSBOT_FAULTS` set (chaos
/// tests only, in a build with the `faults` feature) the backend is wrapped
/// in `pressbot_faults::FaultyBackend`; see [`crate::faults`].
pub async fn connect(settings: &Settings) -> Result<Backend> {
    crate::faults::gate()?;
    let backend = connect_backend(settings).await?;
    crate::faults::wrap(backend)
}

/// [`connect`] for a daemon: on AWS it first checks that what this role
/// uses ([`startup_needs`]) exists and may be used, so a daemon started
/// before `pressbot create-resources`, or with a policy that lacks a grant,
/// stops at once and says so, instead of polling a domain that is not there.
/// (Not in [`connect`] itself: `pressbot create-resources` connects too.)
pub async fn connect_verified(settings: &Settings, role: Role) -> Result<Backend> {
    if settings.backend == BackendKind::Aws {
        pressbot_aws::AwsBackend::connect(settings)
            .await
            .map_err(|e| Error::Aws(e.to_string()))?
            .verify_needs(&startup_needs(role, settings))
            .await
            .map_err(|e| Error::Aws(e.to_string()))?;
    }
    connect(settings).await
}

/// What a role checks at start-up: its heartbeat dependencies (exactly what
/// its IAM policy in `scripts/iam/` grants) plus the dead-letter queue a
/// queue-reading role sends malformed messages to. Nothing else: the
/// decider has no SQS grant and the queue worker no SWF grant, so checking
/// the domain and every queue for every role (as before) made each
/// least-privilege unit restart-loop on AWS.
pub fn startup_needs(role: Role, settings: &Settings) -> pressbot_aws::Needs {
    let mut needs = pressbot_aws::Needs::default();
    for d in crate::http::dependencies(role, settings) {
        match d {
            Dependency::Workflows => needs.domain = true,
            Dependency::Queue(q) => needs.queues.push(q),
            Dependency::Bucket(b) => needs.buckets.push(b),
        }
    }
    let dead_letters = match role {
        Role::QueueWorker => Some(settings.incoming_queue()),
        Role::WorkflowStarter => Some(settings.starter_queue()),
        Role::Decider | Role::ActivityWorker => None,
    };
    needs
        .queues
        .extend(dead_letters.map(|q| pressbot_core::backend::dead_letter_queue_name(&q)));
    needs
}

async fn connect_backend(settings: &Settings) -> Result<Backend> {
    match settings.backend {
        BackendKind::Local => {
            let local = pressbot_local::LocalBackend::open(
                &settings.local.data_dir,
                pressbot_local::LocalOptions::from_settings(settings.domain(), &settings.local),
            )
            .map_err(|e| Error::Core(e.into()))?;
            // Presigned URLs over HTTP when an object server is named.
            local
                .set_object_url(settings.local.object_url.as_deref())
                .map_err(|e| Error::Core(e.into()))?;
            Ok(local.backend())
        }
        BackendKind::Aws => {
            let aws = pressbot_aws::AwsBackend::connect(settings)
                .await
                .map_err(|e| Error::Aws(e.to_string()))?;
            Ok(aws.backend())
        }
    }
}

/// A process identity for SWF polls: host and pid, so an operator can tell
/// which process holds a task.
pub fn identity(role: &str) -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|s| s.trim().to_owned())
        })
        .unwrap_or_else(|| "localhost".into());
    format!("{role}@{host}:{}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../settings")
    }

    #[test]
    fn every_shipped_environment_loads_and_validates() {
        for env in ["default", "aws-example"] {
            let s = load_settings(&settings_dir(), env).unwrap_or_else(|e| panic!("{env}: {e}"));
            assert_eq!(s.env, env);
        }
        let aws = load_settings(&settings_dir(), "aws-example").expect("loads");
        assert_eq!(aws.backend, BackendKind::Aws);
        assert_eq!(
            aws.bucket("incoming").as_deref(),
            Some("pressbot-prod-incoming")
        );
    }

    /// Each role checks at start-up only what its policy in `scripts/iam/`
    /// grants: the decider no queue, the queue worker not the domain.
    #[test]
    fn each_role_checks_only_what_it_uses() {
        let s = load_settings(&settings_dir(), "default").expect("loads");
        let decider = startup_needs(Role::Decider, &s);
        assert!(decider.domain && decider.queues.is_empty() && decider.buckets.is_empty());
        let qw = startup_needs(Role::QueueWorker, &s);
        assert!(!qw.domain && qw.buckets.is_empty());
        assert_eq!(
            qw.queues,
            [
                s.incoming_queue(),
                s.starter_queue(),
                format!("{}-dlq", s.incoming_queue())
            ]
        );
        let st = startup_needs(Role::WorkflowStarter, &s);
        assert!(st.domain && !st.queues.contains(&s.incoming_queue()));
        let w = startup_needs(Role::ActivityWorker, &s);
        assert_eq!(w.queues, [s.event_queue()]);
        assert_eq!(w.buckets.len(), 5);
    }

    #[test]
    fn a_missing_environment_file_is_named() {
        let e = load_settings(&settings_dir(), "no-such-env")
            .expect_err("must fail")
            .to_string();
        assert!(e.contains("no-such-env"), "{e}");
    }
}
