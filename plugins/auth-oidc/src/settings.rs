//! The plugin's settings: the `[settings]` table of `auth-oidc.toml`.

use std::collections::BTreeMap;

use palisade_plugin_sdk::{ApiError, Value};
use url::Url;

/// Strategy name when the settings name none.
pub const DEFAULT_STRATEGY: &str = "oidc";

const DEFAULT_SCOPES: &[&str] = &["openid", "email", "profile"];
const DEFAULT_SUBJECT_CLAIM: &str = "sub";
const DEFAULT_CONTENT_CLAIMS: &[&str] = &["email", "name"];
const DEFAULT_CLOCK_SKEW_SECONDS: u64 = 60;
const DEFAULT_STATE_TTL_SECONDS: u64 = 600;
const DEFAULT_HTTP_TIMEOUT_MS: u32 = 10_000;

/// Client authentication method at the token endpoint (OpenID Connect Core 1.0, section 9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// HTTP Basic authentication with the client id and secret.
    SecretBasic,
    /// The client id and secret as form fields of the token request.
    SecretPost,
}

/// The parsed settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Name of the strategy, as in `auth:login?strategy=<name>` and `/_login/<name>`.
    pub strategy: String,
    /// Issuer identifier: discovery reads `<issuer>/.well-known/openid-configuration`, and ID
    /// tokens must carry exactly this `iss`.
    pub issuer: String,
    /// Client id registered at the provider.
    pub client_id: String,
    /// Client secret registered at the provider.
    pub client_secret: String,
    /// Client authentication at the token endpoint.
    pub client_auth: ClientAuth,
    /// Callback URL registered at the provider: Palisade's `/_login/<strategy>`.
    pub redirect_uri: String,
    /// Scopes of the authorization request; always includes `openid`.
    pub scopes: Vec<String>,
    /// Claim whose value is the user's subject in Palisade.
    pub subject_claim: String,
    /// User content field → claim name, copied into the content of users created on first
    /// login.
    pub content_claims: BTreeMap<String, String>,
    /// Claim whose string or string-array value selects profiles through `profiles`.
    pub profiles_claim: Option<String>,
    /// Claim value → profile id.
    pub profiles: BTreeMap<String, String>,
    /// Tolerance in seconds when checking `exp` and `iat`.
    pub clock_skew_seconds: u64,
    /// Seconds a started login (state, nonce and PKCE verifier) stays valid.
    pub state_ttl_seconds: u64,
    /// Milliseconds before a request to the provider fails.
    pub http_timeout_ms: u32,
}

impl Settings {
    /// Reads the settings that `init` receives.
    ///
    /// # Errors
    ///
    /// A 400 `plugin.config.invalid` error naming the first missing or invalid key.
    pub fn from_json(settings: &Value) -> Result<Self, ApiError> {
        let issuer = required_string(settings, "issuer")?;
        check_http_url(&issuer, "issuer")?;
        let redirect_uri = required_string(settings, "redirectUri")?;
        check_http_url(&redirect_uri, "redirectUri")?;

        let mut scopes = optional_string_list(settings, "scopes")?
            .unwrap_or_else(|| DEFAULT_SCOPES.iter().map(|&s| s.to_owned()).collect());
        if !scopes.iter().any(|scope| scope == "openid") {
            scopes.insert(0, "openid".to_owned());
        }

        Ok(Self {
            strategy: optional_string(settings, "strategy")?
                .unwrap_or_else(|| DEFAULT_STRATEGY.to_owned()),
            issuer,
            client_id: required_string(settings, "clientId")?,
            client_secret: required_string(settings, "clientSecret")?,
            client_auth: client_auth(settings)?,
            redirect_uri,
            scopes,
            subject_claim: optional_string(settings, "subjectClaim")?
                .unwrap_or_else(|| DEFAULT_SUBJECT_CLAIM.to_owned()),
            content_claims: content_claims(settings)?,
            profiles_claim: optional_string(settings, "profilesClaim")?,
            profiles: string_map(settings, "profiles")?.unwrap_or_default(),
            clock_skew_seconds: optional_u64(settings, "clockSkewSeconds")?
                .unwrap_or(DEFAULT_CLOCK_SKEW_SECONDS),
            state_ttl_seconds: positive_u64(settings, "stateTtlSeconds")?
                .unwrap_or(DEFAULT_STATE_TTL_SECONDS),
            http_timeout_ms: http_timeout(settings)?,
        })
    }
}

fn invalid(key: &str, message: &str) -> ApiError {
    ApiError::new(
        400,
        "plugin.config.invalid",
        format!("Invalid auth-oidc setting \"{key}\": {message}"),
    )
    .prop(key)
}

fn required_string(settings: &Value, key: &str) -> Result<String, ApiError> {
    optional_string(settings, key)?.ok_or_else(|| {
        invalid(
            key,
            "missing; set it in the [settings] table of auth-oidc.toml.",
        )
    })
}

fn optional_string(settings: &Value, key: &str) -> Result<Option<String>, ApiError> {
    match settings.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) if !text.trim().is_empty() => Ok(Some(text.clone())),
        Some(_) => Err(invalid(key, "expected a non-empty string.")),
    }
}

fn optional_string_list(settings: &Value, key: &str) -> Result<Option<Vec<String>>, ApiError> {
    let items = match settings.get(key) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(invalid(key, "expected an array of strings.")),
    };

    items
        .iter()
        .map(|item| match item {
            Value::String(text) if !text.is_empty() => Ok(text.clone()),
            _ => Err(invalid(key, "expected an array of non-empty strings.")),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

fn string_map(settings: &Value, key: &str) -> Result<Option<BTreeMap<String, String>>, ApiError> {
    let entries = match settings.get(key) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(entries)) => entries,
        Some(_) => return Err(invalid(key, "expected a table of strings.")),
    };

    entries
        .iter()
        .map(|(name, value)| match value {
            Value::String(text) if !text.is_empty() => Ok((name.clone(), text.clone())),
            _ => Err(invalid(
                key,
                &format!("the value of \"{name}\" must be a non-empty string."),
            )),
        })
        .collect::<Result<BTreeMap<_, _>, _>>()
        .map(Some)
}

/// Reads `contentClaims`: an array of claim names copied under the same name, or a table of
/// content field → claim name.
fn content_claims(settings: &Value) -> Result<BTreeMap<String, String>, ApiError> {
    const KEY: &str = "contentClaims";
    if let Some(Value::Object(_)) = settings.get(KEY) {
        return Ok(string_map(settings, KEY)?.unwrap_or_default());
    }

    let names = optional_string_list(settings, KEY)?.unwrap_or_else(|| {
        DEFAULT_CONTENT_CLAIMS
            .iter()
            .map(|&s| s.to_owned())
            .collect()
    });
    Ok(names.into_iter().map(|name| (name.clone(), name)).collect())
}

fn client_auth(settings: &Value) -> Result<ClientAuth, ApiError> {
    const KEY: &str = "tokenEndpointAuthMethod";
    match optional_string(settings, KEY)?.as_deref() {
        None | Some("client_secret_basic") => Ok(ClientAuth::SecretBasic),
        Some("client_secret_post") => Ok(ClientAuth::SecretPost),
        Some(_) => Err(invalid(
            KEY,
            "expected \"client_secret_basic\" or \"client_secret_post\".",
        )),
    }
}

fn optional_u64(settings: &Value, key: &str) -> Result<Option<u64>, ApiError> {
    match settings.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_u64()
            .map(Some)
            .ok_or_else(|| invalid(key, "expected a whole number of seconds, 0 or more.")),
    }
}

fn positive_u64(settings: &Value, key: &str) -> Result<Option<u64>, ApiError> {
    match optional_u64(settings, key)? {
        Some(0) => Err(invalid(key, "expected a whole number of seconds above 0.")),
        other => Ok(other),
    }
}

fn http_timeout(settings: &Value) -> Result<u32, ApiError> {
    const KEY: &str = "httpTimeoutMs";
    match positive_u64(settings, KEY)? {
        None => Ok(DEFAULT_HTTP_TIMEOUT_MS),
        Some(value) => {
            u32::try_from(value).map_err(|_| invalid(KEY, "expected at most 4294967295."))
        }
    }
}

/// Accepts only absolute `http` or `https` URLs without a fragment.
fn check_http_url(text: &str, key: &str) -> Result<(), ApiError> {
    let url = Url::parse(text).map_err(|error| invalid(key, &format!("invalid URL ({error}).")))?;
    if !matches!(url.scheme(), "http" | "https") || url.fragment().is_some() {
        return Err(invalid(
            key,
            "expected an http:// or https:// URL without a fragment.",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_plugin_sdk::json;

    fn minimal() -> Value {
        json!({
            "issuer": "http://127.0.0.1:4000/",
            "clientId": "palisade",
            "clientSecret": "secret",
            "redirectUri": "http://127.0.0.1:7512/_login/oidc",
        })
    }

    #[test]
    fn defaults_filled_in() {
        let settings = Settings::from_json(&minimal()).expect("valid settings");

        assert_eq!(settings.strategy, "oidc");
        assert_eq!(settings.issuer, "http://127.0.0.1:4000/");
        assert_eq!(settings.client_auth, ClientAuth::SecretBasic);
        assert_eq!(settings.scopes, ["openid", "email", "profile"]);
        assert_eq!(settings.subject_claim, "sub");
        assert_eq!(
            settings.content_claims.get("email").map(String::as_str),
            Some("email")
        );
        assert_eq!(
            settings.content_claims.get("name").map(String::as_str),
            Some("name")
        );
        assert_eq!(settings.clock_skew_seconds, 60);
        assert_eq!(settings.state_ttl_seconds, 600);
        assert!(settings.profiles_claim.is_none());
    }

    #[test]
    fn missing_key_named() {
        for key in ["issuer", "clientId", "clientSecret", "redirectUri"] {
            let mut settings = minimal();
            settings.as_object_mut().unwrap().remove(key);

            let error = Settings::from_json(&settings).expect_err("missing key");

            assert_eq!(error.status, 400, "{key}");
            assert_eq!(error.id, "plugin.config.invalid", "{key}");
            assert_eq!(error.props, [key], "{key}");
            assert!(error.message.contains(key), "{}", error.message);
        }
    }

    #[test]
    fn invalid_values_named() {
        let cases = [
            ("issuer", json!("not a url")),
            ("issuer", json!("ftp://127.0.0.1/")),
            ("redirectUri", json!(42)),
            ("scopes", json!("openid")),
            ("contentClaims", json!([1])),
            ("clockSkewSeconds", json!(-1)),
            ("stateTtlSeconds", json!(0)),
            ("tokenEndpointAuthMethod", json!("private_key_jwt")),
            ("profiles", json!({"admins": 1})),
        ];
        for (key, value) in cases {
            let mut settings = minimal();
            settings[key] = value.clone();

            let error = Settings::from_json(&settings).expect_err("invalid value");

            assert_eq!(error.props, [key], "{key} = {value}");
        }
    }

    #[test]
    fn openid_scope_added() {
        let mut settings = minimal();
        settings["scopes"] = json!(["email"]);

        let settings = Settings::from_json(&settings).expect("valid settings");

        assert_eq!(settings.scopes, ["openid", "email"]);
    }

    #[test]
    fn content_claims_table_read() {
        let mut settings = minimal();
        settings["contentClaims"] = json!({"mail": "email", "fullName": "name"});

        let settings = Settings::from_json(&settings).expect("valid settings");

        assert_eq!(settings.content_claims.len(), 2);
        assert_eq!(settings.content_claims["mail"], "email");
        assert_eq!(settings.content_claims["fullName"], "name");
    }
}
