//! `apim-tune db …`: the database commands. Parsing the target, asking before deleting,
//! drawing progress, rendering, exit codes; the work is in `crate::db`.

use super::args::{
    DbAuditArgs, DbCleanArgs, DbCleanOptions, DbCommand, DbFormat, DbInitArgs, DbRestoreArgs,
    DbScheduleArgs, DbSeedArgs, DbTargetArgs, Format, ScheduledClean,
};
use crate::apim::{self, ApimModel};
use crate::db::model::{CleanReport, DbAuditReport, NamedBy, RestoreReport, TableOutcome};
use crate::db::schedule::{self, ScheduleError, ScheduleOptions};
use crate::db::schema::{self, Generation};
use crate::db::{
    self, AuditSpec, Backup, CleanPlan, ConfigContext, ConfigFlag, Progress, SeedSpec, Target,
};
use crate::exit_code;
use crate::report::RenderOptions;
use anyhow::{anyhow, bail};
use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{CommandFactory, Parser};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

pub fn run(cmd: &DbCommand) -> anyhow::Result<u8> {
    match cmd {
        DbCommand::Init(a) => init(a),
        DbCommand::Seed(a) => seed(a),
        DbCommand::Audit(a) => audit(a),
        DbCommand::Clean(a) => clean(a),
        DbCommand::Restore(a) => restore(a),
        DbCommand::Schedule(a) => schedule(a),
    }
}

fn target(t: &DbTargetArgs) -> anyhow::Result<Target> {
    let target = match (url(t), &t.apim_home) {
        (Some(url), _) => Target::parse(url).map_err(|e| anyhow!(e))?,
        (None, Some(home)) => db::target::from_home(home).map_err(|e| anyhow!(e))?,
        (None, None) => bail!(
            "which database? give --url (or set APIM_TUNE_DB_URL), or --apim-home to read its \
             WSO2AM_DB datasource"
        ),
    };
    with_options(target, t)
}

/// Whether `--url` is on the command line (clap fills the same field from APIM_TUNE_DB_URL).
fn url_on_command_line() -> bool {
    std::env::args_os().any(|a| {
        let a = a.to_string_lossy();
        a == "--url" || a.starts_with("--url=")
    })
}

/// The URL to use: `--url`, else APIM_TUNE_DB_URL unless `--apim-home` is on the command line
/// (a home named for this run beats a variable left in the environment; found in review of
/// issue 17: the variable won silently and the registry's own database was never used).
fn url(t: &DbTargetArgs) -> Option<&String> {
    t.url
        .as_ref()
        .filter(|_| t.apim_home.is_none() || url_on_command_line())
}

/// The connect timeout and CA file every target gets, the registry's included.
fn with_options(target: Target, t: &DbTargetArgs) -> anyhow::Result<Target> {
    let target = target.with_connect_timeout(Duration::from_secs(t.connect_timeout));
    match &t.ca_file {
        Some(ca) => target.with_ca_file(ca).map_err(|e| anyhow!(e)),
        None => Ok(target),
    }
}

/// How the database was named: `--url` on the command line, the URL from APIM_TUNE_DB_URL
/// (clap fills the same field from either, so the command line tells them apart), or the home.
fn named_by(t: &DbTargetArgs) -> NamedBy {
    match (url(t), &t.apim_home) {
        (Some(_), _) if url_on_command_line() => NamedBy::Url,
        (Some(_), _) => NamedBy::Env,
        (None, Some(home)) => NamedBy::ApimHome(home.display().to_string()),
        (None, None) => NamedBy::Url,
    }
}

/// With `--apim-home` (and no URL), the registry's own datasource when REG_LOG is cleaned and
/// it is another database than the API-M one: `[database.shared_db]`, or on 2.x the one
/// registry.xml mounts.
fn registry_target(t: &DbTargetArgs, apim: &Target) -> anyhow::Result<Option<Target>> {
    let (None, Some(home)) = (url(t), &t.apim_home) else {
        return Ok(None);
    };
    let reg = db::target::datasource_of_home(home, db::target::Datasource::Registry)
        .map_err(|e| anyhow!("--registry: {e}"))?;
    if reg.url.expose() == apim.url.expose() {
        return Ok(None);
    }
    with_options(reg, t).map(Some)
}

/// [`registry_target`] where REG_LOG is only read or put back (`db audit`, `db restore`): a
/// home without a usable registry datasource (none, or the shipped embedded H2) keeps REG_LOG
/// in the API-M database, with a note saying why, instead of failing a command that may not
/// touch REG_LOG at all (found in review of issue 17).
fn registry_target_or_note(
    t: &DbTargetArgs,
    apim: &Target,
) -> anyhow::Result<(Option<Target>, Option<String>)> {
    match registry_target(t, apim) {
        Ok(reg) => Ok((reg, None)),
        // Only a home that keeps no registry database of its own falls back: one it cannot use
        // (a Secure Vault password, an unknown URL, a refused TLS mode) stays an error, since
        // REG_LOG's rows must never land in the wrong database (review of issue 17).
        Err(e) if db::target::is_no_server_database(&e.to_string()) => Ok((
            None,
            Some(format!(
                "REG_LOG is taken from the API-M database: the home's registry datasource is not usable ({})",
                e.to_string().trim_start_matches("--registry: ")
            )),
        )),
        Err(e) => Err(e),
    }
}

fn init(a: &DbInitArgs) -> anyhow::Result<u8> {
    let g = Generation::parse(&a.apim_version).ok_or_else(|| {
        anyhow!(
            "`{}`: db init knows the table shapes of API-M 2.6, 3.2 and 4.2",
            a.apim_version
        )
    })?;
    let t = target(&a.target)?;
    let mut out = std::io::stdout().lock();
    if a.print {
        for stmt in schema::ddl(t.engine, g) {
            writeln!(out, "{stmt};")?;
        }
        return Ok(exit_code::OK);
    }
    let r = db::init(&t, g)?;
    writeln!(
        out,
        "{}: API-M {g} tables: {} created{}",
        t.display,
        r.created.len(),
        if r.existing.is_empty() {
            String::new()
        } else {
            format!(
                ", {} already there ({})",
                r.existing.len(),
                r.existing.join(", ")
            )
        }
    )?;
    Ok(exit_code::OK)
}

fn seed(a: &DbSeedArgs) -> anyhow::Result<u8> {
    let t = target(&a.target)?;
    let tenth = a.tokens / 10;
    let spec = SeedSpec {
        tokens: a.tokens,
        codes: a.codes.unwrap_or(tenth),
        sessions: a.sessions.unwrap_or(tenth),
        registry: a.registry.unwrap_or(tenth),
        audit: a.audit_rows.unwrap_or(tenth),
    };
    let bar = Bar::new();
    let r = db::seed(&t, &spec, &bar)?;
    bar.clear();
    let mut out = std::io::stdout().lock();
    if a.format == DbFormat::Json {
        writeln!(out, "{}", serde_json::to_string(&r)?)?;
        return Ok(exit_code::OK);
    }
    writeln!(out, "seeded {}", r.target)?;
    for (table, n) in &r.tables {
        writeln!(out, "  {table:<34} {n:>10} rows")?;
    }
    writeln!(
        out,
        "  {} rows in {:.1} s ({:.0} rows/s; {:.1} s of it rebuilding indexes)",
        r.rows,
        r.seconds,
        r.rows as f64 / r.seconds.max(1e-9),
        r.index_seconds
    )?;
    Ok(exit_code::OK)
}

/// The home's own cleanup settings, for the config context of `db audit`.
fn config_context(home: &Path) -> anyhow::Result<ConfigContext> {
    let h =
        apim::detect(Path::new("/"), home, "--apim-home".into(), None).map_err(|e| anyhow!(e))?;
    let model = ApimModel::load(Path::new("/"), h, 1);
    let flag = |id: &str| {
        model.observe(id).and_then(|o| {
            let value = match o.value.as_deref()? {
                "true" => true,
                "false" => false,
                _ => return None,
            };
            Some(ConfigFlag {
                value,
                subject: o.subject,
                location: o.set_at,
            })
        })
    };
    Ok(ConfigContext {
        token_cleanup: flag("token_cleanup.enable"),
        retain_for_audit: flag("token_cleanup.retain_for_audit"),
        session_cleanup: flag("session_cleanup.enable"),
    })
}

fn audit(a: &DbAuditArgs) -> anyhow::Result<u8> {
    super::output::set_color(a.color);
    let t = target(&a.target)?;
    let context = match &a.target.apim_home {
        Some(home) => config_context(home)?,
        None => ConfigContext::default(),
    };
    let spec = AuditSpec {
        safe_period: a.safe_period,
        audit_older_than: a.older_than,
        context,
        named_by: named_by(&a.target),
        registry_only: false,
    };
    let mut report = db::audit(&t, &spec)?;
    // REG_LOG is judged where it is: the home's registry database, when that is another one.
    let (registry, note) = registry_target_or_note(&a.target, &t)?;
    report.notes.extend(note);
    if let Some(reg) = registry {
        let registry = db::audit(
            &reg,
            &AuditSpec {
                registry_only: true,
                ..spec.clone()
            },
        )?;
        take_registry_log(&mut report, registry);
    }
    crate::audit::judge_db(&mut report);
    let ro = RenderOptions {
        fail_on: super::output::threshold(a.fail_on),
        diff: None,
        concise: a.concise,
    };
    super::output::write_reports(&a.output, a.format, |f| render(f, &report, &ro))?;
    Ok(super::output::exit_for(&report, a.fail_on))
}

/// REG_LOG's figures and index needs from the registry database's audit, in place of the
/// API-M database's (where REG_LOG is usually absent).
fn take_registry_log(report: &mut DbAuditReport, registry: DbAuditReport) {
    let is_reg = |t: &str| t == schema::REG_LOG;
    let reg_stats = registry.tables.into_iter().find(|s| is_reg(&s.table));
    if let Some(stats) = reg_stats {
        for tables in [&mut report.tables, &mut report.facts.tables] {
            match tables.iter_mut().find(|s| is_reg(&s.table)) {
                Some(s) => *s = stats.clone(),
                None => tables.push(stats.clone()),
            }
        }
    }
    report.facts.cleanup_indexes.retain(|n| !is_reg(&n.table));
    report.facts.cleanup_indexes.extend(
        registry
            .facts
            .cleanup_indexes
            .into_iter()
            .filter(|n| is_reg(&n.table)),
    );
    report.notes.push(format!(
        "{} read from the registry's database, {}",
        schema::REG_LOG,
        registry.target
    ));
}

fn render(format: Format, report: &DbAuditReport, ro: &RenderOptions) -> String {
    match format {
        Format::Text if ro.concise => crate::report::text::concise(report),
        Format::Text => crate::report::text::render(report),
        Format::Json => crate::report::json::render(report),
        Format::Sarif => crate::report::sarif::render(report, ro),
        Format::Junit => crate::report::junit::render(report, ro),
        Format::Markdown => crate::report::markdown::render(report, ro),
        Format::Html => crate::report::html::render(report, ro),
    }
}

fn clean(a: &DbCleanArgs) -> anyhow::Result<u8> {
    let t = target(&a.target)?;
    let mut plan = CleanPlan {
        dry_run: a.dry_run,
        stop_after_batches: a.stop_after_batches,
        ..clean_plan(&a.clean)
    };
    if a.backup_file.is_some() {
        plan.backup = Backup::File;
    }
    // REG_LOG lives in the registry's database: with --apim-home it is cleaned there, in a run
    // of its own, and the API-M database gets the other tables.
    let registry = if plan.registry {
        registry_target(&a.target, &t)?
    } else {
        None
    };
    let runs: Vec<(&Target, CleanPlan)> = match &registry {
        Some(reg) => {
            let main = CleanPlan {
                registry: false,
                ..plan.clone()
            };
            let reg_plan = CleanPlan {
                tokens: false,
                codes: false,
                sessions: false,
                audit_older_than: None,
                ..plan.clone()
            };
            let mut v = Vec::new();
            if !selected(&main).is_empty() {
                v.push((&t, main));
            }
            v.push((reg, reg_plan));
            v
        }
        None => vec![(&t, plan.clone())],
    };
    if a.print_sql {
        let mut out = std::io::stdout().lock();
        for (target, plan) in &runs {
            if runs.len() > 1 {
                writeln!(out, "-- {}", target.display)?;
            }
            for s in db::plain_sql(target, plan)? {
                writeln!(out, "{s};")?;
            }
        }
        return Ok(exit_code::OK);
    }
    if !a.dry_run && !a.yes {
        let backup = match &a.backup_file {
            Some(f) => format!(", backing them up to {}", f.display()),
            None if a.clean.backup => ", backing them up to BAK_ tables".to_string(),
            None => " WITHOUT a backup".to_string(),
        };
        let what = runs
            .iter()
            .map(|(target, plan)| format!("{} ({})", target.display, selected(plan)))
            .collect::<Vec<_>>()
            .join(" and of ");
        confirm(&format!("delete the removable rows of {what}{backup}?"))?;
    }
    let mut reports = Vec::new();
    for (target, plan) in &runs {
        let bar = Bar::new();
        let r = db::clean_with_file(target, plan, a.backup_file.as_deref(), &bar);
        bar.clear();
        let r = r?;
        let interrupted = r.interrupted;
        reports.push(r);
        if interrupted {
            break;
        }
    }
    let mut it = reports.into_iter();
    let Some(mut r) = it.next() else {
        bail!("nothing selected");
    };
    r.registry = it.next().map(Box::new);
    print_clean(&r, a.format)?;
    let interrupted = r.interrupted || r.registry.as_ref().is_some_and(|x| x.interrupted);
    Ok(if interrupted {
        exit_code::INTERRUPTED
    } else {
        exit_code::OK
    })
}

/// The plan `db clean` runs and `db schedule` bakes in, from the same options.
fn clean_plan(o: &DbCleanOptions) -> CleanPlan {
    CleanPlan {
        tokens: o.tokens,
        codes: o.codes,
        sessions: o.sessions,
        registry: o.registry,
        audit_older_than: if o.audit_table { o.older_than } else { None },
        safe_period: o.safe_period,
        batch: o.batch as usize,
        pause: o.pause,
        backup: if o.backup {
            Backup::Tables
        } else {
            Backup::None
        },
        dry_run: false,
        stop_after_batches: None,
    }
}

fn selected(p: &CleanPlan) -> String {
    let mut v = Vec::new();
    for (on, name) in [
        (p.tokens, "tokens"),
        (p.codes, "codes"),
        (p.sessions, "sessions"),
        (p.registry, "registry log"),
        (p.audit_older_than.is_some(), "token audit table"),
    ] {
        if on {
            v.push(name);
        }
    }
    v.join(", ")
}

/// Asks on the terminal; refuses when there is none (a pipeline must say --yes).
fn confirm(question: &str) -> anyhow::Result<()> {
    if !std::io::stdin().is_terminal() {
        bail!("{question} Not without a terminal to ask on: pass --yes");
    }
    eprint!("{question} [y/N] ");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    if matches!(line.trim(), "y" | "Y" | "yes" | "YES") {
        Ok(())
    } else {
        bail!("not confirmed: nothing changed")
    }
}

fn outcome_line(o: &TableOutcome, verb: &str) -> String {
    let mut s = format!("  {:<34} {:>10} rows {verb}", o.table, o.rows);
    if o.dependent_rows > 0 {
        s.push_str(&format!(", {} dependent rows", o.dependent_rows));
    }
    if o.batches > 0 {
        let plural = if o.batches == 1 { "batch" } else { "batches" };
        s.push_str(&format!(" in {} {plural}", o.batches));
    }
    if o.backed_up > 0 {
        s.push_str(&format!(", {} backed up", o.backed_up));
    }
    if !o.dependents_by_cascade.is_empty() {
        s.push_str(&format!(
            " ({} rows went by ON DELETE CASCADE)",
            o.dependents_by_cascade.join(", ")
        ));
    }
    s
}

fn print_clean(r: &CleanReport, format: DbFormat) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if format == DbFormat::Json {
        writeln!(out, "{}", serde_json::to_string(r)?)?;
        return Ok(());
    }
    drop(out);
    print_clean_text(r)?;
    if let Some(reg) = &r.registry {
        print_clean_text(reg)?;
    }
    Ok(())
}

fn print_clean_text(r: &CleanReport) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let verb = if r.dry_run { "removable" } else { "deleted" };
    writeln!(
        out,
        "{} {} (cut-off {} UTC{})",
        if r.dry_run { "dry run on" } else { "cleaned" },
        r.target,
        r.cutoff,
        match r.resumed_run {
            Some(id) => format!(", continuing run {id}"),
            None => String::new(),
        }
    )?;
    for o in &r.tables {
        writeln!(out, "{}", outcome_line(o, verb))?;
    }
    let rows: u64 = r.tables.iter().map(|t| t.rows).sum();
    if !r.dry_run {
        writeln!(
            out,
            "  {rows} rows in {:.1} s ({:.0} rows/s)",
            r.seconds,
            rows as f64 / r.seconds.max(1e-9)
        )?;
    }
    if r.interrupted {
        writeln!(
            out,
            "stopped after a whole batch: run the same command again to continue (same cut-off)"
        )?;
    }
    Ok(())
}

fn restore(a: &DbRestoreArgs) -> anyhow::Result<u8> {
    let t = target(&a.target)?;
    // A clean with --apim-home put REG_LOG's rows in the registry's database (or the file's
    // REG_LOG lines came from there): they go back there, never into the API-M database.
    let (registry, note) = registry_target_or_note(&a.target, &t)?;
    if let Some(note) = note {
        eprintln!("note: {note}");
    }
    if !a.yes {
        let from = match &a.backup_file {
            Some(f) => f.display().to_string(),
            None => "apim-tune's BAK_ tables".to_string(),
        };
        let into = match &registry {
            Some(reg) => format!("{} (REG_LOG: {})", t.display, reg.display),
            None => t.display.clone(),
        };
        confirm(&format!("put the rows of {from} back into {into}?"))?;
    }
    let file = a.backup_file.as_deref();
    let bar = Bar::new();
    let r = match &registry {
        None => db::restore_part(&t, file, db::RestorePart::All, &bar),
        Some(reg) => db::restore_part(&t, file, db::RestorePart::WithoutRegistry, &bar).and_then(
            |mut main| {
                let r = db::restore_part(reg, file, db::RestorePart::RegistryOnly, &bar)?;
                if main.tables.is_empty() && r.tables.is_empty() {
                    return Err(db::DbError::Refused(format!(
                        "neither {} nor {} has anything to restore",
                        main.target, r.target
                    )));
                }
                main.registry = Some(Box::new(r));
                Ok(main)
            },
        ),
    };
    bar.clear();
    let r = r?;
    print_restore(&r, a.format)?;
    // Rows left in the backup are not an error, but a script must be able to tell.
    let skipped = r.skipped_present + r.registry.as_ref().map_or(0, |x| x.skipped_present);
    Ok(if skipped > 0 {
        exit_code::FINDINGS
    } else {
        exit_code::OK
    })
}

fn print_restore(r: &RestoreReport, format: DbFormat) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if format == DbFormat::Json {
        writeln!(out, "{}", serde_json::to_string(r)?)?;
        return Ok(());
    }
    drop(out);
    print_restore_text(r)?;
    if let Some(reg) = &r.registry {
        print_restore_text(reg)?;
    }
    Ok(())
}

fn print_restore_text(r: &RestoreReport) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "restored {}", r.target)?;
    for o in &r.tables {
        writeln!(out, "{}", outcome_line(o, "put back"))?;
    }
    for n in &r.notes {
        writeln!(out, "  note: {n}")?;
    }
    let stay = match &r.backup_file {
        Some(f) => format!("they stay in {f}, which a restore never changes"),
        None => "they stay in the BAK_ tables".to_string(),
    };
    // "1 backed-up row conflicts", "2 backed-up rows conflict".
    let rows = |n: u64| if n == 1 { "row" } else { "rows" };
    if r.conflicts > 0 {
        let verb = if r.conflicts == 1 {
            "conflicts"
        } else {
            "conflict"
        };
        writeln!(
            out,
            "  {} backed-up {} {verb} with rows created since (a unique index, or their parent did not come back): not put back, {stay}",
            r.conflicts,
            rows(r.conflicts),
        )?;
    }
    if r.skipped_present > r.conflicts {
        let n = r.skipped_present - r.conflicts;
        writeln!(
            out,
            "  {n} backed-up {} {} not put back: a row with the same key exists again ({stay})",
            rows(n),
            if n == 1 { "was" } else { "were" },
        )?;
    }
    Ok(())
}

fn schedule(a: &DbScheduleArgs) -> anyhow::Result<u8> {
    let opts = ScheduleOptions {
        every: a.every,
        at: a.at,
        url: a.url.clone(),
        clean: scheduled_clean(&a.options)?,
        binary: a.binary.clone(),
    };
    let text = schedule::render(a.engine, &opts)?;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    Ok(exit_code::OK)
}

/// `db schedule --options "…"`: the words go through `db clean`'s own argument struct and
/// become a plan the way `db clean`'s do, so a schedule accepts only what a run accepts. (A
/// hand-written parser here once took `--batch 1000000`; every scheduled run then exited 2.)
fn scheduled_clean(options: &str) -> Result<CleanPlan, ScheduleError> {
    let words: Vec<&str> = options.split_whitespace().collect();
    let parsed = ScheduledClean::try_parse_from(&words).map_err(|e| options_error(&e, &words))?;
    let bad = |value: &str, reason: String| ScheduleError::Options {
        value: value.to_string(),
        reason,
    };
    if parsed.url.is_some() {
        return Err(bad(
            "--url",
            format!(
                "the URL (and its password) comes from {} ({}=…), not from the schedule",
                schedule::ENV_FILE,
                schedule::URL_VAR
            ),
        ));
    }
    if parsed.clean.older_than.is_some() && !parsed.clean.audit_table {
        // `db clean` ignores it; baked into a schedule it would look like it did something.
        return Err(bad(
            "--older-than",
            "applies to --audit-table only".to_string(),
        ));
    }
    let mut plan = clean_plan(&parsed.clean);
    schedule::default_tables(&mut plan);
    schedule::check_clean(&plan)?;
    Ok(plan)
}

/// clap's error about `--options` as one line naming the word at fault.
fn options_error(e: &clap::Error, words: &[&str]) -> ScheduleError {
    let context = |kind| match e.get(kind) {
        Some(ContextValue::String(s)) => s.clone(),
        Some(ContextValue::Strings(v)) => v.join(", "),
        _ => String::new(),
    };
    // `--batch <BATCH>`: the option's name is enough.
    let arg = context(ContextKind::InvalidArg);
    let name = arg
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string();
    let (value, reason) = match e.kind() {
        ErrorKind::UnknownArgument => {
            let known: Vec<String> = ScheduledClean::command()
                .get_arguments()
                .filter(|a| !a.is_hide_set())
                .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
                .collect();
            (name, format!("unknown option; known: {}", known.join(" ")))
        }
        ErrorKind::InvalidValue if context(ContextKind::InvalidValue).is_empty() => {
            (name.clone(), format!("{name} needs a value"))
        }
        ErrorKind::InvalidValue | ErrorKind::ValueValidation => {
            let why = match std::error::Error::source(e) {
                Some(source) => source.to_string(),
                None => "not a valid value".to_string(),
            };
            (context(ContextKind::InvalidValue), format!("{name}: {why}"))
        }
        ErrorKind::TooManyValues | ErrorKind::NoEquals => {
            (name.clone(), format!("{name} takes no value"))
        }
        ErrorKind::MissingRequiredArgument => (words.join(" "), format!("needs {arg}")),
        ErrorKind::ArgumentConflict => {
            let prior = context(ContextKind::PriorArg);
            if prior == arg {
                (name, "given more than once".to_string())
            } else {
                (name, format!("cannot go with {prior}"))
            }
        }
        _ => {
            // Any other refusal in clap's own words, without its `error: ` prefix and tips.
            let text = e.to_string();
            let first = text.lines().next().unwrap_or_default();
            let reason = first.strip_prefix("error: ").unwrap_or(first).to_string();
            (words.join(" "), reason)
        }
    };
    ScheduleError::Options { value, reason }
}

/// A progress bar on stderr when it is a terminal; nothing otherwise.
struct Bar {
    bar: Mutex<Option<ProgressBar>>,
    on: bool,
}

impl Bar {
    fn new() -> Bar {
        Bar {
            bar: Mutex::new(None),
            on: std::io::stderr().is_terminal(),
        }
    }

    fn clear(&self) {
        if let Ok(mut b) = self.bar.lock()
            && let Some(b) = b.take()
        {
            b.finish_and_clear();
        }
    }
}

impl Progress for Bar {
    fn begin(&self, table: &str, total: Option<u64>) {
        if !self.on {
            return;
        }
        let bar = ProgressBar::new(total.unwrap_or(0));
        let style = ProgressStyle::with_template(
            "{prefix:<30} [{bar:30}] {human_pos}/{human_len} rows, {per_sec}, eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(table.to_string());
        if let Ok(mut b) = self.bar.lock() {
            if let Some(old) = b.take() {
                old.finish_and_clear();
            }
            *b = Some(bar);
        }
    }

    fn advance(&self, rows: u64) {
        if let Ok(b) = self.bar.lock()
            && let Some(b) = b.as_ref()
        {
            b.inc(rows);
        }
    }

    fn end(&self, _table: &str) {
        self.clear();
    }

    fn wants_totals(&self) -> bool {
        self.on
    }
}

#[cfg(test)]
mod tests {
    //! `db schedule --options` through `db clean`'s own parser (these cases were the tests of
    //! the hand-written parser it replaced, and still hold).

    use super::*;
    use crate::cli::args::{Cli, Command, DbArgs};
    use std::time::Duration;

    #[test]
    fn options_parse_and_render_back() {
        let o = scheduled_clean(
            "--sessions --safe-period=3h --batch 500 --pause 0 --audit-table --older-than 90d --yes",
        )
        .expect("valid");
        assert!(o.sessions && !o.tokens && !o.codes && !o.registry);
        assert_eq!(o.audit_older_than, Some(Duration::from_secs(90 * 86_400)));
        assert_eq!(
            schedule::clean_args(&o).join(" "),
            "--sessions --audit-table --older-than 90d --safe-period 3h --batch 500 --pause 0s"
        );
        assert_eq!(
            scheduled_clean("").expect("empty"),
            ScheduleOptions::default().clean
        );
        assert_eq!(
            schedule::clean_args(&scheduled_clean("--batch 20").expect("valid")).join(" "),
            "--tokens --codes --sessions --safe-period 2h --batch 20 --pause 100ms"
        );
    }

    #[test]
    fn bad_options_are_errors() {
        for (s, why) in [
            ("--url mysql://u:p@h/db", "comes from /etc/apim-tune/db.env"),
            ("--tokens --dry-run", "unknown option"),
            ("--batch", "needs a value"),
            ("--batch 0", "from 1 to"),
            ("--batch many", "from 1 to"),
            ("--safe-period 2x", "expected a number"),
            ("--safe-period 1500ms", "whole seconds"),
            ("--safe-period 4000d", "at most 3650d"),
            ("--pause 2h", "at most 1h"),
            ("--audit-table", "needs --older-than"),
            ("--older-than 90d", "--audit-table only"),
            ("--tokens=yes", "takes no value"),
            // `db clean`'s bound, which the hand-written parser did not know.
            ("--batch 15001", "from 1 to 15000"),
            ("--batch 1000000", "from 1 to 15000"),
            ("--tokens --tokens", "more than once"),
        ] {
            match scheduled_clean(s) {
                Err(e @ ScheduleError::Options { .. }) => {
                    assert!(e.to_string().contains(why), "{s:?}: {e}")
                }
                other => panic!("{s:?}: {other:?}"),
            }
        }
    }

    /// The words a unit or crontab line passes to `db clean` parse, with `db clean`'s own
    /// arguments, to the very plan the schedule was made from.
    #[test]
    fn rendered_options_are_the_plan_db_clean_runs() {
        for options in [
            "",
            "--registry --backup --batch 15000 --pause 1s",
            "--sessions --safe-period=3h --batch 1 --pause 0 --audit-table --older-than 90d -y",
            "--tokens --codes --safe-period 7200",
        ] {
            let plan = scheduled_clean(options).expect("valid");
            let words = schedule::clean_args(&plan);
            let argv = ["apim-tune", "db", "clean", "--yes"]
                .into_iter()
                .chain(words.iter().map(String::as_str));
            let Ok(Cli {
                command:
                    Command::Db(DbArgs {
                        command: DbCommand::Clean(a),
                    }),
            }) = Cli::try_parse_from(argv)
            else {
                panic!("{options:?}: `db clean {}` does not parse", words.join(" "));
            };
            assert_eq!(clean_plan(&a.clean), plan, "{options:?}");
        }
    }
}
