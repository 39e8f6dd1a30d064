//! What a renderer can render: the finding model every report shares, plus the context that
//! differs between them (a host audit's facts, a database audit's target and tables).
//!
//! It only exposes data; the layout of each context stays in the renderer that prints it.

use crate::db::model::DbAuditReport;
use crate::diag::Checked;
use crate::diag::{Finding, Severity};
use crate::model::ShownPaths;
use crate::outcome::{AuditReport, FleetReport};

/// Names as stored, for reports of no one host (a database's, a deployment's).
/// Names as stored: every report but a host audit, and the parts of a report that quote another
/// node's names.
pub(super) static STORED: ShownPaths = ShownPaths::as_stored();

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
    /// `apim-tune fleet merge`: the nodes, each with its own audit inside, and the
    /// deployment-wide findings (which are the report's [`Renderable::findings`]).
    Fleet(&'a FleetReport),
}

impl<'a> Context<'a> {
    /// How to name files to the reader: a host audit's presenter; names as stored otherwise.
    pub fn paths(self) -> &'a ShownPaths {
        match self {
            Context::Audit(a) => &a.paths,
            Context::Db(_) | Context::Fleet(_) => &STORED,
        }
    }
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

    /// How to name files to the reader: see [`Context::paths`].
    fn paths(&self) -> &ShownPaths {
        self.context().paths()
    }

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

    /// Whether any finding that is not waived is at or above `threshold` (`None` = never fail).
    fn fails(&self, threshold: Option<Severity>) -> bool {
        threshold.is_some_and(|t| {
            self.findings()
                .iter()
                .any(|f| f.severity >= t && f.waived.is_none())
        })
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

/// The deployment findings are `findings()`; the counts and the verdict also take in every
/// node's own findings (each host's once), since `--fail-on` asks about the whole deployment.
impl Renderable for FleetReport {
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
        Context::Fleet(self)
    }

    fn count(&self, s: Severity) -> usize {
        super::fleet::View::of(self).count(s)
    }

    fn waived(&self) -> usize {
        super::fleet::View::of(self).waived()
    }

    fn fails(&self, threshold: Option<Severity>) -> bool {
        // The node findings live in each export's embedded report: they are parsed (every
        // report of the deployment) only when no deployment finding already decides.
        threshold.is_some_and(|t| {
            self.findings
                .iter()
                .any(|f| f.severity >= t && f.waived.is_none())
                || super::fleet::View::of(self).fails(Some(t))
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::report::{RenderOptions, db_sample, html, json, junit, markdown, sarif, text};

    /// The target is masked before it reaches a report; no renderer may add back what the
    /// mask took out (say, by re-reading a field the mask does not cover).
    #[test]
    fn a_masked_target_leaks_no_password_in_any_format() {
        let r = db_sample::report();
        assert!(db_sample::URL.contains("s3cret"));
        let o = RenderOptions::default();
        for (format, out) in [
            ("text", text::render(&r)),
            ("json", json::render(&r)),
            ("sarif", sarif::render(&r, &o)),
            ("junit", junit::render(&r, &o)),
            ("markdown", markdown::render(&r, &o)),
            ("html", html::render(&r, &o)),
        ] {
            assert!(
                !out.contains("s3cret"),
                "{format} leaks the password:\n{out}"
            );
            // Proves the target was rendered at all, so the check above means something.
            assert!(
                out.contains("postgres://apim:****@db.example:5432/apim_db"),
                "{format} does not show the target:\n{out}"
            );
        }
    }
}
