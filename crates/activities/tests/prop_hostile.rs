//! Hostile packages and XML, as many cases as CI affords (the stand-in for
//! `cargo fuzz`, see `fuzz/`): zip expansion and JATS conversion never
//! panic, and zip expansion never hands back (nor holds) more than the
//! limits allow, whatever the headers claim.
//!
//! The fixed security cases (zip slip, absolute paths, links, bombs by size,
//! count and ratio, XXE, billion laughs, external DTDs) are in `expand.rs`
//! and `jats.rs` beside this file; this file throws random and mutated
//! input at the same code. Cases: `PROPTEST_CASES` (default 3000 per
//! target). Every file under `tests/corpus/{zip,jats}/` is replayed; files
//! named `bad-*` must be refused.

use pressbot_activities::expand::{unzip_safely, ZipLimits};
use pressbot_jats::{convert, Options as ConvertOptions};
use proptest::prelude::*;
use std::io::Write;
use std::path::{Path, PathBuf};

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000)
}

/// Small limits, so that a mutated header claiming gigabytes is caught by
/// the limit and not by luck.
const LIMITS: ZipLimits = ZipLimits {
    max_unzipped_bytes: 256 * 1024,
    max_entries: 16,
    max_compression_ratio: 50,
};

fn data(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(name),
    )
    .expect("test data")
}

fn small_zip() -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let deflated = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    w.start_file("elife-1-v1.xml", deflated).expect("entry");
    w.write_all(b"<article><front><article-meta/></front></article>")
        .expect("write");
    w.add_directory("figures/", stored).expect("dir");
    w.start_file("figures/elife-1-fig1-v1.tif", stored)
        .expect("entry");
    w.write_all(&[7u8; 300]).expect("write");
    w.start_file("elife-1-v1.pdf", deflated).expect("entry");
    w.write_all(&vec![b'%'; 4000]).expect("write");
    w.finish().expect("finish").into_inner()
}

/// Byte edits: overwrite, insert, delete, and overwrite with "interesting"
/// values (0, 0xff, sizes) that reach the header checks.
fn mutate(seed: Vec<u8>, max_edits: usize) -> impl Strategy<Value = Vec<u8>> {
    let len = seed.len();
    prop::collection::vec((0..len, 0u8..4, any::<u8>()), 1..max_edits).prop_map(move |edits| {
        let mut s = seed.clone();
        for (pos, op, b) in edits {
            if s.is_empty() {
                s.push(b);
                continue;
            }
            let pos = pos % s.len();
            match op {
                0 => s[pos] = b,
                1 => s.insert(pos, b),
                2 => {
                    s.remove(pos);
                }
                _ => {
                    let v = [0x00, 0xff, 0x7f, 0x80][b as usize % 4];
                    let end = (pos + 4).min(s.len());
                    s[pos..end].iter_mut().for_each(|x| *x = v);
                }
            }
        }
        s
    })
}

/// Peak resident memory of this process (Linux): `VmHWM`, in KiB.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Expand, and check the limits hold on what came out.
fn expand_bounded(bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(files) = unzip_safely("fuzz.zip", bytes, &LIMITS) {
        let total: u64 = files.iter().map(|f| f.data.len() as u64).sum();
        prop_assert!(total <= LIMITS.max_unzipped_bytes, "{} bytes out", total);
        prop_assert!(files.len() as u64 <= LIMITS.max_entries);
        for f in &files {
            prop_assert!(
                !f.name.starts_with('/') && !f.name.split('/').any(|p| p == ".."),
                "{}",
                f.name
            );
        }
    }
    Ok(())
}

fn opts() -> ConvertOptions {
    ConvertOptions::default()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn zip_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        expand_bounded(&bytes)?;
    }

    #[test]
    fn zip_mutated_small_package(bytes in mutate(small_zip(), 12)) {
        expand_bounded(&bytes)?;
    }

    #[test]
    fn zip_bytes_after_a_valid_prefix(tail in prop::collection::vec(any::<u8>(), 0..512), cut in 0usize..600) {
        // A real local header followed by garbage, or a truncated package.
        let z = small_zip();
        let mut bytes = z[..cut.min(z.len())].to_vec();
        bytes.extend_from_slice(&tail);
        expand_bounded(&bytes)?;
    }

    #[test]
    fn jats_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..1024)) {
        let _ = convert(&bytes, "fuzz.xml", &opts());
    }

    #[test]
    fn jats_tag_soup(s in "(<(article|front|body|sec|fig|p|article-meta|contrib|xref|graphic|title-group|article-title|!DOCTYPE a|!ENTITY|\\?xml)( [a-z:-]{1,10}=\"[^\"]{0,8}\")*/?>|</[a-z-]{1,12}>|[^<]{0,12}|&[a-z#x0-9]{0,6};?|<!\\[CDATA\\[[^\\]]{0,8}\\]\\]>|<!--[^-]{0,8}-->){0,60}") {
        let _ = convert(s.as_bytes(), "fuzz.xml", &opts());
    }
}

proptest! {
    // Mutating a real article is slower per case (50-100 kB of XML).
    #![proptest_config(ProptestConfig { cases: cases() / 4 + 1, ..ProptestConfig::default() })]

    #[test]
    fn jats_mutated_real_article(bytes in mutate(data("elife-00007-v1.xml"), 24)) {
        let _ = convert(&bytes, "fuzz.xml", &opts());
    }
}

/// Set in the environment of the child process [`memory_child`] runs in:
/// what it does (`refuse` or `inflate`).
const MEMORY_CHILD_ENV: &str = "PRESSBOT_MEMORY_CHILD";

/// A 64 MiB deflate bomb (one entry of zeros), built in 1 MiB chunks so
/// that building it does not itself raise the peak.
fn bomb() -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    w.start_file("elife-1-fig1-v1.tif", opts).expect("entry");
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..64 {
        w.write_all(&chunk).expect("write");
    }
    w.finish().expect("finish").into_inner()
}

/// Run [`memory_child`] in a fresh process of this test binary and return
/// how far its peak resident memory rose while it worked, in KiB. A fresh
/// process, because `VmHWM` only ever rises: read in the test's own
/// process it reports whatever peak an earlier test (or the test's own
/// set-up) reached, and a bomb inflated in full could hide under it.
fn peak_growth_in_child(mode: &str) -> u64 {
    let out = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "memory_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(MEMORY_CHILD_ENV, mode)
        .output()
        .expect("spawn the child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child ({mode}) failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        // libtest may print the line after its "test memory_child ... ".
        .find_map(|l| l.split_once("peak-growth-kib=").map(|(_, v)| v))
        .and_then(|v| {
            v.split(|c: char| !c.is_ascii_digit())
                .next()
                .and_then(|d| d.parse().ok())
        })
        .unwrap_or_else(|| panic!("child ({mode}) reported no peak: {stdout}"))
}

/// A bomb far over the limit is refused without inflating it: the peak
/// resident memory of a fresh process refusing it 20 times rises by less
/// than 32 MiB. The control, the same process inflating the bomb in full
/// (64 MiB), must rise by more than 48 MiB, or the measurement could not
/// see a bomb at all.
#[test]
fn memory_stays_bounded_on_hostile_zips() {
    if peak_rss_kib().is_none() {
        panic!("no VmHWM in /proc/self/status: this test needs Linux");
    }
    let inflated = peak_growth_in_child("inflate");
    assert!(
        inflated > 48 * 1024,
        "control: inflating the 64 MiB bomb raised the child's peak by only {inflated} KiB"
    );
    let refused = peak_growth_in_child("refuse");
    assert!(
        refused < 32 * 1024,
        "refusing a bomb raised the peak RSS by {refused} KiB"
    );
}

/// The work of [`memory_stays_bounded_on_hostile_zips`], run only in the
/// child process it spawns (ignored otherwise: it measures nothing in a
/// process that already ran other tests). Prints `peak-growth-kib=N`.
#[test]
#[ignore = "run in a fresh process by memory_stays_bounded_on_hostile_zips"]
fn memory_child() {
    let mode =
        std::env::var(MEMORY_CHILD_ENV).expect("spawned by memory_stays_bounded_on_hostile_zips");
    let bomb = bomb();
    let before = peak_rss_kib().expect("VmHWM");
    match mode.as_str() {
        "refuse" => {
            for _ in 0..20 {
                assert!(unzip_safely("bomb.zip", &bomb, &LIMITS).is_err());
            }
        }
        "inflate" => {
            let mut z = zip::ZipArchive::new(std::io::Cursor::new(&bomb)).expect("zip");
            let mut out = Vec::new();
            std::io::Read::read_to_end(&mut z.by_index(0).expect("entry"), &mut out)
                .expect("inflate");
            assert_eq!(out.len(), 64 << 20);
            std::hint::black_box(&out);
        }
        other => panic!("unknown mode {other}"),
    }
    let after = peak_rss_kib().expect("VmHWM");
    println!("peak-growth-kib={}", after.saturating_sub(before));
}

/// `tests/corpus/<target>/` at the repository root.
fn corpus(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("corpus entry").path())
        .filter(|p| p.is_file() && p.file_name().is_some_and(|n| n != "README.md"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "empty corpus {}", dir.display());
    files
}

fn must_refuse(file: &Path) -> bool {
    file.file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with("bad-"))
}

#[test]
fn corpus_zip() {
    let limits = ZipLimits {
        max_unzipped_bytes: 16 << 20,
        max_entries: 100,
        max_compression_ratio: 100,
    };
    for file in corpus("zip") {
        let bytes = std::fs::read(&file).expect("read");
        let outcome = unzip_safely(&file.display().to_string(), &bytes, &limits);
        if must_refuse(&file) {
            let e = outcome.expect_err(&format!("{} must be refused", file.display()));
            assert!(e.to_string().contains(&*file.display().to_string()), "{e}");
        }
    }
}

#[test]
fn corpus_jats() {
    for file in corpus("jats") {
        let bytes = std::fs::read(&file).expect("read");
        let outcome = convert(&bytes, "corpus.xml", &opts());
        if must_refuse(&file) {
            let e = outcome
                .err()
                .unwrap_or_else(|| panic!("{} must be refused", file.display()));
            assert!(e.to_string().contains("corpus.xml"), "{e}");
        }
    }
}
