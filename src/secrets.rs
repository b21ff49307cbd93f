//! Secret values in output: every form a value may take ([`secret_forms`]) and their masking
//! as `***` ([`mask`]). A leaf module: the report layer, the plan's text, the
//! inputs and the registry credentials all mask through it, and it depends on nothing of
//! taskrun's.

/// Replaces every masked value by `***`.
pub fn mask(text: &str, masked: &[String]) -> String {
    let mut out = text.to_owned();
    let mut sorted: Vec<&String> = masked.iter().filter(|m| !m.is_empty()).collect();
    // Longest first, so a secret containing another is masked whole.
    sorted.sort_by_key(|m| std::cmp::Reverse(m.len()));
    for m in sorted {
        if out.contains(m.as_str()) {
            out = out.replace(m.as_str(), "***");
        }
    }
    out
}

/// The strings to mask for some secret values: each value; its standard base64 (the form a
/// docker config `auth` entry or a `b64enc` volume entry holds); its escaped forms in JSON and
/// in quoted debug text when they differ (quotes, backslashes, control characters), and
/// single-quoted for a shell (`'\''` for each quote, also JSON-escaped); and, for a
/// value of several lines, each of its lines of at least 4 characters (output is masked line
/// by line). Empty values give nothing.
pub fn secret_forms<'a>(values: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    use base64::Engine as _;
    let mut forms: Vec<String> = Vec::new();
    let mut add = |s: &str| {
        if !s.is_empty() && !forms.iter().any(|f| f == s) {
            forms.push(s.to_owned());
        }
    };
    for value in values {
        if value.is_empty() {
            continue;
        }
        add(value);
        add(&base64::engine::general_purpose::STANDARD.encode(value));
        // Escaped as in JSON (`toJson`, json output) and in quoted debug text (`--dry-run`);
        // single-quoted for a shell (an `env` entry written for acb's shell line), also as JSON.
        let json_inner = |v: &str| {
            let json = serde_json::to_string(v).unwrap_or_default();
            json.get(1..json.len().saturating_sub(1))
                .unwrap_or_default()
                .to_owned()
        };
        add(&json_inner(value));
        if value.contains('\'') {
            let quoted = value.replace('\'', r"'\''");
            add(&quoted);
            add(&json_inner(&quoted));
        }
        let debug = format!("{value:?}");
        add(debug
            .get(1..debug.len().saturating_sub(1))
            .unwrap_or_default());
        if value.contains('\n') {
            for line in value.lines().map(str::trim) {
                if line.chars().count() >= 4 {
                    add(line);
                }
            }
        }
    }
    forms
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_forms_add_base64_and_lines() {
        let forms = secret_forms(["s3cr3t", "", "-----BEGIN KEY-----\r\nabcdef\n}\n", "s3cr3t"]);
        assert_eq!(
            forms,
            [
                "s3cr3t",
                "czNjcjN0",
                "-----BEGIN KEY-----\r\nabcdef\n}\n",
                "LS0tLS1CRUdJTiBLRVktLS0tLQ0KYWJjZGVmCn0K",
                "-----BEGIN KEY-----\\r\\nabcdef\\n}\\n",
                "-----BEGIN KEY-----",
                "abcdef",
            ]
        );
        assert_eq!(mask("key: czNjcjN0.", &forms), "key: ***.");
        let forms = secret_forms(["q\"u'o\\te\u{1} ✓"]);
        assert!(
            forms.contains(&"q\\\"u'o\\\\te\\u0001 ✓".to_owned()),
            "{forms:?}"
        );
        assert!(
            forms.contains(&"q\\\"u'o\\\\te\\u{1} ✓".to_owned()),
            "{forms:?}"
        );
    }

    #[test]
    fn masks_longest_first() {
        let m = vec!["abc".to_owned(), "abcdef".to_owned(), String::new()];
        assert_eq!(mask("x abcdef abc y", &m), "x *** *** y");
    }
}
