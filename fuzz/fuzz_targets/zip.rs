//! Safe unzip (ExpandArticle): whatever the bytes, never more out than the
//! limits allow, never a name outside the package.
#![no_main]
use pressbot_activities::expand::{unzip_safely, ZipLimits};

const LIMITS: ZipLimits = ZipLimits {
    max_unzipped_bytes: 1 << 20,
    max_entries: 64,
    max_compression_ratio: 100,
};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(files) = unzip_safely("fuzz.zip", data, &LIMITS) {
        let total: usize = files.iter().map(|f| f.data.len()).sum();
        assert!(total as u64 <= LIMITS.max_unzipped_bytes);
        assert!(files.len() as u64 <= LIMITS.max_entries);
        for f in &files {
            assert!(!f.name.starts_with('/') && !f.name.split('/').any(|p| p == ".."));
        }
    }
});
