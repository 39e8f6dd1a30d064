//! APM030 h2-database: the API-M or shared database is the embedded H2 of the distribution.
//!
//! Every stock home ships with H2 (4.x `[database.apim_db]`/`[database.shared_db]` of type
//! `h2`, or default.json's H2 URL when the table is absent; 1.x/2.x `WSO2AM_DB` and
//! `WSO2_CARBON_DB` in master-datasources.xml). WSO2 supports H2 only to try the product out.
//! The node's own H2 databases (`[database.local]`, the message-broker store) are on each node
//! by design and are not judged.

use crate::apim::Layout;
use crate::apim::datasources::{Datasource, Engine, Server};
use crate::diag::{Finding, Severity};
use crate::model::Location;
use crate::rules::{Check, Input, RuleContext};

declare_rule! {
    /// ### What it checks
    /// The API-M database or the shared (user store and registry) database is the embedded H2
    /// that ships with the distribution: on 3.x/4.x `[database.apim_db]` and
    /// `[database.shared_db]` (the product default when the table is absent), on 1.x/2.x the
    /// `WSO2AM_DB`, `WSO2UM_DB`, `WSO2REG_DB`/`WSO2_SHARED_DB` datasources, and `WSO2_CARBON_DB`
    /// when no separate user-store or registry datasource replaces it.
    /// ### Why it matters
    /// WSO2 supports H2 only for trying the product out: it is an embedded, file-based database
    /// in the node's own JVM, and the production checklist asks for a production-grade RDBMS.
    /// On a node of a distributed deployment it is worse: each node keeps its own copy of
    /// subscriptions, applications, policies and users, so the nodes never agree. An
    /// all-in-one node is a warning (unsupported for production), a distributed role an error.
    /// ### Fix
    /// Create the databases on a supported RDBMS with the product's scripts and point
    /// `[database.apim_db]` and `[database.shared_db]` (or the datasources) at it. The right
    /// server is not known here: there is no automatic fix.
    /// ### Sources
    /// - databases
    /// - prod-checklist
    /// - distributed-deployment
    pub(crate) static RULE = "APM030" "h2-database" Warning "the API-M or shared database is the embedded H2",
    inputs: [Input::Apim],
    check: Check::Node(check),
}

/// 4.x names of the databases every node of a deployment must share.
const SHARED_TOML: &[&str] = &["apim_db", "shared_db"];
/// 1.x/2.x datasources that hold shared state (WSO2_CARBON_DB only when none of the user-store
/// or registry ones exists: then it holds users and the governance registry).
const SHARED_XML: &[&str] = &[
    "WSO2AM_DB",
    "WSO2UM_DB",
    "WSO2REG_DB",
    "WSO2_SHARED_DB",
    "WSO2SHARED_DB",
];

/// The datasources that must be shared by every node: the API-M and shared databases.
pub(crate) fn shared_datasources(cx: &RuleContext) -> Vec<Datasource> {
    let Some(apim) = cx.apim else {
        return Vec::new();
    };
    // A gateway never opens the API-M database (WSO2's "databases used by API-M profiles":
    // only the shared database, for tenants and users): its H2 copy there is unused.
    let gateway = cx.role == "gateway";
    let all: Vec<Datasource> = apim
        .datasources()
        .iter()
        .filter(|d| !(gateway && (d.name == "apim_db" || d.name == "WSO2AM_DB")))
        .cloned()
        .collect();
    match apim.home.layout {
        Layout::Toml => all
            .into_iter()
            .filter(|d| SHARED_TOML.contains(&d.name.as_str()))
            .collect(),
        Layout::Xml => {
            let split_out = all
                .iter()
                .any(|d| SHARED_XML[1..].contains(&d.name.as_str()));
            all.into_iter()
                .filter(|d| {
                    SHARED_XML.contains(&d.name.as_str())
                        || (!split_out && d.name == "WSO2_CARBON_DB")
                })
                .collect()
        }
    }
}

/// A role that only exists in a distributed deployment (not all-in-one).
pub(crate) fn distributed_role(role: &str) -> bool {
    role != "all-in-one"
}

pub fn check(cx: &RuleContext, out: &mut Vec<Finding>) {
    let distributed = distributed_role(cx.role);
    for ds in shared_datasources(cx) {
        if ds.engine != Some(Engine::H2) || ds.server != Server::Embedded {
            continue;
        }
        let url = ds.safe_url.clone().unwrap_or_default();
        let mut f = Finding::new(
            RULE.code(),
            ds.url_subject.clone(),
            if distributed {
                format!(
                    "datasource `{}` is the embedded H2 `{url}`: on a {} node it is this node's own copy, not the deployment's database",
                    ds.name, cx.role
                )
            } else {
                format!(
                    "datasource `{}` is the embedded H2 `{url}`, supported only for trying the product out",
                    ds.name
                )
            },
        )
        .at(ds
            .url_at
            .clone()
            .or_else(|| Some(Location::file_only(&ds.file))))
        .current(format!("H2 {url}"))
        .expected(if ds.name == "WSO2_CARBON_DB" {
            // The Carbon database is each node's local registry and stays local: what must move
            // are the users and the governance registry it holds on a stock home.
            "WSO2UM_DB and WSO2REG_DB datasources on a supported RDBMS shared by every node (WSO2_CARBON_DB stays local)"
        } else {
            "a supported RDBMS (MySQL, PostgreSQL, Oracle, SQL Server, DB2) shared by every node"
        })
        .why(if distributed {
            "H2 is embedded in this JVM and stored on this node's disk: every node of the deployment would keep its own subscriptions, applications, policies and users; WSO2 supports H2 only for trials"
        } else {
            "H2 is an embedded, file-based database that WSO2 supports only for trying the product out; the production checklist asks for a production-grade RDBMS"
        })
        .see("databases; prod-checklist; distributed-deployment; https://apim.docs.wso2.com/en/4.2.0/install-and-setup/setup/distributed-deployment/understanding-the-distributed-deployment-of-wso2-api-m/")
        .note("no automatic fix: create the database on the RDBMS with the product's scripts, then set its URL, driver and type");
        if distributed {
            f = f.severity(Severity::Error);
        }
        if ds.url_at.is_none() {
            f = f.note("not set in the file; the product default H2 URL applies");
        }
        out.push(f);
    }
}
