//! Opening collections on start: replay of uncommitted writes and rebuild of search indexes.

use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use redb::{ReadableDatabase, ReadableTable};

use super::db::{self, CHANGES, COLLECTIONS, CollectionMeta, OrInternal};
use super::search_index::SearchIndex;
use super::{Collection, Inner};
use crate::error::Result;

/// Opens every stored collection and brings its search index up to date.
pub(super) fn open_collections(inner: &Inner) -> Result<()> {
    let stored: Vec<(String, CollectionMeta)> = {
        let txn = inner.db.begin_read().or_internal()?;
        let table = txn.open_table(COLLECTIONS).or_internal()?;
        let mut stored = Vec::new();
        for entry in table.iter().or_internal()? {
            let (key, bytes) = entry.or_internal()?;
            stored.push((
                key.value().to_owned(),
                CollectionMeta::decode(bytes.value())?,
            ));
        }
        stored
    };
    for (key, meta) in stored {
        let (index, name) = key.split_once('/').unwrap_or((key.as_str(), ""));
        let collection = open_collection(inner, index, name, meta)?;
        inner.collections.write().insert(key, Arc::new(collection));
    }
    Ok(())
}

fn open_collection(
    inner: &Inner,
    index: &str,
    name: &str,
    meta: CollectionMeta,
) -> Result<Collection> {
    let key = db::collection_key(index, name);
    let folder = inner.search_folder(&key, meta.generation);
    let opened = SearchIndex::open(&folder, &meta.mapping);
    let search = match opened {
        Ok((search, Some(committed))) => {
            replay(inner, &key, &meta, &search, committed)?;
            search
        }
        Ok((search, None)) => {
            drop(search);
            rebuild_into(inner, &key, &meta, meta.generation + 1)?
        }
        Err(error) => {
            tracing::warn!(
                %error,
                collection = %key,
                "search index unreadable; rebuilding it from stored documents"
            );
            rebuild_into(inner, &key, &meta, meta.generation + 1)?
        }
    };
    let generation = generation_of(&search, meta.generation);
    remove_other_generations(inner, &key, generation);
    Ok(Collection {
        index: index.to_owned(),
        name: name.to_owned(),
        key,
        mapping: RwLock::new(meta.mapping),
        settings: RwLock::new(meta.settings),
        generation: Mutex::new(generation),
        search: RwLock::new(Arc::new(search)),
    })
}

fn generation_of(search: &SearchIndex, fallback: u64) -> u64 {
    search
        .folder
        .file_name()
        .and_then(|name| name.to_str())
        .and_then(|name| name.parse().ok())
        .unwrap_or(fallback)
}

/// Stages again every write recorded after the index's last commit, then commits.
fn replay(
    inner: &Inner,
    key: &str,
    meta: &CollectionMeta,
    search: &SearchIndex,
    committed: u64,
) -> Result<()> {
    let pending: Vec<(u64, String)> = {
        let txn = inner.db.begin_read().or_internal()?;
        let table = txn.open_table(CHANGES).or_internal()?;
        let mut pending = Vec::new();
        for entry in table
            .range((key, committed + 1)..=(key, u64::MAX))
            .or_internal()?
        {
            let (change, id) = entry.or_internal()?;
            pending.push((change.value().1, id.value().to_owned()));
        }
        pending
    };
    if pending.is_empty() {
        return prune_changes(&inner.db, key, committed);
    }
    let writes = pending.len();
    tracing::info!(collection = %key, writes, "replaying writes into the search index");
    for (seq, id) in pending {
        let current = db::read_document(&inner.db, key, &id)?;
        search.stage(
            &meta.mapping,
            &id,
            current.as_ref().map(|(_, source)| source),
            seq,
        )?;
    }
    inner.commit_search(key, search)
}

/// Builds a fresh search index generation from the stored documents and records it.
pub(super) fn rebuild_into(
    inner: &Inner,
    key: &str,
    meta: &CollectionMeta,
    generation: u64,
) -> Result<SearchIndex> {
    let folder = inner.search_folder(key, generation);
    if folder.exists() {
        std::fs::remove_dir_all(&folder).or_internal()?;
    }
    let seq = db::current_seq(&inner.db)?;
    let (search, _) = SearchIndex::open(&folder, &meta.mapping)?;
    db::scan_documents(&inner.db, key, |id, _, source| {
        search.stage(&meta.mapping, id, Some(&source), 0)
    })?;
    search.mark_staged(seq);
    search.commit()?;

    let txn = inner.db.begin_write().or_internal()?;
    {
        let mut collections = txn.open_table(COLLECTIONS).or_internal()?;
        let recorded = CollectionMeta {
            generation,
            ..meta.clone()
        };
        collections
            .insert(key, recorded.encode().as_slice())
            .or_internal()?;
    }
    txn.commit().or_internal()?;
    prune_changes(&inner.db, key, seq)?;
    Ok(search)
}

/// Deletes search index folders of other generations, once no longer in use.
pub(super) fn remove_other_generations(inner: &Inner, key: &str, keep: u64) {
    let Ok(entries) = std::fs::read_dir(super::search_root(&inner.config.path).join(key)) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_name().to_str() != Some(keep.to_string().as_str())
            && let Err(error) = std::fs::remove_dir_all(entry.path())
        {
            let folder = entry.path();
            let folder = folder.display();
            tracing::debug!(%error, %folder, "cannot remove an old search index");
        }
    }
}

/// Removes the replay entries of a collection up to `seq`, now in a search index commit.
pub(super) fn prune_changes(db: &redb::Database, key: &str, seq: u64) -> Result<()> {
    let txn = db.begin_write().or_internal()?;
    {
        let mut changes = txn.open_table(CHANGES).or_internal()?;
        changes
            .retain_in((key, 0)..=(key, seq), |_, _| false)
            .or_internal()?;
    }
    txn.commit().or_internal()
}
