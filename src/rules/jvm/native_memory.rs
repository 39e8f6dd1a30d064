//! How much of the memory in effect the heap may take. Besides the heap a JVM commits metaspace,
//! compiled code, a stack per thread and direct buffers, and outside a container the OS needs
//! page cache. The ceiling is the smaller of half the memory (WSO2 gives the JVM 2 GB of a 4 GB
//! node) and the memory left once that native memory is set aside.
//!
//! One function, used by JVM011 (a heap above the ceiling) and by the `-Xmx`/`-Xms` minimum of
//! the profile (capped at the ceiling), so a heap the fix writes is never one JVM011 reports.

use crate::apim::jvm::parse_size;
use crate::apim::jvm_effect::JvmInEffect;
use crate::profile::Family;
use crate::profile::resolve::format_size;
use crate::rules::RuleContext;
use crate::rules::compare::{Outcome, compare, target_value};

const MIB: u64 = 1024 * 1024;

/// HotSpot's reserved code cache with tiered compilation (JDK 8 to 21), checked on JDK 17 in
/// tests/jdk.rs.
pub const CODE_CACHE_DEFAULT: u64 = 240 * MIB;
/// HotSpot's default thread stack (`ThreadStackSize=1024` KiB on Linux x86_64), checked on
/// JDK 17 in tests/jdk.rs. A stack is reserved at this size and committed only as it is
/// touched, so counting the whole of it per thread is an upper bound, not a measurement.
pub const STACK_DEFAULT: u64 = MIB;
/// Metaspace has no limit by default; this is an allowance for API-M's classes (an estimate:
/// set `-XX:MaxMetaspaceSize` to make it exact).
const METASPACE_ALLOWANCE: u64 = 256 * MIB;
/// Direct buffers are bounded by the heap size by default; this is an allowance for the NIO
/// transports (set `-XX:MaxDirectMemorySize` to make it exact).
const DIRECT_ALLOWANCE: u64 = 128 * MIB;
/// The pass-through pool's `worker_pool_size_core` default on 3.x/4.x (the catalog's), used when
/// the home does not say.
const CORE_DEFAULT: i64 = 400;
/// Threads beside the pass-through workers: I/O reactors, Carbon's and Tomcat's pools, GC and
/// compiler threads (an allowance).
const OTHER_THREADS: u64 = 150;

/// The native memory set aside, part by part, each with where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NativeMemory {
    pub metaspace: Part,
    pub code_cache: Part,
    pub threads: u64,
    pub stack: Part,
    pub direct: Part,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part {
    pub bytes: u64,
    /// The option that set it, or `None` for the default or allowance.
    pub set_by: Option<String>,
}

impl NativeMemory {
    pub fn total(&self) -> u64 {
        self.metaspace
            .bytes
            .saturating_add(self.code_cache.bytes)
            .saturating_add(self.threads.saturating_mul(self.stack.bytes))
            .saturating_add(self.direct.bytes)
    }

    pub fn describe(&self) -> String {
        let part = |p: &Part, what: &str| match &p.set_by {
            Some(flag) => format!("{what} {} ({flag})", format_size(p.bytes)),
            None => format!("{what} {}", format_size(p.bytes)),
        };
        format!(
            "{}, {}, {} thread stacks of {} ({}), {}",
            part(&self.metaspace, "metaspace"),
            part(&self.code_cache, "code cache"),
            self.threads,
            format_size(self.stack.bytes),
            format_size(self.threads.saturating_mul(self.stack.bytes)),
            part(&self.direct, "direct buffers"),
        )
    }
}

/// The most heap the memory in effect allows, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeapCeiling {
    pub bytes: u64,
    pub memory_mb: u64,
    pub native: NativeMemory,
    /// The native memory, not half the memory, is what bounds it.
    pub native_bound: bool,
}

impl HeapCeiling {
    pub fn describe(&self) -> String {
        let bound = if self.native_bound {
            "the memory left beside native memory"
        } else {
            "half of it"
        };
        format!(
            "heap ceiling {} of {} MiB in effect: {bound} (native: {})",
            format_size(self.bytes),
            self.memory_mb,
            self.native.describe()
        )
    }
}

/// The ceiling for this node, or `None` when the memory in effect is unknown.
pub fn heap_ceiling(cx: &RuleContext) -> Option<HeapCeiling> {
    let memory_mb = cx.facts.memory_mb.value;
    if memory_mb == 0 {
        return None;
    }
    let memory = memory_mb.saturating_mul(MIB);
    let native = native_memory(cx);
    let left = memory.saturating_sub(native.total());
    let half = memory / 2;
    let bytes = left.min(half) / MIB * MIB;
    Some(HeapCeiling {
        bytes,
        memory_mb,
        native_bound: left < half,
        native,
    })
}

fn native_memory(cx: &RuleContext) -> NativeMemory {
    let jvm = cx.jvm();
    NativeMemory {
        metaspace: option_size(jvm, &["-XX:MaxMetaspaceSize"], METASPACE_ALLOWANCE, true),
        code_cache: option_size(
            jvm,
            &["-XX:ReservedCodeCacheSize"],
            CODE_CACHE_DEFAULT,
            false,
        ),
        threads: worker_threads(cx).saturating_add(OTHER_THREADS),
        stack: stack_size(jvm),
        direct: option_size(jvm, &["-XX:MaxDirectMemorySize"], DIRECT_ALLOWANCE, true),
    }
}

/// The option's size when set (a smaller bound only when `bounded_default`: a limit lower than
/// the allowance is what the JVM can use), else the default.
fn option_size(
    jvm: Option<&JvmInEffect>,
    flags: &[&str],
    default: u64,
    bounded_default: bool,
) -> Part {
    let set = flags.iter().find_map(|f| {
        let o = jvm?.get(f)?;
        let bytes = parse_size(o.flag.value.as_deref()?)?;
        Some((
            bytes,
            format!("{f}={}", o.flag.value.clone().unwrap_or_default()),
        ))
    });
    match set {
        Some((bytes, flag)) if !bounded_default || bytes < default => Part {
            bytes,
            set_by: Some(flag),
        },
        _ => Part {
            bytes: default,
            set_by: None,
        },
    }
}

/// `-Xss` or `-XX:ThreadStackSize` (in KiB), else HotSpot's default.
fn stack_size(jvm: Option<&JvmInEffect>) -> Part {
    let from = |flag: &str, kib: bool| {
        let o = jvm?.get(flag)?;
        let v = o.flag.value.as_deref()?;
        let bytes = match kib {
            true => v.trim().parse::<u64>().ok()?.checked_mul(1024)?,
            false => parse_size(v)?,
        };
        Some(Part {
            bytes,
            set_by: Some(format!("{flag}{}{v}", if kib { "=" } else { "" })),
        })
    };
    from("-Xss", false)
        .or_else(|| from("-XX:ThreadStackSize", true))
        .unwrap_or(Part {
            bytes: STACK_DEFAULT,
            set_by: None,
        })
}

/// Pass-through workers that can exist at once. The pool is a Java `ThreadPoolExecutor`: with an
/// unbounded queue (`worker_pool_queue_length` -1, the default and the recommendation) it never
/// starts more than `core` threads, so `max` counts only when the queue is bounded (checked with
/// a JDK program, ../shared/knowledge/verified-facts.md). The pool's default core when unknown.
/// Each size is what the profile's fix leaves it at (raised to a minimum, set to an `eq`): the
/// same apply that writes a heap may change the pool, and the heap must still fit after it.
fn worker_threads(cx: &RuleContext) -> u64 {
    let int = |id: &str| {
        let now = cx.apim?.observe(id)?.value?;
        let after = match cx
            .expectations
            .iter()
            .find(|e| e.family == Family::Apim && e.key == id)
        {
            Some(e) => match compare(&e.check, Some(&now)) {
                Outcome::Pass => None,
                o => target_value(&e.check, o),
            },
            None => None,
        };
        after.unwrap_or(now).trim().parse::<i64>().ok()
    };
    let core = int("passthru.worker_pool_size_core");
    let max = int("passthru.worker_pool_size_max");
    let queue = int("passthru.worker_pool_queue_length");
    let n = match (queue, core, max) {
        // A bounded queue: once it is full the pool grows to `max`.
        (Some(q), _, Some(m)) if q >= 0 => m,
        // Unbounded (or not known to be bounded, and -1 is the default): only `core` exists.
        (_, Some(c), _) => c,
        (_, None, _) => CORE_DEFAULT,
    };
    u64::try_from(n).unwrap_or(0)
}
