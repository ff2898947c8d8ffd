//! Lookups of short string keys that compare bytes inline instead of calling `memcmp`.
//!
//! Field names, values and collection names are mostly a few bytes long. For those, the
//! library comparison costs more in its call than in the bytes it compares, and matching
//! compares a key on every lookup that finds one.

use std::hash::{Hash, Hasher};

use compact_str::CompactString;
use hashbrown::Equivalent;

/// A borrowed string that finds a `CompactString` key. It hashes as its `str`, as the key
/// does, so both land in the same bucket.
#[derive(Debug, Clone, Copy)]
pub struct ShortKey<'a>(pub &'a str);

impl Hash for ShortKey<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl Equivalent<CompactString> for ShortKey<'_> {
    fn equivalent(&self, key: &CompactString) -> bool {
        same_str(self.0, key)
    }
}

/// Returns true when both strings have the same bytes. Strings of 4 to 16 bytes are
/// compared as two overlapping words, shorter ones byte by byte, and longer ones with the
/// slice comparison.
pub fn same_str(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let length = a.len();
    if length != b.len() {
        return false;
    }
    match length {
        0 => true,
        1..=3 => a[0] == b[0] && a[length / 2] == b[length / 2] && a[length - 1] == b[length - 1],
        4..=7 => word32(a, 0) == word32(b, 0) && word32(a, length - 4) == word32(b, length - 4),
        8..=16 => word64(a, 0) == word64(b, 0) && word64(a, length - 8) == word64(b, length - 8),
        _ => a == b,
    }
}

fn word32(bytes: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

fn word64(bytes: &[u8], at: usize) -> u64 {
    u64::from_ne_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
}

#[cfg(test)]
mod tests {
    use std::hash::BuildHasher;

    use super::*;

    #[test]
    fn same_str_agrees_with_equality() {
        let words = [
            "",
            "a",
            "b",
            "ab",
            "ba",
            "abc",
            "acc",
            "abd",
            "abcd",
            "abce",
            "bbcd",
            "abcdefg",
            "abcdefh",
            "bbcdefg",
            "abcdefgh",
            "abcdefgi",
            "abcdefghijklmnop",
            "abcdefghijklmnoq",
            "bbcdefghijklmnop",
            "abcdefghXjklmnop",
            "abcdefghijklmnopq",
            "abcdefghijklmnopr",
            "é",
            "éa",
        ];
        for a in words {
            for b in words {
                assert_eq!(same_str(a, b), a == b, "{a:?} and {b:?}");
            }
        }
    }

    #[test]
    fn short_key_hashes_like_key() {
        let state = foldhash::fast::RandomState::default();
        for text in ["", "str", "a-field-name-longer-than-24-bytes"] {
            let key = CompactString::from(text);
            assert_eq!(state.hash_one(&key), state.hash_one(ShortKey(text)));
            assert!(ShortKey(text).equivalent(&key));
        }
    }
}
