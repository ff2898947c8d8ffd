//! Outbound HTTP for plugins, limited to the hosts their operator allowed.

use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::Uri;
use palisade_plugins::{ApiError, IncomingResponse, OutgoingRequest, not_granted};
use tokio::net::TcpStream;

use super::settings::HttpGrant;

/// Largest response body a plugin receives, in bytes.
const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

/// Sends `request` for `plugin` if its destination is allowed, within the grant's timeout.
///
/// # Errors
///
/// A 403 for a destination not allowed, 400 for a bad URL, 504 on timeout, 502 when the
/// destination cannot be reached or returns invalid HTTP.
pub fn send(
    runtime: &tokio::runtime::Handle,
    plugin: &str,
    grant: &HttpGrant,
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
        let mut error = not_granted(plugin, &format!("http.send to {}", destination.authority()));
        error.message = format!(
            "Plugin \"{plugin}\" may not send HTTP requests to {}: add \"{}\" to http.allowedHosts \
             in its settings.",
            destination.authority(),
            destination.authority()
        );
        return Err(error);
    }
    if destination.https {
        // TODO(plugins-https): TLS for outbound requests; plain HTTP only until then.
        return Err(guest_error(
            501,
            "plugin.http.unsupported_scheme",
            format!("https is not supported yet for {}: use http", request.url),
        ));
    }

    let limit = u64::from(request.timeout_ms).min(grant.timeout).max(1);
    let timeout = Duration::from_millis(limit);
    let exchange = exchange(&destination, &uri, request);
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
    uri: &Uri,
    request: &OutgoingRequest,
) -> Result<IncomingResponse, ApiError> {
    let unreachable = |error: String| {
        guest_error(
            502,
            "plugin.http.unreachable",
            format!("{}: {error}", destination.authority()),
        )
    };
    let stream = TcpStream::connect((destination.host.as_str(), destination.port))
        .await
        .map_err(|error| unreachable(error.to_string()))?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|error| unreachable(error.to_string()))?;
    tokio::spawn(connection);

    let path = uri.path_and_query().map_or("/", |path| path.as_str());
    let mut builder = hyper::Request::builder()
        .method(request.method.as_str())
        .uri(path)
        .header(hyper::header::HOST, destination.authority());
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

fn guest_error(status: u16, id: &str, message: String) -> ApiError {
    ApiError {
        status,
        id: id.to_owned(),
        message,
        props: Vec::new(),
    }
}
