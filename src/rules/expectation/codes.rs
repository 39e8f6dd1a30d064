//! The codes of the one generic check ([`super`]): each names the outcome of comparing a
//! setting with its profile entry, per family. The profile entry's `why` says why it matters;
//! these docs explain the class of problem.

use crate::rules::{Check, Input};

declare_rule! {
    /// ### What it checks
    /// A kernel parameter whose effective value (persisted, else live) is below the profile's
    /// minimum.
    /// ### Why it matters
    /// The profile entry's `why` says what runs out: backlog, buffers, ports, file handles.
    /// ### Fix
    /// Raise the value in the sysctl file that wins at boot, or in a late-sorting sysctl.d drop-in.
    /// ### Sources
    /// Each finding names its profile entry's own source (`see`); the family draws on:
    /// - ip-sysctl
    /// - sysctl.d
    /// - tuning-4.x, OS-level settings
    pub(crate) static SYSCTL_BELOW = "SYS001" "sysctl-below-recommended" Warning "a kernel parameter is below the recommended minimum",
    inputs: [Input::Sysctl, Input::Expectations],
    check: Check::Expectation,
}

declare_rule! {
    /// ### What it checks
    /// A kernel parameter above the profile's maximum (e.g. a FIN timeout that holds sockets).
    /// ### Why it matters
    /// See the profile entry's `why`.
    /// ### Fix
    /// Lower the value in the file that wins at boot.
    /// ### Sources
    /// Each finding names its profile entry's own source (`see`); the family draws on:
    /// - ip-sysctl
    /// - sysctl.d
    /// - tuning-4.x, OS-level settings
    pub(crate) static SYSCTL_ABOVE = "SYS002" "sysctl-above-recommended" Warning "a kernel parameter is above the recommended maximum",
    inputs: [Input::Sysctl, Input::Expectations],
    check: Check::Expectation,
}

declare_rule! {
    /// ### What it checks
    /// A kernel parameter whose value is not the one (or one of those) the profile expects.
    /// ### Why it matters
    /// See the profile entry's `why`.
    /// ### Fix
    /// Set the expected value in the file that wins at boot.
    /// ### Sources
    /// Each finding names its profile entry's own source (`see`); the family draws on:
    /// - ip-sysctl
    /// - sysctl.d
    /// - tuning-4.x, OS-level settings
    pub(crate) static SYSCTL_MISMATCH = "SYS003" "sysctl-not-recommended" Warning "a kernel parameter differs from the recommended value",
    inputs: [Input::Sysctl, Input::Expectations],
    check: Check::Expectation,
}

declare_rule! {
    /// ### What it checks
    /// A kernel parameter that the profile says must not be set at all.
    /// ### Why it matters
    /// See the profile entry's `why`.
    /// ### Fix
    /// Remove (comment out) the line.
    /// ### Sources
    /// Each finding names its profile entry's own source (`see`); the family draws on:
    /// - ip-sysctl
    /// - sysctl.d
    /// - tuning-4.x, OS-level settings
    pub(crate) static SYSCTL_PRESENT = "SYS004" "sysctl-should-be-absent" Warning "a kernel parameter is set that should not be",
    inputs: [Input::Sysctl, Input::Expectations],
    check: Check::Expectation,
}

declare_rule! {
    /// ### What it checks
    /// The effective soft or hard `nofile`/`nproc` limit for the API-M user (pam_limits
    /// semantics over limits.conf and limits.d) is below the profile's minimum.
    /// ### Why it matters
    /// A gateway holds a socket per client and backend connection; running out gives
    /// "Too many open files" and refused connections.
    /// ### Fix
    /// Raise the line that wins, or add a limits.d drop-in for the API-M user.
    /// ### Sources
    /// Each finding names its profile entry's own source (`see`); the family draws on:
    /// - limits.conf.5
    /// - tuning-4.x, OS-level settings
    pub(crate) static LIMIT_BELOW = "LIM001" "limit-below-recommended" Warning "a resource limit is below the recommended minimum",
    inputs: [Input::Limits, Input::Expectations],
    check: Check::Expectation,
}

declare_rule! {
    /// ### What it checks
    /// An API-M setting whose effective value is below the profile's minimum.
    /// ### Why it matters
    /// See the profile entry's `why`.
    /// ### Fix
    /// Raise the value in the file the detected version reads (deployment.toml on 3.x/4.x).
    /// ### Sources
    /// Each finding names its profile entry's own source (`see`); the family draws on:
    /// - tuning-4.x
    /// - caching
    /// - data-growth
    /// - throttling-4.x
    pub(crate) static APIM_BELOW = "APM001" "setting-below-recommended" Warning "an API-M setting is below the recommended minimum",
    inputs: [Input::Apim, Input::Expectations],
    check: Check::Expectation,
}

declare_rule! {
    /// ### What it checks
    /// An API-M setting above the profile's maximum.
    /// ### Why it matters
    /// See the profile entry's `why`.
    /// ### Fix
    /// Lower the value in the file the detected version reads.
    /// ### Sources
    /// Each finding names its profile entry's own source (`see`); the family draws on:
    /// - tuning-4.x
    /// - caching
    /// - data-growth
    /// - throttling-4.x
    pub(crate) static APIM_ABOVE = "APM002" "setting-above-recommended" Warning "an API-M setting is above the recommended maximum",
    inputs: [Input::Apim, Input::Expectations],
    check: Check::Expectation,
}

declare_rule! {
    /// ### What it checks
    /// An API-M setting whose value is not the one (or one of those) the profile expects.
    /// ### Why it matters
    /// See the profile entry's `why`.
    /// ### Fix
    /// Set the expected value in the file the detected version reads.
    /// ### Sources
    /// Each finding names its profile entry's own source (`see`); the family draws on:
    /// - tuning-4.x
    /// - caching
    /// - data-growth
    /// - throttling-4.x
    pub(crate) static APIM_MISMATCH = "APM003" "setting-not-recommended" Warning "an API-M setting differs from the recommended value",
    inputs: [Input::Apim, Input::Expectations],
    check: Check::Expectation,
}

declare_rule! {
    /// ### What it checks
    /// An API-M setting that the profile says must not be set.
    /// ### Why it matters
    /// See the profile entry's `why`.
    /// ### Fix
    /// Remove the setting.
    /// ### Sources
    /// Each finding names its profile entry's own source (`see`); the family draws on:
    /// - tuning-4.x
    /// - caching
    /// - data-growth
    /// - throttling-4.x
    pub(crate) static APIM_PRESENT = "APM004" "setting-should-be-absent" Warning "an API-M setting is set that should not be",
    inputs: [Input::Apim, Input::Expectations],
    check: Check::Expectation,
}

declare_rule! {
    /// ### What it checks
    /// A JVM flag of the start-up script below the profile's minimum (e.g. heap size).
    /// ### Why it matters
    /// See the profile entry's `why`.
    /// ### Fix
    /// Raise it in `JVM_MEM_OPTS` of the start-up script (or the environment that sets it).
    /// ### Sources
    /// Each finding names its profile entry's own source (`see`); the family draws on:
    /// - java-man
    /// - jaxp-limits
    /// - tuning-4.x, JVM-level settings
    pub(crate) static JVM_BELOW = "JVM001" "jvm-below-recommended" Warning "a JVM option is below the recommended minimum",
    inputs: [Input::Host, Input::Jvm, Input::Expectations],
    check: Check::Expectation,
}

declare_rule! {
    /// ### What it checks
    /// A JVM flag above the profile's maximum.
    /// ### Why it matters
    /// See the profile entry's `why`.
    /// ### Fix
    /// Lower it in the start-up script.
    /// ### Sources
    /// Each finding names its profile entry's own source (`see`); the family draws on:
    /// - java-man
    /// - jaxp-limits
    /// - tuning-4.x, JVM-level settings
    pub(crate) static JVM_ABOVE = "JVM002" "jvm-above-recommended" Warning "a JVM option is above the recommended maximum",
    inputs: [Input::Host, Input::Jvm, Input::Expectations],
    check: Check::Expectation,
}

declare_rule! {
    /// ### What it checks
    /// A JVM flag whose value is not the one the profile expects.
    /// ### Why it matters
    /// See the profile entry's `why`.
    /// ### Fix
    /// Set it in the start-up script.
    /// ### Sources
    /// Each finding names its profile entry's own source (`see`); the family draws on:
    /// - java-man
    /// - jaxp-limits
    /// - tuning-4.x, JVM-level settings
    pub(crate) static JVM_MISMATCH = "JVM003" "jvm-not-recommended" Warning "a JVM option differs from the recommended value",
    inputs: [Input::Host, Input::Jvm, Input::Expectations],
    check: Check::Expectation,
}

declare_rule! {
    /// ### What it checks
    /// A JVM flag that the profile says must not be set.
    /// ### Why it matters
    /// See the profile entry's `why`.
    /// ### Fix
    /// Remove it from the start-up script.
    /// ### Sources
    /// Each finding names its profile entry's own source (`see`); the family draws on:
    /// - java-man
    /// - jaxp-limits
    /// - tuning-4.x, JVM-level settings
    pub(crate) static JVM_PRESENT = "JVM004" "jvm-flag-should-be-absent" Warning "a JVM option is set that should not be",
    inputs: [Input::Host, Input::Jvm, Input::Expectations],
    check: Check::Expectation,
}
