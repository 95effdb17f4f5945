//! Assets: figures (with supplements and source data), tables, videos,
//! supplementary files, and the model's image object.

/// An additional (supplementary) file.
pub type AdditionalFile = serde_json::Value;
