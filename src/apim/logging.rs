//! The home's logging configuration: which loggers are active and at which level.
//!
//! 3.x/4.x read `repository/conf/log4j2.properties` (Log4j 2 properties format); 1.x/2.x read
//! `repository/conf/log4j.properties` (Log4j 1.2). Both are Java properties files, parsed with
//! [`super::properties`]. Reads and locates only; the rules judge.
//!
//! Log4j 2: a `logger.<id>.name` / `logger.<id>.level` pair declares a logger, but when the file
//! has a `loggers = a, b, …` list only the ids listed there are configured. WSO2's shipped 4.x file
//! relies on this: it declares `synapse-wire` at DEBUG without listing it, so the wire log is off
//! until an operator adds the id to `loggers`. Reading the level alone would flag every stock home.

use super::properties::{self, PropEntry, Properties};
use crate::model::{Location, SourceFile, SourceProblem};
use std::sync::Arc;

/// Which Log4j generation the file is written for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavour {
    /// `log4j2.properties` (3.x/4.x).
    Log4j2,
    /// `log4j.properties` (1.x/2.x).
    Log4j1,
}

/// A logger in effect: its category name, its level (upper case) and where the level is set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActiveLogger {
    /// The category (`org.apache.synapse`); `""` for the root logger.
    pub name: String,
    pub level: String,
    /// The key that sets the level, as written (`logger.synapse.level`, `log4j.rootLogger`).
    pub key: String,
    pub at: Location,
}

/// The logging configuration file of a home.
#[derive(Debug)]
pub struct Logging {
    pub flavour: Flavour,
    pub props: Properties,
    /// Display name of the file.
    pub display: String,
}

/// The Log4j levels, most verbose first (Log4j 1 and 2 share these names).
const LEVELS: &[&str] = &[
    "ALL", "TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL", "OFF",
];

/// Whether `level` logs DEBUG events (DEBUG, TRACE or ALL).
pub fn is_verbose(level: &str) -> bool {
    matches!(level, "ALL" | "TRACE" | "DEBUG")
}

/// Whether `level` logs INFO events.
pub fn logs_info(level: &str) -> bool {
    is_verbose(level) || level == "INFO"
}

/// The file a home of this layout reads its logging from.
pub fn relative_path(flavour: Flavour) -> &'static str {
    match flavour {
        Flavour::Log4j2 => "repository/conf/log4j2.properties",
        Flavour::Log4j1 => "repository/conf/log4j.properties",
    }
}

/// Parses the file; a level that is not a Log4j level is a problem at its line and column (the
/// logger then keeps its parent's level, so it is left out rather than guessed).
pub fn parse(file: Arc<SourceFile>, flavour: Flavour) -> (Logging, Vec<SourceProblem>) {
    let display = file.display.clone();
    let (props, mut problems) = properties::parse(file);
    let logging = Logging {
        flavour,
        props,
        display,
    };
    for (_, entry) in logging.level_entries() {
        if level_of(entry).is_none() {
            problems.push(SourceProblem {
                kind: crate::model::ProblemKind::Unparseable,
                location: logging.props.file.location(entry.value_span),
                message: format!(
                    "`{}` is not a Log4j level (one of {})",
                    entry.value.trim(),
                    LEVELS.join(", ")
                ),
            });
        }
    }
    (logging, problems)
}

/// The level a Log4j 1 value (`DEBUG, CARBON_LOGFILE`) or Log4j 2 value (`DEBUG`) starts with.
fn level_of(entry: &PropEntry) -> Option<String> {
    let first = entry.value.split(',').next().unwrap_or("").trim();
    let upper = first.to_ascii_uppercase();
    LEVELS.contains(&upper.as_str()).then_some(upper)
}

impl Logging {
    /// Every entry that sets an active logger's level, with the logger's category name.
    fn level_entries(&self) -> Vec<(String, &PropEntry)> {
        let mut out = Vec::new();
        match self.flavour {
            Flavour::Log4j2 => {
                // `loggers = a, b`: only listed ids count; without the list, every declared id.
                let listed: Option<Vec<String>> = self.props.get("loggers").map(|e| {
                    e.value
                        .split(',')
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                        .collect()
                });
                let mut seen: Vec<&str> = Vec::new();
                for e in &self.props.entries {
                    let Some(id) = e
                        .key
                        .strip_prefix("logger.")
                        .and_then(|rest| rest.strip_suffix(".level"))
                    else {
                        continue;
                    };
                    if seen.contains(&id) {
                        continue;
                    }
                    seen.push(id);
                    if listed.as_ref().is_some_and(|l| !l.iter().any(|x| x == id)) {
                        continue;
                    }
                    let Some(name) = self.props.get(&format!("logger.{id}.name")) else {
                        continue;
                    };
                    if let Some(level) = self.props.get(&e.key) {
                        out.push((name.value.trim().to_string(), level));
                    }
                }
                // `rootLogger = DEBUG, STDOUT` is the short form (Log4j 2.17.2+) of
                // `rootLogger.level`; the long form wins when both are written.
                if let Some(root) = self
                    .props
                    .get("rootLogger.level")
                    .or_else(|| self.props.get("rootLogger"))
                {
                    out.push((String::new(), root));
                }
            }
            Flavour::Log4j1 => {
                let mut seen: Vec<&str> = Vec::new();
                for e in &self.props.entries {
                    let name = if e.key == "log4j.rootLogger" || e.key == "log4j.rootCategory" {
                        ""
                    } else if let Some(n) = e
                        .key
                        .strip_prefix("log4j.logger.")
                        .or_else(|| e.key.strip_prefix("log4j.category."))
                    {
                        n
                    } else {
                        continue;
                    };
                    if seen.contains(&name) {
                        continue;
                    }
                    seen.push(name);
                    // The last occurrence wins, as in `java.util.Properties`.
                    if let Some(last) = self.props.get(&e.key) {
                        out.push((name.to_string(), last));
                    }
                }
            }
        }
        out
    }

    /// The loggers in effect, each with its level; the root logger has the name `""`.
    pub fn loggers(&self) -> Vec<ActiveLogger> {
        self.level_entries()
            .into_iter()
            .filter_map(|(name, entry)| {
                Some(ActiveLogger {
                    name,
                    level: level_of(entry)?,
                    key: entry.key.clone(),
                    at: self.props.file.location(entry.value_span),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loggers(text: &str, flavour: Flavour) -> (Vec<(String, String)>, Vec<String>) {
        let file = SourceFile::new(
            "log4j2.properties".into(),
            "log4j2.properties".into(),
            text.into(),
        );
        let (l, problems) = parse(file, flavour);
        (
            l.loggers().into_iter().map(|a| (a.name, a.level)).collect(),
            problems
                .into_iter()
                .map(|p| format!("{}:{:?}: {}", p.location.file, p.location.line, p.message))
                .collect(),
        )
    }

    #[test]
    fn log4j2_counts_only_listed_loggers() {
        let text = "loggers = synapse\n\
                    logger.synapse.name = org.apache.synapse\n\
                    logger.synapse.level = INFO\n\
                    logger.synapse-wire.name = org.apache.synapse.transport.http.wire\n\
                    logger.synapse-wire.level = DEBUG\n\
                    rootLogger.level = ERROR\n";
        let (found, problems) = loggers(text, Flavour::Log4j2);
        assert_eq!(
            found,
            vec![
                ("org.apache.synapse".to_string(), "INFO".to_string()),
                (String::new(), "ERROR".to_string())
            ]
        );
        assert!(problems.is_empty());
    }

    #[test]
    fn log4j2_without_a_list_counts_every_declared_logger() {
        let text =
            "logger.w.name = org.apache.synapse.transport.http.wire\nlogger.w.level = debug\n";
        let (found, _) = loggers(text, Flavour::Log4j2);
        assert_eq!(
            found,
            vec![(
                "org.apache.synapse.transport.http.wire".to_string(),
                "DEBUG".to_string()
            )]
        );
    }

    #[test]
    fn log4j2_root_short_form() {
        let (found, _) = loggers("rootLogger = DEBUG, CARBON_CONSOLE\n", Flavour::Log4j2);
        assert_eq!(found, vec![(String::new(), "DEBUG".to_string())]);
    }

    #[test]
    fn log4j1_levels_and_appenders() {
        let text = "log4j.rootLogger=INFO, CARBON_CONSOLE\n\
                    log4j.logger.org.apache.synapse=DEBUG\n\
                    log4j.logger.org.apache.synapse=WARN\n";
        let (found, _) = loggers(text, Flavour::Log4j1);
        assert_eq!(
            found,
            vec![
                (String::new(), "INFO".to_string()),
                ("org.apache.synapse".to_string(), "WARN".to_string())
            ]
        );
    }

    #[test]
    fn an_unknown_level_is_a_problem_at_its_line() {
        let text =
            "rootLogger.level = ERROR\nlogger.s.name = org.apache.synapse\nlogger.s.level = LOUD\n";
        let (found, problems) = loggers(text, Flavour::Log4j2);
        assert_eq!(found, vec![(String::new(), "ERROR".to_string())]);
        assert_eq!(problems.len(), 1);
        assert!(problems[0].contains(":Some(3): `LOUD` is not a Log4j level"));
    }
}
