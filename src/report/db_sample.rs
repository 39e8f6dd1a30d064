//! A hand-built `db audit` report for the renderers' tests: a measured table with removable
//! rows by reason, an estimated one with none, an absent one, one finding and a note.

use crate::db::model::{DbAuditReport, TableStats};
use crate::diag::Checked;
use crate::diag::Code;
use crate::diag::Finding;
use crate::redact::redact_url;

/// The URL the sample's target is masked from; its password must never be rendered.
pub(crate) const URL: &str = "postgres://apim:s3cret@db.example:5432/apim_db";

pub(crate) fn report() -> DbAuditReport {
    let checked = [
        "db:IDN_OAUTH2_ACCESS_TOKEN",
        "db:IDN_OAUTH2_AUTHORIZATION_CODE",
    ]
    .map(|s| Checked {
        suite: "db".into(),
        subject: s.into(),
    })
    .to_vec();
    DbAuditReport {
        target: redact_url(URL),
        engine: "postgresql",
        server_version: Some("PostgreSQL 15.14".into()),
        schema_version: Some("4.2".into()),
        now: "2026-11-22 05:48:01".into(),
        cutoff: "2026-11-21 05:48:01".into(),
        safe_period: "24h".into(),
        tables: vec![
            TableStats {
                table: "IDN_OAUTH2_ACCESS_TOKEN".into(),
                present: true,
                rows: Some(1_250_000),
                size_bytes: Some(3 * 512 * 1024 * 1024),
                size_kind: Some("exact"),
                removable: Some(1_100_000),
                reasons: vec![
                    ("state INACTIVE/REVOKED/EXPIRED".into(), 900_000),
                    ("expired before the cut-off".into(), 200_000),
                ],
                oldest_removable: Some("2024-03-01 12:00:00".into()),
            },
            TableStats {
                table: "IDN_OAUTH2_AUTHORIZATION_CODE".into(),
                present: true,
                rows: Some(4_200),
                size_bytes: Some(868_352),
                size_kind: Some("estimate"),
                removable: Some(0),
                reasons: Vec::new(),
                oldest_removable: None,
            },
            TableStats {
                table: "IDN_OIDC_REQ_OBJECT_REFERENCE".into(),
                present: false,
                ..TableStats::default()
            },
        ],
        // Any existing code stands in until the database codes exist.
        findings: vec![
            Finding::new(
                Code::REMOVABLE_ROWS_PRESENT,
                "db:IDN_OAUTH2_ACCESS_TOKEN",
                "`IDN_OAUTH2_ACCESS_TOKEN` holds 1100000 removable rows, expected at most 100000",
            )
            .current("1100000")
            .expected("at most 100000")
            .why("token validation slows down as the table grows"),
        ],
        checked,
        notes: vec!["`IDN_OIDC_REQ_OBJECT_REFERENCE` is absent: not cleaned".into()],
        facts: Default::default(),
    }
}
