//! Sysctl rules that need code: `tcp_tw_recycle`, keys the kernel lacks, live vs persisted,
//! shadowed lines, persisted values that lower what systemd raised, and `/etc/sysctl.conf` where
//! boot does not read it.

pub mod conf_not_read;
pub mod key_not_in_kernel;
pub mod live_differs;
pub mod lowers_maximum;
pub mod shadowed;
pub mod tw_recycle;

use crate::diag::{Change, Effect, Fix};
use crate::model::Location;

/// Keys systemd raises to the kernel maximum at boot: never recommend less than the live value.
pub const NEVER_LOWER: &[&str] = &["fs.file-max", "fs.nr_open"];

/// A kernel parameter change, in effect once the files are loaded (`sysctl --system`).
pub(crate) fn sysctl_fix(change: Change) -> Fix {
    Fix::safe(change, Effect::SysctlReload)
}

/// Comment out the line at `line`; the dated note says the key `because`.
pub(crate) fn disable(key: &str, line: Location, because: &str) -> Fix {
    sysctl_fix(Change::DisableSysctl {
        key: key.to_string(),
        line,
        because: because.to_string(),
    })
}

#[cfg(test)]
mod tests;
