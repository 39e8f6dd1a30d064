//! sysctl.d reader (`host::sysctl::read`) and the line editors a sysctl fix uses
//! (`edit::line::{splice, comment_out, append_line, sysctl_line}`). The reader's spans are exact
//! (`value` is the bytes at `value_span`, inside its line); replacing a value changes only its
//! span and reads back as the new value; commenting out a line leaves the bytes before that line
//! and after it as they were and the key no longer comes from it; an appended line is a pure
//! insertion that wins for its key.
#![no_main]

use apim_tune::edit::line::{append_line, comment_out, splice, sysctl_line};
use apim_tune::host::sysctl::{Sysctl, SysctlLine, read};
use apim_tune_fuzz::{check_edit_within, check_pure_insertion, check_span, check_within, root};
use libfuzzer_sys::fuzz_target;

const REL: &str = "etc/sysctl.d/50-fuzz.conf";

fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    apim_tune_fuzz::write(REL, bytes);
    let sysctl = read(root(), &[]);
    let lines = all_lines(&sysctl);
    let Some(file) = sysctl.files.first() else {
        return;
    };
    let text = file.text.as_str();
    for l in &lines {
        check_span(text, l.value_span, "value");
        check_span(text, l.line_span, "line");
        check_within(l.value_span, l.line_span, "value in its line");
        assert_eq!(&text[l.value_span.start..l.value_span.end], l.value);
        assert!(!text[l.line_span.start..l.line_span.end].contains('\n'));
        assert!(!l.key.is_empty(), "an empty key was accepted");
    }
    let Some(line) = lines.get(pick as usize % lines.len().max(1)) else {
        return;
    };

    // A fix that changes the value: exactly its bytes, and the reader gives the new value back.
    let new_value = "4096";
    let changed = splice(text, line.value_span, new_value);
    check_edit_within(text, &changed, line.value_span, "replacing a value");
    apim_tune_fuzz::write(REL, changed.as_bytes());
    let again = read(root(), &[]);
    let same_line = all_lines(&again)
        .into_iter()
        .find(|l| l.line == line.line && l.key == line.key)
        .expect("the edited line is still read");
    assert_eq!(
        same_line.value, new_value,
        "the edited value reads back otherwise"
    );

    // A fix that comments the line out.
    let commented = comment_out(text, line.line_span, "apim-tune: fuzz");
    let line_start = text[..line.line_span.start]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    check_edit_within(
        text,
        &commented,
        apim_tune::model::Span::new(line_start.max(content_start(text)), line.line_span.end),
        "commenting out a line",
    );
    apim_tune_fuzz::write(REL, commented.as_bytes());
    let again = read(root(), &[]);
    assert_eq!(
        all_lines(&again).len(),
        lines.len() - 1,
        "commenting out one line did not remove exactly one assignment"
    );

    // A fix that adds a line: a pure insertion that wins for its key. Fixes only add catalog
    // keys (dotted names); a key such as `-a` or `a*` would be read back as another key.
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '/');
    if !line.key.chars().all(plain) {
        return;
    }
    let added = append_line(text, &sysctl_line(text, &line.key, new_value));
    check_pure_insertion(text, &added, "appending a line");
    apim_tune_fuzz::write(REL, added.as_bytes());
    let again = read(root(), &[]);
    let winner = again.get(&line.key).and_then(|e| e.winner.as_ref());
    assert_eq!(
        winner.map(|w| w.value.as_str()),
        Some(new_value),
        "an appended line does not win for its key"
    );
});

fn all_lines(s: &Sysctl) -> Vec<SysctlLine> {
    let mut out: Vec<SysctlLine> = s
        .entries
        .values()
        .flat_map(|e| e.winner.iter().chain(&e.shadowed))
        .cloned()
        .collect();
    out.sort_by_key(|l| l.value_span.start);
    out
}

fn content_start(text: &str) -> usize {
    apim_tune::model::content_start(text)
}
