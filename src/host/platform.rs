//! Platform facts: distribution, cloud, container, a read-only `/proc/sys`, and NAT evidence.
//!
//! Owns: reading those facts from files under the root (through `source`, so a symlink in a
//! fake root never escapes to the real host) and naming the file each one came from. Must not:
//! judge a fact, print, run a binary, or touch the network: NAT is inferred from local files
//! only, never by probing. Every piece of NAT evidence is kept as a signal, for and against, so
//! the finding that cites it can show why.

use super::detect::NatArg;
use super::{Distro, Fact, NatSignal, NatVerdict};
use crate::source::{Read, list_dir, read_under, resolve_in_root};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;

pub(crate) const FIB_TRIE: &str = "proc/net/fib_trie";
pub(crate) const IF_INET6: &str = "proc/net/if_inet6";
pub(crate) const IP_FORWARD: &str = "proc/sys/net/ipv4/ip_forward";
pub(crate) const CLASS_NET: &str = "sys/class/net";
const CONNTRACK_COUNT: &str = "proc/sys/net/netfilter/nf_conntrack_count";
const NF_NAT_MODULE: &str = "sys/module/nf_nat";
const IP_TABLES_NAMES: &str = "proc/net/ip_tables_names";
const OS_RELEASE: [&str; 2] = ["etc/os-release", "usr/lib/os-release"];
const DMI: &str = "sys/class/dmi/id";
const HYPERVISOR_UUID: &str = "sys/hypervisor/uuid";
const MOUNTINFO: &str = "proc/self/mountinfo";
const MOUNTS: &str = "proc/mounts";

/// Azure's fixed chassis asset tag (cloud-init `ds-identify`, `is_azure_chassis`).
const AZURE_ASSET_TAG: &str = "7783-7084-3265-9085-8269-3286-77";

fn read_text(root: &Path, rel: &str) -> Option<String> {
    match read_under(root, rel) {
        Read::File(f) => Some(f.text.clone()),
        // An unreadable fact is simply not known; it is not a finding.
        Read::Absent | Read::Problem(_) => None,
    }
}

/// Whether `rel` exists under the root (a file or a directory, e.g. `sys/module/nf_nat`).
fn exists(root: &Path, rel: &str) -> bool {
    resolve_in_root(root, Path::new(rel)).is_ok_and(|p| p.exists())
}

// ---------------------------------------------------------------------------------------------
// Distribution

/// `etc/os-release`, else `usr/lib/os-release` (os-release(5) order). `None` when neither is
/// readable or neither names anything.
pub fn distro(root: &Path) -> Option<Distro> {
    OS_RELEASE.iter().find_map(|rel| {
        let text = read_text(root, rel)?;
        parse_os_release(&text, rel)
    })
}

fn parse_os_release(text: &str, source: &str) -> Option<Distro> {
    let (mut id, mut version_id, mut pretty_name) = (None, None, None);
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = unquote(value.trim());
        if value.is_empty() {
            continue;
        }
        match key.trim() {
            "ID" => id = Some(value),
            "VERSION_ID" => version_id = Some(value),
            "PRETTY_NAME" => pretty_name = Some(value),
            _ => {}
        }
    }
    if id.is_none() && version_id.is_none() && pretty_name.is_none() {
        return None;
    }
    Some(Distro {
        // os-release(5): "If not set, a default of ID=linux may be used."
        id: id.unwrap_or_else(|| "linux".to_string()),
        version_id,
        pretty_name,
        source: source.to_string(),
    })
}

/// Strips shell-style quotes: os-release values are shell assignments, and double-quoted ones
/// may escape `"`, `\`, `$` and `` ` `` with a backslash.
fn unquote(v: &str) -> String {
    if let Some(inner) = v.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        let mut out = String::with_capacity(inner.len());
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => out.extend(chars.next()),
                c => out.push(c),
            }
        }
        out
    } else if let Some(inner) = v.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
        inner.to_string()
    } else {
        v.to_string()
    }
}

// ---------------------------------------------------------------------------------------------
// Cloud

/// The cloud a VM runs in, from the world-readable DMI files (`product_uuid` and the serials
/// are root-only, so they are not used) and the Xen hypervisor UUID, as cloud-init's
/// `ds-identify` does. `None` on bare metal, on other hypervisors and where DMI is absent
/// (e.g. Firecracker).
pub fn cloud(root: &Path) -> Option<Fact<String>> {
    let dmi = |name: &str| {
        let rel = format!("{DMI}/{name}");
        read_text(root, &rel).map(|v| (rel, v.trim().to_string()))
    };
    let found = |cloud: &str, (rel, value): (String, String)| {
        Some(Fact::new(cloud.to_string(), format!("{rel}: \"{value}\"")))
    };

    // Asset tags first: they are set on purpose by the provider, where a vendor string can be
    // shared with a plain hypervisor (Hyper-V also says "Microsoft Corporation").
    for tag in ["chassis_asset_tag", "board_asset_tag"] {
        if let Some((rel, value)) = dmi(tag) {
            if value == AZURE_ASSET_TAG {
                return found("azure", (rel, value));
            }
            if value == "OracleCloud.com" {
                return found("oci", (rel, value));
            }
        }
    }
    for file in ["sys_vendor", "product_name"] {
        if let Some((rel, value)) = dmi(file) {
            let cloud = match value.as_str() {
                // Nitro: sys_vendor "Amazon EC2", product_name the instance type.
                "Amazon EC2" => "aws",
                "Google" | "Google Compute Engine" => "gcp",
                "Alibaba Cloud" | "Alibaba Cloud ECS" => "alibaba",
                _ => continue,
            };
            return found(cloud, (rel, value));
        }
    }
    // Xen-based EC2 instances say "Xen" in DMI; the hypervisor UUID starts with "ec2".
    if let Some(uuid) = read_text(root, HYPERVISOR_UUID) {
        let uuid = uuid.trim();
        if uuid.to_ascii_lowercase().starts_with("ec2") {
            return found("aws", (HYPERVISOR_UUID.to_string(), uuid.to_string()));
        }
    }
    None
}

// ---------------------------------------------------------------------------------------------
// Container

/// The container this root runs in: `kubernetes`, `docker`, `podman`, `lxc`, or the value of
/// init's `container=` variable. `None` when nothing says so.
pub fn container(root: &Path) -> Option<Fact<String>> {
    let (cgroup_rel, cgroup) = ["proc/1/cgroup", "proc/self/cgroup"]
        .iter()
        .find_map(|rel| read_text(root, rel).map(|t| (*rel, t)))
        .map_or((None, None), |(rel, t)| (Some(rel), cgroup_runtime(&t)));
    let from_cgroup = |kind: &str| {
        Fact::new(
            kind.to_string(),
            format!("{}: {kind}", cgroup_rel.unwrap_or("")),
        )
    };

    // A Kubernetes pod run by Docker also has `.dockerenv`; Kubernetes is the more useful answer
    // (sysctls are set through the pod spec, not the container runtime).
    if cgroup == Some("kubernetes") {
        return Some(from_cgroup("kubernetes"));
    }
    if exists(root, ".dockerenv") {
        return Some(Fact::new("docker".to_string(), ".dockerenv"));
    }
    if exists(root, "run/.containerenv") {
        return Some(Fact::new("podman".to_string(), "run/.containerenv"));
    }
    // Often 0400 (owner only), so it is a bonus when readable.
    if let Some(env) = read_text(root, "proc/1/environ")
        && let Some(value) = env
            .split('\0')
            .find_map(|kv| kv.strip_prefix("container="))
            .filter(|v| !v.is_empty())
    {
        return Some(Fact::new(
            value.to_string(),
            format!("proc/1/environ: container={value}"),
        ));
    }
    cgroup.map(from_cgroup)
}

/// The runtime named by a `/proc/<pid>/cgroup` text. Whole path components are matched, so a
/// host process in `/system.slice/docker.service` (the daemon) is not taken for a container.
fn cgroup_runtime(text: &str) -> Option<&'static str> {
    let mut found = None;
    for line in text.lines() {
        // `hierarchy-ID:controllers:path`; the path may itself hold `:`.
        let Some(path) = line.splitn(3, ':').nth(2) else {
            continue;
        };
        for part in path.split('/') {
            let kind = if part.starts_with("kubepods") {
                return Some("kubernetes");
            } else if part == "docker" || (part.starts_with("docker-") && part.ends_with(".scope"))
            {
                "docker"
            } else if part.starts_with("libpod") {
                "podman"
            } else if part == "lxc" || part.starts_with("lxc.payload") {
                "lxc"
            } else {
                continue;
            };
            found.get_or_insert(kind);
        }
    }
    found
}

// ---------------------------------------------------------------------------------------------
// Read-only /proc/sys

/// Whether `/proc/sys` is mounted read-only (Docker and Podman do this unless privileged), from
/// `proc/self/mountinfo`, else `proc/mounts`. The last mount at `/proc/sys` wins, as it is the
/// one on top; without one, `/proc`'s own options apply. `None` when neither file is readable
/// or neither mount is listed.
pub fn proc_sys_read_only(root: &Path) -> Option<bool> {
    // (mount point, read-only) per line, in mount order.
    let mounts: Vec<(String, bool)> = if let Some(text) = read_text(root, MOUNTINFO) {
        text.lines().filter_map(mountinfo_entry).collect()
    } else {
        let text = read_text(root, MOUNTS)?;
        text.lines().filter_map(mounts_entry).collect()
    };
    let last_at = |point: &str| {
        mounts
            .iter()
            .rev()
            .find(|(p, _)| p == point)
            .map(|&(_, ro)| ro)
    };
    last_at("/proc/sys").or_else(|| last_at("/proc"))
}

fn has_ro(options: &str) -> bool {
    options.split(',').any(|o| o == "ro")
}

/// `33 25 0:30 / /proc/sys ro,nosuid,… - proc proc rw`: read-only if the mount's own options
/// or the superblock's (after `-`) say `ro`.
fn mountinfo_entry(line: &str) -> Option<(String, bool)> {
    let (mount, sb) = line.split_once(" - ")?;
    let fields: Vec<&str> = mount.split_whitespace().collect();
    let (point, opts) = (fields.get(4)?, fields.get(5)?);
    let sb_opts = sb.split_whitespace().nth(2).unwrap_or("");
    Some((unescape_mount(point), has_ro(opts) || has_ro(sb_opts)))
}

/// `proc /proc/sys proc ro,nosuid,nodev,noexec,relatime 0 0`.
fn mounts_entry(line: &str) -> Option<(String, bool)> {
    let mut fields = line.split_whitespace();
    let point = fields.nth(1)?;
    let opts = fields.nth(1)?;
    Some((unescape_mount(point), has_ro(opts)))
}

/// The kernel writes a space in a mount point as `\040`; enough for comparing with `/proc/sys`.
fn unescape_mount(s: &str) -> String {
    s.replace("\\040", " ")
}

// ---------------------------------------------------------------------------------------------
// NAT

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
/// the root, or takes the answer from `--nat yes|no`. Every piece of evidence is returned.
pub fn nat(root: &Path, flag: Option<NatArg>) -> (NatVerdict, Vec<NatSignal>) {
    let (fact, signals) = nat_with_source(root, flag);
    (fact.value, signals)
}

/// [`nat`] with the verdict's source: the files of the evidence that decided it, or `--nat`.
pub fn nat_with_source(root: &Path, flag: Option<NatArg>) -> (Fact<NatVerdict>, Vec<NatSignal>) {
    let by_flag = |verdict, word: &str| {
        let signal = NatSignal {
            name: "flag".to_string(),
            detail: format!("set by --nat {word}"),
        };
        (Fact::new(verdict, "--nat"), vec![signal])
    };
    match flag {
        Some(NatArg::Yes) => return by_flag(NatVerdict::BehindNat, "yes"),
        Some(NatArg::No) => return by_flag(NatVerdict::None, "no"),
        Some(NatArg::Auto) | None => {}
    }

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

    if exists(root, NF_NAT_MODULE) {
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

    fn write(root: &Path, rel: &str, text: &str) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
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

    fn names(signals: &[NatSignal]) -> Vec<&str> {
        signals.iter().map(|s| s.name.as_str()).collect()
    }

    /// An EC2 instance: eth0 10.0.1.23/24 (kernel ≥ 4.x merges the local table into main).
    const FIB_EC2: &str = "\
Main:
  +-- 0.0.0.0/0 3 0 5
     |-- 0.0.0.0
        /0 universe UNICAST
     +-- 10.0.1.0/24 2 0 2
        +-- 10.0.1.0/27 2 0 2
           |-- 10.0.1.0
              /24 link UNICAST
           |-- 10.0.1.23
              /32 host LOCAL
        |-- 10.0.1.255
           /32 link BROADCAST
     +-- 127.0.0.0/8 2 0 2
        +-- 127.0.0.0/31 1 0 0
           |-- 127.0.0.0
              /8 host LOCAL
           |-- 127.0.0.1
              /32 host LOCAL
        |-- 127.255.255.255
           /32 link BROADCAST
Local:
  +-- 0.0.0.0/0 3 0 5
     |-- 0.0.0.0
        /0 universe UNICAST
     +-- 10.0.1.0/24 2 0 2
        +-- 10.0.1.0/27 2 0 2
           |-- 10.0.1.0
              /24 link UNICAST
           |-- 10.0.1.23
              /32 host LOCAL
        |-- 10.0.1.255
           /32 link BROADCAST
     +-- 127.0.0.0/8 2 0 2
        +-- 127.0.0.0/31 1 0 0
           |-- 127.0.0.0
              /8 host LOCAL
           |-- 127.0.0.1
              /32 host LOCAL
        |-- 127.255.255.255
           /32 link BROADCAST
";

    /// A dedicated server with a public address on eth0 (Hetzner-style /26).
    const FIB_PUBLIC: &str = "\
Main:
  +-- 0.0.0.0/0 3 0 5
     |-- 0.0.0.0
        /0 universe UNICAST
     +-- 88.99.12.0/26 2 0 2
        |-- 88.99.12.0
           /26 link UNICAST
        |-- 88.99.12.45
           /32 host LOCAL
        |-- 88.99.12.63
           /32 link BROADCAST
     +-- 127.0.0.0/8 2 0 2
        +-- 127.0.0.0/31 1 0 0
           |-- 127.0.0.0
              /8 host LOCAL
           |-- 127.0.0.1
              /32 host LOCAL
        |-- 127.255.255.255
           /32 link BROADCAST
";

    #[test]
    fn cloud_vm_with_a_private_address_is_behind_nat() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, FIB_TRIE, FIB_EC2);
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

        let (fact, signals) = nat_with_source(root, None);
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
        write(root, FIB_TRIE, FIB_PUBLIC);
        write(root, IP_FORWARD, "1\n");
        write(root, CONNTRACK_COUNT, "37\n");
        for dev in ["lo", "eth0", "docker0", "veth3f2a1b9"] {
            add_iface(root, dev);
        }
        let (fact, signals) = nat_with_source(root, None);
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
        assert_eq!(nat(root, None).0, NatVerdict::None);

        // Forwarding with only the NAT table (a router, no bridges) performs NAT as well.
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, IP_FORWARD, "1\n");
        write(root, IP_TABLES_NAMES, "filter\nnat\nmangle\n");
        let (verdict, signals) = nat(root, None);
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
        assert_eq!(nat(root, None).0, NatVerdict::Unknown);
    }

    #[test]
    fn bare_host_with_a_public_address_is_not_behind_nat() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, FIB_TRIE, FIB_PUBLIC);
        write(root, IP_FORWARD, "0\n");
        add_iface(root, "eth0");
        let (fact, signals) = nat_with_source(root, None);
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
        let (fact, signals) = nat_with_source(dir.path(), None);
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
        let (verdict, signals) = nat(dir.path(), None);
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
        let (verdict, signals) = nat(root, None);
        assert_eq!(verdict, NatVerdict::Unknown);
        assert_eq!(signals[0].name, "special-address");

        write(
            root,
            FIB_TRIE,
            "Local:\n  +-- 100.64.0.0/10 2 0 2\n     |-- 100.100.3.4\n        /32 host LOCAL\n",
        );
        assert_eq!(nat(root, None).0, NatVerdict::BehindNat);

        // IPv6 only: link-local and loopback ignored, a ULA means translation.
        std::fs::remove_file(root.join(FIB_TRIE)).unwrap();
        write(
            root,
            IF_INET6,
            "00000000000000000000000000000001 01 80 10 80       lo\n\
             fe80000000000000021c42fffe0a0b0c 02 40 20 80     eth0\n\
             fd12345678900001000000000000000a 02 40 00 80     eth0\n",
        );
        let (verdict, signals) = nat(root, None);
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
        assert_eq!(nat(root, None).0, NatVerdict::None);
    }

    #[test]
    fn cloud_vm_with_a_public_interface_address_is_not_nated() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, FIB_TRIE, FIB_PUBLIC);
        write(root, "sys/class/dmi/id/product_name", "Alibaba Cloud ECS\n");
        let (verdict, signals) = nat(root, None);
        assert_eq!(verdict, NatVerdict::None);
        assert!(signals[1].detail.ends_with("not 1:1 NATed"), "{signals:?}");
    }

    #[test]
    fn flag_overrides_detection() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, FIB_TRIE, FIB_PUBLIC);
        let (fact, signals) = nat_with_source(root, Some(NatArg::Yes));
        assert_eq!(fact, Fact::new(NatVerdict::BehindNat, "--nat"));
        assert_eq!(
            signals,
            [NatSignal {
                name: "flag".to_string(),
                detail: "set by --nat yes".to_string()
            }]
        );
        write(root, FIB_TRIE, FIB_EC2);
        assert_eq!(nat(root, Some(NatArg::No)).0, NatVerdict::None);
        assert_eq!(nat(root, Some(NatArg::Auto)).0, NatVerdict::BehindNat);
    }

    #[test]
    fn azure_gcp_oci_and_xen_ec2() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        assert_eq!(cloud(root), None);
        // Hyper-V says Microsoft too; only the asset tag says Azure.
        write(
            root,
            "sys/class/dmi/id/sys_vendor",
            "Microsoft Corporation\n",
        );
        write(root, "sys/class/dmi/id/product_name", "Virtual Machine\n");
        assert_eq!(cloud(root), None);
        write(
            root,
            "sys/class/dmi/id/chassis_asset_tag",
            "7783-7084-3265-9085-8269-3286-77\n",
        );
        assert_eq!(
            cloud(root),
            Some(Fact::new(
                "azure".to_string(),
                "sys/class/dmi/id/chassis_asset_tag: \"7783-7084-3265-9085-8269-3286-77\""
            ))
        );

        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "sys/class/dmi/id/sys_vendor", "Google\n");
        write(
            root,
            "sys/class/dmi/id/product_name",
            "Google Compute Engine\n",
        );
        write(root, "sys/class/dmi/id/chassis_asset_tag", "\n");
        assert_eq!(cloud(root).map(|f| f.value), Some("gcp".to_string()));
        std::fs::remove_file(root.join("sys/class/dmi/id/sys_vendor")).unwrap();
        assert_eq!(
            cloud(root),
            Some(Fact::new(
                "gcp".to_string(),
                "sys/class/dmi/id/product_name: \"Google Compute Engine\""
            ))
        );

        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            root,
            "sys/class/dmi/id/chassis_asset_tag",
            "OracleCloud.com\n",
        );
        assert_eq!(cloud(root).map(|f| f.value), Some("oci".to_string()));

        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "sys/class/dmi/id/sys_vendor", "Xen\n");
        write(root, "sys/class/dmi/id/product_name", "HVM domU\n");
        write(
            root,
            HYPERVISOR_UUID,
            "ec2e1916-9099-7caf-fd21-012345abcdef\n",
        );
        assert_eq!(
            cloud(root),
            Some(Fact::new(
                "aws".to_string(),
                "sys/hypervisor/uuid: \"ec2e1916-9099-7caf-fd21-012345abcdef\""
            ))
        );
    }

    #[test]
    fn os_release_with_quotes_and_fallback() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        assert_eq!(distro(root), None);
        write(
            root,
            "usr/lib/os-release",
            "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\n\
             VERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\nID=debian\n\
             HOME_URL=\"https://www.debian.org/\"\n",
        );
        assert_eq!(
            distro(root),
            Some(Distro {
                id: "debian".to_string(),
                version_id: Some("12".to_string()),
                pretty_name: Some("Debian GNU/Linux 12 (bookworm)".to_string()),
                source: "usr/lib/os-release".to_string(),
            })
        );
        // etc/os-release wins; single quotes and escapes are shell syntax.
        write(
            root,
            "etc/os-release",
            "# comment\nNAME=\"Red Hat Enterprise Linux\"\nID='rhel'\nVERSION_ID=\"9.4\"\n\
             PRETTY_NAME=\"Red Hat \\\"Plow\\\" 9.4\"\n",
        );
        let d = distro(root).unwrap();
        assert_eq!(d.id, "rhel");
        assert_eq!(d.version_id.as_deref(), Some("9.4"));
        assert_eq!(d.pretty_name.as_deref(), Some("Red Hat \"Plow\" 9.4"));
        assert_eq!(d.source, "etc/os-release");
        // os-release(5): ID defaults to `linux`.
        write(root, "etc/os-release", "PRETTY_NAME=\"Custom\"\n");
        assert_eq!(distro(root).unwrap().id, "linux");
    }

    #[test]
    fn containers() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        // A host: init in its own scope, the Docker daemon as a service.
        write(root, "proc/1/cgroup", "0::/init.scope\n");
        write(
            root,
            "proc/self/cgroup",
            "0::/system.slice/docker.service\n",
        );
        assert_eq!(container(root), None);

        write(root, ".dockerenv", "");
        assert_eq!(
            container(root),
            Some(Fact::new("docker".to_string(), ".dockerenv"))
        );

        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "run/.containerenv", "engine=\"podman-4.9.3\"\n");
        assert_eq!(
            container(root),
            Some(Fact::new("podman".to_string(), "run/.containerenv"))
        );

        // A pod on a Docker-era node has `.dockerenv` too; Kubernetes wins.
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, ".dockerenv", "");
        write(
            root,
            "proc/1/cgroup",
            "12:pids:/kubepods/burstable/pod8c1e2f6a-4b0d-4a8e-9f3e-2d6f1c0b7a11/4f9d2c\n\
             11:memory:/kubepods/burstable/pod8c1e2f6a-4b0d-4a8e-9f3e-2d6f1c0b7a11/4f9d2c\n",
        );
        assert_eq!(
            container(root),
            Some(Fact::new(
                "kubernetes".to_string(),
                "proc/1/cgroup: kubernetes"
            ))
        );

        // cgroup v2 with the systemd driver; and init's environment when readable.
        assert_eq!(
            cgroup_runtime(
                "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice/cri-containerd-ab.scope\n"
            ),
            Some("kubernetes")
        );
        assert_eq!(
            cgroup_runtime("0::/system.slice/docker-3f1e2d.scope\n"),
            Some("docker")
        );
        assert_eq!(cgroup_runtime("0::/lxc.payload.web/\n"), Some("lxc"));
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "proc/1/environ",
            "PATH=/usr/bin\0container=systemd-nspawn\0TERM=xterm\0",
        );
        assert_eq!(
            container(dir.path()).map(|f| f.value),
            Some("systemd-nspawn".to_string())
        );
    }

    #[test]
    fn read_only_proc_sys() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        assert_eq!(proc_sys_read_only(root), None);
        // Docker's layout: /proc rw, /proc/sys bind-mounted over it read-only.
        write(
            root,
            MOUNTINFO,
            "624 566 0:52 / / rw,relatime master:290 - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/A:/var/lib/docker/overlay2/l/B\n\
             625 624 0:55 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw\n\
             33 25 0:30 / /proc/sys ro,nosuid,nodev,noexec,relatime - proc proc rw\n",
        );
        assert_eq!(proc_sys_read_only(root), Some(true));
        // A host: /proc read-write and nothing on /proc/sys.
        write(
            root,
            MOUNTINFO,
            "22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw\n",
        );
        assert_eq!(proc_sys_read_only(root), Some(false));
        // proc/mounts when mountinfo is missing.
        std::fs::remove_file(root.join(MOUNTINFO)).unwrap();
        write(
            root,
            MOUNTS,
            "overlay / overlay rw,relatime 0 0\nproc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\n\
             proc /proc/sys proc ro,nosuid,nodev,noexec,relatime 0 0\n",
        );
        assert_eq!(proc_sys_read_only(root), Some(true));
    }
}
