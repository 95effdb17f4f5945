//! The safe unzip against the real package and against hostile ones built
//! here with the zip crate.

mod common;

use common::read_data;
use pressbot_activities::error::Error;
use pressbot_activities::expand::{check_entry_name, classify, unzip_safely, ZipLimits};
use std::io::Write;
use zip::write::SimpleFileOptions;

const LIMITS: ZipLimits = ZipLimits {
    max_unzipped_bytes: 64 << 20,
    max_entries: 100,
    max_compression_ratio: 200,
};

/// Zip entries to build: (name, bytes); a name ending in `/` is a directory.
type Entries<'a> = &'a [(&'a str, &'a [u8])];

/// A zip as packing tools write them: directory entries (`dir/`), files.
fn build_with_dirs(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in entries {
        if name.ends_with('/') {
            w.add_directory(*name, opts).unwrap();
        } else {
            w.start_file(*name, opts).unwrap();
            w.write_all(data).unwrap();
        }
    }
    w.finish().unwrap().into_inner()
}

fn build(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in entries {
        w.start_file(*name, opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

#[test]
fn the_real_package_expands_and_classifies() {
    let zip = read_data("elife-00353-vor-v1-20121213000000.zip");
    let files = unzip_safely("elife-00353-vor-v1-20121213000000.zip", &zip, &LIMITS).unwrap();
    let names: Vec<String> = files.iter().map(|f| f.name.clone()).collect();
    assert_eq!(names.len(), 3);
    let xml = files
        .iter()
        .find(|f| f.name == "elife-00353-v1.xml")
        .unwrap();
    assert_eq!(xml.data.len(), 9458);
    let tif = files
        .iter()
        .find(|f| f.name == "elife-00353-fig1-v1.tif")
        .unwrap();
    assert_eq!(tif.data.len(), 961324);
    let layout = classify("p.zip", &names).unwrap();
    assert_eq!(layout.xml, "elife-00353-v1.xml");
    assert_eq!(layout.pdf.as_deref(), Some("elife-00353-v1.pdf"));
    assert_eq!(layout.figures, vec!["elife-00353-fig1-v1.tif"]);
    assert!(layout.others.is_empty());
}

#[test]
fn corrupt_zip_is_refused_naming_the_package() {
    let e = unzip_safely("junk.zip", b"this is not a zip at all", &LIMITS).unwrap_err();
    assert!(matches!(e, Error::CorruptZip { .. }), "{e}");
    assert!(e.to_string().starts_with("junk.zip: corrupt zip"), "{e}");
    // A truncated real package: the central directory is gone.
    let zip = read_data("elife-00353-vor-v1-20121213000000.zip");
    let e = unzip_safely("cut.zip", &zip[..zip.len() / 2], &LIMITS).unwrap_err();
    assert!(matches!(e, Error::CorruptZip { .. }), "{e}");
}

#[test]
fn corrupt_entry_data_is_refused_naming_the_entry() {
    let mut zip = build(&[("elife-1-v1.xml", &b"<article/>".repeat(1000))]);
    // Flip bytes inside the compressed data (after the 30-byte local header + name).
    let start = 30 + "elife-1-v1.xml".len();
    for b in &mut zip[start + 2..start + 12] {
        *b ^= 0xff;
    }
    let e = unzip_safely("flipped.zip", &zip, &LIMITS).unwrap_err();
    assert!(matches!(e, Error::CorruptZip { entry: Some(_), .. }), "{e}");
    assert!(e.to_string().contains("elife-1-v1.xml"), "{e}");
}

#[test]
fn zip_slip_is_refused() {
    let zip = build(&[("elife-1-v1.xml", b"<a/>"), ("../../etc/cron.d/evil", b"x")]);
    let e = unzip_safely("slip.zip", &zip, &LIMITS).unwrap_err();
    assert!(matches!(e, Error::UnsafeEntry { .. }), "{e}");
    assert_eq!(
        e.to_string(),
        "slip.zip: entry \"../../etc/cron.d/evil\" refused: path traversal (`..`)"
    );
    let zip = build(&[("figures/../../evil", b"x")]);
    assert!(unzip_safely("slip2.zip", &zip, &LIMITS).is_err());
    let zip = build(&[("figures\\..\\..\\evil", b"x")]);
    assert!(unzip_safely("slip3.zip", &zip, &LIMITS).is_err());
}

#[test]
fn absolute_paths_are_refused() {
    let zip = build(&[("/etc/passwd", b"x")]);
    let e = unzip_safely("abs.zip", &zip, &LIMITS).unwrap_err();
    assert!(e.to_string().contains("absolute path"), "{e}");
    let zip = build(&[("C:\\Windows\\evil.dll", b"x")]);
    let e = unzip_safely("drive.zip", &zip, &LIMITS).unwrap_err();
    assert!(e.to_string().contains("drive letter"), "{e}");
}

#[test]
fn entry_names_are_normalised() {
    assert_eq!(check_entry_name("p", "./a//b.xml").unwrap(), "a/b.xml");
    assert!(check_entry_name("p", "").is_err());
    assert!(check_entry_name("p", "a/\0b").is_err());
}

#[test]
fn symlinks_are_refused() {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    w.start_file("elife-1-v1.xml", SimpleFileOptions::default())
        .unwrap();
    w.write_all(b"<a/>").unwrap();
    w.add_symlink(
        "elife-1-fig1-v1.tif",
        "/etc/passwd",
        SimpleFileOptions::default(),
    )
    .unwrap();
    let zip = w.finish().unwrap().into_inner();
    let e = unzip_safely("link.zip", &zip, &LIMITS).unwrap_err();
    assert_eq!(
        e.to_string(),
        "link.zip: entry \"elife-1-fig1-v1.tif\" refused: symbolic link"
    );
}

#[test]
fn zip_bomb_by_ratio_is_refused() {
    let zeros = vec![0u8; 16 << 20];
    let zip = build(&[("elife-1-v1.xml", b"<a/>"), ("elife-1-fig1-v1.tif", &zeros)]);
    assert!(zip.len() < 100_000, "zeros compress well: {}", zip.len());
    let e = unzip_safely("bomb.zip", &zip, &LIMITS).unwrap_err();
    assert!(
        matches!(
            e,
            Error::ZipLimit {
                limit: "compression ratio",
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("elife-1-fig1-v1.tif"), "{e}");
}

#[test]
fn total_size_limit_is_enforced() {
    let limits = ZipLimits {
        max_unzipped_bytes: 10_000,
        ..LIMITS
    };
    let data: Vec<u8> = (0..6_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let zip = build(&[("a.bin", &data), ("b.bin", &data)]);
    let e = unzip_safely("big.zip", &zip, &limits).unwrap_err();
    assert!(
        matches!(
            e,
            Error::ZipLimit {
                limit: "total uncompressed size",
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("b.bin"), "{e}");
}

#[test]
fn declared_sizes_are_not_trusted() {
    // Lie in the headers: claim every entry is 10 bytes. The limit still
    // holds because bytes are counted as they are decompressed.
    let data = vec![b'x'; 50_000];
    let mut zip = build(&[("elife-1-v1.xml", &data)]);
    let lie = 10u32.to_le_bytes();
    let mut i = 0;
    while i + 4 <= zip.len() {
        match &zip[i..i + 4] {
            [b'P', b'K', 3, 4] => zip[i + 22..i + 26].copy_from_slice(&lie),
            [b'P', b'K', 1, 2] => zip[i + 24..i + 28].copy_from_slice(&lie),
            _ => {}
        }
        i += 1;
    }
    let limits = ZipLimits {
        max_unzipped_bytes: 20_000,
        max_compression_ratio: 1_000_000,
        ..LIMITS
    };
    match unzip_safely("liar.zip", &zip, &limits) {
        Err(Error::ZipLimit { value, .. }) => assert!(value > 20_000),
        // Or the reader notices the lie itself: refused either way.
        Err(Error::CorruptZip { .. }) => {}
        other => panic!("a lying zip must be refused: {other:?}"),
    }
}

#[test]
fn too_many_entries_are_refused() {
    let limits = ZipLimits {
        max_entries: 3,
        ..LIMITS
    };
    let names: Vec<String> = (0..5).map(|i| format!("f{i}.txt")).collect();
    let entries: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b"x"[..])).collect();
    let e = unzip_safely("many.zip", &build(&entries), &limits).unwrap_err();
    assert_eq!(e.to_string(), "many.zip: entry count limit exceeded: 5 > 3");
}

#[test]
fn duplicate_names_are_refused() {
    let zip = build(&[("a.xml", b"1"), ("./a.xml", b"2")]);
    let e = unzip_safely("dup.zip", &zip, &LIMITS).unwrap_err();
    assert!(e.to_string().contains("duplicate"), "{e}");
}

#[test]
fn a_package_without_xml_is_refused() {
    let zip = build(&[("elife-1-v1.pdf", b"%PDF"), ("sub/elife-1-v1.txt", b"<a/>")]);
    let files = unzip_safely("noxml.zip", &zip, &LIMITS).unwrap();
    let names: Vec<String> = files.into_iter().map(|f| f.name).collect();
    let e = classify("noxml.zip", &names).unwrap_err();
    assert!(matches!(e, Error::NoXml { .. }));
    assert!(
        e.to_string().starts_with("noxml.zip: no JATS XML file"),
        "{e}"
    );
}

#[test]
fn the_article_xml_is_preferred_over_other_xml() {
    let names = vec![
        "elife-1-supp1-v1.xml".to_owned(),
        "elife-1-v1.xml".to_owned(),
        "elife-1-figures-v1.pdf".to_owned(),
        "elife-1-v1.pdf".to_owned(),
        "elife-1-fig1-v1.tif".to_owned(),
        "elife-1-fig2-v1.PNG".to_owned(),
    ];
    let l = classify("p.zip", &names).unwrap();
    assert_eq!(l.xml, "elife-1-v1.xml");
    assert_eq!(l.pdf.as_deref(), Some("elife-1-v1.pdf"));
    assert_eq!(
        l.figures,
        vec!["elife-1-fig1-v1.tif", "elife-1-fig2-v1.PNG"]
    );
    assert_eq!(
        l.others,
        vec!["elife-1-supp1-v1.xml", "elife-1-figures-v1.pdf"]
    );
}

/// Packages as publishers' tools make them: what is kept (by file name, in
/// zip order, with the path it had) and what is skipped.
#[test]
fn real_world_packages_keep_their_files_by_name() {
    // (case, entries, kept as (file name, path in the zip))
    type Kept<'a> = &'a [(&'a str, &'a str)];
    let table: &[(&str, Entries, Kept)] = &[
        (
            "dot-slash directory entry",
            &[("./", b""), ("./elife-1-v1.xml", b"<a/>")],
            &[("elife-1-v1.xml", "elife-1-v1.xml")],
        ),
        (
            "figures in a folder",
            &[
                ("elife-1-v1.xml", b"<a/>"),
                ("figures/", b""),
                ("figures/elife-1-fig1-v1.tif", b"II*"),
            ],
            &[
                ("elife-1-v1.xml", "elife-1-v1.xml"),
                ("elife-1-fig1-v1.tif", "figures/elife-1-fig1-v1.tif"),
            ],
        ),
        (
            "everything under one top folder",
            &[
                ("elife-1-vor-r1/", b""),
                ("elife-1-vor-r1/elife-1-v1.xml", b"<a/>"),
                ("elife-1-vor-r1/elife-1-v1.pdf", b"%PDF"),
            ],
            &[
                ("elife-1-v1.xml", "elife-1-vor-r1/elife-1-v1.xml"),
                ("elife-1-v1.pdf", "elife-1-vor-r1/elife-1-v1.pdf"),
            ],
        ),
        (
            "macOS junk",
            &[
                ("elife-1-v1.xml", b"<a/>"),
                ("__MACOSX/", b""),
                ("__MACOSX/._elife-1-v1.xml", b"\0\x05\x16\x07"),
                ("__MACOSX/figures/._elife-1-fig1-v1.tif", b"\0"),
                (".DS_Store", b"Bud1"),
                ("figures/.DS_Store", b"Bud1"),
            ],
            &[("elife-1-v1.xml", "elife-1-v1.xml")],
        ),
        (
            "backslash folders",
            &[
                ("elife-1-v1.xml", b"<a/>"),
                ("supp\\elife-1-supp1-v1.csv", b"a,b"),
            ],
            &[
                ("elife-1-v1.xml", "elife-1-v1.xml"),
                ("elife-1-supp1-v1.csv", "supp/elife-1-supp1-v1.csv"),
            ],
        ),
    ];
    for (case, entries, expected) in table {
        let zip = build_with_dirs(entries);
        let files = unzip_safely("p.zip", &zip, &LIMITS).unwrap_or_else(|e| panic!("{case}: {e}"));
        let got: Vec<(&str, &str)> = files
            .iter()
            .map(|f| (f.name.as_str(), f.path.as_str()))
            .collect();
        assert_eq!(&got, expected, "{case}");
        let names: Vec<String> = files.iter().map(|f| f.name.clone()).collect();
        let layout = classify("p.zip", &names).unwrap_or_else(|e| panic!("{case}: {e}"));
        assert_eq!(layout.xml, "elife-1-v1.xml", "{case}");
    }
}

/// What stays refused however the package is laid out.
#[test]
fn hostile_entries_stay_refused_in_folders_and_as_directories() {
    let table: &[(&str, Entries, &str)] = &[
        (
            "slip from inside a folder",
            &[("figures/", b""), ("figures/../../evil", b"x")],
            "path traversal",
        ),
        (
            "a directory that escapes",
            &[("../up/", b"")],
            "path traversal",
        ),
        ("an absolute directory", &[("/etc/", b"")], "absolute path"),
        (
            "slip hidden in junk",
            &[("__MACOSX/../../evil", b"x")],
            "path traversal",
        ),
        ("absolute junk", &[("/__MACOSX/._x", b"x")], "absolute path"),
        (
            "a drive letter in a folder",
            &[("C:/figures/x.tif", b"x")],
            "drive letter",
        ),
        (
            "same file name in two folders",
            &[
                ("figures/elife-1-fig1-v1.tif", b"1"),
                ("old/elife-1-fig1-v1.tif", b"2"),
            ],
            r#"duplicate file name "elife-1-fig1-v1.tif": entries "figures/elife-1-fig1-v1.tif" and "old/elife-1-fig1-v1.tif""#,
        ),
        (
            "same file name at the top and in a folder",
            &[("elife-1-v1.xml", b"1"), ("./x/elife-1-v1.xml", b"2")],
            r#"entries "elife-1-v1.xml" and "./x/elife-1-v1.xml""#,
        ),
    ];
    for (case, entries, reason) in table {
        let zip = build_with_dirs(entries);
        let e = unzip_safely("p.zip", &zip, &LIMITS).unwrap_err();
        assert!(e.to_string().contains(reason), "{case}: {e}");
        assert!(e.to_string().starts_with("p.zip: "), "{case}: {e}");
    }
}

#[test]
fn symlinks_in_folders_and_junk_are_refused() {
    for link in ["figures/elife-1-fig1-v1.tif", "__MACOSX/._x", ".DS_Store"] {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        w.start_file("elife-1-v1.xml", SimpleFileOptions::default())
            .unwrap();
        w.write_all(b"<a/>").unwrap();
        w.add_symlink(link, "/etc/passwd", SimpleFileOptions::default())
            .unwrap();
        let zip = w.finish().unwrap().into_inner();
        let e = unzip_safely("link.zip", &zip, &LIMITS).unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{link}: {e}");
    }
}

#[test]
fn other_non_regular_entries_are_refused() {
    // A FIFO: unix mode 0o010644 in the external attributes.
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    w.start_file(
        "figures/fifo",
        SimpleFileOptions::default().unix_permissions(0o010644),
    )
    .unwrap();
    let zip = w.finish().unwrap().into_inner();
    match unzip_safely("fifo.zip", &zip, &LIMITS) {
        Err(e) => assert!(e.to_string().contains("not a regular file"), "{e}"),
        // The zip crate may mask the type bits when writing: then the entry
        // is a plain file, which is fine.
        Ok(files) => assert_eq!(files[0].name, "fifo"),
    }
}

#[test]
fn the_xml_in_a_folder_is_the_article_xml() {
    let zip = build_with_dirs(&[
        ("elife-1-vor-r1/", b""),
        ("elife-1-vor-r1/elife-1-v1.xml", b"<a/>"),
        ("elife-1-vor-r1/figures/elife-1-fig1-v1.tif", b"II*"),
    ]);
    let files = unzip_safely("p.zip", &zip, &LIMITS).unwrap();
    let names: Vec<String> = files.into_iter().map(|f| f.name).collect();
    let l = classify("p.zip", &names).unwrap();
    assert_eq!(l.xml, "elife-1-v1.xml");
    assert_eq!(l.figures, vec!["elife-1-fig1-v1.tif"]);
}

#[test]
fn a_file_named_like_a_manifest_is_refused() {
    let names = vec!["elife-1-v1.xml".to_owned(), "manifest.json".to_owned()];
    let e = classify("p.zip", &names).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("p.zip: entry \"manifest.json\" refused: reserved name"),
        "{e}"
    );
}
