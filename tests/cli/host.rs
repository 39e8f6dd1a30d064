//! `apim-tune host` on the fake roots, and what the host facts change in the audit: systemd
//! units, running JVMs, Debian 13's unread sysctl.conf, containers.

use super::{CliTest, codes_of};
use serde_json::Value;

fn host(t: &CliTest, format: &str) -> String {
    let out = assert_cmd::Command::cargo_bin("apim-tune")
        .unwrap()
        .env_remove("JAVA_HOME")
        .args(["host", "--root"])
        .arg(&t.root)
        .args(["--format", format])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).replace(&t.root.display().to_string(), "[ROOT]")
}

fn finding<'a>(v: &'a Value, code: &str) -> &'a Value {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == code)
        .unwrap_or_else(|| panic!("no {code} in {v:#}"))
}

#[test]
fn host_facts_for_every_scenario() {
    for (scenario, verdict) in [
        ("cloud-vm", "behind-nat"),
        ("docker-host", "performs-nat"),
        ("bare-public", "none"),
        ("systemd-unit", "none"),
        ("jvm-low-limits", "none"),
        ("debian13-no-link", "none"),
        ("container-ro", "behind-nat"),
    ] {
        let t = CliTest::new(scenario);
        let json = host(&t, "json");
        let v: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["nat"]["verdict"], verdict, "{scenario}: {json}");
        assert!(
            !v["nat"]["signals"].as_array().unwrap().is_empty(),
            "{scenario}: evidence is listed"
        );
        let text = host(&t, "text");
        crate::in_snapshots! {
            insta::assert_snapshot!(format!("host_{scenario}_text"), text);
            insta::assert_json_snapshot!(format!("host_{scenario}_json"), v);
        }
    }
}

#[test]
fn cloud_docker_and_container_facts() {
    let v: Value = serde_json::from_str(&host(&CliTest::new("cloud-vm"), "json")).unwrap();
    assert_eq!(v["cloud"], "aws");
    assert_eq!(v["distro"]["id"], "ubuntu");
    let v: Value = serde_json::from_str(&host(&CliTest::new("container-ro"), "json")).unwrap();
    assert_eq!(v["container"], "docker");
    assert_eq!(v["proc_sys_read_only"], true);
    let k8s = host(&CliTest::new("container-ro"), "k8s");
    assert!(k8s.contains("securityContext:"), "{k8s}");
    // A list is raised over the live value; with no live value it is left out rather than
    // written as the profile's minimum, which could lower an element the kernel sets higher.
    assert!(!k8s.contains("tcp_rmem"), "{k8s}");
    // The operator's choices (manual-fix entries) are not written for them.
    assert!(!k8s.contains("tcp_tw_reuse"), "{k8s}");
    let t = CliTest::new("container-ro");
    std::fs::create_dir_all(t.root.join("proc/sys/net/ipv4")).unwrap();
    std::fs::write(
        t.root.join("proc/sys/net/ipv4/tcp_rmem"),
        "4096\t131072\t6291456\n",
    )
    .unwrap();
    let raised = host(&t, "k8s");
    assert!(
        raised.contains("- name: net.ipv4.tcp_rmem\n      value: \"4096 131072 16777216\""),
        "the kernel's 131072 is kept: {raised}"
    );
    assert!(k8s.contains("--sysctl net.core.somaxconn="), "{k8s}");
    assert!(
        k8s.contains("# fs.file-max = "),
        "node-level keys are listed apart: {k8s}"
    );
    crate::in_snapshots! { insta::assert_snapshot!("host_container_k8s", k8s); }
}

#[test]
fn a_systemd_unit_is_judged_instead_of_limits_conf() {
    let t = CliTest::new("systemd-unit");
    let v: Value = serde_json::from_str(&host(&t, "json")).unwrap();
    assert_eq!(v["services"][0]["name"], "wso2am.service");
    assert_eq!(v["services"][0]["limit_nofile"]["value"], "4096");
    let (_, v) = t.json(Some("wso2am-4.2.0"), &["--role", "gateway"]);
    assert_eq!(v["host"]["java"], 17, "JDK from the unit's JAVA_HOME");
    let f = finding(&v, "SVC001");
    assert_eq!(f["file"], "etc/systemd/system/wso2am.service");
    assert_eq!(
        f["fix"]["file"],
        "etc/systemd/system/wso2am.service.d/zz-apim-tune.conf"
    );
    finding(&v, "SVC002");
    assert!(
        !codes_of(&v).iter().any(|c| c.starts_with("LIM")),
        "limits.conf is not judged for a service"
    );
    // --apply writes the unit drop-in; then the unit is tuned.
    let out = t
        .audit(
            Some("wso2am-4.2.0"),
            &["--role", "gateway", "--apply", "--yes"],
        )
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("daemon-reload"), "{stdout}");
    let dropin = std::fs::read_to_string(
        t.root
            .join("etc/systemd/system/wso2am.service.d/zz-apim-tune.conf"),
    )
    .unwrap();
    assert!(
        dropin.contains("[Service]\nLimitNOFILE=4096:65535\n"),
        "{dropin}"
    );
    let (_, v) = t.json(Some("wso2am-4.2.0"), &["--role", "gateway"]);
    assert!(!codes_of(&v).contains(&"SVC001".to_string()), "{v:#}");
}

#[test]
fn a_running_jvm_with_low_limits_needs_a_restart() {
    let t = CliTest::new("jvm-low-limits");
    let (code, v) = t.json(Some("wso2am-4.2.0"), &["--role", "gateway"]);
    assert_eq!(code, 1);
    let f = finding(&v, "PRC001");
    assert_eq!(
        f["subject"], "process:/opt/wso2am-4.2.0:nofile",
        "named by its home, stable across restarts"
    );
    assert_eq!(f["current"], "1024/4096");
    assert_eq!(v["host"]["java"], 17, "JDK from the process's executable");
}

#[test]
fn debian_13_does_not_read_sysctl_conf() {
    let t = CliTest::new("debian13-no-link");
    let (_, v) = t.json(None, &[]);
    let f = finding(&v, "SYS013");
    assert_eq!(f["file"], "etc/sysctl.conf");
    // Its lines are not what boot applies: the persisted value is the kernel's.
    let fin = v["sysctl"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["key"] == "net.ipv4.tcp_fin_timeout")
        .unwrap();
    assert!(fin["persisted"].is_null(), "{fin:#}");
    // --apply moves them to the drop-in and comments them out.
    t.audit(None, &["--apply", "--yes"]).output().unwrap();
    let conf = std::fs::read_to_string(t.root.join("etc/sysctl.conf")).unwrap();
    assert!(conf.contains("# net.ipv4.tcp_fin_timeout = 30"), "{conf}");
    let dropin = std::fs::read_to_string(t.root.join("etc/sysctl.d/99-zz-apim-tune.conf")).unwrap();
    assert_eq!(
        dropin.matches("net.ipv4.tcp_fin_timeout").count(),
        1,
        "{dropin}"
    );
    assert!(dropin.contains("net.core.rmem_max = 67108864"), "{dropin}");
    let (_, v) = t.json(None, &[]);
    assert!(!codes_of(&v).contains(&"SYS013".to_string()));
}

#[test]
fn in_a_container_sysctls_are_for_the_runtime() {
    let t = CliTest::new("container-ro");
    let (_, v) = t.json(None, &[]);
    let findings = v["findings"].as_array().unwrap();
    let sysctl: Vec<_> = findings
        .iter()
        .filter(|f| f["subject"].as_str().unwrap().starts_with("sysctl:"))
        .collect();
    assert!(!sysctl.is_empty());
    for f in &sysctl {
        assert_eq!(f["fixable"], false, "no file fix in a container: {f:#}");
        let notes = f["notes"].to_string();
        assert!(
            notes.contains("per pod") || notes.contains("node-level"),
            "{f:#}"
        );
    }
}

// See: review of issue 5.
#[test]
fn debian_13_never_moves_a_harmful_or_overridden_line() {
    let t = CliTest::new("debian13-no-link");
    std::fs::write(
        t.root.join("etc/sysctl.conf"),
        "net.ipv4.tcp_tw_recycle = 1\nfs.file-max = 2097152\nnet.core.rmem_max = 1048576\nnet.ipv4.tcp_fin_timeout = 30\n",
    )
    .unwrap();
    std::fs::write(
        t.root.join("etc/sysctl.d/60-net.conf"),
        "net.core.rmem_max = 134217728\n",
    )
    .unwrap();
    let out = t.audit(None, &["--diff"]).output().unwrap();
    let d = String::from_utf8_lossy(&out.stdout);
    assert!(!d.contains("+net.ipv4.tcp_tw_recycle"), "{d}");
    assert!(!d.contains("+fs.file-max"), "{d}");
    assert!(
        !d.contains("+net.core.rmem_max = 1048576"),
        "a stale value must not override 60-net.conf:\n{d}"
    );
    assert!(
        d.contains("+net.ipv4.tcp_fin_timeout = 30"),
        "a good line moves:\n{d}"
    );
    assert!(d.contains("+# net.ipv4.tcp_tw_recycle = 1"), "{d}");
}

#[test]
fn the_unit_drop_in_wins_over_override_conf() {
    let t = CliTest::new("systemd-unit");
    let d = t.root.join("etc/systemd/system/wso2am.service.d");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("override.conf"), "[Service]\nLimitNOFILE=4096\n").unwrap();
    t.audit(
        Some("wso2am-4.2.0"),
        &["--role", "gateway", "--apply", "--yes"],
    )
    .output()
    .unwrap();
    let (_, v) = t.json(Some("wso2am-4.2.0"), &["--role", "gateway"]);
    assert!(!codes_of(&v).contains(&"SVC001".to_string()), "{v:#}");
}

#[test]
fn only_units_that_run_api_m_count() {
    // Graphite's carbon-cache is not API-M; an invalid Limit value is reported and ignored, as
    // systemd ignores it; systemd's default 1024:524288 is enough for a JVM (MaxFDLimit).
    let t = CliTest::new("bare-public");
    let lib = t.root.join("usr/lib/systemd/system");
    std::fs::create_dir_all(&lib).unwrap();
    std::fs::write(
        lib.join("carbon-cache.service"),
        "[Service]\nExecStart=/usr/bin/carbon-cache\n",
    )
    .unwrap();
    let v: Value = serde_json::from_str(&host(&t, "json")).unwrap();
    assert_eq!(v["services"].as_array().unwrap().len(), 0, "{v:#}");
    std::fs::write(
        t.root.join("usr/lib/systemd/system/wso2am.service"),
        "[Service]\nExecStart=/opt/wso2am/bin/api-manager.sh\nLimitNPROC=20000\n",
    )
    .unwrap();
    let (_, v) = t.json(None, &[]);
    assert!(
        !codes_of(&v).contains(&"SVC001".to_string()),
        "default NOFILE is fine: {v:#}"
    );
    let d = t.root.join("etc/systemd/system/wso2am.service.d");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("10-limits.conf"), "[Service]\nLimitNOFILE=64K\n").unwrap();
    let (_, v) = t.json(None, &[]);
    let f = finding(&v, "SRC002");
    assert!(
        f["message"].as_str().unwrap().contains("LimitNOFILE=64K"),
        "{f:#}"
    );
}

#[test]
fn a_public_address_beside_a_private_one_is_not_nat() {
    let t = CliTest::new("bare-public");
    let fib = std::fs::read_to_string(t.root.join("proc/net/fib_trie")).unwrap();
    let with_backend = fib.replacen(
        "  +-- 127.0.0.0/8",
        "     +-- 10.20.0.0/24 2 0 2\n        |-- 10.20.0.0\n           /24 link UNICAST\n        |-- 10.20.0.5\n           /32 host LOCAL\n  +-- 127.0.0.0/8",
        1,
    );
    std::fs::write(t.root.join("proc/net/fib_trie"), with_backend).unwrap();
    let v: Value = serde_json::from_str(&host(&t, "json")).unwrap();
    assert_eq!(v["nat"]["verdict"], "none", "{v:#}");
}

#[test]
fn host_output_masks_secrets_in_the_unit() {
    let t = CliTest::new("systemd-unit");
    let unit = t.root.join("etc/systemd/system/wso2am.service");
    let text = std::fs::read_to_string(&unit).unwrap().replace(
        "api-manager.sh start",
        "api-manager.sh -Dwso2.admin.password=ExecSecret55 start",
    );
    std::fs::write(&unit, text).unwrap();
    for format in ["text", "json"] {
        let out = host(&t, format);
        assert!(!out.contains("ExecSecret55"), "{format}: {out}");
    }
}
