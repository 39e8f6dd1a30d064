//! APM013 validation-query-mismatch: a datasource `validationQuery` that its database rejects.
//!
//! With `testOnBorrow`, every borrow runs the query; one the database rejects makes every borrow
//! fail. The database is told from the JDBC URL, else the driver class, else (3.x/4.x) the
//! `type`. Accepted queries per database follow carbon-kernel's infer.json plus what each
//! database really accepts (MySQL, MariaDB and H2 also accept `FROM DUAL`; PostgreSQL does not).

use super::apim_fix;
use crate::apim::datasources::{Engine, engine_of};
use crate::apim::xml::Element;
use crate::apim::{ApimModel, Layout};
use crate::diag::Finding;
use crate::diag::{Change, Subject, Value, ValueKind};
use crate::model::Location;
use crate::redact::redact_url;
use crate::rules::{Check, Input, RuleContext};
use std::collections::BTreeSet;

declare_rule! {
    /// ### What it checks
    /// A datasource `validationQuery` that does not fit its database (from URL, driver or type).
    /// ### Why it matters
    /// With `testOnBorrow`, a query the database rejects makes every borrow fail: Oracle needs
    /// `SELECT 1 FROM DUAL`, DB2 `SELECT 1 FROM SYSIBM.SYSDUMMY1`.
    /// ### Fix
    /// Set the validation query for that database.
    /// ### Sources
    /// - tomcat-jdbc-pool: validationQuery
    /// - tuning-1.9: Key Manager nodes (connection pool)
    pub(crate) static RULE = "APM013" "validation-query-mismatch" Error "a datasource validation query does not fit its database",
    inputs: [Input::Apim],
    check: Check::Node(check),
}

/// What each database accepts as a validation query: judgement on the engine the reader tells.
trait Accepts {
    fn rejects(self, query: &str) -> Option<&'static str>;
    fn fix_text(self) -> &'static str;
}

impl Accepts for Engine {
    /// Why this database rejects `query` (normalised), or `None` when it accepts it. A
    /// deny-list on purpose: any query the database runs is a valid validation query
    /// (`/* ping */ SELECT 1`, `select 'x' from dual`), only known failures are findings.
    fn rejects(self, query: &str) -> Option<&'static str> {
        let has_from = query.contains(" FROM ");
        let dual = query.contains(" FROM DUAL");
        if query.is_empty() {
            return Some("an empty query fails on every database");
        }
        match self {
            Engine::Oracle if !has_from => {
                Some("Oracle needs a FROM clause (`SELECT 1 FROM DUAL`)")
            }
            Engine::Db2 if dual => Some("DB2 has no DUAL table (`SELECT 1 FROM SYSIBM.SYSDUMMY1`)"),
            Engine::Db2 if !has_from && !query.starts_with("VALUES") => {
                Some("DB2 needs a FROM clause (`SELECT 1 FROM SYSIBM.SYSDUMMY1`)")
            }
            Engine::Postgres if dual => Some("PostgreSQL has no DUAL table (`SELECT 1`)"),
            Engine::MsSql if dual => Some("SQL Server has no DUAL table (`SELECT 1`)"),
            _ => None,
        }
    }

    fn fix_text(self) -> &'static str {
        match self {
            Engine::Oracle => "SELECT 1 FROM DUAL",
            Engine::Db2 => "SELECT 1 FROM SYSIBM.SYSDUMMY1",
            _ => "SELECT 1",
        }
    }
}

fn normalise(q: &str) -> String {
    q.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .trim_end_matches(';')
        .trim()
        .to_ascii_uppercase()
}

/// What is known about one datasource.
struct Source {
    name: String,
    /// The key the query is set under: an XPath in master-datasources.xml, a TOML key.
    subject: Subject,
    url: Option<String>,
    driver: Option<String>,
    ty: Option<String>,
    query: Option<String>,
    query_at: Option<Location>,
    file: String,
}

pub fn check(cx: &RuleContext, out: &mut Vec<Finding>) {
    let Some(apim) = cx.apim else { return };
    let sources = match apim.home.layout {
        Layout::Xml => xml_sources(apim),
        Layout::Toml => toml_sources(apim),
    };
    for s in sources {
        let db = engine_of(s.url.as_deref(), s.driver.as_deref(), s.ty.as_deref());
        let (Some(db), Some(query)) = (db, s.query.as_deref()) else {
            continue;
        };
        let Some(reason) = db.rejects(&normalise(query)) else {
            continue;
        };
        let told_by = match (&s.url, &s.driver, &s.ty) {
            (Some(u), _, _) if Engine::from_url(u).is_some() => format!("URL `{}`", redact_url(u)),
            (_, Some(d), _) if Engine::from_driver(d).is_some() => format!("driver `{d}`"),
            (_, _, Some(t)) => format!("type `{t}`"),
            _ => "its settings".into(),
        };
        let mut f = Finding::new(
            RULE.code(),
            s.subject.clone(),
            format!(
                "datasource `{}` is {} (from its {told_by}) but its validation query is `{query}`",
                s.name,
                db.name()
            ),
        )
        .at(s.query_at.clone().or_else(|| Some(Location::file_only(&s.file))))
        .current(query.to_string())
        .expected(db.fix_text())
        .note(reason)
        .why("with testOnBorrow every borrow runs this query; one the database rejects makes every borrow, and so every request needing the database, fail")
        .see("tomcat-jdbc-pool, validationQuery; tuning-1.9, Key Manager nodes");
        if let Some(loc) = &s.query_at {
            if loc.span.is_some() {
                let Subject::Setting { key, .. } = &s.subject else {
                    continue;
                };
                f = f.fix(apim_fix(Change::SetApim {
                    file: s.file.clone(),
                    key: key.clone(),
                    value: Value {
                        text: db.fix_text().into(),
                        kind: ValueKind::Str,
                    },
                    at: Some(loc.clone()),
                }));
            }
        } else if s.query_at.is_none() && s.ty.is_some() {
            f = f.note("the query is inferred from `type`; check that `type` matches the URL");
        }
        out.push(f);
    }
}

fn child<'a>(e: &'a Element, name: &str) -> Option<&'a Element> {
    e.children.iter().find(|c| c.name == name)
}

fn text(e: Option<&Element>) -> Option<String> {
    e.and_then(|e| e.text.as_ref()).map(|t| t.value.clone())
}

fn xml_sources(apim: &ApimModel) -> Vec<Source> {
    let Some(doc) = apim.xml_doc("master-datasources.xml") else {
        return Vec::new();
    };
    let Ok(path) =
        crate::apim::xml::XPath::parse("/datasources-configuration/datasources/datasource")
    else {
        return Vec::new();
    };
    let file = doc.file.display.clone();
    doc.query_elements(&path)
        .into_iter()
        .filter_map(|ds| {
            let name = text(child(ds, "name"))?;
            let conf = child(ds, "definition").and_then(|d| child(d, "configuration"))?;
            let q = child(conf, "validationQuery");
            Some(Source {
                subject: Subject::setting(
                    "master-datasources.xml",
                    format!(
                        "/datasources-configuration/datasources/datasource[name='{name}']/definition/configuration/validationQuery"
                    ),
                ),
                url: text(child(conf, "url")),
                driver: text(child(conf, "driverClassName")),
                ty: None,
                query: text(q),
                query_at: q.and_then(|q| q.text.as_ref()).map(|t| doc.file.location(t.span)),
                file: file.clone(),
                name,
            })
        })
        .collect()
}

fn toml_sources(apim: &ApimModel) -> Vec<Source> {
    let Some(doc) = apim.toml.as_ref() else {
        return Vec::new();
    };
    let mut names = BTreeSet::new();
    for key in doc.entries.keys() {
        let Some(rest) = key.strip_prefix("database.") else {
            continue;
        };
        if rest.contains(".pool_options.") {
            continue;
        }
        for leaf in [".type", ".url", ".driver", ".validationQuery"] {
            if let Some(name) = rest.strip_suffix(leaf) {
                names.insert(name.to_string());
            }
        }
    }
    names
        .into_iter()
        .map(|name| {
            let get = |leaf: &str| -> (Option<String>, Option<Location>) {
                let key = format!("database.{name}.{leaf}");
                if let Some(e) = doc.get(&key) {
                    return (Some(e.value.clone()), Some(doc.file.location(e.value_span)));
                }
                let inferred = apim.effective(&key).and_then(|eff| eff.value);
                (inferred, None)
            };
            let (ty, _) = get("type");
            let (url, _) = get("url");
            let (driver, _) = get("driver");
            let (mut query, query_at) = get("validationQuery");
            if query.is_none() {
                // No infer.json rule resolved it (a home without the product's JSON files):
                // infer as the product does from `type`.
                query = ty
                    .as_deref()
                    .and_then(Engine::from_type)
                    .map(|db| db.fix_text().to_string());
            }
            Source {
                subject: Subject::setting(
                    "deployment.toml",
                    format!("database.{name}.validationQuery"),
                ),
                url,
                driver,
                ty,
                query,
                query_at,
                file: doc.file.display.clone(),
                name,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn databases_are_told_apart() {
        assert_eq!(
            Engine::from_url("jdbc:oracle:thin:@db:1521/x"),
            Some(Engine::Oracle)
        );
        assert_eq!(Engine::from_url("JDBC:DB2://h:50000/x"), Some(Engine::Db2));
        assert_eq!(
            Engine::from_url("jdbc:h2:./repository/database/X"),
            Some(Engine::H2)
        );
        assert_eq!(Engine::from_url("postgres://x"), None);
        assert_eq!(
            Engine::from_driver("oracle.jdbc.OracleDriver"),
            Some(Engine::Oracle)
        );
        assert_eq!(Engine::from_type("postgre"), Some(Engine::Postgres));
        let rejects = |db: Engine, q: &str| db.rejects(&normalise(q)).is_some();
        assert!(!rejects(Engine::Oracle, " select 1\n from dual ;"));
        assert!(!rejects(Engine::Oracle, "select 'x' from dual"));
        assert!(rejects(Engine::Oracle, "SELECT 1"));
        assert!(!rejects(Engine::MySql, "/* ping */ SELECT 1"));
        assert!(rejects(Engine::Postgres, "SELECT 1 FROM DUAL"));
        assert!(!rejects(Engine::Postgres, "SELECT 1; COMMIT"));
        assert!(!rejects(Engine::Db2, "VALUES 1"));
        assert!(rejects(Engine::Db2, "SELECT 1 FROM DUAL"));
        assert!(rejects(Engine::H2, ""));
    }
}
