//! `gateway --format json` names the APIs and a call that works; `validate` says how long it
//! will run before it starts, and its timeout check says both the scaled and the real wait.

use crate::CliTest;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::Stdio;
use std::time::Duration;

/// Sends `GET url` with the given headers and returns the status line.
fn get(url: &str, headers: &[String]) -> String {
    let rest = url.strip_prefix("http://").expect("http URL");
    let (addr, path) = rest.split_at(rest.find('/').expect("a path"));
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for h in headers {
        req.push_str(h);
        req.push_str("\r\n");
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out.lines().next().unwrap_or("").to_string()
}

/// Sends `POST url` with a form body (what `curl -d` sends) and returns the status line.
fn post(url: &str, body: &str) -> String {
    let rest = url.strip_prefix("http://").expect("http URL");
    let (addr, path) = rest.split_at(rest.find('/').expect("a path"));
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out.lines().next().unwrap_or("").to_string()
}

/// The quoted words (`-H '…'` headers, `-d '…'` bodies) and the URL of a `curl` line as the gateway prints it.
fn parse_curl(line: &str) -> (Vec<String>, String) {
    let parts: Vec<&str> = line.split('\'').collect();
    let headers = parts
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, h)| h.to_string())
        .collect();
    let url = line
        .split_whitespace()
        .last()
        .expect("a URL last")
        .to_string();
    (headers, url)
}

#[test]
fn gateway_json_lists_the_api_paths_and_a_sample_curl_that_works() {
    let t = CliTest::new("modern-4.2");
    let child = t
        .std_command(
            "gateway",
            Some("wso2am-4.2.0"),
            &[
                "--listen",
                "127.0.0.1:0",
                "--format",
                "json",
                "--for",
                "30",
                "--tokens",
                "5",
            ],
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut server = Kill(child);
    let mut line = String::new();
    BufReader::new(server.0.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
    let gateway = v["gateway"].as_str().unwrap();
    let apis = v["apis"].as_array().expect("an `apis` array");
    let pizza = apis
        .iter()
        .find(|a| a["context"] == "/pizzashack/1.0.0")
        .expect("the sample API");
    assert_eq!(pizza["subscribed"], true);
    let paths: Vec<&str> = pizza["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    assert!(paths.contains(&"/pizzashack/1.0.0/menu"), "{paths:?}");
    assert!(
        paths.contains(&"/pizzashack/1.0.0/order/{orderId}"),
        "{paths:?}"
    );
    for r in pizza["resources"].as_array().unwrap() {
        let url = r["url"].as_str().unwrap();
        assert_eq!(url, format!("{gateway}{}", r["path"].as_str().unwrap()));
    }
    // The sample call, run as written, gets through; the same token on the API nobody
    // subscribes to gets the 403 the listing announces.
    let call = v["try"]["call"].as_str().expect("try.call");
    assert!(call.starts_with("curl "), "{call}");
    let (headers, url) = parse_curl(call);
    assert!(get(&url, &headers).starts_with("HTTP/1.1 200"), "{call}");
    let admin = apis
        .iter()
        .find(|a| a["subscribed"] == false)
        .expect("an API without subscription");
    let admin_url = admin["resources"][0]["url"].as_str().unwrap();
    assert!(
        get(admin_url, &headers).starts_with("HTTP/1.1 403"),
        "{admin_url}"
    );
    // The revoke line revokes: the call then fails.
    let revoke = v["try"]["revoke"].as_str().expect("try.revoke");
    let (body, revoke_url) = parse_curl(revoke);
    assert!(revoke.starts_with("curl -d "), "{revoke}");
    assert!(
        post(&revoke_url, &body[0]).starts_with("HTTP/1.1 200"),
        "{revoke}"
    );
    assert!(get(&url, &headers).starts_with("HTTP/1.1 401"), "{call}");
}

/// Before the load starts, stderr says how long the whole run takes; the timeout check gives
/// the wait of the scaled run and what it stands for at the configured timeouts.
#[test]
fn validate_states_its_total_duration_and_both_timeout_waits() {
    let t = CliTest::new("modern-4.2");
    let out = t
        .command(
            "validate",
            Some("wso2am-4.2.0"),
            &[
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
                "--format",
                "json",
            ],
        )
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let first = stderr.lines().next().unwrap_or("");
    assert_eq!(
        first,
        "validate: 2 configurations × 0.5 s of load (at most 400 requests each), then 5 checks each (about 10 s): about 11 s in all",
        "{stderr}"
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let details: Vec<&str> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["name"] == "timeout-ordering" && c["status"] == "pass")
        .map(|c| c["detail"].as_str().unwrap())
        .collect();
    assert_eq!(details.len(), 2, "{v}");
    for d in details {
        // e.g. "… got a 504 from the gateway after 302 ms in the scaled run, 30.2 s at the
        // configured timeouts (timeouts scaled: 30 s → 300 ms)".
        let after = d
            .split("got a 504 from the gateway after ")
            .nth(1)
            .unwrap_or_else(|| panic!("{d}"));
        let (scaled, rest) = after.split_once(" in the scaled run, ").expect(d);
        let (real, _) = rest.split_once(" at the configured timeouts").expect(d);
        assert!(scaled.ends_with(" ms"), "{d}");
        assert!(real.ends_with(" s"), "{d}");
    }
}

#[test]
fn validate_without_checks_states_only_the_load() {
    let t = CliTest::new("modern-4.2");
    let out = t
        .command(
            "validate",
            Some("wso2am-4.2.0"),
            &[
                "--duration",
                "0.5",
                "--connections",
                "2",
                "--requests",
                "50",
                "--tokens",
                "5",
                "--no-checks",
            ],
        )
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with(
            "validate: 2 configurations × 0.5 s of load (at most 50 requests each): about 1 s in all\n"
        ),
        "{stderr}"
    );
}
