//! Edits JVM options in the start-up script: change a value, add a memory option to the default
//! `JVM_MEM_OPTS` assignment and any other option to the java command line, or remove an
//! option; and the same edits on the value of an environment variable (`JVM_MEM_OPTS` set by a
//! systemd unit). Byte-span splicing only; everything else stays as it is. Never decides what
//! to change (that is `plan`).

use super::line::splice;
use crate::apim::jvm::{self, JvmOptions};
use crate::model::{SourceFile, Span};

pub use crate::apim::jvm::render_option as render;

/// Sets `flag` to `value`: the value bytes of the occurrence in effect when there is one, else
/// a memory option is appended to the default `JVM_MEM_OPTS="…"` assignment and any other
/// option put on the java command line. The result is parsed again and must yield exactly
/// `value` for `flag`.
pub fn set_flag(opts: &JvmOptions, flag: &str, value: &str) -> Result<String, String> {
    let text = &opts.file.text;
    let new = match opts.get(flag) {
        Some(f) => match f.value_span {
            Some(span) => splice(text, span, value),
            None => splice(text, f.token_span, &render(flag, value)),
        },
        // `JVM_MEM_OPTS` is for memory: another option added there would also be lost the day
        // the environment sets `JVM_MEM_OPTS`. It goes on the java command line instead.
        None if !jvm::is_memory_option(flag) => add_to_command_line(opts, flag, value)?,
        None => {
            let anchor = opts
                .flags
                .iter()
                .filter(|f| f.guard.is_none() && f.var.as_deref() == Some("JVM_MEM_OPTS"))
                .max_by_key(|f| (f.in_mem_opts_default, f.token_span.end))
                .ok_or_else(|| {
                    format!("no `JVM_MEM_OPTS` assignment in the script to add `{flag}` to")
                })?;
            let at = anchor.token_span.end;
            splice(
                text,
                Span::new(at, at),
                &format!(" {}", render(flag, value)),
            )
        }
    };
    verify(opts, new, |o| {
        o.get(flag).and_then(|f| f.value.as_deref()) == Some(value)
            || (value.is_empty() && o.get(flag).is_some())
    })
}

/// Adds `flag` to the java command line, on a line of its own just before `$JAVA_OPTS` (so the
/// operator's `JAVA_OPTS` can still override it), indented like that line.
fn add_to_command_line(opts: &JvmOptions, flag: &str, value: &str) -> Result<String, String> {
    let text = &opts.file.text;
    let (_, at) = opts
        .java_refs
        .iter()
        .find(|(v, _)| v == "JAVA_OPTS")
        .or_else(|| opts.java_refs.last())
        .ok_or_else(|| format!("no java command line in the script to add `{flag}` to"))?;
    let line_start = text[..*at].rfind('\n').map_or(0, |i| i + 1);
    let indent = &text[line_start..*at];
    if !indent.chars().all(|c| c == ' ' || c == '\t') {
        // `$JAVACMD $JVM_MEM_OPTS $JAVA_OPTS …` on one line: put it in front of the reference.
        return Ok(splice(
            text,
            Span::new(*at, *at),
            &format!("{} ", render(flag, value)),
        ));
    }
    Ok(splice(
        text,
        Span::new(line_start, line_start),
        &format!("{indent}{} \\\n", render(flag, value)),
    ))
}

/// `value` (a variable's value, word-split by the script) with `flag` set to `new`: the last
/// occurrence's value replaced, or the option appended. The other words keep their bytes.
pub fn set_in_value(value: &str, var: &str, flag: &str, new: &str) -> String {
    let found = jvm::options_in_value(value, var)
        .into_iter()
        .rev()
        .find(|f| f.name == flag);
    match found {
        Some(f) => match f.value_span {
            Some(span) => splice(value, span, new),
            None => splice(value, f.token_span, &render(flag, new)),
        },
        None if value.trim().is_empty() => render(flag, new),
        None => format!("{} {}", value.trim_end(), render(flag, new)),
    }
}

/// `value` without any occurrence of `flag` (and the blanks before each).
pub fn remove_in_value(value: &str, var: &str, flag: &str) -> String {
    let mut out = value.to_string();
    let mut found = jvm::options_in_value(value, var);
    found.retain(|f| f.name == flag);
    for f in found.iter().rev() {
        let mut start = f.token_span.start;
        while start > 0 && matches!(out.as_bytes()[start - 1], b' ' | b'\t') {
            start -= 1;
        }
        let end = if start == 0 {
            let mut end = f.token_span.end;
            while end < out.len() && matches!(out.as_bytes()[end], b' ' | b'\t') {
                end += 1;
            }
            end
        } else {
            f.token_span.end
        };
        out = splice(&out, Span::new(start, end), "");
    }
    out
}

/// Removes the option whose token is `token_span`, with the blanks before it, so
/// `"-Xms1g -XX:MaxPermSize=1g"` becomes `"-Xms1g"` and a line of its own keeps its shape.
pub fn remove_flag(opts: &JvmOptions, token_span: Span) -> Result<String, String> {
    let text = &opts.file.text;
    let bytes = text.as_bytes();
    let mut start = token_span.start;
    while start > 0 && matches!(bytes[start - 1], b' ' | b'\t') {
        start -= 1;
    }
    // A token that started its line keeps the line's indentation: drop the blanks after it
    // instead.
    let (start, end) = if start == 0 || bytes[start - 1] == b'\n' || bytes[start - 1] == b'"' {
        let mut end = token_span.end;
        while end < bytes.len() && matches!(bytes[end], b' ' | b'\t') {
            end += 1;
        }
        (token_span.start, end)
    } else {
        (start, token_span.end)
    };
    let removed = opts.file.slice(token_span).to_string();
    let name = opts
        .flags
        .iter()
        .find(|f| f.token_span == token_span)
        .map(|f| f.name.clone())
        .unwrap_or_default();
    let new = splice(text, Span::new(start, end), "");
    // Exactly that one option goes: every other option reads back as before. Cutting a token
    // out of a mangled quote can re-pair the quotes and swallow another option with it.
    let mut expected: Vec<(&str, &str)> = opts
        .flags
        .iter()
        .map(|f| (f.name.as_str(), f.raw.as_str()))
        .collect();
    if let Some(i) = expected
        .iter()
        .position(|&(n, r)| n == name && r == removed)
    {
        expected.remove(i);
    }
    expected.sort_unstable();
    verify(opts, new, |o| {
        let mut left: Vec<(&str, &str)> = o
            .flags
            .iter()
            .map(|f| (f.name.as_str(), f.raw.as_str()))
            .collect();
        left.sort_unstable();
        let gone = !o
            .flags
            .iter()
            .any(|f| f.name == name && f.guard.is_none() && f.raw == removed);
        gone && left == expected
    })
}

fn verify(
    opts: &JvmOptions,
    new: String,
    ok: impl Fn(&JvmOptions) -> bool,
) -> Result<String, String> {
    let file = SourceFile::new(
        opts.file.path.clone(),
        opts.file.display.clone(),
        new.clone(),
    );
    let (parsed, problems) = jvm::parse(file);
    if !problems.is_empty() {
        return Err(format!(
            "the edited script no longer parses: {}",
            problems[0].message
        ));
    }
    if !ok(&parsed) {
        return Err("the edited script does not have the intended option".into());
    }
    Ok(new)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(text: &str) -> JvmOptions {
        let (o, p) = jvm::parse(SourceFile::new("s".into(), "s".into(), text.into()));
        assert!(p.is_empty(), "{p:?}");
        o
    }

    const SCRIPT: &str = "if [ -z \"$JVM_MEM_OPTS\" ]; then\r\n   JVM_MEM_OPTS=\"-Xms256m -Xmx1024m -XX:MaxPermSize=1g\"\r\nfi\r\n$JAVACMD $JVM_MEM_OPTS $JAVA_OPTS Main\r\n";

    #[test]
    fn changes_only_the_value_bytes() {
        let o = opts(SCRIPT);
        let new = set_flag(&o, "-Xmx", "2g").unwrap();
        assert_eq!(new, SCRIPT.replace("-Xmx1024m", "-Xmx2g"));
    }

    #[test]
    fn edits_a_variable_value_word_by_word() {
        let v = "-Xms2g  -Xmx2g -XX:+UseConcMarkSweepGC";
        assert_eq!(
            set_in_value(v, "V", "-Xmx", "4g"),
            "-Xms2g  -Xmx4g -XX:+UseConcMarkSweepGC"
        );
        assert_eq!(
            set_in_value("-Xmx1g -Xmx2g", "V", "-Xmx", "4g"),
            "-Xmx1g -Xmx4g"
        );
        assert_eq!(set_in_value(v, "V", "-Xss", "1m"), format!("{v} -Xss1m"));
        assert_eq!(set_in_value("  ", "V", "-Xss", "1m"), "-Xss1m");
        assert_eq!(
            remove_in_value(v, "V", "-XX:+UseConcMarkSweepGC"),
            "-Xms2g  -Xmx2g"
        );
        assert_eq!(
            remove_in_value("-Xmx1g -Xms1g -Xmx2g", "V", "-Xmx"),
            "-Xms1g"
        );
        assert_eq!(remove_in_value(v, "V", "-Xss"), v);
    }

    #[test]
    fn adds_other_options_to_the_java_command_line() {
        let script = "if [ -z \"$JVM_MEM_OPTS\" ]; then\n  JVM_MEM_OPTS=\"-Xmx1g\"\nfi\n\
            $JAVACMD \\\n    $JVM_MEM_OPTS \\\n    $JAVA_OPTS \\\n    Main\n";
        let o = opts(script);
        let new = set_flag(&o, "-DentityExpansionLimit", "10000").unwrap();
        assert_eq!(
            new,
            script.replace(
                "    $JAVA_OPTS",
                "    -DentityExpansionLimit=10000 \\\n    $JAVA_OPTS"
            )
        );
        let after = opts(&new);
        let f = after.get("-DentityExpansionLimit").unwrap();
        assert_eq!((f.var.as_deref(), f.in_mem_opts_default), (None, false));
    }

    #[test]
    fn adds_to_the_default_assignment() {
        let o = opts(SCRIPT);
        let new = set_flag(&o, "-Xss", "1m").unwrap();
        assert_eq!(
            new,
            SCRIPT.replace("-XX:MaxPermSize=1g\"", "-XX:MaxPermSize=1g -Xss1m\"")
        );
        let none = opts("$JAVACMD -Dx=1 Main\n");
        assert!(set_flag(&none, "-Xmx", "2g").is_err());
    }

    #[test]
    fn removes_an_option_and_its_blank() {
        let o = opts(SCRIPT);
        let span = o.get("-XX:MaxPermSize").unwrap().token_span;
        let new = remove_flag(&o, span).unwrap();
        assert_eq!(new, SCRIPT.replace(" -XX:MaxPermSize=1g", ""));
        let o = opts("JVM_MEM_OPTS=\"-XX:MaxPermSize=1g -Xmx1g\"\n");
        let span = o.get("-XX:MaxPermSize").unwrap().token_span;
        assert_eq!(remove_flag(&o, span).unwrap(), "JVM_MEM_OPTS=\"-Xmx1g\"\n");
    }

    #[test]
    fn renders_each_option_family() {
        assert_eq!(render("-Xms", "2g"), "-Xms2g");
        assert_eq!(
            render("-XX:MaxMetaspaceSize", "512m"),
            "-XX:MaxMetaspaceSize=512m"
        );
        assert_eq!(
            render("-Djdk.xml.entityExpansionLimit", "2500"),
            "-Djdk.xml.entityExpansionLimit=2500"
        );
        assert_eq!(render("-XX:+UseG1GC", ""), "-XX:+UseG1GC");
    }
}
