//! The model test: random rows on every engine; what `db clean` deletes must be exactly what
//! the oracle says is removable; `--backup` holds exactly those rows and `db restore` gives
//! every table back as it was; `--dry-run` counts the same and changes nothing.

use crate::oracle::{self, AuditRow, Code, CodeToken, RegRow, Scenario, SessionRow, Token};
use crate::support::{self, TestDb, dump, keys};
use apim_tune::db::dialect::Engine;
use apim_tune::db::schema;
use apim_tune::db::{self, Arg, Backup, CleanPlan, Silent};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use std::time::Duration;

const SAFE: i64 = 7200;
const AUDIT_AGE: i64 = 90 * 86_400;

fn validity() -> impl Strategy<Value = i64> {
    prop_oneof![
        Just(-1i64),
        Just(0),
        Just(1),
        Just(999),
        Just(60_000),
        Just(60_001),
        Just(3_600_000),
        Just(oracle::NEVER - 1),
        Just(oracle::NEVER),
        Just(i64::MAX),
    ]
}

/// Seconds relative to "now − safe period": near the cut-off (±5 s) or far from it.
fn near_cutoff() -> impl Strategy<Value = i64> {
    prop_oneof![-5i64..=5, Just(-40 * 86_400), Just(3 * 3600)]
}

/// A creation time whose expiry (`+ validity`) lands near or far from the cut-off.
fn created_for(base: i64, validity_ms: i64, rel: i64) -> i64 {
    if (0..400 * 86_400_000).contains(&validity_ms) {
        base + rel - validity_ms / 1000
    } else {
        base + rel - 400 * 86_400
    }
}

fn token_state() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        4 => Just("ACTIVE"),
        1 => Just("INACTIVE"),
        1 => Just("REVOKED"),
        1 => Just("EXPIRED"),
        1 => Just("OTHER"),
    ]
}

fn scenario(base: i64) -> impl Strategy<Value = (Scenario, usize)> {
    let tokens = prop::collection::vec(
        (
            token_state(),
            validity(),
            validity(),
            near_cutoff(),
            near_cutoff(),
        ),
        0..30,
    );
    let codes = prop::collection::vec(
        (
            prop_oneof![
                (0usize..30).prop_map(CodeToken::Existing),
                Just(CodeToken::Missing),
                Just(CodeToken::Null)
            ],
            prop_oneof![Just("ACTIVE"), Just("INACTIVE"), Just("EXPIRED")],
            validity(),
            near_cutoff(),
        ),
        0..15,
    );
    let ns = 1_000_000_000i64;
    let sessions = prop::collection::vec(
        (
            0usize..10,
            prop_oneof![Just("STORE"), Just("DELETE")],
            -5i64..=5,
            prop_oneof![-5i64..=5, Just(-2 * 3600), Just(3600)],
        ),
        0..25,
    );
    let side = prop::collection::vec(0usize..12, 0..8);
    let reg = prop::collection::vec(
        (
            prop_oneof![Just(None), (0usize..3).prop_map(Some)],
            prop_oneof![Just(-1234i64), Just(1)],
            prop_oneof![Just(0i64), Just(1), Just(7)],
        ),
        0..25,
    );
    let audit = prop::collection::vec(
        (
            prop_oneof![Just(None), near_cutoff().prop_map(Some)],
            prop_oneof![Just(None), near_cutoff().prop_map(Some)],
        ),
        0..10,
    );
    (tokens, codes, sessions, side, reg, audit, 1usize..8).prop_map(
        move |(tokens, codes, sessions, side, reg, audit, batch)| {
            let mut s = Scenario::default();
            for (i, (state, vp, rvp, rel, rrel)) in tokens.into_iter().enumerate() {
                s.tokens.push(Token {
                    id: format!("tok-{i:03}"),
                    state,
                    validity_ms: vp,
                    refresh_validity_ms: rvp,
                    created: created_for(base, vp, rel),
                    refresh_created: created_for(base, rvp, rrel),
                });
            }
            for (i, (token, state, vp, rel)) in codes.into_iter().enumerate() {
                s.codes.push(Code {
                    id: format!("code-{i:03}"),
                    token,
                    state,
                    validity_ms: vp,
                    created: created_for(base, vp, rel),
                });
            }
            let now = base + SAFE;
            for (k, (session, op, created_rel, expiry_rel)) in sessions.into_iter().enumerate() {
                // DELETE rows straddle now − 12 h; expiry straddles the cut-off.
                s.sessions.push(SessionRow {
                    session,
                    kind: k,
                    operation: op,
                    created_ns: (now - 12 * 3600 + created_rel) * ns + 17,
                    expiry_ns: (base + expiry_rel) * ns + 3,
                });
            }
            s.side = side;
            for (k, (path, tenant, action)) in reg.into_iter().enumerate() {
                s.reg.push(RegRow {
                    id: k as i64 + 1,
                    path,
                    tenant,
                    action,
                });
            }
            let audit_base = base + SAFE - AUDIT_AGE;
            for (k, (inv, created)) in audit.into_iter().enumerate() {
                s.audit.push(AuditRow {
                    id: k as i64 + 1,
                    invalidated: inv.map(|r| audit_base + r),
                    created: created.map(|r| audit_base + r),
                });
            }
            (s, batch)
        },
    )
}

fn insert(db: &TestDb, s: &Scenario) {
    let mut c = db.connect();
    let e = c.engine();
    let ts = e.timestamp_param();
    let t = |secs: i64| Arg::Text(support::format_utc(secs));
    c.execute(
        "INSERT INTO IDN_OAUTH_CONSUMER_APPS (ID, CONSUMER_KEY, APP_NAME) VALUES (1, 'ck', 'app')",
        &[],
    )
    .expect("app");
    for tok in &s.tokens {
        c.execute(
            &format!(
                "INSERT INTO IDN_OAUTH2_ACCESS_TOKEN (TOKEN_ID, CONSUMER_KEY_ID, AUTHZ_USER, TENANT_ID, \
                 USER_DOMAIN, USER_TYPE, TIME_CREATED, REFRESH_TOKEN_TIME_CREATED, VALIDITY_PERIOD, \
                 REFRESH_TOKEN_VALIDITY_PERIOD, TOKEN_SCOPE_HASH, TOKEN_STATE, TOKEN_STATE_ID) \
                 VALUES (?, 1, 'u', -1234, 'PRIMARY', 'APPLICATION_USER', {ts}, {ts}, ?, ?, ?, ?, ?)"
            ),
            &[
                Arg::Text(tok.id.clone()),
                t(tok.created),
                t(tok.refresh_created),
                Arg::Int(tok.validity_ms),
                Arg::Int(tok.refresh_validity_ms),
                Arg::Text(tok.id.clone()),
                Arg::Text(tok.state.into()),
                Arg::Text(tok.id.clone()),
            ],
        )
        .expect("token");
        c.execute(
            "INSERT INTO IDN_OAUTH2_ACCESS_TOKEN_SCOPE (TOKEN_ID, TOKEN_SCOPE, TENANT_ID) VALUES (?, 'default', -1234)",
            &[Arg::Text(tok.id.clone())],
        )
        .expect("scope");
    }
    for code in &s.codes {
        let token = match &code.token {
            CodeToken::Existing(n) => s
                .tokens
                .get(*n)
                .map(|t| Arg::Text(t.id.clone()))
                .unwrap_or(Arg::Text("tok-gone".into())),
            CodeToken::Missing => Arg::Text("tok-missing".into()),
            CodeToken::Null => Arg::Null,
        };
        c.execute(
            &format!(
                "INSERT INTO IDN_OAUTH2_AUTHORIZATION_CODE (CODE_ID, CONSUMER_KEY_ID, TIME_CREATED, VALIDITY_PERIOD, STATE, TOKEN_ID) \
                 VALUES (?, 1, {ts}, ?, ?, ?)"
            ),
            &[Arg::Text(code.id.clone()), t(code.created), Arg::Int(code.validity_ms), Arg::Text(code.state.into()), token],
        )
        .expect("code");
        c.execute(
            "INSERT INTO IDN_OAUTH2_AUTHZ_CODE_SCOPE (CODE_ID, SCOPE, TENANT_ID) VALUES (?, 'openid', -1234)",
            &[Arg::Text(code.id.clone())],
        )
        .expect("code scope");
    }
    for row in &s.sessions {
        c.execute(
            "INSERT INTO IDN_AUTH_SESSION_STORE (SESSION_ID, SESSION_TYPE, OPERATION, SESSION_OBJECT, TIME_CREATED, TENANT_ID, EXPIRY_TIME) \
             VALUES (?, ?, ?, ?, ?, -1234, ?)",
            &[
                Arg::Text(oracle::session_id(row.session)),
                Arg::Text(format!("type-{}", row.kind)),
                Arg::Text(row.operation.into()),
                Arg::Bytes(vec![0, 159, 146, 150, row.kind as u8]),
                Arg::Int(row.created_ns),
                Arg::Int(row.expiry_ns),
            ],
        )
        .expect("session");
    }
    for (k, sid) in s.side.iter().enumerate() {
        let id = Arg::Text(oracle::session_id(*sid));
        c.execute(
            "INSERT INTO IDN_AUTH_USER_SESSION_MAPPING (USER_ID, SESSION_ID) VALUES (?, ?)",
            &[Arg::Text(format!("user-{k}")), id.clone()],
        )
        .expect("user map");
        c.execute("INSERT INTO IDN_AUTH_SESSION_APP_INFO (SESSION_ID, SUBJECT, APP_ID, INBOUND_AUTH_TYPE) VALUES (?, ?, 1, 'oauth2')", &[id.clone(), Arg::Text(format!("sub-{k}"))]).expect("app info");
        c.execute("INSERT INTO IDN_AUTH_SESSION_META_DATA (SESSION_ID, PROPERTY_TYPE, VALUE) VALUES (?, 'IP', ?)", &[id.clone(), Arg::Text(format!("10.0.0.{k}"))]).expect("meta");
        c.execute(
            &format!("INSERT INTO IDN_FED_AUTH_SESSION_MAPPING (IDP_SESSION_ID, SESSION_ID, IDP_NAME, TIME_CREATED, TENANT_ID) VALUES (?, ?, 'idp', {ts}, -1234)"),
            &[Arg::Text(format!("idp-{k}")), id, t(1_700_000_000 + k as i64)],
        )
        .expect("fed");
    }
    let paths = ["/_system/a", "/_system/b", "/_system/c"];
    for r in &s.reg {
        c.execute(
            &format!(
                "INSERT INTO REG_LOG (REG_LOG_ID, REG_PATH, REG_USER_ID, REG_LOGGED_TIME, REG_ACTION, REG_TENANT_ID) VALUES (?, ?, 'admin', {ts}, ?, ?)"
            ),
            &[
                Arg::Int(r.id),
                r.path.map(|p| Arg::Text(paths[p].into())).unwrap_or(Arg::Null),
                t(1_700_000_000 + r.id),
                Arg::Int(r.action),
                Arg::Int(r.tenant),
            ],
        )
        .expect("reg log");
    }
    for a in &s.audit {
        let opt = |v: Option<i64>| v.map(t).unwrap_or(Arg::Null);
        c.execute(
            &format!(
                "INSERT INTO IDN_OAUTH2_ACCESS_TOKEN_AUDIT (ID, TOKEN_ID, TIME_CREATED, INVALIDATED_TIME, TOKEN_STATE) VALUES (?, ?, {ts}, {ts}, 'INACTIVE')"
            ),
            &[Arg::Int(a.id), Arg::Text(format!("aud-{}", a.id)), opt(a.created), opt(a.invalidated)],
        )
        .expect("audit row");
    }
}

/// Every table's content, for "nothing changed" and "restored exactly".
fn snapshot(db: &TestDb) -> Vec<(String, Vec<Vec<String>>)> {
    let mut c = db.connect();
    schema::tables(schema::Generation::V4_2)
        .iter()
        .map(|t| (t.name.to_string(), dump(&mut c, t.name)))
        .collect()
}

fn plan(batch: usize, backup: bool, dry_run: bool) -> CleanPlan {
    CleanPlan {
        tokens: true,
        codes: true,
        sessions: true,
        registry: true,
        audit_older_than: Some(Duration::from_secs(AUDIT_AGE as u64)),
        safe_period: Duration::from_secs(SAFE as u64),
        batch,
        pause: Duration::ZERO,
        backup: if backup { Backup::Tables } else { Backup::None },
        dry_run,
        stop_after_batches: None,
    }
}

fn set(v: Vec<String>) -> std::collections::BTreeSet<String> {
    v.into_iter().collect()
}

fn check_case(db: &TestDb, s: &Scenario, batch: usize) -> Result<(), TestCaseError> {
    support::reset(db);
    insert(db, s);
    let before = snapshot(db);

    // Dry run: the oracle's counts, nothing changed.
    let dry = db::clean(&db.target(), &plan(batch, false, true), &Silent).expect("dry run");
    let cut = support::parse_utc(&dry.cutoff);
    let expect = oracle::removed(s, cut, SAFE, cut + SAFE - AUDIT_AGE, true);
    let count = |t: &str| {
        dry.tables
            .iter()
            .find(|o| o.table == t)
            .map(|o| o.rows)
            .unwrap_or(0)
    };
    prop_assert_eq!(
        count(schema::TOKEN),
        expect.tokens.len() as u64,
        "{}: dry-run tokens",
        db.label
    );
    prop_assert_eq!(
        count(schema::CODE),
        expect.codes.len() as u64,
        "{}: dry-run codes",
        db.label
    );
    prop_assert_eq!(
        count(schema::REG_LOG),
        expect.reg.len() as u64,
        "{}: dry-run registry",
        db.label
    );
    prop_assert_eq!(
        count(schema::TOKEN_AUDIT),
        expect.audit.len() as u64,
        "{}: dry-run audit",
        db.label
    );
    let session_rows = s
        .sessions
        .iter()
        .filter(|r| expect.sessions.contains(&oracle::session_id(r.session)))
        .count();
    prop_assert_eq!(
        count(schema::SESSION),
        session_rows as u64,
        "{}: dry-run sessions",
        db.label
    );
    prop_assert!(
        snapshot(db) == before,
        "{}: the dry run changed a table",
        db.label
    );

    // The real run, with a backup.
    let run = db::clean(&db.target(), &plan(batch, true, false), &Silent).expect("clean");
    let cut = support::parse_utc(&run.cutoff);
    let expect = oracle::removed(s, cut, SAFE, cut + SAFE - AUDIT_AGE, true);
    let mut c = db.connect();
    let all_tokens = set(s.tokens.iter().map(|t| t.id.clone()).collect());
    let left = set(keys(&mut c, "SELECT TOKEN_ID FROM IDN_OAUTH2_ACCESS_TOKEN"));
    prop_assert_eq!(
        &left,
        &all_tokens.difference(&expect.tokens).cloned().collect(),
        "{}: tokens left",
        db.label
    );
    prop_assert_eq!(
        set(keys(
            &mut c,
            "SELECT TOKEN_ID FROM IDN_OAUTH2_ACCESS_TOKEN_SCOPE"
        )),
        left.clone(),
        "{}: scope rows follow their tokens",
        db.label
    );
    prop_assert_eq!(
        set(keys(
            &mut c,
            "SELECT TOKEN_ID FROM BAK_IDN_OAUTH2_ACCESS_TOKEN"
        )),
        expect.tokens.clone(),
        "{}: token backup",
        db.label
    );
    let all_codes = set(s.codes.iter().map(|x| x.id.clone()).collect());
    prop_assert_eq!(
        set(keys(
            &mut c,
            "SELECT CODE_ID FROM IDN_OAUTH2_AUTHORIZATION_CODE"
        )),
        all_codes.difference(&expect.codes).cloned().collect(),
        "{}: codes left",
        db.label
    );
    prop_assert_eq!(
        set(keys(
            &mut c,
            "SELECT CODE_ID FROM BAK_IDN_OAUTH2_AUTHORIZATION_CODE"
        )),
        expect.codes.clone(),
        "{}: code backup",
        db.label
    );
    let all_sessions = set(s
        .sessions
        .iter()
        .map(|r| oracle::session_id(r.session))
        .collect());
    let sessions_left = set(keys(
        &mut c,
        "SELECT DISTINCT SESSION_ID FROM IDN_AUTH_SESSION_STORE",
    ));
    prop_assert_eq!(
        &sessions_left,
        &all_sessions.difference(&expect.sessions).cloned().collect(),
        "{}: sessions left",
        db.label
    );
    for side in schema::SESSION_SIDE_TABLES {
        let side_left = set(keys(&mut c, &format!("SELECT SESSION_ID FROM {side}")));
        let expected: std::collections::BTreeSet<String> = s
            .side
            .iter()
            .map(|n| oracle::session_id(*n))
            .filter(|id| !expect.sessions.contains(id))
            .collect();
        prop_assert_eq!(
            side_left,
            expected,
            "{}: {} rows follow their sessions",
            db.label,
            side
        );
    }
    let all_reg: std::collections::BTreeSet<i64> = s.reg.iter().map(|r| r.id).collect();
    let reg_left: std::collections::BTreeSet<i64> = keys(&mut c, "SELECT REG_LOG_ID FROM REG_LOG")
        .iter()
        .map(|k| k.parse().expect("id"))
        .collect();
    prop_assert_eq!(
        reg_left,
        all_reg.difference(&expect.reg).copied().collect(),
        "{}: registry left",
        db.label
    );
    let all_audit: std::collections::BTreeSet<i64> = s.audit.iter().map(|r| r.id).collect();
    let audit_left: std::collections::BTreeSet<i64> =
        keys(&mut c, "SELECT ID FROM IDN_OAUTH2_ACCESS_TOKEN_AUDIT")
            .iter()
            .map(|k| k.parse().expect("id"))
            .collect();
    prop_assert_eq!(
        audit_left,
        all_audit.difference(&expect.audit).copied().collect(),
        "{}: audit rows left",
        db.label
    );
    drop(c);

    // Restore: every table exactly as before, and the backups empty.
    db::restore(&db.target(), &Silent).expect("restore");
    prop_assert!(
        snapshot(db) == before,
        "{}: restore did not give every table back",
        db.label
    );
    let mut c = db.connect();
    prop_assert!(keys(&mut c, "SELECT TOKEN_ID FROM BAK_IDN_OAUTH2_ACCESS_TOKEN").is_empty());
    Ok(())
}

fn run_model(test: &str, cases_sqlite: u32, cases_server: u32) {
    for db in support::databases(test) {
        let cases = if db.label == "sqlite" {
            cases_sqlite
        } else {
            cases_server
        };
        let mut runner = TestRunner::new(Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        });
        let base = support::now() - SAFE;
        let result = runner.run(&scenario(base), |(s, batch)| check_case(&db, &s, batch));
        if let Err(e) = result {
            panic!("{}: {e}", db.label);
        }
    }
}

#[test]
fn clean_deletes_exactly_the_removable_rows_and_restore_gives_them_back() {
    run_model("model", 48, 10);
}

/// MySQL/MariaDB compares timestamps in the server's own time zone (the CI server runs at
/// +05:30 on purpose); every engine must keep a token that expired 30 minutes ago and remove
/// one that expired 2 h 10 min ago, with the default 2 h safe period.
#[test]
fn the_safe_period_is_measured_in_utc_on_every_engine() {
    for db in support::databases("utc") {
        support::reset(&db);
        let now = support::now();
        let s = Scenario {
            tokens: vec![
                Token {
                    id: "edge-removable".into(),
                    state: "ACTIVE",
                    validity_ms: 3_600_000,
                    refresh_validity_ms: 3_600_000,
                    created: now - 3600 - 7800,
                    refresh_created: now - 3600 - 7800,
                },
                Token {
                    id: "fresh-keep".into(),
                    state: "ACTIVE",
                    validity_ms: 3_600_000,
                    refresh_validity_ms: 3_600_000,
                    created: now - 3600 - 1800,
                    refresh_created: now - 3600 - 1800,
                },
            ],
            ..Scenario::default()
        };
        insert(&db, &s);
        let mut p = plan(10, false, false);
        p.codes = false;
        p.sessions = false;
        p.registry = false;
        p.audit_older_than = None;
        db::clean(&db.target(), &p, &Silent).expect("clean");
        let mut c = db.connect();
        assert_eq!(
            keys(&mut c, "SELECT TOKEN_ID FROM IDN_OAUTH2_ACCESS_TOKEN"),
            vec!["fresh-keep"],
            "{}",
            db.label
        );
        if c.engine() == Engine::MySql {
            // The test only means something if apim-tune's sessions use the server's zone,
            // as API-M's do (sqlx would otherwise switch them to UTC), on a server that is
            // not on UTC (CI runs MariaDB at +05:30).
            let same = keys(
                &mut c,
                "SELECT CAST(@@session.time_zone = @@global.time_zone AS CHAR)",
            );
            assert_eq!(same, vec!["1"], "apim-tune changed the session time zone");
            let offset = keys(
                &mut c,
                "SELECT CAST(TIMESTAMPDIFF(MINUTE, UTC_TIMESTAMP(), NOW()) AS CHAR)",
            );
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                assert_ne!(offset, vec!["0"], "the CI MariaDB should not run on UTC");
            }
        }
    }
}
