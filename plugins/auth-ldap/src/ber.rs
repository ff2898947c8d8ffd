//! The subset of BER (ITU-T X.690) that LDAPv3 messages use, as RFC 4511 section 5.1 restricts
//! it: single-byte tags, definite lengths only, and no length longer than four bytes.
//!
//! Everything here is pure, so it runs in host unit tests.

use std::fmt;

/// Universal tag of a BOOLEAN.
pub const BOOLEAN: u8 = 0x01;
/// Universal tag of an INTEGER.
pub const INTEGER: u8 = 0x02;
/// Universal tag of an OCTET STRING.
pub const OCTET_STRING: u8 = 0x04;
/// Universal tag of an ENUMERATED.
pub const ENUMERATED: u8 = 0x0a;
/// Universal tag of a SEQUENCE (constructed).
pub const SEQUENCE: u8 = 0x30;
/// Universal tag of a SET (constructed).
pub const SET: u8 = 0x31;

/// The largest element the decoder accepts, so a hostile length cannot make the plugin buffer
/// gigabytes: LDAP responses to a bind or to a search for one user are a few kilobytes.
pub const MAX_ELEMENT_LENGTH: usize = 4 * 1024 * 1024;

/// A malformed or unsupported BER encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BerError(pub String);

impl fmt::Display for BerError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

fn error(message: impl Into<String>) -> BerError {
    BerError(message.into())
}

/// Encodes a length in the definite short or long form.
fn encode_length(length: usize, out: &mut Vec<u8>) {
    if length < 0x80 {
        out.push(length as u8);
        return;
    }

    let bytes = (length as u64).to_be_bytes();
    let first = bytes.iter().position(|&byte| byte != 0).unwrap_or(7);
    out.push(0x80 | (8 - first) as u8);
    out.extend_from_slice(&bytes[first..]);
}

/// Encodes one element: `tag`, length, then `content`.
pub fn element(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(tag);
    encode_length(content.len(), &mut out);
    out.extend_from_slice(content);
    out
}

/// Encodes a constructed element whose content is the concatenation of `parts`.
pub fn constructed(tag: u8, parts: &[Vec<u8>]) -> Vec<u8> {
    element(tag, &parts.concat())
}

/// Encodes an OCTET STRING, or another primitive string type when `tag` says so.
pub fn octet_string(tag: u8, value: &[u8]) -> Vec<u8> {
    element(tag, value)
}

/// Encodes an INTEGER or ENUMERATED in the minimal two's complement form.
pub fn integer(tag: u8, value: i64) -> Vec<u8> {
    let bytes = value.to_be_bytes();
    let mut start = 0;
    // Drop leading bytes that only repeat the sign of the next byte.
    while start < 7 {
        let redundant_zero = bytes[start] == 0x00 && bytes[start + 1] & 0x80 == 0;
        let redundant_ones = bytes[start] == 0xff && bytes[start + 1] & 0x80 != 0;
        if !(redundant_zero || redundant_ones) {
            break;
        }
        start += 1;
    }
    element(tag, &bytes[start..])
}

/// Encodes a BOOLEAN as DER does: `0xff` for true.
pub fn boolean(value: bool) -> Vec<u8> {
    element(BOOLEAN, &[if value { 0xff } else { 0x00 }])
}

/// Returns the total size of the element at the start of `data` (tag, length and content) once
/// its header is complete, `Ok(None)` while more bytes are needed.
///
/// # Errors
///
/// A [`BerError`] for a multi-byte tag, an indefinite length, a length field longer than four
/// bytes, or an element larger than [`MAX_ELEMENT_LENGTH`].
pub fn element_size(data: &[u8]) -> Result<Option<usize>, BerError> {
    let Some(&tag) = data.first() else {
        return Ok(None);
    };
    check_tag(tag)?;

    let Some((length, header)) = decode_length(&data[1..])? else {
        return Ok(None);
    };
    Ok(Some(1 + header + length))
}

fn check_tag(tag: u8) -> Result<(), BerError> {
    if tag & 0x1f == 0x1f {
        return Err(error(format!(
            "multi-byte tag 0x{tag:02x}, which LDAP never uses"
        )));
    }
    Ok(())
}

/// Decodes a length field: `(length, size of the field)`, or `None` when `data` ends inside it.
fn decode_length(data: &[u8]) -> Result<Option<(usize, usize)>, BerError> {
    let Some(&first) = data.first() else {
        return Ok(None);
    };
    if first < 0x80 {
        return Ok(Some((first as usize, 1)));
    }

    let count = (first & 0x7f) as usize;
    if count == 0 {
        return Err(error("indefinite length, which RFC 4511 forbids"));
    }
    if count > 4 {
        return Err(error(format!("length field of {count} bytes (maximum 4)")));
    }
    let Some(bytes) = data.get(1..=count) else {
        return Ok(None);
    };

    let length = bytes
        .iter()
        .fold(0usize, |length, &byte| (length << 8) | byte as usize);
    if length > MAX_ELEMENT_LENGTH {
        return Err(error(format!(
            "element of {length} bytes (maximum {MAX_ELEMENT_LENGTH})"
        )));
    }
    Ok(Some((length, 1 + count)))
}

/// A cursor over consecutive BER elements, each checked against the bytes that remain.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    /// Creates a reader over `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Self { data }
    }

    /// Returns whether every element was read.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Returns the tag of the next element without reading it.
    pub fn peek_tag(&self) -> Option<u8> {
        self.data.first().copied()
    }

    /// Reads the next element: `(tag, content)`.
    ///
    /// # Errors
    ///
    /// A [`BerError`] when no element remains, the header is invalid, or the length runs past
    /// the data.
    pub fn read_any(&mut self) -> Result<(u8, &'a [u8]), BerError> {
        let Some(&tag) = self.data.first() else {
            return Err(error("missing element: the data ended"));
        };
        check_tag(tag)?;

        let Some((length, header)) = decode_length(&self.data[1..])? else {
            return Err(error(format!("element 0x{tag:02x} ends inside its length")));
        };
        let start = 1 + header;
        let Some(content) = self.data.get(start..start + length) else {
            return Err(error(format!(
                "element 0x{tag:02x} claims {length} bytes but {} remain",
                self.data.len() - start
            )));
        };

        self.data = &self.data[start + length..];
        Ok((tag, content))
    }

    /// Reads the next element, which must have tag `tag`, and returns its content.
    ///
    /// # Errors
    ///
    /// A [`BerError`] for any other tag or an invalid element.
    pub fn read(&mut self, tag: u8) -> Result<&'a [u8], BerError> {
        let (found, content) = self.read_any()?;
        if found != tag {
            return Err(error(format!(
                "expected tag 0x{tag:02x}, found 0x{found:02x}"
            )));
        }
        Ok(content)
    }

    /// Reads the next element if it has tag `tag`.
    ///
    /// # Errors
    ///
    /// A [`BerError`] for an invalid element.
    pub fn read_optional(&mut self, tag: u8) -> Result<Option<&'a [u8]>, BerError> {
        if self.peek_tag() != Some(tag) {
            return Ok(None);
        }
        self.read(tag).map(Some)
    }

    /// Reads an INTEGER or ENUMERATED with tag `tag` that fits in an `i32`, as every LDAP integer
    /// does (RFC 4511 bounds them by `maxInt`, 2^31 - 1).
    ///
    /// # Errors
    ///
    /// A [`BerError`] for another tag, an empty content or more than four bytes.
    pub fn read_integer(&mut self, tag: u8) -> Result<i32, BerError> {
        let content = self.read(tag)?;
        decode_integer(content)
    }

    /// Reads an OCTET STRING (or another string with tag `tag`) that must be UTF-8.
    ///
    /// # Errors
    ///
    /// A [`BerError`] for another tag or invalid UTF-8.
    pub fn read_string(&mut self, tag: u8) -> Result<&'a str, BerError> {
        let content = self.read(tag)?;
        std::str::from_utf8(content).map_err(|_| error("string element is not valid UTF-8"))
    }

    /// Checks that every element was read.
    ///
    /// # Errors
    ///
    /// A [`BerError`] naming how many bytes are left.
    pub fn finish(&self) -> Result<(), BerError> {
        if !self.data.is_empty() {
            return Err(error(format!(
                "{} unexpected bytes after the last element",
                self.data.len()
            )));
        }
        Ok(())
    }
}

/// Decodes the content of an INTEGER that fits in an `i32`.
fn decode_integer(content: &[u8]) -> Result<i32, BerError> {
    if content.is_empty() {
        return Err(error("empty integer"));
    }
    if content.len() > 4 {
        return Err(error(format!(
            "integer of {} bytes (maximum 4)",
            content.len()
        )));
    }

    let negative = content[0] & 0x80 != 0;
    let start: i64 = if negative { -1 } else { 0 };
    let value = content
        .iter()
        .fold(start, |value, &byte| (value << 8) | byte as i64);
    Ok(value as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_length_encoded() {
        assert_eq!(
            element(OCTET_STRING, b"abc"),
            [0x04, 0x03, b'a', b'b', b'c']
        );
    }

    #[test]
    fn long_length_encoded() {
        let encoded = element(OCTET_STRING, &[0u8; 300]);
        assert_eq!(&encoded[..4], &[0x04, 0x82, 0x01, 0x2c]);
        assert_eq!(encoded.len(), 304);
    }

    #[test]
    fn integers_minimal() {
        assert_eq!(integer(INTEGER, 0), [0x02, 0x01, 0x00]);
        assert_eq!(integer(INTEGER, 127), [0x02, 0x01, 0x7f]);
        assert_eq!(integer(INTEGER, 128), [0x02, 0x02, 0x00, 0x80]);
        assert_eq!(integer(INTEGER, 256), [0x02, 0x02, 0x01, 0x00]);
        assert_eq!(integer(INTEGER, -1), [0x02, 0x01, 0xff]);
        assert_eq!(integer(INTEGER, -129), [0x02, 0x02, 0xff, 0x7f]);
    }

    #[test]
    fn integers_round_trip() {
        for value in [
            0,
            1,
            127,
            128,
            255,
            256,
            65535,
            i32::MAX,
            -1,
            -128,
            -129,
            i32::MIN,
        ] {
            let encoded = integer(ENUMERATED, value as i64);
            let mut reader = Reader::new(&encoded);
            assert_eq!(reader.read_integer(ENUMERATED), Ok(value), "value {value}");
            assert!(reader.is_empty());
        }
    }

    #[test]
    fn integer_too_long_rejected() {
        let mut reader = Reader::new(&[0x02, 0x05, 1, 2, 3, 4, 5]);
        assert!(reader.read_integer(INTEGER).is_err());
    }

    #[test]
    fn empty_integer_rejected() {
        let mut reader = Reader::new(&[0x02, 0x00]);
        assert!(reader.read_integer(INTEGER).is_err());
    }

    #[test]
    fn length_past_data_rejected() {
        let mut reader = Reader::new(&[0x04, 0x05, b'a', b'b']);
        let error = reader.read(OCTET_STRING).expect_err("truncated");
        assert!(error.0.contains("claims 5 bytes"), "{error}");
    }

    #[test]
    fn indefinite_length_rejected() {
        let mut reader = Reader::new(&[0x30, 0x80, 0x00, 0x00]);
        assert!(reader.read_any().is_err());
        assert!(element_size(&[0x30, 0x80]).is_err());
    }

    #[test]
    fn oversized_length_rejected() {
        assert!(element_size(&[0x30, 0x85, 1, 0, 0, 0, 0]).is_err());
        assert!(element_size(&[0x30, 0x84, 0x7f, 0xff, 0xff, 0xff]).is_err());
    }

    #[test]
    fn multi_byte_tag_rejected() {
        assert!(element_size(&[0x1f, 0x01, 0x00]).is_err());
    }

    #[test]
    fn element_size_waits_for_header() {
        assert_eq!(element_size(&[]), Ok(None));
        assert_eq!(element_size(&[0x30]), Ok(None));
        assert_eq!(element_size(&[0x30, 0x82, 0x01]), Ok(None));
        assert_eq!(element_size(&[0x30, 0x82, 0x01, 0x00]), Ok(Some(260)));
        assert_eq!(element_size(&[0x30, 0x03]), Ok(Some(5)));
    }

    #[test]
    fn wrong_tag_rejected() {
        let mut reader = Reader::new(&[0x04, 0x00]);
        assert!(reader.read(INTEGER).is_err());
    }

    #[test]
    fn trailing_bytes_detected() {
        let mut reader = Reader::new(&[0x04, 0x00, 0x00]);
        reader.read(OCTET_STRING).expect("first element");
        assert!(reader.finish().is_err());
    }

    #[test]
    fn invalid_utf8_rejected() {
        let mut reader = Reader::new(&[0x04, 0x01, 0xff]);
        assert!(reader.read_string(OCTET_STRING).is_err());
    }
}
