//! Exit codes: the constants, and what each means for each command. The tables below are the one
//! source of every `--help`'s "Exit codes:" section and of README's "Exit codes" table (a test
//! compares the README with [`TOOL`]); nothing else may spell them out.

/// Nothing at or above `--fail-on` was found.
pub const OK: u8 = 0;
/// Findings at or above `--fail-on`.
pub const FINDINGS: u8 = 1;
/// apim-tune itself failed: bad arguments, missing root, invalid profile.
pub const TOOL_ERROR: u8 = 2;
/// `--apply` failed while writing and restored every file it had written; or `rollback`
/// stopped while writing, keeping what it had restored (run again, it finishes).
pub const ROLLED_BACK: u8 = 3;
/// `db clean` stopped by Ctrl-C or SIGTERM after a whole batch: the same command continues.
/// 128 + SIGINT, as shells report a process interrupted by Ctrl-C (and cron or systemd logs
/// show it): it says "interrupted", which none of 1–3 does.
pub const INTERRUPTED: u8 = 130;

/// What one exit code means for one command: a row of its table.
#[derive(Debug, Clone, Copy)]
pub struct Meaning {
    pub code: u8,
    /// One sentence fragment. In `--help` a `\n` starts a new line and long lines wrap; in
    /// Markdown the `\n` is a space.
    pub text: &'static str,
}

const fn m(code: u8, text: &'static str) -> Meaning {
    Meaning { code, text }
}

/// The tool as a whole: `apim-tune --help` and README's table.
pub const TOOL: &[Meaning] = &[
    m(
        OK,
        "nothing at or above `--fail-on` (default `warning`); always 0 with `--fail-on never`",
    ),
    m(
        FINDINGS,
        "findings at or above `--fail-on`; `db restore`: some backed-up rows could not go back\n\
         (their key exists again, or they conflict with a newer row) and stay in the `BAK_` tables\n\
         or the `--backup-file`",
    ),
    m(
        TOOL_ERROR,
        "apim-tune itself failed: bad arguments, missing root, invalid profile, not an API-M home;\n\
         for `--apply`/`rollback`: nothing was written, unless the error says a failed\n\
         `--apply` could not restore some files (it names them)",
    ),
    m(
        ROLLED_BACK,
        "`--apply` failed while writing and restored every file it had written;\n\
         `rollback` stopped while writing and keeps what it restored (run it again to finish)",
    ),
    m(
        INTERRUPTED,
        "`db clean` stopped by Ctrl-C or SIGTERM after a whole batch; the same command continues\n\
         (128 + SIGINT, as shells report it)",
    ),
];

/// `apim-tune audit` (with `--diff` and `--apply`).
pub const AUDIT: &[Meaning] = &[
    m(
        OK,
        "nothing at or above --fail-on was found (always 0 with --fail-on never);\n\
         with --diff: nothing to change",
    ),
    m(
        FINDINGS,
        "findings at or above --fail-on (after --apply: what remains); with --diff: changes",
    ),
    m(
        TOOL_ERROR,
        "apim-tune itself failed: bad arguments, missing root, invalid profile, nothing written",
    ),
    m(
        ROLLED_BACK,
        "--apply failed while writing and restored every file it had written",
    ),
];

/// `apim-tune rollback`.
pub const ROLLBACK: &[Meaning] = &[
    m(OK, "every file of the apply is as it was before it"),
    m(
        TOOL_ERROR,
        "apim-tune itself failed before restoring anything: no backup, an unknown --to,\n\
         already rolled back, or a file changed since the apply (--force restores it anyway)",
    ),
    m(
        ROLLED_BACK,
        "the rollback stopped while writing; what it restored stays restored:\n\
         run it again to finish",
    ),
];

/// `apim-tune validate`.
pub const VALIDATE: &[Meaning] = &[
    m(OK, "every check passed (or was skipped)"),
    m(FINDINGS, "a check failed"),
    m(
        TOOL_ERROR,
        "apim-tune itself failed: bad arguments, missing root, a port it could not bind",
    ),
];

/// `apim-tune db audit`, `db clean` and `db restore`.
pub const DB: &[Meaning] = &[
    m(OK, "done (db audit: nothing at or above --fail-on)"),
    m(
        FINDINGS,
        "db audit: findings at or above --fail-on; db restore: some backed-up rows could not\n\
         go back (their key exists again, or they conflict with a newer row) and stay in BAK_\n\
         or the --backup-file",
    ),
    m(
        TOOL_ERROR,
        "apim-tune itself failed: bad arguments, no connection, missing tables or columns,\n\
         a foreign BAK_ table; nothing was deleted after a failed check",
    ),
    m(
        INTERRUPTED,
        "db clean stopped by Ctrl-C or SIGTERM after a whole batch; run the same command\n\
         again to continue where it stopped",
    ),
];

/// Help lines are wrapped to this many columns, clap's own width for help text.
const HELP_WIDTH: usize = 100;

/// The "Exit codes:" section of a command's `--help`: the codes in a column, each meaning after
/// them, wrapped with a hanging indent.
pub fn help(table: &[Meaning]) -> String {
    let code_width = table
        .iter()
        .map(|r| r.code.to_string().len())
        .max()
        .unwrap_or(1);
    let indent = 2 + code_width + 2;
    let mut out = String::from("Exit codes:");
    for row in table {
        let mut first = true;
        for line in row.text.split('\n') {
            for part in wrap(line.trim(), HELP_WIDTH - indent) {
                out.push('\n');
                if first {
                    out.push_str(&format!("  {:<code_width$}  ", row.code));
                    first = false;
                } else {
                    out.push_str(&" ".repeat(indent));
                }
                out.push_str(&part);
            }
        }
    }
    out
}

/// The same table in Markdown, as in README.
pub fn markdown(table: &[Meaning]) -> String {
    let mut out = String::from("| code | meaning |\n|---|---|\n");
    for row in table {
        let text: Vec<&str> = row.text.split('\n').map(str::trim).collect();
        out.push_str(&format!("| {} | {} |\n", row.code, text.join(" ")));
    }
    out
}

/// Greedy word wrap; a word longer than `width` gets a line of its own.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    lines.push(line);
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    /// README's table is this module's [`TOOL`] table, row for row.
    #[test]
    fn readme_table_is_the_tool_table() {
        let readme = include_str!("../README.md");
        let table = markdown(TOOL);
        assert!(
            readme.contains(&format!("### Exit codes\n\n{table}\n")),
            "README.md's \"### Exit codes\" table differs from exit_code::TOOL; it should read:\n\n{table}"
        );
    }

    #[test]
    fn every_table_has_one_row_per_code_in_order() {
        for table in [TOOL, AUDIT, ROLLBACK, VALIDATE, DB] {
            let codes: Vec<u8> = table.iter().map(|r| r.code).collect();
            let mut sorted = codes.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(codes, sorted, "{table:?}");
        }
        let all: Vec<u8> = TOOL.iter().map(|r| r.code).collect();
        assert_eq!(all, [OK, FINDINGS, TOOL_ERROR, ROLLED_BACK, INTERRUPTED]);
    }

    #[test]
    fn help_aligns_and_wraps_under_the_meaning() {
        let table = [
            m(0, "short"),
            m(130, "first line\nsecond line"),
            m(
                2,
                "a meaning long enough to wrap: it goes on and on past the width of a terminal, \
                 then a little further, and the rest sits under its first word",
            ),
        ];
        let help = help(&table);
        assert_eq!(
            help,
            "Exit codes:
  0    short
  130  first line
       second line
  2    a meaning long enough to wrap: it goes on and on past the width of a terminal, then a little
       further, and the rest sits under its first word"
        );
    }
}
