//! Gateway transports, timeouts, key validation and throttling advice (issue 14, package T), on
//! real homes of the corpus (`../shared/fixtures/wso2`) copied into a fake root: each test pins
//! the finding, what `--diff` writes, and that `--apply` then a fresh audit converges (nothing
//! fixable is left, nothing new appears).

use crate::skip::shared;
use crate::{CliTest, copy_tree};
use serde_json::Value;
use std::collections::BTreeSet;

/// A fake root with the corpus home `apim-VERSION` at `opt/wso2am-VERSION`, with `edit` applied
/// to files under the home (relative path, old text, new text; the old text must be there).
fn corpus(version: &str, edits: &[(&str, &str, &str)]) -> Option<CliTest> {
    let src = shared(&format!("fixtures/wso2/apim-{version}"))?;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let home = root.join(format!("opt/wso2am-{version}"));
    copy_tree(&src, &home);
    for (rel, old, new) in edits {
        let path = home.join(rel);
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(text.contains(old), "{rel} has no `{old}`");
        std::fs::write(&path, text.replacen(old, new, 1)).unwrap();
    }
    Some(CliTest { dir, root })
}

/// Host facts fixed so the audit does not depend on this machine.
const HOST: &[&str] = &["--cores", "4", "--memory", "8g"];

fn args<'a>(version: &'a str, role: &'a str, extra: &[&'a str]) -> Vec<String> {
    let mut a = vec!["--role".to_string(), role.to_string()];
    a.extend(HOST.iter().map(|s| s.to_string()));
    a.extend(extra.iter().map(|s| s.to_string()));
    let _ = version;
    a
}

fn json(t: &CliTest, v: &str, a: &[String]) -> Value {
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    t.json(Some(&format!("wso2am-{v}")), &a).1
}

fn diff(t: &CliTest, v: &str, a: &[String]) -> String {
    let mut a: Vec<&str> = a.iter().map(String::as_str).collect();
    a.push("--diff");
    t.run(Some(&format!("wso2am-{v}")), &a).1
}

/// `code subject` of every finding.
fn keys(v: &Value) -> BTreeSet<String> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{} {}",
                f["code"].as_str().unwrap(),
                f["subject"].as_str().unwrap()
            )
        })
        .collect()
}

fn find<'a>(v: &'a Value, code: &str, subject_part: &str) -> Option<&'a Value> {
    v["findings"].as_array().unwrap().iter().find(|f| {
        f["code"] == code
            && f["subject"]
                .as_str()
                .is_some_and(|s| s.contains(subject_part))
    })
}

/// `--apply`, then a fresh audit: nothing fixable is left and no finding is new.
fn converges(t: &CliTest, v: &str, a: &[String]) {
    let before = json(t, v, a);
    let mut apply: Vec<&str> = a.iter().map(String::as_str).collect();
    apply.extend(["--apply", "--yes"]);
    let (code, out, err) = t.run(Some(&format!("wso2am-{v}")), &apply);
    assert!(matches!(code, 0 | 1), "--apply exited {code}: {out}{err}");
    let after = json(t, v, a);
    let fixable: Vec<_> = after["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["fixable"] == true)
        .map(|f| format!("{} {}", f["code"], f["subject"]))
        .collect();
    assert!(fixable.is_empty(), "fixable after --apply: {fixable:?}");
    let new: Vec<_> = keys(&after).difference(&keys(&before)).cloned().collect();
    assert!(new.is_empty(), "new after --apply: {new:?}");
}

#[test]
fn stock_homes_never_judge_or_write_nhttp() {
    for v in ["2.1.0", "4.2.0"] {
        let Some(t) = corpus(v, &[]) else { return };
        let a = args(v, "gateway", &[]);
        let found = json(&t, v, &a);
        let nhttp: Vec<_> = keys(&found)
            .into_iter()
            .filter(|k| k.contains("nhttp") || k.contains("n_http"))
            .collect();
        assert!(nhttp.is_empty(), "{v}: {nhttp:?}");
        let d = diff(&t, v, &a);
        assert!(
            !d.contains("[n_http]") && !d.contains("nhttp.properties"),
            "{v}:\n{d}"
        );
        converges(&t, v, &a);
    }
}

#[test]
fn nhttp_configured_in_axis2_is_judged_and_fixed_in_nhttp_properties() {
    // Swap the pass-through listener for the NHTTP one, as the 2.1.0 file's comment offers.
    let Some(t) = corpus(
        "2.1.0",
        &[(
            "repository/conf/axis2/axis2.xml",
            r#"<transportReceiver name="http" class="org.apache.synapse.transport.passthru.PassThroughHttpListener">"#,
            r#"<transportReceiver name="http" class="org.apache.synapse.transport.nhttp.HttpCoreNIOListener">"#,
        )],
    ) else {
        return;
    };
    let a = args("2.1.0", "gateway", &[]);
    let found = json(&t, "2.1.0", &a);
    let f = find(&found, "APM001", "nhttp.properties:lst_t_core").expect("lst_t_core judged");
    assert_eq!(
        (&f["current"], &f["severity"]),
        (&"20".into(), &"info".into())
    );
    let d = diff(&t, "2.1.0", &a);
    assert!(
        d.contains("+++ b/opt/wso2am-2.1.0/repository/conf/nhttp.properties"),
        "{d}"
    );
    assert!(d.contains("+lst_t_core=200"), "{d}");
    converges(&t, "2.1.0", &a);
}

#[test]
fn key_validation_timeouts_only_with_the_ws_client() {
    let so_timeout = (
        "repository/conf/axis2/axis2_client.xml",
        "<transportSender name=\"https\"\n                     class=\"org.apache.axis2.transport.http.CommonsHTTPTransportSender\">\n        <parameter name=\"PROTOCOL\">HTTP/1.1</parameter>\n        <parameter name=\"Transfer-Encoding\">chunked</parameter>\n        <parameter name=\"SO_TIMEOUT\">60000</parameter>",
        "<transportSender name=\"https\"\n                     class=\"org.apache.axis2.transport.http.CommonsHTTPTransportSender\">\n        <parameter name=\"PROTOCOL\">HTTP/1.1</parameter>\n        <parameter name=\"Transfer-Encoding\">chunked</parameter>\n        <parameter name=\"SO_TIMEOUT\">300000</parameter>",
    );
    let subject = "SO_TIMEOUT";
    // Thrift (as shipped): the axis2 client is not used for key validation.
    let Some(thrift) = corpus("2.6.0", &[so_timeout]) else {
        return;
    };
    let a = args("2.6.0", "gateway", &[]);
    assert!(find(&json(&thrift, "2.6.0", &a), "APM002", subject).is_none());
    let ws = corpus(
        "2.6.0",
        &[
            so_timeout,
            (
                "repository/conf/api-manager.xml",
                "<KeyValidatorClientType>ThriftClient</KeyValidatorClientType>",
                "<KeyValidatorClientType>WSClient</KeyValidatorClientType>",
            ),
        ],
    )
    .unwrap();
    let found = json(&ws, "2.6.0", &a);
    let f = find(&found, "APM002", subject).expect("SO_TIMEOUT judged with WSClient");
    assert_eq!(f["current"], "300000");
    let d = diff(&ws, "2.6.0", &a);
    assert!(
        d.contains(r#"+        <parameter name="SO_TIMEOUT">60000</parameter>"#)
            || d.contains(">60000<"),
        "{d}"
    );
    converges(&ws, "2.6.0", &a);
}

#[test]
fn the_shipped_2_1_socket_timeout_under_the_global_timeout() {
    // 2.1.0 ships `#http.socket.timeout=60000` (code default 60000) under a 120000 global timeout.
    let Some(t) = corpus("2.1.0", &[]) else {
        return;
    };
    let a = args("2.1.0", "gateway", &[]);
    let found = json(&t, "2.1.0", &a);
    // One finding: the profile's socket-timeout entry, whose minimum lies above the global
    // timeout, reports and fixes it (APM020 does not say it twice).
    assert!(find(&found, "APM020", "http.socket.timeout").is_none());
    let fix = find(&found, "APM001", "http.socket.timeout").expect("APM001 carries the fix");
    assert_eq!(fix["fix"]["value"], "180000");
    let d = diff(&t, "2.1.0", &a);
    assert!(d.contains("+http.socket.timeout=180000"), "{d}");
    converges(&t, "2.1.0", &a);
    assert!(find(&json(&t, "2.1.0", &a), "APM020", "").is_none());
}

#[test]
fn the_client_timeout_sits_between_global_and_socket() {
    let v = "4.2.0";
    let Some(t) = corpus(v, &[]) else { return };
    // 120 s < 150 s < 180 s: in order.
    let found = json(&t, v, &args(v, "gateway", &["--client-timeout", "150"]));
    assert!(find(&found, "APM020", "").is_none());
    // A client that gives up at 100 s: the global timeout is not below it; no fix is guessed.
    let found = json(&t, v, &args(v, "gateway", &["--client-timeout", "100"]));
    let f = find(&found, "APM020", "synapse.global_timeout_interval").expect("global vs client");
    assert_eq!(f["fix"], Value::Null);
    // A load balancer idle for 200 s: the socket timeout fix goes a minute above it.
    let a = args(v, "gateway", &["--client-timeout", "200"]);
    let found = json(&t, v, &a);
    assert!(
        find(&found, "APM020", "socket").is_none(),
        "one finding, APM001's"
    );
    let fix = find(&found, "APM001", "socket").expect("socket timeout raised");
    assert_eq!(fix["fix"]["value"], "260000");
    let d = diff(&t, v, &a);
    assert!(
        d.contains("'http.socket.timeout' = 260000") || d.contains("socket_timeout = 260000"),
        "{d}"
    );
    converges(&t, v, &a);
    assert!(find(&json(&t, v, &a), "APM020", "").is_none());
}

#[test]
fn endpoint_timeouts_from_a_deployed_api() {
    let v = "2.6.0";
    let Some(t) = corpus(v, &[]) else { return };
    let api = t.root.join(format!(
        "opt/wso2am-{v}/repository/deployment/server/synapse-configs/default/api/admin--Slow_v1.0.xml"
    ));
    std::fs::create_dir_all(api.parent().unwrap()).unwrap();
    std::fs::write(
        &api,
        "<api xmlns=\"http://ws.apache.org/ns/synapse\" name=\"admin--Slow\">\n<resource><inSequence><send><endpoint>\n<http uri-template=\"http://backend/slow\"><timeout><duration>300000</duration><responseAction>fault</responseAction></timeout></http>\n</endpoint></send></inSequence></resource>\n</api>\n",
    )
    .unwrap();
    let a = args(v, "gateway", &[]);
    let found = json(&t, v, &a);
    let f = find(&found, "APM020", "admin--Slow_v1.0.xml").expect("endpoint timeout above global");
    assert_eq!(
        (&f["current"], &f["line"]),
        (&"300000 ms".into(), &3.into())
    );
    assert!(!diff(&t, v, &a).contains("admin--Slow"));
    converges(&t, v, &a);
}

#[test]
fn throttling_indexing_and_key_manager_tomcat() {
    let v = "4.2.0";
    let Some(t) = corpus(v, &[]) else { return };
    let a = args(v, "key-manager", &[]);
    let found = json(&t, v, &a);
    for (code, part, value) in [
        ("APM001", "transport.https.properties.maxThreads", "750"),
        ("APM001", "transport.https.properties.acceptCount", "600"),
        ("APM003", "indexing.enable", "false"),
    ] {
        let f = find(&found, code, part).unwrap_or_else(|| panic!("{code} {part}"));
        assert_eq!(
            (&f["severity"], &f["fix"]["value"]),
            (&"info".into(), &value.into()),
            "{part}"
        );
    }
    let d = diff(&t, v, &a);
    for line in [
        "+[transport.https.properties]",
        "+maxThreads = 750",
        "+acceptCount = 600",
        "+[indexing]",
        "+enable = false",
    ] {
        assert!(d.contains(line), "{line}:\n{d}");
    }
    converges(&t, v, &a);

    // The Unlimited tier is advice for where tiers are managed; data publishing for gateways.
    let Some(t) = corpus(
        "2.6.0",
        &[(
            "repository/conf/api-manager.xml",
            "<DataPublisher>\n            <Enabled>true</Enabled>",
            "<DataPublisher>\n            <Enabled>false</Enabled>",
        )],
    ) else {
        return;
    };
    let gw = json(&t, "2.6.0", &args("2.6.0", "gateway", &[]));
    assert!(find(&gw, "APM003", "DataPublisher/Enabled").is_some());
    assert!(find(&gw, "APM003", "EnableUnlimitedTier").is_none());
    let aio = args("2.6.0", "all-in-one", &[]);
    let all = json(&t, "2.6.0", &aio);
    let f = find(
        &all,
        "APM003",
        "ThrottlingConfigurations/EnableUnlimitedTier",
    )
    .expect("unlimited tier");
    assert_eq!(f["severity"], "info");
    converges(&t, "2.6.0", &aio);
}
