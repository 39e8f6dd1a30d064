//! Edits JVM options in the start-up script: change a value, add an option to the default
//! `JVM_MEM_OPTS` assignment, or remove an option. Byte-span splicing only; everything else in
//! the script stays as it is. Never decides what to change (that is `plan`).

use super::line::splice;
use crate::apim::jvm::{self, JvmOptions};
use crate::model::{SourceFile, Span};

/// `-Xmx` + `2g` → `-Xmx2g`; `-XX:MaxMetaspaceSize` + `512m` → `-XX:MaxMetaspaceSize=512m`;
/// `-Dname` + `v` → `-Dname=v`; a boolean `-XX:+Flag` is written as it is.
pub fn render(flag: &str, value: &str) -> String {
    if value.is_empty() || flag.starts_with("-XX:+") || flag.starts_with("-XX:-") {
        flag.to_string()
    } else if flag.starts_with("-X") && !flag.starts_with("-XX:") {
        format!("{flag}{value}")
    } else {
        format!("{flag}={value}")
    }
}

/// Sets `flag` to `value`: the value bytes of the occurrence in effect when there is one, else
/// the option is appended to the default `JVM_MEM_OPTS="…"` assignment. The result is parsed
/// again and must yield exactly `value` for `flag`.
pub fn set_flag(opts: &JvmOptions, flag: &str, value: &str) -> Result<String, String> {
    let text = &opts.file.text;
    let new = match opts.get(flag) {
        Some(f) => match f.value_span {
            Some(span) => splice(text, span, value),
            None => splice(text, f.token_span, &render(flag, value)),
        },
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
    verify(opts, new, |o| {
        !o.flags
            .iter()
            .any(|f| f.name == name && f.guard.is_none() && f.raw == removed)
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
    fn adds_to_the_default_assignment() {
        let o = opts(SCRIPT);
        let new = set_flag(&o, "-DentityExpansionLimit", "10000").unwrap();
        assert_eq!(
            new,
            SCRIPT.replace(
                "-XX:MaxPermSize=1g\"",
                "-XX:MaxPermSize=1g -DentityExpansionLimit=10000\""
            )
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
