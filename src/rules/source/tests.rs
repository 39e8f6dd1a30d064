//! The source family, two tables over the same kind of fixtures: the finding lines (which file,
//! which line), and the messages, which carry what the lines cannot: the column of a syntax
//! error and why a file could not be read.

use crate::diag::Code;
use crate::rules::testing::Node;

const TOML: &str = "opt/wso2am-4.2.0/repository/conf/deployment.toml";

/// An API-M 4.2.0 home with this deployment.toml.
fn modern(toml: &str) -> Node {
    Node::new().file(TOML, toml).home("opt/wso2am-4.2.0")
}

/// A home whose version is neither in carbon.xml nor in its name (`opt/apim`).
fn unversioned(rel: &str, text: &str) -> Node {
    Node::new()
        .file(&format!("opt/apim/repository/conf/{rel}"), text)
        .home("opt/apim")
}

#[test]
fn source_rules() {
    let cases: Vec<(&str, Node, Code, Vec<&str>)> = vec![
        (
            "a directory where sysctl.conf is expected",
            Node::new().dir("etc/sysctl.conf"),
            Code::SOURCE_UNREADABLE,
            vec!["SRC001 file:etc/sysctl.conf @etc/sysctl.conf - → - | no fix"],
        ),
        (
            "a directory where limits.conf is expected",
            Node::new().dir("etc/security/limits.conf"),
            Code::SOURCE_UNREADABLE,
            vec!["SRC001 file:etc/security/limits.conf @etc/security/limits.conf - → - | no fix"],
        ),
        (
            "a sysctl.d file that is not UTF-8",
            Node::new().bytes(
                "etc/sysctl.d/90-apim.conf",
                b"# caf\xe9\nnet.core.somaxconn = 4096\n",
            ),
            Code::SOURCE_UNREADABLE,
            vec!["SRC001 file:etc/sysctl.d/90-apim.conf @etc/sysctl.d/90-apim.conf - → - | no fix"],
        ),
        (
            "a directory where deployment.toml is expected",
            Node::new().dir(TOML).home("opt/wso2am-4.2.0"),
            Code::SOURCE_UNREADABLE,
            vec![
                "SRC001 file:opt/wso2am-4.2.0/repository/conf/deployment.toml @opt/wso2am-4.2.0/repository/conf/deployment.toml - → - | no fix",
            ],
        ),
        (
            "deployment.toml linked to a file missing under the root",
            Node::new()
                .dir("opt/wso2am-4.2.0/repository/conf")
                .link(TOML, "/etc/apim/deployment.toml")
                .home("opt/wso2am-4.2.0"),
            Code::SOURCE_UNREADABLE,
            vec![
                "SRC001 file:opt/wso2am-4.2.0/repository/conf/deployment.toml @opt/wso2am-4.2.0/repository/conf/deployment.toml - → - | no fix",
            ],
        ),
        (
            "a sysctl.d line without `=`",
            Node::new().file(
                "etc/sysctl.d/90-apim.conf",
                "# tuning\nnet.core.somaxconn 4096\n",
            ),
            Code::SOURCE_UNPARSEABLE,
            vec!["SRC002 file:etc/sysctl.d/90-apim.conf @etc/sysctl.d/90-apim.conf:2 - → - | no fix"],
        ),
        (
            "a limits.d line without its value",
            Node::new().file(
                "etc/security/limits.d/90-wso2.conf",
                "wso2carbon soft nofile\n",
            ),
            Code::SOURCE_UNPARSEABLE,
            vec![
                "SRC002 file:etc/security/limits.d/90-wso2.conf @etc/security/limits.d/90-wso2.conf:1 - → - | no fix",
            ],
        ),
        (
            "deployment.toml with an unterminated string",
            modern("[server]\nhostname = \"localhost\n"),
            Code::SOURCE_UNPARSEABLE,
            vec![
                "SRC002 file:opt/wso2am-4.2.0/repository/conf/deployment.toml @opt/wso2am-4.2.0/repository/conf/deployment.toml:2 - → - | no fix",
            ],
        ),
        (
            "api-manager.xml with an unclosed element",
            Node::new()
                .file(
                    "opt/wso2am-2.6.0/repository/conf/api-manager.xml",
                    "<APIManager>\n  <CacheConfigurations>\n</APIManager>\n",
                )
                .home("opt/wso2am-2.6.0"),
            Code::SOURCE_UNPARSEABLE,
            vec![
                "SRC002 file:opt/wso2am-2.6.0/repository/conf/api-manager.xml @opt/wso2am-2.6.0/repository/conf/api-manager.xml:3 - → - | no fix",
            ],
        ),
        (
            "a unit's LimitNOFILE that systemd rejects",
            Node::new().file(
                "etc/systemd/system/wso2am.service",
                "[Service]\nExecStart=/opt/wso2am-4.2.0/bin/api-manager.sh start\nLimitNOFILE=lots\n",
            ),
            Code::SOURCE_UNPARSEABLE,
            vec![
                "SRC002 file:etc/systemd/system/wso2am.service @etc/systemd/system/wso2am.service:3 - → - | no fix",
            ],
        ),
        // The SRC003 finding itself is in the messages table below.
        (
            "the version in carbon.xml: nothing",
            unversioned(
                "carbon.xml",
                "<Server>\n  <Version>2.6.0</Version>\n</Server>\n",
            ),
            Code::APIM_VERSION_UNKNOWN,
            vec![],
        ),
        (
            "the version in the home's name: nothing",
            modern("[server]\nhostname = \"localhost\"\n"),
            Code::APIM_VERSION_UNKNOWN,
            vec![],
        ),
    ];
    for (what, node, code, want) in cases {
        assert_eq!(node.findings(code), want, "{what}");
    }
}

#[test]
fn source_messages() {
    let cases: Vec<(&str, Node, Code, Vec<&str>)> = vec![
        (
            "a directory",
            Node::new().dir("etc/sysctl.conf"),
            Code::SOURCE_UNREADABLE,
            vec!["etc/sysctl.conf: is a directory, expected a file"],
        ),
        (
            "not UTF-8, with the offset of the first bad byte",
            Node::new().bytes(
                "etc/sysctl.d/90-apim.conf",
                b"# caf\xe9\nnet.core.somaxconn = 4096\n",
            ),
            Code::SOURCE_UNREADABLE,
            vec!["etc/sysctl.d/90-apim.conf: not valid UTF-8 (first bad byte at offset 5)"],
        ),
        (
            "a home file linked to a file missing under the root",
            Node::new()
                .dir("opt/wso2am-4.2.0/repository/conf")
                .link(TOML, "/etc/apim/deployment.toml")
                .home("opt/wso2am-4.2.0"),
            Code::SOURCE_UNREADABLE,
            vec![
                "opt/wso2am-4.2.0/repository/conf/deployment.toml: dangling symbolic link (resolved inside --root)",
            ],
        ),
        (
            "sysctl.d: the line, column 1",
            Node::new().file(
                "etc/sysctl.d/90-apim.conf",
                "# tuning\nnet.core.somaxconn 4096\n",
            ),
            Code::SOURCE_UNPARSEABLE,
            vec!["etc/sysctl.d/90-apim.conf:2:1: expected `key = value`"],
        ),
        (
            "limits.d: the line and how many fields",
            Node::new().file(
                "etc/security/limits.d/90-wso2.conf",
                "wso2carbon soft nofile\n",
            ),
            Code::SOURCE_UNPARSEABLE,
            vec![
                "etc/security/limits.d/90-wso2.conf:1:1: expected `<domain> <type> <item> <value>`, found 3 fields",
            ],
        ),
        (
            "deployment.toml: the string ends at the end of line 2",
            modern("[server]\nhostname = \"localhost\n"),
            Code::SOURCE_UNPARSEABLE,
            vec![
                "opt/wso2am-4.2.0/repository/conf/deployment.toml:2:22: invalid basic string, expected `\"`",
            ],
        ),
        (
            "deployment.toml: an unclosed table header",
            modern("[server\nhostname = \"localhost\"\n"),
            Code::SOURCE_UNPARSEABLE,
            vec![
                "opt/wso2am-4.2.0/repository/conf/deployment.toml:1:8: unclosed table, expected `]`",
            ],
        ),
        (
            "api-manager.xml: the end tag that does not match",
            Node::new()
                .file(
                    "opt/wso2am-2.6.0/repository/conf/api-manager.xml",
                    "<APIManager>\n  <CacheConfigurations>\n</APIManager>\n",
                )
                .home("opt/wso2am-2.6.0"),
            Code::SOURCE_UNPARSEABLE,
            vec![
                "opt/wso2am-2.6.0/repository/conf/api-manager.xml:3:1: end tag `</APIManager>` does not match start tag `<CacheConfigurations>`",
            ],
        ),
        (
            "a systemd unit: the value's column",
            Node::new().file(
                "etc/systemd/system/wso2am.service",
                "[Service]\nExecStart=/opt/wso2am-4.2.0/bin/api-manager.sh start\nLimitNOFILE=lots\n",
            ),
            Code::SOURCE_UNPARSEABLE,
            vec![
                "etc/systemd/system/wso2am.service:3:13: `LimitNOFILE=lots` is not a limit systemd accepts (a number, `soft:hard` or `infinity`); it is ignored",
            ],
        ),
        (
            "no version, deployment.toml only: the oldest TOML layout's names",
            unversioned("deployment.toml", "[server]\nhostname = \"localhost\"\n"),
            Code::APIM_VERSION_UNKNOWN,
            vec![
                "opt/apim/repository/conf/deployment.toml: the API-M version is not in carbon.xml or the home's name; using the file and key names of 3.2.0 (toml layout)",
            ],
        ),
        (
            "no version, with bin/api-manager.sh: 4.x",
            unversioned("deployment.toml", "[server]\nhostname = \"localhost\"\n")
                .file("opt/apim/bin/api-manager.sh", "#!/bin/sh\n"),
            Code::APIM_VERSION_UNKNOWN,
            vec![
                "opt/apim/repository/conf/deployment.toml: the API-M version is not in carbon.xml or the home's name; using the file and key names of 4.3.0 (toml layout)",
            ],
        ),
        (
            "an unfiltered `${product.version}` in carbon.xml is no version",
            unversioned(
                "carbon.xml",
                "<Server>\n  <Version>${product.version}</Version>\n</Server>\n",
            ),
            Code::APIM_VERSION_UNKNOWN,
            vec![
                "opt/apim/repository/conf/carbon.xml: the API-M version is not in carbon.xml or the home's name; using the file and key names of 1.10.0 (xml layout)",
            ],
        ),
    ];
    for (what, node, code, want) in cases {
        assert_eq!(node.messages(code), want, "{what}");
    }
}
