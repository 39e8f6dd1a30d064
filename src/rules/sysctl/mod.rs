//! Sysctl rules that need code: `tcp_tw_recycle`, keys the kernel lacks, live vs persisted,
//! shadowed lines, persisted values that lower what systemd raised, `/etc/sysctl.conf` where
//! boot does not read it, the ephemeral port range and the node's listen ports in it, swappiness
//! and transparent huge pages.

pub mod conf_not_read;
pub mod key_not_in_kernel;
pub mod listen_ports;
pub mod live_differs;
pub mod lowers_maximum;
pub mod port_parity;
pub mod port_range;
pub mod shadowed;
pub mod swappiness;
pub mod thp;
pub mod tw_recycle;

use crate::diag::{Change, Effect, Fix};
use crate::host::sysctl::{SysctlEntry, SysctlLine, is_admin_file, normalize_value};
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

/// The value `key` has for as long as nothing changes it: the line that wins at boot, else the
/// running kernel's; with the line that sets it, when one does. `None` when neither is known.
pub(crate) fn boot_or_live<'a>(
    cx: &'a RuleContext,
    key: &str,
) -> Option<(String, Option<&'a SysctlLine>)> {
    let entry: &SysctlEntry = cx.sysctl.get(key)?;
    match (&entry.winner, &entry.live) {
        (Some(w), _) => Some((normalize_value(&w.value), Some(w))),
        (None, Some(live)) => Some((normalize_value(live), None)),
        (None, None) => None,
    }
}

/// Set `key` to `value`: at `line` when it is the administrator's, else in apim-tune's drop-in
/// (which sorts last and so wins at boot).
pub(crate) fn set_key(
    cx: &RuleContext,
    key: &str,
    value: String,
    line: Option<&SysctlLine>,
) -> Fix {
    match line {
        Some(l) if not_editable(cx, l).is_none() => sysctl_fix(Change::SetSysctl {
            key: key.to_string(),
            value,
            line: Some(l.location()),
            drop_in: cx.sysctl_drop_in.to_string(),
        }),
        _ => override_in_drop_in(cx, key, value),
    }
}

/// `net.ipv4.ip_local_port_range` as `(low, high)`, when it reads as two ports.
pub(crate) fn port_range(value: &str) -> Option<(u32, u32)> {
    let mut it = value
        .split_ascii_whitespace()
        .map(|p| p.parse::<u32>().ok());
    match (it.next()??, it.next()??, it.next()) {
        (lo, hi, None) if lo <= hi => Some((lo, hi)),
        _ => None,
    }
}

/// The kernel's default range since 2.6 (`32768 60999`, verified on 6.x): 28,232 ports.
pub(crate) const DEFAULT_RANGE: (u32, u32) = (32768, 60999);
pub(crate) const PORT_RANGE: &str = "net.ipv4.ip_local_port_range";
pub(crate) const RESERVED_PORTS: &str = "net.ipv4.ip_local_reserved_ports";

/// Roles whose node opens many outbound connections (a gateway to its backends; an all-in-one
/// node is a gateway too): the ones the ephemeral range limits.
pub(crate) const OUTBOUND_ROLES: &[&str] = &["gateway", "all-in-one"];

/// Ports in `(low, high)`.
pub(crate) fn size(range: (u32, u32)) -> u32 {
    range.1 - range.0 + 1
}

/// Whether SYS020 judges this node's range too small (SYS021 then leaves the parity to its fix).
pub(crate) fn range_too_small(cx: &RuleContext) -> bool {
    OUTBOUND_ROLES.contains(&cx.role)
        && boot_or_live(cx, PORT_RANGE)
            .and_then(|(v, _)| port_range(&v))
            .is_some_and(|r| size(r) < size(DEFAULT_RANGE))
}

/// `range` with ends of different parity: one more port at the top, or at the bottom when the
/// top is the last port (or one fewer at the bottom when it would go below 1024).
pub(crate) fn different_parity((lo, hi): (u32, u32)) -> (u32, u32) {
    if lo % 2 != hi % 2 {
        (lo, hi)
    } else if hi < 65535 {
        (lo, hi + 1)
    } else if lo > 1024 {
        (lo - 1, hi)
    } else {
        (lo + 1, hi)
    }
}

/// Comment out the line at `line`, and the lines `also` with it; the dated note says the key
/// `because`.
pub(crate) fn disable(key: &str, line: Location, because: &str, also: Vec<Location>) -> Fix {
    sysctl_fix(Change::DisableSysctl {
        key: key.to_string(),
        line,
        because: because.to_string(),
        also,
    })
}

/// The lines of `entry` that boot reads before its winner, in files of the administrator's:
/// commenting out the winner alone would let the last of them win at the next boot (a new
/// finding, or the same one again), so a fix that disables the winner disables them too.
pub(crate) fn earlier_editable(cx: &RuleContext, entry: &SysctlEntry) -> Vec<Location> {
    entry
        .shadowed
        .iter()
        .filter(|l| not_editable(cx, l).is_none())
        .map(SysctlLine::location)
        .collect()
}

/// Every line of `entry` (the earlier ones, then the winner) by file, in reading order: the last
/// line of each file, with the earlier ones of that file. A rule that reports each line reports
/// each file's lines once, so a line repeated 100,000 times is one finding, not 100,000.
pub(crate) fn lines_by_file(entry: &SysctlEntry) -> Vec<(&SysctlLine, Vec<&SysctlLine>)> {
    group_by_file(entry.shadowed.iter().chain(entry.winner.as_ref()))
}

/// `lines` by file, in order: the last line of each file, with the earlier ones of that file.
pub(crate) fn group_by_file<'a>(
    lines: impl IntoIterator<Item = &'a SysctlLine>,
) -> Vec<(&'a SysctlLine, Vec<&'a SysctlLine>)> {
    let mut groups: Vec<(&SysctlLine, Vec<&SysctlLine>)> = Vec::new();
    for line in lines {
        match groups
            .iter_mut()
            .find(|(last, _)| std::sync::Arc::ptr_eq(&last.file, &line.file))
        {
            Some((last, earlier)) => earlier.push(std::mem::replace(last, line)),
            None => groups.push((line, Vec::new())),
        }
    }
    groups
}

/// ` (and on 3 earlier lines of this file)`, for a finding that stands for several lines.
pub(crate) fn and_earlier(earlier: usize) -> String {
    match earlier {
        0 => String::new(),
        1 => " (and on 1 earlier line of this file)".to_string(),
        n => format!(" (and on {n} earlier lines of this file)"),
    }
}

#[cfg(test)]
mod tests;
