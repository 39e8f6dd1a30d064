//! The database family: given what `db audit` gathered (built inline, no database) → these
//! findings (one table), these checks (another: JUnit lists them as passes) and, for DBG001,
//! this severity. DBG rules are pure functions over [`DbFacts`]; a check reads `suite subject`.

use crate::db::model::{
    ConfigContext, ConfigFlag, DbFacts, IndexNeed, ServerTimeZone, TableStats, UnfinishedRun,
};
use crate::db::schema;
use crate::diag::{Code, Severity, Subject};
use crate::model::Location;
use crate::rules::run_db;
use crate::rules::testing::line;
use std::time::Duration;

/// A table holding `rows`, `removable` of them removable (`None`: not judged for removal).
fn table(name: &str, rows: u64, removable: Option<u64>) -> TableStats {
    TableStats {
        table: name.to_string(),
        present: true,
        rows: Some(rows),
        removable,
        ..TableStats::default()
    }
}

fn tables(tables: Vec<TableStats>) -> DbFacts {
    DbFacts {
        tables,
        audit_older_than: Duration::from_secs(90 * 86_400),
        ..DbFacts::default()
    }
}

/// The codes' index on IDN_OAUTH2_AUTHORIZATION_CODE(TOKEN_ID), with these existing indexes.
fn code_index(existing: &[&[&str]]) -> DbFacts {
    DbFacts {
        cleanup_indexes: vec![IndexNeed {
            table: schema::CODE.to_string(),
            name: "IDX_AC_TID".to_string(),
            columns: vec!["TOKEN_ID".to_string()],
            why: "finding codes whose token is gone looks codes up by TOKEN_ID",
            existing: existing
                .iter()
                .map(|cols| cols.iter().map(|c| c.to_string()).collect())
                .collect(),
        }],
        ..DbFacts::default()
    }
}

/// A boolean of the home's deployment.toml, set on `line`.
fn flag(key: &str, value: bool, line: u32) -> Option<ConfigFlag> {
    Some(ConfigFlag {
        value,
        subject: Subject::setting("deployment.toml", key),
        location: Some(Location::at(
            "/opt/wso2am-4.2.0/repository/conf/deployment.toml",
            line,
            10,
        )),
    })
}

/// The token cleanup and session cleanup flags, with this many removable tokens and sessions.
fn cleanup(tokens: bool, sessions: bool, removable: u64) -> DbFacts {
    DbFacts {
        context: ConfigContext {
            token_cleanup: flag("oauth.token_cleanup.enable", tokens, 21),
            session_cleanup: flag(
                "session_data.cleanup.enable_expired_data_cleanup",
                sessions,
                30,
            ),
            retain_for_audit: None,
        },
        ..tables(vec![
            table(schema::TOKEN, 50_000, Some(removable)),
            table(schema::SESSION, 8_000, Some(removable)),
        ])
    }
}

fn time_zone(global: &str, system: &str, offset_minutes: i64) -> DbFacts {
    DbFacts {
        time_zone: Some(ServerTimeZone {
            global: global.to_string(),
            system: system.to_string(),
            offset_minutes,
        }),
        ..DbFacts::default()
    }
}

#[test]
fn db_rules() {
    let cases: Vec<(&str, DbFacts, Code, Vec<&str>)> = vec![
        (
            "12,000 removable tokens",
            tables(vec![table(schema::TOKEN, 1_000_000, Some(12_000))]),
            Code::REMOVABLE_ROWS_PRESENT,
            vec!["DBG001 db:IDN_OAUTH2_ACCESS_TOKEN @- 12000 removable → 0 removable | no fix"],
        ),
        (
            "removable sessions",
            tables(vec![table(schema::SESSION, 500, Some(150))]),
            Code::REMOVABLE_ROWS_PRESENT,
            vec!["DBG001 db:IDN_AUTH_SESSION_STORE @- 150 removable → 0 removable | no fix"],
        ),
        (
            "nothing removable: nothing",
            tables(vec![table(schema::REG_LOG, 400, Some(0))]),
            Code::REMOVABLE_ROWS_PRESENT,
            vec![],
        ),
        (
            "the token audit table is DBG003's, not DBG001's",
            tables(vec![table(schema::TOKEN_AUDIT, 400_000, Some(300_000))]),
            Code::REMOVABLE_ROWS_PRESENT,
            vec![],
        ),
        (
            "no index starts with TOKEN_ID (one has it second)",
            code_index(&[&["CONSUMER_KEY_ID"], &["AUTHZ_USER", "TOKEN_ID"]]),
            Code::CLEANUP_INDEX_MISSING,
            vec![
                "DBG002 db:IDN_OAUTH2_AUTHORIZATION_CODE(TOKEN_ID) @- no such index → CREATE INDEX IDX_AC_TID ON IDN_OAUTH2_AUTHORIZATION_CODE (TOKEN_ID) | no fix",
            ],
        ),
        (
            "a longer index led by TOKEN_ID (any case) serves the lookups: nothing",
            code_index(&[&["token_id", "TIME_CREATED"]]),
            Code::CLEANUP_INDEX_MISSING,
            vec![],
        ),
        (
            "old rows in the token audit table",
            tables(vec![table(schema::TOKEN_AUDIT, 400_000, Some(300_000))]),
            Code::TOKEN_AUDIT_TABLE_GROWING,
            vec![
                "DBG003 db:IDN_OAUTH2_ACCESS_TOKEN_AUDIT @- 300000 rows older than 90d → 0 | no fix",
            ],
        ),
        (
            "old rows while retention is on: at the retention setting",
            DbFacts {
                context: ConfigContext {
                    retain_for_audit: flag(
                        "oauth.token_cleanup.retain_access_tokens_for_auditing",
                        true,
                        25,
                    ),
                    ..ConfigContext::default()
                },
                ..tables(vec![table(schema::TOKEN_AUDIT, 400_000, Some(300_000))])
            },
            Code::TOKEN_AUDIT_TABLE_GROWING,
            vec![
                "DBG003 db:IDN_OAUTH2_ACCESS_TOKEN_AUDIT @/opt/wso2am-4.2.0/repository/conf/deployment.toml:25 300000 rows older than 90d → 0 | no fix",
            ],
        ),
        (
            "no old audit rows: nothing",
            tables(vec![table(schema::TOKEN_AUDIT, 400_000, Some(0))]),
            Code::TOKEN_AUDIT_TABLE_GROWING,
            vec![],
        ),
        (
            "no audit table: nothing",
            tables(vec![TableStats {
                present: false,
                ..table(schema::TOKEN_AUDIT, 0, Some(5))
            }]),
            Code::TOKEN_AUDIT_TABLE_GROWING,
            vec![],
        ),
        (
            "token cleanup off with removable tokens",
            cleanup(false, true, 120),
            Code::TOKEN_CLEANUP_DISABLED,
            vec![
                "DBG004 deployment.toml:oauth.token_cleanup.enable @/opt/wso2am-4.2.0/repository/conf/deployment.toml:21 false → true | no fix",
            ],
        ),
        (
            "token cleanup off, nothing removable: nothing",
            cleanup(false, true, 0),
            Code::TOKEN_CLEANUP_DISABLED,
            vec![],
        ),
        (
            "token cleanup on: nothing",
            cleanup(true, false, 120),
            Code::TOKEN_CLEANUP_DISABLED,
            vec![],
        ),
        (
            "no API-M home given, so no flag: nothing",
            tables(vec![table(schema::TOKEN, 50_000, Some(120))]),
            Code::TOKEN_CLEANUP_DISABLED,
            vec![],
        ),
        (
            "session cleanup off with removable sessions",
            cleanup(true, false, 120),
            Code::SESSION_CLEANUP_DISABLED,
            vec![
                "DBG005 deployment.toml:session_data.cleanup.enable_expired_data_cleanup @/opt/wso2am-4.2.0/repository/conf/deployment.toml:30 false → true | no fix",
            ],
        ),
        (
            "session cleanup off, nothing removable: nothing",
            cleanup(true, false, 0),
            Code::SESSION_CLEANUP_DISABLED,
            vec![],
        ),
        (
            "session cleanup on: nothing",
            cleanup(false, true, 120),
            Code::SESSION_CLEANUP_DISABLED,
            vec![],
        ),
        (
            "MySQL two hours east of UTC",
            time_zone("+02:00", "UTC", 120),
            Code::MYSQL_TIME_ZONE_NOT_UTC,
            vec!["DBG006 db:@@global.time_zone @- +02:00 → +00:00 | no fix"],
        ),
        (
            "MySQL on SYSTEM: the system zone is shown",
            time_zone("SYSTEM", "CEST", 120),
            Code::MYSQL_TIME_ZONE_NOT_UTC,
            vec!["DBG006 db:@@global.time_zone @- SYSTEM (CEST) → +00:00 | no fix"],
        ),
        (
            "MySQL west of UTC",
            time_zone("-05:00", "UTC", -300),
            Code::MYSQL_TIME_ZONE_NOT_UTC,
            vec!["DBG006 db:@@global.time_zone @- -05:00 → +00:00 | no fix"],
        ),
        (
            "MySQL on SYSTEM, which is UTC: nothing",
            time_zone("SYSTEM", "UTC", 0),
            Code::MYSQL_TIME_ZONE_NOT_UTC,
            vec![],
        ),
        (
            "not MySQL (no time zone gathered): nothing",
            DbFacts::default(),
            Code::MYSQL_TIME_ZONE_NOT_UTC,
            vec![],
        ),
        (
            "a BAK_ table WSO2's procedure left",
            DbFacts {
                foreign_backups: vec![("BAK_IDN_OAUTH2_ACCESS_TOKEN".into(), 1234)],
                ..DbFacts::default()
            },
            Code::FOREIGN_BACKUP_TABLE,
            vec!["DBG007 db:BAK_IDN_OAUTH2_ACCESS_TOKEN @- 1234 rows → - | no fix"],
        ),
        (
            "a db clean run that stopped",
            DbFacts {
                unfinished_runs: vec![UnfinishedRun {
                    table: "APIM_TUNE_CLEAN_RUN".into(),
                    id: 7,
                    options: "--tokens --codes".into(),
                    started: "2025-03-01 02:00:00".into(),
                    rows_done: 40_000,
                }],
                ..DbFacts::default()
            },
            Code::CLEANUP_RUN_UNFINISHED,
            vec!["DBG008 db:APIM_TUNE_CLEAN_RUN:7 @- - → - | no fix"],
        ),
    ];
    for (what, facts, code, want) in cases {
        let got: Vec<String> = run_db(&facts)
            .findings
            .iter()
            .filter(|f| f.code == code)
            .map(line)
            .collect();
        assert_eq!(got, want, "{what}");
    }
}

/// Every check the rules made, passing or not, in registry order.
#[test]
fn db_checks() {
    let cases: Vec<(&str, DbFacts, Vec<&str>)> = vec![
        (
            "every table judged for removal, removable rows or not",
            tables(vec![
                table(schema::TOKEN, 1_000, Some(10)),
                table(schema::REG_LOG, 400, Some(0)),
            ]),
            vec![
                "db-growth db:IDN_OAUTH2_ACCESS_TOKEN",
                "db-growth db:REG_LOG",
            ],
        ),
        (
            "a table not judged for removal: no check",
            tables(vec![table(schema::TOKEN_SCOPE, 400, None)]),
            vec![],
        ),
        (
            "an index need, covered or not",
            code_index(&[&["TOKEN_ID"]]),
            vec!["db-indexes db:IDN_OAUTH2_AUTHORIZATION_CODE(TOKEN_ID)"],
        ),
        (
            "both cleanup flags, whatever their value",
            cleanup(true, false, 0),
            vec![
                "db-growth db:IDN_OAUTH2_ACCESS_TOKEN",
                "db-growth db:IDN_AUTH_SESSION_STORE",
                "db-config deployment.toml:oauth.token_cleanup.enable",
                "db-config deployment.toml:session_data.cleanup.enable_expired_data_cleanup",
            ],
        ),
        (
            "the MySQL time zone, UTC or not",
            time_zone("+00:00", "UTC", 0),
            vec!["db-config db:@@global.time_zone"],
        ),
    ];
    for (what, facts, want) in cases {
        let got: Vec<String> = run_db(&facts)
            .checked
            .iter()
            .map(|c| format!("{} {}", c.suite, c.subject))
            .collect();
        assert_eq!(got, want, "{what}");
    }
}

/// A line does not show the severity, and DBG001's depends on how much is removable.
#[test]
fn removable_rows_severity() {
    let cases: Vec<(&str, DbFacts, Vec<Severity>)> = vec![
        (
            "10,000 removable rows: warning, however large the table",
            tables(vec![table(schema::TOKEN, 1_000_000, Some(10_000))]),
            vec![Severity::Warning],
        ),
        (
            "9,999 of a million: info",
            tables(vec![table(schema::TOKEN, 1_000_000, Some(9_999))]),
            vec![Severity::Info],
        ),
        (
            "a fifth of the table: warning",
            tables(vec![table(schema::SESSION, 500, Some(100))]),
            vec![Severity::Warning],
        ),
        (
            "under a fifth: info",
            tables(vec![table(schema::SESSION, 600, Some(119))]),
            vec![Severity::Info],
        ),
    ];
    for (what, facts, want) in cases {
        let got: Vec<Severity> = run_db(&facts)
            .findings
            .iter()
            .filter(|f| f.code == Code::REMOVABLE_ROWS_PRESENT)
            .map(|f| f.severity)
            .collect();
        assert_eq!(got, want, "{what}");
    }
}
