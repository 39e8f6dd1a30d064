//! Waiver rules: a waiver that has expired, and one that matched no finding.
//!
//! `waivers.rs` reads the file and marks the findings each live waiver accepts; these rules judge
//! the waivers themselves from what it saw.

pub mod expired;
pub mod unused;

use crate::model::Location;

/// One waiver as applied in this run.
#[derive(Clone, Debug)]
pub struct WaiverUse {
    /// How the waiver names what it covers: `SYS010 on \`sysctl:x\``, `\`limits:*\``.
    pub what: String,
    pub reason: String,
    /// `YYYY-MM-DD`, when the waiver has an end date.
    pub expires: Option<String>,
    /// Today, `YYYY-MM-DD`.
    pub today: String,
    /// The waiver's `[[waiver]]` table.
    pub at: Location,
    /// How many findings it accepted (none when expired: an expired waiver is not applied).
    pub matched: usize,
}

impl WaiverUse {
    /// A waiver is live through its `expires` day.
    pub fn expired(&self) -> bool {
        self.expires
            .as_deref()
            .is_some_and(|exp| exp < self.today.as_str())
    }
}

#[cfg(test)]
mod tests;
