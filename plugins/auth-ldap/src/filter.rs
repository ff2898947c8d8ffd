//! Search filters: the string form of RFC 4515 parsed and encoded as the `Filter` of RFC 4511
//! section 4.5.1.
//!
//! Supported: `&`, `|`, `!`, equality, presence, substrings, `>=`, `<=` and `~=`. Extensible
//! matches (`:=`) are not, and raise an error that names them.

use std::fmt;

use crate::ber;

const AND: u8 = 0xa0;
const OR: u8 = 0xa1;
const NOT: u8 = 0xa2;
const EQUALITY: u8 = 0xa3;
const SUBSTRINGS: u8 = 0xa4;
const GREATER_OR_EQUAL: u8 = 0xa5;
const LESS_OR_EQUAL: u8 = 0xa6;
const PRESENT: u8 = 0x87;
const APPROXIMATE: u8 = 0xa8;
const SUBSTRING_INITIAL: u8 = 0x80;
const SUBSTRING_ANY: u8 = 0x81;
const SUBSTRING_FINAL: u8 = 0x82;

/// Nesting deeper than this is rejected, so a hostile filter cannot exhaust the stack.
const MAX_DEPTH: usize = 32;

/// An invalid filter string, with the byte offset where parsing stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError {
    /// Byte offset in the filter string.
    pub offset: usize,
    /// What is wrong there.
    pub reason: String,
}

impl fmt::Display for FilterError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{} at offset {}", self.reason, self.offset)
    }
}

/// Parses a filter string such as `(&(objectClass=person)(uid=alice))` and returns its BER
/// encoding.
///
/// # Errors
///
/// A [`FilterError`] for a filter that RFC 4515 does not allow or that uses extensible matching.
pub fn encode(filter: &str) -> Result<Vec<u8>, FilterError> {
    let mut parser = Parser {
        input: filter.as_bytes(),
        position: 0,
    };
    let encoded = parser.filter(0)?;
    if parser.position != parser.input.len() {
        return Err(parser.error("unexpected characters after the filter"));
    }
    Ok(encoded)
}

struct Parser<'a> {
    input: &'a [u8],
    position: usize,
}

impl<'a> Parser<'a> {
    fn error(&self, reason: &str) -> FilterError {
        FilterError {
            offset: self.position,
            reason: reason.to_owned(),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.input.get(self.position).copied()
    }

    fn expect(&mut self, byte: u8) -> Result<(), FilterError> {
        if self.peek() != Some(byte) {
            return Err(self.error(&format!("expected '{}'", byte as char)));
        }
        self.position += 1;
        Ok(())
    }

    /// Parses `"(" filtercomp ")"`.
    fn filter(&mut self, depth: usize) -> Result<Vec<u8>, FilterError> {
        if depth > MAX_DEPTH {
            return Err(self.error(&format!("filter nested deeper than {MAX_DEPTH} levels")));
        }
        self.expect(b'(')?;

        let encoded = match self.peek() {
            Some(b'&') => self.list(AND, depth)?,
            Some(b'|') => self.list(OR, depth)?,
            Some(b'!') => {
                self.position += 1;
                let inner = self.filter(depth + 1)?;
                ber::element(NOT, &inner)
            }
            _ => self.item()?,
        };

        self.expect(b')')?;
        Ok(encoded)
    }

    /// Parses `"&" filterlist` or `"|" filterlist`, with at least one filter.
    fn list(&mut self, tag: u8, depth: usize) -> Result<Vec<u8>, FilterError> {
        self.position += 1;
        let mut parts = Vec::new();
        while self.peek() == Some(b'(') {
            parts.push(self.filter(depth + 1)?);
        }
        if parts.is_empty() {
            return Err(self.error("'&' and '|' need at least one filter"));
        }
        Ok(ber::constructed(tag, &parts))
    }

    /// Parses `attr filtertype value`, a presence test or a substrings assertion.
    fn item(&mut self) -> Result<Vec<u8>, FilterError> {
        let attribute = self.attribute()?;

        let tag = match self.peek() {
            Some(b'=') => EQUALITY,
            Some(b'>') => GREATER_OR_EQUAL,
            Some(b'<') => LESS_OR_EQUAL,
            Some(b'~') => APPROXIMATE,
            Some(b':') => return Err(self.error("extensible match filters are not supported")),
            _ => return Err(self.error("expected '=', '>=', '<=' or '~='")),
        };
        if tag != EQUALITY {
            self.position += 1;
        }
        self.expect(b'=')?;

        let pieces = self.value_pieces()?;
        if tag != EQUALITY && pieces.len() > 1 {
            return Err(self.error("'*' is only allowed in equality filters"));
        }
        match pieces.as_slice() {
            [value] => Ok(assertion(tag, attribute, value)),
            [first, last] if first.is_empty() && last.is_empty() => {
                Ok(ber::element(PRESENT, attribute))
            }
            _ => Ok(substrings(attribute, &pieces)),
        }
    }

    /// Parses an attribute description: a name or OID with options, such as `cn;lang-fr`.
    fn attribute(&mut self) -> Result<&'a [u8], FilterError> {
        let start = self.position;
        while let Some(byte) = self.peek() {
            if !(byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b';')) {
                break;
            }
            self.position += 1;
        }
        if self.position == start {
            return Err(self.error("missing attribute name"));
        }
        Ok(&self.input[start..self.position])
    }

    /// Parses a value up to the closing `)`: the pieces between unescaped `*`, each unescaped.
    fn value_pieces(&mut self) -> Result<Vec<Vec<u8>>, FilterError> {
        let mut pieces = vec![Vec::new()];
        loop {
            match self.peek() {
                None => return Err(self.error("missing ')' after the value")),
                Some(b')') => return Ok(pieces),
                Some(b'(') => return Err(self.error("unescaped '(' in a value")),
                Some(b'*') => {
                    self.position += 1;
                    pieces.push(Vec::new());
                }
                Some(b'\\') => {
                    let byte = self.escaped_byte()?;
                    pieces.last_mut().expect("starts with one piece").push(byte);
                }
                Some(byte) => {
                    self.position += 1;
                    pieces.last_mut().expect("starts with one piece").push(byte);
                }
            }
        }
    }

    /// Parses `\XX`, two hexadecimal digits.
    fn escaped_byte(&mut self) -> Result<u8, FilterError> {
        let digits = self.input.get(self.position + 1..self.position + 3);
        let byte = digits
            .and_then(|digits| std::str::from_utf8(digits).ok())
            .filter(|digits| digits.bytes().all(|byte| byte.is_ascii_hexdigit()))
            .and_then(|digits| u8::from_str_radix(digits, 16).ok());
        let Some(byte) = byte else {
            return Err(self.error("'\\' must be followed by two hexadecimal digits"));
        };
        self.position += 3;
        Ok(byte)
    }
}

/// Encodes an `AttributeValueAssertion` under `tag`.
fn assertion(tag: u8, attribute: &[u8], value: &[u8]) -> Vec<u8> {
    ber::constructed(
        tag,
        &[
            ber::octet_string(ber::OCTET_STRING, attribute),
            ber::octet_string(ber::OCTET_STRING, value),
        ],
    )
}

/// Encodes a `SubstringFilter` from the pieces between the `*`: the first is `initial` and the
/// last is `final` when not empty, the others are `any`.
fn substrings(attribute: &[u8], pieces: &[Vec<u8>]) -> Vec<u8> {
    let last = pieces.len() - 1;
    let mut parts = Vec::new();
    for (index, piece) in pieces.iter().enumerate() {
        if piece.is_empty() {
            continue;
        }
        let tag = match index {
            0 => SUBSTRING_INITIAL,
            _ if index == last => SUBSTRING_FINAL,
            _ => SUBSTRING_ANY,
        };
        parts.push(ber::octet_string(tag, piece));
    }

    ber::constructed(
        SUBSTRINGS,
        &[
            ber::octet_string(ber::OCTET_STRING, attribute),
            ber::constructed(ber::SEQUENCE, &parts),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::escape::escape_filter_value;

    fn octets(value: &[u8]) -> Vec<u8> {
        ber::octet_string(ber::OCTET_STRING, value)
    }

    #[test]
    fn equality_encoded() {
        let expected = ber::constructed(EQUALITY, &[octets(b"uid"), octets(b"alice")]);
        assert_eq!(encode("(uid=alice)"), Ok(expected));
    }

    #[test]
    fn presence_encoded() {
        assert_eq!(
            encode("(objectClass=*)"),
            Ok(ber::element(PRESENT, b"objectClass"))
        );
    }

    #[test]
    fn and_or_not_encoded() {
        let uid = ber::constructed(EQUALITY, &[octets(b"uid"), octets(b"a")]);
        let cn = ber::constructed(EQUALITY, &[octets(b"cn"), octets(b"b")]);
        let or = ber::constructed(OR, &[uid.clone(), ber::element(NOT, &cn)]);
        let expected = ber::constructed(AND, &[or]);
        assert_eq!(encode("(&(|(uid=a)(!(cn=b))))"), Ok(expected));
    }

    #[test]
    fn substrings_encoded() {
        let expected = ber::constructed(
            SUBSTRINGS,
            &[
                octets(b"cn"),
                ber::constructed(
                    ber::SEQUENCE,
                    &[
                        ber::octet_string(SUBSTRING_INITIAL, b"a"),
                        ber::octet_string(SUBSTRING_ANY, b"b"),
                        ber::octet_string(SUBSTRING_FINAL, b"c"),
                    ],
                ),
            ],
        );
        assert_eq!(encode("(cn=a*b*c)"), Ok(expected));
    }

    #[test]
    fn ordering_and_approximate_encoded() {
        let expected = ber::constructed(GREATER_OR_EQUAL, &[octets(b"uidNumber"), octets(b"10")]);
        assert_eq!(encode("(uidNumber>=10)"), Ok(expected));
        let expected = ber::constructed(APPROXIMATE, &[octets(b"cn"), octets(b"bob")]);
        assert_eq!(encode("(cn~=bob)"), Ok(expected));
    }

    #[test]
    fn escapes_decoded() {
        let expected = ber::constructed(EQUALITY, &[octets(b"cn"), octets(b"a*(b)\\")]);
        assert_eq!(encode("(cn=a\\2a\\28b\\29\\5c)"), Ok(expected));
    }

    #[test]
    fn escaped_injection_stays_one_value() {
        let filter = format!("(uid={})", escape_filter_value("*)(uid=*"));
        let expected = ber::constructed(EQUALITY, &[octets(b"uid"), octets(b"*)(uid=*")]);
        assert_eq!(encode(&filter), Ok(expected));
    }

    #[test]
    fn unescaped_injection_rejected() {
        assert!(encode("(uid=*)(uid=*)").is_err());
    }

    #[test]
    fn invalid_filters_rejected() {
        for filter in [
            "",
            "uid=a",
            "(uid=a",
            "(=a)",
            "(uid)",
            "(&)",
            "(uid=a\\2)",
            "(uid=a\\zz)",
            "(uid>=a*)",
            "(uid:dn:=a)",
            "(uid=a))",
            "(uid=(a)",
        ] {
            assert!(encode(filter).is_err(), "filter {filter:?}");
        }
    }

    #[test]
    fn deep_nesting_rejected() {
        let filter = format!("{}(a=b){}", "(!".repeat(40), ")".repeat(40));
        let error = encode(&filter).expect_err("too deep");
        assert!(error.reason.contains("deeper"), "{error}");
    }
}
