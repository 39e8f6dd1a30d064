//! The service family, one table: given these systemd units, limits lines and running JVMs →
//! these findings and fixes. A service never goes through pam_limits: SVC001 judges the unit's
//! limits, SVC002 points at limits.conf lines that do not reach it, PRC001 at a running JVM
//! that still has old limits.

use crate::diag::Code;
use crate::rules::testing::Node;

const UNIT_FILE: &str = "etc/systemd/system/wso2am.service";

/// The `wso2am` unit (trimmed from tests/fixtures/hosts/systemd-unit), with `limits` at the
/// end of its `[Service]` section (line 8 on).
fn unit(limits: &str) -> String {
    format!(
        "[Unit]\nDescription=WSO2 API Manager 4.2.0\n\n[Service]\nType=forking\nUser=wso2carbon\nExecStart=/opt/wso2am-4.2.0/bin/api-manager.sh start\n{limits}"
    )
}

/// A running API-M JVM's `/proc/<pid>/cmdline` (NUL-separated, as the kernel writes it).
const CMDLINE: &str = "/usr/lib/jvm/java-17-openjdk-amd64/bin/java\0-Xms2g\0-Xmx2g\0-Dcarbon.home=/opt/wso2am-4.2.0\0org.wso2.carbon.bootstrap.Bootstrap\0";

/// `/proc/<pid>/limits` in the kernel's layout (as in tests/fixtures/hosts/jvm-low-limits), with
/// these soft and hard open files and processes.
fn proc_limits(nofile: (&str, &str), nproc: (&str, &str)) -> String {
    let row = |name: &str, soft: &str, hard: &str, unit: &str| {
        format!("{name:<26}{soft:<21}{hard:<21}{unit:<10}\n")
    };
    [
        row("Limit", "Soft Limit", "Hard Limit", "Units"),
        row("Max cpu time", "unlimited", "unlimited", "seconds"),
        row("Max stack size", "8388608", "unlimited", "bytes"),
        row("Max processes", nproc.0, nproc.1, "processes"),
        row("Max open files", nofile.0, nofile.1, "files"),
        row("Max locked memory", "8388608", "8388608", "bytes"),
    ]
    .concat()
}

/// A running API-M JVM, pid 4242, with these live limits.
fn jvm(nofile: (&str, &str), nproc: (&str, &str)) -> Node {
    Node::new()
        .file("proc/4242/cmdline", CMDLINE)
        .file("proc/4242/limits", &proc_limits(nofile, nproc))
}

/// A profile with what P's profile keeps for limits: no soft `nofile` minimum, since HotSpot
/// raises the soft limit to the hard one at start (MaxFDLimit).
const HARD_NOFILE_ONLY: &str = r#"[meta]
name = "site"
summary = "limits only, no soft nofile"

[limits.nofile]
hard = { min = 65535 }
why = "each connection is a file descriptor"
see = "limits.conf.5"

[limits.nproc]
soft = { min = 20000 }
hard = { min = 20000 }
why = "threads count against nproc"
see = "limits.conf.5"
"#;

#[test]
fn service_rules() {
    let cases: Vec<(&str, Node, Code, Vec<&str>)> = vec![
        (
            "unit without LimitNOFILE: systemd's default 1024:524288, and HotSpot raises its soft \
             limit to the hard one, so 524288 is in effect: nothing",
            Node::new().file(UNIT_FILE, &unit("")),
            Code::UNIT_LIMIT_BELOW_RECOMMENDED,
            vec![],
        ),
        (
            "LimitNOFILE=4096 sets soft and hard: the hard limit is below the profile's",
            Node::new().file(UNIT_FILE, &unit("LimitNOFILE=4096\n")),
            Code::UNIT_LIMIT_BELOW_RECOMMENDED,
            vec![
                "SVC001 systemd:wso2am.service:LimitNOFILE @etc/systemd/system/wso2am.service:8 4096 → >= hard 65535 | add `LimitNOFILE` = `4096:65535` to etc/systemd/system/wso2am.service.d/zz-apim-tune.conf",
            ],
        ),
        (
            "soft:hard below the profile, and LimitNPROC below it",
            Node::new().file(UNIT_FILE, &unit("LimitNOFILE=1024:4096\nLimitNPROC=4096\n")),
            Code::UNIT_LIMIT_BELOW_RECOMMENDED,
            vec![
                "SVC001 systemd:wso2am.service:LimitNOFILE @etc/systemd/system/wso2am.service:8 1024:4096 → >= hard 65535 | add `LimitNOFILE` = `1024:65535` to etc/systemd/system/wso2am.service.d/zz-apim-tune.conf",
                "SVC001 systemd:wso2am.service:LimitNPROC @etc/systemd/system/wso2am.service:9 4096 → >= 20000:20000 | add `LimitNPROC` = `20000:20000` to etc/systemd/system/wso2am.service.d/zz-apim-tune.conf",
            ],
        ),
        (
            "no LimitNOFILE in the unit: DefaultLimitNOFILE of system.conf applies",
            Node::new().file(UNIT_FILE, &unit("")).file(
                "etc/systemd/system.conf",
                "[Manager]\nDefaultLimitNOFILE=1024:4096\n",
            ),
            Code::UNIT_LIMIT_BELOW_RECOMMENDED,
            vec![
                "SVC001 systemd:wso2am.service:LimitNOFILE @etc/systemd/system.conf:2 1024:4096 → >= hard 65535 | add `LimitNOFILE` = `1024:65535` to etc/systemd/system/wso2am.service.d/zz-apim-tune.conf",
            ],
        ),
        (
            "a drop-in raises the unit's LimitNOFILE: nothing",
            Node::new()
                .file(UNIT_FILE, &unit("LimitNOFILE=4096\n"))
                .file(
                    "etc/systemd/system/wso2am.service.d/override.conf",
                    "[Service]\nLimitNOFILE=65535\n",
                ),
            Code::UNIT_LIMIT_BELOW_RECOMMENDED,
            vec![],
        ),
        (
            "infinity: nothing",
            Node::new().file(
                UNIT_FILE,
                &unit("LimitNOFILE=infinity\nLimitNPROC=infinity\n"),
            ),
            Code::UNIT_LIMIT_BELOW_RECOMMENDED,
            vec![],
        ),
        (
            "a limits.d line for the service's user does not reach the service",
            Node::new()
                .file(UNIT_FILE, &unit("LimitNOFILE=65535\n"))
                .file(
                    "etc/security/limits.d/90-wso2.conf",
                    "wso2carbon - nofile 65535\n",
                ),
            Code::LIMITS_CONF_NOT_APPLIED_TO_SERVICE,
            vec![
                "SVC002 systemd:wso2am.service:limits.conf @etc/security/limits.d/90-wso2.conf:1 - → - | no fix",
            ],
        ),
        (
            "nor does a `*` line (the service's user is not root)",
            Node::new()
                .file(UNIT_FILE, &unit("LimitNOFILE=65535\n"))
                .file(
                    "etc/security/limits.conf",
                    "# everyone\n* soft nproc 20000\n",
                ),
            Code::LIMITS_CONF_NOT_APPLIED_TO_SERVICE,
            vec![
                "SVC002 systemd:wso2am.service:limits.conf @etc/security/limits.conf:2 - → - | no fix",
            ],
        ),
        (
            "a line for another user: nothing",
            Node::new()
                .file(UNIT_FILE, &unit("LimitNOFILE=65535\n"))
                .file("etc/security/limits.conf", "postgres - nofile 65535\n"),
            Code::LIMITS_CONF_NOT_APPLIED_TO_SERVICE,
            vec![],
        ),
        (
            "no unit runs API-M: limits.conf applies, nothing",
            Node::new().file(
                "etc/security/limits.d/90-wso2.conf",
                "wso2carbon - nofile 65535\n",
            ),
            Code::LIMITS_CONF_NOT_APPLIED_TO_SERVICE,
            vec![],
        ),
        (
            "a running API-M JVM started with low limits (no home audited: every API-M JVM)",
            jvm(("1024", "4096"), ("4096", "4096")),
            Code::PROCESS_LIMIT_BELOW_RECOMMENDED,
            vec![
                "PRC001 process:/opt/wso2am-4.2.0:nofile @proc/4242/limits 1024/4096 → >= hard 65535 | no fix",
                "PRC001 process:/opt/wso2am-4.2.0:nproc @proc/4242/limits 4096/4096 → >= 20000/20000 | no fix",
            ],
        ),
        (
            "a running API-M JVM with the profile's limits: nothing",
            jvm(("65535", "65535"), ("unlimited", "unlimited")),
            Code::PROCESS_LIMIT_BELOW_RECOMMENDED,
            vec![],
        ),
        (
            "the audited home is the JVM's -Dcarbon.home: judged",
            jvm(("65535", "65535"), ("4096", "4096"))
                .file("opt/wso2am-4.2.0/repository/conf/deployment.toml", "")
                .home("opt/wso2am-4.2.0"),
            Code::PROCESS_LIMIT_BELOW_RECOMMENDED,
            vec![
                "PRC001 process:/opt/wso2am-4.2.0:nproc @proc/4242/limits 4096/4096 → >= 20000/20000 | no fix",
            ],
        ),
        (
            "the JVM runs another home than the audited one: nothing",
            jvm(("1024", "4096"), ("4096", "4096"))
                .file("opt/wso2am-4.3.0/repository/conf/deployment.toml", "")
                .home("opt/wso2am-4.3.0"),
            Code::PROCESS_LIMIT_BELOW_RECOMMENDED,
            vec![],
        ),
        (
            "a running JVM's soft nofile below its hard one (started with -XX:-MaxFDLimit): the \
             hard one is what the profile asks for, so only the hard decides",
            jvm(("1024", "65535"), ("20000", "20000")).profile(HARD_NOFILE_ONLY),
            Code::PROCESS_LIMIT_BELOW_RECOMMENDED,
            vec![],
        ),
        (
            "without a soft nofile minimum, a hard limit below the profile's is still reported",
            jvm(("1024", "4096"), ("20000", "20000")).profile(HARD_NOFILE_ONLY),
            Code::PROCESS_LIMIT_BELOW_RECOMMENDED,
            vec![
                "PRC001 process:/opt/wso2am-4.2.0:nofile @proc/4242/limits 1024/4096 → >= hard 65535 | no fix",
            ],
        ),
        (
            "without a soft nofile minimum, the unit's fix raises only the hard limit",
            Node::new()
                .file(
                    UNIT_FILE,
                    &unit("LimitNOFILE=1024:4096\nLimitNPROC=20000\n"),
                )
                .profile(HARD_NOFILE_ONLY),
            Code::UNIT_LIMIT_BELOW_RECOMMENDED,
            vec![
                "SVC001 systemd:wso2am.service:LimitNOFILE @etc/systemd/system/wso2am.service:8 1024:4096 → >= hard 65535 | add `LimitNOFILE` = `1024:65535` to etc/systemd/system/wso2am.service.d/zz-apim-tune.conf",
            ],
        ),
        (
            "a JVM that is not API-M: nothing",
            Node::new()
                .file("proc/4243/cmdline", "/usr/bin/java\0-jar\0other.jar\0")
                .file(
                    "proc/4243/limits",
                    &proc_limits(("1024", "4096"), ("4096", "4096")),
                ),
            Code::PROCESS_LIMIT_BELOW_RECOMMENDED,
            vec![],
        ),
    ];
    for (what, node, code, want) in cases {
        assert_eq!(node.findings(code), want, "{what}");
    }
}

/// PRC002: the heap the running JVM has against what the script gives at the next start.
#[test]
fn a_running_heap_that_a_restart_would_change() {
    let home = |mem_opts: &str| {
        Node::new()
            .file(
                "opt/wso2am-4.2.0/repository/conf/deployment.toml",
                "[server]\nhostname = \"x\"\n",
            )
            .file(
                "opt/wso2am-4.2.0/bin/api-manager.sh",
                &format!("#!/bin/sh\nJVM_MEM_OPTS=\"{mem_opts}\"\n$JAVACMD $JVM_MEM_OPTS Main\n"),
            )
            .home("opt/wso2am-4.2.0")
            .file("proc/4242/cmdline", CMDLINE)
    };
    assert_eq!(
        home("-Xms1g -Xmx4g").findings(Code::PROCESS_DIFFERS_FROM_RESTART),
        vec![
            "PRC002 process:/opt/wso2am-4.2.0:-Xms @proc/4242/cmdline -Xms2g → -Xms1g (after a restart) | no fix",
            "PRC002 process:/opt/wso2am-4.2.0:-Xmx @proc/4242/cmdline -Xmx2g → -Xmx4g (after a restart) | no fix",
        ]
    );
    // The same heap written another way is the same heap.
    assert!(
        home("-Xms2048m -Xmx2G")
            .findings(Code::PROCESS_DIFFERS_FROM_RESTART)
            .is_empty()
    );
    // A JVM of another home is not this one's.
    let other = home("-Xms1g -Xmx4g").file(
        "proc/4242/cmdline",
        "/usr/bin/java\0-Xmx8g\0-Dcarbon.home=/opt/other\0org.wso2.carbon.bootstrap.Bootstrap\0",
    );
    assert!(
        other
            .findings(Code::PROCESS_DIFFERS_FROM_RESTART)
            .is_empty()
    );
}

/// The unit's `JVM_MEM_OPTS` decides the restart when the script's heap is only its default
/// (`if [ -z "$JVM_MEM_OPTS" ]`): a JVM running what the unit says is not PRC002.
#[test]
fn the_unit_environment_decides_the_restart_heap() {
    let node = |env: &str| {
        Node::new()
            .file(
                "opt/wso2am-4.2.0/repository/conf/deployment.toml",
                "[server]\nhostname = \"x\"\n",
            )
            .file(
                "opt/wso2am-4.2.0/bin/api-manager.sh",
                "#!/bin/sh\nif [ -z \"$JVM_MEM_OPTS\" ]; then\n   JVM_MEM_OPTS=\"-Xms1g -Xmx1g\"\nfi\n$JAVACMD $JVM_MEM_OPTS Main\n",
            )
            .file(
                "etc/systemd/system/wso2am.service",
                &format!("[Service]\nExecStart=/opt/wso2am-4.2.0/bin/api-manager.sh\n{env}"),
            )
            .home("opt/wso2am-4.2.0")
            .file("proc/4242/cmdline", CMDLINE)
    };
    // The JVM runs -Xms2g -Xmx2g (CMDLINE).
    assert!(
        node("Environment=\"JVM_MEM_OPTS=-Xms2g -Xmx2g\"\n")
            .findings(Code::PROCESS_DIFFERS_FROM_RESTART)
            .is_empty()
    );
    assert_eq!(
        node("Environment=\"JVM_MEM_OPTS=-Xms4g -Xmx4g\"\n")
            .findings(Code::PROCESS_DIFFERS_FROM_RESTART)
            .len(),
        2
    );
    // No environment: the script's default decides.
    assert_eq!(
        node("").findings(Code::PROCESS_DIFFERS_FROM_RESTART).len(),
        2
    );
    // `_JAVA_OPTIONS` reaches the JVM through its environment, never its command line: the
    // running JVM cannot be compared on -Xmx, only on what the command line gives (-Xms).
    assert_eq!(
        node("Environment=\"JVM_MEM_OPTS=-Xms2g -Xmx2g\" _JAVA_OPTIONS=-Xmx3g\n")
            .findings(Code::PROCESS_DIFFERS_FROM_RESTART),
        Vec::<String>::new()
    );
}
