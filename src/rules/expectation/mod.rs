//! The one generic check: each resolved profile expectation against the value in effect.
//!
//! Picks the code from the family and the outcome (below / above / mismatch / present), and the
//! fix: replace the value where it is set, or insert it where it would take effect.

pub mod codes;

use super::RuleContext;
use super::compare::{Outcome, compare, target_value_keeping};
use super::sysctl::NEVER_LOWER;
use crate::apim::catalog::SettingType;
use crate::diag::{Change, Code, Effect, Finding, Fix, JvmValue, Subject};
use crate::host::limits::LimitType;
use crate::model::Location;
use crate::profile::Family;
use crate::profile::resolve::{Check, Expectation, Val, format_size};

/// What is known about one setting before judging it.
/// How an entity expansion limit of `0` (no limit at all) is compared: above any maximum.
const NO_LIMIT: &str = "9223372036854775807";

struct Seen {
    subject: Subject,
    value: Option<String>,
    /// The value as the comparison must see it, when that differs from the value shown (an
    /// entity expansion limit of `0` means no limit).
    compare_as: Option<String>,
    location: Option<Location>,
    notes: Vec<String>,
    /// What a fix writes to, and where it goes when the value is not set anywhere.
    target: Target,
}

/// Where a fix for one setting writes.
enum Target {
    /// `admin_file`: the line that wins is in a file of the administrator's (its real path is
    /// under `etc/`), where a fix may edit it.
    Sysctl {
        key: String,
        drop_in: String,
        admin_file: bool,
    },
    Limit {
        user: String,
        item: String,
        kind: String,
        drop_in: String,
    },
    /// `insert`: whether the file exists, so that an absent key can be added to it.
    Apim {
        file: String,
        key: String,
        ty: SettingType,
        insert: bool,
    },
    /// `token`: where the whole option is (`-Dx=y`, not just `y`), which a removal takes out.
    Jvm {
        place: super::jvm::Place,
        flag: String,
        token: Option<Location>,
        /// The heap is sized by `-XX:MaxRAMPercentage` of this much memory: a fix raises the
        /// percentage instead of pinning an `-Xmx` that undoes it.
        percent_of: Option<u64>,
    },
}

/// Judges every expectation; `checked` receives the subject of each setting looked at.
pub fn check_all(cx: &RuleContext, out: &mut Vec<Finding>, checked: &mut Vec<Subject>) {
    for exp in cx.expectations {
        let seen = match exp.family {
            Family::Sysctl => sysctl_seen(cx, exp),
            Family::Limits => limits_seen(cx, exp),
            Family::Apim => apim_seen(cx, exp),
            Family::Jvm => jvm_seen(cx, exp),
        };
        let Some((seen, check)) = seen else { continue };
        checked.push(seen.subject.clone());
        if let Some(f) = judge(exp, &check, seen) {
            out.push(f);
        }
    }
}

fn judge(exp: &Expectation, check: &Check, seen: Seen) -> Option<Finding> {
    let outcome = compare(check, seen.compare_as.as_deref().or(seen.value.as_deref()));
    let no_limit = seen.compare_as.as_deref() == Some(NO_LIMIT);
    let code = code_for(exp.family, outcome, check)?;
    // `TokenCacheExpiry`, not `/APIManager/CacheConfigurations/TokenCacheExpiry`: the subject
    // keeps the full path, the message names what people know.
    let key = seen.subject.short_name();
    let current = seen.value.clone().unwrap_or_else(|| "not set".into());
    let expected = check.describe();
    let message = match outcome {
        Outcome::Below => format!(
            "`{key}` is {current}, expected at least {}",
            bound(check, true)
        ),
        Outcome::Above => format!(
            "`{key}` is {current}, expected at most {}",
            bound(check, false)
        ),
        Outcome::Mismatch => format!("`{key}` is `{current}`, expected {expected}"),
        Outcome::Present => format!("`{key}` is set to `{current}` but should not be set"),
        Outcome::Missing => format!("`{key}` is not set, expected {expected}"),
        Outcome::Pass => return None,
    };
    let with_span = seen.location.as_ref().filter(|l| l.span.is_some()).cloned();
    let fix = match (outcome, with_span) {
        // The operator's choice: reported, never changed by --apply.
        _ if exp.manual_fix.is_some() => None,
        (Outcome::Present, Some(loc)) => remove(&seen.target, loc, code),
        (Outcome::Present, None) => None,
        (_, at) => target_value_keeping(check, outcome, &Vec::from_iter(seen.value.as_deref()))
            .and_then(|value| set(&seen.target, value, at)),
    };
    let mut f = Finding::new(code, seen.subject, message)
        .at(seen.location)
        .current(current)
        .expected(expected)
        .why(exp.why.clone());
    if let Some(s) = exp.severity {
        f = f.severity(s);
    }
    // A limit switched off (`0`) is no hardening question: nothing stops an expansion bomb.
    if no_limit {
        f = f.severity(crate::diag::Severity::Warning).why(
            "0 switches the XML entity expansion limit off: a document of nested entities (billion laughs) expands until the heap is gone; keep a limit",
        );
    }
    if let Some(see) = &exp.see {
        f = f.see(see.clone());
    }
    f.profile_at = Some(exp.at.clone());
    f.notes = seen.notes;
    if let Some(reason) = &exp.manual_fix {
        f.notes.push(format!("not fixed automatically: {reason}"));
    }
    f.fix = fix;
    Some(f)
}

fn bound(check: &Check, lower: bool) -> String {
    match check {
        Check::Range { min: Some(v), .. } if lower => v.to_string(),
        Check::Range { max: Some(v), .. } if !lower => v.to_string(),
        other => other.describe(),
    }
}

/// The fix that sets `value`: at `at` (the value's span where it is set), else where the setting
/// would take effect.
fn set(target: &Target, value: String, at: Option<Location>) -> Option<Fix> {
    Some(match target {
        Target::Sysctl {
            key,
            drop_in,
            admin_file,
        } => Fix::safe(
            Change::SetSysctl {
                key: key.clone(),
                value,
                // A value in /run (lost at reboot) or /usr/lib (the package's) is overridden from
                // the drop-in, which is where --apply writes: the fix says so.
                line: at.filter(|_| *admin_file),
                drop_in: drop_in.clone(),
            },
            Effect::SysctlReload,
        ),
        Target::Limit {
            user,
            item,
            kind,
            drop_in,
        } => Fix::safe(
            Change::SetLimit {
                user: user.clone(),
                item: item.clone(),
                kind: kind.clone(),
                value,
                line: at,
                drop_in: drop_in.clone(),
            },
            Effect::NewSessions,
        ),
        Target::Apim {
            file,
            key,
            ty,
            insert,
        } => {
            if at.is_none() && !insert {
                return None;
            }
            super::apim::apim_fix(Change::SetApim {
                file: file.clone(),
                key: key.clone(),
                value: super::apim::typed(*ty, &value),
                at,
            })
        }
        Target::Jvm {
            place,
            percent_of: Some(memory),
            ..
        } => {
            let bytes = crate::apim::jvm::parse_size(&value)?;
            let percent = super::jvm::percent_at_least(bytes, *memory);
            super::jvm::jvm_fix(place.set(
                "-XX:MaxRAMPercentage",
                JvmValue::Literal(percent.to_string()),
                at,
            ))
        }
        Target::Jvm { place, flag, .. } => {
            super::jvm::jvm_fix(place.set(flag, JvmValue::Literal(value), at))
        }
    })
}

/// The fix that removes a setting the profile says must not be set. Limits lines are never
/// removed, nor sysctl lines outside /etc; removing an API-M setting is left to a person.
fn remove(target: &Target, at: Location, code: Code) -> Option<Fix> {
    Some(match target {
        // A later file cannot unset a key, and a line in /run or /usr/lib is not apim-tune's to
        // edit: no fix then.
        Target::Sysctl {
            admin_file: false, ..
        } => return None,
        Target::Sysctl { key, .. } => {
            super::sysctl::disable(key, at, &format!("({})", code.name()), Vec::new())
        }
        Target::Limit { .. } => return None,
        Target::Apim { file, key, .. } => Fix::display_only(
            Change::RemoveApim {
                file: file.clone(),
                key: key.clone(),
                at,
            },
            Effect::RestartApim,
        ),
        // The whole option goes, as `--apply` removes it, not only its value.
        Target::Jvm {
            place, flag, token, ..
        } => super::jvm::jvm_fix(place.remove(flag, token.clone().unwrap_or(at))),
    })
}

/// A missing value under a minimum is "below" it; under anything else it is a mismatch.
fn code_for(family: Family, outcome: Outcome, check: &Check) -> Option<Code> {
    use Outcome::*;
    let has_min = matches!(check, Check::Range { min: Some(_), .. });
    Some(match (family, outcome) {
        (_, Pass) => return None,
        (Family::Sysctl, Below) => Code::SYSCTL_BELOW_RECOMMENDED,
        (Family::Sysctl, Above) => Code::SYSCTL_ABOVE_RECOMMENDED,
        (Family::Sysctl, Mismatch) => Code::SYSCTL_NOT_RECOMMENDED,
        (Family::Sysctl, Missing) if has_min => Code::SYSCTL_BELOW_RECOMMENDED,
        (Family::Sysctl, Missing) => Code::SYSCTL_NOT_RECOMMENDED,
        (Family::Sysctl, Present) => Code::SYSCTL_SHOULD_BE_ABSENT,
        (Family::Limits, _) => Code::LIMIT_BELOW_RECOMMENDED,
        (Family::Apim, Below) => Code::SETTING_BELOW_RECOMMENDED,
        (Family::Apim, Above) => Code::SETTING_ABOVE_RECOMMENDED,
        (Family::Apim, Mismatch) => Code::SETTING_NOT_RECOMMENDED,
        (Family::Apim, Missing) if has_min => Code::SETTING_BELOW_RECOMMENDED,
        (Family::Apim, Missing) => Code::SETTING_NOT_RECOMMENDED,
        (Family::Apim, Present) => Code::SETTING_SHOULD_BE_ABSENT,
        (Family::Jvm, Below) => Code::JVM_BELOW_RECOMMENDED,
        (Family::Jvm, Above) => Code::JVM_ABOVE_RECOMMENDED,
        (Family::Jvm, Mismatch) => Code::JVM_NOT_RECOMMENDED,
        (Family::Jvm, Missing) if has_min => Code::JVM_BELOW_RECOMMENDED,
        (Family::Jvm, Missing) => Code::JVM_NOT_RECOMMENDED,
        (Family::Jvm, Present) => Code::JVM_FLAG_SHOULD_BE_ABSENT,
    })
}

fn sysctl_seen(cx: &RuleContext, exp: &Expectation) -> Option<(Seen, Check)> {
    let entry = cx.sysctl.get(&exp.key);
    let live = entry.and_then(|e| e.live.clone());
    // A key the running kernel lacks cannot be tuned; SYS011 reports persisted lines for it.
    if cx.sysctl.kernel_has(&exp.key) == Some(false) {
        return None;
    }
    let winner = entry.and_then(|e| e.winner.as_ref());
    // systemd raises fs.file-max and fs.nr_open to the kernel's maximum at boot: with neither a
    // line nor a live value (an image) the boot value is that maximum, and writing the profile's
    // minimum would lower it. Unknown stays unknown: nothing is judged.
    if NEVER_LOWER.contains(&exp.key.as_str()) && winner.is_none() && live.is_none() {
        return None;
    }
    let mut notes = Vec::new();
    let (value, location) = match winner {
        Some(w) => (Some(w.value.clone()), Some(w.location())),
        None => {
            if let Some(l) = &live {
                notes.push(format!(
                    "not persisted in any sysctl file; live value from `proc/sys/{}`",
                    exp.key.replace('.', "/")
                ));
                (Some(l.clone()), None)
            } else {
                notes.push(
                    "not persisted in any sysctl file and no live value under the root (`proc/sys`): the kernel default applies at boot"
                        .into(),
                );
                if matches!(
                    exp.check,
                    Check::Range {
                        min: Some(Val::List(_)),
                        ..
                    }
                ) {
                    notes.push(
                        "not fixed automatically: the kernel's boot value of each element is unknown here, and writing the profile's minimum could lower one the kernel sets higher; give the value yourself"
                            .into(),
                    );
                }
                (None, None)
            }
        }
    };
    let mut check = exp.check.clone();
    if NEVER_LOWER.contains(&exp.key.as_str())
        && lowers_live(winner.map(|w| w.value.as_str()), live.as_deref())
    {
        // SYS012 already reports a persisted value below the live one.
        return None;
    }
    if NEVER_LOWER.contains(&exp.key.as_str()) {
        // systemd raised the live value at boot; a minimum below it would lower it.
        if let (
            Check::Range {
                min: Some(Val::Int(lo)),
                ..
            },
            Some(l),
        ) = (&mut check, &live)
            && let Ok(l) = l.trim().parse::<i64>()
            && l > *lo
        {
            notes.push(format!(
                        "expected raised to the live value {l}: systemd sets it at boot and it must not be lowered"
                    ));
            *lo = l;
        }
    }
    Some((
        Seen {
            subject: Subject::sysctl(&exp.key),
            value,
            compare_as: None,
            location,
            notes,
            target: Target::Sysctl {
                key: exp.key.clone(),
                drop_in: cx.sysctl_drop_in.to_string(),
                admin_file: winner
                    .is_some_and(|w| crate::host::sysctl::is_admin_file(cx.root, &w.file)),
            },
        },
        check,
    ))
}

fn lowers_live(persisted: Option<&str>, live: Option<&str>) -> bool {
    match (persisted, live) {
        (Some(p), Some(l)) => match (p.trim().parse::<u64>(), l.trim().parse::<u64>()) {
            (Ok(p), Ok(l)) => p < l,
            _ => false,
        },
        _ => false,
    }
}

fn limits_seen(cx: &RuleContext, exp: &Expectation) -> Option<(Seen, Check)> {
    // Under systemd the unit's limits apply, never limits.conf: SVC001 judges those.
    if !cx.units.is_empty() {
        return None;
    }
    let (item, kind) = exp.key.split_once(':')?;
    let eff = cx.limits.effective(&cx.user.name, &cx.user.groups, item);
    let line = if kind == "soft" { eff.soft } else { eff.hard };
    let mut notes = Vec::new();
    if line.is_none() {
        notes.push(format!(
            "no line in etc/security/limits.conf or limits.d sets it for `{}` ({}); the login default applies",
            cx.user.name, cx.user.chosen_by
        ));
    }
    if let Some(l) = line {
        if l.domain != cx.user.name {
            notes.push(format!(
                "from the `{}` line; API-M user `{}` ({})",
                l.domain, cx.user.name, cx.user.chosen_by
            ));
        }
        if l.kind == LimitType::Both {
            notes.push("`-` sets soft and hard together".into());
        }
    }
    Some((
        Seen {
            subject: Subject::limit(&cx.user.name, item, Some(kind)),
            value: line.map(|l| l.value.to_string()),
            compare_as: None,
            location: line.map(|l| l.location()),
            notes,
            target: Target::Limit {
                user: cx.user.name.clone(),
                item: item.to_string(),
                kind: kind.to_string(),
                drop_in: cx.limits_drop_in.to_string(),
            },
        },
        unlimited_aware(&exp.check, line.map(|l| l.value.to_string())),
    ))
}

/// `unlimited` (and values beyond the comparison's integers, such as RLIM_INFINITY written as a
/// number) satisfies any minimum.
fn unlimited_aware(check: &Check, value: Option<String>) -> Check {
    let huge = value
        .as_deref()
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|v| v > i64::MAX as u64);
    if (value.as_deref() == Some("unlimited") || huge)
        && let Check::Range { max: None, .. } = check
    {
        return Check::Range {
            min: None,
            max: None,
        };
    }
    check.clone()
}

fn apim_seen(cx: &RuleContext, exp: &Expectation) -> Option<(Seen, Check)> {
    let apim = cx.apim?;
    let obs = apim.observe(&exp.key)?;
    // A setting only read with the NHTTP transport or the WS key-validation client is judged
    // only when the home really uses it: on any other home it does nothing, and a fix would
    // write lines that never take effect. Unknown (axis2.xml absent or broken) is not judged.
    if let Some(req) = obs.setting.only_with
        && apim.uses(req) != Some(true)
    {
        return None;
    }
    let mut notes = Vec::new();
    if let Some(n) = &obs.note {
        notes.push(n.clone());
    }
    let target = Target::Apim {
        file: obs.file.clone(),
        key: obs.key.clone(),
        ty: obs.setting.ty,
        insert: obs.file_exists,
    };
    let mut check = exp.check.clone();
    if exp.key == SOCKET_TIMEOUT {
        outlast_longer_waits(cx, apim, &mut check, &mut notes);
    }
    // Name the file even when the setting is absent from it: that is where it would go.
    let location = obs.set_at.or_else(|| Some(Location::file_only(&obs.file)));
    Some((
        Seen {
            subject: obs.subject,
            value: obs.value,
            compare_as: None,
            location,
            notes,
            target,
        },
        check,
    ))
}

const SOCKET_TIMEOUT: &str = "passthru.socket_timeout";

/// The socket timeout must outlast every wait it cuts short (APM020's order): a global timeout
/// the administrator set and the client or load-balancer idle timeout (`--client-timeout`). The
/// profile's minimum is raised to a minute above the longest of them, so that the fix never
/// writes a socket timeout that inverts the order. A global timeout left at its code default
/// (24 h on 1.x/2.x) is not followed: the profile's own entry for it brings it to 120000.
fn outlast_longer_waits(
    cx: &RuleContext,
    apim: &crate::apim::ApimModel,
    check: &mut Check,
    notes: &mut Vec<String>,
) {
    let global = apim
        .observe("synapse.global_timeout_interval")
        .filter(|o| o.set_at.is_some())
        .and_then(|o| {
            o.value
                .as_deref()
                .and_then(|v| v.trim().parse::<i64>().ok())
        });
    let client = cx.client_timeout_ms.and_then(|c| i64::try_from(c).ok());
    let Some(longest) = global.into_iter().chain(client).max() else {
        return;
    };
    if let Check::Range {
        min: Some(Val::Int(lo)),
        ..
    } = check
        && let Some(floor) = longest.checked_add(60_000)
        && floor > *lo
    {
        notes.push(format!(
            "expected raised to {floor} ms: the socket timeout must outlast the {} ({longest} ms), a minute above it (APM020)",
            match (global, client) {
                (Some(g), Some(c)) if c >= g => "client idle timeout (--client-timeout)",
                (_, None) | (Some(_), Some(_)) => "global timeout set in this home",
                (None, Some(_)) => "client idle timeout (--client-timeout)",
            }
        ));
        *lo = floor;
    }
}

/// The two names of the JAXP entity expansion limit, the one the JDK prefers first.
const ENTITY_LIMIT: [&str; 2] = ["-Djdk.xml.entityExpansionLimit", "-DentityExpansionLimit"];

/// The JVM's own value for a flag the script does not set, for the detected JDK and memory.
pub fn jvm_default(flag: &str, java: Option<u32>, memory_mb: u64) -> Option<String> {
    match flag {
        // HotSpot ergonomics: MaxRAMPercentage=25 and InitialRAMPercentage=1.5625 (1/64).
        "-Xmx" if memory_mb > 0 => Some(format!("{}m", memory_mb / 4)),
        "-Xms" if memory_mb > 0 => Some(format!("{}m", memory_mb / 64)),
        // JDK 24+ ships conf/jaxp.properties with entityExpansionLimit=2500; before, 64000.
        "-DentityExpansionLimit" | "-Djdk.xml.entityExpansionLimit" => Some(match java {
            Some(v) if v >= 24 => "2500".into(),
            _ => "64000".into(),
        }),
        _ => None,
    }
}

fn jvm_seen(cx: &RuleContext, exp: &Expectation) -> Option<(Seen, Check)> {
    let jvm = cx.jvm()?;
    let script = super::jvm::script_name(&jvm.script);
    let entity_limit = ENTITY_LIMIT.contains(&exp.key.as_str());
    // Either name sets the one entity expansion limit; with both, the JDK's JAXP takes the
    // `jdk.xml.` one (run on a real JDK 17 in tests/jdk.rs).
    let option = match entity_limit {
        true => jvm
            .get(ENTITY_LIMIT[0])
            .or_else(|| jvm.get(ENTITY_LIMIT[1])),
        false => jvm.get(&exp.key),
    };
    let flag = option.map(|o| &o.flag);
    let mut notes = Vec::new();
    // No -Xmx, a percentage of the memory in effect: that is the heap, and the fix raises the
    // percentage.
    let percent = match exp.key.as_str() {
        "-Xmx" => super::jvm::heap_from_percentage(cx, jvm),
        _ => None,
    };
    if let Some(p) = &percent {
        notes.push(format!(
            "sized by `-XX:MaxRAMPercentage={}`: {} of the {} MiB in effect ({})",
            p.option.flag.value.clone().unwrap_or_default(),
            format_size(p.bytes),
            cx.facts.memory_mb.value,
            cx.facts.memory_mb.source
        ));
    }
    let mut compare_as = None;
    if let Some(f) = flag.filter(|_| entity_limit) {
        if f.name == ENTITY_LIMIT[0] && jvm.get(ENTITY_LIMIT[1]).is_some() {
            notes.push(format!(
                "`{}` is set too; the JDK takes `{}`",
                ENTITY_LIMIT[1], ENTITY_LIMIT[0]
            ));
        }
        if f.value.as_deref().map(str::trim) == Some("0") {
            notes.push("0 means no limit at all".into());
            compare_as = Some(NO_LIMIT.to_string());
        }
    }
    let (value, location) = match option.map(|o| (&o.flag, o)) {
        _ if percent.is_some() => {
            let p = percent
                .as_ref()
                .map(|p| (format_size(p.bytes), p.option.location()));
            (p.as_ref().map(|p| p.0.clone()), p.map(|p| p.1))
        }
        Some((f, o)) => (
            if crate::redact::is_secret_key(&f.name) {
                // `-Djavax.net.ssl.trustStorePassword=…`: never print the value.
                Some(crate::redact::MASK.to_string())
            } else {
                // A boolean flag (`-XX:+UseG1GC`) has no value: its presence is its value.
                f.value.clone().or_else(|| Some(f.raw.clone()))
            },
            Some(o.location()),
        ),
        // No option sets the limit: the JDK's own conf/jaxp.properties does, when it has one.
        None if entity_limit && cx.facts.jaxp_entity_limit.is_some() => {
            let jaxp = cx.facts.jaxp_entity_limit.as_ref();
            let v = jaxp.map(|j| j.value.clone()).unwrap_or_default();
            notes.push(format!(
                "not set in {script}; the JDK's jaxp.properties sets `{v}` ({})",
                jaxp.map(|j| j.source.as_str()).unwrap_or_default()
            ));
            if v.trim() == "0" {
                notes.push("0 means no limit at all".into());
                compare_as = Some(NO_LIMIT.to_string());
            }
            (Some(v), Some(Location::file_only(&jvm.script.display)))
        }
        None => {
            let java = cx.facts.java.as_ref().map(|j| j.value);
            let d = jvm_default(&exp.key, java, cx.facts.memory_mb.value);
            if let Some(d) = &d {
                notes.push(format!(
                    "not set in {script}; the JVM default `{d}` applies ({})",
                    match java {
                        Some(v) => format!("JDK {v}, {} MiB of memory", cx.facts.memory_mb.value),
                        None => format!(
                            "JDK unknown, assuming 23 or older; {} MiB of memory",
                            cx.facts.memory_mb.value
                        ),
                    }
                ));
            }
            (d, Some(Location::file_only(&jvm.script.display)))
        }
    };
    let shown = flag
        .map(|f| f.name.clone())
        .unwrap_or_else(|| exp.key.clone());
    let place = match &percent {
        Some(p) => super::jvm::Place::from_option(jvm, p.option),
        None => super::jvm::Place::of(jvm, &shown),
    };
    notes.extend(match option {
        Some(_) => place.note(),
        None => place.note_absent(),
    });
    // A heap minimum never asks for more than the memory in effect allows (half of it, less
    // where native memory needs more): JVM011 would then report the very heap the fix wrote, and
    // in a container or under MemoryMax= the JVM would be killed. The minimum is capped at
    // JVM011's own ceiling, and the finding says so.
    let mut check = exp.check.clone();
    if matches!(exp.key.as_str(), "-Xmx" | "-Xms")
        && let Some(ceiling) = crate::rules::jvm::native_memory::heap_ceiling(cx)
        && let Check::Range {
            min: Some(Val::Size(lo)),
            ..
        } = &mut check
        && *lo > ceiling.bytes
    {
        notes.push(format!(
            "the profile's minimum {} is capped at what the memory in effect allows ({} MiB from {}); {}",
            format_size(*lo),
            cx.facts.memory_mb.value,
            cx.facts.memory_mb.source,
            ceiling.describe()
        ));
        *lo = ceiling.bytes;
    }
    if exp.key == "-Xmx"
        && percent.is_none()
        && let Some(advice) = crate::rules::jvm::container_heap_advice(cx)
    {
        notes.push(advice);
    }
    Some((
        Seen {
            subject: Subject::jvm(script, shown.clone()),
            value,
            compare_as,
            location,
            notes,
            // The name the script uses (an alias of the profile's key counts too).
            target: Target::Jvm {
                place,
                flag: shown,
                token: option.map(|o| o.file.location(o.flag.token_span)),
                percent_of: percent.as_ref().map(|p| p.memory),
            },
        },
        check,
    ))
}

#[cfg(test)]
mod tests;
