//! Persisted kernel parameters (`sysctl.d` and `sysctl.conf`) and their live `/proc/sys` values.
//!
//! Owns: finding the files systemd-sysctl applies at boot, in the order it applies them, parsing
//! their lines with exact spans, deciding which line wins per key, and reading the live value of
//! each key. `/etc/sysctl.conf` counts only where a sysctl.d entry links to it (the common
//! `99-sysctl.conf`); without one its lines are kept apart as not applied at boot.
//! Must not: judge any value, write anything, or print. Rules compare; this only reads and locates.

use crate::model::{Location, SourceFile, SourceProblem, Span};
use crate::source::{Read, read_under, resolve_in_root};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// `sysctl.d` directories, highest priority first. A file name found in an earlier directory
/// hides the same name in every later one (sysctl.d(5), "configuration directories and
/// precedence"). `lib/sysctl.d` is read by systemd-sysctl built for split /usr (Debian's
/// systemd 252 is, see `tests/systemd_oracle.rs`) and by `sysctl --system`.
const DIRS: [&str; 5] = [
    "etc/sysctl.d",
    "run/sysctl.d",
    "usr/local/lib/sysctl.d",
    "usr/lib/sysctl.d",
    "lib/sysctl.d",
];

/// Read at boot only through a sysctl.d entry that links to it; systemd-sysctl never opens it by
/// this name (checked with `systemd-analyze cat-config sysctl.d`, systemd 252, and by
/// `tests/systemd_oracle.rs`). procps `sysctl --system` does apply it, last, link or not.
const SYSCTL_CONF: &str = "etc/sysctl.conf";

/// One `key = value` assignment as written in a file.
#[derive(Clone, Debug)]
pub struct SysctlLine {
    /// Normalised key in dotted form (see [`normalize_key`]).
    pub key: String,
    /// The value text as written, trimmed.
    pub value: String,
    pub file: Arc<SourceFile>,
    /// 1-based line number.
    pub line: u32,
    /// Exact bytes of the value in `file.text` (never includes a `\r`).
    pub value_span: Span,
    /// The whole line without its line terminator (`\n` or `\r\n`).
    pub line_span: Span,
    /// The key had a leading `-`: a failed write is ignored at boot.
    pub ignore_failure: bool,
}

impl SysctlLine {
    pub fn location(&self) -> Location {
        self.file.location(self.value_span)
    }
}

/// Everything known about one key: its live value and the persisted lines that set it.
#[derive(Clone, Debug)]
pub struct SysctlEntry {
    pub key: String,
    /// Contents of `proc/sys/<key>`, trimmed, whitespace runs collapsed to one space. `None` when
    /// the file is absent, unreadable (write-only keys such as `vm.drop_caches`), the key is a
    /// glob, or `proc/sys` is not available under the root.
    pub live: Option<String>,
    /// Whether `proc/sys/<key>` exists (readable or not). `None` when that cannot be told: no
    /// `proc/sys` under the root, or a glob key. Kept apart from `live` so a write-only key is
    /// not mistaken for one the kernel lacks.
    pub in_kernel: Option<bool>,
    /// The line that wins at boot.
    pub winner: Option<SysctlLine>,
    /// Earlier lines for the same key, in the order they were read.
    pub shadowed: Vec<SysctlLine>,
}

impl SysctlEntry {
    fn new(key: String) -> Self {
        SysctlEntry {
            key,
            live: None,
            in_kernel: None,
            winner: None,
            shadowed: Vec::new(),
        }
    }
}

/// The persisted sysctl configuration of a root, plus live values.
#[derive(Clone, Debug, Default)]
pub struct Sysctl {
    /// Files in the order they are applied.
    pub files: Vec<Arc<SourceFile>>,
    pub entries: BTreeMap<String, SysctlEntry>,
    pub problems: Vec<SourceProblem>,
    /// `proc/sys` exists under the root, so live values and key existence can be told.
    pub live_available: bool,
    /// The sysctl.d entry through which boot reads `etc/sysctl.conf` (the `99-sysctl.conf`
    /// link), the last one when several do: the file is applied at that entry's place.
    pub conf_link: Option<String>,
    /// The lines of `etc/sysctl.conf` when no sysctl.d entry links to it: systemd-sysctl does not
    /// read the file at all, so none of them is in effect at boot (they are not in `entries`'
    /// winners, though their keys have entries for the live value).
    pub unread: Vec<SysctlLine>,
}

impl Sysctl {
    /// The entry for `key`, written with `.` or `/` separators.
    pub fn get(&self, key: &str) -> Option<&SysctlEntry> {
        self.entries.get(&normalize_key(key))
    }

    /// Whether the running kernel has `key`. `None` when `proc/sys` is not available under the
    /// root, when the key is a glob, or when the key was neither requested nor persisted (it was
    /// never looked up).
    pub fn kernel_has(&self, key: &str) -> Option<bool> {
        if !self.live_available {
            return None;
        }
        self.get(key).and_then(|e| e.in_kernel)
    }
}

/// Collapses whitespace runs (tabs included) to single spaces and trims, so that
/// `ip_local_port_range` read as `32768\t60999` compares equal to `32768 60999`.
pub fn normalize_value(v: &str) -> String {
    v.split_ascii_whitespace().collect::<Vec<_>>().join(" ")
}

/// Dotted form of a key. As in sysctl.d(5): when the first separator is `/`, dots and slashes are
/// interchanged (`net/ipv4/conf/eth0.100/rp_filter` → `net.ipv4.conf.eth0/100.rp_filter`), so a
/// VLAN interface name keeps its dot; when it is `.`, the key is already dotted.
pub fn normalize_key(key: &str) -> String {
    let key = key.trim().trim_start_matches('/');
    match key.find(['/', '.']) {
        Some(i) if key.as_bytes()[i] == b'/' => swap_separators(key),
        _ => key.to_string(),
    }
}

fn swap_separators(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '.' => '/',
            '/' => '.',
            c => c,
        })
        .collect()
}

fn is_glob(key: &str) -> bool {
    key.contains(['*', '?', '['])
}

/// `proc/sys/...` path of a dotted key, or `None` when the key could name something outside
/// `proc/sys` (`..`, empty components): a crafted key must not read arbitrary files.
fn proc_path(key: &str) -> Option<String> {
    let rel = swap_separators(key);
    let ok = !rel.is_empty()
        && rel
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..");
    ok.then(|| format!("proc/sys/{rel}"))
}

/// Whether a sysctl file is the administrator's to edit: its real path (after links) is under
/// `etc/`. A link in /etc/sysctl.d into usr/lib leads to a package's file, where an edit is lost
/// on the next update; a file in /run is lost at reboot.
pub fn is_admin_file(root: &Path, file: &crate::model::SourceFile) -> bool {
    crate::model::display_path(root, &file.path).starts_with("etc/")
}

/// Reads the persisted configuration under `root` as systemd-sysctl applies it at boot, and the
/// live value of every key in `keys` and every persisted key.
pub fn read(root: &Path, keys: &[&str]) -> Sysctl {
    let mut out = Sysctl {
        live_available: resolve_in_root(root, Path::new("proc/sys")).is_ok_and(|p| p.is_dir()),
        ..Sysctl::default()
    };

    let order: Vec<String> = crate::source::drop_in_order(root, &DIRS, ".conf")
        .into_iter()
        .filter(|rel| !crate::source::is_masked(root, rel))
        .collect();
    // Entries that lead to sysctl.conf (`99-sysctl.conf -> ../sysctl.conf`, also an absolute
    // link, taken inside the root). systemd-sysctl reads the file once per such entry; since
    // every later reading sets all of its keys again, only the last place decides.
    let conf_resolved = resolve_in_root(root, Path::new(SYSCTL_CONF)).ok();
    let links_conf = |rel: &String| {
        conf_resolved.is_some() && resolve_in_root(root, Path::new(rel)).ok() == conf_resolved
    };
    out.conf_link = order.iter().rev().find(|rel| links_conf(rel)).cloned();

    let mut lines = Vec::new();
    let mut budget = KeyBudget::default();
    for rel in &order {
        let rel = if !links_conf(rel) {
            rel.as_str()
        } else if out.conf_link.as_ref() == Some(rel) {
            // Named by its real path, which is the file an operator edits. A dangling link
            // reads as absent: systemd-sysctl ignores a file that does not exist.
            SYSCTL_CONF
        } else {
            continue;
        };
        out.files.extend(read_one(
            root,
            rel,
            &mut out.problems,
            &mut lines,
            &mut budget,
        ));
    }
    if out.conf_link.is_none() {
        // Not applied at boot, but still a file on disk: its lines are kept for the rule that
        // reports them, and its problems are reported like any other file's.
        read_one(
            root,
            SYSCTL_CONF,
            &mut out.problems,
            &mut out.unread,
            &mut budget,
        );
    }

    for line in lines {
        let entry = out
            .entries
            .entry(line.key.clone())
            .or_insert_with(|| SysctlEntry::new(line.key.clone()));
        if let Some(prev) = entry.winner.replace(line) {
            entry.shadowed.push(prev);
        }
    }
    let unread_keys = out.unread.iter().map(|l| l.key.clone()).collect::<Vec<_>>();
    for key in keys.iter().map(|k| normalize_key(k)).chain(unread_keys) {
        if !key.is_empty() {
            out.entries
                .entry(key.clone())
                .or_insert_with(|| SysctlEntry::new(key));
        }
    }
    if out.live_available {
        for entry in out.entries.values_mut() {
            read_live(root, entry);
        }
    }
    out
}

/// Different keys the sysctl files of one root may set between them. A kernel has a few
/// thousand parameters (more with many network interfaces, each with its own `conf.<if>.*`); a
/// root whose files name more is a runaway or hostile one. Every distinct key can be a finding of
/// its own (a key the kernel lacks, a line not read at boot), so this bounds the findings, and
/// with them memory and output, whatever the lines hold.
pub const MAX_KEYS: usize = 10_000;

/// The keys the files read so far set, against [`MAX_KEYS`].
#[derive(Default)]
struct KeyBudget {
    seen: std::collections::HashSet<String>,
}

/// Parses `rel` into `lines` when it exists; its read and parse problems go to `problems`. A file
/// that would take the root past [`MAX_KEYS`] different keys is a problem and none of its lines
/// is kept.
fn read_one(
    root: &Path,
    rel: &str,
    problems: &mut Vec<SourceProblem>,
    lines: &mut Vec<SysctlLine>,
    keys: &mut KeyBudget,
) -> Option<Arc<SourceFile>> {
    match read_under(root, rel) {
        Read::Absent => None,
        Read::Problem(p) => {
            problems.push(p);
            None
        }
        Read::File(file) => {
            let first = lines.len();
            parse_file(&file, lines, problems);
            let new: std::collections::HashSet<&str> = lines[first..]
                .iter()
                .map(|l| l.key.as_str())
                .filter(|k| !keys.seen.contains(*k))
                .collect();
            if keys.seen.len() + new.len() > MAX_KEYS {
                let count = new.len();
                lines.truncate(first);
                problems.push(SourceProblem::unparseable(
                    file.whole(),
                    format!(
                        "sets {count} more different keys, past {MAX_KEYS} for all sysctl files, more than any kernel has: the file was not read"
                    ),
                ));
                return None;
            }
            let new: Vec<String> = new.into_iter().map(str::to_string).collect();
            keys.seen.extend(new);
            Some(file)
        }
    }
}

fn read_live(root: &Path, entry: &mut SysctlEntry) {
    if is_glob(&entry.key) {
        return;
    }
    let Some(rel) = proc_path(&entry.key) else {
        entry.in_kernel = Some(false);
        return;
    };
    match read_under(root, &rel) {
        Read::File(f) => {
            entry.live = Some(normalize_value(&f.text));
            entry.in_kernel = Some(true);
        }
        Read::Absent => entry.in_kernel = Some(false),
        // Write-only keys (`vm.drop_caches`, `net.ipv4.route.flush`) exist but cannot be read.
        Read::Problem(_) => entry.in_kernel = Some(true),
    }
}

/// Span of `text[span]` with ASCII whitespace trimmed on both sides.
fn trim_span(text: &str, span: Span) -> Span {
    let s = &text[span.start..span.end];
    let lead = s.len()
        - s.trim_start_matches(|c: char| c.is_ascii_whitespace())
            .len();
    let body = s.trim_matches(|c: char| c.is_ascii_whitespace());
    Span::new(span.start + lead, span.start + lead + body.len())
}

fn parse_file(
    file: &Arc<SourceFile>,
    out: &mut Vec<SysctlLine>,
    problems: &mut Vec<SourceProblem>,
) {
    let text = file.text.as_str();
    let mut problems = crate::model::CappedProblems::new(problems);
    // A UTF-8 byte-order mark (some editors add one) is not part of the first key: the line
    // walk starts after it.
    for (number, start, end) in crate::model::line_ranges(text) {
        let line_span = Span::new(start, end);
        let content = trim_span(text, line_span);
        let body = &text[content.start..content.end];
        if body.is_empty() || body.starts_with('#') || body.starts_with(';') {
            continue;
        }
        let (ignore_failure, key_start) = match body.strip_prefix('-') {
            Some(_) => (true, content.start + 1),
            None => (false, content.start),
        };
        let Some(eq) = text[key_start..content.end]
            .find('=')
            .map(|i| key_start + i)
        else {
            // `-key` alone excludes a key from an earlier glob (sysctl.d(5)); it sets nothing.
            if ignore_failure && body.len() > 1 {
                continue;
            }
            problems.push(SourceProblem::unparseable(
                file.location(content),
                "expected `key = value`",
            ));
            continue;
        };
        let key = normalize_key(&text[key_start..eq]);
        if key.is_empty() {
            problems.push(SourceProblem::unparseable(
                file.location(content),
                "expected `key = value`, the key is empty",
            ));
            continue;
        }
        let value_span = trim_span(text, Span::new(eq + 1, content.end));
        out.push(SysctlLine {
            key,
            value: text[value_span.start..value_span.end].to_string(),
            file: Arc::clone(file),
            line: number,
            value_span,
            line_span,
            ignore_failure,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::testkit::write;
    use crate::model::ProblemKind;
    use std::os::unix::fs::symlink;
    use std::path::PathBuf;

    fn winner<'a>(s: &'a Sysctl, key: &str) -> &'a SysctlLine {
        s.get(key).unwrap().winner.as_ref().unwrap()
    }

    fn span_text(l: &SysctlLine) -> &str {
        &l.file.text[l.value_span.start..l.value_span.end]
    }

    fn displays(s: &Sysctl) -> Vec<&str> {
        s.files.iter().map(|f| f.display.as_str()).collect()
    }

    #[test]
    fn same_name_first_directory_wins_and_others_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            root,
            "usr/lib/sysctl.d/50-x.conf",
            "a = usr\nb = only-usr\n",
        );
        write(root, "run/sysctl.d/50-x.conf", "a = run\n");
        write(root, "etc/sysctl.d/50-x.conf", "a = etc\n");
        write(root, "run/sysctl.d/60-y.conf", "c = run\n");
        write(root, "usr/lib/sysctl.d/60-y.conf", "c = usr\n");
        let s = read(root, &[]);
        assert_eq!(
            displays(&s),
            ["etc/sysctl.d/50-x.conf", "run/sysctl.d/60-y.conf"]
        );
        assert_eq!(winner(&s, "a").value, "etc");
        assert!(s.get("a").unwrap().shadowed.is_empty());
        // The usr/lib file is ignored entirely, not merged.
        assert!(s.get("b").is_none());
        assert_eq!(winner(&s, "c").value, "run");
    }

    #[test]
    fn files_apply_in_byte_order_across_directories_and_unlinked_sysctl_conf_is_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "usr/lib/sysctl.d/10-default.conf", "k = 10\n");
        write(root, "etc/sysctl.d/9-late.conf", "k = 9\n");
        write(root, "etc/sysctl.d/50-mid.conf", "k = 50\n");
        write(
            root,
            "etc/sysctl.conf",
            "# tuned\nk = conf\nonly.conf = 1\n",
        );
        write(root, "etc/sysctl.d/README", "k = ignored\n");
        let s = read(root, &[]);
        assert_eq!(
            displays(&s),
            [
                "usr/lib/sysctl.d/10-default.conf",
                "etc/sysctl.d/50-mid.conf",
                "etc/sysctl.d/9-late.conf",
            ]
        );
        assert_eq!(s.conf_link, None);
        let e = s.get("k").unwrap();
        assert_eq!(e.winner.as_ref().unwrap().value, "9");
        let shadowed: Vec<_> = e.shadowed.iter().map(|l| l.value.as_str()).collect();
        assert_eq!(shadowed, ["10", "50"]);
        // Without a link systemd-sysctl never opens sysctl.conf: its lines are kept apart, and
        // a key only it sets has an entry (for the live value) but no value at boot.
        let unread: Vec<_> = s
            .unread
            .iter()
            .map(|l| (l.key.as_str(), l.line, l.file.display.as_str()))
            .collect();
        assert_eq!(
            unread,
            [
                ("k", 2, "etc/sysctl.conf"),
                ("only.conf", 3, "etc/sysctl.conf")
            ]
        );
        assert!(s.get("only.conf").unwrap().winner.is_none());
    }

    #[test]
    fn sysctl_conf_symlink_applies_once_at_its_position() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "etc/sysctl.conf", "k = conf\nonly.conf = 1\n");
        write(root, "etc/sysctl.d/50-a.conf", "k = 50\n");
        write(root, "usr/lib/sysctl.d/999-z.conf", "k = 999\n");
        symlink("../sysctl.conf", root.join("etc/sysctl.d/99-sysctl.conf")).unwrap();
        let s = read(root, &[]);
        assert_eq!(
            displays(&s),
            [
                "etc/sysctl.d/50-a.conf",
                "etc/sysctl.conf",
                "usr/lib/sysctl.d/999-z.conf"
            ]
        );
        let e = s.get("k").unwrap();
        assert_eq!(e.winner.as_ref().unwrap().value, "999");
        assert_eq!(e.shadowed.len(), 2);
        assert_eq!(s.get("only.conf").unwrap().shadowed.len(), 0);
        assert_eq!(s.conf_link.as_deref(), Some("etc/sysctl.d/99-sysctl.conf"));
        assert!(s.unread.is_empty());
    }

    #[test]
    fn sysctl_conf_linked_twice_applies_at_the_last_link() {
        // systemd-sysctl reads the file once per entry (`systemd-analyze cat-config` prints it
        // twice), so a file between the two links loses to the second reading.
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "etc/sysctl.conf", "k = conf\n");
        write(root, "usr/lib/sysctl.d/50-mid.conf", "k = mid\n");
        std::fs::create_dir_all(root.join("usr/lib/sysctl.d")).unwrap();
        symlink(
            "../../../etc/sysctl.conf",
            root.join("usr/lib/sysctl.d/10-early.conf"),
        )
        .unwrap();
        std::fs::create_dir_all(root.join("etc/sysctl.d")).unwrap();
        symlink("../sysctl.conf", root.join("etc/sysctl.d/99-sysctl.conf")).unwrap();
        let s = read(root, &[]);
        assert_eq!(
            displays(&s),
            ["usr/lib/sysctl.d/50-mid.conf", "etc/sysctl.conf"]
        );
        assert_eq!(winner(&s, "k").value, "conf");
        assert_eq!(s.conf_link.as_deref(), Some("etc/sysctl.d/99-sysctl.conf"));
    }

    #[test]
    fn a_masked_link_leaves_sysctl_conf_unread() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "etc/sysctl.conf", "k = conf\n");
        std::fs::create_dir_all(root.join("usr/lib/sysctl.d")).unwrap();
        symlink(
            "../../../etc/sysctl.conf",
            root.join("usr/lib/sysctl.d/99-sysctl.conf"),
        )
        .unwrap();
        assert_eq!(winner(&read(root, &[]), "k").value, "conf");
        std::fs::create_dir_all(root.join("etc/sysctl.d")).unwrap();
        symlink("/dev/null", root.join("etc/sysctl.d/99-sysctl.conf")).unwrap();
        let s = read(root, &[]);
        assert!(s.files.is_empty());
        assert_eq!(s.conf_link, None);
        assert_eq!(s.unread.len(), 1);
        assert!(s.get("k").unwrap().winner.is_none());
    }

    #[test]
    fn absolute_sysctl_conf_symlink_is_rerooted_and_dangling_one_is_quiet() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("etc/sysctl.d")).unwrap();
        symlink("/etc/sysctl.conf", root.join("etc/sysctl.d/99-sysctl.conf")).unwrap();
        // No sysctl.conf: the link dangles, as on Debian 13.
        let s = read(root, &[]);
        assert!(s.problems.is_empty(), "{:?}", s.problems);
        assert!(s.files.is_empty());
        write(root, "etc/sysctl.conf", "k = 1\n");
        let s = read(root, &[]);
        assert_eq!(displays(&s), ["etc/sysctl.conf"]);
    }

    #[test]
    fn dev_null_link_masks_lower_directories() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "usr/lib/sysctl.d/50-default.conf", "k = 1\n");
        std::fs::create_dir_all(root.join("etc/sysctl.d")).unwrap();
        symlink("/dev/null", root.join("etc/sysctl.d/50-default.conf")).unwrap();
        let s = read(root, &[]);
        assert!(s.files.is_empty());
        assert!(s.problems.is_empty(), "{:?}", s.problems);
        assert!(s.get("k").is_none());
    }

    #[test]
    fn line_syntax_prefix_slash_keys_and_exact_spans() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let text = "# comment\n  ; also comment\n\n\
                    net.core.somaxconn=4096\n\
                    -net.ipv4.tcp_tw_recycle = 0\n\
                    net/ipv4/ip_local_port_range =  1024\t65535  \n\
                    net/ipv4/conf/eth0.100/rp_filter = 2\n\
                    kernel.core_pattern = |/bin/x a=b\n\
                    -net.ipv4.conf.all.rp_filter\n\
                    net.ipv4.conf.*.rp_filter = 1\n\
                    empty.value =\n";
        write(root, "etc/sysctl.d/10-a.conf", text);
        let s = read(root, &[]);
        assert!(s.problems.is_empty(), "{:?}", s.problems);

        let l = winner(&s, "net.core.somaxconn");
        assert_eq!(span_text(l), "4096");
        assert_eq!(l.line, 4);
        assert!(!l.ignore_failure);
        assert_eq!(l.file.slice(l.line_span), "net.core.somaxconn=4096");
        assert_eq!(l.location().to_string(), "etc/sysctl.d/10-a.conf:4:20");

        let l = winner(&s, "net.ipv4.tcp_tw_recycle");
        assert!(l.ignore_failure);
        assert_eq!(span_text(l), "0");

        let l = winner(&s, "net.ipv4.ip_local_port_range");
        assert_eq!(l.value, "1024\t65535");
        assert_eq!(span_text(l), "1024\t65535");
        assert_eq!(normalize_value(&l.value), "1024 65535");

        // A slash-first key keeps the VLAN interface's dot as a slash in the dotted form.
        assert!(s.get("net.ipv4.conf.eth0/100.rp_filter").is_some());
        assert!(s.get("net/ipv4/conf/eth0.100/rp_filter").is_some());

        assert_eq!(winner(&s, "kernel.core_pattern").value, "|/bin/x a=b");
        assert!(s.get("net.ipv4.conf.all.rp_filter").is_none());
        assert_eq!(winner(&s, "net.ipv4.conf.*.rp_filter").value, "1");
        assert_eq!(winner(&s, "empty.value").value, "");
    }

    #[test]
    fn crlf_and_missing_final_newline() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            root,
            "etc/sysctl.d/10-crlf.conf",
            "a = 1\r\nb=two words \r\n",
        );
        write(root, "etc/sysctl.d/20-nonl.conf", "c = 3\nd = last");
        let s = read(root, &[]);
        assert!(s.problems.is_empty(), "{:?}", s.problems);
        let a = winner(&s, "a");
        assert_eq!(span_text(a), "1");
        assert_eq!(a.file.slice(a.line_span), "a = 1");
        let b = winner(&s, "b");
        assert_eq!(span_text(b), "two words");
        assert_eq!(b.line, 2);
        assert_eq!(b.file.slice(b.line_span), "b=two words ");
        let d = winner(&s, "d");
        assert_eq!(span_text(d), "last");
        assert_eq!(d.line, 2);
        assert_eq!(d.value_span, Span::new(10, 14));
    }

    #[test]
    fn malformed_lines_are_located_and_the_file_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            root,
            "etc/sysctl.d/10-bad.conf",
            "a = 1\n  net.core.somaxconn 4096\n = 5\n-\nb = 2\n",
        );
        let s = read(root, &[]);
        let got: Vec<_> = s
            .problems
            .iter()
            .map(|p| (p.kind, p.location.to_string(), p.message.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    ProblemKind::Unparseable,
                    "etc/sysctl.d/10-bad.conf:2:3".to_string(),
                    "expected `key = value`"
                ),
                (
                    ProblemKind::Unparseable,
                    "etc/sysctl.d/10-bad.conf:3:2".to_string(),
                    "expected `key = value`, the key is empty"
                ),
                (
                    ProblemKind::Unparseable,
                    "etc/sysctl.d/10-bad.conf:4:1".to_string(),
                    "expected `key = value`"
                ),
            ]
        );
        assert_eq!(winner(&s, "a").value, "1");
        assert_eq!(winner(&s, "b").value, "2");
    }

    #[test]
    fn a_file_of_broken_lines_lists_twenty_then_counts_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let mut text = "a = 1\n".to_string();
        text.push_str(&"broken\n".repeat(1000));
        text.push_str("b = 2\n");
        write(root, "etc/sysctl.d/10-bad.conf", &text);
        write(root, "etc/sysctl.d/20-bad.conf", "broken too\n");
        let s = read(root, &[]);
        let got: Vec<_> = s.problems.iter().map(|p| p.location.to_string()).collect();
        let mut want: Vec<String> = (2..=21)
            .map(|n| format!("etc/sysctl.d/10-bad.conf:{n}:1"))
            .collect();
        // The 21st problem stands for itself and the 979 after it; each file has its own count.
        want.push("etc/sysctl.d/10-bad.conf:22:1".to_string());
        want.push("etc/sysctl.d/20-bad.conf:1:1".to_string());
        assert_eq!(got, want);
        assert!(
            s.problems[20].message.contains("this and 979 more lines"),
            "{}",
            s.problems[20].message
        );
        // The file goes on after its broken lines.
        assert_eq!(winner(&s, "b").value, "2");
    }

    #[test]
    fn unreadable_file_is_reported_and_others_still_read() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "etc/sysctl.d/10-bin.conf", [b'a', b'=', 0xff, b'\n']);
        write(root, "etc/sysctl.d/20-ok.conf", "a = 2\n");
        std::fs::create_dir_all(root.join("etc/sysctl.d/30-dir.conf")).unwrap();
        let s = read(root, &[]);
        assert_eq!(s.problems.len(), 2, "{:?}", s.problems);
        assert!(s.problems.iter().all(|p| p.kind == ProblemKind::Unreadable));
        assert_eq!(s.problems[0].location.file, "etc/sysctl.d/10-bin.conf");
        assert!(s.problems[0].message.contains("UTF-8"));
        assert_eq!(s.problems[1].location.file, "etc/sysctl.d/30-dir.conf");
        assert_eq!(winner(&s, "a").value, "2");
    }

    #[test]
    fn live_values_and_kernel_presence() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "etc/sysctl.conf", "net.ipv4.tcp_tw_recycle = 1\n");
        write(root, "proc/sys/net/core/somaxconn", "4096\n");
        write(
            root,
            "proc/sys/net/ipv4/ip_local_port_range",
            "32768\t60999\n",
        );
        write(root, "proc/sys/net/ipv4/conf/eth0.100/rp_filter", "2\n");
        let s = read(
            root,
            &[
                "net.core.somaxconn",
                "net/ipv4/ip_local_port_range",
                "net.ipv4.conf.eth0/100.rp_filter",
                "net.ipv4.conf.*.rp_filter",
                "../../etc/sysctl.conf",
            ],
        );
        assert!(s.live_available);
        let e = s.get("net.core.somaxconn").unwrap();
        assert_eq!(e.live.as_deref(), Some("4096"));
        assert!(e.winner.is_none());
        assert_eq!(
            s.get("net.ipv4.ip_local_port_range")
                .unwrap()
                .live
                .as_deref(),
            Some("32768 60999")
        );
        assert_eq!(
            s.get("net.ipv4.conf.eth0/100.rp_filter")
                .unwrap()
                .live
                .as_deref(),
            Some("2")
        );
        assert_eq!(s.kernel_has("net.core.somaxconn"), Some(true));
        assert_eq!(s.kernel_has("net.ipv4.tcp_tw_recycle"), Some(false));
        assert_eq!(s.get("net.ipv4.tcp_tw_recycle").unwrap().live, None);
        let glob = s.get("net.ipv4.conf.*.rp_filter").unwrap();
        assert_eq!((glob.live.as_deref(), glob.in_kernel), (None, None));
        // A key that climbs out of proc/sys is never read.
        assert_eq!(s.get("../../etc/sysctl.conf").unwrap().live, None);
        assert_eq!(s.kernel_has("never.asked"), None);
    }

    #[test]
    fn write_only_key_exists_in_kernel() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "proc/sys/vm/drop_caches", "");
        let p = root.join("proc/sys/vm/drop_caches");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o200)).unwrap();
        let s = read(root, &["vm.drop_caches"]);
        let e = s.get("vm.drop_caches").unwrap();
        // Root reads a 0200 file on a real file system, so only the presence is asserted always.
        if std::fs::read(&p).is_err() {
            assert_eq!(e.live, None);
        }
        assert_eq!(s.kernel_has("vm.drop_caches"), Some(true));
        assert!(s.problems.is_empty());
    }

    #[test]
    fn without_proc_sys_liveness_is_unknown() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "etc/sysctl.conf", "a = 1\n");
        let s = read(root, &["b"]);
        assert!(!s.live_available);
        assert_eq!(s.kernel_has("a"), None);
        assert_eq!(s.get("b").unwrap().live, None);
    }

    #[test]
    fn missing_or_empty_root_reads_nothing() {
        let s = read(&PathBuf::from("/nonexistent/apim-tune-test-root"), &["a.b"]);
        assert!(s.files.is_empty() && s.problems.is_empty() && !s.live_available);
        assert_eq!(s.entries.len(), 1);
        let dir = tempfile::tempdir().unwrap();
        let s = read(dir.path(), &[]);
        assert!(s.files.is_empty() && s.problems.is_empty() && s.entries.is_empty());
    }

    #[test]
    fn normalisation() {
        assert_eq!(normalize_value("  1024 \t\t 65535\n"), "1024 65535");
        assert_eq!(
            normalize_key(" net/ipv4/tcp_syncookies "),
            "net.ipv4.tcp_syncookies"
        );
        assert_eq!(
            normalize_key("net.ipv4.tcp_syncookies"),
            "net.ipv4.tcp_syncookies"
        );
        assert_eq!(normalize_key("/kernel/pid_max"), "kernel.pid_max");
        assert_eq!(proc_path("a.b/c"), Some("proc/sys/a/b.c".to_string()));
        assert_eq!(proc_path("a..b"), None);
    }
}

#[cfg(test)]
mod bom_tests {
    use super::*;
    use crate::host::testkit::write;

    #[test]
    fn a_byte_order_mark_is_not_part_of_the_first_key() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            root,
            "etc/sysctl.d/10-bom.conf",
            "\u{feff}net.core.somaxconn = 4096\n",
        );
        let s = read(root, &[]);
        let e = s.get("net.core.somaxconn").expect("key without the BOM");
        let w = e.winner.as_ref().unwrap();
        assert_eq!(w.file.slice(w.value_span), "4096");
        assert!(s.problems.is_empty());
    }
}

/// The name of apim-tune's drop-in in `etc/sysctl.d`: one that sorts after every existing file
/// in any sysctl.d directory, so it wins at boot. `99-apim-tune.conf` would lose to the common
/// `99-sysctl.conf` (a link to /etc/sysctl.conf on many distributions), hence `99-zz-…`, with
/// more `z`s in front when something still sorts later. An existing apim-tune drop-in is reused.
pub fn drop_in_name(root: &Path) -> String {
    let names: Vec<String> = DIRS
        .iter()
        .flat_map(|d| crate::source::list_dir(root, d, ".conf"))
        .collect();
    crate::source::own_name_sorting_last(&names, "99-zz-apim-tune.conf")
}

#[cfg(test)]
mod drop_in_tests {
    use super::*;

    #[test]
    fn the_drop_in_sorts_after_every_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("etc/sysctl.d")).unwrap();
        std::fs::create_dir_all(root.join("usr/lib/sysctl.d")).unwrap();
        std::fs::write(root.join("etc/sysctl.d/99-sysctl.conf"), "").unwrap();
        assert_eq!(drop_in_name(root), "99-zz-apim-tune.conf");
        assert!("99-zz-apim-tune.conf" > "99-sysctl.conf");
        std::fs::write(root.join("usr/lib/sysctl.d/zzz-vendor.conf"), "").unwrap();
        let name = drop_in_name(root);
        assert!(name.as_str() > "zzz-vendor.conf", "{name}");
    }
}
