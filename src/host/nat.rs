//! NAT evidence: whether clients reach this host through NAT, or it performs NAT, from files
//! under the root (interface addresses, forwarding, bridges, the NAT module and table, a cloud
//! VM's 1:1 NAT).
//!
//! Owns: the evidence and the verdict it supports, with the files that decided it. Must not:
//! probe the network or run `iptables`/`nft`, or know about `--nat` (the caller, `detect`,
//! lets the flag win). Every piece of evidence is kept as a signal, for and against, so the
//! finding that cites it can show why.

use super::cloud::{DMI, HYPERVISOR_UUID, cloud};
use super::{Fact, NatSignal, NatVerdict};
use crate::source::{Read, exists_under, list_dir, read_text, read_under};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;

pub(crate) const FIB_TRIE: &str = "proc/net/fib_trie";
pub(crate) const IF_INET6: &str = "proc/net/if_inet6";
pub(crate) const IP_FORWARD: &str = "proc/sys/net/ipv4/ip_forward";
pub(crate) const CLASS_NET: &str = "sys/class/net";
const CONNTRACK_COUNT: &str = "proc/sys/net/netfilter/nf_conntrack_count";
const NF_NAT_MODULE: &str = "sys/module/nf_nat";
const IP_TABLES_NAMES: &str = "proc/net/ip_tables_names";

/// How a piece of evidence counts towards the verdict.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    /// An address that is translated on its way out (private, CGNAT, ULA, a cloud VM).
    Behind,
    /// A globally reachable address on an interface: evidence against being behind NAT.
    Public,
    /// `ip_forward=1`.
    Forwarding,
    /// What forwarding needs to be NAT: a container bridge, the NAT module or table.
    Enabler,
    /// Context only.
    Neutral,
}

struct Evidence {
    signal: NatSignal,
    source: &'static str,
    role: Role,
}

impl Evidence {
    fn new(name: &str, detail: String, source: &'static str, role: Role) -> Self {
        Evidence {
            signal: NatSignal {
                name: name.to_string(),
                detail,
            },
            source,
            role,
        }
    }
}

/// Answers both NAT questions (is the host behind NAT, does it perform NAT) from files under
/// the root, with the verdict's source (the files of the evidence that decided it) and every
/// piece of evidence.
pub(crate) fn from_files(root: &Path) -> (Fact<NatVerdict>, Vec<NatSignal>) {
    let mut ev = Vec::new();
    let public_v4 = address_evidence(root, &mut ev);
    cloud_evidence(root, public_v4, &mut ev);
    performs_evidence(root, &mut ev);

    let has = |role| ev.iter().any(|e| e.role == role);
    // A globally reachable address on an interface means clients reach this host directly,
    // whatever private addresses (backends, bridges) sit beside it.
    let verdict = if has(Role::Forwarding) && has(Role::Enabler) {
        NatVerdict::PerformsNat
    } else if has(Role::Public) {
        NatVerdict::None
    } else if has(Role::Behind) {
        NatVerdict::BehindNat
    } else {
        NatVerdict::Unknown
    };
    // The source is the files that decided the verdict; for `unknown`, the address files that
    // were looked at and said nothing either way.
    let decided = |e: &Evidence| match verdict {
        NatVerdict::PerformsNat => matches!(e.role, Role::Forwarding | Role::Enabler),
        NatVerdict::BehindNat => e.role == Role::Behind,
        NatVerdict::None => e.role == Role::Public,
        NatVerdict::Unknown => e.source == FIB_TRIE || e.source == IF_INET6,
    };
    let mut sources: Vec<&str> = Vec::new();
    for e in ev.iter().filter(|e| decided(e)) {
        if !sources.contains(&e.source) {
            sources.push(e.source);
        }
    }
    let source = sources.join(", ");
    let signals = ev.into_iter().map(|e| e.signal).collect();
    (Fact::new(verdict, source), signals)
}

/// Interface addresses (IPv4 from `fib_trie`, IPv6 from `if_inet6`). Returns whether a
/// globally reachable IPv4 address sits on an interface.
fn address_evidence(root: &Path, ev: &mut Vec<Evidence>) -> bool {
    let mut public_v4 = false;
    let mut fib_note = None;
    match read_under(root, FIB_TRIE) {
        Read::File(f) => {
            let addrs = local_addresses(&f.text);
            if addrs.is_empty() {
                fib_note = Some(format!("no non-loopback interface address in {FIB_TRIE}"));
            }
            for a in addrs {
                let (name, detail, role) = match classify_v4(a) {
                    V4::Private => (
                        "private-address",
                        format!("interface address {a} is private (RFC 1918)"),
                        Role::Behind,
                    ),
                    V4::Cgnat => (
                        "cgnat-address",
                        format!(
                            "interface address {a} is in the shared address space (RFC 6598, carrier-grade NAT)"
                        ),
                        Role::Behind,
                    ),
                    V4::LinkLocal => (
                        "link-local-address",
                        format!("interface address {a} is link-local (169.254/16)"),
                        Role::Neutral,
                    ),
                    // Neither private nor public: it says nothing about NAT either way.
                    V4::Special(what) => (
                        "special-address",
                        format!(
                            "interface address {a} is special-purpose ({what}), not globally reachable"
                        ),
                        Role::Neutral,
                    ),
                    V4::Public => {
                        public_v4 = true;
                        (
                            "public-address",
                            format!("interface address {a} is globally reachable"),
                            Role::Public,
                        )
                    }
                };
                ev.push(Evidence::new(name, detail, FIB_TRIE, role));
            }
        }
        Read::Problem(p) => fib_note = Some(format!("{FIB_TRIE} is unreadable: {}", p.message)),
        Read::Absent => {}
    }

    let v6 = read_text(root, IF_INET6);
    if let Some(text) = &v6 {
        for a in inet6_addresses(text) {
            let (name, detail, role) = match classify_v6(a) {
                V6::Ula => (
                    "ula-address",
                    format!("interface address {a} is a unique local address (fc00::/7)"),
                    Role::Behind,
                ),
                V6::Special(what) => (
                    "special-address",
                    format!(
                        "interface address {a} is special-purpose ({what}), not globally reachable"
                    ),
                    Role::Neutral,
                ),
                V6::Public => (
                    "public-address",
                    format!("interface address {a} is globally reachable"),
                    Role::Public,
                ),
                V6::Ignored => continue,
            };
            ev.push(Evidence::new(name, detail, IF_INET6, role));
        }
    }

    if !ev
        .iter()
        .any(|e| e.source == FIB_TRIE || e.source == IF_INET6)
    {
        let detail = match (fib_note, v6.is_some()) {
            (Some(note), _) => note,
            (None, true) => format!("{FIB_TRIE} absent and no address of interest in {IF_INET6}"),
            (None, false) => {
                format!("no interface addresses readable under the root ({FIB_TRIE}, {IF_INET6})")
            }
        };
        ev.push(Evidence::new("no-address", detail, FIB_TRIE, Role::Neutral));
    }
    public_v4
}

/// A cloud VM's public IPv4 is 1:1 NATed onto its private address, unless the public address
/// is on the interface itself (some providers' classic networks), which the addresses show.
fn cloud_evidence(root: &Path, public_v4: bool, ev: &mut Vec<Evidence>) {
    let Some(cloud) = cloud(root) else {
        return;
    };
    let (detail, role) = if public_v4 {
        (
            format!(
                "{} VM ({}), but a public IPv4 address is on an interface: not 1:1 NATed",
                cloud.value, cloud.source
            ),
            Role::Neutral,
        )
    } else {
        (
            format!(
                "{} VM ({}): public IPv4 is 1:1 NATed onto the private address",
                cloud.value, cloud.source
            ),
            Role::Behind,
        )
    };
    let source = if cloud.source.starts_with(HYPERVISOR_UUID) {
        HYPERVISOR_UUID
    } else {
        DMI
    };
    ev.push(Evidence::new("cloud-vm", detail, source, role));
}

/// Whether the host performs NAT: forwarding plus a container bridge, the NAT module or a NAT
/// table. Connection tracking alone is a capability, not proof.
fn performs_evidence(root: &Path, ev: &mut Vec<Evidence>) {
    if let Some(v) = read_text(root, IP_FORWARD) {
        let v = v.trim();
        let (detail, role) = if v == "1" {
            (
                "ip_forward=1: this host routes packets".to_string(),
                Role::Forwarding,
            )
        } else {
            (
                format!("ip_forward={v}: this host does not route packets"),
                Role::Neutral,
            )
        };
        ev.push(Evidence::new("ip-forward", detail, IP_FORWARD, role));
    }

    let bridges: Vec<String> = list_dir(root, CLASS_NET, "")
        .into_iter()
        .filter(|n| is_nat_bridge(n))
        .collect();
    if !bridges.is_empty() {
        ev.push(Evidence::new(
            "bridge",
            format!("container/CNI interfaces: {}", bridges.join(", ")),
            CLASS_NET,
            Role::Enabler,
        ));
    }

    if let Some(n) = read_text(root, CONNTRACK_COUNT) {
        ev.push(Evidence::new(
            "conntrack",
            format!(
                "connection tracking is loaded ({} tracked): able to NAT, not proof",
                n.trim()
            ),
            CONNTRACK_COUNT,
            Role::Neutral,
        ));
    }

    if exists_under(root, NF_NAT_MODULE) {
        ev.push(Evidence::new(
            "nat-module",
            "the nf_nat module is loaded".to_string(),
            NF_NAT_MODULE,
            Role::Enabler,
        ));
    }

    // 0440 root: readable only as root or in a captured root. The rules themselves need
    // `iptables-save`/`nft`, which this never runs.
    let rules = match read_text(root, IP_TABLES_NAMES) {
        Some(t) if t.lines().any(|l| l.trim() == "nat") => Evidence::new(
            "nat-rules",
            format!("nat table present ({IP_TABLES_NAMES})"),
            IP_TABLES_NAMES,
            Role::Enabler,
        ),
        Some(_) => Evidence::new(
            "nat-rules",
            format!("no iptables nat table in {IP_TABLES_NAMES}; nft rules not checked"),
            IP_TABLES_NAMES,
            Role::Neutral,
        ),
        None => Evidence::new(
            "nat-rules",
            "not readable without root: iptables/nft rules not checked".to_string(),
            IP_TABLES_NAMES,
            Role::Neutral,
        ),
    };
    ev.push(rules);
}

/// Interfaces that container runtimes, Kubernetes CNIs and libvirt create; their traffic leaves
/// through a masquerade rule by default.
fn is_nat_bridge(name: &str) -> bool {
    matches!(name, "docker0" | "cni0" | "kube-ipvs0")
        || [
            "br-",
            "flannel.",
            "cali",
            "veth",
            "virbr",
            "podman",
            "cni-podman",
        ]
        .iter()
        .any(|p| name.starts_with(p))
}

/// The host's own addresses, as the fleet export lists them: the IPv4 `LOCAL` entries of
/// `proc/net/fib_trie` and the IPv6 addresses of `proc/net/if_inet6`, loopback and IPv6
/// link-local left out (no other node reaches this one by them). Empty when neither is readable.
pub fn own_addresses(root: &Path) -> Vec<String> {
    let mut out: Vec<String> = match read_under(root, FIB_TRIE) {
        Read::File(f) => local_addresses(&f.text)
            .into_iter()
            .map(|a| a.to_string())
            .collect(),
        _ => Vec::new(),
    };
    if let Read::File(f) = read_under(root, IF_INET6) {
        out.extend(
            inet6_addresses(&f.text)
                .into_iter()
                // fe80::/10 is link-local: the same on every host's interface, not an identity.
                .filter(|a| !a.is_loopback() && (a.segments()[0] & 0xffc0) != 0xfe80)
                .map(|a| a.to_string()),
        );
    }
    out
}

/// Local IPv4 host addresses in a `/proc/net/fib_trie` text (a `/32 host LOCAL` entry under an
/// address line), loopback excluded, each once, in the order seen.
fn local_addresses(fib_trie: &str) -> Vec<Ipv4Addr> {
    let mut out = Vec::new();
    let mut last: Option<Ipv4Addr> = None;
    for line in fib_trie.lines() {
        let line = line.trim();
        if let Some(addr) = line.strip_prefix("|--") {
            last = addr.trim().parse().ok();
        } else if line.starts_with("/32 host LOCAL")
            && let Some(a) = last
            && !a.is_loopback()
            && !out.contains(&a)
        {
            out.push(a);
        }
    }
    out
}

/// Addresses in a `/proc/net/if_inet6` text: `<32 hex> <ifindex> <plen> <scope> <flags> <dev>`.
fn inet6_addresses(text: &str) -> Vec<Ipv6Addr> {
    let mut out = Vec::new();
    for line in text.lines() {
        let Some(hex) = line.split_whitespace().next() else {
            continue;
        };
        if hex.len() != 32 {
            continue;
        }
        if let Ok(n) = u128::from_str_radix(hex, 16) {
            let a = Ipv6Addr::from(n);
            if !out.contains(&a) {
                out.push(a);
            }
        }
    }
    out
}

enum V4 {
    Private,
    Cgnat,
    LinkLocal,
    Special(&'static str),
    Public,
}

/// The IANA IPv4 special-purpose registry, as far as it matters for an interface address.
fn classify_v4(a: Ipv4Addr) -> V4 {
    let [o1, o2, o3, _] = a.octets();
    if a.is_private() {
        V4::Private
    } else if o1 == 100 && (64..128).contains(&o2) {
        V4::Cgnat
    } else if a.is_link_local() {
        V4::LinkLocal
    } else if o1 == 0 {
        V4::Special("\"this network\", RFC 791")
    } else if (o1, o2, o3) == (192, 0, 0) {
        V4::Special("IETF protocol assignments, RFC 6890")
    } else if a.is_documentation() {
        V4::Special("documentation, RFC 5737")
    } else if o1 == 198 && (o2 == 18 || o2 == 19) {
        V4::Special("benchmarking, RFC 2544")
    } else if o1 >= 224 {
        V4::Special("multicast or reserved")
    } else {
        V4::Public
    }
}

enum V6 {
    Ula,
    Special(&'static str),
    Public,
    /// Loopback, link-local and multicast say nothing about NAT.
    Ignored,
}

fn classify_v6(a: Ipv6Addr) -> V6 {
    let s = a.segments();
    if a.is_loopback() || a.is_unspecified() || (s[0] & 0xffc0) == 0xfe80 || (s[0] >> 8) == 0xff {
        V6::Ignored
    } else if (s[0] & 0xfe00) == 0xfc00 {
        V6::Ula
    } else if s[0] == 0x2001 && s[1] == 0x0db8 {
        V6::Special("documentation, RFC 3849")
    } else if (s[0] & 0xe000) == 0x2000 {
        V6::Public
    } else {
        V6::Special("not global unicast")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::testkit::{fib_trie, write};

    /// An EC2 instance: eth0 10.0.1.23/24.
    fn fib_ec2() -> String {
        fib_trie(&[("10.0.1.23", 24)])
    }

    /// A dedicated server with a public address on eth0 (Hetzner-style /26).
    fn fib_public() -> String {
        fib_trie(&[("88.99.12.45", 26)])
    }

    /// `/sys/class/net/<dev>` is a symlink into `/sys/devices`, as on a real host.
    fn add_iface(root: &Path, name: &str) {
        let dev = root.join("sys/devices/virtual/net").join(name);
        std::fs::create_dir_all(&dev).unwrap();
        std::fs::create_dir_all(root.join(CLASS_NET)).unwrap();
        std::os::unix::fs::symlink(
            format!("../../devices/virtual/net/{name}"),
            root.join(CLASS_NET).join(name),
        )
        .unwrap();
    }

    /// The verdict alone, and the evidence.
    fn nat(root: &Path) -> (NatVerdict, Vec<NatSignal>) {
        let (fact, signals) = from_files(root);
        (fact.value, signals)
    }

    fn names(signals: &[NatSignal]) -> Vec<&str> {
        signals.iter().map(|s| s.name.as_str()).collect()
    }

    #[test]
    fn cloud_vm_with_a_private_address_is_behind_nat() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, FIB_TRIE, fib_ec2());
        write(root, "sys/class/dmi/id/sys_vendor", "Amazon EC2\n");
        write(root, "sys/class/dmi/id/product_name", "m5.large\n");
        write(
            root,
            "sys/class/dmi/id/board_asset_tag",
            "i-0a1b2c3d4e5f60718\n",
        );
        write(root, IP_FORWARD, "0\n");
        add_iface(root, "eth0");
        add_iface(root, "lo");

        let (fact, signals) = from_files(root);
        assert_eq!(fact.value, NatVerdict::BehindNat);
        assert_eq!(fact.source, "proc/net/fib_trie, sys/class/dmi/id");
        assert_eq!(
            names(&signals),
            ["private-address", "cloud-vm", "ip-forward", "nat-rules"]
        );
        assert_eq!(
            signals[0].detail,
            "interface address 10.0.1.23 is private (RFC 1918)"
        );
        assert_eq!(
            signals[1].detail,
            "aws VM (sys/class/dmi/id/sys_vendor: \"Amazon EC2\"): public IPv4 is 1:1 NATed onto the private address"
        );
        assert_eq!(
            signals[3].detail,
            "not readable without root: iptables/nft rules not checked"
        );
        assert_eq!(
            cloud(root),
            Some(Fact::new(
                "aws".to_string(),
                "sys/class/dmi/id/sys_vendor: \"Amazon EC2\""
            ))
        );
    }

    #[test]
    fn docker_host_performs_nat() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, FIB_TRIE, fib_public());
        write(root, IP_FORWARD, "1\n");
        write(root, CONNTRACK_COUNT, "37\n");
        for dev in ["lo", "eth0", "docker0", "veth3f2a1b9"] {
            add_iface(root, dev);
        }
        let (fact, signals) = from_files(root);
        assert_eq!(fact.value, NatVerdict::PerformsNat);
        assert_eq!(fact.source, "proc/sys/net/ipv4/ip_forward, sys/class/net");
        assert_eq!(
            names(&signals),
            [
                "public-address",
                "ip-forward",
                "bridge",
                "conntrack",
                "nat-rules"
            ]
        );
        assert_eq!(
            signals[2].detail,
            "container/CNI interfaces: docker0, veth3f2a1b9"
        );
        assert_eq!(
            signals[3].detail,
            "connection tracking is loaded (37 tracked): able to NAT, not proof"
        );

        // Bridges without forwarding do not NAT: back to the address, which is public.
        write(root, IP_FORWARD, "0\n");
        assert_eq!(nat(root).0, NatVerdict::None);

        // Forwarding with only the NAT table (a router, no bridges) performs NAT as well.
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, IP_FORWARD, "1\n");
        write(root, IP_TABLES_NAMES, "filter\nnat\nmangle\n");
        let (verdict, signals) = nat(root);
        assert_eq!(verdict, NatVerdict::PerformsNat);
        assert!(
            signals
                .iter()
                .any(|s| s.name == "nat-rules" && s.detail.starts_with("nat table present")),
            "{signals:?}"
        );
        // Forwarding and conntrack alone are capability, not proof.
        write(root, IP_TABLES_NAMES, "filter\n");
        write(root, CONNTRACK_COUNT, "2\n");
        assert_eq!(nat(root).0, NatVerdict::Unknown);
    }

    #[test]
    fn bare_host_with_a_public_address_is_not_behind_nat() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, FIB_TRIE, fib_public());
        write(root, IP_FORWARD, "0\n");
        add_iface(root, "eth0");
        let (fact, signals) = from_files(root);
        assert_eq!(fact, Fact::new(NatVerdict::None, FIB_TRIE));
        assert_eq!(
            names(&signals),
            ["public-address", "ip-forward", "nat-rules"]
        );
        assert_eq!(
            signals[0].detail,
            "interface address 88.99.12.45 is globally reachable"
        );
    }

    #[test]
    fn empty_root_is_unknown_and_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let (fact, signals) = from_files(dir.path());
        assert_eq!(fact.value, NatVerdict::Unknown);
        assert_eq!(fact.source, FIB_TRIE);
        assert_eq!(names(&signals), ["no-address", "nat-rules"]);
        assert_eq!(
            signals[0].detail,
            "no interface addresses readable under the root (proc/net/fib_trie, proc/net/if_inet6)"
        );
        // Only loopback is as good as nothing.
        write(
            dir.path(),
            FIB_TRIE,
            "Main:\n  +-- 127.0.0.0/8 2 0 2\n     |-- 127.0.0.1\n        /32 host LOCAL\n",
        );
        let (verdict, signals) = nat(dir.path());
        assert_eq!(verdict, NatVerdict::Unknown);
        assert_eq!(
            signals[0].detail,
            "no non-loopback interface address in proc/net/fib_trie"
        );
    }

    #[test]
    fn special_cgnat_and_ipv6_addresses() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        // TEST-NET-1 is neither private nor public: it decides nothing.
        write(
            root,
            FIB_TRIE,
            "Main:\n  +-- 192.0.2.0/24 2 0 2\n     |-- 192.0.2.2\n        /32 host LOCAL\n",
        );
        let (verdict, signals) = nat(root);
        assert_eq!(verdict, NatVerdict::Unknown);
        assert_eq!(signals[0].name, "special-address");

        write(
            root,
            FIB_TRIE,
            "Local:\n  +-- 100.64.0.0/10 2 0 2\n     |-- 100.100.3.4\n        /32 host LOCAL\n",
        );
        assert_eq!(nat(root).0, NatVerdict::BehindNat);

        // IPv6 only: link-local and loopback ignored, a ULA means translation.
        std::fs::remove_file(root.join(FIB_TRIE)).unwrap();
        write(
            root,
            IF_INET6,
            "00000000000000000000000000000001 01 80 10 80       lo\n\
             fe80000000000000021c42fffe0a0b0c 02 40 20 80     eth0\n\
             fd12345678900001000000000000000a 02 40 00 80     eth0\n",
        );
        let (verdict, signals) = nat(root);
        assert_eq!(verdict, NatVerdict::BehindNat);
        assert_eq!(names(&signals), ["ula-address", "nat-rules"]);
        assert_eq!(
            signals[0].detail,
            "interface address fd12:3456:7890:1::a is a unique local address (fc00::/7)"
        );
        write(
            root,
            IF_INET6,
            "2a0104f8c0c2a1b20000000000000002 02 40 00 80     eth0\n",
        );
        assert_eq!(nat(root).0, NatVerdict::None);
    }

    #[test]
    fn cloud_vm_with_a_public_interface_address_is_not_nated() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, FIB_TRIE, fib_public());
        write(root, "sys/class/dmi/id/product_name", "Alibaba Cloud ECS\n");
        let (verdict, signals) = nat(root);
        assert_eq!(verdict, NatVerdict::None);
        assert!(signals[1].detail.ends_with("not 1:1 NATed"), "{signals:?}");
    }
}
