//! Test plugin: the `static` authentication strategy, whose accounts are listed in the
//! plugin's settings, so the server's strategy tests need no identity provider.
//!
//! Settings: `accounts` maps a subject to `{password, profiles, email}`. A login body
//! `{"subject", "password"}` is checked against it. A body `{"start": true}` returns a redirect
//! to `/callback` with a one-time `state` kept in the host's store, and `{"state"}` completes
//! that flow for the subject stored with it.

use palisade_plugin_sdk::strategy::{Credentials, Identity, NextStep, Verdict};
use palisade_plugin_sdk::{
    ApiError, Manifest, Plugin, Request, Value, environment, export_plugin, json, store,
};

/// How long a redirect's state stays valid.
const STATE_TTL_MS: u64 = 60_000;

struct StaticStrategy;

impl Plugin for StaticStrategy {
    fn init(settings: Value) -> Result<Manifest, ApiError> {
        if !settings.get("accounts").is_some_and(Value::is_object) {
            return Err(ApiError::new(
                400,
                "plugin.config.invalid",
                "Missing setting \"accounts\": list the accounts as an object.",
            ));
        }
        let name = settings
            .get("strategy")
            .and_then(Value::as_str)
            .unwrap_or("static");
        Ok(Manifest::new("static-strategy", env!("CARGO_PKG_VERSION"))
            .strategy(name, &["subject", "password"]))
    }

    fn verify(_strategy: &str, credentials: Value, _request: Request) -> Result<Verdict, ApiError> {
        if credentials.get("start").is_some() {
            return start_redirect(&credentials);
        }
        if let Some(state) = credentials.get("state").and_then(Value::as_str) {
            return Ok(match store::take(state) {
                Some(subject) => Verdict::Authenticated(identity(&subject)),
                None => Verdict::Rejected(format!("unknown or used state {state}")),
            });
        }

        let subject = text(&credentials, "subject");
        let password = text(&credentials, "password");
        let Some(account) = account(subject) else {
            return Ok(Verdict::Rejected(format!("unknown subject {subject}")));
        };
        if password.is_empty() || account.get("password").and_then(Value::as_str) != Some(password)
        {
            return Ok(Verdict::Rejected(format!("wrong password for {subject}")));
        }
        Ok(Verdict::Authenticated(identity(subject)))
    }

    fn create_credentials(
        _strategy: &str,
        _kuid: &str,
        credentials: Value,
    ) -> Result<Credentials, ApiError> {
        let subject = text(&credentials, "subject");
        if account(subject).is_none() {
            return Err(ApiError::new(
                400,
                "security.credentials.rejected",
                format!("No account has the subject \"{subject}\": use a listed subject."),
            )
            .prop(subject));
        }
        Ok(Credentials::new(subject).document(json!({"linkedAt": environment::now_ms()})))
    }

    fn update_credentials(
        strategy: &str,
        kuid: &str,
        credentials: Value,
        _current: Credentials,
    ) -> Result<Credentials, ApiError> {
        Self::create_credentials(strategy, kuid, credentials)
    }
}

/// Returns a redirect to `/callback`, keeping a new state for the requested subject.
fn start_redirect(credentials: &Value) -> Result<Verdict, ApiError> {
    let subject = text(credentials, "subject");
    let state = hex(&environment::random_bytes(16));
    if !store::put_new(&state, subject, STATE_TTL_MS)? {
        return Err(ApiError::internal("a new random state was already in use"));
    }
    Ok(Verdict::NextStep(
        NextStep::redirect(format!("/callback?state={state}")).header("Cache-Control", "no-store"),
    ))
}

fn identity(subject: &str) -> Identity {
    let account = account(subject).unwrap_or(Value::Null);
    let profiles = account
        .get("profiles")
        .and_then(Value::as_array)
        .map(|profiles| {
            profiles
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let email = account.get("email").cloned().unwrap_or(Value::Null);
    Identity::new(subject)
        .profile_ids(profiles)
        .content(json!({"email": email}))
        .document(json!({"provisioned": true}))
}

fn account(subject: &str) -> Option<Value> {
    environment::settings()
        .get("accounts")
        .and_then(|accounts| accounts.get(subject))
        .cloned()
}

fn text<'a>(object: &'a Value, field: &str) -> &'a str {
    object
        .get(field)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

export_plugin!(StaticStrategy);
