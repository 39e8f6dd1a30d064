//! The host facts as the service gets them: the memory in effect (the smallest of the host's
//! RAM, the units' `MemoryMax=` and the cgroup the service runs in), and which facts stay
//! unknown under a root that does not hold them, with the flag that gives each.
//!
//! Also the account the service runs as, whose limits are judged and written.
//!
//! Reads only; `audit` and `host` both call it, so they show the same facts.

use super::limits::{self, Limits, LimitsUser};
use super::process::JvmProcess;
use super::systemd::{Unit, parse_memory_max};
use super::{Fact, HostFacts};
use std::path::Path;

/// The memory the service gets when something caps it below the host's RAM: the smallest of the
/// units' `MemoryMax=` and the cgroup limit (the container's, or each unit's), with its source
/// and a note that says what the host itself has. `None` when nothing caps it.
pub fn memory(root: &Path, facts: &HostFacts, units: &[&Unit]) -> Option<(Fact<u64>, String)> {
    let ram = facts.memory_mb.value;
    let from_units = units.iter().filter_map(|u| {
        let s = u.memory_max.as_ref()?;
        let mb = parse_memory_max(&s.value, ram)?;
        Some((
            mb,
            format!("`MemoryMax={}` of {} at {}", s.value, u.name, s.location),
        ))
    });
    let names: Vec<&str> = units.iter().map(|u| u.name.as_str()).collect();
    let from_cgroup = super::cgroup::memory_limit(root, facts.container.is_some(), &names)
        .map(|l| (l.mb, format!("the cgroup limit in {}", l.source)));
    let (mb, what) = from_units
        .chain(from_cgroup)
        .filter(|(mb, _)| *mb > 0 && (ram == 0 || *mb < ram))
        .min_by_key(|(mb, _)| *mb)?;
    let host = match ram {
        0 => "the host's memory is unknown".to_string(),
        _ => format!("the host has {ram} MiB"),
    };
    let note = format!("memory in effect: {mb} MiB, {what}; {host}");
    Some((Fact::new(mb, what), note))
}

/// One note per fact the root does not hold, saying what is not judged and how to give it.
/// `home`: an API-M home is audited (the JDK matters only then).
pub fn unknown_notes(facts: &HostFacts, home: bool) -> Vec<String> {
    let mut notes = Vec::new();
    if facts.cores.value == 0 {
        notes.push(
            "cores unknown (the root has no sys/devices/system/cpu/online): give --cores; what scales by cores is not judged"
                .into(),
        );
    }
    if facts.memory_mb.value == 0 {
        notes.push(
            "memory unknown (the root has no proc/meminfo): give --memory, e.g. 16G; what scales by memory is not judged"
                .into(),
        );
    }
    if facts.kernel.is_none() {
        notes.push(
            "kernel unknown (the root has no proc/sys/kernel/osrelease): give --kernel, e.g. 6.1.0-18-amd64; checks that depend on the kernel release are skipped"
                .into(),
        );
    }
    if home && facts.java.is_none() {
        notes.push(
            "JDK unknown (no --java-version, --java-home, $JAVA_HOME, unit JAVA_HOME or running JVM): give --java-version; checks that depend on the JDK are skipped or only warn"
                .into(),
        );
    }
    notes
}

/// apim-tune's drop-in for `unit` under `etc/systemd/system/<unit>.d/`: a name that sorts after
/// every drop-in the unit already has, in any unit directory (systemd applies drop-ins of all
/// directories together, by file name, so the last one wins), hence `zz-apim-tune.conf` or more
/// `z`s. An existing apim-tune drop-in that still sorts last is reused.
pub fn unit_drop_in(unit: &Unit) -> String {
    let names: Vec<String> = unit
        .drop_ins
        .iter()
        .filter_map(|d| d.path.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .collect();
    let name = crate::source::own_name_sorting_last(&names, "zz-apim-tune.conf");
    format!("etc/systemd/system/{}.d/{name}", unit.name)
}

/// Names that suggest the account API-M runs as, seen in WSO2's own deployment scripts.
const APIM_USER_HINTS: &[&str] = &["wso2", "apim", "carbon"];

/// The account API-M really runs as, and how it is known: the `User=` of the systemd unit that
/// runs the home (root when the unit has none: systemd starts services as root), else the real
/// uid of a running API-M JVM of the home, named through `etc/passwd` under the root.
pub fn detected_user(
    root: &Path,
    units: &[Unit],
    processes: &[&JvmProcess],
) -> Option<(String, String)> {
    if let Some(unit) = units.first() {
        return Some(match &unit.user {
            // A numeric `User=` is a uid (systemd.exec(5)); name it when passwd knows it.
            Some(u) => {
                let name = u
                    .value
                    .parse::<u32>()
                    .ok()
                    .and_then(|uid| limits::user_of_uid(root, uid))
                    .unwrap_or_else(|| u.value.clone());
                (name, format!("`User=` of {} at {}", unit.name, u.location))
            }
            None => (
                "root".into(),
                format!("{} has no `User=`: systemd runs it as root", unit.name),
            ),
        });
    }
    processes.iter().find_map(|p| {
        let uid = p.uid?;
        let name = limits::user_of_uid(root, uid)?;
        Some((
            name,
            format!("uid {uid} of the running API-M JVM ({})", p.source),
        ))
    })
}

/// The user whose limits matter: `--user`; else the account API-M runs as ([`detected_user`]);
/// else one named like an API-M account in the limits files; else the owner of the API-M home
/// (when not root); else any non-root user (`*`), and the header says so.
pub fn choose_user(
    root: &Path,
    flag: Option<&str>,
    limits: &Limits,
    units: &[Unit],
    processes: &[&JvmProcess],
    home: Option<&Path>,
) -> LimitsUser {
    let make = |name: String, chosen_by: String| LimitsUser {
        groups: limits::groups_of(root, &name),
        name,
        chosen_by,
    };
    let detected = detected_user(root, units, processes);
    if let Some(u) = flag {
        // The operator's word wins, but a disagreement with what runs is worth seeing.
        let chosen_by = match &detected {
            Some((name, how)) if name != u => format!("--user; API-M runs as `{name}` ({how})"),
            _ => "--user".into(),
        };
        return make(u.to_string(), chosen_by);
    }
    if let Some((name, how)) = detected {
        return make(name, how);
    }
    if let Some(d) = limits
        .domains()
        .into_iter()
        .find(|d| !d.starts_with(['@', '%', '*']) && APIM_USER_HINTS.iter().any(|h| d.contains(h)))
    {
        return make(d, "named in the limits files".into());
    }
    #[cfg(unix)]
    if let Some(home) = home {
        use std::os::unix::fs::MetadataExt;
        if let Ok(meta) = std::fs::metadata(home)
            && meta.uid() != 0
            && let Some(name) = limits::user_of_uid(root, meta.uid())
        {
            return make(name, "owner of the API-M home".into());
        }
    }
    let _ = home;
    LimitsUser {
        name: "*".into(),
        groups: Vec::new(),
        chosen_by: "no API-M user found (no unit `User=`, no running API-M JVM; pass --user): any non-root user".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::testkit::write;

    const PASSWD: &str = "root:x:0:0::/root:/bin/sh\nwso2carbon:x:1001:1001::/h:/bin/sh\n";
    const EXEC: &str = "ExecStart=/opt/wso2am-4.2.0/bin/api-manager.sh start\n";

    fn units(root: &Path, service: &str) -> Vec<Unit> {
        write(root, "etc/systemd/system/wso2am.service", service);
        crate::host::systemd::find_apim_units(root).0
    }

    #[test]
    fn the_units_user_wins_and_a_numeric_one_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "etc/passwd", PASSWD);
        let u = units(root, &format!("[Service]\nUser=1001\n{EXEC}"));
        let (name, how) = detected_user(root, &u, &[]).unwrap();
        assert_eq!(name, "wso2carbon");
        assert!(how.starts_with("`User=` of wso2am.service"), "{how}");
        let u = units(root, &format!("[Service]\n{EXEC}"));
        assert_eq!(detected_user(root, &u, &[]).unwrap().0, "root");
    }

    #[test]
    fn without_a_unit_the_running_jvm_names_the_user_when_passwd_knows_it() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "etc/passwd", PASSWD);
        write(
            root,
            "proc/7/cmdline",
            "java\0-Dcarbon.home=/opt/wso2am-4.2.0\0org.wso2.carbon.bootstrap.Bootstrap\0",
        );
        write(root, "proc/7/status", "Uid:\t1001\t1001\t1001\t1001\n");
        write(
            root,
            "proc/8/cmdline",
            "java\0-Dcarbon.home=/opt/other\0org.wso2.carbon.bootstrap.Bootstrap\0",
        );
        write(root, "proc/8/status", "Uid:\t4242\t4242\t4242\t4242\n");
        let found = crate::host::process::find_apim_processes(root);
        let refs: Vec<&JvmProcess> = found.iter().collect();
        let (name, how) = detected_user(root, &[], &refs).unwrap();
        assert_eq!(name, "wso2carbon");
        assert_eq!(how, "uid 1001 of the running API-M JVM (proc/7)");
        // An uid passwd does not know names nobody: no guess.
        assert_eq!(detected_user(root, &[], &refs[1..]), None);
        // --user wins, and says what runs.
        let u = choose_user(root, Some("apim"), &Limits::default(), &[], &refs, None);
        assert_eq!(u.name, "apim");
        assert!(
            u.chosen_by.contains("API-M runs as `wso2carbon`"),
            "{}",
            u.chosen_by
        );
    }
}
