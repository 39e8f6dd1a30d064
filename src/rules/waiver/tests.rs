//! The waiver family, one table: given this waivers file and these findings → these WAV
//! findings. Dates come from the clock: expired waivers are in 2001, live ones in 2999, and the
//! date WAV001 asks for (today) reads `<today>`.

use crate::diag::Code;
use crate::rules::testing::Node;

/// A node with one SYS010 finding (`sysctl:net.ipv4.tcp_tw_recycle`) for waivers to match.
fn tw_recycle() -> Node {
    Node::new()
        .kernel("4.9.0-19-amd64")
        .file("etc/sysctl.conf", "net.ipv4.tcp_tw_recycle = 1\n")
        .live("net.ipv4.tcp_tw_recycle", "1")
}

const EXPIRED: &str =
    "[[waiver]]\ncode = \"SYS010\"\nreason = \"legacy load balancer\"\nexpires = 2001-01-31\n";
const LIVE: &str =
    "[[waiver]]\ncode = \"SYS010\"\nreason = \"legacy load balancer\"\nexpires = 2999-12-31\n";

#[test]
fn waiver_rules() {
    let cases: Vec<(&str, Node, Code, Vec<&str>)> = vec![
        (
            "a waiver past its date: reported at its `[[waiver]]` table",
            tw_recycle().waivers(EXPIRED),
            Code::WAIVER_EXPIRED,
            vec![
                "WAV001 waiver:SYS010 @<root>/apim-tune.waivers.toml:1 expires 2001-01-31 → a date on or after <today>, or no waiver | no fix",
            ],
        ),
        (
            "an expired waiver is not applied, so it is not also unused",
            tw_recycle().waivers(EXPIRED),
            Code::WAIVER_UNUSED,
            vec![],
        ),
        (
            "a waiver before its date: not expired",
            tw_recycle().waivers(LIVE),
            Code::WAIVER_EXPIRED,
            vec![],
        ),
        (
            "a live waiver that matched its finding: not unused",
            tw_recycle().waivers(LIVE),
            Code::WAIVER_UNUSED,
            vec![],
        ),
        (
            "a waiver by subject pattern that matched: not unused",
            tw_recycle().waivers(
                "[[waiver]]\nsubject = \"sysctl:net.ipv4.tcp_tw_*\"\nreason = \"legacy load balancer\"\n",
            ),
            Code::WAIVER_UNUSED,
            vec![],
        ),
        (
            "a waiver by code and subject that matched nothing",
            tw_recycle().waivers(
                "# accepted deviations\n\n[[waiver]]\ncode = \"JVM010\"\nsubject = \"api-manager.sh:-XX:MaxPermSize\"\nreason = \"JDK 8 only\"\n",
            ),
            Code::WAIVER_UNUSED,
            vec![
                "WAV002 waiver:JVM010 on `api-manager.sh:-XX:MaxPermSize` @<root>/apim-tune.waivers.toml:3 - → - | no fix",
            ],
        ),
        (
            "a waiver by subject pattern that matched nothing (no API-M home audited)",
            tw_recycle().waivers(
                "[[waiver]]\nsubject = \"deployment.toml:*\"\nreason = \"managed by the platform team\"\n",
            ),
            Code::WAIVER_UNUSED,
            vec![
                "WAV002 waiver:`deployment.toml:*` @<root>/apim-tune.waivers.toml:1 - → - | no fix",
            ],
        ),
        (
            "two waivers, the second unused",
            tw_recycle().waivers(&format!(
                "{LIVE}\n[[waiver]]\ncode = \"SYS011\"\nreason = \"old kernels only\"\n"
            )),
            Code::WAIVER_UNUSED,
            vec!["WAV002 waiver:SYS011 @<root>/apim-tune.waivers.toml:6 - → - | no fix"],
        ),
    ];
    let today = crate::clock::today();
    for (what, node, code, want) in cases {
        let got: Vec<String> = node
            .findings(code)
            .iter()
            .map(|l| l.replace(&today, "<today>"))
            .collect();
        assert_eq!(got, want, "{what}");
    }
}
