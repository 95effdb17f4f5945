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
/// environment variables, and validate the result.
pub fn load_settings(dir: &Path, env: &str) -> Result<Settings> {
    use config::{Config, Environment, File};
    let wrap = |source| Error::Settings {
        dir: dir.to_path_buf(),
        env: env.to_owned(),
        source: Box::new(source),
    };
    let mut builder =
        Config::builder().add_source(File::from(dir.join("default.toml")).required(true));
    if env != "default" {
        builder = builder.add_source(File::from(dir.join(format!("{env}.toml"))).required(true));
    }
    let settings: Settings = builder
        .add_source(
            Environment::with_prefix("PRESSBOT")
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true),
        )
        .set_override("env", env)
        .map_err(wrap)?
        .build()
        .map_err(wrap)?
        .try_deserialize()
        .map_err(wrap)?;
    settings.validate()?;
    Ok(settings)
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
