//! Palisade's document store: the [`DocumentStore`] trait used by every controller, the
//! Elasticsearch query language, mappings, and the embedded engine ([`EmbeddedEngine`], redb for
//! documents and tantivy for search).
//!
//! Every error is a [`StorageError`] that names its Kuzzle catalogue id, so the server maps it
//! the same way on every protocol.

pub mod conformance;
mod engine;
pub mod error;
pub mod mapping;
pub mod names;
pub mod query;
pub mod store;
pub mod value;

pub use engine::{EmbeddedEngine, EngineConfig};
pub use error::{Result, StorageError};
pub use store::{
    BulkOperation, CollectionConfig, CollectionStats, Document, DocumentStore, Hit, IndexStats,
    MultiGet, Refresh, SearchRequest, SearchResult, StorageStats, WriteOptions, WriteResult,
};
