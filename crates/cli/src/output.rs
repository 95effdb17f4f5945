//! How the reporting commands print: every one takes `--output
//! table|json`. The table is for people and may change; the JSON is a
//! contract for scripts and monitoring, documented in docs/operations.md
//! ("Machine-readable output").

/// How a reporting command prints what it found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    /// Aligned columns and sentences, for people.
    #[default]
    Table,
    /// One JSON document on stdout, for scripts (shapes in docs/operations.md).
    Json,
}

/// `--output`, shared by the reporting commands.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct OutputArgs {
    /// Print a table for people, or JSON for scripts.
    #[arg(long, value_enum, default_value_t = Output::Table)]
    pub output: Output,
}

impl OutputArgs {
    pub fn json(self) -> bool {
        self.output == Output::Json
    }
}

/// Print one JSON document (pretty: it is read by people debugging scripts
/// too, and `jq` does not care).
pub fn print_json(v: &serde_json::Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
    );
}
