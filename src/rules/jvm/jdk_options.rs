//! JVM013 jvm-option-stops-jdk and JVM014 jvm-option-deprecated-on-jdk: options of the start-up
//! script (its defaults, and what the 1.x/2.x scripts put on the `java` command line themselves)
//! that the JDK in effect refuses, or accepts with a deprecation warning.
//!
//! One table, [`JDK17`], checked option by option against a real JDK 17 in CI (`tests/jdk.rs`):
//! every row there is a fact a test runs. Removed JVM options do not come back, so what JDK 17
//! refuses is judged an error on 17 and later. Earlier JDKs are not judged here: no JDK before 17
//! is available to test against, and a table of facts no test checks is a guess.
//! `-XX:MaxPermSize` is JVM010's (with its own history); the oracle test checks it too.
//!
//! Occurrences behind a java-version guard (`if [ "$java_version" \< "1.8" ]`) never run on a
//! modern JDK and are not findings.

use super::{Place, jvm_fix, script_name};
use crate::apim::jvm::JvmFlag;
use crate::apim::jvm_effect::{JvmInEffect, JvmOption};
use crate::diag::{Effect, Finding, Fix, Subject};
use crate::rules::{Check, Input, RuleContext};

declare_rule! {
    /// ### What it checks
    /// An option in the start-up script (or on the `java` command line the script builds) that
    /// the JDK in effect does not accept, on JDK 17 and later: `-XX:PermSize`,
    /// `-XX:+UseConcMarkSweepGC` and the CMS options, `-XX:+UseParNewGC`,
    /// `-XX:+UseParallelOldGC`, `-XX:+PrintGCDateStamps`, `-XX:+PrintGCTimeStamps`,
    /// `-XX:+AggressiveOpts`, `-Djava.endorsed.dirs`, `-Djava.ext.dirs`.
    /// ### Why it matters
    /// The JVM prints "Unrecognized VM option" (or "… is not supported") and "Could not create
    /// the Java Virtual Machine", and API-M does not start: the usual outcome of upgrading the
    /// JDK under a script tuned years ago. Each refusal is checked against a real JDK 17.
    /// ### Fix
    /// Remove the option; where it was a GC choice, G1 (the default since JDK 9) replaces it.
    /// `--apply` removes it from a variable such as `JVM_MEM_OPTS`; on the script's own `java`
    /// command line it is left to a person.
    /// ### Sources
    /// - java-man, removed and obsolete options
    /// - verified-facts, each refusal run on OpenJDK 17 (tests/jdk.rs)
    pub(crate) static STOPS = "JVM013" "jvm-option-stops-jdk" Error "the JDK in effect refuses a JVM option and does not start",
    inputs: [Input::Host, Input::Jvm],
    check: Check::Node(check_stops),
}

declare_rule! {
    /// ### What it checks
    /// A GC logging option the JDK in effect (17 and later) still accepts but maps to unified
    /// logging with a warning at every start: `-Xloggc:FILE`, `-XX:+PrintGCDetails`.
    /// ### Why it matters
    /// The mapping picks its own decorations and rotation; the warning is the first line of every
    /// start-up log, and the options are candidates for removal.
    /// ### Fix
    /// Use `-Xlog:gc*:file=FILE:time,uptime:filecount=5,filesize=10m` (or what the warning names).
    /// ### Sources
    /// - java-man, -Xlog and the deprecated GC logging options
    /// - verified-facts, -XX:+PrintGCDetails and -Xloggc: start with a warning on 17
    pub(crate) static DEPRECATED = "JVM014" "jvm-option-deprecated-on-jdk" Info "a GC logging option is deprecated on the JDK in effect",
    inputs: [Input::Host, Input::Jvm],
    check: Check::Node(check_deprecated),
}

/// What JDK 17 does with an option.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnJdk17 {
    /// The JVM does not start.
    Refused,
    /// The JVM starts and warns.
    Deprecated,
}

/// One option and what JDK 17 does with it.
#[derive(Clone, Copy, Debug)]
pub struct OptionFact {
    /// As the script parser names it: `-XX:Name` for `-XX:Name=value`, `-XX:+Name` for a boolean,
    /// `-Dname` for a system property, `-Xloggc` for `-Xloggc:FILE`.
    pub name: &'static str,
    /// An option that carries it, for the oracle test (`java <this> -version`); `{dir}` stands
    /// for a scratch directory.
    pub example: &'static str,
    pub on_jdk17: OnJdk17,
    /// What to use instead, and when the JDK stopped taking it (from the JDK release notes).
    pub instead: &'static str,
}

const fn refused(name: &'static str, example: &'static str, instead: &'static str) -> OptionFact {
    OptionFact {
        name,
        example,
        on_jdk17: OnJdk17::Refused,
        instead,
    }
}

/// Options JDK 17 refuses or deprecates; `tests/jdk.rs` runs each against a real JDK 17.
pub const JDK17: &[OptionFact] = &[
    refused(
        "-XX:PermSize",
        "-XX:PermSize=128m",
        "PermGen is gone since JDK 8; drop it (or use -XX:MetaspaceSize)",
    ),
    refused(
        "-XX:+UseConcMarkSweepGC",
        "-XX:+UseConcMarkSweepGC",
        "CMS was removed in JDK 14; drop it and let G1, the default, run",
    ),
    refused(
        "-XX:+CMSClassUnloadingEnabled",
        "-XX:+CMSClassUnloadingEnabled",
        "a CMS option; CMS was removed in JDK 14",
    ),
    refused(
        "-XX:CMSInitiatingOccupancyFraction",
        "-XX:CMSInitiatingOccupancyFraction=75",
        "a CMS option; CMS was removed in JDK 14",
    ),
    refused(
        "-XX:+UseCMSInitiatingOccupancyOnly",
        "-XX:+UseCMSInitiatingOccupancyOnly",
        "a CMS option; CMS was removed in JDK 14",
    ),
    refused(
        "-XX:+UseParNewGC",
        "-XX:+UseParNewGC",
        "ParNew was removed in JDK 10; drop it",
    ),
    refused(
        "-XX:+UseParallelOldGC",
        "-XX:+UseParallelOldGC",
        "removed in JDK 15; -XX:+UseParallelGC covers it",
    ),
    refused(
        "-XX:+PrintGCDateStamps",
        "-XX:+PrintGCDateStamps",
        "removed with unified logging in JDK 9; use -Xlog:gc*::time",
    ),
    refused(
        "-XX:+PrintGCTimeStamps",
        "-XX:+PrintGCTimeStamps",
        "removed with unified logging in JDK 9; use -Xlog:gc*::uptime",
    ),
    refused(
        "-XX:+AggressiveOpts",
        "-XX:+AggressiveOpts",
        "removed in JDK 12; drop it",
    ),
    refused(
        "-Djava.endorsed.dirs",
        "-Djava.endorsed.dirs=/tmp",
        "the endorsed-standards override was removed in JDK 9 (modules replace it)",
    ),
    refused(
        "-Djava.ext.dirs",
        "-Djava.ext.dirs=/tmp",
        "the extension mechanism was removed in JDK 9; use the class path",
    ),
    OptionFact {
        name: "-Xloggc",
        example: "-Xloggc:{dir}/gc.log",
        on_jdk17: OnJdk17::Deprecated,
        instead: "-Xlog:gc:file=FILE",
    },
    OptionFact {
        name: "-XX:+PrintGCDetails",
        example: "-XX:+PrintGCDetails",
        on_jdk17: OnJdk17::Deprecated,
        instead: "-Xlog:gc*",
    },
];

/// The first JDK every row of [`JDK17`] was checked against.
const CHECKED_FROM: u32 = 17;

fn check_stops(cx: &RuleContext, out: &mut Vec<Finding>) {
    check(cx, OnJdk17::Refused, out);
}

fn check_deprecated(cx: &RuleContext, out: &mut Vec<Finding>) {
    check(cx, OnJdk17::Deprecated, out);
}

/// Whether the script's option is the table's.
fn matches(fact: &OptionFact, flag: &JvmFlag) -> bool {
    match fact.name.strip_prefix("-XX:+") {
        // A removed boolean option is refused whether it is switched on or off; a deprecated one
        // only warns when switched on (`-XX:-PrintGCDetails` starts silently on JDK 17).
        Some(bare) if fact.on_jdk17 == OnJdk17::Refused => {
            flag.name == fact.name || flag.name == format!("-XX:-{bare}")
        }
        _ => flag.name == fact.name,
    }
}

fn check(cx: &RuleContext, on_jdk17: OnJdk17, out: &mut Vec<Finding>) {
    let Some(jvm) = cx.jvm() else { return };
    // Unknown stays unknown: without the JDK in effect nothing is claimed.
    let Some(java) = cx.facts.java.as_ref() else {
        return;
    };
    if java.value < CHECKED_FROM {
        return;
    }
    for fact in JDK17.iter().filter(|f| f.on_jdk17 == on_jdk17) {
        for opt in jvm
            .options
            .iter()
            .filter(|o| o.flag.guard.is_none() && matches(fact, &o.flag))
        {
            out.push(finding(jvm, fact, opt, java.value, &java.source));
        }
    }
}

fn finding(
    jvm: &JvmInEffect,
    fact: &OptionFact,
    opt: &JvmOption,
    jdk: u32,
    source: &str,
) -> Finding {
    let flag = &opt.flag;
    let location = opt.file.location(flag.token_span);
    let subject = Subject::jvm(script_name(&jvm.script), flag.name.clone());
    let f = match fact.on_jdk17 {
        OnJdk17::Refused => Finding::new(
            STOPS.code(),
            subject,
            format!(
                "`{}` stops JDK {jdk} from starting: the JVM refuses the option",
                flag.raw
            ),
        )
        .expected("absent")
        .why(format!(
            "{}; JDK {jdk} exits with \"Could not create the Java Virtual Machine\"",
            fact.instead
        )),
        OnJdk17::Deprecated => Finding::new(
            DEPRECATED.code(),
            subject,
            format!(
                "`{}` is deprecated on JDK {jdk}: the JVM maps it to unified logging with a warning",
                flag.raw
            ),
        )
        .expected(fact.instead)
        .why("JDK 9 replaced the GC logging options with -Xlog; the old ones start with a warning and may go"),
    };
    let mut f = f
        .at(Some(location.clone()))
        .current(flag.raw.clone())
        .see("java-man; verified-facts, checked against OpenJDK 17 in tests/jdk.rs")
        .note(format!("JDK {jdk} from {source}"));
    let place = Place::from_option(jvm, opt);
    if let Some(note) = place.note() {
        f = f.note(note);
    }
    if fact.on_jdk17 == OnJdk17::Refused {
        let change = place.remove(&flag.name, location);
        // In a variable (`JVM_MEM_OPTS`) the option is one word among others; on the script's own
        // `java` command line its removal would touch the script's line continuations.
        f = f.fix(match flag.var {
            Some(_) => jvm_fix(change),
            None => Fix::display_only(change, Effect::RestartApim),
        });
    }
    f
}
