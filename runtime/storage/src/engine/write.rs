//! Document writes: one redb transaction per call, then staging in the search index, then a
//! durable commit shared with concurrent writes (see `group_commit.rs`).

use redb::ReadableTable;
use serde_json::Value;

use super::db::{self, CHANGES, COLLECTIONS, COUNTERS, CollectionMeta, DOCUMENTS, OrInternal};
use super::{Collection, Inner};
use crate::error::{Result, StorageError};
use crate::mapping::Mapping;
use crate::store::{BulkOperation, Refresh, WriteOptions, WriteResult};
use crate::value::{deep_merge, remove_path};

/// Maximum length of a document id, in bytes (Elasticsearch's limit).
const MAX_ID_BYTES: usize = 512;

/// A write on one document.
#[derive(Debug, Clone)]
pub(crate) enum WriteOp {
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
    Upsert {
        id: String,
        changes: Value,
        default: Value,
    },
    Delete {
        id: String,
    },
    DeleteFields {
        id: String,
        fields: Vec<String>,
    },
}

impl From<BulkOperation> for WriteOp {
    fn from(operation: BulkOperation) -> Self {
        match operation {
            BulkOperation::Create { id, source } => Self::Create { id, source },
            BulkOperation::CreateOrReplace { id, source } => Self::CreateOrReplace { id, source },
            BulkOperation::Replace { id, source } => Self::Replace { id, source },
            BulkOperation::Update { id, changes } => Self::Update { id, changes },
            BulkOperation::Upsert {
                id,
                changes,
                default,
            } => Self::Upsert {
                id,
                changes,
                default,
            },
            BulkOperation::Delete { id } => Self::Delete { id },
        }
    }
}

/// Whether one failed operation aborts the whole call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Atomicity {
    AllOrNothing,
    PerOperation,
}

/// A committed write waiting to be staged in the search index.
struct Staged {
    id: String,
    source: Option<Value>,
    seq: u64,
    created: bool,
}

type DocumentTable<'txn> = redb::Table<'txn, (&'static str, &'static str), &'static [u8]>;

impl Inner {
    /// Applies writes to one collection in one redb transaction and returns once it is
    /// durable.
    ///
    /// The transaction commits without an fsync and the call then waits for a durable commit
    /// shared with the writes committed meanwhile. Between the two, reads from other calls can
    /// already see the writes, which a crash in that window would lose. A write that changes
    /// the mapping commits durably at once, because the search index rebuild it may trigger
    /// commits to tantivy.
    pub fn write(
        &self,
        index: &str,
        name: &str,
        operations: Vec<WriteOp>,
        options: WriteOptions,
        atomicity: Atomicity,
    ) -> Result<Vec<Result<WriteResult>>> {
        let collection = self.collection(index, name)?;
        let pending = self.group_commit.begin();
        let guard = self.write_lock.lock();
        let original_mapping = collection.mapping.read().clone();
        let mut mapping = original_mapping.clone();
        let mut results = Vec::with_capacity(operations.len());
        let mut staged = Vec::new();

        let mut txn = self.db.begin_write().or_internal()?;
        txn.set_durability(redb::Durability::None).or_internal()?;
        {
            let mut documents = txn.open_table(DOCUMENTS).or_internal()?;
            let mut changes = txn.open_table(CHANGES).or_internal()?;
            let mut counters = txn.open_table(COUNTERS).or_internal()?;
            for operation in operations {
                let applied = apply(&mut documents, &mut mapping, &collection, operation);
                let result = match applied {
                    Ok(result) => result,
                    Err(error) if atomicity == Atomicity::AllOrNothing => return Err(error),
                    Err(error) => {
                        results.push(Err(error));
                        continue;
                    }
                };
                let seq = db::next_seq(&mut counters)?;
                changes
                    .insert((collection.key.as_str(), seq), result.id.as_str())
                    .or_internal()?;
                staged.push(Staged {
                    id: result.id.clone(),
                    source: result.source.clone(),
                    seq,
                    created: result.created,
                });
                results.push(Ok(result));
            }
            if mapping != original_mapping {
                let meta = CollectionMeta {
                    mapping: mapping.clone(),
                    settings: collection.settings.read().clone(),
                    generation: *collection.generation.lock(),
                };
                let mut collections = txn.open_table(COLLECTIONS).or_internal()?;
                collections
                    .insert(collection.key.as_str(), meta.encode().as_slice())
                    .or_internal()?;
            }
        }
        if mapping != original_mapping {
            txn.set_durability(redb::Durability::Immediate)
                .or_internal()?;
        }
        txn.commit().or_internal()?;
        let ticket = pending.record();

        let last_seq = staged.last().map_or(0, |write| write.seq);
        // A rebuilt search index reads the documents just committed, so nothing is staged then.
        let rebuilt =
            mapping != original_mapping && self.store_mapping(&collection, mapping.clone())?;
        if !rebuilt {
            self.stage(&collection, &mapping, staged);
        }
        drop(guard);

        self.group_commit.wait_durable(&self.db, ticket)?;
        if options.refresh == Refresh::WaitFor {
            let search = collection.search.read().clone();
            self.commit_search_through(&collection.key, &search, last_seq)?;
        }
        Ok(results)
    }

    fn stage(&self, collection: &Collection, mapping: &Mapping, staged: Vec<Staged>) {
        let search = collection.search.read().clone();
        for Staged {
            id,
            source,
            seq,
            created,
        } in staged
        {
            // A created document was absent from redb, so the index has no live copy of it. Its
            // last delete was staged, or it failed to stage and the next open replays it.
            let result = match &source {
                Some(source) if created => search.stage_created(mapping, &id, source, seq),
                _ => search.stage(mapping, &id, source.as_ref(), seq),
            };
            if let Err(error) = result {
                // The write is committed in redb and stays in the replay table, so the next open
                // indexes it; until then search may miss it.
                tracing::warn!(
                    %error,
                    collection = %collection.key,
                    id = %id,
                    "cannot stage a write in the search index"
                );
            }
        }
    }

    /// Applies one write and returns its single result.
    pub fn write_one(
        &self,
        index: &str,
        name: &str,
        operation: WriteOp,
        options: WriteOptions,
    ) -> Result<WriteResult> {
        let mut results = self.write(
            index,
            name,
            vec![operation],
            options,
            Atomicity::AllOrNothing,
        )?;
        results.pop().expect("one operation gives one result")
    }
}

fn check_id(id: &str) -> Result<()> {
    if id.is_empty() || id.len() > MAX_ID_BYTES {
        return Err(StorageError::InvalidArgument {
            name: "_id".to_owned(),
            reason: format!("an id of 1 to {MAX_ID_BYTES} bytes"),
        });
    }
    Ok(())
}

fn check_changes(changes: &Value) -> Result<()> {
    if changes.is_object() {
        return Ok(());
    }
    Err(StorageError::InvalidArgument {
        name: "body".to_owned(),
        reason: "changes as a JSON object".to_owned(),
    })
}

fn load(documents: &DocumentTable<'_>, key: &str, id: &str) -> Result<Option<(u64, Value)>> {
    match documents.get((key, id)).or_internal()? {
        Some(bytes) => Ok(Some(db::decode_document(bytes.value())?)),
        None => Ok(None),
    }
}

fn not_found(collection: &Collection, id: &str) -> StorageError {
    StorageError::NotFound {
        id: id.to_owned(),
        index: collection.index.clone(),
        collection: collection.name.clone(),
    }
}

/// Checks a new source against the mapping; the mapping changes only when the check passes.
fn check_source(mapping: &mut Mapping, collection: &Collection, source: &Value) -> Result<()> {
    // Checking a copy keeps the fields a rejected document would add out of the mapping, and
    // a mapping that cannot grow needs no copy.
    if !mapping.can_grow() {
        mapping.apply_document(source, &collection.index, &collection.name)?;
        return Ok(());
    }
    let mut candidate = mapping.clone();
    if candidate.apply_document(source, &collection.index, &collection.name)? {
        *mapping = candidate;
    }
    Ok(())
}

fn apply(
    documents: &mut DocumentTable<'_>,
    mapping: &mut Mapping,
    collection: &Collection,
    operation: WriteOp,
) -> Result<WriteResult> {
    let key = collection.key.as_str();
    let (id, old, new_source) = match operation {
        WriteOp::Create { id, source } => {
            let id = id.unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
            check_id(&id)?;
            if load(documents, key, &id)?.is_some() {
                return Err(StorageError::DocumentAlreadyExists {
                    id,
                    index: collection.index.clone(),
                    collection: collection.name.clone(),
                });
            }
            (id, None, Some(source))
        }
        WriteOp::CreateOrReplace { id, source } => {
            check_id(&id)?;
            let old = load(documents, key, &id)?;
            (id, old, Some(source))
        }
        WriteOp::Replace { id, source } => {
            let old = load(documents, key, &id)?.ok_or_else(|| not_found(collection, &id))?;
            (id, Some(old), Some(source))
        }
        WriteOp::Update { id, changes } => {
            let old = load(documents, key, &id)?.ok_or_else(|| not_found(collection, &id))?;
            check_changes(&changes)?;
            let mut merged = old.1.clone();
            deep_merge(&mut merged, &changes);
            (id, Some(old), Some(merged))
        }
        WriteOp::Upsert {
            id,
            changes,
            default,
        } => {
            check_id(&id)?;
            check_changes(&changes)?;
            let old = load(documents, key, &id)?;
            let mut merged = match &old {
                Some((_, source)) => source.clone(),
                None => default,
            };
            deep_merge(&mut merged, &changes);
            (id, old, Some(merged))
        }
        WriteOp::Delete { id } => {
            let old = load(documents, key, &id)?.ok_or_else(|| not_found(collection, &id))?;
            (id, Some(old), None)
        }
        WriteOp::DeleteFields { id, fields } => {
            let old = load(documents, key, &id)?.ok_or_else(|| not_found(collection, &id))?;
            let mut trimmed = old.1.clone();
            for field in &fields {
                remove_path(&mut trimmed, field);
            }
            (id, Some(old), Some(trimmed))
        }
    };

    let version = old.as_ref().map_or(1, |(version, _)| version + 1);
    match &new_source {
        Some(source) => {
            check_source(mapping, collection, source)?;
            documents
                .insert(
                    (key, id.as_str()),
                    db::encode_document(version, source).as_slice(),
                )
                .or_internal()?;
        }
        None => {
            documents.remove((key, id.as_str())).or_internal()?;
        }
    }
    let created = old.is_none();
    let (old_version, old_source) = old.unzip();
    Ok(WriteResult {
        id,
        version: if new_source.is_some() {
            version
        } else {
            old_version.unwrap_or(version)
        },
        old_source,
        source: new_source,
        created,
    })
}
