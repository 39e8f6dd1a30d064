//! systemd and cron: a oneshot service with its timer, or a crontab line, running
//! `apim-tune db clean` itself with the URL in an environment file.

use super::header::{at_zone, header};
use super::options::{ScheduleOptions, ScheduleTarget, clean_args};
use super::when::{Every, cron_expr, on_calendar, when};
use super::{ENV_FILE, SERVICE_UNIT, TIMER_UNIT, URL_VAR, fmt_duration};
use crate::db::CleanPlan;
use std::fmt::Write as _;
use std::time::Duration;

const LOCK_FILE: &str = "/run/lock/apim-tune-db-clean.lock";
const LOG_FILE: &str = "/var/log/apim-tune-db-clean.log";

/// The `db clean` command line after `--url`.
fn clean_tail(c: &CleanPlan) -> String {
    let mut words = vec!["--yes".to_string()];
    words.extend(clean_args(c));
    words.join(" ")
}

/// The environment file's line: the URL given, password masked, or a placeholder. Single
/// quotes make it the same line for systemd's EnvironmentFile= and sh's `.`.
fn env_line(opts: &ScheduleOptions) -> String {
    let url = opts
        .url
        .as_deref()
        .map(crate::redact::redact_connection_url)
        .unwrap_or_else(|| "mysql://USER:PASSWORD@HOST:3306/WSO2AM_DB".to_string());
    format!("{URL_VAR}='{url}'")
}

pub(super) fn systemd(opts: &ScheduleOptions) -> String {
    let c = &opts.clean;
    let mut o = format!("# /etc/systemd/system/{SERVICE_UNIT}\n");
    o.push_str(&header("#", ScheduleTarget::Systemd, opts));
    let _ = write!(
        o,
        "#
# Install: save this part as {SERVICE_UNIT} and the part after it as {TIMER_UNIT}, then
#   install -m 0644 {SERVICE_UNIT} {TIMER_UNIT} /etc/systemd/system/
#   systemctl daemon-reload && systemctl enable --now {TIMER_UNIT}
# The URL, password included, goes into {ENV_FILE} (root only, mode 0600; systemd reads it
# before it drops privileges), never into this unit:
#   {env}
# Exit code 130: the run was interrupted (systemctl stop, shutdown) and resumes where it stopped
# on the next run. It is left out of SuccessExitStatus= on purpose, so that the unit shows as
# failed until a run completes.

[Unit]
Description=apim-tune db clean: remove expired WSO2 API-M runtime rows
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
EnvironmentFile={ENV_FILE}
# apim-tune reads {URL_VAR} from the environment: the password never shows in the process list.
ExecStart={bin} db clean {tail}
# apim-tune takes SIGINT like Ctrl-C: it finishes the current batch and exits 130.
KillSignal=SIGINT
# Hardening: the run needs the network and a working directory, nothing else.
DynamicUser=yes
StateDirectory=apim-tune
WorkingDirectory=%S/apim-tune
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
MemoryDenyWriteExecute=yes
SystemCallArchitectures=native
CapabilityBoundingSet=

# /etc/systemd/system/{TIMER_UNIT}
# Starts {SERVICE_UNIT} {when} ({zone}). A run still going when the next is due
# is not started twice.

[Unit]
Description=Run apim-tune db clean {when}

[Timer]
OnCalendar={cal}
# Catch up on a run missed while the host was down.
Persistent=true
# Spreads the start, so that several hosts do not all hit the database at the same second.
RandomizedDelaySec={delay}

[Install]
WantedBy=timers.target
",
        env = env_line(opts),
        bin = opts.binary,
        tail = clean_tail(c),
        when = when(opts.every, opts.at),
        zone = at_zone(ScheduleTarget::Systemd),
        cal = on_calendar(opts.every, opts.at),
        delay = fmt_duration(randomized_delay(opts.every)),
    );
    o
}

/// A tenth of the interval, at most 15 minutes: enough to spread hosts, small against the
/// interval.
fn randomized_delay(every: Every) -> Duration {
    let minutes = match every {
        Every::Minutes(m) => u64::from(m),
        Every::Hours(h) => u64::from(h) * 60,
        Every::Days(d) => u64::from(d) * 1440,
        Every::Weeks(w) => u64::from(w) * 10_080,
    };
    Duration::from_secs((minutes * 6).min(15 * 60))
}

pub(super) fn cron(opts: &ScheduleOptions) -> String {
    let c = &opts.clean;
    let mut o = header("#", ScheduleTarget::Cron, opts);
    let command = format!(
        "flock -n {LOCK_FILE} sh -c 'set -a && . {ENV_FILE} && exec {} db clean {}' >>{LOG_FILE} 2>&1",
        opts.binary,
        clean_tail(c)
    );
    let _ = write!(
        o,
        "#
# Install: the URL, password included, goes into {ENV_FILE} (root only, mode 0600), never into
# the crontab:
#   {env}
# then add the line below with `crontab -e` as root. flock -n skips a run while the previous
# one still holds the lock; the output is appended to {LOG_FILE}.
# Exit code 130: the run was interrupted and resumes where it stopped on the next run.
{expr} {command}
",
        env = env_line(opts),
        expr = cron_expr(opts.every, opts.at),
        // `%` ends the command in a crontab line (the rest becomes its input).
        command = command.replace('%', "\\%"),
    );
    o
}
