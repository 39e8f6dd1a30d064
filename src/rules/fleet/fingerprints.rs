//! FLT010 fleet-secrets-differ: the nodes hold different primary keystores, encryption keys or
//! JWT settings, compared by their salted fingerprints (never their values).

use super::{FleetContext, placed};
use crate::diag::{Finding, Subject};
use crate::rules::Check;
use std::collections::{BTreeMap, BTreeSet};

declare_rule! {
    /// ### What it checks
    /// Each fingerprinted secret of the exports (the primary keystore file and its password,
    /// `[encryption] key`, the JWT and key-manager settings, the super admin password) is the
    /// same on every node that has it: same HMAC under the run's salt. Not the TLS keystore
    /// (`[keystore.tls]`): each node may well present its own certificate for its own name,
    /// and nothing signed or encrypted by one node is read with another's TLS key.
    /// ### Why it matters
    /// A token signed by one node's key does not verify on a node with another keystore; a
    /// value encrypted by one node (`[encryption] key`, cipher tool secrets) cannot be
    /// decrypted by another. Both fail per request, on whichever node the load balancer picks.
    /// ### Fix
    /// Copy the same keystore and key to every node (the secrets a rollout distributes), or
    /// rotate all nodes together.
    /// ### Sources
    /// - security-guidelines
    /// - prod-checklist
    pub(crate) static RULE = "FLT010" "fleet-secrets-differ" Error "nodes hold different keystores, keys or JWT settings",
    inputs: [],
    check: Check::Fleet(check),
}

/// Why fingerprints cannot be compared in this run, when they cannot: exports without a salt,
/// or (every fingerprint differing on every node) exports made with different salts. A note
/// for the report, never a finding: the merge cannot tell a real difference from a salt one.
pub fn salt_note(cx: &FleetContext) -> Option<String> {
    let unsalted: Vec<&str> = cx
        .nodes
        .iter()
        .filter(|n| !n.facts.fingerprinted)
        .map(|n| n.host.as_str())
        .collect();
    if !unsalted.is_empty() {
        return Some(format!(
            "exports of {} were made without a salt (APIM_TUNE_FLEET_SALT): keystores, keys and JWT settings are not compared",
            unsalted.join(", ")
        ));
    }
    let by_key = values(cx);
    let shared: Vec<_> = by_key.values().filter(|v| v.len() > 1).collect();
    let all_differ = !shared.is_empty()
        && shared.len() >= 2
        && shared.iter().all(|v| {
            let distinct: BTreeSet<&str> = v.values().map(String::as_str).collect();
            distinct.len() == v.len()
        });
    all_differ.then(|| {
        "every fingerprint differs on every node: the exports were probably made with different salts (APIM_TUNE_FLEET_SALT must be the same for one merge); secrets are not compared".to_string()
    })
}

/// Fingerprint key → node label → hmac.
fn values(cx: &FleetContext) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for m in cx.members() {
        // Per-node TLS certificates are normal practice (see the rule's doc).
        for (k, fp) in m
            .home
            .fingerprints
            .iter()
            .filter(|(k, _)| !k.starts_with("keystore.tls"))
        {
            out.entry(k.clone())
                .or_default()
                .insert(m.label(), fp.hmac.clone());
        }
    }
    out
}

fn check(cx: &FleetContext, out: &mut Vec<Finding>) {
    if salt_note(cx).is_some() {
        return;
    }
    let members = cx.members();
    for (key, by_node) in values(cx) {
        let mut groups: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (label, hmac) in &by_node {
            groups.entry(hmac).or_default().push(label);
        }
        if groups.len() < 2 {
            continue;
        }
        // Name the groups, largest first, by their nodes only: a fingerprint is no one's business.
        let mut sets: Vec<Vec<&str>> = groups.into_values().collect();
        sets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        let current = sets
            .iter()
            .enumerate()
            .map(|(i, s)| format!("{} on {}", (b'A' + (i as u8).min(25)) as char, s.join(", ")))
            .collect::<Vec<_>>()
            .join("; ");
        let odd = sets.last().and_then(|s| s.first()).copied();
        let at = members
            .iter()
            .find(|m| Some(m.label().as_str()) == odd)
            .and_then(|m| {
                m.home
                    .fingerprints
                    .get(&key)
                    .and_then(|fp| m.at(&fp.source))
                    .or_else(|| Some(m.home_file()))
            });
        let hosts: Vec<String> = members
            .iter()
            .filter(|m| by_node.contains_key(&m.label()))
            .map(|m| m.host().to_string())
            .collect();
        let f = Finding::new(
            RULE.code(),
            Subject::setting("deployment.toml", key.clone()),
            format!("`{key}` is not the same on every node ({} variants)", sets.len()),
        )
        .at(at)
        .current(current)
        .expected("one value on every node")
        .why("a token signed or a value encrypted on one node does not verify or decrypt on another, per request, wherever the load balancer sends it")
        .see("security-guidelines");
        out.push(placed(f, &hosts, &[]));
    }
}

#[cfg(test)]
mod tests {
    use crate::diag::Code;
    use crate::rules::fleet::testing::*;

    #[test]
    fn secrets_compare_by_fingerprint() {
        let n = |h: &str, ks: &str| {
            node(h, "gateway")
                .fingerprint("keystore.primary", ks)
                .fingerprint("encryption.key", "e1")
                // Each node's own TLS certificate: normal, never a finding (found in review).
                .fingerprint("keystore.tls", &format!("tls-{h}"))
                .fingerprint("keystore.tls.password", &format!("tls-pw-{h}"))
        };
        let f = fleet(vec![n("gw1", "k1"), n("gw2", "k2"), n("cp1", "k1")]);
        assert_eq!(
            f.lines(Code::FLEET_SECRETS_DIFFER),
            [
                "FLT010 deployment.toml:keystore.primary @gw2/opt/wso2am-4.2.0/repository/conf/deployment.toml:70:1 \
              A on cp1, gw1; B on gw2 → one value on every node"
            ]
        );
        let text = format!("{:?}", f.findings(Code::FLEET_SECRETS_DIFFER));
        assert!(
            !text.contains("hmac-sha256"),
            "a fingerprint is never shown: {text}"
        );
    }

    #[test]
    fn no_salt_or_different_salts_are_notes_not_findings() {
        let unsalted = fleet(vec![
            node("gw1", "gateway").fingerprint("keystore.primary", "k1"),
            node("gw2", "gateway").unsalted(),
        ]);
        assert!(unsalted.lines(Code::FLEET_SECRETS_DIFFER).is_empty());
        let cx_note = |f: &Fleet| {
            super::salt_note(&crate::rules::fleet::FleetContext::new(
                &f.nodes,
                None,
                &[],
                &[],
                None,
            ))
        };
        assert!(
            cx_note(&unsalted)
                .unwrap()
                .contains("exports of gw2 were made without a salt")
        );
        let salts = fleet(vec![
            node("gw1", "gateway")
                .fingerprint("keystore.primary", "a1")
                .fingerprint("encryption.key", "a2"),
            node("gw2", "gateway")
                .fingerprint("keystore.primary", "b1")
                .fingerprint("encryption.key", "b2"),
        ]);
        assert!(salts.lines(Code::FLEET_SECRETS_DIFFER).is_empty());
        assert!(cx_note(&salts).unwrap().contains("different salts"));
    }
}
