//! Operations end to end: the operations endpoints over real HTTP, systemd
//! notifications over a real notify socket, the units through
//! `systemd-analyze verify`, `pressbot cron` / `status` / `retry` /
//! `redrive` / `feed` against a real (embedded) backend, and graceful stops
//! of an activity-worker mid-activity. Every daemon runs as its own OS
//! process, as under systemd.

mod support;

use pressbot_core::backend::{CloseStatus, ExecutionFilter, OutgoingMessage};
use pressbot_core::history::EventKind;
use pressbot_core::ids::WorkflowId;
use std::time::{Duration, Instant};
use support::{bin, closed, open, repo_root, wait_for, Harness};

/// A port nobody listens on right now (bound, then released).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

async fn get(url: &str) -> Option<(u16, String)> {
    let r = reqwest::Client::new()
        .get(url)
        .timeout(Duration::from_secs(15))
        .send()
        .await
        .ok()?;
    let code = r.status().as_u16();
    Some((code, r.text().await.unwrap_or_default()))
}

/// Wait until a daemon's endpoint answers.
async fn wait_http(url: &str) -> (u16, String) {
    let u = url.to_owned();
    wait_for(
        &format!("{url} to answer"),
        Duration::from_secs(30),
        move || {
            let u = u.clone();
            async move { get(&u).await }
        },
    )
    .await
}

async fn wait_closed(h: &Harness, id: &str) -> pressbot_core::backend::ExecutionInfo {
    let backend = h.backend();
    let id = id.to_owned();
    wait_for(&format!("{id} to close"), Duration::from_secs(90), || {
        let b = backend.clone();
        let id = id.clone();
        async move {
            closed(&b)
                .await
                .into_iter()
                .find(|e| e.execution.workflow_id.0 == id)
        }
    })
    .await
}

async fn wait_activity_started(h: &Harness, id: &str) {
    let backend = h.backend();
    let id = id.to_owned();
    wait_for("the activity to start", Duration::from_secs(30), || {
        let b = backend.clone();
        let id = id.clone();
        async move {
            let e = open(&b)
                .await
                .into_iter()
                .find(|e| e.execution.workflow_id.0 == id)?;
            let events = b.workflows.history(&e.execution).await.ok()?;
            events
                .iter()
                .any(|e| matches!(e.kind, EventKind::ActivityTaskStarted { .. }))
                .then_some(())
        }
    })
    .await
}

// ---------------------------------------------------------------------------
// systemd units and IAM documents

#[test]
fn systemd_units_verify() {
    let script = repo_root().join("scripts/systemd/verify.sh");
    let bin_dir = bin("pressbot").parent().expect("bin dir").to_path_buf();
    let found = std::process::Command::new("sh")
        .args(["-c", "command -v systemd-analyze"])
        .output()
        .expect("sh");
    assert!(
        found.status.success(),
        "systemd-analyze is missing: install systemd (apt-get install systemd)"
    );
    let out = std::process::Command::new("bash")
        .arg(&script)
        .arg(&bin_dir)
        .output()
        .expect("run verify.sh");
    assert!(
        out.status.success(),
        "systemd-analyze verify failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The properties the operations guide promises.
    for role in [
        "decider",
        "activity-worker",
        "queue-worker",
        "workflow-starter",
    ] {
        let unit = std::fs::read_to_string(
            repo_root().join(format!("scripts/systemd/pressbot-{role}.service")),
        )
        .expect("unit");
        for want in [
            "Type=notify",
            "WatchdogSec=",
            "Restart=always",
            "EnvironmentFile=-/etc/pressbot/env",
            "ExecStartPre=/usr/local/bin/pressbot check-config",
            "NoNewPrivileges=yes",
            "ProtectSystem=strict",
            "ProtectHome=yes",
            "PrivateTmp=yes",
            "StateDirectory=pressbot",
            "User=pressbot",
            "PartOf=pressbot.target",
        ] {
            assert!(unit.contains(want), "pressbot-{role}.service lacks {want}");
        }
    }
    // The worker's stop timeout outlasts its drain (60 s by default) and a long poll (70 s).
    let worker = std::fs::read_to_string(
        repo_root().join("scripts/systemd/pressbot-activity-worker.service"),
    )
    .expect("unit");
    let stop: u64 = worker
        .lines()
        .find_map(|l| l.strip_prefix("TimeoutStopSec="))
        .and_then(|v| v.trim_end_matches('s').parse().ok())
        .expect("TimeoutStopSec in seconds");
    let (drain, read_timeout) = (60, 70);
    assert!(
        stop > (drain + 10).max(read_timeout),
        "TimeoutStopSec={stop}"
    );
}

#[test]
fn iam_policies_are_least_privilege() {
    let read = |role: &str| -> Vec<String> {
        let text =
            std::fs::read_to_string(repo_root().join(format!("scripts/iam/pressbot-{role}.json")))
                .expect("policy");
        let v: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{role}: {e}"));
        assert_eq!(v["Version"], "2012-10-17");
        v["Statement"]
            .as_array()
            .expect("statements")
            .iter()
            .flat_map(|s| {
                assert_eq!(s["Effect"], "Allow");
                s["Action"]
                    .as_array()
                    .expect("actions")
                    .iter()
                    .map(|a| a.as_str().expect("action").to_owned())
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let decider = read("decider");
    assert!(decider.iter().all(|a| a.starts_with("swf:")), "{decider:?}");
    assert!(!decider
        .iter()
        .any(|a| a.contains("StartWorkflow") || a.contains("ActivityTask\"")));
    let qw = read("queue-worker");
    assert!(qw.iter().all(|a| a.starts_with("sqs:")), "{qw:?}");
    let starter = read("workflow-starter");
    assert!(
        starter
            .iter()
            .all(|a| a.starts_with("swf:") || a.starts_with("sqs:")),
        "{starter:?}"
    );
    assert!(starter.contains(&"swf:StartWorkflowExecution".to_owned()));
    let worker = read("activity-worker");
    assert!(worker.contains(&"s3:PutObject".to_owned()));
    for role in ["decider", "queue-worker", "workflow-starter", "cron"] {
        assert!(
            !read(role).iter().any(|a| a.starts_with("s3:")),
            "{role} must not touch buckets"
        );
    }
}

// ---------------------------------------------------------------------------
// HTTP endpoints and metrics

#[tokio::test(flavor = "multi_thread")]
async fn endpoints_and_metrics_over_http() {
    let mut h = Harness::new();
    h.pressbot_ok(&["create-resources"]);
    let decider_port = free_port();
    h.set(
        "PRESSBOT__HTTP__LISTEN",
        &format!("127.0.0.1:{decider_port}"),
    );
    h.spawn("decider");
    let worker_port = free_port();
    h.set(
        "PRESSBOT__HTTP__LISTEN",
        &format!("127.0.0.1:{worker_port}"),
    );
    h.spawn("activity-worker");
    let starter_port = free_port();
    h.set(
        "PRESSBOT__HTTP__LISTEN",
        &format!("127.0.0.1:{starter_port}"),
    );
    h.spawn("workflow-starter");
    let base = |p: u16| format!("http://127.0.0.1:{p}");

    let (code, _) = wait_http(&format!("{}/__lbheartbeat__", base(decider_port))).await;
    assert_eq!(code, 200);
    for p in [decider_port, worker_port, starter_port] {
        let (code, body) = wait_http(&format!("{}/__heartbeat__", base(p))).await;
        assert_eq!(code, 200, "{body}\n{}", h.logs());
        let v: serde_json::Value = serde_json::from_str(&body).expect("json");
        assert_eq!(v["status"], "ok", "{body}");
    }
    let (_, body) = wait_http(&format!("{}/__heartbeat__", base(worker_port))).await;
    assert!(
        body.contains("bucket:pressbot-dev-incoming")
            && body.contains("queue:pressbot-dev-event-monitor-queue"),
        "{body}"
    );
    let (code, body) = wait_http(&format!("{}/__version__", base(decider_port))).await;
    assert_eq!(code, 200);
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    assert!(
        v["commit"].as_str().is_some_and(|c| !c.is_empty()),
        "{body}"
    );
    assert!(
        v["build_time"].as_str().is_some_and(|t| t.ends_with('Z')),
        "{body}"
    );

    // A workflow through the starter queue, then its traces in /metrics.
    let backend = h.backend();
    backend
        .queues
        .send(
            "pressbot-dev-workflow-starter-queue",
            OutgoingMessage::new(
                r#"{"workflow_name":"Ping","workflow_data":{"workflow_id":"metrics-1"}}"#,
            ),
        )
        .await
        .expect("send");
    backend
        .queues
        .send(
            "pressbot-dev-workflow-starter-queue",
            OutgoingMessage::new("not json"),
        )
        .await
        .expect("send");
    let done = wait_closed(&h, "metrics-1").await;
    assert_eq!(
        done.close_status,
        Some(CloseStatus::Completed),
        "{}",
        h.logs()
    );

    let (code, worker_metrics) = wait_http(&format!("{}/metrics", base(worker_port))).await;
    assert_eq!(code, 200);
    for want in [
        r#"pressbot_activity_tasks_polled_total{activity="PingWorker"} 1"#,
        r#"pressbot_activity_tasks_completed_total{activity="PingWorker"} 1"#,
        r#"pressbot_activity_duration_seconds_bucket{activity="PingWorker",outcome="completed""#,
        r#"pressbot_poll_loops_alive{role="activity-worker"} 2"#,
        // The build and the process itself, read from /proc at scrape time.
        r#"pressbot_build_info{version=""#,
        "\nprocess_resident_memory_bytes ",
        "\nprocess_cpu_seconds_total ",
        "\nprocess_open_fds ",
    ] {
        assert!(
            worker_metrics.contains(want),
            "missing {want} in\n{worker_metrics}"
        );
    }
    let (_, decider_metrics) = wait_http(&format!("{}/metrics", base(decider_port))).await;
    for want in [
        r#"pressbot_decisions_total{decision="ScheduleActivityTask"} 1"#,
        r#"pressbot_decisions_total{decision="CompleteWorkflowExecution"} 1"#,
    ] {
        assert!(
            decider_metrics.contains(want),
            "missing {want} in\n{decider_metrics}"
        );
    }
    let starter_metrics = wait_for("starter metrics", Duration::from_secs(20), || {
        let url = format!("{}/metrics", base(starter_port));
        async move {
            let (_, m) = get(&url).await?;
            m.contains("pressbot_queue_messages_dead_lettered_total")
                .then_some(m)
        }
    })
    .await;
    assert!(
        starter_metrics.contains(r#"pressbot_queue_messages_received_total{queue="pressbot-dev-workflow-starter-queue"} 2"#),
        "{starter_metrics}"
    );
    assert!(starter_metrics.contains(
        r#"pressbot_queue_messages_deleted_total{queue="pressbot-dev-workflow-starter-queue"} 2"#
    ));
    assert!(starter_metrics
        .contains(r#"pressbot_workflows_started_total{workflow="Ping",outcome="started"} 1"#));

    // `pressbot status` reads the endpoints, the queues (a dead letter now) and the executions.
    let out = h.pressbot(&[
        "status",
        "--check",
        "--endpoint",
        &format!("decider={}", base(decider_port)),
        "--endpoint",
        &format!("activity-worker={}", base(worker_port)),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !out.status.success(),
        "a dead letter makes --check fail: {stdout}"
    );
    assert!(
        stdout.contains("decider") && stdout.contains("ok"),
        "{stdout}"
    );
    assert!(
        stdout.contains("pressbot-dev-workflow-starter-queue-dlq"),
        "{stdout}"
    );
    assert!(stdout.contains("in dead-letter queues"), "{stdout}");

    // `pressbot redrive` puts it back (without the dead-letter reason); the starter dead-letters it again.
    let out = h.pressbot_ok(&["redrive", "workflow_starter"]);
    assert!(out.contains("1 message(s) redriven"), "{out}");
    wait_for("the redriven message to be dead-lettered again", Duration::from_secs(20), || {
        let url = format!("{}/metrics", base(starter_port));
        async move {
            let (_, m) = get(&url).await?;
            m.contains(r#"pressbot_queue_messages_dead_lettered_total{queue="pressbot-dev-workflow-starter-queue"} 2"#)
                .then_some(())
        }
    })
    .await;
}

/// On the AWS backend (moto): healthy while moto answers, 503 naming the
/// workflow service and the queue once it is gone, while the process (and
/// `/__lbheartbeat__`) stays up and counts its failed polls.
#[tokio::test(flavor = "multi_thread")]
async fn heartbeat_is_503_naming_the_unreachable_service() {
    let moto = pressbot_aws::testing::MotoServer::start();
    let mut h = Harness::aws(&moto.endpoint());
    h.pressbot_ok(&["create-resources"]);
    let port = free_port();
    h.set("PRESSBOT__HTTP__LISTEN", &format!("127.0.0.1:{port}"));
    h.spawn("workflow-starter");
    let heartbeat = format!("http://127.0.0.1:{port}/__heartbeat__");
    let (code, body) = wait_http(&heartbeat).await;
    assert_eq!(code, 200, "{body}\n{}", h.logs());
    let queue = h.queue("workflow-starter-queue");

    drop(moto);
    let body = wait_for(
        "/__heartbeat__ to turn 503",
        Duration::from_secs(60),
        || {
            let url = heartbeat.clone();
            async move {
                let (code, body) = get(&url).await?;
                (code == 503).then_some(body)
            }
        },
    )
    .await;
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    let failing: Vec<&str> = v["failing"]
        .as_array()
        .expect("failing")
        .iter()
        .filter_map(|f| f.as_str())
        .collect();
    assert!(failing.contains(&"workflows"), "{body}");
    assert!(
        failing.contains(&format!("queue:{queue}").as_str()),
        "{body}"
    );
    let (code, _) = wait_http(&format!("http://127.0.0.1:{port}/__lbheartbeat__")).await;
    assert_eq!(code, 200, "the process answers even with its services down");
    let url = format!("http://127.0.0.1:{port}/metrics");
    wait_for("a poll error in /metrics", Duration::from_secs(90), || {
        let url = url.clone();
        async move {
            let (_, m) = get(&url).await?;
            m.contains("pressbot_poll_errors_total{role=\"workflow-starter\"}")
                .then_some(())
        }
    })
    .await;
}

// ---------------------------------------------------------------------------
// systemd notify protocol

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn notifies_ready_watchdog_and_stopping() {
    let mut h = Harness::new();
    h.pressbot_ok(&["create-resources"]);
    let socket_path = h.path().join("notify.sock");
    let socket = std::os::unix::net::UnixDatagram::bind(&socket_path).expect("bind notify socket");
    socket
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    h.set("NOTIFY_SOCKET", socket_path.to_str().expect("path"));
    h.set("WATCHDOG_USEC", "400000");
    // systemd names the main process in WATCHDOG_PID; a shell that execs
    // the daemon knows its pid in advance.
    let mut command = std::process::Command::new("sh");
    command
        .args([
            "-c",
            "WATCHDOG_PID=$$ exec \"$0\"",
            bin("decider").to_str().expect("path"),
        ])
        .current_dir(h.path())
        .stderr(std::fs::File::create(h.path().join("logs/decider-notify.log")).expect("log"));
    for (k, v) in &h.env {
        command.env(k, v);
    }
    let mut daemon = command.spawn().expect("spawn decider");
    let mut seen = Vec::new();
    let mut buf = [0u8; 512];
    let start = Instant::now();
    while seen
        .iter()
        .filter(|m: &&String| m.contains("WATCHDOG=1"))
        .count()
        < 3
    {
        let n = socket
            .recv(&mut buf)
            .unwrap_or_else(|e| panic!("no notification ({e}); got {seen:?}\n{}", h.logs()));
        seen.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        assert!(start.elapsed() < Duration::from_secs(20), "{seen:?}");
    }
    assert_eq!(seen[0].trim(), "READY=1", "{seen:?}");
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &daemon.id().to_string()])
        .status();
    let status = daemon.wait().expect("decider exits");
    assert!(status.success(), "{status:?}\n{}", h.logs());
    let mut stopping = false;
    socket
        .set_read_timeout(Some(Duration::from_millis(500)))
        .expect("timeout");
    while let Ok(n) = socket.recv(&mut buf) {
        if String::from_utf8_lossy(&buf[..n]).contains("STOPPING=1") {
            stopping = true;
        }
    }
    assert!(stopping, "no STOPPING=1 after SIGTERM");
}

// ---------------------------------------------------------------------------
// pressbot cron

const CRON_PING: &str = r#"
catch_up = "10m"

[[schedule]]
name = "ping"
cron = "*/5 * * * *"
timezone = "UTC"
workflow = "Ping"
input = { from = "cron" }
"#;

#[tokio::test(flavor = "multi_thread")]
async fn cron_starts_a_workflow_once_per_slot() {
    let mut h = Harness::new();
    h.add_workflow("cron.toml", CRON_PING);
    h.pressbot_ok(&["create-resources"]);
    let state = h.path().join("cron-state.json");
    let state = state.to_str().expect("path");
    let now = "2026-03-01T10:07:30Z";
    let first = h.pressbot_ok(&["cron", "--now", now, "--state", state]);
    assert!(
        first.contains("ping: started cron-ping-20260301T1005Z"),
        "{first}"
    );
    let second = h.pressbot_ok(&["cron", "--now", "2026-03-01T10:09:59Z", "--state", state]);
    assert!(second.contains("already started"), "{second}");
    // Run it to completion: a closed execution of the slot also counts.
    h.spawn("decider");
    h.spawn("activity-worker");
    let done = wait_closed(&h, "cron-ping-20260301T1005Z").await;
    assert_eq!(
        done.close_status,
        Some(CloseStatus::Completed),
        "{}",
        h.logs()
    );
    let third = h.pressbot_ok(&["cron", "--now", now, "--state", state]);
    assert!(third.contains("already started"), "{third}");
    // Past the catch-up window nothing is due; the next slot starts anew.
    let late = h.pressbot_ok(&[
        "cron",
        "--now",
        "2026-03-01T10:19:00Z",
        "--state",
        state,
        "--dry-run",
    ]);
    assert!(
        late.contains("would start cron-ping-20260301T1015Z"),
        "{late}"
    );
    let stale = h.pressbot_ok(&["cron", "--now", "2026-03-01T10:04:59Z", "--state", state]);
    assert!(
        stale.contains("already started") || stale.contains("started cron-ping-20260301T1000Z"),
        "{stale}"
    );
    let backend = h.backend();
    let runs = backend
        .workflows
        .list_executions(&ExecutionFilter {
            open: false,
            workflow_id: Some(WorkflowId("cron-ping-20260301T1005Z".into())),
            ..Default::default()
        })
        .await
        .expect("list");
    assert_eq!(runs.len(), 1, "{runs:?}");
    let input = h.pressbot_ok(&["history", "cron-ping-20260301T1005Z", "--raw"]);
    assert!(
        input.contains(r#"\"from\":\"cron\""#) && input.contains("cron_slot"),
        "{input}"
    );
    // A bad schedule file is refused with the schedule and field named.
    h.add_workflow(
        "cron.toml",
        "[[schedule]]\nname = \"x\"\ncron = \"61 * * * *\"\nworkflow = \"Ping\"\n",
    );
    let out = h.pressbot(&["cron"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cron.toml") && err.contains("\"x\"") && err.contains("cron"),
        "{err}"
    );
}

const CRON_STUCK: &str = r#"
[[schedule]]
name = "stuck-report"
cron = "* * * * *"
check = "stuck-workflows"
open_longer_than = "2h"
"#;

#[tokio::test(flavor = "multi_thread")]
async fn stuck_workflow_report_lists_a_failed_workflow_and_retry_reruns_it() {
    let mut h = Harness::new();
    h.add_workflow("cron.toml", CRON_STUCK);
    h.pressbot_ok(&["create-resources"]);
    h.spawn("decider");
    h.spawn("activity-worker");
    h.pressbot_ok(&[
        "start",
        "Ping",
        "--id",
        "doomed-1",
        "--input",
        r#"{"ping_fail":"permanent"}"#,
    ]);
    let done = wait_closed(&h, "doomed-1").await;
    assert_eq!(done.close_status, Some(CloseStatus::Failed), "{}", h.logs());

    let state = h.path().join("cron-state.json");
    let out = h.pressbot_ok(&["cron", "--state", state.to_str().expect("path")]);
    assert!(out.contains("1 failed since"), "{out}");
    // The report went to the event-monitor queue as a dashboard message.
    let backend = h.backend();
    let report = wait_for(
        "the report on the event-monitor queue",
        Duration::from_secs(10),
        || {
            let b = backend.clone();
            async move {
                let batch = b
                    .queues
                    .receive(
                        "pressbot-dev-event-monitor-queue",
                        10,
                        Duration::from_millis(200),
                        Duration::from_secs(60),
                    )
                    .await
                    .ok()?;
                batch
                    .into_iter()
                    .find(|m| m.body.contains("StuckWorkflowReport"))
            }
        },
    )
    .await;
    let v: serde_json::Value = serde_json::from_str(&report.body).expect("json");
    assert_eq!(v["message_type"], "event");
    assert_eq!(v["status"], "error");
    let text = v["message"].as_str().expect("message");
    assert!(
        text.contains("doomed-1")
            && text.contains("PingWorker")
            && text.contains("asked to fail permanently"),
        "{text}"
    );

    // `status` lists it with its failing step.
    let status = h.pressbot_ok(&["status"]);
    assert!(
        status.contains("doomed-1") && status.contains("PingWorker"),
        "{status}"
    );

    // `retry` re-runs it with the same input, under the same id. No worker
    // runs meanwhile, so the re-run is certainly still open when a second
    // `retry` is refused (with one, it fails again within milliseconds).
    h.kill("activity-worker");
    let out = h.pressbot_ok(&["retry", "doomed-1"]);
    assert!(out.contains("restarted doomed-1"), "{out}");
    let refused = h.pressbot(&["retry", "doomed-1"]);
    assert!(
        !refused.status.success(),
        "an open execution is not retried"
    );
    h.spawn("activity-worker");
    wait_for(
        "the retry to fail the same way",
        Duration::from_secs(60),
        || {
            let b = backend.clone();
            async move {
                (closed(&b)
                    .await
                    .iter()
                    .filter(|e| e.execution.workflow_id.0 == "doomed-1")
                    .count()
                    == 2)
                    .then_some(())
            }
        },
    )
    .await;
}

// ---------------------------------------------------------------------------
// Graceful stop of an activity-worker

fn slow_ping(name: &str, sleep_ms: u64, start_to_close: &str) -> String {
    format!(
        r#"
name = "{name}"
version = "1"
task_list = "default"
execution_start_to_close = "5m"

[[step]]
activity = "PingWorker"
start_to_close = "{start_to_close}"
heartbeat = "1m"
retry = {{ max_attempts = 3, initial = "1s", backoff = 2.0, max = "5s", jitter = 0.0 }}
params = {{ sleep_ms = {sleep_ms} }}
"#
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_mid_activity_lets_it_finish() {
    let mut h = Harness::new();
    h.add_workflow("SlowPing.toml", &slow_ping("SlowPing", 3000, "1m"));
    h.pressbot_ok(&["create-resources"]);
    h.spawn("decider");
    let port = free_port();
    h.set("PRESSBOT__HTTP__LISTEN", &format!("127.0.0.1:{port}"));
    h.spawn("activity-worker");
    h.pressbot_ok(&["start", "SlowPing", "--id", "drain-1"]);
    wait_activity_started(&h, "drain-1").await;
    let start = Instant::now();
    let pid = h.pid("activity-worker").expect("worker pid");
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    // While it drains, the endpoint still answers and says the loops stopped.
    let body = wait_for("a draining /__heartbeat__", Duration::from_secs(3), || {
        let url = format!("http://127.0.0.1:{port}/__heartbeat__");
        async move {
            let (code, body) = get(&url).await?;
            (code == 503).then_some(body)
        }
    })
    .await;
    assert!(body.contains("poll_loops"), "{body}");
    // Wait for the process to exit on its own (a zombie until reaped), so
    // that `terminate` below reaps it instead of sending a second SIGTERM.
    wait_for(
        "the worker to exit",
        Duration::from_secs(30),
        || async move {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let state = stat.rsplit(')').next()?.split_whitespace().next()?;
            (state == "Z").then_some(())
        },
    )
    .await;
    let statuses = h.terminate("activity-worker", Duration::from_secs(30));
    assert!(
        statuses.iter().all(|s| s.success()),
        "{statuses:?}\n{}",
        h.logs()
    );
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "stop took {:?}",
        start.elapsed()
    );
    // Completed by the stopping worker: no second attempt needed, no worker running now.
    let done = wait_closed(&h, "drain-1").await;
    assert_eq!(
        done.close_status,
        Some(CloseStatus::Completed),
        "{}",
        h.logs()
    );
    let events = h
        .backend()
        .workflows
        .history(&done.execution)
        .await
        .expect("history");
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::ActivityTaskStarted { .. }))
            .count(),
        1
    );
    assert!(!events.iter().any(|e| matches!(
        e.kind,
        EventKind::ActivityTaskFailed { .. } | EventKind::ActivityTaskTimedOut { .. }
    )));
    check_task_log_fields(&h);
}

#[tokio::test(flavor = "multi_thread")]
async fn short_drain_hands_the_activity_back_and_a_new_worker_completes_it() {
    let mut h = Harness::new();
    h.add_workflow("LongPing.toml", &slow_ping("LongPing", 15000, "1m"));
    h.pressbot_ok(&["create-resources"]);
    h.spawn("decider");
    h.set("PRESSBOT__WORKER__DRAIN", "1s");
    h.spawn("activity-worker");
    h.pressbot_ok(&["start", "LongPing", "--id", "handback-1"]);
    wait_activity_started(&h, "handback-1").await;
    let start = Instant::now();
    h.terminate("activity-worker", Duration::from_secs(30));
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "stop took {:?}\n{}",
        start.elapsed(),
        h.logs()
    );
    // Handed back at once as a retryable failure, not left to time out.
    let backend = h.backend();
    let failed = wait_for(
        "the hand-back in the history",
        Duration::from_secs(10),
        || {
            let b = backend.clone();
            async move {
                let e = open(&b)
                    .await
                    .into_iter()
                    .find(|e| e.execution.workflow_id.0 == "handback-1")?;
                let events = b.workflows.history(&e.execution).await.ok()?;
                events.into_iter().find_map(|e| match e.kind {
                    EventKind::ActivityTaskFailed {
                        reason, details, ..
                    } => Some(format!("{reason:?} {details:?}")),
                    _ => None,
                })
            }
        },
    )
    .await;
    assert!(
        failed.contains("retryable") && failed.contains("worker stopping"),
        "{failed}"
    );
    h.spawn("activity-worker");
    let done = wait_closed(&h, "handback-1").await;
    assert_eq!(
        done.close_status,
        Some(CloseStatus::Completed),
        "{}",
        h.logs()
    );
    let events = backend
        .workflows
        .history(&done.execution)
        .await
        .expect("history");
    assert!(!events
        .iter()
        .any(|e| matches!(e.kind, EventKind::ActivityTaskTimedOut { .. })));
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::ActivityTaskCompleted { .. }))
            .count(),
        1
    );
}

/// Every log line emitted inside a task names its workflow, run, activity and attempt.
fn check_task_log_fields(h: &Harness) {
    let logs_dir = h.path().join("logs");
    let mut checked = 0;
    for e in std::fs::read_dir(&logs_dir).expect("logs").flatten() {
        if !e
            .file_name()
            .to_string_lossy()
            .starts_with("activity-worker")
        {
            continue;
        }
        for line in std::fs::read_to_string(e.path())
            .unwrap_or_default()
            .lines()
        {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
                continue;
            };
            if v["span"]["name"] != "activity" {
                continue;
            }
            for field in ["workflow_id", "run_id", "activity", "attempt"] {
                assert!(
                    !v["span"][field].is_null(),
                    "log line without {field}: {line}"
                );
            }
            checked += 1;
        }
    }
    assert!(
        checked >= 1,
        "no task log lines found in {}:\n{}",
        logs_dir.display(),
        h.logs()
    );
}

// ---------------------------------------------------------------------------
// Secrets never reach the logs

#[tokio::test(flavor = "multi_thread")]
async fn cms_secret_never_appears_in_logs() {
    const SECRET: &str = "s3cr3t-TOKEN-do-not-log-7f3a9c";
    let mut h = Harness::new();
    h.set("PRESSBOT_TEST_CMS_SECRET", SECRET);
    h.set("PRESSBOT__CMS__AUTH", "bearer");
    h.set("PRESSBOT__CMS__SECRET_ENV", "PRESSBOT_TEST_CMS_SECRET");
    h.set(
        "PRESSBOT__CMS__EMBEDDED_LISTEN",
        &format!("127.0.0.1:{}", free_port()),
    );
    h.set("RUST_LOG", "debug");
    h.pressbot_ok(&["create-resources"]);
    let sample = repo_root().join("tests/fixtures/articles/elife-00353-vor-v1-20121213000000.zip");
    let out = h.pressbot(&[
        "up",
        "--ingest",
        sample.to_str().expect("path"),
        "--until-idle",
        "--timeout",
        "3m",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.lines().count() > 10,
        "expected a debug log of the run:\n{stderr}"
    );
    assert!(
        stderr.contains("PostToCms") || stdout.contains("00353"),
        "the run reached the CMS steps:\n{stdout}\n{stderr}"
    );
    assert!(
        !stdout.contains(SECRET) && !stderr.contains(SECRET),
        "the CMS secret leaked into the output"
    );
    // Nor into anything the run wrote under the data dir's logs or the dashboard queue.
    let backend = h.backend();
    let events = backend
        .queues
        .receive(
            "pressbot-dev-event-monitor-queue",
            10,
            Duration::from_millis(200),
            Duration::from_secs(60),
        )
        .await
        .unwrap_or_default();
    assert!(events.iter().all(|m| !m.body.contains(SECRET)));
}

// ---------------------------------------------------------------------------
// pressbot feed

#[tokio::test(flavor = "multi_thread")]
async fn feed_sends_the_same_starter_message_as_an_upload() {
    use pressbot_core::messages::{parse_s3_notification, S3Notification, StarterMessage};
    use pressbot_daemons::starter::workflow_id_for;
    let h = Harness::new();
    h.pressbot_ok(&["create-resources"]);
    let sample = repo_root().join("tests/fixtures/articles/elife-00353-vor-v1-20121213000000.zip");
    h.pressbot_ok(&["put", sample.to_str().expect("path")]);
    let note = h.path().join("notes.txt");
    std::fs::write(&note, "not an article").expect("write");
    h.pressbot_ok(&["put", note.to_str().expect("path")]);

    let dry = h.pressbot_ok(&["feed", "incoming", "--dry-run"]);
    assert!(
        dry.contains("would feed elife-00353-vor-v1-20121213000000.zip -> IngestArticleZip"),
        "{dry}"
    );
    assert!(
        dry.contains("skipped notes.txt: no new-file rule matches"),
        "{dry}"
    );
    let filtered = h.pressbot_ok(&["feed", "incoming", "--filter", "^nothing", "--dry-run"]);
    assert!(filtered.contains("2 filtered out"), "{filtered}");
    let bad = h.pressbot(&["feed", "incoming", "--filter", "("]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--filter"));

    let fed = h.pressbot_ok(&["feed", "incoming", "--prefix", "elife-", "--rate", "0"]);
    assert!(fed.contains("1 fed"), "{fed}");
    let backend = h.backend();
    let starter = backend
        .queues
        .receive(
            "pressbot-dev-workflow-starter-queue",
            10,
            Duration::from_millis(200),
            Duration::from_secs(60),
        )
        .await
        .expect("receive");
    assert_eq!(starter.len(), 1, "{starter:?}");
    let fed_message = StarterMessage::parse(&starter[0].body).expect("starter message");
    // The upload's own S3 event, as the queue-worker would turn it into a starter message.
    let events = backend
        .queues
        .receive(
            "pressbot-dev-incoming-queue",
            10,
            Duration::from_millis(200),
            Duration::from_secs(60),
        )
        .await
        .expect("receive");
    let upload = events
        .iter()
        .find_map(|m| match parse_s3_notification(&m.body).ok()? {
            S3Notification::Records(r) => r.into_iter().find(|r| r.key.ends_with(".zip")),
            _ => None,
        })
        .expect("the upload's event");
    let uploaded = StarterMessage::for_s3_record("IngestArticleZip", &upload);
    assert_eq!(
        workflow_id_for(&fed_message),
        workflow_id_for(&uploaded),
        "a fed object gets the workflow id of its upload, so it does not run twice"
    );
}

const CRON_SCHEDULED: &str = r#"
[[schedule]]
name = "scheduled-publications"
cron = "*/5 * * * *"
check = "scheduled-publications"
"#;

/// A preview-mode IngestArticleZip with a `publish_at` is published by
/// `pressbot cron` once that time has come, exactly once however often cron
/// runs; before that time nothing is started.
#[tokio::test(flavor = "multi_thread")]
async fn cron_publishes_a_previewed_article_when_its_time_has_come() {
    let mut h = Harness::new();
    // The roles run as separate processes: serve the CMS here.
    let stop = tokio_util::sync::CancellationToken::new();
    let cms_dir = h.path().join("cms");
    let cms = pressbot_cms::embedded::EmbeddedCms::serve(
        cms_dir.clone(),
        "127.0.0.1:0".parse().expect("address"),
        stop.clone(),
    )
    .await
    .expect("embedded CMS");
    let _stop = stop.drop_guard();
    h.set("PRESSBOT__CMS__BASE_URL", &cms.base_url());
    h.set("PRESSBOT__CMS__EMBEDDED", "false");
    tokio::spawn(async move {
        let _ = cms.join().await;
    });
    h.add_workflow("cron.toml", CRON_SCHEDULED);
    h.pressbot_ok(&["create-resources"]);
    h.spawn_all();
    // Into a bucket without a new-file rule: no automatic ingest.
    let name = "elife-00353-vor-v1-20121213000000.zip";
    let sample = repo_root().join("tests/fixtures/articles").join(name);
    h.pressbot_ok(&["put", sample.to_str().expect("path"), "--bucket", "archive"]);
    let now = jiff::Timestamp::now();
    let publish_at = now + jiff::SignedDuration::from_hours(1);
    let input = serde_json::json!({
        "bucket_name": h.bucket("archive"),
        "file_name": name,
        "mode": "preview",
        "publish_at": publish_at.to_string(),
    });
    h.pressbot_ok(&[
        "start",
        "IngestArticleZip",
        "--id",
        "preview-1",
        "--input",
        &input.to_string(),
    ]);
    let done = wait_closed(&h, "preview-1").await;
    assert_eq!(
        done.close_status,
        Some(CloseStatus::Completed),
        "{}",
        h.logs()
    );
    let record = || {
        let index = pressbot_cms::embedded::load_index(&cms_dir).expect("index");
        let v1 = index.version("00353", 1).expect("v1 ingested").clone();
        (v1.status, v1.publishes)
    };
    assert_eq!(record(), ("ingested".to_owned(), 0));
    let approvals = || {
        let b = h.backend();
        async move {
            let mut all = closed(&b).await;
            all.extend(open(&b).await);
            all.retain(|e| e.workflow_type.name == "ApproveArticlePublication");
            all
        }
    };
    let state = |n: &str| h.path().join(n).display().to_string();

    // Not due yet: nothing is started.
    let early = h.pressbot_ok(&["cron", "--state", &state("s1.json")]);
    assert!(
        early.contains("started 0, 0 already started, 1 not due yet"),
        "{early}"
    );
    assert!(approvals().await.is_empty());

    // Its time has come: the approval is started and publishes it.
    let later = (now + jiff::SignedDuration::from_hours(2)).to_string();
    let due = h.pressbot_ok(&["cron", "--now", &later, "--state", &state("s2.json")]);
    let id = "ApproveArticlePublication-scheduled-00353-v1-";
    assert!(
        due.contains("started 1, 0 already started") && due.contains(id),
        "{due}"
    );
    let started = approvals().await;
    assert_eq!(started.len(), 1, "{started:?}");
    let approval_id = started[0].execution.workflow_id.0.clone();
    assert!(approval_id.starts_with(id), "{approval_id}");
    let done = wait_closed(&h, &approval_id).await;
    assert_eq!(
        done.close_status,
        Some(CloseStatus::Completed),
        "{}",
        h.logs()
    );
    assert_eq!(record(), ("published".to_owned(), 1));

    // Another cron run (another slot, another host's state) starts nothing.
    let again = (now + jiff::SignedDuration::from_hours(3)).to_string();
    let again = h.pressbot_ok(&["cron", "--now", &again, "--state", &state("s3.json")]);
    assert!(again.contains("started 0, 1 already started"), "{again}");
    assert_eq!(approvals().await.len(), 1);
    assert_eq!(record(), ("published".to_owned(), 1));
}

// ---------------------------------------------------------------------------
// The CLI contract: JSON output, exit codes, terminate / cancel, --version,
// completions and man pages.

fn stdout_json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}):\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn reporting_commands_print_the_documented_json() {
    let h = Harness::new();
    h.pressbot_ok(&["create-resources"]);

    let out = h.pressbot(&["status", "--check", "--output", "json"]);
    let v = stdout_json(&out);
    assert_eq!(out.status.code(), Some(0), "{v}");
    assert_eq!(v["verdict"], "healthy");
    assert_eq!(v["dead_letters"], 0);
    assert!(v["queues"].as_array().is_some_and(|q| !q.is_empty()), "{v}");
    assert!(v["queues"][0]["visible"].is_u64(), "{v}");

    // A dead-lettered message makes it unhealthy: exit 1.
    let backend = h.backend();
    backend
        .queues
        .send(
            "pressbot-dev-incoming-queue-dlq",
            OutgoingMessage::new("{}"),
        )
        .await
        .expect("send");
    let out = h.pressbot(&["status", "--check", "--output", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let v = stdout_json(&out);
    assert_eq!(
        (v["verdict"].as_str(), v["dead_letters"].as_u64()),
        (Some("unhealthy"), Some(1))
    );

    let v = stdout_json(&h.pressbot(&["redrive", "incoming", "--dry-run", "--output", "json"]));
    assert_eq!(v["dead_letter_queue"], "pressbot-dev-incoming-queue-dlq");
    assert_eq!(
        (v["dry_run"].as_bool(), v["count"].as_u64()),
        (Some(true), Some(1))
    );
    let v = stdout_json(&h.pressbot(&["redrive", "incoming", "--output", "json"]));
    assert_eq!(v["count"], 1, "{v}");
    assert_eq!(v["moved"][0]["queue"], "pressbot-dev-incoming-queue");

    h.pressbot_ok(&["start", "Ping", "--id", "json-1"]);
    let v = stdout_json(&h.pressbot(&["history", "json-1", "--output", "json"]));
    assert_eq!(
        (v["workflow_id"].as_str(), v["workflow"].as_str()),
        (Some("json-1"), Some("Ping"))
    );
    assert!(v["steps"].as_array().is_some_and(|s| !s.is_empty()), "{v}");

    h.add_workflow("cron.toml", CRON_STUCK);
    let v = stdout_json(&h.pressbot(&["cron", "--dry-run", "--output", "json"]));
    assert_eq!(v[0]["schedule"], "stuck-report", "{v}");
    assert!(v[0]["outcome"].is_string(), "{v}");

    let note = h.path().join("notes.txt");
    std::fs::write(&note, "not an article").expect("write");
    h.pressbot_ok(&["put", note.to_str().expect("path")]);
    let v = stdout_json(&h.pressbot(&["feed", "incoming", "--dry-run", "--output", "json"]));
    assert_eq!(v["no_rule"][0], "notes.txt", "{v}");
    assert_eq!(
        (v["dry_run"].as_bool(), v["filtered_out"].as_u64()),
        (Some(true), Some(0))
    );
}

#[test]
fn status_check_exits_2_when_the_backend_cannot_be_reached() {
    let mut h = Harness::new();
    // A data dir that cannot be created: the embedded backend does not open.
    h.set("PRESSBOT__LOCAL__DATA_DIR", "/proc/pressbot-nowhere");
    let out = h.pressbot(&["status", "--check", "--output", "json"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout_json(&out)["verdict"], "unknown");
}

#[test]
fn configuration_errors_exit_78_from_every_binary() {
    let h = Harness::new();
    for name in [
        "pressbot",
        "decider",
        "activity-worker",
        "queue-worker",
        "workflow-starter",
    ] {
        let mut c = h.command(name);
        if name == "pressbot" {
            c.arg("check-config");
        }
        let out = c.args(["--env", "no-such-env"]).output().expect("run");
        assert_eq!(
            out.status.code(),
            Some(78),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-env"));
    }
    // A broken workflow definition is a configuration error too.
    h.add_workflow("broken.toml", "this is not = = toml");
    let out = h.pressbot(&["check-config"]);
    assert_eq!(
        out.status.code(),
        Some(78),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn terminate_and_cancel_refuse_several_without_yes() {
    let h = Harness::new();
    h.pressbot_ok(&["create-resources"]);
    // No decider runs: the executions stay open until we act.
    for id in ["stop-1", "stop-2", "stop-3"] {
        h.pressbot_ok(&["start", "Ping", "--id", id]);
    }
    let refused = h.pressbot(&[
        "terminate",
        "--all-open",
        "--workflow-type",
        "Ping",
        "--reason",
        "bad batch",
    ]);
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("--yes") && err.contains("stop-2"), "{err}");
    let backend = h.backend();
    assert_eq!(open(&backend).await.len(), 3, "nothing was terminated");

    let out = h.pressbot_ok(&["cancel", "stop-3", "--reason", "superseded"]);
    assert!(out.contains("cancel requested for stop-3"), "{out}");
    let info = pressbot_cli::ops::find_execution(&backend, "stop-3")
        .await
        .expect("stop-3");
    assert!(info.cancel_requested, "{info:?}");

    let out = h.pressbot_ok(&[
        "terminate",
        "stop-1",
        "stop-2",
        "--reason",
        "bad batch",
        "--yes",
    ]);
    assert!(
        out.contains("terminated stop-1") && out.contains("terminated stop-2"),
        "{out}"
    );
    let closed_now = closed(&backend).await;
    for id in ["stop-1", "stop-2"] {
        let e = closed_now
            .iter()
            .find(|e| e.execution.workflow_id.0 == id)
            .unwrap_or_else(|| panic!("{id} closed"));
        assert_eq!(e.close_status, Some(CloseStatus::Terminated));
    }
    // One match needs no --yes; an id with no open run is an error.
    h.pressbot_ok(&["terminate", "stop-3", "--reason", "done"]);
    assert!(!h
        .pressbot(&["terminate", "stop-3", "--reason", "again"])
        .status
        .success());
}

#[test]
fn version_completions_and_man_pages() {
    let h = Harness::new();
    for name in [
        "pressbot",
        "decider",
        "activity-worker",
        "queue-worker",
        "workflow-starter",
    ] {
        let out = h.command(name).arg("--version").output().expect("run");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{name}");
        assert!(
            text.starts_with(&format!("{name} {}", env!("CARGO_PKG_VERSION")))
                && text.contains("commit ")
                && text.contains("built "),
            "{text}"
        );
    }
    for shell in ["bash", "zsh", "fish"] {
        let script = h.pressbot_ok(&["completions", shell]);
        assert!(script.contains("terminate"), "{shell}: {script}");
    }
    let man = h.path().join("man");
    h.pressbot_ok(&["man", "--dir", man.to_str().expect("path")]);
    let page = std::fs::read_to_string(man.join("pressbot.1")).expect("pressbot.1");
    assert!(page.contains(".TH") && page.contains("status"), "{page}");
    assert!(man.join("pressbot-terminate.1").is_file());
}

/// Under systemd (`JOURNAL_STREAM` naming stderr) each log line starts with
/// its syslog priority; with stderr elsewhere, nothing is prefixed.
#[test]
fn log_lines_carry_journal_priorities_when_stderr_is_the_journal() {
    use std::os::unix::fs::MetadataExt;
    let h = Harness::new();
    let log = h.path().join("journal.log");
    let file = std::fs::File::create(&log).expect("create");
    let meta = file.metadata().expect("stat");
    let out = h
        .command("pressbot")
        .args(["create-resources"])
        .env("RUST_LOG", "debug")
        .env("JOURNAL_STREAM", format!("{}:{}", meta.dev(), meta.ino()))
        .stderr(file)
        .output()
        .expect("run");
    assert!(out.status.success());
    let text = std::fs::read_to_string(&log).expect("read");
    assert!(!text.is_empty());
    for line in text.lines() {
        let (prefix, json) = line.split_at(3);
        let v: serde_json::Value = serde_json::from_str(json).expect(line);
        let want = match v["level"].as_str() {
            Some("ERROR") => "<3>",
            Some("WARN") => "<4>",
            Some("INFO") => "<6>",
            _ => "<7>",
        };
        assert_eq!(prefix, want, "{line}");
    }
    // The same variable with stderr elsewhere (a pipe here): no prefix.
    let out = h
        .command("pressbot")
        .args(["create-resources"])
        .env("RUST_LOG", "debug")
        .env("JOURNAL_STREAM", format!("{}:{}", meta.dev(), meta.ino()))
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.lines().all(|l| l.starts_with('{')), "{err}");
}

/// `check-config` reports every problem in one run, each naming its file or
/// `PRESSBOT__` variable, and reads `cron.toml` too.
#[test]
fn check_config_reports_every_problem_naming_where() {
    let mut h = Harness::new();
    h.add_workflow("broken-a.toml", "this is not = = toml");
    h.add_workflow("broken-b.toml", "name = 3");
    h.set("PRESSBOT__DECIDER__SLOTS", "0");
    let out = h.pressbot(&["check-config"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(78), "{err}");
    assert!(
        err.contains("PRESSBOT__DECIDER__SLOTS")
            && err.contains("broken-a.toml")
            && err.contains("broken-b.toml")
            && err.contains("3 problem(s)"),
        "{err}"
    );

    let h = Harness::new();
    h.add_workflow(
        "cron.toml",
        "[[schedule]]\nname = \"nightly\"\ncron = \"not a cron\"\nworkflow = \"Ping\"\n",
    );
    let out = h.pressbot(&["check-config"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(78), "{err}");
    assert!(
        err.contains("cron.toml") && err.contains("nightly"),
        "{err}"
    );

    let h = Harness::new();
    h.add_workflow("cron.toml", CRON_STUCK);
    let out = h.pressbot_ok(&["check-config"]);
    assert!(out.contains("1 cron schedules"), "{out}");
}

/// Within the settings too, `check-config` reports every problem at once:
/// unknown keys, values of the wrong type and values out of range, in an
/// environment file and in `PRESSBOT__` variables, each naming its key and
/// the file or variable it came from.
#[test]
fn check_config_reports_every_settings_problem_naming_file_and_key() {
    let mut h = Harness::new();
    let settings = h.path().join("settings");
    std::fs::create_dir_all(&settings).expect("settings dir");
    std::fs::copy(
        repo_root().join("settings/default.toml"),
        settings.join("default.toml"),
    )
    .expect("copy default.toml");
    std::fs::write(
        settings.join("staging.toml"),
        "colour = \"blue\"\n\
         [decider]\nslotz = 3\nspeed = 1\n\
         [queues]\nmax_receives = \"many\"\n\
         [activities]\njpeg_quality = 0\n",
    )
    .expect("write staging.toml");
    h.set("PRESSBOT_SETTINGS_DIR", &settings.display().to_string());
    h.set("PRESSBOT_ENV", "staging");
    h.set("PRESSBOT__DECIDER__SLOTS", "0");
    h.set("PRESSBOT__HTTP__LISTEN", "not-an-address");
    let out = h.pressbot(&["check-config"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(78), "{err}");
    let staging = settings.join("staging.toml").display().to_string();
    let line = |needle: &str| {
        err.lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no problem about {needle}:\n{err}"))
            .to_owned()
    };
    for (key, source) in [
        ("colour", staging.as_str()),
        ("decider.slotz", staging.as_str()),
        ("decider.speed", staging.as_str()),
        ("queues.max_receives", staging.as_str()),
        ("activities.jpeg_quality", staging.as_str()),
        ("decider.slots", "PRESSBOT__DECIDER__SLOTS"),
        ("http.listen", "PRESSBOT__HTTP__LISTEN"),
    ] {
        let l = line(&format!("`{key}`"));
        assert!(l.contains(source), "{key} should name {source}: {l}");
    }
    assert!(err.contains("7 problem(s)"), "{err}");

    // Fixed, it is valid: the problems were the settings', nothing else.
    h.set("PRESSBOT_ENV", "default");
    h.set("PRESSBOT__DECIDER__SLOTS", "2");
    h.unset("PRESSBOT__HTTP__LISTEN");
    h.pressbot_ok(&["check-config"]);
}

/// One dashboard consumer per installation, enforced: of two `pressbot
/// dashboard`s on one embedded backend, the first takes the consumer lease
/// and consumes the event-monitor queue; the second serves its page
/// read-only and says so (page, `/api/state`, `/metrics`) without consuming.
/// Stopped, the first releases the lease and the second takes over.
#[tokio::test(flavor = "multi_thread")]
async fn a_second_dashboard_waits_read_only_while_the_first_consumes() {
    let h = Harness::new();
    h.pressbot_ok(&["create-resources"]);
    let backend = h.backend();
    let queue = "pressbot-dev-event-monitor-queue";
    let send = |id: &str| {
        let (b, body) = (
            backend.clone(),
            serde_json::json!({
                "message_type": "property",
                "item_identifier": id,
                "version": "1",
                "name": "publication-status",
                "value": "published",
                "property_type": "text",
                "message_id": format!("m-{id}"),
            })
            .to_string(),
        );
        async move {
            b.queues
                .send(queue, OutgoingMessage::new(body))
                .await
                .expect("send");
        }
    };
    let state = |port: u16| async move {
        let (_, body) = get(&format!("http://127.0.0.1:{port}/api/state")).await?;
        serde_json::from_str::<serde_json::Value>(&body).ok()
    };
    let published = |s: &serde_json::Value, id: &str| {
        s["articles"].as_array().is_some_and(|a| {
            a.iter()
                .any(|a| a["id"] == id && a["publication_status"] == "published")
        })
    };
    let ports = [free_port(), free_port()];
    let mut dashboards = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        let log = std::fs::File::create(h.path().join(format!("logs/dashboard-{i}.log")))
            .expect("log file");
        let child = h
            .command("pressbot")
            .arg("dashboard")
            .env("PRESSBOT__DASHBOARD__LISTEN", format!("127.0.0.1:{port}"))
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn pressbot dashboard");
        dashboards.push(Dashboard(child));
        // The first holds the lease before the second asks for it.
        let role = if i == 0 { "consuming" } else { "waiting" };
        wait_for(
            &format!("dashboard {i} {role}"),
            Duration::from_secs(30),
            || async move { state(*port).await.filter(|s| s["consumer"]["role"] == role) },
        )
        .await;
    }
    let first_pid = dashboards[0].0.id();
    let waiting = state(ports[1]).await.expect("state");
    assert!(
        waiting["consumer"]["holder"]
            .as_str()
            .is_some_and(|h| h.ends_with(&format!(":{first_pid}"))),
        "{waiting}"
    );
    let (_, page) = get(&format!("http://127.0.0.1:{}/", ports[1]))
        .await
        .expect("page");
    assert!(
        page.contains(r#"data-role="waiting""#) && page.contains("Read-only"),
        "{page}"
    );

    // An event: the first consumes it, the second does not.
    send("10001").await;
    wait_for(
        "dashboard 0 to fold 10001",
        Duration::from_secs(30),
        || async { state(ports[0]).await.filter(|s| published(s, "10001")) },
    )
    .await;
    let metrics = |port: u16| async move {
        get(&format!("http://127.0.0.1:{port}/metrics"))
            .await
            .expect("metrics")
            .1
    };
    let (m0, m1) = (metrics(ports[0]).await, metrics(ports[1]).await);
    assert!(
        m0.contains("pressbot_dashboard_lease_held 1")
            && m0.contains("pressbot_dashboard_messages_total{outcome=\"consumed\"} 1"),
        "{m0}"
    );
    assert!(
        m1.contains("pressbot_dashboard_lease_held 0")
            && !m1.contains("pressbot_dashboard_messages_total"),
        "{m1}"
    );

    // The first stops (SIGTERM: it releases the lease); the second takes
    // over and consumes the next event.
    drop(dashboards.remove(0));
    wait_for(
        "dashboard 1 to take over",
        Duration::from_secs(60),
        || async {
            state(ports[1])
                .await
                .filter(|s| s["consumer"]["role"] == "consuming")
        },
    )
    .await;
    send("10002").await;
    wait_for(
        "dashboard 1 to fold 10002",
        Duration::from_secs(30),
        || async { state(ports[1]).await.filter(|s| published(s, "10002")) },
    )
    .await;
    let m1 = metrics(ports[1]).await;
    assert!(
        m1.contains("pressbot_dashboard_lease_held 1")
            && m1.contains("pressbot_dashboard_messages_total{outcome=\"consumed\"} 1"),
        "{m1}\n{}",
        h.logs()
    );
}

/// A `pressbot dashboard` process, stopped when dropped: SIGTERM (it
/// releases its lease on the way out), then SIGKILL if it lingers.
struct Dashboard(std::process::Child);

impl Drop for Dashboard {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(20) {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The AWS region comes from the standard chain (`AWS_REGION` here) unless
/// `aws.region` is set, which then wins.
#[test]
fn aws_region_from_the_standard_chain_unless_configured() {
    let moto = pressbot_aws::testing::MotoServer::start();
    let mut h = Harness::aws(&moto.endpoint());
    h.unset("PRESSBOT__AWS__REGION");
    h.set("AWS_REGION", "eu-west-2");
    let out = h.pressbot_ok(&["create-resources", "--dry-run"]);
    assert!(out.contains("region eu-west-2"), "{out}");
    h.set("PRESSBOT__AWS__REGION", "us-east-1");
    let out = h.pressbot_ok(&["create-resources", "--dry-run"]);
    assert!(out.contains("region us-east-1"), "{out}");
}

/// SIGHUP drains like SIGTERM: the daemon stops gracefully and exits 0
/// (it does not reload, and does not die mid-work as by default).
#[tokio::test(flavor = "multi_thread")]
async fn sighup_stops_a_daemon_gracefully() {
    let mut h = Harness::new();
    h.pressbot_ok(&["create-resources"]);
    let port = free_port();
    h.set("PRESSBOT__HTTP__LISTEN", &format!("127.0.0.1:{port}"));
    h.spawn("decider");
    wait_http(&format!("http://127.0.0.1:{port}/__lbheartbeat__")).await;
    let pid = h.pid("decider").expect("pid");
    let sent = std::process::Command::new("kill")
        .args(["-HUP", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(sent.success());
    // Exited (a zombie until reaped) on its own, with no second signal.
    wait_for(
        "the decider to exit",
        Duration::from_secs(30),
        || async move {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let state = stat.rsplit_once(')').map(|(_, rest)| rest.trim_start());
            (stat.is_empty() || state.is_some_and(|s| s.starts_with('Z'))).then_some(())
        },
    )
    .await;
    let statuses = h.terminate("decider", Duration::from_secs(5));
    assert!(
        statuses.iter().all(|s| s.success()),
        "{statuses:?}\n{}",
        h.logs()
    );
    assert!(h.logs().contains("stop requested"), "{}", h.logs());
}
