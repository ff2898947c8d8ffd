//! The provider's discovery document and key set, fetched through the host's outbound HTTP and
//! cached in the plugin store, because a call may run in a fresh instance.

use palisade_plugin_sdk::http::{self, OutgoingRequest};
use palisade_plugin_sdk::{ApiError, log, store};
use serde::Deserialize;

use crate::jwks::{Jwk, JwkSet, KeyLookup};
use crate::jwt::Header;
use crate::settings::Settings;

/// How long the discovery document and the key set stay cached. A rotated key is picked up
/// sooner: an unknown `kid` refetches the key set.
const CACHE_TTL_MS: u64 = 10 * 60 * 1000;

/// The endpoints of the provider's discovery document that the flow uses.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Metadata {
    /// Issuer identifier; must equal the configured `issuer`.
    pub issuer: String,
    /// Authorization endpoint, the provider's login page for the browser.
    pub authorization_endpoint: String,
    /// Token endpoint, which exchanges the code for tokens.
    pub token_endpoint: String,
    /// The provider's key set.
    pub jwks_uri: String,
}

/// Returns the provider's metadata from `<issuer>/.well-known/openid-configuration`.
///
/// # Errors
///
/// A 502 `plugin.oidc.provider_error` when the provider is unreachable, returns an error or a
/// document for another issuer.
pub fn metadata(settings: &Settings) -> Result<Metadata, ApiError> {
    let url = format!(
        "{}/.well-known/openid-configuration",
        settings.issuer.trim_end_matches('/')
    );
    let cache_key = format!("discovery:{url}");
    let text = match store::get(&cache_key) {
        Some(text) => text,
        None => {
            let text = get(&url, settings.http_timeout_ms)?;
            cache(&cache_key, &text);
            text
        }
    };

    let metadata: Metadata = serde_json::from_str(&text).map_err(|error| {
        provider_error(format!(
            "The discovery document at {url} is invalid: {error}."
        ))
    })?;
    if metadata.issuer != settings.issuer {
        return Err(provider_error(format!(
            "The discovery document at {url} is for the issuer \"{}\", not the configured \"{}\"; set \"issuer\" to the provider's issuer identifier.",
            metadata.issuer, settings.issuer
        )));
    }
    Ok(metadata)
}

/// Returns the key that signed a token with `header`. A key set without that key is fetched
/// again once, because the provider may have rotated its keys since it was cached.
///
/// # Errors
///
/// `Ok(Err(reason))` when no key fits, and a 502 `plugin.oidc.provider_error` when the key set
/// cannot be fetched.
pub fn signing_key(
    settings: &Settings,
    metadata: &Metadata,
    header: &Header,
) -> Result<Result<Jwk, String>, ApiError> {
    let cache_key = format!("jwks:{}", metadata.jwks_uri);
    let cached = store::get(&cache_key);
    let refreshed = cached.is_none();
    let text = match cached {
        Some(text) => text,
        None => fetch_key_set(settings, metadata, &cache_key)?,
    };

    match lookup(&text, header, &metadata.jwks_uri)? {
        KeyOutcome::Found(key) => return Ok(Ok(key)),
        KeyOutcome::Ambiguous => return Ok(Err(ambiguous())),
        KeyOutcome::NotFound if refreshed => return Ok(Err(not_found(header))),
        KeyOutcome::NotFound => {}
    }

    log::info(&format!(
        "auth-oidc: no key for kid \"{}\" in the cached key set of {}, so it is fetched again",
        header.kid.as_deref().unwrap_or(""),
        metadata.jwks_uri
    ));
    let text = fetch_key_set(settings, metadata, &cache_key)?;
    Ok(match lookup(&text, header, &metadata.jwks_uri)? {
        KeyOutcome::Found(key) => Ok(key),
        KeyOutcome::Ambiguous => Err(ambiguous()),
        KeyOutcome::NotFound => Err(not_found(header)),
    })
}

enum KeyOutcome {
    Found(Jwk),
    NotFound,
    Ambiguous,
}

fn lookup(text: &str, header: &Header, url: &str) -> Result<KeyOutcome, ApiError> {
    let set: JwkSet = serde_json::from_str(text)
        .map_err(|error| provider_error(format!("The key set at {url} is invalid: {error}.")))?;
    Ok(match set.find(header) {
        KeyLookup::Found(key) => KeyOutcome::Found(key.clone()),
        KeyLookup::NotFound => KeyOutcome::NotFound,
        KeyLookup::Ambiguous => KeyOutcome::Ambiguous,
    })
}

fn ambiguous() -> String {
    "the ID token header has no kid and the provider has several signature keys".to_owned()
}

fn not_found(header: &Header) -> String {
    format!(
        "the provider's key set has no {} key with kid \"{}\"",
        header.alg,
        header.kid.as_deref().unwrap_or("")
    )
}

/// Fetches the key set and replaces the cached copy.
fn fetch_key_set(
    settings: &Settings,
    metadata: &Metadata,
    cache_key: &str,
) -> Result<String, ApiError> {
    let text = get(&metadata.jwks_uri, settings.http_timeout_ms)?;
    store::take(cache_key);
    cache(cache_key, &text);
    Ok(text)
}

/// Caches `text`; a failure only costs a fetch on the next login.
fn cache(key: &str, text: &str) {
    if let Err(error) = store::put_new(key, text, CACHE_TTL_MS) {
        log::warn(&format!("auth-oidc: cannot cache {key}: {error}"));
    }
}

fn get(url: &str, timeout_ms: u32) -> Result<String, ApiError> {
    let request = OutgoingRequest {
        method: "GET".to_owned(),
        url: url.to_owned(),
        headers: vec![("Accept".to_owned(), "application/json".to_owned())],
        body: Vec::new(),
        timeout_ms,
    };
    let response = http::send(&request)?;
    if response.status != 200 {
        return Err(provider_error(format!(
            "GET {url} returned HTTP {} instead of 200.",
            response.status
        )));
    }
    String::from_utf8(response.body)
        .map_err(|_| provider_error(format!("GET {url} returned a body that is not UTF-8.")))
}

/// Creates the 502 error of a provider that does not behave as OpenID Connect requires.
pub fn provider_error(message: String) -> ApiError {
    ApiError::new(502, "plugin.oidc.provider_error", message)
}
