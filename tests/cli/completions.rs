//! `apim-tune completions SHELL`: the bash script loads in a real bash and completes what the
//! binary parses; the other shells' scripts name every subcommand.

use std::process::Command;

fn script(shell: &str) -> String {
    let out = assert_cmd::Command::cargo_bin("apim-tune")
        .unwrap()
        .args(["completions", shell])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{shell}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// What bash offers for `words` (the last one being completed), asking the function the
/// script registered with `complete -F`, as readline would.
fn complete(script_path: &std::path::Path, words: &[&str]) -> Vec<String> {
    let array = words
        .iter()
        .map(|w| format!("'{w}'"))
        .collect::<Vec<_>>()
        .join(" ");
    let line = words.join(" ");
    let cword = words.len() - 1;
    let prev = if cword > 0 { words[cword - 1] } else { "" };
    let cur = words[cword];
    let program = format!(
        r#"source '{script}' || exit 3
spec=$(complete -p apim-tune) || exit 4
fn=$(printf '%s\n' "$spec" | sed -E 's/.* -F ([^ ]+) .*/\1/')
COMP_WORDS=({array}); COMP_CWORD={cword}; COMP_LINE='{line}'; COMP_POINT=${{#COMP_LINE}}
"$fn" apim-tune '{cur}' '{prev}'
printf '%s\n' "${{COMPREPLY[@]}}"
"#,
        script = script_path.display()
    );
    let out = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &program])
        .output()
        .expect("bash runs");
    assert!(
        out.status.success(),
        "bash failed on {words:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn bash_completes_subcommands_and_options() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("apim-tune.bash");
    std::fs::write(&path, script("bash")).unwrap();
    assert_eq!(complete(&path, &["apim-tune", "au"]), ["audit"]);
    assert_eq!(complete(&path, &["apim-tune", "db", "res"]), ["restore"]);
    assert_eq!(
        complete(&path, &["apim-tune", "audit", "--backup-d"]),
        ["--backup-dir"]
    );
    assert_eq!(
        complete(&path, &["apim-tune", "rules", "--format", "j"]),
        ["json"]
    );
    // Not everything: an unknown prefix offers nothing.
    assert!(complete(&path, &["apim-tune", "zz"]).is_empty());
}

#[test]
fn every_shell_gets_a_script_naming_every_subcommand() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let s = script(shell);
        for sub in [
            "audit",
            "rollback",
            "backups",
            "explain",
            "validate",
            "completions",
            "man",
        ] {
            assert!(s.contains(sub), "{shell}: no `{sub}`");
        }
    }
    let bad = assert_cmd::Command::cargo_bin("apim-tune")
        .unwrap()
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}
