//! Inputs the fuzz targets in `fuzz/` found (issue 15), each minimised and kept as an ordinary
//! test with the property it broke, so `cargo test` guards the fix without cargo-fuzz.

use apim_tune::apim::properties::parse as parse_properties;
use apim_tune::edit::line::set_property;
use apim_tune::model::SourceFile;
use std::path::PathBuf;
use std::sync::Arc;

fn file(display: &str, text: &str) -> Arc<SourceFile> {
    SourceFile::new(
        PathBuf::from(display),
        display.to_string(),
        text.to_string(),
    )
}

/// fuzz/properties: a file holding only a continuation backslash is an entry with an empty
/// key (as in `Properties.load`); setting that key's value wrote `\=…` after the backslash,
/// which reads back as the key `=`.
#[test]
fn setting_the_empty_key_of_a_lone_continuation_reads_back() {
    let (props, _) = parse_properties(file("a.properties", "\\"));
    assert_eq!(props.entries.len(), 1);
    let new = set_property(&props, "", "\\");
    let (after, _) = parse_properties(file("a.properties", &new));
    assert_eq!(
        after.get("").map(|e| e.value.as_str()),
        Some("\\"),
        "{new:?}"
    );
}

/// fuzz/properties: `=\` ending in a lone `\r` continues onto a value line ended by `\n`;
/// setting the empty value spliced nothing between the `\r` and the `\n`, which then made one
/// line end, so the continuation took the next line as the value.
#[test]
fn an_empty_value_over_a_continued_value_does_not_join_the_next_line() {
    let text = "=\\\rx\ny=1\n";
    let (props, _) = parse_properties(file("a.properties", text));
    let new = set_property(&props, "", "");
    let (after, _) = parse_properties(file("a.properties", &new));
    assert_eq!(after.get("").map(|e| e.value.as_str()), Some(""), "{new:?}");
    assert_eq!(
        after.get("y").map(|e| e.value.as_str()),
        Some("1"),
        "{new:?}"
    );
}

/// fuzz/xml: element text is trimmed of XML whitespace only (space, tab, CR, LF); a form feed
/// beside it stays. The target had checked with Rust's `trim`, which also drops a form feed:
/// the property was wrong, not the reader, and this pins what the reader does.
#[test]
fn element_text_is_trimmed_of_xml_whitespace_only() {
    let doc = apim_tune::apim::xml::parse(file("a.xml", "<a> \u{c}x\n</a>")).unwrap();
    let text = doc.root.text.as_ref().map(|t| t.value.as_str());
    assert_eq!(text, Some("\u{c}x"));
}

/// fuzz/start_script: in a mangled, quoted `JVM_MEM_OPTS` (`"-Xms2048m -XmxOPTS="-Xms2048m …`),
/// cutting one option out re-paired the quotes and swallowed a second one; `remove_flag`
/// returned the edit anyway. It now refuses an edit after which any other option reads back
/// differently, or, when it edits, removes exactly one option.
#[test]
fn removing_an_option_from_a_mangled_quote_removes_one_or_refuses() {
    let text = "JVM_MEM_OPTS=\"-Xms2048m -XmxOPTS=\"-Xms2048m -Xmx6144m -XX:MaxPermSize=1024m\"\n$JAVACMD $JVM_MEM_OPTS org.wso2.carbon.bootstrap.Bootstrap\n";
    let (opts, _) = apim_tune::apim::jvm::parse(file("bin/wso2server.sh", text));
    for f in &opts.flags {
        let count = |o: &apim_tune::apim::jvm::JvmOptions| {
            o.flags.iter().filter(|g| g.name == f.name).count()
        };
        if let Ok(new) = apim_tune::edit::jvm::remove_flag(&opts, f.token_span) {
            let (after, _) = apim_tune::apim::jvm::parse(file("bin/wso2server.sh", &new));
            assert_eq!(count(&after) + 1, count(&opts), "{}: {new:?}", f.name);
        }
    }
}
