//! `db restore`: puts the rows of apim-tune's `BAK_*` tables back into their tables, parents
//! before children, in batches. A row whose key is present again (re-created since) is not
//! overwritten and stays in the backup; every row put back leaves the backup in the same
//! transaction, so a restore can be interrupted and run again.

use super::backup_file::{self, FileColumn};
use super::clean::{bak, key_match, our_backups, row_key};
use super::conn::{Arg, Conn};
use super::model::{RestoreReport, TableOutcome};
use super::schema::{self, Generation};
use super::{DbError, Progress, Target};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::path::Path;

/// Which tables a restore puts back: with `--apim-home` and a registry database of its own,
/// REG_LOG goes back there and the other tables to the API-M database.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    All,
    WithoutRegistry,
    RegistryOnly,
}

impl Part {
    fn takes(self, table: &str) -> bool {
        match self {
            Part::All => true,
            Part::WithoutRegistry => table != schema::REG_LOG,
            Part::RegistryOnly => table == schema::REG_LOG,
        }
    }

    /// An empty report where a part of a split restore has nothing to put back.
    fn nothing(self, target: &Target, file: Option<&Path>) -> Option<RestoreReport> {
        (self != Part::All)
            .then(|| RestoreReport::new(&target.display, file.map(|f| f.display().to_string())))
    }
}

/// Keys per batch: under SQLite's 32766 parameters for the widest key (4 columns, twice).
const KEYS_PER_BATCH: usize = 2_000;

pub(crate) async fn run(
    c: &mut Conn,
    target: &Target,
    part: Part,
    progress: &dyn Progress,
) -> Result<RestoreReport, DbError> {
    let mut backups = our_backups(c).await?;
    backups.retain(|(_, source)| part.takes(source));
    if backups.is_empty() {
        if let Some(empty) = part.nothing(target, None) {
            return Ok(empty);
        }
        return Err(DbError::Refused(format!(
            "{} has no backup made by `db clean --backup`: nothing to restore",
            target.display
        )));
    }
    let token_cols = c.columns(schema::TOKEN).await?;
    let generation = schema::detect(&token_cols).unwrap_or(Generation::V4_2);
    let mut report = RestoreReport::new(&target.display, None);
    // Parents first, so foreign keys hold when children come back.
    for table in schema::runtime_tables() {
        let name = bak(table);
        if !backups.iter().any(|(b, _)| *b == name) {
            continue;
        }
        let key = row_key(generation, table)
            .ok_or_else(|| DbError::Refused(format!("`{table}` has no key to restore by")))?;
        if c.columns(&name).await?.is_empty() {
            report.notes.push(format!(
                "{name} is registered as apim-tune's backup but no longer exists: skipped"
            ));
            continue;
        }
        let cols = c.columns(table).await?;
        if cols.is_empty() {
            return Err(DbError::Schema(format!(
                "`{table}` no longer exists: create it (`db init`) before restoring `{name}`"
            )));
        }
        let keys = c
            .fetch(&format!("SELECT {} FROM {name}", key.join(", ")), &[])
            .await?;
        progress.begin(table, Some(keys.len() as u64));
        let mut outcome = TableOutcome {
            table: table.to_string(),
            ..TableOutcome::default()
        };
        let cols = cols.join(", ");
        for batch in keys.chunks(KEYS_PER_BATCH) {
            match put_back_retrying(c, table, &name, &cols, &key, batch).await {
                Ok(put) => {
                    outcome.rows += put;
                    outcome.batches += 1;
                }
                // A row that conflicts with one created since (a unique index, e.g. CON_APP_KEY
                // for a new ACTIVE token of the same user and app) must not stop the others:
                // go through the batch row by row and leave the conflicting ones in the backup.
                Err(DbError::Sql { reason, .. }) if is_constraint(&reason) => {
                    for one in batch.chunks(1) {
                        match put_back_retrying(c, table, &name, &cols, &key, one).await {
                            Ok(put) => outcome.rows += put,
                            Err(DbError::Sql { reason, .. }) if is_constraint(&reason) => {
                                report.conflicts += 1
                            }
                            Err(other) => return Err(other),
                        }
                    }
                    outcome.batches += 1;
                    if !report.notes.iter().any(|n| n.starts_with(table)) {
                        report.notes.push(format!(
                            "{table}: some backed-up rows conflict with rows created since ({reason}); they stay in {name}"
                        ));
                    }
                }
                Err(other) => return Err(other),
            }
            progress.advance(batch.len() as u64);
        }
        // Rows still in the backup had a live twin (or conflicted): they were not restored.
        let left = c
            .scalar(&format!("SELECT COUNT(*) FROM {name}"), &[])
            .await?;
        report.skipped_present += left.max(0) as u64;
        progress.end(table);
        report.tables.push(outcome);
    }
    Ok(report)
}

/// Puts the backed-up rows with these keys back, in one transaction, and removes them from the
/// backup. Only rows whose key is free go back; a row re-created since keeps its live version
/// and its backup. Returns the rows put back.
async fn put_back(
    c: &mut Conn,
    table: &str,
    name: &str,
    cols: &str,
    key: &[&str],
    batch: &[Vec<Arg>],
) -> Result<u64, DbError> {
    let e = c.engine();
    let key_cols = key.join(", ");
    let matches = key
        .iter()
        .map(|k| format!("x.{k} = b.{k}"))
        .collect::<Vec<_>>()
        .join(" AND ");
    let (batch_in, args) = key_match(e, key, batch);
    c.run(c.engine().begin()).await?;
    let step = async {
        let free = c
            .fetch(
                &format!(
                    "SELECT {key_cols} FROM {name} b WHERE {batch_in} \
                     AND NOT EXISTS (SELECT 1 FROM {table} x WHERE {matches})"
                ),
                &args,
            )
            .await?;
        if free.is_empty() {
            return Ok::<u64, DbError>(0);
        }
        let (free_in, free) = key_match(e, key, &free);
        let put = c
            .execute(
                &format!("INSERT INTO {table} ({cols}) SELECT {cols} FROM {name} WHERE {free_in}"),
                &free,
            )
            .await?;
        c.execute(&format!("DELETE FROM {name} WHERE {free_in}"), &free)
            .await?;
        Ok(put)
    }
    .await;
    match step {
        Ok(put) => {
            c.run("COMMIT").await?;
            Ok(put)
        }
        Err(e) => {
            let _ = c.run("ROLLBACK").await;
            Err(e)
        }
    }
}

/// A unique or foreign-key violation (SQLSTATE class 23 on servers, SQLite's constraint codes):
/// the row itself cannot go back now, unlike a lock timeout or a serialization failure.
fn is_constraint(reason: &str) -> bool {
    reason.contains("(code 23")
        || reason.contains("constraint failed")
        || reason.contains("(code 19)")
        || reason.contains("(code 787)")
        || reason.contains("(code 1555)")
        || reason.contains("(code 2067)")
}

/// [`put_back`], retried on serialization failures, deadlocks, lock timeouts and a busy database.
async fn put_back_retrying(
    c: &mut Conn,
    table: &str,
    name: &str,
    cols: &str,
    key: &[&str],
    batch: &[Vec<Arg>],
) -> Result<u64, DbError> {
    let mut attempt = 0u64;
    loop {
        match put_back(c, table, name, cols, key, batch).await {
            Err(DbError::Sql {
                retryable: true, ..
            }) if attempt < 5 => {
                attempt += 1;
                tokio::time::sleep(std::time::Duration::from_millis(50 * attempt)).await;
            }
            other => return other,
        }
    }
}

/// Rows per transaction when putting back the rows of a backup file.
const FILE_ROWS_PER_BATCH: usize = 500;

/// `db restore --backup-file`: the file's rows go back table by table, parents first (one pass
/// over the file per table, so memory holds one batch, not the file). A row whose key is there
/// again is skipped, as one that conflicts with a row created since; the file is not changed,
/// so a second restore skips every row.
pub(crate) async fn run_file(
    c: &mut Conn,
    target: &Target,
    path: &Path,
    part: Part,
    progress: &dyn Progress,
) -> Result<RestoreReport, DbError> {
    let order = schema::runtime_tables();
    let token_cols = c.columns(schema::TOKEN).await?;
    let generation = schema::detect(&token_cols).unwrap_or(Generation::V4_2);
    // A first pass checks every line and table before anything is written, and finds the last
    // copy of each key: a file can hold one row twice (a clean whose COMMIT failed kept its
    // lines, and a later clean deleted the row and wrote it again), and the last copy is the
    // row as it was when it was deleted.
    let mut last: HashMap<(String, String), u64> = HashMap::new();
    let mut rows_seen = 0u64;
    let mut taken_rows = 0u64;
    let mut reader = backup_file::Reader::open(path)?;
    while let Some((table, row)) = reader.next_row()? {
        let index = rows_seen;
        rows_seen += 1;
        if !order.contains(&table.as_str()) {
            return Err(DbError::Refused(format!(
                "{}: rows of `{table}`, which `db clean` never removes: not an apim-tune \
                 backup file? Nothing was restored",
                path.display()
            )));
        }
        if !part.takes(&table) {
            continue;
        }
        let key = row_key(generation, &table)
            .ok_or_else(|| DbError::Refused(format!("`{table}` has no key to restore by")))?;
        let id = key_of(&row, &key);
        last.insert((table, id), index);
        taken_rows += 1;
    }
    let mut report = RestoreReport::new(&target.display, Some(path.display().to_string()));
    if let Some(line) = reader.torn {
        report.notes.push(format!(
            "{}:{line}: an incomplete last line (a clean was interrupted while writing it, \
             before its rows were deleted): left out",
            path.display()
        ));
    }
    let mut counts: Vec<(String, u64)> = Vec::new();
    for (table, _) in last.keys() {
        match counts.iter_mut().find(|(t, _)| t == table) {
            Some((_, n)) => *n += 1,
            None => counts.push((table.clone(), 1)),
        }
    }
    if counts.is_empty() {
        if let Some(mut empty) = part.nothing(target, Some(path)) {
            empty.notes = report.notes;
            return Ok(empty);
        }
        return Err(DbError::Refused(format!(
            "{} holds no rows: nothing to restore",
            path.display()
        )));
    }
    for table in order {
        let Some((_, total)) = counts.iter().find(|(t, _)| t == table) else {
            continue;
        };
        let key = row_key(generation, table)
            .ok_or_else(|| DbError::Refused(format!("`{table}` has no key to restore by")))?;
        let cols = backup_file::columns(c, table).await?;
        if cols.is_empty() {
            return Err(DbError::Schema(format!(
                "`{table}` does not exist: create it (`db init`) before restoring its rows"
            )));
        }
        progress.begin(table, Some(*total));
        let mut outcome = TableOutcome {
            table: table.to_string(),
            ..TableOutcome::default()
        };
        let mut reader = backup_file::Reader::open(path)?;
        let mut batch: Vec<Map<String, Value>> = Vec::with_capacity(FILE_ROWS_PER_BATCH);
        let mut index = 0u64;
        loop {
            let next = reader.next_row()?;
            let done = next.is_none();
            if let Some((t, row)) = next {
                let this = index;
                index += 1;
                // Only the last copy of a key goes back.
                if t == table && last.get(&(t, key_of(&row, &key))) == Some(&this) {
                    batch.push(row);
                }
            }
            if batch.len() == FILE_ROWS_PER_BATCH || (done && !batch.is_empty()) {
                let n = batch.len() as u64;
                put_rows(c, table, &key, &cols, &batch, &mut outcome, &mut report).await?;
                outcome.batches += 1;
                progress.advance(n);
                batch.clear();
            }
            if done {
                break;
            }
        }
        progress.end(table);
        report.tables.push(outcome);
    }
    let earlier = taken_rows - last.len() as u64;
    if earlier > 0 {
        report.notes.push(format!(
            "{earlier} earlier {} of rows the file holds again further down left out: the last \
             copy of a row is the one put back",
            if earlier == 1 { "copy" } else { "copies" }
        ));
    }
    Ok(report)
}

/// A row's key in the file, as one comparable string (its key columns' JSON values).
fn key_of(row: &Map<String, Value>, key: &[&str]) -> String {
    let values: Vec<&Value> = key
        .iter()
        .map(|k| row.get(*k).unwrap_or(&Value::Null))
        .collect();
    serde_json::to_string(&values).unwrap_or_default()
}

/// What happened to one row of the file.
enum Put {
    Inserted,
    Present,
}

/// Puts one batch of file rows back in one transaction; a constraint violation sends it through
/// row by row, leaving out (and counting) the rows that conflict.
async fn put_rows(
    c: &mut Conn,
    table: &str,
    key: &[&str],
    cols: &[FileColumn],
    batch: &[Map<String, Value>],
    outcome: &mut TableOutcome,
    report: &mut RestoreReport,
) -> Result<(), DbError> {
    let tally = |puts: Vec<Put>, outcome: &mut TableOutcome, report: &mut RestoreReport| {
        for p in puts {
            match p {
                Put::Inserted => outcome.rows += 1,
                Put::Present => report.skipped_present += 1,
            }
        }
    };
    match put_rows_tx(c, table, key, cols, batch).await {
        Ok(puts) => {
            tally(puts, outcome, report);
            Ok(())
        }
        Err(DbError::Sql { reason, .. }) if is_constraint(&reason) => {
            for one in batch.chunks(1) {
                match put_rows_tx(c, table, key, cols, one).await {
                    Ok(puts) => tally(puts, outcome, report),
                    Err(DbError::Sql { reason, .. }) if is_constraint(&reason) => {
                        report.conflicts += 1;
                        report.skipped_present += 1;
                    }
                    Err(other) => return Err(other),
                }
            }
            if !report.notes.iter().any(|n| n.starts_with(table)) {
                report.notes.push(format!(
                    "{table}: some rows of the file conflict with rows created since ({reason}); they were not put back"
                ));
            }
            Ok(())
        }
        Err(other) => Err(other),
    }
}

async fn put_rows_tx(
    c: &mut Conn,
    table: &str,
    key: &[&str],
    cols: &[FileColumn],
    rows: &[Map<String, Value>],
) -> Result<Vec<Put>, DbError> {
    c.run(c.engine().begin()).await?;
    let mut out = Vec::with_capacity(rows.len());
    let mut step = async {
        for row in rows {
            out.push(put_row(c, table, key, cols, row).await?);
        }
        Ok::<(), DbError>(())
    }
    .await;
    if step.is_ok() {
        step = c.run("COMMIT").await;
    }
    match step {
        Ok(()) => Ok(out),
        Err(e) => {
            let _ = c.run("ROLLBACK").await;
            Err(e)
        }
    }
}

/// Inserts one row of the file unless a row with its key is there.
async fn put_row(
    c: &mut Conn,
    table: &str,
    key: &[&str],
    cols: &[FileColumn],
    row: &Map<String, Value>,
) -> Result<Put, DbError> {
    let e = c.engine();
    let col = |name: &str| {
        cols.iter().find(|c| c.name == name).ok_or_else(|| {
            DbError::Schema(format!(
                "`{table}` has no column {name}, which the backup file has: the table changed \
                 since the clean"
            ))
        })
    };
    let bad = |why: String| DbError::Refused(format!("backup file, `{table}`: {why}"));
    let mut cond = Vec::new();
    let mut key_args = Vec::new();
    for k in key {
        let v = row.get(*k).unwrap_or(&Value::Null);
        let (sql, arg) = backup_file::value_sql(e, col(k)?, v).map_err(bad)?;
        cond.push(format!("{k} = {sql}"));
        key_args.push(arg);
    }
    let present = c
        .scalar(
            &format!("SELECT COUNT(*) FROM {table} WHERE {}", cond.join(" AND ")),
            &key_args,
        )
        .await?;
    if present > 0 {
        return Ok(Put::Present);
    }
    let mut names = Vec::new();
    let mut exprs = Vec::new();
    let mut args = Vec::new();
    for (name, v) in row {
        let (sql, arg) = backup_file::value_sql(e, col(name)?, v).map_err(bad)?;
        names.push(name.as_str());
        exprs.push(sql);
        args.push(arg);
    }
    c.execute(
        &format!(
            "INSERT INTO {table} ({}) VALUES ({})",
            names.join(", "),
            exprs.join(", ")
        ),
        &args,
    )
    .await?;
    Ok(Put::Inserted)
}
