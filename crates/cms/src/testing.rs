//! A misbehaving CMS for tests: a real HTTP server on 127.0.0.1 whose
//! answers are scripted per request, so tests can prove the client survives
//! what the real CMS and its proxy do (busy, deploying, hanging, resetting,
//! cutting the answer while still ingesting) without ever ingesting twice.
//!
//! It speaks just enough HTTP/1.1 for the contract (one request per
//! connection, `Connection: close`) so that it can also break the
//! connection in ways a well-behaved server framework would not.

use crate::client::{VersionState, VersionStatus};
use crate::IDEMPOTENCY_KEY;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// What the server does with one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Behavior {
    /// Serve the contract faithfully.
    Normal,
    /// Answer this status (with `Retry-After` if given) and body; nothing
    /// is ingested or published.
    Answer {
        status: u16,
        retry_after: Option<String>,
        body: String,
    },
    /// Wait this long, then close without answering; nothing is ingested.
    Hang(Duration),
    /// Reset the connection (TCP RST) without answering; nothing is ingested.
    Reset,
    /// Ingest (or publish) for real, then answer only after this long: the
    /// client times out although the work is done.
    SucceedThenHang(Duration),
    /// Do the work for real, then answer this status anyway, as a proxy
    /// does with 502/504 when it gives up on a CMS that goes on working.
    SucceedThenAnswer { status: u16 },
    /// Start ingesting (status says `ingesting` with the request's key for
    /// `ingesting_for`, then `ingested`) and cut the connection at once, as
    /// a proxy does at 60 s while the CMS goes on.
    CutWhileIngesting { ingesting_for: Duration },
}

impl Behavior {
    /// 429 with `Retry-After: <secs>`.
    pub fn busy(retry_after_secs: u64) -> Self {
        Behavior::Answer {
            status: 429,
            retry_after: Some(retry_after_secs.to_string()),
            body: r#"{"error":"busy ingesting another article"}"#.into(),
        }
    }

    /// 503 with `Retry-After: <secs>`.
    pub fn deploying(retry_after_secs: u64) -> Self {
        Behavior::Answer {
            status: 503,
            retry_after: Some(retry_after_secs.to_string()),
            body: r#"{"error":"deploying"}"#.into(),
        }
    }

    /// Any status with a body.
    pub fn answer(status: u16, body: &str) -> Self {
        Behavior::Answer {
            status,
            retry_after: None,
            body: body.into(),
        }
    }
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    /// Header names lower-cased.
    pub headers: BTreeMap<String, String>,
    pub body: String,
    pub behavior: Behavior,
}

impl RecordedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }
}

#[derive(Debug, Default)]
struct HeldVersion {
    key: Option<String>,
    ingesting_until: Option<Instant>,
    published: bool,
    silent_corrections: u32,
}

#[derive(Debug, Default)]
struct Inner {
    post_script: VecDeque<Behavior>,
    get_script: VecDeque<Behavior>,
    requests: Vec<RecordedRequest>,
    versions: HashMap<(String, u32), HeldVersion>,
    ingests: HashMap<(String, u32), u32>,
    publishes: HashMap<(String, u32), u32>,
    /// Ingest POSTs the CMS treated as a duplicate of the version's key.
    duplicate_ingests: HashMap<(String, u32), u32>,
    /// Publish POSTs refused with 409 because the version was published.
    conflicting_publishes: HashMap<(String, u32), u32>,
    /// How long a normal ingest takes (the request is held that long).
    ingest_delay: Duration,
    /// Ingest POSTs being handled now, and the most at once so far.
    in_flight: u32,
    max_in_flight: u32,
}

/// A running misbehaving CMS. Dropping it stops the server.
#[derive(Debug)]
pub struct MisbehavingCms {
    addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
    task: JoinHandle<()>,
}

impl Drop for MisbehavingCms {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock(inner: &Mutex<Inner>) -> MutexGuard<'_, Inner> {
    inner.lock().unwrap_or_else(|p| p.into_inner())
}

impl MisbehavingCms {
    /// Start on a free port of 127.0.0.1. `posts` scripts the POSTs (ingest
    /// and publish) in order, `gets` the GETs; once a script runs out,
    /// requests are served normally.
    pub async fn start(posts: Vec<Behavior>, gets: Vec<Behavior>) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let inner = Arc::new(Mutex::new(Inner {
            post_script: posts.into(),
            get_script: gets.into(),
            ..Default::default()
        }));
        let shared = inner.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let shared = shared.clone();
                tokio::spawn(async move {
                    let _ = handle(stream, shared).await;
                });
            }
        });
        Ok(MisbehavingCms { addr, inner, task })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.inner).requests.clone()
    }

    /// Real ingests of one version (silent corrections included).
    pub fn ingests(&self, article_id: &str, version: u32) -> u32 {
        lock(&self.inner)
            .ingests
            .get(&(article_id.to_owned(), version))
            .copied()
            .unwrap_or(0)
    }

    /// Real publications of one version.
    pub fn publishes(&self, article_id: &str, version: u32) -> u32 {
        lock(&self.inner)
            .publishes
            .get(&(article_id.to_owned(), version))
            .copied()
            .unwrap_or(0)
    }

    /// Ingest POSTs of one version that the CMS treated as a repeat of the
    /// version's idempotency key (answered 200 `"duplicate": true`, or, under
    /// a scripted behaviour that does the work, not ingested again): not in
    /// [`Self::ingests`], in [`Self::ingest_posts`].
    pub fn duplicate_ingest_posts(&self, article_id: &str, version: u32) -> u32 {
        lock(&self.inner)
            .duplicate_ingests
            .get(&(article_id.to_owned(), version))
            .copied()
            .unwrap_or(0)
    }

    /// Publish POSTs of one version refused with 409 "already published"
    /// (a client that asks the status first sends none, barring a race with
    /// a POST still in flight).
    pub fn conflicting_publish_posts(&self, article_id: &str, version: u32) -> u32 {
        lock(&self.inner)
            .conflicting_publishes
            .get(&(article_id.to_owned(), version))
            .copied()
            .unwrap_or(0)
    }

    /// Raw ingest POSTs received for one version, whatever came of them
    /// (refused, duplicate by key, scripted failures): duplicates cannot
    /// hide under the latest key.
    pub fn ingest_posts(&self, article_id: &str, version: u32) -> usize {
        self.posts_to(article_id, version, false)
    }

    /// Raw publish POSTs received for one version, whatever came of them.
    pub fn publish_posts(&self, article_id: &str, version: u32) -> usize {
        self.posts_to(article_id, version, true)
    }

    fn posts_to(&self, article_id: &str, version: u32, publish: bool) -> usize {
        lock(&self.inner)
            .requests
            .iter()
            .filter(|r| r.method == "POST")
            .filter(|r| {
                parse_path(&r.path)
                    .is_some_and(|(id, v, p)| id == article_id && v == version && p == publish)
            })
            .count()
    }

    /// Hold every normal ingest this long, as a real CMS takes its time:
    /// what makes concurrent ingests observable ([`Self::max_concurrent_ingests`]).
    pub fn set_ingest_delay(&self, delay: Duration) {
        lock(&self.inner).ingest_delay = delay;
    }

    /// The most ingest POSTs this CMS was handling at the same time.
    pub fn max_concurrent_ingests(&self) -> u32 {
        lock(&self.inner).max_in_flight
    }

    /// Script more POST behaviours.
    pub fn push_posts(&self, behaviors: impl IntoIterator<Item = Behavior>) {
        lock(&self.inner).post_script.extend(behaviors);
    }
}

struct Request {
    method: String,
    path: String,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

async fn read_request(stream: &mut TcpStream) -> std::io::Result<Option<Request>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p;
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or("").split_whitespace();
    let method = first.next().unwrap_or("").to_owned();
    let path = first.next().unwrap_or("").to_owned();
    let headers: BTreeMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < len {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Ok(Some(Request {
        method,
        path,
        headers,
        body,
    }))
}

async fn respond(
    stream: &mut TcpStream,
    status: u16,
    retry_after: Option<&str>,
    body: &str,
) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    if let Some(r) = retry_after {
        head.push_str(&format!("Retry-After: {r}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await
}

/// `/articles/{id}/versions/{v}[/publish]` → (id, v, is_publish).
fn parse_path(path: &str) -> Option<(String, u32, bool)> {
    let path = path.split('?').next()?;
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    match parts.as_slice() {
        ["articles", id, "versions", v] => Some(((*id).to_owned(), v.parse().ok()?, false)),
        ["articles", id, "versions", v, "publish"] => {
            Some(((*id).to_owned(), v.parse().ok()?, true))
        }
        _ => None,
    }
}

async fn handle(mut stream: TcpStream, inner: Arc<Mutex<Inner>>) -> std::io::Result<()> {
    let Some(req) = read_request(&mut stream).await? else {
        return Ok(());
    };
    let behavior = {
        let mut g = lock(&inner);
        let b = if req.method == "POST" {
            g.post_script.pop_front()
        } else {
            g.get_script.pop_front()
        }
        .unwrap_or(Behavior::Normal);
        g.requests.push(RecordedRequest {
            method: req.method.clone(),
            path: req.path.clone(),
            headers: req.headers.clone(),
            body: String::from_utf8_lossy(&req.body).into_owned(),
            behavior: b.clone(),
        });
        b
    };
    let target = parse_path(&req.path);
    let is_ingest = req.method == "POST" && target.as_ref().is_some_and(|t| !t.2);
    let _in_flight = is_ingest.then(|| InFlight::enter(&inner));
    if is_ingest && behavior == Behavior::Normal {
        let delay = lock(&inner).ingest_delay;
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
    }
    match behavior {
        Behavior::Answer {
            status,
            retry_after,
            body,
        } => respond(&mut stream, status, retry_after.as_deref(), &body).await,
        Behavior::Hang(d) => {
            tokio::time::sleep(d).await;
            Ok(())
        }
        Behavior::Reset => {
            stream.set_zero_linger()?;
            drop(stream);
            Ok(())
        }
        Behavior::SucceedThenHang(d) => {
            let (status, body) = serve_normally(&req, target, &inner, None);
            tokio::time::sleep(d).await;
            // Answer late, as a slow CMS does; the client has usually gone.
            let _ = respond(&mut stream, status, None, &body).await;
            Ok(())
        }
        Behavior::SucceedThenAnswer { status } => {
            let _ = serve_normally(&req, target, &inner, None);
            respond(
                &mut stream,
                status,
                None,
                r#"{"error":"upstream timed out"}"#,
            )
            .await
        }
        Behavior::CutWhileIngesting { ingesting_for } => {
            let _ = serve_normally(&req, target, &inner, Some(ingesting_for));
            stream.set_zero_linger()?;
            drop(stream);
            Ok(())
        }
        Behavior::Normal => {
            let (status, body) = serve_normally(&req, target, &inner, None);
            respond(&mut stream, status, None, &body).await
        }
    }
}

/// Counts an ingest request as in flight for as long as it lives.
struct InFlight(Arc<Mutex<Inner>>);

impl InFlight {
    fn enter(inner: &Arc<Mutex<Inner>>) -> Self {
        let mut g = lock(inner);
        g.in_flight += 1;
        g.max_in_flight = g.max_in_flight.max(g.in_flight);
        InFlight(inner.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut g = lock(&self.0);
        g.in_flight = g.in_flight.saturating_sub(1);
    }
}

/// The contract, faithfully: returns the answer's status and body. Like
/// the real CMS: an ingest over a published version (other than a silent
/// correction) and a publish of a published version are refused with 409.
fn serve_normally(
    req: &Request,
    target: Option<(String, u32, bool)>,
    inner: &Mutex<Inner>,
    ingesting_for: Option<Duration>,
) -> (u16, String) {
    let Some((id, v, is_publish)) = target else {
        return (404, r#"{"error":"no such route"}"#.into());
    };
    let key = req
        .headers
        .get(&IDEMPOTENCY_KEY.to_ascii_lowercase())
        .cloned();
    let silent = req
        .headers
        .get("x-silent-correction")
        .is_some_and(|v| v == "true");
    let mut g = lock(inner);
    let now = Instant::now();
    match (req.method.as_str(), is_publish) {
        ("GET", false) => match g.versions.get(&(id, v)) {
            None => (404, r#"{"error":"not ingested"}"#.into()),
            Some(s) => {
                let status = match s.ingesting_until {
                    Some(t) if t > now => VersionState::Ingesting,
                    _ if s.published => VersionState::Published,
                    _ => VersionState::Ingested,
                };
                let answer = VersionStatus {
                    status,
                    idempotency_key: s.key.clone(),
                    silent_corrections: s.silent_corrections,
                };
                (200, serde_json::to_string(&answer).unwrap_or_default())
            }
        },
        ("POST", false) => {
            if serde_json::from_slice::<serde_json::Value>(&req.body).is_err() {
                return (400, r#"{"error":"body is not JSON"}"#.into());
            }
            let k = (id, v);
            let state = g.versions.entry(k.clone()).or_default();
            if state.key.is_some() && state.key == key {
                *g.duplicate_ingests.entry(k).or_default() += 1;
                return (200, r#"{"status":"ingested","duplicate":true}"#.into());
            }
            if state.published && !silent {
                return (
                    409,
                    r#"{"error":"already published; send a new version or a silent correction"}"#
                        .into(),
                );
            }
            state.key = key;
            state.ingesting_until = ingesting_for.map(|d| now + d);
            if silent {
                state.silent_corrections += 1;
            }
            *g.ingests.entry(k).or_default() += 1;
            (201, r#"{"status":"ingested"}"#.into())
        }
        ("POST", true) => {
            let k = (id, v);
            match g.versions.get_mut(&k) {
                None => (404, r#"{"error":"not ingested"}"#.into()),
                Some(s) if s.published => {
                    *g.conflicting_publishes.entry(k).or_default() += 1;
                    (409, r#"{"error":"already published"}"#.into())
                }
                Some(s) => {
                    s.published = true;
                    *g.publishes.entry(k).or_default() += 1;
                    (200, r#"{"status":"published"}"#.into())
                }
            }
        }
        _ => (405, r#"{"error":"method not allowed"}"#.into()),
    }
}
