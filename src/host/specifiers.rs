//! systemd's `%` specifiers in the unit settings apim-tune reads (systemd.unit(5),
//! "Specifiers"): `Environment=` values and `EnvironmentFile=` paths. Only the specifiers that
//! follow from the unit's name are resolved; the others (`%h`, `%H`, `%t`, …) depend on the
//! machine and stay unknown.

/// `value` with `%%` and the name specifiers of `unit` (`wso2am.service`, `wso2am@gw1.service`)
/// resolved, or the first specifier that cannot be resolved from the name alone.
pub fn resolve(value: &str, unit: &str) -> Result<String, char> {
    match resolve_known(value, unit) {
        (v, None) => Ok(v),
        (_, Some(c)) => Err(c),
    }
}

/// [`resolve`] that keeps a specifier it cannot resolve as written (`%h` stays `%h`) and says
/// which was the first.
pub fn resolve_known(value: &str, unit: &str) -> (String, Option<char>) {
    if !value.contains('%') {
        return (value.to_string(), None);
    }
    let mut unknown = None;
    let full = unit;
    let stem = unit.rsplit_once('.').map_or(unit, |(s, _)| s);
    let (prefix, instance) = match stem.split_once('@') {
        Some((p, i)) => (p, i),
        None => (stem, ""),
    };
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => out.push('%'),
            Some('n') => out.push_str(full),
            Some('N') => out.push_str(stem),
            Some('p') => out.push_str(prefix),
            // Escaped and unescaped instance: apim-tune reads names as written, so both are the
            // text after the `@` (an escape such as `\x2d` is rare in a service instance).
            Some('i' | 'I') => out.push_str(instance),
            Some('j') => out.push_str(prefix.rsplit('-').next().unwrap_or(prefix)),
            Some(other) => {
                unknown.get_or_insert(other);
                out.push('%');
                out.push(other);
            }
            // A lone `%` at the end: systemd rejects the setting.
            None => {
                unknown.get_or_insert('%');
                out.push('%');
            }
        }
    }
    (out, unknown)
}

/// A resolved value as a unit file must spell it: every `%` doubled. (A value that held a
/// specifier [`resolve_known`] left as written is never written back: the plan refuses it, since
/// its `%t` could not be told from a `%%t`.)
pub fn escape(value: &str) -> String {
    value.replace('%', "%%")
}

#[cfg(test)]
mod tests {
    use super::resolve;

    #[test]
    fn name_specifiers_resolve_and_machine_ones_do_not() {
        let cases = [
            (
                "/etc/default/%N",
                "wso2am.service",
                Ok("/etc/default/wso2am"),
            ),
            (
                "/etc/%p/%i.env",
                "wso2am@gw1.service",
                Ok("/etc/wso2am/gw1.env"),
            ),
            ("%n", "wso2am@gw1.service", Ok("wso2am@gw1.service")),
            ("hs_err_%%p.log", "wso2am.service", Ok("hs_err_%p.log")),
            ("%j", "apim-gateway.service", Ok("gateway")),
            ("no specifier", "x.service", Ok("no specifier")),
            ("%h/.wso2", "wso2am.service", Err('h')),
            ("%h/%N", "wso2am.service", Err('h')),
            ("50%", "wso2am.service", Err('%')),
        ];
        for (value, unit, want) in cases {
            assert_eq!(
                resolve(value, unit),
                want.map(str::to_string),
                "{value} in {unit}"
            );
        }
        assert_eq!(
            super::resolve_known("%h/%N-%%p", "wso2am.service"),
            ("%h/wso2am-%p".to_string(), Some('h'))
        );
        // Written back, every % of a resolved value is a literal one.
        assert_eq!(
            super::escape("/var/log/gc-%t-%p 50%"),
            "/var/log/gc-%%t-%%p 50%%"
        );
    }
}
