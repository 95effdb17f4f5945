//! The publishing activities and the registry the activity-worker runs them from.
//!
//! An activity gets the workflow context (JSON) and returns its output
//! (merged into the context by the decider) or an [`ActivityFailure`] that is
//! either retryable or permanent. Activities never sleep to retry: they fail
//! retryable and the decider waits on an SWF timer.

use async_trait::async_trait;
use pressbot_core::activity::{ActivityFailure, ActivityInput};
use pressbot_core::backend::Backend;
use pressbot_core::ids::WorkflowExecution;
use pressbot_core::settings::Settings;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

pub mod ping;

pub mod archive;
pub mod article;
pub mod deposit;
pub mod error;
pub mod expand;
pub mod identity;
pub mod images;
pub mod jats;
pub mod manifest;
pub mod naming;
pub mod package;
pub mod versioning;

pub mod cms_activities;
pub mod dashboard;

/// What every activity may use: the backend services and the settings.
#[derive(Debug, Clone)]
pub struct Env {
    pub backend: Backend,
    pub settings: Arc<Settings>,
}

/// Progress an activity reports; the worker sends the latest with its next heartbeat.
#[derive(Debug, Clone, Default)]
pub struct Progress(Arc<Mutex<Option<String>>>);

impl Progress {
    /// Record a progress note (e.g. "resized 3 of 10 figures").
    pub fn report(&self, note: impl Into<String>) {
        if let Ok(mut g) = self.0.lock() {
            *g = Some(note.into());
        }
    }

    /// Take the latest note, if any.
    pub fn take(&self) -> Option<String> {
        self.0.lock().ok().and_then(|mut g| g.take())
    }
}

/// One activity attempt's inputs.
#[derive(Debug, Clone)]
pub struct ActivityContext {
    pub input: ActivityInput,
    pub execution: WorkflowExecution,
    pub activity_id: String,
    /// Cancelled when the service asks for cancellation or the worker is
    /// stopping; long activities check it between units of work.
    pub cancel: CancellationToken,
    pub progress: Progress,
    /// When the worker will cut this attempt (its step's `start_to_close`,
    /// a little early), if the step has one. Activities that wait for
    /// something before their real work (the CMS lease) stop waiting in
    /// time for the work to fit.
    pub deadline: Option<tokio::time::Instant>,
}

impl ActivityContext {
    /// A string field of the workflow context, or a permanent failure naming it.
    pub fn context_str(&self, key: &str) -> Result<&str, ActivityFailure> {
        self.input
            .context
            .get(key)
            .and_then(|v| v.as_str())
            .ok_or_else(|| {
                ActivityFailure::permanent(format!(
                    "{}: workflow context has no string `{key}`",
                    self.input.step
                ))
            })
    }
}

/// An activity type.
#[async_trait]
pub trait Activity: Send + Sync + std::fmt::Debug {
    /// The activity type name, as workflow definitions name it.
    fn name(&self) -> &'static str;
    /// Run one attempt. The output must be a JSON object (or null).
    async fn run(&self, ctx: &ActivityContext) -> Result<serde_json::Value, ActivityFailure>;
}

/// Every activity type this build knows, for validating workflow definitions.
pub const ACTIVITY_NAMES: &[&str] = &[
    "PingWorker",
    "VersionLookup",
    "ExpandArticle",
    "ApplyVersionNumber",
    "ConvertJATS",
    "ResizeImages",
    "DepositAssets",
    "ArchiveArticle",
    "PostToCms",
    "PublishToCms",
];

/// Whether an activity type exists.
pub fn is_known_activity(name: &str) -> bool {
    ACTIVITY_NAMES.contains(&name)
}

/// Activities by name.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    by_name: BTreeMap<&'static str, Arc<dyn Activity>>,
}

impl Registry {
    /// The full publishing set, bound to an environment.
    pub fn standard(env: Arc<Env>) -> Self {
        let _ = &env;
        let mut r = Registry::default();
        r.add(Arc::new(ping::PingWorker));
        r.add(Arc::new(package::VersionLookup::new(env.clone())));
        r.add(Arc::new(expand::ExpandArticle::new(env.clone())));
        r.add(Arc::new(versioning::ApplyVersionNumber::new(env.clone())));
        r.add(Arc::new(jats::ConvertJats::new(env.clone())));
        r.add(Arc::new(images::ResizeImages::new(env.clone())));
        r.add(Arc::new(deposit::DepositAssets::new(env.clone())));
        r.add(Arc::new(archive::ArchiveArticle::new(env.clone())));
        r.add(Arc::new(cms_activities::PostToCms::new(env.clone())));
        r.add(Arc::new(cms_activities::PublishToCms::new(env.clone())));
        r
    }

    pub fn add(&mut self, activity: Arc<dyn Activity>) {
        self.by_name.insert(activity.name(), activity);
    }

    pub fn get(&self, name: &str) -> Option<Arc<dyn Activity>> {
        self.by_name.get(name).cloned()
    }

    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.by_name.keys().copied()
    }
}
