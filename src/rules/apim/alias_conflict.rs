//! APM015 toml-aliases-conflict: two deployment.toml names for one template key disagree.
//!
//! `[apim.cache.gateway_token] expiry_time` and `[apim.cache.km_token] expiry_time` both map to
//! `apim.cache.token_expiry_time` (`<TokenCacheExpiry>`); set differently, only one reaches the
//! file (../shared/knowledge/wso2-config.md §3.12).

use crate::apim::Layout;
use crate::diag::{Finding, Subject};
use crate::rules::{Check, Input, RuleContext};
use std::collections::BTreeMap;

declare_rule! {
    /// ### What it checks
    /// Two names that map onto one template key (e.g. `[apim.cache.gateway_token] expiry_time`
    /// and `[apim.cache.km_token] expiry_time`, both `TokenCacheExpiry`) set to different values.
    /// ### Why it matters
    /// Only one value can reach the rendered file; which one depends on the config mapper's
    /// processing order, not on what the operator meant.
    /// ### Fix
    /// Set one of them, or both to the same value.
    /// ### Sources
    /// - https://github.com/wso2/product-apim/blob/v4.2.0/modules/distribution/product/src/main/resources/conf/key-mappings.json
    /// - caching
    pub(crate) static RULE = "APM015" "toml-aliases-conflict" Warning "two deployment.toml names for one setting disagree",
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
    // Template key → every user key written in the file that sets it (itself or an alias).
    let mut writers: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (alias, targets) in &mapper.aliases {
        if doc.get(alias).is_some() {
            for t in targets {
                writers.entry(t.as_str()).or_default().push(alias.as_str());
            }
        }
    }
    for (template, aliases) in writers.iter_mut() {
        if doc.get(template).is_some() {
            aliases.push(template);
        }
        let mut set: Vec<_> = aliases.iter().filter_map(|k| doc.get(k)).collect();
        set.sort_by_key(|e| e.line);
        set.dedup_by_key(|e| e.key.clone());
        // Compared as the product converts them: `"900s"` and `"15m"` are one value where
        // the template takes seconds (unit-resolve.json).
        let unit = mapper.units.get(*template);
        let distinct: std::collections::BTreeSet<String> = set
            .iter()
            .map(|e| {
                unit.and_then(|u| crate::apim::mapper::resolve_unit(&e.value, u))
                    .unwrap_or_else(|| e.value.clone())
            })
            .collect();
        if set.len() < 2 || distinct.len() < 2 {
            continue;
        }
        let listing: Vec<String> = set
            .iter()
            .map(|e| format!("`{}` = {} (line {})", e.key, e.value, e.line))
            .collect();
        let first = set[0];
        out.push(
            Finding::new(
                RULE.code(),
                Subject::setting("deployment.toml", first.key.clone()),
                format!(
                    "{} set `{template}` to different values",
                    listing.join(", ")
                ),
            )
            .at(Some(doc.file.location(first.value_span)))
            .current(listing.join("; "))
            .expected("one value")
            .why("only one value reaches the rendered file, chosen by the mapper's processing order rather than by intent")
            .see("https://github.com/wso2/product-apim/blob/v4.2.0/modules/distribution/product/src/main/resources/conf/key-mappings.json"),
        );
    }
}
