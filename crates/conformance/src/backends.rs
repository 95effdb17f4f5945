//! The two backends the suite runs on, each freshly isolated per test: a
//! new SQLite data dir for the embedded backend, a new name prefix (so a
//! new SWF domain) on one shared `moto_server` for the AWS backend.

use crate::swf_stand_in::{Options, SwfStandIn};
use pressbot_aws::RetrySettings;
use pressbot_core::backend::Backend;
use pressbot_local::{LocalBackend, LocalOptions};
use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// A backend under test and whatever must live as long as it does (the
/// embedded backend's temporary data dir).
#[derive(Debug)]
pub struct Fixture {
    pub backend: Backend,
    _dir: Option<tempfile::TempDir>,
    _swf: Option<SwfStandIn>,
}

/// The embedded backend on a fresh data dir, with short long polls so an
/// empty poll costs the suite little time.
pub async fn local() -> Fixture {
    let dir = tempfile::tempdir().expect("a temporary data dir");
    let local = LocalBackend::open(
        dir.path(),
        LocalOptions {
            domain: "conformance".into(),
            poll_interval: Duration::from_millis(20),
            long_poll: Duration::from_millis(500),
        },
    )
    .expect("open the embedded backend");
    Fixture {
        backend: local.backend(),
        _dir: Some(dir),
        _swf: None,
    }
}

/// The AWS backend on this test binary's shared moto, under a prefix of its
/// own: its own SWF domain, and bucket and queue names no other test uses.
pub async fn aws() -> Fixture {
    let moto = shared_moto();
    let settings = pressbot_aws::testing::test_settings(&moto.endpoint(), &unique_prefix());
    let aws = pressbot_aws::AwsBackend::connect_with_credentials(
        &settings,
        pressbot_aws::testing::test_credentials(),
    )
    .await
    .expect("test settings are valid");
    Fixture {
        backend: aws.backend(),
        _dir: None,
        _swf: None,
    }
}

/// The AWS backend with its endpoint on a fresh [`SwfStandIn`] (backed by
/// the embedded backend), for the SWF behaviour moto lacks. Only the
/// workflow service is usable: the stand-in answers SQS and S3 requests
/// with `UnknownOperationException`.
///
/// History pages hold two events, so every decision task and history the
/// suite reads comes in several pages through the adapter's page loops.
pub async fn aws_on_swf_stand_in() -> Fixture {
    aws_on_swf_stand_in_with(Options::default(), RetrySettings::default()).await
}

/// [`aws_on_swf_stand_in`] with the stand-in's options (e.g. moto's
/// quirks) and the adapter's retry policy.
pub async fn aws_on_swf_stand_in_with(options: Options, retry: RetrySettings) -> Fixture {
    let swf = SwfStandIn::start_with(options).await;
    let mut settings = pressbot_aws::testing::test_settings(&swf.endpoint(), &unique_prefix());
    settings.aws.history_page_size = 2;
    let aws = pressbot_aws::AwsBackend::connect_with_credentials(
        &settings,
        pressbot_aws::testing::test_credentials(),
    )
    .await
    .expect("test settings are valid")
    .with_retry(retry);
    Fixture {
        backend: aws.backend(),
        _dir: None,
        _swf: Some(swf),
    }
}

/// A prefix no other test of this process (or a concurrent one) uses.
pub fn unique_prefix() -> String {
    format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..10])
}

/// One `moto_server` for a whole test binary, on a free loopback port.
///
/// Why not [`pressbot_aws::testing::MotoServer`] in a static: statics are
/// never dropped, so its kill-on-drop would never run and every test binary
/// would leave a moto behind. Instead moto runs under a small `sh` that
/// waits on its stdin, a pipe only this process holds: when the test
/// process exits (normally, by panic or by SIGKILL) the kernel closes the
/// pipe, `read` sees end of file and the shell kills moto.
#[derive(Debug)]
pub struct SharedMoto {
    port: u16,
    log: PathBuf,
    _child: Mutex<(Child, ChildStdin)>,
}

impl SharedMoto {
    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// moto's log (its stderr), for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

static MOTO: OnceLock<SharedMoto> = OnceLock::new();

/// The test binary's moto, started on first use. Panics, saying how to get
/// moto, when it is not installed: the AWS tests never pass silently.
pub fn shared_moto() -> &'static SharedMoto {
    MOTO.get_or_init(start_moto)
}

fn start_moto() -> SharedMoto {
    let Some(server) = pressbot_aws::testing::moto_server_path() else {
        panic!(
            "moto_server not found (looked at ${} and {}). \
             Install it with `bash scripts/moto/ensure-moto.sh` (a venv under .build/), \
             or point {} at a moto_server executable.",
            pressbot_aws::testing::MOTO_ENV,
            pressbot_aws::testing::workspace_root()
                .join(".build/moto-venv/bin/moto_server")
                .display(),
            pressbot_aws::testing::MOTO_ENV,
        )
    };
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port");
    let log = std::env::temp_dir().join(format!("pressbot-conformance-moto-{port}.log"));
    let mut child = Command::new("sh")
        .args([
            "-c",
            r#""$0" -H 127.0.0.1 -p "$1" 2>"$2" & m=$!; read _ignored; kill $m; wait $m; rm -f "$2""#,
        ])
        .arg(&server)
        .arg(port.to_string())
        .arg(&log)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {} under sh: {e}", server.display()));
    let stdin = child.stdin.take().expect("piped stdin");
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let limit = Duration::from_secs(60);
    let deadline = Instant::now() + limit;
    loop {
        let read_log = || {
            let mut s = String::new();
            if let Ok(mut f) = std::fs::File::open(&log) {
                let _ = f.read_to_string(&mut s);
            }
            s
        };
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "moto_server exited at start-up ({status}); its log:\n{}",
                read_log()
            );
        }
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            break;
        }
        if Instant::now() > deadline {
            panic!(
                "moto_server did not listen on {addr} within {limit:?}; its log:\n{}",
                read_log()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    SharedMoto {
        port,
        log,
        _child: Mutex::new((child, stdin)),
    }
}
