//! The document store trait that every controller uses, and its request and result types.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;

use crate::error::Result;

/// When a write becomes visible to search.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Refresh {
    /// Visible after the next periodic refresh (near-real-time).
    #[default]
    NearRealTime,
    /// Visible to search when the call returns (`refresh=wait_for`).
    WaitFor,
}

/// Options of a write.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteOptions {
    pub refresh: Refresh,
    /// Times an update is retried after a version conflict (`retryOnConflict`).
    pub retry_on_conflict: u32,
}

/// A stored document.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub id: String,
    pub source: Value,
    pub version: u64,
}

/// The outcome of a write, with the old and new sources a change notifier needs.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteResult {
    pub id: String,
    /// Version after the write; for a deletion, the version of the deleted document.
    pub version: u64,
    /// Source before the write, `None` when the document was created.
    pub old_source: Option<Value>,
    /// Source after the write, `None` when the document was deleted.
    pub source: Option<Value>,
    /// Whether the write created the document.
    pub created: bool,
}

/// The `body` of collection create and update: `{mappings, settings}`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CollectionConfig {
    /// `{dynamic, _meta, properties}`; `None` keeps the current mapping or the default one.
    pub mappings: Option<Value>,
    /// Index settings, stored and returned by `get_settings`.
    pub settings: Option<Value>,
}

/// A search request: the Elasticsearch body plus the request arguments.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchRequest {
    pub body: Value,
    /// `from` argument; overrides the body's `from`.
    pub from: Option<usize>,
    /// `size` argument; overrides the body's `size` (default 10).
    pub size: Option<usize>,
    /// Keeps the results for `scroll` calls for this long.
    pub scroll: Option<Duration>,
}

/// One search hit.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub index: String,
    pub collection: String,
    pub id: String,
    pub score: f32,
    /// The filtered source, `None` when `_source` is disabled.
    pub source: Option<Value>,
    pub version: u64,
    /// `{field: [fragments]}` when the request asked for highlight.
    pub highlight: Option<Value>,
    /// Sort values, the input of `search_after`, when the request sorted.
    pub sort: Option<Vec<Value>>,
}

/// A page of search results.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchResult {
    pub hits: Vec<Hit>,
    /// Number of documents matching the query.
    pub total: u64,
    /// Elasticsearch-shaped aggregation results, when requested.
    pub aggregations: Option<Value>,
    /// Id for the next `scroll` call, when the request scrolls.
    pub scroll_id: Option<String>,
    /// Hits left after this page, when the request scrolls.
    pub remaining: Option<u64>,
}

/// Sizes of the stored data.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StorageStats {
    pub indexes: Vec<IndexStats>,
    /// Total size in bytes.
    pub size: u64,
}

/// Sizes of one index.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IndexStats {
    pub name: String,
    pub size: u64,
    pub collections: Vec<CollectionStats>,
}

/// Sizes of one collection.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CollectionStats {
    pub name: String,
    pub document_count: u64,
    /// Bytes of stored sources (JSON), an estimate of the collection's size.
    pub size: u64,
}

/// The result of a multi-get.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MultiGet {
    pub found: Vec<Document>,
    pub missing: Vec<String>,
}

/// One operation of a bulk write.
#[derive(Debug, Clone, PartialEq)]
pub enum BulkOperation {
    Create {
        id: Option<String>,
        source: Value,
    },
    CreateOrReplace {
        id: String,
        source: Value,
    },
    Replace {
        id: String,
        source: Value,
    },
    Update {
        id: String,
        changes: Value,
    },
    /// Updates with `changes`, or creates from `default` deep-merged with `changes`.
    Upsert {
        id: String,
        changes: Value,
        default: Value,
    },
    Delete {
        id: String,
    },
}

/// The document store used by every controller.
///
/// Index and collection names are checked by the store. Index names starting with `%` are
/// internal: accepted by every method but left out of [`DocumentStore::list_indexes`]; the API
/// layer must keep users from naming them. Each write returns once it is durable.
#[async_trait]
pub trait DocumentStore: Send + Sync + std::fmt::Debug {
    /// Creates an index. Errors: `index_already_exists`, `invalid_index_name`.
    async fn create_index(&self, index: &str) -> Result<()>;
    /// Deletes an index and its collections. Errors: `unknown_index`.
    async fn delete_index(&self, index: &str) -> Result<()>;
    async fn index_exists(&self, index: &str) -> Result<bool>;
    /// Lists public indexes, sorted, internal ones left out.
    async fn list_indexes(&self) -> Result<Vec<String>>;
    /// Returns sizes of the public indexes.
    async fn stats(&self) -> Result<StorageStats>;

    /// Creates a collection, or updates its mapping and settings when it exists (as Kuzzle).
    async fn create_collection(
        &self,
        index: &str,
        collection: &str,
        config: CollectionConfig,
    ) -> Result<()>;
    /// Updates the mapping and settings of an existing collection.
    async fn update_collection(
        &self,
        index: &str,
        collection: &str,
        config: CollectionConfig,
    ) -> Result<()>;
    /// Adds fields to a mapping and returns the new mapping (without `_kuzzle_info`).
    async fn update_mapping(&self, index: &str, collection: &str, mappings: Value)
    -> Result<Value>;
    /// Returns `{dynamic, _meta, properties}`.
    async fn get_mapping(
        &self,
        index: &str,
        collection: &str,
        include_kuzzle_meta: bool,
    ) -> Result<Value>;
    async fn get_settings(&self, index: &str, collection: &str) -> Result<Value>;
    async fn collection_exists(&self, index: &str, collection: &str) -> Result<bool>;
    /// Lists the collections of an index, sorted.
    async fn list_collections(&self, index: &str) -> Result<Vec<String>>;
    /// Deletes every document and keeps the mapping.
    async fn truncate_collection(&self, index: &str, collection: &str) -> Result<()>;
    /// Makes every acknowledged write visible to search.
    async fn refresh_collection(&self, index: &str, collection: &str) -> Result<()>;
    async fn delete_collection(&self, index: &str, collection: &str) -> Result<()>;

    /// Creates a document; generates an id when `id` is `None`.
    /// Errors: `document_already_exists`, mapping errors.
    async fn create(
        &self,
        index: &str,
        collection: &str,
        id: Option<&str>,
        source: Value,
        options: WriteOptions,
    ) -> Result<WriteResult>;
    /// Creates or replaces a document; `created` is true when it was created.
    async fn create_or_replace(
        &self,
        index: &str,
        collection: &str,
        id: &str,
        source: Value,
        options: WriteOptions,
    ) -> Result<WriteResult>;
    /// Replaces an existing document. Errors: `not_found`.
    async fn replace(
        &self,
        index: &str,
        collection: &str,
        id: &str,
        source: Value,
        options: WriteOptions,
    ) -> Result<WriteResult>;
    /// Deep-merges `changes` into an existing document. Errors: `not_found`.
    async fn update(
        &self,
        index: &str,
        collection: &str,
        id: &str,
        changes: Value,
        options: WriteOptions,
    ) -> Result<WriteResult>;
    /// Deep-merges `changes` into a document, or creates it from `default` deep-merged with
    /// `changes` when it does not exist; `created` is true when it was created.
    async fn upsert(
        &self,
        index: &str,
        collection: &str,
        id: &str,
        changes: Value,
        default: Value,
        options: WriteOptions,
    ) -> Result<WriteResult>;
    /// Deletes a document. Errors: `not_found`.
    async fn delete(
        &self,
        index: &str,
        collection: &str,
        id: &str,
        options: WriteOptions,
    ) -> Result<WriteResult>;
    /// Removes fields given as dotted paths. Errors: `not_found`.
    async fn delete_fields(
        &self,
        index: &str,
        collection: &str,
        id: &str,
        fields: Vec<String>,
        options: WriteOptions,
    ) -> Result<WriteResult>;

    /// Reads a document in real time. Errors: `not_found`.
    async fn get(&self, index: &str, collection: &str, id: &str) -> Result<Document>;
    async fn mget(&self, index: &str, collection: &str, ids: Vec<String>) -> Result<MultiGet>;
    async fn exists(&self, index: &str, collection: &str, id: &str) -> Result<bool>;

    /// Runs an Elasticsearch search body.
    async fn search(
        &self,
        index: &str,
        collection: &str,
        request: SearchRequest,
    ) -> Result<SearchResult>;
    /// Runs one search body on several collections (Kuzzle's `targets`), given as
    /// (index, collection) pairs, and merges the hits. Aggregations and highlight are rejected.
    async fn search_targets(
        &self,
        targets: Vec<(String, String)>,
        request: SearchRequest,
    ) -> Result<SearchResult>;
    /// Counts the documents matching a query clause (`body.query`).
    async fn count(&self, index: &str, collection: &str, query: Value) -> Result<u64>;
    /// Returns the next page of a scroll search and extends its TTL when `ttl` is given.
    /// Errors: `unknown_scroll_id`.
    async fn scroll(&self, scroll_id: &str, ttl: Option<Duration>) -> Result<SearchResult>;
    /// Deletes every document matching a query clause, in one durable commit.
    async fn delete_by_query(
        &self,
        index: &str,
        collection: &str,
        query: Value,
        options: WriteOptions,
    ) -> Result<Vec<WriteResult>>;
    /// Deep-merges `changes` into every document matching a query clause, in one durable
    /// commit; a document whose result breaks the mapping fails on its own.
    async fn update_by_query(
        &self,
        index: &str,
        collection: &str,
        query: Value,
        changes: Value,
        options: WriteOptions,
    ) -> Result<Vec<Result<WriteResult>>>;
    /// Applies many writes in one durable commit; each item succeeds or fails on its own.
    async fn bulk(
        &self,
        index: &str,
        collection: &str,
        operations: Vec<BulkOperation>,
        options: WriteOptions,
    ) -> Result<Vec<Result<WriteResult>>>;
}
