//! The real WSO2 configuration corpus (`../shared/fixtures/wso2`, a sibling of the crate in CI):
//! every shipped file must parse with the parser the audit uses for it, and a full audit of every
//! real API-M home must run cleanly, through the library and through the binary.
//!
//! The corpus is not part of the crate, so a checkout without it skips these tests, each with a
//! `SKIPPED:` line on stderr; under `CI=true` a missing corpus fails them (see
//! `src/test_support/skip.rs`). Failures are collected and reported together, each naming
//! its file, so one run shows everything that is wrong with the corpus.

use apim_tune::apim::{Layout, deployment_toml, jvm, mapper, properties, xml};
use apim_tune::audit::{self, AuditOptions};
use apim_tune::diag::Code;
use apim_tune::diag::{Finding, Fix, FixShape};
use apim_tune::host::detect::Overrides;
use apim_tune::model::SourceFile;
use apim_tune::version::Version;
use serde_json::Value;
use std::io::Write;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::Output;

#[path = "../src/test_support/skip.rs"]
mod skip;

/// Written to the real stderr rather than with `eprintln!`: the test harness captures `eprintln!`
/// of a passing test (see `src/test_support/skip.rs`).
fn notice(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// The corpus folder, or `None` (the test said SKIPPED) when this checkout has no `shared/`.
#[track_caller]
fn corpus() -> Option<PathBuf> {
    skip::shared("fixtures/wso2")
}

fn panic_message(e: &Box<dyn std::any::Any + Send>) -> String {
    e.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| e.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into())
}

/// Panics with every collected failure, one per line, so all broken files show at once.
fn report(what: &str, failures: &[String]) {
    assert!(
        failures.is_empty(),
        "{what}: {} failure(s):\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}

/// Every regular file under `dir`, sorted, so failures come out in a stable order.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            walk(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// A real API-M home of the corpus: `apim-X.Y.Z`, not the `-ansible` template folders.
struct Home {
    dir: PathBuf,
    version: Version,
}

impl Home {
    /// Mirrors the product: deployment.toml became the source of truth in 3.0.
    fn layout(&self) -> Layout {
        if self.version.major < 3 {
            Layout::Xml
        } else {
            Layout::Toml
        }
    }
}

fn homes(corpus: &Path) -> Vec<Home> {
    let mut homes: Vec<Home> = std::fs::read_dir(corpus)
        .expect("list corpus")
        .map(|e| e.expect("corpus entry").path())
        .filter(|p| p.is_dir())
        .filter_map(|dir| {
            let name = dir.file_name()?.to_str()?.to_string();
            let version = name.strip_prefix("apim-")?;
            if version.contains('-') {
                return None; // `apim-4.2.0-ansible`: templates, not a home
            }
            let version = Version::parse_prefix(version)
                .unwrap_or_else(|| panic!("corpus folder `{name}` has no version in its name"));
            Some(Home { dir, version })
        })
        .collect();
    homes.sort_by_key(|h| h.version);
    assert!(
        !homes.is_empty(),
        "the corpus at {} has no apim-X.Y.Z home",
        corpus.display()
    );
    homes
}

/// The version of the home a corpus file belongs to (`None` for the `-ansible` folders).
fn home_version_of(corpus: &Path, file: &Path) -> Option<Version> {
    let top = file.strip_prefix(corpus).ok()?.components().next()?;
    let name = top.as_os_str().to_str()?.strip_prefix("apim-")?;
    if name.contains('-') {
        return None;
    }
    Version::parse_prefix(name)
}

fn source_file(path: &Path, display: &str) -> std::sync::Arc<SourceFile> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{display}: cannot read: {e}"));
    let text = String::from_utf8(bytes).unwrap_or_else(|e| panic!("{display}: not UTF-8: {e}"));
    SourceFile::new(path.to_path_buf(), display.to_string(), text)
}

#[derive(Default)]
struct Counts {
    xml: usize,
    properties: usize,
    toml: usize,
    json: usize,
    scripts: usize,
    skipped_templates: usize,
}

#[test]
fn every_shipped_file_parses() {
    let Some(corpus) = corpus() else { return };
    let mut files = Vec::new();
    walk(&corpus, &mut files);
    let mut failures = Vec::new();
    let mut n = Counts::default();

    for path in &files {
        let rel = path.strip_prefix(&corpus).unwrap_or(path);
        let display = rel.to_string_lossy().into_owned();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name == "MANIFEST.md" || name == ".gitattributes" {
            continue;
        }
        // Jinja templates are not valid XML/TOML/shell until rendered; the audit never reads them.
        if name.ends_with(".j2") {
            n.skipped_templates += 1;
            continue;
        }
        let file = source_file(path, &display);
        let version = home_version_of(&corpus, path);

        // A parser panic must still name its file, and must not hide the files after it.
        let checked = panic::catch_unwind(AssertUnwindSafe(|| {
            if name == "deployment.toml" {
                n.toml += 1;
                check_toml(&display, file, &mut failures);
            } else if name.ends_with(".xml") {
                n.xml += 1;
                check_xml(&display, name, version, file, &mut failures);
            } else if name.ends_with(".properties") {
                n.properties += 1;
                check_properties(&display, name, file, &mut failures);
            } else if name.ends_with(".json") && display.contains("repository/resources/conf/") {
                n.json += 1;
                check_json(&display, &file.text, &mut failures);
            } else if name.ends_with(".sh") {
                n.scripts += 1;
                check_script(&display, file, &mut failures);
            } else {
                // A new kind of fixture must get a parser here, not be skipped unnoticed.
                failures.push(format!(
                    "{display}: no parser in this test for this kind of file"
                ));
            }
        }));
        if let Err(e) = checked {
            failures.push(format!("{display}: panicked: {}", panic_message(&e)));
        }
    }

    // The mapper reads the JSON files as one set (product file first, then components); each file
    // parsing alone does not prove the set loads.
    for home in homes(&corpus).iter().filter(|h| h.layout() == Layout::Toml) {
        check_mapper(&corpus, home, &mut failures);
    }

    report("corpus files", &failures);
    let parsed = n.xml + n.properties + n.toml + n.json + n.scripts;
    notice(&format!(
        "corpus: parsed {parsed} files ({} xml, {} properties, {} deployment.toml, {} json, {} scripts); {} templates skipped",
        n.xml, n.properties, n.toml, n.json, n.scripts, n.skipped_templates
    ));
}

fn check_xml(
    display: &str,
    name: &str,
    version: Option<Version>,
    file: std::sync::Arc<SourceFile>,
    failures: &mut Vec<String>,
) {
    let doc = match xml::parse(file) {
        Ok(doc) => doc,
        Err(p) => {
            failures.push(format!(
                "{display}: xml parse error at {}: {}",
                p.location, p.message
            ));
            return;
        }
    };
    let root = match name {
        "api-manager.xml" => Some("APIManager"),
        "carbon.xml" | "identity.xml" | "catalina-server.xml" => Some("Server"),
        "axis2.xml" | "axis2_client.xml" => Some("axisconfig"),
        "master-datasources.xml" => Some("datasources-configuration"),
        _ => None,
    };
    if let Some(want) = root
        && doc.root.name != want
    {
        failures.push(format!(
            "{display}: root element is <{}>, expected <{want}>",
            doc.root.name
        ));
    }
    let count = |xpath: &str| {
        let path = xml::XPath::parse(xpath).unwrap_or_else(|e| panic!("bad xpath {xpath}: {e}"));
        doc.query_elements(&path).len()
    };
    // The token cache switch APM010 reads; a second hit would mean a commented-out copy leaked in.
    if name == "api-manager.xml" && version.is_some_and(|v| v >= Version::new(2, 1, 0)) {
        let xpath = "/APIManager/CacheConfigurations/EnableGatewayTokenCache";
        let path = xml::XPath::parse(xpath).expect("xpath");
        let hits = doc.query(&path);
        if hits.len() != 1 || hits[0].value.trim() != "true" {
            let values: Vec<&str> = hits.iter().map(|h| h.value.as_str()).collect();
            failures.push(format!(
                "{display}: {xpath} gave {values:?}, expected exactly [\"true\"]"
            ));
        }
    }
    if name == "master-datasources.xml"
        && count("/datasources-configuration/datasources/datasource") == 0
    {
        failures.push(format!("{display}: no <datasource> found"));
    }
    if name == "carbon.xml" && count("/Server/Version") != 1 {
        failures.push(format!("{display}: expected exactly one /Server/Version"));
    }
}

fn check_properties(
    display: &str,
    name: &str,
    file: std::sync::Arc<SourceFile>,
    failures: &mut Vec<String>,
) {
    let (props, problems) = properties::parse(file);
    for p in &problems {
        failures.push(format!(
            "{display}: properties problem at {}: {}",
            p.location, p.message
        ));
    }
    if props.entries.is_empty() {
        failures.push(format!("{display}: no entries found"));
    }
    // Keys set (not commented out) in every shipped version of these files.
    let key = match name {
        "nhttp.properties" => Some("rest_uri_api_regex"),
        "passthru-http.properties" => Some("worker_pool_size_core"),
        "synapse.properties" => Some("synapse.global_timeout_interval"),
        _ => None,
    };
    if let Some(key) = key
        && props.get(key).is_none()
    {
        failures.push(format!("{display}: key `{key}` not found"));
    }
    // synapse.properties ships with CRLF line ends: a stray `\r` would make every value wrong.
    for e in &props.entries {
        if e.key.contains('\r') || e.value.contains('\r') {
            failures.push(format!(
                "{display}:{}: carriage return kept in `{}`",
                e.line, e.key
            ));
        }
    }
}

fn check_toml(display: &str, file: std::sync::Arc<SourceFile>, failures: &mut Vec<String>) {
    let doc = match deployment_toml::parse(file) {
        Ok(doc) => doc,
        Err(p) => {
            failures.push(format!(
                "{display}: toml parse error at {}: {}",
                p.location, p.message
            ));
            return;
        }
    };
    match doc.get("database.apim_db.type") {
        Some(e) if e.value == "h2" => {}
        Some(e) => failures.push(format!(
            "{display}: database.apim_db.type is `{}`, expected `h2`",
            e.value
        )),
        None => failures.push(format!("{display}: database.apim_db.type not found")),
    }
    // The parser is where secrets are masked; everything downstream relies on it.
    match doc.get("database.apim_db.password") {
        Some(e) if e.secret && e.value == deployment_toml::REDACTED => {}
        Some(e) => failures.push(format!(
            "{display}: database.apim_db.password not masked (secret: {})",
            e.secret
        )),
        None => failures.push(format!("{display}: database.apim_db.password not found")),
    }
}

fn check_json(display: &str, text: &str, failures: &mut Vec<String>) {
    // The product's loader tolerates a byte-order mark, and so does the mapper.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(o)) if !o.is_empty() => {}
        Ok(Value::Object(_)) => failures.push(format!("{display}: empty json object")),
        Ok(_) => failures.push(format!("{display}: top level is not a json object")),
        Err(e) => failures.push(format!("{display}: json parse error: {e}")),
    }
}

fn check_script(display: &str, file: std::sync::Arc<SourceFile>, failures: &mut Vec<String>) {
    let (opts, problems) = jvm::parse(file);
    for p in &problems {
        failures.push(format!(
            "{display}: script problem at {}: {}",
            p.location, p.message
        ));
    }
    for flag in ["-Xmx", "-Xms"] {
        if opts.all(flag).is_empty() {
            failures.push(format!("{display}: no `{flag}` found"));
        }
    }
}

fn check_mapper(corpus: &Path, home: &Home, failures: &mut Vec<String>) {
    let conf = home.dir.join("repository/resources/conf");
    let display = conf
        .strip_prefix(corpus)
        .unwrap_or(&conf)
        .display()
        .to_string();
    let json_files = std::fs::read_dir(&conf)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
                .count()
        })
        .unwrap_or(0);
    let (mapper, problems) = mapper::load(Path::new("/"), &conf);
    for p in &problems {
        failures.push(format!(
            "{display}: mapper problem at {}: {}",
            p.location, p.message
        ));
    }
    let Some(mapper) = mapper else {
        failures.push(format!("{display}: mapper found no default.json"));
        return;
    };
    match &mapper.origin {
        mapper::DefaultsOrigin::Files(read) if read.len() == json_files => {}
        other => failures.push(format!(
            "{display}: mapper read {other:?}, expected all {json_files} json files"
        )),
    }
    if !mapper
        .defaults
        .contains_key("apim.cache.gateway_token.enable")
    {
        failures.push(format!(
            "{display}: merged defaults lack apim.cache.gateway_token.enable"
        ));
    }
    if mapper.aliases.is_empty() || mapper.units.is_empty() {
        failures.push(format!("{display}: key mappings or unit table empty"));
    }
}

// ------------------------------------------------------------------------------------------------
// Full audits

fn overrides() -> Overrides {
    Overrides {
        cores: Some(4),
        memory_mb: Some(8192),
        java_version: Some(17),
        ..Overrides::default()
    }
}

/// The binary with an environment that cannot pick another home or colour on its own.
fn binary() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::new(env!("CARGO_BIN_EXE_apim-tune"));
    for var in ["APIM_HOME", "CARBON_HOME", "JAVA_HOME", "NO_COLOR"] {
        cmd.env_remove(var);
    }
    cmd
}

fn audit_args(root: &Path, home: &Path, format: &str) -> Vec<String> {
    [
        "audit",
        "--root",
        &root.to_string_lossy(),
        "--apim-home",
        &home.to_string_lossy(),
        "--cores",
        "4",
        "--memory",
        "8G",
        "--java-version",
        "17",
        "--format",
        format,
        "--color",
        "never",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Exit 0 or 1 is an audit that ran (with or without findings); 2 or a signal is the tool failing.
fn check_exit(label: &str, out: &Output, failures: &mut Vec<String>) -> bool {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let ok = matches!(out.status.code(), Some(0 | 1)) && !stderr.contains("panicked");
    if !ok {
        failures.push(format!(
            "{label}: exit status {:?}, stderr:\n{stderr}",
            out.status
        ));
    }
    ok
}

/// On 3.x/4.x the XML/properties files in repository/conf are overwritten at every start-up, so
/// a finding (or a fix) on them would send the operator to edit a file the product discards.
fn allowed_on_toml_layout(home: &Path, file: &str) -> bool {
    match Path::new(file).strip_prefix(home) {
        Ok(rel) => {
            rel == Path::new("repository/conf/deployment.toml")
                || rel == Path::new("bin/api-manager.sh")
                || rel == Path::new("bin/wso2server.sh")
        }
        // Not named under the home as given (another spelling of its path, say). The root is
        // empty, so no host file can be named either: judge by name rather than let it through.
        Err(_) => {
            !(file.contains("repository/")
                || file.ends_with(".xml")
                || file.ends_with(".properties"))
                || file.ends_with("repository/conf/deployment.toml")
        }
    }
}

fn finding_files(f: &Finding) -> Vec<String> {
    let mut files: Vec<String> = f.location.iter().map(|l| l.file.clone()).collect();
    match f.fix.as_ref().map(Fix::shape) {
        Some(FixShape::Replace { location, .. } | FixShape::RemoveLine { location, .. }) => {
            files.push(location.file.clone())
        }
        Some(FixShape::Insert { file, .. }) => files.push(file.to_string()),
        Some(FixShape::Move { from, file, .. }) => {
            files.push(from.file.clone());
            files.push(file.to_string());
        }
        None => {}
    }
    files.dedup();
    files
}

#[test]
fn every_home_audits_cleanly() {
    let Some(corpus) = corpus() else { return };
    let homes = homes(&corpus);
    let mut failures = Vec::new();
    let mut findings_seen = 0;

    for home in &homes {
        let label = home.dir.file_name().unwrap().to_string_lossy().into_owned();
        // An empty root: the host half of the audit has nothing to read, so only the home varies.
        let root = tempfile::tempdir().expect("tempdir");

        // Library.
        let opts = AuditOptions {
            root: root.path().to_path_buf(),
            apim_home: Some(home.dir.clone()),
            overrides: overrides(),
            ..AuditOptions::default()
        };
        let run = panic::catch_unwind(|| audit::run(&opts));
        let Ok(run) = run else {
            let e = run.unwrap_err();
            failures.push(format!(
                "{label} (library): panicked: {}",
                panic_message(&e)
            ));
            continue;
        };
        match run {
            Err(e) => failures.push(format!("{label} (library): audit failed: {e}")),
            Ok(report) => {
                findings_seen += report.findings.len();
                for f in &report.findings {
                    if [Code::SOURCE_UNREADABLE, Code::SOURCE_UNPARSEABLE].contains(&f.code) {
                        failures.push(format!(
                            "{label} (library): {} on {}: {}",
                            f.code, f.subject, f.message
                        ));
                    }
                    if home.layout() == Layout::Toml {
                        for file in finding_files(f) {
                            if !allowed_on_toml_layout(&home.dir, &file) {
                                failures.push(format!(
                                    "{label} (library): {} {} points at regenerated copy {file}",
                                    f.code, f.subject
                                ));
                            }
                        }
                    }
                }
                match &report.apim {
                    None => failures.push(format!("{label} (library): no apim summary")),
                    Some(a) => {
                        let want = home.version.to_string();
                        if a.version.as_deref() != Some(want.as_str()) {
                            failures.push(format!(
                                "{label} (library): apim.version {:?}, expected {want}",
                                a.version
                            ));
                        }
                        if a.layout != home.layout().as_str() {
                            failures.push(format!(
                                "{label} (library): apim.layout {}, expected {}",
                                a.layout,
                                home.layout().as_str()
                            ));
                        }
                    }
                }
            }
        }
        // Binary.
        let label_bin = format!("{label} (binary)");
        let out = binary()
            .args(audit_args(root.path(), &home.dir, "json"))
            .output()
            .expect("run apim-tune");
        if !check_exit(&label_bin, &out, &mut failures) {
            continue;
        }
        let json: Value = match serde_json::from_slice(&out.stdout) {
            Ok(v) => v,
            Err(e) => {
                failures.push(format!("{label_bin}: stdout is not json: {e}"));
                continue;
            }
        };
        let want = home.version.to_string();
        if json["apim"]["version"].as_str() != Some(want.as_str()) {
            failures.push(format!(
                "{label_bin}: apim.version {}, expected {want}",
                json["apim"]["version"]
            ));
        }
        if json["apim"]["layout"].as_str() != Some(home.layout().as_str()) {
            failures.push(format!(
                "{label_bin}: apim.layout {}, expected {}",
                json["apim"]["layout"],
                home.layout().as_str()
            ));
        }
        let findings = json["findings"].as_array().cloned().unwrap_or_default();
        if json["findings"].as_array().is_none() {
            failures.push(format!("{label_bin}: no findings array"));
        }
        for f in &findings {
            let code = f["code"].as_str().unwrap_or("");
            if code == "SRC001" || code == "SRC002" {
                failures.push(format!(
                    "{label_bin}: {code} on {}: {}",
                    f["subject"], f["message"]
                ));
            }
            if home.layout() == Layout::Toml {
                for file in [&f["file"], &f["fix"]["file"]]
                    .into_iter()
                    .filter_map(|v| v.as_str())
                {
                    if !allowed_on_toml_layout(&home.dir, file) {
                        failures.push(format!(
                            "{label_bin}: {code} {} points at regenerated copy {file}",
                            f["subject"]
                        ));
                    }
                }
            }
        }
    }

    report("corpus homes", &failures);
    notice(&format!(
        "corpus: audited {} homes ({}) through the library and the binary, {findings_seen} findings",
        homes.len(),
        homes
            .iter()
            .map(|h| h.version.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    ));
}

// ------------------------------------------------------------------------------------------------
// Secrets

const SECRET: &str = "Corpus-S3cret-Value";

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

#[test]
fn datasource_passwords_never_printed() {
    let Some(corpus) = corpus() else { return };
    let source = corpus.join("apim-4.2.0");
    assert!(
        source.is_dir(),
        "{} is missing from the corpus",
        source.display()
    );

    // The shipped passwords equal the usernames (`wso2carbon`), which are rightly printed; a
    // distinctive value is the only way to tell a leaked password from a shown username.
    let tmp = tempfile::tempdir().expect("tempdir");
    // Keep the folder's name: the version is detected from it.
    let home = tmp.path().join("apim-4.2.0");
    copy_dir(&source, &home);
    let toml_path = home.join("repository/conf/deployment.toml");
    let text = std::fs::read_to_string(&toml_path).expect("read deployment.toml");
    let mut replaced = 0;
    let edited: Vec<String> = text
        .lines()
        .map(|line| match line.split_once('=') {
            Some((key, value))
                if !line.trim_start().starts_with('#')
                    && key.trim().ends_with("password")
                    && value.trim() == "\"wso2carbon\"" =>
            {
                replaced += 1;
                format!("{} = \"{SECRET}\"", key.trim())
            }
            _ => line.to_string(),
        })
        .collect();
    // Both datasources and the TLS keystore (password, key_password).
    assert!(
        replaced >= 2,
        "expected to replace the datasource passwords in {}, replaced {replaced}",
        toml_path.display()
    );
    std::fs::write(&toml_path, edited.join("\n") + "\n").expect("write deployment.toml");

    let root = tempfile::tempdir().expect("tempdir");
    let mut failures = Vec::new();
    for format in ["text", "json"] {
        let label = format!("apim-4.2.0 with secrets (--format {format})");
        let out = binary()
            .args(audit_args(root.path(), &home, format))
            .output()
            .expect("run apim-tune");
        check_exit(&label, &out, &mut failures);
        for (stream, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            if String::from_utf8_lossy(bytes).contains(SECRET) {
                failures.push(format!("{label}: the password value appears on {stream}"));
            }
        }
        // Without this the test would also pass if the edited file were never read at all.
        if !String::from_utf8_lossy(&out.stdout).contains("deployment.toml") {
            failures.push(format!(
                "{label}: no finding from deployment.toml; was it read?"
            ));
        }
    }
    report("secrets", &failures);
}

/// Deleted byte ranges of `before` (char-level diff), as (start, end) byte offsets.
fn deleted_ranges(before: &str, after: &str) -> Vec<(usize, usize)> {
    use similar::{ChangeTag, TextDiff};
    let diff = TextDiff::configure()
        .timeout(std::time::Duration::from_secs(5))
        .diff_chars(before, after);
    let mut out = Vec::new();
    let mut offset = 0;
    for change in diff.iter_all_changes() {
        let len = change.value().len();
        match change.tag() {
            ChangeTag::Equal => offset += len,
            ChangeTag::Delete => {
                out.push((offset, offset + len));
                offset += len;
            }
            ChangeTag::Insert => {}
        }
    }
    out
}

/// Applies the profile's fixes to a copy of every real home (under an otherwise empty root) and
/// checks: the written file is the original with exactly the planned value replacements, plus
/// pure insertions (so every other byte is unchanged and in place),
/// the results still parse, the binary writes exactly what was planned, and a second apply is
/// a no-op.
#[test]
fn apply_round_trips_on_every_home() {
    let Some(corpus) = corpus() else { return };
    let mut failures = Vec::new();
    let mut edited = 0;
    for home in homes(&corpus) {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path().join("root");
        let name = home.dir.file_name().expect("name").to_owned();
        let copy = root.join("opt").join(&name);
        copy_dir(&home.dir, &copy);
        let opts = AuditOptions {
            root: root.clone(),
            apim_home: Some(copy.clone()),
            overrides: overrides(),
            ..AuditOptions::default()
        };
        let label = home.dir.display().to_string();
        let (report, sources) = match audit::run_with_sources(&opts) {
            Ok(r) => r,
            Err(e) => {
                failures.push(format!("{label}: audit failed: {e}"));
                continue;
            }
        };
        let today = "2026-11-22";
        let plan = apim_tune::edit::plan::plan(
            &report,
            &sources,
            &apim_tune::edit::plan::PlanContext { root: &root, today },
        );
        // A fix the rule left to a person (display-only) is skipped by design; any other skip
        // is a fix --apply failed to realise.
        let left_to_a_person = |code: apim_tune::diag::Code, subject: &str| {
            report.findings.iter().any(|f| {
                f.code == code
                    && f.subject.to_string() == subject
                    && f.fix.as_ref().is_some_and(|x| !x.applies())
            })
        };
        for s in plan
            .skipped
            .iter()
            .filter(|s| !left_to_a_person(s.code, &s.subject))
        {
            failures.push(format!(
                "{label}: fix skipped: {} {}: {}",
                s.code, s.subject, s.reason
            ));
        }
        for f in &plan.files {
            let Some(before) = &f.before else { continue };
            edited += 1;
            // The original with exactly the planned value replacements made: the written file
            // must be this text plus pure insertions (new lines, `# ` markers, quotes, escapes).
            // -Xms follows the -Xmx the same plan sets (JVM012 after JVM001).
            let planned_xmx =
                report
                    .findings
                    .iter()
                    .find_map(|x| match x.fix.as_ref().map(Fix::shape) {
                        Some(FixShape::Replace { location, value })
                            if location.file == f.display
                                && x.subject.to_string().ends_with(":-Xmx") =>
                        {
                            Some(value.to_string())
                        }
                        _ => None,
                    });
            let mut replaces: Vec<(usize, usize, String)> = report
                .findings
                .iter()
                .filter_map(|x| match x.fix.as_ref().map(Fix::shape) {
                    Some(FixShape::Replace { location, value }) if location.file == f.display => {
                        let value = match &planned_xmx {
                            Some(xmx) if x.code == Code::HEAP_MIN_DIFFERS_FROM_MAX => xmx.clone(),
                            _ => value.to_string(),
                        };
                        location.span.map(|s| (s.start, s.end, value))
                    }
                    _ => None,
                })
                .collect();
            replaces.sort_by_key(|r| std::cmp::Reverse(r.0));
            let mut expected = before.clone();
            for (start, end, value) in replaces {
                let mut start = start;
                if value.is_empty() {
                    // Removing an option also removes the blanks before it.
                    while start > 0 && matches!(before.as_bytes()[start - 1], b' ' | b'\t') {
                        start -= 1;
                    }
                }
                if end <= expected.len() {
                    expected.replace_range(start..end, &value);
                }
            }
            for (s, e) in deleted_ranges(&expected, &f.after) {
                failures.push(format!(
                    "{}: {:?} (bytes {s}..{e} of the expected text) is missing or changed",
                    f.display,
                    &expected[s..e]
                ));
            }
        }
        let mut args = audit_args(&root, &copy, "text");
        args.extend(["--apply".into(), "--yes".into()]);
        let out = binary().args(&args).output().expect("run apim-tune");
        if !matches!(out.status.code(), Some(0 | 1)) {
            failures.push(format!(
                "{label}: --apply exited {:?}: {}",
                out.status.code(),
                String::from_utf8_lossy(&out.stderr)
            ));
            continue;
        }
        for f in &plan.files {
            let written = std::fs::read_to_string(&f.path).unwrap_or_default();
            if written != f.after {
                failures.push(format!(
                    "{}: --apply wrote something else than planned",
                    f.display
                ));
            }
        }
        match audit::run_with_sources(&opts) {
            Ok((again, sources)) => {
                for f in again.findings.iter().filter(|f| {
                    [Code::SOURCE_UNREADABLE, Code::SOURCE_UNPARSEABLE].contains(&f.code)
                }) {
                    failures.push(format!("{label}: after --apply: {} {}", f.code, f.message));
                }
                let second = apim_tune::edit::plan::plan(
                    &again,
                    &sources,
                    &apim_tune::edit::plan::PlanContext { root: &root, today },
                );
                for f in &second.files {
                    failures.push(format!(
                        "{label}: a second apply would change {}",
                        f.display
                    ));
                }
            }
            Err(e) => failures.push(format!("{label}: re-audit failed: {e}")),
        }
    }
    notice(&format!(
        "corpus: applied fixes to {edited} files of every home; round trip checked"
    ));
    report("apply round trip", &failures);
}

/// `db --apim-home` reads every shipped home's WSO2AM_DB datasource with the audit's parsers:
/// all of them are the embedded H2, which is refused with what to do, and the shipped password
/// (`wso2carbon`) is never in the message.
#[test]
fn db_reads_every_homes_datasource() {
    let Some(corpus) = corpus() else { return };
    let mut failures = Vec::new();
    for home in homes(&corpus) {
        let name = home.dir.display().to_string();
        match apim_tune::db::target::from_home(&home.dir) {
            Ok(t) => failures.push(format!(
                "{name}: expected the H2 refusal, got {}",
                t.display
            )),
            Err(e) if e.contains("H2") && e.contains("pass --url") && !e.contains("wso2carbon") => {
            }
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    report("datasources", &failures);
}

/// An absent corpus fails every corpus test under `CI=true`, and otherwise each says SKIPPED.
/// Before, the tests returned early and passed in CI too, so a CI without `../shared` tested
/// nothing and looked green.
/// See: issue 12.
#[test]
fn issue_12_absent_corpus_fails_in_ci_and_says_skipped_elsewhere() {
    let run = |ci: bool| {
        let mut cmd = std::process::Command::new(std::env::current_exe().expect("test binary"));
        cmd.args(["--skip", "issue_12_", "--test-threads", "1"])
            .env(skip::SHARED_ENV, "/nonexistent/shared");
        if ci {
            cmd.env("CI", "true");
        } else {
            cmd.env_remove("CI");
        }
        let out = cmd.output().expect("run the corpus test binary");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    };
    let tests = [
        "every_shipped_file_parses",
        "every_home_audits_cleanly",
        "datasource_passwords_never_printed",
        "apply_round_trips_on_every_home",
        "db_reads_every_homes_datasource",
    ];

    let (passed, text) = run(false);
    assert!(passed, "without CI an absent corpus skips:\n{text}");
    for t in tests {
        let line = format!(
            "SKIPPED: {t}: shared/fixtures/wso2 is absent (looked in /nonexistent/shared; "
        );
        assert!(text.contains(&line), "no `{line}`:\n{text}");
    }

    let (passed, text) = run(true);
    assert!(!passed, "under CI=true an absent corpus fails:\n{text}");
    for t in tests {
        let line = format!("{t}: shared/fixtures/wso2 is absent");
        assert!(text.contains(&line), "no `{line}`:\n{text}");
    }
    assert!(
        text.contains("(CI=true: a skipped test is a failure)"),
        "{text}"
    );
}
