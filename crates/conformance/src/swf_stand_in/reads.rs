//! The read side of the stand-in: `DescribeWorkflowExecution`,
//! `GetWorkflowExecutionHistory` and the two execution listings, with
//! SWF's page tokens and `WorkflowExecutionInfo` shape.

use super::*;

impl Service {
    /// The execution a request names, its summary and its history.
    pub(super) async fn execution(
        &self,
        d: &Domain,
        req: &Value,
    ) -> Result<(WorkflowExecution, ExecutionInfo, Vec<HistoryEvent>), Fault> {
        let e = req.get("execution").unwrap_or(&Value::Null);
        let execution = WorkflowExecution {
            workflow_id: WorkflowId::from(field(e, "workflowId")?),
            run_id: RunId::from(field(e, "runId")?),
        };
        let not_found = |err: Error| match err {
            Error::NotFound { .. } => Fault::unknown(execution_name(
                execution.workflow_id.as_str(),
                Some(execution.run_id.as_str()),
            )),
            err => Fault::from_core(err),
        };
        let info = d
            .local
            .describe_execution(&execution)
            .await
            .map_err(not_found)?;
        let history = d.local.history(&execution).await.map_err(not_found)?;
        Ok((execution, info, history))
    }

    pub(super) async fn describe_execution(&self, req: &Value) -> Result<Value, Fault> {
        let d = self.domain(req)?;
        let (execution, info, history) = self.execution(&d, req).await?;
        let start = d.start_config(&execution.run_id);
        let mut configuration = json!({});
        if let Some(EventKind::WorkflowExecutionStarted {
            task_list,
            execution_start_to_close,
            ..
        }) = history.first().map(|e| &e.kind)
        {
            configuration["taskList"] = json!({ "name": task_list });
            configuration["executionStartToCloseTimeout"] =
                events::timeout(*execution_start_to_close);
        }
        if let Some(s) = &start {
            configuration["taskStartToCloseTimeout"] = events::timeout(Some(s.task_start_to_close));
            configuration["childPolicy"] = json!(s.child_policy);
        }
        let mut answer = json!({
            "executionInfo": info_json(&info, start.as_ref()),
            "executionConfiguration": configuration,
            "openCounts": events::open_counts(&history),
        });
        if let Some(t) = history
            .iter()
            .rev()
            .find(|e| matches!(e.kind, EventKind::ActivityTaskScheduled { .. }))
        {
            answer["latestActivityTaskTimestamp"] = events::epoch(t.timestamp);
        }
        if let Some(Some(context)) = history.iter().rev().find_map(|e| match &e.kind {
            EventKind::DecisionTaskCompleted {
                execution_context, ..
            } => Some(execution_context),
            _ => None,
        }) {
            answer["latestExecutionContext"] = json!(context);
        }
        Ok(answer)
    }

    pub(super) async fn history(&self, req: &Value) -> Result<Value, Fault> {
        let d = self.domain(req)?;
        let size = page_size(req)?;
        let (execution, _, history) = self.execution(&d, req).await?;
        let start = d.start_config(&execution.run_id);
        let mut events = events::to_json(&history, start.as_ref());
        if reverse_order(req) {
            events.reverse();
        }
        let (page, next) = offset_page(events, opt_field(req, "nextPageToken"), size)?;
        let mut answer = json!({ "events": page });
        if let Some(next) = next {
            answer["nextPageToken"] = json!(next);
        }
        Ok(answer)
    }

    pub(super) async fn list(&self, req: &Value, open: bool) -> Result<Value, Fault> {
        let d = self.domain(req)?;
        let size = page_size(req)?;
        let start_filter = req.get("startTimeFilter");
        let close_filter = if open {
            None
        } else {
            req.get("closeTimeFilter")
        };
        if start_filter.is_some() == close_filter.is_some() {
            return Err(Fault::validation(if open {
                "startTimeFilter is required"
            } else {
                "Exactly one of startTimeFilter and closeTimeFilter must be specified"
            }));
        }
        let exclusive = [
            "executionFilter",
            "typeFilter",
            "tagFilter",
            "closeStatusFilter",
        ];
        if exclusive.iter().filter(|k| req.get(**k).is_some()).count() > 1 {
            return Err(Fault::validation(
                "Only one of executionFilter, typeFilter, tagFilter and closeStatusFilter \
                 may be specified",
            ));
        }
        let range = |f: Option<&Value>| {
            let f = f.unwrap_or(&Value::Null);
            (
                f.get("oldestDate").and_then(timestamp),
                f.get("latestDate").and_then(timestamp),
            )
        };
        let (start_oldest, start_latest) = range(start_filter);
        let (close_oldest, close_latest) = range(close_filter);
        let type_filter = req.get("typeFilter");
        let close_status = match req
            .get("closeStatusFilter")
            .and_then(|f| opt_field(f, "status"))
        {
            Some(s) => Some(CloseStatus::parse(s).ok_or_else(|| {
                Fault::validation(format!(
                    "Value '{s}' at 'closeStatusFilter.status' is not a close status"
                ))
            })?),
            None => None,
        };
        let filter = ExecutionFilter {
            open,
            started_after: start_oldest,
            workflow_id: req
                .get("executionFilter")
                .and_then(|f| opt_field(f, "workflowId"))
                .map(WorkflowId::from),
            workflow_name: type_filter
                .and_then(|f| opt_field(f, "name"))
                .map(str::to_owned),
            close_status,
        };
        let infos = d
            .local
            .list_executions(&filter)
            .await
            .map_err(Fault::from_core)?;
        let version = type_filter.and_then(|f| opt_field(f, "version"));
        let tag = req.get("tagFilter").and_then(|f| opt_field(f, "tag"));
        let starts = d.types().starts.clone();
        let within =
            |t: Option<Timestamp>, oldest: Option<Timestamp>, latest: Option<Timestamp>| {
                t.is_some_and(|t| oldest.is_none_or(|o| t >= o) && latest.is_none_or(|l| t <= l))
            };
        let mut infos: Vec<ExecutionInfo> = infos
            .into_iter()
            .filter(|i| start_latest.is_none_or(|l| i.started <= l))
            .filter(|i| close_filter.is_none() || within(i.closed, close_oldest, close_latest))
            .filter(|i| version.is_none_or(|v| i.workflow_type.version == v))
            .filter(|i| {
                tag.is_none_or(|tag| {
                    starts
                        .get(i.execution.run_id.as_str())
                        .is_some_and(|s| s.tags.iter().any(|t| t == tag))
                })
            })
            .collect();
        // Newest first (by close time when filtering by it), unless reversed.
        if close_filter.is_some() {
            infos.sort_by_key(|i| std::cmp::Reverse(i.closed));
        } else {
            infos.sort_by_key(|i| std::cmp::Reverse(i.started));
        }
        if reverse_order(req) {
            infos.reverse();
        }
        let all: Vec<Value> = infos
            .iter()
            .map(|i| info_json(i, starts.get(i.execution.run_id.as_str())))
            .collect();
        let (page, next) = offset_page(all, opt_field(req, "nextPageToken"), size)?;
        let mut answer = json!({ "executionInfos": page });
        if let Some(next) = next {
            answer["nextPageToken"] = json!(next);
        }
        Ok(answer)
    }
}

/// One page of `all` from the offset a token names (`"o<offset>"`); the
/// next page's token when more are left.
pub(super) fn offset_page(
    mut all: Vec<Value>,
    token: Option<&str>,
    size: usize,
) -> Result<(Vec<Value>, Option<String>), Fault> {
    let offset = match token {
        None => 0,
        Some(t) => t
            .strip_prefix('o')
            .and_then(|n| n.parse::<usize>().ok())
            .ok_or_else(|| Fault::validation(format!("Invalid nextPageToken: {t}")))?,
    };
    let mut page: Vec<Value> = all.drain(offset.min(all.len())..).collect();
    let next = (page.len() > size).then(|| format!("o{}", offset + size));
    page.truncate(size);
    Ok((page, next))
}

/// `WorkflowExecutionInfo`.
pub(super) fn info_json(i: &ExecutionInfo, start: Option<&StartConfig>) -> Value {
    let mut v = json!({
        "execution": execution_json(&i.execution),
        "workflowType": events::type_json(&i.workflow_type),
        "startTimestamp": events::epoch(i.started),
        "executionStatus": if i.close_status.is_some() { "CLOSED" } else { "OPEN" },
        "cancelRequested": i.cancel_requested,
    });
    if let Some(closed) = i.closed {
        v["closeTimestamp"] = events::epoch(closed);
    }
    if let Some(status) = i.close_status {
        v["closeStatus"] = json!(status.as_str());
    }
    if let Some(s) = start.filter(|s| !s.tags.is_empty()) {
        v["tagList"] = json!(s.tags);
    }
    v
}
