//! APM042 revocation-not-pushed: on 3.x/4.x the key manager tells gateways about revoked
//! tokens through a notifier; with every notifier off, gateways learn of a revocation only when
//! their cached validation expires.
//!
//! The older claim "a revoked token works until the cache expires" is stale for 3.x/4.x with
//! the shipped defaults (`enable_realtime_notifier = true`): only a home that switched the
//! notifiers off gets the finding. On 1.x/2.x the risk is a revocation URL that still points at
//! `localhost` on a distributed key manager, which the wiring rules judge.

use crate::apim::Layout;
use crate::diag::{Finding, Subject};
use crate::rules::{Check, Input, RuleContext};

declare_rule! {
    /// ### What it checks
    /// On 3.x/4.x, `[apim.token.revocation] enable_realtime_notifier` and
    /// `enable_persistent_notifier` both false, on a role that revokes tokens (all-in-one,
    /// key-manager, control-plane).
    /// ### Why it matters
    /// The notifier is how gateways hear of a revocation (the realtime one publishes the
    /// revoked token to the gateways' `token_revocation` listener). With neither, a revoked JWT
    /// keeps working on gateways until it expires, and a revoked opaque token until its entry in
    /// the gateway token cache expires.
    /// ### Fix
    /// Set `enable_realtime_notifier = true` (the shipped default) under `[apim.token.revocation]`.
    /// ### Sources
    /// - caching, Gateway token cache and revocation
    /// - https://apim.docs.wso2.com/en/latest/install-and-setup/setup/distributed-deployment/deploying-wso2-api-m-in-a-distributed-setup/
    pub(crate) static RULE = "APM042" "revocation-not-pushed" Warning "revoked tokens are not pushed to gateways",
    inputs: [Input::Apim],
    check: Check::Node(check),
}

/// The roles whose node revokes tokens (runs the key manager).
const REVOKING_ROLES: &[&str] = &["all-in-one", "key-manager", "control-plane"];

const REALTIME: &str = "apim.token.revocation.enable_realtime_notifier";
const PERSISTENT: &str = "apim.token.revocation.enable_persistent_notifier";

pub fn check(cx: &RuleContext, out: &mut Vec<Finding>) {
    let Some(apim) = cx.apim else { return };
    if apim.home.layout != Layout::Toml || !REVOKING_ROLES.contains(&cx.role) {
        return;
    }
    let (Some(realtime), Some(persistent)) = (apim.effective(REALTIME), apim.effective(PERSISTENT))
    else {
        return;
    };
    // Only a value the operator wrote turns a notifier off; a home whose default.json lacks the
    // key (an older 3.x) is not judged on a guess.
    let crate::apim::mapper::Origin::Toml {
        user_key,
        value_span,
        ..
    } = &realtime.origin
    else {
        return;
    };
    if realtime.value.as_deref() != Some("false") || persistent.value.as_deref() == Some("true") {
        return;
    }
    let Some(doc) = apim.toml.as_ref() else {
        return;
    };
    let mut f = Finding::new(
        RULE.code(),
        Subject::setting("deployment.toml", user_key.clone()),
        "no token revocation notifier is on: gateways are not told when a token is revoked",
    )
    .at(Some(doc.file.location(*value_span)))
    .current("realtime and persistent notifiers off")
    .expected("enable_realtime_notifier = true")
    .why("gateways learn of a revocation only from a notifier; without one a revoked JWT works until it expires and a revoked opaque token until its gateway cache entry expires")
    .see("caching, Gateway token cache; distributed-deployment");
    if let Some(expiry) = apim.observe("cache.token_expiry")
        && let Some(v) = expiry.value
    {
        f = f.note(format!(
            "token cache expiry `{}`: {v} s",
            expiry.subject.short_name()
        ));
    }
    out.push(f);
}
