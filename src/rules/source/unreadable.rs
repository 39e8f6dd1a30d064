//! SRC001 source-unreadable: a configuration file exists but cannot be read.

use crate::diag::Finding;
use crate::model::ProblemKind;
use crate::rules::{Check, Input, RuleContext};

declare_rule! {
    /// ### What it checks
    /// A configuration file exists but cannot be read: permissions, not UTF-8, a directory where a
    /// file was expected, a dangling symbolic link.
    /// ### Why it matters
    /// The settings in it were not audited; the audit goes on with the other files.
    /// ### Fix
    /// Make the file readable by the user running apim-tune, or fix the link.
    /// ### Sources
    /// - https://man7.org/linux/man-pages/man2/open.2.html: EACCES and friends, why a file cannot be read
    pub(crate) static RULE = "SRC001" "source-unreadable" Warning "a configuration file exists but cannot be read",
    inputs: [Input::SourceProblems],
    check: Check::Node(check),
}

pub fn check(cx: &RuleContext, out: &mut Vec<Finding>) {
    super::findings(
        cx.problems,
        ProblemKind::Unreadable,
        RULE.code(),
        "the settings in this file were not audited",
        out,
    );
}
