//! `deployment.toml` reader (`apim::deployment_toml::parse`): exact spans for every key, value
//! and table header, numbers and booleans shown as written, secrets never kept in plain text.
#![no_main]

use apim_tune::apim::deployment_toml::{REDACTED, TomlKind, parse};
use apim_tune_fuzz::{check_span, source};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let text = text.as_ref();
    let Ok(doc) = parse(source("repository/conf/deployment.toml", text)) else {
        return;
    };
    for (key, e) in &doc.entries {
        assert_eq!(key, &e.key);
        check_span(text, e.key_span, "key");
        check_span(text, e.value_span, "value");
        let raw = &text[e.value_span.start..e.value_span.end];
        if e.secret {
            assert_eq!(e.value, REDACTED, "a secret value kept in plain text");
        } else if matches!(e.kind, TomlKind::Integer | TomlKind::Boolean) {
            assert_eq!(e.value, raw, "a number or boolean not shown as written");
        }
        if e.kind == TomlKind::String {
            assert!(
                raw.starts_with(['"', '\'']),
                "a string's span without its quotes"
            );
        }
        let (line, _) = doc.file.line_col(e.key_span.start);
        assert_eq!(line, e.line, "`line` is not the key's line");
    }
    for (table, span) in &doc.tables {
        check_span(text, *span, "table header");
        assert!(
            text[span.start..].starts_with('['),
            "header span of `{table}` without `[`"
        );
    }
});
