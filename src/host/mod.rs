//! Facts about the machine and its persisted kernel and limits configuration.
//!
//! Readers only: nothing here judges a value; `rules/` and `audit` do.

pub mod cgroup;
pub mod cloud;
pub mod container;
pub mod detect;
pub mod env_file;
pub mod in_effect;
pub mod limits;
pub mod namespaced;
pub mod nat;
pub mod os_release;
pub mod process;
pub mod specifiers;
pub mod sysctl;
pub mod systemd;
#[cfg(test)]
pub(crate) mod testkit;
pub mod thp;

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

/// The two NAT questions answered together: is the host behind NAT (clients or its own address
/// translated), does it perform NAT (a container host or router), neither, or unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NatVerdict {
    BehindNat,
    PerformsNat,
    None,
    Unknown,
}

impl NatVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            NatVerdict::BehindNat => "behind-nat",
            NatVerdict::PerformsNat => "performs-nat",
            NatVerdict::None => "none",
            NatVerdict::Unknown => "unknown",
        }
    }
}

/// One piece of NAT evidence: what was looked at and what it showed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NatSignal {
    /// Short stable name: `private-address`, `cgnat-address`, `cloud-vm`, `ip-forward`,
    /// `bridge`, `conntrack`, `nat-module`, `nat-rules`, `flag`.
    pub name: String,
    pub detail: String,
}

/// `etc/os-release`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Distro {
    pub id: String,
    pub version_id: Option<String>,
    pub pretty_name: Option<String>,
    pub source: String,
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
    /// `jdk.xml.entityExpansionLimit` in that JDK's `conf/jaxp.properties`, when its home is known
    /// and the file sets it (JDK 24 and later ship one); the source is `file:line`.
    pub jaxp_entity_limit: Option<Fact<String>>,
    pub distro: Option<Distro>,
    /// `aws`, `gcp`, `azure`, `oci`, `alibaba`… from DMI / the hypervisor UUID.
    pub cloud: Option<Fact<String>>,
    /// `docker`, `podman`, `kubernetes`, `lxc`, `container` when running inside one.
    pub container: Option<Fact<String>>,
    /// Whether `/proc/sys` is mounted read-only (containers): sysctls cannot be set from inside.
    pub proc_sys_read_only: Option<bool>,
    pub nat_verdict: NatVerdict,
    pub nat_evidence: Vec<NatSignal>,
}

impl HostFacts {
    /// Whether kernel parameters belong to a container runtime here: `/proc/sys` is read-only,
    /// or a container was detected and `/proc/sys` is not known to be writable. A leftover
    /// `/.dockerenv` on a VM with a writable `/proc/sys` does not count.
    pub fn runtime_owns_sysctls(&self) -> bool {
        match self.proc_sys_read_only {
            Some(ro) => ro,
            None => self.container.is_some(),
        }
    }

    pub fn kernel_version(&self) -> Option<Version> {
        self.kernel
            .as_ref()
            .and_then(|k| Version::parse_prefix(&k.value))
    }

    pub fn memory_gib(&self) -> f64 {
        self.memory_mb.value as f64 / 1024.0
    }
}
