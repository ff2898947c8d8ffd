//! The `local` authentication strategy: `{username, password}` credentials with argon2id hashes.
//!
//! Hashing and verifying are synchronous CPU work. With the production parameters one hash took
//! about 50 ms in an optimized build and about 0.7 s in an unoptimized one, measured once on a
//! shared two-core machine. An async caller must run [`PasswordHasher::hash`] and
//! [`PasswordHasher::verify_login`] on a blocking thread (`tokio::task::spawn_blocking`), never
//! on the runtime's worker threads. The async methods of [`LocalStrategy`] only touch the store
//! and take hashes computed that way.

use std::sync::Arc;

use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};
use serde_json::{Map, Value, json};

use crate::error::{Result, SecurityError};
use crate::store::{Collection, SecurityStore};

/// The strategy name, as `auth:login` takes it in `strategy`.
pub const LOCAL_STRATEGY: &str = "local";

/// The credential fields of the strategy, as `security:getCredentialFields` returns them.
pub const CREDENTIAL_FIELDS: [&str; 2] = ["username", "password"];

/// Production argon2id cost: 19 MiB of memory (in KiB), 2 passes, 1 lane. This is the first
/// configuration of the OWASP Password Storage Cheat Sheet (argon2id, "minimum configuration of
/// 19 MiB of memory, an iteration count of 2, and 1 degree of parallelism"). One lane because
/// the server verifies many logins at once, so parallelism inside one hash only takes cores
/// from the other logins.
pub const PRODUCTION_COST: ArgonCost = ArgonCost {
    memory_kib: 19 * 1024,
    iterations: 2,
    parallelism: 1,
};

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArgonCost {
    /// Memory per hash, in KiB.
    pub memory_kib: u32,
    /// Number of passes over the memory.
    pub iterations: u32,
    /// Number of lanes.
    pub parallelism: u32,
}

/// Hashes and verifies passwords with argon2id, each hash with its own random 16-byte salt.
///
/// Hashes are PHC strings (`$argon2id$v=19$m=...,t=...,p=...$salt$hash`), so each stored hash
/// carries its own parameters and keeps verifying after the cost is raised.
#[derive(Clone)]
pub struct PasswordHasher {
    argon2: Argon2<'static>,
    /// A hash of a fixed password, verified when the username is unknown so that an unknown
    /// user costs the same work as a wrong password.
    dummy_hash: Arc<str>,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("PasswordHasher")
            .field("params", self.argon2.params())
            .finish()
    }
}

/// A user's stored local credentials, as needed to check a login.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredCredentials {
    /// The kuid of the user owning the credentials.
    pub kuid: String,
    /// The PHC string of the password hash.
    pub password_hash: String,
}

impl std::fmt::Debug for StoredCredentials {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("StoredCredentials")
            .field("kuid", &self.kuid)
            .finish_non_exhaustive()
    }
}

fn hashing_failed(error: impl std::fmt::Display) -> SecurityError {
    SecurityError::Internal(format!("password hashing failed: {error}"))
}

impl PasswordHasher {
    /// Creates a hasher with the production cost ([`PRODUCTION_COST`]). Computes one hash, so
    /// build it once at startup, off the async worker threads.
    ///
    /// # Errors
    ///
    /// [`SecurityError::Internal`] if argon2 rejects the parameters.
    pub fn new() -> Result<Self> {
        Self::with_cost(PRODUCTION_COST)
    }

    /// Creates a hasher with a custom cost. Meant for tests, which use a small cost to stay fast.
    ///
    /// # Errors
    ///
    /// [`SecurityError::Internal`] if argon2 rejects the parameters.
    pub fn with_cost(cost: ArgonCost) -> Result<Self> {
        let params = Params::new(cost.memory_kib, cost.iterations, cost.parallelism, None)
            .map_err(hashing_failed)?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let dummy = argon2
            .hash_password(b"palisade-dummy-password")
            .map_err(hashing_failed)?;
        Ok(Self {
            argon2,
            dummy_hash: Arc::from(dummy.to_string()),
        })
    }

    /// Hashes a password with a new random salt and returns the PHC string. Blocking CPU work.
    ///
    /// # Errors
    ///
    /// [`SecurityError::Internal`] if the system random generator fails.
    pub fn hash(&self, password: &str) -> Result<String> {
        let hash = self
            .argon2
            .hash_password(password.as_bytes())
            .map_err(hashing_failed)?;
        Ok(hash.to_string())
    }

    /// Returns whether `password` matches a PHC string. A malformed hash never matches. Blocking
    /// CPU work. The comparison is constant-time.
    pub fn verify(&self, password: &str, password_hash: &str) -> bool {
        self.argon2
            .verify_password(password.as_bytes(), password_hash)
            .is_ok()
    }

    /// Checks a login attempt and returns the kuid on success. `stored` is `None` when the
    /// username is unknown: a dummy hash is then verified so that the attempt costs the same
    /// time as a wrong password. Blocking CPU work.
    ///
    /// # Errors
    ///
    /// [`SecurityError::WrongCredentials`] for an unknown username and for a wrong password
    /// alike.
    pub fn verify_login(
        &self,
        stored: Option<&StoredCredentials>,
        password: &str,
    ) -> Result<String> {
        match stored {
            Some(stored) if self.verify(password, &stored.password_hash) => Ok(stored.kuid.clone()),
            Some(_) => Err(SecurityError::WrongCredentials),
            None => {
                let _ = self.verify(password, &self.dummy_hash);
                Err(SecurityError::WrongCredentials)
            }
        }
    }
}

/// Validated `{username, password}` credentials. On update either field may be absent.
#[derive(Clone, PartialEq, Eq)]
pub struct LocalCredentials {
    /// The login name.
    pub username: Option<String>,
    /// The password in clear, to be hashed with [`PasswordHasher::hash`].
    pub password: Option<String>,
}

impl std::fmt::Debug for LocalCredentials {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("LocalCredentials")
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

fn rejected(reason: impl Into<String>) -> SecurityError {
    SecurityError::CredentialsRejected {
        strategy: LOCAL_STRATEGY.to_owned(),
        reason: reason.into(),
    }
}

/// Reads one credential field: absent is `None` unless `required`, and a present field must be a
/// non-empty string.
fn read_field(
    credentials: &Map<String, Value>,
    field: &str,
    required: bool,
) -> Result<Option<String>> {
    match credentials.get(field) {
        None | Some(Value::Null) if required => Err(rejected(format!("`{field}` is missing"))),
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) if text.is_empty() => {
            Err(rejected(format!("`{field}` must not be empty")))
        }
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(rejected(format!("`{field}` must be a string"))),
    }
}

/// Parses a credentials body. `partial` (updates) makes both fields optional.
///
/// # Errors
///
/// [`SecurityError::CredentialsRejected`] naming the missing, empty, mistyped or unknown field.
pub fn parse_credentials(credentials: &Value, partial: bool) -> Result<LocalCredentials> {
    let Some(object) = credentials.as_object() else {
        return Err(rejected(
            "credentials must be an object with `username` and `password`",
        ));
    };
    if let Some(unknown) = object
        .keys()
        .find(|key| !CREDENTIAL_FIELDS.contains(&key.as_str()))
    {
        return Err(rejected(format!(
            "unknown field `{unknown}`; expected `username` and `password`"
        )));
    }
    let username = read_field(object, "username", !partial)?;
    let password = read_field(object, "password", !partial)?;
    Ok(LocalCredentials { username, password })
}

/// Stored local credentials, keyed by username in [`Collection::Credentials`]. Each document is
/// `{kuid, username, passwordHash}`; the username is repeated so that a store can search on it.
#[derive(Debug)]
pub struct LocalStrategy {
    store: Arc<dyn SecurityStore>,
}

impl LocalStrategy {
    /// Creates the strategy over a store.
    pub fn new(store: Arc<dyn SecurityStore>) -> Self {
        Self { store }
    }

    async fn username_of(&self, kuid: &str) -> Result<Option<String>> {
        let found = self
            .store
            .search_by_field(Collection::Credentials, "kuid", &Value::from(kuid))
            .await?;
        Ok(found.into_iter().next().map(|document| document.id))
    }

    /// Validates credentials for user `kuid` without storing them: fields present (all of them
    /// unless `partial`), user without local credentials on create, username not used by
    /// another user.
    ///
    /// # Errors
    ///
    /// [`SecurityError::CredentialsRejected`] with the reason.
    pub async fn validate(
        &self,
        kuid: &str,
        credentials: &Value,
        partial: bool,
    ) -> Result<LocalCredentials> {
        let parsed = parse_credentials(credentials, partial)?;
        let existing = self.username_of(kuid).await?;
        if !partial && existing.is_some() {
            return Err(rejected(format!(
                "user `{kuid}` already has local credentials; update them instead"
            )));
        }
        if partial && existing.is_none() {
            return Err(rejected(format!(
                "user `{kuid}` has no local credentials; create them first"
            )));
        }
        if let Some(username) = &parsed.username
            && let Some(owner) = self.store.get(Collection::Credentials, username).await?
            && owner.get("kuid").and_then(Value::as_str) != Some(kuid)
        {
            return Err(rejected(format!(
                "username `{username}` is already used; choose another one"
            )));
        }
        Ok(parsed)
    }

    /// Stores new credentials for `kuid`. `password_hash` comes from [`PasswordHasher::hash`].
    /// Returns `{username, kuid}`.
    ///
    /// # Errors
    ///
    /// [`SecurityError::CredentialsRejected`] when the username was taken since validation.
    /// [`SecurityError::Store`] when the store fails.
    pub async fn create(&self, kuid: &str, username: &str, password_hash: &str) -> Result<Value> {
        let document = json!({"kuid": kuid, "username": username, "passwordHash": password_hash});
        if !self
            .store
            .create(Collection::Credentials, username, document)
            .await?
        {
            return Err(rejected(format!(
                "username `{username}` is already used; choose another one"
            )));
        }
        Ok(json!({"username": username, "kuid": kuid}))
    }

    /// Changes the username, the password hash, or both, of `kuid`'s credentials. Returns
    /// `{username, kuid}`.
    ///
    /// # Errors
    ///
    /// [`SecurityError::CredentialsRejected`] when the user has no local credentials or the new
    /// username is taken. [`SecurityError::Store`] when the store fails.
    pub async fn update(
        &self,
        kuid: &str,
        username: Option<&str>,
        password_hash: Option<&str>,
    ) -> Result<Value> {
        let Some(current_username) = self.username_of(kuid).await? else {
            return Err(rejected(format!(
                "user `{kuid}` has no local credentials; create them first"
            )));
        };
        let Some(current) = self
            .store
            .get(Collection::Credentials, &current_username)
            .await?
        else {
            return Err(rejected(format!(
                "user `{kuid}` has no local credentials; create them first"
            )));
        };
        let current_hash = current
            .get("passwordHash")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let new_username = username.unwrap_or(&current_username);
        let document = json!({
            "kuid": kuid,
            "username": new_username,
            "passwordHash": password_hash.unwrap_or(current_hash),
        });
        if new_username == current_username {
            self.store
                .put(Collection::Credentials, new_username, document)
                .await?;
        } else {
            if !self
                .store
                .create(Collection::Credentials, new_username, document)
                .await?
            {
                return Err(rejected(format!(
                    "username `{new_username}` is already used; choose another one"
                )));
            }
            self.store
                .delete(Collection::Credentials, &current_username)
                .await?;
        }
        Ok(json!({"username": new_username, "kuid": kuid}))
    }

    /// Deletes the credentials of `kuid`. Returns whether there were any.
    ///
    /// # Errors
    ///
    /// [`SecurityError::Store`] when the store fails.
    pub async fn delete(&self, kuid: &str) -> Result<bool> {
        let Some(username) = self.username_of(kuid).await? else {
            return Ok(false);
        };
        self.store.delete(Collection::Credentials, &username).await
    }

    /// Returns whether `kuid` has local credentials.
    ///
    /// # Errors
    ///
    /// [`SecurityError::Store`] when the store fails.
    pub async fn exists(&self, kuid: &str) -> Result<bool> {
        Ok(self.username_of(kuid).await?.is_some())
    }

    /// Returns `{username, kuid}` for `kuid`, never the hash, or `None` without credentials.
    ///
    /// # Errors
    ///
    /// [`SecurityError::Store`] when the store fails.
    pub async fn get_info(&self, kuid: &str) -> Result<Option<Value>> {
        let username = self.username_of(kuid).await?;
        Ok(username.map(|username| json!({"username": username, "kuid": kuid})))
    }

    /// Returns the kuid owning a username, or `None` (`security:searchUsersByCredentials` and
    /// `getCredentialsById`).
    ///
    /// # Errors
    ///
    /// [`SecurityError::Store`] when the store fails.
    pub async fn kuid_of(&self, username: &str) -> Result<Option<String>> {
        let stored = self.lookup(username).await?;
        Ok(stored.map(|stored| stored.kuid))
    }

    /// Fetches what a login needs for `username`, or `None` for an unknown username. Pass the
    /// result to [`PasswordHasher::verify_login`] on a blocking thread.
    ///
    /// # Errors
    ///
    /// [`SecurityError::Store`] when the store fails.
    pub async fn lookup(&self, username: &str) -> Result<Option<StoredCredentials>> {
        let Some(document) = self.store.get(Collection::Credentials, username).await? else {
            return Ok(None);
        };
        let kuid = document.get("kuid").and_then(Value::as_str);
        let password_hash = document.get("passwordHash").and_then(Value::as_str);
        let (Some(kuid), Some(password_hash)) = (kuid, password_hash) else {
            return Err(SecurityError::Internal(format!(
                "stored local credentials of `{username}` lack `kuid` or `passwordHash`"
            )));
        };
        Ok(Some(StoredCredentials {
            kuid: kuid.to_owned(),
            password_hash: password_hash.to_owned(),
        }))
    }
}
