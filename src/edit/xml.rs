//! Format-preserving editor for the API-M XML configuration files (api-manager.xml, axis2.xml,
//! carbon.xml, identity.xml, master-datasources.xml, catalina-server.xml…).
//!
//! Owns: turning "this XPath should yield this value" into the smallest text change — the bytes
//! of one value, one attribute added to a start tag, or the missing elements inserted where a
//! person would put them — and proving the result with the reader in `apim::xml`.
//! Must not: reformat, reorder, re-indent or re-encode anything else (comments, CRLF, a BOM, a
//! missing final newline all survive byte for byte), write files, or put the value in a message
//! (it may be a password).
//!
//! Decisions:
//! - A value the XPath already yields leaves the text untouched (so `&#65;` or a CDATA section
//!   that already says the right thing is not rewritten); this also makes `set` idempotent.
//! - More than one match is an error: the editor does not guess which one was meant.
//! - Text is escaped (`&`, `<`, `>`); a value that was a lone CDATA section stays one when it can.
//!   Attribute values also escape their quote and write tab/CR/LF as character references, which
//!   attribute-value normalisation would otherwise turn into spaces.
//! - Values with leading or trailing whitespace are refused by the final check, because the
//!   reader trims element text and would not give the value back.
//! - A self-closing parent (`<Cache/>`) is expanded to `<Cache>…</Cache>`: its name is copied
//!   from its own start tag and the result is re-parsed, so this is not risky.
//! - Created elements take the namespace prefix of the element they are created in.

use super::Edit;
use super::{leading_ws, line_start, usual_eol};
use crate::apim::xml::{Element, Pred, Step, XPath, XmlDoc, parse};
use crate::model::{SourceFile, Span};
use std::collections::BTreeMap;

/// Set the value the XPath designates (element text, or attribute with a final `/@attr`).
///
/// Present: exactly the value bytes are replaced. Absent: a missing attribute is added to the
/// start tag of its (single) element; missing elements are created, nested, inside the deepest
/// existing element of the path, after its last child element (or after its start tag), each on
/// its own line with the file's indentation and line ending. `[@a='v']` predicates become
/// attributes of created elements; a `[child='v']` predicate or a `*` step cannot be created.
/// The result is re-parsed and queried; it must yield exactly `value` once.
pub fn set(doc: &XmlDoc, xpath: &XPath, value: &str) -> Result<String, String> {
    let text = doc.file.text.as_str();
    let hits = doc.query(xpath);
    if hits.len() > 1 {
        return Err(ambiguous(xpath, hits.len()));
    }
    let edit = match hits.first() {
        // Already right: nothing to change, and no reason to rewrite an equivalent spelling.
        Some(hit) if hit.value == value && hit.span.is_some() => return Ok(text.to_string()),
        Some(hit) => {
            let elem = doc
                .query_elements(xpath)
                .into_iter()
                .find(|e| e.span == hit.element_span)
                .ok_or_else(|| format!("`{xpath}`: matched element not found again"))?;
            match (hit.span, xpath.attr().is_some()) {
                (Some(span), true) => {
                    let quote = quote_before(text, span.start);
                    Edit::replace(span, escape_attr(value, quote))
                }
                (Some(span), false) => Edit::replace(span, text_literal(text, span, value)),
                (None, _) if elem.self_closing => expand_leaf(text, elem, value)?,
                (None, _) => {
                    return Err(format!(
                        "`{xpath}` names an element with child elements, not a value"
                    ));
                }
            }
        }
        None => absent(doc, xpath, value)?,
    };
    let new_text = edit.apply(text)?;
    verify(doc, xpath, value, new_text)
}

/// The edit for a value that is not in the file yet.
fn absent(doc: &XmlDoc, xpath: &XPath, value: &str) -> Result<Edit, String> {
    let text = doc.file.text.as_str();
    if let Some(attr) = xpath.attr() {
        let elems = doc.query_elements(xpath);
        match elems.as_slice() {
            [] => {}
            [elem] => return Ok(add_attribute(text, elem, attr, value)),
            more => return Err(ambiguous(xpath, more.len())),
        }
    }
    // The deepest existing element along the path; everything below it is created.
    let mut parent: Option<(&Element, usize)> = None;
    for depth in (1..xpath.steps().len()).rev() {
        let prefix = xpath.prefix(depth);
        let found = doc.query_elements(&prefix);
        match found.as_slice() {
            [] => continue,
            [one] => {
                parent = Some((one, depth));
                break;
            }
            more => return Err(ambiguous(&prefix, more.len())),
        }
    }
    let Some((parent, depth)) = parent else {
        return Err(format!(
            "`{xpath}`: the root element `{}` does not match the path",
            doc.root.name
        ));
    };
    let missing = xpath.steps().get(depth..).unwrap_or(&[]);
    for step in missing {
        let Some(name) = &step.name else {
            return Err(format!("`{xpath}`: a `*` step cannot be created"));
        };
        if let Some((child, _)) = step.preds.iter().find_map(|p| match p {
            Pred::Child { name, value } => Some((name, value)),
            Pred::Attr { .. } => None,
        }) {
            return Err(format!(
                "`{xpath}`: `{name}` is missing and its `[{child}=…]` predicate names a child \
                 element, which cannot be created from the path"
            ));
        }
    }
    let prefix = name_prefix(tag_qname(text, parent.start_tag));
    let block = Block {
        steps: missing,
        attr: xpath.attr(),
        value,
        prefix,
    };
    insert_children(doc, parent, &block)
}

/// `<a/>` that should hold text: `<a>value</a>`.
fn expand_leaf(text: &str, elem: &Element, value: &str) -> Result<Edit, String> {
    let qname = tag_qname(text, elem.start_tag);
    let from = self_closing_cut(text, elem.start_tag)?;
    Ok(Edit::replace(
        Span::new(from, elem.start_tag.end),
        format!(">{}</{qname}>", escape_text(value)),
    ))
}

/// ` attr="value"` into the start tag: on its own line when the tag already puts one attribute
/// per line, else before the `>` / `/>` (and before any space in front of it).
fn add_attribute(text: &str, elem: &Element, attr: &str, value: &str) -> Edit {
    let quote = elem
        .attrs
        .first()
        .map_or('"', |a| quote_before(text, a.value_span.start));
    let pair = format!("{attr}={quote}{}{quote}", escape_attr(value, quote));
    if let Some(last) = elem.attrs.last() {
        let line = line_start(text, last.value_span.start);
        let before = text.get(line..last.value_span.start).unwrap_or("");
        // One attribute per line: the last one starts its line, after only indentation.
        let own_line = line > elem.start_tag.start
            && before.starts_with([' ', '\t'])
            && before.matches(['"', '\'']).count() == 1;
        if own_line {
            let indent = leading_ws(text, last.value_span.start);
            let at = last.value_span.end + 1;
            return Edit::insert(at, format!("{}{indent}{pair}", eol_at(text, at)));
        }
    }
    let tag = text
        .get(elem.start_tag.start..elem.start_tag.end)
        .unwrap_or("");
    let close = if tag.ends_with("/>") { 2 } else { 1 };
    let inner = tag.get(..tag.len().saturating_sub(close)).unwrap_or("");
    let at = elem.start_tag.start + inner.trim_end_matches(is_xml_ws).len();
    Edit::insert(at, format!(" {pair}"))
}

/// The elements to create: `steps` nested, the innermost holding `value` (as text, or as the
/// attribute `attr`).
struct Block<'a> {
    steps: &'a [Step],
    attr: Option<&'a str>,
    value: &'a str,
    /// Namespace prefix with its colon (`p:`), or empty.
    prefix: &'a str,
}

impl Block<'_> {
    /// The lines of the block, the first one indented by `indent`, each deeper level by one
    /// more `unit`. For an inline block pass empty `indent`, `unit` and `eol`.
    fn render(&self, indent: &str, unit: &str, eol: &str) -> Result<String, String> {
        let mut open = Vec::new();
        let mut close = Vec::new();
        let last = self.steps.len().saturating_sub(1);
        for (depth, step) in self.steps.iter().enumerate() {
            let name = step.name.as_deref().unwrap_or("");
            let qname = format!("{}{name}", self.prefix);
            let mut attrs: Vec<(&str, &str)> = Vec::new();
            for pred in &step.preds {
                if let Pred::Attr { name, value } = pred {
                    push_attr(&mut attrs, name, value, &qname)?;
                }
            }
            let pad = format!("{indent}{}", unit.repeat(depth));
            let mut tag = format!("{pad}<{qname}");
            if depth == last
                && let Some(attr) = self.attr
            {
                push_attr(&mut attrs, attr, self.value, &qname)?;
            }
            for (n, v) in &attrs {
                tag.push_str(&format!(" {n}=\"{}\"", escape_attr(v, '"')));
            }
            if depth < last {
                tag.push('>');
                open.push(tag);
                close.push(format!("{pad}</{qname}>"));
            } else if self.attr.is_some() {
                tag.push_str("/>");
                open.push(tag);
            } else {
                tag.push_str(&format!(">{}</{qname}>", escape_text(self.value)));
                open.push(tag);
            }
        }
        close.reverse();
        open.extend(close);
        Ok(open.join(eol))
    }
}

/// Adds an attribute for a created element; the same name twice only if the value agrees.
fn push_attr<'a>(
    attrs: &mut Vec<(&'a str, &'a str)>,
    name: &'a str,
    value: &'a str,
    elem: &str,
) -> Result<(), String> {
    match attrs.iter().find(|(n, _)| *n == name) {
        Some((_, v)) if *v == value => Ok(()),
        Some(_) => Err(format!(
            "cannot create `<{elem}>`: the path asks for two values of attribute `{name}`"
        )),
        None => {
            attrs.push((name, value));
            Ok(())
        }
    }
}

/// Inserts `block` as the new last child element of `parent`.
fn insert_children(doc: &XmlDoc, parent: &Element, block: &Block) -> Result<Edit, String> {
    let text = doc.file.text.as_str();
    let qname = tag_qname(text, parent.start_tag);
    if let Some(t) = &parent.text
        && !t.value.is_empty()
    {
        return Err(format!(
            "`<{qname}>` holds text; a child element cannot be added next to it"
        ));
    }
    let unit = indent_unit(doc, parent);
    let parent_indent = leading_ws(text, parent.start_tag.start);
    let child_indent = format!("{parent_indent}{unit}");

    if let Some(last) = parent.children.last() {
        if !at_line_start(text, last.span.start) {
            // Children written on one line (`<a><b/></a>`): keep the new one on that line too.
            return Ok(Edit::insert(last.span.end, block.render("", "", "")?));
        }
        let indent = leading_ws(text, last.span.start);
        let at = after_trailing_comment(text, last.span.end);
        let eol = eol_at(text, at);
        return Ok(Edit::insert(
            at,
            format!("{eol}{}", block.render(indent, &unit, eol)?),
        ));
    }

    let eol = eol_at(text, parent.start_tag.end);
    if parent.self_closing {
        let from = self_closing_cut(text, parent.start_tag)?;
        let body = block.render(&child_indent, &unit, eol)?;
        return Ok(Edit::replace(
            Span::new(from, parent.start_tag.end),
            format!(">{eol}{body}{eol}{parent_indent}</{qname}>"),
        ));
    }
    let inner = text
        .get(parent.start_tag.end..parent.span.end)
        .unwrap_or("");
    let end_tag = inner
        .rfind("</")
        .map(|i| parent.start_tag.end + i)
        .ok_or_else(|| format!("`<{qname}>`: end tag not found"))?;
    let content = text.get(parent.start_tag.end..end_tag).unwrap_or("");
    let body = block.render(&child_indent, &unit, eol)?;
    if content.trim_matches(is_xml_ws).is_empty() {
        // Only whitespace inside: lay the element out as `<P>`, child line, `</P>` line.
        Ok(Edit::replace(
            Span::new(parent.start_tag.end, end_tag),
            format!("{eol}{body}{eol}{parent_indent}"),
        ))
    } else {
        // Comments inside: they stay, after the new child.
        Ok(Edit::insert(parent.start_tag.end, format!("{eol}{body}")))
    }
}

/// Where to insert after an element ending at `end`: the end of its line when the rest of the
/// line is blank or one complete comment (a note about that element stays on its line), else
/// right after the element.
fn after_trailing_comment(text: &str, end: usize) -> usize {
    let eol = line_end(text, end);
    let rest = text.get(end..eol).unwrap_or("").trim_matches(is_xml_ws);
    let one_comment = rest.starts_with("<!--")
        && rest.ends_with("-->")
        && rest.find("-->").is_some_and(|i| i + 3 == rest.len());
    if rest.is_empty() || one_comment {
        eol
    } else {
        end
    }
}

/// The indent unit: from the nearest ancestor (the parent first) whose children are indented
/// deeper than it, else the most common indent step in the file, else four spaces.
fn indent_unit(doc: &XmlDoc, parent: &Element) -> String {
    let text = doc.file.text.as_str();
    let mut chain = Vec::new();
    ancestors(&doc.root, parent.span, &mut chain);
    for elem in chain.iter().rev() {
        if !at_line_start(text, elem.start_tag.start) {
            continue;
        }
        let outer = leading_ws(text, elem.start_tag.start);
        for child in &elem.children {
            if !at_line_start(text, child.span.start) {
                continue;
            }
            let inner = leading_ws(text, child.span.start);
            if let Some(step) = inner.strip_prefix(outer)
                && !step.is_empty()
            {
                return step.to_string();
            }
        }
    }
    file_indent_unit(text).unwrap_or_else(|| "    ".to_string())
}

/// Fills `out` with the elements from `e` down to the one spanning `target` (root first).
fn ancestors<'a>(e: &'a Element, target: Span, out: &mut Vec<&'a Element>) -> bool {
    out.push(e);
    if e.span == target {
        return true;
    }
    for c in &e.children {
        if c.span.start <= target.start && target.end <= c.span.end && ancestors(c, target, out) {
            return true;
        }
    }
    out.pop();
    false
}

/// The most common increase of indentation from one non-blank line to the next.
fn file_indent_unit(text: &str) -> Option<String> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut prev: Option<&str> = None;
    for line in text.lines() {
        let body = line.trim_start_matches([' ', '\t']);
        if body.trim().is_empty() {
            continue;
        }
        let lead = line.get(..line.len() - body.len()).unwrap_or("");
        if let Some(p) = prev
            && let Some(step) = lead.strip_prefix(p)
            && !step.is_empty()
        {
            *counts.entry(step).or_default() += 1;
        }
        prev = Some(lead);
    }
    counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.len().cmp(&a.0.len())))
        .map(|(s, _)| s.to_string())
}

/// Re-parses the edited text and checks that the path now yields exactly `value`, once.
fn verify(doc: &XmlDoc, xpath: &XPath, value: &str, new_text: String) -> Result<String, String> {
    let file = SourceFile::new(doc.file.path.clone(), doc.file.display.clone(), new_text);
    let parsed = parse(file.clone()).map_err(|p| {
        let line = p.location.line.unwrap_or(0);
        format!(
            "setting `{xpath}` would leave {} unparseable at line {line}: {}",
            doc.file.display,
            scrub(&p.message, value)
        )
    })?;
    let hits = parsed.query(xpath);
    match hits.as_slice() {
        [hit] if hit.value == value => Ok(file.text.clone()),
        [_] => Err(format!(
            "after the edit `{xpath}` does not read back as the new value \
             (element text is trimmed and line ends are normalised by XML)"
        )),
        more => Err(format!(
            "after the edit `{xpath}` matches {} places instead of one",
            more.len()
        )),
    }
}

/// A parser message with any copy of the value cut out: the value may be a secret.
fn scrub(message: &str, value: &str) -> String {
    if value.is_empty() || !message.contains(value) {
        message.to_string()
    } else {
        message.replace(value, "****")
    }
}

fn ambiguous(xpath: &XPath, n: usize) -> String {
    format!("`{xpath}` matches {n} elements; refusing to guess which one to change")
}

// ------------------------------------------------------------------------------------------------
// Text edits

/// The replacement for element text at `span`: a lone CDATA section stays CDATA when the value
/// allows it, anything else becomes escaped text.
fn text_literal(text: &str, span: Span, value: &str) -> String {
    let old = text.get(span.start..span.end).unwrap_or("");
    let lone_cdata = old.starts_with("<![CDATA[")
        && old.ends_with("]]>")
        && old.find("]]>").is_some_and(|i| i + 3 == old.len());
    if lone_cdata && !value.contains("]]>") {
        format!("<![CDATA[{value}]]>")
    } else {
        escape_text(value)
    }
}

fn escape_text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

fn escape_attr(value: &str, quote: char) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if quote == '"' => out.push_str("&quot;"),
            '\'' if quote == '\'' => out.push_str("&apos;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
    out
}

/// The quote character just before an attribute value.
fn quote_before(text: &str, value_start: usize) -> char {
    match text.as_bytes().get(value_start.wrapping_sub(1)) {
        Some(b'\'') => '\'',
        _ => '"',
    }
}

/// The qualified name written in a start tag (`p:Cache` of `<p:Cache a="1">`).
fn tag_qname(text: &str, start_tag: Span) -> &str {
    let tag = text.get(start_tag.start + 1..start_tag.end).unwrap_or("");
    let end = tag
        .find(|c: char| is_xml_ws(c) || c == '/' || c == '>')
        .unwrap_or(tag.len());
    tag.get(..end).unwrap_or("")
}

/// `p:` of `p:Cache`, or empty.
fn name_prefix(qname: &str) -> &str {
    match qname.rfind(':') {
        Some(i) => qname.get(..=i).unwrap_or(""),
        None => "",
    }
}

/// Where to cut a self-closing tag to reopen it: before the whitespace in front of `/>`.
fn self_closing_cut(text: &str, start_tag: Span) -> Result<usize, String> {
    let tag = text.get(start_tag.start..start_tag.end).unwrap_or("");
    let inner = tag
        .strip_suffix("/>")
        .ok_or_else(|| "internal error: not a self-closing tag".to_string())?;
    Ok(start_tag.start + inner.trim_end_matches(is_xml_ws).len())
}

fn is_xml_ws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// Start of the line ending (`\r\n` or `\n`) of the line holding `pos`, or the end of the text.
fn line_end(text: &str, pos: usize) -> usize {
    let nl = text
        .get(pos..)
        .and_then(|s| s.find('\n'))
        .map_or(text.len(), |i| pos + i);
    if nl > pos && text.as_bytes().get(nl - 1) == Some(&b'\r') && nl < text.len() {
        nl - 1
    } else {
        nl
    }
}

fn at_line_start(text: &str, pos: usize) -> bool {
    let start = line_start(text, pos);
    text.get(start..pos)
        .is_some_and(|s| s.chars().all(|c| c == ' ' || c == '\t'))
}

/// The line ending of the line holding `pos`, or the file's usual one at its last line.
fn eol_at(text: &str, pos: usize) -> &'static str {
    let end = line_end(text, pos);
    let rest = text.get(end..).unwrap_or("");
    if rest.starts_with("\r\n") {
        "\r\n"
    } else if rest.starts_with('\n') {
        "\n"
    } else {
        usual_eol(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apim::catalog::{Place, SettingType, catalog, file_path};
    use std::path::{Path, PathBuf};

    fn doc(text: &str) -> XmlDoc {
        let file = SourceFile::new("t.xml".into(), "t.xml".into(), text.to_string());
        parse(file).unwrap_or_else(|p| panic!("fixture does not parse: {p:?}"))
    }

    fn run(given: &str, xpath: &str, value: &str) -> Result<String, String> {
        set(&doc(given), &XPath::parse(xpath).unwrap(), value)
    }

    /// (name, given, xpath, value, produces)
    const CASES: &[(&str, &str, &str, &str, &str)] = &[
        (
            "text value",
            "<Server>\n  <Cache>\n    <DefaultCacheTimeout>15</DefaultCacheTimeout>\n  </Cache>\n</Server>\n",
            "/Server/Cache/DefaultCacheTimeout",
            "30",
            "<Server>\n  <Cache>\n    <DefaultCacheTimeout>30</DefaultCacheTimeout>\n  </Cache>\n</Server>\n",
        ),
        (
            "text padded by whitespace keeps the padding",
            "<a>\n  <b>  15  </b>\n</a>",
            "/a/b",
            "7",
            "<a>\n  <b>  7  </b>\n</a>",
        ),
        (
            "attribute, double quotes",
            "<Server><Connector port=\"9443\" maxThreads=\"250\"/></Server>\n",
            "/Server/Connector[@port='9443']/@maxThreads",
            "400",
            "<Server><Connector port=\"9443\" maxThreads=\"400\"/></Server>\n",
        ),
        (
            "attribute, single quotes",
            "<Server><Connector port='9443' maxThreads='250'/></Server>\n",
            "/Server/Connector[@port=\"9443\"]/@maxThreads",
            "it's",
            "<Server><Connector port='9443' maxThreads='it&apos;s'/></Server>\n",
        ),
        (
            "text needing escaping",
            "<a><url>x</url></a>",
            "/a/url",
            "a&b<c>",
            "<a><url>a&amp;b&lt;c&gt;</url></a>",
        ),
        (
            "attribute needing escaping",
            "<a><b c=\"x\"/></a>",
            "/a/b/@c",
            "a&\"b\"\t",
            "<a><b c=\"a&amp;&quot;b&quot;&#9;\"/></a>",
        ),
        (
            "cdata stays cdata",
            "<a><q><![CDATA[SELECT 1]]></q></a>",
            "/a/q",
            "SELECT 1 FROM DUAL WHERE 1<2",
            "<a><q><![CDATA[SELECT 1 FROM DUAL WHERE 1<2]]></q></a>",
        ),
        (
            "crlf file",
            "<a>\r\n  <b>1</b>\r\n</a>\r\n",
            "/a/b",
            "2",
            "<a>\r\n  <b>2</b>\r\n</a>\r\n",
        ),
        (
            "bom",
            "\u{feff}<?xml version=\"1.0\"?>\n<a>\n  <b>1</b>\n</a>\n",
            "/a/b",
            "2",
            "\u{feff}<?xml version=\"1.0\"?>\n<a>\n  <b>2</b>\n</a>\n",
        ),
        (
            "no final newline",
            "<a>\n  <b>1</b>\n</a>",
            "/a/b",
            "2",
            "<a>\n  <b>2</b>\n</a>",
        ),
        (
            "comments next to the value",
            "<a>\n  <!-- keep -->\n  <b><!-- lead -->1<!-- trail --></b> <!-- after -->\n  <!--b>9</b-->\n</a>\n",
            "/a/b",
            "2",
            "<a>\n  <!-- keep -->\n  <b><!-- lead -->2<!-- trail --></b> <!-- after -->\n  <!--b>9</b-->\n</a>\n",
        ),
        (
            "empty element",
            "<a>\n  <b></b>\n</a>\n",
            "/a/b",
            "x",
            "<a>\n  <b>x</b>\n</a>\n",
        ),
        (
            "self-closing element gets text",
            "<a>\n  <b />\n</a>\n",
            "/a/b",
            "x",
            "<a>\n  <b>x</b>\n</a>\n",
        ),
        (
            "insert missing element under its parent, next to a commented one",
            "<APIManager>\n    <CacheConfigurations>\n        <EnableGatewayTokenCache>true</EnableGatewayTokenCache>\n        <!--TokenCacheExpiry>900</TokenCacheExpiry-->\n        <EnableJWTClaimCache>true</EnableJWTClaimCache>\n    </CacheConfigurations>\n</APIManager>\n",
            "/APIManager/CacheConfigurations/TokenCacheExpiry",
            "900",
            "<APIManager>\n    <CacheConfigurations>\n        <EnableGatewayTokenCache>true</EnableGatewayTokenCache>\n        <!--TokenCacheExpiry>900</TokenCacheExpiry-->\n        <EnableJWTClaimCache>true</EnableJWTClaimCache>\n        <TokenCacheExpiry>900</TokenCacheExpiry>\n    </CacheConfigurations>\n</APIManager>\n",
        ),
        (
            "insert after a trailing comment on the last child's line",
            "<a>\n\t<b>1</b> <!-- note -->\n\t<!-- tail -->\n</a>",
            "/a/c",
            "2",
            "<a>\n\t<b>1</b> <!-- note -->\n\t<c>2</c>\n\t<!-- tail -->\n</a>",
        ),
        (
            "insert with crlf",
            "<a>\r\n  <b>1</b>\r\n</a>\r\n",
            "/a/c",
            "2",
            "<a>\r\n  <b>1</b>\r\n  <c>2</c>\r\n</a>\r\n",
        ),
        (
            "insert with an attribute predicate",
            "<axisconfig>\n    <transportSender name=\"http\" class=\"H\">\n        <parameter name=\"SO_TIMEOUT\">60000</parameter>\n    </transportSender>\n    <transportSender name=\"https\" class=\"S\">\n        <parameter name=\"PROTOCOL\">HTTP/1.1</parameter>\n    </transportSender>\n</axisconfig>\n",
            "/axisconfig/transportSender[@name='https']/parameter[@name='SO_TIMEOUT']",
            "30000",
            "<axisconfig>\n    <transportSender name=\"http\" class=\"H\">\n        <parameter name=\"SO_TIMEOUT\">60000</parameter>\n    </transportSender>\n    <transportSender name=\"https\" class=\"S\">\n        <parameter name=\"PROTOCOL\">HTTP/1.1</parameter>\n        <parameter name=\"SO_TIMEOUT\">30000</parameter>\n    </transportSender>\n</axisconfig>\n",
        ),
        (
            "insert a missing attribute",
            "<Host>\n    <Valve className=\"A\"/>\n    <Valve className=\"Stuck\" />\n</Host>\n",
            "/Host/Valve[@className='Stuck']/@threshold",
            "600",
            "<Host>\n    <Valve className=\"A\"/>\n    <Valve className=\"Stuck\" threshold=\"600\" />\n</Host>\n",
        ),
        (
            "insert a missing attribute in a one-per-line tag",
            "<S>\n  <Connector port='9443'\n             maxThreads='250'>\n  </Connector>\n</S>\n",
            "/S/Connector[@port='9443']/@acceptCount",
            "100",
            "<S>\n  <Connector port='9443'\n             maxThreads='250'\n             acceptCount='100'>\n  </Connector>\n</S>\n",
        ),
        (
            "insert several levels deep",
            "<Server>\n  <OAuth>\n    <Other>1</Other>\n  </OAuth>\n</Server>",
            "/Server/OAuth/TokenCleanup/EnableTokenCleanup",
            "true",
            "<Server>\n  <OAuth>\n    <Other>1</Other>\n    <TokenCleanup>\n      <EnableTokenCleanup>true</EnableTokenCleanup>\n    </TokenCleanup>\n  </OAuth>\n</Server>",
        ),
        (
            "insert several levels deep, ending in an attribute",
            "<Server>\n\t<Service>\n\t</Service>\n</Server>\n",
            "/Server/Service/Engine/Host/Valve[@className='V']/@threshold",
            "600",
            "<Server>\n\t<Service>\n\t\t<Engine>\n\t\t\t<Host>\n\t\t\t\t<Valve className=\"V\" threshold=\"600\"/>\n\t\t\t</Host>\n\t\t</Engine>\n\t</Service>\n</Server>\n",
        ),
        (
            "self-closing parent is expanded",
            "<Server>\n  <Cache/>\n</Server>\n",
            "/Server/Cache/DefaultCacheTimeout",
            "15",
            "<Server>\n  <Cache>\n    <DefaultCacheTimeout>15</DefaultCacheTimeout>\n  </Cache>\n</Server>\n",
        ),
        (
            "parent holding only a comment",
            "<a>\n    <b>\n        <!-- none yet -->\n    </b>\n</a>\n",
            "/a/b/c",
            "1",
            "<a>\n    <b>\n        <c>1</c>\n        <!-- none yet -->\n    </b>\n</a>\n",
        ),
        (
            "children on one line stay on one line",
            "<a><b>1</b></a>",
            "/a/c/d",
            "2",
            "<a><b>1</b><c><d>2</d></c></a>",
        ),
        (
            "default namespace and prefixes",
            "<p:Server xmlns:p=\"urn:x\">\n  <p:Cache>\n  </p:Cache>\n</p:Server>\n",
            "/Server/Cache/Timeout",
            "5",
            "<p:Server xmlns:p=\"urn:x\">\n  <p:Cache>\n    <p:Timeout>5</p:Timeout>\n  </p:Cache>\n</p:Server>\n",
        ),
        (
            "same value leaves the text alone",
            "<a><b>&#65;</b></a>",
            "/a/b",
            "A",
            "<a><b>&#65;</b></a>",
        ),
    ];

    #[test]
    fn given_produces() {
        for (name, given, xpath, value, produces) in CASES {
            match run(given, xpath, value) {
                Ok(out) => {
                    assert_eq!(out, *produces, "case `{name}`");
                    // And again: nothing more changes.
                    assert_eq!(
                        run(&out, xpath, value).as_deref(),
                        Ok(*produces),
                        "case `{name}` (second run)"
                    );
                }
                Err(e) => panic!("case `{name}`: {e}"),
            }
        }
    }

    /// (name, given, xpath, value, error contains)
    const ERRORS: &[(&str, &str, &str, &str, &str)] = &[
        (
            "child predicate cannot be created",
            "<ds><datasources><datasource><name>A</name></datasource></datasources></ds>",
            "/ds/datasources/datasource[name='B']/definition/x",
            "1",
            "cannot be created",
        ),
        (
            "wildcard step cannot be created",
            "<a></a>",
            "/a/*/c",
            "1",
            "`*` step cannot be created",
        ),
        (
            "two matches",
            "<a><b>1</b><b>2</b></a>",
            "/a/b",
            "3",
            "matches 2 elements",
        ),
        (
            "element with children",
            "<a><b><c/></b></a>",
            "/a/b",
            "3",
            "child elements",
        ),
        (
            "parent with text",
            "<a><b>1</b></a>",
            "/a/b/c",
            "3",
            "holds text",
        ),
        ("wrong root", "<a/>", "/x/y", "3", "root element `a`"),
        (
            "value that does not survive trimming",
            "<a><b>1</b></a>",
            "/a/b",
            " s3cret ",
            "does not read back",
        ),
    ];

    #[test]
    fn errors() {
        for (name, given, xpath, value, wanted) in ERRORS {
            match run(given, xpath, value) {
                Ok(out) => panic!("case `{name}`: expected an error, got {out:?}"),
                Err(e) => {
                    assert!(e.contains(wanted), "case `{name}`: {e}");
                    assert!(!e.contains(value), "case `{name}` leaks the value: {e}");
                }
            }
        }
    }

    #[test]
    fn indent_unit_falls_back_to_the_file_then_four_spaces() {
        assert_eq!(
            file_indent_unit("<a>\n  <b>\n    <c/>\n  </b>\n</a>").as_deref(),
            Some("  ")
        );
        let d = doc("<a><b/></a>");
        assert_eq!(indent_unit(&d, &d.root), "    ");
        assert_eq!(
            run("<a><b/></a>", "/a/b/c/d", "1").unwrap(),
            "<a><b>\n    <c>\n        <d>1</d>\n    </c>\n</b></a>"
        );
    }

    // --------------------------------------------------------------------------------------------
    // Corpus: every `<3.0` XPath of the catalog against the real 1.x/2.x files.

    fn fixture_root() -> Option<PathBuf> {
        crate::test_support::shared("fixtures/wso2")
    }

    /// A value of the setting's type that differs from `current`.
    fn changed(ty: SettingType, current: Option<&str>) -> String {
        let v = match ty {
            SettingType::Int => "4242",
            SettingType::Bool => {
                if current == Some("true") {
                    "false"
                } else {
                    "true"
                }
            }
            SettingType::String => "https://example.com/x?a=1&b=<2>",
        };
        if current == Some(v) {
            format!("{v}1")
        } else {
            v.to_string()
        }
    }

    #[test]
    fn corpus_catalog_xpaths() {
        let Some(root) = fixture_root() else {
            eprintln!("skipping: shared/fixtures/wso2 is absent");
            return;
        };
        let mut runs = 0;
        for setting in catalog() {
            for at in &setting.at {
                let Place::Xml { file, xpath } = &at.place else {
                    continue;
                };
                if !at.versions.as_str().starts_with('<') && !at.versions.as_str().contains("<3") {
                    continue;
                }
                let rel = file_path(file).unwrap();
                for v in ["apim-1.10.0", "apim-2.1.0", "apim-2.6.0"] {
                    let path = root.join(v).join(rel);
                    check_one(&path, xpath, setting.ty, &setting.id);
                    runs += 1;
                }
            }
        }
        assert!(runs >= 40, "only {runs} runs");
    }

    fn check_one(path: &Path, xpath: &str, ty: SettingType, id: &str) {
        let label = format!("{id} {} {xpath}", path.display());
        let text = std::fs::read_to_string(path).unwrap();
        let d = doc(&text);
        let xp = XPath::parse(xpath).unwrap();
        let hits = d.query(&xp);
        let current = hits.first().map(|h| h.value.as_str());
        let value = changed(ty, current);
        let out = set(&d, &xp, &value).unwrap_or_else(|e| panic!("{label}: {e}"));
        let after = doc(&out);
        let new_hits = after.query(&xp);
        assert_eq!(new_hits.len(), 1, "{label}");
        assert_eq!(new_hits[0].value, value, "{label}");
        let (s, e, new) = crate::test_support::changed_region(&text, &out);
        match hits.first().and_then(|h| h.span) {
            Some(span) => {
                // A replacement: only the value bytes changed.
                assert!(
                    span.start <= s && e <= span.end,
                    "{label}: edit outside value"
                );
                assert_eq!(
                    format!(
                        "{}{}{}",
                        &text[..span.start],
                        new_hits_raw(&out, &new_hits[0]),
                        &text[span.end..]
                    ),
                    out,
                    "{label}"
                );
            }
            None => {
                // An insertion: nothing of the original is removed.
                assert_eq!(s, e, "{label}: insertion removed bytes");
                assert!(
                    !new.contains("\n\n"),
                    "{label}: blank line inserted: {new:?}"
                );
            }
        }
        // Every other catalog path that does not overlap this one reads the same.
        for other in catalog()
            .iter()
            .flat_map(|s| &s.at)
            .filter_map(|a| match &a.place {
                Place::Xml { xpath: other, .. } => Some(other.as_str()),
                _ => None,
            })
        {
            if xpath.starts_with(other) || other.starts_with(xpath) {
                continue;
            }
            let p = XPath::parse(other).unwrap();
            let b: Vec<String> = d.query(&p).into_iter().map(|h| h.value).collect();
            let a: Vec<String> = after.query(&p).into_iter().map(|h| h.value).collect();
            assert_eq!(b, a, "{label}: {other} changed");
        }
        // Idempotent.
        assert_eq!(
            set(&after, &xp, &value).as_deref(),
            Ok(out.as_str()),
            "{label}"
        );
    }

    fn new_hits_raw<'a>(out: &'a str, hit: &crate::apim::xml::XmlHit) -> &'a str {
        let span = hit.span.unwrap();
        &out[span.start..span.end]
    }

    /// All catalog paths of one file set one after the other: later paths land in the elements
    /// the earlier ones created, and every value is still there at the end.
    #[test]
    fn corpus_all_xpaths_in_sequence() {
        let Some(root) = fixture_root() else {
            eprintln!("skipping: shared/fixtures/wso2 is absent");
            return;
        };
        for v in ["apim-1.10.0", "apim-2.1.0", "apim-2.6.0"] {
            let mut texts: BTreeMap<&str, String> = BTreeMap::new();
            let mut wanted = Vec::new();
            for (n, setting) in catalog().iter().enumerate() {
                for at in &setting.at {
                    let Place::Xml { file, xpath } = &at.place else {
                        continue;
                    };
                    let rel = file_path(file).unwrap();
                    let text = texts.entry(rel).or_insert_with(|| {
                        std::fs::read_to_string(root.join(v).join(rel)).unwrap()
                    });
                    let value = match setting.ty {
                        SettingType::Int => format!("{}", 1000 + n),
                        SettingType::Bool => format!("{}", n % 2 == 0),
                        SettingType::String => format!("v{n}&"),
                    };
                    let xp = XPath::parse(xpath).unwrap();
                    *text =
                        set(&doc(text), &xp, &value).unwrap_or_else(|e| panic!("{v} {xpath}: {e}"));
                    wanted.push((rel, xp, value));
                }
            }
            for (rel, xp, value) in &wanted {
                let d = doc(&texts[rel]);
                let hits = d.query(xp);
                assert_eq!(hits.len(), 1, "{v} {xp}");
                assert_eq!(&hits[0].value, value, "{v} {xp}");
            }
            assert_eq!(
                texts["repository/conf/api-manager.xml"]
                    .matches("<CacheConfigurations>")
                    .count(),
                1,
                "{v}"
            );
        }
    }
}
