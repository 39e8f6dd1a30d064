//! WAV002 waiver-unused: a live waiver that matched no finding, like an unused suppression.

use super::WaiverUse;
use crate::diag::{Finding, Subject};
use crate::rules::{Check, Input};

declare_rule! {
    /// ### What it checks
    /// A waiver that matched no finding in this run.
    /// ### Why it matters
    /// Like an unused suppression, it hides nothing today but would silently hide a future
    /// regression of the same kind.
    /// ### Fix
    /// Remove the waiver, or correct its `code`/`subject`.
    /// ### Sources
    /// - https://docs.oasis-open.org/sarif/sarif/v2.1.0/sarif-v2.1.0.html: suppressions, how waived findings are reported
    pub(crate) static RULE = "WAV002" "waiver-unused" Info "a waiver matched no finding",
    inputs: [Input::Waivers],
    check: Check::Waivers(check),
}

pub fn check(w: &WaiverUse, out: &mut Vec<Finding>) {
    if w.expired() || w.matched > 0 {
        return;
    }
    let what = &w.what;
    out.push(
        Finding::new(
            RULE.code(),
            Subject::Waiver { what: what.clone() },
            format!("the waiver for {what} matched no finding"),
        )
        .at(Some(w.at.clone()))
        .why("an unused waiver hides nothing today but would hide a future regression of the same kind"),
    );
}
