//! Whole-process benchmarks of pressbot on the embedded backend.
//!
//! Criterion benches measure functions; an operator meets processes. This
//! binary builds a throw-away installation (data dir, settings, workflows),
//! spawns the real daemon binaries as OS processes, drives work into them
//! from outside (as `pressbot start` / an S3 PutObject would) and reads the
//! figures an operator would: workflows and activity steps per second, CPU
//! time per decision / activity task from `/proc/<pid>/stat`, peak RSS from
//! `/proc/<pid>/status` (VmHWM), idle CPU and RSS, and latencies taken from
//! the histories' own timestamps.
//!
//! `--quick` runs every scenario on a handful of workflows (the CI smoke
//! test in `tests/quick.rs`); the figures it prints are not meant to be read.
//! `scripts/bench.sh` runs the full set on release binaries.

use anyhow::{bail, Context, Result};
use clap::Parser;
use pressbot_core::backend::{Backend, ExecutionFilter, ExecutionInfo, PutOptions, StartRequest};
use pressbot_core::history::{EventKind, HistoryEvent};
use pressbot_core::ids::{TypeRef, WorkflowId};
use pressbot_core::time::Timestamp;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug, Parser)]
#[command(about = "pressbot whole-process benchmarks (embedded backend)")]
struct Args {
    /// Tiny workloads, short idle windows: proves the harness works (CI).
    #[arg(long)]
    quick: bool,
    /// Directory holding the daemon binaries (decider, activity-worker, ...).
    /// Defaults to the directory of this executable.
    #[arg(long)]
    bin_dir: Option<PathBuf>,
    /// Repository root (settings/, workflows/, tests/fixtures/).
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))]
    repo: PathBuf,
    /// Ping workflows in the throughput scenarios.
    #[arg(long, default_value_t = 500)]
    workflows: usize,
    /// Ping workflows in the AWS (moto) scenario.
    #[arg(long, default_value_t = 100)]
    aws_workflows: usize,
    /// Article packages through the whole pipeline.
    #[arg(long, default_value_t = 10)]
    articles: usize,
    /// Worker slots of the "many slots" scenario.
    #[arg(long, default_value_t = 16)]
    slots: usize,
    /// `local.poll_interval` for every daemon (how often a long poll re-reads
    /// the database for work written by another process); unset = settings default.
    #[arg(long)]
    poll_interval: Option<String>,
    /// Only these scenarios (ping, steps, slots, aws, aws-steps, pipeline); default all.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Write every figure as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let figures = rt.block_on(run(&args))?;
    let text = serde_json::to_string_pretty(&figures)?;
    println!("{text}");
    if let Some(p) = &args.json {
        std::fs::write(p, &text).with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(())
}

async fn run(args: &Args) -> Result<Value> {
    let want = |s: &str| args.only.is_empty() || args.only.iter().any(|o| o == s);
    let (n, articles) = if args.quick {
        (5, 1)
    } else {
        (args.workflows, args.articles)
    };
    let mut out = serde_json::Map::new();
    out.insert("machine".into(), machine());
    out.insert(
        "settings".into(),
        json!({"quick": args.quick, "poll_interval": args.poll_interval, "workflows": n}),
    );
    if want("ping") {
        eprintln!(
            "scenario ping: {n} Ping workflows, 1 decider, 1 activity-worker (default slots)"
        );
        out.insert("ping".into(), throughput(args, "Ping", n, 1, None).await?);
    }
    if want("steps") {
        let w = (n / 10).max(1);
        eprintln!("scenario steps: {w} workflows of 10 sequential PingWorker steps");
        out.insert(
            "steps".into(),
            throughput(args, "BenchSteps", w, 10, None).await?,
        );
    }
    if want("slots") {
        eprintln!(
            "scenario slots: {n} Ping workflows, worker with {} slots",
            args.slots
        );
        out.insert(
            "slots".into(),
            throughput(args, "Ping", n, 1, Some(args.slots)).await?,
        );
    }
    if want("aws") {
        match pressbot_aws::testing::moto_server_path() {
            Some(_) => {
                let w = if args.quick { 2 } else { args.aws_workflows };
                eprintln!("scenario aws: {w} Ping workflows on moto, 1 decider, 1 activity-worker");
                let moto = pressbot_aws::testing::MotoServer::start();
                let inst = Install::aws(args, &moto.endpoint())?;
                let mut figures = throughput_on(args, inst, "Ping", w, 1, None).await?;
                let floor_requests = if args.quick { 20 } else { 3000 };
                let endpoint = moto.endpoint();
                let floor = tokio::task::spawn_blocking(move || {
                    connection_floor(&endpoint, floor_requests)
                })
                .await??;
                figures["moto_connection_floor"] = floor;
                out.insert("aws".into(), figures);
            }
            None => {
                eprintln!(
                    "scenario aws skipped: no moto_server (bash scripts/moto/ensure-moto.sh)"
                );
                out.insert(
                    "aws".into(),
                    json!({"skipped": "moto_server not installed"}),
                );
            }
        }
    }
    if want("aws-steps") {
        if pressbot_aws::testing::moto_server_path().is_some() {
            let w = if args.quick {
                1
            } else {
                (args.aws_workflows / 10).max(1)
            };
            eprintln!("scenario aws-steps: {w} workflows of 10 sequential steps on moto");
            let moto = pressbot_aws::testing::MotoServer::start();
            let inst = Install::aws(args, &moto.endpoint())?;
            out.insert(
                "aws-steps".into(),
                throughput_on(args, inst, "BenchSteps", w, 10, None).await?,
            );
        } else {
            out.insert(
                "aws-steps".into(),
                json!({"skipped": "moto_server not installed"}),
            );
        }
    }
    if want("pipeline") {
        eprintln!("scenario pipeline: {articles} article packages through IngestArticleZip");
        out.insert("pipeline".into(), pipeline(args, articles).await?);
    }
    Ok(Value::Object(out))
}

// ---------------------------------------------------------------------------
// The installation

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
struct Install {
    dir: tempfile::TempDir,
    bin_dir: PathBuf,
    env: Vec<(String, String)>,
    procs: Vec<Proc>,
    /// On the AWS backend: moto's endpoint and this installation's prefix.
    aws: Option<(String, String)>,
    /// RSS of every daemon (MB, spawn order) taken while waiting for work
    /// to finish, with seconds since the first sample: creep shows here.
    rss_samples: Vec<(f64, Vec<f64>)>,
}

impl Install {
    fn new(args: &Args, slots: Option<usize>) -> Result<Install> {
        Self::with(args, slots, None)
    }

    /// An installation on the AWS backend at `endpoint` (moto), with the
    /// same environment the end-to-end tests give the daemons there.
    fn aws(args: &Args, endpoint: &str) -> Result<Install> {
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

    fn command(&self, bin: &str) -> Result<Command> {
        let path = self.bin_dir.join(bin);
        if !path.exists() {
            bail!(
                "daemon binary {} not found; build it first (cargo build [--release] -p pressbot-daemons) or pass --bin-dir",
                path.display()
            );
        }
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

    fn spawn(&mut self, role: &'static str) -> Result<()> {
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
    async fn counters(&self) -> Result<Vec<Counters>> {
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
    fn rss_now(&self) -> Vec<f64> {
        self.procs
            .iter()
            .map(|p| rss_kb(p.child.id()).map_or(0.0, |(rss, _)| round(rss as f64 / 1024.0, 1)))
            .collect()
    }

    async fn backend(&self) -> Result<Backend> {
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
    fn cpu(&self) -> Result<Vec<u64>> {
        self.procs.iter().map(|p| cpu_ticks(p.child.id())).collect()
    }

    fn check_alive(&mut self) -> Result<()> {
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
    async fn idle(&mut self, settle: Duration, window: Duration) -> Result<Value> {
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

    fn rss(&self) -> Result<Value> {
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
struct Proc {
    role: &'static str,
    child: Child,
    /// The daemon's ops endpoint (`/metrics`), on a free loopback port.
    ops: std::net::SocketAddr,
}

/// Prometheus counters scraped from a daemon: `name{labels}` → value.
#[derive(Debug, Default, Clone)]
struct Counters(std::collections::BTreeMap<String, f64>);

impl Counters {
    /// The `pressbot_*` samples of the Prometheus text format.
    fn parse(text: &str) -> Counters {
        Counters(
            text.lines()
                .filter(|l| l.starts_with("pressbot_"))
                .filter_map(|l| {
                    let (series, value) = l.rsplit_once(' ')?;
                    Some((series.to_owned(), value.parse().ok()?))
                })
                .collect(),
        )
    }

    /// What grew since `before`, per series.
    fn since(&self, before: &Counters) -> Counters {
        Counters(
            self.0
                .iter()
                .map(|(k, v)| (k.clone(), v - before.0.get(k).copied().unwrap_or(0.0)))
                .filter(|(_, d)| *d > 0.0)
                .collect(),
        )
    }

    /// Sum of the series of metric `name` whose labels contain all of `with`.
    fn sum(&self, name: &str, with: &[&str]) -> f64 {
        self.0
            .iter()
            .filter(|(k, _)| k.starts_with(name) && k[name.len()..].starts_with('{'))
            .filter(|(k, _)| with.iter().all(|w| k.contains(w)))
            .map(|(_, v)| v)
            .sum()
    }

    /// `label="value"` of a series, e.g. the operation of an AWS request.
    fn label<'a>(series: &'a str, label: &str) -> Option<&'a str> {
        let start = series.find(&format!("{label}=\""))? + label.len() + 2;
        let len = series[start..].find('"')?;
        Some(&series[start..start + len])
    }
}

/// The least CPU any client can spend on one request to moto: moto
/// (werkzeug) answers every request with `Connection: close`, so each
/// request pays a TCP connect, a write, a read and a close. This sends
/// `requests` minimal unsigned SWF requests over plain sockets, one
/// connection each, and reports this thread's CPU per request: the floor
/// under the daemons' CPU per request in the `aws` scenario, whatever the
/// HTTP client or SDK.
fn connection_floor(endpoint: &str, requests: u32) -> Result<Value> {
    use std::io::{Read, Write};
    let addr = endpoint
        .strip_prefix("http://")
        .context("moto endpoint is not http://host:port")?
        .to_owned();
    let body = r#"{"registrationStatus":"REGISTERED"}"#;
    // moto routes a request by the service named in its credential scope
    // (since 5.2.6 one without `Authorization` goes to S3 and gets a 500), so
    // the request carries a SigV4-shaped header naming `swf`. moto does not
    // check the signature; the client's cost of signing is not what the floor
    // measures.
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nX-Amz-Target: SimpleWorkflowService.ListDomains\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=testing/20261206/us-east-1/swf/aws4_request, \
         SignedHeaders=host, Signature=00\r\n\
         Content-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut response = Vec::with_capacity(4096);
    let one = |response: &mut Vec<u8>| -> Result<()> {
        let mut conn = std::net::TcpStream::connect(&addr)?;
        conn.set_nodelay(true)?;
        conn.write_all(request.as_bytes())?;
        response.clear();
        conn.read_to_end(response)?;
        anyhow::ensure!(
            response.starts_with(b"HTTP/1.1 200"),
            "moto answered: {}",
            String::from_utf8_lossy(&response[..response.len().min(200)])
        );
        Ok(())
    };
    one(&mut response)?;
    let cpu0 = thread_cpu_ticks()?;
    let t0 = Instant::now();
    for _ in 0..requests {
        one(&mut response)?;
    }
    let wall = t0.elapsed();
    let cpu_ms = ticks_ms(thread_cpu_ticks()? - cpu0);
    Ok(json!({
        "requests": requests,
        "client_cpu_us_per_request": round(cpu_ms * 1000.0 / f64::from(requests), 1),
        "wall_us_per_request": round(wall.as_secs_f64() * 1e6 / f64::from(requests), 1),
        "note": "plain sockets, one connection per request as moto forces: the floor for any client",
    }))
}

// ---------------------------------------------------------------------------
// /proc

/// utime + stime of the calling thread, in clock ticks.
fn thread_cpu_ticks() -> Result<u64> {
    stat_cpu_ticks(&std::fs::read_to_string("/proc/thread-self/stat")?)
}

/// utime + stime of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("reading /proc/{pid}/stat"))?;
    stat_cpu_ticks(&stat)
}

/// utime + stime from the text of a `/proc/.../stat` file.
fn stat_cpu_ticks(stat: &str) -> Result<u64> {
    // The command name (field 2) may hold spaces: count fields after ')'.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .context("malformed /proc/<pid>/stat")?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After ')': state is field 3, so utime (14) and stime (15) are f[11], f[12].
    let utime: u64 = f.get(11).context("no utime")?.parse()?;
    let stime: u64 = f.get(12).context("no stime")?.parse()?;
    Ok(utime + stime)
}

/// Clock ticks to milliseconds (USER_HZ is 100 on Linux).
fn ticks_ms(ticks: u64) -> f64 {
    ticks as f64 * 10.0
}

/// (VmRSS, VmHWM) in kB.
fn rss_kb(pid: u32) -> Result<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    Ok((field("VmRSS:"), field("VmHWM:")))
}

fn machine() -> Value {
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

fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

// ---------------------------------------------------------------------------
// Scenarios

async fn list(backend: &Backend, open: bool) -> Result<Vec<ExecutionInfo>> {
    Ok(backend
        .workflows
        .list_executions(&ExecutionFilter {
            open,
            ..Default::default()
        })
        .await?)
}

/// Wait until `n` executions are closed; fail if a daemon dies or it takes
/// longer than `timeout`.
async fn wait_closed(
    inst: &mut Install,
    backend: &Backend,
    n: usize,
    timeout: Duration,
) -> Result<Vec<ExecutionInfo>> {
    let start = Instant::now();
    // Samples continue the series of the caller (if any) on one clock.
    let offset = inst.rss_samples.last().map_or(0.0, |(t, _)| *t);
    let mut next_sample = Duration::ZERO;
    loop {
        if start.elapsed() >= next_sample {
            let rss = inst.rss_now();
            inst.rss_samples
                .push((offset + start.elapsed().as_secs_f64(), rss));
            next_sample += RSS_SAMPLE_EVERY;
        }
        let closed = list(backend, false).await?;
        if closed.len() >= n {
            return Ok(closed);
        }
        inst.check_alive()?;
        if start.elapsed() > timeout {
            bail!(
                "only {} of {n} workflows closed after {timeout:?}",
                closed.len()
            );
        }
        // Listing is a full scan: not so often that the bench itself
        // loads the backend (moto is single-threaded) it measures.
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// How often RSS is sampled while a batch runs.
const RSS_SAMPLE_EVERY: Duration = Duration::from_secs(2);

/// RSS samples as `{role: [[seconds, MB], ...]}`, at most ~20 per role
/// (evenly thinned, first and last kept), to read creep at a glance.
fn rss_series(inst: &Install) -> Value {
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
fn swf_calls(before: &[Counters], after: &[Counters], workflows: usize, steps: usize) -> Value {
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
fn percentiles(mut v: Vec<f64>) -> Value {
    if v.is_empty() {
        return Value::Null;
    }
    v.sort_by(f64::total_cmp);
    let p = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    json!({"n": v.len(), "p50_ms": p(0.5), "p90_ms": p(0.9), "p99_ms": p(0.99), "max_ms": p(1.0)})
}

/// What the histories say: decision and activity task counts, and the
/// latency from each activity completion to the next activity scheduled.
#[derive(Debug, Default)]
struct HistoryStats {
    decision_tasks: u64,
    activity_tasks: u64,
    completed_workflows: u64,
    /// The first failure reason seen, to say why a run went wrong.
    first_failure: Option<String>,
    completion_to_next_ms: Vec<f64>,
    /// Per workflow: (wall ms, ms inside activities, union of intervals).
    wall_ms: Vec<f64>,
    in_activity_ms: Vec<f64>,
    activity_ms: std::collections::BTreeMap<String, Vec<f64>>,
}

impl HistoryStats {
    fn add(&mut self, events: &[HistoryEvent]) {
        let mut started_at = std::collections::HashMap::new();
        let mut types = std::collections::HashMap::new();
        let mut intervals: Vec<(i64, i64)> = Vec::new();
        let mut pending_completion: Option<Timestamp> = None;
        for e in events {
            match &e.kind {
                EventKind::DecisionTaskCompleted { .. } => self.decision_tasks += 1,
                EventKind::ActivityTaskScheduled { activity_type, .. } => {
                    types.insert(e.id, activity_type.name.clone());
                    if let Some(c) = pending_completion.take() {
                        self.completion_to_next_ms
                            .push(e.timestamp.since(c).as_secs_f64() * 1000.0);
                    }
                }
                EventKind::ActivityTaskStarted {
                    scheduled_event_id, ..
                } => {
                    started_at.insert(*scheduled_event_id, e.timestamp);
                }
                EventKind::ActivityTaskCompleted {
                    scheduled_event_id, ..
                }
                | EventKind::ActivityTaskFailed {
                    scheduled_event_id, ..
                } => {
                    self.activity_tasks += 1;
                    pending_completion = Some(e.timestamp);
                    if let Some(s) = started_at.get(scheduled_event_id) {
                        intervals.push((s.millis(), e.timestamp.millis()));
                        if let Some(t) = types.get(scheduled_event_id) {
                            self.activity_ms
                                .entry(t.clone())
                                .or_default()
                                .push((e.timestamp.millis() - s.millis()) as f64);
                        }
                    }
                }
                EventKind::WorkflowExecutionCompleted { .. } => self.completed_workflows += 1,
                EventKind::WorkflowExecutionFailed { reason, .. }
                    if self.first_failure.is_none() =>
                {
                    self.first_failure = Some(reason.clone().unwrap_or_default());
                }
                _ => {}
            }
        }
        if let (Some(first), Some(last)) = (events.first(), events.last()) {
            self.wall_ms
                .push((last.timestamp.millis() - first.timestamp.millis()) as f64);
            intervals.sort();
            let mut inside = 0;
            let mut cur: Option<(i64, i64)> = None;
            for (s, e) in intervals {
                match &mut cur {
                    Some((_, ce)) if s <= *ce => *ce = (*ce).max(e),
                    _ => {
                        if let Some((cs, ce)) = cur {
                            inside += ce - cs;
                        }
                        cur = Some((s, e));
                    }
                }
            }
            if let Some((cs, ce)) = cur {
                inside += ce - cs;
            }
            self.in_activity_ms.push(inside as f64);
        }
    }
}

async fn stats_of(backend: &Backend, closed: &[ExecutionInfo]) -> Result<HistoryStats> {
    let mut stats = HistoryStats::default();
    for c in closed {
        stats.add(&backend.workflows.history(&c.execution).await?);
    }
    Ok(stats)
}

/// `n` workflows of `workflow` (each `steps` activities) through one decider
/// and one activity-worker.
async fn throughput(
    args: &Args,
    workflow: &str,
    n: usize,
    steps: usize,
    slots: Option<usize>,
) -> Result<Value> {
    let inst = Install::new(args, slots)?;
    throughput_on(args, inst, workflow, n, steps, slots).await
}

async fn throughput_on(
    args: &Args,
    mut inst: Install,
    workflow: &str,
    n: usize,
    steps: usize,
    slots: Option<usize>,
) -> Result<Value> {
    inst.spawn("decider")?;
    inst.spawn("activity-worker")?;
    let (settle, window) = if args.quick {
        (Duration::from_millis(500), Duration::from_secs(1))
    } else {
        (Duration::from_secs(3), Duration::from_secs(10))
    };
    let idle = inst.idle(settle, window).await?;
    let backend = inst.backend().await?;
    let counters0 = inst.counters().await?;
    inst.rss_samples.clear();
    let cpu0 = inst.cpu()?;
    let t0 = Instant::now();
    let wall0 = Timestamp::now();
    let mut next_sample = Duration::ZERO;
    for i in 0..n {
        // The daemons are busy while workflows are being started: sample
        // their RSS here too, not only once everything has been started.
        if t0.elapsed() >= next_sample {
            let rss = inst.rss_now();
            inst.rss_samples.push((t0.elapsed().as_secs_f64(), rss));
            next_sample += RSS_SAMPLE_EVERY;
        }
        backend
            .workflows
            .start_workflow(StartRequest {
                workflow_id: WorkflowId::from(format!("bench-{i}")),
                workflow_type: TypeRef::new(workflow, "1"),
                task_list: "default".into(),
                input: Some(json!({"bench": i}).to_string()),
                execution_start_to_close: Duration::from_secs(1800),
                decision_task_start_to_close: Duration::from_secs(60),
                tags: Vec::new(),
            })
            .await?;
    }
    let start_s = t0.elapsed().as_secs_f64();
    let closed = wait_closed(&mut inst, &backend, n, Duration::from_secs(600)).await?;
    let cpu1 = inst.cpu()?;
    let counters1 = inst.counters().await?;
    let last_close = closed
        .iter()
        .filter_map(|c| c.closed)
        .max()
        .unwrap_or(wall0);
    let elapsed = last_close.since(wall0).as_secs_f64().max(0.001);
    let rss = inst.rss()?;
    let stats = stats_of(&backend, &closed).await?;
    let decider_ms = ticks_ms(cpu1[0] - cpu0[0]);
    let worker_ms = ticks_ms(cpu1[1] - cpu0[1]);
    Ok(json!({
        "workflow": workflow,
        "workflows": n,
        "completed": stats.completed_workflows,
        "first_failure": stats.first_failure,
        "worker_slots": slots.map_or("default (4)".to_owned(), |s| s.to_string()),
        "seconds": round(elapsed, 3),
        "start_calls_s": round(start_s, 3),
        "workflows_per_s": round(n as f64 / elapsed, 1),
        "activity_steps_per_s": round(stats.activity_tasks as f64 / elapsed, 1),
        "expected_steps": n * steps,
        "decision_tasks": stats.decision_tasks,
        "activity_tasks": stats.activity_tasks,
        "decider_cpu_ms": decider_ms,
        "worker_cpu_ms": worker_ms,
        "decider_cpu_ms_per_decision_task": round(decider_ms / stats.decision_tasks.max(1) as f64, 3),
        "worker_cpu_ms_per_activity_task": round(worker_ms / stats.activity_tasks.max(1) as f64, 3),
        "completion_to_next_scheduled": percentiles(stats.completion_to_next_ms),
        "idle": idle,
        "after_load": rss,
        "rss_over_time_mb": rss_series(&inst),
        "swf_calls": if inst.aws.is_some() {
            swf_calls(&counters0, &counters1, n, steps)
        } else {
            Value::Null
        },
        "aws_requests": if inst.aws.is_some() {
            let d = counters1[0].since(&counters0[0]).sum("pressbot_aws_requests_total", &[]);
            let w = counters1[1].since(&counters0[1]).sum("pressbot_aws_requests_total", &[]);
            json!({
                "decider": d,
                "activity_worker": w,
                "decider_cpu_ms_per_request": round(decider_ms / d.max(1.0), 3),
                "worker_cpu_ms_per_request": round(worker_ms / w.max(1.0), 3),
                "worker_by_operation": counters1[1]
                    .since(&counters0[1])
                    .0
                    .iter()
                    .filter(|(k, _)| k.starts_with("pressbot_aws_requests_total{"))
                    .map(|(k, v)| (Counters::label(k, "operation").unwrap_or("?").to_owned(), *v))
                    .collect::<std::collections::BTreeMap<_, _>>(),
            })
        } else {
            Value::Null
        },
        "polls": {
            "decider": counters1[0].since(&counters0[0]).sum("pressbot_polls_total", &[]),
            "activity_worker": counters1[1].since(&counters0[1]).sum("pressbot_polls_total", &[]),
        },
    }))
}

/// Article packages through the whole IngestArticleZip pipeline with the
/// four daemons: PutObject → started latency (one package at a time), then
/// `articles` packages at once for articles/min, MB/s and where the time goes.
async fn pipeline(args: &Args, articles: usize) -> Result<Value> {
    let sample = args
        .repo
        .join("tests/fixtures/articles/elife-00353-vor-v1-20121213000000.zip");
    let body = bytes::Bytes::from(
        std::fs::read(&sample).with_context(|| format!("reading {}", sample.display()))?,
    );
    let mut inst = Install::new(args, None)?;
    // The CMS the pipeline posts to: the embedded one, served here (as the
    // end-to-end tests do), so its CPU is not charged to any daemon.
    let stop = tokio_util::sync::CancellationToken::new();
    let _stop_cms = stop.clone().drop_guard();
    let cms = pressbot_cms::embedded::EmbeddedCms::serve(
        inst.dir.path().join("cms"),
        "127.0.0.1:0".parse()?,
        stop,
    )
    .await?;
    inst.env
        .push(("PRESSBOT__CMS__BASE_URL".into(), cms.base_url()));
    inst.env
        .push(("PRESSBOT__CMS__EMBEDDED".into(), "false".into()));
    tokio::spawn(async move {
        let _ = cms.join().await;
    });
    for role in [
        "decider",
        "activity-worker",
        "queue-worker",
        "workflow-starter",
    ] {
        inst.spawn(role)?;
    }
    let (settle, window) = if args.quick {
        (Duration::from_millis(500), Duration::from_secs(1))
    } else {
        (Duration::from_secs(3), Duration::from_secs(10))
    };
    let idle = inst.idle(settle, window).await?;
    let backend = inst.backend().await?;
    let bucket = "pressbot-dev-incoming";
    let key = |i: usize| format!("elife-00353-vor-v{}-20121213000000.zip", i + 1);

    // Latency: one package at a time, PutObject → WorkflowExecutionStarted.
    let probes = if args.quick { 1 } else { 5 };
    let mut put_to_start = Vec::new();
    for i in 0..probes {
        let put_at = Timestamp::now();
        backend
            .objects
            .put(bucket, &key(i), body.clone(), PutOptions::default())
            .await?;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let started: Vec<_> = list(&backend, true)
                .await?
                .into_iter()
                .chain(list(&backend, false).await?)
                .collect();
            if started.len() > i {
                let newest = started.iter().map(|e| e.started).max().unwrap_or(put_at);
                put_to_start.push(newest.since(put_at).as_secs_f64() * 1000.0);
                break;
            }
            inst.check_alive()?;
            if Instant::now() > deadline {
                bail!("package {} did not start a workflow within 60 s", key(i));
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    wait_closed(&mut inst, &backend, probes, Duration::from_secs(120)).await?;

    // Throughput: `articles` packages put at once.
    let cpu0 = inst.cpu()?;
    let wall0 = Timestamp::now();
    for i in 0..articles {
        backend
            .objects
            .put(
                bucket,
                &key(probes + i),
                body.clone(),
                PutOptions::default(),
            )
            .await?;
    }
    let closed = wait_closed(
        &mut inst,
        &backend,
        probes + articles,
        Duration::from_secs(if args.quick { 120 } else { 1800 }),
    )
    .await?;
    let cpu1 = inst.cpu()?;
    let batch: Vec<ExecutionInfo> = closed.into_iter().filter(|c| c.started >= wall0).collect();
    let last_close = batch.iter().filter_map(|c| c.closed).max().unwrap_or(wall0);
    let elapsed = last_close.since(wall0).as_secs_f64().max(0.001);
    let stats = stats_of(&backend, &batch).await?;
    let wall: f64 = stats.wall_ms.iter().sum();
    let inside: f64 = stats.in_activity_ms.iter().sum();
    let per_activity: serde_json::Map<String, Value> = stats
        .activity_ms
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                json!(round(v.iter().sum::<f64>() / v.len() as f64, 1)),
            )
        })
        .collect();
    let cpu: serde_json::Map<String, Value> = inst
        .procs
        .iter()
        .enumerate()
        .map(|(i, p)| (p.role.to_owned(), json!(ticks_ms(cpu1[i] - cpu0[i]))))
        .collect();
    let mb = body.len() as f64 * articles as f64 / 1e6;
    Ok(json!({
        "package_bytes": body.len(),
        "articles": articles,
        "completed": stats.completed_workflows,
        "first_failure": stats.first_failure,
        "seconds": round(elapsed, 3),
        "articles_per_min": round(articles as f64 * 60.0 / elapsed, 1),
        "mb_per_s": round(mb / elapsed, 2),
        "put_to_started": percentiles(put_to_start),
        "completion_to_next_scheduled": percentiles(stats.completion_to_next_ms),
        "mean_workflow_wall_ms": round(wall / stats.wall_ms.len().max(1) as f64, 1),
        "share_in_activities": round(inside / wall.max(1.0), 3),
        "share_in_bot": round(1.0 - inside / wall.max(1.0), 3),
        "mean_activity_ms": per_activity,
        "cpu_ms_during_batch": cpu,
        "idle": idle,
        "after_load": inst.rss()?,
    }))
}
