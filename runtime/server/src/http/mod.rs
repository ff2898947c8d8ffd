//! The HTTP protocol: Kuzzle's routes, `POST /_query`, health routes, CORS and compression.
//!
//! One axum fallback handler serves every path, because Kuzzle's matching rules (static segments
//! beat placeholders, no backtracking) differ from axum's router. WebSocket upgrades on any path
//! are handed to [`crate::ws`].

mod body;
mod cors;
mod reply;
mod request;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, State, WebSocketUpgrade};
use axum::http::{HeaderMap, Method, header};
use axum::response::Response;
use palisade_api::{ApiError, ErrorId, Protocol, Request, RequestContext, envelope};
use serde_json::json;

use crate::state::ServerState;

/// Builds the axum application.
pub fn app(state: Arc<ServerState>) -> axum::Router {
    axum::Router::new().fallback(handle).with_state(state)
}

async fn handle(
    State(state): State<Arc<ServerState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: axum::extract::Request,
) -> Response {
    let (mut parts, body) = request.into_parts();

    if is_websocket_upgrade(&parts.headers) && state.config.websocket.enabled {
        return match WebSocketUpgrade::from_request_parts(&mut parts, &state).await {
            Ok(upgrade) => crate::ws::upgrade(state, upgrade, peer),
            Err(rejection) => axum::response::IntoResponse::into_response(rejection),
        };
    }

    let cors = match cors::headers(&state.config, &parts.headers) {
        Ok(cors) => cors,
        Err(error) => return reply::bare_error(&state, &error, &cors::CorsHeaders::none()),
    };
    let path = parts.uri.path().to_owned();

    match (&parts.method, path.as_str()) {
        (&Method::OPTIONS, _) => reply::empty(&state, 200, &cors),
        (&Method::HEAD, "/") => reply::empty(&state, 200, &cors),
        (&Method::GET, "/_healthcheck") => reply::json(&state, 200, &json!({}), &parts, &cors),
        (&Method::GET, "/_ready") => ready(&state, &parts, &cors),
        (&Method::POST, "/_query") => query(&state, parts, body, &cors).await,
        _ => route(&state, parts, body, &cors).await,
    }
}

fn is_websocket_upgrade(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.eq_ignore_ascii_case("websocket"))
}

/// `GET /_ready`: 200 while the server accepts requests, 503 when overloaded or shutting down.
fn ready(
    state: &ServerState,
    parts: &axum::http::request::Parts,
    cors: &cors::CorsHeaders,
) -> Response {
    if state.funnel.is_shutting_down() {
        let error = ApiError::new(
            ErrorId::ApiProcessShuttingDown,
            "The server is shutting down.",
        );
        return reply::bare_error(state, &error, cors);
    }
    if state.funnel.is_overloaded() {
        let error = ApiError::new(ErrorId::ApiProcessOverloaded, "The server is overloaded.");
        return reply::bare_error(state, &error, cors);
    }
    reply::json(state, 200, &json!({}), parts, cors)
}

/// `POST /_query`: the body is a whole request payload, as on WebSocket.
async fn query(
    state: &ServerState,
    parts: axum::http::request::Parts,
    body: Body,
    cors: &cors::CorsHeaders,
) -> Response {
    let payload = match request::read_body(state, &parts, body).await {
        Ok(Some(payload)) => payload,
        Ok(None) => json!({}),
        Err(error) => return reply::bare_error(state, &error, cors),
    };

    let context = RequestContext::json(
        Protocol::Http,
        format!("http-{}", palisade_api::new_request_id()),
    );
    let mut api_request = match Request::from_payload(payload, context) {
        Ok(api_request) => api_request,
        Err(error) => return reply::bare_error(state, &error, cors),
    };
    if api_request.jwt.is_none() {
        match request::token(&state.config, &parts.headers) {
            Ok(token) => api_request.jwt = token,
            Err(error) => return reply::bare_error(state, &error, cors),
        }
    }
    execute(state, api_request, &parts, cors).await
}

/// Any other path: find the route, build the request, run it.
async fn route(
    state: &ServerState,
    parts: axum::http::request::Parts,
    body: Body,
    cors: &cors::CorsHeaders,
) -> Response {
    let verb = parts.method.as_str().to_owned();
    let lookup_verb = if verb == "HEAD" { "GET" } else { verb.as_str() };

    if !state.router.knows_verb(lookup_verb) {
        let error = ApiError::new(
            ErrorId::NetworkHttpUnsupportedVerb,
            format!("Unsupported HTTP verb \"{verb}\": use GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS."),
        )
        .with_props([verb.as_str()]);
        return reply::bare_error(state, &error, cors);
    }
    if let Some((controller, action)) = application_route(parts.uri.path()) {
        return match request::build_for_action(state, &parts, body, &controller, &action).await {
            Ok(api_request) => execute(state, api_request, &parts, cors).await,
            Err(error) => reply::bare_error(state, &error, cors),
        };
    }
    let plugins = state.plugins.snapshot();
    let found = state
        .router
        .find(lookup_verb, parts.uri.path())
        .or_else(|| {
            let router = plugins.router()?;
            router.find(lookup_verb, parts.uri.path())
        });
    let Some(found) = found else {
        let path = parts.uri.path();
        let error = ApiError::new(
            ErrorId::NetworkHttpUrlNotFound,
            format!("API URL not found: {verb} {path}. See GET /_publicApi for the routes, or use POST /_query."),
        )
        .with_props([verb.as_str(), path]);
        return reply::bare_error(state, &error, cors);
    };

    let api_request = match request::build(state, &parts, body, &found).await {
        Ok(api_request) => api_request,
        Err(error) => return reply::bare_error(state, &error, cors),
    };
    execute(state, api_request, &parts, cors).await
}

/// The default route of a controller that is not in Kuzzle's table, such as a plugin's:
/// `/_/<kebab-controller>/<kebab-action>`. Returns the names in camelCase.
fn application_route(path: &str) -> Option<(String, String)> {
    let rest = path.strip_prefix("/_/")?.trim_end_matches('/');
    let (controller, action) = rest.split_once('/')?;
    if controller.is_empty() || action.is_empty() || action.contains('/') {
        return None;
    }
    Some((camel_case(controller), camel_case(action)))
}

/// `say-hello` becomes `sayHello`.
fn camel_case(kebab: &str) -> String {
    let mut out = String::with_capacity(kebab.len());
    let mut upper = false;
    for c in kebab.chars() {
        match c {
            '-' => upper = true,
            c if upper => {
                out.extend(c.to_uppercase());
                upper = false;
            }
            c => out.push(c),
        }
    }
    out
}

async fn execute(
    state: &ServerState,
    api_request: Request,
    parts: &axum::http::request::Parts,
    cors: &cors::CorsHeaders,
) -> Response {
    let api_request = Arc::new(api_request);
    let outcome = state.execute(&api_request).await;
    if let Ok(response) = &outcome
        && let Some(raw) = &response.raw
    {
        let raw_reply = reply::RawReply {
            status: response.status,
            body: raw,
            action_headers: &response.headers,
        };
        return reply::raw(state, &raw_reply, &api_request, parts, cors);
    }

    let status = match &outcome {
        Ok(response) => response.status,
        Err(error) => error.status(),
    };
    let headers = outcome
        .as_ref()
        .map(|r| r.headers.clone())
        .unwrap_or_default();
    let body = envelope(&api_request, outcome, &state.node_id, false);
    reply::envelope(state, status, &body, &headers, &api_request, parts, cors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn application_route_names_are_camel_case() {
        let found = application_route("/_/my-plugin/say-hello");
        assert_eq!(found, Some(("myPlugin".to_owned(), "sayHello".to_owned())));
        assert_eq!(application_route("/_/only-one"), None);
        assert_eq!(application_route("/_/a/b/c"), None);
        assert_eq!(application_route("/other/a/b"), None);
    }
}
