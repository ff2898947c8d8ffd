//! The IdP's signing key, read from the X.509 certificate in the settings.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rsa::PublicKey;
use rsa::pkcs8::DecodePublicKey as _;
use x509_cert::Certificate;
use x509_cert::der::{Decode as _, DecodePem as _, Encode as _};

/// Reads the RSA public key of a certificate given as PEM, or as the bare base64 DER that SAML
/// metadata puts in `X509Certificate`.
///
/// # Errors
///
/// A message saying what is wrong with the certificate.
pub fn rsa_key_from_certificate(text: &str) -> Result<PublicKey, String> {
    let text = text.trim();
    let certificate = if text.starts_with("-----BEGIN") {
        Certificate::from_pem(text).map_err(|error| format!("invalid PEM certificate: {error}"))?
    } else {
        let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        let der = STANDARD
            .decode(compact)
            .map_err(|error| format!("neither PEM nor base64 DER: {error}"))?;
        Certificate::from_der(&der).map_err(|error| format!("invalid DER certificate: {error}"))?
    };

    let spki = certificate
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .map_err(|error| format!("unreadable public key: {error}"))?;
    PublicKey::from_public_key_der(&spki)
        .map_err(|error| format!("the certificate's key is not an RSA key: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_rejected() {
        assert!(rsa_key_from_certificate("not a certificate").is_err());
        assert!(
            rsa_key_from_certificate(
                "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"
            )
            .is_err()
        );
    }
}
