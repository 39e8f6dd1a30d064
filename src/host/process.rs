//! Running API-M JVMs, read from `proc/<pid>` under the root.
//!
//! Owns: recognising an API-M JVM by its command line, and reading what it actually got: its
//! live open-file and process limits (`proc/<pid>/limits`), heap flags, `carbon.home`, and the
//! java binary it runs. Must not: judge a value, signal or attach to a process, or print. The
//! live limits matter because a service ignores `limits.conf` and HotSpot raises its own soft
//! `NOFILE` to the hard limit (`-XX:+MaxFDLimit`), so only `/proc` tells what the JVM has.

use crate::host::limits::LimitValue;
use crate::source::Listing;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The main class every Carbon-based product (API-M included) starts with.
const BOOTSTRAP_CLASS: &str = "org.wso2.carbon.bootstrap.Bootstrap";
const CARBON_HOME_ARG: &str = "-Dcarbon.home=";

/// One running API-M JVM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JvmProcess {
    pub pid: u32,
    /// From the last `-Dcarbon.home=` argument (the JVM keeps the last `-D` for a key).
    pub carbon_home: Option<String>,
    /// `Max open files` (soft, hard) from `proc/<pid>/limits`.
    pub nofile: Option<(LimitValue, LimitValue)>,
    /// `Max processes` (soft, hard): on Linux it counts threads, which a busy gateway has many of.
    pub nproc: Option<(LimitValue, LimitValue)>,
    /// Value of the last `-Xmx` / `-Xms` argument as written (`2g`, `1024m`): the JVM uses the last.
    pub xmx: Option<String>,
    pub xms: Option<String>,
    /// The last `-Dprofile=` argument: the WSO2 profile (role) the JVM was started with.
    pub profile: Option<String>,
    /// The JVM's own options: the arguments after the executable and before the main class
    /// (the bootstrap class). Options the JVM read from `JAVA_TOOL_OPTIONS` or `_JAVA_OPTIONS`
    /// are not on the command line and not here. May hold secrets (`-D…Password=`).
    pub jvm_args: Vec<String>,
    /// Target of `proc/<pid>/exe` when readable (it is not for another user's process without
    /// privileges), else `argv[0]`. A target ending in ` (deleted)` means the JDK was replaced
    /// under the running JVM; it is kept as the kernel shows it.
    pub exe: Option<String>,
    /// The directory above `bin/java` in `exe`, when `exe` is an absolute `…/bin/java`.
    pub java_home: Option<String>,
    /// The real uid from the `Uid:` line of `proc/<pid>/status`: the account API-M runs as,
    /// whose limits matter when no systemd unit starts it.
    pub uid: Option<u32>,
    /// `proc/<pid>`, naming where the facts came from.
    pub source: String,
}

/// Every API-M JVM under `root`'s `proc/`, by pid: processes whose command line has the Carbon
/// bootstrap class or a `-Dcarbon.home=` argument as a whole argument. A process that exits
/// while it is being read (no `cmdline` any more) is skipped silently; so are kernel threads,
/// whose `cmdline` is empty.
pub fn find_apim_processes(root: &Path) -> Vec<JvmProcess> {
    // `proc` is resolved once, and each pid directory the listing shows as a plain directory is
    // not looked up again: a host runs hundreds of processes, and all their command lines are read.
    let Some(proc_dir) = Listing::read(root, "proc") else {
        return Vec::new();
    };
    let mut pids: Vec<u32> = proc_dir
        .names("")
        .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        .filter_map(|n| n.parse().ok())
        .collect();
    // The listing sorts by bytes ("10" before "9"); pids read better in numeric order.
    pids.sort_unstable();
    pids.into_iter()
        .filter_map(|pid| read_process(root, &proc_dir, pid))
        .collect()
}

fn read_process(root: &Path, proc_dir: &Listing, pid: u32) -> Option<JvmProcess> {
    let dir = format!("proc/{pid}");
    // A file of the pid directory; `None` when it is gone or unreadable: the process may have
    // exited, or belong to another user.
    let read_bytes = |name: &str| {
        let path = proc_dir.resolve(root, &format!("{pid}/{name}")).ok()?;
        crate::source::read_bytes(&path).ok()
    };
    let cmdline = read_bytes("cmdline")?;
    // Arguments are NUL-terminated; they need not be UTF-8, and only ASCII parts are looked at.
    let text = String::from_utf8_lossy(&cmdline);
    let args: Vec<&str> = text.split('\0').filter(|a| !a.is_empty()).collect();
    let is_apim = args
        .iter()
        .skip(1)
        .any(|a| *a == BOOTSTRAP_CLASS || a.starts_with(CARBON_HOME_ARG));
    if !is_apim {
        return None;
    }
    let last_with = |prefix: &str| {
        args.iter()
            .rev()
            .find_map(|a| a.strip_prefix(prefix))
            .map(str::to_string)
    };
    let limits = read_bytes("limits")
        .map(|b| parse_proc_limits(&String::from_utf8_lossy(&b)))
        .unwrap_or_default();
    let exe = read_exe_link(root, proc_dir, pid).or_else(|| args.first().map(|a| a.to_string()));
    let java_home = exe.as_deref().and_then(java_home_of);
    Some(JvmProcess {
        pid,
        carbon_home: last_with(CARBON_HOME_ARG),
        nofile: limits.get("Max open files").copied(),
        nproc: limits.get("Max processes").copied(),
        xmx: last_with("-Xmx"),
        xms: last_with("-Xms"),
        profile: last_with("-Dprofile=").filter(|p| !p.is_empty()),
        jvm_args: args
            .iter()
            .skip(1)
            .take_while(|a| **a != BOOTSTRAP_CLASS)
            .map(|a| a.to_string())
            .collect(),
        exe,
        java_home,
        uid: read_bytes("status").and_then(|b| real_uid(&String::from_utf8_lossy(&b))),
        source: dir,
    })
}

/// The real uid of a `proc/<pid>/status` text: the first of the four ids on its `Uid:` line
/// (real, effective, saved, filesystem).
fn real_uid(status: &str) -> Option<u32> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_ascii_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The target of `proc/<pid>/exe`, read as a link and never followed: under a fake root the
/// target names a path on the audited host, not on this one.
fn read_exe_link(root: &Path, proc_dir: &Listing, pid: u32) -> Option<String> {
    // The pid directory is resolved inside the root; only the final link is read as is.
    let dir = proc_dir.resolve(root, &pid.to_string()).ok()?;
    let target = std::fs::read_link(dir.join("exe")).ok()?;
    Some(target.to_string_lossy().into_owned())
}

/// `/usr/lib/jvm/java-17/bin/java` → `/usr/lib/jvm/java-17`.
fn java_home_of(exe: &str) -> Option<String> {
    let exe = exe.strip_suffix(" (deleted)").unwrap_or(exe);
    let path = PathBuf::from(exe);
    if !path.is_absolute() || path.file_name()? != "java" {
        return None;
    }
    let bin = path.parent()?;
    if bin.file_name()? != "bin" {
        return None;
    }
    Some(bin.parent()?.to_string_lossy().into_owned())
}

/// Parses the `proc/<pid>/limits` table (`Limit  Soft Limit  Hard Limit  Units`) into
/// name → (soft, hard). The kernel pads columns to fixed widths, but names contain spaces and
/// the units column can be empty, so each row is read from the right: an optional unit word,
/// then hard, then soft; the rest is the name. Rows whose values do not parse (the header)
/// are skipped.
pub fn parse_proc_limits(text: &str) -> BTreeMap<String, (LimitValue, LimitValue)> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let mut words: Vec<&str> = line.split_ascii_whitespace().collect();
        if words.last().is_some_and(|w| LimitValue::parse(w).is_none()) {
            words.pop(); // the unit (`files`, `processes`…)
        }
        if words.len() < 3 {
            continue;
        }
        let hard = words.pop().and_then(LimitValue::parse);
        let soft = words.pop().and_then(LimitValue::parse);
        if let (Some(soft), Some(hard)) = (soft, hard) {
            out.insert(words.join(" "), (soft, hard));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use LimitValue::{Unlimited, Value};

    /// Copied from a real `/proc/self/limits` (kernel 6.x), trailing spaces included.
    const LIMITS: &str = "\
Limit                     Soft Limit           Hard Limit           Units     
Max cpu time              unlimited            unlimited            seconds   
Max file size             unlimited            unlimited            bytes     
Max data size             unlimited            unlimited            bytes     
Max stack size            8388608              unlimited            bytes     
Max core file size        0                    unlimited            bytes     
Max resident set          unlimited            unlimited            bytes     
Max processes             96365                96365                processes 
Max open files            524288               524288               files     
Max locked memory         8388608              8388608              bytes     
Max address space         unlimited            unlimited            bytes     
Max file locks            unlimited            unlimited            locks     
Max pending signals       96365                96365                signals   
Max msgqueue size         819200               819200               bytes     
Max nice priority         0                    0                    
Max realtime priority     0                    0                    
Max realtime timeout      unlimited            unlimited            us        
";

    fn write(root: &Path, rel: &str, bytes: &[u8]) {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }

    #[test]
    fn limits_table_is_parsed_from_the_right() {
        let l = parse_proc_limits(LIMITS);
        assert_eq!(l.len(), 16);
        assert_eq!(l["Max open files"], (Value(524288), Value(524288)));
        assert_eq!(l["Max processes"], (Value(96365), Value(96365)));
        assert_eq!(l["Max stack size"], (Value(8388608), Unlimited));
        assert_eq!(l["Max cpu time"], (Unlimited, Unlimited));
        // Empty units column.
        assert_eq!(l["Max nice priority"], (Value(0), Value(0)));
        assert!(!l.contains_key("Limit Soft Limit Hard Limit"));
        assert!(parse_proc_limits("").is_empty());
        assert!(parse_proc_limits("garbage\nMax open files x y files\n").is_empty());
    }

    #[test]
    fn finds_apim_jvm_and_ignores_others() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            root,
            "proc/4242/cmdline",
            b"/usr/lib/jvm/java-17/bin/java\0-Xms256m\0-Xmx1024m\0\
              -Dcarbon.home=/opt/wso2am-4.2.0\0org.wso2.carbon.bootstrap.Bootstrap\0",
        );
        write(root, "proc/4242/limits", LIMITS.as_bytes());
        write(
            root,
            "proc/4242/status",
            b"Name:\tjava\nUid:\t1001\t1001\t1001\t1001\nGid:\t1001\t1001\t1001\t1001\n",
        );
        // The target does not exist anywhere: it must be read, never followed.
        std::os::unix::fs::symlink(
            "/usr/lib/jvm/java-17-openjdk-amd64/bin/java",
            root.join("proc/4242/exe"),
        )
        .unwrap();
        write(root, "proc/77/cmdline", b"/usr/sbin/sshd\0-D\0");
        write(root, "proc/77/limits", LIMITS.as_bytes());
        // Exited while we listed: the directory stays, its files are gone.
        std::fs::create_dir_all(root.join("proc/999")).unwrap();
        // Kernel thread: empty cmdline.
        write(root, "proc/2/cmdline", b"");
        // Not a pid.
        write(
            root,
            "proc/self/cmdline",
            b"java\0org.wso2.carbon.bootstrap.Bootstrap\0",
        );

        let found = find_apim_processes(root);
        assert_eq!(found.len(), 1);
        let p = &found[0];
        assert_eq!(p.pid, 4242);
        assert_eq!(p.source, "proc/4242");
        assert_eq!(p.carbon_home.as_deref(), Some("/opt/wso2am-4.2.0"));
        assert_eq!(p.xmx.as_deref(), Some("1024m"));
        assert_eq!(p.xms.as_deref(), Some("256m"));
        assert_eq!(p.nofile, Some((Value(524288), Value(524288))));
        assert_eq!(p.nproc, Some((Value(96365), Value(96365))));
        assert_eq!(p.uid, Some(1001));
        assert_eq!(
            p.exe.as_deref(),
            Some("/usr/lib/jvm/java-17-openjdk-amd64/bin/java")
        );
        assert_eq!(
            p.java_home.as_deref(),
            Some("/usr/lib/jvm/java-17-openjdk-amd64")
        );
    }

    #[test]
    fn without_exe_or_limits_falls_back_and_last_flags_win() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            root,
            "proc/10/cmdline",
            b"/opt/jdk/bin/java\0-Xmx1g\0-Xmx2g\0-Dcarbon.home=/a\0-Dcarbon.home=/b\0",
        );
        write(
            root,
            "proc/9/cmdline",
            b"java\0-cp\0x.jar\0org.wso2.carbon.bootstrap.Bootstrap\0",
        );
        let found = find_apim_processes(root);
        assert_eq!(found.iter().map(|p| p.pid).collect::<Vec<_>>(), [9, 10]);
        let (nine, ten) = (&found[0], &found[1]);
        assert_eq!(ten.xmx.as_deref(), Some("2g"));
        assert_eq!(ten.carbon_home.as_deref(), Some("/b"));
        assert_eq!(ten.exe.as_deref(), Some("/opt/jdk/bin/java"));
        assert_eq!(ten.java_home.as_deref(), Some("/opt/jdk"));
        assert_eq!(ten.nofile, None);
        assert_eq!(ten.uid, None);
        assert_eq!(nine.exe.as_deref(), Some("java"));
        assert_eq!(nine.java_home, None);
        assert_eq!(nine.carbon_home, None);
    }

    #[test]
    fn real_uid_is_the_first_id() {
        assert_eq!(real_uid("Name:\tjava\nUid:\t0\t1001\t0\t0\n"), Some(0));
        assert_eq!(real_uid("Name:\tjava\n"), None);
        assert_eq!(real_uid("Uid:\tx\n"), None);
    }

    #[test]
    fn java_home_from_exe() {
        assert_eq!(
            java_home_of("/usr/lib/jvm/java-8/jre/bin/java").as_deref(),
            Some("/usr/lib/jvm/java-8/jre")
        );
        assert_eq!(
            java_home_of("/opt/jdk-17/bin/java (deleted)").as_deref(),
            Some("/opt/jdk-17")
        );
        assert_eq!(java_home_of("/usr/bin/jsvc"), None);
        assert_eq!(java_home_of("bin/java"), None);
    }

    #[test]
    fn missing_proc_finds_nothing() {
        let dir = tempfile::tempdir().unwrap();
        assert!(find_apim_processes(dir.path()).is_empty());
    }
}
