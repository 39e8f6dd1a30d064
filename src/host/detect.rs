//! Host facts (cores, memory, kernel, JDK, platform, NAT) detected once, each with where it came
//! from.
//!
//! Owns: reading those facts from files under `--root`, from command-line overrides, and (only
//! where a fact must have a value) from the live system; letting an override win. Must not:
//! judge a fact, print, or touch the network. The distribution, cloud, container and NAT
//! evidence are read by `os_release`, `cloud`, `container` and `nat`; this module calls them
//! (they never call back) and keeps the older `nat`/`nat_signals` view in step with them.

use super::{Fact, HostFacts, Nat, NatSignal, NatVerdict, cloud, container, nat, os_release};
use crate::source::read_text;
use std::path::{Path, PathBuf};

const CPU_ONLINE: &str = "sys/devices/system/cpu/online";
const MEMINFO: &str = "proc/meminfo";
const OSRELEASE: &str = "proc/sys/kernel/osrelease";

/// `--nat`: `auto` detects, `yes`/`no` state it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NatArg {
    Auto,
    Yes,
    No,
}

/// Facts given on the command line; each one wins over detection.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub cores: Option<u32>,
    pub memory_mb: Option<u64>,
    pub nat: Option<NatArg>,
    pub java_version: Option<u32>,
    /// A real path, not under `--root`: the JDK that runs API-M is named by the operator.
    pub java_home: Option<PathBuf>,
    /// Kernel release (`6.1.0-18-amd64`), for a root that does not hold it.
    pub kernel: Option<String>,
}

/// Detects the host facts for `root`, with `ov` winning over detection.
pub fn detect(root: &Path, ov: &Overrides) -> HostFacts {
    let env_home = std::env::var_os("JAVA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    detect_with(root, ov, env_home)
}

/// [`detect`] with `JAVA_HOME` passed in, so tests do not depend on the environment.
fn detect_with(root: &Path, ov: &Overrides, env_java_home: Option<PathBuf>) -> HostFacts {
    let (nat_fact, nat_evidence) = detect_nat(root, ov.nat);
    let (nat, nat_signals) = legacy_nat(&nat_fact, &nat_evidence);
    let java = detect_java(ov, env_java_home.clone());
    HostFacts {
        cores: detect_cores(root, ov.cores),
        memory_mb: detect_memory(root, ov.memory_mb),
        kernel: detect_kernel(root, ov.kernel.as_deref()),
        nat,
        nat_signals,
        jaxp_entity_limit: java_home_jaxp(&java, ov, env_java_home),
        java,
        distro: os_release::distro(root),
        cloud: cloud::cloud(root),
        container: container::container(root),
        proc_sys_read_only: container::proc_sys_read_only(root),
        nat_verdict: nat_fact.value,
        nat_evidence,
    }
}

/// The older yes/no/unknown view of the NAT verdict, which rules and reports still read: either
/// NAT question answered yes is `yes`, and the signals are the evidence details.
fn legacy_nat(verdict: &Fact<NatVerdict>, evidence: &[NatSignal]) -> (Fact<Nat>, Vec<String>) {
    let nat = match verdict.value {
        NatVerdict::BehindNat | NatVerdict::PerformsNat => Nat::Yes,
        NatVerdict::None => Nat::No,
        NatVerdict::Unknown => Nat::Unknown,
    };
    let signals = evidence.iter().map(|s| s.detail.clone()).collect();
    (Fact::new(nat, verdict.source.clone()), signals)
}

/// The NAT verdict and its evidence: `--nat yes|no` wins over what the files under the root
/// show, and is itself the only evidence then.
fn detect_nat(root: &Path, flag: Option<NatArg>) -> (Fact<NatVerdict>, Vec<NatSignal>) {
    let by_flag = |verdict, word: &str| {
        let signal = NatSignal {
            name: "flag".to_string(),
            detail: format!("set by --nat {word}"),
        };
        (Fact::new(verdict, "--nat"), vec![signal])
    };
    match flag {
        Some(NatArg::Yes) => by_flag(NatVerdict::BehindNat, "yes"),
        Some(NatArg::No) => by_flag(NatVerdict::None, "no"),
        Some(NatArg::Auto) | None => nat::from_files(root),
    }
}

fn detect_cores(root: &Path, flag: Option<u32>) -> Fact<u32> {
    if let Some(n) = flag {
        return Fact::new(n, "--cores");
    }
    // On the live system the JVM sizes its pools by the cgroup quota and affinity mask, not by
    // the CPUs online, so that is the count to tune for. Under `--root` (an image, a fake root)
    // the root's own CPU list is what describes the target host.
    if root != Path::new("/") {
        // The machine running the tool says nothing about an image: without the root's own CPU
        // list the count is unknown (zero), and what depends on it is not judged.
        return match read_text(root, CPU_ONLINE).and_then(|t| parse_cpu_list(&t)) {
            Some(n) => Fact::new(n, CPU_ONLINE),
            None => Fact::new(0, "not detected under --root (give --cores)"),
        };
    }
    // Honours the cgroup CPU quota and the affinity mask, as the JVM's own count does.
    match std::thread::available_parallelism() {
        Ok(n) => Fact::new(
            u32::try_from(n.get()).unwrap_or(u32::MAX),
            "live system (cgroup-aware)",
        ),
        Err(_) => Fact::new(1, "not detected (assumed 1)"),
    }
}

fn detect_memory(root: &Path, flag: Option<u64>) -> Fact<u64> {
    if let Some(mb) = flag {
        return Fact::new(mb, "--memory");
    }
    // The root's own `proc/meminfo` describes the audited host; on the live system `/` that is
    // the kernel's. The machine running the tool says nothing about a fake root or an image.
    // Cgroup memory limits are not read here.
    match read_text(root, MEMINFO).and_then(|t| parse_meminfo_mb(&t)) {
        Some(mb) => Fact::new(mb, MEMINFO),
        // Zero says "unknown" to the profile, which then cannot scale by memory.
        None => Fact::new(0, "not detected"),
    }
}

fn detect_kernel(root: &Path, flag: Option<&str>) -> Option<Fact<String>> {
    if let Some(release) = flag.map(str::trim).filter(|r| !r.is_empty()) {
        return Some(Fact::new(release.to_string(), "--kernel"));
    }
    if let Some(release) = read_text(root, OSRELEASE) {
        let release = release.trim();
        if !release.is_empty() {
            return Some(Fact::new(release.to_string(), OSRELEASE));
        }
    }
    // uname describes the machine this runs on, which is the audited one only for `/`.
    if root != Path::new("/") {
        return None;
    }
    let uts = nix::sys::utsname::uname().ok()?;
    let release = uts.release().to_string_lossy().trim().to_string();
    (!release.is_empty()).then(|| Fact::new(release, "uname"))
}

/// The JDK's own JAXP defaults, read by every XML parser it creates.
const JAXP: &str = "conf/jaxp.properties";

/// `jdk.xml.entityExpansionLimit` as a `jaxp.properties` file sets it (`key=value` or
/// `key: value`, `#`/`!` comments), with `display:line` as its source.
pub fn jaxp_entity_limit(text: &str, display: &str) -> Option<Fact<String>> {
    let lines: Vec<&str> = text.lines().collect();
    lines.iter().enumerate().rev().find_map(|(i, line)| {
        let line = line.trim();
        if line.starts_with(['#', '!']) {
            return None;
        }
        let (key, value) = line.split_once(['=', ':'])?;
        (key.trim() == "jdk.xml.entityExpansionLimit")
            .then(|| Fact::new(value.trim().to_string(), format!("{display}:{}", i + 1)))
    })
}

/// The limit in the `jaxp.properties` of the JDK the operator named (`--java-home`), or of
/// `$JAVA_HOME` when that is where the JDK fact came from.
fn java_home_jaxp(
    java: &Option<Fact<u32>>,
    ov: &Overrides,
    env_java_home: Option<PathBuf>,
) -> Option<Fact<String>> {
    let from_env = java
        .as_ref()
        .is_some_and(|j| j.source.starts_with("$JAVA_HOME"));
    let home = ov
        .java_home
        .clone()
        .or(env_java_home.filter(|_| from_env))?;
    let path = home.join(JAXP);
    // A regular file of a sane size only: a FIFO or a device here must not hang the audit.
    let text = crate::source::read_text_at_most(&path, crate::source::MAX_OWN_FILE_BYTES).ok()?;
    jaxp_entity_limit(&text, &path.display().to_string())
}

/// The JDK API-M runs with, where the service says: the unit's `JAVA_HOME` (its environment
/// files included) or the running JVM's executable beat the `$JAVA_HOME` of whoever runs
/// apim-tune, which says nothing about another machine's tree under `--root`. `--java-version`
/// and `--java-home` still win. Sets the JDK's `jaxp.properties` limit with it.
pub fn java_in_effect(
    root: &Path,
    facts: &mut HostFacts,
    units: &[crate::host::systemd::Unit],
    processes: &[crate::host::process::JvmProcess],
) {
    let from_env = facts
        .java
        .as_ref()
        .is_some_and(|j| j.source.starts_with("$JAVA_HOME"));
    if facts.java.is_some() && !from_env {
        return;
    }
    match java_from_services(root, units, processes) {
        Some((java, home)) => {
            facts.java = Some(java);
            let rel = format!("{}/{JAXP}", home.trim_end_matches('/'));
            facts.jaxp_entity_limit = match crate::source::read_under(root, &rel) {
                crate::source::Read::File(f) => jaxp_entity_limit(&f.text, &f.display),
                _ => None,
            };
        }
        None if from_env && root != Path::new("/") => {
            facts.java = None;
            facts.jaxp_entity_limit = None;
        }
        None => {}
    }
}

fn detect_java(ov: &Overrides, env_java_home: Option<PathBuf>) -> Option<Fact<u32>> {
    if let Some(v) = ov.java_version {
        return Some(Fact::new(v, "--java-version"));
    }
    let (home, source) = match &ov.java_home {
        Some(home) => (home.clone(), "--java-home release file"),
        None => (env_java_home?, "$JAVA_HOME/release"),
    };
    // Not `read_to_string`: a FIFO or `/dev/zero` named `release` must not hang or fill memory.
    let text =
        crate::source::read_text_at_most(&home.join("release"), crate::source::MAX_OWN_FILE_BYTES)
            .ok()?;
    java_release_version(&text).map(|v| Fact::new(v, source))
}

/// Counts the CPUs in a kernel CPU list such as `0-3,6,8-9` (7). `None` if it is malformed.
pub fn parse_cpu_list(s: &str) -> Option<u32> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let mut total: u32 = 0;
    for part in s.split(',') {
        let part = part.trim();
        let n = match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (u32, u32) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
                b.checked_sub(a)?.checked_add(1)?
            }
            None => {
                part.parse::<u32>().ok()?;
                1
            }
        };
        total = total.checked_add(n)?;
    }
    Some(total)
}

/// `MemTotal` of a `/proc/meminfo` text, in MiB.
pub fn parse_meminfo_mb(s: &str) -> Option<u64> {
    let line = s.lines().find(|l| l.starts_with("MemTotal:"))?;
    let mut words = line["MemTotal:".len()..].split_whitespace();
    let n: u64 = words.next()?.parse().ok()?;
    // The kernel always writes kB (KiB); accept a missing unit the same way.
    match words.next() {
        None | Some("kB") => Some(n / 1024),
        Some(_) => None,
    }
}

/// Parses `--memory`: a number with a binary unit (`K`, `M`, `G`, `T`, also written `MB`/`MiB`
/// and so on, any case). A bare number is refused: `--memory 16` meant 16 GiB far more often
/// than the 16 MiB it used to give. Decimal units (`GB`) are read as binary, as memory is sized
/// in powers of two. Returns MiB.
pub fn parse_memory_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let not_a_size = || {
        format!("`{s}` is not a memory size: expected a number with a unit, e.g. `16G` or `512M`")
    };
    let kib_per_unit: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" if !num.is_empty() => {
            return Err(format!(
                "`{s}` has no unit: write `{num}G` for GiB or `{num}M` for MiB"
            ));
        }
        "k" | "kb" | "kib" => 1,
        "m" | "mb" | "mib" => 1024,
        "g" | "gb" | "gib" => 1024 * 1024,
        "t" | "tb" | "tib" => 1024 * 1024 * 1024,
        _ => return Err(not_a_size()),
    };
    let kib = if num.contains('.') {
        let f: f64 = num.parse().map_err(|_| not_a_size())?;
        let kib = f * kib_per_unit as f64;
        if !kib.is_finite() || kib >= u64::MAX as f64 {
            return Err(format!("memory size `{s}` is too large"));
        }
        kib as u64
    } else {
        let n: u64 = num.parse().map_err(|_| not_a_size())?;
        n.checked_mul(kib_per_unit)
            .ok_or_else(|| format!("memory size `{s}` is too large"))?
    };
    match kib / 1024 {
        0 => Err(format!("memory size `{s}` must be at least 1 MiB")),
        mib => Ok(mib),
    }
}

/// Feature release from a JDK `release` file: `JAVA_VERSION="17.0.2"` → 17,
/// `JAVA_VERSION="1.8.0_392"` → 8 (the pre-9 `1.x` scheme).
pub fn java_release_version(text: &str) -> Option<u32> {
    let value = text.lines().find_map(|line| {
        let rest = line.trim().strip_prefix("JAVA_VERSION")?;
        // The `=` check keeps `JAVA_VERSION_DATE` out.
        rest.trim_start().strip_prefix('=')
    })?;
    let value = value.trim().trim_matches(|c| c == '"' || c == '\'');
    let mut numbers = value.split(|c: char| !c.is_ascii_digit());
    let first: u32 = numbers.next()?.parse().ok()?;
    let feature = if first == 1 {
        numbers.next()?.parse().ok()?
    } else {
        first
    };
    (feature > 0).then_some(feature)
}

/// The JDK that runs API-M, when no flag or $JAVA_HOME said: `JAVA_HOME` in the unit's
/// `Environment=`, else the running JVM's executable; read from `<home>/release` under the root.
fn java_from_services(
    root: &Path,
    units: &[crate::host::systemd::Unit],
    processes: &[crate::host::process::JvmProcess],
) -> Option<(crate::host::Fact<u32>, String)> {
    let release = |home: &str| match crate::source::read_under(
        root,
        &format!("{}/release", home.trim_end_matches('/')),
    ) {
        crate::source::Read::File(f) => java_release_version(&f.text),
        _ => None,
    };
    for u in units {
        if let Some(j) = u.env("JAVA_HOME")
            && let Some(v) = release(j.value())
        {
            return Some((
                crate::host::Fact::new(v, format!("JAVA_HOME in {}", u.name)),
                j.value().to_string(),
            ));
        }
    }
    for p in processes {
        if let Some(home) = &p.java_home
            && let Some(v) = release(home)
        {
            return Some((
                crate::host::Fact::new(v, format!("{} executable", p.source)),
                home.clone(),
            ));
        }
    }
    None
}

/// The host's name and the file it was read from: `proc/sys/kernel/hostname` (the UTS name in
/// effect), else `etc/hostname` (what boot sets); comment lines skipped. `None` when neither
/// says (never this machine's name).
pub fn hostname(root: &Path) -> Option<(String, &'static str)> {
    ["proc/sys/kernel/hostname", "etc/hostname"]
        .into_iter()
        .find_map(|rel| {
            let text = read_text(root, rel)?;
            let name = text
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty() && !l.starts_with('#'))?
                .to_string();
            Some((name, rel))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::nat::{FIB_TRIE, IP_FORWARD};
    use crate::host::testkit::{fib_trie, write};

    /// A cloud VM with Docker: a private eth0 address and docker0.
    fn fib_private() -> String {
        fib_trie(&[("10.0.0.5", 24), ("172.17.0.1", 16)])
    }

    #[test]
    fn the_hostname_under_a_root() {
        let hostname_under = |root: &Path| hostname(root).map(|(name, _)| name);
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(hostname_under(dir.path()), None);
        std::fs::create_dir_all(dir.path().join("etc")).unwrap();
        std::fs::write(dir.path().join("etc/hostname"), "gw1\n").unwrap();
        assert_eq!(hostname_under(dir.path()).as_deref(), Some("gw1"));
        // The kernel's name wins: /etc/hostname is only what the next boot sets.
        std::fs::create_dir_all(dir.path().join("proc/sys/kernel")).unwrap();
        std::fs::write(dir.path().join("proc/sys/kernel/hostname"), "gw1-live\n").unwrap();
        assert_eq!(hostname_under(dir.path()).as_deref(), Some("gw1-live"));
    }

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list("0-3,6,8-9\n"), Some(7));
        assert_eq!(parse_cpu_list("0"), Some(1));
        assert_eq!(parse_cpu_list("0-63"), Some(64));
        assert_eq!(parse_cpu_list(""), None);
        assert_eq!(parse_cpu_list("3-1"), None);
        assert_eq!(parse_cpu_list("0-x"), None);
        assert_eq!(parse_cpu_list("0,,1"), None);
    }

    #[test]
    fn meminfo() {
        let text = "MemTotal:       24684092 kB\nMemFree:         1000 kB\n";
        assert_eq!(parse_meminfo_mb(text), Some(24105));
        assert_eq!(parse_meminfo_mb("MemFree: 1 kB\n"), None);
        assert_eq!(parse_meminfo_mb("MemTotal: lots kB\n"), None);
    }

    #[test]
    fn memory_sizes() {
        assert_eq!(parse_memory_size("16G"), Ok(16384));
        assert_eq!(parse_memory_size("16GiB"), Ok(16384));
        assert_eq!(parse_memory_size("16gb"), Ok(16384));
        assert_eq!(parse_memory_size("512M"), Ok(512));
        // See: issue 13 (`--memory 16` gave 16 MiB).
        assert_eq!(
            parse_memory_size("16"),
            Err("`16` has no unit: write `16G` for GiB or `16M` for MiB".to_string())
        );
        assert_eq!(parse_memory_size("2048M"), Ok(2048));
        assert_eq!(parse_memory_size(" 1.5G "), Ok(1536));
        assert_eq!(parse_memory_size("1T"), Ok(1024 * 1024));
        assert_eq!(parse_memory_size("2097152K"), Ok(2048));
        let err = parse_memory_size("16X").unwrap_err();
        assert!(err.starts_with("`16X` is not a memory size"), "{err}");
        assert!(parse_memory_size("").is_err());
        assert!(parse_memory_size("G").is_err());
        assert!(parse_memory_size("1.2.3G").is_err());
        assert_eq!(
            parse_memory_size("0M"),
            Err("memory size `0M` must be at least 1 MiB".to_string())
        );
        assert!(parse_memory_size("99999999999999999999T").is_err());
        assert!(parse_memory_size("18446744073709551615T").is_err());
    }

    #[test]
    fn java_release_strings() {
        let temurin17 = "IMPLEMENTOR=\"Eclipse Adoptium\"\nJAVA_VERSION=\"17.0.2\"\nJAVA_VERSION_DATE=\"2022-01-18\"\n";
        assert_eq!(java_release_version(temurin17), Some(17));
        let date_first = "JAVA_VERSION_DATE=\"2023-10-17\"\nJAVA_VERSION=\"21.0.1\"\n";
        assert_eq!(java_release_version(date_first), Some(21));
        assert_eq!(
            java_release_version("JAVA_VERSION=\"1.8.0_392\"\n"),
            Some(8)
        );
        assert_eq!(java_release_version("JAVA_VERSION=\"25\"\r\n"), Some(25));
        assert_eq!(java_release_version("JAVA_VERSION=\"26-ea\""), Some(26));
        assert_eq!(java_release_version("JAVA_VERSION=11.0.21"), Some(11));
        assert_eq!(java_release_version("JAVA_VERSION=\"\""), None);
        assert_eq!(java_release_version("IMPLEMENTOR=x\n"), None);
    }

    #[test]
    fn facts_from_a_fake_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, CPU_ONLINE, "0-3\n");
        write(root, MEMINFO, "MemTotal:        8388608 kB\n");
        write(root, OSRELEASE, "6.1.0-18-amd64\n");
        write(root, FIB_TRIE, fib_private());
        let jdk = tempfile::tempdir().unwrap();
        write(jdk.path(), "release", "JAVA_VERSION=\"17.0.9\"\n");
        let f = detect_with(root, &Overrides::default(), Some(jdk.path().to_path_buf()));
        assert_eq!(f.cores, Fact::new(4, CPU_ONLINE));
        assert_eq!(f.memory_mb, Fact::new(8192, MEMINFO));
        assert_eq!(
            f.kernel,
            Some(Fact::new("6.1.0-18-amd64".to_string(), OSRELEASE))
        );
        assert_eq!(f.java, Some(Fact::new(17, "$JAVA_HOME/release")));
        assert_eq!(f.nat, Fact::new(Nat::Yes, FIB_TRIE));
        assert_eq!(f.nat_verdict, NatVerdict::BehindNat);
        // One more signal than before: the NAT rules could not be checked.
        assert_eq!(
            f.nat_signals,
            [
                "interface address 10.0.0.5 is private (RFC 1918)",
                "interface address 172.17.0.1 is private (RFC 1918)",
                "not readable without root: iptables/nft rules not checked",
            ]
        );
        assert_eq!(f.distro, None);
        assert_eq!(f.cloud, None);
        assert_eq!(f.container, None);
        assert_eq!(f.proc_sys_read_only, None);
    }

    #[test]
    fn overrides_win() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, CPU_ONLINE, "0-3\n");
        write(root, MEMINFO, "MemTotal:        8388608 kB\n");
        write(root, FIB_TRIE, fib_private());
        let jdk = tempfile::tempdir().unwrap();
        write(jdk.path(), "release", "JAVA_VERSION=\"11.0.2\"\n");
        let ov = Overrides {
            cores: Some(16),
            memory_mb: Some(32768),
            nat: Some(NatArg::No),
            java_version: Some(21),
            java_home: None,
            kernel: Some("5.15.0-91-generic".into()),
        };
        let f = detect_with(root, &ov, Some(jdk.path().to_path_buf()));
        assert_eq!(f.cores, Fact::new(16, "--cores"));
        assert_eq!(f.memory_mb, Fact::new(32768, "--memory"));
        assert_eq!(f.nat, Fact::new(Nat::No, "--nat"));
        assert_eq!(f.nat_verdict, NatVerdict::None);
        assert_eq!(f.nat_signals, ["set by --nat no"]);
        assert_eq!(f.java, Some(Fact::new(21, "--java-version")));
        assert_eq!(
            f.kernel,
            Some(Fact::new("5.15.0-91-generic".to_string(), "--kernel"))
        );

        let ov = Overrides {
            nat: Some(NatArg::Yes),
            java_home: Some(jdk.path().to_path_buf()),
            ..Overrides::default()
        };
        let f = detect_with(root, &ov, None);
        assert_eq!(f.nat.value, Nat::Yes);
        assert_eq!(f.nat_verdict, NatVerdict::BehindNat);
        assert_eq!(f.nat_evidence[0].name, "flag");
        assert_eq!(f.java, Some(Fact::new(11, "--java-home release file")));

        // `--nat auto` detects.
        let ov = Overrides {
            nat: Some(NatArg::Auto),
            ..Overrides::default()
        };
        assert_eq!(detect_with(root, &ov, None).nat.source, FIB_TRIE);
    }

    #[test]
    fn flag_overrides_detection() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, FIB_TRIE, fib_trie(&[("203.0.113.7", 24)]));
        let (fact, signals) = detect_nat(root, Some(NatArg::Yes));
        assert_eq!(fact, Fact::new(NatVerdict::BehindNat, "--nat"));
        assert_eq!(
            signals,
            [NatSignal {
                name: "flag".to_string(),
                detail: "set by --nat yes".to_string()
            }]
        );
        write(root, FIB_TRIE, fib_private());
        assert_eq!(detect_nat(root, Some(NatArg::No)).0.value, NatVerdict::None);
        assert_eq!(
            detect_nat(root, Some(NatArg::Auto)).0.value,
            NatVerdict::BehindNat
        );
    }

    #[test]
    fn nat_public_cgnat_and_bridges() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        // Was `no`: 203.0.113.7 is TEST-NET-3 (documentation), not globally reachable, so it
        // now decides nothing (more precise; see the IANA special-purpose registry).
        write(root, FIB_TRIE, fib_trie(&[("203.0.113.7", 24)]));
        let f = detect_with(root, &Overrides::default(), None);
        assert_eq!(f.nat.value, Nat::Unknown);
        assert_eq!(f.nat_verdict, NatVerdict::Unknown);
        assert_eq!(f.nat_evidence[0].name, "special-address");

        write(root, FIB_TRIE, fib_trie(&[("88.99.12.7", 24)]));
        let f = detect_with(root, &Overrides::default(), None);
        assert_eq!(f.nat, Fact::new(Nat::No, FIB_TRIE));
        assert_eq!(f.nat_verdict, NatVerdict::None);
        assert_eq!(
            f.nat_signals,
            [
                "interface address 88.99.12.7 is globally reachable",
                "not readable without root: iptables/nft rules not checked",
            ]
        );

        // A container host with a public address still performs NAT.
        write(root, IP_FORWARD, "1\n");
        std::fs::create_dir_all(root.join("sys/class/net/eth0")).unwrap();
        std::fs::create_dir_all(root.join("sys/class/net/docker0")).unwrap();
        let f = detect_with(root, &Overrides::default(), None);
        assert_eq!(f.nat.value, Nat::Yes);
        assert_eq!(f.nat_verdict, NatVerdict::PerformsNat);
        assert_eq!(f.nat.source, "proc/sys/net/ipv4/ip_forward, sys/class/net");
        assert!(
            f.nat_signals
                .contains(&"container/CNI interfaces: docker0".to_string()),
            "{:?}",
            f.nat_signals
        );

        // Bridges without forwarding are not NAT.
        write(root, IP_FORWARD, "0\n");
        assert_eq!(
            detect_with(root, &Overrides::default(), None).nat.value,
            Nat::No
        );

        write(
            root,
            FIB_TRIE,
            "Local:\n  +-- 100.64.0.0/10 2 0 2\n     |-- 100.100.3.4\n        /32 host LOCAL\n",
        );
        let f = detect_with(root, &Overrides::default(), None);
        assert_eq!(f.nat.value, Nat::Yes);
        assert_eq!(f.nat_verdict, NatVerdict::BehindNat);
        assert_eq!(
            f.nat_signals[0],
            "interface address 100.100.3.4 is in the shared address space (RFC 6598, carrier-grade NAT)"
        );
    }

    #[test]
    fn nat_unknown_without_addresses() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let f = detect_with(root, &Overrides::default(), None);
        assert_eq!(f.nat.value, Nat::Unknown);
        assert_eq!(
            f.nat_signals[0],
            "no interface addresses readable under the root (proc/net/fib_trie, proc/net/if_inet6)"
        );
        write(
            root,
            FIB_TRIE,
            "Main:\n     |-- 127.0.0.1\n        /32 host LOCAL\n",
        );
        let f = detect_with(root, &Overrides::default(), None);
        assert_eq!(f.nat.value, Nat::Unknown);
        assert_eq!(
            f.nat_signals[0],
            "no non-loopback interface address in proc/net/fib_trie"
        );
        // Every evidence detail, and only those, is a legacy signal.
        let details: Vec<_> = f.nat_evidence.iter().map(|s| s.detail.clone()).collect();
        assert_eq!(f.nat_signals, details);
    }

    #[test]
    fn platform_facts_are_filled() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "etc/os-release", "ID=ubuntu\nVERSION_ID=\"22.04\"\n");
        write(root, "sys/class/dmi/id/sys_vendor", "Amazon EC2\n");
        write(root, ".dockerenv", "");
        write(
            root,
            "proc/self/mountinfo",
            "33 25 0:30 / /proc/sys ro,nosuid,nodev,noexec,relatime - proc proc rw\n",
        );
        let f = detect_with(root, &Overrides::default(), None);
        assert_eq!(f.distro.map(|d| d.id), Some("ubuntu".to_string()));
        assert_eq!(f.cloud.map(|c| c.value), Some("aws".to_string()));
        assert_eq!(f.container.map(|c| c.value), Some("docker".to_string()));
        assert_eq!(f.proc_sys_read_only, Some(true));
        // A cloud VM without readable addresses is still behind NAT.
        assert_eq!(f.nat_verdict, NatVerdict::BehindNat);
        assert_eq!(f.nat, Fact::new(Nat::Yes, "sys/class/dmi/id"));
    }
    #[test]
    fn missing_or_empty_root_falls_back_without_panicking() {
        let empty = tempfile::tempdir().unwrap();
        for root in [
            PathBuf::from("/nonexistent/apim-tune-test-root"),
            empty.path().to_path_buf(),
        ] {
            let f = detect_with(&root, &Overrides::default(), None);
            // Issue 13: never this machine's CPUs for another root.
            assert_eq!(
                f.cores,
                Fact::new(0, "not detected under --root (give --cores)")
            );
            assert!(f.memory_mb.source == "live system" || f.memory_mb.source == "not detected");
            assert_eq!(f.kernel, None);
            assert_eq!(f.java, None);
            assert_eq!(f.nat.value, Nat::Unknown);
        }
        // A JAVA_HOME without a release file says nothing.
        let jdk = tempfile::tempdir().unwrap();
        let f = detect_with(
            Path::new("/nonexistent"),
            &Overrides::default(),
            Some(jdk.path().to_path_buf()),
        );
        assert_eq!(f.java, None);
    }

    #[test]
    fn memory_under_a_root_never_comes_from_this_machine() {
        let empty = tempfile::tempdir().unwrap();
        let f = detect_with(empty.path(), &Overrides::default(), None);
        assert_eq!(f.memory_mb, Fact::new(0, "not detected"));
    }

    #[test]
    fn live_root_kernel_comes_from_somewhere() {
        // On `/`, the kernel is read from proc or, failing that, uname; either way it is known.
        let f = detect_with(Path::new("/"), &Overrides::default(), None);
        assert!(f.kernel.is_some());
    }

    /// The `use` declarations of a source text, each joined onto one line.
    fn uses(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut current: Option<String> = None;
        for line in text.lines() {
            let code = line.split("//").next().unwrap_or("").trim();
            let part = match current.take() {
                Some(open) => open + code,
                None if code.starts_with("use ") || code.starts_with("pub use ") => code.into(),
                None => continue,
            };
            if part.ends_with(';') {
                out.push(part);
            } else {
                current = Some(part);
            }
        }
        out
    }

    /// Data flows one way: `detect` calls the readers, and no reader reaches back into it.
    #[test]
    fn the_readers_never_import_detect() {
        let readers = [
            ("cloud.rs", include_str!("cloud.rs")),
            ("container.rs", include_str!("container.rs")),
            ("nat.rs", include_str!("nat.rs")),
            ("os_release.rs", include_str!("os_release.rs")),
            ("limits.rs", include_str!("limits.rs")),
            ("process.rs", include_str!("process.rs")),
            ("sysctl.rs", include_str!("sysctl.rs")),
            ("systemd.rs", include_str!("systemd.rs")),
        ];
        let imports_detect = |u: &String| u.contains("detect");
        for (name, text) in readers {
            let offenders: Vec<String> = uses(text).into_iter().filter(imports_detect).collect();
            assert!(offenders.is_empty(), "{name}: {offenders:?}");
        }
        // The scan sees an import split over lines.
        let broken = "use super::{\n    Fact,\n    detect::NatArg,\n};\n";
        assert!(uses(broken).iter().any(imports_detect));
    }
}

#[cfg(test)]
mod jaxp_tests {
    use super::jaxp_entity_limit;

    #[test]
    fn the_last_uncommented_assignment_wins() {
        let text = "# jdk.xml.entityExpansionLimit=1\n! jdk.xml.entityExpansionLimit=2\njdk.xml.entityExpansionLimit = 2500\njdk.xml.entityExpansionLimit: 0\n";
        let f = jaxp_entity_limit(text, "conf/jaxp.properties").unwrap();
        assert_eq!(
            (f.value.as_str(), f.source.as_str()),
            ("0", "conf/jaxp.properties:4")
        );
        for bad in [
            "",
            "jdk.xml.entityExpansionLimit",
            "\u{0}\u{1}==",
            "jdk.xml.entityExpansionLimitX=5\n",
        ] {
            assert_eq!(jaxp_entity_limit(bad, "f"), None, "{bad:?}");
        }
    }
}
