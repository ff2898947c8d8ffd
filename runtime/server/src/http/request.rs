//! Builds an API request from an HTTP request.

use axum::body::Body;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use palisade_api::{ApiError, ErrorId, Protocol, Request, RequestContext};
use serde_json::Value;

use super::body;
use crate::config::Config;
use crate::routes::RouteMatch;
use crate::state::ServerState;

/// Header carrying the client's request id.
const REQUEST_ID_HEADER: &str = "x-kuzzle-request-id";
/// Header carrying the request's volatile data as JSON.
const VOLATILE_HEADER: &str = "x-kuzzle-volatile";

/// Builds the request for a matched route: query string and URL placeholders become arguments,
/// the body is parsed by content type, and the token comes from the headers.
pub async fn build(
    state: &ServerState,
    parts: &Parts,
    raw_body: Body,
    found: &RouteMatch<'_>,
) -> Result<Request, ApiError> {
    let (controller, action) = (&found.route.controller, &found.route.action);
    let mut request = build_for_action(state, parts, raw_body, controller, action).await?;
    for (name, value) in &found.params {
        request
            .args
            .insert((*name).to_owned(), Value::String(value.clone()));
    }
    Ok(request)
}

/// Builds the request for a controller action, whether or not the route table names it.
pub async fn build_for_action(
    state: &ServerState,
    parts: &Parts,
    raw_body: Body,
    controller: &str,
    action: &str,
) -> Result<Request, ApiError> {
    let context = RequestContext {
        protocol: Protocol::Http,
        connection_id: format!("http-{}", palisade_api::new_request_id()),
        string_args: true,
        kuid: std::sync::OnceLock::new(),
        run_as: None,
    };
    let mut request = Request::new(controller, action, context);

    if let Some(query) = parts.uri.query() {
        for (name, value) in body::parse_form(query.as_bytes()) {
            if !Request::is_envelope_field(&name) {
                request.args.insert(name, value);
            }
        }
    }

    request.body = read_body(state, parts, raw_body).await?;
    request.jwt = token(&state.config, &parts.headers)?;
    request.volatile = volatile(&parts.headers)?;
    if let Some(id) = header_text(&parts.headers, REQUEST_ID_HEADER) {
        request.request_id = id.to_owned();
    }
    Ok(request)
}

/// Reads, decompresses and parses a request body.
pub async fn read_body(
    state: &ServerState,
    parts: &Parts,
    raw_body: Body,
) -> Result<Option<Value>, ApiError> {
    let config = &state.config;
    let declared =
        header_text(&parts.headers, header::CONTENT_LENGTH.as_str()).and_then(|v| v.parse().ok());
    let bytes = body::read_limited(
        raw_body,
        declared,
        config.server.max_request_size.as_usize(),
    )
    .await?;
    let decoded = body::decode(
        bytes,
        header_text(&parts.headers, header::CONTENT_ENCODING.as_str()),
        config,
    )?;
    body::parse(
        decoded,
        header_text(&parts.headers, header::CONTENT_TYPE.as_str()),
        config,
    )
    .await
}

/// The token from `Authorization: Bearer` or, when cookie authentication is on, the `authToken`
/// cookie.
///
/// # Errors
///
/// `security.token.verification_error` when both are present, since the server cannot tell
/// which one the client meant.
pub fn token(config: &Config, headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let bearer = header_text(headers, header::AUTHORIZATION.as_str()).and_then(|value| {
        let (scheme, token) = value.split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_owned())
    });
    let cookie = if config.http.cookie_authentication {
        auth_cookie(headers)
    } else {
        None
    };

    match (bearer, cookie) {
        (Some(_), Some(_)) => Err(ApiError::new(
            ErrorId::SecurityTokenVerificationError,
            "Both an Authorization header and an authToken cookie were sent: send only one.",
        )),
        (bearer, cookie) => Ok(bearer.or(cookie).filter(|token| !token.is_empty())),
    }
}

fn auth_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == "authToken")
        .map(|(_, token)| token.to_owned())
        .filter(|token| !token.is_empty() && token != "null")
}

fn volatile(headers: &HeaderMap) -> Result<Option<serde_json::Map<String, Value>>, ApiError> {
    let Some(text) = header_text(headers, VOLATILE_HEADER) else {
        return Ok(None);
    };
    match serde_json::from_str(text) {
        Ok(Value::Object(volatile)) => Ok(Some(volatile)),
        Ok(Value::Null) => Ok(None),
        _ => Err(ApiError::new(
            ErrorId::NetworkHttpVolatileParseFailed,
            "The X-Kuzzle-Volatile header is not a JSON object: send a JSON object or no header.",
        )),
    }
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}
