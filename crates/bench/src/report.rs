//! The figures as printed and written: the machine they were taken on,
//! rounding, percentiles, RSS series and SWF call counts, and the JSON output.

use crate::counters::Counters;
use crate::install::Install;
use crate::numbers::round;
use anyhow::{Context, Result};
use serde_json::{json, Value};
use std::path::Path;

/// Prints the figures as pretty JSON, and writes the same text to `json`
/// when asked (what `scripts/bench.sh` keeps).
pub(crate) fn emit(figures: &Value, json: Option<&Path>) -> Result<()> {
    let text = serde_json::to_string_pretty(figures)?;
    println!("{text}");
    if let Some(p) = json {
        std::fs::write(p, &text).with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(())
}

pub(crate) fn machine() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_default();
    let mem_kb = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| {
                    v.split_whitespace()
                        .next()
                        .and_then(|n| n.parse::<u64>().ok())
                })
        })
        .unwrap_or(0);
    json!({
        "cpu": cpu,
        "nproc": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "mem_gb": round(mem_kb as f64 / 1024.0 / 1024.0, 1),
    })
}

/// RSS samples as `{role: [[seconds, MB], ...]}`, at most ~20 per role
/// (evenly thinned, first and last kept), to read creep at a glance.
pub(crate) fn rss_series(inst: &Install) -> Value {
    let samples = &inst.rss_samples;
    let step = samples.len().div_ceil(20).max(1);
    let mut picked: Vec<&(f64, Vec<f64>)> = samples.iter().step_by(step).collect();
    if let Some(last) = samples.last() {
        if !picked.last().is_some_and(|p| std::ptr::eq(*p, last)) {
            picked.push(last);
        }
    }
    let mut m = serde_json::Map::new();
    for (i, p) in inst.procs.iter().enumerate() {
        let series: Vec<Value> = picked
            .iter()
            .map(|(t, rss)| json!([round(*t, 1), rss.get(i).copied().unwrap_or(0.0)]))
            .collect();
        m.insert(p.role.into(), Value::Array(series));
    }
    Value::Object(m)
}

/// SWF requests the decider and the activity worker made for a batch, from
/// their `/metrics`: by operation, how many polls came back empty, and the
/// calls per workflow on the steady path (empty polls excluded) next to what
/// SWF's protocol needs: 6 for one activity, 4 more per further activity.
pub(crate) fn swf_calls(
    before: &[Counters],
    after: &[Counters],
    workflows: usize,
    steps: usize,
) -> Value {
    let mut by_op: std::collections::BTreeMap<String, f64> = Default::default();
    let mut empty = 0.0;
    for (b, a) in before.iter().zip(after) {
        let d = a.since(b);
        for (series, v) in &d.0 {
            if series.starts_with("pressbot_aws_requests_total{")
                && series.contains("service=\"swf\"")
            {
                let op = Counters::label(series, "operation").unwrap_or("?");
                *by_op.entry(op.to_owned()).or_default() += v;
            }
        }
        empty += d.sum("pressbot_polls_total", &["outcome=\"empty\""]);
    }
    let total: f64 = by_op.values().sum();
    let per_workflow = (total - empty) / workflows.max(1) as f64;
    json!({
        "by_operation": by_op,
        "empty_polls": empty,
        "calls_per_workflow_excluding_empty_polls": round(per_workflow, 2),
        "expected_per_workflow": 6 + 4 * (steps.saturating_sub(1)),
        "note": "plus one StartWorkflowExecution per workflow, made by the bench",
    })
}

/// Percentiles of a list of milliseconds.
pub(crate) fn percentiles(mut v: Vec<f64>) -> Value {
    if v.is_empty() {
        return Value::Null;
    }
    v.sort_by(f64::total_cmp);
    let p = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    json!({"n": v.len(), "p50_ms": p(0.5), "p90_ms": p(0.9), "p99_ms": p(0.99), "max_ms": p(1.0)})
}
