//! LIM002 limit-soft-above-hard: the effective soft limit exceeds the hard limit.
//!
//! pam_limits clamps the soft value to the hard one before calling setrlimit(2) (libpam
//! `setup_limits`: `if (rlim_cur > rlim_max) rlim_cur = rlim_max`), so the session gets soft =
//! hard and the soft value written is never in effect.

use crate::finding::Finding;
use crate::host::limits::LimitValue;
use crate::rules::RuleContext;
use crate::rules::codes::Code;

pub fn check(cx: &RuleContext, out: &mut Vec<Finding>) {
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
                Code::Lim002,
                format!("limits:{}:{item}:soft", cx.user.name),
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
            .why("pam_limits clamps a soft limit to the hard one, so the value written here never applies"),
        );
    }
}
