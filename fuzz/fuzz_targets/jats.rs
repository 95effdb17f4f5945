//! JATS XML to article JSON (ConvertJATS): no DTD, no entity expansion, no panic.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let opts = pressbot_activities::jats::ConvertOptions {
        cdn_base_url: "https://cdn.example.org".into(),
        image_widths: vec![617],
        ..Default::default()
    };
    let _ = pressbot_activities::jats::convert(data, "fuzz.xml", &opts);
});
