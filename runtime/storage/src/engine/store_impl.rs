//! [`DocumentStore`] for the embedded engine: each call runs on tokio's blocking pool, and
//! document writes go through the writer queue (`write_queue.rs`).

use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;

use tokio::sync::oneshot;

use super::prepare::prepare;
use super::write::{WriteOp, drain_writes};
use super::write_queue::QueuedWrite;
use super::{EmbeddedEngine, Inner};
use crate::error::{Result, StorageError};
use crate::store::{
    BulkOperation, CollectionConfig, Document, DocumentStore, MultiGet, Refresh, SearchRequest,
    SearchResult, StorageStats, WriteOptions, WriteResult,
};

impl EmbeddedEngine {
    async fn run<T, F>(&self, job: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Inner) -> Result<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || job(&inner))
            .await
            .map_err(StorageError::internal)?
    }

    /// Queues writes on one collection for the next batch transaction, waits until they are
    /// durable and, for `refresh=wait_for`, searchable. Returns one result per operation.
    async fn write(
        &self,
        index: &str,
        collection: &str,
        mut operations: Vec<WriteOp>,
        options: WriteOptions,
    ) -> Result<Vec<Result<WriteResult>>> {
        // Preparing runs on the caller's thread, in parallel with the other callers, because
        // the writer applies every call on one thread. An unknown collection fails in the
        // writer, as it does without preparation.
        let prepared = self
            .inner
            .collection(index, collection)
            .ok()
            .map(|open| prepare(&open, &mut operations));
        let (reply, applied) = oneshot::channel();
        let write = QueuedWrite {
            index: index.to_owned(),
            collection: collection.to_owned(),
            operations,
            prepared,
            reply,
        };
        if self.inner.write_queue.push(write) {
            let inner = self.inner.clone();
            tokio::task::spawn_blocking(move || drain_writes(inner));
        }
        let applied = applied.await.map_err(|_| {
            StorageError::internal("the write batch task panicked before replying")
        })??;

        if options.refresh == Refresh::WaitFor && applied.last_seq > 0 {
            let (collection, last_seq) = (applied.collection.clone(), applied.last_seq);
            self.run(move |inner| {
                let search = collection.search.read().clone();
                inner.commit_search_through(&collection.key, &search, last_seq)
            })
            .await?;
        }
        Ok(applied.results)
    }

    async fn matching_ids(
        &self,
        index: &str,
        collection: &str,
        query: Value,
    ) -> Result<Vec<String>> {
        let (index, collection) = (index.to_owned(), collection.to_owned());
        self.run(move |inner| inner.matching_ids(&index, &collection, &query))
            .await
    }

    async fn write_one(
        &self,
        index: &str,
        collection: &str,
        operation: WriteOp,
        options: WriteOptions,
    ) -> Result<WriteResult> {
        let mut results = self
            .write(index, collection, vec![operation], options)
            .await?;
        results.pop().expect("one operation gives one result")
    }
}

#[async_trait]
impl DocumentStore for EmbeddedEngine {
    async fn create_index(&self, index: &str) -> Result<()> {
        let index = index.to_owned();
        self.run(move |inner| inner.create_index(&index)).await
    }

    async fn delete_index(&self, index: &str) -> Result<()> {
        let index = index.to_owned();
        self.run(move |inner| inner.delete_index(&index)).await
    }

    async fn index_exists(&self, index: &str) -> Result<bool> {
        let index = index.to_owned();
        self.run(move |inner| inner.index_exists(&index)).await
    }

    async fn list_indexes(&self) -> Result<Vec<String>> {
        self.run(|inner| inner.list_indexes()).await
    }

    async fn stats(&self) -> Result<StorageStats> {
        self.run(|inner| inner.stats()).await
    }

    async fn create_collection(
        &self,
        index: &str,
        collection: &str,
        config: CollectionConfig,
    ) -> Result<()> {
        let (index, collection) = (index.to_owned(), collection.to_owned());
        self.run(move |inner| inner.create_collection(&index, &collection, config))
            .await
    }

    async fn update_collection(
        &self,
        index: &str,
        collection: &str,
        config: CollectionConfig,
    ) -> Result<()> {
        let (index, collection) = (index.to_owned(), collection.to_owned());
        self.run(move |inner| inner.update_collection(&index, &collection, config))
            .await
    }

    async fn update_mapping(
        &self,
        index: &str,
        collection: &str,
        mappings: Value,
    ) -> Result<Value> {
        let (index, collection) = (index.to_owned(), collection.to_owned());
        self.run(move |inner| inner.update_mapping(&index, &collection, &mappings))
            .await
    }

    async fn get_mapping(
        &self,
        index: &str,
        collection: &str,
        include_kuzzle_meta: bool,
    ) -> Result<Value> {
        let (index, collection) = (index.to_owned(), collection.to_owned());
        self.run(move |inner| {
            let collection = inner.collection(&index, &collection)?;
            Ok(collection.mapping.read().to_json(include_kuzzle_meta))
        })
        .await
    }

    async fn get_settings(&self, index: &str, collection: &str) -> Result<Value> {
        let (index, collection) = (index.to_owned(), collection.to_owned());
        self.run(move |inner| {
            Ok(inner
                .collection(&index, &collection)?
                .settings
                .read()
                .clone())
        })
        .await
    }

    async fn collection_exists(&self, index: &str, collection: &str) -> Result<bool> {
        let (index, collection) = (index.to_owned(), collection.to_owned());
        self.run(move |inner| match inner.collection(&index, &collection) {
            Ok(_) => Ok(true),
            Err(StorageError::UnknownCollection { .. } | StorageError::UnknownIndex { .. }) => {
                Ok(false)
            }
            Err(error) => Err(error),
        })
        .await
    }

    async fn list_collections(&self, index: &str) -> Result<Vec<String>> {
        let index = index.to_owned();
        self.run(move |inner| inner.list_collections(&index)).await
    }

    async fn truncate_collection(&self, index: &str, collection: &str) -> Result<()> {
        let (index, collection) = (index.to_owned(), collection.to_owned());
        self.run(move |inner| inner.truncate_collection(&index, &collection))
            .await
    }

    async fn refresh_collection(&self, index: &str, collection: &str) -> Result<()> {
        let (index, collection) = (index.to_owned(), collection.to_owned());
        self.run(move |inner| {
            let collection = inner.collection(&index, &collection)?;
            let search = collection.search.read().clone();
            inner.commit_search(&collection.key, &search)
        })
        .await
    }

    async fn delete_collection(&self, index: &str, collection: &str) -> Result<()> {
        let (index, collection) = (index.to_owned(), collection.to_owned());
        self.run(move |inner| inner.delete_collection(&index, &collection))
            .await
    }

    async fn create(
        &self,
        index: &str,
        collection: &str,
        id: Option<&str>,
        source: Value,
        options: WriteOptions,
    ) -> Result<WriteResult> {
        let operation = WriteOp::Create {
            id: id.map(str::to_owned),
            source,
        };
        self.write_one(index, collection, operation, options).await
    }

    async fn create_or_replace(
        &self,
        index: &str,
        collection: &str,
        id: &str,
        source: Value,
        options: WriteOptions,
    ) -> Result<WriteResult> {
        let operation = WriteOp::CreateOrReplace {
            id: id.to_owned(),
            source,
        };
        self.write_one(index, collection, operation, options).await
    }

    async fn replace(
        &self,
        index: &str,
        collection: &str,
        id: &str,
        source: Value,
        options: WriteOptions,
    ) -> Result<WriteResult> {
        let operation = WriteOp::Replace {
            id: id.to_owned(),
            source,
        };
        self.write_one(index, collection, operation, options).await
    }

    async fn update(
        &self,
        index: &str,
        collection: &str,
        id: &str,
        changes: Value,
        options: WriteOptions,
    ) -> Result<WriteResult> {
        // Writes are serialized by the engine, so an update never meets a version conflict and
        // `retry_on_conflict` has nothing to retry.
        let operation = WriteOp::Update {
            id: id.to_owned(),
            changes,
        };
        self.write_one(index, collection, operation, options).await
    }

    async fn upsert(
        &self,
        index: &str,
        collection: &str,
        id: &str,
        changes: Value,
        default: Value,
        options: WriteOptions,
    ) -> Result<WriteResult> {
        let operation = WriteOp::Upsert {
            id: id.to_owned(),
            changes,
            default,
        };
        self.write_one(index, collection, operation, options).await
    }

    async fn delete(
        &self,
        index: &str,
        collection: &str,
        id: &str,
        options: WriteOptions,
    ) -> Result<WriteResult> {
        let operation = WriteOp::Delete { id: id.to_owned() };
        self.write_one(index, collection, operation, options).await
    }

    async fn delete_fields(
        &self,
        index: &str,
        collection: &str,
        id: &str,
        fields: Vec<String>,
        options: WriteOptions,
    ) -> Result<WriteResult> {
        let operation = WriteOp::DeleteFields {
            id: id.to_owned(),
            fields,
        };
        self.write_one(index, collection, operation, options).await
    }

    async fn get(&self, index: &str, collection: &str, id: &str) -> Result<Document> {
        let (index, collection, id) = (index.to_owned(), collection.to_owned(), id.to_owned());
        self.run(move |inner| {
            let handle = inner.collection(&index, &collection)?;
            match super::db::read_document(&inner.db, &handle.key, &id)? {
                Some((version, source)) => Ok(Document {
                    id,
                    source,
                    version,
                }),
                None => Err(StorageError::NotFound {
                    id,
                    index,
                    collection,
                }),
            }
        })
        .await
    }

    async fn mget(&self, index: &str, collection: &str, ids: Vec<String>) -> Result<MultiGet> {
        let (index, collection) = (index.to_owned(), collection.to_owned());
        self.run(move |inner| {
            let handle = inner.collection(&index, &collection)?;
            let mut result = MultiGet::default();
            for id in ids {
                match super::db::read_document(&inner.db, &handle.key, &id)? {
                    Some((version, source)) => result.found.push(Document {
                        id,
                        source,
                        version,
                    }),
                    None => result.missing.push(id),
                }
            }
            Ok(result)
        })
        .await
    }

    async fn exists(&self, index: &str, collection: &str, id: &str) -> Result<bool> {
        let (index, collection, id) = (index.to_owned(), collection.to_owned(), id.to_owned());
        self.run(move |inner| {
            let handle = inner.collection(&index, &collection)?;
            Ok(super::db::read_document(&inner.db, &handle.key, &id)?.is_some())
        })
        .await
    }

    async fn search(
        &self,
        index: &str,
        collection: &str,
        request: SearchRequest,
    ) -> Result<SearchResult> {
        let (index, collection) = (index.to_owned(), collection.to_owned());
        self.run(move |inner| inner.search(&index, &collection, request))
            .await
    }

    async fn search_targets(
        &self,
        targets: Vec<(String, String)>,
        request: SearchRequest,
    ) -> Result<SearchResult> {
        self.run(move |inner| inner.search_targets(&targets, request))
            .await
    }

    async fn count(&self, index: &str, collection: &str, query: Value) -> Result<u64> {
        let (index, collection) = (index.to_owned(), collection.to_owned());
        self.run(move |inner| inner.count(&index, &collection, &query))
            .await
    }

    async fn scroll(&self, scroll_id: &str, ttl: Option<Duration>) -> Result<SearchResult> {
        let scroll_id = scroll_id.to_owned();
        self.run(move |inner| inner.scroll(&scroll_id, ttl)).await
    }

    async fn delete_by_query(
        &self,
        index: &str,
        collection: &str,
        query: Value,
        options: WriteOptions,
    ) -> Result<Vec<WriteResult>> {
        let ids = self.matching_ids(index, collection, query).await?;
        let operations = ids.into_iter().map(|id| WriteOp::Delete { id }).collect();
        let results = self.write(index, collection, operations, options).await?;
        Ok(results.into_iter().filter_map(Result::ok).collect())
    }

    async fn update_by_query(
        &self,
        index: &str,
        collection: &str,
        query: Value,
        changes: Value,
        options: WriteOptions,
    ) -> Result<Vec<Result<WriteResult>>> {
        let ids = self.matching_ids(index, collection, query).await?;
        let operations = ids
            .into_iter()
            .map(|id| WriteOp::Update {
                id,
                changes: changes.clone(),
            })
            .collect();
        self.write(index, collection, operations, options).await
    }

    async fn bulk(
        &self,
        index: &str,
        collection: &str,
        operations: Vec<BulkOperation>,
        options: WriteOptions,
    ) -> Result<Vec<Result<WriteResult>>> {
        let operations = operations.into_iter().map(WriteOp::from).collect();
        self.write(index, collection, operations, options).await
    }
}
