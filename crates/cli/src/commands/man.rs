//! `pressbot man`: man pages generated from the clap definitions.

use clap::CommandFactory;
use std::path::PathBuf;

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Where to write them (created if missing).
    #[arg(long, default_value = ".")]
    pub dir: PathBuf,
}

pub fn run(a: &Args) -> crate::Result<u8> {
    let dir = &a.dir;
    std::fs::create_dir_all(dir).map_err(|source| crate::Error::Io {
        context: format!("creating {}", dir.display()),
        source,
    })?;
    clap_mangen::generate_to(super::Cli::command(), dir).map_err(|source| crate::Error::Io {
        context: format!("writing man pages into {}", dir.display()),
        source,
    })?;
    println!("man pages written to {}", dir.display());
    Ok(0)
}
