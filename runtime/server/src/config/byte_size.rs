//! Sizes written as Kuzzle writes them: `"1MB"`, `"512KB"`, or a plain number of bytes.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A size in bytes. Units are binary (`1KB` = 1024 bytes), as in Kuzzle's configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ByteSize(u64);

impl ByteSize {
    /// A size of `n` mebibytes.
    pub const fn mebibytes(n: u64) -> Self {
        Self(n * 1024 * 1024)
    }

    /// The size in bytes.
    pub const fn bytes(self) -> u64 {
        self.0
    }

    /// The size in bytes, saturated to `usize`.
    pub fn as_usize(self) -> usize {
        usize::try_from(self.0).unwrap_or(usize::MAX)
    }
}

impl FromStr for ByteSize {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let trimmed = text.trim();
        let split = trimmed
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(trimmed.len());
        let (number, unit) = trimmed.split_at(split);
        let invalid =
            || format!("invalid size `{text}`: write a number of bytes or e.g. \"512KB\", \"1MB\"");

        let number: f64 = number.parse().map_err(|_| invalid())?;
        let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "kb" | "k" => 1 << 10,
            "mb" | "m" => 1 << 20,
            "gb" | "g" => 1 << 30,
            _ => return Err(invalid()),
        };
        Ok(Self((number * multiplier as f64) as u64))
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let units = [(1u64 << 30, "GB"), (1 << 20, "MB"), (1 << 10, "KB")];
        for (size, unit) in units {
            if self.0 >= size && self.0.is_multiple_of(size) {
                return write!(f, "{}{unit}", self.0 / size);
            }
        }
        write!(f, "{}B", self.0)
    }
}

impl Serialize for ByteSize {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Bytes(u64),
            Text(String),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Bytes(bytes) => Ok(Self(bytes)),
            Raw::Text(text) => text.parse().map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units() {
        assert_eq!("1MB".parse::<ByteSize>().unwrap().bytes(), 1 << 20);
        assert_eq!("512kb".parse::<ByteSize>().unwrap().bytes(), 512 << 10);
        assert_eq!("100".parse::<ByteSize>().unwrap().bytes(), 100);
        assert_eq!("1.5KB".parse::<ByteSize>().unwrap().bytes(), 1536);
        assert!("1XB".parse::<ByteSize>().is_err());
        assert!("MB".parse::<ByteSize>().is_err());
    }

    #[test]
    fn displays_largest_exact_unit() {
        assert_eq!(ByteSize::mebibytes(1).to_string(), "1MB");
        assert_eq!(ByteSize(1536).to_string(), "1536B");
    }
}
