//! STYLE §A, enforced: the module walls of `src/`, checked on the parsed source.
//!
//! Every `src/**/*.rs` file is parsed with `syn`. Its `use` items and every path in its code
//! (`crate::host::Fact::new(..)`, `super::detect::X`, `::tokio::spawn`, macro bodies too) that
//! starts with `crate`, `self`, `super` or one of the async crates become imports, resolved against
//! the file's module path (inline `mod tests { .. }` included). Comments, doc comments and string
//! literals are not code, so they never count: that is why this parses instead of matching text.
//!
//! A "module" for the walls is the top-level module under `src/` (`src/host/detect.rs` → `host`,
//! `src/audit.rs` → `audit`). The walls:
//! - `host` and `apim` *read and locate*: they import none of `profile`, `rules`, `audit`,
//!   `report`, `edit`, `cli`;
//! - `fleet` *reads a deployment* (exports, inventory, manifests) like `host` and `apim`: it imports
//!   none of `profile`, `rules`, `audit`, `facts`, `deployment`, `report`, `edit`, `cli`;
//! - `rules` *judges*: it imports none of `report`, `edit`, `cli`;
//! - `report` and `edit` *consume findings*: they import neither each other nor `audit`;
//! - no import cycle between top-level modules, and none between the sibling files (or
//!   subfolders) of any folder; a folder's own `mod.rs` is left out, as a parent and its children
//!   naturally use each other;
//! - the async stack stays behind its facades: `tokio` only in `gateway` and `db`; `hyper`,
//!   `hyper_util`, `http_body_util` and `moka` only in `gateway`; `sqlx` only in `db`;
//! - `gateway` and `db` do not use each other, and only the modules that present them (`cli`,
//!   `report`, and `runtime_config` for the gateway; `rules` and `audit` for the facts db gathers)
//!   use them.
//!
//! Test code (`#[cfg(test)]`) counts like any other code for the walls: a wall crossed only by a
//! test is still crossed. Cycles are judged on the program alone: a test module is a leaf that may
//! drive the whole pipeline (a rule's table test runs the audit, a writer's test uses the applier
//! it is part of), as an integration test under `tests/` may, and such an edge does not tie the
//! shipped modules into a knot. The pinned module graph shows the program's edges too. What this does not see: an item reached through a re-export is charged to the module
//! that re-exports it (`crate::host::Fact` is `host`, wherever `Fact` is defined), and a name
//! brought in by a glob (`use super::*;`) and then used as `sibling::x` is not followed.
//!
//! Each wall has a fixture tree under `tests/fixtures/architecture/<case>/src/` that breaks exactly
//! that wall, so a wall whose check stopped working fails its fixture test.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use syn::visit::Visit;

/// Top-level modules and the top-level modules each must not import.
const FORBIDDEN: &[(&str, &[&str], &str)] = &[
    (
        "host",
        &["profile", "rules", "audit", "report", "edit", "cli"],
        "host/ reads and locates; it knows nothing downstream",
    ),
    (
        "apim",
        &["profile", "rules", "audit", "report", "edit", "cli"],
        "apim/ reads and locates; it knows nothing downstream",
    ),
    (
        "fleet",
        &[
            "profile",
            "rules",
            "audit",
            "facts",
            "deployment",
            "report",
            "edit",
            "cli",
        ],
        "fleet/ reads a deployment's exports, inventory and manifests; it knows nothing downstream",
    ),
    (
        "rules",
        &["report", "edit", "cli"],
        "rules/ judges; it never renders, edits or prints",
    ),
    (
        "edit",
        &["report", "audit"],
        "edit/ consumes findings; it does not run the audit or render reports",
    ),
    (
        "report",
        &["edit", "audit"],
        "report/ consumes findings; it does not run the audit or plan edits",
    ),
    (
        "gateway",
        &["db"],
        "the two async modules stay apart, each behind its own facade",
    ),
    (
        "db",
        &["gateway"],
        "the two async modules stay apart, each behind its own facade",
    ),
];

/// Top-level modules that only the listed modules (besides themselves) may import.
const FACADES: &[(&str, &[&str])] = &[
    // `rules` judges the facts db gathers (`db::model`), and `audit` runs those rules.
    ("db", &["cli", "report", "rules", "audit"]),
    ("gateway", &["cli", "report", "runtime_config"]),
];

/// External crates and the only top-level modules allowed to use them.
const EXTERNAL: &[(&str, &[&str])] = &[
    ("tokio", &["gateway", "db"]),
    ("hyper", &["gateway"]),
    ("hyper_util", &["gateway"]),
    ("http_body_util", &["gateway"]),
    ("moka", &["gateway"]),
    ("sqlx", &["db"]),
];

/// The binary's crate root; there the library is `apim_tune::…`, not `crate::…`.
const BIN_ROOT: &str = "main.rs";
const LIB_NAME: &str = "apim_tune";

/// One path in the code that reaches another module or an external crate.
#[derive(Debug, Clone)]
struct Import {
    /// The file, relative to the parent of the `src/` folder (`src/host/detect.rs`).
    file: String,
    line: usize,
    /// The module the path is written in (the file's module plus any inline `mod`).
    from: Vec<String>,
    /// The path as written (`super::detect::Overrides`).
    written: String,
    to: Target,
    /// Written in test-only code: under `#[cfg(test)]`, or in a module declared with it.
    test: bool,
}

#[derive(Debug, Clone)]
enum Target {
    /// Absolute module path inside the crate (without `crate`).
    Crate(Vec<String>),
    External(String),
}

impl Import {
    fn at(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }
}

/// Every `.rs` file under `dir`, sorted so that the output is stable.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `host/detect.rs` → `[host, detect]`, `host/mod.rs` → `[host]`, `lib.rs` → `[]`.
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|c| c.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap_or_default();
    let stem = last.trim_end_matches(".rs");
    // `main.rs` stays: the binary is its own crate, and sits beside the library's modules as
    // `main`.
    if stem != "mod" && !(parts.is_empty() && stem == "lib") {
        parts.push(stem.to_string());
    }
    parts
}

/// Walks one parsed file and collects its imports.
struct Collector<'a> {
    file: &'a str,
    bin_root: bool,
    scope: Vec<String>,
    out: Vec<Import>,
    /// How many `#[cfg(test)]` items enclose the current one.
    test_depth: usize,
    /// Modules this file declares with `#[cfg(test)] mod x;` (their files are test-only).
    test_mods: Vec<Vec<String>>,
}

/// `#[cfg(test)]` among an item's attributes.
fn cfg_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg") && a.parse_args::<syn::Ident>().is_ok_and(|i| i == "test")
    })
}

fn item_attrs(item: &syn::Item) -> &[syn::Attribute] {
    use syn::Item;
    match item {
        Item::Const(i) => &i.attrs,
        Item::Enum(i) => &i.attrs,
        Item::ExternCrate(i) => &i.attrs,
        Item::Fn(i) => &i.attrs,
        Item::ForeignMod(i) => &i.attrs,
        Item::Impl(i) => &i.attrs,
        Item::Macro(i) => &i.attrs,
        Item::Mod(i) => &i.attrs,
        Item::Static(i) => &i.attrs,
        Item::Struct(i) => &i.attrs,
        Item::Trait(i) => &i.attrs,
        Item::TraitAlias(i) => &i.attrs,
        Item::Type(i) => &i.attrs,
        Item::Union(i) => &i.attrs,
        Item::Use(i) => &i.attrs,
        _ => &[],
    }
}

impl Collector<'_> {
    /// Records `segments` (as written, with or without a leading `::`) if it leaves the module.
    fn record(&mut self, leading_colon: bool, segments: &[(String, usize)]) {
        let Some((first, line)) = segments.first() else {
            return;
        };
        let names: Vec<&str> = segments.iter().map(|(s, _)| s.as_str()).collect();
        let written = format!(
            "{}{}",
            if leading_colon { "::" } else { "" },
            names.join("::")
        );
        let rest = || names[1..].iter().map(|s| s.to_string());
        let to = match first.as_str() {
            _ if leading_colon => external(first),
            "crate" if !self.bin_root => Some(Target::Crate(rest().collect())),
            LIB_NAME if self.bin_root => Some(Target::Crate(rest().collect())),
            // A lone `self` is a method receiver or `use x::{self}`, not a module path.
            "self" if names.len() > 1 => Some(Target::Crate(
                self.scope.iter().cloned().chain(rest()).collect(),
            )),
            "super" => {
                let ups = names.iter().take_while(|s| **s == "super").count();
                let Some(keep) = self.scope.len().checked_sub(ups) else {
                    panic!("{}:{line}: `{written}` goes above the crate", self.file);
                };
                Some(Target::Crate(
                    self.scope[..keep]
                        .iter()
                        .cloned()
                        .chain(names[ups..].iter().map(|s| s.to_string()))
                        .collect(),
                ))
            }
            _ => external(first),
        };
        if let Some(to) = to {
            self.out.push(Import {
                file: self.file.to_string(),
                line: *line,
                from: self.scope.clone(),
                written,
                to,
                test: self.test_depth > 0,
            });
        }
    }

    /// Every leaf of a `use` tree, each recorded with its full path.
    fn use_tree(
        &mut self,
        leading_colon: bool,
        prefix: &mut Vec<(String, usize)>,
        tree: &syn::UseTree,
    ) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(ident(&p.ident));
                self.use_tree(leading_colon, prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                // `use crate::x::{self}` names `crate::x` itself.
                if n.ident == "self" && !prefix.is_empty() {
                    self.record(leading_colon, prefix);
                } else {
                    prefix.push(ident(&n.ident));
                    self.record(leading_colon, prefix);
                    prefix.pop();
                }
            }
            syn::UseTree::Rename(r) => {
                prefix.push(ident(&r.ident));
                self.record(leading_colon, prefix);
                prefix.pop();
            }
            syn::UseTree::Glob(_) => self.record(leading_colon, prefix),
            syn::UseTree::Group(g) => {
                for t in &g.items {
                    self.use_tree(leading_colon, prefix, t);
                }
            }
        }
    }

    /// Paths inside a macro's tokens (`format!("{}", crate::x::y())`), which syn leaves unparsed:
    /// every run of `ident :: ident …` (with an optional leading `::`).
    fn macro_tokens(&mut self, tokens: proc_macro2::TokenStream) {
        use proc_macro2::{Spacing, TokenTree};
        let trees: Vec<TokenTree> = tokens.into_iter().collect();
        let is_colon2 = |i: usize| {
            matches!((trees.get(i), trees.get(i + 1)),
                (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b)))
                    if a.as_char() == ':' && a.spacing() == Spacing::Joint && b.as_char() == ':')
        };
        let mut i = 0;
        while i < trees.len() {
            if let TokenTree::Group(g) = &trees[i] {
                self.macro_tokens(g.stream());
                i += 1;
                continue;
            }
            // A path starts at an ident that does not follow `::`, or at a `::` that does not
            // follow an ident (`::tokio::spawn`).
            let follows_ident = i > 0 && matches!(trees[i - 1], TokenTree::Ident(_));
            let leading = is_colon2(i) && !follows_ident;
            let follows_colon2 = i >= 2 && is_colon2(i - 2);
            let starts = leading || (matches!(trees[i], TokenTree::Ident(_)) && !follows_colon2);
            let mut segments = Vec::new();
            let mut j = if leading { i + 2 } else { i };
            while starts && let Some(TokenTree::Ident(id)) = trees.get(j) {
                segments.push(ident(id));
                if !is_colon2(j + 1) {
                    j += 1;
                    break;
                }
                j += 3;
            }
            if segments.len() > 1 || (leading && !segments.is_empty()) {
                self.record(leading, &segments);
                i = j;
            } else {
                i += 1;
            }
        }
    }
}

fn ident(id: &proc_macro2::Ident) -> (String, usize) {
    (id.to_string(), id.span().start().line)
}

fn external(name: &str) -> Option<Target> {
    EXTERNAL
        .iter()
        .any(|(c, _)| *c == name)
        .then(|| Target::External(name.to_string()))
}

impl<'ast> Visit<'ast> for Collector<'_> {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        let test = cfg_test(item_attrs(item));
        self.test_depth += usize::from(test);
        syn::visit::visit_item(self, item);
        self.test_depth -= usize::from(test);
    }

    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        self.scope.push(m.ident.to_string());
        if m.content.is_none() && self.test_depth > 0 {
            self.test_mods.push(self.scope.clone());
        }
        syn::visit::visit_item_mod(self, m);
        self.scope.pop();
    }

    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        self.use_tree(u.leading_colon.is_some(), &mut Vec::new(), &u.tree);
    }

    fn visit_path(&mut self, p: &'ast syn::Path) {
        let segments: Vec<(String, usize)> = p.segments.iter().map(|s| ident(&s.ident)).collect();
        self.record(p.leading_colon.is_some(), &segments);
        // Generic arguments hold paths of their own (`Vec<crate::finding::Finding>`).
        syn::visit::visit_path(self, p);
    }

    /// `pub(crate)`, `pub(super)`: a visibility, not a use of another module.
    fn visit_visibility(&mut self, _: &'ast syn::Visibility) {}

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        self.visit_path(&m.path);
        self.macro_tokens(m.tokens.clone());
    }
}

/// The import graph of a source tree.
struct Graph {
    /// Module path of every file.
    modules: BTreeSet<Vec<String>>,
    imports: Vec<Import>,
}

fn parse_tree(src_dir: &Path) -> Graph {
    let mut files = Vec::new();
    rust_files(src_dir, &mut files);
    assert!(!files.is_empty(), "no .rs file under {}", src_dir.display());
    let base = src_dir.parent().unwrap_or(src_dir);
    let mut modules = BTreeSet::new();
    let mut imports = Vec::new();
    let mut test_mods = Vec::new();
    for path in &files {
        let rel = path.strip_prefix(src_dir).expect("under src");
        let display = path
            .strip_prefix(base)
            .unwrap_or(path)
            .display()
            .to_string();
        let text =
            std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {display}: {e}"));
        let ast = syn::parse_file(&text).unwrap_or_else(|e| {
            let at = e.span().start();
            panic!(
                "{display}:{}:{}: not parseable Rust: {e}",
                at.line,
                at.column + 1
            )
        });
        let scope = module_path(rel);
        modules.insert(scope.clone());
        let mut c = Collector {
            file: &display,
            bin_root: rel == Path::new(BIN_ROOT),
            scope,
            out: Vec::new(),
            test_depth: 0,
            test_mods: Vec::new(),
        };
        c.visit_file(&ast);
        imports.extend(c.out);
        test_mods.extend(c.test_mods);
    }
    // Everything written in a file that is itself a test-only module is test code.
    for imp in &mut imports {
        if test_mods.iter().any(|m| imp.from.starts_with(m)) {
            imp.test = true;
        }
    }
    Graph { modules, imports }
}

impl Graph {
    /// The module file a crate path lands in: its longest prefix that is a module of the tree.
    fn file_module(&self, path: &[String]) -> Vec<String> {
        (0..=path.len())
            .rev()
            .map(|n| path[..n].to_vec())
            .find(|p| self.modules.contains(p))
            .unwrap_or_default()
    }

    /// For every folder (`[]` is `src/` itself), the edges between its children: child → child
    /// → the imports that make the edge. An import counts in the folder where the two module
    /// paths part, so a file never has an edge to its own folder's `mod.rs` or to an ancestor.
    fn folder_edges(&self) -> BTreeMap<Vec<String>, Edges<'_>> {
        let mut folders: BTreeMap<Vec<String>, Edges<'_>> = BTreeMap::new();
        for imp in self.imports.iter().filter(|i| !i.test) {
            let Target::Crate(path) = &imp.to else {
                continue;
            };
            let to = self.file_module(path);
            let from = &imp.from;
            let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
            if common < from.len() && common < to.len() {
                folders
                    .entry(from[..common].to_vec())
                    .or_default()
                    .entry((from[common].clone(), to[common].clone()))
                    .or_default()
                    .push(imp);
            }
        }
        folders
    }
}

type Edges<'a> = BTreeMap<(String, String), Vec<&'a Import>>;

/// Every elementary cycle of a small graph, each once, starting at its smallest node.
fn cycles(edges: &Edges<'_>) -> Vec<Vec<String>> {
    let mut next: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (a, b) in edges.keys() {
        next.entry(a).or_default().push(b);
    }
    let mut found = Vec::new();
    for &start in next.keys() {
        let mut path = vec![start];
        walk_cycles(start, &next, &mut path, &mut found);
    }
    found
}

fn walk_cycles<'a>(
    start: &'a str,
    next: &BTreeMap<&'a str, Vec<&'a str>>,
    path: &mut Vec<&'a str>,
    found: &mut Vec<Vec<String>>,
) {
    let here = *path.last().expect("non-empty path");
    for &n in next.get(here).into_iter().flatten() {
        if n == start {
            found.push(path.iter().map(|s| s.to_string()).collect());
        } else if n > start && !path.contains(&n) {
            path.push(n);
            walk_cycles(start, next, path, found);
            path.pop();
        }
    }
}

fn top(module: &[String]) -> &str {
    module.first().map(String::as_str).unwrap_or("")
}

/// Every wall broken in the tree `src_dir`, one line each, naming the file:line of the import.
fn violations(src_dir: &Path) -> Vec<String> {
    let graph = parse_tree(src_dir);
    // (file:line, what is wrong, paths as written, why): one line per import site, listing every
    // path of a grouped `use crate::audit::{A, B}` on that line.
    let mut walls: Vec<(String, String, Vec<String>, String)> = Vec::new();
    let mut flag = |imp: &Import, what: String, why: String| {
        let at = imp.at();
        let written = format!("`{}`", imp.written);
        match walls.iter_mut().find(|w| w.0 == at && w.1 == what) {
            Some(w) => w.2.push(written),
            None => walls.push((at, what, vec![written], why)),
        }
    };
    for imp in &graph.imports {
        let from = top(&imp.from);
        match &imp.to {
            Target::External(name) => {
                let allowed = EXTERNAL
                    .iter()
                    .find(|(c, _)| c == name)
                    .map(|(_, a)| *a)
                    .unwrap_or_default();
                if !allowed.contains(&from) {
                    let why = format!("only {} may", allowed.join(", "));
                    flag(imp, format!("{from} uses `{name}`"), why);
                }
            }
            Target::Crate(path) => {
                let to = top(path);
                if to == from || to.is_empty() {
                    continue;
                }
                let banned = FORBIDDEN
                    .iter()
                    .find(|(f, banned, _)| *f == from && banned.contains(&to));
                if let Some((_, _, why)) = banned {
                    flag(imp, format!("{from} imports {to}"), why.to_string());
                } else if let Some((_, users)) = FACADES.iter().find(|(m, _)| *m == to)
                    && !users.contains(&from)
                {
                    let why = format!("only {} may", users.join(", "));
                    flag(imp, format!("{from} imports {to}"), why);
                }
            }
        }
    }
    let mut out: Vec<String> = walls
        .into_iter()
        .map(|(at, what, written, why)| format!("{at}: {what} ({}): {why}", written.join(", ")))
        .collect();

    for (folder, edges) in graph.folder_edges() {
        for cycle in cycles(&edges) {
            let mut line = if folder.is_empty() {
                "cycle between top-level modules: ".to_string()
            } else {
                format!("cycle between the files of src/{}/: ", folder.join("/"))
            };
            line.push_str(&cycle.join(" → "));
            let _ = write!(line, " → {} (", cycle[0]);
            for (i, a) in cycle.iter().enumerate() {
                let b = &cycle[(i + 1) % cycle.len()];
                let sites = &edges[&(a.clone(), b.clone())];
                let first = sites[0];
                if i > 0 {
                    line.push_str("; ");
                }
                let _ = write!(line, "{a} → {b}: {} `{}`", first.at(), first.written);
                if sites.len() > 1 {
                    let _ = write!(line, " and {} more", sites.len() - 1);
                }
            }
            line.push(')');
            out.push(line);
        }
    }
    out
}

fn fixture(case: &str) -> Vec<String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/architecture")
        .join(case)
        .join("src");
    violations(&src)
}

#[test]
fn src_keeps_its_module_walls() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let found = violations(&src);
    assert!(
        found.is_empty(),
        "{} module wall violation(s) in src/:\n{}",
        found.len(),
        found.join("\n")
    );
}

/// Every wall would pass vacuously if the parser stopped finding imports.
#[test]
fn the_parser_sees_the_real_imports() {
    let graph = parse_tree(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    assert!(graph.modules.len() > 50, "{} modules", graph.modules.len());
    let uses = |a: &str, b: &str| {
        graph.imports.iter().any(|i| {
            top(&i.from) == a
                && match &i.to {
                    Target::Crate(p) => top(p) == b,
                    Target::External(c) => c == b,
                }
        })
    };
    for (a, b) in [
        ("cli", "audit"),
        ("audit", "rules"),
        ("runtime_config", "gateway"),
        ("gateway", "tokio"),
        ("db", "sqlx"),
        ("main", "cli"),
    ] {
        assert!(uses(a, b), "no import {a} → {b} found");
    }
}

#[test]
fn a_clean_tree_has_no_violation() {
    assert_eq!(fixture("clean"), Vec::<String>::new());
}

/// Each case breaks exactly one wall, once.
#[test]
fn each_broken_wall_is_reported() {
    let cases: &[(&str, &str)] = &[
        (
            "host_imports_rules",
            "src/host/detect.rs:5: host imports rules (`crate::rules::Rule::new`): host/ reads and \
             locates; it knows nothing downstream",
        ),
        (
            "apim_imports_cli",
            "src/apim/xml.rs:3: apim imports cli (`super::super::cli::Args`): apim/ reads and \
             locates; it knows nothing downstream",
        ),
        (
            "rules_imports_edit",
            "src/rules/mod.rs:2: rules imports edit (`crate::edit::Change`): rules/ judges; it \
             never renders, edits or prints",
        ),
        (
            "report_imports_audit",
            "src/report/json.rs:4: report imports audit (`crate::audit::Report`): report/ \
             consumes findings; it does not run the audit or plan edits",
        ),
        (
            "edit_imports_report",
            "src/edit.rs:4: edit imports report (`super::report::render`): edit/ consumes \
             findings; it does not run the audit or render reports",
        ),
        (
            "top_level_cycle",
            "cycle between top-level modules: finding → rules → finding (finding → rules: \
             src/finding.rs:3 `crate::rules::Code` and 1 more; rules → finding: \
             src/rules/mod.rs:1 `crate::finding::Finding`)",
        ),
        (
            "sibling_cycle",
            "cycle between the files of src/host/: detect → platform → detect (detect → \
             platform: src/host/detect.rs:2 `super::platform::Platform`; platform → detect: \
             src/host/platform.rs:6 `crate::host::detect::probe`)",
        ),
        (
            "tokio_outside_async",
            "src/audit.rs:4: audit uses `tokio` (`::tokio::runtime::Builder::new_current_thread`): \
             only gateway, db may",
        ),
        (
            "hyper_in_db",
            "src/db/serve.rs:1: db uses `hyper` (`hyper::body::Incoming`): only gateway may",
        ),
        (
            "sqlx_in_gateway",
            "src/gateway/store.rs:3: gateway uses `sqlx` (`sqlx::query`): only db may",
        ),
        (
            "gateway_uses_db",
            "src/gateway/mod.rs:3: gateway imports db (`crate::db::Connection`): the two async \
             modules stay apart, each behind its own facade",
        ),
        (
            "db_used_outside_facade",
            "src/profile.rs:2: profile imports db (`crate::db::dialect::Engine`): only cli, \
             report, rules, audit may",
        ),
        (
            // A cycle only through test code is not one; a wall a test crosses still is.
            "test_only_cycle",
            "src/report/mod.rs:7: report imports audit (`crate::audit::run`): report/ consumes \
             findings; it does not run the audit or plan edits",
        ),
    ];
    let mut wrong = Vec::new();
    for (case, expected) in cases {
        let got = fixture(case);
        if got != [expected.to_string()] {
            wrong.push(format!(
                "{case}:\n  expected: {expected}\n  got:      {}",
                got.join("\n            ")
            ));
        }
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/architecture");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .expect("fixtures")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n != "clean")
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = cases.iter().map(|(c, _)| c.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed, "every fixture case is listed here");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The top-level import graph of `src/`, one line per module: which modules it uses. Pinned, so
/// that a new edge between subsystems is seen in review like any other output change.
fn module_graph(src_dir: &Path) -> String {
    let graph = parse_tree(src_dir);
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for m in &graph.modules {
        edges.entry(top(m).to_string()).or_default();
    }
    for imp in graph.imports.iter().filter(|i| !i.test) {
        let from = top(&imp.from).to_string();
        let to = match &imp.to {
            Target::Crate(path) => top(path).to_string(),
            Target::External(name) => name.clone(),
        };
        if !to.is_empty() && to != from && from != BIN_ROOT.trim_end_matches(".rs") {
            edges.entry(from).or_default().insert(to);
        }
    }
    let mut out = String::new();
    for (from, to) in edges.iter().filter(|(from, _)| !from.is_empty()) {
        let to: Vec<&str> = to.iter().map(String::as_str).collect();
        let _ = writeln!(out, "{from} → {}", to.join(", "));
    }
    out
}

#[test]
fn the_module_graph_is_pinned() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    insta::with_settings!({ snapshot_path => "../snapshots", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("module_graph", module_graph(&src));
    });
}
