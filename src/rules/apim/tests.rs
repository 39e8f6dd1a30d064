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
            "reactor threads unset: the default is the core count, and NHTTP (not configured) is never judged",
            modern("[server]\nhostname = \"localhost\"\n"),
            Code::IO_THREADS_NOT_CORE_COUNT,
            vec![],
        ),
        (
            "2.x: passthru-http.properties; the NHTTP reactor is not judged",
            legacy("passthru-http.properties", "io_threads_per_reactor=16\n"),
            Code::IO_THREADS_NOT_CORE_COUNT,
            vec![
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
            "two aliases with one value in two units: nothing (900s is 15m; found in review of issue 16)",
            modern(
                "[apim.cache.gateway_token]\nexpiry_time = \"900s\"\n\n[apim.cache.km_token]\nexpiry_time = \"15m\"\n",
            ),
            Code::TOML_ALIASES_CONFLICT,
            vec![],
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
            "generic: a long socket timeout is not a finding (it must outlast the global timeout)",
            modern("[transport.http]\nsocket_timeout = 600000\n"),
            Code::SETTING_ABOVE_RECOMMENDED,
            vec![],
        ),
        (
            "generic: a 60 s socket timeout is raised to 180000, above the 120000 global timeout",
            modern("[transport.http]\nsocket_timeout = 60000\n"),
            Code::SETTING_BELOW_RECOMMENDED,
            vec![
                "APM001 deployment.toml:transport.client.default_max_connection_per_host @opt/wso2am-4.2.0/repository/conf/deployment.toml 500 → >= 1000 | add `transport.client.default_max_connection_per_host` = `1000` to opt/wso2am-4.2.0/repository/conf/deployment.toml",
                "APM001 deployment.toml:transport.client.max_total_connections @opt/wso2am-4.2.0/repository/conf/deployment.toml 15000 → >= 30000 | add `transport.client.max_total_connections` = `30000` to opt/wso2am-4.2.0/repository/conf/deployment.toml",
                "APM001 deployment.toml:transport.http.socket_timeout @opt/wso2am-4.2.0/repository/conf/deployment.toml:2 60000 → >= 180000 | set `180000` at opt/wso2am-4.2.0/repository/conf/deployment.toml:2",
            ],
        ),
        (
            "generic: a bounded worker queue where the profile wants -1",
            modern("[passthru_http]\nworker_pool_queue_length = 100\n"),
            Code::SETTING_NOT_RECOMMENDED,
            vec![
                "APM003 deployment.toml:apim.throttling.enable_unlimited_tier @opt/wso2am-4.2.0/repository/conf/deployment.toml true → false | no fix",
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

/// Package T (issue 14): settings judged only with the transport or client that reads them, the
/// timeout order, and the throttling / JWT / indexing / key-manager Tomcat entries.
mod transport {
    use super::{legacy, modern};
    use crate::diag::{Code, Severity};
    use crate::rules::testing::Node;

    /// A 2.1.0 home with these files under `repository/conf` (as shipped: Thrift key validation,
    /// pass-through only, 60 s socket timeout under a 120 s global timeout).
    fn home_21(files: &[(&str, &str)]) -> Node {
        let mut n = Node::new();
        for (rel, text) in files {
            n = n.file(&format!("opt/wso2am-2.1.0/repository/conf/{rel}"), text);
        }
        n.home("opt/wso2am-2.1.0")
    }

    const AXIS2_PASSTHRU: &str = r#"<axisconfig name="AxisJava2.0">
    <transportReceiver name="http" class="org.apache.synapse.transport.passthru.PassThroughHttpListener"/>
    <!--transportReceiver name="http" class="org.apache.synapse.transport.nhttp.HttpCoreNIOListener"/-->
    <transportSender name="http" class="org.apache.synapse.transport.passthru.PassThroughHttpSender"/>
</axisconfig>
"#;

    const AXIS2_NHTTP: &str = r#"<axisconfig name="AxisJava2.0">
    <transportReceiver name="http" class="org.apache.synapse.transport.nhttp.HttpCoreNIOListener"/>
    <transportSender name="http" class="org.apache.synapse.transport.nhttp.HttpCoreNIOSender"/>
</axisconfig>
"#;

    const AXIS2_CLIENT: &str = r#"<axisconfig name="AxisJava2.0">
    <transportSender name="https" class="org.apache.axis2.transport.http.CommonsHTTPTransportSender">
        <parameter name="SO_TIMEOUT">120000</parameter>
        <parameter name="CONNECTION_TIMEOUT">60000</parameter>
    </transportSender>
</axisconfig>
"#;

    fn api_manager(client: &str) -> String {
        format!(
            "<APIManager>\n    <APIKeyValidator>\n        <KeyValidatorClientType>{client}</KeyValidatorClientType>\n    </APIKeyValidator>\n</APIManager>\n"
        )
    }

    #[test]
    fn nhttp_settings_only_with_an_nhttp_axis2() {
        let nhttp = "snd_t_core=20\n";
        let stock = legacy("axis2/axis2.xml", AXIS2_PASSTHRU)
            .file("opt/wso2am-2.6.0/repository/conf/nhttp.properties", nhttp);
        assert_eq!(
            stock
                .findings(Code::SETTING_BELOW_RECOMMENDED)
                .iter()
                .filter(|l| l.contains("nhttp"))
                .count(),
            0
        );
        let configured = legacy("axis2/axis2.xml", AXIS2_NHTTP)
            .file("opt/wso2am-2.6.0/repository/conf/nhttp.properties", nhttp);
        let lines: Vec<String> = configured
            .findings(Code::SETTING_BELOW_RECOMMENDED)
            .into_iter()
            .filter(|l| l.contains("nhttp.properties:snd_t_core"))
            .collect();
        assert_eq!(
            lines,
            vec![
                "APM001 nhttp.properties:snd_t_core @opt/wso2am-2.6.0/repository/conf/nhttp.properties:1 20 → >= 200 | set `200` at opt/wso2am-2.6.0/repository/conf/nhttp.properties:1"
            ]
        );
        // 4.x: axis2.xml.j2 has no HttpCoreNIO, so [n_http] never takes effect: never judged.
        let modern = modern("[n_http]\nsnd_t_core = 20\n");
        for code in [
            Code::SETTING_BELOW_RECOMMENDED,
            Code::IO_THREADS_NOT_CORE_COUNT,
        ] {
            assert!(
                modern.findings(code).iter().all(|l| !l.contains("n_http")),
                "{:?}",
                modern.findings(code)
            );
        }
    }

    #[test]
    fn key_validation_timeouts_only_with_the_ws_client() {
        let with = |client: &str| {
            legacy("axis2/axis2_client.xml", AXIS2_CLIENT).file(
                "opt/wso2am-2.6.0/repository/conf/api-manager.xml",
                &api_manager(client),
            )
        };
        assert_eq!(
            with("WSClient")
                .findings(Code::SETTING_ABOVE_RECOMMENDED)
                .into_iter()
                .filter(|l| l.contains("axis2_client"))
                .collect::<Vec<_>>(),
            vec![
                "APM002 axis2_client.xml:/axisconfig/transportSender[@name='https']/parameter[@name='SO_TIMEOUT'] @opt/wso2am-2.6.0/repository/conf/axis2/axis2_client.xml:3 120000 → <= 60000 | set `60000` at opt/wso2am-2.6.0/repository/conf/axis2/axis2_client.xml:3"
            ]
        );
        assert_eq!(
            with("ThriftClient")
                .findings(Code::SETTING_ABOVE_RECOMMENDED)
                .into_iter()
                .filter(|l| l.contains("axis2_client"))
                .count(),
            0
        );
    }

    #[test]
    fn http_client_pools_are_gateway_advice() {
        let pools = |role: &str| -> Vec<String> {
            modern("[server]\nhostname = \"localhost\"\n")
                .role(role)
                .findings(Code::SETTING_BELOW_RECOMMENDED)
                .into_iter()
                .filter(|l| l.contains("transport.client"))
                .collect()
        };
        assert_eq!(pools("gateway").len(), 2);
        assert_eq!(pools("key-manager"), Vec::<String>::new());
    }

    #[test]
    fn timeout_order() {
        let cases: Vec<(&str, Node, Vec<&str>)> = vec![
            (
                "2.1 as shipped: socket 60000 (code default) under a 120000 global timeout; the profile's socket-timeout entry reports and fixes it (below)",
                home_21(&[
                    ("passthru-http.properties", "#http.socket.timeout=60000\n"),
                    ("synapse.properties", "synapse.global_timeout_interval=120000\n"),
                ]),
                vec![],
            ),
            (
                "the same inversion with a site profile that does not judge the socket timeout",
                home_21(&[
                    ("passthru-http.properties", "#http.socket.timeout=60000\n"),
                    ("synapse.properties", "synapse.global_timeout_interval=120000\n"),
                ])
                .profile(
                    "[meta]\nname = \"site\"\nsummary = \"s\"\nextends = \"all-in-one\"\n\n[apim.\"passthru.socket_timeout\"]\ndisabled = true\n",
                ),
                vec![
                    "APM020 passthru-http.properties:http.socket.timeout @opt/wso2am-2.1.0/repository/conf/passthru-http.properties 60000 ms → > 120000 ms | no fix",
                ],
            ),
            (
                "4.2 defaults: 180000 over 120000, nothing",
                modern("[server]\nhostname = \"localhost\"\n"),
                vec![],
            ),
            (
                "4.2: a global timeout raised above the socket timeout (APM001 raises the socket timeout above it)",
                modern("[synapse_properties]\n'synapse.global_timeout_interval' = 300000\n"),
                vec![],
            ),
            (
                "an endpoint timeout above the global timeout, read from a deployed API",
                legacy("synapse.properties", "synapse.global_timeout_interval=120000\n")
                    .file("opt/wso2am-2.6.0/repository/conf/passthru-http.properties", "http.socket.timeout=180000\n")
                    .file(
                        "opt/wso2am-2.6.0/repository/deployment/server/synapse-configs/default/api/admin--Slow_v1.xml",
                        "<api name=\"admin--Slow\">\n  <resource>\n    <inSequence>\n      <send>\n        <endpoint>\n          <http uri-template=\"http://backend/slow\">\n            <timeout>\n              <duration>300000</duration>\n              <responseAction>fault</responseAction>\n            </timeout>\n          </http>\n        </endpoint>\n      </send>\n    </inSequence>\n  </resource>\n</api>\n",
                    ),
                vec![
                    "APM020 admin--Slow_v1.xml:timeout/duration @opt/wso2am-2.6.0/repository/deployment/server/synapse-configs/default/api/admin--Slow_v1.xml:8 300000 ms → <= 120000 ms | no fix",
                ],
            ),
            (
                "a key manager has no gateway timeouts to order",
                modern("[synapse_properties]\n'synapse.global_timeout_interval' = 300000\n").role("key-manager"),
                vec![],
            ),
        ];
        for (what, node, want) in cases {
            assert_eq!(node.findings(Code::TIMEOUT_ORDER_INVERTED), want, "{what}");
        }
        // One finding for the shipped 2.1 inversion, with its fix above the global timeout.
        let shipped = home_21(&[
            ("passthru-http.properties", "#http.socket.timeout=60000\n"),
            (
                "synapse.properties",
                "synapse.global_timeout_interval=120000\n",
            ),
        ])
        .findings(Code::SETTING_BELOW_RECOMMENDED);
        assert!(
            shipped
                .iter()
                .any(|l| l.contains("http.socket.timeout") && l.contains("180000")),
            "{shipped:?}"
        );
    }

    #[test]
    fn the_socket_timeout_fix_outlasts_a_longer_global_timeout() {
        let node = modern(
            "[synapse_properties]\n'synapse.global_timeout_interval' = 300000\n\n[transport.http]\nsocket_timeout = 60000\n",
        );
        let lines: Vec<String> = node
            .findings(Code::SETTING_BELOW_RECOMMENDED)
            .into_iter()
            .filter(|l| l.contains("socket_timeout"))
            .collect();
        assert_eq!(
            lines,
            vec![
                "APM001 deployment.toml:transport.http.socket_timeout @opt/wso2am-4.2.0/repository/conf/deployment.toml:5 60000 → >= 360000 | set `360000` at opt/wso2am-4.2.0/repository/conf/deployment.toml:5"
            ]
        );
    }

    #[test]
    fn io_threads_is_info() {
        let node = modern("[passthru_http]\nio_threads_per_reactor = 16\n").cores(2);
        assert_eq!(
            node.severities(Code::IO_THREADS_NOT_CORE_COUNT),
            vec![Severity::Info]
        );
    }

    #[test]
    fn throttling_jwt_indexing_and_key_manager_tomcat() {
        let all = |node: &Node| -> Vec<String> {
            [
                Code::SETTING_BELOW_RECOMMENDED,
                Code::SETTING_NOT_RECOMMENDED,
            ]
            .into_iter()
            .flat_map(|c| node.findings(c))
            .filter(|l| {
                [
                    "throttling",
                    "jwt",
                    "indexing",
                    "transport.https.properties",
                ]
                .iter()
                .any(|k| l.contains(k))
            })
            .collect()
        };
        let toml =
            "[apim.throttling]\nenable_data_publishing = false\n\n[apim.jwt]\nenable = true\n";
        assert_eq!(
            all(&modern(toml).role("gateway")),
            vec![
                "APM003 deployment.toml:indexing.enable @opt/wso2am-4.2.0/repository/conf/deployment.toml true → false | add `indexing.enable` = `false` to opt/wso2am-4.2.0/repository/conf/deployment.toml",
                "APM003 deployment.toml:apim.throttling.enable_data_publishing @opt/wso2am-4.2.0/repository/conf/deployment.toml:2 false → true | set `true` at opt/wso2am-4.2.0/repository/conf/deployment.toml:2",
                "APM003 deployment.toml:apim.jwt.enable @opt/wso2am-4.2.0/repository/conf/deployment.toml:5 true → false | set `false` at opt/wso2am-4.2.0/repository/conf/deployment.toml:5",
            ]
        );
        assert_eq!(
            all(&modern("[server]\nhostname = \"localhost\"\n").role("key-manager")),
            vec![
                "APM001 deployment.toml:transport.https.properties.acceptCount @opt/wso2am-4.2.0/repository/conf/deployment.toml 200 → >= 600 | add `transport.https.properties.acceptCount` = `600` to opt/wso2am-4.2.0/repository/conf/deployment.toml",
                "APM001 deployment.toml:transport.https.properties.maxThreads @opt/wso2am-4.2.0/repository/conf/deployment.toml 250 → >= 750 | add `transport.https.properties.maxThreads` = `750` to opt/wso2am-4.2.0/repository/conf/deployment.toml",
                "APM003 deployment.toml:indexing.enable @opt/wso2am-4.2.0/repository/conf/deployment.toml true → false | add `indexing.enable` = `false` to opt/wso2am-4.2.0/repository/conf/deployment.toml",
            ]
        );
        assert_eq!(
            all(&modern("[server]\nhostname = \"localhost\"\n").role("control-plane")),
            vec![
                "APM003 deployment.toml:apim.throttling.enable_unlimited_tier @opt/wso2am-4.2.0/repository/conf/deployment.toml true → false | no fix",
            ]
        );
    }
}

/// Package D: H2 and localhost wiring per role (APM030-APM032), pools (APM034) and pool options
/// that set nothing (APM014).
mod wiring {
    use super::{legacy, modern};
    use crate::diag::{Code, Severity};

    const H2: &str = "[database.apim_db]\ntype = \"h2\"\nurl = \"jdbc:h2:./repository/database/WSO2AM_DB;AUTO_SERVER=TRUE;USER=sa;PASSWORD=s3cret\"\n\n[database.shared_db]\ntype = \"mysql\"\nurl = \"jdbc:mysql://db.example.com:3306/shared_db\"\n";

    /// A 4.x gateway wired as WSO2's distributed pattern writes it (ansible-apim 4.2.x).
    const WIRED_GATEWAY: &str = r#"[server]
server_role = "gateway-worker"

[database.apim_db]
type = "mysql"
url = "jdbc:mysql://db.example.com:3306/apim_db"

[database.shared_db]
type = "mysql"
url = "jdbc:mysql://db.example.com:3306/shared_db"

[apim.key_manager]
service_url = "https://cp.example.com:9443/services/"

[apim.throttling]
service_url = "https://tm.example.com:9443/services/"
throttle_decision_endpoints = ["tcp://tm.example.com:5672"]

[[apim.throttling.url_group]]
traffic_manager_urls = ["tcp://tm.example.com:9611"]
traffic_manager_auth_urls = ["ssl://tm.example.com:9711"]

[apim.event_hub]
service_url = "https://cp.example.com:9443/services/"
event_listening_endpoints = ["tcp://cp.example.com:5672"]
"#;

    #[test]
    fn h2_is_judged_on_every_role() {
        // A gateway never opens the API-M database: its H2 copy is unused, not a finding.
        assert!(
            modern(H2)
                .role("gateway")
                .findings(Code::H2_DATABASE)
                .is_empty()
        );
        let gw = modern(H2).role("key-manager");
        assert_eq!(
            gw.findings(Code::H2_DATABASE),
            vec![
                "APM030 deployment.toml:database.apim_db.url @opt/wso2am-4.2.0/repository/conf/deployment.toml:3 H2 jdbc:h2:./repository/database/WSO2AM_DB → a supported RDBMS (MySQL, PostgreSQL, Oracle, SQL Server, DB2) shared by every node | no fix"
            ]
        );
        assert_eq!(gw.severities(Code::H2_DATABASE), vec![Severity::Error]);
        let aio = modern(H2).role("all-in-one");
        assert_eq!(aio.severities(Code::H2_DATABASE), vec![Severity::Warning]);
        // No credential of the URL reaches the finding.
        assert!(
            !format!(
                "{:?}{:?}",
                aio.messages(Code::H2_DATABASE),
                aio.findings(Code::H2_DATABASE)
            )
            .contains("s3cret")
        );
        // No [database.apim_db] at all: the product default is H2.
        assert_eq!(
            modern("[server]\nhostname = \"gw\"\n")
                .role("traffic-manager")
                .findings(Code::H2_DATABASE),
            vec![
                "APM030 deployment.toml:database.apim_db.url @opt/wso2am-4.2.0/repository/conf/deployment.toml H2 jdbc:h2:./repository/database/WSO2AM_DB → a supported RDBMS (MySQL, PostgreSQL, Oracle, SQL Server, DB2) shared by every node | no fix"
            ]
        );
        // H2 in server mode is a server, not the embedded database.
        assert!(
            modern("[database.apim_db]\nurl = \"jdbc:h2:tcp://h2.example.com:9092/am\"\n[database.shared_db]\nurl = \"jdbc:h2:tcp://h2.example.com:9092/sh\"\n")
                .findings(Code::H2_DATABASE)
                .is_empty()
        );
    }

    #[test]
    fn h2_on_legacy_homes() {
        let ds = |names: &[&str]| {
            let body: String = names
                .iter()
                .map(|n| {
                    format!(
                        "<datasource><name>{n}</name><definition type=\"RDBMS\"><configuration><url>jdbc:h2:repository/database/{n};DB_CLOSE_ON_EXIT=FALSE</url><maxActive>50</maxActive><maxWait>60000</maxWait></configuration></definition></datasource>\n"
                    )
                })
                .collect();
            format!(
                "<datasources-configuration>\n<datasources>\n{body}</datasources>\n</datasources-configuration>\n"
            )
        };
        let stock = legacy(
            "datasources/master-datasources.xml",
            &ds(&["WSO2_CARBON_DB", "WSO2AM_DB", "WSO2_MB_STORE_DB"]),
        )
        .role("key-manager");
        assert_eq!(
            stock.findings(Code::H2_DATABASE),
            vec![
                "APM030 master-datasources.xml:/datasources-configuration/datasources/datasource[name='WSO2_CARBON_DB']/definition/configuration/url @opt/wso2am-2.6.0/repository/conf/datasources/master-datasources.xml:3 H2 jdbc:h2:repository/database/WSO2_CARBON_DB → WSO2UM_DB and WSO2REG_DB datasources on a supported RDBMS shared by every node (WSO2_CARBON_DB stays local) | no fix",
                "APM030 master-datasources.xml:/datasources-configuration/datasources/datasource[name='WSO2AM_DB']/definition/configuration/url @opt/wso2am-2.6.0/repository/conf/datasources/master-datasources.xml:4 H2 jdbc:h2:repository/database/WSO2AM_DB → a supported RDBMS (MySQL, PostgreSQL, Oracle, SQL Server, DB2) shared by every node | no fix",
            ]
        );
        // With a user-store datasource of its own, WSO2_CARBON_DB is the node's local registry.
        let split = legacy(
            "datasources/master-datasources.xml",
            &ds(&["WSO2_CARBON_DB", "WSO2UM_DB"]),
        );
        assert_eq!(
            split.findings(Code::H2_DATABASE).len(),
            1,
            "only WSO2UM_DB: {:?}",
            split.findings(Code::H2_DATABASE)
        );
    }

    #[test]
    fn localhost_wiring_per_role() {
        // A stock file: every link is on the node itself.
        let stock = "[server]\nhostname = \"localhost\"\n";
        let subjects = |role: &str| -> Vec<String> {
            modern(stock)
                .role(role)
                .findings(Code::WIRING_ON_LOCALHOST)
                .into_iter()
                .map(|l| l.split(" @").next().unwrap_or_default().to_string())
                .collect()
        };
        assert_eq!(
            subjects("gateway"),
            vec![
                "APM031 deployment.toml:apim.event_hub.event_listening_endpoints",
                "APM031 deployment.toml:apim.event_hub.service_url",
                "APM031 deployment.toml:apim.key_manager.service_url",
                "APM031 deployment.toml:apim.throttling.service_url",
                "APM031 deployment.toml:apim.throttling.throttle_decision_endpoints",
                "APM031 deployment.toml:apim.throttling.url_group.traffic_manager_urls",
            ]
        );
        assert_eq!(
            subjects("traffic-manager"),
            vec![
                "APM031 deployment.toml:apim.event_hub.event_listening_endpoints",
                "APM031 deployment.toml:apim.event_hub.service_url",
            ]
        );
        assert!(
            subjects("control-plane").is_empty(),
            "4.x: the control plane is the event hub and embeds the key manager"
        );
        assert!(subjects("all-in-one").is_empty());
        // Wired as the distributed pattern: nothing.
        assert!(
            modern(WIRED_GATEWAY)
                .role("gateway")
                .findings(Code::WIRING_ON_LOCALHOST)
                .is_empty()
        );
        // One link left on loopback is shown where it is written, with no fix.
        let one = WIRED_GATEWAY.replace(
            "service_url = \"https://cp.example.com:9443/services/\"\n\n[apim.throttling]",
            "service_url = \"https://127.0.0.1:9443/services/\"\n\n[apim.throttling]",
        );
        assert_eq!(
            modern(&one)
                .role("gateway")
                .findings(Code::WIRING_ON_LOCALHOST),
            vec![
                "APM031 deployment.toml:apim.key_manager.service_url @opt/wso2am-4.2.0/repository/conf/deployment.toml:13 https://127.0.0.1:9443/services/ → the key manager's host (e.g. `https://km.example.com:9443/services/`) | no fix"
            ]
        );
        // A key manager notifies the control plane of revoked tokens.
        let km = "[[event_listener]]\nid = \"token_revocation\"\n[event_listener.properties]\nnotification_endpoint = \"https://localhost:${mgt.transport.https.port}/internal/data/v1/notify\"\n\n[apim.event_hub]\nservice_url = \"https://cp.example.com:9443/services/\"\nevent_listening_endpoints = [\"tcp://cp.example.com:5672\"]\n";
        assert_eq!(
            modern(km)
                .role("key-manager")
                .findings(Code::WIRING_ON_LOCALHOST),
            vec![
                "APM031 deployment.toml:event_listener[0].properties.notification_endpoint @opt/wso2am-4.2.0/repository/conf/deployment.toml:4 https://localhost:${mgt.transport.https.port}/internal/data/v1/notify → the control plane's host (e.g. `https://cp.example.com:9443/internal/data/v1/notify`) | no fix"
            ]
        );
    }

    #[test]
    fn wiring_urls_are_printed_without_credentials() {
        let node = modern(
            "[apim.key_manager]\nservice_url = \"https://admin:s3cret@localhost:9443/services/\"\n",
        )
        .role("gateway");
        let lines = node.findings(Code::WIRING_ON_LOCALHOST);
        assert!(
            lines.iter().any(|l| l.contains(
                "apim.key_manager.service_url @opt/wso2am-4.2.0/repository/conf/deployment.toml:2 https://localhost:9443/services/ →"
            )),
            "{lines:?}"
        );
        let all = format!("{lines:?}{:?}", node.messages(Code::WIRING_ON_LOCALHOST));
        assert!(!all.contains("s3cret") && !all.contains("admin:"), "{all}");
    }

    #[test]
    fn localhost_wiring_on_legacy_homes() {
        let xml = "<APIManager>
    <APIKeyValidator>
        <ServerURL>https://localhost:${mgt.transport.https.port}${carbon.context}services/</ServerURL>
        <EnableThriftServer>true</EnableThriftServer>
        <ThriftServerHost>localhost</ThriftServerHost>
    </APIKeyValidator>
    <OAuthConfigurations>
        <RevokeAPIURL>https://localhost:${https.nio.port}/revoke</RevokeAPIURL>
    </OAuthConfigurations>
    <ThrottlingConfigurations>
        <TrafficManager>
            <ReceiverUrlGroup>tcp://${carbon.local.ip}:${receiver.url.port}</ReceiverUrlGroup>
            <AuthUrlGroup>ssl://tm.example.com:9711</AuthUrlGroup>
        </TrafficManager>
    </ThrottlingConfigurations>
</APIManager>
";
        assert_eq!(
            legacy("api-manager.xml", xml)
                .role("key-manager")
                .findings(Code::WIRING_ON_LOCALHOST),
            vec![
                "APM031 api-manager.xml:/APIManager/APIKeyValidator/ThriftServerHost @opt/wso2am-2.6.0/repository/conf/api-manager.xml:5 localhost → this key manager's host name or address the gateways reach | no fix",
                "APM031 api-manager.xml:/APIManager/OAuthConfigurations/RevokeAPIURL @opt/wso2am-2.6.0/repository/conf/api-manager.xml:8 https://localhost:${https.nio.port}/revoke → a gateway's host (e.g. `https://gw.example.com:8243/revoke`) | no fix",
            ]
        );
        assert_eq!(
            legacy("api-manager.xml", xml)
                .role("gateway")
                .findings(Code::WIRING_ON_LOCALHOST),
            vec![
                "APM031 api-manager.xml:/APIManager/APIKeyValidator/ServerURL @opt/wso2am-2.6.0/repository/conf/api-manager.xml:3 https://localhost:${mgt.transport.https.port}${carbon.context}services/ → the key manager's host (e.g. `https://km.example.com:9443/services/`) | no fix",
                "APM031 api-manager.xml:/APIManager/ThrottlingConfigurations/TrafficManager/ReceiverUrlGroup @opt/wso2am-2.6.0/repository/conf/api-manager.xml:12 tcp://${carbon.local.ip}:${receiver.url.port} → the traffic manager's host(s) (e.g. `tcp://tm.example.com:9611`) | no fix",
            ]
        );
        // The Thrift server off: where it would listen does not matter.
        let off = xml.replace(
            "<EnableThriftServer>true</EnableThriftServer>",
            "<EnableThriftServer>false</EnableThriftServer>",
        );
        assert_eq!(
            legacy("api-manager.xml", &off)
                .role("key-manager")
                .findings(Code::WIRING_ON_LOCALHOST)
                .len(),
            1
        );
        assert!(
            legacy("api-manager.xml", xml)
                .role("all-in-one")
                .findings(Code::WIRING_ON_LOCALHOST)
                .is_empty()
        );
    }

    #[test]
    fn shared_database_on_loopback() {
        let toml = "[database.apim_db]\ntype = \"mysql\"\nurl = \"jdbc:mysql://localhost:3306/apim_db?user=wso2&password=s3cret\"\n\n[database.shared_db]\ntype = \"mysql\"\nurl = \"jdbc:mysql://db.example.com:3306/shared_db\"\n";
        // The gateway never opens the API-M database: only the key manager's counts.
        assert!(
            modern(toml)
                .role("gateway")
                .findings(Code::DATABASE_ON_LOCALHOST)
                .is_empty()
        );
        let gw = modern(toml).role("key-manager");
        assert_eq!(
            gw.findings(Code::DATABASE_ON_LOCALHOST),
            vec![
                "APM032 deployment.toml:database.apim_db.url @opt/wso2am-4.2.0/repository/conf/deployment.toml:3 MySQL localhost:3306/apim_db → the database server every node shares | no fix"
            ]
        );
        assert!(!format!("{:?}", gw.messages(Code::DATABASE_ON_LOCALHOST)).contains("s3cret"));
        assert!(
            modern(toml)
                .role("all-in-one")
                .findings(Code::DATABASE_ON_LOCALHOST)
                .is_empty()
        );
    }

    #[test]
    fn pool_waits() {
        let toml = |wait: &str| {
            format!(
                "[database.apim_db]\ntype = \"mysql\"\nurl = \"jdbc:mysql://db.example.com:3306/apim_db\"\n\n[database.apim_db.pool_options]\nmaxWait = {wait}\n"
            )
        };
        let forever = modern(&toml("-1"));
        assert_eq!(
            forever.findings(Code::POOL_WAIT_UNBOUNDED),
            vec![
                "APM034 deployment.toml:database.apim_db.pool_options.maxWait @opt/wso2am-4.2.0/repository/conf/deployment.toml:6 -1 → a bounded wait, e.g. 60000 | set `60000` at opt/wso2am-4.2.0/repository/conf/deployment.toml:6"
            ]
        );
        assert_eq!(
            forever.severities(Code::POOL_WAIT_UNBOUNDED),
            vec![Severity::Warning]
        );
        assert_eq!(
            modern(&toml("300000")).severities(Code::POOL_WAIT_UNBOUNDED),
            vec![Severity::Info]
        );
        assert!(
            modern(&toml("60000"))
                .findings(Code::POOL_WAIT_UNBOUNDED)
                .is_empty()
        );
    }

    #[test]
    fn snake_case_pool_options_only_under_shared_db() {
        let node = modern(
            "[database.apim_db.pool_options]\nmax_active = 100\nmaxWait = 60000\n\n[database.shared_db.pool_options]\nmax_active = 100\n",
        );
        assert_eq!(
            node.findings(Code::TOML_KEY_HAS_NO_EFFECT),
            vec![
                "APM014 deployment.toml:database.apim_db.pool_options.max_active @opt/wso2am-4.2.0/repository/conf/deployment.toml:2 database.apim_db.pool_options.max_active → database.apim_db.pool_options.maxActive | no fix"
            ]
        );
    }
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
    fn token_caches_both_on_is_a_warning_on_all_in_one_only() {
        let both =
            "[apim.cache.gateway_token]\nenable = true\n\n[apim.cache.km_token]\nenable = true\n";
        // On a distributed node one of the two flags is never read: nothing to judge there.
        for role in ["gateway", "key-manager", "control-plane"] {
            assert!(
                modern(both)
                    .role(role)
                    .severities(Code::TOKEN_CACHES_BOTH_ENABLED)
                    .is_empty(),
                "{role}"
            );
        }
        assert_eq!(
            modern(both)
                .role("all-in-one")
                .severities(Code::TOKEN_CACHES_BOTH_ENABLED),
            vec![Severity::Warning]
        );
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

/// `[n_http]` on 4.x: nhttp.properties is rendered and never read (axis2.xml.j2 runs only the
/// pass-through transport), so the table is one APM014 finding, with no fix.
#[test]
fn an_nhttp_table_on_4x_has_no_effect() {
    let node = modern("[n_http]\nsnd_t_core = 200\nlst_t_core = 200\n");
    assert_eq!(
        node.findings(Code::TOML_KEY_HAS_NO_EFFECT),
        vec![
            "APM014 deployment.toml:n_http @opt/wso2am-4.2.0/repository/conf/deployment.toml:2 2 key(s) → none: the gateway's transport is tuned under [transport.http] and [passthru_http] | no fix"
        ]
    );
    assert_eq!(
        node.severities(Code::TOML_KEY_HAS_NO_EFFECT),
        vec![crate::diag::Severity::Warning]
    );
    assert!(
        modern("[server]\nhostname = \"gw\"\n")
            .findings(Code::TOML_KEY_HAS_NO_EFFECT)
            .is_empty()
    );
}
