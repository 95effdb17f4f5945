//! How durations read for people, the same in the dashboard and in every
//! `pressbot` report, so one execution shows one duration everywhere.

/// Format a duration for humans: `1.234s`, `2m 3s`.
pub fn human(d: std::time::Duration) -> String {
    if d.as_secs() < 60 {
        format!("{:.3}s", d.as_secs_f64())
    } else {
        humantime::format_duration(std::time::Duration::from_secs(d.as_secs())).to_string()
    }
}
