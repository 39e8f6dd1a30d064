//! The limits family, one table: given these limits.conf and limits.d lines → these findings and
//! fixes. LIM001 is the generic check over the profile's minimums; LIM002-LIM004 need code. None
//! of them judges limits.conf once a systemd unit runs API-M (the service family does).

use crate::diag::Code;
use crate::rules::testing::Node;

const DROP_IN: &str = "etc/security/limits.d/90-wso2.conf";

/// A systemd unit that runs API-M (trimmed from tests/fixtures/hosts/systemd-unit).
const UNIT: &str = "\
[Unit]
Description=WSO2 API Manager 4.2.0

[Service]
Type=forking
User=wso2carbon
ExecStart=/opt/wso2am-4.2.0/bin/api-manager.sh start
LimitNOFILE=65535
LimitNPROC=20000
";

/// The same lines, on a host where the `wso2am` unit runs API-M.
fn under_unit(node: Node) -> Node {
    node.file("etc/systemd/system/wso2am.service", UNIT)
}

#[test]
fn limits_rules() {
    let soft_above_hard = || {
        Node::new().user("wso2carbon").file(
            DROP_IN,
            "wso2carbon soft nofile 100000\nwso2carbon hard nofile 65535\n",
        )
    };
    let low_nproc = || {
        Node::new().user("wso2carbon").file(
            DROP_IN,
            "wso2carbon soft nproc 512\nwso2carbon hard nproc 800\n",
        )
    };
    let root_wildcard = || {
        Node::new().user("root").file(
            DROP_IN,
            "# every user\n* soft nofile 65535\n* hard nofile 65535\n@wso2 - nproc 20000\n",
        )
    };
    let low_nofile = || {
        Node::new().user("wso2carbon").file(
            DROP_IN,
            "wso2carbon soft nofile 1024\nwso2carbon hard nofile 65535\nwso2carbon - nproc 20000\n",
        )
    };
    let cases: Vec<(&str, Node, Code, Vec<&str>)> = vec![
        (
            "soft above hard: pam_limits clamps the soft value",
            soft_above_hard(),
            Code::LIMIT_SOFT_ABOVE_HARD,
            vec![
                "LIM002 limits:wso2carbon:nofile:soft @etc/security/limits.d/90-wso2.conf:1 100000 → <= 65535 | no fix",
            ],
        ),
        (
            "soft below hard: nothing",
            Node::new().user("wso2carbon").file(
                DROP_IN,
                "wso2carbon soft nofile 4096\nwso2carbon hard nofile 65535\n",
            ),
            Code::LIMIT_SOFT_ABOVE_HARD,
            vec![],
        ),
        (
            "soft under an unlimited hard: nothing",
            Node::new().user("wso2carbon").file(
                DROP_IN,
                "wso2carbon soft nproc 20000\nwso2carbon hard nproc unlimited\n",
            ),
            Code::LIMIT_SOFT_ABOVE_HARD,
            vec![],
        ),
        (
            "nproc below the 1024 threads of one Carbon instance: one finding, on the soft limit in effect",
            low_nproc(),
            Code::NPROC_BELOW_CARBON_THREADS,
            vec![
                "LIM003 limits:wso2carbon:nproc:soft @etc/security/limits.d/90-wso2.conf:1 512 → >= 1024 per Carbon instance | no fix",
            ],
        ),
        (
            "a soft nproc above a low hard one is clamped to it: one finding, at the hard line",
            Node::new().user("wso2carbon").file(
                DROP_IN,
                "wso2carbon soft nproc 2048\nwso2carbon hard nproc 1000\n",
            ),
            Code::NPROC_BELOW_CARBON_THREADS,
            vec![
                "LIM003 limits:wso2carbon:nproc:soft @etc/security/limits.d/90-wso2.conf:2 1000 → >= 1024 per Carbon instance | no fix",
            ],
        ),
        (
            "`-` sets both: one finding, not one per kind",
            Node::new()
                .user("wso2carbon")
                .file(DROP_IN, "wso2carbon - nproc 512\n"),
            Code::NPROC_BELOW_CARBON_THREADS,
            vec![
                "LIM003 limits:wso2carbon:nproc:soft @etc/security/limits.d/90-wso2.conf:1 512 → >= 1024 per Carbon instance | no fix",
            ],
        ),
        (
            "soft nofile below hard is what HotSpot raises at start (MaxFDLimit): not LIM002",
            Node::new().user("wso2carbon").file(
                DROP_IN,
                "wso2carbon soft nofile 1024\nwso2carbon hard nofile 65535\n",
            ),
            Code::LIMIT_SOFT_ABOVE_HARD,
            vec![],
        ),
        (
            "nproc 1024 for soft and hard: enough for one instance",
            Node::new()
                .user("wso2carbon")
                .file(DROP_IN, "wso2carbon - nproc 1024\n"),
            Code::NPROC_BELOW_CARBON_THREADS,
            vec![],
        ),
        (
            "API-M as root, only `*` and group lines: neither applies to root",
            root_wildcard(),
            Code::LIMITS_WILDCARD_SKIPS_ROOT,
            vec![
                "LIM004 limits:root:nofile @etc/security/limits.d/90-wso2.conf:2 * (not applied to root) → an explicit `root` line, or an unprivileged API-M user | no fix",
                "LIM004 limits:root:nproc @etc/security/limits.d/90-wso2.conf:4 @wso2 (not applied to root) → an explicit `root` line, or an unprivileged API-M user | no fix",
            ],
        ),
        (
            "API-M as root with explicit root lines: nothing",
            Node::new().user("root").file(
                DROP_IN,
                "* - nofile 65535\nroot - nofile 65535\n* - nproc 20000\nroot - nproc 20000\n",
            ),
            Code::LIMITS_WILDCARD_SKIPS_ROOT,
            vec![],
        ),
        (
            "`*` lines for an unprivileged user: nothing",
            Node::new()
                .user("wso2carbon")
                .file(DROP_IN, "* - nofile 65535\n* - nproc 20000\n"),
            Code::LIMITS_WILDCARD_SKIPS_ROOT,
            vec![],
        ),
        (
            "generic: a limits.d line below the profile's minimum is set in place; a low nofile \
             soft limit is not judged (HotSpot raises it to the hard one, issue 14)",
            Node::new().user("wso2carbon").file(
                DROP_IN,
                "wso2carbon soft nofile 1024\nwso2carbon hard nofile 4096\nwso2carbon - nproc 20000\n",
            ),
            Code::LIMIT_BELOW_RECOMMENDED,
            vec![
                "LIM001 limits:wso2carbon:nofile:hard @etc/security/limits.d/90-wso2.conf:2 4096 → >= 65535 | set `65535` at etc/security/limits.d/90-wso2.conf:2",
            ],
        ),
        (
            "generic: no line at all, each limit added to the drop-in",
            Node::new().user("wso2carbon"),
            Code::LIMIT_BELOW_RECOMMENDED,
            vec![
                "LIM001 limits:wso2carbon:nofile:hard @- not set → >= 65535 | add `wso2carbon hard nofile` = `65535` to etc/security/limits.d/99-zz-apim-tune.conf",
                "LIM001 limits:wso2carbon:nproc:hard @- not set → >= 20000 | add `wso2carbon hard nproc` = `20000` to etc/security/limits.d/99-zz-apim-tune.conf",
                "LIM001 limits:wso2carbon:nproc:soft @- not set → >= 20000 | add `wso2carbon soft nproc` = `20000` to etc/security/limits.d/99-zz-apim-tune.conf",
            ],
        ),
        (
            "under systemd: LIM001 does not judge limits.conf",
            under_unit(low_nofile()),
            Code::LIMIT_BELOW_RECOMMENDED,
            vec![],
        ),
        (
            "under systemd: LIM002 does not judge limits.conf",
            under_unit(soft_above_hard()),
            Code::LIMIT_SOFT_ABOVE_HARD,
            vec![],
        ),
        (
            "under systemd: LIM003 does not judge limits.conf",
            under_unit(low_nproc()),
            Code::NPROC_BELOW_CARBON_THREADS,
            vec![],
        ),
        (
            "under systemd: LIM004 does not judge limits.conf",
            under_unit(root_wildcard()),
            Code::LIMITS_WILDCARD_SKIPS_ROOT,
            vec![],
        ),
    ];
    for (what, node, code, want) in cases {
        assert_eq!(node.findings(code), want, "{what}");
    }
}
