//! Plans the fixes of an audit onto files: where each change takes effect, and the new bytes.
//!
//! - sysctl: the line that wins at boot when it is in a file of ours (`etc/`), else a drop-in
//!   in `etc/sysctl.d` that sorts last; lines for keys the kernel lacks are commented out with
//!   a dated note.
//! - limits: the winning line when it is the API-M user's own, else a drop-in for that user.
//! - API-M: `deployment.toml` on 3.x/4.x, the XML/properties file on 1.x/2.x, the start-up
//!   script for JVM options.
//!
//! Pure: reads nothing, writes nothing; `write` does that. A fix that cannot be realised is
//! reported as skipped with the reason, never half-done. It works from each fix's typed
//! [`Change`]: it never looks at a finding's code or parses its subject.

use super::{jvm as jvm_edit, line, toml as toml_edit, xml as xml_edit};
use crate::apim::catalog;
use crate::apim::{ApimModel, deployment_toml, properties, xml};
use crate::diag::{Change, Code, Effect, Finding, JvmValue, Subject, Value, ValueKind};
use crate::model::{Location, SourceFile, Span};
use crate::outcome::{AuditReport, Sources};
use crate::redact::is_secret_key;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Clone, Debug)]
pub struct PlannedChange {
    pub code: Code,
    pub subject: String,
    /// What changes, e.g. "set `net.core.somaxconn` = 4096".
    pub summary: String,
    pub effect: Effect,
    /// For `--live`: the kernel parameter and value this change sets.
    pub live: Option<(String, String)>,
}

#[derive(Clone, Debug)]
pub struct PlannedFile {
    /// Where the change lands, as the audit named it (`write` resolves symlinks).
    pub path: PathBuf,
    pub display: String,
    /// The real file's path relative to the root (absolute when outside it): what a diff names,
    /// since `patch` edits real files, not links.
    pub real: String,
    /// `None` for a file this plan creates (a drop-in).
    pub before: Option<String>,
    pub after: String,
    pub changes: Vec<PlannedChange>,
    /// Secret values in this file, masked wherever the plan is shown.
    pub secrets: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct Skipped {
    pub code: Code,
    pub subject: String,
    pub reason: String,
}

#[derive(Clone, Debug, Default)]
pub struct Plan {
    /// Only files whose bytes change.
    pub files: Vec<PlannedFile>,
    pub skipped: Vec<Skipped>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    pub fn effects(&self) -> BTreeSet<Effect> {
        self.files
            .iter()
            .flat_map(|f| f.changes.iter().map(|c| c.effect))
            .collect()
    }

    pub fn changes(&self) -> usize {
        self.files.iter().map(|f| f.changes.len()).sum()
    }
}

pub struct PlanContext<'a> {
    pub root: &'a Path,
    /// `YYYY-MM-DD` for the notes on commented-out lines.
    pub today: &'a str,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Kind {
    Sysctl,
    Limits,
    /// `etc/systemd/system/<unit>.d/apim-tune.conf`.
    Unit,
    /// A file a unit's `EnvironmentFile=` names.
    EnvFile,
    Toml,
    Xml(String),
    Properties(String),
    Script,
}

/// A line-file operation, applied from the end of the file backwards so earlier offsets hold.
#[derive(Clone, Debug)]
enum LineOp {
    Splice { span: Span, value: String },
    CommentOut { line_span: Span, note: String },
    Append { line: String },
}

impl LineOp {
    fn anchor(&self) -> usize {
        match self {
            LineOp::Splice { span, .. } => span.start,
            LineOp::CommentOut { line_span, .. } => line_span.start,
            LineOp::Append { .. } => usize::MAX,
        }
    }
}

struct Work {
    path: PathBuf,
    display: String,
    kind: Kind,
    before: Option<String>,
    text: String,
    line_ops: Vec<LineOp>,
    changes: Vec<PlannedChange>,
    /// Key → index in `line_ops` of the line appended for it (sysctl drop-ins), so each fix
    /// finds its key's line without a scan.
    appended: std::collections::HashMap<String, usize>,
    /// The spacing around `=` new sysctl lines copy from the file, worked out once.
    sysctl_spacing: Option<line::SysctlSpacing>,
}

pub fn plan(report: &AuditReport, sources: &Sources, cx: &PlanContext) -> Plan {
    let mut planner = Planner {
        sources,
        cx,
        work: BTreeMap::new(),
        env_values: BTreeMap::new(),
        planned_xmx: None,
        skipped: Vec::new(),
        sysctl_lines: std::cell::OnceCell::new(),
        sysctl_texts: std::cell::RefCell::new(BTreeMap::new()),
    };
    for f in report.findings.iter().filter(|f| f.fix.is_some()) {
        if let Err(reason) = planner.add(f) {
            planner.skipped.push(Skipped {
                code: f.code,
                subject: f.subject.to_string(),
                reason,
            });
        }
    }
    planner.finish()
}

struct Planner<'a> {
    sources: &'a Sources,
    cx: &'a PlanContext<'a>,
    work: BTreeMap<String, Work>,
    /// (file, variable) → the environment variable's value as planned so far: several fixes
    /// edit one `JVM_MEM_OPTS`.
    env_values: BTreeMap<(String, String), String>,
    /// The `-Xmx` an earlier fix of this plan writes, wherever it writes it: an `-Xms` that
    /// follows `-Xmx` takes it even from another file (the unit's `JAVA_OPTS` beside the
    /// script's `JVM_MEM_OPTS`).
    planned_xmx: Option<String>,
    skipped: Vec<Skipped>,
    /// (file, line) → span of every sysctl line the model holds, built on first use: a file of
    /// many fixable lines would otherwise be searched once per fix.
    sysctl_lines: std::cell::OnceCell<std::collections::HashMap<(String, u32), (String, Span)>>,
    /// Sysctl files by name, as the audit read them or, for one it set aside, read once here.
    sysctl_texts: std::cell::RefCell<BTreeMap<String, Option<Arc<SourceFile>>>>,
}

impl Planner<'_> {
    fn add(&mut self, f: &Finding) -> Result<(), String> {
        let Some(fix) = &f.fix else { return Ok(()) };
        // A fix the rule left to a person is reported as skipped, with what to do.
        if !fix.applies() {
            return Err(match &fix.change {
                Change::RemoveApim { .. } => {
                    "removing an API-M setting is not automated; remove it by hand".into()
                }
                Change::RemoveJvm { flag, .. } => {
                    format!("`{flag}` is on the script's own java command line; remove it by hand")
                }
                _ => "left to a person; --apply does not make this change".into(),
            });
        }
        match &fix.change {
            Change::SetSysctl {
                key,
                value,
                line,
                drop_in,
            } => match line {
                Some(line) if self.is_ours(&line.file) => self.splice_sysctl(f, key, value, line),
                _ => self.sysctl_drop_in(f, key, value, drop_in, None),
            },
            Change::MoveSysctl {
                key,
                value,
                from,
                drop_in,
                also,
            } => self.sysctl_drop_in(f, key, value, drop_in, Some((from, also))),
            Change::DisableSysctl {
                key,
                line,
                because,
                also,
            } => self.disable_sysctl(f, key, line, because, also),
            Change::SetLimit {
                user,
                item,
                kind,
                value,
                line,
                drop_in,
            } => self.limits(f, user, item, kind, value, line.as_ref(), drop_in),
            Change::SetUnitLimit {
                drop_in,
                directive,
                value,
            } => self.unit(f, drop_in, directive, value),
            Change::SetApim { file, .. }
            | Change::RemoveApim { file, .. }
            | Change::SetJvm { file, .. }
            | Change::RemoveJvm { file, .. } => self.apim(f, file, &fix.change),
            Change::SetEnvJvm { .. } => self.env_jvm(f, &fix.change),
        }
    }

    /// The work item for a file the audit read (or a new one under the root).
    fn work_for(&mut self, display: &str, kind: Kind) -> Result<&mut Work, String> {
        if !self.work.contains_key(display) {
            let existing = self.source_file(display, &kind);
            let (path, before) = match &existing {
                Some(file) => (file.path.clone(), Some(file.text.clone())),
                None if matches!(kind, Kind::Sysctl | Kind::Limits | Kind::Unit) => {
                    (self.cx.root.join(display), None)
                }
                None => return Err(format!("`{display}` was not read by the audit")),
            };
            self.work.insert(
                display.to_string(),
                Work {
                    path,
                    display: display.to_string(),
                    kind,
                    text: before.clone().unwrap_or_default(),
                    before,
                    line_ops: Vec::new(),
                    changes: Vec::new(),
                    appended: std::collections::HashMap::new(),
                    sysctl_spacing: None,
                },
            );
        }
        self.work
            .get_mut(display)
            .ok_or_else(|| format!("`{display}` vanished from the plan"))
    }

    fn source_file(&self, display: &str, kind: &Kind) -> Option<Arc<SourceFile>> {
        let apim = self.sources.apim.as_ref();
        match kind {
            // A file the model set aside (sysctl.conf where boot does not read it) is still a
            // file on disk: read it rather than plan it as new.
            Kind::Sysctl => self
                .sources
                .sysctl
                .files
                .iter()
                .find(|f| f.display == display)
                .cloned()
                .or_else(|| match crate::source::read_under(self.cx.root, display) {
                    crate::source::Read::File(f) => Some(f),
                    _ => None,
                }),
            Kind::Limits => self
                .sources
                .limits
                .files
                .iter()
                .find(|f| f.display == display)
                .cloned(),
            // Only apim-tune's own drop-in is ever written; it may exist from an earlier apply.
            // An environment file is read again as the audit read it.
            Kind::Unit | Kind::EnvFile => match crate::source::read_under(self.cx.root, display) {
                crate::source::Read::File(f) => Some(f),
                _ => None,
            },
            Kind::Toml => apim?.toml.as_ref().map(|d| d.file.clone()),
            Kind::Xml(name) => apim?.xml_doc(name).map(|d| d.file.clone()),
            Kind::Properties(name) => apim?.properties_doc(name).map(|p| p.file.clone()),
            Kind::Script => apim?.jvm.as_ref().map(|j| j.file.clone()),
        }
    }

    // --- sysctl -------------------------------------------------------------------------

    /// Replace the value on the line that wins at boot (a file of the administrator's).
    fn splice_sysctl(
        &mut self,
        f: &Finding,
        key: &str,
        value: &str,
        line: &Location,
    ) -> Result<(), String> {
        let span = line.span.ok_or("the value has no byte span")?;
        let w = self.work_for(&line.file, Kind::Sysctl)?;
        w.line_ops.push(LineOp::Splice {
            span,
            value: value.to_string(),
        });
        w.changes.push(change(
            f,
            format!("set `{key}` = {value}"),
            Effect::SysctlReload,
            key,
            value,
        ));
        Ok(())
    }

    /// Set `key` in apim-tune's drop-in: not persisted, set in a vendor file (usr/lib, run), or
    /// moved out of a file boot does not read (`moved_from`). A drop-in of ours that sorts last
    /// wins at boot and survives package updates.
    fn sysctl_drop_in(
        &mut self,
        f: &Finding,
        key: &str,
        value: &str,
        drop_in: &str,
        moved_from: Option<(&Location, &[Location])>,
    ) -> Result<(), String> {
        let effect = Effect::SysctlReload;
        let also = moved_from.map_or(&[][..], |(_, also)| also);
        let moved_from = moved_from.and_then(|(loc, _)| self.line_span_at(loc));
        let w = self.work_for(drop_in, Kind::Sysctl)?;
        let spacing = *w
            .sysctl_spacing
            .get_or_insert_with(|| line::sysctl_spacing(&w.text));
        let line = line::sysctl_line_spaced(spacing, key, value);
        // One line per key in the drop-in: a recommended value beats a moved one.
        match w.appended.get(key) {
            Some(_) if moved_from.is_some() => {}
            Some(&i) => w.line_ops[i] = LineOp::Append { line },
            None => {
                w.appended.insert(key.to_string(), w.line_ops.len());
                w.line_ops.push(LineOp::Append { line });
            }
        }
        w.changes.push(change(
            f,
            format!("set `{key}` = {value} in the drop-in"),
            effect,
            key,
            value,
        ));
        if let Some((display, line_span)) = moved_from {
            let note = format!(
                "apim-tune {}: moved to {drop_in}, this file is not read at boot",
                self.cx.today
            );
            let earlier = self.earlier_lines(also, &note);
            let summary = format!(
                "comment out `{key}` (moved to the drop-in){}",
                and_more(&earlier)
            );
            let w = self.work_for(&display, Kind::Sysctl)?;
            w.line_ops.push(LineOp::CommentOut { line_span, note });
            w.changes.push(change_plain(f, summary, effect));
            self.push_ops(earlier)?;
        }
        Ok(())
    }

    /// Comment-out operations for `also`, earlier lines of a key, each with `note` above it, by
    /// file. A line no longer where the audit saw it, or in a file that is not the
    /// administrator's, is left alone.
    fn earlier_lines(&self, also: &[Location], note: &str) -> Vec<(String, LineOp)> {
        also.iter()
            .filter(|l| self.is_ours(&l.file))
            .filter_map(|l| self.line_span_at(l))
            .map(|(display, line_span)| {
                let op = LineOp::CommentOut {
                    line_span,
                    note: note.to_string(),
                };
                (display, op)
            })
            .collect()
    }

    /// Adds line operations to the sysctl files they are for.
    fn push_ops(&mut self, ops: Vec<(String, LineOp)>) -> Result<(), String> {
        for (display, op) in ops {
            self.work_for(&display, Kind::Sysctl)?.line_ops.push(op);
        }
        Ok(())
    }

    /// Comment out a sysctl line, with a dated note that says why.
    fn disable_sysctl(
        &mut self,
        f: &Finding,
        key: &str,
        location: &Location,
        because: &str,
        also: &[Location],
    ) -> Result<(), String> {
        let (display, line_span) = self
            .sysctl_line_at(key, location)
            .or_else(|| self.line_span_at(location))
            .ok_or("the line is no longer in the sysctl model")?;
        // The rules never ask for this (they override from the drop-in instead); a file in
        // /run is lost at reboot and one in /usr/lib belongs to a package.
        if !self.is_ours(&display) {
            return Err(format!(
                "`{display}` is not a file of the administrator's (under /etc); apim-tune does not edit it"
            ));
        }
        let note = format!("apim-tune {}: disabled, `{key}` {because}", self.cx.today);
        let earlier = self.earlier_lines(also, &note);
        let summary = format!("comment out `{key}` ({because}){}", and_more(&earlier));
        let w = self.work_for(&display, Kind::Sysctl)?;
        w.line_ops.push(LineOp::CommentOut { line_span, note });
        w.changes
            .push(change_plain(f, summary, Effect::SysctlReload));
        self.push_ops(earlier)
    }

    /// Whether the sysctl file named `display` is the administrator's to edit
    /// ([`crate::host::sysctl::is_admin_file`]); a file the audit did not read, by its name.
    fn is_ours(&self, display: &str) -> bool {
        match self
            .sources
            .sysctl
            .files
            .iter()
            .find(|f| f.display == display)
        {
            Some(f) => crate::host::sysctl::is_admin_file(self.cx.root, f),
            None => display.starts_with("etc/"),
        }
    }

    /// The span of line `loc.line` in the sysctl file `loc.file` (without its line ending).
    fn line_span_at(&self, loc: &Location) -> Option<(String, Span)> {
        let file = self.sysctl_text(&loc.file)?;
        let start = file.line_start(loc.line?)?;
        let rest = &file.text[start..];
        let len = rest.find('\n').unwrap_or(rest.len());
        let len = if rest[..len].ends_with('\r') {
            len - 1
        } else {
            len
        };
        Some((loc.file.clone(), Span::new(start, start + len)))
    }

    /// The sysctl file `display`: one the audit read (also one it set aside as not read at
    /// boot), else read from under the root once per plan.
    fn sysctl_text(&self, display: &str) -> Option<Arc<SourceFile>> {
        let sysctl = &self.sources.sysctl;
        let known = sysctl
            .files
            .iter()
            .chain(sysctl.unread.first().map(|l| &l.file))
            .find(|f| f.display == display);
        if let Some(file) = known {
            return Some(Arc::clone(file));
        }
        self.sysctl_texts
            .borrow_mut()
            .entry(display.to_string())
            .or_insert_with(|| match crate::source::read_under(self.cx.root, display) {
                crate::source::Read::File(f) => Some(f),
                _ => None,
            })
            .clone()
    }

    /// The line of `key` at `loc`, read at boot or set aside as not read (sysctl.conf without
    /// its link).
    fn sysctl_line_at(&self, key: &str, loc: &Location) -> Option<(String, Span)> {
        let index = self.sysctl_lines.get_or_init(|| {
            let sysctl = &self.sources.sysctl;
            sysctl
                .entries
                .values()
                .flat_map(|e| e.shadowed.iter().chain(e.winner.as_ref()))
                .chain(sysctl.unread.iter())
                .map(|l| {
                    (
                        (l.file.display.clone(), l.line),
                        (l.key.clone(), l.line_span),
                    )
                })
                .collect()
        });
        let (found, span) = index.get(&(loc.file.clone(), loc.line?))?;
        // The index holds every key's lines; the one asked for must be of this key.
        (found == key).then(|| (loc.file.clone(), *span))
    }

    // --- systemd units ----------------------------------------------------------------

    fn unit(&mut self, f: &Finding, drop_in: &str, key: &str, value: &str) -> Result<(), String> {
        let w = self.work_for(drop_in, Kind::Unit)?;
        w.line_ops.push(LineOp::Append {
            line: format!("{key}={value}"),
        });
        w.changes.push(change_plain(
            f,
            format!("set `{key}={value}` in the drop-in"),
            Effect::RestartService,
        ));
        Ok(())
    }

    /// A JVM option in a variable of the service's environment: the environment file's
    /// assignment gets the whole new value, else apim-tune's unit drop-in sets the variable.
    fn env_jvm(&mut self, f: &Finding, change: &Change) -> Result<(), String> {
        let Change::SetEnvJvm {
            file,
            env_file,
            var,
            current,
            flag,
            value,
            at,
        } = change
        else {
            return Err("not an environment change".into());
        };
        // A unit's value with a specifier systemd resolves on the machine (`%t`, `%h`) cannot be
        // rewritten faithfully: apim-tune reads it as text and could not tell it from a `%%`.
        if !*env_file
            && let crate::source::Read::File(unit) =
                crate::source::read_under(self.cx.root, &at.file)
            && let Some(span) = at.span
            && let Some(raw) = unit.text.get(span.start..span.end)
            && let Err(c) = crate::host::specifiers::resolve(raw, "unit.service")
        {
            return Err(format!(
                "`{var}` holds the systemd specifier `%{c}`, which apim-tune does not resolve; change it by hand"
            ));
        }
        let key = (file.clone(), var.clone());
        let now = self
            .env_values
            .get(&key)
            .cloned()
            .unwrap_or_else(|| current.clone());
        let option_value = |name: &str, text: &str| {
            crate::apim::jvm::options_in_value(text, var)
                .into_iter()
                .rev()
                .find(|o| o.name == name)
                .and_then(|o| o.value)
        };
        let (new, summary) = match value {
            None => (
                jvm_edit::remove_in_value(&now, var, flag),
                format!("remove `{flag}` from `{var}`"),
            ),
            Some(v) => {
                let v = match v {
                    JvmValue::Literal(x) => x.clone(),
                    JvmValue::SameAs {
                        flag: other,
                        now: was,
                    } => self
                        .planned_xmx
                        .clone()
                        .filter(|_| other == "-Xmx")
                        .or_else(|| option_value(other, &now))
                        .unwrap_or_else(|| was.clone()),
                };
                if flag == "-Xmx" {
                    self.planned_xmx = Some(v.clone());
                }
                let mut new = jvm_edit::set_in_value(&now, var, flag, &v);
                let mut summary = format!("set `{}` in `{var}`", jvm_edit::render(flag, &v));
                // A heap whose -Xms equalled -Xmx stays fixed-size: raise both together.
                let xms = option_value("-Xms", &now);
                if flag == "-Xmx" && xms.is_some() && xms == option_value("-Xmx", &now) {
                    new = jvm_edit::set_in_value(&new, var, "-Xms", &v);
                    summary.push_str(&format!(
                        " and `{}` to keep them equal",
                        jvm_edit::render("-Xms", &v)
                    ));
                }
                (new, summary)
            }
        };
        self.env_values.insert(key, new.clone());
        // In place in a unit file only inside quotes (`Environment="VAR=…"`): spliced into an
        // unquoted word, a value with a blank would split into two assignments.
        let mut quoted_in_unit = |span: Span| -> Result<bool, String> {
            let w = self.work_for(file, Kind::Unit)?;
            Ok(w.text.as_bytes().get(span.end) == Some(&b'"'))
        };
        let in_place = *env_file
            || (at.file == *file
                && match at.span {
                    Some(span) => quoted_in_unit(span)? || !new.contains([' ', '\t']),
                    None => true,
                });
        let (kind, op) = match (in_place, at.span) {
            (true, Some(span)) => {
                let written = if *env_file {
                    crate::host::env_file::quote(&new)
                } else {
                    unit_escape(&new)
                }
                .ok_or("the new value would need a line break")?;
                let kind = if *env_file { Kind::EnvFile } else { Kind::Unit };
                (
                    kind,
                    LineOp::Splice {
                        span,
                        value: written,
                    },
                )
            }
            (true, None) => return Err(format!("no place for `{var}` in `{file}`")),
            (false, _) => {
                let assignment = unit_escape(&format!("{var}={new}"))
                    .ok_or("the new value would need a line break")?;
                (
                    Kind::Unit,
                    LineOp::Append {
                        line: format!("Environment=\"{assignment}\""),
                    },
                )
            }
        };
        let w = self.work_for(file, kind)?;
        // One operation per variable: a later fix to the same variable replaces the earlier.
        let prefix = format!("Environment=\"{}=", unit_escape(var).unwrap_or_default());
        w.line_ops.retain(|old| match (old, &op) {
            (LineOp::Splice { span: a, .. }, LineOp::Splice { span: b, .. }) => a != b,
            (LineOp::Append { line: a }, LineOp::Append { .. }) => !a.starts_with(&prefix),
            _ => true,
        });
        w.line_ops.push(op);
        w.changes.push(change_plain(
            f,
            format!("{summary} ({file})"),
            Effect::RestartService,
        ));
        Ok(())
    }

    // --- limits -------------------------------------------------------------------------

    #[expect(
        clippy::too_many_arguments,
        reason = "the fields of one Change::SetLimit"
    )]
    fn limits(
        &mut self,
        f: &Finding,
        user: &str,
        item: &str,
        kind: &str,
        value: &str,
        line: Option<&Location>,
        drop_in: &str,
    ) -> Result<(), String> {
        let effect = Effect::NewSessions;
        let summary = format!("set {kind} `{item}` for `{user}` = {value}");
        let Some(location) = line else {
            return self.limits_drop_in(f, drop_in, user, kind, item, value, summary);
        };
        let own_line = self.sources.limits.lines.iter().find(|l| {
            l.file.display == location.file && Some(l.line) == location.line && l.domain == user
        });
        let Some(l) = own_line else {
            // A `*` or group line also governs other users: give the API-M user a line of its
            // own instead, which beats them.
            return self.limits_drop_in(f, drop_in, user, kind, item, value, summary);
        };
        let (display, span) = (l.file.display.clone(), l.value_span);
        let w = self.work_for(&display, Kind::Limits)?;
        // A `-` line sets soft and hard at once: both fixes land on the same value, which must
        // satisfy both (the larger one).
        let merged = w.line_ops.iter_mut().find_map(|op| match op {
            LineOp::Splice { span: s, value: v } if *s == span => Some(v),
            _ => None,
        });
        match merged {
            Some(existing) => {
                if limit_rank(value) > limit_rank(existing) {
                    *existing = value.to_string();
                }
            }
            None => w.line_ops.push(LineOp::Splice {
                span,
                value: value.to_string(),
            }),
        }
        w.changes.push(change_plain(f, summary, effect));
        Ok(())
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "one limits.d line and its summary"
    )]
    fn limits_drop_in(
        &mut self,
        f: &Finding,
        drop_in: &str,
        user: &str,
        kind: &str,
        item: &str,
        value: &str,
        summary: String,
    ) -> Result<(), String> {
        let w = self.work_for(drop_in, Kind::Limits)?;
        let line = line::limits_line(&w.text, user, kind, item, value);
        w.line_ops.push(LineOp::Append { line });
        w.changes
            .push(change_plain(f, summary, Effect::NewSessions));
        Ok(())
    }

    // --- API-M files and the start-up script ----------------------------------------------

    fn apim(&mut self, f: &Finding, file: &str, change: &Change) -> Result<(), String> {
        let apim = self
            .sources
            .apim
            .as_ref()
            .ok_or("no API-M home was audited")?;
        let kind = apim_kind(apim, file)
            .ok_or_else(|| format!("`{file}` is not an API-M file apim-tune edits"))?;
        let effect = Effect::RestartApim;
        let planned_xmx = self.planned_xmx.clone();
        let mut wrote_xmx = None;
        let w = self.work_for(file, kind.clone())?;
        let current = SourceFile::new(w.path.clone(), w.display.clone(), w.text.clone());
        let (new, summary) = match (&kind, change) {
            // Earlier edits to the same script move the bytes: find options by name in the
            // script as planned so far, not by the span the audit saw.
            (Kind::Script, Change::RemoveJvm { flag, .. }) => {
                let opts = parse_script(current)?;
                let span = unguarded(&opts, flag).ok_or("the option is no longer there")?;
                (
                    jvm_edit::remove_flag(&opts, span)?,
                    format!("remove `{flag}`"),
                )
            }
            (Kind::Script, Change::SetJvm { flag, value, .. }) => {
                let opts = parse_script(current)?;
                let value = match value {
                    JvmValue::Literal(v) => v.clone(),
                    // `-Xms` follows `-Xmx` as planned, which an earlier fix may have raised.
                    JvmValue::SameAs { flag: other, now } => planned_xmx
                        .filter(|_| other == "-Xmx")
                        .or_else(|| opts.get(other).and_then(|x| x.value.clone()))
                        .unwrap_or_else(|| now.clone()),
                };
                if flag == "-Xmx" {
                    wrote_xmx = Some(value.clone());
                }
                let mut new = jvm_edit::set_flag(&opts, flag, &value)?;
                let mut summary = format!("set `{}`", jvm_edit::render(flag, &value));
                // A heap whose -Xms equalled -Xmx stays fixed-size: raise both together.
                let paired = flag == "-Xmx"
                    && opts.get("-Xms").and_then(|x| x.value.as_deref())
                        == opts.get("-Xmx").and_then(|x| x.value.as_deref());
                if paired {
                    let raised = parse_script(SourceFile::new(
                        w.path.clone(),
                        w.display.clone(),
                        new.clone(),
                    ))?;
                    new = jvm_edit::set_flag(&raised, "-Xms", &value)?;
                    summary.push_str(&format!(
                        " and `{}` to keep them equal",
                        jvm_edit::render("-Xms", &value)
                    ));
                }
                (new, summary)
            }
            (_, Change::RemoveApim { .. }) => {
                return Err("removing an API-M setting is not automated; remove it by hand".into());
            }
            (Kind::Toml, Change::SetApim { key, value, .. }) => {
                let doc = deployment_toml::parse(current).map_err(|p| p.message)?;
                (
                    toml_edit::set(&doc, key, &value.text, toml_kind(value))?,
                    format!("set `{key}` = {}", value.text),
                )
            }
            (Kind::Xml(_), Change::SetApim { key, value, .. }) => {
                let doc = xml::parse(current).map_err(|p| p.message)?;
                let path = xml::XPath::parse(key)?;
                (
                    xml_edit::set(&doc, &path, &value.text)?,
                    format!("set `{}` = {}", Subject::short_key(key), value.text),
                )
            }
            (Kind::Properties(_), Change::SetApim { key, value, .. }) => {
                let (props, problems) = properties::parse(current);
                if let Some(p) = problems.first() {
                    return Err(p.message.clone());
                }
                (
                    line::set_property(&props, key, &value.text),
                    format!("set `{key}` = {}", value.text),
                )
            }
            (Kind::Script, _) => return Err("not a JVM option".into()),
            (_, Change::SetJvm { .. } | Change::RemoveJvm { .. }) => {
                return Err("not the start-up script".into());
            }
            (Kind::Sysctl | Kind::Limits | Kind::Unit, _) | (_, _) => {
                return Err("not an API-M file".into());
            }
        };
        w.text = new;
        w.changes.push(change_plain(f, summary, effect));
        if wrote_xmx.is_some() {
            self.planned_xmx = wrote_xmx;
        }
        Ok(())
    }

    fn finish(self) -> Plan {
        let mut files = Vec::new();
        let apim = self.sources.apim.as_ref();
        for (_, mut w) in self.work {
            if !w.line_ops.is_empty() {
                let mut ops = std::mem::take(&mut w.line_ops);
                // Back to front, so that of two operations on the same bytes the later one in
                // the file wins as before; appends in the order they were planned.
                ops.sort_by_key(|op| std::cmp::Reverse(op.anchor()));
                let (appends, others): (Vec<_>, Vec<_>) = ops
                    .into_iter()
                    .partition(|op| matches!(op, LineOp::Append { .. }));
                // Never splice twice into the same bytes: an overlapping operation (which the
                // planner should have merged) is dropped rather than garbling the line. Kept
                // spans only ever start earlier, so overlapping any kept one means overlapping
                // the last one kept: one comparison each keeps this linear.
                let mut kept: Vec<LineOp> = Vec::new();
                for op in others {
                    if !kept.last().is_some_and(|k| ops_overlap(k, &op)) {
                        kept.push(op);
                    }
                }
                let edits = kept
                    .into_iter()
                    .filter_map(|op| match op {
                        LineOp::Splice { span, value } => line::splice_edit(&w.text, span, &value),
                        LineOp::CommentOut { line_span, note } => {
                            line::comment_out_edit(&w.text, line_span, &note)
                        }
                        LineOp::Append { .. } => None,
                    })
                    .collect();
                let mut text = line::apply_edits(&w.text, edits);
                let appended: Vec<String> = appends
                    .into_iter()
                    .filter_map(|op| match op {
                        LineOp::Append { line } => Some(line),
                        _ => None,
                    })
                    .collect();
                if !appended.is_empty() {
                    text = if w.before.is_none() {
                        let mut lines = appended.clone();
                        if w.kind == Kind::Unit {
                            lines.insert(0, "[Service]".to_string());
                        }
                        line::new_file(&drop_in_header(&w.kind, self.cx.today), &lines)
                    } else {
                        line::append_lines(&text, &appended)
                    };
                }
                w.text = text;
            }
            if w.before.as_deref() == Some(w.text.as_str()) {
                continue;
            }
            let secrets = secrets_of(&w, apim);
            let real = std::fs::canonicalize(&w.path)
                .map(|p| crate::model::display_path(self.cx.root, &p))
                .unwrap_or_else(|_| crate::model::display_path(self.cx.root, &w.path));
            files.push(PlannedFile {
                path: w.path,
                real,
                display: w.display,
                before: w.before,
                after: w.text,
                changes: w.changes,
                secrets,
            });
        }
        Plan {
            files,
            skipped: self.skipped,
        }
    }
}

/// `value` as it may stand inside `Environment="…"`: `\\` and `"` escaped (systemd unescapes C
/// escapes there) and `%` doubled (a specifier otherwise). `None` for a line break.
fn unit_escape(value: &str) -> Option<String> {
    if value.contains(['\n', '\r']) {
        return None;
    }
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            c => out.push(c),
        }
    }
    // `%` doubled: the reader resolved every specifier in the values the plan rewrites.
    Some(crate::host::specifiers::escape(&out))
}

/// Orders limit values: numbers by size, `unlimited` above all.
fn limit_rank(v: &str) -> u128 {
    match v.trim() {
        "unlimited" | "infinity" | "-1" => u128::MAX,
        n => n.parse::<u128>().unwrap_or(0),
    }
}

/// ", and 3 earlier lines of it" for a change that comments out more than one line.
fn and_more<T>(earlier: &[T]) -> String {
    match earlier.len() {
        0 => String::new(),
        1 => ", and the earlier line of it".to_string(),
        n => format!(", and {n} earlier lines of it"),
    }
}

fn op_span(op: &LineOp) -> Option<Span> {
    match op {
        LineOp::Splice { span, .. } => Some(*span),
        LineOp::CommentOut { line_span, .. } => Some(*line_span),
        LineOp::Append { .. } => None,
    }
}

fn ops_overlap(a: &LineOp, b: &LineOp) -> bool {
    match (op_span(a), op_span(b)) {
        (Some(x), Some(y)) => x.start < y.end.max(y.start + 1) && y.start < x.end.max(x.start + 1),
        _ => false,
    }
}

fn change(f: &Finding, summary: String, effect: Effect, key: &str, value: &str) -> PlannedChange {
    PlannedChange {
        code: f.code,
        subject: f.subject.to_string(),
        summary,
        effect,
        live: Some((key.to_string(), value.to_string())),
    }
}

fn change_plain(f: &Finding, summary: String, effect: Effect) -> PlannedChange {
    PlannedChange {
        code: f.code,
        subject: f.subject.to_string(),
        summary,
        effect,
        live: None,
    }
}

fn drop_in_header(kind: &Kind, today: &str) -> Vec<&'static str> {
    // The header is static text; the date goes in the first line the caller formats.
    let _ = today;
    match kind {
        Kind::Sysctl => vec![
            "Written by apim-tune (`apim-tune audit --apply`): kernel parameters for WSO2 API Manager.",
            "It sorts after every other sysctl.d file so its values win at boot; undo with `apim-tune rollback`.",
        ],
        Kind::Unit => vec![
            "Written by apim-tune (`apim-tune audit --apply`): settings for the unit that runs WSO2 API Manager.",
            "Services ignore limits.conf. Run `systemctl daemon-reload` and restart the unit; undo with `apim-tune rollback`.",
        ],
        _ => vec![
            "Written by apim-tune (`apim-tune audit --apply`): limits for the user that runs WSO2 API Manager.",
            "Undo with `apim-tune rollback`.",
        ],
    }
}

fn apim_kind(apim: &ApimModel, display: &str) -> Option<Kind> {
    if apim
        .toml
        .as_ref()
        .is_some_and(|d| d.file.display == display)
    {
        return Some(Kind::Toml);
    }
    if apim.jvm.as_ref().is_some_and(|j| j.file.display == display) {
        return Some(Kind::Script);
    }
    for (name, _) in catalog::FILES {
        if apim
            .xml_doc(name)
            .is_some_and(|d| d.file.display == display)
        {
            return Some(Kind::Xml(name.to_string()));
        }
        if apim
            .properties_doc(name)
            .is_some_and(|p| p.file.display == display)
        {
            return Some(Kind::Properties(name.to_string()));
        }
    }
    None
}

fn parse_script(file: Arc<SourceFile>) -> Result<crate::apim::jvm::JvmOptions, String> {
    let (opts, problems) = crate::apim::jvm::parse(file);
    match problems.first() {
        Some(p) => Err(p.message.clone()),
        None => Ok(opts),
    }
}

/// The first occurrence of `name` that runs on a current JDK (not behind a java-version guard).
fn unguarded(opts: &crate::apim::jvm::JvmOptions, name: &str) -> Option<Span> {
    opts.flags
        .iter()
        .find(|f| f.name == name && f.guard.is_none())
        .map(|f| f.token_span)
}

/// How the TOML editor writes a value of this type.
fn toml_kind(value: &Value) -> toml_edit::ValueKind {
    match value.kind {
        ValueKind::Bool => toml_edit::ValueKind::Bool,
        ValueKind::Int => toml_edit::ValueKind::Int,
        ValueKind::Str => toml_edit::ValueKind::Str,
    }
}

/// Secret values in the original file (passwords, `*secret*` keys), to mask in any display.
fn secrets_of(w: &Work, apim: Option<&ApimModel>) -> Vec<String> {
    let mut out = Vec::new();
    let Some(apim) = apim else { return out };
    match &w.kind {
        Kind::Toml => {
            if let Some(doc) = &apim.toml {
                for e in doc.entries.values().filter(|e| e.secret) {
                    let raw = doc.file.slice(e.value_span);
                    out.push(raw.trim_matches(['"', '\'']).to_string());
                }
            }
        }
        Kind::Xml(name) => {
            if let Some(doc) = apim.xml_doc(name) {
                collect_xml_secrets(&doc.root, &mut out);
            }
        }
        Kind::Properties(name) => {
            if let Some(p) = apim.properties_doc(name) {
                out.extend(
                    p.entries
                        .iter()
                        .filter(|e| is_secret_key(&e.key))
                        .map(|e| e.value.clone()),
                );
            }
        }
        Kind::Script => {
            if let Some(j) = &apim.jvm {
                out.extend(
                    j.flags
                        .iter()
                        .filter(|f| is_secret_key(&f.name))
                        .filter_map(|f| f.value.clone()),
                );
            }
        }
        // A unit drop-in or an environment file: the values of secret `-D` options anywhere in
        // it, and of variables named like secrets (`DB_PASSWORD=`), before and after.
        Kind::Unit | Kind::EnvFile => {
            for text in [w.before.as_deref().unwrap_or(""), &w.text] {
                for word in text.split(|c: char| c.is_whitespace() || c == '"' || c == '\'') {
                    out.extend(crate::redact::secret_in_word(word));
                }
            }
        }
        Kind::Sysctl | Kind::Limits => {}
    }
    out.retain(|s| !s.is_empty());
    out
}

fn collect_xml_secrets(e: &xml::Element, out: &mut Vec<String>) {
    // `<parameter name="KeyStorePass">x</parameter>`: the name attribute makes it a secret.
    let named = e
        .attrs
        .iter()
        .any(|a| crate::redact::names_a_secret(&a.name, &a.value));
    if (named || is_secret_key(&e.name))
        && let Some(t) = &e.text
    {
        out.push(t.value.clone());
    }
    for a in &e.attrs {
        if is_secret_key(&a.name) || (named && a.name == "value") {
            out.push(a.value.clone());
        }
    }
    for c in &e.children {
        collect_xml_secrets(c, out);
    }
}
