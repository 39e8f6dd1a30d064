//! JVM015 jdk-not-supported-by-apim: the JDK in effect is outside the range the API-M release
//! supports.
//!
//! The range comes from the start script's own check when it has one (every shipped script does:
//! "[ERROR] CARBON is supported only between JDK 11 and JDK 17"), else from [`SHIPPED`], the
//! ranges of the released scripts. A corpus test checks each row against the shipped script of
//! that release, so the table states nothing the scripts do not.

use super::script_name;
use crate::apim::jdk_support::{self, JdkRange};
use crate::diag::{Finding, Subject};
use crate::rules::{Check, Input, RuleContext};
use crate::version::Version;

declare_rule! {
    /// ### What it checks
    /// The JDK in effect (from `--java-version`, `--java-home`, `$JAVA_HOME`, the unit's
    /// `JAVA_HOME` or the running JVM) against the JDKs the API-M release supports, as its start
    /// script checks them (or, for a script without the check, as the release's script does).
    /// ### Why it matters
    /// The script only prints "[ERROR] CARBON is supported only …" and starts anyway; on a JDK
    /// the release was never built for, API-M fails later, at start-up (removed options, the
    /// endorsed-directories mechanism) or at run time.
    /// ### Fix
    /// Run API-M on a JDK the release supports (`JAVA_HOME` in the unit or the environment), or
    /// upgrade API-M to a release that supports this JDK.
    /// ### Sources
    /// - verified-facts, the 4.2.0 start script accepts JDK 11 to 17
    pub(crate) static RULE = "JVM015" "jdk-not-supported-by-apim" Error "the JDK in effect is outside what the API-M release supports",
    inputs: [Input::Host, Input::Jvm, Input::Apim],
    check: Check::Node(check),
}

/// The JDK range of each released script (major, minor, patch, min JDK, max JDK).
pub const SHIPPED: &[(u32, u32, u32, u32, u32)] = &[
    (1, 10, 0, 7, 8),
    (2, 1, 0, 7, 8),
    (2, 6, 0, 7, 8),
    (3, 2, 0, 7, 11),
    (4, 2, 0, 11, 17),
    (4, 3, 0, 11, 21),
];

/// The range of the released script of `v`, when the table has that release.
pub fn shipped_range(v: Version) -> Option<(u32, u32)> {
    SHIPPED
        .iter()
        .find(|(a, b, c, _, _)| Version::new(*a, *b, *c) == v)
        .map(|(_, _, _, min, max)| (*min, *max))
}

pub fn check(cx: &RuleContext, out: &mut Vec<Finding>) {
    let (Some(apim), Some(opts)) = (cx.apim, cx.script()) else {
        return;
    };
    // Unknown stays unknown: without the JDK in effect nothing is claimed.
    let Some(java) = cx.facts.java.as_ref() else {
        return;
    };
    let version = apim.home.effective_version;
    let (min, max, from, at) = match jdk_support::from_script(&opts.file) {
        Some(JdkRange { min, max, at }) => (min, max, format!("the check at {at}"), Some(at)),
        None => match shipped_range(version) {
            Some((min, max)) => (
                min,
                max,
                format!("the script API-M {version} ships (this one has no check)"),
                None,
            ),
            None => return,
        },
    };
    if (min..=max).contains(&java.value) {
        return;
    }
    let jdk = java.value;
    let range = if min == max {
        format!("JDK {min}")
    } else {
        format!("JDK {min} to {max}")
    };
    out.push(
        Finding::new(
            RULE.code(),
            Subject::jvm(script_name(&opts.file), "JDK"),
            format!(
                "`java` is JDK {jdk}, which API-M {version} does not support: it runs on {range}"
            ),
        )
        .at(at.or_else(|| Some(opts.file.whole())))
        .current(format!("JDK {jdk}"))
        .expected(range)
        .why("the start script only warns and starts anyway; a JDK the release was not built for fails at start-up or later")
        .see(format!("verified-facts, {from}"))
        .note(format!("JDK {jdk} from {}", java.source)),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SourceFile;

    /// Each row of the table is the range the shipped script of that release checks.
    #[test]
    fn the_table_is_what_the_shipped_scripts_say() {
        let Some(root) = crate::test_support::shared("fixtures/wso2") else {
            return;
        };
        for &(a, b, c, min, max) in SHIPPED {
            let home = root.join(format!("apim-{a}.{b}.{c}/bin"));
            let script = ["api-manager.sh", "wso2server.sh"]
                .iter()
                .map(|n| home.join(n))
                .find(|p| p.is_file())
                .unwrap_or_else(|| panic!("no start script in {}", home.display()));
            let text = std::fs::read_to_string(&script).expect("read");
            let f = SourceFile::new(script.clone(), "s.sh".into(), text);
            let got = jdk_support::from_script(&f).map(|r| (r.min, r.max));
            assert_eq!(got, Some((min, max)), "{}", script.display());
        }
    }
}
