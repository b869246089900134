//! Port ranges for the target policy: `"8080"` or `"1024-65535"` (or a bare number).

use std::fmt;

use serde::Deserialize;

/// An inclusive range of TCP ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "PortRangeText")]
pub struct PortRange {
    /// First port in the range.
    pub first: u16,
    /// Last port in the range.
    pub last: u16,
}

impl PortRange {
    /// The range holding only `port`.
    pub fn single(port: u16) -> Self {
        Self {
            first: port,
            last: port,
        }
    }

    /// Whether `port` is inside.
    pub fn contains(&self, port: u16) -> bool {
        (self.first..=self.last).contains(&port)
    }
}

impl std::str::FromStr for PortRange {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let number = |t: &str| {
            t.trim()
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| format!("{t:?} is not a port (1-65535)"))
        };
        let range = match s.split_once('-') {
            Some((a, b)) => Self {
                first: number(a)?,
                last: number(b)?,
            },
            None => Self::single(number(s)?),
        };
        if range.first > range.last {
            return Err(format!("{s:?}: the first port is above the last"));
        }
        Ok(range)
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first == self.last {
            write!(f, "{}", self.first)
        } else {
            write!(f, "{}-{}", self.first, self.last)
        }
    }
}

/// The forms a port range takes in TOML: a number or a string.
#[derive(Deserialize)]
#[serde(untagged)]
enum PortRangeText {
    Number(i64),
    Text(String),
}

impl TryFrom<PortRangeText> for PortRange {
    type Error = String;

    fn try_from(value: PortRangeText) -> Result<Self, Self::Error> {
        match value {
            PortRangeText::Number(n) => n.to_string().parse(),
            PortRangeText::Text(t) => t.parse(),
        }
    }
}
