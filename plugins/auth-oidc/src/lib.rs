//! OpenID Connect login for Palisade: the authorization code flow with PKCE (S256), `state`
//! and `nonce`, against any provider with discovery.
//!
//! `GET /_login/<strategy>` redirects the browser to the provider. The provider redirects it
//! back to `redirectUri` (the same path) with `code` and `state`. The plugin then exchanges the
//! code, checks the ID token's signature against the provider's key set and its claims, and
//! returns the identity. `settings.rs` and `docs/strategies/oidc.md` describe the settings.

mod claims;
mod credentials;
mod flow;
mod jwks;
mod jwt;
mod mapping;
mod pkce;
mod provider;
pub mod settings;
mod token;

use palisade_plugin_sdk::{
    ApiError, Credentials, Manifest, Plugin, Request, Value, Verdict, environment, export_plugin,
};

use settings::Settings;

struct AuthOidc;

impl Plugin for AuthOidc {
    fn init(settings: Value) -> Result<Manifest, ApiError> {
        let settings = Settings::from_json(&settings)?;
        Ok(Manifest::new("auth-oidc", env!("CARGO_PKG_VERSION"))
            .strategy(settings.strategy, &["code", "state"]))
    }

    fn verify(strategy: &str, credentials: Value, _request: Request) -> Result<Verdict, ApiError> {
        let settings = settings_for(strategy)?;
        // The provider's callback carries `code` or `error`; anything else starts a login.
        if credentials.get("code").is_some() || credentials.get("error").is_some() {
            flow::finish(&settings, &credentials)
        } else {
            flow::start(&settings)
        }
    }

    fn create_credentials(
        strategy: &str,
        _kuid: &str,
        credentials: Value,
    ) -> Result<Credentials, ApiError> {
        credentials::from_request(&settings_for(strategy)?, &credentials)
    }

    fn update_credentials(
        strategy: &str,
        _kuid: &str,
        credentials: Value,
        _current: Credentials,
    ) -> Result<Credentials, ApiError> {
        credentials::from_request(&settings_for(strategy)?, &credentials)
    }

    fn credentials_info(
        strategy: &str,
        kuid: &str,
        current: Credentials,
    ) -> Result<Value, ApiError> {
        Ok(credentials::info(&settings_for(strategy)?, kuid, &current))
    }
}

/// Reads the settings `init` accepted, and checks that `strategy` is the one they name.
fn settings_for(strategy: &str) -> Result<Settings, ApiError> {
    let settings = Settings::from_json(&environment::settings())?;
    if strategy != settings.strategy {
        return Err(ApiError::new(
            400,
            "security.credentials.unknown_strategy",
            format!(
                "This plugin implements the strategy \"{}\", not \"{strategy}\".",
                settings.strategy
            ),
        )
        .prop(strategy));
    }
    Ok(settings)
}

export_plugin!(AuthOidc);
