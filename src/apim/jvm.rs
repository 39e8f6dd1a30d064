//! Reader for the JVM options in the API-M start-up script (`bin/wso2server.sh` up to 3.x,
//! `bin/api-manager.sh` in 4.x): heap and stack sizes, `-XX:` options and `-D` properties, each
//! with the exact bytes of the token and of its value, and the `if` it sits in.
//!
//! Owns: the start-script model (which words are JVM options, which variable holds them, the
//! order the java command line gives them), `if`/`elif`/`else`/`fi` nesting, the Java-version
//! guard the shipped scripts put around `-XX:MaxPermSize` and the `JVM_MEM_OPTS` default, and
//! JVM sizes. The shell syntax itself (quotes, substitutions, here-documents, conditions) is
//! read by `shell`. Must not: run or evaluate the script, expand variables, judge values,
//! print, or change the text.

use super::shell::{
    self, CondTok, DECLARATION_COMMANDS, Op, Tok, WChar, Word, assignment_value_start, groups,
    render_condition, strip_var, test_operands, variable_reference,
};
use crate::model::{SourceFile, SourceProblem, Span};
use std::sync::Arc;

/// One JVM option found in the script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JvmFlag {
    /// Normalised name: `-Xmx`, `-Xms`, `-Xmn`, `-Xss`, `-XX:MaxPermSize` (for `-XX:Name=value`),
    /// `-XX:+UseG1GC` (boolean `-XX` options are kept whole), `-Dname`.
    pub name: String,
    /// `1024m`, `256m`, `$CARBON_HOME/tmp`; `None` for boolean options and `-Dname` without `=`.
    /// Quotes are removed, variables are not expanded.
    pub value: Option<String>,
    /// The token as written: the bytes of `token_span`.
    pub raw: String,
    /// 1-based line of the token.
    pub line: u32,
    /// The token's bytes. For a token written as its own shell word this includes any quotes
    /// in it (`-Dx="$A"`); for a token inside a quoted assignment (`OPTS="-Xms1g -Xmx1g"`) it is
    /// just the option's bytes.
    pub token_span: Span,
    /// The value's bytes without surrounding quotes; empty right after `=` for `-Dname=`.
    pub value_span: Option<Span>,
    /// The Java-version condition of the enclosing `if` branches, e.g. `java_version < 1.8`;
    /// `else`/`elif` branches carry `not (…)` of the earlier conditions. `None` when no
    /// enclosing `if` tests the Java version (other conditions are not guards).
    pub guard: Option<String>,
    /// Inside the `then` branch of `if [ -z "$JVM_MEM_OPTS" ]`: the default that applies when
    /// the environment does not set `JVM_MEM_OPTS`.
    pub in_mem_opts_default: bool,
    /// The shell variable this option is assigned to (`JVM_MEM_OPTS`, `JAVA_OPTS`); `None` when
    /// it is written directly on a command line.
    pub var: Option<String>,
}

#[derive(Debug)]
pub struct JvmOptions {
    pub file: Arc<SourceFile>,
    /// In file order.
    pub flags: Vec<JvmFlag>,
    /// `$NAME` references on the java command line (`$JAVACMD …` or `java …`), with the byte
    /// offset of each: the order in which the JVM sees the options those variables hold.
    pub java_refs: Vec<(String, usize)>,
    /// Assignments outside any `if` that replace a variable without reading it
    /// (`JVM_MEM_OPTS="-Xms256m …"`, not `JAVA_OPTS="$JAVA_OPTS …"`), with their byte offset:
    /// a value the environment gives that variable is lost there.
    pub overwrites: Vec<(String, usize)>,
}

impl JvmOptions {
    /// Whether the script throws away the environment's value of `var` before the java command
    /// line reads it.
    pub fn discards_env(&self, var: &str) -> bool {
        let Some(read_at) = self
            .java_refs
            .iter()
            .filter(|(v, _)| v == var)
            .map(|(_, at)| *at)
            .max()
        else {
            return false;
        };
        self.overwrites
            .iter()
            .any(|(v, at)| v == var && *at < read_at)
    }

    /// The occurrence in effect on a current JDK: the last one without a guard in the order the
    /// JVM receives them, since the JVM takes the last of repeated options. That order is the
    /// java command line's: `$JAVACMD $JVM_MEM_OPTS … $JAVA_OPTS` puts `JAVA_OPTS` last even when
    /// it is assigned at the top of the script. Options in variables the command line does not
    /// reference, or scripts without a recognisable java command, fall back to file order.
    pub fn get(&self, name: &str) -> Option<&JvmFlag> {
        self.flags
            .iter()
            .filter(|f| f.name == name && f.guard.is_none())
            .max_by_key(|f| (self.command_line_position(f), f.token_span.start))
    }

    /// Where on the java command line the JVM receives `f`: the last `$VAR` reference of its
    /// variable, else the token itself.
    pub fn command_line_position(&self, f: &JvmFlag) -> usize {
        match &f.var {
            Some(var) => self
                .java_refs
                .iter()
                .filter(|(v, _)| v == var)
                .map(|(_, at)| *at)
                .max()
                .unwrap_or(f.token_span.start),
            None => f.token_span.start,
        }
    }

    /// Every occurrence, guarded or not, in file order.
    pub fn all(&self, name: &str) -> Vec<&JvmFlag> {
        self.flags.iter().filter(|f| f.name == name).collect()
    }
}

/// A JVM size (`-Xmx1024m`, `-Xss512k`, `2G`, `1073741824`) in bytes. `None` for anything else,
/// including overflow.
pub fn parse_size(s: &str) -> Option<u64> {
    let digits_end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(digits_end);
    if digits.is_empty() {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    let factor: u64 = match unit {
        "" => 1,
        "k" | "K" => 1 << 10,
        "m" | "M" => 1 << 20,
        "g" | "G" => 1 << 30,
        "t" | "T" => 1 << 40,
        _ => return None,
    };
    n.checked_mul(factor)
}

/// Reads the options. A lexical error (an unterminated quote, say) ends the scan with a
/// problem; the options found before it are still returned.
pub fn parse(file: Arc<SourceFile>) -> (JvmOptions, Vec<SourceProblem>) {
    let mut problems = Vec::new();
    let (tokens, lex_error) = shell::tokens(&file.text);
    let complete = lex_error.is_none();
    if let Some((offset, message)) = lex_error {
        problems.push(problem(&file, offset, message));
    }
    let mut walker = Walker {
        file: &file,
        frames: Vec::new(),
        flags: Vec::new(),
        java_refs: Vec::new(),
        overwrites: Vec::new(),
        problems: &mut problems,
    };
    // When the text was cut short by a lexical error, an `if` left open is a consequence of
    // that error, not a second one.
    walker.walk(&tokens, complete);
    let flags = walker.flags;
    let java_refs = walker.java_refs;
    let overwrites = walker.overwrites;
    problems.sort_by_key(|p| (p.location.line, p.location.column));
    (
        JvmOptions {
            file,
            flags,
            java_refs,
            overwrites,
        },
        problems,
    )
}

fn problem(file: &SourceFile, offset: usize, message: impl Into<String>) -> SourceProblem {
    SourceProblem::unparseable(file.location(Span::new(offset, offset)), message.into())
}

// ------------------------------------------------------------------------------------------------
// Walking the tokens: commands, `if` nesting, option extraction.

#[derive(PartialEq)]
enum Branch {
    /// Between `if`/`elif` and `then`.
    Condition,
    Then,
    Else,
}

struct Frame {
    /// Offset of the `if`, for the "no `fi`" problem.
    at: usize,
    branch: Branch,
    /// The condition being read (between `if`/`elif` and `then`).
    condition: Vec<CondTok>,
    /// Java-version conditions of earlier branches, which are false in this one.
    earlier: Vec<String>,
    /// The current branch's own Java-version condition.
    current: Option<String>,
    /// The current branch is the `then` of `if [ -z "$JVM_MEM_OPTS" ]`.
    mem_default: bool,
}

struct Walker<'a> {
    file: &'a SourceFile,
    frames: Vec<Frame>,
    flags: Vec<JvmFlag>,
    java_refs: Vec<(String, usize)>,
    overwrites: Vec<(String, usize)>,
    problems: &'a mut Vec<SourceProblem>,
}

/// Commands whose arguments are text for people, never options for the JVM.
const MESSAGE_COMMANDS: [&str; 2] = ["echo", "printf"];

impl Walker<'_> {
    fn walk(&mut self, tokens: &[Tok], complete: bool) {
        let mut command_position = true;
        let mut command: Option<String> = None;
        let mut after_redirect = false;
        for tok in tokens {
            let word = match tok {
                Tok::Op(Op::Separator(op)) => {
                    command_position = true;
                    command = None;
                    if let Some(f) = self.frames.last_mut()
                        && f.branch == Branch::Condition
                    {
                        f.condition.push(CondTok::Op(op));
                    }
                    continue;
                }
                Tok::Op(Op::Redirect) => {
                    after_redirect = true;
                    continue;
                }
                Tok::Word(w) => w,
            };
            if std::mem::take(&mut after_redirect) {
                continue;
            }
            let text = word.text();
            if command_position && !word.quoted && self.reserved_word(&text, word.span.start) {
                command_position = !matches!(text.as_str(), "fi" | "done" | "esac" | "}");
                continue;
            }
            if let Some(f) = self.frames.last_mut()
                && f.branch == Branch::Condition
            {
                // Words of a test are compared, not passed to the JVM.
                f.condition.push(CondTok::Word(text));
                command_position = false;
                continue;
            }
            let assignment = assignment_value_start(&text);
            if command_position {
                match assignment {
                    Some(at) => self.extract_split(word, at),
                    None => {
                        command = Some(text);
                        command_position = false;
                    }
                }
                continue;
            }
            let cmd = command.as_deref().unwrap_or("");
            if MESSAGE_COMMANDS.contains(&cmd) {
                continue;
            }
            if is_java_command(cmd)
                && let Some(var) = variable_reference(&text)
            {
                self.java_refs.push((var.to_string(), word.span.start));
                continue;
            }
            match assignment {
                Some(at) if DECLARATION_COMMANDS.contains(&cmd) => self.extract_split(word, at),
                _ => self.extract_whole(word),
            }
        }
        if complete {
            for f in std::mem::take(&mut self.frames) {
                self.problems
                    .push(problem(self.file, f.at, "`if` without a matching `fi`"));
            }
        }
    }

    /// Handles a reserved word in command position; false if `text` is not one.
    fn reserved_word(&mut self, text: &str, at: usize) -> bool {
        match text {
            "if" => self.frames.push(Frame {
                at,
                branch: Branch::Condition,
                condition: Vec::new(),
                earlier: Vec::new(),
                current: None,
                mem_default: false,
            }),
            "then" => match self.frames.last_mut() {
                Some(f) if f.branch == Branch::Condition => {
                    let condition = std::mem::take(&mut f.condition);
                    f.current = java_condition(&condition);
                    f.mem_default = is_mem_opts_default(&condition);
                    f.branch = Branch::Then;
                }
                _ => self.unexpected(text, at),
            },
            "elif" | "else" => match self.frames.last_mut() {
                Some(f) if f.branch == Branch::Then => {
                    if let Some(c) = f.current.take() {
                        f.earlier.push(c);
                    }
                    f.mem_default = false;
                    f.branch = if text == "elif" {
                        Branch::Condition
                    } else {
                        Branch::Else
                    };
                }
                _ => self.unexpected(text, at),
            },
            "fi" => {
                if self.frames.pop().is_none() {
                    self.unexpected(text, at);
                }
            }
            "do" | "done" | "while" | "until" | "{" | "}" | "!" | "esac" => {}
            _ => return false,
        }
        true
    }

    fn unexpected(&mut self, word: &str, at: usize) {
        self.problems.push(problem(
            self.file,
            at,
            format!("`{word}` without a matching `if`"),
        ));
    }

    fn guard(&self) -> Option<String> {
        let parts: Vec<String> = self
            .frames
            .iter()
            .flat_map(|f| {
                f.earlier
                    .iter()
                    .map(|c| format!("not ({c})"))
                    .chain(f.current.clone())
            })
            .collect();
        (!parts.is_empty()).then(|| parts.join(" && "))
    }

    fn in_mem_default(&self) -> bool {
        self.frames
            .iter()
            .any(|f| f.mem_default && f.branch == Branch::Then)
    }

    /// A word passed to a command as it is: the whole word is one option.
    fn extract_whole(&mut self, word: &Word) {
        self.extract(&word.chars, Some(word.span), None);
    }

    /// An assignment's value, which the script later expands unquoted (`$JVM_MEM_OPTS`), so it
    /// is split on whitespace like the shell will.
    fn extract_split(&mut self, word: &Word, value_start: usize) {
        let name: String = word
            .chars
            .iter()
            .take(value_start.saturating_sub(1))
            .map(|w| w.c)
            .collect();
        let var = Some(name.trim_end_matches('+').to_string());
        let chars = word.chars.get(value_start..).unwrap_or(&[]);
        // Outside every `if`, `VAR=…` without `$VAR` in it (and not `VAR+=`) replaces whatever
        // the environment gave VAR.
        let rhs: String = chars.iter().map(|w| w.c).collect();
        let bare = name.trim_end_matches('+');
        if self.frames.is_empty()
            && !name.ends_with('+')
            && !rhs.contains(&format!("${bare}"))
            && !rhs.contains(&format!("${{{bare}}}"))
            && !rhs.contains(&format!("${{{bare}:"))
        {
            self.overwrites.push((bare.to_string(), word.span.start));
        }
        for field in chars.split(|w| w.c.is_whitespace() && !w.in_subst) {
            if !field.is_empty() {
                self.extract(field, None, var.clone());
            }
        }
    }

    /// Records `chars` if it is a JVM option. `word_span` is the raw span of a whole word.
    fn extract(&mut self, chars: &[WChar], word_span: Option<Span>, var: Option<String>) {
        let text: String = chars.iter().map(|w| w.c).collect();
        let Some((name, value_at)) = recognise(&text) else {
            return;
        };
        let (Some(first), Some(last)) = (chars.first(), chars.last()) else {
            return;
        };
        let token_span =
            word_span.unwrap_or_else(|| Span::new(first.off, last.off + last.c.len_utf8()));
        // Character index of the value → byte spans through the recorded offsets.
        let (value, value_span) = match value_at {
            None => (None, None),
            Some(k) => {
                let vchars = &chars[k..];
                let span = match (vchars.first(), vchars.last()) {
                    (Some(f), Some(l)) => Span::new(f.off, l.off + l.c.len_utf8()),
                    _ => {
                        let at = chars
                            .get(k.wrapping_sub(1))
                            .map_or(last.off + last.c.len_utf8(), |p| p.off + p.c.len_utf8());
                        Span::new(at, at)
                    }
                };
                (Some(vchars.iter().map(|w| w.c).collect()), Some(span))
            }
        };
        self.flags.push(JvmFlag {
            name,
            value,
            raw: self.file.slice(token_span).to_string(),
            line: self.file.line_col(token_span.start).0,
            token_span,
            value_span,
            guard: self.guard(),
            in_mem_opts_default: self.in_mem_default(),
            var,
        });
    }
}

/// `$JAVACMD`, `"$JAVA_HOME/bin/java"`, `java`: the command that starts the JVM.
fn is_java_command(cmd: &str) -> bool {
    let c = cmd.trim_matches('"');
    c.contains("JAVACMD") || c == "java" || c.ends_with("/java")
}

/// Options that size the JVM's memory, which belong in `JVM_MEM_OPTS` (the start scripts'
/// "Java memory options"): heap, young generation, thread stack, metaspace/PermGen, direct
/// buffers, code cache, and the RAM-relative heap settings.
pub fn is_memory_option(name: &str) -> bool {
    matches!(name, "-Xms" | "-Xmx" | "-Xmn" | "-Xss")
        || name.strip_prefix("-XX:").is_some_and(|n| {
            matches!(
                n,
                "MaxMetaspaceSize"
                    | "MetaspaceSize"
                    | "MaxPermSize"
                    | "PermSize"
                    | "MaxDirectMemorySize"
                    | "ReservedCodeCacheSize"
                    | "MaxRAM"
                    | "MaxRAMPercentage"
                    | "InitialRAMPercentage"
                    | "MinRAMPercentage"
                    | "NewSize"
                    | "MaxNewSize"
                    | "ThreadStackSize"
            )
        })
}

/// `-Xmx` + `2g` → `-Xmx2g`; `-XX:MaxMetaspaceSize` + `512m` → `-XX:MaxMetaspaceSize=512m`;
/// `-Dname` + `v` → `-Dname=v`; a boolean `-XX:+Flag` is written as it is.
pub fn render_option(flag: &str, value: &str) -> String {
    if value.is_empty() || flag.starts_with("-XX:+") || flag.starts_with("-XX:-") {
        flag.to_string()
    } else if flag.starts_with("-X") && !flag.starts_with("-XX:") {
        format!("{flag}{value}")
    } else {
        format!("{flag}={value}")
    }
}

/// One command-line argument read as a JVM option: its normalised name and value (see
/// [`JvmFlag`]). `None` when it is not one.
pub fn option_of(arg: &str) -> Option<(String, Option<String>)> {
    let (name, value_at) = recognise(arg)?;
    let value = value_at.map(|k| arg.chars().skip(k).collect());
    Some((name, value))
}

/// The JVM options in a variable's value as the script expands it unquoted (`$JAVA_OPTS`):
/// words split on blanks, each recognised as [`parse`] recognises a script's options. Spans
/// are byte offsets in `value`; `var` is recorded on each option.
pub fn options_in_value(value: &str, var: &str) -> Vec<JvmFlag> {
    let mut out = Vec::new();
    let mut start = None;
    let bytes_end = value.len();
    let mut words = Vec::new();
    for (i, c) in value
        .char_indices()
        .chain(std::iter::once((bytes_end, ' ')))
    {
        match (c == ' ' || c == '\t' || c == '\n', start) {
            (true, Some(s)) => {
                words.push((s, i));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    for (s, e) in words {
        let text = &value[s..e];
        let Some((name, value_at)) = recognise(text) else {
            continue;
        };
        let (value, value_span) = match value_at {
            None => (None, None),
            Some(k) => {
                let at = text.char_indices().nth(k).map_or(text.len(), |(b, _)| b);
                (Some(text[at..].to_string()), Some(Span::new(s + at, e)))
            }
        };
        out.push(JvmFlag {
            name,
            value,
            raw: text.to_string(),
            line: 0,
            token_span: Span::new(s, e),
            value_span,
            guard: None,
            in_mem_opts_default: false,
            var: Some(var.to_string()),
        });
    }
    out
}

/// Name and the character index where the value starts (`None`: no value) of a JVM option.
fn recognise(text: &str) -> Option<(String, Option<usize>)> {
    if let Some(rest) = text.strip_prefix("-XX:") {
        if rest.is_empty() {
            return None;
        }
        if rest.starts_with(['+', '-']) {
            return Some((text.to_string(), None));
        }
        return Some(match rest.find('=') {
            Some(eq) => (
                format!("-XX:{}", &rest[..eq]),
                Some("-XX:".len() + rest[..=eq].chars().count()),
            ),
            None => (text.to_string(), None),
        });
    }
    // GC logging before JDK 9's `-Xlog`: `-Xloggc:FILE`.
    if let Some(rest) = text.strip_prefix("-Xloggc:") {
        return Some((
            "-Xloggc".to_string(),
            (!rest.is_empty()).then_some("-Xloggc:".len()),
        ));
    }
    for prefix in ["-Xms", "-Xmx", "-Xmn", "-Xss"] {
        if let Some(rest) = text.strip_prefix(prefix) {
            return Some((prefix.to_string(), (!rest.is_empty()).then_some(4)));
        }
    }
    let rest = text.strip_prefix("-D")?;
    let name_len = rest.find('=').unwrap_or(rest.len());
    if name_len == 0 {
        return None;
    }
    let name = format!("-D{}", &rest[..name_len]);
    let value_at = rest
        .get(name_len..)
        .filter(|r| r.starts_with('='))
        .map(|_| 2 + rest[..=name_len].chars().count());
    Some((name, value_at))
}

/// `[ -z "$JVM_MEM_OPTS" ]` or `test -z "$JVM_MEM_OPTS"`.
fn is_mem_opts_default(condition: &[CondTok]) -> bool {
    let groups = groups(condition);
    match groups.as_slice() {
        [(_, words)] => {
            let inner = test_operands(words);
            matches!(inner, [z, var] if *z == "-z" && strip_var(var) == "JVM_MEM_OPTS")
        }
        _ => false,
    }
}

/// The condition rendered for people (`java_version < 1.8`) when it compares a Java version.
fn java_condition(condition: &[CondTok]) -> Option<String> {
    let names_java = |s: &String| {
        let l = s.to_ascii_lowercase();
        l.contains("java") && l.contains("ver")
    };
    let rendered = render_condition(condition);
    rendered
        .compared
        .iter()
        .any(names_java)
        .then_some(rendered.text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{Read, read_path};
    use std::path::PathBuf;

    #[test]
    fn java_command_line_order_decides_which_option_wins() {
        let o = ok(
            "#!/bin/sh\nJAVA_OPTS=\"-Xmx6g -Xms6g\"\nif [ -z \"$JVM_MEM_OPTS\" ]; then\n   JVM_MEM_OPTS=\"-Xms256m -Xmx1024m\"\nfi\n$JAVACMD \\\n    $JVM_MEM_OPTS \\\n    $JAVA_OPTS \\\n    -Dcarbon.home=x Main\n",
        );
        assert_eq!(o.get("-Xmx").and_then(|f| f.value.as_deref()), Some("6g"));
        assert_eq!(o.get("-Xms").and_then(|f| f.value.as_deref()), Some("6g"));
        assert_eq!(
            o.get("-Xmx").and_then(|f| f.var.as_deref()),
            Some("JAVA_OPTS")
        );
        // Without JAVA_OPTS on the command line, file order decides.
        let o = ok("JAVA_OPTS=\"-Xmx6g\"\nJVM_MEM_OPTS=\"-Xmx1g\"\n$JAVACMD $JVM_MEM_OPTS Main\n");
        assert_eq!(o.get("-Xmx").and_then(|f| f.value.as_deref()), Some("1g"));
    }

    fn run(text: &str) -> (JvmOptions, Vec<SourceProblem>) {
        parse(SourceFile::new(
            "t.sh".into(),
            "t.sh".into(),
            text.to_string(),
        ))
    }

    fn ok(text: &str) -> JvmOptions {
        let (o, problems) = run(text);
        assert!(problems.is_empty(), "{problems:?}");
        o
    }

    fn slice(o: &JvmOptions, span: Span) -> &str {
        &o.file.text[span.start..span.end]
    }

    fn names(o: &JvmOptions) -> Vec<&str> {
        o.flags.iter().map(|f| f.name.as_str()).collect()
    }

    fn first_problem(text: &str) -> (u32, u32, String) {
        let (_, problems) = run(text);
        let p = problems.first().expect("a problem");
        (
            p.location.line.unwrap(),
            p.location.column.unwrap(),
            p.message.clone(),
        )
    }

    const SCRIPT: &str = r#"#!/bin/sh
# -Xmx9g in a comment is not an option
if [ -z "$JVM_MEM_OPTS" ]; then
   java_version=$("$JAVACMD" -version 2>&1 | awk -F '"' '/version/ {print $2}')
   JVM_MEM_OPTS="-Xms256m -Xmx1024m"
   if [ "$java_version" \< "1.8" ]; then
      JVM_MEM_OPTS="$JVM_MEM_OPTS -XX:MaxPermSize=256m"
   fi
fi
echo "Using -Xmx2g? memory options: $JVM_MEM_OPTS"
$JAVACMD \
    $JVM_MEM_OPTS \
    -XX:+UseG1GC -XX:MaxMetaspaceSize=512m \
    -XX:HeapDumpPath="$CARBON_HOME/logs/heap.hprof" \
    -DentityExpansionLimit=10000 -Djdk.xml.entityExpansionLimit=0 \
    -Dempty= -Dflag -Xss512k\
    org.wso2.carbon.bootstrap.Bootstrap $*
"#;

    #[test]
    fn options_with_exact_spans() {
        let o = ok(SCRIPT);
        assert_eq!(
            names(&o),
            [
                "-Xms",
                "-Xmx",
                "-XX:MaxPermSize",
                "-XX:+UseG1GC",
                "-XX:MaxMetaspaceSize",
                "-XX:HeapDumpPath",
                "-DentityExpansionLimit",
                "-Djdk.xml.entityExpansionLimit",
                "-Dempty",
                "-Dflag",
                "-Xss",
            ]
        );

        let xms = o.get("-Xms").unwrap();
        assert_eq!(xms.value.as_deref(), Some("256m"));
        assert_eq!(xms.raw, "-Xms256m");
        assert_eq!(slice(&o, xms.token_span), "-Xms256m");
        assert_eq!(slice(&o, xms.value_span.unwrap()), "256m");
        assert_eq!(o.file.line_col(xms.token_span.start), (5, 18));
        assert_eq!(xms.line, 5);
        assert!(xms.in_mem_opts_default);
        assert_eq!(xms.guard, None);

        let xmx = o.get("-Xmx").unwrap();
        assert_eq!(slice(&o, xmx.token_span), "-Xmx1024m");
        assert_eq!(slice(&o, xmx.value_span.unwrap()), "1024m");
        assert!(xmx.in_mem_opts_default);

        // Only added for Java < 1.8: present, but not in effect.
        assert_eq!(o.get("-XX:MaxPermSize"), None);
        let perm = o.all("-XX:MaxPermSize");
        assert_eq!(perm.len(), 1);
        assert_eq!(perm[0].guard.as_deref(), Some("java_version < 1.8"));
        assert!(perm[0].in_mem_opts_default);
        assert_eq!(perm[0].line, 7);
        assert_eq!(slice(&o, perm[0].token_span), "-XX:MaxPermSize=256m");
        assert_eq!(slice(&o, perm[0].value_span.unwrap()), "256m");

        let g1 = o.get("-XX:+UseG1GC").unwrap();
        assert_eq!((g1.value.clone(), g1.value_span), (None, None));
        assert!(!g1.in_mem_opts_default);
        assert_eq!(g1.line, 13);

        let meta = o.get("-XX:MaxMetaspaceSize").unwrap();
        assert_eq!(slice(&o, meta.value_span.unwrap()), "512m");

        // A token written as its own word keeps its quotes; the value span is inside them.
        let dump = o.get("-XX:HeapDumpPath").unwrap();
        assert_eq!(
            slice(&o, dump.token_span),
            r#"-XX:HeapDumpPath="$CARBON_HOME/logs/heap.hprof""#
        );
        assert_eq!(dump.raw, slice(&o, dump.token_span));
        assert_eq!(dump.value.as_deref(), Some("$CARBON_HOME/logs/heap.hprof"));
        assert_eq!(
            slice(&o, dump.value_span.unwrap()),
            "$CARBON_HOME/logs/heap.hprof"
        );

        let limit = o.get("-DentityExpansionLimit").unwrap();
        assert_eq!(limit.value.as_deref(), Some("10000"));
        assert_eq!(slice(&o, limit.value_span.unwrap()), "10000");
        assert_eq!(
            o.get("-Djdk.xml.entityExpansionLimit")
                .unwrap()
                .value
                .as_deref(),
            Some("0")
        );

        let empty = o.get("-Dempty").unwrap();
        assert_eq!(empty.value.as_deref(), Some(""));
        let at = empty.token_span.end;
        assert_eq!(empty.value_span, Some(Span::new(at, at)));
        assert_eq!(o.get("-Dflag").unwrap().value, None);

        // A line continuation right after a token is not part of it.
        let xss = o.get("-Xss").unwrap();
        assert_eq!(xss.raw, "-Xss512k");
    }

    #[test]
    fn guards_for_else_elif_and_other_conditions() {
        let o = ok(r#"
if [ "$java_version" \< "1.8" ]; then
  OPTS="-XX:MaxPermSize=256m"
elif [ "$java_version" \< "11" ]; then
  OPTS="-XX:MaxMetaspaceSize=128m"
else
  OPTS="-XX:MaxMetaspaceSize=256m"
fi
if [ $java_version_formatted -ge 1700 ] && [ -n "$X" ]; then JAVA_OPTS="$JAVA_OPTS -Xss2m"; fi
if [ "$CMD" = "--debug" ]; then
  JAVA_OPTS="-Xdebug -Djava.compiler=NONE"
fi
if test "${JAVA_VERSION}" != "17"; then JAVA_OPTS="-Dold=1"; fi
"#);
        let guards: Vec<(&str, Option<&str>)> = o
            .flags
            .iter()
            .map(|f| (f.raw.as_str(), f.guard.as_deref()))
            .collect();
        assert_eq!(
            guards,
            [
                ("-XX:MaxPermSize=256m", Some("java_version < 1.8")),
                (
                    "-XX:MaxMetaspaceSize=128m",
                    Some("not (java_version < 1.8) && java_version < 11")
                ),
                (
                    "-XX:MaxMetaspaceSize=256m",
                    Some("not (java_version < 1.8) && not (java_version < 11)")
                ),
                ("-Xss2m", Some("java_version_formatted >= 1700 && -n $X")),
                ("-Djava.compiler=NONE", None),
                ("-Dold=1", Some("JAVA_VERSION != 17")),
            ]
        );
        assert!(o.flags.iter().all(|f| !f.in_mem_opts_default));
        assert_eq!(
            o.get("-Djava.compiler").unwrap().value.as_deref(),
            Some("NONE")
        );
        assert_eq!(o.get("-XX:MaxMetaspaceSize"), None);
        assert_eq!(o.all("-XX:MaxMetaspaceSize").len(), 2);
    }

    #[test]
    fn the_last_unguarded_occurrence_wins() {
        let o = ok("JAVA_OPTS=\"-Xmx1g\"\nJAVA_OPTS=\"$JAVA_OPTS -Xmx2g\"\n");
        assert_eq!(o.get("-Xmx").unwrap().value.as_deref(), Some("2g"));
        assert_eq!(o.get("-Xmx").unwrap().line, 2);
        assert_eq!(o.all("-Xmx").len(), 2);
    }

    #[test]
    fn assignments_exports_substitutions_and_heredocs() {
        let o = ok(r#"export JAVA_OPTS="-Xmx3g -Dfoo=bar baz"
X=$(java -Dnot=an.option -version)
Y=`java -Dnot=either`
cat > /tmp/x <<EOF
-Xmx99g 'unbalanced
EOF
cat <<-'END'
	-Dheredoc=1
	END
local A=-Dlocal=1 B=plain
ARGS="-Dsp=$(echo a b)"
"#);
        assert_eq!(names(&o), ["-Xmx", "-Dfoo", "-Dlocal", "-Dsp"]);
        assert_eq!(o.get("-Dfoo").unwrap().value.as_deref(), Some("bar"));
        assert_eq!(
            o.get("-Dsp").unwrap().value.as_deref(),
            Some("$(echo a b)"),
            "whitespace inside a substitution does not split"
        );
    }

    #[test]
    fn crlf_and_bom_and_no_final_newline() {
        let o = ok(
            "if [ -z \"$JVM_MEM_OPTS\" ]; then\r\n  JVM_MEM_OPTS=\"-Xms1g -Xmx2g\"\r\nfi\r\nJAVA_OPTS=-Dx=1 # c\r\n",
        );
        let xmx = o.get("-Xmx").unwrap();
        assert_eq!(slice(&o, xmx.token_span), "-Xmx2g");
        assert_eq!(xmx.line, 2);
        assert!(xmx.in_mem_opts_default);
        let x = o.get("-Dx").unwrap();
        assert_eq!(slice(&o, x.token_span), "-Dx=1");
        assert!(!x.in_mem_opts_default);

        let o = ok("\u{feff}JAVA_OPTS=-Xmx1g");
        let xmx = o.get("-Xmx").unwrap();
        assert_eq!(xmx.token_span, Span::new(13, 19));
        assert_eq!(slice(&o, xmx.value_span.unwrap()), "1g");
    }

    #[test]
    fn malformed_scripts() {
        let text = "JAVA_OPTS=\"-Xmx1g\"\nJVM_MEM_OPTS=\"-Xms1g\n";
        let (o, problems) = run(text);
        assert_eq!(names(&o), ["-Xmx"], "options before the error are kept");
        assert_eq!(problems.len(), 1);
        assert_eq!(
            first_problem(text),
            (2, 14, "unterminated `\"` quote".into())
        );
        assert_eq!(
            first_problem("echo ok\n  X='abc\n"),
            (2, 5, "unterminated `'` quote".into())
        );
        assert_eq!(
            first_problem("X=$(java -version\n"),
            (1, 3, "unterminated `$(`".into())
        );
        assert_eq!(
            first_problem("X=\"${A\"\n"),
            (1, 4, "unterminated `${`".into())
        );
        assert_eq!(
            first_problem("X=`date\n"),
            (1, 3, "unterminated backquote".into())
        );
        assert_eq!(
            first_problem("echo\n  fi\n"),
            (2, 3, "`fi` without a matching `if`".into())
        );
        assert_eq!(
            first_problem("true\nif [ x ]; then\n  A=-Xmx1g\n"),
            (2, 1, "`if` without a matching `fi`".into())
        );
        // The option inside the unclosed `if` is still reported.
        assert_eq!(names(&run("if [ x ]; then\n  A=-Xmx1g\n").0), ["-Xmx"]);
        // An `if` left open by a cut-short script is not a second problem; problems come in
        // file order.
        let (o, problems) =
            run("fi\nif [ -z \"$JVM_MEM_OPTS\" ]; then\n  JVM_MEM_OPTS=\"-Xms1g -Xmx1g\n");
        assert_eq!(names(&o), Vec::<&str>::new());
        let found: Vec<(Option<u32>, &str)> = problems
            .iter()
            .map(|p| (p.location.line, p.message.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                (Some(1), "`fi` without a matching `if`"),
                (Some(3), "unterminated `\"` quote")
            ]
        );
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1024m"), Some(1024 * 1024 * 1024));
        assert_eq!(parse_size("2g"), Some(2 << 30));
        assert_eq!(parse_size("2G"), Some(2 << 30));
        assert_eq!(parse_size("512k"), Some(512 * 1024));
        assert_eq!(parse_size("512K"), Some(512 * 1024));
        assert_eq!(parse_size("1t"), Some(1 << 40));
        assert_eq!(parse_size("1073741824"), Some(1_073_741_824));
        assert_eq!(parse_size(""), None);
        assert_eq!(parse_size("m"), None);
        assert_eq!(parse_size("1.5g"), None);
        assert_eq!(parse_size("10mb"), None);
        assert_eq!(parse_size("$HEAP"), None);
        assert_eq!(parse_size("99999999999999999999"), None);
        assert_eq!(parse_size("17179869184g"), None, "overflow");
    }

    // --------------------------------------------------------------------------------------------
    // Corpus: the real WSO2 start-up scripts collected under shared/fixtures.

    fn fixture_root() -> Option<PathBuf> {
        crate::test_support::shared("fixtures/wso2")
    }

    #[test]
    fn corpus_shipped_scripts() {
        // Without the corpus, `shared` has said SKIPPED (and failed the test under CI=true).
        let Some(root) = fixture_root() else { return };
        let scripts = crate::test_support::corpus_files(&root, "sh");
        assert_eq!(scripts.len(), 6, "{scripts:?}");
        for path in &scripts {
            let file = match read_path(&root, path) {
                Read::File(f) => f,
                other => panic!("{}: {other:?}", path.display()),
            };
            let (o, problems) = parse(file);
            let at = path.display();
            assert!(problems.is_empty(), "{at}: {problems:?}");

            let xms = o.get("-Xms").unwrap();
            assert_eq!(xms.value.as_deref(), Some("256m"), "{at}");
            assert!(xms.in_mem_opts_default && xms.guard.is_none(), "{at}");
            assert_eq!(o.file.slice(xms.token_span), "-Xms256m");
            let xmx = o.get("-Xmx").unwrap();
            assert_eq!(xmx.value.as_deref(), Some("1024m"), "{at}");
            assert!(xmx.in_mem_opts_default && xmx.guard.is_none(), "{at}");
            assert_eq!(o.file.slice(xmx.value_span.unwrap()), "1024m");
            assert_eq!(parse_size(xmx.value.as_deref().unwrap()), Some(1 << 30));

            let perm = o.all("-XX:MaxPermSize");
            assert_eq!(perm.len(), 1, "{at}");
            assert_eq!(perm[0].value.as_deref(), Some("256m"));
            assert_eq!(perm[0].guard.as_deref(), Some("java_version < 1.8"));
            assert!(perm[0].in_mem_opts_default);
            assert_eq!(o.get("-XX:MaxPermSize"), None, "{at}");

            assert!(o.get("-XX:+HeapDumpOnOutOfMemoryError").is_some(), "{at}");
            assert_eq!(o.get("-XX:MaxMetaspaceSize"), None, "{at}");
            assert_eq!(o.get("-DentityExpansionLimit"), None, "{at}");
            assert_eq!(
                o.get("-Dcarbon.home").unwrap().value.as_deref(),
                Some("$CARBON_HOME")
            );
            for f in &o.flags {
                assert_eq!(o.file.slice(f.token_span), f.raw);
                assert!(!f.raw.ends_with('\\'), "{at}: {}", f.raw);
            }
        }
    }
}
