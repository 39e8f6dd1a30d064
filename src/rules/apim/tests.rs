//! The API-M family, one table: given these deployment.toml lines (4.x) or XML and properties
//! files (2.x) → these findings and fixes. APM001-APM004 are the generic check over the
//! profile; APM010-APM015 need code.

use crate::diag::Code;
use crate::rules::testing::Node;

/// An API-M 4.2.0 home with this deployment.toml (shapes from tests/fixtures/hosts/modern-4.2).
fn modern(toml: &str) -> Node {
    Node::new()
        .file("opt/wso2am-4.2.0/repository/conf/deployment.toml", toml)
        .home("opt/wso2am-4.2.0")
}

/// An API-M 2.6.0 home with this file under `repository/conf` (shapes from
/// tests/fixtures/hosts/legacy-2.6).
fn legacy(rel: &str, text: &str) -> Node {
    Node::new()
        .file(&format!("opt/wso2am-2.6.0/repository/conf/{rel}"), text)
        .home("opt/wso2am-2.6.0")
}

/// A 2.x datasource with this URL, driver and validation query (the query on line 9).
fn master_datasource(url: &str, driver: &str, query: &str) -> String {
    format!(
        "<datasources-configuration>
    <datasources>
        <datasource>
            <name>WSO2AM_DB</name>
            <definition type=\"RDBMS\">
                <configuration>
                    <url>{url}</url>
                    <driverClassName>{driver}</driverClassName>
                    <validationQuery>{query}</validationQuery>
                </configuration>
            </definition>
        </datasource>
    </datasources>
</datasources-configuration>
"
    )
}

#[test]
fn apim_setting_that_must_be_absent_is_left_to_a_person() {
    let profile = r#"[meta]
name = "site"
summary = "all-in-one without the gateway token cache setting"
extends = "all-in-one"

[apim."cache.gateway_token.enable"]
absent = true
why = "site policy for the test"
"#;
    let node = modern("[apim.cache.gateway_token]\nenable = true\n").profile(profile);
    // Removing an API-M setting is not automated: the fix is shown, never applied, and the
    // finding does not count as fixable.
    assert_eq!(
        node.findings(Code::SETTING_SHOULD_BE_ABSENT),
        vec![
            "APM004 deployment.toml:apim.cache.gateway_token.enable @opt/wso2am-4.2.0/repository/conf/deployment.toml:2 true → absent | comment out opt/wso2am-4.2.0/repository/conf/deployment.toml:2 (display only)"
        ]
    );
}

#[test]
fn apim_rules() {
    let cases: Vec<(&str, Node, Code, Vec<&str>)> = vec![
        (
            "both token caches on: the key-manager one is turned off",
            modern(
                "[apim.cache.gateway_token]\nenable = true\n\n[apim.cache.km_token]\nenable = true\n",
            ),
            Code::TOKEN_CACHES_BOTH_ENABLED,
            vec![
                "APM010 deployment.toml:apim.cache.km_token.enable @opt/wso2am-4.2.0/repository/conf/deployment.toml:5 both true → exactly one enabled (gateway cache on, key-manager cache off by default) | set `false` at opt/wso2am-4.2.0/repository/conf/deployment.toml:5",
            ],
        ),
        (
            "the key-manager cache on, the gateway cache on by default",
            modern("[apim.cache.km_token]\nenable = true\n"),
            Code::TOKEN_CACHES_BOTH_ENABLED,
            vec![
                "APM010 deployment.toml:apim.cache.km_token.enable @opt/wso2am-4.2.0/repository/conf/deployment.toml:2 both true → exactly one enabled (gateway cache on, key-manager cache off by default) | set `false` at opt/wso2am-4.2.0/repository/conf/deployment.toml:2",
            ],
        ),
        (
            "only the key-manager cache on: nothing",
            modern(
                "[apim.cache.gateway_token]\nenable = false\n\n[apim.cache.km_token]\nenable = true\n",
            ),
            Code::TOKEN_CACHES_BOTH_ENABLED,
            vec![],
        ),
        (
            "defaults (gateway cache only): nothing",
            modern("[server]\nhostname = \"localhost\"\n"),
            Code::TOKEN_CACHES_BOTH_ENABLED,
            vec![],
        ),
        (
            "2.x: both caches on in api-manager.xml",
            legacy(
                "api-manager.xml",
                "<APIManager>
    <CacheConfigurations>
        <EnableGatewayTokenCache>true</EnableGatewayTokenCache>
        <EnableKeyManagerTokenCache>true</EnableKeyManagerTokenCache>
    </CacheConfigurations>
</APIManager>
",
            ),
            Code::TOKEN_CACHES_BOTH_ENABLED,
            vec![
                "APM010 api-manager.xml:/APIManager/CacheConfigurations/EnableKeyManagerTokenCache @opt/wso2am-2.6.0/repository/conf/api-manager.xml:4 both true → exactly one enabled (gateway cache on, key-manager cache off by default) | set `false` at opt/wso2am-2.6.0/repository/conf/api-manager.xml:4",
            ],
        ),
        (
            "keep-alive equal to the socket timeout: one second below it",
            modern(
                "[transport.http]\nsocket_timeout = 60000\n\n[passthru_http]\nworker_thread_keepalive_sec = 60\n",
            ),
            Code::KEEPALIVE_NOT_BELOW_SOCKET_TIMEOUT,
            vec![
                "APM011 deployment.toml:passthru_http.worker_thread_keepalive_sec @opt/wso2am-4.2.0/repository/conf/deployment.toml:5 60 s → < 60 s | set `59` at opt/wso2am-4.2.0/repository/conf/deployment.toml:5",
            ],
        ),
        (
            "keep-alive above the default socket timeout (180000 ms)",
            modern("[passthru_http]\nworker_thread_keepalive_sec = 300\n"),
            Code::KEEPALIVE_NOT_BELOW_SOCKET_TIMEOUT,
            vec![
                "APM011 deployment.toml:passthru_http.worker_thread_keepalive_sec @opt/wso2am-4.2.0/repository/conf/deployment.toml:2 300 s → < 180 s | set `179` at opt/wso2am-4.2.0/repository/conf/deployment.toml:2",
            ],
        ),
        (
            "the default keep-alive (60 s) above a 30 s socket timeout: no line to change",
            modern("[transport.http]\nsocket_timeout = 30000\n"),
            Code::KEEPALIVE_NOT_BELOW_SOCKET_TIMEOUT,
            vec![
                "APM011 deployment.toml:passthru_http.worker_thread_keepalive_sec @opt/wso2am-4.2.0/repository/conf/deployment.toml 60 s → < 30 s | no fix",
            ],
        ),
        (
            "keep-alive below the socket timeout: nothing",
            modern(
                "[passthru_http]\nworker_thread_keepalive_sec = 60\n'http.socket.timeout' = 180000\n",
            ),
            Code::KEEPALIVE_NOT_BELOW_SOCKET_TIMEOUT,
            vec![],
        ),
        (
            "2.x: passthru-http.properties",
            legacy(
                "passthru-http.properties",
                "worker_thread_keepalive_sec=60\nhttp.socket.timeout=60000\n",
            ),
            Code::KEEPALIVE_NOT_BELOW_SOCKET_TIMEOUT,
            vec![
                "APM011 passthru-http.properties:worker_thread_keepalive_sec @opt/wso2am-2.6.0/repository/conf/passthru-http.properties:1 60 s → < 60 s | set `59` at opt/wso2am-2.6.0/repository/conf/passthru-http.properties:1",
            ],
        ),
        (
            "8 pass-through reactor threads on 4 cores",
            modern(
                "[passthru_http]\nio_threads_per_reactor = 8\n\n[n_http]\nsnd_io_threads = 4\nlst_io_threads = 4\n",
            ),
            Code::IO_THREADS_NOT_CORE_COUNT,
            vec![
                "APM012 deployment.toml:passthru_http.io_threads_per_reactor @opt/wso2am-4.2.0/repository/conf/deployment.toml:2 8 → 4 | set `4` at opt/wso2am-4.2.0/repository/conf/deployment.toml:2",
            ],
        ),
        (
            "the same on a gateway",
            modern(
                "[passthru_http]\nio_threads_per_reactor = 8\n\n[n_http]\nsnd_io_threads = 4\nlst_io_threads = 4\n",
            )
            .role("gateway"),
            Code::IO_THREADS_NOT_CORE_COUNT,
            vec![
                "APM012 deployment.toml:passthru_http.io_threads_per_reactor @opt/wso2am-4.2.0/repository/conf/deployment.toml:2 8 → 4 | set `4` at opt/wso2am-4.2.0/repository/conf/deployment.toml:2",
            ],
        ),
        (
            "the core count unknown (an image without its CPU list): nothing is judged (issue 13)",
            modern(
                "[passthru_http]\nio_threads_per_reactor = 8\n\n[n_http]\nsnd_io_threads = 4\nlst_io_threads = 4\n",
            )
            .unknown_cores(),
            Code::IO_THREADS_NOT_CORE_COUNT,
            vec![],
        ),
        (
            "the same on a key manager, which serves no API traffic: nothing",
            modern(
                "[passthru_http]\nio_threads_per_reactor = 8\n\n[n_http]\nsnd_io_threads = 4\nlst_io_threads = 4\n",
            )
            .role("key-manager"),
            Code::IO_THREADS_NOT_CORE_COUNT,
            vec![],
        ),
        (
            "8 threads on 8 cores: nothing",
            modern(
                "[passthru_http]\nio_threads_per_reactor = 8\n\n[n_http]\nsnd_io_threads = 8\nlst_io_threads = 8\n",
            )
            .cores(8),
            Code::IO_THREADS_NOT_CORE_COUNT,
            vec![],
        ),
        (
            "NHTTP threads unset: synapse's default 2 is not the core count, added to the file",
            modern("[server]\nhostname = \"localhost\"\n"),
            Code::IO_THREADS_NOT_CORE_COUNT,
            vec![
                "APM012 deployment.toml:n_http.lst_io_threads @opt/wso2am-4.2.0/repository/conf/deployment.toml 2 → 4 | add `n_http.lst_io_threads` = `4` to opt/wso2am-4.2.0/repository/conf/deployment.toml",
                "APM012 deployment.toml:n_http.snd_io_threads @opt/wso2am-4.2.0/repository/conf/deployment.toml 2 → 4 | add `n_http.snd_io_threads` = `4` to opt/wso2am-4.2.0/repository/conf/deployment.toml",
            ],
        ),
        (
            "2.x: passthru-http.properties; nhttp.properties is absent, so nothing to add to",
            legacy("passthru-http.properties", "io_threads_per_reactor=16\n"),
            Code::IO_THREADS_NOT_CORE_COUNT,
            vec![
                "APM012 nhttp.properties:lst_io_threads @opt/wso2am-2.6.0/repository/conf/nhttp.properties 2 → 4 | no fix",
                "APM012 nhttp.properties:snd_io_threads @opt/wso2am-2.6.0/repository/conf/nhttp.properties 2 → 4 | no fix",
                "APM012 passthru-http.properties:io_threads_per_reactor @opt/wso2am-2.6.0/repository/conf/passthru-http.properties:1 16 → 4 | set `4` at opt/wso2am-2.6.0/repository/conf/passthru-http.properties:1",
            ],
        ),
        (
            "2.x: an Oracle datasource validated with `SELECT 1`",
            legacy(
                "datasources/master-datasources.xml",
                &master_datasource(
                    "jdbc:oracle:thin:@db.example.internal:1521/APIM",
                    "oracle.jdbc.OracleDriver",
                    "SELECT 1",
                ),
            ),
            Code::VALIDATION_QUERY_MISMATCH,
            vec![
                "APM013 master-datasources.xml:/datasources-configuration/datasources/datasource[name='WSO2AM_DB']/definition/configuration/validationQuery @opt/wso2am-2.6.0/repository/conf/datasources/master-datasources.xml:9 SELECT 1 → SELECT 1 FROM DUAL | set `SELECT 1 FROM DUAL` at opt/wso2am-2.6.0/repository/conf/datasources/master-datasources.xml:9",
            ],
        ),
        (
            "2.x: a MySQL datasource with `SELECT 1`: nothing",
            legacy(
                "datasources/master-datasources.xml",
                &master_datasource(
                    "jdbc:mysql://db.example.internal:3306/apim",
                    "com.mysql.jdbc.Driver",
                    "SELECT 1",
                ),
            ),
            Code::VALIDATION_QUERY_MISMATCH,
            vec![],
        ),
        (
            "4.x: an Oracle database validated with `SELECT 1`",
            modern(
                "[database.apim_db]\ntype = \"oracle\"\nurl = \"jdbc:oracle:thin:@db.example.internal:1521/apim\"\nvalidationQuery = \"SELECT 1\"\n",
            ),
            Code::VALIDATION_QUERY_MISMATCH,
            vec![
                "APM013 deployment.toml:database.apim_db.validationQuery @opt/wso2am-4.2.0/repository/conf/deployment.toml:4 SELECT 1 → SELECT 1 FROM DUAL | set `SELECT 1 FROM DUAL` at opt/wso2am-4.2.0/repository/conf/deployment.toml:4",
            ],
        ),
        (
            "4.x: PostgreSQL has no DUAL",
            modern(
                "[database.apim_db]\ntype = \"postgre\"\nurl = \"jdbc:postgresql://db.example.internal:5432/apim\"\nvalidationQuery = \"SELECT 1 FROM DUAL\"\n",
            ),
            Code::VALIDATION_QUERY_MISMATCH,
            vec![
                "APM013 deployment.toml:database.apim_db.validationQuery @opt/wso2am-4.2.0/repository/conf/deployment.toml:4 SELECT 1 FROM DUAL → SELECT 1 | set `SELECT 1` at opt/wso2am-4.2.0/repository/conf/deployment.toml:4",
            ],
        ),
        (
            "4.x: Oracle without a query, the one inferred from `type` fits: nothing",
            modern(
                "[database.apim_db]\ntype = \"oracle\"\nurl = \"jdbc:oracle:thin:@db.example.internal:1521/apim\"\n",
            ),
            Code::VALIDATION_QUERY_MISMATCH,
            vec![],
        ),
        (
            "4.x: `type` says MySQL, the URL Oracle: the inferred query does not fit, no line to change",
            modern(
                "[database.apim_db]\ntype = \"mysql\"\nurl = \"jdbc:oracle:thin:@db.example.internal:1521/apim\"\n",
            ),
            Code::VALIDATION_QUERY_MISMATCH,
            vec![
                "APM013 deployment.toml:database.apim_db.validationQuery @opt/wso2am-4.2.0/repository/conf/deployment.toml SELECT 1 → SELECT 1 FROM DUAL | no fix",
            ],
        ),
        (
            "an unquoted dotted key under [passthru_http] makes nested tables",
            modern("[passthru_http]\nhttp.socket.timeout = 180000\n"),
            Code::TOML_KEY_HAS_NO_EFFECT,
            vec![
                "APM014 deployment.toml:passthru_http.http.socket.timeout @opt/wso2am-4.2.0/repository/conf/deployment.toml:2 passthru_http.http.socket.timeout → passthru_http.'http.socket.timeout' | no fix",
            ],
        ),
        (
            "a [transport.http] name under [passthru_http] is copied verbatim and never read",
            modern("[passthru_http]\ncore_worker_pool_size = 400\n"),
            Code::TOML_KEY_HAS_NO_EFFECT,
            vec![
                "APM014 deployment.toml:passthru_http.core_worker_pool_size @opt/wso2am-4.2.0/repository/conf/deployment.toml:2 passthru_http.core_worker_pool_size → `passthru_http.worker_pool_size_core` (or `transport.http.core_worker_pool_size`) | no fix",
            ],
        ),
        (
            "quoted dotted keys and raw names (io_buffer_size is both): nothing",
            modern(
                "[passthru_http]\n'http.socket.timeout' = 180000\nio_buffer_size = 16384\nworker_pool_size_core = 400\n",
            ),
            Code::TOML_KEY_HAS_NO_EFFECT,
            vec![],
        ),
        (
            "two token cache expiries, one template key, different values",
            modern(
                "[apim.cache.gateway_token]\nexpiry_time = \"900s\"\n\n[apim.cache.km_token]\nexpiry_time = \"30m\"\n",
            ),
            Code::TOML_ALIASES_CONFLICT,
            vec![
                "APM015 deployment.toml:apim.cache.gateway_token.expiry_time @opt/wso2am-4.2.0/repository/conf/deployment.toml:2 `apim.cache.gateway_token.expiry_time` = 900s (line 2); `apim.cache.km_token.expiry_time` = 30m (line 5) → one value | no fix",
            ],
        ),
        (
            "an alias and the raw key with different values",
            modern(
                "[transport.http]\ncore_worker_pool_size = 400\n\n[passthru_http]\nworker_pool_size_core = 200\n",
            ),
            Code::TOML_ALIASES_CONFLICT,
            vec![
                "APM015 deployment.toml:transport.http.core_worker_pool_size @opt/wso2am-4.2.0/repository/conf/deployment.toml:2 `transport.http.core_worker_pool_size` = 400 (line 2); `passthru_http.worker_pool_size_core` = 200 (line 5) → one value | no fix",
            ],
        ),
        (
            "two aliases with the same value: nothing",
            modern(
                "[apim.cache.gateway_token]\nexpiry_time = \"900s\"\n\n[apim.cache.km_token]\nexpiry_time = \"900s\"\n",
            ),
            Code::TOML_ALIASES_CONFLICT,
            vec![],
        ),
        (
            "generic: a socket timeout above the profile's range is set to its maximum",
            modern("[transport.http]\nsocket_timeout = 600000\n"),
            Code::SETTING_ABOVE_RECOMMENDED,
            vec![
                "APM002 deployment.toml:transport.http.socket_timeout @opt/wso2am-4.2.0/repository/conf/deployment.toml:2 600000 → between 60000 and 180000 | set `180000` at opt/wso2am-4.2.0/repository/conf/deployment.toml:2",
            ],
        ),
        (
            "generic: a bounded worker queue where the profile wants -1",
            modern("[passthru_http]\nworker_pool_queue_length = 100\n"),
            Code::SETTING_NOT_RECOMMENDED,
            vec![
                "APM003 deployment.toml:passthru_http.worker_pool_queue_length @opt/wso2am-4.2.0/repository/conf/deployment.toml:2 100 → -1 | set `-1` at opt/wso2am-4.2.0/repository/conf/deployment.toml:2",
            ],
        ),
    ];
    for (what, node, code, want) in cases {
        assert_eq!(node.findings(code), want, "{what}");
    }
}

/// The node's own role (`server_role`, `-Dprofile=`) is the default `--role`, and a `--role`
/// that disagrees with it is APM016.
#[test]
fn the_role_the_node_declares() {
    let node = |role: &str| modern(&format!("[server]\nserver_role = \"{role}\"\n"));
    let unit = |profile: &str| {
        modern("[server]\nserver_role = \"default\"\n").file(
            "etc/systemd/system/wso2am.service",
            &format!(
                "[Service]\nExecStart=/opt/wso2am-4.2.0/bin/api-manager.sh -Dprofile={profile}\n"
            ),
        )
    };
    for (what, n, role) in [
        (
            "server_role gateway-worker",
            node("gateway-worker"),
            "gateway",
        ),
        (
            "server_role control-plane",
            node("control-plane"),
            "control-plane",
        ),
        ("server_role default", node("default"), "all-in-one"),
        (
            "3.x's publisher is the control plane",
            node("api-publisher"),
            "control-plane",
        ),
        (
            "a name apim-tune does not know: unknown",
            node("api-something"),
            "all-in-one",
        ),
        (
            "an unknown -Dprofile stays unknown: server_role does not stand in",
            modern("[server]\nserver_role = \"gateway-worker\"\n").file(
                "etc/systemd/system/wso2am.service",
                "[Service]\nExecStart=/opt/wso2am-4.2.0/bin/api-manager.sh -Dprofile=api-something\n",
            ),
            "all-in-one",
        ),
        (
            "another home's units say nothing about this one",
            modern("[server]\nserver_role = \"gateway-worker\"\n")
                .file(
                    "etc/systemd/system/a-tm.service",
                    "[Service]\nExecStart=/opt/tm/bin/api-manager.sh -Dprofile=traffic-manager\n",
                )
                .file(
                    "etc/systemd/system/b-cp.service",
                    "[Service]\nExecStart=/opt/cp/bin/api-manager.sh -Dprofile=control-plane\n",
                ),
            "gateway",
        ),
        (
            "the unit's -Dprofile beats server_role",
            unit("traffic-manager"),
            "traffic-manager",
        ),
    ] {
        assert_eq!(n.audited_role(), role, "{what}");
        assert!(
            n.findings(Code::ROLE_DIFFERS_FROM_NODE).is_empty(),
            "{what}"
        );
    }
    assert_eq!(
        node("gateway-worker")
            .role("control-plane")
            .findings(Code::ROLE_DIFFERS_FROM_NODE),
        vec![
            "APM016 apim:<root>/opt/wso2am-4.2.0 @opt/wso2am-4.2.0/repository/conf/deployment.toml:2 control-plane → gateway | no fix"
        ]
    );
    assert!(
        node("gateway-worker")
            .role("gateway")
            .findings(Code::ROLE_DIFFERS_FROM_NODE)
            .is_empty()
    );
}

/// The report says which facts are unknown and how to give them (issue 13).
#[test]
fn unknown_facts_are_named_with_their_flag() {
    let notes = modern("[server]\nhostname = \"x\"\n")
        .unknown_cores()
        .notes();
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("cores unknown") && n.contains("--cores")),
        "{notes:?}"
    );
    let notes = modern("[server]\nhostname = \"x\"\n").java(17).notes();
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("kernel unknown") && n.contains("--kernel")),
        "{notes:?}"
    );
    let known = modern("[server]\nhostname = \"x\"\n")
        .java(17)
        .kernel("6.1.0-18-amd64")
        .notes();
    assert!(!known.iter().any(|n| n.contains("unknown")), "{known:?}");
}

/// With a home and no JDK known, the notes say how to give it (issue 13).
#[test]
fn an_unknown_jdk_is_named() {
    let notes = modern("[server]\nhostname = \"x\"\n").notes();
    assert!(
        notes.iter().any(|n| n.starts_with("JDK unknown")),
        "{notes:?}"
    );
    let notes = modern("[server]\nhostname = \"x\"\n").java(17).notes();
    assert!(
        !notes.iter().any(|n| n.starts_with("JDK unknown")),
        "{notes:?}"
    );
}

/// Package G: logging that costs throughput (APM040-APM041), revocation not pushed (APM042),
/// security hygiene (APM043-APM046), and APM010's roles and severity.
mod hygiene {
    use super::{legacy, modern};
    use crate::diag::{Code, Severity};
    use crate::rules::testing::Node;

    const LOG4J2: &str = "opt/wso2am-4.2.0/repository/conf/log4j2.properties";

    /// The loggers of the shipped 4.2.0 log4j2.properties that matter here, as shipped: the wire
    /// and header loggers declared at DEBUG but not listed in `loggers`, the message-tracing
    /// loggers at TRACE (they write only when tracing is switched on per API), root at ERROR.
    const STOCK_LOG4J2: &str =
        "loggers = trace-messages, synapse, synapse_transport, trace, correlation
logger.trace-messages.name = trace.messages
logger.trace-messages.level = TRACE
logger.trace.name = tracer
logger.trace.level = TRACE
logger.synapse.name = org.apache.synapse
logger.synapse.level = INFO
logger.synapse_transport.name = org.apache.synapse.transport
logger.synapse_transport.level = INFO
logger.synapse-headers.name = org.apache.synapse.transport.http.headers
logger.synapse-headers.level = DEBUG
logger.synapse-wire.name = org.apache.synapse.transport.http.wire
logger.synapse-wire.level = DEBUG
logger.correlation.name = correlation
logger.correlation.level = INFO
rootLogger.level = ERROR
";

    fn with_log4j2(text: &str) -> Node {
        modern("[server]\nhostname = \"localhost\"\n").file(LOG4J2, text)
    }

    #[test]
    fn logging_costs() {
        let wire_listed = STOCK_LOG4J2.replacen("loggers = ", "loggers = synapse-wire, ", 1);
        let cases: Vec<(&str, Node, Code, Vec<&str>)> = vec![
            (
                "the shipped 4.x loggers: nothing",
                with_log4j2(STOCK_LOG4J2).role("gateway"),
                Code::LOGGING_COSTS_THROUGHPUT,
                vec![],
            ),
            (
                "the wire logger listed in `loggers`",
                with_log4j2(&wire_listed).role("gateway"),
                Code::LOGGING_COSTS_THROUGHPUT,
                vec![
                    "APM040 log4j2.properties:logger.synapse-wire.level @opt/wso2am-4.2.0/repository/conf/log4j2.properties:13 DEBUG → INFO or less verbose outside an investigation | no fix",
                ],
            ),
            (
                "no `loggers` list: every declared logger counts",
                with_log4j2(
                    "logger.s.name = org.apache.synapse\nlogger.s.level = trace\nrootLogger.level = DEBUG\n",
                )
                .role("gateway"),
                Code::LOGGING_COSTS_THROUGHPUT,
                vec![
                    "APM040 log4j2.properties:logger.s.level @opt/wso2am-4.2.0/repository/conf/log4j2.properties:2 TRACE → INFO or less verbose outside an investigation | no fix",
                    "APM040 log4j2.properties:rootLogger.level @opt/wso2am-4.2.0/repository/conf/log4j2.properties:3 DEBUG → INFO or less verbose outside an investigation | no fix",
                ],
            ),
            (
                "2.x log4j.properties: Synapse at DEBUG, root at INFO",
                legacy(
                    "log4j.properties",
                    "log4j.rootLogger=INFO, CARBON_CONSOLE\nlog4j.logger.org.apache.synapse=DEBUG\n",
                )
                .role("gateway"),
                Code::LOGGING_COSTS_THROUGHPUT,
                vec![
                    "APM040 log4j.properties:log4j.logger.org.apache.synapse @opt/wso2am-2.6.0/repository/conf/log4j.properties:2 DEBUG → INFO or less verbose outside an investigation | no fix",
                ],
            ),
            (
                "2.x: the wire logger commented out, as shipped",
                legacy(
                    "log4j.properties",
                    "log4j.rootLogger=INFO, CARBON_CONSOLE\n#log4j.logger.org.apache.synapse.transport.http.wire=DEBUG\n",
                )
                .role("gateway"),
                Code::LOGGING_COSTS_THROUGHPUT,
                vec![],
            ),
            (
                "4.x: correlation logs on in deployment.toml",
                modern("[apim.correlation_logs]\nenable = true\n"),
                Code::LOGGING_COSTS_THROUGHPUT,
                vec![
                    "APM040 deployment.toml:apim.correlation_logs.enable @opt/wso2am-4.2.0/repository/conf/deployment.toml:2 true → false outside an investigation | no fix",
                ],
            ),
            (
                "4.x: correlation logs off, as shipped in the script",
                modern("[server]\nhostname = \"localhost\"\n").file(
                    "opt/wso2am-4.2.0/bin/api-manager.sh",
                    "#!/bin/sh\n$JAVACMD -DenableCorrelationLogs=false org.wso2.carbon.bootstrap.Bootstrap \"$@\"\n",
                ),
                Code::LOGGING_COSTS_THROUGHPUT,
                vec![],
            ),
            (
                "2.x: correlation logs on in the start-up script",
                legacy("carbon.xml", "<Server><Version>2.6.0</Version></Server>\n").file(
                    "opt/wso2am-2.6.0/bin/wso2server.sh",
                    "#!/bin/sh\n$JAVACMD -DenableCorrelationLogs=true org.wso2.carbon.bootstrap.Bootstrap \"$@\"\n",
                ),
                Code::LOGGING_COSTS_THROUGHPUT,
                vec![
                    "APM040 wso2server.sh:-DenableCorrelationLogs @opt/wso2am-2.6.0/bin/wso2server.sh:2 true → false outside an investigation | no fix",
                ],
            ),
            (
                "the gateway access log on a gateway: information",
                with_log4j2(
                    "loggers = access\nlogger.access.name = org.apache.synapse.transport.http.access\nlogger.access.level = INFO\n",
                )
                .role("gateway"),
                Code::ACCESS_LOG_PER_REQUEST,
                vec![
                    "APM041 log4j2.properties:logger.access.level @opt/wso2am-4.2.0/repository/conf/log4j2.properties:3 INFO → on only when the access log is used | no fix",
                ],
            ),
            (
                "the access logger on a key manager carries no API traffic: nothing",
                with_log4j2(
                    "loggers = access\nlogger.access.name = org.apache.synapse.transport.http.access\nlogger.access.level = INFO\n",
                )
                .role("key-manager"),
                Code::ACCESS_LOG_PER_REQUEST,
                vec![],
            ),
            (
                "2.x access log at WARN: nothing",
                legacy(
                    "log4j.properties",
                    "log4j.logger.org.apache.synapse.transport.http.access=WARN\n",
                )
                .role("gateway"),
                Code::ACCESS_LOG_PER_REQUEST,
                vec![],
            ),
            (
                "2.x access log at INFO",
                legacy(
                    "log4j.properties",
                    "log4j.logger.org.apache.synapse.transport.http.access=INFO\n",
                )
                .role("gateway"),
                Code::ACCESS_LOG_PER_REQUEST,
                vec![
                    "APM041 log4j.properties:log4j.logger.org.apache.synapse.transport.http.access @opt/wso2am-2.6.0/repository/conf/log4j.properties:1 INFO → on only when the access log is used | no fix",
                ],
            ),
        ];
        for (what, node, code, expected) in cases {
            assert_eq!(node.findings(code), expected, "{what}");
        }
    }

    #[test]
    fn synapse_debug_is_a_warning_only_where_traffic_flows() {
        let text = "loggers = s\nlogger.s.name = org.apache.synapse\nlogger.s.level = DEBUG\nrootLogger.level = DEBUG\n";
        assert_eq!(
            with_log4j2(text)
                .role("gateway")
                .severities(Code::LOGGING_COSTS_THROUGHPUT),
            vec![Severity::Warning, Severity::Warning]
        );
        // Synapse carries no API traffic on a key manager; DEBUG on root costs everywhere.
        assert_eq!(
            with_log4j2(text)
                .role("key-manager")
                .severities(Code::LOGGING_COSTS_THROUGHPUT),
            vec![Severity::Info, Severity::Warning]
        );
    }

    #[test]
    fn a_level_that_is_not_a_level_is_a_source_problem_with_its_column() {
        let node = with_log4j2(
            "rootLogger.level = ERROR\nlogger.s.name = org.apache.synapse\nlogger.s.level = LOUD\n",
        );
        assert_eq!(
            node.messages(Code::SOURCE_UNPARSEABLE),
            vec![
                "opt/wso2am-4.2.0/repository/conf/log4j2.properties:3:18: `LOUD` is not a Log4j level (one of ALL, TRACE, DEBUG, INFO, WARN, ERROR, FATAL, OFF)"
            ]
        );
        assert!(node.findings(Code::LOGGING_COSTS_THROUGHPUT).is_empty());
    }

    #[test]
    fn revocation_not_pushed() {
        let off = "[apim.token.revocation]\nenable_realtime_notifier = false\n";
        let cases: Vec<(&str, Node, Vec<&str>)> = vec![
            (
                "notifiers off on a key manager",
                modern(off).role("key-manager"),
                vec![
                    "APM042 deployment.toml:apim.token.revocation.enable_realtime_notifier @opt/wso2am-4.2.0/repository/conf/deployment.toml:2 realtime and persistent notifiers off → enable_realtime_notifier = true | no fix",
                ],
            ),
            (
                "a gateway does not revoke: nothing",
                modern(off).role("gateway"),
                vec![],
            ),
            (
                "the persistent notifier on instead: nothing",
                modern(
                    "[apim.token.revocation]\nenable_realtime_notifier = false\nenable_persistent_notifier = true\n",
                )
                .role("key-manager"),
                vec![],
            ),
            (
                "shipped defaults: nothing",
                modern("[server]\nhostname = \"localhost\"\n").role("key-manager"),
                vec![],
            ),
        ];
        for (what, node, expected) in cases {
            assert_eq!(
                node.findings(Code::REVOCATION_NOT_PUSHED),
                expected,
                "{what}"
            );
        }
    }

    #[test]
    fn token_caches_both_on_is_a_warning_on_validating_roles_only() {
        let both =
            "[apim.cache.gateway_token]\nenable = true\n\n[apim.cache.km_token]\nenable = true\n";
        for role in ["all-in-one", "gateway", "key-manager", "control-plane"] {
            assert_eq!(
                modern(both)
                    .role(role)
                    .severities(Code::TOKEN_CACHES_BOTH_ENABLED),
                vec![Severity::Warning],
                "{role}"
            );
        }
        assert!(
            modern(both)
                .role("traffic-manager")
                .findings(Code::TOKEN_CACHES_BOTH_ENABLED)
                .is_empty()
        );
    }

    const CARBON_XML: &str = "<Server xmlns=\"http://wso2.org/projects/carbon/carbon.xml\">
    <Version>2.6.0</Version>
    <Security>
        <KeyStore>
            <Location>${carbon.home}/repository/resources/security/wso2carbon.jks</Location>
            <Password>PASSWORD</Password>
        </KeyStore>
        <TrustStore>
            <Password>TRUST</Password>
        </TrustStore>
    </Security>
</Server>
";

    fn carbon(keystore: &str, truststore: &str) -> String {
        CARBON_XML
            .replace("PASSWORD", keystore)
            .replace("TRUST", truststore)
    }

    #[test]
    fn security_hygiene() {
        let shipped = concat!("wso2", "carbon");
        let cases: Vec<(&str, Node, Code, Vec<&str>)> = vec![
            (
                "4.x: the shipped super admin",
                modern("[super_admin]\nusername = \"admin\"\npassword = \"admin\"\n"),
                Code::DEFAULT_ADMIN_CREDENTIALS,
                vec![
                    "APM043 deployment.toml:super_admin.password @opt/wso2am-4.2.0/repository/conf/deployment.toml:3 the default password → a password of your own | no fix",
                ],
            ),
            (
                "4.x: the admin password changed",
                modern("[super_admin]\nusername = \"admin\"\npassword = \"Kx7-not-default\"\n"),
                Code::DEFAULT_ADMIN_CREDENTIALS,
                vec![],
            ),
            (
                "2.x: user-mgt.xml's admin user as shipped",
                legacy(
                    "user-mgt.xml",
                    "<UserManager>\n    <Realm>\n        <Configuration>\n            <AdminUser>\n                <UserName>admin</UserName>\n                <Password>admin</Password>\n            </AdminUser>\n        </Configuration>\n    </Realm>\n</UserManager>\n",
                ),
                Code::DEFAULT_ADMIN_CREDENTIALS,
                vec![
                    "APM043 user-mgt.xml:/UserManager/Realm/Configuration/AdminUser/Password @opt/wso2am-2.6.0/repository/conf/user-mgt.xml:6 the default password → a password of your own | no fix",
                ],
            ),
            (
                "2.x: user-mgt.xml's admin password changed",
                legacy(
                    "user-mgt.xml",
                    "<UserManager><Realm><Configuration><AdminUser><UserName>admin</UserName><Password>Kx7-own</Password></AdminUser></Configuration></Realm></UserManager>\n",
                ),
                Code::DEFAULT_ADMIN_CREDENTIALS,
                vec![],
            ),
            (
                "4.x: the TLS keystore with the shipped password",
                modern(&format!(
                    "[keystore.tls]\nfile_name = \"node.jks\"\npassword = \"{shipped}\"\n\n[keystore.primary]\npassword = \"Kx7-own\"\n\n[truststore]\npassword = \"Kx7-own\"\n"
                )),
                Code::DEFAULT_KEYSTORE_PASSWORD,
                vec![
                    "APM044 deployment.toml:keystore.tls.password @opt/wso2am-4.2.0/repository/conf/deployment.toml:3 the default password → stores of the node's own, with their own passwords | no fix",
                ],
            ),
            (
                "4.x: every store with its own password",
                modern(
                    "[keystore.tls]\npassword = \"Kx7-own\"\n\n[keystore.primary]\npassword = \"Kx7-own\"\n\n[truststore]\npassword = \"Kx7-own\"\n",
                ),
                Code::DEFAULT_KEYSTORE_PASSWORD,
                vec![],
            ),
            (
                "2.x: carbon.xml keystore and truststore as shipped",
                legacy("carbon.xml", &carbon(shipped, shipped)),
                Code::DEFAULT_KEYSTORE_PASSWORD,
                vec![
                    "APM044 carbon.xml:/Server/Security/KeyStore/Password @opt/wso2am-2.6.0/repository/conf/carbon.xml:6 the default password → stores of the node's own, with their own passwords | no fix",
                ],
            ),
            (
                "2.x: carbon.xml stores with their own passwords",
                legacy("carbon.xml", &carbon("Kx7-own", "Kx7-own")),
                Code::DEFAULT_KEYSTORE_PASSWORD,
                vec![],
            ),
            (
                "4.x: CORS `*` on a gateway",
                modern("[apim.cors]\nallow_origins = \"*\"\n").role("gateway"),
                Code::CORS_ALLOWS_ANY_ORIGIN,
                vec![
                    "APM045 deployment.toml:apim.cors.allow_origins @opt/wso2am-4.2.0/repository/conf/deployment.toml:2 * → the origins that call the APIs | no fix",
                ],
            ),
            (
                "4.x: CORS `*` on a key manager, which serves no API: nothing",
                modern("[apim.cors]\nallow_origins = \"*\"\n").role("key-manager"),
                Code::CORS_ALLOWS_ANY_ORIGIN,
                vec![],
            ),
            (
                "4.x: CORS listing its origins",
                modern("[apim.cors]\nallow_origins = \"https://app.example.com\"\n").role("gateway"),
                Code::CORS_ALLOWS_ANY_ORIGIN,
                vec![],
            ),
            (
                "4.x: CORS `*` but CORS off",
                modern("[apim.cors]\nenable = false\nallow_origins = \"*\"\n").role("gateway"),
                Code::CORS_ALLOWS_ANY_ORIGIN,
                vec![],
            ),
            (
                "2.x: api-manager.xml CORS `*`",
                legacy(
                    "api-manager.xml",
                    "<APIManager>\n    <CORSConfiguration>\n        <Enabled>true</Enabled>\n        <Access-Control-Allow-Origin>*</Access-Control-Allow-Origin>\n    </CORSConfiguration>\n</APIManager>\n",
                )
                .role("gateway"),
                Code::CORS_ALLOWS_ANY_ORIGIN,
                vec![
                    "APM045 api-manager.xml:/APIManager/CORSConfiguration/Access-Control-Allow-Origin @opt/wso2am-2.6.0/repository/conf/api-manager.xml:4 * → the origins that call the APIs | no fix",
                ],
            ),
            (
                "4.x: the pass-through listener offers TLS 1.0 and 1.1",
                modern(
                    "[transport.passthru_https.listener.parameters]\nHttpsProtocols = \"TLSv1,TLSv1.1,TLSv1.2\"\n",
                ),
                Code::LEGACY_TLS_PROTOCOLS,
                vec![
                    "APM046 deployment.toml:transport.passthru_https.listener.parameters.HttpsProtocols @opt/wso2am-4.2.0/repository/conf/deployment.toml:2 TLSv1, TLSv1.1 → TLSv1.2 (and TLSv1.3) only | no fix",
                ],
            ),
            (
                "4.x: only TLS 1.2 and 1.3",
                modern(
                    "[transport.passthru_https.listener.parameters]\nHttpsProtocols = \"TLSv1.2,TLSv1.3\"\n",
                ),
                Code::LEGACY_TLS_PROTOCOLS,
                vec![],
            ),
            (
                "2.x: axis2.xml listener parameter and Tomcat's `-TLSv1` (removed, not offered)",
                legacy(
                    "axis2/axis2.xml",
                    "<axisconfig>\n    <transportReceiver name=\"https\" class=\"org.apache.synapse.transport.passthru.PassThroughHttpSSLListener\">\n        <parameter name=\"HttpsProtocols\">TLSv1.1,TLSv1.2</parameter>\n    </transportReceiver>\n</axisconfig>\n",
                )
                .file(
                    "opt/wso2am-2.6.0/repository/conf/tomcat/catalina-server.xml",
                    "<Server>\n  <Service>\n    <Connector port=\"9443\" sslEnabledProtocols=\"-TLSv1,TLSv1.2\"/>\n  </Service>\n</Server>\n",
                ),
                Code::LEGACY_TLS_PROTOCOLS,
                vec![
                    "APM046 axis2.xml:/axisconfig/transportReceiver[@name='https']/parameter[@name='HttpsProtocols'] @opt/wso2am-2.6.0/repository/conf/axis2/axis2.xml:3 TLSv1.1 → TLSv1.2 (and TLSv1.3) only | no fix",
                ],
            ),
            (
                "2.x: catalina-server.xml as shipped",
                legacy(
                    "tomcat/catalina-server.xml",
                    "<Server>\n  <Service>\n    <Connector port=\"9443\" sslEnabledProtocols=\"TLSv1,TLSv1.1,TLSv1.2\"/>\n  </Service>\n</Server>\n",
                ),
                Code::LEGACY_TLS_PROTOCOLS,
                vec![
                    "APM046 catalina-server.xml:/Server/Service/Connector/@sslEnabledProtocols @opt/wso2am-2.6.0/repository/conf/tomcat/catalina-server.xml:3 TLSv1, TLSv1.1 → TLSv1.2 (and TLSv1.3) only | no fix",
                ],
            ),
        ];
        for (what, node, code, expected) in cases {
            let found = node.findings(code);
            assert_eq!(found, expected, "{what}");
            for line in found.iter().chain(node.messages(code).iter()) {
                assert!(!line.contains(shipped), "{what}: {line}");
            }
        }
    }
}
