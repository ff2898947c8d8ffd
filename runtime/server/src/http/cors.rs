//! CORS headers, sent on every HTTP response.

use axum::http::{HeaderMap, HeaderValue, header};
use palisade_api::{ApiError, ErrorId};

use crate::config::Config;

/// The CORS headers of one response.
#[derive(Debug, Clone)]
pub struct CorsHeaders {
    pub headers: Vec<(header::HeaderName, HeaderValue)>,
}

impl CorsHeaders {
    /// No CORS headers, for a rejected origin.
    pub fn none() -> Self {
        Self {
            headers: Vec::new(),
        }
    }
}

/// Computes the CORS headers for a request's `Origin`.
///
/// # Errors
///
/// `api.process.unauthorized_origin` when the origin is not in `http.accessControlAllowOrigin`.
pub fn headers(config: &Config, request: &HeaderMap) -> Result<CorsHeaders, ApiError> {
    let allowed = &config.http.access_control_allow_origin;
    let origin = request
        .get(header::ORIGIN)
        .and_then(|value| value.to_str().ok());

    let allow_origin = match origin {
        Some(origin) if allowed.iter().any(|a| a == "*" || a == origin) => origin.to_owned(),
        Some(origin) => {
            return Err(ApiError::new(
                ErrorId::ApiProcessUnauthorizedOrigin,
                format!(
                    "Origin \"{origin}\" is not allowed: add it to http.accessControlAllowOrigin."
                ),
            )
            .with_props([origin]));
        }
        None if allowed.iter().any(|a| a == "*") => "*".to_owned(),
        None => allowed.first().cloned().unwrap_or_default(),
    };

    let mut headers = Vec::new();
    let mut push = |name: header::HeaderName, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.push((name, value));
        }
    };
    push(header::ACCESS_CONTROL_ALLOW_ORIGIN, &allow_origin);
    push(header::VARY, "Origin");
    push(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        &config.http.access_control_allow_methods,
    );
    push(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        &config.http.access_control_allow_headers,
    );
    push(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        "X-Kuzzle-Node, X-Kuzzle-Request-Id",
    );
    if config.http.cookie_authentication {
        push(header::ACCESS_CONTROL_ALLOW_CREDENTIALS, "true");
    }
    Ok(CorsHeaders { headers })
}
