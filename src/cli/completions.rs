//! `apim-tune completions SHELL`: a completion script generated from the clap definitions, so
//! it offers exactly the subcommands and options the binary parses (a hand-written one drifts).

use super::args::{Cli, Shell};
use crate::exit_code;
use clap::CommandFactory;
use clap_complete::Shell as Target;
use std::io::Write;

pub fn run(shell: Shell) -> anyhow::Result<u8> {
    let target = match shell {
        Shell::Bash => Target::Bash,
        Shell::Zsh => Target::Zsh,
        Shell::Fish => Target::Fish,
        Shell::Powershell => Target::PowerShell,
    };
    // Generated into memory first: `generate` panics on a write error, and a closed pipe
    // (`completions bash | head`) must end quietly like every other command.
    let mut script = Vec::new();
    clap_complete::generate(target, &mut Cli::command(), "apim-tune", &mut script);
    if target == Target::Bash {
        script = fix_bash_states(&script);
    }
    let mut out = std::io::stdout().lock();
    out.write_all(&script)?;
    out.flush()?;
    Ok(exit_code::OK)
}

/// clap_complete's bash script spells the state of a subcommand two ways when the binary's name
/// has a hyphen: its loop arrives at `apim__tune__subcmd__audit`, its case arms wait for
/// `apim__subcmd__tune__subcmd__audit`, so nothing after a subcommand ever completed
/// (clap-rs/clap#6421, open for clap_complete 4.6.12). The arms are renamed to what the loop
/// computes; once clap fixes it, there is nothing left to rename.
fn fix_bash_states(script: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(script)
        .replace("apim__subcmd__tune__", "apim__tune__")
        .into_bytes()
}
