//! `apim-tune db schedule` through the real binary: `--options` are `db clean`'s own options,
//! baked into units, crontab lines and procedures without the password.

use crate::cli::apim_tune;
use predicates::prelude::*;

#[test]
fn schedule_prints_units_that_keep_the_password_out_of_argv() {
    apim_tune()
        .args([
            "db",
            "schedule",
            "--engine",
            "systemd",
            "--options",
            "--tokens --codes --backup",
            "--url",
            "mysql://apim:Sched-Pw-1@db:3306/am",
        ])
        .assert()
        .success()
        .stdout(
            predicate::str::contains(
                "ExecStart=/usr/local/bin/apim-tune db clean --yes --tokens --codes",
            )
            .and(predicate::str::contains(
                "EnvironmentFile=/etc/apim-tune/db.env",
            ))
            .and(predicate::str::contains("Sched-Pw-1").not()),
        );
    apim_tune()
        .args(["db", "schedule", "--engine", "postgresql"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("cron.schedule")
                .and(predicate::str::contains("CREATE OR REPLACE PROCEDURE")),
        );
    apim_tune()
        .args(["db", "schedule", "--engine", "cron", "--every", "5d"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--every 5d"));
    apim_tune()
        .args(["db", "schedule", "--engine", "oracle"])
        .assert()
        .code(2);
}

/// Every engine with one set of valid, non-default `--options` (a `=` value, a zero pause,
/// the audit table, `--yes`), and cron with the registry, a backup and the largest batch.
/// The snapshot was taken before `--options` went through `db clean`'s parser: valid options
/// still print the same text.
#[test]
fn valid_options_print_the_same_schedule_as_before() {
    let runs: [(&str, &str); 6] = [
        (
            "mysql",
            "--sessions --safe-period=3h --batch 500 --pause 0 --audit-table --older-than 90d --yes",
        ),
        (
            "postgresql",
            "--sessions --safe-period=3h --batch 500 --pause 0 --audit-table --older-than 90d --yes",
        ),
        (
            "mssql",
            "--sessions --safe-period=3h --batch 500 --pause 0 --audit-table --older-than 90d --yes",
        ),
        (
            "systemd",
            "--sessions --safe-period=3h --batch 500 --pause 0 --audit-table --older-than 90d --yes",
        ),
        (
            "cron",
            "--sessions --safe-period=3h --batch 500 --pause 0 --audit-table --older-than 90d --yes",
        ),
        ("cron", "--registry --backup --batch 15000 --pause 1s"),
    ];
    let mut all = String::new();
    for (engine, options) in runs {
        let out = apim_tune()
            .args(["db", "schedule", "--engine", engine, "--options", options])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        all.push_str(&format!(
            "===== --engine {engine} --options \"{options}\"\n"
        ));
        all.push_str(&String::from_utf8(out).expect("utf-8"));
    }
    insta::with_settings!(
        {
            snapshot_path => concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"),
            prepend_module_to_snapshot => false,
            filters => vec![(r"apim-tune \d+\.\d+\.\d+[^\s:']*", "apim-tune [VERSION]")],
        },
        { insta::assert_snapshot!("schedule_cli_options", all) }
    );
}

/// Issue 12: `--options` went through a parser of its own, which took `--batch 1000000`; every
/// scheduled run then failed with exit 2, as `db clean` takes at most 15,000. The options now
/// go through `db clean`'s own arguments: what it refuses, the schedule refuses, on every
/// engine, before printing anything.
/// See: issue 12, "files that show their subsystems".
#[test]
fn issue_12_schedule_refuses_the_batch_db_clean_refuses() {
    apim_tune()
        .args(["db", "clean", "--tokens", "--batch", "1000000", "--yes"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("from 1 to 15000"));
    for engine in ["systemd", "cron", "mysql", "postgresql", "mssql"] {
        apim_tune()
            .args(["db", "schedule", "--engine", engine])
            .args(["--options", "--batch 1000000"])
            .assert()
            .code(2)
            .stdout(predicate::str::is_empty())
            .stderr(predicate::str::contains(
                "invalid --options at `1000000`: --batch: `1000000` is not a whole number from 1 to 15000",
            ));
    }
    // The largest batch `db clean` takes is still fine.
    apim_tune()
        .args(["db", "schedule", "--engine", "systemd"])
        .args(["--options", "--tokens --batch 15000"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "db clean --yes --tokens --safe-period 2h --batch 15000 --pause 100ms\n",
        ));
}
