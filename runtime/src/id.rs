//! Container ids: the name of a directory under the state root, so they must
//! be safe as a single path component.

use crate::error::{Error, Result};

/// Longest id accepted: a file name component on Linux is at most 255 bytes.
pub const MAX_ID_LEN: usize = 255;

/// Checks that `id` can name a container: non-empty, at most
/// [`MAX_ID_LEN`] bytes of `[A-Za-z0-9_+.-]`, and neither `.` nor `..`.
/// The same rule as runc, so ids that work there work here.
pub fn validate_id(id: &str) -> Result<()> {
    let invalid = |reason| Error::InvalidId {
        id: id.to_owned(),
        reason,
    };
    if id.is_empty() {
        return Err(invalid("must not be empty"));
    }
    if id.len() > MAX_ID_LEN {
        return Err(invalid("longer than 255 bytes"));
    }
    if id == "." || id == ".." {
        return Err(invalid("must not be . or .."));
    }
    if let Some(c) = id.chars().find(|c| !is_id_char(*c)) {
        return Err(match c {
            '/' => invalid("must not contain /"),
            _ => invalid("may only contain letters, digits and _ + - ."),
        });
    }
    Ok(())
}

fn is_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '-' | '.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_runc_style_ids() {
        for id in [
            "a",
            "web-1",
            "k8s_pod.x+y",
            "0123456789abcdef",
            &"a".repeat(255),
        ] {
            validate_id(id).unwrap();
        }
    }

    #[test]
    fn rejects_hostile_ids() {
        for id in [
            "",
            ".",
            "..",
            "../x",
            "a/b",
            "a b",
            "x\0y",
            "ünïcode",
            &"a".repeat(256),
        ] {
            assert!(validate_id(id).is_err(), "{id:?} accepted");
        }
    }

    #[test]
    fn says_why() {
        let e = validate_id("a/b").unwrap_err().to_string();
        assert!(e.contains("must not contain /"), "{e}");
    }
}
