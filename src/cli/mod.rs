//! Command-line interface: clap definitions and the commands. The only module that prints.

pub mod args;
mod audit;
mod changes;
mod completions;
mod db;
mod explain;
mod facts;
mod fleet;
mod gateway;
mod host;
mod man;
mod options;
mod output;
mod validate;

use args::{Cli, Command};
use clap::Parser;
use std::io::Write;

/// Runs the CLI; returns the process exit code.
pub fn main() -> u8 {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Audit(a) => audit::run(a),
        Command::Rollback(a) => changes::rollback(a),
        Command::Backups(a) => changes::backups(a),
        Command::Host(a) => host::run(a),
        Command::Rules(a) => explain::rules(a.format),
        Command::Explain(a) => explain::explain(&a.code, a.format),
        Command::Gateway(a) => gateway::run(a),
        Command::Validate(a) => validate::run(a),
        Command::Backend(a) => gateway::backend(a),
        Command::Load(a) => gateway::load(a),
        Command::Db(a) => db::run(&a.command),
        Command::Facts(a) => facts::run(a),
        Command::Fleet(a) => match &a.command {
            args::FleetCommand::Merge(m) => fleet::merge(m),
        },
        Command::Completions(a) => completions::run(a.shell),
        Command::Man(a) => man::run(a.out.as_deref()),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            if is_broken_pipe(&e) {
                return crate::exit_code::OK;
            }
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "apim-tune failed: {e}");
            let mut source = e.source();
            while let Some(cause) = source {
                let _ = writeln!(err, "  Cause: {cause}");
                source = cause.source();
            }
            crate::exit_code::TOOL_ERROR
        }
    }
}

/// A closed pipe (`apim-tune audit | head`) is not an error (ripgrep does the same).
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
