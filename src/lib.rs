//! apim-tune: audit a host and a WSO2 API Manager installation against tuning profiles.
//!
//! Data flows one way, in this order:
//! - [`source`], [`model`]: reading files under `--root`, byte spans and locations.
//! - [`host`]: machine facts, sysctl and limits readers.
//! - [`apim`]: the API-M home: version, layout, which file and key holds each setting, parsers.
//! - [`profile`]: profiles (TOML) turned into concrete expectations for these host facts.
//! - [`diag`]: what a finding is, in types: code, severity, subject, fix.
//! - [`rules`]: the rule registry, the generic expectation check and the rules that need code.
//! - [`audit`]: orchestration: sources + expectations → sorted findings, then [`waivers`] and
//!   [`baseline`] decide which of them count; [`outcome`] is what it returns.
//! - [`report`]: renderers (text, JSON, SARIF, JUnit, Markdown).
//! - [`edit`]: plans fixes onto files, renders diffs, writes atomically with backups.
//! - [`runtime_config`], [`gateway`]: the embedded gateway runtime, run with a home's current or
//!   proposed settings by `gateway` and `validate`.
//! - [`db`]: the API-M database: growth audit, batched deep-clean, backup and restore, and
//!   [`db::schedule`], the systemd/cron units or stored procedures that run the clean
//!   unattended. [`gateway`] and [`db`] are the only async code, each behind a synchronous
//!   facade (`tests/architecture.rs` holds the walls).
//! - [`cli`]: argument parsing and the commands; the only place that prints.

pub mod apim;
pub mod audit;
pub mod baseline;
pub mod cli;
pub mod clock;
pub mod db;
pub mod deployment;
pub mod diag;
pub mod edit;
pub mod exit_code;
pub mod facts;
pub mod fleet;
pub mod gateway;
pub mod host;
pub mod kube;
pub mod model;
pub mod outcome;
pub mod profile;
pub mod redact;
pub mod report;
pub mod rules;
pub mod runtime_config;
pub mod source;
#[cfg(test)]
mod test_support;
pub mod version;
pub mod waivers;
