//! CPU time and resident memory read from `/proc`: what an operator's `top`
//! would show, taken without any help from the measured process.

use anyhow::{Context, Result};

/// utime + stime of the calling thread, in clock ticks.
pub(crate) fn thread_cpu_ticks() -> Result<u64> {
    stat_cpu_ticks(&std::fs::read_to_string("/proc/thread-self/stat")?)
}

/// utime + stime of a process, in clock ticks.
pub(crate) fn cpu_ticks(pid: u32) -> Result<u64> {
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
pub(crate) fn ticks_ms(ticks: u64) -> f64 {
    ticks as f64 * 10.0
}

/// (VmRSS, VmHWM) in kB.
pub(crate) fn rss_kb(pid: u32) -> Result<(u64, u64)> {
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
