//! A misbehaving backend: [`FaultyBackend`] wraps any [`Backend`] and
//! injects the failures AWS produces in real life (throttling, 5xx,
//! connections dropped before or *after* the call took effect, long polls
//! that take longer than asked) so chaos tests can prove the daemons lose
//! nothing and do nothing twice.
//!
//! Why a wrapper of the backend traits and not a proxy in front of AWS: it
//! works the same on the embedded backend and on AWS (moto), it costs
//! nothing when off, and it can produce the nasty case a proxy cannot
//! choose deliberately: the call *did* take effect (a message was sent, a
//! task completed) but the caller sees an error and will retry it. That is
//! the case at-least-once delivery has to survive.
//!
//! Faults are drawn from a seeded RNG, so a failing run can be replayed, and
//! every injected fault is counted by kind and logged as
//! `injected fault` with a `fault` field, so a test can count them across
//! processes by scanning their logs.
//!
//! The daemons switch it on with the environment variable [`ENV_VAR`]
//! (see [`FaultConfig::parse`] for the syntax); without it nothing is wrapped.

pub mod proxy;

use async_trait::async_trait;
use bytes::Bytes;
use pressbot_core::backend::{
    ActivityTask, Backend, DecisionTask, ExecutionFilter, ExecutionInfo, HeartbeatOutcome, Object,
    ObjectMeta, ObjectStore, OutgoingMessage, PutOptions, QueueDepth, QueueService,
    ReceivedMessage, StartOutcome, StartRequest, WorkflowService,
};
use pressbot_core::definition::Definitions;
use pressbot_core::history::{Decision, HistoryEvent};
use pressbot_core::ids::{RunId, TaskToken, WorkflowExecution, WorkflowId};
use pressbot_core::lease::{Acquired, Lease, LeaseStore};
use pressbot_core::{Error as CoreError, Result as CoreResult};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The environment variable that switches fault injection on in the daemons.
pub const ENV_VAR: &str = "PRESSBOT_FAULTS";

/// What went wrong setting up fault injection.
#[derive(Debug, thiserror::Error)]
pub enum FaultsError {
    /// The fault specification (from [`ENV_VAR`]) has a bad item.
    #[error("{var}: item {item:?}: {problem}")]
    Spec {
        var: &'static str,
        item: String,
        problem: String,
    },
}

/// The kinds of fault, each counted separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FaultKind {
    /// Refused before any effect: `ThrottlingException` / `SlowDown`.
    Throttle,
    /// Refused before any effect: a 500/503 from the service.
    ServerError,
    /// The connection dropped before the request reached the service.
    Dropped,
    /// The call took effect, then the connection dropped: the caller sees an
    /// error for something that happened.
    AfterEffect,
    /// A long poll (or receive) that took longer than asked.
    SlowPoll,
    /// A long poll whose answer was lost on the way back: the service handed
    /// out a task or hid a message, the caller never saw it.
    LostPoll,
}

impl FaultKind {
    pub const ALL: [FaultKind; 6] = [
        FaultKind::Throttle,
        FaultKind::ServerError,
        FaultKind::Dropped,
        FaultKind::AfterEffect,
        FaultKind::SlowPoll,
        FaultKind::LostPoll,
    ];

    /// The name used in the spec, the counts and the log field.
    pub fn as_str(self) -> &'static str {
        match self {
            FaultKind::Throttle => "throttle",
            FaultKind::ServerError => "server_error",
            FaultKind::Dropped => "dropped",
            FaultKind::AfterEffect => "after",
            FaultKind::SlowPoll => "slow_poll",
            FaultKind::LostPoll => "lost_poll",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Rates (probability per eligible call, 0.0..=1.0) of each kind of fault.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultConfig {
    pub seed: u64,
    pub throttle: f64,
    pub server_error: f64,
    pub dropped: f64,
    /// Applies to calls with an effect (send, delete, put, complete, start...).
    pub after: f64,
    /// Applies to long polls and receives.
    pub slow_poll: f64,
    /// How much longer a slow poll takes.
    pub slow_poll_delay: Duration,
    /// Applies to long polls and receives.
    pub lost_poll: f64,
    /// A listing of *closed* executions answers empty, as SWF's visibility
    /// lags behind a close: the starter's "already ran" check misses and a
    /// duplicate starter message starts the same workflow id again.
    pub stale_closed: f64,
}

impl Default for FaultConfig {
    /// No faults at all.
    fn default() -> Self {
        FaultConfig {
            seed: 0,
            throttle: 0.0,
            server_error: 0.0,
            dropped: 0.0,
            after: 0.0,
            slow_poll: 0.0,
            slow_poll_delay: Duration::from_secs(1),
            lost_poll: 0.0,
            stale_closed: 0.0,
        }
    }
}

impl FaultConfig {
    /// Parse `seed=7,throttle=0.02,server_error=0.02,dropped=0.02,after=0.02,
    /// slow_poll=0.1,slow_poll_ms=1500,lost_poll=0.01`. Every item is
    /// optional; an unknown key or a rate outside 0..=1 is an error naming it.
    pub fn parse(spec: &str) -> Result<Self, FaultsError> {
        let mut c = FaultConfig::default();
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let bad = |problem: &str| FaultsError::Spec {
                var: ENV_VAR,
                item: item.to_owned(),
                problem: problem.to_owned(),
            };
            let (key, value) = item
                .split_once('=')
                .ok_or_else(|| bad("expected key=value"))?;
            let (key, value) = (key.trim(), value.trim());
            let rate = || -> Result<f64, FaultsError> {
                let r: f64 = value.parse().map_err(|_| bad("not a number"))?;
                if (0.0..=1.0).contains(&r) {
                    Ok(r)
                } else {
                    Err(bad("a rate must be between 0 and 1"))
                }
            };
            match key {
                "seed" => c.seed = value.parse().map_err(|_| bad("not an unsigned integer"))?,
                "throttle" => c.throttle = rate()?,
                "server_error" => c.server_error = rate()?,
                "dropped" => c.dropped = rate()?,
                "after" => c.after = rate()?,
                "slow_poll" => c.slow_poll = rate()?,
                "lost_poll" => c.lost_poll = rate()?,
                "stale_closed" => c.stale_closed = rate()?,
                "slow_poll_ms" => {
                    c.slow_poll_delay =
                        Duration::from_millis(value.parse().map_err(|_| bad("not a number of milliseconds"))?)
                }
                _ => {
                    return Err(bad(
                        "unknown key (known: seed, throttle, server_error, dropped, after, slow_poll, slow_poll_ms, lost_poll, stale_closed)",
                    ))
                }
            }
        }
        Ok(c)
    }

    /// The configuration in [`ENV_VAR`], if set. The seed is mixed with the
    /// process id so that several daemons sharing one spec do not fail in
    /// lockstep (the pid is logged, so a run can still be replayed).
    pub fn from_env() -> Result<Option<Self>, FaultsError> {
        match std::env::var(ENV_VAR) {
            Ok(spec) if !spec.trim().is_empty() => {
                let mut c = Self::parse(&spec)?;
                c.seed ^= u64::from(std::process::id()).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                Ok(Some(c))
            }
            _ => Ok(None),
        }
    }
}

/// Injected faults so far, by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FaultCounts(pub std::collections::BTreeMap<&'static str, u64>);

impl FaultCounts {
    pub fn get(&self, kind: FaultKind) -> u64 {
        self.0.get(kind.as_str()).copied().unwrap_or(0)
    }

    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }
}

/// The shared dice and counters of one wrapped backend.
#[derive(Debug)]
struct Injector {
    config: FaultConfig,
    rng: Mutex<fastrand::Rng>,
    counts: [AtomicU64; 6],
}

/// What kind of call: decides which faults may hit it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    /// Long poll or receive: may be slow, refused, or its answer lost.
    Poll,
    /// Reads: may be refused.
    Read,
    /// Calls with an effect: may be refused, or fail after the effect.
    Write,
}

impl Injector {
    fn roll(&self, rate: f64) -> bool {
        if rate <= 0.0 {
            return false;
        }
        let mut rng = self.rng.lock().unwrap_or_else(|p| p.into_inner());
        rng.f64() < rate
    }

    fn count(
        &self,
        kind: FaultKind,
        service: &'static str,
        operation: &'static str,
        resource: &str,
    ) {
        self.counts[kind.index()].fetch_add(1, Ordering::Relaxed);
        tracing::warn!(
            fault = kind.as_str(),
            service,
            operation,
            resource,
            "injected fault"
        );
    }

    /// Before the call: maybe wait (slow poll), maybe refuse it.
    async fn before(
        &self,
        call: Call,
        service: &'static str,
        operation: &'static str,
        resource: &str,
    ) -> CoreResult<()> {
        if call == Call::Poll && self.roll(self.config.slow_poll) {
            self.count(FaultKind::SlowPoll, service, operation, resource);
            tokio::time::sleep(self.config.slow_poll_delay).await;
        }
        let c = &self.config;
        let (kind, message) = if self.roll(c.throttle) {
            (
                FaultKind::Throttle,
                "injected fault: ThrottlingException: Rate exceeded",
            )
        } else if self.roll(c.server_error) {
            (
                FaultKind::ServerError,
                "injected fault: 503 ServiceUnavailable",
            )
        } else if self.roll(c.dropped) {
            (
                FaultKind::Dropped,
                "injected fault: connection reset before the request was sent",
            )
        } else {
            return Ok(());
        };
        self.count(kind, service, operation, resource);
        Err(CoreError::backend(
            service, operation, resource, true, message,
        ))
    }

    /// After the call: maybe hide its outcome behind an error.
    fn after<T>(
        &self,
        call: Call,
        service: &'static str,
        operation: &'static str,
        resource: &str,
        result: CoreResult<T>,
    ) -> CoreResult<T> {
        let value = result?;
        let (rate, kind, message) = match call {
            Call::Read => return Ok(value),
            Call::Write => (
                self.config.after,
                FaultKind::AfterEffect,
                "injected fault: connection reset after the request took effect",
            ),
            Call::Poll => (
                self.config.lost_poll,
                FaultKind::LostPoll,
                "injected fault: connection reset while the answer was on its way",
            ),
        };
        if self.roll(rate) {
            self.count(kind, service, operation, resource);
            return Err(CoreError::backend(
                service, operation, resource, true, message,
            ));
        }
        Ok(value)
    }
}

/// Run `$call` between the injector's before and after hooks.
macro_rules! faulty {
    ($self:ident, $kind:expr, $service:literal, $op:literal, $res:expr, $call:expr) => {{
        let resource: &str = $res;
        $self.0.before($kind, $service, $op, resource).await?;
        let result = $call.await;
        $self.0.after($kind, $service, $op, resource, result)
    }};
}

/// A backend whose every service may misbehave; see the crate docs.
#[derive(Debug, Clone)]
pub struct FaultyBackend {
    injector: Arc<Injector>,
    backend: Backend,
}

impl FaultyBackend {
    /// Wrap `inner`: every call through [`FaultyBackend::backend`] rolls
    /// the dice of `config`.
    pub fn wrap(inner: Backend, config: FaultConfig) -> Self {
        let injector = Arc::new(Injector {
            rng: Mutex::new(fastrand::Rng::with_seed(config.seed)),
            config,
            counts: Default::default(),
        });
        let backend = Backend {
            workflows: Arc::new(FaultyWorkflows(injector.clone(), inner.workflows)),
            queues: Arc::new(FaultyQueues(injector.clone(), inner.queues)),
            objects: Arc::new(FaultyObjects(injector.clone(), inner.objects)),
            leases: Arc::new(FaultyLeases(injector.clone(), inner.leases)),
        };
        FaultyBackend { injector, backend }
    }

    /// The misbehaving backend, to hand to the daemons.
    pub fn backend(&self) -> Backend {
        self.backend.clone()
    }

    /// Faults injected so far, by kind.
    pub fn counts(&self) -> FaultCounts {
        FaultCounts(
            FaultKind::ALL
                .iter()
                .map(|k| {
                    (
                        k.as_str(),
                        self.injector.counts[k.index()].load(Ordering::Relaxed),
                    )
                })
                .collect(),
        )
    }
}

/// Wrap `backend` if [`ENV_VAR`] asks for faults; otherwise hand it back
/// untouched. What the daemons call right after connecting.
pub fn wrap_from_env(backend: Backend) -> Result<Backend, FaultsError> {
    match FaultConfig::from_env()? {
        Some(config) => {
            tracing::warn!(
                pid = std::process::id(),
                seed = config.seed,
                throttle = config.throttle,
                server_error = config.server_error,
                dropped = config.dropped,
                after = config.after,
                slow_poll = config.slow_poll,
                lost_poll = config.lost_poll,
                "fault injection is ON: this backend misbehaves on purpose"
            );
            Ok(FaultyBackend::wrap(backend, config).backend())
        }
        None => Ok(backend),
    }
}

#[derive(Debug)]
struct FaultyWorkflows(Arc<Injector>, Arc<dyn WorkflowService>);

#[async_trait]
impl WorkflowService for FaultyWorkflows {
    async fn poll_decision_task(
        &self,
        task_list: &str,
        identity: &str,
    ) -> CoreResult<Option<DecisionTask>> {
        faulty!(
            self,
            Call::Poll,
            "swf",
            "PollForDecisionTask",
            task_list,
            self.1.poll_decision_task(task_list, identity)
        )
    }

    async fn complete_decision_task(
        &self,
        token: &TaskToken,
        decisions: Vec<Decision>,
        execution_context: Option<String>,
    ) -> CoreResult<()> {
        faulty!(
            self,
            Call::Write,
            "swf",
            "RespondDecisionTaskCompleted",
            "decision task",
            self.1
                .complete_decision_task(token, decisions, execution_context)
        )
    }

    async fn poll_activity_task(
        &self,
        task_list: &str,
        identity: &str,
    ) -> CoreResult<Option<ActivityTask>> {
        faulty!(
            self,
            Call::Poll,
            "swf",
            "PollForActivityTask",
            task_list,
            self.1.poll_activity_task(task_list, identity)
        )
    }

    async fn complete_activity_task(
        &self,
        token: &TaskToken,
        result: Option<String>,
    ) -> CoreResult<()> {
        faulty!(
            self,
            Call::Write,
            "swf",
            "RespondActivityTaskCompleted",
            "activity task",
            self.1.complete_activity_task(token, result)
        )
    }

    async fn fail_activity_task(
        &self,
        token: &TaskToken,
        reason: &str,
        details: &str,
    ) -> CoreResult<()> {
        faulty!(
            self,
            Call::Write,
            "swf",
            "RespondActivityTaskFailed",
            "activity task",
            self.1.fail_activity_task(token, reason, details)
        )
    }

    async fn cancel_activity_task(
        &self,
        token: &TaskToken,
        details: Option<String>,
    ) -> CoreResult<()> {
        faulty!(
            self,
            Call::Write,
            "swf",
            "RespondActivityTaskCanceled",
            "activity task",
            self.1.cancel_activity_task(token, details)
        )
    }

    async fn heartbeat(
        &self,
        token: &TaskToken,
        details: Option<String>,
    ) -> CoreResult<HeartbeatOutcome> {
        faulty!(
            self,
            Call::Write,
            "swf",
            "RecordActivityTaskHeartbeat",
            "activity task",
            self.1.heartbeat(token, details)
        )
    }

    async fn start_workflow(&self, request: StartRequest) -> CoreResult<StartOutcome> {
        let id = request.workflow_id.to_string();
        faulty!(
            self,
            Call::Write,
            "swf",
            "StartWorkflowExecution",
            &id,
            self.1.start_workflow(request)
        )
    }

    async fn request_cancel(
        &self,
        workflow_id: &WorkflowId,
        run_id: Option<&RunId>,
    ) -> CoreResult<()> {
        let id = workflow_id.to_string();
        faulty!(
            self,
            Call::Write,
            "swf",
            "RequestCancelWorkflowExecution",
            &id,
            self.1.request_cancel(workflow_id, run_id)
        )
    }

    async fn terminate(
        &self,
        workflow_id: &WorkflowId,
        run_id: Option<&RunId>,
        reason: &str,
    ) -> CoreResult<()> {
        let id = workflow_id.to_string();
        faulty!(
            self,
            Call::Write,
            "swf",
            "TerminateWorkflowExecution",
            &id,
            self.1.terminate(workflow_id, run_id, reason)
        )
    }

    /// Never faulted: it runs once at start-up, and a daemon that cannot
    /// register exits (a crash loop, not a fault to survive).
    async fn register(&self, definitions: &Definitions) -> CoreResult<()> {
        self.1.register(definitions).await
    }

    async fn list_executions(&self, filter: &ExecutionFilter) -> CoreResult<Vec<ExecutionInfo>> {
        if !filter.open && self.0.roll(self.0.config.stale_closed) {
            tracing::warn!(
                fault = "stale_closed",
                service = "swf",
                operation = "ListClosedExecutions",
                resource = "executions",
                "injected fault"
            );
            return Ok(Vec::new());
        }
        faulty!(
            self,
            Call::Read,
            "swf",
            "ListExecutions",
            "executions",
            self.1.list_executions(filter)
        )
    }

    async fn describe_execution(&self, execution: &WorkflowExecution) -> CoreResult<ExecutionInfo> {
        let id = execution.workflow_id.to_string();
        faulty!(
            self,
            Call::Read,
            "swf",
            "DescribeWorkflowExecution",
            &id,
            self.1.describe_execution(execution)
        )
    }

    async fn history(&self, execution: &WorkflowExecution) -> CoreResult<Vec<HistoryEvent>> {
        let id = execution.workflow_id.to_string();
        faulty!(
            self,
            Call::Read,
            "swf",
            "GetWorkflowExecutionHistory",
            &id,
            self.1.history(execution)
        )
    }

    async fn ping(&self) -> CoreResult<()> {
        faulty!(self, Call::Read, "swf", "Ping", "domain", self.1.ping())
    }
}

#[derive(Debug)]
struct FaultyQueues(Arc<Injector>, Arc<dyn QueueService>);

#[async_trait]
impl QueueService for FaultyQueues {
    async fn receive(
        &self,
        queue: &str,
        max: usize,
        wait: Duration,
        visibility: Duration,
    ) -> CoreResult<Vec<ReceivedMessage>> {
        faulty!(
            self,
            Call::Poll,
            "sqs",
            "ReceiveMessage",
            queue,
            self.1.receive(queue, max, wait, visibility)
        )
    }

    async fn send(&self, queue: &str, message: OutgoingMessage) -> CoreResult<String> {
        faulty!(
            self,
            Call::Write,
            "sqs",
            "SendMessage",
            queue,
            self.1.send(queue, message)
        )
    }

    async fn delete(&self, queue: &str, receipt: &str) -> CoreResult<()> {
        faulty!(
            self,
            Call::Write,
            "sqs",
            "DeleteMessage",
            queue,
            self.1.delete(queue, receipt)
        )
    }

    async fn change_visibility(
        &self,
        queue: &str,
        receipt: &str,
        visibility: Duration,
    ) -> CoreResult<()> {
        faulty!(
            self,
            Call::Write,
            "sqs",
            "ChangeMessageVisibility",
            queue,
            self.1.change_visibility(queue, receipt, visibility)
        )
    }

    async fn depth(&self, queue: &str) -> CoreResult<QueueDepth> {
        faulty!(
            self,
            Call::Read,
            "sqs",
            "GetQueueAttributes",
            queue,
            self.1.depth(queue)
        )
    }

    /// Never faulted: resources are created once by the operator.
    async fn create_queue(&self, queue: &str, max_receives: u32) -> CoreResult<()> {
        self.1.create_queue(queue, max_receives).await
    }
}

/// Leases misbehave like the object store they live in (S3 on AWS): an
/// `after` fault on acquire leaves a lease taken that its taker does not
/// know about, which only its ttl frees, as after a crash.
#[derive(Debug)]
struct FaultyLeases(Arc<Injector>, Arc<dyn LeaseStore>);

#[async_trait]
impl LeaseStore for FaultyLeases {
    async fn acquire(&self, name: &str, holder: &str, ttl: Duration) -> CoreResult<Acquired> {
        faulty!(
            self,
            Call::Write,
            "s3",
            "AcquireLease",
            name,
            self.1.acquire(name, holder, ttl)
        )
    }

    async fn renew(&self, lease: &Lease, ttl: Duration) -> CoreResult<Option<Lease>> {
        faulty!(
            self,
            Call::Write,
            "s3",
            "RenewLease",
            &lease.name,
            self.1.renew(lease, ttl)
        )
    }

    async fn release(&self, lease: &Lease) -> CoreResult<()> {
        faulty!(
            self,
            Call::Write,
            "s3",
            "ReleaseLease",
            &lease.name,
            self.1.release(lease)
        )
    }
}

#[derive(Debug)]
struct FaultyObjects(Arc<Injector>, Arc<dyn ObjectStore>);

#[async_trait]
impl ObjectStore for FaultyObjects {
    async fn get(&self, bucket: &str, key: &str) -> CoreResult<Object> {
        faulty!(
            self,
            Call::Read,
            "s3",
            "GetObject",
            bucket,
            self.1.get(bucket, key)
        )
    }

    async fn put(
        &self,
        bucket: &str,
        key: &str,
        body: Bytes,
        options: PutOptions,
    ) -> CoreResult<ObjectMeta> {
        faulty!(
            self,
            Call::Write,
            "s3",
            "PutObject",
            bucket,
            self.1.put(bucket, key, body, options)
        )
    }

    async fn get_to_file(
        &self,
        bucket: &str,
        key: &str,
        path: &std::path::Path,
    ) -> CoreResult<ObjectMeta> {
        faulty!(
            self,
            Call::Read,
            "s3",
            "GetObject",
            bucket,
            self.1.get_to_file(bucket, key, path)
        )
    }

    async fn put_file(
        &self,
        bucket: &str,
        key: &str,
        path: &std::path::Path,
        options: PutOptions,
    ) -> CoreResult<ObjectMeta> {
        faulty!(
            self,
            Call::Write,
            "s3",
            "PutObject",
            bucket,
            self.1.put_file(bucket, key, path, options)
        )
    }

    fn staging_dir(&self) -> Option<std::path::PathBuf> {
        self.1.staging_dir()
    }

    async fn put_staged_file(
        &self,
        bucket: &str,
        key: &str,
        path: &std::path::Path,
        options: PutOptions,
    ) -> CoreResult<ObjectMeta> {
        faulty!(
            self,
            Call::Write,
            "s3",
            "PutObject",
            bucket,
            self.1.put_staged_file(bucket, key, path, options)
        )
    }

    async fn open_file(
        &self,
        bucket: &str,
        key: &str,
    ) -> CoreResult<Option<(std::fs::File, ObjectMeta)>> {
        faulty!(
            self,
            Call::Read,
            "s3",
            "GetObject",
            bucket,
            self.1.open_file(bucket, key)
        )
    }

    async fn head(&self, bucket: &str, key: &str) -> CoreResult<Option<ObjectMeta>> {
        faulty!(
            self,
            Call::Read,
            "s3",
            "HeadObject",
            bucket,
            self.1.head(bucket, key)
        )
    }

    async fn list(&self, bucket: &str, prefix: &str) -> CoreResult<Vec<ObjectMeta>> {
        faulty!(
            self,
            Call::Read,
            "s3",
            "ListObjectsV2",
            bucket,
            self.1.list(bucket, prefix)
        )
    }

    async fn copy(
        &self,
        from_bucket: &str,
        from_key: &str,
        to_bucket: &str,
        to_key: &str,
    ) -> CoreResult<ObjectMeta> {
        faulty!(
            self,
            Call::Write,
            "s3",
            "CopyObject",
            to_bucket,
            self.1.copy(from_bucket, from_key, to_bucket, to_key)
        )
    }

    async fn delete(&self, bucket: &str, key: &str) -> CoreResult<()> {
        faulty!(
            self,
            Call::Write,
            "s3",
            "DeleteObject",
            bucket,
            self.1.delete(bucket, key)
        )
    }

    /// Never faulted: presigning is a local computation on AWS too.
    async fn presign_get(&self, bucket: &str, key: &str, expires: Duration) -> CoreResult<String> {
        self.1.presign_get(bucket, key, expires).await
    }

    /// Never faulted: resources are created once by the operator.
    async fn create_bucket(&self, bucket: &str) -> CoreResult<()> {
        self.1.create_bucket(bucket).await
    }

    /// Never faulted: resources are created once by the operator.
    async fn set_notification(&self, bucket: &str, queue: &str) -> CoreResult<()> {
        self.1.set_notification(bucket, queue).await
    }
}
