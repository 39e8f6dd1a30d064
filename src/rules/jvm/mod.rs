//! JVM rules that need code: MaxPermSize and other options the JDK in effect refuses, heap
//! against RAM, -Xms against -Xmx.

pub mod heap_vs_ram;
pub mod jdk_options;
pub mod jdk_range;
pub mod max_perm_size;
pub mod native_memory;
pub mod xms_xmx;

use crate::apim::jvm::is_memory_option;
use crate::apim::jvm_effect::{EnvVar, JvmInEffect, JvmOption, MEM_OPTS};
use crate::diag::{Change, Effect, Fix, JvmValue};
use crate::model::{Location, SourceFile};

/// `api-manager.sh` / `wso2server.sh`, for subjects.
pub(crate) fn script_name(script: &SourceFile) -> String {
    script
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| script.display.clone())
}

/// Where a fix for one JVM option writes: where the option in effect was written, and for an
/// option no one sets, the environment's `JVM_MEM_OPTS` when it replaces the script's default
/// and the option is a memory one, else the script (whose editor puts memory options in its
/// `JVM_MEM_OPTS` default and others on the java command line).
#[derive(Clone, Debug)]
pub(crate) enum Place {
    Script { file: String },
    Env(EnvVar),
}

impl Place {
    pub(crate) fn of(jvm: &JvmInEffect, flag: &str) -> Place {
        let script = || Place::Script {
            file: jvm.script.display.clone(),
        };
        match jvm.get(flag) {
            Some(o) => Place::from_option(jvm, o),
            None => match jvm.env_var(MEM_OPTS) {
                Some(e) if is_memory_option(flag) && jvm.mem_default_replaced => {
                    Place::Env(e.clone())
                }
                _ => script(),
            },
        }
    }

    pub(crate) fn from_option(jvm: &JvmInEffect, o: &JvmOption) -> Place {
        match o.env() {
            Some(e) => Place::Env(e.clone()),
            None => Place::Script {
                file: jvm.script.display.clone(),
            },
        }
    }

    /// Sets `flag` to `value`; `at` is the value's location when it is set.
    pub(crate) fn set(&self, flag: &str, value: JvmValue, at: Option<Location>) -> Change {
        match self {
            Place::Script { file } => Change::SetJvm {
                file: file.clone(),
                flag: flag.to_string(),
                value,
                at,
            },
            Place::Env(e) => env_change(e, flag, Some(value)),
        }
    }

    /// Removes `flag`; `at` is the whole option's location.
    pub(crate) fn remove(&self, flag: &str, at: Location) -> Change {
        match self {
            Place::Script { file } => Change::RemoveJvm {
                file: file.clone(),
                flag: flag.to_string(),
                at,
            },
            Place::Env(e) => env_change(e, flag, None),
        }
    }

    /// Where the value judged comes from, for a finding's notes, when not the script (whose
    /// line the finding's location already names).
    pub(crate) fn note(&self) -> Option<String> {
        self.env_note("the JVM gets it from")
    }

    /// Where the value comes from, for a finding without a fix.
    pub(crate) fn source_note(&self) -> Option<String> {
        match self {
            Place::Script { .. } => None,
            Place::Env(e) => Some(format!(
                "the JVM gets it from `{}` of {} ({})",
                e.var, e.unit, e.location
            )),
        }
    }

    /// For an option no one sets, where the fix adds it, when not the script.
    pub(crate) fn note_absent(&self) -> Option<String> {
        self.env_note("not set; the script's default is replaced by")
    }

    fn env_note(&self, lead: &str) -> Option<String> {
        match self {
            Place::Script { .. } => None,
            Place::Env(e) => Some(format!(
                "{lead} `{}` of {} ({}), which the fix edits{}",
                e.var,
                e.unit,
                e.location,
                match &e.env_file {
                    Some(_) => String::new(),
                    None => " through a drop-in of the unit".to_string(),
                }
            )),
        }
    }
}

fn env_change(e: &EnvVar, flag: &str, value: Option<JvmValue>) -> Change {
    Change::SetEnvJvm {
        file: e.env_file.clone().unwrap_or_else(|| e.drop_in.clone()),
        env_file: e.env_file.is_some(),
        var: e.var.clone(),
        current: e.value.clone(),
        flag: flag.to_string(),
        value,
        at: e.location.clone(),
    }
}

/// A start-up script change, in effect once API-M restarts.
pub(crate) fn jvm_fix(change: Change) -> Fix {
    Fix::safe(change, Effect::RestartApim)
}

/// The heap `-XX:MaxRAMPercentage` gives when no `-Xmx` is set (a set `-Xmx` wins; both
/// checked on JDK 17 in tests/jdk.rs): that share of the memory in effect, which is what the JVM
/// reads from its cgroup. `None` without the option, with `-Xmx`, or with the memory unknown.
pub(crate) struct PercentHeap<'a> {
    pub bytes: u64,
    pub option: &'a JvmOption,
    pub memory: u64,
}

pub(crate) fn heap_from_percentage<'a>(
    cx: &crate::rules::RuleContext,
    jvm: &'a JvmInEffect,
) -> Option<PercentHeap<'a>> {
    if jvm.get("-Xmx").is_some() {
        return None;
    }
    let option = jvm.get("-XX:MaxRAMPercentage")?;
    let percent: f64 = option.flag.value.as_deref()?.trim().parse().ok()?;
    let memory = cx.facts.memory_mb.value.checked_mul(1024 * 1024)?;
    if memory == 0 || !(0.0..=100.0).contains(&percent) {
        return None;
    }
    let bytes = ((memory as f64) * percent / 100.0) as u64 / (1024 * 1024) * (1024 * 1024);
    Some(PercentHeap {
        bytes,
        option,
        memory,
    })
}

/// The smallest whole percentage of `memory` that gives at least `bytes`, and the largest that
/// gives at most `bytes`.
pub(crate) fn percent_at_least(bytes: u64, memory: u64) -> u64 {
    (bytes.saturating_mul(100)).div_ceil(memory.max(1)).min(100)
}

pub(crate) fn percent_at_most(bytes: u64, memory: u64) -> u64 {
    (bytes.saturating_mul(100) / memory.max(1)).min(100)
}

#[cfg(test)]
mod tests;

/// In a container whose cgroup limit is the memory in effect, on a JDK that reads that limit
/// (10 and later), a percentage sizes the heap from the limit at every start; a fixed `-Xmx`
/// wins over it and must be changed by hand with the limit (both checked on JDK 17 in
/// tests/jdk.rs).
pub(crate) fn container_heap_advice(cx: &crate::rules::RuleContext) -> Option<String> {
    let in_container = cx.facts.container.is_some();
    let cgroup = cx.facts.memory_mb.source.contains("cgroup");
    let jdk_reads_limit = cx.facts.java.as_ref().is_some_and(|j| j.value >= 10);
    (in_container && cgroup && jdk_reads_limit).then(|| {
        "in a container, `-XX:MaxRAMPercentage=50` without `-Xmx` sizes the heap from the container's memory limit at every start, so it follows a changed limit; a fixed `-Xmx` overrides it".to_string()
    })
}
