//! ResizeImages against ImageMagick on the same generated figures, in one
//! run: CPU time, wall time, output size and SSIM (luma) of pressbot's web
//! JPEGs against ImageMagick's, per figure and in total.
//!
//! Why a plain binary and not criterion: the comparison is CPU seconds of
//! two different programs (ImageMagick runs as a child process), and the
//! quality check (SSIM, sizes) belongs next to the timing.
//!
//! Needs `convert` (Debian: `apt-get install imagemagick`).
//! Run: `cargo bench -p pressbot-activities --bench images_vs_imagemagick`
//! Quick (2 MP figures, one round): add `-- --quick`.
//! The ImageMagick command is the old bot's: `convert IN -auto-orient
//! -colorspace sRGB -alpha remove -filter Catrom -resize 'Wx>' -quality 85 OUT` once per
//! width (`-alpha remove` flattens on the default white background and
//! `>` only shrinks, as pressbot does). Set PRESSBOT_BENCH_KEEP=dir to keep
//! both programs' JPEGs there.

#[path = "support/figures.rs"]
mod figures;

use pressbot_activities::images::{resize_figure, resize_figure_owned, ImageLimits};
use std::process::Command;
use std::time::{Duration, Instant};

const WIDTHS: [u32; 2] = [1500, 617];
const QUALITY: u8 = 85;

/// CPU time of the calling thread, in nanoseconds
/// (`/proc/thread-self/schedstat`, first field): `resize_figure` runs on
/// the calling thread, and this is precise where `/proc/self/stat` counts
/// 10 ms ticks.
fn thread_cpu() -> Duration {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    let ns = text
        .split_whitespace()
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Duration::from_nanos(ns)
}

/// Run ImageMagick under GNU time; returns (user+sys CPU, max RSS kB).
fn imagemagick(input: &std::path::Path, out: &std::path::Path, width: u32) -> (Duration, u64) {
    let report = out.with_extension("time");
    let status = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%U %S %M")
        .arg("-o")
        .arg(&report)
        // Debian's ImageMagick by its path: a `convert` earlier on PATH may
        // be something else.
        .arg("/usr/bin/convert")
        .arg(input)
        .args([
            "-auto-orient",
            "-alpha",
            "remove",
            "-filter",
            "Catrom",
            "-resize",
        ])
        // `>`: only shrink, as pressbot.
        .arg(format!("{width}x>"))
        .args(["-quality", &QUALITY.to_string()])
        .arg(out)
        .status()
        .expect("running /usr/bin/time convert (apt-get install imagemagick time)");
    assert!(status.success(), "convert failed on {}", input.display());
    let text = std::fs::read_to_string(&report).unwrap_or_default();
    let v: Vec<f64> = text
        .lines()
        .last()
        .unwrap_or("")
        .split_whitespace()
        .filter_map(|s| s.parse().ok())
        .collect();
    (
        Duration::from_secs_f64(v.first().unwrap_or(&0.0) + v.get(1).unwrap_or(&0.0)),
        v.get(2).copied().unwrap_or(0.0) as u64,
    )
}

fn luma(img: &image::DynamicImage) -> (u32, u32, Vec<f32>) {
    let rgb = img.to_rgb8();
    let y = rgb
        .pixels()
        .map(|p| 0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32)
        .collect();
    (rgb.width(), rgb.height(), y)
}

/// Mean SSIM and PSNR (dB) of the luma of two images over 8×8 windows (step 4) on their
/// common area (ImageMagick rounds heights, pressbot truncates: they may
/// differ by one row).
fn ssim_psnr(a: &[u8], b: &[u8]) -> (f64, f64) {
    let (aw, _ah, ay) = luma(&image::load_from_memory(a).expect("pressbot jpeg"));
    let (bw, _bh, by) = luma(&image::load_from_memory(b).expect("imagemagick jpeg"));
    let (ah, bh) = (ay.len() as u32 / aw, by.len() as u32 / bw);
    let (w, h) = (aw.min(bw), ah.min(bh));
    let (c1, c2) = ((0.01f64 * 255.0).powi(2), (0.03f64 * 255.0).powi(2));
    let (mut total, mut n) = (0.0, 0u64);
    let mut se = 0.0f64;
    for y in 0..h {
        for x in 0..w {
            let d = f64::from(ay[(y * aw + x) as usize] - by[(y * bw + x) as usize]);
            se += d * d;
        }
    }
    let psnr = 10.0 * (255.0f64.powi(2) / (se / f64::from(w * h)).max(1e-9)).log10();
    let mut y0 = 0;
    while y0 + 8 <= h {
        let mut x0 = 0;
        while x0 + 8 <= w {
            let (mut sa, mut sb, mut saa, mut sbb, mut sab) = (0.0f64, 0.0, 0.0, 0.0, 0.0);
            for y in y0..y0 + 8 {
                for x in x0..x0 + 8 {
                    let p = f64::from(ay[(y * aw + x) as usize]);
                    let q = f64::from(by[(y * bw + x) as usize]);
                    sa += p;
                    sb += q;
                    saa += p * p;
                    sbb += q * q;
                    sab += p * q;
                }
            }
            let (ma, mb) = (sa / 64.0, sb / 64.0);
            let (va, vb, cov) = (
                saa / 64.0 - ma * ma,
                sbb / 64.0 - mb * mb,
                sab / 64.0 - ma * mb,
            );
            total += ((2.0 * ma * mb + c1) * (2.0 * cov + c2))
                / ((ma * ma + mb * mb + c1) * (va + vb + c2));
            n += 1;
            x0 += 4;
        }
        y0 += 4;
    }
    (if n == 0 { 1.0 } else { total / n as f64 }, psnr)
}

/// `VmHWM` / `VmRSS` of this process in kB.
fn status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

/// Child mode (`--one FILE`): resize one figure and print the peak RSS
/// above the process's RSS before reading it, and its decoded RGB8 size.
fn one(path: &str) {
    let before = status_kb("VmRSS:");
    let data = std::fs::read(path).expect("figure");
    // As ResizeImages: the file's bytes freed once decoded.
    let r =
        resize_figure_owned(data, path, &WIDTHS, QUALITY, &ImageLimits::DEFAULT).expect("resize");
    let decoded_kb = u64::from(r.width) * u64::from(r.height) * 3 / 1024;
    println!(
        "{} {}",
        status_kb("VmHWM:").saturating_sub(before),
        decoded_kb
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--one") {
        return one(&args[i + 1]);
    }
    // `cargo test --benches` runs this without `--bench`: quick mode then.
    let quick = args.iter().any(|a| a == "--quick") || !args.iter().any(|a| a == "--bench");
    let (mp, rounds) = if quick { (2.0, 1) } else { (4.0, 3) };
    let dir = tempfile::tempdir().expect("temp dir");
    let set = figures::set(mp);
    println!(
        "{} figures of {mp} MP, widths {WIDTHS:?}, q{QUALITY}, {rounds} round(s), {} cores",
        set.len(),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "{:<16} {:>9} {:>9} {:>6} {:>9} {:>9} {:>7} {:>7} {:>7} {:>7}",
        "figure",
        "IM cpu",
        "pb cpu",
        "ratio",
        "IM wall",
        "pb wall",
        "IM kB",
        "pb kB",
        "size%",
        "SSIM"
    );
    let limits = ImageLimits::DEFAULT;
    let (mut im_cpu_t, mut pb_cpu_t, mut im_wall_t, mut pb_wall_t) = (
        Duration::ZERO,
        Duration::ZERO,
        Duration::ZERO,
        Duration::ZERO,
    );
    let mut min_ssim = 1.0f64;
    for (name, data) in &set {
        let input = dir.path().join(name);
        std::fs::write(&input, data).expect("writing figure");
        let (mut im_cpu, mut im_wall, mut pb_cpu, mut pb_wall) = (
            Duration::ZERO,
            Duration::ZERO,
            Duration::ZERO,
            Duration::ZERO,
        );
        let mut im_out = Vec::new();
        let mut pb_out = Vec::new();
        for _ in 0..rounds {
            im_out.clear();
            for w in WIDTHS {
                let out = dir.path().join(format!("{name}-{w}.jpg"));
                let t = Instant::now();
                let (cpu, _rss) = imagemagick(&input, &out, w);
                im_wall += t.elapsed();
                im_cpu += cpu;
                im_out.push(std::fs::read(&out).expect("IM output"));
            }
            let (c0, t) = (thread_cpu(), Instant::now());
            let r = resize_figure(data, name, &WIDTHS, QUALITY, &limits).expect("pressbot resize");
            pb_wall += t.elapsed();
            pb_cpu += thread_cpu().saturating_sub(c0);
            pb_out = r.jpegs.into_iter().map(|j| j.jpeg).collect();
            if let Ok(keep) = std::env::var("PRESSBOT_BENCH_KEEP") {
                for (i, w) in WIDTHS.iter().enumerate() {
                    let k = std::path::Path::new(&keep);
                    let _ = std::fs::write(k.join(format!("{name}-{w}-pressbot.jpg")), &pb_out[i]);
                    let _ = std::fs::write(k.join(format!("{name}-{w}-im.jpg")), &im_out[i]);
                }
            }
        }
        for (i, w) in WIDTHS.iter().enumerate() {
            let (s, psnr) = ssim_psnr(&pb_out[i], &im_out[i]);
            min_ssim = min_ssim.min(s);
            println!(
                "{:<20} {:>7} {:>7} {:>6} {:>7} {:>7} {:>6} {:>6} {:>+6.1}% {:>7.4} {:>5.1}",
                format!("{name}@{w}"),
                if i == 0 {
                    format!("{:.0?}", im_cpu / rounds)
                } else {
                    String::new()
                },
                if i == 0 {
                    format!("{:.0?}", pb_cpu / rounds)
                } else {
                    String::new()
                },
                if i == 0 {
                    format!(
                        "{:.1}x",
                        im_cpu.as_secs_f64() / pb_cpu.as_secs_f64().max(1e-3)
                    )
                } else {
                    String::new()
                },
                if i == 0 {
                    format!("{:.0?}", im_wall / rounds)
                } else {
                    String::new()
                },
                if i == 0 {
                    format!("{:.0?}", pb_wall / rounds)
                } else {
                    String::new()
                },
                im_out[i].len() / 1024,
                pb_out[i].len() / 1024,
                100.0 * (pb_out[i].len() as f64 / im_out[i].len() as f64 - 1.0),
                s,
                psnr
            );
        }
        // Peak memory of pressbot for this figure alone, in a child process.
        let child = Command::new(std::env::current_exe().expect("own path"))
            .arg("--one")
            .arg(&input)
            .output()
            .expect("child");
        let rss = String::from_utf8_lossy(&child.stdout).to_string();
        let v: Vec<f64> = rss
            .split_whitespace()
            .filter_map(|s| s.parse().ok())
            .collect();
        if let [peak, decoded] = v[..] {
            println!(
                "{:<20} peak RSS above start {:.0} MB = {:.2}x the decoded RGB8 figure ({:.0} MB)",
                "",
                peak / 1024.0,
                peak / decoded.max(1.0),
                decoded / 1024.0
            );
        }
        im_cpu_t += im_cpu;
        pb_cpu_t += pb_cpu;
        im_wall_t += im_wall;
        pb_wall_t += pb_wall;
    }
    // What honouring an embedded ICC profile costs: the RGB PNG again with
    // a Display P3 profile (pressbot only: this ImageMagick command keeps
    // the profile rather than converting, so there is nothing to compare).
    if let Some((_, png)) = set.iter().find(|(n, _)| n == "rgb.png") {
        let img = image::load_from_memory(png).expect("png").to_rgb8();
        let mut p3 = Vec::new();
        let mut enc = image::codecs::png::PngEncoder::new(&mut p3);
        image::ImageEncoder::set_icc_profile(
            &mut enc,
            moxcms::ColorProfile::new_display_p3()
                .encode()
                .expect("P3 profile"),
        )
        .expect("PNG takes ICC");
        image::ImageEncoder::write_image(
            enc,
            img.as_raw(),
            img.width(),
            img.height(),
            image::ExtendedColorType::Rgb8,
        )
        .expect("png");
        let mut cpu = [Duration::ZERO; 2];
        for _ in 0..rounds {
            for (k, data) in [png, &p3].into_iter().enumerate() {
                let c0 = thread_cpu();
                resize_figure(data, "icc.png", &WIDTHS, QUALITY, &limits).expect("resize");
                cpu[k] += thread_cpu().saturating_sub(c0);
            }
        }
        println!(
            "ICC: rgb.png without profile {:.0?}, with Display P3 (-> sRGB) {:.0?} CPU",
            cpu[0] / rounds,
            cpu[1] / rounds
        );
    }
    // The package: all figures at once, one thread per core, as
    // ResizeImages does; wall time against one after the other.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let t = Instant::now();
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..cores {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some((name, data)) = set.get(i) else {
                    break;
                };
                resize_figure(data, name, &WIDTHS, QUALITY, &limits).expect("pressbot resize");
            });
        }
    });
    println!(
        "package of {} figures on {cores} threads: wall {:.2?} (one after the other: {:.2?})",
        set.len(),
        t.elapsed(),
        pb_wall_t / rounds
    );
    println!(
        "total per round: ImageMagick cpu {:.2?} wall {:.2?}; pressbot cpu {:.2?} wall {:.2?}; \
         CPU ratio {:.2}x; min SSIM {:.4}",
        im_cpu_t / rounds,
        im_wall_t / rounds,
        pb_cpu_t / rounds,
        pb_wall_t / rounds,
        im_cpu_t.as_secs_f64() / pb_cpu_t.as_secs_f64().max(1e-3),
        min_ssim
    );
}
