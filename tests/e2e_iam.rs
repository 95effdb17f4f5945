//! Least privilege that runs: every role started with the keys of an IAM
//! user holding exactly its policy from `scripts/iam/` (rendered by
//! `scripts/iam/render.sh` with this test's prefix), against a moto_server
//! that enforces IAM (`INITIAL_NO_AUTH_ACTION_COUNT`), puts one package
//! through to completion; and a policy missing one action stops its daemon
//! at start-up with an error naming that action.
//!
//! What moto checks (see `pressbot_aws::testing`, "Where moto differs"):
//! signatures and actions on SWF, SQS and S3; resources on S3 and on SQS
//! calls that carry a queue URL. SWF calls, `sqs:GetQueueUrl` and
//! `sqs:CreateQueue` are checked against the resource `*`, and S3 and SQS
//! batch calls under their operation names, so [`as_moto_checks`]
//! restates each document in moto's terms: the actions are exactly the
//! shipped ones, the resource scoping of SWF, `GetQueueUrl` and
//! `CreateQueue` is not proven here.

#[allow(dead_code)]
mod e2e_cases;
mod support;

use pressbot_aws::testing::MotoServer;
use pressbot_core::backend::{Backend, CloseStatus};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::{closed, repo_root, wait_for, Harness, ROLES};

/// moto's default account: the ACCOUNT of the rendered ARNs.
const ACCOUNT: &str = "123456789012";

/// Access key and secret of one moto IAM user.
#[derive(Debug, Clone, serde::Deserialize)]
struct Keys {
    access_key_id: String,
    secret_access_key: String,
}

/// The policy documents of `scripts/iam/`, rendered for `prefix` into
/// `out`, by file stem (`pressbot-decider`...).
fn render(prefix: &str, out: &Path) -> BTreeMap<String, Value> {
    let status = Command::new("bash")
        .arg(repo_root().join("scripts/iam/render.sh"))
        .args([ACCOUNT, "us-east-1", prefix])
        .arg(out)
        .stdout(Stdio::null())
        .status()
        .expect("run render.sh");
    assert!(status.success(), "render.sh failed");
    std::fs::read_dir(out)
        .expect("rendered dir")
        .map(|e| {
            let p = e.expect("entry").path();
            let doc: Value =
                serde_json::from_str(&std::fs::read_to_string(&p).expect("read policy"))
                    .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            let stem = p.file_stem().expect("stem").to_string_lossy().into_owned();
            (stem, doc)
        })
        .collect()
}

/// The actions a document grants, in order.
fn actions(statement: &Value) -> Vec<String> {
    match &statement["Action"] {
        Value::String(a) => vec![a.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => vec![],
    }
}

/// Actions moto checks against the resource `*` whatever the call names
/// (SWF has no resource lookup; SQS finds none before the queue exists or
/// without a `QueueUrl`), which no ARN in a statement matches.
fn moto_checks_on_star(action: &str) -> bool {
    action.starts_with("swf:") || action == "sqs:GetQueueUrl" || action == "sqs:CreateQueue"
}

/// The names moto checks for an IAM action where they differ from IAM's:
/// moto checks a call under its operation name (S3 too, whatever its
/// action table says), while IAM names SQS batch calls by the single
/// call's action and S3 calls by its own actions (`HeadObject` needs
/// `s3:GetObject`, a listing or `HeadBucket` `s3:ListBucket`, a copy
/// `s3:PutObject` on the target: moto checks the copy on the target too).
fn moto_aliases(action: &str) -> &'static [&'static str] {
    match action {
        "sqs:SendMessage" => &["sqs:SendMessageBatch"],
        "sqs:DeleteMessage" => &["sqs:DeleteMessageBatch"],
        "sqs:ChangeMessageVisibility" => &["sqs:ChangeMessageVisibilityBatch"],
        "s3:GetObject" => &["s3:HeadObject"],
        "s3:PutObject" => &["s3:CopyObject"],
        "s3:ListBucket" => &["s3:HeadBucket", "s3:ListObjectsV2", "s3:ListObjects"],
        "s3:GetBucketNotification" => &["s3:GetBucketNotificationConfiguration"],
        "s3:PutBucketNotification" => &["s3:PutBucketNotificationConfiguration"],
        _ => &[],
    }
}

/// A document as moto can check it: each statement's actions plus their
/// moto names ([`moto_aliases`], same resources), and the actions moto
/// checks against `*` ([`moto_checks_on_star`]) once more on `*` (the
/// scoped statements alone would deny them on moto and allow them on AWS).
/// Nothing is granted that the document does not grant under another name.
fn as_moto_checks(doc: &Value) -> Value {
    let mut doc = doc.clone();
    let statements = doc["Statement"].as_array_mut().expect("statements");
    let mut star = Vec::new();
    for st in statements.iter_mut() {
        let mut granted = actions(st);
        star.extend(granted.iter().filter(|a| moto_checks_on_star(a)).cloned());
        let aliases: Vec<String> = granted
            .iter()
            .flat_map(|a| moto_aliases(a).iter().map(|x| x.to_string()))
            .collect();
        granted.extend(aliases);
        st["Action"] = json!(granted);
    }
    if !star.is_empty() {
        statements.push(json!({
            "Sid": "MotoChecksTheseOnStar",
            "Effect": "Allow",
            "Action": star,
            "Resource": "*",
        }));
    }
    doc
}

/// Make the IAM users (one per document, named by its key) on `moto` with
/// `scripts/moto/iam_users.py`, plus `admin`; their keys by user name.
fn make_users(
    moto: &MotoServer,
    docs: &BTreeMap<String, Value>,
    dir: &Path,
) -> BTreeMap<String, Keys> {
    let policies: BTreeMap<&String, String> =
        docs.iter().map(|(k, v)| (k, v.to_string())).collect();
    let file = dir.join("policies.json");
    std::fs::write(&file, serde_json::to_vec(&policies).expect("json")).expect("write");
    let out = Command::new(MotoServer::python())
        .arg(repo_root().join("scripts/moto/iam_users.py"))
        .arg(moto.endpoint())
        .arg(&file)
        .output()
        .expect("run iam_users.py");
    assert!(
        out.status.success(),
        "iam_users.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("keys")
}

/// Point the harness's next commands at one IAM user's keys (and no
/// session token: moto would look for an STS session).
fn use_keys(h: &mut Harness, keys: &Keys) {
    h.set("AWS_ACCESS_KEY_ID", &keys.access_key_id);
    h.set("AWS_SECRET_ACCESS_KEY", &keys.secret_access_key);
    h.unset("AWS_SESSION_TOKEN");
}

/// A backend with the admin's keys, to watch the run.
async fn admin_backend(h: &Harness, moto: &MotoServer, admin: &Keys) -> Backend {
    let mut settings = pressbot_aws::testing::test_settings(&moto.endpoint(), &h.prefix());
    settings.swf.domain = "publishing".into();
    pressbot_aws::AwsBackend::connect_with_credentials(
        &settings,
        pressbot_aws::testing::user_credentials(&admin.access_key_id, &admin.secret_access_key),
    )
    .await
    .expect("connect")
    .backend()
}

/// The shipped policies, each role its own IAM user: the operator creates
/// the resources and puts the package, the four daemons run it to a
/// completed workflow, and no daemon was ever refused a call.
#[tokio::test(flavor = "multi_thread")]
async fn every_role_runs_on_exactly_its_shipped_policy() {
    let moto = MotoServer::start_enforcing_iam(3);
    let mut h = Harness::aws(&moto.endpoint());
    let _cms = e2e_cases::serve_cms(&mut h).await.drop_guard();
    let docs = render(&h.prefix(), &h.path().join("iam"));
    let users: BTreeMap<String, Value> = ROLES
        .iter()
        .map(|r| format!("pressbot-{r}"))
        .chain(["pressbot-operator".to_owned()])
        .map(|u| {
            let doc = docs.get(&u).unwrap_or_else(|| panic!("no {u}.json"));
            (u, as_moto_checks(doc))
        })
        .collect();
    let keys = make_users(&moto, &users, h.path());

    // Unsigned or unknown keys are refused: moto really enforces.
    let refused = h.pressbot(&["create-resources"]);
    assert!(
        !refused.status.success(),
        "moto let the test's dummy keys through"
    );

    use_keys(&mut h, &keys["pressbot-operator"]);
    h.pressbot_ok(&["create-resources"]);
    for role in ROLES {
        use_keys(&mut h, &keys[&format!("pressbot-{role}")]);
        h.spawn(role);
    }
    use_keys(&mut h, &keys["pressbot-operator"]);
    let sample = repo_root().join(e2e_cases::SAMPLE);
    h.pressbot_ok(&["put", sample.to_str().expect("path")]);

    let backend = admin_backend(&h, &moto, &keys["admin"]).await;
    let done = wait_for("the workflow to close", Duration::from_secs(120), || {
        let b = backend.clone();
        async move { closed(&b).await.into_iter().next() }
    })
    .await;
    let logs = h.logs();
    assert_eq!(done.close_status, Some(CloseStatus::Completed), "{logs}");
    for refusal in ["not authorized", "access denied", "AccessDenied"] {
        assert!(
            !logs.contains(refusal),
            "a daemon was refused a call:\n{logs}"
        );
    }
}

/// One action taken out of one role's document: that daemon stops at
/// start-up, and its error names the action (moto's message on SWF, the
/// backend's own on S3, whose 403 names nothing).
#[tokio::test(flavor = "multi_thread")]
async fn a_missing_grant_stops_the_daemon_naming_the_action() {
    let moto = MotoServer::start_enforcing_iam(3);
    let mut h = Harness::aws(&moto.endpoint());
    let docs = render(&h.prefix(), &h.path().join("iam"));
    let cases = [
        ("decider", "swf:DescribeDomain"),
        ("activity-worker", "s3:ListBucket"),
    ];
    let mut users = BTreeMap::new();
    users.insert(
        "pressbot-operator".to_owned(),
        as_moto_checks(&docs["pressbot-operator"]),
    );
    for (role, action) in cases {
        let mut doc = docs[&format!("pressbot-{role}")].clone();
        let statements = doc["Statement"].as_array_mut().expect("statements");
        let before = statements.iter().flat_map(actions).count();
        for st in statements.iter_mut() {
            let kept: Vec<String> = actions(st).into_iter().filter(|a| a != action).collect();
            st["Action"] = json!(kept);
        }
        // IAM refuses a statement without actions.
        statements.retain(|st| !actions(st).is_empty());
        let after = statements.iter().flat_map(actions).count();
        assert_eq!(after + 1, before, "{role}'s policy grants {action} once");
        users.insert(format!("pressbot-{role}"), as_moto_checks(&doc));
    }
    let keys = make_users(&moto, &users, h.path());
    use_keys(&mut h, &keys["pressbot-operator"]);
    h.pressbot_ok(&["create-resources"]);

    for (role, action) in cases {
        use_keys(&mut h, &keys[&format!("pressbot-{role}")]);
        let mut child = h
            .command(role)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let start = Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait().expect("wait") {
                break s;
            }
            if start.elapsed() > Duration::from_secs(30) {
                let _ = child.kill();
                panic!("{role} kept running without {action}");
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr)
            .expect("read stderr");
        assert!(!status.success(), "{role}: {stderr}");
        assert!(stderr.contains(action), "{role} without {action}: {stderr}");
    }
}

/// The dashboard role on exactly its shipped policy: against moto enforcing
/// IAM it takes the consumer lease, consumes an event from the
/// event-monitor queue into its record, and serves its page, `/api/state`
/// (executions, histories, queue depths) and `/metrics` without a refusal.
#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_consumes_an_event_on_exactly_its_shipped_policy() {
    let moto = MotoServer::start_enforcing_iam(3);
    let mut h = Harness::aws(&moto.endpoint());
    let docs = render(&h.prefix(), &h.path().join("iam"));
    let users: BTreeMap<String, Value> = ["pressbot-dashboard", "pressbot-operator"]
        .into_iter()
        .map(|u| (u.to_owned(), as_moto_checks(&docs[u])))
        .collect();
    let keys = make_users(&moto, &users, h.path());
    use_keys(&mut h, &keys["pressbot-operator"]);
    h.pressbot_ok(&["create-resources"]);

    let backend = admin_backend(&h, &moto, &keys["admin"]).await;
    let event = json!({
        "message_type": "property",
        "item_identifier": "00353",
        "version": "1",
        "name": "publication-status",
        "value": "published",
        "property_type": "text",
        "message_id": "iam-1",
    });
    let queue = h.queue("event-monitor-queue");
    backend
        .queues
        .send(
            &queue,
            pressbot_core::backend::OutgoingMessage::new(event.to_string()),
        )
        .await
        .expect("send the event");

    use_keys(&mut h, &keys["pressbot-dashboard"]);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    h.set("PRESSBOT__DASHBOARD__LISTEN", &format!("127.0.0.1:{port}"));
    let log = std::fs::File::create(h.path().join("logs/dashboard.log")).expect("log");
    let mut child = h
        .command("pressbot")
        .arg("dashboard")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("spawn pressbot dashboard");
    let _stop = KillOnDrop(&mut child);
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let get = |path: &'static str| {
        let (client, url) = (client.clone(), format!("{base}{path}"));
        async move {
            let r = client
                .get(url)
                .timeout(Duration::from_secs(15))
                .send()
                .await
                .ok()?;
            r.status().is_success().then_some(())?;
            r.text().await.ok()
        }
    };
    let state: Value = wait_for(
        "the dashboard to show 00353 v1 published",
        Duration::from_secs(60),
        || async {
            let state: Value = serde_json::from_str(&get("/api/state").await?).ok()?;
            let published = state["articles"].as_array()?.iter().any(|a| {
                a["id"] == "00353" && a["version"] == "1" && a["publication_status"] == "published"
            });
            published.then_some(state)
        },
    )
    .await;
    let logs = h.logs();
    assert_eq!(state["consumer"]["role"], "consuming", "{state}\n{logs}");
    assert_eq!(state["errors"], json!([]), "{state}\n{logs}");
    let metrics = wait_for("the dashboard's /metrics", Duration::from_secs(10), || {
        get("/metrics")
    })
    .await;
    for line in [
        "pressbot_dashboard_lease_held 1",
        "pressbot_dashboard_messages_total{outcome=\"consumed\"} 1",
        "pressbot_build_info{",
        "process_resident_memory_bytes",
    ] {
        assert!(metrics.contains(line), "no {line} in:\n{metrics}");
    }
    let depth = backend.queues.depth(&queue).await.expect("depth");
    assert_eq!(
        depth.visible + depth.in_flight + depth.delayed,
        0,
        "{depth:?}"
    );
    let logs = h.logs();
    for refusal in ["not authorized", "access denied", "AccessDenied"] {
        assert!(
            !logs.contains(refusal),
            "the dashboard was refused a call:\n{logs}"
        );
    }
}

/// Kills a spawned child when the test ends, however it ends.
struct KillOnDrop<'a>(&'a mut std::process::Child);

impl Drop for KillOnDrop<'_> {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
