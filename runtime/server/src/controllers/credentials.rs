//! Credentials of the `local` strategy, shared by the `auth` actions on the current user and
//! the `security` actions on any user.

use palisade_api::{ApiError, ApiResult, Request};
use palisade_security::SecurityError;
use palisade_security::local::LOCAL_STRATEGY;
use serde_json::{Value, json};

use crate::errors::from_security;
use crate::state::ServerState;

/// Returns the request's `strategy` argument, which must name a known strategy.
///
/// # Errors
///
/// `missing_argument` when absent, `security.credentials.unknown_strategy` for another name.
pub fn strategy(request: &Request) -> Result<&str, ApiError> {
    let strategy = request.string("strategy")?;
    if strategy != LOCAL_STRATEGY {
        return Err(from_security(SecurityError::UnknownStrategy {
            strategy: strategy.to_owned(),
        }));
    }
    Ok(strategy)
}

/// Returns the strategies a user has credentials for.
///
/// # Errors
///
/// The store error.
pub async fn strategies_of(state: &ServerState, kuid: &str) -> Result<Vec<String>, ApiError> {
    let exists = state
        .security
        .local
        .exists(kuid)
        .await
        .map_err(from_security)?;
    Ok(if exists {
        vec![LOCAL_STRATEGY.to_owned()]
    } else {
        Vec::new()
    })
}

fn password(parsed: &palisade_security::LocalCredentials) -> Option<String> {
    parsed.password.clone()
}

/// Validates and stores new credentials of `kuid`. Returns `{username, kuid}`.
///
/// # Errors
///
/// `security.credentials.rejected` for bad or duplicate credentials.
pub async fn create(state: &ServerState, kuid: &str, body: &Value) -> Result<Value, ApiError> {
    let local = &state.security.local;
    let parsed = local
        .validate(kuid, body, false)
        .await
        .map_err(from_security)?;
    let (Some(username), Some(password)) = (parsed.username.clone(), password(&parsed)) else {
        return Err(ApiError::missing_argument("body.password"));
    };
    let hash = state.security.hash_password(password).await?;
    local
        .create(kuid, &username, &hash)
        .await
        .map_err(from_security)
}

/// Validates and applies a change of username, password or both. Returns `{username, kuid}`.
///
/// # Errors
///
/// `security.credentials.rejected` when `kuid` has no credentials or the username is taken.
pub async fn update(state: &ServerState, kuid: &str, body: &Value) -> Result<Value, ApiError> {
    let local = &state.security.local;
    let parsed = local
        .validate(kuid, body, true)
        .await
        .map_err(from_security)?;
    let hash = match password(&parsed) {
        Some(password) => Some(state.security.hash_password(password).await?),
        None => None,
    };
    local
        .update(kuid, parsed.username.as_deref(), hash.as_deref())
        .await
        .map_err(from_security)
}

/// Validates credentials without storing them: as a creation when `kuid` has none, else as an
/// update.
///
/// # Errors
///
/// `security.credentials.rejected` with the reason.
pub async fn validate(state: &ServerState, kuid: &str, body: &Value) -> ApiResult {
    let local = &state.security.local;
    let partial = local.exists(kuid).await.map_err(from_security)?;
    local
        .validate(kuid, body, partial)
        .await
        .map_err(from_security)?;
    Ok(json!(true).into())
}

/// Deletes the credentials of `kuid`.
///
/// # Errors
///
/// `security.credentials.rejected` when the user has none.
pub async fn delete(state: &ServerState, kuid: &str) -> ApiResult {
    let deleted = state
        .security
        .local
        .delete(kuid)
        .await
        .map_err(from_security)?;
    if !deleted {
        return Err(from_security(SecurityError::CredentialsRejected {
            strategy: LOCAL_STRATEGY.to_owned(),
            reason: format!("user `{kuid}` has no local credentials"),
        }));
    }
    Ok(json!({"acknowledged": true}).into())
}

/// Returns `{username, kuid}` of `kuid`'s credentials, or `{}` when it has none.
///
/// # Errors
///
/// The store error.
pub async fn get(state: &ServerState, kuid: &str) -> ApiResult {
    let info = state
        .security
        .local
        .get_info(kuid)
        .await
        .map_err(from_security)?;
    Ok(info.unwrap_or_else(|| json!({})).into())
}

/// Returns whether `kuid` has credentials.
///
/// # Errors
///
/// The store error.
pub async fn exists(state: &ServerState, kuid: &str) -> ApiResult {
    let exists = state
        .security
        .local
        .exists(kuid)
        .await
        .map_err(from_security)?;
    Ok(json!(exists).into())
}

/// Returns the request body, which must be an object, as a JSON value.
///
/// # Errors
///
/// `body_required` or `invalid_type`.
pub fn body(request: &Request) -> Result<Value, ApiError> {
    Ok(Value::Object(request.body_object()?.clone()))
}
