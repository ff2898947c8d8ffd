//! Encodes HTTP responses: envelope or raw body, Kuzzle's headers, `?pretty` and compression.

use std::io::Write as _;

use axum::body::Body;
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;
use futures_util::StreamExt as _;
use palisade_api::{ApiError, ChunkStream, RawBody, Request, StreamedBody};
use serde_json::{Map, Value};

use super::cors::CorsHeaders;
use crate::state::ServerState;

/// Bodies smaller than this are sent uncompressed: compression would not pay for itself.
const MIN_COMPRESSED_SIZE: usize = 1024;

/// A response envelope.
pub fn envelope(
    state: &ServerState,
    status: u16,
    body: &Value,
    action_headers: &Map<String, Value>,
    request: &Request,
    parts: &Parts,
    cors: &CorsHeaders,
) -> Response {
    let mut response = json(state, status, body, parts, cors);
    set(&mut response, "x-kuzzle-request-id", &request.request_id);
    for (name, value) in action_headers {
        if let Some(text) = value.as_str() {
            set(&mut response, name, text);
        }
    }
    response
}

/// An error raised before routing, sent as the bare error object, as Kuzzle does.
pub fn bare_error(state: &ServerState, error: &ApiError, cors: &CorsHeaders) -> Response {
    let body = serde_json::to_vec(&error.to_json()).unwrap_or_default();
    finish(state, error.status(), "application/json", body, None, cors)
}

/// A JSON body, indented when the query string has `pretty`.
pub fn json(
    state: &ServerState,
    status: u16,
    body: &Value,
    parts: &Parts,
    cors: &CorsHeaders,
) -> Response {
    let pretty = parts.uri.query().is_some_and(|query| {
        query
            .split('&')
            .any(|pair| pair == "pretty" || pair.starts_with("pretty="))
    });
    let bytes = if pretty {
        serde_json::to_vec_pretty(body).unwrap_or_default()
    } else {
        serde_json::to_vec(body).unwrap_or_default()
    };
    finish(state, status, "application/json", bytes, Some(parts), cors)
}

/// A raw response of an action such as `server:openapi` or `document:export`.
pub struct RawReply<'a> {
    /// The HTTP status.
    pub status: u16,
    /// The body, sent as is.
    pub body: &'a RawBody,
    /// Headers the action sets, such as `Content-Disposition`.
    pub action_headers: &'a Map<String, Value>,
}

/// Encodes a raw body from an action such as `server:openapi` or `document:export`, with the
/// headers the action sets.
pub fn raw(
    state: &ServerState,
    reply: &RawReply<'_>,
    request: &Request,
    parts: &Parts,
    cors: &CorsHeaders,
) -> Response {
    let mut response = match reply.body.stream.as_ref().and_then(StreamedBody::take) {
        Some(stream) => streamed(state, reply, stream, cors),
        None => finish(
            state,
            reply.status,
            &reply.body.content_type,
            reply.body.content.clone(),
            Some(parts),
            cors,
        ),
    };
    set(&mut response, "x-kuzzle-request-id", &request.request_id);
    for (name, value) in reply.action_headers {
        if let Some(text) = value.as_str() {
            set(&mut response, name, text);
        }
    }
    response
}

/// Sends a streamed body as it is produced: the raw content first, then each chunk. It is not
/// compressed, because compression would have to buffer it.
fn streamed(
    state: &ServerState,
    reply: &RawReply<'_>,
    stream: ChunkStream,
    cors: &CorsHeaders,
) -> Response {
    let head = futures_util::stream::iter([reply.body.content.clone()]);
    let chunks = head
        .chain(stream)
        .map(|chunk| Ok::<_, std::convert::Infallible>(bytes::Bytes::from(chunk)));
    let mut response = finish(
        state,
        reply.status,
        &reply.body.content_type,
        Vec::new(),
        None,
        cors,
    );
    *response.body_mut() = Body::from_stream(chunks);
    response
}

/// A response without a body, for `OPTIONS` and `HEAD /`.
pub fn empty(state: &ServerState, status: u16, cors: &CorsHeaders) -> Response {
    finish(state, status, "application/json", Vec::new(), None, cors)
}

fn finish(
    state: &ServerState,
    status: u16,
    content_type: &str,
    body: Vec<u8>,
    parts: Option<&Parts>,
    cors: &CorsHeaders,
) -> Response {
    let encoding = parts.and_then(|parts| accepted_encoding(state, parts, body.len()));
    let body = match encoding {
        Some(encoding) => compress(&body, encoding).unwrap_or(body),
        None => body,
    };

    let mut response = Response::new(Body::from(body));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    set(&mut response, header::CONTENT_TYPE.as_str(), content_type);
    set(&mut response, "x-kuzzle-node", &state.node_id);
    if let Some(encoding) = encoding {
        set(&mut response, header::CONTENT_ENCODING.as_str(), encoding);
    }
    let headers = response.headers_mut();
    for (name, value) in &cors.headers {
        headers.insert(name.clone(), value.clone());
    }
    response
}

fn accepted_encoding(state: &ServerState, parts: &Parts, size: usize) -> Option<&'static str> {
    if !state.config.http.allow_compression || size < MIN_COMPRESSED_SIZE {
        return None;
    }
    let accepted = parts
        .headers
        .get(header::ACCEPT_ENCODING)?
        .to_str()
        .ok()?
        .to_ascii_lowercase();
    let offers = |name: &str| {
        accepted
            .split(',')
            .any(|item| item.split(';').next().map(str::trim) == Some(name))
    };
    if offers("gzip") {
        Some("gzip")
    } else if offers("deflate") {
        Some("deflate")
    } else {
        None
    }
}

fn compress(body: &[u8], encoding: &str) -> std::io::Result<Vec<u8>> {
    let level = flate2::Compression::fast();
    if encoding == "gzip" {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), level);
        encoder.write_all(body)?;
        encoder.finish()
    } else {
        let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), level);
        encoder.write_all(body)?;
        encoder.finish()
    }
}

fn set(response: &mut Response, name: &str, value: &str) {
    if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::from_str(value)) {
        response.headers_mut().insert(name, value);
    }
}
