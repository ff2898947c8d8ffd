//! Document writes: a batch of queued calls is applied in one redb transaction, committed
//! durably, then staged in the search indexes (see `write_queue.rs`).

use std::sync::Arc;

use redb::ReadableTable;
use serde_json::Value;
use tantivy::TantivyDocument;
use tokio::sync::oneshot;

use super::db::{self, CHANGES, COLLECTIONS, COUNTERS, CollectionMeta, DOCUMENTS, OrInternal};
use super::prepare::{PreparedCall, PreparedSource};
use super::search_index::SearchIndex;
use super::write_queue::{AppliedWrite, DrainGuard, QueuedWrite};
use super::{Collection, Inner};
use crate::error::{Result, StorageError};
use crate::mapping::Mapping;
use crate::store::{BulkOperation, WriteResult};
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

/// A committed write waiting to be staged in the search index.
struct Staged {
    /// Position of the write's call in the batch, then of the write in the call. Staging reads
    /// the id and the new source from that result instead of a copy.
    call: usize,
    operation: usize,
    seq: u64,
    created: bool,
    /// The search document the caller prepared, when it is valid for this batch.
    document: Option<TantivyDocument>,
}

type DocumentTable<'txn> = redb::Table<'txn, (&'static str, &'static str), &'static [u8]>;

/// The open tables of a batch transaction.
struct BatchTables<'txn> {
    documents: DocumentTable<'txn>,
    changes: redb::Table<'txn, (&'static str, u64), &'static str>,
    counters: redb::Table<'txn, &'static str, u64>,
    /// The last sequence number given, written to `counters` once before the commit.
    seq: u64,
}

impl BatchTables<'_> {
    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }
}

/// The writes of one batch on one collection.
struct CollectionBatch {
    collection: Arc<Collection>,
    /// The collection's search index, which stays the same while the batch holds the write
    /// lock.
    search: Arc<SearchIndex>,
    original_mapping: Mapping,
    /// The mapping with the fields added by the batch's documents.
    mapping: Mapping,
    /// Whether a document of the batch added fields to the mapping, after which the sources
    /// prepared with the original mapping are checked again.
    grown: bool,
    staged: Vec<Staged>,
}

impl CollectionBatch {
    fn mapping_changed(&self) -> bool {
        self.mapping != self.original_mapping
    }
}

/// The results of one queued call in the batch transaction.
struct CallOutcome {
    /// Position of the call's collection in the batch's collection list.
    batch: usize,
    results: Vec<Result<WriteResult>>,
    last_seq: u64,
}

/// A queued call's index, collection, operations and prepared sources.
type Call = (String, String, Vec<WriteOp>, Option<PreparedCall>);

/// A caller's reply channel and the outcome to send on it.
type Reply = (oneshot::Sender<Result<AppliedWrite>>, Result<AppliedWrite>);

/// Applies the queued writes until the queue is empty, one batch at a time.
pub(crate) fn drain_writes(inner: Arc<Inner>) {
    let _guard = DrainGuard(Arc::downgrade(&inner));
    let Some(mut batch) = inner.write_queue.take_batch() else {
        return;
    };
    loop {
        let replies = inner.apply_batch(batch);
        match inner.write_queue.take_batch() {
            Some(next) => {
                send_replies(replies);
                batch = next;
            }
            None => {
                // The task releases the engine before the last replies, so a caller that drops
                // the engine once its write returns closes the database.
                drop(inner);
                send_replies(replies);
                return;
            }
        }
    }
}

fn send_replies(replies: Vec<Reply>) {
    for (reply, applied) in replies {
        // A caller that went away (a closed connection) needs no reply.
        let _ = reply.send(applied);
    }
}

impl Inner {
    /// Applies a batch of queued writes in one redb transaction, commits it durably and stages
    /// the writes in the search indexes. Returns each caller's reply channel and outcome.
    ///
    /// The commit is durable before any write is staged or acknowledged, so a search index
    /// commit never contains a write that a crash could undo.
    fn apply_batch(&self, batch: Vec<QueuedWrite>) -> Vec<Reply> {
        let mut senders = Vec::with_capacity(batch.len());
        let mut calls = Vec::with_capacity(batch.len());
        for write in batch {
            senders.push(write.reply);
            calls.push((
                write.index,
                write.collection,
                write.operations,
                write.prepared,
            ));
        }

        let guard = self.write_lock.lock();
        let (batches, outcomes) = match self.commit_batch(calls) {
            Ok(committed) => committed,
            Err(error) => {
                drop(guard);
                tracing::warn!(%error, calls = senders.len(), "write batch failed");
                return senders
                    .into_iter()
                    .map(|sender| (sender, Err(copy_error(&error))))
                    .collect();
            }
        };
        let collections: Vec<Arc<Collection>> = batches
            .iter()
            .map(|batch| Arc::clone(&batch.collection))
            .collect();
        let indexed: Vec<Result<()>> = batches
            .into_iter()
            .map(|batch| self.index_batch(batch, &outcomes))
            .collect();
        drop(guard);

        let applied = outcomes.into_iter().map(|outcome| {
            let call = outcome?;
            indexed[call.batch].as_ref().map_err(copy_error)?;
            Ok(AppliedWrite {
                results: call.results,
                last_seq: call.last_seq,
                collection: Arc::clone(&collections[call.batch]),
            })
        });
        senders.into_iter().zip(applied).collect()
    }

    /// Applies every call in one write transaction and commits it durably. A call on an
    /// unknown collection fails alone, and so does each failed operation.
    ///
    /// # Errors
    ///
    /// [`StorageError::Internal`] when the transaction fails, which fails every call.
    fn commit_batch(
        &self,
        calls: Vec<Call>,
    ) -> Result<(Vec<CollectionBatch>, Vec<Result<CallOutcome>>)> {
        let mut batches: Vec<CollectionBatch> = Vec::new();
        let mut outcomes = Vec::with_capacity(calls.len());
        let txn = self.db.begin_write().or_internal()?;
        {
            let counters = txn.open_table(COUNTERS).or_internal()?;
            let first_seq = db::last_seq(&counters)?;
            let mut tables = BatchTables {
                documents: txn.open_table(DOCUMENTS).or_internal()?,
                changes: txn.open_table(CHANGES).or_internal()?,
                counters,
                seq: first_seq,
            };
            for (index, name, operations, prepared) in calls {
                let position = match self.batch_position(&mut batches, &index, &name) {
                    Ok(position) => position,
                    Err(error) => {
                        outcomes.push(Err(error));
                        continue;
                    }
                };
                let call = CallWrites {
                    position: outcomes.len(),
                    operations,
                    prepared,
                };
                let (results, last_seq) = apply_call(&mut tables, &mut batches[position], call)?;
                outcomes.push(Ok(CallOutcome {
                    batch: position,
                    results,
                    last_seq,
                }));
            }
            if tables.seq != first_seq {
                tables
                    .counters
                    .insert(db::SEQ_COUNTER, tables.seq)
                    .or_internal()?;
            }
            record_mappings(&txn, &batches)?;
        }
        txn.commit().or_internal()?;
        Ok((batches, outcomes))
    }

    /// Returns the position of a collection in the batch list, adding it when absent.
    fn batch_position(
        &self,
        batches: &mut Vec<CollectionBatch>,
        index: &str,
        name: &str,
    ) -> Result<usize> {
        let found = batches
            .iter()
            .position(|batch| batch.collection.index == index && batch.collection.name == name);
        if let Some(position) = found {
            return Ok(position);
        }
        let collection = self.collection(index, name)?;
        let (mapping, search) = collection.snapshot();
        batches.push(CollectionBatch {
            collection,
            search,
            original_mapping: mapping.clone(),
            mapping,
            grown: false,
            staged: Vec::new(),
        });
        Ok(batches.len() - 1)
    }

    /// Makes a committed batch searchable on the next search index commit: stores a changed
    /// mapping, which may rebuild the search index from the stored documents, or else stages
    /// each write.
    fn index_batch(
        &self,
        mut batch: CollectionBatch,
        outcomes: &[Result<CallOutcome>],
    ) -> Result<()> {
        let mapping_changed = batch.mapping_changed();
        let rebuilt =
            mapping_changed && self.store_mapping(&batch.collection, batch.mapping.clone())?;
        // A rebuilt search index read the documents just committed, so nothing is staged then.
        if rebuilt {
            return Ok(());
        }
        let search = batch.collection.search.read().clone();
        // The prepared documents were built with the original mapping and search index.
        let prepared_valid = !mapping_changed && Arc::ptr_eq(&search, &batch.search);
        for staged in std::mem::take(&mut batch.staged) {
            stage(&batch, &search, outcomes, staged, prepared_valid);
        }
        Ok(())
    }
}

/// The operations of one call and their prepared sources.
struct CallWrites {
    /// Position of the call in the batch.
    position: usize,
    operations: Vec<WriteOp>,
    prepared: Option<PreparedCall>,
}

/// Returns the prepared sources of a call when they match the batch's mapping and search
/// index, one entry per operation.
fn usable_sources(
    batch: &CollectionBatch,
    prepared: Option<PreparedCall>,
) -> Option<Vec<Option<PreparedSource>>> {
    let prepared = prepared?;
    let usable = !batch.grown
        && Arc::ptr_eq(&prepared.search, &batch.search)
        && prepared.mapping == batch.mapping;
    usable.then_some(prepared.sources)
}

/// Applies one call's operations, each with its own result, and numbers the successful ones.
/// Returns the results and the sequence number of the last successful write (0 for none).
///
/// # Errors
///
/// [`StorageError::Internal`] when the replay table fails.
fn apply_call(
    tables: &mut BatchTables<'_>,
    batch: &mut CollectionBatch,
    call: CallWrites,
) -> Result<(Vec<Result<WriteResult>>, u64)> {
    let count = call.operations.len();
    let mut prepared = usable_sources(batch, call.prepared).map(Vec::into_iter);
    let mut results = Vec::with_capacity(count);
    let mut last_seq = 0;
    for operation in call.operations {
        // A document that added fields makes the rest of the prepared checks stale.
        let source = prepared.as_mut().and_then(Iterator::next).flatten();
        let source = source.filter(|_| !batch.grown);
        let applied = apply(&mut tables.documents, batch, operation, source);
        let (result, document) = match applied {
            Ok(applied) => applied,
            Err(error) => {
                results.push(Err(error));
                continue;
            }
        };
        let seq = tables.next_seq();
        tables
            .changes
            .insert((batch.collection.key.as_str(), seq), result.id.as_str())
            .or_internal()?;
        batch.staged.push(Staged {
            call: call.position,
            operation: results.len(),
            seq,
            created: result.created,
            document,
        });
        last_seq = seq;
        results.push(Ok(result));
    }
    Ok((results, last_seq))
}

/// Writes the mapping of each collection whose documents added fields, in the batch's
/// transaction, so that the documents and their mapping commit together.
fn record_mappings(txn: &redb::WriteTransaction, batches: &[CollectionBatch]) -> Result<()> {
    for batch in batches.iter().filter(|batch| batch.mapping_changed()) {
        let collection = &batch.collection;
        let meta = CollectionMeta {
            mapping: batch.mapping.clone(),
            settings: collection.settings.read().clone(),
            generation: *collection.generation.lock(),
        };
        let mut table = txn.open_table(COLLECTIONS).or_internal()?;
        table
            .insert(collection.key.as_str(), meta.encode().as_slice())
            .or_internal()?;
    }
    Ok(())
}

/// Stages one committed write, with its prepared search document when `prepared_valid`.
fn stage(
    batch: &CollectionBatch,
    search: &SearchIndex,
    outcomes: &[Result<CallOutcome>],
    staged: Staged,
    prepared_valid: bool,
) {
    let write = outcomes[staged.call]
        .as_ref()
        .ok()
        .and_then(|outcome| outcome.results[staged.operation].as_ref().ok())
        .expect("a staged write has a successful result");
    let (id, seq, created) = (write.id.as_str(), staged.seq, staged.created);
    let mapping = &batch.mapping;
    // A created document was absent from redb, so the index has no live copy of it. Its last
    // delete was staged, or it failed to stage and the next open replays it.
    let result = match (staged.document.filter(|_| prepared_valid), &write.source) {
        (Some(document), _) if created => search.stage_created_document(document, seq),
        (Some(document), _) => search.stage_document(id, document, seq),
        (None, Some(source)) if created => search.stage_created(mapping, id, source, seq),
        (None, source) => search.stage(mapping, id, source.as_ref(), seq),
    };
    if let Err(error) = result {
        // The write is committed in redb and stays in the replay table, so the next open
        // indexes it; until then search may miss it.
        tracing::warn!(
            %error,
            collection = %batch.collection.key,
            id = %id,
            "cannot stage a write in the search index"
        );
    }
}

/// Copies an error for each caller of a failed batch. Only internal errors fail a whole batch.
fn copy_error(error: &StorageError) -> StorageError {
    match error {
        StorageError::Internal { reason } => StorageError::Internal {
            reason: reason.clone(),
        },
        other => StorageError::internal(other),
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
/// Returns whether the source added fields.
fn check_source(mapping: &mut Mapping, collection: &Collection, source: &Value) -> Result<bool> {
    // Checking a copy keeps the fields a rejected document would add out of the mapping, and
    // a mapping that cannot grow needs no copy.
    if !mapping.can_grow() {
        return mapping.apply_document(source, &collection.index, &collection.name);
    }
    let mut candidate = mapping.clone();
    let grown = candidate.apply_document(source, &collection.index, &collection.name)?;
    if grown {
        *mapping = candidate;
    }
    Ok(grown)
}

/// Generates a document id: a UUID version 7 in 32 hex digits. Its leading millisecond
/// timestamp keeps new ids in ascending order. The creates of one batch then update a few
/// neighbouring pages of the documents table instead of one random page each. In the document
/// database benchmark, single creates ran about 40% faster than with random (version 4) ids.
pub(crate) fn generate_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

/// Applies one operation in the batch transaction. Returns its result and, for a prepared
/// source, the search document to stage.
fn apply(
    documents: &mut DocumentTable<'_>,
    batch: &mut CollectionBatch,
    operation: WriteOp,
    prepared: Option<PreparedSource>,
) -> Result<(WriteResult, Option<TantivyDocument>)> {
    let collection = &*batch.collection;
    let key = collection.key.as_str();
    let (id, old, new_source) = match operation {
        WriteOp::Create { id, source } => {
            let id = id.unwrap_or_else(generate_id);
            check_id(&id)?;
            if documents.get((key, id.as_str())).or_internal()?.is_some() {
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
    let mut document = None;
    match (&new_source, prepared) {
        // The caller checked this source against the batch's mapping and serialized it.
        (Some(_), Some(prepared)) => {
            let (record, prepared_document) = prepared.into_record(version);
            documents
                .insert((key, id.as_str()), record.as_slice())
                .or_internal()?;
            document = Some(prepared_document);
        }
        (Some(source), None) => {
            batch.grown |= check_source(&mut batch.mapping, collection, source)?;
            documents
                .insert(
                    (key, id.as_str()),
                    db::encode_document(version, source).as_slice(),
                )
                .or_internal()?;
        }
        (None, _) => {
            documents.remove((key, id.as_str())).or_internal()?;
        }
    }
    let created = old.is_none();
    let (old_version, old_source) = old.unzip();
    let result = WriteResult {
        id,
        version: if new_source.is_some() {
            version
        } else {
            old_version.unwrap_or(version)
        },
        old_source,
        source: new_source,
        created,
    };
    Ok((result, document))
}
