//! The JDK oracle: every fact the JVM rules state about JDK 17 is checked against a real JDK 17
//! (Debian's `openjdk-17-jre-headless`, which `.ci/run` installs). Each option of
//! `rules::jvm::jdk_options::JDK17` runs as `java <option> -version`: a refused one must stop
//! the JVM, a deprecated one must start it with a warning. JVM010's `-XX:MaxPermSize` too.
//!
//! Without a JDK 17 the test says SKIPPED, and fails under `CI=true`.

#[path = "../src/test_support/skip.rs"]
#[expect(
    dead_code,
    reason = "the JDK test skips on a missing JDK, never on `shared/`"
)]
mod skip;

use apim_tune::rules::jvm::jdk_options::{JDK17, OnJdk17};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// `$JAVA_HOME/bin/java`, else `java` on the PATH.
fn java() -> PathBuf {
    std::env::var_os("JAVA_HOME")
        .map(|h| PathBuf::from(h).join("bin/java"))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("java"))
}

/// Runs `java ARGS -version`, killed after 60 s (a JVM that hangs is a failure, not a wait).
fn run(args: &[&str]) -> Option<Output> {
    let mut child = Command::new(java())
        .args(args)
        .arg("-version")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    let started = Instant::now();
    while child.try_wait().ok()?.is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("`java {} -version` ran for a minute", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().ok()
}

/// The feature version of the JDK on hand (`17` for `openjdk version "17.0.15"`).
fn version() -> Option<u32> {
    let out = run(&[])?;
    let text = String::from_utf8_lossy(&out.stderr);
    let quoted = text.split('"').nth(1)?;
    quoted.split('.').next()?.parse().ok()
}

#[test]
fn jdk_17_refuses_and_deprecates_what_the_table_says() {
    match version() {
        Some(17) => {}
        Some(v) => return skip::skip(&format!("the JDK on hand is {v}, the table is about 17")),
        None => return skip::skip("no JDK (`java` not found; install openjdk-17-jre-headless)"),
    }
    // A control: the harness sees a JVM that starts.
    let control = run(&["-XX:+UseG1GC"]).expect("java runs");
    assert!(control.status.success(), "{control:?}");

    let mut wrong = Vec::new();
    let facts = JDK17
        .iter()
        .map(|f| (f.example, f.on_jdk17))
        .chain([("-XX:MaxPermSize=256m", OnJdk17::Refused)]);
    let scratch = tempfile::tempdir().expect("scratch directory");
    let mut checked = 0;
    for (option, on_jdk17) in facts {
        let option = option.replace("{dir}", &scratch.path().display().to_string());
        let out = run(&[&option]).expect("java runs");
        // Unified logging prints its warnings on stdout, the launcher its errors on stderr.
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let ok = match on_jdk17 {
            OnJdk17::Refused => {
                !out.status.success() && said.contains("Could not create the Java Virtual Machine")
            }
            OnJdk17::Deprecated => out.status.success() && said.contains("is deprecated"),
        };
        if !ok {
            wrong.push(format!(
                "{option}: expected {on_jdk17:?}, got {}: {said}",
                out.status
            ));
        }
        checked += 1;
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert_eq!(checked, JDK17.len() + 1);
}
