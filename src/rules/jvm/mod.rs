//! JVM rules that need code: MaxPermSize and other options the JDK in effect refuses, heap
//! against RAM, -Xms against -Xmx.

pub mod heap_vs_ram;
pub mod jdk_options;
pub mod jdk_range;
pub mod max_perm_size;
pub mod xms_xmx;

use crate::apim::jvm::JvmOptions;
use crate::diag::{Change, Effect, Fix};

/// `api-manager.sh` / `wso2server.sh`, for subjects.
pub(crate) fn script_name(opts: &JvmOptions) -> String {
    opts.file
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| opts.file.display.clone())
}

/// A start-up script change, in effect once API-M restarts.
pub(crate) fn jvm_fix(change: Change) -> Fix {
    Fix::safe(change, Effect::RestartApim)
}

#[cfg(test)]
mod tests;
