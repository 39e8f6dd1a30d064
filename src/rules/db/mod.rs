//! Database rules (`db audit`): pure functions over the facts `db/` gathered (tables and what the
//! cleanup would remove, indexes, the server, the home's cleanup settings, traces of other
//! cleanups). They never touch the database.

pub mod cleanup_disabled;
pub mod cleanup_index;
pub mod foreign_backup;
pub mod mysql_time_zone;
pub mod removable_rows;
pub mod token_audit_table;
pub mod unfinished_run;

use crate::diag::{Checked, Finding, Subject};

/// What the database rules produce: findings, and every check made (JUnit lists passes).
#[derive(Debug, Default)]
pub struct Judged {
    pub findings: Vec<Finding>,
    pub checked: Vec<Checked>,
}

impl Judged {
    fn checked(&mut self, suite: &str, subject: Subject) {
        self.checked.push(Checked {
            suite: suite.to_string(),
            subject,
        });
    }
}

#[cfg(test)]
mod tests;
