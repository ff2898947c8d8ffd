//! Index and collection management of the embedded engine.

use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use redb::{ReadableDatabase, ReadableTable};
use serde_json::{Value, json};

use super::db::{self, COLLECTIONS, CollectionMeta, DOCUMENTS, INDEXES, OrInternal};
use super::recovery::{rebuild_into, remove_other_generations};
use super::{Collection, Inner, unknown_collection};
use crate::error::{Result, StorageError};
use crate::mapping::Mapping;
use crate::names::{is_internal_index, validate_collection_name, validate_index_name};
use crate::store::{CollectionConfig, CollectionStats, IndexStats, StorageStats};

impl Inner {
    pub fn index_exists(&self, index: &str) -> Result<bool> {
        let txn = self.db.begin_read().or_internal()?;
        let table = txn.open_table(INDEXES).or_internal()?;
        Ok(table.get(index).or_internal()?.is_some())
    }

    pub fn require_index(&self, index: &str) -> Result<()> {
        validate_index_name(index, true)?;
        if self.index_exists(index)? {
            Ok(())
        } else {
            Err(StorageError::UnknownIndex {
                index: index.to_owned(),
            })
        }
    }

    /// Returns an open collection, or the error naming what is missing.
    pub fn collection(&self, index: &str, name: &str) -> Result<Arc<Collection>> {
        if let Some(collection) = self
            .collections
            .read()
            .get(&db::collection_key(index, name))
        {
            return Ok(collection.clone());
        }
        self.require_index(index)?;
        validate_collection_name(name)?;
        Err(unknown_collection(index, name))
    }

    pub fn create_index(&self, index: &str) -> Result<()> {
        validate_index_name(index, true)?;
        let _guard = self.write_lock.lock();
        let txn = self.db.begin_write().or_internal()?;
        {
            let mut table = txn.open_table(INDEXES).or_internal()?;
            if table.get(index).or_internal()?.is_some() {
                return Err(StorageError::IndexAlreadyExists {
                    index: index.to_owned(),
                });
            }
            table.insert(index, [].as_slice()).or_internal()?;
        }
        txn.commit().or_internal()
    }

    pub fn delete_index(&self, index: &str) -> Result<()> {
        self.require_index(index)?;
        for name in self.list_collections(index)? {
            self.delete_collection(index, &name)?;
        }
        let _guard = self.write_lock.lock();
        let txn = self.db.begin_write().or_internal()?;
        txn.open_table(INDEXES)
            .or_internal()?
            .remove(index)
            .or_internal()?;
        txn.commit().or_internal()?;
        // The folder is empty once its collections are gone; a failure only leaves it behind.
        let _ = std::fs::remove_dir(super::search_root(&self.config.path).join(index));
        Ok(())
    }

    pub fn list_indexes(&self) -> Result<Vec<String>> {
        let txn = self.db.begin_read().or_internal()?;
        let table = txn.open_table(INDEXES).or_internal()?;
        let mut names = Vec::new();
        for entry in table.iter().or_internal()? {
            let (name, _) = entry.or_internal()?;
            if !is_internal_index(name.value()) {
                names.push(name.value().to_owned());
            }
        }
        Ok(names)
    }

    pub fn list_collections(&self, index: &str) -> Result<Vec<String>> {
        self.require_index(index)?;
        let mut names: Vec<String> = self
            .collections
            .read()
            .values()
            .filter(|collection| collection.index == index)
            .map(|collection| collection.name.clone())
            .collect();
        names.sort();
        Ok(names)
    }

    /// Creates a collection, or updates the mapping and settings of an existing one.
    pub fn create_collection(
        &self,
        index: &str,
        name: &str,
        config: CollectionConfig,
    ) -> Result<()> {
        self.require_index(index)?;
        validate_collection_name(name)?;
        let key = db::collection_key(index, name);
        if self.collections.read().contains_key(&key) {
            return self.update_collection(index, name, config);
        }
        let mapping = match &config.mappings {
            Some(mappings) => Mapping::parse(mappings)?,
            None => Mapping::default(),
        }
        .with_kuzzle_info();
        let settings = config.settings.unwrap_or_else(|| json!({}));

        let _guard = self.write_lock.lock();
        let meta = CollectionMeta {
            mapping,
            settings,
            generation: 0,
        };
        let search = rebuild_into(self, &key, &meta, 1)?;
        let collection = Collection {
            index: index.to_owned(),
            name: name.to_owned(),
            key: key.clone(),
            mapping: RwLock::new(meta.mapping),
            settings: RwLock::new(meta.settings),
            generation: Mutex::new(1),
            search: RwLock::new(Arc::new(search)),
        };
        self.collections.write().insert(key, Arc::new(collection));
        Ok(())
    }

    pub fn update_collection(
        &self,
        index: &str,
        name: &str,
        config: CollectionConfig,
    ) -> Result<()> {
        let collection = self.collection(index, name)?;
        let _guard = self.write_lock.lock();
        let mut mapping = collection.mapping.read().clone();
        if let Some(mappings) = &config.mappings {
            mapping.merge(mappings)?;
        }
        if let Some(settings) = config.settings {
            *collection.settings.write() = settings;
        }
        self.store_mapping(&collection, mapping)?;
        Ok(())
    }

    /// Saves a mapping and, when its searchable fields changed, rebuilds the search index.
    ///
    /// The caller holds the write lock.
    /// Returns whether the search index was rebuilt, in which case it already contains every
    /// stored document.
    pub fn store_mapping(&self, collection: &Collection, mapping: Mapping) -> Result<bool> {
        let schema_changed = mapping.leaves() != collection.mapping.read().leaves();
        let mut generation = collection.generation.lock();
        let meta = CollectionMeta {
            mapping: mapping.clone(),
            settings: collection.settings.read().clone(),
            generation: *generation,
        };
        if schema_changed {
            // TODO(perf): a new field re-indexes the whole collection; tantivy schemas are fixed.
            let search = rebuild_into(self, &collection.key, &meta, *generation + 1)?;
            *generation += 1;
            *collection.search.write() = Arc::new(search);
            *collection.mapping.write() = mapping;
            remove_other_generations(self, &collection.key, *generation);
            return Ok(true);
        }
        let txn = self.db.begin_write().or_internal()?;
        {
            let mut table = txn.open_table(COLLECTIONS).or_internal()?;
            table
                .insert(collection.key.as_str(), meta.encode().as_slice())
                .or_internal()?;
        }
        txn.commit().or_internal()?;
        *collection.mapping.write() = mapping;
        Ok(false)
    }

    pub fn update_mapping(&self, index: &str, name: &str, mappings: &Value) -> Result<Value> {
        self.update_collection(
            index,
            name,
            CollectionConfig {
                mappings: Some(mappings.clone()),
                settings: None,
            },
        )?;
        Ok(self.collection(index, name)?.mapping.read().to_json(false))
    }

    pub fn truncate_collection(&self, index: &str, name: &str) -> Result<()> {
        let collection = self.collection(index, name)?;
        let _guard = self.write_lock.lock();
        let txn = self.db.begin_write().or_internal()?;
        db::clear_collection(&txn, &collection.key)?;
        txn.commit().or_internal()?;
        let mut generation = collection.generation.lock();
        let meta = CollectionMeta {
            mapping: collection.mapping.read().clone(),
            settings: collection.settings.read().clone(),
            generation: *generation,
        };
        let search = rebuild_into(self, &collection.key, &meta, *generation + 1)?;
        *generation += 1;
        *collection.search.write() = Arc::new(search);
        remove_other_generations(self, &collection.key, *generation);
        Ok(())
    }

    pub fn delete_collection(&self, index: &str, name: &str) -> Result<()> {
        let collection = self.collection(index, name)?;
        let _guard = self.write_lock.lock();
        let txn = self.db.begin_write().or_internal()?;
        db::clear_collection(&txn, &collection.key)?;
        txn.open_table(COLLECTIONS)
            .or_internal()?
            .remove(collection.key.as_str())
            .or_internal()?;
        txn.commit().or_internal()?;
        self.collections.write().remove(&collection.key);
        self.scrolls.forget_collection(index, name);
        drop(collection);
        let folder = super::search_root(&self.config.path).join(db::collection_key(index, name));
        if let Err(error) = std::fs::remove_dir_all(&folder) {
            let folder = folder.display();
            tracing::debug!(%error, %folder, "cannot remove a deleted collection's search index");
        }
        Ok(())
    }

    pub fn stats(&self) -> Result<StorageStats> {
        let mut stats = StorageStats::default();
        let txn = self.db.begin_read().or_internal()?;
        let documents = txn.open_table(DOCUMENTS).or_internal()?;
        for index in self.list_indexes()? {
            let mut index_stats = IndexStats {
                name: index.clone(),
                ..IndexStats::default()
            };
            for name in self.list_collections(&index)? {
                let key = db::collection_key(&index, &name);
                let mut collection_stats = CollectionStats {
                    name,
                    ..CollectionStats::default()
                };
                for entry in documents.range((key.as_str(), "")..).or_internal()? {
                    let (entry_key, bytes) = entry.or_internal()?;
                    if entry_key.value().0 != key {
                        break;
                    }
                    collection_stats.document_count += 1;
                    collection_stats.size += bytes.value().len() as u64;
                }
                index_stats.size += collection_stats.size;
                index_stats.collections.push(collection_stats);
            }
            stats.size += index_stats.size;
            stats.indexes.push(index_stats);
        }
        Ok(stats)
    }
}
