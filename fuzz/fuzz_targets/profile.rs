//! Profile loader (`profile::load_file`): an error points inside the file, and every entry the
//! file contributes is located inside it.
#![no_main]

use apim_tune::model::Location;
use apim_tune::profile::load_file;
use apim_tune_fuzz::root;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    apim_tune_fuzz::write("profile.toml", data);
    let path = root().join("profile.toml");
    let display = path.to_string_lossy().into_owned();
    let text = String::from_utf8_lossy(data);
    match load_file(&path) {
        Err(e) => check_location(&e.location, &display, &text),
        Ok(p) => {
            assert!(!p.chain.is_empty(), "a profile without a chain");
            let ats = p
                .sysctl
                .values()
                .map(|r| &r.at)
                .chain(p.limits.values().map(|r| &r.at))
                .chain(p.apim.values().map(|r| &r.at))
                .chain(p.jvm.values().map(|r| &r.at));
            for at in ats {
                check_location(at, &display, &text);
            }
        }
    }
});

fn check_location(at: &Location, display: &str, text: &str) {
    if at.file != display {
        return; // an embedded profile the file extends
    }
    if let Some(span) = at.span {
        assert!(
            span.start <= span.end && span.end <= text.len(),
            "{at:?} outside the file"
        );
    }
    if let Some(line) = at.line {
        assert!(
            line as usize <= text.split('\n').count(),
            "{at:?} past the last line"
        );
    }
}
