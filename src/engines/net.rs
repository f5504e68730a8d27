//! The network side of an engine: IPv4 subnets (a bridge address, an
//! address pool), overlap checks, and the defaults each MCS category gets.
//! All engines share the host's network namespace, so their bridges and
//! subnets must differ.

use std::fmt;
use std::net::Ipv4Addr;

/// An IPv4 address with a prefix length, e.g. 172.18.0.1/16.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub addr: Ipv4Addr,
    pub prefix: u8,
}

impl Cidr {
    pub fn parse(text: &str) -> Result<Cidr, String> {
        let bad = || format!("{text:?} is not an IPv4 address/prefix (like 172.18.0.1/16)");
        let (a, p) = text.split_once('/').ok_or_else(bad)?;
        let addr: Ipv4Addr = a.parse().map_err(|_| bad())?;
        let prefix: u8 = p.parse().map_err(|_| bad())?;
        if !(8..=30).contains(&prefix) {
            return Err(format!("{text:?}: the prefix must be /8 to /30"));
        }
        Ok(Cidr { addr, prefix })
    }

    fn mask(self) -> u32 {
        u32::MAX << (32 - u32::from(self.prefix))
    }

    /// The first address of the subnet.
    pub fn network(self) -> Cidr {
        Cidr {
            addr: Ipv4Addr::from(u32::from(self.addr) & self.mask()),
            prefix: self.prefix,
        }
    }

    /// Whether the two subnets share an address.
    pub fn overlaps(self, other: Cidr) -> bool {
        let shorter = self.prefix.min(other.prefix);
        let m = u32::MAX << (32 - u32::from(shorter));
        u32::from(self.addr) & m == u32::from(other.addr) & m
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// Whether `name` can name a network interface (IFNAMSIZ: 15 bytes).
pub fn valid_bridge(name: &str) -> bool {
    let b = name.as_bytes();
    (1..=15).contains(&b.len())
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"_.-".contains(c))
}

/// docker0 for category 0 (what dockerd makes by itself), dockerN else.
pub fn default_bridge(category: u16) -> String {
    format!("docker{category}")
}

/// 172.17.0.1/16 (docker's own default) for category 0, 172.18.0.1/16
/// for 1, ... up to 172.31.0.1/16 for 14.
pub fn default_bip(category: u16) -> Option<Cidr> {
    let second = 17u8.checked_add(u8::try_from(category).ok()?)?;
    (second <= 31).then(|| Cidr {
        addr: Ipv4Addr::new(172, second, 0, 1),
        prefix: 16,
    })
}

/// 10.(100+N).0.0/16 for category N up to 155: user networks in /24s.
pub fn default_pool(category: u16) -> Option<Cidr> {
    let second = 100u8.checked_add(u8::try_from(category).ok()?)?;
    Some(Cidr {
        addr: Ipv4Addr::new(10, second, 0, 0),
        prefix: 16,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsing_and_networks() {
        let c = Cidr::parse("172.18.3.1/16").unwrap();
        assert_eq!(c.network().to_string(), "172.18.0.0/16");
        assert_eq!(c.to_string(), "172.18.3.1/16");
        for bad in ["172.18.0.1", "1.2.3/16", "1.2.3.4/33", "1.2.3.4/4", "x/16"] {
            assert!(Cidr::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn overlaps() {
        let p = |s| Cidr::parse(s).unwrap();
        assert!(p("172.17.0.1/16").overlaps(p("172.17.200.0/24")));
        assert!(p("10.0.0.0/8").overlaps(p("10.101.0.0/16")));
        assert!(!p("172.17.0.1/16").overlaps(p("172.18.0.1/16")));
    }

    #[test]
    fn defaults_by_category() {
        assert_eq!(default_bridge(0), "docker0");
        assert_eq!(default_bip(0).unwrap().to_string(), "172.17.0.1/16");
        assert_eq!(default_bip(14).unwrap().to_string(), "172.31.0.1/16");
        assert_eq!(default_bip(15), None);
        assert_eq!(default_pool(1).unwrap().to_string(), "10.101.0.0/16");
        assert_eq!(default_pool(155).unwrap().to_string(), "10.255.0.0/16");
        assert_eq!(default_pool(156), None);
        // Every default bridge subnet and pool is distinct.
        for a in 0..15 {
            for b in 0..15 {
                if a != b {
                    assert!(!default_bip(a).unwrap().overlaps(default_bip(b).unwrap()));
                    assert!(!default_pool(a).unwrap().overlaps(default_pool(b).unwrap()));
                }
                assert!(!default_bip(a).unwrap().overlaps(default_pool(b).unwrap()));
            }
        }
    }

    #[test]
    fn bridge_names() {
        assert!(valid_bridge("docker1023"));
        assert!(!valid_bridge("a-very-long-bridge"));
        assert!(!valid_bridge("Docker1"));
        assert!(!valid_bridge(""));
    }
}
