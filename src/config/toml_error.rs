//! TOML errors as one line: `FILE:LINE: message`.

use std::path::Path;

/// Renders `err` (from parsing `text`, read from `file`) on one line.
pub fn describe(file: &Path, text: &str, err: &toml::de::Error) -> String {
    let message = one_line(err.message());
    match err.span() {
        Some(span) => format!(
            "{}:{}: {message}",
            file.display(),
            line_of(text, span.start)
        ),
        None => format!("{}: {message}", file.display()),
    }
}

/// The 1-based line holding byte `offset` of `text`.
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct T {
        a: u32,
    }

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let text = "a = 1\n\ncolour = 2\n";
        let err = toml::from_str::<T>(text).unwrap_err();
        let msg = describe(Path::new("/x/service.toml"), text, &err);
        assert!(msg.starts_with("/x/service.toml:3: "), "{msg}");
        assert!(msg.contains("colour"), "{msg}");
        assert!(!msg.contains('\n'));
    }

    #[test]
    fn syntax_errors_are_one_line() {
        let text = "a = 1\nthis is [not toml\n";
        let err = toml::from_str::<T>(text).unwrap_err();
        let msg = describe(Path::new("c.toml"), text, &err);
        assert!(msg.starts_with("c.toml:2: "), "{msg}");
        assert!(!msg.contains('\n'));
    }
}
