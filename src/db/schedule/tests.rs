//! The schedule's own tests: snapshots of every target, and the parts each target shares.

use super::procedure::{bind, plain_var};
use super::when::{agent_schedule, cron_expr, mysql_every, on_calendar};
use super::*;
use crate::db::dialect::{self, Engine};
use crate::db::{Backup, CleanPlan};
use std::time::Duration;

fn render_default(target: ScheduleTarget) -> String {
    match render(target, &ScheduleOptions::default()) {
        Ok(s) => s,
        Err(e) => panic!("{target}: {e}"),
    }
}

fn all_tables() -> ScheduleOptions {
    let d = ScheduleOptions::default();
    ScheduleOptions {
        clean: CleanPlan {
            registry: true,
            audit_older_than: Some(Duration::from_secs(90 * 86_400)),
            ..d.clean.clone()
        },
        ..d
    }
}

macro_rules! snapshot {
    ($name:expr, $text:expr) => {
        insta::with_settings!(
            {
                snapshot_path => concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"),
                prepend_module_to_snapshot => false,
                filters => vec![(r"apim-tune \d+\.\d+\.\d+[^\s:']*", "apim-tune [VERSION]")],
            },
            { insta::assert_snapshot!($name, $text) }
        )
    };
}

#[test]
fn snapshot_mysql() {
    snapshot!("schedule_mysql", render_default(ScheduleTarget::MySql));
}

#[test]
fn snapshot_postgresql() {
    snapshot!(
        "schedule_postgresql",
        render_default(ScheduleTarget::Postgres)
    );
}

#[test]
fn snapshot_mssql() {
    snapshot!("schedule_mssql", render_default(ScheduleTarget::MsSql));
}

#[test]
fn snapshot_systemd() {
    snapshot!("schedule_systemd", render_default(ScheduleTarget::Systemd));
}

#[test]
fn snapshot_cron() {
    snapshot!("schedule_cron", render_default(ScheduleTarget::Cron));
}

#[test]
fn every_parses_and_normalises() {
    let p = |s: &str| s.parse::<Every>();
    assert_eq!(p("30m"), Ok(Every::Minutes(30)));
    assert_eq!(p("60m"), Ok(Every::Hours(1)));
    assert_eq!(p("12h"), Ok(Every::Hours(12)));
    assert_eq!(p("24h"), Ok(Every::Days(1)));
    assert_eq!(p("1d"), Ok(Every::Days(1)));
    assert_eq!(p("7d"), Ok(Every::Weeks(1)));
    assert_eq!(p("14d"), Ok(Every::Weeks(2)));
    assert_eq!(p(" 1w "), Ok(Every::Weeks(1)));
    assert_eq!(Every::Hours(6).to_string(), "6h");
}

#[test]
fn bad_every_is_an_error() {
    for (s, why) in [
        ("", "expected a number"),
        ("d", "expected a number"),
        ("12", "expected a number"),
        ("0h", "shortest interval"),
        ("30s", "shortest interval"),
        ("1y", "unknown unit"),
        ("1.5h", "unknown unit"),
        ("-1d", "expected a number"),
        ("99999999999m", "too large"),
    ] {
        match s.parse::<Every>() {
            Err(e @ ScheduleError::Every { .. }) => {
                assert!(e.to_string().contains(why), "{s:?}: {e}")
            }
            other => panic!("{s:?}: {other:?}"),
        }
    }
}

#[test]
fn at_parses() {
    assert_eq!("02:00".parse::<At>(), Ok(At::default()));
    assert_eq!(
        "sat 3:30".parse::<At>(),
        Ok(At {
            weekday: Some(Weekday::Sat),
            hour: 3,
            minute: 30
        })
    );
    assert_eq!(
        "Sunday 23:59".parse::<At>().map(|a| a.to_string()),
        Ok("Sun 23:59".into())
    );
}

#[test]
fn bad_at_is_an_error() {
    for (s, why) in [
        ("", "expected HH:MM"),
        ("2", "expected HH:MM"),
        ("24:00", "hour must be"),
        ("02:60", "minute must be"),
        ("02:5", "expected HH:MM"),
        ("002:00", "expected HH:MM"),
        ("2:00pm", "expected HH:MM"),
        ("Someday 02:00", "unknown weekday"),
        ("-1:00", "expected HH:MM"),
    ] {
        match s.parse::<At>() {
            Err(e @ ScheduleError::At { .. }) => {
                assert!(e.to_string().contains(why), "{s:?}: {e}")
            }
            other => panic!("{s:?}: {other:?}"),
        }
    }
}

#[test]
fn a_weekday_needs_a_weekly_schedule() {
    let opts = ScheduleOptions {
        at: "Sat 02:00".parse().expect("valid"),
        ..ScheduleOptions::default()
    };
    let err = render(ScheduleTarget::Cron, &opts).expect_err("daily with a weekday");
    assert!(err.to_string().contains("weekly"), "{err}");
    let weekly = ScheduleOptions {
        every: Every::Weeks(1),
        ..opts
    };
    let text = render(ScheduleTarget::Cron, &weekly).expect("weekly");
    assert!(text.contains("\n0 2 * * 6 flock"), "{text}");
}

#[test]
fn cron_refuses_what_it_cannot_express() {
    for (every, target) in [
        ("45m", ScheduleTarget::Cron),
        ("90m", ScheduleTarget::Systemd),
        ("5h", ScheduleTarget::Cron),
        ("2d", ScheduleTarget::Cron),
        ("2d", ScheduleTarget::Postgres),
        ("3d", ScheduleTarget::Systemd),
        ("2w", ScheduleTarget::Cron),
        ("5h", ScheduleTarget::MySql),
    ] {
        let opts = ScheduleOptions {
            every: every.parse().expect("valid --every"),
            ..ScheduleOptions::default()
        };
        match render(target, &opts) {
            Err(e @ ScheduleError::Unsupported { .. }) => {
                assert!(e.to_string().contains(every), "{every}: {e}")
            }
            other => panic!("{every} on {target}: {other:?}"),
        }
    }
    // The engines' own schedulers repeat any number of days or weeks.
    for target in [ScheduleTarget::MySql, ScheduleTarget::MsSql] {
        for every in ["2d", "2w"] {
            let opts = ScheduleOptions {
                every: every.parse().expect("valid --every"),
                ..ScheduleOptions::default()
            };
            assert!(render(target, &opts).is_ok(), "{every} on {target}");
        }
    }
}

#[test]
fn schedules_agree_across_targets() {
    let at: At = "02:10".parse().expect("valid");
    let sat: At = "Sat 03:30".parse().expect("valid");
    let cases = [
        (
            Every::Minutes(1),
            at,
            "* * * * *",
            "*-*-* *:*:00",
            "EVERY 1 MINUTE STARTS '2000-01-02 00:00:00'",
        ),
        (
            Every::Minutes(30),
            at,
            "10-59/30 * * * *",
            "*-*-* *:10/30:00",
            "EVERY 30 MINUTE STARTS '2000-01-02 00:10:00'",
        ),
        (
            Every::Hours(1),
            at,
            "10 * * * *",
            "*-*-* 00/1:10:00",
            "EVERY 1 HOUR STARTS '2000-01-02 00:10:00'",
        ),
        (
            Every::Hours(6),
            at,
            "10 2-23/6 * * *",
            "*-*-* 02/6:10:00",
            "EVERY 6 HOUR STARTS '2000-01-02 02:10:00'",
        ),
        (
            Every::Days(1),
            at,
            "10 2 * * *",
            "*-*-* 02:10:00",
            "EVERY 1 DAY STARTS '2000-01-02 02:10:00'",
        ),
        (
            Every::Weeks(1),
            sat,
            "30 3 * * 6",
            "Sat *-*-* 03:30:00",
            "EVERY 1 WEEK STARTS '2000-01-08 03:30:00'",
        ),
    ];
    for (every, at, cron, cal, event) in cases {
        assert_eq!(cron_expr(every, at), cron, "{every}");
        assert_eq!(on_calendar(every, at), cal, "{every}");
        assert_eq!(mysql_every(every, at), event, "{every}");
    }
    assert_eq!(
        agent_schedule(Every::Weeks(1), sat),
        "@freq_type = 8, @freq_interval = 64, @freq_recurrence_factor = 1, @freq_subday_type = 1, \
         @active_start_time = 33000"
    );
    assert_eq!(
        agent_schedule(Every::Hours(6), at),
        "@freq_type = 4, @freq_interval = 1, @freq_subday_type = 8, @freq_subday_interval = 6, \
         @active_start_time = 21000"
    );
}

#[test]
fn durations() {
    let p = |s: &str| parse_duration(s).map(fmt_duration);
    assert_eq!(p("2h"), Ok("2h".into()));
    assert_eq!(p("120m"), Ok("2h".into()));
    assert_eq!(p("1h30m"), Ok("90m".into()));
    assert_eq!(p("100ms"), Ok("100ms".into()));
    assert_eq!(p("1w"), Ok("7d".into()));
    assert_eq!(p("0"), Ok("0s".into()));
    assert_eq!(p("61s"), Ok("61s".into()));
    assert!(parse_duration("h").is_err());
    assert!(parse_duration("5").is_err());
    assert!(parse_duration("99999999999999999999999999999w").is_err());
}

#[test]
fn procedures_use_the_dialect_predicates() {
    let opts = all_tables();
    let my = render(ScheduleTarget::MySql, &opts).expect("mysql");
    let pg = render(ScheduleTarget::Postgres, &opts).expect("postgresql");
    let ms = render(ScheduleTarget::MsSql, &opts).expect("mssql");
    for p in [
        dialect::token_removable(Engine::MySql, "a"),
        dialect::code_removable(Engine::MySql, "c", false),
        dialect::session_row_removable("s"),
        dialect::reg_log_removable("r"),
        dialect::audit_removable(Engine::MySql, ""),
    ] {
        assert!(my.contains(&bind(&p, plain_var)), "mysql lacks {}", p.sql);
    }
    for p in [
        dialect::token_removable(Engine::Postgres, "b"),
        dialect::code_removable(Engine::Postgres, "d", false),
        dialect::session_row_removable("s"),
        dialect::reg_log_removable("r"),
        dialect::audit_removable(Engine::Postgres, "u"),
    ] {
        assert!(
            pg.contains(&bind(&p, plain_var)),
            "postgresql lacks {}",
            p.sql
        );
    }
    // Every parameter is bound, and nothing reads the server's local clock.
    for (name, text) in [("mysql", &my), ("postgresql", &pg), ("mssql", &ms)] {
        let code: String = text
            .lines()
            .filter(|l| !l.trim_start().starts_with("--"))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(!code.contains('?'), "{name}: unbound parameter");
        for clock in [
            "NOW()",
            "SYSDATE",
            "CURRENT_TIMESTAMP",
            "GETDATE()",
            "UNIX_TIMESTAMP(UTC",
        ] {
            assert!(!code.contains(clock), "{name}: {clock}");
        }
    }
    // T-SQL has none of MySQL's date functions, and DATEADD would overflow on validity.
    for mysql_only in ["TIMESTAMPADD", "MICROSECOND", "UNIX_TIMESTAMP", "LIMIT"] {
        assert!(!ms.contains(mysql_only), "mssql: {mysql_only}");
    }
    assert_eq!(ms.matches("DATEDIFF_BIG(MILLISECOND").count(), 3, "{ms}");
}

#[test]
fn procedures_refuse_backup() {
    let opts = ScheduleOptions {
        clean: CleanPlan {
            tokens: true,
            codes: false,
            sessions: false,
            backup: Backup::Tables,
            ..ScheduleOptions::default().clean
        },
        ..ScheduleOptions::default()
    };
    for target in ScheduleTarget::ALL {
        let r = render(target, &opts);
        if target.is_procedure() {
            let e = r.expect_err("no backup in procedures");
            assert!(e.to_string().contains("db clean --backup"), "{e}");
        } else {
            assert!(r.expect("cli target").contains(" --backup"));
        }
    }
}

#[test]
fn units_never_hold_the_password() {
    let opts = ScheduleOptions {
        url: Some("mysql://apim:s3cret@db:3306/WSO2AM_DB".to_string()),
        ..ScheduleOptions::default()
    };
    for target in ScheduleTarget::ALL {
        let text = render(target, &opts).expect("renders");
        assert!(!text.contains("s3cret"), "{target}");
    }
    let unit = render(ScheduleTarget::Systemd, &opts).expect("systemd");
    assert!(unit.contains("#   APIM_TUNE_DB_URL='mysql://apim:****@db:3306/WSO2AM_DB'"));
    let bad = ScheduleOptions {
        url: Some("mysql://h/db\nExecStartPre=/bin/evil".to_string()),
        ..ScheduleOptions::default()
    };
    assert!(matches!(
        render(ScheduleTarget::Systemd, &bad),
        Err(ScheduleError::Url { .. })
    ));
}

#[test]
fn binary_path_is_checked() {
    for b in [
        "apim-tune",
        "/opt/my tools/apim-tune",
        "/usr/bin/x';rm -rf /'",
    ] {
        let opts = ScheduleOptions {
            binary: b.to_string(),
            ..ScheduleOptions::default()
        };
        assert!(
            matches!(
                render(ScheduleTarget::Cron, &opts),
                Err(ScheduleError::Binary { .. })
            ),
            "{b}"
        );
    }
}

#[test]
fn targets_parse() {
    for t in ScheduleTarget::ALL {
        assert_eq!(t.as_str().parse::<ScheduleTarget>(), Ok(t));
    }
    assert_eq!(
        "MariaDB".parse::<ScheduleTarget>(),
        Ok(ScheduleTarget::MySql)
    );
    assert!(matches!(
        "oracle".parse::<ScheduleTarget>(),
        Err(ScheduleError::Target { .. })
    ));
}

#[test]
fn every_output_starts_with_the_header() {
    for target in ScheduleTarget::ALL {
        let text = render(target, &all_tables()).expect("renders");
        let first = text
            .lines()
            .find(|l| l.contains("Generated by"))
            .unwrap_or_default();
        assert!(
            text.lines().take(2).any(|l| l == first),
            "{target}: header not at the top"
        );
        for t in [
            "IDN_OAUTH2_ACCESS_TOKEN:",
            "IDN_OAUTH2_AUTHORIZATION_CODE:",
            "IDN_AUTH_SESSION_STORE:",
            "REG_LOG:",
            "IDN_OAUTH2_ACCESS_TOKEN_AUDIT:",
            "compared in UTC",
        ] {
            assert!(text.contains(t), "{target}: {t}");
        }
    }
}

#[test]
fn a_schedule_never_drops_a_dry_run() {
    for (dry_run, stop_after_batches) in [(true, None), (false, Some(3))] {
        let d = ScheduleOptions::default();
        let opts = ScheduleOptions {
            clean: CleanPlan {
                dry_run,
                stop_after_batches,
                ..d.clean.clone()
            },
            ..d
        };
        for target in ScheduleTarget::ALL {
            match render(target, &opts) {
                Err(e @ ScheduleError::Options { .. }) => {
                    assert!(e.to_string().contains("for real"), "{target}: {e}")
                }
                other => panic!("{target}: {other:?}"),
            }
        }
    }
}
