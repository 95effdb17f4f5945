//! A small Chrome DevTools Protocol client for browser tests: launches
//! Debian's headless Chromium, speaks CDP over its websocket, and offers the
//! few calls page tests need (open a tab, navigate and wait for `load`,
//! evaluate JavaScript, screenshot).
//!
//! Shared by every browser test, so it depends on nothing of pressbot: the
//! CMS crate's `crates/cms/tests/browser.rs` includes it by path, the
//! workspace's `tests/browser_up.rs` as `#[path = "support/cdp.rs"]`. It talks to one browser-level websocket and
//! uses flat sessions (`Target.attachToTarget { flatten: true }`), so several
//! tabs can share the connection.
//!
//! A missing Chromium is an error whose message says how to install it: the
//! browser tests fail rather than skip, so a green run means the pages were
//! really rendered.
#![allow(dead_code)] // each test binary uses its own subset

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

/// Where Debian's `chromium` package puts the browser.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// What can go wrong driving the browser.
#[derive(Debug, thiserror::Error)]
pub enum CdpError {
    #[error("{path} is missing: the browser tests need Debian's chromium; `bash scripts/test.sh` installs it (or: apt-get install -y chromium)")]
    Missing { path: PathBuf },
    #[error("cannot start {path}: {source}")]
    Spawn {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("chromium did not print its DevTools address within {0:?}; its stderr: {1}")]
    NoEndpoint(Duration, String),
    #[error("websocket: {0}")]
    Socket(String),
    #[error("CDP {method}: {message}")]
    Protocol { method: String, message: String },
    #[error("CDP {what}: no answer within {timeout:?}")]
    Timeout { what: String, timeout: Duration },
    #[error("the browser connection closed")]
    Closed,
    #[error("javascript threw: {0}")]
    Javascript(String),
    #[error("{operation} {path}: {source}")]
    Io {
        operation: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("screenshot is not base64: {0}")]
    Base64(String),
}

/// A CDP event: its method, params and the session it belongs to.
#[derive(Debug, Clone)]
pub struct Event {
    pub method: String,
    pub params: Value,
    pub session_id: Option<String>,
}

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Result<Value, String>>>>>;

/// A running headless Chromium and the connection to it. Dropping it kills
/// the browser (the child is `kill_on_drop`) and removes its profile.
#[derive(Debug)]
pub struct Browser {
    _child: tokio::process::Child,
    _profile: tempfile::TempDir,
    outgoing: mpsc::UnboundedSender<Message>,
    pending: Pending,
    events: broadcast::Sender<Event>,
    next_id: AtomicU64,
    /// How long one command may take.
    pub timeout: Duration,
}

/// One tab, attached through a flat session.
#[derive(Debug, Clone)]
pub struct Tab {
    pub target_id: String,
    pub session_id: String,
}

impl Browser {
    /// Launch `/usr/bin/chromium` headless on a fresh profile, with a window
    /// of `width`×`height` CSS pixels, and connect to it.
    pub async fn launch(width: u32, height: u32) -> Result<Browser, CdpError> {
        let path = PathBuf::from(CHROMIUM);
        if !path.exists() {
            return Err(CdpError::Missing { path });
        }
        let profile = tempfile::tempdir().map_err(|source| CdpError::Io {
            operation: "create profile directory",
            path: std::env::temp_dir(),
            source,
        })?;
        let mut child = tokio::process::Command::new(&path)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--hide-scrollbars",
                "--mute-audio",
                "--remote-debugging-port=0",
                &format!("--window-size={width},{height}"),
                &format!("--user-data-dir={}", profile.path().display()),
                "about:blank",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| CdpError::Spawn {
                path: path.clone(),
                source,
            })?;
        let stderr = child.stderr.take().ok_or(CdpError::Closed)?;
        let wait = Duration::from_secs(30);
        let (url_tx, url_rx) = oneshot::channel();
        // Read stderr for the endpoint, then keep draining it so Chromium
        // never blocks on a full pipe.
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            let mut seen = String::new();
            let mut url_tx = Some(url_tx);
            while let Ok(Some(line)) = lines.next_line().await {
                if url_tx.is_some() {
                    if let Some(pos) = line.find("ws://") {
                        if let Some(tx) = url_tx.take() {
                            let _ = tx.send(Ok(line[pos..].trim().to_owned()));
                        }
                    } else if seen.len() < 4000 {
                        seen.push_str(&line);
                        seen.push('\n');
                    }
                }
            }
            if let Some(tx) = url_tx.take() {
                let _ = tx.send(Err(seen));
            }
        });
        let ws_url = match tokio::time::timeout(wait, url_rx).await {
            Ok(Ok(Ok(url))) => url,
            Ok(Ok(Err(stderr))) => return Err(CdpError::NoEndpoint(wait, stderr)),
            _ => return Err(CdpError::NoEndpoint(wait, String::new())),
        };
        let (socket, _) = tokio_tungstenite::connect_async(ws_url.as_str())
            .await
            .map_err(|e| CdpError::Socket(format!("{ws_url}: {e}")))?;
        let (mut write, mut read) = socket.split();
        let (outgoing, mut outgoing_rx) = mpsc::unbounded_channel::<Message>();
        tokio::spawn(async move {
            while let Some(m) = outgoing_rx.recv().await {
                if write.send(m).await.is_err() {
                    break;
                }
            }
        });
        let pending: Pending = Arc::default();
        let (events, _) = broadcast::channel(1024);
        {
            let pending = pending.clone();
            let events = events.clone();
            tokio::spawn(async move {
                while let Some(Ok(m)) = read.next().await {
                    let Message::Text(text) = m else { continue };
                    let Ok(v) = serde_json::from_str::<Value>(text.as_str()) else {
                        continue;
                    };
                    if let Some(id) = v.get("id").and_then(Value::as_u64) {
                        let tx = pending.lock().ok().and_then(|mut p| p.remove(&id));
                        if let Some(tx) = tx {
                            let answer = match v.get("error") {
                                Some(e) => Err(e.to_string()),
                                None => Ok(v.get("result").cloned().unwrap_or(Value::Null)),
                            };
                            let _ = tx.send(answer);
                        }
                    } else if let Some(method) = v.get("method").and_then(Value::as_str) {
                        let _ = events.send(Event {
                            method: method.to_owned(),
                            params: v.get("params").cloned().unwrap_or(Value::Null),
                            session_id: v
                                .get("sessionId")
                                .and_then(Value::as_str)
                                .map(str::to_owned),
                        });
                    }
                }
                // Connection gone: fail whoever still waits.
                if let Ok(mut p) = pending.lock() {
                    p.clear();
                }
            });
        }
        Ok(Browser {
            _child: child,
            _profile: profile,
            outgoing,
            pending,
            events,
            next_id: AtomicU64::new(1),
            timeout: Duration::from_secs(30),
        })
    }

    /// Send one command (to the browser, or to a tab's session) and wait
    /// for its result.
    pub async fn call(
        &self,
        session: Option<&str>,
        method: &str,
        params: Value,
    ) -> Result<Value, CdpError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        let (tx, rx) = oneshot::channel();
        self.pending
            .lock()
            .map_err(|_| CdpError::Closed)?
            .insert(id, tx);
        self.outgoing
            .send(Message::Text(msg.to_string().into()))
            .map_err(|_| CdpError::Closed)?;
        match tokio::time::timeout(self.timeout, rx).await {
            Ok(Ok(Ok(v))) => Ok(v),
            Ok(Ok(Err(message))) => Err(CdpError::Protocol {
                method: method.to_owned(),
                message,
            }),
            Ok(Err(_)) => Err(CdpError::Closed),
            Err(_) => Err(CdpError::Timeout {
                what: method.to_owned(),
                timeout: self.timeout,
            }),
        }
    }

    /// Events from now on (subscribe before the command that causes them).
    pub fn events(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// Open a blank tab of `width`×`height` and attach to it.
    pub async fn new_tab(&self, width: u32, height: u32) -> Result<Tab, CdpError> {
        let created = self
            .call(None, "Target.createTarget", json!({"url": "about:blank"}))
            .await?;
        let target_id = created["targetId"]
            .as_str()
            .ok_or_else(|| protocol("Target.createTarget", &created))?
            .to_owned();
        let attached = self
            .call(
                None,
                "Target.attachToTarget",
                json!({"targetId": target_id, "flatten": true}),
            )
            .await?;
        let session_id = attached["sessionId"]
            .as_str()
            .ok_or_else(|| protocol("Target.attachToTarget", &attached))?
            .to_owned();
        let s = Some(session_id.as_str());
        self.call(s, "Page.enable", json!({})).await?;
        self.call(s, "Runtime.enable", json!({})).await?;
        self.call(
            s,
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}),
        )
        .await?;
        Ok(Tab {
            target_id,
            session_id,
        })
    }

    /// Navigate `tab` to `url` and wait for its `load` event (all images
    /// and stylesheets fetched).
    pub async fn navigate(&self, tab: &Tab, url: &str) -> Result<(), CdpError> {
        let mut events = self.events();
        let answer = self
            .call(Some(&tab.session_id), "Page.navigate", json!({"url": url}))
            .await?;
        if let Some(e) = answer.get("errorText").and_then(Value::as_str) {
            return Err(CdpError::Protocol {
                method: "Page.navigate".into(),
                message: format!("{url}: {e}"),
            });
        }
        let wait = async {
            loop {
                match events.recv().await {
                    Ok(e)
                        if e.method == "Page.loadEventFired"
                            && e.session_id.as_deref() == Some(tab.session_id.as_str()) =>
                    {
                        return Ok(())
                    }
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return Err(CdpError::Closed),
                }
            }
        };
        tokio::time::timeout(self.timeout, wait)
            .await
            .map_err(|_| CdpError::Timeout {
                what: format!("load of {url}"),
                timeout: self.timeout,
            })?
    }

    /// Evaluate `expression` in the page (promises awaited) and return its
    /// value as JSON.
    pub async fn eval(&self, tab: &Tab, expression: &str) -> Result<Value, CdpError> {
        let r = self
            .call(
                Some(&tab.session_id),
                "Runtime.evaluate",
                json!({"expression": expression, "returnByValue": true, "awaitPromise": true}),
            )
            .await?;
        if let Some(ex) = r.get("exceptionDetails") {
            let text = ex
                .pointer("/exception/description")
                .and_then(Value::as_str)
                .or_else(|| ex.get("text").and_then(Value::as_str))
                .unwrap_or("exception");
            return Err(CdpError::Javascript(text.to_owned()));
        }
        Ok(r.pointer("/result/value").cloned().unwrap_or(Value::Null))
    }

    /// A PNG of the tab's viewport, written to `path` (parents created).
    pub async fn screenshot(&self, tab: &Tab, path: &Path) -> Result<(), CdpError> {
        let r = self
            .call(
                Some(&tab.session_id),
                "Page.captureScreenshot",
                json!({"format": "png"}),
            )
            .await?;
        let data = r["data"]
            .as_str()
            .ok_or_else(|| protocol("Page.captureScreenshot", &r))?;
        let bytes =
            base64_decode(data).ok_or_else(|| CdpError::Base64(data.chars().take(40).collect()))?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| CdpError::Io {
                operation: "create directory",
                path: parent.to_owned(),
                source,
            })?;
        }
        std::fs::write(path, bytes).map_err(|source| CdpError::Io {
            operation: "write",
            path: path.to_owned(),
            source,
        })
    }
}

fn protocol(method: &str, answer: &Value) -> CdpError {
    CdpError::Protocol {
        method: method.to_owned(),
        message: format!("unexpected answer {answer}"),
    }
}

/// Standard base64 (what CDP sends screenshots in); None if malformed.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' | b'\n' | b'\r' => continue,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// Where browser tests put their screenshots: `target/browser/` (under
/// `CARGO_TARGET_DIR` when set), so they survive the run for a human to see.
pub fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("browser")
}

/// A `width`×`height` RGB PNG (a colour gradient), for pages whose images
/// must load offline. Uncompressed deflate: no image crate needed.
pub fn test_png(width: u32, height: u32) -> Vec<u8> {
    let mut raw = Vec::with_capacity(((width * 3 + 1) * height) as usize);
    for y in 0..height {
        raw.push(0); // filter: none
        for x in 0..width {
            raw.push((x * 255 / width.max(1)) as u8);
            raw.push((y * 255 / height.max(1)) as u8);
            raw.push(160);
        }
    }
    // zlib stream of stored blocks.
    let mut z = vec![0x78, 0x01];
    let chunks: Vec<&[u8]> = raw.chunks(65535).collect();
    for (i, c) in chunks.iter().enumerate() {
        z.push(u8::from(i + 1 == chunks.len()));
        let len = c.len() as u16;
        z.extend_from_slice(&len.to_le_bytes());
        z.extend_from_slice(&(!len).to_le_bytes());
        z.extend_from_slice(c);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &x in &raw {
        a = (a + u32::from(x)) % 65521;
        b = (b + a) % 65521;
    }
    z.extend_from_slice(&((b << 16) | a).to_be_bytes());
    let mut png = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB
    for (kind, data) in [(b"IHDR", ihdr), (b"IDAT", z), (b"IEND", Vec::new())] {
        png.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut crc_input = kind.to_vec();
        crc_input.extend_from_slice(&data);
        png.extend_from_slice(&crc_input);
        png.extend_from_slice(&crc32(&crc_input).to_be_bytes());
    }
    png
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
