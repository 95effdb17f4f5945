//! The dashboard page, rendered on the server so it reads without
//! JavaScript. The `<main>` part is also served alone (`/fragment`): the
//! page's small script fetches it every refresh interval and swaps it in,
//! so the page updates in place; without scripts a `<noscript>` meta
//! refresh reloads the whole page instead.

use super::consumer::ConsumerRole;
use super::state::{State, WorkflowView};
use std::fmt::Write;

/// Escape text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The whole page.
pub fn page(state: &State, refresh_ms: u128) -> String {
    let secs = refresh_ms.div_ceil(1000).max(1);
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>pressbot dashboard</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<noscript><meta http-equiv="refresh" content="{secs}"></noscript>
<style>
body{{font-family:system-ui,sans-serif;margin:1rem 2rem;color:#222}}
table{{border-collapse:collapse;margin:.5rem 0 1.5rem}}
th,td{{border:1px solid #ccc;padding:.2rem .5rem;text-align:left;vertical-align:top;font-size:.9rem}}
th{{background:#f3f3f3}} .completed,.published{{color:#070}} .failed,.timed_out,.terminated,.error{{color:#b00}}
details{{margin:.2rem 0}} .muted{{color:#777}}
</style></head>
<body><h1>pressbot dashboard</h1>
<main id="dashboard">{main}</main>
<script>
// Swap in the server-rendered <main> every {refresh_ms} ms: updates in place, no reload.
setInterval(async () => {{
  try {{
    const r = await fetch('fragment', {{cache: 'no-store'}});
    if (r.ok) document.getElementById('dashboard').innerHTML = await r.text();
  }} catch (e) {{}}
}}, {refresh_ms});
</script>
</body></html>
"#,
        main = main(state)
    )
}

/// The `<main>` content: every section.
pub fn main(s: &State) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<p class="muted">As of <time id="generated">{}</time>.</p>"#,
        esc(&s.generated)
    );
    consumer(&mut out, &s.consumer);
    if !s.errors.is_empty() {
        out.push_str(r#"<ul class="error">"#);
        for e in &s.errors {
            let _ = write!(out, "<li>{}</li>", esc(e));
        }
        out.push_str("</ul>");
    }
    for (title, id, list) in [
        ("Open workflows", "open", &s.open),
        ("Failed workflows", "failed", &s.failed),
        ("Recently closed workflows", "closed", &s.closed),
    ] {
        workflows(&mut out, title, id, list);
    }

    out.push_str(r#"<h2>Articles</h2><table id="articles"><thead><tr><th>Article</th><th>Version</th><th>Publication status</th><th>Last event</th><th>Page</th></tr></thead><tbody>"#);
    if s.articles.is_empty() {
        out.push_str(r#"<tr><td colspan="5" class="muted">none yet</td></tr>"#);
    }
    for a in &s.articles {
        let status = a.publication_status.as_deref().unwrap_or("");
        let last = match (&a.last_step, &a.last_status, &a.last_time) {
            (Some(step), Some(st), Some(t)) => format!(
                r#"{} <span class="{}">{}</span> <span class="muted">{}</span>"#,
                esc(step),
                esc(st),
                esc(st),
                esc(t)
            ),
            _ => String::new(),
        };
        let link = a
            .page
            .as_deref()
            .map(|p| format!(r#"<a href="{0}">{0}</a>"#, esc(p)))
            .unwrap_or_default();
        let _ = write!(
            out,
            r#"<tr data-article="{id}" data-version="{v}" data-publication="{st}"><td>{id}</td><td>{v}</td><td class="{stc}">{st}</td><td>{last}</td><td>{link}</td></tr>"#,
            id = esc(&a.id),
            v = esc(&a.version),
            st = esc(status),
            stc = esc(&status.replace(' ', "_")),
        );
    }
    out.push_str("</tbody></table>");

    out.push_str(r#"<h2>Queues</h2><table id="queues"><thead><tr><th>Queue</th><th>Visible</th><th>In flight</th><th>Delayed</th></tr></thead><tbody>"#);
    for q in &s.queues {
        let n = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_else(|| "?".into());
        let class = if q.dead_letter && q.visible.unwrap_or(0) > 0 {
            " class=\"error\""
        } else {
            ""
        };
        let _ = write!(
            out,
            r#"<tr data-queue="{name}"{class}><td>{name}{err}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
            n(q.visible),
            n(q.in_flight),
            n(q.delayed),
            name = esc(&q.name),
            err = q
                .error
                .as_deref()
                .map(|e| format!(r#" <span class="error">{}</span>"#, esc(e)))
                .unwrap_or_default(),
        );
    }
    out.push_str("</tbody></table>");
    out
}

fn workflows(out: &mut String, title: &str, id: &str, list: &[WorkflowView]) {
    let _ = write!(
        out,
        r#"<h2>{title} ({n})</h2><table id="{id}"><thead><tr><th>Workflow</th><th>Type</th><th>Status</th><th>Started</th><th>Closed</th><th>Steps</th></tr></thead><tbody>"#,
        n = list.len()
    );
    if list.is_empty() {
        out.push_str(r#"<tr><td colspan="6" class="muted">none</td></tr>"#);
    }
    for w in list {
        let mut steps = String::new();
        for st in &w.steps {
            let _ = write!(
                steps,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&st.step),
                st.attempt.map(|a| a.to_string()).unwrap_or_default(),
                esc(st.start.as_deref().unwrap_or("")),
                esc(st.duration.as_deref().unwrap_or("")),
                esc(&st.outcome)
            );
        }
        let _ = write!(
            out,
            r#"<tr data-workflow="{wid}" data-status="{status}"><td>{wid}<br><span class="muted">{run}</span></td><td>{ty} v{ver}</td><td class="{status}">{status}</td><td>{started}</td><td>{closed}</td><td><details><summary>{n} step(s)</summary><table><thead><tr><th>Step</th><th>Attempt</th><th>Start</th><th>Duration</th><th>Outcome</th></tr></thead><tbody>{steps}</tbody></table></details></td></tr>"#,
            wid = esc(&w.workflow_id),
            run = esc(&w.run_id),
            ty = esc(&w.workflow),
            ver = esc(&w.version),
            status = esc(&w.status),
            started = esc(&w.started),
            closed = esc(w.closed.as_deref().unwrap_or("")),
            n = w.steps.len(),
        );
    }
    out.push_str("</tbody></table>");
}

/// Whether this dashboard consumes the event-monitor queue: a second
/// dashboard of an installation only shows, and says so.
fn consumer(out: &mut String, role: &ConsumerRole) {
    match role {
        ConsumerRole::Consuming => out.push_str(
            r#"<p class="muted" id="consumer" data-role="consuming">This dashboard consumes the event-monitor queue.</p>"#,
        ),
        ConsumerRole::Waiting { holder, until } => {
            let _ = write!(
                out,
                r#"<p class="error" id="consumer" data-role="waiting">Read-only: another dashboard ({}) consumes the event-monitor queue (its lease runs to {}); this one takes over when it stops.</p>"#,
                esc(holder),
                esc(until)
            );
        }
        ConsumerRole::Starting | ConsumerRole::Stopped => out.push_str(
            r#"<p class="muted" id="consumer" data-role="idle">This dashboard is not consuming the event-monitor queue now.</p>"#,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dashboard::state::{ArticleView, State};

    /// Everything shown comes from outside (messages, workflow ids): it is
    /// escaped, so a hostile message cannot script the operator's browser.
    #[test]
    fn what_messages_carry_is_escaped() {
        let state = State {
            generated: "now".into(),
            open: Vec::new(),
            failed: Vec::new(),
            closed: Vec::new(),
            articles: vec![ArticleView {
                id: "<script>alert(1)</script>".into(),
                version: "1\"".into(),
                publication_status: Some("published".into()),
                last_step: Some("S".into()),
                last_status: Some("end".into()),
                last_time: Some("t".into()),
                last_message: Some("m".into()),
                page: Some("http://x/\"><b>".into()),
                updated: "t".into(),
            }],
            queues: Vec::new(),
            errors: vec!["<i>".into()],
            consumer: ConsumerRole::Waiting {
                holder: "<b>host".into(),
                until: "t".into(),
            },
        };
        let html = page(&state, 2000);
        assert!(!html.contains("<script>alert"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!html.contains("\"><b>") && !html.contains("<i>") && !html.contains("<b>host"));
        assert!(html.contains(r#"data-role="waiting""#), "{html}");
        assert!(html.contains(r#"<noscript><meta http-equiv="refresh" content="2"></noscript>"#));
        assert!(html.contains(r#"data-publication="published""#));
    }
}
