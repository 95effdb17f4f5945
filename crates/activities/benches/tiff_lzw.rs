//! LZW strip decoding of RGB8 TIFF figures (issue 15): what one LZW code
//! costs, how much of it is per strip (reset, call) rather than per code,
//! and what `resize_figure` costs on the same figures.
//!
//! Why a plain binary and not criterion: the figures wanted are per code
//! and per strip, which are derived from the stream (codes are counted
//! here), and the `resize_figure` CPU is thread CPU as in
//! `images_vs_imagemagick`, to compare against that table.
//!
//! Run: `cargo bench -p pressbot-activities --bench tiff_lzw`
//! (`-- --quick`: 1 MP only, one round). The figures are those of
//! `support/figures.rs` (1, 2 and 4 MP, 4:3), RGB8 LZW without and with
//! the horizontal predictor, in libtiff's ~8 KB strips ("8K": one row per
//! strip at these widths, as eLife's TIFFs) and in the `tiff` encoder's
//! ~1 MB ones ("1M").

#[path = "support/figures.rs"]
mod figures;

use pressbot_activities::images::{resize_figure, tiff_lzw, ImageLimits};
use std::hint::black_box;
use std::time::{Duration, Instant};
use tiff::decoder::Decoder;
use tiff::tags::Tag;

/// CPU time of the calling thread (`/proc/thread-self/schedstat`).
fn thread_cpu() -> Duration {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    Duration::from_nanos(
        text.split_whitespace()
            .next()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0),
    )
}

/// A figure's LZW strips: each compressed stream and its decoded size.
struct Strips<'a> {
    streams: Vec<&'a [u8]>,
    sizes: Vec<usize>,
}

fn strips(data: &[u8]) -> Strips<'_> {
    let mut dec = Decoder::new(std::io::Cursor::new(data)).expect("tiff");
    let (w, h) = dec.dimensions().expect("dimensions");
    let offsets = dec
        .find_tag_unsigned_vec::<u64>(Tag::StripOffsets)
        .expect("offsets")
        .expect("offsets");
    let counts = dec
        .find_tag_unsigned_vec::<u64>(Tag::StripByteCounts)
        .expect("counts")
        .expect("counts");
    let rows = dec
        .find_tag_unsigned::<u32>(Tag::RowsPerStrip)
        .expect("rows per strip")
        .unwrap_or(h);
    let streams = offsets
        .iter()
        .zip(&counts)
        .map(|(&o, &c)| &data[o as usize..(o + c) as usize])
        .collect::<Vec<_>>();
    let sizes = (0..streams.len() as u32)
        .map(|i| (rows.min(h - i * rows) * w * 3) as usize)
        .collect();
    Strips { streams, sizes }
}

/// Codes in a TIFF LZW stream up to its EOI (or the decoded size reached),
/// read with TIFF's code-size switch: counted here, independently of
/// either decoder.
fn count_codes(stream: &[u8], size: usize) -> usize {
    let (mut pos, mut bits, mut nbits) = (0usize, 0u64, 0u32);
    let (mut next, mut width, mut codes, mut out) = (258u32, 9u32, 0usize, 0usize);
    let mut prev_len: Option<usize> = None;
    let mut lens = vec![0usize; 4096];
    loop {
        while nbits < width && pos < stream.len() {
            bits = (bits << 8) | u64::from(stream[pos]);
            pos += 1;
            nbits += 8;
        }
        if nbits < width || out >= size {
            return codes;
        }
        let code = ((bits >> (nbits - width)) & ((1 << width) - 1)) as u32;
        nbits -= width;
        codes += 1;
        match code {
            256 => {
                (next, width, prev_len) = (258, 9, None);
                continue;
            }
            257 => return codes,
            _ => {}
        }
        let len = if code < 256 {
            1
        } else if code < next {
            lens[code as usize]
        } else {
            prev_len.unwrap_or(0) + 1
        };
        if let Some(p) = prev_len {
            if next < 4096 {
                lens[next as usize] = p + 1;
                next += 1;
                width = match next {
                    0..511 => 9,
                    511..1023 => 10,
                    1023..2047 => 11,
                    _ => 12,
                };
            }
        }
        out += len;
        prev_len = Some(len);
    }
}

/// The strip loop of `tiff_strips::LzwChunks::read` before issue 15's
/// decoder: one weezl decoder, reset per strip, driven until the strip is
/// full.
fn weezl_strip(dec: &mut weezl::decode::Decoder, src: &[u8], out: &mut [u8]) {
    dec.reset();
    let (mut read, mut written) = (0, 0);
    while written < out.len() {
        let r = dec.decode_bytes(&src[read..], &mut out[written..]);
        read += r.consumed_in;
        written += r.consumed_out;
        match r.status {
            Ok(weezl::LzwStatus::Ok) if r.consumed_in + r.consumed_out > 0 => {}
            Ok(_) if written == out.len() => {}
            other => panic!("weezl: {other:?} at {written} of {}", out.len()),
        }
    }
}

fn weezl_decoder(yield_on_full: bool) -> weezl::decode::Decoder {
    weezl::decode::Configuration::with_tiff_size_switch(weezl::BitOrder::Msb, 8)
        .with_yield_on_full_buffer(yield_on_full)
        .build()
}

/// Best (least) wall time of `rounds` runs of `f` over the whole figure.
fn best(rounds: usize, mut f: impl FnMut()) -> Duration {
    (0..rounds)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick") || !args.iter().any(|a| a == "--bench");
    let (sizes, rounds): (&[f32], usize) = if quick {
        (&[1.0], 1)
    } else {
        (&[1.0, 2.0, 4.0], 7)
    };
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average at start: {}", load.trim());
    println!(
        "{:<18} {:>6} {:>8} {:>7} {:>6} {:>9} {:>9} {:>8} {:>8} {:>9}",
        "figure",
        "strips",
        "codes/st",
        "B/code",
        "in/cd",
        "decoder",
        "ms/fig",
        "ms/MP",
        "ns/code",
        "ns/strip"
    );
    let mut resize_rows = Vec::new();
    for &mp in sizes {
        let w = ((mp * 1e6 * 4.0 / 3.0).sqrt()) as u32;
        let h = w * 3 / 4;
        let pic = figures::picture(w, h, 7);
        let libtiff_rows = Some((figures::LIBTIFF_STRIP_BYTES / (w * 3)).max(1));
        let figs = [
            ("8K", false, libtiff_rows),
            ("8K pred", true, libtiff_rows),
            ("1M", false, None),
            ("1M pred", true, None),
        ]
        .map(|(kind, predictor, rows)| {
            (
                kind,
                figures::tiff_rgb8_lzw(w, h, pic.as_raw(), predictor, rows),
            )
        });
        for (kind, data) in &figs {
            let s = strips(data);
            let codes: usize = s
                .streams
                .iter()
                .zip(&s.sizes)
                .map(|(st, &n)| count_codes(st, n))
                .sum();
            let bytes: usize = s.sizes.iter().sum();
            let compressed: usize = s.streams.iter().map(|st| st.len()).sum();
            let mut out = vec![0u8; s.sizes.iter().copied().max().unwrap_or(0)];
            let name = format!("{mp} MP {kind}");
            let strips_n = s.streams.len();
            let report = |decoder: &str, t: Duration| {
                println!(
                    "{:<18} {:>6} {:>8.0} {:>7.2} {:>6.2} {:>9} {:>9.2} {:>8.2} {:>8.2} {:>9.0}",
                    name,
                    strips_n,
                    codes as f64 / strips_n as f64,
                    bytes as f64 / codes as f64,
                    compressed as f64 * 8.0 / codes as f64,
                    decoder,
                    t.as_secs_f64() * 1e3,
                    t.as_secs_f64() * 1e3 / (f64::from(w * h) / 1e6),
                    t.as_secs_f64() * 1e9 / codes as f64,
                    t.as_secs_f64() * 1e9 / strips_n as f64,
                );
            };
            for yield_on_full in [true, false] {
                let mut dec = weezl_decoder(yield_on_full);
                let t = best(rounds, || {
                    for (st, &n) in s.streams.iter().zip(&s.sizes) {
                        weezl_strip(&mut dec, st, &mut out[..n]);
                    }
                    black_box(&out);
                });
                report(if yield_on_full { "weezl" } else { "weezl-ny" }, t);
            }
            let mut dec = tiff_lzw::Decoder::new();
            let t = best(rounds, || {
                for (st, &n) in s.streams.iter().zip(&s.sizes) {
                    dec.decode_strip(st, &mut out[..n]).expect("tiff_lzw");
                }
                black_box(&out);
            });
            report("tiff_lzw", t);
            // A decoder built per strip instead of reset.
            let t = best(rounds, || {
                for (st, &n) in s.streams.iter().zip(&s.sizes) {
                    weezl_strip(&mut weezl_decoder(true), st, &mut out[..n]);
                }
                black_box(&out);
            });
            report("weezl-new", t);
            // Per-strip overhead alone: reset + a call on a stream of one
            // literal (Clear 'a' EOI), as many times as there are strips.
            let tiny = weezl::encode::Encoder::with_tiff_size_switch(weezl::BitOrder::Msb, 8)
                .encode(b"a")
                .expect("encode");
            let mut dec = weezl_decoder(true);
            let t = best(rounds, || {
                for _ in 0..strips_n {
                    weezl_strip(&mut dec, &tiny, &mut out[..1]);
                }
                black_box(&out);
            });
            report("weezl-1B", t);
        }
        for (kind, data) in &figs {
            // Thread CPU is counted in scheduler ticks on some kernels (4 ms
            // steps seen here): the mean over the rounds, and the best wall
            // time beside it.
            let (mut cpu, mut wall) = (Duration::ZERO, Duration::MAX);
            for _ in 0..rounds {
                let (c, t) = (thread_cpu(), Instant::now());
                let r = resize_figure(data, "f.tif", &[1500, 617], 85, &ImageLimits::DEFAULT)
                    .expect("resize");
                black_box(r);
                wall = wall.min(t.elapsed());
                cpu += thread_cpu() - c;
            }
            let cpu = cpu / rounds as u32;
            resize_rows.push((format!("{mp} MP {kind}"), cpu, wall));
        }
    }
    println!("\nresize_figure (1500 + 617 px, q85): mean thread CPU, best wall time");
    for (name, cpu, wall) in resize_rows {
        println!(
            "{name:<18} {:>8.1} ms {:>8.1} ms",
            cpu.as_secs_f64() * 1e3,
            wall.as_secs_f64() * 1e3
        );
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average at end: {}", load.trim());
}
