//! The host's `tcp` connection as a [`Transport`], opened as the settings say.

use palisade_plugin_sdk::ApiError;
use palisade_plugin_sdk::tcp::{Connection, Security};

use crate::client::{Client, Transport};
use crate::settings::Settings;

/// A host connection with the timeout of every operation.
#[derive(Debug)]
pub struct HostTransport {
    connection: Connection,
    timeout_ms: u32,
}

impl Transport for HostTransport {
    fn write(&mut self, data: &[u8]) -> Result<(), ApiError> {
        self.connection.write(data, self.timeout_ms)
    }

    fn read(&mut self, max_bytes: u32) -> Result<Vec<u8>, ApiError> {
        self.connection.read(max_bytes, self.timeout_ms)
    }

    fn start_tls(&mut self) -> Result<(), ApiError> {
        self.connection.start_tls(self.timeout_ms)
    }
}

/// Connects to the server of `settings`, with TLS from the start for `ldaps://` or through
/// StartTLS when `startTls` is set.
///
/// # Errors
///
/// The host's 403, 502 or 504 error when the server is not allowed, unreachable, slow, or fails
/// the TLS handshake or certificate check; a 502 `plugin.ldap.start_tls_failed` when the server
/// rejects StartTLS.
pub fn connect(settings: &Settings) -> Result<Client<HostTransport>, ApiError> {
    let url = &settings.url;
    let security = if url.ldaps {
        Security::Tls
    } else {
        Security::Plain
    };
    let connection = Connection::connect(&url.host, url.port, security, settings.timeout_ms)?;

    let transport = HostTransport {
        connection,
        timeout_ms: settings.timeout_ms,
    };
    let mut client = Client::new(transport, format!("{}:{}", url.host, url.port));
    if settings.start_tls {
        client.start_tls()?;
    }
    Ok(client)
}
