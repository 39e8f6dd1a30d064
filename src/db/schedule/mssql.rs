//! SQL Server: a T-SQL procedure deleting with `DELETE TOP`, and a SQL Server Agent job
//! calling it. The predicates are the dialect's MySQL form with the expiry test swapped for
//! T-SQL's.

use super::header::header;
use super::options::{ScheduleOptions, ScheduleTarget};
use super::procedure::{bind, call_args, counters, per_side_table};
use super::when::{agent_schedule, when};
use crate::db::dialect::{self, Engine, Param, Predicate};
use std::fmt::Write as _;

pub(super) fn render(opts: &ScheduleOptions) -> String {
    let c = &opts.clean;
    let e = Engine::MySql;
    let mut o = header("--", ScheduleTarget::MsSql, opts);
    o.push_str(
        "--
-- Install: sqlcmd -d WSO2AM_DB -i this-file (GO separates the batches); SQL Server 2016 SP1+
-- (DATEDIFF_BIG, CREATE OR ALTER). Run it in the database that holds the tables. The job
-- needs SQL Server Agent running; Agent never starts a job that is still running.
-- Run by hand: EXEC dbo.APIM_TUNE_CLEAN @safe_period_s, @batch, @pause_ms, @audit_older_than_s;

-- 1. The procedure.
CREATE OR ALTER PROCEDURE dbo.APIM_TUNE_CLEAN
    @safe_period_s INT,
    @batch INT,
    @pause_ms INT,
    @audit_older_than_s INT = NULL
AS
BEGIN
    SET NOCOUNT ON;
    IF @safe_period_s IS NULL OR @safe_period_s < 0 OR @batch IS NULL OR @batch < 1
        OR @pause_ms IS NULL OR @pause_ms < 0 OR @pause_ms > 86399999
",
    );
    if c.audit_older_than.is_some() {
        o.push_str("        OR @audit_older_than_s IS NULL OR @audit_older_than_s < 0\n");
    }
    o.push_str(
        "    BEGIN
        RAISERROR(N'APIM_TUNE_CLEAN: periods and pause must be >= 0 and the batch >= 1', 16, 1);
        RETURN;
    END;

    -- One instant for every cut-off, taken once so a run does not chase rows expiring while it
    -- works.
    DECLARE @now DATETIME = GETUTCDATE();
    DECLARE @now_s BIGINT = DATEDIFF_BIG(SECOND, CAST('19700101' AS DATETIME), @now);
    DECLARE @cutoff DATETIME = DATEADD(SECOND, -@safe_period_s, @now);
",
    );
    if c.audit_older_than.is_some() {
        o.push_str(
            "    DECLARE @audit_cutoff DATETIME = DATEADD(SECOND, -@audit_older_than_s, @now);\n",
        );
    }
    if c.sessions {
        let _ = write!(
            o,
            "    DECLARE @session_cutoff_ns BIGINT = (@now_s - @safe_period_s) * CAST(1000000000 AS BIGINT);
    DECLARE @delete_cutoff_ns BIGINT = @now_s * CAST(1000000000 AS BIGINT) - {};
",
            dialect::SESSION_DELETE_AGE_NS
        );
    }
    o.push_str(
        "    DECLARE @delay DATETIME = DATEADD(MILLISECOND, @pause_ms, CAST(0 AS DATETIME));
    DECLARE @rows INT;
",
    );
    for (name, _) in counters(c) {
        let _ = writeln!(o, "    DECLARE @{name} BIGINT = 0;");
    }
    let sleep = "WAITFOR DELAY @delay;";
    // DELETE TOP (n) tests the predicate on the rows it deletes, under their locks.
    let top = |o: &mut String,
               comment: &str,
               table: &str,
               alias: &str,
               pred: Predicate,
               counter: &str| {
        let cond = bind(&mssql_predicate(pred, alias), mssql_var);
        let _ = write!(
            o,
            "
    -- {comment}
    WHILE 1 = 1
    BEGIN
        DELETE TOP (@batch) {alias} FROM {table} AS {alias}
        WHERE {cond};
        SET @rows = @@ROWCOUNT;
        SET @{counter} = @{counter} + @rows;
        IF @rows < @batch BREAK;
        {sleep}
    END;
"
        );
    };
    if c.tokens {
        top(
            &mut o,
            "IDN_OAUTH2_ACCESS_TOKEN (scopes and OIDC request rows follow by ON DELETE CASCADE).",
            "IDN_OAUTH2_ACCESS_TOKEN",
            "a",
            dialect::token_removable(e, "a"),
            "tokens",
        );
    }
    if c.codes {
        top(
            &mut o,
            "IDN_OAUTH2_AUTHORIZATION_CODE, after the tokens: a code goes once its token is gone.",
            "IDN_OAUTH2_AUTHORIZATION_CODE",
            "c",
            dialect::code_removable(e, "c", false),
            "codes",
        );
    }
    if c.sessions {
        let cond = bind(&dialect::session_row_removable("s"), mssql_var);
        let _ = write!(
            o,
            "
    -- IDN_AUTH_SESSION_STORE: a batch is @batch sessions, each removed whole (all its rows),
    -- side tables first so that an interrupted run finds the session again next time. The
    -- batch table copies SESSION_ID's type and collation (tempdb's may differ).
    SELECT TOP (0) SESSION_ID INTO #apim_tune_batch FROM IDN_AUTH_SESSION_STORE;
    WHILE 1 = 1
    BEGIN
        INSERT INTO #apim_tune_batch (SESSION_ID)
            SELECT DISTINCT TOP (@batch) s.SESSION_ID FROM IDN_AUTH_SESSION_STORE AS s
            WHERE {cond};
        SET @rows = @@ROWCOUNT;
"
        );
        per_side_table(&mut o, |t, _| {
            format!(
                "        IF OBJECT_ID(N'{t}', N'U') IS NOT NULL
            DELETE x FROM {t} AS x JOIN #apim_tune_batch AS b ON b.SESSION_ID = x.SESSION_ID;"
            )
        });
        let _ = write!(
            o,
            "        DELETE s FROM IDN_AUTH_SESSION_STORE AS s JOIN #apim_tune_batch AS b ON b.SESSION_ID = s.SESSION_ID;
        SET @session_rows = @session_rows + @@ROWCOUNT;
        SET @sessions = @sessions + @rows;
        TRUNCATE TABLE #apim_tune_batch;
        IF @rows < @batch BREAK;
        {sleep}
    END;
    DROP TABLE #apim_tune_batch;
"
        );
    }
    if c.registry {
        let cond = bind(&dialect::reg_log_removable("r"), mssql_var);
        let _ = write!(
            o,
            "
    -- REG_LOG, oldest first (TOP with ORDER BY needs the CTE): a batch never removes a path's
    -- newest row before the rows it supersedes (which would then be the newest, and stay).
    WHILE 1 = 1
    BEGIN
        ;WITH b AS (
            SELECT TOP (@batch) r.REG_LOG_ID FROM REG_LOG AS r
            WHERE {cond}
            ORDER BY r.REG_LOG_ID)
        DELETE FROM b;
        SET @rows = @@ROWCOUNT;
        SET @reg_log = @reg_log + @rows;
        IF @rows < @batch BREAK;
        {sleep}
    END;
"
        );
    }
    if c.audit_older_than.is_some() {
        top(
            &mut o,
            "IDN_OAUTH2_ACCESS_TOKEN_AUDIT (no key before API-M 4.2; DELETE TOP needs none).",
            "IDN_OAUTH2_ACCESS_TOKEN_AUDIT",
            "u",
            dialect::audit_removable(e, "u"),
            "audit",
        );
    }
    let parts: Vec<String> = counters(c)
        .iter()
        .map(|(n, label)| format!("@{n}, N' {label}'"))
        .collect();
    let _ = write!(
        o,
        "
    PRINT CONCAT(N'APIM_TUNE_CLEAN deleted ', {});
END;
GO

-- 2. The schedule: a SQL Server Agent job per database (re-running this replaces it).
DECLARE @db sysname = DB_NAME();
DECLARE @job sysname = N'apim-tune-db-clean (' + @db + N')';
IF EXISTS (SELECT 1 FROM msdb.dbo.sysjobs WHERE name = @job)
    EXEC msdb.dbo.sp_delete_job @job_name = @job, @delete_unused_schedule = 1;
EXEC msdb.dbo.sp_add_job @job_name = @job,
    @description = N'apim-tune db clean, {}';
EXEC msdb.dbo.sp_add_jobstep @job_name = @job, @step_name = N'APIM_TUNE_CLEAN',
    @subsystem = N'TSQL', @database_name = @db,
    @command = N'EXEC dbo.APIM_TUNE_CLEAN {};';
EXEC msdb.dbo.sp_add_schedule @schedule_name = @job,
    {};
EXEC msdb.dbo.sp_attach_schedule @job_name = @job, @schedule_name = @job;
EXEC msdb.dbo.sp_add_jobserver @job_name = @job, @server_name = N'(local)';
GO
",
        parts.join(", N', ', "),
        when(opts.every, opts.at),
        call_args(c),
        agent_schedule(opts.every, opts.at),
    );
    o
}

fn mssql_var(p: Param) -> &'static str {
    match p {
        Param::Cutoff => "@cutoff",
        Param::AuditCutoff => "@audit_cutoff",
        Param::SessionCutoffNs => "@session_cutoff_ns",
        Param::DeleteCutoffNs => "@delete_cutoff_ns",
    }
}

fn qualify(alias: &str, column: &str) -> String {
    if alias.is_empty() {
        column.to_string()
    } else {
        format!("{alias}.{column}")
    }
}

/// T-SQL's "TIME_CREATED + VALIDITY_PERIOD ms < cut-off". DATEADD takes an INT, which a
/// validity of years in milliseconds overflows; DATEDIFF_BIG (SQL Server 2016) counts the
/// other way in BIGINT.
fn mssql_expired(created: &str, validity_ms: &str, cutoff: &str) -> String {
    format!("DATEDIFF_BIG(MILLISECOND, {created}, {cutoff}) > {validity_ms}")
}

/// A dialect predicate in T-SQL. SQL Server is no [`Engine`] (apim-tune never connects to it),
/// so the MySQL form is taken, whose only non-T-SQL part is the expiry test: each one is
/// swapped for [`mssql_expired`] (the rest — IN, EXISTS, COALESCE, CAST AS DATETIME — is T-SQL
/// too; a test checks no MySQL function is left).
fn mssql_predicate(p: Predicate, alias: &str) -> Predicate {
    let mut sql = p.sql;
    for (created, validity) in [
        ("TIME_CREATED", "VALIDITY_PERIOD"),
        (
            "REFRESH_TOKEN_TIME_CREATED",
            "REFRESH_TOKEN_VALIDITY_PERIOD",
        ),
    ] {
        let (created, validity) = (qualify(alias, created), qualify(alias, validity));
        sql = sql.replace(
            &Engine::MySql.expired(&created, &validity, "?"),
            &mssql_expired(&created, &validity, "?"),
        );
    }
    Predicate {
        sql,
        params: p.params,
    }
}
