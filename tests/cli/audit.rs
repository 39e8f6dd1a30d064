//! `apim-tune audit` on the fake roots: snapshots of text and JSON, and the semantics that
//! matter most asserted directly.

use super::{CliTest, codes_of};
use serde_json::Value;

fn finding<'a>(v: &'a Value, code: &str, subject_part: &str) -> &'a Value {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == code && f["subject"].as_str().unwrap().contains(subject_part))
        .unwrap_or_else(|| panic!("no {code} finding on `{subject_part}` in {v:#}"))
}

#[test]
fn tuned_host_has_no_findings() {
    let t = CliTest::new("tuned-4.2");
    let (code, out, err) = t.run(
        Some("wso2am-4.2.0"),
        &["--role", "gateway", "--java-version", "17"],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("no findings"), "{out}");
    crate::in_snapshots! { insta::assert_snapshot!("tuned_text", out); }
}

#[test]
fn legacy_host_text_and_json() {
    let t = CliTest::new("legacy-2.6");
    let args = ["--java-version", "17"];
    let (code, out, _) = t.run(Some("wso2am-2.6.0"), &args);
    assert_eq!(code, 1);
    crate::in_snapshots! { insta::assert_snapshot!("legacy_text", out); }
    let (_, json) = t.json(Some("wso2am-2.6.0"), &args);
    crate::in_snapshots! { insta::assert_json_snapshot!("legacy_json", json, {
        ".apim.home" => "[HOME]",
        ".version" => "[VERSION]",
    }); }
}

#[test]
fn legacy_host_semantics() {
    let t = CliTest::new("legacy-2.6");
    let (_, v) = t.json(Some("wso2am-2.6.0"), &["--java-version", "17"]);
    assert_eq!(v["schema"], "apim-tune/audit/v1");
    assert_eq!(v["host"]["cores"], 4);
    assert_eq!(v["host"]["kernel"], "4.9.0-19-amd64");
    assert_eq!(v["host"]["nat"], "yes");
    assert_eq!(v["apim"]["version"], "2.6.0");
    assert_eq!(v["apim"]["layout"], "xml");

    // tcp_tw_recycle on a 4.9 kernel behind NAT: error, citing the NAT evidence.
    let f = finding(&v, "SYS010", "tcp_tw_recycle");
    assert_eq!(f["severity"], "error");
    assert_eq!(f["file"], "etc/sysctl.conf");
    assert_eq!(f["line"], 4);
    assert!(f["notes"].to_string().contains("10.0.3.15"), "{f:#}");

    // fs.file-max = 2097152 would lower what systemd raised; never recommend lowering it.
    let f = finding(&v, "SYS012", "fs.file-max");
    assert_eq!(f["current"], "2097152");
    assert!(
        !codes_of(&v)
            .iter()
            .zip(v["findings"].as_array().unwrap())
            .any(|(c, f)| c == "SYS001" && f["subject"] == "sysctl:fs.file-max"),
        "must not also ask to raise fs.file-max to a lower value"
    );

    // sysctl.conf is applied after sysctl.d: the sysctl.d line is shadowed.
    let f = finding(&v, "SYS006", "net.core.rmem_max");
    assert_eq!(f["file"], "etc/sysctl.d/10-network.conf");
    // Live 60 vs persisted 30.
    let f = finding(&v, "SYS005", "tcp_fin_timeout");
    assert_eq!(f["current"], "60");
    // somaxconn not persisted, live 128 on 4.9.
    let f = finding(&v, "SYS001", "somaxconn");
    assert_eq!(f["file"], Value::Null);

    // limits: only `*` lines, soft nproc above hard, hard below 1024 (LIM003 once, on the soft
    // limit in effect: clamped to the hard one).
    finding(&v, "LIM002", "nproc:soft");
    finding(&v, "LIM003", "nproc:soft");
    finding(&v, "LIM001", "nproc:hard");

    // API-M 2.6.0 XML layout.
    let f = finding(&v, "APM010", "EnableKeyManagerTokenCache");
    assert_eq!(
        f["file"],
        "opt/wso2am-2.6.0/repository/conf/api-manager.xml"
    );
    assert_eq!(f["line"], 6);
    // The socket timeout (120000) below the profile's 180000: one finding (APM001), whose
    // minimum lies above the global timeout, not a second one from APM020.
    let f = finding(&v, "APM001", "http.socket.timeout");
    assert_eq!(f["current"], "120000");
    assert!(
        !codes_of(&v).contains(&"APM020".to_string()),
        "APM020 repeats APM001"
    );
    let f = finding(&v, "APM012", "io_threads_per_reactor");
    assert_eq!(f["expected"], "4");
    let f = finding(&v, "APM013", "WSO2AM_DB");
    assert_eq!(f["expected"], "SELECT 1 FROM DUAL");
    assert_eq!(f["fixable"], true);
    // Absent global timeout means synapse's 24 h code default.
    let f = finding(&v, "APM002", "synapse.global_timeout_interval");
    assert_eq!(f["current"], "86400000");
    assert_eq!(f["line"], Value::Null);
    // The missing stuck-thread valve.
    finding(&v, "APM003", "CarbonStuckThreadDetectionValve");
    // Token cache expiry falls back to DefaultCacheTimeout (60 min) x 60.
    let f = finding(&v, "APM002", "TokenCacheExpiry");
    assert_eq!(f["current"], "3600");
    assert!(
        f["notes"].to_string().contains("DefaultCacheTimeout"),
        "{f:#}"
    );
    // An empty RevokeAPIURL.
    finding(&v, "APM003", "RevokeAPIURL");
    // JSON builder of 2.1.0 and before.
    finding(&v, "APM003", "messageBuilder");

    // JVM: MaxPermSize with JDK 17 stops the JVM; 6g heap on 8 GiB; Xms != Xmx.
    let f = finding(&v, "JVM010", "MaxPermSize");
    assert_eq!(f["severity"], "error");
    assert_eq!(f["line"], 3);
    finding(&v, "JVM011", "-Xmx");
    finding(&v, "JVM012", "-Xms");
}

#[test]
fn max_perm_size_severity_follows_the_jdk() {
    let t = CliTest::new("legacy-2.6");
    let sev = |args: &[&str]| {
        let (_, v) = t.json(Some("wso2am-2.6.0"), args);
        finding(&v, "JVM010", "MaxPermSize")["severity"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(sev(&["--java-version", "21"]), "error");
    assert_eq!(sev(&["--java-version", "11"]), "info");
    assert_eq!(sev(&[]), "warning", "unknown JDK");
    let (_, v) = t.json(Some("wso2am-2.6.0"), &["--java-version", "7"]);
    assert!(!codes_of(&v).contains(&"JVM010".to_string()));
}

#[test]
fn shipped_scripts_guarded_max_perm_size_is_not_a_finding() {
    // The shipped scripts add MaxPermSize only when java_version < 1.8.
    let t = CliTest::new("tuned-4.2");
    let (_, v) = t.json(Some("wso2am-4.2.0"), &["--java-version", "17"]);
    assert!(!codes_of(&v).contains(&"JVM010".to_string()), "{v:#}");
}

#[test]
fn modern_host_text_and_json() {
    let t = CliTest::new("modern-4.2");
    let args = ["--role", "gateway", "--java-version", "21"];
    let (code, out, _) = t.run(Some("wso2am-4.2.0"), &args);
    assert_eq!(code, 1);
    crate::in_snapshots! { insta::assert_snapshot!("modern_text", out); }
    let (_, v) = t.json(Some("wso2am-4.2.0"), &args);
    crate::in_snapshots! { insta::assert_json_snapshot!("modern_json", v, {
        ".apim.home" => "[HOME]",
        ".version" => "[VERSION]",
    }); }
    assert_eq!(v["apim"]["layout"], "toml");
    // A tcp_tw_recycle line on 6.1 is a dead line, a warning (issue 14): the key does not exist
    // (`-` does not help procps). SYS010 reports it, not SYS011.
    let f = finding(&v, "SYS010", "tcp_tw_recycle");
    assert_eq!(f["file"], "etc/sysctl.d/99-wso2.conf");
    assert_eq!(f["severity"], "warning");
    assert!(f["notes"].to_string().contains("`-` prefix"), "{f:#}");
    assert!(!codes_of(&v).contains(&"SYS011".to_string()));
    // etc/sysctl.d/50-default.conf masks usr/lib/sysctl.d/50-default.conf: the persisted value
    // is 30, the live 60.
    let f = finding(&v, "SYS005", "tcp_fin_timeout");
    assert_eq!(f["file"], "etc/sysctl.d/50-default.conf");
    // `[transport.http] socket_timeout = 600000` (an alias) outlasts the 120000 global timeout:
    // a long socket timeout is in order, not a finding (issue 14).
    assert!(
        !v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["subject"]
                .as_str()
                .is_some_and(|s| s.contains("socket_timeout"))),
        "{v:#}"
    );
    // "30m" (the alias written last) resolved through the unit table to 1800 seconds, and the
    // disagreement with the gateway's "1h" is reported.
    let f = finding(&v, "APM002", "expiry_time");
    assert_eq!(f["current"], "1800");
    let f = finding(&v, "APM015", "apim.cache.gateway_token.expiry_time");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("apim.cache.km_token.expiry_time"),
        "{f:#}"
    );
    // The tuning page's traps: an unquoted dotted key and an alias in the raw table.
    let f = finding(&v, "APM014", "passthru_http.http.socket.timeout");
    assert_eq!(f["expected"], "passthru_http.'http.socket.timeout'");
    finding(&v, "APM014", "passthru_http.core_worker_pool_size");
    // PostgreSQL does not accept FROM DUAL.
    finding(&v, "APM013", "apim_db");
    // jdk.xml.entityExpansionLimit is the same limit under its new name: 5000 <= 10000 passes.
    assert!(!v.to_string().contains("entityExpansionLimit` is"));
    // Only deployment.toml and the start-up script are ever named on 4.x.
    for f in v["findings"].as_array().unwrap() {
        if let Some(file) = f["file"].as_str() {
            assert!(
                !file.starts_with("opt/")
                    || file.ends_with("deployment.toml")
                    || file.ends_with(".sh"),
                "a regenerated copy was audited: {f:#}"
            );
        }
    }
}

#[test]
fn broken_files_are_findings_and_the_audit_goes_on() {
    let t = CliTest::new("broken");
    let (code, out, err) = t.run(Some("apim"), &[]);
    assert_eq!(code, 1, "{err}");
    crate::in_snapshots! { insta::assert_snapshot!("broken_text", out); }
    let (_, v) = t.json(Some("apim"), &[]);
    let f = finding(&v, "SRC002", "sysctl.d/20-broken.conf");
    assert_eq!(
        (f["line"].as_u64(), f["column"].as_u64()),
        (Some(2), Some(1))
    );
    let f = finding(&v, "SRC002", "limits.d/20-broken.conf");
    assert_eq!(f["line"], 2);
    let f = finding(&v, "SRC001", "30-latin1.conf");
    assert!(f["message"].as_str().unwrap().contains("UTF-8"));
    let f = finding(&v, "SRC002", "deployment.toml");
    assert_eq!(f["line"], 5);
    finding(&v, "SRC002", "api-manager.sh");
    finding(&v, "SRC003", "apim");
    // The audit went on: host findings are still there.
    assert!(codes_of(&v).iter().any(|c| c.starts_with("LIM")), "{v:#}");
}

#[test]
fn host_only_audit_says_so() {
    let t = CliTest::new("tuned-4.2");
    let (code, out, _) = t.run(None, &["--role", "gateway"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("auditing the host alone"), "{out}");
    let (_, v) = t.json(None, &["--role", "gateway"]);
    assert_eq!(v["apim"]["home"], Value::Null);
    assert_eq!(v["apim"]["version"], Value::Null);
    assert_eq!(v["apim"]["layout"], Value::Null);
}

#[test]
fn apim_home_from_the_environment() {
    let t = CliTest::new("tuned-4.2");
    let home = t.root.join("opt/wso2am-4.2.0");
    let out = t
        .audit(None, &["--format", "json"])
        .env("CARBON_HOME", &home)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["apim"]["version"], "4.2.0");
    assert_eq!(v["apim"]["chosen_by"], "$CARBON_HOME");
}

#[test]
fn overrides_change_the_expectations() {
    let t = CliTest::new("tuned-4.2");
    // 8 cores: the pass-through reactor threads set to 4 no longer match.
    let (_, v) = t.json(
        Some("wso2am-4.2.0"),
        &["--cores", "8", "--memory", "2G", "--java-version", "17"],
    );
    assert_eq!(v["host"]["cores"], 8);
    assert_eq!(v["host"]["memory_mb"], 2048);
    assert_eq!(v["host"]["sources"]["cores"], "--cores");
    finding(&v, "APM012", "io_threads_per_reactor");
    // 2g heap on 2 GiB of RAM.
    finding(&v, "JVM011", "-Xmx");
}

#[test]
fn nat_flag_overrides_detection() {
    let t = CliTest::new("legacy-2.6");
    let (_, v) = t.json(Some("wso2am-2.6.0"), &["--nat", "no"]);
    assert_eq!(v["host"]["nat"], "no");
    let f = finding(&v, "SYS010", "tcp_tw_recycle");
    assert!(
        !f["message"].as_str().unwrap().contains("behind NAT:"),
        "{f:#}"
    );
}

#[test]
fn root_user_and_wildcard_limits() {
    let t = CliTest::new("legacy-2.6");
    let (_, v) = t.json(Some("wso2am-2.6.0"), &["--user", "root"]);
    finding(&v, "LIM004", "nofile");
}

#[test]
fn site_profile_extends_a_role() {
    let t = CliTest::new("legacy-2.6");
    let profile = super::fixtures().join("profiles/site.toml");
    let (_, v) = t.json(
        Some("wso2am-2.6.0"),
        &[
            "--profile",
            profile.to_str().unwrap(),
            "--java-version",
            "17",
        ],
    );
    assert_eq!(
        v["profile"]["chain"],
        serde_json::json!(["site", "gateway", "base"])
    );
    assert_eq!(v["profile"]["role"], "gateway");
    finding(&v, "SYS004", "tcp_timestamps");
    finding(&v, "APM004", "EnableRecentlyAddedAPICache");
    finding(&v, "JVM003", "-Xss");
    finding(&v, "JVM004", "UseConcMarkSweepGC");
    // `disabled = true` removed the inherited somaxconn entry.
    assert!(!v.to_string().contains("sysctl:net.core.somaxconn"));
}

#[test]
fn aliases_and_units_resolve_without_the_products_json_files() {
    // The fake homes carry no repository/resources/conf: the built-in key mappings apply.
    let t = CliTest::new("modern-4.2");
    let toml = t
        .root
        .join("opt/wso2am-4.2.0/repository/conf/deployment.toml");
    std::fs::write(
        &toml,
        "[transport.http]\ncore_worker_pool_size = 10\nio_buffer_size = 1024\nworker_pool_queue_length = 100\n\n[apim.cache.km_token]\nexpiry_time = \"2h\"\n",
    )
    .unwrap();
    let (_, v) = t.json(Some("wso2am-4.2.0"), &["--role", "gateway"]);
    let f = finding(&v, "APM001", "transport.http.core_worker_pool_size");
    assert_eq!(
        (f["current"].as_str(), f["line"].as_u64()),
        (Some("10"), Some(2))
    );
    finding(&v, "APM001", "transport.http.io_buffer_size");
    finding(&v, "APM003", "transport.http.worker_pool_queue_length");
    let f = finding(&v, "APM002", "apim.cache.km_token.expiry_time");
    assert_eq!(f["current"], "7200", "2h in seconds");
}

#[test]
fn java_opts_on_the_command_line_beat_the_default_block() {
    let t = CliTest::new("tuned-4.2");
    let script = t.root.join("opt/wso2am-4.2.0/bin/api-manager.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\nJAVA_OPTS=\"-Xmx6g -Xms6g\"\nif [ -z \"$JVM_MEM_OPTS\" ]; then\n   JVM_MEM_OPTS=\"-Xms256m -Xmx1024m\"\nfi\n$JAVACMD \\\n    $JVM_MEM_OPTS \\\n    $JAVA_OPTS \\\n    -DentityExpansionLimit=10000 org.wso2.carbon.bootstrap.Bootstrap\n",
    )
    .unwrap();
    let (_, v) = t.json(
        Some("wso2am-4.2.0"),
        &["--memory", "8G", "--java-version", "17"],
    );
    let f = finding(&v, "JVM011", "-Xmx");
    assert_eq!(
        (f["current"].as_str(), f["line"].as_u64()),
        (Some("6g"), Some(2))
    );
    let codes = codes_of(&v);
    assert!(
        !codes.contains(&"JVM001".into()) && !codes.contains(&"JVM012".into()),
        "{codes:?}"
    );
}

#[test]
fn an_unreadable_file_is_not_judged_as_absent() {
    let t = CliTest::new("legacy-2.6");
    let identity = t
        .root
        .join("opt/wso2am-2.6.0/repository/conf/identity/identity.xml");
    std::fs::remove_file(&identity).unwrap();
    std::fs::create_dir(&identity).unwrap();
    let (_, v) = t.json(Some("wso2am-2.6.0"), &[]);
    finding(&v, "SRC001", "identity.xml");
    assert!(
        !v["findings"].to_string().contains("TokenCleanup"),
        "settings of an unreadable file must not be judged: {v:#}"
    );
}

#[test]
fn symlinks_in_a_home_under_the_root_resolve_inside_the_root() {
    let t = CliTest::new("modern-4.2");
    let conf = t.root.join("opt/wso2am-4.2.0/repository/conf");
    std::fs::create_dir_all(t.root.join("etc/wso2")).unwrap();
    std::fs::rename(
        conf.join("deployment.toml"),
        t.root.join("etc/wso2/deployment.toml"),
    )
    .unwrap();
    std::os::unix::fs::symlink("/etc/wso2/deployment.toml", conf.join("deployment.toml")).unwrap();
    let (_, v) = t.json(Some("wso2am-4.2.0"), &["--role", "gateway"]);
    // Read through the link from inside the root (line 34 of the moved file: the token cache
    // expiry, 30 min), named by the path API-M itself opens.
    let f = finding(&v, "APM002", "km_token.expiry_time");
    assert_eq!(f["line"], 34);
    assert_eq!(
        f["file"],
        "opt/wso2am-4.2.0/repository/conf/deployment.toml"
    );

    // A link to a file the root does not have is reported, not read from the real host.
    std::fs::remove_file(t.root.join("etc/wso2/deployment.toml")).unwrap();
    let (_, v) = t.json(Some("wso2am-4.2.0"), &["--role", "gateway"]);
    let f = finding(&v, "SRC001", "deployment.toml");
    assert!(f["message"].as_str().unwrap().contains("dangling"), "{f:#}");
    assert!(!codes_of(&v).iter().any(|c| c.starts_with("APM")), "{v:#}");
}

#[test]
fn entity_expansion_limit_is_never_raised_on_jdk_24_and_later() {
    // The tuned host sets WSO2's -DentityExpansionLimit=10000: right up to JDK 23, a fourfold
    // raise of JDK 24+'s own 2500.
    let t = CliTest::new("tuned-4.2");
    let (_, v) = t.json(
        Some("wso2am-4.2.0"),
        &["--role", "gateway", "--java-version", "17"],
    );
    assert!(!v.to_string().contains("entityExpansionLimit"), "{v:#}");
    let (_, v) = t.json(
        Some("wso2am-4.2.0"),
        &["--role", "gateway", "--java-version", "25"],
    );
    let f = finding(&v, "JVM002", "-DentityExpansionLimit");
    assert_eq!(
        (f["current"].as_str(), f["expected"].as_str()),
        (Some("10000"), Some("<= 2500"))
    );
}

#[test]
fn limits_written_as_rlim_infinity_count_as_unlimited() {
    let t = CliTest::new("tuned-4.2");
    std::fs::write(
        t.root.join("etc/security/limits.d/90-wso2.conf"),
        "wso2carbon - nofile 18446744073709551615\nwso2carbon - nproc 20000\n",
    )
    .unwrap();
    let (_, v) = t.json(
        Some("wso2am-4.2.0"),
        &["--role", "gateway", "--java-version", "17"],
    );
    assert!(!codes_of(&v).iter().any(|c| c.starts_with("LIM")), "{v:#}");
}

/// A FIFO where a configuration file belongs (here `etc/sysctl.conf`) is a finding that names
/// it, and the audit goes on: before, the read waited for a writer forever (issue 15). The
/// timeout turns a regression into a failure, not a hang. (Devices and the size cap: the unit
/// tests of `source::read_bytes`.)
#[test]
fn a_fifo_in_a_config_slot_is_a_finding_not_a_hang() {
    let t = CliTest::new("bare-public");
    std::fs::create_dir_all(t.root.join("etc/sysctl.d")).unwrap();
    nix::unistd::mkfifo(
        &t.root.join("etc/sysctl.conf"),
        nix::sys::stat::Mode::S_IRUSR | nix::sys::stat::Mode::S_IWUSR,
    )
    .unwrap();
    let out = t
        .audit(None, &["--format", "json"])
        .timeout(std::time::Duration::from_secs(20))
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = finding(&v, "SRC001", "sysctl.conf");
    assert!(
        f["message"].as_str().unwrap_or("").contains("FIFO"),
        "{f:#}"
    );
}
