//! Profiles: recommendation data in TOML, embedded in the binary or loaded with `--profile`.
//!
//! `schema` is the file format, this module loads and validates the `extends` chain, `resolve`
//! turns the result into concrete expectations for one host. Nothing here reads the host.

pub mod resolve;
pub mod schema;

use crate::apim::catalog;
use crate::diag::Severity;
use crate::model::{Location, SourceFile};
use crate::version::VersionReq;
use schema::{Entry, LimitEntry, ProfileDoc, When};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// The profiles shipped in `profiles/`, by name.
pub const EMBEDDED: &[(&str, &str)] = &[
    ("base", include_str!("../../profiles/base.toml")),
    ("all-in-one", include_str!("../../profiles/all-in-one.toml")),
    ("gateway", include_str!("../../profiles/gateway.toml")),
    (
        "key-manager",
        include_str!("../../profiles/key-manager.toml"),
    ),
    (
        "control-plane",
        include_str!("../../profiles/control-plane.toml"),
    ),
    (
        "traffic-manager",
        include_str!("../../profiles/traffic-manager.toml"),
    ),
];

pub const ROLES: &[&str] = &[
    "all-in-one",
    "gateway",
    "key-manager",
    "control-plane",
    "traffic-manager",
];

/// A profile that cannot be used: the tool stops with exit code 2 and this message.
#[derive(Debug, thiserror::Error)]
#[error("invalid profile at {location}: {message}")]
pub struct ProfileError {
    pub location: Location,
    pub message: String,
}

/// Which family of knobs an entry is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    Sysctl,
    Limits,
    Apim,
    Jvm,
}

/// One validated entry with its origin in a profile file.
#[derive(Clone, Debug)]
pub struct Rec<E> {
    pub entry: E,
    pub at: Location,
    pub profile: String,
}

/// The merged result of an `extends` chain.
#[derive(Clone, Debug, Default)]
pub struct Profile {
    /// Leaf first: `["gateway", "base"]`.
    pub chain: Vec<String>,
    pub summary: String,
    pub sysctl: BTreeMap<String, Rec<Entry>>,
    pub limits: BTreeMap<String, Rec<LimitEntry>>,
    pub apim: BTreeMap<String, Rec<Entry>>,
    pub jvm: BTreeMap<String, Rec<Entry>>,
}

struct Loaded {
    doc: ProfileDoc,
    file: Arc<SourceFile>,
}

fn parse(display: &str, text: &str) -> Result<Loaded, ProfileError> {
    let file = SourceFile::new(display.into(), display.into(), text.to_string());
    let doc: ProfileDoc = toml::from_str(text).map_err(|e| {
        let location = match e.span() {
            Some(span) => file.location(crate::model::Span::new(span.start, span.end)),
            None => file.whole(),
        };
        ProfileError {
            location,
            message: e.message().trim().to_string(),
        }
    })?;
    Ok(Loaded { doc, file })
}

fn embedded(name: &str) -> Option<&'static str> {
    EMBEDDED.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// Loads the embedded profile for `role`.
pub fn load_role(role: &str) -> Result<Profile, ProfileError> {
    let text = embedded(role).ok_or_else(|| ProfileError {
        location: Location::file_only("--role"),
        message: format!("unknown role `{role}` (one of: {})", ROLES.join(", ")),
    })?;
    load_chain(parse(&format!("profiles/{role}.toml"), text)?)
}

/// Loads a profile file; its `extends` may name an embedded profile.
pub fn load_file(path: &Path) -> Result<Profile, ProfileError> {
    let display = path.to_string_lossy().into_owned();
    let text =
        crate::source::read_text_at_most(path, crate::source::MAX_OWN_FILE_BYTES).map_err(|e| {
            ProfileError {
                location: Location::file_only(&display),
                message: format!("cannot read: {e}"),
            }
        })?;
    load_chain(parse(&display, &text)?)
}

fn load_chain(leaf: Loaded) -> Result<Profile, ProfileError> {
    let mut chain = vec![leaf];
    while let Some(parent) = chain.last().and_then(|l| l.doc.meta.extends.clone()) {
        let name = parent.get_ref().clone();
        let child_file = chain.last().map(|l| l.file.clone());
        let err_at = |msg: String| ProfileError {
            location: child_file
                .as_ref()
                .map(|f| {
                    f.location(crate::model::Span::new(
                        parent.span().start,
                        parent.span().end,
                    ))
                })
                .unwrap_or_else(|| Location::file_only("profile")),
            message: msg,
        };
        if chain.iter().any(|l| l.doc.meta.name == name) || chain.len() > 16 {
            return Err(err_at(format!("`extends = \"{name}\"` makes a cycle")));
        }
        let text = embedded(&name).ok_or_else(|| {
            err_at(format!(
                "`extends` names unknown profile `{name}` (shipped: {})",
                EMBEDDED
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
        chain.push(parse(&format!("profiles/{name}.toml"), text)?);
    }
    let mut profile = Profile {
        chain: chain.iter().map(|l| l.doc.meta.name.clone()).collect(),
        summary: chain
            .first()
            .map(|l| l.doc.meta.summary.clone())
            .unwrap_or_default(),
        ..Profile::default()
    };
    // Apply from the root of the chain to the leaf, so children override their parents.
    for loaded in chain.iter().rev() {
        merge(&mut profile, loaded)?;
    }
    Ok(profile)
}

fn merge(profile: &mut Profile, loaded: &Loaded) -> Result<(), ProfileError> {
    let name = &loaded.doc.meta.name;
    let loc = |span: std::ops::Range<usize>| {
        loaded
            .file
            .location(crate::model::Span::new(span.start, span.end))
    };
    for (family, map, target) in [
        (Family::Sysctl, &loaded.doc.sysctl, &mut profile.sysctl),
        (Family::Apim, &loaded.doc.apim, &mut profile.apim),
        (Family::Jvm, &loaded.doc.jvm, &mut profile.jvm),
    ] {
        for (key, spanned) in map {
            let at = loc(spanned.span());
            let entry = spanned.get_ref();
            if entry.disabled == Some(true) {
                target.remove(key);
                continue;
            }
            validate_entry(family, key, entry).map_err(|message| ProfileError {
                location: at.clone(),
                message,
            })?;
            target.insert(
                key.clone(),
                Rec {
                    entry: entry.clone(),
                    at,
                    profile: name.clone(),
                },
            );
        }
    }
    for (item, spanned) in &loaded.doc.limits {
        let at = loc(spanned.span());
        let entry = spanned.get_ref();
        if entry.disabled == Some(true) {
            profile.limits.remove(item);
            continue;
        }
        validate_limit(item, entry).map_err(|message| ProfileError {
            location: at.clone(),
            message,
        })?;
        profile.limits.insert(
            item.clone(),
            Rec {
                entry: entry.clone(),
                at,
                profile: name.clone(),
            },
        );
    }
    Ok(())
}

fn validate_common(
    severity: &Option<String>,
    why: &Option<String>,
    when: &Option<When>,
) -> Result<(), String> {
    if let Some(s) = severity
        && Severity::parse(s).is_none()
    {
        return Err(format!(
            "`severity = \"{s}\"` must be one of error, warning, info"
        ));
    }
    if why.as_deref().is_none_or(|w| w.trim().is_empty()) {
        return Err("every entry needs a `why` saying the reason and its source".into());
    }
    if let Some(w) = when {
        for (name, range) in [("kernel", &w.kernel), ("apim", &w.apim), ("jdk", &w.jdk)] {
            if let Some(r) = range {
                VersionReq::parse(r).map_err(|e| format!("`when.{name}`: {e}"))?;
            }
        }
        for role in w.role.iter().flatten() {
            if !ROLES.contains(&role.as_str()) {
                return Err(format!(
                    "`when.role` names unknown role `{role}` (one of: {})",
                    ROLES.join(", ")
                ));
            }
        }
    }
    Ok(())
}

fn validate_entry(family: Family, key: &str, e: &Entry) -> Result<(), String> {
    validate_common(&e.severity, &e.why, &e.when)?;
    let kinds = [
        e.min.is_some() || e.max.is_some(),
        e.eq.is_some(),
        e.one_of.is_some(),
        e.absent == Some(true),
        e.set == Some(true),
    ]
    .iter()
    .filter(|k| **k)
    .count();
    if kinds != 1 {
        return Err(format!(
            "`{key}` needs exactly one comparison: `min`/`max`, `eq`, `one-of`, `absent = true` or `set = true`"
        ));
    }
    for x in [&e.min, &e.max, &e.eq]
        .into_iter()
        .flatten()
        .chain(e.one_of.iter().flatten())
    {
        if let schema::Expr::Scaled(sc) = x
            && sc.per_core.is_some() == sc.per_gib.is_some()
        {
            return Err(format!(
                "`{key}`: a scaled value needs exactly one of `per-core` or `per-gib`"
            ));
        }
    }
    match family {
        Family::Sysctl => {
            if !key.contains('.') || key.contains(char::is_whitespace) {
                return Err(format!(
                    "`{key}` is not a sysctl key like `net.core.somaxconn`"
                ));
            }
        }
        Family::Apim => {
            let Some(setting) = catalog::find(key) else {
                return Err(format!(
                    "`{key}` is not a known API-M setting (see src/apim/catalog.toml)"
                ));
            };
            check_types(key, setting.ty, e)?;
        }
        Family::Jvm => {
            if !key.starts_with('-') {
                return Err(format!("`{key}` is not a JVM flag like `-Xmx`"));
            }
        }
        Family::Limits => {}
    }
    Ok(())
}

/// The values of an API-M entry must have the setting's type, and a range must not be empty.
fn check_types(key: &str, ty: catalog::SettingType, e: &Entry) -> Result<(), String> {
    use catalog::SettingType as T;
    use schema::Expr as X;
    let values = [&e.min, &e.max, &e.eq]
        .into_iter()
        .flatten()
        .chain(e.one_of.iter().flatten());
    for v in values {
        let ok = matches!(
            (ty, v),
            (T::Bool, X::Bool(_))
                | (T::Int, X::Int(_) | X::Float(_) | X::Scaled(_))
                | (T::String, X::Str(_))
        );
        if !ok {
            let want = match ty {
                T::Bool => "true or false",
                T::Int => "a number",
                T::String => "a string",
            };
            return Err(format!("`{key}` takes {want}, found `{v:?}`"));
        }
    }
    if (e.min.is_some() || e.max.is_some()) && ty != T::Int {
        return Err(format!(
            "`{key}` is not numeric: use `eq` or `one-of`, not `min`/`max`"
        ));
    }
    if let (Some(X::Int(lo)), Some(X::Int(hi))) = (&e.min, &e.max)
        && lo > hi
    {
        return Err(format!("`{key}`: `min` {lo} is above `max` {hi}"));
    }
    Ok(())
}

const LIMIT_ITEMS: &[&str] = &["nofile", "nproc", "memlock", "stack", "core", "as"];

fn validate_limit(item: &str, e: &LimitEntry) -> Result<(), String> {
    validate_common(&e.severity, &e.why, &e.when)?;
    if !LIMIT_ITEMS.contains(&item) {
        return Err(format!(
            "`limits.{item}` is not a limit item (one of: {})",
            LIMIT_ITEMS.join(", ")
        ));
    }
    if e.soft.is_none() && e.hard.is_none() {
        return Err(format!("`limits.{item}` needs `soft` and/or `hard`"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_role_loads() {
        for role in ROLES {
            let p = load_role(role).unwrap_or_else(|e| panic!("{role}: {e}"));
            assert_eq!(p.chain.last().map(String::as_str), Some("base"), "{role}");
            assert!(!p.sysctl.is_empty());
        }
    }

    /// Every shipped entry names its sources in the `see` format, with ids of the source table
    /// or full URLs only, so `explain` can print a title and an address for each.
    #[test]
    fn every_shipped_see_names_only_known_sources() {
        use crate::diag::sources;
        for (name, text) in EMBEDDED {
            let doc: schema::ProfileDoc =
                toml::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
            let entries = doc
                .sysctl
                .iter()
                .chain(&doc.apim)
                .chain(&doc.jvm)
                .map(|(k, e)| (k.clone(), e.get_ref().see.clone(), e.get_ref().disabled))
                .chain(
                    doc.limits
                        .iter()
                        .map(|(k, e)| (k.clone(), e.get_ref().see.clone(), e.get_ref().disabled)),
                );
            for (key, see, disabled) in entries {
                if disabled == Some(true) {
                    continue;
                }
                let see = see.unwrap_or_else(|| panic!("{name}: `{key}` has no `see`"));
                let cites = sources::parse_see(&see)
                    .unwrap_or_else(|e| panic!("{name}: `{key}`: {e} (see = {see:?})"));
                assert!(!cites.is_empty(), "{name}: `{key}`");
            }
        }
    }

    /// The decisions of issue 14: entries that gave false reasons stay out of the profile, and
    /// values at a modern kernel's default are info.
    #[test]
    fn issue_14_removed_entries_stay_out_and_kernel_defaults_are_info() {
        let p = load_role("all-in-one").unwrap();
        for key in [
            "net.core.rmem_default",
            "net.core.wmem_default",
            "net.core.rmem_max",
            "net.core.wmem_max",
            "net.ipv4.ip_local_port_range",
        ] {
            assert!(!p.sysctl.contains_key(key), "{key}");
        }
        assert!(p.limits["nofile"].entry.soft.is_none());
        assert!(p.limits["nofile"].entry.hard.is_some());
        for key in [
            "net.ipv4.tcp_fin_timeout",
            "net.ipv4.tcp_tw_reuse",
            "fs.file-max",
            "net.ipv4.tcp_rmem",
            "net.ipv4.tcp_wmem",
        ] {
            assert_eq!(
                p.sysctl[key].entry.severity.as_deref(),
                Some("info"),
                "{key}"
            );
        }
        assert_eq!(p.sysctl["net.core.somaxconn"].entry.severity, None);
        // Kernel 6.x defaults (tcp_rmem 4096 131072 6291456, tcp_wmem 4096 16384 4194304) and
        // the pre-4.20 tcp_rmem default (87380) pass the element-wise minimum but its maximum.
        for (key, defaults) in [
            ("net.ipv4.tcp_rmem", vec![[4096, 131072, 6291456]]),
            ("net.ipv4.tcp_wmem", vec![[4096, 16384, 4194304]]),
        ] {
            let Some(schema::Expr::List(min)) = &p.sysctl[key].entry.min else {
                panic!("{key}: a list minimum");
            };
            for d in defaults {
                assert!(d[0] >= min[0] && d[1] >= min[1], "{key}: {d:?} vs {min:?}");
                assert!(d[2] < min[2], "{key}: the maximum is what the entry raises");
            }
        }
        let revoke = &p.apim["oauth.revoke_url"].entry;
        assert_eq!(
            revoke.when.as_ref().and_then(|w| w.apim.as_deref()),
            Some("<3.0")
        );
    }

    fn err(text: &str) -> ProfileError {
        match parse("t.toml", text).and_then(load_chain) {
            Err(e) => e,
            Ok(_) => panic!("expected an error for:\n{text}"),
        }
    }

    #[test]
    fn misspelt_key_is_an_error_with_its_line() {
        let e = err("[meta]\nname='x'\nsummary='s'\n[sysctl.'a.b']\nmni = 3\nwhy='w'\n");
        assert_eq!(e.location.line, Some(5), "{e}");
        assert!(e.message.contains("mni"), "{e}");
    }

    #[test]
    fn invalid_entries_are_rejected() {
        let head = "[meta]\nname='x'\nsummary='s'\n";
        for (body, needle) in [
            ("[sysctl.'a.b']\nmin = 1\n", "why"),
            ("[sysctl.'a.b']\nmin = 1\neq = 2\nwhy='w'\n", "exactly one"),
            (
                "[sysctl.'a.b']\nmin = 1\nwhy='w'\nseverity='fatal'\n",
                "severity",
            ),
            (
                "[sysctl.'a.b']\nmin = 1\nwhy='w'\nwhen={kernel='~4'}\n",
                "when.kernel",
            ),
            (
                "[sysctl.'a.b']\nmin = 1\nwhy='w'\nwhen={role=['dmz']}\n",
                "role",
            ),
            (
                "[apim.'no.such']\neq = true\nwhy='w'\n",
                "known API-M setting",
            ),
            ("[limits.files]\nsoft={min=1}\nwhy='w'\n", "limit item"),
            ("[sysctl.'a.b']\nmin = {per-cpu = 1}\nwhy='w'\n", "per-cpu"),
            (
                "[sysctl.'a.b']\nmin = {at-least = 1}\nwhy='w'\n",
                "per-core",
            ),
            (
                "[apim.'passthru.socket_timeout']\nmin = 'abc'\nwhy='w'\n",
                "takes a number",
            ),
            (
                "[apim.'passthru.socket_timeout']\nmin = 9\nmax = 1\nwhy='w'\n",
                "above `max`",
            ),
            (
                "[apim.'cache.km_token.enable']\neq = 'no'\nwhy='w'\n",
                "true or false",
            ),
            (
                "[apim.'oauth.revoke_url']\neq = 1\nwhy='w'\n",
                "takes a string",
            ),
        ] {
            let e = err(&format!("{head}{body}"));
            assert!(e.to_string().contains(needle), "{body}: {e}");
        }
        let e = err("[meta]\nname='x'\nsummary='s'\nextends='nope'\n");
        assert!(e.message.contains("unknown profile"), "{e}");
        assert_eq!(e.location.line, Some(4));
    }
}
