//! PostgreSQL: a PL/pgSQL procedure committing after each batch, and a pg_cron job calling it.

use super::header::header;
use super::options::{ScheduleOptions, ScheduleTarget};
use super::procedure::{bind, call_args, counters, per_side_table, plain_var};
use super::when::cron_expr;
use crate::db::dialect::{self, Engine, Predicate};
use std::fmt::Write as _;

pub(super) fn render(opts: &ScheduleOptions) -> String {
    let c = &opts.clean;
    let e = Engine::Postgres;
    let mut o = header("--", ScheduleTarget::Postgres, opts);
    o.push_str(
        "--
-- Install: psql -d WSO2AM_DB -f this-file; PostgreSQL 11+ (procedures that COMMIT). Run it in
-- the database that holds the tables. A manual CALL must be outside a transaction block
-- (psql's default autocommit is fine): the procedure commits after each batch.
-- Run by hand: CALL apim_tune_clean(safe period s, batch, pause ms, audit age s or NULL);

-- 1. The procedure. The signature never changes with the options, so CREATE OR REPLACE
-- replaces it instead of adding an overload.
CREATE OR REPLACE PROCEDURE apim_tune_clean(
    p_safe_period_s bigint,
    p_batch integer,
    p_pause_ms integer,
    p_audit_older_than_s bigint DEFAULT NULL)
LANGUAGE plpgsql
AS $apim_tune$
DECLARE
    v_now timestamptz;
    v_now_ns bigint;
    v_cutoff timestamp;
    v_audit_cutoff timestamp;
    v_session_cutoff_ns bigint;
    v_delete_cutoff_ns bigint;
    v_rows bigint;
    v_ids text[];
",
    );
    for (name, _) in counters(c) {
        let _ = writeln!(o, "    v_{name} bigint := 0;");
    }
    if c.sessions {
        per_side_table(&mut o, |_, var| format!("    v_has_{var} boolean;"));
    }
    o.push_str(
        "BEGIN
    IF p_safe_period_s IS NULL OR p_safe_period_s < 0 OR p_batch IS NULL OR p_batch < 1
        OR p_pause_ms IS NULL OR p_pause_ms < 0
",
    );
    if c.audit_older_than.is_some() {
        o.push_str("        OR p_audit_older_than_s IS NULL OR p_audit_older_than_s < 0\n");
    }
    o.push_str(
        "    THEN
        RAISE EXCEPTION 'apim_tune_clean: periods and pause must be >= 0 and the batch >= 1';
    END IF;
    -- One run at a time (advisory locks are per database). A session lock, as it must outlive
    -- the commits; a pg_cron run ends its session, which releases it even after an error.
    IF NOT pg_try_advisory_lock(hashtext('apim_tune_clean')) THEN
        RAISE NOTICE 'another apim_tune_clean run holds the lock: nothing done';
        RETURN;
    END IF;

    -- One instant for every cut-off, taken once so a run does not chase rows expiring while it
    -- works. timezone('UTC', …) gives the UTC wall clock API-M stores in its TIMESTAMP columns.
    v_now := now();
    v_now_ns := floor(extract(epoch FROM v_now) * 1000000)::bigint * 1000;
    v_cutoff := timezone('UTC', v_now) - make_interval(secs => p_safe_period_s);
",
    );
    if c.audit_older_than.is_some() {
        o.push_str(
            "    v_audit_cutoff := timezone('UTC', v_now) - make_interval(secs => p_audit_older_than_s);\n",
        );
    }
    if c.sessions {
        let _ = write!(
            o,
            "    v_session_cutoff_ns := v_now_ns - p_safe_period_s * 1000000000;
    v_delete_cutoff_ns := v_now_ns - {};
",
            dialect::SESSION_DELETE_AGE_NS
        );
        per_side_table(&mut o, |_, var| {
            format!("    v_has_{var} := to_regclass('{var}') IS NOT NULL;")
        });
    }
    let sleep = "PERFORM pg_sleep(p_pause_ms / 1000.0);";
    // The subquery picks a batch; the outer WHERE tests the predicate again on the row the
    // DELETE finds, so a token or code changed since it was picked stays.
    let keyed = |o: &mut String,
                 comment: &str,
                 table: &str,
                 key: &str,
                 pred_outer: &Predicate,
                 pred_inner: &Predicate,
                 counter: &str| {
        let _ = write!(
            o,
            "
    -- {comment}
    LOOP
        DELETE FROM {table} d
        WHERE d.{key} IN (
                SELECT b.{key} FROM {table} b
                WHERE {inner}
                LIMIT p_batch)
            AND {outer};
        GET DIAGNOSTICS v_rows = ROW_COUNT;
        v_{counter} := v_{counter} + v_rows;
        COMMIT;
        EXIT WHEN v_rows < p_batch;
        {sleep}
    END LOOP;
",
            inner = bind(pred_inner, plain_var),
            outer = bind(pred_outer, plain_var),
        );
    };
    if c.tokens {
        keyed(
            &mut o,
            "IDN_OAUTH2_ACCESS_TOKEN (scopes and OIDC request rows follow by ON DELETE CASCADE).",
            "IDN_OAUTH2_ACCESS_TOKEN",
            "TOKEN_ID",
            &dialect::token_removable(e, "d"),
            &dialect::token_removable(e, "b"),
            "tokens",
        );
    }
    if c.codes {
        keyed(
            &mut o,
            "IDN_OAUTH2_AUTHORIZATION_CODE, after the tokens: a code goes once its token is gone.",
            "IDN_OAUTH2_AUTHORIZATION_CODE",
            "CODE_ID",
            &dialect::code_removable(e, "d", false),
            &dialect::code_removable(e, "b", false),
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
    LOOP
        SELECT array_agg(q.SESSION_ID) INTO v_ids FROM (
            SELECT DISTINCT s.SESSION_ID FROM IDN_AUTH_SESSION_STORE s
            WHERE {cond}
            LIMIT p_batch) q;
        EXIT WHEN v_ids IS NULL;
"
        );
        per_side_table(&mut o, |t, var| {
            format!(
                "        IF v_has_{var} THEN
            DELETE FROM {t} WHERE SESSION_ID = ANY (v_ids);
        END IF;"
            )
        });
        let _ = write!(
            o,
            "        DELETE FROM IDN_AUTH_SESSION_STORE WHERE SESSION_ID = ANY (v_ids);
        GET DIAGNOSTICS v_rows = ROW_COUNT;
        v_session_rows := v_session_rows + v_rows;
        v_sessions := v_sessions + cardinality(v_ids);
        COMMIT;
        EXIT WHEN cardinality(v_ids) < p_batch;
        {sleep}
    END LOOP;
"
        );
    }
    if c.registry {
        let cond = bind(&dialect::reg_log_removable("r"), plain_var);
        let _ = write!(
            o,
            "
    -- REG_LOG, oldest first: a batch never removes a path's newest row before the rows it
    -- supersedes (which would then be the newest, and stay).
    LOOP
        DELETE FROM REG_LOG d
        WHERE (d.REG_LOG_ID, d.REG_TENANT_ID) IN (
            SELECT r.REG_LOG_ID, r.REG_TENANT_ID FROM REG_LOG r
            WHERE {cond}
            ORDER BY r.REG_LOG_ID
            LIMIT p_batch);
        GET DIAGNOSTICS v_rows = ROW_COUNT;
        v_reg_log := v_reg_log + v_rows;
        COMMIT;
        EXIT WHEN v_rows < p_batch;
        {sleep}
    END LOOP;
"
        );
    }
    if c.audit_older_than.is_some() {
        let cond = bind(&dialect::audit_removable(e, "u"), plain_var);
        let _ = write!(
            o,
            "
    -- IDN_OAUTH2_ACCESS_TOKEN_AUDIT has no key before API-M 4.2: batches by ctid.
    LOOP
        DELETE FROM IDN_OAUTH2_ACCESS_TOKEN_AUDIT d
        WHERE d.ctid = ANY (ARRAY(
            SELECT u.ctid FROM IDN_OAUTH2_ACCESS_TOKEN_AUDIT u
            WHERE {cond}
            LIMIT p_batch));
        GET DIAGNOSTICS v_rows = ROW_COUNT;
        v_audit := v_audit + v_rows;
        COMMIT;
        EXIT WHEN v_rows < p_batch;
        {sleep}
    END LOOP;
"
        );
    }
    let counts = counters(c);
    let fmt: Vec<String> = counts
        .iter()
        .map(|(_, label)| format!("% {label}"))
        .collect();
    let args: Vec<String> = counts.iter().map(|(n, _)| format!("v_{n}")).collect();
    let cmd = format!("CALL apim_tune_clean({})", call_args(c));
    let expr = cron_expr(opts.every, opts.at);
    let _ = write!(
        o,
        "
    PERFORM pg_advisory_unlock(hashtext('apim_tune_clean'));
    RAISE NOTICE 'apim_tune_clean deleted {}', {};
END
$apim_tune$;

-- 2. The schedule, with pg_cron, one job per database (re-running this replaces it):
--   SELECT cron.schedule('apim-tune-db-clean-' || current_database(), '{expr}', '{cmd}');
-- pg_cron runs jobs in the database it is installed in (cron.database_name); for another
-- database the block below prints the cron.schedule_in_database call (pg_cron 1.4+) to run
-- there. The command must stay a lone CALL: pg_cron wraps several statements in one
-- transaction, where the procedure's COMMIT fails.
DO $apim_tune$
DECLARE
    v_job text := 'apim-tune-db-clean-' || current_database();
BEGIN
    IF to_regnamespace('cron') IS NOT NULL THEN
        PERFORM cron.schedule(v_job, '{expr}', '{cmd}');
        RAISE NOTICE 'pg_cron job % scheduled', v_job;
    ELSE
        RAISE NOTICE 'pg_cron is not in this database; in its database run: %',
            format('SELECT cron.schedule_in_database(%L, %L, %L, %L);',
                   v_job, '{expr}', '{cmd}', current_database());
    END IF;
END
$apim_tune$;
",
        fmt.join(", "),
        args.join(", "),
    );
    o
}
