//! APM016 role-differs-from-node: `--role` names another role than the node declares
//! (`server_role` in deployment.toml, `-Dprofile=` on its unit or its running JVM).

use crate::diag::{Finding, Subject};
use crate::rules::{Check, Input, RuleContext};

declare_rule! {
    /// ### What it checks
    /// A `--role` (or a site profile's role) that is not the role the node itself declares: the
    /// running JVM's `-Dprofile=`, else the one on the unit's `ExecStart=`, else `server_role`
    /// in deployment.toml. Without `--role` the node's own role is used and nothing is reported.
    /// ### Why it matters
    /// The recommendations differ per role (worker pools for a gateway, token caches for a key
    /// manager): judged as the wrong role, a node gets advice for work it does not do.
    /// ### Fix
    /// Drop `--role` (the node's role is the default), or correct the node's `server_role` or
    /// `-Dprofile=` if it is the node that is wrong.
    /// ### Sources
    /// - distributed-deployment
    /// - https://apim.docs.wso2.com/en/3.2.0/install-and-setup/setup/distributed-deployment/product-profiles/: product profiles
    pub(crate) static RULE = "APM016" "role-differs-from-node" Warning "the audited role is not the role the node declares",
    inputs: [Input::Apim, Input::Units, Input::Processes],
    check: Check::Node(check),
}

pub fn check(cx: &RuleContext, out: &mut Vec<Finding>) {
    let Some(node) = cx.node_role else { return };
    if node.role == cx.role {
        return;
    }
    let subject = match cx.apim {
        Some(apim) => Subject::ApimHome {
            path: apim.home.path.display().to_string(),
        },
        None => return,
    };
    out.push(
        Finding::new(
            RULE.code(),
            subject,
            format!(
                "audited as `{}`, but the node declares `{}` ({}: `{}`)",
                cx.role, node.role, node.source, node.written
            ),
        )
        .at(node.at.clone())
        .current(cx.role.to_string())
        .expected(node.role.to_string())
        .why("the recommendations differ per role; judged as another role, the node gets advice for work it does not do")
        .see("distributed-deployment; https://apim.docs.wso2.com/en/3.2.0/install-and-setup/setup/distributed-deployment/product-profiles/"),
    );
}
