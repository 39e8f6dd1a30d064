//! `.properties` reader (`apim::properties::parse`) and editor (`edit::line::set_property`):
//! exact, ordered spans; setting an existing key changes only the bytes after its key on its
//! logical line, a new key is a pure insertion, the value reads back, and setting it again
//! changes nothing.
#![no_main]

use apim_tune::apim::properties::parse;
use apim_tune::edit::line::set_property;
use apim_tune::model::Span;
use apim_tune_fuzz::{
    check_edit_within, check_pure_insertion, check_span, check_within, source, split,
};
use libfuzzer_sys::fuzz_target;

const DISPLAY: &str = "repository/conf/passthru-http.properties";

fuzz_target!(|data: &[u8]| {
    // [entry pick, value length] value text
    let (params, rest) = split(data, 2);
    let [pick, vlen] = params[..] else { return };
    let vlen = (vlen as usize % 16).min(rest.len());
    let Some(cut) = (vlen..=rest.len()).find(|&i| rest.is_char_boundary(i)) else {
        return;
    };
    let (value, text) = rest.split_at(cut);
    let (props, _problems) = parse(source(DISPLAY, text));
    let mut last_end = 0;
    for e in &props.entries {
        check_span(text, e.line_span, "line");
        check_span(text, e.key_span, "key");
        check_span(text, e.value_span, "value");
        check_within(e.key_span, e.line_span, "key in its line");
        check_within(e.value_span, e.line_span, "value in its line");
        assert!(e.key_span.end <= e.value_span.start, "value before its key");
        assert!(
            e.line_span.start >= last_end,
            "entries overlap or are out of order"
        );
        last_end = e.line_span.end;
    }

    let existing = props
        .entries
        .get(pick as usize % props.entries.len().max(1));
    let key = existing.map_or("fuzz.new.key".to_string(), |e| e.key.clone());
    let new = set_property(&props, &key, value);
    match props.get(&key) {
        Some(e) => check_edit_within(
            text,
            &new,
            Span::new(e.key_span.end, e.line_span.end),
            "setting an existing key",
        ),
        None => check_pure_insertion(text, &new, "adding a key"),
    }
    let (after, _) = parse(source(DISPLAY, &new));
    assert_eq!(
        after.get(&key).map(|e| e.value.as_str()),
        Some(value),
        "the value set does not read back"
    );
    // Setting it again reads back the same, and by the third time the text no longer changes:
    // the second time may still rewrite it once, when an empty value is set where the file ends
    // in a continuation backslash (`key \`, no part of the value, kept by the first edit).
    let again = set_property(&after, &key, value);
    let (after2, _) = parse(source(DISPLAY, &again));
    assert_eq!(
        after2.get(&key).map(|e| e.value.as_str()),
        Some(value),
        "setting the same value twice reads back otherwise"
    );
    assert_eq!(
        set_property(&after2, &key, value),
        again,
        "setting the same value a third time changed the text"
    );
});
