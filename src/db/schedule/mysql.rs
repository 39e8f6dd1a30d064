//! MySQL / MariaDB: a procedure deleting in batches through a temporary key table, and an
//! EVENT calling it.

use super::VERSION;
use super::header::header;
use super::options::{ScheduleOptions, ScheduleTarget};
use super::procedure::{bind, call_args, counters, per_side_table, plain_var};
use super::when::{mysql_every, when};
use crate::db::dialect::{self, Engine, Predicate};
use std::fmt::Write as _;

pub(super) fn render(opts: &ScheduleOptions) -> String {
    let c = &opts.clean;
    let e = Engine::MySql;
    let mut o = header("--", ScheduleTarget::MySql, opts);
    o.push_str(
        "--
-- Install: mysql WSO2AM_DB < this-file (or mariadb); MySQL 5.7+ or MariaDB 10.2+. Run it in the
-- database that holds the tables. The event runs only while the event scheduler is on:
-- SET GLOBAL event_scheduler = ON, and event_scheduler = ON under [mysqld] to keep it on.
-- Run by hand: CALL APIM_TUNE_CLEAN(safe period s, batch, pause ms, audit age s or NULL).

-- 1. The procedure.
DROP PROCEDURE IF EXISTS APIM_TUNE_CLEAN;
DELIMITER $$
CREATE PROCEDURE APIM_TUNE_CLEAN(
    IN p_safe_period_s BIGINT,
    IN p_batch INT,
    IN p_pause_ms INT,
    IN p_audit_older_than_s BIGINT)
    MODIFIES SQL DATA
",
    );
    let _ = writeln!(
        o,
        "    COMMENT 'apim-tune {VERSION} db clean: batched delete of expired API-M rows (UTC cut-offs)'"
    );
    o.push_str(
        "proc: BEGIN
    DECLARE v_now DATETIME;
    DECLARE v_now_s BIGINT;
    DECLARE v_cutoff DATETIME;
    DECLARE v_audit_cutoff DATETIME;
    DECLARE v_session_cutoff_ns BIGINT;
    DECLARE v_delete_cutoff_ns BIGINT;
    DECLARE v_rows INT DEFAULT 0;
",
    );
    for (name, _) in counters(c) {
        let _ = writeln!(o, "    DECLARE v_{name} BIGINT DEFAULT 0;");
    }
    if c.sessions {
        per_side_table(&mut o, |_, var| {
            format!("    DECLARE v_has_{var} INT DEFAULT 0;")
        });
    }
    o.push_str(
        "    -- GET_LOCK names are server-wide: one lock per database.
    DECLARE v_lock VARCHAR(64) DEFAULT LEFT(CONCAT('apim_tune_clean.', DATABASE()), 64);

    -- API-M writes UTC wall-clock times into TIMESTAMP columns through sessions in the server's
    -- default time zone; a session in another zone reads them shifted by the difference.
    IF @@SESSION.time_zone <> @@GLOBAL.time_zone THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT =
            'APIM_TUNE_CLEAN: run it in the server time zone: SET time_zone = @@GLOBAL.time_zone';
    END IF;
    IF p_safe_period_s IS NULL OR p_safe_period_s < 0 OR p_batch IS NULL OR p_batch < 1
        OR p_pause_ms IS NULL OR p_pause_ms < 0
",
    );
    if c.audit_older_than.is_some() {
        o.push_str("        OR p_audit_older_than_s IS NULL OR p_audit_older_than_s < 0\n");
    }
    o.push_str(
        "    THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT =
            'APIM_TUNE_CLEAN: periods and pause must be >= 0 and the batch >= 1';
    END IF;
    -- One run at a time: a run longer than the interval must not race the next one.
    IF COALESCE(GET_LOCK(v_lock, 0), 0) = 0 THEN
        SELECT 'another APIM_TUNE_CLEAN run holds the lock: nothing done' AS apim_tune_clean;
        LEAVE proc;
    END IF;

    -- One instant for every cut-off, taken once so a run does not chase rows expiring while it
    -- works. UNIX_TIMESTAMP() without an argument is epoch seconds in any time zone (given a
    -- UTC_TIMESTAMP() argument it would read it as session-local time).
    SELECT UTC_TIMESTAMP(), UNIX_TIMESTAMP() INTO v_now, v_now_s;
    SET v_cutoff = v_now - INTERVAL p_safe_period_s SECOND;
",
    );
    if c.audit_older_than.is_some() {
        o.push_str("    SET v_audit_cutoff = v_now - INTERVAL p_audit_older_than_s SECOND;\n");
    }
    if c.sessions {
        let _ = write!(
            o,
            "    SET v_session_cutoff_ns = (v_now_s - p_safe_period_s) * 1000000000;
    SET v_delete_cutoff_ns = v_now_s * 1000000000 - {};
",
            dialect::SESSION_DELETE_AGE_NS
        );
        per_side_table(&mut o, |t, var| {
            format!(
                "    SELECT COUNT(*) INTO v_has_{var} FROM information_schema.tables
        WHERE table_schema = DATABASE() AND UPPER(table_name) = '{t}';"
            )
        });
    }
    let sleep = "DO SLEEP(p_pause_ms / 1000);";
    // A batch's keys go to a temporary table first: MySQL allows no LIMIT in an IN subquery,
    // and no subquery on the table a DELETE deletes from. The table copies the key columns'
    // types and collation from the source, so the join cannot fail on mixed collations.
    let keyed = |o: &mut String,
                 comment: &str,
                 table: &str,
                 alias: &str,
                 keys: &[&str],
                 pred: &Predicate,
                 recheck: bool,
                 order: bool,
                 counter: &str| {
        let cond = bind(pred, plain_var);
        let key_list = keys.join(", ");
        let sel: Vec<String> = keys.iter().map(|k| format!("{alias}.{k}")).collect();
        let on: Vec<String> = keys
            .iter()
            .map(|k| format!("b.{k} = {alias}.{k}"))
            .collect();
        let _ = write!(
            o,
            "
    -- {comment}
    DROP TEMPORARY TABLE IF EXISTS APIM_TUNE_BATCH;
    CREATE TEMPORARY TABLE APIM_TUNE_BATCH (PRIMARY KEY ({key_list}))
        SELECT {key_list} FROM {table} LIMIT 0;
    {counter}_loop: LOOP
        INSERT INTO APIM_TUNE_BATCH ({key_list})
            SELECT {sel} FROM {table} {alias}
            WHERE {cond}
            {order}LIMIT p_batch;
        SET v_rows = ROW_COUNT();
        DELETE {alias} FROM {table} {alias} JOIN APIM_TUNE_BATCH b ON {on}{recheck};
        SET v_{counter} = v_{counter} + ROW_COUNT();
        DELETE FROM APIM_TUNE_BATCH;
        IF v_rows < p_batch THEN LEAVE {counter}_loop; END IF;
        {sleep}
    END LOOP;
",
            sel = sel.join(", "),
            on = on.join(" AND "),
            order = if order {
                format!("ORDER BY {alias}.{} ", keys[0])
            } else {
                String::new()
            },
            recheck = if recheck {
                format!("\n            WHERE {cond}")
            } else {
                String::new()
            },
        );
    };
    if c.tokens {
        keyed(
            &mut o,
            "IDN_OAUTH2_ACCESS_TOKEN (scopes and OIDC request rows follow by ON DELETE CASCADE).\n    \
             -- The delete tests the predicate again: a token changed since it was picked stays.",
            "IDN_OAUTH2_ACCESS_TOKEN",
            "a",
            &["TOKEN_ID"],
            &dialect::token_removable(e, "a"),
            true,
            false,
            "tokens",
        );
    }
    if c.codes {
        keyed(
            &mut o,
            "IDN_OAUTH2_AUTHORIZATION_CODE, after the tokens: a code goes once its token is gone.",
            "IDN_OAUTH2_AUTHORIZATION_CODE",
            "c",
            &["CODE_ID"],
            &dialect::code_removable(e, "c", false),
            true,
            false,
            "codes",
        );
    }
    if c.sessions {
        let cond = bind(&dialect::session_row_removable("s"), plain_var);
        let _ = write!(
            o,
            "
    -- IDN_AUTH_SESSION_STORE: a batch is p_batch sessions, each removed whole (all its rows),
    -- side tables first so that an interrupted run finds the session again next time.
    DROP TEMPORARY TABLE IF EXISTS APIM_TUNE_BATCH;
    CREATE TEMPORARY TABLE APIM_TUNE_BATCH (PRIMARY KEY (SESSION_ID))
        SELECT SESSION_ID FROM IDN_AUTH_SESSION_STORE LIMIT 0;
    sessions_loop: LOOP
        INSERT INTO APIM_TUNE_BATCH (SESSION_ID)
            SELECT DISTINCT s.SESSION_ID FROM IDN_AUTH_SESSION_STORE s
            WHERE {cond}
            LIMIT p_batch;
        SET v_rows = ROW_COUNT();
"
        );
        per_side_table(&mut o, |t, var| {
            format!(
                "        IF v_has_{var} > 0 THEN
            DELETE x FROM {t} x JOIN APIM_TUNE_BATCH b ON b.SESSION_ID = x.SESSION_ID;
        END IF;"
            )
        });
        let _ = write!(
            o,
            "        DELETE s FROM IDN_AUTH_SESSION_STORE s JOIN APIM_TUNE_BATCH b ON b.SESSION_ID = s.SESSION_ID;
        SET v_session_rows = v_session_rows + ROW_COUNT();
        SET v_sessions = v_sessions + v_rows;
        DELETE FROM APIM_TUNE_BATCH;
        IF v_rows < p_batch THEN LEAVE sessions_loop; END IF;
        {sleep}
    END LOOP;
"
        );
    }
    if c.registry {
        keyed(
            &mut o,
            "REG_LOG, oldest first: a batch never removes a path's newest row before the rows it\n    \
             -- supersedes (which would then be the newest, and stay).",
            "REG_LOG",
            "r",
            &["REG_LOG_ID", "REG_TENANT_ID"],
            &dialect::reg_log_removable("r"),
            false,
            true,
            "reg_log",
        );
    }
    if c.audit_older_than.is_some() {
        let cond = bind(&dialect::audit_removable(e, ""), plain_var);
        let _ = write!(
            o,
            "
    -- IDN_OAUTH2_ACCESS_TOKEN_AUDIT has no key before API-M 4.2: delete by predicate.
    audit_loop: LOOP
        DELETE FROM IDN_OAUTH2_ACCESS_TOKEN_AUDIT
            WHERE {cond}
            LIMIT p_batch;
        SET v_rows = ROW_COUNT();
        SET v_audit = v_audit + v_rows;
        IF v_rows < p_batch THEN LEAVE audit_loop; END IF;
        {sleep}
    END LOOP;
"
        );
    }
    let summary: Vec<String> = counters(c)
        .iter()
        .map(|(n, _)| format!("v_{n} AS {n}_deleted"))
        .collect();
    let _ = write!(
        o,
        "
    DROP TEMPORARY TABLE IF EXISTS APIM_TUNE_BATCH;
    DO RELEASE_LOCK(v_lock);
    -- Shown by a manual CALL; an event discards it.
    SELECT {};
END$$
DELIMITER ;

-- 2. The schedule. An event runs in the time zone of the session that created it, which
-- must be the server's (see the check above).
SET time_zone = @@GLOBAL.time_zone;
DROP EVENT IF EXISTS APIM_TUNE_DB_CLEAN;
CREATE EVENT APIM_TUNE_DB_CLEAN
    ON SCHEDULE {}
    ON COMPLETION PRESERVE
    ENABLE
    COMMENT 'apim-tune db clean, {}'
    DO CALL APIM_TUNE_CLEAN({});
",
        summary.join(", "),
        mysql_every(opts.every, opts.at),
        when(opts.every, opts.at),
        call_args(c)
    );
    o
}
