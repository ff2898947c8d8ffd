//! Outbound HTTP and HTTPS for plugins, limited to the hosts their operator allowed. Requests
//! use HTTP/1.1, and HTTPS always verifies the server's certificate.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::Uri;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use palisade_plugins::{ApiError, IncomingResponse, OutgoingRequest, not_granted};
use rustls::ClientConfig;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::settings::HttpGrant;
use super::tls;

/// Largest response body a plugin receives, in bytes.
const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

/// Sends `request` for `plugin` if its destination is allowed, within the grant's timeout. An
/// `https` URL runs TLS with `tls`, checking the certificate against the URL's host.
///
/// # Errors
///
/// A 403 for a destination not allowed, 400 for a bad URL, 504 on timeout, 502 when the
/// destination cannot be reached, fails the TLS handshake or returns invalid HTTP.
pub fn send(
    runtime: &tokio::runtime::Handle,
    plugin: &str,
    grant: &HttpGrant,
    tls: &Arc<ClientConfig>,
    request: &OutgoingRequest,
) -> Result<IncomingResponse, ApiError> {
    let uri: Uri = request.url.parse().map_err(|error| {
        guest_error(
            400,
            "plugin.http.invalid_url",
            format!("invalid URL \"{}\": {error}", request.url),
        )
    })?;
    let destination = Destination::of(&uri)?;
    if !destination.is_allowed(grant) {
        tracing::warn!(
            plugin,
            host = %destination.host,
            port = destination.port,
            "http request rejected: not in http.allowedHosts"
        );
        let mut error = not_granted(plugin, &format!("http.send to {}", destination.authority()));
        error.message = format!(
            "Plugin \"{plugin}\" may not send HTTP requests to {}: add \"{}\" to http.allowedHosts \
             in its settings.",
            destination.authority(),
            destination.authority()
        );
        return Err(error);
    }
    let limit = u64::from(request.timeout_ms).min(grant.timeout).max(1);
    let timeout = Duration::from_millis(limit);
    let exchange = exchange(&destination, tls, &uri, request);
    match super::services::block_on(runtime, tokio::time::timeout(timeout, exchange)) {
        Ok(outcome) => outcome,
        Err(_) => Err(guest_error(
            504,
            "plugin.http.timeout",
            format!(
                "{} {} took more than {limit} ms",
                request.method, request.url
            ),
        )),
    }
}

/// The destination of a request.
struct Destination {
    https: bool,
    host: String,
    port: u16,
}

impl Destination {
    fn of(uri: &Uri) -> Result<Self, ApiError> {
        let https = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            _ => {
                return Err(guest_error(
                    400,
                    "plugin.http.invalid_url",
                    format!("URL \"{uri}\" must be absolute and start with http:// or https://"),
                ));
            }
        };
        let host = uri.host().unwrap_or_default().to_ascii_lowercase();
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        Ok(Self { https, host, port })
    }

    fn authority(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// Returns the `Host` header: the host, with the port only when it is not the scheme's
    /// default, which is the form browsers send.
    fn host_header(&self) -> String {
        let default_port = if self.https { 443 } else { 80 };
        if self.port == default_port {
            return self.host.clone();
        }
        self.authority()
    }

    fn unreachable(&self, error: String) -> ApiError {
        guest_error(
            502,
            "plugin.http.unreachable",
            format!("{}: {error}", self.authority()),
        )
    }

    fn tls_failed(&self, reason: &str) -> ApiError {
        guest_error(
            502,
            "plugin.http.tls_failed",
            format!(
                "TLS with {} failed: {reason}. Check that the server's certificate matches the \
                 host name and is signed by a public root or by tls.caFile.",
                self.authority()
            ),
        )
    }

    /// Returns whether `host:port`, or `host` alone with the scheme's default port, is listed.
    fn is_allowed(&self, grant: &HttpGrant) -> bool {
        let default_port = if self.https { 443 } else { 80 };
        grant.allowed_hosts.iter().any(|allowed| {
            let allowed = allowed.to_ascii_lowercase();
            allowed == self.authority() || (allowed == self.host && self.port == default_port)
        })
    }
}

async fn exchange(
    destination: &Destination,
    tls: &Arc<ClientConfig>,
    uri: &Uri,
    request: &OutgoingRequest,
) -> Result<IncomingResponse, ApiError> {
    let unreachable = |error: String| destination.unreachable(error);
    let stream = TcpStream::connect((destination.host.as_str(), destination.port))
        .await
        .map_err(|error| unreachable(error.to_string()))?;
    let mut sender = if destination.https {
        let name = tls::server_name(&destination.host)
            .map_err(|reason| destination.tls_failed(&reason))?;
        let secured = TlsConnector::from(Arc::clone(tls))
            .connect(name, stream)
            .await
            .map_err(|error| destination.tls_failed(&error.to_string()))?;
        http1_handshake(destination, secured).await?
    } else {
        http1_handshake(destination, stream).await?
    };

    let path = uri.path_and_query().map_or("/", |path| path.as_str());
    let mut builder = hyper::Request::builder()
        .method(request.method.as_str())
        .uri(path)
        .header(hyper::header::HOST, destination.host_header());
    for (name, value) in &request.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let outgoing = builder
        .body(Full::new(bytes::Bytes::from(request.body.clone())))
        .map_err(|error| guest_error(400, "plugin.http.invalid_request", error.to_string()))?;

    let response = sender
        .send_request(outgoing)
        .await
        .map_err(|error| unreachable(error.to_string()))?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| {
            (
                name.to_string(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = Limited::new(response.into_body(), MAX_RESPONSE_BYTES)
        .collect()
        .await
        .map_err(|error| unreachable(format!("reading the response failed: {error}")))?
        .to_bytes()
        .to_vec();
    Ok(IncomingResponse {
        status,
        headers,
        body,
    })
}

/// Starts an HTTP/1.1 connection over `io`, driven by a task of its own.
async fn http1_handshake<I>(
    destination: &Destination,
    io: I,
) -> Result<SendRequest<Full<bytes::Bytes>>, ApiError>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|error| destination.unreachable(error.to_string()))?;
    tokio::spawn(connection);
    Ok(sender)
}

/// Builds an error that a guest receives as a value.
pub(super) fn guest_error(status: u16, id: &str, message: String) -> ApiError {
    ApiError {
        status,
        id: id.to_owned(),
        message,
        props: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_header_omits_default_port() {
        let cases = [
            ("https://id.example.com/token", "id.example.com"),
            ("https://id.example.com:8443/token", "id.example.com:8443"),
            ("http://127.0.0.1/", "127.0.0.1"),
            ("http://127.0.0.1:443/", "127.0.0.1:443"),
        ];
        for (url, expected) in cases {
            let destination = Destination::of(&url.parse().unwrap()).unwrap();
            assert_eq!(destination.host_header(), expected, "{url}");
        }
    }
}
