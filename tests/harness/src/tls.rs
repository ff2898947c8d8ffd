//! A certificate authority generated for one test, and the TLS configuration of a test server on
//! 127.0.0.1 whose certificate it signed.

use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A fresh CA and a server certificate for the IP address 127.0.0.1 that it signed.
#[derive(Debug)]
pub struct TestCa {
    /// The CA's certificate in PEM, for a `tls.caFile`.
    pub ca_pem: String,
    /// Server configuration presenting the certificate for 127.0.0.1, for a TLS acceptor.
    pub server_config: Arc<ServerConfig>,
}

impl TestCa {
    /// Generates the CA, the server's key and its certificate.
    ///
    /// # Panics
    ///
    /// When generating a key or signing a certificate fails.
    pub fn new() -> Self {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "Palisade test CA");
        let ca_key = KeyPair::generate().expect("CA key");
        let ca = CertifiedIssuer::self_signed(ca_params, ca_key).expect("CA certificate");

        let server_key = KeyPair::generate().expect("server key");
        let server_params =
            CertificateParams::new(vec!["127.0.0.1".to_owned()]).expect("server parameters");
        let server_certificate = server_params
            .signed_by(&server_key, &ca)
            .expect("server certificate");

        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
        let chain = vec![CertificateDer::from(server_certificate.der().to_vec())];
        // The ring provider, deprecated in rustls 0.23.48, is the one the server uses.
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let server_config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .expect("server certificate and key");
        Self {
            ca_pem: ca.pem(),
            server_config: Arc::new(server_config),
        }
    }
}

impl Default for TestCa {
    fn default() -> Self {
        Self::new()
    }
}
