//! Waivers (`waivers::parse`) and baselines (`baseline::parse`): errors point inside the file,
//! and every subject read re-renders to a string that parses back to the same subject (the
//! identity waivers and baselines match findings by).
#![no_main]

use apim_tune::diag::Subject;
use apim_tune_fuzz::split;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (params, text) = split(data, 1);
    let Some(&which) = params.first() else { return };
    if which % 2 == 0 {
        match apim_tune::waivers::parse("apim-tune.waivers.toml", &text) {
            Err(e) => {
                if let Some(span) = e.location.span {
                    assert!(span.start <= span.end && span.end <= text.len());
                }
            }
            Ok(waivers) => {
                for w in waivers {
                    if let Some(s) = w.subject.as_deref().filter(|s| !s.contains('*')) {
                        round_trip(s);
                    }
                }
            }
        }
    } else if let Ok(known) = apim_tune::baseline::parse("baseline.json", &text) {
        for (_, subject) in known {
            let again = Subject::parse(&subject.to_string()).expect("a rendered subject parses");
            assert_eq!(again, subject, "a subject changes through its rendering");
        }
    }
    // Subjects as findings name them, straight from the input too.
    if let Ok(s) = Subject::parse(&text) {
        let again = Subject::parse(&s.to_string()).expect("a rendered subject parses");
        assert_eq!(again, s, "a subject changes through its rendering");
    }
});

fn round_trip(s: &str) {
    let subject = Subject::parse(s).expect("the waiver's subject was checked when parsed");
    let again = Subject::parse(&subject.to_string()).expect("a rendered subject parses");
    assert_eq!(again, subject, "a subject changes through its rendering");
}
