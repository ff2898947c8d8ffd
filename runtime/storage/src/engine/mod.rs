//! The embedded engine: redb as the source of truth, one tantivy index per collection for search.
//!
//! Every write commits to redb with a sequence number recorded in the `changes` table, in a
//! durable commit (fsync) shared with the writes queued meanwhile (see `write_queue.rs`), and is
//! then staged in the collection's tantivy writer. A background thread commits the tantivy
//! writer every refresh interval (or at once for `refresh=wait_for`). A tantivy commit stores the
//! highest sequence number it contains and prunes the `changes` entries up to it, so on open
//! every entry left is replayed: the search index always catches up with the stored documents
//! after a crash.

mod aggregation;
mod calendar;
mod catalog;
mod db;
mod fast_range;
mod geo_filter;
mod prepare;
mod recovery;
mod scroll;
mod search;
mod search_index;
mod sorting;
mod store_impl;
mod targets;
mod top_hits;
mod translate;
mod write;
mod write_queue;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use serde_json::Value;

use crate::error::{Result, StorageError};
use crate::mapping::Mapping;
use db::OrInternal;
use scroll::ScrollRegistry;
use search_index::SearchIndex;
use write_queue::WriteQueue;

/// Settings of the embedded engine.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Folder holding the database file and the search indexes; created when absent.
    pub path: PathBuf,
    /// Interval of the background refresh that makes writes searchable (Elasticsearch: 1 s).
    pub refresh_interval: Duration,
    /// Maximum `from + size` of a search (Elasticsearch's `index.max_result_window`).
    pub max_result_window: usize,
    /// Maximum scroll TTL (Kuzzle's `limits.maxScrollDuration`, 1 minute).
    pub max_scroll_ttl: Duration,
}

impl EngineConfig {
    /// Returns the default settings for a data folder.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            refresh_interval: Duration::from_secs(1),
            max_result_window: 10_000,
            max_scroll_ttl: Duration::from_secs(60),
        }
    }
}

/// The open state of one collection.
#[derive(Debug)]
pub(crate) struct Collection {
    pub index: String,
    pub name: String,
    pub key: String,
    pub mapping: RwLock<Mapping>,
    pub settings: RwLock<Value>,
    pub generation: Mutex<u64>,
    pub search: RwLock<Arc<SearchIndex>>,
}

impl Collection {
    /// Returns a snapshot of the mapping and the search index, for one query.
    pub fn snapshot(&self) -> (Mapping, Arc<SearchIndex>) {
        (self.mapping.read().clone(), self.search.read().clone())
    }
}

/// Shared state of the engine, used from blocking tasks.
#[derive(Debug)]
pub(crate) struct Inner {
    pub config: EngineConfig,
    pub db: redb::Database,
    /// Serializes writes, so redb commits and tantivy staging happen in sequence order.
    pub write_lock: Mutex<()>,
    /// Document writes waiting for the next batch transaction.
    pub write_queue: WriteQueue,
    pub collections: RwLock<HashMap<String, Arc<Collection>>>,
    pub scrolls: ScrollRegistry,
}

/// The embedded document store. Cheap to clone; all clones share one database.
#[derive(Debug, Clone)]
pub struct EmbeddedEngine {
    inner: Arc<Inner>,
}

impl EmbeddedEngine {
    /// Opens (or creates) the engine in `config.path`, replays into the search indexes every
    /// write they had not committed, and starts the background refresh.
    ///
    /// Blocking: call it before the runtime starts or inside `spawn_blocking`.
    ///
    /// # Errors
    ///
    /// [`StorageError::Internal`] when the folder, the database or an index cannot be opened.
    pub fn open(config: EngineConfig) -> Result<Self> {
        std::fs::create_dir_all(&config.path).or_internal()?;
        let db = redb::Database::create(config.path.join("documents.redb")).or_internal()?;
        db::create_tables(&db)?;
        let inner = Arc::new(Inner {
            config,
            db,
            write_lock: Mutex::new(()),
            write_queue: WriteQueue::default(),
            collections: RwLock::new(HashMap::new()),
            scrolls: ScrollRegistry::default(),
        });
        recovery::open_collections(&inner)?;
        start_refresh_thread(Arc::downgrade(&inner), inner.config.refresh_interval);
        Ok(Self { inner })
    }

    /// Commits every search index, so the next open has nothing to replay.
    ///
    /// # Errors
    ///
    /// [`StorageError::Internal`] when a commit fails.
    pub fn flush(&self) -> Result<()> {
        self.inner.refresh_all(true)
    }
}

impl Inner {
    /// Returns the folder of a collection's search index generation.
    pub fn search_folder(&self, key: &str, generation: u64) -> PathBuf {
        search_root(&self.config.path)
            .join(key)
            .join(generation.to_string())
    }

    /// Commits the search indexes with staged writes (all of them when `force`).
    pub fn refresh_all(&self, force: bool) -> Result<()> {
        let collections: Vec<_> = self.collections.read().values().cloned().collect();
        for collection in collections {
            let search = collection.search.read().clone();
            if force || search.is_dirty() {
                self.commit_search(&collection.key, &search)?;
            }
        }
        Ok(())
    }

    /// Makes write `seq` searchable, committing only when no other commit did it already.
    pub fn commit_search_through(&self, key: &str, search: &SearchIndex, seq: u64) -> Result<()> {
        match search.commit_through(seq)? {
            Some(committed) => recovery::prune_changes(&self.db, key, committed),
            None => Ok(()),
        }
    }

    /// Commits one search index and prunes the replay entries it now contains.
    pub fn commit_search(&self, key: &str, search: &SearchIndex) -> Result<()> {
        let seq = search.commit()?;
        recovery::prune_changes(&self.db, key, seq)
    }
}

pub(crate) fn search_root(path: &Path) -> PathBuf {
    path.join("search")
}

fn start_refresh_thread(inner: Weak<Inner>, interval: Duration) {
    let spawned = std::thread::Builder::new()
        .name("storage-refresh".to_owned())
        .spawn(move || {
            loop {
                std::thread::sleep(interval);
                let Some(inner) = inner.upgrade() else { return };
                if let Err(error) = inner.refresh_all(false) {
                    tracing::warn!(%error, "periodic search index refresh failed");
                }
            }
        });
    if let Err(error) = spawned {
        tracing::warn!(
            %error,
            "cannot start the search index refresh thread; \
             writes become searchable only on refresh=wait_for or an explicit refresh"
        );
    }
}

fn unknown_collection(index: &str, collection: &str) -> StorageError {
    StorageError::UnknownCollection {
        index: index.to_owned(),
        collection: collection.to_owned(),
    }
}
