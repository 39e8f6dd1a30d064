//! `db`: audit, clean, backup and restore against SQLite, PostgreSQL and MariaDB.

mod cli;
mod model;
mod oracle;
mod schedule;
mod support;
