//! Kubernetes without a cluster, through the binary: `apim-tune facts -f MANIFESTS --output DIR`
//! on rendered manifests (tests/fixtures/kubernetes, see its README for what is planted).

use super::fixtures;
use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

const SALT: &str = "kubernetes-test-salt";

fn manifest(name: &str) -> PathBuf {
    fixtures().join("kubernetes").join(name)
}

/// `apim-tune facts -f MANIFEST --output OUT` with a private TMPDIR (so the test can see the
/// temporary roots are gone) and a clean environment.
fn facts(tmp: &Path, manifests: &[&Path], out: &Path) -> std::process::Output {
    let mut cmd = Command::cargo_bin("apim-tune").expect("binary");
    cmd.env_remove("JAVA_HOME")
        .env_remove("APIM_HOME")
        .env_remove("CARBON_HOME")
        .env("TMPDIR", tmp)
        .env("APIM_TUNE_FLEET_SALT", SALT)
        .arg("facts");
    for m in manifests {
        cmd.arg("-f").arg(m);
    }
    cmd.arg("--output").arg(out);
    cmd.timeout(std::time::Duration::from_secs(60))
        .output()
        .expect("runs")
}

struct Run {
    _dir: tempfile::TempDir,
    tmp: PathBuf,
    out: PathBuf,
    output: std::process::Output,
}

fn run(manifests: &[&Path]) -> Run {
    let dir = tempfile::tempdir().expect("temp dir");
    let tmp = dir.path().join("tmp");
    let out = dir.path().join("out");
    std::fs::create_dir_all(&tmp).expect("tmp");
    let output = facts(&tmp, manifests, &out);
    Run {
        _dir: dir,
        tmp,
        out,
        output,
    }
}

fn stderr(r: &Run) -> String {
    String::from_utf8_lossy(&r.output.stderr).into_owned()
}

fn export(r: &Run, name: &str) -> Value {
    let path = r.out.join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}\nstderr: {}\nout: {:?}",
            path.display(),
            stderr(r),
            std::fs::read_dir(&r.out).map(|d| d.count())
        )
    });
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}.json is not JSON: {e}"))
}

const GW: &str = "apim-gw-wso2am-gateway";
const CP: &str = "apim-cp-wso2am-cp";
const TM: &str = "apim-tm-wso2am-tm";

fn codes(v: &Value) -> Vec<&str> {
    v["homes"][0]["report"]["findings"]
        .as_array()
        .map(|a| a.iter().filter_map(|f| f["code"].as_str()).collect())
        .unwrap_or_default()
}

#[test]
fn one_export_per_workload_with_what_the_pod_gets() {
    let r = run(&[&manifest("apim-distributed.yaml")]);
    assert_eq!(r.output.status.code(), Some(0), "stderr: {}", stderr(&r));
    let mut names: Vec<String> = std::fs::read_dir(&r.out)
        .expect("out dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            format!("{CP}.json"),
            format!("{GW}.json"),
            format!("{TM}.json")
        ]
    );

    let gw = export(&r, GW);
    assert_eq!(gw["schema"], "apim-tune/facts/v1");
    let k = &gw["host"]["kubernetes"];
    assert_eq!(k["workload"], format!("Deployment/{GW}"));
    assert_eq!(k["namespace"], "apim");
    assert_eq!(k["container"], "wso2am-gateway");
    assert_eq!(k["replicas"], 2);
    assert_eq!(k["hpa_max_replicas"], 6);
    assert_eq!(k["max_surge"], 1);
    assert_eq!(k["memory_limit_mb"], 2048);
    assert_eq!(k["cpu_limit_millis"], 2000);
    assert_eq!(k["sysctls"]["net.ipv4.tcp_fin_timeout"], "30");
    assert_eq!(gw["host"]["container"], true);
    assert_eq!(gw["host"]["memory_mb"]["value"], 2048);
    assert_eq!(gw["host"]["cores"]["value"], 2);
    // The pod's sysctl is the live value; the node's others are unknown, not the test host's.
    assert_eq!(
        gw["host"]["sysctl"]["net.ipv4.tcp_fin_timeout"]["live"], "30",
        "{}",
        gw["host"]["sysctl"]
    );
    assert_eq!(gw["host"]["kernel"]["value"], Value::Null);
    assert_eq!(gw["host"]["jdk"]["value"], Value::Null);

    let home = &gw["homes"][0];
    assert_eq!(home["version"]["value"], "4.2.0");
    assert_eq!(home["role"]["value"], "gateway");
    // JAVA_OPTS comes after JVM_MEM_OPTS on the java line: its -Xmx3072m is the one in effect.
    assert_eq!(home["heap_max_mb"]["value"], 3072);
    let pools: Vec<(&str, i64)> = home["datasources"]
        .as_array()
        .expect("datasources")
        .iter()
        .filter_map(|d| Some((d["name"].as_str()?, d["max_active"].as_i64()?)))
        .collect();
    assert!(pools.contains(&("apim_db", 50)), "{pools:?}");
    // Heap above the memory limit: the audit's own finding, in the embedded report.
    assert!(codes(&gw).contains(&"JVM011"), "{:?}", codes(&gw));
    // The pod's port range is judged like a host's.
    assert!(codes(&gw).contains(&"SYS021"), "{:?}", codes(&gw));

    let cp = export(&r, CP);
    assert_eq!(cp["host"]["kubernetes"]["max_surge"], 0, "Recreate");
    assert_eq!(cp["homes"][0]["role"]["value"], "control-plane");
    assert_eq!(cp["homes"][0]["heap_max_mb"]["value"], 2048);
    assert!(!codes(&cp).contains(&"JVM011"), "{:?}", codes(&cp));

    let tm = export(&r, TM);
    let k = &tm["host"]["kubernetes"];
    assert_eq!(k["workload"], format!("StatefulSet/{TM}"));
    assert_eq!(k["replicas"], 2);
    assert_eq!(k["max_surge"], 0);
    assert_eq!(tm["homes"][0]["role"]["value"], "traffic-manager");
    // JVM_MEM_OPTS from a configMapKeyRef is as literal as a value.
    assert_eq!(tm["homes"][0]["heap_max_mb"]["value"], 1536);
    assert!(!codes(&tm).contains(&"JVM011"), "{:?}", codes(&tm));
}

#[test]
fn no_secret_and_no_temporary_path_in_the_exports_and_nothing_left_behind() {
    let r = run(&[&manifest("apim-distributed.yaml")]);
    assert_eq!(r.output.status.code(), Some(0), "stderr: {}", stderr(&r));
    let tmp = r.tmp.display().to_string();
    for name in [GW, CP, TM] {
        let text = std::fs::read_to_string(r.out.join(format!("{name}.json"))).expect("export");
        for secret in ["k8s-admin-secret", "k8s-db-secret", "k8s-keystore-secret"] {
            assert!(!text.contains(secret), "{name}: {secret} leaked");
        }
        assert!(!text.contains(&tmp), "{name}: the temporary root leaks");
        assert!(
            !text.contains("apim-tune-pod-"),
            "{name}: the temporary root leaks"
        );
        assert!(
            !text.contains("container-env.service"),
            "{name}: the stand-in unit shows"
        );
        // The workload is named instead.
        assert!(text.contains("apim-distributed.yaml#"), "{name}");
    }
    let left: Vec<_> = std::fs::read_dir(&r.tmp)
        .expect("tmp")
        .map(|e| e.expect("entry").path())
        .collect();
    assert!(left.is_empty(), "temporary roots left: {left:?}");
}

#[test]
fn bad_yaml_is_a_clear_error_with_file_line_and_column() {
    let r = run(&[&manifest("bad.yaml")]);
    assert_eq!(r.output.status.code(), Some(2), "stderr: {}", stderr(&r));
    let err = stderr(&r);
    assert!(err.contains("bad.yaml:"), "{err}");
    assert!(
        err.split("bad.yaml:")
            .nth(1)
            .and_then(|rest| rest.split(':').next())
            .is_some_and(|line| line.parse::<u32>().is_ok_and(|l| (6..=7).contains(&l))),
        "line 6 or 7: {err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert!(!r.out.exists() || std::fs::read_dir(&r.out).map_or(0, |d| d.count()) == 0);
}

#[test]
fn manifests_without_api_m_are_an_error_not_an_empty_success() {
    let r = run(&[&manifest("not-apim.yaml")]);
    assert_eq!(r.output.status.code(), Some(2), "stderr: {}", stderr(&r));
    assert!(stderr(&r).contains("no API-M workload"), "{}", stderr(&r));
}

#[test]
fn hostile_manifests_are_bounded() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A billion laughs: 10^15 nodes if aliases were expanded.
    let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    let mut prev = 'a';
    for c in 'b'..='o' {
        bomb.push_str(&format!(
            "{c}: &{c} [{}]\n",
            vec![format!("*{prev}"); 10].join(", ")
        ));
        prev = c;
    }
    let deep = format!("{}{}", "[".repeat(200_000), "]".repeat(200_000));
    let binary: Vec<u8> = (0..=255u8).cycle().take(1 << 16).collect();
    for (name, bytes) in [
        ("bomb.yaml", bomb.into_bytes()),
        ("deep.yaml", deep.into_bytes()),
        ("binary.yaml", binary),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).expect("write");
        let start = std::time::Instant::now();
        let r = run(&[&path]);
        assert!(
            start.elapsed().as_secs() < 30,
            "{name} took {:?}",
            start.elapsed()
        );
        assert_eq!(r.output.status.code(), Some(2), "{name}: {}", stderr(&r));
        assert!(stderr(&r).contains(name), "{name}: {}", stderr(&r));
        assert!(!stderr(&r).contains("panicked"), "{name}: {}", stderr(&r));
    }
}

#[test]
fn a_configmap_in_another_file_is_found() {
    // Split the fixture: workloads in one file, everything else in another.
    let text = std::fs::read_to_string(manifest("apim-distributed.yaml")).expect("fixture");
    let (mut workloads, mut rest) = (String::new(), String::new());
    for doc in text.split("\n---\n") {
        let target =
            if doc.contains("\nkind: Deployment\n") || doc.contains("\nkind: StatefulSet\n") {
                &mut workloads
            } else {
                &mut rest
            };
        target.push_str(doc);
        target.push_str("\n---\n");
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let (a, b) = (
        dir.path().join("workloads.yaml"),
        dir.path().join("config.yaml"),
    );
    std::fs::write(&a, workloads).expect("write");
    std::fs::write(&b, rest).expect("write");
    let r = run(&[&a, &b]);
    assert_eq!(r.output.status.code(), Some(0), "stderr: {}", stderr(&r));
    let gw = export(&r, GW);
    assert_eq!(gw["homes"][0]["role"]["value"], "gateway");
    assert_eq!(gw["homes"][0]["heap_max_mb"]["value"], 3072);
}

#[test]
fn a_broken_deployment_toml_in_a_configmap_still_exports_with_the_finding() {
    let text = std::fs::read_to_string(manifest("apim-distributed.yaml")).expect("fixture");
    let broken = text.replacen(
        "    server_role = \"control-plane\"\n",
        "    server_role = \"control-plane\"\n    [broken\n",
        1,
    );
    assert_ne!(broken, text, "the fixture has the line to break");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("broken.yaml");
    std::fs::write(&path, broken).expect("write");
    let r = run(&[&path]);
    assert_eq!(r.output.status.code(), Some(0), "stderr: {}", stderr(&r));
    let cp = export(&r, CP);
    let findings = cp["homes"][0]["report"]["findings"]
        .as_array()
        .expect("findings");
    let src = findings
        .iter()
        .find(|f| f["code"].as_str().is_some_and(|c| c.starts_with("SRC")))
        .unwrap_or_else(|| panic!("a SRC finding: {:?}", codes(&cp)));
    assert!(
        src["file"]
            .as_str()
            .is_some_and(|f| f.ends_with("repository/conf/deployment.toml")),
        "{src}"
    );
    // The other workloads are unaffected.
    assert_eq!(export(&r, GW)["homes"][0]["role"]["value"], "gateway");
}

#[test]
fn one_name_in_two_namespaces_gives_two_exports() {
    let text = std::fs::read_to_string(manifest("apim-distributed.yaml")).expect("fixture");
    let staging = text.replace("namespace: apim\n", "namespace: staging\n");
    let dir = tempfile::tempdir().expect("temp dir");
    let (a, b) = (
        dir.path().join("prod.yaml"),
        dir.path().join("staging.yaml"),
    );
    std::fs::write(&a, &text).expect("write");
    std::fs::write(&b, staging).expect("write");
    let r = run(&[&a, &b]);
    assert_eq!(r.output.status.code(), Some(0), "stderr: {}", stderr(&r));
    let prod = export(&r, &format!("apim-{GW}"));
    let stag = export(&r, &format!("staging-{GW}"));
    assert_eq!(prod["host"]["kubernetes"]["namespace"], "apim");
    assert_eq!(stag["host"]["kubernetes"]["namespace"], "staging");
    assert_eq!(prod["host"]["kubernetes"]["source"], "prod.yaml#3");
    assert_eq!(stag["host"]["kubernetes"]["source"], "staging.yaml#3");
}
