//! The authorization code flow: the redirect to the provider, then its callback.

use palisade_plugin_sdk::{ApiError, NextStep, Value, Verdict, environment, json, store};
use serde::Deserialize;
use url::Url;

use crate::claims::{self, Expected};
use crate::jwt::Jwt;
use crate::pkce::{random_token, s256_challenge};
use crate::settings::Settings;
use crate::{mapping, provider, token};

/// Secrets of a started login, kept under its `state` until the callback.
#[derive(Debug, Deserialize)]
struct PendingLogin {
    verifier: String,
    nonce: String,
}

/// Starts a login: keeps a new state with its nonce and PKCE verifier, and redirects the
/// browser to the provider's authorization endpoint.
///
/// # Errors
///
/// A 502 when discovery fails, and the store's error when the state cannot be kept.
pub fn start(settings: &Settings) -> Result<Verdict, ApiError> {
    let metadata = provider::metadata(settings)?;
    let state = random_token();
    let nonce = random_token();
    let verifier = random_token();

    let pending = json!({"verifier": verifier, "nonce": nonce}).to_string();
    let ttl_ms = settings.state_ttl_seconds.saturating_mul(1000);
    if !store::put_new(&state_key(&state), &pending, ttl_ms)? {
        return Err(ApiError::internal(
            "A new login state collided with a pending one; retry the login.",
        ));
    }

    let mut url = Url::parse(&metadata.authorization_endpoint).map_err(|error| {
        provider::provider_error(format!(
            "The authorization endpoint \"{}\" is not a URL: {error}.",
            metadata.authorization_endpoint
        ))
    })?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &settings.client_id)
        .append_pair("redirect_uri", &settings.redirect_uri)
        .append_pair("scope", &settings.scopes.join(" "))
        .append_pair("state", &state)
        .append_pair("nonce", &nonce)
        .append_pair("code_challenge", &s256_challenge(&verifier))
        .append_pair("code_challenge_method", "S256");

    // The redirect carries a one-time state, so no cache may keep it.
    let redirect = NextStep::redirect(url.to_string()).header("Cache-Control", "no-store");
    Ok(Verdict::NextStep(redirect))
}

/// Finishes a login from the provider's callback arguments: `code` and `state`, or `error`.
///
/// # Errors
///
/// A 502 when the provider fails; wrong or replayed callbacks are a [`Verdict::Rejected`].
pub fn finish(settings: &Settings, callback: &Value) -> Result<Verdict, ApiError> {
    let state = callback.get("state").and_then(Value::as_str);
    // The state is used up by any callback, so a failed attempt cannot be replayed.
    let pending = state.and_then(|state| store::take(&state_key(state)));

    if let Some(error) = callback.get("error") {
        let description = callback.get("error_description").unwrap_or(&Value::Null);
        return Ok(Verdict::Rejected(format!(
            "the provider returned the error {error} ({description})"
        )));
    }
    let Some(code) = callback.get("code").and_then(Value::as_str) else {
        return Ok(Verdict::Rejected(
            "the callback has no string code".to_owned(),
        ));
    };
    let Some(pending) = pending else {
        let reason = match state {
            Some(_) => "the callback state is unknown, expired or already used",
            None => "the callback has no state",
        };
        return Ok(Verdict::Rejected(reason.to_owned()));
    };
    let pending: PendingLogin = serde_json::from_str(&pending).map_err(|error| {
        ApiError::internal(format!("A stored login state is invalid: {error}."))
    })?;

    // RFC 9207: a provider that names itself in the callback must be the configured one.
    if let Some(iss) = callback.get("iss")
        && iss.as_str() != Some(settings.issuer.as_str())
    {
        return Ok(Verdict::Rejected(format!(
            "the callback comes from the issuer {iss}, not \"{}\"",
            settings.issuer
        )));
    }

    let metadata = provider::metadata(settings)?;
    let id_token = match token::exchange_code(settings, &metadata, code, &pending.verifier)? {
        Ok(id_token) => id_token,
        Err(reason) => return Ok(Verdict::Rejected(reason)),
    };
    verify_id_token(settings, &metadata, &id_token, &pending.nonce)
}

/// Checks the ID token's signature and claims and maps it to an identity.
fn verify_id_token(
    settings: &Settings,
    metadata: &provider::Metadata,
    id_token: &str,
    nonce: &str,
) -> Result<Verdict, ApiError> {
    let jwt = match Jwt::parse(id_token) {
        Ok(jwt) => jwt,
        Err(reason) => return Ok(Verdict::Rejected(reason)),
    };
    let key = match provider::signing_key(settings, metadata, &jwt.header)? {
        Ok(key) => key,
        Err(reason) => return Ok(Verdict::Rejected(reason)),
    };
    if let Err(reason) = jwt.verify_signature(&key) {
        return Ok(Verdict::Rejected(reason));
    }

    let expected = Expected {
        issuer: &settings.issuer,
        client_id: &settings.client_id,
        nonce,
        now_seconds: environment::now_ms() / 1000,
        clock_skew_seconds: settings.clock_skew_seconds,
    };
    if let Err(reason) = claims::check(&jwt.claims, &expected) {
        return Ok(Verdict::Rejected(reason));
    }

    Ok(match mapping::identity(&jwt.claims, settings) {
        Ok(identity) => Verdict::Authenticated(identity),
        Err(reason) => Verdict::Rejected(reason),
    })
}

fn state_key(state: &str) -> String {
    format!("state:{state}")
}
