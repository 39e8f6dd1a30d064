//! APM033 db-pools-exceed-server and APM034 pool-wait-unbounded: the node's database pools
//! against the server's connection limit, and a pool that makes requests wait forever.
//!
//! tomcat-jdbc-pool (the pool Carbon datasources use): a pool opens up to `maxActive`
//! connections; a borrow on an exhausted pool waits `maxWait` ms, and a `maxWait` of zero or
//! less waits without limit. Unset, `maxActive` is 100 and `maxWait` 30000; the 4.x product
//! defaults (default.json) are 50 and 60000.

use super::apim_fix;
use crate::apim::datasources::{Datasource, PoolValue, Server};
use crate::diag::{Change, Finding, Severity, Value, ValueKind};
use crate::model::Location;
use crate::rules::{Check, Input, RuleContext};
use std::collections::BTreeMap;

declare_rule! {
    /// ### What it checks
    /// With `--db-max-connections N` (the database server's `max_connections`): the sum of
    /// `maxActive` over this node's datasources on one server is above N.
    /// ### Why it matters
    /// Under load each pool grows to its `maxActive`; once the server refuses connections
    /// (`max_connections` reached), borrows fail or wait `maxWait`, and requests that need the
    /// database fail. Every node of the deployment adds its own pools to the same server: the
    /// deployment's sum (what `fleet` will judge) is larger still.
    /// ### Fix
    /// Lower `maxActive` of the pools (the API-M database needs the most), or raise the
    /// server's `max_connections` to cover every node's pools.
    /// ### Sources
    /// - tomcat-jdbc-pool, maxActive
    /// - databases
    pub(crate) static RULE = "APM033" "db-pools-exceed-server" Warning "this node's pools can open more connections than the database server allows",
    inputs: [Input::Apim],
    check: Check::Node(check),
}

declare_rule! {
    /// ### What it checks
    /// A datasource whose `maxWait` is zero or negative (a borrow waits without limit: a
    /// warning) or longer than 120000 ms (the gateway's default global timeout: info).
    /// ### Why it matters
    /// When the pool is exhausted (a slow database, a leak), each request thread waits for a
    /// connection up to `maxWait`; without a limit the threads hang until the node has none
    /// left, and a wait longer than the callers' timeout only holds threads for requests whose
    /// caller has already given up.
    /// ### Fix
    /// Set `maxWait` to a bounded wait, e.g. the product's 60000 ms.
    /// ### Sources
    /// - tomcat-jdbc-pool, maxWait
    pub(crate) static WAIT = "APM034" "pool-wait-unbounded" Warning "a database pool makes requests wait without limit",
    inputs: [Input::Apim],
    check: Check::Node(check_wait),
}

/// Above this a borrow outlasts the gateway's default `synapse.global_timeout_interval`.
const LONG_WAIT_MS: i64 = 120_000;
/// The product's own `maxWait` (4.x default.json, 2.x master-datasources.xml).
const PRODUCT_WAIT_MS: &str = "60000";

pub fn check(cx: &RuleContext, out: &mut Vec<Finding>) {
    let (Some(apim), Some(limit)) = (cx.apim, cx.db_max_connections) else {
        return;
    };
    // This node's datasources by server (engine, host, port): embedded H2 opens no connection
    // to the server, and a URL this does not read names no server.
    let mut by_server: BTreeMap<String, Vec<Datasource>> = BTreeMap::new();
    for ds in apim.datasources().to_vec() {
        if !matches!(ds.server, Server::Remote { .. }) {
            continue;
        }
        let Some(label) = ds.server_label() else {
            continue;
        };
        // The database name is not part of the server: one server holds several databases.
        let key = label.split('/').next().unwrap_or(&label).to_string();
        by_server.entry(key).or_default().push(ds);
    }
    for (server, pools) in by_server {
        let sum: i64 = pools.iter().filter_map(|d| d.max_active.value).sum();
        if sum <= i64::from(limit) {
            continue;
        }
        let listing = pools
            .iter()
            .map(|d| format!("`{}` {}", d.name, describe(&d.max_active)))
            .collect::<Vec<_>>()
            .join(", ");
        let first = &pools[0];
        let mut f = Finding::new(
            RULE.code(),
            first.max_active.subject.clone(),
            format!(
                "this node's pools on {server} can open {sum} connections ({listing}), above the server's max_connections {limit}"
            ),
        )
        .at(first
            .max_active
            .at
            .clone()
            .or_else(|| first.url_at.clone())
            .or_else(|| Some(Location::file_only(&first.file))))
        .current(format!("{sum} (sum of maxActive)"))
        .expected(format!("at most {limit} (--db-max-connections)"))
        .why("under load each pool grows to its maxActive; once the server refuses new connections, borrows wait maxWait and then fail, and so do the requests that need the database")
        .see("tomcat-jdbc-pool, maxActive; databases")
        .note("every node of the deployment opens its own pools on this server: the deployment's sum is for `fleet`");
        if pools.iter().any(|d| d.max_active.value.is_none()) {
            f = f.note("a maxActive that is not a whole number is left out of the sum");
        }
        out.push(f);
    }
}

fn describe(v: &PoolValue) -> String {
    match v.default_from {
        Some(from) => format!("{} ({from})", v.raw),
        None => v.raw.clone(),
    }
}

pub fn check_wait(cx: &RuleContext, out: &mut Vec<Finding>) {
    let Some(apim) = cx.apim else { return };
    for ds in apim.datasources().to_vec() {
        let wait = &ds.max_wait;
        let Some(ms) = wait.value else { continue };
        let (severity, what) = if ms <= 0 {
            (
                Severity::Warning,
                "waits without limit for a connection when the pool is exhausted".to_string(),
            )
        } else if ms > LONG_WAIT_MS {
            (
                Severity::Info,
                format!(
                    "waits up to {ms} ms for a connection, longer than the gateway's default global timeout of {LONG_WAIT_MS} ms"
                ),
            )
        } else {
            continue;
        };
        let mut f = Finding::new(
            WAIT.code(),
            wait.subject.clone(),
            format!("datasource `{}` (maxWait {}) {what}", ds.name, wait.raw),
        )
        .severity(severity)
        .at(wait
            .at
            .clone()
            .or_else(|| Some(Location::file_only(&ds.file))))
        .current(wait.raw.clone())
        .expected(format!("a bounded wait, e.g. {PRODUCT_WAIT_MS}"))
        .why("a request thread waits up to maxWait for a pooled connection; unbounded (zero or less in tomcat-jdbc-pool), threads hang on a slow or exhausted database until the node has none left")
        .see("tomcat-jdbc-pool, maxWait");
        // A fix needs the value's span and the key it writes; the finding stands without them.
        if let Some(at) = wait.at.clone().filter(|l| l.span.is_some())
            && let crate::diag::Subject::Setting { key, .. } = &wait.subject
        {
            f = f.fix(apim_fix(Change::SetApim {
                file: ds.file.clone(),
                key: key.clone(),
                value: Value {
                    text: PRODUCT_WAIT_MS.into(),
                    kind: ValueKind::Int,
                },
                at: Some(at),
            }));
        }
        out.push(f);
    }
}
