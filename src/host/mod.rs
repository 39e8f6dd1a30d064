//! Facts about the machine and its persisted kernel and limits configuration.
//!
//! Readers only: nothing here judges a value; `rules/` and `audit` do.

pub mod detect;
pub mod limits;
pub mod sysctl;

use crate::version::Version;
use serde::Serialize;

/// Whether clients reach this host through NAT (or the host performs NAT).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Nat {
    Yes,
    No,
    Unknown,
}

impl Nat {
    pub fn as_str(self) -> &'static str {
        match self {
            Nat::Yes => "yes",
            Nat::No => "no",
            Nat::Unknown => "unknown",
        }
    }
}

/// A fact and where it came from (a file under the root, a flag, the live system).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Fact<T> {
    pub value: T,
    pub source: String,
}

impl<T> Fact<T> {
    pub fn new(value: T, source: impl Into<String>) -> Self {
        Fact {
            value,
            source: source.into(),
        }
    }
}

/// The host facts the profiles and rules depend on, detected once after argument parsing.
#[derive(Clone, Debug, Serialize)]
pub struct HostFacts {
    pub cores: Fact<u32>,
    pub memory_mb: Fact<u64>,
    /// `None` when the kernel release could not be read (e.g. a fake root without it).
    pub kernel: Option<Fact<String>>,
    pub nat: Fact<Nat>,
    /// Evidence lines behind the NAT verdict, for the finding that cites it.
    pub nat_signals: Vec<String>,
    /// Feature release of the JDK that runs API-M (8, 11, 17, 21…), when known.
    pub java: Option<Fact<u32>>,
}

impl HostFacts {
    pub fn kernel_version(&self) -> Option<Version> {
        self.kernel
            .as_ref()
            .and_then(|k| Version::parse_prefix(&k.value))
    }

    pub fn memory_gib(&self) -> f64 {
        self.memory_mb.value as f64 / 1024.0
    }
}
