//! Workflow starter messages as the workflow-starter gets them.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = pressbot_core::messages::StarterMessage::parse(s);
    }
});
