//! APM014 toml-key-has-no-effect: a deployment.toml key that sets nothing the product reads.
//!
//! Two traps, both shown on WSO2's 4.x tuning page (../shared/knowledge/wso2-config.md §3.12):
//! an unquoted dotted property name under a raw-key table (`[passthru_http]
//! http.socket.timeout = …` is the nested key `passthru_http.http.socket.timeout`), and a
//! `[transport.http]` alias name written under `[passthru_http]`. And a snake_case pool option
//! (`max_active`) under a `[database.NAME.pool_options]` table that has no alias for it: only
//! `shared_db` has them (carbon-kernel key-mappings.json), every other table's pool options are
//! written to master-datasources.xml under their own name, which the pool does not read.

use crate::apim::Layout;
use crate::apim::deployment_toml::split_key;
use crate::diag::{Finding, Subject};
use crate::rules::{Check, Input, RuleContext};
use std::collections::BTreeMap;

declare_rule! {
    /// ### What it checks
    /// A deployment.toml key that sets nothing the product reads: a dotted property name left
    /// unquoted (`http.socket.timeout = 180000` under `[passthru_http]` is a nested table in
    /// TOML, not the key `'http.socket.timeout'`), or a `[transport.http]` alias name written
    /// under `[passthru_http]` (where it is copied verbatim into passthru-http.properties and
    /// ignored), or a snake_case pool option (`max_active`, `max_wait`) under
    /// `[database.apim_db.pool_options]` or any table but `shared_db`'s, the only one with
    /// snake_case aliases; or an `[n_http]` table, which 3.x/4.x never read (axis2.xml.j2 runs
    /// only the pass-through transport).
    /// ### Why it matters
    /// The value looks tuned but the default stays in effect. WSO2's own 4.x tuning page shows
    /// the first two mistakes; the template writes each `pool_options` key as an element of that
    /// name into master-datasources.xml, and the pool reads only its own camelCase names.
    /// ### Fix
    /// Quote the dotted name (`'http.socket.timeout' = 180000`), or use the key the table
    /// expects (`maxActive` for `max_active`); tune the gateway under `[transport.http]` and
    /// `[passthru_http]`, not `[n_http]`.
    /// ### Sources
    /// - tuning-4.x
    /// - https://toml.io/en/v1.0.0#keys
    /// - https://github.com/wso2/carbon-kernel/blob/v4.8.1/distribution/kernel/carbon-home/repository/resources/conf/key-mappings.json
    /// - tomcat-jdbc-pool
    /// - https://github.com/wso2/product-apim/blob/v4.2.0/modules/distribution/product/src/main/resources/conf/templates/repository/conf/axis2/axis2.xml.j2: pass-through transports only
    pub(crate) static RULE = "APM014" "toml-key-has-no-effect" Error "a deployment.toml key sets nothing the product reads",
    inputs: [Input::Apim],
    check: Check::Node(check),
}

pub fn check(cx: &RuleContext, out: &mut Vec<Finding>) {
    let Some(apim) = cx.apim else { return };
    if apim.home.layout != Layout::Toml {
        return;
    }
    let (Some(doc), Some(mapper)) = (apim.toml.as_ref(), apim.mapper.as_ref()) else {
        return;
    };
    // Every template key with a quoted dotted segment, by the key an unquoted spelling gives.
    let mut unquoted: BTreeMap<String, String> = BTreeMap::new();
    let templates = mapper
        .defaults
        .keys()
        .chain(mapper.aliases.values().flatten());
    for key in templates {
        if key.contains('\'') || key.contains('"') {
            let plain = split_key(key).join(".");
            unquoted.entry(plain).or_insert_with(|| key.clone());
        }
    }
    nhttp_table(doc, out);
    for entry in doc.entries.values() {
        if let Some(f) = unaliased_pool_option(entry, doc, &mapper.aliases) {
            out.push(f);
            continue;
        }
        if let Some(meant) = unquoted.get(&entry.key) {
            let parts = split_key(meant);
            let (table, last) = parts.split_at(parts.len().saturating_sub(1));
            out.push(
                Finding::new(
                    RULE.code(),
                    Subject::setting("deployment.toml", entry.key.clone()),
                    format!(
                        "`{}` is read as nested tables, not as the key `'{}'` of `[{}]`",
                        entry.key,
                        last.join(""),
                        table.join(".")
                    ),
                )
                .at(Some(doc.file.location(entry.key_span)))
                .current(entry.key.clone())
                .expected(meant.clone())
                .why("in TOML an unquoted dotted key makes nested tables; the config mapper then writes nothing to the properties file and the default stays in effect")
                .see("https://toml.io/en/v1.0.0#keys; tuning-4.x"),
            );
            continue;
        }
        // `[passthru_http] core_worker_pool_size`: an alias name under the raw-key table.
        let Some(name) = entry.key.strip_prefix("passthru_http.") else {
            continue;
        };
        let alias = format!("transport.http.{name}");
        // `io_buffer_size` is both an alias name and the raw key it maps to: that one is fine.
        if let Some(targets) = mapper
            .aliases
            .get(&alias)
            .filter(|t| !t.contains(&entry.key))
        {
            let target = targets.first().cloned().unwrap_or_default();
            out.push(
                Finding::new(
                    RULE.code(),
                    Subject::setting("deployment.toml", entry.key.clone()),
                    format!(
                        "`{name}` is a `[transport.http]` name; under `[passthru_http]` it is copied verbatim into passthru-http.properties, which does not read it"
                    ),
                )
                .at(Some(doc.file.location(entry.key_span)))
                .current(entry.key.clone())
                .expected(format!("`{target}` (or `{alias}`)"))
                .why("[passthru_http] keys are written to passthru-http.properties as they are; the key-mappings aliases only exist under [transport.http]")
                .see("tuning-4.x, the alias names shown under [passthru_http]"),
            );
        }
    }
}

/// The 4.2.0 axis2.xml template: its transports are the pass-through classes only.
const AXIS2_TEMPLATE: &str = "https://github.com/wso2/product-apim/blob/v4.2.0/modules/distribution/product/src/main/resources/conf/templates/repository/conf/axis2/axis2.xml.j2";

/// `[n_http]` on 3.x/4.x: axis2.xml.j2 hard-codes the pass-through transport, so nhttp.properties
/// is rendered and never read. One finding for the table, at its first key: the keys share the
/// one cause and the one remedy.
fn nhttp_table(doc: &crate::apim::deployment_toml::DeploymentToml, out: &mut Vec<Finding>) {
    let keys: Vec<_> = doc
        .entries
        .values()
        .filter(|e| e.key.starts_with("n_http."))
        .collect();
    let Some(first) = keys.iter().min_by_key(|e| e.key_span.start) else {
        return;
    };
    out.push(
        Finding::new(
            RULE.code(),
            Subject::setting("deployment.toml", "n_http"),
            format!(
                "`[n_http]` sets {} key(s) for the NHTTP transport, which 3.x/4.x never run: axis2.xml.j2 configures only pass-through",
                keys.len()
            ),
        )
        .severity(crate::diag::Severity::Warning)
        .at(Some(doc.file.location(first.key_span)))
        .current(format!("{} key(s)", keys.len()))
        .expected("none: the gateway's transport is tuned under [transport.http] and [passthru_http]")
        .why("the values look like gateway tuning but nothing reads them: the pass-through transport keeps its own settings, and tuning done here is lost")
        .see(AXIS2_TEMPLATE)
        .note("no automatic fix: move what was meant to [transport.http]/[passthru_http], then remove the table"),
    );
}

/// The snake_case pool options carbon-kernel's key-mappings.json aliases, all under `shared_db`
/// (../shared/knowledge/verified-facts.md): a home without the JSON files still has them.
const SHARED_DB_ALIASES: &[&str] = &[
    "max_active",
    "max_wait",
    "test_on_borrow",
    "validation_interval",
    "default_auto_commit",
];

/// `database.NAME.pool_options.some_name` with no alias to a camelCase option.
fn unaliased_pool_option(
    entry: &crate::apim::deployment_toml::TomlEntry,
    doc: &crate::apim::deployment_toml::DeploymentToml,
    aliases: &BTreeMap<String, Vec<String>>,
) -> Option<Finding> {
    let rest = entry.key.strip_prefix("database.")?;
    let (table, option) = rest.split_once(".pool_options.")?;
    if !option.contains('_') || option.contains('.') || aliases.contains_key(&entry.key) {
        return None;
    }
    if table == "shared_db" && SHARED_DB_ALIASES.contains(&option) {
        return None;
    }
    let camel = camel_case(option);
    Some(
        Finding::new(
            RULE.code(),
            Subject::setting("deployment.toml", entry.key.clone()),
            format!(
                "`{option}` under `[database.{table}.pool_options]` has no alias (only `shared_db` has snake_case pool options): it is written as `<{option}>` into master-datasources.xml, which the pool does not read"
            ),
        )
        .at(Some(doc.file.location(entry.key_span)))
        .current(entry.key.clone())
        .expected(format!("database.{table}.pool_options.{camel}"))
        .why("the template copies each pool_options key under its own name; the connection pool reads only its camelCase properties, so the pool keeps its default")
        .see("https://github.com/wso2/carbon-kernel/blob/v4.8.1/distribution/kernel/carbon-home/repository/resources/conf/key-mappings.json; tomcat-jdbc-pool")
        .note(format!("no automatic fix: rename the key to `{camel}`")),
    )
}

/// `max_active` → `maxActive`.
fn camel_case(snake: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}
