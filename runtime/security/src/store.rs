//! Persistence of security documents, behind a trait the server implements over its own store.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;

use async_trait::async_trait;
use parking_lot::RwLock;
use serde_json::Value;

use crate::error::Result;

/// The kinds of documents the security layer persists, one collection each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Collection {
    /// Roles, by role id.
    Roles,
    /// Profiles, by profile id.
    Profiles,
    /// Users, by kuid. Credentials are never stored on the user.
    Users,
    /// Local strategy credentials, by username.
    Credentials,
    /// Credentials of the strategies that plugins provide, by a digest of strategy and subject.
    StrategyCredentials,
    /// API keys, by API key id. Only the SHA-256 fingerprint of the token is stored.
    ApiKeys,
    /// The token registry: active authentication tokens, by SHA-256 fingerprint of the token.
    Tokens,
    /// Configuration documents such as the JWT secret.
    Config,
}

impl Collection {
    /// Returns a stable name for the collection, usable as a storage collection name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Roles => "roles",
            Self::Profiles => "profiles",
            Self::Users => "users",
            Self::Credentials => "credentials-local",
            Self::StrategyCredentials => "credentials-plugins",
            Self::ApiKeys => "api-keys",
            Self::Tokens => "tokens",
            Self::Config => "config",
        }
    }
}

/// A document read back from a [`SecurityStore`].
#[derive(Debug, Clone, PartialEq)]
pub struct StoredDocument {
    /// The document id within its collection.
    pub id: String,
    /// The document body.
    pub source: Value,
}

/// Asynchronous persistence of the security documents.
///
/// Implementations map their own failures to [`crate::SecurityError::Store`]. Reads must see
/// earlier writes of the same process (real-time get), because a revoked token must stop working
/// at once.
#[async_trait]
pub trait SecurityStore: Send + Sync + Debug {
    /// Fetches one document, or `None` when the id is unknown.
    async fn get(&self, collection: Collection, id: &str) -> Result<Option<Value>>;

    /// Creates or replaces one document.
    async fn put(&self, collection: Collection, id: &str, document: Value) -> Result<()>;

    /// Creates one document unless the id exists. Returns `false` when the id existed, in which
    /// case the stored document is left unchanged.
    async fn create(&self, collection: Collection, id: &str, document: Value) -> Result<bool>;

    /// Deletes one document. Returns `false` when the id was unknown.
    async fn delete(&self, collection: Collection, id: &str) -> Result<bool>;

    /// Lists every document of a collection.
    async fn list(&self, collection: Collection) -> Result<Vec<StoredDocument>>;

    /// Lists the documents whose top-level `field` equals `value`, or, when the field is an
    /// array, contains `value`.
    async fn search_by_field(
        &self,
        collection: Collection,
        field: &str,
        value: &Value,
    ) -> Result<Vec<StoredDocument>>;
}

/// An in-memory [`SecurityStore`] for tests and single-process experiments. Nothing persists
/// across restarts.
#[derive(Debug, Default)]
pub struct MemoryStore {
    collections: RwLock<HashMap<Collection, BTreeMap<String, Value>>>,
}

impl MemoryStore {
    /// Creates an empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

fn field_matches(document: &Value, field: &str, value: &Value) -> bool {
    match document.get(field) {
        Some(Value::Array(items)) => items.contains(value),
        Some(found) => found == value,
        None => false,
    }
}

#[async_trait]
impl SecurityStore for MemoryStore {
    async fn get(&self, collection: Collection, id: &str) -> Result<Option<Value>> {
        let collections = self.collections.read();
        Ok(collections
            .get(&collection)
            .and_then(|documents| documents.get(id).cloned()))
    }

    async fn put(&self, collection: Collection, id: &str, document: Value) -> Result<()> {
        let mut collections = self.collections.write();
        collections
            .entry(collection)
            .or_default()
            .insert(id.to_owned(), document);
        Ok(())
    }

    async fn create(&self, collection: Collection, id: &str, document: Value) -> Result<bool> {
        let mut collections = self.collections.write();
        let documents = collections.entry(collection).or_default();
        if documents.contains_key(id) {
            return Ok(false);
        }
        documents.insert(id.to_owned(), document);
        Ok(true)
    }

    async fn delete(&self, collection: Collection, id: &str) -> Result<bool> {
        let mut collections = self.collections.write();
        let removed = collections
            .get_mut(&collection)
            .and_then(|documents| documents.remove(id));
        Ok(removed.is_some())
    }

    async fn list(&self, collection: Collection) -> Result<Vec<StoredDocument>> {
        let collections = self.collections.read();
        let Some(documents) = collections.get(&collection) else {
            return Ok(Vec::new());
        };
        let listed = documents
            .iter()
            .map(|(id, source)| StoredDocument {
                id: id.clone(),
                source: source.clone(),
            })
            .collect();
        Ok(listed)
    }

    async fn search_by_field(
        &self,
        collection: Collection,
        field: &str,
        value: &Value,
    ) -> Result<Vec<StoredDocument>> {
        let listed = self.list(collection).await?;
        let matching = listed
            .into_iter()
            .filter(|document| field_matches(&document.source, field, value))
            .collect();
        Ok(matching)
    }
}
