//! The security crate's [`SecurityStore`] over the document store, in the internal index
//! `%palisade`, so users, roles, profiles, credentials, API keys, tokens and the JWT secret
//! survive a restart.
//!
//! Every write waits for the search refresh (`Refresh::WaitFor`), because searches by field
//! (tokens of a user, the user owning an API key fingerprint) must see it at once. Reads by id
//! are real-time gets.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use palisade_security::{Collection, Result, SecurityError, SecurityStore, StoredDocument};
use palisade_storage::{
    CollectionConfig, DocumentStore, Refresh, SearchRequest, SearchResult, StorageError,
    WriteOptions,
};
use serde_json::{Value, json};

/// The internal index holding the security documents. The `%` prefix hides it from `index:list`
/// and keeps clients from naming it.
pub const SECURITY_INDEX: &str = "%palisade";

/// Page size of the scroll searches behind `list` and `search_by_field`.
const SCROLL_PAGE: usize = 1000;
/// How long a scroll of `list` stays open between two pages.
const SCROLL_TTL: Duration = Duration::from_secs(30);

/// Every collection the store uses.
const COLLECTIONS: [Collection; 8] = [
    Collection::Roles,
    Collection::Profiles,
    Collection::Users,
    Collection::Credentials,
    Collection::StrategyCredentials,
    Collection::ApiKeys,
    Collection::Tokens,
    Collection::Config,
];

/// A [`SecurityStore`] writing to [`SECURITY_INDEX`] of a document store.
#[derive(Debug)]
pub struct DocumentSecurityStore {
    storage: Arc<dyn DocumentStore>,
    page_size: usize,
}

fn store_error(error: StorageError) -> SecurityError {
    SecurityError::Store(error.to_string())
}

/// Returns the mapping of a collection: the fields searched by `search_by_field` are keywords.
/// Users are dynamic so that `security:searchUsers` can query any field of their content.
fn mapping_of(collection: Collection) -> Value {
    let keyword = json!({"type": "keyword"});
    match collection {
        Collection::Users => json!({"dynamic": true, "properties": {"profileIds": keyword}}),
        // `passwordHash` stays unindexed, so no query can probe it.
        Collection::Credentials => json!({
            "dynamic": false,
            "properties": {"kuid": keyword, "username": keyword}
        }),
        // The strategies' documents stay unindexed: they may hold what a provider returned.
        Collection::StrategyCredentials => json!({
            "dynamic": false,
            "properties": {"strategy": keyword, "kuid": keyword, "subject": keyword}
        }),
        Collection::ApiKeys => json!({
            "dynamic": false,
            "properties": {"userId": keyword, "fingerprint": keyword, "description": {"type": "text"}}
        }),
        Collection::Tokens => json!({
            "dynamic": false,
            "properties": {"userId": keyword, "expiresAt": {"type": "long"}}
        }),
        Collection::Roles => json!({
            "dynamic": false,
            "properties": {"controllers": {"type": "object", "dynamic": false}}
        }),
        Collection::Profiles => json!({
            "dynamic": false,
            "properties": {
                "policies": {"properties": {
                    "roleId": keyword,
                    "restrictedTo": {"properties": {"index": keyword, "collections": keyword}}
                }},
                "rateLimit": {"type": "integer"}
            }
        }),
        Collection::Config => json!({"dynamic": false, "properties": {}}),
    }
}

/// Returns the write options of every security write: visible to search on return.
fn wait_for() -> WriteOptions {
    WriteOptions {
        refresh: Refresh::WaitFor,
        ..WriteOptions::default()
    }
}

impl DocumentSecurityStore {
    /// Opens the store, creating the internal index and its collections when they are missing.
    ///
    /// # Errors
    ///
    /// [`SecurityError::Store`] when the document store fails.
    pub async fn open(storage: Arc<dyn DocumentStore>) -> Result<Self> {
        if !storage
            .index_exists(SECURITY_INDEX)
            .await
            .map_err(store_error)?
        {
            storage
                .create_index(SECURITY_INDEX)
                .await
                .map_err(store_error)?;
        }
        for collection in COLLECTIONS {
            let exists = storage
                .collection_exists(SECURITY_INDEX, collection.name())
                .await
                .map_err(store_error)?;
            if exists {
                continue;
            }
            let config = CollectionConfig {
                mappings: Some(mapping_of(collection)),
                settings: None,
            };
            storage
                .create_collection(SECURITY_INDEX, collection.name(), config)
                .await
                .map_err(store_error)?;
        }
        Ok(Self {
            storage,
            page_size: SCROLL_PAGE,
        })
    }

    /// Runs a search and follows its scroll until every hit is read.
    async fn search_all(
        &self,
        collection: Collection,
        query: Value,
    ) -> Result<Vec<StoredDocument>> {
        let request = SearchRequest {
            body: json!({"query": query}),
            from: None,
            size: Some(self.page_size),
            scroll: Some(SCROLL_TTL),
        };
        let mut page = self
            .storage
            .search(SECURITY_INDEX, collection.name(), request)
            .await
            .map_err(store_error)?;
        let mut documents = Vec::new();
        loop {
            let done = page.hits.is_empty() || page.remaining.unwrap_or(0) == 0;
            let scroll_id = page.scroll_id.clone();
            collect_hits(&mut documents, page);
            let Some(scroll_id) = scroll_id.filter(|_| !done) else {
                return Ok(documents);
            };
            page = self
                .storage
                .scroll(&scroll_id, Some(SCROLL_TTL))
                .await
                .map_err(store_error)?;
        }
    }
}

fn collect_hits(documents: &mut Vec<StoredDocument>, page: SearchResult) {
    documents.extend(page.hits.into_iter().filter_map(|hit| {
        Some(StoredDocument {
            id: hit.id,
            source: hit.source?,
        })
    }));
}

#[async_trait]
impl SecurityStore for DocumentSecurityStore {
    async fn get(&self, collection: Collection, id: &str) -> Result<Option<Value>> {
        match self
            .storage
            .get(SECURITY_INDEX, collection.name(), id)
            .await
        {
            Ok(document) => Ok(Some(document.source)),
            Err(StorageError::NotFound { .. }) => Ok(None),
            Err(error) => Err(store_error(error)),
        }
    }

    async fn put(&self, collection: Collection, id: &str, document: Value) -> Result<()> {
        self.storage
            .create_or_replace(SECURITY_INDEX, collection.name(), id, document, wait_for())
            .await
            .map_err(store_error)?;
        Ok(())
    }

    async fn create(&self, collection: Collection, id: &str, document: Value) -> Result<bool> {
        let created = self
            .storage
            .create(
                SECURITY_INDEX,
                collection.name(),
                Some(id),
                document,
                wait_for(),
            )
            .await;
        match created {
            Ok(_) => Ok(true),
            Err(StorageError::DocumentAlreadyExists { .. }) => Ok(false),
            Err(error) => Err(store_error(error)),
        }
    }

    async fn delete(&self, collection: Collection, id: &str) -> Result<bool> {
        let deleted = self
            .storage
            .delete(SECURITY_INDEX, collection.name(), id, wait_for())
            .await;
        match deleted {
            Ok(_) => Ok(true),
            Err(StorageError::NotFound { .. }) => Ok(false),
            Err(error) => Err(store_error(error)),
        }
    }

    async fn list(&self, collection: Collection) -> Result<Vec<StoredDocument>> {
        self.search_all(collection, json!({"match_all": {}})).await
    }

    async fn search_by_field(
        &self,
        collection: Collection,
        field: &str,
        value: &Value,
    ) -> Result<Vec<StoredDocument>> {
        self.search_all(collection, json!({"term": {field: value}}))
            .await
    }
}

#[cfg(test)]
mod tests {
    use palisade_storage::{EmbeddedEngine, EngineConfig};

    use super::*;

    async fn open_store(data: &tempfile::TempDir) -> DocumentSecurityStore {
        let path = data.path().join("storage");
        let engine =
            tokio::task::spawn_blocking(move || EmbeddedEngine::open(EngineConfig::new(path)))
                .await
                .unwrap()
                .unwrap();
        DocumentSecurityStore::open(Arc::new(engine)).await.unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn documents_round_trip() {
        let data = tempfile::tempdir().unwrap();
        let store = open_store(&data).await;
        let users = Collection::Users;

        assert!(
            store
                .create(users, "a", json!({"profileIds": ["admin"]}))
                .await
                .unwrap()
        );
        assert!(
            !store
                .create(users, "a", json!({"profileIds": ["x"]}))
                .await
                .unwrap()
        );
        assert_eq!(
            store.get(users, "a").await.unwrap(),
            Some(json!({"profileIds": ["admin"]}))
        );
        store
            .put(users, "b", json!({"profileIds": ["default", "admin"]}))
            .await
            .unwrap();
        store
            .put(users, "c", json!({"profileIds": ["default"]}))
            .await
            .unwrap();

        let mut admins: Vec<String> = store
            .search_by_field(users, "profileIds", &json!("admin"))
            .await
            .unwrap()
            .into_iter()
            .map(|document| document.id)
            .collect();
        admins.sort();
        assert_eq!(admins, vec!["a", "b"]);

        assert!(store.delete(users, "a").await.unwrap());
        assert!(!store.delete(users, "a").await.unwrap());
        assert_eq!(store.get(users, "a").await.unwrap(), None);
        assert_eq!(store.list(users).await.unwrap().len(), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn list_follows_scroll_pages() {
        let data = tempfile::tempdir().unwrap();
        let mut store = open_store(&data).await;
        store.page_size = 3;
        for number in 0..10 {
            let entry = json!({"userId": if number % 2 == 0 { "even" } else { "odd" }});
            store
                .put(Collection::Tokens, &format!("t{number}"), entry)
                .await
                .unwrap();
        }
        assert_eq!(store.list(Collection::Tokens).await.unwrap().len(), 10);
        let even = store
            .search_by_field(Collection::Tokens, "userId", &json!("even"))
            .await
            .unwrap();
        assert_eq!(even.len(), 5);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn documents_survive_reopen() {
        let data = tempfile::tempdir().unwrap();
        {
            let store = open_store(&data).await;
            store
                .put(
                    Collection::Config,
                    "security.jwt.secret",
                    json!({"seed": "s"}),
                )
                .await
                .unwrap();
        }
        let store = open_store(&data).await;
        let secret = store
            .get(Collection::Config, "security.jwt.secret")
            .await
            .unwrap();
        assert_eq!(secret, Some(json!({"seed": "s"})));
    }
}
