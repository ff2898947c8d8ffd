//! The security step of the funnel: token, user, rights and rate limits of one request.

use std::time::{SystemTime, UNIX_EPOCH};

use std::sync::Arc;

use palisade_api::{ApiError, Protocol, Request, RunAs};
use palisade_security::{
    ANONYMOUS_KUID, AuthToken, PLUGIN_KUID_PREFIX, SecurityError, Target, User, UserRights,
};
use serde_json::Value;

use crate::errors::from_security;
use crate::state::ServerState;

fn now_ms() -> u64 {
    let elapsed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
}

/// Returns whether an action takes no token: `auth:checkToken` reads its token from the body and
/// `auth:login` issues one. Both run as the anonymous user.
fn skips_token(request: &Request) -> bool {
    request.controller == "auth" && matches!(request.action.as_str(), "checkToken" | "login")
}

/// Authenticates a request, checks its rights and rate limits, and records the user's kuid on
/// the request context. Returns the user the request runs as.
///
/// # Errors
///
/// `security.token.invalid` or `expired` (401) for a bad token, `security.rights.unauthorized`
/// (401, anonymous) or `forbidden` (403) for a denied action, `api.process.too_many_requests` or
/// `too_many_logins_requests` (429) past a rate limit.
pub async fn authorize(state: &ServerState, request: &Request) -> Result<Arc<User>, ApiError> {
    reject_internal_index(request)?;
    let layer = &state.security;
    let (token, user) = match &request.context.run_as {
        Some(run_as) => (None, run_as_user(state, run_as).await?),
        None => authenticate(state, request).await?,
    };
    let _ = request.context.kuid.set(user.id.clone());
    let rights = layer
        .security
        .user_rights(Arc::clone(&user))
        .await
        .map_err(from_security)?;

    // An unknown action is reported as such by the dispatcher, whatever the rights.
    if state.has_action(&request.controller, &request.action) {
        check_rights(&rights, request)?;
    }
    check_rate_limits(state, &rights, request)?;

    if let Some(token) = &token {
        link_connection(state, request, token);
    }
    Ok(user)
}

/// Verifies the request's token, if any, and returns it with the user it belongs to.
async fn authenticate(
    state: &ServerState,
    request: &Request,
) -> Result<(Option<AuthToken>, Arc<User>), ApiError> {
    let layer = &state.security;
    let token = match &request.jwt {
        Some(jwt) if !jwt.is_empty() && !skips_token(request) => Some(
            layer
                .tokens
                .authenticate(jwt)
                .await
                .map_err(from_security)?,
        ),
        _ => None,
    };
    let kuid = token
        .as_ref()
        .map_or(ANONYMOUS_KUID, |token| token.kuid.as_str());
    let user = match layer.security.get_user(kuid).await {
        Ok(user) => user,
        Err(SecurityError::UserNotFound { .. }) => {
            return Err(from_security(SecurityError::TokenInvalid {
                reason: "the token's user was deleted".to_owned(),
            }));
        }
        Err(error) => return Err(from_security(error)),
    };
    Ok((token, user))
}

/// Returns the user a plugin's request runs as: the user of the request it handles, or the
/// plugin's own identity with the profiles its operator granted.
async fn run_as_user(state: &ServerState, run_as: &RunAs) -> Result<Arc<User>, ApiError> {
    match run_as {
        RunAs::User(kuid) => state
            .security
            .security
            .get_user(kuid)
            .await
            .map_err(from_security),
        RunAs::Plugin { name, profile_ids } => Ok(Arc::new(User {
            id: format!("{PLUGIN_KUID_PREFIX}{name}"),
            profile_ids: profile_ids.clone(),
            content: serde_json::Map::new(),
        })),
    }
}

/// Rejects a request naming an internal index (`%` prefix), such as the security index that
/// contains password hashes and tokens. The document store accepts such names from any caller, so
/// the funnel keeps every controller from reaching them.
fn reject_internal_index(request: &Request) -> Result<(), ApiError> {
    let mut indexes: Vec<String> = request.index().map(str::to_owned).into_iter().collect();
    if let Ok(Some(targets)) = request.optional_array("targets") {
        let named = targets
            .iter()
            .filter_map(|target| target.get("index").and_then(Value::as_str))
            .map(str::to_owned);
        indexes.extend(named);
    }
    indexes
        .iter()
        .try_for_each(|index| crate::controllers::store_args::check_public_index(index))
}

/// Checks the controller action on the request's index and collection, or on each of its
/// `targets` for a multi-index request.
fn check_rights(rights: &UserRights, request: &Request) -> Result<(), ApiError> {
    let (controller, action) = (request.controller.as_str(), request.action.as_str());
    // Over HTTP, `targets` is a JSON string in the query string, which `optional_array` parses.
    if let Some(targets) = request.optional_array("targets")? {
        let targets = Target::parse_list(&Value::Array(targets)).map_err(from_security)?;
        if rights.is_allowed_on_targets(controller, action, &targets) {
            return Ok(());
        }
        return Err(from_security(rights.denial(controller, action)));
    }
    rights
        .check(controller, action, request.index(), request.collection())
        .map_err(from_security)
}

fn check_rate_limits(
    state: &ServerState,
    rights: &UserRights,
    request: &Request,
) -> Result<(), ApiError> {
    let layer = &state.security;
    let now = now_ms();
    let kuid = rights.user().id.as_str();
    let logged_out = request.controller == "auth" && request.action == "logout";
    if !(logged_out && kuid != ANONYMOUS_KUID) {
        layer
            .rate_limiter
            .check(kuid, rights.rate_limit(), now)
            .map_err(from_security)?;
    }
    // NOTE: every HTTP request is a connection of its own, as in Kuzzle, so this limit only
    // slows down logins repeated on one WebSocket.
    if request.controller == "auth" && request.action == "login" {
        layer
            .login_limiter
            .check(&request.context.connection_id, now)
            .map_err(from_security)?;
    }
    Ok(())
}

/// Links a WebSocket connection to the token it used, so it gets `TokenExpired` at expiry.
fn link_connection(state: &ServerState, request: &Request, token: &AuthToken) {
    if request.context.protocol != Protocol::WebSocket {
        return;
    }
    if let Some(expires_at) = token.expires_at {
        state
            .security
            .expiry
            .link(&request.context.connection_id, &token.token, expires_at);
    }
}
