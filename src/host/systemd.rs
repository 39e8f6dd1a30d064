//! systemd units that run WSO2 API Manager, and the manager-wide `DefaultLimitNOFILE=`.
//!
//! Owns: finding the unit file and drop-ins systemd would load for each `*.service`, parsing
//! them (sections, comments, `\` continuations) with exact byte spans, and computing the
//! effective `[Service]` settings the audit cares about (`ExecStart=`, `User=`, `LimitNOFILE=`,
//! `LimitNPROC=`, `MemoryMax=`, `Environment=`, `EnvironmentFile=` and the files it names).
//! Must not: judge a value, consult the live manager (`systemctl show`), write anything, or
//! print. A service never reads `limits.conf`; it gets
//! its limits from the unit or from `DefaultLimitNOFILE=`, which is why this reader exists.

use crate::host::env_file::{self, EnvAssignment};
use crate::host::limits::LimitValue;
use crate::model::{Location, ProblemSink, SourceFile, SourceProblem, Span};
use crate::source::{Listing, Read, drop_in_order, is_masked, read_under};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// Unit directories, highest priority first (systemd.unit(5), "unit file load path"). A unit
/// name found in an earlier directory hides the same name in every later one. `lib/…` is the
/// split-usr location; on merged-usr systems it is a link to `usr/lib/…`, so the same files
/// show up twice and the first sighting wins harmlessly. Generator, transient and `.control`
/// directories are not read: nothing in them is written by hand.
const UNIT_DIRS: [&str; 5] = [
    "etc/systemd/system",
    "run/systemd/system",
    "usr/local/lib/systemd/system",
    "usr/lib/systemd/system",
    "lib/systemd/system",
];

/// Manager configuration and its drop-in directories, by priority (systemd-system.conf(5)).
const SYSTEM_CONF: &str = "etc/systemd/system.conf";
const SYSTEM_CONF_D: [&str; 4] = [
    "etc/systemd/system.conf.d",
    "run/systemd/system.conf.d",
    "usr/local/lib/systemd/system.conf.d",
    "usr/lib/systemd/system.conf.d",
];

/// What systemd trims around lines, keys and values (its `WHITESPACE`): ASCII only, so a
/// non-breaking space stays part of a value, as it does for systemd.
const WS: &[char] = &[' ', '\t', '\n', '\r'];

/// Unit names containing one of these (case-insensitively) are taken to run API-M.
/// Only `wso2` is specific enough in a unit name: `carbon-cache.service` is Graphite, `apim` can
/// be anything. Other units count only by their ExecStart.
const NAME_HINTS: [&str; 1] = ["wso2"];

/// An effective `ExecStart=` containing one of these runs API-M whatever the unit is called.
const EXEC_HINTS: [&str; 3] = [
    "api-manager.sh",
    "wso2server.sh",
    "org.wso2.carbon.bootstrap",
];

/// systemd's built-in `DefaultLimitNOFILE=` (soft, hard) when system.conf does not set it:
/// soft 1024 keeps `select()` safe, hard 512 Ki lets programs raise their own soft limit, which
/// HotSpot does by default (`-XX:+MaxFDLimit`).
pub const SYSTEMD_DEFAULT_NOFILE: (u64, u64) = (1024, 524288);

/// One effective setting: its value and where it was written.
#[derive(Clone, Debug)]
pub struct UnitSetting {
    /// The value as systemd reads it: trimmed, continuations joined (the `\` becomes a space),
    /// and for an `Environment=` variable unquoted and unescaped. Equal to
    /// `file.slice(span)` unless a continuation or an escape sits inside the value.
    pub value: String,
    /// Carries the exact byte span of the value in `file.text`.
    pub location: Location,
    pub file: Arc<SourceFile>,
}

impl UnitSetting {
    pub fn span(&self) -> Option<Span> {
        self.location.span
    }
}

/// A service unit that runs API-M, with the files systemd loads for it.
#[derive(Clone, Debug)]
pub struct Unit {
    /// File name, e.g. `wso2am.service`.
    pub name: String,
    /// The unit file that wins across [`UNIT_DIRS`].
    pub file: Arc<SourceFile>,
    /// `<name>.d/*.conf` from every unit directory (a name in a higher directory hides the same
    /// name lower down), in the order systemd applies them: by file name, after the unit.
    pub drop_ins: Vec<Arc<SourceFile>>,
    /// The last `ExecStart=` still in force after any empty assignment reset the list.
    pub exec_start: Option<UnitSetting>,
    pub user: Option<UnitSetting>,
    /// The effective `LimitNOFILE=`: later files and lines win; an empty assignment resets it to
    /// the manager default, shown here as `None`.
    pub limit_nofile: Option<UnitSetting>,
    pub limit_nproc: Option<UnitSetting>,
    /// The effective `MemoryMax=` (or the older `MemoryLimit=`): the cgroup memory limit
    /// systemd puts on the service.
    pub memory_max: Option<UnitSetting>,
    /// Variables from `Environment=` lines (later wins; an empty `Environment=` clears them).
    pub environment: BTreeMap<String, UnitSetting>,
    /// `EnvironmentFile=` lines in force, in order, with what each file gives. Their variables
    /// override `Environment=` ones, and a later file overrides an earlier one (systemd.exec(5)).
    pub environment_files: Vec<EnvironmentFile>,
}

/// One `EnvironmentFile=` in force, and the file it names as read under the root.
#[derive(Clone, Debug)]
pub struct EnvironmentFile {
    /// The `EnvironmentFile=` line (its value is the path with any `-` prefix).
    pub setting: UnitSetting,
    /// The absolute path, without the `-` prefix.
    pub path: String,
    /// `-` prefix: systemd starts the service without the file when it is missing.
    pub optional: bool,
    /// The file and its assignments; `None` when it is absent, unreadable, or a wildcard
    /// (which apim-tune does not expand).
    pub read: Option<(Arc<SourceFile>, Vec<EnvAssignment>)>,
}

/// Where a variable of the service's environment was set.
#[derive(Clone, Copy, Debug)]
pub enum EnvSource<'a> {
    /// An `Environment=` line of the unit or a drop-in.
    Unit(&'a UnitSetting),
    /// An assignment in an `EnvironmentFile=`.
    File {
        file: &'a Arc<SourceFile>,
        assignment: &'a EnvAssignment,
    },
}

impl EnvSource<'_> {
    /// `file:line` of the assignment.
    pub fn location(&self) -> Location {
        match self {
            EnvSource::Unit(s) => s.location.clone(),
            EnvSource::File { file, assignment } => file.location(assignment.raw_span),
        }
    }

    pub fn value(&self) -> &str {
        match self {
            EnvSource::Unit(s) => &s.value,
            EnvSource::File { assignment, .. } => &assignment.value,
        }
    }
}

impl Unit {
    /// The value the service gets for the environment variable `name`, and where it was set:
    /// the last `EnvironmentFile=` assignment, else the `Environment=` one.
    pub fn env(&self, name: &str) -> Option<EnvSource<'_>> {
        let from_files = self.environment_files.iter().rev().find_map(|e| {
            let (file, assignments) = e.read.as_ref()?;
            let assignment = assignments.iter().rev().find(|a| a.key == name)?;
            Some(EnvSource::File { file, assignment })
        });
        from_files.or_else(|| self.environment.get(name).map(EnvSource::Unit))
    }
}

/// Every API-M service unit under `root`, by name, with the problems met in its files.
///
/// A unit counts as API-M when its name contains `wso2`, or when its
/// effective `ExecStart=` mentions `api-manager.sh`, `wso2server.sh` or
/// `org.wso2.carbon.bootstrap`. Problems in other units are not reported: they are not ours.
/// Masked units (linked to `/dev/null`, or empty) are skipped, since systemd will not run them.
pub fn find_apim_units(root: &Path) -> (Vec<Unit>, Vec<SourceProblem>) {
    // Each unit directory is listed once; its listing then answers which names exist, which are
    // links (masks) and which have a `<name>.d`, so a host with hundreds of units costs one read
    // per unit file rather than a path walk per file and per candidate drop-in directory.
    let listings = Listing::read_first_wins(root, &UNIT_DIRS);
    // The first directory (highest priority) that has a name wins it.
    let mut chosen: BTreeMap<&str, &Listing> = BTreeMap::new();
    for listing in &listings {
        for name in listing.names(".service") {
            chosen.entry(name).or_insert(listing);
        }
    }
    let mut units = Vec::new();
    let mut problems = Vec::new();
    for (name, listing) in chosen {
        if listing.is_masked(name) {
            continue;
        }
        let named = has_name_hint(name);
        let file = match listing.read_entry(root, name) {
            Read::File(f) => f,
            Read::Problem(p) => {
                if named {
                    problems.push(p);
                }
                continue;
            }
            Read::Absent => continue,
        };
        if file.text.is_empty() {
            continue; // an empty unit file masks the unit too
        }
        // Each drop-in in application order: its file, or the problem met reading it.
        let read_drop_ins: Vec<Result<Arc<SourceFile>, SourceProblem>> =
            drop_in_files(root, &listings, name)
                .into_iter()
                .filter_map(|rel| match read_under(root, &rel) {
                    Read::File(f) => Some(Ok(f)),
                    Read::Problem(p) => Some(Err(p)),
                    Read::Absent => None,
                })
                .collect();
        // An `ExecStart=` value is the text of one line (a continuation joins lines with a
        // space, which no hint holds), so a unit none of whose files holds a hint cannot run
        // API-M: it is not parsed at all.
        let hinted = mentions_exec_hint(&file.text)
            || read_drop_ins
                .iter()
                .any(|d| d.as_ref().is_ok_and(|f| mentions_exec_hint(&f.text)));
        if !named && !hinted {
            continue;
        }
        let mut unit_problems = Vec::new();
        let mut drop_ins = Vec::new();
        let mut state = ServiceState::default();
        state.apply(&file, &mut unit_problems);
        for read in read_drop_ins {
            match read {
                Ok(f) => {
                    state.apply(&f, &mut unit_problems);
                    drop_ins.push(f);
                }
                Err(p) => unit_problems.push(p),
            }
        }
        let by_exec = state
            .exec_start
            .iter()
            .any(|s| mentions_exec_hint(&s.value));
        if !named && !by_exec {
            continue;
        }
        problems.extend(unit_problems);
        let environment_files =
            read_environment_files(root, name, state.environment_files, &mut problems);
        let environment = resolve_environment(state.environment, name);
        units.push(Unit {
            name: name.to_string(),
            file,
            drop_ins,
            exec_start: state.exec_start.pop(),
            user: state.user,
            limit_nofile: state.limit_nofile,
            limit_nproc: state.limit_nproc,
            memory_max: state.memory_max.or(state.memory_limit),
            environment_files,
            environment,
        });
    }
    (units, problems)
}

fn mentions_exec_hint(text: &str) -> bool {
    EXEC_HINTS.iter().any(|h| text.contains(h))
}

/// A `MemoryMax=` value in MiB for a host with `ram_mb` of memory: bytes with an optional
/// `K`/`M`/`G`/`T` suffix (base 1024), or a percentage of physical memory. `None` for `infinity`
/// and for anything systemd would reject (it then ignores the line).
pub fn parse_memory_max(value: &str, ram_mb: u64) -> Option<u64> {
    let v = value.trim();
    if let Some(pct) = v.strip_suffix('%') {
        let p: f64 = pct.trim().parse().ok()?;
        return (p > 0.0 && p <= 100.0 && ram_mb > 0).then(|| (ram_mb as f64 * p / 100.0) as u64);
    }
    // systemd's sizes: a number (fractions allowed with a suffix) and K, M, G, T, P or E, base 1024.
    let split = v
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(v.len());
    let (num, unit) = v.split_at(split);
    let shift = match unit {
        "" if !num.contains('.') => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        "P" => 50,
        "E" => 60,
        _ => return None,
    };
    let bytes = num.parse::<f64>().ok()? * (1u64 << shift) as f64;
    (bytes.is_finite() && bytes >= 0.0 && bytes < u64::MAX as f64).then_some((bytes as u64) >> 20)
}

/// Parses a `LimitNOFILE=`/`LimitNPROC=` value: `N` (soft = hard), `soft:hard`, `infinity`.
/// `None` for anything systemd rejects for these two resources, including a soft limit above
/// the hard one. Size suffixes (`K`, `M`, `G`) only apply to byte-sized limits, so they are
/// rejected here as systemd rejects them for counts.
pub fn parse_limit(value: &str) -> Option<(LimitValue, LimitValue)> {
    fn one(s: &str) -> Option<LimitValue> {
        if s == "infinity" {
            return Some(LimitValue::Unlimited);
        }
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok().map(LimitValue::Value)
    }
    let value = value.trim();
    let (soft, hard) = match value.split_once(':') {
        Some((s, h)) => (one(s)?, one(h)?),
        None => {
            let v = one(value)?;
            (v, v)
        }
    };
    (soft <= hard).then_some((soft, hard))
}

/// The effective `DefaultLimitNOFILE=` from `[Manager]` in `etc/systemd/system.conf`, then the
/// `system.conf.d/*.conf` drop-ins in name order (later wins; an empty assignment resets to the
/// built-in [`SYSTEMD_DEFAULT_NOFILE`], shown as `None`). Syntax problems in these files are
/// not reported here.
pub fn default_limit_nofile(root: &Path) -> Option<UnitSetting> {
    let mut files = vec![SYSTEM_CONF.to_string()];
    files.extend(chosen_drop_ins(root, &SYSTEM_CONF_D));
    let mut found = None;
    for rel in files {
        let Read::File(file) = read_under(root, &rel) else {
            continue;
        };
        let mut ignored = Vec::new();
        for a in parse_file(&file, &mut ignored) {
            if a.section == "Manager" && a.key == "DefaultLimitNOFILE" {
                found = setting_or_reset(&file, &a);
            }
        }
    }
    found
}

fn has_name_hint(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    NAME_HINTS.iter().any(|h| lower.contains(h))
}

/// `<dir>/<name>.d/*.conf` across the unit directories, in application order. Only the
/// directories whose listing has a `<name>.d` are looked into: the others give nothing.
fn drop_in_files(root: &Path, listings: &[Listing], name: &str) -> Vec<String> {
    let sub = format!("{name}.d");
    let dirs: Vec<String> = listings
        .iter()
        .filter(|l| l.contains(&sub))
        .map(|l| format!("{}/{sub}", l.rel()))
        .collect();
    if dirs.is_empty() {
        return Vec::new();
    }
    let dirs: Vec<&str> = dirs.iter().map(String::as_str).collect();
    chosen_drop_ins(root, &dirs)
}

/// `*.conf` names across `dirs` (first directory wins a name, a `/dev/null` link masks it), as
/// `dir/name` sorted by name: byte order, which is how systemd sorts them.
fn chosen_drop_ins(root: &Path, dirs: &[&str]) -> Vec<String> {
    drop_in_order(root, dirs, ".conf")
        .into_iter()
        .filter(|rel| !is_masked(root, rel))
        .collect()
}

/// The `[Service]` settings accumulated over the unit and its drop-ins, in order.
#[derive(Default)]
struct ServiceState {
    /// Every `ExecStart=` in force (oneshot services may have several).
    exec_start: Vec<UnitSetting>,
    user: Option<UnitSetting>,
    limit_nofile: Option<UnitSetting>,
    limit_nproc: Option<UnitSetting>,
    memory_max: Option<UnitSetting>,
    memory_limit: Option<UnitSetting>,
    environment: BTreeMap<String, UnitSetting>,
    environment_files: Vec<UnitSetting>,
}

impl ServiceState {
    fn apply(&mut self, file: &Arc<SourceFile>, problems: &mut Vec<SourceProblem>) {
        // A unit file of a million broken lines is 21 problems, not a million.
        let problems = &mut crate::model::CappedProblems::new(problems);
        for a in parse_file(file, problems) {
            if a.section != "Service" {
                continue;
            }
            match a.key.as_str() {
                "ExecStart" => match setting_or_reset(file, &a) {
                    Some(s) => self.exec_start.push(s),
                    None => self.exec_start.clear(),
                },
                "User" => self.user = setting_or_reset(file, &a),
                // systemd ignores a value it cannot parse and keeps the earlier one; so do we,
                // and say so.
                "LimitNOFILE" | "LimitNPROC" => {
                    let setting = setting_or_reset(file, &a);
                    if let Some(s) = &setting
                        && parse_limit(&s.value).is_none()
                    {
                        problems.push(SourceProblem::unparseable(
                            s.location.clone(),
                            format!(
                                "`{}={}` is not a limit systemd accepts (a number, `soft:hard` or `infinity`); it is ignored",
                                a.key, s.value
                            ),
                        ));
                        continue;
                    }
                    if a.key == "LimitNOFILE" {
                        self.limit_nofile = setting;
                    } else {
                        self.limit_nproc = setting;
                    }
                }
                "MemoryMax" => self.memory_max = setting_or_reset(file, &a),
                // Deprecated; systemd uses it only when no MemoryMax= is set.
                "MemoryLimit" => self.memory_limit = setting_or_reset(file, &a),
                "EnvironmentFile" => match setting_or_reset(file, &a) {
                    Some(s) => self.environment_files.push(s),
                    None => self.environment_files.clear(),
                },
                "Environment" if a.value.is_empty() => self.environment.clear(),
                "Environment" => {
                    for (name, setting) in environment(file, &a, problems) {
                        self.environment.insert(name, setting);
                    }
                }
                _ => {}
            }
        }
    }
}

/// Reads the files `EnvironmentFile=` lines name, under `root`, for the unit `unit`: `%`
/// specifiers of the unit's name resolved (`/etc/default/%N`), a wildcard in the file name
/// expanded to the matching files in name order. A missing file without the `-` prefix is a
/// problem: systemd then refuses to start the service. A path apim-tune cannot resolve (`%h`,
/// a wildcard in a directory) is a problem too: its variables, which override `Environment=`,
/// are unknown.
fn read_environment_files(
    root: &Path,
    unit: &str,
    lines: Vec<UnitSetting>,
    problems: &mut Vec<SourceProblem>,
) -> Vec<EnvironmentFile> {
    let mut out = Vec::new();
    for setting in lines {
        let (optional, written) = match setting.value.strip_prefix('-') {
            Some(p) => (true, p.trim().to_string()),
            None => (false, setting.value.trim().to_string()),
        };
        let unknown = |why: String, problems: &mut Vec<SourceProblem>| {
            problems.push(SourceProblem::unparseable(
                setting.location.clone(),
                format!(
                    "`EnvironmentFile={written}`: {why}; the variables it sets (which override `Environment=`) are not known"
                ),
            ));
        };
        let path = match super::specifiers::resolve(&written, unit) {
            Ok(p) => p,
            Err(c) => {
                unknown(
                    format!("the specifier `%{c}` depends on the machine, not the unit's name"),
                    problems,
                );
                out.push(environment_file(setting.clone(), written, optional, None));
                continue;
            }
        };
        if !path.starts_with('/') {
            unknown(
                "not an absolute path, which systemd ignores".into(),
                problems,
            );
            out.push(environment_file(setting.clone(), path, optional, None));
            continue;
        }
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", &path));
        if dir.contains(['*', '?', '[']) || name.contains('[') {
            unknown("a wildcard apim-tune does not expand".into(), problems);
            out.push(environment_file(setting.clone(), path, optional, None));
            continue;
        }
        if name.contains(['*', '?']) {
            // Every match, in name order. No match is a missing file: systemd refuses to start
            // the service unless the line has `-`.
            let matches: Vec<String> = crate::source::list_dir(root, dir, "")
                .into_iter()
                .filter(|n| wildcard_matches(name, n))
                .collect();
            if matches.is_empty() && !optional {
                problems.push(SourceProblem::unparseable(
                    setting.location.clone(),
                    format!(
                        "`EnvironmentFile={written}` matches no file: systemd refuses to start the service (a `-` prefix makes it optional)"
                    ),
                ));
            }
            for matched in matches {
                let full = format!("{dir}/{matched}");
                let read = match read_under(root, &full) {
                    Read::File(f) => Some((Arc::clone(&f), env_file::parse(&f))),
                    Read::Problem(p) => {
                        problems.push(p);
                        None
                    }
                    Read::Absent => None,
                };
                out.push(environment_file(setting.clone(), full, optional, read));
            }
            continue;
        }
        let read = match read_under(root, &path) {
            Read::File(f) => {
                let assignments = env_file::parse(&f);
                Some((f, assignments))
            }
            Read::Absent => {
                if !optional {
                    problems.push(SourceProblem::unparseable(
                        setting.location.clone(),
                        format!(
                            "`EnvironmentFile={written}` names a file that does not exist: systemd refuses to start the service (a `-` prefix makes it optional)"
                        ),
                    ));
                }
                None
            }
            Read::Problem(p) => {
                problems.push(p);
                None
            }
        };
        out.push(environment_file(setting, path, optional, read));
    }
    out
}

/// `Environment=` values with the `%` specifiers of the unit's name resolved (`%%` is `%`);
/// one that depends on the machine (`%h`) stays as written.
fn resolve_environment(
    env: BTreeMap<String, UnitSetting>,
    unit: &str,
) -> BTreeMap<String, UnitSetting> {
    env.into_iter()
        .map(|(k, mut s)| {
            s.value = super::specifiers::resolve_known(&s.value, unit).0;
            (k, s)
        })
        .collect()
}

fn environment_file(
    setting: UnitSetting,
    path: String,
    optional: bool,
    read: Option<(Arc<SourceFile>, Vec<EnvAssignment>)>,
) -> EnvironmentFile {
    EnvironmentFile {
        setting,
        path,
        optional,
        read,
    }
}

/// A shell-style `*`/`?` pattern against a file name (no `[`: refused by the caller). A name
/// starting with `.` matches only a pattern that does too, as in glob(7).
fn wildcard_matches(pattern: &str, name: &str) -> bool {
    if name.starts_with('.') && !pattern.starts_with('.') {
        return false;
    }
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    // Iterative, remembering only the last `*`: linear in practice, never exponential, whatever
    // the pattern (a recursive matcher backtracks through every `*`).
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ni));
                pi += 1;
            }
            Some('?') => {
                pi += 1;
                ni += 1;
            }
            Some(c) if *c == n[ni] => {
                pi += 1;
                ni += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    pi = sp + 1;
                    ni = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// The assignment as a setting, or `None` for an empty assignment (a reset in systemd).
fn setting_or_reset(file: &Arc<SourceFile>, a: &Assignment) -> Option<UnitSetting> {
    if a.value.is_empty() {
        return None;
    }
    Some(UnitSetting {
        value: a.value.clone(),
        location: file.location(a.span()),
        file: Arc::clone(file),
    })
}

/// One `Key=Value` line (continuations joined), with its section.
struct Assignment {
    section: String,
    key: String,
    /// Trimmed value, continuations joined.
    value: String,
    /// Byte offset in the file of every byte of `value` (a joined `\` maps to the backslash).
    raw: Vec<usize>,
    /// Offset just after the `=`, where an empty value sits.
    after_eq: usize,
}

impl Assignment {
    fn span(&self) -> Span {
        span_of(&self.raw, 0, self.raw.len(), self.after_eq)
    }
}

/// File span of the value bytes `[from, to)`, whose offsets are `raw`; `empty_at` when empty.
fn span_of(raw: &[usize], from: usize, to: usize, empty_at: usize) -> Span {
    match (
        raw.get(from),
        to.checked_sub(1).and_then(|last| raw.get(last)),
    ) {
        (Some(&start), Some(&last)) if from < to => Span::new(start, last + 1),
        _ => Span::new(empty_at, empty_at),
    }
}

/// A logical line being assembled: its text and the file offset of each byte.
#[derive(Default)]
struct Logical {
    text: String,
    raw: Vec<usize>,
}

impl Logical {
    fn push_str(&mut self, s: &str, at: usize) {
        self.text.push_str(s);
        self.raw.extend(at..at + s.len());
    }
}

/// Parses a unit or manager configuration file as systemd's `config_parse` does: leading
/// whitespace skipped, `#`/`;` comment lines, `[Section]` headers, `Key=Value` with both sides
/// trimmed, and a trailing unescaped `\` joining the next line (the `\` becomes a space; comment
/// lines inside a continuation are skipped). Malformed lines become problems and are skipped.
fn parse_file(file: &Arc<SourceFile>, problems: &mut impl ProblemSink) -> Vec<Assignment> {
    let text = &file.text;
    let mut out = Vec::new();
    let mut section: Option<String> = None;
    let mut pending: Option<Logical> = None;
    // systemd skips a UTF-8 byte order mark at the start of the file; so does the line walk.
    for (_, start, end) in crate::model::line_ranges(text) {
        let line = &text[start..end];
        let body = line.trim_start_matches(WS);
        let at = start + (line.len() - body.len());
        let is_comment = body.starts_with(['#', ';']);
        let mut logical = match pending.take() {
            Some(l) if is_comment => {
                pending = Some(l);
                continue;
            }
            Some(l) => l,
            None if body.is_empty() || is_comment => continue,
            None => Logical::default(),
        };
        logical.push_str(body, at);
        if ends_with_unescaped_backslash(body) {
            // The `\` stays mapped to its own offset, so spans still cover the exact bytes.
            logical.text.pop();
            logical.text.push(' ');
            pending = Some(logical);
            continue;
        }
        if !handle_line(file, logical, &mut section, &mut out, problems) {
            return out;
        }
    }
    if let Some(logical) = pending {
        handle_line(file, logical, &mut section, &mut out, problems);
    }
    out
}

fn ends_with_unescaped_backslash(s: &str) -> bool {
    let trailing = s.bytes().rev().take_while(|&b| b == b'\\').count();
    trailing % 2 == 1
}

/// Handles one logical line; `false` when systemd would stop reading the file here.
fn handle_line(
    file: &Arc<SourceFile>,
    logical: Logical,
    section: &mut Option<String>,
    out: &mut Vec<Assignment>,
    problems: &mut impl ProblemSink,
) -> bool {
    let Logical { text, raw } = logical;
    let lead = text.len() - text.trim_start_matches(WS).len();
    let trimmed = text.trim_matches(WS);
    if trimmed.is_empty() {
        return true;
    }
    let here = |i: usize| {
        let off = raw.get(i).copied().unwrap_or(0);
        file.location(Span::new(off, off))
    };
    if trimmed.starts_with('[') {
        if let Some(name) = trimmed.strip_suffix(']') {
            *section = Some(name[1..].to_string());
        } else {
            // systemd fails the whole file here (`config_parse` returns -EBADMSG): nothing
            // after this line is applied, and a unit file that fails does not load.
            problems.push(SourceProblem::unparseable(
                here(lead),
                "unterminated section header, expected `]`; systemd ignores the rest of the file",
            ));
            return false;
        }
        return true;
    }
    let Some(eq) = text.find('=') else {
        problems.push(SourceProblem::unparseable(
            here(lead),
            "expected `=` after key",
        ));
        return true;
    };
    let key = text[..eq].trim_matches(WS);
    if key.is_empty() {
        problems.push(SourceProblem::unparseable(
            here(lead),
            "missing key before `=`",
        ));
        return true;
    }
    let Some(section) = section.as_ref() else {
        // A drop-in without `[Service]` sets nothing: systemd only warns, so say so here.
        problems.push(SourceProblem::unparseable(
            here(lead),
            "assignment outside of a section is ignored",
        ));
        return true;
    };
    let after = &text[eq + 1..];
    let v_start = eq + 1 + (after.len() - after.trim_start_matches(WS).len());
    let v_end = (eq + 1 + after.trim_end_matches(WS).len()).max(v_start);
    out.push(Assignment {
        section: section.clone(),
        key: key.to_string(),
        value: text[v_start..v_end].to_string(),
        raw: raw[v_start..v_end].to_vec(),
        after_eq: raw.get(eq).map_or(0, |o| o + 1),
    });
    true
}

/// Splits an `Environment=` value into `NAME=value` words as systemd does (whitespace between
/// words, `"…"`/`'…'` quoting anywhere in a word, C escapes), each variable's span covering the
/// bytes its value was read from (surrounding quotes excluded).
fn environment(
    file: &Arc<SourceFile>,
    a: &Assignment,
    problems: &mut impl ProblemSink,
) -> Vec<(String, UnitSetting)> {
    let mut out = Vec::new();
    for word in split_words(&a.value) {
        let Some(eq) = word.chars.iter().position(|c| c.ch == '=') else {
            problems.push(invalid_env(file, a, &word));
            continue;
        };
        let name: String = word.chars[..eq].iter().map(|c| c.ch).collect();
        if !valid_env_name(&name) {
            problems.push(invalid_env(file, a, &word));
            continue;
        }
        let value_chars = &word.chars[eq + 1..];
        let value: String = value_chars.iter().map(|c| c.ch).collect();
        let after_eq = a.raw.get(word.chars[eq].from).map_or(a.after_eq, |o| o + 1);
        let span = match (value_chars.first(), value_chars.last()) {
            (Some(first), Some(last)) => span_of(&a.raw, first.from, last.to, after_eq),
            // Empty value: an empty span right after the `=` (before any `""` that follows).
            _ => Span::new(after_eq, after_eq),
        };
        out.push((
            name,
            UnitSetting {
                value,
                location: file.location(span),
                file: Arc::clone(file),
            },
        ));
    }
    out
}

fn invalid_env(file: &Arc<SourceFile>, a: &Assignment, word: &Word) -> SourceProblem {
    let span = span_of(&a.raw, word.start, word.end, a.after_eq);
    SourceProblem::unparseable(
        file.location(Span::new(span.start, span.start)),
        "invalid environment assignment, expected `NAME=value`",
    )
}

/// Environment variable names systemd accepts: not empty, no `=`, no control characters, not
/// starting with a digit.
fn valid_env_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// One character of an unquoted word and the value bytes `[from, to)` it was read from.
struct WordChar {
    ch: char,
    from: usize,
    to: usize,
}

/// A word of an `Environment=` value: its characters and its byte range in the value.
struct Word {
    chars: Vec<WordChar>,
    start: usize,
    end: usize,
}

/// systemd's `extract_first_word(…, EXTRACT_UNQUOTE | EXTRACT_CUNESCAPE | EXTRACT_RELAX)`,
/// applied repeatedly. An unterminated quote runs to the end of the value (relaxed mode).
fn split_words(value: &str) -> Vec<Word> {
    let mut words = Vec::new();
    let mut iter = value.char_indices().peekable();
    loop {
        while iter.next_if(|(_, c)| c.is_ascii_whitespace()).is_some() {}
        let Some(&(start, _)) = iter.peek() else {
            break;
        };
        let mut word = Word {
            chars: Vec::new(),
            start,
            end: start,
        };
        let mut quote: Option<char> = None;
        while let Some(&(i, c)) = iter.peek() {
            if quote.is_none() && c.is_ascii_whitespace() {
                break;
            }
            iter.next();
            word.end = i + c.len_utf8();
            match c {
                '\\' => {
                    let Some((j, e)) = iter.next() else {
                        // A lone trailing backslash is kept as is.
                        word.chars.push(WordChar {
                            ch: c,
                            from: i,
                            to: i + 1,
                        });
                        break;
                    };
                    let to = j + e.len_utf8();
                    word.end = to;
                    match unescape(e) {
                        Some(ch) => word.chars.push(WordChar { ch, from: i, to }),
                        None => {
                            // Relaxed mode keeps an unknown escape verbatim.
                            word.chars.push(WordChar {
                                ch: '\\',
                                from: i,
                                to: j,
                            });
                            word.chars.push(WordChar { ch: e, from: j, to });
                        }
                    }
                }
                '"' | '\'' if quote.is_none() => {
                    quote = Some(c);
                }
                c if quote == Some(c) => {
                    quote = None;
                }
                c => word.chars.push(WordChar {
                    ch: c,
                    from: i,
                    to: i + c.len_utf8(),
                }),
            }
        }
        words.push(word);
    }
    words
}

/// The single-character C escapes systemd's `cunescape` knows; numeric forms are left verbatim.
fn unescape(c: char) -> Option<char> {
    Some(match c {
        'a' => '\u{7}',
        'b' => '\u{8}',
        'f' => '\u{c}',
        'n' => '\n',
        'r' => '\r',
        't' => '\t',
        'v' => '\u{b}',
        's' => ' ',
        '\\' | '"' | '\'' => c,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::parse_memory_max;

    #[test]
    fn memory_max_values() {
        assert_eq!(parse_memory_max("4G", 8192), Some(4096));
        assert_eq!(parse_memory_max("512M", 8192), Some(512));
        assert_eq!(parse_memory_max("1073741824", 8192), Some(1024));
        assert_eq!(parse_memory_max("50%", 8192), Some(4096));
        assert_eq!(parse_memory_max("50%", 0), None);
        assert_eq!(parse_memory_max("infinity", 8192), None);
        assert_eq!(parse_memory_max("4GB", 8192), None);
        assert_eq!(parse_memory_max("1.5G", 8192), Some(1536));
        assert_eq!(parse_memory_max("1P", 8192), Some(1 << 30));
        assert_eq!(parse_memory_max("1.5", 8192), None);
        assert_eq!(parse_memory_max("lots", 8192), None);
        assert_eq!(parse_memory_max("99999999999T", 8192), None);
    }

    use super::*;
    use crate::host::testkit::write;
    use crate::model::ProblemKind;

    #[test]
    fn wildcards_match_as_glob_does_and_never_blow_up() {
        for (pattern, name, want) in [
            ("*", "wso2am", true),
            ("wso2*.env", "wso2am.env", true),
            ("wso2?m", "wso2am", true),
            ("*.env", "wso2am.conf", false),
            ("*", ".hidden", false),
            ("a*b*c", "axxbyyc", true),
            ("a*b*c", "axxbyy", false),
        ] {
            assert_eq!(wildcard_matches(pattern, name), want, "{pattern} {name}");
        }
        // Many stars against a long name that does not match: a backtracking matcher would not
        // finish this in the lifetime of the test run.
        let name = "a".repeat(2000);
        assert!(!wildcard_matches(&format!("{}b", "*a".repeat(40)), &name));
    }

    #[test]
    fn memory_max_wins_over_the_deprecated_memory_limit() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            root,
            "etc/systemd/system/wso2am.service",
            "[Service]\nExecStart=/opt/wso2am-4.2.0/bin/api-manager.sh\nMemoryMax=4G\n",
        );
        write(
            root,
            "etc/systemd/system/wso2am.service.d/old.conf",
            "[Service]\nMemoryLimit=2G\n",
        );
        let (units, _) = find_apim_units(root);
        assert_eq!(units[0].memory_max.as_ref().unwrap().value, "4G");
        write(
            root,
            "etc/systemd/system/wso2am.service",
            "[Service]\nExecStart=/opt/wso2am-4.2.0/bin/api-manager.sh\n",
        );
        let (units, _) = find_apim_units(root);
        assert_eq!(units[0].memory_max.as_ref().unwrap().value, "2G");
    }

    fn span_text(s: &UnitSetting) -> &str {
        let span = s.location.span.unwrap();
        &s.file.text[span.start..span.end]
    }

    const WSO2AM: &str = "[Unit]\nDescription=WSO2 API Manager\n\n[Service]\nUser=wso2carbon\n\
        ExecStart=/opt/wso2am-4.2.0/bin/api-manager.sh\nLimitNOFILE=4096\n\
        Environment=\"JAVA_HOME=/usr/lib/jvm/java-17\" \"JVM_MEM_OPTS=-Xms2g -Xmx2g\"\n";

    fn names(units: &[Unit]) -> Vec<&str> {
        units.iter().map(|u| u.name.as_str()).collect()
    }

    #[test]
    fn unit_with_drop_in_environment_and_exact_spans() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "etc/systemd/system/wso2am.service", WSO2AM);
        write(
            root,
            "etc/systemd/system/wso2am.service.d/override.conf",
            "[Service]\nLimitNOFILE=65535:65535\n",
        );
        let (units, problems) = find_apim_units(root);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(names(&units), ["wso2am.service"]);
        let u = &units[0];
        assert_eq!(u.file.display, "etc/systemd/system/wso2am.service");
        assert_eq!(u.drop_ins.len(), 1);

        let nofile = u.limit_nofile.as_ref().unwrap();
        assert_eq!(nofile.value, "65535:65535");
        assert_eq!(span_text(nofile), "65535:65535");
        assert_eq!(
            nofile.file.display,
            "etc/systemd/system/wso2am.service.d/override.conf"
        );
        assert_eq!(
            (nofile.location.line, nofile.location.column),
            (Some(2), Some(13))
        );
        assert_eq!(
            parse_limit(&nofile.value),
            Some((LimitValue::Value(65535), LimitValue::Value(65535)))
        );

        let user = u.user.as_ref().unwrap();
        assert_eq!(span_text(user), "wso2carbon");
        assert_eq!(user.location.line, Some(5));
        let exec = u.exec_start.as_ref().unwrap();
        assert_eq!(span_text(exec), "/opt/wso2am-4.2.0/bin/api-manager.sh");
        assert!(u.limit_nproc.is_none());

        let env = &u.environment;
        assert_eq!(env.len(), 2);
        assert_eq!(env["JAVA_HOME"].value, "/usr/lib/jvm/java-17");
        assert_eq!(span_text(&env["JAVA_HOME"]), "/usr/lib/jvm/java-17");
        assert_eq!(env["JVM_MEM_OPTS"].value, "-Xms2g -Xmx2g");
        assert_eq!(span_text(&env["JVM_MEM_OPTS"]), "-Xms2g -Xmx2g");
    }

    #[test]
    fn environment_files_override_environment_lines_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            root,
            "etc/systemd/system/wso2am.service",
            format!(
                "{WSO2AM}EnvironmentFile=-/etc/default/wso2am\nEnvironmentFile=-/etc/default/absent\n"
            ),
        );
        write(
            root,
            "etc/default/wso2am",
            "# heap for the gateway\nJVM_MEM_OPTS=\"-Xms4g -Xmx4g\"\nJAVA_OPTS=-Dx=1\n",
        );
        write(
            root,
            "etc/systemd/system/wso2am.service.d/env.conf",
            "[Service]\nEnvironmentFile=/etc/default/required\n",
        );
        let (units, problems) = find_apim_units(root);
        // The required file is missing: systemd would not start the unit.
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].message.contains("refuses to start"));
        assert_eq!(problems[0].location.line, Some(2));
        let u = &units[0];
        assert_eq!(u.environment_files.len(), 3);
        assert!(u.environment_files[0].optional);
        assert_eq!(u.environment_files[0].path, "/etc/default/wso2am");

        let mem = u.env("JVM_MEM_OPTS").unwrap();
        assert_eq!(mem.value(), "-Xms4g -Xmx4g");
        let at = mem.location();
        assert_eq!((at.file.as_str(), at.line), ("etc/default/wso2am", Some(2)));
        assert!(matches!(mem, EnvSource::File { .. }));
        // Not in any file: the `Environment=` line's value.
        let home = u.env("JAVA_HOME").unwrap();
        assert!(matches!(home, EnvSource::Unit(_)));
        assert_eq!(home.value(), "/usr/lib/jvm/java-17");
        assert!(u.env("NOPE").is_none());

        // An empty `EnvironmentFile=` resets the list.
        write(
            root,
            "etc/systemd/system/wso2am.service.d/env.conf",
            "[Service]\nEnvironmentFile=\n",
        );
        let (units, problems) = find_apim_units(root);
        assert!(problems.is_empty(), "{problems:?}");
        assert!(units[0].environment_files.is_empty());
        assert_eq!(
            units[0].env("JVM_MEM_OPTS").unwrap().value(),
            "-Xms2g -Xmx2g"
        );
    }

    #[test]
    fn etc_masks_vendor_unit_and_drop_ins_merge_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            root,
            "usr/lib/systemd/system/wso2am.service",
            "[Service]\nExecStart=/vendor/api-manager.sh\nLimitNOFILE=1000\n",
        );
        write(root, "etc/systemd/system/wso2am.service", WSO2AM);
        // Same drop-in name in etc and usr/lib: etc wins; others apply by name across dirs.
        write(
            root,
            "usr/lib/systemd/system/wso2am.service.d/10-limits.conf",
            "[Service]\nLimitNOFILE=1\nLimitNPROC=100\n",
        );
        write(
            root,
            "etc/systemd/system/wso2am.service.d/10-limits.conf",
            "[Service]\nLimitNPROC=8192\n",
        );
        write(
            root,
            "usr/lib/systemd/system/wso2am.service.d/20-reset.conf",
            "[Service]\nLimitNOFILE=\nEnvironment=\nEnvironment=A=1\n",
        );
        let (units, problems) = find_apim_units(root);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(units.len(), 1);
        let u = &units[0];
        assert_eq!(u.file.display, "etc/systemd/system/wso2am.service");
        let drop_ins: Vec<&str> = u.drop_ins.iter().map(|f| f.display.as_str()).collect();
        assert_eq!(
            drop_ins,
            [
                "etc/systemd/system/wso2am.service.d/10-limits.conf",
                "usr/lib/systemd/system/wso2am.service.d/20-reset.conf"
            ]
        );
        assert_eq!(u.limit_nproc.as_ref().unwrap().value, "8192");
        // The empty assignment reset the unit's 4096 back to the manager default.
        assert!(u.limit_nofile.is_none());
        assert_eq!(u.environment.keys().collect::<Vec<_>>(), ["A"]);
        assert_eq!(
            u.exec_start.as_ref().unwrap().value,
            "/opt/wso2am-4.2.0/bin/api-manager.sh"
        );
    }

    #[test]
    fn found_by_exec_start_others_ignored_masked_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            root,
            "lib/systemd/system/gateway.service",
            "[Service]\nExecStart=/opt/am/bin/api-manager.sh -Dprofile=gateway-worker\n",
        );
        write(
            root,
            "usr/lib/systemd/system/nginx.service",
            "[Service]\nExecStart=/usr/sbin/nginx\nbroken line\n",
        );
        // A reset then a new ExecStart in a drop-in decides detection.
        write(
            root,
            "etc/systemd/system/keymanager.service",
            "[Service]\nExecStart=/bin/true\n",
        );
        write(
            root,
            "etc/systemd/system/keymanager.service.d/x.conf",
            "[Service]\nExecStart=\nExecStart=/opt/am/bin/wso2server.sh\n",
        );
        write(
            root,
            "usr/lib/systemd/system/apim-old.service",
            "[Service]\nExecStart=/x\n",
        );
        std::fs::create_dir_all(root.join("etc/systemd/system")).unwrap();
        std::os::unix::fs::symlink(
            "/dev/null",
            root.join("etc/systemd/system/apim-old.service"),
        )
        .unwrap();
        let (units, problems) = find_apim_units(root);
        // nginx's broken line is not ours to report.
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(names(&units), ["gateway.service", "keymanager.service"]);
        assert_eq!(
            units[1].exec_start.as_ref().unwrap().value,
            "/opt/am/bin/wso2server.sh"
        );
    }

    #[test]
    fn malformed_lines_are_located_and_parsing_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            root,
            "etc/systemd/system/wso2am.service",
            "# comment\n[Service]\n  LimitNOFILE 4096\nUser=wso2\n[Install\nLimitNPROC=1\n",
        );
        write(
            root,
            "etc/systemd/system/wso2am.service.d/bad.conf",
            "LimitNOFILE=65535\n",
        );
        let (units, problems) = find_apim_units(root);
        assert_eq!(units.len(), 1);
        assert_eq!(units[0].user.as_ref().unwrap().value, "wso2");
        assert!(units[0].limit_nofile.is_none());
        // Nothing after the broken header applies, and it is not reported line by line.
        assert!(units[0].limit_nproc.is_none());
        let got: Vec<(String, &str)> = problems
            .iter()
            .map(|p| {
                assert_eq!(p.kind, ProblemKind::Unparseable);
                (p.location.to_string(), p.message.as_str())
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    "etc/systemd/system/wso2am.service:3:3".to_string(),
                    "expected `=` after key"
                ),
                (
                    "etc/systemd/system/wso2am.service:5:1".to_string(),
                    "unterminated section header, expected `]`; systemd ignores the rest of the file"
                ),
                (
                    "etc/systemd/system/wso2am.service.d/bad.conf:1:1".to_string(),
                    "assignment outside of a section is ignored"
                ),
            ]
        );
    }

    #[test]
    fn continuations_comments_crlf_and_quoting() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let text = "[Service]\r\n; c\r\nExecStart=/opt/wso2am/bin/java \\\r\n  # skipped\r\n  \
            org.wso2.carbon.bootstrap.Bootstrap\r\n\
            Environment=JVM_MEM_OPTS=\"-Xmx4g -Xms4g\" EMPTY= 'Q=a b' E=x\\sy\r\n\
            LimitNPROC = infinity \r\n";
        write(root, "etc/systemd/system/am.service", text);
        let (units, problems) = find_apim_units(root);
        assert!(problems.is_empty(), "{problems:?}");
        let u = &units[0];
        let exec = u.exec_start.as_ref().unwrap();
        assert_eq!(
            exec.value,
            "/opt/wso2am/bin/java  org.wso2.carbon.bootstrap.Bootstrap"
        );
        assert!(span_text(exec).starts_with("/opt/wso2am/bin/java \\\r\n"));
        assert!(span_text(exec).ends_with("Bootstrap"));
        assert_eq!(exec.location.line, Some(3));
        let env = &u.environment;
        assert_eq!(span_text(&env["JVM_MEM_OPTS"]), "-Xmx4g -Xms4g");
        assert_eq!(env["EMPTY"].value, "");
        assert_eq!(span_text(&env["EMPTY"]), "");
        assert_eq!(span_text(&env["Q"]), "a b");
        assert_eq!(env["E"].value, "x y");
        assert_eq!(span_text(&env["E"]), "x\\sy");
        let nproc = u.limit_nproc.as_ref().unwrap();
        assert_eq!(span_text(nproc), "infinity");
    }

    #[test]
    fn invalid_environment_word_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            root,
            "etc/systemd/system/wso2.service",
            "[Service]\nEnvironment=GOOD=1 bad\n",
        );
        let (units, problems) = find_apim_units(root);
        assert_eq!(units[0].environment.len(), 1);
        assert_eq!(problems.len(), 1);
        assert_eq!(
            problems[0].location.to_string(),
            "etc/systemd/system/wso2.service:2:20"
        );
    }

    #[test]
    fn parse_limit_forms() {
        use LimitValue::{Unlimited, Value};
        assert_eq!(parse_limit("65535"), Some((Value(65535), Value(65535))));
        assert_eq!(
            parse_limit("1024:524288"),
            Some((Value(1024), Value(524288)))
        );
        assert_eq!(parse_limit(" infinity "), Some((Unlimited, Unlimited)));
        assert_eq!(
            parse_limit("infinity:infinity"),
            Some((Unlimited, Unlimited))
        );
        assert_eq!(parse_limit("4096:infinity"), Some((Value(4096), Unlimited)));
        assert_eq!(parse_limit("infinity:4096"), None);
        assert_eq!(parse_limit("8192:4096"), None);
        assert_eq!(parse_limit("64K"), None);
        assert_eq!(parse_limit("unlimited"), None);
        assert_eq!(parse_limit(""), None);
        assert_eq!(parse_limit("1:2:3"), None);
        assert_eq!(parse_limit("-1"), None);
    }

    #[test]
    fn default_limit_nofile_from_system_conf_and_drop_ins() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        assert!(default_limit_nofile(root).is_none());
        write(
            root,
            "etc/systemd/system.conf",
            "[Manager]\n#DefaultLimitNOFILE=1024:524288\nDefaultLimitNOFILE=8192:524288\n",
        );
        let d = default_limit_nofile(root).unwrap();
        assert_eq!(d.value, "8192:524288");
        assert_eq!(span_text(&d), "8192:524288");
        assert_eq!(d.location.line, Some(3));
        write(
            root,
            "usr/lib/systemd/system.conf.d/20-vendor.conf",
            "[Manager]\nDefaultLimitNOFILE=1:2\n",
        );
        write(
            root,
            "etc/systemd/system.conf.d/10-site.conf",
            "[Manager]\nDefaultLimitNOFILE=65536\n",
        );
        assert_eq!(default_limit_nofile(root).unwrap().value, "1:2");
        write(
            root,
            "etc/systemd/system.conf.d/30-reset.conf",
            "[Manager]\nDefaultLimitNOFILE=\n",
        );
        assert!(default_limit_nofile(root).is_none());
        assert_eq!(SYSTEMD_DEFAULT_NOFILE, (1024, 524288));
    }

    #[test]
    fn links_in_unit_directories_resolve_inside_the_root() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "opt/units/wso2am.service", WSO2AM);
        write(
            root,
            "opt/units/drop-ins/10-limits.conf",
            "[Service]\nLimitNOFILE=777\n",
        );
        write(
            root,
            "etc/systemd/system/plain.service",
            "[Service]\nExecStart=/usr/bin/plain\n",
        );
        let etc = root.join("etc/systemd/system");
        // Absolute targets are taken inside the root, for the unit and its drop-in directory.
        symlink("/opt/units/wso2am.service", etc.join("wso2am.service")).unwrap();
        symlink("/opt/units/drop-ins", etc.join("wso2am.service.d")).unwrap();
        // A link that climbs out of the root stays in it, where there is no such file.
        symlink(
            "../../../../../../../../etc/hostname",
            etc.join("away.service"),
        )
        .unwrap();
        symlink("/nowhere", etc.join("wso2-dangling.service")).unwrap();
        std::fs::create_dir_all(root.join("usr/lib/systemd/system/wso2-dir.service")).unwrap();
        // A unit with a hint only in a drop-in reached through a relative link.
        write(
            root,
            "usr/lib/systemd/system/km.service",
            "[Service]\nExecStart=/bin/true\n",
        );
        write(
            root,
            "opt/units/km.conf",
            "[Service]\nExecStart=\nExecStart=/opt/am/bin/api-manager.sh\n",
        );
        std::fs::create_dir_all(root.join("run/systemd/system/km.service.d")).unwrap();
        symlink(
            "../../../../opt/units/km.conf",
            root.join("run/systemd/system/km.service.d/x.conf"),
        )
        .unwrap();
        let (units, problems) = find_apim_units(root);
        assert_eq!(names(&units), ["km.service", "wso2am.service"]);
        let wso2am = &units[1];
        assert_eq!(wso2am.file.path, root.join("opt/units/wso2am.service"));
        assert_eq!(wso2am.file.display, "etc/systemd/system/wso2am.service");
        assert_eq!(wso2am.limit_nofile.as_ref().unwrap().value, "777");
        assert_eq!(
            wso2am.drop_ins[0].display,
            "etc/systemd/system/wso2am.service.d/10-limits.conf"
        );
        assert_eq!(
            units[0].exec_start.as_ref().unwrap().value,
            "/opt/am/bin/api-manager.sh"
        );
        let got: Vec<String> = problems
            .iter()
            .map(|p| format!("{} {}", p.location, p.message))
            .collect();
        // The dangling link resolves to a path that is simply absent: nothing to report.
        assert_eq!(
            got,
            ["usr/lib/systemd/system/wso2-dir.service is a directory, expected a file"]
        );
    }

    #[test]
    fn a_hint_split_by_a_continuation_is_no_hint() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            root,
            "etc/systemd/system/a.service",
            "[Service]\nExecStart=/opt/am/bin/api-\\\n  manager.sh\n",
        );
        let (units, problems) = find_apim_units(root);
        assert!(units.is_empty() && problems.is_empty());
    }

    #[test]
    fn empty_root_finds_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (units, problems) = find_apim_units(dir.path());
        assert!(units.is_empty() && problems.is_empty());
    }
}
