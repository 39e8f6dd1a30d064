//! Source rules: configuration files the readers could not read or parse, and an API-M home
//! whose version is unknown. The readers report problems; these rules turn them into findings,
//! so one bad file never stops the audit.

pub mod unparseable;
pub mod unreadable;
pub mod version_unknown;

use crate::diag::{Code, Finding, Subject};
use crate::model::{ProblemKind, SourceProblem};

/// One finding per problem of `kind`, about the file as a whole.
fn findings(
    problems: &[SourceProblem],
    kind: ProblemKind,
    code: Code,
    why: &str,
    out: &mut Vec<Finding>,
) {
    for p in problems.iter().filter(|p| p.kind == kind) {
        out.push(
            Finding::new(
                code,
                Subject::Source {
                    file: p.location.file.clone(),
                },
                p.message.clone(),
            )
            .at(Some(p.location.clone()))
            .why(why),
        );
    }
}

#[cfg(test)]
mod tests;
