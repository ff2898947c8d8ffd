//! Outbound TCP connections for plugins (`tcp.connection`): plain, TLS from the first byte, or
//! plain then upgraded by `start-tls`, only to the `host:port` pairs the operator allowed.

use std::sync::Arc;
use std::time::Duration;

use palisade_plugins::{ApiError, TcpConnection, TcpSecurity, not_granted};
use rustls::ClientConfig;
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::runtime::Handle;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use super::outbound::guest_error;
use super::services::{ServerServices, block_on};
use super::tls;

/// Largest read a guest gets at once, in bytes. A larger `max-bytes` is lowered to it, so a guest
/// cannot make the host allocate up to 4 GiB per read.
pub const MAX_READ_BYTES: u32 = 1024 * 1024;

/// The `tcp` keys of a plugin's settings: where it may connect, and how long an operation may
/// take.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct TcpGrant {
    /// Allowed destinations, each a `host:port` pair.
    pub allowed_hosts: Vec<TcpDestination>,
    /// Milliseconds one connect, read, write or TLS handshake may take, at most.
    pub timeout: u64,
}

impl Default for TcpGrant {
    fn default() -> Self {
        Self {
            allowed_hosts: Vec::new(),
            timeout: 10_000,
        }
    }
}

impl TcpGrant {
    /// Returns whether `host:port` is listed: the same port, and the same host ignoring case.
    pub fn allows(&self, host: &str, port: u16) -> bool {
        self.allowed_hosts
            .iter()
            .any(|allowed| allowed.port == port && allowed.host.eq_ignore_ascii_case(host))
    }
}

/// One entry of `tcp.allowedHosts`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct TcpDestination {
    /// Host name or IP address, without the brackets of an IPv6 address.
    pub host: String,
    /// Port.
    pub port: u16,
}

impl TryFrom<String> for TcpDestination {
    type Error = String;

    fn try_from(entry: String) -> Result<Self, Self::Error> {
        let invalid = || {
            format!(
                "invalid tcp.allowedHosts entry \"{entry}\": write host:port, such as \
                 \"ldap.example.com:636\" or \"[::1]:389\""
            )
        };
        let (host, port) = entry.rsplit_once(':').ok_or_else(invalid)?;
        let port = port.parse::<u16>().map_err(|_| invalid())?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() || port == 0 {
            return Err(invalid());
        }
        Ok(Self {
            host: host.to_owned(),
            port,
        })
    }
}

/// Opens a connection for `plugin` if its `tcp.allowedHosts` lists `host:port`, within the
/// smaller of `timeout_ms` and `tcp.timeout`. With `TcpSecurity::Tls`, the timeout covers the TLS
/// handshake too.
///
/// # Errors
///
/// A 403 for a destination not allowed (nothing is connected then), 504 on timeout, 502 when
/// the connection or the TLS handshake fails.
pub fn connect(
    services: &ServerServices,
    plugin: &str,
    host: &str,
    port: u16,
    security: TcpSecurity,
    timeout_ms: u32,
) -> Result<Box<dyn TcpConnection>, ApiError> {
    let grant = &services.settings.tcp;
    if !grant.allows(host, port) {
        tracing::warn!(
            plugin,
            host,
            port,
            "tcp connection rejected: not in tcp.allowedHosts"
        );
        return Err(rejected(plugin, host, port));
    }

    let mut connection = ServerConnection {
        runtime: services.runtime.clone(),
        tls: Arc::clone(&services.tls),
        host: host.to_owned(),
        port,
        max_timeout_ms: grant.timeout,
        stream: Stream::Closed,
    };
    let limit = connection.limit(timeout_ms);
    let opened = async {
        let plain = TcpStream::connect((host, port))
            .await
            .map_err(|error| connection.unreachable(&error))?;
        match security {
            TcpSecurity::Plain => Ok(Stream::Plain(plain)),
            TcpSecurity::Tls => connection.handshake(plain).await,
        }
    };
    let stream = match block_on(&services.runtime, tokio::time::timeout(limit, opened)) {
        Ok(stream) => stream?,
        Err(_) => return Err(connection.timed_out("connecting", limit)),
    };
    tracing::debug!(plugin, host, port, ?security, "tcp connection opened");
    connection.stream = stream;
    Ok(Box::new(connection))
}

/// Builds the 403 error of a destination missing from `tcp.allowedHosts`.
fn rejected(plugin: &str, host: &str, port: u16) -> ApiError {
    let destination = format!("{host}:{port}");
    let mut error = not_granted(plugin, &format!("tcp.connect to {destination}"));
    error.message = format!(
        "Plugin \"{plugin}\" may not connect to {destination}: add \"{destination}\" to \
         tcp.allowedHosts in its settings."
    );
    error
}

/// The stream of a connection.
enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
    /// No stream: the connection is not open yet, or it closed after a failed TLS handshake or a
    /// write that timed out.
    Closed,
}

/// A connection that the server opened for a guest. Each method blocks the plugin call thread
/// on the server's runtime for at most its timeout.
struct ServerConnection {
    runtime: Handle,
    tls: Arc<ClientConfig>,
    /// The host given to `connect`, which the server's certificate must match.
    host: String,
    port: u16,
    max_timeout_ms: u64,
    stream: Stream,
}

impl TcpConnection for ServerConnection {
    fn write(&mut self, data: &[u8], timeout_ms: u32) -> Result<(), ApiError> {
        let limit = self.limit(timeout_ms);
        let written = match &mut self.stream {
            Stream::Plain(stream) => block_on(&self.runtime, write_all(stream, data, limit)),
            Stream::Tls(stream) => block_on(&self.runtime, write_all(stream, data, limit)),
            Stream::Closed => return Err(self.closed()),
        };
        match written {
            Some(Ok(())) => Ok(()),
            Some(Err(error)) => Err(self.io_failed(&error)),
            None => {
                // Part of `data` may have been sent, so the stream is out of step with what the
                // peer expects. The connection closes rather than send more after it.
                self.stream = Stream::Closed;
                Err(self.timed_out("writing", limit))
            }
        }
    }

    fn read(&mut self, max_bytes: u32, timeout_ms: u32) -> Result<Vec<u8>, ApiError> {
        if max_bytes == 0 {
            return Err(guest_error(
                400,
                "plugin.tcp.invalid_argument",
                "max-bytes must be at least 1, because an empty read means the peer closed the \
                 connection"
                    .to_owned(),
            ));
        }
        let limit = self.limit(timeout_ms);
        let mut buffer = vec![0; max_bytes.min(MAX_READ_BYTES) as usize];
        let read = match &mut self.stream {
            Stream::Plain(stream) => block_on(&self.runtime, read_some(stream, &mut buffer, limit)),
            Stream::Tls(stream) => block_on(&self.runtime, read_some(stream, &mut buffer, limit)),
            Stream::Closed => return Err(self.closed()),
        };
        match read {
            Some(Ok(length)) => {
                buffer.truncate(length);
                Ok(buffer)
            }
            // Many servers close a TLS connection without a close_notify alert, which rustls
            // reports as an unexpected EOF. The read returns an empty list for it, as for the EOF
            // of a plain connection.
            Some(Err(error)) if error.kind() == std::io::ErrorKind::UnexpectedEof => Ok(Vec::new()),
            Some(Err(error)) => Err(self.io_failed(&error)),
            None => Err(self.timed_out("reading", limit)),
        }
    }

    fn start_tls(&mut self, timeout_ms: u32) -> Result<(), ApiError> {
        let plain = match std::mem::replace(&mut self.stream, Stream::Closed) {
            Stream::Plain(plain) => plain,
            Stream::Tls(secured) => {
                self.stream = Stream::Tls(secured);
                return Err(guest_error(
                    400,
                    "plugin.tcp.already_tls",
                    format!(
                        "The connection to {} already uses TLS: call start-tls only on a plain \
                         connection.",
                        self.destination()
                    ),
                ));
            }
            Stream::Closed => return Err(self.closed()),
        };

        // On failure the plain stream is gone with the handshake, so the connection stays
        // closed.
        let limit = self.limit(timeout_ms);
        let handshake = tokio::time::timeout(limit, self.handshake(plain));
        match block_on(&self.runtime, handshake) {
            Ok(secured) => {
                self.stream = secured?;
                Ok(())
            }
            Err(_) => Err(self.timed_out("starting TLS", limit)),
        }
    }
}

impl ServerConnection {
    /// Returns the timeout of one operation: the guest's, capped by the operator's, at least
    /// 1 ms.
    fn limit(&self, timeout_ms: u32) -> Duration {
        let milliseconds = u64::from(timeout_ms).min(self.max_timeout_ms).max(1);
        Duration::from_millis(milliseconds)
    }

    fn destination(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// Runs the TLS handshake over `plain`, checking the certificate against the host name.
    async fn handshake(&self, plain: TcpStream) -> Result<Stream, ApiError> {
        let name = tls::server_name(&self.host).map_err(|reason| self.tls_failed(&reason))?;
        let connector = TlsConnector::from(Arc::clone(&self.tls));
        let secured = connector
            .connect(name, plain)
            .await
            .map_err(|error| self.tls_failed(&error.to_string()))?;
        Ok(Stream::Tls(Box::new(secured)))
    }

    fn unreachable(&self, error: &std::io::Error) -> ApiError {
        guest_error(
            502,
            "plugin.tcp.unreachable",
            format!("Connection to {} failed: {error}", self.destination()),
        )
    }

    fn tls_failed(&self, reason: &str) -> ApiError {
        guest_error(
            502,
            "plugin.tcp.tls_failed",
            format!(
                "TLS with {} failed: {reason}. Check that the server's certificate matches the \
                 host name and is signed by a public root or by tls.caFile.",
                self.destination()
            ),
        )
    }

    fn io_failed(&self, error: &std::io::Error) -> ApiError {
        if tls::is_tls_error(error) {
            return self.tls_failed(&error.to_string());
        }
        self.unreachable(error)
    }

    fn timed_out(&self, operation: &str, limit: Duration) -> ApiError {
        guest_error(
            504,
            "plugin.tcp.timeout",
            format!(
                "{operation} {} took more than {} ms",
                self.destination(),
                limit.as_millis()
            ),
        )
    }

    fn closed(&self) -> ApiError {
        guest_error(
            400,
            "plugin.tcp.closed",
            format!(
                "The connection to {} is closed after a failed TLS handshake or a write that \
                 timed out: open a new one.",
                self.destination()
            ),
        )
    }
}

/// Writes and flushes `data`. Returns `None` on timeout.
async fn write_all<S: AsyncWriteExt + Unpin>(
    stream: &mut S,
    data: &[u8],
    limit: Duration,
) -> Option<std::io::Result<()>> {
    let written = async {
        stream.write_all(data).await?;
        stream.flush().await
    };
    tokio::time::timeout(limit, written).await.ok()
}

/// Reads what is available into `buffer`, waiting for at least one byte. Returns `None` on
/// timeout.
async fn read_some<S: AsyncReadExt + Unpin>(
    stream: &mut S,
    buffer: &mut [u8],
    limit: Duration,
) -> Option<std::io::Result<usize>> {
    tokio::time::timeout(limit, stream.read(buffer)).await.ok()
}
