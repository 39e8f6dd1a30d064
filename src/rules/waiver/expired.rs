//! WAV001 waiver-expired: a waiver whose `expires` date has passed; its findings count again.

use super::WaiverUse;
use crate::diag::{Finding, Subject};
use crate::rules::{Check, Input};

declare_rule! {
    /// ### What it checks
    /// A waiver in the waivers file whose `expires` date has passed.
    /// ### Why it matters
    /// An accepted deviation was meant to be temporary; the findings it covered count again.
    /// ### Fix
    /// Fix the findings, or renew the waiver with a new `expires` and a reason that still holds.
    /// ### Sources
    /// - https://docs.oasis-open.org/sarif/sarif/v2.1.0/sarif-v2.1.0.html: suppressions, how waived findings are reported
    pub(crate) static RULE = "WAV001" "waiver-expired" Warning "a waiver has expired and no longer applies",
    inputs: [Input::Waivers],
    check: Check::Waivers(check),
}

pub fn check(w: &WaiverUse, out: &mut Vec<Finding>) {
    let (Some(exp), true) = (&w.expires, w.expired()) else {
        return;
    };
    let what = &w.what;
    out.push(
        Finding::new(
            RULE.code(),
            Subject::Waiver { what: what.clone() },
            format!("the waiver for {what} expired on {exp}; its findings count again"),
        )
        .at(Some(w.at.clone()))
        .current(format!("expires {exp}"))
        .expected(format!("a date on or after {}, or no waiver", w.today))
        .why(format!("waived because: {}", w.reason)),
    );
}
