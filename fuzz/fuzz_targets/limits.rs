//! pam limits reader (`host::limits::read`) and the line editors a limits fix uses
//! (`edit::line::{splice, comment_out, append_line, limits_line}`): exact spans, a value edit
//! that changes only its span and reads back, a commented-out line that is no longer read, and
//! an appended line that is a pure insertion read back as written.
#![no_main]

use apim_tune::edit::line::{append_line, comment_out, limits_line, splice};
use apim_tune::host::limits::{LimitType, LimitValue, read};
use apim_tune::model::{Span, content_start};
use apim_tune_fuzz::{check_edit_within, check_pure_insertion, check_span, check_within, root};
use libfuzzer_sys::fuzz_target;

const REL: &str = "etc/security/limits.conf";

fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    apim_tune_fuzz::write(REL, bytes);
    let limits = read(root());
    let Some(file) = limits.files.first() else {
        return;
    };
    let text = file.text.as_str();
    for l in &limits.lines {
        check_span(text, l.value_span, "value");
        check_span(text, l.line_span, "line");
        check_within(l.value_span, l.line_span, "value in its line");
        let raw = &text[l.value_span.start..l.value_span.end];
        if l.item != "nonewprivs" {
            assert_eq!(
                LimitValue::parse(raw),
                Some(l.value),
                "value `{raw}` read otherwise"
            );
        }
    }
    let Some(line) = limits.lines.get(pick as usize % limits.lines.len().max(1)) else {
        return;
    };

    let new_value = "1";
    let changed = splice(text, line.value_span, new_value);
    check_edit_within(text, &changed, line.value_span, "replacing a value");
    apim_tune_fuzz::write(REL, changed.as_bytes());
    let again = read(root());
    let same = again
        .lines
        .iter()
        .find(|l| l.line == line.line)
        .expect("the edited line is still read");
    assert_eq!(
        same.value,
        LimitValue::Value(1),
        "the edited value reads back otherwise"
    );
    assert_eq!(
        (&same.domain, &same.item, same.kind),
        (&line.domain, &line.item, line.kind)
    );

    let commented = comment_out(text, line.line_span, "apim-tune: fuzz");
    let line_start = text[..line.line_span.start]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let span = Span::new(line_start.max(content_start(text)), line.line_span.end);
    check_edit_within(text, &commented, span, "commenting out a line");
    apim_tune_fuzz::write(REL, commented.as_bytes());
    assert_eq!(
        read(root()).lines.len(),
        limits.lines.len() - 1,
        "commenting out one line did not remove exactly one"
    );

    let kind = match line.kind {
        LimitType::Soft => "soft",
        LimitType::Hard => "hard",
        LimitType::Both => "-",
    };
    let added = append_line(
        text,
        &limits_line(text, &line.domain, kind, &line.item, new_value),
    );
    check_pure_insertion(text, &added, "appending a line");
    apim_tune_fuzz::write(REL, added.as_bytes());
    let again = read(root());
    let last = again.lines.last().expect("the appended line is read");
    assert_eq!(
        (&last.domain, &last.item, last.value),
        (&line.domain, &line.item, LimitValue::Value(1)),
        "the appended line reads back otherwise"
    );
});
