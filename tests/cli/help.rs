//! The help: every argument of every command says what it is, short forms where the issue asked
//! for them, and README's Usage block is the commands' real synopsis, generated from the same
//! clap definitions `--help` renders (issue 17: README listed none of audit's `--output`,
//! `--waivers`, `--baseline`, `--diff`, `--apply`, `--live`, `--backup-dir`).

use apim_tune::cli::args::Cli;
use clap::{ArgAction, CommandFactory};
use std::path::Path;

/// Every command, subcommands included, with its path (`["db", "audit"]`).
fn commands() -> Vec<(Vec<String>, clap::Command)> {
    fn walk(path: Vec<String>, cmd: &clap::Command, out: &mut Vec<(Vec<String>, clap::Command)>) {
        out.push((path.clone(), cmd.clone()));
        // clap's own `help` subcommand (added by `build`) is not ours to document.
        for sub in cmd
            .get_subcommands()
            .filter(|s| !s.is_hide_set() && s.get_name() != "help")
        {
            let mut p = path.clone();
            p.push(sub.get_name().to_string());
            walk(p, sub, out);
        }
    }
    let mut cli = Cli::command();
    cli.build();
    let mut out = Vec::new();
    walk(Vec::new(), &cli, &mut out);
    out
}

/// The arguments a user sees: not hidden, not clap's own `--help`/`--version`.
fn visible_args(cmd: &clap::Command) -> impl Iterator<Item = &clap::Arg> {
    cmd.get_arguments().filter(|a| {
        !a.is_hide_set() && !matches!(a.get_action(), ArgAction::Help | ArgAction::Version)
    })
}

#[test]
fn every_argument_of_every_command_has_help() {
    let mut missing = Vec::new();
    for (path, cmd) in commands() {
        for arg in visible_args(&cmd) {
            let help = arg
                .get_help()
                .or(arg.get_long_help())
                .map(|h| h.to_string())
                .unwrap_or_default();
            if help.trim().is_empty() {
                missing.push(format!("apim-tune {} {}", path.join(" "), arg.get_id()));
            }
        }
        if !path.is_empty() && cmd.get_about().is_none() {
            missing.push(format!("apim-tune {} (the command itself)", path.join(" ")));
        }
    }
    assert!(
        missing.is_empty(),
        "arguments without help:\n{}",
        missing.join("\n")
    );
}

/// The walk above sees every argument: a command with an argument that has no help fails it
/// (so the test cannot pass by walking nothing).
#[test]
fn the_help_walk_catches_an_argument_without_help() {
    let all = commands();
    assert!(all.len() > 20, "walked only {} commands", all.len());
    let audit = all
        .iter()
        .find(|(p, _)| p == &["audit"])
        .map(|(_, c)| c.clone())
        .expect("audit");
    let bare = audit.arg(clap::Arg::new("undocumented").long("undocumented"));
    let without: Vec<_> = visible_args(&bare)
        .filter(|a| a.get_help().is_none() && a.get_long_help().is_none())
        .map(|a| a.get_id().to_string())
        .collect();
    assert_eq!(without, ["undocumented"]);
}

/// `audit --yes` has `-y`, as `db clean` and `db restore` do; through the binary, with
/// `--apply` on a copied root (it must not ask, and must apply).
#[test]
fn audit_yes_has_a_short_form() {
    let t = crate::CliTest::new("modern-4.2");
    let out = t
        .audit(
            Some("wso2am-4.2.0"),
            &["--apply", "-y", "--java-version", "17"],
        )
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{:?}\n{stderr}",
        out.status
    );
    assert!(
        t.root.join("var/backups/apim-tune").is_dir(),
        "-y did not apply (no backup made):\n{stderr}"
    );
}

/// `backups -h`, `host -h` and `validate -h` describe the options the issue found bare.
#[test]
fn the_bare_options_of_issue_17_have_help_in_the_binary() {
    let cases: &[(&[&str], &[&str])] = &[
        (&["backups"], &["--root <DIR>", "--backup-dir <DIR>"]),
        (&["host"], &["--root <DIR>", "--format <FORMAT>"]),
        (&["validate"], &["--format <FORMAT>"]),
    ];
    for (cmd, options) in cases {
        let out = assert_cmd::Command::cargo_bin("apim-tune")
            .unwrap()
            .args(*cmd)
            .arg("--help")
            .output()
            .unwrap();
        let help = String::from_utf8_lossy(&out.stdout);
        for option in *options {
            let line = help
                .lines()
                .find(|l| l.trim_start().starts_with(option))
                .unwrap_or_else(|| panic!("{cmd:?}: no `{option}` in\n{help}"));
            // The help text follows the option on its line (or the next, when wrapped).
            let rest = line.trim_start()[option.len()..].trim();
            let next = help
                .lines()
                .skip_while(|l| *l != line)
                .nth(1)
                .unwrap_or("")
                .trim();
            assert!(
                rest.len() > 10 || (!next.starts_with('-') && next.len() > 10),
                "{cmd:?} {option} has no help:\n{help}"
            );
        }
    }
}

// README's Usage block.

const WIDTH: usize = 100;

/// How one argument reads in a synopsis: `--root DIR`, `--format text|json`, `CODE`.
fn synopsis_word(arg: &clap::Arg) -> String {
    // A closed set of values reads as the values (`text|json`); else the value's name.
    let value = || {
        let values: Vec<String> = arg
            .get_possible_values()
            .iter()
            .filter(|v| !v.is_hide_set())
            .map(|v| v.get_name().to_string())
            .collect();
        if !values.is_empty() {
            return values.join("|");
        }
        match arg.get_value_names() {
            Some(names) => names
                .iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join(" "),
            None => arg.get_id().as_str().to_uppercase(),
        }
    };
    let repeated = matches!(arg.get_action(), ArgAction::Append);
    let word = match arg.get_long() {
        Some(long) if arg.get_action().takes_values() => format!("--{long} {}", value()),
        Some(long) => format!("--{long}"),
        None => value(),
    };
    let word = if arg.is_required_set() {
        word
    } else {
        format!("[{word}]")
    };
    if repeated { format!("{word}...") } else { word }
}

/// The synopsis of every command that runs something (no group such as `db` or `fleet`),
/// wrapped at [`WIDTH`] with continuation lines under the first option.
fn usage_block() -> String {
    let mut out = String::new();
    for (path, cmd) in commands() {
        if path.is_empty() || cmd.has_subcommands() {
            continue;
        }
        let head = format!("apim-tune {}", path.join(" "));
        let mut words: Vec<String> = visible_args(&cmd)
            .filter(|a| !a.is_positional())
            .map(synopsis_word)
            .collect();
        // Positionals last, as `--help`'s usage line puts them.
        words.extend(
            visible_args(&cmd)
                .filter(|a| a.is_positional())
                .map(synopsis_word),
        );
        let indent = " ".repeat(head.len() + 1);
        let mut line = head.clone();
        for w in words {
            if line.len() + 1 + w.len() > WIDTH && line.trim().len() > head.len() {
                out.push_str(&line);
                out.push('\n');
                line = indent.clone();
                line.push_str(&w);
            } else {
                line.push(' ');
                line.push_str(&w);
            }
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// README's block between "## Usage\n\n```\n" and the closing fence.
fn readme_usage(readme: &str) -> Option<(usize, usize)> {
    let start = readme.find("## Usage\n\n```\n")? + "## Usage\n\n```\n".len();
    let end = start + readme[start..].find("```\n")?;
    Some((start, end))
}

/// README's Usage block is exactly the generated synopsis of every command. With
/// `APIM_TUNE_UPDATE_README=1` (never under CI) the test writes it into README.md instead, as
/// `INSTA_UPDATE` does for snapshots; review the diff.
#[test]
fn readme_usage_is_the_real_synopsis_of_every_command() {
    let expected = usage_block();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let (start, end) = readme_usage(&readme).expect("README has a `## Usage` code block");
    if readme[start..end] == expected {
        return;
    }
    let update = std::env::var("APIM_TUNE_UPDATE_README").is_ok_and(|v| v == "1");
    if update && !crate::skip::in_ci() {
        let new = format!("{}{expected}{}", &readme[..start], &readme[end..]);
        std::fs::write(&path, new).unwrap();
        return;
    }
    panic!(
        "README.md's Usage block is not the commands' synopsis (rerun with \
         APIM_TUNE_UPDATE_README=1 to write it); it should read:\n\n{expected}"
    );
}

/// The synopsis is complete: each option of `audit -h` (through the binary) is in README's
/// audit entry, so a new option cannot be left out of the generated block either.
#[test]
fn every_option_of_audit_help_is_in_the_readme_usage() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let (start, end) = readme_usage(&readme).unwrap();
    let block = &readme[start..end];
    let audit: String = block
        .split("\napim-tune ")
        .find(|e| e.trim_start_matches("apim-tune ").starts_with("audit "))
        .expect("an audit entry")
        .to_string();
    let out = assert_cmd::Command::cargo_bin("apim-tune")
        .unwrap()
        .args(["audit", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    let options: Vec<&str> = help
        .lines()
        .filter_map(|l| {
            let l = l.trim_start();
            let l = l.strip_prefix("-y, ").unwrap_or(l);
            l.starts_with("--").then(|| l.split([' ', '\t']).next())?
        })
        .filter(|o| *o != "--help")
        .collect();
    assert!(options.len() > 20, "{options:?}");
    for o in &options {
        assert!(
            audit.contains(&format!("[{o}")),
            "`{o}` of `audit --help` is not in README's usage:\n{audit}"
        );
    }
    for o in [
        "--output",
        "--waivers",
        "--baseline",
        "--diff",
        "--apply",
        "--live",
        "--backup-dir",
    ] {
        assert!(options.contains(&o), "{o}");
    }
}
