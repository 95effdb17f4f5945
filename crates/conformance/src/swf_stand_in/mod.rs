//! A stateful SWF stand-in: a real HTTP server on a loopback port that
//! speaks Amazon SWF's JSON 1.0 protocol (`POST /`, `X-Amz-Target:
//! SimpleWorkflowService.<Operation>`, `application/x-amz-json-1.0`,
//! faults as `{"__type": "com.amazonaws.swf.base.model#UnknownResourceFault",
//! "message": ...}`), so the AWS backend's SWF adapter (the SDK, its
//! paging, its error mapping) runs for real where moto lacks SWF behaviour
//! (see the deviations in `pressbot_aws::testing`).
//!
//! Why it is backed by the embedded backend: `pressbot_local` already keeps
//! executions, histories, task lists, timers, the four activity timeouts,
//! decision task timeouts and cancel requests with SWF's semantics, and
//! passes the same conformance suite. The stand-in only translates: JSON
//! requests into its calls, its history events into SWF's JSON events
//! (field names from the SWF API reference), its errors into SWF's faults.
//! Each registered domain is one embedded backend in a temporary dir; task
//! tokens carry the domain's number, because SWF's respond calls name no
//! domain.
//!
//! Implemented: `RegisterDomain`, `DescribeDomain`, `RegisterWorkflowType`,
//! `RegisterActivityType`, `DescribeWorkflowType`, `DescribeActivityType`,
//! `StartWorkflowExecution`, `PollForDecisionTask` (with `maximumPageSize`,
//! `nextPageToken` and `reverseOrder`), `RespondDecisionTaskCompleted`,
//! `PollForActivityTask`, `RespondActivityTaskCompleted`,
//! `RespondActivityTaskFailed`, `RespondActivityTaskCanceled`,
//! `RecordActivityTaskHeartbeat`, `RequestCancelWorkflowExecution`,
//! `TerminateWorkflowExecution`, `DescribeWorkflowExecution`,
//! `GetWorkflowExecutionHistory`, `ListOpenWorkflowExecutions` and
//! `ListClosedWorkflowExecutions` (start/close time, execution, type, tag
//! and close-status filters; paging; `reverseOrder`).
//!
//! Not implemented (said here so nobody reads more into a green test):
//! - other operations answer `UnknownOperationException`; so do SQS and
//!   S3 requests (the stand-in serves SWF only);
//! - decisions other than the six pressbot makes (signals, markers, child
//!   workflows, continue-as-new, timers' cancellation, Lambda) answer
//!   `ValidationException` instead of being carried out;
//! - a long poll holds [`Options::long_poll`] (1 s by default, like moto),
//!   not SWF's 60 s; page tokens never expire (SWF: 60 s);
//! - an activity timeout absent from both the decision and the type's
//!   defaults means no limit (SWF refuses the decision with a
//!   `DEFAULT_..._UNDEFINED` cause); `taskStartToCloseTimeout: "NONE"` is
//!   refused; task priorities, type deprecation, throttling, limits,
//!   SigV4 signatures and IAM are not checked; decision tasks time out by
//!   start-to-close only; `TerminateWorkflowExecution`'s `details` are not
//!   recorded; a malformed task token is `UnknownResourceFault`.
//!
//! [`MotoQuirks`] make it answer the way moto does where moto differs, so
//! tests can show that a conformance case would fail there.

mod decisions;
mod events;
mod fault;
mod reads;

pub(crate) use fault::Fault;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use pressbot_core::backend::{
    CloseStatus, ExecutionFilter, ExecutionInfo, StartOutcome, StartRequest, WorkflowService,
};
use pressbot_core::history::{Decision, EventKind, HistoryEvent};
use pressbot_core::ids::{RunId, TaskToken, TypeRef, WorkflowExecution, WorkflowId};
use pressbot_core::time::Timestamp;
use pressbot_core::Error;
use pressbot_local::{LocalBackend, LocalOptions};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// Where moto answers unlike SWF, as switches: each makes the stand-in
/// answer moto's way, so a test can show what a case would meet on moto.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MotoQuirks {
    /// An unknown task token on a respond or heartbeat call is HTTP 500
    /// with an HTML page (moto does this for a timed-out task's token).
    pub unknown_token_as_html_500: bool,
    /// Heartbeats always answer `cancelRequested: false`.
    pub heartbeat_never_cancels: bool,
    /// Activities time out by heartbeat only: the other three timeouts of
    /// a scheduled activity are dropped.
    pub heartbeat_timeouts_only: bool,
}

/// How the stand-in behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// How long an empty poll waits before it answers with no task.
    pub long_poll: Duration,
    /// Answer moto's way where it differs from SWF (none by default).
    pub moto_quirks: MotoQuirks,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            long_poll: Duration::from_secs(1),
            moto_quirks: MotoQuirks::default(),
        }
    }
}

/// The running stand-in; the server stops when this is dropped.
#[derive(Debug)]
pub struct SwfStandIn {
    addr: SocketAddr,
    server: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl SwfStandIn {
    /// Start on a free loopback port with the default [`Options`]. Must be
    /// called inside a tokio runtime (the server runs on it).
    pub async fn start() -> SwfStandIn {
        Self::start_with(Options::default()).await
    }

    /// Start on a free loopback port with `options`.
    pub async fn start_with(options: Options) -> SwfStandIn {
        let dir = tempfile::tempdir().expect("a temporary dir for the stand-in's domains");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free loopback port");
        let addr = listener.local_addr().expect("a bound address");
        let service = Arc::new(Service {
            dir: dir.path().to_path_buf(),
            options,
            domains: Mutex::new(Domains::default()),
            pages: Mutex::new(HashMap::new()),
        });
        let app = Router::new().route("/", post(handle)).with_state(service);
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        SwfStandIn {
            addr,
            server,
            _dir: dir,
        }
    }

    /// `http://127.0.0.1:PORT`, for `aws.endpoint_url`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for SwfStandIn {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A required string member; SWF's validation message when it is missing.
pub(crate) fn field<'a>(v: &'a Value, key: &str) -> Result<&'a str, Fault> {
    opt_field(v, key).ok_or_else(|| {
        Fault::validation(format!(
            "1 validation error detected: Value null at '{key}' failed to satisfy constraint: \
             Member must not be null"
        ))
    })
}

pub(crate) fn opt_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// `v[key].name`: a `TaskList`.
pub(crate) fn task_list_name(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(|t| opt_field(t, "name"))
        .map(str::to_owned)
}

fn type_ref(v: &Value, key: &str) -> Result<TypeRef, Fault> {
    let t = v.get(key).unwrap_or(&Value::Null);
    Ok(TypeRef::new(field(t, "name")?, field(t, "version")?))
}

/// `maximumPageSize`: 1000 when absent or 0, as SWF.
fn page_size(req: &Value) -> Result<usize, Fault> {
    match req.get("maximumPageSize").and_then(Value::as_u64) {
        None | Some(0) => Ok(1000),
        Some(n) if n <= 1000 => Ok(n as usize),
        Some(n) => Err(Fault::validation(format!(
            "Value '{n}' at 'maximumPageSize' failed to satisfy constraint: \
             Member must have value less than or equal to 1000"
        ))),
    }
}

fn reverse_order(req: &Value) -> bool {
    req.get("reverseOrder")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// A JSON timestamp (epoch seconds) as a core timestamp.
fn timestamp(v: &Value) -> Option<Timestamp> {
    v.as_f64().map(|s| Timestamp((s * 1000.0).round() as i64))
}

fn execution_json(e: &WorkflowExecution) -> Value {
    json!({ "workflowId": e.workflow_id.as_str(), "runId": e.run_id.as_str() })
}

fn execution_name(workflow_id: &str, run_id: Option<&str>) -> String {
    format!(
        "Unknown execution: WorkflowExecution=[workflowId={workflow_id}, runId={}]",
        run_id.unwrap_or("")
    )
}

/// What an execution was started with that the embedded backend does not
/// hand back: for `WorkflowExecutionStarted`, `executionConfiguration` and
/// `tagList`.
#[derive(Debug, Clone)]
pub(crate) struct StartConfig {
    task_start_to_close: Duration,
    child_policy: String,
    tags: Vec<String>,
}

/// One registration request (the type's defaults) and when it came.
#[derive(Debug, Clone)]
struct Registered {
    request: Value,
    created: Timestamp,
}

#[derive(Debug, Default)]
struct Types {
    workflows: HashMap<TypeRef, Registered>,
    activities: HashMap<TypeRef, Registered>,
    /// By run id.
    starts: HashMap<String, StartConfig>,
}

#[derive(Debug)]
struct Domain {
    /// Its number, which its task tokens carry.
    index: usize,
    name: String,
    registration: Value,
    local: LocalBackend,
    types: Mutex<Types>,
}

impl Domain {
    fn types(&self) -> MutexGuard<'_, Types> {
        self.types.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn start_config(&self, run_id: &RunId) -> Option<StartConfig> {
        self.types().starts.get(run_id.as_str()).cloned()
    }

    fn token(&self, local: &TaskToken) -> String {
        format!("{}:{}", self.index, local.as_str())
    }
}

#[derive(Debug, Default)]
struct Domains {
    by_name: HashMap<String, Arc<Domain>>,
    all: Vec<Arc<Domain>>,
}

/// The rest of a decision task's events, for its `nextPageToken`.
#[derive(Debug)]
struct Pages {
    base: Value,
    rest: Vec<Value>,
    size: usize,
}

#[derive(Debug)]
struct Service {
    dir: PathBuf,
    options: Options,
    domains: Mutex<Domains>,
    pages: Mutex<HashMap<String, Pages>>,
}

async fn handle(State(service): State<Arc<Service>>, headers: HeaderMap, body: Bytes) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let Some(operation) = target.strip_prefix("SimpleWorkflowService.") else {
        return Fault::unknown_operation(format!(
            "the SWF stand-in serves SWF's JSON protocol only \
             (X-Amz-Target: SimpleWorkflowService.<Operation>), not {target:?}"
        ))
        .into_response();
    };
    let request: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return Fault {
                status: StatusCode::BAD_REQUEST,
                code: "com.amazon.coral.service#SerializationException".into(),
                message: e.to_string(),
                html: false,
            }
            .into_response()
        }
    };
    match service.dispatch(operation, &request).await {
        Ok(v) => (
            [(header::CONTENT_TYPE, "application/x-amz-json-1.0")],
            v.to_string(),
        )
            .into_response(),
        Err(f) => f.into_response(),
    }
}

impl Service {
    async fn dispatch(&self, operation: &str, req: &Value) -> Result<Value, Fault> {
        match operation {
            "RegisterDomain" => self.register_domain(req),
            "DescribeDomain" => self.describe_domain(req),
            "RegisterWorkflowType" => self.register_type(req, true).await,
            "RegisterActivityType" => self.register_type(req, false).await,
            "DescribeWorkflowType" => self.describe_type(req, true),
            "DescribeActivityType" => self.describe_type(req, false),
            "StartWorkflowExecution" => self.start_workflow(req).await,
            "PollForDecisionTask" => self.poll_decision_task(req).await,
            "RespondDecisionTaskCompleted" => self.complete_decision_task(req).await,
            "PollForActivityTask" => self.poll_activity_task(req).await,
            "RespondActivityTaskCompleted"
            | "RespondActivityTaskFailed"
            | "RespondActivityTaskCanceled"
            | "RecordActivityTaskHeartbeat" => self.activity_call(operation, req).await,
            "RequestCancelWorkflowExecution" | "TerminateWorkflowExecution" => {
                self.close_request(operation, req).await
            }
            "DescribeWorkflowExecution" => self.describe_execution(req).await,
            "GetWorkflowExecutionHistory" => self.history(req).await,
            "ListOpenWorkflowExecutions" => self.list(req, true).await,
            "ListClosedWorkflowExecutions" => self.list(req, false).await,
            other => Err(Fault::unknown_operation(format!(
                "{other} is an SWF operation the SWF stand-in does not implement"
            ))),
        }
    }

    fn domains(&self) -> MutexGuard<'_, Domains> {
        self.domains.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn domain_named(&self, name: &str) -> Result<Arc<Domain>, Fault> {
        self.domains()
            .by_name
            .get(name)
            .cloned()
            .ok_or_else(|| Fault::unknown(format!("Unknown domain: {name}")))
    }

    fn domain(&self, req: &Value) -> Result<Arc<Domain>, Fault> {
        self.domain_named(field(req, "domain")?)
    }

    /// The domain and the embedded backend's token behind one of ours.
    fn task(&self, req: &Value) -> Result<(Arc<Domain>, TaskToken), Fault> {
        let token = field(req, "taskToken")?;
        let unknown = || Fault::unknown(format!("Unknown task token: {token}"));
        let (index, local) = token.split_once(':').ok_or_else(unknown)?;
        let index: usize = index.parse().map_err(|_| unknown())?;
        let domain = self.domains().all.get(index).cloned().ok_or_else(unknown)?;
        Ok((domain, TaskToken(local.to_owned())))
    }

    /// A core error of a call that named a task token.
    fn task_fault(&self, e: Error) -> Fault {
        let moto = self.options.moto_quirks.unknown_token_as_html_500;
        match Fault::from_core(e) {
            f if moto && f.code.ends_with("#UnknownResourceFault") => Fault {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                html: true,
                ..f
            },
            f => f,
        }
    }

    fn register_domain(&self, req: &Value) -> Result<Value, Fault> {
        let name = field(req, "name")?;
        field(req, "workflowExecutionRetentionPeriodInDays")?;
        let mut domains = self.domains();
        if domains.by_name.contains_key(name) {
            return Err(Fault::swf("DomainAlreadyExistsFault", name));
        }
        let index = domains.all.len();
        let local = LocalBackend::open(
            &self.dir.join(format!("domain-{index}")),
            LocalOptions {
                domain: name.to_owned(),
                poll_interval: Duration::from_millis(20),
                long_poll: self.options.long_poll,
            },
        )
        .map_err(|e| Fault::internal(format!("the stand-in's store: {e}")))?;
        let domain = Arc::new(Domain {
            index,
            name: name.to_owned(),
            registration: req.clone(),
            local,
            types: Mutex::new(Types::default()),
        });
        domains.by_name.insert(name.to_owned(), domain.clone());
        domains.all.push(domain);
        Ok(json!({}))
    }

    fn describe_domain(&self, req: &Value) -> Result<Value, Fault> {
        let d = self.domain_named(field(req, "name")?)?;
        let mut info = json!({ "name": d.name, "status": "REGISTERED" });
        if let Some(description) = opt_field(&d.registration, "description") {
            info["description"] = json!(description);
        }
        Ok(json!({
            "domainInfo": info,
            "configuration": {
                "workflowExecutionRetentionPeriodInDays":
                    opt_field(&d.registration, "workflowExecutionRetentionPeriodInDays"),
            },
        }))
    }

    async fn register_type(&self, req: &Value, workflow: bool) -> Result<Value, Fault> {
        let d = self.domain(req)?;
        let t = TypeRef::new(field(req, "name")?, field(req, "version")?);
        let kind = if workflow {
            "WorkflowType"
        } else {
            "ActivityType"
        };
        let exists = || {
            Fault::swf(
                "TypeAlreadyExistsFault",
                format!("{kind}=[name={}, version={}]", t.name, t.version),
            )
        };
        let registered = |types: &Types| {
            if workflow {
                types.workflows.contains_key(&t)
            } else {
                types.activities.contains_key(&t)
            }
        };
        if registered(&d.types()) {
            return Err(exists());
        }
        let default_list = task_list_name(req, "defaultTaskList").unwrap_or_default();
        let r = if workflow {
            d.local.register_workflow_type(&t, &default_list).await
        } else {
            d.local.register_activity_type(&t, &default_list).await
        };
        r.map_err(|e| Fault::from_core(e.into()))?;
        let mut types = d.types();
        if registered(&types) {
            return Err(exists());
        }
        let entry = Registered {
            request: req.clone(),
            created: Timestamp::now(),
        };
        if workflow {
            types.workflows.insert(t, entry);
        } else {
            types.activities.insert(t, entry);
        }
        Ok(json!({}))
    }

    fn describe_type(&self, req: &Value, workflow: bool) -> Result<Value, Fault> {
        let d = self.domain(req)?;
        let (key, kind, defaults): (&str, &str, &[&str]) = if workflow {
            (
                "workflowType",
                "WorkflowType",
                &[
                    "defaultTaskStartToCloseTimeout",
                    "defaultExecutionStartToCloseTimeout",
                    "defaultTaskList",
                    "defaultTaskPriority",
                    "defaultChildPolicy",
                    "defaultLambdaRole",
                ],
            )
        } else {
            (
                "activityType",
                "ActivityType",
                &[
                    "defaultTaskStartToCloseTimeout",
                    "defaultTaskHeartbeatTimeout",
                    "defaultTaskList",
                    "defaultTaskPriority",
                    "defaultTaskScheduleToStartTimeout",
                    "defaultTaskScheduleToCloseTimeout",
                ],
            )
        };
        let t = type_ref(req, key)?;
        let types = d.types();
        let found = if workflow {
            types.workflows.get(&t)
        } else {
            types.activities.get(&t)
        };
        let r = found.ok_or_else(|| {
            Fault::unknown(format!(
                "Unknown type: {kind}=[name={}, version={}]",
                t.name, t.version
            ))
        })?;
        let mut info = json!({
            key: events::type_json(&t),
            "status": "REGISTERED",
            "creationDate": events::epoch(r.created),
        });
        if let Some(description) = opt_field(&r.request, "description") {
            info["description"] = json!(description);
        }
        let configuration: serde_json::Map<String, Value> = defaults
            .iter()
            .filter_map(|k| r.request.get(*k).map(|v| ((*k).to_owned(), v.clone())))
            .collect();
        Ok(json!({ "typeInfo": info, "configuration": configuration }))
    }

    async fn start_workflow(&self, req: &Value) -> Result<Value, Fault> {
        let d = self.domain(req)?;
        let workflow_id = field(req, "workflowId")?;
        let t = type_ref(req, "workflowType")?;
        let registration = d
            .types()
            .workflows
            .get(&t)
            .map(|r| r.request.clone())
            .ok_or_else(|| {
                Fault::unknown(format!(
                    "Unknown type: WorkflowType=[name={}, version={}]",
                    t.name, t.version
                ))
            })?;
        let undefined = |what: &str| {
            Fault::swf(
                "DefaultUndefinedFault",
                format!("{what} is neither given nor a default of the workflow type {t}"),
            )
        };
        let given_or_default = |key: &str, default_key: &str| {
            opt_field(req, key).or_else(|| opt_field(&registration, default_key))
        };
        let task_list = task_list_name(req, "taskList")
            .or_else(|| task_list_name(&registration, "defaultTaskList"))
            .ok_or_else(|| undefined("taskList"))?;
        let seconds = |key: &str, default_key: &str| -> Result<Duration, Fault> {
            let v = given_or_default(key, default_key).ok_or_else(|| undefined(key))?;
            decisions::parse_timeout(key, v)?.ok_or_else(|| {
                Fault::validation(format!(
                    "{key}: NONE is valid on SWF but not implemented by the SWF stand-in"
                ))
            })
        };
        let execution_start_to_close = seconds(
            "executionStartToCloseTimeout",
            "defaultExecutionStartToCloseTimeout",
        )?;
        let task_start_to_close =
            seconds("taskStartToCloseTimeout", "defaultTaskStartToCloseTimeout")?;
        let child_policy = given_or_default("childPolicy", "defaultChildPolicy")
            .ok_or_else(|| undefined("childPolicy"))?
            .to_owned();
        let tags: Vec<String> = req
            .get("tagList")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        if tags.len() > 5 {
            return Err(Fault::validation(
                "Value at 'tagList' failed to satisfy constraint: \
                 Member must have length less than or equal to 5",
            ));
        }
        let outcome = d
            .local
            .start_workflow(StartRequest {
                workflow_id: WorkflowId::from(workflow_id),
                workflow_type: t.clone(),
                task_list,
                input: opt_field(req, "input").map(str::to_owned),
                execution_start_to_close,
                decision_task_start_to_close: task_start_to_close,
                tags: tags.clone(),
            })
            .await
            .map_err(Fault::from_core)?;
        match outcome {
            StartOutcome::Started { run_id } => {
                d.types().starts.insert(
                    run_id.0.clone(),
                    StartConfig {
                        task_start_to_close,
                        child_policy,
                        tags,
                    },
                );
                Ok(json!({ "runId": run_id.as_str() }))
            }
            StartOutcome::AlreadyRunning => Err(Fault::swf(
                "WorkflowExecutionAlreadyStartedFault",
                format!("Workflow execution already started: {workflow_id}"),
            )),
        }
    }

    /// `base` with the first `size` of `events`; the rest wait under a
    /// fresh `nextPageToken`.
    fn paged(&self, base: Value, mut events: Vec<Value>, size: usize) -> Value {
        let mut answer = base.clone();
        if events.len() > size {
            let rest = events.split_off(size);
            let token = uuid::Uuid::new_v4().simple().to_string();
            self.pages
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(token.clone(), Pages { base, rest, size });
            answer["nextPageToken"] = json!(token);
        }
        answer["events"] = json!(events);
        answer
    }

    async fn poll_decision_task(&self, req: &Value) -> Result<Value, Fault> {
        if let Some(token) = opt_field(req, "nextPageToken") {
            let pages = self
                .pages
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(token)
                .ok_or_else(|| Fault::validation(format!("Invalid nextPageToken: {token}")))?;
            return Ok(self.paged(pages.base, pages.rest, pages.size));
        }
        let d = self.domain(req)?;
        let list = task_list_name(req, "taskList").ok_or_else(|| {
            Fault::validation(
                "Value null at 'taskList' failed to satisfy constraint: Member must not be null",
            )
        })?;
        let size = page_size(req)?;
        let identity = opt_field(req, "identity").unwrap_or("");
        let task = d
            .local
            .poll_decision_task(&list, identity)
            .await
            .map_err(Fault::from_core)?;
        let Some(task) = task else {
            return Ok(json!({
                "taskToken": "",
                "startedEventId": 0,
                "previousStartedEventId": 0,
                "events": [],
            }));
        };
        let start = d.start_config(&task.execution.run_id);
        let mut events = events::to_json(&task.events, start.as_ref());
        if reverse_order(req) {
            events.reverse();
        }
        let base = json!({
            "taskToken": d.token(&task.token),
            "startedEventId": task.started_event_id,
            "previousStartedEventId": task.previous_started_event_id,
            "workflowExecution": execution_json(&task.execution),
            "workflowType": events::type_json(&task.workflow_type),
        });
        Ok(self.paged(base, events, size))
    }

    async fn complete_decision_task(&self, req: &Value) -> Result<Value, Fault> {
        let (d, token) = self.task(req)?;
        let decisions: Vec<Decision> = {
            let types = d.types();
            let registration = |t: &TypeRef| types.activities.get(t).map(|r| &r.request);
            req.get("decisions")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .map(|v| decisions::parse(v, registration))
                .collect::<Result<_, _>>()?
        };
        let decisions = if self.options.moto_quirks.heartbeat_timeouts_only {
            decisions.into_iter().map(heartbeat_only).collect()
        } else {
            decisions
        };
        let context = opt_field(req, "executionContext").map(str::to_owned);
        d.local
            .complete_decision_task(&token, decisions, context)
            .await
            .map_err(|e| self.task_fault(e))?;
        Ok(json!({}))
    }

    async fn poll_activity_task(&self, req: &Value) -> Result<Value, Fault> {
        let d = self.domain(req)?;
        let list = task_list_name(req, "taskList").ok_or_else(|| {
            Fault::validation(
                "Value null at 'taskList' failed to satisfy constraint: Member must not be null",
            )
        })?;
        let identity = opt_field(req, "identity").unwrap_or("");
        let task = d
            .local
            .poll_activity_task(&list, identity)
            .await
            .map_err(Fault::from_core)?;
        let Some(task) = task else {
            return Ok(json!({ "taskToken": "", "startedEventId": 0 }));
        };
        let mut answer = json!({
            "taskToken": d.token(&task.token),
            "activityId": task.activity_id,
            "startedEventId": task.started_event_id,
            "workflowExecution": execution_json(&task.execution),
            "activityType": events::type_json(&task.activity_type),
        });
        if let Some(input) = task.input {
            answer["input"] = json!(input);
        }
        Ok(answer)
    }

    async fn activity_call(&self, operation: &str, req: &Value) -> Result<Value, Fault> {
        let (d, token) = self.task(req)?;
        let own = |k: &str| opt_field(req, k).map(str::to_owned);
        let local = &d.local;
        let r = match operation {
            "RespondActivityTaskCompleted" => {
                local.complete_activity_task(&token, own("result")).await
            }
            "RespondActivityTaskFailed" => {
                local
                    .fail_activity_task(
                        &token,
                        opt_field(req, "reason").unwrap_or(""),
                        opt_field(req, "details").unwrap_or(""),
                    )
                    .await
            }
            "RespondActivityTaskCanceled" => {
                local.cancel_activity_task(&token, own("details")).await
            }
            _ => {
                let outcome = local
                    .heartbeat(&token, own("details"))
                    .await
                    .map_err(|e| self.task_fault(e))?;
                let cancel =
                    outcome.cancel_requested && !self.options.moto_quirks.heartbeat_never_cancels;
                return Ok(json!({ "cancelRequested": cancel }));
            }
        };
        r.map_err(|e| self.task_fault(e))?;
        Ok(json!({}))
    }

    async fn close_request(&self, operation: &str, req: &Value) -> Result<Value, Fault> {
        let d = self.domain(req)?;
        let workflow_id = WorkflowId::from(field(req, "workflowId")?);
        let run_id = opt_field(req, "runId").map(RunId::from);
        let r = if operation == "TerminateWorkflowExecution" {
            let reason = opt_field(req, "reason").unwrap_or("");
            d.local
                .terminate(&workflow_id, run_id.as_ref(), reason)
                .await
        } else {
            d.local.request_cancel(&workflow_id, run_id.as_ref()).await
        };
        r.map_err(|e| match e {
            Error::NotFound { .. } => Fault::unknown(execution_name(
                workflow_id.as_str(),
                run_id.as_ref().map(RunId::as_str),
            )),
            e => Fault::from_core(e),
        })?;
        Ok(json!({}))
    }
}

/// The activity timeouts moto does not enforce, dropped ([`MotoQuirks`]).
fn heartbeat_only(d: Decision) -> Decision {
    match d {
        Decision::ScheduleActivityTask {
            activity_id,
            activity_type,
            input,
            control,
            task_list,
            timeouts,
        } => Decision::ScheduleActivityTask {
            activity_id,
            activity_type,
            input,
            control,
            task_list,
            timeouts: pressbot_core::history::ActivityTimeouts {
                heartbeat: timeouts.heartbeat,
                ..Default::default()
            },
        },
        d => d,
    }
}
