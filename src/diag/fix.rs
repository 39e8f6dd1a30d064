//! What `--apply` would change for a finding, written by the rule that knows why: the change
//! as typed values, whether it may be applied, and what it takes to be in effect.
//!
//! Semantic, not bytes: `edit/` decides the bytes per format, and never needs the finding's code
//! or subject to do so.

use crate::model::Location;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fix {
    pub change: Change,
    pub applicability: Applicability,
    pub effect: Effect,
}

/// Whether `--apply` applies a fix (as ruff has it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applicability {
    /// Applied by `--apply`.
    Safe,
    /// Changes behaviour beyond the finding; needs an explicit opt-in.
    Unsafe,
    /// Shown, never applied: a person must do it.
    DisplayOnly,
}

/// What it takes for a change to be in effect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Effect {
    /// Kernel parameters: load them as boot does (systemd-sysctl, or `--live`); no reboot
    /// needed. Not `sysctl --system`: procps applies /etc/sysctl.conf after every sysctl.d
    /// file even when boot read it earlier through its link, or not at all without one.
    SysctlReload,
    /// pam limits: new login sessions (and API-M restarted from one) get them.
    NewSessions,
    /// A systemd unit drop-in or environment file: `systemctl daemon-reload`, then restart the
    /// unit.
    RestartService,
    /// API-M configuration and JVM options: restart API-M.
    RestartApim,
}

impl Effect {
    /// The machine name of the effect, as `--record` writes it.
    pub fn name(self) -> &'static str {
        match self {
            Effect::SysctlReload => "sysctl_reload",
            Effect::NewSessions => "new_sessions",
            Effect::RestartService => "restart_service",
            Effect::RestartApim => "restart_apim",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Effect::SysctlReload => {
                "kernel parameters: load them as boot does, with `systemctl restart systemd-sysctl` (which runs /usr/lib/systemd/systemd-sysctl; not `sysctl --system`, which applies /etc/sysctl.conf last), or use `--apply --live`; no reboot needed"
            }
            Effect::NewSessions => {
                "limits: apply to new login sessions; restart API-M from a new session"
            }
            Effect::RestartService => {
                "systemd unit settings: `systemctl daemon-reload`, then restart the API-M unit"
            }
            Effect::RestartApim => "API-M settings and JVM options: restart API-M",
        }
    }
}

/// How a TOML editor writes a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueKind {
    Bool,
    Int,
    Str,
}

/// An API-M setting's new value, with its type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Value {
    pub text: String,
    pub kind: ValueKind,
}

impl Value {
    /// A value typed by its text, for settings whose type is not declared: `true`/`false`, an
    /// integer, else a string.
    pub fn inferred(text: impl Into<String>) -> Value {
        let text = text.into();
        let kind = if text == "true" || text == "false" {
            ValueKind::Bool
        } else if text.parse::<i64>().is_ok() {
            ValueKind::Int
        } else {
            ValueKind::Str
        };
        Value { text, kind }
    }
}

/// A JVM option's new value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JvmValue {
    Literal(String),
    /// The value `flag` has once every other fix is planned (`-Xms` follows `-Xmx`); `now` is
    /// its value today, for display.
    SameAs {
        flag: String,
        now: String,
    },
}

impl JvmValue {
    fn shown(&self) -> &str {
        match self {
            JvmValue::Literal(v) => v,
            JvmValue::SameAs { now, .. } => now,
        }
    }
}

/// What changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// Set a kernel parameter: on `line` (the line that wins at boot, with the value's span)
    /// when that file is the administrator's, else in `drop_in`.
    SetSysctl {
        key: String,
        value: String,
        line: Option<Location>,
        drop_in: String,
    },
    /// Move a kernel parameter from a file boot does not read (`from`) into `drop_in`, with
    /// `value` (the recommended one when the old one is not good enough).
    MoveSysctl {
        key: String,
        value: String,
        from: Location,
        drop_in: String,
        /// Earlier lines of the same key in the same file, commented out too: one finding
        /// stands for every line of a key, so a file that repeats a line 100,000 times gives
        /// one finding, not 100,000.
        also: Vec<Location>,
    },
    /// Comment out the sysctl line at `line` (and the lines `also`, earlier lines of the same
    /// key in the same file), with a dated note ending in `because`.
    DisableSysctl {
        key: String,
        line: Location,
        because: String,
        also: Vec<Location>,
    },
    /// Set a pam limit: on `line` when it is the user's own, else in `drop_in`.
    SetLimit {
        user: String,
        item: String,
        kind: String,
        value: String,
        line: Option<Location>,
        drop_in: String,
    },
    /// Add `directive=value` to a systemd unit drop-in.
    SetUnitLimit {
        drop_in: String,
        directive: String,
        value: String,
    },
    /// Set an API-M setting in `file` (deployment.toml, an XML or properties file): replace the
    /// value `at`, else insert `key`.
    SetApim {
        file: String,
        key: String,
        value: Value,
        at: Option<Location>,
    },
    /// Remove an API-M setting (not automated).
    RemoveApim {
        file: String,
        key: String,
        at: Location,
    },
    /// Set a JVM option in the start-up script `file`: replace the value `at`, else add it.
    SetJvm {
        file: String,
        flag: String,
        value: JvmValue,
        at: Option<Location>,
    },
    /// Remove a JVM option from the start-up script.
    RemoveJvm {
        file: String,
        flag: String,
        at: Location,
    },
    /// Set (`value`) or remove (`None`) a JVM option in a variable of the service's environment
    /// (`JVM_MEM_OPTS`, `JAVA_OPTS`, …), where the variable is set: in the environment file
    /// `file` (`env_file`, the assignment `at`), whose variables override every `Environment=`
    /// line; else by setting the whole variable again in the unit drop-in `file`, which systemd
    /// applies after the unit's own `Environment=` line `at`.
    SetEnvJvm {
        file: String,
        env_file: bool,
        var: String,
        /// The variable's value as the audit saw it; the planner edits it option by option.
        current: String,
        flag: String,
        value: Option<JvmValue>,
        at: Location,
    },
}

/// A fix as reports show it: a value replaced where it is, a key inserted into a file, or a
/// line commented out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FixShape<'a> {
    Replace {
        location: &'a Location,
        value: &'a str,
    },
    Insert {
        file: &'a str,
        key: String,
        value: &'a str,
    },
    RemoveLine {
        location: &'a Location,
        /// More lines commented out with it (earlier lines of the same key).
        also: &'a [Location],
    },
    /// A key inserted into `file`, and the line at `from` (and the lines `also`) commented
    /// out: two files change.
    Move {
        from: &'a Location,
        file: &'a str,
        key: String,
        value: &'a str,
        also: &'a [Location],
    },
}

impl Fix {
    /// A fix `--apply` applies.
    pub fn safe(change: Change, effect: Effect) -> Fix {
        Fix {
            change,
            applicability: Applicability::Safe,
            effect,
        }
    }

    pub fn display_only(change: Change, effect: Effect) -> Fix {
        Fix {
            change,
            applicability: Applicability::DisplayOnly,
            effect,
        }
    }

    pub fn shape(&self) -> FixShape<'_> {
        match &self.change {
            Change::SetSysctl {
                line: Some(line),
                value,
                ..
            } => FixShape::Replace {
                location: line,
                value,
            },
            Change::SetSysctl {
                key,
                value,
                line: None,
                drop_in,
            } => FixShape::Insert {
                file: drop_in,
                key: key.clone(),
                value,
            },
            Change::MoveSysctl {
                key,
                value,
                from,
                drop_in,
                also,
            } => FixShape::Move {
                from,
                file: drop_in,
                key: key.clone(),
                value,
                also,
            },
            Change::DisableSysctl { line, also, .. } => FixShape::RemoveLine {
                location: line,
                also,
            },
            Change::SetLimit {
                line: Some(line),
                value,
                ..
            } => FixShape::Replace {
                location: line,
                value,
            },
            Change::SetLimit {
                user,
                item,
                kind,
                value,
                line: None,
                drop_in,
            } => FixShape::Insert {
                file: drop_in,
                key: format!("{user} {kind} {item}"),
                value,
            },
            Change::SetUnitLimit {
                drop_in,
                directive,
                value,
            } => FixShape::Insert {
                file: drop_in,
                key: directive.clone(),
                value,
            },
            Change::SetApim {
                at: Some(at),
                value,
                ..
            } => FixShape::Replace {
                location: at,
                value: &value.text,
            },
            Change::SetApim {
                file,
                key,
                value,
                at: None,
            } => FixShape::Insert {
                file,
                key: key.clone(),
                value: &value.text,
            },
            Change::RemoveApim { at, .. } => FixShape::RemoveLine {
                location: at,
                also: &[],
            },
            Change::SetJvm {
                at: Some(at),
                value,
                ..
            } => FixShape::Replace {
                location: at,
                value: value.shown(),
            },
            Change::SetJvm {
                file,
                flag,
                value,
                at: None,
            } => FixShape::Insert {
                file,
                key: flag.clone(),
                value: value.shown(),
            },
            Change::RemoveJvm { at, .. }
            | Change::SetEnvJvm {
                value: None, at, ..
            } => FixShape::Replace {
                location: at,
                value: "",
            },
            Change::SetEnvJvm {
                env_file: true,
                value: Some(value),
                at,
                ..
            } => FixShape::Replace {
                location: at,
                value: value.shown(),
            },
            Change::SetEnvJvm {
                file,
                var,
                flag,
                value: Some(value),
                ..
            } => FixShape::Insert {
                file,
                key: format!("{flag} in Environment={var}"),
                value: value.shown(),
            },
        }
    }

    /// Whether `--apply` would apply it.
    pub fn applies(&self) -> bool {
        self.applicability != Applicability::DisplayOnly
    }
}
