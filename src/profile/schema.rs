//! Profile files as written: serde types with spans, strict about unknown keys.
//!
//! No interpretation here (that is `resolve.rs`); no `untagged`/`flatten`, so a misspelt key is
//! an error with its line, not a silent no-op.

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use std::collections::BTreeMap;
use std::fmt;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileDoc {
    pub meta: Meta,
    #[serde(default)]
    pub sysctl: BTreeMap<String, Spanned<Entry>>,
    #[serde(default)]
    pub limits: BTreeMap<String, Spanned<LimitEntry>>,
    #[serde(default)]
    pub apim: BTreeMap<String, Spanned<Entry>>,
    #[serde(default)]
    pub jvm: BTreeMap<String, Spanned<Entry>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Meta {
    pub name: String,
    pub summary: String,
    pub extends: Option<Spanned<String>>,
}

/// One recommendation for a sysctl key, an API-M setting or a JVM flag.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Entry {
    pub min: Option<Expr>,
    pub max: Option<Expr>,
    pub eq: Option<Expr>,
    pub one_of: Option<Vec<Expr>>,
    pub absent: Option<bool>,
    /// The setting must be present with a non-empty value.
    pub set: Option<bool>,
    pub severity: Option<String>,
    pub why: Option<String>,
    pub see: Option<String>,
    /// Why the value is the operator's choice: the finding stays, with no automatic fix and
    /// this reason as a note (a business or compliance decision, or a change that could hurt
    /// some backends).
    pub manual_fix: Option<String>,
    pub when: Option<When>,
    /// In a profile that extends another: drop the inherited entry for this key.
    pub disabled: Option<bool>,
}

/// A `limits` item (`nofile`, `nproc`…) with soft and hard minimums.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LimitEntry {
    pub soft: Option<LimitBound>,
    pub hard: Option<LimitBound>,
    pub severity: Option<String>,
    pub why: Option<String>,
    pub see: Option<String>,
    pub when: Option<When>,
    pub disabled: Option<bool>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitBound {
    pub min: Expr,
}

/// Conditions under which an entry applies; all given conditions must hold.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct When {
    pub nat: Option<bool>,
    /// Kernel release range, e.g. `<4.12`.
    pub kernel: Option<String>,
    /// API-M version range, e.g. `>=3.0`.
    pub apim: Option<String>,
    /// JDK feature release range, e.g. `>=17`.
    pub jdk: Option<String>,
    pub role: Option<Vec<String>>,
}

/// A value as written: a number, string, boolean, list of integers, or a value that scales with
/// the host (`{ per-core = 1024, at-least = 4096 }`).
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    Int(i64),
    Float(f64),
    Bool(bool),
    Str(String),
    List(Vec<i64>),
    Scaled(Scaled),
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Scaled {
    pub per_core: Option<f64>,
    pub per_gib: Option<f64>,
    pub at_least: Option<i64>,
    pub at_most: Option<i64>,
}

struct ExprVisitor;

impl<'de> Visitor<'de> for ExprVisitor {
    type Value = Expr;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a number, string, boolean, list of integers, or { per-core/per-gib = … }")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Expr, E> {
        Ok(Expr::Int(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Expr, E> {
        i64::try_from(v)
            .map(Expr::Int)
            .map_err(|_| E::custom("integer too large"))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Expr, E> {
        Ok(Expr::Float(v))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Expr, E> {
        Ok(Expr::Bool(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Expr, E> {
        Ok(Expr::Str(v.to_string()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Expr, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element::<i64>()? {
            out.push(v);
        }
        Ok(Expr::List(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Expr, A::Error> {
        Scaled::deserialize(de::value::MapAccessDeserializer::new(map)).map(Expr::Scaled)
    }
}

impl<'de> Deserialize<'de> for Expr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Expr, D::Error> {
        d.deserialize_any(ExprVisitor)
    }
}
