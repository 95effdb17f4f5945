//! `pressbot up` as a long-running child process for the browser tests,
//! and the loopback ports it serves on.

use super::Harness;
use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// A free loopback port (bound, read, released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// Point the embedded CMS, the CDN it serves at `/cdn/` and the object
/// server at free loopback ports; returns the CMS's base URL.
pub fn serve_on_free_ports(h: &mut Harness) -> String {
    let cms_port = free_port();
    let base = format!("http://127.0.0.1:{cms_port}");
    h.set(
        "PRESSBOT__CMS__EMBEDDED_LISTEN",
        &format!("127.0.0.1:{cms_port}"),
    );
    // The articles link their figures here; `up` serves it itself.
    h.set("PRESSBOT__ACTIVITIES__CDN_BASE_URL", &format!("{base}/cdn"));
    h.set(
        "PRESSBOT__LOCAL__OBJECT_LISTEN",
        &format!("127.0.0.1:{}", free_port()),
    );
    base
}

/// `pressbot up` as a child process: SIGTERM then wait with [`Up::stop`],
/// killed on drop, so a failing assertion leaves no server behind.
pub struct Up {
    child: Child,
    /// Its stderr (the logs).
    pub log: PathBuf,
    /// Its stdout (what it prints for the operator).
    pub out: PathBuf,
}

impl Up {
    /// `pressbot up <args>` on the harness's installation.
    pub fn start<I, S>(h: &Harness, args: I) -> Up
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let log = h.path().join("logs").join("up.log");
        let out = h.path().join("logs").join("up.out");
        let child = h
            .command("pressbot")
            .arg("up")
            .args(args)
            .stdout(std::fs::File::create(&out).expect("stdout file"))
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("spawn pressbot up");
        Up { child, log, out }
    }

    /// What it printed and logged, for failure messages.
    pub fn log(&self) -> String {
        format!(
            "stdout:\n{}\nstderr:\n{}",
            std::fs::read_to_string(&self.out).unwrap_or_default(),
            std::fs::read_to_string(&self.log).unwrap_or_default()
        )
    }

    /// Panics with its output if it has exited.
    pub fn check_alive(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("pressbot up exited early ({status}):\n{}", self.log());
        }
    }

    /// SIGTERM and wait for the exit, as an operator's Ctrl-C would.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let start = Instant::now();
        loop {
            if let Ok(Some(s)) = self.child.try_wait() {
                return s;
            }
            if start.elapsed() > Duration::from_secs(60) {
                let _ = self.child.kill();
                panic!("pressbot up did not stop within 60s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
