//! The closed set of finding codes: family prefix + number + kebab-case name.
//!
//! A code names a kind of problem, never a knob (the knob is the finding's subject). Codes are
//! never reused or renumbered; the snapshot test in `tests/` makes any change visible.

use crate::finding::Severity;
use serde::{Serialize, Serializer};

/// Declares the `Code` enum and its documentation table in one place.
macro_rules! declare_codes {
    ($(
        $(#[doc = $doc:literal])*
        $variant:ident $code:literal $name:literal $sev:ident $summary:literal;
    )*) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code { $($variant),* }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// Short code, e.g. `SYS010`.
            pub fn code(self) -> &'static str {
                match self { $(Code::$variant => $code),* }
            }

            /// Kebab-case name describing the problem, e.g. `tcp-tw-recycle-enabled`.
            pub fn name(self) -> &'static str {
                match self { $(Code::$variant => $name),* }
            }

            pub fn default_severity(self) -> Severity {
                match self { $(Code::$variant => Severity::$sev),* }
            }

            /// One line for `apim-tune rules`.
            pub fn summary(self) -> &'static str {
                match self { $(Code::$variant => $summary),* }
            }

            /// The full documentation (what it checks, why it matters, the fix).
            pub fn explain(self) -> &'static str {
                match self { $(Code::$variant => concat!($($doc, "\n"),*)),* }
            }
        }
    };
}

declare_codes! {
    /// ### What it checks
    /// A configuration file exists but cannot be read: permissions, not UTF-8, a directory where a
    /// file was expected, a dangling symbolic link.
    /// ### Why it matters
    /// The settings in it were not audited; the audit goes on with the other files.
    /// ### Fix
    /// Make the file readable by the user running apim-tune, or fix the link.
    Src001 "SRC001" "source-unreadable" Warning "a configuration file exists but cannot be read";
    /// ### What it checks
    /// A configuration file whose syntax is wrong (XML, TOML, JSON, properties, sysctl or limits
    /// lines), reported with file:line:column.
    /// ### Why it matters
    /// API-M or the OS may refuse the file or silently ignore the broken part.
    /// ### Fix
    /// Correct the syntax at the reported position.
    Src002 "SRC002" "source-unparseable" Error "a configuration file has a syntax error";
    /// ### What it checks
    /// The API-M version could not be determined from carbon.xml, the home's name or the layout.
    /// ### Why it matters
    /// Setting names and defaults differ between versions; apim-tune falls back to the layout
    /// (deployment.toml or XML) and the newest version of that layout.
    /// ### Fix
    /// Pass `--apim-version X.Y.Z`.
    Src003 "SRC003" "apim-version-unknown" Info "the API-M version could not be detected";

    /// ### What it checks
    /// A waiver in the waivers file whose `expires` date has passed.
    /// ### Why it matters
    /// An accepted deviation was meant to be temporary; the findings it covered count again.
    /// ### Fix
    /// Fix the findings, or renew the waiver with a new `expires` and a reason that still holds.
    Wav001 "WAV001" "waiver-expired" Warning "a waiver has expired and no longer applies";
    /// ### What it checks
    /// A waiver that matched no finding in this run.
    /// ### Why it matters
    /// Like an unused suppression, it hides nothing today but would silently hide a future
    /// regression of the same kind.
    /// ### Fix
    /// Remove the waiver, or correct its `code`/`subject`.
    Wav002 "WAV002" "waiver-unused" Info "a waiver matched no finding";

    /// ### What it checks
    /// A kernel parameter whose effective value (persisted, else live) is below the profile's
    /// minimum.
    /// ### Why it matters
    /// The profile entry's `why` says what runs out: backlog, buffers, ports, file handles.
    /// ### Fix
    /// Raise the value in the sysctl file that wins at boot, or in a late-sorting sysctl.d drop-in.
    Sys001 "SYS001" "sysctl-below-recommended" Warning "a kernel parameter is below the recommended minimum";
    /// ### What it checks
    /// A kernel parameter above the profile's maximum (e.g. a FIN timeout that holds sockets).
    /// ### Why it matters
    /// See the profile entry's `why`.
    /// ### Fix
    /// Lower the value in the file that wins at boot.
    Sys002 "SYS002" "sysctl-above-recommended" Warning "a kernel parameter is above the recommended maximum";
    /// ### What it checks
    /// A kernel parameter whose value is not the one (or one of those) the profile expects.
    /// ### Why it matters
    /// See the profile entry's `why`.
    /// ### Fix
    /// Set the expected value in the file that wins at boot.
    Sys003 "SYS003" "sysctl-not-recommended" Warning "a kernel parameter differs from the recommended value";
    /// ### What it checks
    /// A kernel parameter that the profile says must not be set at all.
    /// ### Why it matters
    /// See the profile entry's `why`.
    /// ### Fix
    /// Remove (comment out) the line.
    Sys004 "SYS004" "sysctl-should-be-absent" Warning "a kernel parameter is set that should not be";
    /// ### What it checks
    /// The running kernel's value (`/proc/sys`) differs from the value the persisted files set.
    /// ### Why it matters
    /// Either someone changed the live value by hand (lost at the next boot) or the files were
    /// edited and never loaded: what is tested today is not what the next boot gives.
    /// ### Fix
    /// Load the files (`sysctl --system`) or persist the live value.
    Sys005 "SYS005" "sysctl-live-differs-from-persisted" Warning "the live kernel value differs from the persisted one";
    /// ### What it checks
    /// A sysctl line that is overridden by a later file with a different value.
    /// ### Why it matters
    /// Editing the shadowed line changes nothing; people lose hours to this.
    /// ### Fix
    /// Remove the shadowed line or edit the line that wins.
    Sys006 "SYS006" "sysctl-shadowed-line" Info "a sysctl line is overridden by a later file";
    /// ### What it checks
    /// `net.ipv4.tcp_tw_recycle = 1` on a kernel that still has the key (before 4.12).
    /// ### Why it matters
    /// Recycling keeps the last TCP timestamp per remote host and drops SYNs with an older one;
    /// clients behind one NAT share an address but not a timestamp clock, so their connections
    /// are silently dropped. Broken since 4.10 and removed in 4.12 (commit 4396e46187ca).
    /// ### Fix
    /// Remove the line; never set it. `tcp_tw_reuse` covers the outbound case safely.
    Sys010 "SYS010" "tcp-tw-recycle-enabled" Error "tcp_tw_recycle is enabled";
    /// ### What it checks
    /// A persisted line for a kernel parameter the running kernel does not have, such as
    /// `net.ipv4.tcp_tw_recycle` on Linux 4.12 and later.
    /// ### Why it matters
    /// `sysctl -p` prints "cannot stat" and exits 1 on it, which fails provisioning scripts.
    /// ### Fix
    /// Remove (comment out) the line.
    Sys011 "SYS011" "sysctl-key-not-in-kernel" Error "a persisted sysctl key does not exist in the running kernel";
    /// ### What it checks
    /// A persisted `fs.file-max` or `fs.nr_open` lower than the live value.
    /// ### Why it matters
    /// systemd raises both to the kernel maximum at boot; a copied `fs.file-max = 2097152` then
    /// lowers the system-wide limit instead of raising it.
    /// ### Fix
    /// Remove the line, or set it no lower than the live value.
    Sys012 "SYS012" "sysctl-lowers-kernel-maximum" Warning "a persisted value lowers a limit the system already raised";

    /// ### What it checks
    /// A tuning line in `/etc/sysctl.conf` on a distribution that no longer reads that file at
    /// boot (Debian 13 and later, unless `/etc/sysctl.d/99-sysctl.conf` links to it).
    /// ### Why it matters
    /// The value looks persisted but the next boot does not apply it.
    /// ### Fix
    /// Move the line to a drop-in in `/etc/sysctl.d` (apim-tune comments it out with a note).
    Sys013 "SYS013" "sysctl-conf-not-read-at-boot" Warning "a sysctl.conf line is not applied at boot on this distribution";

    /// ### What it checks
    /// The effective soft or hard `nofile`/`nproc` limit for the API-M user (pam_limits
    /// semantics over limits.conf and limits.d) is below the profile's minimum.
    /// ### Why it matters
    /// A gateway holds a socket per client and backend connection; running out gives
    /// "Too many open files" and refused connections.
    /// ### Fix
    /// Raise the line that wins, or add a limits.d drop-in for the API-M user.
    Lim001 "LIM001" "limit-below-recommended" Warning "a resource limit is below the recommended minimum";
    /// ### What it checks
    /// A soft limit above the hard limit for the same user and item.
    /// ### Why it matters
    /// pam_limits clamps the soft value to the hard one before setrlimit(2) (libpam
    /// `setup_limits`), so the soft value written is never the one in effect: the file says
    /// something the system does not do.
    /// ### Fix
    /// Raise the hard limit, or lower the soft one to what is really wanted.
    Lim002 "LIM002" "limit-soft-above-hard" Warning "a soft limit is above its hard limit and is clamped to it";
    /// ### What it checks
    /// An `nproc` limit below the 1024 threads one Carbon instance needs with its default pools.
    /// ### Why it matters
    /// Thread creation fails with "unable to create new native thread" under load.
    /// ### Fix
    /// Give `nproc` at least 1024 per Carbon instance on the host.
    Lim003 "LIM003" "nproc-below-carbon-threads" Error "nproc is below what one Carbon instance needs";
    /// ### What it checks
    /// API-M runs as root and the limits are set only with the `*` wildcard.
    /// ### Why it matters
    /// pam_limits does not apply group or wildcard lines to root.
    /// ### Fix
    /// Add explicit `root` lines, or better, run API-M as an unprivileged user.
    Lim004 "LIM004" "limits-wildcard-skips-root" Warning "wildcard limits do not apply to root";

    /// ### What it checks
    /// `LimitNOFILE`/`LimitNPROC` of the systemd unit that runs API-M (from the unit, its
    /// drop-ins, `DefaultLimitNOFILE` in system.conf, or systemd's default 1024:524288) below
    /// the profile's limits.
    /// ### Why it matters
    /// A systemd service never reads limits.conf: only the unit's limits apply to API-M.
    /// ### Fix
    /// A unit drop-in `<unit>.d/zz-apim-tune.conf` with `[Service] LimitNOFILE=soft:hard`, then
    /// `systemctl daemon-reload` and a restart of the unit.
    Svc001 "SVC001" "unit-limit-below-recommended" Warning "the systemd unit running API-M has a limit below the recommended one";
    /// ### What it checks
    /// limits.conf or limits.d lines for the API-M user while API-M runs as a systemd service.
    /// ### Why it matters
    /// pam_limits applies to login sessions only; these lines do not reach the service and give
    /// a false sense of being tuned.
    /// ### Fix
    /// Set the limits in the unit (see SVC001); the lines can stay for interactive sessions.
    Svc002 "SVC002" "limits-conf-not-applied-to-service" Info "limits.conf does not apply to the API-M systemd service";
    /// ### What it checks
    /// The live limits of a running API-M JVM (`/proc/<pid>/limits`) below the profile's, even
    /// when every file is right.
    /// ### Why it matters
    /// Limits are fixed when the process starts: the running server keeps the old ones until it
    /// is restarted.
    /// ### Fix
    /// Restart API-M (from the unit or a new login session) after fixing the files.
    Prc001 "PRC001" "process-limit-below-recommended" Warning "a running API-M JVM has a live limit below the recommended one";

    /// ### What it checks
    /// An API-M setting whose effective value is below the profile's minimum.
    /// ### Why it matters
    /// See the profile entry's `why`.
    /// ### Fix
    /// Raise the value in the file the detected version reads (deployment.toml on 3.x/4.x).
    Apm001 "APM001" "setting-below-recommended" Warning "an API-M setting is below the recommended minimum";
    /// ### What it checks
    /// An API-M setting above the profile's maximum.
    /// ### Why it matters
    /// See the profile entry's `why`.
    /// ### Fix
    /// Lower the value in the file the detected version reads.
    Apm002 "APM002" "setting-above-recommended" Warning "an API-M setting is above the recommended maximum";
    /// ### What it checks
    /// An API-M setting whose value is not the one (or one of those) the profile expects.
    /// ### Why it matters
    /// See the profile entry's `why`.
    /// ### Fix
    /// Set the expected value in the file the detected version reads.
    Apm003 "APM003" "setting-not-recommended" Warning "an API-M setting differs from the recommended value";
    /// ### What it checks
    /// An API-M setting that the profile says must not be set.
    /// ### Why it matters
    /// See the profile entry's `why`.
    /// ### Fix
    /// Remove the setting.
    Apm004 "APM004" "setting-should-be-absent" Warning "an API-M setting is set that should not be";
    /// ### What it checks
    /// The gateway token cache and the key-manager token cache are both enabled.
    /// ### Why it matters
    /// WSO2 says to enable exactly one: with both, a revoked token can stay valid in two places
    /// and memory is spent twice for the same entries.
    /// ### Fix
    /// Keep the gateway cache (faster) or the key-manager cache (no token data in the DMZ), not both.
    Apm010 "APM010" "token-caches-both-enabled" Error "gateway and key-manager token caches are both on";
    /// ### What it checks
    /// The pass-through `worker_thread_keepalive_sec` is not below `http.socket.timeout`.
    /// ### Why it matters
    /// WSO2: the worker keep-alive should be less than the socket timeout, or idle workers
    /// outlive the connections they serve.
    /// ### Fix
    /// Lower `worker_thread_keepalive_sec` below the socket timeout (in seconds).
    Apm011 "APM011" "keepalive-not-below-socket-timeout" Warning "worker keep-alive is not below the socket timeout";
    /// ### What it checks
    /// I/O reactor thread counts (`io_threads_per_reactor`, `snd_io_threads`, `lst_io_threads`)
    /// that differ from the host's core count.
    /// ### Why it matters
    /// One dispatch thread per core is the design point of the non-blocking reactors; more only
    /// adds context switches, fewer leaves cores idle.
    /// ### Fix
    /// Set it to the core count, or remove it where the code default is the core count.
    Apm012 "APM012" "io-threads-not-core-count" Warning "I/O reactor threads differ from the core count";
    /// ### What it checks
    /// A datasource `validationQuery` that does not fit its database (from URL, driver or type).
    /// ### Why it matters
    /// With `testOnBorrow`, a query the database rejects makes every borrow fail: Oracle needs
    /// `SELECT 1 FROM DUAL`, DB2 `SELECT 1 FROM SYSIBM.SYSDUMMY1`.
    /// ### Fix
    /// Set the validation query for that database.
    Apm013 "APM013" "validation-query-mismatch" Error "a datasource validation query does not fit its database";

    /// ### What it checks
    /// A deployment.toml key that sets nothing the product reads: a dotted property name left
    /// unquoted (`http.socket.timeout = 180000` under `[passthru_http]` is a nested table in
    /// TOML, not the key `'http.socket.timeout'`), or a `[transport.http]` alias name written
    /// under `[passthru_http]` (where it is copied verbatim into passthru-http.properties and
    /// ignored).
    /// ### Why it matters
    /// The value looks tuned but the default stays in effect. WSO2's own 4.x tuning page shows
    /// both mistakes.
    /// ### Fix
    /// Quote the dotted name (`'http.socket.timeout' = 180000`), or use the key the table expects.
    Apm014 "APM014" "toml-key-has-no-effect" Error "a deployment.toml key sets nothing the product reads";
    /// ### What it checks
    /// Two names that map onto one template key (e.g. `[apim.cache.gateway_token] expiry_time`
    /// and `[apim.cache.km_token] expiry_time`, both `TokenCacheExpiry`) set to different values.
    /// ### Why it matters
    /// Only one value can reach the rendered file; which one depends on the config mapper's
    /// processing order, not on what the operator meant.
    /// ### Fix
    /// Set one of them, or both to the same value.
    Apm015 "APM015" "toml-aliases-conflict" Warning "two deployment.toml names for one setting disagree";

    /// ### What it checks
    /// A JVM flag of the start-up script below the profile's minimum (e.g. heap size).
    /// ### Why it matters
    /// See the profile entry's `why`.
    /// ### Fix
    /// Raise it in `JVM_MEM_OPTS` of the start-up script (or the environment that sets it).
    Jvm001 "JVM001" "jvm-below-recommended" Warning "a JVM option is below the recommended minimum";
    /// ### What it checks
    /// A JVM flag above the profile's maximum.
    /// ### Why it matters
    /// See the profile entry's `why`.
    /// ### Fix
    /// Lower it in the start-up script.
    Jvm002 "JVM002" "jvm-above-recommended" Warning "a JVM option is above the recommended maximum";
    /// ### What it checks
    /// A JVM flag whose value is not the one the profile expects.
    /// ### Why it matters
    /// See the profile entry's `why`.
    /// ### Fix
    /// Set it in the start-up script.
    Jvm003 "JVM003" "jvm-not-recommended" Warning "a JVM option differs from the recommended value";
    /// ### What it checks
    /// A JVM flag that the profile says must not be set.
    /// ### Why it matters
    /// See the profile entry's `why`.
    /// ### Fix
    /// Remove it from the start-up script.
    Jvm004 "JVM004" "jvm-flag-should-be-absent" Warning "a JVM option is set that should not be";
    /// ### What it checks
    /// `-XX:MaxPermSize` in the start-up script when the JDK is 17 or later (error), or when the
    /// JDK is unknown (warning).
    /// ### Why it matters
    /// From JDK 17 the option is unrecognised and the JVM refuses to start ("Could not create the
    /// Java Virtual Machine"); on 8-16 it is ignored with a warning. WSO2's tuning page still
    /// recommends it; current API-M needs JDK 17 or 21.
    /// ### Fix
    /// Remove it; use `-XX:MaxMetaspaceSize` if a metaspace cap is really wanted.
    Jvm010 "JVM010" "max-perm-size-on-modern-jdk" Error "-XX:MaxPermSize stops JDK 17+ from starting";
    /// ### What it checks
    /// A maximum heap above about half of the host's memory.
    /// ### Why it matters
    /// The JVM also needs metaspace, direct buffers (pass-through I/O buffers), thread stacks for
    /// hundreds of workers, and the OS needs page cache; a larger heap invites the OOM killer.
    /// ### Fix
    /// Lower `-Xmx` to at most half of RAM, or add memory.
    Jvm011 "JVM011" "heap-above-half-ram" Warning "the maximum heap is above half of RAM";
    /// ### What it checks
    /// `-Xms` differs from `-Xmx`.
    /// ### Why it matters
    /// WSO2's tuning guide sets both to the same value so the heap never resizes under load.
    /// ### Fix
    /// Set `-Xms` equal to `-Xmx`.
    Jvm012 "JVM012" "heap-min-differs-from-max" Info "-Xms differs from -Xmx";
    /// ### What it checks
    /// `db audit`: rows in an API-M runtime table that `db clean` would remove now: INACTIVE,
    /// REVOKED or EXPIRED tokens, ACTIVE tokens whose access and refresh token both expired more
    /// than the safe period ago, authorization codes whose token is gone, sessions expired past
    /// the safe period or deleted more than 12 hours ago, superseded registry log rows, token
    /// audit rows older than `--older-than`. The finding gives the count by reason and the
    /// oldest removable row. It is a warning from 10,000 rows or a fifth of the table.
    /// ### Why it matters
    /// Token generation and validation read these tables; dead rows make their indexes deeper
    /// and their scans longer until logins and key validation slow down (WSO2, "Managing data
    /// growth").
    /// ### Fix
    /// `apim-tune db clean --url … --tokens --codes --sessions` (add `--backup` to keep a copy),
    /// or schedule it: `apim-tune db schedule`.
    Dbg001 "DBG001" "removable-rows-present" Warning "an API-M runtime table holds rows the cleanup would remove";
    /// ### What it checks
    /// `db audit`: an index the cleanup's queries need on a large table is missing, e.g.
    /// IDN_OAUTH2_AUTHORIZATION_CODE(TOKEN_ID), IDN_AUTH_SESSION_STORE(EXPIRY_TIME, SESSION_ID),
    /// or REG_LOG(REG_PATH, REG_TENANT_ID), which WSO2's scripts never create.
    /// ### Why it matters
    /// Without it every batch scans the whole table while holding its locks.
    /// ### Fix
    /// Create the index the finding shows, at a quiet time.
    Dbg002 "DBG002" "cleanup-index-missing" Warning "an index the cleanup needs is missing";
    /// ### What it checks
    /// `db audit`: IDN_OAUTH2_ACCESS_TOKEN_AUDIT holds rows older than `--older-than` (90 days by
    /// default). API-M copies every token its in-product cleanup removes into it when
    /// `retain_access_tokens_for_auditing` (identity.xml `RetainOldAccessToken`) is on, and no
    /// WSO2 procedure ever cleans it.
    /// ### Why it matters
    /// It grows without bound, with every token ever issued.
    /// ### Fix
    /// Turn retention off unless an audit trail is required, and purge old rows:
    /// `apim-tune db clean --audit-table --older-than 90d`.
    Dbg003 "DBG003" "token-audit-table-growing" Warning "the token audit table keeps old rows nothing cleans";
    /// ### What it checks
    /// `db audit --apim-home`: the in-product token cleanup is off (`[oauth.token_cleanup]
    /// enable = false`, identity.xml `EnableTokenCleanup`) and the token table holds removable
    /// rows.
    /// ### Why it matters
    /// Without it, tokens stay in IDN_OAUTH2_ACCESS_TOKEN after they are revoked or replaced.
    /// ### Fix
    /// Enable the token cleanup, or schedule `apim-tune db clean --tokens`.
    Dbg004 "DBG004" "token-cleanup-disabled" Warning "the in-product token cleanup is off while removable tokens pile up";
    /// ### What it checks
    /// `db audit --apim-home`: the in-product session data cleanup is off
    /// (`[session_data.cleanup] enable_expired_data_cleanup = false`, identity.xml
    /// `SessionDataCleanUp/Enable`) and IDN_AUTH_SESSION_STORE holds removable sessions.
    /// ### Why it matters
    /// Every login adds session rows; without the cleanup they stay forever.
    /// ### Fix
    /// Enable it, or schedule `apim-tune db clean --sessions`.
    Dbg005 "DBG005" "session-cleanup-disabled" Warning "the in-product session cleanup is off while removable sessions pile up";
    /// ### What it checks
    /// `db audit` on MySQL/MariaDB: the server's time zone is not UTC.
    /// ### Why it matters
    /// WSO2's MySQL cleanup procedures compare API-M's UTC timestamps with `NOW()`, which is the
    /// server's local time: east of UTC they delete tokens still inside the safe period, west of
    /// it they keep expired ones longer. apim-tune computes its cut-off in UTC and is not
    /// affected.
    /// ### Fix
    /// Use `apim-tune db clean`, or run the server in UTC before using WSO2's procedures.
    Dbg006 "DBG006" "mysql-time-zone-not-utc" Info "the MySQL server is not on UTC, which shifts WSO2's cleanup cut-off";
    /// ### What it checks
    /// `db audit`: a `BAK_<TABLE>` table exists that apim-tune did not create: WSO2's cleanup
    /// procedures drop and re-create it as a full copy of the table on every run.
    /// ### Why it matters
    /// It can be as large as the table it copies, and `db clean --backup` will not write into it.
    /// ### Fix
    /// Drop it once you no longer need it, or rename it.
    Dbg007 "DBG007" "foreign-backup-table" Info "a BAK_ table made by WSO2's procedures takes space";
    /// ### What it checks
    /// `db audit`: a `db clean` run stopped before it finished (Ctrl-C, SIGTERM, a lost
    /// connection).
    /// ### Why it matters
    /// Part of the removable rows are still there; a run with the same options continues with
    /// the same cut-off.
    /// ### Fix
    /// Run the same `apim-tune db clean` command again.
    Dbg008 "DBG008" "cleanup-run-unfinished" Info "a db clean run stopped before it finished";
}

impl Code {
    /// The documentation as text: `explain()` without the leading space doc comments carry.
    pub fn doc(self) -> String {
        self.explain()
            .lines()
            .map(|l| l.strip_prefix(' ').unwrap_or(l))
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub fn family(self) -> &'static str {
        &self.code()[..3]
    }

    pub fn from_code(s: &str) -> Option<Code> {
        Code::ALL
            .iter()
            .copied()
            .find(|c| c.code().eq_ignore_ascii_case(s) || c.name() == s)
    }
}

impl Serialize for Code {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}
