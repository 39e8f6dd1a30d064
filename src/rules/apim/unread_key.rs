//! APM014 toml-key-has-no-effect: a deployment.toml key that sets nothing the product reads.
//!
//! Two traps, both shown on WSO2's 4.x tuning page (../shared/knowledge/wso2-config.md §3.12):
//! an unquoted dotted property name under a raw-key table (`[passthru_http]
//! http.socket.timeout = …` is the nested key `passthru_http.http.socket.timeout`), and a
//! `[transport.http]` alias name written under `[passthru_http]`.

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
    /// ignored).
    /// ### Why it matters
    /// The value looks tuned but the default stays in effect. WSO2's own 4.x tuning page shows
    /// both mistakes.
    /// ### Fix
    /// Quote the dotted name (`'http.socket.timeout' = 180000`), or use the key the table expects.
    /// ### Sources
    /// - https://toml.io/en/v1.0.0: dotted and quoted keys
    /// - tuning-4.x
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
    for entry in doc.entries.values() {
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
                .see("TOML 1.0 dotted keys; WSO2 4.x tuning page quoting"),
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
                .see("WSO2 4.x tuning page lists the alias names under [passthru_http]"),
            );
        }
    }
}
