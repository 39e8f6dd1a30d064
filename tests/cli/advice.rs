//! The advice matrix: every real API-M home of the corpus (`../shared/fixtures/wso2`) and of
//! `examples/`, inside a stock, untuned Debian 12 host (`tests/fixtures/hosts/stock-debian12`)
//! where a systemd unit runs it as `wso2carbon`, audited under every role. Each home's whole
//! finding list, one line per finding, is pinned with insta, so every change of advice is
//! reviewed as a diff. The same nodes must converge: `--apply`, load the kernel parameters as
//! boot would, audit again: nothing fixable, nothing new.

use crate::converge::converges;
use crate::skip::shared;
use crate::{CliTest, copy_tree};
use serde_json::Value;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const ROLES: [&str; 5] = [
    "all-in-one",
    "gateway",
    "key-manager",
    "control-plane",
    "traffic-manager",
];

/// Every home with the name its snapshot takes: the corpus's (when `../shared` is there;
/// otherwise the test says SKIPPED and fails under `CI=true`) and the examples.
fn homes() -> Vec<(String, PathBuf)> {
    let mut homes = Vec::new();
    if let Some(corpus) = shared("fixtures/wso2") {
        homes.extend(
            subdirs(&corpus)
                .into_iter()
                .map(|p| (label("corpus", &p), p)),
        );
    }
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    homes.extend(
        subdirs(&examples)
            .into_iter()
            .map(|p| (label("example", &p), p)),
    );
    homes
}

fn label(kind: &str, home: &Path) -> String {
    format!("{kind}_{}", home.file_name().unwrap().to_string_lossy())
}

fn subdirs(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    v.sort();
    v
}

/// The JDK the home's version runs on: 8 for 1.x/2.x, 11 for 3.x, 17 for 4.x.
fn java_for(name: &str) -> &'static str {
    if name.starts_with("apim-1.") || name.starts_with("apim-2.") {
        "8"
    } else if name.starts_with("apim-3.") {
        "11"
    } else {
        "17"
    }
}

/// The stock host with `home` under `opt/NAME` and a unit that starts it.
fn node(home: &Path, name: &str) -> CliTest {
    let t = CliTest::new("stock-debian12");
    let dest = t.root.join("opt").join(name);
    copy_tree(home, &dest);
    let script = ["bin/api-manager.sh", "bin/wso2server.sh"]
        .into_iter()
        .find(|s| dest.join(s).is_file())
        .unwrap_or("bin/api-manager.sh");
    let unit = format!(
        "[Unit]\nDescription=WSO2 API Manager\nAfter=network.target\n\n[Service]\nType=forking\n\
         User=wso2carbon\nExecStart=/opt/{name}/{script} start\n\n[Install]\nWantedBy=multi-user.target\n"
    );
    // git keeps no empty directory: the fixture's unit folder is made here.
    let units = t.root.join("etc/systemd/system");
    std::fs::create_dir_all(&units).unwrap();
    std::fs::write(units.join("wso2am.service"), unit).unwrap();
    t
}

fn args<'a>(java: &'a str, role: &'a str) -> Vec<&'a str> {
    vec!["--java-version", java, "--role", role]
}

/// `severity CODE subject @location | current -> expected [fixable]`, one per finding.
fn lines(v: &Value) -> String {
    let mut out = String::new();
    for f in v["findings"].as_array().unwrap() {
        let s = |k: &str| f[k].as_str().unwrap_or("").to_string();
        let at = f["file"]
            .as_str()
            .map(|file| match f["line"].as_u64() {
                Some(line) => format!(" @{file}:{line}"),
                None => format!(" @{file}"),
            })
            .unwrap_or_default();
        let fix = if f["fixable"] == true {
            " [fixable]"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "{:<7} {} {}{at} | {} -> {}{fix}",
            s("severity"),
            s("code"),
            s("subject"),
            s("current"),
            s("expected")
        );
    }
    out
}

#[test]
fn every_home_under_every_role_gives_the_pinned_advice() {
    let homes = homes();
    assert!(homes.len() >= 2, "{homes:?}");
    for (label, home) in &homes {
        let name = home.file_name().unwrap().to_string_lossy().into_owned();
        let t = node(home, &name);
        let mut pinned = String::new();
        for role in ROLES {
            let (code, v) = t.json(Some(&name), &args(java_for(&name), role));
            assert!(matches!(code, 0 | 1), "{name} as {role}: exit {code}");
            let _ = writeln!(pinned, "## {role}\n{}", lines(&v));
        }
        in_snapshots!({
            insta::assert_snapshot!(format!("advice_{label}"), pinned);
        });
    }
}

/// Every finding of the matrix names sources a reader can open: each part of its `see` is an id
/// of the source table (`explain` prints its URL) or a URL.
#[test]
fn every_finding_names_openable_sources() {
    let mut failures = Vec::new();
    for (label, home) in &homes() {
        let name = home.file_name().unwrap().to_string_lossy().into_owned();
        let t = node(home, &name);
        for role in ROLES {
            let (_, v) = t.json(Some(&name), &args(java_for(&name), role));
            for f in v["findings"].as_array().unwrap() {
                let code = f["code"].as_str().unwrap_or("");
                match f["see"].as_str() {
                    None => failures.push(format!("{label} as {role}: {code} has no source")),
                    Some(see) => {
                        if let Err(e) = apim_tune::diag::sources::parse_see(see) {
                            failures.push(format!("{label} as {role}: {code} `{see}`: {e}"));
                        }
                    }
                }
            }
        }
    }
    failures.sort();
    failures.dedup();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_home_under_every_role_converges() {
    let (mut failures, mut fixed) = (Vec::new(), 0);
    for (_, home) in &homes() {
        let name = home.file_name().unwrap().to_string_lossy().into_owned();
        for role in ROLES {
            let t = node(home, &name);
            let (f, n) = converges(
                &t,
                Some(&name),
                &args(java_for(&name), role),
                &format!("{name} as {role}"),
            );
            failures.extend(f);
            fixed += n;
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // A stock node has plenty to fix: a run that fixed nothing tested nothing.
    assert!(fixed >= 50, "only {fixed} fixable findings were applied");
}
