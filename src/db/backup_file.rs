//! `db clean --backup-file FILE` and `db restore --backup-file FILE`: the deleted rows as JSON
//! lines, one row per line, each value in a form that goes back byte for byte.
//!
//! A line is `{"table":"T","row":{"COL":value,…}}`; a value is `null`, an integer, a string
//! (text, and every other type as the server writes it as text: timestamps, decimals), or
//! `{"hex":"…"}` for binary. SQLite keeps each value's own storage class (a TEXT-declared
//! column may hold an integer), and a REAL as `{"real":"…"}` with 17 significant digits. Each
//! run appends a header line `{"apim_tune_backup":1,…}` first, so one file can hold several runs.
//!
//! The lines of a batch are written and synced before the batch commits and cut off again when
//! it rolls back, so the file holds what was deleted; after a failed COMMIT they stay (a row
//! that is still there is skipped by the restore).

use super::DbError;
use super::conn::{Arg, Conn};
use super::dialect::Engine;
use serde_json::{Map, Value, json};
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, Write};
use std::path::{Path, PathBuf};

/// The format version in each header line.
pub const FORMAT: i64 = 1;

/// The longest line a restore reads: far above any API-M row (a session object is a few KB).
pub const MAX_LINE_BYTES: u64 = 64 * 1024 * 1024;

/// How one column is read for the file and written back.
#[derive(Clone, Debug)]
pub struct FileColumn {
    pub name: String,
    kind: Kind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Kind {
    /// Read as is: an integer.
    Int,
    /// Read as hex text, written back from hex.
    Binary,
    /// Read as text; PostgreSQL casts it back to this type.
    Text(String),
    /// SQLite: whatever the value's storage class is.
    Dynamic,
}

/// The columns of `table` with their types, in table order.
pub async fn columns(c: &mut Conn, table: &str) -> Result<Vec<FileColumn>, DbError> {
    let e = c.engine();
    let sql = match e {
        Engine::Sqlite => "SELECT name, type FROM pragma_table_info(?) ORDER BY cid",
        // format_type gives a name a CAST accepts (`timestamp without time zone`, `bytea`);
        // with the type modifier, as a CAST to plain `character` is CHAR(1) and cuts the value.
        Engine::Postgres => {
            "SELECT CAST(a.attname AS TEXT), format_type(a.atttypid, a.atttypmod) FROM pg_attribute a \
             JOIN pg_class t ON t.oid = a.attrelid \
             WHERE t.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema()) \
             AND lower(t.relname) = lower(?) AND a.attnum > 0 AND NOT a.attisdropped \
             ORDER BY a.attnum"
        }
        Engine::MySql => {
            "SELECT column_name, data_type FROM information_schema.columns \
             WHERE table_schema = DATABASE() AND lower(table_name) = lower(?) \
             ORDER BY ordinal_position"
        }
    };
    let rows = c.fetch(sql, &[Arg::Text(table.to_string())]).await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let mut it = r.into_iter();
            let name = it.next()?.into_text()?.to_ascii_uppercase();
            let ty = it.next().and_then(Arg::into_text).unwrap_or_default();
            let lower = ty.to_ascii_lowercase();
            let kind = match e {
                Engine::Sqlite => Kind::Dynamic,
                _ if lower == "bytea" || lower.contains("blob") || lower.contains("binary") => {
                    Kind::Binary
                }
                _ if matches!(
                    lower.as_str(),
                    "smallint" | "integer" | "bigint" | "int" | "tinyint" | "mediumint"
                ) =>
                {
                    Kind::Int
                }
                _ => Kind::Text(ty),
            };
            Some(FileColumn { name, kind })
        })
        .collect())
}

/// The SELECT list that reads `cols` for the file (SQLite: two expressions per column).
pub fn select_list(e: Engine, cols: &[FileColumn]) -> String {
    cols.iter()
        .map(|c| {
            let n = &c.name;
            match (&c.kind, e) {
                (Kind::Dynamic, _) => format!(
                    "typeof({n}), CASE typeof({n}) WHEN 'blob' THEN hex({n}) \
                     WHEN 'real' THEN printf('%!.17g', {n}) ELSE {n} END"
                ),
                // One integer type for every width (sqlx decodes no 16-bit integer here).
                (Kind::Int, Engine::MySql) => format!("CAST({n} AS SIGNED)"),
                (Kind::Int, _) => format!("CAST({n} AS BIGINT)"),
                (Kind::Binary, Engine::Postgres) => format!("encode({n}, 'hex')"),
                (Kind::Binary, _) => format!("HEX({n})"),
                (Kind::Text(_), Engine::MySql) => format!("CAST({n} AS CHAR)"),
                (Kind::Text(_), _) => format!("CAST({n} AS TEXT)"),
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// One row read with [`select_list`] as the JSON object of its line.
pub fn encode_row(table: &str, cols: &[FileColumn], row: Vec<Arg>) -> Result<Value, DbError> {
    let mut values = row.into_iter();
    let mut obj = Map::new();
    for c in cols {
        let v = match c.kind {
            Kind::Dynamic => {
                let class = values.next().and_then(Arg::into_text).unwrap_or_default();
                let v = values.next().unwrap_or(Arg::Null);
                match (class.as_str(), v) {
                    ("null", _) => Value::Null,
                    ("integer", Arg::Int(i)) => json!(i),
                    ("text", Arg::Text(s)) => json!(s),
                    ("blob", Arg::Text(h)) => json!({ "hex": h.to_ascii_lowercase() }),
                    ("real", Arg::Text(r)) => json!({ "real": r }),
                    (class, _) => return Err(unreadable(table, &c.name, class)),
                }
            }
            Kind::Int => match values.next() {
                Some(Arg::Null) | None => Value::Null,
                Some(Arg::Int(i)) => json!(i),
                Some(_) => return Err(unreadable(table, &c.name, "integer")),
            },
            Kind::Binary => match values.next() {
                Some(Arg::Null) | None => Value::Null,
                Some(Arg::Text(h)) => json!({ "hex": h.to_ascii_lowercase() }),
                Some(_) => return Err(unreadable(table, &c.name, "binary")),
            },
            Kind::Text(_) => match values.next() {
                Some(Arg::Null) | None => Value::Null,
                Some(Arg::Text(s)) => json!(s),
                Some(_) => return Err(unreadable(table, &c.name, "text")),
            },
        };
        obj.insert(c.name.clone(), v);
    }
    Ok(json!({ "table": table, "row": obj }))
}

fn unreadable(table: &str, column: &str, what: &str) -> DbError {
    DbError::Refused(format!(
        "{table}.{column}: a {what} value apim-tune cannot write to a backup file exactly; \
         nothing of this batch was deleted"
    ))
}

/// The SQL expression that writes `v` back into column `col`, and its parameter.
pub fn value_sql(e: Engine, col: &FileColumn, v: &Value) -> Result<(String, Arg), String> {
    let cast = |arg: Arg| match (&col.kind, e) {
        (Kind::Text(ty), Engine::Postgres) => (format!("CAST(? AS {ty})"), arg),
        _ => ("?".to_string(), arg),
    };
    Ok(match v {
        // sqlx sends a NULL as a text parameter: PostgreSQL needs it cast to the column's type.
        Value::Null => match (&col.kind, e) {
            (Kind::Text(ty), Engine::Postgres) => (format!("CAST(? AS {ty})"), Arg::Null),
            (Kind::Int, Engine::Postgres) => ("CAST(? AS BIGINT)".into(), Arg::Null),
            (Kind::Binary, Engine::Postgres) => ("CAST(? AS BYTEA)".into(), Arg::Null),
            _ => ("?".into(), Arg::Null),
        },
        Value::Number(n) => match n.as_i64() {
            Some(i) => match (&col.kind, e) {
                (Kind::Text(ty), Engine::Postgres) => {
                    (format!("CAST(? AS {ty})"), Arg::Text(i.to_string()))
                }
                _ => ("?".into(), Arg::Int(i)),
            },
            None => return Err(format!("{}: {n} is not a 64-bit integer", col.name)),
        },
        Value::String(s) => cast(Arg::Text(s.clone())),
        Value::Object(o) => {
            if let Some(Value::String(h)) = o.get("hex") {
                let bytes = from_hex(h).ok_or_else(|| format!("{}: bad hex", col.name))?;
                ("?".into(), Arg::Bytes(bytes))
            } else if let Some(Value::String(r)) = o.get("real") {
                ("CAST(? AS REAL)".into(), Arg::Text(r.clone()))
            } else {
                return Err(format!("{}: unknown value {v}", col.name));
            }
        }
        other => return Err(format!("{}: unknown value {other}", col.name)),
    })
}

fn from_hex(h: &str) -> Option<Vec<u8>> {
    if !h.len().is_multiple_of(2) {
        return None;
    }
    (0..h.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(h.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The file a clean appends to, with the length it had before the batch in flight.
pub struct Writer {
    file: File,
    path: PathBuf,
    batch_start: u64,
    pending: Vec<u8>,
}

/// How an existing file starts when apim-tune wrote it: the header's first key (serde_json
/// writes an object's keys sorted, and `apim_tune_backup` sorts first).
const HEADER_START: &[u8] = b"{\"apim_tune_backup\":";

impl Writer {
    /// Opens (or creates, mode 0600) `path` for appending and writes the run's header line.
    /// Returns a note when a torn last line of an earlier run was cut off.
    ///
    /// The file holds tokens, so it is refused when it is a symlink (it could point anywhere),
    /// when group or others may read or write it (chmod-ing it behind the user's back would hide
    /// that it was exposed), and when it is not empty and does not start with an apim-tune
    /// header (appending rows to some other file, or cutting its torn line, would damage it).
    pub fn open(path: &Path, header: Value) -> Result<(Writer, Option<String>), DbError> {
        let fail = |e: std::io::Error| {
            DbError::Refused(format!(
                "--backup-file {}: {e}; nothing was deleted",
                path.display()
            ))
        };
        let refuse = |why: &str| {
            DbError::Refused(format!(
                "--backup-file {}: {why}; nothing was deleted",
                path.display()
            ))
        };
        let mut opts = std::fs::OpenOptions::new();
        opts.create(true).append(true).read(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
            // A symlink as the last component fails with ELOOP instead of being followed.
            opts.custom_flags(nix::libc::O_NOFOLLOW);
        }
        let mut file = opts.open(path).map_err(|e| {
            #[cfg(unix)]
            if e.raw_os_error() == Some(nix::libc::ELOOP) {
                return refuse("is a symbolic link; give the real file's path");
            }
            fail(e)
        })?;
        let meta = file.metadata().map_err(fail)?;
        if !meta.is_file() {
            return Err(refuse("is not a regular file"));
        }
        // One writer at a time, for the whole run: a second clean appending to the same file
        // could cut the first one's line in flight as "torn", and a rollback's truncation
        // would drop the other run's committed batches (found in review of issue 17).
        file.try_lock().map_err(|e| match e {
            std::fs::TryLockError::WouldBlock => refuse(
                "is being written by another `db clean` (it holds the file's lock); give \
                 another file or wait for it",
            ),
            std::fs::TryLockError::Error(e) => fail(e),
        })?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::{MetadataExt, PermissionsExt};
            // Someone else's file (possible for root): its owner reads the tokens.
            let me = nix::unistd::geteuid().as_raw();
            if meta.uid() != me {
                return Err(refuse(&format!(
                    "belongs to user id {}, not to the user running apim-tune ({me}), and \
                     would hold tokens; give a file of your own",
                    meta.uid()
                )));
            }
            let mode = meta.permissions().mode();
            if mode & 0o077 != 0 {
                return Err(refuse(&format!(
                    "group or others have access to it (mode {:o}) and it holds tokens; \
                     `chmod 600` it (and check who read it) or give a new file",
                    mode & 0o777
                )));
            }
        }
        let mut note = None;
        let len = meta.len();
        if len > 0 {
            let mut start = vec![0u8; HEADER_START.len()];
            file.seek(std::io::SeekFrom::Start(0)).map_err(fail)?;
            let read = read_up_to(&mut file, &mut start).map_err(fail)?;
            if read < HEADER_START.len() || start != HEADER_START {
                return Err(refuse(
                    "is not empty and is not an apim-tune backup file (no header line); \
                     give a new file or an earlier --backup-file",
                ));
            }
            // A run that died mid-write left a line without its `\n`: the next header would
            // be glued onto it and the line unreadable. Cut it off; its row was never deleted,
            // as its batch did not commit before the line was complete and synced.
            let keep = end_of_last_line(&mut file, len).map_err(fail)?;
            if keep < len {
                file.set_len(keep).map_err(fail)?;
                file.sync_data().map_err(fail)?;
                note = Some(format!(
                    "{}: cut off an incomplete last line ({} bytes) an interrupted run left",
                    path.display(),
                    len - keep
                ));
            }
        }
        let mut w = Writer {
            file,
            path: path.to_path_buf(),
            batch_start: 0,
            pending: Vec::new(),
        };
        w.begin()?;
        w.line(&header);
        w.sync()?;
        Ok((w, note))
    }

    fn io(&self, e: std::io::Error) -> DbError {
        DbError::Refused(format!(
            "--backup-file {}: {e}; the batch was not committed",
            self.path.display()
        ))
    }

    /// A batch starts: remember where the file ends.
    pub fn begin(&mut self) -> Result<(), DbError> {
        self.pending.clear();
        self.batch_start = self
            .file
            .seek(std::io::SeekFrom::End(0))
            .map_err(|e| self.io(e))?;
        Ok(())
    }

    pub fn line(&mut self, v: &Value) {
        self.pending.extend_from_slice(v.to_string().as_bytes());
        self.pending.push(b'\n');
    }

    /// Writes the batch's lines and waits until they are on disk (before the COMMIT).
    pub fn sync(&mut self) -> Result<(), DbError> {
        let pending = std::mem::take(&mut self.pending);
        self.file.write_all(&pending).map_err(|e| self.io(e))?;
        self.file.sync_data().map_err(|e| self.io(e))
    }

    /// The batch rolled back: its lines go.
    pub fn rollback(&mut self) {
        self.pending.clear();
        let _ = self.file.set_len(self.batch_start);
    }
}

/// Reads into `buf` until it is full or the file ends; the bytes read.
fn read_up_to(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// The length of `file` up to and with its last `\n` (0 when it has none), read backwards in
/// blocks so a large file is not read whole.
fn end_of_last_line(file: &mut File, len: u64) -> std::io::Result<u64> {
    const BLOCK: u64 = 64 * 1024;
    let mut end = len;
    let mut buf = vec![0u8; BLOCK as usize];
    while end > 0 {
        let start = end.saturating_sub(BLOCK);
        let chunk = &mut buf[..(end - start) as usize];
        file.seek(std::io::SeekFrom::Start(start))?;
        file.read_exact(chunk)?;
        if let Some(i) = chunk.iter().rposition(|b| *b == b'\n') {
            return Ok(start + i as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}

/// One row of a backup file: its table and its values by column.
pub type FileRow = (String, Map<String, Value>);

/// Reads the lines of a backup file one at a time, each at most [`MAX_LINE_BYTES`].
pub struct Reader {
    lines: BufReader<File>,
    path: PathBuf,
    number: u64,
    /// The line number of a torn last line that was left out.
    pub torn: Option<u64>,
}

impl Reader {
    pub fn open(path: &Path) -> Result<Reader, DbError> {
        let file = File::open(path)
            .map_err(|e| DbError::Refused(format!("--backup-file {}: {e}", path.display())))?;
        Ok(Reader {
            lines: BufReader::new(file),
            path: path.to_path_buf(),
            number: 0,
            torn: None,
        })
    }

    /// The next row as (table, columns), skipping header lines; `None` at the end.
    pub fn next_row(&mut self) -> Result<Option<FileRow>, DbError> {
        loop {
            let mut buf = Vec::new();
            let n = (&mut self.lines)
                .take(MAX_LINE_BYTES + 1)
                .read_until(b'\n', &mut buf)
                .map_err(|e| self.bad(&e.to_string()))?;
            if n == 0 {
                return Ok(None);
            }
            self.number += 1;
            if n as u64 > MAX_LINE_BYTES {
                return Err(self.bad(&format!("longer than {MAX_LINE_BYTES} bytes")));
            }
            if buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            // Only where: a row's values are tokens, and never go into a message.
            let v: Value = match serde_json::from_slice(&buf) {
                Ok(v) => v,
                // A last line without its `\n` that is not JSON: a clean died writing it, before
                // its batch could commit, so its row was never deleted. The file ends there.
                Err(_) if buf.last() != Some(&b'\n') => {
                    self.torn = Some(self.number);
                    return Ok(None);
                }
                Err(_) => return Err(self.bad("not a JSON object")),
            };
            if let Some(f) = v.get("apim_tune_backup") {
                if f.as_i64() != Some(FORMAT) {
                    return Err(self.bad("a backup file format this apim-tune does not know"));
                }
                continue;
            }
            match v {
                Value::Object(mut o) => match (o.remove("table"), o.remove("row")) {
                    (Some(Value::String(t)), Some(Value::Object(row))) => {
                        return Ok(Some((t, row)));
                    }
                    _ => return Err(self.bad("no `table` and `row`")),
                },
                _ => return Err(self.bad("not a JSON object")),
            }
        }
    }

    fn bad(&self, why: &str) -> DbError {
        DbError::Refused(format!(
            "{}:{}: not an apim-tune backup line ({why}); nothing more was restored",
            self.path.display(),
            self.number
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A batch's lines reach the file only when synced, and a rolled-back batch leaves the
    /// file as it was: the file holds what was deleted, no more. Reading it back skips the
    /// headers of every run.
    #[test]
    fn a_rolled_back_batch_leaves_no_lines() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("b.jsonl");
        let (mut w, _) = Writer::open(&path, json!({ "apim_tune_backup": FORMAT })).expect("open");
        let header_len = std::fs::metadata(&path).expect("meta").len();
        w.begin().expect("begin");
        w.line(&json!({ "table": "REG_LOG", "row": { "REG_LOG_ID": 1 } }));
        w.sync().expect("sync");
        let one = std::fs::metadata(&path).expect("meta").len();
        assert!(one > header_len);
        w.begin().expect("begin");
        w.line(&json!({ "table": "REG_LOG", "row": { "REG_LOG_ID": 2 } }));
        w.sync().expect("sync");
        w.rollback();
        assert_eq!(std::fs::metadata(&path).expect("meta").len(), one);
        drop(w);
        // A second run appends its own header.
        let (mut w, _) = Writer::open(&path, json!({ "apim_tune_backup": FORMAT })).expect("open");
        w.begin().expect("begin");
        w.line(&json!({ "table": "REG_LOG", "row": { "REG_LOG_ID": 3 } }));
        w.sync().expect("sync");
        let mut r = Reader::open(&path).expect("read");
        let mut ids = Vec::new();
        while let Some((t, row)) = r.next_row().expect("row") {
            assert_eq!(t, "REG_LOG");
            ids.push(row["REG_LOG_ID"].as_i64());
        }
        assert_eq!(ids, [Some(1), Some(3)]);
    }

    /// A torn last line longer than the block the search reads backwards is cut off whole,
    /// back to the end of the last complete line.
    #[cfg(unix)]
    #[test]
    fn a_long_torn_line_is_cut_back_to_the_last_complete_line() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("b.jsonl");
        let head = "{\"apim_tune_backup\":1}\n";
        std::fs::write(
            &path,
            format!("{head}{{\"table\":\"{}", "x".repeat(200_000)),
        )
        .expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        let (w, note) = Writer::open(&path, json!({ "apim_tune_backup": FORMAT })).expect("open");
        drop(w);
        assert!(note.expect("a note").contains("incomplete last line"));
        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(text, format!("{head}{head}"));
    }

    /// A second writer is refused while the first holds the file, and nothing of the first's
    /// is touched; once the first is done the file can be appended to again.
    #[test]
    fn a_second_writer_is_refused_while_the_first_holds_the_file() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("b.jsonl");
        let (first, _) = Writer::open(&path, json!({ "apim_tune_backup": FORMAT })).expect("open");
        let before = std::fs::read(&path).expect("read");
        let Err(e) = Writer::open(&path, json!({ "apim_tune_backup": FORMAT })) else {
            panic!("a second writer was let in");
        };
        assert!(e.to_string().contains("another `db clean`"), "{e}");
        assert_eq!(std::fs::read(&path).expect("read"), before);
        drop(first);
        Writer::open(&path, json!({ "apim_tune_backup": FORMAT })).expect("open again");
    }

    #[test]
    fn hex_round_trips_and_refuses_odd_input() {
        let all: Vec<u8> = (0..=255).collect();
        let hex: String = all.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(super::from_hex(&hex), Some(all));
        assert_eq!(super::from_hex("abc"), None);
        assert_eq!(super::from_hex("zz"), None);
    }
}
