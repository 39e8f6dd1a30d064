//! `rules --format json` and `explain CODE --format json`: the same registry and docs as the
//! text, as one JSON object each, for editors, dashboards and CI bots.

use apim_tune::diag::Code;
use serde_json::Value;

fn run(args: &[&str]) -> (i32, String) {
    let out = assert_cmd::Command::cargo_bin("apim-tune")
        .unwrap()
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn json(args: &[&str]) -> Value {
    let (code, stdout) = run(args);
    assert_eq!(code, 0, "{args:?}");
    assert_eq!(stdout.lines().count(), 1, "one line: {stdout}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{args:?}: {e}\n{stdout}"))
}

#[test]
fn rules_json_lists_every_code_as_the_registry_does() {
    let v = json(&["rules", "--format", "json"]);
    assert_eq!(v["schema"], "apim-tune/rules/v1");
    let rules = v["rules"].as_array().unwrap();
    assert_eq!(rules.len(), Code::ALL.len());
    for (r, c) in rules.iter().zip(Code::ALL) {
        assert_eq!(r["code"], c.code());
        assert_eq!(r["name"], c.name());
        assert_eq!(r["severity"], c.default_severity().as_str());
        assert_eq!(r["summary"], c.summary());
        assert_eq!(r["family"], &c.code()[..3]);
    }
    let families: Vec<&str> = v["families"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    for f in [
        "SRC", "WAV", "SYS", "LIM", "SVC", "PRC", "APM", "JVM", "DBG", "FLT",
    ] {
        assert!(families.contains(&f), "{f} missing from {families:?}");
    }
    // Every family a code uses is listed, and every listed family has a code.
    for r in rules {
        assert!(families.contains(&r["family"].as_str().unwrap()), "{r}");
    }
    for f in &families {
        assert!(rules.iter().any(|r| r["family"] == *f), "{f} has no code");
    }
}

/// The JSON holds what the text shows: the same doc, the same sources table rows, the same
/// profile entries; for every code.
#[test]
fn explain_json_says_what_the_text_says_for_every_code() {
    for c in Code::ALL {
        let v = json(&["explain", c.code(), "--format", "json"]);
        let (_, text) = run(&["explain", c.code()]);
        assert_eq!(v["schema"], "apim-tune/explain/v1");
        assert_eq!(v["code"], c.code());
        assert_eq!(v["name"], c.name());
        let doc = v["doc"].as_str().unwrap();
        assert!(doc.contains("### What it checks"), "{}", c.code());
        assert!(
            !doc.contains("### Sources"),
            "{}: sources are `sources`",
            c.code()
        );
        assert!(
            text.contains(&doc.replace("### ", "## ")),
            "{}: the doc differs from the text",
            c.code()
        );
        let declared = v["declared_at"].as_str().unwrap();
        assert!(
            text.contains(&format!("Declared in `{declared}`.")),
            "{}",
            c.code()
        );
        let sources = v["sources"].as_array().unwrap();
        assert!(!sources.is_empty(), "{}", c.code());
        for s in sources {
            let row = format!(
                "| {} | {} | {} |",
                s["id"].as_str().unwrap(),
                s["title"].as_str().unwrap(),
                s["url"].as_str().unwrap()
            );
            assert!(text.contains(&row), "{}: {row} not in the text", c.code());
        }
        for e in v["profile_entries"].as_array().unwrap() {
            let key = format!(
                "- `{}` ({})",
                e["key"].as_str().unwrap(),
                e["at"].as_str().unwrap()
            );
            assert!(text.contains(&key), "{}: {key} not in the text", c.code());
        }
        assert_eq!(
            v["generic"],
            text.contains("generic profile check"),
            "{}",
            c.code()
        );
    }
    // A name works as in text, and an unknown code is still a tool error.
    assert_eq!(
        json(&["explain", "tcp-tw-recycle-enabled", "--format", "json"])["code"],
        "SYS010"
    );
    let (code, stdout) = run(&["explain", "NOPE42", "--format", "json"]);
    assert_eq!((code, stdout.as_str()), (2, ""));
}

/// README's "Families:" sentence and its per-family list name every family `rules` prints (it
/// used to miss WAV, SVC and PRC).
#[test]
fn readme_names_every_family() {
    let readme =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
            .unwrap();
    let start = readme.find("## Rule codes").expect("a Rule codes section");
    let families_sentence = &readme[start..][..readme[start..].find("The full list").unwrap()];
    let v = json(&["rules", "--format", "json"]);
    for f in v["families"].as_array().unwrap() {
        let f = f.as_str().unwrap();
        assert!(
            families_sentence.contains(&format!("`{f}`")),
            "README's families sentence lacks `{f}`:\n{families_sentence}"
        );
    }
}
