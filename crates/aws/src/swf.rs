//! [`WorkflowService`] on Amazon SWF.

use crate::error::{call_error, error_code, AwsError};
use crate::mapping::{
    activity_type, decision_to_sdk, event_from_sdk, task_list, timeout_to_swf, timestamp_from_swf,
    type_ref_from_workflow, workflow_type,
};
use crate::AwsBackend;
use async_trait::async_trait;
use aws_sdk_swf::types as sdk;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_smithy_types::DateTime;
use pressbot_core::backend::{
    ActivityTask, CloseStatus, DecisionTask, ExecutionFilter, ExecutionInfo, HeartbeatOutcome,
    StartOutcome, StartRequest, WorkflowService,
};
use pressbot_core::definition::Definitions;
use pressbot_core::history::{limits, truncate, Decision, HistoryEvent};
use pressbot_core::ids::{RunId, TaskToken, TypeRef, WorkflowExecution, WorkflowId};
use pressbot_core::Result;

const UNKNOWN_RESOURCE: &str = "UnknownResourceFault";
/// How long a decision task's page token lives (SWF says 60 s; a margin for the last call).
const PAGE_TOKEN_LIFE: std::time::Duration = std::time::Duration::from_secs(55);
/// SWF's limit on a poller's identity.
const MAX_IDENTITY: usize = 256;

/// What an `UnknownResourceFault` means depends on what the call named.
#[derive(Clone, Copy)]
enum Subject {
    /// Only the domain (and a task list, which cannot be unknown): the domain is missing.
    Domain,
    /// A task token: the task is gone.
    Task,
    /// An execution: it does not exist (or the domain does not).
    Execution,
    /// Anything else (types): a plain error.
    Other,
}

impl AwsBackend {
    /// Map an SWF error by what the call was about.
    fn swf_error<E>(
        &self,
        operation: &'static str,
        resource: &str,
        subject: Subject,
        err: SdkError<E, HttpResponse>,
    ) -> AwsError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        if error_code(&err) == Some(UNKNOWN_RESOURCE) {
            let message = match &err {
                SdkError::ServiceError(s) => s.err().message().unwrap_or("").to_owned(),
                _ => String::new(),
            };
            let about_domain = message.to_ascii_lowercase().contains("domain");
            match subject {
                Subject::Task => return AwsError::UnknownTask { operation },
                Subject::Domain => {
                    return self.missing_domain(operation);
                }
                Subject::Execution if about_domain => return self.missing_domain(operation),
                Subject::Execution => {
                    return AwsError::NotFound {
                        what: "workflow execution",
                        name: resource.to_owned(),
                    }
                }
                Subject::Other if about_domain => return self.missing_domain(operation),
                Subject::Other => {}
            }
        }
        call_error("swf", operation, resource, err)
    }

    fn missing_domain(&self, operation: &'static str) -> AwsError {
        AwsError::MissingResource {
            service: "swf",
            operation,
            what: "SWF domain",
            name: self.inner.domain.clone(),
            env: self.inner.env.clone(),
        }
    }

    pub(crate) async fn describe_domain(&self) -> Result<(), AwsError> {
        let swf = &self.inner.swf;
        let domain = &self.inner.domain;
        self.call("swf", "DescribeDomain", domain, || {
            swf.describe_domain().name(domain).send()
        })
        .await
        .map(drop)
        .map_err(|e| self.swf_error("DescribeDomain", domain, Subject::Domain, e))
    }

    /// Whether the domain exists (for the dry-run plan).
    pub(crate) async fn domain_exists(&self) -> Result<bool, AwsError> {
        match self.describe_domain().await {
            Ok(()) => Ok(true),
            Err(AwsError::MissingResource { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Register the domain; already registered is fine.
    pub(crate) async fn register_domain(&self) -> Result<bool, AwsError> {
        let swf = &self.inner.swf;
        let domain = &self.inner.domain;
        let retention = self.inner.retention_days.to_string();
        let r = self
            .call("swf", "RegisterDomain", domain, || {
                swf.register_domain()
                    .name(domain)
                    .description("pressbot")
                    .workflow_execution_retention_period_in_days(&retention)
                    .send()
            })
            .await;
        match r {
            Ok(_) => Ok(true),
            Err(e) if error_code(&e) == Some("DomainAlreadyExistsFault") => Ok(false),
            Err(e) => Err(call_error("swf", "RegisterDomain", domain, e)),
        }
    }

    /// Whether a workflow type is registered (for the dry-run plan).
    pub(crate) async fn workflow_type_exists(&self, t: &TypeRef) -> Result<bool, AwsError> {
        let swf = &self.inner.swf;
        let domain = &self.inner.domain;
        let r = self
            .call("swf", "DescribeWorkflowType", &t.to_string(), || {
                swf.describe_workflow_type()
                    .domain(domain)
                    .workflow_type(workflow_type(t))
                    .send()
            })
            .await;
        match r {
            Ok(_) => Ok(true),
            Err(e) if error_code(&e) == Some(UNKNOWN_RESOURCE) => Ok(false),
            Err(e) => Err(call_error("swf", "DescribeWorkflowType", t.to_string(), e)),
        }
    }

    /// Whether an activity type is registered (for the dry-run plan).
    pub(crate) async fn activity_type_exists(&self, t: &TypeRef) -> Result<bool, AwsError> {
        let swf = &self.inner.swf;
        let domain = &self.inner.domain;
        let r = self
            .call("swf", "DescribeActivityType", &t.to_string(), || {
                swf.describe_activity_type()
                    .domain(domain)
                    .activity_type(activity_type(t))
                    .send()
            })
            .await;
        match r {
            Ok(_) => Ok(true),
            Err(e) if error_code(&e) == Some(UNKNOWN_RESOURCE) => Ok(false),
            Err(e) => Err(call_error("swf", "DescribeActivityType", t.to_string(), e)),
        }
    }

    /// Register one workflow type with its defaults; `Ok(false)` when it already was.
    pub(crate) async fn register_workflow_type(
        &self,
        def: &pressbot_core::definition::WorkflowDefinition,
    ) -> Result<bool, AwsError> {
        let swf = &self.inner.swf;
        let domain = &self.inner.domain;
        let t = def.workflow_type();
        let r = self
            .call("swf", "RegisterWorkflowType", &t.to_string(), || {
                swf.register_workflow_type()
                    .domain(domain)
                    .name(&t.name)
                    .version(&t.version)
                    .set_description(def.description.clone())
                    .default_task_list(task_list(&def.task_list))
                    .default_execution_start_to_close_timeout(timeout_to_swf(Some(
                        def.execution_start_to_close,
                    )))
                    .default_task_start_to_close_timeout(timeout_to_swf(Some(
                        def.decision_task_start_to_close,
                    )))
                    .default_child_policy(sdk::ChildPolicy::Terminate)
                    .send()
            })
            .await;
        match r {
            Ok(_) => Ok(true),
            Err(e) if error_code(&e) == Some("TypeAlreadyExistsFault") => Ok(false),
            Err(e) => {
                Err(self.swf_error("RegisterWorkflowType", &t.to_string(), Subject::Other, e))
            }
        }
    }

    /// Register one activity type; `Ok(false)` when it already was. No
    /// default timeouts: every decision states all four.
    pub(crate) async fn register_activity_type(
        &self,
        t: &TypeRef,
        default_task_list: &str,
    ) -> Result<bool, AwsError> {
        let swf = &self.inner.swf;
        let domain = &self.inner.domain;
        let r = self
            .call("swf", "RegisterActivityType", &t.to_string(), || {
                swf.register_activity_type()
                    .domain(domain)
                    .name(&t.name)
                    .version(&t.version)
                    .default_task_list(task_list(default_task_list))
                    .send()
            })
            .await;
        match r {
            Ok(_) => Ok(true),
            Err(e) if error_code(&e) == Some("TypeAlreadyExistsFault") => Ok(false),
            Err(e) => {
                Err(self.swf_error("RegisterActivityType", &t.to_string(), Subject::Other, e))
            }
        }
    }

    /// The rest of a decision task's history: SWF pages it, and the next
    /// pages are fetched with the same poll call and the page token (valid
    /// 60 s, so the pages are fetched right away, nothing in between).
    async fn poll_decision_pages(
        &self,
        task_list_name: &str,
        identity: &str,
    ) -> Result<Option<DecisionTask>, AwsError> {
        const OP: &str = "PollForDecisionTask";
        let swf = &self.inner.swf;
        let domain = &self.inner.domain;
        let resource = format!("{domain}/{task_list_name}");
        let page_size = self.inner.history_page_size;
        let first = self
            .call("swf", OP, &resource, || {
                swf.poll_for_decision_task()
                    .domain(domain)
                    .task_list(task_list(task_list_name))
                    .identity(truncate(identity, MAX_IDENTITY))
                    .maximum_page_size(page_size)
                    .send()
            })
            .await
            .map_err(|e| self.swf_error(OP, &resource, Subject::Domain, e))?;
        if first.task_token().is_empty() {
            return Ok(None);
        }
        let got_first = std::time::Instant::now();
        let mut sdk_events = first.events().to_vec();
        let mut next = first.next_page_token().map(str::to_owned);
        while let Some(token) = next.take().filter(|t| !t.is_empty()) {
            if got_first.elapsed() > PAGE_TOKEN_LIFE {
                // The token is dead: SWF will time the decision task out and
                // schedule it again, so the caller just polls again.
                return Err(AwsError::Call {
                    service: "swf",
                    operation: OP,
                    resource,
                    code: None,
                    retryable: true,
                    message: format!(
                        "history pages took longer than the page token's {}s life ({} events so far)",
                        PAGE_TOKEN_LIFE.as_secs(),
                        sdk_events.len()
                    ),
                });
            }
            let page = self
                .call("swf", OP, &resource, || {
                    swf.poll_for_decision_task()
                        .domain(domain)
                        .task_list(task_list(task_list_name))
                        .identity(truncate(identity, MAX_IDENTITY))
                        .maximum_page_size(page_size)
                        .next_page_token(&token)
                        .send()
                })
                .await
                .map_err(|e| self.swf_error(OP, &resource, Subject::Domain, e))?;
            sdk_events.extend_from_slice(page.events());
            next = page.next_page_token().map(str::to_owned);
        }
        let events = map_events(&sdk_events, OP)?;
        let execution = first
            .workflow_execution()
            .map(execution_from_sdk)
            .ok_or_else(|| AwsError::Mapping {
                operation: OP,
                event_id: 0,
                field: "workflowExecution",
                message: "missing from a decision task".into(),
            })?;
        Ok(Some(DecisionTask {
            token: TaskToken(first.task_token().to_owned()),
            execution,
            workflow_type: type_ref_from_workflow(first.workflow_type()),
            events,
            started_event_id: first.started_event_id(),
            previous_started_event_id: first.previous_started_event_id(),
        }))
    }

    async fn history_pages(
        &self,
        execution: &WorkflowExecution,
    ) -> Result<Vec<HistoryEvent>, AwsError> {
        const OP: &str = "GetWorkflowExecutionHistory";
        let swf = &self.inner.swf;
        let domain = &self.inner.domain;
        let resource = execution.to_string();
        let page_size = self.inner.history_page_size;
        let sdk_execution = execution_to_sdk(execution);
        let mut sdk_events = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .call("swf", OP, &resource, || {
                    swf.get_workflow_execution_history()
                        .domain(domain)
                        .execution(sdk_execution.clone())
                        .maximum_page_size(page_size)
                        .set_next_page_token(token.clone())
                        .send()
                })
                .await
                .map_err(|e| self.swf_error(OP, &resource, Subject::Execution, e))?;
            sdk_events.extend_from_slice(page.events());
            match page.next_page_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => break,
            }
        }
        map_events(&sdk_events, OP)
    }

    async fn list_pages(&self, filter: &ExecutionFilter) -> Result<Vec<ExecutionInfo>, AwsError> {
        let swf = &self.inner.swf;
        let domain = &self.inner.domain;
        let time_filter = sdk::ExecutionTimeFilter::builder()
            .oldest_date(DateTime::from_millis(
                filter.started_after.map(|t| t.millis()).unwrap_or(0),
            ))
            .build()
            .map_err(|e| AwsError::request("swf", "ListWorkflowExecutions", e))?;
        // SWF takes at most one of the execution, type and close-status
        // filters. The workflow id (the most selective) goes to the service;
        // the workflow name and close status are filtered here. (moto also
        // fails on a name-only type filter and drops everything on a close
        // status filter, so sending those would only work on AWS.)
        let execution_filter = filter.workflow_id.as_ref().map(|id| {
            sdk::WorkflowExecutionFilter::builder()
                .workflow_id(id.as_str())
                .build()
                .expect("workflow id is set")
        });
        let mut infos = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let (page, next) = if filter.open {
                const OP: &str = "ListOpenWorkflowExecutions";
                let out = self
                    .call("swf", OP, domain, || {
                        swf.list_open_workflow_executions()
                            .domain(domain)
                            .start_time_filter(time_filter.clone())
                            .set_execution_filter(execution_filter.clone())
                            .set_next_page_token(token.clone())
                            .send()
                    })
                    .await
                    .map_err(|e| self.swf_error(OP, domain, Subject::Domain, e))?;
                (
                    out.execution_infos().to_vec(),
                    out.next_page_token().map(str::to_owned),
                )
            } else {
                const OP: &str = "ListClosedWorkflowExecutions";
                let out = self
                    .call("swf", OP, domain, || {
                        swf.list_closed_workflow_executions()
                            .domain(domain)
                            .start_time_filter(time_filter.clone())
                            .set_execution_filter(execution_filter.clone())
                            .set_next_page_token(token.clone())
                            .send()
                    })
                    .await
                    .map_err(|e| self.swf_error(OP, domain, Subject::Domain, e))?;
                (
                    out.execution_infos().to_vec(),
                    out.next_page_token().map(str::to_owned),
                )
            };
            infos.extend(page.iter().map(info_from_sdk));
            match next {
                Some(t) if !t.is_empty() => token = Some(t),
                _ => break,
            }
        }
        infos.retain(|i| {
            filter
                .workflow_id
                .as_ref()
                .is_none_or(|id| &i.execution.workflow_id == id)
                && filter
                    .workflow_name
                    .as_ref()
                    .is_none_or(|n| &i.workflow_type.name == n)
                && (filter.open
                    || filter.close_status.is_none()
                    || i.close_status == filter.close_status)
                && filter.started_after.is_none_or(|t| i.started >= t)
        });
        Ok(infos)
    }
}

fn map_events(
    events: &[sdk::HistoryEvent],
    operation: &'static str,
) -> Result<Vec<HistoryEvent>, AwsError> {
    let mut out: Vec<HistoryEvent> = events
        .iter()
        .map(|e| event_from_sdk(e, operation))
        .collect::<Result<_, _>>()?;
    // Pages come in order, but sorting costs nothing and makes the
    // decider's "events ascending by id" assumption hold whatever happens.
    out.sort_by_key(|e| e.id);
    out.dedup_by_key(|e| e.id);
    Ok(out)
}

fn execution_from_sdk(e: &sdk::WorkflowExecution) -> WorkflowExecution {
    WorkflowExecution {
        workflow_id: WorkflowId(e.workflow_id().to_owned()),
        run_id: RunId(e.run_id().to_owned()),
    }
}

fn execution_to_sdk(e: &WorkflowExecution) -> sdk::WorkflowExecution {
    sdk::WorkflowExecution::builder()
        .workflow_id(e.workflow_id.as_str())
        .run_id(e.run_id.as_str())
        .build()
        .expect("workflow id and run id are set")
}

fn info_from_sdk(i: &sdk::WorkflowExecutionInfo) -> ExecutionInfo {
    ExecutionInfo {
        execution: i
            .execution()
            .map(execution_from_sdk)
            .unwrap_or(WorkflowExecution {
                workflow_id: WorkflowId(String::new()),
                run_id: RunId(String::new()),
            }),
        workflow_type: type_ref_from_workflow(i.workflow_type()),
        started: timestamp_from_swf(i.start_timestamp()),
        closed: i.close_timestamp().map(timestamp_from_swf),
        close_status: match i.execution_status() {
            sdk::ExecutionStatus::Open => None,
            _ => i
                .close_status()
                .and_then(|s| CloseStatus::parse(s.as_str())),
        },
        cancel_requested: i.cancel_requested(),
    }
}

#[async_trait]
impl WorkflowService for AwsBackend {
    async fn poll_decision_task(
        &self,
        task_list: &str,
        identity: &str,
    ) -> Result<Option<DecisionTask>> {
        let task = self.poll_decision_pages(task_list, identity).await?;
        if let Some(t) = &task {
            tracing::debug!(
                workflow_id = %t.execution.workflow_id,
                run_id = %t.execution.run_id,
                events = t.events.len(),
                "decision task received"
            );
        }
        Ok(task)
    }

    async fn complete_decision_task(
        &self,
        token: &TaskToken,
        decisions: Vec<Decision>,
        execution_context: Option<String>,
    ) -> Result<()> {
        const OP: &str = "RespondDecisionTaskCompleted";
        let sdk_decisions = decisions
            .iter()
            .map(decision_to_sdk)
            .collect::<Result<Vec<_>, _>>()?;
        let swf = &self.inner.swf;
        self.call("swf", OP, "decision task", || {
            swf.respond_decision_task_completed()
                .task_token(token.as_str())
                .set_decisions(Some(sdk_decisions.clone()))
                .set_execution_context(execution_context.clone())
                .send()
        })
        .await
        .map_err(|e| self.swf_error(OP, "decision task", Subject::Task, e))?;
        Ok(())
    }

    async fn poll_activity_task(
        &self,
        task_list_name: &str,
        identity: &str,
    ) -> Result<Option<ActivityTask>> {
        const OP: &str = "PollForActivityTask";
        let swf = &self.inner.swf;
        let domain = &self.inner.domain;
        let resource = format!("{domain}/{task_list_name}");
        let out = self
            .call("swf", OP, &resource, || {
                swf.poll_for_activity_task()
                    .domain(domain)
                    .task_list(task_list(task_list_name))
                    .identity(truncate(identity, MAX_IDENTITY))
                    .send()
            })
            .await
            .map_err(|e| self.swf_error(OP, &resource, Subject::Domain, e))?;
        if out.task_token().is_empty() {
            return Ok(None);
        }
        let execution = out
            .workflow_execution()
            .map(execution_from_sdk)
            .ok_or_else(|| AwsError::Mapping {
                operation: OP,
                event_id: out.started_event_id(),
                field: "workflowExecution",
                message: "missing from an activity task".into(),
            })?;
        Ok(Some(ActivityTask {
            token: TaskToken(out.task_token().to_owned()),
            execution,
            activity_id: out.activity_id().to_owned(),
            activity_type: out
                .activity_type()
                .map(|t| TypeRef::new(t.name(), t.version()))
                .unwrap_or_else(|| TypeRef::new("", "")),
            input: out.input().map(str::to_owned),
            started_event_id: out.started_event_id(),
        }))
    }

    async fn complete_activity_task(
        &self,
        token: &TaskToken,
        result: Option<String>,
    ) -> Result<()> {
        const OP: &str = "RespondActivityTaskCompleted";
        let swf = &self.inner.swf;
        let result = result.map(|r| truncate(&r, limits::RESULT));
        self.call("swf", OP, "activity task", || {
            swf.respond_activity_task_completed()
                .task_token(token.as_str())
                .set_result(result.clone())
                .send()
        })
        .await
        .map_err(|e| self.swf_error(OP, "activity task", Subject::Task, e))?;
        Ok(())
    }

    async fn fail_activity_task(
        &self,
        token: &TaskToken,
        reason: &str,
        details: &str,
    ) -> Result<()> {
        const OP: &str = "RespondActivityTaskFailed";
        let swf = &self.inner.swf;
        let reason = truncate(reason, limits::REASON);
        let details = truncate(details, limits::DETAILS);
        self.call("swf", OP, "activity task", || {
            swf.respond_activity_task_failed()
                .task_token(token.as_str())
                .reason(&reason)
                .details(&details)
                .send()
        })
        .await
        .map_err(|e| self.swf_error(OP, "activity task", Subject::Task, e))?;
        Ok(())
    }

    async fn cancel_activity_task(&self, token: &TaskToken, details: Option<String>) -> Result<()> {
        const OP: &str = "RespondActivityTaskCanceled";
        let swf = &self.inner.swf;
        let details = details.map(|d| truncate(&d, limits::DETAILS));
        self.call("swf", OP, "activity task", || {
            swf.respond_activity_task_canceled()
                .task_token(token.as_str())
                .set_details(details.clone())
                .send()
        })
        .await
        .map_err(|e| self.swf_error(OP, "activity task", Subject::Task, e))?;
        Ok(())
    }

    async fn heartbeat(
        &self,
        token: &TaskToken,
        details: Option<String>,
    ) -> Result<HeartbeatOutcome> {
        const OP: &str = "RecordActivityTaskHeartbeat";
        let swf = &self.inner.swf;
        let details = details.map(|d| truncate(&d, 2048));
        let out = self
            .call("swf", OP, "activity task", || {
                swf.record_activity_task_heartbeat()
                    .task_token(token.as_str())
                    .set_details(details.clone())
                    .send()
            })
            .await
            .map_err(|e| self.swf_error(OP, "activity task", Subject::Task, e))?;
        Ok(HeartbeatOutcome {
            cancel_requested: out.cancel_requested(),
        })
    }

    async fn start_workflow(&self, request: StartRequest) -> Result<StartOutcome> {
        const OP: &str = "StartWorkflowExecution";
        let swf = &self.inner.swf;
        let domain = &self.inner.domain;
        let id = request.workflow_id.as_str();
        let input = request.input.as_deref().map(|i| truncate(i, limits::INPUT));
        let r = self
            .call("swf", OP, id, || {
                swf.start_workflow_execution()
                    .domain(domain)
                    .workflow_id(id)
                    .workflow_type(workflow_type(&request.workflow_type))
                    .task_list(task_list(&request.task_list))
                    .set_input(input.clone())
                    .execution_start_to_close_timeout(timeout_to_swf(Some(
                        request.execution_start_to_close,
                    )))
                    .task_start_to_close_timeout(timeout_to_swf(Some(
                        request.decision_task_start_to_close,
                    )))
                    .set_tag_list(if request.tags.is_empty() {
                        None
                    } else {
                        Some(request.tags.iter().take(5).cloned().collect())
                    })
                    .child_policy(sdk::ChildPolicy::Terminate)
                    .send()
            })
            .await;
        match r {
            Ok(out) => {
                let run_id = RunId(out.run_id().unwrap_or_default().to_owned());
                tracing::info!(workflow_id = %id, run_id = %run_id, workflow = %request.workflow_type, "workflow started");
                Ok(StartOutcome::Started { run_id })
            }
            Err(e) if error_code(&e) == Some("WorkflowExecutionAlreadyStartedFault") => {
                tracing::info!(workflow_id = %id, "workflow already running: duplicate start ignored");
                Ok(StartOutcome::AlreadyRunning)
            }
            Err(e) => Err(self.swf_error(OP, id, Subject::Other, e).into()),
        }
    }

    async fn request_cancel(&self, workflow_id: &WorkflowId, run_id: Option<&RunId>) -> Result<()> {
        const OP: &str = "RequestCancelWorkflowExecution";
        let swf = &self.inner.swf;
        let domain = &self.inner.domain;
        self.call("swf", OP, workflow_id.as_str(), || {
            swf.request_cancel_workflow_execution()
                .domain(domain)
                .workflow_id(workflow_id.as_str())
                .set_run_id(run_id.map(|r| r.0.clone()))
                .send()
        })
        .await
        .map_err(|e| self.swf_error(OP, workflow_id.as_str(), Subject::Execution, e))?;
        Ok(())
    }

    async fn terminate(
        &self,
        workflow_id: &WorkflowId,
        run_id: Option<&RunId>,
        reason: &str,
    ) -> Result<()> {
        const OP: &str = "TerminateWorkflowExecution";
        let swf = &self.inner.swf;
        let domain = &self.inner.domain;
        let reason = truncate(reason, limits::REASON);
        self.call("swf", OP, workflow_id.as_str(), || {
            swf.terminate_workflow_execution()
                .domain(domain)
                .workflow_id(workflow_id.as_str())
                .set_run_id(run_id.map(|r| r.0.clone()))
                .reason(&reason)
                .child_policy(sdk::ChildPolicy::Terminate)
                .send()
        })
        .await
        .map_err(|e| self.swf_error(OP, workflow_id.as_str(), Subject::Execution, e))?;
        Ok(())
    }

    async fn register(&self, definitions: &Definitions) -> Result<()> {
        if self.register_domain().await? {
            tracing::info!(domain = %self.inner.domain, "SWF domain registered");
        }
        for def in definitions.iter() {
            if self.register_workflow_type(def).await? {
                tracing::info!(workflow_type = %def.workflow_type(), "workflow type registered");
            }
        }
        for (t, tl) in definitions.activity_types() {
            if self.register_activity_type(&t, &tl).await? {
                tracing::info!(activity_type = %t, "activity type registered");
            }
        }
        Ok(())
    }

    async fn list_executions(&self, filter: &ExecutionFilter) -> Result<Vec<ExecutionInfo>> {
        Ok(self.list_pages(filter).await?)
    }

    async fn describe_execution(&self, execution: &WorkflowExecution) -> Result<ExecutionInfo> {
        const OP: &str = "DescribeWorkflowExecution";
        let swf = &self.inner.swf;
        let domain = &self.inner.domain;
        let resource = execution.to_string();
        let sdk_execution = execution_to_sdk(execution);
        let out = self
            .call("swf", OP, &resource, || {
                swf.describe_workflow_execution()
                    .domain(domain)
                    .execution(sdk_execution.clone())
                    .send()
            })
            .await
            .map_err(|e| self.swf_error(OP, &resource, Subject::Execution, e))?;
        let info = out.execution_info().ok_or_else(|| AwsError::NotFound {
            what: "workflow execution",
            name: resource.clone(),
        })?;
        Ok(info_from_sdk(info))
    }

    async fn history(&self, execution: &WorkflowExecution) -> Result<Vec<HistoryEvent>> {
        Ok(self.history_pages(execution).await?)
    }

    async fn ping(&self) -> Result<()> {
        Ok(self.describe_domain().await?)
    }
}
