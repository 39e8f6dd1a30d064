//! Keyed fingerprints of secrets and keystores: `hmac-sha256:<hex>` keyed by the fleet salt.
//!
//! The only place of the export that touches a raw secret. A raw value is read here, MACed and
//! dropped: it is never stored, returned or printed. The fingerprint's name goes into the MAC
//! with the value, so two different secrets that happen to be equal (a keystore password reused
//! as the admin password) do not show as equal fingerprints: only the same secret is compared
//! across nodes.

use crate::apim::ApimModel;
use crate::fleet::facts::Fingerprint;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::collections::BTreeMap;

/// A keystore larger than this is not fingerprinted (a JKS is a few KiB).
const MAX_KEYSTORE_BYTES: u64 = 16 << 20;

pub(crate) struct Salt(Vec<u8>);

impl Salt {
    pub(crate) fn new(bytes: &[u8]) -> Salt {
        Salt(bytes.to_vec())
    }

    fn mac(&self, name: &str, value: &[u8]) -> String {
        // HMAC takes a key of any length; `new_from_slice` cannot fail for it.
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.0) else {
            return String::new();
        };
        mac.update(name.as_bytes());
        mac.update(&[0]);
        mac.update(value);
        let bytes = mac.finalize().into_bytes();
        let mut hex = String::with_capacity(12 + bytes.len() * 2);
        hex.push_str("hmac-sha256:");
        for b in bytes.iter() {
            hex.push_str(&format!("{b:02x}"));
        }
        hex
    }
}

/// Every fingerprint of the home (see the module doc of [`crate::fleet::facts`]).
pub(crate) fn fingerprints(m: &ApimModel, salt: &Salt) -> BTreeMap<String, Fingerprint> {
    let mut out = BTreeMap::new();
    let mut put = |name: &str, value: &[u8], source: String| {
        let hmac = salt.mac(name, value);
        if !hmac.is_empty() {
            out.insert(name.to_string(), Fingerprint { hmac, source });
        }
    };
    if let Some(doc) = m.toml.as_ref() {
        // A written value, quotes removed: the text the product reads (a `$secret{…}` alias
        // stays an alias; equal aliases on two nodes still say the same configuration).
        let raw = |key: &str| {
            doc.get(key).map(|e| {
                let text = doc.file.slice(e.value_span).trim();
                let text = text
                    .strip_prefix(['"', '\''])
                    .and_then(|t| t.strip_suffix(['"', '\'']))
                    .unwrap_or(text);
                (
                    text.to_string(),
                    doc.file.location(e.value_span).to_string(),
                )
            })
        };
        for (store, default_file) in [("primary", "wso2carbon.jks"), ("tls", "wso2carbon.jks")] {
            let written = raw(&format!("keystore.{store}.file_name"));
            let file = written
                .as_ref()
                .map_or(default_file.to_string(), |(v, _)| v.clone());
            keystore_file(m, &format!("keystore.{store}"), &file, &mut put);
            for part in ["password", "key_password"] {
                if let Some((v, at)) = raw(&format!("keystore.{store}.{part}")) {
                    put(&format!("keystore.{store}.{part}"), v.as_bytes(), at);
                }
            }
        }
        if let Some((v, at)) = raw("encryption.key") {
            put("encryption.key", v.as_bytes(), at);
        }
        if let Some((v, at)) = raw("super_admin.password") {
            put("super_admin.password", v.as_bytes(), at);
        }
        // The JWT settings the gateways and the key manager must agree on.
        for e in doc.entries.values() {
            let name = if let Some(rest) = e.key.strip_prefix("apim.jwt.") {
                format!("jwt.{rest}")
            } else if let Some(rest) = e.key.strip_prefix("apim.key_manager.")
                && (rest.contains("jwt") || rest.contains("token") || rest.contains("claim"))
            {
                format!("key_manager.{rest}")
            } else {
                continue;
            };
            if let Some((v, at)) = raw(&e.key) {
                put(&name, v.as_bytes(), at);
            }
        }
    } else if let Some(carbon) = m.xml_doc("carbon.xml") {
        // 1.x/2.x: carbon.xml names the primary keystore and its password.
        let hit = |xpath: &str| {
            let path = crate::apim::xml::XPath::parse(xpath).ok()?;
            let h = carbon.query(&path).pop()?;
            let span = h.span?;
            Some((
                carbon.file.slice(span).trim().to_string(),
                carbon.file.location(span).to_string(),
            ))
        };
        let file = hit("/Server/Security/KeyStore/Location")
            .map(|(v, _)| v)
            .unwrap_or_else(|| "wso2carbon.jks".to_string());
        let file = file
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or("wso2carbon.jks")
            .to_string();
        keystore_file(m, "keystore.primary", &file, &mut put);
        if let Some((v, at)) = hit("/Server/Security/KeyStore/Password") {
            put("keystore.primary.password", v.as_bytes(), at);
        }
        if let Some(um) = &m.user_mgt
            && let Ok(path) = crate::apim::xml::XPath::parse(
                "/UserManager/Realm/Configuration/AdminUser/Password",
            )
            && let Some(h) = um.query(&path).pop()
            && let Some(span) = h.span
        {
            put(
                "super_admin.password",
                um.file.slice(span).trim().as_bytes(),
                um.file.location(span).to_string(),
            );
        }
    }
    out
}

/// The keystore file's bytes under `repository/resources/security`, read under the root.
fn keystore_file(m: &ApimModel, name: &str, file: &str, put: &mut impl FnMut(&str, &[u8], String)) {
    // A file name with a path in it stays inside the security folder: only its last part counts.
    let base = file.rsplit(['/', '\\']).next().unwrap_or(file);
    if base.is_empty() || base == ".." || base == "." {
        return;
    }
    let rel = format!("repository/resources/security/{base}");
    let display = m.display(&rel);
    let full = m.home.path.join(&rel);
    // Inside `--root`, links resolve inside it like every host file; a home outside is read as is.
    let path = match full.strip_prefix(&m.root) {
        Ok(inside) if m.root != std::path::Path::new("/") => {
            match crate::source::resolve_in_root(&m.root, inside) {
                Ok(p) => p,
                Err(_) => return,
            }
        }
        _ => full,
    };
    if let Ok(bytes) = crate::source::read_bytes_at_most(&path, MAX_KEYSTORE_BYTES) {
        put(name, &bytes, display);
    }
}
