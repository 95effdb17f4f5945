//! Generated multi-figure article packages for the `up-figures` scenario:
//! real eLife JATS (the fixtures under `tests/fixtures/jats`, CC BY, see
//! `tests/fixtures/NOTICE.md`) with every figure the XML references replaced
//! by a generated TIFF of 1–4 MP, as eLife's figures are, plus placeholders
//! for the other files the XML names and a small PDF.
//!
//! Why generated figures and not real ones: a real 20-package set is
//! ~100 MB of third-party images; the generated ones are deterministic
//! (the same pixels every run, so runs compare) and look like figures to an
//! encoder (smooth shading, 1-px lines, discs, scanner noise: the
//! generator the per-figure ImageMagick bench uses).

#[path = "../../activities/benches/support/figures.rs"]
mod figures;

use anyhow::{Context, Result};
use regex::Regex;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A JATS fixture and how many packages (versions v1..vN) are made of it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Source {
    pub(crate) jats: &'static str,
    pub(crate) id: &'static str,
    pub(crate) packages: usize,
}

/// The issue's set: 20 packages, 180 figures (the fixtures reference 11,
/// 10, 5 and 2 figures: 8 × 11 + 7 × 10 + 4 × 5 + 1 × 2 = 180).
pub(crate) const FULL: &[Source] = &[
    Source {
        jats: "elife-70357-v2.xml",
        id: "70357",
        packages: 8,
    },
    Source {
        jats: "elife-00007-v1.xml",
        id: "00007",
        packages: 7,
    },
    Source {
        jats: "elife-15747-v2.xml",
        id: "15747",
        packages: 4,
    },
    Source {
        jats: "elife-18753-v1.xml",
        id: "18753",
        packages: 1,
    },
];

/// The smoke run's set: 2 packages, 7 small figures.
pub(crate) const QUICK: &[Source] = &[
    Source {
        jats: "elife-18753-v1.xml",
        id: "18753",
        packages: 1,
    },
    Source {
        jats: "elife-15747-v2.xml",
        id: "15747",
        packages: 1,
    },
];

/// What was generated: the package files and each figure (also written
/// alone, for ImageMagick and the images-only run).
#[derive(Debug, Default)]
pub(crate) struct Generated {
    pub(crate) packages: Vec<PathBuf>,
    pub(crate) package_bytes: u64,
    pub(crate) figures: Vec<PathBuf>,
    pub(crate) figure_bytes: u64,
    pub(crate) megapixels: f64,
}

/// Width and height of figure `k` of a set: 1–4 MP (`small`: 0.2–0.4 MP),
/// spread evenly by the golden ratio, in five aspect ratios (landscape,
/// square, portrait), so some are narrower than the 1500 px rendition (only
/// encoded, as pressbot and ImageMagick's `>` do) and most wider.
fn figure_size(k: usize, small: bool) -> (u32, u32) {
    let spread = (k as f64 * 0.618_034).fract();
    let mp = if small {
        0.2 + 0.2 * spread
    } else {
        1.0 + 3.0 * spread
    };
    let aspect = [4.0 / 3.0, 3.0 / 2.0, 1.0, 3.0 / 4.0, 16.0 / 9.0][k % 5];
    let w = (mp * 1e6 * aspect).sqrt();
    (w.round() as u32, (mp * 1e6 / w).round() as u32)
}

/// Write the packages of `sources` into `dir` (figures under
/// `dir/figures/`); `small` for the smoke run's figures.
pub(crate) fn generate(
    repo: &Path,
    sources: &[Source],
    dir: &Path,
    small: bool,
) -> Result<Generated> {
    let fig_dir = dir.join("figures");
    std::fs::create_dir_all(&fig_dir)?;
    let href = Regex::new(r#"<(?:inline-)?graphic\b[^>]*xlink:href="([^"]+)""#)?;
    let other =
        Regex::new(r#"<(?:media|supplementary-material|ext-link)\b[^>]*xlink:href="([^"/:#]+)""#)?;
    let mut out = Generated::default();
    for s in sources {
        let path = repo.join("tests/fixtures/jats").join(s.jats);
        let xml = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let text = String::from_utf8_lossy(&xml).into_owned();
        let mut figure_names = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for c in href.captures_iter(&text) {
            let h = &c[1];
            let name = if h.contains('.') {
                h.to_owned()
            } else {
                format!("{h}.tif")
            };
            if seen.insert(name.clone()) {
                figure_names.push(name);
            }
        }
        let version = s
            .jats
            .rsplit_once("-v")
            .and_then(|(_, v)| v.trim_end_matches(".xml").parse::<u32>().ok())
            .unwrap_or(1);
        let main_pdf = format!("elife-{}-v{version}.pdf", s.id);
        let mut placeholders = Vec::new();
        for c in other.captures_iter(&text) {
            let name = c[1].to_owned();
            if name.contains('.') && name != main_pdf && seen.insert(name.clone()) {
                placeholders.push(name);
            }
        }
        for p in 1..=s.packages {
            // Each package's figures generated now (both cores), written
            // alone and into the zip; nothing figure-sized is kept.
            let first = out.figures.len();
            let made = make_figures(&figure_names, first, small)?;
            let zip_path = dir.join(format!("elife-{}-vor-v{p}-20240101000000.zip", s.id));
            let file = std::fs::File::create(&zip_path)?;
            let mut zip = zip::ZipWriter::new(std::io::BufWriter::new(file));
            let deflated = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated);
            zip.start_file(s.jats, deflated)?;
            zip.write_all(&xml)?;
            for (name, tiff, mp) in made {
                zip.start_file(name.as_str(), deflated)?;
                zip.write_all(&tiff)?;
                let alone = fig_dir.join(format!("{}-v{p}-{name}", s.id));
                std::fs::write(&alone, &tiff)?;
                out.figures.push(alone);
                out.figure_bytes += tiff.len() as u64;
                out.megapixels += mp;
            }
            for name in &placeholders {
                zip.start_file(name.as_str(), deflated)?;
                zip.write_all(format!("placeholder for {name}\n").as_bytes())?;
            }
            zip.start_file(main_pdf.as_str(), deflated)?;
            zip.write_all(tiny_pdf(s.jats).as_bytes())?;
            zip.finish()?.flush()?;
            out.package_bytes += std::fs::metadata(&zip_path)?.len();
            out.packages.push(zip_path);
        }
    }
    Ok(out)
}

/// The figures of one package, `first` being the set-wide index of the
/// first (it picks the sizes and seeds): (name, LZW RGB8 TIFF, MP).
fn make_figures(
    names: &[String],
    first: usize,
    small: bool,
) -> Result<Vec<(String, Vec<u8>, f64)>> {
    let one = |i: usize, name: &String| {
        let k = first + i;
        let (w, h) = figure_size(k, small);
        let pic = figures::picture(w, h, k as u32 + 1);
        let tiff = figures::tiff::<tiff::encoder::colortype::RGB8>(
            w,
            h,
            pic.as_raw(),
            tiff::encoder::Compression::Lzw,
            1,
        );
        (name.clone(), tiff, f64::from(w) * f64::from(h) / 1e6)
    };
    let half = names.len().div_ceil(2);
    let (a, b) = names.split_at(half);
    let (mut left, right) = std::thread::scope(|scope| {
        let t = scope.spawn(|| {
            b.iter()
                .enumerate()
                .map(|(i, n)| one(half + i, n))
                .collect::<Vec<_>>()
        });
        let left: Vec<_> = a.iter().enumerate().map(|(i, n)| one(i, n)).collect();
        (left, t.join())
    });
    left.extend(right.map_err(|_| anyhow::anyhow!("figure generator thread panicked"))?);
    Ok(left)
}

/// A tiny but well-formed PDF (the article PDF is only stored and copied).
fn tiny_pdf(title: &str) -> String {
    format!(
        "%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >> endobj\n% {title}\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figure_sizes_span_one_to_four_megapixels() {
        let mp: Vec<f64> = (0..180)
            .map(|k| {
                let (w, h) = figure_size(k, false);
                f64::from(w) * f64::from(h) / 1e6
            })
            .collect();
        let min = mp.iter().copied().fold(f64::MAX, f64::min);
        let max = mp.iter().copied().fold(0.0, f64::max);
        assert!((0.99..1.1).contains(&min), "{min}");
        assert!((3.9..4.01).contains(&max), "{max}");
    }

    #[test]
    fn the_full_set_is_20_packages_of_180_figures() {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let href = Regex::new(r#"<(?:inline-)?graphic\b[^>]*xlink:href="([^"]+)""#).unwrap();
        let (mut packages, mut figures) = (0, 0);
        for s in FULL {
            let text =
                std::fs::read_to_string(repo.join("tests/fixtures/jats").join(s.jats)).unwrap();
            let distinct: std::collections::BTreeSet<String> =
                href.captures_iter(&text).map(|c| c[1].to_owned()).collect();
            packages += s.packages;
            figures += s.packages * distinct.len();
        }
        assert_eq!((packages, figures), (20, 180));
    }
}
