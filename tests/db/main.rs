//! `db`: audit, clean, backup and restore against SQLite, PostgreSQL and MariaDB.

mod backup_file;
mod cli;
mod edges;
mod hardening;
mod model;
mod oracle;
mod schedule;
#[path = "../../src/test_support/skip.rs"]
#[expect(dead_code, reason = "db's tests skip engines, never a `shared/` file")]
mod skip;
mod support;
mod tls;
