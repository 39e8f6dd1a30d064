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
use crate::host::sysctl::{SysctlLine, is_admin_file};
use crate::model::Location;
use crate::rules::RuleContext;

/// Keys systemd raises to the kernel maximum at boot: never recommend less than the live value.
pub const NEVER_LOWER: &[&str] = &["fs.file-max", "fs.nr_open"];

/// A kernel parameter change, in effect once the files are loaded as boot loads them
/// ([`Effect::SysctlReload`]).
pub(crate) fn sysctl_fix(change: Change) -> Fix {
    Fix::safe(change, Effect::SysctlReload)
}

/// Why apim-tune must not edit the file `line` is in, or `None` when it is the administrator's
/// (its real path is under /etc): a file in /run is lost at reboot, one in /usr/lib or /lib
/// belongs to a package and is replaced by its next update.
pub(crate) fn not_editable(cx: &RuleContext, line: &SysctlLine) -> Option<String> {
    if is_admin_file(cx.root, &line.file) {
        return None;
    }
    let real = crate::model::display_path(cx.root, &line.file.path);
    Some(if real.starts_with("run/") {
        format!("{real} is in /run, lost at reboot; apim-tune does not edit it")
    } else {
        format!("{real} belongs to a package; apim-tune does not edit it")
    })
}

/// Set `key` to `value` in apim-tune's drop-in in /etc/sysctl.d, which sorts after every
/// sysctl.d file and so wins at boot over a line apim-tune must not edit.
pub(crate) fn override_in_drop_in(cx: &RuleContext, key: &str, value: String) -> Fix {
    sysctl_fix(Change::SetSysctl {
        key: key.to_string(),
        value,
        line: None,
        drop_in: cx.sysctl_drop_in.to_string(),
    })
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
