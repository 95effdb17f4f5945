//! S3 event notifications (and SNS-wrapped ones) as the queue worker gets them.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = pressbot_core::messages::parse_s3_notification(s);
    }
});
