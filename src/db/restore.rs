//! `db restore`: puts the rows of apim-tune's `BAK_*` tables back into their tables, parents
//! before children, in batches. A row whose key is present again (re-created since) is not
//! overwritten and stays in the backup; every row put back leaves the backup in the same
//! transaction, so a restore can be interrupted and run again.

use super::clean::{bak, key_match, our_backups, row_key};
use super::conn::{Arg, Conn};
use super::model::{RestoreReport, TableOutcome};
use super::schema::{self, Generation};
use super::{DbError, Progress, Target};

/// Keys per batch: under SQLite's 32766 parameters for the widest key (4 columns, twice).
const KEYS_PER_BATCH: usize = 2_000;

pub(crate) async fn run(
    c: &mut Conn,
    target: &Target,
    progress: &dyn Progress,
) -> Result<RestoreReport, DbError> {
    let backups = our_backups(c).await?;
    if backups.is_empty() {
        return Err(DbError::Refused(format!(
            "{} has no backup made by `db clean --backup`: nothing to restore",
            target.display
        )));
    }
    let token_cols = c.columns(schema::TOKEN).await?;
    let generation = schema::detect(&token_cols).unwrap_or(Generation::V4_2);
    let mut report = RestoreReport {
        target: target.display.clone(),
        tables: Vec::new(),
        skipped_present: 0,
        conflicts: 0,
        notes: Vec::new(),
    };
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
