//! LDAP authentication strategy: checks a username and password against an LDAP directory with
//! a simple bind, and maps the user's groups to profiles. The bind DN comes from a template or
//! from the entry that a service account finds.
//!
//! The plugin speaks LDAPv3 (RFC 4511) itself over the host's `tcp` connections, with TLS from
//! the start (`ldaps://`) or through StartTLS. `docs/strategies/ldap.md` describes the settings.

mod ber;
mod client;
mod credentials;
mod escape;
mod filter;
mod login;
mod protocol;
mod settings;
mod transport;
mod url;

use palisade_plugin_sdk::{
    ApiError, Credentials, Manifest, Plugin, Request, Value, Verdict, export_plugin, log,
};

use login::Attempt;
use settings::Settings;

struct AuthLdap;

impl Plugin for AuthLdap {
    fn init(settings: Value) -> Result<Manifest, ApiError> {
        let settings = Settings::from_init(&settings)?;
        log::info(&format!(
            "LDAP strategy \"{}\" uses {}:{}",
            settings.strategy, settings.url.host, settings.url.port
        ));
        Ok(Manifest::new("auth-ldap", env!("CARGO_PKG_VERSION"))
            .strategy(settings.strategy, &["username", "password"]))
    }

    fn verify(strategy: &str, credentials: Value, _request: Request) -> Result<Verdict, ApiError> {
        let settings = settings_for(strategy)?;
        let Some(attempt) = attempt(&credentials)? else {
            return Ok(Verdict::Rejected("missing username or password".to_owned()));
        };
        if attempt.password.is_empty() {
            // Checked before connecting too: an empty password never reaches a bind.
            return Ok(Verdict::Rejected("empty password".to_owned()));
        }

        // The client gets the error as it is; the operator gets it in the logs with the server.
        transport::connect(&settings)
            .and_then(|client| login::verify(&settings, client, &attempt))
            .inspect_err(|error| {
                log::warn(&format!(
                    "LDAP login through {}:{} failed: {error}",
                    settings.url.host, settings.url.port
                ));
            })
    }

    fn create_credentials(
        strategy: &str,
        _kuid: &str,
        credentials: Value,
    ) -> Result<Credentials, ApiError> {
        let settings = settings_for(strategy)?;
        credentials::create(&settings, &credentials)
    }

    fn update_credentials(
        strategy: &str,
        _kuid: &str,
        credentials: Value,
        _current: Credentials,
    ) -> Result<Credentials, ApiError> {
        let settings = settings_for(strategy)?;
        credentials::create(&settings, &credentials)
    }

    fn credentials_info(
        strategy: &str,
        kuid: &str,
        current: Credentials,
    ) -> Result<Value, ApiError> {
        settings_for(strategy)?;
        Ok(credentials::info(kuid, &current))
    }
}

/// Reads the settings, checking that `strategy` is the one they name.
fn settings_for(strategy: &str) -> Result<Settings, ApiError> {
    let settings = Settings::for_calls()?;
    if settings.strategy != strategy {
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

/// Reads `{username, password}`: `None` when either is missing or the username is empty or
/// longer than [`credentials::MAX_USERNAME_BYTES`], an error when either is not a string.
fn attempt(credentials: &Value) -> Result<Option<Attempt<'_>>, ApiError> {
    let field = |name: &str| match credentials.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(value)) => Ok(Some(value.as_str())),
        Some(_) => Err(ApiError::invalid_type(name, "string")),
    };
    let username = field("username")?;
    let password = field("password")?;

    match (username, password) {
        (Some(username), Some(password))
            if !username.is_empty() && username.len() <= credentials::MAX_USERNAME_BYTES =>
        {
            Ok(Some(Attempt { username, password }))
        }
        _ => Ok(None),
    }
}

export_plugin!(AuthLdap);
