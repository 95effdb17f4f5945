//! Signals: the first SIGTERM, SIGINT or SIGHUP cancels the shutdown token
//! (graceful stop); a second one exits the process at once.
//!
//! SIGHUP drains like SIGTERM rather than reloading: settings are read and
//! validated once at start-up (see `app`), so the safe way to apply new
//! settings is a graceful stop and a restart by the supervisor; and a
//! daemon whose terminal goes away should not die mid-activity (SIGHUP's
//! default action) but hand its work back cleanly.

use tokio_util::sync::CancellationToken;

/// Install the signal handlers; returns the token daemons watch.
pub fn install() -> CancellationToken {
    let token = CancellationToken::new();
    let t = token.clone();
    tokio::spawn(async move {
        let mut count = 0;
        loop {
            wait_signal().await;
            count += 1;
            if count == 1 {
                tracing::info!("stop requested: no new polls, finishing in-flight work (signal again to exit at once)");
                t.cancel();
            } else {
                tracing::warn!("second stop signal: exiting now");
                std::process::exit(130);
            }
        }
    });
    token
}

#[cfg(unix)]
async fn wait_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    let hangup = signal(SignalKind::hangup());
    let hangup = async {
        match hangup {
            Ok(mut h) => {
                h.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = hangup => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

#[cfg(not(unix))]
async fn wait_signal() {
    let _ = tokio::signal::ctrl_c().await;
}
