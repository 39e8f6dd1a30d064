//! LIM002 limit-soft-above-hard: the effective soft limit exceeds the hard limit.
//!
//! pam_limits clamps the soft value to the hard one before calling setrlimit(2) (libpam
//! `setup_limits`: `if (rlim_cur > rlim_max) rlim_cur = rlim_max`), so the session gets soft =
//! hard and the soft value written is never in effect.

use crate::diag::{Finding, Subject};
use crate::host::limits::LimitValue;
use crate::rules::{Check, Input, RuleContext};

declare_rule! {
    /// ### What it checks
    /// A soft limit above the hard limit for the same user and item.
    /// ### Why it matters
    /// pam_limits clamps the soft value to the hard one before setrlimit(2) (libpam
    /// `setup_limits`), so the soft value written is never the one in effect: the file says
    /// something the system does not do.
    /// ### Fix
    /// Raise the hard limit, or lower the soft one to what is really wanted.
    /// ### Sources
    /// - limits.conf.5
    /// - https://github.com/linux-pam/linux-pam/blob/master/modules/pam_limits/pam_limits.c
    pub(crate) static RULE = "LIM002" "limit-soft-above-hard" Warning "a soft limit is above its hard limit and is clamped to it",
    inputs: [Input::Limits, Input::Units],
    check: Check::Node(check),
}

pub fn check(cx: &RuleContext, out: &mut Vec<Finding>) {
    // limits.conf does not reach a systemd service: the service rules judge the unit instead.
    if !cx.units.is_empty() {
        return;
    }
    let mut items: Vec<String> = cx.limits.lines.iter().map(|l| l.item.clone()).collect();
    items.sort();
    items.dedup();
    for item in items {
        let eff = cx.limits.effective(&cx.user.name, &cx.user.groups, &item);
        let (Some(soft), Some(hard)) = (eff.soft, eff.hard) else {
            continue;
        };
        if soft.value <= hard.value {
            continue;
        }
        let hard_text = match hard.value {
            LimitValue::Unlimited => "unlimited".to_string(),
            v => v.to_string(),
        };
        out.push(
            Finding::new(
                RULE.code(),
                Subject::limit(&cx.user.name, &item, Some("soft")),
                format!(
                    "soft `{item}` {} for `{}` is above its hard limit {hard_text} ({}): pam_limits lowers it to {hard_text}",
                    soft.value,
                    cx.user.name,
                    hard.location()
                ),
            )
            .at(Some(soft.location()))
            .current(soft.value.to_string())
            .expected(format!("<= {hard_text}"))
            .why("pam_limits clamps a soft limit to the hard one, so the value written here never applies")
            .see("limits.conf.5"),
        );
    }
}
