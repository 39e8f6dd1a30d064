//! `apim-tune validate`: current and proposed settings under one bounded load, then checks.

use super::args::{ValidateArgs, ValidateFormat};
use crate::exit_code;
use crate::gateway::checks::{self, Status};
use crate::gateway::validate::{self, LoadOptions, ValidatePlan};
use crate::report;
use crate::runtime_config;
use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::Duration;

pub fn run(a: &ValidateArgs) -> anyhow::Result<u8> {
    let configs = runtime_config::load(&super::options::target_options(&a.target))?;
    let plan = ValidatePlan {
        configs: vec![
            ("current", &configs.current),
            ("proposed", &configs.proposed),
        ],
        bench: super::gateway::bench_options(&a.bench),
        load: LoadOptions {
            connections: a.connections as usize,
            duration: a.duration,
            max_requests: a.requests,
            rate: a.rate,
            client_timeout: a.client_timeout,
        },
        run_checks: !a.no_checks,
    };
    // Before anything runs: `validate --duration 3` takes about 16 s, which no option says.
    eprintln!("{}", plan_line(&plan));
    let bar = std::io::stderr()
        .is_terminal()
        .then(|| progress_bar(a.duration));
    let current_run = Mutex::new(String::new());
    let draw = |name: &str, done: u64, elapsed: Duration, total: Duration| {
        if let Some(bar) = &bar {
            let mut cur = current_run.lock().unwrap_or_else(|p| p.into_inner());
            if *cur != name || elapsed < Duration::from_millis(150) {
                *cur = name.to_string();
                bar.reset();
                bar.set_length(total.as_millis() as u64);
                bar.set_prefix(name.to_string());
            }
            bar.set_position(elapsed.as_millis().min(total.as_millis()) as u64);
            let rate = done as f64 / elapsed.as_secs_f64().max(0.001);
            bar.set_message(format!("{done} requests, {rate:.0} req/s"));
        }
    };
    let mut report = validate::run(&plan, Some(&draw))?;
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    report.home = configs.home.clone();
    report.notes.splice(0..0, configs.notes.iter().cloned());
    let render = |format| match format {
        ValidateFormat::Json => report::validate::json(&report),
        ValidateFormat::Text => report::validate::text(&report),
        ValidateFormat::Html => report::html::validate(&report),
    };
    for o in &a.output {
        std::fs::write(&o.path, render(o.format))
            .with_context(|| format!("cannot write `{}`", o.path.display()))?;
    }
    let mut out = std::io::stdout().lock();
    out.write_all(render(a.format).as_bytes())?;
    out.flush()?;
    Ok(if report.checks.iter().any(|c| c.status == Status::Fail) {
        exit_code::FINDINGS
    } else {
        exit_code::OK
    })
}

/// `validate: 2 configurations × 10 s of load (at most 1000000 requests each), then 5 checks
/// each (about 10 s): about 30 s in all`.
fn plan_line(plan: &ValidatePlan) -> String {
    let n = plan.configs.len() as u32;
    let load = plan.load.duration * n;
    let mut line = format!(
        "validate: {n} configurations × {} of load (at most {} requests each)",
        secs(plan.load.duration),
        plan.load.max_requests
    );
    let total = if plan.run_checks {
        let checks = checks::ESTIMATED_PER_CONFIG * n;
        line.push_str(&format!(
            ", then {} checks each (about {})",
            checks::NAMES.len(),
            secs(checks)
        ));
        load + checks
    } else {
        load
    };
    line.push_str(&format!(": about {} in all", secs(total)));
    line
}

/// Whole seconds, or one decimal below 10 s (`--duration 0.5`).
fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 10.0 && s.fract() != 0.0 {
        format!("{s:.1} s")
    } else {
        format!("{s:.0} s")
    }
}

fn progress_bar(duration: Duration) -> ProgressBar {
    let bar = ProgressBar::new(duration.as_millis() as u64);
    let style = ProgressStyle::with_template("{prefix:>9} [{bar:30}] {msg} (eta {eta})")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    bar.set_style(style);
    bar
}
