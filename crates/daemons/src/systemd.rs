//! systemd integration for `Type=notify` units: `READY=1` once a daemon is
//! up, `WATCHDOG=1` while its poll loops are alive, `STOPPING=1` when it
//! starts draining. Outside systemd (`NOTIFY_SOCKET` unset) all of this is a
//! no-op, so the same binaries run from a terminal or a test.

use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// A poll in flight longer than this means a loop is stuck: well above the
/// longest long poll (SWF's 60 s, plus the 70 s read timeout), so a quiet
/// system never trips it.
pub const STALL: Duration = Duration::from_secs(300);

fn notify(state: sd_notify::NotifyState<'_>) {
    if let Err(e) = sd_notify::notify(false, &[state]) {
        tracing::warn!(error = %e, "could not notify systemd");
    }
}

/// Tell systemd the daemon has started (sockets bound, backend connected).
pub fn ready() {
    notify(sd_notify::NotifyState::Ready);
}

/// Tell systemd the daemon is stopping, so it waits (up to
/// `TimeoutStopSec`) instead of treating the drain as a hang.
pub fn stopping() {
    notify(sd_notify::NotifyState::Stopping);
}

/// The watchdog interval systemd asked for (`WATCHDOG_USEC`), if any.
pub fn watchdog_interval() -> Option<Duration> {
    let mut usec = 0u64;
    sd_notify::watchdog_enabled(false, &mut usec).then(|| Duration::from_micros(usec))
}

/// Start-up to shutdown: sends `READY=1` now, pings the watchdog at half
/// its interval while every poll loop is alive and no poll is stuck, and
/// sends `STOPPING=1` when `shutdown` fires. A dead or stuck loop stops the
/// pings, so systemd kills and restarts the process (`Restart=always`).
pub fn start(shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
    ready();
    let interval = watchdog_interval();
    tokio::spawn(async move {
        let Some(interval) = interval else {
            shutdown.cancelled().await;
            stopping();
            return;
        };
        let every = (interval / 2).max(Duration::from_millis(50));
        tracing::info!(watchdog = ?interval, ping_every = ?every, "systemd watchdog enabled");
        let mut warned = false;
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => {
                    stopping();
                    return;
                }
                _ = tokio::time::sleep(every) => {}
            }
            match crate::metrics::liveness().healthy(STALL) {
                Ok(()) => {
                    warned = false;
                    notify(sd_notify::NotifyState::Watchdog);
                }
                Err(why) if !warned => {
                    warned = true;
                    tracing::error!(reason = %why, "poll loops unhealthy: no longer feeding the systemd watchdog");
                }
                Err(_) => {}
            }
        }
    })
}
