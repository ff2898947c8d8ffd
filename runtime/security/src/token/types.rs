//! The values the token manager takes and returns: settings, verified tokens and the
//! `auth:checkToken` result.

use std::fmt;

use serde_json::{Value, json};

use super::ExpiresIn;

/// Token settings, from `security.authToken` and `security.apiKey` of the configuration.
#[derive(Clone)]
pub struct TokenConfig {
    /// The signing secret. `None` generates a random one at first start and stores it.
    pub secret: Option<String>,
    /// Lifetime of a token when the request gives no `expiresIn`. Kuzzle's default is 1 hour.
    pub expires_in: ExpiresIn,
    /// Maximum lifetime of an authentication token in milliseconds. `None` is unlimited.
    pub max_ttl_ms: Option<u64>,
    /// How long a refreshed token stays valid after `auth:refreshToken`, in milliseconds.
    pub grace_period_ms: u64,
    /// Maximum lifetime of an API key in milliseconds. `None` is unlimited.
    pub api_key_max_ttl_ms: Option<u64>,
}

impl Default for TokenConfig {
    fn default() -> Self {
        Self {
            secret: None,
            expires_in: ExpiresIn::After(3_600_000),
            max_ttl_ms: None,
            grace_period_ms: 1000,
            api_key_max_ttl_ms: None,
        }
    }
}

impl fmt::Debug for TokenConfig {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("TokenConfig")
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("expires_in", &self.expires_in)
            .field("max_ttl_ms", &self.max_ttl_ms)
            .field("grace_period_ms", &self.grace_period_ms)
            .field("api_key_max_ttl_ms", &self.api_key_max_ttl_ms)
            .finish()
    }
}

/// Whether a token is an authentication token or an API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// A `kauth-` token from `auth:login`, `auth:createToken` or `auth:refreshToken`.
    Auth,
    /// A `kapikey-` token from `auth:createApiKey` or `security:createApiKey`.
    ApiKey,
}

/// A verified token.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthToken {
    /// The full token string, prefix included.
    pub token: String,
    /// The kuid of the user the token authenticates.
    pub kuid: String,
    /// Authentication token or API key.
    pub kind: TokenKind,
    /// When the token expires, in milliseconds since the Unix epoch. `None` for no expiry. The
    /// server uses it to send `TokenExpired` to a WebSocket connection at that time.
    pub expires_at: Option<u64>,
    /// The lifetime the token was issued with, in milliseconds. `None` for no expiry.
    pub ttl: Option<u64>,
    /// Whether the token is deleted on its first use.
    pub single_use: bool,
}

impl fmt::Debug for AuthToken {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("AuthToken")
            .field("token", &"<redacted>")
            .field("kuid", &self.kuid)
            .field("kind", &self.kind)
            .field("expires_at", &self.expires_at)
            .field("ttl", &self.ttl)
            .field("single_use", &self.single_use)
            .finish()
    }
}

/// Converts an optional millisecond value to the API's form, where -1 means never.
pub(super) fn millis_or_never(value: Option<u64>) -> Value {
    value.map_or(json!(-1), Value::from)
}

impl AuthToken {
    /// Builds the `auth:login` (and `auth:refreshToken`) result: `{_id, jwt, expiresAt, ttl}`.
    pub fn login_result(&self) -> Value {
        json!({
            "_id": self.kuid,
            "jwt": self.token,
            "expiresAt": millis_or_never(self.expires_at),
            "ttl": millis_or_never(self.ttl),
        })
    }

    /// Builds the `auth:createToken` result: `{token, expiresAt, ttl, singleUse}`.
    pub fn create_token_result(&self) -> Value {
        json!({
            "token": self.token,
            "expiresAt": millis_or_never(self.expires_at),
            "ttl": millis_or_never(self.ttl),
            "singleUse": self.single_use,
        })
    }
}

/// The result of `auth:checkToken`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckTokenResult {
    /// A valid token, or no token at all (the anonymous user, with no expiry).
    Valid {
        /// The user the token authenticates.
        kuid: String,
        /// Expiry in milliseconds since the Unix epoch. `None` for the anonymous user.
        expires_at: Option<u64>,
        /// Whether the token never expires (reported as `expiresAt: -1`).
        never_expires: bool,
    },
    /// An invalid or expired token, with the message of the error.
    Invalid {
        /// The message of the `security.token.*` error.
        state: String,
    },
}

impl CheckTokenResult {
    /// Serializes the result as Kuzzle does: `{valid: true, kuid, expiresAt}` (`expiresAt` null
    /// for the anonymous user, -1 for a token without expiry) or `{valid: false, state}`.
    pub fn to_json(&self) -> Value {
        match self {
            Self::Valid {
                kuid,
                expires_at,
                never_expires,
            } => {
                let expires_at = match (expires_at, never_expires) {
                    (_, true) => json!(-1),
                    (Some(at), false) => json!(at),
                    (None, false) => Value::Null,
                };
                json!({"valid": true, "kuid": kuid, "expiresAt": expires_at})
            }
            Self::Invalid { state } => json!({"valid": false, "state": state}),
        }
    }
}
