//! Outbound TCP connections, plain or over TLS, to the hosts and ports the operator allowed
//! (`tcp.allowedHosts`). A connection lasts until it is dropped or the current call returns.

use crate::ApiError;
use crate::bindings::palisade::plugin::tcp;

pub use tcp::Security;

/// An open connection.
#[derive(Debug)]
pub struct Connection {
    inner: tcp::Connection,
}

impl Connection {
    /// Connects to `host`:`port`, with TLS from the start when `security` is [`Security::Tls`].
    ///
    /// # Errors
    ///
    /// A 403 error for a destination the operator did not allow, a 504 on timeout, a 502 when the
    /// connection or its TLS handshake fails.
    pub fn connect(
        host: &str,
        port: u16,
        security: Security,
        timeout_ms: u32,
    ) -> Result<Self, ApiError> {
        let inner = tcp::Connection::connect(host, port, security, timeout_ms)?;
        Ok(Self { inner })
    }

    /// Writes all of `data`.
    ///
    /// # Errors
    ///
    /// A 504 error on timeout, a 502 when the connection breaks.
    pub fn write(&self, data: &[u8], timeout_ms: u32) -> Result<(), ApiError> {
        self.inner.write(data, timeout_ms).map_err(ApiError::from)
    }

    /// Reads what is available, up to `max_bytes`; an empty vector when the peer closed.
    ///
    /// # Errors
    ///
    /// A 504 error when nothing arrives in time, a 502 when the connection breaks.
    pub fn read(&self, max_bytes: u32, timeout_ms: u32) -> Result<Vec<u8>, ApiError> {
        self.inner
            .read(max_bytes, timeout_ms)
            .map_err(ApiError::from)
    }

    /// Starts TLS on a plain connection.
    ///
    /// # Errors
    ///
    /// A 502 error when the handshake or the certificate check fails.
    pub fn start_tls(&self, timeout_ms: u32) -> Result<(), ApiError> {
        self.inner.start_tls(timeout_ms).map_err(ApiError::from)
    }
}
