//! JSON Web Key Sets (RFC 7517): choosing the key that signed a token.

use serde::{Deserialize, Serialize};

use crate::jwt::Header;

/// A provider's key set, as its `jwks_uri` returns it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct JwkSet {
    /// The keys; entries this plugin cannot read are skipped.
    #[serde(deserialize_with = "readable_keys")]
    pub keys: Vec<Jwk>,
}

/// The fields of a public key that signature checks read.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Jwk {
    /// Key type, such as `RSA` or `EC`.
    pub kty: String,
    /// Key id, which token headers name.
    pub kid: Option<String>,
    /// The only algorithm the key may be used with, when the provider names one.
    pub alg: Option<String>,
    /// `sig` for signature keys, `enc` for encryption keys.
    #[serde(rename = "use")]
    pub key_use: Option<String>,
    /// RSA modulus, base64url.
    pub n: Option<String>,
    /// RSA public exponent, base64url.
    pub e: Option<String>,
}

/// The outcome of looking a token's key up in a key set.
#[derive(Debug, PartialEq, Eq)]
pub enum KeyLookup<'a> {
    /// The key that signed the token.
    Found(&'a Jwk),
    /// No key fits: the set may be stale, after a key rotation.
    NotFound,
    /// The header names no `kid` and several keys fit.
    Ambiguous,
}

impl JwkSet {
    /// Finds the signature key that `header` points to: same `kid`, and an `alg` and `use`
    /// that allow the header's algorithm.
    pub fn find(&self, header: &Header) -> KeyLookup<'_> {
        let mut candidates = self.keys.iter().filter(|key| {
            key.key_use
                .as_deref()
                .is_none_or(|key_use| key_use == "sig")
                && key.alg.as_deref().is_none_or(|alg| alg == header.alg)
                && header
                    .kid
                    .as_deref()
                    .is_none_or(|kid| key.kid.as_deref() == Some(kid))
        });

        match (candidates.next(), candidates.next()) {
            (None, _) => KeyLookup::NotFound,
            (Some(key), None) => KeyLookup::Found(key),
            (Some(_), Some(_)) if header.kid.is_none() => KeyLookup::Ambiguous,
            // Two keys with one kid: the first wins, as a provider's set should not have this.
            (Some(key), Some(_)) => KeyLookup::Found(key),
        }
    }
}

fn readable_keys<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<Jwk>, D::Error> {
    let values: Vec<serde_json::Value> = Deserialize::deserialize(deserializer)?;
    Ok(values
        .into_iter()
        .filter_map(|value| serde_json::from_value(value).ok())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(kid: &str, alg: Option<&str>, key_use: Option<&str>) -> Jwk {
        Jwk {
            kty: "RSA".to_owned(),
            kid: Some(kid.to_owned()),
            alg: alg.map(str::to_owned),
            key_use: key_use.map(str::to_owned),
            n: Some("AQAB".to_owned()),
            e: Some("AQAB".to_owned()),
        }
    }

    fn header(kid: Option<&str>) -> Header {
        Header {
            alg: "RS256".to_owned(),
            kid: kid.map(str::to_owned),
        }
    }

    #[test]
    fn key_found_by_kid() {
        let set = JwkSet {
            keys: vec![key("a", None, None), key("b", Some("RS256"), Some("sig"))],
        };

        assert_eq!(set.find(&header(Some("b"))), KeyLookup::Found(&set.keys[1]));
    }

    #[test]
    fn unknown_kid_not_found() {
        let set = JwkSet {
            keys: vec![key("a", None, None)],
        };

        assert_eq!(set.find(&header(Some("rotated"))), KeyLookup::NotFound);
    }

    #[test]
    fn encryption_and_other_alg_keys_skipped() {
        let set = JwkSet {
            keys: vec![key("a", None, Some("enc")), key("a", Some("PS256"), None)],
        };

        assert_eq!(set.find(&header(Some("a"))), KeyLookup::NotFound);
    }

    #[test]
    fn missing_kid_needs_single_key() {
        let one = JwkSet {
            keys: vec![key("a", None, None)],
        };
        let two = JwkSet {
            keys: vec![key("a", None, None), key("b", None, None)],
        };

        assert_eq!(one.find(&header(None)), KeyLookup::Found(&one.keys[0]));
        assert_eq!(two.find(&header(None)), KeyLookup::Ambiguous);
    }

    #[test]
    fn unreadable_keys_skipped() {
        let set: JwkSet = serde_json::from_str(
            r#"{"keys": [{"kty": "RSA", "kid": "a", "n": "AQAB", "e": "AQAB"}, {"kid": 5}]}"#,
        )
        .expect("key set");

        assert_eq!(set.keys.len(), 1);
    }
}
