//! The `up-figures` scenario (issue "Images at the hardware limit"): the
//! whole pipeline on a set of multi-figure packages, as an operator runs
//! it — one `pressbot up --ingest <every package> --until-idle` process,
//! measured by GNU time (wall, user + sys CPU, peak RSS of the whole
//! process) — then ImageMagick and pressbot's own resize alone on the same
//! figures, in the same run, for the ratio the issue sets (the whole
//! pipeline at ≤ 1/3 of ImageMagick's CPU for the images alone).
//!
//! Needs `/usr/bin/time` and ImageMagick's `/usr/bin/convert` (Debian:
//! `time`, `imagemagick`; the test command installs both).

use super::history::stats_of;
use super::list;
use crate::install::Install;
use crate::numbers::round;
use crate::packages::{self, Generated};
use crate::Args;
use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// The renditions and quality of `settings/default.toml`
/// (`activities.image_widths`, `activities.jpeg_quality`), which the
/// installation uses: ImageMagick and the images-only run make the same.
const WIDTHS: [u32; 2] = [1500, 617];
const QUALITY: u8 = 85;

const GNU_TIME: &str = "/usr/bin/time";
const CONVERT: &str = "/usr/bin/convert";

/// What GNU time said of one command.
#[derive(Debug, Default, Clone, Copy)]
struct Timed {
    wall_s: f64,
    user_s: f64,
    sys_s: f64,
    max_rss_kb: u64,
}

impl Timed {
    fn cpu_s(&self) -> f64 {
        self.user_s + self.sys_s
    }
}

/// `command` under GNU time (`-o report`); its success and the figures.
fn timed(mut command: Command, report: &Path) -> Result<(std::process::ExitStatus, Timed)> {
    let status = command
        .status()
        .with_context(|| format!("running {GNU_TIME} (apt-get install time)"))?;
    let text = std::fs::read_to_string(report)
        .with_context(|| format!("reading GNU time's report {}", report.display()))?;
    // A failed command's report starts with "Command exited with ...".
    let v: Vec<f64> = text
        .lines()
        .last()
        .unwrap_or("")
        .split_whitespace()
        .filter_map(|s| s.parse().ok())
        .collect();
    if v.len() != 4 {
        bail!("unexpected GNU time report: {text:?}");
    }
    Ok((
        status,
        Timed {
            wall_s: v[0],
            user_s: v[1],
            sys_s: v[2],
            max_rss_kb: v[3] as u64,
        },
    ))
}

fn gnu_time(report: &Path) -> Command {
    let mut c = Command::new(GNU_TIME);
    c.arg("-f").arg("%e %U %S %M").arg("-o").arg(report);
    c
}

fn load_average() -> Value {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let v: Vec<f64> = text
        .split_whitespace()
        .take(3)
        .filter_map(|s| s.parse().ok())
        .collect();
    json!(v)
}

/// A loopback address the OS just handed out and released.
fn free_addr() -> Result<String> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .to_string())
}

pub(crate) async fn up_figures(args: &Args) -> Result<Value> {
    for tool in [GNU_TIME, CONVERT] {
        if !Path::new(tool).exists() {
            bail!("{tool} not found: apt-get install time imagemagick");
        }
    }
    let mut inst = Install::new(args, None)?;
    let sources = if args.quick {
        packages::QUICK
    } else {
        packages::FULL
    };
    let work = inst.dir.path().join("set");
    let repo = args.repo.canonicalize().context("repository root")?;
    let (quick, w) = (args.quick, work.clone());
    let set: Generated =
        tokio::task::spawn_blocking(move || packages::generate(&repo, sources, &w, quick))
            .await??;
    eprintln!(
        "  generated {} packages, {} figures ({:.0} MP, {:.0} MB of packages)",
        set.packages.len(),
        set.figures.len(),
        set.megapixels,
        set.package_bytes as f64 / 1e6
    );
    let load_before = load_average();

    // 1. The whole pipeline: one `pressbot up` over the set.
    let cms = free_addr()?;
    for (k, v) in [
        ("PRESSBOT__CMS__EMBEDDED_LISTEN", cms.clone()),
        (
            "PRESSBOT__ACTIVITIES__CDN_BASE_URL",
            format!("http://{cms}/cdn"),
        ),
        ("PRESSBOT__LOCAL__OBJECT_LISTEN", free_addr()?),
        ("PRESSBOT__DASHBOARD__LISTEN", free_addr()?),
    ] {
        inst.env.push((k.into(), v));
    }
    let report = work.join("up.time");
    let mut up = inst.command_of(Path::new(GNU_TIME));
    up.arg("-f")
        .arg("%e %U %S %M")
        .arg("-o")
        .arg(&report)
        .arg(inst.bin_path("pressbot")?)
        .arg("up")
        .arg("--ingest")
        .args(&set.packages)
        .args(["--until-idle", "--timeout", "30m"])
        .stdout(std::fs::File::create(work.join("up.out"))?)
        .stderr(std::fs::File::create(work.join("up.log"))?);
    eprintln!(
        "  pressbot up --ingest <{} packages> --until-idle",
        set.packages.len()
    );
    let (status, up_t) = tokio::task::spawn_blocking(move || timed(up, &report)).await??;
    if !status.success() {
        let out = std::fs::read_to_string(work.join("up.out")).unwrap_or_default();
        let log = std::fs::read_to_string(work.join("up.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(20).collect();
        bail!(
            "pressbot up exited with {status}:\n{out}\nlast log lines:\n{}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
    let backend = inst.backend().await?;
    let closed = list(&backend, false).await?;
    let stats = stats_of(&backend, &closed).await?;
    let mean_activity_ms: serde_json::Map<String, Value> = stats
        .activity_ms
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                json!(round(v.iter().sum::<f64>() / v.len().max(1) as f64, 1)),
            )
        })
        .collect();
    drop(backend);

    // 2. ImageMagick on the same figures, one call per width (the old
    // bot's command), one thread (MAGICK_THREAD_LIMIT=1: its OpenMP
    // threads would only add CPU on a 2-core box).
    let figures = set.figures.clone();
    let out_dir = work.join("imagemagick");
    std::fs::create_dir_all(&out_dir)?;
    eprintln!("  ImageMagick on the {} figures", figures.len());
    let im = tokio::task::spawn_blocking(move || -> Result<(Timed, u64)> {
        let mut sum = Timed::default();
        let mut out_bytes = 0;
        for (i, f) in figures.iter().enumerate() {
            for width in WIDTHS {
                let out = out_dir.join(format!("{i}-{width}.jpg"));
                let report = out_dir.join("convert.time");
                let mut c = gnu_time(&report);
                c.env("MAGICK_THREAD_LIMIT", "1")
                    .arg(CONVERT)
                    .arg(f)
                    .args(["-auto-orient", "-colorspace", "sRGB"])
                    .args(["-alpha", "remove", "-filter", "Catrom", "-resize"])
                    .arg(format!("{width}x>"))
                    .args(["-quality", &QUALITY.to_string()])
                    .arg(&out)
                    .stdout(Stdio::null());
                let (status, t) = timed(c, &report)?;
                if !status.success() {
                    bail!("convert failed on {}", f.display());
                }
                out_bytes += std::fs::metadata(&out)?.len();
                std::fs::remove_file(&out)?;
                sum.wall_s += t.wall_s;
                sum.user_s += t.user_s;
                sum.sys_s += t.sys_s;
                sum.max_rss_kb = sum.max_rss_kb.max(t.max_rss_kb);
            }
        }
        Ok((sum, out_bytes))
    })
    .await??;

    // 3. pressbot's resize alone on the same figures, one at a time on one
    // thread of this process: the images' share of the pipeline's CPU.
    let figures = set.figures.clone();
    eprintln!("  pressbot's resize alone on the {} figures", figures.len());
    let alone = tokio::task::spawn_blocking(move || -> Result<(Duration, u64)> {
        use pressbot_activities::images::{resize_figure, ImageLimits};
        let mut cpu = Duration::ZERO;
        let mut out_bytes = 0;
        for f in &figures {
            let data = std::fs::read(f)?;
            let name = f.file_name().map(|n| n.to_string_lossy().into_owned());
            let name = name.unwrap_or_default();
            let t0 = thread_cpu();
            let r = resize_figure(&data, &name, &WIDTHS, QUALITY, &ImageLimits::DEFAULT)?;
            cpu += thread_cpu().saturating_sub(t0);
            out_bytes += r.jpegs.iter().map(|j| j.jpeg.len() as u64).sum::<u64>();
        }
        Ok((cpu, out_bytes))
    })
    .await??;
    let load_after = load_average();

    let n = set.figures.len().max(1) as f64;
    let (im_t, im_bytes) = im;
    let (alone_cpu, alone_bytes) = alone;
    let mb = set.package_bytes as f64 / 1e6;
    let wall = up_t.wall_s.max(0.01);
    Ok(json!({
        "packages": set.packages.len(),
        "figures": set.figures.len(),
        "figure_megapixels": round(set.megapixels, 1),
        "package_mb": round(mb, 1),
        "figure_tiff_mb": round(set.figure_bytes as f64 / 1e6, 1),
        "completed": stats.completed_workflows,
        "first_failure": stats.first_failure,
        "load_average_before": load_before,
        "load_average_after": load_after,
        "up": {
            "wall_s": up_t.wall_s,
            "user_s": up_t.user_s,
            "sys_s": up_t.sys_s,
            "cpu_s": round(up_t.cpu_s(), 2),
            "peak_rss_mb": round(up_t.max_rss_kb as f64 / 1024.0, 1),
            "packages_per_min": round(set.packages.len() as f64 * 60.0 / wall, 1),
            "mb_per_s": round(mb / wall, 2),
            "cpu_ms_per_figure": round(up_t.cpu_s() * 1000.0 / n, 1),
            "mean_activity_ms": mean_activity_ms,
        },
        "imagemagick": {
            "cpu_s": round(im_t.cpu_s(), 2),
            "wall_s": round(im_t.wall_s, 2),
            "cpu_ms_per_figure": round(im_t.cpu_s() * 1000.0 / n, 1),
            "peak_rss_mb": round(im_t.max_rss_kb as f64 / 1024.0, 1),
            "jpeg_mb": round(im_bytes as f64 / 1e6, 2),
        },
        "pressbot_resize_alone": {
            "cpu_s": round(alone_cpu.as_secs_f64(), 2),
            "cpu_ms_per_figure": round(alone_cpu.as_secs_f64() * 1000.0 / n, 1),
            "jpeg_mb": round(alone_bytes as f64 / 1e6, 2),
        },
        "imagemagick_cpu_over_up_cpu": round(im_t.cpu_s() / up_t.cpu_s().max(0.001), 2),
        "imagemagick_cpu_over_resize_alone_cpu": round(im_t.cpu_s() / alone_cpu.as_secs_f64().max(0.001), 2),
    }))
}

/// CPU time of the calling thread (`/proc/thread-self/schedstat`, ns):
/// precise where `/proc/<pid>/stat` counts 10 ms ticks.
fn thread_cpu() -> Duration {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    let ns = text
        .split_whitespace()
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Duration::from_nanos(ns)
}
