//! Credentials of the strategies that plugins provide, stored by the server on their behalf.
//!
//! Each user has at most one entry per strategy: the `subject` (the user's id at the identity
//! provider) and a `document` the strategy chose. The entry's id derives from the strategy and
//! the subject, so the store itself keeps a subject from being linked to two users.

use std::sync::Arc;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::error::{Result, SecurityError};
use crate::store::{Collection, SecurityStore};

/// A user's credentials for one plugin strategy.
#[derive(Debug, Clone, PartialEq)]
pub struct StrategyCredentials {
    /// The user's kuid.
    pub kuid: String,
    /// The user's id at the identity provider, unique within the strategy.
    pub subject: String,
    /// The strategy's data about the user: a JSON object.
    pub document: Value,
}

/// The stored credentials of every plugin strategy, in [`Collection::StrategyCredentials`].
/// Documents are `{strategy, kuid, subject, document}`.
#[derive(Debug)]
pub struct StrategyCredentialsStore {
    store: Arc<dyn SecurityStore>,
}

impl StrategyCredentialsStore {
    /// Creates the store over the security store.
    pub fn new(store: Arc<dyn SecurityStore>) -> Self {
        Self { store }
    }

    /// Returns the credentials of `kuid` for `strategy`, if any.
    ///
    /// # Errors
    ///
    /// [`SecurityError::Store`] when the store fails.
    pub async fn get(&self, strategy: &str, kuid: &str) -> Result<Option<StrategyCredentials>> {
        let found = self
            .store
            .search_by_field(Collection::StrategyCredentials, "kuid", &Value::from(kuid))
            .await?;
        let entry = found.into_iter().find(|document| {
            document.source.get("strategy").and_then(Value::as_str) == Some(strategy)
        });
        Ok(entry.and_then(|document| parse(&document.source)))
    }

    /// Returns the credentials whose subject is `subject` for `strategy`, if any.
    ///
    /// # Errors
    ///
    /// [`SecurityError::Store`] when the store fails.
    pub async fn find_by_subject(
        &self,
        strategy: &str,
        subject: &str,
    ) -> Result<Option<StrategyCredentials>> {
        let document = self
            .store
            .get(
                Collection::StrategyCredentials,
                &entry_id(strategy, subject),
            )
            .await?;
        Ok(document.as_ref().and_then(parse))
    }

    /// Stores new credentials of `kuid` for `strategy`.
    ///
    /// # Errors
    ///
    /// [`SecurityError::CredentialsRejected`] when the user already has credentials for the
    /// strategy or another user has the subject; [`SecurityError::Store`] when the store fails.
    pub async fn create(&self, strategy: &str, credentials: &StrategyCredentials) -> Result<()> {
        let kuid = &credentials.kuid;
        if self.get(strategy, kuid).await?.is_some() {
            return Err(rejected(
                strategy,
                format!("user `{kuid}` already has {strategy} credentials; update them instead"),
            ));
        }
        self.insert(strategy, credentials).await
    }

    /// Replaces the credentials of `credentials.kuid` for `strategy`, which may change the
    /// subject.
    ///
    /// # Errors
    ///
    /// [`SecurityError::CredentialsRejected`] when the user has no credentials for the strategy
    /// or another user has the new subject; [`SecurityError::Store`] when the store fails.
    pub async fn replace(&self, strategy: &str, credentials: &StrategyCredentials) -> Result<()> {
        let kuid = &credentials.kuid;
        let Some(current) = self.get(strategy, kuid).await? else {
            return Err(rejected(
                strategy,
                format!("user `{kuid}` has no {strategy} credentials; create them first"),
            ));
        };
        if current.subject == credentials.subject {
            let id = entry_id(strategy, &credentials.subject);
            return self
                .store
                .put(
                    Collection::StrategyCredentials,
                    &id,
                    to_document(strategy, credentials),
                )
                .await;
        }

        self.insert(strategy, credentials).await?;
        self.store
            .delete(
                Collection::StrategyCredentials,
                &entry_id(strategy, &current.subject),
            )
            .await?;
        Ok(())
    }

    /// Deletes the credentials of `kuid` for `strategy`. Returns whether there were any.
    ///
    /// # Errors
    ///
    /// [`SecurityError::Store`] when the store fails.
    pub async fn delete(&self, strategy: &str, kuid: &str) -> Result<bool> {
        let Some(current) = self.get(strategy, kuid).await? else {
            return Ok(false);
        };
        self.store
            .delete(
                Collection::StrategyCredentials,
                &entry_id(strategy, &current.subject),
            )
            .await
    }

    /// Deletes the credentials of `kuid` for every strategy, when the user is deleted.
    ///
    /// # Errors
    ///
    /// [`SecurityError::Store`] when the store fails.
    pub async fn delete_user(&self, kuid: &str) -> Result<()> {
        let found = self
            .store
            .search_by_field(Collection::StrategyCredentials, "kuid", &Value::from(kuid))
            .await?;
        for document in found {
            self.store
                .delete(Collection::StrategyCredentials, &document.id)
                .await?;
        }
        Ok(())
    }

    /// Returns the strategies `kuid` has credentials for.
    ///
    /// # Errors
    ///
    /// [`SecurityError::Store`] when the store fails.
    pub async fn strategies_of(&self, kuid: &str) -> Result<Vec<String>> {
        let found = self
            .store
            .search_by_field(Collection::StrategyCredentials, "kuid", &Value::from(kuid))
            .await?;
        let mut strategies: Vec<String> = found
            .iter()
            .filter_map(|document| document.source.get("strategy").and_then(Value::as_str))
            .map(str::to_owned)
            .collect();
        strategies.sort();
        strategies.dedup();
        Ok(strategies)
    }

    async fn insert(&self, strategy: &str, credentials: &StrategyCredentials) -> Result<()> {
        let id = entry_id(strategy, &credentials.subject);
        let created = self
            .store
            .create(
                Collection::StrategyCredentials,
                &id,
                to_document(strategy, credentials),
            )
            .await?;
        if created {
            return Ok(());
        }
        Err(rejected(
            strategy,
            format!(
                "subject `{}` is already linked to another user for {strategy}",
                credentials.subject
            ),
        ))
    }
}

/// Returns the id of an entry: a digest, because subjects are free text of any length.
fn entry_id(strategy: &str, subject: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(strategy.as_bytes());
    hasher.update([0]);
    hasher.update(subject.as_bytes());
    hex::encode(hasher.finalize())
}

fn to_document(strategy: &str, credentials: &StrategyCredentials) -> Value {
    json!({
        "strategy": strategy,
        "kuid": credentials.kuid,
        "subject": credentials.subject,
        "document": credentials.document,
    })
}

fn parse(source: &Value) -> Option<StrategyCredentials> {
    Some(StrategyCredentials {
        kuid: source.get("kuid")?.as_str()?.to_owned(),
        subject: source.get("subject")?.as_str()?.to_owned(),
        document: source.get("document").cloned().unwrap_or_else(|| json!({})),
    })
}

fn rejected(strategy: &str, reason: String) -> SecurityError {
    SecurityError::CredentialsRejected {
        strategy: strategy.to_owned(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    fn credentials(kuid: &str, subject: &str) -> StrategyCredentials {
        StrategyCredentials {
            kuid: kuid.to_owned(),
            subject: subject.to_owned(),
            document: json!({"issuer": "idp"}),
        }
    }

    #[tokio::test]
    async fn subject_links_one_user() {
        let store = StrategyCredentialsStore::new(Arc::new(MemoryStore::new()));
        store
            .create("oidc", &credentials("ada", "sub-1"))
            .await
            .unwrap();

        let found = store.find_by_subject("oidc", "sub-1").await.unwrap();
        assert_eq!(found.map(|entry| entry.kuid), Some("ada".to_owned()));

        let taken = store.create("oidc", &credentials("bob", "sub-1")).await;
        assert!(matches!(
            taken,
            Err(SecurityError::CredentialsRejected { .. })
        ));

        let twice = store.create("oidc", &credentials("ada", "sub-2")).await;
        assert!(matches!(
            twice,
            Err(SecurityError::CredentialsRejected { .. })
        ));
    }

    #[tokio::test]
    async fn replace_moves_subject() {
        let store = StrategyCredentialsStore::new(Arc::new(MemoryStore::new()));
        store
            .create("ldap", &credentials("ada", "ada"))
            .await
            .unwrap();
        store
            .replace("ldap", &credentials("ada", "ada.l"))
            .await
            .unwrap();

        assert!(
            store
                .find_by_subject("ldap", "ada")
                .await
                .unwrap()
                .is_none()
        );
        let moved = store.get("ldap", "ada").await.unwrap().unwrap();
        assert_eq!(moved.subject, "ada.l");

        let missing = store.replace("ldap", &credentials("bob", "bob")).await;
        assert!(matches!(
            missing,
            Err(SecurityError::CredentialsRejected { .. })
        ));
    }

    #[tokio::test]
    async fn delete_user_removes_every_strategy() {
        let store = StrategyCredentialsStore::new(Arc::new(MemoryStore::new()));
        store
            .create("ldap", &credentials("ada", "ada"))
            .await
            .unwrap();
        store
            .create("saml", &credentials("ada", "ada@idp"))
            .await
            .unwrap();
        assert_eq!(store.strategies_of("ada").await.unwrap(), ["ldap", "saml"]);

        store.delete_user("ada").await.unwrap();
        assert!(store.strategies_of("ada").await.unwrap().is_empty());
        assert!(!store.delete("ldap", "ada").await.unwrap());
    }
}
