//! `validate`, `gateway`, `backend` and `load` through the binary, on 127.0.0.1 with bounded
//! loads. Numbers are redacted from snapshots: only the shape and the verdicts are pinned.

use crate::CliTest;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const SHORT: &[&str] = &[
    "--duration",
    "0.5",
    "--connections",
    "4",
    "--requests",
    "400",
    "--km-latency",
    "0",
    "--tokens",
    "20",
];

/// Every number replaced, and the free text of check details dropped: the shape stays.
fn shape(v: &Value) -> Value {
    match v {
        Value::Number(_) => Value::String("[number]".into()),
        Value::Array(a) => Value::Array(a.iter().map(shape).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| {
                    let v = match k.as_str() {
                        "detail" => Value::String("[detail]".into()),
                        _ => shape(v),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

fn checks(v: &Value, name: &str) -> Vec<(String, String)> {
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["name"] == name)
        .map(|c| {
            (
                c["status"].as_str().unwrap().to_string(),
                c["detail"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// `validate` on a home of the fixture root with the short bounded load plus `extra`.
fn validate(t: &CliTest, home: &str, extra: &[&str]) -> std::process::Output {
    let mut args = extra.to_vec();
    args.extend_from_slice(SHORT);
    t.command("validate", Some(home), &args).output().unwrap()
}

fn setting<'a>(run: &'a Value, name: &str) -> &'a Value {
    run["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no setting {name}"))
}

#[test]
fn validate_runs_current_and_proposed_and_reports_checks() {
    let t = CliTest::new("legacy-2.6");
    let out = validate(&t, "wso2am-2.6.0", &["--format", "json"]);
    let stdout =
        String::from_utf8_lossy(&out.stdout).replace(&t.root.display().to_string(), "[ROOT]");
    let v: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{e}\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(v["schema"], "apim-tune/validate/v1");
    let runs = v["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(
        (runs[0]["config"].as_str(), runs[1]["config"].as_str()),
        (Some("current"), Some("proposed"))
    );
    for run in runs {
        // Bounded by --requests, and every request got through.
        let n = run["requests"].as_u64().unwrap();
        assert!(n > 0 && n <= 400, "{run}");
        assert_eq!(run["errors"]["status_4xx"], 0, "{run}");
        assert_eq!(run["errors"]["status_5xx"], 0, "{run}");
    }
    // The legacy home's 40 core workers, from its file, and the profile's 400.
    let cur = setting(&runs[0], "worker_pool_size_core");
    assert_eq!(cur["value"], "40");
    assert!(
        cur["source"]
            .as_str()
            .unwrap()
            .starts_with("repository/conf/passthru-http.properties:"),
        "{cur}"
    );
    let prop = setting(&runs[1], "worker_pool_size_core");
    assert_eq!(prop["value"], "400");
    assert!(
        prop["source"].as_str().unwrap().starts_with("profile base"),
        "{prop}"
    );
    // The deterministic checks pass on both configurations.
    for name in ["cache-eviction", "cache-expiry", "revocation"] {
        let got = checks(&v, name);
        assert_eq!(got.len(), 2, "{name}");
        for (status, detail) in got {
            assert_eq!(status, "pass", "{name}: {detail}");
        }
    }
    assert_eq!(checks(&v, "timeout-ordering").len(), 2);
    assert_eq!(checks(&v, "connection-capacity").len(), 2);
    in_snapshots!({
        insta::assert_json_snapshot!("validate_legacy_shape", shape(&v));
    });
}

#[test]
fn validate_text_puts_the_configurations_side_by_side() {
    let t = CliTest::new("modern-4.2");
    let out = validate(&t, "wso2am-4.2.0", &["--no-checks"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "apim-tune validate:",
        "settings",
        "results",
        "current",
        "proposed",
        "throughput (req/s)",
        "latency p99.9",
        "token cache hit ratio",
        "key-manager validations",
        "key-manager database lookups",
        "http.socket.timeout",
    ] {
        assert!(text.contains(needle), "no `{needle}` in\n{text}");
    }
    assert!(
        !text.contains("checks\n"),
        "--no-checks still printed checks:\n{text}"
    );
}

/// A client timeout shorter than the gateway's makes the ordering check fail, naming both.
#[test]
fn validate_fails_when_the_client_gives_up_before_the_gateway() {
    let t = CliTest::new("modern-4.2");
    let out = validate(
        &t,
        "wso2am-4.2.0",
        &["--format", "json", "--client-timeout", "10"],
    );
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(checks(&v, "timeout-ordering").len(), 2);
    for (status, detail) in checks(&v, "timeout-ordering") {
        assert_eq!(status, "fail", "{detail}");
        assert!(detail.contains("its 10 s timeout"), "{detail}");
    }
}

/// Under a low open-files limit the capacity check fails and names that limit.
#[test]
fn validate_names_the_open_files_limit_that_cut_connections() {
    let t = CliTest::new("modern-4.2");
    let bin = assert_cmd::cargo::cargo_bin("apim-tune");
    let home = t.root.join("opt/wso2am-4.2.0");
    let script = format!(
        "ulimit -n 256 && exec '{}' validate --root '{}' --apim-home '{}' --format json {}",
        bin.display(),
        t.root.display(),
        home.display(),
        SHORT.join(" ")
    );
    let out = Command::new("sh").arg("-c").arg(script).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(checks(&v, "connection-capacity").len(), 2);
    for (status, detail) in checks(&v, "connection-capacity") {
        assert_eq!(status, "fail", "{detail}");
        assert!(
            detail.contains("open-files limit")
                || detail.contains("failed to accept")
                || detail.contains("could not open a backend connection"),
            "{detail}"
        );
        assert!(detail.contains("256 (RLIMIT_NOFILE soft)"), "{detail}");
    }
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn sigint(child: &Child) {
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
}

fn first_line(child: &mut Child) -> String {
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    line
}

fn http_get(addr: &str, path: &str, token: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn gateway_serves_then_stops_gracefully_on_sigint() {
    let t = CliTest::new("modern-4.2");
    let child = t
        .std_command(
            "gateway",
            Some("wso2am-4.2.0"),
            &["--listen", "127.0.0.1:0", "--format", "json", "--for", "60"],
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut server = Server(child);
    let line = first_line(&mut server.0);
    let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
    assert_eq!(v["schema"], "apim-tune/gateway/v1");
    assert_eq!(v["config"], "current");
    let addr = v["gateway"]
        .as_str()
        .unwrap()
        .trim_start_matches("http://")
        .to_string();
    let token = v["tokens"]["active"][0].as_str().unwrap();
    let expired = v["tokens"]["expired"][0].as_str().unwrap();
    assert!(http_get(&addr, "/pizzashack/1.0.0/menu", token).starts_with("HTTP/1.1 200"));
    assert!(http_get(&addr, "/pizzashack/1.0.0/menu", expired).starts_with("HTTP/1.1 401"));
    sigint(&server.0);
    let status = server.0.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    let mut stderr = String::new();
    server
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(stderr.contains("stopped"), "{stderr}");
    assert!(
        TcpStream::connect(&addr).is_err(),
        "still listening after stop"
    );
}

#[test]
fn the_built_in_load_counts_every_response_of_the_embedded_backend() {
    let bin = assert_cmd::cargo::cargo_bin("apim-tune");
    let child = Command::new(&bin)
        .args([
            "backend",
            "--listen",
            "127.0.0.1:0",
            "--payload",
            "300",
            "--for",
            "60",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut backend = Server(child);
    let line = first_line(&mut backend.0);
    let url = line
        .trim()
        .trim_start_matches("backend listening on ")
        .to_string();
    let out = Command::new(&bin)
        .args([
            "load",
            &format!("{url}/x"),
            "--requests",
            "250",
            "--connections",
            "5",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["schema"], "apim-tune/load/v1");
    assert_eq!(v["requests"], 250);
    assert_eq!(v["status"]["200"], 250);
    assert_eq!(v["errors"]["io"], 0);
    sigint(&backend.0);
    assert_eq!(backend.0.wait().unwrap().code(), Some(0));
}

#[test]
fn nothing_listens_or_sends_beyond_loopback() {
    let t = CliTest::new("modern-4.2");
    let out = t
        .command("gateway", None, &["--listen", "0.0.0.0:8280"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a loopback address"));
    let bin = assert_cmd::cargo::cargo_bin("apim-tune");
    for url in [
        "http://192.0.2.1:80/",
        "http://example.com/",
        "https://127.0.0.1:1/",
    ] {
        let out = Command::new(&bin)
            .args(["load", url, "--requests", "1"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{url}");
    }
}
