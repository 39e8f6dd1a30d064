//! Values read from files go through here before a terminal sees them: control characters
//! (including ESC, which could forge colours or move the cursor) and bidi overrides are escaped.

pub fn sanitize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\t' => out.push(' '),
            c if c.is_control() => out.push_str(&c.escape_unicode().to_string()),
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' => {
                out.push_str(&c.escape_unicode().to_string())
            }
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
    }
}
