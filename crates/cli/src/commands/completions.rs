//! `pressbot completions SHELL`: generated from the same clap definitions
//! as the parser, so completion never drifts from the real arguments.

use clap::CommandFactory;

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    pub shell: clap_complete::Shell,
}

pub fn run(a: &Args) -> crate::Result<u8> {
    clap_complete::generate(
        a.shell,
        &mut super::Cli::command(),
        "pressbot",
        &mut std::io::stdout(),
    );
    Ok(0)
}
