//! systemd unit reader (`host::systemd::find_apim_units`) and the environment-file reader
//! (`host::env_file`) with the fix that rewrites one variable (`env_file::quote` spliced over
//! its raw value). Unit settings carry exact spans, and a value without a continuation or an
//! escape is the bytes at its span; a rewritten variable reads back exactly, and the edit
//! changes only its raw value.
#![no_main]

use apim_tune::edit::line::splice;
use apim_tune::host::env_file::{parse, quote};
use apim_tune::host::systemd::{UnitSetting, find_apim_units};
use apim_tune::model::SourceFile;
use apim_tune_fuzz::{check_edit_within, check_span, root, source};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The same bytes as the unit and as the environment file a unit line
    // `EnvironmentFile=/etc/default/wso2am` reads.
    apim_tune_fuzz::write("etc/systemd/system/wso2am.service", data);
    apim_tune_fuzz::write("etc/default/wso2am", data);
    let (units, _problems) = find_apim_units(root());
    for u in &units {
        let settings = [
            &u.exec_start,
            &u.user,
            &u.limit_nofile,
            &u.limit_nproc,
            &u.memory_max,
        ];
        for s in settings.into_iter().flatten() {
            check_setting(s, true);
        }
        for s in u.environment.values() {
            check_setting(s, false);
        }
        for e in &u.environment_files {
            check_setting(&e.setting, true);
        }
    }

    let text = String::from_utf8_lossy(data);
    let file = source("etc/default/wso2am", &text);
    let assignments = parse(&file);
    let new_value: String = text
        .chars()
        .rev()
        .take(12)
        .filter(|c| *c != '\n' && *c != '\r')
        .collect();
    for a in &assignments {
        check_span(&text, a.raw_span, "raw value");
    }
    let Some(target) = assignments.last() else {
        return;
    };
    let Some(quoted) = quote(&new_value) else {
        return;
    };
    let edited = splice(&text, target.raw_span, &quoted);
    check_edit_within(&text, &edited, target.raw_span, "rewriting a variable");
    let after = parse(&source("etc/default/wso2am", &edited));
    let got = after.iter().rev().find(|a| a.key == target.key);
    assert_eq!(
        got.map(|a| a.value.as_str()),
        Some(new_value.as_str()),
        "a rewritten variable reads back otherwise"
    );
});

fn check_setting(s: &UnitSetting, plain: bool) {
    let file: &SourceFile = &s.file;
    let Some(span) = s.span() else { return };
    check_span(&file.text, span, "unit setting");
    let raw = file.slice(span);
    // Documented: equal to the bytes at the span unless a continuation or an escape sits inside.
    if plain && !raw.contains('\\') {
        assert_eq!(s.value, raw, "a plain setting's value is not its bytes");
    }
}
