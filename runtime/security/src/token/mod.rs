//! Authentication tokens and API keys: HS256 JWTs with the claims the Kuzzle SDK reads, and a
//! token registry so that logout and revocation take effect before a token expires.
//!
//! A token string is a prefix (`kauth-` for authentication tokens, `kapikey-` for API keys)
//! followed by a JWT whose payload is `{_id, iat, exp?, jti}` (`iat` and `exp` in seconds).
//! The SDK decodes `_id` and `exp`. `jti` is a random id that makes every token distinct, so
//! that two tokens issued to one user within the same second (a refresh, for example) can be
//! revoked separately.
//!
//! The registry and the API key collection key their entries by the SHA-256 fingerprint of the
//! full token string, so neither stores a usable token.

mod api_key;
mod expires_in;
mod registry_cache;
mod types;

use std::fmt;
use std::sync::Arc;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub use api_key::ApiKey;
pub use expires_in::{ExpiresIn, parse_duration, parse_expires_in};
use types::millis_or_never;
pub use types::{AuthToken, CheckTokenResult, TokenConfig, TokenKind};

use crate::clock::Clock;
use crate::error::{Result, SecurityError};
use crate::model::user::ANONYMOUS_KUID;
use crate::store::{Collection, SecurityStore};

/// Prefix of authentication tokens.
pub const AUTH_TOKEN_PREFIX: &str = "kauth-";
/// Prefix of API keys.
pub const API_KEY_PREFIX: &str = "kapikey-";
/// Id of the [`Collection::Config`] document holding the generated JWT secret.
pub const SECRET_CONFIG_ID: &str = "security.jwt.secret";

/// Length of a generated secret: 64 random bytes, twice the 32 bytes of an HS256 digest.
const SECRET_BYTES: usize = 64;

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    #[serde(rename = "_id")]
    id: String,
    iat: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    exp: Option<u64>,
    #[serde(default)]
    jti: String,
}

/// A token registry entry, stored under the token's fingerprint in [`Collection::Tokens`].
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RegistryEntry {
    #[serde(rename = "userId")]
    user_id: String,
    #[serde(rename = "expiresAt")]
    expires_at: Option<u64>,
    ttl: Option<u64>,
    #[serde(rename = "singleUse", default)]
    single_use: bool,
}

/// Returns the hex SHA-256 fingerprint of a full token string.
pub fn fingerprint(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::fill(buffer.as_mut_slice());
    hex::encode(buffer)
}

/// Issues, verifies and revokes authentication tokens and API keys.
pub struct TokenManager {
    store: Arc<dyn SecurityStore>,
    clock: Arc<dyn Clock>,
    config: TokenConfig,
    encoding_key: EncodingKey,
    decoding_key: DecodingKey,
    validation: Validation,
    registry: registry_cache::RegistryCache,
}

impl fmt::Debug for TokenManager {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("TokenManager")
            .field("store", &self.store)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Reads the generated secret from the store, creating it on first start.
async fn load_or_create_secret(store: &dyn SecurityStore) -> Result<String> {
    let read = |document: Option<Value>| {
        document.and_then(|document| {
            document
                .get("seed")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
    };
    if let Some(seed) = read(store.get(Collection::Config, SECRET_CONFIG_ID).await?) {
        return Ok(seed);
    }

    let seed = random_hex(SECRET_BYTES);
    if store
        .create(
            Collection::Config,
            SECRET_CONFIG_ID,
            json!({ "seed": seed }),
        )
        .await?
    {
        tracing::debug!("generated a new JWT secret");
        return Ok(seed);
    }
    // Another node created the secret between our read and our write: use theirs.
    read(store.get(Collection::Config, SECRET_CONFIG_ID).await?).ok_or_else(|| {
        SecurityError::Internal(format!(
            "config document `{SECRET_CONFIG_ID}` has no `seed` string"
        ))
    })
}

impl TokenManager {
    /// Creates the manager, loading or generating the secret when the configuration has none.
    ///
    /// # Errors
    ///
    /// [`SecurityError::InvalidArgument`] for an empty configured secret,
    /// [`SecurityError::Store`] when the store fails, [`SecurityError::Internal`] when the stored
    /// secret document is malformed.
    pub async fn new(
        store: Arc<dyn SecurityStore>,
        config: TokenConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        let secret = match &config.secret {
            Some(secret) => secret.clone(),
            None => load_or_create_secret(store.as_ref()).await?,
        };

        let empty_secret = |_| {
            SecurityError::invalid_argument(
                "security.authToken.secret",
                "the secret must not be empty",
            )
        };
        let encoding_key = EncodingKey::from_secret(secret.as_bytes()).map_err(empty_secret)?;
        let decoding_key = DecodingKey::from_secret(secret.as_bytes()).map_err(empty_secret)?;

        let mut validation = Validation::new(Algorithm::HS256);
        // Expiry is checked against the injected clock, in `decode`.
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.leeway = 0;
        validation.required_spec_claims.clear();

        Ok(Self {
            store,
            clock,
            encoding_key,
            decoding_key,
            config,
            validation,
            registry: registry_cache::RegistryCache::default(),
        })
    }

    /// Returns the token settings.
    pub fn config(&self) -> &TokenConfig {
        &self.config
    }

    fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    /// Signs a JWT for `kuid` expiring at `expires_at` (milliseconds), or never.
    fn sign(&self, kuid: &str, now_ms: u64, expires_at: Option<u64>) -> Result<String> {
        let claims = Claims {
            id: kuid.to_owned(),
            iat: now_ms / 1000,
            // Rounded up so that the JWT never claims to expire before the registry entry does.
            exp: expires_at.map(|at| at.div_ceil(1000)),
            jti: random_hex(16),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding_key).map_err(
            |error| SecurityError::TokenGenerationFailed {
                reason: error.to_string(),
            },
        )
    }

    /// Checks a lifetime against a maximum (`None` = unlimited). No expiry exceeds any maximum.
    fn check_max_ttl(
        expires_in: ExpiresIn,
        max_ttl_ms: Option<u64>,
        requested: &str,
    ) -> Result<()> {
        let Some(max_ttl_ms) = max_ttl_ms else {
            return Ok(());
        };
        let exceeded = match expires_in {
            ExpiresIn::Never => true,
            ExpiresIn::After(ttl) => ttl > max_ttl_ms,
        };
        if exceeded {
            return Err(SecurityError::TokenTtlExceeded {
                requested: requested.to_owned(),
                max_ttl_ms,
            });
        }
        Ok(())
    }

    async fn issue(
        &self,
        kuid: &str,
        expires_in: ExpiresIn,
        single_use: bool,
    ) -> Result<AuthToken> {
        Self::check_max_ttl(expires_in, self.config.max_ttl_ms, &describe(expires_in))?;

        let now = self.now_ms();
        let ttl = match expires_in {
            ExpiresIn::Never => None,
            ExpiresIn::After(ttl) => Some(ttl),
        };
        let expires_at = ttl.map(|ttl| now.saturating_add(ttl));
        let token = format!("{AUTH_TOKEN_PREFIX}{}", self.sign(kuid, now, expires_at)?);

        let entry = RegistryEntry {
            user_id: kuid.to_owned(),
            expires_at,
            ttl,
            single_use,
        };
        self.put_entry(&fingerprint(&token), &entry).await?;

        Ok(AuthToken {
            token,
            kuid: kuid.to_owned(),
            kind: TokenKind::Auth,
            expires_at,
            ttl,
            single_use,
        })
    }

    /// Issues the token of `auth:login`. `None` uses the configured default lifetime;
    /// [`ExpiresIn::Never`] is allowed unless a maximum lifetime is configured.
    ///
    /// # Errors
    ///
    /// [`SecurityError::TokenTtlExceeded`] above the configured maximum. [`SecurityError::Store`]
    /// when the store fails.
    pub async fn login_token(
        &self,
        kuid: &str,
        expires_in: Option<ExpiresIn>,
    ) -> Result<AuthToken> {
        self.issue(kuid, expires_in.unwrap_or(self.config.expires_in), false)
            .await
    }

    /// Issues the token of `auth:createToken`, optionally single-use.
    ///
    /// # Errors
    ///
    /// [`SecurityError::InvalidExpiration`] for [`ExpiresIn::Never`], which `createToken`
    /// forbids, [`SecurityError::TokenTtlExceeded`]. [`SecurityError::Store`] when the store fails.
    pub async fn create_token(
        &self,
        kuid: &str,
        expires_in: Option<ExpiresIn>,
        single_use: bool,
    ) -> Result<AuthToken> {
        let expires_in = expires_in.unwrap_or(self.config.expires_in);
        if expires_in == ExpiresIn::Never {
            return Err(SecurityError::InvalidExpiration {
                value: "-1".to_owned(),
                reason: "tokens created by auth:createToken must expire; use an API key for a \
                         token without expiry"
                    .to_owned(),
            });
        }
        self.issue(kuid, expires_in, single_use).await
    }

    /// Checks a JWT's signature, algorithm and expiry, and returns its claims.
    fn decode(&self, jwt: &str) -> Result<Claims> {
        let decoded = jsonwebtoken::decode::<Claims>(jwt, &self.decoding_key, &self.validation);
        let claims = decoded
            .map_err(|error| {
                let reason = match error.kind() {
                    ErrorKind::InvalidSignature => "the signature does not match",
                    ErrorKind::InvalidAlgorithm => "the algorithm must be HS256",
                    _ => "malformed JWT",
                };
                SecurityError::invalid_token(reason)
            })?
            .claims;

        if let Some(exp) = claims.exp
            && exp.saturating_mul(1000) <= self.now_ms()
        {
            return Err(SecurityError::TokenExpired);
        }
        if claims.id.is_empty() || claims.id == ANONYMOUS_KUID {
            return Err(SecurityError::invalid_token("the token names no user"));
        }
        Ok(claims)
    }

    async fn verify_auth_token(&self, token: &str, jwt: &str) -> Result<AuthToken> {
        let claims = self.decode(jwt)?;
        let Some(entry) = self.registry_entry(&fingerprint(token)).await? else {
            return Err(SecurityError::invalid_token(
                "the token was revoked or is unknown",
            ));
        };
        if entry.user_id != claims.id {
            return Err(SecurityError::invalid_token(
                "the token does not match its registry entry",
            ));
        }
        if entry.expires_at.is_some_and(|at| at <= self.now_ms()) {
            return Err(SecurityError::TokenExpired);
        }
        Ok(AuthToken {
            token: token.to_owned(),
            kuid: claims.id,
            kind: TokenKind::Auth,
            expires_at: entry.expires_at,
            ttl: entry.ttl,
            single_use: entry.single_use,
        })
    }

    /// Verifies a token without consuming it: signature, expiry, and presence in the token
    /// registry (authentication tokens) or the API key collection (API keys).
    ///
    /// # Errors
    ///
    /// [`SecurityError::TokenExpired`] for an expired token, [`SecurityError::TokenInvalid`] for
    /// anything else wrong: unknown prefix, bad signature, another algorithm (including `none`),
    /// a token revoked by logout or missing from the registry.
    pub async fn verify(&self, token: &str) -> Result<AuthToken> {
        if let Some(jwt) = token.strip_prefix(AUTH_TOKEN_PREFIX) {
            return self.verify_auth_token(token, jwt).await;
        }
        if let Some(jwt) = token.strip_prefix(API_KEY_PREFIX) {
            return self.verify_api_key(token, jwt).await;
        }
        Err(SecurityError::invalid_token(format!(
            "the token must start with `{AUTH_TOKEN_PREFIX}` or `{API_KEY_PREFIX}`"
        )))
    }

    /// Verifies the token of a request and consumes it if it is single-use. The funnel calls
    /// this once per request, while `auth:checkToken` uses [`TokenManager::check_token`] instead,
    /// which does not consume.
    ///
    /// # Errors
    ///
    /// As [`TokenManager::verify`], plus [`SecurityError::TokenInvalid`] when a single-use token
    /// was already used.
    pub async fn authenticate(&self, token: &str) -> Result<AuthToken> {
        let verified = self.verify(token).await?;
        if verified.single_use
            && !self
                .store
                .delete(Collection::Tokens, &fingerprint(token))
                .await?
        {
            return Err(SecurityError::invalid_token(
                "the single-use token was already used",
            ));
        }
        Ok(verified)
    }

    /// Returns when a token expires (milliseconds since the Unix epoch), or `None` for a token
    /// without expiry.
    ///
    /// # Errors
    ///
    /// As [`TokenManager::verify`].
    pub async fn expires_at(&self, token: &str) -> Result<Option<u64>> {
        Ok(self.verify(token).await?.expires_at)
    }

    /// Runs `auth:checkToken`. An absent or empty token is the anonymous user.
    ///
    /// # Errors
    ///
    /// [`SecurityError::Store`] or [`SecurityError::Internal`] only: a bad token is a
    /// [`CheckTokenResult::Invalid`] value.
    pub async fn check_token(&self, token: Option<&str>) -> Result<CheckTokenResult> {
        let token = token.unwrap_or_default();
        if token.is_empty() {
            return Ok(CheckTokenResult::Valid {
                kuid: ANONYMOUS_KUID.to_owned(),
                expires_at: None,
                never_expires: false,
            });
        }
        match self.verify(token).await {
            Ok(verified) => Ok(CheckTokenResult::Valid {
                kuid: verified.kuid,
                expires_at: verified.expires_at,
                never_expires: verified.expires_at.is_none(),
            }),
            Err(error @ (SecurityError::Store(_) | SecurityError::Internal(_))) => Err(error),
            Err(error) => Ok(CheckTokenResult::Invalid {
                state: error.to_string(),
            }),
        }
    }

    /// Runs `auth:refreshToken`: issues a new token for the same user and keeps the current one
    /// valid for the grace period only, so that requests already sent with it still succeed.
    ///
    /// # Errors
    ///
    /// [`SecurityError::RefreshForbidden`] for an API key or a token without expiry;
    /// [`SecurityError::TokenTtlExceeded`]. [`SecurityError::Store`] when the store fails.
    pub async fn refresh(
        &self,
        current: &AuthToken,
        expires_in: Option<ExpiresIn>,
    ) -> Result<AuthToken> {
        if current.kind == TokenKind::ApiKey {
            return Err(SecurityError::RefreshForbidden {
                reason: "API keys cannot be refreshed".to_owned(),
            });
        }
        let Some(current_expiry) = current.expires_at else {
            return Err(SecurityError::RefreshForbidden {
                reason: "a token without expiry cannot be refreshed".to_owned(),
            });
        };

        let refreshed = self.login_token(&current.kuid, expires_in).await?;

        let grace_end = self.now_ms().saturating_add(self.config.grace_period_ms);
        let entry = RegistryEntry {
            user_id: current.kuid.clone(),
            expires_at: Some(current_expiry.min(grace_end)),
            ttl: current.ttl,
            single_use: current.single_use,
        };
        self.put_entry(&fingerprint(&current.token), &entry).await?;
        Ok(refreshed)
    }

    /// Runs `auth:logout` for one token. Logging out with an API key leaves the key valid: API
    /// keys are removed with [`TokenManager::delete_api_key`].
    ///
    /// # Errors
    ///
    /// [`SecurityError::Store`] when the store fails.
    pub async fn logout(&self, token: &AuthToken) -> Result<()> {
        if token.kind == TokenKind::Auth {
            let fingerprint = fingerprint(&token.token);
            self.store.delete(Collection::Tokens, &fingerprint).await?;
            self.registry.invalidate(&fingerprint);
        }
        Ok(())
    }

    /// Revokes every authentication token of a user (`auth:logout` with `global`,
    /// `security:revokeTokens`, user deletion). API keys are kept. Returns how many tokens were
    /// revoked.
    ///
    /// # Errors
    ///
    /// [`SecurityError::Store`] when the store fails.
    pub async fn revoke_all(&self, kuid: &str) -> Result<usize> {
        let entries = self
            .store
            .search_by_field(Collection::Tokens, "userId", &Value::from(kuid))
            .await?;
        let mut revoked = 0;
        for entry in entries {
            let deleted = self.store.delete(Collection::Tokens, &entry.id).await?;
            self.registry.invalidate(&entry.id);
            if deleted {
                revoked += 1;
            }
        }
        Ok(revoked)
    }

    /// Forgets the cached registry entries, after the token registry was emptied directly in
    /// the store (`admin:resetSecurity`).
    pub fn forget_cached_tokens(&self) {
        self.registry.clear();
    }

    /// Writes a registry entry to the store, then invalidates its cached copy.
    async fn put_entry(&self, fingerprint: &str, entry: &RegistryEntry) -> Result<()> {
        let value = serde_json::to_value(entry)
            .map_err(|error| SecurityError::Internal(error.to_string()))?;
        self.store
            .put(Collection::Tokens, fingerprint, value)
            .await?;
        self.registry.invalidate(fingerprint);
        Ok(())
    }

    /// Reads a registry entry from the cache, or from the store on a miss.
    async fn registry_entry(&self, fingerprint: &str) -> Result<Option<RegistryEntry>> {
        if let Some(entry) = self.registry.get(fingerprint) {
            return Ok(Some(entry));
        }
        let generation = self.registry.generation();
        let Some(value) = self.store.get(Collection::Tokens, fingerprint).await? else {
            return Ok(None);
        };
        let entry: RegistryEntry = serde_json::from_value(value)
            .map_err(|error| SecurityError::Internal(format!("token registry entry: {error}")))?;
        self.registry.insert_read(fingerprint, &entry, generation);
        Ok(Some(entry))
    }

    /// Deletes the registry entries of expired tokens. Returns how many were deleted. The server
    /// must run this periodically, because a store without TTLs keeps them forever.
    ///
    /// # Errors
    ///
    /// [`SecurityError::Store`] when the store fails.
    pub async fn purge_expired(&self) -> Result<usize> {
        let now = self.now_ms();
        let mut purged = 0;
        for entry in self.store.list(Collection::Tokens).await? {
            let expires_at = entry.source.get("expiresAt").and_then(Value::as_u64);
            if expires_at.is_none_or(|at| at > now) {
                continue;
            }
            let deleted = self.store.delete(Collection::Tokens, &entry.id).await?;
            self.registry.invalidate(&entry.id);
            if deleted {
                purged += 1;
            }
        }
        Ok(purged)
    }
}

/// Describes a lifetime for error messages.
fn describe(expires_in: ExpiresIn) -> String {
    match expires_in {
        ExpiresIn::Never => "-1".to_owned(),
        ExpiresIn::After(ttl) => format!("{ttl}ms"),
    }
}
