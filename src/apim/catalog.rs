//! The setting catalog: which file and key holds each audited API-M setting in each version.
//!
//! Loaded from the embedded `catalog.toml` (facts, not recommendations). It never reads the
//! API-M home; `apim::ApimModel` does that using these locations.

use crate::version::{Version, VersionReq};
use serde::Deserialize;
use std::sync::OnceLock;

const CATALOG_TOML: &str = include_str!("catalog.toml");

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SettingType {
    Bool,
    Int,
    String,
}

/// Where a setting lives in one version range.
#[derive(Clone, Debug)]
pub enum Place {
    Xml {
        file: String,
        xpath: String,
    },
    Property {
        file: String,
        key: String,
    },
    Toml {
        template_key: String,
        user_key: String,
        /// Other names (key-mappings.json aliases) that set the same template key.
        aliases: Vec<String>,
        unit: Option<String>,
    },
}

#[derive(Clone, Debug)]
pub struct At {
    pub versions: VersionReq,
    pub place: Place,
    pub default: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Fallback {
    pub setting: String,
    pub multiply: i64,
}

#[derive(Clone, Debug)]
pub struct Setting {
    pub id: String,
    pub ty: SettingType,
    /// Human unit of the value (for messages), e.g. "ms".
    pub unit: Option<String>,
    pub fallback: Option<Fallback>,
    pub at: Vec<At>,
    /// The transport or client without which the product never reads this setting
    /// (`only-with`): the audit judges it only when the home uses it ([`super::transport`]).
    pub only_with: Option<super::transport::Requires>,
}

impl Setting {
    /// The place of this setting in `version`, if the version has it.
    pub fn at_version(&self, version: Version) -> Option<&At> {
        self.at.iter().find(|a| a.versions.matches(version))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalog {
    setting: Vec<RawSetting>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawSetting {
    id: String,
    #[serde(rename = "type")]
    ty: String,
    unit: Option<String>,
    fallback: Option<RawFallback>,
    only_with: Option<String>,
    at: Vec<RawAt>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFallback {
    setting: String,
    multiply: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawAt {
    versions: String,
    file: Option<String>,
    xpath: Option<String>,
    property: Option<String>,
    toml: Option<String>,
    user_key: Option<String>,
    #[serde(default)]
    aliases: Vec<String>,
    unit: Option<String>,
    default: Option<String>,
}

/// Every file name the catalog may use, mapped to its path under the API-M home.
pub const FILES: &[(&str, &str)] = &[
    ("carbon.xml", "repository/conf/carbon.xml"),
    ("api-manager.xml", "repository/conf/api-manager.xml"),
    ("identity.xml", "repository/conf/identity/identity.xml"),
    ("axis2.xml", "repository/conf/axis2/axis2.xml"),
    ("axis2_client.xml", "repository/conf/axis2/axis2_client.xml"),
    (
        "master-datasources.xml",
        "repository/conf/datasources/master-datasources.xml",
    ),
    (
        "catalina-server.xml",
        "repository/conf/tomcat/catalina-server.xml",
    ),
    (
        "passthru-http.properties",
        "repository/conf/passthru-http.properties",
    ),
    ("nhttp.properties", "repository/conf/nhttp.properties"),
    ("synapse.properties", "repository/conf/synapse.properties"),
    ("deployment.toml", "repository/conf/deployment.toml"),
];

pub fn file_path(name: &str) -> Option<&'static str> {
    FILES.iter().find(|(n, _)| *n == name).map(|(_, p)| *p)
}

fn convert(raw: RawCatalog) -> Result<Vec<Setting>, String> {
    let mut out = Vec::new();
    for s in raw.setting {
        let ty = match s.ty.as_str() {
            "bool" => SettingType::Bool,
            "int" => SettingType::Int,
            "string" => SettingType::String,
            other => return Err(format!("setting `{}`: unknown type `{other}`", s.id)),
        };
        let only_with = match &s.only_with {
            None => None,
            Some(w) => Some(
                super::transport::Requires::parse(w)
                    .ok_or_else(|| format!("setting `{}`: unknown `only-with` `{w}`", s.id))?,
            ),
        };
        let mut at = Vec::new();
        for a in s.at {
            let versions =
                VersionReq::parse(&a.versions).map_err(|e| format!("setting `{}`: {e}", s.id))?;
            let place = match (a.xpath, a.property, a.toml) {
                (Some(xpath), None, None) => Place::Xml {
                    file: checked_file(&s.id, a.file)?,
                    xpath,
                },
                (None, Some(key), None) => Place::Property {
                    file: checked_file(&s.id, a.file)?,
                    key,
                },
                (None, None, Some(template_key)) => Place::Toml {
                    user_key: a.user_key.unwrap_or_else(|| template_key.clone()),
                    template_key,
                    aliases: a.aliases,
                    unit: a.unit,
                },
                _ => {
                    return Err(format!(
                        "setting `{}`: each `at` needs exactly one of xpath, property, toml",
                        s.id
                    ));
                }
            };
            at.push(At {
                versions,
                place,
                default: a.default,
            });
        }
        out.push(Setting {
            id: s.id,
            ty,
            unit: s.unit,
            fallback: s.fallback.map(|f| Fallback {
                setting: f.setting,
                multiply: f.multiply,
            }),
            at,
            only_with,
        });
    }
    Ok(out)
}

fn checked_file(id: &str, file: Option<String>) -> Result<String, String> {
    let file = file.ok_or_else(|| format!("setting `{id}`: xpath/property need a `file`"))?;
    if file_path(&file).is_none() {
        return Err(format!("setting `{id}`: unknown file `{file}`"));
    }
    Ok(file)
}

/// The embedded catalog. It is validated by a unit test, so a broken catalog never ships.
pub fn catalog() -> &'static [Setting] {
    static CATALOG: OnceLock<Vec<Setting>> = OnceLock::new();
    CATALOG.get_or_init(|| {
        toml::from_str::<RawCatalog>(CATALOG_TOML)
            .map_err(|e| e.to_string())
            .and_then(convert)
            .unwrap_or_default()
    })
}

/// The key mappings, units and defaults the catalog knows for `version`, for homes that lack the
/// product's own `repository/resources/conf/*.json`: (alias → template keys, template key →
/// unit, template key → default). Defaults that depend on the host (`${cores}`) are left out.
pub type BuiltInTables = (
    std::collections::BTreeMap<String, Vec<String>>,
    std::collections::BTreeMap<String, String>,
    std::collections::BTreeMap<String, serde_json::Value>,
);

pub fn builtin_tables(version: Version) -> BuiltInTables {
    let (mut aliases, mut units, mut defaults) = BuiltInTables::default();
    for s in catalog() {
        let Some(at) = s.at_version(version) else {
            continue;
        };
        if let Place::Toml {
            template_key,
            user_key,
            aliases: more,
            unit,
        } = &at.place
        {
            for alias in std::iter::once(user_key).chain(more) {
                if alias != template_key {
                    aliases
                        .entry(alias.clone())
                        .or_insert_with(Vec::new)
                        .push(template_key.clone());
                }
            }
            if let Some(u) = unit {
                units.insert(template_key.clone(), u.clone());
            }
            if let Some(d) = at.default.as_ref().filter(|d| !d.contains("${")) {
                defaults.insert(template_key.clone(), serde_json::Value::String(d.clone()));
            }
        }
    }
    (aliases, units, defaults)
}

pub fn find(id: &str) -> Option<&'static Setting> {
    catalog().iter().find(|s| s.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_catalog_is_valid() {
        let raw: RawCatalog = toml::from_str(CATALOG_TOML).unwrap();
        let n = raw.setting.len();
        let settings = convert(raw).unwrap();
        assert_eq!(settings.len(), n);
        let mut ids: Vec<_> = settings.iter().map(|s| s.id.as_str()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n, "duplicate setting ids");
        for s in &settings {
            if let Some(f) = &s.fallback {
                assert!(settings.iter().any(|o| o.id == f.setting), "{}", s.id);
            }
        }
    }

    #[test]
    fn version_ranges_select_the_right_place() {
        let s = find("cache.gateway_token.enable").unwrap();
        let at = s.at_version(Version::new(1, 10, 0)).unwrap();
        assert!(
            matches!(&at.place, Place::Xml { xpath, .. } if xpath.ends_with("EnableGatewayKeyCache"))
        );
        let at = s.at_version(Version::new(4, 2, 0)).unwrap();
        assert!(
            matches!(&at.place, Place::Toml { template_key, .. } if template_key == "apim.cache.gateway_token.enable")
        );
        assert!(
            find("token_cleanup.enable")
                .unwrap()
                .at_version(Version::new(2, 1, 0))
                .is_none()
        );
    }

    #[test]
    fn transport_bound_settings_say_what_they_need() {
        use super::super::transport::Requires;
        for id in [
            "nhttp.snd_t_core",
            "nhttp.lst_io_threads",
            "nhttp.socket_timeout_sender",
        ] {
            assert_eq!(find(id).unwrap().only_with, Some(Requires::Nhttp), "{id}");
        }
        for id in [
            "key_validation.so_timeout",
            "key_validation.connection_timeout",
        ] {
            assert_eq!(
                find(id).unwrap().only_with,
                Some(Requires::WsKeyValidation),
                "{id}"
            );
        }
        assert_eq!(find("passthru.socket_timeout").unwrap().only_with, None);
    }
}
