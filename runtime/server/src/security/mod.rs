//! Security wired into the server: the security store over the document store, the token and
//! rights checks of every request, password hashing off the async threads, and the
//! `TokenExpired` notification of WebSocket connections.

mod access;
mod expiry;
mod store;

use std::sync::Arc;
use std::time::Duration;

use palisade_api::ApiError;
use palisade_security::token::parse_duration;
use palisade_security::{
    ExpiresIn, LocalStrategy, LoginLimiter, PasswordHasher, RateLimiter, Security, SecurityError,
    SecurityStore, StrategyCredentialsStore, SystemClock, TokenConfig, TokenManager,
};
use palisade_storage::DocumentStore;

pub use access::authorize;
pub use expiry::{TokenExpiredHook, TokenExpiry};
pub use store::SECURITY_INDEX;

use crate::config::Config;
use crate::errors::from_security;

/// Interval between two purges of the expired entries of the token registry.
const PURGE_INTERVAL: Duration = Duration::from_secs(600);

/// The security services shared by the funnel and the `auth`, `security` and `admin`
/// controllers.
#[derive(Debug)]
pub struct SecurityLayer {
    /// Roles, profiles and users.
    pub security: Security,
    /// Authentication tokens and API keys.
    pub tokens: Arc<TokenManager>,
    /// Credentials of the `local` strategy.
    pub local: LocalStrategy,
    /// Credentials of the strategies that plugins provide.
    pub strategy_credentials: StrategyCredentialsStore,
    /// Argon2id hashing, run with [`SecurityLayer::hash_password`] and
    /// [`SecurityLayer::verify_login`] on blocking threads.
    hasher: Arc<PasswordHasher>,
    /// Requests per user per second, from the profiles' `rateLimit`.
    pub rate_limiter: RateLimiter,
    /// `auth:login` calls per connection per second (`limits.loginsPerSecond`).
    pub login_limiter: LoginLimiter,
    /// Timers sending `TokenExpired` to WebSocket connections.
    pub expiry: TokenExpiry,
    /// Held by `security:createFirstAdmin` between its check that no admin exists and the
    /// creation, so two concurrent calls cannot both create an administrator.
    pub first_admin: tokio::sync::Mutex<()>,
}

impl SecurityLayer {
    /// Opens the security store in the document store, writes the default roles and profiles
    /// on first start, and loads or generates the JWT secret.
    ///
    /// # Errors
    ///
    /// The security error when the store fails or a setting is invalid.
    pub async fn open(
        storage: Arc<dyn DocumentStore>,
        config: &Config,
    ) -> Result<Self, SecurityError> {
        let store: Arc<dyn SecurityStore> =
            Arc::new(store::DocumentSecurityStore::open(storage).await?);
        let security = Security::new(store.clone(), Arc::new(palisade_security::LocalBus));
        security.bootstrap().await?;

        let tokens =
            TokenManager::new(store.clone(), token_config(config)?, Arc::new(SystemClock)).await?;
        let tokens = Arc::new(tokens);
        spawn_purge(Arc::downgrade(&tokens));

        // Building the hasher computes one hash: keep it off the async worker threads.
        let hasher = tokio::task::spawn_blocking(PasswordHasher::new)
            .await
            .map_err(|error| SecurityError::Internal(error.to_string()))??;

        Ok(Self {
            security,
            tokens,
            local: LocalStrategy::new(store.clone()),
            strategy_credentials: StrategyCredentialsStore::new(store),
            hasher: Arc::new(hasher),
            rate_limiter: RateLimiter::new(),
            login_limiter: LoginLimiter::new(config.limits.logins_per_second),
            expiry: TokenExpiry::default(),
            first_admin: tokio::sync::Mutex::new(()),
        })
    }

    /// Hashes a password with argon2id on a blocking thread.
    ///
    /// # Errors
    ///
    /// An internal error when hashing fails.
    pub async fn hash_password(&self, password: String) -> Result<String, ApiError> {
        let hasher = self.hasher.clone();
        tokio::task::spawn_blocking(move || hasher.hash(&password))
            .await
            .map_err(ApiError::internal)?
            .map_err(from_security)
    }

    /// Checks a `local` login on a blocking thread and returns the user's kuid.
    ///
    /// # Errors
    ///
    /// `plugin.strategy.missing_user` for an unknown username or a wrong password alike.
    pub async fn verify_login(&self, username: &str, password: String) -> Result<String, ApiError> {
        let stored = self.local.lookup(username).await.map_err(from_security)?;
        let hasher = self.hasher.clone();
        tokio::task::spawn_blocking(move || hasher.verify_login(stored.as_ref(), &password))
            .await
            .map_err(ApiError::internal)?
            .map_err(from_security)
    }

    /// Registers a hook called with the server state and the connection id each time a
    /// WebSocket connection's token expires, right after the connection received
    /// `TokenExpired`. The realtime layer uses it to drop the connection's subscriptions:
    ///
    /// ```ignore
    /// state.security.on_token_expired(Arc::new(|state, connection_id| {
    ///     // Drop the subscriptions of `connection_id`.
    /// }));
    /// ```
    pub fn on_token_expired(&self, hook: TokenExpiredHook) {
        self.expiry.add_hook(hook);
    }
}

/// Builds the token manager's settings from `security.authToken` and `security.apiKey`.
fn token_config(config: &Config) -> Result<TokenConfig, SecurityError> {
    let auth_token = &config.security.auth_token;
    let max_ttl = |value: i64| u64::try_from(value).ok();
    let secret = Some(auth_token.secret.clone()).filter(|secret| !secret.is_empty());
    let expires_in = parse_duration(&auth_token.expires_in)?;
    Ok(TokenConfig {
        secret,
        expires_in,
        max_ttl_ms: max_ttl(auth_token.max_ttl),
        grace_period_ms: auth_token.grace_period,
        api_key_max_ttl_ms: max_ttl(config.security.api_key.max_ttl),
    })
}

/// Purges the expired entries of the token registry every [`PURGE_INTERVAL`], until the token
/// manager is dropped.
fn spawn_purge(tokens: std::sync::Weak<TokenManager>) {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(PURGE_INTERVAL);
        interval.tick().await;
        loop {
            interval.tick().await;
            let Some(tokens) = tokens.upgrade() else {
                return;
            };
            match tokens.purge_expired().await {
                Ok(purged) => tracing::debug!(purged, "purged expired tokens"),
                Err(error) => tracing::warn!(%error, "cannot purge expired tokens"),
            }
        }
    });
}

/// Reads the `expiresIn` argument of a request.
///
/// # Errors
///
/// `security.token.invalid_expiration` for a value that is neither milliseconds nor a duration.
pub fn expires_in_arg(request: &palisade_api::Request) -> Result<Option<ExpiresIn>, ApiError> {
    palisade_security::token::parse_expires_in(request.args.get("expiresIn")).map_err(from_security)
}
