//! The throw-away installation a scenario runs in: a data dir, settings and
//! workflows copied from the repository, and the daemons spawned on it as OS
//! processes, so the figures are of real processes, not of functions.

use crate::counters::Counters;
use crate::numbers::round;
use crate::procfs::{cpu_ticks, rss_kb, ticks_ms};
use crate::Args;
use anyhow::{bail, Context, Result};
use pressbot_core::backend::Backend;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const BENCH_STEPS: &str = r#"
name = "BenchSteps"
version = "1"
description = "Benchmark: ten sequential PingWorker steps."
task_list = "default"
execution_start_to_close = "30m"

[defaults]
retry = { max_attempts = 3, initial = "1s", backoff = 2.0, max = "10s" }
"#;

/// A temporary pressbot installation and the daemons running on it.
pub(crate) struct Install {
    pub(crate) dir: tempfile::TempDir,
    bin_dir: PathBuf,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) procs: Vec<Proc>,
    /// On the AWS backend: moto's endpoint and this installation's prefix.
    pub(crate) aws: Option<(String, String)>,
    /// RSS of every daemon (MB, spawn order) taken while waiting for work
    /// to finish, with seconds since the first sample: creep shows here.
    pub(crate) rss_samples: Vec<(f64, Vec<f64>)>,
}

impl Install {
    pub(crate) fn new(args: &Args, slots: Option<usize>) -> Result<Install> {
        Self::with(args, slots, None)
    }

    /// An installation on the AWS backend at `endpoint` (moto), with the
    /// same environment the end-to-end tests give the daemons there.
    pub(crate) fn aws(args: &Args, endpoint: &str) -> Result<Install> {
        Self::with(args, None, Some(endpoint))
    }

    fn with(args: &Args, slots: Option<usize>, aws: Option<&str>) -> Result<Install> {
        let dir = tempfile::tempdir()?;
        let repo = args.repo.canonicalize().context("repository root")?;
        let settings = dir.path().join("settings");
        let workflows = dir.path().join("workflows");
        std::fs::create_dir_all(&settings)?;
        std::fs::create_dir_all(&workflows)?;
        std::fs::create_dir_all(dir.path().join("logs"))?;
        std::fs::copy(
            repo.join("settings/default.toml"),
            settings.join("default.toml"),
        )
        .context("copying settings/default.toml")?;
        let mut bench = String::from("env = \"bench\"\n");
        if let Some(s) = slots {
            bench.push_str(&format!(
                "[worker]\npools = [{{ task_list = \"default\", slots = {s} }}, {{ task_list = \"cms\", slots = 1 }}]\n"
            ));
        }
        std::fs::write(settings.join("bench.toml"), bench)?;
        for e in std::fs::read_dir(repo.join("workflows")).context("repository workflows/")? {
            let p = e?.path();
            if p.extension().is_some_and(|x| x == "toml") {
                std::fs::copy(&p, workflows.join(p.file_name().unwrap_or_default()))?;
            }
        }
        let mut steps = BENCH_STEPS.to_owned();
        for i in 0..10 {
            steps.push_str(&format!(
                "[[step]]\nactivity = \"PingWorker\"\nid = \"Ping{i}\"\n"
            ));
        }
        std::fs::write(workflows.join("BenchSteps.toml"), steps)?;
        // Absolute: the daemons run with the installation as their working dir.
        let bin_dir = match &args.bin_dir {
            Some(d) => d
                .canonicalize()
                .with_context(|| format!("--bin-dir {}", d.display()))?,
            None => std::env::current_exe()?
                .parent()
                .context("executable has no directory")?
                .to_path_buf(),
        };
        let mut env = vec![
            (
                "PRESSBOT_SETTINGS_DIR".into(),
                settings.display().to_string(),
            ),
            ("PRESSBOT_ENV".into(), "bench".into()),
            (
                "PRESSBOT__LOCAL__DATA_DIR".into(),
                dir.path().join("data").display().to_string(),
            ),
            (
                "PRESSBOT__WORKFLOWS_DIR".into(),
                workflows.display().to_string(),
            ),
            ("PRESSBOT__LOCAL__LONG_POLL".into(), "2s".into()),
            ("PRESSBOT__QUEUE_WORKER__WAIT".into(), "2s".into()),
            ("PRESSBOT__STARTER__WAIT".into(), "2s".into()),
            ("PRESSBOT__LOG__FORMAT".into(), "json".into()),
        ];
        if let Some(p) = &args.poll_interval {
            env.push(("PRESSBOT__LOCAL__POLL_INTERVAL".into(), p.clone()));
        }
        let prefix = format!("bench{}", std::process::id());
        if let Some(endpoint) = aws {
            for (k, v) in pressbot_aws::testing::daemon_env(endpoint, &prefix) {
                env.push((k.into(), v));
            }
        }
        let inst = Install {
            dir,
            bin_dir,
            env,
            procs: Vec::new(),
            aws: aws.map(|e| (e.to_owned(), prefix)),
            rss_samples: Vec::new(),
        };
        inst.cli(&["create-resources"])?;
        Ok(inst)
    }

    /// A pressbot binary of `--bin-dir`, which must exist.
    pub(crate) fn bin_path(&self, bin: &str) -> Result<PathBuf> {
        let path = self.bin_dir.join(bin);
        if !path.exists() {
            bail!(
                "daemon binary {} not found; build it first (cargo build [--release] -p pressbot-daemons) or pass --bin-dir",
                path.display()
            );
        }
        Ok(path)
    }

    /// `program` (a pressbot binary, or a wrapper such as GNU time) run in
    /// the installation with its environment.
    pub(crate) fn command_of(&self, program: &std::path::Path) -> Command {
        let mut c = Command::new(program);
        c.current_dir(self.dir.path());
        c.envs(self.env.iter().map(|(k, v)| (k, v)));
        c
    }

    fn command(&self, bin: &str) -> Result<Command> {
        let path = self.bin_path(bin)?;
        let mut c = Command::new(path);
        c.current_dir(self.dir.path());
        c.envs(self.env.iter().map(|(k, v)| (k, v)));
        Ok(c)
    }

    fn cli(&self, args: &[&str]) -> Result<()> {
        let out = self.command("pressbot")?.args(args).output()?;
        if !out.status.success() {
            bail!(
                "pressbot {args:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(())
    }

    pub(crate) fn spawn(&mut self, role: &'static str) -> Result<()> {
        let log = std::fs::File::create(self.dir.path().join("logs").join(format!("{role}.log")))?;
        // A port the OS just handed out and released: free unless another
        // process races for it, which a benchmark machine does not.
        let ops = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
        let child = self
            .command(role)?
            .env("PRESSBOT__HTTP__LISTEN", ops.to_string())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .with_context(|| format!("spawning {role}"))?;
        self.procs.push(Proc { role, child, ops });
        Ok(())
    }

    /// The pressbot counters of every daemon (`/metrics`), in spawn order:
    /// series name with labels → value.
    pub(crate) async fn counters(&self) -> Result<Vec<Counters>> {
        let client = reqwest::Client::new();
        let mut out = Vec::new();
        for p in &self.procs {
            let url = format!("http://{}/metrics", p.ops);
            let mut last = None;
            // The endpoint comes up with the daemon; give it a moment.
            for _ in 0..50 {
                match client.get(&url).send().await {
                    Ok(r) => {
                        let status = r.status();
                        let text = r.text().await?;
                        anyhow::ensure!(
                            status.is_success(),
                            "{}: {url} answered {status}: {}",
                            p.role,
                            &text[..text.len().min(200)]
                        );
                        last = Some(text);
                        break;
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
            let text = last.with_context(|| format!("{}: no answer from {url}", p.role))?;
            out.push(Counters::parse(&text));
        }
        Ok(out)
    }

    /// Resident memory of every daemon now, in MB, in spawn order.
    pub(crate) fn rss_now(&self) -> Vec<f64> {
        self.procs
            .iter()
            .map(|p| rss_kb(p.child.id()).map_or(0.0, |(rss, _)| round(rss as f64 / 1024.0, 1)))
            .collect()
    }

    pub(crate) async fn backend(&self) -> Result<Backend> {
        if let Some((endpoint, prefix)) = &self.aws {
            let mut settings = pressbot_aws::testing::test_settings(endpoint, prefix);
            settings.swf.domain = "publishing".into();
            return Ok(pressbot_aws::AwsBackend::connect_with_credentials(
                &settings,
                pressbot_aws::testing::test_credentials(),
            )
            .await?
            .backend());
        }
        Ok(pressbot_local::LocalBackend::open(
            &self.dir.path().join("data"),
            pressbot_local::LocalOptions {
                domain: "pressbot-dev-publishing".into(),
                poll_interval: Duration::from_millis(20),
                long_poll: Duration::from_secs(1),
            },
        )?
        .backend())
    }

    /// CPU ticks of every daemon, in spawn order.
    pub(crate) fn cpu(&self) -> Result<Vec<u64>> {
        self.procs.iter().map(|p| cpu_ticks(p.child.id())).collect()
    }

    pub(crate) fn check_alive(&mut self) -> Result<()> {
        for p in &mut self.procs {
            if let Some(status) = p.child.try_wait()? {
                let log = std::fs::read_to_string(
                    self.dir.path().join("logs").join(format!("{}.log", p.role)),
                )
                .unwrap_or_default();
                let tail: String = log.lines().rev().take(20).collect::<Vec<_>>().join("\n");
                bail!("{} exited ({status}); last log lines:\n{tail}", p.role);
            }
        }
        Ok(())
    }

    /// Idle figures: let the daemons settle, then CPU over `window` and RSS.
    pub(crate) async fn idle(&mut self, settle: Duration, window: Duration) -> Result<Value> {
        tokio::time::sleep(settle).await;
        self.check_alive()?;
        let before = self.cpu()?;
        tokio::time::sleep(window).await;
        let after = self.cpu()?;
        let mut m = serde_json::Map::new();
        for (i, p) in self.procs.iter().enumerate() {
            let (rss, _) = rss_kb(p.child.id())?;
            let cpu_ms = ticks_ms(after[i] - before[i]);
            m.insert(
                p.role.into(),
                json!({
                    "cpu_percent": round(100.0 * cpu_ms / window.as_secs_f64() / 1000.0, 3),
                    "rss_mb": round(rss as f64 / 1024.0, 1),
                }),
            );
        }
        m.insert("window_s".into(), json!(window.as_secs_f64()));
        Ok(Value::Object(m))
    }

    pub(crate) fn rss(&self) -> Result<Value> {
        let mut m = serde_json::Map::new();
        for p in &self.procs {
            let (rss, hwm) = rss_kb(p.child.id())?;
            m.insert(
                p.role.into(),
                json!({"rss_mb": round(rss as f64 / 1024.0, 1), "peak_rss_mb": round(hwm as f64 / 1024.0, 1)}),
            );
        }
        Ok(Value::Object(m))
    }
}

impl Drop for Install {
    fn drop(&mut self) {
        for p in &mut self.procs {
            let _ = p.child.kill();
            let _ = p.child.wait();
        }
    }
}

#[derive(Debug)]
pub(crate) struct Proc {
    pub(crate) role: &'static str,
    child: Child,
    /// The daemon's ops endpoint (`/metrics`), on a free loopback port.
    ops: std::net::SocketAddr,
}
