//! Values read from files go through here before a terminal sees them: control characters
//! (including ESC, which could forge colours or move the cursor) and bidi overrides are escaped.

pub fn sanitize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\t' => out.push(' '),
            c if c.is_control() => out.push_str(&c.escape_unicode().to_string()),
            // Bidi overrides, zero-width characters and the BOM would hide or reorder text.
            '\u{202A}'..='\u{202E}'
            | '\u{2066}'..='\u{2069}'
            | '\u{200B}'..='\u{200F}'
            | '\u{2060}'
            | '\u{FEFF}' => out.push_str(&c.escape_unicode().to_string()),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_terminal_controls() {
        assert_eq!(super::sanitize("a\u{1b}[31mb"), "a\\u{1b}[31mb");
        assert_eq!(super::sanitize("x\u{202E}y"), "x\\u{202e}y");
        assert_eq!(super::sanitize("plain `v`"), "plain `v`");
        assert_eq!(super::sanitize("\u{feff}k\u{200b}"), "\\u{feff}k\\u{200b}");
    }
}
