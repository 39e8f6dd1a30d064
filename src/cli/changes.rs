//! `audit --diff`, `audit --apply [--live]`, `rollback`, `backups`: the commands that show or
//! make changes. Planning and writing live in `edit/`; this module asks, prints and maps
//! results to exit codes.

use super::args::{AuditArgs, BackupsArgs, Format, RollbackArgs};
use super::output::{exit_for, print_report};
use crate::audit::{AuditOptions, run as run_audit, run_with_sources};
use crate::edit::plan::{Plan, PlanContext, plan};
use crate::edit::write::{self, ApplyError, ApplyOptions, FileChange};
use crate::edit::{self, Effect};
use crate::exit_code;
use anyhow::{Context, bail};
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

/// Test hook: `after-temp-write` makes the writer fail between a temp write and its rename.
const FAILPOINT_ENV: &str = "APIM_TUNE_FAILPOINT";

pub fn diff_or_apply(a: &AuditArgs, opts: &AuditOptions) -> anyhow::Result<u8> {
    let (report, sources) = run_with_sources(opts)?;
    let today = edit::today();
    let planned = plan(
        &report,
        &sources,
        &PlanContext {
            root: &opts.root,
            today: &today,
        },
    );
    let diff = edit::diff::unified(&planned);
    let mut err = std::io::stderr().lock();
    for s in &planned.skipped {
        writeln!(
            err,
            "note: {} {}: not changed: {}",
            s.code, s.subject, s.reason
        )?;
    }
    drop(err);
    if a.diff {
        if let Some(path) = &a.record {
            write_record(
                path,
                &Record::new("diff", &planned, &diff, &sources.home_units),
            )?;
        }
        let mut out = std::io::stdout().lock();
        out.write_all(diff.as_bytes())?;
        out.flush()?;
        return Ok(if planned.is_empty() {
            exit_code::OK
        } else {
            exit_code::FINDINGS
        });
    }
    apply(a, opts, &planned, &diff, &sources.home_units)
}

/// What `--record FILE` writes (`apim-tune/apply/v1`): what an orchestrator (the Ansible
/// module) needs without parsing our text: whether anything changes, the masked diff for review,
/// the backup to roll back to, and what must be restarted for the change to take effect.
#[derive(serde::Serialize)]
struct Record<'a> {
    schema: &'static str,
    mode: &'static str,
    changed: bool,
    changes: usize,
    files: Vec<&'a str>,
    /// The same masked unified diff `--diff` prints: never a secret, never a whole file.
    diff: &'a str,
    backup: Option<String>,
    backup_dir: Option<String>,
    effects: Vec<&'static str>,
    /// The units that run the audited home, when a change needs a restart to take effect.
    units: Vec<&'a str>,
}

impl<'a> Record<'a> {
    fn new(mode: &'static str, planned: &'a Plan, diff: &'a str, units: &'a [String]) -> Self {
        let effects = planned.effects();
        let restarts =
            effects.contains(&Effect::RestartApim) || effects.contains(&Effect::RestartService);
        Record {
            schema: "apim-tune/apply/v1",
            mode,
            changed: !planned.is_empty(),
            changes: planned.changes(),
            files: planned.files.iter().map(|f| f.display.as_str()).collect(),
            diff,
            backup: None,
            backup_dir: None,
            effects: effects.iter().map(|e| e.name()).collect(),
            units: if restarts {
                units.iter().map(String::as_str).collect()
            } else {
                Vec::new()
            },
        }
    }
}

/// Written atomically: a reader never sees half a record.
fn write_record(path: &Path, record: &Record) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(record)? + "\n";
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .with_context(|| format!("--record `{}` names no file", path.display()))?;
    let tmp = dir.join(format!(".{}.tmp", name.to_string_lossy()));
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, path))
        .with_context(|| format!("cannot write the record `{}`", path.display()))
}

fn apply(
    a: &AuditArgs,
    opts: &AuditOptions,
    planned: &Plan,
    diff: &str,
    units: &[String],
) -> anyhow::Result<u8> {
    if crate::source::proc_root_split(&opts.root).is_some() {
        // The writer refuses the link anyway (it follows none); say why in the operator's terms.
        bail!(
            "--apply does not write through a process's root link (`{}`): a container's files come back from its image at the next start; change the image, the ConfigMap or the manifests (--diff shows what to change)",
            opts.root.display()
        );
    }
    // Progress goes to stderr under machine formats, so stdout stays one document.
    let mut say: Box<dyn Write> = match a.format {
        Format::Text | Format::Markdown => Box::new(std::io::stdout()),
        Format::Json | Format::Sarif | Format::Junit | Format::Html => Box::new(std::io::stderr()),
    };
    if a.live {
        if opts.root != Path::new("/") {
            bail!("--live writes the running kernel, so it cannot be combined with --root");
        }
        if !nix::unistd::geteuid().is_root() {
            bail!("--live writes /proc/sys and needs root");
        }
        let facts = crate::host::detect::detect(&opts.root, &opts.overrides);
        if facts.runtime_owns_sysctls() {
            bail!(
                "--live: this is a container; kernel parameters are set by the runtime (see `apim-tune host --format k8s`)"
            );
        }
    }
    if planned.is_empty() {
        writeln!(say, "nothing to change")?;
        if let Some(path) = &a.record {
            write_record(path, &Record::new("apply", planned, diff, units))?;
        }
    } else {
        if !a.yes {
            let interactive = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
            if !interactive {
                bail!(
                    "refusing to apply without --yes when not on a terminal (review the changes with --diff)"
                );
            }
            print!("{diff}");
            print!(
                "apply {} change(s) to {} file(s)? [y/N] ",
                planned.changes(),
                planned.files.len()
            );
            std::io::stdout().flush()?;
            let mut answer = String::new();
            std::io::stdin().lock().read_line(&mut answer)?;
            if !matches!(answer.trim(), "y" | "Y" | "yes") {
                writeln!(say, "nothing applied")?;
                return Ok(exit_code::OK);
            }
        }
        let changes: Vec<FileChange> = planned
            .files
            .iter()
            .map(|f| FileChange {
                path: f.path.clone(),
                display: f.display.clone(),
                before: f.before.as_ref().map(|b| b.as_bytes().to_vec()),
                after: f.after.as_bytes().to_vec(),
                secret: write::holds_secret(&f.after, &f.secrets),
            })
            .collect();
        let wopts = ApplyOptions {
            root: opts.root.clone(),
            backup_dir: backup_dir(&opts.root, a.backup_dir.as_deref()),
            allowed: allowed_dirs(&opts.root, opts.apim_home.as_deref()),
            now: edit::timestamp(),
            failpoint: std::env::var(FAILPOINT_ENV).ok(),
        };
        match write::apply(&changes, &wopts) {
            Ok(record) => {
                if let Some(path) = &a.record {
                    write_record(
                        path,
                        &Record {
                            backup: Some(record.id.clone()),
                            backup_dir: Some(record.dir.display().to_string()),
                            ..Record::new("apply", planned, diff, units)
                        },
                    )?;
                }
                say_removed_temp_files(&mut say, &record.removed_temp_files)?;
                writeln!(
                    say,
                    "applied {} change(s) to {} file(s); backup `{}` in {}",
                    planned.changes(),
                    planned.files.len(),
                    record.id,
                    record.dir.display()
                )?;
                for f in &planned.files {
                    writeln!(say, "  {}", f.display)?;
                    for c in &f.changes {
                        writeln!(say, "    {} {}", c.code, c.summary)?;
                    }
                }
                let effects = planned.effects();
                if !effects.is_empty() {
                    writeln!(say, "to take effect:")?;
                    for e in &effects {
                        writeln!(say, "  - {}", e.describe())?;
                    }
                }
                if a.live && effects.contains(&Effect::SysctlReload) {
                    live(planned, &mut say)?;
                }
                writeln!(say)?;
            }
            Err(e @ ApplyError::RolledBack { .. }) => {
                eprintln!("apim-tune failed: {e}");
                eprintln!("  every file written by this apply was restored");
                return Ok(exit_code::ROLLED_BACK);
            }
            // Failed midway and some files could not be restored: say which, loudly.
            Err(e @ ApplyError::RestoreIncomplete { .. }) => return Err(e.into()),
            Err(e) => return Err(e).context("nothing was written"),
        }
    }
    drop(say);
    // What remains after the change decides the exit code.
    let after = run_audit(opts)?;
    print_report(a.format, a.concise, &after)?;
    Ok(exit_for(&after, a.fail_on))
}

/// Writes each planned kernel parameter to /proc/sys and says what happened to each.
fn live(planned: &Plan, say: &mut dyn Write) -> anyhow::Result<()> {
    writeln!(say, "running kernel (--live):")?;
    for c in planned.files.iter().flat_map(|f| &f.changes) {
        let Some((key, value)) = &c.live else {
            continue;
        };
        let path = PathBuf::from("/proc/sys").join(key.replace('.', "/"));
        let result = if !path.exists() {
            "refused: the running kernel has no such parameter".to_string()
        } else {
            match std::fs::write(&path, format!("{value}\n")) {
                Ok(()) => format!("set to {value}"),
                Err(e) if e.raw_os_error() == Some(nix::libc::EROFS) => {
                    "not set: /proc/sys is read-only here (a container): set it with the runtime, e.g. `docker run --sysctl` or a Kubernetes pod's securityContext.sysctls".into()
                }
                Err(e) => format!("not set: {e}"),
            }
        };
        writeln!(say, "  {key}: {result}")?;
    }
    Ok(())
}

fn backup_dir(root: &Path, flag: Option<&Path>) -> PathBuf {
    match flag {
        Some(p) => p.to_path_buf(),
        None => root.join("var/backups/apim-tune"),
    }
}

/// Directories a change may land in after symlinks are resolved: the root and the API-M home.
fn allowed_dirs(root: &Path, apim_home: Option<&Path>) -> Vec<PathBuf> {
    let home = apim_home
        .map(Path::to_path_buf)
        .or_else(|| crate::apim::locate(None).map(|(p, _)| p));
    std::iter::once(root.to_path_buf())
        .chain(home)
        .filter_map(|p| p.canonicalize().ok())
        .collect()
}

fn say_removed_temp_files(say: &mut dyn Write, removed: &[PathBuf]) -> std::io::Result<()> {
    for path in removed {
        writeln!(
            say,
            "removed `{}`, a temp file left by an interrupted apply",
            path.display()
        )?;
    }
    Ok(())
}

pub fn rollback(a: &RollbackArgs) -> anyhow::Result<u8> {
    let root = super::options::canonical(&a.root);
    let wopts = ApplyOptions {
        backup_dir: backup_dir(&root, a.backup_dir.as_deref()),
        allowed: allowed_dirs(&root, a.apim_home.as_deref()),
        root,
        now: edit::timestamp(),
        failpoint: None,
    };
    match write::rollback(&wopts, a.to.as_deref(), a.force) {
        Ok(r) => {
            say_removed_temp_files(&mut std::io::stdout(), &r.removed_temp_files)?;
            println!("rolled back `{}`", r.id);
            for f in &r.restored {
                println!("  restored {f}");
            }
            for f in &r.removed {
                println!("  removed {f} (created by that apply)");
            }
            for f in &r.skipped {
                println!("  {f} already as before");
            }
            Ok(exit_code::OK)
        }
        // A rollback that fails midway can simply be run again: restored files are skipped.
        Err(e @ ApplyError::RollbackIncomplete { .. }) => {
            eprintln!("apim-tune failed: {e}");
            eprintln!("  run `apim-tune rollback` again to finish");
            Ok(exit_code::ROLLED_BACK)
        }
        Err(e @ ApplyError::LinkEscapes { .. }) => Err(anyhow::Error::new(e).context(
            "a file of that apply is outside --root: pass the --apim-home it was applied with",
        )),
        Err(e) => Err(e.into()),
    }
}

pub fn backups(a: &BackupsArgs) -> anyhow::Result<u8> {
    let dir = backup_dir(&super::options::canonical(&a.root), a.backup_dir.as_deref());
    let list = write::list_backups(&dir)?;
    let mut out = std::io::stdout().lock();
    if list.is_empty() {
        writeln!(out, "no backups in {}", dir.display())?;
        return Ok(exit_code::OK);
    }
    out.write_all(backups_table(&dir, &list).as_bytes())?;
    Ok(exit_code::OK)
}

/// The backups as a table with a header, then what each column is: the id and the time used to
/// be two unlabelled columns of the same `20261122T054801Z` shape.
fn backups_table(dir: &Path, list: &[write::BackupSummary]) -> String {
    const HEADER: [&str; 4] = ["ID", "MADE (UTC)", "FILES", "ROLLED BACK (UTC)"];
    let rows: Vec<[String; 4]> = list
        .iter()
        .map(|b| {
            [
                b.id.clone(),
                readable_stamp(&b.created),
                b.files.to_string(),
                b.rolled_back
                    .as_deref()
                    .map_or_else(|| "-".to_string(), readable_stamp),
            ]
        })
        .collect();
    let width = |i: usize| {
        rows.iter()
            .map(|r| r[i].chars().count())
            .chain([HEADER[i].len()])
            .max()
            .unwrap_or(0)
    };
    let (w0, w1, w2) = (width(0), width(1), width(2));
    let mut text = format!("Backups in {}, oldest first:\n", dir.display());
    let mut line = |c: [&str; 4]| {
        let row = format!("{:<w0$}  {:<w1$}  {:>w2$}  {}", c[0], c[1], c[2], c[3]);
        text.push_str(row.trim_end());
        text.push('\n');
    };
    line(HEADER);
    for r in &rows {
        line([&r[0], &r[1], &r[2], &r[3]]);
    }
    text.push_str(
        "\nID: what `rollback --to ID` takes (default: the newest); its files are in the folder ID\n\
         \x20   under the directory above.\n\
         MADE: when the --apply that saved them ran. FILES: how many files it changed.\n\
         ROLLED BACK: when `rollback` restored them (\"-\": not rolled back).\n",
    );
    text
}

/// `20261122T054801Z` (the stamp backups are named and dated with) as `2026-11-22 05:48:01`;
/// anything else as it is.
fn readable_stamp(s: &str) -> String {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if b.len() == 16 && b[8] == b'T' && b[15] == b'Z' && digits(0..8) && digits(9..15) {
        format!(
            "{}-{}-{} {}:{}:{}",
            &s[0..4],
            &s[4..6],
            &s[6..8],
            &s[9..11],
            &s[11..13],
            &s[13..15]
        )
    } else {
        s.to_string()
    }
}
