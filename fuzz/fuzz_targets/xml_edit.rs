//! XML editor (`edit::xml::set`): a successful edit of an existing value changes only that
//! value's bytes, an insertion changes nothing outside the root element, the result reads back
//! as the value once, and setting it again changes nothing.
#![no_main]

use apim_tune::apim::xml::{Element, XPath, parse};
use apim_tune::edit::xml::set;
use apim_tune_fuzz::{check_edit_within, source, split};
use libfuzzer_sys::fuzz_target;

const DISPLAY: &str = "repository/conf/api-manager.xml";

fuzz_target!(|data: &[u8]| {
    // [element pick, mode, value length] value document
    let (params, rest) = split(data, 3);
    let [pick, mode, vlen] = params[..] else {
        return;
    };
    let vlen = (vlen as usize % 24).min(rest.len());
    let Some(cut) = (vlen..=rest.len()).find(|&i| rest.is_char_boundary(i)) else {
        return;
    };
    let (value, text) = rest.split_at(cut);
    let Ok(doc) = parse(source(DISPLAY, text)) else {
        return;
    };

    let mut paths = Vec::new();
    collect_paths(&doc.root, String::new(), &mut paths);
    let (path, element) = &paths[pick as usize % paths.len()];
    let xpath = match mode % 4 {
        0 => path.clone(),
        // An attribute: one the element has, or a new one.
        1 => match element
            .attrs
            .get(mode as usize / 4 % (element.attrs.len() + 1))
        {
            Some(a) => format!("{path}/@{}", a.name),
            None => format!("{path}/@fuzzAttr"),
        },
        // Missing elements, created nested inside the deepest existing one.
        2 => format!("{path}/FuzzChild"),
        _ => format!("{path}/FuzzChild[@name='k']/Leaf"),
    };
    let Ok(xpath) = XPath::parse(&xpath) else {
        return;
    };
    let hits = doc.query(&xpath);
    let Ok(new) = set(&doc, &xpath, value) else {
        return;
    };

    match hits.as_slice() {
        [hit] if hit.span.is_some() => {
            let span = hit.span.unwrap_or(hit.element_span);
            check_edit_within(text, &new, span, "replacing a value");
        }
        _ => check_edit_within(text, &new, doc.root.span, "inserting a value"),
    }
    let doc2 = parse(source(DISPLAY, &new)).expect("the edited document parses");
    let hits2 = doc2.query(&xpath);
    assert_eq!(hits2.len(), 1, "the edited document has one match");
    assert_eq!(
        hits2[0].value, value,
        "the edited document reads back another value"
    );
    let again = set(&doc2, &xpath, value).expect("setting the same value again works");
    assert_eq!(again, new, "setting the same value twice is not idempotent");
});

/// Every element with its absolute path of local names.
fn collect_paths<'a>(e: &'a Element, parent: String, out: &mut Vec<(String, &'a Element)>) {
    let path = format!("{parent}/{}", e.name);
    out.push((path.clone(), e));
    for c in &e.children {
        collect_paths(c, path.clone(), out);
    }
}
