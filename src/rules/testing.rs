//! Table tests for rules: a small node written from inline fixtures into a temporary root,
//! audited through the real readers and the registry, and each finding of one code rendered as
//! one line, so a table reads "given these lines → these findings and this fix":
//!
//! `CODE subject @file:line current → expected | fix`
//!
//! The shipped `all-in-one` profile supplies the expectations (unless `.profile` gives a site
//! profile); host facts the fixture does not give (cores, memory, NAT) are fixed here, never
//! taken from the machine running the tests. The temporary root's path, where a finding shows
//! it (the API-M home, a waivers file), reads `<root>`. A line shows neither the severity nor
//! the message: `severities` and `messages` give them where a rule varies them.

use crate::audit::{self, AuditOptions};
use crate::diag::{Applicability, Code, Finding, Fix, FixShape, Severity};
use crate::host::detect::NatArg;
use crate::host::detect::Overrides;
use std::path::{Path, PathBuf};

pub(crate) struct Node {
    root: tempfile::TempDir,
    home: Option<PathBuf>,
    overrides: Overrides,
    role: Option<String>,
    user: Option<String>,
    waivers: Option<PathBuf>,
    profile: Option<PathBuf>,
}

impl Node {
    /// 4 cores, 8 GiB, no NAT, no JDK known; an empty root with a readable `proc/sys`.
    pub(crate) fn new() -> Node {
        let root = tempfile::tempdir().expect("temporary root");
        std::fs::create_dir_all(root.path().join("proc/sys")).expect("proc/sys");
        Node {
            root,
            home: None,
            overrides: Overrides {
                cores: Some(4),
                memory_mb: Some(8192),
                nat: Some(NatArg::No),
                java_version: None,
                java_home: None,
                kernel: None,
            },
            role: None,
            user: None,
            waivers: None,
            profile: None,
        }
    }

    pub(crate) fn file(self, path: &str, text: &str) -> Node {
        let p = self.root.path().join(path);
        std::fs::create_dir_all(p.parent().expect("a parent")).expect("mkdir");
        std::fs::write(&p, text).expect("write fixture");
        self
    }

    /// A file with these exact bytes (not UTF-8, say).
    pub(crate) fn bytes(self, path: &str, bytes: &[u8]) -> Node {
        let p = self.root.path().join(path);
        std::fs::create_dir_all(p.parent().expect("a parent")).expect("mkdir");
        std::fs::write(&p, bytes).expect("write fixture");
        self
    }

    /// A directory at `path` (where a file may be expected).
    pub(crate) fn dir(self, path: &str) -> Node {
        std::fs::create_dir_all(self.root.path().join(path)).expect("mkdir");
        self
    }

    /// A symbolic link at `path` pointing at `target` (as written, e.g. `../sysctl.conf`).
    pub(crate) fn link(self, path: &str, target: &str) -> Node {
        let p = self.root.path().join(path);
        std::fs::create_dir_all(p.parent().expect("a parent")).expect("mkdir");
        std::os::unix::fs::symlink(target, &p).expect("symlink");
        self
    }

    /// The running kernel's value of `key` (`proc/sys/…`).
    pub(crate) fn live(self, key: &str, value: &str) -> Node {
        let path = format!("proc/sys/{}", key.replace('.', "/"));
        self.file(&path, &format!("{value}\n"))
    }

    /// A tree without `proc/sys` (an image, a copied tree): no live values, and no running
    /// kernel to say which keys exist.
    pub(crate) fn no_proc_sys(self) -> Node {
        std::fs::remove_dir_all(self.root.path().join("proc/sys")).expect("rm proc/sys");
        self
    }

    pub(crate) fn kernel(self, release: &str) -> Node {
        self.file("proc/sys/kernel/osrelease", &format!("{release}\n"))
    }

    pub(crate) fn nat(mut self, behind: bool) -> Node {
        self.overrides.nat = Some(if behind { NatArg::Yes } else { NatArg::No });
        self
    }

    /// No `--cores` and no `sys/devices/system/cpu/online` under the root: the count is unknown.
    pub(crate) fn unknown_cores(mut self) -> Node {
        self.overrides.cores = None;
        self
    }

    pub(crate) fn cores(mut self, n: u32) -> Node {
        self.overrides.cores = Some(n);
        self
    }

    /// Memory read from the root's `proc/meminfo` (no `--memory`), as on a real host.
    pub(crate) fn meminfo_mb(mut self, mb: u64) -> Node {
        self.overrides.memory_mb = None;
        self.file(
            "proc/meminfo",
            &format!("MemTotal:       {} kB\n", mb * 1024),
        )
    }

    pub(crate) fn memory_mb(mut self, mb: u64) -> Node {
        self.overrides.memory_mb = Some(mb);
        self
    }

    pub(crate) fn java(mut self, version: u32) -> Node {
        self.overrides.java_version = Some(version);
        self
    }

    pub(crate) fn role(mut self, role: &str) -> Node {
        self.role = Some(role.to_string());
        self
    }

    pub(crate) fn user(mut self, user: &str) -> Node {
        self.user = Some(user.to_string());
        self
    }

    /// Audits `path` (relative to the root) as the API-M home.
    pub(crate) fn home(mut self, path: &str) -> Node {
        self.home = Some(self.root.path().join(path));
        self
    }

    /// A waivers file with `text`, passed as `--waivers` (written beside the root's files).
    pub(crate) fn waivers(mut self, text: &str) -> Node {
        let path = self.root.path().join("apim-tune.waivers.toml");
        std::fs::write(&path, text).expect("write waivers");
        self.waivers = Some(path);
        self
    }

    /// A site profile with `text` (it may `extends = "all-in-one"`), passed as `--profile`.
    pub(crate) fn profile(mut self, text: &str) -> Node {
        let path = self.root.path().join("site-profile.toml");
        std::fs::write(&path, text).expect("write profile");
        self.profile = Some(path);
        self
    }

    pub(crate) fn root(&self) -> &Path {
        self.root.path()
    }

    /// Every finding of `code`, one line each, in report order.
    pub(crate) fn findings(&self, code: Code) -> Vec<String> {
        let root = self.root().display().to_string();
        self.of(code)
            .iter()
            .map(|f| line(f).replace(&root, "<root>"))
            .collect()
    }

    /// The severity of every finding of `code`, in report order (a line does not show it).
    pub(crate) fn severities(&self, code: Code) -> Vec<Severity> {
        self.of(code).iter().map(|f| f.severity).collect()
    }

    /// Every finding of `code` as `file:line:column: message`, where a line has no column nor
    /// the reason (a source problem's).
    pub(crate) fn messages(&self, code: Code) -> Vec<String> {
        let root = self.root().display().to_string();
        self.of(code)
            .iter()
            .map(|f| {
                let at = f.location.as_ref().map(|l| l.to_string());
                format!("{}: {}", at.as_deref().unwrap_or("-"), f.message).replace(&root, "<root>")
            })
            .collect()
    }

    /// The role the audit judged the node as (`--role`, else the node's own, else all-in-one).
    pub(crate) fn audited_role(&self) -> String {
        self.report().profile.role
    }

    /// The report's notes (what is unknown, where the role came from…).
    pub(crate) fn notes(&self) -> Vec<String> {
        self.report().notes
    }

    /// The notes of every finding of `code`, in report order.
    pub(crate) fn notes_of(&self, code: Code) -> Vec<String> {
        self.of(code).into_iter().flat_map(|f| f.notes).collect()
    }

    pub(crate) fn of(&self, code: Code) -> Vec<Finding> {
        self.report()
            .findings
            .into_iter()
            .filter(|f| f.code == code)
            .collect()
    }

    fn report(&self) -> crate::outcome::AuditReport {
        let opts = AuditOptions {
            root: self.root().to_path_buf(),
            apim_home: self.home.clone(),
            role: self.role.clone(),
            overrides: self.overrides.clone(),
            user: self.user.clone(),
            waivers: self.waivers.clone(),
            profile_file: self.profile.clone(),
            ..AuditOptions::default()
        };
        audit::run(&opts).expect("the audit runs")
    }
}

/// `CODE subject @file:line current → expected | fix`.
pub(crate) fn line(f: &Finding) -> String {
    let at = f
        .location
        .as_ref()
        .map(|l| match l.line {
            Some(n) => format!("{}:{n}", l.file),
            None => l.file.clone(),
        })
        .unwrap_or_else(|| "-".into());
    format!(
        "{} {} @{at} {} → {} | {}",
        f.code,
        f.subject,
        f.current.as_deref().unwrap_or("-"),
        f.expected.as_deref().unwrap_or("-"),
        fix(f.fix.as_ref())
    )
}

fn fix(fix: Option<&Fix>) -> String {
    let Some(fix) = fix else {
        return "no fix".into();
    };
    let how = match fix.shape() {
        FixShape::Replace {
            location,
            value: "",
        } => {
            format!(
                "remove the option at {}:{}",
                location.file,
                location.line.unwrap_or(0)
            )
        }
        FixShape::Replace { location, value } => {
            format!(
                "set `{value}` at {}:{}",
                location.file,
                location.line.unwrap_or(0)
            )
        }
        FixShape::Insert { file, key, value } => format!("add `{key}` = `{value}` to {file}"),
        FixShape::Move {
            from,
            file,
            key,
            value,
            also,
        } => format!(
            "move to {file} as `{key}` = `{value}`, commenting out {}:{}{}",
            from.file,
            from.line.unwrap_or(0),
            also_lines(also)
        ),
        FixShape::RemoveLine { location, also } => {
            format!(
                "comment out {}:{}{}",
                location.file,
                location.line.unwrap_or(0),
                also_lines(also)
            )
        }
    };
    match fix.applicability {
        Applicability::Safe => how,
        Applicability::Unsafe => format!("{how} (unsafe)"),
        Applicability::DisplayOnly => format!("{how} (display only)"),
    }
}

/// ` and :3 :5`: the earlier lines a fix comments out with the one it names.
fn also_lines(also: &[crate::model::Location]) -> String {
    if also.is_empty() {
        return String::new();
    }
    let lines: Vec<String> = also
        .iter()
        .map(|l| format!(":{}", l.line.unwrap_or(0)))
        .collect();
    format!(" and {}", lines.join(" "))
}
