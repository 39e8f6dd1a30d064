//! The JVM family, one table: given these start-up script options, this JDK and this much
//! memory → these findings and fixes. JVM001-JVM004 are the generic check over the profile;
//! JVM010-JVM012 need code.

use crate::diag::{Code, Severity};
use crate::rules::testing::Node;

const SCRIPT: &str = "opt/wso2am-4.2.0/bin/api-manager.sh";

/// An API-M 4.2.0 home whose start-up script (trimmed from
/// tests/fixtures/hosts/modern-4.2) defaults `JVM_MEM_OPTS` to `mem_opts`, on line 3.
fn apim(mem_opts: &str) -> Node {
    home().file(
        SCRIPT,
        &format!(
            "#!/bin/sh\nif [ -z \"$JVM_MEM_OPTS\" ]; then\n   JVM_MEM_OPTS=\"{mem_opts}\"\nfi\n$JAVACMD $JVM_MEM_OPTS org.wso2.carbon.bootstrap.Bootstrap \"$@\"\n"
        ),
    )
}

/// The home without its script.
fn home() -> Node {
    Node::new()
        .file(
            "opt/wso2am-4.2.0/repository/conf/deployment.toml",
            "[server]\nhostname = \"localhost\"\n",
        )
        .home("opt/wso2am-4.2.0")
}

/// As the 2.x-3.x scripts ship it: `-XX:MaxPermSize` only added for a Java older than 1.8.
const GUARDED_PERM: &str = r#"#!/bin/sh
if [ -z "$JVM_MEM_OPTS" ]; then
   java_version=$("$JAVACMD" -version 2>&1 | awk -F '"' '/version/ {print $2}')
   JVM_MEM_OPTS="-Xms2g -Xmx2g"
   if [ "$java_version" \< "1.8" ]; then
      JVM_MEM_OPTS="$JVM_MEM_OPTS -XX:MaxPermSize=256m"
   fi
fi
$JAVACMD $JVM_MEM_OPTS org.wso2.carbon.bootstrap.Bootstrap "$@"
"#;

const PERM: &str = "-Xms2g -Xmx2g -XX:MaxPermSize=512m";

const NO_FOO_BAR: &str = r#"[meta]
name = "site"
summary = "all-in-one without -Dfoo.bar"
extends = "all-in-one"

[jvm."-Dfoo.bar"]
absent = true
why = "site policy for the test"
"#;

#[test]
fn jvm_rules() {
    let perm_line = "JVM010 api-manager.sh:-XX:MaxPermSize @opt/wso2am-4.2.0/bin/api-manager.sh:3 -XX:MaxPermSize=512m → absent (use -XX:MaxMetaspaceSize if a cap is needed) | remove the option at opt/wso2am-4.2.0/bin/api-manager.sh:3";
    let cases: Vec<(&str, Node, Code, Vec<&str>)> = vec![
        (
            // The whole option goes, as --apply removes it (and a SARIF fix must), not its value.
            "an option the profile says must not be set: JVM004 removes the whole option",
            apim("-Xms2g -Xmx2g -Dfoo.bar=baz").profile(NO_FOO_BAR),
            Code::JVM_FLAG_SHOULD_BE_ABSENT,
            vec![
                "JVM004 api-manager.sh:-Dfoo.bar @opt/wso2am-4.2.0/bin/api-manager.sh:3 baz → absent | remove the option at opt/wso2am-4.2.0/bin/api-manager.sh:3",
            ],
        ),
        (
            "MaxPermSize on JDK 17: the JVM refuses to start, the token is removed",
            apim(PERM).java(17),
            Code::MAX_PERM_SIZE_ON_MODERN_JDK,
            vec![perm_line],
        ),
        (
            "MaxPermSize on JDK 11: ignored with a warning",
            apim(PERM).java(11),
            Code::MAX_PERM_SIZE_ON_MODERN_JDK,
            vec![perm_line],
        ),
        (
            "MaxPermSize with the JDK unknown",
            apim(PERM),
            Code::MAX_PERM_SIZE_ON_MODERN_JDK,
            vec![perm_line],
        ),
        (
            "MaxPermSize on JDK 7, where PermGen exists: nothing",
            apim(PERM).java(7),
            Code::MAX_PERM_SIZE_ON_MODERN_JDK,
            vec![],
        ),
        (
            "MaxPermSize guarded by `java_version < 1.8`: never passed to a modern JDK, nothing",
            home().file(SCRIPT, GUARDED_PERM).java(17),
            Code::MAX_PERM_SIZE_ON_MODERN_JDK,
            vec![],
        ),
        (
            "a 6 GiB heap on 8 GiB of memory",
            apim("-Xms6g -Xmx6g").java(17),
            Code::HEAP_ABOVE_HALF_RAM,
            vec![
                "JVM011 api-manager.sh:-Xmx @opt/wso2am-4.2.0/bin/api-manager.sh:3 6g → <= 4g | no fix",
            ],
        ),
        (
            "a 4 GiB heap on 6 GiB of memory",
            apim("-Xms4g -Xmx4g").memory_mb(6144).java(17),
            Code::HEAP_ABOVE_HALF_RAM,
            vec![
                "JVM011 api-manager.sh:-Xmx @opt/wso2am-4.2.0/bin/api-manager.sh:3 4g → <= 3g | no fix",
            ],
        ),
        (
            "exactly half of memory: nothing",
            apim("-Xms3000m -Xmx3000m").memory_mb(6000).java(17),
            Code::HEAP_ABOVE_HALF_RAM,
            vec![],
        ),
        (
            "-Xms below -Xmx: set to -Xmx's value",
            apim("-Xms1g -Xmx2g").java(17),
            Code::HEAP_MIN_DIFFERS_FROM_MAX,
            vec![
                "JVM012 api-manager.sh:-Xms @opt/wso2am-4.2.0/bin/api-manager.sh:3 1g → 2g | set `2g` at opt/wso2am-4.2.0/bin/api-manager.sh:3",
            ],
        ),
        (
            "-Xms2048m and -Xmx2g are the same size: nothing",
            apim("-Xms2048m -Xmx2g").java(17),
            Code::HEAP_MIN_DIFFERS_FROM_MAX,
            vec![],
        ),
        (
            "-Xms below an -Xmx above half of memory: no fix until -Xmx is lowered",
            apim("-Xms1g -Xmx6g").java(17),
            Code::HEAP_MIN_DIFFERS_FROM_MAX,
            vec![
                "JVM012 api-manager.sh:-Xms @opt/wso2am-4.2.0/bin/api-manager.sh:3 1g → 6g | no fix",
            ],
        ),
        (
            "generic: -Xmx below the profile's 2g is set in place",
            apim("-Xms1024m -Xmx1024m").java(17),
            Code::JVM_BELOW_RECOMMENDED,
            vec![
                "JVM001 api-manager.sh:-Xmx @opt/wso2am-4.2.0/bin/api-manager.sh:3 1024m → >= 2g | set `2g` at opt/wso2am-4.2.0/bin/api-manager.sh:3",
            ],
        ),
        (
            "generic: no -Xmx on 8 GiB, the JVM's default of a quarter (2048m) is enough",
            apim("-Xss256k").java(17),
            Code::JVM_BELOW_RECOMMENDED,
            vec![],
        ),
        (
            "generic: no -Xmx on 4 GiB, the JVM's default of a quarter (1024m) is below 2g",
            apim("-Xss256k").memory_mb(4096).java(17),
            Code::JVM_BELOW_RECOMMENDED,
            vec![
                "JVM001 api-manager.sh:-Xmx @opt/wso2am-4.2.0/bin/api-manager.sh 1024m → >= 2g | add `-Xmx` = `2g` to opt/wso2am-4.2.0/bin/api-manager.sh",
            ],
        ),
        (
            "generic: no entity expansion limit before JDK 24, the JDK's 64000 is above 10000",
            apim("-Xms2g -Xmx2g").java(17),
            Code::JVM_ABOVE_RECOMMENDED,
            vec![
                "JVM002 api-manager.sh:-DentityExpansionLimit @opt/wso2am-4.2.0/bin/api-manager.sh 64000 → <= 10000 | add `-DentityExpansionLimit` = `10000` to opt/wso2am-4.2.0/bin/api-manager.sh",
            ],
        ),
        (
            "generic: WSO2's 10000 on JDK 24 raises the JDK's 2500 (either name counts)",
            apim("-Xms2g -Xmx2g -DentityExpansionLimit=10000").java(24),
            Code::JVM_ABOVE_RECOMMENDED,
            vec![
                "JVM002 api-manager.sh:-DentityExpansionLimit @opt/wso2am-4.2.0/bin/api-manager.sh:3 10000 → <= 2500 | set `2500` at opt/wso2am-4.2.0/bin/api-manager.sh:3",
            ],
        ),
        (
            "generic: nothing set on JDK 24, its own 2500 applies: nothing",
            apim("-Xms2g -Xmx2g").java(24),
            Code::JVM_ABOVE_RECOMMENDED,
            vec![],
        ),
    ];
    for (what, node, code, want) in cases {
        assert_eq!(node.findings(code), want, "{what}");
    }
}

/// A line does not show the severity, and JVM010's depends on the JDK.
#[test]
fn max_perm_size_severity_follows_the_jdk() {
    let cases: Vec<(&str, Node, Vec<Severity>)> = vec![
        (
            "JDK 17 will not start",
            apim(PERM).java(17),
            vec![Severity::Error],
        ),
        (
            "JDK 21 will not start",
            apim(PERM).java(21),
            vec![Severity::Error],
        ),
        (
            "JDK 11 ignores it",
            apim(PERM).java(11),
            vec![Severity::Info],
        ),
        ("JDK 8 ignores it", apim(PERM).java(8), vec![Severity::Info]),
        ("JDK unknown", apim(PERM), vec![Severity::Warning]),
    ];
    for (what, node, want) in cases {
        assert_eq!(
            node.severities(Code::MAX_PERM_SIZE_ON_MODERN_JDK),
            want,
            "{what}"
        );
    }
}

/// As the 2.x scripts do: options on the script's own `java` command line.
const LEGACY_LINE: &str = r#"#!/bin/sh
JVM_MEM_OPTS="-Xms2g -Xmx2g -XX:+UseConcMarkSweepGC -Xloggc:/var/log/gc.log"
$JAVACMD $JVM_MEM_OPTS -Djava.endorsed.dirs="$JAVA_ENDORSED_DIRS" -XX:-UseParNewGC org.wso2.carbon.bootstrap.Bootstrap "$@"
"#;

#[test]
fn options_the_jdk_refuses_or_deprecates() {
    let script = |text: &str| home().file(SCRIPT, text);
    let at = |line: u32| format!("opt/wso2am-4.2.0/bin/api-manager.sh:{line}");
    // What JDK 17 and every later JDK refuse in LEGACY_LINE.
    let refused = vec![
        format!(
            "JVM013 api-manager.sh:-XX:+UseConcMarkSweepGC @{} -XX:+UseConcMarkSweepGC → absent | remove the option at {}",
            at(2),
            at(2)
        ),
        format!(
            "JVM013 api-manager.sh:-Djava.endorsed.dirs @{} -Djava.endorsed.dirs=\"$JAVA_ENDORSED_DIRS\" → absent | remove the option at {} (display only)",
            at(3),
            at(3)
        ),
        format!(
            "JVM013 api-manager.sh:-XX:-UseParNewGC @{} -XX:-UseParNewGC → absent | remove the option at {} (display only)",
            at(3),
            at(3)
        ),
    ];
    let cases: Vec<(&str, Node, Code, Vec<String>)> = vec![
        (
            "JDK 17: in JVM_MEM_OPTS removed by --apply, on the java line left to a person",
            script(LEGACY_LINE).java(17),
            Code::JVM_OPTION_STOPS_JDK,
            refused.clone(),
        ),
        (
            "JDK 21: removed options do not come back",
            script(LEGACY_LINE).java(21),
            Code::JVM_OPTION_STOPS_JDK,
            refused.clone(),
        ),
        (
            "JDK 11 is not judged: no JDK before 17 is tested",
            script(LEGACY_LINE).java(11),
            Code::JVM_OPTION_STOPS_JDK,
            vec![],
        ),
        (
            "JDK unknown: nothing is claimed",
            script(LEGACY_LINE),
            Code::JVM_OPTION_STOPS_JDK,
            vec![],
        ),
        (
            "a guarded occurrence never runs on a modern JDK",
            script(
                "#!/bin/sh\nif [ \"$java_version\" \\< \"1.8\" ]; then\n   JVM_MEM_OPTS=\"-XX:+UseConcMarkSweepGC\"\nfi\n$JAVACMD $JVM_MEM_OPTS Main\n",
            )
            .java(17),
            Code::JVM_OPTION_STOPS_JDK,
            vec![],
        ),
        (
            "GC logging: accepted with a warning",
            script(LEGACY_LINE).java(17),
            Code::JVM_OPTION_DEPRECATED_ON_JDK,
            vec![format!(
                "JVM014 api-manager.sh:-Xloggc @{} -Xloggc:/var/log/gc.log → -Xlog:gc:file=FILE | no fix",
                at(2)
            )],
        ),
    ];
    for (what, node, code, want) in cases {
        assert_eq!(node.findings(code), want, "{what}");
    }
}

#[test]
fn the_jdk_against_what_the_release_supports() {
    let check = "#!/bin/sh\nif [ $java_version_formatted -lt 1100 ] || [ $java_version_formatted -gt 1700 ]; then\n   echo \" [ERROR] CARBON is supported only between JDK 11 and JDK 17\"\nfi\n$JAVACMD -Xms2g -Xmx2g Main\n";
    let legacy = |java: Option<u32>| {
        let node = Node::new()
            .file(
                "opt/wso2am-2.6.0/repository/conf/carbon.xml",
                "<Server><Version>2.6.0</Version></Server>\n",
            )
            .file(
                "opt/wso2am-2.6.0/bin/wso2server.sh",
                "#!/bin/sh\n$JAVACMD -Xms2g -Xmx2g Main\n",
            )
            .home("opt/wso2am-2.6.0");
        match java {
            Some(v) => node.java(v),
            None => node,
        }
    };
    let cases: Vec<(&str, Node, Vec<&str>)> = vec![
        (
            "4.2.0's own check: JDK 21 is outside 11 to 17",
            home().file(SCRIPT, check).java(21),
            vec![
                "JVM015 api-manager.sh:JDK @opt/wso2am-4.2.0/bin/api-manager.sh:2 JDK 21 → JDK 11 to 17 | no fix",
            ],
        ),
        (
            "4.2.0's own check: JDK 17 is inside",
            home().file(SCRIPT, check).java(17),
            vec![],
        ),
        (
            "a 2.6.0 script without the check: the shipped script's range (7 to 8)",
            legacy(Some(17)),
            vec![
                "JVM015 wso2server.sh:JDK @opt/wso2am-2.6.0/bin/wso2server.sh JDK 17 → JDK 7 to 8 | no fix",
            ],
        ),
        ("the JDK unknown: nothing is claimed", legacy(None), vec![]),
        (
            "a release the table does not have (4.1.0), and no check: nothing is claimed",
            Node::new()
                .file(
                    "opt/wso2am-4.1.0/repository/conf/deployment.toml",
                    "[server]\nhostname = \"localhost\"\n",
                )
                .file(
                    "opt/wso2am-4.1.0/bin/api-manager.sh",
                    "#!/bin/sh\n$JAVACMD -Xms2g -Xmx2g Main\n",
                )
                .home("opt/wso2am-4.1.0")
                .java(8),
            vec![],
        ),
        (
            "a 4.2.0 script without the check on JDK 8: the shipped script's range",
            apim("-Xms2g -Xmx2g")
                .file(
                    "opt/wso2am-4.2.0/repository/conf/deployment.toml",
                    "[server]\nhostname = \"localhost\"\n",
                )
                .java(8),
            vec![
                "JVM015 api-manager.sh:JDK @opt/wso2am-4.2.0/bin/api-manager.sh JDK 8 → JDK 11 to 17 | no fix",
            ],
        ),
    ];
    for (what, node, want) in cases {
        assert_eq!(
            node.findings(Code::JDK_NOT_SUPPORTED_BY_APIM),
            want,
            "{what}"
        );
    }
}

/// One entity expansion limit with two names: with both set the JDK takes
/// `-Djdk.xml.entityExpansionLimit`, and `0` means no limit (both run on a real JDK 17 in
/// tests/jdk.rs).
#[test]
fn the_entity_expansion_limit_in_effect() {
    let cases: Vec<(&str, Node, Code, Vec<&str>)> = vec![
        (
            "both names: the jdk.xml one is in effect and judged",
            apim(
                "-Xms2g -Xmx2g -DentityExpansionLimit=10000 -Djdk.xml.entityExpansionLimit=100000",
            )
            .java(17),
            Code::JVM_ABOVE_RECOMMENDED,
            vec![
                "JVM002 api-manager.sh:-Djdk.xml.entityExpansionLimit @opt/wso2am-4.2.0/bin/api-manager.sh:3 100000 → <= 10000 | set `10000` at opt/wso2am-4.2.0/bin/api-manager.sh:3",
            ],
        ),
        (
            "both names, the jdk.xml one within the limit: the other does not count",
            apim("-Xms2g -Xmx2g -DentityExpansionLimit=100000 -Djdk.xml.entityExpansionLimit=5000")
                .java(17),
            Code::JVM_ABOVE_RECOMMENDED,
            vec![],
        ),
        (
            "0 is no limit at all, above any maximum",
            apim("-Xms2g -Xmx2g -Djdk.xml.entityExpansionLimit=0").java(17),
            Code::JVM_ABOVE_RECOMMENDED,
            vec![
                "JVM002 api-manager.sh:-Djdk.xml.entityExpansionLimit @opt/wso2am-4.2.0/bin/api-manager.sh:3 0 → <= 10000 | set `10000` at opt/wso2am-4.2.0/bin/api-manager.sh:3",
            ],
        ),
    ];
    for (what, node, code, want) in cases {
        assert_eq!(node.findings(code), want, "{what}");
    }
    // Above WSO2's 10000 is hardening (info); switched off is a warning with its own reason.
    let above = apim("-Xms2g -Xmx2g -DentityExpansionLimit=64000").java(17);
    assert_eq!(
        above.severities(Code::JVM_ABOVE_RECOMMENDED),
        vec![crate::diag::Severity::Info]
    );
    let off = apim("-Xms2g -Xmx2g -Djdk.xml.entityExpansionLimit=0").java(17);
    assert_eq!(
        off.severities(Code::JVM_ABOVE_RECOMMENDED),
        vec![crate::diag::Severity::Warning]
    );
    assert!(
        off.of(Code::JVM_ABOVE_RECOMMENDED)[0]
            .why
            .as_deref()
            .is_some_and(|w| w.contains("switches the XML entity expansion limit off")),
    );
}

/// Memory in effect: a unit's `MemoryMax=` below the host's RAM is what the heap is judged
/// against (issue 13); `--memory` still wins, and `infinity` is no cap.
#[test]
fn heap_against_the_memory_in_effect() {
    let unit = |max: &str| {
        apim("-Xms3g -Xmx3g").meminfo_mb(8192).file(
            "etc/systemd/system/wso2am.service",
            &format!(
                "[Service]\nExecStart=/opt/wso2am-4.2.0/bin/api-manager.sh\nMemoryMax={max}\n"
            ),
        )
    };
    let heap = |n: Node| n.findings(Code::HEAP_ABOVE_HALF_RAM);
    assert_eq!(
        heap(apim("-Xms3g -Xmx3g").meminfo_mb(8192)),
        Vec::<String>::new(),
        "8 GiB host, 3 GiB heap"
    );
    assert_eq!(
        heap(unit("4G")),
        vec![
            "JVM011 api-manager.sh:-Xmx @opt/wso2am-4.2.0/bin/api-manager.sh:3 3g → <= 2g | no fix"
        ],
        "MemoryMax=4G"
    );
    assert_eq!(
        heap(unit("50%")).len(),
        1,
        "50% of 8 GiB is 4 GiB, as MemoryMax=4G"
    );
    assert_eq!(heap(unit("infinity")), Vec::<String>::new(), "no cap");
    assert_eq!(
        heap(unit("4G").memory_mb(8192)),
        Vec::<String>::new(),
        "--memory wins"
    );
    // In a container, its cgroup's memory.max is the memory in effect.
    let container = apim("-Xms3g -Xmx3g")
        .meminfo_mb(8192)
        .file(".dockerenv", "")
        .file("sys/fs/cgroup/memory.max", "4294967296\n");
    assert_eq!(
        heap(container).len(),
        1,
        "a 4 GiB container on an 8 GiB host"
    );
    let notes = unit("4G").notes();
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("memory in effect: 4096 MiB")),
        "{notes:?}"
    );
}

/// Review fixes (issue 13): `-XX:-PrintGCDetails` starts silently on JDK 17, so it is not
/// JVM014; and a heap minimum is capped at half the memory in effect, so JVM001's fix never
/// writes a heap JVM011 reports.
#[test]
fn review_fixes_for_the_jdk_and_heap_rules() {
    assert!(
        apim("-Xms2g -Xmx2g -XX:-PrintGCDetails")
            .java(17)
            .findings(Code::JVM_OPTION_DEPRECATED_ON_JDK)
            .is_empty()
    );
    let capped = |xmx: &str| {
        apim(&format!("-Xms{xmx} -Xmx{xmx}")).meminfo_mb(8192).file(
            "etc/systemd/system/wso2am.service",
            "[Service]\nExecStart=/opt/wso2am-4.2.0/bin/api-manager.sh\nMemoryMax=2G\n",
        )
    };
    // 2 GiB in effect: half would be 1 GiB, but native memory needs more than the other half
    // (metaspace 256m, code cache 240m, 550 stacks of 1m, direct 128m: 1174 MiB), so the
    // profile's 2g minimum becomes the 874 MiB left.
    assert_eq!(
        capped("512m").findings(Code::JVM_BELOW_RECOMMENDED),
        vec![
            "JVM001 api-manager.sh:-Xmx @opt/wso2am-4.2.0/bin/api-manager.sh:3 512m → >= 874m | set `874m` at opt/wso2am-4.2.0/bin/api-manager.sh:3"
        ]
    );
    assert!(
        capped("874m")
            .findings(Code::JVM_BELOW_RECOMMENDED)
            .is_empty()
    );
    assert!(
        capped("874m")
            .findings(Code::HEAP_ABOVE_HALF_RAM)
            .is_empty()
    );
    assert_eq!(
        capped("1g").findings(Code::HEAP_ABOVE_HALF_RAM),
        vec![
            "JVM011 api-manager.sh:-Xmx @opt/wso2am-4.2.0/bin/api-manager.sh:3 1g → <= 874m | no fix"
        ]
    );
}

/// The heap ceiling sets native memory aside, part by part, from the options in effect and the
/// pass-through pool the home configures; and no heap fix is one JVM011 then reports: for every
/// memory size and pool, JVM001's proposed -Xmx, written back, is judged clean by both rules.
#[test]
fn heap_ceiling_and_no_contradiction_between_heap_rules() {
    let toml = |pool: &str| format!("[passthru_http]\n{pool}\n");
    let node = |heap: &str, mb: u64, pool: &str| {
        apim(heap)
            .file(
                "opt/wso2am-4.2.0/repository/conf/deployment.toml",
                &toml(pool),
            )
            .memory_mb(mb)
            .java(17)
    };
    // A bounded queue lets `max` workers run; an unbounded one only `core` (4 GiB: 256 + 240 +
    // (1000 + 150) stacks + 128 = 1774 MiB native, 2322 MiB left: half, 2048, still binds).
    let notes = node(
        "-Xms8g -Xmx8g",
        4096,
        "worker_pool_size_core = 1000\nworker_pool_size_max = 1000\nworker_pool_queue_length = 10",
    )
    .notes_of(Code::HEAP_ABOVE_HALF_RAM);
    assert!(
        notes.iter().any(|n| n.contains("heap ceiling 2g of 4096 MiB in effect: half of it (native: metaspace 256m, code cache 240m, 1150 thread stacks of 1m (1150m), direct buffers 128m)")),
        "{notes:?}"
    );
    // The default queue (-1, unbounded) never lets the pool past `core` (ThreadPoolExecutor):
    // a larger `max` is no thread at all.
    let notes = node(
        "-Xms8g -Xmx8g",
        4096,
        "worker_pool_size_core = 1000\nworker_pool_size_max = 3000",
    )
    .notes_of(Code::HEAP_ABOVE_HALF_RAM);
    assert!(
        notes
            .iter()
            .any(|n| n.contains("1150 thread stacks of 1m (1150m)")),
        "{notes:?}"
    );
    // Options in effect replace the defaults and allowances; the pool counts as the profile
    // leaves it (core raised to 400).
    let notes = node(
        "-Xms3g -Xmx3g -Xss512k -XX:MaxMetaspaceSize=128m -XX:ReservedCodeCacheSize=64m -XX:MaxDirectMemorySize=32m",
        3072,
        "worker_pool_size_core = 200",
    )
    .notes_of(Code::HEAP_ABOVE_HALF_RAM);
    assert!(
        notes.iter().any(|n| n.contains("native: metaspace 128m (-XX:MaxMetaspaceSize=128m), code cache 64m (-XX:ReservedCodeCacheSize=64m), 550 thread stacks of 512k (275m), direct buffers 32m (-XX:MaxDirectMemorySize=32m)")),
        "{notes:?}"
    );
    for mb in [1024, 1536, 2048, 2560, 3072, 4096, 6144, 8192, 16384] {
        for pool in [
            "worker_pool_size_core = 50",
            "worker_pool_size_core = 400",
            "worker_pool_size_core = 2000",
        ] {
            let low = node("-Xms256m -Xmx256m", mb, pool);
            let fixes = low.findings(Code::JVM_BELOW_RECOMMENDED);
            let proposed = fixes
                .iter()
                .find_map(|f| f.split("set `").nth(1)?.split('`').next())
                .map(str::to_string);
            let Some(xmx) = proposed else {
                // Nothing to raise: the ceiling is at or below 256m.
                assert!(fixes.is_empty(), "{mb} MiB, {pool}: {fixes:?}");
                continue;
            };
            let fixed = node(&format!("-Xms{xmx} -Xmx{xmx}"), mb, pool);
            assert_eq!(
                (
                    fixed.findings(Code::JVM_BELOW_RECOMMENDED),
                    fixed.findings(Code::HEAP_ABOVE_HALF_RAM)
                ),
                (Vec::<String>::new(), Vec::<String>::new()),
                "{mb} MiB, {pool}: the fix wrote -Xmx{xmx}"
            );
        }
    }
}

/// In a container whose limit is the memory in effect, heap findings say when a percentage of
/// that limit fits better than a fixed -Xmx; on a host or an old JDK they do not.
#[test]
fn container_heap_findings_suggest_max_ram_percentage() {
    let container = |java: u32| {
        apim("-Xms3g -Xmx3g")
            .meminfo_mb(8192)
            .java(java)
            .file(".dockerenv", "")
            .file("sys/fs/cgroup/memory.max", "4294967296\n")
    };
    let advice = |n: Node| {
        n.notes_of(Code::HEAP_ABOVE_HALF_RAM)
            .iter()
            .any(|n| n.contains("-XX:MaxRAMPercentage=50"))
    };
    assert!(advice(container(17)));
    assert!(
        !advice(container(8)),
        "JDK 8 before 8u191 does not read the limit"
    );
    assert!(
        !advice(apim("-Xms6g -Xmx6g").meminfo_mb(8192).java(17)),
        "a host"
    );
}

/// The unit that runs the home, with `service` lines after its `ExecStart=`.
fn with_unit(node: Node, service: &str) -> Node {
    node.file(
        "etc/systemd/system/wso2am.service",
        &format!("[Service]\nExecStart=/opt/wso2am-4.2.0/bin/api-manager.sh\n{service}"),
    )
}

/// What the service's environment sets replaces the script's default, and each finding names
/// that source and fixes it there: a unit drop-in for an `Environment=` line, the file itself
/// for an `EnvironmentFile=`.
#[test]
fn options_the_service_environment_gives() {
    let script = "#!/bin/sh\nif [ -z \"$JVM_MEM_OPTS\" ]; then\n   JVM_MEM_OPTS=\"-Xms2g -Xmx2g -XX:+UseConcMarkSweepGC\"\nfi\n$JAVACMD $JVM_MEM_OPTS $JAVA_OPTS org.wso2.carbon.bootstrap.Bootstrap \"$@\"\n";
    let node = |service: &str| {
        with_unit(home().file(SCRIPT, script), service)
            .java(17)
            .memory_mb(16384)
    };
    let unit = "etc/systemd/system/wso2am.service";
    let drop_in = "etc/systemd/system/wso2am.service.d/zz-apim-tune.conf";

    // The unit's JVM_MEM_OPTS replaces the default: its CMS is judged (the script's is not), at
    // the unit line, and removed in the drop-in.
    let n = node("Environment=\"JVM_MEM_OPTS=-Xms1g -Xmx1g -XX:+UseConcMarkSweepGC\"\n");
    assert_eq!(
        n.findings(Code::JVM_OPTION_STOPS_JDK),
        [format!(
            "JVM013 api-manager.sh:-XX:+UseConcMarkSweepGC @{unit}:3 -XX:+UseConcMarkSweepGC → absent | remove the option at {unit}:3"
        )]
    );
    assert_eq!(
        n.findings(Code::JVM_BELOW_RECOMMENDED),
        [format!(
            "JVM001 api-manager.sh:-Xmx @{unit}:3 1g → >= 2g | add `-Xmx in Environment=JVM_MEM_OPTS` = `2g` to {drop_in}"
        )]
    );
    let notes = n.notes_of(Code::JVM_BELOW_RECOMMENDED);
    assert!(
        notes
            .iter()
            .any(|x| x.contains("`JVM_MEM_OPTS` of wso2am.service")),
        "{notes:?}"
    );

    // JAVA_OPTS from an environment file: fixed in the file, at the assignment.
    let n = node("EnvironmentFile=/etc/default/wso2am\n").file(
        "etc/default/wso2am",
        "# set by ops\nJAVA_OPTS=\"-Dx=1 -XX:+UseParNewGC\"\n",
    );
    assert_eq!(
        n.findings(Code::JVM_OPTION_STOPS_JDK),
        [
            "JVM013 api-manager.sh:-XX:+UseParNewGC @etc/default/wso2am:2 -XX:+UseParNewGC → absent | remove the option at etc/default/wso2am:2".to_string(),
            format!(
                "JVM013 api-manager.sh:-XX:+UseConcMarkSweepGC @{SCRIPT}:3 -XX:+UseConcMarkSweepGC → absent | remove the option at {SCRIPT}:3"
            ),
        ]
    );

    // An empty JVM_MEM_OPTS leaves the default in effect.
    let n = node("Environment=JVM_MEM_OPTS=\n");
    assert_eq!(n.findings(Code::JVM_OPTION_STOPS_JDK).len(), 1);
    assert!(n.findings(Code::JVM_BELOW_RECOMMENDED).is_empty());
}

/// No option sets the entity expansion limit: the JDK's own `conf/jaxp.properties` does, when
/// the JDK the unit names has one; an option in the script still wins over it.
#[test]
fn the_jdks_jaxp_properties_is_the_entity_limit_when_no_option_sets_it() {
    let jdk = "usr/lib/jvm/jdk-17";
    let node = |script_opts: &str, jaxp: &str| {
        with_unit(
            apim(&format!("-Xms2g -Xmx2g {script_opts}"))
                .file(&format!("{jdk}/release"), "JAVA_VERSION=\"17.0.13\"\n")
                .file(&format!("{jdk}/conf/jaxp.properties"), jaxp),
            &format!("Environment=JAVA_HOME=/{jdk}\n"),
        )
        .memory_mb(16384)
    };
    let off = "# site policy\njdk.xml.entityExpansionLimit=0\n";
    assert_eq!(
        node("", off).findings(Code::JVM_ABOVE_RECOMMENDED),
        vec![
            "JVM002 api-manager.sh:-DentityExpansionLimit @opt/wso2am-4.2.0/bin/api-manager.sh 0 → <= 10000 | add `-DentityExpansionLimit` = `10000` to opt/wso2am-4.2.0/bin/api-manager.sh"
        ]
    );
    let notes = node("", off).notes_of(Code::JVM_ABOVE_RECOMMENDED);
    assert!(
        notes.iter().any(|n| n.contains(
            "the JDK's jaxp.properties sets `0` (usr/lib/jvm/jdk-17/conf/jaxp.properties:2)"
        )),
        "{notes:?}"
    );
    // A commented line sets nothing: the JDK 17 default (64000) is what is judged.
    assert_eq!(
        node("", "#jdk.xml.entityExpansionLimit=0\n").findings(Code::JVM_ABOVE_RECOMMENDED),
        vec![
            "JVM002 api-manager.sh:-DentityExpansionLimit @opt/wso2am-4.2.0/bin/api-manager.sh 64000 → <= 10000 | add `-DentityExpansionLimit` = `10000` to opt/wso2am-4.2.0/bin/api-manager.sh"
        ]
    );
    // The option on the command line wins over the file.
    assert!(
        node("-DentityExpansionLimit=10000", off)
            .findings(Code::JVM_ABOVE_RECOMMENDED)
            .is_empty()
    );
}

/// With no `-Xmx`, `-XX:MaxRAMPercentage` of the memory in effect is the heap: JVM001 judges
/// that size and raises the percentage (pinning an -Xmx would undo it); JVM011 judges it too.
#[test]
fn a_heap_sized_by_max_ram_percentage() {
    let container = |opts: &str| {
        apim(opts)
            .meminfo_mb(16384)
            .java(17)
            .file(".dockerenv", "")
            .file("sys/fs/cgroup/memory.max", "4294967296\n")
    };
    assert_eq!(
        container("-XX:MaxRAMPercentage=25").findings(Code::JVM_BELOW_RECOMMENDED),
        vec![
            "JVM001 api-manager.sh:-Xmx @opt/wso2am-4.2.0/bin/api-manager.sh:3 1g → >= 2g | set `50` at opt/wso2am-4.2.0/bin/api-manager.sh:3"
        ]
    );
    let fixed = container("-XX:MaxRAMPercentage=50");
    assert!(fixed.findings(Code::JVM_BELOW_RECOMMENDED).is_empty());
    assert!(fixed.findings(Code::HEAP_ABOVE_HALF_RAM).is_empty());
    assert_eq!(
        container("-XX:MaxRAMPercentage=90").findings(Code::HEAP_ABOVE_HALF_RAM),
        vec![
            "JVM011 api-manager.sh:-XX:MaxRAMPercentage @opt/wso2am-4.2.0/bin/api-manager.sh:3 90 → <= 50 | no fix"
        ]
    );
    // A set -Xmx wins over the percentage (JDK 17, tests/jdk.rs).
    assert_eq!(
        container("-Xmx1g -XX:MaxRAMPercentage=90").findings(Code::HEAP_ABOVE_HALF_RAM),
        Vec::<String>::new()
    );
}

/// A "4 GB" VM reads about 3931 MiB of memory: WSO2's own 2 GB heap there is not reported, a
/// heap clearly past half is.
#[test]
fn wso2s_heap_on_a_4_gb_machine_is_not_noise() {
    let heap = |xmx: &str| {
        apim(&format!("-Xms{xmx} -Xmx{xmx}"))
            .meminfo_mb(3931)
            .findings(Code::HEAP_ABOVE_HALF_RAM)
    };
    assert_eq!(heap("2g"), Vec::<String>::new());
    assert_eq!(
        heap("2300m"),
        vec![
            "JVM011 api-manager.sh:-Xmx @opt/wso2am-4.2.0/bin/api-manager.sh:3 2300m → <= 1965m | no fix"
        ]
    );
}

/// JVM012 is advice for predictability (the heap committed at start), at info: G1 grows a small
/// heap without full collections (verified-facts), so the reason never claims them.
#[test]
fn xms_below_xmx_is_info_for_predictability() {
    let found = apim("-Xms1g -Xmx2g")
        .java(17)
        .of(Code::HEAP_MIN_DIFFERS_FROM_MAX);
    assert_eq!(found.len(), 1);
    let f = &found[0];
    assert_eq!(f.severity, crate::diag::Severity::Info);
    let why = f.why.as_deref().unwrap_or_default();
    assert!(why.contains("committed at start"), "{why}");
    assert!(!why.contains("full collections under"), "{why}");
    assert!(f.fix.is_some(), "the fix stays");
}
