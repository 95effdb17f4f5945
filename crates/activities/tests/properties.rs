//! Property tests: the pure functions never panic on arbitrary input, and
//! what they accept keeps its invariants.

use pressbot_activities::expand::{check_entry_name, unzip_safely, ZipLimits};
use pressbot_activities::package::parse_package_name;
use pressbot_activities::versioning::versioned_name;
use pressbot_jats::{convert, xml::parse, Options as ConvertOptions};
use proptest::prelude::*;

proptest! {
    #[test]
    fn package_names_never_panic(s in "\\PC{0,60}") {
        let _ = parse_package_name(&s);
    }

    #[test]
    fn well_formed_package_names_round_trip(
        id in "[0-9]{1,7}",
        status in prop::option::of(prop_oneof!["poa", "vor"]),
        version in 1u32..1000,
    ) {
        let name = match &status {
            Some(s) => format!("elife-{id}-{s}-v{version}.zip"),
            None => format!("elife-{id}-v{version}.zip"),
        };
        let p = parse_package_name(&name).unwrap();
        prop_assert_eq!(p.article_id, id);
        prop_assert_eq!(p.version, Some(version));
        prop_assert_eq!(p.status.map(|s| s.as_str().to_owned()), status);
    }

    #[test]
    fn accepted_entry_names_stay_inside(s in "[a-zA-Z0-9./\\\\:_-]{0,40}") {
        if let Ok(n) = check_entry_name("p.zip", &s) {
            prop_assert!(!n.starts_with('/'));
            prop_assert!(!n.split('/').any(|c| c == ".." || c.is_empty()));
            prop_assert!(!n.contains('\\'));
        }
    }

    #[test]
    fn versioning_is_idempotent(stem in "elife-[0-9]{1,5}(-fig[0-9])?(-v[0-9])?", ext in "(tif|xml|pdf)", v in 1u32..50) {
        let name = format!("{stem}.{ext}");
        let once = versioned_name(&name, v);
        let suffix = format!("-v{v}.{ext}");
        prop_assert!(once.ends_with(&suffix));
        prop_assert_eq!(versioned_name(&once, v), once.clone());
    }

    #[test]
    fn xml_parsing_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = parse(&bytes, "fuzz.xml");
        let _ = convert(&bytes, "fuzz.xml", &ConvertOptions::default());
    }

    #[test]
    fn xml_like_input_never_panics(s in "(<[a-z-]{1,12}( [a-z]+=\"[^\"<&]{0,8}\")?>|</[a-z-]{1,12}>|[^<&]{0,10}|&[a-z#0-9]{1,5};){0,30}") {
        let _ = convert(s.as_bytes(), "fuzz.xml", &ConvertOptions::default());
    }

    #[test]
    fn unzip_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let limits = ZipLimits { max_unzipped_bytes: 1 << 20, max_entries: 10, max_compression_ratio: 100 };
        let _ = unzip_safely("fuzz.zip", &bytes, &limits);
    }
}
