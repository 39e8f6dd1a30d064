//! The configuration in effect, one source at a time: each test changes one thing in the
//! `unit-env` fake root (a unit whose environment overrides the start script, an env file, a
//! running JVM, a cgroup limit) and asserts the finding, the source it names and where `--diff`
//! writes.

use crate::{CliTest, codes_of};
use serde_json::Value;

const HOME: &str = "wso2am-4.2.0";
const SECRETS: [&str; 2] = ["fixture-keystore-secret", "fixture-db-secret"];

fn write(t: &CliTest, rel: &str, text: &str) {
    let path = t.root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn findings<'a>(v: &'a Value, code: &str) -> Vec<&'a Value> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == code)
        .collect()
}

fn one<'a>(v: &'a Value, code: &str, subject_ends: &str) -> &'a Value {
    let all = findings(v, code);
    let hits: Vec<_> = all
        .iter()
        .filter(|f| f["subject"].as_str().unwrap().ends_with(subject_ends))
        .collect();
    assert_eq!(hits.len(), 1, "one {code} on {subject_ends} in {all:#?}");
    hits[0]
}

fn at(f: &Value) -> String {
    format!("{}:{}", f["file"].as_str().unwrap(), f["line"])
}

fn notes(f: &Value) -> String {
    f["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The files a `--diff` names (`+++ b/…` lines), and the whole diff.
fn diff(t: &CliTest, args: &[&str]) -> (Vec<String>, String) {
    let mut all = vec!["--diff"];
    all.extend_from_slice(args);
    let (_, out, err) = t.run(Some(HOME), &all);
    let files = out
        .lines()
        .filter_map(|l| l.strip_prefix("+++ b/"))
        .map(str::to_string)
        .collect();
    (files, out + &err)
}

fn header(t: &CliTest, args: &[&str]) -> String {
    let (_, out, _) = t.run(Some(HOME), args);
    out.lines()
        .take_while(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_units_environment_and_env_file_are_what_the_jvm_gets() {
    let t = CliTest::new("unit-env");
    let (_, v) = t.json(Some(HOME), &[]);

    // JVM_MEM_OPTS from the unit's Environment= replaces the script's default heap.
    let xmx = one(&v, "JVM001", ":-Xmx");
    assert_eq!(xmx["current"], "1g");
    assert_eq!(at(xmx), "etc/systemd/system/wso2am.service:10");
    assert!(
        notes(xmx)
            .contains("`JVM_MEM_OPTS` of wso2am.service (etc/systemd/system/wso2am.service:10:17)"),
        "{}",
        notes(xmx)
    );
    assert_eq!(
        xmx["fix"]["file"],
        "etc/systemd/system/wso2am.service.d/zz-apim-tune.conf"
    );
    // The fatal GC option rides in the same variable.
    let cms = one(&v, "JVM013", ":-XX:+UseConcMarkSweepGC");
    assert_eq!(cms["severity"], "error");
    assert_eq!(at(cms), "etc/systemd/system/wso2am.service:10");
    // JAVA_OPTS from the EnvironmentFile=: the JDK's own property name, turned off.
    let entity = one(&v, "JVM002", ":-Djdk.xml.entityExpansionLimit");
    assert_eq!(entity["current"], "0");
    assert_eq!(at(entity), "etc/default/wso2am:2");
    assert!(notes(entity).contains("`JAVA_OPTS` of wso2am.service (etc/default/wso2am:2:11)"));
    // The running JVM (pid 7373) still has the script's 2g: a restart would change it.
    let running = one(&v, "PRC002", ":-Xmx");
    assert_eq!(running["file"], "proc/7373/cmdline");
    assert_eq!(running["current"], "-Xmx2g");
    assert!(notes(running).contains("wso2am.service:10:17"));
    // The memory in effect is the unit's cgroup (v2) limit, not the host's 16 GiB.
    assert_eq!(v["host"]["memory_mb"], 4096);
    assert_eq!(
        v["host"]["sources"]["memory_mb"],
        "the cgroup limit in sys/fs/cgroup/system.slice/wso2am.service/memory.max"
    );

    // A fix goes where the value comes from: the env file line in place, the unit through a
    // drop-in; the script, whose default does not run, is left alone.
    let (files, text) = diff(&t, &[]);
    assert_eq!(
        files,
        [
            "etc/default/wso2am",
            "etc/systemd/system/wso2am.service.d/zz-apim-tune.conf"
        ]
    );
    assert!(
        text.contains("+Environment=\"JVM_MEM_OPTS=-Xms2g -Xmx2g\""),
        "{text}"
    );
    assert!(
        text.contains("-Djdk.xml.entityExpansionLimit=10000\""),
        "{text}"
    );
    for secret in SECRETS {
        assert!(!text.contains(secret), "{secret} in the diff:\n{text}");
        let (_, out, err) = t.run(Some(HOME), &[]);
        assert!(
            !out.contains(secret) && !err.contains(secret),
            "{secret} in the text report"
        );
    }
}

#[test]
fn applying_the_environment_fixes_converges() {
    let t = CliTest::new("unit-env");
    let (_, before) = t.json(Some(HOME), &[]);
    let (code, out, err) = t.run(Some(HOME), &["--apply", "--yes"]);
    assert!(code == 0 || code == 1, "{out}{err}");
    let unit_drop_in = std::fs::read_to_string(
        t.root
            .join("etc/systemd/system/wso2am.service.d/zz-apim-tune.conf"),
    )
    .unwrap();
    assert!(unit_drop_in.contains("[Service]\nEnvironment=\"JVM_MEM_OPTS=-Xms2g -Xmx2g\"\n"));
    let env_file = std::fs::read_to_string(t.root.join("etc/default/wso2am")).unwrap();
    // The secret stays on disk as it was (only output masks it), the other lines byte for byte.
    assert!(env_file.contains("-Dcom.example.keystore.password=fixture-keystore-secret -Djdk.xml.entityExpansionLimit=10000\""));
    assert!(env_file.ends_with("DB_PASSWORD=fixture-db-secret\n"));

    let (_, after) = t.json(Some(HOME), &[]);
    let fixable: Vec<_> = after["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["fixable"] == true)
        .collect();
    assert!(fixable.is_empty(), "still fixable: {fixable:#?}");
    let old = codes_of(&before);
    let new: Vec<_> = codes_of(&after)
        .into_iter()
        .filter(|c| !old.contains(c))
        .collect();
    assert!(new.is_empty(), "new findings after the apply: {new:?}");
}

#[test]
fn a_cgroup_v1_limit_is_the_memory_in_effect() {
    let t = CliTest::new("unit-env");
    std::fs::remove_dir_all(t.root.join("sys/fs/cgroup/system.slice")).unwrap();
    write(
        &t,
        "sys/fs/cgroup/memory/system.slice/wso2am.service/memory.limit_in_bytes",
        "3221225472\n",
    );
    let (_, v) = t.json(Some(HOME), &[]);
    assert_eq!(v["host"]["memory_mb"], 3072);
    assert_eq!(
        v["host"]["sources"]["memory_mb"],
        "the cgroup limit in sys/fs/cgroup/memory/system.slice/wso2am.service/memory.limit_in_bytes"
    );
    // The heap fix fits the limit: half of 3072 MiB, into the unit's drop-in.
    assert_eq!(one(&v, "JVM001", ":-Xmx")["expected"], ">= 1536m");
    let (files, text) = diff(&t, &[]);
    assert!(files.contains(&"etc/systemd/system/wso2am.service.d/zz-apim-tune.conf".to_string()));
    assert!(
        text.contains("+Environment=\"JVM_MEM_OPTS=-Xms1536m -Xmx1536m\""),
        "{text}"
    );
    // v1 says "no limit" with a huge number: the host's RAM is then in effect.
    write(
        &t,
        "sys/fs/cgroup/memory/system.slice/wso2am.service/memory.limit_in_bytes",
        "9223372036854771712\n",
    );
    let (_, v) = t.json(Some(HOME), &[]);
    assert_eq!(v["host"]["memory_mb"], 15940);
    assert_eq!(v["host"]["sources"]["memory_mb"], "proc/meminfo");
}

#[test]
fn memory_max_caps_the_heap_and_the_fix_stays_under_it() {
    let t = CliTest::new("unit-env");
    std::fs::remove_dir_all(t.root.join("sys/fs/cgroup")).unwrap();
    write(
        &t,
        "etc/systemd/system/wso2am.service.d/memory.conf",
        "[Service]\nMemoryMax=2560M\n",
    );
    let (_, v) = t.json(Some(HOME), &[]);
    assert_eq!(v["host"]["memory_mb"], 2560);
    assert!(
        v["host"]["sources"]["memory_mb"]
            .as_str()
            .unwrap()
            .contains("`MemoryMax=2560M` of wso2am.service at etc/systemd/system/wso2am.service.d/memory.conf:2:11")
    );
    // The profile's 2g minimum does not fit: it is capped at half of 2560 MiB.
    let xmx = one(&v, "JVM001", ":-Xmx");
    assert_eq!(xmx["expected"], ">= 1280m");
    assert!(notes(xmx).contains("capped at what the memory in effect allows"));
    let (_, text) = diff(&t, &[]);
    assert!(
        text.contains("+Environment=\"JVM_MEM_OPTS=-Xms1280m -Xmx1280m\""),
        "{text}"
    );

    // A heap above what MemoryMax= allows is JVM011 with the unit as the memory's source.
    write(
        &t,
        "etc/systemd/system/wso2am.service.d/heap.conf",
        "[Service]\nEnvironment=\"JVM_MEM_OPTS=-Xms2g -Xmx2g\"\n",
    );
    let (_, v) = t.json(Some(HOME), &[]);
    let big = one(&v, "JVM011", ":-Xmx");
    assert_eq!(at(big), "etc/systemd/system/wso2am.service.d/heap.conf:2");
    assert!(notes(big).contains("MemoryMax=2560M"), "{}", notes(big));
}

#[test]
fn each_server_role_is_the_default_role() {
    let t = CliTest::new("unit-env");
    let toml = t
        .root
        .join("opt/wso2am-4.2.0/repository/conf/deployment.toml");
    let original = std::fs::read_to_string(&toml).unwrap();
    for (written, role) in [
        ("default", "all-in-one"),
        ("gateway-worker", "gateway"),
        ("control-plane", "control-plane"),
        ("traffic-manager", "traffic-manager"),
        ("api-key-manager-deprecated", "key-manager"),
    ] {
        std::fs::write(
            &toml,
            original.replacen(
                "[server]\n",
                &format!("[server]\nserver_role = \"{written}\"\n"),
                1,
            ),
        )
        .unwrap();
        let head = header(&t, &[]);
        assert!(
            head.contains(&format!(
                "role `{role}` from server_role in deployment.toml (`{written}`)"
            )),
            "{written}: {head}"
        );
        assert!(
            head.contains(&format!("(role {role},")),
            "{written}: {head}"
        );
        let (_, v) = t.json(Some(HOME), &[]);
        assert!(findings(&v, "APM016").is_empty(), "{written}");
    }
    // A --role that disagrees with the node is a warning at the line that declares the role.
    let (_, v) = t.json(Some(HOME), &["--role", "gateway"]);
    let f = &findings(&v, "APM016")[0];
    assert_eq!(f["severity"], "warning");
    assert_eq!(at(f), "opt/wso2am-4.2.0/repository/conf/deployment.toml:3");
    assert_eq!(f["expected"], "key-manager");
}

#[test]
fn dprofile_on_the_unit_and_on_the_running_jvm() {
    let t = CliTest::new("unit-env");
    let unit = t.root.join("etc/systemd/system/wso2am.service");
    let text = std::fs::read_to_string(&unit).unwrap();
    std::fs::write(
        &unit,
        text.replace(
            "api-manager.sh start",
            "api-manager.sh start -Dprofile=gateway-worker",
        ),
    )
    .unwrap();
    let head = header(&t, &[]);
    assert!(
        head.contains(
            "role `gateway` from -Dprofile in wso2am.service's ExecStart (`gateway-worker`)"
        ),
        "{head}"
    );
    // The running JVM is what runs: its -Dprofile wins over the unit's.
    write(
        &t,
        "proc/7373/cmdline",
        "/usr/lib/jvm/java-17-openjdk-amd64/bin/java\0-Xmx2g\0-Dprofile=traffic-manager\0-Dcarbon.home=/opt/wso2am-4.2.0\0org.wso2.carbon.bootstrap.Bootstrap\0",
    );
    let head = header(&t, &[]);
    assert!(
        head.contains("role `traffic-manager` from -Dprofile of the running JVM (proc/7373)"),
        "{head}"
    );
}

#[test]
fn a_root_without_proc_and_sys_leaves_those_facts_unknown() {
    let t = CliTest::new("unit-env");
    std::fs::remove_dir_all(t.root.join("proc")).unwrap();
    std::fs::remove_dir_all(t.root.join("sys")).unwrap();
    let head = header(&t, &[]);
    assert!(
        head.contains(
            "cores unknown (the root has no sys/devices/system/cpu/online): give --cores"
        ),
        "{head}"
    );
    assert!(
        head.contains("memory unknown (the root has no proc/meminfo): give --memory"),
        "{head}"
    );
    let (_, v) = t.json(Some(HOME), &[]);
    // Nothing the tool's own machine has leaks in.
    assert_eq!(v["host"]["cores"], 0);
    assert_eq!(v["host"]["memory_mb"], 0);
    // A heap is not judged against memory nobody knows, and no running JVM is invented.
    assert!(findings(&v, "JVM011").is_empty() && findings(&v, "PRC002").is_empty());
    // Given, they are used and named as given.
    let (_, v) = t.json(
        Some(HOME),
        &[
            "--cores",
            "8",
            "--memory",
            "8G",
            "--kernel",
            "6.1.0-18-amd64",
        ],
    );
    assert_eq!(v["host"]["cores"], 8);
    assert_eq!(v["host"]["memory_mb"], 8192);
    assert_eq!(v["host"]["kernel"], "6.1.0-18-amd64");
    assert_eq!(v["host"]["sources"]["kernel"], "--kernel");
    assert!(
        !v["notes"].to_string().contains("unknown ("),
        "{}",
        v["notes"]
    );
    // A bare number is not silently MiB.
    let out = t.audit(Some(HOME), &["--memory", "16"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unit"));
}

#[test]
fn the_host_command_shows_the_same_facts_in_effect() {
    let t = CliTest::new("unit-env");
    let host = |args: &[&str]| {
        let out = t.command("host", None, args).output().unwrap();
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let text = host(&[]);
    assert!(
        text.contains("memory     4096 MiB (the cgroup limit in sys/fs/cgroup/system.slice/wso2am.service/memory.max)"),
        "{text}"
    );
    assert!(text.contains("the host has 15940 MiB"), "{text}");
    let json: Value = serde_json::from_str(&host(&["--format", "json"])).unwrap();
    assert_eq!(json["memory_mb"], 4096);
    // --memory wins over the cap, as in the audit.
    assert!(host(&["--memory", "8G"]).contains("memory     8192 MiB (--memory)"));

    std::fs::remove_dir_all(t.root.join("proc")).unwrap();
    std::fs::remove_dir_all(t.root.join("sys")).unwrap();
    let text = host(&[]);
    for fact in ["cores", "memory", "kernel"] {
        assert!(
            text.contains(&format!("note       {fact} unknown")),
            "{text}"
        );
    }
    assert!(host(&["--kernel", "6.1.0-18-amd64"]).contains("kernel     6.1.0-18-amd64 (--kernel)"));
}

/// Review findings (issue 13): a drop-in that sorts after `zz-apim-tune.conf` must not override
/// the fix, and a secret `-D` option that opens a variable's value is masked like any other.
#[test]
fn a_later_drop_in_does_not_override_the_fix_and_a_leading_secret_is_masked() {
    let t = CliTest::new("unit-env");
    write(
        &t,
        "etc/systemd/system/wso2am.service.d/zzz-local.conf",
        "[Service]\nEnvironment=\"JVM_MEM_OPTS=-Xms1g -Xmx1g\"\nEnvironment=JAVA_OPTS=-Dcom.example.oauth.client.secret=fixture-client-secret\\s-Djdk.xml.entityExpansionLimit=0\n",
    );
    let (files, text) = diff(&t, &[]);
    // JAVA_OPTS still comes from the environment file, which overrides every Environment=.
    assert_eq!(
        files,
        [
            "etc/default/wso2am",
            "etc/systemd/system/wso2am.service.d/zzzz-apim-tune.conf"
        ],
        "{text}"
    );
    // Without the (optional) file, the drop-in's JAVA_OPTS is the one to override: it carries
    // the secret into the new drop-in, and the diff masks it.
    std::fs::remove_file(t.root.join("etc/default/wso2am")).unwrap();
    let (files, text) = diff(&t, &[]);
    assert_eq!(
        files,
        ["etc/systemd/system/wso2am.service.d/zzzz-apim-tune.conf"],
        "{text}"
    );
    assert!(
        text.contains("JAVA_OPTS=-Dcom.example.oauth.client.secret="),
        "{text}"
    );
    assert!(!text.contains("fixture-client-secret"), "{text}");
    let (_, out, _) = t.run(Some(HOME), &["--format", "markdown", "--diff"]);
    assert!(!out.contains("fixture-client-secret"), "{out}");
    let (code, out, err) = t.run(Some(HOME), &["--apply", "--yes"]);
    assert!(matches!(code, 0 | 1), "{out}{err}");
    let (_, v) = t.json(Some(HOME), &[]);
    let fixable: Vec<_> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["fixable"] == true)
        .map(|f| f["code"].clone())
        .collect();
    assert!(fixable.is_empty(), "{fixable:?}");
}

/// Review finding (issue 13): `-Xmx` from the unit's `JAVA_OPTS`, `-Xms` from the script's
/// default. The -Xms fix follows the -Xmx the same apply writes in the other file, so the next
/// audit finds them equal.
#[test]
fn xms_follows_an_xmx_fixed_in_another_file() {
    let t = CliTest::new("unit-env");
    let unit = t.root.join("etc/systemd/system/wso2am.service");
    let text = std::fs::read_to_string(&unit)
        .unwrap()
        .replace(
            "\"JVM_MEM_OPTS=-Xms1g -Xmx1g -XX:+UseConcMarkSweepGC\"",
            "JAVA_OPTS=-Xmx1g",
        )
        .replace("EnvironmentFile=-/etc/default/wso2am\n", "");
    std::fs::write(&unit, text).unwrap();
    let (_, v) = t.json(Some(HOME), &[]);
    assert_eq!(one(&v, "JVM012", ":-Xms")["expected"], "1g");
    let (code, out, err) = t.run(Some(HOME), &["--apply", "--yes"]);
    assert!(matches!(code, 0 | 1), "{out}{err}");
    let script =
        std::fs::read_to_string(t.root.join("opt/wso2am-4.2.0/bin/api-manager.sh")).unwrap();
    assert!(
        script.contains("JVM_MEM_OPTS=\"-Xms2g -Xmx1024m\""),
        "{script}"
    );
    let (_, v) = t.json(Some(HOME), &[]);
    assert!(findings(&v, "JVM012").is_empty() && findings(&v, "JVM001").is_empty());
}

/// Review findings (issue 13): `EnvironmentFile=` with a specifier of the unit's name or a
/// wildcard names the file systemd reads; `%%` in an `Environment=` value is one `%`, and
/// written back as `%%`; a specifier that depends on the machine (`%h`) makes the file unknown.
#[test]
fn specifiers_and_wildcards_in_the_units_environment() {
    let t = CliTest::new("unit-env");
    let unit = t.root.join("etc/systemd/system/wso2am.service");
    let original = std::fs::read_to_string(&unit).unwrap();
    let with = |from: &str, to: &str| std::fs::write(&unit, original.replace(from, to)).unwrap();

    // %N is the unit's name without `.service`: the same file as before.
    with(
        "EnvironmentFile=-/etc/default/wso2am",
        "EnvironmentFile=/etc/default/%N",
    );
    let (_, v) = t.json(Some(HOME), &[]);
    assert_eq!(
        at(one(&v, "JVM002", ":-Djdk.xml.entityExpansionLimit")),
        "etc/default/wso2am:2"
    );
    assert!(
        findings(&v, "SRC002").is_empty(),
        "{:#?}",
        findings(&v, "SRC002")
    );

    // A wildcard: every match in name order, the last one's value winning.
    write(
        &t,
        "etc/default/wso2am.d/10-base",
        "JAVA_OPTS=-Djdk.xml.entityExpansionLimit=0\n",
    );
    write(
        &t,
        "etc/default/wso2am.d/20-site",
        "JAVA_OPTS=-Djdk.xml.entityExpansionLimit=200000\n",
    );
    with(
        "EnvironmentFile=-/etc/default/wso2am",
        "EnvironmentFile=-/etc/default/wso2am.d/*",
    );
    let (_, v) = t.json(Some(HOME), &[]);
    let f = one(&v, "JVM002", ":-Djdk.xml.entityExpansionLimit");
    assert_eq!(
        (f["current"].as_str(), at(f).as_str()),
        (Some("200000"), "etc/default/wso2am.d/20-site:1")
    );

    // %h depends on the machine: the file's variables are unknown, and the audit says so.
    with(
        "EnvironmentFile=-/etc/default/wso2am",
        "EnvironmentFile=-%h/wso2am.env",
    );
    let (_, v) = t.json(Some(HOME), &[]);
    let problem = &findings(&v, "SRC002")[0];
    assert!(
        problem["message"]
            .as_str()
            .unwrap()
            .contains("`%h` depends on the machine"),
        "{problem}"
    );

    // A required wildcard that matches nothing stops the service, as a missing file does.
    with(
        "EnvironmentFile=-/etc/default/wso2am",
        "EnvironmentFile=/etc/default/nomatch*",
    );
    let (_, v) = t.json(Some(HOME), &[]);
    assert!(
        findings(&v, "SRC002")
            .iter()
            .any(|f| f["message"].as_str().unwrap().contains("matches no file")),
        "{:#?}",
        findings(&v, "SRC002")
    );

    // A specifier systemd resolves on the machine (`%t`) cannot be told from a `%%t` once read:
    // the variable is left to a person rather than rewritten wrong.
    with(
        "EnvironmentFile=-/etc/default/wso2am",
        "Environment=\"JAVA_OPTS=-Xlog:gc*:file=/var/log/gc-%t.log -Djdk.xml.entityExpansionLimit=0\"",
    );
    let (files, text) = diff(&t, &[]);
    assert!(
        !text.contains("gc-%t") && !text.contains("gc-%%t"),
        "{text}"
    );
    assert!(!files.is_empty());

    // `%%p` is `%p` for the JVM; rewritten through the drop-in it stays `%%p`.
    with(
        "EnvironmentFile=-/etc/default/wso2am",
        "Environment=\"JAVA_OPTS=-XX:ErrorFile=/var/log/hs_err_%%p.log -Djdk.xml.entityExpansionLimit=0\"",
    );
    let (files, text) = diff(&t, &[]);
    assert_eq!(
        files,
        ["etc/systemd/system/wso2am.service.d/zz-apim-tune.conf"]
    );
    assert!(
        text.contains(
            "JAVA_OPTS=-XX:ErrorFile=/var/log/hs_err_%%p.log -Djdk.xml.entityExpansionLimit=10000"
        ),
        "{text}"
    );
}
