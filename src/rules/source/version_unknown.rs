//! SRC003 apim-version-unknown: neither carbon.xml nor the home's name says the API-M version.
//!
//! The audit goes on with the file and key names of the newest version of the home's layout.

use crate::apim::Layout;
use crate::diag::{Finding, Subject};
use crate::model::Location;
use crate::rules::{Check, Input, RuleContext};

declare_rule! {
    /// ### What it checks
    /// The API-M version could not be determined from carbon.xml, the home's name or the layout.
    /// ### Why it matters
    /// Setting names and defaults differ between versions; apim-tune falls back to the layout
    /// (deployment.toml or XML) and the newest version of that layout.
    /// ### Fix
    /// Pass `--apim-version X.Y.Z`.
    /// ### Sources
    /// - https://github.com/wso2/product-apim/releases: API-M releases and their versions
    pub(crate) static RULE = "SRC003" "apim-version-unknown" Info "the API-M version could not be detected",
    inputs: [Input::Apim],
    check: Check::Node(check),
}

pub fn check(cx: &RuleContext, out: &mut Vec<Finding>) {
    let Some(m) = cx.apim else { return };
    if m.home.version.is_some() {
        return;
    }
    let file = m.display(match m.home.layout {
        Layout::Toml => "repository/conf/deployment.toml",
        Layout::Xml => "repository/conf/carbon.xml",
    });
    out.push(
        Finding::new(
            RULE.code(),
            Subject::ApimHome {
                path: m.home.path.display().to_string(),
            },
            format!(
                "the API-M version is not in carbon.xml or the home's name; using the file and key names of {} ({} layout)",
                m.home.effective_version,
                m.home.layout.as_str()
            ),
        )
        .at(Some(Location::file_only(&file)))
        .expected("a known version")
        .why("setting names and defaults differ between versions; pass `--apim-version` to be exact"),
    );
}
