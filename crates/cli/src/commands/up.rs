//! `pressbot up`: every role in this process (see [`crate::up`]).

use crate::app::Loaded;
use std::path::PathBuf;

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Put these packages into the incoming bucket at start.
    #[arg(long, num_args = 1..)]
    pub ingest: Vec<PathBuf>,
    /// Exit once every workflow seen has closed, printing a summary.
    #[arg(long)]
    pub until_idle: bool,
    /// With --until-idle: give up after this long (e.g. "10m").
    #[arg(long, value_parser = humantime::parse_duration, default_value = "30m")]
    pub timeout: std::time::Duration,
}

/// Exits 1 when a workflow seen did not complete, or the wait timed out.
pub async fn run(loaded: Loaded, a: Args) -> crate::Result<u8> {
    for p in &a.ingest {
        if !p.is_file() {
            return Err(crate::Error::Other(format!(
                "--ingest {}: no such file",
                p.display()
            )));
        }
    }
    let cms_listen = loaded.settings.cms.embedded_listen;
    let shutdown = pressbot_daemons::shutdown::install();
    let report = crate::up::up(
        loaded,
        crate::up::UpOptions {
            ingest: a.ingest,
            until_idle: a.until_idle,
            timeout: Some(a.timeout),
            on_dashboard: Some(|url| match url {
                Some(url) => println!("dashboard: {url}"),
                None => println!("dashboard: not served (see the log)"),
            }),
        },
        shutdown,
    )
    .await?;
    println!("{}", report.render());
    if let Some(dir) = &report.cms_dir {
        println!(
            "\nThe embedded CMS keeps what it received under {}",
            dir.display()
        );
        println!("(run `pressbot up` without --until-idle to browse it at http://{cms_listen}/)");
    }
    Ok(if report.all_ok() { 0 } else { 1 })
}
