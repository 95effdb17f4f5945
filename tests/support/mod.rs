//! Harness for end-to-end tests: a temporary installation (data dir,
//! workflows, settings through environment variables) and the pressbot
//! binaries started as separate OS processes on it.
#![allow(dead_code)]

pub mod up;

use pressbot_core::backend::{Backend, ExecutionFilter, ExecutionInfo};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repo root")
}

/// Path of a pressbot binary built for this test run. `pressbot` is the
/// binary of the package these tests belong to (crates/cli); the four
/// daemons are crates/daemons' binaries, which cargo puts beside it.
///
/// Cargo builds only the tested package's own binaries for its tests (a
/// workspace test run builds the daemons too). So, once per test binary,
/// the daemons are built here when one is missing, lacks fault injection
/// (tests/chaos.rs needs it), or is older than a source file or manifest
/// of the workspace: checking only that they exist ran stale daemons after
/// a change to code they share with `pressbot` (seen: a new setting that
/// the old binaries refused). Not `cargo build` every time: its feature
/// resolution differs from a workspace test run's, and would rebuild half
/// the dependencies after every such run.
pub fn bin(name: &str) -> PathBuf {
    let pressbot = PathBuf::from(env!("CARGO_BIN_EXE_pressbot"));
    match name {
        "pressbot" => pressbot,
        role if ROLES.contains(&role) => {
            let path =
                |r: &str| pressbot.with_file_name(format!("{r}{}", std::env::consts::EXE_SUFFIX));
            static BUILT: std::sync::OnceLock<()> = std::sync::OnceLock::new();
            let ready = |r: &str| {
                Command::new(path(r))
                    .arg("--version")
                    .output()
                    .is_ok_and(|o| {
                        String::from_utf8_lossy(&o.stdout).contains("with fault injection")
                    })
            };
            let built_at = |r: &str| std::fs::metadata(path(r)).and_then(|m| m.modified()).ok();
            BUILT.get_or_init(|| {
                let sources = newest_source();
                let fresh = |r: &str| ready(r) && built_at(r).is_some_and(|b| b >= sources);
                if !ROLES.iter().all(|r| fresh(r)) {
                    build_daemons(&pressbot);
                }
            });
            path(role)
        }
        other => panic!("no binary {other}"),
    }
}

/// When the workspace's code last changed: the newest modification time of
/// `Cargo.lock` and of any `.rs` file or `Cargo.toml` under `crates/`.
fn newest_source() -> std::time::SystemTime {
    fn walk(dir: &Path, newest: &mut std::time::SystemTime) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, newest);
            } else if p.extension().is_some_and(|x| x == "rs")
                || p.file_name().is_some_and(|n| n == "Cargo.toml")
            {
                if let Ok(t) = e.metadata().and_then(|m| m.modified()) {
                    *newest = (*newest).max(t);
                }
            }
        }
    }
    let root = repo_root();
    let mut newest = std::fs::metadata(root.join("Cargo.lock"))
        .and_then(|m| m.modified())
        .unwrap_or(std::time::UNIX_EPOCH);
    walk(&root.join("crates"), &mut newest);
    newest
}

/// `cargo build` the daemon binaries into the target directory and profile
/// `pressbot` was built in (cargo releases its lock while tests run).
fn build_daemons(pressbot: &Path) {
    let profile_dir = pressbot.parent().expect("profile directory");
    let target_dir = profile_dir.parent().expect("target directory");
    let mut cargo = Command::new(env!("CARGO"));
    cargo
        .current_dir(repo_root())
        .args(["build", "--bins", "-p", "pressbot-daemons", "--target-dir"])
        .arg(target_dir)
        .args(DAEMON_FEATURES);
    match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => {}
        Some(profile) => {
            cargo.args([
                "--profile",
                if profile == "release" {
                    "release"
                } else {
                    profile
                },
            ]);
        }
    }
    let status = cargo
        .status()
        .expect("run cargo build for the daemon binaries");
    assert!(
        status.success(),
        "building the daemon binaries failed: {status}"
    );
}

/// The features the daemon binaries need in these tests: fault injection
/// for tests/chaos.rs (the workspace test run enables it through crates/cli's
/// dev-dependency).
const DAEMON_FEATURES: [&str; 2] = ["--features", "faults"];

pub const ROLES: [&str; 4] = [
    "decider",
    "activity-worker",
    "queue-worker",
    "workflow-starter",
];

/// A temporary pressbot installation.
pub struct Harness {
    pub dir: tempfile::TempDir,
    pub env: Vec<(String, String)>,
    children: Vec<(String, Child)>,
    spawned: usize,
}

impl Harness {
    /// A fresh data dir, a copy of the repository's workflows, the
    /// repository's settings, fast long polls.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let workflows = dir.path().join("workflows");
        std::fs::create_dir_all(&workflows).expect("workflows dir");
        for e in std::fs::read_dir(repo_root().join("workflows")).expect("repo workflows") {
            let p = e.expect("entry").path();
            if p.extension().is_some_and(|x| x == "toml") {
                std::fs::copy(&p, workflows.join(p.file_name().expect("name")))
                    .expect("copy workflow");
            }
        }
        std::fs::create_dir_all(dir.path().join("logs")).expect("logs dir");
        let env = vec![
            (
                "PRESSBOT_SETTINGS_DIR".into(),
                repo_root().join("settings").display().to_string(),
            ),
            (
                "PRESSBOT__LOCAL__DATA_DIR".into(),
                dir.path().join("data").display().to_string(),
            ),
            (
                "PRESSBOT__WORKFLOWS_DIR".into(),
                workflows.display().to_string(),
            ),
            ("PRESSBOT__LOCAL__LONG_POLL".into(), "1s".into()),
            ("PRESSBOT__QUEUE_WORKER__WAIT".into(), "1s".into()),
            ("PRESSBOT__STARTER__WAIT".into(), "1s".into()),
            ("PRESSBOT__LOG__FORMAT".into(), "json".into()),
            ("RUST_LOG".into(), "info".into()),
        ];
        Harness {
            dir,
            env,
            children: Vec::new(),
            spawned: 0,
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Add or replace a workflow definition file.
    pub fn add_workflow(&self, file: &str, toml: &str) {
        std::fs::write(self.dir.path().join("workflows").join(file), toml).expect("write workflow");
    }

    /// Set a setting through the environment (`PRESSBOT__SECTION__KEY`).
    pub fn set(&mut self, key: &str, value: &str) {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_owned(), value.to_owned()));
    }

    /// Take a variable out of the processes' environment (one inherited
    /// from the test process stays: the harness never sets those).
    pub fn unset(&mut self, key: &str) {
        self.env.retain(|(k, _)| k != key);
    }

    pub fn command(&self, name: &str) -> Command {
        let mut c = Command::new(bin(name));
        c.current_dir(self.dir.path());
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    /// Run the CLI to completion.
    pub fn pressbot(&self, args: &[&str]) -> Output {
        self.command("pressbot")
            .args(args)
            .output()
            .expect("run pressbot")
    }

    /// Run the CLI and insist it succeeds; returns stdout.
    pub fn pressbot_ok(&self, args: &[&str]) -> String {
        let out = self.pressbot(args);
        assert!(
            out.status.success(),
            "pressbot {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Start a role as its own process, logging to logs/<role>-<n>.log.
    pub fn spawn(&mut self, role: &str) {
        self.spawned += 1;
        let log = self
            .dir
            .path()
            .join("logs")
            .join(format!("{role}-{}.log", self.spawned));
        let file = std::fs::File::create(&log).expect("log file");
        let child = self
            .command(role)
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("spawn role");
        self.children.push((role.to_owned(), child));
    }

    pub fn spawn_all(&mut self) {
        for r in ROLES {
            self.spawn(r);
        }
    }

    pub fn pid(&self, role: &str) -> Option<u32> {
        self.children
            .iter()
            .find(|(r, _)| r == role)
            .map(|(_, c)| c.id())
    }

    /// SIGKILL a role's processes.
    pub fn kill(&mut self, role: &str) {
        for (r, c) in self.children.iter_mut() {
            if r == role {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
        self.children.retain(|(r, _)| r != role);
    }

    /// Send SIGTERM to a role's processes and wait for them to exit.
    pub fn terminate(&mut self, role: &str, timeout: Duration) -> Vec<std::process::ExitStatus> {
        let mut statuses = Vec::new();
        for (r, c) in self.children.iter_mut() {
            if r == role {
                let _ = Command::new("kill")
                    .arg("-TERM")
                    .arg(c.id().to_string())
                    .status();
                let start = Instant::now();
                loop {
                    if let Ok(Some(s)) = c.try_wait() {
                        statuses.push(s);
                        break;
                    }
                    if start.elapsed() > timeout {
                        let _ = c.kill();
                        panic!("{role} did not stop within {timeout:?} of SIGTERM");
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        }
        self.children.retain(|(r, _)| r != role);
        statuses
    }

    /// All role logs, for failure messages.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        if let Ok(entries) = std::fs::read_dir(self.dir.path().join("logs")) {
            for e in entries.flatten() {
                out.push_str(&format!("==> {}\n", e.path().display()));
                out.push_str(&std::fs::read_to_string(e.path()).unwrap_or_default());
            }
        }
        out
    }

    /// The same data dir opened in this process, to inspect state (on the
    /// AWS backend: the same moto, domain and names as the daemons).
    pub fn backend(&self) -> Backend {
        if self.is_aws() {
            return self.aws_backend();
        }
        pressbot_local::LocalBackend::open(
            &self.data_dir(),
            pressbot_local::LocalOptions {
                domain: "pressbot-dev-publishing".into(),
                poll_interval: Duration::from_millis(100),
                long_poll: Duration::from_secs(1),
            },
        )
        .expect("open data dir")
        .backend()
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        for (_, c) in self.children.iter_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
        // A failed test's panic message names the logs directory: keep it
        // (data dir and logs) for whoever reads the failure.
        if std::thread::panicking() {
            self.dir.disable_cleanup(true);
            eprintln!("test failed: kept {}", self.dir.path().display());
        }
    }
}

/// Wait until `f` returns Some, polling every 100 ms, or panic after `timeout`.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Closed executions.
pub async fn closed(backend: &Backend) -> Vec<ExecutionInfo> {
    backend
        .workflows
        .list_executions(&ExecutionFilter {
            open: false,
            ..Default::default()
        })
        .await
        .unwrap_or_default()
}

/// Open executions.
pub async fn open(backend: &Backend) -> Vec<ExecutionInfo> {
    backend
        .workflows
        .list_executions(&ExecutionFilter {
            open: true,
            ..Default::default()
        })
        .await
        .unwrap_or_default()
}

/// Running the same installation on the AWS backend against moto_server
/// (see `tests/e2e_aws.rs`): everything a test reaches through the harness
/// (`pressbot`, the daemons, `backend()`) then talks to moto.
impl Harness {
    /// A fresh installation like [`Harness::new`], on the AWS backend at
    /// `endpoint` (moto): path-style S3, test credentials, and a prefix of
    /// its own, so tests can share one moto without seeing each other's
    /// domain, buckets or queues.
    pub fn aws(endpoint: &str) -> Self {
        let mut h = Self::new();
        let prefix = format!("e{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
        for (k, v) in pressbot_aws::testing::daemon_env(endpoint, &prefix) {
            h.set(k, &v);
        }
        h
    }

    /// Whether this installation runs on the AWS backend (moto).
    pub fn is_aws(&self) -> bool {
        self.env_value("PRESSBOT__BACKEND") == Some("aws")
    }

    fn env_value(&self, key: &str) -> Option<&str> {
        self.env
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The prefix of every bucket, queue and the SWF domain.
    pub fn prefix(&self) -> String {
        self.env_value("PRESSBOT__PREFIX")
            .unwrap_or("pressbot-dev")
            .to_owned()
    }

    /// A bucket's full name from its unprefixed name (`"expanded"`).
    pub fn bucket(&self, name: &str) -> String {
        format!("{}-{name}", self.prefix())
    }

    /// A queue's full name from its unprefixed name (`"incoming-queue"`).
    pub fn queue(&self, name: &str) -> String {
        format!("{}-{name}", self.prefix())
    }

    /// The SWF domain the daemons use (`swf.domain` of default.toml, prefixed).
    pub fn domain(&self) -> String {
        format!("{}-publishing", self.prefix())
    }

    /// A backend on the same moto and domain as the daemons. Sync like
    /// [`Harness::backend`], so it blocks in place (multi-thread runtime).
    fn aws_backend(&self) -> Backend {
        let endpoint = self
            .env_value("PRESSBOT__AWS__ENDPOINT_URL")
            .expect("an AWS harness has an endpoint");
        let mut settings = pressbot_aws::testing::test_settings(endpoint, &self.prefix());
        settings.swf.domain = "publishing".into();
        tokio::task::block_in_place(|| {
            tokio::runtime::Handle::current().block_on(async {
                pressbot_aws::AwsBackend::connect_with_credentials(
                    &settings,
                    pressbot_aws::testing::test_credentials(),
                )
                .await
                .expect("connect to moto")
                .backend()
            })
        })
    }
}
