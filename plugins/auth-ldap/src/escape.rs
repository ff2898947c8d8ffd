//! Escaping of user input placed in distinguished names (RFC 4514) and search filters
//! (RFC 4515), and the normalization that compares DNs from the directory with configured ones.

/// Escapes `value` for use as an attribute value in a DN string (RFC 4514 section 2.4).
///
/// The characters that the RFC requires to be escaped get a backslash, as do `=` (allowed as an
/// escape there) and a leading space or `#`, and a trailing space. NUL becomes `\00`.
pub fn escape_dn_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 8);
    let last = value.chars().count().saturating_sub(1);

    for (index, character) in value.chars().enumerate() {
        match character {
            '\0' => out.push_str("\\00"),
            '"' | '+' | ',' | ';' | '<' | '>' | '\\' | '=' => {
                out.push('\\');
                out.push(character);
            }
            '#' if index == 0 => out.push_str("\\#"),
            ' ' if index == 0 || index == last => out.push_str("\\ "),
            _ => out.push(character),
        }
    }
    out
}

/// Escapes `value` for use as an assertion value in a search filter string (RFC 4515
/// section 3). `*`, `(`, `)`, `\` and NUL become `\2a`, `\28`, `\29`, `\5c` and `\00`, so the
/// value cannot add a wildcard or another filter component.
pub fn escape_filter_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 8);
    for character in value.chars() {
        match character {
            '*' => out.push_str("\\2a"),
            '(' => out.push_str("\\28"),
            ')' => out.push_str("\\29"),
            '\\' => out.push_str("\\5c"),
            '\0' => out.push_str("\\00"),
            _ => out.push(character),
        }
    }
    out
}

/// Normalizes a DN for comparison: spaces around `,`, `+` and `=` removed, ASCII letters
/// lowercased, as the attribute types of group DNs (`cn`, `ou`, `dc`) match case-insensitively,
/// and each escape written one way. Servers may return `\2C` where the configuration has `\,`:
/// both become `\,`, and an escaped character that needs no escape loses its backslash.
///
/// NOTE: values are compared case-insensitively too, which matches the usual naming attributes
/// but not a case-sensitive one.
pub fn normalize_dn(dn: &str) -> String {
    let input = dn.trim().as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(input.len());
    let mut index = 0;

    while index < input.len() {
        let byte = input[index];
        match byte {
            b'\\' => {
                let (escaped, length) = unescape(&input[index + 1..]);
                if let Some(escaped) = escaped {
                    push_escaped(&mut out, escaped);
                }
                index += 1 + length;
            }
            b',' | b'+' | b'=' => {
                while out.ends_with(b" ") && !out.ends_with(b"\\ ") {
                    out.pop();
                }
                out.push(byte);
                index += 1;
                while input.get(index) == Some(&b' ') {
                    index += 1;
                }
            }
            _ => {
                out.push(byte.to_ascii_lowercase());
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Decodes the escape after a backslash: two hexadecimal digits or one character. Returns the
/// byte, if any, and the number of bytes read.
fn unescape(rest: &[u8]) -> (Option<u8>, usize) {
    let hex = rest
        .get(..2)
        .filter(|pair| pair.iter().all(u8::is_ascii_hexdigit))
        .and_then(|pair| std::str::from_utf8(pair).ok())
        .and_then(|pair| u8::from_str_radix(pair, 16).ok());
    match (hex, rest.first()) {
        (Some(byte), _) => (Some(byte), 2),
        (None, Some(&byte)) => (Some(byte), 1),
        (None, None) => (None, 0),
    }
}

/// Writes an escaped byte: with a backslash when it is special in a DN value (RFC 4514), lowercased
/// and bare otherwise.
fn push_escaped(out: &mut Vec<u8>, byte: u8) {
    if matches!(
        byte,
        b'"' | b'+' | b',' | b';' | b'<' | b'>' | b'\\' | b'=' | b' ' | b'#'
    ) {
        out.push(b'\\');
        out.push(byte);
    } else {
        out.push(byte.to_ascii_lowercase());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dn_special_characters_escaped() {
        assert_eq!(escape_dn_value("a,b"), "a\\,b");
        assert_eq!(escape_dn_value("a+b=c"), "a\\+b\\=c");
        assert_eq!(escape_dn_value("\"x\";<y>\\"), "\\\"x\\\"\\;\\<y\\>\\\\");
        assert_eq!(escape_dn_value("a\0b"), "a\\00b");
    }

    #[test]
    fn dn_leading_and_trailing_escaped() {
        assert_eq!(escape_dn_value("#admin"), "\\#admin");
        assert_eq!(escape_dn_value("a#b"), "a#b");
        assert_eq!(escape_dn_value(" admin "), "\\ admin\\ ");
        assert_eq!(escape_dn_value("a b"), "a b");
        assert_eq!(escape_dn_value(" "), "\\ ");
    }

    #[test]
    fn dn_injection_neutralized() {
        let escaped = escape_dn_value("alice,ou=admins");
        assert_eq!(escaped, "alice\\,ou\\=admins");
    }

    #[test]
    fn dn_plain_value_unchanged() {
        assert_eq!(escape_dn_value("jean-éric.o_k"), "jean-éric.o_k");
    }

    #[test]
    fn filter_special_characters_escaped() {
        assert_eq!(escape_filter_value("*)(uid=*"), "\\2a\\29\\28uid=\\2a");
        assert_eq!(escape_filter_value("a\\b\0"), "a\\5cb\\00");
        assert_eq!(escape_filter_value("alice"), "alice");
    }

    #[test]
    fn dn_normalization_ignores_spacing_and_case() {
        assert_eq!(
            normalize_dn(" CN=Admins , OU=Groups,dc=Example, dc=org "),
            "cn=admins,ou=groups,dc=example,dc=org"
        );
    }

    #[test]
    fn dn_normalization_keeps_escapes() {
        assert_eq!(normalize_dn("cn=a\\,b,dc=org"), "cn=a\\,b,dc=org");
        assert_eq!(normalize_dn("cn=a\\ ,dc=org"), "cn=a\\ ,dc=org");
    }

    #[test]
    fn dn_normalization_unifies_hex_escapes() {
        assert_eq!(
            normalize_dn("uid=dan\\2C jr,dc=org"),
            "uid=dan\\, jr,dc=org"
        );
        assert_eq!(normalize_dn("uid=dan\\, jr,dc=org"), "uid=dan\\, jr,dc=org");
        assert_eq!(normalize_dn("cn=\\41b,dc=org"), "cn=ab,dc=org");
        assert_eq!(normalize_dn("cn=caf\\C3\\A9,dc=org"), "cn=café,dc=org");
    }
}
