//! A fix converges: on every fake root of `tests/fixtures/hosts/` and on every real home of the
//! corpus (`../shared/fixtures/wso2`, inside a fake host), `--apply` then a fresh audit leaves
//! nothing fixable, and no finding appears that the first audit did not have.

use crate::skip::shared;
use crate::{CliTest, fixtures};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

/// `(code, subject)` of every finding, and those still fixable.
fn judged(v: &Value) -> (BTreeSet<String>, Vec<String>) {
    let all = v["findings"].as_array().unwrap();
    let key = |f: &Value| format!("{} {}", f["code"].as_str().unwrap(), f["subject"]);
    (
        all.iter().map(key).collect(),
        all.iter()
            .filter(|f| f["fixable"] == true)
            .map(key)
            .collect(),
    )
}

/// Audits, applies, audits again; returns what went wrong, if anything, and how many fixable
/// findings the first audit had.
pub(crate) fn converges(
    t: &CliTest,
    home: Option<&str>,
    args: &[&str],
    label: &str,
) -> (Vec<String>, usize) {
    let mut failures = Vec::new();
    let (_, before) = t.json(home, args);
    let (before, fixable) = judged(&before);
    let mut apply = vec!["--apply", "--yes"];
    apply.extend_from_slice(args);
    let (code, out, err) = t.run(home, &apply);
    if !matches!(code, 0 | 1) {
        return (
            vec![format!("{label}: --apply exited {code}: {out}{err}")],
            fixable.len(),
        );
    }
    let (_, applied) = t.json(home, args);
    load_kernel_parameters(t, &applied);
    let (_, after) = t.json(home, args);
    let (after, left) = judged(&after);
    for f in left {
        failures.push(format!("{label}: still fixable after --apply: {f}"));
    }
    for f in after.difference(&before) {
        failures.push(format!("{label}: new after --apply: {f}"));
    }
    if !fixable.is_empty() && failures.is_empty() {
        // Something was applied: a second apply has nothing left to do.
        let (_, out, _) = t.run(home, &apply);
        if !out.contains("nothing to change") {
            failures.push(format!(
                "{label}: a second --apply changed something:\n{out}"
            ));
        }
    }
    (failures, fixable.len())
}

/// What the apply asks for kernel parameters (load the files, as the boot does): the value each
/// key gets at boot written to its `proc/sys` file, for the keys the kernel has.
pub(crate) fn load_kernel_parameters(t: &CliTest, v: &Value) {
    for e in v["sysctl"].as_array().unwrap() {
        let (Some(value), Some(_)) = (e["persisted"]["value"].as_str(), e["live"].as_str()) else {
            continue;
        };
        let rel: String = e["key"]
            .as_str()
            .unwrap()
            .chars()
            .map(|c| match c {
                '.' => '/',
                '/' => '.',
                c => c,
            })
            .collect();
        std::fs::write(t.root.join("proc/sys").join(rel), format!("{value}\n")).unwrap();
    }
}

fn only_dir(dir: &Path) -> Option<String> {
    let names: Vec<String> = std::fs::read_dir(dir)
        .ok()?
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    match names.as_slice() {
        [one] => Some(one.clone()),
        _ => None,
    }
}

#[test]
fn every_fake_root_converges() {
    let (mut failures, mut fixed) = (Vec::new(), 0);
    let mut scenarios: Vec<String> = std::fs::read_dir(fixtures().join("hosts"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    scenarios.sort();
    assert!(scenarios.len() >= 12, "{scenarios:?}");
    for scenario in &scenarios {
        let t = CliTest::new(scenario);
        let home = only_dir(&t.root.join("opt"));
        // As an operator runs it (facts from the root), and with the JDK given.
        let (f, n) = converges(&t, home.as_deref(), &[], scenario);
        failures.extend(f);
        fixed += n;
        let t = CliTest::new(scenario);
        let (f, n) = converges(
            &t,
            home.as_deref(),
            &["--java-version", "17"],
            &format!("{scenario} --java-version 17"),
        );
        failures.extend(f);
        fixed += n;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The fixtures hold plenty to fix: a run that fixed nothing tested nothing.
    assert!(
        fixed >= 100,
        "only {fixed} fixable findings over every fake root"
    );
}

#[test]
fn every_corpus_home_converges_inside_a_host() {
    let Some(corpus) = shared("fixtures/wso2") else {
        return;
    };
    let mut homes: Vec<_> = std::fs::read_dir(&corpus)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    homes.sort();
    assert!(homes.len() >= 9, "{homes:?}");
    let (mut failures, mut fixed) = (Vec::new(), 0);
    for home in &homes {
        let name = home.file_name().unwrap().to_string_lossy().into_owned();
        // A host with kernel parameters and limits below the profile, so host and home fixes
        // are applied together.
        let t = CliTest::new("bare-public");
        crate::copy_tree(home, &t.root.join("opt").join(&name));
        let java = if name.starts_with("apim-1.") || name.starts_with("apim-2.") {
            "8"
        } else {
            "11"
        };
        let (f, n) = converges(
            &t,
            Some(&name),
            &["--java-version", java, "--cores", "4", "--memory", "8G"],
            &name,
        );
        failures.extend(f);
        fixed += n;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // A floor so that "converges" is not trivially true; issue 14 removed the NHTTP and other
    // no-effect fixes, which were most of a stock home's fixable findings.
    assert!(
        fixed >= 5 * homes.len(),
        "only {fixed} fixable findings over {} homes",
        homes.len()
    );
}
