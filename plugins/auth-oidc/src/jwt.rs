//! Compact JSON Web Tokens (RFC 7519): parsing and signature checks against a JSON Web Key.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rsa::{BoxedUint, Pkcs1v15Sign, PublicKey, pss::Pss};
use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256, Sha384, Sha512};

use crate::jwks::Jwk;

/// The JOSE header fields this plugin reads.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Header {
    /// Signature algorithm, such as `RS256`.
    pub alg: String,
    /// Id of the signing key in the provider's key set.
    pub kid: Option<String>,
}

/// A parsed token whose signature is not checked yet.
#[derive(Debug, Clone, PartialEq)]
pub struct Jwt {
    /// The JOSE header.
    pub header: Header,
    /// The claims set.
    pub claims: Map<String, Value>,
    signing_input: String,
    signature: Vec<u8>,
}

impl Jwt {
    /// Parses a token in the JWS compact serialization: three base64url parts joined by dots.
    ///
    /// # Errors
    ///
    /// A message naming the part that is malformed.
    pub fn parse(token: &str) -> Result<Self, String> {
        let parts: Vec<&str> = token.split('.').collect();
        let [header, claims, signature] = parts[..] else {
            return Err(format!(
                "the ID token has {} dot-separated parts instead of 3",
                parts.len()
            ));
        };

        let header: Header = decode_json(header, "header")?;
        let claims: Map<String, Value> = decode_json(claims, "claims")?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|error| format!("the ID token signature is not base64url: {error}"))?;

        Ok(Self {
            signing_input: token[..token.len() - parts[2].len() - 1].to_owned(),
            header,
            claims,
            signature,
        })
    }

    /// Checks the signature with `key`, for the algorithm the header names.
    ///
    /// # Errors
    ///
    /// A message when the algorithm is not supported, the key does not fit it or the signature
    /// does not match.
    pub fn verify_signature(&self, key: &Jwk) -> Result<(), String> {
        let algorithm = Algorithm::from_name(&self.header.alg)?;
        let public_key = rsa_public_key(key)?;
        let input = self.signing_input.as_bytes();
        let signature = &self.signature;

        let result = match algorithm {
            Algorithm::Rs256 => public_key.verify(
                Pkcs1v15Sign::new::<Sha256>(),
                &Sha256::digest(input),
                signature,
            ),
            Algorithm::Rs384 => public_key.verify(
                Pkcs1v15Sign::new::<Sha384>(),
                &Sha384::digest(input),
                signature,
            ),
            Algorithm::Rs512 => public_key.verify(
                Pkcs1v15Sign::new::<Sha512>(),
                &Sha512::digest(input),
                signature,
            ),
            Algorithm::Ps256 => {
                public_key.verify(Pss::<Sha256>::new(), &Sha256::digest(input), signature)
            }
            Algorithm::Ps384 => {
                public_key.verify(Pss::<Sha384>::new(), &Sha384::digest(input), signature)
            }
            Algorithm::Ps512 => {
                public_key.verify(Pss::<Sha512>::new(), &Sha512::digest(input), signature)
            }
        };
        result.map_err(|_| "the ID token signature does not match the provider's key".to_owned())
    }
}

/// The signature algorithms this plugin checks: RSA only, because `none` and the HMAC
/// algorithms would let no one, or anyone who has the client secret, sign tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Algorithm {
    Rs256,
    Rs384,
    Rs512,
    Ps256,
    Ps384,
    Ps512,
}

impl Algorithm {
    fn from_name(name: &str) -> Result<Self, String> {
        match name {
            "RS256" => Ok(Self::Rs256),
            "RS384" => Ok(Self::Rs384),
            "RS512" => Ok(Self::Rs512),
            "PS256" => Ok(Self::Ps256),
            "PS384" => Ok(Self::Ps384),
            "PS512" => Ok(Self::Ps512),
            // TODO(oidc-ec): ES256 (P-256) ID tokens are rejected, so providers that sign only
            // with EC keys cannot be used yet.
            other => Err(format!(
                "the ID token algorithm \"{other}\" is not supported (expected RS256, RS384, RS512, PS256, PS384 or PS512)"
            )),
        }
    }
}

fn decode_json<T: serde::de::DeserializeOwned>(part: &str, name: &str) -> Result<T, String> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|error| format!("the ID token {name} is not base64url: {error}"))?;
    serde_json::from_slice(&bytes)
        .map_err(|error| format!("the ID token {name} is not a JSON object: {error}"))
}

fn rsa_public_key(key: &Jwk) -> Result<PublicKey, String> {
    if key.kty != "RSA" {
        return Err(format!(
            "the signing key has type \"{}\" instead of RSA",
            key.kty
        ));
    }
    let (Some(n), Some(e)) = (&key.n, &key.e) else {
        return Err("the RSA signing key has no \"n\" or \"e\"".to_owned());
    };

    let modulus = decode_integer(n, "n")?;
    let exponent = decode_integer(e, "e")?;
    PublicKey::new(modulus, exponent)
        .map_err(|error| format!("the RSA signing key is invalid: {error}"))
}

fn decode_integer(text: &str, name: &str) -> Result<BoxedUint, String> {
    let bytes = URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|error| format!("the RSA key's \"{name}\" is not base64url: {error}"))?;
    Ok(BoxedUint::from_be_slice_vartime(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(value: &Value) -> String {
        URL_SAFE_NO_PAD.encode(value.to_string())
    }

    #[test]
    fn parse_reads_header_and_claims() {
        let token = format!(
            "{}.{}.{}",
            encode(&serde_json::json!({"alg": "RS256", "kid": "k1"})),
            encode(&serde_json::json!({"sub": "ada"})),
            URL_SAFE_NO_PAD.encode([1, 2, 3])
        );

        let jwt = Jwt::parse(&token).expect("well-formed token");

        assert_eq!(jwt.header.alg, "RS256");
        assert_eq!(jwt.header.kid.as_deref(), Some("k1"));
        assert_eq!(jwt.claims["sub"], "ada");
        assert_eq!(jwt.signature, [1, 2, 3]);
        assert_eq!(jwt.signing_input, token.rsplit_once('.').unwrap().0);
    }

    #[test]
    fn parse_rejects_malformed_tokens() {
        let header = encode(&serde_json::json!({"alg": "RS256"}));
        let claims = encode(&serde_json::json!({"sub": "ada"}));
        let cases = [
            "".to_owned(),
            format!("{header}.{claims}"),
            format!("{header}.{claims}.sig.extra"),
            format!("{header}.not*base64.sig"),
            format!("{header}.{}.sig", URL_SAFE_NO_PAD.encode("[1]")),
        ];
        for token in cases {
            assert!(Jwt::parse(&token).is_err(), "{token}");
        }
    }

    #[test]
    fn unsupported_algorithm_rejected() {
        let token = format!(
            "{}.{}.",
            encode(&serde_json::json!({"alg": "none"})),
            encode(&serde_json::json!({"sub": "ada"}))
        );
        let jwt = Jwt::parse(&token).expect("well-formed token");
        let key = Jwk {
            kty: "RSA".to_owned(),
            kid: None,
            alg: None,
            key_use: None,
            // A 64-bit modulus, far below the minimum: the algorithm check must fail first.
            n: Some(URL_SAFE_NO_PAD.encode([0xc5; 8])),
            e: Some(URL_SAFE_NO_PAD.encode([1, 0, 1])),
        };

        let error = jwt.verify_signature(&key).expect_err("alg none");

        assert!(error.contains("\"none\""), "{error}");
    }

    // A 2048-bit RSA key and tokens that Node.js's `crypto.sign` signed with it: RS256
    // (PKCS #1 v1.5) and PS256 (PSS, 32-byte salt), both with the claims {"sub": "ada"}.
    const TEST_KEY_N: &str = concat!(
        "yTMk6f4EbbT9pY6IZ0uTNdEdPzO3zm6v-N74gzHZKPS5Ylor6_epsTO7LvTwaglJKPZndsy2Whjcc_lm",
        "qCz_dqoeOdUD_R18KNHsuAm8CRPbdTJPV4FUOM6sUhQHG3P8OmlosnCmbnt2uznkdbbdtcK8PjhqnJ77",
        "ODEs0OTGHkD5A9L8MGryW28rqvlnml8eDxLH_y_plRXHOFQsVsPgEfsu6ECf2GS68UusgtuLYM4cahXJ",
        "Cwe6oq6ftp23j6h7sSHZw9UA5LdEmwlnUia0uQW0S7Jb_PzE6pkjLq8uT2CU7lT75I2oLUpkvccGVaGD",
        "SI3vkO_x8d1Ulvg6ICAH5Q",
    );
    const RS256_TOKEN: &str = concat!(
        "eyJhbGciOiJSUzI1NiIsImtpZCI6InRlc3Qta2V5In0.eyJzdWIiOiJhZGEifQ.E9Ga5Q7PoCLXKyAh8",
        "ujrWkuRlC6-fJmHATmQCBJuhEa7Mxs3ausmKXEENnMA5OYGsXwZMJz8IHragu687aAW6nUIajzd2B5qJ",
        "LzleJOnQVfbpYMCR8taNRE0NYtJgmUVkvkE-7GhyT0daWrDjp_74AveXbrgUCjmsxUfhOlI_ju5_bq7o",
        "73oaDY4teRTxgi6PdyEgj3ZKEIE0HPiyXFcu7UoFhWWzMFR2z6Hi3fHr1hWDLoE8uqwLytXLkJNBIclW",
        "cdHaEWHDHk2NPXgQH98m27oBpmDJlqQkU78azzoaAxjUjf3WYtyC_rxd8hNIs0NcGj8rE3U36UL9HOmF",
        "BNYiQ",
    );
    const PS256_TOKEN: &str = concat!(
        "eyJhbGciOiJQUzI1NiIsImtpZCI6InRlc3Qta2V5In0.eyJzdWIiOiJhZGEifQ.wBfwJLSy4ZGSfa1TB",
        "ar64KBXW3Asfg4vAoIKfn_RUXjclVM0fgQx0G0xyFivkc9a-9agFjj7g1ZwaPYGS8AmZBadzT3o0Lesu",
        "rGYSFprFsD-i9NSy6fSMiWulV1tqD2zakA39W0PjsKyKGdxc9u3t05H60C8oMAOij-S6BGItZGqGX6dN",
        "lrfYNPHJhYz96h4EH32qOZKw1uGK9U4vXBwR_oj5evKz0CqesrO841TfROCoZkC_ovtkQAY5q2KXaxWD",
        "Hr0zhGAw_QZNiHbR46f3bAiRhdjqlGCKhgwCBZyAJgYQ0gCoK6FwEktW5mHbgjgz9fnkWxQtmOUOo3Pi",
        "K1QIA",
    );

    fn test_key() -> Jwk {
        Jwk {
            kty: "RSA".to_owned(),
            kid: Some("test-key".to_owned()),
            alg: None,
            key_use: Some("sig".to_owned()),
            n: Some(TEST_KEY_N.to_owned()),
            e: Some("AQAB".to_owned()),
        }
    }

    #[test]
    fn rs256_and_ps256_signatures_verified() {
        for token in [RS256_TOKEN, PS256_TOKEN] {
            let jwt = Jwt::parse(token).expect("well-formed token");

            assert_eq!(
                jwt.verify_signature(&test_key()),
                Ok(()),
                "{}",
                jwt.header.alg
            );
        }
    }

    #[test]
    fn changed_claims_fail_signature() {
        let (header, rest) = RS256_TOKEN.split_once('.').unwrap();
        let (_, signature) = rest.split_once('.').unwrap();
        let claims = encode(&serde_json::json!({"sub": "eve"}));
        let jwt = Jwt::parse(&format!("{header}.{claims}.{signature}")).expect("well-formed");

        assert!(jwt.verify_signature(&test_key()).is_err());
    }

    #[test]
    fn other_key_fails_signature() {
        let mut other = test_key();
        // Another odd modulus of the same size.
        let mut modulus = URL_SAFE_NO_PAD.decode(TEST_KEY_N).unwrap();
        modulus[100] ^= 0x10;
        other.n = Some(URL_SAFE_NO_PAD.encode(modulus));
        let jwt = Jwt::parse(RS256_TOKEN).expect("well-formed token");

        assert!(jwt.verify_signature(&other).is_err());
    }
}
