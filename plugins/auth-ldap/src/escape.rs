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
/// section 3): `*`, `(`, `)`, `\` and NUL become `\2a`, `\28`, `\29`, `\5c` and `\00`, so the
/// value can never add a wildcard or another filter component.
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

/// Normalizes a DN for comparison: spaces around `,`, `+` and `=` removed and ASCII letters
/// lowercased, as the attribute types of group DNs (`cn`, `ou`, `dc`) match case-insensitively.
///
/// NOTE: values are compared case-insensitively too, which matches the usual naming attributes
/// but not a case-sensitive one. Hex-escaped and backslash-escaped forms of the same character
/// still compare as different.
pub fn normalize_dn(dn: &str) -> String {
    let mut out = String::with_capacity(dn.len());
    let mut characters = dn.trim().chars().peekable();

    while let Some(character) = characters.next() {
        match character {
            '\\' => {
                out.push('\\');
                if let Some(escaped) = characters.next() {
                    out.push(escaped.to_ascii_lowercase());
                }
            }
            ',' | '+' | '=' => {
                while out.ends_with(' ') && !out.ends_with("\\ ") {
                    out.pop();
                }
                out.push(character);
                while characters.peek() == Some(&' ') {
                    characters.next();
                }
            }
            _ => out.push(character.to_ascii_lowercase()),
        }
    }
    out
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
}
