//! The JVM options the next start of API-M gives: the start script's java command line, with
//! the variables the service's environment sets (systemd `Environment=` and `EnvironmentFile=`
//! of the unit that runs the home) in place of the script's own.
//!
//! Owns: which options the JVM receives and in what order, and where each was written (script
//! line, unit line, environment-file line). The order, lowest precedence first:
//! `JAVA_TOOL_OPTIONS` (read by the JVM before its command line), `JDK_JAVA_OPTIONS` (put in
//! front of the command line by the `java` launcher of JDK 9+), the command line as the script
//! builds it (`$JVM_MEM_OPTS` and `$JAVA_OPTS` where the script references them), then
//! `_JAVA_OPTIONS` (read by the JVM after its command line). The JVM takes the last of repeated
//! options, so the last one in this order is the one in effect (tests/jdk.rs checks the order
//! on a real JDK). The script's `if [ -z "$JVM_MEM_OPTS" ]` default applies only when the
//! environment does not set `JVM_MEM_OPTS`. Must not: judge, write, print, or look at a running
//! JVM (that is what runs now, not what the next start gives; rules compare the two).

use super::jvm::{JvmFlag, JvmOptions, options_in_value};
use crate::host::systemd::{EnvSource, Unit};
use crate::model::{Location, SourceFile, Span};
use std::sync::Arc;

/// The variable the start scripts keep heap and other memory options in.
pub const MEM_OPTS: &str = "JVM_MEM_OPTS";

/// Read by the JVM itself before its command line.
const TOOL_OPTIONS: &str = "JAVA_TOOL_OPTIONS";
/// Put in front of the command line by the JDK 9+ `java` launcher.
const JDK_OPTIONS: &str = "JDK_JAVA_OPTIONS";
/// Read by the JVM after its command line: it overrides everything.
const LAST_OPTIONS: &str = "_JAVA_OPTIONS";

/// The variables the JVM or its launcher read from the environment, not from the command line:
/// what they set never shows in `/proc/<pid>/cmdline`.
pub const LAUNCHER_VARIABLES: [&str; 3] = [TOOL_OPTIONS, JDK_OPTIONS, LAST_OPTIONS];

/// Where an option in effect was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// In the start-up script.
    Script,
    /// In a variable of the service's environment.
    Environment(EnvVar),
}

/// A variable of the service's environment that carries JVM options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvVar {
    /// The unit that sets it, e.g. `wso2am.service`.
    pub unit: String,
    /// `JVM_MEM_OPTS`, `JAVA_OPTS`, `JAVA_TOOL_OPTIONS`, …
    pub var: String,
    /// Its whole value, as the service gets it.
    pub value: String,
    /// The `Environment=` line or environment-file assignment, with the span of the value as
    /// written (quotes included for an environment file).
    pub location: Location,
    /// The environment file that sets it (its display path); `None` for an `Environment=` line
    /// of the unit or a drop-in. A fix edits the file, since a file's variables override every
    /// `Environment=` line; an `Environment=` value is overridden in a drop-in.
    pub env_file: Option<String>,
    /// apim-tune's drop-in for the unit, sorting after every drop-in it has: where an
    /// `Environment=` value is overridden.
    pub drop_in: String,
}

/// One option the JVM receives.
#[derive(Clone, Debug)]
pub struct JvmOption {
    /// Spans are offsets in `file`. For an option from the environment whose value is written
    /// with escapes, both spans cover the whole value (the line is still right).
    pub flag: JvmFlag,
    pub file: Arc<SourceFile>,
    pub origin: Origin,
}

impl JvmOption {
    /// `file:line:column` of the option's value (of its token when it has none).
    pub fn location(&self) -> Location {
        self.file
            .location(self.flag.value_span.unwrap_or(self.flag.token_span))
    }

    /// Where it was written, for people: `api-manager.sh:298`, or
    /// `JVM_MEM_OPTS of wso2am.service (etc/default/wso2am:2)`.
    pub fn source(&self) -> String {
        match &self.origin {
            Origin::Script => self.location().to_string(),
            Origin::Environment(e) => {
                format!("`{}` of {} ({})", e.var, e.unit, e.location)
            }
        }
    }

    /// The environment variable it came from, if any.
    pub fn env(&self) -> Option<&EnvVar> {
        match &self.origin {
            Origin::Environment(e) => Some(e),
            Origin::Script => None,
        }
    }
}

/// The options a start gives, in the order the JVM receives them.
#[derive(Clone, Debug)]
pub struct JvmInEffect {
    /// The start-up script.
    pub script: Arc<SourceFile>,
    pub options: Vec<JvmOption>,
    /// The environment's variables that carry options, whether or not they hold any.
    pub env: Vec<EnvVar>,
    /// The environment sets `JVM_MEM_OPTS`, so the script's default branch does not run.
    pub mem_default_replaced: bool,
}

impl JvmInEffect {
    /// Computes what a start of `script` under `unit` (the service that runs the home, if any)
    /// gives.
    pub fn compute(script: &JvmOptions, unit: Option<&Unit>) -> JvmInEffect {
        let mut env = Vec::new();
        if let Some(u) = unit {
            let mut names: Vec<&str> = vec![TOOL_OPTIONS, JDK_OPTIONS];
            for (var, _) in &script.java_refs {
                if !names.contains(&var.as_str()) {
                    names.push(var);
                }
            }
            names.push(LAST_OPTIONS);
            for name in names {
                // The script replaces it before the java command line reads it.
                if script.discards_env(name) {
                    continue;
                }
                if let Some(source) = u.env(name) {
                    env.push(env_var(u, name, &source));
                }
            }
        }
        let mem_default_replaced = env
            .iter()
            .any(|e| e.var == MEM_OPTS && !e.value.trim().is_empty());

        // (tier, position on the command line, environment before the script's own, index)
        let mut keyed: Vec<((u8, usize, u8, usize), JvmOption)> = Vec::new();
        for f in &script.flags {
            if f.in_mem_opts_default && mem_default_replaced {
                continue;
            }
            let key = (1, script.command_line_position(f), 1, f.token_span.start);
            keyed.push((
                key,
                JvmOption {
                    flag: f.clone(),
                    file: Arc::clone(&script.file),
                    origin: Origin::Script,
                },
            ));
        }
        if let Some(u) = unit {
            for e in &env {
                let (tier, position) = match e.var.as_str() {
                    TOOL_OPTIONS => (0, 0),
                    JDK_OPTIONS => (0, 1),
                    LAST_OPTIONS => (2, 0),
                    var => match script.java_refs.iter().rfind(|(v, _)| v == var) {
                        Some((_, at)) => (1, *at),
                        None => continue,
                    },
                };
                let Some(source) = u.env(&e.var) else {
                    continue;
                };
                let (file, base) = value_base(&source);
                for (i, mut flag) in options_in_value(&e.value, &e.var).into_iter().enumerate() {
                    match base {
                        Some(b) => {
                            flag.token_span = shift(flag.token_span, b);
                            flag.value_span = flag.value_span.map(|s| shift(s, b));
                        }
                        None => {
                            let whole = e.location.span.unwrap_or(Span::new(0, 0));
                            flag.token_span = whole;
                            flag.value_span = flag.value_span.map(|_| whole);
                        }
                    }
                    flag.line = file.line_col(flag.token_span.start).0;
                    keyed.push((
                        (tier, position, 0, i),
                        JvmOption {
                            flag,
                            file: Arc::clone(&file),
                            origin: Origin::Environment(e.clone()),
                        },
                    ));
                }
            }
        }
        keyed.sort_by_key(|(k, _)| *k);
        JvmInEffect {
            script: Arc::clone(&script.file),
            options: keyed.into_iter().map(|(_, o)| o).collect(),
            env,
            mem_default_replaced,
        }
    }

    /// The occurrence in effect on a current JDK: the last one without a Java-version guard.
    pub fn get(&self, name: &str) -> Option<&JvmOption> {
        self.options
            .iter()
            .rev()
            .find(|o| o.flag.name == name && o.flag.guard.is_none())
    }

    /// Every occurrence, guarded or not, in the order the JVM receives them.
    pub fn all(&self, name: &str) -> impl Iterator<Item = &JvmOption> {
        self.options.iter().filter(move |o| o.flag.name == name)
    }

    /// The environment variable `var`, when the service's environment sets it.
    pub fn env_var(&self, var: &str) -> Option<&EnvVar> {
        self.env.iter().find(|e| e.var == var)
    }
}

fn env_var(unit: &Unit, var: &str, source: &EnvSource) -> EnvVar {
    EnvVar {
        unit: unit.name.clone(),
        var: var.to_string(),
        value: source.value().to_string(),
        location: source.location(),
        env_file: match source {
            EnvSource::File { file, .. } => Some(file.display.clone()),
            EnvSource::Unit(_) => None,
        },
        drop_in: crate::host::in_effect::unit_drop_in(unit),
    }
}

/// The file an environment value was written in, and the offset in it of the value's first
/// byte when the value is written literally (so an option's offset in the value is its offset
/// in the file); `None` when quotes inside or escapes make the bytes differ from the value.
fn value_base(source: &EnvSource) -> (Arc<SourceFile>, Option<usize>) {
    let (file, span, value) = match source {
        EnvSource::Unit(s) => (Arc::clone(&s.file), s.span(), s.value.as_str()),
        EnvSource::File { file, assignment } => (
            Arc::clone(file),
            Some(assignment.raw_span),
            assignment.value.as_str(),
        ),
    };
    let base = span.and_then(|span| {
        let raw = file.slice(span);
        if raw == value {
            Some(span.start)
        } else if raw.len() == value.len() + 2
            && (raw.starts_with('"') || raw.starts_with('\''))
            && raw.get(1..raw.len() - 1) == Some(value)
        {
            Some(span.start + 1)
        } else {
            None
        }
    });
    (file, base)
}

fn shift(span: Span, by: usize) -> Span {
    Span::new(span.start + by, span.end + by)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::testkit::write;
    use std::path::PathBuf;

    const SCRIPT: &str = "#!/bin/sh\n\
        if [ -z \"$JVM_MEM_OPTS\" ]; then\n\
        \x20  JVM_MEM_OPTS=\"-Xms256m -Xmx1024m\"\n\
        fi\n\
        $JAVACMD \\\n\
        \x20   $JVM_MEM_OPTS \\\n\
        \x20   -XX:+HeapDumpOnOutOfMemoryError \\\n\
        \x20   $JAVA_OPTS \\\n\
        \x20   -Dcarbon.home=\"$CARBON_HOME\" \\\n\
        \x20   org.wso2.carbon.bootstrap.Bootstrap $*\n";

    fn script() -> JvmOptions {
        let file = SourceFile::new(
            PathBuf::from("bin/api-manager.sh"),
            "bin/api-manager.sh".into(),
            SCRIPT.into(),
        );
        let (opts, problems) = crate::apim::jvm::parse(file);
        assert!(problems.is_empty(), "{problems:?}");
        opts
    }

    fn unit(root: &std::path::Path, service: &str) -> Unit {
        write(root, "etc/systemd/system/wso2am.service", service);
        let (mut units, problems) = crate::host::systemd::find_apim_units(root);
        assert!(problems.is_empty(), "{problems:?}");
        units.remove(0)
    }

    fn shown(e: &JvmInEffect) -> Vec<String> {
        e.options
            .iter()
            .map(|o| format!("{} @{}", o.flag.raw, o.location()))
            .collect()
    }

    /// A script that assigns `JVM_MEM_OPTS` outside any `if` (as 2.x-era site scripts do)
    /// throws the environment's value away; one that appends (`JAVA_OPTS="$JAVA_OPTS …"`) or
    /// only sets a default keeps it.
    #[test]
    fn an_unconditional_assignment_discards_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let u = unit(
            dir.path(),
            "[Service]\nExecStart=/opt/wso2am/bin/wso2server.sh\n\
             Environment=\"JVM_MEM_OPTS=-Xms1g -Xmx1g -XX:+UseParallelOldGC\" JAVA_OPTS=-Dx=1\n",
        );
        let parse = |text: &str| {
            let file = SourceFile::new(
                PathBuf::from("bin/wso2server.sh"),
                "bin/wso2server.sh".into(),
                text.into(),
            );
            crate::apim::jvm::parse(file).0
        };
        let replaced = parse(
            "#!/bin/sh\nJVM_MEM_OPTS=\"-Xms256m -Xmx1024m\"\nJAVA_OPTS=\"$JAVA_OPTS -Dy=2\"\n$JAVACMD $JVM_MEM_OPTS $JAVA_OPTS Main\n",
        );
        let e = JvmInEffect::compute(&replaced, Some(&u));
        assert!(!e.mem_default_replaced);
        assert_eq!(e.get("-Xmx").unwrap().flag.value.as_deref(), Some("1024m"));
        assert!(e.get("-XX:+UseParallelOldGC").is_none());
        assert!(
            e.get("-Dx").is_some(),
            "JAVA_OPTS is appended to, not replaced"
        );
        // Inside an `if` (a --debug branch, say) it is not the service's path: kept.
        let guarded = parse(
            "#!/bin/sh\nif [ \"$1\" = \"--debug\" ]; then\n  JVM_MEM_OPTS=\"-Xmx64m\"\nfi\n$JAVACMD $JVM_MEM_OPTS Main\n",
        );
        let e = JvmInEffect::compute(&guarded, Some(&u));
        assert!(e.get("-XX:+UseParallelOldGC").is_some());
    }

    #[test]
    fn without_a_unit_the_script_decides() {
        let e = JvmInEffect::compute(&script(), None);
        assert!(!e.mem_default_replaced);
        assert_eq!(e.get("-Xmx").unwrap().flag.value.as_deref(), Some("1024m"));
        assert_eq!(e.get("-Xmx").unwrap().source(), "bin/api-manager.sh:3:31");
    }

    #[test]
    fn the_unit_environment_replaces_the_default_and_adds_java_opts() {
        let dir = tempfile::tempdir().unwrap();
        let u = unit(
            dir.path(),
            "[Service]\nExecStart=/opt/wso2am/bin/api-manager.sh\n\
             Environment=\"JVM_MEM_OPTS=-Xms6g -Xmx6g\" JAVA_OPTS=-XX:+UseConcMarkSweepGC\n\
             Environment=_JAVA_OPTIONS=-Xmx7g\n",
        );
        let e = JvmInEffect::compute(&script(), Some(&u));
        assert!(e.mem_default_replaced);
        assert_eq!(
            shown(&e),
            [
                "-Xms6g @etc/systemd/system/wso2am.service:3:31",
                "-Xmx6g @etc/systemd/system/wso2am.service:3:38",
                "-XX:+HeapDumpOnOutOfMemoryError @bin/api-manager.sh:7:5",
                "-XX:+UseConcMarkSweepGC @etc/systemd/system/wso2am.service:3:52",
                "-Dcarbon.home=\"$CARBON_HOME\" @bin/api-manager.sh:9:20",
                "-Xmx7g @etc/systemd/system/wso2am.service:4:31",
            ]
        );
        // `_JAVA_OPTIONS` comes after the command line: it wins.
        let xmx = e.get("-Xmx").unwrap();
        assert_eq!(xmx.flag.value.as_deref(), Some("7g"));
        assert_eq!(xmx.env().unwrap().var, "_JAVA_OPTIONS");
        assert_eq!(
            xmx.source(),
            "`_JAVA_OPTIONS` of wso2am.service (etc/systemd/system/wso2am.service:4:27)"
        );
        assert_eq!(e.all("-Xmx").count(), 2);
    }

    #[test]
    fn an_environment_file_beats_the_unit_line_and_keeps_exact_spans() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "etc/default/wso2am",
            "JVM_MEM_OPTS=\"-Xms4g -Xmx4g\"\nJAVA_OPTS=-Da=x\\\\y\n",
        );
        let u = unit(
            dir.path(),
            "[Service]\nExecStart=/opt/wso2am/bin/api-manager.sh\n\
             Environment=JVM_MEM_OPTS=-Xmx2g\nEnvironmentFile=/etc/default/wso2am\n",
        );
        let e = JvmInEffect::compute(&script(), Some(&u));
        let xmx = e.get("-Xmx").unwrap();
        assert_eq!(xmx.flag.value.as_deref(), Some("4g"));
        assert_eq!(xmx.location().to_string(), "etc/default/wso2am:1:26");
        assert_eq!(xmx.file.slice(xmx.flag.token_span), "-Xmx4g");
        let env = xmx.env().unwrap();
        assert_eq!(env.env_file.as_deref(), Some("etc/default/wso2am"));
        // An escaped value: the option is found, located at the whole value.
        let a = e.get("-Da").unwrap();
        assert_eq!(a.flag.value.as_deref(), Some("x\\y"));
        assert_eq!(a.location().to_string(), "etc/default/wso2am:2:11");
    }

    #[test]
    fn an_empty_jvm_mem_opts_keeps_the_default_and_unreferenced_variables_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let u = unit(
            dir.path(),
            "[Service]\nExecStart=/opt/wso2am/bin/api-manager.sh\n\
             Environment=JVM_MEM_OPTS= OTHER_OPTS=-Xmx9g JAVA_TOOL_OPTIONS=-Xmx8g\n",
        );
        let e = JvmInEffect::compute(&script(), Some(&u));
        assert!(!e.mem_default_replaced);
        // JAVA_TOOL_OPTIONS comes first: the script's default wins over it.
        assert_eq!(e.get("-Xmx").unwrap().flag.value.as_deref(), Some("1024m"));
        assert!(e.env_var("OTHER_OPTS").is_none());
        assert_eq!(e.all("-Xmx").count(), 2);
    }
}
