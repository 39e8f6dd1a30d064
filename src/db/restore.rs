//! `db restore`: puts the rows of apim-tune's `BAK_*` tables back into their tables, parents
//! before children, in batches. A row whose key is present again (re-created since) is not
//! overwritten and stays in the backup; every row put back leaves the backup in the same
//! transaction, so a restore can be interrupted and run again.

use super::clean::{bak, our_backups, row_key};
use super::conn::{Arg, Conn};
use super::dialect::in_list;
use super::model::{RestoreReport, TableOutcome};
use super::schema::{self, Generation};
use super::{DbError, Progress, Target};

/// Keys per batch: under SQLite's 32766 parameters for the widest key (4 columns, twice).
const KEYS_PER_BATCH: usize = 2_000;

/// Parents first, so foreign keys hold when children come back.
const ORDER: [&str; 11] = [
    schema::TOKEN,
    schema::TOKEN_SCOPE,
    schema::CODE,
    schema::CODE_SCOPE,
    schema::SESSION,
    schema::SESSION_USER,
    schema::SESSION_APP,
    schema::SESSION_META,
    schema::SESSION_FED,
    schema::TOKEN_AUDIT,
    schema::REG_LOG,
];

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
    };
    for table in ORDER {
        let name = bak(table);
        if !backups.iter().any(|(b, _)| *b == name) {
            continue;
        }
        let key = row_key(generation, table)
            .ok_or_else(|| DbError::Refused(format!("`{table}` has no key to restore by")))?;
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
        let key_cols = key.join(", ");
        let matches = |alias: &str| {
            key.iter()
                .map(|k| format!("x.{k} = {alias}.{k}"))
                .collect::<Vec<_>>()
                .join(" AND ")
        };
        for batch in keys.chunks(KEYS_PER_BATCH) {
            let key_in = if key.len() == 1 {
                format!("{key_cols} IN ({})", in_list(batch.len(), 1))
            } else {
                format!("({key_cols}) IN ({})", in_list(batch.len(), key.len()))
            };
            let args: Vec<Arg> = batch.iter().flatten().cloned().collect();
            c.run(c.engine().begin()).await?;
            let step = async {
                // The backed-up rows whose key is free: only those go back (and leave the
                // backup); a row re-created since keeps its live version and its backup.
                let free = c
                    .fetch(
                        &format!(
                            "SELECT {key_cols} FROM {name} b WHERE {key_in} \
                             AND NOT EXISTS (SELECT 1 FROM {table} x WHERE {})",
                            matches("b")
                        ),
                        &args,
                    )
                    .await?;
                if free.is_empty() {
                    return Ok::<u64, DbError>(0);
                }
                let free_in = if key.len() == 1 {
                    format!("{key_cols} IN ({})", in_list(free.len(), 1))
                } else {
                    format!("({key_cols}) IN ({})", in_list(free.len(), key.len()))
                };
                let free: Vec<Arg> = free.into_iter().flatten().collect();
                let put = c
                    .execute(
                        &format!(
                            "INSERT INTO {table} ({cols}) SELECT {cols} FROM {name} WHERE {free_in}"
                        ),
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
                    outcome.rows += put;
                    outcome.batches += 1;
                    progress.advance(batch.len() as u64);
                }
                Err(e) => {
                    let _ = c.run("ROLLBACK").await;
                    return Err(e);
                }
            }
        }
        // Rows still in the backup had a live twin: they were not restored.
        let left = c
            .scalar(&format!("SELECT COUNT(*) FROM {name}"), &[])
            .await?;
        report.skipped_present += left.max(0) as u64;
        progress.end(table);
        report.tables.push(outcome);
    }
    Ok(report)
}
