//! SRC002 source-unparseable: a configuration file with a syntax error, at file:line:column.

use crate::diag::Finding;
use crate::model::ProblemKind;
use crate::rules::{Check, Input, RuleContext};

declare_rule! {
    /// ### What it checks
    /// A configuration file whose syntax is wrong (XML, TOML, JSON, properties, sysctl or limits
    /// lines), reported with file:line:column.
    /// ### Why it matters
    /// API-M or the OS may refuse the file or silently ignore the broken part.
    /// ### Fix
    /// Correct the syntax at the reported position.
    /// ### Sources
    /// - https://toml.io/en/v1.0.0: deployment.toml syntax
    /// - https://www.w3.org/TR/xml/: well-formed XML (the 1.x/2.x files)
    pub(crate) static RULE = "SRC002" "source-unparseable" Error "a configuration file has a syntax error",
    inputs: [Input::SourceProblems],
    check: Check::Node(check),
}

pub fn check(cx: &RuleContext, out: &mut Vec<Finding>) {
    super::findings(
        cx.problems,
        ProblemKind::Unparseable,
        RULE.code(),
        "the program that reads this file may refuse it or ignore the broken part; its settings were not audited",
        out,
    );
}
