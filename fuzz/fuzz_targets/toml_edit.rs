//! `deployment.toml` editor (`edit::toml::set`): replacing a value changes only its span,
//! adding a key only inserts, the key reads back as the value of the asked kind, and setting
//! it again changes nothing.
#![no_main]

use apim_tune::apim::deployment_toml::parse;
use apim_tune::edit::toml::{ValueKind, set};
use apim_tune_fuzz::{check_edit_within, check_pure_insertion, source, split};
use libfuzzer_sys::fuzz_target;

const DISPLAY: &str = "repository/conf/deployment.toml";

fuzz_target!(|data: &[u8]| {
    // [key pick, kind, value length] value document
    let (params, rest) = split(data, 3);
    let [pick, kind, vlen] = params[..] else {
        return;
    };
    let vlen = (vlen as usize % 16).min(rest.len());
    let Some(cut) = (vlen..=rest.len()).find(|&i| rest.is_char_boundary(i)) else {
        return;
    };
    let (raw_value, text) = rest.split_at(cut);
    let Ok(doc) = parse(source(DISPLAY, text)) else {
        return;
    };
    let (kind, value) = match kind % 3 {
        0 => (
            ValueKind::Int,
            (u64::from(pick) * 37 + vlen as u64).to_string(),
        ),
        1 => (ValueKind::Bool, (pick % 2 == 0).to_string()),
        _ => (ValueKind::Str, raw_value.to_string()),
    };
    let keys: Vec<&String> = doc.entries.keys().collect();
    let key = match (keys.get(pick as usize % keys.len().max(1)), kind) {
        (Some(k), _) if pick % 4 != 0 => k.to_string(),
        _ if pick % 8 == 0 => "apim.fuzz.new_key".to_string(),
        // A new key in a table the file may already have.
        _ => match doc
            .tables
            .keys()
            .nth(pick as usize % doc.tables.len().max(1))
        {
            Some(t) => format!("{t}.fuzz_key"),
            None => "fuzz_table.key".to_string(),
        },
    };
    let Ok(new) = set(&doc, &key, &value, kind) else {
        return;
    };
    match doc.get(&key) {
        Some(e) => check_edit_within(text, &new, e.value_span, "replacing a value"),
        None => check_pure_insertion(text, &new, "adding a key"),
    }
    let after = parse(source(DISPLAY, &new)).expect("the edited document parses");
    let entry = after
        .get(&key)
        .expect("the key set is in the edited document");
    if !entry.secret {
        assert_eq!(entry.value, value, "the value set does not read back");
    }
    let again = set(&after, &key, &value, kind).expect("setting the same value again works");
    assert_eq!(again, new, "setting the same value twice changed the text");
});
