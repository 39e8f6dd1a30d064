//! PAM resource limits (`limits.conf`, `limits.d`) and the user and group lookups they need.
//!
//! Owns: reading the files in pam_limits order, parsing lines with exact spans, and resolving
//! which line sets a user's soft and hard limit as pam_limits would. Must not: judge a value,
//! consult the live process limits, or print. systemd services ignore these files entirely;
//! saying so is the rules' job, not this reader's.

use crate::model::{Location, SourceFile, SourceProblem, Span};
use crate::source::{Read, list_dir, read_under};
use std::fmt;
use std::path::Path;
use std::sync::Arc;

const LIMITS_CONF: &str = "etc/security/limits.conf";
const LIMITS_D: &str = "etc/security/limits.d";

/// Items pam_limits knows (libpam `process_limit`, plus Debian's `chroot`). Any other item is
/// ignored by PAM, which hides typos such as `nofiles`, so it is reported.
const ITEMS: [&str; 21] = [
    "core",
    "data",
    "fsize",
    "memlock",
    "nofile",
    "rss",
    "stack",
    "cpu",
    "nproc",
    "as",
    "maxlogins",
    "maxsyslogins",
    "nonewprivs",
    "priority",
    "locks",
    "sigpending",
    "msgqueue",
    "nice",
    "rtprio",
    "rttime",
    "chroot",
];

/// Items pam_limits accepts any type word for, since they have no soft/hard pair.
const UNTYPED_ITEMS: [&str; 3] = ["maxlogins", "maxsyslogins", "nonewprivs"];

/// Which of the two limits a line sets.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum LimitType {
    Soft,
    Hard,
    /// Written `-`: sets both.
    Both,
}

impl LimitType {
    fn sets_soft(self) -> bool {
        matches!(self, LimitType::Soft | LimitType::Both)
    }

    fn sets_hard(self) -> bool {
        matches!(self, LimitType::Hard | LimitType::Both)
    }
}

/// A limit value. Ordered so that `Unlimited` is greater than any number.
#[derive(Clone, Copy, PartialEq, Eq, Debug, PartialOrd, Ord)]
pub enum LimitValue {
    Value(u64),
    Unlimited,
}

impl LimitValue {
    /// `unlimited`, `infinity`, `-1` and `-` (all accepted by pam_limits, case-insensitively) are
    /// [`LimitValue::Unlimited`]; otherwise a plain decimal number.
    pub fn parse(s: &str) -> Option<LimitValue> {
        let s = s.trim();
        if ["unlimited", "infinity"]
            .iter()
            .any(|w| s.eq_ignore_ascii_case(w))
            || s == "-1"
            || s == "-"
        {
            return Some(LimitValue::Unlimited);
        }
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok().map(LimitValue::Value)
    }
}

impl fmt::Display for LimitValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LimitValue::Value(n) => write!(f, "{n}"),
            LimitValue::Unlimited => f.write_str("unlimited"),
        }
    }
}

/// One `<domain> <type> <item> <value>` line.
#[derive(Clone, Debug)]
pub struct LimitLine {
    pub domain: String,
    pub kind: LimitType,
    /// Lowercased, as pam_limits compares it.
    pub item: String,
    pub value: LimitValue,
    pub file: Arc<SourceFile>,
    /// 1-based line number.
    pub line: u32,
    /// Exact bytes of the value field in `file.text`.
    pub value_span: Span,
    /// The whole line without its line terminator (`\n` or `\r\n`).
    pub line_span: Span,
}

impl LimitLine {
    pub fn location(&self) -> Location {
        self.file.location(self.value_span)
    }
}

/// The PAM limits configuration of a root.
#[derive(Clone, Debug, Default)]
pub struct Limits {
    /// Files in the order pam_limits reads them.
    pub files: Vec<Arc<SourceFile>>,
    /// Parsed lines in application order. `nice` and `priority` lines are validated but not
    /// kept: their values are signed numbers, not limits.
    pub lines: Vec<LimitLine>,
    pub problems: Vec<SourceProblem>,
}

/// The lines that set a user's soft and hard limit for one item, if any.
#[derive(Clone, Copy, Debug, Default)]
pub struct Effective<'a> {
    pub soft: Option<&'a LimitLine>,
    pub hard: Option<&'a LimitLine>,
}

impl Limits {
    /// Resolves `item` for `user` (member of `groups`) as pam_limits does: a matching line
    /// replaces the current one when its domain is at least as specific (user, then `@group`,
    /// then `%group`, then `%`, then `*`), so among equals the later line wins and a later `*`
    /// never overrides a user line. Soft and hard are resolved independently.
    ///
    /// Not modelled: uid and gid ranges (`1000:2000`, `@100:`), which never match here, and the
    /// two-field `<domain> -` "no limits" line. Group, `%` and `*` lines are not applied to
    /// `root`, as limits.conf(5) documents.
    pub fn effective(&self, user: &str, groups: &[String], item: &str) -> Effective<'_> {
        let item = item.to_ascii_lowercase();
        let mut soft: Option<(u8, &LimitLine)> = None;
        let mut hard: Option<(u8, &LimitLine)> = None;
        for line in self.lines.iter().filter(|l| l.item == item) {
            let Some(rank) = domain_rank(&line.domain, user, groups, &item) else {
                continue;
            };
            if line.kind.sets_soft() && soft.is_none_or(|(cur, _)| rank <= cur) {
                soft = Some((rank, line));
            }
            if line.kind.sets_hard() && hard.is_none_or(|(cur, _)| rank <= cur) {
                hard = Some((rank, line));
            }
        }
        Effective {
            soft: soft.map(|(_, l)| l),
            hard: hard.map(|(_, l)| l),
        }
    }

    /// Distinct domains in the order they first appear.
    pub fn domains(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for line in &self.lines {
            if !out.contains(&line.domain) {
                out.push(line.domain.clone());
            }
        }
        out
    }
}

/// pam_limits' source rank of a matching domain (lower is more specific), `None` if it does
/// not match. The numbers are libpam's `LIMITS_DEF_*` values.
fn domain_rank(domain: &str, user: &str, groups: &[String], item: &str) -> Option<u8> {
    if domain == user {
        return Some(0);
    }
    // Everything below is a group or wildcard line, which limits.conf(5) says root never gets.
    if user == "root" || domain.contains(':') {
        return None;
    }
    let in_group = |g: &str| groups.iter().any(|x| x == g);
    if let Some(g) = domain.strip_prefix('@') {
        return in_group(g).then_some(1);
    }
    if let Some(g) = domain.strip_prefix('%') {
        // pam_limits drops `%` lines for anything but maxlogins.
        if item != "maxlogins" {
            return None;
        }
        return if g.is_empty() {
            Some(3)
        } else {
            in_group(g).then_some(2)
        };
    }
    (domain == "*").then_some(4)
}

/// Reads `limits.conf`, then `limits.d/*.conf` in byte ("C" locale) order, as if concatenated.
pub fn read(root: &Path) -> Limits {
    let mut out = Limits::default();
    let mut rels = vec![LIMITS_CONF.to_string()];
    rels.extend(
        list_dir(root, LIMITS_D, ".conf")
            .into_iter()
            .map(|n| format!("{LIMITS_D}/{n}")),
    );
    for rel in rels {
        match read_under(root, &rel) {
            Read::Absent => {}
            Read::Problem(p) => out.problems.push(p),
            Read::File(file) => {
                parse_file(&file, &mut out.lines, &mut out.problems);
                out.files.push(file);
            }
        }
    }
    out
}

/// Whitespace-separated fields of `text[start..end]` with their spans.
fn fields(text: &str, start: usize, end: usize) -> Vec<(Span, &str)> {
    let mut out = Vec::new();
    let mut field_start = None;
    for (i, c) in text[start..end].char_indices() {
        let at = start + i;
        match (c.is_ascii_whitespace(), field_start) {
            (true, Some(s)) => {
                out.push((Span::new(s, at), &text[s..at]));
                field_start = None;
            }
            (false, None) => field_start = Some(at),
            _ => {}
        }
    }
    if let Some(s) = field_start {
        out.push((Span::new(s, end), &text[s..end]));
    }
    out
}

fn parse_file(file: &Arc<SourceFile>, out: &mut Vec<LimitLine>, problems: &mut Vec<SourceProblem>) {
    let text = file.text.as_str();
    let mut problems = crate::model::CappedProblems::new(problems);
    // A UTF-8 byte-order mark (some editors add one) is not part of the first domain: the line
    // walk starts after it.
    for (number, start, end) in crate::model::line_ranges(text) {
        // pam_limits cuts at the first `#` anywhere on the line.
        let content_end = text[start..end].find('#').map_or(end, |i| start + i);
        let f = fields(text, start, content_end);
        let at = |span: Span| file.location(span);
        let (domain, (type_span, type_word), (item_span, item_word), (value_span, value_word)) =
            match f[..] {
                [] => continue,
                [(_, d), t, i, v] => (d, t, i, v),
                // `<domain> -` means "no limits" for that domain; valid, but not modelled.
                [_, (_, t)] if t.starts_with('-') => continue,
                [(first, _), ..] => {
                    let n = f.len();
                    problems.push(SourceProblem::unparseable(
                        at(first),
                        format!(
                            "expected `<domain> <type> <item> <value>`, found {n} field{}",
                            if n == 1 { "" } else { "s" }
                        ),
                    ));
                    continue;
                }
            };
        let item = item_word.to_ascii_lowercase();
        if !ITEMS.contains(&item.as_str()) {
            problems.push(SourceProblem::unparseable(
                at(item_span),
                format!("unknown limit item `{item_word}`"),
            ));
            continue;
        }
        let kind = match type_word.to_ascii_lowercase().as_str() {
            "soft" => LimitType::Soft,
            "hard" => LimitType::Hard,
            "-" => LimitType::Both,
            _ if UNTYPED_ITEMS.contains(&item.as_str()) => LimitType::Both,
            _ => {
                problems.push(SourceProblem::unparseable(
                    at(type_span),
                    format!("unknown limit type `{type_word}`, expected `soft`, `hard` or `-`"),
                ));
                continue;
            }
        };
        let bad_value = || {
            SourceProblem::unparseable(
                at(value_span),
                format!("`{value_word}` is not a valid value for `{item}`"),
            )
        };
        let value = match item.as_str() {
            // Signed niceness values, not limits: check them, keep nothing.
            "nice" | "priority" => {
                if value_word.parse::<i64>().is_err() {
                    problems.push(bad_value());
                }
                continue;
            }
            // A path on distributions that have it; nothing to check.
            "chroot" => continue,
            "nonewprivs" => match value_word {
                "0" => LimitValue::Value(0),
                "1" => LimitValue::Value(1),
                _ => {
                    problems.push(bad_value());
                    continue;
                }
            },
            _ => match LimitValue::parse(value_word) {
                Some(v) => v,
                None => {
                    problems.push(SourceProblem::unparseable(
                        at(value_span),
                        format!("`{value_word}` is not a number, `unlimited`, `infinity` or `-1`"),
                    ));
                    continue;
                }
            },
        };
        out.push(LimitLine {
            domain: domain.to_string(),
            kind,
            item,
            value,
            file: Arc::clone(file),
            line: number,
            value_span,
            line_span: Span::new(start, end),
        });
    }
}

/// Splits `etc/passwd`-style text into records of at least `min` fields.
fn records(text: &str, min: usize) -> impl Iterator<Item = Vec<&str>> {
    text.lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| !l.starts_with('#') && !l.starts_with('+') && !l.starts_with('-'))
        .map(|l| l.split(':').collect::<Vec<_>>())
        .filter(move |f| f.len() >= min)
}

/// Groups of `user` from `etc/passwd` and `etc/group` under `root`: the primary group first,
/// then supplementary groups that list the user. Empty when unknown. Accounts from NSS
/// sources other than files (LDAP, SSSD) are not seen.
pub fn groups_of(root: &Path, user: &str) -> Vec<String> {
    let primary_gid = read_under(root, "etc/passwd").file().and_then(|p| {
        records(&p.text, 4)
            .find(|f| f[0] == user)
            .map(|f| f[3].to_string())
    });
    let Some(group) = read_under(root, "etc/group").file() else {
        return Vec::new();
    };
    let mut out: Vec<String> = Vec::new();
    let mut push = |name: &str| {
        if !out.iter().any(|g| g == name) {
            out.push(name.to_string());
        }
    };
    if let Some(gid) = &primary_gid
        && let Some(f) = records(&group.text, 3).find(|f| f[2] == gid)
    {
        push(f[0]);
    }
    for f in records(&group.text, 4) {
        if f[3].split(',').any(|m| m.trim() == user) {
            push(f[0]);
        }
    }
    out
}

/// The name of `uid` from `etc/passwd` under `root`.
pub fn user_of_uid(root: &Path, uid: u32) -> Option<String> {
    let passwd = read_under(root, "etc/passwd").file()?;
    let uid = uid.to_string();
    records(&passwd.text, 3)
        .find(|f| f[2] == uid)
        .map(|f| f[0].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::testkit::write;
    use crate::model::ProblemKind;

    fn limits(conf: &str) -> (tempfile::TempDir, Limits) {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), LIMITS_CONF, conf);
        let l = read(dir.path());
        (dir, l)
    }

    fn vals(e: Effective<'_>) -> (Option<LimitValue>, Option<LimitValue>) {
        (e.soft.map(|l| l.value), e.hard.map(|l| l.value))
    }

    const V: fn(u64) -> Option<LimitValue> = |n| Some(LimitValue::Value(n));

    #[test]
    fn dash_sets_both_and_spans_are_exact() {
        let (_d, l) = limits("# header\nwso2 - nofile 65535 # trailing\n");
        assert!(l.problems.is_empty(), "{:?}", l.problems);
        let e = l.effective("wso2", &[], "nofile");
        assert_eq!(vals(e), (V(65535), V(65535)));
        let line = e.soft.unwrap();
        assert_eq!(line.kind, LimitType::Both);
        assert_eq!(line.line, 2);
        assert_eq!(
            &line.file.text[line.value_span.start..line.value_span.end],
            "65535"
        );
        assert_eq!(
            line.file.slice(line.line_span),
            "wso2 - nofile 65535 # trailing"
        );
        assert_eq!(line.location().to_string(), "etc/security/limits.conf:2:15");
    }

    #[test]
    fn user_beats_a_later_wildcard() {
        let (_d, l) = limits("wso2 soft nofile 4096\n* soft nofile 1024\n* hard nofile 8192\n");
        assert_eq!(l.effective("wso2", &[], "nofile").soft.unwrap().line, 1);
        assert_eq!(vals(l.effective("wso2", &[], "nofile")), (V(4096), V(8192)));
        assert_eq!(
            vals(l.effective("other", &[], "nofile")),
            (V(1024), V(8192))
        );
    }

    #[test]
    fn wildcard_and_groups_do_not_cover_root() {
        let (_d, l) = limits("* - nofile 65535\n@wheel - nofile 4096\n");
        let root_groups = vec!["wheel".to_string()];
        assert_eq!(
            vals(l.effective("root", &root_groups, "nofile")),
            (None, None)
        );
        let (_d, l) = limits("* - nofile 65535\nroot hard nofile 100000\n");
        assert_eq!(vals(l.effective("root", &[], "nofile")), (None, V(100000)));
    }

    #[test]
    fn group_lines_rank_between_user_and_wildcard() {
        let (_d, l) = limits(
            "@apim soft nproc 2000\n* soft nproc 100\nwso2 hard nproc 9000\n@apim hard nproc 3000\n",
        );
        let groups = vec!["users".to_string(), "apim".to_string()];
        assert_eq!(
            vals(l.effective("wso2", &groups, "nproc")),
            (V(2000), V(9000))
        );
        assert_eq!(
            vals(l.effective("bob", &groups, "nproc")),
            (V(2000), V(3000))
        );
        assert_eq!(vals(l.effective("bob", &[], "nproc")), (V(100), None));
    }

    #[test]
    fn later_line_of_the_same_rank_wins() {
        let (_d, l) = limits("* soft nofile 1024\n* soft nofile 2048\n");
        let e = l.effective("u", &[], "nofile");
        assert_eq!(e.soft.unwrap().line, 2);
        assert_eq!(vals(e), (V(2048), None));
    }

    #[test]
    fn percent_and_range_domains_do_not_set_nofile() {
        let (_d, l) = limits("%apim - nofile 10\n1000:2000 - nofile 20\n% - maxlogins 4\n");
        let groups = vec!["apim".to_string()];
        assert_eq!(vals(l.effective("wso2", &groups, "nofile")), (None, None));
        assert_eq!(
            vals(l.effective("wso2", &groups, "maxlogins")),
            (V(4), V(4))
        );
        assert_eq!(l.domains(), ["%apim", "1000:2000", "%"]);
    }

    #[test]
    fn unlimited_spellings_and_case() {
        let (_d, l) = limits(
            "a soft memlock unlimited\na hard memlock infinity\nb Hard NOFILE -1\nc - nproc Unlimited\n",
        );
        assert!(l.problems.is_empty(), "{:?}", l.problems);
        let u = Some(LimitValue::Unlimited);
        assert_eq!(vals(l.effective("a", &[], "memlock")), (u, u));
        assert_eq!(vals(l.effective("b", &[], "nofile")), (None, u));
        assert_eq!(vals(l.effective("c", &[], "NPROC")), (u, u));
        assert!(LimitValue::Unlimited > LimitValue::Value(u64::MAX));
        assert_eq!(LimitValue::Unlimited.to_string(), "unlimited");
        assert_eq!(LimitValue::Value(42).to_string(), "42");
        assert_eq!(LimitValue::parse("12k"), None);
        assert_eq!(LimitValue::parse("+5"), None);
        assert_eq!(LimitValue::parse(" 7 "), V(7));
    }

    #[test]
    fn malformed_lines_are_located_and_the_rest_goes_on() {
        let (_d, l) = limits(
            "wso2 soft nofile\n\
             wso2 medium nofile 10\n\
             \twso2 soft nofile lots\n\
             wso2 soft nofiles 10\n\
             wso2 soft nofile 10 20\n\
             @audio - nice -19\n\
             @audio - nice high\n\
             wso2 -\n\
             wso2 hard nofile 30\n",
        );
        let got: Vec<_> = l
            .problems
            .iter()
            .map(|p| {
                assert_eq!(p.kind, ProblemKind::Unparseable);
                (p.location.to_string(), p.message.as_str())
            })
            .collect();
        let file = "etc/security/limits.conf";
        assert_eq!(
            got,
            [
                (
                    format!("{file}:1:1"),
                    "expected `<domain> <type> <item> <value>`, found 3 fields"
                ),
                (
                    format!("{file}:2:6"),
                    "unknown limit type `medium`, expected `soft`, `hard` or `-`"
                ),
                (
                    format!("{file}:3:19"),
                    "`lots` is not a number, `unlimited`, `infinity` or `-1`"
                ),
                (format!("{file}:4:11"), "unknown limit item `nofiles`"),
                (
                    format!("{file}:5:1"),
                    "expected `<domain> <type> <item> <value>`, found 5 fields"
                ),
                (
                    format!("{file}:7:15"),
                    "`high` is not a valid value for `nice`"
                ),
            ]
        );
        assert_eq!(l.lines.len(), 1);
        assert_eq!(vals(l.effective("wso2", &[], "nofile")), (None, V(30)));
    }

    #[test]
    fn limits_d_is_read_after_limits_conf_in_byte_order() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, LIMITS_CONF, "* soft nofile 1\n");
        write(root, "etc/security/limits.d/9-b.conf", "* soft nofile 9\n");
        write(
            root,
            "etc/security/limits.d/10-a.conf",
            "* soft nofile 10\n",
        );
        write(
            root,
            "etc/security/limits.d/20-x.conf.bak",
            "* soft nofile 99\n",
        );
        write(
            root,
            "etc/security/limits.d/Z-upper.conf",
            "* soft nofile 26\n",
        );
        let l = read(root);
        let files: Vec<_> = l.files.iter().map(|f| f.display.as_str()).collect();
        assert_eq!(
            files,
            [
                LIMITS_CONF,
                "etc/security/limits.d/10-a.conf",
                "etc/security/limits.d/9-b.conf",
                "etc/security/limits.d/Z-upper.conf",
            ]
        );
        assert_eq!(vals(l.effective("u", &[], "nofile")), (V(26), None));
        assert_eq!(l.lines.len(), 4);
    }

    #[test]
    fn crlf_and_unreadable_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            root,
            LIMITS_CONF,
            "wso2 soft nofile 4096\r\nwso2 hard nofile 8192",
        );
        let p = root.join("etc/security/limits.d/50-bin.conf");
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, [b'*', b' ', 0xfe]).unwrap();
        let l = read(root);
        assert_eq!(l.problems.len(), 1);
        assert_eq!(l.problems[0].kind, ProblemKind::Unreadable);
        let e = l.effective("wso2", &[], "nofile");
        let soft = e.soft.unwrap();
        assert_eq!(soft.file.slice(soft.value_span), "4096");
        assert_eq!(soft.file.slice(soft.line_span), "wso2 soft nofile 4096");
        assert_eq!(
            e.hard.unwrap().file.slice(e.hard.unwrap().value_span),
            "8192"
        );
    }

    #[test]
    fn accounts_under_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            root,
            "etc/passwd",
            "root:x:0:0:root:/root:/bin/bash\nwso2:x:1001:1001::/home/wso2:/bin/sh\n",
        );
        write(
            root,
            "etc/group",
            "root:x:0:\nwso2:x:1001:\ndocker:x:998:alice,wso2\nadm:x:4:wso2\nusers:x:100:bob\n",
        );
        assert_eq!(groups_of(root, "wso2"), ["wso2", "docker", "adm"]);
        assert_eq!(groups_of(root, "bob"), ["users"]);
        assert!(groups_of(root, "nobody").is_empty());
        assert_eq!(user_of_uid(root, 1001).as_deref(), Some("wso2"));
        assert_eq!(user_of_uid(root, 0).as_deref(), Some("root"));
        assert_eq!(user_of_uid(root, 4242), None);
    }

    #[test]
    fn missing_or_empty_root_reads_nothing() {
        let missing = Path::new("/nonexistent/apim-tune-test-root");
        let l = read(missing);
        assert!(l.files.is_empty() && l.lines.is_empty() && l.problems.is_empty());
        assert!(groups_of(missing, "root").is_empty());
        assert_eq!(user_of_uid(missing, 0), None);
        let dir = tempfile::tempdir().unwrap();
        let l = read(dir.path());
        assert!(l.files.is_empty() && l.lines.is_empty() && l.problems.is_empty());
        assert_eq!(vals(l.effective("u", &[], "nofile")), (None, None));
        assert!(l.domains().is_empty());
    }
}

#[cfg(test)]
mod bom_tests {
    use super::*;
    use crate::host::testkit::write;

    #[test]
    fn a_byte_order_mark_is_not_part_of_the_first_domain() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, LIMITS_CONF, "\u{feff}wso2 soft nofile 4096\n");
        let l = read(root);
        assert_eq!(l.lines[0].domain, "wso2");
        assert!(l.problems.is_empty());
    }
}

/// The name of apim-tune's drop-in in `etc/security/limits.d`: it sorts after every existing
/// file, so among lines of the same priority (same user) its own win (pam_limits reads the
/// files in C-locale order and a later line of equal priority replaces an earlier one).
pub fn drop_in_name(root: &Path) -> String {
    let names = crate::source::list_dir(root, "etc/security/limits.d", ".conf");
    crate::source::name_sorting_last(&names, "99-zz-apim-tune.conf")
}

/// The user whose limits are judged, and how it was chosen.
#[derive(Clone, Debug)]
pub struct LimitsUser {
    pub name: String,
    pub groups: Vec<String>,
    pub chosen_by: String,
}
