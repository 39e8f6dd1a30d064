//! APM015 toml-aliases-conflict: two deployment.toml names for one template key disagree.
//!
//! `[apim.cache.gateway_token] expiry_time` and `[apim.cache.km_token] expiry_time` both map to
//! `apim.cache.token_expiry_time` (`<TokenCacheExpiry>`); set differently, only one reaches the
//! file (../shared/knowledge/wso2-config.md §3.12).

use crate::apim::{ApimModel, Layout};
use crate::finding::Finding;
use crate::rules::codes::Code;
use std::collections::BTreeMap;

pub fn check(apim: &ApimModel, out: &mut Vec<Finding>) {
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
        let distinct: std::collections::BTreeSet<&str> =
            set.iter().map(|e| e.value.as_str()).collect();
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
                Code::Apm015,
                format!("deployment.toml:{}", first.key),
                format!(
                    "{} set `{template}` to different values",
                    listing.join(", ")
                ),
            )
            .at(Some(doc.file.location(first.value_span)))
            .current(listing.join("; "))
            .expected("one value")
            .why("only one value reaches the rendered file, chosen by the mapper's processing order rather than by intent"),
        );
    }
}
