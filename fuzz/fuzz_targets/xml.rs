//! XML reader (`apim::xml`): a parse that succeeds hands out an element tree whose spans are
//! exact and nested as the document is, no deeper than `MAX_DEPTH`, and the same every time.
#![no_main]

use apim_tune::apim::xml::{Element, MAX_DEPTH, parse};
use apim_tune_fuzz::{check_span, check_within, source};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Ok(doc) = parse(source("repository/conf/carbon.xml", &text)) else {
        return;
    };
    check_element(&text, &doc.root, 1);
    let again = parse(source("repository/conf/carbon.xml", &text)).expect("parses twice");
    assert_eq!(again.root, doc.root, "a second parse gives another tree");
});

fn check_element(text: &str, e: &Element, depth: usize) {
    assert!(
        depth <= MAX_DEPTH,
        "element {depth} levels deep was accepted"
    );
    check_span(text, e.span, "element");
    check_span(text, e.start_tag, "start tag");
    check_within(e.start_tag, e.span, "start tag in its element");
    assert_eq!(
        e.start_tag.start, e.span.start,
        "the element starts with its start tag"
    );
    assert!(
        text[e.start_tag.start..].starts_with('<'),
        "start tag without `<`"
    );
    assert!(
        text[..e.span.end].ends_with('>'),
        "element span does not end at a `>`"
    );
    if e.self_closing {
        assert_eq!(
            e.span, e.start_tag,
            "a self-closing element is its start tag"
        );
        assert!(e.children.is_empty() && e.text.is_none());
    }
    for a in &e.attrs {
        check_span(text, a.value_span, "attribute value");
        check_within(
            a.value_span,
            e.start_tag,
            "attribute value in its start tag",
        );
    }
    if let Some(t) = &e.text {
        check_span(text, t.span, "text");
        check_within(t.span, e.span, "text in its element");
        assert!(e.children.is_empty(), "text and child elements at once");
        // Trimmed of XML whitespace (space, tab, CR, LF: XML 1.0 `S`), not of Rust's wider
        // Unicode whitespace: a form feed is text to an XML reader.
        let xml_ws = |c: char| matches!(c, ' ' | '\t' | '\r' | '\n');
        assert_eq!(t.value, t.value.trim_matches(xml_ws), "text is documented as trimmed");
    }
    let mut after = e.start_tag.end;
    for c in &e.children {
        check_within(c.span, e.span, "child in its parent");
        assert!(
            c.span.start >= after,
            "children overlap or are out of order"
        );
        after = c.span.end;
        check_element(text, c, depth + 1);
    }
}
