//! JVM rules that need code: MaxPermSize on modern JDKs, heap against RAM, -Xms against -Xmx.

mod heap_vs_ram;
mod max_perm_size;
mod xms_xmx;

use super::RuleContext;
use crate::apim::jvm::JvmOptions;
use crate::finding::Finding;

pub fn check(cx: &RuleContext, out: &mut Vec<Finding>) {
    let Some(opts) = cx.apim.and_then(|a| a.jvm.as_ref()) else {
        return;
    };
    max_perm_size::check(cx, opts, out);
    heap_vs_ram::check(cx, opts, out);
    xms_xmx::check(cx, opts, out);
}

/// `api-manager.sh` / `wso2server.sh`, for subjects.
fn script_name(opts: &JvmOptions) -> String {
    opts.file
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| opts.file.display.clone())
}
