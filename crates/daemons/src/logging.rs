//! tracing set-up: human lines on a terminal, JSON for journald.
//!
//! Under systemd (stderr connected to the journal, as `JOURNAL_STREAM`
//! says) each line starts with its syslog priority, `<3>` error, `<4>`
//! warning, `<6>` info, `<7>` debug and trace: the sd-daemon(3) prefix
//! convention, which journald strips and stores as `PRIORITY=`, so
//! `journalctl -p warning` and alerting on priorities work without a
//! journald client library.

use pressbot_core::settings::{LogFormat, LogSettings};
use std::io::{IsTerminal, Write};
use tracing::Level;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// Initialise the global subscriber. `RUST_LOG` overrides the level setting.
pub fn init(settings: &LogSettings) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&settings.level));
    let json = match settings.format {
        LogFormat::Json => true,
        LogFormat::Human => false,
        LogFormat::Auto => !std::io::stderr().is_terminal(),
    };
    let journal = stderr_is_journal();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(PriorityStderr { journal })
        // The journal has its own timestamps and no terminal colours.
        .with_ansi(!journal && std::io::stderr().is_terminal());
    let _ = if json {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init()
    } else {
        builder.try_init()
    };
}

/// The sd-daemon(3) priority prefix of a level.
pub fn priority_prefix(level: &Level) -> &'static [u8] {
    match *level {
        Level::ERROR => b"<3>",
        Level::WARN => b"<4>",
        Level::INFO => b"<6>",
        Level::DEBUG | Level::TRACE => b"<7>",
    }
}

/// Whether stderr is the journal stream systemd set up: `JOURNAL_STREAM`
/// (`DEVICE:INODE`) names stderr's file. Compared, not merely present,
/// because the variable is inherited by children whose stderr was
/// redirected (to a file, a pipe), where a prefix would be noise.
#[cfg(unix)]
fn stderr_is_journal() -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(stream) = std::env::var("JOURNAL_STREAM") else {
        return false;
    };
    let Some((dev, ino)) = stream.split_once(':') else {
        return false;
    };
    let Ok(meta) = std::fs::metadata("/proc/self/fd/2") else {
        return false;
    };
    dev.parse() == Ok(meta.dev()) && ino.parse() == Ok(meta.ino())
}

#[cfg(not(unix))]
fn stderr_is_journal() -> bool {
    false
}

/// stderr, with the priority prefix before each event when it is the journal.
#[derive(Debug, Clone, Copy)]
struct PriorityStderr {
    journal: bool,
}

impl<'a> MakeWriter<'a> for PriorityStderr {
    type Writer = PrefixWriter<std::io::Stderr>;

    fn make_writer(&'a self) -> Self::Writer {
        PrefixWriter::new(std::io::stderr(), None)
    }

    fn make_writer_for(&'a self, meta: &tracing::Metadata<'_>) -> Self::Writer {
        let prefix = self.journal.then(|| priority_prefix(meta.level()));
        PrefixWriter::new(std::io::stderr(), prefix)
    }
}

/// A writer for one event: writes `prefix` before the first byte. The fmt
/// layer makes one writer per event and writes the formatted line in one
/// go, so the prefix lands at the start of the line.
#[derive(Debug)]
pub struct PrefixWriter<W> {
    inner: W,
    prefix: Option<&'static [u8]>,
}

impl<W: Write> PrefixWriter<W> {
    pub fn new(inner: W, prefix: Option<&'static [u8]>) -> Self {
        PrefixWriter { inner, prefix }
    }

    pub fn into_inner(self) -> W {
        self.inner
    }
}

impl<W: Write> Write for PrefixWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some(p) = self.prefix.take() {
            self.inner.write_all(p)?;
        }
        self.inner.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_event_starts_with_its_priority_once() {
        let mut w = PrefixWriter::new(Vec::new(), Some(priority_prefix(&Level::WARN)));
        w.write_all(b"{\"level\":\"WARN\"").expect("write");
        w.write_all(b"}\n").expect("write");
        assert_eq!(w.into_inner(), b"<4>{\"level\":\"WARN\"}\n");
        let mut plain = PrefixWriter::new(Vec::new(), None);
        plain.write_all(b"line\n").expect("write");
        assert_eq!(plain.into_inner(), b"line\n");
        assert_eq!(priority_prefix(&Level::ERROR), b"<3>");
        assert_eq!(priority_prefix(&Level::INFO), b"<6>");
        assert_eq!(priority_prefix(&Level::TRACE), b"<7>");
    }
}
