//! STYLE §A, enforced: the async stack stays behind its module walls. `src/gateway/` (the
//! embedded runtime) and `src/db/` (sqlx is async) are the only async code, each behind a
//! synchronous facade; the rest of the tool stays blocking. The two do not use each other.

use std::path::{Path, PathBuf};

/// (path prefix as written in code, the only `src/` folders allowed to use it)
const WALLS: &[(&str, &[&str])] = &[
    ("tokio::", &["gateway", "db"]),
    ("hyper::", &["gateway"]),
    ("hyper_util::", &["gateway"]),
    ("http_body_util::", &["gateway"]),
    ("moka::", &["gateway"]),
    ("sqlx::", &["db"]),
    // `schedule` prints db's removable predicates (pure text from db::dialect); `rules` judges
    // the facts db gathers, and `audit` runs those rules.
    (
        "crate::db",
        &["db", "cli", "report", "schedule", "rules", "audit"],
    ),
    (
        "crate::gateway",
        &["gateway", "cli", "report", "runtime_config"],
    ),
];

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            walk(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn async_crates_stay_behind_their_module_walls() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&src, &mut files);
    assert!(files.len() > 20, "found only {} source files", files.len());
    let mut offenders = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(&src).expect("under src");
        // The top folder (`gateway`, `db`…) or the file's stem for top-level files (`audit`).
        let home = rel
            .components()
            .next()
            .map(|c| {
                c.as_os_str()
                    .to_string_lossy()
                    .trim_end_matches(".rs")
                    .to_string()
            })
            .unwrap_or_default();
        let text = std::fs::read_to_string(f).expect("read");
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for (prefix, allowed) in WALLS {
                if code.contains(prefix) && !allowed.contains(&home.as_str()) {
                    offenders.push(format!(
                        "{}:{}: `{prefix}` outside {allowed:?}: {line}",
                        rel.display(),
                        n + 1
                    ));
                }
            }
        }
    }
    assert!(offenders.is_empty(), "{}", offenders.join("\n"));
}

#[test]
fn the_wall_check_sees_a_violation() {
    // The scan above would flag this line if it were in src/audit.rs.
    let line = "use sqlx::Row;";
    let hit = WALLS
        .iter()
        .any(|(p, allowed)| line.contains(p) && !allowed.contains(&"audit"));
    assert!(hit);
}
