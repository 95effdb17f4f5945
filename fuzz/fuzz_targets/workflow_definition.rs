//! Workflow definition files, validated at start-up.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = pressbot_core::definition::WorkflowDefinition::from_toml_str(
            s,
            std::path::Path::new("fuzz.toml"),
            &pressbot_activities::is_known_activity,
        );
    }
});
