//! Typed comparison of a value read from a file with an expected value.

use crate::apim::jvm::parse_size;
use crate::profile::resolve::{Check, Val};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Below,
    Above,
    Mismatch,
    /// Present although the expectation is `absent`.
    Present,
    /// Not set, with no default that could be compared.
    Missing,
}

/// Parses `current` in the shape of `like` (integer, size, list, boolean or string).
fn parse_as(like: &Val, current: &str) -> Option<Val> {
    let c = current.trim();
    Some(match like {
        Val::Int(_) => Val::Int(c.parse().ok()?),
        Val::Size(_) => Val::Size(parse_size(c)?),
        Val::Bool(_) => Val::Bool(match c.to_ascii_lowercase().as_str() {
            "true" => true,
            "false" => false,
            _ => return None,
        }),
        Val::Str(_) => Val::Str(c.to_string()),
        Val::List(_) => Val::List(
            c.split_whitespace()
                .map(|p| p.parse().ok())
                .collect::<Option<Vec<i64>>>()?,
        ),
    })
}

/// `a` compared with `b`: Less if any element is lower, Greater if any is higher and none lower.
fn order(a: &Val, b: &Val) -> Option<std::cmp::Ordering> {
    use std::cmp::Ordering;
    match (a, b) {
        (Val::Int(x), Val::Int(y)) => Some(x.cmp(y)),
        (Val::Size(x), Val::Size(y)) => Some(x.cmp(y)),
        (Val::List(x), Val::List(y)) if x.len() == y.len() => {
            if x.iter().zip(y).any(|(p, q)| p < q) {
                Some(Ordering::Less)
            } else if x.iter().zip(y).any(|(p, q)| p > q) {
                Some(Ordering::Greater)
            } else {
                Some(Ordering::Equal)
            }
        }
        _ => None,
    }
}

pub fn compare(check: &Check, current: Option<&str>) -> Outcome {
    let present = current.is_some_and(|c| !c.trim().is_empty());
    match check {
        Check::Absent => {
            if present {
                Outcome::Present
            } else {
                Outcome::Pass
            }
        }
        Check::Set => {
            if present {
                Outcome::Pass
            } else {
                Outcome::Missing
            }
        }
        _ if !present => Outcome::Missing,
        Check::Range { min, max } => {
            let cur = current.unwrap_or_default();
            if let Some(lo) = min {
                match parse_as(lo, cur).and_then(|v| order(&v, lo)) {
                    None => return Outcome::Mismatch,
                    Some(std::cmp::Ordering::Less) => return Outcome::Below,
                    _ => {}
                }
            }
            if let Some(hi) = max {
                match parse_as(hi, cur).and_then(|v| order(&v, hi)) {
                    None => return Outcome::Mismatch,
                    Some(std::cmp::Ordering::Greater) => return Outcome::Above,
                    _ => {}
                }
            }
            Outcome::Pass
        }
        Check::Eq(v) => {
            if parse_as(v, current.unwrap_or_default()).as_ref() == Some(v) {
                Outcome::Pass
            } else {
                Outcome::Mismatch
            }
        }
        Check::OneOf(vs) => {
            if vs
                .iter()
                .any(|v| parse_as(v, current.unwrap_or_default()).as_ref() == Some(v))
            {
                Outcome::Pass
            } else {
                Outcome::Mismatch
            }
        }
    }
}

/// The value a fix would write: the bound that was violated, or the expected value.
pub fn target_value(check: &Check, outcome: Outcome) -> Option<String> {
    match (check, outcome) {
        (Check::Range { min: Some(lo), .. }, Outcome::Below | Outcome::Missing) => {
            Some(lo.to_string())
        }
        (Check::Range { max: Some(hi), .. }, Outcome::Above) => Some(hi.to_string()),
        (
            Check::Range {
                max: Some(hi),
                min: None,
            },
            Outcome::Missing,
        ) => Some(hi.to_string()),
        (Check::Eq(v), _) => Some(v.to_string()),
        (Check::OneOf(vs), _) => vs.first().map(Val::to_string),
        _ => None,
    }
}

/// [`target_value`] that never lowers an element of a list value (`tcp_rmem`): each element
/// below its minimum is raised to it, each above it in any of `current` (the line, and where
/// boot ignores the line the live value) is kept, so a fix that raises the maximum does not take
/// back a default the kernel set higher. With no current value (an image with no line and no
/// live value) the kernel's boot value is unknown, and so is a safe list: `None`.
pub fn target_value_keeping(check: &Check, outcome: Outcome, current: &[&str]) -> Option<String> {
    let Check::Range {
        min: Some(Val::List(lo)),
        ..
    } = check
    else {
        return target_value(check, outcome);
    };
    // Element by element, the largest of the profile's minimum and every current value that
    // lines up with it.
    let lists = current.iter().filter_map(|c| {
        c.split_ascii_whitespace()
            .map(|v| v.parse().ok())
            .collect::<Option<Vec<i64>>>()
            .filter(|v| v.len() == lo.len())
    });
    let now = lists.reduce(|a, b| a.iter().zip(&b).map(|(x, y)| *x.max(y)).collect());
    match (outcome, now) {
        (Outcome::Below, Some(now)) => {
            Some(Val::List(now.iter().zip(lo).map(|(n, l)| *n.max(l)).collect()).to_string())
        }
        (Outcome::Missing, _) => None,
        _ => target_value(check, outcome),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_fix_never_lowers_an_element() {
        let c = range(Some(Val::List(vec![4096, 87380, 16777216])), None);
        let fix =
            |now: Option<&str>| target_value_keeping(&c, compare(&c, now), &Vec::from_iter(now));
        assert_eq!(
            fix(Some("4096 131072 6291456")).as_deref(),
            Some("4096 131072 16777216")
        );
        assert_eq!(
            fix(Some("1024\t1024 1024")).as_deref(),
            Some("4096 87380 16777216")
        );
        // Unknown at boot: no value is safe to write.
        assert_eq!(fix(None), None);
        // Scalars are as before.
        let c = range(Some(Val::Int(400)), None);
        assert_eq!(
            target_value_keeping(&c, Outcome::Below, &["40"]).as_deref(),
            Some("400")
        );
    }

    fn range(min: Option<Val>, max: Option<Val>) -> Check {
        Check::Range { min, max }
    }

    #[test]
    fn numeric_ranges() {
        let c = range(Some(Val::Int(400)), None);
        assert_eq!(compare(&c, Some("40")), Outcome::Below);
        assert_eq!(compare(&c, Some(" 400 ")), Outcome::Pass);
        assert_eq!(compare(&c, Some("${x}")), Outcome::Mismatch);
        assert_eq!(compare(&c, None), Outcome::Missing);
        let c = range(Some(Val::Int(60000)), Some(Val::Int(180000)));
        assert_eq!(compare(&c, Some("200000")), Outcome::Above);
        assert_eq!(compare(&c, Some("120000")), Outcome::Pass);
    }

    #[test]
    fn lists_compare_element_wise() {
        let c = range(Some(Val::List(vec![4096, 87380, 16777216])), None);
        assert_eq!(compare(&c, Some("4096\t87380 6291456")), Outcome::Below);
        assert_eq!(compare(&c, Some("4096 131072 33554432")), Outcome::Pass);
        assert_eq!(compare(&c, Some("4096 87380")), Outcome::Mismatch);
    }

    #[test]
    fn sizes_bools_strings_absent() {
        let c = range(Some(Val::Size(2 << 30)), None);
        assert_eq!(compare(&c, Some("1024m")), Outcome::Below);
        assert_eq!(compare(&c, Some("2G")), Outcome::Pass);
        assert_eq!(
            compare(&Check::Eq(Val::Bool(true)), Some("TRUE")),
            Outcome::Pass
        );
        assert_eq!(
            compare(&Check::Eq(Val::Bool(true)), Some("yes")),
            Outcome::Mismatch
        );
        assert_eq!(compare(&Check::Absent, Some("1")), Outcome::Present);
        assert_eq!(compare(&Check::Set, Some("  ")), Outcome::Missing);
        assert_eq!(
            target_value(&range(None, Some(Val::Int(30))), Outcome::Above).as_deref(),
            Some("30")
        );
    }
}
