//! One connection to SQLite, PostgreSQL or MySQL/MariaDB, with the few operations `db` needs:
//! run a statement, fetch rows as plain values. Engine dispatch is an enum, not `sqlx::Any`,
//! which cannot decode PostgreSQL or MySQL timestamps and does not rewrite placeholders.

use super::DbError;
use super::dialect::{Engine, numbered};
use super::target::{Target, Verify};
use sqlx::mysql::{MySqlConnectOptions, MySqlConnection, MySqlSslMode};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgSslMode};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode};
use sqlx::{AssertSqlSafe, ConnectOptions, Row, TypeInfo, ValueRef};
use std::str::FromStr;
use std::time::Duration;

/// A value bound to, or read from, a statement.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Arg {
    /// A NULL (bound as a NULL text).
    Null,
    Int(i64),
    Text(String),
    Bytes(Vec<u8>),
    /// A text array, PostgreSQL only (`KEY = ANY(?)`: one parameter instead of thousands).
    TextList(Vec<String>),
    /// An integer array, PostgreSQL only.
    IntList(Vec<i64>),
}

impl Arg {
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Arg::Int(i) => Some(*i),
            Arg::Text(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    pub fn into_text(self) -> Option<String> {
        match self {
            Arg::Text(s) => Some(s),
            Arg::Int(i) => Some(i.to_string()),
            _ => None,
        }
    }
}

pub enum Conn {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
    MySql(MySqlConnection),
}

/// How to open the database.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Open {
    /// Only reads (`db audit`, `db clean --dry-run`): the database must exist; SQLite is opened
    /// `read_only` and keeps its journal mode (no switch to WAL, nothing written to the file);
    /// servers get a read-only session, so a bug cannot write either.
    ReadOnly,
    /// Writes to a database that must exist (seed, clean, restore): a missing or empty SQLite
    /// file is refused, never created or given a header.
    Existing,
    /// Create a missing SQLite file (init, and [`super::Connection`] for tests).
    CreateSqlite,
}

/// The one busy-timeout policy for SQLite, for every command: a statement that finds another
/// connection holding the lock waits this long, then fails with [`super::DbError::Busy`]. No
/// command retries a busy SQLite lock on top of it, so this is the whole wait.
pub const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The first 16 bytes of every SQLite database file.
const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// Refuses an SQLite path that is not an existing, non-empty SQLite database file, before
/// SQLite opens it: SQLite would create a missing file, write a header into an empty one, and
/// block or read forever on a FIFO or device.
fn check_sqlite_file(path: &std::path::Path) -> Result<(), String> {
    use std::io::Read;
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err("no such database file (`db init` creates one)".into());
        }
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    if !meta.is_file() {
        return Err(format!("{} is not a regular file", path.display()));
    }
    if meta.len() == 0 {
        return Err(format!(
            "{} is empty, not an SQLite database (`db init` creates the tables; nothing was \
             written to it)",
            path.display()
        ));
    }
    let mut head = [0u8; 16];
    let read = std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut head));
    match read {
        Ok(()) if &head == SQLITE_MAGIC => Ok(()),
        Ok(()) | Err(_) => Err(format!(
            "{} is not an SQLite database (no SQLite header); nothing was written to it",
            path.display()
        )),
    }
}

macro_rules! bind_all {
    ($q:expr, $args:expr, $list:ident) => {{
        let mut q = $q;
        for a in $args {
            q = match a {
                Arg::Null => q.bind(None::<String>),
                Arg::Int(i) => q.bind(*i),
                Arg::Text(s) => q.bind(s.as_str()),
                Arg::Bytes(b) => q.bind(b.as_slice()),
                Arg::TextList(l) => $list!(q, l),
                Arg::IntList(l) => $list!(q, l),
            };
        }
        q
    }};
}

macro_rules! array {
    ($q:expr, $l:expr) => {
        $q.bind($l.as_slice())
    };
}

/// Never reached: [`Conn::check_args`] refuses arrays before binding on these engines.
macro_rules! no_array {
    ($q:expr, $l:expr) => {{
        let _ = $l;
        $q.bind(None::<String>)
    }};
}

/// Reads column `i` as the first type that fits: NULL, 64- or 32-bit integer, text, bytes.
macro_rules! decode_row {
    ($row:expr) => {{
        let row = $row;
        let mut out = Vec::with_capacity(row.len());
        for i in 0..row.len() {
            let (null, ty) = match row.try_get_raw(i) {
                Ok(v) => (v.is_null(), v.type_info().name().to_ascii_uppercase()),
                Err(_) => (true, String::new()),
            };
            // The value's own type picks the decoder first: a failed decode builds an error
            // message, which costs more than the decode when 200,000 keys come back.
            let texty = ty.contains("CHAR") || ty.contains("TEXT") || ty == "NAME";
            let v = if null {
                Arg::Null
            } else if texty && let Ok(v) = row.try_get::<String, _>(i) {
                Arg::Text(v)
            } else if let Ok(v) = row.try_get::<i64, _>(i) {
                Arg::Int(v)
            } else if let Ok(v) = row.try_get::<i32, _>(i) {
                Arg::Int(i64::from(v))
            } else if let Ok(v) = row.try_get::<String, _>(i) {
                Arg::Text(v)
            } else if let Ok(v) = row.try_get::<Vec<u8>, _>(i) {
                Arg::Bytes(v)
            } else {
                Arg::Null
            };
            out.push(v);
        }
        out
    }};
}

impl Conn {
    /// Connects within the target's connect timeout (TCP connect, TLS and the login handshake
    /// together): a server that accepts and never speaks is an error after it, not a hang.
    pub async fn open(target: &Target, how: Open) -> Result<Conn, DbError> {
        let limit = target.connect_timeout;
        match tokio::time::timeout(limit, Conn::open_now(target, how)).await {
            Ok(r) => r,
            Err(_) => Err(DbError::Connect {
                target: target.display.clone(),
                reason: format!(
                    "no answer within {} s (the connect timeout; --connect-timeout SECS changes \
                     it)",
                    limit.as_secs_f64()
                ),
            }),
        }
    }

    async fn open_now(target: &Target, how: Open) -> Result<Conn, DbError> {
        let url = target.url.expose();
        // sqlx may quote the URL it could not use; the password never leaves this function.
        let password = url
            .split_once("://")
            .and_then(|(_, rest)| rest.rsplit_once('@'))
            .and_then(|(userinfo, _)| userinfo.split_once(':'))
            .map(|(_, p)| p.to_string())
            .filter(|p| !p.is_empty());
        let connect_err = |e: sqlx::Error| {
            let mut reason = super::describe(&e);
            if let Some(p) = &password {
                reason = reason.replace(p.as_str(), crate::redact::MASK);
            }
            // sqlx quotes an inline CA it could not use whole; only certificates are passed
            // (Target::with_ca_file), but no PEM text is shown either way.
            if let Some(at) = reason.find("-----BEGIN") {
                reason.truncate(at);
                reason.push_str("(the PEM of --ca-file, not shown)");
            }
            DbError::Connect {
                target: target.display.clone(),
                reason,
            }
        };
        match target.engine {
            Engine::Sqlite => {
                let path = target.sqlite_path();
                if how != Open::CreateSqlite {
                    check_sqlite_file(&path).map_err(|reason| DbError::Connect {
                        target: target.display.clone(),
                        reason,
                    })?;
                }
                let mut opts = SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(how == Open::CreateSqlite)
                    .read_only(how == Open::ReadOnly)
                    .busy_timeout(SQLITE_BUSY_TIMEOUT)
                    .foreign_keys(true);
                if how != Open::ReadOnly {
                    // WAL lets API-M (or a lookup loop) read while a batch writes. A reader
                    // leaves the file's journal mode as it found it.
                    opts = opts.journal_mode(SqliteJournalMode::Wal);
                }
                Ok(Conn::Sqlite(opts.connect().await.map_err(connect_err)?))
            }
            Engine::Postgres => {
                let mut opts = PgConnectOptions::from_str(url)
                    .map_err(connect_err)?
                    .application_name("apim-tune");
                if how == Open::ReadOnly {
                    opts = opts.options([("default_transaction_read_only", "on")]);
                }
                if let Some(ca) = &target.ca {
                    // Always a verifying mode: sqlx reads the CA in no other (Target::with_ca_file
                    // chose it from the URL's mode).
                    opts = opts
                        .ssl_root_cert_from_pem(ca.pem.clone())
                        .ssl_mode(match ca.verify {
                            Verify::Full => PgSslMode::VerifyFull,
                            Verify::Ca => PgSslMode::VerifyCa,
                        });
                }
                Ok(Conn::Postgres(opts.connect().await.map_err(connect_err)?))
            }
            Engine::MySql => {
                // Keep the server's default time zone, which is what API-M's sessions use:
                // sqlx would otherwise set UTC, and a TIMESTAMP reads back as written only in
                // the zone it was written in.
                let mut opts = MySqlConnectOptions::from_str(url)
                    .map_err(connect_err)?
                    .timezone(None::<String>);
                if let Some(ca) = &target.ca {
                    opts = opts
                        .ssl_ca_from_pem(ca.pem.clone())
                        .ssl_mode(match ca.verify {
                            Verify::Full => MySqlSslMode::VerifyIdentity,
                            Verify::Ca => MySqlSslMode::VerifyCa,
                        });
                }
                let mut c = Conn::MySql(opts.connect().await.map_err(connect_err)?);
                // Fewer gap locks on live traffic than REPEATABLE READ; each batch locks its own
                // rows explicitly.
                c.execute(
                    "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
                    &[],
                )
                .await?;
                if how == Open::ReadOnly {
                    c.execute("SET SESSION TRANSACTION READ ONLY", &[]).await?;
                }
                Ok(c)
            }
        }
    }

    pub fn engine(&self) -> Engine {
        match self {
            Conn::Sqlite(_) => Engine::Sqlite,
            Conn::Postgres(_) => Engine::Postgres,
            Conn::MySql(_) => Engine::MySql,
        }
    }

    fn check_args(&self, sql: &str, args: &[Arg]) -> Result<(), DbError> {
        if self.engine() != Engine::Postgres
            && args
                .iter()
                .any(|a| matches!(a, Arg::TextList(_) | Arg::IntList(_)))
        {
            return Err(DbError::Refused(format!(
                "internal: an array parameter on {} in `{sql}`",
                self.engine().as_str()
            )));
        }
        Ok(())
    }

    /// Runs one statement with `?` parameters; returns the rows it affected.
    pub async fn execute(&mut self, sql: &str, args: &[Arg]) -> Result<u64, DbError> {
        self.check_args(sql, args)?;
        let err = |e| DbError::sql(sql, e);
        Ok(match self {
            Conn::Sqlite(c) => {
                let q = bind_all!(sqlx::query(AssertSqlSafe(sql.to_string())), args, no_array);
                q.execute(&mut *c).await.map_err(err)?.rows_affected()
            }
            Conn::Postgres(c) => {
                let q = bind_all!(sqlx::query(AssertSqlSafe(numbered(sql))), args, array);
                q.execute(&mut *c).await.map_err(err)?.rows_affected()
            }
            Conn::MySql(c) => {
                let q = bind_all!(sqlx::query(AssertSqlSafe(sql.to_string())), args, no_array);
                q.execute(&mut *c).await.map_err(err)?.rows_affected()
            }
        })
    }

    /// Runs a query and returns every row as values.
    pub async fn fetch(&mut self, sql: &str, args: &[Arg]) -> Result<Vec<Vec<Arg>>, DbError> {
        self.check_args(sql, args)?;
        let err = |e| DbError::sql(sql, e);
        Ok(match self {
            Conn::Sqlite(c) => {
                let q = bind_all!(sqlx::query(AssertSqlSafe(sql.to_string())), args, no_array);
                let rows = q.fetch_all(&mut *c).await.map_err(err)?;
                rows.iter().map(|r| decode_row!(r)).collect()
            }
            Conn::Postgres(c) => {
                let q = bind_all!(sqlx::query(AssertSqlSafe(numbered(sql))), args, array);
                let rows = q.fetch_all(&mut *c).await.map_err(err)?;
                rows.iter().map(|r| decode_row!(r)).collect()
            }
            Conn::MySql(c) => {
                let q = bind_all!(sqlx::query(AssertSqlSafe(sql.to_string())), args, no_array);
                let rows = q.fetch_all(&mut *c).await.map_err(err)?;
                rows.iter().map(|r| decode_row!(r)).collect()
            }
        })
    }

    /// The first column of the first row as an integer (a COUNT, a SUM); 0 when NULL or absent.
    pub async fn scalar(&mut self, sql: &str, args: &[Arg]) -> Result<i64, DbError> {
        Ok(self
            .fetch(sql, args)
            .await?
            .into_iter()
            .next()
            .and_then(|r| r.into_iter().next())
            .and_then(|v| v.as_i64())
            .unwrap_or(0))
    }

    /// The first column of every row as text (names, keys).
    pub async fn texts(&mut self, sql: &str, args: &[Arg]) -> Result<Vec<String>, DbError> {
        Ok(self
            .fetch(sql, args)
            .await?
            .into_iter()
            .filter_map(|r| r.into_iter().next().and_then(Arg::into_text))
            .collect())
    }

    /// Runs a statement with no parameters and no result (DDL, BEGIN, COMMIT, PRAGMA), unprepared:
    /// MySQL does not prepare every statement.
    pub async fn run(&mut self, sql: &str) -> Result<(), DbError> {
        let err = |e| DbError::sql(sql, e);
        let raw = sqlx::raw_sql(AssertSqlSafe(sql.to_string()));
        match self {
            Conn::Sqlite(c) => raw.execute(&mut *c).await.map(|_| ()).map_err(err),
            Conn::Postgres(c) => raw.execute(&mut *c).await.map(|_| ()).map_err(err),
            Conn::MySql(c) => raw.execute(&mut *c).await.map(|_| ()).map_err(err),
        }
    }

    /// Column names of `table` (upper case), empty when the table does not exist.
    pub async fn columns(&mut self, table: &str) -> Result<Vec<String>, DbError> {
        let q = self.engine().columns_query();
        Ok(self
            .texts(q, &[Arg::Text(table.to_string())])
            .await?
            .into_iter()
            .map(|c| c.to_ascii_uppercase())
            .collect())
    }

    pub async fn close(self) {
        let _ = match self {
            Conn::Sqlite(c) => sqlx::Connection::close(c).await,
            Conn::Postgres(c) => sqlx::Connection::close(c).await,
            Conn::MySql(c) => sqlx::Connection::close(c).await,
        };
    }
}
