//! What a renderer can render: the finding model every report shares, plus the context that
//! differs between them (a host audit's facts, a database audit's target and tables).
//!
//! It only exposes data; the layout of each context stays in the renderer that prints it.

use crate::audit::{AuditReport, Checked};
use crate::db::model::DbAuditReport;
use crate::finding::{Finding, Severity};

/// The part of a report a renderer lays out differently per command.
///
/// A closed enum rather than one hook per format on [`Renderable`]: each renderer keeps its
/// whole layout in its own file, and a new kind of report makes every renderer's `match` fail
/// to compile until it says how to show it.
#[derive(Clone, Copy, Debug)]
pub enum Context<'a> {
    /// `apim-tune audit`: host facts, the API-M home and the profile.
    Audit(&'a AuditReport),
    /// `apim-tune db audit`: the database, its schema and per-table figures.
    Db(&'a DbAuditReport),
}

/// A report the renderers in `report/` accept: findings, checks and notes in the audit's
/// finding model, and a [`Context`] for the rest.
pub trait Renderable {
    /// In report order.
    fn findings(&self) -> &[Finding];
    /// Every check made, passing or not (JUnit lists the passes).
    fn checked(&self) -> &[Checked];
    /// Things the reader should know that are not findings.
    fn notes(&self) -> &[String];
    fn context(&self) -> Context<'_>;

    /// Findings of this severity that count (not waived).
    fn count(&self, s: Severity) -> usize {
        self.findings()
            .iter()
            .filter(|f| f.severity == s && f.waived.is_none())
            .count()
    }

    fn waived(&self) -> usize {
        self.findings()
            .iter()
            .filter(|f| f.waived.is_some())
            .count()
    }
}

impl Renderable for AuditReport {
    fn findings(&self) -> &[Finding] {
        &self.findings
    }

    fn checked(&self) -> &[Checked] {
        &self.checked
    }

    fn notes(&self) -> &[String] {
        &self.notes
    }

    fn context(&self) -> Context<'_> {
        Context::Audit(self)
    }
}

impl Renderable for DbAuditReport {
    fn findings(&self) -> &[Finding] {
        &self.findings
    }

    fn checked(&self) -> &[Checked] {
        &self.checked
    }

    fn notes(&self) -> &[String] {
        &self.notes
    }

    fn context(&self) -> Context<'_> {
        Context::Db(self)
    }
}
