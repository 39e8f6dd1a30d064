//! The API-M 3.x/4.x config mapper, redone read-only: the value each template key ends up with.
//!
//! Owns reading `repository/resources/conf/{default,key-mappings,unit-resolve,infer}.json` (and
//! the component parts a source tree has instead of the merged files) and the product's order of
//! resolution: value set in `deployment.toml` (directly, then through an alias), inferred value,
//! default, then unit conversion. It must not parse TOML (`deployment_toml` does), write files,
//! resolve `$ref{…}` / `${…}` placeholders, or judge whether a value is good.
//!
//! The product (carbon-kernel `org.wso2.carbon.nextgen.config.ConfigParser`) runs: TOML →
//! `KeyMapper` (user key replaced by its template key(s)) → `ValueInferrer` (selector values pull
//! in sets of keys; user values win) → `DefaultParser` (fills keys still missing) →
//! `ReferenceResolver` → `UnitResolver`. This module follows that order for one key at a time.
//!
//! Secrets: values of keys whose last segment names a password or secret are stored as `****`
//! in `defaults` and `infer` at load time, and reported as `****` by [`ConfigMapper::effective`].

use crate::apim::deployment_toml::{
    DeploymentToml, REDACTED, TomlEntry, TomlKind, is_secret_key, normalize_key,
    normalize_owned_key, split_key,
};
use crate::model::{SourceFile, SourceProblem, Span};
use crate::source::{Read, read_path};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where the mapper's tables came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DefaultsOrigin {
    /// Display names of the JSON files that were read and parsed, in reading order.
    Files(Vec<String>),
    /// Tables supplied by the caller because the product's files are absent.
    BuiltIn,
}

/// The product's mapping tables, keys in canonical form (see `deployment_toml`).
#[derive(Clone, Debug)]
pub struct ConfigMapper {
    /// Template key → default value (`default.json`).
    pub defaults: BTreeMap<String, Value>,
    /// User key → template key(s) it sets (`key-mappings.json`).
    pub aliases: BTreeMap<String, Vec<String>>,
    /// Template key → the time unit the template expects: `ms`, `s`, `m`, `h` or `d`
    /// (`unit-resolve.json`, object `time`).
    pub units: BTreeMap<String, String>,
    /// `infer.json` as read: `{ selector key: { selector value: { key: value, … } } }`, where a
    /// selector key segment `$1`, `$2`… matches any one `\w+` segment and the same placeholder in
    /// the inferred keys and string values is replaced by what it matched.
    pub infer: Value,
    pub origin: DefaultsOrigin,
}

/// How a template key got its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Set in `deployment.toml`, as the template key itself or through the alias `user_key`.
    Toml {
        user_key: String,
        value_span: Span,
        line: u32,
    },
    /// Filled by `infer.json` from the value of `from_key` (the selector as written in
    /// `deployment.toml`, before any alias mapping).
    Inferred { from_key: String },
    /// From `default.json`, or nowhere at all when `value` is `None`.
    Default,
}

/// The value a template key ends up with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Effective {
    /// The template key, canonical.
    pub key: String,
    /// After unit conversion, as plain text (`"900"`, `"true"`, `"SELECT 1"`). `None` when no
    /// source gives the key a value, or when the unit conversion fails (the product refuses to
    /// start then); `raw` tells those apart.
    pub value: Option<String>,
    /// As written before unit conversion (`"15m"`); integers from TOML as written (`1_000`).
    pub raw: Option<String>,
    pub origin: Origin,
}

/// The four kinds of mapping files, in the order they are read.
const KINDS: [&str; 4] = ["default", "key-mappings", "unit-resolve", "infer"];

/// Reads the mapping files in `conf_dir` (`<home>/repository/resources/conf`). `None` when
/// `default.json` is absent (not a 3.x/4.x home, or a pack without it: the caller then uses
/// [`builtin`]). For each kind the product file comes first, then the component files
/// (`*.default.json`…) in name order; a key already read is kept, so the product file wins over
/// components and an earlier component over a later one. A file that cannot be read or parsed
/// becomes a problem and the others are still used.
pub fn load(root: &Path, conf_dir: &Path) -> (Option<ConfigMapper>, Vec<SourceProblem>) {
    let mut problems = Vec::new();
    let mut mapper = ConfigMapper {
        defaults: BTreeMap::new(),
        aliases: BTreeMap::new(),
        units: BTreeMap::new(),
        infer: Value::Object(Map::new()),
        origin: DefaultsOrigin::Files(Vec::new()),
    };
    let mut read = Vec::new();
    // Listed directly rather than with `source::list_dir`: the API-M home is a real path, not one
    // under `--root` (the same reason `source::read_path` exists). Listed once for all kinds.
    let mut names: Vec<String> = match std::fs::read_dir(conf_dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| !n.starts_with('.'))
            .collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    for kind in KINDS {
        for (is_product, path) in files_of(conf_dir, &names, kind) {
            let file = match read_path(root, &path) {
                Read::File(file) => file,
                Read::Absent if is_product && kind == "default" => return (None, problems),
                Read::Absent => continue,
                Read::Problem(problem) => {
                    problems.push(problem);
                    continue;
                }
            };
            match parse_object(&file) {
                Ok(object) => {
                    mapper.merge(kind, object);
                    read.push(file.display.clone());
                }
                Err(problem) => problems.push(problem),
            }
        }
    }
    mapper.origin = DefaultsOrigin::Files(read);
    (Some(mapper), problems)
}

/// A mapper from tables the caller carries for packs whose mapping files are absent. Keys are
/// normalised like loaded ones; secret defaults are redacted. There is no inference.
pub fn builtin(
    aliases: BTreeMap<String, Vec<String>>,
    units: BTreeMap<String, String>,
    defaults: BTreeMap<String, Value>,
) -> ConfigMapper {
    let mut mapper = ConfigMapper {
        defaults: BTreeMap::new(),
        aliases: BTreeMap::new(),
        units: BTreeMap::new(),
        infer: Value::Object(Map::new()),
        origin: DefaultsOrigin::BuiltIn,
    };
    for (key, value) in defaults {
        mapper.add_default(key, value);
    }
    for (key, targets) in aliases {
        let targets = targets.iter().map(|t| normalize_key(t)).collect();
        mapper.aliases.entry(normalize_key(&key)).or_insert(targets);
    }
    for (key, unit) in units {
        mapper.units.entry(normalize_key(&key)).or_insert(unit);
    }
    mapper
}

/// The product file of `kind` first (it may not exist), then the component files among `names`
/// (the directory's, sorted), by name.
fn files_of(conf_dir: &Path, names: &[String], kind: &str) -> Vec<(bool, PathBuf)> {
    let mut out = vec![(true, conf_dir.join(format!("{kind}.json")))];
    let suffix = format!(".{kind}.json");
    out.extend(
        names
            .iter()
            .filter(|n| n.ends_with(&suffix))
            .map(|n| (false, conf_dir.join(n))),
    );
    out
}

fn parse_object(file: &SourceFile) -> Result<Map<String, Value>, SourceProblem> {
    // serde_json rejects a byte-order mark; positions are shifted back by it below.
    let (text, bom) = match file.text.strip_prefix('\u{feff}') {
        Some(rest) => (rest, '\u{feff}'.len_utf8()),
        None => (file.text.as_str(), 0),
    };
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(SourceProblem::unparseable(
            file.location(Span::new(bom, bom)),
            "expected a json object at the top level",
        )),
        Err(err) => {
            let offset = json_offset(file, err.line(), err.column(), bom);
            Err(SourceProblem::unparseable(
                file.location(Span::new(offset, offset)),
                json_message(&err),
            ))
        }
    }
}

/// Byte offset of serde_json's 1-based line and byte column, in the text as read.
fn json_offset(file: &SourceFile, line: usize, column: usize, bom: usize) -> usize {
    let line = u32::try_from(line.max(1)).unwrap_or(u32::MAX);
    let Some(start) = file.line_start(line) else {
        return file.text.len();
    };
    let start = if line == 1 { start + bom } else { start };
    let end = file.text[start..]
        .find('\n')
        .map_or(file.text.len(), |i| start + i);
    let mut offset = (start + column.saturating_sub(1)).min(end);
    while !file.text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// serde_json's message without its ` at line N column M` tail (the location carries that).
fn json_message(err: &serde_json::Error) -> String {
    let full = err.to_string();
    let text = match full.rfind(" at line ") {
        Some(i) => &full[..i],
        None => full.as_str(),
    };
    let text = text.replace("EOF", "end of file");
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => text,
    }
}

impl ConfigMapper {
    fn merge(&mut self, kind: &str, object: Map<String, Value>) {
        match kind {
            "default" => {
                // The file's table whole: keys made canonical and secrets redacted; a key the
                // file writes twice (quoted two ways) keeps its first value in the file's (sorted)
                // order, as adding key by key does. It is then merged with what earlier files
                // gave, which wins. Sorting what is nearly sorted already, and merging two sorted
                // maps, costs far less than inserting the thousands of defaults one by one.
                let mut entries: Vec<(String, Value)> = object
                    .into_iter()
                    .map(|(key, value)| {
                        let key = normalize_owned_key(key);
                        let value = redacted(&key, value);
                        (key, value)
                    })
                    .collect();
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                entries.dedup_by(|later, earlier| later.0 == earlier.0);
                let mut merged: BTreeMap<String, Value> = entries.into_iter().collect();
                merged.append(&mut self.defaults);
                self.defaults = merged;
            }
            "key-mappings" => {
                for (key, value) in object {
                    let targets: Vec<String> = match &value {
                        Value::String(s) => vec![normalize_key(s)],
                        Value::Array(items) => items
                            .iter()
                            .filter_map(Value::as_str)
                            .map(normalize_key)
                            .collect(),
                        _ => continue,
                    };
                    if !targets.is_empty() {
                        self.aliases.entry(normalize_key(&key)).or_insert(targets);
                    }
                }
            }
            "unit-resolve" => {
                if let Some(Value::Object(time)) = object.get("time") {
                    for (key, unit) in time {
                        if let Some(unit) = unit.as_str() {
                            self.units
                                .entry(normalize_key(key))
                                .or_insert_with(|| unit.to_string());
                        }
                    }
                }
            }
            "infer" => {
                if let Value::Object(rules) = &mut self.infer {
                    for (selector, mut blocks) in object {
                        redact_infer_blocks(&mut blocks);
                        rules.entry(selector).or_insert(blocks);
                    }
                }
            }
            _ => {}
        }
    }

    fn add_default(&mut self, key: String, value: Value) {
        let key = normalize_owned_key(key);
        let value = redacted(&key, value);
        self.defaults.entry(key).or_insert(value);
    }

    /// The value `template_key` ends up with. Order: (1) the key itself set in `doc`, unless the
    /// key is also an alias that maps elsewhere (the product then moves the value away);
    /// (2) an alias of it set in `doc`; when several are, the one written last in the file wins
    /// (the product's order there depends on its TOML library, so this is a deterministic
    /// choice, not a documented rule); (3) `infer.json`, from the selectors set in `doc`;
    /// (4) `defaults`. Then the unit of `units` is applied, except to values that still hold a
    /// `$ref{…}` / `${…}` placeholder (the product resolves those first; this module does not).
    pub fn effective(&self, doc: Option<&DeploymentToml>, template_key: &str) -> Effective {
        self.effective_with(doc, None, template_key)
    }

    /// [`ConfigMapper::effective`] with the aliases written in `doc` and what `infer.json` fills
    /// from it worked out beforehand by [`ConfigMapper::index`] (from the same `doc`): a caller
    /// that asks for many keys of one file pays for those once, not once per key.
    pub fn effective_with(
        &self,
        doc: Option<&DeploymentToml>,
        index: Option<&DocIndex>,
        template_key: &str,
    ) -> Effective {
        let key = normalize_key(template_key);
        let (raw, base, origin) = self.resolve(doc, index, &key);
        if is_secret_key(&key) {
            let redacted = raw.map(|_| REDACTED.to_string());
            return Effective {
                key,
                value: redacted.clone(),
                raw: redacted,
                origin,
            };
        }
        let value = base.and_then(|base| match self.units.get(&key) {
            Some(unit) if !has_placeholder(&base) => resolve_unit(&base, unit),
            _ => Some(base),
        });
        Effective {
            key,
            value,
            raw,
            origin,
        }
    }

    /// The template key itself plus every alias that maps to it: the keys a user may write.
    pub fn user_keys_for(&self, template_key: &str) -> Vec<String> {
        let key = normalize_key(template_key);
        let mut out = vec![key.clone()];
        for (alias, targets) in &self.aliases {
            if *alias != key && targets.contains(&key) {
                out.push(alias.clone());
            }
        }
        out
    }

    /// (as written, before units, origin).
    fn resolve(
        &self,
        doc: Option<&DeploymentToml>,
        index: Option<&DocIndex>,
        key: &str,
    ) -> (Option<String>, Option<String>, Origin) {
        let built;
        let index = match (index, doc) {
            (Some(index), _) => Some(index),
            (None, Some(doc)) => {
                built = self.index(doc);
                Some(&built)
            }
            (None, None) => None,
        };
        if let Some(doc) = doc {
            let moved_away = self
                .aliases
                .get(key)
                .is_some_and(|targets| !targets.iter().any(|t| t == key));
            let direct = doc.get(key).filter(|_| !moved_away);
            let via_alias = || {
                index
                    .and_then(|i| i.aliased.get(key))
                    .and_then(|user_key| doc.entries.get(user_key))
            };
            if let Some(entry) = direct.or_else(via_alias) {
                return (
                    Some(entry.value.clone()),
                    Some(plain_value(entry)),
                    Origin::Toml {
                        user_key: entry.key.clone(),
                        value_span: entry.value_span,
                        line: entry.line,
                    },
                );
            }
            if let Some((value, from_key)) = index.and_then(|i| i.inferred.get(key)) {
                let text = json_text(value);
                return (
                    text.clone(),
                    text,
                    Origin::Inferred {
                        from_key: from_key.clone(),
                    },
                );
            }
        }
        match self.defaults.get(key) {
            Some(value) => {
                let text = json_text(value);
                (text.clone(), text, Origin::Default)
            }
            None => (None, None, Origin::Default),
        }
    }

    /// What `doc` gives through aliases and through `infer.json`, for every key at once.
    pub fn index(&self, doc: &DeploymentToml) -> DocIndex {
        DocIndex {
            aliased: self.aliased(doc),
            inferred: self.inferred(doc),
        }
    }

    /// Template key → the entry of `doc` that sets it through an alias (not the key itself);
    /// when several do, the one written last in the file.
    fn aliased(&self, doc: &DeploymentToml) -> BTreeMap<String, String> {
        let mut out: BTreeMap<String, &TomlEntry> = BTreeMap::new();
        for entry in doc.entries.values() {
            for target in self.aliases.get(&entry.key).into_iter().flatten() {
                if *target == entry.key {
                    continue;
                }
                // On a tie the later entry in key order wins, as `max_by_key` picks it.
                if out
                    .get(target)
                    .is_none_or(|seen| seen.key_span.start <= entry.key_span.start)
                {
                    out.insert(target.clone(), entry);
                }
            }
        }
        out.into_iter().map(|(t, e)| (t, e.key.clone())).collect()
    }

    /// Every key `infer.json` fills from the selectors set in `doc` → (value, selector user key).
    /// Like the product: selectors are taken in file order after alias mapping, a later selector
    /// overrides an earlier one, and an inferred string value that is itself a selector value
    /// pulls in that rule's keys too (without placeholder substitution, as the product does).
    fn inferred(&self, doc: &DeploymentToml) -> BTreeMap<String, (Value, String)> {
        let mut out = BTreeMap::new();
        let Value::Object(rules) = &self.infer else {
            return out;
        };
        let mut entries: Vec<&TomlEntry> = doc.entries.values().collect();
        entries.sort_by_key(|e| e.key_span.start);
        for entry in entries {
            let selector_value = plain_value(entry);
            let targets = match self.aliases.get(&entry.key) {
                Some(targets) => targets.clone(),
                None => vec![entry.key.clone()],
            };
            for target in targets {
                let Some((rule, captures)) = match_rule(rules, &target) else {
                    continue;
                };
                let Some(Value::Object(block)) = rules
                    .get(rule)
                    .and_then(|blocks| blocks.get(&selector_value))
                else {
                    continue;
                };
                let block = substitute(block, &captures);
                for (key, value) in &block {
                    if let Value::String(s) = value {
                        infer_nested(rules, key, s, &entry.key, &mut out, 0);
                    }
                }
                for (key, value) in block {
                    out.insert(key, (value, entry.key.clone()));
                }
            }
        }
        out
    }
}

/// What one `deployment.toml` gives beyond the keys written in it, worked out once by
/// [`ConfigMapper::index`] for [`ConfigMapper::effective_with`].
#[derive(Clone, Debug, Default)]
pub struct DocIndex {
    /// Template key → the user key (an alias) that sets it, the one written last.
    aliased: BTreeMap<String, String>,
    /// Every key `infer.json` fills: key → (value, selector user key).
    inferred: BTreeMap<String, (Value, String)>,
}

/// `value`, or `****` when `key` (canonical) names a secret.
fn redacted(key: &str, value: Value) -> Value {
    if is_secret_key(key) {
        Value::String(REDACTED.to_string())
    } else {
        value
    }
}

/// Depth guard for `infer_nested`: the real files nest two levels; a cyclic file must not hang.
const MAX_INFER_DEPTH: usize = 8;

fn infer_nested(
    rules: &Map<String, Value>,
    key: &str,
    value: &str,
    from_key: &str,
    out: &mut BTreeMap<String, (Value, String)>,
    depth: usize,
) {
    if depth >= MAX_INFER_DEPTH {
        return;
    }
    let Some((rule, _)) = match_rule(rules, key) else {
        return;
    };
    let Some(Value::Object(block)) = rules.get(rule).and_then(|blocks| blocks.get(value)) else {
        return;
    };
    for (k, v) in block {
        out.insert(normalize_key(k), (v.clone(), from_key.to_string()));
    }
    for (k, v) in block {
        if let Value::String(s) = v {
            infer_nested(rules, &normalize_key(k), s, from_key, out, depth + 1);
        }
    }
}

/// The infer rule whose selector matches `key`: the exact key first, else the first rule (in key
/// order) whose `$N` segments each match one `\w+` segment; with what each `$N` matched.
fn match_rule<'r>(
    rules: &'r Map<String, Value>,
    key: &str,
) -> Option<(&'r str, Vec<(String, String)>)> {
    if let Some((rule, _)) = rules.get_key_value(key) {
        return Some((rule.as_str(), Vec::new()));
    }
    // Split only when some rule has a placeholder, and only rules that do: a rule key without a
    // `$` has no placeholder segment, so it can only match exactly (done above).
    let mut segments: Option<Vec<String>> = None;
    for rule in rules.keys().filter(|r| r.contains('$')) {
        let segments = segments.get_or_insert_with(|| split_key(key));
        let pattern = split_key(rule);
        if pattern.len() != segments.len() || !pattern.iter().any(|p| is_placeholder(p)) {
            continue;
        }
        let mut captures = Vec::new();
        let matched = pattern.iter().zip(segments.iter()).all(|(p, s)| {
            if is_placeholder(p) {
                let word =
                    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                if word {
                    captures.push((p.clone(), s.clone()));
                }
                word
            } else {
                p == s
            }
        });
        if matched {
            return Some((rule.as_str(), captures));
        }
    }
    None
}

fn is_placeholder(segment: &str) -> bool {
    segment
        .strip_prefix('$')
        .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

/// A block with every `$N` in its keys and string values replaced by its capture; keys
/// normalised only afterwards, since `$1` alone is not a bare key and would be quoted.
fn substitute(block: &Map<String, Value>, captures: &[(String, String)]) -> Vec<(String, Value)> {
    // Longest placeholder first so that `$1` never eats the start of `$12`.
    let mut captures = captures.to_vec();
    captures.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
    let replace = |text: &str| {
        captures
            .iter()
            .fold(text.to_string(), |acc, (p, s)| acc.replace(p.as_str(), s))
    };
    block
        .iter()
        .map(|(key, value)| {
            let value = match value {
                Value::String(s) => Value::String(replace(s)),
                other => other.clone(),
            };
            (normalize_key(&replace(key)), value)
        })
        .collect()
}

fn redact_infer_blocks(blocks: &mut Value) {
    let Value::Object(blocks) = blocks else {
        return;
    };
    for block in blocks.values_mut() {
        if let Value::Object(block) = block {
            for (key, value) in block.iter_mut() {
                if is_secret_key(key) {
                    *value = Value::String(REDACTED.to_string());
                }
            }
        }
    }
}

/// The value the product sees for a TOML entry: integers as their number (`0x1F`, `1_000` are
/// read by the TOML library, so the mapper gets 31 and 1000), everything else as displayed.
fn plain_value(entry: &TomlEntry) -> String {
    if entry.kind == TomlKind::Integer
        && !entry.secret
        && let Some(n) = parse_toml_integer(&entry.value)
    {
        return n.to_string();
    }
    entry.value.clone()
}

fn parse_toml_integer(written: &str) -> Option<i64> {
    let digits: String = written.chars().filter(|c| *c != '_').collect();
    let (negative, body) = match digits.as_bytes().first() {
        Some(b'-') => (true, &digits[1..]),
        Some(b'+') => (false, &digits[1..]),
        _ => (false, digits.as_str()),
    };
    let magnitude = if let Some(hex) = body.strip_prefix("0x") {
        i64::from_str_radix(hex, 16).ok()?
    } else if let Some(oct) = body.strip_prefix("0o") {
        i64::from_str_radix(oct, 8).ok()?
    } else if let Some(bin) = body.strip_prefix("0b") {
        i64::from_str_radix(bin, 2).ok()?
    } else {
        body.parse::<i64>().ok()?
    };
    Some(if negative { -magnitude } else { magnitude })
}

fn json_text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        other => serde_json::to_string(other).ok(),
    }
}

/// `$ref{…}`, `${…}`, `$env{…}`, `$sys{…}`, `$secret{…}`: resolved by the product before units.
fn has_placeholder(text: &str) -> bool {
    text.match_indices('$').any(|(i, _)| {
        text[i + 1..]
            .trim_start_matches(|c: char| c.is_ascii_alphabetic())
            .starts_with('{')
    })
}

/// Milliseconds per unit.
fn unit_ms(unit: &str) -> Option<i64> {
    match unit {
        "ms" => Some(1),
        "s" => Some(1_000),
        "m" => Some(60_000),
        "h" => Some(3_600_000),
        "d" => Some(86_400_000),
        _ => None,
    }
}

/// Converts a time value with a unit suffix to `target` (`ms`, `s`, `m`, `h`, `d`) the way the
/// product's `UnitResolver` does: `"900s"`→`"900"`, `"15m"`→`"900"` (target `s`), `"2m"`→
/// `"120000"` (target `ms`); text without a unit (`"15"`) comes back unchanged. Like the product,
/// the first number in the text is taken, its fraction is dropped before converting (`"1.5h"` is
/// one hour: `"3600"` in seconds), and converting to a coarser unit rounds down. `None` where the
/// product fails: no number, an unknown unit, or a non-zero value that converts to 0 (`"30s"` in
/// minutes).
pub fn resolve_unit(raw: &str, target: &str) -> Option<String> {
    let start = raw.find(|c: char| c.is_ascii_digit())?;
    let rest = &raw[start..];
    let int_len = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let (int_part, mut after) = rest.split_at(int_len);
    if let Some(fraction) = after.strip_prefix('.') {
        let frac_len = fraction
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(fraction.len());
        if frac_len > 0 {
            after = &fraction[frac_len..];
        }
    }
    let after = after.trim_start_matches([' ', '\t', '\n', '\r', '\u{b}', '\u{c}']);
    let unit_len = after
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(after.len());
    let unit = &after[..unit_len];
    if unit.is_empty() {
        return Some(raw.to_string());
    }
    let source = unit_ms(unit)?;
    let destination = unit_ms(target)?;
    // Java's Double.longValue() saturates; so does this.
    let amount = int_part.parse::<i64>().unwrap_or(i64::MAX);
    let converted = if source >= destination {
        amount.saturating_mul(source / destination)
    } else {
        amount / (destination / source)
    };
    if converted == 0 && amount != 0 {
        return None;
    }
    Some(converted.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apim::deployment_toml;
    use crate::model::ProblemKind;

    fn fixture_home(version: &str) -> Option<PathBuf> {
        let dir = crate::test_support::shared(&format!("fixtures/wso2/apim-{version}"));
        if dir.is_some() {
            dir
        } else {
            eprintln!("note: shared/fixtures/wso2/apim-{version} is absent; fixture tests skipped");
            None
        }
    }

    fn load_fixture(version: &str) -> Option<(PathBuf, ConfigMapper)> {
        let home = fixture_home(version)?;
        let (mapper, problems) = load(&home, &home.join("repository/resources/conf"));
        assert!(problems.is_empty(), "{problems:?}");
        Some((home, mapper.unwrap()))
    }

    fn toml(text: &str) -> DeploymentToml {
        let file = SourceFile::new(
            "deployment.toml".into(),
            "deployment.toml".into(),
            text.into(),
        );
        deployment_toml::parse(file).unwrap()
    }

    fn value(e: &Effective) -> Option<&str> {
        e.value.as_deref()
    }

    #[test]
    fn fixture_defaults_resolve() {
        for (version, retain) in [("4.2.0", "false"), ("4.3.0", "false"), ("3.2.0", "true")] {
            let Some((home, m)) = load_fixture(version) else {
                return;
            };
            let DefaultsOrigin::Files(files) = &m.origin else {
                panic!("origin {:?}", m.origin);
            };
            assert_eq!(files[0], "repository/resources/conf/default.json");
            assert!(files.len() >= 7, "{files:?}");

            let e = m.effective(None, "apim.cache.gateway_token.enable");
            assert_eq!((value(&e), &e.origin), (Some("true"), &Origin::Default));
            let e = m.effective(None, "passthru_http.'http.socket.timeout'");
            assert_eq!(value(&e), Some("180000"), "{version}");
            let e = m.effective(None, "server.default_cache_timeout");
            assert_eq!(value(&e), Some("15"), "{version}");
            assert_eq!(m.units["server.default_cache_timeout"], "m");
            let e = m.effective(None, "oauth.token_cleanup.enable");
            assert_eq!(value(&e), Some("true"), "{version}");
            let e = m.effective(
                None,
                "oauth.token_cleanup.retain_access_tokens_for_auditing",
            );
            assert_eq!(value(&e), Some(retain), "{version}");
            // 3.2.0 writes this default key quoted although it has no dot.
            let e = m.effective(None, "passthru_http.worker_pool_size_core");
            assert_eq!(value(&e), Some("400"), "{version}");
            // The product file wins over the kernel component's "15m".
            assert_eq!(m.defaults["server.default_cache_timeout"], "15");

            // The shipped deployment.toml: `type = "h2"` infers the H2 validation query.
            let path = home.join("repository/conf/deployment.toml");
            let text = std::fs::read_to_string(&path).unwrap();
            let file = SourceFile::new(path, "deployment.toml".into(), text);
            let d = deployment_toml::parse(file).unwrap();
            let e = m.effective(Some(&d), "database.apim_db.validationQuery");
            assert_eq!(value(&e), Some("SELECT 1"));
            assert_eq!(
                e.origin,
                Origin::Inferred {
                    from_key: "database.apim_db.type".into()
                }
            );
            let e = m.effective(Some(&d), "database.apim_db.password");
            assert_eq!(value(&e), Some(REDACTED));
            assert!(matches!(e.origin, Origin::Toml { .. }));
            for (key, value) in &m.defaults {
                if is_secret_key(key) {
                    assert_eq!(value, REDACTED, "{version} {key}");
                }
            }
        }
    }

    #[test]
    fn alias_sets_template_key() {
        let Some((_, m)) = load_fixture("4.2.0") else {
            return;
        };
        let d = toml("[transport.http]\nsocket_timeout = 120000\n");
        let e = m.effective(Some(&d), "passthru_http.'http.socket.timeout'");
        assert_eq!(value(&e), Some("120000"));
        let Origin::Toml {
            user_key,
            value_span,
            line,
        } = &e.origin
        else {
            panic!("{:?}", e.origin);
        };
        assert_eq!(user_key, "transport.http.socket_timeout");
        assert_eq!(d.file.slice(*value_span), "120000");
        assert_eq!(*line, 2);
        assert_eq!(
            m.user_keys_for("passthru_http.'http.socket.timeout'"),
            [
                "passthru_http.'http.socket.timeout'",
                "transport.http.socket_timeout"
            ]
        );
    }

    #[test]
    fn direct_key_beats_alias_and_last_alias_wins() {
        let Some((_, m)) = load_fixture("4.2.0") else {
            return;
        };
        let d = toml(
            "[passthru_http]\n'http.socket.timeout' = 90000\n[transport.http]\nsocket_timeout = 120000\n",
        );
        let e = m.effective(Some(&d), "passthru_http.'http.socket.timeout'");
        assert_eq!(value(&e), Some("90000"));
        let d = toml(
            "[apim.cache.km_token]\nexpiry_time = \"1m\"\n[apim.cache.gateway_token]\nexpiry_time = \"2m\"\n",
        );
        let e = m.effective(Some(&d), "apim.cache.token_expiry_time");
        assert_eq!(value(&e), Some("120"));
        let d = toml(
            "[apim.cache.gateway_token]\nexpiry_time = \"2m\"\n[apim.cache.km_token]\nexpiry_time = \"1m\"\n",
        );
        let e = m.effective(Some(&d), "apim.cache.token_expiry_time");
        assert_eq!(value(&e), Some("60"));
    }

    #[test]
    fn units_apply_to_aliased_values() {
        let Some((_, m)) = load_fixture("4.2.0") else {
            return;
        };
        let d = toml("[apim.cache.gateway_token]\nexpiry_time = \"15m\"\n");
        let e = m.effective(Some(&d), "apim.cache.token_expiry_time");
        assert_eq!(value(&e), Some("900"));
        assert_eq!(e.raw.as_deref(), Some("15m"));
        assert!(
            matches!(&e.origin, Origin::Toml { user_key, .. } if user_key == "apim.cache.gateway_token.expiry_time")
        );
        // Unset: no default exists, the template then omits the element.
        let e = m.effective(None, "apim.cache.token_expiry_time");
        assert_eq!((e.value, e.origin), (None, Origin::Default));
        // Written as an integer with separators: read as the number.
        let d = toml("[server]\ndefault_cache_timeout = 1_0\n");
        let e = m.effective(Some(&d), "server.default_cache_timeout");
        assert_eq!((value(&e), e.raw.as_deref()), (Some("10"), Some("1_0")));
    }

    #[test]
    fn the_index_gives_what_each_lookup_works_out() {
        let Some((home, m)) = load_fixture("4.2.0") else {
            return;
        };
        let text = std::fs::read_to_string(home.join("repository/conf/deployment.toml")).unwrap();
        let extra =
            "[database.apim_db]\ntype = \"oracle\"\n[user_store]\ntype = \"database_unique_id\"\n";
        // Every user key of key-mappings.json that has a target, written in reverse key order
        // so that "written last" and "last in key order" differ.
        let mut aliases = String::new();
        for alias in m.aliases.keys().rev() {
            aliases.push_str(&format!("{alias} = \"1\"\n"));
        }
        for d in [toml(&text), toml(extra), toml(&aliases)] {
            let index = m.index(&d);
            let targets: Vec<&String> = m.aliases.values().flatten().collect();
            let keys = m
                .defaults
                .keys()
                .chain(m.aliases.keys())
                .chain(targets.iter().copied())
                .chain(d.entries.keys())
                .chain(index.inferred.keys());
            for key in keys {
                // The alias that sets `key`, found by scanning the file as each lookup once did.
                let scanned = d
                    .entries
                    .values()
                    .filter(|e| e.key != *key)
                    .filter(|e| {
                        m.aliases
                            .get(&e.key)
                            .is_some_and(|targets| targets.iter().any(|t| t == key))
                    })
                    .max_by_key(|e| e.key_span.start)
                    .map(|e| &e.key);
                assert_eq!(index.aliased.get(key), scanned, "{key}");
                assert_eq!(
                    m.effective_with(Some(&d), Some(&index), key),
                    m.effective(Some(&d), key),
                    "{key}"
                );
            }
        }
    }

    #[test]
    fn database_type_infers_validation_query() {
        let Some((_, m)) = load_fixture("4.2.0") else {
            return;
        };
        let d = toml(
            "[database.apim_db]\ntype = \"oracle\"\n[database.shared_db]\ntype = \"postgre\"\nvalidationQuery = \"SELECT 2\"\n",
        );
        let e = m.effective(Some(&d), "database.apim_db.validationQuery");
        assert_eq!(value(&e), Some("SELECT 1 FROM DUAL"));
        assert_eq!(
            e.origin,
            Origin::Inferred {
                from_key: "database.apim_db.type".into()
            }
        );
        let e = m.effective(Some(&d), "database.apim_db.url");
        assert_eq!(
            value(&e),
            Some(
                "jdbc:oracle:thin:@$ref{database.apim_db.hostname}:$ref{database.apim_db.port}/$ref{database.apim_db.sid}"
            )
        );
        // A user value beats the inferred one.
        let e = m.effective(Some(&d), "database.shared_db.validationQuery");
        assert_eq!(value(&e), Some("SELECT 2"));
        // Nested inference: user_store.type → tenant_mgt.tenant_manager.type → its class.
        let d = toml("[user_store]\ntype = \"database_unique_id\"\n");
        let e = m.effective(Some(&d), "tenant_mgt.tenant_manager.class");
        assert_eq!(
            value(&e),
            Some("org.wso2.carbon.user.core.tenant.JDBCTenantManager")
        );
        assert_eq!(
            e.origin,
            Origin::Inferred {
                from_key: "user_store.type".into()
            }
        );
        // A selector value the rule does not know infers nothing.
        let d = toml("[database.apim_db]\ntype = \"sybase\"\n");
        let e = m.effective(Some(&d), "database.apim_db.validationQuery");
        assert_eq!((value(&e), &e.origin), (Some("SELECT 1"), &Origin::Default));
    }

    #[test]
    fn malformed_json_is_located_and_the_rest_used() {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("conf");
        std::fs::create_dir(&conf).unwrap();
        std::fs::write(
            conf.join("default.json"),
            "{\n  \"a.b\": \"product\",\n  \"x.'y'\": 5\n}\n",
        )
        .unwrap();
        std::fs::write(
            conf.join("org.one.default.json"),
            "{\n  \"a.b\": \"component\",\n  \"c\" 1\n}\n",
        )
        .unwrap();
        std::fs::write(
            conf.join("org.two.default.json"),
            "{ \"a.b\": \"two\", \"d.password\": \"hunter2-x\" }",
        )
        .unwrap();
        std::fs::write(conf.join("key-mappings.json"), "[1]").unwrap();
        std::fs::write(
            conf.join("org.k.unit-resolve.json"),
            "\u{feff}{\"time\": {\"x.y\": \"s\"}}",
        )
        .unwrap();
        let (m, problems) = load(dir.path(), &conf);
        let m = m.unwrap();
        assert_eq!(problems.len(), 2, "{problems:?}");
        let p = &problems[0];
        assert_eq!(p.kind, ProblemKind::Unparseable);
        assert_eq!(p.location.file, "conf/org.one.default.json");
        assert_eq!((p.location.line, p.location.column), (Some(3), Some(7)));
        assert_eq!(p.message, "expected `:`");
        assert_eq!(problems[1].location.file, "conf/key-mappings.json");
        assert_eq!(m.defaults["a.b"], "product");
        assert_eq!(m.defaults["x.y"], 5);
        assert_eq!(m.defaults["d.password"], REDACTED);
        assert!(!format!("{m:?}").contains("hunter2-x"));
        assert_eq!(m.units["x.y"], "s");
        assert_eq!(value(&m.effective(None, "x.y")), Some("5"));
        assert_eq!(
            m.origin,
            DefaultsOrigin::Files(vec![
                "conf/default.json".into(),
                "conf/org.two.default.json".into(),
                "conf/org.k.unit-resolve.json".into()
            ])
        );
    }

    #[test]
    fn truncated_json_is_located() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("default.json"), "{\n  \"a\": \"b\",\n").unwrap();
        let (m, problems) = load(dir.path(), dir.path());
        assert!(m.is_some());
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].location.line, Some(3));
        assert!(
            problems[0].message.starts_with("end of file"),
            "{}",
            problems[0].message
        );
    }

    /// The defaults as `add_default` builds them, one key at a time, from the files `load` reads.
    fn defaults_key_by_key(conf: &Path) -> BTreeMap<String, Value> {
        let mut names: Vec<String> = std::fs::read_dir(conf)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        let mut m = builtin(BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
        for (_, path) in files_of(conf, &names, "default") {
            let Read::File(file) = read_path(conf, &path) else {
                continue;
            };
            if let Ok(object) = parse_object(&file) {
                for (key, value) in object {
                    m.add_default(key, value);
                }
            }
        }
        m.defaults
    }

    #[test]
    fn defaults_merged_file_by_file_are_the_defaults_added_key_by_key() {
        // Every corpus home with mapping files.
        let Some(corpus) = crate::test_support::shared("fixtures/wso2") else {
            eprintln!("note: shared/fixtures/wso2 is absent; corpus part skipped");
            return;
        };
        let mut seen = 0;
        for home in std::fs::read_dir(corpus).unwrap() {
            let conf = home.unwrap().path().join("repository/resources/conf");
            if !conf.join("default.json").is_file() {
                continue;
            }
            let (m, _) = load(&conf, &conf);
            assert_eq!(m.unwrap().defaults, defaults_key_by_key(&conf), "{conf:?}");
            seen += 1;
        }
        assert!(seen > 0);
        // A file with a quoted key takes the key-by-key path; the product file still wins over
        // components, and an earlier component over a later one.
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path();
        std::fs::write(
            conf.join("default.json"),
            r#"{"a.b": 1, "x.'y'": 2, "db.password": "p"}"#,
        )
        .unwrap();
        std::fs::write(
            conf.join("c1.default.json"),
            r#"{"a.b": 10, "x.y": 20, "z": 30, "k.Secret": "s", "a.b": 11}"#,
        )
        .unwrap();
        // One key written two ways in one file: the first in sorted order (`'` sorts before
        // letters) is kept, as adding key by key keeps it.
        std::fs::write(
            conf.join("c2.default.json"),
            r#"{"z": 300, "w": 4, "q.r": 2, "q.'r'": 1}"#,
        )
        .unwrap();
        let (m, problems) = load(conf, conf);
        assert!(problems.is_empty(), "{problems:?}");
        let defaults = m.unwrap().defaults;
        assert_eq!(defaults, defaults_key_by_key(conf));
        assert_eq!(defaults["a.b"], 1);
        assert_eq!(defaults["x.y"], 2);
        assert_eq!(defaults["z"], 30);
        assert_eq!(defaults["w"], 4);
        assert_eq!(defaults["q.r"], 1);
        assert_eq!(defaults["db.password"], REDACTED);
        assert_eq!(defaults["k.Secret"], REDACTED);
    }

    #[test]
    fn missing_dir_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let (m, problems) = load(dir.path(), &dir.path().join("nope/conf"));
        assert!(m.is_none());
        assert!(problems.is_empty());
        // Component files alone do not make a 3.x/4.x home.
        std::fs::write(dir.path().join("org.x.default.json"), "{}").unwrap();
        let (m, _) = load(dir.path(), dir.path());
        assert!(m.is_none());
    }

    #[test]
    fn builtin_tables_work_without_files() {
        let m = builtin(
            BTreeMap::from([(
                "transport.http.socket_timeout".to_string(),
                vec!["passthru_http.'http.socket.timeout'".to_string()],
            )]),
            BTreeMap::from([("server.default_cache_timeout".to_string(), "m".to_string())]),
            BTreeMap::from([
                (
                    "passthru_http.\"http.socket.timeout\"".to_string(),
                    Value::from(180000),
                ),
                (
                    "server.default_cache_timeout".to_string(),
                    Value::from("15m"),
                ),
            ]),
        );
        assert_eq!(m.origin, DefaultsOrigin::BuiltIn);
        let e = m.effective(None, "passthru_http.'http.socket.timeout'");
        assert_eq!(value(&e), Some("180000"));
        let e = m.effective(None, "server.default_cache_timeout");
        assert_eq!((value(&e), e.raw.as_deref()), (Some("15"), Some("15m")));
        let d = toml("[transport.http]\nsocket_timeout = 5\n");
        assert_eq!(
            value(&m.effective(Some(&d), "passthru_http.'http.socket.timeout'")),
            Some("5")
        );
    }

    #[test]
    fn placeholders_are_kept() {
        let m = builtin(
            BTreeMap::new(),
            BTreeMap::from([("a.t".to_string(), "s".to_string())]),
            BTreeMap::from([("a.t".to_string(), Value::from("$ref{b.t}"))]),
        );
        let e = m.effective(None, "a.t");
        assert_eq!(value(&e), Some("$ref{b.t}"));
    }

    #[test]
    fn unit_resolution_follows_the_product() {
        assert_eq!(resolve_unit("900s", "s").as_deref(), Some("900"));
        assert_eq!(resolve_unit("15m", "s").as_deref(), Some("900"));
        assert_eq!(resolve_unit("2m", "ms").as_deref(), Some("120000"));
        assert_eq!(resolve_unit("15", "s").as_deref(), Some("15"));
        assert_eq!(resolve_unit("1d", "h").as_deref(), Some("24"));
        assert_eq!(resolve_unit("90s", "m").as_deref(), Some("1"));
        assert_eq!(resolve_unit("15 m", "s").as_deref(), Some("900"));
        assert_eq!(resolve_unit("1.5h", "s").as_deref(), Some("3600"));
        assert_eq!(resolve_unit("500ms", "ms").as_deref(), Some("500"));
        assert_eq!(resolve_unit("30s", "m"), None);
        assert_eq!(resolve_unit("15min", "s"), None);
        assert_eq!(resolve_unit("soon", "s"), None);
        assert_eq!(resolve_unit("15m", "fortnight"), None);
        assert_eq!(resolve_unit("0s", "m").as_deref(), Some("0"));
        assert_eq!(
            resolve_unit("99999999999999999999d", "ms").as_deref(),
            Some(i64::MAX.to_string().as_str())
        );
    }

    #[test]
    fn infer_json_real_structure() {
        let Some((_, m)) = load_fixture("3.2.0") else {
            return;
        };
        let rules = m.infer.as_object().unwrap();
        assert!(rules.contains_key("database.$1.type"));
        assert!(rules.contains_key("user_store.type"));
        assert!(rules.contains_key("server.server_role"));
        let (rule, captures) = match_rule(rules, "database.apim_db.type").unwrap();
        assert_eq!(rule, "database.$1.type");
        assert_eq!(captures, [("$1".to_string(), "apim_db".to_string())]);
        assert!(match_rule(rules, "database.'a.b'.type").is_none());
        assert!(match_rule(rules, "database.x.y.type").is_none());
    }
}
