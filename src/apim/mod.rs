//! The API-M home: where it is, which version and layout, and the effective value of each setting.
//!
//! Reads and locates only (with byte spans); it never judges a value. On 3.x/4.x the
//! `deployment.toml` (plus the product's default/key-mapping/unit files) is the only source: the
//! XML copies in `repository/conf` are regenerated at start-up and are never audited.

pub mod catalog;
pub mod datasources;
pub mod deployment_toml;
pub mod jdk_support;
pub mod jvm;
pub mod jvm_effect;
pub mod logging;
pub mod mapper;
pub mod ports;
pub mod properties;
pub mod role;
pub(crate) mod shell;
pub mod synapse_configs;
pub mod transport;
pub mod wiring;
pub mod xml;

use crate::diag::Subject;
use crate::model::{Location, SourceProblem, display_path};
use crate::source::{self, Read};
use crate::version::Version;
use catalog::{Place, Setting, SettingType};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// 1.x/2.x: the XML and properties files are edited directly.
    Xml,
    /// 3.x/4.x: `deployment.toml` is the source of truth.
    Toml,
}

impl Layout {
    pub fn as_str(self) -> &'static str {
        match self {
            Layout::Xml => "xml",
            Layout::Toml => "toml",
        }
    }
}

#[derive(Clone, Debug)]
pub struct ApimHome {
    pub path: PathBuf,
    /// How the home was chosen: `--apim-home`, `$APIM_HOME` or `$CARBON_HOME`.
    pub chosen_by: String,
    /// The version as detected (None when only the layout could be told).
    pub version: Option<Version>,
    pub version_source: String,
    /// The version used to pick setting locations: `version`, else the newest of the layout.
    pub effective_version: Version,
    pub layout: Layout,
}

impl ApimHome {
    /// Whether a JVM's `-Dcarbon.home` is this home: resolved under the root (links followed),
    /// it is the same directory. A path that does not resolve is not this home.
    pub fn is_carbon_home(&self, root: &Path, carbon_home: &str) -> bool {
        let resolved = crate::source::resolve_in_root(root, Path::new(carbon_home)).ok();
        // A home under the root is compared inside it: canonicalising would leave a
        // `/proc/PID/root` root (whose link reads `/`) for this machine's tree.
        if let Ok(rel) = self.path.strip_prefix(root) {
            let mine = crate::source::resolve_in_root(root, rel).ok();
            return resolved.is_some() && resolved == mine;
        }
        let resolved = resolved.and_then(|p| p.canonicalize().ok());
        resolved.is_some() && resolved == self.path.canonicalize().ok()
    }
}

/// Finds the API-M home: the flag, else `$APIM_HOME`, else `$CARBON_HOME`.
pub fn locate(flag: Option<&Path>) -> Option<(PathBuf, String)> {
    if let Some(p) = flag {
        return Some((p.to_path_buf(), "--apim-home".into()));
    }
    for var in ["APIM_HOME", "CARBON_HOME"] {
        if let Some(v) = std::env::var_os(var).filter(|v| !v.is_empty()) {
            return Some((PathBuf::from(v), format!("${var}")));
        }
    }
    None
}

/// Detects version and layout. A problem is returned when the home does not look like API-M.
pub fn detect(
    root: &Path,
    path: &Path,
    chosen_by: String,
    version_override: Option<Version>,
) -> Result<ApimHome, String> {
    if !path.is_dir() {
        return Err(format!(
            "API-M home `{}` ({chosen_by}) is not a directory",
            path.display()
        ));
    }
    let conf = path.join("repository/conf");
    if !conf.is_dir() {
        return Err(format!(
            "`{}` ({chosen_by}) has no `repository/conf`: not an API-M home",
            path.display()
        ));
    }
    let has_toml = conf.join("deployment.toml").is_file();
    let (version, version_source) = match version_override {
        Some(v) => (Some(v), "--apim-version".to_string()),
        None => detect_version(root, path),
    };
    let layout = match version {
        Some(v) if v.major < 3 => Layout::Xml,
        Some(_) => Layout::Toml,
        None if has_toml => Layout::Toml,
        None => Layout::Xml,
    };
    let effective_version = version.unwrap_or_else(|| fingerprint(path, layout));
    Ok(ApimHome {
        path: path.to_path_buf(),
        chosen_by,
        version,
        version_source,
        effective_version,
        layout,
    })
}

fn detect_version(root: &Path, home: &Path) -> (Option<Version>, String) {
    // carbon.xml carries the product version once the build has filtered `${product.version}`.
    let carbon = home.join("repository/conf/carbon.xml");
    if let Read::File(f) = source::read_path(root, &carbon)
        && let Ok(doc) = xml::parse(f)
        && let Ok(path) = xml::XPath::parse("/Server/Version")
        && let Some(hit) = doc.query(&path).first()
        && let Some(v) = strict_version(&hit.value)
    {
        return (
            Some(v),
            format!("{} <Version>", display_path(root, &carbon)),
        );
    }
    // A distribution unpacks to `wso2am-X.Y.Z`; people keep that name.
    if let Some(name) = home.file_name().and_then(|n| n.to_str())
        && let Some(v) = version_in_name(name)
    {
        return (Some(v), format!("the home's name `{name}`"));
    }
    (None, "not found in carbon.xml or the home's name".into())
}

fn strict_version(s: &str) -> Option<Version> {
    let s = s.trim();
    if s.split('.').count() >= 2 && s.chars().all(|c| c.is_ascii_digit() || c == '.') {
        Version::parse_prefix(s)
    } else {
        None
    }
}

fn version_in_name(name: &str) -> Option<Version> {
    name.split(['-', '_'])
        .filter_map(strict_version)
        .find(|v| (1..=9).contains(&v.major))
}

/// The newest version consistent with what the home contains, used when the version is unknown.
fn fingerprint(home: &Path, layout: Layout) -> Version {
    match layout {
        Layout::Toml if home.join("bin/api-manager.sh").is_file() => Version::new(4, 3, 0),
        Layout::Toml => Version::new(3, 2, 0),
        Layout::Xml => {
            let identity = home.join("repository/conf/identity/identity.xml");
            let api_manager = home.join("repository/conf/api-manager.xml");
            let contains = |p: &Path, needle: &str| {
                crate::source::read_text_at_most(p, crate::source::MAX_FILE_BYTES)
                    .map(|t| t.contains(needle))
                    .unwrap_or(false)
            };
            if contains(&identity, "<TokenCleanup>") {
                Version::new(2, 6, 0)
            } else if contains(&api_manager, "<CacheConfigurations>") {
                Version::new(2, 1, 0)
            } else {
                Version::new(1, 10, 0)
            }
        }
    }
}

/// A parsed file of the home, or why there is none.
enum Parsed<T> {
    Ok(T),
    Absent,
    Failed,
}

/// The effective value of one setting and where it comes from.
#[derive(Clone, Debug)]
pub struct Observed {
    pub setting: &'static Setting,
    /// `file:key` as people write it, e.g. `deployment.toml:apim.cache.km_token.enable`.
    pub subject: Subject,
    /// The value in effect; `None` when it is not set and has no known default.
    pub value: Option<String>,
    /// Where it is set, with the value's byte span; `None` when a default applies.
    pub set_at: Option<Location>,
    /// How the value was arrived at when not set explicitly (default, fallback, inference).
    pub note: Option<String>,
    /// The file a fix would change (display form) and the key it would write.
    pub file: String,
    pub key: String,
    /// Whether that file exists (an insert needs a file to insert into).
    pub file_exists: bool,
}

pub struct ApimModel {
    pub home: ApimHome,
    pub root: PathBuf,
    xml: BTreeMap<String, Parsed<xml::XmlDoc>>,
    props: BTreeMap<String, Parsed<properties::Properties>>,
    pub toml: Option<deployment_toml::DeploymentToml>,
    pub mapper: Option<mapper::ConfigMapper>,
    pub jvm: Option<jvm::JvmOptions>,
    /// log4j2.properties (3.x/4.x) or log4j.properties (1.x/2.x), when the home has it.
    pub logging: Option<logging::Logging>,
    /// user-mgt.xml on 1.x/2.x (the super admin), when the home has it; 3.x/4.x write it from
    /// deployment.toml's `[super_admin]`.
    pub user_mgt: Option<xml::XmlDoc>,
    pub problems: Vec<SourceProblem>,
    /// deployment.toml exists but could not be parsed: its settings are unknown, not defaults.
    toml_failed: bool,
    cores: u32,
    /// What `toml` sets through aliases and what `infer.json` fills from it, worked out on the
    /// first lookup: both walk every entry of the file, and the audit looks up dozens of keys.
    index: std::sync::OnceLock<mapper::DocIndex>,
    /// Every datasource, read on first use: three rules look at them.
    datasources: std::sync::OnceLock<Vec<datasources::Datasource>>,
}

impl ApimModel {
    pub fn load(root: &Path, home: ApimHome, cores: u32) -> ApimModel {
        let mut m = ApimModel {
            root: root.to_path_buf(),
            xml: BTreeMap::new(),
            props: BTreeMap::new(),
            toml: None,
            mapper: None,
            jvm: None,
            logging: None,
            user_mgt: None,
            problems: Vec::new(),
            toml_failed: false,
            cores,
            home,
            index: std::sync::OnceLock::new(),
            datasources: std::sync::OnceLock::new(),
        };
        match m.home.layout {
            Layout::Xml => m.load_xml_layout(),
            Layout::Toml => m.load_toml_layout(),
        }
        m.load_startup_script();
        m.load_logging();
        m
    }

    fn load_logging(&mut self) {
        let flavour = match self.home.layout {
            Layout::Toml => logging::Flavour::Log4j2,
            Layout::Xml => logging::Flavour::Log4j1,
        };
        if let Ok(Some(f)) = self.read(logging::relative_path(flavour)) {
            let (parsed, problems) = logging::parse(f, flavour);
            self.problems.extend(problems);
            self.logging = Some(parsed);
        }
        if self.home.layout == Layout::Xml
            && let Ok(Some(f)) = self.read("repository/conf/user-mgt.xml")
        {
            match xml::parse(f) {
                Ok(doc) => self.user_mgt = Some(doc),
                Err(p) => self.problems.push(p),
            }
        }
    }

    /// Reads a home file. `Err(())` means it exists but could not be read (already reported):
    /// its settings are unknown, which is not the same as absent.
    fn read(&mut self, rel: &str) -> Result<Option<std::sync::Arc<crate::model::SourceFile>>, ()> {
        let path = self.home.path.join(rel);
        // A home inside `--root` (an image, a copied tree) resolves its symlinks inside that
        // root, like every host file; only a home outside it is read as a real path.
        let read = match path.strip_prefix(&self.root) {
            Ok(inside) if self.root != Path::new("/") => {
                let inside = inside.to_string_lossy().into_owned();
                match source::read_under(&self.root, &inside) {
                    Read::Absent if is_symlink(&path) => Read::Problem(SourceProblem::unreadable(
                        &inside,
                        "dangling symbolic link (resolved inside --root)",
                    )),
                    other => other,
                }
            }
            _ => source::read_path(&self.root, &path),
        };
        match read {
            Read::File(f) => Ok(Some(f)),
            Read::Absent => Ok(None),
            Read::Problem(p) => {
                self.problems.push(p);
                Err(())
            }
        }
    }

    fn load_xml_layout(&mut self) {
        for (name, rel) in catalog::FILES {
            if name.ends_with(".xml") {
                let parsed = match self.read(rel) {
                    Err(()) => Parsed::Failed,
                    Ok(None) => Parsed::Absent,
                    Ok(Some(f)) => match xml::parse(f) {
                        Ok(doc) => Parsed::Ok(doc),
                        Err(p) => {
                            self.problems.push(p);
                            Parsed::Failed
                        }
                    },
                };
                self.xml.insert(name.to_string(), parsed);
            } else if name.ends_with(".properties") {
                let parsed = match self.read(rel) {
                    Err(()) => Parsed::Failed,
                    Ok(None) => Parsed::Absent,
                    Ok(Some(f)) => {
                        let (props, problems) = properties::parse(f);
                        let failed = !problems.is_empty() && props.entries.is_empty();
                        self.problems.extend(problems);
                        if failed {
                            Parsed::Failed
                        } else {
                            Parsed::Ok(props)
                        }
                    }
                };
                self.props.insert(name.to_string(), parsed);
            }
        }
    }

    fn load_toml_layout(&mut self) {
        let read = self.read("repository/conf/deployment.toml");
        if read.is_err() {
            self.toml_failed = true;
        }
        if let Ok(Some(f)) = read {
            match deployment_toml::parse(f) {
                Ok(doc) => self.toml = Some(doc),
                Err(p) => {
                    self.problems.push(p);
                    self.toml_failed = true;
                }
            }
        }
        let conf_dir = self.home.path.join("repository/resources/conf");
        let (mapper, problems) = mapper::load(&self.root, &conf_dir);
        self.problems.extend(problems);
        // A home without the product's JSON files (a trimmed copy, a config repository) still
        // gets aliases, units and defaults: the catalog's built-in tables for this version.
        self.mapper = Some(mapper.unwrap_or_else(|| {
            let (aliases, units, defaults) = catalog::builtin_tables(self.home.effective_version);
            mapper::builtin(aliases, units, defaults)
        }));
        // The datasources of the XML layout are read here too, for the validation-query rule,
        // only on the XML layout; on 3.x/4.x they come from deployment.toml.
    }

    fn load_startup_script(&mut self) {
        let preferred =
            if self.home.layout == Layout::Toml && self.home.effective_version.major >= 4 {
                ["bin/api-manager.sh", "bin/wso2server.sh"]
            } else {
                ["bin/wso2server.sh", "bin/api-manager.sh"]
            };
        for rel in preferred {
            let Ok(read) = self.read(rel) else {
                // Present but unreadable: reported; the other script is not the one that runs.
                return;
            };
            if let Some(f) = read {
                let (opts, problems) = jvm::parse(f);
                // A script the parser could not follow to the end may hide flags after the
                // error: judge none of them rather than report a present flag as missing.
                if problems.is_empty() {
                    self.jvm = Some(opts);
                }
                self.problems.extend(problems);
                return;
            }
        }
    }

    /// The display name of a home file (relative to `--root` when under it).
    pub fn display(&self, rel: &str) -> String {
        display_path(&self.root, &self.home.path.join(rel))
    }

    pub fn properties_doc(&self, name: &str) -> Option<&properties::Properties> {
        match self.props.get(name) {
            Some(Parsed::Ok(p)) => Some(p),
            _ => None,
        }
    }

    /// The endpoint timeouts of the APIs and endpoints deployed as files (up to 3.x).
    /// Every datasource of the home (see [`datasources::read`]), read once.
    pub fn datasources(&self) -> &[datasources::Datasource] {
        self.datasources.get_or_init(|| datasources::read(self))
    }

    pub fn endpoint_timeouts(&self) -> synapse_configs::EndpointTimeouts {
        synapse_configs::read(self)
    }

    /// Whether this home uses the transport or client `req` names (`None`: unknown).
    pub fn uses(&self, req: transport::Requires) -> Option<bool> {
        transport::uses(self, req)
    }

    pub fn xml_doc(&self, name: &str) -> Option<&xml::XmlDoc> {
        match self.xml.get(name) {
            Some(Parsed::Ok(d)) => Some(d),
            _ => None,
        }
    }

    /// Whether deployment.toml writes `key` as exactly `candidate` (string quotes removed), and
    /// where. Made for secrets: the caller learns yes or no and a location, never the value
    /// (which the parser redacts).
    pub fn toml_value_is(&self, key: &str, candidate: &str) -> Option<(bool, Location)> {
        let doc = self.toml.as_ref()?;
        let entry = doc.get(key)?;
        let raw = doc.file.slice(entry.value_span).trim();
        let unquoted = raw
            .strip_prefix(['"', '\''])
            .and_then(|r| r.strip_suffix(['"', '\'']))
            .unwrap_or(raw);
        Some((unquoted == candidate, doc.file.location(entry.value_span)))
    }

    /// Whether the product has a default for `template_key` (default.json, or the built-in
    /// tables); a secret's default is redacted, so only its presence is known.
    pub fn has_default(&self, template_key: &str) -> bool {
        self.mapper
            .as_ref()
            .is_some_and(|m| m.defaults.contains_key(template_key))
    }

    /// What the config mapper gives `template_key` with this home's `deployment.toml`
    /// ([`mapper::ConfigMapper::effective`]); `None` without a mapper (an XML-layout home).
    pub fn effective(&self, template_key: &str) -> Option<mapper::Effective> {
        let mapper = self.mapper.as_ref()?;
        let doc = self.toml.as_ref();
        let index = doc.map(|d| self.index.get_or_init(|| mapper.index(d)));
        Some(mapper.effective_with(doc, index, template_key))
    }

    /// The effective value of catalog setting `id` in this home, or `None` when this version has
    /// no such setting, or its file is missing or broken (already reported as a problem).
    pub fn observe(&self, id: &str) -> Option<Observed> {
        let setting = catalog::find(id)?;
        let at = setting.at_version(self.home.effective_version)?;
        let default = at
            .default
            .as_ref()
            // A default in cores is unknown when the core count is (zero).
            .filter(|d| self.cores > 0 || !d.contains("${cores}"))
            .map(|d| d.replace("${cores}", &self.cores.to_string()));
        let mut obs = match &at.place {
            Place::Xml { file, xpath } => self.observe_xml(setting, file, xpath, default)?,
            Place::Property { file, key } => self.observe_property(setting, file, key, default)?,
            Place::Toml {
                template_key,
                user_key,
                ..
            } => self.observe_toml(setting, template_key, user_key, default)?,
        };
        if obs.value.is_none()
            && let Some(fb) = &setting.fallback
            && let Some(base) = self.observe(&fb.setting)
            && let Some(v) = base.value.as_deref().and_then(|v| v.parse::<i64>().ok())
            // A value too large to scale is as good as unknown.
            && let Some(scaled) = v.checked_mul(fb.multiply)
        {
            obs.value = Some(scaled.to_string());
            obs.note = Some(format!(
                "not set; falls back to `{}` × {} = {}",
                base.subject, fb.multiply, scaled
            ));
        }
        if setting.ty == SettingType::Bool {
            obs.value = obs.value.map(|v| v.trim().to_ascii_lowercase());
        }
        Some(obs)
    }

    fn observe_xml(
        &self,
        setting: &'static Setting,
        file: &str,
        xpath: &str,
        default: Option<String>,
    ) -> Option<Observed> {
        let rel = catalog::file_path(file)?;
        let display = self.display(rel);
        let subject = Subject::setting(file, xpath);
        let base = Observed {
            setting,
            subject,
            value: None,
            set_at: None,
            note: None,
            file: display,
            key: xpath.to_string(),
            file_exists: false,
        };
        match self.xml.get(file)? {
            Parsed::Failed => None,
            Parsed::Absent => Some(absent(base, default, file, false)),
            Parsed::Ok(doc) => {
                let path = xml::XPath::parse(xpath).ok()?;
                match doc.query(&path).pop() {
                    Some(hit) => Some(Observed {
                        value: Some(hit.value.clone()),
                        set_at: Some(match hit.span {
                            Some(span) => doc.file.location(span),
                            None => doc.file.location(hit.element_span),
                        }),
                        file_exists: true,
                        ..base
                    }),
                    None => Some(absent(base, default, file, true)),
                }
            }
        }
    }

    fn observe_property(
        &self,
        setting: &'static Setting,
        file: &str,
        key: &str,
        default: Option<String>,
    ) -> Option<Observed> {
        let rel = catalog::file_path(file)?;
        let base = Observed {
            setting,
            subject: Subject::setting(file, key),
            value: None,
            set_at: None,
            note: None,
            file: self.display(rel),
            key: key.to_string(),
            file_exists: false,
        };
        match self.props.get(file)? {
            Parsed::Failed => None,
            Parsed::Absent => Some(absent(base, default, file, false)),
            Parsed::Ok(props) => match props.get(key) {
                Some(e) => Some(Observed {
                    value: Some(e.value.clone()),
                    set_at: Some(props.file.location(e.value_span)),
                    file_exists: true,
                    ..base
                }),
                None => {
                    let mut o = absent(base, default, file, true);
                    if let Some((v, line)) = props.commented(key) {
                        o.note = Some(format!(
                            "{} (commented out at line {line} with `{v}`)",
                            o.note.unwrap_or_default()
                        ));
                    }
                    Some(o)
                }
            },
        }
    }

    fn observe_toml(
        &self,
        setting: &'static Setting,
        template_key: &str,
        user_key: &str,
        default: Option<String>,
    ) -> Option<Observed> {
        if self.toml_failed {
            return None;
        }
        let doc = self.toml.as_ref();
        let display = self.display("repository/conf/deployment.toml");
        let mut obs = Observed {
            setting,
            subject: Subject::setting("deployment.toml", user_key),
            value: None,
            set_at: None,
            note: None,
            file: display,
            key: user_key.to_string(),
            file_exists: doc.is_some(),
        };
        let mapper = self.mapper.as_ref()?;
        let eff = self.effective(template_key)?;
        match eff.origin {
            mapper::Origin::Toml {
                user_key: written,
                value_span,
                ..
            } => {
                obs.subject = Subject::setting("deployment.toml", written.clone());
                obs.key = written;
                obs.set_at = doc.map(|d| d.file.location(value_span));
                obs.value = eff.value;
                if obs.value.is_none() {
                    obs.note = eff.raw.map(|raw| {
                        format!("`{raw}` does not resolve to a value in the expected unit")
                    });
                }
            }
            mapper::Origin::Inferred { from_key } => {
                obs.value = eff.value;
                obs.note = Some(format!("not set; inferred from `{from_key}`"));
            }
            mapper::Origin::Default => {
                let from_tables = eff.value.is_some();
                obs.value = eff.value.or(default);
                if obs.value.is_some() {
                    obs.note = Some(match (&mapper.origin, from_tables) {
                        (mapper::DefaultsOrigin::Files(_), true) => {
                            "not set; the default from default.json applies".into()
                        }
                        (mapper::DefaultsOrigin::Files(_), false) => {
                            "not set; the product default applies".into()
                        }
                        (mapper::DefaultsOrigin::BuiltIn, _) => format!(
                            "not set; the built-in default of API-M {} applies (no default.json in this home)",
                            self.home.effective_version
                        ),
                    });
                }
            }
        }
        Some(obs)
    }
}

fn is_symlink(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

fn absent(mut o: Observed, default: Option<String>, file: &str, file_exists: bool) -> Observed {
    o.file_exists = file_exists;
    o.note = Some(match (&default, file_exists) {
        (Some(d), true) => format!("not set in {file}; the code default `{d}` applies"),
        (Some(d), false) => format!("{file} is absent; the code default `{d}` applies"),
        (None, true) => format!("not set in {file}"),
        (None, false) => format!("{file} is absent"),
    });
    o.value = default;
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_from_names() {
        assert_eq!(version_in_name("wso2am-4.2.0"), Some(Version::new(4, 2, 0)));
        assert_eq!(
            version_in_name("apim-2.6.0-ansible"),
            Some(Version::new(2, 6, 0))
        );
        assert_eq!(version_in_name("apim"), None);
        assert_eq!(strict_version("${product.version}"), None);
    }
}
