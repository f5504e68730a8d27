//! Memory amounts in corral.toml: a number of bytes, a string with a
//! K/M/G/T suffix (powers of 1024), a share of the machine's RAM ("85%"),
//! or "max" (no limit).

use std::fmt;

use serde::{Deserialize, Deserializer};

/// A memory amount as written in corral.toml.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    Bytes(u64),
    /// Percent of the RAM (1 to 100).
    Percent(u8),
    /// No limit.
    Max,
}

impl Size {
    /// Parses `"64M"`, `"85%"`, `"max"`, `"1048576"`.
    pub fn parse(text: &str) -> Result<Size, String> {
        let t = text.trim();
        if t == "max" {
            return Ok(Size::Max);
        }
        if let Some(p) = t.strip_suffix('%') {
            return match p.trim().parse::<u8>() {
                Ok(n) if (1..=100).contains(&n) => Ok(Size::Percent(n)),
                _ => Err(format!("{text:?}: a percentage must be 1% to 100%")),
            };
        }
        let (digits, shift) = match t.char_indices().last() {
            Some((i, c)) if c.is_ascii_alphabetic() => {
                let shift = match c.to_ascii_uppercase() {
                    'K' => 10,
                    'M' => 20,
                    'G' => 30,
                    'T' => 40,
                    _ => return Err(bad(text)),
                };
                (&t[..i], shift)
            }
            _ => (t, 0),
        };
        let n: u64 = digits.trim().parse().map_err(|_| bad(text))?;
        n.checked_mul(1u64 << shift)
            .map(Size::Bytes)
            .ok_or_else(|| format!("{text:?} is too large"))
    }

    /// The amount in bytes on a machine with `ram` bytes; None means no limit.
    pub fn bytes(self, ram: u64) -> Option<u64> {
        match self {
            Size::Bytes(b) => Some(b),
            Size::Percent(p) => Some(ram / 100 * u64::from(p)),
            Size::Max => None,
        }
    }
}

fn bad(text: &str) -> String {
    format!("{text:?} is not a size (bytes, or a number with K, M, G or T, or N%, or \"max\")")
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Size::Bytes(b) => write!(f, "{b}"),
            Size::Percent(p) => write!(f, "{p}%"),
            Size::Max => f.write_str("max"),
        }
    }
}

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Int(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Int(n) => Ok(Size::Bytes(n)),
            Raw::Text(t) => Size::parse(&t).map_err(serde::de::Error::custom),
        }
    }
}

/// The machine's RAM in bytes (MemTotal of /proc/meminfo), 0 when unknown.
pub fn ram_bytes() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| mem_total(&t))
        .unwrap_or(0)
}

fn mem_total(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(Size::parse("64M"), Ok(Size::Bytes(64 << 20)));
        assert_eq!(Size::parse("1g"), Ok(Size::Bytes(1 << 30)));
        assert_eq!(Size::parse("4096"), Ok(Size::Bytes(4096)));
        assert_eq!(Size::parse("85%"), Ok(Size::Percent(85)));
        assert_eq!(Size::parse("max"), Ok(Size::Max));
        for bad in ["", "M", "12X", "0%", "101%", "-1", "99999999999T", "1.5G"] {
            assert!(Size::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bytes_on_a_machine() {
        assert_eq!(Size::Percent(50).bytes(2000), Some(1000));
        assert_eq!(Size::Bytes(7).bytes(0), Some(7));
        assert_eq!(Size::Max.bytes(1), None);
    }

    #[test]
    fn from_toml_numbers_and_strings() {
        #[derive(Deserialize)]
        struct T {
            a: Size,
            b: Size,
        }
        let t: T = toml::from_str("a = 1024\nb = \"2K\"").unwrap();
        assert_eq!((t.a, t.b), (Size::Bytes(1024), Size::Bytes(2048)));
        assert!(toml::from_str::<T>("a = 1\nb = \"lots\"").is_err());
    }

    #[test]
    fn meminfo() {
        assert_eq!(
            mem_total("MemTotal:        2014552 kB\nMemFree: 1 kB\n"),
            Some(2014552 * 1024)
        );
        assert_eq!(mem_total("nothing"), None);
    }
}
