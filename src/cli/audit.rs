//! `apim-tune audit`: run the audit, render it, map the result to an exit code.

use super::args::{AuditArgs, Format};
use super::options::options;
use super::output::{exit_for, render, set_color, threshold, write_reports};
use crate::audit::{run as run_audit, run_with_sources};
use crate::report::RenderOptions;

pub fn run(a: &AuditArgs) -> anyhow::Result<u8> {
    set_color(a.color);
    let opts = options(a);
    if a.record.is_some() && !(a.diff || a.apply) {
        anyhow::bail!("--record writes what --diff or --apply planned or did: give one of them");
    }
    if a.diff || a.apply {
        return super::changes::diff_or_apply(a, &opts);
    }
    // The Markdown and HTML reports carry the diff of what --apply would change.
    let with_diff = |f: Format| matches!(f, Format::Markdown | Format::Html);
    let needs_diff = with_diff(a.format) || a.output.iter().any(|o| with_diff(o.format));
    let (report, diff) = if needs_diff {
        let (report, sources) = run_with_sources(&opts)?;
        let today = crate::clock::today();
        let planned = crate::edit::plan::plan(
            &report,
            &sources,
            &crate::edit::plan::PlanContext {
                root: &opts.root,
                today: &today,
            },
        );
        let diff = crate::edit::diff::unified(&planned);
        (report, Some(diff))
    } else {
        (run_audit(&opts)?, None)
    };
    let ro = RenderOptions {
        fail_on: threshold(a.fail_on),
        diff: diff.as_deref(),
        concise: a.concise,
    };
    write_reports(&a.output, a.format, |f| render(f, &report, &ro))?;
    Ok(exit_for(&report, a.fail_on))
}
