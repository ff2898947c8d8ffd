//! The TLS client configuration of one plugin, shared by `http.send` over HTTPS and `tcp`
//! connections: the public roots of `webpki-roots` plus the operator's `tls.caFile`, with
//! certificate verification always on.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use serde::Deserialize;

/// The `tls` keys of a plugin's settings.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct TlsGrant {
    /// PEM file of extra trusted root certificates, relative to the plugins folder or absolute.
    pub ca_file: Option<PathBuf>,
}

/// Builds the TLS client configuration of a plugin: the public roots, plus the certificates of
/// `grant.ca_file` when set.
///
/// # Errors
///
/// A message naming the CA file when it cannot be read, is not PEM, or contains no valid
/// certificate.
pub fn client_config(grant: &TlsGrant, plugins_folder: &Path) -> Result<Arc<ClientConfig>, String> {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(ca_file) = &grant.ca_file {
        add_ca_file(&mut roots, &plugins_folder.join(ca_file))?;
    }

    // NOTE: rustls 0.23.48 deprecates the ring provider because it has no post-quantum key
    // exchange. The server uses ring anyway, to keep aws-lc-sys, a large C library compiled from
    // source, out of its build.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| format!("creating the TLS client configuration failed: {error}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Adds every certificate of the PEM file `path` to `roots`.
fn add_ca_file(roots: &mut RootCertStore, path: &Path) -> Result<(), String> {
    let invalid = |reason: String| {
        format!(
            "tls.caFile {}: {reason}: give a readable PEM file of CA certificates",
            path.display()
        )
    };
    let certificates = CertificateDer::pem_file_iter(path)
        .map_err(|error| invalid(error.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| invalid(error.to_string()))?;
    if certificates.is_empty() {
        return Err(invalid("the file contains no certificate".to_owned()));
    }
    for certificate in certificates {
        roots
            .add(certificate)
            .map_err(|error| invalid(format!("invalid certificate ({error})")))?;
    }
    Ok(())
}

/// Returns the name a server's certificate must match: a DNS name or an IP address. Square
/// brackets around an IPv6 address, as URLs write it, are removed.
pub fn server_name(host: &str) -> Result<ServerName<'static>, String> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(bare.to_owned())
        .map_err(|error| format!("\"{host}\" is not a valid TLS server name ({error})"))
}

/// Returns whether an I/O error of a TLS stream comes from TLS itself (an alert, a bad record, a
/// rejected certificate) rather than from the connection under it.
pub fn is_tls_error(error: &io::Error) -> bool {
    error
        .get_ref()
        .is_some_and(|inner| inner.is::<rustls::Error>())
}
