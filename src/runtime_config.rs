//! The embedded gateway's settings for a home: the values in effect now ("current") and the
//! values after the profile's recommendations ("proposed"), each with where it came from.
//!
//! Reads through [`crate::apim`] (the same values the audit judges) and
//! [`crate::rules::compare`] (the same targets a fix would write), so `validate` runs exactly
//! what `audit --apply` would leave behind.

use crate::apim::{ApimModel, catalog};
use crate::audit::{AuditError, AuditOptions, prepare};
use crate::gateway::settings::{CARBON_CACHE_CAPACITY, GatewaySettings, Sourced};
use crate::profile::Family;
use crate::profile::resolve::Expectation;
use crate::rules::compare::{Outcome, compare, target_value};
use crate::version::Version;

/// Current and proposed settings of one home, and what differs.
pub struct RuntimeConfigs {
    pub current: GatewaySettings,
    pub proposed: GatewaySettings,
    /// `home (version)`, or why there is none.
    pub home: String,
    /// Values that could not be used as written (unparsable), and other remarks.
    pub notes: Vec<String>,
}

/// The version whose defaults apply when no home is given.
const ASSUMED_VERSION: Version = Version::new(4, 2, 0);

pub fn load(opts: &AuditOptions) -> Result<RuntimeConfigs, AuditError> {
    let prepared = prepare(opts)?;
    // The embedded runtime needs a size: an unknown core count (zero) runs it on one.
    let cores = prepared.facts.cores.value.max(1);
    let (model, home) = match prepared.home {
        Some(h) => {
            let label = format!("{} (API-M {})", h.path.display(), h.effective_version);
            (Some(ApimModel::load(&opts.root, h, cores)), label)
        }
        None => {
            let v = opts.apim_version.unwrap_or(ASSUMED_VERSION);
            (None, format!("no API-M home: the defaults of API-M {v}"))
        }
    };
    let version = model
        .as_ref()
        .map(|m| m.home.effective_version)
        .or(opts.apim_version)
        .unwrap_or(ASSUMED_VERSION);
    let mut notes = Vec::new();
    let source = Source {
        model: model.as_ref(),
        version,
        cores,
    };
    let current = build(&|id| source.current(id), &mut notes);
    let proposed = build(
        &|id| {
            let now = source.current(id)?;
            Some(propose(now, id, &prepared.expectations))
        },
        &mut notes,
    );
    Ok(RuntimeConfigs {
        current,
        proposed,
        home,
        notes,
    })
}

/// Where current values come from: the home's files, or the catalog's defaults.
struct Source<'a> {
    model: Option<&'a ApimModel>,
    version: Version,
    cores: u32,
}

impl Source<'_> {
    fn current(&self, id: &str) -> Option<Sourced<String>> {
        match self.model {
            Some(m) => {
                let obs = m.observe(id)?;
                let value = obs.value?;
                // Paths relative to the home: the table names files as people know them.
                let home = m.display("");
                let from = match (&obs.set_at, &obs.note) {
                    (Some(at), _) => {
                        let file = at
                            .file
                            .strip_prefix(home.trim_end_matches('/'))
                            .map_or(at.file.as_str(), |f| f.trim_start_matches('/'));
                        match at.line {
                            Some(line) => format!("{file}:{line}"),
                            None => file.to_string(),
                        }
                    }
                    (None, Some(note)) if note.contains("falls back") => note.clone(),
                    (None, _) => format!("default of API-M {}", m.home.effective_version),
                };
                Some(Sourced::new(value, from))
            }
            None => self.default_of(id),
        }
    }

    fn default_of(&self, id: &str) -> Option<Sourced<String>> {
        let setting = catalog::find(id)?;
        let at = setting.at_version(self.version)?;
        if let Some(d) = &at.default {
            let v = d.replace("${cores}", &self.cores.to_string());
            return Some(Sourced::new(
                v,
                format!("default of API-M {}", self.version),
            ));
        }
        let fb = setting.fallback.as_ref()?;
        let base = self.default_of(&fb.setting)?;
        let v = base.value.parse::<i64>().ok()? * fb.multiply;
        Some(Sourced::new(
            v.to_string(),
            format!("{} × {} ({})", fb.setting, fb.multiply, base.source),
        ))
    }
}

/// The value after the profile: unchanged when it passes, else what a fix would write.
fn propose(now: Sourced<String>, id: &str, expectations: &[Expectation]) -> Sourced<String> {
    let Some(exp) = expectations
        .iter()
        .find(|e| e.family == Family::Apim && e.key == id)
    else {
        return now;
    };
    let outcome = compare(&exp.check, Some(&now.value));
    if outcome == Outcome::Pass {
        return now;
    }
    match target_value(&exp.check, outcome) {
        Some(v) => {
            let at = match exp.at.line {
                Some(line) => format!("{}:{line}", exp.at.file),
                None => exp.at.file.clone(),
            };
            Sourced::new(v, format!("profile {} ({at})", exp.profile))
        }
        None => now,
    }
}

type Lookup<'a> = dyn Fn(&str) -> Option<Sourced<String>> + 'a;

fn build(lookup: &Lookup, notes: &mut Vec<String>) -> GatewaySettings {
    let mut int = |id: &str, fallback: i64| -> Sourced<i64> {
        match lookup(id) {
            // Unit suffixes (`900s`, `15m`) only where the setting is counted in seconds.
            Some(s) => match parse_int(&s.value, id == "cache.token_expiry") {
                Some(v) => Sourced::new(v, s.source),
                None => {
                    notes.push(format!(
                        "{id}: `{}` ({}) is not a number; the runtime uses {fallback}",
                        s.value, s.source
                    ));
                    Sourced::new(
                        fallback,
                        format!("{} (unusable; runtime default)", s.source),
                    )
                }
            },
            None => Sourced::new(fallback, "not known for this version (runtime default)"),
        }
    };
    let bool_of = |id: &str, fallback: bool| -> Sourced<bool> {
        match lookup(id) {
            Some(s) => match s.value.trim().to_ascii_lowercase().as_str() {
                "true" => Sourced::new(true, s.source),
                "false" => Sourced::new(false, s.source),
                _ => Sourced::new(fallback, format!("{} (not true/false)", s.source)),
            },
            None => Sourced::new(fallback, "not known for this version (runtime default)"),
        }
    };
    let gateway_token_cache = bool_of("cache.gateway_token.enable", true);
    let km_token_cache = bool_of("cache.km_token.enable", false);
    let resource_cache = bool_of("cache.resource.enable", true);
    let unsigned = |s: Sourced<i64>| Sourced::new(s.value.max(0) as u64, s.source);
    let small =
        |s: Sourced<i64>| Sourced::new(s.value.clamp(0, i64::from(u32::MAX)) as u32, s.source);
    let core = small(int("passthru.worker_pool_size_core", 400));
    let max = small(int("passthru.worker_pool_size_max", 500));
    let queue = int("passthru.worker_pool_queue_length", -1);
    let keepalive = unsigned(int("passthru.worker_thread_keepalive_sec", 60));
    let io_threads = small(int("passthru.io_threads_per_reactor", 2));
    let io_buffer = unsigned(int("passthru.io_buffer_size", 16384));
    let socket = unsigned(int("passthru.socket_timeout", 180_000));
    let per_host = small(int(
        "passthru.max_connection_per_host_port",
        i64::from(i32::MAX),
    ));
    let global = unsigned(int("synapse.global_timeout_interval", 120_000));
    let expiry = unsigned(int("cache.token_expiry", 900));
    GatewaySettings {
        worker_pool_core: core,
        worker_pool_max: max,
        worker_queue_length: queue,
        worker_keepalive_s: keepalive,
        io_threads,
        io_buffer_size: Sourced::new(io_buffer.value as usize, io_buffer.source),
        socket_timeout_ms: socket,
        max_conn_per_host_port: per_host,
        global_timeout_ms: global,
        gateway_token_cache,
        token_cache_expiry_ms: Sourced::new(expiry.value.saturating_mul(1000), expiry.source),
        km_token_cache,
        resource_cache,
        cache_capacity: Sourced::new(
            CARBON_CACHE_CAPACITY,
            "built in (Carbon DEFAULT_CACHE_CAPACITY)",
        ),
    }
}

/// An integer as written in API-M files: `400`, ` 400 `, `180000`; with `seconds`, also
/// `900s`/`15m`/`1h` as deployment.toml writes durations. Overflow is unusable, not wrapped.
fn parse_int(s: &str, seconds: bool) -> Option<i64> {
    let s = s.trim().trim_matches('"');
    if let Ok(v) = s.parse::<i64>() {
        return Some(v);
    }
    if !seconds {
        return None;
    }
    let split = s.find(|c: char| !c.is_ascii_digit() && c != '-')?;
    let (n, unit) = s.split_at(split);
    let n: i64 = n.parse().ok()?;
    match unit.trim() {
        "s" => Some(n),
        "m" => n.checked_mul(60),
        "h" => n.checked_mul(3600),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_as_written() {
        assert_eq!(parse_int(" 400 ", false), Some(400));
        assert_eq!(parse_int("-1", false), Some(-1));
        assert_eq!(parse_int("900s", true), Some(900));
        assert_eq!(parse_int("15m", true), Some(900));
        assert_eq!(parse_int("\"60\"", false), Some(60));
        assert_eq!(parse_int("lots", true), None);
        assert_eq!(parse_int("12x", true), None);
        // A unit only where the setting is in seconds; never a wrapped product.
        assert_eq!(parse_int("180s", false), None);
        assert_eq!(parse_int("999999999999999999m", true), None);
        assert_eq!(parse_int("99999999999999999999", false), None);
    }
}
