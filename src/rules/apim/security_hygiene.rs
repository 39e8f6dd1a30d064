//! APM043-APM046 security hygiene, at info: the shipped super admin credentials, the shipped
//! keystore and truststore password, CORS open to every origin, TLS 1.0/1.1 offered.
//!
//! No message, value or note ever contains a password, not even the shipped one: the rules ask
//! [`crate::apim::ApimModel::toml_value_is`] (yes or no) and say "the default password".

use crate::apim::Layout;
use crate::apim::mapper::Origin;
use crate::apim::xml::XPath;
use crate::diag::{Finding, Subject};
use crate::model::Location;
use crate::rules::{Check, Input, RuleContext};

declare_rule! {
    /// ### What it checks
    /// The super admin left as shipped: `[super_admin]` with the username `admin` and the
    /// default password in deployment.toml (3.x/4.x), or user-mgt.xml
    /// `Realm/Configuration/AdminUser` (1.x/2.x).
    /// ### Why it matters
    /// The shipped credentials are public; whoever reaches the management console, the
    /// publisher or the admin REST APIs can sign in as the super admin.
    /// ### Fix
    /// Change the admin password (in the user store, and in deployment.toml or through the
    /// secure vault), or use another admin user.
    /// ### Sources
    /// - security-guidelines, change the default admin password
    /// - prod-checklist
    pub(crate) static ADMIN = "APM043" "default-admin-credentials" Info "the super admin keeps the shipped username and password",
    inputs: [Input::Apim],
    check: Check::Node(check_admin),
}

declare_rule! {
    /// ### What it checks
    /// A keystore or truststore with the shipped password: `[keystore.primary]`,
    /// `[keystore.tls]`, `[keystore.internal]` and `[truststore]` in deployment.toml (a store
    /// not written there takes the default from default.json), or carbon.xml
    /// `Security/KeyStore/Password` and `Security/TrustStore/Password` (1.x/2.x).
    /// ### Why it matters
    /// The shipped stores and their password are public: a store still opened with that
    /// password is most likely the shipped key pair, whose private key everyone has.
    /// ### Fix
    /// Create the node's own keystore and truststore with their own passwords, and give the
    /// passwords through the secure vault.
    /// ### Sources
    /// - security-guidelines, change the default keystores
    /// - prod-checklist
    pub(crate) static KEYSTORE = "APM044" "default-keystore-password" Info "a keystore or truststore uses the shipped password",
    inputs: [Input::Apim],
    check: Check::Node(check_keystores),
}

declare_rule! {
    /// ### What it checks
    /// The gateway's CORS allows every origin: `[apim.cors] allow_origins` containing `*`
    /// (3.x/4.x, the shipped value), or api-manager.xml `CORSConfiguration/
    /// Access-Control-Allow-Origin` `*` (1.x/2.x), with CORS enabled, on a gateway or all-in-one.
    /// ### Why it matters
    /// Any web page may then call the APIs from a browser with the user's token when it has
    /// one. Often intended for public APIs, which is why this is information; per-API CORS
    /// settings override the global one.
    /// ### Fix
    /// List the origins that really call the APIs.
    /// ### Sources
    /// - security-guidelines
    /// - https://apim.docs.wso2.com/en/latest/design/advanced-topics/enabling-cors-for-apis/
    pub(crate) static CORS = "APM045" "cors-allows-any-origin" Info "the gateway's CORS allows every origin",
    inputs: [Input::Apim],
    check: Check::Node(check_cors),
}

declare_rule! {
    /// ### What it checks
    /// TLS 1.0 or 1.1 in the protocols an HTTPS listener offers: the pass-through listener's
    /// `HttpsProtocols` (3.x/4.x `[transport.passthru_https.listener.parameters]`, shipped as
    /// `TLSv1,TLSv1.1,TLSv1.2`; 1.x/2.x axis2.xml), and the management port's Tomcat connector
    /// (`[transport.https.sslHostConfig.properties] protocols`; 1.x/2.x catalina-server.xml
    /// `sslEnabledProtocols`). Not reported when the JDK in effect is 16 or later, which never
    /// negotiates them.
    /// ### Why it matters
    /// Both versions are deprecated (RFC 8996). JDKs since 8u291, 11.0.11 and 17 disable them in
    /// `jdk.tls.disabledAlgorithms`, so on those the line has no effect unless java.security was
    /// changed; on an older JDK, or with that list edited, clients can negotiate them.
    /// ### Fix
    /// List only `TLSv1.2` (and `TLSv1.3` where the JDK has it).
    /// ### Sources
    /// - security-guidelines
    /// - https://www.rfc-editor.org/rfc/rfc8996
    /// - https://bugs.openjdk.org/browse/JDK-8202343
    pub(crate) static TLS = "APM046" "legacy-tls-protocols" Info "an HTTPS listener offers TLS 1.0 or 1.1",
    inputs: [Input::Apim],
    check: Check::Node(check_tls),
}

/// The shipped keystore and truststore password; only ever compared, never printed.
const SHIPPED_STORE_PASSWORD: &str = concat!("wso2", "carbon");
/// The shipped super admin username and password; only ever compared, never printed.
const SHIPPED_ADMIN: &str = "admin";

const GATEWAY_ROLES: &[&str] = &["all-in-one", "gateway"];

pub fn check_admin(cx: &RuleContext, out: &mut Vec<Finding>) {
    let Some(apim) = cx.apim else { return };
    let (file, key, at) = match apim.home.layout {
        Layout::Toml => {
            let (Some((true, _)), Some((true, at))) = (
                apim.toml_value_is("super_admin.username", SHIPPED_ADMIN),
                apim.toml_value_is("super_admin.password", SHIPPED_ADMIN),
            ) else {
                return;
            };
            ("deployment.toml", "super_admin.password", Some(at))
        }
        Layout::Xml => {
            // 1.x/2.x: user-mgt.xml `Realm/Configuration/AdminUser`, as carbon-kernel ships it.
            let Some(doc) = apim.user_mgt.as_ref() else {
                return;
            };
            let first = |p: &str| {
                XPath::parse(p)
                    .ok()
                    .and_then(|x| doc.query(&x).into_iter().next())
            };
            const PASSWORD: &str = "/UserManager/Realm/Configuration/AdminUser/Password";
            let (Some(user), Some(password)) = (
                first("/UserManager/Realm/Configuration/AdminUser/UserName"),
                first(PASSWORD),
            ) else {
                return;
            };
            if user.value.trim() != SHIPPED_ADMIN || password.value.trim() != SHIPPED_ADMIN {
                return;
            }
            (
                "user-mgt.xml",
                PASSWORD,
                password.span.map(|s| doc.file.location(s)),
            )
        }
    };
    out.push(
        Finding::new(
            ADMIN.code(),
            Subject::setting(file, key),
            "the super admin is `admin` with the default password",
        )
        .at(at)
        .current("the default password")
        .expected("a password of your own")
        .why("the shipped credentials are public: whoever reaches the console or the admin APIs can sign in as the super admin")
        .see("security-guidelines, default admin password; prod-checklist"),
    );
}

pub fn check_keystores(cx: &RuleContext, out: &mut Vec<Finding>) {
    let Some(apim) = cx.apim else { return };
    let mut stores: Vec<(String, Option<Location>)> = Vec::new();
    let file;
    match apim.home.layout {
        Layout::Toml => {
            file = "deployment.toml";
            for store in [
                "keystore.primary",
                "keystore.tls",
                "keystore.internal",
                "truststore",
            ] {
                let key = format!("{store}.password");
                match apim.toml_value_is(&key, SHIPPED_STORE_PASSWORD) {
                    Some((true, at)) => stores.push((format!("[{store}]"), Some(at))),
                    Some((false, _)) => {}
                    // Not written: the product default applies, which for the primary keystore
                    // and the truststore is the shipped store with the shipped password (the
                    // default.json of every 3.x/4.x release; the value itself is redacted on
                    // reading). `tls` and `internal` default to `$ref{keystore.primary.*}`, so
                    // they are counted with the primary.
                    None => {
                        if matches!(store, "keystore.primary" | "truststore")
                            && apim.has_default(&key)
                        {
                            stores.push((
                                format!("[{store}] (not set: the shipped store applies)"),
                                None,
                            ));
                        }
                    }
                }
            }
        }
        Layout::Xml => {
            file = "carbon.xml";
            let Some(doc) = apim.xml_doc("carbon.xml") else {
                return;
            };
            for path in [
                "/Server/Security/KeyStore/Password",
                "/Server/Security/TrustStore/Password",
            ] {
                let Ok(xpath) = XPath::parse(path) else {
                    continue;
                };
                for hit in doc.query(&xpath) {
                    if hit.value.trim() == SHIPPED_STORE_PASSWORD {
                        stores.push((
                            path.trim_start_matches("/Server/").to_string(),
                            hit.span.map(|s| doc.file.location(s)),
                        ));
                    }
                }
            }
        }
    }
    // The subject is the first store written with the default password (where a person
    // edits), else the first that takes it by default.
    let Some((first, _)) = stores
        .iter()
        .find(|(_, at)| at.is_some())
        .or_else(|| stores.first())
    else {
        return;
    };
    let at = stores.iter().find_map(|(_, at)| at.clone()).or_else(|| {
        Some(Location::file_only(&apim.display(
            crate::apim::catalog::file_path(file).unwrap_or(file),
        )))
    });
    let names: Vec<&str> = stores.iter().map(|(n, _)| n.as_str()).collect();
    let key = first
        .trim_start_matches('[')
        .split([']', ' '])
        .next()
        .unwrap_or(first)
        .to_string();
    let key = match apim.home.layout {
        Layout::Toml => format!("{key}.password"),
        Layout::Xml => format!("/Server/{key}"),
    };
    out.push(
        Finding::new(
            KEYSTORE.code(),
            Subject::setting(file, key),
            format!("the default password opens {}", names.join(", ")),
        )
        .at(at)
        .current("the default password")
        .expected("stores of the node's own, with their own passwords")
        .why("the shipped stores and their password are public: a store opened with it is most likely the shipped key pair, whose private key everyone has")
        .see("security-guidelines, keystores; prod-checklist"),
    );
}

/// Whether a comma- or array-written origin list allows every origin.
fn allows_any(value: &str) -> bool {
    value
        .split([',', '[', ']', '"', '\'', ' '])
        .any(|o| o.trim() == "*")
}

pub fn check_cors(cx: &RuleContext, out: &mut Vec<Finding>) {
    let Some(apim) = cx.apim else { return };
    if !GATEWAY_ROLES.contains(&cx.role) {
        return;
    }
    let why = "any web page may call the APIs from a browser with the user's token; often intended for public APIs, so weigh it";
    match apim.home.layout {
        Layout::Toml => {
            let (Some(enabled), Some(origins)) = (
                apim.effective("apim.cors.enable"),
                apim.effective("apim.cors.allow_origins"),
            ) else {
                return;
            };
            if enabled.value.as_deref() == Some("false")
                || !origins.value.as_deref().is_some_and(allows_any)
            {
                return;
            }
            let (key, at) = match &origins.origin {
                Origin::Toml {
                    user_key,
                    value_span,
                    ..
                } => (
                    user_key.clone(),
                    apim.toml.as_ref().map(|d| d.file.location(*value_span)),
                ),
                _ => (
                    "apim.cors.allow_origins".to_string(),
                    Some(Location::file_only(
                        &apim.display("repository/conf/deployment.toml"),
                    )),
                ),
            };
            out.push(
                Finding::new(
                    CORS.code(),
                    Subject::setting("deployment.toml", key),
                    "CORS allows every origin (`*`)",
                )
                .at(at)
                .current("*")
                .expected("the origins that call the APIs")
                .why(why)
                .see("security-guidelines; https://apim.docs.wso2.com/en/latest/design/advanced-topics/enabling-cors-for-apis/"),
            );
        }
        Layout::Xml => {
            let Some(doc) = apim.xml_doc("api-manager.xml") else {
                return;
            };
            let query = |p: &str| XPath::parse(p).ok().map(|x| doc.query(&x));
            let enabled = query("/APIManager/CORSConfiguration/Enabled")
                .and_then(|h| h.into_iter().next())
                .is_some_and(|h| h.value.trim() == "true");
            let path = "/APIManager/CORSConfiguration/Access-Control-Allow-Origin";
            let Some(hit) = query(path).and_then(|h| h.into_iter().next()) else {
                return;
            };
            if !enabled || !allows_any(&hit.value) {
                return;
            }
            out.push(
                Finding::new(
                    CORS.code(),
                    Subject::setting("api-manager.xml", path),
                    "CORS allows every origin (`*`)",
                )
                .at(hit.span.map(|s| doc.file.location(s)))
                .current("*")
                .expected("the origins that call the APIs")
                .why(why)
                .see("security-guidelines"),
            );
        }
    }
}

/// The legacy versions a protocol list offers (`TLSv1`, `TLSv1.1`; Tomcat's `+TLSv1` too, not
/// its `-TLSv1`, which removes one).
fn legacy_protocols(list: &str) -> Vec<&str> {
    list.split([',', ' ', '[', ']', '"', '\''])
        .map(str::trim)
        .filter(|p| !p.starts_with('-'))
        .map(|p| p.trim_start_matches('+'))
        .filter(|p| matches!(*p, "TLSv1" | "TLSv1.1" | "SSLv3"))
        .collect()
}

pub fn check_tls(cx: &RuleContext, out: &mut Vec<Finding>) {
    let Some(apim) = cx.apim else { return };
    // JDK 16 and later ship TLS 1.0/1.1 in `jdk.tls.disabledAlgorithms`: on them the listed
    // protocols are never negotiated, and the line is noise. Unknown JDK: reported.
    if cx.facts.java.as_ref().is_some_and(|j| j.value >= 16) {
        return;
    }
    let why = "TLS 1.0 and 1.1 are deprecated (RFC 8996); current JDKs disable them in java.security, so the line only matters on an older JDK or an edited java.security";
    let mut push = |subject: Subject, what: &str, legacy: String, at: Option<Location>| {
        out.push(
            Finding::new(TLS.code(), subject, format!("{what} offers {legacy}"))
            .at(at)
            .current(legacy)
            .expected("TLSv1.2 (and TLSv1.3) only")
            .why(why)
            .see("security-guidelines; https://www.rfc-editor.org/rfc/rfc8996; https://bugs.openjdk.org/browse/JDK-8202343"),
        );
    };
    match apim.home.layout {
        Layout::Toml => {
            for (key, what) in [
                (
                    "transport.passthru_https.listener.parameters.HttpsProtocols",
                    "the pass-through HTTPS listener (API traffic)",
                ),
                (
                    "transport.https.sslHostConfig.properties.protocols",
                    "the management HTTPS connector (Tomcat)",
                ),
            ] {
                let Some(eff) = apim.effective(key) else {
                    continue;
                };
                let Some(value) = eff.value.as_deref() else {
                    continue;
                };
                let legacy = legacy_protocols(value);
                if legacy.is_empty() {
                    continue;
                }
                let (user_key, at) = match &eff.origin {
                    Origin::Toml {
                        user_key,
                        value_span,
                        ..
                    } => (
                        user_key.clone(),
                        apim.toml.as_ref().map(|d| d.file.location(*value_span)),
                    ),
                    _ => (
                        key.to_string(),
                        Some(Location::file_only(
                            &apim.display("repository/conf/deployment.toml"),
                        )),
                    ),
                };
                push(
                    Subject::setting("deployment.toml", user_key),
                    what,
                    legacy.join(", "),
                    at,
                );
            }
        }
        Layout::Xml => {
            let places = [
                (
                    "axis2.xml",
                    "/axisconfig/transportReceiver[@name='https']/parameter[@name='HttpsProtocols']",
                    "the pass-through HTTPS listener (API traffic)",
                ),
                (
                    "catalina-server.xml",
                    "/Server/Service/Connector/@sslEnabledProtocols",
                    "the management HTTPS connector (Tomcat)",
                ),
            ];
            for (file, path, what) in places {
                let (Some(doc), Ok(xpath)) = (apim.xml_doc(file), XPath::parse(path)) else {
                    continue;
                };
                if let Some(hit) = doc
                    .query(&xpath)
                    .into_iter()
                    .find(|h| !legacy_protocols(&h.value).is_empty())
                {
                    push(
                        Subject::setting(file, path),
                        what,
                        legacy_protocols(&hit.value).join(", "),
                        hit.span.map(|s| doc.file.location(s)),
                    );
                }
            }
        }
    }
}
