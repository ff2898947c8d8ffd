//! The `auth` controller: login and logout, tokens, the current user, its rights, its
//! credentials and its API keys.

use async_trait::async_trait;
use palisade_api::{ApiError, ApiResult, ErrorId, Protocol, Request, Response};
use palisade_security::local::LOCAL_STRATEGY;
use palisade_security::token::AUTH_TOKEN_PREFIX;
use palisade_security::{ANONYMOUS_KUID, AuthToken, SecurityError, TokenKind};
use serde_json::{Value, json};

use super::{Controller, api_keys, cookie, credentials, users};
use crate::errors::from_security;
use crate::plugins::{LoginOutcome, PluginStrategy};
use crate::security::expires_in_arg;
use crate::state::ServerState;

/// Authentication actions.
#[derive(Debug)]
pub struct AuthController;

#[async_trait]
impl Controller for AuthController {
    fn name(&self) -> &'static str {
        "auth"
    }

    fn actions(&self) -> &'static [&'static str] {
        &[
            "checkRights",
            "checkToken",
            "createApiKey",
            "createMyCredentials",
            "createToken",
            "credentialsExist",
            "deleteApiKey",
            "deleteMyCredentials",
            "getCurrentUser",
            "getMyCredentials",
            "getMyRights",
            "getStrategies",
            "login",
            "logout",
            "refreshToken",
            "searchApiKeys",
            "updateMyCredentials",
            "updateSelf",
            "validateMyCredentials",
        ]
    }

    async fn handle(&self, state: &ServerState, action: &str, request: &Request) -> ApiResult {
        match action {
            "checkRights" => check_rights(state, request).await,
            "checkToken" => check_token(state, request).await,
            "createApiKey" => api_keys::create(state, logged_in(request, action)?, request).await,
            "createMyCredentials" => {
                let kuid = logged_in(request, action)?;
                let strategy = credentials::strategy(state, request)?;
                let body = credentials::body(request)?;
                Ok(credentials::create(state, &strategy, kuid, &body)
                    .await?
                    .into())
            }
            "createToken" => create_token(state, request).await,
            "credentialsExist" => {
                let strategy = credentials::strategy(state, request)?;
                credentials::exists(state, &strategy, current_kuid(request)).await
            }
            "deleteApiKey" => api_keys::delete(state, logged_in(request, action)?, request).await,
            "deleteMyCredentials" => {
                let kuid = logged_in(request, action)?;
                let strategy = credentials::strategy(state, request)?;
                credentials::delete(state, &strategy, kuid).await
            }
            "getCurrentUser" => get_current_user(state, request).await,
            "getMyCredentials" => {
                let strategy = credentials::strategy(state, request)?;
                credentials::get(state, &strategy, current_kuid(request)).await
            }
            "getMyRights" => {
                let rights = users::rights_of(state, current_kuid(request)).await?;
                Ok(rights.list_result().into())
            }
            "getStrategies" => {
                let names: Vec<String> = credentials::all(state)
                    .iter()
                    .map(|strategy| strategy.name().to_owned())
                    .collect();
                Ok(json!(names).into())
            }
            "login" => login(state, request).await,
            "logout" => logout(state, request).await,
            "refreshToken" => refresh_token(state, request).await,
            "searchApiKeys" => api_keys::search(state, current_kuid(request), request).await,
            "updateMyCredentials" => {
                let kuid = logged_in(request, action)?;
                let strategy = credentials::strategy(state, request)?;
                let body = credentials::body(request)?;
                Ok(credentials::update(state, &strategy, kuid, &body)
                    .await?
                    .into())
            }
            "updateSelf" => update_self(state, request).await,
            "validateMyCredentials" => {
                let strategy = credentials::strategy(state, request)?;
                let body = credentials::body(request)?;
                credentials::validate(state, &strategy, current_kuid(request), &body).await
            }
            _ => Err(ApiError::action_not_found(self.name(), action)),
        }
    }
}

/// Returns the kuid the funnel authenticated, `-1` for anonymous.
pub fn current_kuid(request: &Request) -> &str {
    request.context.kuid().unwrap_or(ANONYMOUS_KUID)
}

/// Returns the kuid of a logged-in user.
///
/// # Errors
///
/// `security.rights.unauthorized` for the anonymous user, who has nothing of its own to change.
/// The message names the action, unlike the funnel's, so a client can tell that the role
/// allowed the action.
fn logged_in<'a>(request: &'a Request, action: &str) -> Result<&'a str, ApiError> {
    let kuid = current_kuid(request);
    if kuid == ANONYMOUS_KUID {
        return Err(ApiError::new(
            ErrorId::SecurityRightsUnauthorized,
            format!("auth:{action} needs a logged-in user: log in first."),
        )
        .with_props(["auth", action]));
    }
    Ok(kuid)
}

/// Reads `cookieAuth`, which only HTTP honours and which needs `http.cookieAuthentication`.
fn cookie_auth(state: &ServerState, request: &Request) -> Result<bool, ApiError> {
    if !request.boolean("cookieAuth")? || request.context.protocol != Protocol::Http {
        return Ok(false);
    }
    if !state.config.http.cookie_authentication {
        return Err(ApiError::new(
            ErrorId::SecurityCookieUnsupported,
            "Cookie authentication is disabled (http.cookieAuthentication): send the token in \
             the Authorization header instead.",
        ));
    }
    Ok(true)
}

/// Builds the result of `login` and `refreshToken`: the token in the result, or in the
/// `authToken` cookie with `cookieAuth`.
fn token_response(state: &ServerState, request: &Request, token: &AuthToken) -> ApiResult {
    let mut result = token.login_result();
    if !cookie_auth(state, request)? {
        return Ok(result.into());
    }
    if let Some(object) = result.as_object_mut() {
        object.remove("jwt");
    }
    let mut response = Response::ok(result);
    response.headers.insert(
        "Set-Cookie".to_owned(),
        Value::from(cookie::set(&token.token, token.expires_at)),
    );
    Ok(response)
}

/// Links a WebSocket connection to a token it just obtained, for `TokenExpired`.
fn link_connection(state: &ServerState, request: &Request, token: &AuthToken) {
    if request.context.protocol == Protocol::WebSocket
        && let Some(expires_at) = token.expires_at
    {
        state
            .security
            .expiry
            .link(&request.context.connection_id, &token.token, expires_at);
    }
}

async fn login(state: &ServerState, request: &Request) -> ApiResult {
    if let credentials::Strategy::Plugin(strategy) = credentials::strategy(state, request)? {
        return plugin_login(state, request, &strategy).await;
    }
    let credentials = request
        .body
        .as_ref()
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_else(|| request.args.clone());
    let text = |name: &str| match credentials.get(name) {
        Some(Value::String(value)) if !value.is_empty() => Ok(value.clone()),
        _ => Err(from_security(SecurityError::WrongCredentials)),
    };
    let (username, password) = (text("username")?, text("password")?);
    let expires_in = expires_in_arg(request)?;

    let kuid = state.security.verify_login(&username, password).await?;
    let token = state
        .security
        .tokens
        .login_token(&kuid, expires_in)
        .await
        .map_err(from_security)?;
    link_connection(state, request, &token);
    tracing::info!(kuid = %kuid, strategy = LOCAL_STRATEGY, "user logged in");
    token_response(state, request, &token)
}

/// Logs in through a plugin's strategy. The strategy may return a step of a longer flow, such as
/// a redirect to an identity provider, instead of a token.
async fn plugin_login(
    state: &ServerState,
    request: &Request,
    strategy: &PluginStrategy,
) -> ApiResult {
    let expires_in = expires_in_arg(request)?;
    let kuid = match strategy.login(state, request).await? {
        LoginOutcome::LoggedIn { kuid } => kuid,
        LoginOutcome::NextStep(response) => return Ok(response),
    };

    let token = state
        .security
        .tokens
        .login_token(&kuid, expires_in)
        .await
        .map_err(from_security)?;
    link_connection(state, request, &token);
    tracing::info!(kuid = %kuid, strategy = %strategy.name, "user logged in");
    token_response(state, request, &token)
}

async fn logout(state: &ServerState, request: &Request) -> ApiResult {
    let cookie = cookie_auth(state, request)?;
    let kuid = current_kuid(request);
    if kuid != ANONYMOUS_KUID {
        let tokens = &state.security.tokens;
        if request.boolean("global")? {
            tokens.revoke_all(kuid).await.map_err(from_security)?;
        } else if let Some(jwt) = &request.jwt {
            let kind = if jwt.starts_with(AUTH_TOKEN_PREFIX) {
                TokenKind::Auth
            } else {
                TokenKind::ApiKey
            };
            let token = AuthToken {
                token: jwt.clone(),
                kuid: kuid.to_owned(),
                kind,
                expires_at: None,
                ttl: None,
                single_use: false,
            };
            tokens.logout(&token).await.map_err(from_security)?;
        }
        state
            .security
            .expiry
            .unlink(&request.context.connection_id, request.jwt.as_deref());
    }

    let mut response = Response::ok(json!({"acknowledged": true}));
    if cookie {
        response
            .headers
            .insert("Set-Cookie".to_owned(), Value::from(cookie::clear()));
    }
    Ok(response)
}

async fn check_token(state: &ServerState, request: &Request) -> ApiResult {
    let body_token = match request.body.as_ref().and_then(|body| body.get("token")) {
        None | Some(Value::Null) => None,
        Some(Value::String(token)) => Some(token.as_str()),
        Some(_) => return Err(ApiError::invalid_type("body.token", "string")),
    };
    // With `cookieAuth`, the token to check is the cookie, which the HTTP layer put in `jwt`.
    let token = match body_token {
        Some(token) => Some(token),
        None if cookie_auth(state, request)? => request.jwt.as_deref(),
        None => None,
    };
    let result = state
        .security
        .tokens
        .check_token(token)
        .await
        .map_err(from_security)?;
    Ok(result.to_json().into())
}

async fn refresh_token(state: &ServerState, request: &Request) -> ApiResult {
    let kuid = logged_in(request, "refreshToken")?;
    let Some(jwt) = &request.jwt else {
        return Err(ApiError::missing_argument("jwt"));
    };
    let tokens = &state.security.tokens;
    let current = tokens.verify(jwt).await.map_err(from_security)?;
    if current.kuid != kuid {
        return Err(from_security(SecurityError::TokenInvalid {
            reason: "the token does not belong to the current user".to_owned(),
        }));
    }
    let expires_in = expires_in_arg(request)?;
    let refreshed = tokens
        .refresh(&current, expires_in)
        .await
        .map_err(from_security)?;
    link_connection(state, request, &refreshed);
    token_response(state, request, &refreshed)
}

async fn create_token(state: &ServerState, request: &Request) -> ApiResult {
    let kuid = logged_in(request, "createToken")?;
    let expires_in = expires_in_arg(request)?;
    let single_use = request.boolean("singleUse")?;
    let token = state
        .security
        .tokens
        .create_token(kuid, expires_in, single_use)
        .await
        .map_err(from_security)?;
    Ok(token.create_token_result().into())
}

async fn get_current_user(state: &ServerState, request: &Request) -> ApiResult {
    let kuid = current_kuid(request);
    let user = state
        .security
        .security
        .get_user(kuid)
        .await
        .map_err(from_security)?;
    let mut result = users::user_json(&user);
    let strategies = credentials::strategies_of(state, kuid).await?;
    result["strategies"] = json!(strategies);
    Ok(result.into())
}

async fn check_rights(state: &ServerState, request: &Request) -> ApiResult {
    let rights = users::rights_of(state, current_kuid(request)).await?;
    users::check_rights_result(&rights, request)
}

async fn update_self(state: &ServerState, request: &Request) -> ApiResult {
    let kuid = logged_in(request, "updateSelf")?;
    let body = request.body_object()?;
    for forbidden in ["_id", "profileIds"] {
        if body.contains_key(forbidden) {
            return Err(ApiError::new(
                ErrorId::ApiAssertForbiddenArgument,
                format!(
                    "The request must not contain a \"body.{forbidden}\" argument: a user cannot \
                     change its own {forbidden}."
                ),
            )
            .with_props([format!("body.{forbidden}")]));
        }
    }
    let user = users::update(state, kuid, body, kuid).await?;
    Ok(users::user_json(&user).into())
}
