//! A small POSIX-shell reader for start-up scripts: words with their quotes removed and the
//! byte offset of every character kept (quotes, escapes, comments, `$(…)`/`${…}`/backquote
//! substitutions, here-documents, line continuations, CRLF), operators, and the pieces of a
//! `test`/`[ … ]` condition and of a `NAME=value` assignment.
//!
//! Must not: run or evaluate the script, expand variables, or know what the words mean to a
//! JVM (that is `jvm`).

use crate::model::{Span, content_start};

/// Builtins whose `NAME=value` arguments are assignments.
pub(crate) const DECLARATION_COMMANDS: [&str; 5] =
    ["export", "readonly", "local", "declare", "typeset"];

/// Splits `text` into words and operators. A lexical error (an unterminated quote, say) ends
/// the scan: the tokens before it are returned with the error's offset and message.
pub(crate) fn tokens(text: &str) -> (Vec<Tok>, Option<LexError>) {
    Lexer::new(text).run()
}

/// One character of a word after quote removal, with the byte offset it came from.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WChar {
    pub(crate) c: char,
    pub(crate) off: usize,
    /// Part of a command or parameter substitution (`$(...)`, `` `...` ``, `${...}`): its
    /// whitespace does not split the word.
    pub(crate) in_subst: bool,
}

#[derive(Debug)]
pub(crate) struct Word {
    /// Raw bytes of the whole word, quotes included.
    pub(crate) span: Span,
    pub(crate) chars: Vec<WChar>,
    /// Any quoting or escaping in the word: such a word is never a reserved word.
    pub(crate) quoted: bool,
}

impl Word {
    pub(crate) fn text(&self) -> String {
        self.chars.iter().map(|w| w.c).collect()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    /// Newline, `;`, `;;`, `&`, `&&`, `||`, `|`, `(`, `)`: after these a new command starts.
    Separator(&'static str),
    /// `<`, `>`, `>>`, `<<`, `2>&1`'s `>&`, ...: the next word is a file or a descriptor.
    Redirect,
}

#[derive(Debug)]
pub(crate) enum Tok {
    Word(Word),
    Op(Op),
}

struct Lexer<'t> {
    text: &'t str,
    i: usize,
    tokens: Vec<Tok>,
    /// Here-documents whose bodies start after the current line: (delimiter, strip tabs).
    pending_heredocs: Vec<(String, bool)>,
    /// The next word is a here-document delimiter.
    heredoc_next: Option<bool>,
}

pub(crate) type LexError = (usize, String);

impl<'t> Lexer<'t> {
    fn new(text: &'t str) -> Self {
        // A BOM is not part of the first command.
        let i = content_start(text);
        Lexer {
            text,
            i,
            tokens: Vec::new(),
            pending_heredocs: Vec::new(),
            heredoc_next: None,
        }
    }

    fn peek(&self) -> Option<char> {
        self.text.get(self.i..).and_then(|s| s.chars().next())
    }

    fn peek_at(&self, ahead: usize) -> Option<char> {
        self.text.get(self.i..).and_then(|s| s.chars().nth(ahead))
    }

    fn starts_with(&self, s: &str) -> bool {
        self.text.get(self.i..).is_some_and(|t| t.starts_with(s))
    }

    /// Length of a line end at the cursor (`\n` or `\r\n`), 0 if none.
    fn newline_len(&self) -> usize {
        self.newline_len_at(self.i)
    }

    fn newline_len_at(&self, at: usize) -> usize {
        let rest = self.text.get(at..).unwrap_or("");
        if rest.starts_with('\n') {
            1
        } else if rest.starts_with("\r\n") {
            2
        } else {
            0
        }
    }

    /// Just after a `\`: consumes the line end that makes it a line continuation, if one
    /// follows.
    fn continues_line(&mut self) -> bool {
        let nl = self.newline_len();
        self.i += nl;
        nl > 0
    }

    fn run(mut self) -> (Vec<Tok>, Option<LexError>) {
        let result = self.lex();
        (self.tokens, result.err())
    }

    fn lex(&mut self) -> Result<(), LexError> {
        while let Some(c) = self.peek() {
            match c {
                ' ' | '\t' | '\r' if self.newline_len() == 0 => self.i += 1,
                '\\' if self.newline_len_at(self.i + 1) > 0 => {
                    // A line continuation between words.
                    self.i += 1 + self.newline_len_at(self.i + 1);
                }
                '#' => {
                    // A comment runs to the end of the line; the newline still separates.
                    let rest = &self.text[self.i..];
                    self.i += rest.find('\n').unwrap_or(rest.len());
                    if self.text[..self.i].ends_with('\r') {
                        self.i -= 1;
                    }
                }
                '\n' | '\r' => {
                    self.i += self.newline_len().max(1);
                    self.tokens.push(Tok::Op(Op::Separator("\n")));
                    self.skip_heredoc_bodies();
                }
                ';' | '&' | '|' | '(' | ')' => {
                    let two: String = [Some(c), self.peek_at(1)].into_iter().flatten().collect();
                    let op = match two.as_str() {
                        ";;" => ";;",
                        "&&" => "&&",
                        "||" => "||",
                        _ => match c {
                            ';' => ";",
                            '&' => "&",
                            '|' => "|",
                            '(' => "(",
                            _ => ")",
                        },
                    };
                    self.i += op.len();
                    self.tokens.push(Tok::Op(Op::Separator(op)));
                }
                '<' | '>' => self.redirect(),
                _ => {
                    let word = self.word()?;
                    if let Some(strip_tabs) = self.heredoc_next.take() {
                        self.pending_heredocs.push((word.text(), strip_tabs));
                    }
                    self.tokens.push(Tok::Word(word));
                }
            }
        }
        Ok(())
    }

    fn redirect(&mut self) {
        for op in ["<<-", "<<", ">>", ">&", "<&", ">|", "<>", "<", ">"] {
            if self.starts_with(op) {
                self.i += op.len();
                if op.starts_with("<<") {
                    self.heredoc_next = Some(op == "<<-");
                }
                break;
            }
        }
        self.tokens.push(Tok::Op(Op::Redirect));
    }

    /// Skips the bodies of here-documents opened on the line just ended: they are data for a
    /// command, not script text.
    fn skip_heredoc_bodies(&mut self) {
        for (delimiter, strip_tabs) in std::mem::take(&mut self.pending_heredocs) {
            while self.i < self.text.len() {
                let rest = &self.text[self.i..];
                let line_len = rest.find('\n').map_or(rest.len(), |n| n + 1);
                let line = rest[..line_len].trim_end_matches(['\n', '\r']);
                let line = if strip_tabs {
                    line.trim_start_matches('\t')
                } else {
                    line
                };
                self.i += line_len;
                if line == delimiter {
                    break;
                }
            }
        }
    }

    fn word(&mut self) -> Result<Word, LexError> {
        let start = self.i;
        let mut chars = Vec::new();
        let mut quoted = false;
        // End of the word's last byte: a trailing line continuation is not part of the word.
        let mut end = self.i;
        while let Some(c) = self.peek() {
            match c {
                ' ' | '\t' | '\n' | ';' | '&' | '|' | '(' | ')' | '<' | '>' => break,
                '\r' if self.newline_len() > 0 => break,
                '\\' => {
                    self.i += 1;
                    if self.continues_line() {
                        // A line continuation inside a word joins the lines.
                        continue;
                    }
                    quoted = true;
                    if let Some(e) = self.peek() {
                        chars.push(WChar {
                            c: e,
                            off: self.i,
                            in_subst: false,
                        });
                        self.i += e.len_utf8();
                    }
                }
                '\'' => {
                    quoted = true;
                    self.single_quoted(&mut chars)?;
                }
                '"' => {
                    quoted = true;
                    self.double_quoted(&mut chars)?;
                }
                '`' => self.backquoted(&mut chars)?,
                '$' if self.peek_at(1) == Some('\'') => {
                    // `$'...'`: ANSI-C quoting, kept verbatim apart from the quotes.
                    quoted = true;
                    self.i += 1;
                    self.single_quoted(&mut chars)?;
                }
                '$' if matches!(self.peek_at(1), Some('(' | '{')) => {
                    self.substitution(&mut chars)?;
                }
                _ => {
                    chars.push(WChar {
                        c,
                        off: self.i,
                        in_subst: false,
                    });
                    self.i += c.len_utf8();
                }
            }
            end = self.i;
        }
        Ok(Word {
            span: Span::new(start, end),
            chars,
            quoted,
        })
    }

    fn push_raw(&mut self, chars: &mut Vec<WChar>, upto: usize, in_subst: bool) {
        let from = self.i;
        chars.extend(self.text[from..upto].char_indices().map(|(k, c)| WChar {
            c,
            off: from + k,
            in_subst,
        }));
        self.i = upto;
    }

    fn single_quoted(&mut self, chars: &mut Vec<WChar>) -> Result<(), LexError> {
        let open = self.i;
        self.i += 1;
        match self.text[self.i..].find('\'') {
            Some(n) => {
                let end = self.i + n;
                self.push_raw(chars, end, false);
                self.i += 1;
                Ok(())
            }
            None => Err((open, "unterminated `'` quote".into())),
        }
    }

    fn double_quoted(&mut self, chars: &mut Vec<WChar>) -> Result<(), LexError> {
        let open = self.i;
        self.i += 1;
        loop {
            let Some(c) = self.peek() else {
                return Err((open, "unterminated `\"` quote".into()));
            };
            match c {
                '"' => {
                    self.i += 1;
                    return Ok(());
                }
                '\\' => {
                    self.i += 1;
                    if self.continues_line() {
                        continue;
                    }
                    match self.peek() {
                        // Inside double quotes a backslash only escapes these.
                        Some(e @ ('$' | '`' | '"' | '\\')) => {
                            chars.push(WChar {
                                c: e,
                                off: self.i,
                                in_subst: false,
                            });
                            self.i += 1;
                        }
                        _ => chars.push(WChar {
                            c: '\\',
                            off: self.i - 1,
                            in_subst: false,
                        }),
                    }
                }
                '`' => self.backquoted(chars)?,
                '$' if matches!(self.peek_at(1), Some('(' | '{')) => self.substitution(chars)?,
                _ => {
                    chars.push(WChar {
                        c,
                        off: self.i,
                        in_subst: false,
                    });
                    self.i += c.len_utf8();
                }
            }
        }
    }

    /// `` `...` ``, kept verbatim: its content is another command, not this word's options.
    fn backquoted(&mut self, chars: &mut Vec<WChar>) -> Result<(), LexError> {
        let open = self.i;
        let mut j = self.i + 1;
        let bytes = self.text.as_bytes();
        while j < bytes.len() {
            match bytes[j] {
                b'\\' => j += 2,
                b'`' => {
                    self.push_raw(chars, j + 1, true);
                    return Ok(());
                }
                _ => j += 1,
            }
        }
        Err((open, "unterminated backquote".into()))
    }

    /// `$(...)`, `$((...))` or `${...}`, kept verbatim. Nested quotes and substitutions are
    /// followed so that a `)` or `}` inside them does not end it early.
    fn substitution(&mut self, chars: &mut Vec<WChar>) -> Result<(), LexError> {
        let open = self.i;
        let end = self.matching_close(open + 1)?;
        self.push_raw(chars, end, true);
        Ok(())
    }

    /// Given the offset of a `(` or `{`, the offset just after its matching close.
    fn matching_close(&self, at: usize) -> Result<usize, LexError> {
        let bytes = self.text.as_bytes();
        let (open_b, close_b, what) = if bytes.get(at) == Some(&b'{') {
            (b'{', b'}', "unterminated `${`")
        } else {
            (b'(', b')', "unterminated `$(`")
        };
        let err = || (at - 1, what.to_string());
        let mut depth = 0usize;
        let mut j = at;
        while j < bytes.len() {
            match bytes[j] {
                b'\\' => j += 1,
                b'\'' if open_b == b'(' => {
                    j = self.text[j + 1..]
                        .find('\'')
                        .map(|n| j + 1 + n)
                        .ok_or_else(err)?;
                }
                b'"' => j = self.closing_double_quote(j).ok_or_else(err)?,
                b'`' => {
                    j += 1;
                    while j < bytes.len() && bytes[j] != b'`' {
                        j += if bytes[j] == b'\\' { 2 } else { 1 };
                    }
                    if j >= bytes.len() {
                        return Err(err());
                    }
                }
                b if b == open_b => depth += 1,
                b if b == close_b => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(j + 1);
                    }
                }
                _ => {}
            }
            j += 1;
        }
        Err(err())
    }

    /// Offset of the `"` closing the one at `at`, following nested substitutions.
    fn closing_double_quote(&self, at: usize) -> Option<usize> {
        let bytes = self.text.as_bytes();
        let mut j = at + 1;
        while j < bytes.len() {
            match bytes[j] {
                b'\\' => j += 1,
                b'"' => return Some(j),
                b'$' if matches!(bytes.get(j + 1), Some(b'(' | b'{')) => {
                    j = self.matching_close(j + 1).ok()? - 1;
                }
                b'`' => {
                    j += 1;
                    while j < bytes.len() && bytes[j] != b'`' {
                        j += if bytes[j] == b'\\' { 2 } else { 1 };
                    }
                }
                _ => {}
            }
            j += 1;
        }
        None
    }
}

/// A token of an `if`/`elif` condition: a word after quote removal, or the operator after it.
pub(crate) enum CondTok {
    Word(String),
    Op(&'static str),
}

/// `$NAME`, `${NAME}` or `"$NAME"` as a whole word: the variable's name.
pub(crate) fn variable_reference(word: &str) -> Option<&str> {
    let w = word.trim_matches('"');
    let name = w
        .strip_prefix("${")
        .and_then(|r| r.strip_suffix('}'))
        .or_else(|| w.strip_prefix('$'))?;
    (!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .then_some(name)
}

/// For `NAME=value`, the character index where the value starts.
pub(crate) fn assignment_value_start(text: &str) -> Option<usize> {
    let eq = text.find('=')?;
    let name = &text[..eq];
    let mut chars = name.chars();
    let first = chars.next()?;
    if !(first == '_' || first.is_ascii_alphabetic())
        || !chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
    {
        return None;
    }
    Some(name.chars().count() + 1)
}

/// A condition as people read it, and what it compares.
pub(crate) struct RenderedCondition {
    /// `java_version < 1.8 && -n $X`: comparisons with their operator spelt out and variables
    /// without `$`, a `!` as `not (…)`, other tests as written.
    pub(crate) text: String,
    /// Both operands, as written, of every comparison in it.
    pub(crate) compared: Vec<String>,
}

pub(crate) fn render_condition(condition: &[CondTok]) -> RenderedCondition {
    let mut rendered = RenderedCondition {
        text: String::new(),
        compared: Vec::new(),
    };
    for (joiner, words) in &groups(condition) {
        let (negated, words) = match words.split_first() {
            Some((bang, rest)) if bang == "!" => (true, rest),
            _ => (false, words.as_slice()),
        };
        let inner = test_operands(words);
        let text = match inner {
            [lhs, op, rhs] if comparison(op).is_some() => {
                rendered.compared.extend([lhs.clone(), rhs.clone()]);
                format!(
                    "{} {} {}",
                    strip_var(lhs),
                    comparison(op).unwrap_or(op),
                    strip_var(rhs)
                )
            }
            _ => inner.join(" "),
        };
        if let Some(j) = joiner {
            rendered.text.push_str(&format!(" {j} "));
        }
        if negated {
            rendered.text.push_str(&format!("not ({text})"));
        } else {
            rendered.text.push_str(&text);
        }
    }
    rendered
}

/// The condition's commands, each with the `&&`/`||` that joins it to the one before.
pub(crate) fn groups(condition: &[CondTok]) -> Vec<(Option<&'static str>, Vec<String>)> {
    let mut out: Vec<(Option<&'static str>, Vec<String>)> = Vec::new();
    let mut joiner = None;
    let mut current = Vec::new();
    for t in condition {
        match t {
            CondTok::Word(w) => current.push(w.clone()),
            CondTok::Op(op) => {
                if !current.is_empty() {
                    out.push((joiner, std::mem::take(&mut current)));
                }
                joiner = matches!(*op, "&&" | "||").then_some(*op);
            }
        }
    }
    if !current.is_empty() {
        out.push((joiner, current));
    }
    out
}

/// The operands of `[ ... ]`, `[[ ... ]]` or `test ...`; other commands are returned whole.
pub(crate) fn test_operands(words: &[String]) -> &[String] {
    match words {
        [open, inner @ .., close]
            if (open == "[" && close == "]") || (open == "[[" && close == "]]") =>
        {
            inner
        }
        [test, inner @ ..] if test == "test" => inner,
        _ => words,
    }
}

fn comparison(op: &str) -> Option<&'static str> {
    Some(match op {
        "<" => "<",
        ">" => ">",
        "-lt" => "<",
        "-le" => "<=",
        "-gt" => ">",
        "-ge" => ">=",
        "-eq" | "=" | "==" => "==",
        "-ne" | "!=" => "!=",
        _ => return None,
    })
}

/// `$java_version` and `${java_version}` → `java_version`.
pub(crate) fn strip_var(s: &str) -> &str {
    let s = s.strip_prefix('$').unwrap_or(s);
    s.strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        let (tokens, error) = tokens(text);
        assert!(error.is_none(), "{error:?}");
        tokens
            .iter()
            .filter_map(|t| match t {
                Tok::Word(w) => Some(w.text()),
                Tok::Op(_) => None,
            })
            .collect()
    }

    #[test]
    fn quotes_go_and_each_character_keeps_its_offset() {
        assert_eq!(
            words("A=\"-Xms1g -Xmx1g\" 'b c'\\\n d $(x y) `z`\n"),
            ["A=-Xms1g -Xmx1g", "b c", "d", "$(x y)", "`z`"]
        );
        let (tokens, _) = tokens("X=\"ab\"");
        let Some(Tok::Word(w)) = tokens.first() else {
            panic!("{tokens:?}");
        };
        let offsets: Vec<usize> = w.chars.iter().map(|c| c.off).collect();
        assert_eq!(offsets, [0, 1, 3, 4]);
        assert_eq!(w.span, Span::new(0, 6));
        assert!(w.quoted);
    }

    #[test]
    fn conditions_are_rendered_with_what_they_compare() {
        let cond = [
            CondTok::Word("[".into()),
            CondTok::Word("$java_version".into()),
            CondTok::Word("-ge".into()),
            CondTok::Word("17".into()),
            CondTok::Word("]".into()),
            CondTok::Op("&&"),
            CondTok::Word("!".into()),
            CondTok::Word("test".into()),
            CondTok::Word("-n".into()),
            CondTok::Word("$X".into()),
        ];
        let r = render_condition(&cond);
        assert_eq!(r.text, "java_version >= 17 && not (-n $X)");
        assert_eq!(r.compared, ["$java_version", "17"]);
        assert_eq!(assignment_value_start("JAVA_OPTS=-Xmx1g"), Some(10));
        assert_eq!(assignment_value_start("1A=x"), None);
        assert_eq!(variable_reference("\"${JAVA_OPTS}\""), Some("JAVA_OPTS"));
    }
}
