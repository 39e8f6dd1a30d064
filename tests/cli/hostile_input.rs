//! Hostile and runaway input through the binary, under resource limits set with `prlimit` (issue
//! 15): the audit stays within a memory bound, grows linearly with the lines of a file, and a
//! deep document is a finding, not an abort. Timing is the benchmark's business
//! (bench/hostile-inputs.sh); these tests bound memory and stack, and a timeout turns a hang
//! into a failure.

use crate::CliTest;
use serde_json::Value;
use std::process::Output;
use std::time::Duration;

/// 1 GiB of address space: the audit of an 11 MB sysctl.conf took 5 GB before issue 15.
const MEMORY: &str = "--as=1073741824";

/// Runs the binary as [`CliTest::std_command`] would, under `prlimit LIMITS --`.
fn under_prlimit(t: &CliTest, limits: &[&str], home: Option<&str>, args: &[&str]) -> Output {
    let inner = t.std_command("audit", home, args);
    let mut cmd = std::process::Command::new("prlimit");
    cmd.args(limits)
        .arg("--")
        .arg(inner.get_program())
        .args(inner.get_args())
        .args(["--color", "never"])
        .env_remove("JAVA_HOME")
        .env_remove("APIM_HOME")
        .env_remove("CARBON_HOME")
        .env_remove("NO_COLOR")
        .current_dir(t.dir.path());
    assert_cmd::Command::from_std(cmd)
        .timeout(Duration::from_secs(120))
        .output()
        .expect("prlimit (util-linux) runs")
}

/// `count` sysctl lines cycling over keys the fixture's kernel has and one it lacks, as a
/// runaway generator leaves them: every line is a finding's line (the file is not read at boot).
fn sysctl_lines(count: usize) -> String {
    const LINES: [&str; 8] = [
        "net.core.somaxconn = 128",
        "net.ipv4.tcp_fin_timeout = 60",
        "net.core.rmem_max = 212992",
        "net.ipv4.ip_local_port_range = 32768\t60999",
        "fs.file-max = 65536",
        "net.ipv4.tcp_tw_reuse = 0",
        "net.core.wmem_max = 212992",
        "no.such.key = 1",
    ];
    let mut text = String::with_capacity(count * 28);
    for i in 0..count {
        text.push_str(LINES[i % LINES.len()]);
        text.push('\n');
    }
    text
}

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}); status {:?}, stderr:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// The findings whose file ends with `suffix`.
fn findings_in<'a>(v: &'a Value, suffix: &str) -> Vec<&'a Value> {
    v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["file"].as_str().is_some_and(|p| p.ends_with(suffix)))
        .collect()
}

fn findings<'a>(v: &'a Value, code: &str) -> Vec<&'a Value> {
    v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["code"] == code)
        .collect()
}

/// An 11 MB sysctl.conf is above the cap of a line-based file (8 MiB): one SRC001 finding that
/// names it, in a small report, under a 1 GiB memory limit.
#[test]
fn an_11_mb_sysctl_conf_is_one_finding_under_a_memory_limit() {
    let t = CliTest::new("debian13-no-link");
    std::fs::write(t.root.join("etc/sysctl.conf"), sysctl_lines(480_000)).unwrap();
    let out = under_prlimit(&t, &[MEMORY], None, &["--format", "json"]);
    let v = json_of(&out);
    let src = findings(&v, "SRC001");
    assert!(
        src.iter().any(|f| f["file"] == "etc/sysctl.conf"
            && f["message"]
                .as_str()
                .is_some_and(|m| m.contains("larger than 8 MiB"))),
        "{src:#?}"
    );
    assert!(findings(&v, "SYS013").is_empty());
    assert!(out.stdout.len() < 200_000, "{} bytes", out.stdout.len());
}

/// 200,000 lines (4.4 MB, under the cap) of eight keys repeated: one finding per key, whose fix
/// comments out every line of it, and a `--diff` that changes each line once, all under a 1 GiB
/// memory limit. Before issue 15 this was 200,000 findings and a plan quadratic in them
/// (minutes; 5 GB for 480,000 lines).
#[test]
fn a_sysctl_conf_of_200000_repeated_lines_stays_small_and_linear() {
    let t = CliTest::new("debian13-no-link");
    let lines = 200_000;
    std::fs::write(t.root.join("etc/sysctl.conf"), sysctl_lines(lines)).unwrap();

    let out = under_prlimit(&t, &[MEMORY], None, &["--format", "json"]);
    let v = json_of(&out);
    let sys013 = findings(&v, "SYS013");
    assert_eq!(sys013.len(), 8, "one finding per key: {sys013:#?}");
    let covered: usize = sys013
        .iter()
        .map(|f| {
            let fix = &f["fix"];
            let also = fix["from"]["also"].as_array().or(fix["also"].as_array());
            let also: usize = also.map_or(0, |files| {
                files
                    .iter()
                    .map(|f| f["lines"].as_array().map_or(0, Vec::len))
                    .sum()
            });
            also + 1
        })
        .sum();
    assert_eq!(covered, lines, "the fixes cover every line");

    let out = under_prlimit(&t, &[MEMORY], None, &["--diff"]);
    assert_eq!(out.status.code(), Some(1), "a diff: exit 1");
    let diff = String::from_utf8_lossy(&out.stdout);
    let removed = diff
        .lines()
        .filter(|l| l.starts_with('-') && !l.starts_with("---"))
        .count();
    assert_eq!(removed, lines, "each line of sysctl.conf is changed once");
    // Each line is commented out (its note above it); the drop-in gets one line per key that
    // exists in the kernel.
    let commented = diff
        .lines()
        .filter(|l| l.starts_with("+# ") && !l.starts_with("+# apim-tune"))
        .count();
    assert!(commented >= lines, "{commented} commented lines");
}

/// Broken lines: the first 20 of a file are findings, the rest one more that counts them.
#[test]
fn a_file_of_a_million_broken_lines_is_twenty_one_findings() {
    let t = CliTest::new("debian13-no-link");
    std::fs::write(
        t.root.join("etc/sysctl.d/50-broken.conf"),
        "x\n".repeat(1_000_000),
    )
    .unwrap();
    let out = under_prlimit(&t, &[MEMORY], None, &["--format", "json"]);
    let v = json_of(&out);
    let broken = findings_in(&v, "etc/sysctl.d/50-broken.conf");
    assert_eq!(broken.len(), 21, "{:#?}", &broken[..broken.len().min(3)]);
    assert!(
        broken[20]["message"]
            .as_str()
            .is_some_and(|m| m.contains("this and 999979 more lines")),
        "{:#}",
        broken[20]
    );
}

/// An XML file nested 1,000,000 levels deep (7 MB) under a 2 MiB stack: before issue 15,
/// dropping the element tree recursed once per level and aborted the process (exit 134). Now it
/// is an SRC002 finding at the element where the depth is exceeded, and the audit goes on.
#[test]
fn xml_a_million_levels_deep_is_a_finding_under_a_small_stack() {
    let t = CliTest::new("debian13-no-link");
    let home = t.root.join("opt/apim-2.6.0");
    crate::copy_tree(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/apim-2.6.0"),
        &home,
    );
    let depth = 1_000_000;
    let mut xml = "<a>".repeat(depth);
    xml.push_str(&"</a>".repeat(depth));
    std::fs::write(home.join("repository/conf/carbon.xml"), xml).unwrap();
    let out = under_prlimit(
        &t,
        &[MEMORY, "--stack=2097152"],
        Some("apim-2.6.0"),
        &["--format", "json"],
    );
    assert_ne!(out.status.code(), Some(134), "aborted");
    let v = json_of(&out);
    let src = findings(&v, "SRC002");
    assert!(
        src.iter().any(|f| f["file"]
            .as_str()
            .is_some_and(|p| p.ends_with("carbon.xml"))),
        "{src:#?}"
    );
    // The other files of the home were still read and judged.
    assert!(
        v["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .any(|f| f["code"].as_str().is_some_and(|c| c.starts_with("APM"))),
        "no API-M finding: the audit stopped at the deep file"
    );
}

/// The files apim-tune is pointed at outside the root get the same protection: `--profile
/// /dev/zero` is a clear error at once (it used to be read until memory ran out), a FIFO as
/// `--waivers` too, and a FIFO as the JDK's `release` file leaves the JDK version unknown
/// instead of hanging the audit.
#[test]
fn devices_and_fifos_named_on_the_command_line_are_errors_not_hangs() {
    let t = CliTest::new("debian13-no-link");
    let out = under_prlimit(&t, &[MEMORY], None, &["--profile", "/dev/zero"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("character device"), "{stderr}");

    let fifo = t.dir.path().join("waivers.toml");
    nix::unistd::mkfifo(
        &fifo,
        nix::sys::stat::Mode::S_IRUSR | nix::sys::stat::Mode::S_IWUSR,
    )
    .unwrap();
    let waivers = fifo.to_string_lossy().into_owned();
    let out = under_prlimit(&t, &[MEMORY], None, &["--waivers", &waivers]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("FIFO"), "{stderr}");

    let jdk = t.dir.path().join("jdk");
    std::fs::create_dir_all(&jdk).unwrap();
    nix::unistd::mkfifo(
        &jdk.join("release"),
        nix::sys::stat::Mode::S_IRUSR | nix::sys::stat::Mode::S_IWUSR,
    )
    .unwrap();
    let java_home = jdk.to_string_lossy().into_owned();
    let out = under_prlimit(
        &t,
        &[MEMORY],
        None,
        &["--java-home", &java_home, "--format", "json"],
    );
    json_of(&out);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{out:?}");
}

/// Grouped fixes still converge: repeated keys, a harmful line and a key the kernel lacks in an
/// unlinked sysctl.conf, applied, loaded as boot would, audited again: nothing fixable, nothing
/// new, and a second apply changes nothing.
#[test]
fn grouped_sysctl_fixes_converge() {
    let t = CliTest::new("debian13-no-link");
    let mut text = sysctl_lines(40);
    text.push_str("net.ipv4.tcp_tw_recycle = 1\nnet.ipv4.tcp_tw_recycle = 1\n");
    std::fs::write(t.root.join("etc/sysctl.conf"), text).unwrap();
    let (failures, fixable) = crate::converge::converges(&t, None, &[], "repeated keys");
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(fixable >= 8, "{fixable} fixable findings");
}

/// Different keys are not grouped, so their number is bounded: sysctl files that set more than
/// 10,000 different keys between them (more than any kernel has) are a finding each, unread,
/// under the memory limit; at the bound, one finding per key.
#[test]
fn sysctl_files_past_ten_thousand_different_keys_are_not_read() {
    let t = CliTest::new("debian13-no-link");
    let keys = |from: usize, to: usize| -> String {
        (from..to)
            .map(|i| format!("no.such.key{i} = 1\n"))
            .collect()
    };
    std::fs::write(t.root.join("etc/sysctl.conf"), keys(0, 9_990)).unwrap();
    // Read first (sysctl.d sorts before the unlinked sysctl.conf): 20 keys, within the bound.
    std::fs::write(t.root.join("etc/sysctl.d/10-a.conf"), keys(20_000, 20_020)).unwrap();
    let out = under_prlimit(&t, &[MEMORY], None, &["--format", "json"]);
    let v = json_of(&out);
    let refused: Vec<_> = findings(&v, "SRC002")
        .into_iter()
        .filter(|f| {
            f["message"]
                .as_str()
                .is_some_and(|m| m.contains("past 10000"))
        })
        .collect();
    assert_eq!(refused.len(), 1, "{refused:#?}");
    assert_eq!(refused[0]["file"], "etc/sysctl.conf");
    assert!(findings(&v, "SYS013").is_empty());

    std::fs::write(t.root.join("etc/sysctl.conf"), keys(0, 9_980)).unwrap();
    let out = under_prlimit(&t, &[MEMORY], None, &["--format", "json"]);
    let v = json_of(&out);
    assert_eq!(findings(&v, "SYS013").len(), 9_980);
}

/// A unit drop-in of 300,000 broken lines: the first 20 are findings and one more counts the
/// rest (it was 300,000 findings and 2.7 GB).
#[test]
fn a_unit_drop_in_of_broken_lines_is_twenty_one_findings() {
    let t = CliTest::new("systemd-unit");
    let dir = t.root.join("etc/systemd/system/wso2am.service.d");
    std::fs::create_dir_all(&dir).unwrap();
    let mut text = "[Service]\n".to_string();
    text.push_str(&"x\n".repeat(300_000));
    std::fs::write(dir.join("50-broken.conf"), text).unwrap();
    let out = under_prlimit(&t, &[MEMORY], None, &["--format", "json"]);
    let v = json_of(&out);
    let broken = findings_in(&v, "50-broken.conf");
    assert_eq!(broken.len(), 21, "{:#?}", &broken[..broken.len().min(3)]);
}

/// A line repeated in a file boot reads (and in an earlier file): disabling the winner alone let
/// the earlier copy win at the next boot, a new finding after `--apply`. Every copy goes now.
#[test]
fn repeated_lines_in_files_read_at_boot_converge() {
    let t = CliTest::new("stock-debian12");
    let twice = "net.ipv4.tcp_tw_recycle = 1\nfs.file-max = 2097152\nno.such.key = 1\n".repeat(2);
    std::fs::create_dir_all(t.root.join("etc/sysctl.d")).unwrap();
    std::fs::write(t.root.join("etc/sysctl.d/40-a.conf"), &twice).unwrap();
    std::fs::write(t.root.join("etc/sysctl.d/50-a.conf"), &twice).unwrap();
    let (_, v) = t.json(None, &[]);
    // One finding per key and file for the dead and unknown keys, not one per line.
    for code in ["SYS010", "SYS011"] {
        let n = findings(&v, code).len();
        assert!(n <= 2, "{code}: {n} findings");
    }
    let (code, out, err) = t.run(None, &["--apply", "--yes"]);
    assert!(matches!(code, 0 | 1), "{out}{err}");
    // Audited again as the files now stand (not through converge's load of the boot values
    // into proc/sys, which would hide a lowered fs.file-max behind the lowered live value).
    let (_, v) = t.json(None, &[]);
    for code in ["SYS010", "SYS011", "SYS012"] {
        let left = findings(&v, code);
        assert!(left.is_empty(), "{code} after --apply: {left:#?}");
    }
    let (failures, _) = crate::converge::converges(&t, None, &[], "repeated at boot");
    assert!(failures.is_empty(), "{failures:#?}");
}
