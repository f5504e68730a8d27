//! The in-memory tail of a service's output: bounded by lines AND bytes.

use std::collections::VecDeque;

/// Lines kept in memory, oldest first.
#[derive(Debug)]
pub struct Ring {
    lines: VecDeque<Box<str>>,
    bytes: usize,
    max_lines: usize,
    max_bytes: usize,
}

impl Ring {
    pub fn new(max_lines: usize, max_bytes: usize) -> Self {
        Ring {
            lines: VecDeque::new(),
            bytes: 0,
            max_lines: max_lines.max(1),
            max_bytes: max_bytes.max(1),
        }
    }

    /// Appends `line` (cut to the byte bound), dropping the oldest lines
    /// until both bounds hold.
    pub fn push(&mut self, line: &str) {
        let line = truncate(line, self.max_bytes);
        self.bytes += line.len();
        self.lines.push_back(line.into());
        while self.lines.len() > self.max_lines || self.bytes > self.max_bytes {
            match self.lines.pop_front() {
                Some(old) => self.bytes -= old.len(),
                None => break,
            }
        }
    }

    /// The last `n` lines, oldest first.
    pub fn tail(&self, n: usize) -> Vec<String> {
        let skip = self.lines.len().saturating_sub(n);
        self.lines
            .iter()
            .skip(skip)
            .map(|l| l.to_string())
            .collect()
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    #[cfg(test)]
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

/// `s` cut to at most `max` bytes on a character boundary.
pub fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_by_lines() {
        let mut r = Ring::new(3, 1000);
        for i in 0..10 {
            r.push(&format!("line {i}"));
        }
        assert_eq!(r.len(), 3);
        assert_eq!(r.tail(10), ["line 7", "line 8", "line 9"]);
        assert_eq!(r.tail(1), ["line 9"]);
        assert_eq!(r.bytes(), 18);
    }

    #[test]
    fn bounded_by_bytes() {
        let mut r = Ring::new(1000, 10);
        r.push("aaaa");
        r.push("bbbb");
        r.push("cccc");
        assert_eq!(r.tail(10), ["bbbb", "cccc"]);
        assert!(r.bytes() <= 10);
    }

    #[test]
    fn an_overlong_line_is_cut_not_dropped() {
        let mut r = Ring::new(10, 8);
        r.push("0123456789abc");
        assert_eq!(r.tail(1), ["01234567"]);
        r.push("ééééé");
        assert_eq!(r.tail(1), ["éééé"]);
        assert!(r.bytes() <= 8);
    }
}
