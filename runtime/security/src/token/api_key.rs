//! API keys: long-lived `kapikey-` tokens, stored only by fingerprint.

use serde_json::{Value, json};

use super::{
    API_KEY_PREFIX, AuthToken, Claims, ExpiresIn, TokenKind, TokenManager, describe, fingerprint,
    millis_or_never, random_hex,
};
use crate::error::{Result, SecurityError};
use crate::store::{Collection, StoredDocument};

/// An API key as stored, plus its token right after creation.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// The API key id.
    pub id: String,
    /// The kuid of the user the key authenticates.
    pub user_id: String,
    /// Free text given at creation.
    pub description: String,
    /// Expiry in milliseconds since the Unix epoch. `None` for no expiry.
    pub expires_at: Option<u64>,
    /// Lifetime in milliseconds. `None` for no expiry.
    pub ttl: Option<u64>,
    /// Hex SHA-256 fingerprint of the token.
    pub fingerprint: String,
    /// The token. Present only in the value returned by [`TokenManager::create_api_key`]: it is
    /// never stored, so it cannot be shown again.
    pub token: Option<String>,
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("ApiKey")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("description", &self.description)
            .field("expires_at", &self.expires_at)
            .field("fingerprint", &self.fingerprint)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl ApiKey {
    fn stored_source(&self) -> Value {
        json!({
            "userId": self.user_id,
            "description": self.description,
            "expiresAt": millis_or_never(self.expires_at),
            "ttl": millis_or_never(self.ttl),
            "fingerprint": self.fingerprint,
        })
    }

    fn from_stored(stored: StoredDocument) -> Result<Self> {
        let source = &stored.source;
        let text = |field: &str| source.get(field).and_then(Value::as_str).map(str::to_owned);
        let millis = |field: &str| source.get(field).and_then(Value::as_u64);
        let (Some(user_id), Some(fingerprint)) = (text("userId"), text("fingerprint")) else {
            return Err(SecurityError::Internal(format!(
                "stored API key `{}` lacks `userId` or `fingerprint`",
                stored.id
            )));
        };
        Ok(Self {
            id: stored.id,
            user_id,
            description: text("description").unwrap_or_default(),
            expires_at: millis("expiresAt"),
            ttl: millis("ttl"),
            fingerprint,
            token: None,
        })
    }

    /// Builds the API result: `{_id, _source: {userId, description, expiresAt, ttl,
    /// fingerprint, token?}}`, with -1 for no expiry.
    pub fn to_json(&self) -> Value {
        let mut source = self.stored_source();
        if let (Some(token), Some(object)) = (&self.token, source.as_object_mut()) {
            object.insert("token".to_owned(), Value::from(token.clone()));
        }
        json!({"_id": self.id, "_source": source})
    }
}

impl TokenManager {
    /// Creates an API key for `kuid` (`auth:createApiKey`). `None` for `expires_in` means no
    /// expiry, Kuzzle's default for API keys. `id` defaults to a random id.
    ///
    /// # Errors
    ///
    /// [`SecurityError::TokenTtlExceeded`] above `api_key_max_ttl_ms`,
    /// [`SecurityError::ApiKeyAlreadyExists`] for a taken id. [`SecurityError::Store`] when the
    /// store fails.
    pub async fn create_api_key(
        &self,
        kuid: &str,
        expires_in: Option<ExpiresIn>,
        description: &str,
        id: Option<&str>,
    ) -> Result<ApiKey> {
        let expires_in = expires_in.unwrap_or(ExpiresIn::Never);
        Self::check_max_ttl(
            expires_in,
            self.config.api_key_max_ttl_ms,
            &describe(expires_in),
        )?;

        let now = self.now_ms();
        let ttl = match expires_in {
            ExpiresIn::Never => None,
            ExpiresIn::After(ttl) => Some(ttl),
        };
        let expires_at = ttl.map(|ttl| now.saturating_add(ttl));
        let token = format!("{API_KEY_PREFIX}{}", self.sign(kuid, now, expires_at)?);

        let api_key = ApiKey {
            id: id.map_or_else(|| random_hex(16), str::to_owned),
            user_id: kuid.to_owned(),
            description: description.to_owned(),
            expires_at,
            ttl,
            fingerprint: fingerprint(&token),
            token: Some(token),
        };
        if !self
            .store
            .create(Collection::ApiKeys, &api_key.id, api_key.stored_source())
            .await?
        {
            return Err(SecurityError::ApiKeyAlreadyExists { id: api_key.id });
        }
        Ok(api_key)
    }

    pub(super) async fn verify_api_key(&self, token: &str, jwt: &str) -> Result<AuthToken> {
        let claims: Claims = self.decode(jwt)?;
        let token_fingerprint = fingerprint(token);
        let found = self
            .store
            .search_by_field(
                Collection::ApiKeys,
                "fingerprint",
                &Value::from(token_fingerprint),
            )
            .await?;
        let Some(stored) = found.into_iter().next() else {
            return Err(SecurityError::invalid_token(
                "the API key was deleted or is unknown",
            ));
        };
        let api_key = ApiKey::from_stored(stored)?;
        if api_key.user_id != claims.id {
            return Err(SecurityError::invalid_token(
                "the API key does not match its stored user",
            ));
        }
        Ok(AuthToken {
            token: token.to_owned(),
            kuid: claims.id,
            kind: TokenKind::ApiKey,
            expires_at: api_key.expires_at,
            ttl: api_key.ttl,
            single_use: false,
        })
    }

    /// Lists the API keys of a user, without their tokens.
    ///
    /// # Errors
    ///
    /// [`SecurityError::Store`] when the store fails.
    pub async fn list_api_keys(&self, kuid: &str) -> Result<Vec<ApiKey>> {
        let stored = self
            .store
            .search_by_field(Collection::ApiKeys, "userId", &Value::from(kuid))
            .await?;
        stored.into_iter().map(ApiKey::from_stored).collect()
    }

    /// Deletes an API key of a user, which invalidates its token at once.
    ///
    /// # Errors
    ///
    /// [`SecurityError::ApiKeyNotFound`] when the user has no key with this id.
    pub async fn delete_api_key(&self, kuid: &str, id: &str) -> Result<()> {
        let not_found = || SecurityError::ApiKeyNotFound {
            id: id.to_owned(),
            kuid: kuid.to_owned(),
        };
        let Some(source) = self.store.get(Collection::ApiKeys, id).await? else {
            return Err(not_found());
        };
        if source.get("userId").and_then(Value::as_str) != Some(kuid) {
            return Err(not_found());
        }
        self.store.delete(Collection::ApiKeys, id).await?;
        Ok(())
    }
}
