//! Start-script reader (`apim::jvm::parse`, on the shell lexer `apim::shell`) and the JVM
//! option editor (`edit::jvm::{set_flag, remove_flag}`): every option's token and value spans
//! are exact (`raw` is the token's bytes, the value inside it); changing a value touches only
//! its token, adding an option only inserts, removing one touches only its line(s), and each
//! result reads back as intended.
#![no_main]

use apim_tune::apim::jvm::{JvmOptions, parse};
use apim_tune::edit::jvm::{remove_flag, set_flag};
use apim_tune::model::Span;
use apim_tune_fuzz::{check_edit_within, check_pure_insertion, check_span, check_within, source};
use libfuzzer_sys::fuzz_target;

const DISPLAY: &str = "bin/api-manager.sh";

fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(bytes);
    let text = text.as_ref();
    let (opts, _problems) = parse(source(DISPLAY, text));
    for f in &opts.flags {
        check_span(text, f.token_span, "token");
        assert_eq!(
            &text[f.token_span.start..f.token_span.end],
            f.raw,
            "raw is not the token's bytes"
        );
        if let Some(v) = f.value_span {
            check_span(text, v, "value");
            check_within(v, f.token_span, "value in its token");
        }
    }

    // Set an option that is there (the one in effect for its name), or add one.
    let picked = opts.flags.get(pick as usize % opts.flags.len().max(1));
    let name = match (picked, pick % 3) {
        (Some(f), _) if !f.name.starts_with("-XX:+") && !f.name.starts_with("-XX:-") => {
            f.name.clone()
        }
        (_, 0) => "-Xmx".to_string(),
        (_, 1) => "-Dfuzz.flag".to_string(),
        _ => "-XX:MaxMetaspaceSize".to_string(),
    };
    if let Ok(new) = set_flag(&opts, &name, "512m") {
        match opts.get(&name) {
            Some(f) => check_edit_within(text, &new, f.token_span, "changing an option"),
            None => check_pure_insertion(text, &new, "adding an option"),
        }
        let (after, _) = parse(source(DISPLAY, &new));
        assert_eq!(
            after.get(&name).and_then(|f| f.value.as_deref()),
            Some("512m"),
            "the option set does not read back"
        );
    }

    // Remove the picked option.
    let Some(f) = picked else { return };
    if let Ok(new) = remove_flag(&opts, f.token_span) {
        check_edit_within(
            text,
            &new,
            lines_of(text, f.token_span),
            "removing an option",
        );
        let (after, _) = parse(source(DISPLAY, &new));
        assert_eq!(
            count(&after, &f.name) + 1,
            count(&opts, &f.name),
            "removing an option"
        );
    }
});

/// From the start of the line holding `span.start` to the end of the line holding `span.end`,
/// its line end included.
fn lines_of(text: &str, span: Span) -> Span {
    let start = text[..span.start].rfind('\n').map_or(0, |i| i + 1);
    let end = text[span.end..]
        .find('\n')
        .map_or(text.len(), |i| span.end + i + 1);
    Span::new(start, end)
}

fn count(opts: &JvmOptions, name: &str) -> usize {
    opts.all(name).len()
}
