//! JATS XML to article-json (ConvertJATS, crate pressbot-jats): no DTD, no
//! entity expansion, no panic.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let opts = pressbot_jats::Options {
        iiif_base_url: "https://iiif.example.org/iiif/2".into(),
        ..Default::default()
    };
    let _ = pressbot_jats::convert(data, "fuzz.xml", &opts);
});
