//! Exit codes, documented here and in README and `--help`.

/// Nothing at or above `--fail-on` was found.
pub const OK: u8 = 0;
/// Findings at or above `--fail-on`.
pub const FINDINGS: u8 = 1;
/// apim-tune itself failed: bad arguments, missing root, invalid profile.
pub const TOOL_ERROR: u8 = 2;
/// `--apply` or `rollback` failed while writing, and every file it had written was restored.
pub const ROLLED_BACK: u8 = 3;
/// `db clean` stopped by Ctrl-C or SIGTERM after a whole batch: the same command continues.
/// 128 + SIGINT, as shells report a process interrupted by Ctrl-C (and cron or systemd logs
/// show it): it says "interrupted", which none of 1–3 does.
pub const INTERRUPTED: u8 = 130;
