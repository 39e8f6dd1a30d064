//! The systemd oracle for the kernel parameters boot applies (issue 13): generated sysctl.d
//! trees, and for each key the line that wins in `host::sysctl::read` must be the line that wins
//! in what `systemd-analyze cat-config sysctl.d --root=DIR` prints, which lists the files
//! systemd-sysctl reads, in its order, each under a `# /path` header.
//!
//! The trees have files in /etc, /run, /usr/local/lib, /usr/lib and /lib (systemd 252 as Debian
//! builds it still reads /lib/sysctl.d), the same names in several of them, masks (links to
//! `/dev/null`), drop-ins that are links to other files, names that are not read (hidden, not
//! `*.conf`), a `/etc/sysctl.conf` with or without one or two sysctl.d entries linking to it, and
//! keys spelt with `.` or `/` (a VLAN interface `eth0.100` keeps its dot). The fact under test
//! first of all: cat-config prints sysctl.conf's content only through such a link.
//!
//! The winner per key is computed here from cat-config's output (last assignment wins, keys
//! normalised as `normalize_key` does), so the oracle checks which files are read and in which
//! order, not the line syntax. Links are relative: with `--root`, systemd-analyze 252 follows
//! an absolute link target on the host, not under the root (seen when writing this test), while
//! boot, where the root is `/`, reads the same file either way.
//!
//! Without `systemd-analyze` (Debian package `systemd`, which `.ci/run` installs) the tests say
//! SKIPPED, and fail under `CI=true`.

#[path = "../src/test_support/skip.rs"]
#[expect(
    dead_code,
    reason = "the oracle skips on a missing systemd-analyze, never on `shared/`"
)]
mod skip;

use apim_tune::host::sysctl::{self, normalize_key};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Generated trees checked per run. The generator is seeded (proptest's deterministic RNG), so
/// every run checks the same trees.
const CASES: u32 = 200;

const DIRS: [&str; 5] = [
    "etc/sysctl.d",
    "run/sysctl.d",
    "usr/local/lib/sysctl.d",
    "usr/lib/sysctl.d",
    "lib/sysctl.d",
];

/// Names shared across directories so that they hide each other; some are never read.
const NAMES: [&str; 9] = [
    "10-a.conf",
    "50-default.conf",
    "60-net.conf",
    "99-sysctl.conf",
    "99-z.conf",
    "zz-last.conf",
    ".hidden.conf",
    "README",
    "60-net.conf.dpkg-old",
];

/// Names the links to sysctl.conf get: a distribution's, one that sorts before most files, and
/// one that a file of [`NAMES`] may replace or mask.
const LINK_NAMES: [&str; 3] = ["99-sysctl.conf", "10-sysctl.conf", "60-net.conf"];

/// Keys in dotted form; each is written dotted or with slashes.
const KEYS: [&str; 5] = [
    "net.core.somaxconn",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.conf.eth0/100.rp_filter",
    "kernel.pid_max",
    "vm.swappiness",
];

const VALUES: [&str; 6] = ["0", "1", "4096", "1024 65535", "1024\t65535", ""];

/// Written to the real stderr: the harness captures `eprintln!` of a passing test.
fn notice(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// `systemd-analyze --version`'s first line, or `None` (the test said SKIPPED).
#[track_caller]
fn systemd_analyze() -> Option<String> {
    match Command::new("systemd-analyze").arg("--version").output() {
        Ok(out) if out.status.success() => Some(
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .next()
                .unwrap_or("systemd")
                .to_string(),
        ),
        _ => {
            skip::skip(
                "systemd-analyze not found (install the Debian package `systemd`; .ci/run does)",
            );
            None
        }
    }
}

#[derive(Clone, Debug)]
enum Entry {
    /// Lines, CRLF endings, and whether the last line ends with a newline.
    File(Vec<String>, bool, bool),
    /// A link to `/dev/null`.
    Mask,
    /// A link to one of the two shared files outside the sysctl.d directories.
    LinkToShared(usize),
}

#[derive(Clone, Debug)]
struct Tree {
    /// Per directory of [`DIRS`]: (index into [`NAMES`], entry).
    dirs: Vec<Vec<(usize, Entry)>>,
    /// `/etc/sysctl.conf`'s lines, when it exists.
    conf: Option<Vec<String>>,
    /// sysctl.d entries linking to sysctl.conf: (directory, index into [`LINK_NAMES`]).
    links: Vec<(usize, usize)>,
    shared: [Vec<String>; 2],
}

fn assignment() -> impl Strategy<Value = String> {
    (
        0..KEYS.len(),
        any::<bool>(),
        0..VALUES.len(),
        0..3usize,
        prop::bool::weighted(0.15),
    )
        .prop_map(|(k, slashes, v, spacing, dash)| {
            let key = if slashes {
                swap(KEYS[k])
            } else {
                KEYS[k].to_string()
            };
            let eq = ["=", " = ", "\t=  "][spacing];
            let dash = if dash { "-" } else { "" };
            format!("{dash}{key}{eq}{}", VALUES[v])
        })
}

fn swap(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '.' => '/',
            '/' => '.',
            c => c,
        })
        .collect()
}

fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => assignment(),
        1 => assignment().prop_map(|a| format!("# {a}")),
        1 => assignment().prop_map(|a| format!("; {a}")),
        1 => Just(String::new()),
        1 => Just("  not an assignment".to_string()),
    ]
}

fn lines() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(line(), 0..6)
}

fn entry() -> impl Strategy<Value = Entry> {
    prop_oneof![
        6 => (lines(), prop::bool::weighted(0.15), prop::bool::weighted(0.85))
            .prop_map(|(l, crlf, nl)| Entry::File(l, crlf, nl)),
        2 => Just(Entry::Mask),
        1 => (0..2usize).prop_map(Entry::LinkToShared),
    ]
}

fn tree() -> impl Strategy<Value = Tree> {
    (
        prop::collection::vec(
            prop::collection::vec((0..NAMES.len(), entry()), 0..4),
            DIRS.len(),
        ),
        prop::option::weighted(0.85, lines()),
        prop_oneof![
            5 => Just(0usize),
            4 => Just(1),
            2 => Just(2),
        ],
        // Two links have different names (one name links once, from its first directory).
        (
            prop_oneof![3 => Just(0usize), 1 => 1..DIRS.len()],
            prop_oneof![3 => Just(0usize), 1 => 1..DIRS.len()],
            0..LINK_NAMES.len(),
            1..LINK_NAMES.len(),
        )
            .prop_map(|(d1, d2, n, offset)| vec![(d1, n), (d2, (n + offset) % LINK_NAMES.len())]),
        [lines(), lines()],
    )
        .prop_map(|(dirs, conf, n, links, shared)| Tree {
            dirs,
            // A link to a missing sysctl.conf makes cat-config fail ("No such file"), while
            // boot ignores it: only links to a file that exists are generated.
            links: if conf.is_some() {
                links.into_iter().take(n).collect()
            } else {
                Vec::new()
            },
            conf,
            shared,
        })
}

fn text(lines: &[String], crlf: bool, final_newline: bool) -> String {
    let end = if crlf { "\r\n" } else { "\n" };
    let mut s = lines.join(end);
    if final_newline && !lines.is_empty() {
        s.push_str(end);
    }
    s
}

/// `../` enough times to climb from `dir` to the root.
fn up(dir: &str) -> String {
    "../".repeat(dir.split('/').count())
}

fn write(root: &Path, rel: &str, content: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().expect("a parent")).expect("mkdir");
    std::fs::write(p, content).expect("write");
}

fn link(root: &Path, rel: &str, target: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().expect("a parent")).expect("mkdir");
    let _ = std::fs::remove_file(&p);
    std::os::unix::fs::symlink(target, p).expect("symlink");
}

fn materialise(t: &Tree, root: &Path) {
    for (i, shared) in t.shared.iter().enumerate() {
        write(
            root,
            &format!("usr/share/oracle/shared-{i}.conf"),
            &text(shared, false, true),
        );
    }
    if let Some(conf) = &t.conf {
        write(root, "etc/sysctl.conf", &text(conf, false, true));
    }
    for (d, entries) in t.dirs.iter().enumerate() {
        let dir = DIRS[d];
        std::fs::create_dir_all(root.join(dir)).expect("mkdir");
        for (n, e) in entries {
            let rel = format!("{dir}/{}", NAMES[*n]);
            let _ = std::fs::remove_file(root.join(&rel));
            match e {
                Entry::File(lines, crlf, nl) => write(root, &rel, &text(lines, *crlf, *nl)),
                Entry::Mask => link(root, &rel, "/dev/null"),
                Entry::LinkToShared(i) => link(
                    root,
                    &rel,
                    &format!("{}usr/share/oracle/shared-{i}.conf", up(dir)),
                ),
            }
        }
    }
    for (d, n) in &t.links {
        let dir = DIRS[*d];
        link(
            root,
            &format!("{dir}/{}", LINK_NAMES[*n]),
            &format!("{}etc/sysctl.conf", up(dir)),
        );
    }
}

/// One winning assignment: value, the file's real path, 1-based line.
type Winners = BTreeMap<String, (String, PathBuf, u32)>;

/// What systemd reads: `(header path, its lines)` per file, in cat-config's order.
fn cat_config(root: &Path) -> Result<Vec<(PathBuf, Vec<String>)>, String> {
    let out = Command::new("systemd-analyze")
        .args(["cat-config", "sysctl.d", "--no-pager"])
        .arg(format!("--root={}", root.display()))
        .output()
        .map_err(|e| format!("systemd-analyze: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        return Err(format!(
            "systemd-analyze cat-config exited {}: {}{stdout}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let header = format!("# {}/", root.display());
    let mut files: Vec<(PathBuf, Vec<String>)> = Vec::new();
    for l in stdout.lines() {
        if let Some(rest) = l.strip_prefix(&header) {
            files.push((root.join(rest), Vec::new()));
        } else if let Some((_, lines)) = files.last_mut() {
            lines.push(l.to_string());
        } else if !l.is_empty() {
            return Err(format!("output before the first header: {l:?}\n{stdout}"));
        }
    }
    Ok(files)
}

/// Last assignment wins, per normalised key, over the files in order.
fn oracle_winners(files: &[(PathBuf, Vec<String>)]) -> Winners {
    let mut out = Winners::new();
    for (path, lines) in files {
        let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.clone());
        for (i, l) in lines.iter().enumerate() {
            let l = l.trim();
            if l.is_empty() || l.starts_with('#') || l.starts_with(';') {
                continue;
            }
            let l = l.strip_prefix('-').unwrap_or(l);
            let Some((k, v)) = l.split_once('=') else {
                continue;
            };
            let key = normalize_key(k);
            if key.is_empty() {
                continue;
            }
            let line = u32::try_from(i + 1).expect("a short file");
            out.insert(key, (v.trim().to_string(), real.clone(), line));
        }
    }
    out
}

fn our_winners(s: &sysctl::Sysctl) -> Winners {
    s.entries
        .values()
        .filter_map(|e| {
            let w = e.winner.as_ref()?;
            let real = std::fs::canonicalize(&w.file.path).unwrap_or_else(|_| w.file.path.clone());
            Some((e.key.clone(), (w.value.clone(), real, w.line)))
        })
        .collect()
}

#[derive(Default)]
struct Tally {
    linked: AtomicUsize,
    read_twice: AtomicUsize,
    unlinked_conf: AtomicUsize,
    masked: AtomicUsize,
    conf_wins: AtomicUsize,
    winners: AtomicUsize,
}

fn check(t: &Tree, tally: &Tally) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = std::fs::canonicalize(dir.path()).expect("canonical temp dir");
    materialise(t, &root);
    let files = cat_config(&root).map_err(TestCaseError::fail)?;
    let ours = sysctl::read(&root, &[]);

    // The fact under test: sysctl.conf is read only through a sysctl.d entry linking to it.
    let conf = std::fs::canonicalize(root.join("etc/sysctl.conf")).ok();
    let conf_read_by_systemd = files
        .iter()
        .any(|(p, _)| conf.is_some() && std::fs::canonicalize(p).ok() == conf);
    prop_assert_eq!(
        conf_read_by_systemd,
        ours.conf_link.is_some(),
        "sysctl.conf read through a link: systemd {}, apim-tune {:?}",
        conf_read_by_systemd,
        ours.conf_link
    );
    prop_assert!(ours.conf_link.is_none() || ours.unread.is_empty());

    let expected = oracle_winners(&files);
    let got = our_winners(&ours);
    prop_assert_eq!(
        &got,
        &expected,
        "winners differ; cat-config read {:#?}",
        files
    );

    let conf_winner = |w: &Winners| {
        conf.as_ref()
            .is_some_and(|c| w.values().any(|(_, p, _)| p == c))
    };
    let count = |c: &AtomicUsize, yes: bool| {
        if yes {
            c.fetch_add(1, Ordering::Relaxed);
        }
    };
    count(&tally.linked, ours.conf_link.is_some());
    let conf_readings = files
        .iter()
        .filter(|(p, _)| conf.is_some() && std::fs::canonicalize(p).ok() == conf)
        .count();
    count(&tally.read_twice, conf_readings == 2);
    count(
        &tally.unlinked_conf,
        t.conf.is_some() && ours.conf_link.is_none(),
    );
    count(
        &tally.masked,
        t.dirs
            .iter()
            .flatten()
            .any(|(_, e)| matches!(e, Entry::Mask)),
    );
    count(&tally.conf_wins, conf_winner(&expected));
    tally.winners.fetch_add(expected.len(), Ordering::Relaxed);
    Ok(())
}

// See: issue 13.
#[test]
fn issue_13_boot_winners_match_systemd_analyze_cat_config() {
    let Some(version) = systemd_analyze() else {
        return;
    };
    let mut runner = TestRunner::new_with_rng(
        Config {
            cases: CASES,
            failure_persistence: None,
            ..Config::default()
        },
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    );
    let tally = Tally::default();
    let ran = AtomicUsize::new(0);
    let result = runner.run(&tree(), |t| {
        ran.fetch_add(1, Ordering::Relaxed);
        check(&t, &tally)
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let n = |c: &AtomicUsize| c.load(Ordering::Relaxed);
    // Every generated tree was checked once: nothing was shrunk or rejected.
    assert_eq!(n(&ran), CASES as usize);
    notice(&format!(
        "systemd oracle: {} generated sysctl.d trees agree with `systemd-analyze cat-config sysctl.d --root` ({version}): {} with sysctl.conf linked ({} read twice), {} with an unlinked sysctl.conf, {} with masks, {} where sysctl.conf holds a winner; {} winning keys compared",
        n(&ran),
        n(&tally.linked),
        n(&tally.read_twice),
        n(&tally.unlinked_conf),
        n(&tally.masked),
        n(&tally.conf_wins),
        n(&tally.winners),
    ));
    // The generator must reach both sides of the fact under test.
    assert!(n(&tally.linked) > 20 && n(&tally.unlinked_conf) > 20 && n(&tally.read_twice) > 10);
}

/// The fact under test, on two fixed trees: the same sysctl.conf, with and without the
/// `99-sysctl.conf` link.
// See: issue 13.
#[test]
fn issue_13_cat_config_prints_sysctl_conf_only_through_the_link() {
    if systemd_analyze().is_none() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let root = std::fs::canonicalize(dir.path()).expect("canonical temp dir");
    write(&root, "etc/sysctl.conf", "net.core.somaxconn = 8192\n");
    write(
        &root,
        "usr/lib/sysctl.d/50-default.conf",
        "kernel.pid_max = 4194304\n",
    );
    let read = |root: &Path| cat_config(root).expect("cat-config");
    let printed = |files: &[(PathBuf, Vec<String>)]| {
        files
            .iter()
            .any(|(_, l)| l.iter().any(|l| l.contains("somaxconn")))
    };
    let files = read(&root);
    assert!(!printed(&files), "{files:?}");
    let ours = sysctl::read(&root, &[]);
    assert!(
        ours.get("net.core.somaxconn")
            .is_none_or(|e| e.winner.is_none())
    );
    assert_eq!(ours.unread.len(), 1);

    link(&root, "etc/sysctl.d/99-sysctl.conf", "../sysctl.conf");
    let files = read(&root);
    assert!(printed(&files), "{files:?}");
    assert_eq!(
        files.last().map(|(p, _)| p.clone()),
        Some(root.join("etc/sysctl.d/99-sysctl.conf"))
    );
    let ours = sysctl::read(&root, &[]);
    let w = ours
        .get("net.core.somaxconn")
        .and_then(|e| e.winner.as_ref());
    assert_eq!(w.map(|w| w.value.as_str()), Some("8192"));
}
