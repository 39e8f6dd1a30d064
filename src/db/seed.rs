//! `db seed`: realistic synthetic growth, fast, for demos, tests and benchmarks.
//!
//! The mix is deterministic (SplitMix64 from the row number) and exactly half removable for
//! each table when the count is a multiple of its cycle (8 tokens, 4 codes, 4 sessions, 4
//! registry rows): live, never-expiring, access-expired-but-refreshable tokens next to revoked,
//! inactive, expired and long-dead ones, at ages from minutes to more than a year.
//!
//! Speed: secondary indexes are dropped for the load and rebuilt after (one sort instead of a
//! B-tree insert per row), rows go in as multi-row INSERTs inside one transaction, and token ids
//! ascend with the row number (they append to the primary key's B-tree). Ids still look like
//! WSO2's UUIDs.

use super::conn::{Arg, Conn};
use super::model::SeedReport;
use super::schema::{self, Generation};
use super::{DbError, Progress, Target};
use crate::clock;
use std::time::Instant;

#[derive(Clone, Debug)]
pub struct SeedSpec {
    pub tokens: u64,
    pub codes: u64,
    pub sessions: u64,
    pub registry: u64,
    /// Rows for IDN_OAUTH2_ACCESS_TOKEN_AUDIT (half older than 90 days).
    pub audit: u64,
}

/// The most rows `db seed` adds per option (`--tokens`, `--codes`…): tens of GB of table and
/// minutes of load at most, far beyond any test or demo, and no total below can overflow.
pub const MAX_SEED_ROWS: u64 = 100_000_000;

impl SeedSpec {
    /// The rows all tables get together (tokens have a scope row each, sessions five rows).
    fn total_rows(&self) -> u64 {
        self.tokens
            .saturating_mul(2)
            .saturating_add(self.codes)
            .saturating_add(self.sessions.saturating_mul(5))
            .saturating_add(self.registry)
            .saturating_add(self.audit)
    }
}

/// Rows per INSERT statement: under every engine's parameter limit (SQLite 32766) for the
/// widest table.
const ROWS_PER_STATEMENT: usize = 500;

/// Statements per transaction on servers (SQLite loads everything in one).
const STATEMENTS_PER_COMMIT: usize = 100;

pub(crate) fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A UUID-shaped id whose first groups ascend with `(tag, i)`.
fn uuid(tag: u32, i: u64, salt: u64) -> String {
    let r = splitmix(i ^ salt.rotate_left(17));
    format!(
        "{tag:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        (i >> 12) & 0xffff,
        i & 0xfff,
        0x8000 | (r & 0x3fff),
        (r >> 16) & 0xffff_ffff_ffff
    )
}

fn hash_json(i: u64, salt: u64) -> String {
    format!(
        "{{\"algorithm\":\"SHA-256\",\"hash\":\"{:016x}{:016x}{:016x}{:016x}\"}}",
        splitmix(i ^ salt),
        splitmix(i ^ salt ^ 1),
        splitmix(i ^ salt ^ 2),
        splitmix(i ^ salt ^ 3)
    )
}

/// The next id tag: one past the first group of the highest existing seeded id, so seeding
/// twice never collides.
async fn next_tag(c: &mut Conn, table: &str, column: &str) -> Result<u32, DbError> {
    let max = c
        .texts(&format!("SELECT MAX({column}) FROM {table}"), &[])
        .await?
        .into_iter()
        .next();
    Ok(max
        .and_then(|m| u32::from_str_radix(m.get(..8)?, 16).ok())
        .map(|t| t.saturating_add(1))
        .unwrap_or(0x1000_0000))
}

/// A table being loaded: its columns (those present in this database), the placeholders, and
/// the rows collected for the next statement.
struct Loader {
    table: &'static str,
    columns: Vec<&'static str>,
    row_sql: String,
    rows: Vec<Vec<Arg>>,
    written: u64,
    statements: usize,
}

impl Loader {
    async fn new(
        c: &mut Conn,
        table: &'static str,
        wanted: &[(&'static str, bool)],
    ) -> Result<Option<Loader>, DbError> {
        let have = c.columns(table).await?;
        if have.is_empty() {
            return Ok(None);
        }
        let e = c.engine();
        let mut columns = Vec::new();
        let mut marks = Vec::new();
        for (name, timestamp) in wanted {
            if have.iter().any(|h| h == name) {
                columns.push(*name);
                marks.push(if *timestamp { e.timestamp_param() } else { "?" });
            }
        }
        Ok(Some(Loader {
            table,
            row_sql: format!("({})", marks.join(", ")),
            columns,
            rows: Vec::new(),
            written: 0,
            statements: 0,
        }))
    }

    /// Adds a row given as `(column, value)`; columns this database lacks are dropped.
    async fn push(
        &mut self,
        c: &mut Conn,
        values: Vec<(&'static str, Arg)>,
        progress: &dyn Progress,
    ) -> Result<(), DbError> {
        let mut row = Vec::with_capacity(self.columns.len());
        let mut values = values;
        for col in &self.columns {
            let at = values.iter().position(|(n, _)| n == col);
            row.push(match at {
                Some(i) => values.swap_remove(i).1,
                None => Arg::Null,
            });
        }
        self.rows.push(row);
        if self.rows.len() >= ROWS_PER_STATEMENT {
            self.flush(c, progress).await?;
        }
        Ok(())
    }

    async fn flush(&mut self, c: &mut Conn, progress: &dyn Progress) -> Result<(), DbError> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let n = self.rows.len() as u64;
        if c.engine() == super::dialect::Engine::Sqlite {
            // SQLite runs in-process: values written as literals cost one string per statement
            // instead of an allocation and a copy per value (measured: a third of the load's
            // time went to malloc/free with bound values). The values are generated here,
            // never user input, and quoted anyway.
            let mut sql = format!(
                "INSERT INTO {} ({}) VALUES ",
                self.table,
                self.columns.join(", ")
            );
            for (k, row) in self.rows.drain(..).enumerate() {
                sql.push_str(if k == 0 { "(" } else { ", (" });
                for (i, v) in row.iter().enumerate() {
                    if i > 0 {
                        sql.push_str(", ");
                    }
                    sqlite_literal(v, &mut sql);
                }
                sql.push(')');
            }
            c.run(&sql).await?;
        } else {
            let sql = format!(
                "INSERT INTO {} ({}) VALUES {}",
                self.table,
                self.columns.join(", "),
                vec![self.row_sql.as_str(); self.rows.len()].join(", ")
            );
            let args: Vec<Arg> = self.rows.drain(..).flatten().collect();
            c.execute(&sql, &args).await?;
        }
        self.written += n;
        self.statements += 1;
        progress.advance(n);
        // Servers: commit now and then so one huge transaction does not pile up undo/WAL.
        if c.engine() != super::dialect::Engine::Sqlite
            && self.statements.is_multiple_of(STATEMENTS_PER_COMMIT)
        {
            c.run("COMMIT").await?;
            c.run("BEGIN").await?;
        }
        Ok(())
    }
}

/// `v` as an SQLite literal.
fn sqlite_literal(v: &Arg, out: &mut String) {
    use std::fmt::Write;
    match v {
        // Seeds never bind arrays.
        Arg::Null | Arg::TextList(_) | Arg::IntList(_) => out.push_str("NULL"),
        Arg::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Arg::Text(t) => {
            out.push('\'');
            for ch in t.chars() {
                if ch == '\'' {
                    out.push('\'');
                }
                out.push(ch);
            }
            out.push('\'');
        }
        Arg::Bytes(b) => {
            out.push_str("X'");
            for byte in b {
                let _ = write!(out, "{byte:02X}");
            }
            out.push('\'');
        }
    }
}

pub(crate) async fn run(
    c: &mut Conn,
    target: &Target,
    spec: &SeedSpec,
    progress: &dyn Progress,
) -> Result<SeedReport, DbError> {
    let started = Instant::now();
    let e = c.engine();
    let token_cols = c.columns(schema::TOKEN).await?;
    if token_cols.is_empty() {
        return Err(DbError::Schema(format!(
            "`{}` not found in {}: run `apim-tune db init` first",
            schema::TOKEN,
            target.display
        )));
    }
    let generation = schema::detect(&token_cols).unwrap_or(Generation::V4_2);
    let now = clock::now_secs();
    let sqlite = e == super::dialect::Engine::Sqlite;

    // SQLite: the fast load (no fsync) only where a power loss or OS crash can lose nothing but
    // the schema `db init` recreates: a database whose every table is empty. Its rollback
    // journal stays on disk, so a killed process still rolls back. Anywhere else the load is
    // journaled and synced like any write.
    let fast = sqlite && all_tables_empty(c).await?;
    if sqlite {
        // Connection settings: `foreign_keys` is a no-op inside a transaction, and the journal
        // mode cannot change inside one either.
        c.run("PRAGMA foreign_keys = OFF").await?;
        c.run("PRAGMA temp_store = MEMORY").await?;
        // Index builds sort with a helper thread.
        c.run("PRAGMA threads = 2").await?;
        if fast {
            // No fsync: only a power loss or OS crash mid-seed can corrupt the file, and then
            // deleting it and running `db init` again loses nothing.
            c.run("PRAGMA synchronous = OFF").await?;
            c.run("PRAGMA cache_size = -262144").await?;
            // No WAL for the load (every page would be written twice: WAL, then checkpoint),
            // but a rollback journal on disk: an in-memory one dies with a killed process and
            // leaves the file half-written (rows, and some indexes dropped, not rebuilt). The
            // journal holds only the pages of the empty tables and their indexes: small.
            c.run("PRAGMA journal_mode = TRUNCATE").await?;
        }
        // Index drops, the load and the rebuild are one transaction (SQLite's DDL is
        // transactional) with its journal on disk: a kill leaves the indexes as well as the
        // rows as they were (the next connection rolls the hot journal back). IMMEDIATE takes
        // the write lock now, with the one busy timeout, instead of failing half-way.
        c.run("BEGIN IMMEDIATE").await?;
        if fast && !all_tables_empty(c).await? {
            // Another writer got in between the check and the lock: journal after all.
            c.run("ROLLBACK").await?;
            c.run("PRAGMA synchronous = FULL").await?;
            c.run("PRAGMA journal_mode = WAL").await?;
            c.run("BEGIN IMMEDIATE").await?;
            return finish_sqlite(c, target, spec, now, progress, generation, false, started).await;
        }
        return finish_sqlite(c, target, spec, now, progress, generation, fast, started).await;
    }

    // Indexes off for the load (those that exist), back on after.
    let dropped = drop_indexes(c, generation).await?;
    progress.begin("rows", Some(spec.total_rows()));
    c.run("BEGIN").await?;
    let loaded = load(c, spec, now, progress).await;
    match loaded {
        Ok(_) => c.run("COMMIT").await?,
        Err(err) => {
            let _ = c.run("ROLLBACK").await;
            return Err(err);
        }
    }
    progress.end("rows");
    let tables = loaded?;
    let index_started = Instant::now();
    for (t, i) in &dropped {
        c.run(&schema::create_index(t, i)).await?;
    }
    let index_seconds = index_started.elapsed().as_secs_f64();
    if e == super::dialect::Engine::Postgres {
        // Fresh statistics, so the first audit or clean gets sensible plans.
        c.run("ANALYZE").await?;
    }
    Ok(report(target, tables, started, index_seconds))
}

/// Whether no table of the SQLite database holds a row (API-M's or any other).
async fn all_tables_empty(c: &mut Conn) -> Result<bool, DbError> {
    let tables = c
        .texts(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            &[],
        )
        .await?;
    for t in tables {
        let quoted = t.replace('"', "\"\"");
        if c.scalar(&format!("SELECT EXISTS (SELECT 1 FROM \"{quoted}\")"), &[])
            .await?
            != 0
        {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Drops the secondary indexes of the seeded tables that exist; returns them, to rebuild.
async fn drop_indexes(
    c: &mut Conn,
    generation: Generation,
) -> Result<Vec<(schema::Table, schema::Index)>, DbError> {
    let e = c.engine();
    let mut dropped = Vec::new();
    for t in schema::tables(generation) {
        let names: Vec<String> = c
            .fetch(e.index_columns_query(), &[Arg::Text(t.name.to_string())])
            .await?
            .into_iter()
            .filter_map(|r| r.into_iter().next().and_then(Arg::into_text))
            .map(|n| n.to_ascii_uppercase())
            .collect();
        for i in &t.indexes {
            if !names.iter().any(|n| n == i.name) {
                continue;
            }
            match c.run(&schema::drop_index(e, &t, i)).await {
                Ok(()) => dropped.push((t.clone(), i.clone())),
                // A lock held by someone else is an error, not an index to keep.
                Err(err @ DbError::Busy { .. }) => return Err(err),
                // InnoDB refuses to drop an index a foreign key uses: that one stays.
                Err(_) => {}
            }
        }
    }
    Ok(dropped)
}

/// SQLite, inside the `BEGIN IMMEDIATE` the caller took: drop the indexes, load, rebuild,
/// commit; then the normal settings again.
#[expect(
    clippy::too_many_arguments,
    reason = "one call site, the state of `run`"
)]
async fn finish_sqlite(
    c: &mut Conn,
    target: &Target,
    spec: &SeedSpec,
    now: i64,
    progress: &dyn Progress,
    generation: Generation,
    fast: bool,
    started: Instant,
) -> Result<SeedReport, DbError> {
    let body = async {
        let dropped = drop_indexes(c, generation).await?;
        progress.begin("rows", Some(spec.total_rows()));
        let tables = load(c, spec, now, progress).await?;
        progress.end("rows");
        let index_started = Instant::now();
        for (t, i) in &dropped {
            c.run(&schema::create_index(t, i)).await?;
        }
        c.run("COMMIT").await?;
        Ok::<_, DbError>((tables, index_started.elapsed().as_secs_f64()))
    }
    .await;
    let (tables, index_seconds) = match body {
        Ok(done) => done,
        Err(err) => {
            let _ = c.run("ROLLBACK").await;
            let _ = c.run("PRAGMA foreign_keys = ON").await;
            return Err(err);
        }
    };
    c.run("PRAGMA foreign_keys = ON").await?;
    if fast {
        c.run("PRAGMA synchronous = FULL").await?;
        c.run("PRAGMA journal_mode = WAL").await?;
    }
    Ok(report(target, tables, started, index_seconds))
}

fn report(
    target: &Target,
    tables: Vec<(String, u64)>,
    started: Instant,
    index_seconds: f64,
) -> SeedReport {
    SeedReport {
        target: target.display.clone(),
        rows: tables.iter().map(|(_, n)| n).sum(),
        tables,
        seconds: started.elapsed().as_secs_f64(),
        index_seconds,
    }
}

async fn load(
    c: &mut Conn,
    spec: &SeedSpec,
    now: i64,
    progress: &dyn Progress,
) -> Result<Vec<(String, u64)>, DbError> {
    let ts = |secs_ago: i64| Arg::Text(clock::sql_timestamp(now - secs_ago));
    let mut out = Vec::new();

    // 100 consumer apps the tokens and codes belong to (their foreign key).
    let apps = c
        .scalar(
            &format!("SELECT COUNT(*) FROM {}", schema::CONSUMER_APPS),
            &[],
        )
        .await?;
    if apps < 100 {
        let mut l = Loader::new(
            c,
            schema::CONSUMER_APPS,
            &[
                ("ID", false),
                ("CONSUMER_KEY", false),
                ("CONSUMER_SECRET", false),
                ("USERNAME", false),
                ("TENANT_ID", false),
                ("USER_DOMAIN", false),
                ("APP_NAME", false),
                ("OAUTH_VERSION", false),
                ("GRANT_TYPES", false),
            ],
        )
        .await?
        .ok_or_else(|| DbError::Schema(format!("`{}` not found", schema::CONSUMER_APPS)))?;
        let first = c
            .scalar(
                &format!("SELECT MAX(ID) FROM {}", schema::CONSUMER_APPS),
                &[],
            )
            .await?;
        for k in (first + 1)..=(first + 100 - apps) {
            l.push(
                c,
                vec![
                    ("ID", Arg::Int(k)),
                    (
                        "CONSUMER_KEY",
                        Arg::Text(format!("ck{:028x}", splitmix(k as u64))),
                    ),
                    (
                        "CONSUMER_SECRET",
                        Arg::Text(format!("cs{:028x}", splitmix(!(k as u64)))),
                    ),
                    ("USERNAME", Arg::Text("admin".into())),
                    ("TENANT_ID", Arg::Int(-1234)),
                    ("USER_DOMAIN", Arg::Text("PRIMARY".into())),
                    ("APP_NAME", Arg::Text(format!("admin_app{k}_PRODUCTION"))),
                    ("OAUTH_VERSION", Arg::Text("OAuth-2.0".into())),
                    (
                        "GRANT_TYPES",
                        Arg::Text("client_credentials password refresh_token".into()),
                    ),
                ],
                &super::Silent,
            )
            .await?;
        }
        l.flush(c, &super::Silent).await?;
    }
    let app_ids: Vec<i64> = c
        .fetch(
            &format!("SELECT ID FROM {} ORDER BY ID", schema::CONSUMER_APPS),
            &[],
        )
        .await?
        .into_iter()
        .filter_map(|r| r.first().and_then(Arg::as_i64))
        .take(100)
        .collect();
    let app = |i: u64| Arg::Int(app_ids[(i % app_ids.len() as u64) as usize]);

    // Tokens, one scope row each.
    let tag = next_tag(c, schema::TOKEN, "TOKEN_ID").await?;
    let token_columns = TOKEN_COLUMNS;
    let mut tokens = Loader::new(c, schema::TOKEN, &token_columns)
        .await?
        .ok_or_else(|| DbError::Schema(format!("`{}` not found", schema::TOKEN)))?;
    let mut scopes = Loader::new(
        c,
        schema::TOKEN_SCOPE,
        &[
            ("TOKEN_ID", false),
            ("TOKEN_SCOPE", false),
            ("TENANT_ID", false),
        ],
    )
    .await?;
    let mut live_token_ids = Vec::new();
    for i in 0..spec.tokens {
        let r = splitmix(i ^ 0x5eed);
        let jitter = |max: u64| (r % max.max(1)) as i64;
        let hour = 3600;
        let day = 86_400;
        let (state, age, validity, refresh_validity) = match i % 8 {
            0 => ("ACTIVE", 60 + jitter(2400), 3_600_000, 86_400_000),
            1 => (
                "EXPIRED",
                30 * day + jitter(300 * day as u64),
                3_600_000,
                86_400_000,
            ),
            2 => ("ACTIVE", 30 * day + jitter(370 * day as u64), -1, -1),
            3 => (
                "REVOKED",
                3 * hour + jitter(90 * day as u64),
                3_600_000,
                86_400_000,
            ),
            4 => (
                "ACTIVE",
                2 * hour + jitter(20 * hour as u64),
                3_600_000,
                86_400_000,
            ),
            5 => (
                "INACTIVE",
                day + jitter(200 * day as u64),
                3_600_000,
                86_400_000,
            ),
            6 => ("ACTIVE", 60 + jitter(2400), 3_600_000, 86_400_000),
            _ => (
                "ACTIVE",
                3 * day + jitter(400 * day as u64),
                3_600_000,
                86_400_000,
            ),
        };
        let id = uuid(tag, i, 1);
        // Codes that must stay point at tokens no run removes (kinds 0 and 6).
        if (i % 8 == 0 || i % 8 == 6) && live_token_ids.len() < 100_000 {
            live_token_ids.push(id.clone());
        }
        let state_id = if state == "ACTIVE" {
            "NONE".to_string()
        } else {
            uuid(tag, i, 2)
        };
        tokens
            .push(
                c,
                vec![
                    ("TOKEN_ID", Arg::Text(id.clone())),
                    ("ACCESS_TOKEN", Arg::Text(uuid(tag, i, 3))),
                    ("REFRESH_TOKEN", Arg::Text(uuid(tag, i, 4))),
                    ("CONSUMER_KEY_ID", app(i)),
                    ("AUTHZ_USER", Arg::Text(format!("user{}", i % 50_000))),
                    ("TENANT_ID", Arg::Int(-1234)),
                    ("USER_DOMAIN", Arg::Text("PRIMARY".into())),
                    ("USER_TYPE", Arg::Text("APPLICATION_USER".into())),
                    ("GRANT_TYPE", Arg::Text("password".into())),
                    ("TIME_CREATED", ts(age)),
                    ("REFRESH_TOKEN_TIME_CREATED", ts(age)),
                    ("VALIDITY_PERIOD", Arg::Int(validity)),
                    ("REFRESH_TOKEN_VALIDITY_PERIOD", Arg::Int(refresh_validity)),
                    // Unique per row, so CON_APP_KEY never collides.
                    (
                        "TOKEN_SCOPE_HASH",
                        Arg::Text(format!("{tag:08x}{i:012x}{:012x}", r & 0xffff_ffff_ffff)),
                    ),
                    ("TOKEN_STATE", Arg::Text(state.into())),
                    ("TOKEN_STATE_ID", Arg::Text(state_id)),
                    (
                        "SUBJECT_IDENTIFIER",
                        Arg::Text(format!("user{}", i % 50_000)),
                    ),
                    (
                        "ACCESS_TOKEN_HASH",
                        Arg::Text(hash_json(i, u64::from(tag) << 32 | 3)),
                    ),
                    (
                        "REFRESH_TOKEN_HASH",
                        Arg::Text(hash_json(i, u64::from(tag) << 32 | 4)),
                    ),
                ],
                progress,
            )
            .await?;
        if let Some(s) = scopes.as_mut() {
            // The token must be written before its scope row (foreign key on servers).
            if s.rows.len() + 1 >= ROWS_PER_STATEMENT {
                tokens.flush(c, progress).await?;
            }
            s.push(
                c,
                vec![
                    ("TOKEN_ID", Arg::Text(id)),
                    ("TOKEN_SCOPE", Arg::Text("default".into())),
                    ("TENANT_ID", Arg::Int(-1234)),
                ],
                progress,
            )
            .await?;
        }
    }
    tokens.flush(c, progress).await?;
    out.push((schema::TOKEN.to_string(), tokens.written));
    if let Some(mut s) = scopes {
        s.flush(c, progress).await?;
        out.push((schema::TOKEN_SCOPE.to_string(), s.written));
    }

    // Authorization codes: half point at a token that is gone (or at none) and are dead.
    if spec.codes > 0
        && let Some(mut codes) = Loader::new(
            c,
            schema::CODE,
            &[
                ("CODE_ID", false),
                ("AUTHORIZATION_CODE", false),
                ("CONSUMER_KEY_ID", false),
                ("CALLBACK_URL", false),
                ("SCOPE", false),
                ("AUTHZ_USER", false),
                ("TENANT_ID", false),
                ("USER_DOMAIN", false),
                ("TIME_CREATED", true),
                ("VALIDITY_PERIOD", false),
                ("STATE", false),
                ("TOKEN_ID", false),
                ("SUBJECT_IDENTIFIER", false),
                ("AUTHORIZATION_CODE_HASH", false),
            ],
        )
        .await?
    {
        let tag = next_tag(c, schema::CODE, "CODE_ID").await?;
        for i in 0..spec.codes {
            let r = splitmix(i ^ 0xc0de);
            let (state, age, validity, token) = match i % 4 {
                0 => (
                    "ACTIVE",
                    86_400 + (r % 8_640_000) as i64,
                    300_000,
                    Arg::Text(uuid(tag, i, 9)),
                ),
                1 => (
                    "INACTIVE",
                    600 + (r % 86_400) as i64,
                    300_000,
                    live_token_ids
                        .get((r % live_token_ids.len().max(1) as u64) as usize)
                        .cloned()
                        .map(Arg::Text)
                        .unwrap_or(Arg::Null),
                ),
                2 => ("INACTIVE", 3600 + (r % 864_000) as i64, 300_000, Arg::Null),
                _ => (
                    "ACTIVE",
                    30 + (r % 200) as i64,
                    600_000,
                    Arg::Text(uuid(tag, i, 9)),
                ),
            };
            codes
                .push(
                    c,
                    vec![
                        ("CODE_ID", Arg::Text(uuid(tag, i, 7))),
                        ("AUTHORIZATION_CODE", Arg::Text(uuid(tag, i, 8))),
                        ("CONSUMER_KEY_ID", app(i)),
                        (
                            "CALLBACK_URL",
                            Arg::Text("https://localhost/callback".into()),
                        ),
                        ("SCOPE", Arg::Text("openid".into())),
                        ("AUTHZ_USER", Arg::Text(format!("user{}", i % 50_000))),
                        ("TENANT_ID", Arg::Int(-1234)),
                        ("USER_DOMAIN", Arg::Text("PRIMARY".into())),
                        ("TIME_CREATED", ts(age)),
                        ("VALIDITY_PERIOD", Arg::Int(validity)),
                        ("STATE", Arg::Text(state.into())),
                        ("TOKEN_ID", token),
                        (
                            "SUBJECT_IDENTIFIER",
                            Arg::Text(format!("user{}", i % 50_000)),
                        ),
                        ("AUTHORIZATION_CODE_HASH", Arg::Text(hash_json(i, 0xc0de))),
                    ],
                    progress,
                )
                .await?;
        }
        codes.flush(c, progress).await?;
        out.push((schema::CODE.to_string(), codes.written));
    }

    // Sessions: two store rows each, plus one row in each side table present.
    if spec.sessions > 0
        && let Some(mut store) = Loader::new(
            c,
            schema::SESSION,
            &[
                ("SESSION_ID", false),
                ("SESSION_TYPE", false),
                ("OPERATION", false),
                ("SESSION_OBJECT", false),
                ("TIME_CREATED", false),
                ("TENANT_ID", false),
                ("EXPIRY_TIME", false),
            ],
        )
        .await?
    {
        let mut user = Loader::new(
            c,
            schema::SESSION_USER,
            &[("USER_ID", false), ("SESSION_ID", false)],
        )
        .await?;
        let mut app_info = Loader::new(
            c,
            schema::SESSION_APP,
            &[
                ("SESSION_ID", false),
                ("SUBJECT", false),
                ("APP_ID", false),
                ("INBOUND_AUTH_TYPE", false),
            ],
        )
        .await?;
        let mut meta = Loader::new(
            c,
            schema::SESSION_META,
            &[
                ("SESSION_ID", false),
                ("PROPERTY_TYPE", false),
                ("VALUE", false),
            ],
        )
        .await?;
        let tag = next_tag(c, schema::SESSION, "SESSION_ID").await?;
        let ns = 1_000_000_000i64;
        let now_ns = now * ns;
        for i in 0..spec.sessions {
            let r = splitmix(i ^ 0x5e55);
            let id = uuid(tag, i, 11);
            let blob = Arg::Bytes(format!("serialized-session-{i:016x}").into_bytes());
            let hours = |h: i64| h * 3600 * ns;
            // (created, expiry, second row: (operation, created))
            let (created, expiry, second) = match i % 4 {
                0 => (
                    now_ns - hours(80),
                    now_ns - hours(50 + (r % 500) as i64),
                    ("STORE", now_ns - hours(79)),
                ),
                1 => (
                    now_ns - hours(1),
                    now_ns + hours(8),
                    ("STORE", now_ns - hours(1) + ns),
                ),
                2 => (
                    now_ns - hours(20),
                    now_ns + hours(4),
                    ("DELETE", now_ns - hours(13 + (r % 100) as i64)),
                ),
                _ => (
                    now_ns - hours(3),
                    now_ns + hours(9),
                    ("DELETE", now_ns - hours(1)),
                ),
            };
            for (ty, op, t) in [
                ("authenticated-session", "STORE", created),
                (
                    if second.0 == "STORE" {
                        "app-auth-cache"
                    } else {
                        "authenticated-session"
                    },
                    second.0,
                    second.1,
                ),
            ] {
                store
                    .push(
                        c,
                        vec![
                            ("SESSION_ID", Arg::Text(id.clone())),
                            ("SESSION_TYPE", Arg::Text(ty.into())),
                            ("OPERATION", Arg::Text(op.into())),
                            ("SESSION_OBJECT", blob.clone()),
                            ("TIME_CREATED", Arg::Int(t)),
                            ("TENANT_ID", Arg::Int(-1234)),
                            ("EXPIRY_TIME", Arg::Int(expiry)),
                        ],
                        progress,
                    )
                    .await?;
            }
            if let Some(l) = user.as_mut() {
                l.push(
                    c,
                    vec![
                        ("USER_ID", Arg::Text(format!("uid-{}", i % 50_000))),
                        ("SESSION_ID", Arg::Text(id.clone())),
                    ],
                    progress,
                )
                .await?;
            }
            if let Some(l) = app_info.as_mut() {
                l.push(
                    c,
                    vec![
                        ("SESSION_ID", Arg::Text(id.clone())),
                        ("SUBJECT", Arg::Text(format!("user{}", i % 50_000))),
                        ("APP_ID", Arg::Int((i % 100) as i64 + 1)),
                        ("INBOUND_AUTH_TYPE", Arg::Text("oauth2".into())),
                    ],
                    progress,
                )
                .await?;
            }
            if let Some(l) = meta.as_mut() {
                l.push(
                    c,
                    vec![
                        ("SESSION_ID", Arg::Text(id.clone())),
                        ("PROPERTY_TYPE", Arg::Text("IP".into())),
                        (
                            "VALUE",
                            Arg::Text(format!("10.0.{}.{}", (i >> 8) % 256, i % 256)),
                        ),
                    ],
                    progress,
                )
                .await?;
            }
        }
        store.flush(c, progress).await?;
        out.push((schema::SESSION.to_string(), store.written));
        for (name, l) in [
            (schema::SESSION_USER, user),
            (schema::SESSION_APP, app_info),
            (schema::SESSION_META, meta),
        ] {
            if let Some(mut l) = l {
                l.flush(c, progress).await?;
                out.push((name.to_string(), l.written));
            }
        }
    }

    // Registry log: four rows per path (three superseded), one in ten a DELETE_RESOURCE.
    if spec.registry > 0
        && let Some(mut reg) = Loader::new(
            c,
            schema::REG_LOG,
            &[
                ("REG_LOG_ID", false),
                ("REG_PATH", false),
                ("REG_USER_ID", false),
                ("REG_LOGGED_TIME", true),
                ("REG_ACTION", false),
                ("REG_ACTION_DATA", false),
                ("REG_TENANT_ID", false),
            ],
        )
        .await?
    {
        let first = c
            .scalar(
                &format!("SELECT MAX(REG_LOG_ID) FROM {}", schema::REG_LOG),
                &[],
            )
            .await?
            + 1;
        let paths = (spec.registry / 4).max(1);
        for k in 0..spec.registry {
            let action = if k % 10 == 9 { 7 } else { (k % 2) as i64 };
            reg.push(
                c,
                vec![
                    ("REG_LOG_ID", Arg::Int(first + k as i64)),
                    (
                        "REG_PATH",
                        Arg::Text(format!(
                            "/_system/governance/apimgt/applicationdata/provider/admin/api-{}",
                            k % paths
                        )),
                    ),
                    ("REG_USER_ID", Arg::Text("admin".into())),
                    ("REG_LOGGED_TIME", ts((spec.registry - k) as i64 * 60)),
                    ("REG_ACTION", Arg::Int(action)),
                    ("REG_ACTION_DATA", Arg::Null),
                    ("REG_TENANT_ID", Arg::Int(-1234)),
                ],
                progress,
            )
            .await?;
        }
        reg.flush(c, progress).await?;
        out.push((schema::REG_LOG.to_string(), reg.written));
    }

    // Token audit rows: half invalidated more than 90 days ago.
    if spec.audit > 0
        && let Some(mut audit) =
            Loader::new(c, schema::TOKEN_AUDIT, &token_columns_with_invalidated()).await?
    {
        let tag = tag.wrapping_add(0x0800_0000);
        for i in 0..spec.audit {
            let r = splitmix(i ^ 0xa0d1);
            let age = if i % 2 == 0 {
                91 * 86_400 + (r % 30_000_000) as i64
            } else {
                3600 + (r % 7_000_000) as i64
            };
            audit
                .push(
                    c,
                    vec![
                        ("TOKEN_ID", Arg::Text(uuid(tag, i, 21))),
                        ("ACCESS_TOKEN", Arg::Text(uuid(tag, i, 22))),
                        ("REFRESH_TOKEN", Arg::Text(uuid(tag, i, 23))),
                        ("CONSUMER_KEY_ID", app(i)),
                        ("AUTHZ_USER", Arg::Text(format!("user{}", i % 50_000))),
                        ("TENANT_ID", Arg::Int(-1234)),
                        ("USER_DOMAIN", Arg::Text("PRIMARY".into())),
                        ("USER_TYPE", Arg::Text("APPLICATION_USER".into())),
                        ("GRANT_TYPE", Arg::Text("password".into())),
                        ("TIME_CREATED", ts(age + 86_400)),
                        ("REFRESH_TOKEN_TIME_CREATED", ts(age + 86_400)),
                        ("VALIDITY_PERIOD", Arg::Int(3_600_000)),
                        ("REFRESH_TOKEN_VALIDITY_PERIOD", Arg::Int(86_400_000)),
                        ("TOKEN_SCOPE_HASH", Arg::Text(format!("{i:032x}"))),
                        ("TOKEN_STATE", Arg::Text("INACTIVE".into())),
                        ("TOKEN_STATE_ID", Arg::Text(uuid(tag, i, 24))),
                        (
                            "SUBJECT_IDENTIFIER",
                            Arg::Text(format!("user{}", i % 50_000)),
                        ),
                        ("ACCESS_TOKEN_HASH", Arg::Text(hash_json(i, 0xa0d1))),
                        ("REFRESH_TOKEN_HASH", Arg::Text(hash_json(i, 0xa0d2))),
                        ("INVALIDATED_TIME", ts(age)),
                    ],
                    progress,
                )
                .await?;
        }
        audit.flush(c, progress).await?;
        out.push((schema::TOKEN_AUDIT.to_string(), audit.written));
    }
    Ok(out)
}

/// The token columns seed writes, `true` for timestamps (shared by the token and audit tables).
const TOKEN_COLUMNS: [(&str, bool); 19] = [
    ("TOKEN_ID", false),
    ("ACCESS_TOKEN", false),
    ("REFRESH_TOKEN", false),
    ("CONSUMER_KEY_ID", false),
    ("AUTHZ_USER", false),
    ("TENANT_ID", false),
    ("USER_DOMAIN", false),
    ("USER_TYPE", false),
    ("GRANT_TYPE", false),
    ("TIME_CREATED", true),
    ("REFRESH_TOKEN_TIME_CREATED", true),
    ("VALIDITY_PERIOD", false),
    ("REFRESH_TOKEN_VALIDITY_PERIOD", false),
    ("TOKEN_SCOPE_HASH", false),
    ("TOKEN_STATE", false),
    ("TOKEN_STATE_ID", false),
    ("SUBJECT_IDENTIFIER", false),
    ("ACCESS_TOKEN_HASH", false),
    ("REFRESH_TOKEN_HASH", false),
];

fn token_columns_with_invalidated() -> Vec<(&'static str, bool)> {
    let mut cols = TOKEN_COLUMNS.to_vec();
    cols.push(("INVALIDATED_TIME", true));
    cols
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_literals_are_quoted() {
        let mut s = String::new();
        for v in [
            Arg::Null,
            Arg::Int(-5),
            Arg::Text("it's".into()),
            Arg::Bytes(vec![0, 255]),
        ] {
            sqlite_literal(&v, &mut s);
            s.push(' ');
        }
        assert_eq!(s, "NULL -5 'it''s' X'00FF' ");
    }

    #[test]
    fn ids_look_like_uuids_and_ascend() {
        let a = uuid(0x1000_0000, 1, 1);
        let b = uuid(0x1000_0000, 2, 1);
        assert_eq!(a.len(), 36);
        assert_eq!(a.matches('-').count(), 4);
        assert!(a < b, "{a} {b}");
        assert!(uuid(0x1000_0000, 4095, 1) < uuid(0x1000_0000, 4096, 1));
    }
}
