//! The four roles, on their own so that what depends on a role (the
//! operations endpoint's dependencies, the start-up checks, the runtime
//! sizing of the role binaries) can name it without depending on each other.

/// The four roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    Decider,
    ActivityWorker,
    QueueWorker,
    WorkflowStarter,
}
