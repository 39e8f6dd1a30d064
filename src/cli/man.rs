//! `apim-tune man [--out DIR]`: man pages generated from the clap definitions (clap_mangen), one
//! per command and subcommand, so `man apim-tune-audit` says what `apim-tune audit -h` says.

use super::args::Cli;
use crate::exit_code;
use anyhow::Context;
use clap::CommandFactory;
use std::io::Write;
use std::path::Path;

/// Every page we write is bounded by the clap tree (a few dozen commands); nothing else is read.
pub fn run(out: Option<&Path>) -> anyhow::Result<u8> {
    let mut cli = Cli::command().disable_help_subcommand(true);
    // Built once, so each subcommand's name carries its parents' (`apim-tune-db-audit`) and the
    // page titles and file names agree with what `man` is asked for.
    cli.build();
    let Some(dir) = out else {
        let mut page = Vec::new();
        clap_mangen::Man::new(cli).render(&mut page)?;
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(&page)?;
        stdout.flush()?;
        return Ok(exit_code::OK);
    };
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut written = Vec::new();
    write_pages(&cli, dir, &mut written)?;
    let mut stdout = std::io::stdout().lock();
    for name in &written {
        writeln!(stdout, "{}", dir.join(name).display())?;
    }
    Ok(exit_code::OK)
}

/// The page of `cmd`, then those of its visible subcommands, depth first.
fn write_pages(cmd: &clap::Command, dir: &Path, written: &mut Vec<String>) -> anyhow::Result<()> {
    let man = clap_mangen::Man::new(cmd.clone());
    let name = man.get_filename();
    let mut page = Vec::new();
    man.render(&mut page)?;
    let path = dir.join(&name);
    std::fs::write(&path, page).with_context(|| format!("cannot write {}", path.display()))?;
    written.push(name);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sub, dir, written)?;
    }
    Ok(())
}
