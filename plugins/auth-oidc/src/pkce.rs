//! Proof Key for Code Exchange (RFC 7636) and the other random values of a login.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// Random bytes behind the state, the nonce and the PKCE verifier: 256 bits each, which encode
/// to 43 characters (RFC 7636 allows 43 to 128 for the verifier).
const RANDOM_BYTES: u32 = 32;

/// Returns a new random value as base64url text, from the host's generator, because
/// wasm32-unknown-unknown has no source of randomness of its own.
pub fn random_token() -> String {
    let bytes = palisade_plugin_sdk::environment::random_bytes(RANDOM_BYTES);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Returns the `S256` code challenge of `verifier`: base64url(SHA-256(verifier)).
pub fn s256_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s256_matches_rfc_7636_example() {
        // RFC 7636, appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

        assert_eq!(
            s256_challenge(verifier),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
