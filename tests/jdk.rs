//! The JDK oracle: every fact the JVM rules state about JDK 17 is checked against a real JDK 17
//! (Debian's `openjdk-17-jdk-headless`, which `.ci/run` installs). Each option of
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

/// Runs `java ARGS -version`.
fn run(args: &[&str]) -> Option<Output> {
    let mut with_version = args.to_vec();
    with_version.push("-version");
    java_with(&with_version)
}

/// Runs `java ARGS`, killed after 60 s (a JVM that hangs is a failure, not a wait).
fn java_with(args: &[&str]) -> Option<Output> {
    java_env(&[], args)
}

/// Runs `java ARGS` with `env` added to a clean set of the JVM's option variables.
fn java_env(env: &[(&str, &str)], args: &[&str]) -> Option<Output> {
    let mut command = Command::new(java());
    for var in ["JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS", "_JAVA_OPTIONS"] {
        command.env_remove(var);
    }
    let mut child = command
        .envs(env.iter().copied())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    let started = Instant::now();
    while child.try_wait().ok()?.is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("`java {}` ran for a minute", args.join(" "));
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
        None => return skip::skip("no JDK (`java` not found; install openjdk-17-jdk-headless)"),
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

/// `java [props] Expand.java LEVELS` (the JDK's source launcher): `parsed` or `limit`.
fn expand(props: &[&str], levels: u32) -> String {
    let source =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/jdk/Expand.java");
    let source = source.display().to_string();
    let levels = levels.to_string();
    let mut args: Vec<&str> = props.to_vec();
    args.push(&source);
    args.push(&levels);
    let out = java_with(&args).expect("java runs");
    let said = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        said == "parsed" || said == "limit",
        "java {}: {said} {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    said
}

/// How JDK 17 resolves the entity expansion limit, as the JVM rules judge it: with both names
/// set `jdk.xml.entityExpansionLimit` wins, `0` means no limit, and the default stops a document
/// of 111,111 expansions while one of 11,111 passes (the default is 64,000).
#[test]
fn jdk_17_resolves_the_entity_expansion_limit_as_the_rules_say() {
    match version() {
        Some(17) => {}
        Some(v) => return skip::skip(&format!("the JDK on hand is {v}, the facts are about 17")),
        None => return skip::skip("no JDK (`java` not found; install openjdk-17-jdk-headless)"),
    }
    if Command::new("javac").arg("-version").output().is_err() {
        return skip::skip(
            "the JDK has no compiler for the source launcher (install the -jdk- package)",
        );
    }
    let legacy = "-DentityExpansionLimit=100";
    let jdk_xml = |v: &str| format!("-Djdk.xml.entityExpansionLimit={v}");
    assert_eq!(
        expand(&[legacy], 3),
        "limit",
        "the old name alone is a limit"
    );
    assert_eq!(
        expand(&[legacy, &jdk_xml("10000")], 3),
        "parsed",
        "jdk.xml wins (higher)"
    );
    assert_eq!(
        expand(&["-DentityExpansionLimit=10000", &jdk_xml("100")], 3),
        "limit",
        "jdk.xml wins (lower)"
    );
    assert_eq!(expand(&[], 4), "parsed", "the default passes 11,111");
    assert_eq!(expand(&[], 5), "limit", "the default stops 111,111");
    assert_eq!(expand(&[&jdk_xml("0")], 5), "parsed", "0 is no limit");
}

/// The order `apim::jvm_effect` gives the options a start receives, against the JVM itself:
/// each case is a unit environment and a start script; the `-Xmx` the code says is in effect
/// must be the `MaxHeapSize` the JVM reports when started with that environment and the
/// script's command line.
#[test]
fn jdk_17_takes_the_heap_the_in_effect_order_says() {
    use apim_tune::apim::jvm_effect::JvmInEffect;
    use apim_tune::model::SourceFile;
    match version() {
        Some(17) => {}
        Some(v) => return skip::skip(&format!("the JDK on hand is {v}, the facts are about 17")),
        None => return skip::skip("no JDK (`java` not found; install openjdk-17-jdk-headless)"),
    }
    let script = "#!/bin/sh\nif [ -z \"$JVM_MEM_OPTS\" ]; then\n  JVM_MEM_OPTS=\"-Xmx64m\"\nfi\n\
        $JAVACMD $JVM_MEM_OPTS -Xmx72m $JAVA_OPTS -Dx=1 Main\n";
    let (opts, problems) = apim_tune::apim::jvm::parse(SourceFile::new(
        "bin/api-manager.sh".into(),
        "bin/api-manager.sh".into(),
        script.into(),
    ));
    assert!(problems.is_empty(), "{problems:?}");
    // Each case: the unit's Environment= values (MiB in each -Xmx tells them apart).
    let cases: &[&[(&str, &str)]] = &[
        &[],
        &[("JVM_MEM_OPTS", "-Xmx80m")],
        &[("JAVA_OPTS", "-Xmx88m")],
        &[("JAVA_TOOL_OPTIONS", "-Xmx96m")],
        &[("JDK_JAVA_OPTIONS", "-Xmx104m")],
        &[
            ("JAVA_TOOL_OPTIONS", "-Xmx96m"),
            ("JDK_JAVA_OPTIONS", "-Xmx104m"),
        ],
        &[("_JAVA_OPTIONS", "-Xmx112m"), ("JAVA_OPTS", "-Xmx88m")],
        &[
            ("_JAVA_OPTIONS", "-Xmx112m"),
            ("JDK_JAVA_OPTIONS", "-Xmx104m"),
        ],
    ];
    for env in cases {
        let root = tempfile::tempdir().expect("scratch root");
        let lines: String = env
            .iter()
            .map(|(k, v)| format!("Environment=\"{k}={v}\"\n"))
            .collect();
        let unit = format!("[Service]\nExecStart=/opt/wso2am/bin/api-manager.sh\n{lines}");
        let dir = root.path().join("etc/systemd/system");
        std::fs::create_dir_all(&dir).expect("unit dir");
        std::fs::write(dir.join("wso2am.service"), unit).expect("unit");
        let (units, _) = apim_tune::host::systemd::find_apim_units(root.path());
        let effect = JvmInEffect::compute(&opts, units.first());
        let said = effect
            .get("-Xmx")
            .and_then(|o| o.flag.value.clone())
            .expect("an -Xmx in effect");

        // The command line as the shell builds it: $JVM_MEM_OPTS (the environment's, else the
        // default), the script's own -Xmx72m, $JAVA_OPTS; the launcher variables go to the JVM
        // through the environment.
        let get = |k: &str| env.iter().find(|(n, _)| *n == k).map(|(_, v)| *v);
        let mut args = vec![get("JVM_MEM_OPTS").unwrap_or("-Xmx64m"), "-Xmx72m"];
        args.extend(get("JAVA_OPTS"));
        args.extend(["-XX:+PrintFlagsFinal", "-version"]);
        let launcher: Vec<(&str, &str)> = env
            .iter()
            .copied()
            .filter(|(k, _)| k.contains("JAVA_") && *k != "JAVA_OPTS")
            .collect();
        let out = java_env(&launcher, &args).expect("java runs");
        assert!(out.status.success(), "{env:?}: {out:?}");
        let flags = String::from_utf8_lossy(&out.stdout);
        let heap: u64 = flags
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some("MaxHeapSize"))
            .and_then(|l| l.split_whitespace().nth(3))
            .and_then(|v| v.parse().ok())
            .expect("MaxHeapSize in -XX:+PrintFlagsFinal");
        let said_bytes = apim_tune::apim::jvm::parse_size(&said).expect("a size");
        assert_eq!(heap, said_bytes, "{env:?}: the code says -Xmx{said}");
    }
    println!("checked {} environments against the JVM", cases.len());
}

/// `-XX:+PrintFlagsFinal` value of `name` for `java ARGS -version`.
fn final_flag(args: &[&str], name: &str) -> u64 {
    let mut all = args.to_vec();
    all.extend(["-XX:+PrintFlagsFinal", "-version"]);
    let out = java_with(&all).expect("java runs");
    assert!(out.status.success(), "{args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some(name))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{name} in -XX:+PrintFlagsFinal"))
}

/// The heap ceiling's JDK facts (rules::jvm::native_memory): the defaults it sets aside for the
/// code cache and a thread stack, and the container advice (a percentage of the memory the JVM
/// sees sizes the heap; a fixed -Xmx overrides it). `-XX:MaxRAM` stands in for a container's
/// limit, which JDK 17 reads the same way.
#[test]
fn jdk_17_has_the_native_memory_defaults_the_heap_ceiling_uses() {
    match version() {
        Some(17) => {}
        Some(v) => return skip::skip(&format!("the JDK on hand is {v}, not 17")),
        None => return skip::skip("no JDK (install openjdk-17-jdk-headless)"),
    }
    use apim_tune::rules::jvm::native_memory::{CODE_CACHE_DEFAULT, STACK_DEFAULT};
    assert_eq!(final_flag(&[], "ReservedCodeCacheSize"), CODE_CACHE_DEFAULT);
    // ThreadStackSize is in KiB (x86_64 Linux; aarch64 has 2048).
    if std::env::consts::ARCH == "x86_64" {
        assert_eq!(final_flag(&[], "ThreadStackSize") * 1024, STACK_DEFAULT);
    }
    let gib = 1024 * 1024 * 1024;
    assert_eq!(
        final_flag(&["-XX:MaxRAM=4g", "-XX:MaxRAMPercentage=50"], "MaxHeapSize"),
        2 * gib
    );
    assert_eq!(
        final_flag(
            &["-XX:MaxRAM=4g", "-XX:MaxRAMPercentage=50", "-Xmx1g"],
            "MaxHeapSize"
        ),
        gib
    );
}

/// `java WorkerPool.java CORE MAX QUEUE TASKS`: `(threads, largest, queued, rejected)`.
fn worker_pool(core: u32, max: u32, queue: i32, tasks: u32) -> (u32, u32, u32, u32) {
    let source =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/jdk/WorkerPool.java");
    let source = source.display().to_string();
    let args = [
        core.to_string(),
        max.to_string(),
        queue.to_string(),
        tasks.to_string(),
    ];
    let mut argv: Vec<&str> = vec![&source];
    argv.extend(args.iter().map(String::as_str));
    let out = java_with(&argv).expect("java runs");
    let said = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let field = |name: &str| -> u32 {
        said.split_whitespace()
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| {
                panic!(
                    "java {}: no `{name}` in {said:?} {}",
                    argv.join(" "),
                    String::from_utf8_lossy(&out.stderr)
                )
            })
    };
    (
        field("threads"),
        field("largest"),
        field("queued"),
        field("rejected"),
    )
}

/// The pass-through worker pool is a `ThreadPoolExecutor`: with the unbounded queue WSO2
/// recommends (`worker_pool_queue_length = -1`) it never grows past `core`, so
/// `worker_pool_size_max` and `worker_thread_keepalive_sec` never take effect; only a bounded
/// queue lets it grow to `max`, and then it rejects what does not fit. Synapse's code defaults
/// (core 40, max 200) under 1000 requests that all wait on a slow backend.
/// See: issue 14 (the profile advised on `max` and keep-alive as if they took effect).
#[test]
fn a_worker_pool_with_an_unbounded_queue_never_grows_past_core() {
    match version() {
        Some(v) if v >= 11 => {}
        Some(v) => {
            return skip::skip(&format!(
                "the JDK on hand is {v}; the source launcher needs 11+"
            ));
        }
        None => return skip::skip("no JDK (`java` not found; install openjdk-17-jdk-headless)"),
    }
    if Command::new("javac").arg("-version").output().is_err() {
        return skip::skip(
            "the JDK has no compiler for the source launcher (install the -jdk- package)",
        );
    }
    assert_eq!(
        worker_pool(40, 200, -1, 1000),
        (40, 40, 960, 0),
        "unbounded queue: 40 threads, the rest queued, max never reached"
    );
    assert_eq!(
        worker_pool(40, 200, 100, 1000),
        (200, 200, 100, 700),
        "bounded queue of 100: grows to max once the queue is full, then rejects"
    );
}
