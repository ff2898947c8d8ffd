//! The redb tables of the embedded engine, the source of truth for documents and metadata.

use redb::{ReadableDatabase, ReadableTable, TableDefinition};
use serde_json::{Value, json};

use crate::error::{Result, StorageError};
use crate::mapping::Mapping;

/// Index names, with an empty value.
pub(crate) const INDEXES: TableDefinition<&str, &[u8]> = TableDefinition::new("indexes");
/// `<index>/<collection>` to the collection's metadata, as JSON.
pub(crate) const COLLECTIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("collections");
/// (`<index>/<collection>`, id) to the version (8 bytes, little endian) then the source JSON.
pub(crate) const DOCUMENTS: TableDefinition<(&str, &str), &[u8]> =
    TableDefinition::new("documents");
/// (`<index>/<collection>`, sequence number) to the id written, for writes that the search
/// index may not have committed yet. Replayed on open, pruned after each search index commit.
pub(crate) const CHANGES: TableDefinition<(&str, u64), &str> = TableDefinition::new("changes");
/// Named counters; `seq` is the last sequence number given to a write.
pub(crate) const COUNTERS: TableDefinition<&str, u64> = TableDefinition::new("counters");

pub(crate) const SEQ_COUNTER: &str = "seq";

/// Converts any engine error (redb, tantivy, I/O) into [`StorageError::Internal`].
pub(crate) trait OrInternal<T> {
    fn or_internal(self) -> Result<T>;
}

impl<T, E: std::fmt::Display> OrInternal<T> for std::result::Result<T, E> {
    fn or_internal(self) -> Result<T> {
        self.map_err(StorageError::internal)
    }
}

/// Returns the key of a collection in the tables.
pub(crate) fn collection_key(index: &str, collection: &str) -> String {
    format!("{index}/{collection}")
}

pub(crate) fn encode_document(version: u64, source: &Value) -> Vec<u8> {
    let mut bytes = version.to_le_bytes().to_vec();
    serde_json::to_writer(&mut bytes, source).expect("a JSON value always serializes");
    bytes
}

pub(crate) fn decode_document(bytes: &[u8]) -> Result<(u64, Value)> {
    let (version, json) = bytes
        .split_at_checked(8)
        .ok_or_else(|| StorageError::internal("truncated document record"))?;
    let version = u64::from_le_bytes(version.try_into().expect("split at 8 bytes"));
    Ok((version, serde_json::from_slice(json).or_internal()?))
}

/// The stored metadata of a collection.
#[derive(Debug, Clone)]
pub(crate) struct CollectionMeta {
    /// The mapping, `_kuzzle_info` included.
    pub mapping: Mapping,
    pub settings: Value,
    /// Generation of the search index folder in use.
    pub generation: u64,
}

impl CollectionMeta {
    pub fn encode(&self) -> Vec<u8> {
        let value = json!({
            "mapping": self.mapping.to_json(true),
            "settings": self.settings,
            "generation": self.generation,
        });
        serde_json::to_vec(&value).expect("a JSON value always serializes")
    }

    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let value: Value = serde_json::from_slice(bytes).or_internal()?;
        Ok(Self {
            mapping: Mapping::parse(&value["mapping"])?,
            settings: value["settings"].clone(),
            generation: value["generation"].as_u64().unwrap_or(0),
        })
    }
}

/// Reads one document in its own read transaction.
pub(crate) fn read_document(
    db: &redb::Database,
    key: &str,
    id: &str,
) -> Result<Option<(u64, Value)>> {
    let txn = db.begin_read().or_internal()?;
    let table = match txn.open_table(DOCUMENTS) {
        Ok(table) => table,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
        Err(error) => return Err(StorageError::internal(error)),
    };
    match table.get((key, id)).or_internal()? {
        Some(bytes) => Ok(Some(decode_document(bytes.value())?)),
        None => Ok(None),
    }
}

/// Calls `visit` on every document of a collection, in id order.
pub(crate) fn scan_documents(
    db: &redb::Database,
    key: &str,
    mut visit: impl FnMut(&str, u64, Value) -> Result<()>,
) -> Result<()> {
    let txn = db.begin_read().or_internal()?;
    let table = match txn.open_table(DOCUMENTS) {
        Ok(table) => table,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(()),
        Err(error) => return Err(StorageError::internal(error)),
    };
    for entry in table.range((key, "")..).or_internal()? {
        let (entry_key, bytes) = entry.or_internal()?;
        let (collection, id) = entry_key.value();
        if collection != key {
            break;
        }
        let (version, source) = decode_document(bytes.value())?;
        visit(id, version, source)?;
    }
    Ok(())
}

/// Creates every table, so that read transactions never meet a missing one.
pub(crate) fn create_tables(db: &redb::Database) -> Result<()> {
    let txn = db.begin_write().or_internal()?;
    txn.open_table(INDEXES).or_internal()?;
    txn.open_table(COLLECTIONS).or_internal()?;
    txn.open_table(DOCUMENTS).or_internal()?;
    txn.open_table(CHANGES).or_internal()?;
    txn.open_table(COUNTERS).or_internal()?;
    txn.commit().or_internal()
}

/// Deletes every document and pending change of a collection inside a write transaction.
pub(crate) fn clear_collection(txn: &redb::WriteTransaction, key: &str) -> Result<()> {
    let mut documents = txn.open_table(DOCUMENTS).or_internal()?;
    documents
        .retain_in((key, "").., |(collection, _), _| collection != key)
        .or_internal()?;
    let mut changes = txn.open_table(CHANGES).or_internal()?;
    changes
        .retain_in((key, 0)..=(key, u64::MAX), |_, _| false)
        .or_internal()?;
    Ok(())
}

/// Returns the last sequence number given, inside a write transaction.
pub(crate) fn last_seq(counters: &redb::Table<&str, u64>) -> Result<u64> {
    Ok(counters
        .get(SEQ_COUNTER)
        .or_internal()?
        .map_or(0, |value| value.value()))
}

/// Returns the last sequence number given.
pub(crate) fn current_seq(db: &redb::Database) -> Result<u64> {
    let txn = db.begin_read().or_internal()?;
    let counters = txn.open_table(COUNTERS).or_internal()?;
    Ok(counters
        .get(SEQ_COUNTER)
        .or_internal()?
        .map_or(0, |value| value.value()))
}
