//! The generic expectation check, one table: which code a setting gets for each outcome of its
//! comparison with the profile (kernel parameters here; every family maps outcomes the same
//! way), and that `unlimited` satisfies any minimum of a limit.

use crate::diag::Code;
use crate::rules::testing::Node;

const DROP_IN: &str = "etc/sysctl.d/90-apim.conf";

/// A site profile on top of all-in-one where `net.ipv4.tcp_timestamps` must not be set.
const NO_TIMESTAMPS: &str = r#"[meta]
name = "site"
summary = "all-in-one, and timestamps left to the image"
extends = "all-in-one"

[sysctl."net.ipv4.tcp_timestamps"]
absent = true
why = "set by the image, not by hand"
"#;

/// Every kernel parameter of the profile at its recommended value.
const TUNED: &str = "\
fs.file-max = 2097152
net.ipv4.tcp_fin_timeout = 30
net.ipv4.tcp_tw_reuse = 1
net.core.rmem_default = 524288
net.core.wmem_default = 524288
net.core.rmem_max = 67108864
net.core.wmem_max = 67108864
net.ipv4.tcp_rmem = 4096 87380 16777216
net.ipv4.tcp_wmem = 4096 65536 16777216
net.ipv4.ip_local_port_range = 10000 65535
net.core.somaxconn = 4096
";

/// `key = value` in a drop-in, and live.
fn set(key: &str, value: &str) -> Node {
    Node::new()
        .file(DROP_IN, &format!("{key} = {value}\n"))
        .live(key, value)
}

/// An image (no `proc/sys`, so no live value to fall back on) tuned but for `key`.
fn image_without(key: &str) -> Node {
    let lines: String = TUNED
        .lines()
        .filter(|l| !l.starts_with(&format!("{key} ")))
        .map(|l| format!("{l}\n"))
        .collect();
    Node::new().no_proc_sys().file(DROP_IN, &lines)
}

/// A limits.d file for the API-M user.
fn limits(text: &str) -> Node {
    Node::new()
        .user("wso2carbon")
        .file("etc/security/limits.d/90-wso2.conf", text)
}

#[test]
fn expectation_codes() {
    let cases: Vec<(&str, Node, Code, Vec<&str>)> = vec![
        (
            "below a minimum: SYS001, raised in place",
            set("net.core.somaxconn", "1024"),
            Code::SYSCTL_BELOW_RECOMMENDED,
            vec![
                "SYS001 sysctl:net.core.somaxconn @etc/sysctl.d/90-apim.conf:1 1024 → >= 4096 | set `4096` at etc/sysctl.d/90-apim.conf:1",
            ],
        ),
        (
            "a list below its minimum in one place: SYS001",
            set("net.ipv4.tcp_rmem", "4096 87380 6291456"),
            Code::SYSCTL_BELOW_RECOMMENDED,
            vec![
                "SYS001 sysctl:net.ipv4.tcp_rmem @etc/sysctl.d/90-apim.conf:1 4096 87380 6291456 → >= 4096 87380 16777216 | set `4096 87380 16777216` at etc/sysctl.d/90-apim.conf:1",
            ],
        ),
        (
            "above a minimum only: nothing",
            set("net.ipv4.tcp_rmem", "4096 87380 33554432"),
            Code::SYSCTL_BELOW_RECOMMENDED,
            vec![],
        ),
        (
            "above a maximum: SYS002, lowered in place",
            set("net.ipv4.tcp_fin_timeout", "60"),
            Code::SYSCTL_ABOVE_RECOMMENDED,
            vec![
                "SYS002 sysctl:net.ipv4.tcp_fin_timeout @etc/sysctl.d/90-apim.conf:1 60 → <= 30 | set `30` at etc/sysctl.d/90-apim.conf:1",
            ],
        ),
        (
            "not the value required: SYS003, a manual fix (the entry's `manual-fix`: some backends reset reused connections)",
            set("net.ipv4.tcp_tw_reuse", "2"),
            Code::SYSCTL_NOT_RECOMMENDED,
            vec![
                "SYS003 sysctl:net.ipv4.tcp_tw_reuse @etc/sysctl.d/90-apim.conf:1 2 → 1 | no fix",
            ],
        ),
        (
            "not a number under a minimum: SYS003, left to a person",
            set("net.core.somaxconn", "lots"),
            Code::SYSCTL_NOT_RECOMMENDED,
            vec![
                "SYS003 sysctl:net.core.somaxconn @etc/sysctl.d/90-apim.conf:1 lots → >= 4096 | no fix",
            ],
        ),
        (
            "missing under a minimum: SYS001, added to the drop-in",
            image_without("net.core.somaxconn"),
            Code::SYSCTL_BELOW_RECOMMENDED,
            vec![
                "SYS001 sysctl:net.core.somaxconn @- not set → >= 4096 | add `net.core.somaxconn` = `4096` to etc/sysctl.d/99-zz-apim-tune.conf",
            ],
        ),
        (
            "missing where a value is required: SYS003 (a site profile that wants it applied)",
            image_without("net.ipv4.tcp_tw_reuse").profile(
                "[meta]\nname = \"site\"\nsummary = \"s\"\nextends = \"all-in-one\"\n\n[sysctl.\"net.ipv4.tcp_tw_reuse\"]\neq = 1\nwhy = \"our backends cope\"\n",
            ),
            Code::SYSCTL_NOT_RECOMMENDED,
            vec![
                "SYS003 sysctl:net.ipv4.tcp_tw_reuse @- not set → 1 | add `net.ipv4.tcp_tw_reuse` = `1` to etc/sysctl.d/99-zz-apim-tune.conf",
            ],
        ),
        (
            "missing under a maximum only: SYS003, the maximum added",
            image_without("net.ipv4.tcp_fin_timeout"),
            Code::SYSCTL_NOT_RECOMMENDED,
            vec![
                "SYS003 sysctl:net.ipv4.tcp_fin_timeout @- not set → <= 30 | add `net.ipv4.tcp_fin_timeout` = `30` to etc/sysctl.d/99-zz-apim-tune.conf",
            ],
        ),
        (
            "every parameter as recommended: no SYS001",
            image_without("nothing"),
            Code::SYSCTL_BELOW_RECOMMENDED,
            vec![],
        ),
        (
            "set where it must not be: SYS004, the line commented out",
            set("net.ipv4.tcp_timestamps", "1").profile(NO_TIMESTAMPS),
            Code::SYSCTL_SHOULD_BE_ABSENT,
            vec![
                "SYS004 sysctl:net.ipv4.tcp_timestamps @etc/sysctl.d/90-apim.conf:1 1 → absent | comment out etc/sysctl.d/90-apim.conf:1",
            ],
        ),
        (
            "live only where it must not be set: SYS004, no line to change",
            Node::new()
                .live("net.ipv4.tcp_timestamps", "1")
                .profile(NO_TIMESTAMPS),
            Code::SYSCTL_SHOULD_BE_ABSENT,
            vec!["SYS004 sysctl:net.ipv4.tcp_timestamps @- 1 → absent | no fix"],
        ),
        (
            "limits: `unlimited` and `infinity` satisfy any minimum",
            limits(
                "wso2carbon - nofile 65535\nwso2carbon soft nproc unlimited\nwso2carbon hard nproc infinity\n",
            ),
            Code::LIMIT_BELOW_RECOMMENDED,
            vec![],
        ),
        (
            "limits: `-1` too",
            limits("wso2carbon - nofile 65535\nwso2carbon - nproc -1\n"),
            Code::LIMIT_BELOW_RECOMMENDED,
            vec![],
        ),
        (
            "limits: a `*` line applies to the API-M user; a number below the minimum is LIM001",
            limits("* - nofile 65535\n* soft nproc 1024\n* hard nproc unlimited\n"),
            Code::LIMIT_BELOW_RECOMMENDED,
            vec![
                "LIM001 limits:wso2carbon:nproc:soft @etc/security/limits.d/90-wso2.conf:2 1024 → >= 20000 | set `20000` at etc/security/limits.d/90-wso2.conf:2",
            ],
        ),
    ];
    for (what, node, code, want) in cases {
        assert_eq!(node.findings(code), want, "{what}");
    }
}

/// A fix to a list value (`tcp_rmem`) raises what is below the profile and keeps what the
/// kernel set higher; in an image with no live value nothing safe can be written.
#[test]
fn list_fixes_never_lower_an_element_the_kernel_set() {
    let rmem = |n: Node| {
        n.findings(Code::SYSCTL_BELOW_RECOMMENDED)
            .into_iter()
            .filter(|f| f.contains("tcp_rmem"))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        rmem(Node::new().live("net.ipv4.tcp_rmem", "4096\t131072\t6291456")),
        vec![
            "SYS001 sysctl:net.ipv4.tcp_rmem @- 4096 131072 6291456 → >= 4096 87380 16777216 | add `net.ipv4.tcp_rmem` = `4096 131072 16777216` to etc/sysctl.d/99-zz-apim-tune.conf"
        ]
    );
    assert_eq!(
        rmem(Node::new().no_proc_sys()),
        vec!["SYS001 sysctl:net.ipv4.tcp_rmem @- not set → >= 4096 87380 16777216 | no fix"]
    );
}
