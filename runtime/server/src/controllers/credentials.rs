//! Credentials of every strategy, the built-in `local` one and those plugins provide, shared by
//! the `auth` actions on the current user and the `security` actions on any user.

use palisade_api::{ApiError, ApiResult, Request};
use palisade_security::SecurityError;
use palisade_security::local::{CREDENTIAL_FIELDS, LOCAL_STRATEGY};
use serde_json::{Value, json};

use crate::errors::from_security;
use crate::plugins::PluginStrategy;
use crate::state::ServerState;

/// The strategy a credentials action names.
#[derive(Debug, Clone)]
pub enum Strategy {
    /// The built-in username and password strategy.
    Local,
    /// A strategy that a plugin provides.
    Plugin(PluginStrategy),
}

impl Strategy {
    /// Returns the strategy's name.
    pub fn name(&self) -> &str {
        match self {
            Self::Local => LOCAL_STRATEGY,
            Self::Plugin(strategy) => &strategy.name,
        }
    }

    /// Returns the credential fields the strategy reads.
    pub fn fields(&self) -> Vec<String> {
        match self {
            Self::Local => CREDENTIAL_FIELDS
                .iter()
                .map(|&field| field.to_owned())
                .collect(),
            Self::Plugin(strategy) => strategy.fields(),
        }
    }
}

/// Returns the strategy the request's `strategy` argument names.
///
/// # Errors
///
/// `missing_argument` when absent, `security.credentials.unknown_strategy` for a name that is
/// neither `local` nor a loaded plugin's strategy.
pub fn strategy(state: &ServerState, request: &Request) -> Result<Strategy, ApiError> {
    let name = request.string("strategy")?;
    find(state, name)
}

/// Returns the strategy named `name`.
///
/// # Errors
///
/// `security.credentials.unknown_strategy` for an unknown name.
pub fn find(state: &ServerState, name: &str) -> Result<Strategy, ApiError> {
    if name == LOCAL_STRATEGY {
        return Ok(Strategy::Local);
    }
    let set = state.plugins.snapshot();
    match set.strategy(name) {
        Some(strategy) => Ok(Strategy::Plugin(strategy.clone())),
        None => Err(from_security(SecurityError::UnknownStrategy {
            strategy: name.to_owned(),
        })),
    }
}

/// Lists every strategy: `local`, then the plugins', by name.
pub fn all(state: &ServerState) -> Vec<Strategy> {
    let set = state.plugins.snapshot();
    let plugins = set.strategies().cloned().map(Strategy::Plugin);
    std::iter::once(Strategy::Local).chain(plugins).collect()
}

/// Returns the strategies a user has credentials for.
///
/// # Errors
///
/// The store error.
pub async fn strategies_of(state: &ServerState, kuid: &str) -> Result<Vec<String>, ApiError> {
    let layer = &state.security;
    let mut strategies = Vec::new();
    if layer.local.exists(kuid).await.map_err(from_security)? {
        strategies.push(LOCAL_STRATEGY.to_owned());
    }
    let plugins = layer
        .strategy_credentials
        .strategies_of(kuid)
        .await
        .map_err(from_security)?;
    strategies.extend(plugins);
    Ok(strategies)
}

/// Checks and stores new credentials of `kuid`.
///
/// # Errors
///
/// `security.credentials.rejected` for bad or duplicate credentials, or the plugin's error.
pub async fn create(
    state: &ServerState,
    strategy: &Strategy,
    kuid: &str,
    body: &Value,
) -> Result<Value, ApiError> {
    match strategy {
        Strategy::Local => create_local(state, kuid, body).await,
        Strategy::Plugin(strategy) => strategy.create(state, kuid, body).await,
    }
}

/// Checks and applies a change to the credentials of `kuid`.
///
/// # Errors
///
/// `security.credentials.rejected` when `kuid` has none or the change is invalid.
pub async fn update(
    state: &ServerState,
    strategy: &Strategy,
    kuid: &str,
    body: &Value,
) -> Result<Value, ApiError> {
    match strategy {
        Strategy::Local => update_local(state, kuid, body).await,
        Strategy::Plugin(strategy) => strategy.update(state, kuid, body).await,
    }
}

/// Checks credentials without storing them: as a creation when `kuid` has none, else as an
/// update.
///
/// # Errors
///
/// `security.credentials.rejected` with the reason, or the plugin's error.
pub async fn validate(
    state: &ServerState,
    strategy: &Strategy,
    kuid: &str,
    body: &Value,
) -> ApiResult {
    match strategy {
        Strategy::Local => validate_local(state, kuid, body).await,
        Strategy::Plugin(strategy) => {
            strategy.validate(state, kuid, body).await?;
            Ok(json!(true).into())
        }
    }
}

/// Deletes the credentials of `kuid`.
///
/// # Errors
///
/// `security.credentials.rejected` when the user has none.
pub async fn delete(state: &ServerState, strategy: &Strategy, kuid: &str) -> ApiResult {
    match strategy {
        Strategy::Local => delete_local(state, kuid).await,
        Strategy::Plugin(strategy) => {
            strategy.delete(state, kuid).await?;
            Ok(json!({"acknowledged": true}).into())
        }
    }
}

/// Returns what clients may see of the credentials of `kuid`, or `{}` when it has none.
///
/// # Errors
///
/// The store error, or the plugin's error.
pub async fn get(state: &ServerState, strategy: &Strategy, kuid: &str) -> ApiResult {
    match strategy {
        Strategy::Local => get_local(state, kuid).await,
        Strategy::Plugin(strategy) => Ok(strategy.get(state, kuid).await?.into()),
    }
}

/// Returns whether `kuid` has credentials.
///
/// # Errors
///
/// The store error.
pub async fn exists(state: &ServerState, strategy: &Strategy, kuid: &str) -> ApiResult {
    match strategy {
        Strategy::Local => exists_local(state, kuid).await,
        Strategy::Plugin(strategy) => Ok(json!(strategy.exists(state, kuid).await?).into()),
    }
}

fn password(parsed: &palisade_security::LocalCredentials) -> Option<String> {
    parsed.password.clone()
}

/// Validates and stores new credentials of `kuid`. Returns `{username, kuid}`.
///
/// # Errors
///
/// `security.credentials.rejected` for bad or duplicate credentials.
pub async fn create_local(
    state: &ServerState,
    kuid: &str,
    body: &Value,
) -> Result<Value, ApiError> {
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
async fn update_local(state: &ServerState, kuid: &str, body: &Value) -> Result<Value, ApiError> {
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
async fn validate_local(state: &ServerState, kuid: &str, body: &Value) -> ApiResult {
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
async fn delete_local(state: &ServerState, kuid: &str) -> ApiResult {
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
async fn get_local(state: &ServerState, kuid: &str) -> ApiResult {
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
async fn exists_local(state: &ServerState, kuid: &str) -> ApiResult {
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
